/* SPDX-License-Identifier: MIT */
/*
 * evtx.c - EVTX files as parse_evtx() rows (see evtx.h).  libevtx reads
 * the file and renders each record's binary XML as XML text; a small XML
 * reader here turns that text into the row.  The XML reader takes only
 * what libevtx writes (elements, attributes, text, the five entities and
 * character references; no DTD, no CDATA) and refuses the rest.
 *
 * libevtx (with libbfio, which it needs) is opened by the first EVTX
 * file read (core/dl.h), not linked: every CLI call mapped and bound it
 * at start.  Its calls go through the table ev.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* libevtx.h includes libbfio.h when libevtx was built with it; we use
 * no libbfio handle, and Debian ships no libbfio headers. */
#include <libevtx/features.h>
#undef LIBEVTX_HAVE_BFIO
#include <libevtx.h>

#include "core/dl.h"
#include "json/evtx.h"
#include "json/jdump.h"
#include "json/zip.h"

/* ev.file_open is libevtx_file_open, with the library's own prototype. */
#define EVTX_FUNCS(X) \
	X(error_free) X(error_sprint) X(file_initialize) X(file_open) X(file_close) X(file_free) \
	X(file_get_number_of_records) X(file_get_record_by_index) X(file_is_corrupted) \
	X(record_get_utf8_xml_string_size) X(record_get_utf8_xml_string) X(record_free)

static struct {
#define EVTX_PTR(f) __typeof__(libevtx_##f) *f;
	EVTX_FUNCS(EVTX_PTR)
} ev;

static const struct vc_dl_sym ev_syms[] = {
#define EVTX_SYM(f) VC_DL_SYM(ev, f, "libevtx_" #f),
	EVTX_FUNCS(EVTX_SYM)
};

VC_DL_LIB(libevtx, "libevtx.so.1", "read EVTX files", ev_syms, NULL);

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

/*
 * A number for a plain decimal integer that a double holds exactly (no
 * leading zero, at most 2^53), else a string; "0x" and hex digits lose
 * their leading zeros ("0x001fffff" is "0x1fffff"), as the typed hex
 * values of the binary XML print in parse_evtx() and evtx_dump.
 */
