/* SPDX-License-Identifier: MIT */
/*
 * playbook.c - playbook documents: reading (JSON or YAML), checking with
 * the path of every error, normalising the original's shape, templating,
 * and the playbooks' store (versions, enable, delete).  The executions
 * are in pbrun.c, the blocklist in blocklist.c.  See playbook.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "allowlist.h"
#include "core/audit.h"
#include "core/records.h"
#include "core/store.h"
#include "json/jqprog.h"
#include "json/jsonl.h"
#include "pbint.h"
#include "playbook.h"

#define DOC_MAX (1024 * 1024)
#define YAML_NODES 20000
#define NAME_MAX_ 100
#define STEPS_MAX 50
#define LIST_MAX 1000

/* ---- the actions ------------------------------------------------------- */

/* Parameters: a leading '!' marks a required one. */
const struct vc_pb_action vc_pb_actions[] = {
	{ "send_notification", { "!message", "title", "to", NULL }, { "notification_id", "event_id", NULL } },
	{ "send_email", { "!to", "!subject", "!body", NULL }, { "outbox_id", "to", NULL } },
	{ "create_case", { "!title", "description", "severity", "host", "tags", NULL },
	  { "case_id", "title", NULL } },
	{ "add_label", { "!host", "!label", NULL }, { "host_id", "labels", NULL } },
	{ "remove_label", { "!host", "!label", NULL }, { "host_id", "labels", NULL } },
	{ "block_ip", { "!address", "reason", "expires", NULL }, { "entry_id", "address", NULL } },
	{ "isolate_host", { "!host", "artifact", NULL },
	  { "host_id", "client_id", "flow_id", "artifact", "result", "labels", "quarantine", NULL }, 1 },
	{ "unisolate_host", { "!host", "artifact", NULL },
	  { "host_id", "client_id", "flow_id", "artifact", "result", "labels", "quarantine", NULL }, 1 },
	{ "collect_artifact", { "!host", "!artifact", "params", "wait", NULL },
	  { "host_id", "client_id", "flow_id", "artifact", "state", NULL }, 1 },
	{ "webhook", { "!url", "body", NULL }, { "status", NULL }, 1 },
	{ "run_hunt", { "!artifact", "params", "description", "os", "label", "wait", NULL },
	  { "hunt_id", "artifact", "state", NULL }, 1 },
	{ "wait_for", { "flow_id", "host", "hunt_id", NULL }, { "flow_id", "hunt_id", "state", NULL }, 1 },
	{ NULL, { NULL }, { NULL }, 0 }
};

