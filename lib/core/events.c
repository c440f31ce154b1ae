/* SPDX-License-Identifier: MIT */
/*
 * events.c - the event log: append an event in the caller's transaction,
 * list events after a cursor, follow the log as other processes write it.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/store.h"
#include "core/events.h"
#include "core/audit.h"
#include "json/jqprog.h"

#define EVENT_BODY_MAX (64 * 1024)      /* an event is a summary, not data */
#define EVENTS_LIMIT_DEF 1000
#define EVENTS_LIMIT_MAX 100000
#define FOLLOW_POLL_MS 100
#define RULE_ROW_MS 1000        /* a condition's verdict within this */

int
vc_has_ctrl(const char *s, int newlines)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && !(newlines && (*s == '\n' || *s == '\t')))
			return 1;
	return 0;
}

/*
 * Resolve "role:NAME" or "user:NAME" in ctx's tenant: *user_id gets the
 * user's id, or *min_role the role's rank.  canon gets the target as
 * stored ("user:alice").
 */
int
vc_notify_target(vc_ctx *ctx, const char *to, char user_id[VC_ID_LEN + 1], int *min_role,
    char *canon, size_t n)
{
	vc_stmt *q;
	int rc;

	user_id[0] = '\0';
	*min_role = 0;
	if (to != NULL && strncmp(to, "role:", 5) == 0) {
		int r = vc_role_parse(to + 5);
		if (r < VC_ROLE_VIEWER || r > VC_ROLE_ADMIN)
			return vc_fail(ctx, VC_EUSAGE, "role:%.32s: the role must be viewer, analyst or admin",
			    to + 5);
		*min_role = r;
		snprintf(canon, n, "role:%s", vc_role_name(r));
		return 0;
	}
	if (to != NULL && strncmp(to, "channel:", 8) == 0) {
		int64_t cid;
		return vc_notify_channel(ctx, to, &cid, canon, n);
	}
	if (to == NULL || strncmp(to, "user:", 5) != 0 || to[5] == '\0')
		return vc_fail(ctx, VC_EUSAGE, "a target is role:NAME, user:NAME or channel:NAME, not"
		    " '%.64s'", to ? to : "");
	q = vc_sql(ctx, "SELECT id, username FROM users WHERE tenant_id = ?1"
	    " AND (username = ?2 OR id = ?2)", "ss", ctx->who.tenant_id, to + 5);
	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_step(ctx, q)) == 1) {
		snprintf(user_id, VC_ID_LEN + 1, "%s", (const char *)vc_col_text(q, 0));
		snprintf(canon, n, "user:%s", (const char *)vc_col_text(q, 1));
	}
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	if (rc == 0)
		return vc_fail(ctx, VC_ENOTFOUND, "no user %.64s in your tenant", to + 5);
	return 0;
}

int
vc_notify_channel(vc_ctx *ctx, const char *to, int64_t *id, char *canon, size_t n)
{
	const char *name = to != NULL && strncmp(to, "channel:", 8) == 0 ? to + 8 : NULL;
	vc_stmt *q;
	int rc, audit = 0;

	*id = 0;
	if (name == NULL || name[0] == '\0' || strlen(name) > 64)
		return vc_fail(ctx, VC_EUSAGE, "a channel target is channel:NAME, not '%.64s'",
		    to ? to : "");
	q = vc_sql(ctx, "SELECT id, source = 'audit' FROM notify_channels WHERE tenant_id = ?1"
	    " AND name = ?2", "ss", ctx->who.tenant_id, name);
	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_step(ctx, q)) == 1) {
		*id = vc_col_int64(q, 0);
		audit = vc_col_int(q, 1);
	}
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	/* Another tenant's channel of that name is no more found than a
	 * missing one: names are the tenant's own. */
	if (rc == 0)
		return vc_fail(ctx, VC_ENOTFOUND, "no channel %.64s in your tenant (vc-notify channel"
		    " list)", name);
	if (audit) {
		*id = 0;
		return vc_fail(ctx, VC_EUSAGE, "channel %.64s delivers the audit chain (--source audit),"
		    " not events: a rule or a notification goes to a channel of the event log"
		    " (--source events or rules)", name);
	}
	snprintf(canon, n, "channel:%s", name);
	return 0;
}

