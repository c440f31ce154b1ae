/* SPDX-License-Identifier: MIT */
/*
 * http.h - the pure half of vc-serve: its configuration and the parsers
 * of what a client sends (the HTTP/1.1 request head, chunked bodies,
 * form and query text, JSON nesting).  No sockets, no threads, no store:
 * only bytes in and values out, so that unit tests and fuzz targets
 * (tests/fuzz/) can drive the same code the server runs.
 *
 * The names keep vc-serve's prefix: they are its parsers and its
 * configuration, and cmd/vc-serve.c and serve.c call them by those names.
 *
 * Nothing here prints or keeps state between calls, except what the
 * caller holds (struct vc_serve_chunked).  Every parser of untrusted
 * bytes takes a length and never reads past it.
 */
#ifndef VC_HTTP_H
#define VC_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "core/vc.h"

#define VC_SERVE_MAX_CORS 16
#define VC_SERVE_MAX_IMPORT (1ULL << 40)       /* --max-import: 1 TiB */
#define VC_SERVE_MAX_FORM_PAIRS 256            /* parameters in a form or query */

/* A log line is one request (ACCESS) or anything else (ERROR). */
enum { VC_SERVE_LOG_ACCESS = 0, VC_SERVE_LOG_ERROR = 1 };
/* Receives one log line (no trailing newline).  Never gets secrets,
 * bodies, headers or query strings. */
typedef void vc_serve_log_fn(void *arg, int kind, const char *line);

struct vc_serve_config {
	const char *db_path;    /* --db; NULL: $VC_DB, then the XDG default */
	char addr[64];          /* numeric IPv4 or IPv6 address to bind */
	int port;
	int workers;            /* worker threads; 0: 4 per CPU, 4 to 64 */
	int active;             /* of them computing at once; 0: CPUs + 1 */
	int queue_max;          /* requests waiting for a worker; 0: 4096 */
	int queue_wait;         /* s a request may wait for one (then 503) */
	int max_streams;        /* streamed requests (JSON Lines answers,
	                         * imports) one user may run at once */
	const char *cors[VC_SERVE_MAX_CORS];    /* exact allowed origins */
	int ncors;
	size_t max_body;        /* request body bytes */
	size_t max_import;      /* body bytes of an import (VC_OP_INPUT),
	                         * streamed to the worker, never held whole */
	size_t max_line;        /* request line bytes (414) */
	size_t max_headers;     /* header section bytes (431) */
	int max_fields;         /* header fields (431) */
	int max_json_depth;
	int header_timeout;     /* s to a complete head: from accept, then
	                         * from the first byte of each later request */
	int body_timeout;       /* s of silence while a body is arriving */
	int body_deadline;      /* s for a whole body (an import's: 60 times
	                         * as long); 0: none */
	int min_body_rate;      /* bytes/s a body must keep up, averaged from
	                         * its start once 5 s have passed; 0: none */
	int idle_timeout;       /* s a kept-alive connection may sit idle */
	int write_timeout;      /* s of no progress writing a response */
	int drain_timeout;      /* s for in-flight requests on stop */
	int max_conns;          /* open connections; 0: 1024 or what the
	                         * descriptor limit allows */
	int max_conns_per_ip;
	int auth_rate;          /* credential requests (login, refresh, ...)
	                         * an address may make a minute; 0: no limit */
	int register_rate;      /* registrations an address may make an hour */
	int mail_interval;      /* s between rounds of the outbox's delivery
	                         * thread (a queued mail wakes it at once);
	                         * 0: no delivery thread */
	int playbook_interval;  /* s between rounds of the playbook triggers
	                         * (vc_pb_due_all); 0: none (cron runs them) */
	int forward_interval;   /* s between looks of the channels' forwarder
	                         * at the store (a pass when it changed);
	                         * 0: none (vc-notify forward from cron) */
	int64_t anchor_ms;      /* ms between audit anchors; 0: only at stop */
	int64_t retention_s;    /* events and notifications older than this
	                         * are pruned (not past a channel's cursor),
	                         * at start and every prune_s; 0: kept */
	int prune_s;
	const char *anchor_file; /* anchors appended here too; NULL: syslog only */
	vc_serve_log_fn *log;
	void *log_arg;
};

