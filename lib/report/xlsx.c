/* SPDX-License-Identifier: MIT */
/*
 * xlsx.c - a report as a workbook (libxlsxwriter): one sheet per table
 * with typed cells (numbers as numbers, RFC 3339 times as dates), the
 * header row frozen, an autofilter and column widths from the data; a
 * chart sheet per chart over a sheet of its data; and a sheet "About"
 * with the inputs and hash.  constant_memory: each row goes to a
 * temporary file as it is written, so a sheet of a million rows costs
 * no more memory than one of ten.
 *
 * libxlsxwriter is opened on first use (core/dl.h): with what it needs
 * in turn it was mapped and bound by every CLI call at start.  Its calls
 * go through the table xl, typed by the library's own prototypes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>
#include <zlib.h>

#include "core/dl.h"
#include "report/report.h"

#define XLSX_FUNCS(X) \
	X(workbook_new_opt) X(workbook_close) X(workbook_set_properties) \
	X(workbook_set_custom_property_string) X(workbook_add_format) X(workbook_add_worksheet) \
	X(workbook_add_chart) X(workbook_add_chartsheet) X(workbook_get_worksheet_by_name) \
	X(workbook_get_chartsheet_by_name) X(worksheet_write_string) X(worksheet_write_number) \
	X(worksheet_write_datetime) X(worksheet_write_boolean) X(worksheet_set_column) \
	X(worksheet_freeze_panes) X(worksheet_autofilter) X(format_set_bold) X(format_set_num_format) \
	X(chart_add_series) X(chart_series_set_categories) X(chart_series_set_values) \
	X(chart_series_set_name_range) X(chart_title_set_name) X(chartsheet_set_chart) X(lxw_strerror)

static struct {
#define XLSX_PTR(f) __typeof__(f) *f;
	XLSX_FUNCS(XLSX_PTR)
} xl;

static const struct vc_dl_sym xl_syms[] = {
#define XLSX_SYM(f) VC_DL_SYM(xl, f, #f),
	XLSX_FUNCS(XLSX_SYM)
};

VC_DL_LIB(libxlsxwriter, "libxlsxwriter.so.4", "write XLSX reports", xl_syms, NULL);

int
vc_report_xlsx_ready(vc_ctx *ctx)
{
	return vc_dl_ready(ctx, &libxlsxwriter);
}

static jv
member(jv o, const char *key)
{
	return jv_get_kind(o) == JV_KIND_OBJECT ? jv_object_get(jv_copy(o), jv_string(key)) : jv_invalid();
}

static const char *
str(jv o, const char *key, const char *def)
{
	const char *s = vc_arg_str(o, key);
	return s ? s : def;
}

/* A sheet name: at most 31 characters, none of []:*?/\, unique. */
static void
sheet_name(lxw_workbook *wb, const char *want, char *buf, size_t n)
{
	char base[32];
	size_t k = 0;

	for (const char *p = want; *p && k < 28; p++)
		if (!strchr("[]:*?/\\'", *p))
			base[k++] = *p;
	while (k > 0 && base[k - 1] == ' ')
		k--;
	base[k] = '\0';
	if (k == 0)
		snprintf(base, sizeof base, "Sheet");
	snprintf(buf, n, "%s", base);
	for (int i = 2; xl.workbook_get_worksheet_by_name(wb, buf) != NULL ||
	    xl.workbook_get_chartsheet_by_name(wb, buf) != NULL; i++)
		snprintf(buf, n, "%.26s %d", base, i);
}

/* "2026-12-07T05:10:31Z" (or a date alone) as a date, else 0. */
static int
as_date(const char *s, lxw_datetime *dt)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return 0;
	if (s[10] != '\0' && (sscanf(s + 10, "T%2d:%2d:%2dZ%n", &h, &mi, &sec, &n) != 3 || s[10 + n] != '\0'))
		return 0;
	*dt = (lxw_datetime){ .year = y, .month = mo, .day = d, .hour = h, .min = mi, .sec = sec };
	return y >= 1900 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
}

/* Display width of a value, for the column widths. */
static int
width_of(jv v)
{
	int w = 0;

	if (jv_get_kind(v) == JV_KIND_STRING)
		w = jv_string_length_codepoints(jv_copy(v));
	else if (jv_get_kind(v) == JV_KIND_NUMBER)
		w = 10;
	jv_free(v);
	return w;
}

