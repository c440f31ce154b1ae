/* SPDX-License-Identifier: MIT */
/*
 * pbrun.c - playbook executions: plan, run, approve, cancel, the history,
 * and the triggers (events after a cursor, cron schedules) of
 * vc-playbook due.  See playbook.h.
 *
 * An execution is a row written before its first step; each step's record
 * is written as it changes, a database action's in the very transaction
 * of its change (with its audit record), so the record never says less
 * or more than what was done.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cases.h"
#include "core/audit.h"
#include "core/curl.h"
#include "core/net.h"
#include "core/events.h"
#include "core/records.h"
#include "core/store.h"
#include "hosts.h"
#include "hunt.h"
#include "json/jqprog.h"
#include "mail.h"
#include "pbint.h"
#include "playbook.h"
#include "timeline.h"

#define EVENT_MAX 65536         /* bytes of an event given by hand */
#define DUE_BATCH 500           /* events looked at in one due */
#define LEASE_S 300             /* s a due holds its tenant's event cursor */
#define CLAIM_MARGIN_S 30       /* s an execution's claim holds beyond its step's time */
#define WAIT_HOLD_S 60          /* a wait_for step claims this much of its time at once */
#define RESUME_BATCH 20         /* lapsed executions a due takes over at most */
#define LIST_DEF 50
#define LIST_MAX 1000

struct exec {
	char id[VC_ID_LEN + 1];
	char pb[VC_ID_LEN + 1];
	int64_t version;
	int64_t event_id;       /* an event of the log, else 0 */
	jv doc;                 /* the version's normalised document */
	jv event;               /* object, or null */
	jv steps;               /* the step records */
	jv outputs;             /* step name -> its output */
	int approve;            /* approve every step that asks (run --approve) */
	int approved;           /* index of the step approve EXECUTION released, or -1 */
	int failed;             /* a step failed */
	int fail_rc;            /* the VC_E* of the last step that failed */
	char fail_msg[700];     /* and what it said */
	char holder[160];       /* this runner's claim on it (vc_claimant) */
	int64_t hold_s;         /* s the next record written claims it for */
	int64_t held_until;     /* when the claim it holds lapses (unix s) */
	int lost;               /* the claim went to another runner: stop */
	int cancel_seen;        /* a wait_for step ended for a cancel */
};

static void
exec_release(struct exec *e)
{
	jv_free(e->doc);
	jv_free(e->event);
	jv_free(e->steps);
	jv_free(e->outputs);
}

static jv
scope(const struct exec *e)
{
	jv pb = JV_OBJECT(jv_string("id"), jv_string(e->pb), jv_string("version"),
	    jv_number((double)e->version), jv_string("name"),
	    jv_object_get(jv_copy(e->doc), jv_string("name")));

	return JV_OBJECT(jv_string("event"), jv_get_kind(e->event) == JV_KIND_OBJECT ?
	    jv_copy(e->event) : jv_object(), jv_string("steps"), jv_copy(e->outputs),
	    jv_string("playbook"), pb, jv_string("execution"), JV_OBJECT(jv_string("id"),
	    jv_string(e->id)));
}

static jv
step_def(const struct exec *e, int i)
{
	return jv_array_get(jv_object_get(jv_copy(e->doc), jv_string("steps")), i);
}

static int
nsteps(const struct exec *e)
{
	return jv_array_length(jv_object_get(jv_copy(e->doc), jv_string("steps")));
}

static jv
member(jv o, const char *k)
{
	return jv_object_get(jv_copy(o), jv_string(k));
}

/* The member k of o, o consumed. */
static jv
take(jv o, const char *k)
{
	return jv_object_get(o, jv_string(k));
}

static double
num(jv o, const char *k, double def)
{
	jv v = member(o, k);
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : def;

	jv_free(v);
	return d;
}

/* Set members of step record i. */
static void
step_set(struct exec *e, int i, const char *k, jv v)
{
	jv st = jv_array_get(jv_copy(e->steps), i);

	e->steps = jv_array_set(e->steps, i, jv_object_set(st, jv_string(k), v));
}

static int
is_true(jv o, const char *k)
{
	jv v = member(o, k);
	int r = jv_get_kind(v) == JV_KIND_TRUE;

	jv_free(v);
	return r;
}

static int
is_str(jv o, const char *k, const char *want)
{
	jv v = member(o, k);
	int r = jv_get_kind(v) == JV_KIND_STRING && strcmp(jv_string_value(v), want) == 0;

	jv_free(v);
	return r;
}

static const char *
step_status(const struct exec *e, int i, char *buf, size_t n)
{
	jv s = jv_object_get(jv_array_get(jv_copy(e->steps), i), jv_string("status"));

	snprintf(buf, n, "%s", jv_get_kind(s) == JV_KIND_STRING ? jv_string_value(s) : "");
	jv_free(s);
	return buf;
}

/* Forget what an action's handlers told the audit (they ran inside the
 * playbook's own audited steps). */
static void
audit_forget(vc_ctx *ctx)
{
	jv_free(ctx->audit_details);
	ctx->audit_details = jv_invalid();
	ctx->audit_target_type[0] = ctx->audit_target_id[0] = '\0';
	ctx->audited = 0;
}

/* ---- the actions ------------------------------------------------------- */

static const char *
pstr(jv params, const char *k, char *buf, size_t n)
{
	jv v = member(params, k);
	const char *r = NULL;

	if (jv_get_kind(v) == JV_KIND_STRING) {
		snprintf(buf, n, "%s", jv_string_value(v));
		r = buf;
	} else if (jv_get_kind(v) == JV_KIND_NUMBER) {
		snprintf(buf, n, "%.17g", jv_number_value(v));
		r = buf;
	}
	jv_free(v);
	return r;
}

static int
need(vc_ctx *ctx, const char *v, const char *k)
{
	return v != NULL && *v ? 0 : vc_fail(ctx, VC_EINVAL, "params.%s: give it as text", k);
}

static int
act_notify(vc_ctx *ctx, struct exec *e, jv p, jv *out)
{
	char msg[4001], title[201], to[100], def[201];
	const char *m = pstr(p, "message", msg, sizeof msg), *t = pstr(p, "title", title, sizeof title);
	const char *r = pstr(p, "to", to, sizeof to);
	jv name = member(e->doc, "name");
	int64_t id;
	int rc;

	snprintf(def, sizeof def, "Playbook: %s", jv_string_value(name));
	jv_free(name);
	if ((rc = need(ctx, m, "message")) != 0)
		return rc;
	if (vc_has_ctrl(m, 1) || (t != NULL && vc_has_ctrl(t, 0)))
		return vc_fail(ctx, VC_EINVAL, "params: no control characters in a notification");
	if ((rc = vc_notify_insert(ctx, r != NULL ? r : "role:analyst", t != NULL ? t : def, m,
	    e->event_id, 0, &id)) != 0)
		return rc;
	/* To a channel it is an event (notification.sent) its forwarder
	 * delivers, not a notification. */
	if (r != NULL && strncmp(r, "channel:", 8) == 0)
		*out = JV_OBJECT(jv_string("notification_id"), jv_null(), jv_string("event_id"),
		    jv_number((double)id));
	else
		*out = JV_OBJECT(jv_string("notification_id"), jv_number((double)id), jv_string("event_id"),
		    e->event_id > 0 ? jv_number((double)e->event_id) : jv_null());
	return 0;
}

static int
act_email(vc_ctx *ctx, struct exec *e, jv p, jv *out)
{
	char to[321], subj[201], body[8001], id[VC_ID_LEN + 1];
	const char *t = pstr(p, "to", to, sizeof to), *s = pstr(p, "subject", subj, sizeof subj);
	const char *b = pstr(p, "body", body, sizeof body);
	int rc;

	(void)e;
	if ((rc = need(ctx, t, "to")) != 0 || (rc = need(ctx, s, "subject")) != 0 ||
	    (rc = need(ctx, b, "body")) != 0)
		return rc;
	if (vc_has_ctrl(s, 0) || vc_has_ctrl(b, 1))
		return vc_fail(ctx, VC_EINVAL, "params: no control characters in a subject or body");
	if ((rc = vc_mail_queue_checked(ctx, t, s, b, id)) != 0)
		return rc;
	*out = JV_OBJECT(jv_string("outbox_id"), jv_string(id), jv_string("to"), jv_string(t));
	return 0;
}

/* The case links the host, and its timeline keeps the triggering event
 * (a score's id, value and class among its members) as evidence. */
static int
act_case(vc_ctx *ctx, struct exec *e, jv p, jv *out)
{
	char host[200], hid[VC_ID_LEN + 1];
	const char *h = pstr(p, "host", host, sizeof host);
	jv args = jv_object(), tags = member(p, "tags"), res = jv_invalid();
	int rc;

	for (const char *const *k = (const char *const[]){ "title", "description", "severity", NULL };
	    *k; k++) {
		jv v = member(p, *k);

		if (jv_get_kind(v) == JV_KIND_STRING)
			args = jv_object_set(args, jv_string(*k), v);
		else
			jv_free(v);
	}
	if (jv_get_kind(tags) == JV_KIND_ARRAY || jv_get_kind(tags) == JV_KIND_STRING)
		args = jv_object_set(args, jv_string("tag"), tags);
	else
		jv_free(tags);
	if (h != NULL && (rc = vc_host_resolve(ctx, h, hid)) != 0) {
		jv_free(args);
		return rc;
	}
	rc = vc_op_cases_create(ctx, args, &res);
	jv_free(args);
	if (rc != 0)
		return rc;
	{
		jv cid = member(res, "id"), title = member(res, "title");

		jv_free(res);
		if (h != NULL)
			rc = vc_case_link_add(ctx, jv_string_value(cid), "host", hid);
		if (rc == 0 && jv_get_kind(e->event) == JV_KIND_OBJECT) {
			jv ev = jv_dump_string(jv_copy(e->event), 0);

			rc = vc_case_event(ctx, jv_string_value(cid), jv_string_fmt("opened by playbook"
			    " execution %s from event %.2000s", e->id, jv_string_value(ev)));
			jv_free(ev);
		}
		*out = JV_OBJECT(jv_string("case_id"), cid, jv_string("title"), title);
	}
	return rc;
}

static int
act_label(vc_ctx *ctx, struct exec *e, jv p, jv *out, int add)
{
	char host[200], label[130], hid[VC_ID_LEN + 1];
	const char *h = pstr(p, "host", host, sizeof host), *l = pstr(p, "label", label, sizeof label);
	jv res = jv_invalid(), args;
	int rc;

	(void)e;
	if ((rc = need(ctx, h, "host")) != 0 || (rc = need(ctx, l, "label")) != 0)
		return rc;
	if ((rc = vc_host_resolve(ctx, h, hid)) != 0)
		return rc;
	args = JV_OBJECT(jv_string("id"), jv_string(hid), jv_string("label"),
	    JV_ARRAY(jv_string_fmt("%c%s", add ? '+' : '-', l)));
	rc = vc_op_hosts_update(ctx, args, &res);
	jv_free(args);
	if (rc != 0)
		return rc;
	*out = JV_OBJECT(jv_string("host_id"), jv_string(hid), jv_string("labels"),
	    member(res, "labels"));
	jv_free(res);
	return 0;
}

static int
act_block(vc_ctx *ctx, struct exec *e, jv p, jv *out)
{
	char addr[100], reason[300], exp[40];
	const char *a = pstr(p, "address", addr, sizeof addr), *r = pstr(p, "reason", reason, sizeof reason);
	const char *x = pstr(p, "expires", exp, sizeof exp);
	int64_t secs = 0;
	int rc;

	if ((rc = need(ctx, a, "address")) != 0)
		return rc;
	if (x != NULL && (vc_duration_parse(x, &secs) != 0 || secs <= 0))
		return vc_fail(ctx, VC_EINVAL, "params.expires: a duration such as 24h or 7d");
	return vc_pb_block_add(ctx, a, r, e->id, secs, out);
}

/* Whole seconds left before deadline (ms), at least 1. */
static int64_t
left_s(int64_t deadline)
{
	int64_t ms = deadline - vc_mono_ms();

	return ms < 1000 ? 1 : (ms + 999) / 1000;
}

