/* SPDX-License-Identifier: MIT */
/*
 * store.h - the store: opening, migrations, transactions, and the
 * statement helpers every module uses.  Two backends sit behind it:
 * SQLite (a file: the default) and PostgreSQL (a postgresql:// URL,
 * lib/core/pg.c, libpq opened on first use).  All SQL of the project
 * lives in lib/, is written in SQLite's dialect with ? parameters, and
 * goes through vc_sql* + bind; nothing is ever formatted into SQL text.
 * PostgreSQL gets it translated when it is prepared (pg.c says what is
 * translated); a statement that must differ names both texts at its one
 * site with VC_SQL2.
 *
 * Ownership: vc_store_open puts a store into ctx->store; vc_ctx_release
 * (or vc_store_close) closes it.  Statements from vc_sql belong to the
 * caller, who ends them with vc_stmt_done (vc_sql_* helpers do so
 * themselves); those of vc_sql_cached and vc_sql_text belong to the store.
 */
#ifndef VC_STORE_H
#define VC_STORE_H

#include <sqlite3.h>
#include <sys/stat.h>
#include "core/vc.h"

struct vc_keyring;
struct vc_pgconn;
struct vc_pgstmt;

#define VC_SQL_CACHE 24
#define VC_SQL_TEXT 16

/*
 * A statement of either backend.  Handlers read it only through the
 * vc_col_* / vc_bind_* / vc_stmt_* calls below, which on SQLite are the
 * sqlite3_* calls they replace behind one test of a pointer.
 */
typedef struct vc_stmt {
	sqlite3_stmt *lite;             /* SQLite's statement, or NULL */
	struct vc_pgstmt *pg;           /* PostgreSQL's, or NULL */
} vc_stmt;

/*
 * One statement whose text differs between the backends, both texts at
 * its one site: VC_SQL2("SELECT ... strftime(...)", "SELECT ... now()").
 * The result is one string literal (so vc_sql_cached still keys it by
 * address) that may also be built into a longer text (vc_sqlbuf_add);
 * each backend keeps its own part when the text is prepared.
 */
#define VC_SQL2(lite, pg) "\001" lite "\002" pg "\003"

/* Column types (vc_col_type), results and bind lifetimes: SQLite's own
 * numbers, which PostgreSQL's side maps to. */
enum {
	VC_INTEGER = SQLITE_INTEGER,
	VC_FLOAT = SQLITE_FLOAT,
	VC_TEXT = SQLITE_TEXT,
	VC_BLOB = SQLITE_BLOB,
	VC_NULL = SQLITE_NULL
};
#define VC_SQL_OK SQLITE_OK
#define VC_SQL_MISMATCH SQLITE_MISMATCH
#define VC_ROW SQLITE_ROW
#define VC_DONE SQLITE_DONE
#define VC_TRANSIENT SQLITE_TRANSIENT
#define VC_STATIC SQLITE_STATIC

struct vc_store {
	sqlite3 *db;                    /* SQLite; NULL on PostgreSQL */
	struct vc_pgconn *pg;           /* PostgreSQL; NULL on SQLite */
	struct vc_keyring *keys;
	char path[4096];                /* or the URL, its password hidden */
	char key_path[4096];
	int key_env;            /* the keyring came from $VC_MASTER_KEY */
	struct stat key_stat;   /* the key file as it was when loaded */
	int in_tx;
	int in_read;            /* vc_read_begin's transaction (SQLite) */
	/* vc_sql_cached's statements, keyed by the address of their SQL. */
	struct { const char *sql; vc_stmt *st; } cache[VC_SQL_CACHE];
	/* vc_sql_text's statements, keyed by their text, least recently
	 * used replaced. */
	struct { char *sql; vc_stmt *st; unsigned long used; } text[VC_SQL_TEXT];
	unsigned long text_tick;
	int64_t deadline;       /* vc_store_deadline: CLOCK_MONOTONIC ms, 0: none */
	char xlock[96];         /* vc_store_xact_lock's last name in this transaction */
};

enum {
	VC_STORE_CREATE = 1,    /* create the file and its key when missing */
	VC_STORE_NOKEY = 2      /* open without loading the key (tests, lint) */
};

