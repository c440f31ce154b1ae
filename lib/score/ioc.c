/* SPDX-License-Identifier: MIT */
/*
 * ioc.c - indicators of compromise.  An IOC is a typed value (a hash, an
 * address or network, a domain, a path or a file name) with a severity
 * and a source.  Matching looks at every string of a row that can hold
 * that type, so it works on any artifact's columns without a mapping.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/net.h"
#include "score/ioc.h"
#include "json/jsonl.h"
#include "core/store.h"
#include "core/records.h"
#include "core/audit.h"

#define MAX_DEPTH 8
#define MAX_STRING 4096

/* ---- classification ------------------------------------------------------ */

static int
all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
looks_domain(const char *s)
{
	size_t n = strlen(s);
	int dots = 0, alpha = 0;

	if (n < 4 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (s[i + 1] == '.')
				return 0;
			dots++;
		} else if (isalpha(c))
			alpha = 1;
		else if (!isdigit(c) && c != '-' && c != '_')
			return 0;
	}
	if (dots == 0)
		return 0;
	/* The last label names a TLD: letters only. */
	for (const char *t = strrchr(s, '.') + 1; *t; t++)
		if (!isalpha((unsigned char)*t))
			return 0;
	return dots >= 1 && alpha;
}

const char *
vc_ioc_type_of(const char *v)
{
	size_t n = v ? strlen(v) : 0;
	unsigned char key[16];
	const char *slash;

	if (n == 0 || n > MAX_STRING)
		return NULL;
	if (n == 64 && all_hex(v, n))
		return "sha256";
	if (n == 40 && all_hex(v, n))
		return "sha1";
	if (n == 32 && all_hex(v, n))
		return "md5";
	if ((slash = strchr(v, '/')) != NULL && strchr(slash + 1, '/') == NULL &&
	    isdigit((unsigned char)slash[1])) {
		char addr[64];
		snprintf(addr, sizeof addr, "%.*s", (int)(slash - v), v);
		if (vc_ip_key(addr, key, NULL, 0) == 0)
			return "cidr";
	}
	if (vc_ip_key(v, key, NULL, 0) == 0)
		return "ip";
	if (strchr(v, '\\') != NULL || (v[0] == '/' && n > 1))
		return "path";
	if (looks_domain(v)) {
		/* evil.exe, report.docx: a file name, not a domain. */
		static const char *const exts[] = { ".exe", ".dll", ".sys", ".ps1", ".bat", ".cmd",
		    ".vbs", ".js", ".hta", ".scr", ".msi", ".lnk", ".doc", ".docx", ".docm", ".xls",
		    ".xlsx", ".xlsm", ".pdf", ".zip", ".rar", ".7z", ".iso", ".jar", ".py", ".sh",
		    ".elf", ".bin", ".tmp", ".dat", NULL };
		const char *dot = strrchr(v, '.');
		for (int i = 0; exts[i]; i++)
			if (strcasecmp(dot, exts[i]) == 0)
				return "filename";
		return "domain";
	}
	if (strchr(v, '.') != NULL && strpbrk(v, " \t/\\:") == NULL)
		return "filename";
	return NULL;
}

int
vc_ioc_normalize(const char *type, const char *v, char *buf, size_t n)
{
	unsigned char key[16];
	char clean[64];

	if (strcmp(type, "ip") == 0) {
		if (vc_ip_key(v, key, clean, sizeof clean) != 0)
			return -1;
		/* One text per address: inet_ntop of the key. */
		if (key[10] == 0xff && key[11] == 0xff && memcmp(key, "\0\0\0\0\0\0\0\0\0\0", 10) == 0)
			inet_ntop(AF_INET, key + 12, buf, (socklen_t)n);
		else
			inet_ntop(AF_INET6, key, buf, (socklen_t)n);
		return 0;
	}
	if (strcmp(type, "cidr") == 0) {
		const char *slash = strchr(v, '/');
		char addr[64], norm[64];
		char *end;
		long bits;
		if (slash == NULL)
			return -1;
		snprintf(addr, sizeof addr, "%.*s", (int)(slash - v), v);
		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0' || bits < 0 || bits > 128 || vc_ioc_normalize("ip", addr, norm, sizeof norm) != 0)
			return -1;
		if (strchr(norm, ':') == NULL && bits > 32)
			return -1;
		snprintf(buf, n, "%s/%ld", norm, bits);
		return 0;
	}
	if (strlen(v) >= n || strlen(v) == 0)
		return -1;
	for (size_t i = 0; v[i]; i++)
		buf[i] = (char)tolower((unsigned char)v[i]);
	buf[strlen(v)] = '\0';
	if (strcmp(type, "domain") == 0 && buf[strlen(buf) - 1] == '.')
		buf[strlen(buf) - 1] = '\0';    /* fully qualified form */
	return 0;
}

