/* SPDX-License-Identifier: MIT */
/*
 * storecopy.c - vc-auth store copy (storecopy.h).
 *
 * The source is a SQLite store, the target a PostgreSQL one that is new
 * (no schema, or a schema without rows) or an earlier copy of this very
 * source.  Each table is read in its key's order (rowid, or the primary
 * key of a WITHOUT ROWID table) a chunk at a time; a chunk goes to the
 * target by COPY into a session table and one INSERT ... SELECT
 * (row-level security refuses COPY into the tables themselves), in one
 * transaction together with the chunk's last key in vc_store_copy, the
 * copy's own table.  A copy that stops (a kill, a lost connection) loses
 * at most the chunk under way, and the next run goes on after the last
 * key stored; rows appended to the source since are copied too (rows
 * changed in place are not: stop the tools while copying).  Values go
 * as they are: ids, times, audit macs, sealed secrets (which the same
 * key file opens).  At the end each identity column's sequence is set
 * past the largest id (or SQLite's AUTOINCREMENT counter, if higher),
 * and every table is counted on both sides.
 *
 * Table and column names come from the list below and from the two
 * stores' catalogs, never from input; they are checked to be plain
 * identifiers and quoted before they go into SQL text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storecopy.h"
#include "core/page.h"
#include "core/store.h"
#include "crypto/crypto.h"

#define CHUNK_ROWS 10000
#define CHUNK_BYTES (16 * 1024 * 1024)
#define MAX_COLS 64

/*
 * Every table of the schema, parents before children (the order of
 * schema.sql's migrations).  key: the primary key's columns of a WITHOUT
 * ROWID table, NULL for a table read in rowid order.  A source table not
 * named here (but SQLite's own and the FTS5 index, which PostgreSQL
 * does not have) stops the copy before it starts.
 */
static const struct copy_table {
	const char *name;
	const char *key[4];
} tables[] = {
	{ "tenants", { NULL } }, { "users", { NULL } }, { "refresh_tokens", { NULL } },
	{ "api_tokens", { NULL } }, { "audit_logs", { NULL } }, { "hosts", { NULL } },
	{ "host_labels", { "tenant_id", "label", "host_id", NULL } }, { "cases", { NULL } },
	{ "case_notes", { NULL } }, { "case_links", { NULL } }, { "artifacts", { NULL } },
	{ "artifact_rows", { NULL } }, { "velociraptor_configs", { NULL } },
	{ "hunt_requests", { NULL } }, { "auth_throttle", { NULL } }, { "iocs", { NULL } },
	{ "threat_scores", { NULL } }, { "collect_policies", { NULL } },
	{ "collect_allowlist", { NULL } }, { "recovery_codes", { NULL } },
	{ "smtp_config", { NULL } }, { "auth_tokens", { NULL } }, { "outbox", { NULL } },
	{ "events", { NULL } }, { "notify_rules", { NULL } }, { "notifications", { NULL } },
	{ "notification_reads", { NULL } }, { "host_tri_bounds", { "tenant_id", "tri", NULL } },
	{ "auth_fail_bursts", { NULL } }, { "notify_channels", { NULL } },
	{ "notify_dead", { NULL } }, { "playbooks", { NULL } }, { "playbook_versions", { NULL } },
	{ "playbook_executions", { NULL } }, { "playbook_cursors", { NULL } },
	{ "blocklist", { NULL } }, { "report_templates", { NULL } }, { "reports", { NULL } },
	{ "report_files", { NULL } }, { "playbook_settings", { NULL } },
	{ "notify_sends", { "channel_id", "event_id", NULL } },
	{ "notify_files", { "channel_id", "event_id", NULL } },
};
#define NTABLES (sizeof tables / sizeof tables[0])

/* A copied column: its name, whether the target keeps it as bytea, and
 * whether it is an identity column SQLite does not have (its rowid). */
struct column {
	char name[64];
	int bytea, from_rowid, identity;
};

