/* SPDX-License-Identifier: MIT */
/*
 * auth.c - tenants, users, logins, refresh and API tokens.
 *
 * Every query of users, tokens or tenants binds the caller's tenant
 * unless the caller is a superadmin.  A record of another tenant answers
 * exactly like a missing one (VC_ENOTFOUND), and the attempt is audited
 * as authz.denied.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "auth.h"
#include "mail.h"
#include "crypto/crypto.h"
#include "core/store.h"
#include "core/records.h"
#include "core/audit.h"
#include "core/events.h"
#include "twofa.h"

#define GENERIC_AUTH "invalid credentials"
#define GENERIC_TOKEN "invalid or expired credentials"

struct user {
	char id[VC_ID_LEN + 1];
	char tenant_id[VC_ID_LEN + 1];
	char username[65];
	char role[16];
	char hash[VC_PW_HASH_MAX];
	int disabled;
	int64_t token_version;
	int totp_on;            /* 2FA enabled */
	int require_2fa;        /* the tenant requires 2FA */
};

/* Where vc_prep_password leaves the hash: no caller can name it (the
 * dispatcher refuses members that are not parameters). */
#define PREPARED_HASH "_password_hash"

#define USER_COLS "u.id, u.tenant_id, u.username, u.role, u.password_hash, " \
	"u.disabled, u.token_version, u.totp_enabled_at IS NOT NULL, " \
	"(SELECT t2.require_2fa FROM tenants t2 WHERE t2.id = u.tenant_id)"
#define USER_JSON "SELECT u.id, u.tenant_id, t.name AS tenant, u.username, " \
	"u.email, u.email_verified_at IS NOT NULL AS email_verified_bool, u.email_verified_at, " \
	"u.role, u.disabled AS disabled_bool, " \
	"u.totp_enabled_at IS NOT NULL AS totp_enabled_bool, u.created_at, " \
	"u.updated_at, u.last_login_at FROM users u JOIN tenants t ON t.id = u.tenant_id"

static void
copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static void
user_from_row(vc_stmt *q, struct user *u)
{
	copy(u->id, sizeof u->id, (const char *)vc_col_text(q, 0));
	copy(u->tenant_id, sizeof u->tenant_id, (const char *)vc_col_text(q, 1));
	copy(u->username, sizeof u->username, (const char *)vc_col_text(q, 2));
	copy(u->role, sizeof u->role, (const char *)vc_col_text(q, 3));
	copy(u->hash, sizeof u->hash, (const char *)vc_col_text(q, 4));
	u->disabled = vc_col_int(q, 5);
	u->token_version = vc_col_int64(q, 6);
	u->totp_on = vc_col_int(q, 7);
	u->require_2fa = vc_col_int(q, 8);
}

/* 1: found, 0: not found, <0: error. */
static int
load_user(vc_ctx *ctx, vc_stmt *q, struct user *u)
{
	int rc;

	if (q == NULL)
		return -1;
	rc = vc_sql_step(ctx, q);
	if (rc == 1)
		user_from_row(q, u);
	vc_stmt_done(q);
	return rc;
}

/* The tenant scope of the caller: NULL (all) for a superadmin. */
static const char *
scope(vc_ctx *ctx)
{
	return ctx->who.role == VC_ROLE_SUPERADMIN ? NULL : ctx->who.tenant_id;
}

/*
 * Find a user by id or username inside the caller's scope.  When the
 * name exists in another tenant, audit the denial; either way the caller
 * sees "no such user".
 */
static int
find_user(vc_ctx *ctx, const char *key, struct user *u)
{
	int rc;

	rc = load_user(ctx, vc_sql(ctx, "SELECT " USER_COLS " FROM users u"
	    " WHERE (u.id = ?1 OR u.username = ?1) AND (?2 IS NULL OR u.tenant_id = ?2)",
	    "ss", key, scope(ctx)), u);
	if (rc < 0)
		return ctx->err;
	if (rc == 1)
		return 0;
	return vc_not_found(ctx, "user", "user",
	    /* unscoped: existence check only, to audit a cross-tenant attempt */
	    "SELECT 1 FROM users WHERE id = ?1 OR username = ?1", key);
}

/*
 * The tenant named by key (id or name), of any tenant: the callers tell
 * another tenant's from the caller's own, to answer it as a missing one
 * and audit the attempt.
 */
static int
find_tenant(vc_ctx *ctx, const char *key, char id[VC_ID_LEN + 1], char *name, size_t namesz)
{
	/* unscoped: checked against the caller's tenant by every caller */
	vc_stmt *q = vc_unscoped(vc_sql(ctx, "SELECT id, name FROM tenants"
	    " WHERE id = ?1 OR name = ?1", "s", key));
	int rc;

	if (q == NULL)
		return ctx->err;
	rc = vc_sql_step(ctx, q);
	if (rc == 1) {
		copy(id, VC_ID_LEN + 1, (const char *)vc_col_text(q, 0));
		if (name != NULL)
			copy(name, namesz, (const char *)vc_col_text(q, 1));
	}
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	/* Where row-level security hides other tenants (PostgreSQL), one
	 * that exists is a reach for another's, audited as the callers do
	 * when they find it. */
	if (rc == 0)
		return vc_not_found(ctx, "tenant", "tenant",
		    /* unscoped: existence check only, to audit a cross-tenant attempt */
		    "SELECT 1 FROM tenants WHERE id = ?1 OR name = ?1", key);
	return 0;
}

static int
check_name(vc_ctx *ctx, const char *what, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return vc_fail(ctx, VC_EINVAL, "%s must be 1 to %zu characters", what, max);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != '@')
			return vc_fail(ctx, VC_EINVAL,
			    "%s may hold only letters, digits and . _ - @", what);
	}
	if (!isalnum((unsigned char)s[0]))
		return vc_fail(ctx, VC_EINVAL, "%s must start with a letter or digit", what);
	if (vc_is_id(s))
		return vc_fail(ctx, VC_EINVAL, "%s must not look like an id", what);
	return 0;
}

static int
check_email(vc_ctx *ctx, const char *e)
{
	const char *at;

	if (e == NULL)
		return 0;
	at = strchr(e, '@');
	if (strlen(e) > 254 || at == NULL || at == e || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || strpbrk(e, " \t\r\n<>\"") != NULL)
		return vc_fail(ctx, VC_EINVAL, "not an email address: %.64s", e);
	return 0;
}

/* The audit target, and its tenant when it is not the caller's. */
static void
set_target(vc_ctx *ctx, const char *type, const char *id, const char *tenant)
{
	vc_audit_target(ctx, type, id ? id : "");
	if (tenant != NULL)
		copy(ctx->audit_tenant_id, sizeof ctx->audit_tenant_id, tenant);
}

/* The user id of tenant tenant_id, as shown; both come from a scoped find. */
static int
user_json(vc_ctx *ctx, const char *tenant_id, const char *id, jv *out)
{
	return vc_sql_one(ctx, vc_sql(ctx, USER_JSON " WHERE u.tenant_id = ?1 AND u.id = ?2",
	    "ss", tenant_id, id), "user", out);
}

/* Revoke every refresh family of a user, invalidate access tokens, spend
 * unused reset tokens. */
static int
revoke_sessions(vc_ctx *ctx, const struct user *u)
{
	int rc = vc_sql_exec(ctx, "UPDATE refresh_tokens SET revoked_at = ?1"
	    " WHERE tenant_id = ?2 AND user_id = ?3 AND revoked_at IS NULL",
	    NULL, "iss", vc_now(ctx), u->tenant_id, u->id);

	if (rc == 0)
		rc = vc_sql_exec(ctx, "UPDATE users SET token_version = token_version + 1,"
		    " updated_at = ?1 WHERE tenant_id = ?2 AND id = ?3",
		    NULL, "iss", vc_now(ctx), u->tenant_id, u->id);
	/* A reset link mailed before must not undo the change. */
	if (rc == 0)
		rc = vc_sql_exec(ctx, "UPDATE auth_tokens SET used_at = ?1 WHERE tenant_id = ?2"
		    " AND user_id = ?3 AND purpose = 'reset' AND used_at IS NULL",
		    NULL, "iss", vc_now(ctx), u->tenant_id, u->id);
	return rc;
}

int
vc_auth_revoke_sessions(vc_ctx *ctx, const char *tenant_id, const char *user_id)
{
	struct user u;

	memset(&u, 0, sizeof u);
	copy(u.tenant_id, sizeof u.tenant_id, tenant_id);
	copy(u.id, sizeof u.id, user_id);
	return revoke_sessions(ctx, &u);
}

/* The hash vc_prep_password made of args' password, or NULL. */
static const char *
prepared_hash(jv args)
{
	return vc_arg_str(args, PREPARED_HASH);
}

const char *
vc_auth_prepared_hash(jv args)
{
	return prepared_hash(args);
}

