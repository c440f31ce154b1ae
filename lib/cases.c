/* SPDX-License-Identifier: MIT */
/*
 * cases.c - the tenant's cases: create, list with filters, sorting and
 * paging, show, update, close, delete; their append-only timeline
 * (case_notes: the notes people write and the events every change
 * leaves) and their links to hosts and artifacts.
 *
 * Every query binds the caller's tenant.  A case id of another tenant
 * answers like a missing one and is audited as authz.denied.  The write
 * operations run inside the dispatcher's transaction, so a change and
 * its timeline entries are stored together or not at all.
 */
#include <stdio.h>
#include <string.h>

#include "cases.h"
#include "core/events.h"
#include "core/page.h"
#include "core/store.h"
#include "core/audit.h"
#include "core/records.h"
#include "timeline.h"

#define TITLE_MAX 256           /* characters */
#define TAG_MAX 64              /* characters */
#define TAGS_MAX 256            /* tags on one case */
#define TEXT_MAX 65536          /* bytes: description, note, resolution */
#define TIMELINE_MAX 10000      /* entries `notes` and `show` return */

#define CASE_COLS "c.id, c.title, c.description, c.status, c.severity, c.assignee," \
	" c.tags AS tags_json, c.resolution, c.created_by, c.created_at, c.updated_at, c.closed_at"

/* ---- small helpers ---------------------------------------------------- */

static const char *
nz(const char *s)
{
	return s && *s ? s : NULL;
}

/* Characters, not bytes: jv strings are valid UTF-8. */
static size_t
utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Titles and tags are one line of text for tables and terminals. */
static int
has_ctrl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int
one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

static const char *const severities[] = { "low", "medium", "high", "critical", NULL };

static int
check_title(vc_ctx *ctx, const char *t)
{
	size_t n = t ? utf8_len(t) : 0;

	if (n < 1 || n > TITLE_MAX)
		return vc_fail(ctx, VC_EINVAL, "a title has 1 to %d characters", TITLE_MAX);
	if (has_ctrl(t))
		return vc_fail(ctx, VC_EINVAL, "a title is one line without control characters");
	return 0;
}

static int
check_tag(vc_ctx *ctx, const char *t)
{
	size_t n = utf8_len(t);

	if (n < 1 || n > TAG_MAX || has_ctrl(t))
		return vc_fail(ctx, VC_EINVAL, "a tag has 1 to %d characters and no control characters: '%.64s'",
		    TAG_MAX, t);
	return 0;
}

static int
check_text(vc_ctx *ctx, const char *what, const char *s, int required)
{
	if (s == NULL || *s == '\0')
		return required ? vc_fail(ctx, VC_EINVAL, "%s must not be empty", what) : 0;
	if (strlen(s) > TEXT_MAX)
		return vc_fail(ctx, VC_ETOOBIG, "%s may be at most 64 KiB", what);
	return 0;
}

/* The "tag" argument as an array: repeated on the CLI, a string or an
 * array over HTTP.  Returns it, or jv_null() when absent. */
static jv
tag_args(jv args)
{
	jv t = jv_object_get(jv_copy(args), jv_string("tag"));

	if (jv_get_kind(t) == JV_KIND_STRING)
		return JV_ARRAY(t);
	if (jv_get_kind(t) == JV_KIND_ARRAY)
		return t;
	jv_free(t);
	return jv_null();
}

static int
has_str(jv arr, const char *s)
{
	int found = 0;

	jv_array_foreach(arr, i, e) {
		found |= jv_get_kind(e) == JV_KIND_STRING && strcmp(jv_string_value(e), s) == 0;
		jv_free(e);
	}
	jv_free(arr);
	return found;
}

static int
case_json(vc_ctx *ctx, const char *id, jv *out)
{
	return vc_sql_one(ctx, vc_sql(ctx, "SELECT " CASE_COLS " FROM cases c"
	    " WHERE c.tenant_id = ?1 AND c.id = ?2", "ss", ctx->who.tenant_id, id), "case", out);
}

