/* SPDX-License-Identifier: MIT */
/*
 * stack.c - rarity by stacking (least frequency of occurrence): count the
 * distinct hosts on which each key (the values of a few fields) occurs.
 * What runs on one host out of two hundred is worth a look even when no
 * rule knows it; what runs everywhere rarely is.
 *
 * Memory: one entry per distinct key, one interned string per host, and
 * one 64-bit word per distinct (key, host) pair; rows are not kept.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score/signals.h"
#include "core/page.h"
#include "core/store.h"

#define MAX_FIELDS 8
#define MAX_FIELD_LEN 128

jv
vc_row_get(jv row, const char *path)
{
	jv v;
	char part[MAX_FIELD_LEN];
	const char *p = path;

	if (jv_get_kind(row) != JV_KIND_OBJECT)
		return jv_invalid();
	v = jv_object_get(jv_copy(row), jv_string(path));
	if (jv_is_valid(v) || strchr(path, '.') == NULL)
		return v;
	jv_free(v);
	v = jv_copy(row);
	while (*p) {
		size_t n = strcspn(p, ".");
		if (n >= sizeof part || jv_get_kind(v) != JV_KIND_OBJECT) {
			jv_free(v);
			return jv_invalid();
		}
		memcpy(part, p, n);
		part[n] = '\0';
		v = jv_object_get(v, jv_string(part));
		if (!jv_is_valid(v))
			return v;
		p += n;
		if (*p == '.')
			p++;
	}
	return v;
}

struct entry {
	char *fold;             /* the grouping text: values folded, joined by \x1f */
	jv key;                 /* {field: value} as first seen */
	size_t rows, hosts;
	uint32_t list[VC_STACK_MAX_LIST];
	int nlist;
};

struct vc_stack {
	char *spec;             /* the fields, as given, for indicator ids */
	char *fields[MAX_FIELDS];
	size_t nfields;
	struct entry *e;
	size_t ne, cape;
	size_t *etab, etcap;    /* open addressing over e: index + 1, 0 empty */
	char **host;
	size_t nh, caph;
	size_t *htab, htcap;
	uint64_t *ptab;         /* (key << 32 | host) + 1, 0 empty */
	size_t np, ptcap;
	int oom;
};

static uint64_t
hash_u64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

struct vc_stack *
vc_stack_new(const char *fields_csv)
{
	struct vc_stack *s;
	const char *p = fields_csv;

	if (fields_csv == NULL || *fields_csv == '\0' || strlen(fields_csv) > MAX_FIELDS * MAX_FIELD_LEN)
		return NULL;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	if ((s->spec = strdup(fields_csv)) == NULL)
		goto bad;
	for (;;) {
		size_t n = strcspn(p, ",");
		/* Spaces around names are a typo, not part of a column name. */
		while (n > 0 && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n == 0 || n >= MAX_FIELD_LEN || s->nfields == MAX_FIELDS || p[0] == '.' || p[n - 1] == '.')
			goto bad;
		if ((s->fields[s->nfields] = strndup(p, n)) == NULL)
			goto bad;
		s->nfields++;
		p += strcspn(p, ",");
		if (*p == '\0')
			break;
		p++;
	}
	return s;
bad:
	vc_stack_free(s);
	return NULL;
}

void
vc_stack_free(struct vc_stack *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nfields; i++)
		free(s->fields[i]);
	for (size_t i = 0; i < s->ne; i++) {
		free(s->e[i].fold);
		jv_free(s->e[i].key);
	}
	for (size_t i = 0; i < s->nh; i++)
		free(s->host[i]);
	free(s->spec);
	free(s->e);
	free(s->etab);
	free(s->host);
	free(s->htab);
	free(s->ptab);
	free(s);
}

size_t
vc_stack_hosts(const struct vc_stack *s)
{
	return s ? s->nh : 0;
}

size_t
vc_stack_keys(const struct vc_stack *s)
{
	return s ? s->ne : 0;
}

int
vc_stack_oom(const struct vc_stack *s)
{
	return s ? s->oom : 1;
}

/* ---- keys ------------------------------------------------------------- */

