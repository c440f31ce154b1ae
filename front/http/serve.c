/* SPDX-License-Identifier: MIT */
/*
 * serve.c - vc-serve: HTTP/1.1 over libwebsockets raw sockets, requests
 * run on a pool of worker threads through the operation table.
 *
 * Threads.  The lws thread (the caller of vc_serve_run) owns every socket
 * and every struct conn.  A worker owns one vc_ctx and one store
 * connection and only ever touches the struct job it popped.  A job is in
 * exactly one place at a time - the queue, a worker, or the done list -
 * recorded in job->where under srv->mu; only the lws thread frees jobs.
 * job->conn is read and written by the lws thread alone: a connection that
 * closes first sets it to NULL, so a finished job never reaches a freed
 * connection.
 *
 * Streams.  A running job may also be on the ready list: its worker put
 * it there, under srv->mu, because the loop waited for it (JSON Lines
 * queued for a streamed answer, or room made in an import's input).  The
 * loop takes it off before it can take the same job off the done list,
 * so a freed job is never on the ready list.  Workers wait on srv->scv
 * for room or for input, and give up when the job is gone (the
 * connection closed) or the server stops; nothing of the connection is
 * ever theirs to touch.
 *
 * Why not lws's own HTTP server: lws 4.1.6 drops a connection without a
 * reply when the request head outgrows its header buffer (no 414/431
 * possible), cannot list unknown headers to measure them, and rewrites
 * the request path (decoding %2F, collapsing "..") before we see it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <unistr.h>
#include <libwebsockets.h>

#include "core/vc.h"
#include "json/jdump.h"
#include "json/jsonl.h"
#include "auth.h"
#include "ops/ops.h"
#include "core/store.h"
#include "core/audit.h"
#include "http/http.h"
#include "http/limit.h"
#include "playbook.h"
#include "http/serve.h"
#include "http/ws.h"
#include "core/events.h"
#include "notify.h"
#include "mail.h"
#include "channels.h"
#include "report/report.h"

#define KIB 1024
#define MIB (1024 * 1024)

#define IN_SLACK (64 * KIB)     /* beyond a full head: one socket read */
#define WRITE_CHUNK (16 * KIB)
#define LINGER_SECS 2           /* read and discard after a closing reply */
#define IPT_SIZE 256
#define STREAM_MAX (1 * MIB)    /* JSON Lines a streamed response buffers */
#define STREAM_TAKE (256 * KIB) /* at most this much in one chunk */
#define INPUT_MAX (1 * MIB)     /* import body read ahead of the worker */
#define INPUT_LOW (256 * KIB)   /* read the socket again below this */
#define RATE_GRACE_MS 5000      /* a body's rate counts from then on */
#define IMPORT_DEADLINE_X 60    /* an import's deadline, in body deadlines */
#define QUEUE_TICK_MS 250       /* how often waiting requests are checked */
#define LIMIT_KEYS 65536        /* addresses each per-address limit tracks */
#define LOOP_CACHE_MS 1000      /* /health and the like: answers this fresh */
#define LOOP_OPS 4
#define JSONL_TYPE "application/x-ndjson; charset=utf-8"
/* The notification WebSocket (see "WebSocket" below and vc-serve(1)). */
#define WS_PATH "/api/notifications/ws"
#define WS_AUTH_MS 5000         /* the first message, a token, by then */
#define WS_MSG_MAX (64 * KIB)   /* a client's message (1009 beyond) */
#define WS_QUEUE_MAX (256 * KIB) /* unsent bytes; a slower reader is dropped */
#define WS_PING_MS 20000        /* a ping this often; no pong by the next: dropped */
#define WS_RECHECK_MS 30000     /* the token and its user checked again */
#define WS_POLL_MS 10           /* PRAGMA data_version this often (a read of
                                 * a counter in shared memory: ~1 us) */
#define WS_BATCH 100            /* notifications a client catching up gets a poll */
#define WS_FAN 500              /* new notifications read a poll, for everyone */
#define WS_SLOW_MS 2000         /* queue over half full this long, with more
                                 * due: a slow reader, dropped */
#define WS_REPLAY_MAX 1000      /* at most this many for a "since" */
#define AUTH_FAIL_MSG "authentication required"

/* The statuses vc-serve itself produces, with their JSON error names. */
static const struct {
	int code;
	const char *text;
	const char *name;
} statustab[] = {
	{ 100, "Continue", NULL },
	{ 200, "OK", NULL },
	{ 201, "Created", NULL },
	{ 202, "Accepted", NULL },
	{ 204, "No Content", NULL },
	{ 400, "Bad Request", "bad_request" },
	{ 401, "Unauthorized", "unauthenticated" },
	{ 403, "Forbidden", "forbidden" },
	{ 404, "Not Found", "not_found" },
	{ 405, "Method Not Allowed", "method_not_allowed" },
	{ 408, "Request Timeout", "timeout" },
	{ 409, "Conflict", "conflict" },
	{ 411, "Length Required", "length_required" },
	{ 413, "Content Too Large", "too_large" },
	{ 414, "URI Too Long", "uri_too_long" },
	{ 415, "Unsupported Media Type", "unsupported_media_type" },
	{ 417, "Expectation Failed", "expectation_failed" },
	{ 426, "Upgrade Required", "upgrade_required" },
	{ 422, "Unprocessable Content", "invalid" },
	{ 429, "Too Many Requests", "rate_limited" },
	{ 431, "Request Header Fields Too Large", "headers_too_large" },
	{ 500, "Internal Server Error", "internal" },
	{ 501, "Not Implemented", "not_implemented" },
	{ 502, "Bad Gateway", "unavailable" },
	{ 503, "Service Unavailable", "busy" },
	{ 505, "HTTP Version Not Supported", "version_not_supported" },
};

static const char *
status_text(int code)
{
	for (size_t i = 0; i < sizeof statustab / sizeof statustab[0]; i++)
		if (statustab[i].code == code)
			return statustab[i].text;
	return "Unknown";
}

static const char *
status_name(int code)
{
	for (size_t i = 0; i < sizeof statustab / sizeof statustab[0]; i++)
		if (statustab[i].code == code && statustab[i].name != NULL)
			return statustab[i].name;
	return "error";
}

/* ---- small helpers ---------------------------------------------------- */

/* A growing byte buffer; oom sticks so callers check once at the end. */
struct sb {
	char *p;
	size_t len, cap;
	int oom;
};

static void
sb_add(struct sb *b, const void *s, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return;
	if (__builtin_add_overflow(b->len, n + 1, &need)) {
		b->oom = 1;
		return;
	}
	if (need > b->cap) {
		cap = b->cap ? b->cap : 512;
		while (cap < need)
			if (__builtin_mul_overflow(cap, 2, &cap)) {
				b->oom = 1;
				return;
			}
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_fmt(struct sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Short formatted pieces only (header lines): longer ones fail the build
 * of the whole response rather than emit a cut header. */
static void
sb_fmt(struct sb *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->oom = 1;
		return;
	}
	sb_add(b, tmp, (size_t)n);
}

static void
sb_wipe(struct sb *b)
{
	vc_serve_wipe_free(b->p, b->cap);
	memset(b, 0, sizeof *b);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- server state ------------------------------------------------------ */

enum { CS_HEAD = 0, CS_BODY, CS_WAIT, CS_WRITE, CS_LINGER, CS_WS };
enum { J_QUEUED = 0, J_RUNNING, J_DONE };

struct vc_serve;
struct job;

/* A WebSocket connection's own state (CS_WS); lws thread only. */
struct wsconn {
	int authed, closing;
	struct vc_principal who;
	char *token;            /* kept to check again; wiped */
	size_t token_cap;
	int64_t exp;            /* the token's expiry, s since the epoch */
	int64_t t_auth;         /* ms: authenticated by then, or closed */
	int64_t t_ping, t_pong, t_check;
	int64_t cursor;         /* the last notification id sent */
	int more;               /* more may be due than the last poll sent */
	int64_t t_full;         /* ms since when the queue is over half full */
	unsigned char *msg;     /* a fragmented message being put together */
	size_t msg_len;
	int msg_op;
};

/* One TCP connection: the lws per-session data, zeroed by lws. */
struct conn {
	struct vc_serve *srv;
	struct lws *wsi;
	struct conn *prev, *next;
	int linked, counted;
	int state;
	unsigned nreq;          /* requests answered on this connection */
	char ip[64];

	char *in;               /* received, not yet consumed */
	size_t in_len, in_cap;
	size_t scan;            /* no end of head before this offset */
	size_t checked;         /* no bare CR/LF or NUL before this offset */

	/* The request in progress. */
	int started;            /* first byte of it has arrived */
	int64_t t0;
	char rid[33];
	char *head;             /* copy of the head; req points into it */
	size_t head_len;
	int parsed;
	struct vc_serve_req req;
	char *body;
	size_t body_len, body_cap;
	struct vc_serve_chunked chunk;
	int close;              /* close once the response is out */
	int head_only;          /* HEAD request: no body in the reply */
	struct job *job;        /* not owned: see the file comment */
	int input;              /* the body goes to job as it arrives */
	int ipaused;            /* not reading: the job's input is full */
	uint64_t itotal;        /* body bytes received (input) */
	int64_t b0;             /* the body began to arrive (CS_BODY) */
	int64_t bpause, p0;     /* ms it was not read (the worker was slow) */
	uint64_t braw;          /* body bytes as they came, framing included */
	int streaming;          /* a JSON Lines response is going out */
	int schunked;           /* ... in chunks (HTTP/1.1) */
	size_t sbytes;          /* ... of this many bytes so far */

	struct sb out;          /* response bytes, LWS_PRE headroom first */
	size_t out_off;
	struct wsconn *ws;      /* CS_WS only */
};

struct job {
	struct job *next, *prev;        /* prev: in a queue only */
	struct conn *conn;      /* lws thread only */
	struct vc_serve *srv;
	int where;              /* J_*, under srv->mu */
	int64_t tq;             /* when it was queued */
	int streamed;           /* in the stream queue (stream or input) */
	int sslot;              /* holds one of srv->smax: under srv->mu */
	char ukey[80];          /* counted in srv->users: under srv->mu */

	/*
	 * Streams, under srv->mu.  oq: JSON Lines the worker made and the
	 * loop has not taken yet (from ooff); iq: body bytes the loop
	 * received and the worker has not read yet (from ioff).  owant and
	 * iwant say the loop waits for the worker: the worker then puts the
	 * job on srv's ready list (ready, rnext) and wakes the loop.
	 */
	int stream;             /* answer in JSON Lines (set before submit) */
	int input;              /* read the body from iq (set before submit) */
	int gone;               /* the connection went away */
	int ready;
	struct job *rnext;
	struct sb oq;
	size_t ooff;
	int owant;
	long olines;            /* worker only */
	int sresp;              /* worker, read when done: the answer is oq */
	int oerr;               /* ... and ends in an error line: cut it */
	struct sb iq;
	size_t ioff;
	int ieof, iabort, iwant;

	char method[16];
	char *path, *query, *auth;
	char *body;
	size_t body_len, body_cap;
	char content_type[128];
	char ip[64];
	char ua[513];
	char rid[33];

	int status;
	char extra[128];        /* extra header lines */
	int file;               /* the answer is a file (VC_OP_FILE, streamed) */
	char octype[128];       /* ... of this type (set by the worker) */
	char odisp[256];        /* ... and Content-Disposition header line */
	char *resp;
	size_t resp_len;
};

struct worker {
	struct vc_serve *srv;
	pthread_t th;
	int started;
	vc_ctx ctx;
};

struct ipent {
	struct ipent *next;
	int n;
	char ip[64];
};

struct jobq {
	struct job *head, *tail;
};

/* The streams one user runs: at most srv->smax of these are in use. */
struct ucount {
	char key[80];
	int n;
};

/* An answer of the loop's own (VC_OP_LOOP), kept LOOP_CACHE_MS. */
struct lcache {
	const struct vc_op *op;
	int64_t t;
	int status;
	char *body;
	size_t len;
};

struct vc_serve {
	struct vc_serve_config cfg;
	struct lws_protocols protocols[2];
	struct lws_context *lws;
	struct lws_vhost *vh;
	struct lws *lwsi;       /* the listening socket, adopted as a file */
	int lfd;
	char url[128];

	pthread_mutex_t mu;     /* queue, done and ready lists, wstop,
	                         * job->where, the streams of jobs */
	pthread_cond_t cv;
	pthread_cond_t scv;     /* a stream moved: workers waiting on one */
	/* q: requests waiting for a worker; sq: streamed ones (JSON Lines
	 * answers and imports), which hold a worker as long as the client
	 * takes: at most smax of them run at once, so that a worker is
	 * always left for the rest, and a user runs at most
	 * cfg.max_streams (users[], smax entries). */
	struct jobq q, sq;
	struct job *dhead, *dtail, *rhead, *rtail;
	int qlen, qmax, wstop, sactive, smax;
	/* The pool: workers are many (they wait on peers) but at most amax
	 * of them compute at once; `running` counts those holding a job and
	 * not waiting on a peer (vc_wait_begin, a stream's client). */
	int running, amax;
	struct ucount *users;
	struct worker *workers;
	int nworkers;

	/* The event loop's own: per-address limits, the store connection
	 * that /health reads, answers it keeps for a moment. */
	struct vc_limit *lim_auth, *lim_signup;
	vc_ctx lctx;
	int lctx_open;
	struct lcache lcache[LOOP_OPS];
	lws_sorted_usec_list_t qtick;
	lws_sorted_usec_list_t atick;   /* audit anchors */
	uint64_t rid_base, rid_next; /* request ids: random base + count */

	pthread_mutex_t stopmu; /* srv->lws against vc_serve_stop */
	atomic_int stop;
	int stopping, done;
	int64_t deadline;
	lws_sorted_usec_list_t tick;
	lws_sorted_usec_list_t resume;

	struct conn *conns;
	int nconns;
	/* WebSocket clients that authenticated, and the store's data
	 * version the last poll saw (the loop's own connection, lctx). */
	int ws_authed;
	int64_t ws_ver;
	int64_t ws_seen;        /* the newest notification fanned out */
	int ws_more;            /* the last fan-out was a full batch */
	lws_sorted_usec_list_t wtick;
	/* On PostgreSQL the loop does not poll: the listener thread holds a
	 * connection of its own that LISTENs to the notifications' topic and
	 * raises ws_wake (then wakes the loop) when one committed anywhere,
	 * or when it connected again after a loss (what committed meanwhile
	 * told nobody); the loop then reads from ws_seen as ever. */
	int ws_listen;
	atomic_int ws_wake;
	pthread_t nth;
	int nstarted;
	int npipe[2];           /* its stop: a byte written to npipe[1] */
	vc_ctx nctx;            /* its errors; no store */
	int nctx_open;
	char dbpath[4096];
	struct ipent *ipt[IPT_SIZE];

	pthread_mutex_t logmu;

	/* The outbox's delivery thread: its own store connection; woken by
	 * a worker whose request queued mail, else every mail_interval s.
	 * It holds no transaction while it talks to the relay.  It prunes
	 * the event log too (retention_s, at start and every prune_s), in
	 * short transactions, off the event loop. */
	pthread_t mth;
	int mstarted, mstop, mkick;
	volatile sig_atomic_t prune_stop;   /* cuts a prune short at stop */
	pthread_mutex_t mmu;
	pthread_cond_t mcv;
	vc_ctx mctx;
	int mctx_open;

	/* The playbook scheduler: every playbook_interval s, the event and
	 * cron triggers of every tenant (vc_pb_due_all), on its own store
	 * connection; cron's `vc-playbook due --run` may run beside it (a
	 * lease and idempotency keys keep either from running one twice). */
	pthread_t pth;
	int pstarted, pstop;
	pthread_mutex_t pmu;
	pthread_cond_t pcv;
	vc_ctx pctx;
	int pctx_open;
	/* The report thread: renders reports asked for over HTTP, as their
	 * requesters, with its own store connection; looks for pending ones
	 * every REPORT_POLL_MS.  It holds no transaction while it renders. */
	pthread_t rth;
	int rstarted, rstop;
	pthread_mutex_t rmu;
	pthread_cond_t rcv;
	vc_ctx rctx;
	int rctx_open;
	/* The channels' forwarder: every tenant's channels (but files),
	 * as vc-notify forward delivers them, on its own store connection;
	 * it looks at the store's data_version every forward_interval s and
	 * makes a pass when another connection committed (or a failed
	 * channel's retry is due).  It claims a channel before delivering,
	 * so a vc-notify forward from cron may run beside it (channels.h).
	 * fwd_stop (written and read atomically) cuts a delivery short. */
	pthread_t fth;
	int fstarted, fstop;
	volatile sig_atomic_t fwd_stop;
	pthread_mutex_t fmu;
	pthread_cond_t fcv;
	vc_ctx fctx;
	int fctx_open;
};

/* lws logs through one global hook; vc-serve runs one server a process. */
static struct vc_serve *log_srv;

static void srv_log(struct vc_serve *srv, int kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One line to cfg->log, control characters made harmless so a request
 * can never forge a log line. */
static void
srv_log(struct vc_serve *srv, int kind, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (srv->cfg.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	for (char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	pthread_mutex_lock(&srv->logmu);
	srv->cfg.log(srv->cfg.log_arg, kind, line);
	pthread_mutex_unlock(&srv->logmu);
}

static void
lws_log_hook(int level, const char *line)
{
	char buf[512];
	size_t n;

	(void)level;
	if (log_srv == NULL)
		return;
	snprintf(buf, sizeof buf, "%s", line);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	srv_log(log_srv, VC_SERVE_LOG_ERROR, "lws: %s", buf);
}

/* ---- per-IP connection counts (lws thread) ------------------------------ */

static unsigned
ip_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % IPT_SIZE;
}

/* Count one more connection from ip; the new count, or -1 without memory. */
static int
ip_inc(struct vc_serve *srv, const char *ip)
{
	struct ipent **pp = &srv->ipt[ip_hash(ip)], *e;

	for (e = *pp; e != NULL; e = e->next)
		if (strcmp(e->ip, ip) == 0)
			return ++e->n;
	if ((e = calloc(1, sizeof *e)) == NULL)
		return -1;
	snprintf(e->ip, sizeof e->ip, "%s", ip);
	e->n = 1;
	e->next = *pp;
	*pp = e;
	return 1;
}

static void
ip_dec(struct vc_serve *srv, const char *ip)
{
	struct ipent **pp = &srv->ipt[ip_hash(ip)], *e;

	for (; (e = *pp) != NULL; pp = &e->next)
		if (strcmp(e->ip, ip) == 0) {
			if (--e->n == 0) {
				*pp = e->next;
				free(e);
			}
			return;
		}
}

/* ---- responses --------------------------------------------------------- */

static int
origin_allowed(const struct vc_serve *srv, const char *origin)
{
	if (origin == NULL)
		return 0;
	for (int i = 0; i < srv->cfg.ncors; i++)
		if (strcmp(origin, srv->cfg.cors[i]) == 0)
			return 1;
	return 0;
}

/* A JSON error body, {"error": name, "message": msg}; NULL without memory. */
static char *
error_json(const char *name, const char *msg, size_t *len)
{
	jv o = jv_object_set(jv_object(), jv_string("error"), jv_string(name));
	jv s;
	char *r;

	o = jv_object_set(o, jv_string("message"), jv_string(msg));
	s = jv_dump_string(o, 0);
	*len = (size_t)jv_string_length_bytes(jv_copy(s));
	if ((r = malloc(*len + 1)) != NULL)
		memcpy(r, jv_string_value(s), *len + 1);
	jv_free(s);
	return r;
}

/*
 * Append a response head to b: Content-Length clen unless it is -1, else
 * chunked or (HTTP/1.0) up to the close.  Every response carries the
 * same security headers; CORS headers only for an exactly allowed origin.
 */
static void
build_head(const struct vc_serve *srv, struct sb *b, int status,
    const char *rid, const char *origin, int close, const char *extra,
    const char *ctype, int64_t clen, int chunked)
{
	/* The Date header changes once a second: format it then. */
	static _Thread_local char date[64];
	static _Thread_local time_t dated;
	time_t now = time(NULL);

	if (now != dated) {
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		dated = now;
	}
	sb_fmt(b, "HTTP/1.1 %d %s\r\n", status, status_text(status));
	sb_fmt(b, "Date: %s\r\n", date);
	sb_fmt(b, "Content-Type: %s\r\n", ctype);
	if (clen >= 0)
		sb_fmt(b, "Content-Length: %lld\r\n", (long long)clen);
	else if (chunked)
		sb_str(b, "Transfer-Encoding: chunked\r\n");
	sb_str(b, "X-Content-Type-Options: nosniff\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Cache-Control: no-store\r\n");
	sb_fmt(b, "X-Request-Id: %s\r\n", rid);
	if (origin_allowed(srv, origin)) {
		sb_fmt(b, "Access-Control-Allow-Origin: %s\r\n", origin);
		sb_str(b, "Access-Control-Expose-Headers: X-Request-Id, Retry-After\r\n");
	}
	/* The answer depends on Origin whenever CORS is on at all. */
	if (srv->cfg.ncors > 0)
		sb_str(b, "Vary: Origin\r\n");
	if (status == 401)
		sb_str(b, "WWW-Authenticate: Bearer\r\n");
	if (extra != NULL)
		sb_str(b, extra);
	if (close)
		sb_str(b, "Connection: close\r\n");
	sb_str(b, "\r\n");
}

/* Append a whole response with a JSON body to b. */
static void
build_response(const struct vc_serve *srv, struct sb *b, int status,
    const char *rid, const char *origin, int close, const char *extra,
    const char *body, size_t blen, int head_only)
{
	build_head(srv, b, status, rid, origin, close, extra,
	    "application/json; charset=utf-8",
	    status != 204 && status >= 200 ? (int64_t)blen : -1, 0);
	if (!head_only && status != 204 && body != NULL)
		sb_add(b, body, blen);
}

static void
log_escape(char *dst, size_t n, const char *s)
{
	size_t o = 0;

	if (s == NULL || *s == '\0')
		s = "-";
	for (; *s != '\0' && o + 4 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || c == '%' || c == '"') {
			snprintf(dst + o, n - o, "%%%02X", c);
			o += 3;
		} else
			dst[o++] = (char)c;
	}
	dst[o] = '\0';
}

static void
access_log(struct conn *c, int status, size_t bytes)
{
	char ts[40], path[300];

	vc_time_fmt_ms(vc_now_ms(NULL), ts, sizeof ts);
	log_escape(path, sizeof path, c->parsed ? c->req.path : NULL);
	srv_log(c->srv, VC_SERVE_LOG_ACCESS, "%s %s %s %s %s %d %zu %lldms",
	    ts, c->rid, c->ip, c->parsed ? c->req.method : "-", path, status,
	    bytes, (long long)(mono_ms() - c->t0));
}

/*
 * A request id: 64 random bits drawn at start, then a count, as 32 hex
 * digits.  Ids only need to be unique (they tie the access log, errors
 * and audit records together); a getrandom() call per request was a
 * measurable part of answering /health.  Only the loop thread counts.
 */
static void
new_request_id(struct vc_serve *srv, char *rid)
{
	snprintf(rid, 33, "%016llx%016llx", (unsigned long long)srv->rid_base,
	    (unsigned long long)++srv->rid_next);
}

static void
conn_timeout(struct conn *c, int secs)
{
	if (secs > 0)
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, secs);
	else
		lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
}

/* Mark the start of a request (its first byte, or an error before one). */
static void
request_start(struct conn *c)
{
	if (c->started)
		return;
	c->started = 1;
	c->t0 = mono_ms();
	new_request_id(c->srv, c->rid);
}

/* Start an empty output buffer: lws_write wants LWS_PRE bytes of
 * headroom before the data it sends. */
static void
out_begin(struct conn *c)
{
	char pre[LWS_PRE];

	if (c->out.len > 0)
		return;         /* a "100 Continue" still going out */
	memset(pre, 0, sizeof pre);
	sb_add(&c->out, pre, sizeof pre);
	c->out_off = LWS_PRE;
}

/* Queue the final response of the current request and stop reading. */
static void
respond(struct conn *c, int status, const char *body, size_t blen, const char *extra)
{
	struct vc_serve *srv = c->srv;

	request_start(c);
	if (srv->stopping)
		c->close = 1;
	out_begin(c);
	build_response(srv, &c->out, status, c->rid, c->parsed ? c->req.origin : NULL,
	    c->close, extra, body, blen, c->head_only);
	if (c->out.oom) {
		/* Nothing sane can be sent: drop the connection. */
		c->close = 1;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		return;
	}
	access_log(c, status, c->head_only ? 0 : blen);
	c->state = CS_WRITE;
	lws_rx_flow_control(c->wsi, 0);
	conn_timeout(c, srv->cfg.write_timeout);
	lws_callback_on_writable(c->wsi);
}

static void
respond_error(struct conn *c, int status, const char *msg, const char *extra)
{
	size_t len = 0;
	char *body = error_json(status_name(status), msg, &len);

	respond(c, status, body, len, extra);
	free(body);
}

/* "GET, POST, OPTIONS" for path into buf, "" when no method routes there. */
static void
allow_list(const char *path, char *buf, size_t n)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		jv pa = jv_object();
		int ok = 0;

		if (vc_op_route(methods[i], path, &pa, &ok) != NULL) {
			int w = snprintf(buf + o, n - o, "%s%s", o ? ", " : "", methods[i]);

			if (w > 0 && (size_t)w < n - o)
				o += (size_t)w;
		}
		jv_free(pa);
	}
	if (o > 0)
		snprintf(buf + o, n - o, ", OPTIONS");
}

/* ---- jobs and workers -------------------------------------------------- */

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->path);
	free(j->query);
	if (j->auth != NULL)
		vc_serve_wipe_free(j->auth, strlen(j->auth));
	vc_serve_wipe_free(j->body, j->body_cap);
	vc_serve_wipe_free(j->resp, j->resp_len);
	sb_wipe(&j->oq);
	sb_wipe(&j->iq);
	sodium_memzero(j, sizeof *j);
	free(j);
}

