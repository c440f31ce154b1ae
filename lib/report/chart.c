/* SPDX-License-Identifier: MIT */
/*
 * chart.c - the charts of reports, drawn as inline SVG: no script, no
 * link, no font or image from elsewhere, every text escaped.  The only
 * markup the layout language inserts unescaped ({{%name}}) comes from
 * here.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "report/tmpl.h"

#define W 640
#define ROW_H 22
#define PAD 8

/* Classes first in their order, then a fixed palette. */
static const char *
colour(const char *name, int i)
{
	static const struct { const char *n, *c; } known[] = {
		{ "benign", "#9bbf85" }, { "low", "#f2d16b" }, { "medium", "#f0a04b" },
		{ "high", "#e0603a" }, { "critical", "#b3202a" },
	};
	static const char *const palette[] = { "#4e79a7", "#f28e2b", "#59a14f", "#e15759",
		"#76b7b2", "#edc948", "#b07aa1", "#9c755f" };

	for (size_t k = 0; name && k < sizeof known / sizeof known[0]; k++)
		if (strcmp(name, known[k].n) == 0)
			return known[k].c;
	return palette[(unsigned)i % (sizeof palette / sizeof palette[0])];
}

/* Text of member key of row (a string, a number printed, else ""). */
static void
text_of(jv row, const char *key, char *buf, size_t n)
{
	jv v = jv_get_kind(row) == JV_KIND_OBJECT ? jv_object_get(jv_copy(row), jv_string(key)) : jv_invalid();

	buf[0] = '\0';
	if (jv_get_kind(v) == JV_KIND_STRING)
		snprintf(buf, n, "%s", jv_string_value(v));
	else if (jv_get_kind(v) == JV_KIND_NUMBER)
		snprintf(buf, n, "%g", jv_number_value(v));
	jv_free(v);
}

static double
num_of(jv row, const char *key)
{
	jv v = jv_get_kind(row) == JV_KIND_OBJECT ? jv_object_get(jv_copy(row), jv_string(key)) : jv_invalid();
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0;

	jv_free(v);
	return isfinite(d) && d > 0 ? d : 0;
}

static void
text(struct vc_buf *b, double x, double y, const char *anchor, const char *s)
{
	vc_buf_addf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", x, y, anchor);
	vc_buf_esc(b, s, strlen(s));
	vc_buf_adds(b, "</text>");
}

static void
head(struct vc_buf *b, int h, const char *title)
{
	vc_buf_addf(b, "<svg class=\"chart\" width=\"%d\" height=\"%d\""
	    " viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\"><title>",
	    W, h, W, h);
	vc_buf_esc(b, title, strlen(title));
	vc_buf_adds(b, "</title>");
}

/* The distinct values of key in rows, in first-seen order (at most max). */
static int
distinct(jv rows, const char *key, char (*out)[64], int max)
{
	int n = 0;
	char t[64];

	jv_array_foreach(rows, i, r) {
		int seen = 0;
		text_of(r, key, t, sizeof t);
		for (int k = 0; k < n && !seen; k++)
			seen = strcmp(out[k], t) == 0;
		if (!seen && n < max)
			memcpy(out[n++], t, sizeof t);
		jv_free(r);
	}
	return n;
}

static void
bar(struct vc_buf *b, const char *title, jv rows, const char *label, const char *value)
{
	int n = jv_array_length(jv_copy(rows)), shown = n > 40 ? 40 : n;
	double max = 0;
	char t[64];

	for (int i = 0; i < shown; i++) {
		jv r = jv_array_get(jv_copy(rows), i);
		max = fmax(max, num_of(r, value));
		jv_free(r);
	}
	head(b, PAD * 2 + ROW_H * (shown ? shown : 1), title);
	for (int i = 0; i < shown; i++) {
		jv r = jv_array_get(jv_copy(rows), i);
		double v = num_of(r, value), w = max > 0 ? v / max * (W - 260) : 0, y = PAD + i * ROW_H;
		text_of(r, label, t, sizeof t);
		text(b, 170, y + 15, "end", t);
		vc_buf_addf(b, "<rect x=\"180\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", y + 3, w,
		    ROW_H - 6, colour(t, i));
		snprintf(t, sizeof t, "%g", v);
		text(b, 186 + w, y + 15, "start", t);
		jv_free(r);
	}
	if (shown == 0)
		text(b, W / 2.0, PAD + 15, "middle", "no data");
	vc_buf_adds(b, "</svg>");
}