struct copy {
	vc_ctx *src, *dst;
	char source_id[160];            /* what names this source (fingerprint) */
	int64_t copied;                 /* rows this run, all tables */
};

/* A plain lowercase SQL identifier: safe to quote into a text. */
static int
ident_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) >= 64 || !((*s >= 'a' && *s <= 'z') || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static void
add_ident(struct vc_sqlbuf *b, const char *name)
{
	vc_sqlbuf_add(b, "\"");
	vc_sqlbuf_add(b, name);
	vc_sqlbuf_add(b, "\"");
}

static int
sql_built(vc_ctx *ctx, const struct vc_sqlbuf *b)
{
	return b->overflow ? vc_fail(ctx, VC_EINTERNAL, "store copy: a statement too long") : 0;
}

/* The number one query of ctx answers (0 for NULL), or -1 with ctx set. */
static int64_t
one_int(vc_ctx *ctx, const char *sql, const char *fmt, const char *arg)
{
	vc_stmt *q = vc_sql(ctx, sql, fmt, arg);
	int64_t v = -1;

	if (q != NULL && vc_sql_step(ctx, q) == 1)
		v = vc_col_int64(q, 0);
	else if (q != NULL && ctx->err == 0)
		v = 0;
	vc_stmt_done(q);
	return v;
}

/* ---- the target: its keys, its state ------------------------------------ */

/*
 * The copied audit chains and sealed secrets are the source's keys'
 * work: the target must be opened by the same keys (the same key file,
 * or one with the same keys, or VC_MASTER_KEY for both), else the copy
 * would be a store nobody can verify or open.
 */
static int
check_keys(vc_ctx *ctx, vc_ctx *dst)
{
	const char *sp = vc_store_key_source(ctx->store), *dp = dst->store->key_path;
	struct vc_keyring *kr = NULL;
	char *a, *b;
	int same, rc;

	if (strcmp(sp, "VC_MASTER_KEY") == 0)
		return 0;
	a = realpath(sp, NULL);
	b = realpath(dp, NULL);
	same = a != NULL && b != NULL && strcmp(a, b) == 0;
	free(a);
	free(b);
	if (same)
		return 0;
	if (access(dp, F_OK) != 0)
		return vc_fail(ctx, VC_ECONFIG, "the PostgreSQL store's key file %s does not exist:"
		    " the copy's audit chains and secrets need the source's keys (%s):"
		    " set VC_KEY_FILE=%s, or copy that file there (mode 0600)", dp, sp, sp);
	if ((rc = vc_keyring_load(ctx, dp, &kr)) != 0)
		return rc;
	same = vc_keyring_same(kr, ctx->store->keys);
	vc_keyring_free(kr);
	return same ? 0 : vc_fail(ctx, VC_ECONFIG, "the PostgreSQL store's key file %s holds other"
	    " keys than the source's (%s): set VC_KEY_FILE=%s", dp, sp, sp);
}

/* What names the source: its first audit record (the installation's
 * first act, macked by its own key), else its first tenant. */
static int
fingerprint(struct copy *cp)
{
	vc_ctx *ctx = cp->src;
	/* unscoped: the installation's first audit record, whoever's it is */
	vc_stmt *q = vc_sql(ctx, "SELECT id, mac FROM audit_logs ORDER BY id LIMIT 1", "");
	int rc;

	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_step(ctx, q)) == 1)
		snprintf(cp->source_id, sizeof cp->source_id, "audit %lld %.128s",
		    (long long)vc_col_int64(q, 0), (const char *)vc_col_text(q, 1));
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	if (rc == 1)
		return 0;
	/* unscoped: the installation's first tenant */
	q = vc_sql(ctx, "SELECT min(id) FROM tenants", "");
	if (q == NULL || vc_sql_step(ctx, q) != 1 || vc_col_text(q, 0) == NULL) {
		vc_stmt_done(q);
		return ctx->err ? ctx->err : vc_fail(ctx, VC_EINVAL, "the source store %s has no"
		    " tenant: nothing to copy", ctx->store->path);
	}
	snprintf(cp->source_id, sizeof cp->source_id, "tenant %.64s", (const char *)vc_col_text(q, 0));
	vc_stmt_done(q);
	return 0;
}