static const char *field_of(jv rec, const char *k);
static int csv_split(char *line, char **f, int nf);

/* ---- the set in memory ------------------------------------------------- */

struct ioc {
	char *key;              /* "type\x1fvalue" */
	char id[VC_ID_LEN + 1];
	char type[10];
	char severity[10];
	char *value, *source;
	/* cidr */
	unsigned char lo[16], hi[16];
};

struct vc_ioc_set {
	struct ioc *v;
	size_t n;
	size_t *tab;            /* open addressing: index + 1, 0 empty */
	size_t cap;
	size_t *cidrs;
	size_t ncidrs;
};

static const struct ioc *
lookup(const struct vc_ioc_set *set, const char *type, const char *value)
{
	char key[MAX_STRING + 16];

	if (set->cap == 0)
		return NULL;
	snprintf(key, sizeof key, "%s\x1f%s", type, value);
	for (size_t i = vc_hash_str(key) & (set->cap - 1); set->tab[i]; i = (i + 1) & (set->cap - 1))
		if (strcmp(set->v[set->tab[i] - 1].key, key) == 0)
			return &set->v[set->tab[i] - 1];
	return NULL;
}

void
vc_ioc_free(struct vc_ioc_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		free(set->v[i].key);
		free(set->v[i].value);
		free(set->v[i].source);
	}
	free(set->v);
	free(set->tab);
	free(set->cidrs);
	free(set);
}

size_t
vc_ioc_count(const struct vc_ioc_set *set)
{
	return set ? set->n : 0;
}

/* Add one IOC (already normalised) to a set under construction. */
static int
set_add(struct vc_ioc_set *set, size_t *cap, const char *id, const char *type,
    const char *value, const char *severity, const char *source)
{
	struct ioc *e;
	size_t kl = strlen(type) + strlen(value) + 2;

	if (set->n == *cap) {
		struct ioc *nv;
		size_t ncap = *cap ? *cap * 2 : 64;
		if ((nv = realloc(set->v, ncap * sizeof *nv)) == NULL)
			return -1;
		set->v = nv;
		*cap = ncap;
	}
	e = &set->v[set->n];
	memset(e, 0, sizeof *e);
	snprintf(e->id, sizeof e->id, "%s", id);
	snprintf(e->type, sizeof e->type, "%s", type);
	snprintf(e->severity, sizeof e->severity, "%s", severity);
	e->value = strdup(value);
	e->source = source ? strdup(source) : NULL;
	e->key = malloc(kl);
	set->n++;
	if (e->value == NULL || e->key == NULL)
		return -1;
	snprintf(e->key, kl, "%s\x1f%s", type, value);
	if (strcmp(type, "cidr") == 0 && vc_cidr_range(value, e->lo, e->hi) != 0)
		return -1;
	return 0;
}

/* Build the lookup table once every IOC is in. */
static int
set_index(struct vc_ioc_set *set)
{
	free(set->tab);
	free(set->cidrs);
	set->ncidrs = 0;
	for (set->cap = 64; set->cap < set->n * 2; set->cap *= 2)
		;
	set->tab = calloc(set->cap, sizeof *set->tab);
	set->cidrs = calloc(set->n + 1, sizeof *set->cidrs);
	if (set->tab == NULL || set->cidrs == NULL)
		return -1;
	for (size_t i = 0; i < set->n; i++) {
		size_t j;
		if (lookup(set, set->v[i].type, set->v[i].value) != NULL)
			continue;   /* the same IOC from a file and the list: once */
		if (strcmp(set->v[i].type, "cidr") == 0)
			set->cidrs[set->ncidrs++] = i;
		for (j = vc_hash_str(set->v[i].key) & (set->cap - 1); set->tab[j]; j = (j + 1) & (set->cap - 1))
			;
		set->tab[j] = i + 1;
	}
	return 0;
}

struct ioc_line {
	const char *type, *value, *severity, *source, *description;
	jv rec;
};

struct ioc_reader {
	int cols[5];    /* type value severity source description */
	int header_done;
};

