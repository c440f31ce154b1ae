/* SPDX-License-Identifier: MIT */
/* t_jdump.c - vc_json_dump writes the very bytes jv_dump_string does. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/jdump.h"
#include "tap.h"

/* vc_json_dump(v) against jv_dump_string(v, 0). */
static void
same(jv v, const char *what)
{
	jv want = jv_dump_string(jv_copy(v), 0);
	size_t n = 0;
	char *got = vc_json_dump(v, &n);

	ok(got != NULL && n == strlen(got) && strcmp(got, jv_string_value(want)) == 0,
	    "%s: %s", what, jv_string_value(want));
	if (got != NULL && strcmp(got, jv_string_value(want)) != 0)
		printf("#   got:  %s\n", got);
	free(got);
	jv_free(want);
}

static void
same_text(const char *json)
{
	jv v = jv_parse(json);

	ok(jv_is_valid(v), "parses: %s", json);
	same(v, "parsed");
}

int
main(void)
{
	static const double nums[] = { 0, 1, -1, 42, 1e14, 999999999999999, 1e15, -1e15,
	    1e16, 1e17, 12345678901234567.0, 0.1, -0.5, 1.5e-7, 3.141592653589793,
	    1e300, -1e-300, 1764000000, 2.5, 1.0 / 3, 123456.789 };
	char ctl[64];
	size_t n = 0;

	same(jv_null(), "null");
	same(jv_true(), "true");
	same(jv_false(), "false");
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		same(jv_number(nums[i]), "number");
	same(jv_number(-0.0), "negative zero");
	same(jv_number(NAN), "NaN");
	same(jv_number(INFINITY), "infinity");
	same(jv_number(-INFINITY), "minus infinity");
	/* Every control character, DEL, quotes, backslash, slash. */
	for (int c = 1; c < 0x20; c++)
		ctl[n++] = (char)c;
	ctl[n++] = 0x7f;
	ctl[n++] = '"';
	ctl[n++] = '\\';
	ctl[n++] = '/';
	same(jv_string_sized(ctl, (int)n), "controls");
	same(jv_string_sized("a\0b", 3), "a NUL inside");
	same(jv_string("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"), "UTF-8");
	same(jv_string_sized("bad \xff\xfe utf-8", 14), "invalid UTF-8, replaced by jv");
	same(jv_string(""), "empty string");
	same(jv_array(), "empty array");
	same(jv_object(), "empty object");
	same_text("{\"items\":[{\"id\":\"a\",\"n\":1,\"labels\":[\"x\",\"y\"],\"notes\":null,"
	    "\"ok\":true}],\"total\":1050,\"total_exact\":false,\"next_cursor\":null}");
	same_text("[1,[2,[3,[4,{\"k\":[]}]]],\"\\u0000\\u001f\\\"\"]");
	same_text("{\"b\":1,\"a\":2,\"c\":{\"z\":0,\"y\":[0.25,1e-5,-7]}}");
	/* Keys in the order an object was built, after a delete too. */
	same(jv_object_delete(jv_object_set(jv_object_set(jv_object_set(jv_object(),
	    jv_string("z"), jv_number(1)), jv_string("a"), jv_number(2)), jv_string("m"),
	    jv_number(3)), jv_string("a")), "after a delete");
	return done_testing();
}