/* A Velociraptor operation's records kept, never streamed to the caller. */
static int
vr_call(vc_ctx *ctx, int (*fn)(vc_ctx *, jv, jv *), jv args, jv *out)
{
	int (*emit)(vc_ctx *, jv, void *) = ctx->emit;
	int (*emit_raw)(vc_ctx *, const char *, size_t, void *) = ctx->emit_raw;
	int rc;

	ctx->emit = NULL;
	ctx->emit_raw = NULL;
	*out = jv_invalid();
	rc = fn(ctx, args, out);
	ctx->emit = emit;
	ctx->emit_raw = emit_raw;
	jv_free(args);
	return rc;
}

/*
 * isolate_host (on) and unisolate_host, the part that talks to
 * Velociraptor, with no transaction open: collect the quarantine artifact
 * of the host's OS (the tenant's setting, else Velociraptor's name; a
 * step's params.artifact wins), wait for its flow and read its rows, each
 * within what is left of the step's time (deadline, vc_mono_ms), and verify
 * that the flow FINISHED and that its rows say the policy was applied
 * (removed) and nothing failed.  Anything else fails the step with the
 * reason.  *out gets what was learnt, failed or not.
 */
static int
quarantine(vc_ctx *ctx, jv p, int on, int64_t deadline, jv *out)
{
	char host[200], abuf[130], hid[VC_ID_LEN + 1], cid[128] = "", os[64] = "", last[300] = "";
	const char *h = pstr(p, "host", host, sizeof host), *a = pstr(p, "artifact", abuf, sizeof abuf);
	const char *want = on ? "Quarantine policy applied" : "Quarantine policy removed";
	vc_stmt *q;
	jv args, res, rows, fid;
	int rc, found = 0, failed = 0;

	*out = jv_invalid();
	if ((rc = need(ctx, h, "host")) != 0 || (rc = vc_host_resolve(ctx, h, hid)) != 0)
		return rc;
	q = vc_sql(ctx, "SELECT COALESCE(client_id, ''), os FROM hosts WHERE tenant_id = ?1 AND id = ?2",
	    "ss", ctx->who.tenant_id, hid);
	if (q == NULL)
		return ctx->err;
	if (vc_sql_step(ctx, q) == 1) {
		snprintf(cid, sizeof cid, "%s", (const char *)vc_col_text(q, 0));
		snprintf(os, sizeof os, "%s", (const char *)vc_col_text(q, 1));
	}
	vc_stmt_done(q);
	if (cid[0] == '\0')
		return vc_fail(ctx, VC_EINVAL, "host %s has no Velociraptor client id", h);
	if (a == NULL) {
		if ((rc = vc_pb_quarantine_artifact(ctx, os, abuf, sizeof abuf)) != 0)
			return rc;
		if (abuf[0] == '\0')
			return vc_fail(ctx, VC_EINVAL, "no quarantine artifact for the OS '%s' of host %s:"
			    " give params.artifact", os, h);
		a = abuf;
	}
	*out = JV_OBJECT(jv_string("host_id"), jv_string(hid), jv_string("client_id"), jv_string(cid),
	    jv_string("artifact"), jv_string(a));
	args = JV_OBJECT(jv_string("client"), jv_string(cid), jv_string("artifact"), jv_string(a),
	    jv_string("wait"), jv_true(), jv_string("timeout"), jv_number((double)left_s(deadline)));
	if (!on)
		args = jv_object_set(args, jv_string("param"), JV_ARRAY(jv_string("RemovePolicy=Y")));
	rc = vr_call(ctx, vc_op_vr_collect, args, &res);
	fid = jv_is_valid(res) ? jv_object_get(jv_copy(res), jv_string("flow_id")) : jv_invalid();
	if (jv_get_kind(fid) == JV_KIND_STRING)
		*out = jv_object_set(*out, jv_string("flow_id"), jv_copy(fid));
	jv_free(res);
	if (rc != 0) {
		char msg[sizeof ctx->errmsg];

		snprintf(msg, sizeof msg, "%s", ctx->errmsg);
		jv_free(fid);
		/* VC_ETEMP stays: the flow did not end in time (net_part) */
		return vc_fail(ctx, rc, "Velociraptor did not confirm the %s of %s: %s",
		    on ? "quarantine" : "release", h, msg);
	}
	rc = vr_call(ctx, vc_op_vr_flow_results, JV_OBJECT(jv_string("client_id"), jv_string(cid),
	    jv_string("flow_id"), jv_copy(fid), jv_string("artifact"), jv_string(a),
	    jv_string("timeout"), jv_number((double)left_s(deadline))), &rows);
	jv_free(fid);
	if (rc != 0) {
		jv_free(rows);
		return rc;
	}
	if (jv_get_kind(rows) == JV_KIND_ARRAY)
		jv_array_foreach(rows, i, r) {
			jv t = jv_object_get(r, jv_string("Result"));

			(void)i;
			if (jv_get_kind(t) == JV_KIND_STRING) {
				snprintf(last, sizeof last, "%s", jv_string_value(t));
				found |= strncmp(last, want, strlen(want)) == 0;
				failed |= strcasestr(last, "fail") != NULL && strstr(last, "failed as expected") == NULL;
			}
			jv_free(t);
		}
	jv_free(rows);
	*out = jv_object_set(*out, jv_string("result"), jv_string(last));
	if (!found || failed)
		return vc_fail(ctx, VC_EUNAVAIL, "Velociraptor ran %s on %s but it did not confirm the %s: %s",
		    a, h, on ? "quarantine" : "release", last[0] ? last : "no result");
	return 0;
}

/* The Velociraptor client id of a host (an id, or a client id itself). */
static int
client_of(vc_ctx *ctx, const char *h, char hid[VC_ID_LEN + 1], char *cid, size_t n)
{
	vc_stmt *q;
	int rc;

	if ((rc = need(ctx, h, "host")) != 0 || (rc = vc_host_resolve(ctx, h, hid)) != 0)
		return rc;
	q = vc_sql(ctx, "SELECT COALESCE(client_id, '') FROM hosts WHERE tenant_id = ?1 AND id = ?2",
	    "ss", ctx->who.tenant_id, hid);
	if (q == NULL)
		return ctx->err;
	cid[0] = '\0';
	if (vc_sql_step(ctx, q) == 1)
		snprintf(cid, n, "%s", (const char *)vc_col_text(q, 0));
	vc_stmt_done(q);
	return cid[0] ? 0 : vc_fail(ctx, VC_EINVAL, "host %s has no Velociraptor client id", h);
}

/* The KEY=VALUE list of a params object (borrowed). */
static jv
kv_list(jv kv)
{
	jv list = jv_array();

	if (jv_get_kind(kv) == JV_KIND_OBJECT)
		jv_object_foreach(kv, k, v) {
			jv text = jv_get_kind(v) == JV_KIND_STRING ? jv_copy(v) : jv_dump_string(jv_copy(v), 0);

			list = jv_array_append(list, jv_string_fmt("%s=%s", jv_string_value(k),
			    jv_string_value(text)));
			jv_free(text);
			jv_free(k);
			jv_free(v);
		}
	return list;
}

/* collect_artifact: vc-hunt collect, --wait unless told otherwise;
 * params become the artifact's KEY=VALUE parameters. */
static int
collect(vc_ctx *ctx, jv p, int64_t timeout, jv *out)
{
	char host[200], abuf[130], hid[VC_ID_LEN + 1], cid[128];
	const char *h = pstr(p, "host", host, sizeof host), *a = pstr(p, "artifact", abuf, sizeof abuf);
	jv args, kv, list, res, w;
	int rc;

	*out = jv_invalid();
	if ((rc = client_of(ctx, h, hid, cid, sizeof cid)) != 0 || (rc = need(ctx, a, "artifact")) != 0)
		return rc;
	kv = member(p, "params");
	list = kv_list(kv);
	jv_free(kv);
	w = member(p, "wait");
	args = JV_OBJECT(jv_string("client"), jv_string(cid), jv_string("artifact"), jv_string(a),
	    jv_string("wait"), jv_bool(jv_get_kind(w) != JV_KIND_FALSE), jv_string("timeout"),
	    jv_number((double)timeout), jv_string("param"), list);
	jv_free(w);
	rc = vr_call(ctx, vc_op_vr_collect, args, &res);
	if (rc == 0) {
		jv st = jv_object_get(jv_copy(res), jv_string("state"));

		*out = JV_OBJECT(jv_string("host_id"), jv_string(hid), jv_string("client_id"), jv_string(cid),
		    jv_string("flow_id"), jv_object_get(jv_copy(res), jv_string("flow_id")),
		    jv_string("artifact"), jv_string(a), jv_string("state"),
		    jv_is_valid(st) ? st : (jv_free(st), jv_string("SCHEDULED")));
	}
	jv_free(res);
	return rc;
}

/* run_hunt: vc-hunt create, keyed by the execution and step so that a
 * retry finds the hunt it made rather than making another. */
static int
run_hunt(vc_ctx *ctx, struct exec *e, const char *step, jv p, int64_t timeout, jv *out)
{
	char abuf[130], dbuf[300], obuf[16], lbuf[130];
	const char *a = pstr(p, "artifact", abuf, sizeof abuf), *d = pstr(p, "description", dbuf, sizeof dbuf);
	const char *os = pstr(p, "os", obuf, sizeof obuf), *l = pstr(p, "label", lbuf, sizeof lbuf);
	jv kv = member(p, "params"), args, res;
	int rc, wait = is_true(p, "wait");

	*out = jv_invalid();
	if ((rc = need(ctx, a, "artifact")) != 0) {
		jv_free(kv);
		return rc;
	}
	args = JV_OBJECT(jv_string("artifact"), jv_string(a), jv_string("param"), kv_list(kv),
	    jv_string("idempotency_key"), jv_string_fmt("playbook:%s:%s", e->id, step),
	    jv_string("wait"), jv_bool(wait), jv_string("timeout"), jv_number((double)timeout));
	jv_free(kv);
	if (d != NULL)
		args = jv_object_set(args, jv_string("description"), jv_string(d));
	if (os != NULL)
		args = jv_object_set(args, jv_string("os"), jv_string(os));
	if (l != NULL)
		args = jv_object_set(args, jv_string("label"), jv_string(l));
	if ((rc = vr_call(ctx, vc_op_vr_hunt_create, args, &res)) == 0) {
		jv h = jv_object_get(jv_copy(res), jv_string("hunt"));
		jv st = jv_get_kind(h) == JV_KIND_OBJECT ? jv_object_get(h, jv_string("state")) :
		    (jv_free(h), jv_string("RUNNING"));

		*out = JV_OBJECT(jv_string("hunt_id"), jv_object_get(jv_copy(res), jv_string("hunt_id")),
		    jv_string("artifact"), jv_string(a), jv_string("state"), st);
	}
	jv_free(res);
	return rc;
}

/* wait_for: a flow (flow_id and host) or a hunt (hunt_id) to end within
 * the step's timeout; a flow that ends in ERROR fails. */
static int
wait_for(vc_ctx *ctx, jv p, int64_t timeout, jv *out)
{
	char fbuf[130], hbuf[200], hid[VC_ID_LEN + 1], cid[128], state[32] = "";
	const char *f = pstr(p, "flow_id", fbuf, sizeof fbuf), *h = pstr(p, "hunt_id", hbuf, sizeof hbuf);
	jv last = jv_invalid(), st;
	int rc;

	*out = jv_invalid();
	if ((f == NULL) == (h == NULL))
		return vc_fail(ctx, VC_EINVAL, "params: give flow_id (with host) or hunt_id");
	if (f != NULL) {
		char host[200];

		if ((rc = client_of(ctx, pstr(p, "host", host, sizeof host), hid, cid, sizeof cid)) != 0)
			return rc;
		rc = vc_hunt_wait_flow(ctx, cid, f, (uint64_t)timeout, &last);
	} else
		rc = vc_hunt_wait_hunt(ctx, h, (uint64_t)timeout, &last);
	audit_forget(ctx);
	st = jv_is_valid(last) ? jv_object_get(jv_copy(last), jv_string("state")) : jv_invalid();
	if (jv_get_kind(st) == JV_KIND_STRING)
		snprintf(state, sizeof state, "%s", jv_string_value(st));
	jv_free(st);
	jv_free(last);
	if (rc != 0)
		return rc;
	*out = JV_OBJECT(jv_string(f != NULL ? "flow_id" : "hunt_id"), jv_string(f != NULL ? f : h),
	    jv_string("state"), jv_string(state));
	if (strcmp(state, "ERROR") == 0)
		return vc_fail(ctx, VC_EUNAVAIL, "flow %s ended in ERROR", f != NULL ? f : h);
	return 0;
}

