/* SPDX-License-Identifier: MIT */
/*
 * allowlist.h - which Velociraptor artifacts a tenant's analysts may
 * collect: the tenant's own list once an admin has set one, else the
 * built-in default (vc_allowlist_default).  Admins and the superadmin
 * collect any artifact.  Names match exactly, case and all.
 *
 * Nothing here allocates what the caller must free but the *out of the
 * operations, which the caller owns as with every operation.
 */
#ifndef VC_ALLOWLIST_H
#define VC_ALLOWLIST_H
#include "core/vc.h"

#define VC_ARTIFACT_NAME_MAX 128

/* The built-in list, sorted, NULL-terminated; man/vc-hunt.1 lists it too. */
extern const char *const vc_allowlist_default[];

/*
 * 0 when name is a Velociraptor artifact name, as Velociraptor checks
 * one: letters, digits, '_' and '.', no dot-separated part starting with
 * a digit; and no empty part, at most VC_ARTIFACT_NAME_MAX bytes.  Else
 * VC_EUSAGE saying what is wrong, without echoing what follows the first
 * bad byte.
 */
int vc_artifact_name_check(vc_ctx *ctx, const char *name);

/*
 * 0 when ctx->who may collect artifact: an admin (or above) any, a lower
 * role only what is on the tenant's list.  Else VC_EPERM with a message
 * naming the artifact and who may change the list, and the artifact in
 * the audit details (the dispatcher records the denial).
 */
int vc_allowlist_check(vc_ctx *ctx, const char *artifact);

int vc_op_vr_allowlist_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_allowlist_set(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_allowlist_add(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_allowlist_remove(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_allowlist_reset(vc_ctx *ctx, jv args, jv *out);
#endif
