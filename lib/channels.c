/* SPDX-License-Identifier: MIT */
/*
 * channels.c - the event log delivered to files and webhooks, each
 * channel with its durable cursor.  See channels.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "channels.h"
#include "mail.h"
#include "siem.h"
#include "smtp.h"
#include "core/curl.h"
#include "core/tls.h"
#include "core/net.h"
#include "core/audit.h"
#include "core/events.h"
#include "core/store.h"
#include "crypto/crypto.h"
#include "json/jqprog.h"

#define BATCH 100               /* events a delivery carries at most, by default */
#define SIEM_BATCH 1000         /* the same for splunk-hec and elastic */
#define BATCH_MAX 10000
#define MAX_FAILURES 5          /* failures in a row before the dead-letter list */
#define HOOK_TIMEOUT 10         /* s for a webhook to answer */
#define ANSWER_MAX (4 << 20)    /* bytes of a receiver's answer read at most */
#define DEFAULT_INDEX "velocicompanion"
#define SYSLOG_TIMEOUT 10       /* s for a syslog connection or write */
#define UDP_MAX 65000           /* bytes of a syslog datagram; longer ones are cut */
#define SECRET_AD_FMT "%s|notify_channel|%s"    /* tenant, channel name */
#define FOLLOW_POLL_MS 100
#define LEASE_S 60               /* a forwarder's claim on a channel holds this long */
#define LEASE_RENEW_MS 20000    /* and is renewed after this much work */
#define CHAN_COLS "id, name, kind, target, CASE WHEN rules_only = 1 THEN NULL ELSE types END" \
	" AS types, cursor, failures, last_error, delivered_at, created_by, created_at, batch, max_failures, index_name AS \"index\", format," \
	" CASE WHEN rules_only = 1 THEN 'rules' ELSE source END AS source," \
	" when_jq AS \"when\", ca_pem IS NOT NULL AS ca_bool," \
	" CASE WHEN lease_until > unixepoch() THEN lease_holder END AS forwarder," \
	" (SELECT " VC_SQL2("json_group_array(r.id)", "coalesce(json_agg(r.id ORDER BY r.id), '[]')") \
	" FROM notify_rules r WHERE r.tenant_id = ?1" \
	" AND r.target = 'channel:' || notify_channels.name) AS rules_json"

/*
 * What a channel reads, as rows (id, type, created_at, body, tenant_id):
 * the event log, or the tenant's audit chain (a tenant's chain is named
 * by its id and holds its records only: lib/core/audit.c), each record
 * with its place in the chain (key_id, prev_mac, mac) for the receiver
 * to check, typed "audit." and its action.
 */
#define SRC_EVENTS "SELECT id, type, created_at, body, tenant_id FROM events"
#define SRC_AUDIT "SELECT id, 'audit.' || action AS type, ts_ms / 1000 AS created_at, " \
	VC_SQL2("json_object", "json_build_object") "('audit_id', id, 'ts_ms', ts_ms, 'actor_type', actor_type, 'actor_id', actor_id," \
	" 'actor_name', actor_name, 'token_id', token_id, 'action', action, 'target_type', target_type," \
	" 'target_id', target_id, 'outcome', outcome, 'reason', reason, 'ip', ip, 'user_agent', user_agent," \
	" 'request_id', request_id, 'details', " VC_SQL2("CASE WHEN json_valid(details) THEN json(details)" \
	" ELSE details END", "vc_json_or_text(details)") ", 'chain', chain, 'key_id', key_id, 'prev_mac', prev_mac, 'mac', mac) AS body," \
	" chain AS tenant_id FROM audit_logs"
/* The statements, each around either source, bind tenant_id = ?1. */
#define Q_LAST_A "SELECT COALESCE(MAX(id), 0) FROM ("
#define Q_LAST_B ") WHERE tenant_id = ?1"
#define Q_LAST_EVENTS Q_LAST_A SRC_EVENTS Q_LAST_B
#define Q_LAST_AUDIT Q_LAST_A SRC_AUDIT Q_LAST_B
/*
 * The head of a channel (the first event it would deliver after the
 * cursor ?2) and a batch (at most ?4) as (id, type, created_at,
 * body_json, _sent): of the event log, those of its types (?3) and those
 * a rule marked for it (notify_sends, channel ?5; _sent 1, which no
 * --when refuses); of the audit chain, those of its types; for a
 * channel of rules only (--source rules), the marked ones.
 */
#define Q_HEAD_EVENTS "SELECT e.id FROM events e LEFT JOIN notify_sends s ON s.tenant_id = ?1" \
	" AND s.channel_id = ?4 AND s.event_id = e.id WHERE e.tenant_id = ?1 AND e.id > ?2" \
	" AND (e.type GLOB ?3 OR s.event_id IS NOT NULL) ORDER BY e.id LIMIT 1"
#define Q_HEAD_AUDIT "SELECT id FROM (" SRC_AUDIT ") WHERE tenant_id = ?1 AND id > ?2" \
	" AND type GLOB ?3 AND ?4 IS NOT NULL ORDER BY id LIMIT 1"
#define Q_HEAD_RULES "SELECT s.event_id FROM notify_sends s JOIN events e ON e.tenant_id = ?1" \
	" AND e.id = s.event_id WHERE s.tenant_id = ?1 AND s.channel_id = ?4 AND s.event_id > ?2" \
	" ORDER BY s.event_id LIMIT 1"
#define Q_BATCH_EVENTS "SELECT e.id, e.type, e.created_at, e.body AS body_json," \
	" s.event_id IS NOT NULL AS _sent FROM events e LEFT JOIN notify_sends s ON s.tenant_id = ?1" \
	" AND s.channel_id = ?5 AND s.event_id = e.id WHERE e.tenant_id = ?1 AND e.id > ?2" \
	" AND (e.type GLOB ?3 OR s.event_id IS NOT NULL) ORDER BY e.id LIMIT ?4"
#define Q_BATCH_AUDIT "SELECT id, type, created_at, body AS body_json, 0 AS _sent FROM (" \
	SRC_AUDIT ") WHERE tenant_id = ?1 AND id > ?2 AND type GLOB ?3 AND ?5 IS NOT NULL" \
	" ORDER BY id LIMIT ?4"
#define Q_BATCH_RULES "SELECT e.id, e.type, e.created_at, e.body AS body_json, 1 AS _sent" \
	" FROM notify_sends s JOIN events e ON e.tenant_id = ?1 AND e.id = s.event_id" \
	" WHERE s.tenant_id = ?1 AND s.channel_id = ?5 AND s.event_id > ?2" \
	" ORDER BY s.event_id LIMIT ?4"
#define Q_DEAD_A "SELECT e.id, e.type, e.created_at, e.body AS body_json FROM notify_dead d JOIN ("
#define Q_DEAD_B ") e ON e.id = d.event_id AND e.tenant_id = d.tenant_id" \
	" WHERE d.tenant_id = ?1 AND d.channel_id = ?2 AND (?3 = 0 OR d.id = ?3)" \
	" AND d.event_id > ?4 ORDER BY d.event_id LIMIT ?5"
#define Q_DEAD_EVENTS Q_DEAD_A SRC_EVENTS Q_DEAD_B
#define Q_DEAD_AUDIT Q_DEAD_A SRC_AUDIT Q_DEAD_B

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
	if (strcmp(kind, "email") == 0)
		return vc_mail_check_addr(ctx, "--target", t) != 0 ? VC_EUSAGE : 0;
	if (strcmp(kind, "syslog") == 0) {
		if (strncmp(t, "udp://", 6) != 0 && strncmp(t, "tcp://", 6) != 0 && strncmp(t, "tls://", 6) != 0)
			return vc_fail(ctx, VC_EUSAGE, "a syslog channel's target is udp://, tcp:// or tls://"
			    "HOST[:PORT]");
		if (strpbrk(t + 6, "/?#") != NULL)
			return vc_fail(ctx, VC_EUSAGE, "a syslog target is HOST[:PORT], no path");
		return 0;
	}
	if (strcmp(kind, "file") != 0 && strncmp(t, "http://", 7) != 0 && strncmp(t, "https://", 8) != 0)
		return vc_fail(ctx, VC_EUSAGE, "a %s channel's target is an http:// or https:// URL", kind);
	return 0;
}

/*
 * The host and port of an http(s) URL, as the allow-list checks them:
 * host as written (a v6 address keeps its brackets).  -1 when the URL
 * has a user part or no host, or a bad port.
 */
static int
url_host(const char *url, char *host, size_t hn, int *port)
{
	const char *a = strstr(url, "://"), *end, *colon;
	size_t n;
	char *e;
	long p;

	if (a == NULL)
		return -1;
	*port = strncmp(url, "https:", 6) == 0 ? 443 : strncmp(url, "http:", 5) == 0 ? 80 :
	    strncmp(url, "tls:", 4) == 0 ? 6514 : 514;
	a += 3;
	end = a + strcspn(a, "/?#");
	if (memchr(a, '@', (size_t)(end - a)) != NULL)
		return -1;
	if (*a == '[') {
		const char *rb = memchr(a, ']', (size_t)(end - a));
		if (rb == NULL)
			return -1;
		colon = rb[1] == ':' ? rb + 1 : NULL;
		n = (size_t)(rb + 1 - a);
	} else {
		colon = memchr(a, ':', (size_t)(end - a));
		n = (size_t)((colon ? colon : end) - a);
	}
	if (n == 0 || n >= hn)
		return -1;
	memcpy(host, a, n);
	host[n] = '\0';
	if (colon != NULL) {
		errno = 0;
		p = strtol(colon + 1, &e, 10);
		if (e != end || e == colon + 1 || errno != 0 || p < 1 || p > 65535)
			return -1;
		*port = (int)p;
	}
	return 0;
}

/*
 * Where a URL may be dialled: the address the installation allows
 * (core/net.h), into addr ("10.0.0.5", "[fd00::5]"), with the URL's host
 * (as written) and port.
 */
static int
url_resolve(vc_ctx *ctx, const char *url, char host[256], char addr[64], int *port)
{
	char why[200];

	if (url_host(url, host, 256, port) != 0)
		return vc_fail(ctx, VC_EUSAGE, "%.200s: not a URL with a host (and no user part)", url);
	switch (vc_net_dest(host, *port, addr, why, sizeof why)) {
	case -1:
		return vc_fail(ctx, VC_EUNAVAIL, "%s", why);
	case -2:
		return vc_fail(ctx, VC_EPERM, "%s:%d is not a destination this installation allows: %s"
		    " (see $VC_ALLOW_VELOCIRAPTOR)", host, *port, why);
	}
	return 0;
}

/* The same as a CURLOPT_CONNECT_TO entry, so that curl connects to the
 * address that was checked, never to a second lookup's. */
static int
url_dest(vc_ctx *ctx, const char *url, char *map, size_t mn)
{
	char host[256], addr[64];
	int port = 0, rc;

	if ((rc = url_resolve(ctx, url, host, addr, &port)) != 0)
		return rc;
	snprintf(map, mn, "%s:%d:%s:%d", host, port, addr, port);
	return 0;
}

/* A URL's host checked against the allow-list when it is an address
 * (no lookup); a name passes here.  A URL without a host fails. */
static int
literal_dest(vc_ctx *ctx, const char *url)
{
	char host[256], bare[256], map[400];
	unsigned char tmp[16];
	int port;

	if (url_host(url, host, sizeof host, &port) != 0)
		return vc_fail(ctx, VC_EUSAGE, "%.200s: not a URL with a host (and no user part)", url);
	snprintf(bare, sizeof bare, "%.*s", (int)strcspn(host + (host[0] == '['), "]"),
	    host + (host[0] == '['));
	if (inet_pton(AF_INET, bare, tmp) != 1 && inet_pton(AF_INET6, bare, tmp) != 1)
		return 0;
	return url_dest(ctx, url, map, sizeof map);
}

