/* SPDX-License-Identifier: MIT */
/* jscan.c - validate one JSON text without allocating; pick top-level members. */
#include <string.h>

#include "json/jscan.h"

struct sc {
	const char *p, *end;
	const char *err;
};

#define WS(c) ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')

static void
skip_ws(struct sc *s)
{
	while (s->p < s->end && WS(*s->p))
		s->p++;
}

static int
hexd(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The value of four hex digits at p (checked by the caller). */
static unsigned
hex4(const char *p)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* Is there a \u escape (four hex digits) of a low surrogate (U+DC00..U+DFFF) at p? */
static int
low_surrogate(const char *p, const char *end)
{
	if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hexd(p[2]) || !hexd(p[3]) ||
	    !hexd(p[4]) || !hexd(p[5]))
		return 0;
	return hex4(p + 2) >= 0xdc00 && hex4(p + 2) <= 0xdfff;
}

/* At '"': scan the string; returns 0 ok.  *esc says whether it had escapes. */
static int
str(struct sc *s, int *esc)
{
	const char *p = s->p + 1, *end = s->end;

	*esc = 0;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			s->p = p + 1;
			return 0;
		}
		if (c < 0x20) {
			s->p = p;
			s->err = "control character in a string";
			return -1;
		}
		if (c == '\\') {
			*esc = 1;
			if (++p >= end)
				break;
			switch (*p) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				p++;
				continue;
			case 'u':
				if (end - p < 5 || !hexd(p[1]) || !hexd(p[2]) || !hexd(p[3]) || !hexd(p[4])) {
					s->p = p;
					s->err = "bad \\u escape";
					return -1;
				}
				/* A high surrogate must have its low half next:
				 * libjq refuses the text otherwise, and what jscan
				 * accepts, jq must read. */
				if (hex4(p + 1) >= 0xd800 && hex4(p + 1) <= 0xdbff) {
					if (!low_surrogate(p + 5, end)) {
						s->p = p;
						s->err = "bad \\u surrogate pair";
						return -1;
					}
					p += 6;
				}
				p += 5;
				continue;
			default:
				s->p = p;
				s->err = "bad escape in a string";
				return -1;
			}
		}
		p++;
	}
	s->p = end;
	s->err = "unterminated string";
	return -1;
}

static int
num(struct sc *s)
{
	const char *p = s->p, *end = s->end;

	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9')
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	else
		goto bad;
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			goto bad;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			goto bad;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	s->p = p;
	return 0;
bad:
	s->p = p;
	s->err = "bad number";
	return -1;
}

static int
word(struct sc *s, const char *w, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0) {
		s->err = "unknown literal";
		return -1;
	}
	s->p += n;
	return 0;
}

/* Take byte c off the front of *w, if it is there. */
static int
eat(const unsigned char **w, unsigned c)
{
	if (**w == '\0' || **w != c)
		return 0;
	(*w)++;
	return 1;
}

/*
 * The code point of the escape at k[*i] (a backslash, in a string str()
 * accepted), as libjq decodes it; *i moves past it.  A lone low
 * surrogate reads as U+FFFD.
 */
static unsigned
escape_cp(const char *k, size_t *i)
{
	unsigned cp;

	switch (k[*i + 1]) {
	case 'b': cp = '\b'; break;
	case 'f': cp = '\f'; break;
	case 'n': cp = '\n'; break;
	case 'r': cp = '\r'; break;
	case 't': cp = '\t'; break;
	case 'u': cp = hex4(k + *i + 2); break;
	default: cp = (unsigned char)k[*i + 1]; break;      /* " \ / */
	}
	if (k[*i + 1] != 'u')
		*i += 2;
	else if (cp >= 0xd800 && cp <= 0xdbff) {
		cp = 0x10000 + ((cp - 0xd800) << 10 | (hex4(k + *i + 8) - 0xdc00));
		*i += 12;
	} else {
		if (cp >= 0xdc00 && cp <= 0xdfff)
			cp = 0xfffd;
		*i += 6;
	}
	return cp;
}

/* The UTF-8 bytes of cp into out (room for 4); returns how many. */
static size_t
utf8_put(unsigned cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Does the member name k[0..n) (the inside of a string str() accepted)
 * spell want, once its escapes are decoded as libjq decodes them?  A
 * name is found whatever its spelling: "Client\u0049d" is ClientId to
 * every reader of the row, so it is to jscan too.
 */
static int
key_eq(const char *k, size_t n, const char *want)
{
	const unsigned char *w = (const unsigned char *)want;
	unsigned char u[4];
	size_t i = 0, m;

	while (i < n) {
		if (k[i] != '\\') {
			if (!eat(&w, (unsigned char)k[i++]))
				return 0;
			continue;
		}
		m = utf8_put(escape_cp(k, &i), u);
		for (size_t j = 0; j < m; j++)
			if (!eat(&w, u[j]))
				return 0;
	}
	return *w == '\0';
}

size_t
vc_jscan_unescape(const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		if (s[i] != '\\')
			out[o++] = s[i++];
		else
			o += utf8_put(escape_cp(s, &i), (unsigned char *)out + o);
	}
	return o;
}

