/* SPDX-License-Identifier: MIT */
/*
 * jobs.c - reports asked for over HTTP.  POST /api/reports/generate
 * checks the request (the template exists, the case or host is the
 * caller's tenant's), stores it as pending and answers 202 at once;
 * vc-serve's report thread (vc_report_work) claims it in a short
 * transaction, renders it as the user who asked, with their role as it
 * is then, holding no transaction while it renders, and records done
 * with the hash and size, or failed with the reason.  The file lives in
 * the report directory; a report, its row and its file go after the
 * tenant's report_retention_days.
 *
 * Who sees a report: its requester, and the tenant's admins: a report
 * holds what its requester may read (an admin's case summary holds the
 * audit trail), so a viewer may not read an admin's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/audit.h"
#include "core/events.h"
#include "core/records.h"
#include "core/store.h"
#include "report/report.h"

#define CLAIM_S 900             /* a claim lapses after this: the renderer died */
/*
 * On PostgreSQL a renderer also holds a session lock on its report's id
 * (pg_advisory_lock(CLAIM_LOCK, hashtext(id)), taken in the claim's
 * transaction) until it recorded the end: a renderer that dies, whatever
 * kills it, loses its connection and the lock with it, and its report
 * is claimed again at once instead of after CLAIM_S.  Two ids of one
 * hash only make a dead renderer's report wait for CLAIM_S.
 */
#define CLAIM_LOCK "7401"

static const struct { const char *fmt, *ext, *ctype; } types[] = {
	{ "html", "html", "text/html; charset=utf-8" },
	{ "pdf", "pdf", "application/pdf" },
	{ "xlsx", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
	{ "csv", "csv", "text/csv; charset=utf-8" },
	{ "json", "json", "application/json" },
};

static int
type_of(const char *fmt)
{
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(types[i].fmt, fmt) == 0)
			return (int)i;
	return -1;
}

/* The report directory: $VC_REPORT_DIR, else "reports" beside the store
 * (vc_store_beside: for PostgreSQL, the default SQLite store's folder). */
static int
report_dir(vc_ctx *ctx, char *buf, size_t n)
{
	const char *env = getenv("VC_REPORT_DIR");
	int rc;

	if (env != NULL && *env == '/')
		snprintf(buf, n, "%s", env);
	else if ((rc = vc_store_beside(ctx, "reports", buf, n)) != 0)
		return rc;
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return vc_fail(ctx, VC_ECONFIG, "%s: %s", buf, strerror(errno));
	return 0;
}

#define COLS "id, template, format, state, reason, sha256, size, requested_by_name AS requested_by," \
	" created_at, started_at, finished_at, request AS request_json"

/* The caller may see reports of others: admins. */
static int
sees_all(vc_ctx *ctx)
{
	return ctx->who.role >= VC_ROLE_ADMIN;
}

