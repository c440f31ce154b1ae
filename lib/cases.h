/* SPDX-License-Identifier: MIT */
/* cases.h - cases, their append-only notes and their links (vc-case). */
#ifndef VC_CASES_H
#define VC_CASES_H
#include "core/vc.h"
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
#endif