/*
 * The target may be written: a copy of this source under way or done
 * (vc_store_copy names it), or a store without a single row.  Anything
 * else is refused, changing nothing.
 */
static int
check_target(struct copy *cp)
{
	vc_ctx *ctx = cp->src, *dst = cp->dst;
	struct vc_sqlbuf b;
	vc_stmt *q;
	int64_t has;
	int rc;

	if ((has = one_int(dst, "SELECT to_regclass('vc_store_copy') IS NOT NULL", "", NULL)) < 0)
		return vc_fail(ctx, dst->err, "%s", dst->errmsg);
	if (has) {
		q = vc_sql(dst, "SELECT source FROM vc_store_copy WHERE tbl = ''", "");
		if (q == NULL || (rc = vc_sql_step(dst, q)) < 0) {
			vc_stmt_done(q);
			return vc_fail(ctx, dst->err, "%s", dst->errmsg);
		}
		rc = rc == 1 && strcmp((const char *)vc_col_text(q, 0), cp->source_id) == 0;
		vc_stmt_done(q);
		if (rc)
			return 0;
		return vc_fail(ctx, VC_ECONFLICT, "store %s holds a copy of another source, not of"
		    " %s: refusing to copy into it", dst->store->path, ctx->store->path);
	}
	for (size_t i = 0; i < NTABLES; i++) {
		memset(&b, 0, sizeof b);
		vc_sqlbuf_add(&b, "SELECT EXISTS (SELECT 1 FROM ");
		add_ident(&b, tables[i].name);
		vc_sqlbuf_add(&b, ")");
		if ((rc = sql_built(ctx, &b)) != 0)
			return rc;
		/* unscoped: is any tenant's row there at all */
		if ((has = one_int(dst, b.s, "", NULL)) < 0)
			return vc_fail(ctx, dst->err, "%s", dst->errmsg);
		if (has)
			return vc_fail(ctx, VC_ECONFLICT, "store %s is not empty (%s has rows) and holds"
			    " no copy of %s: refusing to copy into it", dst->store->path,
			    tables[i].name, ctx->store->path);
	}
	if ((rc = vc_store_exec(dst, "CREATE TABLE vc_store_copy (tbl text PRIMARY KEY,"
	    " source text NOT NULL, last_key text, rows bigint NOT NULL DEFAULT 0,"
	    " updated_at bigint NOT NULL)")) != 0 ||
	    (rc = vc_sql_exec(dst, "INSERT INTO vc_store_copy (tbl, source, updated_at)"
	    " VALUES ('', ?1, ?2)", NULL, "si", cp->source_id, vc_now(dst))) != 0)
		return vc_fail(ctx, rc, "%s", dst->errmsg);
	return 0;
}

/* ---- one table ----------------------------------------------------------- */

/* Does the source have table name (in sqlite_master)? */
static int
source_has(vc_ctx *ctx, const char *name)
{
	return (int)one_int(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
	    "s", name);
}

/*
 * The columns to copy: the target's, in its order (not those it
 * generates, hosts.hostname_key), each one the source
 * has too; an identity column the source lacks (case_links.seq) takes
 * the source's rowid.  A source column the target lacks would be lost:
 * refused.
 */