int
vc_op_report_request(vc_ctx *ctx, jv args, jv *out)
{
	const char *fmt = vc_arg_str(args, "format") ? vc_arg_str(args, "format") : "html";
	char id[VC_ID_LEN + 1], rid[VC_ID_LEN + 1];
	jv req, m;
	int rc;

	if (type_of(fmt) < 0)
		return vc_fail(ctx, VC_EUSAGE, "format: html, pdf, xlsx, csv or json");
	/* Checked now, so that a bad request fails now: the template and
	 * what it is about, in the caller's tenant. */
	if ((rc = vc_report_describe(ctx, vc_arg_str(args, "template"), &m)) != 0)
		return rc;
	if ((rc = vc_report_check_args(ctx, m, args)) != 0) {
		jv_free(m);
		return rc;
	}
	req = JV_OBJECT(jv_string("template"), jv_string(vc_arg_str(args, "template")),
	    jv_string("format"), jv_string(fmt));
	if (vc_arg_has(args, "case")) {
		if ((rc = vc_case_resolve(ctx, vc_arg_str(args, "case"), id)) != 0)
			goto fail;
		req = jv_object_set(req, jv_string("case"), jv_string(id));
	}
	if (vc_arg_has(args, "host")) {
		if ((rc = vc_host_resolve(ctx, vc_arg_str(args, "host"), id)) != 0)
			goto fail;
		req = jv_object_set(req, jv_string("host"), jv_string(id));
	}
	{
		int64_t until = vc_arg_int(args, "until", vc_now(ctx) + 1);
		int64_t since = vc_arg_int(args, "since", until - 7 * 86400);
		req = jv_object_set(req, jv_string("since"), jv_number((double)since));
		req = jv_object_set(req, jv_string("until"), jv_number((double)until));
	}
	if (vc_arg_has(args, "marking"))
		req = jv_object_set(req, jv_string("marking"), jv_string(vc_arg_str(args, "marking")));
	/* One file a report: CSV is one table, the first unless named. */
	if (strcmp(fmt, "csv") == 0) {
		jv ts = jv_object_get(jv_copy(m), jv_string("tables"));
		jv t = jv_get_kind(ts) == JV_KIND_ARRAY && jv_array_length(jv_copy(ts)) > 0 ?
		    jv_array_get(jv_copy(ts), 0) : jv_null();
		jv_free(ts);
		const char *name = vc_arg_str(args, "table") ? vc_arg_str(args, "table") : vc_arg_str(t, "name");
		if (name == NULL) {
			jv_free(t);
			rc = vc_fail(ctx, VC_EUSAGE, "template %s has no table", vc_arg_str(args, "template"));
			goto fail;
		}
		req = jv_object_set(req, jv_string("table"), jv_string(name));
		jv_free(t);
	}
	vc_new_id(rid);
	{
		jv text = jv_dump_string(jv_copy(req), JV_PRINT_SORTED);
		rc = vc_sql_exec(ctx, "INSERT INTO reports (id, tenant_id, template, format, request, requested_by,"
		    " requested_by_name, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", NULL, "sssssssi",
		    rid, ctx->who.tenant_id, vc_arg_str(args, "template"), fmt, jv_string_value(text),
		    ctx->who.user_id, ctx->who.username, vc_now(ctx));
		jv_free(text);
	}
	if (rc == 0) {
		vc_audit_target(ctx, "report", rid);
		*out = JV_OBJECT(jv_string("id"), jv_string(rid), jv_string("state"), jv_string("pending"),
		    jv_string("template"), jv_string(vc_arg_str(args, "template")), jv_string("format"),
		    jv_string(fmt), jv_string("request"), jv_copy(req));
	}
fail:
	jv_free(req);
	jv_free(m);
	return rc;
}

int
vc_op_report_list(vc_ctx *ctx, jv args, jv *out)
{
	*out = vc_sql_rows(ctx, vc_sql(ctx, "SELECT " COLS " FROM reports WHERE tenant_id = ?1"
	    " AND (?2 OR requested_by = ?3) ORDER BY created_at DESC, id LIMIT ?4", "sisi", ctx->who.tenant_id, (int64_t)sees_all(ctx),
	    ctx->who.user_id, vc_arg_int(args, "limit", 100)));
	return jv_is_valid(*out) ? 0 : ctx->err;
}

/* One report the caller may see, as a row (and its file in *file). */
static int
one(vc_ctx *ctx, const char *id, jv *out, char *file, size_t fn)
{
	vc_stmt *q;
	int rc;

	if (id == NULL || !vc_is_id(id))
		return vc_fail(ctx, VC_ENOTFOUND, "no such report");
	if ((q = vc_sql(ctx, "SELECT " COLS ", file AS path FROM reports WHERE tenant_id = ?1 AND id = ?2"
	    " AND (?3 OR requested_by = ?4)", "ssis", ctx->who.tenant_id, id, (int64_t)sees_all(ctx), ctx->who.user_id)) == NULL)
		return ctx->err;
	if ((rc = vc_sql_one(ctx, q, "report", out)) != 0) {
		/* Another tenant's, or another user's: the same answer, audited. */
		/* unscoped: only to audit a reach for another's report */
		(void)vc_not_found(ctx, "report", "report", "SELECT 1 FROM reports WHERE id = ?1", id);
		return rc;
	}
	if (file) {
		const char *p = vc_arg_str(*out, "path");
		snprintf(file, fn, "%s", p ? p : "");
	}
	*out = jv_object_delete(*out, jv_string("path"));
	return 0;
}

int
vc_op_report_show(vc_ctx *ctx, jv args, jv *out)
{
	return one(ctx, vc_arg_str(args, "id"), out, NULL, 0);
}

/*
 * The file of a done report: over HTTP *out names it for the front door
 * to stream ({file, content_type, filename}); on the CLI it is copied to
 * --out.
 */
