/* SPDX-License-Identifier: MIT */
/*
 * sources.c - the data a report template may ask for, each read from
 * the store for the caller's tenant (every query binds it), with the
 * least role that may read it.  The tools' own operations serve where
 * one answers the question (a case, a host); the tenant-wide figures of
 * a period are aggregates SQLite computes, so that a report over
 * 100,000 hosts and a million scores never holds them all.
 */
#include <stdio.h>
#include <string.h>

#include "cases.h"
#include "hosts.h"
#include "core/records.h"
#include "core/store.h"
#include "report/report.h"

/* Seconds since the epoch (col) as an ISO 8601 time in UTC. */
#define T(col) VC_SQL2("strftime('%Y-%m-%dT%H:%M:%SZ', " col ", 'unixepoch')", \
	"to_char(to_timestamp(" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
/* The newest score of host h (a column expression). */
#define LATEST(col) "(SELECT " col " FROM threat_scores s WHERE s.tenant_id = h.tenant_id" \
	" AND s.subject_type = 'host' AND s.subject_id = h.id ORDER BY s.created_at DESC, s.id DESC LIMIT 1)"

static int
rows(vc_ctx *ctx, vc_stmt *q, jv *out)
{
	*out = vc_sql_rows(ctx, q);
	return jv_is_valid(*out) ? 0 : ctx->err;
}

/* ---- a case ------------------------------------------------------------ */

/* A record as its tool's show operation gives it. */
static int
shown(vc_ctx *ctx, int (*show)(vc_ctx *, jv, jv *), const char *id, jv *out)
{
	jv args = JV_OBJECT(jv_string("id"), jv_string(id));
	int rc = show(ctx, args, out);

	jv_free(args);
	return rc;
}

static int
src_case(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return shown(ctx, vc_op_cases_show, in->case_id, out);
}

static int
src_case_timeline(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT kind, author, body, " T("created_at") " AS at FROM case_notes"
	    " WHERE tenant_id = ?1 AND case_id = ?2 ORDER BY id LIMIT 5000", "ss",
	    ctx->who.tenant_id, in->case_id), out);
}

static int
src_case_hosts(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT h.id, h.hostname, h.fqdn, h.ip, h.os, h.client_id,"
	    " " T("NULLIF(h.last_seen_at, 0)") " AS last_seen, " LATEST("s.score_milli / 1000.0") " AS score,"
	    " " LATEST("s.classification") " AS classification, " LATEST("s.indicators") " AS indicators_json"
	    " FROM case_links l JOIN hosts h ON h.tenant_id = l.tenant_id AND h.id = l.target_id"
	    " WHERE l.tenant_id = ?1 AND l.case_id = ?2 AND l.kind = 'host' ORDER BY h.hostname LIMIT 1000",
	    "ss", ctx->who.tenant_id, in->case_id), out);
}

static int
src_case_artifacts(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT a.id, a.name, a.state, a.row_count, a.source, h.hostname,"
	    " " T("a.created_at") " AS created FROM artifacts a LEFT JOIN hosts h"
	    " ON h.tenant_id = a.tenant_id AND h.id = a.host_id WHERE a.tenant_id = ?1 AND (a.case_id = ?2"
	    " OR a.id IN (SELECT target_id FROM case_links WHERE tenant_id = ?1 AND case_id = ?2"
	    " AND kind = 'artifact')) ORDER BY a.created_at, a.id LIMIT 1000", "ss",
	    ctx->who.tenant_id, in->case_id), out);
}

/* What was done to the case, from the audit log (playbooks and people). */
static int
src_case_actions(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT action, actor_type, actor_name, outcome,"
	    " " T("ts_ms / 1000") " AS at FROM audit_logs"
	    " WHERE tenant_id = ?1 AND target_id = ?2 ORDER BY id LIMIT 1000", "ss",
	    ctx->who.tenant_id, in->case_id), out);
}

/* ---- a host ------------------------------------------------------------ */

static int
src_host(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return shown(ctx, vc_op_hosts_show, in->host_id, out);
}

static int
src_host_scores(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT score_milli / 1000.0 AS score, confidence_milli / 1000.0"
	    " AS confidence, classification, rows_scored, rows_flagged, model_version, " T("created_at")
	    " AS at, indicators AS indicators_json FROM threat_scores WHERE tenant_id = ?1"
	    " AND subject_type = 'host' AND subject_id = ?2 ORDER BY created_at DESC, id DESC LIMIT 200",
	    "ss", ctx->who.tenant_id, in->host_id), out);
}

