/* SPDX-License-Identifier: MIT */
/*
 * f_json_depth.c - vc_serve_json_depth, the bracket counter vc-serve runs
 * on a body before libjq parses it (so that nesting is refused before it
 * costs anything).  Invariants: the depth is never negative nor more
 * than the brackets in the text; for a text libjq accepts it is at least
 * the nesting of the parsed value, and exactly that for the value dumped
 * again: the counter and the parser agree on what is inside a string.
 */
#include <string.h>

#include "http/http.h"
#include "json/jscan.h"
#include "fuzz.h"

/* Nesting of a parsed value: 0 for scalars. */
static int
depth(jv v)
{
	int d = 0, k;

	switch (jv_get_kind(v)) {
	case JV_KIND_ARRAY:
		jv_array_foreach(v, i, e) {
			if ((k = depth(e)) > d)
				d = k;
			(void)i;
		}
		jv_free(v);
		return d + 1;
	case JV_KIND_OBJECT:
		jv_object_foreach(v, key, e) {
			jv_free(key);
			if ((k = depth(e)) > d)
				d = k;
		}
		jv_free(v);
		return d + 1;
	default:
		jv_free(v);
		return 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int d = vc_serve_json_depth((const char *)data, size);
	size_t brackets = 0;
	int vd, dd;
	jv v, dump;

	for (size_t i = 0; i < size; i++)
		brackets += data[i] == '[' || data[i] == '{';
	check(d >= 0 && (size_t)d <= brackets);
	/*
	 * libjq 1.6 leaks what it built when a parse fails inside a
	 * structure, so only texts jscan accepts (which jq reads: see
	 * f_jscan.c) go to it, and not deeper than its limit of 256.
	 * LeakSanitizer then needs no exception.
	 */
	if (size > 65536 || brackets > 256 ||
	    vc_jscan((const char *)data, size, NULL, 0, NULL, NULL) == 0)
		return 0;
	v = jv_parse_sized((const char *)data, (int)size);
	check(jv_is_valid(v));
	/*
	 * A repeated member name keeps only its last value in jq, so the
	 * text may nest deeper than the value: at least as deep, and exactly
	 * as deep once dumped again (no repeats left).
	 */
	dump = jv_dump_string(jv_copy(v), 0);
	dd = vc_serve_json_depth(jv_string_value(dump), (size_t)jv_string_length_bytes(jv_copy(dump)));
	jv_free(dump);
	vd = depth(v);
	check(vd <= d && vd == dd);
	return 0;
}
