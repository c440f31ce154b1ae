/* SPDX-License-Identifier: MIT */
/*
 * sigma_map.c - the field mapping of the Sigma evaluator: loading and
 * checking a map, the built-in one, and compiling a map's entries into
 * the set (field resolvers, logsource guards).  Also the arena that all
 * of lib/sigma_*.c allocate from.
 *
 * The built-in map is data/sigma-map.json itself, pulled into the object
 * file by the assembler (.incbin), so the shipped data file is the one
 * source of truth and nothing generates C from it.  The assembler runs in
 * the project root, as make does.  t_sigma checks that the embedded copy
 * equals the file, which catches a stale object after the file changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sigma/internal.h"

__asm__(
	"\t.section .rodata\n"
	"\t.balign 16\n"
	"\t.type vc_sg_default_map_json, @object\n"
	"vc_sg_default_map_json:\n"
	"\t.incbin \"data/sigma-map.json\"\n"
	"\t.byte 0\n"
	"\t.size vc_sg_default_map_json, . - vc_sg_default_map_json\n"
	"\t.previous\n");
extern const char vc_sg_default_map_json[];

const char *
vc_sigma_map_default_json(void)
{
	return vc_sg_default_map_json;
}

/* ---- arena ---- */

struct vc_sg_chunk {
	struct vc_sg_chunk *next;
	size_t cap;
	unsigned char data[];
};

void
vc_sg_arena_init(struct vc_sg_arena *a, void *first, size_t n)
{
	memset(a, 0, sizeof *a);
	if (first != NULL) {
		a->first = first;
		a->buf = first;
		a->cap = n;
	}
}

void *
vc_sg_alloc(struct vc_sg_arena *a, size_t n)
{
	size_t need = (n + 15) & ~(size_t)15;
	void *p;

	if (need < n)
		return NULL;
	if (a->buf == NULL || a->cap - a->used < need) {
		size_t cap = need > 16384 ? need : 16384;
		struct vc_sg_chunk *c = malloc(sizeof *c + cap);

		if (c == NULL)
			return NULL;
		c->next = a->head;
		c->cap = cap;
		a->head = c;
		a->buf = c->data;
		a->cap = cap;
		a->used = 0;
	}
	p = a->buf + a->used;
	a->used += need;
	memset(p, 0, n);
	return p;
}

char *
vc_sg_strndup(struct vc_sg_arena *a, const char *s, size_t n)
{
	char *p = vc_sg_alloc(a, n + 1);

	if (p != NULL && n > 0)
		memcpy(p, s, n);
	return p;
}

void
vc_sg_arena_free(struct vc_sg_arena *a)
{
	struct vc_sg_chunk *c = a->head, *nx;

	for (; c != NULL; c = nx) {
		nx = c->next;
		free(c);
	}
	memset(a, 0, sizeof *a);
}

/* ---- files ---- */

int
vc_sg_read_file(vc_ctx *ctx, const char *path, size_t max, char **buf, size_t *n)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *b;
	size_t len = 0;

	if (fd < 0)
		return vc_fail(ctx, errno == ENOENT ? VC_ENOTFOUND : VC_EINVAL,
		    "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vc_fail(ctx, VC_EINVAL, "%s: not a regular file", path);
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return vc_fail(ctx, VC_ETOOBIG, "%s: larger than %zu bytes", path, max);
	}
	b = malloc((size_t)st.st_size + 1);
	if (b == NULL) {
		close(fd);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	/* Read to the end even if the file grew; stop at max. */
	for (;;) {
		ssize_t r = read(fd, b + len, (size_t)st.st_size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(b);
			close(fd);
			return vc_fail(ctx, VC_EINTERNAL, "%s: %s", path, strerror(e));
		}
		if (r == 0 || (len += (size_t)r) == (size_t)st.st_size)
			break;
	}
	close(fd);
	b[len] = '\0';
	*buf = b;
	*n = len;
	return VC_EOK;
}

/* ---- maps ---- */

