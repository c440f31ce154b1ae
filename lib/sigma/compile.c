/* SPDX-License-Identifier: MIT */
/*
 * sigma_compile.c - one Sigma rule (a YAML document as jv) to the form
 * sigma_match.c evaluates: validation, value escaping, every modifier of
 * the specification, the condition grammar.  Everything that can be done
 * once is done here: literals lowercased, encodings and windash variants
 * expanded, regular expressions compiled (JIT), networks parsed.
 *
 * Semantics follow pySigma (sigma/modifiers.py, sigma/types.py,
 * sigma/conditions.py) where the specification is vague; the deviations
 * are noted where they are made.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigma/internal.h"

#define ALEN(a) jv_array_length(jv_copy(a))
#define AGET(a, i) jv_array_get(jv_copy(a), (i))
#define OGET(o, k) jv_object_get(jv_copy(o), jv_string(k))

#define MAX_VARIANTS 4096       /* windash variants of one value */
#define MAX_COND_DEPTH 32

/* Compile state of one rule. */
struct lc {
	struct vc_sigma_set *set;
	struct vc_sg_rule *r;
	struct vc_sg_arena tmp;         /* values while modifiers apply */
	char *err;
	size_t errn;
	int failed;
	jv names;                       /* detection identifiers, in order */
};

static int
fail(struct lc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct lc *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->failed) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errn, fmt, ap);
		va_end(ap);
		c->failed = 1;
	}
	return -1;
}

static int
oom(struct lc *c)
{
	return fail(c, "out of memory");
}

/* ---- values while modifiers apply ---- */

enum { CV_STR, CV_NUM, CV_BOOL, CV_NULL, CV_RE, CV_CIDR, CV_EXISTS, CV_FREF, CV_CMP, CV_TIME };
static const char *const cv_names[] = {
	"string", "number", "boolean", "null", "regular expression", "cidr network",
	"exists test", "field reference", "comparison", "time part"
};

enum { FR_START = 1, FR_END = 2 };

struct cv {
	int type;
	unsigned char *b;               /* STR: bytes; RE, CIDR, FREF: text */
	uint8_t *w;                     /* STR: 0 literal, 1 '*', 2 '?' per byte */
	size_t n;
	int cased;
	double num;
	int op;                         /* RE: PCRE2 flags; CMP, TIME: kind; FREF: FR_* */
	int bval;
	const char *raw;                /* the YAML text of a string value (CIDR: the network) */
};

struct cvl {                            /* one group: a value and its variants */
	struct cv *v;
	int n, cap;
};

static int
cvl_add(struct lc *c, struct cvl *l, const struct cv *v)
{
	if (l->n == l->cap) {
		int nc = l->cap ? l->cap * 2 : 4;
		struct cv *p = vc_sg_alloc(&c->tmp, sizeof *p * (size_t)nc);

		if (p == NULL)
			return oom(c);
		if (l->n)
			memcpy(p, l->v, sizeof *p * (size_t)l->n);
		l->v = p;
		l->cap = nc;
	}
	l->v[l->n++] = *v;
	return 0;
}

/* A STR cv of n bytes in the scratch arena. */
static int
str_new(struct lc *c, struct cv *v, size_t n)
{
	memset(v, 0, sizeof *v);
	v->type = CV_STR;
	v->b = vc_sg_alloc(&c->tmp, n + 1);
	v->w = vc_sg_alloc(&c->tmp, n + 1);
	v->n = n;
	return v->b && v->w ? 0 : oom(c);
}

/*
 * pySigma's escaping: only '*', '?' and '\' are special and only '\'
 * escapes.  "\*", "\?", "\\" give the literal character; '\' before
 * anything else (or at the end) is a literal backslash, the next
 * character being read on its own.
 */
static size_t
unescape(const char *s, size_t n, unsigned char *out, uint8_t *wild)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\\' && i + 1 < n && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
			out[o] = (unsigned char)s[++i];
			wild[o++] = 0;
		} else if (ch == '*' || ch == '?') {
			out[o] = ch;
			wild[o++] = ch == '*' ? 1 : 2;
		} else {
			out[o] = ch;
			wild[o++] = 0;
		}
	}
	return o;
}

static int
str_from_text(struct lc *c, struct cv *v, const char *s, size_t n, int escapes)
{
	if (str_new(c, v, n) < 0)
		return -1;
	if (escapes)
		v->n = unescape(s, n, v->b, v->w);
	else
		memcpy(v->b, s, n);
	v->raw = vc_sg_strndup(&c->tmp, s, n);
	return v->raw ? 0 : oom(c);
}

static int
has_wild(const struct cv *v)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->w[i])
			return 1;
	return 0;
}

/* Shortest text that reads back as d: "4688", "0.5", "1733820037.25". */
static void
num_text(double d, char *buf, size_t n)
{
	if (d == floor(d) && fabs(d) < 1e15) {
		snprintf(buf, n, "%.0f", d);
		return;
	}
	snprintf(buf, n, "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, n, "%.17g", d);
}

/* A number used where a string is wanted (lenient: pySigma refuses). */
static int
num_to_str(struct lc *c, struct cv *v)
{
	char t[40];
	int cased = v->cased;

	num_text(v->num, t, sizeof t);
	if (str_from_text(c, v, t, strlen(t), 0) < 0)
		return -1;
	v->cased = cased;
	return 0;
}

/* A copy of src with k bytes of room more (for wrapping in '*'). */
static int
str_grow(struct lc *c, struct cv *dst, const struct cv *src, size_t lead, size_t tail)
{
	struct cv t = *src;

	if (str_new(c, dst, src->n + lead + tail) < 0)
		return -1;
	memcpy(dst->b + lead, src->b, src->n);
	memcpy(dst->w + lead, src->w, src->n);
	dst->cased = t.cased;
	dst->raw = t.raw;
	return 0;
}

static int
wrap_star(struct lc *c, struct cv *v, int front, int back)
{
	int lead = front && !(v->n > 0 && v->w[0] == 1);
	int tail = back && !(v->n > 0 && v->w[v->n - 1] == 1);
	struct cv nv;

	if (!lead && !tail)
		return 0;
	if (str_grow(c, &nv, v, (size_t)lead, (size_t)tail) < 0)
		return -1;
	if (lead) {
		nv.b[0] = '*';
		nv.w[0] = 1;
	}
	if (tail) {
		nv.b[nv.n - 1] = '*';
		nv.w[nv.n - 1] = 1;
	}
	*v = nv;
	return 0;
}

/* ---- encodings ---- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t
b64enc(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0, i = 0;

	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = b64chars[v >> 6 & 63];
		out[o++] = b64chars[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);

		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* base64 (offset < 0) or the offset-th base64offset needle. */
static int
base64_cv(struct lc *c, const struct cv *v, int offset, struct cv *out)
{
	size_t pad = offset > 0 ? (size_t)offset : 0, n = v->n + pad;
	unsigned char *in = vc_sg_alloc(&c->tmp, n + 1);
	char *enc = vc_sg_alloc(&c->tmp, (n + 2) / 3 * 4 + 1);
	size_t elen, start = 0, end;

	if (in == NULL || enc == NULL)
		return oom(c);
	memset(in, ' ', pad);
	memcpy(in + pad, v->b, v->n);
	elen = b64enc(in, n, enc);
	end = elen;
	if (offset >= 0) {
		/* pySigma: b64(i spaces + value)[(0,2,3)[i] : (None,-3,-2)[(len+i) % 3]] */
		static const size_t starts[3] = { 0, 2, 3 };
		static const size_t ends[3] = { 0, 3, 2 };      /* from the end; 0: none */
		size_t cut = ends[(v->n + (size_t)offset) % 3];

		start = starts[offset];
		end = cut > elen ? 0 : elen - cut;
		if (end < start)
			end = start;
	}
	if (str_from_text(c, out, enc + start, end - start, 0) < 0)
		return -1;
	out->cased = v->cased;
	return 0;
}

/* Decode one UTF-8 sequence at s[0..n); returns its length, 0 if invalid. */
static size_t
utf8_dec(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned ch = s[0];
	size_t len;

	if (ch < 0x80) {
		*cp = ch;
		return 1;
	}
	if (ch >= 0xC2 && ch <= 0xDF)
		len = 2, *cp = ch & 0x1F;
	else if (ch >= 0xE0 && ch <= 0xEF)
		len = 3, *cp = ch & 0x0F;
	else if (ch >= 0xF0 && ch <= 0xF4)
		len = 4, *cp = ch & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && *cp < 0x800) || (len == 4 && (*cp < 0x10000 || *cp > 0x10FFFF)) ||
	    (*cp >= 0xD800 && *cp <= 0xDFFF))
		return 0;
	return len;
}

