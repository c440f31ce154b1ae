/* SPDX-License-Identifier: MIT */
/* store.c - open the store, migrate it, and run statements (SQLite here,
 * PostgreSQL in pg.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "schema.h"
#include "core/pg.h"
#include "core/store.h"
#include "json/jdump.h"

#define BUSY_MS 10000           /* the usual wait for the write lock */

#define MAX_SQL_LENGTH (16 * 1024 * 1024)  /* the longest text or blob */

/* mkdir -p with mode 0700 for the directories we create. */
static int
mkdirs(vc_ctx *ctx, const char *dir)
{
	char buf[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof buf)
		return vc_fail(ctx, VC_ECONFIG, "store directory path too long");
	memcpy(buf, dir, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0700) != 0 && errno != EEXIST)
				return vc_fail(ctx, VC_ECONFIG, "cannot create %s: %s",
				    buf, strerror(errno));
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

int
vc_store_is_pg_url(const char *path)
{
	return strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0;
}

/* The store's path when nothing names one. */
static int
default_path(vc_ctx *ctx, char *out, size_t n)
{
	const char *base, *home;
	int len;

	if ((base = getenv("XDG_DATA_HOME")) != NULL && *base == '/')
		len = snprintf(out, n, "%s/velocicompanion/vc.db", base);
	else if ((home = getenv("HOME")) != NULL && *home == '/')
		len = snprintf(out, n, "%s/.local/share/velocicompanion/vc.db", home);
	else
		return vc_fail(ctx, VC_ECONFIG,
		    "no store: give --db PATH, or set VC_DB, XDG_DATA_HOME or HOME");
	if (len < 0 || (size_t)len >= n)
		return vc_fail(ctx, VC_ECONFIG, "store path too long");
	return 0;
}

int
vc_store_path(vc_ctx *ctx, const char *explicit_path, char *out, size_t n)
{
	const char *p = explicit_path;
	int len;

	if (p == NULL || *p == '\0')
		p = getenv("VC_DB");
	if (p != NULL && strncmp(p, "sqlite:", 7) == 0)
		p += 7;
	if (p == NULL || *p == '\0')
		return default_path(ctx, out, n);
	len = snprintf(out, n, "%s", p);
	if (len < 0 || (size_t)len >= n)
		return vc_fail(ctx, VC_ECONFIG, "store path too long");
	return 0;
}

/* The path of name in db's folder: beside a SQLite store, or for a
 * PostgreSQL one (no folder) where the default SQLite store would be. */
static int
beside(vc_ctx *ctx, const char *db, const char *name, char *out, size_t n)
{
	const char *slash;
	char lite[4096];
	int len;

	if (vc_store_is_pg_url(db)) {
		int rc = default_path(ctx, lite, sizeof lite);
		if (rc != 0)
			return rc;
		db = lite;
	}
	if ((slash = strrchr(db, '/')) != NULL)
		len = snprintf(out, n, "%.*s/%s", (int)(slash - db), db, name);
	else
		len = snprintf(out, n, "%s", name);
	if (len < 0 || (size_t)len >= n)
		return vc_fail(ctx, VC_ECONFIG, "%s: path too long", name);
	return 0;
}

static int
key_path(vc_ctx *ctx, const char *db, char *out, size_t n)
{
	const char *p = getenv("VC_KEY_FILE");
	int len;

	if (p == NULL || *p == '\0')
		return beside(ctx, db, "vc.key", out, n);
	len = snprintf(out, n, "%s", p);
	if (len < 0 || (size_t)len >= n)
		return vc_fail(ctx, VC_ECONFIG, "key file path too long");
	return 0;
}

int
vc_store_beside(vc_ctx *ctx, const char *name, char *out, size_t n)
{
	const char *slash;
	char dir[4096];
	int rc;

	if ((rc = beside(ctx, ctx->store->path, name, out, n)) != 0)
		return rc;
	/* The folder exists beside a SQLite store; for PostgreSQL's it may
	 * not yet (the key given by VC_MASTER_KEY). */
	if (ctx->store->pg != NULL && (slash = strrchr(out, '/')) != NULL && slash != out) {
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - out), out);
		return mkdirs(ctx, dir);
	}
	return 0;
}

int
vc_sql_error(vc_ctx *ctx, int rc, const char *what)
{
	const char *msg = ctx->store && ctx->store->db ?
	    sqlite3_errmsg(ctx->store->db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		if (ctx->store != NULL && ctx->store->deadline != 0)
			return vc_fail(ctx, VC_ETEMP, "%s: timed out waiting for the write lock", what);
		return vc_fail(ctx, VC_ETEMP, "store busy, try again: %s", what);
	case SQLITE_INTERRUPT:
		return vc_fail(ctx, VC_ETEMP, "%s: timed out (the statement was stopped)", what);
	case SQLITE_CONSTRAINT:
		return vc_fail(ctx, VC_ECONFLICT, "%s: %s", what, msg);
	case SQLITE_FULL:
		return vc_fail(ctx, VC_EINTERNAL, "%s: disk full", what);
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		return vc_fail(ctx, VC_ECONFIG, "%s: %s", what, msg);
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return vc_fail(ctx, VC_ECONFIG, "%s: not a VelociCompanion store or damaged: %s",
		    what, msg);
	default:
		return vc_fail(ctx, VC_EINTERNAL, "%s: %s", what, msg);
	}
}