const struct vc_pb_action *
vc_pb_action(const char *name)
{
	for (const struct vc_pb_action *a = vc_pb_actions; a->name != NULL; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

/* ---- reading a document ------------------------------------------------ */

/* A plain YAML scalar as JSON: null, booleans and numbers by their
 * spelling (YAML 1.2's core schema), anything else a string. */
static jv
yaml_plain(const char *s, size_t n)
{
	char buf[64], *end;
	double d;

	if (n == 0 || (n == 1 && s[0] == '~') || (n == 4 && memcmp(s, "null", 4) == 0))
		return jv_null();
	if (n == 4 && memcmp(s, "true", 4) == 0)
		return jv_true();
	if (n == 5 && memcmp(s, "false", 5) == 0)
		return jv_false();
	if (n < sizeof buf && (isdigit((unsigned char)s[0]) || s[0] == '-')) {
		memcpy(buf, s, n);
		buf[n] = '\0';
		d = strtod(buf, &end);
		if (*end == '\0' && end != buf)
			return jv_number(d);
	}
	return jv_string_sized(s, (int)n);
}

static jv
yaml_node(yaml_document_t *doc, yaml_node_t *nd, int depth, long *budget)
{
	if (nd == NULL || depth > 64 || --*budget < 0)
		return jv_invalid_with_msg(jv_string("too deep or too large"));
	if (nd->type == YAML_SCALAR_NODE) {
		const char *s = (const char *)nd->data.scalar.value;
		size_t n = nd->data.scalar.length;

		return nd->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? yaml_plain(s, n) :
		    jv_string_sized(s, (int)n);
	}
	if (nd->type == YAML_SEQUENCE_NODE) {
		jv a = jv_array();

		for (yaml_node_item_t *it = nd->data.sequence.items.start;
		    it < nd->data.sequence.items.top; it++) {
			jv v = yaml_node(doc, yaml_document_get_node(doc, *it), depth + 1, budget);

			if (!jv_is_valid(v)) {
				jv_free(a);
				return v;
			}
			a = jv_array_append(a, v);
		}
		return a;
	}
	if (nd->type == YAML_MAPPING_NODE) {
		jv o = jv_object();

		for (yaml_node_pair_t *p = nd->data.mapping.pairs.start;
		    p < nd->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			jv v;

			if (k == NULL || k->type != YAML_SCALAR_NODE) {
				jv_free(o);
				return jv_invalid_with_msg(jv_string("a key must be text"));
			}
			v = yaml_node(doc, yaml_document_get_node(doc, p->value), depth + 1, budget);
			if (!jv_is_valid(v)) {
				jv_free(o);
				return v;
			}
			o = jv_object_set(o, jv_string_sized((const char *)k->data.scalar.value,
			    (int)k->data.scalar.length), v);
		}
		return o;
	}
	return jv_null();
}

/* The one document of a YAML text, or VC_EINVAL naming the line. */
static int
yaml_doc(vc_ctx *ctx, const char *name, const char *buf, size_t n, jv *out)
{
	yaml_parser_t p;
	yaml_document_t d;
	long budget = YAML_NODES;
	int rc = 0;

	if (!yaml_parser_initialize(&p))
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, n);
	if (!yaml_parser_load(&p, &d)) {
		rc = vc_fail(ctx, VC_EINVAL, "%s: YAML line %lu: %s", name,
		    (unsigned long)p.problem_mark.line + 1, p.problem ? p.problem : "syntax error");
	} else {
		*out = yaml_node(&d, yaml_document_get_root_node(&d), 0, &budget);
		yaml_document_delete(&d);
		if (!jv_is_valid(*out)) {
			jv msg = jv_invalid_get_msg(*out);

			rc = vc_fail(ctx, VC_EINVAL, "%s: %s", name, jv_get_kind(msg) == JV_KIND_STRING ?
			    jv_string_value(msg) : "not a document");
			jv_free(msg);
		}
	}
	yaml_parser_delete(&p);
	return rc;
}

int
vc_pb_read_doc(vc_ctx *ctx, jv *doc)
{
	char *buf;
	size_t n = 0;
	int r, rc = 0;

	if (ctx->in == NULL)
		return vc_fail(ctx, VC_EUSAGE, "give the playbook as a file or on stdin");
	if ((buf = malloc(DOC_MAX + 2)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	while ((r = vc_jsonl_next_raw(ctx, ctx->in)) == 1) {
		if (n + ctx->in->len + 1 > DOC_MAX) {
			free(buf);
			return vc_fail(ctx, VC_ETOOBIG, "%s: a playbook is at most %d bytes",
			    ctx->in->name, DOC_MAX);
		}
		memcpy(buf + n, ctx->in->buf, ctx->in->len);
		n += ctx->in->len;
		buf[n++] = '\n';
	}
	if (r < 0) {
		free(buf);
		return ctx->err;
	}
	buf[n] = '\0';
	/* JSON first (the original's body), YAML else: JSON is YAML, but
	 * jq's parser says more precisely what is wrong with JSON. */
	*doc = jv_parse_sized(buf, (int)n);
	if (!jv_is_valid(*doc)) {
		jv_free(*doc);
		*doc = jv_invalid();
		rc = yaml_doc(ctx, ctx->in->name, buf, n, doc);
	}
	free(buf);
	return rc;
}

/* ---- checking ----------------------------------------------------------- */

struct chk {
	vc_ctx *ctx;
	jv errors;
	jv names;               /* step name -> its action (the steps so far) */
};

static void
bad(struct chk *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
bad(struct chk *c, const char *path, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->errors = jv_array_append(c->errors, JV_OBJECT(jv_string("path"), jv_string(path),
	    jv_string("error"), jv_string(msg)));
}

/* Report each member of o not in known[] as unknown, under prefix. */
static void
unknown_members(struct chk *c, const char *prefix, jv o, const char *const *known)
{
	jv_object_foreach(o, k, v) {
		int ok = 0;
		char sub[200];

		for (int j = 0; known[j]; j++)
			ok |= strcmp(known[j], jv_string_value(k)) == 0;
		if (!ok) {
			snprintf(sub, sizeof sub, "%s.%s", prefix, jv_string_value(k));
			bad(c, sub, "unknown member");
		}
		jv_free(k);
		jv_free(v);
	}
}

static int
name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(" ._-", s[i]))
			return 0;
	return 1;
}

static int
ident_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* One cron field "*", "N", "A-B", "* /S", "A-B/S", lists of those, each
 * number within lo..hi.  0 or -1. */
static int
cron_field(const char *f, int lo, int hi, uint64_t *bits)
{
	char buf[128], *save = NULL, *part;

	if (strlen(f) >= sizeof buf)
		return -1;
	snprintf(buf, sizeof buf, "%s", f);
	*bits = 0;
	for (part = strtok_r(buf, ",", &save); part != NULL; part = strtok_r(NULL, ",", &save)) {
		long a = lo, b = hi, step = 1;
		char *end, *slash = strchr(part, '/');

		if (slash != NULL) {
			*slash = '\0';
			step = strtol(slash + 1, &end, 10);
			if (*end != '\0' || end == slash + 1 || step < 1 || step > hi)
				return -1;
		}
		if (strcmp(part, "*") != 0) {
			a = strtol(part, &end, 10);
			if (end == part)
				return -1;
			b = a;
			if (*end == '-') {
				char *e2;

				b = strtol(end + 1, &e2, 10);
				if (e2 == end + 1 || *e2 != '\0')
					return -1;
			} else if (*end != '\0')
				return -1;
			if (slash != NULL && b == a)
				b = hi;
		}
		if (a < lo || b > hi || a > b)
			return -1;
		for (long i = a; i <= b; i += step)
			*bits |= (uint64_t)1 << i;
	}
	return *bits != 0 ? 0 : -1;
}

int
vc_pb_cron_parse(const char *expr, struct vc_pb_cron *cr, char *why, size_t wn)
{
	static const char *const what[] = { "minute", "hour", "day of month", "month", "day of week" };
	static const int lo[] = { 0, 0, 1, 1, 0 }, hi[] = { 59, 23, 31, 12, 7 };
	char buf[256], *save = NULL, *f;
	int i = 0;

	memset(cr, 0, sizeof *cr);
	if (strlen(expr) >= sizeof buf) {
		snprintf(why, wn, "too long");
		return -1;
	}
	snprintf(buf, sizeof buf, "%s", expr);
	for (f = strtok_r(buf, " \t", &save); f != NULL; f = strtok_r(NULL, " \t", &save), i++) {
		if (i == 5) {
			snprintf(why, wn, "five fields: minute hour day-of-month month day-of-week");
			return -1;
		}
		if (cron_field(f, lo[i], hi[i], &cr->f[i]) != 0) {
			snprintf(why, wn, "%s field '%.32s' is not %d-%d (*, N, A-B, /STEP, lists)",
			    what[i], f, lo[i], hi[i]);
			return -1;
		}
		if (i == 2)
			cr->dom_star = f[0] == '*';
		else if (i == 4)
			cr->dow_star = f[0] == '*';
	}
	if (i != 5) {
		snprintf(why, wn, "five fields: minute hour day-of-month month day-of-week");
		return -1;
	}
	if (cr->f[4] & ((uint64_t)1 << 7))     /* 7 is Sunday too */
		cr->f[4] |= 1;
	return 0;
}

static int
tz_ok(const char *tz)
{
	char path[256];
	struct stat st;

	if (strcmp(tz, "UTC") == 0)
		return 1;
	if (strlen(tz) > 64 || strstr(tz, "..") != NULL || tz[0] == '/')
		return 0;
	for (const char *p = tz; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
			return 0;
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Each ${...} of a string: its path checked against what exists. */
static void
check_templates(struct chk *c, const char *path, const char *s)
{
	const char *p = s;

	while ((p = strstr(p, "${")) != NULL) {
		const char *end = strchr(p + 2, '}');
		char ref[200], *dot, *dot2;
		jv act;

		if (end == NULL) {
			bad(c, path, "unterminated ${ in '%.64s'", s);
			return;
		}
		if ((size_t)(end - p - 2) >= sizeof ref || end == p + 2) {
			bad(c, path, "a template names a field: ${event.FIELD} or ${steps.STEP.FIELD}");
			p = end + 1;
			continue;
		}
		memcpy(ref, p + 2, (size_t)(end - p - 2));
		ref[end - p - 2] = '\0';
		p = end + 1;
		if (vc_pb_ref_syntax(ref) != 0) {
			bad(c, path, "${%s}: a path of names (letters, digits, _ -) and indexes joined by dots",
			    ref);
			continue;
		}
		if (strncmp(ref, "steps.", 6) != 0)
			continue;       /* the event's fields are known only when it comes */
		dot = strchr(ref + 6, '.');
		if (dot == NULL) {
			bad(c, path, "${%s}: name a field of the step: ${steps.STEP.FIELD}", ref);
			continue;
		}
		*dot = '\0';
		if ((dot2 = strchr(dot + 1, '.')) != NULL)
			*dot2 = '\0';
		act = jv_object_get(jv_copy(c->names), jv_string(ref + 6));
		if (!jv_is_valid(act)) {
			bad(c, path, "${steps.%s.%s}: no step %s before this one", ref + 6, dot + 1,
			    ref + 6);
		} else {
			const struct vc_pb_action *a = vc_pb_action(jv_string_value(act));
			int found = 0;

			for (int i = 0; a != NULL && a->outputs[i] != NULL; i++)
				found |= strcmp(a->outputs[i], dot + 1) == 0;
			if (a != NULL && !found)
				bad(c, path, "${steps.%s.%s}: %s gives no field %s", ref + 6, dot + 1,
				    a->name, dot + 1);
		}
		jv_free(act);
	}
}

static void
check_values(struct chk *c, const char *path, jv v)
{
	char sub[300];

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		check_templates(c, path, jv_string_value(v));
		break;
	case JV_KIND_ARRAY:
		jv_array_foreach(v, i, e) {
			snprintf(sub, sizeof sub, "%s[%d]", path, i);
			check_values(c, sub, e);
		}
		break;
	case JV_KIND_OBJECT:
		jv_object_foreach(v, k, e) {
			snprintf(sub, sizeof sub, "%s.%s", path, jv_string_value(k));
			check_values(c, sub, e);
			jv_free(k);
		}
		break;
	default:
		break;
	}
	jv_free(v);
}

/* A number member within lo..hi (def when absent); -1 after a report. */
static double
num_member(struct chk *c, const char *path, jv o, const char *key, double lo, double hi, double def)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));
	double d = def;

	if (jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) >= lo && jv_number_value(v) <= hi)
		d = jv_number_value(v);
	else if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL) {
		bad(c, path, "%s is a number from %g to %g", key, lo, hi);
		d = -1;
	}
	jv_free(v);
	return d;
}