/*
 * jq's foreach macros cannot nest under -Wshadow, so loops over jv
 * containers here are written out.
 */
#define ALEN(a) jv_array_length(jv_copy(a))
#define AGET(a, i) jv_array_get(jv_copy(a), (i))
#define OGET(o, k) jv_object_get(jv_copy(o), jv_string(k))

static int
check_path(jv p)
{
	int n;

	if (jv_get_kind(p) == JV_KIND_STRING)
		return jv_string_value(p)[0] != '\0';
	if (jv_get_kind(p) != JV_KIND_ARRAY || (n = ALEN(p)) == 0)
		return 0;
	for (int i = 0; i < n; i++) {
		jv k = AGET(p, i);
		int good = jv_get_kind(k) == JV_KIND_STRING;

		jv_free(k);
		if (!good)
			return 0;
	}
	return 1;
}

static int
check_path_list(jv v)
{
	if (jv_get_kind(v) != JV_KIND_ARRAY)
		return 0;
	for (int i = 0, n = ALEN(v); i < n; i++) {
		jv e = AGET(v, i);
		int good = check_path(e);

		jv_free(e);
		if (!good)
			return 0;
	}
	return 1;
}

/* {"join": sep, "parts": [{"prefix"?, "path"}...]} */
static int
check_join(jv c)
{
	jv sep = OGET(c, "join"), parts = OGET(c, "parts");
	int good = jv_get_kind(sep) == JV_KIND_STRING && jv_get_kind(parts) == JV_KIND_ARRAY;

	for (int i = 0, n = good ? ALEN(parts) : 0; i < n && good; i++) {
		jv pt = AGET(parts, i);
		jv pp = jv_get_kind(pt) == JV_KIND_OBJECT ? OGET(pt, "path") : jv_invalid();
		jv pf = jv_get_kind(pt) == JV_KIND_OBJECT ? OGET(pt, "prefix") : jv_invalid();

		good = check_path(pp) &&
		    (jv_get_kind(pf) == JV_KIND_INVALID || jv_get_kind(pf) == JV_KIND_STRING);
		jv_free(pp);
		jv_free(pf);
		jv_free(pt);
	}
	jv_free(sep);
	jv_free(parts);
	return good;
}

static int
check_fields(jv v)
{
	int good = jv_get_kind(v) == JV_KIND_OBJECT;

	for (int it = good ? jv_object_iter(v) : 0; good && jv_object_iter_valid(v, it);
	    it = jv_object_iter_next(v, it)) {
		jv cands = jv_object_iter_value(v, it);

		good = jv_get_kind(cands) == JV_KIND_ARRAY;
		for (int i = 0, n = good ? ALEN(cands) : 0; i < n && good; i++) {
			jv c = AGET(cands, i);

			good = jv_get_kind(c) == JV_KIND_OBJECT ? check_join(c) : check_path(c);
			jv_free(c);
		}
		jv_free(cands);
	}
	return good;
}

/* An object whose values are strings, or also lists of strings. */
static int
check_strings(jv o, int lists)
{
	int good = jv_get_kind(o) == JV_KIND_OBJECT;

	for (int it = good ? jv_object_iter(o) : 0; good && jv_object_iter_valid(o, it);
	    it = jv_object_iter_next(o, it)) {
		jv v = jv_object_iter_value(o, it);

		if (lists && jv_get_kind(v) == JV_KIND_ARRAY) {
			for (int i = 0, n = ALEN(v); i < n && good; i++) {
				jv e = AGET(v, i);

				good = jv_get_kind(e) == JV_KIND_STRING;
				jv_free(e);
			}
		} else
			good = jv_get_kind(v) == JV_KIND_STRING;
		jv_free(v);
	}
	return good;
}