static int
columns(struct copy *cp, const struct copy_table *t, struct column *cols, int *ncols)
{
	vc_ctx *ctx = cp->src, *dst = cp->dst;
	vc_stmt *q, *s;
	int n = 0, rc, found;

	q = vc_sql(dst, "SELECT column_name, data_type, is_identity FROM information_schema.columns"
	    " WHERE table_schema = current_schema() AND table_name = ?1 AND is_generated = 'NEVER'"
	    " ORDER BY ordinal_position",
	    "s", t->name);
	if (q == NULL)
		return vc_fail(ctx, dst->err, "%s", dst->errmsg);
	while ((rc = vc_sql_step(dst, q)) == 1) {
		const char *name = (const char *)vc_col_text(q, 0);
		if (n == MAX_COLS || !ident_ok(name)) {
			vc_stmt_done(q);
			return vc_fail(ctx, VC_EINTERNAL, "store copy: table %s: column %.64s", t->name,
			    name ? name : "?");
		}
		snprintf(cols[n].name, sizeof cols[n].name, "%s", name);
		cols[n].bytea = strcmp((const char *)vc_col_text(q, 1), "bytea") == 0;
		cols[n].identity = strcmp((const char *)vc_col_text(q, 2), "YES") == 0;
		cols[n].from_rowid = 0;
		n++;
	}
	vc_stmt_done(q);
	if (rc < 0)
		return vc_fail(ctx, dst->err, "%s", dst->errmsg);
	if (n == 0)
		return vc_fail(ctx, VC_ECONFIG, "store %s has no table %s: not this version's schema",
		    dst->store->path, t->name);
	/* Which of them the source has. */
	for (int i = 0; i < n; i++) {
		s = vc_sql(ctx, "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2", "ss",
		    t->name, cols[i].name);
		found = s != NULL && vc_sql_step(ctx, s) == 1 && vc_col_int(s, 0) > 0;
		vc_stmt_done(s);
		if (ctx->err)
			return ctx->err;
		if (found)
			continue;
		if (!cols[i].identity || t->key[0] != NULL)
			return vc_fail(ctx, VC_ECONFIG, "store copy: the source's %s has no column %s",
			    t->name, cols[i].name);
		cols[i].from_rowid = 1;
	}
	/* And none the target lacks. */
	s = vc_sql(ctx, "SELECT name FROM pragma_table_info(?1) ORDER BY cid", "s", t->name);
	while (s != NULL && (rc = vc_sql_step(ctx, s)) == 1) {
		const char *name = (const char *)vc_col_text(s, 0);
		found = 0;
		for (int i = 0; i < n && !found; i++)
			found = strcmp(cols[i].name, name) == 0;
		if (!found) {
			rc = vc_fail(ctx, VC_ECONFIG, "store copy: the target's %s has no column %.64s",
			    t->name, name);
			vc_stmt_done(s);
			return rc;
		}
	}
	vc_stmt_done(s);
	if (ctx->err)
		return ctx->err;
	*ncols = n;
	return 0;
}

/* The key's columns as the source's SELECT names them ("rowid" for a
 * rowid table), into b, separated by ", ". */
static void
add_key(struct vc_sqlbuf *b, const struct copy_table *t)
{
	if (t->key[0] == NULL) {
		vc_sqlbuf_add(b, "rowid");
		return;
	}
	for (int k = 0; t->key[k] != NULL; k++) {
		if (k)
			vc_sqlbuf_add(b, ", ");
		add_ident(b, t->key[k]);
	}
}

static int
nkey(const struct copy_table *t)
{
	int k = 0;

	while (k < 4 && t->key[k] != NULL)
		k++;
	return k ? k : 1;
}

/* One value of the source's row into the COPY. */
static void
copy_value(vc_ctx *dst, vc_stmt *q, int i, int bytea)
{
	char num[40];

	switch (vc_col_type(q, i)) {
	case VC_NULL:
		vc_copy_null(dst);
		break;
	case VC_INTEGER:
		vc_copy_int(dst, vc_col_int64(q, i));
		break;
	case VC_FLOAT:
		snprintf(num, sizeof num, "%.17g", vc_col_double(q, i));
		vc_copy_str(dst, num);
		break;
	default:
		if (bytea) {
			const void *p = vc_col_blob(q, i);
			vc_copy_blob(dst, p ? p : "", (size_t)vc_col_bytes(q, i));
		} else {
			const unsigned char *p = vc_col_text(q, i);
			vc_copy_text(dst, (const char *)(p ? p : (const unsigned char *)""),
			    (size_t)vc_col_bytes(q, i));
		}
	}
}