/* The step as stored: {name, action, params, timeout, retries, backoff,
 * on_failure, requires_approval}, from either shape. */
static jv
check_step(struct chk *c, int i, jv st)
{
	static const char *const known[] = { "name", "action", "type", "params", "timeout",
		"retries", "backoff", "on_failure", "requires_approval", "when", NULL };
	char path[64], sub[160];
	const char *an = NULL, *name;
	const struct vc_pb_action *a = NULL;
	jv act, params, nm, out, onf, ra;
	char defname[32];

	snprintf(path, sizeof path, ".steps[%d]", i);
	if (jv_get_kind(st) != JV_KIND_OBJECT) {
		bad(c, path, "a step is an object");
		jv_free(st);
		return jv_invalid();
	}
	unknown_members(c, path, st, known);
	act = jv_object_get(jv_copy(st), jv_string("action"));
	if (!jv_is_valid(act)) {
		jv_free(act);
		act = jv_object_get(jv_copy(st), jv_string("type"));    /* the original's */
	}
	if (jv_get_kind(act) != JV_KIND_STRING) {
		snprintf(sub, sizeof sub, "%s.action", path);
		bad(c, sub, "every step names its action");
	} else if ((a = vc_pb_action(an = jv_string_value(act))) == NULL) {
		snprintf(sub, sizeof sub, "%s.action", path);
		bad(c, sub, "unknown action '%.64s'", an);
	}
	nm = jv_object_get(jv_copy(st), jv_string("name"));
	snprintf(defname, sizeof defname, "step%d", i + 1);
	name = jv_get_kind(nm) == JV_KIND_STRING ? jv_string_value(nm) : defname;
	snprintf(sub, sizeof sub, "%s.name", path);
	if (jv_is_valid(nm) && (jv_get_kind(nm) != JV_KIND_STRING || !ident_ok(name)))
		bad(c, sub, "a step name is 1 to 64 letters, digits, _ or -");
	else if (jv_object_has(jv_copy(c->names), jv_string(name)))
		bad(c, sub, "a second step named %s", name);
	params = jv_object_get(jv_copy(st), jv_string("params"));
	if (!jv_is_valid(params) || jv_get_kind(params) == JV_KIND_NULL) {
		jv_free(params);
		params = jv_object();
	}
	snprintf(sub, sizeof sub, "%s.params", path);
	if (jv_get_kind(params) != JV_KIND_OBJECT) {
		bad(c, sub, "params is an object");
		jv_free(params);
		params = jv_object();
	}
	if (a != NULL) {
		for (int j = 0; a->params[j] != NULL; j++) {
			const char *p = a->params[j];

			if (*p == '!' && !jv_object_has(jv_copy(params), jv_string(p + 1))) {
				snprintf(sub, sizeof sub, "%s.params.%s", path, p + 1);
				bad(c, sub, "%s needs the parameter %s", a->name, p + 1);
			}
		}
		jv_object_foreach(params, k, v) {
			int ok = 0;

			for (int j = 0; a->params[j] != NULL; j++) {
				const char *p = a->params[j];

				ok |= strcmp(p + (*p == '!'), jv_string_value(k)) == 0;
			}
			if (!ok) {
				snprintf(sub, sizeof sub, "%s.params.%s", path, jv_string_value(k));
				bad(c, sub, "%s takes no parameter %s", a->name, jv_string_value(k));
			}
			jv_free(k);
			jv_free(v);
		}
	}
	snprintf(sub, sizeof sub, "%s.params", path);
	check_values(c, sub, jv_copy(params));
	out = JV_OBJECT(jv_string("name"), jv_string(name), jv_string("action"),
	    jv_string(an != NULL ? an : ""), jv_string("params"), params);
	out = jv_object_set(out, jv_string("timeout"),
	    jv_number(num_member(c, path, st, "timeout", 1, 3600, 60)));
	out = jv_object_set(out, jv_string("retries"),
	    jv_number(num_member(c, path, st, "retries", 0, 10, 0)));
	out = jv_object_set(out, jv_string("backoff"),
	    jv_number(num_member(c, path, st, "backoff", 0, 600, 2)));
	onf = jv_object_get(jv_copy(st), jv_string("on_failure"));
	if (jv_is_valid(onf) && (jv_get_kind(onf) != JV_KIND_STRING ||
	    (strcmp(jv_string_value(onf), "stop") != 0 && strcmp(jv_string_value(onf), "continue") != 0))) {
		snprintf(sub, sizeof sub, "%s.on_failure", path);
		bad(c, sub, "on_failure is stop or continue");
	}
	out = jv_object_set(out, jv_string("on_failure"), jv_string(jv_get_kind(onf) == JV_KIND_STRING &&
	    strcmp(jv_string_value(onf), "continue") == 0 ? "continue" : "stop"));
	jv_free(onf);
	ra = jv_object_get(jv_copy(st), jv_string("requires_approval"));
	if (jv_is_valid(ra) && jv_get_kind(ra) != JV_KIND_TRUE && jv_get_kind(ra) != JV_KIND_FALSE &&
	    jv_get_kind(ra) != JV_KIND_NULL) {
		snprintf(sub, sizeof sub, "%s.requires_approval", path);
		bad(c, sub, "requires_approval is true or false");
	}
	out = jv_object_set(out, jv_string("requires_approval"),
	    jv_bool(jv_get_kind(ra) == JV_KIND_TRUE));
	jv_free(ra);
	{
		/* when: a jq condition on {event, steps, ...}; compiled now,
		 * in the child it will run in. */
		jv w = jv_object_get(jv_copy(st), jv_string("when"));

		snprintf(sub, sizeof sub, "%s.when", path);
		if (jv_get_kind(w) == JV_KIND_STRING) {
			struct vc_jq *jq = NULL;
			char msg[sizeof c->ctx->errmsg];

			if (vc_jq_open(c->ctx, "when", jv_string_value(w), NULL, &jq) != 0) {
				snprintf(msg, sizeof msg, "%s", c->ctx->errmsg);
				msg[strcspn(msg, "\n")] = '\0';
				bad(c, sub, "%s", msg);
			}
			vc_jq_close(jq);
			out = jv_object_set(out, jv_string("when"), jv_copy(w));
		} else if (jv_is_valid(w) && jv_get_kind(w) != JV_KIND_NULL)
			bad(c, sub, "when is a jq program (text) on {event, steps}");
		jv_free(w);
	}
	c->names = jv_object_set(c->names, jv_string(name), jv_string(an != NULL ? an : ""));
	jv_free(nm);
	jv_free(act);
	jv_free(st);
	return out;
}

