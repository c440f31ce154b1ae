/* SPDX-License-Identifier: MIT */
/*
 * tmpl.c - the layout language of report templates (see tmpl.h).  The
 * text is cut into tokens once (literal text and tags, each section
 * tag knowing where its close is), then rendered over the tokens.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/tmpl.h"

enum { T_TEXT, T_VAR, T_SECTION, T_INVERTED, T_CLOSE, T_CHART };

struct tok {
	int type;
	const char *s;          /* text, or the tag's name */
	size_t n;
	int line;
	int end;                /* a section: index of its close */
};

struct toks {
	struct tok *v;
	int n, cap;
};

/* ---- buffers ------------------------------------------------------------ */

void
vc_buf_add(struct vc_buf *b, const char *s, size_t n)
{
	if (b->over || n == 0)
		return;
	if (b->len + n + 1 > b->max) {
		b->over = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *np;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->over = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
vc_buf_adds(struct vc_buf *b, const char *s)
{
	vc_buf_add(b, s, strlen(s));
}

void
vc_buf_addf(struct vc_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		vc_buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void
vc_buf_esc(struct vc_buf *b, const char *s, size_t n)
{
	size_t from = 0;

	for (size_t i = 0; i < n; i++) {
		const char *rep;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		vc_buf_add(b, s + from, i - from);
		vc_buf_adds(b, rep);
		from = i + 1;
	}
	vc_buf_add(b, s + from, n - from);
}

/* ---- parsing ------------------------------------------------------------ */

static int
push(struct toks *t, int type, const char *s, size_t n, int line)
{
	if (t->n == t->cap) {
		int cap = t->cap ? t->cap * 2 : 64;
		struct tok *nv = realloc(t->v, (size_t)cap * sizeof *nv);
		if (nv == NULL)
			return -1;
		t->v = nv;
		t->cap = cap;
	}
	t->v[t->n++] = (struct tok){ .type = type, .s = s, .n = n, .line = line, .end = -1 };
	return 0;
}

static int
name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 128)
		return 0;
	if (n == 1 && s[0] == '.')
		return 1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-';
		if (!word && !(c == '.' && i > 0 && i + 1 < n && s[i - 1] != '.'))
			return 0;
	}
	return 1;
}

static int
lines_in(const char *s, size_t n)
{
	int k = 0;

	for (size_t i = 0; i < n; i++)
		k += s[i] == '\n';
	return k;
}