/*
 * Resolve the store path: explicit path, else $VC_DB, else
 * $XDG_DATA_HOME/velocicompanion/vc.db (~/.local/share/...).  A path may
 * be written sqlite:PATH; a postgresql:// or postgres:// URL selects
 * PostgreSQL (libpq's own settings, PGHOST, PGSSLMODE, a service file,
 * fill in what the URL leaves out).  The keyring is $VC_MASTER_KEY
 * (base64 of key file text) when set and not empty, else the key file
 * $VC_KEY_FILE, else "vc.key" beside the store (beside the default
 * SQLite store for a PostgreSQL one).
 */
int vc_store_path(vc_ctx *ctx, const char *explicit_path, char *out, size_t n);
int vc_store_open(vc_ctx *ctx, const char *path, int flags);
void vc_store_close(struct vc_store *st);
int vc_store_version(vc_ctx *ctx);      /* the last migration applied */
/*
 * The path of name in the open store's folder, into out: beside the SQLite
 * file, or for a PostgreSQL store where the default SQLite store would be
 * (as its key file), that folder made if missing.  For the files a store
 * keeps besides its rows (rendered reports).
 */
int vc_store_beside(vc_ctx *ctx, const char *name, char *out, size_t n);
/* Is path a PostgreSQL URL (postgresql://, postgres://)? */
int vc_store_is_pg_url(const char *path);
int vc_store_latest_version(void);      /* migrations known to this build */
/* Where the keyring came from, for messages: "VC_MASTER_KEY" or the key
 * file's path. */
const char *vc_store_key_source(const struct vc_store *st);
/*
 * Load the key file again when it changed since it was loaded (a key
 * rotate or retire by another process replaces it): long-running
 * programs call it before each request, so that a rotation takes effect
 * at once.  0, or the error of loading it (the old keyring stays).
 */
int vc_store_keys_refresh(vc_ctx *ctx);

/*
 * The connection's page cache: mib MiB at most (taken only as pages are
 * read), or SQLite's default (about 2 MB) for 0.  A batch that inserts
 * into many indexes at random places needs its pages in memory: when a
 * transaction's dirty pages outgrow the cache, SQLite spills them to the
 * WAL and reads them back again and again.
 */
int vc_store_cache(vc_ctx *ctx, int mib);

/*
 * Bound what the connection may wait for by a deadline ms milliseconds
 * from now: it waits for the write lock until then (instead of the usual
 * 10 s), and a statement still running then is interrupted (both fail as
 * VC_ETEMP, "... timed out"), so a caller with a deadline never holds a
 * transaction open past it.  ms 0 takes the bound away.  On PostgreSQL
 * the same by lock_timeout and statement_timeout (SET LOCAL in a
 * transaction), set before each statement to the time left.
 */
void vc_store_deadline(vc_ctx *ctx, int64_t ms);
/* 1 when the bound of vc_store_deadline has passed. */
int vc_store_past_deadline(vc_ctx *ctx);

/*
 * One holder at a time, across every process and machine on the store,
 * of the lock called name (work that must run once at a time: the
 * playbook scheduler of a tenant).  1 when this connection took it, 0
 * when another holds it, -1 with ctx set on a store error.  On
 * PostgreSQL a session advisory lock (pg_try_advisory_lock of the
 * name's hash), held across transactions until vc_store_unlock or until
 * the connection ends (a killed process holds nothing); on SQLite
 * always 1: the file has one writer at a time, and the work's own
 * claims (a compare and set, an idempotency key) keep it once.
 */
int vc_store_trylock(vc_ctx *ctx, const char *name);
/* Give back a lock vc_store_trylock took (keeps ctx's error). */
void vc_store_unlock(vc_ctx *ctx, const char *name);
/*
 * Hold the lock called name until the open transaction ends, waiting
 * for another transaction that holds it: 0, or the store's error (a
 * deadlock is VC_ETEMP, vc_tx_retryable).  On PostgreSQL
 * pg_advisory_xact_lock of the name's hash (once a transaction for the
 * same name); on SQLite nothing, the write lock being held already.
 * The event log's order: a tenant's events take their ids in the order
 * their transactions commit, so that a cursor over ids never passes one
 * that commits later (lib/core/events.c).
 */
