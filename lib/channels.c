/* SPDX-License-Identifier: MIT */
/*
 * channels.c - the event log delivered to files and webhooks, each
 * channel with its durable cursor.  See channels.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "channels.h"
#include "core/curl.h"
#include "core/audit.h"
#include "core/events.h"
#include "core/store.h"
#include "crypto/crypto.h"

#define BATCH 100               /* events a delivery carries at most */
#define HOOK_TIMEOUT 10         /* s for a webhook to answer */
#define SECRET_AD_FMT "%s|notify_channel|%s"    /* tenant, channel name */
#define FOLLOW_POLL_MS 100
#define CHAN_COLS "id, name, kind, target, types, cursor, failures, last_error, delivered_at," \
	" created_by, created_at"

static int
name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n >= 1 && n <= 64 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* The target of a channel of kind: an absolute path, or an http(s) URL. */
static int
target_ok(vc_ctx *ctx, const char *kind, const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (n == 0 || n > 2048 || vc_has_ctrl(t, 0) || strchr(t, ' ') != NULL)
		return vc_fail(ctx, VC_EUSAGE, "--target: 1 to 2048 characters, no spaces");
	if (strcmp(kind, "file") == 0 && t[0] != '/')
		return vc_fail(ctx, VC_EUSAGE, "a file channel's target is an absolute path");
	if (strcmp(kind, "webhook") == 0 && strncmp(t, "http://", 7) != 0 && strncmp(t, "https://", 8) != 0)
		return vc_fail(ctx, VC_EUSAGE, "a webhook's target is an http:// or https:// URL");
	return 0;
}

static int
last_event(vc_ctx *ctx, int64_t *id)
{
	sqlite3_stmt *q = vc_sql(ctx, "SELECT COALESCE(MAX(id), 0) FROM events WHERE tenant_id = ?1",
	    "s", ctx->who.tenant_id);

	if (q == NULL)
		return ctx->err;
	*id = vc_sql_step(ctx, q) == 1 ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_finalize(q);
	return ctx->err;
}

static int
channel_json(vc_ctx *ctx, const char *name, jv *out)
{
	sqlite3_stmt *q = vc_sql(ctx, "SELECT " CHAN_COLS " FROM notify_channels"
	    " WHERE tenant_id = ?1 AND name = ?2", "ss", ctx->who.tenant_id, name);

	return q == NULL ? ctx->err : vc_sql_one(ctx, q, "channel", out);
}

int
vc_op_channel_add(vc_ctx *ctx, jv args, jv *out)
{
	const char *name = vc_arg_str(args, "name"), *kind = vc_arg_str(args, "kind");
	const char *target = vc_arg_str(args, "target"), *types = vc_arg_str(args, "type");
	char secret[VC_TOKEN_MAX] = "", ad[200], *sealed = NULL;
	int64_t since = vc_arg_int(args, "since", -1);
	int rc;

	if (!name_ok(name))
		return vc_fail(ctx, VC_EUSAGE, "a channel name is 1 to 64 letters, digits, '.', '_' or '-'");
	if ((rc = target_ok(ctx, kind, target)) != 0)
		return rc;
	if (types != NULL && (types[0] == '\0' || strlen(types) > 128 || vc_has_ctrl(types, 0)))
		return vc_fail(ctx, VC_EUSAGE, "--type takes a glob of 1 to 128 characters");
	/* A new channel starts with what comes next, unless told. */
	if (since < 0 && (rc = last_event(ctx, &since)) != 0)
		return rc;
	vc_audit_target(ctx, "notify_channel", NULL);
	if (strcmp(kind, "webhook") == 0) {
		vc_token_new("vcw_", secret);
		snprintf(ad, sizeof ad, SECRET_AD_FMT, ctx->who.tenant_id, name);
		if ((rc = vc_secret_seal(ctx, ctx->store->keys, ad, secret, strlen(secret), &sealed)) != 0)
			return rc;
	}
	rc = vc_sql_exec(ctx, "INSERT INTO notify_channels (tenant_id, name, kind, target, types,"
	    " secret_sealed, cursor, created_by, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
	    NULL, "ssssssisi", ctx->who.tenant_id, name, kind, target, types ? types : "*", sealed,
	    since, ctx->who.username, vc_now(ctx));
	free(sealed);
	if (rc == VC_ECONFLICT)
		rc = vc_fail(ctx, VC_ECONFLICT, "the tenant has a channel %s already", name);
	if (rc == 0)
		rc = channel_json(ctx, name, out);
	if (rc == 0 && secret[0] != '\0')
		/* Shown this once: the receiver checks X-VC-Signature with it. */
		*out = jv_object_set(*out, jv_string("secret"), jv_string(secret));
	sodium_memzero(secret, sizeof secret);
	vc_audit_detail(ctx, "name", jv_string(name));
	vc_audit_detail(ctx, "kind", jv_string(kind));
	return rc;
}