/* Append text to a growing buffer; 0, or -1 when memory ran out. */
static int
buf_add(char **buf, size_t *len, size_t *cap, const char *t, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = *cap ? *cap : 128;
		char *nb;
		while (nc < *len + n + 1)
			nc *= 2;
		if ((nb = realloc(*buf, nc)) == NULL)
			return -1;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, t, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/*
 * The grouping text of row (case folded) and, when key is not NULL, its
 * display object.  NULL when the row has none of the fields or memory
 * ran out (*oom set).
 */
static char *
make_key(const struct vc_stack *s, jv row, jv *key, int *oom)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int found = 0;

	if (key != NULL)
		*key = jv_object();
	for (size_t i = 0; i < s->nfields; i++) {
		jv v = vc_row_get(row, s->fields[i]);
		int r = 0;
		if (i > 0)
			r = buf_add(&buf, &len, &cap, "\x1f", 1);
		if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL) {
			jv_free(v);
			r = r ? r : buf_add(&buf, &len, &cap, "\x01", 1);
			if (key != NULL)
				*key = jv_object_set(*key, jv_string(s->fields[i]), jv_null());
		} else {
			found = 1;
			if (jv_get_kind(v) == JV_KIND_STRING) {
				size_t at = len, n = (size_t)jv_string_length_bytes(jv_copy(v));
				r = r ? r : buf_add(&buf, &len, &cap, jv_string_value(v), n);
				for (size_t j = at; r == 0 && j < len; j++)
					buf[j] = (char)tolower((unsigned char)buf[j]);
			} else {
				/* Numbers and objects: their JSON text, with a
				 * marker so 443 and "443" stay apart. */
				jv t = jv_dump_string(jv_copy(v), 0);
				r = r ? r : buf_add(&buf, &len, &cap, "\x02", 1);
				r = r ? r : buf_add(&buf, &len, &cap, jv_string_value(t),
				    (size_t)jv_string_length_bytes(jv_copy(t)));
				jv_free(t);
			}
			if (key != NULL)
				*key = jv_object_set(*key, jv_string(s->fields[i]), v);
			else
				jv_free(v);
		}
		if (r != 0) {
			*oom = 1;
			free(buf);
			if (key != NULL) {
				jv_free(*key);
				*key = jv_invalid();
			}
			return NULL;
		}
	}
	if (!found) {
		free(buf);
		if (key != NULL) {
			jv_free(*key);
			*key = jv_invalid();
		}
		return NULL;
	}
	return buf;
}

static const char *
row_host(jv row, const char *default_host, jv *hold)
{
	static const char *const names[] = { "ClientId", "Fqdn", "Hostname", "hostname", NULL };

	for (int i = 0; names[i]; i++) {
		jv v = jv_object_get(jv_copy(row), jv_string(names[i]));
		if (jv_get_kind(v) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(v)) > 0) {
			*hold = v;
			return jv_string_value(v);
		}
		jv_free(v);
	}
	*hold = jv_invalid();
	return default_host && *default_host ? default_host : "(unknown)";
}

/* ---- tables ------------------------------------------------------------ */