/* The trigger as stored: {type, events, condition, cron, timezone}. */
static jv
check_trigger(struct chk *c, jv doc)
{
	jv tr = jv_object_get(jv_copy(doc), jv_string("trigger")), type, out, ev, cond, cron, tz;
	const char *t;

	if (!jv_is_valid(tr) || jv_get_kind(tr) == JV_KIND_NULL) {
		/* The original: trigger_type beside trigger_config. */
		jv cfg = jv_object_get(jv_copy(doc), jv_string("trigger_config"));

		jv_free(tr);
		tr = jv_get_kind(cfg) == JV_KIND_OBJECT ? cfg : (jv_free(cfg), jv_object());
		type = jv_object_get(jv_copy(doc), jv_string("trigger_type"));
		if (jv_get_kind(type) == JV_KIND_STRING)
			tr = jv_object_set(tr, jv_string("type"), type);
		else
			jv_free(type);
	}
	if (jv_get_kind(tr) != JV_KIND_OBJECT) {
		bad(c, ".trigger", "trigger is an object: {type: manual|event|scheduled, ...}");
		jv_free(tr);
		return JV_OBJECT(jv_string("type"), jv_string("manual"));
	}
	type = jv_object_get(jv_copy(tr), jv_string("type"));
	t = jv_get_kind(type) == JV_KIND_STRING ? jv_string_value(type) : "manual";
	if (jv_is_valid(type) && jv_get_kind(type) != JV_KIND_STRING)
		bad(c, ".trigger.type", "the type is manual, event or scheduled");
	if (strcmp(t, "manual") != 0 && strcmp(t, "event") != 0 && strcmp(t, "scheduled") != 0) {
		bad(c, ".trigger.type", "unknown trigger type '%.32s': manual, event or scheduled", t);
		t = "manual";
	}
	out = JV_OBJECT(jv_string("type"), jv_string(t));
	unknown_members(c, ".trigger", tr, (const char *const[]){ "type", "events", "condition",
	    "cron", "timezone", "event_types", NULL });
	if (strcmp(t, "event") == 0) {
		ev = jv_object_get(jv_copy(tr), jv_string("events"));
		if (!jv_is_valid(ev)) {
			jv_free(ev);
			ev = jv_object_get(jv_copy(tr), jv_string("event_types"));
		}
		if (jv_get_kind(ev) == JV_KIND_STRING)
			ev = JV_ARRAY(ev);
		if (!jv_is_valid(ev) || jv_get_kind(ev) == JV_KIND_NULL) {
			jv_free(ev);
			ev = JV_ARRAY(jv_string("threat_score.created"));
		}
		if (jv_get_kind(ev) != JV_KIND_ARRAY || jv_array_length(jv_copy(ev)) == 0) {
			bad(c, ".trigger.events", "events is a list of event types or globs");
			jv_free(ev);
			ev = jv_array();
		}
		jv_array_foreach(ev, i, e) {
			char sub[64];

			snprintf(sub, sizeof sub, ".trigger.events[%d]", i);
			if (jv_get_kind(e) != JV_KIND_STRING || !name_ok(jv_string_value(e), 100) ||
			    strchr(jv_string_value(e), ' ') != NULL) {
				if (jv_get_kind(e) != JV_KIND_STRING || strspn(jv_string_value(e),
				    "abcdefghijklmnopqrstuvwxyz0123456789._*?-") != strlen(jv_string_value(e)))
					bad(c, sub, "an event type or glob: threat_score.created, 'case.*'");
			}
			jv_free(e);
		}
		out = jv_object_set(out, jv_string("events"), ev);
		cond = jv_object_get(jv_copy(tr), jv_string("condition"));
		if (jv_get_kind(cond) == JV_KIND_STRING) {
			struct vc_jq *jq = NULL;
			char msg[sizeof c->ctx->errmsg];

			/* Compiled in the jq child, exactly as it will run. */
			if (vc_jq_open(c->ctx, "condition", jv_string_value(cond), NULL, &jq) != 0) {
				snprintf(msg, sizeof msg, "%s", c->ctx->errmsg);
				msg[strcspn(msg, "\n")] = '\0';      /* jq's first line says it */
				bad(c, ".trigger.condition", "%s", msg);
			}
			vc_jq_close(jq);
			out = jv_object_set(out, jv_string("condition"), cond);
		} else {
			if (jv_is_valid(cond) && jv_get_kind(cond) != JV_KIND_NULL)
				bad(c, ".trigger.condition", "the condition is a jq program (text)");
			jv_free(cond);
		}
	} else if (strcmp(t, "scheduled") == 0) {
		struct vc_pb_cron cr;
		char why[160];

		cron = jv_object_get(jv_copy(tr), jv_string("cron"));
		if (jv_get_kind(cron) != JV_KIND_STRING)
			bad(c, ".trigger.cron", "a scheduled playbook has a cron expression");
		else if (vc_pb_cron_parse(jv_string_value(cron), &cr, why, sizeof why) != 0)
			bad(c, ".trigger.cron", "%s", why);
		else
			out = jv_object_set(out, jv_string("cron"), jv_copy(cron));
		jv_free(cron);
		tz = jv_object_get(jv_copy(tr), jv_string("timezone"));
		if (jv_get_kind(tz) == JV_KIND_STRING && !tz_ok(jv_string_value(tz)))
			bad(c, ".trigger.timezone", "unknown time zone '%.64s'", jv_string_value(tz));
		out = jv_object_set(out, jv_string("timezone"), jv_get_kind(tz) == JV_KIND_STRING ?
		    jv_copy(tz) : jv_string("UTC"));
		jv_free(tz);
	}
	jv_free(type);
	jv_free(tr);
	return out;
}

