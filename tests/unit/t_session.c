/* SPDX-License-Identifier: MIT */
/*
 * t_session.c - sessions with an injected clock: the 30-day absolute
 * refresh lifetime across rotations (SEC-RT-04), the 7-day idle limit,
 * the role read from the store at refresh (SEC-RT-06), access-token
 * expiry with skew, rehash on login (SEC-PW-02) and equal timing for
 * unknown users and wrong passwords (SEC-PW-05).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static double
secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median_login(vc_ctx *ctx, const char *name, const char *pw)
{
	double t[9];
	int rc;

	for (int i = 0; i < 9; i++) {
		double s = secs();
		jv_free(login(ctx, name, pw, &rc));
		t[i] = secs() - s;
	}
	qsort(t, 9, sizeof t[0], cmp_double);
	return t[4];
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
		sqlite3_stmt *q;
		char tid[VC_ID_LEN + 1] = "";
		q = vc_sql(&ctx, "SELECT tenant_id FROM users WHERE username = 'root'", "");
		if (q != NULL && vc_sql_step(&ctx, q) == 1)
			snprintf(tid, sizeof tid, "%s", (const char *)sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
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
		sqlite3_stmt *q;
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
			snprintf(now_hash, sizeof now_hash, "%s", (const char *)sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
		ok(strncmp(now_hash, "$argon2id$v=19$m=65536,t=2,p=1$", 31) == 0 && strlen(now_hash) > 40,
		    "the stored hash now has the current parameters (%.32s)", now_hash);
	}

	/* SEC-PW-05: unknown user and wrong password take the same time. */
	{
		double unknown = median_login(&ctx, "nobody-here", PW);
		double wrong = median_login(&ctx, "alice", "not the password at all");
		double ratio = unknown > wrong ? unknown / wrong : wrong / unknown;
		ok(ratio < 1.2, "median login time unknown user %.1f ms vs wrong password %.1f ms (within 20%%)",
		    unknown * 1000, wrong * 1000);
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