int
vc_op_report_download(vc_ctx *ctx, jv args, jv *out)
{
	char file[4200], name[200];
	const char *to = vc_arg_str(args, "out");
	jv r;
	int rc, t;

	if ((rc = one(ctx, vc_arg_str(args, "id"), &r, file, sizeof file)) != 0)
		return rc;
	if (strcmp(vc_arg_str(r, "state"), "done") != 0 || file[0] == '\0') {
		rc = vc_fail(ctx, VC_ECONFLICT, "report %s is %s%s%s", vc_arg_str(args, "id"),
		    vc_arg_str(r, "state"), vc_arg_str(r, "reason") ? ": " : "",
		    vc_arg_str(r, "reason") ? vc_arg_str(r, "reason") : "");
		jv_free(r);
		return rc;
	}
	t = type_of(vc_arg_str(r, "format"));
	snprintf(name, sizeof name, "%s-%.8s.%s", vc_arg_str(r, "template"), vc_arg_str(args, "id"),
	    t >= 0 ? types[t].ext : "bin");
	jv_free(r);
	if (t < 0)
		return vc_fail(ctx, VC_EINTERNAL, "report of an unknown format");
	if (to != NULL) {
		FILE *in = fopen(file, "rb"), *o;
		char buf[65536];
		size_t n;
		int bad = 0;
		if (in == NULL)
			return vc_fail(ctx, VC_ENOTFOUND, "the report's file is gone");
		if ((o = fopen(to, "wb")) == NULL) {
			fclose(in);
			return vc_fail(ctx, VC_EUSAGE, "%s: %s", to, strerror(errno));
		}
		while ((n = fread(buf, 1, sizeof buf, in)) > 0)
			bad |= fwrite(buf, 1, n, o) != n;
		fclose(in);
		if ((fclose(o) != 0) | bad)
			return vc_fail(ctx, VC_EINTERNAL, "%s: write failed", to);
		*out = JV_OBJECT(jv_string("id"), jv_string(vc_arg_str(args, "id")), jv_string("file"), jv_string(to));
		return 0;
	}
	if (access(file, R_OK) != 0)
		return vc_fail(ctx, VC_ENOTFOUND, "the report's file is gone");
	*out = JV_OBJECT(jv_string("file"), jv_string(file), jv_string("content_type"),
	    jv_string(types[t].ctype), jv_string("filename"), jv_string(name));
	return 0;
}

/* ---- the renderer (vc-serve's report thread) --------------------------- */

/* Remove reports past their tenant's retention, and their files. */
static void
purge(vc_ctx *ctx)
{
	/* unscoped: the renderer keeps every tenant's reports by its own setting */
	vc_stmt *q = vc_sql(ctx, "SELECT r.id, r.file FROM reports r JOIN tenants t ON t.id = r.tenant_id"
	    " WHERE r.state IN ('done', 'failed') AND r.created_at < ?1 - t.report_retention_days * 86400"
	    " LIMIT 500", "i", vc_now(ctx));
	jv ids = jv_array();

	if (q == NULL)
		return;
	while (vc_sql_step(ctx, q) == 1) {
		const char *f = (const char *)vc_col_text(q, 1);
		if (f != NULL)
			unlink(f);
		ids = jv_array_append(ids, jv_string((const char *)vc_col_text(q, 0)));
	}
	vc_stmt_done(q);
	jv_array_foreach(ids, i, id) {
		/* unscoped: the row just read by its id, any tenant */
		vc_sql_exec(ctx, "DELETE FROM reports WHERE id = ?1", NULL, "s", jv_string_value(id));
		jv_free(id);
	}
	jv_free(ids);
}

/*
 * The render's end, in one transaction: the report's row, its audit
 * record in the tenant's chain (as the requester, or the system when
 * the requester is gone) and a report.done or report.failed event, so
 * that a rule or a channel can tell someone.
 */
