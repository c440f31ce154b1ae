/* SPDX-License-Identifier: MIT */
/*
 * t_jscan.c - the fast JSON checker agrees with libjq: fixed valid and
 * invalid texts, member extraction, and a mutation run in which jscan
 * must never accept a text that jq rejects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "json/jscan.h"
#include "tap.h"

/*
 * libjq 1.6 (Debian 12) leaks the partly built value when jv_parse fails
 * inside a structure (fixed in jq 1.7).  This test feeds it 200,000
 * broken texts, so LeakSanitizer is told to ignore libjq here, and only
 * here: elsewhere a jv leak is ours.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libjq.so.1\n";
}

static int
jq_ok(const char *s, size_t n)
{
	jv v = jv_parse_sized(s, (int)n);
	int ok_ = jv_is_valid(v);

	jv_free(v);
	return ok_;
}

struct acc_ { char *buf; size_t n; };

static int
collect(void *arg, const char *e, size_t n)
{
	struct acc_ *a = arg;

	strncat(a->buf, e, n < a->n - strlen(a->buf) - 2 ? n : 0);
	strncat(a->buf, "|", a->n - strlen(a->buf) - 1);
	return 0;
}

static int
stop_at_two(void *arg, const char *e, size_t n)
{
	return n == 1 && e[0] == '2';
}

int
main(void)
{
	static const char *const good[] = {
		"{}", "[]", "0", "-0", "1.5e10", "-12.5E-3", "\"\"", "true", "false", "null",
		" {\"a\" : [1, 2, {\"b\": null}], \"c\": \"x\\\"y\\\\z\\u00e9\\n\"} ",
		"{\"ClientId\":\"C.1\",\"Fqdn\":\"h.x\",\"n\":{\"ClientId\":\"inner\"}}",
		"[[[[[]]]]]", "\"caf\xc3\xa9\"",
	};
	static const char *const bad[] = {
		"", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "1.", ".5",
		"1e", "+1", "tru", "nul", "\"abc", "\"a\\x\"", "\"\\u12\"", "[1 2]", "{} {}",
		"\"tab\there\"", "[\"a\":1]", "{\"a\":}", "-", "1 2",
	};
	struct vc_jscan_field f[2] = { { "ClientId", NULL, 0, 0 }, { "Fqdn", NULL, 0, 0 } };
	const char *err;
	size_t at;
	char deep[2000];

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ok(vc_jscan(good[i], strlen(good[i]), NULL, 0, NULL, NULL) != 0 && jq_ok(good[i], strlen(good[i])),
		    "valid: %s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = vc_jscan(bad[i], strlen(bad[i]), NULL, 0, &err, &at);
		ok(r == 0, "invalid: '%s' (%s at %zu)", bad[i], r ? "accepted" : err, at);
	}

	/* Members: only top-level ones, raw text, kind. */
	{
		const char *s = good[11];
		int r = vc_jscan(s, strlen(s), f, 2, NULL, NULL);
		is_int(r, 'o', "top-level kind is object");
		ok(f[0].val && f[0].len == 5 && memcmp(f[0].val, "\"C.1\"", 5) == 0 && f[0].kind == 's',
		    "ClientId found at the top level, not the inner one");
		ok(f[1].val && f[1].len == 5 && memcmp(f[1].val, "\"h.x\"", 5) == 0, "Fqdn found");
		s = "{\"Fqdn\":{\"x\":[1,{}]},\"z\":1}";
		r = vc_jscan(s, strlen(s), f, 2, NULL, NULL);
		ok(r == 'o' && f[0].val == NULL, "absent member is NULL");
		ok(f[1].val && f[1].len == 12 && f[1].kind == 'o', "object value spans its braces (%zu)", f[1].len);
		/* Names written with escapes are the same names, as for jq. */
		s = "{\"Client\\u0049d\":\"C.2\",\"F\\u0071dn\":1}";
		r = vc_jscan(s, strlen(s), f, 2, NULL, NULL);
		ok(r == 'o' && f[0].val && f[0].len == 5 && memcmp(f[0].val, "\"C.2\"", 5) == 0,
		    "\"Client\\u0049d\" is ClientId");
		ok(f[1].val && f[1].len == 1, "\"F\\u0071dn\" is Fqdn");
		s = "{\"ClientI\\\"d\":\"x\",\"\\u0043\\u006c\\u0069entId\":\"C.3\"}";
		r = vc_jscan(s, strlen(s), f, 2, NULL, NULL);
		ok(r == 'o' && f[0].val && memcmp(f[0].val, "\"C.3\"", 5) == 0,
		    "an escaped quote is not the name; several escapes are");
	}

	/*
	 * Found by tests/fuzz/f_jscan.c.  A member name is found whatever its
	 * spelling, as libjq reads it ("Client\u0049d" was skipped, so the
	 * importer and jq could disagree on a row's host); and a lone high
	 * surrogate escape, which jq refuses, is refused.
	 */
	{
		const char *s = "{\"ClientId\":\"C.good\",\"Client\\u0049d\":\"C.evil\"}";
		struct vc_jscan_field e[2] = {
			{ "ClientId", NULL, 0, 0 }, { "caf\xc3\xa9\xf0\x9f\x98\x80", NULL, 0, 0 },
		};
		int r = vc_jscan(s, strlen(s), e, 2, NULL, NULL);

		ok(r == 'o' && e[0].val && e[0].len == 8 && memcmp(e[0].val, "\"C.evil\"", 8) == 0,
		    "an escaped member name is found: the last one wins, as in jq");
		s = "{\"caf\\u00e9\\ud83d\\ude00\":1,\"\\u0043lient\\u0049\\u0064\":2}";
		r = vc_jscan(s, strlen(s), e, 2, NULL, NULL);
		ok(r == 'o' && e[1].val && e[1].len == 1 && e[1].val[0] == '1',
		    "\\u escapes in a name decode to UTF-8, surrogate pairs too");
		ok(e[0].val && e[0].val[0] == '2', "a name of escapes only is found");
		s = "{\"ClientI\\u0000d\":1,\"Client\\\"Id\":2,\"ClientIdX\":3,\"Client\":4}";
		r = vc_jscan(s, strlen(s), e, 1, NULL, NULL);
		ok(r == 'o' && e[0].val == NULL, "near misses (NUL, quote, longer, shorter) are not it");
		err = NULL;
		ok(vc_jscan("\"\\ud800\"", 8, NULL, 0, &err, NULL) == 0 && err &&
		    strstr(err, "surrogate") && !jq_ok("\"\\ud800\"", 8),
		    "a lone high surrogate is refused, as jq does");
		ok(vc_jscan("\"\\ud800\\u0041\"", 14, NULL, 0, NULL, NULL) == 0,
		    "a high surrogate before another escape is refused");
		ok(vc_jscan("\"\\udc00\"", 8, NULL, 0, NULL, NULL) == 's' && jq_ok("\"\\udc00\"", 8),
		    "a lone low surrogate is accepted, as jq does");
	}

	/* Decoding a string's escapes as jq does (typed stack columns). */
	{
		static const char *const strs[] = {
			"\"plain\"", "\"C:\\\\Windows\\\\System32\"", "\"\\\"q\\\" \\/ \\b\\f\\n\\r\\t\"",
			"\"\\u00e9t\\u00e9 \\u20ac \\ud83d\\ude00\"", "\"lone \\udc00 low\"", "\"nul \\u0000 in\"",
			"\"\\u0002x\"", "\"\"",
		};
		for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
			size_t n = strlen(strs[i]), m;
			char out[128];
			jv v = jv_parse_sized(strs[i], (int)n);
			m = vc_jscan_unescape(strs[i] + 1, n - 2, out);
			ok(jv_get_kind(v) == JV_KIND_STRING && m == (size_t)jv_string_length_bytes(jv_copy(v)) &&
			    memcmp(out, jv_string_value(v), m) == 0, "unescape %s as jq does", strs[i]);
			jv_free(v);
		}
	}

	/* Elements of a top-level array, as raw text. */
	{
		const char *s = "[ {\"a\":[1,{\"b\":2}]} ,2, \"x,y\" ,[],null]";
		char got[256] = "";
		struct { char *buf; size_t n; } acc = { got, sizeof got };
		int r = vc_jscan_array(s, strlen(s), collect, &acc, NULL, NULL);
		is_int(r, 'a', "an array");
		is_str(got, "{\"a\":[1,{\"b\":2}]}|2|\"x,y\"|[]|null|", "each element, raw, in order");
		got[0] = '\0';
		r = vc_jscan_array("[1,2,3]", 7, stop_at_two, &acc, &err, NULL);
		ok(r == 0 && strcmp(err, "stopped") == 0, "a callback can stop the scan");
		ok(vc_jscan_array("[1,2", 4, collect, &acc, NULL, NULL) == 0, "a broken array is refused");
	}

	/* Depth limit. */
	memset(deep, '[', 1000);
	memset(deep + 1000, ']', 1000);
	ok(vc_jscan(deep, 2000, NULL, 0, &err, NULL) == 0, "1000 levels deep is refused (%s)", err);
	ok(vc_jscan(deep + 600, 800, NULL, 0, NULL, NULL) == 'a', "400 levels deep is fine");

	/* Mutations: jscan never accepts what jq rejects. */
	{
		const char *base = "{\"CreateTime\":\"2026-08-20T07:58:02Z\",\"Pid\":836,\"a\":[1,2.5e3,-0.1],"
		    "\"s\":\"C:\\\\Windows\\\\x \\\"q\\\" \\u00e9\",\"t\":true,\"f\":false,\"z\":null,\"o\":{}}";
		const char alphabet[] = "{}[]\":,\\0123456789.eE+-truefalsn ax\t\n";
		char buf[512];
		size_t n = strlen(base);
		int unsafe = 0, agree = 0, total = 0;
		srand(1);
		for (int i = 0; i < 200000; i++) {
			memcpy(buf, base, n);
			for (int m = 0; m < 1 + rand() % 3; m++)
				buf[rand() % n] = alphabet[rand() % (sizeof alphabet - 1)];
			int a = vc_jscan(buf, n, NULL, 0, NULL, NULL) != 0, b = jq_ok(buf, n);
			total++;
			if (a && !b) {
				if (unsafe++ < 3)
					printf("# jscan accepts, jq rejects: %.*s\n", (int)n, buf);
			}
			agree += a == b;
		}
		is_int(unsafe, 0, "no mutated text is accepted by jscan and rejected by jq");
		ok(agree > total * 99 / 100, "jscan and jq agree on %d of %d mutated texts", agree, total);
	}
	return done_testing();
}