/* UTF-16 (be: big-endian; bom: FF FE first) of the literal characters. */
static int
utf16_cv(struct lc *c, struct cv *v, int be, int bom, const char *mod)
{
	struct cv nv;
	size_t o = 0;

	if (str_new(c, &nv, v->n * 4 + 2) < 0)
		return -1;
	if (bom) {
		nv.b[o++] = 0xFF;
		nv.b[o++] = 0xFE;
	}
	for (size_t i = 0; i < v->n;) {
		unsigned cp, units[2];
		size_t len;
		int nu;

		if (v->w[i]) {
			nv.b[o] = v->b[i];
			nv.w[o++] = v->w[i++];
			continue;
		}
		if ((len = utf8_dec(v->b + i, v->n - i, &cp)) == 0)
			return fail(c, "%s: the value is not valid UTF-8", mod);
		for (size_t k = 1; k < len; k++)
			if (v->w[i + k])
				return fail(c, "%s: the value is not valid UTF-8", mod);
		i += len;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			units[0] = 0xD800 | cp >> 10;
			units[1] = 0xDC00 | (cp & 0x3FF);
			nu = 2;
		} else {
			units[0] = cp;
			nu = 1;
		}
		for (int u = 0; u < nu; u++) {
			unsigned char hi = (unsigned char)(units[u] >> 8), lo = (unsigned char)units[u];

			nv.b[o++] = be ? hi : lo;
			nv.b[o++] = be ? lo : hi;
		}
	}
	nv.n = o;
	nv.cased = v->cased;
	nv.raw = v->raw;
	*v = nv;
	return 0;
}

/* ---- windash ---- */

/* A word character as Python's \w sees it, roughly: letters, digits, '_'. */
static int
is_word_cp(unsigned cp)
{
	if (cp < 0x80)
		return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') ||
		    (cp >= 'A' && cp <= 'Z') || cp == '_';
	if (cp <= 0xBF || cp == 0xD7 || cp == 0xF7)
		return cp == 0xAA || cp == 0xB5 || cp == 0xBA;
	if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) || cp == 0xFEFF ||
	    (cp >= 0xFF00 && cp <= 0xFF0F))
		return 0;
	return 1;
}

/*
 * pySigma's \B[-/]\b on each literal run: the dash or slash starts a
 * flag when the character before it (in the same run) is not a word
 * character, and the one after it is.
 */
static int
flag_start(const struct cv *v, size_t p)
{
	unsigned cp;
	size_t len;

	if (v->w[p] || (v->b[p] != '-' && v->b[p] != '/'))
		return 0;
	if (p > 0 && !v->w[p - 1]) {
		size_t q = p - 1;

		while (q > 0 && !v->w[q - 1] && (v->b[q] & 0xC0) == 0x80)
			q--;
		if ((len = utf8_dec(v->b + q, p - q, &cp)) != 0 && is_word_cp(cp))
			return 0;
	}
	if (p + 1 >= v->n || v->w[p + 1])
		return 0;
	len = utf8_dec(v->b + p + 1, v->n - p - 1, &cp);
	return len != 0 && is_word_cp(cp);
}

static int
windash_cv(struct lc *c, const struct cv *v, struct cvl *out)
{
	static const char *const dash[5] = { "-", "/", "\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x80\x95" };
	size_t pos[16];
	int k = 0;
	long total = 1;

	for (size_t p = 0; p < v->n; p++)
		if (flag_start(v, p)) {
			if (k == 16 || (total *= 5) > MAX_VARIANTS)
				return fail(c, "windash: too many flags in one value (over %d variants)", MAX_VARIANTS);
			pos[k++] = p;
		}
	for (long combo = 0; combo < total; combo++) {
		struct cv nv;
		long x = combo;
		size_t o = 0;
		int j = 0;

		if (str_new(c, &nv, v->n + 2 * (size_t)k) < 0)
			return -1;
		for (size_t p = 0; p < v->n; p++) {
			if (j < k && pos[j] == p) {
				const char *d = dash[x % 5];

				x /= 5;
				j++;
				for (; *d; d++) {
					nv.b[o] = (unsigned char)*d;
					nv.w[o++] = 0;
				}
			} else {
				nv.b[o] = v->b[p];
				nv.w[o++] = v->w[p];
			}
		}
		nv.n = o;
		nv.cased = v->cased;
		nv.raw = v->raw;
		if (cvl_add(c, out, &nv) < 0)
			return -1;
	}
	return 0;
}

/* ---- cidr ---- */

static int
cidr_parse(struct lc *c, const char *text, struct vc_sg_m *m)
{
	char buf[80];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	long bits;
	char *end;

	if (alen == 0 || alen >= sizeof buf)
		return fail(c, "cidr: '%s' is not an IP network", text);
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	memset(m->net, 0, sizeof m->net);
	if (inet_pton(AF_INET, buf, m->net) == 1)
		m->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, m->net) == 1)
		m->family = AF_INET6;
	else
		return fail(c, "cidr: '%s' is not an IP network", text);
	bits = m->family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		errno = 0;
		long b = strtol(slash + 1, &end, 10);

		if (errno || end == slash + 1 || *end != '\0' || b < 0 || b > bits)
			return fail(c, "cidr: '%s' has a bad prefix length", text);
		bits = b;
	}
	m->prefix = (int)bits;
	/* Host bits are cleared rather than refused (Python's strict=False). */
	for (int i = 0; i < 16; i++) {
		int keep = m->prefix - i * 8;

		if (keep <= 0)
			m->net[i] = 0;
		else if (keep < 8)
			m->net[i] &= (unsigned char)(0xFF << (8 - keep));
	}
	return 0;
}

/* ---- one field entry ---- */