/* Copy what a worker needs out of the connection (which it never sees). */
static struct job *
job_new(struct conn *c)
{
	struct job *j = calloc(1, sizeof *j);
	const char *ua = c->req.user_agent ? c->req.user_agent : "";
	size_t i;

	if (j == NULL)
		return NULL;
	snprintf(j->method, sizeof j->method, "%s", c->req.method);
	j->path = strdup(c->req.path);
	j->query = c->req.query ? strdup(c->req.query) : NULL;
	j->auth = c->req.authorization ? strdup(c->req.authorization) : NULL;
	if (j->path == NULL || (c->req.query && j->query == NULL) ||
	    (c->req.authorization && j->auth == NULL)) {
		job_free(j);
		return NULL;
	}
	snprintf(j->content_type, sizeof j->content_type, "%s",
	    c->req.content_type ? c->req.content_type : "");
	snprintf(j->ip, sizeof j->ip, "%s", c->ip);
	snprintf(j->rid, sizeof j->rid, "%s", c->rid);
	/* The audit log keeps at most 512 bytes, printable. */
	for (i = 0; i < sizeof j->ua - 1 && ua[i] != '\0'; i++)
		j->ua[i] = ((unsigned char)ua[i] < 0x20 || ua[i] == 0x7f) ? '?' : ua[i];
	j->ua[i] = '\0';
	if (u8_check((const uint8_t *)j->ua, i) != NULL)
		for (char *p = j->ua; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	/* The body moves, it is not copied. */
	j->body = c->body;
	j->body_len = c->body_len;
	j->body_cap = c->body_cap;
	c->body = NULL;
	c->body_len = c->body_cap = 0;
	j->conn = c;
	j->srv = c->srv;
	j->stream = c->req.accept_jsonl;
	{
		/* A file (a report's download) streams, whatever Accept says. */
		jv pa = jv_object();
		int mok = 0;
		const struct vc_op *fop = vc_op_route(j->method, j->path, &pa, &mok);
		jv_free(pa);
		if (fop != NULL && (fop->flags & VC_OP_FILE))
			j->stream = j->file = 1;
	}
	j->owant = 1;
	return j;
}

static void
job_set_body(struct job *j, jv v)
{
	if ((j->resp = vc_json_dump(v, &j->resp_len)) == NULL)
		j->status = 500;
}

static void
job_fail(struct job *j, int status, const char *name, const char *msg)
{
	jv o = jv_object_set(jv_object(), jv_string("error"),
	    jv_string(name ? name : status_name(status)));

	j->status = status;
	o = jv_object_set(o, jv_string("message"), jv_string(msg ? msg : status_name(status)));
	job_set_body(j, o);
}

/* The message a client may see for rc (500s are logged, not shown; not
 * when the client went away, which is what failed the operation then). */
static const char *
error_message(struct worker *w, struct job *j, const char *opname, int rc)
{
	vc_ctx *ctx = &w->ctx;
	int gone;

	pthread_mutex_lock(&w->srv->mu);
	gone = j->gone;
	pthread_mutex_unlock(&w->srv->mu);
	if (vc_err_http(rc) == 500 && gone)
		return "internal error";
	if (vc_err_http(rc) == 500) {
		/* The real message may hold SQL or paths: log it, don't send it. */
		srv_log(w->srv, VC_SERVE_LOG_ERROR, "request %s: %s: %s", j->rid,
		    opname, ctx->errmsg[0] ? ctx->errmsg : vc_err_name(rc));
		return "internal error";
	}
	/* An unreachable peer: the caller gets the short answer, the log why. */
	if (vc_err_http(rc) == 502 && ctx->audit_reason[0])
		srv_log(w->srv, VC_SERVE_LOG_ERROR, "request %s: %s: %s", j->rid, opname,
		    ctx->audit_reason);
	return ctx->errmsg[0] != '\0' ? ctx->errmsg : vc_err_name(rc);
}

/* The failure of an operation or of authentication, as HTTP. */
static void
job_error(struct worker *w, struct job *j, const char *opname, int rc)
{
	const char *msg = error_message(w, j, opname, rc);

	/* The operation knows how long (a login throttle does); else a guess. */
	int after = w->ctx.retry_after > 0 ? w->ctx.retry_after : rc == VC_ERATE ? 60 : 1;

	if (rc == VC_ETEMP || rc == VC_ERATE)
		snprintf(j->extra, sizeof j->extra, "Retry-After: %d\r\n", after);
	job_fail(j, vc_err_http(rc), vc_err_name(rc), msg);
}

/* ---- streams (worker side) ---------------------------------------------- */

/*
 * A worker stops computing to wait on a peer (under srv->mu): another
 * may take a queued job meanwhile.  It counts itself back in when the
 * wait ends, even above amax: it is in the middle of its job.
 */
static void
pool_leave(struct vc_serve *srv)
{
	srv->running--;
	if (srv->q.head != NULL || srv->sq.head != NULL)
		pthread_cond_signal(&srv->cv);
}

/* The hook of vc_wait_begin/vc_wait_end in a worker. */
static void
pool_wait(void *arg, int waiting)
{
	struct vc_serve *srv = arg;

	pthread_mutex_lock(&srv->mu);
	if (waiting)
		pool_leave(srv);
	else
		srv->running++;
	pthread_mutex_unlock(&srv->mu);
}

/* Put j on the ready list (under srv->mu); 1 when the loop must be woken. */
static int
ready_add(struct vc_serve *srv, struct job *j)
{
	if (j->ready)
		return 0;
	j->ready = 1;
	j->rnext = NULL;
	if (srv->rtail != NULL)
		srv->rtail->rnext = j;
	else
		srv->rhead = j;
	srv->rtail = j;
	return 1;
}

/*
 * Queue one JSON Lines record (n bytes of JSON, a newline added).  Waits
 * while the queue holds STREAM_MAX bytes (a longer line goes alone).
 * Returns nonzero when the reader is gone: the operation should stop.
 */
static int
stream_push_n(struct job *j, const char *s, size_t n, int nl)
{
	struct vc_serve *srv = j->srv;
	int wake = 0, rc = 0, oom = 0;

	pthread_mutex_lock(&srv->mu);
#define OUT_FULL (!j->gone && !srv->wstop && j->oq.len > j->ooff && \
	    j->oq.len - j->ooff + n + 1 > STREAM_MAX)
	if (OUT_FULL) {
		pool_leave(srv);
		while (OUT_FULL)
			pthread_cond_wait(&srv->scv, &srv->mu);
		srv->running++;
	}
#undef OUT_FULL
	if (j->gone || srv->wstop || j->oq.oom)
		rc = 1;
	else {
		/* Reuse the front the loop has taken rather than grow. */
		if (j->ooff > 0 && (j->ooff == j->oq.len || j->ooff >= j->oq.cap / 2)) {
			memmove(j->oq.p, j->oq.p + j->ooff, j->oq.len - j->ooff);
			j->oq.len -= j->ooff;
			j->ooff = 0;
		}
		sb_add(&j->oq, s, n);
		if (nl)
			sb_add(&j->oq, "\n", 1);
		if (j->oq.oom) {
			/* What was queued stays valid; the stream ends cut. */
			j->oerr = 1;
			rc = oom = 1;
		} else {
			j->olines++;
			if (j->owant) {
				j->owant = 0;
				wake = ready_add(srv, j);
			}
		}
	}
	pthread_mutex_unlock(&srv->mu);
	if (wake)
		lws_cancel_service(srv->lws);
	if (oom)
		srv_log(srv, VC_SERVE_LOG_ERROR, "request %s: out of memory streaming", j->rid);
	return rc;
}

static int
stream_push(struct job *j, const char *s, size_t n)
{
	return stream_push_n(j, s, n, 1);
}

/*
 * The answer of a VC_OP_FILE operation: out (consumed) names the file,
 * its type and name; its bytes go out as the stream, a piece at a time
 * (the stream's bound applies: memory stays flat however large).
 */
static void
file_send(struct worker *w, struct job *j, const char *opname, jv out)
{
	struct vc_serve *srv = w->srv;
	const char *path = vc_arg_str(out, "file"), *ct = vc_arg_str(out, "content_type"),
	    *fn = vc_arg_str(out, "filename");
	FILE *f = path ? fopen(path, "rb") : NULL;
	char buf[64 * 1024];
	size_t n;

	if (f == NULL || ct == NULL) {
		if (f)
			fclose(f);
		jv_free(out);
		vc_fail(&w->ctx, VC_ENOTFOUND, "the report's file is gone");
		job_error(w, j, opname, VC_ENOTFOUND);
		return;
	}
	pthread_mutex_lock(&srv->mu);
	snprintf(j->octype, sizeof j->octype, "%s", ct);
	snprintf(j->odisp, sizeof j->odisp, "Content-Disposition: attachment; filename=\"%.150s\"\r\n",
	    fn ? fn : "report");
	pthread_mutex_unlock(&srv->mu);
	jv_free(out);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		if (stream_push_n(j, buf, n, 0) != 0)
			break;
	if (ferror(f))
		j->oerr = 1;
	fclose(f);
	j->sresp = 1;
}

/* Queue a value (consumed) as one line. */
static int
stream_push_jv(struct job *j, jv v)
{
	size_t n = 0;
	char *s = vc_json_dump(v, &n);
	int rc = s != NULL ? stream_push(j, s, n) : 1;

	free(s);
	return rc;
}

/* ctx->emit, ctx->emit_raw and ctx->report of a streamed request. */
static int
stream_emit(vc_ctx *ctx, jv rec, void *arg)
{
	(void)ctx;
	return stream_push_jv(arg, rec);
}

static int
stream_emit_raw(vc_ctx *ctx, const char *json, size_t n, void *arg)
{
	(void)ctx;
	return stream_push(arg, json, n);
}

static void
stream_report(vc_ctx *ctx, const char *msg, void *arg)
{
	(void)ctx;
	(void)stream_push_jv(arg, jv_object_set(jv_object(), jv_string("warning"),
	    jv_string(msg)));
}

/*
 * The end of a streamed request: the operation's output as lines, or its
 * error.  An error before the first line is an ordinary error response;
 * after it, 200 is out already, so the last line is the error and the
 * stream is cut (no last chunk) for the client to notice.
 */