int
vc_op_channel_list(vc_ctx *ctx, jv args, jv *out)
{
	sqlite3_stmt *q = vc_sql(ctx, "SELECT " CHAN_COLS " FROM notify_channels WHERE tenant_id = ?1"
	    " ORDER BY name", "s", ctx->who.tenant_id);

	if (q == NULL)
		return ctx->err;
	*out = vc_sql_rows(ctx, q);
	return jv_is_valid(*out) ? 0 : ctx->err;
}

int
vc_op_channel_delete(vc_ctx *ctx, jv args, jv *out)
{
	const char *name = vc_arg_str(args, "name");
	int n = 0, rc;

	vc_audit_target(ctx, "notify_channel", NULL);
	vc_audit_detail(ctx, "name", jv_string(name ? name : ""));
	if ((rc = channel_json(ctx, name, out)) != 0)
		return rc;
	return vc_sql_exec(ctx, "DELETE FROM notify_channels WHERE tenant_id = ?1 AND name = ?2", &n,
	    "ss", ctx->who.tenant_id, name);
}

/* ---- delivery ------------------------------------------------------------- */

struct channel {
	int64_t id, cursor;
	char name[65], kind[16], target[2049], types[129];
	char *key;              /* a webhook's secret, vc_secret_free'd */
	size_t keylen;
	int fails;              /* failed passes in a row (--follow) */
	int64_t retry_ms;       /* not tried again before (--follow) */
};

#define BACKOFF_MS 1000         /* the first retry of --follow after this */
#define BACKOFF_MAX_MS 300000   /* and never later than this */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next try of a channel that failed: exponential, with +-20% jitter
 * so that channels (and forwarders) failing together do not retry
 * together. */
static void
backoff(struct channel *ch, int64_t now)
{
	int64_t d = BACKOFF_MS;

	for (int i = 1; i < ch->fails && d < BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > BACKOFF_MAX_MS)
		d = BACKOFF_MAX_MS;
	d += (int64_t)randombytes_uniform((uint32_t)(d * 2 / 5 + 1)) - d / 5;
	ch->retry_ms = now + d;
}

/* Append the batch (consumed) to the file, one event a line, and sync it. */
static int
deliver_file(vc_ctx *ctx, const struct channel *ch, jv batch)
{
	jv text = jv_string("");
	const char *p;
	size_t n, off = 0;
	int fd, rc = 0;

	jv_array_foreach(batch, i, e)
		text = jv_string_append_str(jv_string_concat(text, jv_dump_string(e, 0)), "\n");
	jv_free(batch);
	p = jv_string_value(text);
	n = (size_t)jv_string_length_bytes(jv_copy(text));
	fd = open(ch->target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		rc = vc_fail(ctx, VC_EUNAVAIL, "%s: %s", ch->target, strerror(errno));
	while (rc == 0 && off < n) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			rc = vc_fail(ctx, VC_EUNAVAIL, "%s: %s", ch->target, strerror(errno));
		else
			off += (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = vc_fail(ctx, VC_EUNAVAIL, "%s: %s", ch->target, strerror(errno));
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = vc_fail(ctx, VC_EUNAVAIL, "%s: %s", ch->target, strerror(errno));
	jv_free(text);
	return rc;
}

/* POST {"channel": NAME, "events": batch (consumed)} with its signature. */
static int
deliver_hook(vc_ctx *ctx, const struct channel *ch, jv batch, int64_t first, int64_t last)
{
	jv body = jv_dump_string(JV_OBJECT(jv_string("channel"), jv_string(ch->name),
	    jv_string("events"), batch), 0);
	const char *b = jv_string_value(body);
	size_t n = (size_t)jv_string_length_bytes(jv_copy(body));
	unsigned char mac[32];
	char hex[65], sig[100], ids[80], ua[64];
	struct curl_slist *hdr = NULL;
	CURL *h;
	long status = 0;
	CURLcode cc;
	int rc = 0;

	if ((rc = vc_curl_ready(ctx)) != 0) {
		jv_free(body);
		return rc;
	}
	if ((h = curl_easy_init()) == NULL) {
		jv_free(body);
		return vc_fail(ctx, VC_EINTERNAL, "cannot start libcurl");
	}
	vc_hmac_sha256((const unsigned char *)ch->key, ch->keylen, b, n, mac);
	sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
	snprintf(sig, sizeof sig, "X-VC-Signature: sha256=%s", hex);
	snprintf(ids, sizeof ids, "X-VC-Events: %lld-%lld", (long long)first, (long long)last);
	snprintf(ua, sizeof ua, "User-Agent: vc-notify/%s", VC_VERSION);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, sig);
	hdr = curl_slist_append(hdr, ids);
	hdr = curl_slist_append(hdr, ua);
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, ch->target);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, b);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, vc_curl_discard);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)HOOK_TIMEOUT);
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK)
		rc = vc_fail(ctx, VC_EUNAVAIL, "%s", curl_easy_strerror(cc));
	else if (status < 200 || status > 299)
		rc = vc_fail(ctx, VC_EUNAVAIL, "the webhook answered HTTP %ld", status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	sodium_memzero(mac, sizeof mac);
	jv_free(body);
	return rc;
}