int
vc_pb_check_doc(vc_ctx *ctx, jv doc, jv *norm, jv *errors)
{
	static const char *const known[] = { "name", "description", "trigger", "trigger_type",
		"trigger_config", "steps", "actions", "enabled", "is_active", NULL };
	struct chk c = { .ctx = ctx, .errors = jv_array(), .names = jv_object() };
	jv name, desc, steps, out, ns = jv_array();
	int rc = 0;

	*norm = jv_invalid();
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		bad(&c, ".", "a playbook is an object (a YAML mapping)");
		goto done;
	}
	unknown_members(&c, "", doc, known);
	name = jv_object_get(jv_copy(doc), jv_string("name"));
	if (jv_get_kind(name) != JV_KIND_STRING || !name_ok(jv_string_value(name), NAME_MAX_))
		bad(&c, ".name", "a name is 1 to %d letters, digits, spaces, '.', '_' or '-'", NAME_MAX_);
	desc = jv_object_get(jv_copy(doc), jv_string("description"));
	if (jv_is_valid(desc) && jv_get_kind(desc) != JV_KIND_STRING && jv_get_kind(desc) != JV_KIND_NULL)
		bad(&c, ".description", "the description is text");
	out = JV_OBJECT(jv_string("name"), jv_copy(name), jv_string("description"),
	    jv_get_kind(desc) == JV_KIND_STRING ? jv_copy(desc) : jv_string(""));
	jv_free(name);
	jv_free(desc);
	out = jv_object_set(out, jv_string("trigger"), check_trigger(&c, doc));
	steps = jv_object_get(jv_copy(doc), jv_string("steps"));
	if (!jv_is_valid(steps)) {
		jv_free(steps);
		steps = jv_object_get(jv_copy(doc), jv_string("actions"));     /* the original's */
	}
	if (jv_get_kind(steps) != JV_KIND_ARRAY || jv_array_length(jv_copy(steps)) == 0 ||
	    jv_array_length(jv_copy(steps)) > STEPS_MAX)
		bad(&c, ".steps", "a playbook has 1 to %d steps (steps, or the original's actions)",
		    STEPS_MAX);
	else
		jv_array_foreach(steps, i, st)
			ns = jv_array_append(ns, check_step(&c, i, st));
	jv_free(steps);
	out = jv_object_set(out, jv_string("steps"), ns);
	ns = jv_invalid();
	if (jv_array_length(jv_copy(c.errors)) == 0) {
		*norm = out;
		out = jv_invalid();
	}
	jv_free(out);
done:
	jv_free(ns);
	jv_free(c.names);
	if (jv_array_length(jv_copy(c.errors)) > 0) {
		jv e = jv_array_get(jv_copy(c.errors), 0);
		jv p = jv_object_get(jv_copy(e), jv_string("path")), m = jv_object_get(e, jv_string("error"));
		int n = jv_array_length(jv_copy(c.errors));

		rc = vc_fail(ctx, VC_EINVAL, "%s: %s%s", jv_string_value(p), jv_string_value(m),
		    n > 1 ? " (and more: see errors)" : "");
		jv_free(p);
		jv_free(m);
	}
	*errors = c.errors;
	return rc;
}

/* ---- templates --------------------------------------------------------- */

int
vc_pb_ref_syntax(const char *ref)
{
	const char *p = ref;

	for (;;) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

		if (n == 0)
			return -1;
		p += n;
		if (*p == '\0')
			return 0;
		if (*p != '.')
			return -1;
		p++;
	}
}

/* The value at ref in scope: event members by name ("host_id" is
 * "event.host_id", the original's spelling), or from event., steps.,
 * playbook., execution.  Invalid when absent. */
static jv
lookup(jv scope, const char *ref)
{
	char buf[200], *save = NULL, *part;
	jv v;

	snprintf(buf, sizeof buf, "%s", ref);
	if (strncmp(buf, "event.", 6) == 0 || strcmp(buf, "event") == 0 ||
	    strncmp(buf, "steps.", 6) == 0 || strncmp(buf, "playbook.", 9) == 0 ||
	    strncmp(buf, "execution.", 10) == 0)
		v = jv_copy(scope);
	else
		v = jv_object_get(jv_copy(scope), jv_string("event"));
	for (part = strtok_r(buf, ".", &save); part != NULL && jv_is_valid(v);
	    part = strtok_r(NULL, ".", &save)) {
		if (jv_get_kind(v) == JV_KIND_ARRAY && isdigit((unsigned char)part[0])) {
			long i = strtol(part, NULL, 10);

			v = i < jv_array_length(jv_copy(v)) ? jv_array_get(v, (int)i) :
			    (jv_free(v), jv_invalid());
		} else if (jv_get_kind(v) == JV_KIND_OBJECT && jv_object_has(jv_copy(v), jv_string(part)))
			v = jv_object_get(v, jv_string(part));
		else {
			jv_free(v);
			v = jv_invalid();
		}
	}
	return v;
}

/* A string with templates: a lone ${ref} becomes the value itself (any
 * JSON kind); text around templates makes text, each value as its text
 * (a string as is, anything else as JSON).  Never parsed again: what an
 * event holds cannot become syntax anywhere.  With plan, a step's
 * output not known yet stays "${steps...}" and *pending is set. */
static jv
render_str(const char *s, jv scope, int plan, int *pending, char *why, size_t wn)
{
	const char *p = s, *q;
	jv out = jv_string("");

	while ((q = strstr(p, "${")) != NULL) {
		const char *end = strchr(q + 2, '}');
		char ref[200];
		jv v;

		if (end == NULL || (size_t)(end - q - 2) >= sizeof ref) {
			snprintf(why, wn, "unterminated ${");
			jv_free(out);
			return jv_invalid();
		}
		memcpy(ref, q + 2, (size_t)(end - q - 2));
		ref[end - q - 2] = '\0';
		v = lookup(scope, ref);
		if (!jv_is_valid(v)) {
			jv_free(v);
			if (plan && strncmp(ref, "steps.", 6) == 0) {
				*pending = 1;
				v = jv_string_fmt("${%s}", ref);
			} else {
				snprintf(why, wn, "${%s}: no such field%s", ref,
				    strncmp(ref, "steps.", 6) == 0 ? " in that step's output" :
				    " in the event");
				jv_free(out);
				return jv_invalid();
			}
		}
		if (q == s && end[1] == '\0') {
			jv_free(out);
			return v;
		}
		out = jv_string_append_buf(out, p, (int)(q - p));
		if (jv_get_kind(v) == JV_KIND_STRING)
			out = jv_string_concat(out, v);
		else
			out = jv_string_concat(out, jv_dump_string(v, 0));
		p = end + 1;
	}
	return jv_string_concat(out, jv_string(p));
}