int
vc_notify_mark(vc_ctx *ctx, int64_t channel_id, int64_t event_id, int64_t rule_id)
{
	vc_stmt *q = vc_sql(ctx, "INSERT OR IGNORE INTO notify_sends (tenant_id, channel_id,"
	    " event_id, rule_id) VALUES (?1, ?2, ?3, ?4)", "siin", ctx->who.tenant_id, channel_id,
	    event_id);
	int rc;

	if (q == NULL)
		return ctx->err;
	if (rule_id > 0)
		vc_bind_int64(q, 4, rule_id);
	rc = vc_sql_step(ctx, q);
	vc_stmt_done(q);
	return rc < 0 ? ctx->err : 0;
}

/*
 * A notification to a channel: an event of its own (notification.sent:
 * to, title, subject, body, by) marked for the channel, which delivers it
 * as it delivers any; *id gets the event's id.
 */
static int
channel_send(vc_ctx *ctx, const char *to, const char *title, const char *body, int64_t *id)
{
	char canon[100];
	int64_t cid;
	int rc;

	if ((rc = vc_notify_channel(ctx, to, &cid, canon, sizeof canon)) != 0)
		return rc;
	if ((rc = vc_event_emit(ctx, "notification.sent", JV_OBJECT(jv_string("to"), jv_string(canon),
	    jv_string("title"), jv_string(title), jv_string("subject"), jv_string(title),
	    jv_string("body"), jv_string(body), jv_string("by"),
	    ctx->who.username[0] ? jv_string(ctx->who.username) : jv_null()), id)) != 0)
		return rc;
	return vc_notify_mark(ctx, cid, *id, 0);
}

/* Insert one notification; *id gets its id. */
int
vc_notify_insert(vc_ctx *ctx, const char *to, const char *title, const char *body, int64_t event_id,
    int64_t rule_id, int64_t *id)
{
	char uid[VC_ID_LEN + 1], canon[100];
	int role, rc;
	vc_stmt *q;

	if (to != NULL && strncmp(to, "channel:", 8) == 0)
		return channel_send(ctx, to, title, body, id);
	if ((rc = vc_notify_target(ctx, to, uid, &role, canon, sizeof canon)) != 0 ||
	    (rc = vc_store_announce(ctx, VC_TOPIC_NOTIFICATIONS)) != 0)
		return rc;
	q = vc_sql(ctx, "INSERT INTO notifications (tenant_id, target, user_id, min_role, title, body,"
	    " event_id, rule_id, created_by, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
	    "sssnssnnsi", ctx->who.tenant_id, canon, uid[0] ? uid : NULL, title, body,
	    ctx->who.username[0] ? ctx->who.username : NULL, vc_now(ctx));
	if (q == NULL)
		return ctx->err;
	if (role)
		vc_bind_int(q, 4, role);
	if (event_id > 0)
		vc_bind_int64(q, 7, event_id);
	if (rule_id > 0)
		vc_bind_int64(q, 8, rule_id);
	rc = vc_sql_step(ctx, q);
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	*id = vc_last_insert_id(ctx);
	return 0;
}

/* ---- rules, run on each event ------------------------------------------ */

/* Does the rule's condition hold for body?  1 yes, 0 no (or it failed:
 * the failure is the rule's, never the change's). */
static int
condition(vc_ctx *ctx, const char *prog, const char *body, size_t n)
{
	struct vc_jq_limits lim = { .row_ms = RULE_ROW_MS, .cpu_s = 2, .mem_mb = 256 };
	struct vc_jq *jq = NULL;
	char err[200], msg[sizeof ctx->errmsg];
	int saved = ctx->err, r = 0;

	snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	if (vc_jq_open(ctx, "--when", prog, &lim, &jq) == 0) {
		r = vc_jq_test(ctx, jq, body, n, err, sizeof err) == 1;
		vc_jq_close(jq);
	}
	ctx->err = saved;
	snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", msg);
	return r;
}

/* A notification's title for an event, from what its body says. */
static jv
event_title(const char *type, jv body)
{
	jv subj = jv_object_get(jv_copy(body), jv_string("subject"));
	jv t = jv_get_kind(subj) == JV_KIND_STRING ?
	    jv_string_fmt("%s: %.100s", type, jv_string_value(subj)) : jv_string(type);

	jv_free(subj);
	jv_free(body);
	return t;
}