static int
last_event(vc_ctx *ctx, int audit, int64_t *id)
{
	vc_stmt *q = vc_sql(ctx, audit ? Q_LAST_AUDIT : Q_LAST_EVENTS,
	    "s", ctx->who.tenant_id);

	if (q == NULL)
		return ctx->err;
	*id = vc_sql_step(ctx, q) == 1 ? vc_col_int64(q, 0) : 0;
	vc_stmt_done(q);
	return ctx->err;
}

static int
channel_json(vc_ctx *ctx, const char *name, jv *out)
{
	vc_stmt *q = vc_sql(ctx, "SELECT " CHAN_COLS " FROM notify_channels"
	    " WHERE tenant_id = ?1 AND name = ?2", "ss", ctx->who.tenant_id, name);

	return q == NULL ? ctx->err : vc_sql_one(ctx, q, "channel", out);
}

static int
http_kind(const char *kind)
{
	return strcmp(kind, "file") != 0 && strcmp(kind, "email") != 0;
}

int
vc_op_channel_add(vc_ctx *ctx, jv args, jv *out)
{
	const char *name = vc_arg_str(args, "name"), *kind = vc_arg_str(args, "kind");
	const char *target = vc_arg_str(args, "target"), *types = vc_arg_str(args, "type");
	const char *token = vc_arg_str(args, "token"), *index = vc_arg_str(args, "index");
	const char *format = vc_arg_str(args, "format"), *source = vc_arg_str(args, "source");
	const char *when = vc_arg_str(args, "when"), *ca = vc_arg_str(args, "ca_file");
	struct vc_jq *jq = NULL;
	int audit = source != NULL && strcmp(source, "audit") == 0;
	int rules = source != NULL && strcmp(source, "rules") == 0;
	char secret[VC_TOKEN_MAX] = "", ad[200], *sealed = NULL;
	int64_t since = vc_arg_int(args, "since", -1);
	int siem = kind != NULL && (strcmp(kind, "splunk-hec") == 0 || strcmp(kind, "elastic") == 0);
	int64_t batch = vc_arg_int(args, "batch", siem ? SIEM_BATCH : BATCH);
	int64_t maxf = vc_arg_int(args, "max_failures", MAX_FAILURES);
	int rc;

	if (!name_ok(name))
		return vc_fail(ctx, VC_EUSAGE, "a channel name is 1 to 64 letters, digits, '.', '_' or '-'");
	if ((rc = target_ok(ctx, kind, target)) != 0)
		return rc;
	if (types != NULL && (types[0] == '\0' || strlen(types) > 128 || vc_has_ctrl(types, 0)))
		return vc_fail(ctx, VC_EUSAGE, "--type takes a glob of 1 to 128 characters");
	if (rules && (types != NULL || when != NULL))
		return vc_fail(ctx, VC_EUSAGE, "a channel of --source rules delivers what its rules send"
		    " it: the rules choose (vc-notify rule add --on TYPE --when JQ --to channel:%s),"
		    " not --type or --when", name);
	if (batch < 1 || batch > BATCH_MAX)
		return vc_fail(ctx, VC_EUSAGE, "--batch: 1 to %d events", BATCH_MAX);
	if (maxf < 0 || maxf > 1000000)
		return vc_fail(ctx, VC_EUSAGE, "--max-failures: 0 (never set an event aside) to 1000000");
	if (index != NULL && (!siem || index[0] == '\0' || strlen(index) > 255 ||
	    strspn(index, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(index) ||
	    index[0] == '_' || index[0] == '-'))
		return vc_fail(ctx, VC_EUSAGE, "--index (splunk-hec, elastic): 1 to 255 lowercase letters,"
		    " digits, '.', '_' or '-', not first '_' or '-'");
	if (format != NULL && !(strcmp(kind, "syslog") == 0 && (strcmp(format, "json") == 0 ||
	    strcmp(format, "cef") == 0)) && !(strcmp(kind, "webhook") == 0 && strcmp(format, "cef") != 0))
		return vc_fail(ctx, VC_EUSAGE, "--format: json or cef for syslog; json, slack, teams or"
		    " mattermost for a webhook");
	if (ca != NULL && (strncmp(target, "https://", 8) != 0 && strncmp(target, "tls://", 6) != 0))
		return vc_fail(ctx, VC_EUSAGE, "--ca-file is for an https:// or tls:// target");
	if (ca != NULL && (strlen(ca) > 1 << 20 || strstr(ca, "-----BEGIN CERTIFICATE-----") == NULL))
		return vc_fail(ctx, VC_EUSAGE, "--ca-file: not PEM certificates (at most 1 MiB)");
	/* Refused words, then whether it compiles: in the child, as it will run. */
	if (when != NULL && ((rc = vc_jq_check(ctx, "--when", when)) != 0 ||
	    (rc = vc_jq_open(ctx, "--when", when, NULL, &jq)) != 0))
		return rc;
	vc_jq_close(jq);
	if (strcmp(kind, "splunk-hec") == 0 && (token == NULL || token[0] == '\0'))
		return vc_fail(ctx, VC_EUSAGE, "a splunk-hec channel needs its HEC token: a line of stdin"
		    " with --password-stdin");
	if (token != NULL && (!siem || strlen(token) >= sizeof secret || vc_has_ctrl(token, 0)))
		return vc_fail(ctx, VC_EUSAGE, "a token (splunk-hec, elastic) is one line of less than %d"
		    " bytes", (int)sizeof secret);
	/* An address refused now rather than at each delivery; a name is
	 * not looked up here, inside the transaction (deliveries check it). */
	if (http_kind(kind) && (rc = literal_dest(ctx, target)) != 0)
		return rc;
	/* A new channel starts with what comes next, unless told. */
	if (since < 0 && (rc = last_event(ctx, audit, &since)) != 0)
		return rc;
	vc_audit_target(ctx, "notify_channel", NULL);
	if (strcmp(kind, "webhook") == 0)
		vc_token_new("vcw_", secret);
	else if (token != NULL)
		snprintf(secret, sizeof secret, "%s", token);
	if (secret[0] != '\0') {
		snprintf(ad, sizeof ad, SECRET_AD_FMT, ctx->who.tenant_id, name);
		if ((rc = vc_secret_seal(ctx, ctx->store->keys, ad, secret, strlen(secret), &sealed)) != 0) {
			sodium_memzero(secret, sizeof secret);
			return rc;
		}
	}
	rc = vc_sql_exec(ctx, "INSERT INTO notify_channels (tenant_id, name, kind, target, types,"
	    " secret_sealed, cursor, created_by, created_at, batch, max_failures, index_name, format,"
	    " source, when_jq, ca_pem, rules_only) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,"
	    "?14,?15,?16,?17)",
	    NULL, "ssssssisiiisssssi", ctx->who.tenant_id, name, kind, target, types ? types : "*", sealed,
	    since, ctx->who.username, vc_now(ctx), batch, maxf, index,
	    strcmp(kind, "syslog") == 0 || strcmp(kind, "webhook") == 0 ? (format ? format : "json") : NULL,
	    audit ? "audit" : "events",
	    when, ca, (int64_t)rules);
	free(sealed);
	if (rc == VC_ECONFLICT)
		rc = vc_fail(ctx, VC_ECONFLICT, "the tenant has a channel %s already", name);
	if (rc == 0)
		rc = channel_json(ctx, name, out);
	if (rc == 0 && strcmp(kind, "webhook") == 0)
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
	vc_stmt *q = vc_sql(ctx, "SELECT " CHAN_COLS " FROM notify_channels WHERE tenant_id = ?1"
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
	char ids[400] = "";
	vc_stmt *q;
	int n = 0, rc;

	vc_audit_target(ctx, "notify_channel", NULL);
	vc_audit_detail(ctx, "name", jv_string(name ? name : ""));
	if ((rc = channel_json(ctx, name, out)) != 0)
		return rc;
	/* A rule that sends to it would send to nothing (or, were a channel
	 * of that name added later, to that one): its rules go first. */
	q = vc_sql(ctx, "SELECT " VC_SQL2("group_concat(id, ', ')", "string_agg(id::text, ', ' ORDER BY id)")
	    " FROM (SELECT id FROM notify_rules"
	    " WHERE tenant_id = ?1 AND target = 'channel:' || ?2 ORDER BY id)", "ss",
	    ctx->who.tenant_id, name);
	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_step(ctx, q)) == 1 && vc_col_type(q, 0) == VC_TEXT)
		snprintf(ids, sizeof ids, "%s", (const char *)vc_col_text(q, 0));
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	if (ids[0] != '\0')
		return vc_fail(ctx, VC_ECONFLICT, "rule%s %s send%s to channel %s: delete %s first"
		    " (vc-notify rule delete ID)", strchr(ids, ',') ? "s" : "", ids,
		    strchr(ids, ',') ? "" : "s", name, strchr(ids, ',') ? "them" : "it");
	return vc_sql_exec(ctx, "DELETE FROM notify_channels WHERE tenant_id = ?1 AND name = ?2", &n,
	    "ss", ctx->who.tenant_id, name);
}

/* ---- delivery ------------------------------------------------------------- */

struct channel {
	int64_t id, cursor;
	char tenant[VC_ID_LEN + 1];
	char name[65], kind[16], target[2049], types[129], index[256];
	char *key;              /* a webhook's secret, a token: vc_secret_free'd */
	size_t keylen;
	int batch;              /* events a delivery carries at most */
	int max_failures;       /* failures at the cursor before the dead list (0: never) */
	int failures;           /* failures in a row at the cursor, as stored */
	int limit;              /* the next batch no larger: a collector named a bad event */
	int dead;               /* events set aside in this pass */
	CURL *h;                /* kept between batches: one connection */
	int fd;                 /* syslog: the socket, kept too (-1: none) */
	SSL_CTX *tls;           /* syslog over TLS */
	SSL *ssl;
	int cef;                /* syslog: CEF bodies, else JSON */
	char chat[16];          /* webhook: slack, teams, mattermost, or "" (the JSON batch) */
	int audit;              /* reads the audit chain, not the event log */
	char *when;             /* a jq condition on the body, or NULL */
	char *ca;               /* the CAs (PEM) of an https or tls receiver, or NULL */
	struct vc_jq *jq;       /* its child, started at the first event */
	int64_t upto;           /* the last event the batch read (selected or not) */
	int retrying;           /* email: a dead retry, the cursor is not this mail's */
	int committed;          /* email: the mail queued moved the cursor (1), or found
				 * it moved by another forwarder (2) */
	int fails;              /* failed passes in a row (--follow) */
	int64_t retry_ms;       /* not tried again before (--follow) */
	int rules_only;         /* delivers only what rules marked for it */
	const char *holder;     /* the forwarder's name in lease_holder (NULL: no lease) */
	int64_t lease_ms;       /* when the lease was last taken or renewed (mono_ms) */
	int seen;               /* still in the store (a forwarder's reload) */
	int broken;             /* its secret or CA does not open: this error, why */
	char why[512];
	char host[256];         /* syslog: this machine's name */
};

static int drop_marks(vc_ctx *ctx, const struct channel *ch, int64_t upto);

#define BACKOFF_MS 1000         /* the first retry of --follow after this */
#define BACKOFF_MAX_MS 300000   /* and never later than this */

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

static size_t
keep(char *p, size_t size, size_t n, void *arg)
{
	vc_sbuf_put(arg, p, size * n);  /* past ANSWER_MAX the rest is dropped */
	return size * n;
}