/*
 * webhook: POST {playbook, execution_id, step, event, body} as JSON to an
 * http(s) URL whose host resolves to an address the installation allows
 * (net.h: not loopback, link-local or this machine's own unless allowed),
 * pinned to that address so that a second lookup cannot change it.
 */
static int
webhook(vc_ctx *ctx, struct exec *e, const char *step, jv p, int64_t timeout_ms, jv *out)
{
	char url[2049], host[256], addr[64], why[160], pin[400], ua[64];
	const char *u = pstr(p, "url", url, sizeof url), *hs, *he, *ps;
	int https, port, r;
	jv body;
	struct curl_slist *hdr = NULL;
	CURL *h;
	long status = 0;
	CURLcode cc;
	int rc;

	*out = jv_invalid();
	if (timeout_ms < 1)
		timeout_ms = 1;         /* curl would take 0 for no limit */
	if ((rc = need(ctx, u, "url")) != 0)
		return rc;
	https = strncmp(u, "https://", 8) == 0;
	if (!https && strncmp(u, "http://", 7) != 0)
		return vc_fail(ctx, VC_EINVAL, "params.url: an http:// or https:// URL");
	if (vc_has_ctrl(u, 0) || strchr(u, ' ') != NULL || strchr(u, '@') != NULL)
		return vc_fail(ctx, VC_EINVAL, "params.url: no spaces, control characters or user names");
	hs = u + (https ? 8 : 7);
	if (*hs == '[') {
		he = strchr(hs, ']');
		if (he == NULL)
			return vc_fail(ctx, VC_EINVAL, "params.url: an unclosed [");
		snprintf(host, sizeof host, "%.*s", (int)(he - hs - 1), hs + 1);
		ps = he + 1;
	} else {
		he = hs + strcspn(hs, ":/?#");
		snprintf(host, sizeof host, "%.*s", (int)(he - hs), hs);
		ps = he;
	}
	port = https ? 443 : 80;
	if (*ps == ':') {
		char *pe;

		port = (int)strtol(ps + 1, &pe, 10);
		ps = pe == ps + 1 ? "!" : pe;
	}
	/* A host of plain name characters (or an IPv6 literal), a port of
	 * digits, then the path: curl then reads the same host as we
	 * checked, and the pin below holds. */
	if (host[0] == '\0' || port < 1 || port > 65535 || (*ps != '\0' && !strchr("/?#", *ps)) ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") !=
	    strlen(host) || strchr(u, '\\') != NULL)
		return vc_fail(ctx, VC_EINVAL, "params.url: http(s)://HOST[:PORT]/PATH with a plain host"
		    " name or address (no escapes, user names or backslashes)");
	if ((r = vc_net_dest(host, port, addr, why, sizeof why)) != 0)
		return vc_fail(ctx, r == -2 ? VC_EPERM : VC_EUNAVAIL, "webhook %s: %s", host, why);
	body = JV_OBJECT(jv_string("playbook"), member(e->doc, "name"), jv_string("execution_id"),
	    jv_string(e->id), jv_string("step"), jv_string(step), jv_string("event"),
	    jv_copy(e->event), jv_string("body"), jv_object_has(jv_copy(p), jv_string("body")) ?
	    member(p, "body") : jv_null());
	body = jv_dump_string(body, 0);
	if ((rc = vc_curl_ready(ctx)) != 0) {
		jv_free(body);
		return rc;
	}
	if ((h = curl_easy_init()) == NULL) {
		jv_free(body);
		return vc_fail(ctx, VC_EINTERNAL, "cannot start libcurl");
	}
	snprintf(pin, sizeof pin, "%s%s%s:%d:%s:%d", strchr(host, ':') ? "[" : "", host,
	    strchr(host, ':') ? "]" : "", port, addr, port);
	snprintf(ua, sizeof ua, "User-Agent: vc-playbook/%s", VC_VERSION);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, ua);
	hdr = curl_slist_append(hdr, "Expect:");
	{
		struct curl_slist *to = curl_slist_append(NULL, pin);

		curl_easy_setopt(h, CURLOPT_URL, u);
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, to);
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, jv_string_value(body));
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)jv_string_length_bytes(jv_copy(body)));
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, vc_curl_discard);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 5000 ? timeout_ms : 5000));
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
		cc = curl_easy_perform(h);
		if (cc == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_slist_free_all(to);
	}
	if (cc != CURLE_OK)
		rc = vc_fail(ctx, VC_EUNAVAIL, "webhook %s: %s", host, curl_easy_strerror(cc));
	else if (status < 200 || status > 299)
		rc = vc_fail(ctx, VC_EUNAVAIL, "webhook %s answered HTTP %ld", host, status);
	else
		*out = JV_OBJECT(jv_string("status"), jv_number((double)status));
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	jv_free(body);
	return rc;
}

/*
 * The part of a net action that talks to its peer, no transaction open,
 * within the step's time (deadline, vc_mono_ms).  *timedout is set when the
 * peer did not finish in that time.
 */
static int wait_tick(vc_ctx *ctx, void *arg);

static int
net_part(vc_ctx *ctx, struct exec *e, int i, const char *action, jv params, int64_t deadline,
    int *timedout, jv *out)
{
	jv name = take(jv_array_get(jv_copy(e->steps), i), "name");
	int rc;

	if (strcmp(action, "isolate_host") == 0 || strcmp(action, "unisolate_host") == 0)
		rc = quarantine(ctx, params, strcmp(action, "isolate_host") == 0, deadline, out);
	else if (strcmp(action, "collect_artifact") == 0)
		rc = collect(ctx, params, left_s(deadline), out);
	else if (strcmp(action, "run_hunt") == 0)
		rc = run_hunt(ctx, e, jv_string_value(name), params, left_s(deadline), out);
	else if (strcmp(action, "wait_for") == 0) {
		ctx->tick = wait_tick;
		ctx->tick_arg = e;
		rc = wait_for(ctx, params, left_s(deadline), out);
		ctx->tick = NULL;
		ctx->tick_arg = NULL;
	}
	else
		rc = webhook(ctx, e, jv_string_value(name), params, deadline - vc_mono_ms(), out);
	jv_free(name);
	audit_forget(ctx);
	/* A peer that did not finish in time (VC_ETEMP from a wait, or
	 * any failure once the time is up) is the step's timeout, and a
	 * service that was unavailable, not a busy store to give up on. */
	if (rc != 0 && (rc == VC_ETEMP || vc_mono_ms() >= deadline))
		*timedout = 1;
	if (rc == VC_ETEMP)
		rc = ctx->err = VC_EUNAVAIL;
	return rc;
}

static int
act(vc_ctx *ctx, struct exec *e, const char *action, jv params, jv *out)
{
	int rc;

	*out = jv_invalid();
	if (strcmp(action, "send_notification") == 0)
		rc = act_notify(ctx, e, params, out);
	else if (strcmp(action, "send_email") == 0)
		rc = act_email(ctx, e, params, out);
	else if (strcmp(action, "create_case") == 0)
		rc = act_case(ctx, e, params, out);
	else if (strcmp(action, "add_label") == 0)
		rc = act_label(ctx, e, params, out, 1);
	else if (strcmp(action, "remove_label") == 0)
		rc = act_label(ctx, e, params, out, 0);
	else if (strcmp(action, "block_ip") == 0)
		rc = act_block(ctx, e, params, out);
	else
		rc = vc_fail(ctx, VC_EINVAL, "unknown action %s", action);
	audit_forget(ctx);
	if (rc != 0) {
		jv_free(*out);
		*out = jv_invalid();
	}
	return rc;
}

/* ---- the execution record --------------------------------------------- */

static int
terminal(const char *status)
{
	return strcmp(status, "running") != 0 && strcmp(status, "pending_approval") != 0;
}

/* The execution's claim lapsed and another runner holds it: this one
 * stops (the other goes on from the last record). */
static int
taken_over(vc_ctx *ctx, struct exec *e)
{
	e->lost = 1;
	return vc_fail(ctx, VC_ECONFLICT, "execution %s was taken over by another runner: this"
	    " one's claim lapsed", e->id);
}

/* Write the execution's steps and status in the open transaction; emit
 * playbook.execution.STATUS when told. */
static int
exec_write(vc_ctx *ctx, struct exec *e, const char *status, const char *error, int emit)
{
	jv text = jv_dump_string(jv_copy(e->steps), 0);
	int64_t now = vc_now(ctx);
	int changed = 0, run = strcmp(status, "running") == 0;
	/* Written only while the claim is this runner's (or nobody's: a
	 * waiting execution); a running one stays claimed, the rest not. */
	int rc = vc_sql_exec(ctx, "UPDATE playbook_executions SET status = ?3, steps = ?4, error = ?5,"
	    " updated_at = ?6, finished_at = CASE WHEN ?7 THEN ?6 ELSE NULL END,"
	    " claimed_by = CASE WHEN ?10 THEN ?8 END, claimed_until = CASE WHEN ?10 THEN ?9 ELSE 0 END"
	    " WHERE tenant_id = ?1 AND id = ?2 AND (claimed_by IS NULL OR claimed_by = ?8)", &changed,
	    "sssssiisii", ctx->who.tenant_id, e->id, status, jv_string_value(text), error, now,
	    (int64_t)terminal(status), e->holder, now + e->hold_s, (int64_t)run);
	char type[64];

	jv_free(text);
	if (rc == 0 && changed != 1)
		rc = taken_over(ctx, e);
	if (rc == 0)
		e->held_until = run ? now + e->hold_s : 0;
	if (rc == 0 && emit) {
		snprintf(type, sizeof type, "playbook.execution.%s", status);
		rc = vc_event_emit(ctx, type, JV_OBJECT(jv_string("execution_id"), jv_string(e->id),
		    jv_string("playbook_id"), jv_string(e->pb), jv_string("playbook"),
		    member(e->doc, "name"), jv_string("version"), jv_number((double)e->version),
		    jv_string("status"), jv_string(status), jv_string("error"),
		    error != NULL ? jv_string(error) : jv_null(), jv_string("by"),
		    jv_string(ctx->who.username)), NULL);
	}
	return rc;
}

/* What one of the short transactions below writes (vc_tx_run's arg). */
struct txw {
	struct exec *e;
	const char *status, *error, *id, *holder;
	int emit, changed, step;
	int64_t until, now;
};

static int
save_body(vc_ctx *ctx, void *arg)
{
	struct txw *w = arg;

	return exec_write(ctx, w->e, w->status, w->error, w->emit);
}

/* exec_write in a transaction of its own, written again when it gave
 * way to another (PostgreSQL's 40001: the record is still in memory). */
static int
exec_save(vc_ctx *ctx, struct exec *e, const char *status, const char *error, int emit)
{
	struct txw w = { .e = e, .status = status, .error = error, .emit = emit };

	return vc_tx_run(ctx, 0, save_body, &w);
}

static int
hold_body(vc_ctx *ctx, void *arg)
{
	struct txw *w = arg;

	return vc_sql_exec(ctx, "UPDATE playbook_executions SET claimed_until = ?4 WHERE tenant_id = ?1"
	    " AND id = ?2 AND claimed_by = ?3 AND status = 'running'", &w->changed, "sssi",
	    ctx->who.tenant_id, w->e->id, w->e->holder, w->until);
}

/* Hold the claim on a running execution until s seconds from now (a
 * step about to take that long): 0, or VC_ECONFLICT when it lapsed and
 * another runner holds it now. */
static int
claim_hold(vc_ctx *ctx, struct exec *e, int64_t s)
{
	struct txw w = { .e = e, .until = vc_now(ctx) + s };
	int rc;

	if (w.until <= e->held_until)
		return 0;
	if ((rc = vc_tx_run(ctx, 1, hold_body, &w)) != 0)
		return rc;
	if (w.changed != 1)
		return taken_over(ctx, e);
	e->held_until = w.until;
	return 0;
}