static void
write_cell(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, jv v, const char *type, lxw_format *datef)
{
	lxw_datetime dt;

	switch (jv_get_kind(v)) {
	case JV_KIND_NUMBER:
		xl.worksheet_write_number(ws, r, c, jv_number_value(v), NULL);
		break;
	case JV_KIND_STRING:
		if (strcmp(type, "date") == 0 && as_date(jv_string_value(v), &dt))
			xl.worksheet_write_datetime(ws, r, c, &dt, datef);
		else
			xl.worksheet_write_string(ws, r, c, jv_string_value(v), NULL);
		break;
	case JV_KIND_TRUE:
	case JV_KIND_FALSE:
		xl.worksheet_write_boolean(ws, r, c, jv_get_kind(v) == JV_KIND_TRUE, NULL);
		break;
	case JV_KIND_ARRAY:
	case JV_KIND_OBJECT: {
		jv s = jv_dump_string(jv_copy(v), 0);
		xl.worksheet_write_string(ws, r, c, jv_string_value(s), NULL);
		jv_free(s);
		break;
	}
	default:
		break;
	}
	jv_free(v);
}

static void
table_sheet(lxw_workbook *wb, jv t, jv data, lxw_format *bold, lxw_format *datef)
{
	jv cols = member(t, "columns"), rows = member(data, str(t, "rows", ""));
	int nc = jv_array_length(jv_copy(cols)), nr = jv_get_kind(rows) == JV_KIND_ARRAY ?
	    jv_array_length(jv_copy(rows)) : 0;
	char name[40];
	lxw_worksheet *ws;

	sheet_name(wb, str(t, "title", str(t, "name", "Table")), name, sizeof name);
	ws = xl.workbook_add_worksheet(wb, name);
	/* Widths from the header and the first 500 rows; set before any row. */
	jv_array_foreach(cols, k, c) {
		int w = (int)strlen(str(c, "title", str(c, "key", "")));
		for (int i = 0; i < nr && i < 500; i++) {
			jv r = jv_array_get(jv_copy(rows), i);
			int x = width_of(member(r, str(c, "key", "")));
			w = x > w ? x : w;
			jv_free(r);
		}
		if (strcmp(str(c, "type", ""), "date") == 0 && w < 20)
			w = 20;
		xl.worksheet_set_column(ws, (lxw_col_t)k, (lxw_col_t)k, w < 8 ? 8 : w > 60 ? 60 : w + 2, NULL);
		jv_free(c);
	}
	xl.worksheet_freeze_panes(ws, 1, 0);
	if (nc > 0)
		xl.worksheet_autofilter(ws, 0, 0, (lxw_row_t)nr, (lxw_col_t)(nc - 1));
	jv_array_foreach(cols, k, c) {
		xl.worksheet_write_string(ws, 0, (lxw_col_t)k, str(c, "title", str(c, "key", "")), bold);
		jv_free(c);
	}
	for (int i = 0; i < nr; i++) {
		jv r = jv_array_get(jv_copy(rows), i);
		jv_array_foreach(cols, k, c) {
			write_cell(ws, (lxw_row_t)(i + 1), (lxw_col_t)k, member(r, str(c, "key", "")),
			    str(c, "type", "text"), datef);
			jv_free(c);
		}
		jv_free(r);
	}
	jv_free(cols);
	jv_free(rows);
}

/* v (borrowed) is an element of arr (borrowed).  (libjq 1.6's
 * jv_array_indexes leaks its arguments.) */
static int
has(jv arr, jv v)
{
	int found = 0;

	jv_array_foreach(arr, i, x) {
		found |= jv_equal(x, jv_copy(v));
	}
	return found;
}

/*
 * The charts: their data on one sheet, a block of columns each (labels,
 * then one column per series), and a chart sheet each.
 */