static void
finish(vc_ctx *ctx, const char *tenant, const char *id, const char *state, const char *reason,
    const char *sha, int64_t size, const char *file)
{
	char reason_copy[512];
	int done = strcmp(state, "done") == 0;
	jv body;

	/* reason may be ctx->errmsg, which the calls below may write. */
	snprintf(reason_copy, sizeof reason_copy, "%s", reason ? reason : "");
	ctx->err = 0;
	ctx->errmsg[0] = '\0';
	if (ctx->store->in_tx)
		vc_tx_rollback(ctx);    /* a render that failed inside its own */
	/* Another instance appending to the same audit chain may make this
	 * one give way (PostgreSQL): the record is written again.  Should
	 * every attempt fail, the claim lapses and the report is rendered
	 * again. */
	for (int attempt = 1; ; attempt++) {
		/* unscoped: the renderer's own claimed row, by its id */
		if (vc_tx_begin(ctx) == 0 && vc_sql_exec(ctx, "UPDATE reports SET state = ?2, reason = ?3,"
		    " sha256 = ?4, size = NULLIF(?5, -1), file = ?6, finished_at = ?7, claimed_until = NULL"
		    " WHERE id = ?1", NULL, "ssssisi", id, state, done ? NULL : reason_copy, sha, size, file,
		    vc_now(ctx)) == 0 &&
		    vc_audit(ctx, tenant, "reports.render", "report", id, done ? "success" : "failure",
		    done ? NULL : reason_copy, jv_invalid()) == 0) {
			body = JV_OBJECT(jv_string("report_id"), jv_string(id), jv_string("state"),
			    jv_string(state), jv_string("subject"), jv_string_fmt("report %s %s", id,
			    done ? "done" : "failed"));
			if (!done)
				body = jv_object_set(body, jv_string("reason"), jv_string(reason_copy));
			else if (sha != NULL)
				body = jv_object_set(body, jv_string("sha256"), jv_string(sha));
			if (vc_event_emit_in(ctx, tenant, done ? "report.done" : "report.failed", body,
			    NULL) == 0 && vc_tx_commit(ctx) == 0)
				return;
		}
		vc_tx_rollback(ctx);
		if (!vc_tx_again(ctx, attempt))
			return;
	}
}

/*
 * Render the oldest pending report, if any: 1 when one was rendered
 * (done or failed), 0 when none waits, or a VC_E code when the store
 * failed.  ctx is the thread's own; its principal is set for each
 * report to the user who asked for it.
 */
static int render(vc_ctx *ctx, const char *id, const char *tenant, const char *user,
    const char *fmt, jv req);

int
vc_report_work(vc_ctx *ctx)
{
	char id[VC_ID_LEN + 1] = "", tenant[VC_ID_LEN + 1] = "", user[VC_ID_LEN + 1] = "";
	char fmt[16] = "";
	jv req = jv_invalid();
	vc_stmt *q;
	int rc;

	ctx->who.actor = VC_ACTOR_SYSTEM;
	/* Several vc-serve instances on one PostgreSQL store take reports
	 * side by side: each passes over the row another is taking. */
	if ((rc = vc_tx_begin_claim(ctx)) != 0)
		return rc;
	purge(ctx);
	/* unscoped: the renderer serves every tenant, each report as its requester */
	q = vc_sql(ctx, "UPDATE reports SET state = 'running', started_at = ?1, claimed_until = ?1 + ?2"
	    " WHERE id = (SELECT id FROM reports WHERE state = 'pending' OR (state = 'running'"
	    " AND (claimed_until < ?1" VC_SQL2("", " OR pg_try_advisory_xact_lock(" CLAIM_LOCK
	    ", hashtext(id))") ")) ORDER BY created_at, id LIMIT 1" VC_SQL2("", " FOR UPDATE SKIP LOCKED") ")"
	    " RETURNING id, tenant_id, requested_by, format, request", "ii", vc_now(ctx), (int64_t)CLAIM_S);
	if (q != NULL && vc_sql_step(ctx, q) == 1) {
		snprintf(id, sizeof id, "%s", (const char *)vc_col_text(q, 0));
		snprintf(tenant, sizeof tenant, "%s", (const char *)vc_col_text(q, 1));
		snprintf(user, sizeof user, "%s", (const char *)vc_col_text(q, 2));
		snprintf(fmt, sizeof fmt, "%s", (const char *)vc_col_text(q, 3));
		req = jv_parse((const char *)vc_col_text(q, 4));
	}
	vc_stmt_done(q);
	/* unscoped: the lock of the report just claimed, by its id */
	if (ctx->err == 0 && id[0] != '\0')
		(void)vc_sql_exec(ctx, VC_SQL2("SELECT ?1", "SELECT pg_try_advisory_lock(" CLAIM_LOCK
		    ", hashtext(?1))"), NULL, "s", id);
	if (ctx->err != 0 || (rc = vc_tx_commit(ctx)) != 0) {
		rc = ctx->err;
		vc_tx_rollback(ctx);
		jv_free(req);
		return rc;
	}
	if (id[0] == '\0') {
		jv_free(req);
		return 0;
	}
	rc = render(ctx, id, tenant, user, fmt, req);
	/* unscoped: the lock of the report rendered, by its id */
	(void)vc_sql_exec(ctx, VC_SQL2("SELECT ?1", "SELECT pg_advisory_unlock(" CLAIM_LOCK
	    ", hashtext(?1))"), NULL, "s", id);
	return rc;
}

