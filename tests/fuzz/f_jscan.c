/* SPDX-License-Identifier: MIT */
/*
 * f_jscan.c - the allocation-free JSON scanner (lib/json/jscan.c): the
 * validity check, the lookup of top-level members (artifact import finds
 * ClientId and Fqdn with it) and the top-level array splitter (gRPC row
 * batches), against libjq.
 *
 * Invariants: a text jscan accepts, libjq accepts too, with the same
 * kind; a member jscan finds is the raw text of the value libjq has for
 * that name, and a name libjq has, jscan finds; the splitter accepts
 * what the checker accepts and hands out, in order, the raw texts of
 * exactly the elements libjq sees; a callback that stops it stops it.
 */
#include <string.h>

#include <jv.h>

#include "json/jscan.h"
#include "fuzz.h"

#define NFIELDS 4

struct elems {
	const char *base;
	size_t size;
	jv want;                /* libjq's array, or invalid: do not compare */
	int n;
	int stop_at;            /* stop when n reaches it; 0 never */
};

static jv
parse(const char *s, size_t n)
{
	return jv_parse_sized(s, (int)n);
}

static int
each(void *arg, const char *e, size_t n)
{
	struct elems *el = arg;

	check(e >= el->base && n >= 1 && e + n <= el->base + el->size);
	check(vc_jscan(e, n, NULL, 0, NULL, NULL) != 0);
	if (jv_is_valid(el->want)) {
		jv a = jv_array_get(jv_copy(el->want), el->n);
		jv b = parse(e, n);

		check(jv_is_valid(a) && jv_is_valid(b));
		check(jv_equal(a, b));
	}
	el->n++;
	return el->stop_at > 0 && el->n == el->stop_at;
}

/* The jscan kind of a value (borrowed). */
static int
kind_of(jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_OBJECT: return 'o';
	case JV_KIND_ARRAY: return 'a';
	case JV_KIND_STRING: return 's';
	case JV_KIND_NUMBER: return 'n';
	case JV_KIND_TRUE: return 't';
	case JV_KIND_FALSE: return 'f';
	case JV_KIND_NULL: return 'z';
	default: return 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char first[] = { 'o', '{', 'a', '[', 's', '"', 't', 't', 'f', 'f', 'z', 'n' };
	struct vc_jscan_field f[NFIELDS] = {
		{ .key = "ClientId" }, { .key = "Fqdn" }, { .key = "a" }, { .key = "" },
	};
	const char *s = (const char *)data, *err = NULL;
	struct elems el = { s, size, jv_invalid(), 0, 0 };
	size_t at = 0, brackets = 0;
	int k, k2;
	jv v = jv_invalid();

	if (size > 65536)
		return 0;
	k = vc_jscan(s, size, f, NFIELDS, &err, &at);
	check(k == 0 || strchr("oasntfz", k) != NULL);
	if (k == 0) {
		check(err != NULL && at <= size);
		for (int i = 0; i < NFIELDS; i++)
			check(f[i].val == NULL || f[i].val + f[i].len <= s + size);
	}
	for (size_t i = 0; i < size; i++)
		brackets += data[i] == '[' || data[i] == '{';
	/*
	 * libjq 1.6 refuses nesting deeper than 256, jscan allows 512.  jq is
	 * only given texts jscan accepted: it leaks what it built when a
	 * parse fails inside a structure (fixed in jq 1.7), and here that is
	 * a finding anyway.
	 */
	if (k != 0 && brackets <= 256) {
		v = parse(s, size);
		check(jv_is_valid(v));
		check(kind_of(v) == k);
	}
	for (int i = 0; k != 0 && i < NFIELDS; i++) {
		jv want;

		if (f[i].val != NULL) {
			check(k == 'o');
			check(f[i].val >= s && f[i].len >= 1 && f[i].val + f[i].len <= s + size);
			check(strchr("oasntfz", f[i].kind) != NULL);
			for (size_t j = 0; j < sizeof first; j += 2)
				if (first[j] == f[i].kind && f[i].kind != 'n')
					check(f[i].val[0] == first[j + 1]);
			check(vc_jscan(f[i].val, f[i].len, NULL, 0, NULL, NULL) == f[i].kind);
		}
		if (!jv_is_valid(v) || k != 'o')
			continue;
		want = jv_object_get(jv_copy(v), jv_string(f[i].key));
		if (f[i].val == NULL)
			check(!jv_is_valid(want));
		else {
			jv got = parse(f[i].val, f[i].len);

			check(jv_is_valid(want) && jv_is_valid(got));
			check(jv_equal(jv_copy(want), got));
		}
		jv_free(want);
	}

	/* The splitter: the same verdict, libjq's elements. */
	if (k == 'a' && jv_is_valid(v))
		el.want = jv_copy(v);
	k2 = vc_jscan_array(s, size, each, &el, &err, &at);
	check(k2 == k);
	if (k == 'a' && jv_is_valid(v))
		check(el.n == jv_array_length(jv_copy(v)));
	if (k != 'a')
		check(el.n == 0 || k == 0);
	if (k == 'a' && el.n > 0) {
		/* Stopped after the first element, or the middle one. */
		int total = el.n;

		jv_free(el.want);
		el.want = jv_invalid();
		el.n = 0;
		el.stop_at = size % 2 ? 1 : (total + 1) / 2;
		err = NULL;
		k2 = vc_jscan_array(s, size, each, &el, &err, &at);
		check(k2 == 0 && err != NULL && strcmp(err, "stopped") == 0);
		check(el.n == el.stop_at);
	}
	jv_free(el.want);
	jv_free(v);
	return 0;
}