jv
vc_pb_render(jv v, jv scope, int plan, int *pending, char *why, size_t wn)
{
	jv out;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		out = render_str(jv_string_value(v), scope, plan, pending, why, wn);
		jv_free(v);
		return out;
	case JV_KIND_ARRAY:
	case JV_KIND_OBJECT:
	{
		jv keys = jv_keys(jv_copy(v));

		out = jv_copy(v);
		jv_array_foreach(keys, i, k) {
			jv r = vc_pb_render(jv_get(jv_copy(v), jv_copy(k)), scope, plan, pending, why, wn);

			(void)i;
			if (!jv_is_valid(r)) {
				jv_free(k);
				jv_free(keys);
				jv_free(out);
				jv_free(v);
				return r;
			}
			out = jv_set(out, k, r);
		}
		jv_free(keys);
		jv_free(v);
		return out;
	}
	default:
		return v;
	}
}

/* ---- the store ---------------------------------------------------------- */

#define PB_COLS "p.id, p.name, p.version, p.trigger_type, p.enabled AS enabled_bool," \
	" p.next_run_at, p.created_by, p.created_at, p.updated_at"

int
vc_pb_resolve(vc_ctx *ctx, const char *key, char id[VC_ID_LEN + 1])
{
	if (key == NULL || *key == '\0')
		return vc_fail(ctx, VC_EUSAGE, "name a playbook (its id or name)");
	return vc_resolve_id(ctx, "playbook", key, "SELECT id FROM playbooks WHERE tenant_id = ?1"
	    " AND deleted_at IS NULL AND (id = ?2 OR name = ?2)",
	    /* unscoped: existence check only, to audit a cross-tenant attempt */
	    "SELECT 1 FROM playbooks WHERE id = ?1", id);
}

/* The playbook row with its document (version 0: the current one). */
int
vc_pb_load(vc_ctx *ctx, const char *id, int64_t version, jv *out)
{
	vc_stmt *q = vc_sql(ctx, "SELECT " PB_COLS ", v.doc AS doc_json, v.version AS doc_version"
	    " FROM playbooks p JOIN playbook_versions v ON v.playbook_id = p.id AND v.tenant_id = p.tenant_id"
	    " WHERE p.tenant_id = ?1 AND p.id = ?2 AND v.version = CASE WHEN ?3 > 0 THEN ?3 ELSE p.version END",
	    "ssi", ctx->who.tenant_id, id, version);

	if (q == NULL)
		return ctx->err;
	return vc_sql_one(ctx, q, version > 0 ? "version of that playbook" : "playbook", out);
}

static int
save_version(vc_ctx *ctx, const char *id, int64_t version, jv norm)
{
	jv text = jv_dump_string(jv_copy(norm), 0);
	int rc = vc_sql_exec(ctx, "INSERT INTO playbook_versions (tenant_id, playbook_id, version, doc,"
	    " created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", NULL, "ssissi",
	    ctx->who.tenant_id, id, version, jv_string_value(text), ctx->who.username, vc_now(ctx));

	jv_free(text);
	return rc;
}

/* After the playbook row was written (rc): version ver of its document
 * and its next run; norm and name consumed. */
static int
save_doc(vc_ctx *ctx, const char *id, int64_t ver, jv norm, jv name, int rc)
{
	if (rc == 0)
		rc = save_version(ctx, id, ver, norm);
	if (rc == 0)
		rc = vc_pb_schedule(ctx, id, norm);
	if (rc == 0)
		vc_audit_detail(ctx, "version", jv_number((double)ver));
	jv_free(name);
	jv_free(norm);
	return rc;
}

static const char *
trig_type(jv norm)
{
	jv t = jv_object_get(jv_object_get(jv_copy(norm), jv_string("trigger")), jv_string("type"));
	const char *s = "manual";

	if (jv_get_kind(t) == JV_KIND_STRING) {
		if (strcmp(jv_string_value(t), "event") == 0)
			s = "event";
		else if (strcmp(jv_string_value(t), "scheduled") == 0)
			s = "scheduled";
	}
	jv_free(t);
	return s;
}

/* Read and check the document of ctx->in: *norm, or the errors in *out. */
static int
read_checked(vc_ctx *ctx, jv *norm, jv *out)
{
	jv doc, errors;
	int rc;

	if ((rc = vc_pb_read_doc(ctx, &doc)) != 0)
		return rc;
	rc = vc_pb_check_doc(ctx, doc, norm, &errors);
	jv_free(doc);
	if (rc != 0) {
		vc_audit_detail(ctx, "errors", jv_copy(errors));
		*out = JV_OBJECT(jv_string("valid"), jv_false(), jv_string("errors"), errors);
		return rc;
	}
	jv_free(errors);
	return 0;
}

int
vc_op_pb_check(vc_ctx *ctx, jv args, jv *out)
{
	jv norm;
	int rc;

	(void)args;
	*out = jv_invalid();
	if ((rc = read_checked(ctx, &norm, out)) != 0) {
		/* every error on its own line, the summary as the failure */
		jv errs = jv_get_kind(*out) == JV_KIND_OBJECT ?
		    jv_object_get(jv_copy(*out), jv_string("errors")) : jv_array();

		jv_array_foreach(errs, i, e) {
			jv p = jv_object_get(jv_copy(e), jv_string("path"));
			jv m = jv_object_get(e, jv_string("error"));

			vc_bad(ctx, "%s: %s", jv_string_value(p), jv_string_value(m));
			jv_free(p);
			jv_free(m);
		}
		jv_free(errs);
		return rc;
	}
	*out = JV_OBJECT(jv_string("valid"), jv_true(), jv_string("playbook"), norm);
	return 0;
}