int vc_store_xact_lock(vc_ctx *ctx, const char *name);
/* The name a process's claims on queued work go by (a lease's holder):
 * TOOL@HOST:PID:RANDOM, unique to this call, at most n - 1 bytes. */
void vc_claimant(const char *tool, char *out, size_t n);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  Busy maps to VC_ETEMP.  On
 * PostgreSQL: BEGIN ISOLATION LEVEL SERIALIZABLE (what SQLite's one
 * writer gives), the caller's tenant set for row-level security, and a
 * serialization failure or deadlock (40001, 40P01) is VC_ETEMP with
 * vc_tx_retryable true: the whole transaction may be run again. */
int vc_tx_begin(vc_ctx *ctx);
/* A transaction that takes a job from a queue: on SQLite vc_tx_begin; on
 * PostgreSQL READ COMMITTED, so that its claim (a row read FOR UPDATE
 * SKIP LOCKED, written in VC_SQL2) passes over the rows other instances
 * are taking instead of waiting for them or failing to serialize.  Only
 * for a claim and what needs no serializable view (no audit record). */
int vc_tx_begin_claim(vc_ctx *ctx);
/*
 * A read that runs several statements (a list's plan probes, its count
 * and its page) in one read transaction on SQLite: one snapshot for all
 * of them, and the WAL's read lock taken once rather than once a
 * statement (two system calls each).  1 when it began one, to be given
 * to vc_read_end; 0 when there was nothing to begin (in a transaction
 * already, PostgreSQL, or BEGIN failed: the statements then run on
 * their own as before).  Only around work that waits on nothing: no
 * peer, no reader of a stream.  Nothing may write inside it.
 */
int vc_read_begin(vc_ctx *ctx);
void vc_read_end(vc_ctx *ctx, int began);
int vc_tx_commit(vc_ctx *ctx);
void vc_tx_rollback(vc_ctx *ctx);
int vc_tx_retryable(vc_ctx *ctx);
/*
 * After a write transaction failed (and was rolled back), outside the
 * dispatcher: 1 when it gave way to another (vc_tx_retryable) and may be
 * run again as attempt number attempt + 1, after a short wait (ctx's
 * error cleared); 0 when not, or after VC_TX_AGAIN attempts.  For the
 * background writers that append to an audit chain (a report's or a
 * mail's record) beside other instances.
 */
#define VC_TX_AGAIN 8
int vc_tx_again(vc_ctx *ctx, int attempt);
/*
 * Run body(ctx, arg) in a transaction of its own (claim: vc_tx_begin_claim's,
 * else vc_tx_begin's) and commit it: 0, or the error of body (which
 * returns non-zero to roll back) or of the commit.  A transaction that
 * gave way to another is rolled back and body run again (vc_tx_again), so
 * body must hold everything it writes in memory and set what it tells
 * its caller afresh each time.
 */
int vc_tx_run(vc_ctx *ctx, int claim, int (*body)(vc_ctx *ctx, void *arg), void *arg);

/*
 * Bulk writes: PostgreSQL's COPY ... FROM STDIN, rows streamed in its
 * text format (a chunk of 256 KiB at a time, so memory stays flat
 * however many rows go).  SQLite has no such protocol: its bulk paths
 * keep their prepared inserts, and these calls fail there
 * (vc_store_copies says which store the caller has).  Row-level
 * security refuses COPY into a tenant-owned table: a bulk path copies
 * into a temporary table of its own and moves the rows on with one
 * INSERT ... SELECT, in the same transaction.  While a COPY is under
 * way the connection runs nothing else (a statement fails).
 *
 *   vc_copy_begin(ctx, "COPY t (a, b) FROM STDIN")
 *   per row: vc_copy_text / _int / _blob / _null per column, vc_copy_row
 *   vc_copy_end(ctx, &rows)    (or vc_copy_abort: nothing is kept)
 *
 * A field that cannot be kept (out of memory) fails the row or the end.
 */
int vc_store_copies(vc_ctx *ctx);       /* 1: the store takes COPY (PostgreSQL) */
/* Run a fixed text without parameters or rows (CREATE TEMP TABLE, a
 * TRUNCATE of one): either backend. */