/* Double an index table (index + 1 per slot) and re-insert. */
static int
grow_index(size_t **tab, size_t *cap, size_t n, const char *(*name)(const void *, size_t),
    const void *arg)
{
	size_t nc = *cap ? *cap * 2 : 64, *nt;

	if ((nt = calloc(nc, sizeof *nt)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t j = vc_hash_str(name(arg, i)) & (nc - 1);
		while (nt[j])
			j = (j + 1) & (nc - 1);
		nt[j] = i + 1;
	}
	free(*tab);
	*tab = nt;
	*cap = nc;
	return 0;
}

static const char *
entry_name(const void *arg, size_t i)
{
	return ((const struct vc_stack *)arg)->e[i].fold;
}

static const char *
host_name(const void *arg, size_t i)
{
	return ((const struct vc_stack *)arg)->host[i];
}

static long
find_entry(const struct vc_stack *s, const char *fold)
{
	if (s->etcap == 0)
		return -1;
	for (size_t j = vc_hash_str(fold) & (s->etcap - 1); s->etab[j]; j = (j + 1) & (s->etcap - 1))
		if (strcmp(s->e[s->etab[j] - 1].fold, fold) == 0)
			return (long)(s->etab[j] - 1);
	return -1;
}

static long
find_host(const struct vc_stack *s, const char *h)
{
	if (s->htcap == 0)
		return -1;
	for (size_t j = vc_hash_str(h) & (s->htcap - 1); s->htab[j]; j = (j + 1) & (s->htcap - 1))
		if (strcmp(s->host[s->htab[j] - 1], h) == 0)
			return (long)(s->htab[j] - 1);
	return -1;
}

static long
intern_host(struct vc_stack *s, const char *h)
{
	long i = find_host(s, h);
	size_t j;

	if (i >= 0)
		return i;
	if (s->nh >= UINT32_MAX - 1)
		return -1;
	if (s->nh == s->caph) {
		size_t nc = s->caph ? s->caph * 2 : 64;
		char **nv = realloc(s->host, nc * sizeof *nv);
		if (nv == NULL)
			return -1;
		s->host = nv;
		s->caph = nc;
	}
	if ((s->nh + 1) * 2 > s->htcap && grow_index(&s->htab, &s->htcap, s->nh, host_name, s) != 0)
		return -1;
	if ((s->host[s->nh] = strdup(h)) == NULL)
		return -1;
	for (j = vc_hash_str(h) & (s->htcap - 1); s->htab[j]; j = (j + 1) & (s->htcap - 1))
		;
	s->htab[j] = ++s->nh;
	return (long)(s->nh - 1);
}

/* Add the pair; 1 when new, 0 when seen, -1 out of memory. */
static int
add_pair(struct vc_stack *s, uint64_t pair)
{
	size_t j;

	if ((s->np + 1) * 2 > s->ptcap) {
		size_t nc = s->ptcap ? s->ptcap * 2 : 256;
		uint64_t *nt = calloc(nc, sizeof *nt);
		if (nt == NULL)
			return -1;
		for (size_t i = 0; i < s->ptcap; i++)
			if (s->ptab[i]) {
				for (j = hash_u64(s->ptab[i]) & (nc - 1); nt[j]; j = (j + 1) & (nc - 1))
					;
				nt[j] = s->ptab[i];
			}
		free(s->ptab);
		s->ptab = nt;
		s->ptcap = nc;
	}
	for (j = hash_u64(pair + 1) & (s->ptcap - 1); s->ptab[j]; j = (j + 1) & (s->ptcap - 1))
		if (s->ptab[j] == pair + 1)
			return 0;
	s->ptab[j] = pair + 1;
	s->np++;
	return 1;
}

/* The entry of row's key, made when new; -1 when the row has none of
 * the fields or memory ran out (s->oom). */
static long
entry_of(struct vc_stack *s, jv row)
{
	char *fold;
	long ei;
	struct entry *e;
	size_t j;
	jv key = jv_invalid();

	if ((fold = make_key(s, row, NULL, &s->oom)) == NULL)
		return -1;
	if ((ei = find_entry(s, fold)) >= 0) {
		free(fold);
		return ei;
	}
	free(fold);
	if ((fold = make_key(s, row, &key, &s->oom)) == NULL)
		return -1;
	if (s->ne == s->cape) {
		size_t nc = s->cape ? s->cape * 2 : 64;
		struct entry *nv = realloc(s->e, nc * sizeof *nv);
		if (nv == NULL)
			goto oom;
		s->e = nv;
		s->cape = nc;
	}
	if (s->ne >= UINT32_MAX - 1 ||
	    ((s->ne + 1) * 2 > s->etcap && grow_index(&s->etab, &s->etcap, s->ne, entry_name, s) != 0))
		goto oom;
	e = &s->e[s->ne];
	memset(e, 0, sizeof *e);
	e->fold = fold;
	e->key = key;
	for (j = vc_hash_str(fold) & (s->etcap - 1); s->etab[j]; j = (j + 1) & (s->etcap - 1))
		;
	s->etab[j] = ++s->ne;
	return (long)(s->ne - 1);
oom:
	free(fold);
	jv_free(key);
	s->oom = 1;
	return -1;
}

/* Count n rows of entry ei on host. */
static void
entry_add(struct vc_stack *s, long ei, const char *host, size_t n)
{
	struct entry *e = &s->e[ei];
	long hi;
	int r;

	if ((hi = intern_host(s, host ? host : "(unknown)")) < 0 ||
	    (r = add_pair(s, (uint64_t)ei << 32 | (uint64_t)hi)) < 0) {
		s->oom = 1;
		return;
	}
	e->rows += n;
	if (r == 1) {
		e->hosts++;
		if (e->nlist < VC_STACK_MAX_LIST)
			e->list[e->nlist++] = (uint32_t)hi;
	}
}

void
vc_stack_add_host(struct vc_stack *s, jv row, const char *host)
{
	long ei;

	if (s == NULL || s->oom || jv_get_kind(row) != JV_KIND_OBJECT)
		return;
	if ((ei = entry_of(s, row)) >= 0)
		entry_add(s, ei, host, 1);
}

void
vc_stack_add(struct vc_stack *s, jv row, const char *default_host)
{
	jv hold;
	const char *h;

	if (s == NULL || jv_get_kind(row) != JV_KIND_OBJECT)
		return;
	h = row_host(row, default_host, &hold);
	vc_stack_add_host(s, row, h);
	jv_free(hold);
}

/* ---- results ------------------------------------------------------------ */

static int
rarest_first(const void *a, const void *b, void *arg)
{
	const struct vc_stack *s = arg;
	const struct entry *x = &s->e[*(const size_t *)a], *y = &s->e[*(const size_t *)b];

	if (x->hosts != y->hosts)
		return x->hosts < y->hosts ? -1 : 1;
	if (x->rows != y->rows)
		return x->rows < y->rows ? -1 : 1;
	return strcmp(x->fold, y->fold);
}

jv
vc_stack_result(const struct vc_stack *s, size_t max_hosts)
{
	size_t *ix, n = 0;
	jv out = jv_array();

	if (s == NULL || s->ne == 0)
		return out;
	if ((ix = malloc(s->ne * sizeof *ix)) == NULL) {
		jv_free(out);
		return jv_invalid_with_msg(jv_string("out of memory"));
	}
	for (size_t i = 0; i < s->ne; i++)
		if (max_hosts == 0 || s->e[i].hosts <= max_hosts)
			ix[n++] = i;
	qsort_r(ix, n, sizeof *ix, rarest_first, (void *)s);
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = &s->e[ix[i]];
		jv ids = jv_array();
		for (int j = 0; j < e->nlist; j++)
			ids = jv_array_append(ids, jv_string(s->host[e->list[j]]));
		out = jv_array_append(out, JV_OBJECT(jv_string("key"), jv_copy(e->key),
		    jv_string("hosts"), jv_number((double)e->hosts),
		    jv_string("rows"), jv_number((double)e->rows),
		    jv_string("host_ids"), ids));
	}
	free(ix);
	return out;
}