/*
 * One line of a CSV or JSONL IOC feed (in r->buf).  Returns 1 with *l
 * filled, 0 for a line to skip, -1 for a bad line (the reason in ctx, by
 * vc_fail); release l->rec in every case.
 */
static int
parse_line(vc_ctx *ctx, struct vc_jsonl *in, struct ioc_reader *rd, const char *def_sev,
    const char *def_src, struct ioc_line *l, char *norm, size_t normsz)
{
	static const char *const names[5] = { "type", "value", "severity", "source", "description" };
	char *line = in->buf, *f[8];

	memset(l, 0, sizeof *l);
	l->rec = jv_invalid();
	l->severity = def_sev;
	l->source = def_src;
	if (line[0] == '#')
		return 0;
	if (line[0] == '{') {
		l->rec = jv_parse_sized(line, (int)in->len);
		if (jv_get_kind(l->rec) != JV_KIND_OBJECT) {
			vc_fail(ctx, VC_EINVAL, "not a JSON object");
			return -1;
		}
		l->type = field_of(l->rec, "type");
		l->value = field_of(l->rec, "value");
		if (field_of(l->rec, "severity"))
			l->severity = field_of(l->rec, "severity");
		if (field_of(l->rec, "source"))
			l->source = field_of(l->rec, "source");
		l->description = field_of(l->rec, "description");
	} else {
		int nf = csv_split(line, f, 8);
		if (!rd->header_done) {
			rd->header_done = 1;
			for (int i = 0; i < 5; i++)
				rd->cols[i] = -1;
			for (int i = 0; i < nf; i++)
				for (int j = 0; j < 5; j++)
					if (strcasecmp(f[i], names[j]) == 0)
						rd->cols[j] = i;
			if (rd->cols[1] >= 0)
				return 0;       /* a header line */
			/* No header: value, or type,value,severity,source,description */
			if (nf == 1)
				rd->cols[1] = 0;
			else
				for (int j = 0; j < 5; j++)
					rd->cols[j] = j;
		}
#define COL(j) (rd->cols[j] >= 0 && rd->cols[j] < nf && *f[rd->cols[j]] ? f[rd->cols[j]] : NULL)
		l->type = COL(0);
		l->value = COL(1);
		if (COL(2))
			l->severity = COL(2);
		if (COL(3))
			l->source = COL(3);
		l->description = COL(4);
#undef COL
	}
	if (l->value == NULL || *l->value == '\0') {
		vc_fail(ctx, VC_EINVAL, "no value");
		return -1;
	}
	if (l->type == NULL && (l->type = vc_ioc_type_of(l->value)) == NULL) {
		vc_fail(ctx, VC_EINVAL, "cannot tell what '%.64s' is: give its type", l->value);
		return -1;
	}
	if (l->severity == NULL)
		l->severity = "high";
	if (strcmp(l->severity, "low") && strcmp(l->severity, "medium") && strcmp(l->severity, "high") &&
	    strcmp(l->severity, "critical")) {
		vc_fail(ctx, VC_EINVAL, "severity must be low, medium, high or critical");
		return -1;
	}
	if (vc_ioc_normalize(l->type, l->value, norm, normsz) != 0 ||
	    (strcmp(l->type, "filename") && strcmp(l->type, "path") && strcmp(l->type, "domain") &&
	    (vc_ioc_type_of(l->value) == NULL || strcmp(vc_ioc_type_of(l->value), l->type) != 0))) {
		vc_fail(ctx, VC_EINVAL, "'%.64s' is not a valid %s", l->value, l->type);
		return -1;
	}
	return 1;
}

/* A feed file given to vc_ioc_load: its lines join the set. */
struct feed {
	struct vc_ioc_set *set;
	size_t *cap;
	struct ioc_reader rd;
	const char *source;     /* the path: the source of its IOCs */
};

static int
feed_line(vc_ctx *ctx, struct vc_jsonl *r, jv rec, void *arg)
{
	struct feed *fd = arg;
	struct ioc_line l;
	char norm[MAX_STRING + 1], id[48];
	int rc;

	jv_free(rec);
	rc = parse_line(ctx, r, &fd->rd, NULL, fd->source, &l, norm, sizeof norm);
	if (rc == 1) {
		snprintf(id, sizeof id, "file:%ld", r->line);
		rc = set_add(fd->set, fd->cap, id, l.type, norm, l.severity, l.source) != 0 ?
		    vc_fail(ctx, VC_EINTERNAL, "out of memory") : 0;
	} else if (rc < 0)
		rc = VC_JSONL_BAD;
	jv_free(l.rec);
	return rc;
}

