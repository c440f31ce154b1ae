/* SPDX-License-Identifier: MIT */
/* cases.h - cases, their append-only notes and their links (vc-case). */
#ifndef VC_CASES_H
#define VC_CASES_H
#include "vc.h"
int vc_op_cases_create(vc_ctx *ctx, jv args, jv *out);
int vc_op_cases_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_cases_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_cases_update(vc_ctx *ctx, jv args, jv *out);
int vc_op_cases_close(vc_ctx *ctx, jv args, jv *out);
int vc_op_cases_delete(vc_ctx *ctx, jv args, jv *out);
int vc_op_cases_note(vc_ctx *ctx, jv args, jv *out);
int vc_op_cases_notes(vc_ctx *ctx, jv args, jv *out);
int vc_op_cases_link(vc_ctx *ctx, jv args, jv *out);
int vc_op_cases_unlink(vc_ctx *ctx, jv args, jv *out);
/* The case id of the caller's tenant (VC_ENOTFOUND, denial audited). */
int vc_case_resolve(vc_ctx *ctx, const char *key, char id[VC_ID_LEN + 1]);
/* Link a case to a host or artifact (kind "host"|"artifact") and add a
 * timeline entry; idempotent.  Inside a transaction. */
int vc_case_link_add(vc_ctx *ctx, const char *case_id, const char *kind, const char *target_id);
/*
 * Before a host or an artifact is deleted: note it on the timeline of
 * every case linked to it and remove those links.  Inside a transaction.
 */
int vc_case_unlink_deleted(vc_ctx *ctx, const char *kind, const char *target_id,
    const char *what);
#endif