static void
stream_end(struct worker *w, struct job *j, const char *opname, int rc, jv out)
{
	if (rc != VC_EOK) {
		const char *msg;

		jv_free(out);
		if (j->olines == 0 && !j->oerr) {
			job_error(w, j, opname, rc);
			return;
		}
		msg = error_message(w, j, opname, rc);
		(void)stream_push_jv(j, jv_object_set(jv_object_set(jv_object(),
		    jv_string("error"), jv_string(vc_err_name(rc))),
		    jv_string("message"), jv_string(msg)));
		j->oerr = 1;
		j->sresp = 1;
		return;
	}
	switch (jv_get_kind(out)) {
	case JV_KIND_ARRAY: {
		/* A handler that collects rather than emits: one line each. */
		int n = jv_array_length(jv_copy(out));

		for (int i = 0; i < n; i++)
			if (stream_push_jv(j, jv_array_get(jv_copy(out), i)) != 0)
				break;
		jv_free(out);
		break;
	}
	case JV_KIND_OBJECT:
		(void)stream_push_jv(j, out);
		break;
	case JV_KIND_INVALID:
	case JV_KIND_NULL:
		jv_free(out);
		break;
	default:
		(void)stream_push_jv(j, jv_object_set(jv_object(), jv_string("result"), out));
		break;
	}
	j->sresp = 1;
}

/*
 * fopencookie read function over the job's input queue: waits for bytes,
 * 0 at the end of the body, -1 (ECONNABORTED) when the body will never
 * be complete (the client went away, it was too large, the server stops).
 */
static ssize_t
body_read(void *cookie, char *buf, size_t size)
{
	struct job *j = cookie;
	struct vc_serve *srv = j->srv;
	size_t n;
	int wake = 0;

	pthread_mutex_lock(&srv->mu);
#define IN_EMPTY (j->iq.len == j->ioff && !j->ieof && !j->iabort && !srv->wstop)
	if (IN_EMPTY) {
		pool_leave(srv);
		while (IN_EMPTY)
			pthread_cond_wait(&srv->scv, &srv->mu);
		srv->running++;
	}
#undef IN_EMPTY
	if (j->iabort || srv->wstop || (j->iq.len == j->ioff && !j->ieof)) {
		pthread_mutex_unlock(&srv->mu);
		errno = ECONNABORTED;
		return -1;
	}
	if ((n = j->iq.len - j->ioff) == 0) {
		pthread_mutex_unlock(&srv->mu);
		return 0;       /* the end of the body */
	}
	if (n > size)
		n = size;
	memcpy(buf, j->iq.p + j->ioff, n);
	j->ioff += n;
	if (j->ioff == j->iq.len)
		j->ioff = j->iq.len = 0;
	if (j->iwant && j->iq.len - j->ioff <= INPUT_LOW) {
		j->iwant = 0;
		wake = ready_add(srv, j);
	}
	pthread_mutex_unlock(&srv->mu);
	if (wake)
		lws_cancel_service(srv->lws);
	return (ssize_t)n;
}

static const struct vc_param *
op_param(const struct vc_op *op, const char *name)
{
	if (op->params == NULL)
		return NULL;
	for (const struct vc_param *p = op->params; p->name != NULL; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/*
 * Merge add (consumed) into *args.  Each argument comes from one place:
 * a name already present (a path part, the query) is refused, so a body
 * can never override the {id} the route matched.  Types, unknown and
 * CLI-only fields are vc_op_call's business (one rule, one place).
 */
static int
args_merge(jv *args, jv add, const struct vc_op *op, int in_url, char *why, size_t whylen)
{
	int it, rc = 0;

	for (it = jv_object_iter(add); rc == 0 && jv_object_iter_valid(add, it);
	    it = jv_object_iter_next(add, it)) {
		jv k = jv_object_iter_key(add, it);
		jv v = jv_object_iter_value(add, it);
		const char *name = jv_string_value(k);
		const struct vc_param *p = op_param(op, name);

		if (jv_object_has(jv_copy(*args), jv_copy(k))) {
			vc_serve_why(why, whylen, "'%.64s' given twice", name);
			rc = -1;
		} else if (p != NULL && in_url && (p->flags & (VC_P_SECRET | VC_P_CREDS))) {
			/* URLs end up in logs and browser history: no password, no token. */
			vc_serve_why(why, whylen, "'%.64s' must be sent in the request body", name);
			rc = -1;
		}
		if (rc == 0)
			*args = jv_object_set(*args, k, v);
		else {
			jv_free(k);
			jv_free(v);
		}
	}
	jv_free(add);
	return rc;
}

/* Any string (key or value) with a NUL byte, which C callers would cut? */
static int
jv_has_nul(jv v)
{
	int r = 0;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		r = strlen(jv_string_value(v)) != (size_t)jv_string_length_bytes(jv_copy(v));
		break;
	case JV_KIND_ARRAY:
		for (int i = 0, n = jv_array_length(jv_copy(v)); !r && i < n; i++) {
			jv e = jv_array_get(jv_copy(v), i);

			r = jv_has_nul(e);
			jv_free(e);
		}
		break;
	case JV_KIND_OBJECT:
		for (int it = jv_object_iter(v); !r && jv_object_iter_valid(v, it);
		    it = jv_object_iter_next(v, it)) {
			jv k = jv_object_iter_key(v, it), e = jv_object_iter_value(v, it);

			r = jv_has_nul(k) || jv_has_nul(e);
			jv_free(k);
			jv_free(e);
		}
		break;
	default:
		break;
	}
	return r;
}

/* The body's arguments into *args; 0 or an HTTP status with why. */
static int
body_args(struct vc_serve *srv, struct job *j, const struct vc_op *op, jv *args,
    char *why, size_t whylen)
{
	char buf[128], *mt, *semi, *cs = NULL;

	snprintf(buf, sizeof buf, "%s", j->content_type);
	if ((semi = strchr(buf, ';')) != NULL) {
		*semi = '\0';
		cs = strcasestr(semi + 1, "charset=");
	}
	mt = vc_serve_trim_ows(buf);
	if (strcasecmp(mt, "application/json") == 0) {
		jv v;

		if (cs != NULL && strncasecmp(cs + 8, "utf-8", 5) != 0 &&
		    strncasecmp(cs + 8, "\"utf-8\"", 7) != 0) {
			vc_serve_why(why, whylen, "JSON must be UTF-8");
			return 415;
		}
		if (u8_check((const uint8_t *)j->body, j->body_len) != NULL) {
			vc_serve_why(why, whylen, "body is not valid UTF-8");
			return 400;
		}
		if (vc_serve_json_depth(j->body, j->body_len) > srv->cfg.max_json_depth) {
			vc_serve_why(why, whylen, "JSON nested deeper than %d", srv->cfg.max_json_depth);
			return 400;
		}
		v = jv_parse_sized(j->body, (int)j->body_len);
		if (!jv_is_valid(v)) {
			jv m = jv_invalid_get_msg(v);

			vc_serve_why(why, whylen, "bad JSON: %.200s",
			    jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "parse error");
			jv_free(m);
			return 400;
		}
		if (jv_get_kind(v) != JV_KIND_OBJECT) {
			jv_free(v);
			vc_serve_why(why, whylen, "body must be a JSON object");
			return 400;
		}
		if (jv_has_nul(v)) {
			jv_free(v);
			vc_serve_why(why, whylen, "NUL character in JSON text");
			return 400;
		}
		return args_merge(args, v, op, 0, why, whylen) ? 400 : 0;
	}
	if (strcasecmp(mt, "application/x-www-form-urlencoded") == 0) {
		jv f = jv_object();

		if (vc_serve_form_decode(j->body, j->body_len, &f, why, whylen) != 0) {
			jv_free(f);
			return 400;
		}
		return args_merge(args, f, op, 0, why, whylen) ? 400 : 0;
	}
	vc_serve_why(why, whylen, "send application/json or application/x-www-form-urlencoded");
	return 415;
}

/*
 * An import (VC_OP_INPUT) reads its records from the body as JSON Lines;
 * its arguments come from the path and the query only.
 */
static int
input_type_ok(const char *content_type, char *why, size_t whylen)
{
	static const char *const types[] = {
		"application/x-ndjson", "application/jsonl", "application/jsonlines",
		"application/x-jsonlines", "application/json",
	};
	char buf[128], *semi, *mt;

	snprintf(buf, sizeof buf, "%s", content_type);
	if ((semi = strchr(buf, ';')) != NULL)
		*semi = '\0';
	mt = vc_serve_trim_ows(buf);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcasecmp(mt, types[i]) == 0)
			return 1;
	vc_serve_why(why, whylen, "send the records as application/x-ndjson (JSON Lines)");
	return 0;
}

/* "Bearer <b64token>" -> the token, else NULL (RFC 6750 2.1). */
static const char *
bearer_token(const char *h)
{
	const char *p, *t;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	for (p = h + 7; *p == ' '; p++)
		;
	for (t = p; *p != '\0' && (isalnum((unsigned char)*p) || strchr("-._~+/", *p) != NULL); p++)
		;
	while (*p == '=')
		p++;
	return p == t || *p != '\0' ? NULL : t;
}

/* Nothing of the last request (principal, audit notes, streams, errors)
 * may leak into the next one on this worker. */
static void
ctx_reset(vc_ctx *ctx, const struct job *j)
{
	vc_ctx_reset(ctx);
	ctx->front = VC_FRONT_HTTP;
	snprintf(ctx->ip, sizeof ctx->ip, "%s", j->ip);
	snprintf(ctx->user_agent, sizeof ctx->user_agent, "%s", j->ua);
	snprintf(ctx->request_id, sizeof ctx->request_id, "%s", j->rid);
}

static int user_claim(struct vc_serve *srv, struct job *j, const char *key);

/* Run one request on a worker: route, authenticate, build args, call. */
static void
job_run(struct worker *w, struct job *j)
{
	vc_ctx *ctx = &w->ctx;
	const struct vc_op *op;
	jv args = jv_object(), out = jv_invalid();
	int method_ok = 0, rc, st;
	const char *cred;
	char why[256];
	struct vc_jsonl input;
	FILE *body = NULL;

	ctx_reset(ctx, j);
	/* A key rotated (or retired) by vc-auth takes effect here at once. */
	if (vc_store_keys_refresh(ctx) != VC_EOK) {
		srv_log(w->srv, VC_SERVE_LOG_ERROR, "key file changed but does not load, "
		    "keeping the keys loaded before: %s", ctx->errmsg);
		ctx_reset(ctx, j);
	}
	op = vc_op_route(j->method, j->path, &args, &method_ok);
	if (op == NULL) {
		/* The lws thread routed it already; only a table change lands here. */
		jv_free(args);
		job_fail(j, 404, NULL, "no such path");
		return;
	}

	cred = bearer_token(j->auth);
	if (!(op->flags & VC_OP_PUBLIC) || cred != NULL) {
		rc = cred != NULL ? vc_authenticate(ctx, cred) : VC_EAUTH;
		if (rc == VC_EPERM)
			rc = VC_EAUTH;  /* a disabled account looks like any other failure */
		if (rc == VC_EAUTH && (op->flags & VC_OP_PUBLIC)) {
			/* A public operation runs anonymously instead. */
			memset(&ctx->who, 0, sizeof ctx->who);
			ctx->err = 0;
			ctx->errmsg[0] = '\0';
		} else if (rc == VC_EAUTH) {
			/* Same bytes whatever went wrong: no oracle. */
			jv_free(args);
			job_fail(j, 401, vc_err_name(VC_EAUTH), AUTH_FAIL_MSG);
			return;
		} else if (rc != VC_EOK) {
			jv_free(args);
			job_error(w, j, "authenticate", rc);
			return;
		}
	}

	/* A stream holds this worker as long as its client takes: a user
	 * gets a few at once, not the whole pool. */
	if (j->streamed) {
		char key[80];

		if (ctx->who.user_id[0] != '\0')
			snprintf(key, sizeof key, "u:%s", ctx->who.user_id);
		else
			snprintf(key, sizeof key, "a:%s", j->ip);
		if (user_claim(w->srv, j, key) != 0) {
			jv_free(args);
			job_fail(j, 429, NULL, "too many streamed requests (imports, JSON Lines "
			    "answers) of yours at once: let one finish first");
			snprintf(j->extra, sizeof j->extra, "Retry-After: 1\r\n");
			return;
		}
	}

	if (j->query != NULL && j->query[0] != '\0') {
		jv q = jv_object();

		if (vc_serve_form_decode(j->query, strlen(j->query), &q, why, sizeof why) != 0) {
			jv_free(q);
			jv_free(args);
			job_fail(j, 400, NULL, why);
			return;
		}
		if (args_merge(&args, q, op, 1, why, sizeof why) != 0) {
			jv_free(args);
			job_fail(j, 400, NULL, why);
			return;
		}
	}
	if (op->flags & VC_OP_INPUT) {
		if ((j->input || j->body_len > 0) &&
		    !input_type_ok(j->content_type, why, sizeof why)) {
			jv_free(args);
			job_fail(j, 415, NULL, why);
			return;
		}
		if (j->input) {
			/* The body as it arrives, never whole in memory. */
			static const cookie_io_functions_t io = { .read = body_read };

			if ((body = fopencookie(j, "r", io)) == NULL) {
				jv_free(args);
				job_fail(j, 500, NULL, "internal error");
				return;
			}
			memset(&input, 0, sizeof input);
			input.f = body;
			input.name = "body";
			input.max = VC_JSONL_MAX;
		} else
			vc_jsonl_mem(&input, "body", j->body ? j->body : "", j->body_len);
		ctx->in = &input;
	} else if (j->body_len > 0 &&
	    (st = body_args(w->srv, j, op, &args, why, sizeof why)) != 0) {
		jv_free(args);
		job_fail(j, st, NULL, why);
		return;
	}

	if (j->stream) {
		ctx->emit = stream_emit;
		ctx->emit_raw = stream_emit_raw;
		ctx->report = stream_report;
		ctx->stream_arg = j;
	} else
		ctx->raw_ok = 1;
	rc = vc_op_call(ctx, op, args, &out);
	if (ctx->in != NULL) {
		vc_jsonl_release(&input);
		ctx->in = NULL;
	}
	if (body != NULL)
		fclose(body);
	/* A handler that left its transaction open must not hand it to the
	 * next request this worker runs. */
	if (ctx->store != NULL && ctx->store->in_tx)
		vc_tx_rollback(ctx);
	if (j->file && rc == VC_EOK && (op->flags & VC_OP_FILE)) {
		file_send(w, j, op->name, out);
		return;
	}
	if (j->stream) {
		stream_end(w, j, op->name, rc, out);
		return;
	}
	if (rc != VC_EOK) {
		jv_free(out);
		job_error(w, j, op->name, rc);
		return;
	}
	if (ctx->raw != NULL) {
		/* A list wrote its answer as text (core/page.h). */
		jv_free(out);
		j->status = 200;
		j->resp = ctx->raw;
		j->resp_len = ctx->raw_len;
		ctx->raw = NULL;
		return;
	}
	switch (jv_get_kind(out)) {
	case JV_KIND_OBJECT:
		break;
	case JV_KIND_ARRAY: {
		int n = jv_array_length(jv_copy(out));

		out = jv_object_set(jv_object_set(jv_object(), jv_string("items"), out),
		    jv_string("count"), jv_number(n));
		break;
	}
	case JV_KIND_INVALID:
	case JV_KIND_NULL:
		jv_free(out);
		out = jv_object();
		break;
	default:
		out = jv_object_set(jv_object(), jv_string("result"), out);
		break;
	}
	j->status = (op->flags & VC_OP_CREATES) ? 201 : (op->flags & VC_OP_ACCEPTED) ? 202 : 200;
	job_set_body(j, out);
	if (j->status == 500)
		job_fail(j, 500, NULL, "internal error");
}

/* ---- the queues (under srv->mu) ---------------------------------------- */

static void
jobq_push(struct jobq *q, struct job *j)
{
	j->next = NULL;
	j->prev = q->tail;
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

static void
jobq_remove(struct jobq *q, struct job *j)
{
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		q->head = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	else
		q->tail = j->prev;
	j->next = j->prev = NULL;
}

/* The job a worker may take next: the older of the two heads, a stream
 * only while fewer than smax run.  NULL when there is none. */
static struct job *
job_pick(struct vc_serve *srv)
{
	struct job *a = srv->q.head;
	struct job *s = srv->sactive < srv->smax ? srv->sq.head : NULL;

	if (s != NULL && (a == NULL || s->tq <= a->tq)) {
		jobq_remove(&srv->sq, s);
		s->sslot = 1;
		srv->sactive++;
		a = s;
	} else if (a != NULL)
		jobq_remove(&srv->q, a);
	if (a != NULL)
		srv->qlen--;
	return a;
}

/* Count a stream of the user the worker authenticated; -1 when the user
 * runs cfg.max_streams already. */
static int
user_claim(struct vc_serve *srv, struct job *j, const char *key)
{
	struct ucount *u, *free_u = NULL;
	int rc = 0;

	pthread_mutex_lock(&srv->mu);
	for (u = srv->users; u < srv->users + srv->smax; u++) {
		if (u->n > 0 && strcmp(u->key, key) == 0)
			break;
		if (u->n == 0 && free_u == NULL)
			free_u = u;
	}
	if (u == srv->users + srv->smax && (u = free_u) != NULL)
		snprintf(u->key, sizeof u->key, "%s", key);
	/* (Each running stream holds at most one entry: one is free.) */
	if (u == NULL || u->n >= srv->cfg.max_streams)
		rc = -1;
	else {
		u->n++;
		snprintf(j->ukey, sizeof j->ukey, "%s", key);
	}
	pthread_mutex_unlock(&srv->mu);
	return rc;
}

/* The job is done: give back its stream slot and its user's count. */
static void
job_release(struct vc_serve *srv, struct job *j)
{
	if (j->ukey[0] != '\0')
		for (struct ucount *u = srv->users; u < srv->users + srv->smax; u++)
			if (u->n > 0 && strcmp(u->key, j->ukey) == 0) {
				u->n--;
				break;
			}
	j->ukey[0] = '\0';
	if (j->sslot) {
		j->sslot = 0;
		srv->sactive--;
		pthread_cond_signal(&srv->cv);  /* a stream may wait for it */
	}
}

/* ---- the report thread --------------------------------------------------- */

#define REPORT_POLL_MS 500

static void *
report_main(void *arg)
{
	struct vc_serve *srv = arg;
	struct timespec until;
	int rc;

	pthread_mutex_lock(&srv->rmu);
	while (!srv->rstop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += REPORT_POLL_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!srv->rstop && pthread_cond_timedwait(&srv->rcv, &srv->rmu, &until) == 0)
			;
		if (srv->rstop)
			break;
		pthread_mutex_unlock(&srv->rmu);
		/* Every pending report, one after another. */
		do {
			vc_ctx_reset(&srv->rctx);
			rc = vc_report_work(&srv->rctx);
			if (rc != 0 && rc != 1)
				srv_log(srv, VC_SERVE_LOG_ERROR, "reports: %s", srv->rctx.errmsg);
		} while (rc == 1 && !srv->rstop);
		pthread_mutex_lock(&srv->rmu);
	}
	pthread_mutex_unlock(&srv->rmu);
	return NULL;
}