/* An enabled user of the caller's tenant, by username or id: its username. */
static int
find_assignee(vc_ctx *ctx, const char *key, char name[65])
{
	vc_stmt *q = vc_sql(ctx, "SELECT username FROM users WHERE tenant_id = ?1"
	    " AND (username = ?2 OR id = ?2) AND disabled = 0", "ss", ctx->who.tenant_id, key);
	int rc;

	if (q == NULL)
		return ctx->err;
	rc = vc_sql_step(ctx, q);
	if (rc == 1)
		snprintf(name, 65, "%s", (const char *)vc_col_text(q, 0));
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	if (rc == 0)
		return vc_fail(ctx, VC_EINVAL, "the assignee must be an enabled user of your tenant: %.64s", key);
	return 0;
}

/* ---- create ----------------------------------------------------------- */

int
vc_op_cases_create(vc_ctx *ctx, jv args, jv *out)
{
	const char *title = vc_arg_str(args, "title"), *desc = vc_arg_str(args, "description");
	const char *sev = vc_arg_str(args, "severity"), *asg = vc_arg_str(args, "assignee");
	char id[VC_ID_LEN + 1], who[65] = "";
	jv in = tag_args(args), tags = jv_array(), ts;
	int rc;

	if ((rc = check_title(ctx, title)) != 0 || (rc = check_text(ctx, "a description", desc, 0)) != 0)
		goto done;
	if (sev == NULL)
		sev = "medium";
	else if (!one_of(sev, severities)) {
		rc = vc_fail(ctx, VC_EUSAGE, "severity must be one of low|medium|high|critical, not '%.64s'", sev);
		goto done;
	}
	if (nz(asg) && (rc = find_assignee(ctx, asg, who)) != 0)
		goto done;
	if (jv_get_kind(in) == JV_KIND_ARRAY) {
		if (jv_array_length(jv_copy(in)) > TAGS_MAX) {
			rc = vc_fail(ctx, VC_EINVAL, "a case may have at most %d tags", TAGS_MAX);
			goto done;
		}
		jv_array_foreach(in, i, t) {
			const char *s = jv_get_kind(t) == JV_KIND_STRING ? jv_string_value(t) : "";
			if ((rc = check_tag(ctx, s)) != 0) {
				jv_free(t);
				goto done;
			}
			/* Repeating a tag is harmless: keep the first. */
			if (!has_str(jv_copy(tags), s))
				tags = jv_array_append(tags, jv_copy(t));
			jv_free(t);
		}
	}
	vc_new_id(id);
	vc_audit_target(ctx, "case", id);
	ts = jv_dump_string(jv_copy(tags), 0);
	rc = vc_sql_exec(ctx, "INSERT INTO cases (id, tenant_id, title, description, status, severity,"
	    " assignee, tags, created_by, created_at, updated_at)"
	    " VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, ?8, ?9, ?9)", NULL, "ssssssssi",
	    id, ctx->who.tenant_id, title, nz(desc), sev, nz(who), jv_string_value(ts),
	    nz(ctx->who.username), vc_now(ctx));
	jv_free(ts);
	if (rc == 0)
		rc = vc_case_timeline(ctx, id, "event", "case opened", NULL);
	if (rc == 0) {
		vc_audit_detail(ctx, "title", jv_string(title));
		vc_audit_detail(ctx, "severity", jv_string(sev));
		vc_audit_detail(ctx, "assignee", who[0] ? jv_string(who) : jv_null());
		vc_audit_detail(ctx, "tags", jv_copy(tags));
		rc = case_json(ctx, id, out);
	}
	if (rc == 0) {
		rc = vc_event_emit(ctx, "case.created", JV_OBJECT(jv_string("case_id"), jv_string(id),
		    jv_string("subject"), jv_string(title), jv_string("severity"), jv_string(sev),
		    jv_string("assignee"), who[0] ? jv_string(who) : jv_null(),
		    jv_string("by"), jv_string(ctx->who.username)), NULL);
	}
done:
	jv_free(in);
	jv_free(tags);
	return rc;
}

