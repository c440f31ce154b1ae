/* SPDX-License-Identifier: MIT */
/*
 * evtx.c - EVTX files as parse_evtx() rows (see evtx.h): files, a
 * directory walked, ZIP archives read in place, chunk by chunk; each
 * chunk's records decoded by json/binxml.c.  Also a small XML reader,
 * vc_evtx_xml_row, that makes the same row out of a record's XML as
 * libevtx renders it: the reference the decoder is tested against
 * (tests/unit/t_evtx.c).  It takes only what libevtx writes (elements,
 * attributes, text, the five entities and character references; no DTD,
 * no CDATA) and refuses the rest.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json/binxml.h"
#include "json/evtx.h"
#include "json/jdump.h"
#include "json/zip.h"

#define MAX_DEPTH 32

int
vc_evtx_is_file(const char *path)
{
	struct stat st;
	char sig[8];
	FILE *f;
	int is;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (f = fopen(path, "rb")) == NULL)
		return 0;
	is = fread(sig, 1, 8, f) == 8 && memcmp(sig, "ElfFile", 8) == 0;
	fclose(f);
	return is;
}

/* ---- XML text to a row ---------------------------------------------------- */

struct xp {
	const char *s, *end;
	const char *err;
	char *tbuf;             /* decoded text */
	size_t tlen, tcap;
};

static void
skip_ws(struct xp *x)
{
	while (x->s < x->end && (*x->s == ' ' || *x->s == '\t' || *x->s == '\r' || *x->s == '\n'))
		x->s++;
}

static int
name_char(char c)
{
	return c != '\0' && !strchr(" \t\r\n/>=<\"'&", c);
}

static int
tput(struct xp *x, const char *p, size_t n)
{
	if (x->tlen + n + 1 > x->tcap) {
		size_t cap = x->tcap ? x->tcap : 256;
		char *b;

		while (cap < x->tlen + n + 1)
			cap *= 2;
		if ((b = realloc(x->tbuf, cap)) == NULL) {
			x->err = "out of memory";
			return -1;
		}
		x->tbuf = b;
		x->tcap = cap;
	}
	memcpy(x->tbuf + x->tlen, p, n);
	x->tlen += n;
	x->tbuf[x->tlen] = '\0';
	return 0;
}

/* UTF-8 of code point c. */
static int
tput_cp(struct xp *x, unsigned long c)
{
	char u[4];
	size_t n;

	if (c == 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
		x->err = "bad character reference";
		return -1;
	}
	if (c < 0x80) {
		u[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xC0 | (c >> 6));
		u[1] = (char)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (char)(0xE0 | (c >> 12));
		u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		u[2] = (char)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (c >> 18));
		u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3F));
		u[3] = (char)(0x80 | (c & 0x3F));
		n = 4;
	}
	return tput(x, u, n);
}

/* Decoded text up to stop ('<' for content, the quote for a value). */
static int
text_until(struct xp *x, char stop)
{
	static const struct { const char *e; char c; } ents[] = {
		{ "lt;", '<' }, { "gt;", '>' }, { "amp;", '&' }, { "quot;", '"' }, { "apos;", '\'' },
	};

	x->tlen = 0;
	if (tput(x, "", 0) < 0)
		return -1;
	while (x->s < x->end && *x->s != stop) {
		const char *run = x->s;

		while (x->s < x->end && *x->s != stop && *x->s != '&')
			x->s++;
		if (x->s > run && tput(x, run, (size_t)(x->s - run)) < 0)
			return -1;
		if (x->s >= x->end || *x->s != '&')
			continue;
		x->s++;
		if (x->s < x->end && *x->s == '#') {
			int hex = x->s + 1 < x->end && x->s[1] == 'x';
			unsigned long c = 0;
			int digits = 0;

			x->s += 1 + hex;
			for (; x->s < x->end && *x->s != ';' && digits < 8; x->s++, digits++) {
				char d = *x->s;
				int v = d >= '0' && d <= '9' ? d - '0' : hex && d >= 'a' && d <= 'f' ? d - 'a' + 10 :
				    hex && d >= 'A' && d <= 'F' ? d - 'A' + 10 : -1;

				if (v < 0)
					break;
				c = c * (hex ? 16 : 10) + (unsigned long)v;
			}
			if (digits == 0 || x->s >= x->end || *x->s != ';') {
				x->err = "bad character reference";
				return -1;
			}
			x->s++;
			if (tput_cp(x, c) < 0)
				return -1;
			continue;
		}
		size_t i;
		for (i = 0; i < sizeof ents / sizeof ents[0]; i++) {
			size_t l = strlen(ents[i].e);

			if ((size_t)(x->end - x->s) >= l && memcmp(x->s, ents[i].e, l) == 0) {
				x->s += l;
				if (tput(x, &ents[i].c, 1) < 0)
					return -1;
				break;
			}
		}
		if (i == sizeof ents / sizeof ents[0]) {
			x->err = "unknown entity";
			return -1;
		}
	}
	return 0;
}