/* Note a failed delivery on the channel (its cursor stays). */
static void
note_failure(vc_ctx *ctx, const struct channel *ch, const char *why)
{
	int err = ctx->err;
	char msg[sizeof ctx->errmsg];

	snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	if (vc_tx_begin(ctx) == 0) {
		if (vc_sql_exec(ctx, "UPDATE notify_channels SET failures = failures + 1, last_error = ?3"
		    " WHERE tenant_id = ?1 AND id = ?2", NULL, "sis", ctx->who.tenant_id, ch->id, why) != 0 ||
		    vc_tx_commit(ctx) != 0)
			vc_tx_rollback(ctx);
	}
	ctx->err = err;
	snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", msg);
}

/*
 * Deliver what the channel has not had yet, a batch at a time; each
 * batch's cursor is committed once the receiver took it.  *n gets how
 * many events went out.
 */
static int
forward_one(vc_ctx *ctx, struct channel *ch, long *n)
{
	for (;;) {
		sqlite3_stmt *q;
		jv rows, last;
		int64_t first, to;
		int rc, len, moved = 0;

		if (ctx->stop != NULL && *ctx->stop)
			return 0;
		q = vc_sql(ctx, "SELECT id, type, created_at, body AS body_json FROM events"
		    " WHERE tenant_id = ?1 AND id > ?2 AND type GLOB ?3 ORDER BY id LIMIT ?4", "sisi",
		    ctx->who.tenant_id, ch->cursor, ch->types, (int64_t)BATCH);
		if (q == NULL || !jv_is_valid(rows = vc_sql_rows(ctx, q)))
			return ctx->err;
		if ((len = jv_array_length(jv_copy(rows))) == 0) {
			jv_free(rows);
			return 0;
		}
		last = jv_array_get(jv_copy(rows), len - 1);
		to = vc_arg_int(last, "id", 0);
		jv_free(last);
		last = jv_array_get(jv_copy(rows), 0);
		first = vc_arg_int(last, "id", 0);
		jv_free(last);
		rc = strcmp(ch->kind, "file") == 0 ? deliver_file(ctx, ch, rows) :
		    deliver_hook(ctx, ch, rows, first, to);
		if (rc != 0) {
			char why[sizeof ctx->errmsg];

			snprintf(why, sizeof why, "%s", ctx->errmsg);
			note_failure(ctx, ch, why);
			return vc_fail(ctx, rc, "channel %s: %s", ch->name, why);
		}
		/* Only forward: another forwarder may have moved it meanwhile. */
		if ((rc = vc_tx_begin(ctx)) != 0)
			return rc;
		rc = vc_sql_exec(ctx, "UPDATE notify_channels SET cursor = ?3, failures = 0, last_error = NULL,"
		    " delivered_at = ?5 WHERE tenant_id = ?1 AND id = ?2 AND cursor = ?4", &moved, "siiii",
		    ctx->who.tenant_id, ch->id, to, ch->cursor, vc_now(ctx));
		if (rc != 0 || (rc = vc_tx_commit(ctx)) != 0) {
			vc_tx_rollback(ctx);
			return rc;
		}
		if (!moved)
			return 0;       /* the other forwarder carries on */
		*n += len;
		ch->cursor = to;
	}
}