static int
src_host_artifacts(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT id, name, state, row_count, source, flow_id, hunt_id,"
	    " " T("created_at") " AS created FROM artifacts WHERE tenant_id = ?1 AND host_id = ?2"
	    " ORDER BY created_at, id LIMIT 1000", "ss", ctx->who.tenant_id, in->host_id), out);
}

static int
src_host_cases(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT c.id, c.title, c.status, c.severity, " T("c.created_at")
	    " AS created FROM case_links l JOIN cases c ON c.tenant_id = l.tenant_id AND c.id = l.case_id"
	    " WHERE l.tenant_id = ?1 AND l.kind = 'host' AND l.target_id = ?2 ORDER BY c.created_at"
	    " LIMIT 1000", "ss", ctx->who.tenant_id, in->host_id), out);
}

/* Process names seen on this host and on at most two hosts of the tenant. */
static int
src_host_rare(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, VC_SQL2("", "SELECT * FROM (") "SELECT name, rows,"
	    " (SELECT COUNT(DISTINCT x.host_id) FROM"
	    " artifact_rows x WHERE x.tenant_id = ?1 AND x.stack_name = r.name AND x.stack_typed = 1) AS hosts"
	    " FROM (SELECT stack_name AS name, COUNT(*) AS rows FROM artifact_rows WHERE tenant_id = ?1"
	    " AND host_id = ?2 AND stack_typed = 1 AND stack_name IS NOT NULL GROUP BY stack_name) r"
	    VC_SQL2("", ") AS rare") " WHERE hosts <= 2 ORDER BY hosts, name LIMIT 100", "ss", ctx->who.tenant_id, in->host_id), out);
}

/* ---- a period of the tenant ---------------------------------------------- */

/* The newest score in the period of each host, counted by class. */
static int
src_score_distribution(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT classification, COUNT(*) AS hosts FROM (SELECT "
	    VC_SQL2("subject_id, classification, MAX(created_at)",
	    "DISTINCT ON (subject_id) subject_id, classification") " FROM threat_scores"
	    " WHERE tenant_id = ?1 AND subject_type = 'host' AND created_at >= ?2 AND created_at < ?3 "
	    VC_SQL2("GROUP BY subject_id", "ORDER BY subject_id, created_at DESC, id DESC")
	    ") GROUP BY classification" VC_SQL2("", " ORDER BY classification"),
	    "sii", ctx->who.tenant_id, in->since, in->until), out);
}

/* Scores made each day of the period, by class. */
static int
src_scores_daily(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT " VC_SQL2("date(created_at / 86400 * 86400, 'unixepoch')",
	    "to_char(to_timestamp(created_at / 86400 * 86400) AT TIME ZONE 'UTC', 'YYYY-MM-DD')") " AS day,"
	    " classification, COUNT(*) AS scores FROM threat_scores WHERE tenant_id = ?1"
	    " AND created_at >= ?2 AND created_at < ?3 GROUP BY created_at / 86400, classification"
	    " ORDER BY day, classification", "sii", ctx->who.tenant_id, in->since, in->until), out);
}

static int
src_top_hosts(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT h.id, h.hostname, h.os, t.score, t.classification, t.scores"
	    " FROM (SELECT subject_id, MAX(score_milli) / 1000.0 AS score, "
	    VC_SQL2("classification", "(array_agg(classification ORDER BY score_milli DESC))[1] AS classification")
	    ", COUNT(*) AS scores"
	    " FROM threat_scores WHERE tenant_id = ?1 AND subject_type = 'host' AND created_at >= ?2"
	    " AND created_at < ?3 GROUP BY subject_id ORDER BY MAX(score_milli) DESC, subject_id LIMIT 20) t"
	    " JOIN hosts h ON h.tenant_id = ?1 AND h.id = t.subject_id ORDER BY t.score DESC, h.hostname",
	    "sii", ctx->who.tenant_id, in->since, in->until), out);
}

/*
 * The indicators of each host's newest score in the period, counted by
 * kind and id: how many hosts have each.  Hosts' scores share their
 * indicator lists (one rule set), so the lists are grouped first and
 * each distinct one is parsed once, not once a score.
 */