struct attr {
	char name[64];
	jv val;
};
#define MAX_ATTRS 16

/*
 * One element, its start tag's '<' already consumed, as jv:
 *   - in EventData, <Data Name="X">t</Data> goes into parent as X: t;
 *   - a leaf without attributes is its typed text (null when empty);
 *   - otherwise an object of the attributes, the children by name, and
 *     the text as "Value".
 * Children of the same name after the first make a list.
 */
static jv elem(struct xp *x, int depth, char *name, size_t namen);

static void
put_child(jv *obj, const char *k, jv v)
{
	jv old = jv_object_get(jv_copy(*obj), jv_string(k));

	if (!jv_is_valid(old)) {
		jv_free(old);
		*obj = jv_object_set(*obj, jv_string(k), v);
	} else if (jv_get_kind(old) == JV_KIND_ARRAY) {
		*obj = jv_object_set(*obj, jv_string(k), jv_array_append(old, v));
	} else {
		*obj = jv_object_set(*obj, jv_string(k), JV_ARRAY(old, v));
	}
}

static jv
elem(struct xp *x, int depth, char *name, size_t namen)
{
	struct attr at[MAX_ATTRS];
	int na = 0, kids = 0, is_data, in_evdata;
	jv obj = jv_object(), text = jv_invalid();
	const char *p = x->s;
	size_t n;

	if (depth > MAX_DEPTH) {
		x->err = "elements nested too deep";
		goto bad;
	}
	while (x->s < x->end && name_char(*x->s))
		x->s++;
	n = (size_t)(x->s - p);
	if (n == 0 || n >= namen) {
		x->err = "bad element name";
		goto bad;
	}
	memcpy(name, p, n);
	name[n] = '\0';
	/* Attributes. */
	for (;;) {
		skip_ws(x);
		if (x->s >= x->end) {
			x->err = "unterminated start tag";
			goto bad;
		}
		if (*x->s == '/' || *x->s == '>')
			break;
		p = x->s;
		while (x->s < x->end && name_char(*x->s))
			x->s++;
		n = (size_t)(x->s - p);
		skip_ws(x);
		if (n == 0 || n >= sizeof at[0].name || na == MAX_ATTRS || x->s + 1 >= x->end ||
		    *x->s != '=') {
			x->err = "bad attribute";
			goto bad;
		}
		x->s++;
		skip_ws(x);
		char q = x->s < x->end ? *x->s : 0;
		if (q != '"' && q != '\'') {
			x->err = "bad attribute";
			goto bad;
		}
		x->s++;
		if (text_until(x, q) < 0)
			goto bad;
		if (x->s >= x->end) {
			x->err = "unterminated attribute";
			goto bad;
		}
		x->s++;
		memcpy(at[na].name, p, n);
		at[na].name[n] = '\0';
		at[na].val = vc_binxml_typed(x->tbuf, x->tlen);
		na++;
	}
	is_data = strcmp(name, "Data") == 0;
	in_evdata = strcmp(name, "EventData") == 0;
	for (int i = 0; i < na; i++) {
		if (strcmp(at[i].name, "xmlns") == 0 || ((is_data || strcmp(name, "EventData") == 0) &&
		    strcmp(at[i].name, "Name") == 0))
			continue;
		obj = jv_object_set(obj, jv_string(at[i].name), jv_copy(at[i].val));
	}
	if (*x->s == '/') {
		if (x->s + 1 >= x->end || x->s[1] != '>') {
			x->err = "bad empty-element tag";
			goto bad;
		}
		x->s += 2;
		goto built;
	}
	x->s++;
	/* Content: text and children, to the end tag. */
	for (;;) {
		const char *t0 = x->s;

		if (text_until(x, '<') < 0)
			goto bad;
		if (x->s >= x->end) {
			x->err = "unterminated element";
			goto bad;
		}
		/* Text that is not only blanks (the indentation) is kept. */
		for (size_t i = 0; i < x->tlen; i++)
			if (!strchr(" \t\r\n", x->tbuf[i])) {
				jv_free(text);
				text = jv_string_sized(x->tbuf, (int)x->tlen);
				break;
			}
		(void)t0;
		x->s++;
		if (x->s < x->end && *x->s == '/') {
			x->s++;
			p = x->s;
			while (x->s < x->end && name_char(*x->s))
				x->s++;
			if ((size_t)(x->s - p) != strlen(name) || memcmp(p, name, strlen(name)) != 0) {
				x->err = "mismatched end tag";
				goto bad;
			}
			skip_ws(x);
			if (x->s >= x->end || *x->s != '>') {
				x->err = "bad end tag";
				goto bad;
			}
			x->s++;
			break;
		}
		if (x->s < x->end && (*x->s == '?' || *x->s == '!')) {
			x->err = "processing instructions, comments and CDATA are not read";
			goto bad;
		}
		char cname[128];
		jv kid = elem(x, depth + 1, cname, sizeof cname);

		if (!jv_is_valid(kid))
			goto bad;
		kids++;
		if (in_evdata && strcmp(cname, "Data") == 0 && jv_get_kind(kid) == JV_KIND_OBJECT) {
			/* kid is {"#name": N, "#text": t} from below. */
			jv nm = jv_object_get(jv_copy(kid), jv_string("#name"));
			jv tv = jv_object_get(kid, jv_string("#text"));

			if (!jv_is_valid(tv)) {
				jv_free(tv);
				tv = jv_null();
			}
			if (jv_get_kind(nm) == JV_KIND_STRING)
				obj = jv_object_set(obj, nm, tv);
			else {
				jv_free(nm);
				put_child(&obj, "Data", tv);
			}
		} else
			put_child(&obj, cname, kid);
	}
built:
	if (is_data) {
		/* Handed to EventData above: its name and its text. */
		for (int i = 0; i < na; i++)
			if (strcmp(at[i].name, "Name") == 0 && jv_get_kind(at[i].val) == JV_KIND_STRING)
				obj = jv_object_set(obj, jv_string("#name"), jv_copy(at[i].val));
		if (jv_is_valid(text)) {
			jv t = jv_string_value(text)[0] ? vc_binxml_typed(jv_string_value(text),
			    (size_t)jv_string_length_bytes(jv_copy(text))) : jv_copy(text);
			obj = jv_object_set(obj, jv_string("#text"), t);
		}
	} else if (strcmp(name, "EventID") == 0) {
		/* Always {"Value": N}, with Qualifiers when there are some. */
		if (jv_is_valid(text))
			obj = jv_object_set(obj, jv_string("Value"), vc_binxml_typed(jv_string_value(text),
			    (size_t)jv_string_length_bytes(jv_copy(text))));
	} else if (strcmp(name, "TimeCreated") == 0) {
		jv st = jv_object_get(jv_copy(obj), jv_string("SystemTime"));
		double t = jv_get_kind(st) == JV_KIND_STRING ? vc_binxml_systime(jv_string_value(st)) : -1;

		if (t >= 0)
			obj = jv_object_set(obj, jv_string("SystemTime"), jv_number(t));
		jv_free(st);
	} else if (na == 0 && kids == 0) {
		jv_free(obj);
		obj = jv_is_valid(text) ? vc_binxml_typed(jv_string_value(text),
		    (size_t)jv_string_length_bytes(jv_copy(text))) : jv_null();
	} else if (jv_is_valid(text)) {
		obj = jv_object_set(obj, jv_string("Value"), jv_copy(text));
	}
	jv_free(text);
	for (int i = 0; i < na; i++)
		jv_free(at[i].val);
	return obj;
bad:
	jv_free(text);
	jv_free(obj);
	for (int i = 0; i < na; i++)
		jv_free(at[i].val);
	return jv_invalid();
}