int
vc_op_pb_create(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1];
	jv norm, name;
	int64_t now = vc_now(ctx);
	int rc;

	(void)args;
	vc_audit_target(ctx, "playbook", NULL);
	if ((rc = read_checked(ctx, &norm, out)) != 0)
		return rc;
	vc_new_id(id);
	name = jv_object_get(jv_copy(norm), jv_string("name"));
	rc = vc_sql_exec(ctx, "INSERT INTO playbooks (id, tenant_id, name, version, trigger_type,"
	    " created_by, created_at, updated_at) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?6)", NULL,
	    "sssssi", id, ctx->who.tenant_id, jv_string_value(name), trig_type(norm),
	    ctx->who.username, now);
	if (rc == VC_ECONFLICT)
		rc = vc_fail(ctx, VC_ECONFLICT, "a playbook named '%s' exists: update it",
		    jv_string_value(name));
	if ((rc = save_doc(ctx, id, 1, norm, name, rc)) != 0)
		return rc;
	vc_audit_target(ctx, "playbook", id);
	return vc_pb_load(ctx, id, 0, out);
}

int
vc_op_pb_update(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1];
	jv norm, name;
	int64_t ver;
	int rc;

	if ((rc = vc_pb_resolve(ctx, vc_arg_str(args, "id"), id)) != 0)
		return rc;
	vc_audit_target(ctx, "playbook", id);
	if ((rc = read_checked(ctx, &norm, out)) != 0)
		return rc;
	ver = vc_sql_int(ctx, vc_sql(ctx, "SELECT version + 1 FROM playbooks WHERE tenant_id = ?1"
	    " AND id = ?2", "ss", ctx->who.tenant_id, id));
	name = jv_object_get(jv_copy(norm), jv_string("name"));
	rc = ver < 0 ? ctx->err : vc_sql_exec(ctx, "UPDATE playbooks SET name = ?3, version = ?4,"
	    " trigger_type = ?5, updated_at = ?6 WHERE tenant_id = ?1 AND id = ?2", NULL, "sssisi",
	    ctx->who.tenant_id, id, jv_string_value(name), ver, trig_type(norm), vc_now(ctx));
	if (rc == VC_ECONFLICT)
		rc = vc_fail(ctx, VC_ECONFLICT, "another playbook is named '%s'", jv_string_value(name));
	if ((rc = save_doc(ctx, id, ver, norm, name, rc)) != 0)
		return rc;
	return vc_pb_load(ctx, id, 0, out);
}

int
vc_op_pb_list(vc_ctx *ctx, jv args, jv *out)
{
	vc_stmt *q = vc_sql(ctx, "SELECT " PB_COLS " FROM playbooks p WHERE p.tenant_id = ?1"
	    " AND p.deleted_at IS NULL AND (?2 IS NULL OR p.trigger_type = ?2) ORDER BY p.name LIMIT ?3",
	    "ssi", ctx->who.tenant_id, vc_arg_str(args, "trigger"), (int64_t)LIST_MAX);

	if (q == NULL)
		return ctx->err;
	*out = vc_sql_rows(ctx, q);
	return jv_is_valid(*out) ? 0 : ctx->err;
}

int
vc_op_pb_show(vc_ctx *ctx, jv args, jv *out)
{
	const char *key = vc_arg_str(args, "id");
	char id[VC_ID_LEN + 1];
	int rc;

	/* show EXECUTION: an execution's id names no playbook */
	if (key != NULL && vc_is_id(key) && vc_sql_int(ctx, vc_sql(ctx, "SELECT 1 FROM"
	    " playbook_executions WHERE tenant_id = ?1 AND id = ?2", "ss", ctx->who.tenant_id, key)) == 1)
		return vc_op_pb_execution(ctx, args, out);
	if ((rc = vc_pb_resolve(ctx, key, id)) != 0)
		return rc;
	if ((rc = vc_pb_load(ctx, id, vc_arg_int(args, "at_version", 0), out)) != 0)
		return rc;
	if (vc_arg_bool(args, "versions")) {
		vc_stmt *q = vc_sql(ctx, "SELECT version, created_by, created_at FROM playbook_versions"
		    " WHERE tenant_id = ?1 AND playbook_id = ?2 ORDER BY version", "ss", ctx->who.tenant_id, id);
		jv vs = q != NULL ? vc_sql_rows(ctx, q) : jv_invalid();

		if (!jv_is_valid(vs))
			return ctx->err;
		*out = jv_object_set(*out, jv_string("versions"), vs);
	}
	return 0;
}

/* Resolve the playbook of args and run sql on it (?1 tenant, ?2 id,
 * ?3 v, ?4 now). */
static int
pb_change(vc_ctx *ctx, jv args, const char *sql, int64_t v, char id[VC_ID_LEN + 1])
{
	int rc;

	if ((rc = vc_pb_resolve(ctx, vc_arg_str(args, "id"), id)) != 0)
		return rc;
	vc_audit_target(ctx, "playbook", id);
	return vc_sql_exec(ctx, sql, NULL, "ssii", ctx->who.tenant_id, id, v, vc_now(ctx));
}

static int
set_enabled(vc_ctx *ctx, jv args, jv *out, int on)
{
	char id[VC_ID_LEN + 1];
	int rc = pb_change(ctx, args, "UPDATE playbooks SET enabled = ?3, updated_at = ?4"
	    " WHERE tenant_id = ?1 AND id = ?2", on, id);

	return rc != 0 ? rc : vc_pb_load(ctx, id, 0, out);
}

int
vc_op_pb_enable(vc_ctx *ctx, jv args, jv *out)
{
	return set_enabled(ctx, args, out, 1);
}

int
vc_op_pb_disable(vc_ctx *ctx, jv args, jv *out)
{
	return set_enabled(ctx, args, out, 0);
}

int
vc_op_pb_delete(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1];
	/* Versions and executions stay: the history of what ran. */
	int rc = pb_change(ctx, args, "UPDATE playbooks SET deleted_at = ?4, enabled = ?3"
	    " WHERE tenant_id = ?1 AND id = ?2", 0, id);

	if (rc != 0)
		return rc;
	*out = JV_OBJECT(jv_string("id"), jv_string(id), jv_string("deleted"), jv_true());
	return 0;
}

/* ---- settings ------------------------------------------------------------ */

/* The quarantine artifact of each OS: Velociraptor's own names, unless
 * the tenant set its own (vc-playbook settings set). */
static const struct {
	const char *os;         /* the word in hosts.os */
	const char *col;        /* playbook_settings' column, also the setting's name */
	const char *env;        /* the installation's name, for every tenant */
	const char *def;
} quarantine_os[] = {
	{ "windows", "quarantine_windows", "VC_QUARANTINE_WINDOWS", "Windows.Remediation.Quarantine" },
	{ "linux", "quarantine_linux", "VC_QUARANTINE_LINUX", "Linux.Remediation.Quarantine" },
	{ "darwin", "quarantine_macos", "VC_QUARANTINE_MACOS", "MacOS.Remediation.Quarantine" },
};
#define QUARANTINE_OS (sizeof quarantine_os / sizeof quarantine_os[0])