static void
chart_sheets(lxw_workbook *wb, jv charts, jv data, lxw_format *bold)
{
	lxw_worksheet *ws;
	char dname[40];
	int col = 0;

	if (jv_get_kind(charts) != JV_KIND_ARRAY || jv_array_length(jv_copy(charts)) == 0)
		return;
	sheet_name(wb, "Chart data", dname, sizeof dname);
	ws = xl.workbook_add_worksheet(wb, dname);
	jv_array_foreach(charts, ci, c) {
		const char *kind = str(c, "kind", "bar"), *lk = str(c, "label", "label"),
		    *vk = str(c, "value", "value"), *sk = vc_arg_str(c, "series");
		jv rows = member(data, str(c, "rows", "")), labels = jv_array(), series = jv_array();
		int nl, ns;
		lxw_chart *ch;
		lxw_chartsheet *cs;
		char name[40];

		if (jv_get_kind(rows) != JV_KIND_ARRAY) {
			jv_free(rows);
			rows = jv_array();
		}
		/* Labels and series in first-seen order. */
		jv_array_foreach(rows, i, r) {
			jv l = member(r, lk), s = sk ? member(r, sk) : jv_string(str(c, "title", vk));
			if (!has(labels, l))
				labels = jv_array_append(labels, jv_copy(l));
			if (!has(series, s))
				series = jv_array_append(series, jv_copy(s));
			jv_free(l);
			jv_free(s);
			jv_free(r);
		}
		nl = jv_array_length(jv_copy(labels));
		ns = jv_array_length(jv_copy(series));
		xl.worksheet_write_string(ws, 0, (lxw_col_t)col, str(c, "title", ""), bold);
		for (int s = 0; s < ns; s++) {
			jv sv = jv_array_get(jv_copy(series), s);
			write_cell(ws, 0, (lxw_col_t)(col + 1 + s), sv, "text", NULL);
		}
		/* constant_memory writes rows in order: one pass a row. */
		for (int l = 0; l < nl; l++) {
			jv lv = jv_array_get(jv_copy(labels), l);
			write_cell(ws, (lxw_row_t)(l + 1), (lxw_col_t)col, jv_copy(lv), "text", NULL);
			for (int s = 0; s < ns; s++) {
				jv sv = jv_array_get(jv_copy(series), s);
				double sum = 0;
				jv_array_foreach(rows, i, r) {
					jv a = member(r, lk), b = sk ? member(r, sk) : jv_copy(sv), v = member(r, vk);
					if (jv_equal(jv_copy(a), jv_copy(lv)) && jv_equal(jv_copy(b), jv_copy(sv)) &&
					    jv_get_kind(v) == JV_KIND_NUMBER)
						sum += jv_number_value(v);
					jv_free(a);
					jv_free(b);
					jv_free(v);
					jv_free(r);
				}
				xl.worksheet_write_number(ws, (lxw_row_t)(l + 1), (lxw_col_t)(col + 1 + s), sum, NULL);
				jv_free(sv);
			}
			jv_free(lv);
		}
		if (nl == 0 || ns == 0) {
			/* Nothing to draw: no chart sheet (a chart needs a series). */
			col += 2;
			jv_free(labels);
			jv_free(series);
			jv_free(rows);
			jv_free(c);
			continue;
		}
		ch = xl.workbook_add_chart(wb, strcmp(kind, "line") == 0 ? LXW_CHART_LINE :
		    strcmp(kind, "stacked") == 0 ? LXW_CHART_COLUMN_STACKED : LXW_CHART_BAR);
		for (int s = 0; s < ns && nl > 0; s++) {
			lxw_chart_series *se = xl.chart_add_series(ch, NULL, NULL);
			xl.chart_series_set_categories(se, dname, 1, (lxw_col_t)col, (lxw_row_t)nl, (lxw_col_t)col);
			xl.chart_series_set_values(se, dname, 1, (lxw_col_t)(col + 1 + s), (lxw_row_t)nl,
			    (lxw_col_t)(col + 1 + s));
			xl.chart_series_set_name_range(se, dname, 0, (lxw_col_t)(col + 1 + s));
		}
		xl.chart_title_set_name(ch, str(c, "title", str(c, "name", "")));
		sheet_name(wb, str(c, "title", str(c, "name", "Chart")), name, sizeof name);
		cs = xl.workbook_add_chartsheet(wb, name);
		xl.chartsheet_set_chart(cs, ch);
		col += ns + 2;
		jv_free(labels);
		jv_free(series);
		jv_free(rows);
		jv_free(c);
	}
}

/* The appendix sheet, a row at a time (the store's cursor to the
 * workbook's temporary file): Excel's limit of rows, then it stops. */
struct appx {
	lxw_worksheet *ws;
	lxw_row_t row;
	long rows;
	int cut;
};

#define XLSX_MAX_ROW 1048575