/* Defaults: 127.0.0.1:8000, 1 MiB body, 256 MiB import body, 8 KiB line,
 * 16 KiB / 100 header fields, JSON depth 32, timeouts 10/30/60/30 s,
 * body deadline 60 s, minimum body rate 1 KiB/s, drain 5 s, queue wait
 * 5 s, 2 streams a user, 32 connections an address, 30 credential
 * requests a minute and 10 registrations an hour an address, audit
 * anchors every 5 minutes, the forwarder looking every second. */
void vc_serve_config_init(struct vc_serve_config *cfg);

/* Parse "ADDR:PORT" or "[V6ADDR]:PORT" (numeric) into cfg (VC_EUSAGE). */
int vc_serve_parse_listen(vc_ctx *ctx, const char *s,
    struct vc_serve_config *cfg);
/* Check an --cors-origin value: scheme://host[:port], no path (VC_EUSAGE). */
int vc_serve_check_origin(vc_ctx *ctx, const char *origin);

/* ---- the request head ------------------------------------------------- */

/* The parts of a request head vc-serve uses; pointers into the buffer
 * given to vc_serve_parse_head, which it NUL-terminates in place. */
struct vc_serve_req {
	char *method;
	char *path;             /* percent-decoded in place, no query */
	char *query;            /* raw, without '?'; NULL when absent */
	int minor;              /* HTTP/1.minor */
	int64_t content_length; /* -1 when absent */
	int chunked;
	int close;              /* Connection: close, or HTTP/1.0 */
	int expect_continue;
	int accept_jsonl;       /* Accept prefers application/x-ndjson or
	                         * application/jsonl to application/json */
	int nfields;
	const char *content_type, *authorization, *origin, *user_agent;
	const char *acr_method; /* Access-Control-Request-Method */
	/* A WebSocket opening handshake (RFC 6455 4.2.1). */
	int conn_upgrade;       /* Connection lists "upgrade" */
	const char *upgrade, *ws_key, *ws_version;
};

/*
 * Parse a complete request head (request line, fields, the empty line) of
 * len bytes.  Returns 0, or the HTTP status to answer (400, 414, 417, 431,
 * 501, 505) with a reason in why; the connection must then be closed.
 * Limits come from cfg.  Strict on purpose (RFC 9112): CRLF line ends, no
 * obs-fold, no space before ':', one Host, one Content-Length value, no
 * Transfer-Encoding with Content-Length, no '%2F', dot segments or '//' in
 * the path.
 */
int vc_serve_parse_head(char *buf, size_t len, const struct vc_serve_config *cfg,
    struct vc_serve_req *req, char *why, size_t whylen);

/* ---- bodies ------------------------------------------------------------ */

/*
 * Decode application/x-www-form-urlencoded text (also a query string) of
 * len bytes into string members of *obj (an object, consumed and
 * replaced).  Returns 0, or -1 with a reason in why on bad encoding,
 * invalid UTF-8, NUL, an empty or duplicate name, or more than
 * VC_SERVE_MAX_FORM_PAIRS parameters.  On -1, *obj holds the members
 * decoded before the bad one; the caller frees it either way.
 */
int vc_serve_form_decode(const char *s, size_t len, jv *obj, char *why, size_t whylen);

/* Nesting depth of JSON text, ignoring brackets inside strings. */
int vc_serve_json_depth(const char *s, size_t len);

/*
 * Incremental chunked transfer-coding decoder.  vc_serve_chunked_feed consumes
 * from in[0..len) and appends data to out (at most max bytes in total).
 * Returns bytes consumed, or -1 (bad framing: 400) or -2 (over max: 413);
 * d->done is set after the last chunk and its trailer section.  Start
 * with d zeroed; *out (malloc'd, grown as needed) is the caller's to free.
 */
struct vc_serve_chunked {
	int state;
	uint64_t left;          /* bytes left in the current chunk */
	size_t line;            /* bytes of the current chunk-size line */
	size_t trailer;         /* bytes of the trailer section */
	int digits;
	int done;
};
long vc_serve_chunked_feed(struct vc_serve_chunked *d, const char *in, size_t len,
    char **out, size_t *outlen, size_t *outcap, size_t max);

/* ---- small helpers serve.c shares -------------------------------------- */

/* printf into why[whylen]; why NULL or whylen 0: nothing. */
void vc_serve_why(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Trim optional whitespace (SP / HTAB) at both ends, in place. */
char *vc_serve_trim_ows(char *s);
/* Wipe n bytes at p, then free it: buffers that held request heads,
 * bodies or responses carry passwords and tokens.  p may be NULL. */
void vc_serve_wipe_free(void *p, size_t n);

#endif
