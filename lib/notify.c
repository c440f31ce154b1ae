/* SPDX-License-Identifier: MIT */
/*
 * notify.c - notifications: sent by hand or made by rules from events,
 * listed and marked read by their readers.  See notify.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

#include "core/store.h"
#include "core/audit.h"
#include "core/events.h"
#include "core/records.h"
#include "json/jqprog.h"
#include "crypto/crypto.h"
#include "notify.h"

#define TITLE_MAX 200
#define BODY_MAX 4000
#define VC_ATTACH_MAX (10 * 1024 * 1024)     /* --attach: a file's bytes at most */
#define LIST_DEF 50
#define LIST_MAX 1000
#define RULES_MAX 100           /* per tenant: each may start a jq child */

/* What a notification looks like to its reader (?2 user id, ?3 role). */
#define N_COLS "n.id, n.target, n.title, n.body, n.event_id, n.rule_id, n.created_by," \
	" n.created_at, r.read_at"
#define N_FROM " FROM notifications n LEFT JOIN notification_reads r" \
	" ON r.notification_id = n.id AND r.user_id = ?2" \
	" WHERE n.tenant_id = ?1 AND (n.user_id = ?2 OR n.min_role <= ?3)"

/* One notification as its reader sees it. */
static int
show(vc_ctx *ctx, int64_t id, jv *out)
{
	vc_stmt *q = vc_sql(ctx, "SELECT " N_COLS N_FROM " AND n.id = ?4", "ssii",
	    ctx->who.tenant_id, ctx->who.user_id, (int64_t)ctx->who.role, id);

	if (q == NULL)
		return ctx->err;
	return vc_sql_one(ctx, q, "notification", out);
}

/* ---- operations ----------------------------------------------------------- */

/* A numeric id ("42"), or 0 when s is none. */
static int64_t
num_id(const char *s)
{
	char *end;
	long long id;

	if (s == NULL || *s == '\0')
		return 0;
	id = strtoll(s, &end, 10);
	return *end == '\0' && id > 0 ? (int64_t)id : 0;
}

struct attachment;
static int send_one(vc_ctx *ctx, const char *to, const char *title, const char *body,
    const struct attachment *a, int64_t cid, int64_t *idp, jv *out);

/* ---- a file mailed with a notification (--attach) ----------------------- */

struct attachment {
	char name[101];                 /* the base name, sanitised */
	const char *type;               /* its content type, by its extension */
	unsigned char *data;            /* malloc'd */
	size_t n;
	char sha256[65];
};

