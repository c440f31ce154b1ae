/* SPDX-License-Identifier: MIT */
/* audit.h - operations on the audit log (vc_audit itself is in ops.h). */
#ifndef VC_AUDIT_H
#define VC_AUDIT_H
#include "vc.h"
int vc_op_audit_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_audit_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_audit_verify(vc_ctx *ctx, jv args, jv *out);
#endif