int vc_store_exec(vc_ctx *ctx, const char *sql);
int vc_copy_begin(vc_ctx *ctx, const char *sql);
void vc_copy_text(vc_ctx *ctx, const char *s, size_t n);   /* s NULL: NULL */
void vc_copy_str(vc_ctx *ctx, const char *s);              /* NUL-ended; NULL: NULL */
void vc_copy_int(vc_ctx *ctx, int64_t v);
void vc_copy_blob(vc_ctx *ctx, const void *p, size_t n);   /* p NULL: NULL */
void vc_copy_null(vc_ctx *ctx);
int vc_copy_row(vc_ctx *ctx);
/* The COPY's end: *rows (may be NULL) gets the rows the server took. */
int vc_copy_end(vc_ctx *ctx, int64_t *rows);
void vc_copy_abort(vc_ctx *ctx);

/* The wait before running a transaction that gave way again as attempt
 * number attempt + 1: attempt x 5 ms and up to as much again at random,
 * so that the transactions that collided come back apart. */
void vc_tx_backoff(int attempt);

/*
 * Appends that readers elsewhere follow by id (vc-serve pushing new
 * notifications to its WebSocket clients).  A writer calls
 * vc_store_announce(ctx, topic) in its transaction just before it
 * appends a row of topic's table.  On PostgreSQL that takes topic's
 * transaction lock, so that the topic's rows commit in the order of
 * their ids (a reader whose cursor is the last id it saw never passes a
 * row that commits after it), and queues NOTIFY topic, which the commit
 * sends (a rollback, nothing); the notification carries nothing, the
 * table is the data.  On SQLite it does nothing: one writer at a time
 * orders the rows, and readers look at PRAGMA data_version.
 *
 * A listener (PostgreSQL only: vc_store_listen fails with VC_EUSAGE on
 * another store) is a connection of its own, made from the store's URL,
 * that LISTENs to topic: poll its fd for reading, then
 * vc_store_listen_read: *got the notifications that came (0 when it
 * was something else), or VC_ETEMP when the connection is lost; then
 * close it and listen again, reading the table from the last id seen,
 * since what was committed meanwhile sent its notifications to nobody.
 * Ownership: vc_store_listen_close frees the listener.
 */
#define VC_TOPIC_NOTIFICATIONS "vc_notifications"
int vc_store_announce(vc_ctx *ctx, const char *topic);
struct vc_listener;
int vc_store_listen(vc_ctx *ctx, const char *url, const char *topic, struct vc_listener **out);
int vc_store_listen_fd(const struct vc_listener *l);
int vc_store_listen_read(vc_ctx *ctx, struct vc_listener *l, int *got);
void vc_store_listen_close(struct vc_listener *l);

/*
 * Prepare sql and bind its parameters from fmt, one character each:
 *   s  const char * (NULL binds NULL)
 *   i  int64_t
 *   n  NULL
 * Returns the statement, or NULL with an error in ctx.
 */
vc_stmt *vc_sql(vc_ctx *ctx, const char *sql, const char *fmt, ...);
/*
 * Mark st (of vc_sql, not yet stepped; NULL passes through) as a read
 * that must see other tenants' rows, as it does on SQLite: the checks
 * that tell another tenant's record from a missing one, to answer both
 * alike and audit the attempt ("unscoped: existence check only").  On
 * PostgreSQL it runs with row-level security's vc.tenant_id '*', also
 * in a transaction; the statements after it get the caller's tenant
 * again.  Never for rows shown to the caller.  Returns st:
 * q = vc_unscoped(vc_sql(ctx, "SELECT 1 FROM ... WHERE id = ?1", "s", id));
 */
vc_stmt *vc_unscoped(vc_stmt *st);
/*
 * vc_sql for the statements of a hot loop (an import's per-row SQL):
 * prepared once per store and kept, keyed by the address of sql (a
 * string literal), reset and re-bound at each call.  The store owns the
 * statement: never end it; it is reset at the next call (step it
 * to its end, or vc_stmt_reset it, to release its read).
 */
vc_stmt *vc_sql_cached(vc_ctx *ctx, const char *sql, const char *fmt, ...);
/* vc_sql_exec through the cache: for statements that return no rows. */
int vc_sql_exec_cached(vc_ctx *ctx, const char *sql, const char *fmt, ...);
/* Run a statement that returns no rows; *changes (may be NULL) gets
 * vc_changes.  Ends it.  Constraint violations -> VC_ECONFLICT. */