static void
line(struct vc_buf *b, const char *title, jv rows, const char *label, const char *value)
{
	int n = jv_array_length(jv_copy(rows)), h = 200;
	double max = 0, x0 = 50, x1 = W - 20, y0 = h - 30, y1 = 15;
	char t[64];

	jv_array_foreach(rows, i, r) {
		max = fmax(max, num_of(r, value));
		jv_free(r);
	}
	head(b, h, title);
	vc_buf_addf(b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#888\"/>", x0, y0, x1, y0);
	snprintf(t, sizeof t, "%g", max);
	text(b, x0 - 4, y1 + 4, "end", t);
	text(b, x0 - 4, y0, "end", "0");
	vc_buf_adds(b, "<polyline fill=\"none\" stroke=\"#4e79a7\" stroke-width=\"2\" points=\"");
	for (int i = 0; i < n; i++) {
		jv r = jv_array_get(jv_copy(rows), i);
		double x = n > 1 ? x0 + (x1 - x0) * i / (n - 1) : (x0 + x1) / 2;
		double y = max > 0 ? y0 - (y0 - y1) * num_of(r, value) / max : y0;
		vc_buf_addf(b, "%.1f,%.1f ", x, y);
		jv_free(r);
	}
	vc_buf_adds(b, "\"/>");
	for (int i = 0; i < n; i += n > 8 ? (n + 7) / 8 : 1) {
		jv r = jv_array_get(jv_copy(rows), i);
		double x = n > 1 ? x0 + (x1 - x0) * i / (n - 1) : (x0 + x1) / 2;
		text_of(r, label, t, sizeof t);
		text(b, x, h - 12, "middle", t);
		jv_free(r);
	}
	if (n == 0)
		text(b, W / 2.0, h / 2.0, "middle", "no data");
	vc_buf_adds(b, "</svg>");
}

static void
stacked(struct vc_buf *b, const char *title, jv rows, const char *label, const char *value,
    const char *series)
{
	char labels[60][64], sers[12][64], t[64];
	int nl = distinct(rows, label, labels, 60), ns = distinct(rows, series, sers, 12), h = 230;
	double tot[60] = { 0 }, max = 0, x0 = 50, x1 = W - 20, y0 = h - 50, y1 = 15, bw;

	jv_array_foreach(rows, i, r) {
		text_of(r, label, t, sizeof t);
		for (int k = 0; k < nl; k++)
			if (strcmp(labels[k], t) == 0)
				tot[k] += num_of(r, value);
		jv_free(r);
	}
	for (int k = 0; k < nl; k++)
		max = fmax(max, tot[k]);
	bw = nl ? (x1 - x0) / nl : 0;
	head(b, h, title);
	snprintf(t, sizeof t, "%g", max);
	text(b, x0 - 4, y1 + 4, "end", t);
	text(b, x0 - 4, y0, "end", "0");
	for (int k = 0; k < nl; k++) {
		double y = y0;
		for (int s = 0; s < ns; s++) {
			double v = 0, hh;
			char l[64], sv[64];
			jv_array_foreach(rows, i, r) {
				text_of(r, label, l, sizeof l);
				text_of(r, series, sv, sizeof sv);
				if (strcmp(l, labels[k]) == 0 && strcmp(sv, sers[s]) == 0)
					v += num_of(r, value);
				jv_free(r);
			}
			hh = max > 0 ? (y0 - y1) * v / max : 0;
			if (hh > 0)
				vc_buf_addf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
				    x0 + k * bw + bw * 0.1, y - hh, bw * 0.8, hh, colour(sers[s], s));
			y -= hh;
		}
		if (nl <= 12 || k % ((nl + 11) / 12) == 0)
			text(b, x0 + k * bw + bw / 2, y0 + 14, "middle", labels[k]);
	}
	for (int s = 0; s < ns; s++) {
		vc_buf_addf(b, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>", 50 + s * 95,
		    h - 22, colour(sers[s], s));
		text(b, 64 + s * 95, h - 13, "start", sers[s]);
	}
	if (nl == 0)
		text(b, W / 2.0, h / 2.0, "middle", "no data");
	vc_buf_adds(b, "</svg>");
}

jv
vc_report_chart(const char *kind, const char *title, jv rows, const char *label, const char *value,
    const char *series)
{
	struct vc_buf b = { .max = 4 * 1024 * 1024 };
	jv out;

	if (jv_get_kind(rows) != JV_KIND_ARRAY)
		rows = jv_array();
	else
		rows = jv_copy(rows);
	if (strcmp(kind, "line") == 0)
		line(&b, title, rows, label, value);
	else if (strcmp(kind, "stacked") == 0)
		stacked(&b, title, rows, label, value, series ? series : "series");
	else
		bar(&b, title, rows, label, value);
	jv_free(rows);
	out = b.over || b.p == NULL ? jv_string("") : jv_string(b.p);
	free(b.p);
	return out;
}