jv
vc_evtx_xml_row(const char *xml, size_t n)
{
	struct xp x = { .s = xml, .end = xml + n };
	char name[128];
	jv row;

	/* An XML declaration may come first. */
	skip_ws(&x);
	if (x.end - x.s >= 5 && memcmp(x.s, "<?xml", 5) == 0) {
		const char *e = memchr(x.s, '>', (size_t)(x.end - x.s));

		x.s = e ? e + 1 : x.end;
		skip_ws(&x);
	}
	if (x.s >= x.end || *x.s != '<') {
		row = jv_invalid_with_msg(jv_string("no element"));
		goto out;
	}
	x.s++;
	row = elem(&x, 0, name, sizeof name);
	if (!jv_is_valid(row)) {
		jv_free(row);
		row = jv_invalid_with_msg(jv_string_fmt("bad record XML: %s at byte %ld",
		    x.err ? x.err : "?", (long)(x.s - xml)));
		goto out;
	}
	if (strcmp(name, "Event") != 0 || jv_get_kind(row) != JV_KIND_OBJECT) {
		jv_free(row);
		row = jv_invalid_with_msg(jv_string_fmt("the record is <%s>, not <Event>", name));
		goto out;
	}
	/* An EventData without Data elements is {} rather than null. */
	jv ed = jv_object_get(jv_copy(row), jv_string("EventData"));
	if (jv_get_kind(ed) == JV_KIND_NULL)
		row = jv_object_set(row, jv_string("EventData"), jv_object());
	jv_free(ed);
out:
	free(x.tbuf);
	return row;
}

