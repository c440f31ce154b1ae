/* SPDX-License-Identifier: MIT */
/*
 * pg.h - the PostgreSQL side of the store, for store.c only: handlers
 * use store.h, which calls these when ctx->store->pg is set.
 *
 * libpq is opened (dlopen) by the first PostgreSQL store of the process,
 * as libcurl is: a SQLite user, and every CLI start, pays nothing for it.
 *
 * Ownership: vc_pg_open makes the connection that vc_pg_close frees; a
 * statement of vc_pg_prepare belongs to the vc_stmt that holds it
 * (vc_pg_free).
 */
#ifndef VC_PG_H
#define VC_PG_H

#include "core/store.h"

/* Connect to url (libpq's settings fill in what it leaves out); 0 or
 * VC_ECONFIG with a message naming the URL without its password. */
int vc_pg_open(vc_ctx *ctx, const char *url, struct vc_pgconn **out);
void vc_pg_close(struct vc_pgconn *c);
/* url with any password replaced by "***", into out. */
void vc_pg_redact(const char *url, char *out, size_t n);

/*
 * Migrate the schema (vc_pg_migrations) to the newest version under an
 * advisory lock, as the store opens.  *fresh is set when the database had
 * no schema at all; without create such a database is an error (the
 * store does not exist yet).
 */
int vc_pg_migrate(vc_ctx *ctx, int create, int *fresh);
int vc_pg_version(vc_ctx *ctx);

/* Translate and prepare sql (kept per connection by its text), ready to
 * bind; NULL with ctx set. */
struct vc_pgstmt *vc_pg_prepare(vc_ctx *ctx, const char *sql);
/* 1 a row, 0 the end, -1 an error (set in ctx when ctx is not NULL). */
int vc_pg_step(vc_ctx *ctx, struct vc_pgstmt *p);
void vc_pg_reset(struct vc_pgstmt *p);
void vc_pg_clear(struct vc_pgstmt *p);
void vc_pg_free(struct vc_pgstmt *p);
char *vc_pg_key(struct vc_pgstmt *p);
/* Run p over every tenant's rows (vc.tenant_id '*'): vc_unscoped. */
void vc_pg_unscoped(struct vc_pgstmt *p);

int vc_pg_tx_begin(vc_ctx *ctx, int claim);
int vc_pg_tx_commit(vc_ctx *ctx);
void vc_pg_tx_rollback(vc_ctx *ctx);
int vc_pg_retryable(struct vc_pgconn *c);
/* Bound lock waits and statements by CLOCK_MONOTONIC ms at (0: no bound);
 * what vc_store_deadline does on PostgreSQL. */
void vc_pg_deadline(struct vc_pgconn *c, int64_t at);

/* What store.h's vc_store_exec and vc_copy_* do on PostgreSQL. */
int vc_pg_exec(vc_ctx *ctx, const char *sql);
int vc_pg_copy_begin(vc_ctx *ctx, const char *sql);
void vc_pg_copy_text(struct vc_pgconn *c, const char *s, size_t n);
void vc_pg_copy_int(struct vc_pgconn *c, int64_t v);
void vc_pg_copy_blob(struct vc_pgconn *c, const void *p, size_t n);
int vc_pg_copy_row(vc_ctx *ctx);
int vc_pg_copy_end(vc_ctx *ctx, int abort, int64_t *rows);
int vc_pg_copying(struct vc_pgconn *c);
/* A connection of its own that LISTENs to topic (a plain identifier);
 * its socket, to poll; what arrived since the last read (*got the
 * notifications; their payloads are not kept), or VC_ETEMP once the
 * connection is lost (close it and listen again).  vc_pg_close ends it. */
int vc_pg_listen(vc_ctx *ctx, const char *url, const char *topic, struct vc_pgconn **out);
int vc_pg_listen_fd(const struct vc_pgconn *c);
int vc_pg_listen_read(vc_ctx *ctx, struct vc_pgconn *c, int *got);

int64_t vc_pg_last_insert_id(vc_ctx *ctx);
int vc_pg_changes(struct vc_pgconn *c);
int64_t vc_pg_total_changes(struct vc_pgconn *c);

/*
 * sql in PostgreSQL's dialect, into a new string (*out, free()): each
 * backend's part of VC_SQL2 texts kept, ?N and ? become $N, x'..' a
 * bytea, hex(x) upper(encode(x, 'hex')), a subquery in FROM gets a name,
 * min(a, b) and max(a, b) least and greatest, L GLOB R vc_glob(L, R),
 * AS 'name' AS "name",
 * INSERT OR IGNORE an ON CONFLICT DO NOTHING, LIKE an ILIKE (as
 * SQLite's LIKE, it ignores case), ifnull coalesce, instr strpos,
 * CAST(... AS INTEGER) a bigint, COLLATE NOCASE dropped (the columns
 * that had it are citext), LIMIT -1 LIMIT ALL.  What cannot be
 * translated (INSERT OR REPLACE, PRAGMA) is an error naming it: write
 * that statement with VC_SQL2.  0, or -1 with a message in err.
 */
int vc_pg_translate(const char *sql, char **out, char *err, size_t errlen);
/* The SQLite part of a VC_SQL2 text, into a new string (free()). */
char *vc_sql_lite_text(const char *sql);

#endif