/* Stop a helper thread (the report or mail thread) and wait for it. */
static void
thread_stop(pthread_t th, pthread_mutex_t *mu, pthread_cond_t *cv, int *stop, int *started)
{
	if (!*started)
		return;
	pthread_mutex_lock(mu);
	*stop = 1;
	pthread_cond_signal(cv);
	pthread_mutex_unlock(mu);
	pthread_join(th, NULL);
	*started = 0;
}

static void
report_stop(struct vc_serve *srv)
{
	thread_stop(srv->rth, &srv->rmu, &srv->rcv, &srv->rstop, &srv->rstarted);
}

/* ---- the outbox's delivery thread --------------------------------------- */

static void
mail_kick(struct vc_serve *srv)
{
	pthread_mutex_lock(&srv->mmu);
	srv->mkick = 1;
	pthread_cond_signal(&srv->mcv);
	pthread_mutex_unlock(&srv->mmu);
}

/* The retention job: every tenant's old events and notifications. */
static void
prune_now(struct vc_serve *srv)
{
	jv out = jv_invalid();
	int rc;

	vc_ctx_reset(&srv->mctx);
	srv->mctx.who.actor = VC_ACTOR_SYSTEM;
	srv->mctx.stop = &srv->prune_stop;
	if ((rc = vc_events_prune_all(&srv->mctx, srv->cfg.retention_s, 0, &out)) != VC_EOK)
		srv_log(srv, VC_SERVE_LOG_ERROR, "event retention: %s",
		    srv->mctx.errmsg[0] ? srv->mctx.errmsg : vc_err_name(rc));
	srv->mctx.stop = NULL;
	jv_free(out);
}

static void *
mail_main(void *arg)
{
	struct vc_serve *srv = arg;
	struct vc_outbox_stats st;
	struct timespec until;
	time_t next_prune = 0;
	int rc;

	pthread_mutex_lock(&srv->mmu);
	while (!srv->mstop) {
		clock_gettime(CLOCK_REALTIME, &until);
		if (srv->cfg.retention_s > 0 && until.tv_sec >= next_prune) {
			next_prune = until.tv_sec + srv->cfg.prune_s;
			pthread_mutex_unlock(&srv->mmu);
			prune_now(srv);
			pthread_mutex_lock(&srv->mmu);
			continue;
		}
		until.tv_sec += srv->cfg.mail_interval > 0 ? srv->cfg.mail_interval : srv->cfg.prune_s;
		if (srv->cfg.retention_s > 0 && until.tv_sec > next_prune)
			until.tv_sec = next_prune;
		while (!srv->mstop && !srv->mkick &&
		    pthread_cond_timedwait(&srv->mcv, &srv->mmu, &until) == 0)
			;
		if (srv->mstop)
			break;
		srv->mkick = 0;
		if (srv->cfg.mail_interval <= 0)
			continue;
		pthread_mutex_unlock(&srv->mmu);
		vc_ctx_reset(&srv->mctx);
		srv->mctx.who.actor = VC_ACTOR_SYSTEM;
		rc = vc_outbox_deliver(&srv->mctx, 0, &st);
		if (st.failed > 0)
			srv_log(srv, VC_SERVE_LOG_ERROR, "mail: not delivered, %d queued for a "
			    "retry: %s", st.pending, srv->mctx.errmsg[0] ? srv->mctx.errmsg :
			    "see vc-auth mail show");
		else if (rc != VC_EOK && rc != VC_ECONFIG)
			srv_log(srv, VC_SERVE_LOG_ERROR, "mail: %s", srv->mctx.errmsg);
		pthread_mutex_lock(&srv->mmu);
	}
	pthread_mutex_unlock(&srv->mmu);
	return NULL;
}

static void
mail_stop(struct vc_serve *srv)
{
	__atomic_store_n(&srv->prune_stop, 1, __ATOMIC_RELAXED);
	thread_stop(srv->mth, &srv->mmu, &srv->mcv, &srv->mstop, &srv->mstarted);
}

static void *
playbook_main(void *arg)
{
	struct vc_serve *srv = arg;
	struct timespec until;
	int rc, ran;

	pthread_mutex_lock(&srv->pmu);
	while (!srv->pstop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += srv->cfg.playbook_interval;
		while (!srv->pstop && pthread_cond_timedwait(&srv->pcv, &srv->pmu, &until) == 0)
			;
		if (srv->pstop)
			break;
		pthread_mutex_unlock(&srv->pmu);
		vc_ctx_reset(&srv->pctx);
		vc_store_keys_refresh(&srv->pctx);
		rc = vc_pb_due_all(&srv->pctx, "vc-serve", &ran);
		if (rc != VC_EOK)
			srv_log(srv, VC_SERVE_LOG_ERROR, "playbooks: %s", srv->pctx.errmsg);
		pthread_mutex_lock(&srv->pmu);
	}
	pthread_mutex_unlock(&srv->pmu);
	return NULL;
}

static void
playbook_stop(struct vc_serve *srv)
{
	if (!srv->pstarted)
		return;
	pthread_mutex_lock(&srv->pmu);
	srv->pstop = 1;
	pthread_cond_signal(&srv->pcv);
	pthread_mutex_unlock(&srv->pmu);
	pthread_join(srv->pth, NULL);
	srv->pstarted = 0;
}

/* ---- the channels' forwarder -------------------------------------------- */

/* What a pass did, for the log: failures and events set aside. */
static void
forward_log(struct vc_serve *srv, jv recs)
{
	jv_array_foreach(recs, i, r) {
		const char *err = vc_arg_str(r, "error"), *ch = vc_arg_str(r, "channel");
		const char *tn = vc_arg_str(r, "tenant_id");
		int64_t dead = vc_arg_int(r, "dead", 0);

		(void)i;
		if (err != NULL)
			srv_log(srv, VC_SERVE_LOG_ERROR, "forward: tenant %s, channel %s: %s (retried"
			    " with backoff)", tn ? tn : "?", ch ? ch : "?", err);
		if (dead > 0)
			srv_log(srv, VC_SERVE_LOG_ERROR, "forward: tenant %s, channel %s: %lld event%s set"
			    " aside (vc-notify dead list)", tn ? tn : "?", ch ? ch : "?", (long long)dead,
			    dead == 1 ? "" : "s");
		jv_free(r);
	}
	jv_free(recs);
}