/* ---- list ------------------------------------------------------------- */

static const struct vc_sort case_sorts[] = {
	{ "created_at", "c.created_at", 'i' },
	{ "updated_at", "c.updated_at", 'i' },
	/* By rank, not by name: low < medium < high < critical. */
	{ "severity", "CASE c.severity WHEN 'low' THEN 0 WHEN 'medium' THEN 1"
	  " WHEN 'high' THEN 2 ELSE 3 END", 'i' },
	{ "status", "c.status", 's' },
	{ "title", "c.title", 's' },
	{ NULL, NULL, 0 }
};

/* The filters of a case list; parameters ?1 .. ?6.  An empty assignee
 * means the unassigned cases. */
#define CASE_WHERE " FROM cases c WHERE c.tenant_id = ?1" \
	" AND (?2 IS NULL OR c.status = ?2)" \
	" AND (?3 IS NULL OR c.severity = ?3)" \
	" AND (?4 IS NULL OR COALESCE(c.assignee, '') = ?4)" \
	" AND (?5 IS NULL OR EXISTS (SELECT 1 FROM " VC_SQL2("json_each(c.tags) WHERE json_each.value", \
	    "jsonb_array_elements_text(CAST(c.tags AS jsonb)) AS j(value) WHERE j.value") " = ?5))" \
	" AND (?6 IS NULL OR instr(lower(c.title), lower(?6)) > 0" \
	"   OR instr(lower(COALESCE(c.description, '')), lower(?6)) > 0)"
#define CASE_PAGE_PARAM 7

static int
bind_filters(vc_ctx *ctx, vc_stmt *q, void *arg)
{
	static const char *const keys[] = { "status", "severity", "assignee", "tag", "text" };
	const jv *args = arg;
	int rc = vc_bind_text(q, 1, ctx->who.tenant_id, -1, VC_TRANSIENT);

	for (int i = 0; i < 5 && rc == VC_SQL_OK; i++) {
		const char *s = vc_arg_str(*args, keys[i]);
		if (s != NULL)
			rc = vc_bind_text(q, i + 2, s, -1, VC_TRANSIENT);
	}
	return rc == VC_SQL_OK ? 0 : vc_fail(ctx, VC_EINTERNAL, "bind: %s", vc_sql_errstr(rc));
}

int
vc_op_cases_list(vc_ctx *ctx, jv args, jv *out)
{
	/* Newest first unless told otherwise. */
	const struct vc_list l = {
		.what = "case", .sorts = case_sorts, .sort = "created_at", .order = "desc",
		.cols = CASE_COLS, .from = CASE_WHERE, .idexpr = "c.id", .first = CASE_PAGE_PARAM,
		.bind = bind_filters, .arg = &args,
	};

	return vc_page_list(ctx, &l, args, out);
}

/* ---- show ------------------------------------------------------------- */

/* The case's links, oldest first, each with the host's name or the
 * artifact's name (null when the target is gone). */
static jv
links_of(vc_ctx *ctx, const char *id)
{
	jv rows = vc_sql_rows(ctx, vc_sql(ctx, "SELECT l.kind, l.target_id, l.created_at,"
	    " (SELECT h.hostname FROM hosts h WHERE h.tenant_id = l.tenant_id AND h.id = l.target_id)"
	    "   AS hostname,"
	    " (SELECT a.name FROM artifacts a WHERE a.tenant_id = l.tenant_id AND a.id = l.target_id)"
	    "   AS name"
	    " FROM case_links l WHERE l.tenant_id = ?1 AND l.case_id = ?2"
	    " ORDER BY " VC_SQL2("l.rowid", "l.seq") " LIMIT ?3", "ssi", ctx->who.tenant_id, id, (int64_t)TIMELINE_MAX));
	jv out = jv_array();

	if (!jv_is_valid(rows)) {
		jv_free(out);
		return rows;
	}
	jv_array_foreach(rows, i, l) {
		jv kind = jv_object_get(jv_copy(l), jv_string("kind"));
		int host = strcmp(jv_string_value(kind), "host") == 0;
		jv_free(kind);
		out = jv_array_append(out, jv_object_delete(l, jv_string(host ? "name" : "hostname")));
	}
	jv_free(rows);
	return out;
}