static int
cancel_asked(vc_ctx *ctx, struct exec *e)
{
	return vc_sql_int(ctx, vc_sql(ctx, "SELECT cancel_requested FROM playbook_executions"
	    " WHERE tenant_id = ?1 AND id = ?2", "ss", ctx->who.tenant_id, e->id)) == 1;
}

/*
 * Between the polls of a wait_for step (ctx->tick).  The step claims the
 * execution WAIT_HOLD_S at a time, not its whole timeout (up to an hour,
 * which a dead runner would hold): the claim is renewed here when the
 * store says it runs short, so that another runner takes over within a
 * minute and a half of a crash.  A cancel asked meanwhile ends the wait,
 * and so does a claim that went to another runner.
 */
static int
wait_tick(vc_ctx *ctx, void *arg)
{
	struct exec *e = arg;
	int64_t until = 0;
	int cancel = 0, ours = 0, r;
	vc_stmt *q = vc_sql(ctx, "SELECT cancel_requested, claimed_until, claimed_by FROM"
	    " playbook_executions WHERE tenant_id = ?1 AND id = ?2", "ss", ctx->who.tenant_id, e->id);

	if (q == NULL || (r = vc_sql_step(ctx, q)) < 0) {
		vc_stmt_done(q);
		return ctx->err;
	}
	if (r == 1) {
		cancel = vc_col_int64(q, 0) == 1;
		until = vc_col_int64(q, 1);
		ours = vc_col_text(q, 2) != NULL && strcmp((const char *)vc_col_text(q, 2), e->holder) == 0;
	}
	vc_stmt_done(q);
	if (cancel) {
		e->cancel_seen = 1;
		return vc_fail(ctx, VC_ECONFLICT, "cancelled while it waited");
	}
	if (!ours)
		return taken_over(ctx, e);
	if (until - vc_now(ctx) >= WAIT_HOLD_S)
		return 0;
	e->held_until = until;
	return claim_hold(ctx, e, WAIT_HOLD_S + CLAIM_MARGIN_S);
}

static void
sleep_ms(vc_ctx *ctx, int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	if (ctx->clock == NULL && ms > 0) {
		vc_wait_begin();
		nanosleep(&ts, NULL);
		vc_wait_end();
	}
}

/*
 * One attempt of step i within timeout seconds.  A network action talks
 * to its peer first, with no transaction open, each call bounded by what
 * is left of the time; then what the peer confirmed (for isolation, the
 * host's label and quarantine fields) is written with the step's record
 * and its audit record in one transaction, which is written whatever the
 * time: it records what happened.  A database action is that one
 * transaction alone, bounded by the time: waiting for the store's write
 * lock or running past it stops it, rolled back.  *timedout is set when
 * the attempt failed because its time ran out.
 */
static int
attempt(vc_ctx *ctx, struct exec *e, int i, const char *action, jv params, int n, int64_t timeout,
    int *timedout)
{
	char msg[sizeof ctx->errmsg];
	const struct vc_pb_action *a = vc_pb_action(action);
	jv out = jv_invalid(), peer = jv_invalid();
	int64_t deadline = vc_mono_ms() + timeout * 1000;
	int rc, on = strcmp(action, "isolate_host") == 0, net = a != NULL && a->net, late = 0;
	int tx_try = 1;

	*timedout = 0;
	if (net) {
		/* The peer first, no transaction open; then the change it
		 * confirmed, with the record. */
		rc = net_part(ctx, e, i, action, params, deadline, timedout, &peer);
		if (rc != 0) {
			if (jv_is_valid(peer))
				step_set(e, i, "output", peer);
			goto failed;
		}
	} else
		vc_store_deadline(ctx, deadline - vc_mono_ms());
	/* The transaction is made again when it gave way to another
	 * (PostgreSQL's 40001): nothing of it happened, and what the peer
	 * said is still in hand. */
again:
	out = jv_copy(peer);
	if ((rc = vc_tx_begin(ctx)) != 0) {
		jv_free(out);
		jv_free(peer);
		goto failed;
	}
	if (net && strstr(action, "isolate_host") == NULL) {
		rc = 0;         /* nothing to change here: the record alone */
	} else if (net) {
		jv hid = jv_object_get(jv_copy(out), jv_string("host_id")), lo, q;
		jv lp = JV_OBJECT(jv_string("host"), jv_copy(hid), jv_string("label"),
		    jv_string("quarantined"));

		rc = act(ctx, e, on ? "add_label" : "remove_label", lp, &lo);
		jv_free(lp);
		if (rc == 0) {
			out = jv_object_set(out, jv_string("labels"), jv_object_get(lo, jv_string("labels")));
			/* The host's own record of it, audited, and its event
			 * (with the playbook: it never fires on its own). */
			rc = vc_host_quarantine(ctx, jv_string_value(hid), on, e->id, JV_OBJECT(
			    jv_string("playbook_id"), jv_string(e->pb),
			    jv_string("step"), take(jv_array_get(jv_copy(e->steps), i), "name"),
			    jv_string("flow_id"), member(out, "flow_id"), jv_string("artifact"),
			    member(out, "artifact"), jv_string("result"), member(out, "result")), &q);
			if (rc == 0)
				out = jv_object_set(out, jv_string("quarantine"), q);
			else
				jv_free(q);
		}
		jv_free(hid);
		if (rc != 0) {
			jv_free(out);
			out = jv_invalid();
		}
	} else
		rc = act(ctx, e, action, params, &out);
	if (rc == 0) {
		step_set(e, i, "status", jv_string("succeeded"));
		step_set(e, i, "output", jv_copy(out));
		step_set(e, i, "attempts", jv_number(n));
		step_set(e, i, "finished_at", jv_number((double)vc_now_ms(ctx) / 1000));
		rc = exec_write(ctx, e, "running", NULL, 0);
		if (rc == 0)
			rc = vc_audit(ctx, ctx->who.tenant_id, "playbook.action", "playbook_execution",
			    e->id, "success", NULL, JV_OBJECT(jv_string("step"),
			    take(jv_array_get(jv_copy(e->steps), i), "name"), jv_string("action"),
			    jv_string(action), jv_string("params"), jv_copy(params), jv_string("output"),
			    jv_copy(out)));
		if (rc == 0 && (rc = vc_tx_commit(ctx)) == 0) {
			jv name = take(jv_array_get(jv_copy(e->steps), i), "name");

			vc_store_deadline(ctx, 0);
			e->outputs = jv_object_set(e->outputs, name, out);
			jv_free(peer);
			return 0;
		}
		jv_free(out);
	} else
		jv_free(out);
	snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	late = vc_store_past_deadline(ctx);
	vc_store_deadline(ctx, 0);      /* nothing may stop the rollback */
	vc_tx_rollback(ctx);
	if (!late && !e->lost && (net || deadline - vc_mono_ms() > 0) && vc_tx_again(ctx, tx_try++)) {
		if (!net)
			vc_store_deadline(ctx, deadline - vc_mono_ms());
		goto again;
	}
	jv_free(peer);
	snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", msg);
	ctx->err = rc;
failed:
	/* A database action's store is bounded by the step's time: a busy
	 * store is that time running out. */
	if (!net && (rc == VC_ETEMP || late || vc_store_past_deadline(ctx)))
		*timedout = 1;
	vc_store_deadline(ctx, 0);
	if (*timedout) {
		snprintf(msg, sizeof msg, "%s", ctx->errmsg);
		rc = vc_fail(ctx, rc, "timed out after %lld s: %s", (long long)timeout, msg);
	}
	return rc;
}

/* Audit a step's failure in a transaction of its own. */
static void
audit_failure(vc_ctx *ctx, struct exec *e, int i, const char *action, const char *why)
{
	for (int a = 1; vc_tx_begin(ctx) == 0; a++) {
		if (vc_audit(ctx, ctx->who.tenant_id, "playbook.action", "playbook_execution", e->id,
		    "failure", why, JV_OBJECT(jv_string("step"), take(jv_array_get(jv_copy(e->steps), i),
		    "name"), jv_string("action"), jv_string(action))) == 0 && vc_tx_commit(ctx) == 0)
			return;
		vc_tx_rollback(ctx);
		if (!vc_tx_again(ctx, a))
			return;
	}
}

/* A step's when (a jq program on the scope): 1 holds, 0 not (false,
 * null, an error, or a program that had to be stopped). */
static int
when_holds(vc_ctx *ctx, struct exec *e, jv def)
{
	struct vc_jq_limits lim = { .row_ms = 1000, .cpu_s = 2, .mem_mb = 256 };
	jv w = member(def, "when"), sc, text;
	struct vc_jq *jq = NULL;
	char err[200];
	int r = 1;

	if (jv_get_kind(w) == JV_KIND_STRING) {
		sc = scope(e);
		text = jv_dump_string(sc, 0);
		r = vc_jq_open(ctx, "when", jv_string_value(w), &lim, &jq) == 0 &&
		    vc_jq_test(ctx, jq, jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)),
		    err, sizeof err) == 1;
		vc_jq_close(jq);
		jv_free(text);
		ctx->err = 0;
		ctx->errmsg[0] = '\0';
	}
	jv_free(w);
	return r;
}

/*
 * Where a step taken over from a runner that died stands: the tries it
 * used (a try under way when it died counts: its network action may
 * have happened) and, in *why, the last one's error.  status is
 * "retrying" (between tries) or "running" (a network action's try under
 * way).
 */
static int
tries_used(struct exec *e, int i, const char *status, char *why, size_t n)
{
	jv st = jv_array_get(jv_copy(e->steps), i), err = member(st, "error");
	int used = (int)num(st, "attempts", 0);

	if (strcmp(status, "running") == 0) {
		used++;
		snprintf(why, n, "interrupted: the process running it stopped (it may have happened)");
		step_set(e, i, "interrupted", jv_true());
	} else
		snprintf(why, n, "%s", jv_get_kind(err) == JV_KIND_STRING ? jv_string_value(err) : "failed");
	jv_free(err);
	jv_free(st);
	return used;
}

/*
 * Run steps from start: each resolved, run with its retries, recorded.
 * Stops at a step that waits for approval (pending_approval), at a
 * failed step whose on_failure is stop, or at a cancel.  A step taken
 * over from a runner that died ("retrying", or a network action left
 * "running") goes on with the tries it has left.  Each try is claimed
 * for its timeout and a margin, each wait between tries for the wait;
 * a claim lost to another runner stops this one (VC_ECONFLICT).  0, or
 * the error of the store (a failed step is the execution's status, not
 * an error of the operation).
 */