int
vc_stack_rarity(const struct vc_stack *s, jv row, const char *default_host,
    size_t max_hosts, double max_frac, jv *hits)
{
	char *fold, title[96], *id;
	int oom = 0;
	long ei;
	size_t h, fleet;
	double w, conf, limit;
	jv ev, hold;
	const char *host;

	if (s == NULL || jv_get_kind(row) != JV_KIND_OBJECT)
		return 0;
	if ((fold = make_key(s, row, NULL, &oom)) == NULL)
		return 0;
	ei = find_entry(s, fold);
	free(fold);
	fleet = s->nh;
	if (ei >= 0)
		h = s->e[ei].hosts;
	else {
		/* Not in the stack: this row's host alone has it. */
		h = 1;
		host = row_host(row, default_host, &hold);
		if (find_host(s, host) < 0)
			fleet++;
		jv_free(hold);
	}
	if (fleet < VC_RARITY_MIN_FLEET || h >= fleet)
		return 0;
	if (max_hosts == 0 && max_frac <= 0)
		max_hosts = 1;
	limit = max_frac > 0 ? max_frac * (double)fleet : 0;
	if (!((max_hosts > 0 && h <= max_hosts) || (max_frac > 0 && (double)h <= limit)))
		return 0;
	/* Rarer weighs more, on a log scale of the fleet; a small fleet
	 * says less (1 of 5 is weak, 1 of 500 is not). */
	conf = log((double)fleet) / log(100.0);
	if (conf > 1)
		conf = 1;
	w = VC_RARITY_MAX_WEIGHT * conf * (1.0 - log((double)h) / log((double)fleet));
	w = round(w * 10000) / 10000;
	if (w <= 0)
		return 0;
	snprintf(title, sizeof title, "seen on %zu of %zu hosts", h, fleet);
	ev = jv_array();
	for (size_t i = 0; i < s->nfields; i++) {
		jv v = vc_row_get(row, s->fields[i]);
		if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL) {
			jv_free(v);
			continue;
		}
		ev = jv_array_append(ev, JV_OBJECT(jv_string("field"), jv_string(s->fields[i]),
		    jv_string("value"), v));
	}
	if ((id = malloc(strlen(s->spec) + 8)) == NULL) {
		jv_free(ev);
		return 0;
	}
	snprintf(id, strlen(s->spec) + 8, "rarity:%s", s->spec);
	if (!jv_is_valid(*hits))
		*hits = jv_array();
	*hits = jv_array_append(*hits, JV_OBJECT(
	    jv_string("kind"), jv_string("rarity"),
	    jv_string("id"), jv_string(id),
	    jv_string("title"), jv_string(title),
	    jv_string("weight"), jv_number(w),
	    jv_string("hosts"), jv_number((double)h),
	    jv_string("fleet"), jv_number((double)fleet),
	    jv_string("evidence"), ev));
	free(id);
	return 1;
}