static void *
forward_main(void *arg)
{
	struct vc_serve *srv = arg;
	struct vc_forwarder *f = NULL;
	struct timespec until;
	int64_t ver = -1, retry_at = 0;

	if (vc_forwarder_new(&srv->fctx, "vc-serve", &f) != VC_EOK) {
		srv_log(srv, VC_SERVE_LOG_ERROR, "forward: %s", srv->fctx.errmsg);
		return NULL;
	}
	pthread_mutex_lock(&srv->fmu);
	while (!srv->fstop) {
		int64_t v, now, wait_ms;
		pthread_mutex_unlock(&srv->fmu);
		/* The version before the pass: a commit during it is seen by
		 * the next look, and makes another pass. */
		vc_ctx_reset(&srv->fctx);
		srv->fctx.stop = &srv->fwd_stop;
		v = vc_store_data_version(&srv->fctx);
		now = mono_ms();
		if (v < 0)
			srv_log(srv, VC_SERVE_LOG_ERROR, "forward: %s", srv->fctx.errmsg);
		else if (v != ver || (retry_at > 0 && now >= retry_at)) {
			jv recs = jv_invalid();
			int64_t retry_ms = 0;

			ver = v;
			vc_store_keys_refresh(&srv->fctx);
			if (vc_forwarder_pass(&srv->fctx, f, "vc-serve", &recs, &retry_ms) != VC_EOK &&
			    jv_array_length(jv_copy(recs)) == 0)
				srv_log(srv, VC_SERVE_LOG_ERROR, "forward: %s", srv->fctx.errmsg);
			forward_log(srv, recs);
			retry_at = retry_ms > 0 ? mono_ms() + retry_ms : 0;
			/* An email channel queued a mail: the mail thread sends it. */
			if (srv->fctx.outbox_queued && srv->mstarted)
				mail_kick(srv);
		}
		now = mono_ms();
		wait_ms = (int64_t)srv->cfg.forward_interval * 1000;
		if (retry_at > 0 && retry_at - now < wait_ms)
			wait_ms = retry_at - now > 10 ? retry_at - now : 10;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(wait_ms / 1000);
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&srv->fmu);
		while (!srv->fstop && pthread_cond_timedwait(&srv->fcv, &srv->fmu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&srv->fmu);
	vc_forwarder_free(f);
	return NULL;
}

/* Stop the forwarder: a delivery under way is cut short (its batch
 * comes again next time), then the thread is joined. */
static void
forward_stop(struct vc_serve *srv)
{
	__atomic_store_n(&srv->fwd_stop, 1, __ATOMIC_RELAXED);
	thread_stop(srv->fth, &srv->fmu, &srv->fcv, &srv->fstop, &srv->fstarted);
}

/* ---- the notifications' listener (PostgreSQL) ---------------------------- */

#define LISTEN_RETRY_MS 100     /* the first wait before connecting again */
#define LISTEN_RETRY_MAX_MS 2000

static void
listen_wake(struct vc_serve *srv)
{
	atomic_store(&srv->ws_wake, 1);
	lws_cancel_service(srv->lws);
}

/*
 * The listener thread: a connection of its own LISTENs to the
 * notifications' topic, and poll(2) waits on its socket and on the stop
 * pipe, so a commit anywhere (another instance, a CLI) wakes the loop at
 * once and nothing polls the store.  A lost connection is made again at
 * once, then every LISTEN_RETRY_MS doubled up to LISTEN_RETRY_MAX_MS;
 * each new one wakes the loop too, which reads from the last id it saw:
 * a notification committed while nobody listened is found there.
 */
static void *
listen_main(void *arg)
{
	struct vc_serve *srv = arg;
	struct vc_listener *l = NULL;
	int wait_ms = 0, lost = 0, said = 0;

	for (;;) {
		struct pollfd pf[2] = { { srv->npipe[0], POLLIN, 0 }, { -1, POLLIN, 0 } };
		int got, timeout = -1;

		if (l == NULL) {
			vc_ctx_reset(&srv->nctx);
			if (vc_store_listen(&srv->nctx, srv->dbpath, VC_TOPIC_NOTIFICATIONS, &l) == 0) {
				if (lost)
					srv_log(srv, VC_SERVE_LOG_ERROR, "notifications: listening again");
				lost = said = wait_ms = 0;
				listen_wake(srv);
			} else {
				if (!said)
					srv_log(srv, VC_SERVE_LOG_ERROR, "notifications: cannot listen: %s"
					    " (trying again)", srv->nctx.errmsg);
				said = lost = 1;
				wait_ms = wait_ms == 0 ? LISTEN_RETRY_MS : wait_ms * 2;
				if (wait_ms > LISTEN_RETRY_MAX_MS)
					wait_ms = LISTEN_RETRY_MAX_MS;
				timeout = wait_ms;
			}
		}
		if (l != NULL)
			pf[1].fd = vc_store_listen_fd(l);
		if (poll(pf, 2, timeout) < 0 && errno != EINTR) {
			srv_log(srv, VC_SERVE_LOG_ERROR, "notifications: poll: %s", strerror(errno));
			break;
		}
		if (pf[0].revents != 0)
			break;
		if (l == NULL || pf[1].revents == 0)
			continue;
		vc_ctx_reset(&srv->nctx);
		if (vc_store_listen_read(&srv->nctx, l, &got) != 0) {
			srv_log(srv, VC_SERVE_LOG_ERROR, "notifications: %s (listening again)",
			    srv->nctx.errmsg);
			vc_store_listen_close(l);
			l = NULL;
			lost = 1;
		} else if (got > 0)
			listen_wake(srv);
	}
	vc_store_listen_close(l);
	return NULL;
}

static void
listen_stop(struct vc_serve *srv)
{
	if (!srv->nstarted)
		return;
	(void)!write(srv->npipe[1], "", 1);
	pthread_join(srv->nth, NULL);
	srv->nstarted = 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct vc_serve *srv = w->srv;
	struct job *j = NULL;

	vc_wait_hook(pool_wait, srv);
	pthread_mutex_lock(&srv->mu);
	for (;;) {
		while (!srv->wstop && (srv->running >= srv->amax || (j = job_pick(srv)) == NULL))
			pthread_cond_wait(&srv->cv, &srv->mu);
		if (srv->wstop)
			break;
		j->where = J_RUNNING;
		srv->running++;
		pthread_mutex_unlock(&srv->mu);

		job_run(w, j);
		if (w->ctx.outbox_queued)
			mail_kick(srv);

		pthread_mutex_lock(&srv->mu);
		srv->running--;
		job_release(srv, j);
		j->where = J_DONE;
		if (srv->dtail != NULL)
			srv->dtail->next = j;
		else
			srv->dhead = j;
		srv->dtail = j;
		pthread_mutex_unlock(&srv->mu);
		/* Wake the loop: LWS_CALLBACK_EVENT_WAIT_CANCELLED. */
		lws_cancel_service(srv->lws);
		pthread_mutex_lock(&srv->mu);
	}
	pthread_mutex_unlock(&srv->mu);
	return NULL;
}

/* Queue a job; -1 when cfg.queue_max wait already (the caller answers
 * 503).  Streams go to their own queue: see struct vc_serve. */
static int
job_submit(struct vc_serve *srv, struct job *j)
{
	j->streamed = j->stream || j->input;
	j->tq = mono_ms();
	pthread_mutex_lock(&srv->mu);
	if (srv->qlen >= srv->qmax || srv->wstop) {
		pthread_mutex_unlock(&srv->mu);
		return -1;
	}
	j->where = J_QUEUED;
	jobq_push(j->streamed ? &srv->sq : &srv->q, j);
	srv->qlen++;
	pthread_cond_signal(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
	return 0;
}

/* The connection is going away before its job finished. */
static void
job_abandon(struct vc_serve *srv, struct job *j)
{
	int unqueued = 0;

	pthread_mutex_lock(&srv->mu);
	if (j->where == J_QUEUED) {
		/* Not started: take it out, nobody else refers to it. */
		jobq_remove(j->streamed ? &srv->sq : &srv->q, j);
		srv->qlen--;
		unqueued = 1;
	}
	/* A worker streaming for it stops at its next line or read. */
	j->gone = 1;
	j->iabort = 1;
	pthread_cond_broadcast(&srv->scv);
	pthread_mutex_unlock(&srv->mu);
	j->conn = NULL;         /* running or done: freed when drained */
	if (unqueued)
		job_free(j);
}

/* ---- connections (lws thread) ------------------------------------------ */

static int conn_advance(struct conn *c);

/* Sent raw, before any request is read, when connections are over a cap. */
static const char busy_reply[] = "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Content-Length: 0\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
    "Cache-Control: no-store\r\n"
    "Retry-After: 1\r\n"
    "Connection: close\r\n\r\n";

static void
request_reset(struct conn *c)
{
	vc_serve_wipe_free(c->head, c->head_len + 1);
	c->head = NULL;
	c->head_len = 0;
	vc_serve_wipe_free(c->body, c->body_cap);
	c->body = NULL;
	c->body_len = c->body_cap = 0;
	memset(&c->req, 0, sizeof c->req);
	memset(&c->chunk, 0, sizeof c->chunk);
	c->parsed = 0;
	c->started = 0;
	c->head_only = 0;
	c->rid[0] = '\0';
	c->scan = 0;
	c->checked = 0;
	c->input = c->ipaused = 0;
	c->itotal = 0;
	c->streaming = c->schunked = 0;
	c->sbytes = 0;
}

static void
in_consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	sodium_memzero(c->in + c->in_len - n, n);
	c->in_len -= n;
	c->scan = 0;
	c->checked = 0;
}

static int
in_append(struct conn *c, const char *data, size_t len)
{
	const struct vc_serve_config *cfg = &c->srv->cfg;
	size_t max = cfg->max_line + cfg->max_headers + 8 + IN_SLACK;

	if (len > max - c->in_len)
		return -1;
	if (c->in_len + len > c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap : 4096;
		char *p;

		while (cap < c->in_len + len)
			cap *= 2;
		if (cap > max)
			cap = max;
		if ((p = malloc(cap)) == NULL)
			return -1;
		if (c->in_len > 0)
			memcpy(p, c->in, c->in_len);
		vc_serve_wipe_free(c->in, c->in_cap);
		c->in = p;
		c->in_cap = cap;
	}
	memcpy(c->in + c->in_len, data, len);
	c->in_len += len;
	return 0;
}

/* ---- streams (lws thread) ------------------------------------------------ */

static int reject(struct conn *c, int status, const char *why);

/* Drop the connection from outside its own callback. */
static void
conn_kill(struct conn *c)
{
	c->close = 1;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* The deadline of the body in progress, in ms of its reading time (not
 * counting the time it waited for its worker); 0 for none. */
static int64_t
body_deadline(const struct conn *c)
{
	int64_t d = (int64_t)c->srv->cfg.body_deadline * 1000;

	return c->input ? d * IMPORT_DEADLINE_X : d;
}

static int64_t
body_time(const struct conn *c, int64_t now)
{
	return now - c->b0 - c->bpause - (c->ipaused ? now - c->p0 : 0);
}

/* A body is read: the lws timeout is its silence limit; its pace is
 * checked as data comes and once a second (body_tick). */
static void
body_wait(struct conn *c)
{
	conn_timeout(c, c->srv->cfg.body_timeout);
}

/*
 * Slow bodies (slowloris on the body): one that has taken longer than its
 * deadline, or that arrives slower than cfg.min_body_rate once
 * RATE_GRACE_MS have passed, is refused: a trickle must not hold a
 * worker (an import's) or a connection for long.  NULL when it is fine.
 */
static const char *
body_slow(const struct conn *c, int64_t now)
{
	const struct vc_serve_config *cfg = &c->srv->cfg;
	int64_t t = body_time(c, now), d = body_deadline(c);

	if (d > 0 && t > d)
		return "request body took too long";
	if (cfg->min_body_rate > 0 && t > RATE_GRACE_MS &&
	    c->braw * 1000 < (uint64_t)cfg->min_body_rate * (uint64_t)t)
		return "request body arrives too slowly";
	return NULL;
}

/* Nothing to write: the body's silence timeout while one is read, none
 * while the worker is the one to wait for. */
static void
conn_wait_timeout(struct conn *c)
{
	if (c->state == CS_BODY && !c->ipaused)
		body_wait(c);
	else
		conn_timeout(c, 0);
}

/* Append n bytes of a streamed body to c->out, as one chunk in HTTP/1.1. */
static void
chunk_add(struct conn *c, const char *p, size_t n)
{
	if (n == 0)
		return;
	out_begin(c);
	if (c->schunked)
		sb_fmt(&c->out, "%zx\r\n", n);
	sb_add(&c->out, p, n);
	if (c->schunked)
		sb_str(&c->out, "\r\n");
	c->sbytes += n;
}

/* Start a streamed response: 200 and its head.  HTTP/1.0 has no chunks:
 * the body ends with the connection. */
static void
stream_head(struct conn *c, struct job *j)
{
	struct vc_serve *srv = c->srv;
	char ct[128], disp[256];

	c->streaming = 1;
	c->schunked = c->req.minor >= 1;
	if (!c->schunked || srv->stopping)
		c->close = 1;
	/* A file's type, set by its worker before its first bytes. */
	pthread_mutex_lock(&srv->mu);
	snprintf(ct, sizeof ct, "%s", j != NULL && j->octype[0] ? j->octype : JSONL_TYPE);
	snprintf(disp, sizeof disp, "%s", j != NULL ? j->odisp : "");
	pthread_mutex_unlock(&srv->mu);
	out_begin(c);
	build_head(srv, &c->out, 200, c->rid, c->req.origin, c->close, disp[0] ? disp : NULL,
	    ct, -1, c->schunked);
}

/* The worker queued the first lines since the loop last ran dry. */
static void
stream_kick(struct conn *c)
{
	if (!c->streaming)
		stream_head(c, c->job);
	if (c->out.oom) {
		conn_kill(c);
		return;
	}
	lws_callback_on_writable(c->wsi);
}

/* Move queued lines of the job into c->out as one chunk and let a waiting
 * worker go on.  0 when there were none: the worker's next line then
 * wakes the loop (owant). */
static size_t
stream_take(struct conn *c)
{
	struct vc_serve *srv = c->srv;
	struct job *j = c->job;
	size_t n;

	pthread_mutex_lock(&srv->mu);
	n = j->oq.len - j->ooff;
	if (n > STREAM_TAKE)
		n = STREAM_TAKE;
	if (n > 0) {
		chunk_add(c, j->oq.p + j->ooff, n);
		j->ooff += n;
		if (j->ooff == j->oq.len)
			j->ooff = j->oq.len = 0;
		pthread_cond_broadcast(&srv->scv);
	} else
		j->owant = 1;
	pthread_mutex_unlock(&srv->mu);
	return n;
}

/*
 * The job of a streamed answer is done (its worker has let go of it):
 * send what it left and the last chunk, or, after an error line, nothing
 * more: the cut stream closes.  Then finish the request as any other.
 */
static void
stream_finish(struct conn *c, struct job *j)
{
	struct vc_serve *srv = c->srv;

	c->job = NULL;
	if (!c->streaming)
		stream_head(c, j);
	if (j->oq.len > j->ooff)
		chunk_add(c, j->oq.p + j->ooff, j->oq.len - j->ooff);
	if (!j->oerr && c->schunked)
		sb_str(&c->out, "0\r\n\r\n");
	/* Cut after an error line; or a body is still coming that nobody reads. */
	if (j->oerr || c->state == CS_BODY)
		c->close = 1;
	c->state = CS_WRITE;
	c->ipaused = 0;
	lws_rx_flow_control(c->wsi, 0);
	if (c->out.oom) {
		conn_kill(c);
		return;
	}
	access_log(c, 200, c->sbytes);
	conn_timeout(c, srv->cfg.write_timeout);
	lws_callback_on_writable(c->wsi);
}

/* An import: hand the request to a worker now, its body as it comes.
 * Returns 1 when it was answered instead (the connection then closes). */
static int
input_dispatch(struct conn *c)
{
	struct job *j;

	if ((j = job_new(c)) == NULL) {
		c->close = 1;
		respond_error(c, 500, "internal error", NULL);
		return 1;
	}
	j->input = 1;
	if (job_submit(c->srv, j) != 0) {
		job_free(j);
		c->close = 1;
		respond_error(c, 503, "server busy, retry", "Retry-After: 1\r\n");
		return 1;
	}
	c->job = j;
	c->input = 1;
	c->itotal = 0;
	return 0;
}

/*
 * The body of an import went wrong (framing, size): the worker's next
 * read fails, and the client gets status; or, when a 200 stream is out
 * already, an error line and the end of the connection.
 */
static int
input_fail(struct conn *c, int status, const char *why)
{
	char *line;
	size_t len = 0;

	if (c->job != NULL) {
		job_abandon(c->srv, c->job);
		c->job = NULL;
	}
	if (!c->streaming)
		return reject(c, status, why);
	if ((line = error_json(status_name(status), why, &len)) != NULL) {
		line[len] = '\n';
		chunk_add(c, line, len + 1);
		free(line);
	}
	c->close = 1;
	c->state = CS_WRITE;
	c->ipaused = 0;
	lws_rx_flow_control(c->wsi, 0);
	if (c->out.oom) {
		conn_kill(c);
		return 1;
	}
	access_log(c, 200, c->sbytes);
	conn_timeout(c, c->srv->cfg.write_timeout);
	lws_callback_on_writable(c->wsi);
	return 1;
}

/* Pass the body bytes in c->in to the import's worker; 1 when the state
 * moved on.  While the worker has INPUT_MAX bytes unread the socket is
 * not read: memory stays flat however large the body. */
static int
input_step(struct conn *c)
{
	struct vc_serve *srv = c->srv;
	struct job *j = c->job;
	const char *data;
	size_t dlen, used;
	int done, full, oom = 0;

	if (j == NULL)
		return reject(c, 500, "internal error");
	pthread_mutex_lock(&srv->mu);
	if ((full = j->iq.len - j->ioff >= INPUT_MAX))
		j->iwant = 1;   /* its reads wake the loop below INPUT_LOW */
	pthread_mutex_unlock(&srv->mu);
	if (full) {
		if (!c->ipaused) {
			c->ipaused = 1;
			c->p0 = mono_ms();
			lws_rx_flow_control(c->wsi, 0);
			if (c->out.len == 0)
				conn_timeout(c, 0);     /* we are the slow side */
		}
		return 0;
	}
	if (c->in_len == 0)
		return 0;
	if (c->req.chunked) {
		long n;

		c->body_len = 0;
		n = vc_serve_chunked_feed(&c->chunk, c->in, c->in_len, &c->body,
		    &c->body_len, &c->body_cap, srv->cfg.max_import - (size_t)c->itotal);
		if (n == -1)
			return input_fail(c, 400, "bad chunked encoding");
		if (n < 0)
			return input_fail(c, 413, "request body too large");
		data = c->body;
		dlen = c->body_len;
		used = (size_t)n;
		done = c->chunk.done;
	} else {
		uint64_t want = (uint64_t)c->req.content_length - c->itotal;

		dlen = c->in_len < want ? c->in_len : (size_t)want;
		data = c->in;
		used = dlen;
		done = c->itotal + dlen == (uint64_t)c->req.content_length;
	}
	c->itotal += dlen;
	if (dlen > 0 || done) {
		pthread_mutex_lock(&srv->mu);
		if (j->ioff > 0 && (j->ioff == j->iq.len || j->ioff >= j->iq.cap / 2)) {
			memmove(j->iq.p, j->iq.p + j->ioff, j->iq.len - j->ioff);
			j->iq.len -= j->ioff;
			j->ioff = 0;
		}
		if (dlen > 0)
			sb_add(&j->iq, data, dlen);
		if (done)
			j->ieof = 1;
		oom = j->iq.oom;
		pthread_cond_broadcast(&srv->scv);
		pthread_mutex_unlock(&srv->mu);
	}
	if (oom)
		return input_fail(c, 500, "internal error");
	in_consume(c, used);
	if (!done)
		return 0;
	/* All of it is in: what is left is waiting for the answer. */
	c->state = CS_WAIT;
	c->ipaused = 0;
	lws_rx_flow_control(c->wsi, 0);
	if (c->out.len == 0)
		conn_timeout(c, 0);
	return 1;
}

/* The worker read the import's input below INPUT_LOW: read on. */
static void
input_resume(struct conn *c)
{
	c->bpause += mono_ms() - c->p0;
	c->ipaused = 0;
	lws_rx_flow_control(c->wsi, 1);
	body_wait(c);
	if (conn_advance(c) < 0)
		conn_kill(c);
}

/*
 * A VC_OP_LOOP operation, answered here: /health must answer while every
 * worker is busy.  The answer is made at most once in LOOP_CACHE_MS (on
 * the loop's own store connection, for /health: one read of the header
 * page), so a flood of them costs the loop little more than the writes.
 */
static void
loop_answer(struct conn *c, const struct vc_op *op)
{
	struct vc_serve *srv = c->srv;
	struct lcache *lc = NULL;
	int64_t now = mono_ms();

	for (int i = 0; i < LOOP_OPS; i++)
		if (srv->lcache[i].op == op || srv->lcache[i].op == NULL) {
			lc = &srv->lcache[i];
			break;
		}
	if (lc == NULL) {       /* more of them than LOOP_OPS: a table change */
		respond_error(c, 500, "internal error", NULL);
		return;
	}
	if (lc->op == NULL || now - lc->t >= LOOP_CACHE_MS) {
		vc_ctx *ctx = &srv->lctx;
		jv out = jv_invalid(), s;
		int rc;

		vc_ctx_reset(ctx);
		ctx->front = VC_FRONT_HTTP;
		snprintf(ctx->ip, sizeof ctx->ip, "%s", c->ip);
		rc = vc_op_call(ctx, op, jv_object(), &out);
		if (rc != VC_EOK || jv_get_kind(out) != JV_KIND_OBJECT) {
			jv_free(out);
			srv_log(srv, VC_SERVE_LOG_ERROR, "%s: %s", op->name,
			    ctx->errmsg[0] ? ctx->errmsg : vc_err_name(rc));
			respond_error(c, 500, "internal error", NULL);
			return;
		}
		s = jv_dump_string(out, 0);
		free(lc->body);
		lc->len = (size_t)jv_string_length_bytes(jv_copy(s));
		if ((lc->body = malloc(lc->len + 1)) != NULL)
			memcpy(lc->body, jv_string_value(s), lc->len + 1);
		jv_free(s);
		lc->op = op;
		lc->t = now;
		if (lc->body == NULL) {
			lc->op = NULL;
			respond_error(c, 500, "internal error", NULL);
			return;
		}
	}
	respond(c, 200, lc->body, lc->len, NULL);
}

/* The per-address limit of op's class; 1 when the request was answered
 * with 429 instead. */
static int
rate_limited(struct conn *c, const struct vc_op *op)
{
	struct vc_serve *srv = c->srv;
	struct vc_limit *l = op->rate == VC_RATE_AUTH ? srv->lim_auth :
	    op->rate == VC_RATE_SIGNUP ? srv->lim_signup : NULL;
	char key[80], extra[64];
	int64_t wait;

	if (l == NULL)
		return 0;
	vc_limit_addr_key(c->ip, key, sizeof key);
	if ((wait = vc_limit_take(l, key, mono_ms())) == 0)
		return 0;
	srv_log(srv, VC_SERVE_LOG_ERROR, "%s: %s refused: too many from this address", key,
	    op->name);
	snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", (long long)(wait + 999) / 1000);
	respond_error(c, 429, op->rate == VC_RATE_SIGNUP ?
	    "too many registrations from your address; try again later" :
	    "too many sign-in attempts from your address; try again later", extra);
	return 1;
}

/* ---- WebSocket: notifications pushed (lws thread) ---------------------------
 *
 * GET /api/notifications/ws upgrades the connection (RFC 6455) on the same
 * raw socket the HTTP requests use.  The client's first message must be
 * {"token": ACCESS_JWT} (optionally "since": ID) within WS_AUTH_MS: a
 * token in the URL would land in logs and browser history, so a query is
 * refused.  Authentication and the queries run on the loop's own store
 * connection (lctx): reads only, never a worker's connection.  Every
 * WS_POLL_MS, when PRAGMA data_version says another connection committed,
 * the new notifications are read once (ws_fan_out) and each goes, as one
 * text frame, to every authenticated client that may see it; a client
 * replaying ("since") or catching up reads its own (ws_push).  A client whose unsent bytes pass
 * WS_QUEUE_MAX is dropped, as is one that answers no ping.  Close codes:
 * 1008 no authentication in time or not an auth message, 1009 a message
 * over WS_MSG_MAX, 1002 a protocol error, 1003 binary data, 4001 a token
 * refused or expired (or its user disabled, its sessions ended), 1001 the
 * server stopping.
 */

/* Queue one frame; -1 when the client was dropped (too slow, no memory). */
static int
ws_send(struct conn *c, int op, const void *p, size_t n)
{
	unsigned char hdr[VC_WS_HEAD_MAX];
	size_t hl = vc_ws_head(hdr, op, n);
	int idle;

	if (c->ws == NULL || c->ws->closing)
		return -1;
	if ((idle = c->out_off == c->out.len))
		c->out.len = c->out_off = 0;
	if (c->out.len - c->out_off + hl + n > WS_QUEUE_MAX) {
		srv_log(c->srv, VC_SERVE_LOG_ERROR, "%s: websocket client too slow (%zu bytes unsent): dropped",
		    c->ip, c->out.len - c->out_off);
		c->ws->closing = 1;
		conn_kill(c);
		return -1;
	}
	sb_add(&c->out, hdr, hl);
	sb_add(&c->out, p, n);
	if (c->out.oom) {
		c->ws->closing = 1;
		conn_kill(c);
		return -1;
	}
	/*
	 * A text frame to a client with nothing pending goes out now, one
	 * send(2), rather than by a WRITEABLE callback: a broadcast to 1,000
	 * clients was 1,000 epoll_ctl calls and as many trips through the
	 * poll before the first byte left.  lws keeps what the socket does
	 * not take and flushes it itself; with something of lws's pending,
	 * new data must wait for the callback.
	 */
	if (idle && op == VC_WS_TEXT && c->out.len <= WRITE_CHUNK && !lws_partial_buffered(c->wsi)) {
		if (lws_write(c->wsi, (unsigned char *)c->out.p, c->out.len, LWS_WRITE_RAW) < 0) {
			c->ws->closing = 1;
			conn_kill(c);
			return -1;
		}
		c->out.len = c->out_off = 0;
		if (!lws_partial_buffered(c->wsi))
			return 0;
	}
	conn_timeout(c, c->srv->cfg.write_timeout);
	lws_callback_on_writable(c->wsi);
	return 0;
}

static int
ws_send_jv(struct conn *c, jv v)
{
	jv s = jv_dump_string(v, 0);
	int rc = ws_send(c, VC_WS_TEXT, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));

	jv_free(s);
	return rc;
}

/* Send a close frame; the connection ends once it is out. */
static void
ws_close(struct conn *c, int code, const char *reason)
{
	unsigned char b[125];
	size_t n = strlen(reason);

	if (c->ws == NULL || c->ws->closing)
		return;
	if (n > sizeof b - 2)
		n = sizeof b - 2;
	b[0] = (unsigned char)(code >> 8);
	b[1] = (unsigned char)code;
	memcpy(b + 2, reason, n);
	if (ws_send(c, VC_WS_CLOSE, b, n + 2) == 0)
		c->ws->closing = 1;
	lws_rx_flow_control(c->wsi, 0);
}

static void
ws_free(struct conn *c)
{
	struct wsconn *w = c->ws;

	if (w == NULL)
		return;
	if (w->authed)
		c->srv->ws_authed--;
	vc_serve_wipe_free(w->token, w->token_cap);
	free(w->msg);
	sodium_memzero(w, sizeof *w);
	free(w);
	c->ws = NULL;
}

/* The loop's store connection, acting for the client. */
static vc_ctx *
ws_ctx(struct conn *c)
{
	vc_ctx *ctx = &c->srv->lctx;

	vc_ctx_reset(ctx);
	ctx->front = VC_FRONT_HTTP;
	snprintf(ctx->ip, sizeof ctx->ip, "%s", c->ip);
	ctx->who = c->ws->who;
	return ctx;
}

/*
 * Send the client what it may see after its cursor: at most max, and no
 * more once its queue is half full (the rest at the next poll).  A queue
 * that stays over half full for WS_SLOW_MS while more is due is a reader
 * too slow to keep: it is dropped, and may come back with "since".
 */
static void
ws_push(struct conn *c, int64_t max)
{
	vc_ctx *ctx;
	jv rows;
	int n = 0, full = 0;
	int64_t now = mono_ms();

	if (c->out.len - c->out_off >= WS_QUEUE_MAX / 2) {
		c->ws->more = 1;
		if (c->ws->t_full == 0)
			c->ws->t_full = now;
		else if (now - c->ws->t_full >= WS_SLOW_MS) {
			srv_log(c->srv, VC_SERVE_LOG_ERROR, "%s: websocket client too slow (%zu bytes unsent):"
			    " dropped", c->ip, c->out.len - c->out_off);
			c->ws->closing = 1;
			conn_kill(c);
		}
		return;
	}
	c->ws->t_full = 0;
	ctx = ws_ctx(c);
	if (vc_notify_visible(ctx, c->ws->cursor, max, &rows) != 0) {
		srv_log(c->srv, VC_SERVE_LOG_ERROR, "websocket poll: %s", ctx->errmsg);
		return;
	}
	jv_array_foreach(rows, i, r) {
		jv id = jv_object_get(jv_copy(r), jv_string("id"));

		if (c->ws != NULL && !c->ws->closing && !full) {
			c->ws->cursor = (int64_t)jv_number_value(id);
			n++;
			(void)ws_send_jv(c, jv_object_set(jv_copy(r), jv_string("type"),
			    jv_string("notification")));
			full = c->out.len - c->out_off >= WS_QUEUE_MAX / 2;
		}
		jv_free(id);
		jv_free(r);
	}
	jv_free(rows);
	if (c->ws != NULL)
		c->ws->more = n == max || full;
}

/* The client's first message: {"token": ..., "since": ID}. */
static void
ws_auth(struct conn *c, const unsigned char *msg, size_t n)
{
	struct wsconn *w = c->ws;
	vc_ctx *ctx;
	jv m = jv_parse_sized((const char *)msg, (int)n), tok, since;
	int64_t exp = 0, cursor;
	size_t tl;

	tok = jv_get_kind(m) == JV_KIND_OBJECT ? jv_object_get(jv_copy(m), jv_string("token")) : jv_invalid();
	since = jv_get_kind(m) == JV_KIND_OBJECT ? jv_object_get(jv_copy(m), jv_string("since")) : jv_invalid();
	jv_free(m);
	if (jv_get_kind(tok) != JV_KIND_STRING ||
	    (jv_is_valid(since) && jv_get_kind(since) != JV_KIND_NULL &&
	    (jv_get_kind(since) != JV_KIND_NUMBER || jv_number_value(since) < 0))) {
		jv_free(tok);
		jv_free(since);
		ws_close(c, VC_WS_POLICY, "the first message must be {\"token\": ACCESS_TOKEN}");
		return;
	}
	ctx = &c->srv->lctx;
	vc_ctx_reset(ctx);
	ctx->front = VC_FRONT_HTTP;
	tl = (size_t)jv_string_length_bytes(jv_copy(tok));
	if (vc_authenticate_access(ctx, jv_string_value(tok), &exp) != 0 ||
	    (w->token = malloc(tl + 1)) == NULL) {
		jv_free(tok);
		jv_free(since);
		srv_log(c->srv, VC_SERVE_LOG_ERROR, "%s: websocket authentication failed", c->ip);
		ws_close(c, VC_WS_AUTH, "authentication failed");
		return;
	}
	memcpy(w->token, jv_string_value(tok), tl + 1);
	w->token_cap = tl + 1;
	jv_free(tok);
	w->who = ctx->who;
	w->exp = exp;
	w->authed = 1;
	w->t_check = mono_ms();
	/* The first client: the fan-out starts from the newest of all. */
	if (c->srv->ws_authed++ == 0 && (c->srv->ws_seen = vc_notify_max_id(ctx)) < 0) {
		ws_close(c, VC_WS_INTERNAL, "internal error");
		return;
	}
	cursor = jv_get_kind(since) == JV_KIND_NUMBER ? (int64_t)jv_number_value(since) : -1;
	jv_free(since);
	if (cursor < 0 && (cursor = vc_notify_last_id(ws_ctx(c))) < 0) {
		ws_close(c, VC_WS_INTERNAL, "internal error");
		return;
	}
	w->cursor = cursor;
	if (ws_send_jv(c, JV_OBJECT(jv_string("type"), jv_string("authenticated"),
	    jv_string("user"), jv_string(w->who.username), jv_string("role"),
	    jv_string(vc_role_name(w->who.role)), jv_string("since"), jv_number((double)cursor),
	    jv_string("expires_in"), jv_number((double)(exp - (int64_t)time(NULL))))) == 0)
		ws_push(c, WS_REPLAY_MAX);
}

/* A whole message from the client. */
static void
ws_message(struct conn *c, int op, const unsigned char *p, size_t n)
{
	if (op == VC_WS_BINARY) {
		ws_close(c, VC_WS_UNSUPPORTED, "text frames only");
		return;
	}
	if (!c->ws->authed)
		ws_auth(c, p, n);
	/* Once authenticated, what a client says is not needed: ignored. */
}

/* One frame; -1 when the connection must end now. */
static int
ws_frame(struct conn *c, const struct vc_ws_frame *f)
{
	struct wsconn *w = c->ws;

	switch (f->opcode) {
	case VC_WS_PING:
		return ws_send(c, VC_WS_PONG, f->payload, f->len) == 0 || w->closing ? 0 : -1;
	case VC_WS_PONG:
		w->t_pong = mono_ms();
		return 0;
	case VC_WS_CLOSE:
		ws_close(c, VC_WS_NORMAL, "");
		return 0;
	case VC_WS_CONT:
		if (w->msg == NULL) {
			ws_close(c, VC_WS_PROTOCOL, "continuation without a message");
			return 0;
		}
		break;
	default:
		if (w->msg != NULL) {
			ws_close(c, VC_WS_PROTOCOL, "a new message inside a fragmented one");
			return 0;
		}
		if (f->fin) {
			ws_message(c, f->opcode, f->payload, f->len);
			return 0;
		}
		if ((w->msg = malloc(WS_MSG_MAX)) == NULL)
			return -1;
		w->msg_len = 0;
		w->msg_op = f->opcode;
	}
	if (f->len > WS_MSG_MAX - w->msg_len) {
		ws_close(c, VC_WS_TOO_BIG, "message too big");
		return 0;
	}
	memcpy(w->msg + w->msg_len, f->payload, f->len);
	w->msg_len += f->len;
	if (f->fin) {
		ws_message(c, w->msg_op, w->msg, w->msg_len);
		free(w->msg);
		w->msg = NULL;
	}
	return 0;
}

/* The frames received so far; -1 when the connection must end now. */
static int
ws_frames(struct conn *c)
{
	struct vc_ws_frame f;
	long n;

	while (c->ws != NULL && !c->ws->closing && c->in_len > 0) {
		n = vc_ws_parse((unsigned char *)c->in, c->in_len, WS_MSG_MAX, &f);
		if (n == VC_WS_MORE)
			break;
		if (n == VC_WS_EBIG) {
			ws_close(c, VC_WS_TOO_BIG, "message too big");
			break;
		}
		if (n < 0) {
			ws_close(c, VC_WS_PROTOCOL, "protocol error");
			break;
		}
		if (ws_frame(c, &f) != 0)
			return -1;
		in_consume(c, (size_t)n);
	}
	return 0;
}

static int
ws_rx(struct conn *c, const char *data, size_t len)
{
	if (c->ws->closing)
		return 0;
	if (in_append(c, data, len) != 0) {
		ws_close(c, VC_WS_TOO_BIG, "message too big");
		return 0;
	}
	return ws_frames(c);
}

static int
ws_writeable(struct conn *c)
{
	size_t left = c->out.len - c->out_off;

	if (left > 0) {
		size_t n = left < WRITE_CHUNK ? left : WRITE_CHUNK;

		if (lws_write(c->wsi, (unsigned char *)c->out.p + c->out_off, n, LWS_WRITE_RAW) < 0)
			return -1;
		c->out_off += n;
		/* All of it taken (lws keeps what the socket did not, and
		 * flushes it before calling again): no second round trip
		 * through the poll to learn that nothing is left, which for a
		 * broadcast to 1,000 clients was 1,000 more wake-ups.  A close
		 * frame waits for the flush before the FIN. */
		if (c->out_off < c->out.len || c->ws->closing) {
			conn_timeout(c, c->srv->cfg.write_timeout);
			lws_callback_on_writable(c->wsi);
			return 0;
		}
	}
	c->out.len = c->out_off = 0;
	if (c->ws->closing) {
		/* The close frame is out: FIN, and drop what still comes. */
		shutdown(lws_get_socket_fd(c->wsi), SHUT_WR);
		c->state = CS_LINGER;
		conn_timeout(c, LINGER_SECS);
		lws_rx_flow_control(c->wsi, 1);
		return 0;
	}
	conn_timeout(c, 0);
	return 0;
}

/* Once a second: the authentication deadline, the token, the pings. */
static void
ws_timer(struct conn *c)
{
	struct wsconn *w = c->ws;
	int64_t now = mono_ms();
	vc_ctx *ctx;

	if (w == NULL || w->closing)
		return;
	if (!w->authed) {
		if (now >= w->t_auth) {
			ws_close(c, VC_WS_POLICY, "no authentication within 5 s");
			return;
		}
	} else if ((int64_t)time(NULL) >= w->exp) {
		ws_close(c, VC_WS_AUTH, "token expired");
		return;
	} else if (now - w->t_check >= WS_RECHECK_MS) {
		/* A disabled user, a changed password or role: sessions end. */
		ctx = ws_ctx(c);
		w->t_check = now;
		if (vc_authenticate_access(ctx, w->token, NULL) != 0) {
			ws_close(c, VC_WS_AUTH, "token no longer valid");
			return;
		}
	}
	if (now - w->t_ping >= WS_PING_MS) {
		if (w->t_ping > 0 && w->t_pong < w->t_ping) {
			srv_log(c->srv, VC_SERVE_LOG_ERROR, "%s: websocket client answers no ping: dropped", c->ip);
			w->closing = 1;
			conn_kill(c);
			return;
		}
		w->t_ping = now;
		if (ws_send(c, VC_WS_PING, "", 0) != 0)
			return;
	}
	lws_set_timer_usecs(c->wsi, LWS_US_PER_SEC);
}

/* May the client of c see a notification of tenant for user or role? */
static int
ws_may_see(const struct wsconn *w, const char *tenant, const char *user, int min_role)
{
	if (strcmp(w->who.tenant_id, tenant) != 0)
		return 0;
	return (user != NULL && strcmp(w->who.user_id, user) == 0) ||
	    (min_role > 0 && w->who.role >= min_role);
}

/*
 * New notifications, read once for all clients (one query, not one a
 * client) and handed, as one serialised text, to each client that may
 * see it and is up to date; a client that is catching up (its queue
 * was half full, or it replays) gets them by its own query instead.
 */
static void
ws_fan_out(struct vc_serve *srv)
{
	vc_ctx *ctx = &srv->lctx;
	jv rows;
	int n = 0;

	vc_ctx_reset(ctx);
	if (vc_notify_after(ctx, srv->ws_seen, WS_FAN, &rows) != 0) {
		srv_log(srv, VC_SERVE_LOG_ERROR, "websocket poll: %s", ctx->errmsg);
		return;
	}
	jv_array_foreach(rows, i, r) {
		jv tenant = jv_object_get(jv_copy(r), jv_string("_tenant"));
		jv user = jv_object_get(jv_copy(r), jv_string("_user"));
		int64_t id = vc_arg_int(r, "id", 0), min_role = vc_arg_int(r, "_min_role", 0);
		jv text;
		size_t len;

		r = jv_object_delete(jv_object_delete(jv_object_delete(r, jv_string("_tenant")),
		    jv_string("_user")), jv_string("_min_role"));
		text = jv_dump_string(jv_object_set(r, jv_string("type"), jv_string("notification")), 0);
		len = (size_t)jv_string_length_bytes(jv_copy(text));
		for (struct conn *c = srv->conns; c != NULL; c = c->next) {
			struct wsconn *w = c->ws;

			if (c->state != CS_WS || w == NULL || !w->authed || w->closing || w->more ||
			    id <= w->cursor || jv_get_kind(tenant) != JV_KIND_STRING ||
			    !ws_may_see(w, jv_string_value(tenant),
			    jv_get_kind(user) == JV_KIND_STRING ? jv_string_value(user) : NULL, (int)min_role))
				continue;
			if (c->out.len - c->out_off >= WS_QUEUE_MAX / 2) {
				w->more = 1;    /* it catches up by its own query */
				continue;
			}
			if (ws_send(c, VC_WS_TEXT, jv_string_value(text), len) == 0)
				w->cursor = id;
		}
		srv->ws_seen = id;
		n++;
		jv_free(text);
		jv_free(tenant);
		jv_free(user);
	}
	jv_free(rows);
	srv->ws_more = n == WS_FAN;
}

/*
 * Did another connection commit?  Then push.  On SQLite PRAGMA
 * data_version says so; on PostgreSQL the listener thread's ws_wake.
 */
static void
ws_poll(struct vc_serve *srv)
{
	int changed;

	if (srv->ws_authed <= 0)
		return;
	if (srv->ws_listen)
		changed = atomic_exchange(&srv->ws_wake, 0);
	else {
		int64_t v = vc_store_data_version(&srv->lctx);

		changed = v >= 0 && v != srv->ws_ver;
		if (v >= 0)
			srv->ws_ver = v;
	}
	if (changed || srv->ws_more)
		ws_fan_out(srv);
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		if (c->state == CS_WS && c->ws != NULL && c->ws->authed && !c->ws->closing &&
		    c->ws->more)
			ws_push(c, WS_BATCH);
}

static void
ws_tick(lws_sorted_usec_list_t *sul)
{
	struct vc_serve *srv = lws_container_of(sul, struct vc_serve, wtick);

	ws_poll(srv);
	if (!srv->stopping)
		lws_sul_schedule(srv->lws, 0, &srv->wtick, ws_tick, WS_POLL_MS * LWS_US_PER_MS);
}

/* The opening handshake, or the refusal of it. */
static int
ws_open(struct conn *c)
{
	struct vc_serve *srv = c->srv;
	char acc[VC_WS_ACCEPT_LEN + 1];

	if (!c->req.conn_upgrade || c->req.upgrade == NULL || strcasecmp(c->req.upgrade, "websocket") != 0)
		return reject(c, 426, "this is a WebSocket: Upgrade: websocket");
	if (c->req.ws_version == NULL || strcmp(c->req.ws_version, "13") != 0) {
		c->close = 1;
		respond_error(c, 426, "WebSocket version 13 only", "Sec-WebSocket-Version: 13\r\n");
		return 1;
	}
	if (c->req.query != NULL && c->req.query[0] != '\0')
		return reject(c, 400, "no query: send {\"token\": ...} as the first message, never in the URL");
	if (c->req.origin != NULL && !origin_allowed(srv, c->req.origin))
		return reject(c, 403, "origin not allowed (vc-serve --cors-origin)");
	if (c->body_len > 0 || vc_ws_accept(c->req.ws_key, acc) != 0)
		return reject(c, 400, "bad WebSocket handshake");
	if (srv->stopping)
		return reject(c, 503, "server stopping");
	if ((c->ws = calloc(1, sizeof *c->ws)) == NULL)
		return reject(c, 500, "internal error");
	request_start(c);
	out_begin(c);
	sb_fmt(&c->out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
	if (c->out.oom)
		return -1;
	access_log(c, 101, 0);
	request_reset(c);
	c->state = CS_WS;
	c->ws->t_auth = mono_ms() + WS_AUTH_MS;
	conn_timeout(c, srv->cfg.write_timeout);
	lws_callback_on_writable(c->wsi);
	lws_set_timer_usecs(c->wsi, LWS_US_PER_SEC);
	lws_rx_flow_control(c->wsi, 1);
	/* Frames that came with the head. */
	return ws_frames(c) < 0 ? -1 : 1;
}

/* The request is complete: answer here or hand it to a worker. */
static int
dispatch(struct conn *c)
{
	struct vc_serve *srv = c->srv;
	const struct vc_op *op;
	char allow[96], extra[512];
	struct job *j;
	jv pa;
	int ok = 0;

	c->state = CS_WAIT;
	conn_timeout(c, 0);
	lws_rx_flow_control(c->wsi, 0);
	if (strcmp(c->req.method, "HEAD") == 0) {
		/* A reply to HEAD has no body, so nothing else can follow. */
		c->head_only = 1;
		c->close = 1;
	}

	if (strcmp(c->req.method, "OPTIONS") == 0) {
		if (strcmp(c->req.path, "*") == 0)
			snprintf(allow, sizeof allow, "GET, POST, PUT, PATCH, DELETE, OPTIONS");
		else
			allow_list(c->req.path, allow, sizeof allow);
		if (allow[0] == '\0') {
			respond_error(c, 404, "no such path", NULL);
			return 1;
		}
		if (origin_allowed(srv, c->req.origin) && c->req.acr_method != NULL)
			snprintf(extra, sizeof extra, "Allow: %s\r\n"
			    "Access-Control-Allow-Methods: %s\r\n"
			    "Access-Control-Allow-Headers: Authorization, Content-Type\r\n"
			    "Access-Control-Max-Age: 600\r\n", allow, allow);
		else
			snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
		respond(c, 204, NULL, 0, extra);
		return 1;
	}

	if (strcmp(c->req.path, WS_PATH) == 0 && strcmp(c->req.method, "GET") == 0)
		return ws_open(c);
	pa = jv_object();
	op = vc_op_route(c->req.method, c->req.path, &pa, &ok);
	jv_free(pa);
	if (op == NULL) {
		if (ok) {
			allow_list(c->req.path, allow, sizeof allow);
			snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
			respond_error(c, 405, "method not allowed", extra);
		} else
			respond_error(c, 404, "no such path", NULL);
		return 1;
	}
	if ((op->flags & VC_OP_LOOP) && c->body_len == 0 &&
	    (c->req.query == NULL || c->req.query[0] == '\0')) {
		loop_answer(c, op);
		return 1;
	}
	if (rate_limited(c, op))
		return 1;
	if ((j = job_new(c)) == NULL) {
		c->close = 1;
		respond_error(c, 500, "internal error", NULL);
		return 1;
	}
	if (job_submit(srv, j) != 0) {
		job_free(j);
		respond_error(c, 503, "server busy, retry", "Retry-After: 1\r\n");
		return 1;
	}
	c->job = j;
	return 1;
}

/* Reject the request and close after the reply: its framing is unknown. */
static int
reject(struct conn *c, int status, const char *why)
{
	c->close = 1;
	respond_error(c, status, why, NULL);
	return 1;
}

/* Collect the request head; 1 when the state moved on, 0 for more data. */
static int
head_step(struct conn *c)
{
	const struct vc_serve_config *cfg = &c->srv->cfg;
	char why[256] = "";
	char *le, *end;
	size_t skip = 0, hl;
	int st, input, method_ok = 0;
	const struct vc_op *op;
	jv pa;

	/* RFC 9112 2.2: ignore empty lines before a request line. */
	while (skip < 8 && skip + 1 < c->in_len && c->in[skip] == '\r' && c->in[skip + 1] == '\n')
		skip += 2;
	if (skip > 0)
		in_consume(c, skip);
	if (c->in_len == 0)
		return 0;

	end = memmem(c->in + c->scan, c->in_len - c->scan, "\r\n\r\n", 4);
	/* Refuse bare CR, bare LF and NUL as they arrive instead of waiting
	 * for a CRLF CRLF that may never come. */
	for (size_t lim = end ? (size_t)(end - c->in) + 4 : c->in_len; c->checked < lim; c->checked++) {
		char ch = c->in[c->checked];

		if (ch == '\0' || (ch == '\n' && (c->checked == 0 || c->in[c->checked - 1] != '\r')))
			return reject(c, 400, "bare LF or NUL in request head");
		if (ch == '\r' && c->checked + 1 == c->in_len)
			break;
		if (ch == '\r' && c->in[c->checked + 1] != '\n')
			return reject(c, 400, "bare CR in request head");
	}
	le = memmem(c->in, c->in_len < cfg->max_line + 2 ? c->in_len : cfg->max_line + 2, "\r\n", 2);
	if (le == NULL && c->in_len > cfg->max_line + 1)
		return reject(c, 414, "request line too long");
	if (end == NULL) {
		c->scan = c->in_len > 3 ? c->in_len - 3 : 0;
		if (le != NULL && c->in_len - (size_t)(le + 2 - c->in) > cfg->max_headers + 2)
			return reject(c, 431, "header section too large");
		return 0;
	}
	hl = (size_t)(end - c->in) + 4;
	if ((c->head = malloc(hl + 1)) == NULL)
		return -1;
	memcpy(c->head, c->in, hl);
	c->head[hl] = '\0';
	c->head_len = hl;
	in_consume(c, hl);
	if ((st = vc_serve_parse_head(c->head, hl, cfg, &c->req, why, sizeof why)) != 0)
		return reject(c, st, why[0] ? why : status_text(st));
	c->parsed = 1;
	if (c->req.close)
		c->close = 1;
	/* An import's body may be larger: it is streamed, never held. */
	pa = jv_object();
	op = vc_op_route(c->req.method, c->req.path, &pa, &method_ok);
	jv_free(pa);
	input = op != NULL && (op->flags & VC_OP_INPUT);
	if (c->req.content_length >= 0 &&
	    (uint64_t)c->req.content_length > (uint64_t)(input ? cfg->max_import : cfg->max_body))
		return reject(c, 413, "request body too large");
	if (c->req.chunked || c->req.content_length > 0) {
		c->state = CS_BODY;
		c->b0 = mono_ms();
		c->bpause = 0;
		c->braw = 0;
		body_wait(c);
		lws_set_timer_usecs(c->wsi, LWS_US_PER_SEC);
		/* An import starts now and reads its body as it comes; no
		 * "100 Continue" when there is no worker for it (503). */
		if (input && input_dispatch(c) != 0)
			return 1;
		if (c->req.expect_continue) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

			out_begin(c);
			sb_add(&c->out, cont, sizeof cont - 1);
			lws_callback_on_writable(c->wsi);
		}
		return 1;
	}
	return dispatch(c);
}

static int
body_step(struct conn *c)
{
	const struct vc_serve_config *cfg = &c->srv->cfg;
	size_t want, take;

	if (c->input)
		return input_step(c);
	if (c->req.chunked) {
		long n = vc_serve_chunked_feed(&c->chunk, c->in, c->in_len, &c->body,
		    &c->body_len, &c->body_cap, cfg->max_body);

		if (n == -1)
			return reject(c, 400, "bad chunked encoding");
		if (n < 0)
			return reject(c, 413, "request body too large");
		in_consume(c, (size_t)n);
		return c->chunk.done ? dispatch(c) : 0;
	}
	want = (size_t)c->req.content_length - c->body_len;
	take = c->in_len < want ? c->in_len : want;
	if (c->body_len + take + 1 > c->body_cap) {
		/* Grow with the data, not with the claimed length: a client
		 * announcing 1 MiB and sending nothing costs nothing. */
		size_t cap = c->body_cap ? c->body_cap : 16 * KIB;
		char *p;

		while (cap < c->body_len + take + 1)
			cap *= 2;
		if (cap > (size_t)c->req.content_length + 1)
			cap = (size_t)c->req.content_length + 1;
		if ((p = malloc(cap)) == NULL)
			return -1;
		if (c->body_len > 0)
			memcpy(p, c->body, c->body_len);
		vc_serve_wipe_free(c->body, c->body_cap);
		c->body = p;
		c->body_cap = cap;
	}
	memcpy(c->body + c->body_len, c->in, take);
	c->body_len += take;
	c->body[c->body_len] = '\0';
	in_consume(c, take);
	return c->body_len == (size_t)c->req.content_length ? dispatch(c) : 0;
}

static int
conn_advance(struct conn *c)
{
	int r = 1;

	while (r > 0 && (c->state == CS_HEAD || c->state == CS_BODY)) {
		if (c->state == CS_HEAD && c->in_len > 0 && !c->started) {
			request_start(c);
			/* A kept-alive connection gets a fresh head deadline
			 * from the first byte of each request. */
			if (c->nreq > 0)
				conn_timeout(c, c->srv->cfg.header_timeout);
		}
		r = c->state == CS_HEAD ? head_step(c) : body_step(c);
	}
	return r < 0 ? -1 : 0;
}

static int
conn_open(struct vc_serve *srv, struct conn *c, struct lws *wsi)
{
	unsigned char bin[16];
	int n;

	c->srv = srv;
	c->wsi = wsi;
	/* lws puts getpeername's error text in the buffer when the peer is
	 * gone already: only an address may reach the access log. */
	if (lws_get_peer_simple(wsi, c->ip, sizeof c->ip) == NULL ||
	    (inet_pton(AF_INET, c->ip, bin) != 1 && inet_pton(AF_INET6, c->ip, bin) != 1))
		snprintf(c->ip, sizeof c->ip, "%s", "unknown");
	if (srv->stopping) {
		c->srv = NULL;
		return -1;
	}
	if ((n = ip_inc(srv, c->ip)) < 0) {
		c->srv = NULL;
		return -1;
	}
	if (n > srv->cfg.max_conns_per_ip) {
		/* Best effort: the peer gets a reason, not just a reset.  Undo
		 * here: lws may not report RAW_CLOSE for a refused adoption. */
		(void)!send(lws_get_socket_fd(wsi), busy_reply, sizeof busy_reply - 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		/* No request was read, so no access line: the log says why. */
		srv_log(srv, VC_SERVE_LOG_ERROR, "%s: connection refused with 503: more than"
		    " --max-conns-per-ip %d open", c->ip, srv->cfg.max_conns_per_ip);
		ip_dec(srv, c->ip);
		c->srv = NULL;
		return -1;
	}
	/* Answers go out in more than one write (head, body, chunks): with
	 * Nagle's algorithm the second waits for the ACK of the first, which
	 * the client delays by up to 40 ms.  Every answer is whole when it
	 * is written, so nothing is gained by waiting. */
	{
		int one = 1;

		(void)setsockopt(lws_get_socket_fd(wsi), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof one);
	}
	c->counted = 1;
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	c->linked = 1;
	srv->nconns++;
	c->state = CS_HEAD;
	/* Slowloris: the first head must be complete this long after accept. */
	conn_timeout(c, srv->cfg.header_timeout);
	return 0;
}

static void
conn_close(struct conn *c)
{
	struct vc_serve *srv = c->srv;

	if (srv == NULL)
		return;
	if (c->job != NULL) {
		job_abandon(srv, c->job);
		c->job = NULL;
	}
	if (c->streaming && c->state != CS_WRITE)
		access_log(c, 200, c->sbytes);  /* cut short by the client */
	ws_free(c);
	request_reset(c);
	vc_serve_wipe_free(c->in, c->in_cap);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
	sb_wipe(&c->out);
	if (c->counted)
		ip_dec(srv, c->ip);
	c->counted = 0;
	if (c->linked) {
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			srv->conns = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		c->linked = 0;
		srv->nconns--;
	}
	if (srv->stopping && srv->nconns == 0)
		srv->done = 1;
	c->srv = NULL;
}

/* Answer 408 to a body that is too slow (body_slow); 1 when it was. */
static int
body_refuse_slow(struct conn *c)
{
	int64_t now = mono_ms();
	const char *why = body_slow(c, now);

	if (why == NULL)
		return 0;
	srv_log(c->srv, VC_SERVE_LOG_ERROR, "%s: %s (%llu bytes in %lld ms)", c->ip, why,
	    (unsigned long long)c->braw, (long long)body_time(c, now));
	if (c->input)
		input_fail(c, 408, why);
	else
		reject(c, 408, why);
	return 1;
}

/* Once a second while a body arrives: a trickle is refused even when
 * nothing comes at all for a while (less than the silence timeout). */
static void
body_tick(struct conn *c)
{
	if (c->srv == NULL || c->state != CS_BODY)
		return;
	if (!body_refuse_slow(c))
		lws_set_timer_usecs(c->wsi, LWS_US_PER_SEC);
}

static int
conn_rx(struct conn *c, const char *data, size_t len)
{
	if (len == 0 || c->state == CS_LINGER)
		return 0;
	if (c->state == CS_WS)
		return ws_rx(c, data, len);
	if ((c->state == CS_WAIT || c->state == CS_WRITE) && c->close)
		return 0;       /* the connection ends after this reply */
	if (in_append(c, data, len) != 0)
		return -1;
	if (c->state == CS_BODY) {
		c->braw += len;
		if (body_refuse_slow(c))
			return 0;
		body_wait(c);
	}
	if (c->state == CS_HEAD || c->state == CS_BODY)
		return conn_advance(c);
	return 0;
}

static int
conn_writeable(struct conn *c)
{
	struct vc_serve *srv = c->srv;
	size_t left = c->out.len - c->out_off;

	if (srv == NULL)
		return -1;
	if (c->state == CS_WS)
		return ws_writeable(c);
	if (c->out.len > 0 && left > 0) {
		size_t n = left < WRITE_CHUNK ? left : WRITE_CHUNK;

		if (lws_write(c->wsi, (unsigned char *)c->out.p + c->out_off, n, LWS_WRITE_RAW) < 0)
			return -1;
		c->out_off += n;
		if (c->state == CS_WRITE || c->streaming)
			conn_timeout(c, srv->cfg.write_timeout);
		/* Come back once lws has flushed it all, even the last piece. */
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	sb_wipe(&c->out);
	c->out_off = 0;
	if (c->streaming && c->job != NULL) {
		/* The worker is still at it: its next lines, if any yet. */
		if (stream_take(c) > 0) {
			if (c->out.oom)
				return -1;
			lws_callback_on_writable(c->wsi);
		} else
			conn_wait_timeout(c);
		return 0;
	}
	if (c->state != CS_WRITE)
		return 0;       /* that was a "100 Continue" */

	c->nreq++;
	request_reset(c);
	if (c->close || srv->stopping) {
		/*
		 * Lingering close: send FIN, then read and drop what the
		 * client still sends for a moment, so that a reset does not
		 * destroy the reply before it is read.
		 */
		shutdown(lws_get_socket_fd(c->wsi), SHUT_WR);
		c->state = CS_LINGER;
		conn_timeout(c, LINGER_SECS);
		lws_rx_flow_control(c->wsi, 1);
		return 0;
	}
	c->state = CS_HEAD;
	conn_timeout(c, srv->cfg.idle_timeout);
	lws_rx_flow_control(c->wsi, 1);
	if (c->in_len > 0)      /* a pipelined request is waiting */
		return conn_advance(c);
	return 0;
}

/* ---- the loop ------------------------------------------------------------ */

static void
accept_resume(lws_sorted_usec_list_t *sul)
{
	struct vc_serve *srv = lws_container_of(sul, struct vc_serve, resume);

	if (srv->lwsi != NULL)
		lws_rx_flow_control(srv->lwsi, 1);
}

static void
accept_all(struct vc_serve *srv)
{
	for (;;) {
		lws_sock_file_fd_type fd;
		int s = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (s < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: stop polling the listener
				 * for a moment rather than spin on it. */
				srv_log(srv, VC_SERVE_LOG_ERROR, "accept: %s", strerror(errno));
				lws_rx_flow_control(srv->lwsi, 0);
				lws_sul_schedule(srv->lws, 0, &srv->resume, accept_resume,
				    250 * LWS_US_PER_MS);
			}
			return;
		}
		if (srv->stopping || srv->nconns >= srv->cfg.max_conns) {
			(void)!send(s, busy_reply, sizeof busy_reply - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
			close(s);
			continue;
		}
		fd.sockfd = s;
		/* NULL means lws closed it already. */
		(void)lws_adopt_descriptor_vhost(srv->vh, LWS_ADOPT_SOCKET, fd, "vc-http", NULL);
	}
}

/*
 * Serve the streams the workers moved, then hand finished jobs back to
 * their connections.  The done list is taken first: a job on it may
 * still be on the ready list (it got there before it was done), never
 * the other way round, so no ready job is freed before it is seen.
 */
static void
drain_done(struct vc_serve *srv)
{
	struct job *j, *next;

	pthread_mutex_lock(&srv->mu);
	j = srv->dhead;
	srv->dhead = srv->dtail = NULL;
	pthread_mutex_unlock(&srv->mu);
	for (;;) {
		struct job *r;
		struct conn *c;

		pthread_mutex_lock(&srv->mu);
		if ((r = srv->rhead) != NULL) {
			if ((srv->rhead = r->rnext) == NULL)
				srv->rtail = NULL;
			r->ready = 0;
		}
		pthread_mutex_unlock(&srv->mu);
		if (r == NULL)
			break;
		if ((c = r->conn) == NULL || c->job != r)
			continue;       /* the connection went away */
		if (c->ipaused && c->state == CS_BODY)
			input_resume(c);
		if (c->job == r && r->stream)
			stream_kick(c);
	}
	for (; j != NULL; j = next) {
		struct conn *c = j->conn;

		next = j->next;
		if (c != NULL && c->job == j && (c->state == CS_WAIT || c->state == CS_BODY)) {
			if (j->sresp)
				stream_finish(c, j);
			else {
				c->job = NULL;
				/* An early answer to an import: the rest of its
				 * body is not read, so the connection ends. */
				if (c->state == CS_BODY)
					c->close = 1;
				respond(c, j->status, j->resp, j->resp_len,
				    j->extra[0] ? j->extra : NULL);
			}
		}
		job_free(j);
	}
}

/*
 * Requests that waited cfg.queue_wait for a worker get 503 + Retry-After:
 * the server is overloaded, and a client is better told so than kept
 * waiting.  The queues are in arrival order: only heads can be late.
 */
static void
queue_tick(lws_sorted_usec_list_t *sul)
{
	struct vc_serve *srv = lws_container_of(sul, struct vc_serve, qtick);
	int64_t late = mono_ms() - (int64_t)srv->cfg.queue_wait * 1000;
	struct job *expired = NULL, *j;
	struct jobq *qs[2] = { &srv->q, &srv->sq };

	pthread_mutex_lock(&srv->mu);
	for (int i = 0; i < 2; i++)
		while ((j = qs[i]->head) != NULL && j->tq <= late) {
			jobq_remove(qs[i], j);
			srv->qlen--;
			j->where = J_DONE;
			j->next = expired;
			expired = j;
		}
	pthread_mutex_unlock(&srv->mu);
	for (; expired != NULL; expired = j) {
		struct conn *c = expired->conn;

		j = expired->next;
		if (c != NULL && c->job == expired) {
			c->job = NULL;
			if (c->state == CS_BODY) {
				/* An import: its body will not be read. */
				c->input = 0;
				c->close = 1;
			}
			srv_log(srv, VC_SERVE_LOG_ERROR, "request %s waited %d s for a worker: 503",
			    expired->rid, srv->cfg.queue_wait);
			respond_error(c, 503, "server busy, retry", "Retry-After: 1\r\n");
		}
		job_free(expired);
	}
	lws_sul_schedule(srv->lws, 0, &srv->qtick, queue_tick, QUEUE_TICK_MS * LWS_US_PER_MS);
}

/* Anchor lines go to the system log, as the security facility asks. */
static void
anchor_notice(vc_ctx *ctx, const char *line, void *arg)
{
	(void)ctx, (void)arg;
	syslog(LOG_AUTH | LOG_INFO, "%s", line);
}

/*
 * Anchor every audit chain, on the loop's own store connection: one
 * indexed read per tenant, no transaction held, and a small append and
 * fsync when there is an anchor file.
 */
static void
anchor_now(struct vc_serve *srv)
{
	vc_ctx *ctx = &srv->lctx;
	jv out = jv_invalid();
	int rc;

	vc_ctx_reset(ctx);
	ctx->front = VC_FRONT_HTTP;
	ctx->notice = anchor_notice;
	if ((rc = vc_audit_anchor(ctx, srv->cfg.anchor_file, &out)) != VC_EOK)
		srv_log(srv, VC_SERVE_LOG_ERROR, "audit anchor: %s",
		    ctx->errmsg[0] ? ctx->errmsg : vc_err_name(rc));
	jv_free(out);
}

static void
anchor_tick(lws_sorted_usec_list_t *sul)
{
	struct vc_serve *srv = lws_container_of(sul, struct vc_serve, atick);

	anchor_now(srv);
	lws_sul_schedule(srv->lws, 0, &srv->atick, anchor_tick,
	    (lws_usec_t)srv->cfg.anchor_ms * LWS_US_PER_MS);
}

static void
stop_tick(lws_sorted_usec_list_t *sul)
{
	struct vc_serve *srv = lws_container_of(sul, struct vc_serve, tick);

	if (srv->nconns == 0 || mono_ms() >= srv->deadline)
		srv->done = 1;
	else
		lws_sul_schedule(srv->lws, 0, &srv->tick, stop_tick, 100 * LWS_US_PER_MS);
}

/* Stop accepting, drop idle connections, let in-flight requests finish. */
static void
begin_stop(struct vc_serve *srv)
{
	srv->stopping = 1;
	srv->deadline = mono_ms() + (int64_t)srv->cfg.drain_timeout * 1000;
	if (srv->lwsi != NULL)
		lws_set_timeout(srv->lwsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	for (struct conn *c = srv->conns; c != NULL; c = c->next) {
		c->close = 1;
		if (c->state == CS_WS)
			ws_close(c, VC_WS_GOING_AWAY, "server stopping");
		if ((c->state == CS_HEAD && !c->started) || c->state == CS_LINGER)
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	}
	if (srv->nconns == 0)
		srv->done = 1;
	else
		lws_sul_schedule(srv->lws, 0, &srv->tick, stop_tick, 100 * LWS_US_PER_MS);
}

static int
serve_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct vc_serve *srv = lws_context_user(lws_get_context(wsi));
	struct conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:          /* the listening socket */
		if (wsi == srv->lwsi)
			accept_all(srv);
		return 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (wsi == srv->lwsi) {
			srv->lwsi = NULL;
			srv->lfd = -1;  /* lws closes it */
		}
		return 0;
	case LWS_CALLBACK_RAW_ADOPT:
		return conn_open(srv, c, wsi);
	case LWS_CALLBACK_RAW_RX:
		return c->srv != NULL ? conn_rx(c, in, len) : -1;
	case LWS_CALLBACK_RAW_WRITEABLE:
		return conn_writeable(c);
	case LWS_CALLBACK_TIMER:
		if (c->srv != NULL && c->state == CS_WS)
			ws_timer(c);
		else
			body_tick(c);
		return 0;
	case LWS_CALLBACK_RAW_CLOSE:
		conn_close(c);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		drain_done(srv);
		/* The listener saw a commit: push now, not at the next tick. */
		if (srv->ws_listen && atomic_load(&srv->ws_wake) && !srv->stopping)
			ws_poll(srv);
		if (atomic_load(&srv->stop) && !srv->stopping)
			begin_stop(srv);
		return 0;
	default:
		return 0;
	}
}

/* ---- lifecycle ------------------------------------------------------------ */

static int
listen_open(vc_ctx *ctx, struct vc_serve *srv)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)&ss;
	socklen_t sl;
	int fd, one = 1, port, v6 = 0;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, srv->cfg.addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)srv->cfg.port);
		sl = sizeof *a4;
	} else if (inet_pton(AF_INET6, srv->cfg.addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)srv->cfg.port);
		sl = sizeof *a6;
		v6 = 1;
	} else
		return vc_fail(ctx, VC_EUSAGE, "bad listen address '%s'", srv->cfg.addr);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return vc_fail(ctx, VC_EINTERNAL, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 511) != 0) {
		int e = errno;

		close(fd);
		return vc_fail(ctx, VC_ECONFIG, "cannot listen on %s%s%s:%d: %s",
		    v6 ? "[" : "", srv->cfg.addr, v6 ? "]" : "", srv->cfg.port, strerror(e));
	}
	sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	port = ntohs(v6 ? a6->sin6_port : a4->sin_port);
	snprintf(srv->url, sizeof srv->url, "http://%s%s%s:%d",
	    v6 ? "[" : "", srv->cfg.addr, v6 ? "]" : "", port);
	srv->lfd = fd;
	return VC_EOK;
}