int
vc_op_cases_show(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1];
	vc_stmt *q;
	jv links;
	int rc;

	if ((rc = vc_case_resolve(ctx, vc_arg_str(args, "id"), id)) != 0 || (rc = case_json(ctx, id, out)) != 0)
		return rc;
	links = links_of(ctx, id);
	q = vc_sql(ctx, "SELECT COUNT(*) FROM case_notes WHERE tenant_id = ?1 AND case_id = ?2", "ss",
	    ctx->who.tenant_id, id);
	if (!jv_is_valid(links) || q == NULL || vc_sql_step(ctx, q) != 1) {
		vc_stmt_done(q);
		jv_free(links);
		jv_free(*out);
		*out = jv_invalid();
		return ctx->err ? ctx->err : vc_fail(ctx, VC_EINTERNAL, "case show failed");
	}
	*out = jv_object_set(*out, jv_string("links"), links);
	*out = jv_object_set(*out, jv_string("notes_count"),
	    jv_number((double)vc_col_int64(q, 0)));
	vc_stmt_done(q);
	return 0;
}

/* ---- update and close ------------------------------------------------- */

/* "x" or "-" for none, as the timeline writes an empty assignee. */
static const char *
dash(const char *s)
{
	return s && *s ? s : "-";
}

/*
 * Apply +T/-T edits to the tags cur (consumed); *next gets the new list
 * and *change the "+x -y" text of what really changed ("" for nothing).
 */
static int
edit_tags(vc_ctx *ctx, jv cur, jv edits, jv *next, jv *change)
{
	*change = jv_string("");
	jv_array_foreach(edits, i, e) {
		const char *s = jv_get_kind(e) == JV_KIND_STRING ? jv_string_value(e) : "";
		int add = s[0] == '+', present;
		jv n;

		if ((s[0] != '+' && s[0] != '-') || check_tag(ctx, s + 1) != 0) {
			int rc = (s[0] != '+' && s[0] != '-') ?
			    vc_fail(ctx, VC_EUSAGE, "--tag takes +TAG or -TAG, not '%.64s'", s) : ctx->err;
			jv_free(e);
			jv_free(cur);
			jv_free(*change);
			*change = jv_invalid();
			return rc;
		}
		present = has_str(jv_copy(cur), s + 1);
		if (add && !present)
			cur = jv_array_append(cur, jv_string(s + 1));
		else if (!add && present) {
			n = jv_array();
			jv_array_foreach(cur, j, c) {
				if (strcmp(jv_string_value(c), s + 1) == 0)
					jv_free(c);
				else
					n = jv_array_append(n, c);
			}
			jv_free(cur);
			cur = n;
		} else {
			jv_free(e);
			continue;
		}
		if (jv_string_length_bytes(jv_copy(*change)) > 0)
			*change = jv_string_append_str(*change, " ");
		*change = jv_string_append_str(*change, s);
		jv_free(e);
	}
	if (jv_array_length(jv_copy(cur)) > TAGS_MAX) {
		jv_free(cur);
		jv_free(*change);
		*change = jv_invalid();
		return vc_fail(ctx, VC_EINVAL, "a case may have at most %d tags", TAGS_MAX);
	}
	*next = cur;
	return 0;
}

/* Current text of a member of the case object (NULL when null). */
static const char *
cur_str(jv c, const char *key)
{
	return vc_arg_str(c, key);
}

/*
 * The fields vc_op_cases_update may change, in the order of their
 * timeline events and of their columns in its UPDATE (?3 ..).  A text
 * field is too long to repeat: its events say only changed or removed.
 */