int vc_sql_exec(vc_ctx *ctx, const char *sql, int *changes, const char *fmt, ...);
/* Step a prepared statement: SQLITE_ROW -> 1, SQLITE_DONE -> 0, error ->
 * -1 with ctx set. */
int vc_sql_step(vc_ctx *ctx, vc_stmt *st);
/*
 * The current row as a JSON object keyed by column name.  Integers stay
 * numbers, except columns named *_at which become RFC 3339 text; columns
 * named *_json are parsed and their key loses the suffix; columns named
 * *_bool become true/false; NULL is null.
 */
/*
 * The prepared statement of sql, a text built at run time (a list's
 * filters): kept by its text, so that the same list asked again is not
 * prepared again.  Reset and without bindings; the caller binds, steps
 * and resets it, never finalizes it.  NULL with ctx set.
 */
vc_stmt *vc_sql_text(vc_ctx *ctx, const char *sql);
jv vc_sql_row(vc_stmt *st);
/* The same, its keys made once per statement: *keys starts as
 * jv_invalid() and is freed by the caller after the last row. */
jv vc_sql_row_keys(vc_stmt *st, jv *keys);
/* The JSON text of vc_sql_row(st) without column skip (NULL: none),
 * appended to b: the same bytes vc_json_dump would write for it, without
 * making the value first. */
struct vc_jbuf;
void vc_sql_row_json(vc_stmt *st, struct vc_jbuf *b, const char *skip);
/* Step st to the end, collecting vc_sql_row()s into an array; finalizes.
 * Returns the array or jv_invalid with ctx set. */
jv vc_sql_rows(vc_ctx *ctx, vc_stmt *st);
/* The one integer q selects (q finalized), or -1: no row, or the error
 * set in ctx. */
int64_t vc_sql_int(vc_ctx *ctx, vc_stmt *q);
/* The one row of st as an object (finalizes st): VC_ENOTFOUND "no such
 * WHAT" when there is none. */
int vc_sql_one(vc_ctx *ctx, vc_stmt *st, const char *what, jv *out);
/* Map an SQLite error to a VC_E code with a message. */
int vc_sql_error(vc_ctx *ctx, int rc, const char *what);

/*
 * The id the last INSERT of this connection gave its row (SQLite's
 * last_insert_rowid; PostgreSQL's lastval(), the last value a sequence,
 * an identity column, handed out in this session), and the rows the last
 * INSERT, UPDATE or DELETE changed.
 */
int64_t vc_last_insert_id(vc_ctx *ctx);
int vc_changes(vc_ctx *ctx);
/* Every change of this connection since it opened (SQLite's
 * total_changes). */
int64_t vc_total_changes(vc_ctx *ctx);
/* The statement's text with its bound values, for a cache key: free it
 * with free(); NULL when out of memory. */
char *vc_stmt_key(vc_stmt *st);
/* The message of a bind's result code. */
const char *vc_sql_errstr(int rc);

/* ---- statements, either backend ---------------------------------------
 * The sqlite3_* calls of the same names, for either backend: columns from
 * 0, parameters from 1.  On PostgreSQL a value is read as text and
 * converted (a boolean is 1 or 0, bytea its bytes); the text of a blob or
 * a boolean lasts until the next step, as SQLite's. */
void vc_stmt_done(vc_stmt *st);         /* sqlite3_finalize; NULL is fine */
int vc_stmt_reset(vc_stmt *st);         /* sqlite3_reset */
int vc_stmt_step(vc_stmt *st);          /* sqlite3_step: VC_ROW, VC_DONE or an error */

const unsigned char *vc_pg_col_text(struct vc_pgstmt *p, int i);
const void *vc_pg_col_blob(struct vc_pgstmt *p, int i);
int vc_pg_col_bytes(struct vc_pgstmt *p, int i);
int64_t vc_pg_col_int64(struct vc_pgstmt *p, int i);
double vc_pg_col_double(struct vc_pgstmt *p, int i);
int vc_pg_col_type(struct vc_pgstmt *p, int i);
int vc_pg_col_count(struct vc_pgstmt *p);
const char *vc_pg_col_name(struct vc_pgstmt *p, int i);
int vc_pg_bind(struct vc_pgstmt *p, int i, int type, const void *v, int n, int64_t iv, double dv);