enum {
	M_CONTAINS, M_STARTSWITH, M_ENDSWITH, M_ALL, M_BASE64, M_BASE64OFFSET, M_WIDE, M_UTF16BE,
	M_UTF16, M_WINDASH, M_RE, M_RE_I, M_RE_M, M_RE_S, M_CIDR, M_EXISTS, M_CASED, M_NEQ,
	M_GT, M_GTE, M_LT, M_LTE, M_MINUTE, M_HOUR, M_DAY, M_WEEK, M_MONTH, M_YEAR, M_EXPAND, M_FIELDREF
};
static const struct {
	const char *name;
	int id;
} modtab[] = {
	{ "contains", M_CONTAINS }, { "startswith", M_STARTSWITH }, { "endswith", M_ENDSWITH },
	{ "all", M_ALL }, { "base64", M_BASE64 }, { "base64offset", M_BASE64OFFSET },
	{ "wide", M_WIDE }, { "utf16le", M_WIDE }, { "utf16be", M_UTF16BE }, { "utf16", M_UTF16 },
	{ "windash", M_WINDASH }, { "re", M_RE }, { "i", M_RE_I }, { "ignorecase", M_RE_I },
	{ "m", M_RE_M }, { "multiline", M_RE_M }, { "s", M_RE_S }, { "dotall", M_RE_S },
	{ "cidr", M_CIDR }, { "exists", M_EXISTS }, { "cased", M_CASED }, { "neq", M_NEQ },
	{ "gt", M_GT }, { "gte", M_GTE }, { "lt", M_LT }, { "lte", M_LTE },
	{ "minute", M_MINUTE }, { "hour", M_HOUR }, { "day", M_DAY }, { "week", M_WEEK },
	{ "month", M_MONTH }, { "year", M_YEAR }, { "expand", M_EXPAND }, { "fieldref", M_FIELDREF },
};

static int
mod_id(const char *s)
{
	for (size_t i = 0; i < sizeof modtab / sizeof modtab[0]; i++)
		if (strcmp(modtab[i].name, s) == 0)
			return modtab[i].id;
	return -1;
}

/* A decimal number in text, whole (for comparisons with string values). */
static int
text_number(const char *s, size_t n, double *out)
{
	char buf[64];
	char *end;
	size_t i = 0;

	if (n == 0 || n >= sizeof buf)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (buf[i] == '-' || buf[i] == '+')
		i++;
	if (!((buf[i] >= '0' && buf[i] <= '9') || (buf[i] == '.' && buf[i + 1] >= '0' && buf[i + 1] <= '9')))
		return 0;
	for (size_t k = i; k < n; k++)
		if (!strchr("0123456789.eE+-", buf[k]))
			return 0;
	errno = 0;
	*out = strtod(buf, &end);
	return errno == 0 && *end == '\0' && isfinite(*out);
}

/* A value for a modifier that works on text: a number becomes its text,
 * anything else but a string is an error of the rule. */
static int
text_value(struct lc *c, struct cv *v, const char *mname)
{
	if (v->type == CV_NUM && num_to_str(c, v) < 0)
		return -1;
	if (v->type != CV_STR)
		return fail(c, "%s cannot apply to a %s", mname, cv_names[v->type]);
	return 0;
}

/* Apply one modifier to one value: its results are appended to out. */
static int
apply_mod(struct lc *c, int mod, const char *mname, struct cv v, int applied, struct cvl *out,
    int keyword)
{
	int t = v.type;

	switch (mod) {
	case M_CONTAINS:
	case M_STARTSWITH:
	case M_ENDSWITH:
		if (t == CV_NUM && num_to_str(c, &v) < 0)
			return -1;
		t = v.type;
		if (t == CV_STR) {
			if (wrap_star(c, &v, mod != M_STARTSWITH, mod != M_ENDSWITH) < 0)
				return -1;
		} else if (t == CV_FREF)
			v.op |= mod == M_CONTAINS ? FR_START | FR_END : mod == M_STARTSWITH ? FR_START : FR_END;
		else if (t != CV_RE)    /* a regex is searched for anyway: no change */
			return fail(c, "%s cannot apply to a %s", mname, cv_names[t]);
		break;
	case M_BASE64:
	case M_BASE64OFFSET:
		if (text_value(c, &v, mname) < 0)
			return -1;
		if (has_wild(&v))
			return fail(c, "%s: wildcards are not allowed in the value", mname);
		if (mod == M_BASE64) {
			struct cv nv;

			if (base64_cv(c, &v, -1, &nv) < 0)
				return -1;
			return cvl_add(c, out, &nv);
		}
		for (int i = 0; i < 3; i++) {
			struct cv nv;

			if (base64_cv(c, &v, i, &nv) < 0)
				return -1;
			/* pySigma keeps an empty needle for values of one or two
			 * bytes; it would match everything, so it is dropped. */
			if (nv.n > 0 && cvl_add(c, out, &nv) < 0)
				return -1;
		}
		return 0;
	case M_WIDE:
	case M_UTF16BE:
	case M_UTF16:
		if (text_value(c, &v, mname) < 0)
			return -1;
		if (utf16_cv(c, &v, mod == M_UTF16BE, mod == M_UTF16, mname) < 0)
			return -1;
		break;
	case M_WINDASH:
		if (text_value(c, &v, mname) < 0)
			return -1;
		return windash_cv(c, &v, out);
	case M_RE:
		if (applied > 0)
			return fail(c, "re must be the first modifier");
		break;                  /* typed as a regex when the values were read */
	case M_RE_I:
	case M_RE_M:
	case M_RE_S:
		if (t != CV_RE)
			return fail(c, "%s only applies after re", mname);
		v.op |= mod == M_RE_I ? PCRE2_CASELESS : mod == M_RE_M ? PCRE2_MULTILINE : PCRE2_DOTALL;
		break;
	case M_CIDR:
		if (applied > 0)
			return fail(c, "cidr must be the first modifier");
		if (t != CV_STR || v.raw == NULL)
			return fail(c, "cidr needs a string value");
		v.type = CV_CIDR;       /* parsed from v.raw, the text as written */
		break;
	case M_EXISTS:
		if (applied > 0)
			return fail(c, "exists must be the first modifier");
		if (keyword)
			return fail(c, "exists must be applied to a field");
		if (t != CV_BOOL)
			return fail(c, "exists needs true or false");
		v.type = CV_EXISTS;
		break;
	case M_CASED:
		if (t == CV_NUM && num_to_str(c, &v) < 0)
			return -1;
		if (v.type != CV_STR && v.type != CV_FREF)
			return fail(c, "cased cannot apply to a %s", cv_names[v.type]);
		v.cased = 1;
		break;
	case M_GT:
	case M_GTE:
	case M_LT:
	case M_LTE:
	case M_MINUTE:
	case M_HOUR:
	case M_DAY:
	case M_WEEK:
	case M_MONTH:
	case M_YEAR:
		if (t == CV_STR && v.raw != NULL && text_number(v.raw, strlen(v.raw), &v.num))
			t = CV_NUM;     /* '10' quoted: lenient, pySigma refuses */
		if (t != CV_NUM)
			return fail(c, "%s needs a number", mname);
		if (mod >= M_MINUTE) {
			v.type = CV_TIME;
			v.op = mod == M_MINUTE ? SG_MINUTE : mod == M_HOUR ? SG_HOUR : mod == M_DAY ? SG_DAY :
			    mod == M_WEEK ? SG_WEEK : mod == M_MONTH ? SG_MONTH : SG_YEAR;
		} else {
			v.type = CV_CMP;
			v.op = mod == M_GT ? SG_GT : mod == M_GTE ? SG_GTE : mod == M_LT ? SG_LT : SG_LTE;
		}
		break;
	case M_EXPAND:
		if (t == CV_STR || t == CV_RE) {
			const char *s = (const char *)(t == CV_RE ? v.b : (const unsigned char *)v.raw);
			const char *p = s ? strchr(s, '%') : NULL;

			/* %name% would be filled in from configuration that we do
			 * not have: such a rule must not run half-done. */
			while (p != NULL) {
				const char *q = strchr(p + 1, '%');

				if (q == NULL)
					break;
				if (q > p + 1 && (p == s || p[-1] != '\\'))
					return fail(c, "expand: placeholder %.*s has no value (placeholders are not supported)",
					    (int)(q - p + 1), p);
				p = q;
			}
			break;
		}
		return fail(c, "expand cannot apply to a %s", cv_names[t]);
	case M_FIELDREF:
		if (t != CV_STR)
			return fail(c, "fieldref needs a field name");
		if (has_wild(&v))
			return fail(c, "fieldref: wildcards are not allowed in a field name");
		if (keyword)
			return fail(c, "fieldref must be applied to a field");
		v.type = CV_FREF;
		v.op = 0;
		break;
	case M_ALL:
	case M_NEQ:
		break;                  /* item-wide, set by the caller */
	}
	return cvl_add(c, out, &v);
}