static int
notify_on_event(vc_ctx *ctx, int64_t event_id, const char *type, jv body)
{
	vc_stmt *q;
	jv rules, text = jv_invalid(), title = jv_invalid();
	int rc = 0;

	q = vc_sql(ctx, "SELECT id, when_jq, target FROM notify_rules WHERE tenant_id = ?1"
	    " AND ?2 GLOB on_type ORDER BY id", "ss", ctx->who.tenant_id, type);
	if (q == NULL) {
		jv_free(body);
		return ctx->err;
	}
	/* Collected first: a condition runs no statement of ours. */
	rules = vc_sql_rows(ctx, q);
	if (!jv_is_valid(rules)) {
		jv_free(body);
		return ctx->err;
	}
	jv_array_foreach(rules, i, r) {
		const char *prog = vc_arg_str(r, "when_jq"), *to = vc_arg_str(r, "target");
		jv rid = jv_object_get(jv_copy(r), jv_string("id"));
		int64_t nid;

		if (!jv_is_valid(text)) {
			text = jv_dump_string(jv_copy(body), 0);
			title = event_title(type, jv_copy(body));
		}
		if (rc == 0 && (prog == NULL || condition(ctx, prog, jv_string_value(text),
		    (size_t)jv_string_length_bytes(jv_copy(text))))) {
			char canon[100];
			int64_t cid;

			/* To a channel: the event is marked for it, and its
			 * forwarder sends it later (nothing is sent here). */
			if (to != NULL && strncmp(to, "channel:", 8) == 0) {
				if ((rc = vc_notify_channel(ctx, to, &cid, canon, sizeof canon)) == 0)
					rc = vc_notify_mark(ctx, cid, event_id, (int64_t)jv_number_value(rid));
				else if (rc == VC_EUSAGE)
					rc = VC_ENOTFOUND;      /* not a channel it may send to: none */
			} else
				rc = vc_notify_insert(ctx, to, jv_string_value(title), jv_string_value(text),
				    event_id, (int64_t)jv_number_value(rid), &nid);
			/* A rule whose user or channel is gone notifies nobody. */
			if (rc == VC_ENOTFOUND) {
				rc = 0;
				ctx->err = 0;
				ctx->errmsg[0] = '\0';
			}
		}
		jv_free(rid);
		jv_free(r);
	}
	jv_free(rules);
	jv_free(text);
	jv_free(title);
	jv_free(body);
	return rc;
}

static int emit(vc_ctx *ctx, const char *type, jv body, int64_t *id);

int
vc_event_emit(vc_ctx *ctx, const char *type, jv body, int64_t *id)
{
	return vc_event_emit_in(ctx, ctx->who.tenant_id, type, body, id);
}

int
vc_event_emit_in(vc_ctx *ctx, const char *tenant, const char *type, jv body, int64_t *id)
{
	char saved[sizeof ctx->who.tenant_id];
	int rc;

	if (tenant == NULL || tenant[0] == '\0') {
		jv_free(body);
		return vc_fail(ctx, VC_EINTERNAL, "event %s: no tenant", type);
	}
	if (tenant == ctx->who.tenant_id || strcmp(tenant, ctx->who.tenant_id) == 0)
		return emit(ctx, type, body, id);
	/* The rules and their targets are the event's tenant's, not the
	 * caller's (a superadmin's audit record of another tenant). */
	if (strlen(tenant) >= sizeof saved) {
		jv_free(body);
		return vc_fail(ctx, VC_EINTERNAL, "event %s: bad tenant id", type);
	}
	memcpy(saved, ctx->who.tenant_id, sizeof saved);
	snprintf(ctx->who.tenant_id, sizeof ctx->who.tenant_id, "%s", tenant);
	rc = emit(ctx, type, body, id);
	memcpy(ctx->who.tenant_id, saved, sizeof saved);
	return rc;
}