/* The content type a mail reader needs for name, by its extension. */
static const char *
content_type(const char *name)
{
	static const char *const types[][2] = {
		{ ".pdf", "application/pdf" },
		{ ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
		{ ".csv", "text/csv" },
		{ ".html", "text/html" },
		{ ".htm", "text/html" },
		{ ".json", "application/json" },
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot != NULL && i < sizeof types / sizeof types[0]; i++)
		if (strcasecmp(dot, types[i][0]) == 0)
			return types[i][1];
	return "application/octet-stream";
}

/*
 * A file's name as a mail header may carry it: the part after the last
 * slash, letters, digits, '.', '-' and '_' kept, anything else '_', no
 * leading dot, at most 100 bytes (the extension kept); "attachment" when
 * nothing is left.
 */
static void
safe_name(const char *in, char out[101])
{
	const char *base = strrchr(in, '/'), *dot;
	size_t n = 0, len;

	base = base != NULL ? base + 1 : in;
	while (*base == '.')
		base++;
	len = strlen(base);
	dot = strrchr(base, '.');
	for (size_t i = 0; i < len && n < 100; i++) {
		unsigned char c = (unsigned char)base[i];
		/* Too long: keep the head and the extension (up to 16 bytes). */
		if (len > 100 && dot != NULL && base + len - dot <= 16 && n == 100 - (size_t)(base + len - dot))
			i = (size_t)(dot - base), c = '.';
		out[n++] = (isalnum(c) && c < 0x80) || c == '.' || c == '-' || c == '_' ? (char)c : '_';
	}
	out[n] = '\0';
	if (n == 0)
		snprintf(out, 101, "attachment");
}

/* args.attach ({name, data: base64}) decoded and checked into *a. */
static int
attachment_read(vc_ctx *ctx, jv v, struct attachment *a)
{
	jv name = jv_object_get(jv_copy(v), jv_string("name"));
	jv data = jv_object_get(jv_copy(v), jv_string("data"));
	size_t len, cap;
	int rc = 0;

	memset(a, 0, sizeof *a);
	if (jv_get_kind(name) != JV_KIND_STRING || jv_get_kind(data) != JV_KIND_STRING) {
		rc = vc_fail(ctx, VC_EUSAGE, "--attach is {name, data}: a file name and its bytes"
		    " in base64");
		goto out;
	}
	len = (size_t)jv_string_length_bytes(jv_copy(data));
	cap = len / 4 * 3 + 3;
	/* A coarse bound first (the text may hold line breaks); the bytes
	 * decoded are checked exactly below. */
	if (cap > VC_ATTACH_MAX + VC_ATTACH_MAX / 4) {
		rc = vc_fail(ctx, VC_ETOOBIG, "the attachment is larger than %d MiB",
		    VC_ATTACH_MAX / (1024 * 1024));
		goto out;
	}
	if ((a->data = malloc(cap + 1)) == NULL) {
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
		goto out;
	}
	if (sodium_base642bin(a->data, cap, jv_string_value(data), len, "\r\n", &a->n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		rc = vc_fail(ctx, VC_EINVAL, "the attachment's data is not base64");
		goto out;
	}
	if (a->n > VC_ATTACH_MAX) {
		rc = vc_fail(ctx, VC_ETOOBIG, "the attachment is larger than %d MiB",
		    VC_ATTACH_MAX / (1024 * 1024));
		goto out;
	}
	safe_name(jv_string_value(name), a->name);
	a->type = content_type(a->name);
	vc_sha256_hex((const char *)a->data, a->n, a->sha256);
out:
	jv_free(name);
	jv_free(data);
	if (rc != 0) {
		free(a->data);
		a->data = NULL;
	}
	return rc;
}

/* The channel to may take a file: one of kind email.  0 or an error. */
static int
attachment_channel(vc_ctx *ctx, const char *to, int64_t *cid)
{
	char canon[100], kind[32] = "";
	vc_stmt *q;
	int rc;

	if (to == NULL || strncmp(to, "channel:", 8) != 0)
		return vc_fail(ctx, VC_EUSAGE, "--attach goes to a channel of kind email"
		    " (--to channel:NAME): a notification to a role or a user carries no file");
	if ((rc = vc_notify_channel(ctx, to, cid, canon, sizeof canon)) != 0)
		return rc;
	q = vc_sql(ctx, "SELECT kind FROM notify_channels WHERE tenant_id = ?1 AND id = ?2", "si",
	    ctx->who.tenant_id, *cid);
	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_step(ctx, q)) == 1)
		snprintf(kind, sizeof kind, "%s", (const char *)vc_col_text(q, 0));
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	if (strcmp(kind, "email") != 0)
		return vc_fail(ctx, VC_EUSAGE, "--attach: channel %.64s is of kind %s; only a channel"
		    " of kind email mails a file", to + 8, kind);
	return 0;
}

/* Keep the file with the event it goes with, for the channel's
 * forwarder (lib/channels.c), in the event's transaction. */
static int
attachment_store(vc_ctx *ctx, int64_t cid, int64_t event_id, const struct attachment *a)
{
	vc_stmt *q = vc_sql(ctx, "INSERT INTO notify_files (tenant_id, channel_id, event_id, name,"
	    " content_type, size, sha256, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	    "siississi", ctx->who.tenant_id, cid, event_id, a->name, a->type, (int64_t)a->n,
	    a->sha256, NULL, vc_now(ctx));
	int rc;

	if (q == NULL)
		return ctx->err;
	vc_bind_blob(q, 8, a->n ? (const void *)a->data : (const void *)"", (int)a->n, VC_TRANSIENT);
	rc = vc_sql_step(ctx, q);
	vc_stmt_done(q);
	return rc < 0 ? ctx->err : 0;
}

