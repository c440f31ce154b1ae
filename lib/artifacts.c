/* SPDX-License-Identifier: MIT */
/*
 * artifacts.c - evidence: an artifact is a named set of rows (a
 * Velociraptor collection or hunt result, or any JSONL) kept with its
 * original columns.  Import streams: rows go to the store in batched
 * transactions, memory stays flat whatever the input's size.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jq.h>

#include "artifacts.h"
#include "core/events.h"
#include "hosts.h"
#include "json/jscan.h"
#include "json/jqprog.h"
#include "json/jsonl.h"
#include "core/page.h"
#include "core/store.h"
#include "core/records.h"
#include "core/audit.h"
#include "timeline.h"

/*
 * Rows per transaction, and the page cache of an import (vc_store_cache).
 * Each commit writes every index page the batch touched to the WAL, and
 * the typed columns' indexes take rows in random order: the fewer and
 * larger the batches, the fewer times a page is written (1,000,000 rows:
 * 0.65-0.91x the time of jq -c . at 12 MiB, 1.07-1.22x at 20,000 rows
 * and 8 MiB; peak 36 MiB against 26; bench/README.md, "Scale, a third
 * sitting").
 */
#define ROW_BATCH 40000
#define ROWS_CACHE_MIB 12
#define HOST_CACHE_MAX 100000   /* client ids remembered during one import */
#define ROWS_HTTP_DEFAULT 10000 /* rows of one response when nothing streams */
#define ROWS_HTTP_MAX 100000

#define ART_COLS "a.id, a.name, a.host_id, h.hostname AS host, h.client_id, a.case_id," \
	" a.flow_id, a.hunt_id, a.source, a.state, a.row_count, a.bad_rows, a.created_by," \
	" a.created_at, a.updated_at, a.importer"
#define ART_FROM " FROM artifacts a LEFT JOIN hosts h ON h.tenant_id = a.tenant_id" \
	" AND h.id = a.host_id"

/* "BOOT_ID:PID" of this process: who is importing (schema migration 4). */
static void
importer_id(char *buf, size_t n)
{
	char boot[64] = "?";
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	if (f != NULL) {
		if (fgets(boot, sizeof boot, f) != NULL)
			boot[strcspn(boot, "\n")] = '\0';
		fclose(f);
	}
	snprintf(buf, n, "%s:%ld", boot, (long)getpid());
}

/*
 * An import whose process is gone shows as "interrupted": its importer ran
 * on this machine since its last boot and no longer exists.  (Its rows so
 * far are kept; delete the artifact, or import again.)  The importer
 * member is internal and leaves the record here.
 */
static jv
live_state(jv a)
{
	jv st = jv_object_get(jv_copy(a), jv_string("state"));
	jv who = jv_object_get(jv_copy(a), jv_string("importer"));

	if (jv_get_kind(st) == JV_KIND_STRING && strcmp(jv_string_value(st), "importing") == 0 &&
	    jv_get_kind(who) == JV_KIND_STRING) {
		char me[128], *colon;
		const char *w = jv_string_value(who);
		importer_id(me, sizeof me);
		colon = strrchr(me, ':');
		if (colon != NULL && strncmp(w, me, (size_t)(colon - me + 1)) == 0) {
			char *end;
			long pid = strtol(w + (colon - me + 1), &end, 10);
			if (*end == '\0' && pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
				a = jv_object_set(a, jv_string("state"), jv_string("interrupted"));
		}
	}
	jv_free(st);
	jv_free(who);
	return jv_object_delete(a, jv_string("importer"));
}

static int
check_artifact_name(vc_ctx *ctx, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 256)
		return vc_fail(ctx, VC_EUSAGE, "artifact name must be 1 to 256 characters");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != '/' && c != ' ')
			return vc_fail(ctx, VC_EUSAGE,
			    "artifact name may hold letters, digits, space and . _ - / only");
	}
	return 0;
}

/* ---- import ----------------------------------------------------------- */

/* Client id -> host id, open addressing; a hunt has one entry per client. */
struct host_ent {
	char *client_id;
	char host_id[VC_ID_LEN + 1];
};

struct importer {
	vc_ctx *ctx;
	char id[VC_ID_LEN + 1];
	const char *host_id;            /* --host, or NULL */
	vc_stmt *ins;
	struct host_ent *tab;
	size_t cap, used;
	long rows, hosts_created;
};

static struct host_ent *
cache_find(struct importer *im, const char *c, size_t n)
{
	if (im->cap == 0)
		return NULL;
	for (size_t i = vc_hash(c, n) & (im->cap - 1); im->tab[i].client_id; i = (i + 1) & (im->cap - 1))
		if (strlen(im->tab[i].client_id) == n && memcmp(im->tab[i].client_id, c, n) == 0)
			return &im->tab[i];
	return NULL;
}

static void
cache_put(struct importer *im, const char *c, size_t n, const char *host)
{
	size_t i;

	if (im->used >= HOST_CACHE_MAX)
		return;         /* a bounded cache: look the rest up in the store */
	if ((im->used + 1) * 2 > im->cap) {
		size_t ncap = im->cap ? im->cap * 2 : 1024;
		struct host_ent *t = calloc(ncap, sizeof *t);
		if (t == NULL)
			return;
		for (size_t j = 0; j < im->cap; j++) {
			if (im->tab[j].client_id == NULL)
				continue;
			for (i = vc_hash_str(im->tab[j].client_id) & (ncap - 1);
			    t[i].client_id; i = (i + 1) & (ncap - 1))
				;
			t[i] = im->tab[j];
		}
		free(im->tab);
		im->tab = t;
		im->cap = ncap;
	}
	for (i = vc_hash(c, n) & (im->cap - 1); im->tab[i].client_id; i = (i + 1) & (im->cap - 1))
		;
	if ((im->tab[i].client_id = strndup(c, n)) == NULL)
		return;
	snprintf(im->tab[i].host_id, sizeof im->tab[i].host_id, "%s", host);
	im->used++;
}

