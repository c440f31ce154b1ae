/* SPDX-License-Identifier: MIT */
/*
 * t_tmpl.c - the layout language of report templates: values escaped
 * always, sections over arrays, objects and truthy values, inverted
 * sections, charts the only raw output, and errors that name the line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "report/tmpl.h"
#include "tap.h"

static vc_ctx ctx;
static char got[4096];

/* n copies of s after *p (room is the caller's). */
static void
rep(char **p, const char *s, int n)
{
	size_t k = strlen(s);

	for (int i = 0; i < n; i++, *p += k)
		memcpy(*p, s, k + 1);
}

/* Render tpl over data (JSON text): the output, or "ERR:" and the message. */
static const char *
r(const char *tpl, const char *data)
{
	jv d = jv_parse(data);
	jv charts = jv_parse("{\"dist\":\"<svg><rect/></svg>\"}");
	char *out;
	size_t n;

	ctx.errmsg[0] = '\0';
	if (vc_tmpl_render(&ctx, "layout.html", tpl, d, charts, &out, &n) != 0)
		snprintf(got, sizeof got, "ERR:%s", ctx.errmsg);
	else {
		snprintf(got, sizeof got, "%s", out);
		if (strlen(out) != n)
			snprintf(got, sizeof got, "length %zu differs", n);
		free(out);
	}
	jv_free(d);
	jv_free(charts);
	return got;
}