/*
 * Copy what of table t comes after the last key stored, a chunk a
 * transaction.  *copied gets the rows this run copied.
 */
static int
copy_table(struct copy *cp, const struct copy_table *t, int64_t *copied)
{
	vc_ctx *ctx = cp->src, *dst = cp->dst;
	struct column cols[MAX_COLS];
	struct vc_sqlbuf sel, first, cpy, ins, stage;
	jv last = jv_invalid();
	int ncols = 0, nk = nkey(t), rc;
	vc_stmt *q;

	*copied = 0;
	if ((rc = columns(cp, t, cols, &ncols)) != 0)
		return rc;
	/* The source's chunk: key, then the columns; after the last key. */
	memset(&sel, 0, sizeof sel);
	memset(&cpy, 0, sizeof cpy);
	memset(&ins, 0, sizeof ins);
	memset(&stage, 0, sizeof stage);
	vc_sqlbuf_add(&sel, "SELECT ");
	add_key(&sel, t);
	vc_sqlbuf_add(&cpy, "COPY \"vc_copy_");
	vc_sqlbuf_add(&cpy, t->name);
	vc_sqlbuf_add(&cpy, "\" (");
	vc_sqlbuf_add(&ins, "INSERT INTO ");
	add_ident(&ins, t->name);
	vc_sqlbuf_add(&ins, " (");
	for (int i = 0; i < ncols; i++) {
		vc_sqlbuf_add(&sel, ", ");
		if (cols[i].from_rowid)
			vc_sqlbuf_add(&sel, "rowid");
		else
			add_ident(&sel, cols[i].name);
		vc_sqlbuf_add(&cpy, i ? ", " : "");
		add_ident(&cpy, cols[i].name);
		vc_sqlbuf_add(&ins, i ? ", " : "");
		add_ident(&ins, cols[i].name);
	}
	vc_sqlbuf_add(&sel, " FROM ");
	add_ident(&sel, t->name);
	/* The first chunk, and the next ones after a key (a separate text:
	 * "?1 IS NULL OR ..." would read the table from its start each time). */
	first = sel;
	vc_sqlbuf_add(&sel, " WHERE (");
	add_key(&sel, t);
	vc_sqlbuf_add(&sel, ") > (");
	for (int k = 0; k < nk; k++)
		vc_sqlbuf_add(&sel, k == 0 ? "?2" : k == 1 ? ", ?3" : k == 2 ? ", ?4" : ", ?5");
	vc_sqlbuf_add(&sel, ")");
	vc_sqlbuf_add(&sel, " ORDER BY ");
	vc_sqlbuf_add(&first, " ORDER BY ");
	add_key(&sel, t);
	add_key(&first, t);
	vc_sqlbuf_add(&sel, " LIMIT ?1");
	vc_sqlbuf_add(&first, " LIMIT ?1");
	vc_sqlbuf_add(&cpy, ") FROM STDIN");
	vc_sqlbuf_add(&ins, ") OVERRIDING SYSTEM VALUE SELECT ");
	for (int i = 0; i < ncols; i++) {
		vc_sqlbuf_add(&ins, i ? ", " : "");
		add_ident(&ins, cols[i].name);
	}
	vc_sqlbuf_add(&ins, " FROM \"vc_copy_");
	vc_sqlbuf_add(&ins, t->name);
	vc_sqlbuf_add(&ins, "\"");
	vc_sqlbuf_add(&stage, "CREATE TEMP TABLE IF NOT EXISTS \"vc_copy_");
	vc_sqlbuf_add(&stage, t->name);
	vc_sqlbuf_add(&stage, "\" (LIKE ");
	add_ident(&stage, t->name);
	vc_sqlbuf_add(&stage, ") ON COMMIT DELETE ROWS");
	if ((rc = sql_built(ctx, &sel)) != 0 || (rc = sql_built(ctx, &first)) != 0 ||
	    (rc = sql_built(ctx, &cpy)) != 0 ||
	    (rc = sql_built(ctx, &ins)) != 0 || (rc = sql_built(ctx, &stage)) != 0)
		return rc;

	/* Where an earlier run stopped. */
	q = vc_sql(dst, "SELECT last_key FROM vc_store_copy WHERE tbl = ?1", "s", t->name);
	if (q == NULL || (rc = vc_sql_step(dst, q)) < 0) {
		vc_stmt_done(q);
		return vc_fail(ctx, dst->err, "%s", dst->errmsg);
	}
	if (rc == 1 && vc_col_text(q, 0) != NULL)
		last = jv_parse((const char *)vc_col_text(q, 0));
	vc_stmt_done(q);
	if (jv_is_valid(last) && (jv_get_kind(last) != JV_KIND_ARRAY ||
	    jv_array_length(jv_copy(last)) != nk)) {
		jv_free(last);
		return vc_fail(ctx, VC_EINVAL, "store %s: the copy's place in %s is damaged",
		    dst->store->path, t->name);
	}

	for (;;) {
		int64_t n = 0, bytes = 0, taken = 0;
		jv key = jv_invalid();
		int step = 0, werr = 0;

		if ((q = vc_sql(ctx, jv_is_valid(last) ? sel.s : first.s, "")) == NULL) {
			jv_free(last);
			return ctx->err;
		}
		if (jv_is_valid(last)) {
			jv_array_foreach(last, k, v) {
				if (jv_get_kind(v) == JV_KIND_NUMBER)
					vc_bind_int64(q, 2 + k, (int64_t)jv_number_value(v));
				else if (jv_get_kind(v) == JV_KIND_STRING)
					vc_bind_text(q, 2 + k, jv_string_value(v), -1, VC_TRANSIENT);
				jv_free(v);
			}
		}
		vc_bind_int64(q, 1, CHUNK_ROWS);
		if ((rc = vc_tx_begin(dst)) != 0 || (rc = vc_store_exec(dst, stage.s)) != 0 ||
		    (rc = vc_copy_begin(dst, cpy.s)) != 0) {
			vc_tx_rollback(dst);
			vc_stmt_done(q);
			jv_free(last);
			return vc_fail(ctx, rc, "%s", dst->errmsg);
		}
		while (bytes < CHUNK_BYTES && (step = vc_sql_step(ctx, q)) == 1) {
			for (int i = 0; i < ncols; i++) {
				copy_value(dst, q, nk + i, cols[i].bytea);
				bytes += vc_col_bytes(q, nk + i);
			}
			if ((werr = vc_copy_row(dst)) != 0)
				break;
			jv_free(key);
			key = jv_array();
			for (int k = 0; k < nk; k++)
				key = jv_array_append(key, vc_col_type(q, k) == VC_INTEGER ?
				    jv_number((double)vc_col_int64(q, k)) :
				    jv_string((const char *)vc_col_text(q, k)));
			n++;
		}
		vc_stmt_done(q);
		if (step < 0 || werr != 0) {
			int err = ctx->err ? ctx->err : dst->err;
			char msg[sizeof ctx->errmsg];
			snprintf(msg, sizeof msg, "%s", ctx->err ? ctx->errmsg : dst->errmsg);
			vc_copy_abort(dst);
			vc_tx_rollback(dst);
			jv_free(key);
			jv_free(last);
			return vc_fail(ctx, err ? err : VC_EINTERNAL, "%s", msg);
		}
		if (n == 0) {
			vc_copy_abort(dst);
			vc_tx_rollback(dst);
			jv_free(key);
			jv_free(last);
			return 0;
		}
		if ((rc = vc_copy_end(dst, &taken)) == 0 &&
		    (rc = vc_sql_exec(dst, ins.s, NULL, "")) == 0) {
			jv kt = jv_dump_string(jv_copy(key), 0);
			rc = vc_sql_exec(dst, "INSERT INTO vc_store_copy (tbl, source, last_key, rows,"
			    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tbl) DO UPDATE"
			    " SET last_key = excluded.last_key, rows = vc_store_copy.rows + excluded.rows,"
			    " updated_at = excluded.updated_at", NULL, "sssii", t->name, cp->source_id,
			    jv_string_value(kt), n, vc_now(dst));
			jv_free(kt);
		}
		if (rc == 0)
			rc = vc_tx_commit(dst);
		if (rc != 0) {
			char msg[sizeof ctx->errmsg];
			snprintf(msg, sizeof msg, "%s", dst->errmsg);
			vc_tx_rollback(dst);
			jv_free(key);
			jv_free(last);
			return vc_fail(ctx, rc, "%s: %s", t->name, msg);
		}
		*copied += n;
		cp->copied += n;
		jv_free(last);
		last = key;
		if (ctx->progress != NULL) {
			char msg[128];
			snprintf(msg, sizeof msg, "%s: %lld rows copied", t->name, (long long)*copied);
			ctx->progress(ctx, msg, ctx->stream_arg);
		}
		if (step == 0 && n < CHUNK_ROWS) {
			/* The source had no more: no empty chunk to ask for. */
			jv_free(last);
			return 0;
		}
	}
}