static void
cache_free(struct importer *im)
{
	for (size_t i = 0; i < im->cap; i++)
		free(im->tab[i].client_id);
	free(im->tab);
	im->tab = NULL;
	im->cap = im->used = 0;
}

/*
 * A string member found by vc_jscan, unquoted into buf.  Escaped text
 * (rare in ids and names) goes through jq.  Returns the length, or -1.
 */
static int
unquote(const struct vc_jscan_field *f, char *buf, size_t n)
{
	jv v;
	int len;

	if (f->val == NULL || f->kind != 's' || f->len < 2)
		return -1;
	if (memchr(f->val, '\\', f->len) == NULL) {
		if (f->len - 2 >= n)
			return -1;
		memcpy(buf, f->val + 1, f->len - 2);
		buf[f->len - 2] = '\0';
		return (int)(f->len - 2);
	}
	v = jv_parse_sized(f->val, (int)f->len);
	len = jv_get_kind(v) == JV_KIND_STRING ? jv_string_length_bytes(jv_copy(v)) : -1;
	if (len >= 0 && (size_t)len < n)
		memcpy(buf, jv_string_value(v), (size_t)len + 1);
	else
		len = -1;
	jv_free(v);
	return len;
}

/*
 * The host of a hunt row's ClientId: looked up once per import, and made
 * when the tenant has not seen the client yet (named by the row's Fqdn),
 * so that every row of a hunt belongs to a host.
 */
static int
row_host(struct importer *im, const struct vc_jscan_field *cidf,
    const struct vc_jscan_field *fqdnf, char out[VC_ID_LEN + 1])
{
	vc_ctx *ctx = im->ctx;
	char c[128], fqdn[256], name[256];
	struct host_ent *e;
	vc_stmt *q;
	int n, rc;

	out[0] = '\0';
	if ((n = unquote(cidf, c, sizeof c)) <= 0)
		return 0;
	if ((e = cache_find(im, c, (size_t)n)) != NULL) {
		memcpy(out, e->host_id, sizeof e->host_id);
		return 0;
	}
	q = vc_sql(ctx, "SELECT id FROM hosts WHERE tenant_id = ?1 AND client_id = ?2", "ss",
	    ctx->who.tenant_id, c);
	if (q == NULL || (rc = vc_sql_step(ctx, q)) < 0) {
		vc_stmt_done(q);
		return ctx->err;
	}
	if (rc == 1)
		snprintf(out, VC_ID_LEN + 1, "%s", (const char *)vc_col_text(q, 0));
	vc_stmt_done(q);
	if (rc == 0) {
		int fl = unquote(fqdnf, fqdn, sizeof fqdn);
		if (fl > 0)
			snprintf(name, sizeof name, "%.*s", (int)strcspn(fqdn, "."), fqdn);
		else
			snprintf(name, sizeof name, "%s", c);
		vc_new_id_v7(out);
		rc = vc_sql_exec(ctx, "INSERT INTO hosts (id, tenant_id, client_id, hostname, fqdn,"
		    " source, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'hunt', ?6, ?6)",
		    NULL, "sssssi", out, ctx->who.tenant_id, c, name, fl > 0 ? fqdn : NULL, vc_now(ctx));
		if (rc == 0)
			rc = vc_host_search_add(ctx, out);
		if (rc != 0)
			return rc;
		im->hosts_created++;
	}
	cache_put(im, c, (size_t)n, out);
	return 0;
}

/*
 * The members a row is scanned for: the two that name its host, then the
 * stack fields copied into typed columns (schema migration 7), in the
 * order of those columns.  "Hash.SHA256" is first looked up as a member
 * of that name, then inside Hash, as vc_row_get reads a path.
 */
enum { F_CLIENT, F_FQDN, F_NAME, F_EXE, F_CMDLINE, F_USER, F_SHA256, F_HASH, F_COUNT };
#define ROW_FIELDS { { "ClientId", NULL, 0, 0 }, { "Fqdn", NULL, 0, 0 }, \
	{ "Name", NULL, 0, 0 }, { "Exe", NULL, 0, 0 }, { "CommandLine", NULL, 0, 0 }, \
	{ "Username", NULL, 0, 0 }, { "Hash.SHA256", NULL, 0, 0 }, { "Hash", NULL, 0, 0 } }
#define STACK_COL1 5            /* ?5: stack_name, the first typed column */

/*
 * A stack field's typed column (see schema.sql): a string as its text,
 * null or absent as NULL (*v NULL), anything else as "\x02" and its JSON
 * text.  An escaped string is decoded here, not by jq, into memory the
 * caller frees (*own).  Returns 0, or 1 when the value cannot be typed
 * (a string that itself starts with "\x02": the row is then read as
 * JSON when stacked).
 */
