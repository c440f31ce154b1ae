/* SPDX-License-Identifier: MIT */
/* jdump.c - JSON text of a jq value (see jdump.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vc.h"
#include "json/jdump.h"

static void
put(struct vc_jbuf *o, const char *p, size_t n)
{
	if (o->oom)
		return;
	if (o->n + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		char *s;

		while (cap < o->n + n + 1)
			cap *= 2;
		if ((s = realloc(o->s, cap)) == NULL) {
			o->oom = 1;
			return;
		}
		o->s = s;
		o->cap = cap;
	}
	memcpy(o->s + o->n, p, n);
	o->n += n;
	o->s[o->n] = '\0';
}

static void
put_str(struct vc_jbuf *o, const char *p)
{
	put(o, p, strlen(p));
}

/* A string as jq writes it: " and \ escaped, \b \f \n \r \t by name,
 * other controls and DEL as \u00xx; the rest (valid UTF-8: a jv string
 * always is) as it is, in runs. */
static void
put_string(struct vc_jbuf *o, const char *s, size_t n)
{
	size_t run = 0;
	char esc[8];

	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *e = NULL;

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		put(o, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			snprintf(esc, sizeof esc, "\\u%04x", c);
			e = esc;
		}
		put_str(o, e);
	}
	put(o, s + run, n - run);
	put(o, "\"", 1);
}

/* An integer below 10^15 is written as its digits, as jq does; any
 * other number goes through jq's own formatting (shortest round trip,
 * its exponent rules, NaN as null). */
static void
put_number(struct vc_jbuf *o, double d)
{
	char buf[32];

	if (d > -1e15 && d < 1e15 && d == (double)(int64_t)d && !(d == 0 && signbit(d))) {
		put(o, buf, vc_fmt_i64(buf, (int64_t)d));
	} else {
		jv s = jv_dump_string(jv_number(d), 0);

		put_str(o, jv_string_value(s));
		jv_free(s);
	}
}

static void
dump(struct vc_jbuf *o, jv v)
{
	int first = 1;

	switch (jv_get_kind(v)) {
	case JV_KIND_NULL:
		put(o, "null", 4);
		break;
	case JV_KIND_TRUE:
		put(o, "true", 4);
		break;
	case JV_KIND_FALSE:
		put(o, "false", 5);
		break;
	case JV_KIND_NUMBER:
		put_number(o, jv_number_value(v));
		break;
	case JV_KIND_STRING:
		put_string(o, jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)));
		break;
	case JV_KIND_ARRAY:
		put(o, "[", 1);
		jv_array_foreach(v, i, e) {
			if (!first)
				put(o, ",", 1);
			first = 0;
			dump(o, e);
		}
		put(o, "]", 1);
		break;
	case JV_KIND_OBJECT:
		put(o, "{", 1);
		jv_object_foreach(v, k, e) {
			if (!first)
				put(o, ",", 1);
			first = 0;
			put_string(o, jv_string_value(k), (size_t)jv_string_length_bytes(jv_copy(k)));
			put(o, ":", 1);
			jv_free(k);
			dump(o, e);
		}
		put(o, "}", 1);
		break;
	default:                /* invalid: what jv_dump_string writes */
		{
			jv s = jv_dump_string(jv_copy(v), 0);

			put_str(o, jv_string_value(s));
			jv_free(s);
		}
	}
	jv_free(v);
}

void
vc_jbuf_put(struct vc_jbuf *b, const char *p, size_t n)
{
	put(b, p, n);
}

void
vc_jbuf_str(struct vc_jbuf *b, const char *p)
{
	put_str(b, p);
}

void
vc_jbuf_string(struct vc_jbuf *b, const char *p, size_t n)
{
	put_string(b, p, n);
}

void
vc_jbuf_number(struct vc_jbuf *b, double d)
{
	put_number(b, d);
}

void
vc_jbuf_value(struct vc_jbuf *b, jv v)
{
	dump(b, v);
}

char *
vc_json_dump(jv v, size_t *len)
{
	struct vc_jbuf o = { 0 };

	dump(&o, v);
	if (o.oom || o.s == NULL) {
		free(o.s);
		return NULL;
	}
	*len = o.n;
	return o.s;
}