static int
run_from(vc_ctx *ctx, struct exec *e, int start)
{
	int n = nsteps(e), rc;
	char buf[32];

	for (int i = start; i < n; i++) {
		jv def = step_def(e, i), params, sc;
		char why[300], action[64], lost[300] = "";
		int pending = 0, tries, ok = 0, last_to = 0, used = 0, resumed;
		int64_t backoff, t0, timeout;
		jv a = member(def, "action");
		const struct vc_pb_action *pa;

		snprintf(action, sizeof action, "%s", jv_string_value(a));
		jv_free(a);
		pa = vc_pb_action(action);
		step_status(e, i, buf, sizeof buf);
		resumed = strcmp(buf, "retrying") == 0 || strcmp(buf, "running") == 0;
		if (strcmp(buf, "pending") != 0 && strcmp(buf, "waiting") != 0 && !resumed) {
			jv_free(def);
			continue;
		}
		if (cancel_asked(ctx, e)) {
			for (int j = i; j < n; j++)
				step_set(e, j, "status", jv_string("skipped"));
			jv_free(def);
			return exec_save(ctx, e, "cancelled", "cancelled between steps", 1);
		}
		if (resumed)
			used = tries_used(e, i, buf, lost, sizeof lost);
		else if (!when_holds(ctx, e, def)) {
			step_set(e, i, "status", jv_string("skipped"));
			step_set(e, i, "error", jv_string("when: false"));
			jv_free(def);
			if ((rc = exec_save(ctx, e, "running", NULL, 0)) != 0)
				return rc;
			continue;
		}
		if (!resumed && is_true(def, "requires_approval")) {
			if (!e->approve && e->approved != i) {
				step_set(e, i, "status", jv_string("waiting"));
				step_set(e, i, "waiting_since", jv_number((double)vc_now(ctx)));
				jv_free(def);
				return exec_save(ctx, e, "pending_approval", NULL, 1);
			}
			step_set(e, i, "approved_by", jv_string(ctx->who.username));
		}
		sc = scope(e);
		params = vc_pb_render(member(def, "params"), sc, 0, &pending, why, sizeof why);
		jv_free(sc);
		t0 = vc_now_ms(ctx);
		if (!resumed)
			step_set(e, i, "started_at", jv_number((double)t0 / 1000));
		tries = 1 + (int)num(def, "retries", 0);
		backoff = (int64_t)(num(def, "backoff", 2) * 1000);
		timeout = (int64_t)num(def, "timeout", 60);
		if (!jv_is_valid(params)) {
			/* A reference to nothing fails the same way every time. */
			jv_free(params);
			step_set(e, i, "status", jv_string("failed"));
			step_set(e, i, "error", jv_string_fmt("params: %s", why));
			step_set(e, i, "attempts", jv_number(used));
			vc_fail(ctx, VC_EINVAL, "params: %s", why);
		} else if (used >= tries) {
			/* Taken over with no try left: the last one's failure. */
			jv_free(params);
			vc_fail(ctx, VC_EUNAVAIL, "%s", lost);
			step_set(e, i, "attempts", jv_number(used));
		} else {
			step_set(e, i, "params", jv_copy(params));
			for (int t = used + 1; t <= tries && !ok; t++) {
				int to = 0;

				/*
				 * A network action is recorded running before
				 * each try talks to its peer (a process killed
				 * meanwhile leaves it saying it may have
				 * happened); a database action is recorded in
				 * its own transaction, where it either happens
				 * or does not.  Either holds the claim for the
				 * try's time.
				 */
				e->hold_s = (strcmp(action, "wait_for") == 0 && timeout > WAIT_HOLD_S ?
				    WAIT_HOLD_S : timeout) + CLAIM_MARGIN_S;
				step_set(e, i, "status", jv_string("running"));
				rc = pa != NULL && pa->net ? exec_save(ctx, e, "running", NULL, 0) :
				    claim_hold(ctx, e, e->hold_s);
				if (rc != 0) {
					jv_free(params);
					jv_free(def);
					return rc;
				}
				if (t > used + 1 || resumed) {
					jv st = jv_array_get(jv_copy(e->steps), i);
					int64_t at = (int64_t)(num(st, "next_try_at", 0) * 1000);

					/* a wait another runner began ends when it
					 * would have */
					if (t == used + 1 && at > vc_now_ms(ctx))
						sleep_ms(ctx, at - vc_now_ms(ctx) < backoff << used ?
						    at - vc_now_ms(ctx) : backoff << used);
					st = jv_object_delete(st, jv_string("next_try_at"));
					e->steps = jv_array_set(e->steps, i, jv_object_delete(st,
					    jv_string("error")));
				}
				if ((rc = attempt(ctx, e, i, action, params, t, timeout, &to)) == 0)
					ok = 1;
				else if (e->lost) {
					jv_free(params);
					jv_free(def);
					return rc;
				} else if (e->cancel_seen) {
					step_set(e, i, "status", jv_string("failed"));
					step_set(e, i, "error", jv_string("cancelled while it waited"));
					step_set(e, i, "attempts", jv_number(t));
					step_set(e, i, "finished_at", jv_number((double)vc_now_ms(ctx) / 1000));
					for (int j = i + 1; j < n; j++)
						step_set(e, j, "status", jv_string("skipped"));
					jv_free(params);
					jv_free(def);
					return exec_save(ctx, e, "cancelled", "cancelled while a step waited", 1);
				} else if (!to && (rc == VC_ETEMP || rc == VC_EINTERNAL)) {
					/* the store or this process fails: say so in
					 * the record if it can still be written */
					char err[sizeof ctx->errmsg];

					snprintf(err, sizeof err, "%s", ctx->errmsg);
					e->hold_s = CLAIM_MARGIN_S;
					step_set(e, i, "status", jv_string("failed"));
					step_set(e, i, "error", jv_string(err));
					for (int j = i + 1; j < n; j++)
						step_set(e, j, "status", jv_string("skipped"));
					exec_save(ctx, e, "failed", err, 1);
					vc_fail(ctx, rc, "%s", err);
					jv_free(params);
					jv_free(def);
					return rc;
				} else {
					/* a failure, a timeout among them: tried again
					 * after the backoff (recorded, so that another
					 * runner goes on if this one dies), then
					 * on_failure decides */
					step_set(e, i, "attempts", jv_number(t));
					last_to = to;
					if (t < tries) {
						char err[sizeof ctx->errmsg];
						int64_t wait = backoff << (t - 1);
						int erc = ctx->err;

						snprintf(err, sizeof err, "%s", ctx->errmsg);
						step_set(e, i, "status", jv_string("retrying"));
						step_set(e, i, "error", jv_string(err));
						step_set(e, i, "next_try_at", jv_number((double)(vc_now_ms(ctx) +
						    wait) / 1000));
						e->hold_s = wait / 1000 + 1 + timeout + CLAIM_MARGIN_S;
						if ((rc = exec_save(ctx, e, "running", NULL, 0)) != 0) {
							jv_free(params);
							jv_free(def);
							return rc;
						}
						sleep_ms(ctx, wait);
						ctx->err = erc;
						snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", err);
					}
				}
			}
			jv_free(params);
		}
		e->hold_s = CLAIM_MARGIN_S;
		if (!ok) {
			char err[sizeof ctx->errmsg];

			snprintf(err, sizeof err, "%s", ctx->errmsg);
			step_set(e, i, "status", jv_string("failed"));
			step_set(e, i, "error", jv_string(err));
			if (last_to)
				step_set(e, i, "timed_out", jv_true());
			step_set(e, i, "finished_at", jv_number((double)vc_now_ms(ctx) / 1000));
			audit_failure(ctx, e, i, action, err);
			e->failed = 1;
			e->fail_rc = ctx->err ? ctx->err : VC_EINVAL;
			{
				jv sn = member(def, "name");

				snprintf(e->fail_msg, sizeof e->fail_msg, "step %s: %s", jv_string_value(sn), err);
				jv_free(sn);
			}
			if (!is_str(def, "on_failure", "continue")) {
				char whole[sizeof err + 80];
				jv sn = member(def, "name");

				for (int j = i + 1; j < n; j++)
					step_set(e, j, "status", jv_string("skipped"));
				snprintf(whole, sizeof whole, "step %s: %s", jv_string_value(sn), err);
				jv_free(sn);
				jv_free(def);
				return exec_save(ctx, e, "failed", whole, 1);
			}
			if ((rc = exec_save(ctx, e, "running", NULL, 0)) != 0) {
				jv_free(def);
				return rc;
			}
		}
		jv_free(def);
	}
	return exec_save(ctx, e, e->failed ? "failed" : "succeeded",
	    e->failed ? "a step failed (on_failure: continue)" : NULL, 1);
}

/* ---- starting one ------------------------------------------------------- */

/* This process's name on the executions it runs, and the claim's
 * length between steps. */
static void
exec_claimant(vc_ctx *ctx, struct exec *e)
{
	vc_claimant(ctx->who.username[0] != '\0' ? ctx->who.username : "vc-playbook", e->holder,
	    sizeof e->holder);
	e->hold_s = CLAIM_MARGIN_S;
}

static int
exec_prepare(vc_ctx *ctx, struct exec *e, const char *pb, int64_t version, jv event)
{
	jv row;
	int rc;

	memset(e, 0, sizeof *e);
	e->doc = e->steps = e->outputs = jv_invalid();
	e->event = event;
	e->approved = -1;
	exec_claimant(ctx, e);
	snprintf(e->pb, sizeof e->pb, "%s", pb);
	if ((rc = vc_pb_load(ctx, pb, version, &row)) != 0)
		return rc;
	e->version = (int64_t)num(row, "doc_version", 0);
	e->doc = member(row, "doc");
	jv_free(row);
	e->steps = jv_array();
	e->outputs = jv_object();
	for (int i = 0, n = nsteps(e); i < n; i++) {
		jv d = step_def(e, i);

		e->steps = jv_array_append(e->steps, JV_OBJECT(jv_string("name"), member(d, "name"),
		    jv_string("action"), member(d, "action"), jv_string("status"), jv_string("pending")));
		jv_free(d);
	}
	return 0;
}

/*
 * Insert the execution (running) with its idempotency key (NULL: none):
 * 0, or VC_ECONFLICT when that key ran already.  In its own transaction,
 * with the audit record and the started event.
 */
static int
exec_insert(vc_ctx *ctx, struct exec *e, const char *trigger, const char *key)
{
	jv steps = jv_dump_string(jv_copy(e->steps), 0);
	jv ev = jv_get_kind(e->event) == JV_KIND_OBJECT ? jv_dump_string(jv_copy(e->event), 0) :
	    jv_string("null");
	int64_t now = vc_now(ctx);
	int rc;

	vc_new_id(e->id);
	/* Written again when it gave way to another transaction; one that
	 * inserted the same key first makes it VC_ECONFLICT. */
	for (int a = 1; ; a++) {
		if ((rc = vc_tx_begin(ctx)) != 0)
			break;
		rc = vc_sql_exec(ctx, "INSERT INTO playbook_executions (id, tenant_id, playbook_id, version,"
		    " status, trigger, idem_key, event_id, event, steps, actor, created_at, updated_at,"
		    " claimed_by, claimed_until) VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6, NULLIF(?7, 0),"
		    " ?8, ?9, ?10, ?11, ?11, ?12, ?13)", NULL, "sssississsisi", e->id,
		    ctx->who.tenant_id, e->pb, e->version, trigger, key, e->event_id, jv_string_value(ev),
		    jv_string_value(steps), ctx->who.username, now, e->holder, now + e->hold_s);
		if (rc == 0)
			rc = vc_audit(ctx, ctx->who.tenant_id, "playbooks.execute", "playbook", e->pb,
			    "success", NULL, JV_OBJECT(jv_string("execution_id"), jv_string(e->id),
			    jv_string("version"), jv_number((double)e->version), jv_string("trigger"),
			    jv_string(trigger)));
		if (rc == 0)
			rc = exec_write(ctx, e, "running", NULL, 1);
		if (rc == 0 && (rc = vc_tx_commit(ctx)) == 0)
			break;
		vc_tx_rollback(ctx);
		if (!vc_tx_again(ctx, a))
			break;
	}
	jv_free(steps);
	jv_free(ev);
	return rc;
}

static int
exec_show(vc_ctx *ctx, const char *id, jv *out)
{
	vc_stmt *q = vc_sql(ctx, "SELECT e.id, e.playbook_id, p.name AS playbook, e.version,"
	    " e.status, e.trigger, e.event_id, e.event AS event_json, e.steps AS steps_json, e.actor,"
	    " e.error, e.cancel_requested AS cancel_requested_bool, e.created_at, e.updated_at,"
	    " e.finished_at FROM playbook_executions e JOIN playbooks p ON p.tenant_id = e.tenant_id"
	    " AND p.id = e.playbook_id WHERE e.tenant_id = ?1 AND e.id = ?2", "ss", ctx->who.tenant_id, id);

	if (q == NULL)
		return ctx->err;
	return vc_sql_one(ctx, q, "execution", out);
}

/* The event of --event: an object (over HTTP), or its JSON text (the
 * CLI, and HTTP as the first version took it); else VC_EUSAGE. */