static int
stack_value(const struct vc_jscan_field *f, const char **v, size_t *n, char **own)
{
	*v = NULL;
	*n = 0;
	*own = NULL;
	if (f->val == NULL || f->kind == 'z')
		return 0;
	if (f->kind == 's' && memchr(f->val, '\\', f->len) == NULL) {
		*v = f->val + 1;
		*n = f->len - 2;
		return 0;
	}
	if (f->kind == 's') {
		/* Escaped text (every Windows path). */
		char *t = malloc(f->len);
		size_t len;
		if (t == NULL)
			return 1;
		len = vc_jscan_unescape(f->val + 1, f->len - 2, t);
		if (len > 0 && t[0] == '\x02') {
			free(t);
			return 1;
		}
		*v = *own = t;
		*n = len;
		return 0;
	} else {
		char *t = malloc(f->len + 1);
		if (t == NULL)
			return 1;
		t[0] = '\x02';
		memcpy(t + 1, f->val, f->len);
		*v = *own = t;
		*n = f->len + 1;
		return 0;
	}
}

/* Bind a stack field's typed column (stack_value); 1 when untyped. */
static int
bind_stack(vc_stmt *q, int col, const struct vc_jscan_field *f)
{
	const char *v;
	char *own;
	size_t n;
	int untyped = stack_value(f, &v, &n, &own);

	if (v == NULL)
		vc_bind_null(q, col);
	else if (own != NULL)
		vc_bind_text(q, col, own, (int)n, free);       /* the statement frees it */
	else
		vc_bind_text(q, col, v, (int)n, VC_STATIC);     /* the batch's text */
	return untyped;
}

/* Hash.SHA256 when the row has no member of that name: inside Hash. */
static void
nested_sha256(struct vc_jscan_field *f)
{
	struct vc_jscan_field in[1] = { { "SHA256", NULL, 0, 0 } };

	if (f[F_SHA256].val != NULL || f[F_HASH].val == NULL || f[F_HASH].kind != 'o')
		return;
	if (vc_jscan(f[F_HASH].val, f[F_HASH].len, in, 1, NULL, NULL) == 'o')
		f[F_SHA256] = (struct vc_jscan_field){ "Hash.SHA256", in[0].val, in[0].len, in[0].kind };
}

static int
insert_row(struct importer *im, struct vc_jscan_field *f, const char *text, size_t len)
{
	vc_ctx *ctx = im->ctx;
	char host[VC_ID_LEN + 1] = "";
	int rc, untyped = 0;

	if (im->host_id == NULL && (rc = row_host(im, &f[F_CLIENT], &f[F_FQDN], host)) != 0)
		return rc;
	vc_stmt_reset(im->ins);
	vc_bind_text(im->ins, 1, ctx->who.tenant_id, -1, VC_STATIC);
	vc_bind_text(im->ins, 2, im->id, -1, VC_STATIC);
	if (im->host_id != NULL)
		vc_bind_text(im->ins, 3, im->host_id, -1, VC_STATIC);
	else if (host[0] != '\0')
		vc_bind_text(im->ins, 3, host, -1, VC_TRANSIENT);
	else
		vc_bind_null(im->ins, 3);
	/* The row as it came: its columns, their order and their values. */
	vc_bind_text(im->ins, 4, text, (int)len, VC_STATIC);
	nested_sha256(f);
	for (int k = F_NAME; k <= F_SHA256; k++)
		untyped |= bind_stack(im->ins, STACK_COL1 + k - F_NAME, &f[k]);
	vc_bind_int(im->ins, STACK_COL1 + F_SHA256 - F_NAME + 1, !untyped);
	if (vc_sql_step(ctx, im->ins) < 0)
		return ctx->err;
	im->rows++;
	return 0;
}

static int
finish(vc_ctx *ctx, struct importer *im, const char *state, long bad)
{
	return vc_sql_exec(ctx, "UPDATE artifacts SET state = ?1, row_count = ?2, bad_rows = ?3,"
	    " updated_at = ?4 WHERE tenant_id = ?5 AND id = ?6", NULL, "siiiss", state,
	    (int64_t)im->rows, (int64_t)bad, vc_now(ctx), ctx->who.tenant_id, im->id);
}

/*
 * The writer keeps a batch of checked rows in memory and writes it in one
 * short transaction when it is full (ROW_BATCH rows or BATCH_BYTES), when
 * the caller flushes (between the messages of a network stream) and at
 * the end: no transaction is ever open while rows are awaited from a
 * client or from Velociraptor, so a slow sender holds nobody's lock.
 */
#define BATCH_BYTES (12 * 1024 * 1024)

struct pending {                /* a row of the batch: offsets into text */
	size_t off, len;
	struct { size_t off, len; char kind; } f[F_COUNT];  /* ROW_FIELDS */
};

struct vc_artifact_writer {
	struct importer im;
	char name[260];
	char host_id[VC_ID_LEN + 1];
	long bad;
	int began;              /* the first batch is stored (and audited) */
	char *text;             /* the batch's rows, back to back */
	size_t tlen, tcap;
	struct pending *rows;
	long n, cap;
};

const char *
vc_artifact_writer_id(const struct vc_artifact_writer *w)
{
	return w->im.id;
}

/* The artifact's row (and its link to a case): vc_tx_run's body. */
struct opening {
	struct vc_artifact_writer *w;
	const struct vc_artifact_spec *spec;
	const char *case_id, *who;
};