static int
load_feed(vc_ctx *ctx, struct vc_ioc_set *set, size_t *cap, const char *path)
{
	struct feed fd = { set, cap, { { -1, -1, -1, -1, -1 }, 0 }, path };
	struct vc_jsonl_loop lp = { .mode = VC_JSONL_TEXT, .fn = feed_line, .arg = &fd };
	struct vc_jsonl in;
	int rc;

	if ((rc = vc_jsonl_open(ctx, &in, path)) != 0)
		return rc;
	rc = vc_jsonl_each(ctx, &in, &lp);
	vc_jsonl_release(&in);
	return rc;
}

int
vc_ioc_load(vc_ctx *ctx, jv files, struct vc_ioc_set **out)
{
	struct vc_ioc_set *set = calloc(1, sizeof *set);
	vc_stmt *q;
	size_t cap = 0;
	int rc = 0;

	*out = NULL;
	if (set == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	if (ctx->who.tenant_id[0] != '\0') {
		q = vc_sql(ctx, "SELECT id, type, value, severity, source FROM iocs WHERE tenant_id = ?1"
		    " ORDER BY type, value", "s", ctx->who.tenant_id);
		if (q == NULL) {
			vc_ioc_free(set);
			return ctx->err;
		}
		while ((rc = vc_sql_step(ctx, q)) == 1)
			if (set_add(set, &cap, (const char *)vc_col_text(q, 0),
			    (const char *)vc_col_text(q, 1), (const char *)vc_col_text(q, 2),
			    (const char *)vc_col_text(q, 3),
			    (const char *)vc_col_text(q, 4)) != 0) {
				rc = -1;
				vc_fail(ctx, VC_EINTERNAL, "out of memory");
				break;
			}
		vc_stmt_done(q);
		if (rc < 0) {
			vc_ioc_free(set);
			return ctx->err;
		}
	}
	/* Feeds given on the command line: used for this run, not stored. */
	if (jv_get_kind(files) == JV_KIND_ARRAY) {
		jv_array_foreach(files, i, f) {
			if (rc == 0)
				rc = load_feed(ctx, set, &cap, jv_string_value(f));
			jv_free(f);
		}
	}
	jv_free(files);
	if (rc != 0 || set_index(set) != 0) {
		vc_ioc_free(set);
		return rc ? rc : vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	*out = set;
	return 0;
}

/* ---- matching ------------------------------------------------------------ */

struct matcher {
	const struct vc_ioc_set *set;
	jv *hits;
	jv seen;                /* ioc ids already reported for this row */
	int n;
};

static void
hit(struct matcher *m, const struct ioc *e, const char *field, const char *value)
{
	jv key = jv_string(e->id), got = jv_object_get(jv_copy(m->seen), jv_copy(key));
	int again = jv_is_valid(got);

	jv_free(got);
	if (again) {
		jv_free(key);
		return;
	}
	m->seen = jv_object_set(m->seen, key, jv_true());
	*m->hits = jv_array_append(*m->hits, JV_OBJECT(
	    jv_string("kind"), jv_string("ioc"),
	    jv_string("id"), jv_string(e->id),
	    jv_string("title"), jv_string(e->type),
	    jv_string("level"), jv_string(e->severity),
	    jv_string("source"), e->source ? jv_string(e->source) : jv_null(),
	    jv_string("evidence"), JV_ARRAY(JV_OBJECT(jv_string("field"), jv_string(field),
		jv_string("value"), jv_string(value), jv_string("ioc"), jv_string(e->value)))));
	m->n++;
}

static void
try_one(struct matcher *m, const char *type, const char *raw, const char *field)
{
	char norm[MAX_STRING + 1];
	const struct ioc *e;

	if (vc_ioc_normalize(type, raw, norm, sizeof norm) != 0)
		return;
	if ((e = lookup(m->set, type, norm)) != NULL)
		hit(m, e, field, raw);
	if (strcmp(type, "ip") == 0 && m->set->ncidrs > 0) {
		unsigned char key[16];
		if (vc_ip_key(raw, key, NULL, 0) == 0)
			for (size_t i = 0; i < m->set->ncidrs; i++) {
				const struct ioc *c = &m->set->v[m->set->cidrs[i]];
				if (memcmp(key, c->lo, 16) >= 0 && memcmp(key, c->hi, 16) <= 0)
					hit(m, c, field, raw);
			}
	}
	if (strcmp(type, "domain") == 0) {
		/* A listed domain covers its subdomains. */
		for (const char *d = strchr(norm, '.'); d != NULL && strchr(d + 1, '.') != NULL;
		    d = strchr(d + 1, '.'))
			if ((e = lookup(m->set, "domain", d + 1)) != NULL)
				hit(m, e, field, raw);
	}
	if (strcmp(type, "path") == 0) {
		const char *base = strrchr(norm, '\\');
		const char *b2 = strrchr(norm, '/');
		if (b2 > base)
			base = b2;
		if (base != NULL && base[1] != '\0' && (e = lookup(m->set, "filename", base + 1)) != NULL)
			hit(m, e, field, raw);
	}
}

/* One string of the row: every type it could be. */
static void
look(struct matcher *m, const char *s, const char *field)
{
	const char *type;
	size_t n = strlen(s);

	if (n == 0 || n > MAX_STRING)
		return;
	/* "MD5=..,SHA256=..,IMPHASH=.." (Sysmon's Hashes) */
	if (strchr(s, '=') != NULL && strchr(s, ',') != NULL && n < 512) {
		char buf[512], *save = NULL;
		snprintf(buf, sizeof buf, "%s", s);
		for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(tok, '=');
			const char *t = eq ? vc_ioc_type_of(eq + 1) : NULL;
			if (t != NULL && (!strcmp(t, "md5") || !strcmp(t, "sha1") || !strcmp(t, "sha256")))
				try_one(m, t, eq + 1, field);
		}
		return;
	}
	/* A URL: its host. */
	if (strstr(s, "://") != NULL) {
		const char *h = strstr(s, "://") + 3;
		char host[256];
		size_t hl = strcspn(h, "/:?#@");
		if (hl > 0 && hl < sizeof host) {
			snprintf(host, sizeof host, "%.*s", (int)hl, h);
			if ((type = vc_ioc_type_of(host)) != NULL)
				try_one(m, type, host, field);
		}
		return;
	}
	if ((type = vc_ioc_type_of(s)) == NULL)
		return;
	try_one(m, type, s, field);
	if (strcmp(type, "filename") == 0 || strcmp(type, "domain") == 0)
		try_one(m, strcmp(type, "filename") == 0 ? "domain" : "filename", s, field);
}

static void
walk(struct matcher *m, jv v, const char *path, int depth)
{
	char sub[256];

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		look(m, jv_string_value(v), path);
		break;
	case JV_KIND_OBJECT:
		if (depth >= MAX_DEPTH)
			break;
		jv_object_foreach(v, k, x) {
			snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", jv_string_value(k));
			walk(m, x, sub, depth + 1);
			jv_free(k);
		}
		break;
	case JV_KIND_ARRAY:
		if (depth >= MAX_DEPTH)
			break;
		jv_array_foreach(v, i, x) {
			snprintf(sub, sizeof sub, "%s[%d]", path, i);
			walk(m, x, sub, depth + 1);
		}
		break;
	default:
		break;
	}
	jv_free(v);
}

