/* SPDX-License-Identifier: MIT */
/*
 * t_sigma.c - the Sigma evaluator, one small inline rule at a time:
 * values and escaping, every modifier, null and missing fields, the
 * condition grammar and its precedence, rule validation, the field map
 * (Pslist rows, parse_evtx rows, evtx_dump objects, flat objects), the
 * indicator's shape, and directory loading.  Every match is run with the
 * prefilter index on and off, and both must agree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sigma/sigma.h"
#include "tap.h"

static vc_ctx ctx;
static char last_problem[512];

static void
indent_into(char *out, size_t n, const char *det)
{
	size_t o = strlen(out);

	/* Every line of det, four spaces in under "detection:". */
	for (const char *p = det; *p && o + 8 < n;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (o + len + 6 >= n)
			break;
		memcpy(out + o, "    ", 4);
		memcpy(out + o + 4, p, len);
		o += 4 + len;
		out[o++] = '\n';
		p += len + (nl != NULL);
	}
	out[o] = '\0';
}

static struct vc_sigma_set *
load_rule(const char *det, const char *extra)
{
	static char y[16384];
	struct vc_sigma_set *set = NULL;
	jv problems = jv_invalid();

	snprintf(y, sizeof y, "title: test rule\nid: 11111111-2222-4333-8444-555555555555\n"
	    "status: test\nauthor: Tester\nlevel: high\ntags:\n    - attack.t1059\n"
	    "logsource:\n    category: process_creation\n    product: windows\n%s"
	    "detection:\n", extra ? extra : "");
	indent_into(y, sizeof y, det);
	last_problem[0] = '\0';
	if (vc_sigma_load_string(&ctx, "inline.yml", y, strlen(y), NULL, &set, &problems) != VC_EOK) {
		snprintf(last_problem, sizeof last_problem, "load: %.400s", ctx.errmsg);
		jv_free(problems);
		return NULL;
	}
	if (jv_array_length(jv_copy(problems)) > 0) {
		jv r = jv_object_get(jv_array_get(jv_copy(problems), 0), jv_string("reason"));

		snprintf(last_problem, sizeof last_problem, "%s", jv_string_value(r));
		jv_free(r);
	}
	jv_free(problems);
	return set;
}

/* Hits of the set on the event, after checking the index changes nothing. */
static jv
hits_of(struct vc_sigma_set *set, const char *event)
{
	jv ev = jv_parse(event), a = jv_invalid(), b = jv_invalid();

	if (!jv_is_valid(ev)) {
		printf("# bad test event: %s\n", event);
		jv_free(ev);
		return jv_invalid();
	}
	vc_sigma_set_index(set, 1);
	vc_sigma_match(set, ev, &a);
	vc_sigma_set_index(set, 0);
	vc_sigma_match(set, ev, &b);
	vc_sigma_set_index(set, 1);
	jv_free(ev);
	if (!jv_equal(jv_copy(a), b)) {
		printf("# index on and off disagree on %s\n", event);
		jv_free(a);
		return jv_invalid();
	}
	return a;
}

/* 1: the rule fires; 0: it does not; -1: it was skipped; -2: error. */
static int
m(const char *det, const char *event)
{
	struct vc_sigma_set *set = load_rule(det, NULL);
	jv h;
	int n;

	if (set == NULL)
		return -2;
	if (vc_sigma_count(set) != 1) {
		vc_sigma_free(set);
		return -1;
	}
	h = hits_of(set, event);
	n = jv_is_valid(h) ? jv_array_length(jv_copy(h)) : -2;
	jv_free(h);
	vc_sigma_free(set);
	return n;
}

/* The reason a rule is skipped ("" when it loads). */
static const char *
why(const char *det)
{
	struct vc_sigma_set *set = load_rule(det, NULL);

	vc_sigma_free(set);
	return last_problem;
}

