/* SPDX-License-Identifier: MIT */
/*
 * t_ops.c - walk the whole operation table: every operation's role gate
 * for every role, the audit record of each denial, routing, and the
 * table's own consistency (unique names, verbs and routes, documented
 * parameters).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"
#include "core/store.h"
#include "tap.h"

static int
count_denials(vc_ctx *ctx)
{
	vc_stmt *q = vc_sql(ctx, "SELECT COUNT(*) FROM audit_logs WHERE action = 'authz.denied'", "");
	int n = -1;

	if (q != NULL && vc_sql_step(ctx, q) == 1)
		n = vc_col_int(q, 0);
	vc_stmt_done(q);
	return n;
}

static void
act_as(vc_ctx *ctx, int role, const char *tenant)
{
	memset(&ctx->who, 0, sizeof ctx->who);
	ctx->who.role = role;
	ctx->who.actor = role == VC_ROLE_ANON ? VC_ACTOR_ANON : VC_ACTOR_USER;
	if (role != VC_ROLE_ANON) {
		snprintf(ctx->who.tenant_id, sizeof ctx->who.tenant_id, "%s", tenant);
		snprintf(ctx->who.username, sizeof ctx->who.username, "%s", vc_role_name(role));
		vc_new_id(ctx->who.user_id);
	}
}

int
main(void)
{
	char dir[] = "/tmp/vc-t-ops.XXXXXX", db[256], tenant[VC_ID_LEN + 1];
	vc_ctx ctx;
	jv out;
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(db, sizeof db, "%s/vc.db", dir);
	unsetenv("VC_KEY_FILE");
	vc_ctx_init(&ctx);
	rc = vc_store_open(&ctx, db, VC_STORE_CREATE);
	is_int(rc, 0, "store opens: %s", ctx.errmsg);
	if (rc != 0)
		return done_testing();
	/* A tenant for the principals; the gate runs before any lookup. */
	vc_new_id(tenant);
	rc = vc_sql_exec(&ctx, "INSERT INTO tenants (id, name, created_at) VALUES (?1, 't', 0)",
	    NULL, "s", tenant);
	is_int(rc, 0, "tenant row");

	/* The gate, for every operation and every role. */
	for (const struct vc_op *op = vc_ops; op->name; op++) {
		for (int role = VC_ROLE_ANON; role <= VC_ROLE_SUPERADMIN; role++) {
			int before, after, want_denied;

			if (op->flags & VC_OP_NOSTORE)
				continue;   /* init runs before any principal exists */
			/* Key rotation would really rotate; its gate is all we test. */
			if (strcmp(op->name, "auth.keys.rotate") == 0 && role >= op->min_role)
				continue;
			act_as(&ctx, role, tenant);
			before = count_denials(&ctx);
			rc = vc_op_call(&ctx, op, jv_object(), &out);
			jv_free(out);
			after = count_denials(&ctx);
			if (role == VC_ROLE_ANON && !(op->flags & VC_OP_PUBLIC)) {
				is_int(rc, VC_EAUTH, "%s: anonymous is asked to authenticate", op->name);
				continue;
			}
			want_denied = role < op->min_role;
			if (want_denied) {
				is_int(rc, VC_EPERM, "%s: %s is denied", op->name, vc_role_name(role));
				is_int(after - before, 1, "%s: %s denial is audited", op->name,
				    vc_role_name(role));
			} else {
				ok(rc != VC_EPERM || strstr(ctx.errmsg, "role;") == NULL,
				    "%s: %s passes the gate (%s)", op->name, vc_role_name(role),
				    rc ? ctx.errmsg : "ok");
				is_int(after - before, 0, "%s: %s passes without a denial record",
				    op->name, vc_role_name(role));
			}
		}
	}

	/* Routing. */
	{
		jv a = jv_object();
		int method_ok = 0;
		const struct vc_op *op = vc_op_route("GET", "/api/users/42", &a, &method_ok);
		ok(op != NULL && strcmp(op->name, "auth.users.show") == 0, "GET /api/users/42 routes to users.show");
		is_str(vc_arg_str(a, "id"), "42", "path parameter id");
		jv_free(a);
		a = jv_object();
		op = vc_op_route("PATCH", "/api/users/42", &a, &method_ok);
		ok(op == NULL && method_ok == 1, "PATCH /api/users/42 is a 405, not a 404");
		jv_free(a);
		a = jv_object();
		op = vc_op_route("GET", "/api/nowhere", &a, &method_ok);
		ok(op == NULL && method_ok == 0, "unknown path is a 404");
		jv_free(a);
		a = jv_object();
		op = vc_op_route("GET", "/api/audit/verify", &a, &method_ok);
		ok(op != NULL && strcmp(op->name, "audit.verify") == 0, "literal route wins over {id}");
		jv_free(a);
		a = jv_object();
		op = vc_op_route("GET", "/api/users/42/extra", &a, &method_ok);
		ok(op == NULL, "a longer path does not match");
		jv_free(a);
	}

	/* The table is consistent. */
	for (const struct vc_op *a = vc_ops; a->name; a++) {
		int dup = 0;
		for (const struct vc_op *b = a + 1; b->name; b++) {
			if (strcmp(a->name, b->name) == 0)
				dup = 1;
			if (a->verb && b->verb && strcmp(a->tool, b->tool) == 0 && strcmp(a->verb, b->verb) == 0)
				dup = 1;
			if (a->path && b->path && strcmp(a->path, b->path) == 0 && strcmp(a->method, b->method) == 0)
				dup = 1;
			if ((a->flags & b->flags & VC_OP_DEFAULT) && strcmp(a->tool, b->tool) == 0)
				dup = 1;
		}
		ok(!dup, "%s: name, verb, route and default command are unique", a->name);
		ok(a->summary && *a->summary && a->fn, "%s: has a summary and a handler", a->name);
		/* A tool's default command has no verb, and a tool has one at most. */
		if (a->flags & VC_OP_DEFAULT)
			ok(a->verb == NULL, "%s: the default command has no verb", a->name);
		ok(vc_op_cli(a) || a->path != NULL, "%s: has a CLI command or an HTTP route", a->name);
		/* vc-serve answers 201 for the flag alone: it must be a write
		 * that has a POST route. */
		if (a->flags & VC_OP_CREATES)
			ok((a->flags & VC_OP_WRITE) && a->method && strcmp(a->method, "POST") == 0,
			    "%s: creates, so it is a write op with a POST route", a->name);
		for (const struct vc_param *p = a->params; p && p->name; p++) {
			ok(p->help && *p->help && (p->meta != NULL || p->type == VC_T_BOOL),
			    "%s: parameter %s is documented", a->name, p->name);
			ok(p->type >= VC_T_STR && p->type <= VC_T_JSON,
			    "%s: parameter %s has a type", a->name, p->name);
			if (p->flags & VC_P_PATH)
				ok(a->path && strstr(a->path, "{") != NULL,
				    "%s: path parameter %s has a route slot", a->name, p->name);
		}
	}

	/* The tools, from the table: each once, in table order. */
	{
		const char *tools[VC_OP_TOOLS_MAX], *cli[VC_OP_TOOLS_MAX], *small[3];
		int n = vc_op_tools(tools, VC_OP_TOOLS_MAX, 0), ncli, unique = 1, all = 1;

		ok(n > 0 && n < VC_OP_TOOLS_MAX, "VC_OP_TOOLS_MAX has room for the %d tools", n);
		is_str(tools[0], "vc-auth", "the first tool is the first op's");
		ok(n < VC_OP_TOOLS_MAX && tools[n] == NULL, "the list ends with NULL");
		for (int t = 0; t < n; t++)
			for (int u = t + 1; u < n; u++)
				unique &= strcmp(tools[t], tools[u]) != 0;
		ok(unique, "no tool is listed twice");
		for (const struct vc_op *op = vc_ops; op->name; op++) {
			int found = 0;
			for (int t = 0; t < n; t++)
				found |= strcmp(tools[t], op->tool) == 0;
			all &= found;
		}
		ok(all, "every op's tool is listed");
		ncli = vc_op_tools(cli, VC_OP_TOOLS_MAX, 1);
		ok(ncli > 0 && ncli < n, "the CLI tools are fewer (%d of %d)", ncli, n);
		for (int t = 0; t < ncli; t++)
			ok(strcmp(cli[t], "vc-serve") != 0, "CLI tool %s is not vc-serve", cli[t]);
		is_int(vc_op_tools(small, 3, 0), n, "a short array still gets the count");
		ok(small[2] == NULL && small[0] == tools[0] && small[1] == tools[1],
		    "a short array gets the first tools and a NULL");
	}

	/* Bad arguments are usage errors that name the field. */
	act_as(&ctx, VC_ROLE_SUPERADMIN, tenant);
	rc = vc_op_call(&ctx, vc_op_by_name("auth.users.create"),
	    JV_OBJECT(jv_string("username"), jv_string("x"), jv_string("role"), jv_string("god"),
	    jv_string("password"), jv_string("long enough password")), &out);
	jv_free(out);
	is_int(rc, VC_EUSAGE, "a role outside the choices is refused");
	ok(strstr(ctx.errmsg, "role") != NULL, "the message names the field: %s", ctx.errmsg);
	rc = vc_op_call(&ctx, vc_op_by_name("auth.users.list"),
	    JV_OBJECT(jv_string("bogus"), jv_true()), &out);
	jv_free(out);
	is_int(rc, VC_EUSAGE, "an unknown field is refused");
	rc = vc_op_call(&ctx, vc_op_by_name("audit.list"),
	    JV_OBJECT(jv_string("limit"), jv_string("ten")), &out);
	jv_free(out);
	is_int(rc, VC_EUSAGE, "a non-number limit is refused");
	rc = vc_op_call(&ctx, vc_op_by_name("audit.list"),
	    JV_OBJECT(jv_string("since"), jv_string("yesterday-ish")), &out);
	jv_free(out);
	is_int(rc, VC_EUSAGE, "a bad time is refused");

	/* Each parameter type has its check, with its message. */
	{
		static const struct {
			const char *op, *args;
			int err;
			const char *msg;
		} bad[] = {
			{ "auth.tenants.create", "{\"name\":\"t2\",\"allow_registration\":\"maybe\"}",
			  VC_EUSAGE, "allow_registration must be true or false" },
			{ "auth.tokens.create", "{\"name\":\"t\",\"role\":\"viewer\",\"expires\":\"soon\"}",
			  VC_EUSAGE, "expires must be a duration such as 90d, 12h, 30m" },
			{ "auth.tokens.create", "{\"name\":\"t\",\"role\":\"viewer\",\"expires\":-1}",
			  VC_EUSAGE, "expires is not a duration" },
			{ "audit.list", "{\"limit\":1.5}", VC_EUSAGE, "limit must be a whole number" },
			{ "audit.list", "{\"since\":1e14}", VC_EUSAGE, "since is not a time" },
			{ "audit.list", "{\"since\":true}", VC_EUSAGE, "since must be a time" },
			{ "audit.list", "{\"user\":7}", VC_EUSAGE, "user must be a string" },
			{ "hosts.update", "{\"id\":\"x\",\"label\":[\"+a\",1]}", VC_EUSAGE,
			  "label must be strings" },
			{ "hosts.update", "{\"note\":\"x\"}", VC_EUSAGE, "missing id" },
			{ "hosts.list", "[]", VC_EUSAGE, "arguments must be a JSON object" },
		};
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			rc = vc_op_call(&ctx, vc_op_by_name(bad[i].op), jv_parse(bad[i].args), &out);
			jv_free(out);
			is_int(rc, bad[i].err, "%s %s is refused", bad[i].op, bad[i].args);
			is_str(ctx.errmsg, bad[i].msg, "... with its message");
		}
		{
			char *big = malloc(65538);
			if (big != NULL) {
				memset(big, 'a', 65537);
				big[65537] = '\0';
				rc = vc_op_call(&ctx, vc_op_by_name("audit.list"),
				    JV_OBJECT(jv_string("user"), jv_string(big)), &out);
				jv_free(out);
				is_int(rc, VC_ETOOBIG, "a string over 64 KiB is too big");
				free(big);
			}
		}
		/* A CLI-only parameter does not exist over HTTP. */
		ctx.front = VC_FRONT_HTTP;
		rc = vc_op_call(&ctx, vc_op_by_name("threat.rules.list"),
		    JV_OBJECT(jv_string("map"), jv_string("x")), &out);
		jv_free(out);
		is_int(rc, VC_EUSAGE, "a CLI-only parameter is unknown over HTTP");
		is_str(ctx.errmsg, "unknown field 'map' for threat.rules.list", "... and named");
		ctx.front = VC_FRONT_CLI;
	}

	/* OpenAPI covers every HTTP operation. */
	{
		jv doc = vc_openapi(), paths = jv_object_get(jv_copy(doc), jv_string("paths"));
		int all = 1;
		for (const struct vc_op *op = vc_ops; op->name; op++) {
			jv p;
			if (op->path == NULL)
				continue;
			p = jv_object_get(jv_copy(paths), jv_string(op->path));
			if (!jv_is_valid(p) || jv_get_kind(p) != JV_KIND_OBJECT)
				all = 0;
			jv_free(p);
		}
		ok(all, "openapi.json has every route");
		jv_free(paths);
		jv_free(doc);
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