/* ---- files and records as a JSONL source ------------------------------------ */

/*
 * Memory stays flat: the file is read one 64 KiB chunk at a time, and the
 * decoder keeps only that chunk's names and templates.  A chunk that is
 * not one is reported and skipped, a record that cannot be read is
 * reported and reading goes on with the next (or the next chunk, when
 * the record's size cannot be trusted).
 */
#define HEADER 4096
#define CHUNK VC_BINXML_CHUNK

struct input {
	char *path;
	int zip;                /* a ZIP archive: its .evtx members are read */
};

struct src {
	struct input *in;       /* files, in byte order of their paths */
	size_t nin, ii;
	struct vc_zip *zip;     /* the ZIP being read, or NULL */
	const char *zpath;
	size_t zi, zn;
	char *member;           /* "ZIP:MEMBER" of the member being read */
	FILE *fp;               /* the file being read */
	unsigned char head[HEADER];
	unsigned char *chunk;
	long chunkno;           /* chunks read from fp */
	int in_chunk, bad_in_chunk, good_in_chunk;
	long recno;             /* records of this file so far */
	struct vc_binxml *dec;
};

static void
src_free(void *p)
{
	struct src *s = p;

	if (s == NULL)
		return;
	if (s->fp != NULL)
		fclose(s->fp);
	vc_zip_free(s->zip);
	for (size_t i = 0; i < s->nin; i++)
		free(s->in[i].path);
	free(s->in);
	free(s->member);
	free(s->chunk);
	vc_binxml_free(s->dec);
	free(s);
}

