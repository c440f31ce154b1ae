/* SPDX-License-Identifier: MIT */
/*
 * store.h - the SQLite store: opening, migrations, transactions, and the
 * few statement helpers every module uses.  All SQL of the project lives
 * in lib/ and goes through sqlite3_prepare_v2 + bind; nothing is ever
 * formatted into SQL text.
 *
 * Ownership: vc_store_open puts a store into ctx->store; vc_ctx_release
 * (or vc_store_close) closes it.  Statements from vc_sql_prepare belong
 * to the caller, who finalizes them (vc_sql_* helpers do so themselves).
 */
#ifndef VC_STORE_H
#define VC_STORE_H

#include <sqlite3.h>
#include <sys/stat.h>
#include "core/vc.h"

struct vc_keyring;

#define VC_SQL_CACHE 24
#define VC_SQL_TEXT 16

struct vc_store {
	sqlite3 *db;
	struct vc_keyring *keys;
	char path[4096];
	char key_path[4096];
	int key_env;            /* the keyring came from $VC_MASTER_KEY */
	struct stat key_stat;   /* the key file as it was when loaded */
	int in_tx;
	/* vc_sql_cached's statements, keyed by the address of their SQL. */
	struct { const char *sql; sqlite3_stmt *st; } cache[VC_SQL_CACHE];
	/* vc_sql_text's statements, keyed by their text, least recently
	 * used replaced. */
	struct { char *sql; sqlite3_stmt *st; unsigned long used; } text[VC_SQL_TEXT];
	unsigned long text_tick;
	int64_t deadline;       /* vc_store_deadline: CLOCK_MONOTONIC ms, 0: none */
};

enum {
	VC_STORE_CREATE = 1,    /* create the file and its key when missing */
	VC_STORE_NOKEY = 2      /* open without loading the key (tests, lint) */
};

/*
 * Resolve the store path: explicit path, else $VC_DB, else
 * $XDG_DATA_HOME/velocicompanion/vc.db (~/.local/share/...).  The
 * keyring is $VC_MASTER_KEY (base64 of key file text) when set and not
 * empty, else the key file $VC_KEY_FILE, else "vc.key" beside the store.
 */
int vc_store_path(vc_ctx *ctx, const char *explicit_path, char *out, size_t n);
int vc_store_open(vc_ctx *ctx, const char *path, int flags);
void vc_store_close(struct vc_store *st);
int vc_store_version(vc_ctx *ctx);      /* PRAGMA user_version */
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
 * transaction open past it.  ms 0 takes the bound away.
 */
void vc_store_deadline(vc_ctx *ctx, int64_t ms);
/* 1 when the bound of vc_store_deadline has passed. */
int vc_store_past_deadline(vc_ctx *ctx);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  Busy maps to VC_ETEMP. */
int vc_tx_begin(vc_ctx *ctx);
int vc_tx_commit(vc_ctx *ctx);
void vc_tx_rollback(vc_ctx *ctx);

/*
 * Prepare sql and bind its parameters from fmt, one character each:
 *   s  const char * (NULL binds NULL)
 *   i  int64_t
 *   n  NULL
 * Returns the statement, or NULL with an error in ctx.
 */
sqlite3_stmt *vc_sql(vc_ctx *ctx, const char *sql, const char *fmt, ...);
/*
 * vc_sql for the statements of a hot loop (an import's per-row SQL):
 * prepared once per store and kept, keyed by the address of sql (a
 * string literal), reset and re-bound at each call.  The store owns the
 * statement: never finalize it; it is reset at the next call (step it
 * to its end, or sqlite3_reset it, to release its read).
 */
sqlite3_stmt *vc_sql_cached(vc_ctx *ctx, const char *sql, const char *fmt, ...);
/* vc_sql_exec through the cache: for statements that return no rows. */
int vc_sql_exec_cached(vc_ctx *ctx, const char *sql, const char *fmt, ...);
/* Run a statement that returns no rows; *changes (may be NULL) gets
 * sqlite3_changes.  Finalizes it.  Constraint violations -> VC_ECONFLICT. */
int vc_sql_exec(vc_ctx *ctx, const char *sql, int *changes, const char *fmt, ...);
/* Step a prepared statement: SQLITE_ROW -> 1, SQLITE_DONE -> 0, error ->
 * -1 with ctx set. */
int vc_sql_step(vc_ctx *ctx, sqlite3_stmt *st);
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
sqlite3_stmt *vc_sql_text(vc_ctx *ctx, const char *sql);
jv vc_sql_row(sqlite3_stmt *st);
/* The same, its keys made once per statement: *keys starts as
 * jv_invalid() and is freed by the caller after the last row. */
jv vc_sql_row_keys(sqlite3_stmt *st, jv *keys);
/* The JSON text of vc_sql_row(st) without column skip (NULL: none),
 * appended to b: the same bytes vc_json_dump would write for it, without
 * making the value first. */
struct vc_jbuf;
void vc_sql_row_json(sqlite3_stmt *st, struct vc_jbuf *b, const char *skip);
/* Step st to the end, collecting vc_sql_row()s into an array; finalizes.
 * Returns the array or jv_invalid with ctx set. */
jv vc_sql_rows(vc_ctx *ctx, sqlite3_stmt *st);
/* The one integer q selects (q finalized), or -1: no row, or the error
 * set in ctx. */
int64_t vc_sql_int(vc_ctx *ctx, sqlite3_stmt *q);
/* The one row of st as an object (finalizes st): VC_ENOTFOUND "no such
 * WHAT" when there is none. */
int vc_sql_one(vc_ctx *ctx, sqlite3_stmt *st, const char *what, jv *out);
/* Map an SQLite error to a VC_E code with a message. */
int vc_sql_error(vc_ctx *ctx, int rc, const char *what);

#endif
