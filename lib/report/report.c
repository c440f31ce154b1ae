/* SPDX-License-Identifier: MIT */
/*
 * report.c - report templates (built in, or a tenant's own), the data a
 * report gathers through them, its hash, and the HTML, CSV and JSON
 * renderings; PDF and XLSX are pdf.c and xlsx.c.
 *
 * A report is made in three steps: the template's sources are read for
 * the caller's tenant (sources.c; each has a least role), its one jq
 * program shapes them into the report's data (json/jqprog.h: the limits
 * of any caller's program), and the data is rendered.  The inputs
 * (template and version, ids, period, marking, tenant) and the SHA-256
 * of the canonical JSON of inputs and data go into every report, so
 * `vc-report verify` can gather the same data again and compare.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "core/audit.h"
#include "core/records.h"
#include "core/store.h"
#include "json/jqprog.h"
#include "report/report.h"
#include "report/tmpl.h"

#define MANIFEST_MAX (64 * 1024)
#define FILE_MAX (256L * 1024 * 1024)   /* a report verify reads */

/* ---- the built-in templates: templates/ of the tree, in the library ----- */

#define INCBIN(sym, file) __asm__(".section .rodata\n\t.balign 16\n\t.type " #sym ", @object\n" \
	#sym ":\n\t.incbin \"" file "\"\n\t.byte 0\n\t.size " #sym ", . - " #sym "\n\t.previous\n"); \
	extern const char sym[]
INCBIN(vc_rp_css, "templates/report.css");
INCBIN(vc_rp_case_m, "templates/case_summary/manifest.json");
INCBIN(vc_rp_case_l, "templates/case_summary/layout.html");
INCBIN(vc_rp_host_m, "templates/host_analysis/manifest.json");
INCBIN(vc_rp_host_l, "templates/host_analysis/layout.html");
INCBIN(vc_rp_threat_m, "templates/threat_report/manifest.json");
INCBIN(vc_rp_threat_l, "templates/threat_report/layout.html");

static const struct { const char *name, *manifest, *layout; } builtin[] = {
	{ "case_summary", vc_rp_case_m, vc_rp_case_l },
	{ "host_analysis", vc_rp_host_m, vc_rp_host_l },
	{ "threat_report", vc_rp_threat_m, vc_rp_threat_l },
};

static int
is_builtin(const char *name)
{
	for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
		if (strcmp(builtin[i].name, name) == 0)
			return 1;
	return 0;
}

/* ---- small helpers ------------------------------------------------------ */

static const char *
str(jv o, const char *key, const char *def)
{
	const char *s = vc_arg_str(o, key);
	return s ? s : def;
}

static jv
member(jv o, const char *key)
{
	return jv_get_kind(o) == JV_KIND_OBJECT ? jv_object_get(jv_copy(o), jv_string(key)) : jv_invalid();
}

/* A regular file opened for reading, its size in *sb; NULL with the
 * error in ctx. */
static FILE *
open_file(vc_ctx *ctx, const char *path, struct stat *sb)
{
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		vc_fail(ctx, errno == ENOENT ? VC_ENOTFOUND : VC_EUSAGE, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), sb) != 0 || !S_ISREG(sb->st_mode)) {
		fclose(f);
		vc_fail(ctx, VC_EUSAGE, "%s: not a file", path);
		return NULL;
	}
	return f;
}