/* Each identity column's sequence past its largest value, or past
 * SQLite's AUTOINCREMENT counter of the table when that is higher. */
static int
set_sequences(struct copy *cp, const struct copy_table *t)
{
	vc_ctx *ctx = cp->src, *dst = cp->dst;
	struct column cols[MAX_COLS];
	int ncols = 0, rc;
	int64_t counter = 0;

	if ((rc = columns(cp, t, cols, &ncols)) != 0)
		return rc;
	if (source_has(ctx, "sqlite_sequence") > 0 &&
	    (counter = one_int(ctx, "SELECT max(seq) FROM sqlite_sequence WHERE name = ?1", "s",
	    t->name)) < 0)
		return ctx->err;
	for (int i = 0; i < ncols; i++) {
		struct vc_sqlbuf b = { .n = 0 };
		int64_t top;
		if (!cols[i].identity)
			continue;
		vc_sqlbuf_add(&b, "SELECT max(");
		add_ident(&b, cols[i].name);
		vc_sqlbuf_add(&b, ") FROM ");
		add_ident(&b, t->name);
		if ((rc = sql_built(ctx, &b)) != 0)
			return rc;
		/* unscoped: every tenant's largest id */
		if ((top = one_int(dst, b.s, "", NULL)) < 0)
			return vc_fail(ctx, dst->err, "%s", dst->errmsg);
		if (!cols[i].from_rowid && counter > top)
			top = counter;
		if ((rc = vc_sql_exec(dst, "SELECT setval(pg_get_serial_sequence(?1, ?2), ?3, ?4 <> 0)",
		    NULL, "ssii", t->name, cols[i].name, top > 0 ? top : 1, (int64_t)(top > 0))) != 0)
			return vc_fail(ctx, rc, "%s", dst->errmsg);
	}
	return 0;
}