/* Render the report claimed, as its requester, and record its end: 1. */
static int
render(vc_ctx *ctx, const char *id, const char *tenant, const char *user, const char *fmt, jv req)
{
	char dir[4096], path[4300];
	jv args, out = jv_invalid();
	vc_stmt *q;
	int rc, t;

	/* As the requester is now: a disabled or demoted user gets no more. */
	q = vc_sql(ctx, "SELECT role, username FROM users WHERE tenant_id = ?1 AND id = ?2 AND disabled = 0",
	    "ss", tenant, user);
	if (q != NULL && vc_sql_step(ctx, q) == 1) {
		int role = vc_role_parse((const char *)vc_col_text(q, 0));
		ctx->who.actor = VC_ACTOR_USER;
		ctx->who.role = role < 0 ? VC_ROLE_ANON : role;
		snprintf(ctx->who.username, sizeof ctx->who.username, "%s", (const char *)vc_col_text(q, 1));
		snprintf(ctx->who.user_id, sizeof ctx->who.user_id, "%s", user);
		snprintf(ctx->who.tenant_id, sizeof ctx->who.tenant_id, "%s", tenant);
	}
	vc_stmt_done(q);
	t = type_of(fmt);
	if (ctx->who.actor != VC_ACTOR_USER || t < 0 || !jv_is_valid(req)) {
		finish(ctx, tenant, id, "failed", ctx->who.actor != VC_ACTOR_USER ? "the requester's account is disabled or gone" :
		    "a request this version cannot read", NULL, -1, NULL);
		jv_free(req);
		return 1;
	}
	if ((rc = report_dir(ctx, dir, sizeof dir)) != 0) {
		finish(ctx, tenant, id, "failed", ctx->errmsg, NULL, -1, NULL);
		jv_free(req);
		return 1;
	}
	snprintf(path, sizeof path, "%s/%s.%s", dir, id, types[t].ext);
	args = jv_object_set(jv_copy(req), jv_string("out"), jv_string(path));
	/* A CSV is recorded under the name it is downloaded as (verify). */
	args = jv_object_set(args, jv_string("report_id"), jv_string(id));
	args = jv_object_set(args, jv_string("filename"), jv_string_fmt("%s-%.8s.%s",
	    vc_arg_str(req, "template") ? vc_arg_str(req, "template") : "", id, types[t].ext));
	rc = vc_op_report_generate(ctx, args, &out);
	jv_free(args);
	if (rc == 0) {
		struct stat sb;
		finish(ctx, tenant, id, "done", NULL, vc_arg_str(out, "sha256"), stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0,
		    path);
	} else {
		unlink(path);
		finish(ctx, tenant, id, "failed", ctx->errmsg, NULL, -1, NULL);
	}
	jv_free(out);
	jv_free(req);
	return 1;
}

int
vc_op_report_retention(vc_ctx *ctx, jv args, jv *out)
{
	int64_t days = vc_arg_int(args, "days", -1);
	int rc;

	if (days != -1) {
		if (days < 1 || days > 3650)
			return vc_fail(ctx, VC_EUSAGE, "days: 1 to 3650");
		if ((rc = vc_sql_exec(ctx, "UPDATE tenants SET report_retention_days = ?2 WHERE id = ?1", NULL, "si",
		    ctx->who.tenant_id, days)) != 0)
			return rc;
		vc_audit_target(ctx, "tenant", ctx->who.tenant_id);
	}
	*out = JV_OBJECT(jv_string("report_retention_days"), jv_number((double)vc_sql_int(ctx,
	    vc_sql(ctx, "SELECT report_retention_days FROM tenants WHERE id = ?1", "s", ctx->who.tenant_id))));
	return 0;
}