int
main(void)
{
	vc_ctx_init(&ctx);

	is_str(r("Hello {{name}}!", "{\"name\":\"web01\"}"), "Hello web01!", "a value");
	is_str(r("{{ name }}", "{\"name\":\"x\"}"), "x", "spaces inside the braces");
	is_str(r("<b>{{t}}</b>", "{\"t\":\"<script>alert('x')&\\\"</script>\"}"),
	    "<b>&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;</b>", "values are HTML-escaped");
	is_str(r("{{a.b.c}}", "{\"a\":{\"b\":{\"c\":7}}}"), "7", "a dotted path");
	is_str(r("[{{missing}}][{{n}}]", "{\"n\":null}"), "[][]", "missing and null print nothing");
	is_str(r("{{i}} {{f}} {{big}}", "{\"i\":42,\"f\":0.125,\"big\":-3}"), "42 0.125 -3", "numbers");
	is_str(r("{{o}}", "{\"o\":{\"k\":\"<v>\"}}"), "{&quot;k&quot;:&quot;&lt;v&gt;&quot;}",
	    "an object prints as escaped JSON");
	is_str(r("{{#hosts}}<li>{{name}}</li>{{/hosts}}", "{\"hosts\":[{\"name\":\"a\"},{\"name\":\"b\"}]}"),
	    "<li>a</li><li>b</li>", "a loop over an array");
	is_str(r("{{#xs}}{{.}},{{/xs}}", "{\"xs\":[1,\"two\",3]}"), "1,two,3,", "{{.}} in a loop");
	is_str(r("{{#case}}{{title}} by {{who}}{{/case}}", "{\"who\":\"ann\",\"case\":{\"title\":\"T\"}}"),
	    "T by ann", "an object section, outer names still found");
	is_str(r("{{#xs}}{{#ys}}{{x}}{{.}} {{/ys}}{{/xs}}", "{\"xs\":[{\"x\":\"a\",\"ys\":[1,2]},{\"x\":\"b\",\"ys\":[3]}]}"),
	    "a1 a2 b3 ", "nested loops");
	is_str(r("{{#f}}yes{{/f}}{{^f}}no{{/f}}", "{\"f\":false}"), "no", "false: the inverted section");
	is_str(r("{{#f}}yes{{/f}}{{^f}}no{{/f}}", "{\"f\":true}"), "yes", "true: the section");
	is_str(r("{{#xs}}x{{/xs}}{{^xs}}none{{/xs}}", "{\"xs\":[]}"), "none", "an empty array is false");
	is_str(r("{{^gone}}none{{/gone}}", "{}"), "none", "a missing value is false");
	is_str(r("{{#s}}[{{s}}]{{/s}}{{#z}}zero{{/z}}", "{\"s\":\"\",\"z\":0}"), "", "empty string and 0 are false");
	is_str(r("a{{! a comment }}b", "{}"), "ab", "comments print nothing");
	is_str(r("<div>{{%dist}}</div>", "{}"), "<div><svg><rect/></svg></div>", "a chart is inserted as is");
	is_str(r("{{%dist}}", "{\"dist\":\"<b>\"}"), "<svg><rect/></svg>", "a chart comes from the charts, never the data");

	is_str(r("{{{raw}}}", "{\"raw\":\"<b>\"}"), "ERR:layout.html:1: unescaped output is only for charts ({{%name}})",
	    "triple braces refused");
	is_str(r("x\n{{&raw}}", "{}"), "ERR:layout.html:2: unescaped output is only for charts ({{%name}})",
	    "{{&x}} refused, its line named");
	is_str(r("\n\n{{#a}}\n{{/b}}", "{}"), "ERR:layout.html:4: '{{/b}}' closes 'a' of line 3", "a crossed close");
	is_str(r("{{#a}}x", "{}"), "ERR:layout.html:1: section 'a' is never closed", "an unclosed section");
	is_str(r("x{{/a}}", "{}"), "ERR:layout.html:1: '{{/a}}' closes no section", "a stray close");
	is_str(r("{{a", "{}"), "ERR:layout.html:1: '{{' without its '}}'", "an unclosed tag");
	is_str(r("{{a b}}", "{}"), "ERR:layout.html:1: 'a b' is not a name", "a bad name");
	is_str(r("{{a..b}}", "{}"), "ERR:layout.html:1: 'a..b' is not a name", "an empty path part");
	is_str(r("{{%nochart}}", "{}"), "ERR:layout.html:1: no chart 'nochart'", "an unknown chart");

	{
		char deep[40 * 12 + 1] = "", *p = deep;
		rep(&p, "{{#a}}", 33);
		is_str(r(deep, "{}"), "ERR:layout.html:1: sections nested deeper than 32", "nesting is bounded");
	}
	{
		/* 32 nested sections over a value that contains itself by name */
		char deep[40 * 12 + 1] = "", *p = deep;
		rep(&p, "{{#a}}", 32);
		rep(&p, "{{v}}", 1);
		rep(&p, "{{/a}}", 32);
		is_str(r(deep, "{\"a\":true,\"v\":\"deep\"}"), "deep", "32 nested sections render");
	}
	{
		/* A loop of loops over big arrays stops at the output limit. */
		struct vc_buf b = { .max = 16 };
		vc_buf_adds(&b, "0123456789");
		vc_buf_adds(&b, "0123456789");
		ok(b.over && b.len == 10, "a buffer stops at its maximum");
		free(b.p);
	}
	/* The charts: the only raw output, so their text is escaped. */
	{
		jv rows = jv_parse("[{\"l\":\"<script>x</script>\",\"v\":3,\"s\":\"high\"},"
		    "{\"l\":\"b&c\",\"v\":1,\"s\":\"low\"},{\"l\":\"b&c\",\"v\":2,\"s\":\"high\"}]");
		const char *kinds[] = { "bar", "line", "stacked" };
		for (int k = 0; k < 3; k++) {
			jv svg = vc_report_chart(kinds[k], "T\"itle", rows, "l", "v", "s");
			const char *t = jv_string_value(svg);
			ok(strncmp(t, "<svg class=\"chart\"", 18) == 0 && strstr(t, "</svg>") != NULL,
			    "%s chart: an inline SVG", kinds[k]);
			ok(strstr(t, "<script") == NULL && strstr(t, "&lt;script&gt;x&lt;/script&gt;") != NULL &&
			    strstr(t, "b&amp;c") != NULL && strstr(t, "T&quot;itle") != NULL,
			    "%s chart: its text escaped", kinds[k]);
			ok(strstr(t, "href") == NULL && strstr(t, "url(") == NULL && strstr(t, "http") == NULL,
			    "%s chart: no reference to anything", kinds[k]);
			jv_free(svg);
		}
		{
			jv svg = vc_report_chart("stacked", "", rows, "l", "v", "s");
			ok(strstr(jv_string_value(svg), "fill=\"#e0603a\"") != NULL, "stacked: a class has its colour");
			jv_free(svg);
			svg = vc_report_chart("bar", "", jv_null(), "l", "v", NULL);
			ok(strstr(jv_string_value(svg), "no data") != NULL, "no rows: 'no data'");
			jv_free(svg);
		}
		jv_free(rows);
	}
	/* The sections of a rendered page, for its contents. */
	{
		static const char page[] = "<h1>Case</h1>\n<h2 id=\"t-hosts\">Linked hosts</h2><p>x</p>\n"
		    "<h2>Actions &amp; <b>their</b>\n  outcome</h2><h2x>not one</h2x><h3>nor this</h3>\n"
		    "<h2 class=\"c\">Open &lt;questions&gt;</h2>";
		char *out;
		size_t n;
		jv secs;
		ok(vc_tmpl_headings(&ctx, page, strlen(page), &out, &n, &secs) == 0, "headings: a page");
		{
			jv s = jv_dump_string(jv_copy(secs), 0);
			is_str(jv_string_value(s), "[{\"id\":\"t-hosts\",\"title\":\"Linked hosts\"},"
			    "{\"id\":\"s-2\",\"title\":\"Actions & their outcome\"},"
			    "{\"id\":\"s-3\",\"title\":\"Open <questions>\"}]",
			    "headings: each <h2> in order, its id or one by its place, its text without tags or entities");
			jv_free(s);
		}
		ok(strstr(out, "<h2 id=\"t-hosts\">Linked hosts</h2>") != NULL &&
		    strstr(out, "<h2 id=\"s-2\">Actions &amp; <b>their</b>") != NULL &&
		    strstr(out, "<h2 id=\"s-3\" class=\"c\">Open &lt;questions&gt;</h2>") != NULL &&
		    strstr(out, "<h2x>not one</h2x><h3>nor this</h3>") != NULL && n == strlen(out),
		    "headings: ids added where there were none, the rest of the page as it was");
		free(out);
		jv_free(secs);
		ok(vc_tmpl_headings(&ctx, "<p>no heading</p><h2 unclosed", 29, &out, &n, &secs) == 0 &&
		    jv_array_length(jv_copy(secs)) == 0 && strcmp(out, "<p>no heading</p><h2 unclosed") == 0,
		    "headings: none, and an unclosed one, leave the page as it was");
		free(out);
		jv_free(secs);
	}
	vc_ctx_release(&ctx);
	return done_testing();
}