static int
check_logsources(jv v)
{
	int good = jv_get_kind(v) == JV_KIND_ARRAY;

	for (int i = 0, n = good ? ALEN(v) : 0; i < n && good; i++) {
		jv g = AGET(v, i);
		jv ls = jv_get_kind(g) == JV_KIND_OBJECT ? OGET(g, "logsource") : jv_invalid();
		jv when = jv_get_kind(g) == JV_KIND_OBJECT ? OGET(g, "when") : jv_invalid();

		jv rows = jv_get_kind(g) == JV_KIND_OBJECT ? OGET(g, "rows") : jv_invalid();

		good = check_strings(ls, 0) && jv_get_kind(when) == JV_KIND_ARRAY &&
		    (jv_get_kind(rows) == JV_KIND_INVALID || jv_get_kind(rows) == JV_KIND_ARRAY);
		for (int j = 0, m = good ? ALEN(when) : 0; j < m && good; j++) {
			jv alt = AGET(when, j);

			good = check_strings(alt, 1);
			jv_free(alt);
		}
		/* rows: [{field: true}]: the fields a header-less row must have. */
		for (int j = 0, m = good && jv_is_valid(rows) ? ALEN(rows) : 0; j < m && good; j++) {
			jv alt = AGET(rows, j);

			good = jv_get_kind(alt) == JV_KIND_OBJECT;
			for (int it = good ? jv_object_iter(alt) : 0; good && jv_object_iter_valid(alt, it);
			    it = jv_object_iter_next(alt, it))
				good = jv_get_kind(jv_object_iter_value(alt, it)) == JV_KIND_TRUE;
			jv_free(alt);
		}
		jv_free(ls);
		jv_free(when);
		jv_free(rows);
		jv_free(g);
	}
	return good;
}

/* Why doc is not a valid map, or NULL. */
static const char *
map_problem(jv doc)
{
	const char *why = NULL;
	jv v;

	if (jv_get_kind(doc) != JV_KIND_OBJECT)
		return "not a JSON object";
	v = OGET(doc, "version");
	if (jv_get_kind(v) != JV_KIND_NUMBER || jv_number_value(v) != 1)
		why = "\"version\" must be 1";
	jv_free(v);
	v = OGET(doc, "fields");
	if (!why && jv_get_kind(v) != JV_KIND_INVALID && !check_fields(v))
		why = "each entry of \"fields\" must be a list of paths or {\"join\", \"parts\"}";
	jv_free(v);
	v = OGET(doc, "containers");
	if (!why && jv_get_kind(v) != JV_KIND_INVALID && !check_path_list(v))
		why = "\"containers\" must be a list of paths";
	jv_free(v);
	v = OGET(doc, "attributes");
	if (!why && jv_get_kind(v) != JV_KIND_INVALID) {
		jv c = jv_get_kind(v) == JV_KIND_OBJECT ? OGET(v, "containers") : jv_invalid();
		jv k = jv_get_kind(v) == JV_KIND_OBJECT ? OGET(v, "key") : jv_invalid();

		if (!check_path_list(c) || jv_get_kind(k) != JV_KIND_STRING)
			why = "\"attributes\" must be {\"containers\": [paths], \"key\": string}";
		jv_free(c);
		jv_free(k);
	}
	jv_free(v);
	v = OGET(doc, "logsources");
	if (!why && jv_get_kind(v) != JV_KIND_INVALID && !check_logsources(v))
		why = "\"logsources\" must be a list of {\"logsource\": {key: string}, \"when\": [{field: string or [strings]}], \"rows\": [{field: true}]}";
	jv_free(v);
	v = OGET(doc, "header");
	if (!why && jv_get_kind(v) != JV_KIND_INVALID) {
		int good = jv_get_kind(v) == JV_KIND_ARRAY && ALEN(v) >= 1 && ALEN(v) <= 4;

		for (int i = 0, n = good ? ALEN(v) : 0; i < n && good; i++) {
			jv e = AGET(v, i);

			good = jv_get_kind(e) == JV_KIND_STRING;
			jv_free(e);
		}
		if (!good)
			why = "\"header\" must be a list of 1 to 4 field names";
	}
	jv_free(v);
	return why;
}

int
vc_sigma_map_parse(vc_ctx *ctx, const char *name, const char *json, size_t n,
    struct vc_sigma_map **out)
{
	jv doc;
	const char *why;
	struct vc_sigma_map *m;