/* The row as r's next line, and as its value (vc_jsonl_value). */
static int
put_line(vc_ctx *ctx, struct vc_jsonl *r, jv row)
{
	struct vc_jbuf b = { .s = r->buf, .cap = r->cap };

	vc_jbuf_value(&b, jv_copy(row));
	r->buf = b.s;
	r->cap = b.cap;
	jv_free(r->val);
	r->val = row;
	if (b.oom || b.s == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory"), -2;
	r->len = b.n;
	return 1;
}

/* Why a read of fp failed. */
static const char *
read_error(const struct src *s)
{
	return s->zip != NULL ? vc_zip_error(s->zip) : "read error";
}

static int
ends_with(const char *n, const char *ext)
{
	size_t l = strlen(n), e = strlen(ext);

	return l > e && strcasecmp(n + l - e, ext) == 0;
}

static int
ends_evtx(const char *n)
{
	return ends_with(n, ".evtx");
}

/*
 * Open the next file of the inputs (a ZIP's members one by one): 1, 0
 * none left, -1 bad (reported).
 */
static int
next_file(vc_ctx *ctx, struct vc_jsonl *r, struct src *s)
{
	for (;;) {
		if (s->zip != NULL && s->zi < s->zn) {
			size_t i = s->zi++;

			free(s->member);
			if (asprintf(&s->member, "%s:%s", s->zpath, vc_zip_name(s->zip, i)) < 0) {
				s->member = NULL;
				return vc_fail(ctx, VC_EINTERNAL, "out of memory"), -2;
			}
			r->name = s->member;
			if ((s->fp = vc_zip_fopen(ctx, s->zip, i)) == NULL)
				return -1;
			break;
		}
		if (s->zip != NULL) {
			vc_zip_free(s->zip);
			s->zip = NULL;
		}
		if (s->ii >= s->nin)
			return 0;
		struct input *in = &s->in[s->ii++];

		r->name = in->path;
		r->line = 0;
		if (in->zip) {
			int rc = vc_zip_open(ctx, in->path, ends_evtx, VC_EVTX_MAX_FILES, &s->zip);

			if (rc != 0)
				return -1;
			s->zpath = in->path;
			s->zi = 0;
			s->zn = vc_zip_count(s->zip);
			continue;
		}
		if ((s->fp = fopen(in->path, "rb")) == NULL) {
			vc_fail(ctx, VC_EINVAL, "%s: %s", in->path, strerror(errno));
			return -1;
		}
		break;
	}
	r->line = 0;
	s->chunkno = s->recno = 0;
	if (fread(s->head, 1, HEADER, s->fp) != HEADER || memcmp(s->head, "ElfFile", 8) != 0) {
		vc_fail(ctx, VC_EINVAL, "%s: not an EVTX file (%s)", r->name,
		    ferror(s->fp) ? read_error(s) : "no file header");
		fclose(s->fp);
		s->fp = NULL;
		return -1;
	}
	return 1;
}

/* Read and load the next chunk of fp: 1, 0 end of file, -1 bad (reported). */
static int
next_chunk(vc_ctx *ctx, struct vc_jsonl *r, struct src *s)
{
	char msg[256];
	size_t got;
	long no;

	for (;;) {
		no = s->chunkno++;
		got = fread(s->chunk, 1, CHUNK, s->fp);
		if (got == 0 && ferror(s->fp)) {
			vc_fail(ctx, VC_EINVAL, "%s: chunk %ld (offset %ld): %s", r->name, no,
			    HEADER + no * (long)CHUNK, read_error(s));
			fclose(s->fp);
			s->fp = NULL;
			return -1;
		}
		if (got == 0)
			return 0;
		/* Preallocated chunks not yet written are zeros. */
		static const unsigned char zero[8];
		if (memcmp(s->chunk, zero, 8) == 0)
			continue;
		if (got < CHUNK) {
			vc_fail(ctx, VC_EINVAL, "%s: chunk %ld (offset %ld): cut short at %zu of %d bytes%s%s; "
			    "its records are skipped", r->name, no, HEADER + no * (long)CHUNK, got, CHUNK,
			    ferror(s->fp) ? ": " : "", ferror(s->fp) ? read_error(s) : "");
			if (ferror(s->fp)) {
				fclose(s->fp);
				s->fp = NULL;
			}
			return -1;
		}
		break;
	}
	if (vc_binxml_load(s->dec, s->chunk, msg, sizeof msg) != 0) {
		vc_fail(ctx, VC_EINVAL, "%s: chunk %ld (offset %ld): %s; its records are skipped", r->name,
		    no, HEADER + no * (long)CHUNK, msg);
		return -1;
	}
	s->in_chunk = 1;
	s->bad_in_chunk = s->good_in_chunk = 0;
	return 1;
}

static int
src_next(vc_ctx *ctx, struct vc_jsonl *r)
{
	struct src *s = r->src;
	char msg[512];
	uint64_t id;
	int rc;
	jv row;

	for (;;) {
		if (s->fp == NULL) {
			if ((rc = next_file(ctx, r, s)) <= 0)
				return rc;
			continue;
		}
		if (!s->in_chunk) {
			if ((rc = next_chunk(ctx, r, s)) == 0) {
				fclose(s->fp);
				s->fp = NULL;
				continue;
			}
			if (rc < 0)
				return rc;
		}
		rc = vc_binxml_next(s->dec, &row, &id, msg, sizeof msg);
		if (rc == 1) {
			r->line = ++s->recno;
			s->good_in_chunk++;
			return put_line(ctx, r, row);
		}
		if (rc < 0) {
			r->line = ++s->recno;
			s->bad_in_chunk++;
			vc_fail(ctx, VC_EINVAL, "%s: record %ld (chunk %ld): %s", r->name, s->recno,
			    s->chunkno - 1, msg);
			return -1;
		}
		/* The chunk's end; one whose checksums fail, with no record reported. */
		s->in_chunk = 0;
		if (vc_binxml_damaged(s->dec) != NULL && s->bad_in_chunk == 0) {
			r->line = s->recno;
			vc_fail(ctx, VC_EINVAL, "%s: chunk %ld (offset %ld): damaged: %s; %d records of it read",
			    r->name, s->chunkno - 1, HEADER + (s->chunkno - 1) * (long)CHUNK,
			    vc_binxml_damaged(s->dec), s->good_in_chunk);
			return -1;
		}
	}
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct input *)a)->path, ((const struct input *)b)->path);
}