static int
emit(vc_ctx *ctx, const char *type, jv body, int64_t *id)
{
	jv text;
	int64_t eid;
	int rc;
	char lock[96];

	if (jv_get_kind(body) != JV_KIND_OBJECT) {
		jv_free(body);
		return vc_fail(ctx, VC_EINTERNAL, "event %s: body is not an object", type);
	}
	/* A tenant's events one transaction at a time from here to its
	 * commit (PostgreSQL; SQLite's one writer does so already): ids in
	 * commit order, which the cursors of channels and triggers rely on. */
	snprintf(lock, sizeof lock, "vc events %s", ctx->who.tenant_id);
	if ((rc = vc_store_xact_lock(ctx, lock)) != 0) {
		jv_free(body);
		return rc;
	}
	text = jv_dump_string(jv_copy(body), 0);
	if (jv_string_length_bytes(jv_copy(text)) > EVENT_BODY_MAX) {
		/* Never fail a change for its event: say what it was. */
		jv_free(text);
		text = jv_dump_string(JV_OBJECT(jv_string("truncated"), jv_true()), 0);
	}
	rc = vc_sql_exec(ctx, "INSERT INTO events (tenant_id, type, created_at, body)"
	    " VALUES (?1, ?2, ?3, ?4)", NULL, "ssis", ctx->who.tenant_id, type, vc_now(ctx),
	    jv_string_value(text));
	jv_free(text);
	if (rc != 0) {
		jv_free(body);
		return rc;
	}
	eid = vc_last_insert_id(ctx);
	if (id != NULL)
		*id = eid;
	return notify_on_event(ctx, eid, type, body);
}

int64_t
vc_store_data_version(vc_ctx *ctx)
{
	/* PostgreSQL has no such counter: a value that always differs, so
	 * that every wait looks and no count is kept (page.c). */
	return vc_sql_int(ctx, vc_sql(ctx, VC_SQL2("PRAGMA data_version",
	    "SELECT CAST(extract(epoch FROM clock_timestamp()) * 1000000 AS bigint)"), ""));
}

int
vc_store_wait_change(vc_ctx *ctx, int64_t *ver, int poll_ms, int64_t max_ms)
{
	struct timespec ts = { poll_ms / 1000, (long)(poll_ms % 1000) * 1000000L };
	int64_t waited = 0;

	for (;; waited += poll_ms) {
		int64_t v;

		if (ctx->stop != NULL && *ctx->stop)
			return 0;
		if ((v = vc_store_data_version(ctx)) < 0)
			return ctx->err;
		if (*ver < 0)
			*ver = v;
		else if (v != *ver) {
			*ver = v;
			/* PostgreSQL's version differs at every call: there a
			 * change is only ever "maybe", so it is said after one
			 * poll's sleep, not at once (a follower would spin). */
			if (waited > 0 || !vc_store_copies(ctx))
				return 1;
		}
		if (max_ms > 0 && waited >= max_ms)
			return VC_WAIT_TIMEOUT;
		/* A signal cuts the sleep short; the loop then sees *stop. */
		vc_wait_begin();
		(void)nanosleep(&ts, NULL);
		vc_wait_end();
	}
}

/* Emit the tenant's events after *cursor (at most limit; 0: no limit),
 * moving the cursor.  Returns 0, or nonzero when the reader left. */
static int
events_after(vc_ctx *ctx, int64_t *cursor, const char *glob, int64_t limit, jv *out, int *gone)
{
	vc_stmt *q;
	int rc;

	q = vc_sql(ctx, "SELECT id, type, created_at, body AS body_json FROM events"
	    " WHERE tenant_id = ?1 AND id > ?2 AND (?3 IS NULL OR type GLOB ?3)"
	    " ORDER BY id LIMIT ?4", "sisi", ctx->who.tenant_id, *cursor, glob,
	    limit > 0 ? limit : (int64_t)-1);
	if (q == NULL)
		return ctx->err;
	while ((rc = vc_sql_step(ctx, q)) == 1) {
		*cursor = vc_col_int64(q, 0);
		if (vc_emit(ctx, vc_sql_row(q), out) != 0) {
			*gone = 1;
			break;
		}
	}
	vc_stmt_done(q);
	return rc < 0 ? ctx->err : 0;
}