static int
event_arg(vc_ctx *ctx, jv args, jv *ev)
{
	jv given = jv_object_get(jv_copy(args), jv_string("event"));
	const char *s = NULL;

	*ev = jv_null();
	if (jv_get_kind(given) == JV_KIND_OBJECT) {
		*ev = given;
		given = jv_invalid();
	} else if ((s = vc_arg_str(args, "event")) == NULL && (s = vc_arg_str(args, "event_file")) == NULL) {
		jv_free(given);
		return 0;
	}
	jv_free(given);
	if (s != NULL) {
		if (strlen(s) > EVENT_MAX)
			return vc_fail(ctx, VC_ETOOBIG, "--event: at most %d bytes", EVENT_MAX);
		*ev = jv_parse(s);
	}
	if (jv_get_kind(*ev) != JV_KIND_OBJECT) {
		jv_free(*ev);
		*ev = jv_null();
		return vc_fail(ctx, VC_EUSAGE, "--event: a JSON object");
	}
	/* An event of the log ({id, type, body}) stands for its body. */
	jv b = member(*ev, "body");

	if (jv_get_kind(b) == JV_KIND_OBJECT && jv_object_has(jv_copy(*ev), jv_string("type"))) {
		b = jv_object_set(b, jv_string("event_type"), member(*ev, "type"));
		if (jv_object_has(jv_copy(*ev), jv_string("id")))
			b = jv_object_set(b, jv_string("event_id"), member(*ev, "id"));
		jv_free(*ev);
		*ev = b;
	} else
		jv_free(b);
	return 0;
}

int
vc_op_pb_plan(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1];
	struct exec e;
	jv event, sc, steps;
	int rc;

	if ((rc = vc_pb_resolve(ctx, vc_arg_str(args, "id"), id)) != 0)
		return rc;
	if ((rc = event_arg(ctx, args, &event)) != 0)
		return rc;
	if ((rc = exec_prepare(ctx, &e, id, vc_arg_int(args, "at_version", 0), event)) != 0) {
		exec_release(&e);
		return rc;
	}
	steps = jv_array();
	snprintf(e.id, sizeof e.id, "(plan)");
	sc = scope(&e);
	for (int i = 0, n = nsteps(&e); i < n; i++) {
		jv def = step_def(&e, i), p;
		char why[300];
		int pending = 0;

		p = vc_pb_render(member(def, "params"), sc, 1, &pending, why, sizeof why);
		jv rec = JV_OBJECT(jv_string("step"), jv_number(i + 1), jv_string("name"),
		    member(def, "name"), jv_string("action"), member(def, "action"));
		if (jv_is_valid(p))
			rec = jv_object_set(rec, jv_string("params"), p);
		else {
			jv_free(p);
			rec = jv_object_set(rec, jv_string("error"), jv_string_fmt("params: %s", why));
		}
		rec = jv_object_set(rec, jv_string("requires_approval"), member(def, "requires_approval"));
		rec = jv_object_set(rec, jv_string("on_failure"), member(def, "on_failure"));
		if (jv_object_has(jv_copy(def), jv_string("when")))
			rec = jv_object_set(rec, jv_string("when"), member(def, "when"));
		if (pending)
			rec = jv_object_set(rec, jv_string("note"),
			    jv_string("some values come from earlier steps when it runs"));
		steps = jv_array_append(steps, rec);
		jv_free(def);
	}
	jv_free(sc);
	*out = JV_OBJECT(jv_string("plan"), jv_true(), jv_string("playbook_id"), jv_string(id),
	    jv_string("playbook"), member(e.doc, "name"), jv_string("version"),
	    jv_number((double)e.version), jv_string("event"), jv_copy(e.event), jv_string("steps"), steps);
	exec_release(&e);
	return 0;
}

int
vc_op_pb_run(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1], tt[16];
	struct exec e;
	jv event, row;
	int rc;

	if (vc_arg_bool(args, "dry_run"))
		return vc_op_pb_plan(ctx, args, out);
	if ((rc = vc_pb_resolve(ctx, vc_arg_str(args, "id"), id)) != 0)
		return rc;
	vc_audit_target(ctx, "playbook", id);
	if ((rc = vc_pb_load(ctx, id, 0, &row)) != 0)
		return rc;
	{
		jv t = member(row, "trigger_type");
		int on = is_true(row, "enabled");

		snprintf(tt, sizeof tt, "%s", jv_string_value(t));
		jv_free(t);
		jv_free(row);
		if (!on)
			return vc_fail(ctx, VC_ECONFLICT, "the playbook is disabled: enable it first");
	}
	/* Analysts run manual playbooks; the others, and approvals, are
	 * an admin's. */
	if (strcmp(tt, "manual") != 0 && ctx->who.role < VC_ROLE_ADMIN)
		return vc_fail(ctx, VC_EPERM, "only an admin runs a %s playbook by hand", tt);
	if (vc_arg_bool(args, "approve") && ctx->who.role < VC_ROLE_ADMIN)
		return vc_fail(ctx, VC_EPERM, "only an admin approves steps (--approve)");
	if ((rc = event_arg(ctx, args, &event)) != 0)
		return rc;
	if ((rc = exec_prepare(ctx, &e, id, vc_arg_int(args, "at_version", 0), event)) != 0) {
		exec_release(&e);
		return rc;
	}
	e.approve = vc_arg_bool(args, "approve");
	if (!e.approve)
		for (int i = 0, n = nsteps(&e); i < n; i++) {
			jv d = step_def(&e, i), ra = member(d, "requires_approval"), sn = member(d, "name");

			if (jv_get_kind(ra) == JV_KIND_TRUE) {
				rc = vc_fail(ctx, VC_EPERM, "step %s requires approval: run it with --approve"
				    " (an admin)", jv_string_value(sn));
			}
			jv_free(d);
			jv_free(ra);
			jv_free(sn);
			if (rc != 0) {
				exec_release(&e);
				return rc;
			}
		}
	if ((rc = exec_insert(ctx, &e, "manual", NULL)) == 0)
		rc = run_from(ctx, &e, 0);
	if (rc == 0)
		rc = exec_show(ctx, e.id, out);
	if (rc == 0 && e.failed)
		rc = vc_fail(ctx, e.fail_rc, "execution %s failed at %s", e.id, e.fail_msg);
	ctx->audited = 1;
	exec_release(&e);
	return rc;
}

int
vc_op_pb_execution(vc_ctx *ctx, jv args, jv *out)
{
	const char *id = vc_arg_str(args, "id");
	int rc;

	if (id == NULL || !vc_is_id(id))
		return vc_fail(ctx, VC_EUSAGE, "an execution id is a UUID");
	if ((rc = exec_show(ctx, id, out)) == VC_ENOTFOUND)
		return vc_not_found(ctx, "playbook_execution", "execution",
		    /* unscoped: existence check only, to audit a cross-tenant attempt */
		    "SELECT 1 FROM playbook_executions WHERE id = ?1", id);
	return rc;
}

int
vc_op_pb_executions(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1] = "";
	int64_t limit = vc_arg_int(args, "limit", LIST_DEF);
	vc_stmt *q;
	int rc;

	if (limit < 1 || limit > LIST_MAX)
		return vc_fail(ctx, VC_EUSAGE, "--limit must be 1 to %d", LIST_MAX);
	if (vc_arg_str(args, "id") != NULL && (rc = vc_pb_resolve(ctx, vc_arg_str(args, "id"), id)) != 0)
		return rc;
	q = vc_sql(ctx, "SELECT e.id, e.playbook_id, p.name AS playbook, e.version, e.status,"
	    " e.trigger, e.event_id, e.actor, e.error, e.created_at, e.finished_at"
	    " FROM playbook_executions e JOIN playbooks p ON p.tenant_id = e.tenant_id"
	    " AND p.id = e.playbook_id WHERE e.tenant_id = ?1 AND (?2 = '' OR e.playbook_id = ?2)"
	    " AND (?3 IS NULL OR e.status = ?3) ORDER BY e.created_at DESC, " VC_SQL2("e.rowid", "e.seq") " DESC LIMIT ?4",
	    "sssi", ctx->who.tenant_id, id, vc_arg_str(args, "status"), limit);
	if (q == NULL)
		return ctx->err;
	*out = vc_sql_rows(ctx, q);
	return jv_is_valid(*out) ? 0 : ctx->err;
}

/* Load a stored execution to go on with it. */
static int
exec_load(vc_ctx *ctx, const char *id, struct exec *e, jv *row)
{
	int rc;

	memset(e, 0, sizeof *e);
	e->doc = e->steps = e->outputs = e->event = jv_invalid();
	e->approved = -1;
	exec_claimant(ctx, e);
	{
		jv a = JV_OBJECT(jv_string("id"), jv_string(id != NULL ? id : ""));

		rc = vc_op_pb_execution(ctx, a, row);
		jv_free(a);
		if (rc != 0)
			return rc;
	}
	snprintf(e->id, sizeof e->id, "%s", id);
	{
		jv pb = member(*row, "playbook_id"), doc;

		snprintf(e->pb, sizeof e->pb, "%s", jv_string_value(pb));
		jv_free(pb);
		e->version = (int64_t)num(*row, "version", 0);
		e->event_id = (int64_t)num(*row, "event_id", 0);
		if ((rc = vc_pb_load(ctx, e->pb, e->version, &doc)) != 0)
			return rc;
		e->doc = member(doc, "doc");
		jv_free(doc);
	}
	e->event = member(*row, "event");
	e->steps = member(*row, "steps");
	e->outputs = jv_object();
	jv_array_foreach(e->steps, i, st) {
		jv o = member(st, "output");

		if (jv_is_valid(o) && jv_get_kind(o) != JV_KIND_NULL)
			e->outputs = jv_object_set(e->outputs, member(st, "name"), o);
		else
			jv_free(o);
		(void)i;
		jv_free(st);
	}
	return 0;
}

/* An approval takes the execution waiting at step w->step, audited. */
static int
approve_body(vc_ctx *ctx, void *arg)
{
	struct txw *w = arg;
	int rc;

	w->changed = 0;
	rc = vc_sql_exec(ctx, "UPDATE playbook_executions SET status = 'running', updated_at = ?3,"
	    " claimed_by = ?4, claimed_until = ?5"
	    " WHERE tenant_id = ?1 AND id = ?2 AND status = 'pending_approval'", &w->changed, "ssisi",
	    ctx->who.tenant_id, w->e->id, w->now, w->e->holder, w->now + w->e->hold_s);
	if (rc == 0 && w->changed == 1)
		rc = vc_audit(ctx, ctx->who.tenant_id, "playbooks.approve", "playbook_execution", w->e->id,
		    "success", NULL, JV_OBJECT(jv_string("step"), jv_number(w->step + 1)));
	return rc;
}

int
vc_op_pb_approve(vc_ctx *ctx, jv args, jv *out)
{
	const char *id = vc_arg_str(args, "id");
	struct exec e;
	jv row = jv_invalid();
	int rc, changed = 0, waiting = -1;
	struct txw w;
	char buf[32];

	vc_audit_target(ctx, "playbook_execution", id);
	if ((rc = exec_load(ctx, id, &e, &row)) != 0)
		goto done;
	for (int i = 0, n = jv_array_length(jv_copy(e.steps)); i < n; i++)
		if (strcmp(step_status(&e, i, buf, sizeof buf), "waiting") == 0)
			waiting = i;
	if (waiting < 0) {
		rc = vc_fail(ctx, VC_ECONFLICT, "execution %s waits for no approval", id);
		goto done;
	}
	{
		jv st = jv_array_get(jv_copy(e.steps), waiting);
		int64_t since = (int64_t)num(st, "waiting_since", 0);

		jv_free(st);
		/* Claimed by one approver: the status moves only once (each
		 * made again when it gave way to another: nothing has run). */
		if (vc_now(ctx) - since > VC_PB_APPROVAL_TTL) {
			step_set(&e, waiting, "status", jv_string("skipped"));
			rc = exec_save(ctx, &e, "expired", "no approval in time", 1);
			if (rc == 0)
				rc = vc_fail(ctx, VC_ECONFLICT, "the approval of execution %s expired", id);
			goto done;
		}
		w = (struct txw){ .e = &e, .step = waiting, .now = vc_now(ctx) };
		rc = vc_tx_run(ctx, 0, approve_body, &w);
		changed = w.changed;
		if (rc == 0 && changed != 1)
			rc = vc_fail(ctx, VC_ECONFLICT, "execution %s is not pending approval", id);
		if (rc == 0)
			e.held_until = vc_now(ctx) + e.hold_s;
		if (rc != 0)
			goto done;
	}
	e.approved = waiting;
	if ((rc = run_from(ctx, &e, waiting)) == 0)
		rc = exec_show(ctx, id, out);
	if (rc == 0 && e.failed)
		rc = vc_fail(ctx, e.fail_rc, "execution %s failed at %s", id, e.fail_msg);
	ctx->audited = 1;
done:
	jv_free(row);
	exec_release(&e);
	return rc;
}