static int
parse(vc_ctx *ctx, const char *what, const char *tpl, struct toks *t)
{
	const char *p = tpl;
	int line = 1, stack[VC_TMPL_DEPTH], depth = 0;
	size_t len = strlen(tpl);

	if (len > VC_TMPL_MAX)
		return vc_fail(ctx, VC_ETOOBIG, "%s: the layout is larger than %d bytes", what, VC_TMPL_MAX);
	for (;;) {
		const char *open = strstr(p, "{{"), *close, *name;
		size_t nn;
		int type, at;

		if (open == NULL) {
			if (*p && push(t, T_TEXT, p, strlen(p), line) != 0)
				goto oom;
			break;
		}
		if (open > p && push(t, T_TEXT, p, (size_t)(open - p), line) != 0)
			goto oom;
		line += lines_in(p, (size_t)(open - p));
		at = line;
		if ((close = strstr(open + 2, "}}")) == NULL)
			return vc_fail(ctx, VC_EINVAL, "%s:%d: '{{' without its '}}'", what, at);
		line += lines_in(open, (size_t)(close - open));
		p = close + 2;
		name = open + 2;
		switch (*name) {
		case '!':
			continue;
		case '{':
		case '&':
			return vc_fail(ctx, VC_EINVAL, "%s:%d: unescaped output is only for charts ({{%%name}})",
			    what, at);
		case '#': type = T_SECTION; name++; break;
		case '^': type = T_INVERTED; name++; break;
		case '/': type = T_CLOSE; name++; break;
		case '%': type = T_CHART; name++; break;
		default: type = T_VAR; break;
		}
		while (name < close && (*name == ' ' || *name == '\t'))
			name++;
		nn = (size_t)(close - name);
		while (nn > 0 && (name[nn - 1] == ' ' || name[nn - 1] == '\t'))
			nn--;
		if (!name_ok(name, nn))
			return vc_fail(ctx, VC_EINVAL, "%s:%d: '%.*s' is not a name", what, at,
			    (int)(nn > 40 ? 40 : nn), name);
		if (push(t, type, name, nn, at) != 0)
			goto oom;
		if (type == T_SECTION || type == T_INVERTED) {
			if (depth == VC_TMPL_DEPTH)
				return vc_fail(ctx, VC_EINVAL, "%s:%d: sections nested deeper than %d",
				    what, at, VC_TMPL_DEPTH);
			stack[depth++] = t->n - 1;
		} else if (type == T_CLOSE) {
			struct tok *o;
			if (depth == 0)
				return vc_fail(ctx, VC_EINVAL, "%s:%d: '{{/%.*s}}' closes no section",
				    what, at, (int)nn, name);
			o = &t->v[stack[--depth]];
			if (o->n != nn || memcmp(o->s, name, nn) != 0)
				return vc_fail(ctx, VC_EINVAL, "%s:%d: '{{/%.*s}}' closes '%.*s' of line %d",
				    what, at, (int)nn, name, (int)o->n, o->s, o->line);
			o->end = t->n - 1;
		}
	}
	if (depth > 0) {
		struct tok *o = &t->v[stack[depth - 1]];
		return vc_fail(ctx, VC_EINVAL, "%s:%d: section '%.*s' is never closed",
		    what, o->line, (int)o->n, o->s);
	}
	return 0;
oom:
	return vc_fail(ctx, VC_EINTERNAL, "%s: out of memory", what);
}

int
vc_tmpl_check(vc_ctx *ctx, const char *what, const char *tpl)
{
	struct toks t = { 0 };
	int rc = parse(ctx, what, tpl, &t);

	free(t.v);
	return rc;
}

/* ---- rendering ------------------------------------------------------------ */

struct render {
	vc_ctx *ctx;
	const char *what;
	struct toks t;
	jv stack[VC_TMPL_DEPTH + 1];    /* borrowed contexts */
	int depth;
	jv charts;
	struct vc_buf out;
};

/* One dotted path in one context: a new value, or invalid. */
static jv
path_in(jv c, const char *s, size_t n)
{
	jv v = jv_copy(c);

	while (n > 0) {
		const char *dot = memchr(s, '.', n);
		size_t k = dot ? (size_t)(dot - s) : n;
		if (jv_get_kind(v) != JV_KIND_OBJECT) {
			jv_free(v);
			return jv_invalid();
		}
		{
			jv key = jv_string_sized(s, (int)k);
			if (!jv_object_has(jv_copy(v), jv_copy(key))) {
				jv_free(key);
				jv_free(v);
				return jv_invalid();
			}
			v = jv_object_get(v, key);
		}
		s += k;
		n -= k;
		if (n > 0) {
			s++;
			n--;
		}
	}
	return v;
}

/* A name: "." is the innermost context; else the first context, from the
 * innermost out, whose object has the name's first part. */
static jv
lookup(struct render *r, const struct tok *k)
{
	if (k->n == 1 && k->s[0] == '.')
		return jv_copy(r->stack[r->depth - 1]);
	for (int i = r->depth - 1; i >= 0; i--) {
		jv v = path_in(r->stack[i], k->s, k->n);
		if (jv_is_valid(v))
			return v;
		jv_free(v);
	}
	return jv_invalid();
}

static int
truthy(jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_INVALID:
	case JV_KIND_NULL:
	case JV_KIND_FALSE:
		return 0;
	case JV_KIND_STRING:
		return jv_string_length_bytes(jv_copy(v)) > 0;
	case JV_KIND_NUMBER:
		return jv_number_value(v) != 0;
	case JV_KIND_ARRAY:
		return jv_array_length(jv_copy(v)) > 0;
	case JV_KIND_OBJECT:
		return jv_object_length(jv_copy(v)) > 0;
	default:
		return 1;
	}
}