int
vc_ioc_match(const struct vc_ioc_set *set, jv row, jv *hits)
{
	struct matcher m = { set, hits, jv_object(), 0 };

	if (set != NULL && set->n > 0)
		walk(&m, jv_copy(row), "", 0);
	jv_free(m.seen);
	return m.n;
}

/* ---- operations ------------------------------------------------------------ */

static const char *
field_of(jv rec, const char *k)
{
	jv v = jv_object_get(jv_copy(rec), jv_string(k));
	const char *s = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;

	jv_free(v);
	return s;
}

/* One CSV line into at most nf fields ("" quoting); returns the count. */
static int
csv_split(char *line, char **f, int nf)
{
	int n = 0;
	char *p = line, *w;

	while (n < nf) {
		f[n++] = w = p;
		if (*p == '"') {
			p++;
			for (;;) {
				if (*p == '\0')
					break;
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else
					*w++ = *p++;
			}
			while (*p && *p != ',')
				p++;
		} else {
			while (*p && *p != ',')
				*w++ = *p++;
		}
		if (*p == ',') {
			*w = '\0';
			p++;
			continue;
		}
		*w = '\0';
		break;
	}
	for (int i = 0; i < n; i++) {     /* trim */
		char *s = f[i], *e;
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		f[i] = s;
	}
	return n;
}