int
vc_op_events(vc_ctx *ctx, jv args, jv *out)
{
	const char *glob = vc_arg_str(args, "type");
	int64_t cursor, limit, ver;
	int follow = vc_arg_bool(args, "follow"), gone = 0, rc;

	cursor = vc_arg_int(args, "since", 0);
	limit = vc_arg_int(args, "limit", EVENTS_LIMIT_DEF);
	if (cursor < 0)
		return vc_fail(ctx, VC_EUSAGE, "--since takes an event id (0 or more)");
	if (limit < 1 || limit > EVENTS_LIMIT_MAX)
		return vc_fail(ctx, VC_EUSAGE, "--limit must be 1 to %d", EVENTS_LIMIT_MAX);
	if (glob != NULL && (strlen(glob) == 0 || strlen(glob) > 128))
		return vc_fail(ctx, VC_EUSAGE, "--type takes a glob of 1 to 128 characters");
	if (!follow)
		return events_after(ctx, &cursor, glob, limit, out, &gone);
	if (ctx->emit == NULL)
		return vc_fail(ctx, VC_EUSAGE, "--follow streams JSON Lines: it cannot collect a list");
	/* The version first: a commit after it is seen by the wait. */
	if ((ver = vc_store_data_version(ctx)) < 0)
		return ctx->err;
	for (;;) {
		if ((rc = events_after(ctx, &cursor, glob, 0, out, &gone)) != 0 || gone)
			return rc;
		if ((rc = vc_store_wait_change(ctx, &ver, FOLLOW_POLL_MS, 0)) != 1)
			return rc;
	}
}

/* ---- retention ------------------------------------------------------------- */

#define PRUNE_BATCH 5000        /* events a transaction: the write lock stays short */

/*
 * The newest event id of tenant that may go: the slowest channel's
 * cursor (an event not delivered yet is kept, whatever its age) and the
 * oldest dead letter less one (vc-notify dead retry needs its event),
 * or INT64_MAX when the tenant has neither.
 */
static int64_t
prune_bound(vc_ctx *ctx, const char *tenant)
{
	/* An event-log channel's cursor, and an event set aside for a
	 * retry (notify_dead), keep what they need; an audit channel's
	 * cursor counts audit records, not events. */
	return vc_sql_int(ctx, vc_sql(ctx, "SELECT MIN(COALESCE((SELECT MIN(cursor) FROM notify_channels"
	    " WHERE tenant_id = ?1 AND source = 'events'), 9223372036854775807),"
	    " COALESCE((SELECT MIN(d.event_id) - 1 FROM notify_dead d JOIN notify_channels c"
	    " ON c.id = d.channel_id WHERE d.tenant_id = ?1 AND c.source = 'events'),"
	    " 9223372036854775807))", "s", tenant));
}

struct prune {
	const char *tenant;
	int64_t cutoff, bound;
	int ev, no;
};

static int
prune_body(vc_ctx *ctx, void *arg)
{
	struct prune *p = arg;
	int64_t bound, hi;
	int rc;

	p->ev = p->no = 0;
	if ((bound = prune_bound(ctx, p->tenant)) < 0)
		return ctx->err ? ctx->err : VC_EINTERNAL;
	hi = vc_sql_int(ctx, vc_sql(ctx, "SELECT COALESCE((SELECT id FROM events WHERE tenant_id = ?1"
	    " AND created_at < ?2 AND id <= ?3 ORDER BY id LIMIT 1 OFFSET ?4), ?3)", "siii",
	    p->tenant, p->cutoff, bound, (int64_t)PRUNE_BATCH - 1));
	if (hi < 0)
		return ctx->err ? ctx->err : VC_EINTERNAL;
	if ((rc = vc_sql_exec(ctx, "DELETE FROM notifications WHERE tenant_id = ?1 AND event_id IN"
	    " (SELECT id FROM events WHERE tenant_id = ?1 AND created_at < ?2 AND id <= ?3)", &p->no,
	    "sii", p->tenant, p->cutoff, hi)) != 0)
		return rc;
	return vc_sql_exec(ctx, "DELETE FROM events WHERE tenant_id = ?1 AND created_at < ?2 AND id <= ?3",
	    &p->ev, "sii", p->tenant, p->cutoff, hi);
}

/* One batch, in a transaction of its own made again when it gave way
 * to another: the notifications of the events that go, then the
 * events; *n gets how many events went. */
static int
prune_batch(vc_ctx *ctx, const char *tenant, int64_t cutoff, int64_t *n, int64_t *nn)
{
	struct prune p = { .tenant = tenant, .cutoff = cutoff };
	int rc;

	if ((rc = vc_tx_run(ctx, 0, prune_body, &p)) != 0)
		return rc;
	*n = p.ev;
	*nn += p.no;
	return 0;
}

