/* SPDX-License-Identifier: MIT */
/*
 * vc.h - the core of libvc: error codes, the context every operation runs
 * in, and the principal it acts for.
 *
 * Ownership: lib/ never exits and never prints.  A function that fails
 * returns a VC_E* code and leaves a message in ctx->errmsg (vc_fail).
 * jv values follow jq's rule: a function consumes the jv it is given;
 * jv_copy() to keep one, jv_free() what you own.
 */
#ifndef VC_H
#define VC_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <jv.h>

#define VC_VERSION "0.1.0"

/*
 * Error codes of lib/.  Each maps to one exit status (a stable API, see
 * velocicompanion(7)) and one HTTP status.  Never renumber.
 */
enum vc_err {
	VC_EOK = 0,
	VC_EFINDINGS,   /* exit 1:   findings above --fail-on */
	VC_EUSAGE,      /* exit 64:  bad arguments            HTTP 400 */
	VC_EINVAL,      /* exit 65:  bad input data           HTTP 422 */
	VC_ECONFLICT,   /* exit 65:  already exists           HTTP 409 */
	VC_ETOOBIG,     /* exit 65:  input over a size limit  HTTP 413 */
	VC_ENOTFOUND,   /* exit 66:  no such record or file   HTTP 404 */
	VC_EUNAVAIL,    /* exit 69:  external service down    HTTP 502 */
	VC_EINTERNAL,   /* exit 70:  bug or I/O failure       HTTP 500 */
	VC_ETEMP,       /* exit 75:  busy, retry              HTTP 503 */
	VC_ERATE,       /* exit 75:  rate limited             HTTP 429 */
	VC_EAUTH,       /* exit 77:  not authenticated        HTTP 401 */
	VC_EPERM,       /* exit 77:  permission denied        HTTP 403 */
	VC_ECONFIG,     /* exit 78:  configuration error      HTTP 500 */
	VC_E__COUNT
};

/* Exit statuses (sysexits(3) where one fits). */
enum vc_exit {
	VC_EXIT_OK = 0,
	VC_EXIT_FINDINGS = 1,
	VC_EXIT_USAGE = 64,
	VC_EXIT_DATAERR = 65,
	VC_EXIT_NOINPUT = 66,
	VC_EXIT_UNAVAILABLE = 69,
	VC_EXIT_SOFTWARE = 70,
	VC_EXIT_TEMPFAIL = 75,
	VC_EXIT_NOPERM = 77,
	VC_EXIT_CONFIG = 78
};

int vc_err_exit(int err);        /* VC_E* -> exit status */
int vc_err_http(int err);        /* VC_E* -> HTTP status */
const char *vc_err_name(int err); /* VC_E* -> "not_found", ... (JSON errors) */

/* Roles, ordered: a role may do everything the roles below it may. */
enum vc_role {
	VC_ROLE_ANON = 0,
	VC_ROLE_VIEWER,
	VC_ROLE_ANALYST,
	VC_ROLE_ADMIN,
	VC_ROLE_SUPERADMIN
};
const char *vc_role_name(int role);
int vc_role_parse(const char *s);   /* -1 when unknown */

enum vc_actor { VC_ACTOR_ANON = 0, VC_ACTOR_USER, VC_ACTOR_SERVICE, VC_ACTOR_SYSTEM };

#define VC_ID_LEN 36            /* canonical UUID text, public ids */

/* Who an operation acts for.  Filled only by vc_auth_*(); never from input. */
struct vc_principal {
	int actor;                      /* VC_ACTOR_* */
	int role;                       /* VC_ROLE_* */
	char user_id[VC_ID_LEN + 1];
	char username[65];
	char tenant_id[VC_ID_LEN + 1];  /* home tenant; every query binds it */
	char token_id[VC_ID_LEN + 1];   /* jti or API token id, never a token */
	int enroll_only;                /* a session of a user whose tenant requires
	                                 * 2FA and who has none: may run only the
	                                 * VC_OP_ENROLL operations (2fa setup, verify) */
};