static const struct case_field {
	const char *name;       /* argument, audit detail and event */
	int text;
} case_fields[] = {
	{ "title", 0 }, { "description", 1 }, { "status", 0 }, { "severity", 0 }, { "assignee", 0 },
};
enum { F_TITLE, F_DESC, F_STATUS, F_SEV, F_ASG, F__COUNT };

int
vc_op_cases_update(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1], who[65] = "";
	const char *given[F__COUNT], *now[F__COUNT];
	const char *status = vc_arg_str(args, "status"), *sev = vc_arg_str(args, "severity");
	const char *asg = vc_arg_str(args, "assignee"), *old_status;
	jv cur = jv_invalid(), edits = tag_args(args), tags = jv_invalid(), change = jv_invalid(), ts;
	int rc, reopen = 0, changed = 0;

	for (int i = 0; i < F__COUNT; i++)
		given[i] = vc_arg_str(args, case_fields[i].name);
	if ((rc = vc_case_resolve(ctx, vc_arg_str(args, "id"), id)) != 0)
		goto done;
	vc_audit_target(ctx, "case", id);
	if ((rc = case_json(ctx, id, &cur)) != 0)
		goto done;
	for (int i = 0; i < F__COUNT; i++)
		now[i] = cur_str(cur, case_fields[i].name);
	old_status = now[F_STATUS];

	/* Check everything first: nothing is written when one value is bad. */
	if (given[F_TITLE] != NULL && (rc = check_title(ctx, given[F_TITLE])) != 0)
		goto done;
	if (given[F_DESC] != NULL && (rc = check_text(ctx, "a description", given[F_DESC], 0)) != 0)
		goto done;
	if (status != NULL) {
		if (strcmp(status, "closed") == 0) {
			/* Closing needs a resolution: it has a command of its own. */
			rc = vc_fail(ctx, VC_EUSAGE, "use 'vc-case close ID --resolution TEXT'");
			goto done;
		}
		if (strcmp(status, "open") != 0 && strcmp(status, "in_progress") != 0) {
			rc = vc_fail(ctx, VC_EUSAGE, "status must be open or in_progress, not '%.64s'", status);
			goto done;
		}
		if (strcmp(old_status, "closed") == 0 && strcmp(status, "open") != 0) {
			rc = vc_fail(ctx, VC_ECONFLICT, "case %s is closed: reopen it with --status open", id);
			goto done;
		}
		reopen = strcmp(status, old_status) != 0 && strcmp(old_status, "closed") == 0;
	}
	if (sev != NULL && !one_of(sev, severities)) {
		rc = vc_fail(ctx, VC_EUSAGE, "severity must be one of low|medium|high|critical, not '%.64s'", sev);
		goto done;
	}
	/* The assignee is compared and stored by user name ("" unassigns). */
	if (nz(asg) && (rc = find_assignee(ctx, asg, who)) != 0)
		goto done;
	if (asg != NULL)
		given[F_ASG] = who;
	if (jv_get_kind(edits) == JV_KIND_ARRAY) {
		jv old_tags = jv_object_get(jv_copy(cur), jv_string("tags"));
		if (jv_get_kind(old_tags) != JV_KIND_ARRAY) {
			jv_free(old_tags);
			old_tags = jv_array();
		}
		if ((rc = edit_tags(ctx, old_tags, edits, &tags, &change)) != 0)
			goto done;
	}

	/* The timeline gets one event per change, in this order. */
	for (int i = 0; i < F__COUNT; i++) {
		const char *name = case_fields[i].name, *from = now[i], *to = given[i];
		jv ev;

		if (to == NULL || strcmp(to, from ? from : "") == 0)
			continue;
		to = now[i] = nz(to);
		if (case_fields[i].text) {
			vc_audit_detail(ctx, name, jv_string("changed"));
			ev = jv_string_fmt("%s %s", name, to ? "changed" : "removed");
		} else {
			vc_audit_detail(ctx, name, JV_OBJECT(jv_string("from"), from ? jv_string(from) : jv_null(),
			    jv_string("to"), to ? jv_string(to) : jv_null()));
			ev = i == F_STATUS && reopen ? jv_string("case reopened") :
			    jv_string_fmt("%s: %s -> %s", name, dash(from), dash(to));
		}
		if ((rc = vc_case_event(ctx, id, ev)) != 0)
			goto done;
		changed = 1;
	}
	if (jv_is_valid(change) && jv_string_length_bytes(jv_copy(change)) > 0) {
		vc_audit_detail(ctx, "tags", jv_copy(change));
		if ((rc = vc_case_event(ctx, id, jv_string_fmt("tags: %s", jv_string_value(change)))) != 0)
			goto done;
		changed = 1;
	}
	if (changed) {
		ts = jv_is_valid(tags) ? jv_dump_string(jv_copy(tags), 0) : jv_invalid();
		/* A reopened case has no resolution and no closing time any more. */
		rc = vc_sql_exec(ctx, "UPDATE cases SET title = ?3, description = ?4, status = ?5,"
		    " severity = ?6, assignee = ?7, tags = COALESCE(?8, tags),"
		    " resolution = CASE WHEN ?9 THEN NULL ELSE resolution END,"
		    " closed_at = CASE WHEN ?9 THEN NULL ELSE closed_at END, updated_at = ?10"
		    " WHERE tenant_id = ?1 AND id = ?2", NULL, "ssssssssii",
		    ctx->who.tenant_id, id, now[F_TITLE], now[F_DESC], now[F_STATUS], now[F_SEV],
		    now[F_ASG], jv_is_valid(ts) ? jv_string_value(ts) : NULL, (int64_t)reopen,
		    vc_now(ctx));
		jv_free(ts);
		if (rc == 0)
			rc = vc_event_emit(ctx, "case.updated", JV_OBJECT(jv_string("case_id"), jv_string(id),
			    jv_string("subject"), jv_string(now[F_TITLE]), jv_string("status"),
			    jv_string(now[F_STATUS]), jv_string("severity"), jv_string(now[F_SEV]),
			    jv_string("changes"), jv_copy(ctx->audit_details), jv_string("by"),
			    jv_string(ctx->who.username)), NULL);
		if (rc != 0)
			goto done;
	}
	rc = case_json(ctx, id, out);