static int
new_user(vc_ctx *ctx, const char *tenant_id, const char *username,
    const char *email, const char *role, const char *hash, char id[VC_ID_LEN + 1])
{
	int rc;
	int64_t now = vc_now(ctx);

	if ((rc = check_name(ctx, "username", username, 64)) != 0 ||
	    (rc = check_email(ctx, email)) != 0)
		return rc;
	if (hash == NULL)
		return vc_fail(ctx, VC_EUSAGE, "a password is required");
	vc_new_id(id);
	rc = vc_sql_exec(ctx, "INSERT INTO users (id, tenant_id, username, email, role,"
	    " password_hash, created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?7)",
	    NULL, "ssssssi", id, tenant_id, username, email, role, hash, now);
	if (rc == VC_ECONFLICT)
		return vc_fail(ctx, VC_ECONFLICT, "username %.64s is taken", username);
	set_target(ctx, "user", id, tenant_id);
	return rc;
}

/* ---- init and tenants ------------------------------------------------- */

int
vc_op_init(vc_ctx *ctx, jv args, jv *out)
{
	const char *tenant = vc_arg_str(args, "tenant");
	const char *admin = vc_arg_str(args, "admin");
	vc_stmt *q;
	char tid[VC_ID_LEN + 1], uid[VC_ID_LEN + 1];
	int rc, n = 0;

	q = vc_sql(ctx, "SELECT COUNT(*) FROM tenants", "");
	if (q == NULL || vc_sql_step(ctx, q) != 1) {
		vc_stmt_done(q);
		return ctx->err;
	}
	n = vc_col_int(q, 0);
	vc_stmt_done(q);
	if (n > 0)
		return vc_fail(ctx, VC_ECONFLICT,
		    "store %s is already initialised; nothing changed", ctx->store->path);
	if ((rc = check_name(ctx, "tenant name", tenant, 64)) != 0)
		return rc;
	ctx->who.actor = VC_ACTOR_SYSTEM;
	vc_new_id(tid);
	if ((rc = vc_sql_exec(ctx, "INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3)",
	    NULL, "ssi", tid, tenant, vc_now(ctx))) != 0)
		return rc;
	if ((rc = new_user(ctx, tid, admin, vc_arg_str(args, "email"), "superadmin",
	    prepared_hash(args), uid)) != 0)
		return rc;
	set_target(ctx, "tenant", tid, tid);
	vc_audit_detail(ctx, "superadmin", jv_string(admin));
	*out = jv_object();
	*out = jv_object_set(*out, jv_string("store"), jv_string(ctx->store->path));
	*out = jv_object_set(*out, jv_string("tenant"), jv_string(tenant));
	*out = jv_object_set(*out, jv_string("tenant_id"), jv_string(tid));
	*out = jv_object_set(*out, jv_string("superadmin"), jv_string(admin));
	*out = jv_object_set(*out, jv_string("user_id"), jv_string(uid));
	return 0;
}

#define TENANT_JSON "SELECT id, name, allow_registration AS allow_registration_bool," \
	" require_2fa AS require_2fa_bool," \
	" require_verified_email AS require_verified_email_bool, created_at FROM tenants"

int
vc_op_tenant_create(vc_ctx *ctx, jv args, jv *out)
{
	const char *name = vc_arg_str(args, "name");
	char id[VC_ID_LEN + 1];
	int rc;

	if ((rc = check_name(ctx, "tenant name", name, 64)) != 0)
		return rc;
	vc_new_id(id);
	rc = vc_sql_exec(ctx, "INSERT INTO tenants (id, name, allow_registration, created_at)"
	    " VALUES (?1, ?2, ?3, ?4)", NULL, "ssii", id, name,
	    (int64_t)vc_arg_bool(args, "allow_registration"), vc_now(ctx));
	if (rc == VC_ECONFLICT)
		return vc_fail(ctx, VC_ECONFLICT, "tenant %.64s exists", name);
	if (rc != 0)
		return rc;
	set_target(ctx, "tenant", id, id);
	*out = vc_sql_rows(ctx, vc_sql(ctx, TENANT_JSON " WHERE id = ?1", "s", id));
	if (!jv_is_valid(*out))
		return ctx->err;
	*out = jv_array_get(*out, 0);
	return 0;
}

int
vc_op_tenant_list(vc_ctx *ctx, jv args, jv *out)
{
	*out = vc_sql_rows(ctx, vc_sql(ctx, TENANT_JSON " WHERE (?1 IS NULL OR id = ?1) ORDER BY name",
	    "s", scope(ctx)));
	return jv_is_valid(*out) ? 0 : ctx->err;
}

int
vc_op_tenant_update(vc_ctx *ctx, jv args, jv *out)
{
	const char *key = vc_arg_str(args, "id"), *reg = vc_arg_str(args, "registration");
	const char *ver = vc_arg_str(args, "require_verified_email");
	char id[VC_ID_LEN + 1];
	int rc;

	if ((rc = find_tenant(ctx, key, id, NULL, 0)) != 0)
		return rc;
	/* A tenant admin may require 2FA of their own tenant, nothing more. */
	if (ctx->who.role != VC_ROLE_SUPERADMIN) {
		if (strcmp(id, ctx->who.tenant_id) != 0) {
			vc_deny_audit(ctx, "tenant", key);
			return vc_fail(ctx, VC_ENOTFOUND, "no such tenant: %.64s", key);
		}
		if (reg != NULL)
			return vc_fail(ctx, VC_EPERM, "only a superadmin may open or close registration");
		if (ver != NULL)
			return vc_fail(ctx, VC_EPERM, "only a superadmin may require verified email");
	}
	set_target(ctx, "tenant", id, id);
	if (vc_arg_has(args, "require_2fa")) {
		int on = vc_arg_bool(args, "require_2fa");
		if ((rc = vc_sql_exec(ctx, "UPDATE tenants SET require_2fa = ?1 WHERE id = ?2",
		    NULL, "is", (int64_t)on, id)) != 0)
			return rc;
		vc_audit_detail(ctx, "require_2fa", jv_bool(on));
	}
	if (reg != NULL) {
		if ((rc = vc_sql_exec(ctx, "UPDATE tenants SET allow_registration = ?1 WHERE id = ?2",
		    NULL, "is", (int64_t)(strcmp(reg, "open") == 0), id)) != 0)
			return rc;
		vc_audit_detail(ctx, "registration", jv_string(reg));
	}
	if (ver != NULL) {
		if ((rc = vc_sql_exec(ctx, "UPDATE tenants SET require_verified_email = ?1 WHERE id = ?2",
		    NULL, "is", (int64_t)(strcmp(ver, "yes") == 0), id)) != 0)
			return rc;
		vc_audit_detail(ctx, "require_verified_email", jv_string(ver));
	}
	*out = vc_sql_rows(ctx, vc_sql(ctx, TENANT_JSON " WHERE id = ?1", "s", id));
	if (!jv_is_valid(*out))
		return ctx->err;
	*out = jv_array_get(*out, 0);
	return 0;
}

/* ---- users ------------------------------------------------------------ */

int
vc_op_user_create(vc_ctx *ctx, jv args, jv *out)
{
	const char *tenant = vc_arg_str(args, "tenant");
	const char *role = vc_arg_str(args, "role");
	char tid[VC_ID_LEN + 1], uid[VC_ID_LEN + 1];
	int rc;

	copy(tid, sizeof tid, ctx->who.tenant_id);
	if (tenant != NULL) {
		if ((rc = find_tenant(ctx, tenant, tid, NULL, 0)) != 0)
			return rc;
		/* Another tenant answers like a missing one (security.md 7);
		 * the record names what was typed, never the other's id. */
		if (ctx->who.role != VC_ROLE_SUPERADMIN && strcmp(tid, ctx->who.tenant_id) != 0) {
			vc_deny_audit(ctx, "tenant", tenant);
			return vc_fail(ctx, VC_ENOTFOUND, "no such tenant: %.64s", tenant);
		}
	}
	if ((rc = new_user(ctx, tid, vc_arg_str(args, "username"), vc_arg_str(args, "email"),
	    role, prepared_hash(args), uid)) != 0 ||
	    (rc = vc_mail_verify_queue(ctx, tid, uid, vc_arg_str(args, "username"),
	    vc_arg_str(args, "email"))) != 0)
		return rc;
	vc_audit_detail(ctx, "role", jv_string(role));
	return user_json(ctx, tid, uid, out);
}

int
vc_op_user_list(vc_ctx *ctx, jv args, jv *out)
{
	const char *tenant = vc_arg_str(args, "tenant");
	const char *role = vc_arg_str(args, "role");
	char tid[VC_ID_LEN + 1];
	const char *sc = scope(ctx);
	int rc;

	if (tenant != NULL) {
		if ((rc = find_tenant(ctx, tenant, tid, NULL, 0)) != 0)
			return rc;
		if (sc != NULL && strcmp(sc, tid) != 0) {
			vc_deny_audit(ctx, "tenant", tenant);
			return vc_fail(ctx, VC_ENOTFOUND, "no such tenant: %.64s", tenant);
		}
		sc = tid;
	}
	*out = vc_sql_rows(ctx, vc_sql(ctx, USER_JSON " WHERE (?1 IS NULL OR u.tenant_id = ?1)"
	    " AND (?2 IS NULL OR u.role = ?2) ORDER BY t.name, u.username", "ss", sc, role));
	return jv_is_valid(*out) ? 0 : ctx->err;
}