/* Count t on both sides: one record; *ok 0 when they differ. */
static int
verify(struct copy *cp, const struct copy_table *t, int64_t copied, jv *out, int *ok)
{
	vc_ctx *ctx = cp->src, *dst = cp->dst;
	struct vc_sqlbuf b = { .n = 0 };
	int64_t ns, nd;

	vc_sqlbuf_add(&b, "SELECT count(*) FROM ");
	add_ident(&b, t->name);
	if (sql_built(ctx, &b) != 0)
		return ctx->err;
	/* unscoped: every tenant's rows, on both sides */
	if ((ns = one_int(ctx, b.s, "", NULL)) < 0)
		return ctx->err;
	/* unscoped: every tenant's rows, on both sides */
	if ((nd = one_int(dst, b.s, "", NULL)) < 0)
		return vc_fail(ctx, dst->err, "%s", dst->errmsg);
	*ok = ns == nd;
	return vc_emit(ctx, JV_OBJECT(jv_string("table"), jv_string(t->name),
	    jv_string("source"), jv_number((double)ns), jv_string("target"), jv_number((double)nd),
	    jv_string("copied"), jv_number((double)copied), jv_string("ok"), jv_bool(ns == nd)),
	    out) ? vc_fail(ctx, VC_EINTERNAL, "output closed") : 0;
}