struct vc_store;

typedef struct vc_ctx vc_ctx;
struct vc_ctx {
	struct vc_store *store;
	struct vc_principal who;
	char ip[64];
	char user_agent[513];
	char request_id[33];
	int front;                      /* VC_FRONT_CLI or VC_FRONT_HTTP */

	/* Injected clock for tests; NULL means time(2). Seconds since epoch. */
	int64_t (*clock)(void *arg);
	void *clock_arg;

	/* Set by an operation for the audit record the dispatcher writes. */
	char audit_target_type[32];
	char audit_target_id[VC_ID_LEN + 1];
	char audit_tenant_id[VC_ID_LEN + 1]; /* when it differs from who */
	char audit_reason[160];         /* why it failed, for the log only */
	jv audit_details;               /* object or invalid */
	int audited;                    /* the handler wrote its own record */
	int denied;                     /* audit authz.denied (cross-tenant id) */
	int audit_failure;              /* audit this failure of a read too (a
	                                 * caller's program refused or stopped) */
	int retry_after;                /* seconds, with VC_ERATE / VC_ETEMP */
	int outbox_queued;              /* the operation queued mail (lib/mail.h):
	                                 * the front door delivers it after the
	                                 * answer, outside any transaction */
	int done_outside;               /* the operation changed what a rollback
	                                 * cannot undo (the key file), and wrote
	                                 * nothing in the store: when its
	                                 * transaction gives way (PostgreSQL), only
	                                 * its audit record is written again */

	/*
	 * Streaming, set by the front door.  in: the records an import reads
	 * (CLI: a file or stdin; HTTP: the request body).  emit: takes one
	 * output record (consumed) and returns nonzero to stop (closed pipe);
	 * NULL means handlers collect their records into *out.  report: one
	 * bad input line ("stdin:17: expected a JSON object"); NULL means
	 * they are kept in bad_list (the first 100).  See vc_emit, vc_bad.
	 */
	struct vc_jsonl *in;
	/* A line for the system log (audit anchors); NULL: none.  Set by
	 * the front door, which owns syslog (lib/ never logs). */
	void (*notice)(vc_ctx *ctx, const char *line, void *arg);
	void *notice_arg;
	/* Set by a front door to a flag its signal handler raises: a command
	 * that runs until interrupted (vc-notify events --follow) ends
	 * cleanly once *stop is nonzero.  NULL: nothing asks it to stop. */
	volatile sig_atomic_t *stop;
	/* Progress of a long wait ("flow F.1: RUNNING, 12 s"); NULL: quiet. */
	void (*progress)(vc_ctx *ctx, const char *msg, void *arg);
	/* Called between the polls of a long wait (a flow's or a hunt's
	 * end), with no transaction open: nonzero ends the wait with that
	 * error, ctx's message set.  A playbook's runner renews its claim
	 * and looks for a cancel there.  NULL: nothing. */
	int (*tick)(vc_ctx *ctx, void *arg);
	void *tick_arg;
	int (*emit)(vc_ctx *ctx, jv rec, void *arg);
	int (*emit_raw)(vc_ctx *ctx, const char *json, size_t n, void *arg);
	void (*report)(vc_ctx *ctx, const char *msg, void *arg);
	void *stream_arg;
	long bad_count;
	jv bad_list;
	/* A front door that sends an answer's text as it is sets raw_ok; a
	 * list may then write its page as text into raw (malloc'ed, raw_len
	 * bytes; the front door takes it) and return no value (see
	 * core/page.h).  vc-serve's lists are most of their time in making
	 * values only to write them out. */
	int raw_ok;
	char *raw;
	size_t raw_len;

	int err;
	char errmsg[512];
};

enum { VC_FRONT_CLI = 0, VC_FRONT_HTTP = 1 };