int
vc_op_user_show(vc_ctx *ctx, jv args, jv *out)
{
	struct user u;
	int rc;

	if ((rc = find_user(ctx, vc_arg_str(args, "id"), &u)) != 0)
		return rc;
	return user_json(ctx, u.tenant_id, u.id, out);
}

/*
 * Setting another user's password, or turning off their 2FA (phone and
 * recovery codes lost), takes over their account: an admin's act at a
 * keyboard, never a token's (a leaked CI token must not become a login),
 * never one's own (passwd asks for the current password, 2fa disable for
 * a code), and an admin's only by a superadmin.  It ends the user's
 * sessions and is audited.  The messages say why, for each act.
 */
struct takeover {
	const char *token, *self, *admin;
};
static const struct takeover set_password = {
	"an API token cannot set a password; log in as an admin to reset one",
	"change your own password with passwd, which asks for the current one",
	"only a superadmin may set an admin's password",
};
static const struct takeover reset_two_factor = {
	"an API token cannot reset two-factor authentication",
	"turn your own 2FA off with 2fa disable, which asks for a code",
	"only a superadmin may reset an admin's 2FA",
};

static int
may_take_over(vc_ctx *ctx, const struct user *u, const struct takeover *why)
{
	if (ctx->who.actor != VC_ACTOR_USER)
		return vc_fail(ctx, VC_EPERM, "%s", why->token);
	if (strcmp(u->id, ctx->who.user_id) == 0)
		return vc_fail(ctx, VC_EPERM, "%s", why->self);
	if (strcmp(u->role, "admin") == 0 && ctx->who.role != VC_ROLE_SUPERADMIN)
		return vc_fail(ctx, VC_EPERM, "%s", why->admin);
	return 0;
}

/* Forget u's 2FA secret and recovery codes; the caller ends u's sessions. */
static int
reset_2fa(vc_ctx *ctx, const struct user *u)
{
	int rc;

	if ((rc = may_take_over(ctx, u, &reset_two_factor)) != 0 ||
	    (rc = vc_sql_exec(ctx, "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL,"
	    " totp_last_step = 0, updated_at = ?1 WHERE tenant_id = ?2 AND id = ?3", NULL, "iss",
	    vc_now(ctx), u->tenant_id, u->id)) != 0)
		return rc;
	rc = vc_sql_exec(ctx, "DELETE FROM recovery_codes WHERE tenant_id = ?1 AND user_id = ?2",
	    NULL, "ss", u->tenant_id, u->id);
	vc_audit_detail(ctx, "two_factor", jv_string("reset"));
	return rc;
}

/* Rules every change of another account obeys. */
static int
may_change(vc_ctx *ctx, const struct user *u)
{
	if (strcmp(u->role, "superadmin") == 0 && ctx->who.role != VC_ROLE_SUPERADMIN)
		return vc_fail(ctx, VC_EPERM, "only a superadmin may change a superadmin");
	return 0;
}

int
vc_op_user_update(vc_ctx *ctx, jv args, jv *out)
{
	const char *role = vc_arg_str(args, "role"), *email = vc_arg_str(args, "email");
	const char *hash = prepared_hash(args);
	struct user u;
	int rc, revoke = 0;
	int64_t now = vc_now(ctx);

	if ((rc = find_user(ctx, vc_arg_str(args, "id"), &u)) != 0)
		return rc;
	set_target(ctx, "user", u.id, u.tenant_id);
	if ((rc = may_change(ctx, &u)) != 0)
		return rc;
	if (role != NULL && strcmp(role, u.role) != 0) {
		if (strcmp(u.id, ctx->who.user_id) == 0)
			return vc_fail(ctx, VC_EPERM, "you cannot change your own role");
		if ((rc = vc_sql_exec(ctx, "UPDATE users SET role = ?1, updated_at = ?2"
		    " WHERE tenant_id = ?3 AND id = ?4", NULL, "siss", role, now, u.tenant_id, u.id)) != 0)
			return rc;
		vc_audit_detail(ctx, "role", jv_string(role));
		vc_audit_detail(ctx, "old_role", jv_string(u.role));
		revoke = 1;
	}
	if (email != NULL) {
		if ((rc = check_email(ctx, email)) != 0 ||
		    (rc = vc_sql_exec(ctx, "UPDATE users SET email = ?1, updated_at = ?2"
		    " WHERE tenant_id = ?3 AND id = ?4", NULL, "siss", email, now, u.tenant_id, u.id)) != 0 ||
		    (rc = vc_mail_verify_queue(ctx, u.tenant_id, u.id, u.username, email)) != 0)
			return rc;
		vc_audit_detail(ctx, "email", jv_true());
	}
	if (hash != NULL) {
		if ((rc = may_take_over(ctx, &u, &set_password)) != 0)
			return rc;
		if ((rc = vc_sql_exec(ctx, "UPDATE users SET password_hash = ?1, updated_at = ?2"
		    " WHERE tenant_id = ?3 AND id = ?4", NULL, "siss", hash, now, u.tenant_id, u.id)) != 0)
			return rc;
		vc_audit_detail(ctx, "password", jv_string("reset"));
		revoke = 1;
	}
	if (vc_arg_bool(args, "reset_2fa")) {
		if ((rc = reset_2fa(ctx, &u)) != 0)
			return rc;
		revoke = 1;
	}
	if (revoke && (rc = revoke_sessions(ctx, &u)) != 0)
		return rc;
	return user_json(ctx, u.tenant_id, u.id, out);
}

static int
set_disabled(vc_ctx *ctx, jv args, jv *out, int disabled)
{
	struct user u;
	int rc;

	if ((rc = find_user(ctx, vc_arg_str(args, "id"), &u)) != 0)
		return rc;
	set_target(ctx, "user", u.id, u.tenant_id);
	if ((rc = may_change(ctx, &u)) != 0)
		return rc;
	if (disabled && strcmp(u.id, ctx->who.user_id) == 0)
		return vc_fail(ctx, VC_EPERM, "you cannot disable yourself");
	if ((rc = vc_sql_exec(ctx, "UPDATE users SET disabled = ?1, updated_at = ?2"
	    " WHERE tenant_id = ?3 AND id = ?4", NULL, "iiss", (int64_t)disabled,
	    vc_now(ctx), u.tenant_id, u.id)) != 0)
		return rc;
	if (disabled && (rc = revoke_sessions(ctx, &u)) != 0)
		return rc;
	return user_json(ctx, u.tenant_id, u.id, out);
}

int
vc_op_user_disable(vc_ctx *ctx, jv args, jv *out)
{
	return set_disabled(ctx, args, out, 1);
}

int
vc_op_user_enable(vc_ctx *ctx, jv args, jv *out)
{
	return set_disabled(ctx, args, out, 0);
}

int
vc_op_register(vc_ctx *ctx, jv args, jv *out)
{
	const char *tenant = vc_arg_str(args, "tenant");
	char tid[VC_ID_LEN + 1], uid[VC_ID_LEN + 1];
	vc_stmt *q;
	int rc, found, open_ = 0;

	/*
	 * Anyone may call this: a missing tenant and a closed one answer
	 * alike, so it cannot be used to list tenant names.
	 */
	q = vc_sql(ctx, "SELECT id, allow_registration FROM tenants WHERE id = ?1 OR name = ?1",
	    "s", tenant);
	if (q == NULL)
		return ctx->err;
	if ((found = vc_sql_step(ctx, q)) == 1) {
		copy(tid, sizeof tid, (const char *)vc_col_text(q, 0));
		open_ = vc_col_int(q, 1);
	}
	vc_stmt_done(q);
	if (found < 0)
		return ctx->err;
	if (found == 1)
		set_target(ctx, "tenant", tid, tid);
	if (!open_) {
		copy(ctx->audit_reason, sizeof ctx->audit_reason,
		    found ? "registration closed" : "unknown tenant");
		return vc_fail(ctx, VC_EPERM, "tenant %.64s does not allow self-registration", tenant);
	}
	if ((rc = new_user(ctx, tid, vc_arg_str(args, "username"), vc_arg_str(args, "email"),
	    "viewer", prepared_hash(args), uid)) != 0 ||
	    (rc = vc_mail_verify_queue(ctx, tid, uid, vc_arg_str(args, "username"),
	    vc_arg_str(args, "email"))) != 0)
		return rc;
	return user_json(ctx, tid, uid, out);
}

/* ---- sessions --------------------------------------------------------- */