done:
	jv_free(cur);
	jv_free(edits);
	jv_free(tags);
	jv_free(change);
	return rc;
}

int
vc_op_cases_close(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1];
	const char *res = vc_arg_str(args, "resolution");
	jv cur;
	int rc, closed;

	if ((rc = vc_case_resolve(ctx, vc_arg_str(args, "id"), id)) != 0)
		return rc;
	vc_audit_target(ctx, "case", id);
	if ((rc = check_text(ctx, "the resolution", res, 1)) != 0 || (rc = case_json(ctx, id, &cur)) != 0)
		return rc;
	closed = strcmp(vc_arg_str(cur, "status"), "closed") == 0;
	jv_free(cur);
	if (closed)
		return vc_fail(ctx, VC_ECONFLICT, "case %s is already closed", id);
	rc = vc_sql_exec(ctx, "UPDATE cases SET status = 'closed', resolution = ?1, closed_at = ?2,"
	    " updated_at = ?2 WHERE tenant_id = ?3 AND id = ?4", NULL, "siss", res, vc_now(ctx),
	    ctx->who.tenant_id, id);
	if (rc == 0)
		rc = vc_case_event(ctx, id, jv_string_fmt("case closed: %s", res));
	if (rc == 0)
		rc = vc_event_emit(ctx, "case.updated", JV_OBJECT(jv_string("case_id"), jv_string(id),
		    jv_string("status"), jv_string("closed"), jv_string("by"),
		    jv_string(ctx->who.username)), NULL);
	if (rc != 0)
		return rc;
	vc_audit_detail(ctx, "resolution_bytes", jv_number((double)strlen(res)));
	return case_json(ctx, id, out);
}

