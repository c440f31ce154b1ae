/* SPDX-License-Identifier: MIT */
/*
 * audit.c - the append-only, hash-chained audit log.
 *
 * Each tenant has its own chain ('' is the platform chain).  A record's
 * mac is HMAC-SHA256(K, prev_mac || enc(record)), where K is the
 * "vcaudit_" subkey of the installation key named by the record's key_id
 * and enc() writes each field as a 4-byte big-endian length and its
 * bytes, in a fixed order.  The first record of a chain has 32 zero bytes
 * as prev_mac.  Someone with only the database cannot recompute macs, so
 * an edited or removed record shows up in vc_audit_verify.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "core/audit.h"
#include "crypto/crypto.h"
#include "core/store.h"
#include "core/records.h"
#include "core/events.h"

/* An audit event carries the record's details up to this size (an event
 * body is at most 64 KiB); larger ones say they were left out. */
#define AUDIT_EVENT_DETAILS_MAX (32 * 1024)

struct rec {
	int64_t id, ts_ms, key_id;
	const char *f[15];      /* the text fields, in enc() order below */
};

/* The text fields, in enc() order; the columns of SELECT_REC after id,
 * ts_ms and key_id. */
enum {
	F_CHAIN, F_TENANT, F_ACTOR_TYPE, F_ACTOR_ID, F_ACTOR_NAME, F_TOKEN,
	F_ACTION, F_TARGET_TYPE, F_TARGET_ID, F_OUTCOME, F_REASON, F_IP, F_UA,
	F_REQUEST, F_DETAILS, F__N
};

#define SELECT_REC "SELECT id, ts_ms, key_id, chain, tenant_id, actor_type, " \
	"actor_id, actor_name, token_id, action, target_type, target_id, " \
	"outcome, reason, ip, user_agent, request_id, details, prev_mac, mac " \
	"FROM audit_logs"

static void
put_field(crypto_auth_hmacsha256_state *h, const void *p, size_t n)
{
	unsigned char len[4] = {
		(unsigned char)(n >> 24), (unsigned char)(n >> 16),
		(unsigned char)(n >> 8), (unsigned char)n
	};

	crypto_auth_hmacsha256_update(h, len, 4);
	if (n > 0)
		crypto_auth_hmacsha256_update(h, p, n);
}

static void
put_int(crypto_auth_hmacsha256_state *h, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof buf, "%lld", (long long)v);

	put_field(h, buf, (size_t)n);
}

static int
compute_mac(const struct vc_keyring *kr, const struct rec *r,
    const unsigned char prev[32], unsigned char mac[32])
{
	unsigned char key[32];
	crypto_auth_hmacsha256_state h;

	if (vc_keyring_subkey(kr, (uint32_t)r->key_id, "vcaudit_", key) != 0)
		return -1;
	crypto_auth_hmacsha256_init(&h, key, sizeof key);
	sodium_memzero(key, sizeof key);
	crypto_auth_hmacsha256_update(&h, prev, 32);
	put_int(&h, r->id);
	put_int(&h, r->ts_ms);
	put_int(&h, r->key_id);
	for (int i = 0; i < F__N; i++) {
		/* NULL and "" differ: NULL is encoded as length 0xffffffff. */
		if (r->f[i] == NULL) {
			unsigned char nul[4] = { 0xff, 0xff, 0xff, 0xff };
			crypto_auth_hmacsha256_update(&h, nul, 4);
		} else
			put_field(&h, r->f[i], strlen(r->f[i]));
	}
	crypto_auth_hmacsha256_final(&h, mac);
	return 0;
}