/* ---- values to tests ---- */

static int
str_matcher(struct lc *c, const struct cv *v, struct vc_sg_m *m)
{
	struct vc_sg_arena *A = &c->r->arena;
	unsigned char *s = vc_sg_alloc(A, v->n + 1);
	size_t none = 0, inner = 0;

	if (s == NULL)
		return oom(c);
	memcpy(s, v->b, v->n);
	m->cased = (uint8_t)v->cased;
	if (!v->cased)
		for (size_t i = 0; i < v->n; i++)
			if (!v->w[i] && s[i] >= 'A' && s[i] <= 'Z')
				s[i] = (unsigned char)(s[i] + 32);
	for (size_t i = 0; i < v->n; i++) {
		none += v->w[i] == 2;
		inner += v->w[i] && i > 0 && i + 1 < v->n;
	}
	int lead = v->n > 0 && v->w[0] == 1, tail = v->n > 0 && v->w[v->n - 1] == 1;
	if (none == 0 && inner == 0) {
		/* No wildcard but at the ends: a plain comparison.  A lone '*'
		 * is both ends: any value. */
		size_t a = (size_t)lead, b = v->n - (size_t)(tail && v->n > (size_t)lead);

		m->s = s + a;
		m->n = b - a;
		m->kind = lead && tail ? SG_CONTAINS : lead ? SG_SUFFIX : tail ? SG_PREFIX : SG_EQ;
		if (v->n == 1 && lead)
			m->kind = SG_CONTAINS;
		return 0;
	}
	/* A general glob: literal runs, '*' (runs merged) and '?'. */
	m->kind = SG_GLOB;
	m->tok = vc_sg_alloc(A, sizeof *m->tok * (v->n + 1));
	if (m->tok == NULL)
		return oom(c);
	for (size_t i = 0; i < v->n;) {
		if (v->w[i] == 1) {
			if (m->ntok == 0 || m->tok[m->ntok - 1].t != SG_TOK_STAR)
				m->tok[m->ntok++].t = SG_TOK_STAR;
			i++;
		} else if (v->w[i] == 2) {
			m->tok[m->ntok++].t = SG_TOK_ONE;
			i++;
		} else {
			size_t j = i;

			while (j < v->n && !v->w[j])
				j++;
			m->tok[m->ntok].t = SG_TOK_LIT;
			m->tok[m->ntok].s = s + i;
			m->tok[m->ntok++].n = j - i;
			i = j;
		}
	}
	return 0;
}

/*
 * Rules are written for Python's re (pySigma).  The few spellings that
 * PCRE2 10.42 reads differently are rewritten: "{,n}" (Python: {0,n};
 * PCRE2 before 10.43: literal text), "\Z" (Python: the very end, PCRE's
 * \z), "\uHHHH" and "\UHHHHHHHH" (PCRE's \x{...}).  Nothing is
 * rewritten inside a character class except the escapes.
 */
static char *
py_regex(struct lc *c, const unsigned char *s, size_t n, size_t *outn)
{
	char *o = vc_sg_alloc(&c->tmp, n * 2 + 16);
	size_t k = 0;
	int in_class = 0;

	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n) {
			size_t hex = s[i + 1] == 'u' ? 4 : s[i + 1] == 'U' ? 8 : 0, j;

			for (j = 0; hex && j < hex && i + 2 + j < n && strchr("0123456789abcdefABCDEF", s[i + 2 + j]) &&
			    s[i + 2 + j] != '\0'; j++)
				;
			if (hex && j == hex) {
				k += (size_t)snprintf(o + k, 16, "\\x{%.*s}", (int)hex, (const char *)s + i + 2);
				i += 1 + hex;
				continue;
			}
			if (s[i + 1] == 'Z' && !in_class) {
				o[k++] = '\\';
				o[k++] = 'z';
				i++;
				continue;
			}
			o[k++] = (char)s[i++];
			o[k++] = (char)s[i];
			continue;
		}
		if (in_class) {
			if (s[i] == ']')
				in_class = 0;
		} else if (s[i] == '[') {
			in_class = 1;
			o[k++] = (char)s[i];
			/* "[]...]" and "[^]...]": that ']' is a member */
			if (i + 1 < n && s[i + 1] == '^')
				o[k++] = (char)s[++i];
			if (i + 1 < n && s[i + 1] == ']')
				o[k++] = (char)s[++i];
			continue;
		} else if (s[i] == '{' && i + 1 < n && s[i + 1] == ',') {
			size_t j = i + 2;

			while (j < n && s[j] >= '0' && s[j] <= '9')
				j++;
			if (j > i + 2 && j < n && s[j] == '}') {
				o[k++] = '{';
				o[k++] = '0';
				continue;
			}
		}
		o[k++] = (char)s[i];
	}
	o[k] = '\0';
	*outn = k;
	return o;
}

static int
re_matcher(struct lc *c, const struct cv *v, struct vc_sg_m *m)
{
	int errcode;
	PCRE2_SIZE erroff;
	pcre2_code *re;
	struct vc_sg_rule *r = c->r;
	size_t pn;
	char *pat = py_regex(c, v->b, v->n, &pn);

	if (pat == NULL)
		return oom(c);
	/* UCP: \w, \d, \s and \b are Unicode-aware, as in Python's re. */
	re = pcre2_compile((PCRE2_SPTR)pat, pn, (uint32_t)v->op | PCRE2_UTF | PCRE2_UCP |
	    PCRE2_MATCH_INVALID_UTF, &errcode, &erroff, NULL);
	if (re == NULL) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(errcode, msg, sizeof msg);
		return fail(c, "re: '%.*s': %s at offset %zu", (int)(v->n > 80 ? 80 : v->n),
		    (const char *)v->b, (const char *)msg, (size_t)erroff);
	}
	/* Without JIT (e.g. no executable memory) the interpreter is used. */
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	if (r->nre == r->capre) {
		int nc = r->capre ? r->capre * 2 : 4;
		pcre2_code **p = realloc(r->re, sizeof *p * (size_t)nc);

		if (p == NULL) {
			pcre2_code_free(re);
			return oom(c);
		}
		r->re = p;
		r->capre = nc;
	}
	r->re[r->nre++] = re;
	m->kind = SG_RE;
	m->re = re;
	return 0;
}