/*
 * 0, or VC_EINTERNAL when libsodium cannot start (no entropy source).
 * lib/ never ends the process for it: opening a store, loading a key and
 * hashing a password check again and fail with that error.
 */
int vc_ctx_init(vc_ctx *ctx);
void vc_ctx_release(vc_ctx *ctx);   /* closes the store, frees audit_details */
/* Forget everything of the last request (principal, audit notes, streams,
 * errors) but keep the open store and the clock: for servers. */
void vc_ctx_reset(vc_ctx *ctx);
int64_t vc_now(vc_ctx *ctx);        /* seconds */
int64_t vc_now_ms(vc_ctx *ctx);
/* Milliseconds of CLOCK_MONOTONIC: for deadlines and intervals, which a
 * change of the wall clock must not move (never the injected clock). */
int64_t vc_mono_ms(void);

/* Record an error in ctx and return it.  Messages: lowercase, no period. */
int vc_fail(vc_ctx *ctx, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Stream one record: to ctx->emit, or appended to *collect (an array, or
 * invalid to start one).  Returns nonzero when the reader went away.
 */
int vc_emit(vc_ctx *ctx, jv rec, jv *collect);
/* The same for a record already serialised (kept byte for byte when the
 * front door can take text: ctx->emit_raw). */
int vc_emit_raw(vc_ctx *ctx, const char *json, size_t n, jv *collect);
/* Report one bad input line (message as for vc_fail) and count it. */
void vc_bad(vc_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Helpers for jv arguments (args is borrowed, not consumed). */
const char *vc_arg_str(jv args, const char *key);   /* NULL if absent/not string */
int vc_arg_bool(jv args, const char *key);          /* 1 if true */
int vc_arg_has(jv args, const char *key);           /* present and not null */
int64_t vc_arg_int(jv args, const char *key, int64_t def); /* def if absent/not a number */

/* Random public id (UUID v4 text) into buf[VC_ID_LEN + 1]. */
void vc_new_id(char *buf);
/* A UUIDv7 (RFC 9562): the time in ms, then a counter and random bits,
 * so that ids made one after another sort in that order and land at the
 * end of an index instead of anywhere in it.  For records made in bulk
 * (hosts); random bytes are drawn in blocks, not one call per id. */
void vc_new_id_v7(char *buf);
int vc_is_id(const char *s);

/* FNV-1a of n bytes: for the in-memory hash tables (not for security). */
uint64_t vc_hash(const char *s, size_t n);
uint64_t vc_hash_str(const char *s);

/* The decimal text of v at buf (room for 21 bytes), NUL-terminated, as
 * printf's %llu and %lld write it; returns its length.  The hot paths
 * (numbers of every EVTX row, of every row dumped) skip printf. */
size_t vc_fmt_u64(char *buf, uint64_t v);
size_t vc_fmt_i64(char *buf, int64_t v);

/*
 * Waiting on a peer: a thread about to wait for something that is not
 * this machine's processor (a network answer, a polling interval) says
 * so, and says when it is back.  vc-serve's workers set a hook so that
 * another worker computes meanwhile (front/http/serve.c, "the pool");
 * elsewhere these cost a thread-local test.  Pairs nest.
 */
void vc_wait_hook(void (*fn)(void *arg, int waiting), void *arg);
void vc_wait_begin(void);
void vc_wait_end(void);
unsigned vc_sleep(unsigned s);      /* sleep(3) between the two */

/* Time formatting: RFC 3339 UTC ("2026-11-27T23:35:30Z"). */
void vc_time_fmt(int64_t t, char *buf, size_t n);
void vc_time_fmt_ms(int64_t ms, char *buf, size_t n);
/* Parse RFC 3339, a date, "now", or a relative "-2h"/"30d" (from now). */
int vc_time_parse(vc_ctx *ctx, const char *s, int64_t *out);
/* Parse a duration "90d", "15m", "3600" (seconds) into seconds. */
int vc_duration_parse(const char *s, int64_t *out);

#endif