/* Make ctx act as u (after a login or refresh), for the audit record. */
static void
become(vc_ctx *ctx, const struct user *u)
{
	memset(&ctx->who, 0, sizeof ctx->who);
	ctx->who.actor = VC_ACTOR_USER;
	ctx->who.role = vc_role_parse(u->role);
	copy(ctx->who.user_id, sizeof ctx->who.user_id, u->id);
	copy(ctx->who.username, sizeof ctx->who.username, u->username);
	copy(ctx->who.tenant_id, sizeof ctx->who.tenant_id, u->tenant_id);
}

/*
 * Issue an access token and a refresh token of family fam (a new family
 * when fam is NULL).  Runs inside a transaction.
 */
static int
issue(vc_ctx *ctx, const struct user *u, const char *fam, int64_t fam_exp, jv *out)
{
	struct vc_jwt_claims c;
	char jwt[2048], rt[VC_TOKEN_MAX], rt_hash[65], rid[VC_ID_LEN + 1], famid[VC_ID_LEN + 1];
	char t[32];
	int64_t now = vc_now(ctx), exp;
	int rc;

	memset(&c, 0, sizeof c);
	copy(c.sub, sizeof c.sub, u->id);
	copy(c.tid, sizeof c.tid, u->tenant_id);
	copy(c.role, sizeof c.role, u->role);
	vc_new_id(c.jti);
	c.iat = c.nbf = now;
	c.exp = now + VC_JWT_TTL;
	c.sv = u->token_version;
	if (vc_jwt_sign(ctx->store->keys, &c, jwt, sizeof jwt) != 0)
		return vc_fail(ctx, VC_EINTERNAL, "cannot sign the access token");
	if (fam == NULL) {
		vc_new_id(famid);
		fam = famid;
		fam_exp = now + VC_REFRESH_TTL;
	}
	exp = now + VC_REFRESH_IDLE < fam_exp ? now + VC_REFRESH_IDLE : fam_exp;
	vc_token_new("vcr_", rt);
	vc_sha256_hex(rt, strlen(rt), rt_hash);
	vc_new_id(rid);
	rc = vc_sql_exec(ctx, "INSERT INTO refresh_tokens (id, family_id, tenant_id, user_id,"
	    " token_hash, created_at, expires_at, family_expires_at, ip, user_agent)"
	    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)", NULL, "sssssiiiss",
	    rid, fam, u->tenant_id, u->id, rt_hash, now, exp, fam_exp,
	    ctx->ip[0] ? ctx->ip : NULL, ctx->user_agent[0] ? ctx->user_agent : NULL);
	if (rc != 0) {
		sodium_memzero(rt, sizeof rt);
		sodium_memzero(jwt, sizeof jwt);
		return rc;
	}
	*out = jv_object();
	*out = jv_object_set(*out, jv_string("access_token"), jv_string(jwt));
	*out = jv_object_set(*out, jv_string("token_type"), jv_string("bearer"));
	*out = jv_object_set(*out, jv_string("expires_in"), jv_number(VC_JWT_TTL));
	*out = jv_object_set(*out, jv_string("refresh_token"), jv_string(rt));
	vc_time_fmt(fam_exp, t, sizeof t);
	*out = jv_object_set(*out, jv_string("refresh_expires_at"), jv_string(t));
	*out = jv_object_set(*out, jv_string("username"), jv_string(u->username));
	*out = jv_object_set(*out, jv_string("role"), jv_string(u->role));
	*out = jv_object_set(*out, jv_string("tenant_id"), jv_string(u->tenant_id));
	sodium_memzero(rt, sizeof rt);
	sodium_memzero(jwt, sizeof jwt);
	return 0;
}

#define THROTTLE_FREE 5           /* failures before delays begin */
#define THROTTLE_MAX_DELAY 900    /* seconds */
#define THROTTLE_FORGET 3600      /* a quiet hour forgets the failures */
/* The delay, 2^(failures past ?4) s up to 2^20: PostgreSQL shifts a
 * bigint only by an int. */
#define THROTTLE_DELAY VC_SQL2("(1 << MIN(failures - ?4, 20))", \
	"(CAST(1 AS bigint) << CAST(LEAST(failures - ?4, 20) AS int))")

static void
throttle_key(const char *name, char *key, size_t n)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < n; i++)
		key[i] = (char)tolower((unsigned char)name[i]);
	key[i] = '\0';
}

/*
 * Reserve one attempt for key before any password is checked: in one
 * short write transaction, refuse when the key is locked (*wait gets the
 * seconds left), else count the attempt as a failure in advance, locking
 * the key from the sixth failure in a row on (2^(n-5) s, at most
 * THROTTLE_MAX_DELAY).  A success deletes the row, and with it the
 * advance.  Guesses sent in parallel are counted before the slow hash,
 * so at most THROTTLE_FREE + 1 of them are ever checked.  Returns 0,
 * VC_ERATE ("too many WHAT: retry in N s", with Retry-After), or a store
 * error.
 */
struct reserve {
	const char *key, *what;
};

static int
reserve_body(vc_ctx *ctx, void *arg)
{
	const struct reserve *r = arg;
	int64_t now = vc_now(ctx), until = 0;
	vc_stmt *q;
	int rc;

	q = vc_sql(ctx, "SELECT locked_until FROM auth_throttle WHERE name = ?1", "s", r->key);
	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_step(ctx, q)) == 1)
		until = vc_col_int64(q, 0);
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err ? ctx->err : VC_EINTERNAL;
	if (until > now) {
		ctx->retry_after = (int)(until - now);
		copy(ctx->audit_reason, sizeof ctx->audit_reason, "throttled after repeated failures");
		return vc_fail(ctx, VC_ERATE, "too many %s: retry in %lld s", r->what,
		    (long long)(until - now));
	}
	if ((rc = vc_sql_exec(ctx, "INSERT INTO auth_throttle (name, failures, last_failure_at)"
	    " VALUES (?1, 1, ?2) ON CONFLICT (name) DO UPDATE SET"
	    " failures = CASE WHEN auth_throttle.last_failure_at < ?2 - ?3 THEN 1"
	    " ELSE auth_throttle.failures + 1 END,"
	    " last_failure_at = ?2", NULL, "sii", r->key, now, (int64_t)THROTTLE_FORGET)) != 0)
		return rc;
	return vc_sql_exec(ctx, "UPDATE auth_throttle SET locked_until = ?2 + MIN(?3, " THROTTLE_DELAY ")"
	    " WHERE name = ?1 AND failures > ?4", NULL, "siii",
	    r->key, now, (int64_t)THROTTLE_MAX_DELAY, (int64_t)THROTTLE_FREE);
}

/* In a transaction of its own, made again when it gave way to another
 * (attempts of one name on several instances at once). */
static int
throttle_reserve(vc_ctx *ctx, const char *key, const char *what)
{
	struct reserve r = { key, what };

	return vc_tx_run(ctx, 0, reserve_body, &r);
}

/* After a failed check: the lock, if any, runs from now, not from the
 * reservation before the slow hash. */
static int
relock(vc_ctx *ctx, const char *key)
{
	return vc_sql_exec(ctx, "UPDATE auth_throttle SET last_failure_at = ?2, locked_until = CASE"
	    " WHEN failures > ?4 THEN ?2 + MIN(?3, " THROTTLE_DELAY ") ELSE locked_until END"
	    " WHERE name = ?1", NULL, "siii",
	    key, vc_now(ctx), (int64_t)THROTTLE_MAX_DELAY, (int64_t)THROTTLE_FREE);
}

static int
relock_body(vc_ctx *ctx, void *arg)
{
	const struct reserve *r = arg;

	return relock(ctx, r->key);
}

/* relock in a transaction of its own, made again when it gave way. */
static void
throttle_relock(vc_ctx *ctx, const char *key)
{
	struct reserve r = { key, NULL };

	vc_tx_run(ctx, 0, relock_body, &r);
}

int
vc_auth_throttle(vc_ctx *ctx, const char *key, const char *what)
{
	return throttle_reserve(ctx, key, what);
}

int
vc_auth_throttle_failed(vc_ctx *ctx, const char *key)
{
	vc_stmt *q;
	int n = 0;

	throttle_relock(ctx, key);
	q = vc_sql(ctx, "SELECT failures FROM auth_throttle WHERE name = ?1", "s", key);
	if (q != NULL && vc_sql_step(ctx, q) == 1)
		n = vc_col_int(q, 0);
	vc_stmt_done(q);
	return n;
}

int
vc_auth_throttle_clear(vc_ctx *ctx, const char *key)
{
	return vc_sql_exec(ctx, "DELETE FROM auth_throttle WHERE name = ?1", NULL, "s", key);
}

#define BURST_FAILURES 5         /* failed logins in a window make a burst */
#define BURST_WINDOW 300          /* seconds, from the window's first failure */

/*
 * Count one failed login of the tenant's scope/subject (an account, or a
 * source address) in its window; *crossed gets 1 when this failure made
 * the window a burst (its count reached BURST_FAILURES and it was not
 * reported yet: it is now), *n the window's count.
 */