/* Add path to the inputs (taking it). */
static int
add_input(vc_ctx *ctx, struct src *s, char *path, int zip, size_t *cap)
{
	if (s->nin == VC_EVTX_MAX_FILES) {
		free(path);
		return vc_fail(ctx, VC_EINVAL, "more than %d EVTX files and ZIP archives", VC_EVTX_MAX_FILES);
	}
	if (s->nin == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct input *f = realloc(s->in, nc * sizeof *f);

		if (f == NULL) {
			free(path);
			return vc_fail(ctx, VC_EINTERNAL, "out of memory");
		}
		s->in = f;
		*cap = nc;
	}
	s->in[s->nin].path = path;
	s->in[s->nin++].zip = zip;
	return 0;
}

/* The .evtx files and .zip archives under dir, depth first, into s->in. */
static int
walk(vc_ctx *ctx, struct src *s, const char *dir, int depth, size_t *cap)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > MAX_DEPTH)
		return 0;
	if ((d = opendir(dir)) == NULL)
		return depth == 0 ? vc_fail(ctx, VC_ENOTFOUND, "%s: cannot read the directory", dir) : 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		char *p;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&p, "%s/%s", dir, de->d_name) < 0) {
			rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
			break;
		}
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			rc = walk(ctx, s, p, depth + 1, cap);
			free(p);
			continue;
		}
		if (S_ISREG(st.st_mode) && ends_evtx(de->d_name))
			rc = add_input(ctx, s, p, 0, cap);
		else if (S_ISREG(st.st_mode) && ends_with(de->d_name, ".zip") && vc_zip_is_file(p))
			rc = add_input(ctx, s, p, 1, cap);
		else
			free(p);
	}
	closedir(d);
	return rc;
}

int
vc_evtx_open(vc_ctx *ctx, struct vc_jsonl *r, const char *path)
{
	struct src *s = calloc(1, sizeof *s);
	struct stat st;
	size_t cap = 0;
	char *p = NULL;
	int rc = 0;

	memset(r, 0, sizeof *r);
	r->max = VC_JSONL_MAX;
	if (s == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = walk(ctx, s, path, 0, &cap);
		if (rc == 0 && s->nin == 0)
			rc = vc_fail(ctx, VC_EINVAL, "%s: a directory without .evtx files", path);
		if (rc == 0)
			qsort(s->in, s->nin, sizeof *s->in, by_path);
	} else if ((p = strdup(path)) == NULL) {
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
	} else if (vc_zip_is_file(path)) {
		/* Opened here too, so that a ZIP without logs is this call's error. */
		struct vc_zip *z = NULL;

		if ((rc = vc_zip_open(ctx, path, ends_evtx, VC_EVTX_MAX_FILES, &z)) == 0 &&
		    vc_zip_count(z) == 0)
			rc = vc_fail(ctx, VC_EINVAL, "%s: a ZIP without .evtx files", path);
		vc_zip_free(z);
		if (rc == 0)
			rc = add_input(ctx, s, p, 1, &cap);
		else
			free(p);
	} else {
		rc = add_input(ctx, s, p, 0, &cap);
	}
	if (rc == 0 && ((s->chunk = malloc(CHUNK)) == NULL || (s->dec = vc_binxml_new()) == NULL))
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
	if (rc != 0) {
		src_free(s);
		return rc;
	}
	r->src = s;
	r->src_next = src_next;
	r->src_free = src_free;
	r->name = s->in[0].path;
	return 0;
}