/* ---- delete ----------------------------------------------------------- */

int
vc_op_cases_delete(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1];
	int rc, notes = 0, links = 0, arts = 0;

	if ((rc = vc_case_resolve(ctx, vc_arg_str(args, "id"), id)) != 0 || (rc = case_json(ctx, id, out)) != 0)
		return rc;
	vc_audit_target(ctx, "case", id);
	/* Evidence outlives the case: its artifacts only lose the reference. */
	rc = vc_sql_exec(ctx, "UPDATE artifacts SET case_id = NULL WHERE tenant_id = ?1 AND case_id = ?2",
	    &arts, "ss", ctx->who.tenant_id, id);
	if (rc == 0)
		rc = vc_sql_exec(ctx, "DELETE FROM case_links WHERE tenant_id = ?1 AND case_id = ?2",
		    &links, "ss", ctx->who.tenant_id, id);
	/* The timeline is append-only for everything but the deletion of its case. */
	if (rc == 0)
		rc = vc_sql_exec(ctx, "DELETE FROM case_notes WHERE tenant_id = ?1 AND case_id = ?2",
		    &notes, "ss", ctx->who.tenant_id, id);
	if (rc == 0)
		rc = vc_sql_exec(ctx, "DELETE FROM cases WHERE tenant_id = ?1 AND id = ?2", NULL, "ss",
		    ctx->who.tenant_id, id);
	if (rc != 0)
		return rc;
	vc_audit_detail(ctx, "title", jv_object_get(jv_copy(*out), jv_string("title")));
	vc_audit_detail(ctx, "notes", jv_number(notes));
	vc_audit_detail(ctx, "links", jv_number(links));
	vc_audit_detail(ctx, "artifacts_unlinked", jv_number(arts));
	*out = jv_object_set(*out, jv_string("deleted"), jv_true());
	return 0;
}

/* ---- the timeline ----------------------------------------------------- */

#define NOTE_COLS "n.id, n.case_id, n.created_at, n.author, n.kind, n.body"

int
vc_op_cases_note(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1];
	const char *body = vc_arg_str(args, "body");
	int64_t note_id = 0;
	jv rows;
	int rc;

	if ((rc = vc_case_resolve(ctx, vc_arg_str(args, "id"), id)) != 0)
		return rc;
	vc_audit_target(ctx, "case", id);
	if ((rc = check_text(ctx, "a note", body, 1)) != 0 ||
	    (rc = vc_case_timeline(ctx, id, "note", body, &note_id)) != 0 || (rc = vc_case_touch(ctx, id)) != 0)
		return rc;
	vc_audit_detail(ctx, "note_id", jv_number((double)note_id));
	rows = vc_sql_rows(ctx, vc_sql(ctx, "SELECT " NOTE_COLS " FROM case_notes n"
	    " WHERE n.tenant_id = ?1 AND n.id = ?2", "si", ctx->who.tenant_id, note_id));
	if (!jv_is_valid(rows))
		return ctx->err;
	if (jv_array_length(jv_copy(rows)) != 1) {
		jv_free(rows);
		return vc_fail(ctx, VC_EINTERNAL, "the new note is missing");
	}
	*out = jv_array_get(rows, 0);
	return 0;
}

int
vc_op_cases_notes(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1];
	jv rows;
	int rc;

	if ((rc = vc_case_resolve(ctx, vc_arg_str(args, "id"), id)) != 0)
		return rc;
	/* Oldest first; ids grow with every entry, times may tie. */
	rows = vc_sql_rows(ctx, vc_sql(ctx, "SELECT " NOTE_COLS " FROM case_notes n"
	    " WHERE n.tenant_id = ?1 AND n.case_id = ?2 ORDER BY n.id LIMIT ?3", "ssi",
	    ctx->who.tenant_id, id, (int64_t)TIMELINE_MAX));
	if (!jv_is_valid(rows))
		return ctx->err;
	*out = rows;
	return 0;
}

