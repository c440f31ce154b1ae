/* SPDX-License-Identifier: MIT */
/*
 * t_kept.c - the statements a store keeps (vc_sql_cached, vc_sql_text)
 * are compiled once.  SQLite prepares a kept statement again when a
 * value bound to it might change its plan (a LIKE or GLOB pattern given
 * as a bare parameter, in 3.40): harmless to the answer, but a host
 * search then compiled its count and its page anew on every request.
 * Host searches of each plan (a common text walked by LIKE, a rare one
 * through the trigram index, fqdn, os, label), run several times with
 * other values, must leave every kept statement at zero re-preparations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"
#include "core/store.h"
#include "json/jsonl.h"
#include "tap.h"

static int
list(vc_ctx *ctx, const char *json)
{
	const struct vc_op *op = vc_op_by_name("hosts.list");
	jv out, args = jv_parse(json);
	int rc;

	rc = vc_op_call(ctx, op, args, &out);
	jv_free(out);
	return rc;
}

int
main(void)
{
	char dir[] = "/tmp/vc-t-kept.XXXXXX", db[256], path[256], tenant[VC_ID_LEN + 1];
	static const char *const searches[] = {
		"{\"hostname\": \"fin\", \"os\": \"windows\", \"sort\": \"hostname\", \"limit\": 50}",
		"{\"hostname\": \"fin-00\", \"sort\": \"hostname\", \"limit\": 20}",
		"{\"hostname\": \"qzx\", \"sort\": \"last_seen\", \"order\": \"desc\"}",
		"{\"hostname\": \"qzx-1\"}",
		"{\"fqdn\": \"emea\", \"limit\": 10}",
		"{\"fqdn\": \"apac\", \"limit\": 10}",
		"{\"hostname\": \"fi\", \"label\": \"prod\"}",
		"{\"hostname\": \"qz\", \"label\": \"dev\"}",
	};
	struct vc_jsonl in;
	struct vc_store *st;
	vc_ctx ctx;
	jv out;
	FILE *f;
	int rc, kept = 0, again = 0, runs = 0;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(db, sizeof db, "%s/vc.db", dir);
	snprintf(path, sizeof path, "%s/hosts.jsonl", dir);
	unsetenv("VC_KEY_FILE");
	vc_ctx_init(&ctx);
	rc = vc_store_open(&ctx, db, VC_STORE_CREATE);
	is_int(rc, 0, "store opens: %s", ctx.errmsg);
	if (rc != 0)
		return done_testing();
	vc_new_id(tenant);
	is_int(vc_sql_exec(&ctx, "INSERT INTO tenants (id, name, created_at) VALUES (?1, 't', 0)",
	    NULL, "s", tenant), 0, "tenant row");
	ctx.who.role = VC_ROLE_ADMIN;
	ctx.who.actor = VC_ACTOR_USER;
	snprintf(ctx.who.tenant_id, sizeof ctx.who.tenant_id, "%s", tenant);
	snprintf(ctx.who.username, sizeof ctx.who.username, "admin");
	vc_new_id(ctx.who.user_id);

	/* 2600 hosts named fin-*: "fin" is common (a walk); 40 qzx-*: rare
	 * (the trigram index). */
	if ((f = fopen(path, "w")) == NULL)
		return 1;
	for (int i = 0; i < 2640; i++)
		fprintf(f, "{\"client_id\": \"C.%04d\", \"hostname\": \"%s-%04d\", \"fqdn\": \"h%d.%s.example\","
		    " \"os\": \"%s\", \"labels\": [\"%s\"]}\n", i, i < 2600 ? "fin" : "qzx", i, i,
		    i % 2 ? "emea" : "apac", i % 3 ? "windows" : "linux", i % 5 ? "prod" : "dev");
	fclose(f);
	memset(&in, 0, sizeof in);
	in.f = fopen(path, "r");
	in.name = path;
	in.max = 1 << 20;
	ctx.in = &in;
	rc = vc_op_call(&ctx, vc_op_by_name("hosts.import"), jv_object(), &out);
	jv_free(out);
	is_int(rc, 0, "hosts imported: %s", ctx.errmsg);
	ctx.in = NULL;
	fclose(in.f);
	vc_jsonl_release(&in);

	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof searches / sizeof searches[0]; i++) {
			rc = list(&ctx, searches[i]);
			if (rc != 0)
				is_int(rc, 0, "%s: %s", searches[i], ctx.errmsg);
		}
	ok(1, "%zu searches run three times each", sizeof searches / sizeof searches[0]);

	st = ctx.store;
	for (int i = 0; i < VC_SQL_TEXT; i++) {
		sqlite3_stmt *s = st->text[i].st != NULL ? st->text[i].st->lite : NULL;
		if (s == NULL)
			continue;
		kept++;
		runs += sqlite3_stmt_status(s, SQLITE_STMTSTATUS_RUN, 0);
		if (sqlite3_stmt_status(s, SQLITE_STMTSTATUS_REPREPARE, 0) > 0) {
			again++;
			printf("# prepared again: %s\n", sqlite3_sql(s));
		}
	}
	for (int i = 0; i < VC_SQL_CACHE; i++) {
		sqlite3_stmt *s = st->cache[i].st != NULL ? st->cache[i].st->lite : NULL;
		if (s == NULL)
			continue;
		kept++;
		if (sqlite3_stmt_status(s, SQLITE_STMTSTATUS_REPREPARE, 0) > 0) {
			again++;
			printf("# prepared again: %s\n", sqlite3_sql(s));
		}
	}
	ok(kept >= 8 && runs >= 24, "the searches' statements were kept and run again (%d kept, %d runs)",
	    kept, runs);
	is_int(again, 0, "no kept statement was compiled again");

	vc_ctx_release(&ctx);
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	(void)!system(path);
	return done_testing();
}
