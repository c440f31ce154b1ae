/* SPDX-License-Identifier: MIT */
/* artifacts.h - evidence: artifact imports and their rows (vc-case artifact). */
#ifndef VC_ARTIFACTS_H
#define VC_ARTIFACTS_H
#include "core/vc.h"
int vc_op_artifacts_import(vc_ctx *ctx, jv args, jv *out);
/* vc-case evtx FILE|DIR: the records of EVTX files as parse_evtx() rows. */
int vc_op_evtx_rows(vc_ctx *ctx, jv args, jv *out);
int vc_op_artifacts_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_artifacts_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_artifacts_rows(vc_ctx *ctx, jv args, jv *out);
int vc_op_artifacts_delete(vc_ctx *ctx, jv args, jv *out);

/*
 * Writing an artifact from any source of rows (an import, a Velociraptor
 * stream): open makes the artifact (state importing) and links it to its
 * host and case; write checks one row (raw JSON text, must be an object)
 * and stores it, committing every few thousand rows (a bad row is
 * VC_EINVAL with a message and nothing stored; other errors are fatal);
 * close ends it: COMPLETE, PARTIAL (keep the rows so far, mark failed) or
 * FAILED (drop the uncommitted batch, mark failed), audits it, frees w,
 * and fills *out (may be NULL) with a summary.
 */
struct vc_artifact_spec {
	const char *name, *host, *case_key, *flow, *hunt, *source;
};
struct vc_artifact_writer;
enum { VC_ARTIFACT_COMPLETE, VC_ARTIFACT_PARTIAL, VC_ARTIFACT_FAILED };
int vc_artifact_open(vc_ctx *ctx, const struct vc_artifact_spec *spec, struct vc_artifact_writer **w);
int vc_artifact_write(struct vc_artifact_writer *w, const char *json, size_t n);
/* Commit the rows written so far (between batches of a network stream). */
int vc_artifact_flush(struct vc_artifact_writer *w);
int vc_artifact_close(struct vc_artifact_writer *w, int how, const char *reason, jv *out);
const char *vc_artifact_writer_id(const struct vc_artifact_writer *w);
#endif