/* The channels to forward (one when name is given) into *list. */
static int
load_channels(vc_ctx *ctx, const char *name, struct channel **list, int *count)
{
	sqlite3_stmt *q = vc_sql(ctx, "SELECT id, cursor, name, kind, target, types, secret_sealed"
	    " FROM notify_channels WHERE tenant_id = ?1 AND (?2 IS NULL OR name = ?2) ORDER BY name",
	    "ss", ctx->who.tenant_id, name);
	char ad[200];
	int rc, n = 0;

	*list = NULL;
	*count = 0;
	if (q == NULL)
		return ctx->err;
	while ((rc = vc_sql_step(ctx, q)) == 1) {
		struct channel *ch, *l = realloc(*list, (size_t)(n + 1) * sizeof *l);
		const char *sealed = (const char *)sqlite3_column_text(q, 6);

		if (l == NULL) {
			rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
			break;
		}
		*list = l;
		ch = &l[n++];
		*count = n;
		memset(ch, 0, sizeof *ch);
		ch->id = sqlite3_column_int64(q, 0);
		ch->cursor = sqlite3_column_int64(q, 1);
		snprintf(ch->name, sizeof ch->name, "%s", (const char *)sqlite3_column_text(q, 2));
		snprintf(ch->kind, sizeof ch->kind, "%s", (const char *)sqlite3_column_text(q, 3));
		snprintf(ch->target, sizeof ch->target, "%s", (const char *)sqlite3_column_text(q, 4));
		snprintf(ch->types, sizeof ch->types, "%s", (const char *)sqlite3_column_text(q, 5));
		snprintf(ad, sizeof ad, SECRET_AD_FMT, ctx->who.tenant_id, ch->name);
		if (sealed != NULL &&
		    vc_secret_open(ctx, ctx->store->keys, ad, sealed, &ch->key, &ch->keylen) != 0) {
			rc = vc_fail(ctx, VC_ECONFIG, "channel %s: its secret does not open", ch->name);
			break;
		}
	}
	sqlite3_finalize(q);
	if (rc < 0)
		return ctx->err;
	if (rc == 0 && name != NULL && n == 0)
		return vc_fail(ctx, VC_ENOTFOUND, "no channel %.64s", name);
	return rc;
}

static void
free_channels(struct channel *list, int n)
{
	for (int i = 0; i < n; i++)
		if (list[i].key != NULL)
			vc_secret_free(list[i].key, list[i].keylen);
	free(list);
}

/* One pass over the channels; the first failure is returned, the other
 * channels still go.  Each channel's outcome is emitted.  Following
 * (quiet), a channel that failed waits for its backoff. */
static int
forward_pass(vc_ctx *ctx, struct channel *list, int n, int quiet, jv *out, long *total)
{
	int first = 0;
	int64_t now = mono_ms();

	for (int i = 0; i < n; i++) {
		long sent = 0;
		int rc;
		jv rec;

		if (quiet && list[i].fails > 0 && now < list[i].retry_ms)
			continue;
		rc = forward_one(ctx, &list[i], &sent);
		rec = JV_OBJECT(jv_string("channel"), jv_string(list[i].name), jv_string("delivered"),
		    jv_number(sent), jv_string("cursor"), jv_number((double)list[i].cursor));
		if (rc != 0) {
			rec = jv_object_set(rec, jv_string("error"), jv_string(ctx->errmsg));
			if (first == 0)
				first = rc;
			list[i].fails++;
			backoff(&list[i], now);
		} else
			list[i].fails = 0;
		*total += sent;
		/* Following, a channel with nothing new says nothing. */
		if (sent > 0 || rc != 0 || !quiet)
			vc_emit(ctx, rec, out);
		else
			jv_free(rec);
	}
	return first;
}

int
vc_op_forward(vc_ctx *ctx, jv args, jv *out)
{
	const char *name = vc_arg_str(args, "channel");
	int once = vc_arg_bool(args, "once"), follow = vc_arg_bool(args, "follow"), n = 0, rc;
	struct channel *list;
	long total = 0;
	int64_t ver;
	char msg[sizeof ctx->errmsg];

	if (once == follow)
		return vc_fail(ctx, VC_EUSAGE, "give --once (cron) or --follow (a service)");
	if ((ver = vc_store_data_version(ctx)) < 0)
		return ctx->err;
	if ((rc = load_channels(ctx, name, &list, &n)) != 0) {
		free_channels(list, n);
		return rc;
	}
	rc = forward_pass(ctx, list, n, 0, out, &total);
	while (follow) {
		/* Until an event comes, or the first channel's retry is due. */
		int64_t wait = 0, now = mono_ms();
		int w;

		for (int i = 0; i < n; i++)
			if (list[i].fails > 0 && (wait == 0 || list[i].retry_ms - now < wait))
				wait = list[i].retry_ms - now > 0 ? list[i].retry_ms - now : 1;
		w = vc_store_wait_change(ctx, &ver, FOLLOW_POLL_MS, wait);
		if (w == 0) {
			rc = 0;         /* a signal: the failures were reported */
			break;
		}
		if (w != 1 && w != VC_WAIT_TIMEOUT) {
			rc = w;
			break;
		}
		rc = forward_pass(ctx, list, n, 1, out, &total);
	}
	free_channels(list, n);
	/* One audit record for the run, with its outcome. */
	snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	if (vc_tx_begin(ctx) == 0) {
		if (vc_audit(ctx, ctx->who.tenant_id, "notifications.forward", "notify_channel", NULL,
		    rc == 0 ? "success" : "failure", rc == 0 ? NULL : msg,
		    JV_OBJECT(jv_string("delivered"), jv_number(total))) != 0 || vc_tx_commit(ctx) != 0)
			vc_tx_rollback(ctx);
		else
			ctx->audited = 1;
	}
	if (rc != 0)
		vc_fail(ctx, rc, "%s", msg);
	return rc;
}
