/* SPDX-License-Identifier: MIT */
/*
 * secrets.c - the installation key's life: rotate, list, rekey, retire;
 * and the registry of the columns that hold sealed secrets.
 *
 * Key lifecycle.  "key rotate" adds a key: from then on it signs access
 * tokens, seals new secrets and macs new audit records; older keys only
 * verify and open.  "key rekey" opens every sealed secret of the registry
 * and seals it again under the newest key, in one transaction.  "key
 * retire ID" removes a key's material from the key file (its audit
 * subkey stays, so the audit records it macked still verify), once
 * nothing else uses it: no sealed secret names it, and no access token
 * it signed can still be valid (VC_JWT_TTL + VC_JWT_SKEW after the next
 * key was made).  Opaque tokens (refresh, API) are hashes, on no key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "secrets.h"
#include "core/audit.h"
#include "core/store.h"
#include "crypto/crypto.h"

/*
 * Every column holding vc_secret_seal output, one line each.  A table or
 * column that does not exist in the store (a registry entry of a feature
 * whose migration this store lacks) is skipped without an error.  The
 * associated data is exactly what each vc_secret_seal call builds.
 */
const struct vc_sealed_column vc_sealed_columns[] = {
	{ "velociraptor_configs", "tenant_id", "key_sealed",
	  "{tenant_id}|velociraptor|client_private_key" },
	{ "users", "id", "totp_secret", "{tenant_id}|{id}|totp" },
	{ "smtp_config", "id", "password", "|smtp|password" },
	{ NULL, NULL, NULL, NULL }
};

#define TPL_MAX 4               /* "{col}" names in one template */
#define NAME_MAX_LEN 63
#define SQL_MAX 512