/* A whole file, at most max bytes, NUL-terminated. */
static int
slurp(vc_ctx *ctx, const char *path, long max, char **out, size_t *len)
{
	struct stat sb;
	FILE *f = open_file(ctx, path, &sb);
	char *buf;
	size_t n;

	*out = NULL;
	if (f == NULL)
		return ctx->err;
	if (sb.st_size > max) {
		fclose(f);
		return vc_fail(ctx, VC_ETOOBIG, "%s: larger than %ld bytes", path, max);
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		fclose(f);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	n = fread(buf, 1, (size_t)sb.st_size, f);
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

static int
name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 36)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* ---- manifests ------------------------------------------------------------ */

/*
 * Check a manifest (consumed) and its layout; *out gets the manifest.
 * what names it in messages ("DIR/manifest.json").
 */
static int
check_template(vc_ctx *ctx, const char *what, jv m, const char *layout, jv *out)
{
	const char *name = vc_arg_str(m, "name"), *prog = vc_arg_str(m, "jq");
	char lw[300];
	jv v;
	int rc = 0;

	*out = jv_invalid();
	if (jv_get_kind(m) != JV_KIND_OBJECT) {
		jv_free(m);
		return vc_fail(ctx, VC_EINVAL, "%s: not a JSON object", what);
	}
	if (!name_ok(name))
		rc = vc_fail(ctx, VC_EINVAL, "%s: name: 1 to 36 of a-z, 0-9, '_' and '-'", what);
	else if (prog == NULL)
		rc = vc_fail(ctx, VC_EINVAL, "%s: jq: the program that shapes the data is missing", what);
	else if (strlen(prog) > VC_JQ_PROG_MAX)
		rc = vc_fail(ctx, VC_EINVAL, "%s: jq: longer than %d bytes", what, VC_JQ_PROG_MAX);
	if (rc) {
		jv_free(m);
		return rc;
	}
	v = member(m, "version");
	if (jv_get_kind(v) != JV_KIND_NUMBER || jv_number_value(v) < 1 || jv_number_value(v) > 1e9)
		rc = vc_fail(ctx, VC_EINVAL, "%s: version: a whole number from 1", what);
	jv_free(v);
	v = member(m, "sources");
	if (rc == 0 && jv_get_kind(v) != JV_KIND_ARRAY)
		rc = vc_fail(ctx, VC_EINVAL, "%s: sources: an array of source names", what);
	else if (rc == 0) {
		jv_array_foreach(v, i, s) {
			char nm[64];
			const char *t = jv_get_kind(s) == JV_KIND_STRING ? jv_string_value(s) : "";
			size_t n = strlen(t);
			snprintf(nm, sizeof nm, "%.*s", (int)(n && t[n - 1] == '?' ? n - 1 : n), t);
			if (rc == 0 && vc_report_source(nm) == NULL)
				rc = vc_fail(ctx, VC_EINVAL, "%s: sources[%d]: no source '%.40s'", what, i, t);
			jv_free(s);
		}
	}
	jv_free(v);
	v = member(m, "tables");
	if (rc == 0 && jv_is_valid(v) && jv_get_kind(v) != JV_KIND_ARRAY)
		rc = vc_fail(ctx, VC_EINVAL, "%s: tables: an array", what);
	else if (rc == 0 && jv_is_valid(v)) {
		jv_array_foreach(v, i, t) {
			jv cols = member(t, "columns");
			if (rc == 0 && (!name_ok(vc_arg_str(t, "name")) || vc_arg_str(t, "rows") == NULL ||
			    jv_get_kind(cols) != JV_KIND_ARRAY))
				rc = vc_fail(ctx, VC_EINVAL, "%s: tables[%d]: needs name, rows and columns", what, i);
			jv_free(cols);
			jv_free(t);
		}
	}
	jv_free(v);
	v = member(m, "charts");
	if (rc == 0 && jv_is_valid(v) && jv_get_kind(v) != JV_KIND_ARRAY)
		rc = vc_fail(ctx, VC_EINVAL, "%s: charts: an array", what);
	else if (rc == 0 && jv_is_valid(v)) {
		jv_array_foreach(v, i, c) {
			const char *k = str(c, "kind", "");
			if (rc == 0 && (!name_ok(vc_arg_str(c, "name")) || vc_arg_str(c, "rows") == NULL ||
			    (strcmp(k, "bar") && strcmp(k, "line") && strcmp(k, "stacked"))))
				rc = vc_fail(ctx, VC_EINVAL, "%s: charts[%d]: needs name, rows and kind bar, line"
				    " or stacked", what, i);
			jv_free(c);
		}
	}
	jv_free(v);
	if (rc == 0)
		rc = vc_jq_check(ctx, "jq", prog);
	snprintf(lw, sizeof lw, "%s/layout.html", name);
	if (rc == 0)
		rc = vc_tmpl_check(ctx, lw, layout);
	if (rc) {
		jv_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* A template by name: the built-in one, else the tenant's.  *layout is
 * malloc'd; origin "builtin" or "tenant". */
static int
load_template(vc_ctx *ctx, const char *name, jv *manifest, char **layout, const char **origin)
{
	vc_stmt *q;

	*manifest = jv_invalid();
	*layout = NULL;
	for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
		if (strcmp(builtin[i].name, name) == 0) {
			*manifest = jv_parse(builtin[i].manifest);
			*layout = strdup(builtin[i].layout);
			*origin = "builtin";
			if (!jv_is_valid(*manifest) || *layout == NULL) {
				jv_free(*manifest);
				free(*layout);
				*layout = NULL;
				return vc_fail(ctx, VC_EINTERNAL, "built-in template %s is broken", name);
			}
			return 0;
		}
	q = vc_sql(ctx, "SELECT manifest, layout FROM report_templates WHERE tenant_id = ?1 AND name = ?2",
	    "ss", ctx->who.tenant_id, name);
	if (q == NULL)
		return ctx->err;
	if (vc_sql_step(ctx, q) != 1) {
		vc_stmt_done(q);
		/* unscoped: only to audit a reach for another tenant's template */
		return ctx->err ? ctx->err : vc_not_found(ctx, "report_template", "template",
		    "SELECT 1 FROM report_templates WHERE name = ?1", name);
	}
	*manifest = jv_parse((const char *)vc_col_text(q, 0));
	*layout = strdup((const char *)vc_col_text(q, 1));
	vc_stmt_done(q);
	*origin = "tenant";
	if (!jv_is_valid(*manifest) || *layout == NULL) {
		jv_free(*manifest);
		free(*layout);
		*layout = NULL;
		return vc_fail(ctx, VC_EINTERNAL, "template %s is broken in the store", name);
	}
	return 0;
}

int
vc_report_describe(vc_ctx *ctx, const char *name, jv *manifest)
{
	const char *origin;
	char *layout = NULL;
	int rc;

	*manifest = jv_invalid();
	if (name == NULL || !name_ok(name))
		return vc_fail(ctx, VC_ENOTFOUND, "no template %.40s", name ? name : "");
	rc = load_template(ctx, name, manifest, &layout, &origin);
	free(layout);
	return rc;
}

/* The manifest declares a param of this type ("case", "host"). */
static int
wants(jv m, const char *type)
{
	jv ps = member(m, "params");
	int yes = 0;

	if (jv_get_kind(ps) == JV_KIND_ARRAY)
		jv_array_foreach(ps, i, p) {
			yes |= strcmp(str(p, "type", ""), type) == 0;
			jv_free(p);
		}
	jv_free(ps);
	return yes;
}

int
vc_report_check_args(vc_ctx *ctx, jv manifest, jv args)
{
	const char *name = str(manifest, "name", "");

	if (wants(manifest, "case") && !vc_arg_has(args, "case"))
		return vc_fail(ctx, VC_EUSAGE, "template %s needs --case", name);
	if (wants(manifest, "host") && !vc_arg_has(args, "host"))
		return vc_fail(ctx, VC_EUSAGE, "template %s needs --host", name);
	return 0;
}

/* A step of a long report, on a terminal (the CLI's --progress). */
static void
step(vc_ctx *ctx, const char *what)
{
	if (ctx->progress != NULL)
		ctx->progress(ctx, what, ctx->stream_arg);
}

/* ---- gathering ------------------------------------------------------------ */

struct gathered {
	jv manifest;
	char *layout;
	jv inputs;              /* {template, version, origin, tenant_id, case, host, since, until, marking} */
	jv data;                /* the jq program's output */
	char sha256[crypto_hash_sha256_BYTES * 2 + 1];
	char tenant[130];
	struct vc_report_in in;
};

static void
gathered_free(struct gathered *g)
{
	jv_free(g->manifest);
	jv_free(g->inputs);
	jv_free(g->data);
	free(g->layout);
}

static void
hash_of(jv inputs, jv data, char *hex)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	jv both = JV_OBJECT(jv_string("inputs"), jv_copy(inputs), jv_string("data"), jv_copy(data));
	jv s = jv_dump_string(both, JV_PRINT_SORTED);

	crypto_hash_sha256(h, (const unsigned char *)jv_string_value(s),
	    (unsigned long long)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
	sodium_bin2hex(hex, crypto_hash_sha256_BYTES * 2 + 1, h, sizeof h);
}

/*
 * Gather the report named by inputs (consumed: template, case, host,
 * since, until, marking; the rest is filled in here).
 */
static int
gather(vc_ctx *ctx, jv req, struct gathered *g)
{
	const char *tname = vc_arg_str(req, "template"), *origin = "";
	struct vc_report_in in = { .since = 0 };
	struct vc_jq_limits lim = { .row_ms = 30000, .mem_mb = 1024, .values = 1 };
	struct vc_jq *j = NULL;
	jv srcs, src, v, text;
	char err[300] = "";
	int rc;

	memset(g, 0, sizeof *g);
	g->manifest = g->inputs = g->data = jv_invalid();
	if (tname == NULL || !name_ok(tname)) {
		jv_free(req);
		return vc_fail(ctx, VC_EUSAGE, "no such template name");
	}
	if ((rc = load_template(ctx, tname, &g->manifest, &g->layout, &origin)) != 0)
		goto fail;
	/* The ids, resolved in the caller's tenant: another's is not found. */
	if (wants(g->manifest, "case")) {
		if (!vc_arg_has(req, "case")) {
			rc = vc_fail(ctx, VC_EUSAGE, "template %s needs --case", tname);
			goto fail;
		}
		if ((rc = vc_case_resolve(ctx, vc_arg_str(req, "case"), in.case_id)) != 0)
			goto fail;
	}
	if (wants(g->manifest, "host")) {
		if (!vc_arg_has(req, "host")) {
			rc = vc_fail(ctx, VC_EUSAGE, "template %s needs --host", tname);
			goto fail;
		}
		if ((rc = vc_host_resolve(ctx, vc_arg_str(req, "host"), in.host_id)) != 0)
			goto fail;
	}
	in.until = vc_arg_int(req, "until", vc_now(ctx) + 1);
	in.since = vc_arg_int(req, "since", in.until - 7 * 86400);
	if (in.since >= in.until) {
		rc = vc_fail(ctx, VC_EUSAGE, "--since must be before --until");
		goto fail;
	}
	{
		vc_stmt *q = vc_sql(ctx, "SELECT name FROM tenants WHERE id = ?1", "s", ctx->who.tenant_id);
		if (q != NULL && vc_sql_step(ctx, q) == 1)
			snprintf(g->tenant, sizeof g->tenant, "%s", (const char *)vc_col_text(q, 0));
		vc_stmt_done(q);
	}
	g->inputs = JV_OBJECT(jv_string("template"), jv_string(tname),
	    jv_string("version"), member(g->manifest, "version"), jv_string("origin"), jv_string(origin),
	    jv_string("tenant_id"), jv_string(ctx->who.tenant_id), jv_string("tenant"), jv_string(g->tenant),
	    jv_string("case"), in.case_id[0] ? jv_string(in.case_id) : jv_null(),
	    jv_string("host"), in.host_id[0] ? jv_string(in.host_id) : jv_null(),
	    jv_string("since"), jv_number((double)in.since), jv_string("until"), jv_number((double)in.until));
	g->inputs = jv_object_set(g->inputs, jv_string("marking"),
	    jv_string(str(req, "marking", "CONFIDENTIAL")));

	/* The sources, each as its least role allows. */
	src = jv_object();
	srcs = member(g->manifest, "sources");
	jv_array_foreach(srcs, i, s) {
		char nm[64];
		const char *t = jv_string_value(s);
		size_t n = strlen(t);
		int optional = n > 0 && t[n - 1] == '?';
		const struct vc_report_source *rs;
		jv out;
		snprintf(nm, sizeof nm, "%.*s", (int)(optional ? n - 1 : n), t);
		jv_free(s);
		rs = vc_report_source(nm);
		if (rc != 0 || rs == NULL)
			continue;
		if ((rs->needs == 'c' && !in.case_id[0]) || (rs->needs == 'h' && !in.host_id[0])) {
			rc = vc_fail(ctx, VC_EINVAL, "template %s: source %s needs a %s parameter", tname, nm,
			    rs->needs == 'c' ? "case" : "host");
			continue;
		}
		if (ctx->who.role < rs->min_role) {
			if (optional) {
				src = jv_object_set(src, jv_string(nm), jv_null());
				continue;
			}
			rc = vc_fail(ctx, VC_EPERM, "template %s reads %s, which needs the %s role; you are %s",
			    tname, nm, vc_role_name(rs->min_role), vc_role_name(ctx->who.role));
			continue;
		}
		{
			char m[100];
			snprintf(m, sizeof m, "reading %s", nm);
			step(ctx, m);
		}
		if ((rc = rs->fn(ctx, &in, &out)) == 0)
			src = jv_object_set(src, jv_string(nm), out);
	}
	jv_free(srcs);
	if (rc != 0) {
		jv_free(src);
		goto fail;
	}
	{
		char a[40], b[40];
		vc_time_fmt(in.since, a, sizeof a);
		vc_time_fmt(in.until, b, sizeof b);
		src = jv_object_set(src, jv_string("params"), jv_object_set(jv_object_set(jv_copy(g->inputs),
		    jv_string("since_at"), jv_string(a)), jv_string("until_at"), jv_string(b)));
	}

	/* The template's jq program shapes them, in its child under limits. */
	step(ctx, "shaping the data (jq)");
	text = jv_dump_string(src, 0);
	if ((rc = vc_jq_open(ctx, "jq", vc_arg_str(g->manifest, "jq"), &lim, &j)) == 0) {
		int r = vc_jq_eval(ctx, j, jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)),
		    &v, err, sizeof err);
		if (r == 2)
			rc = vc_fail(ctx, VC_EINVAL, "template %s: its jq program failed: %s", tname, err);
		else if (r != 0) {
			char m[sizeof ctx->errmsg];
			snprintf(m, sizeof m, "%s", ctx->errmsg);
			rc = vc_fail(ctx, VC_EINVAL, "template %s: %s", tname, m);
		}
		else if (jv_get_kind(v) != JV_KIND_OBJECT) {
			rc = vc_fail(ctx, VC_EINVAL, "template %s: its jq program must make an object", tname);
			jv_free(v);
		} else
			g->data = v;
		if (r != 0)
			jv_free(v);
	} else {
		char m[sizeof ctx->errmsg];
		snprintf(m, sizeof m, "%s", ctx->errmsg);
		rc = vc_fail(ctx, ctx->err, "template %s: %s", tname, m);
	}
	vc_jq_close(j);
	jv_free(text);
	if (rc != 0)
		goto fail;
	hash_of(g->inputs, g->data, g->sha256);
	g->in = in;
	jv_free(req);
	return 0;
fail:
	jv_free(req);
	gathered_free(g);
	memset(g, 0, sizeof *g);
	g->manifest = g->inputs = g->data = jv_invalid();
	return rc ? rc : ctx->err;
}

/* ---- HTML ---------------------------------------------------------------- */

static void
fmt_time(jv inputs, const char *key, char *buf, size_t n)
{
	vc_time_fmt((int64_t)vc_arg_int(inputs, key, 0), buf, n);
}

/* A table of the manifest as the layout sees it: {title, columns, rows:[{cells}]}. */
static jv
table_view(jv t, jv data)
{
	jv cols = member(t, "columns"), rows = member(data, str(t, "rows", "")), out = jv_array();

	if (jv_get_kind(rows) == JV_KIND_ARRAY)
		jv_array_foreach(rows, i, r) {
			jv cells = jv_array();
			jv_array_foreach(cols, k, c) {
				jv val = member(r, str(c, "key", ""));
				cells = jv_array_append(cells, JV_OBJECT(jv_string("v"),
				    jv_is_valid(val) ? val : jv_null(), jv_string("type"), jv_string(str(c, "type", "text"))));
				jv_free(c);
			}
			out = jv_array_append(out, JV_OBJECT(jv_string("cells"), cells));
			jv_free(r);
		}
	jv_free(rows);
	return JV_OBJECT(jv_string("name"), jv_string(str(t, "name", "")), jv_string("title"),
	    jv_string(str(t, "title", str(t, "name", ""))), jv_string("columns"), cols, jv_string("rows"), out);
}

/* Where {{%contents}} put the contents: a comment no data can make
 * (data is escaped), replaced once the sections are known. */
#define CONTENTS_MARK "<!--vc-contents-->"

/* The contents of an HTML report: a list of links to its sections. */
static void
contents_html(struct vc_buf *b, jv sections)
{
	if (jv_array_length(jv_copy(sections)) == 0)
		return;
	vc_buf_adds(b, "<nav class=\"contents\"><h2>Contents</h2>\n<ol>\n");
	jv_array_foreach(sections, i, s) {
		const char *id = str(s, "id", ""), *t = str(s, "title", "");
		vc_buf_adds(b, "<li><a href=\"#");
		vc_buf_esc(b, id, strlen(id));
		vc_buf_adds(b, "\">");
		vc_buf_esc(b, t, strlen(t));
		vc_buf_adds(b, "</a></li>\n");
		jv_free(s);
	}
	vc_buf_adds(b, "</ol></nav>\n");
}

/*
 * The report as HTML in *html.  Where the layout says {{%contents}}, an
 * HTML report lists its sections (the <h2> headings); for a PDF (pdf
 * set) the place is left empty, its offset in *contents_at and the
 * sections in *sections, for pdf.c to fill with their page numbers.
 */
static int
render_html(vc_ctx *ctx, struct gathered *g, int pdf, char **html, size_t *hlen, jv *sections,
    size_t *contents_at)
{
	jv ctxv = jv_copy(g->data), charts = jv_object(), tables, all = jv_array(), meta, inputs_json, secs;
	struct vc_buf b = { .max = VC_TMPL_OUT_MAX };
	char since[40], until[40], now[40], lw[100], *body, *marked;
	size_t blen;
	int rc;

	charts = jv_object_set(charts, jv_string("contents"), jv_string(CONTENTS_MARK));

	fmt_time(g->inputs, "since", since, sizeof since);
	fmt_time(g->inputs, "until", until, sizeof until);
	vc_time_fmt(vc_now(ctx), now, sizeof now);
	tables = member(g->manifest, "tables");
	if (jv_get_kind(tables) == JV_KIND_ARRAY)
		jv_array_foreach(tables, i, t) {
			jv view = table_view(t, g->data);
			char key[80];
			snprintf(key, sizeof key, "table_%s", str(t, "name", ""));
			ctxv = jv_object_set(ctxv, jv_string(key), jv_copy(view));
			all = jv_array_append(all, view);
			jv_free(t);
		}
	jv_free(tables);
	ctxv = jv_object_set(ctxv, jv_string("tables"), all);
	tables = member(g->manifest, "charts");
	if (jv_get_kind(tables) == JV_KIND_ARRAY)
		jv_array_foreach(tables, i, c) {
			jv rows = member(g->data, str(c, "rows", ""));
			charts = jv_object_set(charts, jv_string(str(c, "name", "")),
			    vc_report_chart(str(c, "kind", "bar"), str(c, "title", ""), rows, str(c, "label", "label"),
			    str(c, "value", "value"), vc_arg_str(c, "series")));
			jv_free(rows);
			jv_free(c);
		}
	jv_free(tables);
	meta = JV_OBJECT(jv_string("title"), jv_string(str(g->manifest, "title", str(g->inputs, "template", ""))),
	    jv_string("template"), jv_string(str(g->inputs, "template", "")),
	    jv_string("version"), member(g->inputs, "version"), jv_string("tenant"), jv_string(g->tenant),
	    jv_string("marking"), jv_string(str(g->inputs, "marking", "")), jv_string("since"), jv_string(since),
	    jv_string("until"), jv_string(until), jv_string("generated_at"), jv_string(now),
	    jv_string("sha256"), jv_string(g->sha256));
	ctxv = jv_object_set(ctxv, jv_string("report"), meta);
	snprintf(lw, sizeof lw, "%s/layout.html", str(g->inputs, "template", ""));
	rc = vc_tmpl_render(ctx, lw, g->layout, ctxv, charts, &marked, &blen);
	jv_free(ctxv);
	jv_free(charts);
	if (rc != 0)
		return rc;
	rc = vc_tmpl_headings(ctx, marked, blen, &body, &blen, &secs);
	free(marked);
	if (rc != 0)
		return rc;
	inputs_json = jv_dump_string(jv_copy(g->inputs), JV_PRINT_SORTED);
	vc_buf_adds(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
	vc_buf_esc(&b, str(g->manifest, "title", ""), strlen(str(g->manifest, "title", "")));
	vc_buf_adds(&b, " \xe2\x80\x94 ");
	vc_buf_esc(&b, g->tenant, strlen(g->tenant));
	vc_buf_adds(&b, "</title>\n<meta name=\"generator\" content=\"vc-report " VC_VERSION "\">\n"
	    "<meta name=\"vc-report-inputs\" content=\"");
	vc_buf_esc(&b, jv_string_value(inputs_json), strlen(jv_string_value(inputs_json)));
	vc_buf_addf(&b, "\">\n<meta name=\"vc-report-sha256\" content=\"%s\">\n<style>\n", g->sha256);
	vc_buf_adds(&b, vc_rp_css);
	vc_buf_adds(&b, "</style></head>\n<body>\n<div class=\"marking\">");
	vc_buf_esc(&b, str(g->inputs, "marking", ""), strlen(str(g->inputs, "marking", "")));
	vc_buf_adds(&b, "</div>\n");
	{
		const char *mark = strstr(body, CONTENTS_MARK);
		size_t at = mark ? (size_t)(mark - body) : 0;
		vc_buf_add(&b, body, at);
		if (pdf && mark)
			*contents_at = b.len;
		else if (mark)
			contents_html(&b, secs);
		if (mark)
			at += strlen(CONTENTS_MARK);
		vc_buf_add(&b, body + at, blen - at);
	}
	free(body);
	if (sections != NULL)
		*sections = secs;
	else
		jv_free(secs);
	vc_buf_adds(&b, "\n<footer class=\"inputs\"><p>Made by vc-report " VC_VERSION " from template ");
	vc_buf_esc(&b, str(g->inputs, "template", ""), strlen(str(g->inputs, "template", "")));
	vc_buf_addf(&b, " version %lld for ", (long long)vc_arg_int(g->inputs, "version", 0));
	vc_buf_esc(&b, g->tenant, strlen(g->tenant));
	vc_buf_addf(&b, ", period %s to %s, at %s.</p>\n<p>Data SHA-256: <code>%s</code></p>\n<p>Inputs: <code>",
	    since, until, now, g->sha256);
	vc_buf_esc(&b, jv_string_value(inputs_json), strlen(jv_string_value(inputs_json)));
	vc_buf_adds(&b, "</code></p></footer>\n<div class=\"marking\">");
	vc_buf_esc(&b, str(g->inputs, "marking", ""), strlen(str(g->inputs, "marking", "")));
	vc_buf_adds(&b, "</div>\n</body></html>\n");
	jv_free(inputs_json);
	if (b.over) {
		free(b.p);
		if (sections != NULL) {
			jv_free(*sections);
			*sections = jv_invalid();
		}
		return vc_fail(ctx, VC_ETOOBIG, "the report is larger than %ld MiB", VC_TMPL_OUT_MAX >> 20);
	}
	*html = b.p;
	*hlen = b.len;
	return 0;
}

/* ---- CSV and JSON ---------------------------------------------------------- */

/* One RFC 4180 field: quoted when it holds a comma, quote, CR or LF. */
static void
csv_field(FILE *f, jv v)
{
	jv s;
	const char *p;

	switch (jv_get_kind(v)) {
	case JV_KIND_INVALID:
	case JV_KIND_NULL:
		jv_free(v);
		return;
	case JV_KIND_STRING:
		s = v;
		break;
	default:
		s = jv_dump_string(v, 0);
	}
	p = jv_string_value(s);
	if (strpbrk(p, ",\"\r\n") == NULL)
		fputs(p, f);
	else {
		fputc('"', f);
		for (; *p; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		fputc('"', f);
	}
	jv_free(s);
}

/*
 * A CSV being written: into a file (or nowhere: verify only hashes what
 * it would write) and through SHA-256 on the way, so that the file can
 * be recorded by the hash of its bytes without reading it again.
 */
struct csv_out {
	FILE *file;             /* NULL: hashed only */
	crypto_hash_sha256_state st;
	int64_t size;
	int bad;
};

static ssize_t
csv_out_write(void *cookie, const char *buf, size_t n)
{
	struct csv_out *o = cookie;

	crypto_hash_sha256_update(&o->st, (const unsigned char *)buf, n);
	o->size += (int64_t)n;
	if (o->file != NULL && fwrite(buf, 1, n, o->file) != n) {
		o->bad = 1;
		return -1;
	}
	return (ssize_t)n;
}

static FILE *
csv_open(struct csv_out *o, FILE *file)
{
	memset(o, 0, sizeof *o);
	o->file = file;
	crypto_hash_sha256_init(&o->st);
	return fopencookie(o, "w", (cookie_io_functions_t){ .write = csv_out_write });
}

/* Close f (opened by csv_open on o): 0 with the hex hash, or -1 when a
 * write failed. */
static int
csv_close(FILE *f, struct csv_out *o, char hex[crypto_hash_sha256_BYTES * 2 + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	int bad = ferror(f);

	bad |= fclose(f) != 0;
	crypto_hash_sha256_final(&o->st, h);
	sodium_bin2hex(hex, crypto_hash_sha256_BYTES * 2 + 1, h, sizeof h);
	return bad || o->bad ? -1 : 0;
}

static void
csv_table(FILE *f, jv t, jv data)
{
	jv cols = member(t, "columns"), rows = member(data, str(t, "rows", ""));

	jv_array_foreach(cols, k, c) {
		if (k)
			fputc(',', f);
		csv_field(f, jv_string(str(c, "title", str(c, "key", ""))));
		jv_free(c);
	}
	fputs("\r\n", f);
	if (jv_get_kind(rows) == JV_KIND_ARRAY)
		jv_array_foreach(rows, i, r) {
			jv_array_foreach(cols, k, c) {
				if (k)
					fputc(',', f);
				csv_field(f, member(r, str(c, "key", "")));
				jv_free(c);
			}
			fputs("\r\n", f);
			jv_free(r);
		}
	jv_free(cols);
	jv_free(rows);
}

static void
csv_text(FILE *f, const char *p)
{
	if (p == NULL)
		return;
	if (strpbrk(p, ",\"\r\n") == NULL) {
		fputs(p, f);
		return;
	}
	fputc('"', f);
	for (; *p; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

static int
csv_row(void *arg, const char *const *cols)
{
	FILE *f = arg;

	for (int i = 0; i < VC_REPORT_APPENDIX_COLS; i++) {
		if (i)
			fputc(',', f);
		csv_text(f, cols[i]);
	}
	fputs("\r\n", f);
	return ferror(f) ? VC_EINTERNAL : 0;
}

/*
 * One CSV of a gathered report: table t (a manifest table), or the
 * appendix of stored rows when t is null, streamed row by row from the
 * store.  Written to path, or only hashed when path is NULL.  *hex gets
 * the SHA-256 of its bytes and *size their count.
 */
static int
csv_file(vc_ctx *ctx, struct gathered *g, jv t, const char *path, char *hex, int64_t *size)
{
	struct csv_out o;
	FILE *file = NULL, *f;
	int rc = 0, bad;

	if (path != NULL && (file = fopen(path, "w")) == NULL)
		return vc_fail(ctx, VC_EUSAGE, "%s: %s", path, strerror(errno));
	if ((f = csv_open(&o, file)) == NULL) {
		if (file)
			fclose(file);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	if (jv_is_valid(t))
		csv_table(f, t, g->data);
	else {
		csv_row(f, vc_report_appendix_cols);
		rc = vc_report_appendix(ctx, &g->in, csv_row, f);
	}
	bad = csv_close(f, &o, hex);
	if (file != NULL)
		bad |= fclose(file) != 0;
	*size = o.size;
	if (rc == VC_EINTERNAL || (rc == 0 && bad))
		return ctx->err && rc ? rc : vc_fail(ctx, VC_EINTERNAL, "%s: write failed", path ? path : "CSV");
	return rc;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* A chosen table to path; else every table, path-NAME.csv each.  Each
 * file written is added to *files, and to *recs as {name, table, sha,
 * size} for report_files. */
static int
write_csv(vc_ctx *ctx, struct gathered *g, const char *path, const char *only, jv *files, jv *recs)
{
	jv tables = member(g->manifest, "tables");
	size_t n = strlen(path);
	int rc = 0, found = 0;
	char hex[crypto_hash_sha256_BYTES * 2 + 1];
	int64_t size;

	if (n > 4 && strcmp(path + n - 4, ".csv") == 0)
		n -= 4;
	if (jv_get_kind(tables) == JV_KIND_ARRAY)
		jv_array_foreach(tables, i, t) {
			const char *nm = str(t, "name", "");
			char p[4200];
			if (rc == 0 && (only == NULL || strcmp(only, nm) == 0)) {
				found = 1;
				if (only)
					snprintf(p, sizeof p, "%s", path);
				else
					snprintf(p, sizeof p, "%.*s-%s.csv", (int)n, path, nm);
				if ((rc = csv_file(ctx, g, t, p, hex, &size)) == 0) {
					*files = jv_array_append(*files, jv_string(p));
					*recs = jv_array_append(*recs, JV_OBJECT(jv_string("name"), jv_string(base_name(p)),
					    jv_string("table"), jv_string(nm), jv_string("sha"), jv_string(hex),
					    jv_string("size"), jv_number((double)size)));
				}
			}
			jv_free(t);
		}
	jv_free(tables);
	/* The appendix: its own file, streamed. */
	{
		jv ap = member(g->manifest, "appendix");
		int want = jv_get_kind(ap) == JV_KIND_TRUE && (g->in.case_id[0] || g->in.host_id[0]);
		jv_free(ap);
		if (rc == 0 && want && (only == NULL || strcmp(only, "appendix") == 0)) {
			char p[4200];
			found = 1;
			if (only)
				snprintf(p, sizeof p, "%s", path);
			else
				snprintf(p, sizeof p, "%.*s-appendix.csv", (int)n, path);
			if ((rc = csv_file(ctx, g, jv_invalid(), p, hex, &size)) == 0) {
				*files = jv_array_append(*files, jv_string(p));
				*recs = jv_array_append(*recs, JV_OBJECT(jv_string("name"), jv_string(base_name(p)),
				    jv_string("table"), jv_string("appendix"), jv_string("sha"), jv_string(hex),
				    jv_string("size"), jv_number((double)size)));
			}
		}
	}
	if (rc == 0 && !found)
		rc = vc_fail(ctx, VC_EUSAGE, only ? "template %s has no table %s" : "template %s has no table%s",
		    str(g->inputs, "template", ""), only ? only : "");
	return rc;
}

/* The rows of record_csv (vc_tx_run's arg). */
struct csv_rec {
	struct gathered *g;
	jv recs;
	const char *in, *report_id, *name_as;
};

static int
csv_rec_body(vc_ctx *ctx, void *arg)
{
	struct csv_rec *c = arg;
	int rc = 0;

	jv_array_foreach(c->recs, i, r) {
		if (rc == 0)
			rc = vc_sql_exec(ctx, "INSERT INTO report_files (tenant_id, file_sha256, name, table_name, inputs,"
			    " sha256, size, report_id, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			    NULL, "ssssssissi", ctx->who.tenant_id, str(r, "sha", ""),
			    c->name_as ? c->name_as : str(r, "name", ""), str(r, "table", ""), c->in, c->g->sha256,
			    vc_arg_int(r, "size", 0), c->report_id, ctx->who.username, vc_now(ctx));
		jv_free(r);
	}
	return rc;
}

/*
 * Record the CSV files just written (recs of write_csv) in report_files,
 * in a short transaction of their own (a report is made holding none),
 * written again when it gave way to another (the files stay as they
 * are): what `verify` finds a CSV by.  name_as, when given, is the name
 * the file is downloaded as (a report of vc-serve's), report_id its id.
 */
static int
record_csv(vc_ctx *ctx, struct gathered *g, jv recs, const char *report_id, const char *name_as)
{
	jv in = jv_dump_string(jv_copy(g->inputs), JV_PRINT_SORTED);
	struct csv_rec c = { g, recs, jv_string_value(in), report_id, name_as };
	int rc = ctx->store->in_tx ? csv_rec_body(ctx, &c) : vc_tx_run(ctx, 0, csv_rec_body, &c);

	jv_free(in);
	return rc;
}

static int
write_text(vc_ctx *ctx, const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "w");
	int bad;

	if (f == NULL)
		return vc_fail(ctx, VC_EUSAGE, "%s: %s", path, strerror(errno));
	bad = fwrite(s, 1, n, f) != n;
	if (fclose(f) != 0 || bad)
		return vc_fail(ctx, VC_EINTERNAL, "%s: write failed", path);
	return 0;
}

static jv
json_doc(struct gathered *g)
{
	return JV_OBJECT(jv_string("report"), jv_string("vc-report"), jv_string("inputs"), jv_copy(g->inputs),
	    jv_string("sha256"), jv_string(g->sha256), jv_string("data"), jv_copy(g->data));
}

/* ---- operations ---------------------------------------------------------- */

int
vc_op_report_generate(vc_ctx *ctx, jv args, jv *out)
{
	const char *fmt = str(args, "format", "html"), *path = vc_arg_str(args, "out");
	struct gathered g;
	jv req = JV_OBJECT(jv_string("template"), jv_string(str(args, "template", ""))), files = jv_array();
	jv recs = jv_array(), sections = jv_invalid();
	char *html = NULL;
	size_t hlen = 0, contents_at = SIZE_MAX;
	int rc;

	/* Without libxlsxwriter an XLSX report fails before its data is gathered. */
	if (path == NULL || (strcmp(fmt, "xlsx") == 0 && (rc = vc_report_xlsx_ready(ctx)) != 0)) {
		jv_free(req);
		jv_free(files);
		jv_free(recs);
		return path == NULL ? vc_fail(ctx, VC_EUSAGE, "name the report's file with -o FILE") : rc;
	}
	for (const char *const *k = (const char *const[]){ "case", "host", "since", "until", "marking", NULL };
	    *k; k++)
		if (vc_arg_has(args, *k))
			req = jv_object_set(req, jv_string(*k), member(args, *k));
	if ((rc = gather(ctx, req, &g)) != 0) {
		jv_free(files);
		jv_free(recs);
		return rc;
	}
	step(ctx, "writing the report");
	if (strcmp(fmt, "html") == 0 || strcmp(fmt, "pdf") == 0)
		rc = render_html(ctx, &g, fmt[0] == 'p', &html, &hlen, &sections, &contents_at);
	if (rc == 0 && strcmp(fmt, "html") == 0)
		rc = write_text(ctx, path, html, hlen);
	else if (rc == 0 && strcmp(fmt, "json") == 0) {
		jv s = jv_dump_string(json_doc(&g), JV_PRINT_SORTED);
		jv s2 = jv_string_concat(s, jv_string("\n"));
		rc = write_text(ctx, path, jv_string_value(s2), (size_t)jv_string_length_bytes(jv_copy(s2)));
		jv_free(s2);
	} else if (rc == 0 && strcmp(fmt, "csv") == 0) {
		/* report_id and filename: set by vc-serve's report thread only
		 * (the operation table lets no caller pass them). */
		if ((rc = write_csv(ctx, &g, path, vc_arg_str(args, "table"), &files, &recs)) == 0)
			rc = record_csv(ctx, &g, recs, vc_arg_str(args, "report_id"), vc_arg_str(args, "filename"));
	} else if (rc == 0 && (strcmp(fmt, "pdf") == 0 || strcmp(fmt, "xlsx") == 0)) {
		char title[200];
		struct vc_report_doc d = { .inputs = g.inputs, .manifest = g.manifest, .data = g.data,
			.sha256 = g.sha256, .html = html, .tenant = g.tenant,
			.marking = str(g.inputs, "marking", ""), .in = &g.in, .sections = sections,
			.contents_at = contents_at };
		jv ap = member(g.manifest, "appendix");
		d.appendix = jv_get_kind(ap) == JV_KIND_TRUE;
		jv_free(ap);
		snprintf(title, sizeof title, "%s", str(g.manifest, "title", str(g.inputs, "template", "")));
		d.title = title;
		rc = fmt[0] == 'p' ? vc_report_pdf(ctx, &d, path, (int)vc_arg_int(args, "timeout", 120)) :
		    vc_report_xlsx(ctx, &d, path);
	}
	free(html);
	jv_free(recs);
	jv_free(sections);
	if (rc == 0) {
		if (jv_array_length(jv_copy(files)) == 0)
			files = jv_array_append(files, jv_string(path));
		*out = JV_OBJECT(jv_string("template"), jv_string(str(g.inputs, "template", "")),
		    jv_string("format"), jv_string(fmt), jv_string("files"), jv_copy(files),
		    jv_string("sha256"), jv_string(g.sha256), jv_string("inputs"), jv_copy(g.inputs));
	}
	jv_free(files);
	gathered_free(&g);
	return rc;
}

/* The inputs and hash a report file recorded: HTML meta, the JSON
 * document, or the lines after a PDF's last %%EOF. */
static int
recorded(vc_ctx *ctx, const char *path, const char *buf, size_t n, jv *inputs, char *sha, size_t shan)
{
	const char *p;

	*inputs = jv_invalid();
	if (n > 4 && memcmp(buf, "%PDF", 4) == 0) {
		const char *in = NULL, *hs = NULL;
		for (p = buf + (n > 65536 ? n - 65536 : 0); p < buf + n; p++) {
			if (strncmp(p, "\n%vc-report-inputs ", 19) == 0)
				in = p + 19;
			else if (strncmp(p, "\n%vc-report-sha256 ", 19) == 0)
				hs = p + 19;
		}
		if (in == NULL || hs == NULL)
			return vc_fail(ctx, VC_EINVAL, "%s: a PDF vc-report did not make", path);
		*inputs = jv_parse_sized(in, (int)strcspn(in, "\n"));
		snprintf(sha, shan, "%.*s", (int)strcspn(hs, "\n"), hs);
	} else if (n > 4 && memcmp(buf, "PK\x03\x04", 4) == 0) {
		if (vc_report_xlsx_recorded(buf, n, inputs, sha, shan) != 0)
			return vc_fail(ctx, VC_EINVAL, "%s: a workbook vc-report did not make", path);
	} else if ((p = strstr(buf, "<meta name=\"vc-report-inputs\" content=\"")) != NULL) {
		const char *e, *h = strstr(buf, "<meta name=\"vc-report-sha256\" content=\"");
		struct vc_buf t = { .max = MANIFEST_MAX };
		p += 39;
		if ((e = strchr(p, '"')) == NULL || h == NULL)
			return vc_fail(ctx, VC_EINVAL, "%s: its inputs are cut short", path);
		/* Undo the escaping of an attribute value. */
		while (p < e) {
			static const struct { const char *ent; char c; } ents[] = {
				{ "&quot;", '"' }, { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&#39;", '\'' } };
			size_t k;
			for (k = 0; k < 5; k++)
				if (strncmp(p, ents[k].ent, strlen(ents[k].ent)) == 0)
					break;
			if (k < 5) {
				vc_buf_add(&t, &ents[k].c, 1);
				p += strlen(ents[k].ent);
			} else
				vc_buf_add(&t, p++, 1);
		}
		*inputs = t.p ? jv_parse(t.p) : jv_invalid();
		free(t.p);
		snprintf(sha, shan, "%.64s", h + 39);
	} else {
		jv doc = jv_parse_sized(buf, (int)n);
		if (jv_get_kind(doc) == JV_KIND_OBJECT && strcmp(str(doc, "report", ""), "vc-report") == 0) {
			*inputs = member(doc, "inputs");
			snprintf(sha, shan, "%s", str(doc, "sha256", ""));
		}
		jv_free(doc);
		if (!jv_is_valid(*inputs))
			return vc_fail(ctx, VC_EINVAL, "%s: not a report of vc-report (HTML, PDF, XLSX or JSON)", path);
	}
	if (jv_get_kind(*inputs) != JV_KIND_OBJECT) {
		jv_free(*inputs);
		*inputs = jv_invalid();
		return vc_fail(ctx, VC_EINVAL, "%s: its recorded inputs are not JSON", path);
	}
	return 0;
}

/* Gather again the report inputs (borrowed) recorded. */
static int
regather(vc_ctx *ctx, jv inputs, struct gathered *g)
{
	jv req = JV_OBJECT(jv_string("template"), member(inputs, "template"),
	    jv_string("since"), member(inputs, "since"), jv_string("until"), member(inputs, "until"),
	    jv_string("marking"), member(inputs, "marking"));

	if (vc_arg_has(inputs, "case"))
		req = jv_object_set(req, jv_string("case"), member(inputs, "case"));
	if (vc_arg_has(inputs, "host"))
		req = jv_object_set(req, jv_string("host"), member(inputs, "host"));
	return gather(ctx, req, g);
}

/* The SHA-256 of a whole file, read in pieces (a CSV may be large). */
static int
file_sha256(vc_ctx *ctx, const char *path, char hex[crypto_hash_sha256_BYTES * 2 + 1])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES], buf[65536];
	struct stat sb;
	FILE *f = open_file(ctx, path, &sb);
	size_t n;
	int bad;

	if (f == NULL)
		return ctx->err;
	crypto_hash_sha256_init(&st);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		crypto_hash_sha256_update(&st, buf, n);
	bad = ferror(f);
	fclose(f);
	if (bad)
		return vc_fail(ctx, VC_EINTERNAL, "%s: read failed", path);
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, crypto_hash_sha256_BYTES * 2 + 1, h, sizeof h);
	return 0;
}

#define FILE_COLS "name, table_name, inputs, sha256, file_sha256, created_at, created_by, report_id"

/*
 * The report_files row of the caller's tenant for a file's content (sha)
 * or, sha NULL, its name: the newest; of several with the same content
 * (a table written twice, or empty in two reports) the newest written
 * under the file's own name first.  1 with *row, 0 for none, or -1.
 */
static int
csv_record(vc_ctx *ctx, const char *sha, const char *name, jv *row)
{
	vc_stmt *q = sha == NULL ?
	    vc_sql(ctx, "SELECT " FILE_COLS " FROM report_files WHERE tenant_id = ?1 AND name = ?2"
	    " ORDER BY created_at DESC, id DESC LIMIT 1", "ss", ctx->who.tenant_id, name) :
	    vc_sql(ctx, "SELECT " FILE_COLS " FROM report_files WHERE tenant_id = ?1 AND file_sha256 = ?2"
	    " ORDER BY name = ?3 DESC, created_at DESC, id DESC LIMIT 1", "sss", ctx->who.tenant_id, sha, name);
	int r;

	*row = jv_invalid();
	if (q == NULL)
		return -1;
	if ((r = vc_sql_step(ctx, q)) == 1)
		*row = vc_sql_row(q);
	vc_stmt_done(q);
	return r;
}

/*
 * verify of a CSV: it carries no inputs, so it is found in report_files
 * by the SHA-256 of its bytes; then its table is made again from the
 * inputs recorded (only hashed, never written) and compared with it.
 * Unknown content with a name vc-report wrote for the tenant is a
 * modified file.  unknown: the message for a file neither finds.
 */
static int
verify_csv(vc_ctx *ctx, const char *path, const char *unknown, jv *out)
{
	char fsha[crypto_hash_sha256_BYTES * 2 + 1], now[crypto_hash_sha256_BYTES * 2 + 1];
	const char *when;
	jv row, inputs;
	struct gathered g;
	int rc, r, intact = 1, match;
	int64_t size;

	if ((rc = file_sha256(ctx, path, fsha)) != 0)
		return rc;
	if ((r = csv_record(ctx, fsha, base_name(path), &row)) < 0)
		return ctx->err;
	if (r == 0) {
		/* unscoped: only to tell (and audit) another tenant's report */
		if ((r = vc_in_any_tenant(ctx, "SELECT 1 FROM report_files WHERE file_sha256 = ?1",
		    fsha)) < 0)
			return ctx->err;
		if (r == 1) {
			vc_deny_audit(ctx, "report_file", fsha);
			return vc_fail(ctx, VC_ENOTFOUND, "%s: a report of another tenant", path);
		}
		if ((r = csv_record(ctx, NULL, base_name(path), &row)) < 0)
			return ctx->err;
		if (r == 0)
			return vc_fail(ctx, VC_EINVAL, "%s: %s", path, unknown ? unknown :
			    "no CSV vc-report wrote for this tenant has this content or this name");
		intact = 0;
	}
	inputs = jv_parse(str(row, "inputs", ""));
	if (jv_get_kind(inputs) != JV_KIND_OBJECT) {
		jv_free(inputs);
		jv_free(row);
		return vc_fail(ctx, VC_EINTERNAL, "%s: its recorded inputs are not JSON", path);
	}
	if ((rc = regather(ctx, inputs, &g)) != 0) {
		jv_free(inputs);
		jv_free(row);
		return rc;
	}
	/* Its table again, as it would be written now. */
	{
		const char *tn = str(row, "table_name", "");
		jv tables = member(g.manifest, "tables"), t = jv_invalid();
		int found = strcmp(tn, "appendix") == 0;
		if (jv_get_kind(tables) == JV_KIND_ARRAY)
			jv_array_foreach(tables, i, x) {
				if (!found && strcmp(str(x, "name", ""), tn) == 0) {
					found = 1;
					t = jv_copy(x);
				}
				jv_free(x);
			}
		jv_free(tables);
		now[0] = '\0';
		if (found)
			rc = csv_file(ctx, &g, t, NULL, now, &size);
		jv_free(t);
	}
	if (rc == 0) {
		const char *wsha = str(row, "file_sha256", "");
		int same_version = vc_arg_int(g.inputs, "version", 0) == vc_arg_int(inputs, "version", -1);
		match = now[0] != '\0' && strcmp(now, wsha) == 0;
		when = str(row, "created_at", "");
		*out = JV_OBJECT(jv_string("file"), jv_string(path), jv_string("format"), jv_string("csv"),
		    jv_string("template"), member(inputs, "template"), jv_string("table"),
		    jv_string(str(row, "table_name", "")), jv_string("intact"), jv_bool(intact),
		    jv_string("match"), jv_bool(match), jv_string("file_sha256"), jv_string(fsha),
		    jv_string("written_sha256"), jv_string(wsha));
		*out = jv_object_merge(*out, JV_OBJECT(jv_string("written_as"), jv_string(str(row, "name", "")),
		    jv_string("written_at"), jv_string(when), jv_string("written_by"), member(row, "created_by"),
		    jv_string("report_id"), member(row, "report_id"), jv_string("recorded_sha256"),
		    jv_string(str(row, "sha256", "")), jv_string("sha256"), jv_string(g.sha256),
		    jv_string("template_version_same"), jv_bool(same_version)));
		if (!intact)
			rc = vc_fail(ctx, VC_EINVAL, "%s: modified since vc-report wrote it as %s at %s: no CSV of"
			    " this tenant has its content (SHA-256 %.12s..., written %.12s...)", path,
			    str(row, "name", ""), when, fsha, wsha);
		else if (now[0] == '\0')
			rc = vc_fail(ctx, VC_EFINDINGS, "%s: template %s has no table %s any more", path,
			    str(inputs, "template", ""), str(row, "table_name", ""));
		else if (!match)
			rc = vc_fail(ctx, VC_EFINDINGS, "%s: the data differs from what the file holds (table %s)%s",
			    path, str(row, "table_name", ""), same_version ? "" : " (its template has a new version)");
	}
	jv_free(inputs);
	jv_free(row);
	gathered_free(&g);
	return rc;
}

/* Whether a file may carry its inputs inside: PDF, XLSX, HTML or JSON;
 * anything else is looked up as a CSV. */
static int
sniff(const char *path)
{
	unsigned char b[8] = "";
	FILE *f = fopen(path, "rb");
	size_t n, i = 0;

	if (f == NULL)
		return 0;
	n = fread(b, 1, sizeof b, f);
	fclose(f);
	if (n >= 4 && (memcmp(b, "%PDF", 4) == 0 || memcmp(b, "PK\x03\x04", 4) == 0))
		return 2;
	while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
		i++;
	return i < n && (b[i] == '<' || b[i] == '{') ? 1 : 0;
}

int
vc_op_report_verify(vc_ctx *ctx, jv args, jv *out)
{
	const char *path = vc_arg_str(args, "file");
	char *buf, sha[80] = "", msg[sizeof ctx->errmsg];
	size_t n;
	jv inputs;
	struct gathered g;
	int rc, kind;

	if (path == NULL)
		return vc_fail(ctx, VC_EUSAGE, "name the report to verify");
	if ((kind = sniff(path)) == 0)
		return verify_csv(ctx, path, NULL, out);
	if ((rc = slurp(ctx, path, FILE_MAX, &buf, &n)) != 0)
		return rc;
	rc = recorded(ctx, path, buf, n, &inputs, sha, sizeof sha);
	free(buf);
	if (rc != 0 && kind == 1 && rc == VC_EINVAL) {
		/* Text that is no report of ours may be a CSV we wrote. */
		const char *p = strstr(ctx->errmsg, ": ");
		snprintf(msg, sizeof msg, "%s", p ? p + 2 : ctx->errmsg);
		ctx->err = 0;
		ctx->errmsg[0] = '\0';
		return verify_csv(ctx, path, msg, out);
	}
	if (rc != 0)
		return rc;
	if (strcmp(str(inputs, "tenant_id", ""), ctx->who.tenant_id) != 0) {
		jv_free(inputs);
		return vc_fail(ctx, VC_ENOTFOUND, "%s: a report of another tenant", path);
	}
	if ((rc = regather(ctx, inputs, &g)) != 0) {
		jv_free(inputs);
		return rc;
	}
	{
		int same_version = vc_arg_int(g.inputs, "version", 0) == vc_arg_int(inputs, "version", -1);
		int match = strcmp(g.sha256, sha) == 0;
		*out = JV_OBJECT(jv_string("file"), jv_string(path), jv_string("template"),
		    member(inputs, "template"), jv_string("recorded_sha256"), jv_string(sha),
		    jv_string("sha256"), jv_string(g.sha256), jv_string("match"), jv_bool(match),
		    jv_string("template_version_same"), jv_bool(same_version));
		if (!match)
			rc = vc_fail(ctx, VC_EFINDINGS, "%s: the data differs from what the report recorded%s",
			    path, same_version ? "" : " (its template has a new version)");
	}
	jv_free(inputs);
	gathered_free(&g);
	return rc;
}

/* ---- templates ------------------------------------------------------------ */

static jv
params_of(jv m)
{
	jv p = member(m, "params");

	if (jv_get_kind(p) == JV_KIND_ARRAY)
		return p;
	jv_free(p);
	return jv_array();
}

static jv
summary(jv m, const char *origin)
{
	return JV_OBJECT(jv_string("name"), jv_string(str(m, "name", "")), jv_string("version"),
	    member(m, "version"), jv_string("origin"), jv_string(origin), jv_string("title"),
	    jv_string(str(m, "title", "")), jv_string("description"), jv_string(str(m, "description", "")),
	    jv_string("params"), params_of(m));
}

int
vc_op_report_template_add(vc_ctx *ctx, jv args, jv *out)
{
	const char *dir = vc_arg_str(args, "dir"), *mt = vc_arg_str(args, "manifest"),
	    *lt = vc_arg_str(args, "layout");
	char *mbuf = NULL, *lbuf = NULL, what[4200], path[4200];
	jv m;
	int rc = 0, version = 1;
	vc_stmt *q;

	if (dir != NULL) {
		snprintf(path, sizeof path, "%s/manifest.json", dir);
		if ((rc = slurp(ctx, path, MANIFEST_MAX, &mbuf, NULL)) == 0) {
			snprintf(path, sizeof path, "%s/layout.html", dir);
			rc = slurp(ctx, path, VC_TMPL_MAX, &lbuf, NULL);
		}
		if (rc != 0) {
			free(mbuf);
			return rc;
		}
		mt = mbuf;
		lt = lbuf;
	} else if (mt == NULL || lt == NULL) {
		return vc_fail(ctx, VC_EUSAGE, "give a template directory, or manifest and layout");
	} else if (strlen(mt) > MANIFEST_MAX || strlen(lt) > VC_TMPL_MAX)
		return vc_fail(ctx, VC_ETOOBIG, "a manifest is at most %d bytes, a layout %d", MANIFEST_MAX,
		    VC_TMPL_MAX);
	snprintf(what, sizeof what, "%s%s", dir ? dir : "manifest", dir ? "/manifest.json" : "");
	m = jv_parse(mt);
	if (!jv_is_valid(m)) {
		jv msg = jv_invalid_get_msg(m);
		rc = vc_fail(ctx, VC_EINVAL, "%s: %s", what,
		    jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "not JSON");
		jv_free(msg);
	} else if ((rc = check_template(ctx, what, m, lt, &m)) == 0 && is_builtin(str(m, "name", ""))) {
		rc = vc_fail(ctx, VC_ECONFLICT, "%s is a built-in template's name", str(m, "name", ""));
		jv_free(m);
	}
	if (rc != 0) {
		free(mbuf);
		free(lbuf);
		return rc;
	}
	/* A template added again under its name is its next version. */
	q = vc_sql(ctx, "SELECT version FROM report_templates WHERE tenant_id = ?1 AND name = ?2", "ss",
	    ctx->who.tenant_id, str(m, "name", ""));
	if (q != NULL && vc_sql_step(ctx, q) == 1)
		version = vc_col_int(q, 0) + 1;
	vc_stmt_done(q);
	if (vc_arg_int(m, "version", 1) > version)
		version = (int)vc_arg_int(m, "version", 1);
	m = jv_object_set(m, jv_string("version"), jv_number(version));
	{
		jv text = jv_dump_string(jv_copy(m), 0);
		rc = vc_sql_exec(ctx, "INSERT INTO report_templates (tenant_id, name, version, manifest, layout,"
		    " created_by, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
		    " ON CONFLICT (tenant_id, name) DO UPDATE SET version = excluded.version,"
		    " manifest = excluded.manifest, layout = excluded.layout, updated_at = excluded.updated_at",
		    NULL, "ssisssi", ctx->who.tenant_id, str(m, "name", ""), (int64_t)version,
		    jv_string_value(text), lt, ctx->who.username, vc_now(ctx));
		jv_free(text);
	}
	free(mbuf);
	free(lbuf);
	if (rc == 0) {
		vc_audit_target(ctx, "report_template", str(m, "name", ""));
		*out = summary(m, "tenant");
	}
	jv_free(m);
	return rc;
}

int
vc_op_report_template_list(vc_ctx *ctx, jv args, jv *out)
{
	vc_stmt *q;

	*out = jv_array();
	for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
		jv m = jv_parse(builtin[i].manifest);
		*out = jv_array_append(*out, summary(m, "builtin"));
		jv_free(m);
	}
	q = vc_sql(ctx, "SELECT manifest FROM report_templates WHERE tenant_id = ?1 ORDER BY name LIMIT 1000",
	    "s", ctx->who.tenant_id);
	if (q == NULL)
		return ctx->err;
	while (vc_sql_step(ctx, q) == 1) {
		jv m = jv_parse((const char *)vc_col_text(q, 0));
		*out = jv_array_append(*out, summary(m, "tenant"));
		jv_free(m);
	}
	vc_stmt_done(q);
	return ctx->err;
}

int
vc_op_report_template_show(vc_ctx *ctx, jv args, jv *out)
{
	const char *name = vc_arg_str(args, "name"), *origin = "";
	jv m;
	char *layout;
	int rc;

	if (!name_ok(name))
		return vc_fail(ctx, VC_ENOTFOUND, "no such template");
	if ((rc = load_template(ctx, name, &m, &layout, &origin)) != 0)
		return rc;
	*out = summary(m, origin);
	*out = jv_object_set(*out, jv_string("manifest"), m);
	*out = jv_object_set(*out, jv_string("layout"), jv_string(layout));
	free(layout);
	return 0;
}

int
vc_op_report_template_delete(vc_ctx *ctx, jv args, jv *out)
{
	const char *name = vc_arg_str(args, "name");
	int n = 0, rc;

	if (name && is_builtin(name))
		return vc_fail(ctx, VC_EPERM, "%s is built in: it cannot be deleted", name);
	if (!name_ok(name))
		return vc_fail(ctx, VC_ENOTFOUND, "no such template");
	if ((rc = vc_sql_exec(ctx, "DELETE FROM report_templates WHERE tenant_id = ?1 AND name = ?2", &n, "ss",
	    ctx->who.tenant_id, name)) != 0)
		return rc;
	/* unscoped: only to audit a reach for another tenant's template */
	if (n == 0)
		return vc_not_found(ctx, "report_template", "template",
		    "SELECT 1 FROM report_templates WHERE name = ?1", name);
	vc_audit_target(ctx, "report_template", name);
	*out = JV_OBJECT(jv_string("name"), jv_string(name), jv_string("deleted"), jv_true());
	return 0;
}