int
vc_op_notify_send(vc_ctx *ctx, jv args, jv *out)
{
	const char *to = vc_arg_str(args, "to"), *title = vc_arg_str(args, "title");
	const char *body = vc_arg_str(args, "body");
	jv attach = jv_object_get(jv_copy(args), jv_string("attach"));
	struct attachment a = { .data = NULL };
	int64_t id, cid = 0;
	int rc, has = jv_is_valid(attach) && jv_get_kind(attach) != JV_KIND_NULL;

	if (has) {
		if (jv_get_kind(attach) != JV_KIND_OBJECT) {
			jv_free(attach);
			return vc_fail(ctx, VC_EUSAGE, "--attach is {name, data}: a file name and its"
			    " bytes in base64");
		}
		if ((rc = attachment_channel(ctx, to, &cid)) != 0) {
			jv_free(attach);
			return rc;
		}
		rc = attachment_read(ctx, attach, &a);
		jv_free(attach);
		if (rc != 0)
			return rc;
	} else
		jv_free(attach);
	rc = send_one(ctx, to, title, body, has ? &a : NULL, cid, &id, out);
	free(a.data);
	return rc;
}

static int
send_one(vc_ctx *ctx, const char *to, const char *title, const char *body,
    const struct attachment *a, int64_t cid, int64_t *idp, jv *out)
{
	int64_t id;
	int rc;

	if (title == NULL || title[0] == '\0' || strlen(title) > TITLE_MAX || vc_has_ctrl(title, 0))
		return vc_fail(ctx, VC_EUSAGE, "a title is 1 to %d characters, no control characters",
		    TITLE_MAX);
	if (body == NULL)
		body = "";
	if (strlen(body) > BODY_MAX || vc_has_ctrl(body, 1))
		return vc_fail(ctx, VC_EUSAGE, "a body is at most %d bytes, no control characters"
		    " but newlines and tabs", BODY_MAX);
	vc_audit_target(ctx, "notification", NULL);
	if ((rc = vc_notify_insert(ctx, to, title, body, 0, 0, &id)) != 0)
		return rc;
	*idp = id;
	if (strncmp(to, "channel:", 8) == 0) {
		/* To a channel: an event for its forwarder, not a notification. */
		vc_audit_detail(ctx, "event_id", jv_number((double)id));
		vc_audit_detail(ctx, "to", jv_string(to));
		*out = JV_OBJECT(jv_string("event_id"), jv_number((double)id), jv_string("target"),
		    jv_string(to), jv_string("title"), jv_string(title));
		if (a != NULL) {
			/* What the file was, never what it holds. */
			jv d = JV_OBJECT(jv_string("name"), jv_string(a->name), jv_string("content_type"),
			    jv_string(a->type), jv_string("size"), jv_number((double)a->n),
			    jv_string("sha256"), jv_string(a->sha256));
			if ((rc = attachment_store(ctx, cid, id, a)) != 0) {
				jv_free(d);
				return rc;
			}
			vc_audit_detail(ctx, "attachment", jv_copy(d));
			*out = jv_object_set(*out, jv_string("attachment"), d);
		}
		return 0;
	}
	vc_audit_detail(ctx, "id", jv_number((double)id));
	vc_audit_detail(ctx, "to", jv_string(to));
	*out = JV_OBJECT(jv_string("id"), jv_number((double)id), jv_string("target"),
	    jv_string(to), jv_string("title"), jv_string(title));
	return 0;
}

int
vc_notify_visible(vc_ctx *ctx, int64_t since, int64_t limit, jv *out)
{
	vc_stmt *q = vc_sql(ctx, "SELECT " N_COLS N_FROM " AND n.id > ?4 ORDER BY n.id LIMIT ?5",
	    "ssiii", ctx->who.tenant_id, ctx->who.user_id, (int64_t)ctx->who.role, since, limit);

	if (q == NULL)
		return ctx->err;
	*out = vc_sql_rows(ctx, q);
	return jv_is_valid(*out) ? 0 : ctx->err;
}

int
vc_notify_after(vc_ctx *ctx, int64_t since, int64_t limit, jv *out)
{
	/* unscoped: vc-serve fans each row out to its tenant's readers only */
	vc_stmt *q = vc_sql(ctx, "SELECT n.id, n.target, n.title, n.body, n.event_id, n.rule_id,"
	    " n.created_by, n.created_at, NULL AS read_at, n.tenant_id AS _tenant, n.user_id AS _user,"
	    " n.min_role AS _min_role FROM notifications n WHERE n.id > ?1 ORDER BY n.id LIMIT ?2",
	    "ii", since, limit);

	if (q == NULL)
		return ctx->err;
	*out = vc_sql_rows(ctx, q);
	return jv_is_valid(*out) ? 0 : ctx->err;
}