int
vc_op_pb_cancel(vc_ctx *ctx, jv args, jv *out)
{
	const char *id = vc_arg_str(args, "id");
	struct exec e;
	jv row = jv_invalid(), st;
	int rc, changed = 0;

	vc_audit_target(ctx, "playbook_execution", id);
	if ((rc = exec_load(ctx, id, &e, &row)) != 0)
		goto done;
	st = member(row, "status");
	if (strcmp(jv_string_value(st), "pending_approval") == 0) {
		for (int i = 0, n = jv_array_length(jv_copy(e.steps)); i < n; i++) {
			char buf[32];

			if (strcmp(step_status(&e, i, buf, sizeof buf), "pending") == 0 ||
			    strcmp(buf, "waiting") == 0)
				step_set(&e, i, "status", jv_string("skipped"));
		}
		rc = exec_write(ctx, &e, "cancelled", "cancelled while waiting for approval", 1);
	} else if (strcmp(jv_string_value(st), "running") == 0) {
		/* The runner stops before its next step. */
		rc = vc_sql_exec(ctx, "UPDATE playbook_executions SET cancel_requested = 1"
		    " WHERE tenant_id = ?1 AND id = ?2 AND status = 'running'", &changed, "ss",
		    ctx->who.tenant_id, id);
	} else
		rc = vc_fail(ctx, VC_ECONFLICT, "execution %s is %s already", id, jv_string_value(st));
	jv_free(st);
	if (rc == 0)
		rc = exec_show(ctx, id, out);
done:
	jv_free(row);
	exec_release(&e);
	return rc;
}

/* ---- triggers ----------------------------------------------------------- */

static pthread_mutex_t tz_mu = PTHREAD_MUTEX_INITIALIZER;

int64_t
vc_pb_cron_next(const struct vc_pb_cron *cr, const char *tz, int64_t t)
{
	char *old;
	int64_t m = (t / 60 + 1) * 60, end = m + 366LL * 24 * 3600, found = -1;

	/* The time zone of the schedule: localtime_r under TZ, restored
	 * after.  Nothing else in the project uses local time (every time
	 * is formatted in UTC); the lock keeps two threads of vc-serve from
	 * changing TZ under each other. */
	pthread_mutex_lock(&tz_mu);
	old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	setenv("TZ", tz != NULL && *tz ? tz : "UTC", 1);
	tzset();
	for (; m < end; m += 60) {
		time_t tt = (time_t)m;
		struct tm tm;

		int dom, dow;

		localtime_r(&tt, &tm);
		dom = cr->f[2] >> tm.tm_mday & 1;
		dow = cr->f[4] >> tm.tm_wday & 1;
		/* Vixie cron: both day fields restricted, either matches */
		if ((cr->f[0] >> tm.tm_min & 1) && (cr->f[1] >> tm.tm_hour & 1) &&
		    (cr->f[3] >> (tm.tm_mon + 1) & 1) &&
		    (cr->dom_star || cr->dow_star ? dom && dow : dom || dow)) {
			found = m;
			break;
		}
	}
	if (old != NULL) {
		setenv("TZ", old, 1);
		free(old);
	} else
		unsetenv("TZ");
	tzset();
	pthread_mutex_unlock(&tz_mu);
	return found;
}

static int64_t
next_run(vc_ctx *ctx, jv norm, int64_t after)
{
	jv tr = member(norm, "trigger"), cron = member(tr, "cron"), tz = member(tr, "timezone");
	struct vc_pb_cron cr;
	char why[160];
	int64_t r = -1;

	(void)ctx;
	if (jv_get_kind(cron) == JV_KIND_STRING &&
	    vc_pb_cron_parse(jv_string_value(cron), &cr, why, sizeof why) == 0)
		r = vc_pb_cron_next(&cr, jv_get_kind(tz) == JV_KIND_STRING ? jv_string_value(tz) : "UTC",
		    after);
	jv_free(tr);
	jv_free(cron);
	jv_free(tz);
	return r;
}

int
vc_pb_schedule(vc_ctx *ctx, const char *id, jv norm)
{
	int64_t n = next_run(ctx, norm, vc_now(ctx));

	return vc_sql_exec(ctx, "UPDATE playbooks SET next_run_at = NULLIF(?3, -1)"
	    " WHERE tenant_id = ?1 AND id = ?2", NULL, "ssi", ctx->who.tenant_id, id, n);
}

/* The line of due --run for an execution it ran. */
static int
due_emit(vc_ctx *ctx, const char *id, const char *trigger, const char *key, jv *out)
{
	jv rec;
	int rc;

	if ((rc = exec_show(ctx, id, &rec)) != 0)
		return rc;
	vc_emit(ctx, JV_OBJECT(jv_string("execution_id"), member(rec, "id"), jv_string("playbook"),
	    member(rec, "playbook"), jv_string("trigger"), jv_string(trigger), jv_string("key"),
	    jv_string(key), jv_string("status"), member(rec, "status"), jv_string("error"),
	    member(rec, "error")), out);
	jv_free(rec);
	return 0;
}

/* Start and run one triggered execution unless its key ran already. */
static int
trigger_run(vc_ctx *ctx, const char *pb, jv event, int64_t event_id, const char *trigger,
    const char *key, jv *out)
{
	struct exec e;
	int rc;

	if ((rc = exec_prepare(ctx, &e, pb, 0, event)) != 0) {
		exec_release(&e);
		return rc;
	}
	e.event_id = event_id;
	rc = exec_insert(ctx, &e, trigger, key);
	if (rc == VC_ECONFLICT) {
		/* another process, or an earlier due, ran this one */
		ctx->err = 0;
		ctx->errmsg[0] = '\0';
		exec_release(&e);
		return 0;
	}
	if (rc == 0)
		rc = run_from(ctx, &e, 0);
	if (rc == 0)
		rc = due_emit(ctx, e.id, trigger, key, out);
	exec_release(&e);
	return rc;
}

/* Does the event (type, body) fire playbook doc?  *jq is the
 * playbook's condition, started on first use and kept for the batch
 * (one jq child a playbook, not one an event). */
static int
fires(vc_ctx *ctx, jv doc, const char *pb, const char *type, jv body, struct vc_jq **jq)
{
	jv tr = member(doc, "trigger"), evs = member(tr, "events"), cond = member(tr, "condition");
	jv bpb = member(body, "playbook_id");
	int hit = 0;

	/* A playbook never fires on its own executions' events (no loop). */
	if (jv_get_kind(bpb) == JV_KIND_STRING && strcmp(jv_string_value(bpb), pb) == 0)
		goto out;
	jv_array_foreach(evs, i, g) {
		char pat[128];

		(void)i;
		snprintf(pat, sizeof pat, "%s", jv_string_value(g));
		jv_free(g);
		if (!hit && vc_sql_int(ctx, vc_sql(ctx, "SELECT ?1 GLOB ?2", "ss", type, pat)) == 1)
			hit = 1;
	}
	if (hit && jv_get_kind(cond) == JV_KIND_STRING) {
		struct vc_jq_limits lim = { .row_ms = 1000, .cpu_s = 10, .mem_mb = 256 };
		jv text = jv_dump_string(jv_copy(body), 0);
		char err[200];
		int r = -1;

		/* A condition that fails or runs out of time on an event
		 * does not fire; a stopped child is started again for the
		 * next one. */
		if (*jq != NULL || vc_jq_open(ctx, "condition", jv_string_value(cond), &lim, jq) == 0)
			r = vc_jq_test(ctx, *jq, jv_string_value(text),
			    (size_t)jv_string_length_bytes(jv_copy(text)), err, sizeof err);
		if (r < 0) {
			vc_jq_close(*jq);
			*jq = NULL;
		}
		hit = r == 1;
		jv_free(text);
		ctx->err = 0;
		ctx->errmsg[0] = '\0';
	}
out:
	jv_free(bpb);
	jv_free(tr);
	jv_free(evs);
	jv_free(cond);
	return hit;
}

static int
lease_body(vc_ctx *ctx, void *arg)
{
	struct txw *w = arg;
	int rc = vc_sql_exec(ctx, "INSERT OR IGNORE INTO playbook_cursors (tenant_id) VALUES (?1)", NULL,
	    "s", ctx->who.tenant_id);

	w->changed = 0;
	if (rc == 0)
		rc = vc_sql_exec(ctx, "UPDATE playbook_cursors SET lease_until = ?2, lease_holder = ?3"
		    " WHERE tenant_id = ?1 AND lease_until < ?4", &w->changed, "sisi", ctx->who.tenant_id,
		    w->now + LEASE_S, w->holder, w->now);
	return rc;
}