static int
contains(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

static void
b64(const unsigned char *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
		    (i + 2 < n ? in[i + 2] : 0);

		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = '\0';
}

static void
t_values(void)
{
	const char *ev = "{\"Image\":\"C:\\\\Windows\\\\System32\\\\whoami.exe\",\"CommandLine\":\"whoami /all\"}";

	is_int(m("sel:\n  Image: 'C:\\Windows\\System32\\whoami.exe'\ncondition: sel", ev), 1,
	    "plain value: whole value, backslashes literal");
	is_int(m("sel:\n  Image: 'c:\\windows\\system32\\WHOAMI.EXE'\ncondition: sel", ev), 1,
	    "plain value: case-insensitive");
	is_int(m("sel:\n  Image: 'whoami.exe'\ncondition: sel", ev), 0, "plain value: not a substring");
	is_int(m("sel:\n  Image: '*\\whoami.exe'\ncondition: sel", ev), 1, "leading *");
	is_int(m("sel:\n  Image: 'C:*\\whoami.exe'\ncondition: sel", ev), 1, "inner *");
	is_int(m("sel:\n  Image: 'C:\\*\\whoami.exe'\ncondition: sel", ev), 0, "'C:\\*' is an escaped, literal star");
	is_int(m("sel:\n  Image: 'C:\\Windows\\System??\\whoami.exe'\ncondition: sel", ev), 1, "? is one character");
	is_int(m("sel:\n  Image: 'C:\\Windows\\System?\\whoami.exe'\ncondition: sel", ev), 0, "? is exactly one");
	is_int(m("sel:\n  Image: 'caf?'\ncondition: sel", "{\"Image\":\"caf\xc3\xa9\"}"), 1,
	    "? takes one UTF-8 character, not one byte");
	is_int(m("sel:\n  Image: 'caf?" "?'\ncondition: sel", "{\"Image\":\"caf\xc3\xa9\"}"), 0,
	    "?? does not match one two-byte character");
	is_int(m("sel:\n  Image: '*'\ncondition: sel", "{\"Image\":\"\"}"), 1, "* matches the empty value");
	is_int(m("sel:\n  Image: '*'\ncondition: sel", "{}"), 0, "* does not match a missing field");
	is_int(m("sel:\n  CommandLine: '*a*b*c*'\ncondition: sel", "{\"CommandLine\":\"xaxxbxxcx\"}"), 1,
	    "several * in order");
	is_int(m("sel:\n  CommandLine: '*a*b*c*'\ncondition: sel", "{\"CommandLine\":\"xcxbxa\"}"), 0,
	    "several * out of order");
	is_int(m("sel:\n  CommandLine: 'a*b?d'\ncondition: sel", "{\"CommandLine\":\"abxbcd\"}"), 1,
	    "glob needs backtracking");
	is_int(m("sel:\n  Image:\n    - 'a'\n    - 'C:\\Windows\\System32\\whoami.exe'\ncondition: sel", ev), 1,
	    "a list is an OR");
	is_int(m("sel:\n  Image: '*whoami*'\n  CommandLine: '*/all'\ncondition: sel", ev), 1,
	    "a map is an AND (both hold)");
	is_int(m("sel:\n  Image: '*whoami*'\n  CommandLine: '*/none'\ncondition: sel", ev), 0,
	    "a map is an AND (one fails)");
	is_int(m("sel:\n  - Image: 'x'\n  - CommandLine: 'whoami /all'\ncondition: sel", ev), 1,
	    "a list of maps is an OR");
	is_int(m("sel:\n  - Image: 'x'\n    CommandLine: 'whoami /all'\n  - Image: 'y'\ncondition: sel", ev), 0,
	    "a list of maps: each map is still an AND");
	is_int(m("sel:\n  CommandLine: \"whoami\\x20/all\"\ncondition: sel", ev), 1,
	    "double-quoted YAML escapes are decoded");
	is_int(m("sel:\n  CommandLine: \"\\u0410\"\ncondition: sel", "{\"CommandLine\":\"\xd0\x90\"}"), 1,
	    "\\u escapes in double quotes");
	is_int(m("sel:\n  CommandLine: 'it''s'\ncondition: sel", "{\"CommandLine\":\"it's\"}"), 1,
	    "'' in single quotes is one quote");
	is_int(m("sel:\n  CommandLine: plain \\text\ncondition: sel", "{\"CommandLine\":\"plain \\\\text\"}"), 1,
	    "plain scalars keep backslashes");
	is_int(m("sel:\n  CommandLine: 'A'\ncondition: sel", "{\"CommandLine\":[\"x\",\"a\"]}"), 1,
	    "an array value matches when an element does");
	is_int(m("sel:\n  CommandLine: 'x'\ncondition: sel", "{\"CommandLine\":{\"x\":1}}"), 0,
	    "an object value has no string form");
	is_int(m("sel:\n  Image: 'a'\ncondition: sel", "[1,2]"), 0, "an event that is not an object matches nothing");
}

static void
t_escapes(void)
{
	is_int(m("sel:\n  CommandLine: '-Filter \\*'\ncondition: sel", "{\"CommandLine\":\"-Filter *\"}"), 1,
	    "\\* is a literal star");
	is_int(m("sel:\n  CommandLine: '-Filter \\*'\ncondition: sel", "{\"CommandLine\":\"-Filter x\"}"), 0,
	    "\\* is not a wildcard");
	is_int(m("sel:\n  Description: '\\?'\ncondition: sel", "{\"Description\":\"?\"}"), 1, "\\? is a literal ?");
	is_int(m("sel:\n  Description: '\\?'\ncondition: sel", "{\"Description\":\"x\"}"), 0, "\\? is not a wildcard");
	is_int(m("sel:\n  CommandLine: 'a\\\\*'\ncondition: sel", "{\"CommandLine\":\"a\\\\anything\"}"), 1,
	    "\\\\* is a backslash then a wildcard");
	is_int(m("sel:\n  CommandLine: 'a\\\\*'\ncondition: sel", "{\"CommandLine\":\"a\\\\\\\\\"}"), 1,
	    "\\\\* also matches a double backslash (the * takes one)");
	is_int(m("sel:\n  CommandLine: 'a\\\\\\*'\ncondition: sel", "{\"CommandLine\":\"a\\\\*\"}"), 1,
	    "\\\\\\* is a backslash then a literal *");
	is_int(m("sel:\n  CommandLine: 'a\\\\\\*'\ncondition: sel", "{\"CommandLine\":\"a\\\\x\"}"), 0,
	    "\\\\\\* has no wildcard");
	is_int(m("sel:\n  CommandLine: '\\\\\\\\*\\\\*$'\ncondition: sel", "{\"CommandLine\":\"\\\\\\\\SRV\\\\ADMIN$\"}"), 1,
	    "'\\\\\\\\*\\\\*$' matches \\\\SRV\\ADMIN$");
	is_int(m("sel:\n  CommandLine: '\\\\\\\\\\?\\\\GLOBALROOT'\ncondition: sel", "{\"CommandLine\":\"\\\\\\\\?\\\\GLOBALROOT\"}"), 1,
	    "'\\\\\\\\\\?\\\\GLOBALROOT' is literal \\\\?\\GLOBALROOT");
	is_int(m("sel:\n  CommandLine: '\\\\\\\\\\?\\\\GLOBALROOT'\ncondition: sel", "{\"CommandLine\":\"\\\\\\\\x\\\\GLOBALROOT\"}"), 0,
	    "... where ? is not a wildcard");
	is_int(m("sel:\n  CommandLine: 'C:\\Windows\\'\ncondition: sel", "{\"CommandLine\":\"C:\\\\Windows\\\\\"}"), 1,
	    "a lone trailing backslash is literal");
	is_int(m("sel:\n  CommandLine: 'a\\\\\\\\b'\ncondition: sel", "{\"CommandLine\":\"a\\\\\\\\b\"}"), 1,
	    "\\\\\\\\ is two backslashes");
	is_int(m("sel:\n  CommandLine: 'a\\\\\\\\b'\ncondition: sel", "{\"CommandLine\":\"a\\\\b\"}"), 0,
	    "\\\\\\\\ is not one backslash");
	is_int(m("sel:\n  CommandLine: '\\bitsadmin.exe'\ncondition: sel", "{\"CommandLine\":\"\\\\bitsadmin.exe\"}"), 1,
	    "\\b is a backslash and b");
	is_int(m("sel:\n  CommandLine|contains: '\\*'\ncondition: sel", "{\"CommandLine\":\"a*b\"}"), 1,
	    "contains of a literal * wraps it in wildcards");
	is_int(m("sel:\n  CommandLine|contains: '\\*'\ncondition: sel", "{\"CommandLine\":\"ab\"}"), 0,
	    "... which are not the literal");
}

static void
t_string_modifiers(void)
{
	const char *ev = "{\"CommandLine\":\"powershell.exe -NoProfile -EncodedCommand ABC\"}";

	is_int(m("sel:\n  CommandLine|contains: 'noprofile'\ncondition: sel", ev), 1, "contains");
	is_int(m("sel:\n  CommandLine|contains: '*noprofile'\ncondition: sel", ev), 1, "contains with a leading *");
	is_int(m("sel:\n  CommandLine|startswith: 'POWERSHELL'\ncondition: sel", ev), 1, "startswith");
	is_int(m("sel:\n  CommandLine|startswith: 'noprofile'\ncondition: sel", ev), 0, "startswith is anchored");
	is_int(m("sel:\n  CommandLine|endswith: 'abc'\ncondition: sel", ev), 1, "endswith");
	is_int(m("sel:\n  CommandLine|endswith: 'powershell'\ncondition: sel", ev), 0, "endswith is anchored");
	is_int(m("sel:\n  CommandLine|contains|all:\n    - 'noprofile'\n    - 'encodedcommand'\ncondition: sel", ev), 1,
	    "contains|all: both present");
	is_int(m("sel:\n  CommandLine|contains|all:\n    - 'noprofile'\n    - 'hidden'\ncondition: sel", ev), 0,
	    "contains|all: one missing");
	is_int(m("sel:\n  CommandLine|contains:\n    - 'noprofile'\n    - 'hidden'\ncondition: sel", ev), 1,
	    "contains with a list: any");
	is_int(m("sel:\n  CommandLine|contains|all: 'noprofile'\ncondition: sel", ev), 1, "all with one value");
	is_int(m("sel:\n  CommandLine|contains|all:\n    - 'noprofile'\n    - 'encodedcommand'\n  Image: x\ncondition: sel", ev), 0,
	    "all does not change the map's AND");
	is_int(m("sel:\n  CommandLine|contains|cased: 'NoProfile'\ncondition: sel", ev), 1, "cased: same case");
	is_int(m("sel:\n  CommandLine|contains|cased: 'noprofile'\ncondition: sel", ev), 0, "cased: other case");
	is_int(m("sel:\n  CommandLine|cased: 'powershell.exe -NoProfile -EncodedCommand ABC'\ncondition: sel", ev), 1,
	    "cased exact");
	is_int(m("sel:\n  CommandLine|startswith|cased: 'Powershell'\ncondition: sel", ev), 0, "startswith|cased");
	is_int(m("sel:\n  CommandLine|neq: 'x'\ncondition: sel", ev), 1, "neq: a different value");
	is_int(m("sel:\n  CommandLine|neq: 'powershell.exe -noprofile -encodedcommand abc'\ncondition: sel", ev), 0,
	    "neq: the same value");
	is_int(m("sel:\n  CommandLine|contains|neq:\n    - 'x'\n    - 'profile'\ncondition: sel", ev), 0,
	    "neq negates the whole entry: not (x or profile)");
	is_int(m("sel:\n  Image|neq: 'x'\ncondition: sel", ev), 1, "neq on a missing field is true (not F=x)");
}

static void
t_windash(void)
{
	const char *det = "sel:\n  CommandLine|contains|windash: ' -foo '\ncondition: sel";
	const char *det2 = "sel:\n  CommandLine|contains|windash: 'Set-MpPreference'\ncondition: sel";

	is_int(m(det, "{\"CommandLine\":\"x -foo y\"}"), 1, "windash: -");
	is_int(m(det, "{\"CommandLine\":\"x /foo y\"}"), 1, "windash: /");
	is_int(m(det, "{\"CommandLine\":\"x \xe2\x80\x93" "foo y\"}"), 1, "windash: en dash");
	is_int(m(det, "{\"CommandLine\":\"x \xe2\x80\x94" "foo y\"}"), 1, "windash: em dash");
	is_int(m(det, "{\"CommandLine\":\"x \xe2\x80\x95" "foo y\"}"), 1, "windash: horizontal bar");
	is_int(m(det, "{\"CommandLine\":\"x +foo y\"}"), 0, "windash: not any character");
	is_int(m(det2, "{\"CommandLine\":\"Set-MpPreference\"}"), 1, "windash: a dash inside a word stays");
	is_int(m(det2, "{\"CommandLine\":\"Set/MpPreference\"}"), 0, "windash: ... and is not expanded");
	is_int(m("sel:\n  CommandLine|windash: '-a -b'\ncondition: sel", "{\"CommandLine\":\"/a \xe2\x80\x93" "b\"}"), 1,
	    "windash: every flag varies on its own");
	is_int(m("sel:\n  CommandLine|contains|windash|all:\n    - '-a '\n    - '-b '\ncondition: sel",
	    "{\"CommandLine\":\"x /a /b \"}"), 1, "windash with all: each value's variants OR, values AND");
	is_int(m("sel:\n  CommandLine|contains|windash|all:\n    - '-a '\n    - '-b '\ncondition: sel",
	    "{\"CommandLine\":\"x /a \"}"), 0, "windash with all: one value missing");
	is_int(m("sel:\n  CommandLine|windash|contains: '-x'\ncondition: sel", "{\"CommandLine\":\"a \xe2\x80\x94x b\"}"), 1,
	    "windash before contains");
}

static void
t_base64(void)
{
	char det[512], ev[512], enc[256];
	unsigned char buf[128];

	b64((const unsigned char *)"abc", 3, enc);
	snprintf(ev, sizeof ev, "{\"CommandLine\":\"%s\"}", enc);
	is_int(m("sel:\n  CommandLine|base64: 'abc'\ncondition: sel", ev), 1, "base64: YWJj");
	is_int(m("sel:\n  CommandLine|base64: 'abd'\ncondition: sel", ev), 0, "base64: another value");
	snprintf(ev, sizeof ev, "{\"CommandLine\":\"x %s y\"}", enc);
	is_int(m("sel:\n  CommandLine|base64|contains: 'abc'\ncondition: sel", ev), 1, "base64|contains");

	/* base64offset: the value at each byte alignment in a longer blob. */
	snprintf(det, sizeof det, "sel:\n  CommandLine|base64offset|contains: 'IEX (New'\ncondition: sel");
	for (int off = 0; off < 3; off++) {
		const char *pre[3] = { "", "a", "ab" };

		snprintf((char *)buf, sizeof buf, "%sIEX (New-Object Net.WebClient)", pre[off]);
		b64(buf, strlen((char *)buf), enc);
		snprintf(ev, sizeof ev, "{\"CommandLine\":\"powershell -enc %s\"}", enc);
		is_int(m(det, ev), 1, "base64offset: offset %d", off);
	}
	b64((const unsigned char *)"xxIEX (Nex", 10, enc);
	snprintf(ev, sizeof ev, "{\"CommandLine\":\"%s\"}", enc);
	is_int(m(det, ev), 0, "base64offset: another text");
	is_int(m("sel:\n  CommandLine|base64offset|contains: 'IEX'\ncondition: sel", "{\"CommandLine\":\"SUVY\"}"), 1,
	    "base64offset: IEX -> SUVY");
	is_int(m("sel:\n  CommandLine|base64offset|contains: 'IEX'\ncondition: sel", "{\"CommandLine\":\"lFW\"}"), 1,
	    "base64offset: IEX -> lFW");
	is_int(m("sel:\n  CommandLine|base64offset|contains: 'IEX'\ncondition: sel", "{\"CommandLine\":\"JRV\"}"), 1,
	    "base64offset: IEX -> JRV");
	is_int(m("sel:\n  CommandLine|base64offset|contains: 'a'\ncondition: sel", "{\"CommandLine\":\"zzz\"}"), 0,
	    "base64offset of one byte: no empty needle that matches everything");
	ok(contains(why("sel:\n  CommandLine|base64: 'a*'\ncondition: sel"), "wildcards"),
	    "base64 refuses wildcards: %s", last_problem);

	/* UTF-16 variants, with base64 as the spec intends. */
	for (int off = 0; off < 3; off++) {
		unsigned char w[64];
		size_t n = 0;
		const char *txt = off == 0 ? "ping" : off == 1 ? "a ping" : "ab ping";

		for (const char *p = txt; *p; p++) {
			w[n++] = (unsigned char)*p;
			w[n++] = 0;
		}
		b64(w, n, enc);
		snprintf(ev, sizeof ev, "{\"CommandLine\":\"-e %s\"}", enc);
		is_int(m("sel:\n  CommandLine|wide|base64offset|contains: 'ping'\ncondition: sel", ev), 1,
		    "wide|base64offset at offset %d", off);
		is_int(m("sel:\n  CommandLine|utf16le|base64offset|contains: 'ping'\ncondition: sel", ev), 1,
		    "utf16le|base64offset at offset %d", off);
		is_int(m("sel:\n  CommandLine|base64offset|contains: 'ping'\ncondition: sel", ev), 0,
		    "plain base64offset does not find UTF-16 text (offset %d)", off);
	}
	b64((const unsigned char *)"\0p\0i\0n\0g", 8, enc);
	snprintf(ev, sizeof ev, "{\"CommandLine\":\"%s\"}", enc);
	is_int(m("sel:\n  CommandLine|utf16be|base64: 'ping'\ncondition: sel", ev), 1, "utf16be|base64");
	is_int(m("sel:\n  CommandLine|utf16|base64: 'ping'\ncondition: sel", "{\"CommandLine\":\"//5wAGkAbgBnAA==\"}"), 1,
	    "utf16 (with BOM)|base64 = //5wAGkAbgBnAA==");
	is_int(m("sel:\n  CommandLine|wide|base64: 'ping'\ncondition: sel", "{\"CommandLine\":\"cABpAG4AZwA=\"}"), 1,
	    "wide|base64 = cABpAG4AZwA=");
	is_int(m("sel:\n  CommandLine|wide|base64: 'ping'\ncondition: sel", "{\"CommandLine\":\"CABPAG4AZWA=\"}"), 1,
	    "encoded needles still compare case-insensitively (as the spec says)");
	is_int(m("sel:\n  CommandLine|wide|base64|cased: 'ping'\ncondition: sel", "{\"CommandLine\":\"CABPAG4AZWA=\"}"), 0,
	    "... unless cased");
}

static void
t_null_empty(void)
{
	const char *null_det = "sel:\n  CommandLine: null\ncondition: sel";
	const char *empty_det = "sel:\n  CommandLine: ''\ncondition: sel";

	is_int(m(null_det, "{}"), 1, "null matches a missing field");
	is_int(m(null_det, "{\"CommandLine\":null}"), 1, "null matches JSON null");
	is_int(m(null_det, "{\"CommandLine\":\"\"}"), 0, "null does not match ''");
	is_int(m(null_det, "{\"CommandLine\":\"x\"}"), 0, "null does not match a value");
	is_int(m(empty_det, "{\"CommandLine\":\"\"}"), 1, "'' matches ''");
	is_int(m(empty_det, "{}"), 0, "'' does not match a missing field");
	is_int(m(empty_det, "{\"CommandLine\":null}"), 0, "'' does not match null");
	is_int(m("sel:\n  CommandLine: 'null'\ncondition: sel", "{\"CommandLine\":\"null\"}"), 1,
	    "'null' quoted is text");
	is_int(m("sel:\n  CommandLine: []\ncondition: sel", "{}"), 1, "an empty list is null (pySigma)");
	is_int(m("sel:\n  Image: 'a'\nfilter:\n  CommandLine: 'x'\ncondition: sel and not filter", "{\"Image\":\"a\"}"), 1,
	    "a filter on a missing field is false, so 'not filter' holds");
	is_int(m("sel:\n  Image: 'a'\nf_null:\n  CommandLine: null\nf_empty:\n  CommandLine: ''\ncondition: sel and not 1 of f_*",
	    "{\"Image\":\"a\",\"CommandLine\":\"x\"}"), 1, "not null and not empty: a value");
	is_int(m("sel:\n  Image: 'a'\nf_null:\n  CommandLine: null\nf_empty:\n  CommandLine: ''\ncondition: sel and not 1 of f_*",
	    "{\"Image\":\"a\"}"), 0, "not null and not empty: missing");
	is_int(m("sel:\n  Image: 'a'\nf_null:\n  CommandLine: null\nf_empty:\n  CommandLine: ''\ncondition: sel and not 1 of f_*",
	    "{\"Image\":\"a\",\"CommandLine\":\"\"}"), 0, "not null and not empty: empty");
	is_int(m("sel:\n  ParentImage: '-'\ncondition: sel", "{\"ParentImage\":\"-\"}"), 1, "'-' is a value, not null");
	is_int(m("sel:\n  Image|exists: true\ncondition: sel", "{\"Image\":null}"), 1, "exists: true with a null value");
	is_int(m("sel:\n  Image|exists: true\ncondition: sel", "{\"Image\":\"\"}"), 1, "exists: true with ''");
	is_int(m("sel:\n  Image|exists: true\ncondition: sel", "{}"), 0, "exists: true, missing");
	is_int(m("sel:\n  Image|exists: false\ncondition: sel", "{}"), 1, "exists: false, missing");
	is_int(m("sel:\n  Image|exists: false\ncondition: sel", "{\"Image\":\"x\"}"), 0, "exists: false, present");
	ok(contains(why("sel:\n  Image|exists: 'yes'\ncondition: sel"), "true or false"),
	    "exists needs a boolean: %s", last_problem);
	ok(contains(why("sel:\n  Image|all|exists: true\ncondition: sel"), "first"),
	    "exists must come first: %s", last_problem);
}

static void
t_numbers(void)
{
	is_int(m("sel:\n  ProcessId: 4017\ncondition: sel", "{\"ProcessId\":4017}"), 1, "number = JSON number");
	is_int(m("sel:\n  ProcessId: 4017\ncondition: sel", "{\"ProcessId\":\"4017\"}"), 1, "number = numeric string");
	is_int(m("sel:\n  ProcessId: 4017\ncondition: sel", "{\"ProcessId\":4018}"), 0, "number != other number");
	is_int(m("sel:\n  ProcessId: '4017'\ncondition: sel", "{\"ProcessId\":4017}"), 1, "string = JSON number's text");
	is_int(m("sel:\n  ProcessId: 4017\ncondition: sel", "{\"ProcessId\":4017.0}"), 1, "4017 = 4017.0");
	is_int(m("sel:\n  Ratio: 0.5\ncondition: sel", "{\"Ratio\":0.5}"), 1, "float");
	is_int(m("sel:\n  ProcessId|startswith: 40\ncondition: sel", "{\"ProcessId\":4017}"), 1,
	    "startswith a number (used as text)");
	is_int(m("sel:\n  Enabled: true\ncondition: sel", "{\"Enabled\":true}"), 1, "true = JSON true");
	is_int(m("sel:\n  Enabled: true\ncondition: sel", "{\"Enabled\":\"True\"}"), 1, "true = 'True'");
	is_int(m("sel:\n  Enabled: false\ncondition: sel", "{\"Enabled\":true}"), 0, "false != true");
	is_int(m("sel:\n  Size|gt: 10\ncondition: sel", "{\"Size\":11}"), 1, "gt");
	is_int(m("sel:\n  Size|gt: 10\ncondition: sel", "{\"Size\":10}"), 0, "gt is strict");
	is_int(m("sel:\n  Size|gte: 10\ncondition: sel", "{\"Size\":10}"), 1, "gte");
	is_int(m("sel:\n  Size|lt: 10\ncondition: sel", "{\"Size\":9.5}"), 1, "lt");
	is_int(m("sel:\n  Size|lt: 10\ncondition: sel", "{\"Size\":10}"), 0, "lt is strict");
	is_int(m("sel:\n  Size|lte: 10\ncondition: sel", "{\"Size\":10}"), 1, "lte");
	is_int(m("sel:\n  Size|gt: 10\ncondition: sel", "{\"Size\":\"100\"}"), 1, "gt on a numeric string");
	is_int(m("sel:\n  Size|gt: 10\ncondition: sel", "{\"Size\":\"9\"}"), 0, "numbers compare as numbers, not text");
	is_int(m("sel:\n  Size|gt: 10\ncondition: sel", "{\"Size\":\"100abc\"}"), 0, "gt: not a number");
	is_int(m("sel:\n  Size|gt: 10\ncondition: sel", "{\"Size\":\"0x100\"}"), 0, "gt: hex text is not a number");
	is_int(m("sel:\n  Size|gt: 10\ncondition: sel", "{}"), 0, "gt: missing");
	is_int(m("sel:\n  Size|lt: -1.5\ncondition: sel", "{\"Size\":-2}"), 1, "lt with negatives");
	is_int(m("sel:\n  Size|gte: '10'\ncondition: sel", "{\"Size\":12}"), 1, "a quoted number is taken");
	ok(contains(why("sel:\n  Size|gt: 'ten'\ncondition: sel"), "number"), "gt needs a number: %s", last_problem);
}

static void
t_time(void)
{
	const char *ev = "{\"UtcTime\":\"2024-12-10 08:40:37.250\",\"When\":1733820037.25}";

	is_int(m("sel:\n  UtcTime|hour: 8\ncondition: sel", ev), 1, "hour");
	is_int(m("sel:\n  UtcTime|minute: 40\ncondition: sel", ev), 1, "minute");
	is_int(m("sel:\n  UtcTime|day: 10\ncondition: sel", ev), 1, "day");
	is_int(m("sel:\n  UtcTime|month: 12\ncondition: sel", ev), 1, "month");
	is_int(m("sel:\n  UtcTime|year: 2024\ncondition: sel", ev), 1, "year");
	is_int(m("sel:\n  UtcTime|week: 50\ncondition: sel", ev), 1, "week (ISO 8601)");
	is_int(m("sel:\n  UtcTime|hour: 9\ncondition: sel", ev), 0, "hour differs");
	is_int(m("sel:\n  When|hour: 8\ncondition: sel", ev), 1, "hour of epoch seconds (UTC)");
	is_int(m("sel:\n  UtcTime|hour:\n    - 1\n    - 8\ncondition: sel", ev), 1, "a list of hours");
	is_int(m("sel:\n  UtcTime|hour: 8\ncondition: sel", "{\"UtcTime\":\"yesterday\"}"), 0, "not a time");
}

static void
t_regex(void)
{
	const char *ev = "{\"CommandLine\":\"Line one\\nline TWO 1234\"}";

	is_int(m("sel:\n  CommandLine|re: 'TWO \\d{4}'\ncondition: sel", ev), 1, "re: search, \\d, {n}");
	is_int(m("sel:\n  CommandLine|re: 'two'\ncondition: sel", ev), 0, "re is case-sensitive");
	is_int(m("sel:\n  CommandLine|re|i: 'two'\ncondition: sel", ev), 1, "re|i");
	is_int(m("sel:\n  CommandLine|re|ignorecase: 'two'\ncondition: sel", ev), 1, "re|ignorecase");
	is_int(m("sel:\n  CommandLine|re: '(?i)two'\ncondition: sel", ev), 1, "inline (?i)");
	is_int(m("sel:\n  CommandLine|re: '^line'\ncondition: sel", ev), 0, "^ is the start of the value");
	is_int(m("sel:\n  CommandLine|re|m: '^line'\ncondition: sel", ev), 1, "re|m: ^ at each line");
	is_int(m("sel:\n  CommandLine|re|multiline: '^line'\ncondition: sel", ev), 1, "re|multiline");
	is_int(m("sel:\n  CommandLine|re: 'one.line'\ncondition: sel", ev), 0, ". does not match newline");
	is_int(m("sel:\n  CommandLine|re|s: 'one.line'\ncondition: sel", ev), 1, "re|s: . matches newline");
	is_int(m("sel:\n  CommandLine|re|dotall: 'one.line'\ncondition: sel", ev), 1, "re|dotall");
	is_int(m("sel:\n  CommandLine|re|i|m: '^LINE two'\ncondition: sel", ev), 1, "re|i|m");
	is_int(m("sel:\n  CommandLine|re: '(?:one|two)\\s+\\S+?'\ncondition: sel", ev), 1,
	    "non-capturing groups, \\s, lazy quantifiers");
	is_int(m("sel:\n  CommandLine|re: 'a*b'\ncondition: sel", "{\"CommandLine\":\"xb\"}"), 1,
	    "re values are not globs: * is a quantifier");
	is_int(m("sel:\n  CommandLine|re: '\\bone\\b'\ncondition: sel", ev), 1, "\\b");
	{
		/* Catastrophic backtracking: bounded, then no match (and no hang). */
		char evil[256];
		struct timespec a, b;
		int r;
		snprintf(evil, sizeof evil, "{\"CommandLine\":\"%s!\"}",
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		clock_gettime(CLOCK_MONOTONIC, &a);
		r = m("sel:\n  CommandLine|re: '^(a|aa)+$'\ncondition: sel", evil);
		clock_gettime(CLOCK_MONOTONIC, &b);
		is_int(r, 0, "an exponential pattern stops at the match limit: no match");
		ok(b.tv_sec - a.tv_sec < 60, "... and returns (without a limit it would run for hours)");
	}
	is_int(m("sel:\n  CommandLine|re|contains: 'TWO'\ncondition: sel", ev), 1, "re|contains changes nothing");
	is_int(m("sel:\n  ProcessId|re: '^40\\d+$'\ncondition: sel", "{\"ProcessId\":4017}"), 1,
	    "re on a number's text");
	is_int(m("sel:\n  CommandLine|re: '^a{,2}b$'\ncondition: sel", "{\"CommandLine\":\"aab\"}"), 1,
	    "Python's {,n} is {0,n}");
	is_int(m("sel:\n  CommandLine|re: '^a{,2}b$'\ncondition: sel", "{\"CommandLine\":\"aaab\"}"), 0,
	    "... at most n");
	is_int(m("sel:\n  CommandLine|re: '[{,2}]'\ncondition: sel", "{\"CommandLine\":\",\"}"), 1,
	    "... but not inside a class");
	is_int(m("sel:\n  CommandLine|re: 'b\\Z'\ncondition: sel", "{\"CommandLine\":\"ab\\n\"}"), 0,
	    "Python's \\Z is the very end");
	is_int(m("sel:\n  CommandLine|re: '\\u0410'\ncondition: sel", "{\"CommandLine\":\"x\xd0\x90\"}"), 1,
	    "Python's \\uXXXX");
	is_int(m("sel:\n  CommandLine|re: '\\\\u0410'\ncondition: sel", "{\"CommandLine\":\"\\\\u0410\"}"), 1,
	    "an escaped backslash before u is not an escape");
	ok(contains(why("sel:\n  CommandLine|re: '(unclosed'\ncondition: sel"), "re:"),
	    "a bad regex skips the rule: %s", last_problem);
	ok(contains(why("sel:\n  CommandLine|contains|re: 'x'\ncondition: sel"), "first"),
	    "re must come first: %s", last_problem);
	ok(contains(why("sel:\n  CommandLine|i: 'x'\ncondition: sel"), "after re"),
	    "i needs re: %s", last_problem);
}

static void
t_cidr(void)
{
	const char *v4 = "sel:\n  DestinationIp|cidr: '10.0.0.0/8'\ncondition: sel";
	const char *v6 = "sel:\n  DestinationIp|cidr: '2001:db8::/32'\ncondition: sel";

	is_int(m(v4, "{\"DestinationIp\":\"10.1.2.3\"}"), 1, "cidr v4 inside");
	is_int(m(v4, "{\"DestinationIp\":\"11.1.2.3\"}"), 0, "cidr v4 outside");
	is_int(m(v4, "{\"DestinationIp\":\"::ffff:10.9.9.9\"}"), 1, "cidr v4: v4-mapped v6 address");
	is_int(m(v4, "{\"DestinationIp\":\"2001:db8::1\"}"), 0, "cidr v4: a v6 address");
	is_int(m(v4, "{\"DestinationIp\":\"not an ip\"}"), 0, "cidr: not an address");
	is_int(m(v4, "{}"), 0, "cidr: missing");
	is_int(m(v6, "{\"DestinationIp\":\"2001:db8:1::5\"}"), 1, "cidr v6 inside");
	is_int(m(v6, "{\"DestinationIp\":\"2001:db9::5\"}"), 0, "cidr v6 outside");
	is_int(m(v6, "{\"DestinationIp\":\"fe80::1%eth0\"}"), 0, "cidr v6: zone index ignored, outside");
	is_int(m("sel:\n  Ip|cidr: '192.168.1.77/26'\ncondition: sel", "{\"Ip\":\"192.168.1.64\"}"), 1,
	    "cidr: host bits of the network are cleared");
	is_int(m("sel:\n  Ip|cidr: '192.168.1.7'\ncondition: sel", "{\"Ip\":\"192.168.1.7\"}"), 1, "cidr without a prefix: one address");
	is_int(m("sel:\n  Ip|cidr: '192.168.1.7'\ncondition: sel", "{\"Ip\":\"192.168.1.8\"}"), 0, "... only that one");
	is_int(m("sel:\n  Ip|cidr:\n    - '10.0.0.0/8'\n    - '172.16.0.0/12'\ncondition: sel", "{\"Ip\":\"172.20.1.1\"}"), 1,
	    "cidr list");
	is_int(m("sel:\n  Ip|cidr: '0.0.0.0/0'\ncondition: sel", "{\"Ip\":\"8.8.8.8\"}"), 1, "cidr /0");
	ok(contains(why("sel:\n  Ip|cidr: '10.0.0.0/33'\ncondition: sel"), "prefix"), "bad prefix: %s", last_problem);
	ok(contains(why("sel:\n  Ip|cidr: 'banana'\ncondition: sel"), "not an IP"), "bad network: %s", last_problem);
}

static void
t_fieldref(void)
{
	const char *det = "sel:\n  Image: 'a'\nfilter:\n  User|fieldref: ParentUser\ncondition: sel and not filter";

	is_int(m(det, "{\"Image\":\"a\",\"User\":\"CORP\\\\alice\",\"ParentUser\":\"CORP\\\\alice\"}"), 0,
	    "fieldref: equal fields (the cross-user filter holds)");
	is_int(m(det, "{\"Image\":\"a\",\"User\":\"CORP\\\\alice\",\"ParentUser\":\"corp\\\\ALICE\"}"), 0,
	    "fieldref: case-insensitive");
	is_int(m(det, "{\"Image\":\"a\",\"User\":\"CORP\\\\alice\",\"ParentUser\":\"CORP\\\\bob\"}"), 1,
	    "fieldref: different fields");
	is_int(m(det, "{\"Image\":\"a\",\"User\":\"ParentUser\",\"ParentUser\":\"x\"}"), 1,
	    "fieldref compares with the other field, not with its name");
	is_int(m("sel:\n  User|fieldref: ParentUser\ncondition: sel", "{\"User\":\"x\"}"), 0,
	    "fieldref: the other field missing");
	is_int(m("sel:\n  CommandLine|fieldref|contains: Image\ncondition: sel",
	    "{\"CommandLine\":\"run C:\\\\x.exe now\",\"Image\":\"c:\\\\X.exe\"}"), 1, "fieldref|contains");
	is_int(m("sel:\n  CommandLine|fieldref|startswith: Image\ncondition: sel",
	    "{\"CommandLine\":\"C:\\\\x.exe now\",\"Image\":\"C:\\\\x.exe\"}"), 1, "fieldref|startswith");
	is_int(m("sel:\n  CommandLine|fieldref|endswith: Image\ncondition: sel",
	    "{\"CommandLine\":\"C:\\\\x.exe now\",\"Image\":\"C:\\\\x.exe\"}"), 0, "fieldref|endswith");
	is_int(m("sel:\n  A|fieldref|cased: B\ncondition: sel", "{\"A\":\"x\",\"B\":\"X\"}"), 0, "fieldref|cased");
	ok(contains(why("sel:\n  A|fieldref: 'B*'\ncondition: sel"), "wildcards"), "fieldref refuses wildcards: %s",
	    last_problem);
}

static void
t_keywords(void)
{
	const char *ev = "{\"EventData\":{\"CommandLine\":\"mimikatz sekurlsa::logonpasswords\",\"Pid\":4017},"
	    "\"Other\":[\"alpha\",{\"deep\":\"select * from users\"}]}";

	is_int(m("keywords:\n  - 'sekurlsa'\n  - 'nothing'\ncondition: keywords", ev), 1, "keywords: any string field");
	is_int(m("keywords:\n  - 'nothing'\ncondition: keywords", ev), 0, "keywords: none present");
	is_int(m("keywords: 'ALPHA'\ncondition: keywords", ev), 1, "a single keyword, in an array, case-insensitive");
	is_int(m("keywords:\n  - 'select \\*'\ncondition: keywords", ev), 1, "keyword with an escaped *, nested deep");
	is_int(m("keywords:\n  - 'select \\*'\ncondition: keywords", "{\"a\":\"select x\"}"), 0, "... which is literal");
	is_int(m("keywords:\n  - 4017\ncondition: keywords", ev), 1, "a number keyword finds a number");
	is_int(m("keywords:\n  '|all':\n    - 'mimikatz'\n    - 'alpha'\ncondition: keywords", ev), 1,
	    "'|all' keywords: all present (in different fields)");
	is_int(m("keywords:\n  '|all':\n    - 'mimikatz'\n    - 'beta'\ncondition: keywords", ev), 0,
	    "'|all' keywords: one missing");
	is_int(m("keywords:\n  '|re': 'sek\\w+::'\ncondition: keywords", ev), 1, "'|re' keyword");
	is_int(m("sel:\n  Image: x\nkeywords:\n  - 'sekurlsa'\ncondition: keywords and not sel", ev), 1,
	    "keywords combine with selections");
	struct vc_sigma_set *set = load_rule("keywords:\n  - 'logonpasswords'\ncondition: keywords", NULL);
	jv h = hits_of(set, ev);
	jv e = jv_array_get(jv_object_get(jv_array_get(jv_copy(h), 0), jv_string("evidence")), 0);
	jv f = jv_object_get(jv_copy(e), jv_string("field"));
	is_str(jv_get_kind(f) == JV_KIND_STRING ? jv_string_value(f) : NULL, "EventData.CommandLine",
	    "keyword evidence names the path where it was found");
	jv_free(f);
	jv_free(e);
	jv_free(h);
	vc_sigma_free(set);
}

static void
t_conditions(void)
{
	const char *sels = "a:\n  A: 1\nb:\n  B: 1\nc:\n  C: 1\n";
	char det[512];
	struct {
		const char *cond, *ev;
		int want;
		const char *what;
	} cases[] = {
		{ "a or b and not c", "{\"A\":1,\"C\":1}", 1, "or binds weaker than and: a or (b and not c)" },
		{ "a or b and not c", "{\"B\":1,\"C\":1}", 0, "... b and not c fails" },
		{ "(a or b) and not c", "{\"A\":1,\"C\":1}", 0, "parentheses" },
		{ "not a and b", "{\"A\":1,\"B\":1}", 0, "not binds tighter than and: (not a) and b" },
		{ "not a and b", "{\"B\":1}", 1, "... true when a is absent" },
		{ "not (a and b)", "{\"A\":1}", 1, "not over parentheses" },
		{ "not not a", "{\"A\":1}", 1, "not not" },
		{ "a and b or c", "{\"C\":1}", 1, "and before or" },
		{ "a and (b or c)", "{\"C\":1}", 0, "parentheses against precedence" },
		{ "1 of them", "{\"B\":1}", 1, "1 of them" },
		{ "1 of them", "{}", 0, "1 of them, none" },
		{ "any of them", "{\"C\":1}", 1, "any of them" },
		{ "all of them", "{\"A\":1,\"B\":1,\"C\":1}", 1, "all of them" },
		{ "all of them", "{\"A\":1,\"B\":1}", 0, "all of them, one missing" },
		{ "not 1 of them", "{}", 1, "not 1 of them" },
		{ "not 1 of them", "{\"A\":1}", 0, "not 1 of them, one present" },
		{ "a and not 1 of them", "{\"A\":1}", 0, "1 of them includes a itself" },
		{ "1 of a* or c", "{\"C\":1}", 1, "x of binds tighter than or" },
		{ "a\n  and b", "{\"A\":1,\"B\":1}", 1, "newlines are white space" },
		{ "  a  ", "{\"A\":1}", 1, "surrounding blanks" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(det, sizeof det, "%scondition: |\n  %s", sels, cases[i].cond);
		is_int(m(det, cases[i].ev), cases[i].want, "condition: %s", cases[i].what);
	}

	const char *pat = "sel_a:\n  A: 1\nsel_b:\n  B: 1\nfilter_1:\n  F: 1\nfilter_2:\n  G: 1\n"
	    "_hidden:\n  H: 1\n";
	struct {
		const char *cond, *ev;
		int want;
		const char *what;
	} pcases[] = {
		{ "all of sel_*", "{\"A\":1,\"B\":1}", 1, "all of sel_*" },
		{ "all of sel_*", "{\"A\":1}", 0, "all of sel_*, one missing" },
		{ "1 of sel_*", "{\"B\":1}", 1, "1 of sel_*" },
		{ "1 of sel_* and not 1 of filter_*", "{\"A\":1,\"G\":1}", 0, "not 1 of filter_*, a filter holds" },
		{ "1 of sel_* and not 1 of filter_*", "{\"A\":1}", 1, "not 1 of filter_*, none holds" },
		{ "all of sel_* and not all of filter_*", "{\"A\":1,\"B\":1,\"F\":1}", 1, "not all of" },
		{ "1 of them", "{\"H\":1}", 0, "them leaves out _ names" },
		{ "1 of *", "{\"H\":1}", 0, "* leaves out _ names" },
		{ "1 of _h*", "{\"H\":1}", 1, "a _ pattern finds _ names" },
		{ "_hidden", "{\"H\":1}", 1, "a _ name by itself" },
		{ "1 of sel_?", "{}", -1, "? is not a pattern character" },
	};
	for (size_t i = 0; i < sizeof pcases / sizeof pcases[0]; i++) {
		snprintf(det, sizeof det, "%scondition: %s", pat, pcases[i].cond);
		is_int(m(det, pcases[i].ev), pcases[i].want, "condition: %s", pcases[i].what);
	}

	snprintf(det, sizeof det, "%scondition:\n  - a\n  - b", sels);
	is_int(m(det, "{\"B\":1}"), 1, "a list of conditions is their OR");

	static const struct {
		const char *cond, *reason;
	} bad[] = {
		{ "a and nosuch", "not a search identifier" },
		{ "1 of nosuch*", "matches no search identifier" },
		{ "a | count() > 5", "aggregation" },
		{ "a | near b", "aggregation" },
		{ "2 of them", "not supported" },
		{ "a and", "unexpected end" },
		{ "(a", "missing ')'" },
		{ "a)", "unexpected ')'" },
		{ "a b", "unexpected 'b'" },
		{ "sel*", "needs '1 of'" },
		{ "a AND b", "unexpected 'AND'" },
		{ "", "empty" },
		{ "a & b", "unexpected character" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(det, sizeof det, "%scondition: '%s'", sels, bad[i].cond);
		ok(contains(why(det), bad[i].reason), "condition '%s' is refused: %s", bad[i].cond, last_problem);
	}
}

static void
t_validation(void)
{
	struct vc_sigma_set *set;
	jv problems = jv_invalid();
	static const struct {
		const char *yaml, *reason;
	} bad[] = {
		{ "id: x\nlogsource: {product: windows}\ndetection: {s: {A: 1}, condition: s}\n", "no title" },
		{ "title: t\ndetection: {s: {A: 1}, condition: s}\n", "no logsource" },
		{ "title: t\nlogsource: {product: windows}\n", "no detection" },
		{ "title: t\nlogsource: {product: windows}\ndetection: {s: {A: 1}}\n", "no condition" },
		{ "title: t\nlogsource: {product: windows}\ndetection: {condition: s}\n", "no search identifiers" },
		{ "title: t\nlevel: urgent\nlogsource: {product: windows}\ndetection: {s: {A: 1}, condition: s}\n", "unknown level" },
		{ "title: t\nstatus: wip\nlogsource: {product: windows}\ndetection: {s: {A: 1}, condition: s}\n", "unknown status" },
		{ "title: t\nlogsource: {product: windows}\ndetection: {s: {A|bogus: 1}, condition: s}\n", "unknown modifier 'bogus'" },
		{ "title: t\nlogsource: {product: windows}\ndetection: {s: {A: [[1]]}, condition: s}\n", "plain values" },
		{ "title: t\nlogsource: {product: windows}\ndetection: {s: {A|expand: '%Admins%'}, condition: s}\n", "placeholder %Admins%" },
		{ "title: t\nlogsource: {product: windows}\ndetection: {s: null, condition: s}\n", "null value must be bound" },
		{ "title: t\ncorrelation: {type: event_count, rules: [x]}\n", "correlation rules are not supported" },
		{ "title: t\nfilter: {rules: [x], sel: {A: 1}, condition: sel}\nlogsource: {product: windows}\n", "filter" },
		{ "title: t\nlogsource: {product: windows}\ndetection: {s: {A|contains: true}, condition: s}\n", "cannot apply to a boolean" },
		{ "- just a list\n", "not a YAML map" },
		{ "title: [unclosed\n", "YAML" },
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		problems = jv_invalid();
		set = NULL;
		int rc = vc_sigma_load_string(&ctx, "bad.yml", bad[i].yaml, strlen(bad[i].yaml), NULL, &set, &problems);
		jv p = jv_array_get(jv_copy(problems), 0);
		jv reason = jv_object_get(jv_copy(p), jv_string("reason"));
		jv file = jv_object_get(p, jv_string("file"));

		ok(rc == VC_EOK && vc_sigma_count(set) == 0 && jv_get_kind(reason) == JV_KIND_STRING &&
		    contains(jv_string_value(reason), bad[i].reason) &&
		    jv_get_kind(file) == JV_KIND_STRING && strcmp(jv_string_value(file), "bad.yml") == 0,
		    "refused (%s): %s", bad[i].reason,
		    jv_get_kind(reason) == JV_KIND_STRING ? jv_string_value(reason) : "(loaded)");
		jv_free(reason);
		jv_free(file);
		jv_free(problems);
		vc_sigma_free(set);
	}

	/* Problems carry the rule's id and title when it has them. */
	const char *y = "title: Broken\nid: abc\nlogsource: {product: windows}\ndetection: {s: {A|nope: 1}, condition: s}\n";
	problems = jv_invalid();
	vc_sigma_load_string(&ctx, "b.yml", y, strlen(y), NULL, &set, &problems);
	jv p = jv_array_get(jv_copy(problems), 0);
	jv id = jv_object_get(jv_copy(p), jv_string("rule_id")), title = jv_object_get(p, jv_string("title"));
	ok(jv_get_kind(id) == JV_KIND_STRING && !strcmp(jv_string_value(id), "abc") &&
	    jv_get_kind(title) == JV_KIND_STRING && !strcmp(jv_string_value(title), "Broken"),
	    "a problem names the rule id and title");
	jv_free(id);
	jv_free(title);
	jv_free(problems);
	vc_sigma_free(set);

	/* Unknown keys are ignored; several documents are several rules. */
	y = "title: one\nid: r1\ncustom_key: {whatever: [1, 2]}\nlogsource: {product: windows}\n"
	    "detection: {s: {A: 1}, condition: s}\n---\n"
	    "title: corr\ncorrelation: {type: event_count, rules: [r1], timespan: 1h}\n---\n"
	    "title: two\nid: r2\nlogsource: {product: windows}\ndetection: {s: {B: 1}, condition: s}\n---\n"
	    "title: dup\nid: r1\nlogsource: {product: windows}\ndetection: {s: {B: 1}, condition: s}\n";
	problems = jv_invalid();
	is_int(vc_sigma_load_string(&ctx, "multi.yml", y, strlen(y), NULL, &set, &problems), VC_EOK, "multi-document load");
	is_int(vc_sigma_count(set), 2, "two rules load, the correlation and the duplicate id do not");
	is_int(jv_array_length(jv_copy(problems)), 2, "two problems");
	jv r = jv_object_get(jv_array_get(jv_copy(problems), 1), jv_string("reason"));
	ok(contains(jv_string_value(r), "duplicate rule id"), "duplicate id: %s", jv_string_value(r));
	jv_free(r);
	jv h = hits_of(set, "{\"A\":1,\"B\":1}");
	jv t0 = jv_object_get(jv_array_get(jv_copy(h), 0), jv_string("title"));
	jv t1 = jv_object_get(jv_array_get(jv_copy(h), 1), jv_string("title"));
	ok(jv_array_length(jv_copy(h)) == 2 && !strcmp(jv_string_value(t0), "one") && !strcmp(jv_string_value(t1), "two"),
	    "hits come in rule order");
	jv_free(t0);
	jv_free(t1);
	jv_free(h);
	jv_free(problems);
	vc_sigma_free(set);

	is_int(strcmp(why("sel:\n  A|expand: 'no placeholder'\ncondition: sel"), ""), 0,
	    "expand without a placeholder is harmless");
	is_int(m("sel:\n  A|expand: 'x\\%y%'\ncondition: sel", "{\"A\":\"x\\\\%y%\"}"), 1, "a backslash-escaped %% is not a placeholder");
	is_int(vc_sigma_load(&ctx, "/nonexistent/rules", NULL, &set, NULL), VC_ENOTFOUND, "a missing path is an error");
	ok(set == NULL, "... and no set");
}

static void
t_indicator(void)
{
	struct vc_sigma_set *set = load_rule("sel:\n  Image|endswith: '\\x.exe'\n  CommandLine|contains: 'go'\n"
	    "filter:\n  User: 'bob'\ncondition: sel and not filter", NULL);
	jv h = hits_of(set, "{\"Image\":\"C:\\\\x.exe\",\"CommandLine\":\"x go\",\"User\":\"alice\"}");
	jv want = jv_parse("[{\"kind\":\"sigma\",\"id\":\"11111111-2222-4333-8444-555555555555\","
	    "\"title\":\"test rule\",\"level\":\"high\",\"author\":\"Tester\",\"tags\":[\"attack.t1059\"],"
	    "\"evidence\":[{\"field\":\"Image\",\"value\":\"C:\\\\x.exe\"},{\"field\":\"CommandLine\",\"value\":\"x go\"}]}]");
	jv got_s = jv_dump_string(jv_copy(h), 0);

	ok(jv_equal(jv_copy(h), want), "the indicator: kind, id, title, level, author, tags, evidence (not the filter)");
	printf("# %s\n", jv_string_value(got_s));
	jv_free(got_s);
	jv_free(h);
	vc_sigma_free(set);

	/* Evidence of the branch that matched only, once per field. */
	set = load_rule("a:\n  A: 1\n  C: 1\nb:\n  B: 1\nc:\n  B|contains: ''\ncondition: (a or b) and c", NULL);
	h = hits_of(set, "{\"A\":1,\"B\":1}");
	jv e = jv_object_get(jv_array_get(jv_copy(h), 0), jv_string("evidence"));
	jv es = jv_dump_string(jv_copy(e), 0);
	ok(jv_equal(e, jv_parse("[{\"field\":\"B\",\"value\":1}]")), "evidence drops a failed AND branch and duplicates: %s",
	    jv_string_value(es));
	jv_free(es);
	jv_free(h);
	vc_sigma_free(set);

	/* Missing level and author; an author list is joined. */
	const char *y = "title: t\nauthor: [a, b]\nlogsource: {product: windows}\ndetection: {s: {A: 1}, condition: s}\n";
	jv problems = jv_invalid();
	vc_sigma_load_string(&ctx, "x.yml", y, strlen(y), NULL, &set, &problems);
	h = hits_of(set, "{\"A\":1}");
	jv hit = jv_array_get(jv_copy(h), 0);
	jv au = jv_object_get(jv_copy(hit), jv_string("author")), lv = jv_object_get(jv_copy(hit), jv_string("level"));
	jv id = jv_object_get(hit, jv_string("id"));
	ok(jv_get_kind(au) == JV_KIND_STRING && !strcmp(jv_string_value(au), "a, b"), "an author list is joined");
	ok(jv_get_kind(lv) == JV_KIND_NULL && jv_get_kind(id) == JV_KIND_NULL, "missing level and id are null");
	jv_free(au);
	jv_free(lv);
	jv_free(id);
	jv_free(h);
	jv_free(problems);
	vc_sigma_free(set);

	/* *hits collects across calls; the event is only borrowed. */
	set = load_rule("sel:\n  A: 1\ncondition: sel", NULL);
	jv ev = jv_parse("{\"A\":1}"), acc = jv_invalid();
	is_int(vc_sigma_match(set, ev, &acc), 1, "match returns the number of hits");
	is_int(vc_sigma_match(set, ev, &acc), 1, "... again on the same (borrowed) event");
	is_int(jv_array_length(jv_copy(acc)), 2, "hits accumulate in *hits");
	jv none = jv_invalid();
	jv other = jv_parse("{\"A\":2}");
	is_int(vc_sigma_match(set, other, &none), 0, "no hit");
	ok(jv_get_kind(none) == JV_KIND_ARRAY, "an empty array then");
	jv_free(none);
	jv_free(other);
	jv_free(ev);
	jv_free(acc);
	vc_sigma_free(set);
}

static void
t_mapping(void)
{
	struct vc_sigma_set *set = load_rule(
	    "sel:\n  Image|endswith: '\\evil.exe'\n  User|contains: 'alice'\n  Hashes|contains: 'SHA1=AB12'\n"
	    "  ProcessId: 77\n  ParentProcessId: 5\ncondition: sel", NULL);
	/* A Velociraptor Windows.System.Pslist row. */
	jv h = hits_of(set, "{\"Pid\":77,\"Ppid\":5,\"Name\":\"evil.exe\",\"Exe\":\"C:\\\\Users\\\\Public\\\\evil.exe\","
	    "\"CommandLine\":\"evil.exe -k\",\"Username\":\"CORP\\\\alice\","
	    "\"Hash\":{\"MD5\":\"aa\",\"SHA1\":\"ab12cd\",\"SHA256\":\"ee\"}}");
	is_int(jv_array_length(jv_copy(h)), 1, "Pslist: Image<-Exe, User<-Username, Hashes<-Hash.*, ProcessId<-Pid");
	jv e = jv_object_get(jv_array_get(jv_copy(h), 0), jv_string("evidence"));
	jv want = jv_parse("[{\"field\":\"Image\",\"value\":\"C:\\\\Users\\\\Public\\\\evil.exe\"},"
	    "{\"field\":\"User\",\"value\":\"CORP\\\\alice\"},{\"field\":\"Hashes\",\"value\":\"MD5=aa,SHA1=ab12cd,SHA256=ee\"},"
	    "{\"field\":\"ProcessId\",\"value\":77},{\"field\":\"ParentProcessId\",\"value\":5}]");
	ok(jv_equal(e, want), "Pslist evidence has the Sigma names and the row's values (Hashes computed)");
	jv_free(h);
	vc_sigma_free(set);

	set = load_rule("sel:\n  Image|endswith: '\\cmd.exe'\n  Provider_Name: 'Microsoft-Windows-Sysmon'\n"
	    "  EventID: 1\n  Computer: 'WS1'\ncondition: sel", NULL);
	/* Velociraptor parse_evtx() row. */
	h = hits_of(set, "{\"System\":{\"Provider\":{\"Name\":\"Microsoft-Windows-Sysmon\"},\"EventID\":{\"Value\":1},"
	    "\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Computer\":\"WS1\"},"
	    "\"EventData\":{\"Image\":\"C:\\\\Windows\\\\cmd.exe\"}}");
	is_int(jv_array_length(jv_copy(h)), 1, "parse_evtx: EventData.X, System.EventID.Value, System.Provider.Name");
	jv_free(h);
	/* evtx_dump object with an Event wrapper and #attributes. */
	h = hits_of(set, "{\"Event\":{\"#attributes\":{},\"System\":{\"Provider\":{\"#attributes\":{\"Name\":"
	    "\"Microsoft-Windows-Sysmon\"}},\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\","
	    "\"Computer\":\"WS1\"},\"EventData\":{\"Image\":\"C:\\\\Windows\\\\cmd.exe\"}}}");
	is_int(jv_array_length(jv_copy(h)), 1, "evtx_dump: Event.EventData.X, Provider.#attributes.Name");
	jv_free(h);
	/* Other Sysmon events are not process creations. */
	h = hits_of(set, "{\"System\":{\"Provider\":{\"Name\":\"Microsoft-Windows-Sysmon\"},\"EventID\":{\"Value\":3},"
	    "\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Computer\":\"WS1\"},"
	    "\"EventData\":{\"Image\":\"C:\\\\Windows\\\\cmd.exe\"}}");
	is_int(jv_array_length(jv_copy(h)), 0, "the logsource guard keeps process_creation rules off Sysmon EID 3");
	jv_free(h);
	vc_sigma_free(set);

	set = load_rule("sel:\n  Image|endswith: '\\cmd.exe'\n  ParentImage|endswith: '\\w3wp.exe'\ncondition: sel", NULL);
	h = hits_of(set, "{\"System\":{\"EventID\":{\"Value\":4688},\"Channel\":\"Security\"},"
	    "\"EventData\":{\"NewProcessName\":\"C:\\\\Windows\\\\cmd.exe\",\"ParentProcessName\":\"C:\\\\w3wp.exe\"}}");
	is_int(jv_array_length(jv_copy(h)), 1, "Security 4688: Image<-NewProcessName, ParentImage<-ParentProcessName");
	jv_free(h);
	h = hits_of(set, "{\"Image\":\"C:\\\\Windows\\\\cmd.exe\",\"ParentImage\":\"D:\\\\w3wp.exe\"}");
	is_int(jv_array_length(jv_copy(h)), 1, "a flat event: field names as top-level keys");
	jv_free(h);
	vc_sigma_free(set);

	/* A Windows.EventLogs.EvtxHunter row: System flattened into columns;
	 * its Username is the logging account, not the process's user. */
	set = load_rule("sel:\n  User|contains: 'AUTHORI'\ncondition: sel", NULL);
	const char *hunter = "{\"Computer\":\"WS1\",\"Channel\":\"Microsoft-Windows-Sysmon/Operational\","
	    "\"Provider\":\"Microsoft-Windows-Sysmon\",\"EventID\":1,\"UserSID\":\"S-1-5-18\","
	    "\"Username\":\"NT AUTHORITY\\\\SYSTEM\",\"EventData\":{\"User\":\"CORP\\\\alice\","
	    "\"Image\":\"C:\\\\Windows\\\\cmd.exe\"}}";
	h = hits_of(set, hunter);
	is_int(jv_array_length(jv_copy(h)), 0, "EVTX artifact row: User is EventData.User, not the Username column");
	jv_free(h);
	vc_sigma_free(set);
	set = load_rule("sel:\n  Provider_Name: 'Microsoft-Windows-Sysmon'\n  User: 'corp\\alice'\ncondition: sel", NULL);
	h = hits_of(set, hunter);
	is_int(jv_array_length(jv_copy(h)), 1, "EVTX artifact row: Provider_Name <- Provider");
	jv_free(h);
	vc_sigma_free(set);

	set = load_rule("sel:\n  Execution_ProcessID: 3208\n  TimeCreated_SystemTime|startswith: '2025'\ncondition: sel", NULL);
	h = hits_of(set, "{\"Event\":{\"System\":{\"Execution\":{\"#attributes\":{\"ProcessID\":3208}},"
	    "\"TimeCreated\":{\"#attributes\":{\"SystemTime\":\"2025-12-25T14:30:27Z\"}}}}}");
	is_int(jv_array_length(jv_copy(h)), 1, "System attributes X_Y in general");
	jv_free(h);
	vc_sigma_free(set);
}

/* A rule applies to events of its log source only. */
static int
ls_hits(const char *logsource, const char *event)
{
	char y[512];
	struct vc_sigma_set *set = NULL;
	jv problems = jv_invalid();
	int n = -2;

	snprintf(y, sizeof y, "title: t\nid: ls\nlogsource: %s\n"
	    "detection: {s: {TargetObject|contains: 'Run', Image|endswith: 'evil.exe'}, condition: s}\n", logsource);
	if (vc_sigma_load_string(&ctx, "ls.yml", y, strlen(y), NULL, &set, &problems) != VC_EOK)
		return -2;
	if (jv_array_length(jv_copy(problems)) > 0)
		n = -1;
	else {
		jv h = hits_of(set, event);

		n = jv_is_valid(h) ? jv_array_length(h) : -2;
	}
	jv_free(problems);
	vc_sigma_free(set);
	return n;
}

static void
t_logsources(void)
{
#define SYSMON(id) "{\"System\":{\"EventID\":{\"Value\":" #id "},\"Channel\":\"Microsoft-Windows-Sysmon/Operational\"}," \
	"\"EventData\":{\"TargetObject\":\"HKLM\\\\Run\\\\x\",\"Image\":\"C:\\\\evil.exe\"}}"
	const char *pslist = "{\"Pid\":4,\"Ppid\":1,\"Name\":\"evil.exe\",\"Exe\":\"C:\\\\evil.exe\","
	    "\"TargetObject\":\"Run\"}";
	const char *reg = "{category: registry_set, product: windows}";
	const char *proc = "{category: process_creation, product: windows}";

	is_int(ls_hits(reg, SYSMON(13)), 1, "registry_set fires on Sysmon EID 13");
	is_int(ls_hits(reg, SYSMON(12)), 0, "... not on EID 12 (registry_add/delete)");
	is_int(ls_hits(proc, SYSMON(13)), 0, "process_creation does not fire on a registry event");
	is_int(ls_hits("{category: registry_event, product: windows}", SYSMON(12)), 1,
	    "registry_event takes EID 12, 13 and 14");
	is_int(ls_hits(reg, pslist), 0, "registry_set does not fire on a Pslist row");
	is_int(ls_hits(proc, pslist), 1, "process_creation fires on a Pslist row (no event-log header)");
	is_int(ls_hits(reg, "{\"EventID\":13,\"TargetObject\":\"Run\",\"Image\":\"x\\\\evil.exe\"}"), 0,
	    "an event with EventID but no Channel fits no Sysmon category");
	is_int(ls_hits("{service: security, product: windows}",
	    "{\"Event\":{\"System\":{\"EventID\":4657,\"Channel\":\"Security\"},\"EventData\":"
	    "{\"TargetObject\":\"Run\",\"Image\":\"evil.exe\"}}}"), 1, "service: security fires on the Security channel");
	is_int(ls_hits("{service: security, product: windows}", SYSMON(13)), 0, "... not on Sysmon's");
	is_int(ls_hits("{service: system, product: windows}", pslist), 0, "a service rule does not fire on a row");
	is_int(ls_hits("{product: windows}", pslist), 1, "product: windows alone takes every Windows event and row");
	is_int(ls_hits("{category: file_access, product: windows}", SYSMON(11)), -1,
	    "a log source no mapping covers: the rule is skipped");
	is_int(ls_hits("{category: process_creation, product: linux}", pslist), -1,
	    "... so is one of another product");
	is_int(ls_hits("{category: process_creation}", pslist), 1, "a rule without a product takes its category's mapping");
#undef SYSMON
}

static void
t_maps(void)
{
	struct vc_sigma_map *map = NULL;
	const char *mj = "{\"version\":1,\"fields\":{\"Image\":[\"proc.path\"],"
	    "\"Hashes\":[{\"join\":\";\",\"parts\":[{\"prefix\":\"md5:\",\"path\":[\"h\",\"m.d5\"]}]}]}}";
	struct vc_sigma_set *set = NULL;
	jv problems = jv_invalid();
	const char *y = "title: t\nlogsource: {category: process_creation, product: windows}\n"
	    "detection: {s: {Image|endswith: 'x.exe', Hashes: 'md5:AB'}, condition: s}\n";

	is_int(vc_sigma_map_parse(&ctx, "m.json", mj, strlen(mj), &map), VC_EOK, "a custom map parses");
	is_int(vc_sigma_load_string(&ctx, "r.yml", y, strlen(y), map, &set, &problems), VC_EOK, "rules with that map");
	vc_sigma_map_free(map);         /* the set keeps what it needs */
	jv h = hits_of(set, "{\"proc\":{\"path\":\"C:\\\\x.exe\"},\"h\":{\"m.d5\":\"ab\"}}");
	is_int(jv_array_length(jv_copy(h)), 1, "custom paths, an array path with a dot in a key, a join");
	jv_free(h);
	h = hits_of(set, "{\"Exe\":\"C:\\\\x.exe\",\"Hashes\":\"md5:ab\"}");
	is_int(jv_array_length(jv_copy(h)), 0, "the default map's paths are not in a custom map");
	jv_free(h);
	jv_free(problems);
	vc_sigma_free(set);

	static const char *const bad[] = {
		"[]", "{\"version\":2}", "{\"version\":1,\"fields\":{\"A\":\"x\"}}",
		"{\"version\":1,\"fields\":{\"A\":[{\"join\":1}]}}", "{\"version\":1,\"containers\":[1]}",
		"{\"version\":1,\"logsources\":[{\"logsource\":{},\"when\":[{\"EventID\":1}]}]}",
		"{\"version\":1,\"logsources\":[{\"logsource\":{},\"when\":[],\"rows\":[{\"A\":1}]}]}",
		"{\"version\":1,\"header\":[]}", "{\"version\":1,\"header\":[1]}",
		"{\"version\":1,\"attributes\":{\"containers\":[\"S\"]}}", "{not json",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		map = NULL;
		ok(vc_sigma_map_parse(&ctx, "bad.json", bad[i], strlen(bad[i]), &map) == VC_ECONFIG && map == NULL,
		    "bad map refused: %s (%s)", bad[i], ctx.errmsg);
	}
	is_int(vc_sigma_map_load(&ctx, "/nonexistent.json", &map), VC_ENOTFOUND, "missing map file");
	is_int(vc_sigma_map_load(&ctx, NULL, &map), VC_EOK, "the built-in map loads");
	vc_sigma_map_free(map);
	is_int(vc_sigma_map_load(&ctx, "data/sigma-map.json", &map), VC_EOK, "data/sigma-map.json loads");
	vc_sigma_map_free(map);

	/* One source of truth: the embedded map is data/sigma-map.json. */
	FILE *f = fopen("data/sigma-map.json", "rb");
	char *buf = calloc(1, 1 << 20);
	size_t n = f && buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	if (f)
		fclose(f);
	ok(n > 0 && strcmp(buf, vc_sigma_map_default_json()) == 0,
	    "the built-in map is data/sigma-map.json byte for byte (rebuild build/sigma_map.o if not)");
	free(buf);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void
t_directory(void)
{
	char dir[] = "/tmp/t_sigma.XXXXXX", p[512];
	struct vc_sigma_set *set = NULL;
	jv problems = jv_invalid();
#define RULE "title: %s\nid: %s\nlogsource: {category: process_creation, product: windows}\n" \
	    "detection: {s: {A: 1}, condition: s}\n"
	char text[512];

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(p, sizeof p, "%s/sub", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/sub/deeper", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/b.yml", dir);
	snprintf(text, sizeof text, RULE, "b", "id-b");
	write_file(p, text);
	snprintf(p, sizeof p, "%s/sub/deeper/c.yaml", dir);
	snprintf(text, sizeof text, RULE, "c", "id-c");
	write_file(p, text);
	snprintf(p, sizeof p, "%s/a.yml", dir);
	snprintf(text, sizeof text, RULE, "a", "id-a");
	write_file(p, text);
	snprintf(p, sizeof p, "%s/notes.txt", dir);
	write_file(p, "not a rule");
	snprintf(p, sizeof p, "%s/.hidden.yml", dir);
	write_file(p, "title: [broken");
	snprintf(p, sizeof p, "%s/sub/broken.yml", dir);
	write_file(p, "title: [broken");

	is_int(vc_sigma_load(&ctx, dir, NULL, &set, &problems), VC_EOK, "load a directory");
	is_int(vc_sigma_count(set), 3, "3 rules, recursively, .yml and .yaml, not .txt or hidden files");
	is_int(jv_array_length(jv_copy(problems)), 1, "the broken file is one problem");
	jv h = hits_of(set, "{\"A\":1}");
	jv titles = jv_array();
	for (int i = 0; i < jv_array_length(jv_copy(h)); i++)
		titles = jv_array_append(titles, jv_object_get(jv_array_get(jv_copy(h), i), jv_string("title")));
	ok(jv_equal(titles, jv_parse("[\"a\",\"b\",\"c\"]")), "rule file order: by path");
	jv_free(h);
	jv_free(problems);
	vc_sigma_free(set);

	snprintf(p, sizeof p, "%s/a.yml", dir);
	problems = jv_invalid();
	is_int(vc_sigma_load(&ctx, p, NULL, &set, &problems), VC_EOK, "load one file");
	is_int(vc_sigma_count(set), 1, "one rule");
	jv_free(problems);
	vc_sigma_free(set);
	snprintf(p, sizeof p, "%s/notes.txt", dir);
	problems = jv_invalid();
	is_int(vc_sigma_load(&ctx, p, NULL, &set, &problems), VC_EOK, "a named file of any name is read");
	is_int(vc_sigma_count(set), 0, "... and gives no rule");
	jv_free(problems);
	vc_sigma_free(set);

	/* Clean up. */
	static const char *const files[] = { "b.yml", "sub/deeper/c.yaml", "a.yml", "notes.txt",
		".hidden.yml", "sub/broken.yml", "sub/deeper", "sub" };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		if (unlink(p) != 0)
			rmdir(p);
	}
	rmdir(dir);
}

static void
t_index(void)
{
	struct vc_sigma_stats st;
	struct vc_sigma_set *set = load_rule("sel:\n  CommandLine|contains: 'mimikatz'\ncondition: sel", NULL);

	vc_sigma_stats(set, &st);
	ok(st.rules == 1 && st.indexed == 1 && st.always == 0 && st.literals == 1,
	    "a contains rule is indexed by its literal");
	vc_sigma_free(set);
	set = load_rule("sel:\n  CommandLine|re: 'mimi'\ncondition: sel", NULL);
	vc_sigma_stats(set, &st);
	ok(st.indexed == 0 && st.always == 1, "a regex-only rule is always evaluated");
	vc_sigma_free(set);
	set = load_rule("sel:\n  Image: x\ncondition: not sel", NULL);
	vc_sigma_stats(set, &st);
	ok(st.always == 1, "a negated rule is always evaluated");
	vc_sigma_free(set);
	set = load_rule("sel:\n  Image|endswith: '\\a.exe'\nc:\n  CommandLine|contains:\n    - 'x1'\n    - 'y2'\n"
	    "condition: sel and c", NULL);
	vc_sigma_stats(set, &st);
	ok(st.indexed == 1 && st.literals == 3, "both sides of an AND are indexed (two clauses, 3 literals)");
	vc_sigma_free(set);
	is_int(m("sel:\n  Image|endswith: '\\a.exe'\nc:\n  CommandLine|contains:\n    - 'x1'\n    - 'y2'\n"
	    "condition: sel and c", "{\"Image\":\"C:\\\\A.EXE\",\"CommandLine\":\"Y2\"}"), 1,
	    "an indexed rule still matches (uppercase value, lowercase literal)");
	is_int(m("sel:\n  Image|endswith: '\\a.exe'\nc:\n  CommandLine|contains:\n    - 'x1'\n    - 'y2'\n"
	    "condition: sel and c", "{\"Image\":\"C:\\\\A.EXE\",\"CommandLine\":\"z3\"}"), 0,
	    "one clause of two found: not a match (and the index agrees)");
	is_int(m("a:\n  A|contains|all:\n    - 'one'\n    - 'two'\n    - 'three'\nb:\n  B|contains: 'four'\n"
	    "condition: a or b", "{\"A\":\"two three one\"}"), 1, "an OR of an AND of three and a single literal");
	is_int(m("a:\n  A|contains|all:\n    - 'one'\n    - 'two'\n    - 'three'\nb:\n  B|contains: 'four'\n"
	    "condition: a or b", "{\"A\":\"one\",\"B\":\"four\"}"), 1, "... its other side");
	is_int(m("a:\n  A|contains|all:\n    - 'one'\n    - 'two'\n    - 'three'\nb:\n  B|contains: 'four'\n"
	    "condition: a or b", "{\"A\":\"one two\"}"), 0, "... neither side");
	is_int(m("sel:\n  Image|cased: 'C:\\A.exe'\ncondition: sel", "{\"Image\":\"C:\\\\A.exe\"}"), 1,
	    "a cased literal is found by the lowercase index");
	is_int(m("a:\n  A: 'x'\nb:\n  B|re: 'y'\ncondition: a or b", "{\"B\":\"y\"}"), 1,
	    "an OR with an unindexable side is evaluated always");
	is_int(m("sel:\n  A|contains: 'abcdefghijklmnopqrstuvwxyz0123456789'\ncondition: sel",
	    "{\"A\":\"--abcdefghijklmnopqrstuvwxyz0123456789--\"}"), 1, "a long literal (only its tail is indexed)");
	is_int(m("sel:\n  A|contains: 'abcdefghijklmnopqrstuvwxyz0123456789'\ncondition: sel",
	    "{\"A\":\"--Xbcdefghijklmnopqrstuvwxyz0123456789--\"}"), 0, "... still checked whole");
	is_int(m("sel:\n  A: 'ab*cd?ef'\ncondition: sel", "{\"A\":\"abZZcdXef\"}"), 1, "a glob is indexed by a literal run");
}

int
main(void)
{
	vc_ctx_init(&ctx);
	t_values();
	t_escapes();
	t_string_modifiers();
	t_windash();
	t_base64();
	t_null_empty();
	t_numbers();
	t_time();
	t_regex();
	t_cidr();
	t_fieldref();
	t_keywords();
	t_conditions();
	t_validation();
	t_indicator();
	t_mapping();
	t_logsources();
	t_maps();
	t_directory();
	t_index();
	vc_ctx_release(&ctx);
	return done_testing();
}