static int
burst_count(vc_ctx *ctx, const char *tenant, const char *scope, const char *subject, int64_t now,
    int *crossed, int64_t *n, int64_t *start)
{
	vc_stmt *q;
	int rc;

	*crossed = 0;
	if (vc_sql_exec(ctx, "DELETE FROM auth_fail_bursts WHERE tenant_id = ?1 AND window_start <= ?2",
	    NULL, "si", tenant, now - BURST_WINDOW) != 0 ||
	    vc_sql_exec(ctx, "INSERT INTO auth_fail_bursts (tenant_id, scope, subject, window_start,"
	    " failures) VALUES (?1, ?2, ?3, ?4, 1) ON CONFLICT (tenant_id, scope, subject)"
	    " DO UPDATE SET failures = auth_fail_bursts.failures + 1", NULL, "sssi", tenant, scope, subject,
	    now) != 0)
		return ctx->err;
	q = vc_sql(ctx, "UPDATE auth_fail_bursts SET reported = 1 WHERE tenant_id = ?1 AND scope = ?2"
	    " AND subject = ?3 AND failures >= ?4 AND reported = 0 RETURNING failures, window_start",
	    "sssi", tenant, scope, subject, (int64_t)BURST_FAILURES);
	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_step(ctx, q)) == 1) {
		*crossed = 1;
		*n = vc_col_int64(q, 0);
		*start = vc_col_int64(q, 1);
	}
	vc_stmt_done(q);
	return rc < 0 ? ctx->err : 0;
}

/*
 * A failed login of a known user, counted per account and per source
 * address (over HTTP; the CLI's "local" is none) in the user's tenant.  The
 * failure that makes either a burst appends one auth.login_failed
 * event; the rest of its window append none.  Failures naming no user
 * belong to no tenant and are left to the platform's audit chain.
 */
static int
login_burst(vc_ctx *ctx, const struct user *u)
{
	int64_t now = vc_now(ctx), n1 = 0, n2 = 0, s1 = now, s2 = now;
	int by_user = 0, by_addr = 0, rc;
	int http = ctx->front == VC_FRONT_HTTP && ctx->ip[0] != '\0';
	char t[40];
	jv by;

	if ((rc = burst_count(ctx, u->tenant_id, "user", u->id, now, &by_user, &n1, &s1)) != 0 ||
	    (http && (rc = burst_count(ctx, u->tenant_id, "addr", ctx->ip, now, &by_addr, &n2, &s2)) != 0))
		return rc;
	if (!by_user && !by_addr)
		return 0;
	by = jv_array();
	if (by_user)
		by = jv_array_append(by, jv_string("account"));
	if (by_addr)
		by = jv_array_append(by, jv_string("address"));
	vc_time_fmt(by_user && (!by_addr || s1 < s2) ? s1 : s2, t, sizeof t);
	return vc_event_emit_in(ctx, u->tenant_id, "auth.login_failed", JV_OBJECT(
	    jv_string("subject"), jv_string(u->username), jv_string("username"), jv_string(u->username),
	    jv_string("user_id"), jv_string(u->id),
	    jv_string("address"), http ? jv_string(ctx->ip) : jv_null(),
	    jv_string("count"), jv_number((double)(n1 > n2 ? n1 : n2)), jv_string("by"), by,
	    jv_string("window_s"), jv_number(BURST_WINDOW), jv_string("first_at"), jv_string(t)), NULL);
}

struct refusal {
	const struct user *u;
	int found;
	const char *key;
};

static int
refused_body(vc_ctx *ctx, void *arg)
{
	const struct refusal *f = arg;
	int rc;

	if ((rc = relock(ctx, f->key)) != 0)
		return rc;
	return f->found ? login_burst(ctx, f->u) : 0;
}

/* A failed login: the same answer whatever failed; the name's throttle
 * counts it (the attempt was reserved before the hash), and a burst of
 * them is an event, in the transaction that records the failure (made
 * again when it gave way to another: the burst's counts are read afresh,
 * and the failure was counted once, by the reservation). */
static int
login_refused(vc_ctx *ctx, const struct user *u, int found, const char *key)
{
	struct refusal f = { u, found, key };
	char msg[sizeof ctx->errmsg];

	if (found) {
		copy(ctx->who.user_id, sizeof ctx->who.user_id, u->id);
		copy(ctx->who.tenant_id, sizeof ctx->who.tenant_id, u->tenant_id);
	}
	if (vc_tx_run(ctx, 0, refused_body, &f) != 0) {
		/* The throttle matters more than the event: keep it alone. */
		snprintf(msg, sizeof msg, "%s", ctx->errmsg);
		throttle_relock(ctx, key);
		if (ctx->notice != NULL) {
			char line[sizeof msg + 40];

			snprintf(line, sizeof line, "auth.login_failed event not written: %s", msg);
			ctx->notice(ctx, line, ctx->notice_arg);
		}
	}
	return vc_fail(ctx, VC_EAUTH, GENERIC_AUTH);
}

/* What the audit record of a successful login says beside "success". */
static const char *
login_note(const struct user *u, int recovery, int rehashed)
{
	if (recovery)
		return rehashed ? "2FA by a recovery code; password rehashed" : "2FA by a recovery code";
	if (!u->totp_on && u->require_2fa)
		return "2FA setup required: enrolment session";
	return rehashed ? "password rehashed" : NULL;
}

/* The second factor a login carries: totp_code, or the OAuth2 password
 * grant's scope field of the original API's form login. */
static const char *
login_code(jv args)
{
	const char *c = vc_arg_str(args, "totp_code");

	return c != NULL ? c : vc_arg_str(args, "scope");
}

int
vc_auth_forget_failures(vc_ctx *ctx, const char *username)
{
	char key[65];

	throttle_key(username, key, sizeof key);
	return vc_sql_exec(ctx, "DELETE FROM auth_throttle WHERE name = ?1", NULL, "s", key);
}

/*
 * A tenant that requires verified addresses lets in only users who
 * confirmed theirs (superadmins aside, who run the installation): after
 * the right password, a clear refusal, since the caller proved who they
 * are.  1: refused (ctx set), 0: may log in, <0: error.
 */
static int
unverified(vc_ctx *ctx, const struct user *u)
{
	vc_stmt *q;
	int rc, refuse = 0;

	if (strcmp(u->role, "superadmin") == 0)
		return 0;
	q = vc_sql(ctx, "SELECT t.require_verified_email <> 0 AND u.email_verified_at IS NULL"
	    " FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.tenant_id = ?1 AND u.id = ?2",
	    "ss", u->tenant_id, u->id);
	if (q == NULL)
		return -1;
	if ((rc = vc_sql_step(ctx, q)) == 1)
		refuse = vc_col_int(q, 0);
	vc_stmt_done(q);
	if (rc < 0)
		return -1;
	if (!refuse)
		return 0;
	copy(ctx->audit_reason, sizeof ctx->audit_reason, "email not verified");
	vc_fail(ctx, VC_EPERM, "email not verified: follow the link in the verification mail, "
	    "or ask an admin to set your address again for a new one");
	return 1;
}

/*
 * Login manages its own transaction (VC_OP_RAW): the argon2 verify runs
 * before the write lock is taken, so one slow hash never stalls writers.
 * Unknown user, wrong password, disabled user and a wrong, missing or
 * replayed 2FA code fail the same way, each after the same hash, and each
 * counts toward the name's throttle.
 */