static int
to_matcher(struct lc *c, struct cv *v, struct vc_sg_m *m, int keyword)
{
	char t[40];

	memset(m, 0, sizeof *m);
	if (keyword && v->type == CV_NUM) {
		if (num_to_str(c, v) < 0)
			return -1;
	} else if (keyword && v->type == CV_BOOL) {
		if (str_from_text(c, v, v->bval ? "true" : "false", v->bval ? 4 : 5, 0) < 0)
			return -1;
	}
	switch (v->type) {
	case CV_STR:
		/* A keyword is found anywhere in a value, as offline matchers do. */
		if (keyword && wrap_star(c, v, 1, 1) < 0)
			return -1;
		return str_matcher(c, v, m);
	case CV_NUM:
		num_text(v->num, t, sizeof t);
		m->kind = SG_NUMEQ;
		m->num = v->num;
		m->n = strlen(t);
		if ((m->s = (unsigned char *)vc_sg_strndup(&c->r->arena, t, m->n)) == NULL)
			return oom(c);
		return 0;
	case CV_BOOL:
		m->kind = SG_EQ;
		m->s = (const unsigned char *)(v->bval ? "true" : "false");
		m->n = v->bval ? 4 : 5;
		return 0;
	case CV_NULL:
		if (keyword)
			return fail(c, "a null value must be bound to a field");
		m->kind = SG_NULL;
		return 0;
	case CV_RE:
		return re_matcher(c, v, m);
	case CV_CIDR:
		m->kind = SG_CIDR;
		return cidr_parse(c, v->raw, m);
	case CV_EXISTS:
		m->kind = SG_EXISTS;
		m->op = (uint8_t)v->bval;
		return 0;
	case CV_FREF: {
		char *name = vc_sg_strndup(&c->tmp, (const char *)v->b, v->n);

		if (name == NULL)
			return oom(c);
		m->kind = SG_FIELDREF;
		m->cased = (uint8_t)v->cased;
		m->op = v->op == (FR_START | FR_END) ? SG_CONTAINS : v->op == FR_START ? SG_PREFIX :
		    v->op == FR_END ? SG_SUFFIX : SG_EQ;
		if ((m->field = vc_sg_field_intern(c->set, name)) < 0)
			return oom(c);
		return 0;
	}
	case CV_CMP:
		m->kind = SG_CMP;
		m->op = (uint8_t)v->op;
		m->num = v->num;
		return 0;
	case CV_TIME:
		m->kind = SG_TIME;
		m->op = (uint8_t)v->op;
		m->num = v->num;
		return 0;
	}
	return fail(c, "internal: value type %d", v->type);
}

/* A scalar from YAML as a value before modifiers. */
static int
read_value(struct lc *c, jv x, int as_re, struct cv *v)
{
	jv_kind k = jv_get_kind(x);

	memset(v, 0, sizeof *v);
	if (as_re) {
		char t[40];
		const char *s;

		if (k == JV_KIND_STRING)
			s = jv_string_value(x);
		else if (k == JV_KIND_NUMBER) {
			num_text(jv_number_value(x), t, sizeof t);
			s = t;
		} else
			return fail(c, "re needs a string value");
		if (str_from_text(c, v, s, strlen(s), 0) < 0)
			return -1;
		v->type = CV_RE;
		v->w = NULL;
		return 0;
	}
	switch (k) {
	case JV_KIND_STRING:
		return str_from_text(c, v, jv_string_value(x), (size_t)jv_string_length_bytes(jv_copy(x)), 1);
	case JV_KIND_NUMBER:
		v->type = CV_NUM;
		v->num = jv_number_value(x);
		return 0;
	case JV_KIND_TRUE:
	case JV_KIND_FALSE:
		v->type = CV_BOOL;
		v->bval = k == JV_KIND_TRUE;
		return 0;
	case JV_KIND_NULL:
		v->type = CV_NULL;
		return 0;
	default:
		return fail(c, "a value list may only hold plain values, not lists or maps");
	}
}

/* "field|mod|mod": value(s) -> an item.  key NULL: plain keywords. */
static struct vc_sg_item *
compile_item(struct lc *c, const char *key, jv val)
{
	char field[256];
	const char *mods[32];
	char modbuf[256];
	int nmods = 0, ids[32], as_re = 0;
	struct vc_sg_item *it = vc_sg_alloc(&c->r->arena, sizeof *it);
	jv list;
	int nv;

	if (it == NULL)
		return oom(c), NULL;
	field[0] = '\0';
	if (key != NULL) {
		const char *bar = strchr(key, '|');
		size_t flen = bar ? (size_t)(bar - key) : strlen(key);

		if (flen >= sizeof field || (bar && strlen(bar) >= sizeof modbuf))
			return fail(c, "field name or modifiers too long"), NULL;
		memcpy(field, key, flen);
		field[flen] = '\0';
		if (bar != NULL) {
			char *p = modbuf;

			memcpy(modbuf, bar + 1, strlen(bar));
			for (;;) {
				char *q = strchr(p, '|');

				if (q)
					*q = '\0';
				if (nmods == 32)
					return fail(c, "too many modifiers"), NULL;
				mods[nmods] = p;
				if ((ids[nmods] = mod_id(p)) < 0)
					return fail(c, "unknown modifier '%s'", p), NULL;
				if (ids[nmods] == M_RE) {
					if (nmods > 0)
						return fail(c, "re must be the first modifier"), NULL;
					as_re = 1;
				}
				nmods++;
				if (!q)
					break;
				p = q + 1;
			}
		}
	}
	int keyword = field[0] == '\0';
	if (keyword)
		it->field = -1;
	else if ((it->field = vc_sg_field_intern(c->set, field)) < 0)
		return oom(c), NULL;
	for (int i = 0; i < nmods; i++) {
		if (ids[i] == M_ALL)
			it->all = 1;
		if (ids[i] == M_NEQ)
			it->neg = 1;
	}

	list = jv_get_kind(val) == JV_KIND_ARRAY ? jv_copy(val) : jv_array_append(jv_array(), jv_copy(val));
	nv = ALEN(list);
	if (nv == 0) {
		/* pySigma: an empty list means the field is null. */
		jv_free(list);
		if (keyword)
			return fail(c, "an empty keyword list"), NULL;
		it->n = 1;
		it->g = vc_sg_alloc(&c->r->arena, sizeof *it->g);
		if (it->g == NULL || (it->g[0].m = vc_sg_alloc(&c->r->arena, sizeof *it->g[0].m)) == NULL)
			return oom(c), NULL;
		it->g[0].n = 1;
		it->g[0].m[0].kind = SG_NULL;
		return it;
	}
	it->g = vc_sg_alloc(&c->r->arena, sizeof *it->g * (size_t)nv);
	if (it->g == NULL) {
		jv_free(list);
		return oom(c), NULL;
	}
	for (int i = 0; i < nv; i++) {
		jv x = AGET(list, i);
		struct cvl cur = { 0 };
		struct cv v;
		int rc = read_value(c, x, as_re, &v);

		jv_free(x);
		if (rc < 0 || cvl_add(c, &cur, &v) < 0)
			break;
		for (int k = 0; k < nmods && !c->failed; k++) {
			struct cvl next = { 0 };

			for (int j = 0; j < cur.n && !c->failed; j++)
				apply_mod(c, ids[k], mods[k], cur.v[j], k, &next, keyword);
			cur = next;
		}
		if (c->failed)
			break;
		if (cur.n == 0) {
			fail(c, "a value has no needle left after its modifiers");
			break;
		}
		struct vc_sg_group *g = &it->g[it->n++];
		g->m = vc_sg_alloc(&c->r->arena, sizeof *g->m * (size_t)cur.n);
		if (g->m == NULL) {
			oom(c);
			break;
		}
		for (int j = 0; j < cur.n && !c->failed; j++)
			to_matcher(c, &cur.v[j], &g->m[g->n++], keyword);
	}
	jv_free(list);
	return c->failed ? NULL : it;
}