static void
put_value(struct render *r, jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_INVALID:
	case JV_KIND_NULL:
		break;
	case JV_KIND_STRING:
		vc_buf_esc(&r->out, jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)));
		break;
	case JV_KIND_NUMBER: {
		double d = jv_number_value(v);
		if (d == (double)(long long)d && d < 9e15 && d > -9e15)
			vc_buf_addf(&r->out, "%lld", (long long)d);
		else
			vc_buf_addf(&r->out, "%.4g", d);
		break;
	}
	default: {
		jv s = jv_dump_string(jv_copy(v), 0);
		vc_buf_esc(&r->out, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
		jv_free(s);
	}
	}
	jv_free(v);
}

static int render_range(struct render *r, int from, int to);

/* Render the tokens inside a section with ctx pushed (consumed). */
static int
with_ctx(struct render *r, jv c, int from, int to)
{
	int rc;

	r->stack[r->depth++] = c;
	rc = render_range(r, from, to);
	jv_free(r->stack[--r->depth]);
	return rc;
}

static int
render_range(struct render *r, int from, int to)
{
	for (int i = from; i < to && !r->out.over; i++) {
		struct tok *k = &r->t.v[i];
		jv v;

		switch (k->type) {
		case T_TEXT:
			vc_buf_add(&r->out, k->s, k->n);
			break;
		case T_VAR:
			put_value(r, lookup(r, k));
			break;
		case T_CHART: {
			jv key = jv_string_sized(k->s, (int)k->n);
			jv svg = jv_get_kind(r->charts) == JV_KIND_OBJECT ?
			    jv_object_get(jv_copy(r->charts), key) : (jv_free(key), jv_invalid());
			if (jv_get_kind(svg) != JV_KIND_STRING) {
				jv_free(svg);
				return vc_fail(r->ctx, VC_EINVAL, "%s:%d: no chart '%.*s'", r->what,
				    k->line, (int)k->n, k->s);
			}
			vc_buf_add(&r->out, jv_string_value(svg), (size_t)jv_string_length_bytes(jv_copy(svg)));
			jv_free(svg);
			break;
		}
		case T_INVERTED:
			v = lookup(r, k);
			if (!truthy(v) && render_range(r, i + 1, k->end) != 0) {
				jv_free(v);
				return r->ctx->err;
			}
			jv_free(v);
			i = k->end;
			break;
		case T_SECTION:
			v = lookup(r, k);
			if (!truthy(v))
				;
			else if (r->depth > VC_TMPL_DEPTH)
				;       /* parse() bounds nesting; loops of loops too */
			else if (jv_get_kind(v) == JV_KIND_ARRAY) {
				int n = jv_array_length(jv_copy(v));
				for (int e = 0; e < n && !r->out.over; e++)
					if (with_ctx(r, jv_array_get(jv_copy(v), e), i + 1, k->end) != 0) {
						jv_free(v);
						return r->ctx->err;
					}
			} else if (with_ctx(r, jv_copy(v), i + 1, k->end) != 0) {
				jv_free(v);
				return r->ctx->err;
			}
			jv_free(v);
			i = k->end;
			break;
		case T_CLOSE:
			break;
		}
	}
	return 0;
}

int
vc_tmpl_render(vc_ctx *ctx, const char *what, const char *tpl, jv data, jv charts,
    char **out, size_t *outlen)
{
	struct render r = { .ctx = ctx, .what = what, .charts = charts };
	int rc;

	*out = NULL;
	*outlen = 0;
	r.out.max = VC_TMPL_OUT_MAX;
	if ((rc = parse(ctx, what, tpl, &r.t)) != 0) {
		free(r.t.v);
		return rc;
	}
	r.stack[r.depth++] = jv_copy(data);
	rc = render_range(&r, 0, r.t.n);
	jv_free(r.stack[0]);
	free(r.t.v);
	if (rc == 0 && r.out.over)
		rc = vc_fail(ctx, VC_ETOOBIG, "%s: the report is larger than %ld MiB", what,
		    VC_TMPL_OUT_MAX >> 20);
	if (rc != 0) {
		free(r.out.p);
		return rc;
	}
	if (r.out.p == NULL)
		r.out.p = calloc(1, 1);
	*out = r.out.p;
	*outlen = r.out.len;
	return 0;
}