/* An IOC import: each good line is stored in a transaction of its own. */
struct ioc_import {
	struct ioc_reader rd;
	const char *def_sev, *def_src;
	long added;
};

/* One line's row (vc_tx_run's arg). */
struct ioc_row {
	struct ioc_line *l;
	const char *id, *norm;
};

static int
ioc_row_body(vc_ctx *ctx, void *arg)
{
	struct ioc_row *w = arg;

	return vc_sql_exec(ctx, "INSERT INTO iocs (id, tenant_id, type, value, severity, source,"
	    " description, created_by, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)"
	    " ON CONFLICT (tenant_id, type, value) DO UPDATE SET severity = ?5,"
	    " source = COALESCE(?6, iocs.source), description = COALESCE(?7, iocs.description)",
	    NULL, "ssssssssi", w->id, ctx->who.tenant_id, w->l->type, w->norm, w->l->severity,
	    w->l->source, w->l->description, ctx->who.username, vc_now(ctx));
}

static int
import_line(vc_ctx *ctx, struct vc_jsonl *r, jv rec, void *arg)
{
	struct ioc_import *im = arg;
	struct ioc_line l;
	char norm[MAX_STRING + 1], id[VC_ID_LEN + 1];
	struct ioc_row w = { &l, id, norm };
	int rc;

	jv_free(rec);
	if ((rc = parse_line(ctx, r, &im->rd, im->def_sev, im->def_src, &l, norm, sizeof norm)) != 1) {
		jv_free(l.rec);
		return rc < 0 ? VC_JSONL_BAD : 0;
	}
	vc_new_id(id);
	/* Made again when it gave way to another (the line is in memory). */
	rc = vc_tx_run(ctx, 0, ioc_row_body, &w);
	jv_free(l.rec);
	if (rc != 0)
		return rc;
	im->added++;
	return 0;
}

/* The import's one audit record (vc_tx_run's body; arg: its details). */
static int
ioc_audit_body(vc_ctx *ctx, void *arg)
{
	return vc_audit(ctx, ctx->who.tenant_id, "iocs.import", "ioc", NULL, "success", NULL,
	    jv_copy(*(jv *)arg));
}

int
vc_op_ioc_import(vc_ctx *ctx, jv args, jv *out)
{
	struct ioc_import im = {
		{ { -1, -1, -1, -1, -1 }, 0 }, vc_arg_str(args, "severity"), vc_arg_str(args, "source"), 0
	};
	struct vc_jsonl_loop lp = { .mode = VC_JSONL_TEXT, .fn = import_line, .arg = &im };
	int rc;

	if (ctx->in == NULL)
		return vc_fail(ctx, VC_EUSAGE, "no input to import");
	rc = vc_jsonl_each(ctx, ctx->in, &lp);
	if (rc != 0)
		return rc;
	*out = JV_OBJECT(jv_string("imported"), jv_number((double)im.added),
	    jv_string("bad_lines"), jv_number((double)ctx->bad_count));
	(void)vc_tx_run(ctx, 0, ioc_audit_body, out);
	ctx->audited = 1;
	return 0;
}

int
vc_op_ioc_list(vc_ctx *ctx, jv args, jv *out)
{
	*out = vc_sql_rows(ctx, vc_sql(ctx, "SELECT id, type, value, severity, source, description,"
	    " created_by, created_at FROM iocs WHERE tenant_id = ?1 AND (?2 IS NULL OR type = ?2)"
	    " ORDER BY type, value", "ss", ctx->who.tenant_id, vc_arg_str(args, "type")));
	return jv_is_valid(*out) ? 0 : ctx->err;
}

int
vc_op_ioc_delete(vc_ctx *ctx, jv args, jv *out)
{
	const char *id = vc_arg_str(args, "id");
	int changes = 0, rc;

	rc = vc_sql_exec(ctx, "DELETE FROM iocs WHERE tenant_id = ?1 AND id = ?2", &changes, "ss",
	    ctx->who.tenant_id, id);
	if (rc != 0)
		return rc;
	if (changes == 0)
		return vc_not_found(ctx, "ioc", "IOC",
		    /* unscoped: existence check only, to audit a cross-tenant attempt */
		    "SELECT 1 FROM iocs WHERE id = ?1", id);
	vc_audit_target(ctx, "ioc", id);
	*out = JV_OBJECT(jv_string("id"), jv_string(id), jv_string("deleted"), jv_true());
	return 0;
}
