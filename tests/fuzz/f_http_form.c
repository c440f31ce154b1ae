/* SPDX-License-Identifier: MIT */
/*
 * f_http_form.c - form and query decoding (vc_serve_form_decode) into a
 * jv object.  Invariants: the result is an object of string members
 * whatever happened; on success every name is non-empty and every name
 * and value is valid UTF-8 without NUL, there are at most
 * VC_SERVE_MAX_FORM_PAIRS of them, and encoding the object again and
 * decoding that gives the same object; on failure there is a reason.
 * Everything is freed (LeakSanitizer is on).
 */
#include <string.h>
#include <unistr.h>

#include "http/http.h"
#include "fuzz.h"

struct buf {
	char *p;
	size_t len, cap;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((b->p = realloc(b->p, cap)) == NULL)
			abort();
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Percent-encode every byte but the unreserved ones. */
static void
put_escaped(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			put(b, s + i, 1);
		else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			put(b, e, 3);
		}
	}
}

static void
check_string(jv s, int nonempty)
{
	int n;

	check(jv_get_kind(s) == JV_KIND_STRING);
	n = jv_string_length_bytes(jv_copy(s));
	check(!nonempty || n > 0);
	check(memchr(jv_string_value(s), '\0', (size_t)n) == NULL);
	check(u8_check((const uint8_t *)jv_string_value(s), (size_t)n) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jv o = jv_object(), again;
	char why[256] = "";
	struct buf enc = { 0 };
	int r, n = 0;

	r = vc_serve_form_decode((const char *)data, size, &o, why, sizeof why);
	check(r == 0 || r == -1);
	check(jv_get_kind(o) == JV_KIND_OBJECT);
	if (r != 0) {
		check(why[0] != '\0');
		jv_free(o);
		return 0;
	}
	jv_object_foreach(o, k, v) {
		check_string(k, 1);
		check_string(v, 0);
		if (n++ > 0)
			put(&enc, "&", 1);
		put_escaped(&enc, jv_string_value(k), (size_t)jv_string_length_bytes(jv_copy(k)));
		put(&enc, "=", 1);
		put_escaped(&enc, jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)));
		jv_free(k);
		jv_free(v);
	}
	check(n <= VC_SERVE_MAX_FORM_PAIRS);
	again = jv_object();
	r = vc_serve_form_decode(enc.p ? enc.p : "", enc.len, &again, why, sizeof why);
	check(r == 0);
	check(jv_equal(jv_copy(o), jv_copy(again)));
	jv_free(again);
	jv_free(o);
	free(enc.p);
	return 0;
}
