/* SPDX-License-Identifier: MIT */
/* auth.h - tenants, users, logins, tokens: the operations of vc-auth. */
#ifndef VC_AUTH_H
#define VC_AUTH_H
#include "core/vc.h"

#define VC_REFRESH_TTL (30 * 86400)     /* absolute, from login */
#define VC_REFRESH_IDLE (7 * 86400)     /* one token's own lifetime */
#define VC_API_TOKEN_TTL (90 * 86400)

int vc_op_init(vc_ctx *ctx, jv args, jv *out);
int vc_op_tenant_create(vc_ctx *ctx, jv args, jv *out);
int vc_op_tenant_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_tenant_update(vc_ctx *ctx, jv args, jv *out);
int vc_op_user_create(vc_ctx *ctx, jv args, jv *out);
int vc_op_user_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_user_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_user_update(vc_ctx *ctx, jv args, jv *out);
int vc_op_user_disable(vc_ctx *ctx, jv args, jv *out);
int vc_op_user_enable(vc_ctx *ctx, jv args, jv *out);
int vc_op_register(vc_ctx *ctx, jv args, jv *out);
int vc_op_login(vc_ctx *ctx, jv args, jv *out);
int vc_op_whoami(vc_ctx *ctx, jv args, jv *out);
int vc_op_refresh(vc_ctx *ctx, jv args, jv *out);
int vc_op_logout(vc_ctx *ctx, jv args, jv *out);
int vc_op_password(vc_ctx *ctx, jv args, jv *out);
int vc_op_token_create(vc_ctx *ctx, jv args, jv *out);
int vc_op_token_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_token_revoke(vc_ctx *ctx, jv args, jv *out);
/*
 * Authenticate a bearer credential: a JWT access token or a "vcs_" API
 * token.  Fills ctx->who, or returns VC_EAUTH with a generic message
 * (the reason goes to the audit log only).
 */
int vc_authenticate(vc_ctx *ctx, const char *credential);
/*
 * The same for an access token (JWT) only, with no write to the store
 * (an API token's use is recorded, so it is refused here): for vc-serve's
 * event loop.  *exp gets the token's expiry (seconds since the epoch).
 * A session that may only set up 2FA (enroll_only) is refused.
 */
int vc_authenticate_access(vc_ctx *ctx, const char *credential, int64_t *exp);
/*
 * Preparations (struct vc_op's prepare) that run before the write lock:
 * vc_prep_password hashes args' "password" into an internal member the
 * handler reads (init, user create and update, register); vc_prep_passwd
 * throttles, checks the current password and hashes the new one.
 */
int vc_prep_password(vc_ctx *ctx, jv *args);
int vc_prep_user_update(vc_ctx *ctx, jv *args);
int vc_prep_passwd(vc_ctx *ctx, jv *args);
/*
 * The login throttle for other checks of a credential (2FA codes, key
 * "2fa:USER_ID"): vc_auth_throttle reserves one attempt before the check
 * (VC_ERATE while key is locked; its own transaction); after a failure
 * vc_auth_throttle_failed restarts the lock and returns the failures in
 * a row; after a success vc_auth_throttle_clear forgets them, inside the
 * caller's transaction.
 */
int vc_auth_throttle(vc_ctx *ctx, const char *key, const char *what);
int vc_auth_throttle_failed(vc_ctx *ctx, const char *key);
int vc_auth_throttle_clear(vc_ctx *ctx, const char *key);
/* password-reset confirm: hashes args' "new_password" the same way. */
int vc_prep_new_password(vc_ctx *ctx, jv *args);
/* The hash a preparation left in args, or NULL. */
const char *vc_auth_prepared_hash(jv args);
/* End every session of a user: refresh tokens revoked, access tokens
 * invalid (token_version).  Inside the caller's transaction. */
int vc_auth_revoke_sessions(vc_ctx *ctx, const char *tenant_id, const char *user_id);
/* Forget the failed logins of username (its throttle). */
int vc_auth_forget_failures(vc_ctx *ctx, const char *username);
#endif