static int
src_top_indicators(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, VC_SQL2("SELECT json_extract(j.value, '$.kind') AS kind,"
	    " json_extract(j.value, '$.id') AS id, MIN(json_extract(j.value, '$.title')) AS title,"
	    " MIN(json_extract(j.value, '$.tags')) AS tags_json",
	    "SELECT j->>'kind' AS kind, j->>'id' AS id, MIN(j->>'title') AS title,"
	    " MIN((j->'tags')::text) AS tags_json") ", SUM(g.n) AS hosts"
	    " FROM (SELECT indicators, COUNT(*) AS n FROM (SELECT "
	    VC_SQL2("subject_id, indicators, MAX(created_at)", "DISTINCT ON (subject_id) subject_id, indicators")
	    " FROM threat_scores WHERE tenant_id = ?1 AND subject_type = 'host' AND created_at >= ?2"
	    " AND created_at < ?3 " VC_SQL2("GROUP BY subject_id", "ORDER BY subject_id, created_at DESC, id DESC")
	    ") GROUP BY indicators) g, " VC_SQL2("json_each(g.indicators)", "jsonb_array_elements(g.indicators::jsonb)")
	    " j GROUP BY 1, 2 ORDER BY hosts DESC, 2 LIMIT 100", "sii", ctx->who.tenant_id, in->since,
	    in->until), out);
}

static int
src_new_hosts(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT id, hostname, os, ip, " T("first_seen_at") " AS first_seen"
	    " FROM hosts WHERE tenant_id = ?1 AND first_seen_at >= ?2 AND first_seen_at < ?3"
	    " ORDER BY first_seen_at, id LIMIT 1000", "sii", ctx->who.tenant_id, in->since, in->until), out);
}

static int
src_host_count(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT COUNT(*) AS hosts, COUNT(*) FILTER (WHERE first_seen_at >= ?2"
	    " AND first_seen_at < ?3) AS new_hosts FROM hosts WHERE tenant_id = ?1", "sii",
	    ctx->who.tenant_id, in->since, in->until), out);
}

static int
src_cases_period(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT id, title, status, severity, " T("created_at") " AS opened,"
	    " " T("closed_at") " AS closed, CASE WHEN closed_at IS NOT NULL THEN"
	    " round((closed_at - created_at) / 3600.0, 1) END AS hours_to_close FROM cases"
	    " WHERE tenant_id = ?1 AND ((created_at >= ?2 AND created_at < ?3)"
	    " OR (closed_at >= ?2 AND closed_at < ?3)) ORDER BY created_at, id LIMIT 5000", "sii",
	    ctx->who.tenant_id, in->since, in->until), out);
}

/* Hunts of the period: those started here (vc-hunt create) and those
 * whose results were stored, with their artifacts and rows. */
static int
src_hunts(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT hunt_id, " T("MIN(at)") " AS started, SUM(arts) AS artifacts,"
	    " SUM(nrows) AS rows FROM (SELECT hunt_id, created_at AS at, 0 AS arts, 0 AS nrows FROM hunt_requests"
	    " WHERE tenant_id = ?1 AND hunt_id <> '' AND created_at >= ?2 AND created_at < ?3 UNION ALL SELECT hunt_id,"
	    " created_at, 1, row_count FROM artifacts WHERE tenant_id = ?1 AND hunt_id IS NOT NULL"
	    " AND created_at >= ?2 AND created_at < ?3) GROUP BY hunt_id ORDER BY MIN(at) LIMIT 1000", "sii",
	    ctx->who.tenant_id, in->since, in->until), out);
}

static int
src_iocs(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT type, severity, COUNT(*) AS iocs FROM iocs WHERE tenant_id = ?1"
	    " GROUP BY type, severity ORDER BY type, severity", "s", ctx->who.tenant_id), out);
}

/* Who did what in the period: the tenant's audit log, for admins. */
static int
src_audit(vc_ctx *ctx, const struct vc_report_in *in, jv *out)
{
	return rows(ctx, vc_sql(ctx, "SELECT action, actor_name, outcome, target_type, target_id,"
	    " " T("ts_ms / 1000") " AS at FROM audit_logs"
	    " WHERE tenant_id = ?1 AND ts_ms >= ?2 * 1000 AND ts_ms < ?3 * 1000 ORDER BY id LIMIT 5000",
	    "sii", ctx->who.tenant_id, in->since, in->until), out);
}