/* ---- from the store ---------------------------------------------------- */

/*
 * The stack fields an artifact import copies into typed columns of
 * artifact_rows (schema migration 7, lib/artifacts.c).  A stack whose
 * every field is one of them reads those columns and never parses a row.
 */
static const struct { const char *field, *col; } typed[] = {
	{ "Name", "r.stack_name" }, { "Exe", "r.stack_exe" },
	{ "CommandLine", "r.stack_cmdline" }, { "Username", "r.stack_user" },
	{ "Hash.SHA256", "r.stack_sha256" },
};
#define NTYPED (sizeof typed / sizeof typed[0])

/* The typed column of each field in cols[], or 0 when one has none. */
static int
typed_cols(const struct vc_stack *s, const char *cols[MAX_FIELDS])
{
	for (size_t i = 0; i < s->nfields; i++) {
		cols[i] = NULL;
		for (size_t t = 0; t < NTYPED; t++)
			if (strcmp(s->fields[i], typed[t].field) == 0)
				cols[i] = typed[t].col;
		if (cols[i] == NULL)
			return 0;
	}
	return 1;
}

/* A typed column's value back as JSON: see bind_stack in lib/artifacts.c. */
static jv
typed_value(vc_stmt *q, int col)
{
	const char *t = (const char *)vc_col_text(q, col);
	int n = vc_col_bytes(q, col);

	if (t == NULL)
		return jv_null();
	if (n > 0 && t[0] == '\x02')
		return jv_parse_sized(t + 1, n - 1);
	return jv_string_sized(t, n);
}

/* Does the current row of q hold, in columns 0 .. ncol-1, the values
 * kept in prev (plen (size_t)-1 for NULL)? */
static int
same_run(vc_stmt *q, int ncol, char **prev, const size_t *plen)
{
	for (int c = 0; c < ncol; c++) {
		const char *t = (const char *)vc_col_text(q, c);
		size_t n = (size_t)vc_col_bytes(q, c);
		if (t == NULL ? plen[c] != (size_t)-1 : plen[c] != n || memcmp(prev[c], t, n) != 0)
			return 0;
	}
	return 1;
}

/*
 * Rows with typed columns for every field of s and a known host: one
 * statement over the columns, through the index artifact_rows_stack_name
 * (which orders each artifact's rows by name: for Name, a grouped index
 * scan).
 * The key's entry is looked up again only when the key's columns change
 * from the row before; a row costs a host lookup.
 */