/* ---- sections: the <h2> headings of a rendered page ------------------ */

/* Append to t the text of s (n bytes): tags dropped, entities undone,
 * runs of white space made one space. */
static void
heading_text(struct vc_buf *t, const char *s, size_t n)
{
	static const struct { const char *ent, *to; } ents[] = {
		{ "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" }, { "&#39;", "'" },
		{ "&nbsp;", " " }, { "&middot;", "\xc2\xb7" }, { "&ndash;", "\xe2\x80\x93" },
		{ "&mdash;", "\xe2\x80\x94" },
	};
	int space = 0;

	for (size_t i = 0; i < n; ) {
		size_t k;
		if (s[i] == '<') {
			const char *e = memchr(s + i, '>', n - i);
			i = e ? (size_t)(e - s) + 1 : n;
			continue;
		}
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			space = t->len > 0;
			i++;
			continue;
		}
		if (space)
			vc_buf_add(t, " ", 1);
		space = 0;
		for (k = 0; s[i] == '&' && k < sizeof ents / sizeof ents[0]; k++)
			if (n - i >= strlen(ents[k].ent) && memcmp(s + i, ents[k].ent, strlen(ents[k].ent)) == 0)
				break;
		if (s[i] == '&' && k < sizeof ents / sizeof ents[0]) {
			vc_buf_adds(t, ents[k].to);
			i += strlen(ents[k].ent);
		} else
			vc_buf_add(t, s + i++, 1);
	}
}

int
vc_tmpl_headings(vc_ctx *ctx, const char *html, size_t n, char **out, size_t *outlen, jv *sections)
{
	struct vc_buf b = { .max = VC_TMPL_OUT_MAX };
	size_t i = 0, from = 0;
	int count = 0;

	*out = NULL;
	*sections = jv_array();
	while (i + 4 <= n) {
		const char *open = memmem(html + i, n - i, "<h2", 3), *end, *close, *id;
		struct vc_buf t = { .max = VC_TMPL_TITLE_MAX };
		char idbuf[32];
		size_t idn;

		if (open == NULL)
			break;
		i = (size_t)(open - html) + 3;
		if (i >= n || (html[i] != ' ' && html[i] != '>'))
			continue;
		if ((end = memchr(html + i, '>', n - i)) == NULL ||
		    (close = memmem(end, n - (size_t)(end - html), "</h2>", 5)) == NULL)
			break;
		id = memmem(html + i, (size_t)(end - html) - i, " id=\"", 5);
		if (id != NULL) {
			const char *q;
			id += 5;
			q = memchr(id, '"', (size_t)(end - id));
			idn = q ? (size_t)(q - id) : 0;
		} else {
			/* Give it one, just after "<h2". */
			vc_buf_add(&b, html + from, i - from);
			idn = (size_t)snprintf(idbuf, sizeof idbuf, "s-%d", count + 1);
			vc_buf_addf(&b, " id=\"%s\"", idbuf);
			from = i;
			id = idbuf;
		}
		heading_text(&t, end + 1, (size_t)(close - end - 1));
		if (count < VC_TMPL_SECTIONS_MAX)
			*sections = jv_array_append(*sections, JV_OBJECT(jv_string("id"), jv_string_sized(id, (int)idn),
			    jv_string("title"), jv_string(t.p ? t.p : "")));
		count++;
		free(t.p);
		i = (size_t)(close - html) + 5;
	}
	vc_buf_add(&b, html + from, n - from);
	if (b.over) {
		free(b.p);
		jv_free(*sections);
		*sections = jv_invalid();
		return vc_fail(ctx, VC_ETOOBIG, "the report is larger than %ld MiB", VC_TMPL_OUT_MAX >> 20);
	}
	if (b.p == NULL && (b.p = strdup("")) == NULL) {
		jv_free(*sections);
		*sections = jv_invalid();
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	*out = b.p;
	*outlen = b.len;
	return 0;
}