static inline const unsigned char *
vc_col_text(vc_stmt *st, int i)
{
	return st->pg == NULL ? sqlite3_column_text(st->lite, i) : vc_pg_col_text(st->pg, i);
}
static inline const void *
vc_col_blob(vc_stmt *st, int i)
{
	return st->pg == NULL ? sqlite3_column_blob(st->lite, i) : vc_pg_col_blob(st->pg, i);
}
static inline int
vc_col_bytes(vc_stmt *st, int i)
{
	return st->pg == NULL ? sqlite3_column_bytes(st->lite, i) : vc_pg_col_bytes(st->pg, i);
}
static inline int64_t
vc_col_int64(vc_stmt *st, int i)
{
	return st->pg == NULL ? sqlite3_column_int64(st->lite, i) : vc_pg_col_int64(st->pg, i);
}
static inline int
vc_col_int(vc_stmt *st, int i)
{
	return st->pg == NULL ? sqlite3_column_int(st->lite, i) : (int)vc_pg_col_int64(st->pg, i);
}
static inline double
vc_col_double(vc_stmt *st, int i)
{
	return st->pg == NULL ? sqlite3_column_double(st->lite, i) : vc_pg_col_double(st->pg, i);
}
static inline int
vc_col_type(vc_stmt *st, int i)
{
	return st->pg == NULL ? sqlite3_column_type(st->lite, i) : vc_pg_col_type(st->pg, i);
}
static inline int
vc_col_count(vc_stmt *st)
{
	return st->pg == NULL ? sqlite3_column_count(st->lite) : vc_pg_col_count(st->pg);
}
static inline const char *
vc_col_name(vc_stmt *st, int i)
{
	return st->pg == NULL ? sqlite3_column_name(st->lite, i) : vc_pg_col_name(st->pg, i);
}
/* dtor is VC_TRANSIENT, VC_STATIC, or a function that frees the value
 * (free): PostgreSQL copies the value, so it calls that at once (SQLite
 * once done with it). */
static inline int
vc_bind_text(vc_stmt *st, int i, const char *s, int n, void (*dtor)(void *))
{
	int rc;

	if (st->pg == NULL)
		return sqlite3_bind_text(st->lite, i, s, n, dtor);
	rc = vc_pg_bind(st->pg, i, s ? VC_TEXT : VC_NULL, s, n, 0, 0);
	if (s != NULL && dtor != VC_STATIC && dtor != VC_TRANSIENT)
		dtor((void *)s);
	return rc;
}
static inline int
vc_bind_blob(vc_stmt *st, int i, const void *p, int n, void (*dtor)(void *))
{
	int rc;

	if (st->pg == NULL)
		return sqlite3_bind_blob(st->lite, i, p, n, dtor);
	rc = vc_pg_bind(st->pg, i, p ? VC_BLOB : VC_NULL, p, n, 0, 0);
	if (p != NULL && dtor != VC_STATIC && dtor != VC_TRANSIENT)
		dtor((void *)p);
	return rc;
}
static inline int
vc_bind_int64(vc_stmt *st, int i, int64_t v)
{
	return st->pg == NULL ? sqlite3_bind_int64(st->lite, i, v) :
	    vc_pg_bind(st->pg, i, VC_INTEGER, NULL, 0, v, 0);
}
static inline int
vc_bind_int(vc_stmt *st, int i, int v)
{
	return st->pg == NULL ? sqlite3_bind_int(st->lite, i, v) :
	    vc_pg_bind(st->pg, i, VC_INTEGER, NULL, 0, v, 0);
}
static inline int
vc_bind_double(vc_stmt *st, int i, double v)
{
	return st->pg == NULL ? sqlite3_bind_double(st->lite, i, v) :
	    vc_pg_bind(st->pg, i, VC_FLOAT, NULL, 0, 0, v);
}
static inline int
vc_bind_null(vc_stmt *st, int i)
{
	return st->pg == NULL ? sqlite3_bind_null(st->lite, i) :
	    vc_pg_bind(st->pg, i, VC_NULL, NULL, 0, 0, 0);
}

#endif