int64_t
vc_notify_max_id(vc_ctx *ctx)
{
	/* unscoped: the push's starting point, an id and nothing else */
	return vc_sql_int(ctx, vc_sql(ctx, "SELECT COALESCE(MAX(id), 0) FROM notifications", ""));
}

int64_t
vc_notify_last_id(vc_ctx *ctx)
{
	return vc_sql_int(ctx, vc_sql(ctx, "SELECT COALESCE(MAX(id), 0) FROM notifications"
	    " WHERE tenant_id = ?1", "s", ctx->who.tenant_id));
}

int
vc_op_notify_list(vc_ctx *ctx, jv args, jv *out)
{
	int64_t limit = vc_arg_int(args, "limit", LIST_DEF), since = vc_arg_int(args, "since", 0);
	vc_stmt *q;
	jv rows;

	if (limit < 1 || limit > LIST_MAX)
		return vc_fail(ctx, VC_EUSAGE, "--limit must be 1 to %d", LIST_MAX);
	q = vc_sql(ctx, "SELECT " N_COLS N_FROM " AND n.id > ?4 AND (?5 = 0 OR r.read_at IS NULL)"
	    " ORDER BY n.id DESC LIMIT ?6", "ssiiii", ctx->who.tenant_id, ctx->who.user_id,
	    (int64_t)ctx->who.role, since, (int64_t)vc_arg_bool(args, "unread"), limit);
	if (q == NULL)
		return ctx->err;
	rows = vc_sql_rows(ctx, q);
	if (!jv_is_valid(rows))
		return ctx->err;
	*out = rows;
	return 0;
}

/* Mark what ?4 selects read for the caller; *n gets how many. */
static int
mark_read(vc_ctx *ctx, int64_t id, int *n)
{
	return vc_sql_exec(ctx, "INSERT OR IGNORE INTO notification_reads (tenant_id, notification_id,"
	    " user_id, read_at) SELECT n.tenant_id, n.id, ?2, ?5" N_FROM
	    " AND r.read_at IS NULL AND (?4 = 0 OR n.id = ?4)", n, "ssiii", ctx->who.tenant_id,
	    ctx->who.user_id, (int64_t)ctx->who.role, id, vc_now(ctx));
}

int
vc_op_notify_read_all(vc_ctx *ctx, jv args, jv *out)
{
	int n = 0, rc;

	vc_audit_target(ctx, "notification", NULL);
	if ((rc = mark_read(ctx, 0, &n)) != 0)
		return rc;
	vc_audit_detail(ctx, "marked", jv_number(n));
	*out = JV_OBJECT(jv_string("marked"), jv_number(n));
	return 0;
}

int
vc_op_notify_read(vc_ctx *ctx, jv args, jv *out)
{
	const char *s = vc_arg_str(args, "id");
	int64_t id = num_id(s);
	int n = 0, rc;

	if (vc_arg_bool(args, "all")) {
		if (s != NULL)
			return vc_fail(ctx, VC_EUSAGE, "give a notification id or --all, not both");
		return vc_op_notify_read_all(ctx, args, out);
	}
	if (s == NULL)
		return vc_fail(ctx, VC_EUSAGE, "give a notification id, or --all");
	if (id == 0)
		return vc_fail(ctx, VC_EUSAGE, "a notification id is a positive number, not '%.32s'", s);
	vc_audit_target(ctx, "notification", s);
	/* Someone else's notification does not exist for the caller (and
	 * reaching for it is audited). */
	if ((rc = show(ctx, id, out)) == VC_ENOTFOUND)
		return vc_not_found(ctx, "notification", "notification",
		    /* unscoped: existence check only, to audit a cross-tenant attempt */
		    "SELECT 1 FROM notifications WHERE id = ?1", s);
	if (rc != 0)
		return rc;
	jv_free(*out);
	*out = jv_invalid();
	if ((rc = mark_read(ctx, id, &n)) != 0)
		return rc;
	return show(ctx, id, out);
}