void
vc_serve_url(const struct vc_serve *srv, char *buf, size_t n)
{
	snprintf(buf, n, "%s", srv->url);
}

static void
workers_stop(struct vc_serve *srv)
{
	struct job *q, *next;

	pthread_mutex_lock(&srv->mu);
	srv->wstop = 1;
	if (srv->q.tail != NULL)
		srv->q.tail->next = srv->sq.head;
	q = srv->q.head != NULL ? srv->q.head : srv->sq.head;
	srv->q.head = srv->q.tail = srv->sq.head = srv->sq.tail = NULL;
	srv->qlen = 0;
	pthread_cond_broadcast(&srv->cv);
	pthread_cond_broadcast(&srv->scv);      /* workers blocked on a stream */
	pthread_mutex_unlock(&srv->mu);
	for (; q != NULL; q = next) {
		next = q->next;
		if (q->conn != NULL)
			q->conn->job = NULL;
		job_free(q);
	}
	for (int i = 0; i < srv->nworkers; i++)
		if (srv->workers[i].started) {
			pthread_join(srv->workers[i].th, NULL);
			srv->workers[i].started = 0;
		}
	/* Jobs finished while we waited: their connections are about to go.
	 * Every job on the ready list is among them. */
	pthread_mutex_lock(&srv->mu);
	q = srv->dhead;
	srv->dhead = srv->dtail = NULL;
	srv->rhead = srv->rtail = NULL;
	pthread_mutex_unlock(&srv->mu);
	for (; q != NULL; q = next) {
		next = q->next;
		if (q->conn != NULL)
			q->conn->job = NULL;
		job_free(q);
	}
}