int
vc_op_login(vc_ctx *ctx, jv args, jv *out)
{
	const char *name = vc_arg_str(args, "username"), *pw = vc_arg_str(args, "password");
	struct user u;
	char newhash[VC_PW_HASH_MAX] = "", key[65];
	int rc, found, rehash = 0, recovery = 0, tries = 0;

	memset(&u, 0, sizeof u);
	if (name == NULL || pw == NULL)
		return vc_fail(ctx, VC_EUSAGE, "username and password are required");
	copy(ctx->who.username, sizeof ctx->who.username, name);
	throttle_key(name, key, sizeof key);
	/* Throttled names (known or not) wait before any password is tried. */
	if ((rc = throttle_reserve(ctx, key, "failed logins")) != 0)
		return rc;
	found = load_user(ctx, vc_sql(ctx, "SELECT " USER_COLS " FROM users u WHERE u.username = ?1",
	    "s", name), &u);   /* unscoped: a login names no tenant; usernames are global */
	if (found < 0)
		return ctx->err;
	rc = vc_password_verify(ctx, found ? u.hash : NULL, pw, &rehash);
	if (rc == VC_ETEMP)
		return rc;
	if (found)
		set_target(ctx, "user", u.id, u.tenant_id);
	if (!found || rc != 0 || u.disabled) {
		copy(ctx->audit_reason, sizeof ctx->audit_reason,
		    !found ? "unknown user" : rc != 0 ? "wrong password" : "user disabled");
		return login_refused(ctx, &u, found, key);
	}
	if (rehash && (rc = vc_password_hash(ctx, pw, newhash)) != 0)
		return rc;
	/* The password checked, the rest is one transaction, made again
	 * when it gave way to another (a login of the same user on another
	 * instance): everything it writes is in hand. */
again:
	if ((rc = vc_tx_begin(ctx)) != 0)
		goto out;
	/* The code is spent in the transaction that issues the tokens; it is
	 * checked before anything tells that the password was right. */
	if (u.totp_on && (rc = vc_twofa_check(ctx, u.tenant_id, u.id, login_code(args),
	    &recovery)) != 0) {
		if (rc != VC_EAUTH)
			goto fail;      /* the code's step, written, gave way */
		vc_tx_rollback(ctx);
		sodium_memzero(newhash, sizeof newhash);
		return login_refused(ctx, &u, found, key);
	}
	if ((rc = unverified(ctx, &u)) < 0) {
		rc = ctx->err ? ctx->err : VC_EINTERNAL;
		goto fail;
	}
	if (rc != 0) {
		vc_tx_rollback(ctx);    /* the code, if any, stays unspent */
		sodium_memzero(newhash, sizeof newhash);
		copy(ctx->who.user_id, sizeof ctx->who.user_id, u.id);
		copy(ctx->who.tenant_id, sizeof ctx->who.tenant_id, u.tenant_id);
		vc_auth_forget_failures(ctx, name);
		return VC_EPERM;
	}
	become(ctx, &u);
	if (newhash[0] != '\0' && (rc = vc_sql_exec(ctx, "UPDATE users SET password_hash = ?1"
	    " WHERE tenant_id = ?2 AND id = ?3", NULL, "sss", newhash, u.tenant_id, u.id)) != 0)
		goto fail;
	if ((rc = vc_sql_exec(ctx, "DELETE FROM auth_throttle WHERE name = ?1", NULL, "s", key)) != 0 ||
	    (rc = vc_sql_exec(ctx, "UPDATE users SET last_login_at = ?1 WHERE tenant_id = ?2 AND id = ?3",
	    NULL, "iss", vc_now(ctx), u.tenant_id, u.id)) != 0 ||
	    (rc = issue(ctx, &u, NULL, 0, out)) != 0)
		goto fail;
	if (!u.totp_on && u.require_2fa)
		*out = jv_object_set(*out, jv_string("note"), jv_string("your tenant requires "
		    "two-factor authentication: this session may only set it up (2fa setup, "
		    "then 2fa verify CODE)"));
	if ((rc = vc_audit(ctx, u.tenant_id, "auth.login", "user", u.id, "success",
	    login_note(&u, recovery, newhash[0] != '\0'), jv_invalid())) != 0 ||
	    (rc = vc_tx_commit(ctx)) != 0)
		goto fail;
	ctx->audited = 1;
	goto out;
fail:
	vc_tx_rollback(ctx);
	jv_free(*out);
	*out = jv_invalid();
	if (vc_tx_again(ctx, ++tries))
		goto again;
out:
	sodium_memzero(newhash, sizeof newhash);
	return rc;
}

int
vc_op_whoami(vc_ctx *ctx, jv args, jv *out)
{
	char name[65] = "";
	int verified = 0;
	vc_stmt *q;

	find_tenant(ctx, ctx->who.tenant_id, (char[VC_ID_LEN + 1]){0}, name, sizeof name);
	q = vc_sql(ctx, "SELECT email_verified_at IS NOT NULL FROM users WHERE tenant_id = ?1"
	    " AND id = ?2", "ss", ctx->who.tenant_id, ctx->who.user_id);
	if (q != NULL && vc_sql_step(ctx, q) == 1)
		verified = vc_col_int(q, 0);
	vc_stmt_done(q);
	*out = jv_object();
	*out = jv_object_set(*out, jv_string("user_id"), jv_string(ctx->who.user_id));
	*out = jv_object_set(*out, jv_string("username"), jv_string(ctx->who.username));
	*out = jv_object_set(*out, jv_string("role"), jv_string(vc_role_name(ctx->who.role)));
	*out = jv_object_set(*out, jv_string("tenant_id"), jv_string(ctx->who.tenant_id));
	*out = jv_object_set(*out, jv_string("tenant"), jv_string(name));
	*out = jv_object_set(*out, jv_string("auth"),
	    jv_string(ctx->who.actor == VC_ACTOR_SERVICE ? "api_token" : "session"));
	*out = jv_object_set(*out, jv_string("email_verified"), jv_bool(verified));
	if (ctx->who.actor == VC_ACTOR_SERVICE)
		*out = jv_object_set(*out, jv_string("token_id"), jv_string(ctx->who.token_id));
	ctx->err = 0;
	return 0;
}

struct rt_row {
	char id[VC_ID_LEN + 1], family[VC_ID_LEN + 1];
	char tenant[VC_ID_LEN + 1], user[VC_ID_LEN + 1];
	int64_t expires, fam_expires;
	int used, revoked;
};

/* 1 found, 0 not, <0 error */
static int
find_refresh(vc_ctx *ctx, const char *token, struct rt_row *r)
{
	char h[65];
	vc_stmt *q;
	int rc;

	if (token == NULL || strncmp(token, "vcr_", 4) != 0 || strlen(token) > VC_TOKEN_MAX)
		return 0;
	vc_sha256_hex(token, strlen(token), h);
	/* unscoped: the token itself is the credential that names the tenant */
	q = vc_sql(ctx, "SELECT id, family_id, tenant_id, user_id, expires_at, family_expires_at,"
	    " used_at IS NOT NULL, revoked_at IS NOT NULL FROM refresh_tokens WHERE token_hash = ?1",
	    "s", h);
	if (q == NULL)
		return -1;
	rc = vc_sql_step(ctx, q);
	if (rc == 1) {
		copy(r->id, sizeof r->id, (const char *)vc_col_text(q, 0));
		copy(r->family, sizeof r->family, (const char *)vc_col_text(q, 1));
		copy(r->tenant, sizeof r->tenant, (const char *)vc_col_text(q, 2));
		copy(r->user, sizeof r->user, (const char *)vc_col_text(q, 3));
		r->expires = vc_col_int64(q, 4);
		r->fam_expires = vc_col_int64(q, 5);
		r->used = vc_col_int(q, 6);
		r->revoked = vc_col_int(q, 7);
	}
	vc_stmt_done(q);
	return rc;
}

static int
revoke_family(vc_ctx *ctx, const struct rt_row *r)
{
	return vc_sql_exec(ctx, "UPDATE refresh_tokens SET revoked_at = ?1"
	    " WHERE tenant_id = ?2 AND family_id = ?3 AND revoked_at IS NULL",
	    NULL, "iss", vc_now(ctx), r->tenant, r->family);
}

/*
 * Rotate a refresh token (VC_OP_RAW: a reuse must revoke the family and
 * be audited even though the call fails), in one transaction, which
 * vc_op_refresh makes again when it gave way to another (the same token
 * presented twice at once: the second then finds it used).
 */
static int
refresh_once(vc_ctx *ctx, jv args, jv *out)
{
	struct rt_row r;
	struct user u;
	int rc, changes = 0, found;
	int64_t now = vc_now(ctx);

	if ((rc = vc_tx_begin(ctx)) != 0)
		return rc;
	found = find_refresh(ctx, vc_arg_str(args, "refresh_token"), &r);
	if (found < 0)
		goto fail;
	if (found == 0) {
		vc_tx_rollback(ctx);
		copy(ctx->audit_reason, sizeof ctx->audit_reason, "unknown refresh token");
		return vc_fail(ctx, VC_EAUTH, GENERIC_TOKEN);
	}
	found = load_user(ctx, vc_sql(ctx, "SELECT " USER_COLS " FROM users u"
	    " WHERE u.tenant_id = ?1 AND u.id = ?2", "ss", r.tenant, r.user), &u);
	if (found < 0)
		goto fail;
	if (found == 0) {
		vc_tx_rollback(ctx);
		return vc_fail(ctx, VC_EAUTH, GENERIC_TOKEN);
	}
	become(ctx, &u);
	set_target(ctx, "user", u.id, u.tenant_id);
	if (r.used || r.revoked) {
		/* A second use means the token leaked: end the whole family. */
		if ((rc = revoke_family(ctx, &r)) != 0 ||
		    (rc = vc_audit(ctx, u.tenant_id, "auth.refresh.reuse", "user", u.id, "denied",
		    r.revoked ? "revoked refresh token presented; family revoked" :
		    "used refresh token presented again; family revoked", jv_invalid())) != 0 ||
		    (rc = vc_tx_commit(ctx)) != 0)
			goto fail;
		ctx->audited = 1;
		return vc_fail(ctx, VC_EAUTH, GENERIC_TOKEN);
	}
	if (now >= r.expires || now >= r.fam_expires || u.disabled) {
		vc_tx_rollback(ctx);
		copy(ctx->audit_reason, sizeof ctx->audit_reason,
		    u.disabled ? "user disabled" : "refresh token expired");
		return vc_fail(ctx, VC_EAUTH, GENERIC_TOKEN);
	}
	if ((rc = vc_sql_exec(ctx, "UPDATE refresh_tokens SET used_at = ?1 WHERE tenant_id = ?2"
	    " AND id = ?3 AND used_at IS NULL AND revoked_at IS NULL", &changes, "iss",
	    now, r.tenant, r.id)) != 0)
		goto fail;
	if (changes != 1) {
		vc_tx_rollback(ctx);
		return vc_fail(ctx, VC_EAUTH, GENERIC_TOKEN);
	}
	if ((rc = issue(ctx, &u, r.family, r.fam_expires, out)) != 0 ||
	    (rc = vc_audit(ctx, u.tenant_id, "auth.refresh", "user", u.id, "success", NULL,
	    jv_invalid())) != 0 || (rc = vc_tx_commit(ctx)) != 0) {
		jv_free(*out);
		*out = jv_invalid();
		goto fail;
	}
	ctx->audited = 1;
	return 0;
fail:
	vc_tx_rollback(ctx);
	return ctx->err ? ctx->err : rc;
}