static struct vc_sg_node *
node_new(struct lc *c, int op, int n)
{
	struct vc_sg_node *nd = vc_sg_alloc(&c->r->arena, sizeof *nd);

	if (nd == NULL || (n > 0 && (nd->kid = vc_sg_alloc(&c->r->arena, sizeof *nd->kid * (size_t)n)) == NULL)) {
		oom(c);
		return NULL;
	}
	nd->op = (uint8_t)op;
	return nd;
}

static int
is_plain(jv x)
{
	jv_kind k = jv_get_kind(x);

	return k == JV_KIND_STRING || k == JV_KIND_NUMBER || k == JV_KIND_TRUE ||
	    k == JV_KIND_FALSE || k == JV_KIND_NULL;
}

/*
 * A search identifier's definition (pySigma's SigmaDetection): a map is
 * the AND of its entries, a list of plain values is one keyword entry,
 * any other list is the OR of its elements, a plain value is a keyword.
 */
static struct vc_sg_node *
compile_detection(struct lc *c, jv def, int depth)
{
	struct vc_sg_node *nd;
	jv_kind k = jv_get_kind(def);

	if (depth > 16)
		return fail(c, "search identifier nested too deeply"), NULL;
	if (k == JV_KIND_OBJECT) {
		int n = jv_object_length(jv_copy(def));

		if (n == 0)
			return fail(c, "an empty search identifier"), NULL;
		if ((nd = node_new(c, SG_N_AND, n)) == NULL)
			return NULL;
		for (int it = jv_object_iter(def); jv_object_iter_valid(def, it) && !c->failed;
		    it = jv_object_iter_next(def, it)) {
			jv key = jv_object_iter_key(def, it), v = jv_object_iter_value(def, it);
			struct vc_sg_node *leaf = node_new(c, SG_N_ITEM, 0);

			if (leaf != NULL && (leaf->item = compile_item(c, jv_string_value(key), v)) != NULL)
				nd->kid[nd->n++] = leaf;
			jv_free(key);
			jv_free(v);
		}
		return c->failed ? NULL : nd;
	}
	if (k == JV_KIND_ARRAY) {
		int n = ALEN(def), plain = 1;

		if (n == 0)
			return fail(c, "an empty search identifier"), NULL;
		for (int i = 0; i < n; i++) {
			jv x = AGET(def, i);

			plain &= is_plain(x);
			jv_free(x);
		}
		if (plain) {
			if ((nd = node_new(c, SG_N_ITEM, 0)) == NULL || (nd->item = compile_item(c, NULL, def)) == NULL)
				return NULL;
			return nd;
		}
		if ((nd = node_new(c, SG_N_OR, n)) == NULL)
			return NULL;
		for (int i = 0; i < n && !c->failed; i++) {
			jv x = AGET(def, i);
			struct vc_sg_node *kid = compile_detection(c, x, depth + 1);

			if (kid != NULL)
				nd->kid[nd->n++] = kid;
			jv_free(x);
		}
		return c->failed ? NULL : nd;
	}
	if (is_plain(def)) {
		if ((nd = node_new(c, SG_N_ITEM, 0)) == NULL || (nd->item = compile_item(c, NULL, def)) == NULL)
			return NULL;
		return nd;
	}
	return fail(c, "a search identifier must be a map, a list or a value"), NULL;
}

/* ---- condition ---- */

struct cp {                             /* condition parser */
	struct lc *c;
	const char *s;
	size_t pos;
	char tok[128];
	int tt;                         /* token type */
	int depth;
};
enum { T_END, T_LP, T_RP, T_WORD };

