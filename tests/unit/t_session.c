/* SPDX-License-Identifier: MIT */
/*
 * t_session.c - sessions with an injected clock: the 30-day absolute
 * refresh lifetime across rotations (SEC-RT-04), the 7-day idle limit,
 * the role read from the store at refresh (SEC-RT-06), access-token
 * expiry with skew, rehash on login (SEC-PW-02) and the same password
 * hashing work for unknown users and wrong passwords (SEC-PW-05).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "auth.h"
#include "crypto/crypto.h"
#include "ops/ops.h"
#include "core/store.h"
#include "tap.h"

static int64_t fake_now;

static int64_t
clock_fn(void *arg)
{
	return fake_now;
}

static const char *const PW = "a long enough password";

static jv
call(vc_ctx *ctx, const char *name, jv args, int *rc)
{
	jv out;

	*rc = vc_op_call(ctx, vc_op_by_name(name), args, &out);
	return out;
}

static void
anon(vc_ctx *ctx)
{
	memset(&ctx->who, 0, sizeof ctx->who);
}

/* Log in as name; returns the login result (tokens). */
static jv
login(vc_ctx *ctx, const char *name, const char *pw, int *rc)
{
	anon(ctx);
	return call(ctx, "auth.login", JV_OBJECT(jv_string("username"), jv_string(name),
	    jv_string("password"), jv_string(pw)), rc);
}

static jv
refresh(vc_ctx *ctx, jv tokens, int *rc)
{
	jv rt = jv_object_get(jv_copy(tokens), jv_string("refresh_token"));

	anon(ctx);
	return call(ctx, "auth.refresh", JV_OBJECT(jv_string("refresh_token"), rt), rc);
}

static int
auth_with(vc_ctx *ctx, jv tokens)
{
	jv at = jv_object_get(jv_copy(tokens), jv_string("access_token"));
	int rc = vc_authenticate(ctx, jv_string_value(at));

	jv_free(at);
	return rc;
}

/*
 * SEC-PW-05 asks that an unknown name cost what a wrong password costs.
 * Timing the two is a test of the machine's load (and of ASan), so this
 * test checks the mechanism instead: it takes the place of libsodium's
 * crypto_pwhash_str_verify (a definition in the executable comes before
 * the shared library's for every caller, libvc.a included), counts the
 * verifies and keeps the hash each one ran against, and hands the call
 * on to libsodium.  The argon2id work of a verify is set by the hash's
 * parameters, so one verify against a hash of the current parameters is
 * the same work whoever asks.  Measured times are in bench/login.sh.
 */
static int verifies;
static char verified[crypto_pwhash_STRBYTES];

int
crypto_pwhash_str_verify(const char str[crypto_pwhash_STRBYTES], const char *const passwd,
    unsigned long long passwdlen)
{
	static int (*real)(const char *, const char *, unsigned long long);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "crypto_pwhash_str_verify");
	if (real == NULL)
		abort();
	verifies++;
	snprintf(verified, sizeof verified, "%s", str);
	return real(str, passwd, passwdlen);
}

/* The hash stored for name, in buf. */
static void
stored_hash(vc_ctx *ctx, const char *name, char *buf, size_t n)
{
	vc_stmt *q = vc_sql(ctx, "SELECT password_hash FROM users WHERE username = ?1", "s", name);

	buf[0] = '\0';
	if (q != NULL && vc_sql_step(ctx, q) == 1)
		snprintf(buf, n, "%s", (const char *)vc_col_text(q, 0));
	vc_stmt_done(q);
}

/* The parameters of an argon2id hash string: all but the salt and hash. */
static void
params_of(const char *hash, char *buf, size_t n)
{
	const char *end = strrchr(hash, '$');

	snprintf(buf, n, "%.*s", end == NULL ? 0 : (int)(end - hash), hash);
	if ((end = strrchr(buf, '$')) != NULL)
		buf[end - buf + 1] = '\0';
}

/*
 * Log in as name with pw; the number of verifies it ran (and the hash
 * of the last in verified), or -1 when the login did not fail as
 * VC_EAUTH with the generic message.
 */
