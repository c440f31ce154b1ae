/* SPDX-License-Identifier: MIT */
/* audit.h - the audit log: appending to the chain, and its operations. */
#ifndef VC_AUDIT_H
#define VC_AUDIT_H
#include "core/vc.h"
/*
 * Append one record to the tenant's hash chain.  Must run inside a
 * transaction.  tenant_id NULL means the platform chain.  outcome is
 * "success", "failure" or "denied".  details may be jv_invalid (consumed).
 */
int vc_audit(vc_ctx *ctx, const char *tenant_id, const char *action,
    const char *target_type, const char *target_id, const char *outcome,
    const char *reason, jv details);
/*
 * What an operation tells the audit record the dispatcher writes for it:
 * the target (type, and id unless NULL), and one member of the details
 * (v consumed).
 */
void vc_audit_target(vc_ctx *ctx, const char *type, const char *id);
void vc_audit_detail(vc_ctx *ctx, const char *key, jv v);
int vc_op_audit_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_audit_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_audit_verify(vc_ctx *ctx, jv args, jv *out);
int vc_op_audit_anchor(vc_ctx *ctx, jv args, jv *out);
/*
 * Anchor every chain: its newest record (tenant, id, mac) as one line
 * "audit-anchor tenant=ID id=N mac=HEX time=T" (tenant=- the platform
 * chain) to ctx->notice (the system log) and, when file is not NULL,
 * appended to file (created 0600) and fsync'd.  One read, no transaction.
 * *out gets an array of {tenant_id, id, mac, line}.
 */
int vc_audit_anchor(vc_ctx *ctx, const char *file, jv *out);
/* Format an anchor line into buf: 0, or -1 when it does not fit. */
int vc_audit_anchor_line(const char *chain, int64_t id, const char *mac, int64_t now,
    char *buf, size_t n);
#endif