static int
appx_row(void *arg, const char *const *cols)
{
	struct appx *a = arg;

	if (a->row > XLSX_MAX_ROW) {
		a->cut = 1;
		return 0;
	}
	for (int i = 0; i < VC_REPORT_APPENDIX_COLS; i++)
		if (cols[i] != NULL)
			xl.worksheet_write_string(a->ws, a->row, (lxw_col_t)i, cols[i], NULL);
	a->row++;
	a->rows++;
	return 0;
}

static int
appendix_sheet(vc_ctx *ctx, lxw_workbook *wb, const struct vc_report_doc *d, lxw_format *bold,
    struct appx *a)
{
	static const int widths[VC_REPORT_APPENDIX_COLS] = { 28, 18, 20, 50, 22, 20, 80 };

	a->ws = xl.workbook_add_worksheet(wb, "Appendix");
	for (int i = 0; i < VC_REPORT_APPENDIX_COLS; i++) {
		xl.worksheet_set_column(a->ws, (lxw_col_t)i, (lxw_col_t)i, widths[i], NULL);
		xl.worksheet_write_string(a->ws, 0, (lxw_col_t)i, vc_report_appendix_cols[i], bold);
	}
	xl.worksheet_freeze_panes(a->ws, 1, 0);
	a->row = 1;
	return vc_report_appendix(ctx, d->in, appx_row, a);
}

int
vc_report_xlsx(vc_ctx *ctx, const struct vc_report_doc *d, const char *path)
{
	struct appx a = { 0 };
	lxw_workbook_options opt = { .constant_memory = LXW_TRUE };
	int wb_ready = vc_report_xlsx_ready(ctx);
	lxw_workbook *wb;
	lxw_doc_properties props = { 0 };
	lxw_format *bold, *datef;
	lxw_worksheet *about;
	jv tables = member(d->manifest, "tables"), charts = member(d->manifest, "charts");
	jv inputs = jv_dump_string(jv_copy(d->inputs), JV_PRINT_SORTED);
	lxw_error e;
	int row = 0;

	if (wb_ready != 0) {
		jv_free(tables);
		jv_free(charts);
		jv_free(inputs);
		return wb_ready;
	}
	if ((wb = xl.workbook_new_opt(path, &opt)) == NULL) {
		jv_free(tables);
		jv_free(charts);
		jv_free(inputs);
		return vc_fail(ctx, VC_EUSAGE, "%s: cannot make the workbook", path);
	}
	props.title = (char *)d->title;
	props.company = (char *)d->tenant;
	props.keywords = (char *)d->sha256;
	props.comments = (char *)jv_string_value(inputs);
	xl.workbook_set_properties(wb, &props);
	xl.workbook_set_custom_property_string(wb, "vc-report-sha256", d->sha256);
	bold = xl.workbook_add_format(wb);
	xl.format_set_bold(bold);
	datef = xl.workbook_add_format(wb);
	xl.format_set_num_format(datef, "yyyy-mm-dd hh:mm:ss");
	if (jv_get_kind(tables) == JV_KIND_ARRAY)
		jv_array_foreach(tables, i, t) {
			table_sheet(wb, t, d->data, bold, datef);
			jv_free(t);
		}
	chart_sheets(wb, charts, d->data, bold);
	if (d->appendix && d->in != NULL && (d->in->case_id[0] || d->in->host_id[0]) &&
	    appendix_sheet(ctx, wb, d, bold, &a) != 0) {
		xl.workbook_close(wb);
		jv_free(tables);
		jv_free(charts);
		jv_free(inputs);
		return ctx->err ? ctx->err : vc_fail(ctx, VC_EINTERNAL, "%s: the appendix failed", path);
	}
	about = xl.workbook_add_worksheet(wb, "About");
	xl.worksheet_set_column(about, 0, 0, 16, NULL);
	xl.worksheet_set_column(about, 1, 1, 80, NULL);
	{
		const char *kv[][2] = { { "Report", d->title }, { "Tenant", d->tenant }, { "Marking", d->marking },
			{ "Data SHA-256", d->sha256 }, { "Inputs", jv_string_value(inputs) } };
		for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++, row++) {
			xl.worksheet_write_string(about, (lxw_row_t)row, 0, kv[i][0], bold);
			xl.worksheet_write_string(about, (lxw_row_t)row, 1, kv[i][1], NULL);
		}
		if (a.ws != NULL) {
			char t[120];
			snprintf(t, sizeof t, "%ld rows%s", a.rows, a.cut ? ", cut at the sheet's limit" : "");
			xl.worksheet_write_string(about, (lxw_row_t)row, 0, "Appendix", bold);
			xl.worksheet_write_string(about, (lxw_row_t)row, 1, t, NULL);
		}
	}
	e = xl.workbook_close(wb);
	jv_free(tables);
	jv_free(charts);
	jv_free(inputs);
	if (e != LXW_NO_ERROR)
		return vc_fail(ctx, VC_EINTERNAL, "%s: %s", path, xl.lxw_strerror(e));
	return 0;
}