static int
next_tok(struct cp *p)
{
	const char *s = p->s;

	while (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' || s[p->pos] == '\r')
		p->pos++;
	p->tok[0] = '\0';
	if (s[p->pos] == '\0')
		return p->tt = T_END;
	if (s[p->pos] == '(' || s[p->pos] == ')') {
		p->tok[0] = s[p->pos];
		p->tok[1] = '\0';
		return p->tt = s[p->pos++] == '(' ? T_LP : T_RP;
	}
	if (s[p->pos] == '|')
		return fail(p->c, "condition: aggregations ('| count() ...') are deprecated and not supported");
	size_t b = p->pos;
	while (s[p->pos] && (strchr("_-*.", s[p->pos]) || (s[p->pos] >= 'a' && s[p->pos] <= 'z') ||
	    (s[p->pos] >= 'A' && s[p->pos] <= 'Z') || (s[p->pos] >= '0' && s[p->pos] <= '9')))
		p->pos++;
	if (p->pos == b)
		return fail(p->c, "condition: unexpected character '%c'", s[p->pos]);
	if (p->pos - b >= sizeof p->tok)
		return fail(p->c, "condition: identifier too long");
	memcpy(p->tok, s + b, p->pos - b);
	p->tok[p->pos - b] = '\0';
	return p->tt = T_WORD;
}

static int
is_kw(const struct cp *p, const char *w)
{
	return p->tt == T_WORD && strcmp(p->tok, w) == 0;
}

/* Whole-name glob with '*' only. */
static int
name_match(const char *pat, const char *s)
{
	if (*pat == '\0')
		return *s == '\0';
	if (*pat == '*') {
		for (;; s++) {
			if (name_match(pat + 1, s))
				return 1;
			if (*s == '\0')
				return 0;
		}
	}
	return *s == *pat && name_match(pat + 1, s + 1);
}

static struct vc_sg_node *sel_node(struct lc *c, int i);

static struct vc_sg_node *p_or(struct cp *p);

static struct vc_sg_node *
p_atom(struct cp *p)
{
	struct lc *c = p->c;
	struct vc_sg_node *nd;

	if (p->tt == T_LP) {
		if (++p->depth > MAX_COND_DEPTH)
			return fail(c, "condition nested too deeply"), NULL;
		if (next_tok(p) < 0 || (nd = p_or(p)) == NULL)
			return NULL;
		if (p->tt != T_RP)
			return fail(c, "condition: missing ')'"), NULL;
		p->depth--;
		return next_tok(p) < 0 ? NULL : nd;
	}
	if (p->tt != T_WORD)
		return fail(c, "condition: unexpected %s", p->tt == T_END ? "end" : "')'"), NULL;
	if (is_kw(p, "and") || is_kw(p, "or") || is_kw(p, "of") || is_kw(p, "them"))
		return fail(c, "condition: unexpected '%s'", p->tok), NULL;

	/* "1 of", "any of", "all of": look one token ahead. */
	char first[sizeof p->tok];
	memcpy(first, p->tok, sizeof first);
	if (next_tok(p) < 0)
		return NULL;
	if (is_kw(p, "of")) {
		int all;

		if (strcmp(first, "all") == 0)
			all = 1;
		else if (strcmp(first, "1") == 0 || strcmp(first, "any") == 0)
			all = 0;
		else
			return fail(c, "condition: '%s of' is not supported (only 1, any, all)", first), NULL;
		if (next_tok(p) < 0)
			return NULL;
		if (p->tt != T_WORD)
			return fail(c, "condition: '%s of' needs 'them' or a pattern", first), NULL;
		int them = strcmp(p->tok, "them") == 0, n = ALEN(c->names), k = 0;
		if ((nd = node_new(c, all ? SG_N_AND : SG_N_OR, n)) == NULL)
			return NULL;
		for (int i = 0; i < n; i++) {
			jv name = AGET(c->names, i);
			const char *s = jv_string_value(name);
			/* "them" and patterns not starting with '_' skip _names. */
			int hit = s[0] == '_' && (them || p->tok[0] != '_') ? 0 :
			    them ? 1 : name_match(p->tok, s);

			jv_free(name);
			if (hit) {
				if ((nd->kid[k] = sel_node(c, i)) == NULL)
					return NULL;
				k++;
			}
		}
		if (k == 0)
			return fail(c, "condition: '%s' matches no search identifier", p->tok), NULL;
		nd->n = k;
		return next_tok(p) < 0 ? NULL : nd;
	}
	/* A plain identifier: first; the lookahead token stays current. */
	if (strchr(first, '*') != NULL)
		return fail(c, "condition: pattern '%s' needs '1 of' or 'all of'", first), NULL;
	for (int i = 0, n = ALEN(c->names); i < n; i++) {
		jv name = AGET(c->names, i);
		int eq = strcmp(jv_string_value(name), first) == 0;

		jv_free(name);
		if (eq)
			return sel_node(c, i);
	}
	return fail(c, "condition: '%s' is not a search identifier", first), NULL;
}

static struct vc_sg_node *
p_not(struct cp *p)
{
	if (is_kw(p, "not")) {
		struct vc_sg_node *nd, *kid;

		if (++p->depth > MAX_COND_DEPTH)
			return fail(p->c, "condition nested too deeply"), NULL;
		if (next_tok(p) < 0 || (kid = p_not(p)) == NULL)
			return NULL;
		p->depth--;
		if ((nd = node_new(p->c, SG_N_NOT, 1)) == NULL)
			return NULL;
		nd->kid[nd->n++] = kid;
		return nd;
	}
	return p_atom(p);
}

/* Left-associative chains, flattened into one node. */
static struct vc_sg_node *
p_chain(struct cp *p, const char *op, int nop, struct vc_sg_node *(*sub)(struct cp *))
{
	struct vc_sg_node *kids[128], *nd;
	int n = 0;

	if ((kids[n++] = sub(p)) == NULL)
		return NULL;
	while (is_kw(p, op)) {
		if (n == 128)
			return fail(p->c, "condition too long"), NULL;
		if (next_tok(p) < 0 || (kids[n++] = sub(p)) == NULL)
			return NULL;
	}
	if (n == 1)
		return kids[0];
	if ((nd = node_new(p->c, nop, n)) == NULL)
		return NULL;
	memcpy(nd->kid, kids, sizeof *kids * (size_t)n);
	nd->n = n;
	return nd;
}

static struct vc_sg_node *
p_and(struct cp *p)
{
	return p_chain(p, "and", SG_N_AND, p_not);
}

static struct vc_sg_node *
p_or(struct cp *p)
{
	return p_chain(p, "or", SG_N_OR, p_and);
}

static struct vc_sg_node *
sel_node(struct lc *c, int i)
{
	struct vc_sg_node *nd = node_new(c, SG_N_SEL, 0);

	if (nd != NULL)
		nd->sel = i;
	return nd;
}

static struct vc_sg_node *
compile_condition(struct lc *c, const char *s)
{
	struct cp p = { .c = c, .s = s };
	struct vc_sg_node *nd;

	if (next_tok(&p) < 0)
		return NULL;
	if (p.tt == T_END)
		return fail(c, "condition is empty"), NULL;
	if ((nd = p_or(&p)) == NULL)
		return NULL;
	if (p.tt != T_END)
		return fail(c, "condition: unexpected '%s'", p.tok), NULL;
	return nd;
}

/* ---- the rule ---- */

static const char *const levels[] = { "informational", "low", "medium", "high", "critical" };
static const char *const statuses[] = { "stable", "test", "experimental", "deprecated", "unsupported" };

static int
in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* The metadata the indicator carries; checks the required keys. */
static int
rule_meta(struct lc *c, jv doc)
{
	jv title = OGET(doc, "title"), id = OGET(doc, "id"), level = OGET(doc, "level");
	jv author = OGET(doc, "author"), tags = OGET(doc, "tags"), status = OGET(doc, "status");
	jv ls = OGET(doc, "logsource");
	int rc = 0;

	if (jv_get_kind(title) != JV_KIND_STRING || jv_string_value(title)[0] == '\0')
		rc = fail(c, "no title");
	else if (jv_get_kind(ls) != JV_KIND_OBJECT)
		rc = fail(c, "no logsource");
	else if (jv_get_kind(level) != JV_KIND_INVALID && jv_get_kind(level) != JV_KIND_NULL &&
	    (jv_get_kind(level) != JV_KIND_STRING || !in_list(jv_string_value(level), levels, 5)))
		rc = fail(c, "unknown level");
	else if (jv_get_kind(status) != JV_KIND_INVALID && jv_get_kind(status) != JV_KIND_NULL &&
	    (jv_get_kind(status) != JV_KIND_STRING || !in_list(jv_string_value(status), statuses, 5)))
		rc = fail(c, "unknown status");
	if (rc < 0)
		goto out;

	if (jv_get_kind(id) == JV_KIND_NUMBER) {
		char t[40];

		num_text(jv_number_value(id), t, sizeof t);
		jv_free(id);
		id = jv_string(t);
	} else if (jv_get_kind(id) != JV_KIND_STRING) {
		jv_free(id);
		id = jv_null();
	}
	if (jv_get_kind(level) != JV_KIND_STRING) {
		jv_free(level);
		level = jv_null();
	}
	/* DRL 1.1: every alert carries the author; a list is joined. */
	if (jv_get_kind(author) == JV_KIND_ARRAY) {
		jv s = jv_string("");

		for (int i = 0, n = ALEN(author); i < n; i++) {
			jv a = AGET(author, i);

			if (jv_get_kind(a) == JV_KIND_STRING)
				s = jv_string_concat(jv_string_length_bytes(jv_copy(s)) ? jv_string_append_str(s, ", ") : s, a);
			else
				jv_free(a);
		}
		jv_free(author);
		author = s;
	} else if (jv_get_kind(author) != JV_KIND_STRING) {
		jv_free(author);
		author = jv_null();
	}
	jv tl = jv_array();
	if (jv_get_kind(tags) == JV_KIND_ARRAY) {
		for (int i = 0, n = ALEN(tags); i < n; i++) {
			jv t = AGET(tags, i);

			if (jv_get_kind(t) == JV_KIND_STRING)
				tl = jv_array_append(tl, t);
			else
				jv_free(t);
		}
	}
	c->r->guard = vc_sg_guard_for(c->set, ls);
	/* With a mapping of log sources, a rule must have one. */
	if (c->r->guard < 0 && c->set->nguards > 0) {
		jv d = jv_dump_string(jv_copy(ls), 0);

		rc = fail(c, "logsource %s: no mapping covers it (the map's \"logsources\")",
		    jv_string_value(d));
		jv_free(d);
		jv_free(tl);
		goto out;
	}
	if (jv_get_kind(id) == JV_KIND_STRING &&
	    (c->r->id = vc_sg_strndup(&c->r->arena, jv_string_value(id), strlen(jv_string_value(id)))) == NULL)
		rc = oom(c);
	c->r->meta = JV_OBJECT(jv_string("kind"), jv_string("sigma"), jv_string("id"), id,
	    jv_string("title"), jv_copy(title), jv_string("level"), level);
	c->r->meta = jv_object_set(c->r->meta, jv_string("author"), author);
	c->r->meta = jv_object_set(c->r->meta, jv_string("tags"), tl);
	id = level = author = jv_invalid();
out:
	jv_free(title);
	jv_free(id);
	jv_free(level);
	jv_free(author);
	jv_free(tags);
	jv_free(status);
	jv_free(ls);
	return rc;
}

static int
compile_body(struct lc *c, jv doc)
{
	jv det = OGET(doc, "detection"), cond;
	int rc = -1, n = 0;

	if (jv_get_kind(det) != JV_KIND_OBJECT) {
		jv_free(det);
		return fail(c, "no detection");
	}
	cond = OGET(det, "condition");
	if (jv_get_kind(cond) != JV_KIND_STRING && jv_get_kind(cond) != JV_KIND_ARRAY) {
		fail(c, "detection has no condition");
		goto out;
	}
	/* Identifiers: every key but condition (and the legacy timeframe,
	 * which only an aggregation would use). */
	c->names = jv_array();
	for (int it = jv_object_iter(det); jv_object_iter_valid(det, it); it = jv_object_iter_next(det, it)) {
		jv k = jv_object_iter_key(det, it);

		if (strcmp(jv_string_value(k), "condition") != 0 && strcmp(jv_string_value(k), "timeframe") != 0)
			c->names = jv_array_append(c->names, k), n++;
		else
			jv_free(k);
	}
	if (n == 0) {
		fail(c, "detection has no search identifiers");
		goto out;
	}
	c->r->nsel = n;
	c->r->sel = vc_sg_alloc(&c->r->arena, sizeof *c->r->sel * (size_t)n);
	c->r->selname = vc_sg_alloc(&c->r->arena, sizeof *c->r->selname * (size_t)n);
	if (c->r->sel == NULL || c->r->selname == NULL) {
		oom(c);
		goto out;
	}
	for (int i = 0; i < n && !c->failed; i++) {
		jv name = AGET(c->names, i);
		jv def = jv_object_get(jv_copy(det), jv_copy(name));
		const char *s = jv_string_value(name);

		c->r->selname[i] = vc_sg_strndup(&c->r->arena, s, strlen(s));
		c->r->sel[i] = compile_detection(c, def, 0);
		if (c->r->sel[i] == NULL && !c->failed)
			oom(c);
		if (c->failed && strncmp(c->err, "out of memory", 13) != 0) {
			/* Say which identifier. */
			char tmp[512];

			snprintf(tmp, sizeof tmp, "%s: %s", s, c->err);
			snprintf(c->err, c->errn, "%s", tmp);
		}
		jv_free(name);
		jv_free(def);
	}
	if (c->failed)
		goto out;
	if (jv_get_kind(cond) == JV_KIND_STRING)
		c->r->cond = compile_condition(c, jv_string_value(cond));
	else {
		/* A list of conditions: their OR. */
		int nc = ALEN(cond);
		struct vc_sg_node *nd = nc > 0 ? node_new(c, SG_N_OR, nc) : NULL;

		if (nc == 0)
			fail(c, "condition is an empty list");
		for (int i = 0; nd != NULL && i < nc && !c->failed; i++) {
			jv one = AGET(cond, i);

			if (jv_get_kind(one) != JV_KIND_STRING)
				fail(c, "condition list holds a non-string");
			else if ((nd->kid[nd->n] = compile_condition(c, jv_string_value(one))) != NULL)
				nd->n++;
			jv_free(one);
		}
		c->r->cond = c->failed ? NULL : nd;
	}
	if (c->r->cond != NULL && !c->failed)
		rc = 0;
out:
	jv_free(det);
	jv_free(cond);
	return rc;
}

void
vc_sg_rule_free(struct vc_sg_rule *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < r->nre; i++)
		pcre2_code_free(r->re[i]);
	free(r->re);
	jv_free(r->meta);
	vc_sg_arena_free(&r->arena);
	free(r);
}