/* [a-z_][a-z0-9_]*, at most NAME_MAX_LEN: a name safe to quote into SQL. */
static int
ident_ok(const char *s, size_t n)
{
	if (n == 0 || n > NAME_MAX_LEN || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_'))
			return 0;
	return 1;
}

/*
 * The SQL of the registry is built from its compiled-in identifiers (never
 * from input: ident_ok checks each anyway); values are always bound.
 */
struct sqlbuf {
	char s[SQL_MAX];
	size_t n;
	int bad;
};

static void
sql_add(struct sqlbuf *b, const char *text)
{
	size_t n = strlen(text);

	if (b->n + n >= sizeof b->s) {
		b->bad = 1;
		return;
	}
	memcpy(b->s + b->n, text, n + 1);
	b->n += n;
}

static void
sql_ident(struct sqlbuf *b, const char *name, size_t n)
{
	if (!ident_ok(name, n) || b->n + n + 2 >= sizeof b->s) {
		b->bad = 1;
		return;
	}
	b->s[b->n++] = '"';
	memcpy(b->s + b->n, name, n);
	b->n += n;
	b->s[b->n++] = '"';
	b->s[b->n] = '\0';
}

/* The "{name}" parts of a template, in order: count, or -1. */
static int
tpl_names(const char *tpl, const char *names[TPL_MAX], size_t lens[TPL_MAX])
{
	int n = 0;

	for (const char *p = tpl; (p = strchr(p, '{')) != NULL; ) {
		const char *e = strchr(p, '}');

		if (e == NULL || n == TPL_MAX || !ident_ok(p + 1, (size_t)(e - p - 1)))
			return -1;
		names[n] = p + 1;
		lens[n++] = (size_t)(e - p - 1);
		p = e + 1;
	}
	return n;
}

/* One row of a scan: the values the template names, by name. */
struct row {
	vc_stmt *q;
	const char *names[TPL_MAX];
	size_t lens[TPL_MAX];
	int n;
};

/*
 * SQL from pattern for registry entry sc: $T its table, $C its sealed
 * column, $I its id column, $X ", name" for each name of r (may be NULL).
 */
static void
sql_make(struct sqlbuf *b, const char *pattern, const struct vc_sealed_column *sc,
    const struct row *r)
{
	char lit[2] = "";

	for (const char *p = pattern; *p != '\0'; p++) {
		if (p[0] != '$' || p[1] == '\0') {
			lit[0] = *p;
			sql_add(b, lit);
			continue;
		}
		switch (*++p) {
		case 'T':
			sql_ident(b, sc->table, strlen(sc->table));
			break;
		case 'C':
			sql_ident(b, sc->column, strlen(sc->column));
			break;
		case 'I':
			sql_ident(b, sc->id, strlen(sc->id));
			break;
		case 'X':
			for (int i = 0; r != NULL && i < r->n; i++) {
				sql_add(b, ", ");
				sql_ident(b, r->names[i], r->lens[i]);
			}
			break;
		default:
			b->bad = 1;
		}
	}
}

int
vc_sealed_ad(const struct vc_sealed_column *sc,
    const char *(*value)(const char *col, void *arg), void *arg,
    char *buf, size_t n)
{
	size_t o = 0;

	for (const char *p = sc->ad; *p != '\0'; ) {
		const char *v, *e;
		char name[NAME_MAX_LEN + 1];
		size_t vn;

		if (*p != '{') {
			if (o + 1 >= n)
				return -1;
			buf[o++] = *p++;
			continue;
		}
		if ((e = strchr(p, '}')) == NULL || !ident_ok(p + 1, (size_t)(e - p - 1)))
			return -1;
		memcpy(name, p + 1, (size_t)(e - p - 1));
		name[e - p - 1] = '\0';
		if ((v = value(name, arg)) == NULL)
			return -1;
		vn = strlen(v);
		if (o + vn >= n)
			return -1;
		memcpy(buf + o, v, vn);
		o += vn;
		p = e + 1;
	}
	if (o >= n)
		return -1;
	buf[o] = '\0';
	return 0;
}

/* 1 when the store has the table and its column, 0 when not, -1 on error. */
static int
column_exists(vc_ctx *ctx, const char *table, const char *column)
{
	/* unscoped: the schema catalogue, no tenant data */
	vc_stmt *q = vc_sql(ctx, VC_SQL2("SELECT 1 FROM sqlite_master m, pragma_table_info(m.name) c"
	    " WHERE m.type = 'table' AND m.name = ?1 AND c.name = ?2",
	    "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
	    " AND table_name = ?1 AND column_name = ?2"), "ss", table, column);
	int rc;

	if (q == NULL)
		return -1;
	rc = vc_sql_step(ctx, q);
	vc_stmt_done(q);
	return rc;
}

static const char *
row_value(const char *col, void *arg)
{
	struct row *r = arg;

	for (int i = 0; i < r->n; i++)
		if (strlen(col) == r->lens[i] && memcmp(col, r->names[i], r->lens[i]) == 0) {
			const char *v = (const char *)vc_col_text(r->q, 3 + i);
			return v != NULL ? v : "";
		}
	return NULL;
}

/* What a scan calls for each sealed value: the row's place (SQLite's rowid,
 * PostgreSQL's ctid, as text), the row's name (the registry's id column),
 * the blob and its associated data. */
typedef int scan_fn(vc_ctx *ctx, const struct vc_sealed_column *sc, const char *rowid,
    const char *name, const char *blob, const char *ad, void *arg);

/*
 * Call fn for every non-NULL value of sc's column.  *present is 0 (and
 * nothing is called) when the store has no such table or column.
 */
static int
scan_column(vc_ctx *ctx, const struct vc_sealed_column *sc, scan_fn *fn, void *arg,
    int *present)
{
	struct sqlbuf b = { .n = 0 };
	struct row r;
	char ad[1024];
	int rc;

	*present = 0;
	if ((rc = column_exists(ctx, sc->table, sc->column)) <= 0)
		return rc < 0 ? ctx->err : 0;
	*present = 1;
	memset(&r, 0, sizeof r);
	if ((r.n = tpl_names(sc->ad, r.names, r.lens)) < 0)
		return vc_fail(ctx, VC_EINTERNAL, "bad associated data template for %s.%s",
		    sc->table, sc->column);
	/* A row's place: PostgreSQL has no rowid; its ctid holds while the
	 * rekey's transaction lasts (the UPDATE checks the blob besides). */
	sql_make(&b, VC_SQL2("SELECT rowid", "SELECT ctid::text") ", $I, $C$X FROM $T"
	    " WHERE $C IS NOT NULL ORDER BY " VC_SQL2("rowid", "ctid"), sc, &r);
	if (b.bad)
		return vc_fail(ctx, VC_EINTERNAL, "bad registry entry %s.%s", sc->table, sc->column);
	/* unscoped: the installation key's sealed values, in every tenant (superadmin) */
	if ((r.q = vc_sql(ctx, b.s, "")) == NULL)
		return ctx->err;
	while ((rc = vc_sql_step(ctx, r.q)) == 1) {
		const char *name = (const char *)vc_col_text(r.q, 1);
		const char *blob = (const char *)vc_col_text(r.q, 2);

		if (vc_sealed_ad(sc, row_value, &r, ad, sizeof ad) != 0) {
			vc_stmt_done(r.q);
			return vc_fail(ctx, VC_EINTERNAL, "%s.%s: cannot make the associated data",
			    sc->table, sc->column);
		}
		const char *place = (const char *)vc_col_text(r.q, 0);

		if ((rc = fn(ctx, sc, place ? place : "", name ? name : "", blob, ad,
		    arg)) != 0) {
			vc_stmt_done(r.q);
			return rc;
		}
	}
	vc_stmt_done(r.q);
	return rc < 0 ? ctx->err : 0;
}

/* ---- key list ------------------------------------------------------------ */

/* Sealed values per key id: counts[kid] in a jv object keyed by the id. */
static int
count_kid(vc_ctx *ctx, const struct vc_sealed_column *sc, const char *rowid, const char *name,
    const char *blob, const char *ad, void *arg)
{
	jv *counts = arg;
	uint32_t kid;
	char k[16];
	jv v;

	(void)ctx, (void)sc, (void)rowid, (void)name, (void)ad;
	if (vc_secret_key_id(blob, &kid) != 0)
		kid = 0;        /* not a sealed blob: counted under 0 */
	snprintf(k, sizeof k, "%u", (unsigned)kid);
	v = jv_object_get(jv_copy(*counts), jv_string(k));
	*counts = jv_object_set(*counts, jv_string(k), jv_number(
	    (jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0) + 1));
	jv_free(v);
	return 0;
}

/* Every registry column's sealed values per key id (object id -> n). */
static int
secrets_per_key(vc_ctx *ctx, jv *counts)
{
	int present, rc;

	*counts = jv_object();
	for (const struct vc_sealed_column *sc = vc_sealed_columns; sc->table; sc++)
		if ((rc = scan_column(ctx, sc, count_kid, counts, &present)) != 0) {
			jv_free(*counts);
			*counts = jv_invalid();
			return rc;
		}
	return 0;
}

static int64_t
count_of(jv counts, uint32_t kid)
{
	char k[16];
	jv v;
	int64_t n;

	snprintf(k, sizeof k, "%u", (unsigned)kid);
	v = jv_object_get(jv_copy(counts), jv_string(k));
	n = jv_get_kind(v) == JV_KIND_NUMBER ? (int64_t)jv_number_value(v) : 0;
	jv_free(v);
	return n;
}

static const char *const state_names[] = {
	[VC_KEY_ACTIVE] = "active", [VC_KEY_VERIFY] = "verify-only",
	[VC_KEY_RETIRED] = "retired",
};

static jv
time_or_null(int64_t t)
{
	char buf[40];

	if (t <= 0)
		return jv_null();
	vc_time_fmt(t, buf, sizeof buf);
	return jv_string(buf);
}

int
vc_op_key_list(vc_ctx *ctx, jv args, jv *out)
{
	const struct vc_keyring *kr = ctx->store->keys;
	jv counts, audits;
	vc_stmt *q;
	int rc;

	(void)args;
	if ((rc = secrets_per_key(ctx, &counts)) != 0)
		return rc;
	audits = jv_object();
	/* unscoped: how many records each installation key macked, every chain (superadmin) */
	q = vc_sql(ctx, "SELECT key_id, COUNT(*) FROM audit_logs GROUP BY key_id", "");
	if (q == NULL) {
		jv_free(counts);
		jv_free(audits);
		return ctx->err;
	}
	while ((rc = vc_sql_step(ctx, q)) == 1) {
		char k[24];

		snprintf(k, sizeof k, "%lld", (long long)vc_col_int64(q, 0));
		audits = jv_object_set(audits, jv_string(k),
		    jv_number((double)vc_col_int64(q, 1)));
	}
	vc_stmt_done(q);
	if (rc < 0) {
		jv_free(counts);
		jv_free(audits);
		return ctx->err;
	}
	*out = jv_array();
	for (size_t i = 0; i < vc_keyring_count(kr); i++) {
		struct vc_key_info ki;
		jv o;

		vc_keyring_info(kr, i, &ki);
		o = jv_object();
		o = jv_object_set(o, jv_string("id"), jv_number(ki.id));
		o = jv_object_set(o, jv_string("state"), jv_string(state_names[ki.state]));
		o = jv_object_set(o, jv_string("created_at"), time_or_null(ki.created));
		o = jv_object_set(o, jv_string("retired_at"), time_or_null(ki.retired));
		o = jv_object_set(o, jv_string("secrets"), jv_number((double)count_of(counts, ki.id)));
		o = jv_object_set(o, jv_string("audit_records"),
		    jv_number((double)count_of(audits, ki.id)));
		*out = jv_array_append(*out, o);
	}
	jv_free(counts);
	jv_free(audits);
	return 0;
}

/* ---- rekey ------------------------------------------------------------------ */

struct rekey {
	int64_t rows, resealed;
	jv todo;                /* [[row's place, new blob, old blob], ...] */
};

static int
rekey_row(vc_ctx *ctx, const struct vc_sealed_column *sc, const char *rowid, const char *name,
    const char *blob, const char *ad, void *arg)
{
	struct rekey *rk = arg;
	const struct vc_keyring *kr = ctx->store->keys;
	char *plain = NULL, *sealed = NULL;
	size_t n = 0;
	uint32_t kid;
	int rc;

	rk->rows++;
	/* Every value is opened, those already on the newest key too: a
	 * rekey that succeeds says every secret decrypts. */
	if (vc_secret_open(ctx, kr, ad, blob, &plain, &n) != 0) {
		char msg[sizeof ctx->errmsg];

		snprintf(msg, sizeof msg, "%s", ctx->errmsg);
		return vc_fail(ctx, VC_ECONFIG, "%s.%s of %s %.64s: %s; nothing was changed",
		    sc->table, sc->column, sc->id, name, msg);
	}
	if (vc_secret_key_id(blob, &kid) == 0 && kid == vc_keyring_newest(kr)) {
		vc_secret_free(plain, n);
		return 0;
	}
	rc = vc_secret_seal(ctx, kr, ad, plain, n, &sealed);
	vc_secret_free(plain, n);
	if (rc != 0)
		return rc;
	rk->todo = jv_array_append(rk->todo, JV_ARRAY(jv_string(rowid),
	    jv_string(sealed), jv_string(blob)));
	free(sealed);
	rk->resealed++;
	return 0;
}

/* Write the new blobs of one column, each only if its row still holds the
 * blob that was read (the transaction makes that certain; it costs nothing). */
static int
rekey_write(vc_ctx *ctx, const struct vc_sealed_column *sc, jv todo)
{
	struct sqlbuf b = { .n = 0 };
	int rc = 0;

	sql_make(&b, "UPDATE $T SET $C = ?1 WHERE " VC_SQL2("rowid = ?2", "ctid = ?2::tid")
	    " AND $C = ?3", sc, NULL);
	if (b.bad)
		return vc_fail(ctx, VC_EINTERNAL, "bad registry entry %s.%s", sc->table, sc->column);
	jv_array_foreach(todo, i, e) {
		jv id = jv_array_get(jv_copy(e), 0), nb = jv_array_get(jv_copy(e), 1),
		    ob = jv_array_get(jv_copy(e), 2);
		int changes = 0;

		/* unscoped: re-sealing every tenant's secrets under the newest installation key */
		rc = vc_sql_exec(ctx, b.s, &changes, "sss", jv_string_value(nb),
		    jv_string_value(id), jv_string_value(ob));
		jv_free(id);
		jv_free(nb);
		jv_free(ob);
		jv_free(e);
		if (rc == 0 && changes != 1)
			rc = vc_fail(ctx, VC_ETEMP, "%s.%s changed during the rekey: run it again",
			    sc->table, sc->column);
		if (rc != 0)
			break;
	}
	return rc;
}

int
vc_op_key_rekey(vc_ctx *ctx, jv args, jv *out)
{
	int64_t total = 0, resealed = 0;
	int present, rc;

	(void)args;
	*out = jv_array();
	for (const struct vc_sealed_column *sc = vc_sealed_columns; sc->table; sc++) {
		struct rekey rk = { .todo = jv_array() };
		jv o;

		rc = scan_column(ctx, sc, rekey_row, &rk, &present);
		if (rc == 0)
			rc = rekey_write(ctx, sc, rk.todo);
		jv_free(rk.todo);
		if (rc != 0) {
			jv_free(*out);
			*out = jv_invalid();
			return rc;
		}
		if (!present)
			continue;       /* this store has no such feature yet */
		o = jv_object();
		o = jv_object_set(o, jv_string("table"), jv_string(sc->table));
		o = jv_object_set(o, jv_string("column"), jv_string(sc->column));
		o = jv_object_set(o, jv_string("secrets"), jv_number((double)rk.rows));
		o = jv_object_set(o, jv_string("resealed"), jv_number((double)rk.resealed));
		o = jv_object_set(o, jv_string("key_id"), jv_number(vc_keyring_newest(ctx->store->keys)));
		*out = jv_array_append(*out, o);
		total += rk.rows;
		resealed += rk.resealed;
	}
	vc_audit_target(ctx, "key", "");
	vc_audit_detail(ctx, "key_id", jv_number(vc_keyring_newest(ctx->store->keys)));
	vc_audit_detail(ctx, "secrets", jv_number((double)total));
	vc_audit_detail(ctx, "resealed", jv_number((double)resealed));
	return 0;
}

/* ---- rotate, retire -------------------------------------------------------- */

/* The keyring of $VC_MASTER_KEY has no file to change. */
static int
need_file(vc_ctx *ctx, const char *what)
{
	if (!ctx->store->key_env)
		return 0;
	return vc_fail(ctx, VC_ECONFIG, "cannot %s: the keyring comes from VC_MASTER_KEY, which "
	    "this program cannot change; %s the key file (VC_KEY_FILE set, VC_MASTER_KEY "
	    "unset) and put its base64 into the credential", what, what);
}

int
vc_op_key_rotate(vc_ctx *ctx, jv args, jv *out)
{
	uint32_t kid;
	int rc;

	(void)args;
	if ((rc = need_file(ctx, "rotate")) != 0 ||
	    (rc = vc_keyring_rotate(ctx, ctx->store->key_path)) != 0)
		return rc;
	ctx->done_outside = 1;      /* the key file has the new key */
	if ((rc = vc_store_keys_refresh(ctx)) != 0)
		return rc;
	kid = vc_keyring_newest(ctx->store->keys);
	vc_audit_target(ctx, "key", "");
	vc_audit_detail(ctx, "key_id", jv_number(kid));
	*out = jv_object_set(jv_object(), jv_string("key_id"), jv_number(kid));
	*out = jv_object_set(*out, jv_string("key_file"), jv_string(ctx->store->key_path));
	return 0;
}

/*
 * Access tokens of key kid stop being made when the next key appears;
 * the last expires VC_JWT_TTL (+ skew) later.  0 when that time has
 * passed (or the next key's time is unknown: a key rotated by an older
 * version, long enough ago), else VC_ECONFLICT.
 */
static int
tokens_expired(vc_ctx *ctx, const struct vc_keyring *kr, uint32_t kid)
{
	int64_t made = 0, until;
	uint32_t next = 0;
	char t[40];

	for (size_t i = 0; i < vc_keyring_count(kr); i++) {
		struct vc_key_info ki;

		vc_keyring_info(kr, i, &ki);
		if (ki.id > kid && (next == 0 || ki.id < next)) {
			next = ki.id;
			made = ki.created;
		}
	}
	if (next == 0 || made <= 0)
		return 0;
	until = made + VC_JWT_TTL + VC_JWT_SKEW;
	if (vc_now(ctx) >= until)
		return 0;
	vc_time_fmt(until, t, sizeof t);
	return vc_fail(ctx, VC_ECONFLICT, "key %u may have signed access tokens that are still "
	    "valid: retire it after %s (%d s after key %u replaced it)", (unsigned)kid, t,
	    VC_JWT_TTL + VC_JWT_SKEW, (unsigned)next);
}

int
vc_op_key_retire(vc_ctx *ctx, jv args, jv *out)
{
	const char *ids = vc_arg_str(args, "id");
	const struct vc_keyring *kr = ctx->store->keys;
	struct vc_key_info ki;
	uint32_t kid;
	int64_t n;
	jv counts;
	int rc;

	if (ids == NULL || vc_keyring_parse_id(ids, strlen(ids), &kid) != 0)
		return vc_fail(ctx, VC_EUSAGE, "key id must be a number from 1 to 4294967295");
	vc_audit_target(ctx, "key", ids);
	if ((rc = need_file(ctx, "retire a key")) != 0)
		return rc;
	if (vc_keyring_created(kr, kid) < 0)
		return vc_fail(ctx, VC_ENOTFOUND, "no key %u in the keyring", (unsigned)kid);
	if (!vc_keyring_has(kr, kid))
		return vc_fail(ctx, VC_ECONFLICT, "key %u is already retired", (unsigned)kid);
	if (kid == vc_keyring_newest(kr))
		return vc_fail(ctx, VC_ECONFLICT, "key %u is the newest key, which signs and seals: "
		    "rotate first", (unsigned)kid);
	if ((rc = secrets_per_key(ctx, &counts)) != 0)
		return rc;
	n = count_of(counts, kid);
	jv_free(counts);
	if (n > 0)
		return vc_fail(ctx, VC_ECONFLICT, "key %u still seals %lld secret%s: run 'vc-auth key "
		    "rekey' first", (unsigned)kid, (long long)n, n == 1 ? "" : "s");
	if ((rc = tokens_expired(ctx, kr, kid)) != 0)
		return rc;
	if ((rc = vc_keyring_retire(ctx, ctx->store->key_path, kid)) != 0)
		return rc;
	ctx->done_outside = 1;      /* the key file says it is retired */
	if ((rc = vc_store_keys_refresh(ctx)) != 0)
		return rc;
	memset(&ki, 0, sizeof ki);
	for (size_t i = 0; i < vc_keyring_count(ctx->store->keys); i++)
		if (vc_keyring_info(ctx->store->keys, i, &ki) == 0 && ki.id == kid)
			break;
	vc_audit_detail(ctx, "key_id", jv_number(kid));
	*out = jv_object();
	*out = jv_object_set(*out, jv_string("id"), jv_number(kid));
	*out = jv_object_set(*out, jv_string("state"), jv_string("retired"));
	*out = jv_object_set(*out, jv_string("retired_at"), time_or_null(ki.retired));
	return 0;
}