/*
 * The name in force for OS i when the tenant set none: the installation's
 * (its environment variable, checked as any artifact name) or
 * Velociraptor's own.  *source says which; an unusable variable is
 * VC_ECONFIG naming it.
 */
static int
quarantine_fallback(vc_ctx *ctx, size_t i, const char **name, const char **source)
{
	const char *e = getenv(quarantine_os[i].env);

	if (e == NULL || *e == '\0') {
		*name = quarantine_os[i].def;
		*source = "velociraptor";
		return 0;
	}
	if (vc_artifact_name_check(ctx, e) != 0)
		return vc_fail(ctx, VC_ECONFIG, "%s: not an artifact name", quarantine_os[i].env);
	*name = e;
	*source = "installation";
	return 0;
}

static int
settings_row(vc_ctx *ctx, jv *row)
{
	vc_stmt *q = vc_sql(ctx, "SELECT quarantine_windows, quarantine_linux, quarantine_macos,"
	    " updated_by, updated_at FROM playbook_settings WHERE tenant_id = ?1", "s",
	    ctx->who.tenant_id);
	jv rows = q != NULL ? vc_sql_rows(ctx, q) : jv_invalid();

	if (!jv_is_valid(rows))
		return ctx->err ? ctx->err : VC_EINTERNAL;
	*row = jv_array_length(jv_copy(rows)) > 0 ? jv_array_get(jv_copy(rows), 0) : jv_object();
	jv_free(rows);
	return 0;
}

int
vc_pb_quarantine_artifact(vc_ctx *ctx, const char *os, char *buf, size_t n)
{
	jv row;
	int rc;

	for (size_t i = 0; i < QUARANTINE_OS; i++) {
		/* "mac" too: an OS given by hand as macos */
		if (strcasestr(os, quarantine_os[i].os) == NULL &&
		    (i != 2 || strcasestr(os, "mac") == NULL))
			continue;
		if ((rc = settings_row(ctx, &row)) != 0)
			return rc;
		jv v = jv_object_get(row, jv_string(quarantine_os[i].col));
		const char *name, *source;

		if (jv_get_kind(v) == JV_KIND_STRING)
			snprintf(buf, n, "%s", jv_string_value(v));
		else if ((rc = quarantine_fallback(ctx, i, &name, &source)) == 0)
			snprintf(buf, n, "%s", name);
		jv_free(v);
		return rc;
	}
	buf[0] = '\0';
	return 0;
}

/* The settings in force: each name, and whether it is the default. */
static int
settings_show(vc_ctx *ctx, jv *out)
{
	jv row, arts = jv_object();
	int rc;

	if ((rc = settings_row(ctx, &row)) != 0)
		return rc;
	for (size_t i = 0; i < QUARANTINE_OS; i++) {
		jv v = jv_object_get(jv_copy(row), jv_string(quarantine_os[i].col));
		int set = jv_get_kind(v) == JV_KIND_STRING;
		const char *name = NULL, *source = "tenant";

		if (!set && (rc = quarantine_fallback(ctx, i, &name, &source)) != 0) {
			jv_free(v);
			jv_free(row);
			jv_free(arts);
			return rc;
		}
		/* default: Velociraptor's own name, neither the tenant's nor
		 * the installation's */
		arts = jv_object_set(arts, jv_string(quarantine_os[i].col + 11), JV_OBJECT(
		    jv_string("artifact"), set ? v : (jv_free(v), jv_string(name)),
		    jv_string("default"), jv_bool(!set && strcmp(source, "velociraptor") == 0),
		    jv_string("source"), jv_string(source)));
	}
	*out = JV_OBJECT(jv_string("quarantine_artifacts"), arts);
	/* who set them last, and when (null: nobody yet) */
	for (const char *const *k = (const char *const[]){ "updated_by", "updated_at", NULL }; *k; k++) {
		jv v = jv_object_get(jv_copy(row), jv_string(*k));

		*out = jv_object_set(*out, jv_string(*k), jv_is_valid(v) ? v : (jv_free(v), jv_null()));
	}
	jv_free(row);
	return 0;
}

int
vc_op_pb_settings_show(vc_ctx *ctx, jv args, jv *out)
{
	(void)args;
	return settings_show(ctx, out);
}

/*
 * Set the quarantine artifact of the OSes given: a name Velociraptor
 * accepts, or "" for Velociraptor's own again.  The others stay.
 */
int
vc_op_pb_settings_set(vc_ctx *ctx, jv args, jv *out)
{
	const char *v[QUARANTINE_OS];
	int rc, given = 0;

	vc_audit_target(ctx, "playbook_settings", NULL);
	for (size_t i = 0; i < QUARANTINE_OS; i++) {
		v[i] = vc_arg_str(args, quarantine_os[i].col);
		given |= v[i] != NULL;
		if (v[i] != NULL && *v[i] != '\0' && (rc = vc_artifact_name_check(ctx, v[i])) != 0) {
			char msg[sizeof ctx->errmsg];

			snprintf(msg, sizeof msg, "%s", ctx->errmsg);
			return vc_fail(ctx, rc, "%s: %s", quarantine_os[i].col, msg);
		}
	}
	if (!given)
		return vc_fail(ctx, VC_EUSAGE, "give --quarantine-windows, --quarantine-linux or"
		    " --quarantine-macos (an artifact name, or '' for Velociraptor's own)");
	rc = vc_sql_exec(ctx, "INSERT INTO playbook_settings (tenant_id, updated_at) VALUES (?1, ?2)"
	    " ON CONFLICT (tenant_id) DO NOTHING", NULL, "si", ctx->who.tenant_id, vc_now(ctx));
	/* One statement for the three: an absent one (?N IS NULL) stays,
	 * "" goes back to the default (NULL). */
	if (rc == 0)
		rc = vc_sql_exec(ctx, "UPDATE playbook_settings SET"
		    " quarantine_windows = CASE WHEN ?2 IS NULL THEN quarantine_windows ELSE NULLIF(?2, '') END,"
		    " quarantine_linux = CASE WHEN ?3 IS NULL THEN quarantine_linux ELSE NULLIF(?3, '') END,"
		    " quarantine_macos = CASE WHEN ?4 IS NULL THEN quarantine_macos ELSE NULLIF(?4, '') END,"
		    " updated_by = ?5, updated_at = ?6 WHERE tenant_id = ?1", NULL, "sssssi",
		    ctx->who.tenant_id, v[0], v[1], v[2], ctx->who.username, vc_now(ctx));
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < QUARANTINE_OS; i++)
		if (v[i] != NULL)
			vc_audit_detail(ctx, quarantine_os[i].col, *v[i] ? jv_string(v[i]) : jv_null());
	return settings_show(ctx, out);
}
