/* SPDX-License-Identifier: MIT */
/* artifacts.h - evidence: artifact imports and their rows (vc-case artifact). */
#ifndef VC_ARTIFACTS_H
#define VC_ARTIFACTS_H
#include "vc.h"
int vc_op_artifacts_import(vc_ctx *ctx, jv args, jv *out);
int vc_op_artifacts_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_artifacts_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_artifacts_rows(vc_ctx *ctx, jv args, jv *out);
int vc_op_artifacts_delete(vc_ctx *ctx, jv args, jv *out);
/* The artifact id of the caller's tenant (VC_ENOTFOUND, denial audited). */
int vc_artifact_resolve(vc_ctx *ctx, const char *key, char id[VC_ID_LEN + 1]);
#endif