/*
 * The case (id) and the link target named by --host or --artifact
 * (exactly one of them) of a link command.  The case is the audit target.
 */
static int
link_args(vc_ctx *ctx, jv args, char id[VC_ID_LEN + 1], const char **kind,
    char target[VC_ID_LEN + 1])
{
	const char *host = vc_arg_str(args, "host"), *art = vc_arg_str(args, "artifact");
	int rc;

	if ((rc = vc_case_resolve(ctx, vc_arg_str(args, "id"), id)) != 0)
		return rc;
	vc_audit_target(ctx, "case", id);
	if ((host == NULL) == (art == NULL))
		return vc_fail(ctx, VC_EUSAGE, "give exactly one of --host or --artifact");
	*kind = host ? "host" : "artifact";
	rc = host ? vc_host_resolve(ctx, host, target) : vc_artifact_resolve(ctx, art, target);
	/* A denial of the target named the target; the case is what changes. */
	if (rc == 0)
		vc_audit_target(ctx, "case", id);
	return rc;
}

/* The link as the link commands print it. */
static int
link_json(vc_ctx *ctx, const char *id, const char *kind, const char *target, jv *out)
{
	jv links = links_of(ctx, id);

	if (!jv_is_valid(links))
		return ctx->err;
	*out = jv_null();
	jv_array_foreach(links, i, l) {
		jv k = jv_object_get(jv_copy(l), jv_string("kind"));
		jv t = jv_object_get(jv_copy(l), jv_string("target_id"));
		if (jv_get_kind(*out) == JV_KIND_NULL && strcmp(jv_string_value(k), kind) == 0 &&
		    strcmp(jv_string_value(t), target) == 0)
			*out = jv_object_set(l, jv_string("case_id"), jv_string(id));
		else
			jv_free(l);
		jv_free(k);
		jv_free(t);
	}
	jv_free(links);
	return 0;
}

int
vc_op_cases_link(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1], target[VC_ID_LEN + 1];
	const char *kind;
	int rc;

	if ((rc = link_args(ctx, args, id, &kind, target)) != 0 ||
	    (rc = vc_case_link_add(ctx, id, kind, target)) != 0)
		return rc;
	vc_audit_detail(ctx, "kind", jv_string(kind));
	vc_audit_detail(ctx, "target_id", jv_string(target));
	return link_json(ctx, id, kind, target, out);
}

int
vc_op_cases_unlink(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1], target[VC_ID_LEN + 1];
	const char *kind;
	jv label = jv_invalid();
	int rc, n = 0;

	if ((rc = link_args(ctx, args, id, &kind, target)) != 0 ||
	    (rc = link_json(ctx, id, kind, target, out)) != 0)
		return rc;
	if (jv_get_kind(*out) == JV_KIND_NULL) {
		*out = jv_invalid();
		return vc_fail(ctx, VC_ENOTFOUND, "case %s has no link to %s %.64s", id, kind,
		    vc_arg_str(args, kind));
	}
	if ((rc = vc_case_target_label(ctx, kind, target, &label)) != 0)
		return rc;
	rc = vc_sql_exec(ctx, "DELETE FROM case_links WHERE tenant_id = ?1 AND case_id = ?2"
	    " AND kind = ?3 AND target_id = ?4", &n, "ssss", ctx->who.tenant_id, id, kind, target);
	if (rc == 0)
		rc = vc_case_event(ctx, id, jv_string_fmt("unlinked %s", jv_string_value(label)));
	if (rc == 0)
		rc = vc_case_touch(ctx, id);
	jv_free(label);
	if (rc != 0)
		return rc;
	vc_audit_detail(ctx, "kind", jv_string(kind));
	vc_audit_detail(ctx, "target_id", jv_string(target));
	*out = jv_object_set(*out, jv_string("deleted"), jv_true());
	return 0;
}

