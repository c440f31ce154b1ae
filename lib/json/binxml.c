/* SPDX-License-Identifier: MIT */
/*
 * binxml.c - EVTX chunks and their binary XML decoded natively (see
 * binxml.h).  Two steps: a fragment of binary XML is compiled into a
 * tree of nodes (elements, attributes, literal text, substitutions),
 * once per chunk for a template (cached by its offset); then the tree is
 * instantiated with a record's values straight into the row, following
 * the rules vc_evtx_xml_row applies to the XML text libevtx makes of it.
 *
 * Every offset read from the chunk is checked against the chunk or the
 * fragment it belongs to before it is followed; nesting, array items
 * and the work done for one record are bounded, so a hostile chunk
 * costs at most a bounded amount of time and memory.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "core/vc.h"
#include "json/binxml.h"

#define CHUNK VC_BINXML_CHUNK
#define MAX_DEPTH 32            /* nested elements and binary XML values */
#define MAX_ELEMS 100000        /* elements made for one record */
#define MAX_TEXT (16u << 20)    /* text rendered for one record */
#define NAME_SLOTS 2048         /* names cached per chunk (a power of 2) */
#define TPL_SLOTS 1024          /* templates cached per chunk (a power of 2) */
#define ARENA_BLOCK (64 * 1024)

/* Name flags: the element and attribute names the row rules know. */
enum {
	F_EVENT = 1, F_DATA = 2, F_EVDATA = 4, F_EVENTID = 8, F_TIMECREATED = 16,
	F_XMLNS = 32, F_NAME = 64, F_SYSTEMTIME = 128,
};

enum { N_ELEM, N_ATTR, N_TEXT, N_SUBST };

struct name {
	uint32_t off;           /* where in the chunk; 0 = free slot */
	unsigned flags;
	const char *s;
	size_t n;
	jv key;                 /* s as a jq string, for object keys */
};

struct node {
	unsigned char kind;
	unsigned char optional; /* N_SUBST */
	unsigned char kept;     /* in the chunk's arena: may keep a value */
	uint16_t idx;           /* N_SUBST: the value's index */
	const struct name *name;        /* N_ELEM, N_ATTR */
	const char *s;          /* N_TEXT: UTF-8 */
	size_t n;
	struct node *attrs;     /* N_ELEM */
	struct node *kids;      /* N_ELEM: content; N_ATTR: its value */
	struct node *next;
	jv val;                 /* N_ATTR of literal text: its row value, once made */
};

struct tpl {
	uint32_t off;           /* the definition's offset; 0 = free slot */
	struct node *root;      /* NULL: it did not compile */
};

struct block {
	struct block *next;
	size_t used, cap;
	char data[];
};

struct arena {
	struct block *head;
};

struct val {
	const unsigned char *p;
	uint16_t size;
	unsigned char type;
};

struct vals {
	const struct val *v;
	uint32_t n;
};

/* An element being made: what vc_evtx_xml_row's elem() gathers. */
struct eb {
	const struct name *name;
	jv obj;
	int na, kids;
	jv dname;               /* a Data element's Name */
	int root;               /* the record's top: keeps the first element */
	const struct name *got; /* root: the element kept, and its row */
	jv row;
};

struct vc_binxml {
	const unsigned char *c;
	struct arena chunk_arena, rec_arena;
	struct name names[NAME_SLOTS];
	size_t nnames;
	struct tpl tpls[TPL_SLOTS];
	size_t ntpls;
	uint32_t pos, limit;    /* the next record; where records end */
	int stop;
	const char *damaged;
	char dmsg[128];
	jv kept;                /* array of the values nodes keep (freed by reset) */
	char *tb;               /* text being rendered */
	size_t tn, tcap;
	long elems;
	size_t total;           /* text rendered for this record */
	char *err;
	size_t errn;
	int failed;
};

/* ---- small helpers --------------------------------------------------------------- */

static uint16_t
u16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
u64(const unsigned char *p)
{
	return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32;
}

/* Record the first failure of this record (later ones are consequences). */
static int
fail(struct vc_binxml *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct vc_binxml *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->failed) {
		va_start(ap, fmt);
		vsnprintf(d->err, d->errn, fmt, ap);
		va_end(ap);
		d->failed = 1;
	}
	return -1;
}

static void *
arena_alloc(struct arena *a, size_t n)
{
	struct block *b = a->head;

	n = (n + 15) & ~(size_t)15;
	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;

		if ((b = malloc(sizeof *b + cap)) == NULL)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	b->used += n;
	return b->data + b->used - n;
}

/* Empty the arena, keeping one block for the next use. */
static void
arena_reset(struct arena *a)
{
	struct block *b = a->head;

	if (b == NULL)
		return;
	while (b->next != NULL) {
		struct block *n = b->next->next;

		free(b->next);
		b->next = n;
	}
	b->used = 0;
}

static void
arena_free(struct arena *a)
{
	while (a->head != NULL) {
		struct block *n = a->head->next;

		free(a->head);
		a->head = n;
	}
}

/* ---- text ------------------------------------------------------------------------ */

static int
tb_grow(struct vc_binxml *d, size_t n)
{
	if (d->tn + n + 1 <= d->tcap)
		return 0;
	if (d->tn + n + 1 > MAX_TEXT)
		return fail(d, "more than %u bytes of text", MAX_TEXT);
	size_t cap = d->tcap ? d->tcap : 4096;
	char *b;

	while (cap < d->tn + n + 1)
		cap *= 2;
	if ((b = realloc(d->tb, cap)) == NULL)
		return fail(d, "out of memory");
	d->tb = b;
	d->tcap = cap;
	return 0;
}

static int
tb_put(struct vc_binxml *d, const char *p, size_t n)
{
	if (tb_grow(d, n) < 0)
		return -1;
	memcpy(d->tb + d->tn, p, n);
	d->tn += n;
	return 0;
}