/* Every table of the source must be one this build copies. */
static int
check_source(vc_ctx *ctx)
{
	vc_stmt *q = vc_sql(ctx, "SELECT name FROM sqlite_master WHERE type = 'table'"
	    " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'hosts\\_search%' ESCAPE '\\'"
	    " ORDER BY name", "");
	int rc;

	while (q != NULL && (rc = vc_sql_step(ctx, q)) == 1) {
		const char *name = (const char *)vc_col_text(q, 0);
		size_t i = 0;
		while (i < NTABLES && strcmp(tables[i].name, name) != 0)
			i++;
		if (i == NTABLES) {
			rc = vc_fail(ctx, VC_ECONFIG, "store copy: the source has a table this build"
			    " does not know (%.64s): copy it with the build that made it", name);
			vc_stmt_done(q);
			return rc;
		}
	}
	vc_stmt_done(q);
	return ctx->err;
}

int
vc_op_store_copy(vc_ctx *ctx, jv args, jv *out)
{
	const char *to = vc_arg_str(args, "to");
	struct copy cp = { .src = ctx };
	int64_t copied[NTABLES];
	vc_ctx dst;
	int rc, bad = 0;

	*out = jv_invalid();
	if (ctx->store->pg != NULL)
		return vc_fail(ctx, VC_EUSAGE, "--from must name a SQLite store, not %s", ctx->store->path);
	if (to == NULL || !vc_store_is_pg_url(to))
		return vc_fail(ctx, VC_EUSAGE, "--to must be a postgresql:// URL");
	if ((rc = check_source(ctx)) != 0 || (rc = fingerprint(&cp)) != 0)
		return rc;
	vc_ctx_init(&dst);
	dst.who.actor = VC_ACTOR_SYSTEM;        /* every tenant's rows */
	cp.dst = &dst;
	if ((rc = vc_store_open(&dst, to, VC_STORE_CREATE | VC_STORE_NOKEY)) != 0) {
		rc = vc_fail(ctx, rc, "%s", dst.errmsg);
		goto done;
	}
	if ((rc = check_keys(ctx, &dst)) != 0 || (rc = check_target(&cp)) != 0)
		goto done;
	for (size_t i = 0; i < NTABLES && rc == 0; i++) {
		copied[i] = 0;
		if ((rc = source_has(ctx, tables[i].name)) < 0)
			rc = ctx->err;
		else if (rc == 0)
			rc = vc_fail(ctx, VC_ECONFIG, "the source has no table %s: not this version's"
			    " schema", tables[i].name);
		else
			rc = copy_table(&cp, &tables[i], &copied[i]);
	}
	for (size_t i = 0; i < NTABLES && rc == 0; i++)
		rc = set_sequences(&cp, &tables[i]);
	for (size_t i = 0; i < NTABLES && rc == 0; i++) {
		int ok = 1;
		rc = verify(&cp, &tables[i], copied[i], out, &ok);
		bad += !ok;
	}
	if (rc == 0 && bad > 0)
		rc = vc_fail(ctx, VC_EINVAL, "store copy: %d tables count differently in %s than in %s",
		    bad, dst.store->path, ctx->store->path);
done:
	vc_ctx_release(&dst);
	return rc;
}
