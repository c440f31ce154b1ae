/* SPDX-License-Identifier: MIT */
/*
 * tmpl.h - the logic-less layout language of report templates.
 *
 *	{{name}}  {{a.b}}  {{.}}   a value, HTML-escaped (always)
 *	{{#name}} ... {{/name}}    a section: once per element of an array,
 *	                           once with an object as the new context,
 *	                           once for any other truthy value; skipped
 *	                           for a missing value, null, false, "", 0
 *	                           and an empty array or object
 *	{{^name}} ... {{/name}}    an inverted section: only when the above
 *	                           would be skipped
 *	{{! comment }}             nothing
 *	{{%name}}                  a chart the renderer drew (trusted SVG),
 *	                           inserted as is: the only unescaped output;
 *	                           {{%contents}} is the report's contents,
 *	                           made from its <h2> headings (report.c)
 *
 * There is no way to insert a data value unescaped ({{{x}}} and {{&x}}
 * are refused), so nothing a report's data holds can become markup.  A
 * name is looked up in the innermost context first, then outwards.
 *
 * Ownership: data and charts are borrowed; *out is malloc'd, the
 * caller frees it.
 */
#ifndef VC_REPORT_TMPL_H
#define VC_REPORT_TMPL_H
#include <stddef.h>
#include "core/vc.h"

#define VC_TMPL_MAX (1024 * 1024)       /* bytes of template text */
#define VC_TMPL_OUT_MAX (256L * 1024 * 1024)
#define VC_TMPL_DEPTH 32                /* nested sections */

/* Check a template's syntax: 0, or VC_EINVAL "what:LINE: problem". */
int vc_tmpl_check(vc_ctx *ctx, const char *what, const char *tpl);

/*
 * Render tpl with data (the outermost context) and charts (an object of
 * name -> SVG text, or null).  0 with the text in *out (length *outlen), or VC_EINVAL naming
 * the line (a syntax error, an unknown chart), VC_ETOOBIG past
 * VC_TMPL_OUT_MAX.
 */
int vc_tmpl_render(vc_ctx *ctx, const char *what, const char *tpl, jv data, jv charts,
    char **out, size_t *outlen);

/*
 * The sections of a rendered page, for its contents: each <h2 ...>
 * element of html (n bytes; lowercase, as the templates write it), in
 * order, as {id, title}: its id attribute, else "s-N" (its place), added
 * to the copy in *out (length *outlen); the title is its text with tags
 * dropped, entities undone and white space made single spaces.  At most
 * VC_TMPL_SECTIONS_MAX are listed.  0, or VC_ETOOBIG past VC_TMPL_OUT_MAX.
 */
#define VC_TMPL_SECTIONS_MAX 200
#define VC_TMPL_TITLE_MAX 400
int vc_tmpl_headings(vc_ctx *ctx, const char *html, size_t n, char **out, size_t *outlen, jv *sections);

/* Append s (n bytes) HTML-escaped to a growing buffer; for the charts. */
struct vc_buf {
	char *p;
	size_t len, cap, max;
	int over;               /* past max: further appends are dropped */
};
void vc_buf_add(struct vc_buf *b, const char *s, size_t n);
void vc_buf_adds(struct vc_buf *b, const char *s);
void vc_buf_addf(struct vc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vc_buf_esc(struct vc_buf *b, const char *s, size_t n);
#endif