static void
lws_teardown(struct vc_serve *srv)
{
	struct lws_context *lc;

	pthread_mutex_lock(&srv->stopmu);
	lc = srv->lws;
	pthread_mutex_unlock(&srv->stopmu);
	if (lc != NULL)
		lws_context_destroy(lc);  /* closes every connection */
	pthread_mutex_lock(&srv->stopmu);
	srv->lws = NULL;
	pthread_mutex_unlock(&srv->stopmu);
	if (srv->lfd >= 0)
		close(srv->lfd);
	srv->lfd = -1;
	srv->lwsi = NULL;
}

void
vc_serve_free(struct vc_serve *srv)
{
	if (srv == NULL)
		return;
	listen_stop(srv);
	forward_stop(srv);
	playbook_stop(srv);
	mail_stop(srv);
	report_stop(srv);
	workers_stop(srv);
	lws_teardown(srv);
	for (int i = 0; i < srv->nworkers; i++)
		vc_ctx_release(&srv->workers[i].ctx);
	free(srv->workers);
	free(srv->users);
	if (srv->lctx_open)
		vc_ctx_release(&srv->lctx);
	if (srv->mctx_open)
		vc_ctx_release(&srv->mctx);
	if (srv->pctx_open)
		vc_ctx_release(&srv->pctx);
	if (srv->rctx_open)
		vc_ctx_release(&srv->rctx);
	if (srv->fctx_open)
		vc_ctx_release(&srv->fctx);
	if (srv->nctx_open)
		vc_ctx_release(&srv->nctx);
	for (int i = 0; i < 2; i++)
		if (srv->npipe[i] >= 0)
			close(srv->npipe[i]);
	for (int i = 0; i < LOOP_OPS; i++)
		free(srv->lcache[i].body);
	vc_limit_free(srv->lim_auth);
	vc_limit_free(srv->lim_signup);
	for (int i = 0; i < IPT_SIZE; i++)
		while (srv->ipt[i] != NULL) {
			struct ipent *e = srv->ipt[i];

			srv->ipt[i] = e->next;
			free(e);
		}
	if (log_srv == srv) {
		lws_set_log_level(0, NULL);
		log_srv = NULL;
	}
	pthread_mutex_destroy(&srv->mu);
	pthread_cond_destroy(&srv->cv);
	pthread_cond_destroy(&srv->scv);
	pthread_mutex_destroy(&srv->stopmu);
	pthread_mutex_destroy(&srv->logmu);
	pthread_mutex_destroy(&srv->mmu);
	pthread_cond_destroy(&srv->mcv);
	pthread_mutex_destroy(&srv->pmu);
	pthread_cond_destroy(&srv->pcv);
	pthread_mutex_destroy(&srv->rmu);
	pthread_cond_destroy(&srv->rcv);
	pthread_mutex_destroy(&srv->fmu);
	pthread_cond_destroy(&srv->fcv);
	free(srv);
}

