/* SPDX-License-Identifier: MIT */
/* t_anchor.c - audit anchors: the line, the notice hook, the file, and
 * audit verify --anchors against a chain cut short, altered or intact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/audit.h"
#include "core/store.h"
#include "ops/ops.h"
#include "tap.h"

static char seen[4096];         /* the lines the notice hook got */

static void
notice(vc_ctx *ctx, const char *line, void *arg)
{
	size_t n = strlen(seen);

	(void)ctx, (void)arg;
	snprintf(seen + n, sizeof seen - n, "%s\n", line);
}

static void
as_superadmin(vc_ctx *ctx)
{
	memset(&ctx->who, 0, sizeof ctx->who);
	ctx->who.actor = VC_ACTOR_USER;
	ctx->who.role = VC_ROLE_SUPERADMIN;
	snprintf(ctx->who.username, sizeof ctx->who.username, "root");
}

/* n audit records in tenant's chain (NULL: the platform's). */
static void
write_records(vc_ctx *ctx, const char *tenant, int n)
{
	for (int i = 0; i < n; i++) {
		vc_tx_begin(ctx);
		vc_audit(ctx, tenant, "test.event", "thing", "x", "success", NULL, jv_invalid());
		vc_tx_commit(ctx);
	}
}

/* audit verify with anchors text: the return code, reason in why. */
static int
verify(vc_ctx *ctx, const char *anchors, char *why, size_t n)
{
	jv out = jv_invalid(), args = jv_object();
	int rc;

	args = jv_object_set(args, jv_string("anchors"), jv_string(anchors));
	rc = vc_op_call(ctx, vc_op_by_name("audit.verify"), args, &out);
	snprintf(why, n, "%s", ctx->errmsg);
	jv_free(out);
	return rc;
}

int
main(void)
{
	char dir[] = "/tmp/vc-t-anchor.XXXXXX", db[256], file[256], cmd[300];
	char a[VC_ID_LEN + 1], b[VC_ID_LEN + 1], line[256], text[4096], why[512];
	vc_ctx ctx;
	jv out;
	struct stat st;
	int rc;

	/* The line itself. */
	is_int(vc_audit_anchor_line("T1", 42, "ab", 0, line, sizeof line), 0, "format a line");
	is_str(line, "audit-anchor tenant=T1 id=42 mac=ab time=1970-01-01T00:00:00Z",
	    "tenant, id, mac, time");
	vc_audit_anchor_line("", 1, "ab", 0, line, sizeof line);
	ok(strncmp(line, "audit-anchor tenant=- ", 22) == 0, "the platform chain is tenant=-");
	is_int(vc_audit_anchor_line("T1", 42, "ab", 0, line, 20), -1, "too small a buffer");

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(db, sizeof db, "%s/vc.db", dir);
	snprintf(file, sizeof file, "%s/anchors", dir);
	unsetenv("VC_KEY_FILE");
	unsetenv("VC_MASTER_KEY");
	vc_ctx_init(&ctx);
	ok(vc_store_open(&ctx, db, VC_STORE_CREATE) == 0, "store");
	vc_new_id(a);
	vc_new_id(b);
	vc_sql_exec(&ctx, "INSERT INTO tenants (id, name, created_at) VALUES (?1, 'alpha', 0),"
	    " (?2, 'beta', 0)", NULL, "ss", a, b);
	as_superadmin(&ctx);

	/* No records yet: nothing to anchor, and no file either. */
	rc = vc_audit_anchor(&ctx, file, &out);
	is_int(rc, 0, "anchor an empty log");
	is_int(jv_array_length(out), 0, "... no anchors");
	ok(stat(file, &st) != 0, "... and no file written");

	write_records(&ctx, a, 3);
	write_records(&ctx, b, 2);
	write_records(&ctx, NULL, 1);
	ctx.notice = notice;
	rc = vc_audit_anchor(&ctx, file, &out);
	is_int(rc, 0, "anchor: %s", ctx.errmsg);
	is_int(jv_array_length(jv_copy(out)), 3, "three chains, three anchors");
	jv_free(out);
	ok(tap_slurp(file, text, sizeof text) > 0 && strcmp(text, seen) == 0,
	    "the file holds exactly the lines the system log got");
	ok(stat(file, &st) == 0 && (st.st_mode & 07777) == 0600, "the file is 0600");
	ok(strstr(text, "tenant=- id=6 ") != NULL, "the platform chain's head is record 6");
	snprintf(line, sizeof line, "tenant=%s id=3 ", a);
	ok(strstr(text, line) != NULL, "alpha's head is record 3");
	snprintf(line, sizeof line, "tenant=%s id=5 ", b);
	ok(strstr(text, line) != NULL, "beta's head is record 5");

	is_int(verify(&ctx, text, why, sizeof why), 0, "intact: verify --anchors passes");
	write_records(&ctx, a, 2);
	is_int(verify(&ctx, text, why, sizeof why), 0, "records after the anchors: still passes");

	/* Cut alpha's chain back to record 2: what is left still chains. */
	vc_sql_exec(&ctx, "DROP TRIGGER audit_logs_no_delete", NULL, "");
	vc_sql_exec(&ctx, "DELETE FROM audit_logs WHERE chain = ?1 AND id > 2", NULL, "s", a);
	is_int(verify(&ctx, "no anchors here\n", why, sizeof why), VC_EUSAGE,
	    "text without anchors: usage error");
	rc = verify(&ctx, text, why, sizeof why);
	is_int(rc, VC_EINVAL, "a cut chain: verify --anchors fails");
	ok(strstr(why, "tenant alpha (") != NULL && strstr(why, "newest records were removed") &&
	    strstr(why, "ends at record 2, but record 3 was anchored"), "... naming it: %s", why);

	/* An admin of beta checks only beta's anchors. */
	ctx.who.role = VC_ROLE_ADMIN;
	snprintf(ctx.who.tenant_id, sizeof ctx.who.tenant_id, "%s", b);
	is_int(verify(&ctx, text, why, sizeof why), 0, "beta's admin: beta's anchors hold");
	as_superadmin(&ctx);

	/* A mac that differs from its anchor. */
	snprintf(line, sizeof line, "audit-anchor tenant=%s id=5 mac=%064d\n", b, 0);
	rc = verify(&ctx, line, why, sizeof why);
	is_int(rc, VC_EINVAL, "an anchor whose mac differs: fails");
	ok(strstr(why, "tenant beta (") != NULL && strstr(why, "record 5 differs from its anchor"),
	    "... naming it: %s", why);
	is_int(verify(&ctx, "audit-anchor tenant=x id=0 mac=00\n", why, sizeof why), VC_EUSAGE,
	    "a malformed anchor: usage error");

	/* An anchor file that cannot be written. */
	snprintf(line, sizeof line, "%s/nodir/anchors", dir);
	is_int(vc_audit_anchor(&ctx, line, &out), VC_ECONFIG, "an anchor file in no directory");
	ok(strstr(ctx.errmsg, "cannot open anchor file") != NULL, "... says so: %s", ctx.errmsg);

	vc_ctx_release(&ctx);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return done_testing();
}