/* What is not an event's: vc_events_prune's last transaction. */
static int
prune_rest_body(vc_ctx *ctx, void *arg)
{
	struct prune *p = arg;
	int rc;

	p->no = 0;
	if ((rc = vc_sql_exec(ctx, "DELETE FROM notifications WHERE tenant_id = ?1 AND event_id IS NULL"
	    " AND created_at < ?2", &p->no, "si", p->tenant, p->cutoff)) != 0 ||
	    (rc = vc_sql_exec(ctx, "DELETE FROM auth_fail_bursts WHERE tenant_id = ?1 AND window_start < ?2",
	    NULL, "si", p->tenant, vc_now(ctx) - 86400)) != 0)
		return rc;
	if ((p->bound = prune_bound(ctx, p->tenant)) < 0)
		return ctx->err ? ctx->err : VC_EINTERNAL;
	return 0;
}

int
vc_events_prune(vc_ctx *ctx, const char *tenant, int64_t older_than, jv *out)
{
	int64_t cutoff = vc_now(ctx) - older_than, events = 0, notes = 0, n, bound;
	struct prune p = { .tenant = tenant, .cutoff = cutoff };
	int no, rc;

	do {
		/* Atomically: vc-serve's main thread raises it while its mail
		 * thread prunes. */
		if (ctx->stop != NULL && __atomic_load_n(ctx->stop, __ATOMIC_RELAXED))
			break;
		if ((rc = prune_batch(ctx, tenant, cutoff, &n, &notes)) != 0)
			return rc;
		events += n;
	} while (n >= PRUNE_BATCH);
	/* Notifications sent by hand (no event), and closed windows of
	 * failed logins, made again when it gave way to another. */
	if ((rc = vc_tx_run(ctx, 0, prune_rest_body, &p)) != 0)
		return rc;
	no = p.no;
	bound = p.bound;
	*out = JV_OBJECT(jv_string("tenant_id"), jv_string(tenant),
	    jv_string("events"), jv_number((double)events),
	    jv_string("notifications"), jv_number((double)(notes + no)));
	{
		char t[40];

		vc_time_fmt(cutoff, t, sizeof t);
		*out = jv_object_set(*out, jv_string("before"), jv_string(t));
	}
	*out = jv_object_set(*out, jv_string("kept_after"), bound == INT64_MAX ? jv_null() :
	    jv_number((double)bound));
	return 0;
}

/* A prune's audit record (vc_tx_run's arg): row, its result when rc is 0. */
struct prune_rec {
	const char *tenant, *msg;
	int64_t older_than;
	int rc;
	jv row;
};

static int
prune_rec_body(vc_ctx *ctx, void *arg)
{
	struct prune_rec *r = arg;
	jv d = r->rc == 0 ? JV_OBJECT(jv_string("events"), jv_object_get(jv_copy(r->row),
	    jv_string("events")), jv_string("notifications"), jv_object_get(jv_copy(r->row),
	    jv_string("notifications")), jv_string("older_than_s"), jv_number((double)r->older_than)) :
	    jv_invalid();

	return vc_audit(ctx, r->tenant, "events.prune", "event", NULL, r->rc == 0 ? "success" : "failure",
	    r->rc == 0 ? NULL : r->msg, d);
}

/* Prune one tenant and audit it in a transaction of its own (written
 * again when it gave way to another): a person's run always, the
 * system's hourly one when it removed something or failed. */
static int
prune_audited(vc_ctx *ctx, const char *tenant, int64_t older_than, jv *row)
{
	int rc = vc_events_prune(ctx, tenant, older_than, row);
	char msg[sizeof ctx->errmsg];
	struct prune_rec r = { tenant, msg, older_than, rc, *row };

	snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	if (rc == 0 && ctx->who.actor == VC_ACTOR_SYSTEM && vc_arg_int(*row, "events", 0) == 0 &&
	    vc_arg_int(*row, "notifications", 0) == 0)
		return 0;
	(void)vc_tx_run(ctx, 0, prune_rec_body, &r);
	if (rc != 0)
		vc_fail(ctx, rc, "%s", msg);
	return rc;
}