static int
failed_login(vc_ctx *ctx, const char *name, const char *pw)
{
	int rc;

	verifies = 0;
	verified[0] = '\0';
	jv_free(login(ctx, name, pw, &rc));
	if (rc != VC_EAUTH || strcmp(ctx->errmsg, "invalid credentials") != 0)
		return -1;
	return verifies;
}

int
main(void)
{
	char dir[] = "/tmp/vc-t-session.XXXXXX", db[256];
	vc_ctx ctx;
	jv out, tok, tok2;
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(db, sizeof db, "%s/vc.db", dir);
	unsetenv("VC_KEY_FILE");
	vc_ctx_init(&ctx);
	fake_now = 1800000000;  /* 2027-01-15 */
	ctx.clock = clock_fn;
	rc = vc_store_open(&ctx, db, VC_STORE_CREATE);
	is_int(rc, 0, "store opens");
	if (rc != 0)
		return done_testing();
	out = call(&ctx, "auth.init", JV_OBJECT(jv_string("tenant"), jv_string("acme"),
	    jv_string("admin"), jv_string("root"), jv_string("password"), jv_string(PW)), &rc);
	is_int(rc, 0, "init: %s", ctx.errmsg);
	jv_free(out);

	/* SEC-RT-04: rotate every 6 days; the family still ends at day 30. */
	tok = login(&ctx, "root", PW, &rc);
	is_int(rc, 0, "login");
	for (int i = 1; i <= 4; i++) {
		fake_now += 6 * 86400;
		tok2 = refresh(&ctx, tok, &rc);
		is_int(rc, 0, "refresh on day %d", 6 * i);
		jv_free(tok);
		tok = tok2;
	}
	fake_now += 6 * 86400 + 1;      /* day 30 + 1 s */
	tok2 = refresh(&ctx, tok, &rc);
	is_int(rc, VC_EAUTH, "refresh after 30 days is refused despite rotations");
	jv_free(tok2);
	jv_free(tok);

	/* Idle limit: an unused refresh token dies after 7 days. */
	tok = login(&ctx, "root", PW, &rc);
	fake_now += 7 * 86400 + 1;
	tok2 = refresh(&ctx, tok, &rc);
	is_int(rc, VC_EAUTH, "a refresh token unused for 7 days is refused");
	jv_free(tok2);
	jv_free(tok);

	/* Access token lifetime: valid at +15 min + 59 s, invalid at +16 min + 1 s. */
	tok = login(&ctx, "root", PW, &rc);
	fake_now += 900 + 59;
	is_int(auth_with(&ctx, tok), 0, "access token accepted within the skew");
	fake_now += 3;
	is_int(auth_with(&ctx, tok), VC_EAUTH, "access token refused past exp + 60 s");
	jv_free(tok);

	/* SEC-RT-06: the role comes from the store at refresh time. */
	fake_now += 60;
	ctx.who.role = VC_ROLE_SUPERADMIN;
	{
		vc_stmt *q;
		char tid[VC_ID_LEN + 1] = "";
		q = vc_sql(&ctx, "SELECT tenant_id FROM users WHERE username = 'root'", "");
		if (q != NULL && vc_sql_step(&ctx, q) == 1)
			snprintf(tid, sizeof tid, "%s", (const char *)vc_col_text(q, 0));
		vc_stmt_done(q);
		snprintf(ctx.who.tenant_id, sizeof ctx.who.tenant_id, "%s", tid);
		ctx.who.actor = VC_ACTOR_USER;
	}
	out = call(&ctx, "auth.users.create", JV_OBJECT(jv_string("username"), jv_string("alice"),
	    jv_string("role"), jv_string("admin"), jv_string("password"), jv_string(PW)), &rc);
	is_int(rc, 0, "create alice as admin: %s", ctx.errmsg);
	jv_free(out);
	tok = login(&ctx, "alice", PW, &rc);
	is_int(rc, 0, "alice logs in");
	rc = vc_sql_exec(&ctx, "UPDATE users SET role = 'viewer' WHERE username = 'alice'", NULL, "");
	is_int(rc, 0, "downgrade alice in the store (token_version unchanged)");
	tok2 = refresh(&ctx, tok, &rc);
	is_int(rc, 0, "alice refreshes");
	{
		jv role = jv_object_get(jv_copy(tok2), jv_string("role"));
		is_str(jv_get_kind(role) == JV_KIND_STRING ? jv_string_value(role) : "?", "viewer",
		    "the refreshed session has the role from the store");
		jv_free(role);
	}
	is_int(auth_with(&ctx, tok2), 0, "new access token works");
	is_int(ctx.who.role, VC_ROLE_VIEWER, "and acts as a viewer");
	jv_free(tok);
	jv_free(tok2);

	/* SEC-PW-02: a hash with weaker parameters is upgraded at login. */
	{
		char weak[crypto_pwhash_STRBYTES], now_hash[256] = "";
		vc_stmt *q;
		ok(crypto_pwhash_str(weak, PW, strlen(PW), crypto_pwhash_OPSLIMIT_MIN,
		    crypto_pwhash_MEMLIMIT_MIN) == 0, "make a MIN-parameter hash");
		rc = vc_sql_exec(&ctx, "UPDATE users SET password_hash = ?1 WHERE username = 'alice'",
		    NULL, "s", weak);
		is_int(rc, 0, "seed a MIN-parameter hash");
		tok = login(&ctx, "alice", PW, &rc);
		is_int(rc, 0, "login with the weak hash works");
		jv_free(tok);
		q = vc_sql(&ctx, "SELECT password_hash FROM users WHERE username = 'alice'", "");
		if (q != NULL && vc_sql_step(&ctx, q) == 1)
			snprintf(now_hash, sizeof now_hash, "%s", (const char *)vc_col_text(q, 0));
		vc_stmt_done(q);
		ok(strncmp(now_hash, "$argon2id$v=19$m=65536,t=2,p=1$", 31) == 0 && strlen(now_hash) > 40,
		    "the stored hash now has the current parameters (%.32s)", now_hash);
	}

	/*
	 * SEC-PW-05: an unknown user and a wrong password cost the same: one
	 * argon2id verify each, against a hash of the same parameters (the
	 * stored one, or the dummy for an unknown name), and the same answer.
	 */
	{
		char real[256], dummy[256], p_real[256], p_dummy[256];
		const char *badpw = "not \xff UTF-8 at all";

		/* The previous test left alice with a current hash. */
		stored_hash(&ctx, "alice", real, sizeof real);
		params_of(real, p_real, sizeof p_real);
		is_int(failed_login(&ctx, "alice", "not the password at all"), 1,
		    "a wrong password: one verify");
		is_str(verified, real, "... against the user's hash");
		is_int(failed_login(&ctx, "nobody-here", PW), 1, "an unknown user: one verify");
		snprintf(dummy, sizeof dummy, "%s", verified);
		params_of(dummy, p_dummy, sizeof p_dummy);
		ok(strcmp(dummy, real) != 0 && strlen(dummy) == strlen(real),
		    "... against another hash of the same length (%zu)", strlen(dummy));
		is_str(p_dummy, p_real, "... with the same algorithm and parameters as the stored hash");
		is_str(p_real, "$argon2id$v=19$m=65536,t=2,p=1$", "... the current ones");
		is_int(failed_login(&ctx, "nobody-here-either", PW), 1, "another unknown user: one verify");
		is_str(verified, dummy, "... against the same dummy hash");
		is_int(failed_login(&ctx, "alice", badpw), 1, "a malformed password (not UTF-8): still one verify");
		is_str(verified, real, "... against the user's hash");
		is_int(failed_login(&ctx, "nobody-here", badpw), 1,
		    "an unknown user with a malformed password: still one verify");
		is_str(verified, dummy, "... against the dummy hash");
		out = login(&ctx, "nobody-here", PW, &rc);
		jv_free(out);
		{
			char m1[sizeof ctx.errmsg];
			snprintf(m1, sizeof m1, "%s", ctx.errmsg);
			out = login(&ctx, "alice", "not the password at all", &rc);
			jv_free(out);
			is_str(ctx.errmsg, m1, "the same message for unknown user and wrong password");
		}
	}

	vc_ctx_release(&ctx);
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return done_testing();
}