/* ---- reading back what a workbook recorded (verify) ---------------------- */

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned
le16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* The text of entry name of the zip in buf (malloc'd), or NULL. */
static char *
zip_entry(const unsigned char *buf, size_t n, const char *name)
{
	size_t nl = strlen(name), eocd, off;
	unsigned entries;

	if (n < 22)
		return NULL;
	for (eocd = n - 22;; eocd--) {
		if (le32(buf + eocd) == 0x06054b50)
			break;
		if (eocd == 0 || n - eocd > 65557)
			return NULL;
	}
	entries = le16(buf + eocd + 10);
	off = le32(buf + eocd + 16);
	for (unsigned i = 0; i < entries; i++) {
		size_t fnl, el, cl, lo, data;
		uint32_t cs, us;
		unsigned method;
		if (off + 46 > n || le32(buf + off) != 0x02014b50)
			return NULL;
		method = le16(buf + off + 10);
		cs = le32(buf + off + 20);
		us = le32(buf + off + 24);
		fnl = le16(buf + off + 28);
		el = le16(buf + off + 30);
		cl = le16(buf + off + 32);
		lo = le32(buf + off + 42);
		if (off + 46 + fnl > n)
			return NULL;
		if (fnl == nl && memcmp(buf + off + 46, name, nl) == 0) {
			char *out;
			if (lo + 30 > n || le32(buf + lo) != 0x04034b50 || us > 16 * 1024 * 1024)
				return NULL;
			data = lo + 30 + le16(buf + lo + 26) + le16(buf + lo + 28);
			if (data + cs > n || (out = malloc((size_t)us + 1)) == NULL)
				return NULL;
			if (method == 0 && cs == us)
				memcpy(out, buf + data, us);
			else {
				z_stream z = { 0 };
				int ok = method == 8 && inflateInit2(&z, -MAX_WBITS) == Z_OK;
				if (ok) {
					z.next_in = (Bytef *)(uintptr_t)(buf + data);
					z.avail_in = cs;
					z.next_out = (Bytef *)out;
					z.avail_out = us;
					ok = inflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out == us;
					inflateEnd(&z);
				}
				if (!ok) {
					free(out);
					return NULL;
				}
			}
			out[us] = '\0';
			return out;
		}
		off += 46 + fnl + el + cl;
	}
	return NULL;
}

/* The text of <tag>...</tag> in xml, its entities undone (malloc'd). */
static char *
xml_text(const char *xml, const char *tag)
{
	char open[64], close[64];
	const char *a, *b;
	char *out, *o;

	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	if ((a = strstr(xml, open)) == NULL || (b = strstr(a, close)) == NULL)
		return NULL;
	a += strlen(open);
	if ((out = o = malloc((size_t)(b - a) + 1)) == NULL)
		return NULL;
	while (a < b) {
		static const struct { const char *e; char c; } ents[] = {
			{ "&quot;", '"' }, { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&apos;", '\'' } };
		size_t k;
		for (k = 0; k < 5 && strncmp(a, ents[k].e, strlen(ents[k].e)) != 0; k++)
			;
		if (k < 5) {
			*o++ = ents[k].c;
			a += strlen(ents[k].e);
		} else
			*o++ = *a++;
	}
	*o = '\0';
	return out;
}

int
vc_report_xlsx_recorded(const char *buf, size_t n, jv *inputs, char *sha, size_t shan)
{
	char *core = zip_entry((const unsigned char *)buf, n, "docProps/core.xml"), *kw, *desc;
	int rc = -1;

	*inputs = jv_invalid();
	if (core == NULL)
		return -1;
	kw = xml_text(core, "cp:keywords");
	desc = xml_text(core, "dc:description");
	if (kw != NULL && desc != NULL) {
		snprintf(sha, shan, "%.64s", kw);
		*inputs = jv_parse(desc);
		rc = jv_get_kind(*inputs) == JV_KIND_OBJECT ? 0 : -1;
	}
	free(kw);
	free(desc);
	free(core);
	return rc;
}