/* doc (an object) has the member k, whatever its value. */
static int
has(jv doc, const char *k)
{
	jv x = OGET(doc, k);
	int r = jv_is_valid(x);

	jv_free(x);
	return r;
}

int
vc_sg_compile_rule(struct vc_sigma_set *set, jv doc, struct vc_sg_rule **out, char *err, size_t errn)
{
	struct lc c = { .set = set, .err = err, .errn = errn, .names = jv_invalid() };
	struct vc_sg_rule *r;
	int rc;

	*out = NULL;
	err[0] = '\0';
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		snprintf(err, errn, "not a YAML map");
		return -1;
	}
	if (has(doc, "correlation")) {
		snprintf(err, errn, "correlation rules are not supported");
		return -1;
	}
	if (has(doc, "action")) {
		snprintf(err, errn, "rule collections with 'action' (Sigma 1 global/reset/repeat) are not supported");
		return -1;
	}
	if (has(doc, "filter") && !has(doc, "detection")) {
		snprintf(err, errn, "Sigma filter documents are not supported");
		return -1;
	}
	if ((r = calloc(1, sizeof *r)) == NULL) {
		snprintf(err, errn, "out of memory");
		return -1;
	}
	r->meta = jv_invalid();
	r->guard = -1;
	c.r = r;
	vc_sg_arena_init(&c.tmp, NULL, 0);
	rc = rule_meta(&c, doc);
	if (rc == 0)
		rc = compile_body(&c, doc);
	vc_sg_arena_free(&c.tmp);
	jv_free(c.names);
	if (rc < 0 || c.failed) {
		if (!c.failed)
			snprintf(err, errn, "out of memory");
		vc_sg_rule_free(r);
		return -1;
	}
	*out = r;
	return 0;
}