static jv
typed(const char *t, size_t n)
{
	size_t i = n > 0 && t[0] == '-' ? 1 : 0, d = n - i, k;

	if (d >= 1 && d <= 16 && (t[i] != '0' || d == 1)) {
		for (k = i; k < n && t[k] >= '0' && t[k] <= '9'; k++)
			;
		if (k == n) {
			double v = strtod(t, NULL);

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

/* "2026-03-11T05:16:41.816327300Z" as seconds since 1970; NAN if not. */
static double
systime(const char *t)
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
		at[na].val = typed(x->tbuf, x->tlen);
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
			jv t = jv_string_value(text)[0] ? typed(jv_string_value(text),
			    (size_t)jv_string_length_bytes(jv_copy(text))) : jv_copy(text);
			obj = jv_object_set(obj, jv_string("#text"), t);
		}
	} else if (strcmp(name, "EventID") == 0) {
		/* Always {"Value": N}, with Qualifiers when there are some. */
		if (jv_is_valid(text))
			obj = jv_object_set(obj, jv_string("Value"), typed(jv_string_value(text),
			    (size_t)jv_string_length_bytes(jv_copy(text))));
	} else if (strcmp(name, "TimeCreated") == 0) {
		jv st = jv_object_get(jv_copy(obj), jv_string("SystemTime"));
		double t = jv_get_kind(st) == JV_KIND_STRING ? systime(jv_string_value(st)) : -1;

		if (t >= 0)
			obj = jv_object_set(obj, jv_string("SystemTime"), jv_number(t));
		jv_free(st);
	} else if (na == 0 && kids == 0) {
		jv_free(obj);
		obj = jv_is_valid(text) ? typed(jv_string_value(text),
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
 * Memory stays flat because libevtx is only ever shown one chunk: the
 * file is read 64 KiB chunk by chunk, and each chunk, behind a copy of
 * the file header that says the file has that one chunk, is written to
 * an anonymous memory file that libevtx opens by its /proc/self/fd path.
 * libevtx indexes every record of a file when it opens it; so it indexes
 * one chunk's.  A chunk that is not one is reported and skipped, one
 * whose records libevtx cannot read is reported record by record, and
 * reading goes on with the next.
 */
#define HEADER 4096
#define CHUNK 65536
#define XML_FIRST (64 * 1024)   /* the XML buffer to start with */

struct src {
	char **files;           /* paths, or ZIP:MEMBER names */
	size_t nfiles, fi;
	struct vc_zip *zip;     /* files[i] is its member i, or NULL */
	FILE *fp;               /* the file being read */
	unsigned char head[HEADER];
	unsigned char *chunk;   /* HEADER + CHUNK: the one-chunk file */
	long chunkno;           /* chunks read from fp */
	int memfd;
	char mempath[64];
	libevtx_file_t *f;      /* the open chunk */
	int nrec, ri, bad_in_chunk;
	long recno;             /* records of this file so far */
	char *xml;
	size_t xcap;
};

static void
src_close_chunk(struct src *s)
{
	libevtx_error_t *e = NULL;

	if (s->f != NULL) {
		ev.file_close(s->f, &e);
		ev.error_free(&e);
		ev.file_free(&s->f, &e);
		ev.error_free(&e);
		s->f = NULL;
	}
}

static void
src_free(void *p)
{
	struct src *s = p;

	if (s == NULL)
		return;
	src_close_chunk(s);
	if (s->fp != NULL)
		fclose(s->fp);
	vc_zip_free(s->zip);
	if (s->memfd >= 0)
		close(s->memfd);
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s->chunk);
	free(s->xml);
	free(s);
}

/* libevtx's message, on one line, and the error freed. */
static const char *
ev_msg(libevtx_error_t **e, char *buf, size_t n)
{
	snprintf(buf, n, "unreadable");
	if (*e != NULL && ev.error_sprint(*e, buf, n) <= 0)
		snprintf(buf, n, "unreadable");
	for (char *c = buf; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	ev.error_free(e);
	return buf;
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

static uint32_t
crc32_of(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
	}
	return ~c;
}

static void
le_put(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Why a read of fp failed. */
static const char *
read_error(const struct src *s)
{
	return s->zip != NULL ? vc_zip_error(s->zip) : "read error";
}

/* Open the next file of the list: 1, 0 none left, -1 bad (reported). */
static int
next_file(vc_ctx *ctx, struct vc_jsonl *r, struct src *s)
{
	if (s->fi >= s->nfiles)
		return 0;
	r->name = s->files[s->fi++];
	r->line = 0;
	s->chunkno = s->recno = 0;
	if (s->zip != NULL) {
		if ((s->fp = vc_zip_fopen(ctx, s->zip, s->fi - 1)) == NULL)
			return -1;
	} else if ((s->fp = fopen(r->name, "rb")) == NULL) {
		vc_fail(ctx, VC_EINVAL, "%s: %s", r->name, strerror(errno));
		return -1;
	}
	if (fread(s->head, 1, HEADER, s->fp) != HEADER || memcmp(s->head, "ElfFile", 8) != 0) {
		vc_fail(ctx, VC_EINVAL, "%s: not an EVTX file (%s)", r->name,
		    ferror(s->fp) ? read_error(s) : "no file header");
		fclose(s->fp);
		s->fp = NULL;
		return -1;
	}
	/* The one-chunk file's header: chunks 0 to 0, one of them. */
	memcpy(s->chunk, s->head, HEADER);
	le_put(s->chunk + 8, 0, 8);
	le_put(s->chunk + 16, 0, 8);
	le_put(s->chunk + 42, 1, 2);
	le_put(s->chunk + 124, crc32_of(s->chunk, 120), 4);
	return 1;
}

/* Open the next chunk of fp with libevtx: 1, 0 end of file, -1 bad (reported). */
static int
next_chunk(vc_ctx *ctx, struct vc_jsonl *r, struct src *s)
{
	libevtx_error_t *e = NULL;
	char msg[512];
	size_t got;
	long no;

	for (;;) {
		no = s->chunkno++;
		got = fread(s->chunk + HEADER, 1, CHUNK, s->fp);
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
		if (memcmp(s->chunk + HEADER, zero, 8) == 0)
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
		if (memcmp(s->chunk + HEADER, "ElfChnk", 8) != 0) {
			vc_fail(ctx, VC_EINVAL, "%s: chunk %ld (offset %ld): no chunk signature; "
			    "its records are skipped", r->name, no, HEADER + no * (long)CHUNK);
			return -1;
		}
		break;
	}
	if (pwrite(s->memfd, s->chunk, HEADER + CHUNK, 0) != HEADER + CHUNK)
		return vc_fail(ctx, VC_EINTERNAL, "%s: cannot copy a chunk: %s", r->name, strerror(errno)), -2;
	if (ev.file_initialize(&s->f, &e) != 1) {
		ev.error_free(&e);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory"), -2;
	}
	s->nrec = s->ri = s->bad_in_chunk = 0;
	if (ev.file_open(s->f, s->mempath, LIBEVTX_OPEN_READ, &e) != 1 ||
	    ev.file_get_number_of_records(s->f, &s->nrec, &e) != 1) {
		vc_fail(ctx, VC_EINVAL, "%s: chunk %ld (offset %ld): %s; its records are skipped", r->name,
		    no, HEADER + no * (long)CHUNK, ev_msg(&e, msg, sizeof msg));
		src_close_chunk(s);
		return -1;
	}
	return 1;
}

static int xml_line(vc_ctx *ctx, struct vc_jsonl *r, struct src *s, size_t n);

/* The next record of the open chunk: 1, -1 bad (reported). */
static int
next_record(vc_ctx *ctx, struct vc_jsonl *r, struct src *s)
{
	libevtx_error_t *e = NULL;
	libevtx_record_t *rec = NULL;
	char msg[512];
	size_t sz = 0;

	r->line = ++s->recno;
	if (ev.file_get_record_by_index(s->f, s->ri++, &rec, &e) != 1) {
		vc_fail(ctx, VC_EINVAL, "%s: record %ld (chunk %ld): %s", r->name, s->recno, s->chunkno - 1,
		    ev_msg(&e, msg, sizeof msg));
		s->bad_in_chunk++;
		return -1;
	}
	/* Rendered straight into the buffer when it is large enough: asking
	 * for the size first renders the record twice. */
	if (s->xcap >= XML_FIRST && ev.record_get_utf8_xml_string(rec, (uint8_t *)s->xml,
	    s->xcap, &e) == 1) {
		ev.record_free(&rec, NULL);
		return xml_line(ctx, r, s, s->xcap);
	}
	ev.error_free(&e);
	if (ev.record_get_utf8_xml_string_size(rec, &sz, &e) != 1) {
		vc_fail(ctx, VC_EINVAL, "%s: record %ld (chunk %ld): %s", r->name, s->recno, s->chunkno - 1,
		    ev_msg(&e, msg, sizeof msg));
		ev.record_free(&rec, NULL);
		s->bad_in_chunk++;
		return -1;
	}
	if (sz == 0 || sz > VC_EVTX_MAX_RECORD) {
		ev.record_free(&rec, NULL);
		vc_fail(ctx, VC_EINVAL, "%s: record %ld: its XML is %zu bytes (at most %d)", r->name,
		    s->recno, sz, VC_EVTX_MAX_RECORD);
		return -1;
	}
	if (sz > s->xcap) {
		char *b = realloc(s->xml, sz);

		if (b == NULL) {
			ev.record_free(&rec, NULL);
			return vc_fail(ctx, VC_EINTERNAL, "out of memory"), -2;
		}
		s->xml = b;
		s->xcap = sz;
	}
	if (ev.record_get_utf8_xml_string(rec, (uint8_t *)s->xml, sz, &e) != 1) {
		vc_fail(ctx, VC_EINVAL, "%s: record %ld (chunk %ld): %s", r->name, s->recno, s->chunkno - 1,
		    ev_msg(&e, msg, sizeof msg));
		ev.record_free(&rec, NULL);
		s->bad_in_chunk++;
		return -1;
	}
	ev.record_free(&rec, NULL);
	return xml_line(ctx, r, s, sz);
}

/* The record's XML in s->xml (at most n bytes) as r's next line. */
static int
xml_line(vc_ctx *ctx, struct vc_jsonl *r, struct src *s, size_t n)
{
	jv row = vc_evtx_xml_row(s->xml, strnlen(s->xml, n));

	if (!jv_is_valid(row)) {
		jv m = jv_invalid_get_msg(row);

		vc_fail(ctx, VC_EINVAL, "%s: record %ld: %s", r->name, s->recno,
		    jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "bad XML");
		jv_free(m);
		return -1;
	}
	return put_line(ctx, r, row);
}

static int
src_next(vc_ctx *ctx, struct vc_jsonl *r)
{
	struct src *s = r->src;
	int rc;

	for (;;) {
		if (s->fp == NULL) {
			if ((rc = next_file(ctx, r, s)) <= 0)
				return rc;
			continue;
		}
		if (s->f == NULL) {
			if ((rc = next_chunk(ctx, r, s)) == 0) {
				fclose(s->fp);
				s->fp = NULL;
				continue;
			}
			if (rc < 0)
				return rc;
		}
		if (s->ri < s->nrec)
			return next_record(ctx, r, s);
		/* A chunk libevtx found damaged, with no record reported. */
		libevtx_error_t *e = NULL;
		int bad = ev.file_is_corrupted(s->f, &e) == 1 && s->bad_in_chunk == 0;

		ev.error_free(&e);
		src_close_chunk(s);
		if (bad) {
			r->line = s->recno;
			vc_fail(ctx, VC_EINVAL, "%s: chunk %ld (offset %ld): damaged; libevtx read %d records "
			    "of it", r->name, s->chunkno - 1, HEADER + (s->chunkno - 1) * (long)CHUNK, s->nrec);
			return -1;
		}
	}
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
ends_evtx(const char *n)
{
	size_t l = strlen(n);

	return l > 5 && strcasecmp(n + l - 5, ".evtx") == 0;
}

/* The .evtx files under dir, depth first, into s->files. */
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
		if (!S_ISREG(st.st_mode) || !ends_evtx(de->d_name)) {
			free(p);
			continue;
		}
		if (s->nfiles == VC_EVTX_MAX_FILES) {
			free(p);
			rc = vc_fail(ctx, VC_EINVAL, "%s: more than %d EVTX files", dir, VC_EVTX_MAX_FILES);
			break;
		}
		if (s->nfiles == *cap) {
			size_t nc = *cap ? *cap * 2 : 16;
			char **f = realloc(s->files, nc * sizeof *f);

			if (f == NULL) {
				free(p);
				rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
				break;
			}
			s->files = f;
			*cap = nc;
		}
		s->files[s->nfiles++] = p;
	}
	closedir(d);
	return rc;
}

/* The .evtx members of the ZIP at path, as ZIP:MEMBER, into s->files. */
static int
zip_members(vc_ctx *ctx, struct src *s, const char *path)
{
	size_t n;
	int rc;

	if ((rc = vc_zip_open(ctx, path, ends_evtx, VC_EVTX_MAX_FILES, &s->zip)) != 0)
		return rc;
	if ((n = vc_zip_count(s->zip)) == 0)
		return vc_fail(ctx, VC_EINVAL, "%s: a ZIP without .evtx files", path);
	if ((s->files = calloc(n, sizeof *s->files)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	for (; s->nfiles < n; s->nfiles++)
		if (asprintf(&s->files[s->nfiles], "%s:%s", path, vc_zip_name(s->zip, s->nfiles)) < 0)
			return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	return 0;
}

int
vc_evtx_open(vc_ctx *ctx, struct vc_jsonl *r, const char *path)
{
	struct src *s = calloc(1, sizeof *s);
	struct stat st;
	size_t cap = 0;
	int rc = 0;

	memset(r, 0, sizeof *r);
	r->max = VC_JSONL_MAX;
	if (s == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	s->memfd = -1;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = walk(ctx, s, path, 0, &cap);
		if (rc == 0 && s->nfiles == 0)
			rc = vc_fail(ctx, VC_EINVAL, "%s: a directory without .evtx files", path);
		if (rc == 0)
			qsort(s->files, s->nfiles, sizeof *s->files, by_path);
	} else if (vc_zip_is_file(path)) {
		rc = zip_members(ctx, s, path);
	} else if ((s->files = malloc(sizeof *s->files)) == NULL ||
	    (s->files[0] = strdup(path)) == NULL) {
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
	} else {
		s->nfiles = 1;
	}
	/* The library once there is something for it to read. */
	if (rc == 0)
		rc = vc_dl_ready(ctx, &libevtx);
	if (rc != 0) {
		src_free(s);
		return rc;
	}
	if ((s->chunk = malloc(HEADER + CHUNK)) == NULL || (s->xml = malloc(XML_FIRST)) == NULL) {
		src_free(s);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	if ((s->memfd = memfd_create("vc-evtx-chunk", MFD_CLOEXEC)) < 0) {
		src_free(s);
		return vc_fail(ctx, VC_EINTERNAL, "memfd_create: %s", strerror(errno));
	}
	s->xcap = XML_FIRST;
	snprintf(s->mempath, sizeof s->mempath, "/proc/self/fd/%d", s->memfd);
	r->src = s;
	r->src_next = src_next;
	r->src_free = src_free;
	r->name = s->files[0];
	return 0;
}