/* Free a header list whose entries may hold a secret: wiped first. */
static void
free_headers(struct curl_slist *hdr)
{
	for (struct curl_slist *l = hdr; l != NULL; l = l->next)
		sodium_memzero(l->data, strlen(l->data));
	curl_slist_free_all(hdr);
}

/* libcurl's progress callback: nonzero aborts the transfer when the
 * forwarder is asked to stop (vc-serve shutting down). */
static int
xfer_stop(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	vc_ctx *ctx = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return ctx->stop != NULL && __atomic_load_n(ctx->stop, __ATOMIC_RELAXED) != 0;
}

/*
 * POST body to url on the channel's connection, dialling only the
 * address the installation allows; *status gets the HTTP status and ans
 * (may be NULL) the answer, at most ANSWER_MAX bytes of it.  0, or
 * VC_EUNAVAIL (VC_EPERM: a refused address) with the reason.
 */
static int
http_post(vc_ctx *ctx, struct channel *ch, const char *url, struct curl_slist *hdr,
    const char *body, size_t n, long *status, struct vc_sbuf *ans)
{
	char map[400];
	struct curl_slist *to;
	CURLcode cc;
	int rc;

	*status = 0;
	if ((rc = vc_curl_ready(ctx)) != 0 || (rc = url_dest(ctx, url, map, sizeof map)) != 0)
		return rc;
	if (ch->h == NULL && (ch->h = curl_easy_init()) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "cannot start libcurl");
	to = curl_slist_append(NULL, map);
	curl_easy_setopt(ch->h, CURLOPT_URL, url);
	curl_easy_setopt(ch->h, CURLOPT_CONNECT_TO, to);
	curl_easy_setopt(ch->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(ch->h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(ch->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(ch->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
	curl_easy_setopt(ch->h, CURLOPT_WRITEFUNCTION, ans != NULL ? keep : vc_curl_discard);
	curl_easy_setopt(ch->h, CURLOPT_WRITEDATA, ans);
	curl_easy_setopt(ch->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(ch->h, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(ch->h, CURLOPT_TIMEOUT, (long)HOOK_TIMEOUT);
	curl_easy_setopt(ch->h, CURLOPT_XFERINFOFUNCTION, xfer_stop);
	curl_easy_setopt(ch->h, CURLOPT_XFERINFODATA, ctx);
	curl_easy_setopt(ch->h, CURLOPT_NOPROGRESS, ctx->stop != NULL ? 0L : 1L);
	if (ch->ca != NULL) {
		struct curl_blob ca = { ch->ca, strlen(ch->ca), CURL_BLOB_COPY };
		curl_easy_setopt(ch->h, CURLOPT_CAINFO_BLOB, &ca);
	}
	cc = curl_easy_perform(ch->h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(ch->h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(ch->h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(ch->h, CURLOPT_CONNECT_TO, NULL);
	curl_slist_free_all(to);
	if (cc != CURLE_OK)
		return vc_fail(ctx, VC_EUNAVAIL, "%s", curl_easy_strerror(cc));
	return 0;
}

/*
 * A chat's message of a batch (consumed): one line an event, "TYPE #ID:
 * SUBJECT" (the subject when the body has one), as Slack's and
 * Mattermost's incoming webhooks take it ({"text"}), or as a Teams
 * workflow's (a message with one Adaptive Card).
 */
static jv
chat_message(const struct channel *ch, jv batch)
{
	jv text = jv_string_fmt("VelociCompanion, channel %s:", ch->name), card;

	jv_array_foreach(batch, i, e) {
		jv body = jv_object_get(jv_copy(e), jv_string("body"));
		jv subj = jv_get_kind(body) == JV_KIND_OBJECT ?
		    jv_object_get(jv_copy(body), jv_string("subject")) : jv_invalid();
		const char *type = vc_arg_str(e, "type");

		text = jv_string_concat(text, jv_string_fmt("\n%s #%lld%s%.200s", type ? type : "?",
		    (long long)vc_arg_int(e, "id", 0), jv_get_kind(subj) == JV_KIND_STRING ? ": " : "",
		    jv_get_kind(subj) == JV_KIND_STRING ? jv_string_value(subj) : ""));
		/* A notification sent by hand (vc-notify send --to channel:)
		 * is its text too. */
		if (type != NULL && strcmp(type, "notification.sent") == 0 &&
		    jv_get_kind(body) == JV_KIND_OBJECT) {
			jv t = jv_object_get(jv_copy(body), jv_string("body"));
			if (jv_get_kind(t) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(t)) > 0)
				text = jv_string_concat(text, jv_string_fmt("\n%.1000s", jv_string_value(t)));
			jv_free(t);
		}
		jv_free(subj);
		jv_free(body);
		jv_free(e);
	}
	jv_free(batch);
	if (strcmp(ch->chat, "teams") != 0)
		return strcmp(ch->chat, "mattermost") == 0 ?
		    JV_OBJECT(jv_string("text"), text, jv_string("username"), jv_string("VelociCompanion")) :
		    JV_OBJECT(jv_string("text"), text);
	card = JV_OBJECT(jv_string("$schema"), jv_string("http://adaptivecards.io/schemas/adaptive-card.json"),
	    jv_string("type"), jv_string("AdaptiveCard"), jv_string("version"), jv_string("1.4"),
	    jv_string("body"), JV_ARRAY(JV_OBJECT(jv_string("type"), jv_string("TextBlock"),
	    jv_string("text"), text, jv_string("wrap"), jv_true())));
	return JV_OBJECT(jv_string("type"), jv_string("message"), jv_string("attachments"),
	    JV_ARRAY(JV_OBJECT(jv_string("contentType"), jv_string("application/vnd.microsoft.card.adaptive"),
	    jv_string("content"), card)));
}

/* POST {"channel": NAME, "events": batch (consumed)}, or a chat's
 * message of it, with its signature. */
static int
deliver_hook(vc_ctx *ctx, struct channel *ch, jv batch, int64_t first, int64_t last)
{
	jv body = jv_dump_string(ch->chat[0] ? chat_message(ch, batch) :
	    JV_OBJECT(jv_string("channel"), jv_string(ch->name), jv_string("events"), batch), 0);
	const char *b = jv_string_value(body);
	size_t n = (size_t)jv_string_length_bytes(jv_copy(body));
	unsigned char mac[32];
	char hex[65], sig[100], ids[80], ua[64];
	struct curl_slist *hdr = NULL;
	long status = 0;
	int rc;

	if ((rc = vc_curl_ready(ctx)) != 0) {
		jv_free(body);
		return rc;
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
	rc = http_post(ctx, ch, ch->target, hdr, b, n, &status, NULL);
	if (rc == 0 && (status < 200 || status > 299))
		rc = vc_fail(ctx, VC_EUNAVAIL, "the webhook answered HTTP %ld", status);
	curl_slist_free_all(hdr);
	sodium_memzero(mac, sizeof mac);
	jv_free(body);
	return rc;
}

/* target + path, without a doubled '/'. */
static void
join_url(char *buf, size_t n, const char *target, const char *path)
{
	size_t t = strlen(target);

	while (t > 0 && target[t - 1] == '/')
		t--;
	snprintf(buf, n, "%.*s%s", (int)t, target, path);
}

/*
 * POST a batch in the kind's shape (text, count events) to a collector:
 * *taken gets how many leading events it took.  A HEC that names a bad
 * event makes the next batch stop before it, so that the ones ahead go
 * and the bad one comes to the head (and, in the end, the dead list).
 */
static int
deliver_siem(vc_ctx *ctx, struct channel *ch, const struct vc_sbuf *text, int count, int *taken)
{
	int hec = strcmp(ch->kind, "splunk-hec") == 0, valid = 0, rc;
	char url[2200], auth[VC_TOKEN_MAX + 40], why[400], ua[64];
	struct curl_slist *hdr = NULL;
	struct vc_sbuf ans;
	long status;

	*taken = 0;
	if ((rc = vc_curl_ready(ctx)) != 0)
		return rc;
	join_url(url, sizeof url, ch->target, hec ? "/services/collector/event" :
	    "/_bulk?filter_path=errors,items.*.status,items.*.error");
	snprintf(ua, sizeof ua, "User-Agent: vc-notify/%s", VC_VERSION);
	hdr = curl_slist_append(hdr, hec ? "Content-Type: application/json" :
	    "Content-Type: application/x-ndjson");
	hdr = curl_slist_append(hdr, ua);
	hdr = curl_slist_append(hdr, "Expect:");
	if (ch->key != NULL) {
		snprintf(auth, sizeof auth, "Authorization: %s %s", hec ? "Splunk" : "ApiKey", ch->key);
		hdr = curl_slist_append(hdr, auth);
		sodium_memzero(auth, sizeof auth);
	}
	vc_sbuf_init(&ans, ANSWER_MAX);
	rc = http_post(ctx, ch, url, hdr, text->p, text->n, &status, &ans);
	free_headers(hdr);
	if (rc == 0 && hec) {
		if (vc_siem_hec_answer(status, ans.p, ans.n, count, &valid, why, sizeof why) == 0)
			*taken = count;
		else
			rc = vc_fail(ctx, VC_EUNAVAIL, "%s", why);
		ch->limit = valid;
	} else if (rc == 0) {
		if (ans.full)
			rc = vc_fail(ctx, VC_EUNAVAIL, "Elasticsearch's answer passed %d bytes", ANSWER_MAX);
		else if (vc_siem_bulk_answer(status, ans.p ? ans.p : "", ans.n, count, taken, why,
		    sizeof why) != 0)
			rc = vc_fail(ctx, VC_EUNAVAIL, "%s", why);
	}
	vc_sbuf_release(&ans);
	return rc;
}

/* ---- syslog ------------------------------------------------------------ */

static void
syslog_close(struct channel *ch)
{
	if (ch->ssl != NULL) {
		SSL_free(ch->ssl);
		ch->ssl = NULL;
	}
	if (ch->fd >= 0)
		close(ch->fd);
	ch->fd = -1;
}

/* The reason of the last TLS failure on ssl (rc the call's answer). */
static const char *
tls_why(SSL *ssl, char *buf, size_t n)
{
	unsigned long e = ERR_get_error();
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (v != X509_V_OK)
		snprintf(buf, n, "the certificate is not trusted: %s", X509_verify_cert_error_string(v));
	else if (e != 0)
		ERR_error_string_n(e, buf, n);
	else
		snprintf(buf, n, "the connection closed");
	ERR_clear_error();
	return buf;
}

/* Add the certificates of pem to st: how many. */
static int
add_cas(X509_STORE *st, const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x;
	int n = 0;

	while (b != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		n += X509_STORE_add_cert(st, x) == 1;
		X509_free(x);
	}
	BIO_free(b);
	ERR_clear_error();
	return n;
}

/* Start TLS on ch->fd, the certificate checked against the system's CAs
 * ($SSL_CERT_FILE, $SSL_CERT_DIR), or those of its --ca-file, and host
 * (a name or an address). */
static int
syslog_tls(vc_ctx *ctx, struct channel *ch, const char *host)
{
	char bare[256], why[256];
	unsigned char tmp[16];
	int ip, rc;

	if ((rc = vc_tls_ready(ctx)) != 0)
		return rc;
	snprintf(bare, sizeof bare, "%.*s", (int)strcspn(host + (host[0] == '['), "]"),
	    host + (host[0] == '['));
	ip = inet_pton(AF_INET, bare, tmp) == 1 || inet_pton(AF_INET6, bare, tmp) == 1;
	if (ch->tls == NULL) {
		if ((ch->tls = SSL_CTX_new(TLS_client_method())) == NULL)
			return vc_fail(ctx, VC_EINTERNAL, "cannot start TLS");
		SSL_CTX_set_min_proto_version(ch->tls, TLS1_2_VERSION);
		SSL_CTX_set_verify(ch->tls, SSL_VERIFY_PEER, NULL);
		if (ch->ca == NULL)
			SSL_CTX_set_default_verify_paths(ch->tls);
		else if (add_cas(SSL_CTX_get_cert_store(ch->tls), ch->ca) == 0)
			return vc_fail(ctx, VC_ECONFIG, "channel %s: its CA certificates do not load", ch->name);
	}
	if ((ch->ssl = SSL_new(ch->tls)) == NULL || SSL_set_fd(ch->ssl, ch->fd) != 1)
		return vc_fail(ctx, VC_EINTERNAL, "cannot start TLS");
	if (ip)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ch->ssl), bare);
	else {
		SSL_set1_host(ch->ssl, bare);
		SSL_set_tlsext_host_name(ch->ssl, bare);
	}
	if (SSL_connect(ch->ssl) != 1)
		return vc_fail(ctx, VC_EUNAVAIL, "TLS with %s: %s", host, tls_why(ch->ssl, why, sizeof why));
	return 0;
}

/*
 * Connect the channel to its receiver, at the address the installation
 * allows: a datagram socket for udp://, a stream for tcp:// and tls://.
 * A connection kept from the last batch is checked first: a receiver
 * that closed it (or went away) gets a new one.
 */
static int
syslog_open(vc_ctx *ctx, struct channel *ch)
{
	int udp = strncmp(ch->target, "udp:", 4) == 0, port = 0, rc, err;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
		.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM }, *ai;
	struct timeval tv = { SYSLOG_TIMEOUT, 0 };
	char host[256], addr[64], bare[64], service[8];

	if (ch->fd >= 0 && !udp) {
		/* The listener closed it (EOF) or it broke; bytes waiting
		 * (TLS 1.3 session tickets) are no reason to drop it. */
		char c;
		ssize_t r = recv(ch->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			syslog_close(ch);
	}
	if (ch->fd >= 0)
		return 0;
	if ((rc = url_resolve(ctx, ch->target, host, addr, &port)) != 0)
		return rc;
	snprintf(bare, sizeof bare, "%.*s", (int)strcspn(addr + (addr[0] == '['), "]"),
	    addr + (addr[0] == '['));
	snprintf(service, sizeof service, "%d", port);
	if (getaddrinfo(bare, service, &hints, &ai) != 0)
		return vc_fail(ctx, VC_EUNAVAIL, "syslog at %s: not an address", addr);
	ch->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
	if (ch->fd < 0 ||
	    setsockopt(ch->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
	    setsockopt(ch->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
	    connect(ch->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		err = errno;
		freeaddrinfo(ai);
		syslog_close(ch);
		return vc_fail(ctx, VC_EUNAVAIL, "syslog at %s:%d: %s", host, port, strerror(err));
	}
	freeaddrinfo(ai);
	if (strncmp(ch->target, "tls:", 4) == 0 && (rc = syslog_tls(ctx, ch, host)) != 0) {
		syslog_close(ch);
		return rc;
	}
	return 0;
}

/* Write n bytes (one datagram for udp), SIGPIPE held off: a receiver
 * that went away is an error, not the end of the forwarder. */
static int
syslog_write(vc_ctx *ctx, struct channel *ch, const char *p, size_t n)
{
	sigset_t pipe, old, pend;
	struct timespec zero = { 0, 0 };
	char why[256];
	int rc = 0;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	while (n > 0 && rc == 0) {
		ssize_t w;
		size_t done = 0;
		if (ch->ssl != NULL) {
			if (SSL_write_ex(ch->ssl, p, n, &done) != 1)
				rc = vc_fail(ctx, VC_EUNAVAIL, "syslog over TLS: %s", tls_why(NULL, why, sizeof why));
			w = (ssize_t)done;
		} else if ((w = send(ch->fd, p, n, MSG_NOSIGNAL)) < 0 && errno != EINTR)
			rc = vc_fail(ctx, VC_EUNAVAIL, "syslog: %s", strerror(errno));
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		}
	}
	if (sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE))
		sigtimedwait(&pipe, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		syslog_close(ch);
	return rc;
}

/*
 * Send a batch of syslog messages: over a stream framed by octet
 * counting (RFC 6587 3.4.1, "LEN SP MSG") in one write; over UDP one
 * datagram each (RFC 5426), cut at UDP_MAX bytes.  ends[i] is where
 * message i ends in text.  *taken gets how many were written.
 */
static int
deliver_syslog(vc_ctx *ctx, struct channel *ch, const struct vc_sbuf *text, const size_t *ends,
    int count, int *taken)
{
	int rc;

	*taken = 0;
	if ((rc = syslog_open(ctx, ch)) != 0)
		return rc;
	if (strncmp(ch->target, "udp:", 4) != 0) {
		if ((rc = syslog_write(ctx, ch, text->p, text->n)) == 0)
			*taken = count;
		return rc;
	}
	for (int i = 0; i < count && rc == 0; i++) {
		size_t from = i > 0 ? ends[i - 1] : 0, n = ends[i] - from;
		if ((rc = syslog_write(ctx, ch, text->p + from, n > UDP_MAX ? UDP_MAX : n)) == 0)
			*taken = i + 1;
	}
	return rc;
}

/* Append one syslog message of e to text, framed for a stream. */
static void
syslog_append(struct vc_sbuf *text, struct vc_sbuf *msg, struct channel *ch, const char *tenant,
    const struct vc_siem_event *e)
{
	char len[24];

	msg->n = 0;
	vc_siem_syslog_append(msg, ch->host, tenant, ch->cef, e);
	if (strncmp(ch->target, "udp:", 4) != 0) {
		snprintf(len, sizeof len, "%zu ", msg->n);
		vc_sbuf_str(text, len);
	}
	if (msg->full)
		text->full = 1;
	else
		vc_sbuf_put(text, msg->p, msg->n);
}

/*
 * A notification sent to the channel with a file (vc-notify send
 * --attach, kept in notify_files): a mail of its own, its title the
 * subject, its text the body, the file attached.  1 when event e had a
 * file (queued), 0 when not, <0 on an error.  Inside queue_mail's
 * transaction.
 */
static int
queue_file_mail(vc_ctx *ctx, struct channel *ch, jv e)
{
	int64_t id = vc_arg_int(e, "id", 0);
	jv body = jv_object_get(jv_copy(e), jv_string("body"));
	const char *title = jv_get_kind(body) == JV_KIND_OBJECT ? vc_arg_str(body, "title") : NULL;
	const char *text = jv_get_kind(body) == JV_KIND_OBJECT ? vc_arg_str(body, "body") : NULL;
	const char *by = jv_get_kind(body) == JV_KIND_OBJECT ? vc_arg_str(body, "by") : NULL;
	vc_stmt *q;
	jv mail;
	int rc;

	q = vc_sql(ctx, "SELECT name, content_type, data FROM notify_files WHERE tenant_id = ?1"
	    " AND channel_id = ?2 AND event_id = ?3", "sii", ctx->who.tenant_id, ch->id, id);
	if (q == NULL) {
		jv_free(body);
		return -1;
	}
	if ((rc = vc_sql_step(ctx, q)) != 1) {
		vc_stmt_done(q);
		jv_free(body);
		return rc < 0 ? -1 : 0;
	}
	mail = jv_string_fmt("%s%s\n-- \nSent by %s with vc-notify send through the channel %s"
	    " (event %lld), with the file %s.\n", text ? text : "", text && text[0] ? "\n" : "",
	    by ? by : "VelociCompanion", ch->name, (long long)id, (const char *)vc_col_text(q, 0));
	rc = vc_mail_queue_file(ctx, ctx->who.tenant_id, ch->target, title ? title : "VelociCompanion",
	    jv_string_value(mail), (const char *)vc_col_text(q, 0), (const char *)vc_col_text(q, 1),
	    vc_col_blob(q, 2), (size_t)vc_col_bytes(q, 2));
	vc_stmt_done(q);
	jv_free(mail);
	jv_free(body);
	return rc != 0 ? -1 : 1;
}

/* An email channel's batch (vc_tx_run's arg): moved, whether its
 * cursor moved (set afresh at each attempt). */
struct mailq {
	struct channel *ch;
	jv rows;
	int moved;
};

/* queue_mail's body's answer when another forwarder moved the cursor
 * first: roll back, nothing queued (no error code of vc.h). */
#define MAIL_PASSED (-2)

static int
queue_mail_body(vc_ctx *ctx, void *arg)
{
	struct mailq *m = arg;
	struct channel *ch = m->ch;
	char subject[200];
	jv text = jv_invalid();
	int64_t first = 0, last = 0;
	int left = 0, rc = 0;

	m->moved = 0;
	jv_array_foreach(m->rows, i, e) {
		int r = rc == 0 ? queue_file_mail(ctx, ch, e) : 0;

		if (r < 0)
			rc = ctx->err ? ctx->err : VC_EINTERNAL;
		if (rc != 0 || r == 1) {
			jv_free(e);
			continue;
		}
		if (left++ == 0) {
			first = vc_arg_int(e, "id", 0);
			text = jv_string("");
		}
		last = vc_arg_int(e, "id", 0);
		text = jv_string_append_str(jv_string_concat(text, jv_dump_string(e, 0)), "\n");
	}
	if (rc == 0 && left > 0) {
		snprintf(subject, sizeof subject, "VelociCompanion: %d event%s (%lld to %lld)", left,
		    left == 1 ? "" : "s", (long long)first, (long long)last);
		text = jv_string_concat(jv_string_fmt("%d event%s of the channel %s, one a line as"
		    " JSON.\n\n", left, left == 1 ? "" : "s", ch->name), text);
		rc = vc_mail_queue(ctx, ctx->who.tenant_id, ch->target, subject, jv_string_value(text));
	}
	jv_free(text);
	if (rc == 0 && !ch->retrying)
		rc = vc_sql_exec(ctx, "UPDATE notify_channels SET cursor = ?3, failures = 0, last_error = NULL,"
		    " delivered_at = ?5 WHERE tenant_id = ?1 AND id = ?2 AND cursor = ?4", &m->moved, "siiii",
		    ctx->who.tenant_id, ch->id, ch->upto, ch->cursor, vc_now(ctx));
	if (rc == 0 && m->moved)
		rc = drop_marks(ctx, ch, ch->upto);
	if (rc == 0 && !ch->retrying && !m->moved)
		rc = MAIL_PASSED;
	return rc;
}

/*
 * An email channel: the batch becomes one plain-text mail in the outbox
 * (lib/mail.h), queued in the transaction that moves the cursor, so it is
 * queued exactly once (made again when it gave way to another: nothing
 * has left yet); the outbox then delivers it, retrying, through the
 * installation's SMTP transport (vc-auth mail set).  A notification sent
 * with a file is a mail of its own (queue_file_mail).  A dead retry only
 * queues.
 */
static int
queue_mail(vc_ctx *ctx, struct channel *ch, jv rows)
{
	struct mailq m = { .ch = ch, .rows = rows };
	int rc = vc_tx_run(ctx, 0, queue_mail_body, &m);

	if (rc == MAIL_PASSED) {
		ch->committed = 2;
		return 0;
	}
	if (rc != 0) {
		ch->committed = 0;
		return rc;
	}
	if (!ch->retrying) {
		ch->cursor = ch->upto;
		ch->committed = 1;
	}
	return 0;
}

/*
 * Does the event of q's row pass the channel's --when?  1 yes (or no
 * condition, or a dead retry: it passed once, or a rule sent it: the
 * rule's condition held), 0 no (also when the program fails on this
 * body, as a rule's does), -1 when the program had to be stopped (ctx
 * says which limit; started again next time).
 */
static int
passes(vc_ctx *ctx, struct channel *ch, vc_stmt *q)
{
	struct vc_jq_limits lim = { .row_ms = 1000, .cpu_s = 0, .mem_mb = 256 };
	char err[200];
	int r;

	if (ch->when == NULL || ch->retrying ||
	    (vc_col_count(q) > 4 && vc_col_int(q, 4) != 0))
		return 1;
	if (ch->jq == NULL && vc_jq_open(ctx, "--when", ch->when, &lim, &ch->jq) != 0)
		return -1;
	r = vc_jq_test(ctx, ch->jq, (const char *)vc_col_text(q, 3),
	    (size_t)vc_col_bytes(q, 3), err, sizeof err);
	if (r < 0) {
		vc_jq_close(ch->jq);
		ch->jq = NULL;
		return -1;
	}
	return r == 1;
}

/*
 * Deliver the events q selects (id, type, created_at, body_json; q is
 * finalized before anything is sent: no read is open while a receiver
 * is waited on) and the channel's --when passes.  ids (room for
 * ch->batch) gets their ids, *len how many, *taken how many leading ones
 * the receiver took, ch->upto the id of the last row read.
 */
static int
deliver_rows(vc_ctx *ctx, struct channel *ch, vc_stmt *q, int64_t *ids, int *len, int *taken)
{
	int syslog = strcmp(ch->kind, "syslog") == 0;
	int siem = syslog || strcmp(ch->kind, "splunk-hec") == 0 || strcmp(ch->kind, "elastic") == 0;
	int hec = strcmp(ch->kind, "splunk-hec") == 0, n = 0, rc = 0;
	jv rows = jv_array();
	struct vc_sbuf text, msg;
	size_t *ends = syslog ? malloc((size_t)ch->batch * sizeof *ends) : NULL;

	*len = *taken = 0;
	if (syslog && ends == NULL) {
		vc_stmt_done(q);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	vc_sbuf_init(&text, 0);
	vc_sbuf_init(&msg, 0);
	ch->upto = 0;
	/* This machine's name in each message (the channel's own copy: a
	 * forwarder's channels may be worked on by a thread of vc-serve). */
	if (syslog && ch->host[0] == '\0' && gethostname(ch->host, sizeof ch->host - 1) != 0)
		snprintf(ch->host, sizeof ch->host, "-");
	while (n < ch->batch && (rc = vc_sql_step(ctx, q)) == 1) {
		int p = passes(ctx, ch, q);
		if (p < 0) {
			rc = -1;
			break;
		}
		ch->upto = vc_col_int64(q, 0);
		if (p == 0)
			continue;
		ids[n++] = vc_col_int64(q, 0);
		if (siem) {
			struct vc_siem_event e = {
				.id = ids[n - 1],
				.type = (const char *)vc_col_text(q, 1),
				.created_at = vc_col_int64(q, 2),
				.body = (const char *)vc_col_text(q, 3),
				.body_n = (size_t)vc_col_bytes(q, 3),
				.id_prefix = ch->audit ? "audit-" : NULL,
			};
			if (e.type == NULL)
				e.type = "";
			if (syslog) {
				syslog_append(&text, &msg, ch, ctx->who.tenant_id, &e);
				ends[n - 1] = text.n;
			} else if (hec)
				vc_siem_hec_append(&text, ctx->who.tenant_id,
				    ch->index[0] ? ch->index : NULL, &e);
			else
				vc_siem_ecs_append(&text, ctx->who.tenant_id,
				    ch->index[0] ? ch->index : DEFAULT_INDEX, &e);
		} else
			/* The event as the log has it: id, type, created_at, body. */
			rows = jv_array_append(rows, jv_object_delete(vc_sql_row(q), jv_string("_sent")));
	}
	vc_stmt_done(q);
	vc_sbuf_release(&msg);
	if (rc < 0) {
		jv_free(rows);
		vc_sbuf_release(&text);
		free(ends);
		return ctx->err;
	}
	*len = n;
	if (n == 0)
		rc = 0;
	else if (text.full)
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
	else if (syslog)
		rc = deliver_syslog(ctx, ch, &text, ends, n, taken);
	else if (siem)
		rc = deliver_siem(ctx, ch, &text, n, taken);
	else {
		rc = strcmp(ch->kind, "file") == 0 ? deliver_file(ctx, ch, jv_copy(rows)) :
		    strcmp(ch->kind, "email") == 0 ? queue_mail(ctx, ch, rows) :
		    deliver_hook(ctx, ch, jv_copy(rows), ids[0], ids[n - 1]);
		if (rc == 0)
			*taken = n;
	}
	jv_free(rows);
	vc_sbuf_release(&text);
	free(ends);
	return rc;
}

/*
 * Note a failed delivery on the channel (its cursor stays).  A failure
 * of ours, not the receiver's (an address the installation refuses, a
 * secret or CA that does not open, no memory), is not counted against
 * the event at the head: it would put good events on the dead list.
 */
static int
counts(int rc)
{
	return rc != VC_EPERM && rc != VC_ECONFIG && rc != VC_EINTERNAL;
}

static void
note_failure(vc_ctx *ctx, struct channel *ch, int rc, const char *why)
{
	int err = ctx->err, count = counts(rc);
	char msg[sizeof ctx->errmsg];

	snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	ch->failures += count;
	for (int a = 1; vc_tx_begin(ctx) == 0; a++) {
		if (vc_sql_exec(ctx, "UPDATE notify_channels SET failures = failures + ?4, last_error = ?3"
		    " WHERE tenant_id = ?1 AND id = ?2", NULL, "sisi", ctx->who.tenant_id, ch->id, why,
		    (int64_t)count) == 0 && vc_tx_commit(ctx) == 0)
			break;
		vc_tx_rollback(ctx);
		if (!vc_tx_again(ctx, a))
			break;
	}
	ctx->err = err;
	snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", msg);
}

/* Is the forwarder asked to stop?  Read atomically: vc-serve's main
 * thread raises the flag while its forwarder thread delivers. */
static int
stopping(vc_ctx *ctx)
{
	return ctx->stop != NULL && __atomic_load_n(ctx->stop, __ATOMIC_RELAXED) != 0;
}

/* The statement of the channel's head after `after` (an id). */
static vc_stmt *
head_stmt(vc_ctx *ctx, const struct channel *ch, int64_t after)
{
	return vc_sql(ctx, ch->audit ? Q_HEAD_AUDIT : ch->rules_only ? Q_HEAD_RULES : Q_HEAD_EVENTS,
	    "sisi", ctx->who.tenant_id, after, ch->types, ch->id);
}

/* The statement of the channel's next batch, at most limit events. */
static vc_stmt *
batch_stmt(vc_ctx *ctx, const struct channel *ch, int limit)
{
	return vc_sql(ctx, ch->audit ? Q_BATCH_AUDIT : ch->rules_only ? Q_BATCH_RULES : Q_BATCH_EVENTS,
	    "sisii", ctx->who.tenant_id, ch->cursor, ch->types, (int64_t)limit, ch->id);
}

/* Inside the transaction that moved the cursor to upto: the rules' marks
 * it passed are of no more use. */
static int
drop_marks(vc_ctx *ctx, const struct channel *ch, int64_t upto)
{
	int rc;

	if (ch->audit)
		return 0;
	/* The files sent with them too: mailed (queued) by now, or the
	 * events went to the dead list (retried without their file). */
	if ((rc = vc_sql_exec(ctx, "DELETE FROM notify_sends WHERE tenant_id = ?1 AND channel_id = ?2"
	    " AND event_id <= ?3", NULL, "sii", ctx->who.tenant_id, ch->id, upto)) != 0)
		return rc;
	return vc_sql_exec(ctx, "DELETE FROM notify_files WHERE tenant_id = ?1 AND channel_id = ?2"
	    " AND event_id <= ?3", NULL, "sii", ctx->who.tenant_id, ch->id, upto);
}

/* A cursor's move: after a delivery (move_cursor), or past a dead
 * event (dead_letter); to, the event at the head there. */
struct move {
	struct channel *ch;
	int64_t to;
	int fails, taken, moved;
	const char *why;
};

/*
 * The event at the head of the channel failed max_failures times in a
 * row: it goes to the dead list and the cursor past it, in one
 * transaction, only if the cursor is still where this forwarder saw it.
 */
static int
dead_body(vc_ctx *ctx, void *arg)
{
	struct move *m = arg;
	int rc;

	m->moved = 0;
	rc = vc_sql_exec(ctx, "INSERT OR IGNORE INTO notify_dead (tenant_id, channel_id, event_id, failures,"
	    " last_error, created_at) SELECT ?1, ?2, ?3, failures, last_error, ?4 FROM notify_channels"
	    " WHERE tenant_id = ?1 AND id = ?2 AND cursor = ?5", NULL, "siiii", ctx->who.tenant_id,
	    m->ch->id, m->to, vc_now(ctx), m->ch->cursor);
	if (rc == 0)
		rc = vc_sql_exec(ctx, "UPDATE notify_channels SET cursor = ?3, failures = 0 WHERE"
		    " tenant_id = ?1 AND id = ?2 AND cursor = ?4", &m->moved, "siii", ctx->who.tenant_id,
		    m->ch->id, m->to, m->ch->cursor);
	if (rc == 0 && m->moved)
		rc = drop_marks(ctx, m->ch, m->to);
	return rc;
}

static int
dead_letter(vc_ctx *ctx, struct channel *ch)
{
	vc_stmt *q = head_stmt(ctx, ch, ch->cursor);
	struct move m = { .ch = ch };
	int rc;

	if (q == NULL)
		return ctx->err;
	if ((m.to = vc_sql_int(ctx, q)) < 0) {
		ch->failures = 0;
		return ctx->err;
	}
	/* Made again when it gave way to another (vc_tx_run). */
	if ((rc = vc_tx_run(ctx, 0, dead_body, &m)) != 0)
		return rc;
	ch->failures = 0;
	ch->limit = 0;
	if (m.moved) {
		ch->cursor = m.to;
		ch->dead++;
	}
	return m.moved ? 0 : 1;
}

/* ---- leases: one forwarder at a time a channel --------------------------- */

/* A lease's transaction (vc_tx_run's arg): what it read, set afresh at
 * each attempt. */
struct lease {
	struct channel *ch;
	int64_t now, cursor;
	int changed, failures;
	char busy[160];
};

static int
take_body(vc_ctx *ctx, void *arg)
{
	struct lease *l = arg;
	vc_stmt *q;
	int rc;

	l->changed = 0;
	l->busy[0] = '\0';
	if ((rc = vc_sql_exec(ctx, "UPDATE notify_channels SET lease_holder = ?3, lease_until = ?4"
	    " WHERE tenant_id = ?1 AND id = ?2 AND (lease_until <= ?5 OR lease_holder = ?3)", &l->changed,
	    "sisii", ctx->who.tenant_id, l->ch->id, l->ch->holder, l->now + LEASE_S, l->now)) != 0)
		return rc;
	q = vc_sql(ctx, "SELECT cursor, failures, lease_holder FROM notify_channels"
	    " WHERE tenant_id = ?1 AND id = ?2", "si", ctx->who.tenant_id, l->ch->id);
	if (q == NULL || (rc = vc_sql_step(ctx, q)) < 0) {
		vc_stmt_done(q);
		return ctx->err ? ctx->err : VC_EINTERNAL;
	}
	if (rc == 1 && l->changed) {
		l->cursor = vc_col_int64(q, 0);
		l->failures = vc_col_int(q, 1);
	} else if (rc == 1)
		snprintf(l->busy, sizeof l->busy, "%s", vc_col_type(q, 2) == VC_TEXT ?
		    (const char *)vc_col_text(q, 2) : "another forwarder");
	else
		snprintf(l->busy, sizeof l->busy, "deleted");
	vc_stmt_done(q);
	return 0;
}

/*
 * Claim the channel for this forwarder (ch->holder) for LEASE_S seconds:
 * 0 when it is ours (its cursor and failures read again: another
 * forwarder may have moved them), 1 when another holds it (busy gets its
 * name), or an error.
 */
static int
lease_take(vc_ctx *ctx, struct channel *ch, char *busy, size_t bn)
{
	struct lease l = { .ch = ch, .now = vc_now(ctx) };
	int rc;

	/* READ COMMITTED on PostgreSQL: a forwarder that claims at the
	 * same moment waits for the other's claim and then finds the
	 * channel held (busy), instead of failing to serialize; a
	 * deadlock (40P01) is taken again (vc_tx_run). */
	if ((rc = vc_tx_run(ctx, 1, take_body, &l)) != 0)
		return rc;
	if (l.changed) {
		ch->cursor = l.cursor;
		ch->failures = l.failures;
	} else
		snprintf(busy, bn, "%s", l.busy);
	ch->lease_ms = vc_mono_ms();
	return l.changed ? 0 : 1;
}

static int
renew_body(vc_ctx *ctx, void *arg)
{
	struct lease *l = arg;

	l->changed = 0;
	return vc_sql_exec(ctx, "UPDATE notify_channels SET lease_until = ?4 WHERE tenant_id = ?1"
	    " AND id = ?2 AND lease_holder = ?3", &l->changed, "sisi", ctx->who.tenant_id, l->ch->id,
	    l->ch->holder, l->now + LEASE_S);
}

/* Keep the claim for LEASE_S more: 0, or 1 when it lapsed and another
 * forwarder holds the channel now (this one stops there). */
static int
lease_renew(vc_ctx *ctx, struct channel *ch)
{
	struct lease l = { .ch = ch, .now = vc_now(ctx) };
	int rc;

	if ((rc = vc_tx_run(ctx, 1, renew_body, &l)) != 0)
		return rc;
	ch->lease_ms = vc_mono_ms();
	return l.changed ? 0 : 1;
}

static int
give_body(vc_ctx *ctx, void *arg)
{
	struct lease *l = arg;

	return vc_sql_exec(ctx, "UPDATE notify_channels SET lease_holder = NULL, lease_until = 0"
	    " WHERE tenant_id = ?1 AND id = ?2 AND lease_holder = ?3", NULL, "sis",
	    ctx->who.tenant_id, l->ch->id, l->ch->holder);
}

/* Give the claim back (if it is still ours), keeping ctx's error. */
static void
lease_give(vc_ctx *ctx, struct channel *ch)
{
	struct lease l = { .ch = ch };
	int err = ctx->err;
	char msg[sizeof ctx->errmsg];

	snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	(void)vc_tx_run(ctx, 1, give_body, &l);
	ctx->err = err;
	snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", msg);
}

static int
move_body(vc_ctx *ctx, void *arg)
{
	struct move *m = arg;
	int rc;

	m->moved = 0;
	rc = vc_sql_exec(ctx, "UPDATE notify_channels SET cursor = ?3, failures = ?6, last_error = ?7,"
	    " delivered_at = CASE WHEN ?8 > 0 THEN ?5 ELSE delivered_at END"
	    " WHERE tenant_id = ?1 AND id = ?2 AND cursor = ?4", &m->moved, "siiiiisi",
	    ctx->who.tenant_id, m->ch->id, m->to, m->ch->cursor, vc_now(ctx), (int64_t)m->fails, m->why,
	    (int64_t)m->taken);
	if (rc == 0 && m->moved)
		rc = drop_marks(ctx, m->ch, m->to);
	return rc;
}

/* The transaction that moves the cursor from ch->cursor to `to` after a
 * delivery, made again when it gave way to another (vc_tx_run): 0 with
 * *moved 1, or 0 with *moved 0 when another forwarder moved it first. */
static int
move_cursor(vc_ctx *ctx, struct channel *ch, int64_t to, int fails, const char *why, int taken,
    int *moved)
{
	struct move m = { .ch = ch, .to = to, .fails = fails, .taken = taken, .why = why };
	int rc = vc_tx_run(ctx, 0, move_body, &m);

	*moved = m.moved;
	return rc;
}

/*
 * Deliver what the channel has not had yet, a batch at a time; each
 * batch's cursor is committed once the receiver took it (a part of it:
 * the part taken).  *n gets how many events went out.
 */
static int
forward_one(vc_ctx *ctx, struct channel *ch, long *n)
{
	int64_t *ids = malloc((size_t)ch->batch * sizeof *ids);
	int rc = 0;

	if (ids == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	for (;;) {
		vc_stmt *q;
		int len, taken, moved = 0, limit = ch->batch, fails;
		int64_t to;
		char why[sizeof ctx->errmsg];

		if (stopping(ctx))
			break;
		/* A long run keeps its claim; one that lapsed (a batch that
		 * took longer than the lease) leaves the channel to the
		 * forwarder that took it. */
		if (ch->holder != NULL && vc_mono_ms() - ch->lease_ms >= LEASE_RENEW_MS &&
		    (rc = lease_renew(ctx, ch)) != 0) {
			rc = rc == 1 ? 0 : rc;
			break;
		}
		if (ch->max_failures > 0 && ch->failures >= ch->max_failures) {
			if ((rc = dead_letter(ctx, ch)) != 0) {
				rc = rc == 1 ? 0 : rc;  /* 1: the other forwarder carries on */
				break;
			}
			continue;
		}
		if (ch->limit > 0 && ch->limit < limit)
			limit = ch->limit;
		if ((q = batch_stmt(ctx, ch, limit)) == NULL) {
			rc = ctx->err;
			break;
		}
		rc = deliver_rows(ctx, ch, q, ids, &len, &taken);
		if (ch->upto == 0 && rc == 0)
			break;          /* nothing left */
		if (rc != 0 && stopping(ctx)) {
			/* Cut short by a stop (vc-serve shutting down): not the
			 * receiver's failure; the batch comes again. */
			rc = 0;
			break;
		}
		if (rc != 0)
			snprintf(why, sizeof why, "%s", ctx->errmsg);
		/* The collector named a bad event past the head: the ones
		 * ahead of it go now, in a smaller batch (each shrinks). */
		if (taken == 0 && rc != 0 && ch->limit > 0 && ch->limit < len)
			continue;
		if (ch->committed) {    /* an email channel moved its cursor itself */
			int own = ch->committed == 1;
			ch->committed = 0;
			if (!own)
				break;
			*n += taken;
			ch->failures = 0;
			ch->limit = 0;
			continue;
		}
		/*
		 * Where the cursor goes: past every row read when all that
		 * passed --when were taken; else to the last taken, or with
		 * a --when to just before the first not taken (the rows
		 * before it that --when refused are passed over); that one
		 * failed once more (the first of a batch partly taken: once).
		 */
		to = rc == 0 ? ch->upto : ch->when != NULL && len > 0 ? ids[taken] - 1 :
		    taken > 0 ? ids[taken - 1] : ch->cursor;
		fails = rc == 0 ? 0 : taken > 0 ? 1 : ch->failures + counts(rc);
		if (to <= ch->cursor) {
			if (rc != 0) {
				note_failure(ctx, ch, rc, why);
				rc = vc_fail(ctx, rc, "channel %s: %s", ch->name, why);
			}
			break;
		}
		/* Only forward: another forwarder may have moved it meanwhile.
		 * A move that gave way to another transaction (PostgreSQL) is
		 * made again: the batch went, and must not go twice. */
		if (move_cursor(ctx, ch, to, fails, rc != 0 ? why : NULL, taken, &moved) != 0) {
			rc = ctx->err;
			break;
		}
		if (!moved) {
			rc = 0;         /* the other forwarder carries on */
			break;
		}
		*n += taken;
		ch->cursor = to;
		ch->failures = fails;
		if (taken > 0 || rc == 0)
			ch->limit = 0;
		if (rc != 0) {
			rc = vc_fail(ctx, rc, "channel %s: %s", ch->name, why);
			break;
		}
	}
	free(ids);
	return rc;
}

/* The columns a forwarder reads of a channel (channel_from_row). */
#define LOAD_COLS "id, cursor, name, kind, target, types, secret_sealed, batch, max_failures," \
	" failures, COALESCE(index_name, ''), format, source = 'audit', when_jq, ca_pem, tenant_id," \
	" rules_only"

/* Fill ch (zeroed) from a row of LOAD_COLS, its secret opened. */
static int
channel_from_row(vc_ctx *ctx, vc_stmt *q, struct channel *ch)
{
	const char *sealed = (const char *)vc_col_text(q, 6);
	char ad[200];

	ch->fd = -1;
	ch->id = vc_col_int64(q, 0);
	ch->cursor = vc_col_int64(q, 1);
	snprintf(ch->name, sizeof ch->name, "%s", (const char *)vc_col_text(q, 2));
	snprintf(ch->kind, sizeof ch->kind, "%s", (const char *)vc_col_text(q, 3));
	snprintf(ch->target, sizeof ch->target, "%s", (const char *)vc_col_text(q, 4));
	snprintf(ch->types, sizeof ch->types, "%s", (const char *)vc_col_text(q, 5));
	ch->batch = vc_col_int(q, 7);
	ch->max_failures = vc_col_int(q, 8);
	ch->failures = vc_col_int(q, 9);
	snprintf(ch->index, sizeof ch->index, "%s", (const char *)vc_col_text(q, 10));
	ch->cef = vc_col_type(q, 11) == VC_TEXT &&
	    strcmp((const char *)vc_col_text(q, 11), "cef") == 0;
	if (strcmp(ch->kind, "webhook") == 0 && vc_col_type(q, 11) == VC_TEXT &&
	    strcmp((const char *)vc_col_text(q, 11), "json") != 0)
		snprintf(ch->chat, sizeof ch->chat, "%s", (const char *)vc_col_text(q, 11));
	ch->audit = vc_col_int(q, 12);
	snprintf(ch->tenant, sizeof ch->tenant, "%s", (const char *)vc_col_text(q, 15));
	ch->rules_only = vc_col_int(q, 16);
	if ((vc_col_type(q, 13) == VC_TEXT &&
	    (ch->when = strdup((const char *)vc_col_text(q, 13))) == NULL) ||
	    (vc_col_type(q, 14) == VC_TEXT &&
	    (ch->ca = strdup((const char *)vc_col_text(q, 14))) == NULL))
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	if (ch->batch < 1 || ch->batch > BATCH_MAX)
		ch->batch = BATCH;
	snprintf(ad, sizeof ad, SECRET_AD_FMT, ch->tenant, ch->name);
	if (sealed != NULL &&
	    vc_secret_open(ctx, ctx->store->keys, ad, sealed, &ch->key, &ch->keylen) != 0)
		return vc_fail(ctx, VC_ECONFIG, "channel %s: its secret does not open", ch->name);
	return 0;
}

/* Close the channel's connection (a new one is made when needed). */
static void
hang_up(struct channel *ch)
{
	if (ch->h != NULL)
		curl_easy_cleanup(ch->h);
	ch->h = NULL;
	syslog_close(ch);
}

static void
free_channel(struct channel *ch)
{
	if (ch->key != NULL)
		vc_secret_free(ch->key, ch->keylen);
	if (ch->h != NULL)
		curl_easy_cleanup(ch->h);
	syslog_close(ch);
	vc_jq_close(ch->jq);
	free(ch->when);
	free(ch->ca);
	if (ch->tls != NULL)
		SSL_CTX_free(ch->tls);
}

static void
free_channels(struct channel *list, int n)
{
	for (int i = 0; i < n; i++)
		free_channel(&list[i]);
	free(list);
}

/* The channels to deliver (one when name is given) into *list: ctx's
 * tenant's (dead retry, channel test). */
static int
load_channels(vc_ctx *ctx, const char *name, struct channel **list, int *count)
{
	vc_stmt *q = vc_sql(ctx, "SELECT " LOAD_COLS " FROM notify_channels WHERE tenant_id = ?1"
	    " AND (?2 IS NULL OR name = ?2) ORDER BY name", "ss", ctx->who.tenant_id, name);
	int rc, n = 0;

	*list = NULL;
	*count = 0;
	if (q == NULL)
		return ctx->err;
	while ((rc = vc_sql_step(ctx, q)) == 1) {
		struct channel *l = realloc(*list, (size_t)(n + 1) * sizeof *l);

		if (l == NULL) {
			rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
			break;
		}
		*list = l;
		memset(&l[n], 0, sizeof l[n]);
		*count = ++n;
		if ((rc = channel_from_row(ctx, q, &l[n - 1])) != 0)
			break;
	}
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	if (rc == 0 && name != NULL && n == 0)
		return vc_fail(ctx, VC_ENOTFOUND, "no channel %.64s", name);
	return rc;
}

/* ---- the forwarder --------------------------------------------------------- */

struct vc_forwarder {
	struct channel *list;
	int n;
	int all;                /* every tenant's channels but files (vc-serve) */
	char name[65];          /* only this one ("": every one of ctx's tenant) */
	char holder[160];       /* its name in the channels' leases */
	struct vc_principal who; /* the caller (not all) */
};

/*
 * Read the channels again: those deleted since are dropped, new ones
 * added (a channel's settings never change: a channel is added or
 * deleted, its id never reused), so that a forwarder that runs for long
 * keeps its connections and jq children and sees what was added.  A
 * channel whose secret does not open is kept with its error (broken).
 */
static int
forwarder_load(vc_ctx *ctx, struct vc_forwarder *f)
{
	vc_stmt *q;
	int rc, k = 0;

	if (f->all)
		/* unscoped: vc-serve's forwarder delivers every tenant's channels, each as its tenant */
		q = vc_sql(ctx, "SELECT " LOAD_COLS " FROM notify_channels WHERE kind <> 'file'"
		    " ORDER BY tenant_id, name", "");
	else
		q = vc_sql(ctx, "SELECT " LOAD_COLS " FROM notify_channels WHERE tenant_id = ?1"
		    " AND (?2 IS NULL OR name = ?2) ORDER BY name", "ss", f->who.tenant_id,
		    f->name[0] ? f->name : NULL);
	if (q == NULL)
		return ctx->err;
	for (int i = 0; i < f->n; i++)
		f->list[i].seen = 0;
	while ((rc = vc_sql_step(ctx, q)) == 1) {
		int64_t id = vc_col_int64(q, 0);
		struct channel *l, *ch = NULL;

		for (int i = 0; i < f->n && ch == NULL; i++)
			if (f->list[i].id == id)
				ch = &f->list[i];
		if (ch != NULL) {
			ch->seen = 1;
			continue;
		}
		if ((l = realloc(f->list, (size_t)(f->n + 1) * sizeof *l)) == NULL) {
			rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
			break;
		}
		f->list = l;
		ch = &l[f->n++];
		memset(ch, 0, sizeof *ch);
		if (channel_from_row(ctx, q, ch) != 0) {
			ch->broken = ctx->err;
			snprintf(ch->why, sizeof ch->why, "%s", ctx->errmsg);
			ctx->err = 0;
			ctx->errmsg[0] = '\0';
		}
		ch->holder = f->holder;
		ch->seen = 1;
	}
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	for (int i = 0; i < f->n; i++)
		if (f->list[i].seen)
			f->list[k++] = f->list[i];
		else
			free_channel(&f->list[i]);
	f->n = k;
	return rc;
}

/* Act for the channel's tenant (vc-serve's forwarder: the system, with
 * an admin's rights there), or as the caller. */
static void
forwarder_act(vc_ctx *ctx, const struct vc_forwarder *f, const struct channel *ch, const char *tool)
{
	if (!f->all) {
		ctx->who = f->who;
		return;
	}
	memset(&ctx->who, 0, sizeof ctx->who);
	ctx->who.actor = VC_ACTOR_SYSTEM;
	ctx->who.role = VC_ROLE_ADMIN;
	snprintf(ctx->who.tenant_id, sizeof ctx->who.tenant_id, "%s", ch->tenant);
	snprintf(ctx->who.username, sizeof ctx->who.username, "%s", tool);
}

/*
 * Has the channel something to deliver?  Its row is read again (cursor,
 * failures: another forwarder may have moved them): 1 when an event
 * waits after the cursor or the head is due for the dead list, 0 when
 * not (nothing is written: an idle pass costs two reads a channel), -1
 * when the channel is gone, or an error (> 1).
 */
static int
channel_due(vc_ctx *ctx, struct channel *ch)
{
	vc_stmt *q = vc_sql(ctx, "SELECT cursor, failures FROM notify_channels"
	    " WHERE tenant_id = ?1 AND id = ?2", "si", ctx->who.tenant_id, ch->id);
	int rc;

	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_step(ctx, q)) == 1) {
		ch->cursor = vc_col_int64(q, 0);
		ch->failures = vc_col_int(q, 1);
	}
	vc_stmt_done(q);
	if (rc <= 0)
		return rc < 0 ? ctx->err : -1;
	if (ch->max_failures > 0 && ch->failures >= ch->max_failures)
		return 1;
	if ((q = head_stmt(ctx, ch, ch->cursor)) == NULL)
		return ctx->err;
	rc = vc_sql_step(ctx, q);
	vc_stmt_done(q);
	return rc < 0 ? ctx->err : rc;
}

/*
 * One pass over the forwarder's channels; the first failure is returned,
 * the other channels still go.  Each channel's outcome is emitted
 * (quiet: only when it did something or failed).  A channel that failed
 * waits for its backoff (quiet), one with nothing new is not claimed,
 * one another forwarder holds is left to it ("busy").
 */
static int
forwarder_pass(vc_ctx *ctx, struct vc_forwarder *f, const char *tool, int quiet, jv *out,
    long *total)
{
	int first = 0, rc;
	int64_t now = vc_mono_ms();

	if ((rc = forwarder_load(ctx, f)) != 0)
		return rc;
	for (int i = 0; i < f->n && !stopping(ctx); i++) {
		struct channel *ch = &f->list[i];
		char busy[160] = "";
		long sent = 0;
		jv rec;

		if (quiet && ch->fails > 0 && now < ch->retry_ms)
			continue;
		forwarder_act(ctx, f, ch, tool);
		ch->dead = 0;
		if (ch->broken)
			rc = vc_fail(ctx, ch->broken, "%s", ch->why);
		else if ((rc = channel_due(ctx, ch)) == -1)
			continue;       /* deleted since the list was read */
		else if (rc == 1 && (rc = lease_take(ctx, ch, busy, sizeof busy)) == 0) {
			rc = forward_one(ctx, ch, &sent);
			lease_give(ctx, ch);
			/* vc-serve holds no connection between passes: a
			 * collector sees one while there is something to send. */
			if (f->all)
				hang_up(ch);
		}
		if (rc == 1)
			rc = 0;         /* another forwarder holds it */
		if (quiet && rc == 0 && sent == 0 && ch->dead == 0) {
			ch->fails = 0;
			continue;       /* following, a channel with nothing new says nothing */
		}
		rec = JV_OBJECT(jv_string("channel"), jv_string(ch->name), jv_string("delivered"),
		    jv_number(sent), jv_string("cursor"), jv_number((double)ch->cursor));
		if (f->all)
			rec = jv_object_set(rec, jv_string("tenant_id"), jv_string(ch->tenant));
		if (ch->dead > 0)
			rec = jv_object_set(rec, jv_string("dead"), jv_number(ch->dead));
		if (busy[0] != '\0')
			rec = jv_object_set(rec, jv_string("busy"), jv_string(busy));
		if (rc != 0) {
			rec = jv_object_set(rec, jv_string("error"), jv_string(ctx->errmsg));
			if (first == 0)
				first = rc;
			ch->fails++;
			backoff(ch, now);
		} else
			ch->fails = 0;
		*total += sent;
		vc_emit(ctx, rec, out);
	}
	if (!f->all)
		ctx->who = f->who;
	else
		memset(&ctx->who, 0, sizeof ctx->who);
	return first;
}

/* Make a forwarder: its name in the leases is TOOL@HOST:PID:RANDOM. */
static int
forwarder_new(vc_ctx *ctx, const char *tool, int all, const char *name, struct vc_forwarder **out)
{
	struct vc_forwarder *f = calloc(1, sizeof *f);

	*out = NULL;
	if (f == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	vc_claimant(tool, f->holder, sizeof f->holder);
	f->all = all;
	f->who = ctx->who;
	snprintf(f->name, sizeof f->name, "%s", name ? name : "");
	*out = f;
	return 0;
}

int
vc_forwarder_new(vc_ctx *ctx, const char *tool, struct vc_forwarder **out)
{
	return forwarder_new(ctx, tool, 1, NULL, out);
}

int
vc_forwarder_pass(vc_ctx *ctx, struct vc_forwarder *f, const char *tool, jv *out,
    int64_t *retry_ms)
{
	long total = 0;
	int64_t now, wait = 0;
	int rc;

	*out = jv_array();
	rc = forwarder_pass(ctx, f, tool, 1, out, &total);
	now = vc_mono_ms();
	for (int i = 0; i < f->n; i++)
		if (f->list[i].fails > 0 && (wait == 0 || f->list[i].retry_ms - now < wait))
			wait = f->list[i].retry_ms - now > 0 ? f->list[i].retry_ms - now : 1;
	*retry_ms = wait;
	return rc;
}

void
vc_forwarder_free(struct vc_forwarder *f)
{
	if (f == NULL)
		return;
	free_channels(f->list, f->n);
	free(f);
}

/* A run's audit record (vc_tx_run's arg). */
struct run_rec {
	const char *action, *target, *why;
	jv details;
};

static int
run_rec_body(vc_ctx *ctx, void *arg)
{
	struct run_rec *r = arg;

	return vc_audit(ctx, ctx->who.tenant_id, r->action, r->target, NULL,
	    r->why == NULL ? "success" : "failure", r->why, jv_copy(r->details));
}

/* The one audit record of a RAW operation's run (details consumed):
 * success, or failure with why; ctx->audited once written.  Written
 * again when it gave way to another (the run itself is not redone). */
static void
audit_run(vc_ctx *ctx, const char *action, const char *target, const char *why, jv details)
{
	struct run_rec r = { action, target, why, details };

	if (vc_tx_run(ctx, 0, run_rec_body, &r) == 0)
		ctx->audited = 1;
	jv_free(details);
}

/* Send the mail that email channels queued (the outbox's own retries
 * and failures as for any mail: vc-auth mail show). */
static void
mail_out(vc_ctx *ctx)
{
	struct vc_outbox_stats st = { 0 };
	int err = ctx->err;
	char msg[sizeof ctx->errmsg];

	if (!ctx->outbox_queued)
		return;
	ctx->outbox_queued = 0;
	snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	vc_outbox_deliver(ctx, 0, &st);
	ctx->err = err;
	snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", msg);
}

int
vc_op_forward(vc_ctx *ctx, jv args, jv *out)
{
	const char *name = vc_arg_str(args, "channel");
	int once = vc_arg_bool(args, "once"), follow = vc_arg_bool(args, "follow"), rc;
	struct vc_forwarder *f;
	long total = 0;
	int64_t ver;
	char msg[sizeof ctx->errmsg];

	if (once == follow)
		return vc_fail(ctx, VC_EUSAGE, "give --once (cron) or --follow (a service)");
	if ((ver = vc_store_data_version(ctx)) < 0)
		return ctx->err;
	if ((rc = forwarder_new(ctx, "vc-notify", 0, name, &f)) != 0)
		return rc;
	if ((rc = forwarder_load(ctx, f)) == 0 && name != NULL && f->n == 0)
		rc = vc_fail(ctx, VC_ENOTFOUND, "no channel %.64s", name);
	if (rc != 0) {
		vc_forwarder_free(f);
		return rc;
	}
	rc = forwarder_pass(ctx, f, "vc-notify", 0, out, &total);
	mail_out(ctx);
	while (follow) {
		/* Until an event comes, or the first channel's retry is due. */
		int64_t wait = 0, now = vc_mono_ms();
		int w;

		for (int i = 0; i < f->n; i++)
			if (f->list[i].fails > 0 && (wait == 0 || f->list[i].retry_ms - now < wait))
				wait = f->list[i].retry_ms - now > 0 ? f->list[i].retry_ms - now : 1;
		w = vc_store_wait_change(ctx, &ver, FOLLOW_POLL_MS, wait);
		if (w == 0) {
			rc = 0;         /* a signal: the failures were reported */
			break;
		}
		if (w != 1 && w != VC_WAIT_TIMEOUT) {
			rc = w;
			break;
		}
		rc = forwarder_pass(ctx, f, "vc-notify", 1, out, &total);
		mail_out(ctx);
	}
	vc_forwarder_free(f);
	/* One audit record for the run, with its outcome. */
	snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	audit_run(ctx, "notifications.forward", "notify_channel", rc == 0 ? NULL : msg,
	    JV_OBJECT(jv_string("delivered"), jv_number(total)));
	if (rc != 0)
		vc_fail(ctx, rc, "%s", msg);
	return rc;
}

/* ---- the dead-letter list ---------------------------------------------- */

int
vc_op_dead_list(vc_ctx *ctx, jv args, jv *out)
{
	const char *name = vc_arg_str(args, "channel");
	int64_t limit = vc_arg_int(args, "limit", 1000);
	vc_stmt *q;

	if (limit < 1 || limit > 100000)
		return vc_fail(ctx, VC_EUSAGE, "--limit: 1 to 100000");
	if (name != NULL && channel_json(ctx, name, out) != 0)
		return ctx->err;
	jv_free(*out);
	*out = jv_invalid();
	q = vc_sql(ctx, "SELECT d.id, c.name AS channel, c.source, d.event_id,"
	    " COALESCE(e.type, 'audit.' || a.action) AS type, d.failures, d.last_error,"
	    " d.created_at, d.retried_at FROM notify_dead d JOIN notify_channels c"
	    " ON c.id = d.channel_id AND c.tenant_id = d.tenant_id LEFT JOIN events e"
	    " ON c.source = 'events' AND e.id = d.event_id AND e.tenant_id = d.tenant_id"
	    " LEFT JOIN audit_logs a ON c.source = 'audit' AND a.id = d.event_id AND a.chain = d.tenant_id"
	    " WHERE d.tenant_id = ?1 AND (?2 IS NULL OR c.name = ?2) ORDER BY d.id LIMIT ?3", "ssi",
	    ctx->who.tenant_id, name, limit);
	if (q == NULL)
		return ctx->err;
	*out = vc_sql_rows(ctx, q);
	return jv_is_valid(*out) ? 0 : ctx->err;
}

/*
 * Deliver the channel's dead events (one, when id > 0) again, in event
 * order, a batch at a time; those taken leave the list.  A failure
 * counts on the ones not taken and ends this channel's retry.  *n gets
 * how many went.  Events pruned from the log since stay listed.
 */
/* A dead retry's batch delivered (vc_tx_run's arg): ids[0..taken) went,
 * ids[taken..len) failed with why (NULL: none did). */
struct dead_done {
	struct channel *ch;
	const int64_t *ids;
	int64_t after;
	int len, taken;
	const char *why;
};

static int
dead_done_body(vc_ctx *ctx, void *arg)
{
	struct dead_done *d = arg;
	int rc = 0;

	if (d->taken > 0)
		rc = vc_sql_exec(ctx, "DELETE FROM notify_dead WHERE tenant_id = ?1 AND channel_id = ?2"
		    " AND event_id > ?3 AND event_id <= ?4", NULL, "siii", ctx->who.tenant_id, d->ch->id,
		    d->after, d->ids[d->taken - 1]);
	if (rc == 0 && d->why != NULL)
		rc = vc_sql_exec(ctx, "UPDATE notify_dead SET failures = failures + 1, last_error = ?5,"
		    " retried_at = ?6 WHERE tenant_id = ?1 AND channel_id = ?2 AND event_id >= ?3"
		    " AND event_id <= ?4", NULL, "siiisi", ctx->who.tenant_id, d->ch->id, d->ids[d->taken],
		    d->ids[d->len - 1], d->why, vc_now(ctx));
	return rc;
}

static int
retry_one(vc_ctx *ctx, struct channel *ch, int64_t id, long *n)
{
	int64_t *ids = malloc((size_t)ch->batch * sizeof *ids), after = 0;
	struct dead_done d;
	int rc = 0;

	if (ids == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	ch->retrying = 1;
	for (;;) {
		vc_stmt *q = vc_sql(ctx, ch->audit ? Q_DEAD_AUDIT : Q_DEAD_EVENTS, "siiii",
		    ctx->who.tenant_id, ch->id, id, after, (int64_t)ch->batch);
		int len, taken, w;
		char why[sizeof ctx->errmsg] = "";

		if (q == NULL) {
			rc = ctx->err;
			break;
		}
		rc = deliver_rows(ctx, ch, q, ids, &len, &taken);
		if (len == 0)
			break;
		if (rc != 0)
			snprintf(why, sizeof why, "%s", ctx->errmsg);
		/* What went leaves the list, what did not counts one more
		 * failure: written again when it gave way to another (the
		 * batch went, and must not go twice). */
		d = (struct dead_done){ ch, ids, after, len, taken, rc != 0 ? why : NULL };
		if ((w = vc_tx_run(ctx, 0, dead_done_body, &d)) != 0) {
			rc = w;
			break;
		}
		*n += taken;
		if (rc != 0) {
			rc = vc_fail(ctx, rc, "channel %s: %s", ch->name, why);
			break;
		}
		after = ids[len - 1];
	}
	free(ids);
	return rc;
}

int
vc_op_dead_retry(vc_ctx *ctx, jv args, jv *out)
{
	const char *name = vc_arg_str(args, "channel"), *ids = vc_arg_str(args, "id");
	int all = vc_arg_bool(args, "all"), n = 0, rc, first = 0;
	struct channel *list;
	int64_t id = 0;
	long total = 0;
	char *end;

	if ((ids != NULL) == all)
		return vc_fail(ctx, VC_EUSAGE, "give a dead event's ID or --all");
	if (ids != NULL) {
		vc_stmt *q;
		errno = 0;
		id = strtoll(ids, &end, 10);
		if (*end != '\0' || end == ids || errno != 0 || id < 1)
			return vc_fail(ctx, VC_EUSAGE, "%.40s: not a dead event's id", ids);
		q = vc_sql(ctx, "SELECT c.name FROM notify_dead d JOIN notify_channels c ON c.id = d.channel_id"
		    " WHERE d.tenant_id = ?1 AND d.id = ?2 AND (?3 IS NULL OR c.name = ?3)", "sis",
		    ctx->who.tenant_id, id, name);
		if (q == NULL)
			return ctx->err;
		if ((rc = vc_sql_step(ctx, q)) != 1) {
			vc_stmt_done(q);
			return rc < 0 ? ctx->err : vc_fail(ctx, VC_ENOTFOUND, "no dead event %lld", (long long)id);
		}
		rc = load_channels(ctx, (const char *)vc_col_text(q, 0), &list, &n);
		vc_stmt_done(q);
	} else
		rc = load_channels(ctx, name, &list, &n);
	for (int i = 0; rc == 0 && i < n; i++) {
		long sent = 0;
		int r = retry_one(ctx, &list[i], id, &sent);
		jv rec = JV_OBJECT(jv_string("channel"), jv_string(list[i].name), jv_string("delivered"),
		    jv_number(sent));

		if (r != 0) {
			rec = jv_object_set(rec, jv_string("error"), jv_string(ctx->errmsg));
			if (first == 0)
				first = r;
		}
		total += sent;
		vc_emit(ctx, rec, out);
	}
	free_channels(list, n);
	mail_out(ctx);
	if (rc == 0 && first != 0)
		rc = vc_fail(ctx, first, "some dead events were not taken");
	vc_audit_target(ctx, "notify_dead", NULL);
	vc_audit_detail(ctx, "delivered", jv_number(total));
	/* A failure is the dispatcher's to audit. */
	if (rc == 0)
		audit_run(ctx, "notifications.dead.retry", "notify_dead", NULL,
		    JV_OBJECT(jv_string("delivered"), jv_number(total)));
	return rc;
}

/* ---- channel test -------------------------------------------------------- */

int
vc_op_channel_test(vc_ctx *ctx, jv args, jv *out)
{
	const char *name = vc_arg_str(args, "name");
	struct channel *list;
	vc_stmt *q;
	int64_t id;
	int n = 0, len = 0, taken = 0, rc;

	vc_audit_target(ctx, "notify_channel", NULL);
	vc_audit_detail(ctx, "name", jv_string(name ? name : ""));
	if ((rc = load_channels(ctx, name, &list, &n)) != 0) {
		free_channels(list, n);
		return rc;
	}
	/* One made-up event, id 0, from no table: the cursor is not its. */
	list[0].retrying = 1;
	q = vc_sql(ctx, "SELECT 0 AS id, 'notify.test' AS type, CAST(?1 AS INTEGER) AS created_at,"
	    " " VC_SQL2("json_object('test', json('true'), 'channel', ?2, 'by', ?3)",
	    "json_build_object('test', true, 'channel', ?2::text, 'by', ?3::text)") " AS body_json", "iss",
	    vc_now(ctx), list[0].name, ctx->who.username);
	rc = q == NULL ? ctx->err : deliver_rows(ctx, &list[0], q, &id, &len, &taken);
	if (rc == 0 && taken != 1)
		rc = vc_fail(ctx, VC_EUNAVAIL, "the receiver did not take the test event");
	*out = JV_OBJECT(jv_string("channel"), jv_string(list[0].name), jv_string("sent"),
	    jv_bool(rc == 0));
	if (rc != 0)
		*out = jv_object_set(*out, jv_string("error"), jv_string(ctx->errmsg));
	free_channels(list, n);
	mail_out(ctx);
	vc_audit_detail(ctx, "sent", jv_bool(rc == 0));
	if (rc == 0)
		audit_run(ctx, "notifications.channels.test", "notify_channel", NULL,
		    JV_OBJECT(jv_string("name"), jv_string(name)));
	return rc;
}