static int
exec_plain(vc_ctx *ctx, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(ctx->store->db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK) {
		int e = vc_sql_error(ctx, rc, "store");
		/* A busy store's message says more than SQLite's. */
		if (err != NULL && e != VC_ETEMP)
			vc_fail(ctx, e, "store: %s", err);
		sqlite3_free(err);
		return e;
	}
	return 0;
}

int
vc_store_latest_version(void)
{
	return vc_migrations_count;
}

int
vc_store_version(vc_ctx *ctx)
{
	vc_stmt *st;
	int v = -1;

	if (ctx->store->pg != NULL)
		return vc_pg_version(ctx);
	st = vc_sql(ctx, "PRAGMA user_version", "");
	if (st != NULL && vc_sql_step(ctx, st) == 1)
		v = vc_col_int(st, 0);
	vc_stmt_done(st);
	return v;
}


static int
migrate(vc_ctx *ctx)
{
	int v = vc_store_version(ctx), rc;
	char pragma[64];

	if (v < 0)
		return ctx->err ? ctx->err : vc_fail(ctx, VC_EINTERNAL, "cannot read schema version");
	if (v > vc_migrations_count)
		return vc_fail(ctx, VC_ECONFIG,
		    "store schema version %d is newer than this build knows (%d): upgrade VelociCompanion",
		    v, vc_migrations_count);
	if (v == vc_migrations_count)
		return 0;
	if ((rc = vc_tx_begin(ctx)) != 0)
		return rc;
	/* Another process may have migrated while we waited for the lock. */
	v = vc_store_version(ctx);
	for (int i = v; i < vc_migrations_count; i++) {
		if ((rc = exec_plain(ctx, vc_migrations[i])) != 0) {
			vc_tx_rollback(ctx);
			return vc_fail(ctx, rc, "migration %d failed: %s", i + 1, ctx->errmsg);
		}
	}
	/* PRAGMA takes no parameters; the value is our own integer. */
	snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", vc_migrations_count);
	if ((rc = exec_plain(ctx, pragma)) != 0) {
		vc_tx_rollback(ctx);
		return rc;
	}
	return vc_tx_commit(ctx);
}

static int keys_load(vc_ctx *ctx, struct vc_store *st);

/*
 * $VC_MASTER_KEY, taken out of the environment the first time: the value
 * is copied into guarded memory, wiped where it was (which also clears it
 * from /proc/PID/environ) and unset, so that no child (a jq program) and
 * no reader of the process's environment sees it.  Later stores of the
 * process (vc-serve's workers) get the copy.  The first call comes before
 * any thread starts (vc-serve opens its stores first).  NULL when unset
 * or empty.
 */
static const char *
master_key_env(void)
{
	static char *copy;
	static int taken;
	char *v;
	size_t n;

	if (taken)
		return copy;
	taken = 1;
	if ((v = getenv("VC_MASTER_KEY")) == NULL || *v == '\0')
		return NULL;
	n = strlen(v);
	if ((copy = sodium_malloc(n + 1)) == NULL)
		return v;       /* no guarded memory: use it where it is */
	memcpy(copy, v, n + 1);
	sodium_mprotect_readonly(copy);
	sodium_memzero(v, n);
	unsetenv("VC_MASTER_KEY");
	return copy;
}

/*
 * Before SQLite's first use in the process: no memory statistics (nothing
 * reads them, and keeping them takes a process-wide mutex at every
 * allocation, which vc-serve's workers contended for).
 */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void