/* How long tenant keeps its events: its own setting, else dflt. */
static int64_t
tenant_keep(vc_ctx *ctx, const char *tenant, int64_t dflt)
{
	int64_t v = vc_sql_int(ctx, vc_sql(ctx, "SELECT COALESCE(event_retention_s, 0) FROM tenants"
	    " WHERE id = ?1", "s", tenant));

	return v > 0 ? v : dflt;
}

int
vc_events_prune_all(vc_ctx *ctx, int64_t older_than, int force, jv *out)
{
	vc_stmt *q;
	jv tenants;
	int rc = 0;

	/* unscoped: the retention job of the installation walks every tenant */
	q = vc_sql(ctx, "SELECT id FROM tenants ORDER BY id", "");
	if (q == NULL || !jv_is_valid(tenants = vc_sql_rows(ctx, q)))
		return ctx->err;
	*out = jv_array();
	jv_array_foreach(tenants, i, t) {
		jv row = jv_invalid();
		const char *id = vc_arg_str(t, "id");
		int64_t keep = id == NULL || force ? older_than : tenant_keep(ctx, id, older_than);

		if (rc == 0 && id != NULL && keep > 0 &&
		    (rc = prune_audited(ctx, id, keep, &row)) == 0)
			*out = jv_array_append(*out, row);
		else
			jv_free(row);
		jv_free(t);
	}
	jv_free(tenants);
	return rc;
}

int
vc_op_events_prune(vc_ctx *ctx, jv args, jv *out)
{
	int64_t older = vc_arg_int(args, "older_than", -1);
	int force = older >= 0;
	jv row = jv_invalid();
	int rc;

	if (force && older < 3600)
		return vc_fail(ctx, VC_EUSAGE, "--older-than must be at least 1h");
	if (!force)
		older = VC_EVENT_RETENTION_DEF;
	ctx->audited = 1;       /* each tenant's run writes its own record */
	if (ctx->who.role >= VC_ROLE_SUPERADMIN)
		return vc_events_prune_all(ctx, older, force, out);
	if (!force && (older = tenant_keep(ctx, ctx->who.tenant_id, older)) < 0)
		return ctx->err;
	if ((rc = prune_audited(ctx, ctx->who.tenant_id, older, &row)) != 0)
		return rc;
	*out = JV_ARRAY(row);
	return 0;
}

#define KEEP_MAX (10LL * 366 * 86400)

/* The tenant's retention as its admin sees it. */
static int
keep_show(vc_ctx *ctx, jv *out)
{
	int64_t own = vc_sql_int(ctx, vc_sql(ctx, "SELECT COALESCE(event_retention_s, 0) FROM tenants"
	    " WHERE id = ?1", "s", ctx->who.tenant_id));

	if (own < 0)
		return ctx->err;
	*out = JV_OBJECT(jv_string("tenant_id"), jv_string(ctx->who.tenant_id),
	    jv_string("keep_s"), own > 0 ? jv_number((double)own) : jv_null(),
	    jv_string("keep_days"), own > 0 ? jv_number((double)own / 86400) : jv_null(),
	    jv_string("source"), jv_string(own > 0 ? "tenant" : "installation"));
	return 0;
}

int
vc_op_events_retention(vc_ctx *ctx, jv args, jv *out)
{
	(void)args;
	return keep_show(ctx, out);
}

int
vc_op_events_keep(vc_ctx *ctx, jv args, jv *out)
{
	const char *s = vc_arg_str(args, "duration");
	int64_t v = 0;
	int rc;

	if (s == NULL || (strcmp(s, "default") != 0 &&
	    (vc_duration_parse(s, &v) != 0 || v < 3600 || v > KEEP_MAX)))
		return vc_fail(ctx, VC_EUSAGE, "keep takes a duration from 1h to 3660d (90d, 12h),"
		    " or default: the installation's");
	vc_audit_target(ctx, "tenant", ctx->who.tenant_id);
	/* 0 is stored as NULL: the installation's */
	if ((rc = vc_sql_exec(ctx, "UPDATE tenants SET event_retention_s = NULLIF(?2, 0) WHERE id = ?1",
	    NULL, "si", ctx->who.tenant_id, v)) != 0)
		return rc;
	vc_audit_detail(ctx, "keep_s", v > 0 ? jv_number((double)v) : jv_null());
	return keep_show(ctx, out);
}