int
vc_op_refresh(vc_ctx *ctx, jv args, jv *out)
{
	int rc;

	for (int a = 1; ; a++) {
		if ((rc = refresh_once(ctx, args, out)) == 0 || !vc_tx_again(ctx, a))
			return rc;
		jv_free(*out);
		*out = jv_invalid();
		ctx->audited = 0;
		ctx->audit_reason[0] = '\0';
	}
}

int
vc_op_logout(vc_ctx *ctx, jv args, jv *out)
{
	struct rt_row r;
	int found, changes = 0, rc;

	found = find_refresh(ctx, vc_arg_str(args, "refresh_token"), &r);
	if (found < 0)
		return ctx->err;
	if (found == 1) {
		/* The token names its own user; act as them for the record. */
		copy(ctx->who.user_id, sizeof ctx->who.user_id, r.user);
		copy(ctx->who.tenant_id, sizeof ctx->who.tenant_id, r.tenant);
		if (ctx->who.actor == VC_ACTOR_ANON)
			ctx->who.actor = VC_ACTOR_USER;
		set_target(ctx, "user", r.user, r.tenant);
		rc = vc_sql_exec(ctx, "UPDATE refresh_tokens SET revoked_at = ?1"
		    " WHERE tenant_id = ?2 AND family_id = ?3 AND revoked_at IS NULL",
		    &changes, "iss", vc_now(ctx), r.tenant, r.family);
		if (rc != 0)
			return rc;
	}
	*out = jv_object_set(jv_object(), jv_string("logged_out"), jv_true());
	*out = jv_object_set(*out, jv_string("revoked"), jv_number(changes));
	return 0;
}

/* passwd's caller as a user record, and the key of its throttle. */
static int
passwd_self(vc_ctx *ctx, struct user *u, char *key, size_t kn)
{
	int rc = load_user(ctx, vc_sql(ctx, "SELECT " USER_COLS " FROM users u WHERE u.tenant_id = ?1"
	    " AND u.id = ?2", "ss", ctx->who.tenant_id, ctx->who.user_id), u);

	if (rc <= 0)
		return rc < 0 ? ctx->err : vc_fail(ctx, VC_EAUTH, GENERIC_TOKEN);
	set_target(ctx, "user", u->id, u->tenant_id);
	snprintf(key, kn, "passwd:%s", u->id);
	return 0;
}

/*
 * Change one's own password.  Everything slow happened in
 * vc_prep_passwd, before the write lock: the throttle, the check of the
 * current password, the new hash.
 */
int
vc_op_password(vc_ctx *ctx, jv args, jv *out)
{
	const char *hash = prepared_hash(args);
	struct user u;
	char key[80];
	int rc;

	if (hash == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "passwd without its preparation");
	if ((rc = passwd_self(ctx, &u, key, sizeof key)) != 0)
		return rc;
	rc = vc_sql_exec(ctx, "UPDATE users SET password_hash = ?1, updated_at = ?2"
	    " WHERE tenant_id = ?3 AND id = ?4", NULL, "siss", hash, vc_now(ctx), u.tenant_id, u.id);
	if (rc != 0 || (rc = revoke_sessions(ctx, &u)) != 0 ||
	    (rc = vc_sql_exec(ctx, "DELETE FROM auth_throttle WHERE name = ?1", NULL, "s", key)) != 0)
		return rc;
	*out = jv_object_set(jv_object(), jv_string("password_changed"), jv_true());
	*out = jv_object_set(*out, jv_string("sessions_revoked"), jv_true());
	return 0;
}

/* ---- work before the write lock ----------------------------------------- */

/* Hash args' password and keep the hash instead (wiping ours). */
static int
swap_for_hash(vc_ctx *ctx, jv *args, const char *field)
{
	const char *pw = vc_arg_str(*args, field);
	char hash[VC_PW_HASH_MAX];
	int rc;

	if (pw == NULL)
		return 0;
	if ((rc = vc_password_hash(ctx, pw, hash)) != 0)
		return rc;
	*args = jv_object_set(*args, jv_string(PREPARED_HASH), jv_string(hash));
	*args = jv_object_delete(*args, jv_string(field));
	sodium_memzero(hash, sizeof hash);
	return 0;
}

/* user update: the user found (404, audited, for another tenant's) and
 * the rules checked before the costly hash; the handler checks again. */
int
vc_prep_user_update(vc_ctx *ctx, jv *args)
{
	struct user u;
	int rc;

	if (!vc_arg_has(*args, "password"))
		return 0;
	if ((rc = find_user(ctx, vc_arg_str(*args, "id"), &u)) != 0)
		return rc;
	set_target(ctx, "user", u.id, u.tenant_id);
	if ((rc = may_change(ctx, &u)) != 0 || (rc = may_take_over(ctx, &u, &set_password)) != 0)
		return rc;
	return swap_for_hash(ctx, args, "password");
}

int
vc_prep_new_password(vc_ctx *ctx, jv *args)
{
	return swap_for_hash(ctx, args, "new_password");
}

int
vc_prep_password(vc_ctx *ctx, jv *args)
{
	/* A token cannot set a password: refuse before the costly hash. */
	if (vc_arg_has(*args, "password") && ctx->who.actor == VC_ACTOR_SERVICE)
		return vc_fail(ctx, VC_EPERM, "an API token cannot set a password; "
		    "log in as an admin to reset one");
	return swap_for_hash(ctx, args, "password");
}

/*
 * passwd: throttled like a login (per account: five wrong current
 * passwords in a row, then 2^(n-5) s), the current password checked and
 * the new one hashed, all before the write lock.
 */
int
vc_prep_passwd(vc_ctx *ctx, jv *args)
{
	struct user u;
	char key[80];
	int rc, rehash;

	if (ctx->who.actor != VC_ACTOR_USER)
		return vc_fail(ctx, VC_EPERM, "an API token cannot change a password");
	if ((rc = passwd_self(ctx, &u, key, sizeof key)) != 0)
		return rc;
	if ((rc = throttle_reserve(ctx, key, "wrong passwords")) != 0)
		return rc;
	rc = vc_password_verify(ctx, u.hash, vc_arg_str(*args, "current_password"), &rehash);
	if (rc == VC_EAUTH) {
		throttle_relock(ctx, key);
		copy(ctx->audit_reason, sizeof ctx->audit_reason, "wrong current password");
		return vc_fail(ctx, VC_EAUTH, "the current password is wrong");
	}
	if (rc != 0)
		return rc;
	*args = jv_object_delete(*args, jv_string("current_password"));
	return swap_for_hash(ctx, args, "new_password");
}

/* ---- API tokens ------------------------------------------------------- */

#define TOKEN_JSON "SELECT k.id, k.name, k.role, k.prefix, u.username AS owner," \
	" k.created_at, k.expires_at, k.last_used_at, k.revoked_at" \
	" FROM api_tokens k JOIN users u ON u.tenant_id = k.tenant_id AND u.id = k.user_id"

