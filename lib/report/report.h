/* SPDX-License-Identifier: MIT */
/*
 * report.h - vc-report: reports made from templates (report.c), the data
 * they may ask for (sources.c), the charts drawn for them (chart.c) and
 * the files they are written as (html, pdf.c, xlsx.c, csv, json).
 *
 * A template is a manifest (JSON: name, version, description, params,
 * the sources it reads, one jq program that shapes them into the
 * report's data, its tables and charts) and a layout (tmpl.h).  Three
 * are built in (templates/ of the source tree, inside the library);
 * a tenant's own are rows of report_templates.
 *
 * Ownership: as for every operation (ops.h); vc_report_chart returns a
 * new string the caller owns.
 */
#ifndef VC_REPORT_H
#define VC_REPORT_H
#include "core/vc.h"

/* What a report is about: the resolved ids and the period [since, until). */
struct vc_report_in {
	char case_id[VC_ID_LEN + 1];
	char host_id[VC_ID_LEN + 1];
	int64_t since, until;
};

struct vc_report_source {
	const char *name;
	int needs;              /* 'c' a case, 'h' a host, 'p' the period */
	int min_role;           /* VC_ROLE_* that may read it */
	int (*fn)(vc_ctx *ctx, const struct vc_report_in *in, jv *out);
};
extern const struct vc_report_source vc_report_sources[];   /* NULL-name terminated */
const struct vc_report_source *vc_report_source(const char *name);

/*
 * The appendix of a case or host report: every stored artifact row of the
 * case's artifacts (or of the host), in order, handed to fn one at a time
 * as VC_REPORT_APPENDIX_COLS texts (NULL for none), never all at once.
 * fn returns nonzero to stop (that value is returned).  A period report
 * has none (0).
 */
#define VC_REPORT_APPENDIX_COLS 7
extern const char *const vc_report_appendix_cols[VC_REPORT_APPENDIX_COLS];
int vc_report_appendix(vc_ctx *ctx, const struct vc_report_in *in,
    int (*fn)(void *arg, const char *const *cols), void *arg);

/*
 * An SVG chart of rows (an array of objects, borrowed): kind "bar"
 * (label -> value), "line" (label in order -> value) or "stacked" (for
 * each label, one segment per series value).  Text is escaped; the SVG
 * has no script, no link and no external reference.
 */
jv vc_report_chart(const char *kind, const char *title, jv rows, const char *label,
    const char *value, const char *series);

/* The operations (lib/ops/table.c). */
int vc_op_report_generate(vc_ctx *ctx, jv args, jv *out);
int vc_op_report_verify(vc_ctx *ctx, jv args, jv *out);
int vc_op_report_template_add(vc_ctx *ctx, jv args, jv *out);
int vc_op_report_template_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_report_template_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_report_template_delete(vc_ctx *ctx, jv args, jv *out);
int vc_op_report_request(vc_ctx *ctx, jv args, jv *out);      /* jobs.c */
int vc_op_report_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_report_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_report_download(vc_ctx *ctx, jv args, jv *out);
int vc_op_report_retention(vc_ctx *ctx, jv args, jv *out);

/* A template's manifest by name (built in, else the caller's tenant's):
 * 0 with *manifest, or VC_ENOTFOUND. */
int vc_report_describe(vc_ctx *ctx, const char *name, jv *manifest);
/* VC_EUSAGE when args lack the case or host the manifest needs. */
int vc_report_check_args(vc_ctx *ctx, jv manifest, jv args);

/*
 * vc-serve's report thread: render the oldest pending report as the
 * user who asked for it, and remove reports past their retention.
 * 1 when one was rendered (done or failed), 0 when none waits, else a
 * VC_E code.  ctx is the thread's own (its principal is overwritten).
 */
int vc_report_work(vc_ctx *ctx);

/* Internal to lib/report/: writers of the other formats. */
struct vc_report_doc {
	jv inputs;              /* borrowed: what the report was made from */
	jv manifest;            /* borrowed */
	jv data;                /* borrowed: the shaped data */
	const char *sha256;     /* hex of the data hash */
	const char *html;       /* the HTML rendering (pdf) */
	jv sections;            /* borrowed: [{id, title}] of its <h2> headings */
	size_t contents_at;     /* where in html the contents goes, or SIZE_MAX */
	const char *title, *tenant, *marking;
	const struct vc_report_in *in;  /* for the appendix */
	int appendix;           /* the manifest asks for one */
};
int vc_report_pdf(vc_ctx *ctx, const struct vc_report_doc *d, const char *path, int timeout_s);
int vc_report_xlsx(vc_ctx *ctx, const struct vc_report_doc *d, const char *path);
/* Open libxlsxwriter (once; vc_report_xlsx does too): 0, or VC_EUNAVAIL
 * with ctx saying why, so that a report asked for as XLSX fails before
 * its data is gathered. */
int vc_report_xlsx_ready(vc_ctx *ctx);
/* The inputs and hash a workbook of vc_report_xlsx recorded (its
 * document properties): 0, or -1 when it holds none. */
int vc_report_xlsx_recorded(const char *buf, size_t n, jv *inputs, char *sha, size_t shan);
#endif