/* The tenant's event triggers over the events after the cursor. */
static int
due_events(vc_ctx *ctx, int run, jv *out)
{
	char holder[VC_ID_LEN + 1];
	int64_t cursor, last, now = vc_now(ctx);
	vc_stmt *q;
	struct vc_jq **jqs;
	jv evs, pbs;
	int rc, changed = 0, npb;

	vc_new_id(holder);
	if (!run) {
		cursor = vc_sql_int(ctx, vc_sql(ctx, "SELECT cursor FROM playbook_cursors WHERE tenant_id = ?1",
		    "s", ctx->who.tenant_id));
		q = vc_sql(ctx, "SELECT COUNT(*) FROM events WHERE tenant_id = ?1 AND id > ?2", "si",
		    ctx->who.tenant_id, cursor < 0 ? 0 : cursor);
		vc_emit(ctx, JV_OBJECT(jv_string("events_due"), jv_number((double)vc_sql_int(ctx, q))), out);
		return 0;
	}
	/* The lease: one due at a time reads a tenant's events. */
	{
		struct txw w = { .holder = holder, .now = now };

		if ((rc = vc_tx_run(ctx, 0, lease_body, &w)) != 0)
			return rc;
		changed = w.changed;
	}
	if (changed != 1)
		return 0;       /* another due holds it; the key would stop a double run anyway */
	cursor = vc_sql_int(ctx, vc_sql(ctx, "SELECT cursor FROM playbook_cursors WHERE tenant_id = ?1",
	    "s", ctx->who.tenant_id));
	q = vc_sql(ctx, "SELECT id, type, body AS body_json FROM events WHERE tenant_id = ?1 AND id > ?2"
	    " ORDER BY id LIMIT ?3", "sii", ctx->who.tenant_id, cursor, (int64_t)DUE_BATCH);
	evs = q != NULL ? vc_sql_rows(ctx, q) : jv_invalid();
	q = vc_sql(ctx, "SELECT p.id, v.doc AS doc_json FROM playbooks p JOIN playbook_versions v"
	    " ON v.tenant_id = p.tenant_id AND v.playbook_id = p.id AND v.version = p.version"
	    " WHERE p.tenant_id = ?1 AND p.enabled = 1 AND p.deleted_at IS NULL"
	    " AND p.trigger_type = 'event' ORDER BY p.name", "s", ctx->who.tenant_id);
	pbs = q != NULL ? vc_sql_rows(ctx, q) : jv_invalid();
	if (!jv_is_valid(evs) || !jv_is_valid(pbs)) {
		jv_free(evs);
		jv_free(pbs);
		return ctx->err ? ctx->err : VC_EINTERNAL;
	}
	last = cursor;
	rc = 0;
	npb = jv_array_length(jv_copy(pbs));
	if ((jqs = calloc((size_t)npb + 1, sizeof *jqs)) == NULL) {
		jv_free(evs);
		jv_free(pbs);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	jv_array_foreach(evs, i, ev) {
		jv type = member(ev, "type"), body = member(ev, "body");
		int64_t eid = (int64_t)num(ev, "id", 0);

		(void)i;
		jv_array_foreach(pbs, j, pb) {
			jv pid = member(pb, "id"), doc = member(pb, "doc");
			char key[40];

			if (rc == 0 && fires(ctx, doc, jv_string_value(pid), jv_string_value(type), body,
			    &jqs[j])) {
				jv event = jv_object_set(jv_object_set(jv_copy(body), jv_string("event_id"),
				    jv_number((double)eid)), jv_string("event_type"), jv_copy(type));

				snprintf(key, sizeof key, "event:%lld", (long long)eid);
				rc = trigger_run(ctx, jv_string_value(pid), event, eid, "event", key, out);
			}
			jv_free(pid);
			jv_free(doc);
			jv_free(pb);
		}
		if (rc == 0)
			last = eid;
		jv_free(type);
		jv_free(body);
		jv_free(ev);
	}
	for (int k = 0; k < npb; k++)
		vc_jq_close(jqs[k]);
	free(jqs);
	jv_free(evs);
	jv_free(pbs);
	/* Move the cursor and give the lease back (only ours). */
	for (int a = 1; vc_tx_begin(ctx) == 0; a++) {
		if (vc_sql_exec(ctx, "UPDATE playbook_cursors SET cursor = MAX(cursor, ?2), lease_until = 0"
		    " WHERE tenant_id = ?1 AND lease_holder = ?3", NULL, "sis", ctx->who.tenant_id, last,
		    holder) == 0 && vc_tx_commit(ctx) == 0)
			break;
		vc_tx_rollback(ctx);
		if (!vc_tx_again(ctx, a))
			break;
	}
	return rc;
}

/* Scheduled playbooks whose time came: each slot claimed by moving
 * next_run_at from the value read (compare and set), and keyed by it. */
static int
due_schedules(vc_ctx *ctx, int run, jv *out)
{
	int64_t now = vc_now(ctx);
	vc_stmt *q = vc_sql(ctx, "SELECT p.id, p.name, p.next_run_at AS slot, v.doc AS doc_json"
	    " FROM playbooks p JOIN playbook_versions v ON v.tenant_id = p.tenant_id"
	    " AND v.playbook_id = p.id AND v.version = p.version WHERE p.tenant_id = ?1 AND p.enabled = 1"
	    " AND p.deleted_at IS NULL AND p.trigger_type = 'scheduled' AND p.next_run_at <= ?2"
	    " ORDER BY p.next_run_at", "si", ctx->who.tenant_id, now);
	jv pbs = q != NULL ? vc_sql_rows(ctx, q) : jv_invalid();
	int rc = 0;

	if (!jv_is_valid(pbs))
		return ctx->err;
	jv_array_foreach(pbs, i, pb) {
		jv pid = member(pb, "id"), doc = member(pb, "doc");
		int64_t slot = (int64_t)num(pb, "slot", 0), next = next_run(ctx, doc, now);
		char key[40];
		int changed = 0;

		(void)i;
		if (!run)
			vc_emit(ctx, JV_OBJECT(jv_string("playbook"), member(pb, "name"), jv_string("due_at"),
			    jv_number((double)slot)), out);
		else if (rc == 0) {
			for (int a = 1; (rc = vc_tx_begin(ctx)) == 0; a++) {
				rc = vc_sql_exec(ctx, "UPDATE playbooks SET next_run_at = NULLIF(?3, -1) WHERE"
				    " tenant_id = ?1 AND id = ?2 AND next_run_at = ?4", &changed, "ssii",
				    ctx->who.tenant_id, jv_string_value(pid), next, slot);
				if (rc == 0 && (rc = vc_tx_commit(ctx)) == 0)
					break;
				vc_tx_rollback(ctx);
				if (!vc_tx_again(ctx, a))
					break;
			}
			snprintf(key, sizeof key, "cron:%lld", (long long)slot);
			if (rc == 0 && changed == 1)
				rc = trigger_run(ctx, jv_string_value(pid), jv_null(), 0, "scheduled", key, out);
		}
		jv_free(pid);
		jv_free(doc);
		jv_free(pb);
	}
	jv_free(pbs);
	return rc;
}

/* Claim one running execution of the tenant whose claim lapsed, for
 * holder: 1 and its id, 0 when there is none, or an error. */
static int
claim_lapsed(vc_ctx *ctx, const char *holder, char id[VC_ID_LEN + 1])
{
	int64_t now = vc_now(ctx);
	vc_stmt *q;
	int rc;

	for (int a = 1; ; a++) {
		id[0] = '\0';
		if ((rc = vc_tx_begin_claim(ctx)) != 0)
			return rc;
		q = vc_sql(ctx, "UPDATE playbook_executions SET claimed_by = ?3, claimed_until = ?4"
		    " WHERE tenant_id = ?1 AND id = (SELECT id FROM playbook_executions WHERE tenant_id = ?1"
		    " AND status = 'running' AND claimed_until < ?2 ORDER BY claimed_until, id LIMIT 1"
		    VC_SQL2("", " FOR UPDATE SKIP LOCKED") ") RETURNING id", "sisi", ctx->who.tenant_id, now,
		    holder, now + CLAIM_MARGIN_S);
		if (q != NULL && vc_sql_step(ctx, q) == 1)
			snprintf(id, VC_ID_LEN + 1, "%s", (const char *)vc_col_text(q, 0));
		vc_stmt_done(q);
		if (ctx->err == 0 && (rc = vc_tx_commit(ctx)) == 0)
			return id[0] != '\0';
		rc = ctx->err ? ctx->err : rc;
		vc_tx_rollback(ctx);
		if (!vc_tx_again(ctx, a))
			return rc;
	}
}

static int
refuse_body(vc_ctx *ctx, void *arg)
{
	struct txw *w = arg;
	int rc = vc_sql_exec(ctx, "UPDATE playbook_executions SET status = 'failed', error = ?4,"
	    " finished_at = ?5, updated_at = ?5, claimed_by = NULL, claimed_until = 0"
	    " WHERE tenant_id = ?1 AND id = ?2 AND claimed_by = ?3", NULL, "sssi",
	    ctx->who.tenant_id, w->id, w->holder, w->error, vc_now(ctx));

	if (rc == 0)
		rc = vc_audit(ctx, ctx->who.tenant_id, "playbooks.resume", "playbook_execution", w->id,
		    "failure", w->error, jv_invalid());
	return rc;
}

static int
resume_body(vc_ctx *ctx, void *arg)
{
	struct txw *w = arg;

	return vc_audit(ctx, ctx->who.tenant_id, "playbooks.resume", "playbook_execution", w->id,
	    "success", NULL, JV_OBJECT(jv_string("by"), jv_string(w->holder)));
}

/* An execution that cannot be carried on (its playbook's version is
 * gone): failed, so that it is not taken over again and again. */
static int
resume_refused(vc_ctx *ctx, const char *id, const char *holder)
{
	char why[sizeof ctx->errmsg + 40];
	struct txw w = { .id = id, .holder = holder, .error = why };

	snprintf(why, sizeof why, "could not be taken over: %s", ctx->errmsg);
	return vc_tx_run(ctx, 0, refuse_body, &w);
}

/*
 * The tenant's executions left running by a runner that died (their
 * claim lapsed): each claimed by this process (FOR UPDATE SKIP LOCKED on
 * PostgreSQL, so that instances taking them at once pass over each
 * other's), audited, and carried on from the step it had reached.
 * Without run, how many there are (a line only when there are some).
 */
static int
due_resume(vc_ctx *ctx, int run, jv *out)
{
	int rc = 0;

	if (!run) {
		int64_t k = vc_sql_int(ctx, vc_sql(ctx, "SELECT COUNT(*) FROM playbook_executions"
		    " WHERE tenant_id = ?1 AND status = 'running' AND claimed_until < ?2", "si",
		    ctx->who.tenant_id, vc_now(ctx)));

		if (k < 0)
			return ctx->err;
		if (k > 0)
			vc_emit(ctx, JV_OBJECT(jv_string("executions_lapsed"), jv_number((double)k)), out);
		return 0;
	}
	for (int k = 0; k < RESUME_BATCH && rc == 0; k++) {
		char id[VC_ID_LEN + 1], holder[160];
		struct exec e;
		jv row = jv_invalid();

		vc_claimant(ctx->who.username[0] != '\0' ? ctx->who.username : "vc-playbook", holder,
		    sizeof holder);
		if ((rc = claim_lapsed(ctx, holder, id)) != 1)
			return rc;
		if ((rc = exec_load(ctx, id, &e, &row)) != 0) {
			rc = resume_refused(ctx, id, holder);
		} else {
			struct txw w = { .id = id, .holder = holder };

			snprintf(e.holder, sizeof e.holder, "%s", holder);
			e.held_until = vc_now(ctx) + CLAIM_MARGIN_S;
			rc = vc_tx_run(ctx, 0, resume_body, &w);
			if (rc == 0)
				rc = run_from(ctx, &e, 0);
			if (rc == 0)
				rc = due_emit(ctx, id, "resumed", id, out);
			if (e.lost) {
				/* a third runner has it now: not this one's failure */
				ctx->err = 0;
				ctx->errmsg[0] = '\0';
				rc = 0;
			}
		}
		jv_free(row);
		exec_release(&e);
	}
	return rc;
}

/* The lock one due --run of a tenant holds across every instance. */
static void
due_lock(const vc_ctx *ctx, char *out, size_t n)
{
	snprintf(out, n, "vc-playbook due %s", ctx->who.tenant_id);
}

/* One tenant's due work under its lock: 0 (with busy set when another
 * instance holds the lock), or an error. */
static int
due_run(vc_ctx *ctx, jv *out, int *busy)
{
	char lock[128];
	int rc, got;

	due_lock(ctx, lock, sizeof lock);
	*busy = 0;
	if ((got = vc_store_trylock(ctx, lock)) < 0)
		return ctx->err;
	if (got == 0) {
		*busy = 1;
		return 0;
	}
	if ((rc = due_schedules(ctx, 1, out)) == 0 && (rc = due_events(ctx, 1, out)) == 0)
		rc = due_resume(ctx, 1, out);
	vc_store_unlock(ctx, lock);
	return rc;
}

int
vc_pb_due_all(vc_ctx *ctx, const char *actor, int *ran)
{
	/* unscoped: the tenants with triggers or executions to take over, to run each in its own name */
	vc_stmt *q = vc_sql(ctx, "SELECT tenant_id FROM playbooks WHERE enabled = 1"
	    " AND deleted_at IS NULL AND trigger_type IN ('event', 'scheduled') UNION"
	    " SELECT tenant_id FROM playbook_executions WHERE status = 'running' AND claimed_until < ?1"
	    " ORDER BY tenant_id", "i", vc_now(ctx));
	jv tenants = q != NULL ? vc_sql_rows(ctx, q) : jv_invalid();
	int rc = 0;

	*ran = 0;
	if (!jv_is_valid(tenants))
		return ctx->err;
	jv_array_foreach(tenants, i, t) {
		jv id = jv_object_get(t, jv_string("tenant_id")), out = jv_array();
		int r, busy;

		(void)i;
		memset(&ctx->who, 0, sizeof ctx->who);
		ctx->who.actor = VC_ACTOR_SYSTEM;
		ctx->who.role = VC_ROLE_ADMIN;
		snprintf(ctx->who.tenant_id, sizeof ctx->who.tenant_id, "%s", jv_string_value(id));
		snprintf(ctx->who.username, sizeof ctx->who.username, "%s", actor);
		r = due_run(ctx, &out, &busy);
		*ran += jv_array_length(jv_copy(out));
		if (r != 0 && rc == 0)
			rc = r;         /* the next tenant still runs */
		jv_free(out);
		jv_free(id);
	}
	jv_free(tenants);
	memset(&ctx->who, 0, sizeof ctx->who);
	return rc;
}

int
vc_op_pb_due(vc_ctx *ctx, jv args, jv *out)
{
	int run = vc_arg_bool(args, "run"), rc, busy = 0;

	*out = jv_array();
	if (run)
		rc = due_run(ctx, out, &busy);
	else if ((rc = due_schedules(ctx, 0, out)) == 0 && (rc = due_events(ctx, 0, out)) == 0)
		rc = due_resume(ctx, 0, out);
	/* Another instance runs them now: nothing to do here, and no
	 * failure (a cron job beside vc-serve's scheduler). */
	if (rc == 0 && busy)
		vc_emit(ctx, JV_OBJECT(jv_string("busy"), jv_string("another instance is running"
		    " this tenant's due playbooks")), out);
	ctx->audited = 1;       /* each execution audited itself */
	return rc;
}