sqlite_setup(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int
vc_store_open(vc_ctx *ctx, const char *path, int flags)
{
	struct vc_store *st;
	struct stat sb;
	char dir[4096];
	const char *slash, *env;
	int rc, exists, oflags;
	mode_t old;

	if (ctx->store != NULL)
		return 0;
	/* Ids and tokens are drawn from libsodium's generator: without it
	 * (vc_ctx_init said why) nothing may be written. */
	if (sodium_init() < 0)
		return vc_fail(ctx, VC_EINTERNAL, "cannot initialise libsodium (no entropy source)");
	if ((st = calloc(1, sizeof *st)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	if ((rc = vc_store_path(ctx, path, st->path, sizeof st->path)) != 0 ||
	    (rc = key_path(ctx, st->path, st->key_path, sizeof st->key_path)) != 0) {
		free(st);
		return rc;
	}
	if (vc_store_is_pg_url(st->path)) {
		/* Messages name the URL, never its password. */
		char url[sizeof st->path];
		int fresh = 0;

		memcpy(url, st->path, sizeof url);
		vc_pg_redact(url, st->path, sizeof st->path);
		ctx->store = st;
		rc = vc_pg_open(ctx, url, &st->pg);
		sodium_memzero(url, sizeof url);
		if (rc == 0)
			rc = vc_pg_migrate(ctx, flags & VC_STORE_CREATE, &fresh);
		if (rc != 0)
			goto fail;
		exists = !fresh;
		/* The key file's folder, as a new SQLite store's. */
		if (!exists && (flags & VC_STORE_CREATE) && !(flags & VC_STORE_NOKEY) &&
		    master_key_env() == NULL && (slash = strrchr(st->key_path, '/')) != NULL &&
		    slash != st->key_path) {
			snprintf(dir, sizeof dir, "%.*s", (int)(slash - st->key_path), st->key_path);
			if ((rc = mkdirs(ctx, dir)) != 0)
				goto fail;
		}
		goto keys;
	}
	exists = stat(st->path, &sb) == 0;
	if (!exists && !(flags & VC_STORE_CREATE)) {
		free(st);
		return vc_fail(ctx, VC_ECONFIG,
		    "no store at %s: run 'vc-auth init' first, or give --db/VC_DB", path ? path : "the default path");
	}
	if (!exists && (slash = strrchr(st->path, '/')) != NULL && slash != st->path) {
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - st->path), st->path);
		if ((rc = mkdirs(ctx, dir)) != 0) {
			free(st);
			return rc;
		}
	}
	ctx->store = st;

	pthread_once(&sqlite_once, sqlite_setup);
	/* The store, its -wal and -shm are readable by the owner only. */
	old = umask(077);
	oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
	    (flags & VC_STORE_CREATE ? SQLITE_OPEN_CREATE : 0);
	rc = sqlite3_open_v2(st->path, &st->db, oflags, NULL);
	umask(old);
	if (rc != SQLITE_OK) {
		rc = vc_fail(ctx, VC_ECONFIG, "cannot open store %s: %s", st->path,
		    st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_MS);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_limit(st->db, SQLITE_LIMIT_LENGTH, MAX_SQL_LENGTH);
	if ((rc = exec_plain(ctx, "PRAGMA journal_mode = WAL")) != 0 ||
	    (rc = exec_plain(ctx, "PRAGMA foreign_keys = ON")) != 0 ||
	    (rc = exec_plain(ctx, "PRAGMA synchronous = NORMAL")) != 0)
		goto fail;
	if ((rc = migrate(ctx)) != 0)
		goto fail;
keys:
	if (!(flags & VC_STORE_NOKEY) && (env = master_key_env()) != NULL) {
		/* The keyring from the environment (a systemd credential)
		 * wins over any key file, which is then neither read nor made. */
		st->key_env = 1;
		if ((rc = vc_keyring_load_base64(ctx, "VC_MASTER_KEY", env, &st->keys)) != 0)
			goto fail;
	} else if (!(flags & VC_STORE_NOKEY)) {
		/* A key is made only with a new store: an existing store whose
		 * key is missing must fail, not silently get a new key. */
		if (!exists && (flags & VC_STORE_CREATE) &&
		    access(st->key_path, F_OK) != 0 && errno == ENOENT &&
		    (rc = vc_keyring_create(ctx, st->key_path)) != 0)
			goto fail;
		if ((rc = keys_load(ctx, st)) != 0)
			goto fail;
	}
	return 0;
fail:
	vc_store_close(st);
	ctx->store = NULL;
	return rc;
}

/* Load the key file, noting first which file it is: a change after the
 * stat makes the next vc_store_keys_refresh load it again, never miss it. */
static int
keys_load(vc_ctx *ctx, struct vc_store *st)
{
	struct stat sb;
	struct vc_keyring *kr = NULL;
	int rc;

	memset(&st->key_stat, 0, sizeof st->key_stat);
	if (stat(st->key_path, &sb) == 0)
		st->key_stat = sb;
	if ((rc = vc_keyring_load(ctx, st->key_path, &kr)) != 0)
		return rc;
	vc_keyring_free(st->keys);
	st->keys = kr;
	return 0;
}

int
vc_store_keys_refresh(vc_ctx *ctx)
{
	struct vc_store *st = ctx->store;
	struct stat sb;

	if (st == NULL || st->keys == NULL || st->key_env || stat(st->key_path, &sb) != 0)
		return 0;
	if (sb.st_ino == st->key_stat.st_ino && sb.st_dev == st->key_stat.st_dev &&
	    sb.st_size == st->key_stat.st_size &&
	    sb.st_mtim.tv_sec == st->key_stat.st_mtim.tv_sec &&
	    sb.st_mtim.tv_nsec == st->key_stat.st_mtim.tv_nsec)
		return 0;
	return keys_load(ctx, st);
}

const char *
vc_store_key_source(const struct vc_store *st)
{
	return st->key_env ? "VC_MASTER_KEY" : st->key_path;
}

int
vc_store_cache(vc_ctx *ctx, int mib)
{
	char sql[64];

	/* PostgreSQL's cache is the server's (shared_buffers). */
	if (ctx->store->pg != NULL)
		return 0;
	snprintf(sql, sizeof sql, "PRAGMA cache_size = %d", mib > 0 ? -1024 * mib : -2000);
	return exec_plain(ctx, sql);
}

/* ---- bulk writes (store.h) ---------------------------------------------- */

int
vc_store_copies(vc_ctx *ctx)
{
	return ctx->store != NULL && ctx->store->pg != NULL;
}

int
vc_store_exec(vc_ctx *ctx, const char *sql)
{
	if (ctx->store->pg != NULL)
		return vc_pg_exec(ctx, sql);
	return exec_plain(ctx, sql);
}

int
vc_copy_begin(vc_ctx *ctx, const char *sql)
{
	if (ctx->store->pg == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "copy: this store (SQLite) has no COPY");
	return vc_pg_copy_begin(ctx, sql);
}

void
vc_copy_text(vc_ctx *ctx, const char *s, size_t n)
{
	if (ctx->store->pg != NULL)
		vc_pg_copy_text(ctx->store->pg, s, n);
}

void
vc_copy_str(vc_ctx *ctx, const char *s)
{
	vc_copy_text(ctx, s, s ? strlen(s) : 0);
}

void
vc_copy_int(vc_ctx *ctx, int64_t v)
{
	if (ctx->store->pg != NULL)
		vc_pg_copy_int(ctx->store->pg, v);
}

void
vc_copy_blob(vc_ctx *ctx, const void *p, size_t n)
{
	if (ctx->store->pg != NULL)
		vc_pg_copy_blob(ctx->store->pg, p, n);
}

void
vc_copy_null(vc_ctx *ctx)
{
	vc_copy_text(ctx, NULL, 0);
}

int
vc_copy_row(vc_ctx *ctx)
{
	if (ctx->store->pg == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "copy: this store (SQLite) has no COPY");
	return vc_pg_copy_row(ctx);
}

int
vc_copy_end(vc_ctx *ctx, int64_t *rows)
{
	if (ctx->store->pg == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "copy: this store (SQLite) has no COPY");
	return vc_pg_copy_end(ctx, 0, rows);
}

void
vc_copy_abort(vc_ctx *ctx)
{
	if (ctx->store != NULL && ctx->store->pg != NULL)
		vc_pg_copy_end(ctx, 1, NULL);
}

void
vc_store_close(struct vc_store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < VC_SQL_CACHE; i++)
		vc_stmt_done(st->cache[i].st);
	for (int i = 0; i < VC_SQL_TEXT; i++) {
		vc_stmt_done(st->text[i].st);
		free(st->text[i].sql);
	}
	vc_pg_close(st->pg);
	if (st->db != NULL) {
		/* Keeps the planner's statistics fresh; cheap when nothing
		 * changed.  analysis_limit makes ANALYZE sample at most about
		 * 400 rows of each index: the first call after a million-row
		 * import must not pay for reading them all. */
		sqlite3_exec(st->db, "PRAGMA analysis_limit = 400; PRAGMA optimize", NULL, NULL, NULL);
		sqlite3_close_v2(st->db);
	}
	vc_keyring_free(st->keys);
	free(st);
}

/* SQLite's progress handler: nonzero stops the statement. */
static int
past_deadline(void *arg)
{
	const struct vc_store *st = arg;

	return st->deadline != 0 && vc_mono_ms() >= st->deadline;
}

void
vc_store_deadline(vc_ctx *ctx, int64_t ms)
{
	struct vc_store *st = ctx->store;

	if (st != NULL && st->pg != NULL) {
		st->deadline = ms > 0 ? vc_mono_ms() + ms : 0;
		vc_pg_deadline(st->pg, st->deadline);
		return;
	}
	if (st == NULL || st->db == NULL)
		return;
	if (ms <= 0) {
		st->deadline = 0;
		sqlite3_busy_timeout(st->db, BUSY_MS);
		sqlite3_progress_handler(st->db, 0, NULL, NULL);
		return;
	}
	st->deadline = vc_mono_ms() + ms;
	sqlite3_busy_timeout(st->db, (int)(ms < INT_MAX ? ms : INT_MAX));
	sqlite3_progress_handler(st->db, 1000, past_deadline, st);
}

int
vc_store_trylock(vc_ctx *ctx, const char *name)
{
	vc_stmt *q;
	int64_t got;

	if (ctx->store->pg == NULL)
		return 1;
	/* unscoped: an advisory lock, no table */
	q = vc_sql(ctx, "SELECT pg_try_advisory_lock(hashtextextended(?1, 0))", "s", name);
	if (q == NULL)
		return -1;
	got = vc_sql_int(ctx, q);
	return got < 0 ? -1 : got == 1;
}

void
vc_store_unlock(vc_ctx *ctx, const char *name)
{
	int err = ctx->err;
	char msg[sizeof ctx->errmsg];

	if (ctx->store == NULL || ctx->store->pg == NULL)
		return;
	snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	/* unscoped: an advisory lock, no table */
	vc_sql_int(ctx, vc_sql(ctx, "SELECT pg_advisory_unlock(hashtextextended(?1, 0))", "s", name));
	ctx->err = err;
	snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", msg);
}

void
vc_claimant(const char *tool, char *out, size_t n)
{
	char host[64] = "", rnd[9];
	unsigned char r[4];

	if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
		snprintf(host, sizeof host, "localhost");
	randombytes_buf(r, sizeof r);
	sodium_bin2hex(rnd, sizeof rnd, r, sizeof r);
	snprintf(out, n, "%s@%s:%ld:%s", tool, host, (long)getpid(), rnd);
}

int
vc_store_xact_lock(vc_ctx *ctx, const char *name)
{
	struct vc_store *st = ctx->store;
	int64_t r;

	if (st->pg == NULL || (st->in_tx && strcmp(st->xlock, name) == 0))
		return 0;
	/* unscoped: an advisory lock, no table */
	r = vc_sql_int(ctx, vc_sql(ctx, "SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtextextended(?1, 0)))",
	    "s", name));
	if (r < 0)
		return ctx->err ? ctx->err : VC_EINTERNAL;
	if (st->in_tx)
		snprintf(st->xlock, sizeof st->xlock, "%s", name);
	return 0;
}

int
vc_store_past_deadline(vc_ctx *ctx)
{
	return ctx->store != NULL && past_deadline(ctx->store);
}

static int
tx_begin(vc_ctx *ctx, int claim)
{
	int rc;

	if (ctx->store->in_tx || ctx->store->in_read)
		return vc_fail(ctx, VC_EINTERNAL, "nested transaction");
	if (ctx->store->pg != NULL)
		rc = vc_pg_tx_begin(ctx, claim);
	else
		rc = exec_plain(ctx, "BEGIN IMMEDIATE");
	if (rc != 0)
		return rc;
	ctx->store->in_tx = 1;
	ctx->store->xlock[0] = '\0';
	return 0;
}

int
vc_tx_begin(vc_ctx *ctx)
{
	return tx_begin(ctx, 0);
}

int
vc_tx_begin_claim(vc_ctx *ctx)
{
	return tx_begin(ctx, 1);
}

int
vc_read_begin(vc_ctx *ctx)
{
	struct vc_store *st = ctx->store;

	if (st == NULL || st->db == NULL || st->in_tx || st->in_read ||
	    sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return 0;
	st->in_read = 1;
	return 1;
}

void
vc_read_end(vc_ctx *ctx, int began)
{
	struct vc_store *st = ctx->store;

	if (!began || st == NULL || !st->in_read)
		return;
	/* A read transaction has nothing to keep: its end cannot fail to
	 * keep anything, and a failed COMMIT (busy) still ends it here. */
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->in_read = 0;
}

int
vc_tx_commit(vc_ctx *ctx)
{
	int rc;

	if (ctx->store->pg != NULL) {
		ctx->store->in_tx = 0;
		return vc_pg_tx_commit(ctx);
	}
	if ((rc = exec_plain(ctx, "COMMIT")) != 0) {
		vc_tx_rollback(ctx);
		return rc;
	}
	ctx->store->in_tx = 0;
	return 0;
}

void
vc_tx_rollback(vc_ctx *ctx)
{
	if (ctx->store && ctx->store->in_tx) {
		if (ctx->store->pg != NULL)
			vc_pg_tx_rollback(ctx);
		else
			sqlite3_exec(ctx->store->db, "ROLLBACK", NULL, NULL, NULL);
		ctx->store->in_tx = 0;
	}
}

int
vc_tx_retryable(vc_ctx *ctx)
{
	return ctx->store != NULL && ctx->store->pg != NULL && vc_pg_retryable(ctx->store->pg);
}

void
vc_tx_backoff(int attempt)
{
	/* attempt x 5 ms and as much again at random: transactions that
	 * collided must not all come back at the same moment. */
	long ms = attempt * 5L + (long)randombytes_uniform((uint32_t)attempt * 5 + 1);

	nanosleep(&(struct timespec){ ms / 1000, ms % 1000 * 1000000L }, NULL);
}

int
vc_tx_again(vc_ctx *ctx, int attempt)
{
	if (attempt >= VC_TX_AGAIN || !vc_tx_retryable(ctx))
		return 0;
	vc_tx_backoff(attempt);
	ctx->err = 0;
	ctx->errmsg[0] = '\0';
	return 1;
}

int
vc_tx_run(vc_ctx *ctx, int claim, int (*body)(vc_ctx *ctx, void *arg), void *arg)
{
	int rc;

	for (int a = 1; ; a++) {
		if ((rc = claim ? vc_tx_begin_claim(ctx) : vc_tx_begin(ctx)) != 0)
			return rc;
		if ((rc = body(ctx, arg)) == 0 && (rc = vc_tx_commit(ctx)) == 0)
			return 0;
		vc_tx_rollback(ctx);
		if (!vc_tx_again(ctx, a))
			return rc;
	}
}

int
vc_store_announce(vc_ctx *ctx, const char *topic)
{
	if (ctx->store->pg == NULL)
		return 0;
	/* The two-key form: its keys are apart from the migrations' lock. */
	return vc_sql_exec(ctx, "SELECT pg_advisory_xact_lock(7400, hashtext(?1)), pg_notify(?1, '')",
	    NULL, "s", topic);
}

struct vc_listener {
	struct vc_pgconn *pg;
};

int
vc_store_listen(vc_ctx *ctx, const char *url, const char *topic, struct vc_listener **out)
{
	struct vc_listener *l;
	int rc;

	*out = NULL;
	if (!vc_store_is_pg_url(url))
		return vc_fail(ctx, VC_EUSAGE, "only a PostgreSQL store has listeners");
	if ((l = calloc(1, sizeof *l)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	if ((rc = vc_pg_listen(ctx, url, topic, &l->pg)) != 0) {
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

int
vc_store_listen_fd(const struct vc_listener *l)
{
	return vc_pg_listen_fd(l->pg);
}

int
vc_store_listen_read(vc_ctx *ctx, struct vc_listener *l, int *got)
{
	return vc_pg_listen_read(ctx, l->pg, got);
}

void
vc_store_listen_close(struct vc_listener *l)
{
	if (l == NULL)
		return;
	vc_pg_close(l->pg);
	free(l);
}

int64_t
vc_last_insert_id(vc_ctx *ctx)
{
	if (ctx->store->pg != NULL)
		return vc_pg_last_insert_id(ctx);
	return sqlite3_last_insert_rowid(ctx->store->db);
}

int
vc_changes(vc_ctx *ctx)
{
	if (ctx->store->pg != NULL)
		return vc_pg_changes(ctx->store->pg);
	return sqlite3_changes(ctx->store->db);
}

int64_t
vc_total_changes(vc_ctx *ctx)
{
	if (ctx->store->pg != NULL)
		return vc_pg_total_changes(ctx->store->pg);
	return sqlite3_total_changes64(ctx->store->db);
}

const char *
vc_sql_errstr(int rc)
{
	return sqlite3_errstr(rc);
}

void
vc_stmt_done(vc_stmt *st)
{
	if (st == NULL)
		return;
	if (st->pg != NULL)
		vc_pg_free(st->pg);
	else
		sqlite3_finalize(st->lite);
	free(st);
}

int
vc_stmt_reset(vc_stmt *st)
{
	if (st == NULL)
		return SQLITE_OK;
	if (st->pg != NULL) {
		vc_pg_reset(st->pg);
		return SQLITE_OK;
	}
	return sqlite3_reset(st->lite);
}

int
vc_stmt_step(vc_stmt *st)
{
	if (st->pg != NULL) {
		int rc = vc_pg_step(NULL, st->pg);
		return rc > 0 ? SQLITE_ROW : rc == 0 ? SQLITE_DONE : SQLITE_ERROR;
	}
	return sqlite3_step(st->lite);
}

char *
vc_stmt_key(vc_stmt *st)
{
	char *k, *s;

	if (st->pg != NULL)
		return vc_pg_key(st->pg);
	if ((s = sqlite3_expanded_sql(st->lite)) == NULL)
		return NULL;
	k = strdup(s);
	sqlite3_free(s);
	return k;
}

/* Reset st and drop its bindings: a cached statement about to be used. */
static void
stmt_rewind(vc_stmt *st)
{
	if (st->pg != NULL) {
		vc_pg_reset(st->pg);
		vc_pg_clear(st->pg);
	} else {
		sqlite3_reset(st->lite);
		sqlite3_clear_bindings(st->lite);
	}
}

/*
 * Prepare sql for the store's backend: a new vc_stmt, or NULL with ctx
 * set.  persist: kept by a cache, used again and again.
 */
static vc_stmt *
prepare(vc_ctx *ctx, const char *sql, int persist)
{
	vc_stmt *st = calloc(1, sizeof *st);
	char *lite = NULL;
	int rc;

	if (st == NULL) {
		vc_fail(ctx, VC_EINTERNAL, "out of memory");
		return NULL;
	}
	if (ctx->store->pg != NULL) {
		if ((st->pg = vc_pg_prepare(ctx, sql)) == NULL) {
			free(st);
			return NULL;
		}
		return st;
	}
	/* A VC_SQL2 text: SQLite's part. */
	if (strchr(sql, '\001') != NULL && (sql = lite = vc_sql_lite_text(sql)) == NULL) {
		free(st);
		vc_fail(ctx, VC_EINTERNAL, "out of memory");
		return NULL;
	}
	rc = sqlite3_prepare_v3(ctx->store->db, sql, -1, persist ? SQLITE_PREPARE_PERSISTENT : 0,
	    &st->lite, NULL);
	free(lite);
	if (rc != SQLITE_OK) {
		vc_sql_error(ctx, rc, "prepare");
		free(st);
		return NULL;
	}
	return st;
}

/* Bind fmt's parameters to st (see vc_sql); 0, or -1 with ctx set. */
static int
vbind(vc_ctx *ctx, vc_stmt *st, const char *fmt, va_list ap)
{
	int rc, i = 1;

	for (const char *f = fmt; *f; f++, i++) {
		switch (*f) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			rc = s ? vc_bind_text(st, i, s, -1, SQLITE_TRANSIENT)
			    : vc_bind_null(st, i);
			break;
		}
		case 'i':
			rc = vc_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 'n':
			rc = vc_bind_null(st, i);
			break;
		default:
			rc = SQLITE_MISUSE;
		}
		if (rc != SQLITE_OK) {
			vc_sql_error(ctx, rc, "bind");
			return -1;
		}
	}
	return 0;
}

static vc_stmt *
vsql(vc_ctx *ctx, const char *sql, const char *fmt, va_list ap)
{
	vc_stmt *st = prepare(ctx, sql, 0);

	if (st == NULL)
		return NULL;
	if (vbind(ctx, st, fmt, ap) != 0) {
		vc_stmt_done(st);
		return NULL;
	}
	return st;
}

vc_stmt *
vc_sql(vc_ctx *ctx, const char *sql, const char *fmt, ...)
{
	va_list ap;
	vc_stmt *st;

	va_start(ap, fmt);
	st = vsql(ctx, sql, fmt, ap);
	va_end(ap);
	return st;
}

vc_stmt *
vc_unscoped(vc_stmt *st)
{
	if (st != NULL && st->pg != NULL)
		vc_pg_unscoped(st->pg);
	return st;
}

int
vc_sql_step(vc_ctx *ctx, vc_stmt *st)
{
	int rc;

	if (st->pg != NULL)
		return vc_pg_step(ctx, st->pg);
	rc = sqlite3_step(st->lite);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	vc_sql_error(ctx, rc, "query");
	return -1;
}

int
vc_sql_exec(vc_ctx *ctx, const char *sql, int *changes, const char *fmt, ...)
{
	va_list ap;
	vc_stmt *st;
	int rc;

	va_start(ap, fmt);
	st = vsql(ctx, sql, fmt, ap);
	va_end(ap);
	if (st == NULL)
		return ctx->err;
	rc = vc_sql_step(ctx, st);
	vc_stmt_done(st);
	if (rc < 0)
		return ctx->err;
	if (changes != NULL)
		*changes = vc_changes(ctx);
	return 0;
}

/* The statement of sql from the store's cache, prepared on first use,
 * reset and without bindings; NULL with ctx set. */
static vc_stmt *
cache_get(vc_ctx *ctx, const char *sql)
{
	struct vc_store *s = ctx->store;
	vc_stmt *st = NULL;
	int i;

	for (i = 0; i < VC_SQL_CACHE && s->cache[i].sql != NULL; i++)
		if (s->cache[i].sql == sql)
			break;
	if (i < VC_SQL_CACHE && s->cache[i].sql == sql) {
		st = s->cache[i].st;
		stmt_rewind(st);
		return st;
	}
	if ((st = prepare(ctx, sql, 1)) == NULL)
		return NULL;
	/* A full cache still answers: the newest entry is replaced. */
	if (i == VC_SQL_CACHE) {
		i--;
		vc_stmt_done(s->cache[i].st);
	}
	s->cache[i].sql = sql;
	s->cache[i].st = st;
	return st;
}

vc_stmt *
vc_sql_text(vc_ctx *ctx, const char *sql)
{
	struct vc_store *s = ctx->store;
	vc_stmt *st = NULL;
	char *copy;
	int i, old = 0;

	for (i = 0; i < VC_SQL_TEXT; i++) {
		if (s->text[i].sql != NULL && strcmp(s->text[i].sql, sql) == 0) {
			st = s->text[i].st;
			stmt_rewind(st);
			s->text[i].used = ++s->text_tick;
			return st;
		}
		if (s->text[i].used < s->text[old].used)
			old = i;
	}
	if ((st = prepare(ctx, sql, 1)) == NULL)
		return NULL;
	if ((copy = strdup(sql)) == NULL) {
		vc_stmt_done(st);
		vc_fail(ctx, VC_EINTERNAL, "out of memory");
		return NULL;
	}
	vc_stmt_done(s->text[old].st);
	free(s->text[old].sql);
	s->text[old].sql = copy;
	s->text[old].st = st;
	s->text[old].used = ++s->text_tick;
	return st;
}

vc_stmt *
vc_sql_cached(vc_ctx *ctx, const char *sql, const char *fmt, ...)
{
	vc_stmt *st = cache_get(ctx, sql);
	va_list ap;
	int rc;

	if (st == NULL)
		return NULL;
	va_start(ap, fmt);
	rc = vbind(ctx, st, fmt, ap);
	va_end(ap);
	return rc == 0 ? st : NULL;
}

int
vc_sql_exec_cached(vc_ctx *ctx, const char *sql, const char *fmt, ...)
{
	vc_stmt *st = cache_get(ctx, sql);
	va_list ap;
	int rc = -1;

	if (st != NULL) {
		va_start(ap, fmt);
		if (vbind(ctx, st, fmt, ap) == 0)
			rc = vc_sql_step(ctx, st);
		va_end(ap);
		vc_stmt_reset(st);
	}
	return rc < 0 ? ctx->err : 0;
}

static int
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && strcmp(s + n - m, suf) == 0;
}

jv
vc_sql_row(vc_stmt *st)
{
	jv keys = jv_invalid(), o = vc_sql_row_keys(st, &keys);

	jv_free(keys);
	return o;
}

/* The key of column i: its name, made once per statement into *keys
 * (an array, indexed by column) and shared by every row. */
static jv
col_key(vc_stmt *st, jv *keys, int i, size_t cut)
{
	jv k;

	if (!jv_is_valid(*keys))
		*keys = jv_array();
	k = jv_array_get(jv_copy(*keys), i);
	if (jv_get_kind(k) != JV_KIND_STRING) {
		const char *name = vc_col_name(st, i);
		jv_free(k);
		k = jv_string_sized(name, (int)(strlen(name) - cut));
		*keys = jv_array_set(*keys, i, jv_copy(k));
	}
	return k;
}

/* Is p[0..n) ASCII without NUL: text jq keeps as it is (anything else
 * goes through jv_string_sized, which replaces bad UTF-8 as jq does). */
static int
plain_ascii(const unsigned char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (p[i] == 0 || p[i] >= 0x80)
			return 0;
	return 1;
}

void
vc_sql_row_json(vc_stmt *st, struct vc_jbuf *b, const char *skip)
{
	int n = vc_col_count(st), first = 1;

	vc_jbuf_put(b, "{", 1);
	for (int i = 0; i < n; i++) {
		const char *name = vc_col_name(st, i);
		int t = vc_col_type(st, i);
		/* The branches of vc_sql_row, in its order: a NULL keeps its
		 * column's whole name, suffix and all. */
		int cut = t != VC_NULL && !(has_suffix(name, "_at") && t == VC_INTEGER) &&
		    (has_suffix(name, "_bool") || has_suffix(name, "_json"));

		if (skip != NULL && strcmp(name, skip) == 0)
			continue;
		if (!first)
			vc_jbuf_put(b, ",", 1);
		first = 0;
		vc_jbuf_string(b, name, strlen(name) - (cut ? 5 : 0));
		vc_jbuf_put(b, ":", 1);
		if (t == VC_NULL) {
			vc_jbuf_put(b, "null", 4);
		} else if (has_suffix(name, "_at") && t == VC_INTEGER) {
			char buf[32];
			vc_time_fmt(vc_col_int64(st, i), buf, sizeof buf);
			vc_jbuf_value(b, jv_string(buf));
		} else if (has_suffix(name, "_bool")) {
			vc_jbuf_str(b, vc_col_int64(st, i) != 0 ? "true" : "false");
		} else if (has_suffix(name, "_json")) {
			const char *s = (const char *)vc_col_text(st, i);
			jv v = jv_parse_sized(s, vc_col_bytes(st, i));
			if (!jv_is_valid(v)) {
				jv_free(v);
				v = jv_null();
			}
			vc_jbuf_value(b, v);
		} else if (t == VC_INTEGER) {
			vc_jbuf_number(b, (double)vc_col_int64(st, i));
		} else if (t == VC_FLOAT) {
			vc_jbuf_number(b, vc_col_double(st, i));
		} else {
			const unsigned char *s = vc_col_text(st, i);
			int len = vc_col_bytes(st, i);
			if (plain_ascii(s, len))
				vc_jbuf_string(b, (const char *)s, (size_t)len);
			else
				vc_jbuf_value(b, jv_string_sized((const char *)s, len));
		}
	}
	vc_jbuf_put(b, "}", 1);
}

jv
vc_sql_row_keys(vc_stmt *st, jv *keys)
{
	jv o = jv_object();
	int n = vc_col_count(st);

	for (int i = 0; i < n; i++) {
		const char *name = vc_col_name(st, i);
		int t = vc_col_type(st, i);
		jv v;

		if (t == VC_NULL) {
			v = jv_null();
		} else if (has_suffix(name, "_at") && t == VC_INTEGER) {
			char buf[32];
			vc_time_fmt(vc_col_int64(st, i), buf, sizeof buf);
			v = jv_string(buf);
		} else if (has_suffix(name, "_bool")) {
			o = jv_object_set(o, col_key(st, keys, i, 5),
			    jv_bool(vc_col_int64(st, i) != 0));
			continue;
		} else if (has_suffix(name, "_json")) {
			const char *s = (const char *)vc_col_text(st, i);
			v = jv_parse_sized(s, vc_col_bytes(st, i));
			if (!jv_is_valid(v)) {
				jv_free(v);
				v = jv_null();
			}
			o = jv_object_set(o, col_key(st, keys, i, 5), v);
			continue;
		} else if (t == VC_INTEGER) {
			v = jv_number((double)vc_col_int64(st, i));
		} else if (t == VC_FLOAT) {
			v = jv_number(vc_col_double(st, i));
		} else {
			v = jv_string_sized((const char *)vc_col_text(st, i),
			    vc_col_bytes(st, i));
		}
		o = jv_object_set(o, col_key(st, keys, i, 0), v);
	}
	return o;
}

int64_t
vc_sql_int(vc_ctx *ctx, vc_stmt *q)
{
	int64_t v = -1;

	if (q == NULL)
		return -1;
	if (vc_sql_step(ctx, q) == 1)
		v = vc_col_int64(q, 0);
	vc_stmt_done(q);
	return v;
}

jv
vc_sql_rows(vc_ctx *ctx, vc_stmt *st)
{
	jv a = jv_array(), keys = jv_invalid();
	int rc;

	if (st == NULL) {
		jv_free(a);
		return jv_invalid();
	}
	while ((rc = vc_sql_step(ctx, st)) == 1)
		a = jv_array_append(a, vc_sql_row_keys(st, &keys));
	jv_free(keys);
	vc_stmt_done(st);
	if (rc < 0) {
		jv_free(a);
		return jv_invalid();
	}
	return a;
}

int
vc_sql_one(vc_ctx *ctx, vc_stmt *st, const char *what, jv *out)
{
	int rc;

	if (st == NULL)
		return ctx->err;
	rc = vc_sql_step(ctx, st);
	if (rc == 1)
		*out = vc_sql_row(st);
	vc_stmt_done(st);
	if (rc < 0)
		return ctx->err;
	if (rc == 0)
		return vc_fail(ctx, VC_ENOTFOUND, "no such %s", what);
	return 0;
}