	*out = NULL;
	if (n > VC_SIGMA_MAX_FILE || n > (size_t)INT32_MAX)
		return vc_fail(ctx, VC_ETOOBIG, "%s: too large", name);
	doc = jv_parse_sized(json, (int)n);
	if (!jv_is_valid(doc)) {
		jv msg = jv_invalid_get_msg(doc);
		int rc = vc_fail(ctx, VC_ECONFIG, "%s: %s", name,
		    jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "invalid JSON");

		jv_free(msg);
		return rc;
	}
	if ((why = map_problem(doc)) != NULL) {
		jv_free(doc);
		return vc_fail(ctx, VC_ECONFIG, "%s: %s", name, why);
	}
	m = calloc(1, sizeof *m);
	if (m == NULL) {
		jv_free(doc);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	m->doc = doc;
	*out = m;
	return VC_EOK;
}

int
vc_sigma_map_load(vc_ctx *ctx, const char *path, struct vc_sigma_map **out)
{
	char *buf;
	size_t n;
	int rc;

	*out = NULL;
	if (path == NULL)
		return vc_sigma_map_parse(ctx, "built-in sigma map", vc_sg_default_map_json,
		    strlen(vc_sg_default_map_json), out);
	if ((rc = vc_sg_read_file(ctx, path, VC_SIGMA_MAX_FILE, &buf, &n)) != VC_EOK)
		return rc;
	rc = vc_sigma_map_parse(ctx, path, buf, n, out);
	free(buf);
	return rc;
}

void
vc_sigma_map_free(struct vc_sigma_map *map)
{
	if (map == NULL)
		return;
	jv_free(map->doc);
	free(map);
}

/* ---- compiling map entries into a set ---- */

/*
 * A path as keys: "A.B" is split at dots, ["A", "B.C"] is taken as it is.
 * Appends to *keys (an array).
 */
static jv
path_keys(jv keys, jv p)
{
	if (jv_get_kind(p) == JV_KIND_STRING)
		return jv_array_concat(keys, jv_string_split(p, jv_string(".")));
	if (jv_get_kind(p) == JV_KIND_ARRAY)
		return jv_array_concat(keys, p);
	jv_free(p);
	return keys;
}

/* keys: an array of strings (consumed). */
static int
path_compile(struct vc_sigma_set *set, jv keys, struct vc_sg_path *out)
{
	int n = ALEN(keys);

	out->n = 0;
	out->key = vc_sg_alloc(&set->arena, sizeof(jv) * (size_t)(n ? n : 1));
	if (out->key == NULL) {
		jv_free(keys);
		return -1;
	}
	for (int i = 0; i < n; i++)
		out->key[out->n++] = AGET(keys, i);
	jv_free(keys);
	out->root = -1;
	if (out->n == 0)
		return 0;
	for (int i = 0; i < set->nroots && out->root < 0; i++)
		if (jv_equal(jv_copy(set->roots[i]), jv_copy(out->key[0])))
			out->root = i;
	if (out->root < 0) {
		if (set->nroots == set->caproots) {
			int nc = set->caproots ? set->caproots * 2 : 32;
			jv *p = realloc(set->roots, sizeof *p * (size_t)nc);

			if (p == NULL)
				return -1;
			set->roots = p;
			set->caproots = nc;
		}
		set->roots[set->nroots] = jv_copy(out->key[0]);
		out->root = set->nroots++;
	}
	return 0;
}

/* A new zeroed candidate at the end of *c, or NULL. */
static struct vc_sg_cand *
add_cand(struct vc_sigma_set *set, struct vc_sg_cand **c, int *n, int *cap)
{
	if (*n == *cap) {
		int nc = *cap ? *cap * 2 : 16;
		struct vc_sg_cand *p = vc_sg_alloc(&set->arena, sizeof *p * (size_t)nc);

		if (p == NULL)
			return NULL;
		if (*n)
			memcpy(p, *c, sizeof *p * (size_t)*n);
		*c = p;
		*cap = nc;
	}
	return &(*c)[(*n)++];
}

/* A new candidate at the end of *c that resolves keys (consumed). */
static int
add_path(struct vc_sigma_set *set, struct vc_sg_cand **c, int *n, int *cap, jv keys)
{
	struct vc_sg_cand *cc = add_cand(set, c, n, cap);

	if (cc == NULL) {
		jv_free(keys);
		return -1;
	}
	return path_compile(set, keys, &cc->path);
}

static int
join_compile(struct vc_sigma_set *set, jv cand, struct vc_sg_cand *c)
{
	jv sep = OGET(cand, "join"), parts = OGET(cand, "parts");
	int np = ALEN(parts), rc = 0;

	c->seplen = strlen(jv_string_value(sep));
	c->sep = vc_sg_strndup(&set->arena, jv_string_value(sep), c->seplen);
	c->part = vc_sg_alloc(&set->arena, sizeof *c->part * (size_t)(np ? np : 1));
	if (c->sep == NULL || c->part == NULL)
		rc = -1;
	for (int i = 0; i < np && rc == 0; i++) {
		jv pt = AGET(parts, i);
		jv pf = OGET(pt, "prefix");
		struct vc_sg_part *q = &c->part[c->nparts++];
		const char *pfs = jv_get_kind(pf) == JV_KIND_STRING ? jv_string_value(pf) : "";

		q->plen = strlen(pfs);
		q->prefix = vc_sg_strndup(&set->arena, pfs, q->plen);
		if (q->prefix == NULL || path_compile(set, path_keys(jv_array(), OGET(pt, "path")), &q->path) < 0)
			rc = -1;
		jv_free(pf);
		jv_free(pt);
	}
	jv_free(sep);
	jv_free(parts);
	return rc;
}

/*
 * The resolver of a field: the name itself as a top-level key, then the
 * map's paths for it, then the name in each container, then X_Y as an
 * attribute (C.X.Y, C.X.<key>.Y).
 */
static int
field_compile(struct vc_sigma_set *set, struct vc_sg_field *f)
{
	jv map = set->map, name = jv_string(f->name), v;
	struct vc_sg_cand *c = NULL, *cc;
	int n = 0, cap = 0, rc = 0;
	const char *us;

	rc = add_path(set, &c, &n, &cap, jv_array_append(jv_array(), jv_copy(name)));

	v = OGET(map, "fields");
	if (jv_get_kind(v) == JV_KIND_OBJECT)
		v = jv_object_get(v, jv_copy(name));
	for (int i = 0, m = jv_get_kind(v) == JV_KIND_ARRAY ? ALEN(v) : 0; i < m && rc == 0; i++) {
		jv cand = AGET(v, i);

		if ((cc = add_cand(set, &c, &n, &cap)) == NULL)
			rc = -1;
		else if (jv_get_kind(cand) == JV_KIND_OBJECT)
			rc = join_compile(set, cand, cc);
		else
			rc = path_compile(set, path_keys(jv_array(), jv_copy(cand)), &cc->path);
		jv_free(cand);
	}
	jv_free(v);

	v = OGET(map, "containers");
	for (int i = 0, m = jv_get_kind(v) == JV_KIND_ARRAY ? ALEN(v) : 0; i < m && rc == 0; i++) {
		rc = add_path(set, &c, &n, &cap, jv_array_append(path_keys(jv_array(), AGET(v, i)),
		    jv_copy(name)));
	}
	jv_free(v);

	us = strchr(f->name, '_');
	v = OGET(map, "attributes");
	if (us != NULL && us != f->name && us[1] != '\0' && jv_get_kind(v) == JV_KIND_OBJECT) {
		jv ac = OGET(v, "containers"), ak = OGET(v, "key");
		jv x = jv_string_sized(f->name, (int)(us - f->name)), y = jv_string(us + 1);

		for (int i = 0, m = ALEN(ac); i < m && rc == 0; i++) {
			for (int withkey = 0; withkey < 2 && rc == 0; withkey++) {
				jv keys = jv_array_append(path_keys(jv_array(), AGET(ac, i)), jv_copy(x));

				if (withkey)
					keys = jv_array_append(keys, jv_copy(ak));
				keys = jv_array_append(keys, jv_copy(y));
				rc = add_path(set, &c, &n, &cap, keys);
			}
		}
		jv_free(ac);
		jv_free(ak);
		jv_free(x);
		jv_free(y);
	}
	jv_free(v);
	jv_free(name);
	f->cand = c;
	f->ncand = n;
	return rc;
}

/* Free the jv keys of a set's resolvers (the rest is in its arena). */
void
vc_sg_fields_release(struct vc_sigma_set *set)
{
	for (int i = 0; i < set->nfields; i++) {
		struct vc_sg_field *f = &set->fields[i];

		for (int j = 0; j < f->ncand; j++) {
			struct vc_sg_cand *c = &f->cand[j];

			for (int k = 0; k < c->path.n; k++)
				jv_free(c->path.key[k]);
			for (int p = 0; p < c->nparts; p++)
				for (int k = 0; k < c->part[p].path.n; k++)
					jv_free(c->part[p].path.key[k]);
		}
	}
	free(set->fields);
	set->fields = NULL;
	set->nfields = set->capfields = 0;
	for (int i = 0; i < set->nroots; i++)
		jv_free(set->roots[i]);
	free(set->roots);
	set->roots = NULL;
	set->nroots = set->caproots = 0;
}

int
vc_sg_field_intern(struct vc_sigma_set *set, const char *name)
{
	struct vc_sg_field *f;

	for (int i = 0; i < set->nfields; i++)
		if (strcmp(set->fields[i].name, name) == 0)
			return i;
	if (set->nfields == set->capfields) {
		int nc = set->capfields ? set->capfields * 2 : 32;
		struct vc_sg_field *p = realloc(set->fields, sizeof *p * (size_t)nc);

		if (p == NULL)
			return -1;
		set->fields = p;
		set->capfields = nc;
	}
	f = &set->fields[set->nfields];
	memset(f, 0, sizeof *f);
	f->name = vc_sg_strndup(&set->arena, name, strlen(name));
	if (f->name == NULL)
		return -1;
	/* Counted before compiling so that a half-built resolver is released. */
	set->nfields++;
	if (field_compile(set, f) < 0)
		return -1;
	return set->nfields - 1;
}

/* Lowercase copy (ASCII) in the set's arena. */
static const char *
low_dup(struct vc_sigma_set *set, const char *s)
{
	size_t n = strlen(s);
	char *p = vc_sg_strndup(&set->arena, s, n);

	if (p != NULL)
		for (size_t i = 0; i < n; i++)
			if (p[i] >= 'A' && p[i] <= 'Z')
				p[i] = (char)(p[i] + 32);
	return p;
}

/* One alternative of a guard: {field: value or [values]} (borrowed). */
static int
galt_compile(struct vc_sigma_set *set, jv alt, struct vc_sg_galt *ga)
{
	int nc = jv_object_length(jv_copy(alt)), rc = 0;

	ga->c = vc_sg_alloc(&set->arena, sizeof *ga->c * (size_t)(nc ? nc : 1));
	if (ga->c == NULL)
		return -1;
	for (int it = jv_object_iter(alt); rc == 0 && jv_object_iter_valid(alt, it);
	    it = jv_object_iter_next(alt, it)) {
		jv k = jv_object_iter_key(alt, it), av = jv_object_iter_value(alt, it);
		struct vc_sg_gcond *gc = &ga->c[ga->n++];
		int nv = jv_get_kind(av) == JV_KIND_ARRAY ? ALEN(av) :
		    jv_get_kind(av) == JV_KIND_TRUE ? 0 : 1;

		gc->field = vc_sg_field_intern(set, jv_string_value(k));
		gc->val = vc_sg_alloc(&set->arena, sizeof *gc->val * (size_t)(nv ? nv : 1));
		if (gc->field < 0 || gc->val == NULL)
			rc = -1;
		for (int i = 0; i < nv && rc == 0; i++) {
			jv e = jv_get_kind(av) == JV_KIND_ARRAY ? AGET(av, i) : jv_copy(av);

			if ((gc->val[gc->nval++] = low_dup(set, jv_string_value(e))) == NULL)
				rc = -1;
			jv_free(e);
		}
		jv_free(k);
		jv_free(av);
	}
	return rc;
}

int
vc_sg_guards_compile(struct vc_sigma_set *set, char *err, size_t errn)
{
	jv gs = OGET(set->map, "logsources");
	int ng = jv_get_kind(gs) == JV_KIND_ARRAY ? ALEN(gs) : 0, rc = 0;

	set->guard_ls = jv_array();
	set->nguards = 0;
	if (ng > 0 && (set->guards = vc_sg_alloc(&set->arena, sizeof *set->guards * (size_t)ng)) == NULL)
		rc = -1;
	for (int i = 0; i < ng && rc == 0; i++) {
		jv g = AGET(gs, i), when = OGET(g, "when"), rows = OGET(g, "rows");
		struct vc_sg_guard *gd = &set->guards[set->nguards++];
		int na = ALEN(when), nr = jv_is_valid(rows) ? ALEN(rows) : 0;

		set->guard_ls = jv_array_append(set->guard_ls, OGET(g, "logsource"));
		if ((gd->alt = vc_sg_alloc(&set->arena, sizeof *gd->alt * (size_t)(na ? na : 1))) == NULL ||
		    (gd->row = vc_sg_alloc(&set->arena, sizeof *gd->row * (size_t)(nr ? nr : 1))) == NULL)
			rc = -1;
		for (int j = 0; j < na && rc == 0; j++) {
			jv alt = AGET(when, j);

			rc = galt_compile(set, alt, &gd->alt[gd->nalt++]);
			jv_free(alt);
		}
		for (int j = 0; j < nr && rc == 0; j++) {
			jv alt = AGET(rows, j);

			rc = galt_compile(set, alt, &gd->row[gd->nrow++]);
			jv_free(alt);
		}
		jv_free(when);
		jv_free(rows);
		jv_free(g);
	}
	jv_free(gs);
	/* The fields that make an event an event-log record. */
	jv hs = OGET(set->map, "header");
	if (jv_get_kind(hs) != JV_KIND_ARRAY) {
		jv_free(hs);
		hs = JV_ARRAY(jv_string("EventID"), jv_string("Channel"));
	}
	set->nhdr = 0;
	for (int i = 0, n = ALEN(hs); i < n && i < 4 && rc == 0; i++) {
		jv h = AGET(hs, i);

		if ((set->hdr[set->nhdr++] = vc_sg_field_intern(set, jv_string_value(h))) < 0)
			rc = -1;
		jv_free(h);
	}
	jv_free(hs);
	if (rc < 0)
		snprintf(err, errn, "out of memory");
	return rc;
}

int
vc_sg_guard_for(const struct vc_sigma_set *set, jv ls)
{
	if (jv_get_kind(ls) != JV_KIND_OBJECT)
		return -1;
	/* category and service must be the same (both absent counts),
	 * product too when the rule names one. */
	static const char *const keys[] = { "category", "service", "product" };

	for (int i = 0; i < set->nguards; i++) {
		jv g = AGET(set->guard_ls, i);
		int all = 1;

		for (int k = 0; k < 3 && all; k++) {
			jv mine = OGET(ls, keys[k]), theirs = OGET(g, keys[k]);
			int m = jv_get_kind(mine) == JV_KIND_STRING, t = jv_get_kind(theirs) == JV_KIND_STRING;

			if (m && t)
				all = strcmp(jv_string_value(mine), jv_string_value(theirs)) == 0;
			else
				all = k == 2 ? 1 : m == t;
			jv_free(mine);
			jv_free(theirs);
		}
		jv_free(g);
		if (all)
			return i;
	}
	return -1;
}
