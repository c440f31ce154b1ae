/* SPDX-License-Identifier: MIT */
/*
 * top.c - vc-score top --by host: the hosts of scored rows (vc-score's
 * output) ranked by their highest row score, each with its top
 * indicators: where an analyst starts on a hunt.
 */
#include <stdlib.h>
#include <string.h>

#include "json/jsonl.h"
#include "score/score.h"
#include "score/signals.h"


struct vc_top {
	jv hosts;               /* host -> {score, rows, flagged, inds: {key: {...}}} */
};

struct vc_top *
vc_top_new(void)
{
	struct vc_top *t = calloc(1, sizeof *t);

	if (t != NULL)
		t->hosts = jv_object();
	return t;
}

void
vc_top_free(struct vc_top *t)
{
	if (t == NULL)
		return;
	jv_free(t->hosts);
	free(t);
}

/* Take member k out of *o (so that changing it does not copy it). */
static jv
take(jv *o, jv k)
{
	jv v = jv_object_get(jv_copy(*o), jv_copy(k));

	if (jv_is_valid(v))
		*o = jv_object_set(*o, k, jv_null());
	else
		jv_free(k);
	return v;
}

static double
num(jv o, const char *k)
{
	jv v = jv_object_get(jv_copy(o), jv_string(k));
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0;

	jv_free(v);
	return d;
}

void
vc_top_add(struct vc_top *t, jv host, jv sc)
{
	jv h, inds, ins;
	double score = num(sc, "score");

	h = take(&t->hosts, jv_copy(host));
	if (!jv_is_valid(h)) {
		jv_free(h);
		h = JV_OBJECT(jv_string("host"), jv_copy(host), jv_string("score"), jv_number(0),
		    jv_string("classification"), jv_string("benign"), jv_string("rows"), jv_number(0),
		    jv_string("flagged"), jv_number(0), jv_string("inds"), jv_object());
	}
	h = jv_object_set(h, jv_string("rows"), jv_number(num(h, "rows") + 1));
	if (score >= 0.4)
		h = jv_object_set(h, jv_string("flagged"), jv_number(num(h, "flagged") + 1));
	if (score > num(h, "score")) {
		h = jv_object_set(h, jv_string("score"), jv_number(score));
		h = jv_object_set(h, jv_string("classification"), jv_string(vc_score_class(score)));
	}
	ins = take(&h, jv_string("inds"));
	inds = jv_object_get(sc, jv_string("indicators"));
	if (jv_get_kind(inds) == JV_KIND_ARRAY) {
		jv_array_foreach(inds, i, ind) {
			jv k = jv_object_get(jv_copy(ind), jv_string("kind"));
			jv id = jv_object_get(jv_copy(ind), jv_string("id"));
			jv key = jv_string_fmt("%s:%s", jv_get_kind(k) == JV_KIND_STRING ? jv_string_value(k) : "",
			    jv_get_kind(id) == JV_KIND_STRING ? jv_string_value(id) : "");
			jv e = take(&ins, jv_copy(key));

			if (!jv_is_valid(e)) {
				jv_free(e);
				e = JV_OBJECT(jv_string("kind"), k, jv_string("id"), id,
				    jv_string("title"), jv_object_get(jv_copy(ind), jv_string("title")),
				    jv_string("weight"), jv_number(0), jv_string("rows"), jv_number(0));
			} else {
				jv_free(k);
				jv_free(id);
			}
			if (num(ind, "weight") > num(e, "weight"))
				e = jv_object_set(e, jv_string("weight"), jv_number(num(ind, "weight")));
			jv pv = jv_object_get(jv_copy(ind), jv_string("prevalence"));
			if (jv_is_valid(pv))
				e = jv_object_set(e, jv_string("prevalence"), pv);
			else
				jv_free(pv);
			e = jv_object_set(e, jv_string("rows"), jv_number(num(e, "rows") + 1));
			ins = jv_object_set(ins, key, e);
			jv_free(ind);
		}
	}
	jv_free(inds);
	h = jv_object_set(h, jv_string("inds"), ins);
	t->hosts = jv_object_set(t->hosts, host, h);
}