/* Control characters in logged text become '?', and it is cut to max. */
static char *
clean(const char *s, size_t max)
{
	size_t n;
	char *d;

	if (s == NULL || *s == '\0')
		return NULL;
	n = strnlen(s, max);
	if ((d = malloc(n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		d[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	d[n] = '\0';
	return d;
}

/* Fill r from a SELECT_REC row; the strings live until the next step. */
static void
rec_from_row(vc_stmt *q, struct rec *r)
{
	r->id = vc_col_int64(q, 0);
	r->ts_ms = vc_col_int64(q, 1);
	r->key_id = vc_col_int64(q, 2);
	for (int i = 0; i < F__N; i++)
		r->f[i] = (const char *)vc_col_text(q, 3 + i);
	if (r->f[F_CHAIN] == NULL)
		r->f[F_CHAIN] = "";
}

void
vc_audit_target(vc_ctx *ctx, const char *type, const char *id)
{
	snprintf(ctx->audit_target_type, sizeof ctx->audit_target_type, "%s", type);
	if (id != NULL)
		snprintf(ctx->audit_target_id, sizeof ctx->audit_target_id, "%s", id);
}

void
vc_audit_detail(vc_ctx *ctx, const char *key, jv v)
{
	if (jv_get_kind(ctx->audit_details) != JV_KIND_OBJECT) {
		jv_free(ctx->audit_details);
		ctx->audit_details = jv_object();
	}
	ctx->audit_details = jv_object_set(ctx->audit_details, jv_string(key), v);
}

/*
 * The record, as an event of type "audit" in its tenant's log, in the
 * same transaction: rules, the WebSocket and the channels see it, with
 * its seq (the record's id) and its place in the chain (prev_mac, mac),
 * so a receiver can check the chain it was sent.  Not mirrored: records
 * of the platform chain (no tenant: no rule, socket or channel reads
 * them), and a forwarder's successful runs, which would feed themselves
 * (each run would deliver the previous run's record); its failures are.
 */
static int
audit_event(vc_ctx *ctx, const struct rec *r, const char *prev_hex, const char *mac_hex)
{
	static const char *const keys[F__N] = {
		NULL, NULL, "actor_type", "actor_id", "actor", "token_id", "action",
		"target_type", "target_id", "outcome", "reason", "ip", NULL, "request_id", NULL,
	};
	char t[40];
	jv o;

	if (r->f[F_TENANT] == NULL || r->f[F_TENANT][0] == '\0' ||
	    (strcmp(r->f[F_ACTION], "notifications.forward") == 0 &&
	    strcmp(r->f[F_OUTCOME], "success") == 0))
		return 0;
	vc_time_fmt_ms(r->ts_ms, t, sizeof t);
	o = JV_OBJECT(jv_string("seq"), jv_number((double)r->id), jv_string("time"), jv_string(t),
	    jv_string("subject"), jv_string_fmt("%s %s", r->f[F_ACTION], r->f[F_OUTCOME]));
	for (int i = 0; i < F__N; i++)
		if (keys[i] != NULL && r->f[i] != NULL)
			o = jv_object_set(o, jv_string(keys[i]), jv_string(r->f[i]));
	if (r->f[F_DETAILS] != NULL && strlen(r->f[F_DETAILS]) <= AUDIT_EVENT_DETAILS_MAX) {
		jv d = jv_parse(r->f[F_DETAILS]);

		o = jv_object_set(o, jv_string("details"), jv_is_valid(d) ? d :
		    (jv_free(d), jv_string(r->f[F_DETAILS])));
	} else if (r->f[F_DETAILS] != NULL)
		o = jv_object_set(o, jv_string("details_truncated"), jv_true());
	o = jv_object_set(o, jv_string("key_id"), jv_number((double)r->key_id));
	o = jv_object_set(o, jv_string("prev_mac"), jv_string(prev_hex));
	o = jv_object_set(o, jv_string("mac"), jv_string(mac_hex));
	return vc_event_emit_in(ctx, r->f[F_TENANT], "audit", o, NULL);
}

static const char *const actor_names[] = {
	[VC_ACTOR_ANON] = "anonymous", [VC_ACTOR_USER] = "user",
	[VC_ACTOR_SERVICE] = "service", [VC_ACTOR_SYSTEM] = "system",
};

int
vc_audit(vc_ctx *ctx, const char *tenant_id, const char *action,
    const char *target_type, const char *target_id, const char *outcome,
    const char *reason, jv details)
{
	struct vc_store *st = ctx->store;
	struct rec r;
	unsigned char prev[32], mac[32];
	char prev_hex[65], mac_hex[65];
	char *ua = NULL, *rsn = NULL, *det = NULL, *name = NULL, *tid = NULL;
	vc_stmt *q;
	int rc;

	memset(&r, 0, sizeof r);
	memset(prev, 0, sizeof prev);
	if (!st->in_tx) {
		jv_free(details);
		return vc_fail(ctx, VC_EINTERNAL, "audit outside a transaction");
	}
	if (st->keys == NULL) {
		jv_free(details);
		return vc_fail(ctx, VC_ECONFIG, "audit needs the installation key");
	}
	if (jv_get_kind(details) == JV_KIND_OBJECT) {
		jv s = jv_dump_string(details, JV_PRINT_SORTED);
		det = strdup(jv_string_value(s));
		jv_free(s);
		if (det == NULL)
			return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	} else
		jv_free(details);

	/*
	 * The previous record, under the write lock we hold.  Its mac is
	 * checked before we chain onto it: with a key file that is not this
	 * store's (same key id, other bytes) every record we wrote would be
	 * unverifiable for good, and an altered head would be sealed in.
	 */
	r.f[F_CHAIN] = tenant_id ? tenant_id : "";
	/* unscoped: the chain is the tenant's own (its id, '' for the platform) */
	q = vc_sql(ctx, SELECT_REC " WHERE chain = ?1 ORDER BY id DESC LIMIT 1", "s", r.f[F_CHAIN]);
	if (q == NULL)
		goto fail;
	if ((rc = vc_sql_step(ctx, q)) == 1) {
		struct rec head;
		unsigned char head_prev[32], want[32];
		const char *ph = (const char *)vc_col_text(q, 18);
		const char *h = (const char *)vc_col_text(q, 19);

		rec_from_row(q, &head);
		if (h == NULL || ph == NULL ||
		    sodium_hex2bin(prev, sizeof prev, h, strlen(h), NULL, NULL, NULL) != 0 ||
		    sodium_hex2bin(head_prev, sizeof head_prev, ph, strlen(ph), NULL, NULL, NULL) != 0) {
			vc_stmt_done(q);
			vc_fail(ctx, VC_EINTERNAL, "audit chain head is damaged");
			goto fail;
		}
		/* A key missing from the ring cannot be checked; verify reports
		 * that itself.  A retired key still checks (its audit subkey). */
		if (compute_mac(st->keys, &head, head_prev, want) == 0 &&
		    sodium_memcmp(want, prev, sizeof prev) != 0) {
			vc_fail(ctx, VC_ECONFIG, "audit record %lld does not verify with %s%s:"
			    " the key is not this store's, or the record was altered; nothing written",
			    (long long)head.id, st->key_env ? "" : "key file ", vc_store_key_source(st));
			vc_stmt_done(q);
			goto fail;
		}
	}
	vc_stmt_done(q);
	if (rc < 0)
		goto fail;
	/* unscoped: record ids are one sequence over every chain.  On
	 * PostgreSQL that is the column's own sequence: a MAX(id) there
	 * sees only the rows row-level security shows (the caller's
	 * tenant's), and would give another tenant's id again. */
	q = vc_sql(ctx, VC_SQL2("SELECT COALESCE(MAX(id), 0) + 1 FROM audit_logs",
	    "SELECT nextval(pg_get_serial_sequence('audit_logs', 'id'))"), "");
	if (q == NULL || vc_sql_step(ctx, q) != 1) {
		vc_stmt_done(q);
		goto fail;
	}
	r.id = vc_col_int64(q, 0);
	vc_stmt_done(q);

	r.ts_ms = vc_now_ms(ctx);
	r.key_id = vc_keyring_newest(st->keys);
	/* Text a caller chose (a login name, an id typed on the command
	 * line) must not carry terminal escapes into the log. */
	ua = clean(ctx->user_agent, 512);
	rsn = clean(reason, 512);
	name = clean(ctx->who.username, sizeof ctx->who.username);
	tid = clean(target_id, 256);
	if ((ctx->user_agent[0] && ua == NULL) || (reason && *reason && rsn == NULL) ||
	    (ctx->who.username[0] && name == NULL) || (target_id && *target_id && tid == NULL)) {
		vc_fail(ctx, VC_EINTERNAL, "out of memory");
		goto fail;
	}
	r.f[F_TENANT] = tenant_id;
	r.f[F_ACTOR_TYPE] = actor_names[ctx->who.actor];
	r.f[F_ACTOR_ID] = ctx->who.user_id[0] ? ctx->who.user_id : NULL;
	r.f[F_ACTOR_NAME] = name;
	r.f[F_TOKEN] = ctx->who.token_id[0] ? ctx->who.token_id : NULL;
	r.f[F_ACTION] = action;
	r.f[F_TARGET_TYPE] = target_type && *target_type ? target_type : NULL;
	r.f[F_TARGET_ID] = tid;
	r.f[F_OUTCOME] = outcome;
	r.f[F_REASON] = rsn;
	r.f[F_IP] = ctx->ip[0] ? ctx->ip : NULL;
	r.f[F_UA] = ua;
	r.f[F_REQUEST] = ctx->request_id[0] ? ctx->request_id : NULL;
	r.f[F_DETAILS] = det;
	if (compute_mac(st->keys, &r, prev, mac) != 0) {
		vc_fail(ctx, VC_ECONFIG, "audit key %lld missing", (long long)r.key_id);
		goto fail;
	}
	sodium_bin2hex(prev_hex, sizeof prev_hex, prev, sizeof prev);
	sodium_bin2hex(mac_hex, sizeof mac_hex, mac, sizeof mac);
	rc = vc_sql_exec(ctx,
	    "INSERT INTO audit_logs (id, ts_ms, key_id, chain, tenant_id, actor_type,"
	    " actor_id, actor_name, token_id, action, target_type, target_id, outcome,"
	    " reason, ip, user_agent, request_id, details, prev_mac, mac)"
	    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20)",
	    NULL, "iiisssssssssssssssss", r.id, r.ts_ms, r.key_id,
	    r.f[F_CHAIN], r.f[F_TENANT], r.f[F_ACTOR_TYPE], r.f[F_ACTOR_ID],
	    r.f[F_ACTOR_NAME], r.f[F_TOKEN], r.f[F_ACTION], r.f[F_TARGET_TYPE],
	    r.f[F_TARGET_ID], r.f[F_OUTCOME], r.f[F_REASON], r.f[F_IP], r.f[F_UA],
	    r.f[F_REQUEST], r.f[F_DETAILS], prev_hex, mac_hex);
	if (rc == 0)
		rc = audit_event(ctx, &r, prev_hex, mac_hex);
	free(ua);
	free(rsn);
	free(det);
	free(name);
	free(tid);
	return rc;
fail:
	free(ua);
	free(rsn);
	free(det);
	free(name);
	free(tid);
	return ctx->err ? ctx->err : vc_fail(ctx, VC_EINTERNAL, "audit write failed");
}

/* One audit row as the JSON users see. */
static jv
rec_json(vc_stmt *q, int with_mac)
{
	char t[40];
	jv o = jv_object();
	static const char *const keys[F__N] = {
		NULL, "tenant_id", "actor_type", "actor_id", "actor", "token_id",
		"action", "target_type", "target_id", "outcome", "reason", "ip",
		"user_agent", "request_id", "details",
	};

	o = jv_object_set(o, jv_string("id"), jv_number((double)vc_col_int64(q, 0)));
	vc_time_fmt_ms(vc_col_int64(q, 1), t, sizeof t);
	o = jv_object_set(o, jv_string("time"), jv_string(t));
	for (int i = F_TENANT; i < F__N; i++) {
		const char *s = (const char *)vc_col_text(q, 3 + i);
		jv v = s ? jv_string(s) : jv_null();
		if (i == F_DETAILS && s != NULL) {
			jv_free(v);
			v = jv_parse(s);
			if (!jv_is_valid(v)) {
				jv_free(v);
				v = jv_string(s);
			}
		}
		o = jv_object_set(o, jv_string(keys[i]), v);
	}
	if (with_mac) {
		o = jv_object_set(o, jv_string("key_id"), jv_number((double)vc_col_int64(q, 2)));
		o = jv_object_set(o, jv_string("prev_mac"),
		    jv_string((const char *)vc_col_text(q, 18)));
		o = jv_object_set(o, jv_string("mac"),
		    jv_string((const char *)vc_col_text(q, 19)));
	}
	return o;
}

/*
 * The tenant an admin may read: their own; a superadmin any (tenant NULL
 * or "" means all chains for a superadmin).  An admin naming another
 * tenant gets "no such tenant", as if it did not exist, and the attempt
 * is audited (security.md 7): 0, or VC_ENOTFOUND with *tenant unset.
 */
static int
scope(vc_ctx *ctx, jv args, const char **tenant)
{
	const char *t = vc_arg_str(args, "tenant_id");

	if (ctx->who.role == VC_ROLE_SUPERADMIN) {
		*tenant = t && *t ? t : NULL;
		return 0;
	}
	if (t != NULL && *t != '\0' && strcmp(t, ctx->who.tenant_id) != 0) {
		vc_deny_audit(ctx, "tenant", t);
		return vc_fail(ctx, VC_ENOTFOUND, "no such tenant: %.64s", t);
	}
	*tenant = ctx->who.tenant_id;
	return 0;
}

/*
 * A time argument (seconds, already checked to be a number) as ms,
 * clamped: "-9000000000000000000s" or a JSON 1e300 must not overflow.
 */
static int64_t
arg_ms(jv args, const char *key, int64_t dflt)
{
	jv v = jv_object_get(jv_copy(args), jv_string(key));
	double d;

	if (jv_get_kind(v) != JV_KIND_NUMBER) {
		jv_free(v);
		return dflt;
	}
	d = jv_number_value(v);
	jv_free(v);
	if (d != d)
		return dflt;
	if (d <= (double)(INT64_MIN / 1000))
		return INT64_MIN;
	if (d >= (double)(INT64_MAX / 1000))
		return INT64_MAX;
	return (int64_t)d * 1000;
}

/* The filters of an audit list, ?1 .. ?8; either order follows them. */
#define AUDIT_WHERE " WHERE (?1 IS NULL OR tenant_id = ?1)" \
	" AND (?2 IS NULL OR action = ?2)" \
	" AND (?3 = '' OR substr(action, 1, length(?3)) = ?3)" \
	" AND (?4 IS NULL OR target_type = ?4)" \
	" AND (?5 IS NULL OR actor_name = ?5 OR actor_id = ?5)" \
	" AND (?6 IS NULL OR outcome = ?6)" \
	" AND ts_ms >= ?7 AND ts_ms <= ?8"

int
vc_op_audit_list(vc_ctx *ctx, jv args, jv *out)
{
	const char *tenant = NULL;
	const char *action = vc_arg_str(args, "action");
	const char *rtype = vc_arg_str(args, "resource_type");
	const char *user = vc_arg_str(args, "user");
	const char *outcome = vc_arg_str(args, "outcome");
	const char *order = vc_arg_str(args, "order"), *after = vc_arg_str(args, "after");
	int asc = order != NULL && strcmp(order, "asc") == 0;
	int64_t since, until, limit = 100, past = asc ? 0 : INT64_MAX;
	jv v;
	vc_stmt *q;
	char prefix[128];

	if (scope(ctx, args, &tenant) != 0)
		return ctx->err;
	since = arg_ms(args, "since", INT64_MIN);
	until = arg_ms(args, "until", INT64_MAX);
	v = jv_object_get(jv_copy(args), jv_string("limit"));
	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		double d = jv_number_value(v);
		/* Range first: converting an out-of-range double is undefined. */
		limit = d >= 1 && d <= 1000 ? (int64_t)d : 0;
	}
	jv_free(v);
	if (limit < 1 || limit > 1000)
		return vc_fail(ctx, VC_EUSAGE, "limit must be 1 to 1000");
	if (after != NULL) {
		char *end;
		long long id;
		errno = 0;
		id = strtoll(after, &end, 10);
		if (errno != 0 || end == after || *end != '\0' || id < 0)
			return vc_fail(ctx, VC_EUSAGE, "after must be an audit record id: %.64s", after);
		past = id;
	}
	/* "auth.*" matches every action under auth. */
	prefix[0] = '\0';
	if (action != NULL) {
		size_t n = strlen(action);
		if (n >= 2 && n < sizeof prefix && strcmp(action + n - 2, ".*") == 0) {
			snprintf(prefix, sizeof prefix, "%.*s.", (int)(n - 2), action);
			action = NULL;
		}
	}
	q = vc_sql(ctx, asc ?
	    SELECT_REC AUDIT_WHERE " AND id > ?10 ORDER BY id ASC LIMIT ?9" :
	    SELECT_REC AUDIT_WHERE " AND id < ?10 ORDER BY id DESC LIMIT ?9",
	    "ssssssiiii", tenant, action, prefix, rtype, user, outcome,
	    since, until, limit, past);
	if (q == NULL)
		return ctx->err;
	*out = jv_array();
	int rc;
	while ((rc = vc_sql_step(ctx, q)) == 1)
		*out = jv_array_append(*out, rec_json(q, 0));
	vc_stmt_done(q);
	if (rc < 0) {
		jv_free(*out);
		*out = jv_invalid();
		return ctx->err;
	}
	return 0;
}

int
vc_op_audit_show(vc_ctx *ctx, jv args, jv *out)
{
	const char *ids = vc_arg_str(args, "id");
	const char *tenant = ctx->who.role == VC_ROLE_SUPERADMIN ? NULL : ctx->who.tenant_id;
	char *end;
	long long id;
	vc_stmt *q;
	int rc;

	if (ids == NULL || (id = strtoll(ids, &end, 10), *end != '\0') || id <= 0)
		return vc_fail(ctx, VC_EUSAGE, "audit record id must be a positive number");
	q = vc_sql(ctx, SELECT_REC " WHERE id = ?1 AND (?2 IS NULL OR tenant_id = ?2)",
	    "is", (int64_t)id, tenant);
	if (q == NULL)
		return ctx->err;
	rc = vc_sql_step(ctx, q);
	if (rc == 1)
		*out = rec_json(q, 1);
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	if (rc == 0) {
		if (tenant != NULL) {
			/* unscoped: existence check only, to audit a cross-tenant attempt */
			q = vc_sql(ctx, "SELECT 1 FROM audit_logs WHERE id = ?1", "i", (int64_t)id);
			if (q != NULL && vc_sql_step(ctx, q) == 1)
				vc_deny_audit(ctx, "audit", ids);
			vc_stmt_done(q);
		}
		return vc_fail(ctx, VC_ENOTFOUND, "no audit record %lld", id);
	}
	return 0;
}

static int anchors_verify(vc_ctx *ctx, const char *text, const char *tenant,
    int64_t *checked, char *why, size_t n);

/*
 * Walk one chain (or all, chain NULL) in id order and recompute every
 * mac.  Reports the first record whose mac or link is wrong.
 */
int
vc_op_audit_verify(vc_ctx *ctx, jv args, jv *out)
{
	const char *tenant = NULL, *anchors = vc_arg_str(args, "anchors");
	vc_stmt *q;
	int rc;
	int64_t n = 0, bad = 0, nanchors = 0;
	int cut = 0;
	char why[512] = "";
	jv heads;                   /* chain -> last mac seen (hex) */

	if (scope(ctx, args, &tenant) != 0)
		return ctx->err;
	heads = jv_object();
	/* unscoped: the audit chain's own verification; the chain is named by
	 * the caller's tenant id, every chain only for the superadmin */
	q = vc_sql(ctx, SELECT_REC " WHERE (?1 IS NULL OR chain = ?1) ORDER BY id", "s", tenant);
	if (q == NULL) {
		jv_free(heads);
		return ctx->err;
	}
	while ((rc = vc_sql_step(ctx, q)) == 1) {
		struct rec r;
		unsigned char prev[32], mac[32], want[32];
		const char *prev_hex = (const char *)vc_col_text(q, 18);
		const char *mac_hex = (const char *)vc_col_text(q, 19);
		jv head;

		n++;
		rec_from_row(q, &r);
		head = jv_object_get(jv_copy(heads), jv_string(r.f[F_CHAIN]));
		if (!jv_is_valid(head)) {
			jv_free(head);
			head = jv_string("0000000000000000000000000000000000000000000000000000000000000000");
		}
		if (prev_hex == NULL || mac_hex == NULL ||
		    strcmp(prev_hex, jv_string_value(head)) != 0) {
			snprintf(why, sizeof why,
			    "record %lld does not follow the one before it in its chain: a record was removed or altered",
			    (long long)r.id);
			bad = r.id;
		} else if (sodium_hex2bin(prev, 32, prev_hex, strlen(prev_hex), NULL, NULL, NULL) != 0 ||
		    sodium_hex2bin(want, 32, mac_hex, strlen(mac_hex), NULL, NULL, NULL) != 0) {
			snprintf(why, sizeof why, "record %lld has a malformed mac", (long long)r.id);
			bad = r.id;
		} else if (compute_mac(ctx->store->keys, &r, prev, mac) != 0) {
			snprintf(why, sizeof why, "record %lld was written with key %lld, which is not in the key file",
			    (long long)r.id, (long long)r.key_id);
			bad = r.id;
		} else if (sodium_memcmp(mac, want, 32) != 0) {
			snprintf(why, sizeof why, "record %lld was altered", (long long)r.id);
			bad = r.id;
		}
		jv_free(head);
		if (bad)
			break;
		heads = jv_object_set(heads, jv_string(r.f[F_CHAIN]), jv_string(mac_hex));
	}
	vc_stmt_done(q);
	jv_free(heads);
	if (rc < 0)
		return ctx->err;
	/* The chain holds together; the anchors say whether it was cut short. */
	if (!bad && anchors != NULL) {
		if ((cut = anchors_verify(ctx, anchors, tenant, &nanchors, why, sizeof why)) < 0)
			return ctx->err;
	}
	*out = jv_object();
	*out = jv_object_set(*out, jv_string("records"), jv_number((double)n));
	if (anchors != NULL)
		*out = jv_object_set(*out, jv_string("anchors"), jv_number((double)nanchors));
	*out = jv_object_set(*out, jv_string("ok"), jv_bool(bad == 0 && !cut));
	if (bad || cut) {
		if (bad)
			*out = jv_object_set(*out, jv_string("first_bad_id"), jv_number((double)bad));
		*out = jv_object_set(*out, jv_string("reason"), jv_string(why));
		return vc_fail(ctx, VC_EINVAL, "audit log damaged: %s", why);
	}
	return 0;
}

/* ---- anchors ----------------------------------------------------------- */
/*
 * An anchor is the newest record of a chain, kept outside the store (the
 * system log, a file).  Someone who can write the database but not the
 * key can still delete the newest records of a chain: what remains
 * verifies.  The anchor shows the chain once reached further.  The line
 * is the same in the log and the file, so either can be given to
 * "audit verify --anchors":
 *   audit-anchor tenant=ID id=N mac=HEX time=RFC3339
 * tenant=- is the platform chain.
 */
#define ANCHOR_TAG "audit-anchor "

int
vc_audit_anchor_line(const char *chain, int64_t id, const char *mac, int64_t now,
    char *buf, size_t n)
{
	char t[40];
	int len;

	vc_time_fmt(now, t, sizeof t);
	len = snprintf(buf, n, ANCHOR_TAG "tenant=%s id=%lld mac=%s time=%s",
	    chain && *chain ? chain : "-", (long long)id, mac, t);
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* Append lines (each ends in '\n') to path and fsync it. */
static int
append_file(vc_ctx *ctx, const char *path, const char *text, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return vc_fail(ctx, VC_ECONFIG, "cannot open anchor file %s: %s", path,
		    strerror(errno));
	while (n > 0) {
		ssize_t w = write(fd, text, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			return vc_fail(ctx, VC_ECONFIG, "cannot write anchor file %s: %s", path,
			    strerror(e));
		}
		text += w;
		n -= (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0)
		return vc_fail(ctx, VC_ECONFIG, "cannot write anchor file %s: %s", path,
		    strerror(errno));
	return 0;
}

int
vc_audit_anchor(vc_ctx *ctx, const char *file, jv *out)
{
	vc_stmt *q;
	jv lines = jv_string("");
	int64_t now = vc_now(ctx);
	int rc;

	*out = jv_array();
	/* unscoped: the head of every chain (each tenant's and the platform's),
	 * for the installation's anchors.  One statement, so one read snapshot
	 * and no transaction held; each head is one lookup in audit_logs_chain. */
	q = vc_sql(ctx, "SELECT h.chain, h.head, (SELECT mac FROM audit_logs WHERE id = h.head)"
	    " FROM (SELECT c.chain AS chain, (SELECT MAX(id) FROM audit_logs WHERE chain = c.chain)"
	    " AS head FROM (SELECT '' AS chain UNION ALL SELECT id FROM tenants) c) h"
	    " WHERE h.head IS NOT NULL ORDER BY h.chain", "");
	if (q == NULL)
		goto fail;
	while ((rc = vc_sql_step(ctx, q)) == 1) {
		const char *chain = (const char *)vc_col_text(q, 0);
		const char *mac = (const char *)vc_col_text(q, 2);
		int64_t id = vc_col_int64(q, 1);
		char line[256];
		jv o;

		if (mac == NULL || vc_audit_anchor_line(chain, id, mac, now, line, sizeof line) != 0)
			continue;       /* a damaged head: verify reports it */
		if (ctx->notice != NULL)
			ctx->notice(ctx, line, ctx->notice_arg);
		lines = jv_string_concat(lines, jv_string_fmt("%s\n", line));
		o = jv_object();
		o = jv_object_set(o, jv_string("tenant_id"),
		    chain && *chain ? jv_string(chain) : jv_null());
		o = jv_object_set(o, jv_string("id"), jv_number((double)id));
		o = jv_object_set(o, jv_string("mac"), jv_string(mac));
		o = jv_object_set(o, jv_string("line"), jv_string(line));
		*out = jv_array_append(*out, o);
	}
	vc_stmt_done(q);
	if (rc < 0)
		goto fail;
	if (file != NULL && *file != '\0' && jv_string_length_bytes(jv_copy(lines)) > 0 &&
	    append_file(ctx, file, jv_string_value(lines),
	    (size_t)jv_string_length_bytes(jv_copy(lines))) != 0)
		goto fail;
	jv_free(lines);
	return 0;
fail:
	jv_free(lines);
	jv_free(*out);
	*out = jv_invalid();
	return ctx->err ? ctx->err : vc_fail(ctx, VC_EINTERNAL, "anchoring failed");
}

int
vc_op_audit_anchor(vc_ctx *ctx, jv args, jv *out)
{
	return vc_audit_anchor(ctx, vc_arg_str(args, "file"), out);
}

/* One "audit-anchor" line: its fields, pointers into line (cut in place). */
struct anchor {
	const char *tenant, *mac, *time;
	int64_t id;
};

static int
anchor_parse(char *s, struct anchor *a)
{
	char *tok, *save = NULL;

	memset(a, 0, sizeof a[0]);
	a->id = -1;
	for (tok = strtok_r(s, " \t\r", &save); tok != NULL; tok = strtok_r(NULL, " \t\r", &save)) {
		char *end;

		if (strncmp(tok, "tenant=", 7) == 0)
			a->tenant = tok + 7;
		else if (strncmp(tok, "mac=", 4) == 0)
			a->mac = tok + 4;
		else if (strncmp(tok, "time=", 5) == 0)
			a->time = tok + 5;
		else if (strncmp(tok, "id=", 3) == 0) {
			errno = 0;
			a->id = strtoll(tok + 3, &end, 10);
			if (errno != 0 || *end != '\0' || end == tok + 3 || a->id <= 0)
				return -1;
		}
	}
	if (a->tenant == NULL || *a->tenant == '\0' || a->mac == NULL || strlen(a->mac) != 64 ||
	    a->id <= 0)
		return -1;
	if (strcmp(a->tenant, "-") == 0)
		a->tenant = "";
	return 0;
}

/* "acme (ID)", or "the platform chain", into buf. */
static void
chain_name(vc_ctx *ctx, const char *chain, char *buf, size_t n)
{
	vc_stmt *q;

	if (*chain == '\0') {
		snprintf(buf, n, "the platform chain");
		return;
	}
	snprintf(buf, n, "tenant %.64s", chain);
	q = vc_sql(ctx, "SELECT name FROM tenants WHERE id = ?1", "s", chain);
	if (q != NULL && vc_sql_step(ctx, q) == 1 && vc_col_text(q, 0) != NULL)
		snprintf(buf, n, "tenant %.64s (%.64s)", (const char *)vc_col_text(q, 0),
		    chain);
	vc_stmt_done(q);
}

/*
 * Check one anchor against the store: 0, or 1 with why filled (the record
 * it names is gone, or differs), or -1 on a store error.
 */
static int
anchor_check(vc_ctx *ctx, const struct anchor *a, char *why, size_t n)
{
	char who[160];
	vc_stmt *q;
	int rc;
	int64_t head = 0;

	/* unscoped: the chain is the one the anchor names, already checked
	 * against the caller's tenant */
	q = vc_sql(ctx, "SELECT mac FROM audit_logs WHERE chain = ?1 AND id = ?2", "si",
	    a->tenant, a->id);
	if (q == NULL)
		return -1;
	rc = vc_sql_step(ctx, q);
	if (rc == 1) {
		const char *mac = (const char *)vc_col_text(q, 0);
		int same = mac != NULL && strcmp(mac, a->mac) == 0;

		vc_stmt_done(q);
		if (same)
			return 0;
		chain_name(ctx, a->tenant, who, sizeof who);
		snprintf(why, n, "%.200s: record %lld differs from its anchor%s%s", who,
		    (long long)a->id, a->time ? " of " : "", a->time ? a->time : "");
		return 1;
	}
	vc_stmt_done(q);
	if (rc < 0)
		return -1;
	/* unscoped: as above, the anchored chain */
	q = vc_sql(ctx, "SELECT COALESCE(MAX(id), 0) FROM audit_logs WHERE chain = ?1", "s",
	    a->tenant);
	if (q == NULL || vc_sql_step(ctx, q) != 1) {
		vc_stmt_done(q);
		return -1;
	}
	head = vc_col_int64(q, 0);
	vc_stmt_done(q);
	chain_name(ctx, a->tenant, who, sizeof who);
	if (head < a->id)
		snprintf(why, n, "%.200s: its newest records were removed: the chain ends at record "
		    "%lld, but record %lld was anchored%s%s", who, (long long)head,
		    (long long)a->id, a->time ? " at " : "", a->time ? a->time : "");
	else
		snprintf(why, n, "%.200s: anchored record %lld was removed", who, (long long)a->id);
	return 1;
}

/*
 * Check every anchor of text (lines holding "audit-anchor ", others are
 * skipped: a syslog file will do) that the caller may see (tenant NULL:
 * all).  *checked counts them; a failure sets why and returns 1.
 */
static int
anchors_verify(vc_ctx *ctx, const char *text, const char *tenant, int64_t *checked,
    char *why, size_t n)
{
	char *copy = strdup(text), *line, *save = NULL;
	int64_t lineno = 0, found = 0;
	int rc = 0;

	if (copy == NULL) {
		vc_fail(ctx, VC_EINTERNAL, "out of memory");
		return -1;
	}
	*checked = 0;
	for (line = copy; line != NULL; line = save) {
		char *tag;
		struct anchor a;

		save = strchr(line, '\n');
		if (save != NULL)
			*save++ = '\0';
		lineno++;
		if ((tag = strstr(line, ANCHOR_TAG)) == NULL)
			continue;
		found++;
		if (anchor_parse(tag + strlen(ANCHOR_TAG), &a) != 0) {
			free(copy);
			vc_fail(ctx, VC_EUSAGE, "anchors:%lld: not an anchor line "
			    "(audit-anchor tenant=ID id=N mac=HEX)", (long long)lineno);
			return -1;
		}
		if (tenant != NULL && strcmp(a.tenant, tenant) != 0)
			continue;
		(*checked)++;
		if ((rc = anchor_check(ctx, &a, why, n)) != 0)
			break;
	}
	free(copy);
	if (rc == 0 && found == 0) {
		vc_fail(ctx, VC_EUSAGE, "anchors: no audit-anchor lines");
		return -1;
	}
	return rc;
}