int
vc_op_token_create(vc_ctx *ctx, jv args, jv *out)
{
	const char *name = vc_arg_str(args, "name"), *role = vc_arg_str(args, "role");
	char id[VC_ID_LEN + 1], tok[VC_TOKEN_MAX], h[65], prefix[13], t[32];
	int64_t ttl = VC_API_TOKEN_TTL, now = vc_now(ctx);
	int r = vc_role_parse(role), rc;
	jv v;

	if (ctx->who.actor != VC_ACTOR_USER)
		return vc_fail(ctx, VC_EPERM, "an API token cannot create API tokens");
	if (name == NULL || strlen(name) == 0 || strlen(name) > 128)
		return vc_fail(ctx, VC_EINVAL, "token name must be 1 to 128 characters");
	if (r < VC_ROLE_VIEWER || r > VC_ROLE_ADMIN)
		return vc_fail(ctx, VC_EINVAL, "token role must be admin, analyst or viewer");
	if (r > ctx->who.role)
		return vc_fail(ctx, VC_EPERM, "a token cannot have a role above yours (%s)",
		    vc_role_name(ctx->who.role));
	v = jv_object_get(jv_copy(args), jv_string("expires"));
	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		double d = jv_number_value(v);
		/* Range first: converting an out-of-range double is undefined. */
		ttl = d >= 0 && d <= 400.0 * 86400 ? (int64_t)d : -1;
	}
	jv_free(v);
	if (ttl < 60 || ttl > 366 * 86400)
		return vc_fail(ctx, VC_EINVAL, "token lifetime must be 1 minute to 366 days");
	vc_new_id(id);
	vc_token_new("vcs_", tok);
	vc_sha256_hex(tok, strlen(tok), h);
	snprintf(prefix, sizeof prefix, "%.12s", tok);
	rc = vc_sql_exec(ctx, "INSERT INTO api_tokens (id, tenant_id, user_id, name, role,"
	    " token_hash, prefix, created_at, expires_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
	    NULL, "sssssssii", id, ctx->who.tenant_id, ctx->who.user_id, name, role, h, prefix,
	    now, now + ttl);
	if (rc != 0) {
		sodium_memzero(tok, sizeof tok);
		return rc;
	}
	set_target(ctx, "api_token", id, NULL);
	vc_audit_detail(ctx, "name", jv_string(name));
	vc_audit_detail(ctx, "role", jv_string(role));
	*out = jv_object();
	*out = jv_object_set(*out, jv_string("id"), jv_string(id));
	*out = jv_object_set(*out, jv_string("name"), jv_string(name));
	*out = jv_object_set(*out, jv_string("role"), jv_string(role));
	vc_time_fmt(now + ttl, t, sizeof t);
	*out = jv_object_set(*out, jv_string("expires_at"), jv_string(t));
	*out = jv_object_set(*out, jv_string("token"), jv_string(tok));
	*out = jv_object_set(*out, jv_string("note"),
	    jv_string("this token is shown once; store it now"));
	sodium_memzero(tok, sizeof tok);
	return 0;
}

int
vc_op_token_list(vc_ctx *ctx, jv args, jv *out)
{
	/* Admins see the tenant's tokens, others their own. */
	const char *owner = ctx->who.role >= VC_ROLE_ADMIN ? NULL : ctx->who.user_id;

	*out = vc_sql_rows(ctx, vc_sql(ctx, TOKEN_JSON " WHERE k.tenant_id = ?1"
	    " AND (?2 IS NULL OR k.user_id = ?2) ORDER BY k.created_at, k.id",
	    "ss", ctx->who.tenant_id, owner));
	return jv_is_valid(*out) ? 0 : ctx->err;
}

int
vc_op_token_revoke(vc_ctx *ctx, jv args, jv *out)
{
	const char *id = vc_arg_str(args, "id");
	const char *owner = ctx->who.role >= VC_ROLE_ADMIN ? NULL : ctx->who.user_id;
	int rc, changes = 0;

	rc = vc_sql_exec(ctx, "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?1)"
	    " WHERE tenant_id = ?2 AND id = ?3 AND (?4 IS NULL OR user_id = ?4)",
	    &changes, "isss", vc_now(ctx), ctx->who.tenant_id, id, owner);
	if (rc != 0)
		return rc;
	if (changes == 0)
		return vc_not_found(ctx, "api_token", "token",
		    /* unscoped: existence check only, to audit a cross-tenant attempt */
		    "SELECT 1 FROM api_tokens WHERE id = ?1", id);
	set_target(ctx, "api_token", id, NULL);
	*out = vc_sql_rows(ctx, vc_sql(ctx, TOKEN_JSON " WHERE k.tenant_id = ?1 AND k.id = ?2",
	    "ss", ctx->who.tenant_id, id));
	if (!jv_is_valid(*out))
		return ctx->err;
	*out = jv_array_get(*out, 0);
	return 0;
}

/* ---- authentication of a bearer credential ---------------------------- */

static int
auth_api_token(vc_ctx *ctx, const char *cred)
{
	char h[65];
	vc_stmt *q;
	int rc, trole, urole;
	int64_t now = vc_now(ctx);

	vc_sha256_hex(cred, strlen(cred), h);
	/* unscoped: the token itself is the credential that names the tenant */
	q = vc_sql(ctx, "SELECT k.id, k.role, k.user_id, k.tenant_id, u.username, u.role"
	    " FROM api_tokens k JOIN users u ON u.tenant_id = k.tenant_id AND u.id = k.user_id"
	    " WHERE k.token_hash = ?1 AND k.revoked_at IS NULL AND k.expires_at > ?2"
	    " AND u.disabled = 0", "si", h, now);
	if (q == NULL)
		return ctx->err;
	rc = vc_sql_step(ctx, q);
	if (rc == 1) {
		trole = vc_role_parse((const char *)vc_col_text(q, 1));
		urole = vc_role_parse((const char *)vc_col_text(q, 5));
		memset(&ctx->who, 0, sizeof ctx->who);
		ctx->who.actor = VC_ACTOR_SERVICE;
		/* A token never outranks its owner as the owner is now. */
		ctx->who.role = trole < urole ? trole : urole;
		copy(ctx->who.token_id, sizeof ctx->who.token_id, (const char *)vc_col_text(q, 0));
		copy(ctx->who.user_id, sizeof ctx->who.user_id, (const char *)vc_col_text(q, 2));
		copy(ctx->who.tenant_id, sizeof ctx->who.tenant_id, (const char *)vc_col_text(q, 3));
		copy(ctx->who.username, sizeof ctx->who.username, (const char *)vc_col_text(q, 4));
	}
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	if (rc == 0)
		return vc_fail(ctx, VC_EAUTH, GENERIC_TOKEN);
	/* Best effort: a busy store must not fail the request. */
	vc_stmt *upd = vc_sql(ctx, "UPDATE api_tokens SET last_used_at = ?1 WHERE tenant_id = ?2"
	    " AND id = ?3", "iss", now, ctx->who.tenant_id, ctx->who.token_id);
	if (upd != NULL)
		vc_stmt_step(upd);
	vc_stmt_done(upd);
	ctx->err = 0;
	return 0;
}

/* An access token (JWT); *exp (may be NULL) gets its expiry.  Reads only. */
static int
auth_jwt(vc_ctx *ctx, const char *cred, int64_t *exp)
{
	struct vc_jwt_claims c;
	struct user u;
	const char *why = NULL;
	int rc;

	if (vc_jwt_verify(ctx->store->keys, cred, vc_now(ctx), &c, &why) != 0)
		return vc_fail(ctx, VC_EAUTH, GENERIC_TOKEN);
	rc = load_user(ctx, vc_sql(ctx, "SELECT " USER_COLS " FROM users u WHERE u.tenant_id = ?1"
	    " AND u.id = ?2", "ss", c.tid, c.sub), &u);
	if (rc < 0)
		return ctx->err;
	if (rc == 0 || u.disabled || u.token_version != c.sv)
		return vc_fail(ctx, VC_EAUTH, GENERIC_TOKEN);
	become(ctx, &u);
	copy(ctx->who.token_id, sizeof ctx->who.token_id, c.jti);
	/* Decided by the user as now, not by the token: the session is freed
	 * once 2FA is on, and restricted as soon as the tenant requires it. */
	ctx->who.enroll_only = u.require_2fa && !u.totp_on;
	if (exp != NULL)
		*exp = c.exp;
	return 0;
}

int
vc_authenticate(vc_ctx *ctx, const char *cred)
{
	memset(&ctx->who, 0, sizeof ctx->who);
	if (cred == NULL || *cred == '\0' || strlen(cred) > VC_JWT_MAX)
		return vc_fail(ctx, VC_EAUTH, GENERIC_TOKEN);
	if (strncmp(cred, "vcs_", 4) == 0)
		return auth_api_token(ctx, cred);
	return auth_jwt(ctx, cred, NULL);
}

int
vc_authenticate_access(vc_ctx *ctx, const char *cred, int64_t *exp)
{
	int rc;

	memset(&ctx->who, 0, sizeof ctx->who);
	if (cred == NULL || *cred == '\0' || strlen(cred) > VC_JWT_MAX || strncmp(cred, "vcs_", 4) == 0)
		return vc_fail(ctx, VC_EAUTH, GENERIC_TOKEN);
	if ((rc = auth_jwt(ctx, cred, exp)) != 0)
		return rc;
	/* A session that may only set up 2FA gets nothing else. */
	if (ctx->who.enroll_only) {
		memset(&ctx->who, 0, sizeof ctx->who);
		return vc_fail(ctx, VC_EAUTH, GENERIC_TOKEN);
	}
	return 0;
}