static int
tb_fmt(struct vc_binxml *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
tb_fmt(struct vc_binxml *d, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (tb_grow(d, 64) < 0)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(d->tb + d->tn, d->tcap - d->tn, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= d->tcap - d->tn)
		return fail(d, "a value too long to print");
	d->tn += (size_t)n;
	return 0;
}

static size_t
utf8_of(unsigned long c, char *u)
{
	if (c < 0x80) {
		u[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		u[0] = (char)(0xC0 | (c >> 6));
		u[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		u[0] = (char)(0xE0 | (c >> 12));
		u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		u[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	u[0] = (char)(0xF0 | (c >> 18));
	u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	u[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	u[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/*
 * UTF-16LE of nbytes at p as UTF-8 into the text, up to a NUL; a lone
 * surrogate becomes U+FFFD.  Returns the bytes consumed (with the NUL).
 */
static long
tb_utf16(struct vc_binxml *d, const unsigned char *p, size_t nbytes)
{
	size_t i = 0, n = nbytes / 2;

	if (tb_grow(d, n * 3) < 0)
		return -1;
	while (i < n) {
		unsigned long c = u16(p + 2 * i++);

		if (c == 0)
			return (long)(2 * i);
		if (c >= 0xD800 && c < 0xDC00 && i < n) {
			unsigned long lo = u16(p + 2 * i);

			if (lo >= 0xDC00 && lo < 0xE000) {
				c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
				i++;
			} else
				c = 0xFFFD;
		} else if (c >= 0xD800 && c < 0xE000)
			c = 0xFFFD;
		if (c < 0x80)
			d->tb[d->tn++] = (char)c;
		else
			d->tn += utf8_of(c, d->tb + d->tn);
	}
	return (long)nbytes;
}

/* Windows-1252 (libevtx's default code page) as UTF-8, up to a NUL. */
static long
tb_ansi(struct vc_binxml *d, const unsigned char *p, size_t n)
{
	static const uint16_t hi[32] = {
		0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
		0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
		0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
		0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
	};

	if (tb_grow(d, n * 3) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned c = p[i];

		if (c == 0)
			return (long)(i + 1);
		if (c < 0x80)
			d->tb[d->tn++] = (char)c;
		else
			d->tn += utf8_of(c < 0xA0 ? hi[c - 0x80] : c, d->tb + d->tn);
	}
	return (long)n;
}

/* ---- the row's typed values -------------------------------------------------------- */

jv
vc_binxml_typed(const char *t, size_t n)
{
	size_t i = n > 0 && t[0] == '-' ? 1 : 0, d = n - i, k;

	if (d >= 1 && d <= 16 && (t[i] != '0' || d == 1)) {
		for (k = i; k < n && t[k] >= '0' && t[k] <= '9'; k++)
			;
		if (k == n) {
			char num[20];
			double v;

			memcpy(num, t, n);
			num[n] = '\0';
			v = strtod(num, NULL);
			if (v <= 9007199254740992.0 && v >= -9007199254740992.0)
				return jv_number(v);
		}
	}
	if (n > 3 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') && t[2] == '0') {
		for (k = 2; k < n && strchr("0123456789abcdefABCDEF", t[k]) != NULL; k++)
			;
		if (k == n) {
			for (k = 2; k + 1 < n && t[k] == '0'; k++)
				;
			jv s = jv_string_sized(t, 2);
			return jv_string_append_buf(s, t + k, (int)(n - k));
		}
	}
	return jv_string_sized(t, (int)n);
}

double
vc_binxml_systime(const char *t)
{
	struct tm tm;
	const char *p;
	double frac = 0, scale = 0.1;

	memset(&tm, 0, sizeof tm);
	if ((p = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	if (*p != 'Z' || p[1] != '\0')
		return -1;
	return (double)timegm(&tm) + frac;
}

/* ---- names ------------------------------------------------------------------------- */

static unsigned
name_flags(const char *s)
{
	static const struct { const char *s; unsigned f; } known[] = {
		{ "Event", F_EVENT }, { "Data", F_DATA }, { "EventData", F_EVDATA },
		{ "EventID", F_EVENTID }, { "TimeCreated", F_TIMECREATED }, { "xmlns", F_XMLNS },
		{ "Name", F_NAME }, { "SystemTime", F_SYSTEMTIME },
	};

	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(s, known[i].s) == 0)
			return known[i].f;
	return 0;
}

/*
 * The name structure at chunk offset off (next offset, hash, length,
 * UTF-16 text, NUL), cached; its size in *size.
 */
static const struct name *
name_at(struct vc_binxml *d, uint32_t off, size_t *size)
{
	size_t h = (off * 2654435761u) & (NAME_SLOTS - 1);
	struct name *nm;

	if (off < 512 || (size_t)off + 8 > CHUNK)
		return fail(d, "a name at offset %u, outside the chunk", off), NULL;
	size_t chars = u16(d->c + off + 6);
	if ((size_t)off + 8 + 2 * chars + 2 > CHUNK)
		return fail(d, "the name at offset %u runs past the chunk", off), NULL;
	*size = 8 + 2 * chars + 2;
	for (;;) {
		nm = &d->names[h];
		if (nm->off == off)
			return nm;
		if (nm->off == 0)
			break;
		h = (h + 1) & (NAME_SLOTS - 1);
	}
	if (d->nnames >= NAME_SLOTS / 2)
		return fail(d, "more than %d names in one chunk", NAME_SLOTS / 2), NULL;
	size_t t0 = d->tn;
	char *s;

	if (tb_utf16(d, d->c + off + 8, 2 * chars) < 0)
		return NULL;
	if ((s = arena_alloc(&d->chunk_arena, d->tn - t0 + 1)) == NULL)
		return fail(d, "out of memory"), NULL;
	memcpy(s, d->tb + t0, d->tn - t0);
	s[d->tn - t0] = '\0';
	d->tn = t0;
	if (s[0] == '\0')
		return fail(d, "an empty name at offset %u", off), NULL;
	nm->off = off;
	nm->s = s;
	nm->n = strlen(s);
	nm->flags = name_flags(s);
	nm->key = jv_string_sized(s, (int)nm->n);
	d->nnames++;
	return nm;
}

/*
 * A name reference at p (a 4-byte offset) in a fragment ending at end:
 * the name is defined right there when the offset is p's own end (then p
 * moves past it), else it is one defined earlier in the chunk.
 */
static const struct name *
name_ref(struct vc_binxml *d, size_t *p, size_t end)
{
	uint32_t off;
	const struct name *nm;
	size_t size;

	if (*p + 4 > end)
		return fail(d, "a name reference cut short at offset %zu", *p), NULL;
	off = u32(d->c + *p);
	*p += 4;
	if (off < *p) {
		return name_at(d, off, &size);
	}
	/* Here, or after data the reader skips (as libevtx does). */
	if (off >= end)
		return fail(d, "a name at offset %u, past its fragment", off), NULL;
	if ((nm = name_at(d, off, &size)) == NULL)
		return NULL;
	if ((size_t)off + size > end)
		return fail(d, "the name at offset %u runs past its fragment", off), NULL;
	*p = off + size;
	return nm;
}

/* ---- compiling binary XML into nodes ----------------------------------------------- */

static struct node *
new_node(struct vc_binxml *d, struct arena *a, int kind)
{
	struct node *n = arena_alloc(a, sizeof *n);

	if (n == NULL)
		return fail(d, "out of memory"), NULL;
	memset(n, 0, sizeof *n);
	n->kind = (unsigned char)kind;
	n->kept = a == &d->chunk_arena;
	n->val = jv_invalid();
	return n;
}

/* Literal text into a node: the text at the end of tb, from t0. */
static struct node *
text_node(struct vc_binxml *d, struct arena *a, size_t t0)
{
	struct node *n = new_node(d, a, N_TEXT);
	char *s;

	if (n == NULL)
		return NULL;
	if ((s = arena_alloc(a, d->tn - t0 + 1)) == NULL)
		return fail(d, "out of memory"), NULL;
	memcpy(s, d->tb + t0, d->tn - t0);
	s[d->tn - t0] = '\0';
	n->s = s;
	n->n = d->tn - t0;
	d->tn = t0;
	return n;
}

/* A value token (0x05) at p: its text as a node. */
static struct node *
c_value(struct vc_binxml *d, struct arena *a, size_t *p, size_t end)
{
	size_t t0 = d->tn, chars;

	if (*p + 4 > end)
		return fail(d, "a value cut short at offset %zu", *p), NULL;
	if (d->c[*p + 1] != 0x01)
		return fail(d, "a value of type 0x%02x at offset %zu (only text is known)", d->c[*p + 1], *p), NULL;
	chars = u16(d->c + *p + 2);
	if (*p + 4 + 2 * chars > end)
		return fail(d, "a value of %zu characters runs past its fragment at offset %zu", chars, *p), NULL;
	if (tb_utf16(d, d->c + *p + 4, 2 * chars) < 0)
		return NULL;
	*p += 4 + 2 * chars;
	return text_node(d, a, t0);
}

static struct node *
c_subst(struct vc_binxml *d, struct arena *a, size_t *p, size_t end)
{
	struct node *n;

	if (*p + 4 > end)
		return fail(d, "a substitution cut short at offset %zu", *p), NULL;
	if ((n = new_node(d, a, N_SUBST)) == NULL)
		return NULL;
	n->optional = d->c[*p] == 0x0E;
	n->idx = u16(d->c + *p + 1);
	*p += 4;
	return n;
}

/*
 * The element whose start token is at *p, within [*p, end): deps says
 * whether start tags carry a dependency identifier (they do but in a
 * binary XML value that starts with an element).
 */
static struct node *
c_elem(struct vc_binxml *d, struct arena *a, size_t *pp, size_t end, int deps, int depth)
{
	size_t p = *pp;
	unsigned char tok = d->c[p];
	struct node *e, **attr_tail, **kid_tail;

	if (depth > MAX_DEPTH)
		return fail(d, "elements nested too deep at offset %zu", p), NULL;
	if (++d->elems > MAX_ELEMS)
		return fail(d, "more than %d elements in one record", MAX_ELEMS), NULL;
	if ((e = new_node(d, a, N_ELEM)) == NULL)
		return NULL;
	p += 1 + (deps ? 2 : 0) + 4;    /* token, dependency id, size */
	if (p > end || (e->name = name_ref(d, &p, end)) == NULL)
		return fail(d, "an element cut short at offset %zu", *pp), NULL;
	attr_tail = &e->attrs;
	if (tok & 0x40) {
		size_t aend;

		if (p + 4 > end)
			return fail(d, "an attribute list cut short at offset %zu", p), NULL;
		aend = p + 4 + u32(d->c + p);
		p += 4;
		if (aend > end)
			return fail(d, "an attribute list runs past its element at offset %zu", p), NULL;
		while (p < aend) {
			struct node *at, *v;

			if ((d->c[p] & 0xBF) != 0x06)
				return fail(d, "token 0x%02x in an attribute list at offset %zu", d->c[p], p), NULL;
			p++;
			if ((at = new_node(d, a, N_ATTR)) == NULL || (at->name = name_ref(d, &p, aend)) == NULL)
				return NULL;
			if (p >= aend)
				return fail(d, "an attribute without a value at offset %zu", p), NULL;
			switch (d->c[p] & 0xBF) {
			case 0x05:
				v = c_value(d, a, &p, aend);
				break;
			case 0x0D: case 0x0E:
				v = c_subst(d, a, &p, aend);
				break;
			default:
				return fail(d, "token 0x%02x as an attribute's value at offset %zu", d->c[p], p), NULL;
			}
			if (v == NULL)
				return NULL;
			at->kids = v;
			*attr_tail = at;
			attr_tail = &at->next;
		}
	}
	if (p >= end)
		return fail(d, "an element cut short at offset %zu", *pp), NULL;
	if (d->c[p] == 0x03) {
		*pp = p + 1;
		return e;
	}
	if (d->c[p] != 0x02)
		return fail(d, "token 0x%02x where a start tag closes at offset %zu", d->c[p], p), NULL;
	p++;
	kid_tail = &e->kids;
	for (;;) {
		struct node *k;
		size_t t0 = d->tn;

		if (p >= end)
			return fail(d, "an element without its end at offset %zu", *pp), NULL;
		switch (d->c[p] & 0xBF) {
		case 0x04:
			*pp = p + 1;
			return e;
		case 0x01:
			k = c_elem(d, a, &p, end, deps, depth + 1);
			break;
		case 0x05:
			k = c_value(d, a, &p, end);
			break;
		case 0x0D: case 0x0E:
			k = c_subst(d, a, &p, end);
			break;
		case 0x08:
			if (p + 3 > end)
				return fail(d, "a character reference cut short at offset %zu", p), NULL;
			{
				unsigned long c = u16(d->c + p + 1);
				char u[4];

				if (c == 0 || (c >= 0xD800 && c < 0xE000))
					return fail(d, "a bad character reference at offset %zu", p), NULL;
				if (tb_put(d, u, utf8_of(c, u)) < 0)
					return NULL;
			}
			p += 3;
			k = text_node(d, a, t0);
			break;
		case 0x09: {
			static const struct { const char *n; const char *c; } ents[] = {
				{ "lt", "<" }, { "gt", ">" }, { "amp", "&" }, { "quot", "\"" }, { "apos", "'" },
			};
			const struct name *nm;
			size_t i;

			p++;
			if ((nm = name_ref(d, &p, end)) == NULL)
				return NULL;
			for (i = 0; i < sizeof ents / sizeof ents[0] && strcmp(nm->s, ents[i].n) != 0; i++)
				;
			if (i == sizeof ents / sizeof ents[0])
				return fail(d, "an unknown entity &%s; at offset %zu", nm->s, p), NULL;
			if (tb_put(d, ents[i].c, 1) < 0)
				return NULL;
			k = text_node(d, a, t0);
			break;
		}
		case 0x07: case 0x0A: case 0x0B:
			return fail(d, "CDATA and processing instructions are not read (offset %zu)", p), NULL;
		default:
			return fail(d, "token 0x%02x in an element at offset %zu", d->c[p], p), NULL;
		}
		if (k == NULL)
			return NULL;
		*kid_tail = k;
		kid_tail = &k->next;
	}
}

/* A template definition at off: its element tree, compiled once a chunk. */
static const struct node *
template_at(struct vc_binxml *d, uint32_t off)
{
	size_t h = (off * 2654435761u) & (TPL_SLOTS - 1), p, end;
	struct tpl *t;
	struct arena *a = &d->chunk_arena;

	for (;;) {
		t = &d->tpls[h];
		if (t->off == off) {
			if (t->root == NULL)
				return fail(d, "the template at offset %u cannot be read", off), NULL;
			return t->root;
		}
		if (t->off == 0)
			break;
		h = (h + 1) & (TPL_SLOTS - 1);
	}
	/* Not cached when the table is full: compiled for this record. */
	if (d->ntpls >= TPL_SLOTS / 2) {
		t = NULL;
		a = &d->rec_arena;
	}
	if (off < 512 || (size_t)off + 24 > CHUNK)
		return fail(d, "a template at offset %u, outside the chunk", off), NULL;
	p = (size_t)off + 24;
	end = p + u32(d->c + off + 20);
	if (end > CHUNK)
		end = CHUNK;
	struct node *root = NULL;

	if (p + 4 <= end && d->c[p] == 0x0F)
		p += 4;
	if (p < end && (d->c[p] & 0xBF) == 0x01)
		root = c_elem(d, a, &p, end, 1, 0);
	else
		fail(d, "the template at offset %u has no element", off);
	if (t != NULL) {
		t->off = off;
		t->root = root;
		d->ntpls++;
	}
	return root;
}

/* ---- instantiating: nodes and values into the row ---------------------------------- */

static int i_fragment(struct vc_binxml *d, size_t p, size_t end, int deps, struct eb *parent, int depth);

/* put_child of vc_evtx_xml_row: a second child of a name makes a list. */
static void
put_child(jv *obj, jv k, jv v)
{
	jv old = jv_object_get(jv_copy(*obj), jv_copy(k));

	if (!jv_is_valid(old)) {
		jv_free(old);
		*obj = jv_object_set(*obj, k, v);
	} else if (jv_get_kind(old) == JV_KIND_ARRAY) {
		*obj = jv_object_set(*obj, k, jv_array_append(old, v));
	} else {
		*obj = jv_object_set(*obj, k, JV_ARRAY(old, v));
	}
}

static int
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

static const char *const hexd = "0123456789ABCDEF";

/*
 * Value v as text at the end of tb, as libevtx prints it.  An array
 * value prints its item at *aoff and moves *aoff on (to 0 after the
 * last).  *num is set, and 1 returned, for an integer a double holds
 * exactly (what vc_binxml_typed would make of its text); else 0, or -1.
 */
static int
r_value(struct vc_binxml *d, const struct val *v, size_t *aoff, double *num)
{
	const unsigned char *p = v->p;
	size_t n = v->size, isz = 0;
	unsigned char t = v->type;
	int array = (t & 0x80) != 0;

	if (array) {
		if (*aoff >= n)
			return fail(d, "an array value read past its end"), -1;
		p += *aoff;
		n -= *aoff;
	}
	switch (t & 0x7F) {
	case 0x01: {
		long used = tb_utf16(d, p, n);

		if (used < 0)
			return -1;
		isz = array ? (size_t)(used ? used : 2) : n;
		break;
	}
	case 0x02: {
		long used = tb_ansi(d, p, n);

		if (used < 0)
			return -1;
		isz = array ? (size_t)(used ? used : 1) : n;
		break;
	}
	case 0x03: case 0x04: case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0A:
	case 0x10: {
		static const unsigned char sz[] = { 1, 1, 2, 2, 4, 4, 8, 8 };
		int sgn;

		if ((t & 0x7F) == 0x10) {
			isz = n == 4 || n == 8 ? n : 0;
			sgn = 0;
		} else {
			isz = sz[(t & 0x7F) - 3];
			sgn = (t & 1) != 0;
		}
		if (isz == 0 || n < isz || (!array && n != isz))
			return fail(d, "an integer value of %zu bytes (type 0x%02x)", n, t), -1;
		uint64_t u = isz == 1 ? p[0] : isz == 2 ? u16(p) : isz == 4 ? u32(p) : u64(p);
		if (sgn) {
			int64_t s = isz == 1 ? (int8_t)u : isz == 2 ? (int16_t)u : isz == 4 ? (int32_t)u : (int64_t)u;

			if (tb_grow(d, 21) < 0)
				return -1;
			d->tn += vc_fmt_i64(d->tb + d->tn, s);
			if (s <= 9007199254740992LL && s >= -9007199254740992LL) {
				*num = (double)s;
				goto item_num;
			}
		} else {
			if (tb_grow(d, 21) < 0)
				return -1;
			d->tn += vc_fmt_u64(d->tb + d->tn, u);
			if (u <= 9007199254740992ULL) {
				*num = (double)u;
				goto item_num;
			}
		}
		break;
	item_num:
		if (array && (*aoff += isz) >= v->size)
			*aoff = 0;
		return 1;
	}
	case 0x14: case 0x15:
		isz = (t & 0x7F) == 0x14 ? 4 : 8;
		if (n < isz || (!array && n != isz))
			return fail(d, "a hex integer value of %zu bytes", n), -1;
		if ((isz == 4 ? tb_fmt(d, "0x%08x", (unsigned)u32(p)) :
		    tb_fmt(d, "0x%016llx", (unsigned long long)u64(p))) < 0)
			return -1;
		break;
	case 0x0B: case 0x0C:
		isz = (t & 0x7F) == 0x0B ? 4 : 8;
		if (n < isz || (!array && n != isz))
			return fail(d, "a floating point value of %zu bytes", n), -1;
		{
			double f;

			if (isz == 4) {
				float g;
				uint32_t w = u32(p);

				memcpy(&g, &w, 4);
				f = g;
			} else {
				uint64_t w = u64(p);

				memcpy(&f, &w, 8);
			}
			if (tb_fmt(d, "%.6e", f) < 0)
				return -1;
		}
		break;
	case 0x0D:
		isz = 4;
		if (n < isz || (!array && n != isz))
			return fail(d, "a boolean value of %zu bytes", n), -1;
		if (tb_put(d, u32(p) ? "true" : "false", u32(p) ? 4 : 5) < 0)
			return -1;
		break;
	case 0x0E:
		if (array)
			return fail(d, "an array of binary values"), -1;
		isz = n;
		if (tb_grow(d, 2 * n) < 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			d->tb[d->tn++] = hexd[p[i] >> 4];
			d->tb[d->tn++] = hexd[p[i] & 15];
		}
		break;
	case 0x0F:
		isz = 16;
		if (n < isz || (!array && n != isz))
			return fail(d, "a GUID value of %zu bytes", n), -1;
		if (tb_fmt(d, "{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}", (unsigned)u32(p),
		    u16(p + 4), u16(p + 6), p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15]) < 0)
			return -1;
		break;
	case 0x11: case 0x12: {
		int y, mo, dd, h, mi, s;
		long sub;

		isz = (t & 0x7F) == 0x11 ? 8 : 16;
		if (n < isz || (!array && n != isz))
			return fail(d, "a time value of %zu bytes", n), -1;
		if (isz == 8) {
			uint64_t ft = u64(p);
			uint64_t secs = ft / 10000000u;
			long long days = (long long)(secs / 86400) - 134774;    /* to 1970 */
			unsigned rem = (unsigned)(secs % 86400);
			/* Civil from days (H. Hinnant). */
			long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
			unsigned doe = (unsigned)(z - era * 146097);
			unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
			unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
			unsigned mp = (5 * doy + 2) / 153;

			dd = (int)(doy - (153 * mp + 2) / 5 + 1);
			mo = (int)(mp < 10 ? mp + 3 : mp - 9);
			y = (int)(yoe + era * 400 + (mo <= 2));
			h = (int)(rem / 3600);
			mi = (int)(rem / 60 % 60);
			s = (int)(rem % 60);
			sub = (long)(ft % 10000000u) * 100;
			if (tb_fmt(d, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", y, mo, dd, h, mi, s, sub) < 0)
				return -1;
		} else {
			y = u16(p);
			mo = u16(p + 2);
			dd = u16(p + 6);
			h = u16(p + 8);
			mi = u16(p + 10);
			s = u16(p + 12);
			sub = u16(p + 14);
			if (tb_fmt(d, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", y, mo, dd, h, mi, s, sub) < 0)
				return -1;
		}
		break;
	}
	case 0x13: {
		if (array)
			return fail(d, "an array of SIDs"), -1;
		if (n < 8 || n < 8 + 4 * (size_t)p[1])
			return fail(d, "a SID of %zu bytes", n), -1;
		uint64_t auth = 0;

		for (int i = 2; i < 8; i++)
			auth = auth << 8 | p[i];
		if (tb_fmt(d, "S-%u-%llu", p[0], (unsigned long long)auth) < 0)
			return -1;
		for (int i = 0; i < p[1]; i++)
			if (tb_fmt(d, "-%u", (unsigned)u32(p + 8 + 4 * i)) < 0)
				return -1;
		isz = n;
		break;
	}
	default:
		return fail(d, "a value of type 0x%02x, which is not read", t), -1;
	}
	if (array && (*aoff += isz) >= v->size)
		*aoff = 0;
	return 0;
}

static const struct val *
getv(struct vc_binxml *d, const struct vals *vs, unsigned idx)
{
	if (vs == NULL || idx >= vs->n)
		return fail(d, "substitution %u of %u values", idx, vs ? vs->n : 0), NULL;
	return &vs->v[idx];
}

/*
 * The pieces of text at kids (text and substitutions) rendered into tb,
 * as a row value: a number when the text is exactly one integer.
 */
static int
render(struct vc_binxml *d, const struct node *kids, const struct vals *vs, size_t *aoff,
    int *isnum, double *num)
{
	int pieces = 0;
	size_t t0 = d->tn;

	*isnum = 0;
	for (const struct node *k = kids; k != NULL; k = k->next) {
		if (k->kind == N_TEXT) {
			if (tb_put(d, k->s, k->n) < 0)
				return -1;
			pieces++;
		} else if (k->kind == N_SUBST) {
			const struct val *v = getv(d, vs, k->idx);
			int r;

			if (v == NULL)
				return -1;
			if (v->type == 0x00 || v->type == 0x21)
				continue;
			if ((r = r_value(d, v, (v->type & 0x80) ? aoff : &(size_t){ 0 }, num)) < 0)
				return -1;
			*isnum = r == 1 && pieces == 0;
			pieces++;
		}
	}
	if (pieces > 1)
		*isnum = 0;
	if ((d->total += d->tn - t0) > MAX_TEXT)
		return fail(d, "more than %u bytes of text in one record", MAX_TEXT);
	return 0;
}

static jv
text_value(struct vc_binxml *d, size_t t0, int isnum, double num)
{
	return isnum ? jv_number(num) : vc_binxml_typed(d->tb + t0, d->tn - t0);
}

/* Element e's row value, made, into parent (the rules of elem()). */
static void
deliver(struct eb *parent, const struct name *name, jv v)
{
	if (parent->root) {
		if (parent->got == NULL) {
			parent->got = name;
			parent->row = v;
		} else
			jv_free(v);
		return;
	}
	parent->kids++;
	put_child(&parent->obj, jv_copy(name->key), v);
}

static int
i_elem(struct vc_binxml *d, const struct node *e, const struct vals *vs, struct eb *parent, int depth)
{
	const unsigned f = e->name->flags;
	int has_value = 0, keep = 1, iter = 0;
	size_t aoff = 0;

	if (depth > MAX_DEPTH)
		return fail(d, "elements nested too deep");
	/* libevtx keeps an element whose last substitution is not null, and
	 * prints either its value (text and substitutions) or its children. */
	for (const struct node *k = e->kids; k != NULL; k = k->next) {
		if (k->kind == N_TEXT)
			has_value = 1;
		else if (k->kind == N_SUBST) {
			const struct val *v = getv(d, vs, k->idx);

			if (v == NULL)
				return -1;
			keep = v->type != 0x00;
			if (v->type != 0x00 && v->type != 0x21)
				has_value = 1;
		}
	}
	if (!keep)
		return 0;
	do {
		struct eb b = { .name = e->name, .obj = jv_object(), .dname = jv_invalid() };
		size_t t0 = d->tn;
		int has_text = 0, isnum = 0;
		double num = 0;

		if (++d->elems > MAX_ELEMS || ++iter > 65536) {
			jv_free(b.obj);
			return fail(d, "more than %d elements in one record", MAX_ELEMS);
		}
		for (const struct node *a = e->attrs; a != NULL; a = a->next) {
			const struct val *v = NULL;
			size_t ao = 0;

			if (a->kids->kind == N_SUBST) {
				if ((v = getv(d, vs, a->kids->idx)) == NULL)
					goto bad;
				if (v->type == 0x00)
					continue;
				if (v->type == 0x21) {
					fail(d, "binary XML as an attribute's value");
					goto bad;
				}
			}
			/* A literal value (most names of Data) is made once a chunk. */
			if (jv_is_valid(a->val)) {
				b.na++;
				if ((a->name->flags & F_NAME) && (f & F_DATA)) {
					jv_free(b.dname);
					b.dname = jv_copy(a->val);
				} else if (!((a->name->flags & F_NAME) && (f & F_EVDATA)))
					b.obj = jv_object_set(b.obj, jv_copy(a->name->key), jv_copy(a->val));
				continue;
			}
			do {
				int anum;
				double an;
				jv av;

				if (render(d, a->kids, vs, &ao, &anum, &an) < 0)
					goto bad;
				b.na++;
				if (a->name->flags & F_XMLNS) {
					d->tn = t0;
					continue;
				}
				av = text_value(d, t0, anum, an);
				if (a->kept && a->kids->kind == N_TEXT && a->kids->next == NULL &&
				    !(a->name->flags & F_SYSTEMTIME)) {
					/* d->kept holds it; the node borrows it. */
					((struct node *)a)->val = jv_copy(av);
					d->kept = jv_array_append(d->kept, a->val);
				}
				if ((a->name->flags & F_SYSTEMTIME) && (f & F_TIMECREATED) &&
				    jv_get_kind(av) == JV_KIND_STRING) {
					double st;

					if (tb_put(d, "", 1) < 0) {
						jv_free(av);
						goto bad;
					}
					if ((st = vc_binxml_systime(d->tb + t0)) >= 0) {
						jv_free(av);
						av = jv_number(st);
					}
				}
				d->tn = t0;
				if ((a->name->flags & F_NAME) && (f & (F_DATA | F_EVDATA))) {
					if (f & F_DATA) {
						jv_free(b.dname);
						b.dname = av;
					} else
						jv_free(av);
					continue;
				}
				b.obj = jv_object_set(b.obj, jv_copy(a->name->key), av);
			} while (ao > 0 && !d->failed);
		}
		if (has_value) {
			if (render(d, e->kids, vs, &aoff, &isnum, &num) < 0)
				goto bad;
			has_text = !blank(d->tb + t0, d->tn - t0);
		} else {
			for (const struct node *k = e->kids; k != NULL; k = k->next) {
				int rc = 0;

				if (k->kind == N_ELEM)
					rc = i_elem(d, k, vs, &b, depth + 1);
				else if (k->kind == N_SUBST) {
					const struct val *v = getv(d, vs, k->idx);

					if (v == NULL)
						rc = -1;
					else if (v->type == 0x21 && v->size > 0)
						rc = i_fragment(d, (size_t)(v->p - d->c), (size_t)(v->p - d->c) + v->size,
						    -1, &b, depth + 1);
				}
				if (rc < 0)
					goto bad;
			}
		}
		/* The element's value in the row. */
		jv tv = has_text ? text_value(d, t0, isnum, num) : jv_invalid();

		if ((f & F_DATA) && (parent->name != NULL && (parent->name->flags & F_EVDATA))) {
			/* <Data Name="N">t</Data> in EventData: N: t. */
			jv_free(b.obj);
			if (!jv_is_valid(tv)) {
				jv_free(tv);
				tv = jv_null();
			}
			parent->kids++;
			if (jv_get_kind(b.dname) == JV_KIND_STRING)
				parent->obj = jv_object_set(parent->obj, b.dname, tv);
			else {
				jv_free(b.dname);
				put_child(&parent->obj, jv_string("Data"), tv);
			}
		} else {
			jv out;

			if (f & F_DATA) {
				if (jv_get_kind(b.dname) == JV_KIND_STRING)
					b.obj = jv_object_set(b.obj, jv_string("#name"), b.dname);
				else
					jv_free(b.dname);
				if (jv_is_valid(tv))
					b.obj = jv_object_set(b.obj, jv_string("#text"), tv);
				else
					jv_free(tv);
				out = b.obj;
			} else if (f & F_EVENTID) {
				jv_free(b.dname);
				if (jv_is_valid(tv))
					b.obj = jv_object_set(b.obj, jv_string("Value"), tv);
				else
					jv_free(tv);
				out = b.obj;
			} else if (b.na == 0 && b.kids == 0) {
				jv_free(b.dname);
				jv_free(b.obj);
				out = jv_is_valid(tv) ? tv : (jv_free(tv), jv_null());
			} else {
				jv_free(b.dname);
				if (jv_is_valid(tv)) {
					jv_free(tv);
					/* The text as it is, not typed. */
					tv = jv_string_sized(d->tb + t0, (int)(d->tn - t0));
					b.obj = jv_object_set(b.obj, jv_string("Value"), tv);
				} else
					jv_free(tv);
				out = b.obj;
			}
			deliver(parent, e->name, out);
		}
		d->tn = t0;
		continue;
bad:
		d->tn = t0;
		jv_free(b.obj);
		jv_free(b.dname);
		return -1;
	} while (aoff > 0);
	return 0;
}

/* The values of a template instance at *p: count, descriptors, data. */
static int
read_vals(struct vc_binxml *d, size_t *p, size_t end, struct vals *vs)
{
	uint32_t n;
	struct val *v;
	size_t data;

	if (*p + 4 > end)
		return fail(d, "template values cut short at offset %zu", *p);
	n = u32(d->c + *p);
	if (n > (end - *p - 4) / 4)
		return fail(d, "%u template values at offset %zu, more than the record holds", n, *p);
	data = *p + 4 + 4 * (size_t)n;
	if ((v = arena_alloc(&d->rec_arena, (n ? n : 1) * sizeof *v)) == NULL)
		return fail(d, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		const unsigned char *q = d->c + *p + 4 + 4 * i;

		v[i].size = u16(q);
		v[i].type = q[2];
		v[i].p = d->c + data;
		if (data + v[i].size > end)
			return fail(d, "template value %u runs past the record", i);
		data += v[i].size;
	}
	vs->v = v;
	vs->n = n;
	*p = data;
	return 0;
}

/* A template instance at *p into parent. */
static int
i_template(struct vc_binxml *d, size_t *p, size_t end, struct eb *parent, int depth)
{
	uint32_t def;
	const struct node *root;
	struct vals vs;

	if (*p + 10 > end)
		return fail(d, "a template instance cut short at offset %zu", *p);
	def = u32(d->c + *p + 6);
	*p += 10;
	if (def >= *p && def < end) {
		/* Defined here (after data the reader skips, if any). */
		if ((size_t)def + 24 > end)
			return fail(d, "a template definition cut short at offset %u", def);
		*p = (size_t)def + 24 + u32(d->c + def + 20);
		if (*p > end)
			return fail(d, "a template definition runs past its record at offset %u", def);
	} else if (def >= *p)
		return fail(d, "a template at offset %u, past its record", def);
	if ((root = template_at(d, def)) == NULL)
		return -1;
	if (read_vals(d, p, end, &vs) < 0)
		return -1;
	return i_elem(d, root, &vs, parent, depth);
}

/*
 * Binary XML in [p, end) into parent: a fragment (header, then a
 * template instance or an element), a template instance, or elements.
 * deps < 0: a value's binary XML, whose first element (when it does not
 * start with a fragment header) has no dependency identifiers.
 */
static int
i_fragment(struct vc_binxml *d, size_t p, size_t end, int deps, struct eb *parent, int depth)
{
	if (depth > MAX_DEPTH)
		return fail(d, "binary XML nested too deep");
	if (deps < 0)
		deps = !(p < end && (d->c[p] & 0xBF) == 0x01);
	while (p < end) {
		switch (d->c[p] & 0xBF) {
		case 0x00:
			return 0;
		case 0x0F:
			if (p + 4 > end)
				return fail(d, "a fragment header cut short at offset %zu", p);
			p += 4;
			break;
		case 0x0C:
			if (i_template(d, &p, end, parent, depth) < 0)
				return -1;
			break;
		case 0x01: {
			struct node *e = c_elem(d, &d->rec_arena, &p, end, deps, depth);

			if (e == NULL || i_elem(d, e, NULL, parent, depth) < 0)
				return -1;
			break;
		}
		default:
			return fail(d, "token 0x%02x at offset %zu", d->c[p], p);
		}
	}
	return 0;
}

/* ---- chunks and records ------------------------------------------------------------ */

struct vc_binxml *
vc_binxml_new(void)
{
	struct vc_binxml *d = calloc(1, sizeof *d);

	if (d != NULL)
		d->kept = jv_array();
	return d;
}

static void
reset(struct vc_binxml *d)
{
	for (size_t i = 0; i < NAME_SLOTS && d->nnames > 0; i++)
		if (d->names[i].off != 0) {
			jv_free(d->names[i].key);
			d->nnames--;
		}
	memset(d->names, 0, sizeof d->names);
	memset(d->tpls, 0, sizeof d->tpls);
	jv_free(d->kept);
	d->kept = jv_array();
	d->nnames = d->ntpls = 0;
	arena_reset(&d->chunk_arena);
	arena_reset(&d->rec_arena);
}

void
vc_binxml_free(struct vc_binxml *d)
{
	if (d == NULL)
		return;
	reset(d);
	jv_free(d->kept);
	arena_free(&d->chunk_arena);
	arena_free(&d->rec_arena);
	free(d->tb);
	free(d);
}

int
vc_binxml_load(struct vc_binxml *d, const unsigned char *c, char *err, size_t errn)
{
	uint32_t fso, hcrc;

	reset(d);
	d->c = c;
	d->stop = 1;
	d->damaged = NULL;
	if (memcmp(c, "ElfChnk", 8) != 0) {
		snprintf(err, errn, "no chunk signature");
		return -1;
	}
	hcrc = (uint32_t)crc32(crc32(0, c, 120), c + 128, 512 - 128);
	fso = u32(c + 48);
	if (hcrc != u32(c + 124)) {
		snprintf(d->dmsg, sizeof d->dmsg, "its header checksum is %08x, not %08x", hcrc, u32(c + 124));
		d->damaged = d->dmsg;
	}
	if (fso < 512 || fso > CHUNK) {
		if (d->damaged == NULL) {
			snprintf(d->dmsg, sizeof d->dmsg, "its free space offset %u is outside it", fso);
			d->damaged = d->dmsg;
		}
		fso = CHUNK;
	} else if (d->damaged == NULL) {
		uint32_t rcrc = (uint32_t)crc32(0, c + 512, fso - 512);

		if (rcrc != u32(c + 52)) {
			snprintf(d->dmsg, sizeof d->dmsg, "its records' checksum is %08x, not %08x", rcrc,
			    u32(c + 52));
			d->damaged = d->dmsg;
		}
	}
	d->pos = 512;
	d->limit = fso;
	d->stop = 0;
	return 0;
}

const char *
vc_binxml_damaged(const struct vc_binxml *d)
{
	return d->damaged;
}

int
vc_binxml_next(struct vc_binxml *d, jv *row, uint64_t *id, char *err, size_t errn)
{
	const unsigned char *r;
	uint32_t size, at = d->pos;
	struct eb top = { .root = 1, .row = jv_invalid() };

	*row = jv_invalid();
	*id = 0;
	if (d->stop || (size_t)at + 24 > d->limit)
		return 0;
	r = d->c + at;
	d->err = err;
	d->errn = errn;
	d->failed = 0;
	d->elems = 0;
	d->total = 0;
	d->tn = 0;
	arena_reset(&d->rec_arena);
	if (u32(r) != 0x00002A2A) {
		d->stop = 1;
		/* Zeros after the last record: the chunk's unused end. */
		if (u32(r) == 0 && u32(r + 4) == 0)
			return 0;
		snprintf(err, errn, "no record at offset %u of the chunk", at);
		return -1;
	}
	size = u32(r + 4);
	if (size < 28 || size > d->limit - at || u32(r + size - 4) != size) {
		d->stop = 1;
		snprintf(err, errn, "the record at offset %u of the chunk has a bad size (%u)", at, size);
		return -1;
	}
	*id = u64(r + 8);
	d->pos = at + size;
	if (i_fragment(d, (size_t)at + 24, (size_t)at + size - 4, 1, &top, 0) < 0) {
		jv_free(top.row);
		return -1;
	}
	if (top.got == NULL) {
		snprintf(err, errn, "no element in the record");
		return -1;
	}
	if (!(top.got->flags & F_EVENT) || jv_get_kind(top.row) != JV_KIND_OBJECT) {
		snprintf(err, errn, "the record is <%s>, not <Event>", top.got->s);
		jv_free(top.row);
		return -1;
	}
	/* An EventData without Data elements is {} rather than null. */
	jv ed = jv_object_get(jv_copy(top.row), jv_string("EventData"));

	if (jv_get_kind(ed) == JV_KIND_NULL)
		top.row = jv_object_set(top.row, jv_string("EventData"), jv_object());
	jv_free(ed);
	*row = top.row;
	return 1;
}