/* needs: 'c' a case, 'h' a host, 'p' a period (always given). */
const struct vc_report_source vc_report_sources[] = {
	{ "case", 'c', VC_ROLE_VIEWER, src_case },
	{ "case_timeline", 'c', VC_ROLE_VIEWER, src_case_timeline },
	{ "case_hosts", 'c', VC_ROLE_VIEWER, src_case_hosts },
	{ "case_artifacts", 'c', VC_ROLE_VIEWER, src_case_artifacts },
	{ "case_actions", 'c', VC_ROLE_ADMIN, src_case_actions },
	{ "host", 'h', VC_ROLE_VIEWER, src_host },
	{ "host_scores", 'h', VC_ROLE_VIEWER, src_host_scores },
	{ "host_artifacts", 'h', VC_ROLE_VIEWER, src_host_artifacts },
	{ "host_cases", 'h', VC_ROLE_VIEWER, src_host_cases },
	{ "host_rare", 'h', VC_ROLE_VIEWER, src_host_rare },
	{ "score_distribution", 'p', VC_ROLE_VIEWER, src_score_distribution },
	{ "scores_daily", 'p', VC_ROLE_VIEWER, src_scores_daily },
	{ "top_hosts", 'p', VC_ROLE_VIEWER, src_top_hosts },
	{ "top_indicators", 'p', VC_ROLE_VIEWER, src_top_indicators },
	{ "new_hosts", 'p', VC_ROLE_VIEWER, src_new_hosts },
	{ "host_count", 'p', VC_ROLE_VIEWER, src_host_count },
	{ "cases_period", 'p', VC_ROLE_VIEWER, src_cases_period },
	{ "hunts", 'p', VC_ROLE_VIEWER, src_hunts },
	{ "iocs", 'p', VC_ROLE_VIEWER, src_iocs },
	{ "audit", 'p', VC_ROLE_ADMIN, src_audit },
	{ NULL, 0, 0, NULL }
};

const struct vc_report_source *
vc_report_source(const char *name)
{
	for (const struct vc_report_source *s = vc_report_sources; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* ---- the appendix: stored rows, streamed ---------------------------------- */

const char *const vc_report_appendix_cols[VC_REPORT_APPENDIX_COLS] = {
	"Artifact", "Host", "Name", "CommandLine", "Username", "SHA256", "Row"
};

/* A typed stack column: text as is; another value is "\x02" and its JSON. */
static const char *
untyped(const unsigned char *v)
{
	if (v == NULL)
		return NULL;
	return (const char *)(v[0] == 0x02 ? v + 1 : v);
}

int
vc_report_appendix(vc_ctx *ctx, const struct vc_report_in *in,
    int (*fn)(void *arg, const char *const *cols), void *arg)
{
	vc_stmt *q;
	const char *cols[VC_REPORT_APPENDIX_COLS];
	int rc = 0, r;

	if (in->case_id[0])
		q = vc_sql(ctx, "SELECT a.name, h.hostname, r.stack_name, r.stack_cmdline, r.stack_user,"
		    " r.stack_sha256, r.data FROM artifact_rows r JOIN artifacts a ON a.tenant_id = r.tenant_id"
		    " AND a.id = r.artifact_id LEFT JOIN hosts h ON h.tenant_id = r.tenant_id AND h.id = r.host_id"
		    " WHERE r.tenant_id = ?1 AND r.artifact_id IN (SELECT id FROM artifacts WHERE tenant_id = ?1"
		    " AND case_id = ?2 UNION SELECT target_id FROM case_links WHERE tenant_id = ?1 AND case_id = ?2"
		    " AND kind = 'artifact') ORDER BY r.artifact_id, r.id", "ss", ctx->who.tenant_id, in->case_id);
	else if (in->host_id[0])
		q = vc_sql(ctx, "SELECT a.name, h.hostname, r.stack_name, r.stack_cmdline, r.stack_user,"
		    " r.stack_sha256, r.data FROM artifact_rows r JOIN artifacts a ON a.tenant_id = r.tenant_id"
		    " AND a.id = r.artifact_id LEFT JOIN hosts h ON h.tenant_id = r.tenant_id AND h.id = r.host_id"
		    " WHERE r.tenant_id = ?1 AND r.host_id = ?2 ORDER BY r.id", "ss", ctx->who.tenant_id, in->host_id);
	else
		return 0;
	if (q == NULL)
		return ctx->err;
	while (rc == 0 && (r = vc_sql_step(ctx, q)) == 1) {
		for (int i = 0; i < VC_REPORT_APPENDIX_COLS; i++)
			cols[i] = i >= 2 && i <= 5 ? untyped(vc_col_text(q, i)) :
			    (const char *)vc_col_text(q, i);
		rc = fn(arg, cols);
	}
	vc_stmt_done(q);
	return rc != 0 ? rc : ctx->err;
}