static int
open_body(vc_ctx *ctx, void *arg)
{
	struct opening *o = arg;
	const struct vc_artifact_spec *spec = o->spec;
	int rc;

	rc = vc_sql_exec(ctx, "INSERT INTO artifacts (id, tenant_id, name, host_id, case_id, flow_id,"
	    " hunt_id, source, created_by, created_at, updated_at, importer)"
	    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?10,?11)",
	    NULL, "sssssssssis", o->w->im.id, ctx->who.tenant_id, spec->name, o->w->im.host_id,
	    o->case_id, spec->flow, spec->hunt, spec->source ? spec->source : "import",
	    ctx->who.username, vc_now(ctx), o->who);
	if (rc == 0 && o->case_id != NULL)
		rc = vc_case_link_add(ctx, o->case_id, "artifact", o->w->im.id);
	return rc;
}

int
vc_artifact_open(vc_ctx *ctx, const struct vc_artifact_spec *spec, struct vc_artifact_writer **wp)
{
	struct vc_artifact_writer *w;
	struct opening made;
	char case_id[VC_ID_LEN + 1], who[128];
	int rc;

	*wp = NULL;
	if ((rc = check_artifact_name(ctx, spec->name)) != 0)
		return rc;
	if ((w = calloc(1, sizeof *w)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	w->im.ctx = ctx;
	snprintf(w->name, sizeof w->name, "%s", spec->name);
	if ((spec->host != NULL && (rc = vc_host_resolve(ctx, spec->host, w->host_id)) != 0) ||
	    (spec->case_key != NULL && (rc = vc_case_resolve(ctx, spec->case_key, case_id)) != 0)) {
		free(w);
		return rc;
	}
	w->im.host_id = spec->host ? w->host_id : NULL;

	/* The artifact exists (state importing) before any row arrives, so a
	 * crash leaves a visible, honest record rather than orphan rows. */
	vc_new_id(w->im.id);
	vc_audit_target(ctx, "artifact", w->im.id);
	importer_id(who, sizeof who);
	made.w = w;
	made.spec = spec;
	made.case_id = spec->case_key ? case_id : NULL;
	made.who = who;
	if ((rc = vc_tx_run(ctx, 0, open_body, &made)) != 0) {
		free(w);
		return rc;
	}
	w->im.ins = vc_sql(ctx, "INSERT INTO artifact_rows (tenant_id, artifact_id, host_id, data,"
	    " stack_name, stack_exe, stack_cmdline, stack_user, stack_sha256, stack_typed)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", "");
	if (w->im.ins == NULL) {
		rc = ctx->err;
		free(w);
		return rc;
	}
	/* A row goes into four indexes; the host index takes rows of a
	 * thousand clients at a thousand places: keep its pages in memory. */
	vc_store_cache(ctx, ROWS_CACHE_MIB);
	*wp = w;
	return 0;
}

/* The stored fields of the batch's row i, as ROW_FIELDS. */
static void
pending_fields(const struct vc_artifact_writer *w, long i, struct vc_jscan_field *f)
{
	const struct pending *p = &w->rows[i];

	for (int k = 0; k < F_COUNT; k++) {
		f[k].val = p->f[k].kind ? w->text + p->off + p->f[k].off : NULL;
		f[k].len = p->f[k].len;
		f[k].kind = p->f[k].kind;
	}
}

/*
 * The batch on PostgreSQL: its hosts looked up (and made) first, then
 * its rows in one COPY into vc_row_stage (the session's, emptied at each
 * commit: row-level security refuses COPY into artifact_rows itself) and
 * one INSERT ... SELECT from there, in the batch's order.  Inside the
 * batch's transaction.
 */
static int
batch_copy(struct vc_artifact_writer *w)
{
	vc_ctx *ctx = w->im.ctx;
	char (*hosts)[VC_ID_LEN + 1] = NULL;
	int64_t copied = 0;
	int rc = 0;

	if (w->im.host_id == NULL) {
		if ((hosts = calloc((size_t)w->n, sizeof *hosts)) == NULL)
			return vc_fail(ctx, VC_EINTERNAL, "out of memory");
		for (long i = 0; i < w->n && rc == 0; i++) {
			struct vc_jscan_field f[F_COUNT] = ROW_FIELDS;
			pending_fields(w, i, f);
			rc = row_host(&w->im, &f[F_CLIENT], &f[F_FQDN], hosts[i]);
		}
	}
	if (rc == 0)
		rc = vc_store_exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS vc_row_stage (seq bigint,"
		    " host_id text, data text, stack_name text, stack_exe text, stack_cmdline text,"
		    " stack_user text, stack_sha256 text, stack_typed bigint) ON COMMIT DELETE ROWS");
	if (rc == 0)
		rc = vc_copy_begin(ctx, "COPY vc_row_stage (seq, host_id, data, stack_name, stack_exe,"
		    " stack_cmdline, stack_user, stack_sha256, stack_typed) FROM STDIN");
	if (rc != 0) {
		free(hosts);
		return rc;
	}
	for (long i = 0; i < w->n && rc == 0; i++) {
		struct vc_jscan_field f[F_COUNT] = ROW_FIELDS;
		const struct pending *p = &w->rows[i];
		int untyped = 0;
		pending_fields(w, i, f);
		vc_copy_int(ctx, i);
		if (w->im.host_id != NULL)
			vc_copy_str(ctx, w->im.host_id);
		else
			vc_copy_str(ctx, hosts[i][0] ? hosts[i] : NULL);
		vc_copy_text(ctx, w->text + p->off, p->len);
		nested_sha256(f);
		for (int k = F_NAME; k <= F_SHA256; k++) {
			const char *v;
			char *own;
			size_t n;
			untyped |= stack_value(&f[k], &v, &n, &own);
			vc_copy_text(ctx, v, n);
			free(own);
		}
		vc_copy_int(ctx, !untyped);
		rc = vc_copy_row(ctx);
	}
	free(hosts);
	if (rc != 0) {
		vc_copy_abort(ctx);
		return rc;
	}
	if ((rc = vc_copy_end(ctx, &copied)) != 0 ||
	    (rc = vc_sql_exec_cached(ctx, "INSERT INTO artifact_rows (tenant_id, artifact_id, host_id,"
	    " data, stack_name, stack_exe, stack_cmdline, stack_user, stack_sha256, stack_typed)"
	    " SELECT ?1, ?2, host_id, data, stack_name, stack_exe, stack_cmdline, stack_user,"
	    " stack_sha256, stack_typed FROM vc_row_stage ORDER BY seq", "ss",
	    ctx->who.tenant_id, w->im.id)) != 0)
		return rc;
	w->im.rows += w->n;
	return 0;
}

/* The batch in hand, into the open transaction; the first batch also
 * audits that the import began, so a killed import leaves a trace. */
static int
batch_once(struct vc_artifact_writer *w)
{
	vc_ctx *ctx = w->im.ctx;
	int rc = 0;

	if (vc_store_copies(ctx))
		rc = batch_copy(w);
	for (long i = 0; i < w->n && rc == 0 && !vc_store_copies(ctx); i++) {
		struct vc_jscan_field f[F_COUNT] = ROW_FIELDS;
		pending_fields(w, i, f);
		rc = insert_row(&w->im, f, w->text + w->rows[i].off, w->rows[i].len);
	}
	if (rc == 0)
		rc = finish(ctx, &w->im, "importing", w->bad);
	if (rc == 0 && !w->began)
		rc = vc_audit(ctx, ctx->who.tenant_id, "artifacts.import.begin", "artifact", w->im.id,
		    "success", NULL, JV_OBJECT(jv_string("name"), jv_string(w->name),
		    jv_string("rows"), jv_number((double)w->im.rows)));
	return rc;
}

/*
 * Write the batch in hand in one transaction.  One that gave way to
 * another (PostgreSQL) is written again from the batch, which stays in
 * hand until it is stored; the hosts the failed try made went with it,
 * so the cache that may name them is dropped.
 */
static int
batch_write(struct vc_artifact_writer *w)
{
	vc_ctx *ctx = w->im.ctx;
	long before = w->im.rows, made = w->im.hosts_created;
	int rc;

	if (w->n == 0)
		return 0;
	for (int a = 1; ; a++) {
		if ((rc = vc_tx_begin(ctx)) != 0)
			break;
		if ((rc = batch_once(w)) == 0 && (rc = vc_tx_commit(ctx)) == 0) {
			w->began = 1;
			w->n = 0;
			w->tlen = 0;
			return 0;
		}
		vc_tx_rollback(ctx);
		w->im.rows = before;
		if (w->im.hosts_created != made) {
			cache_free(&w->im);
			w->im.hosts_created = made;
		}
		if (!vc_tx_again(ctx, a))
			break;
	}
	return rc == VC_EINVAL ? VC_EINTERNAL : rc;
}

int
vc_artifact_flush(struct vc_artifact_writer *w)
{
	return batch_write(w);
}

int
vc_artifact_write(struct vc_artifact_writer *w, const char *json, size_t n)
{
	vc_ctx *ctx = w->im.ctx;
	struct vc_jscan_field f[F_COUNT] = ROW_FIELDS;
	struct pending *p;
	const char *why = NULL;
	size_t at = 0;
	int kind;

	/* Check the row without building it: this is the hot path. */
	kind = vc_jscan(json, n, f, F_COUNT, &why, &at);
	if (kind != 'o') {
		w->bad++;
		if (kind == 0)
			return vc_fail(ctx, VC_EINVAL, "not JSON: %s at byte %zu", why, at + 1);
		return vc_fail(ctx, VC_EINVAL, "expected a JSON object");
	}
	if (w->n == w->cap) {
		long nc = w->cap ? w->cap * 2 : 1024;
		struct pending *nr = realloc(w->rows, (size_t)nc * sizeof *nr);
		if (nr == NULL)
			return vc_fail(ctx, VC_EINTERNAL, "out of memory");
		w->rows = nr;
		w->cap = nc;
	}
	if (w->tlen + n > w->tcap) {
		size_t nc = w->tcap ? w->tcap : 65536;
		char *nt;
		while (nc < w->tlen + n)
			nc *= 2;
		if ((nt = realloc(w->text, nc)) == NULL)
			return vc_fail(ctx, VC_EINTERNAL, "out of memory");
		w->text = nt;
		w->tcap = nc;
	}
	p = &w->rows[w->n++];
	p->off = w->tlen;
	p->len = n;
	for (int k = 0; k < F_COUNT; k++) {
		p->f[k].kind = f[k].val ? f[k].kind : 0;
		p->f[k].off = f[k].val ? (size_t)(f[k].val - json) : 0;
		p->f[k].len = f[k].val ? f[k].len : 0;
	}
	memcpy(w->text + w->tlen, json, n);
	w->tlen += n;
	if (w->n >= ROW_BATCH || w->tlen >= BATCH_BYTES)
		return batch_write(w);
	return 0;
}

/* The import's end: its state, audit record and event (vc_tx_run's body). */
struct ending {
	struct vc_artifact_writer *w;
	int how;
	const char *reason;
};

static int
close_body(vc_ctx *ctx, void *arg)
{
	struct ending *e = arg;
	struct vc_artifact_writer *w = e->w;
	int rc, done = e->how == VC_ARTIFACT_COMPLETE;

	if ((rc = finish(ctx, &w->im, done ? "complete" : "failed", w->bad)) != 0 ||
	    (rc = vc_audit(ctx, ctx->who.tenant_id, "artifacts.import", "artifact", w->im.id,
	    done ? "success" : "failure", e->reason,
	    JV_OBJECT(jv_string("name"), jv_string(w->name), jv_string("rows"),
	    jv_number((double)w->im.rows), jv_string("bad_lines"), jv_number((double)w->bad),
	    jv_string("hosts_created"), jv_number((double)w->im.hosts_created)))) != 0 || !done)
		return rc;
	return vc_event_emit(ctx, "artifact.imported",
	    JV_OBJECT(jv_string("artifact_id"), jv_string(w->im.id), jv_string("subject"),
	    jv_string(w->name), jv_string("rows"), jv_number((double)w->im.rows),
	    jv_string("bad_lines"), jv_number((double)w->bad), jv_string("hosts_created"),
	    jv_number((double)w->im.hosts_created), jv_string("by"),
	    jv_string(ctx->who.username)), NULL);
}

int
vc_artifact_close(struct vc_artifact_writer *w, int how, const char *reason, jv *out)
{
	struct ending ending;
	vc_ctx *ctx = w->im.ctx;
	char msg[sizeof ctx->errmsg];
	int rc = 0, wrc = 0, err = ctx->err;

	snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	/* FAILED drops the batch in hand; PARTIAL keeps it: rows that arrived
	 * are evidence.  What was stored stays either way, marked failed. */
	if (how == VC_ARTIFACT_FAILED)
		w->n = w->tlen = 0;
	else if ((wrc = batch_write(w)) != 0) {
		how = VC_ARTIFACT_FAILED;
		err = wrc;
		snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	}
	ending.w = w;
	ending.how = how;
	ending.reason = reason;
	if ((rc = vc_tx_run(ctx, 0, close_body, &ending)) == 0)
		ctx->audited = 1;
	if (out != NULL)
		*out = JV_OBJECT(jv_string("id"), jv_string(w->im.id), jv_string("name"),
		    jv_string(w->name), jv_string("rows"), jv_number((double)w->im.rows),
		    jv_string("bad_lines"), jv_number((double)w->bad),
		    jv_string("hosts_created"), jv_number((double)w->im.hosts_created));
	vc_stmt_done(w->im.ins);
	vc_store_cache(ctx, 0);
	cache_free(&w->im);
	free(w->rows);
	free(w->text);
	free(w);
	if (how != VC_ARTIFACT_COMPLETE && err != 0)
		vc_fail(ctx, err, "%s", msg);   /* the caller's error, not ours */
	return wrc ? wrc : rc;
}

/* One row of an import (vc_jsonl_each): a bad row is VC_EINVAL from write. */
static int
import_row(vc_ctx *ctx, struct vc_jsonl *r, jv rec, void *arg)
{
	int rc;

	(void)ctx;
	jv_free(rec);
	rc = vc_artifact_write(arg, r->buf, r->len);
	return rc == VC_EINVAL ? VC_JSONL_BAD : rc;
}

/* A line that never reached write (too long) is a bad row all the same. */
static void
import_unread(void *arg)
{
	struct vc_artifact_writer *w = arg;

	w->bad++;
}

int
vc_op_artifacts_import(vc_ctx *ctx, jv args, jv *out)
{
	struct vc_artifact_spec spec = {
		.name = vc_arg_str(args, "name"), .host = vc_arg_str(args, "host"),
		.case_key = vc_arg_str(args, "case"), .flow = vc_arg_str(args, "flow"),
		.hunt = vc_arg_str(args, "hunt"), .source = "import",
	};
	struct vc_artifact_writer *w;
	struct vc_jsonl_loop lp = {
		.mode = VC_JSONL_TEXT, .strict = vc_arg_bool(args, "strict"),
		.fn = import_row, .unread = import_unread,
	};
	int rc;

	if (ctx->in == NULL)
		return vc_fail(ctx, VC_EUSAGE, "no input to import");
	if ((rc = vc_artifact_open(ctx, &spec, &w)) != 0)
		return rc;
	lp.arg = w;
	rc = vc_jsonl_each(ctx, ctx->in, &lp);
	if (rc == 0 && lp.strict && lp.bad > 0) {
		/* --strict: the batch with the bad line is dropped whole. */
		char id[VC_ID_LEN + 1];
		snprintf(id, sizeof id, "%s", vc_artifact_writer_id(w));
		vc_fail(ctx, VC_EINVAL, "x");
		vc_artifact_close(w, VC_ARTIFACT_FAILED, "stopped at the first bad line (--strict)", NULL);
		return vc_fail(ctx, VC_EINVAL,
		    "stopped at the first bad line (--strict); its batch was not stored (artifact %s failed)", id);
	}
	if (rc != 0) {
		vc_artifact_close(w, VC_ARTIFACT_FAILED, ctx->errmsg, NULL);
		return rc;
	}
	if ((rc = vc_artifact_close(w, VC_ARTIFACT_COMPLETE, NULL, out)) != 0)
		return rc;
	if (jv_is_valid(ctx->bad_list))
		*out = jv_object_set(*out, jv_string("errors"), jv_copy(ctx->bad_list));
	return 0;
}

/* ---- EVTX files as rows --------------------------------------------------- */

static int
evtx_row(vc_ctx *ctx, struct vc_jsonl *r, jv rec, void *arg)
{
	jv_free(rec);
	return vc_emit_raw(ctx, r->buf, r->len, arg) != 0 ? VC_JSONL_STOP : 0;
}

int
vc_op_evtx_rows(vc_ctx *ctx, jv args, jv *out)
{
	jv collect = jv_array();
	struct vc_jsonl_loop lp = { .mode = VC_JSONL_TEXT, .fn = evtx_row, .arg = &collect };
	int rc;

	(void)args;
	if (ctx->in == NULL || ctx->in->src == NULL) {
		jv_free(collect);
		return vc_fail(ctx, VC_EUSAGE, "evtx reads an .evtx file or a directory or ZIP archive of them, not %s",
		    ctx->in ? ctx->in->name : "nothing");
	}
	if ((rc = vc_jsonl_each(ctx, ctx->in, &lp)) != 0) {
		jv_free(collect);
		return rc;
	}
	*out = collect;
	return 0;
}

/* ---- list, show, rows, delete ----------------------------------------- */

static const struct vc_sort art_sorts[] = {
	{ "created_at", "a.created_at", 'i' },
	{ "name", "a.name", 's' },
	{ "row_count", "a.row_count", 'i' },
	{ NULL, NULL, 0 }
};

#define ART_WHERE ART_FROM " WHERE a.tenant_id = ?1" \
	" AND (?2 IS NULL OR a.name = ?2)" \
	" AND (?3 IS NULL OR a.host_id = ?3 OR a.id IN (SELECT artifact_id FROM artifact_rows" \
	"   WHERE tenant_id = ?1 AND host_id = ?3))" \
	" AND (?4 IS NULL OR a.case_id = ?4)" \
	" AND (?5 IS NULL OR a.hunt_id = ?5)" \
	" AND (?6 IS NULL OR a.flow_id = ?6)"

/* ?1 .. ?6 of ART_WHERE, each text or NULL. */
static int
bind_filters(vc_ctx *ctx, vc_stmt *q, void *arg)
{
	const char *const *v = arg;
	int rc = VC_SQL_OK;

	for (int i = 0; i < 6 && rc == VC_SQL_OK; i++)
		rc = vc_bind_text(q, i + 1, v[i], -1, VC_TRANSIENT);
	return rc == VC_SQL_OK ? 0 : vc_fail(ctx, VC_EINTERNAL, "bind: %s", vc_sql_errstr(rc));
}

int
vc_op_artifacts_list(vc_ctx *ctx, jv args, jv *out)
{
	char host[VC_ID_LEN + 1], cas[VC_ID_LEN + 1];
	const char *hk = vc_arg_str(args, "host"), *ck = vc_arg_str(args, "case");
	const char *filter[6] = {
		ctx->who.tenant_id, vc_arg_str(args, "name"), hk ? host : NULL, ck ? cas : NULL,
		vc_arg_str(args, "hunt"), vc_arg_str(args, "flow"),
	};
	/* Newest first unless told otherwise. */
	const struct vc_list l = {
		.what = "artifact", .sorts = art_sorts, .sort = "created_at", .order = "desc",
		.cols = ART_COLS, .from = ART_WHERE, .idexpr = "a.id", .first = 7,
		.bind = bind_filters, .arg = filter,
	};
	int rc;

	if ((hk && (rc = vc_host_resolve(ctx, hk, host)) != 0) ||
	    (ck && (rc = vc_case_resolve(ctx, ck, cas)) != 0))
		return rc;
	if ((rc = vc_page_list(ctx, &l, args, out)) != 0)
		return rc;
	{
		jv items = jv_object_get(jv_copy(*out), jv_string("items")), live = jv_array();
		if (jv_get_kind(items) == JV_KIND_ARRAY)
			jv_array_foreach(items, i, a)
				live = jv_array_append(live, live_state(a));
		jv_free(items);
		*out = jv_object_set(*out, jv_string("items"), live);
	}
	return 0;
}

static int
art_json(vc_ctx *ctx, const char *id, jv *out)
{
	return vc_sql_one(ctx, vc_sql(ctx, "SELECT " ART_COLS ART_FROM
	    " WHERE a.tenant_id = ?1 AND a.id = ?2", "ss", ctx->who.tenant_id, id), "artifact", out);
}

int
vc_op_artifacts_show(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1];
	vc_stmt *q;
	int rc;

	if ((rc = vc_artifact_resolve(ctx, vc_arg_str(args, "id"), id)) != 0 ||
	    (rc = art_json(ctx, id, out)) != 0)
		return rc;
	*out = live_state(*out);
	/* How many hosts the rows came from (hunts span many). */
	q = vc_sql(ctx, "SELECT COUNT(DISTINCT host_id) FROM artifact_rows WHERE tenant_id = ?1"
	    " AND artifact_id = ?2", "ss", ctx->who.tenant_id, id);
	if (q != NULL && vc_sql_step(ctx, q) == 1)
		*out = jv_object_set(*out, jv_string("hosts"), jv_number(vc_col_int64(q, 0)));
	vc_stmt_done(q);
	return 0;
}

int
vc_op_artifacts_rows(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1], host[VC_ID_LEN + 1], jqerr[256] = "", wfirst[300] = "";
	int64_t werrors = 0;
	const char *where = vc_arg_str(args, "where"), *hk = vc_arg_str(args, "host");
	struct vc_jq *jq = NULL;
	vc_stmt *q;
	int64_t limit = -1, offset = 0, rowno = 0;
	jv v, collect = jv_invalid();
	int rc;

	if ((rc = vc_artifact_resolve(ctx, vc_arg_str(args, "id"), id)) != 0 ||
	    (hk && (rc = vc_host_resolve(ctx, hk, host)) != 0))
		return rc;
	v = jv_object_get(jv_copy(args), jv_string("limit"));
	if (jv_get_kind(v) == JV_KIND_NUMBER)
		limit = (int64_t)jv_number_value(v);
	/* -1 means "no limit" inside; a given --limit -1 is an error too. */
	if (limit < 0 && jv_get_kind(v) == JV_KIND_NUMBER)
		offset = -1;
	jv_free(v);
	v = jv_object_get(jv_copy(args), jv_string("offset"));
	if (jv_get_kind(v) == JV_KIND_NUMBER && offset == 0)
		offset = (int64_t)jv_number_value(v);
	jv_free(v);
	if (offset < 0)
		return vc_fail(ctx, VC_EUSAGE, "limit and offset must not be negative");
	/* Without a stream to write to, a response holds the rows: bound it. */
	if (ctx->emit == NULL) {
		if (limit < 0)
			limit = ROWS_HTTP_DEFAULT;
		if (limit > ROWS_HTTP_MAX)
			return vc_fail(ctx, VC_EUSAGE, "limit must be at most %d here", ROWS_HTTP_MAX);
	}
	/* The caller's program runs in a child under limits (json/jqprog.h):
	 * over HTTP a viewer sends it.  Over HTTP the whole request gets a
	 * CPU budget too; on the command line only each row's deadline. */
	if (where != NULL) {
		struct vc_jq_limits lim = { .row_ms = 2000, .mem_mb = 256,
		    .cpu_s = ctx->front == VC_FRONT_HTTP ? 30 : 0 };
		if ((rc = vc_jq_open(ctx, "--where", where, &lim, &jq)) != 0) {
			ctx->audit_failure = 1;
			return rc;
		}
	}
	q = vc_sql(ctx, "SELECT r.data FROM artifact_rows r WHERE r.tenant_id = ?1 AND r.artifact_id = ?2"
	    " AND (?3 IS NULL OR r.host_id = ?3) ORDER BY r.id", "sss", ctx->who.tenant_id, id,
	    hk ? host : NULL);
	if (q == NULL) {
		vc_jq_close(jq);
		return ctx->err;
	}
	collect = jv_array();
	while (limit != 0 && (rc = vc_sql_step(ctx, q)) == 1) {
		const char *text = (const char *)vc_col_text(q, 0);
		int len = vc_col_bytes(q, 0), keep = 1;

		rowno++;
		if (jq != NULL) {
			int t = vc_jq_test(ctx, jq, text, (size_t)len, jqerr, sizeof jqerr);
			if (t < 0) {
				rc = -1;
				ctx->audit_failure = 1;
				break;
			}
			/* Like jq: an error skips that row.  Say it once, count the rest. */
			if (t == 2 && werrors++ == 0)
				snprintf(wfirst, sizeof wfirst, "row %lld: %s", (long long)rowno, jqerr);
			keep = t == 1;
		}
		if (!keep)
			continue;
		if (offset > 0) {
			offset--;
			continue;
		}
		/* The row as stored, byte for byte, where the reader takes text. */
		if (vc_emit_raw(ctx, text, (size_t)len, &collect) != 0)
			break;          /* the reader went away */
		if (limit > 0)
			limit--;
	}
	vc_stmt_done(q);
	vc_jq_close(jq);
	if (werrors > 0)
		vc_bad(ctx, "--where failed on %lld row%s, skipped (first: %s)", (long long)werrors,
		    werrors == 1 ? "" : "s", wfirst);
	if (rc < 0) {
		jv_free(collect);
		return ctx->err;
	}
	*out = collect;
	return 0;
}

int
vc_op_artifacts_delete(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1];
	int rc;

	if ((rc = vc_artifact_resolve(ctx, vc_arg_str(args, "id"), id)) != 0 ||
	    (rc = art_json(ctx, id, out)) != 0)
		return rc;
	vc_audit_target(ctx, "artifact", id);
	{
		jv name = jv_object_get(jv_copy(*out), jv_string("name"));
		char what[300];
		snprintf(what, sizeof what, "%s (%s)",
		    jv_get_kind(name) == JV_KIND_STRING ? jv_string_value(name) : "?", id);
		jv_free(name);
		rc = vc_case_unlink_deleted(ctx, "artifact", id, what);
	}
	if (rc != 0 ||
	    (rc = vc_sql_exec(ctx, "DELETE FROM artifact_rows WHERE tenant_id = ?1 AND artifact_id = ?2",
	    NULL, "ss", ctx->who.tenant_id, id)) != 0 ||
	    (rc = vc_sql_exec(ctx, "DELETE FROM artifacts WHERE tenant_id = ?1 AND id = ?2", NULL,
	    "ss", ctx->who.tenant_id, id)) != 0)
		return rc;
	*out = jv_object_set(*out, jv_string("deleted"), jv_true());
	return 0;
}