static int
stack_typed(vc_ctx *ctx, struct vc_stack *s, const char *artifact_name, const char **cols)
{
	struct vc_sqlbuf b = { .n = 0 };
	char *prev[MAX_FIELDS] = { NULL };
	size_t plen[MAX_FIELDS];
	int ncol = (int)s->nfields, rc = 0;
	long ei = -1;
	vc_stmt *q;

	vc_sqlbuf_add(&b, "SELECT ");
	for (int c = 0; c < ncol; c++) {
		vc_sqlbuf_add(&b, cols[c]);
		vc_sqlbuf_add(&b, ", ");
	}
	/* The planner reads r through the partial index on stack_typed. */
	vc_sqlbuf_add(&b, "COALESCE(r.host_id, a.host_id) FROM artifacts a JOIN artifact_rows r"
	    " ON r.tenant_id = a.tenant_id AND r.artifact_id = a.id"
	    " WHERE a.tenant_id = ?1 AND r.tenant_id = ?1 AND a.state <> 'failed'"
	    " AND r.stack_typed = 1 AND COALESCE(r.host_id, a.host_id) IS NOT NULL");
	if (artifact_name != NULL)
		vc_sqlbuf_add(&b, " AND a.name = ?2");
	if (b.overflow)
		return vc_fail(ctx, VC_EINTERNAL, "stack query too long");
	if ((q = vc_sql(ctx, b.s, artifact_name ? "ss" : "s", ctx->who.tenant_id, artifact_name)) == NULL)
		return ctx->err;
	while (!s->oom && (rc = vc_sql_step(ctx, q)) == 1) {
		if (prev[0] == NULL || !same_run(q, ncol, prev, plen)) {
			jv key = jv_object();
			for (int c = 0; c < ncol; c++) {
				const char *t = (const char *)vc_col_text(q, c);
				size_t n = (size_t)vc_col_bytes(q, c);
				free(prev[c]);
				if ((prev[c] = malloc(n + 1)) == NULL) {
					s->oom = 1;
					break;
				}
				memcpy(prev[c], t ? t : "", n);
				plen[c] = t ? n : (size_t)-1;
				key = jv_object_set(key, jv_string(s->fields[c]), typed_value(q, c));
			}
			ei = s->oom ? -1 : entry_of(s, key);
			jv_free(key);
		}
		if (ei >= 0)
			entry_add(s, ei, (const char *)vc_col_text(q, ncol), 1);
	}
	vc_stmt_done(q);
	for (int c = 0; c < ncol; c++)
		free(prev[c]);
	return rc < 0 ? ctx->err : 0;
}

int
vc_stack_from_store(vc_ctx *ctx, struct vc_stack *s, const char *artifact_name)
{
	const char *cols[MAX_FIELDS];
	vc_stmt *q;
	int rc, fast;

	if (s == NULL)
		return vc_fail(ctx, VC_EUSAGE, "no stack");
	fast = typed_cols(s, cols);
	if (fast && (rc = stack_typed(ctx, s, artifact_name, cols)) != 0)
		return rc;
	/* Failed imports are skipped: their rows are a fragment of a host.
	 * After the typed rows: the rest, each row read as JSON. */
	q = vc_sql(ctx, "SELECT r.data, COALESCE(r.host_id, a.host_id) FROM artifact_rows r"
	    " JOIN artifacts a ON a.tenant_id = r.tenant_id AND a.id = r.artifact_id"
	    " WHERE r.tenant_id = ?1 AND a.tenant_id = ?1 AND a.state <> 'failed'"
	    " AND (?2 IS NULL OR a.name = ?2) AND (?3 = 0 OR r.stack_typed = 0"
	    " OR COALESCE(r.host_id, a.host_id) IS NULL)", "ssi", ctx->who.tenant_id, artifact_name,
	    (int64_t)fast);
	if (q == NULL)
		return ctx->err;
	while ((rc = vc_sql_step(ctx, q)) == 1) {
		const char *text = (const char *)vc_col_text(q, 0);
		const char *host = (const char *)vc_col_text(q, 1);
		int n = vc_col_bytes(q, 0);
		jv row;
		if (text == NULL)
			continue;
		row = jv_parse_sized(text, n);
		if (jv_get_kind(row) == JV_KIND_OBJECT) {
			if (host != NULL)
				vc_stack_add_host(s, row, host);
			else
				vc_stack_add(s, row, NULL);
		}
		jv_free(row);
		if (s->oom)
			break;
	}
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	if (s->oom)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory while stacking");
	return VC_EOK;
}