static int
top_row(vc_ctx *ctx, struct vc_jsonl *r, jv row, void *arg)
{
	jv sc = jv_object_get(jv_copy(row), jv_string("vc_score"));

	(void)r;
	if (jv_get_kind(sc) != JV_KIND_OBJECT) {
		jv_free(sc);
		jv_free(row);
		return vc_fail(ctx, VC_EINVAL, "a row without vc_score: give top vc-score's output"),
		    VC_JSONL_BAD;
	}
	vc_top_add(arg, vc_prev_host(row), sc);
	jv_free(row);
	return 0;
}

static int
by_weight(const void *a, const void *b)
{
	double x = num(*(const jv *)a, "weight"), y = num(*(const jv *)b, "weight");
	double rx = num(*(const jv *)a, "rows"), ry = num(*(const jv *)b, "rows");

	return x < y ? 1 : x > y ? -1 : rx < ry ? 1 : rx > ry ? -1 : 0;
}

static int
by_score(const void *a, const void *b)
{
	const jv *x = a, *y = b;
	double sx = num(*x, "score"), sy = num(*y, "score");
	double fx = num(*x, "flagged"), fy = num(*y, "flagged");
	jv hx, hy;
	int c;

	if (sx != sy)
		return sx < sy ? 1 : -1;
	if (fx != fy)
		return fx < fy ? 1 : -1;
	hx = jv_object_get(jv_copy(*x), jv_string("host"));
	hy = jv_object_get(jv_copy(*y), jv_string("host"));
	c = strcmp(jv_string_value(hx), jv_string_value(hy));
	jv_free(hx);
	jv_free(hy);
	return c;
}

/* An array of the members of object o (consumed). */
static jv *
members(jv o, int *n)
{
	jv *v;
	int i = 0;

	*n = jv_object_length(jv_copy(o));
	if ((v = calloc((size_t)(*n ? *n : 1), sizeof *v)) == NULL) {
		jv_free(o);
		return NULL;
	}
	jv_object_foreach(o, k, e) {
		jv_free(k);
		v[i++] = e;
	}
	jv_free(o);
	return v;
}

jv
vc_top_rank(struct vc_top *t, int64_t limit)
{
	jv *hs, res = jv_array();
	int n;

	hs = members(t->hosts, &n);
	t->hosts = jv_object();
	if (hs == NULL) {
		jv_free(res);
		return jv_invalid();
	}
	qsort(hs, (size_t)n, sizeof *hs, by_score);
	for (int i = 0; i < n; i++) {
		if (i < limit) {
			jv ins = jv_object_get(jv_copy(hs[i]), jv_string("inds")), list = jv_array(), *iv;
			int ni;

			if ((iv = members(ins, &ni)) != NULL) {
				qsort(iv, (size_t)ni, sizeof *iv, by_weight);
				for (int j = 0; j < ni; j++) {
					if (j < VC_TOP_INDICATORS)
						list = jv_array_append(list, iv[j]);
					else
						jv_free(iv[j]);
				}
				free(iv);
			}
			hs[i] = jv_object_delete(hs[i], jv_string("inds"));
			hs[i] = jv_object_set(hs[i], jv_string("top"), list);
			res = jv_array_append(res, hs[i]);
		} else
			jv_free(hs[i]);
	}
	free(hs);
	return res;
}

int
vc_op_top(vc_ctx *ctx, jv args, jv *out)
{
	struct vc_top *t;
	struct vc_jsonl_loop lp = { .mode = VC_JSONL_OBJECT, .fn = top_row };
	int64_t limit = vc_arg_int(args, "limit", 20);
	const char *by = vc_arg_str(args, "by");
	int rc;

	if (by != NULL && strcmp(by, "host") != 0)
		return vc_fail(ctx, VC_EUSAGE, "top ranks by host only");
	if (limit < 1 || limit > 100000)
		return vc_fail(ctx, VC_EUSAGE, "--limit takes 1 to 100000");
	if (ctx->in == NULL)
		return vc_fail(ctx, VC_EUSAGE, "no input: give top vc-score's output");
	if ((t = vc_top_new()) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	lp.arg = t;
	if ((rc = vc_jsonl_each(ctx, ctx->in, &lp)) == 0) {
		*out = vc_top_rank(t, limit);
		if (!jv_is_valid(*out))
			rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	vc_top_free(t);
	return rc;
}