int
vc_serve_new(vc_ctx *ctx, const struct vc_serve_config *cfg, struct vc_serve **out)
{
	struct lws_context_creation_info info;
	struct vc_serve *srv;
	struct rlimit rl;
	char path[4096];
	long ncpu;
	int rc, i, nw;
	lws_sock_file_fd_type lfd;

	*out = NULL;
	if (cfg->max_body == 0 || cfg->max_body > 256 * (size_t)MIB)
		return vc_fail(ctx, VC_EUSAGE, "--max-body must be 1 to %d bytes", 256 * MIB);
	if (cfg->max_import == 0 || (uint64_t)cfg->max_import > VC_SERVE_MAX_IMPORT)
		return vc_fail(ctx, VC_EUSAGE, "--max-import must be 1 to %llu bytes",
		    (unsigned long long)VC_SERVE_MAX_IMPORT);
	for (i = 0; i < cfg->ncors; i++)
		if ((rc = vc_serve_check_origin(ctx, cfg->cors[i])) != VC_EOK)
			return rc;
	if ((srv = calloc(1, sizeof *srv)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	srv->cfg = *cfg;
	srv->lfd = -1;
	srv->npipe[0] = srv->npipe[1] = -1;
	pthread_mutex_init(&srv->mu, NULL);
	pthread_cond_init(&srv->cv, NULL);
	pthread_cond_init(&srv->scv, NULL);
	pthread_mutex_init(&srv->stopmu, NULL);
	pthread_mutex_init(&srv->logmu, NULL);
	pthread_mutex_init(&srv->mmu, NULL);
	pthread_cond_init(&srv->mcv, NULL);
	pthread_mutex_init(&srv->pmu, NULL);
	pthread_cond_init(&srv->pcv, NULL);
	pthread_mutex_init(&srv->rmu, NULL);
	pthread_cond_init(&srv->rcv, NULL);
	pthread_mutex_init(&srv->fmu, NULL);
	pthread_cond_init(&srv->fcv, NULL);

	/*
	 * Workers spend much of their time waiting, not computing: on the
	 * disk, on a Velociraptor server, on a client reading a stream or
	 * sending an import.  So more of them than cores, each with its own
	 * store connection (a page cache of its own: 64 at most).  But only
	 * amax compute at once, one more than the processors (the one more
	 * covers a read that waits on the disk, which no hook reports): with
	 * every worker runnable, the scheduler's sharing two cores among
	 * eight put 30 ms into the tail of a busy search (bench/README.md).
	 */
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nw = cfg->workers > 0 ? cfg->workers : ncpu > 0 ? 4 * (int)ncpu : 4;
	if (cfg->workers <= 0 && nw < 4)
		nw = 4;
	if (cfg->workers <= 0 && nw > 64)
		nw = 64;
	if (nw > 256)
		nw = 256;
	srv->amax = cfg->active > 0 ? cfg->active : ncpu > 0 ? (int)ncpu + 1 : 2;
	if (srv->amax > nw)
		srv->amax = nw;
	/* Requests wait for a worker (cfg.queue_wait at most, see
	 * queue_tick): a burst is the loop's to absorb, not an error. */
	srv->qmax = cfg->queue_max > 0 ? cfg->queue_max : 4096;
	/* A quarter of the workers (one at least) never serve streams. */
	srv->smax = nw - (nw / 4 > 1 ? nw / 4 : 1);
	if (srv->smax < 1)
		srv->smax = 1;
	if (srv->cfg.max_streams <= 0)
		srv->cfg.max_streams = 1;
	if ((srv->users = calloc((size_t)srv->smax, sizeof *srv->users)) == NULL) {
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
		goto fail;
	}
	if ((cfg->auth_rate > 0 &&
	    (srv->lim_auth = vc_limit_new(cfg->auth_rate / 60.0, cfg->auth_rate, LIMIT_KEYS)) == NULL) ||
	    (cfg->register_rate > 0 &&
	    (srv->lim_signup = vc_limit_new(cfg->register_rate / 3600.0, cfg->register_rate,
	    LIMIT_KEYS)) == NULL)) {
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
		goto fail;
	}
	if (srv->cfg.max_conns <= 0) {
		srv->cfg.max_conns = 1024;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur < (rlim_t)srv->cfg.max_conns + 64 + (rlim_t)nw * 4)
			srv->cfg.max_conns = (int)rl.rlim_cur - 64 - nw * 4;
		if (srv->cfg.max_conns < 8)
			srv->cfg.max_conns = 8;
	}

	/* One store connection per worker: SQLite connections are not shared. */
	if ((rc = vc_store_path(ctx, cfg->db_path, path, sizeof path)) != VC_EOK)
		goto fail;
	if ((srv->workers = calloc((size_t)nw, sizeof *srv->workers)) == NULL) {
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
		goto fail;
	}
	for (i = 0; i < nw; i++) {
		struct worker *w = &srv->workers[i];

		w->srv = srv;
		vc_ctx_init(&w->ctx);
		w->ctx.front = VC_FRONT_HTTP;
		srv->nworkers = i + 1;  /* what vc_serve_free releases */
		if ((rc = vc_store_open(&w->ctx, path, 0)) != VC_EOK) {
			vc_fail(ctx, rc, "%s", w->ctx.errmsg);
			goto fail;
		}
	}
	randombytes_buf(&srv->rid_base, sizeof srv->rid_base);
	/* The loop's own, for /health. */
	vc_ctx_init(&srv->lctx);
	srv->lctx_open = 1;
	if ((rc = vc_store_open(&srv->lctx, path, 0)) != VC_EOK) {
		vc_fail(ctx, rc, "%s", srv->lctx.errmsg);
		goto fail;
	}

	if (cfg->mail_interval > 0 || cfg->retention_s > 0) {
		vc_ctx_init(&srv->mctx);
		srv->mctx_open = 1;
		if ((rc = vc_store_open(&srv->mctx, path, 0)) != VC_EOK) {
			vc_fail(ctx, rc, "%s", srv->mctx.errmsg);
			goto fail;
		}
	}
	if (cfg->playbook_interval > 0) {
		vc_ctx_init(&srv->pctx);
		srv->pctx_open = 1;
		if ((rc = vc_store_open(&srv->pctx, path, 0)) != VC_EOK) {
			vc_fail(ctx, rc, "%s", srv->pctx.errmsg);
			goto fail;
		}
	}

	vc_ctx_init(&srv->rctx);
	srv->rctx_open = 1;
	if ((rc = vc_store_open(&srv->rctx, path, 0)) != VC_EOK) {
		vc_fail(ctx, rc, "%s", srv->rctx.errmsg);
		goto fail;
	}
	if (cfg->forward_interval > 0) {
		vc_ctx_init(&srv->fctx);
		srv->fctx_open = 1;
		if ((rc = vc_store_open(&srv->fctx, path, 0)) != VC_EOK) {
			vc_fail(ctx, rc, "%s", srv->fctx.errmsg);
			goto fail;
		}
	}

	/* PostgreSQL: the notifications' listener (started with the loop). */
	if (vc_store_is_pg_url(path)) {
		vc_ctx_init(&srv->nctx);
		srv->nctx_open = 1;
		snprintf(srv->dbpath, sizeof srv->dbpath, "%s", path);
		if (pipe2(srv->npipe, O_CLOEXEC | O_NONBLOCK) != 0) {
			rc = vc_fail(ctx, VC_EINTERNAL, "pipe: %s", strerror(errno));
			goto fail;
		}
		srv->ws_listen = 1;
	}

	if ((rc = listen_open(ctx, srv)) != VC_EOK)
		goto fail;

	log_srv = srv;
	lws_set_log_level(LLL_ERR, lws_log_hook);
	srv->protocols[0].name = "vc-http";
	srv->protocols[0].callback = serve_cb;
	srv->protocols[0].per_session_data_size = sizeof(struct conn);
	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = srv->protocols;
	info.gid = -1;
	info.uid = -1;
	info.user = srv;
	info.pt_serv_buf_size = 16 * KIB;
	info.timeout_secs = (unsigned)srv->cfg.body_timeout;
	info.vhost_name = "vc-serve";
	if ((srv->lws = lws_create_context(&info)) == NULL ||
	    (srv->vh = lws_create_vhost(srv->lws, &info)) == NULL) {
		rc = vc_fail(ctx, VC_EINTERNAL, "cannot start the event loop");
		goto fail;
	}
	lfd.filefd = srv->lfd;
	if ((srv->lwsi = lws_adopt_descriptor_vhost(srv->vh, LWS_ADOPT_RAW_FILE_DESC, lfd,
	    "vc-http", NULL)) == NULL) {
		srv->lfd = -1;  /* closed by lws */
		rc = vc_fail(ctx, VC_EINTERNAL, "cannot watch the listening socket");
		goto fail;
	}

	for (i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
			rc = vc_fail(ctx, VC_EINTERNAL, "cannot start worker threads");
			goto fail;
		}
		w->started = 1;
	}
	if (cfg->mail_interval > 0 || cfg->retention_s > 0) {
		if (pthread_create(&srv->mth, NULL, mail_main, srv) != 0) {
			rc = vc_fail(ctx, VC_EINTERNAL, "cannot start the mail thread");
			goto fail;
		}
		srv->mstarted = 1;
	}
	if (cfg->playbook_interval > 0) {
		if (pthread_create(&srv->pth, NULL, playbook_main, srv) != 0) {
			rc = vc_fail(ctx, VC_EINTERNAL, "cannot start the playbook thread");
			goto fail;
		}
		srv->pstarted = 1;
	}
	if (pthread_create(&srv->rth, NULL, report_main, srv) != 0) {
		rc = vc_fail(ctx, VC_EINTERNAL, "cannot start the report thread");
		goto fail;
	}
	srv->rstarted = 1;
	if (cfg->forward_interval > 0) {
		if (pthread_create(&srv->fth, NULL, forward_main, srv) != 0) {
			rc = vc_fail(ctx, VC_EINTERNAL, "cannot start the forwarder thread");
			goto fail;
		}
		srv->fstarted = 1;
	}
	if (srv->ws_listen) {
		if (pthread_create(&srv->nth, NULL, listen_main, srv) != 0) {
			rc = vc_fail(ctx, VC_EINTERNAL, "cannot start the notifications' listener thread");
			goto fail;
		}
		srv->nstarted = 1;
	}
	lws_sul_schedule(srv->lws, 0, &srv->qtick, queue_tick, QUEUE_TICK_MS * LWS_US_PER_MS);
	lws_sul_schedule(srv->lws, 0, &srv->wtick, ws_tick, WS_POLL_MS * LWS_US_PER_MS);
	if (srv->cfg.anchor_ms > 0)
		lws_sul_schedule(srv->lws, 0, &srv->atick, anchor_tick,
		    (lws_usec_t)srv->cfg.anchor_ms * LWS_US_PER_MS);
	if (strcmp(srv->cfg.addr, "127.0.0.1") != 0 && strcmp(srv->cfg.addr, "::1") != 0 &&
	    strncmp(srv->cfg.addr, "127.", 4) != 0)
		srv_log(srv, VC_SERVE_LOG_ERROR,
		    "warning: %s is not a loopback address and vc-serve speaks plain HTTP: "
		    "put a TLS proxy in front", srv->cfg.addr);
	*out = srv;
	return VC_EOK;
fail:
	vc_serve_free(srv);
	return rc;
}

int
vc_serve_run(vc_ctx *ctx, struct vc_serve *srv)
{
	int rc = VC_EOK;

	while (!srv->done)
		if (lws_service(srv->lws, 0) < 0) {
			rc = vc_fail(ctx, VC_EINTERNAL, "the event loop failed");
			break;
		}
	/* The forwarder first: a delivery under way is cut short now, while
	 * the workers finish their requests. */
	__atomic_store_n(&srv->fwd_stop, 1, __ATOMIC_RELAXED);
	listen_stop(srv);
	workers_stop(srv);
	forward_stop(srv);
	playbook_stop(srv);
	mail_stop(srv);
	report_stop(srv);
	/* The last word: every record written before the stop is anchored. */
	anchor_now(srv);
	lws_teardown(srv);
	return rc;
}

void
vc_serve_stop(struct vc_serve *srv)
{
	atomic_store(&srv->stop, 1);
	pthread_mutex_lock(&srv->stopmu);
	if (srv->lws != NULL)
		lws_cancel_service(srv->lws);
	pthread_mutex_unlock(&srv->stopmu);
}