/*
 * The scanner.  fields: members of a top-level object to find; each: the
 * callback for every element of a top-level array (nonzero stops: the
 * scan then returns 0 with *err "stopped").
 */
static int
scan(const char *buf, size_t n, struct vc_jscan_field *fields, int nfields,
    int (*each)(void *, const char *, size_t), void *arg, const char **err, size_t *at)
{
	struct sc s = { buf, buf + n, NULL };
	char stack[VC_JSCAN_DEPTH];
	int depth = 0, top = 0, esc;
	/* The top-level member whose value is being scanned, or -1. */
	int field = -1;
	const char *vstart = NULL;

	for (int i = 0; i < nfields; i++)
		fields[i].val = NULL;
	skip_ws(&s);
	for (;;) {
		/* A value. */
		char kind;
		if (s.p >= s.end) {
			s.err = "unexpected end";
			goto fail;
		}
		if (depth == 1)
			vstart = s.p;
		switch (*s.p) {
		case '{':
		case '[':
			if (depth == VC_JSCAN_DEPTH) {
				s.err = "nested too deeply";
				goto fail;
			}
			kind = *s.p == '{' ? 'o' : 'a';
			stack[depth++] = kind;
			if (depth == 1)
				top = kind;
			s.p++;
			skip_ws(&s);
			if (s.p < s.end && *s.p == (kind == 'o' ? '}' : ']')) {
				s.p++;
				depth--;
				goto after_value;
			}
			if (kind == 'o')
				goto member;
			continue;
		case '"':
			kind = 's';
			if (str(&s, &esc) != 0)
				goto fail;
			break;
		case 't':
			kind = 't';
			if (word(&s, "true", 4) != 0)
				goto fail;
			break;
		case 'f':
			kind = 'f';
			if (word(&s, "false", 5) != 0)
				goto fail;
			break;
		case 'n':
			kind = 'z';
			if (word(&s, "null", 4) != 0)
				goto fail;
			break;
		default:
			kind = 'n';
			if (num(&s) != 0)
				goto fail;
		}
		if (depth == 0) {
			top = kind;
			goto done;
		}
		goto after_scalar;
after_value:
		kind = 'c';     /* a container closed */
after_scalar:
		/* A value ended inside a container, or a container closed. */
		if (depth == 1 && stack[0] == 'o' && field >= 0) {
			fields[field].val = vstart;
			fields[field].len = (size_t)(s.p - vstart);
			fields[field].kind = kind == 'c' ? (vstart[0] == '{' ? 'o' : 'a') : kind;
			field = -1;
		} else if (depth == 1 && stack[0] == 'a' && each != NULL && vstart != NULL) {
			if (each(arg, vstart, (size_t)(s.p - vstart)) != 0) {
				s.err = "stopped";
				goto fail;
			}
		}
		if (depth == 1)
			vstart = NULL;
		if (depth == 0)
			goto done;
		skip_ws(&s);
		if (s.p >= s.end) {
			s.err = "unexpected end";
			goto fail;
		}
		if (*s.p == ',') {
			s.p++;
			skip_ws(&s);
			if (stack[depth - 1] == 'o')
				goto member;
			continue;
		}
		if (*s.p == (stack[depth - 1] == 'o' ? '}' : ']')) {
			s.p++;
			depth--;
			goto after_value;
		}
		s.err = stack[depth - 1] == 'o' ? "expected , or }" : "expected , or ]";
		goto fail;
member:
		/* "key" : */
		if (s.p >= s.end || *s.p != '"') {
			s.err = "expected a member name";
			goto fail;
		}
		{
			const char *k = s.p + 1;
			if (str(&s, &esc) != 0)
				goto fail;
			if (depth == 1) {
				size_t kl = (size_t)(s.p - 1 - k);
				for (int i = 0; i < nfields; i++)
					if (esc ? key_eq(k, kl, fields[i].key) :
					    strlen(fields[i].key) == kl && memcmp(fields[i].key, k, kl) == 0)
						field = i;
			}
		}
		skip_ws(&s);
		if (s.p >= s.end || *s.p != ':') {
			s.err = "expected :";
			goto fail;
		}
		s.p++;
		skip_ws(&s);
	}
done:
	skip_ws(&s);
	if (s.p != s.end) {
		s.err = "more than one JSON value on the line";
		goto fail;
	}
	return top;
fail:
	if (err != NULL)
		*err = s.err;
	if (at != NULL)
		*at = (size_t)(s.p - buf);
	return 0;
}

int
vc_jscan(const char *buf, size_t n, struct vc_jscan_field *fields, int nfields,
    const char **err, size_t *at)
{
	return scan(buf, n, fields, nfields, NULL, NULL, err, at);
}

int
vc_jscan_array(const char *buf, size_t n, int (*each)(void *, const char *, size_t),
    void *arg, const char **err, size_t *at)
{
	return scan(buf, n, NULL, 0, each, arg, err, at);
}