int
vc_op_notify_rule_add(vc_ctx *ctx, jv args, jv *out)
{
	const char *on = vc_arg_str(args, "on"), *when = vc_arg_str(args, "when");
	const char *to = vc_arg_str(args, "to");
	char uid[VC_ID_LEN + 1], canon[100];
	struct vc_jq *jq = NULL;
	vc_stmt *q;
	int role, rc, count = 0;
	int64_t id;

	if (on == NULL || on[0] == '\0' || strlen(on) > 128 || vc_has_ctrl(on, 0))
		return vc_fail(ctx, VC_EUSAGE, "--on takes an event type or glob of 1 to 128 characters");
	if ((rc = vc_notify_target(ctx, to, uid, &role, canon, sizeof canon)) != 0)
		return rc;
	/* Refused words, then whether it compiles: in the child, as it will run. */
	if (when != NULL && ((rc = vc_jq_check(ctx, "--when", when)) != 0 ||
	    (rc = vc_jq_open(ctx, "--when", when, NULL, &jq)) != 0))
		return rc;
	vc_jq_close(jq);
	q = vc_sql(ctx, "SELECT count(*) FROM notify_rules WHERE tenant_id = ?1", "s", ctx->who.tenant_id);
	if (q == NULL)
		return ctx->err;
	if (vc_sql_step(ctx, q) == 1)
		count = vc_col_int(q, 0);
	vc_stmt_done(q);
	if (count >= RULES_MAX)
		return vc_fail(ctx, VC_ECONFLICT, "a tenant has at most %d rules", RULES_MAX);
	rc = vc_sql_exec(ctx, "INSERT INTO notify_rules (tenant_id, on_type, when_jq, target, created_by,"
	    " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", NULL, "sssssi", ctx->who.tenant_id, on, when,
	    canon, ctx->who.username, vc_now(ctx));
	if (rc != 0)
		return rc;
	id = vc_last_insert_id(ctx);
	{
		char ids[24];
		snprintf(ids, sizeof ids, "%lld", (long long)id);
		vc_audit_target(ctx, "notify_rule", ids);
	}
	vc_audit_detail(ctx, "on", jv_string(on));
	vc_audit_detail(ctx, "to", jv_string(canon));
	q = vc_sql(ctx, "SELECT id, on_type AS \"on\", when_jq AS \"when\", target AS \"to\", created_by,"
	    " created_at FROM notify_rules WHERE tenant_id = ?1 AND id = ?2", "si", ctx->who.tenant_id, id);
	return q == NULL ? ctx->err : vc_sql_one(ctx, q, "rule", out);
}

int
vc_op_notify_rule_list(vc_ctx *ctx, jv args, jv *out)
{
	vc_stmt *q = vc_sql(ctx, "SELECT id, on_type AS \"on\", when_jq AS \"when\","
	    " target AS \"to\", created_by, created_at FROM notify_rules WHERE tenant_id = ?1"
	    " ORDER BY id", "s", ctx->who.tenant_id);

	if (q == NULL)
		return ctx->err;
	*out = vc_sql_rows(ctx, q);
	return jv_is_valid(*out) ? 0 : ctx->err;
}

int
vc_op_notify_rule_delete(vc_ctx *ctx, jv args, jv *out)
{
	const char *s = vc_arg_str(args, "id");
	int64_t id = num_id(s);
	int n = 0, rc;

	if (id == 0)
		return vc_fail(ctx, VC_EUSAGE, "a rule id is a positive number");
	vc_audit_target(ctx, "notify_rule", s);
	rc = vc_sql_exec(ctx, "DELETE FROM notify_rules WHERE tenant_id = ?1 AND id = ?2", &n, "si",
	    ctx->who.tenant_id, (int64_t)id);
	if (rc != 0)
		return rc;
	if (n == 0)
		return vc_not_found(ctx, "notify_rule", "rule",
		    /* unscoped: existence check only, to audit a cross-tenant attempt */
		    "SELECT 1 FROM notify_rules WHERE id = ?1", s);
	*out = JV_OBJECT(jv_string("deleted"), jv_number((double)id));
	return 0;
}
