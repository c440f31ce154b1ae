/* SPDX-License-Identifier: MIT */
/*
 * prevalence.c - how many hosts a detection is on, and what that does to
 * its weight (see signals.h).  A detection on a large share of the hosts
 * of a hunt is most likely the fleet's normal (an administrative script,
 * a monitoring agent), so its weight is cut and it alone cannot make a
 * row high; one on very few hosts is marked rare and keeps its weight.
 */
#include <stdlib.h>
#include <string.h>

#include "score/score.h"
#include "score/signals.h"

struct vc_prev {
	double common, rare;
	jv hosts;               /* host -> true */
	jv ind;                 /* indicator key -> {host: true} */
};

struct vc_prev *
vc_prev_new(double common, double rare)
{
	struct vc_prev *p = calloc(1, sizeof *p);

	if (p == NULL)
		return NULL;
	p->common = common;
	p->rare = rare;
	p->hosts = jv_object();
	p->ind = jv_object();
	return p;
}

void
vc_prev_free(struct vc_prev *p)
{
	if (p == NULL)
		return;
	jv_free(p->hosts);
	jv_free(p->ind);
	free(p);
}

/* The row's host (a string). */
jv
vc_prev_host(jv row)
{
	static const char *const paths[][3] = {
		{ "ClientId" }, { "Fqdn" }, { "Hostname" }, { "Computer" },
		{ "System", "Computer" }, { "Event", "System", "Computer" },
	};

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		jv v = jv_copy(row);

		for (int k = 0; k < 3 && paths[i][k] != NULL && jv_get_kind(v) == JV_KIND_OBJECT; k++)
			v = jv_object_get(v, jv_string(paths[i][k]));
		if (jv_get_kind(v) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(v)) > 0)
			return v;
		jv_free(v);
	}
	return jv_string("(unknown)");
}

/* The key of an indicator that prevalence weighs, or invalid. */
static jv
ind_key(jv h)
{
	jv k = jv_object_get(jv_copy(h), jv_string("kind"));
	jv id = jv_object_get(jv_copy(h), jv_string("id"));
	jv key = jv_invalid();

	if (jv_get_kind(id) != JV_KIND_STRING) {
		jv_free(id);
		id = jv_object_get(jv_copy(h), jv_string("title"));
	}
	if (jv_get_kind(k) == JV_KIND_STRING && strcmp(jv_string_value(k), "rarity") != 0 &&
	    strcmp(jv_string_value(k), "model") != 0 && jv_get_kind(id) == JV_KIND_STRING)
		key = jv_string_fmt("%s:%s", jv_string_value(k), jv_string_value(id));
	jv_free(k);
	jv_free(id);
	return key;
}

int
vc_prev_add(struct vc_prev *p, jv row, jv score)
{
	jv host = vc_prev_host(row);
	jv inds = jv_object_get(jv_copy(score), jv_string("indicators"));

	p->hosts = jv_object_set(p->hosts, jv_copy(host), jv_true());
	if (jv_get_kind(inds) == JV_KIND_ARRAY) {
		jv_array_foreach(inds, i, h) {
			jv key = ind_key(h);

			jv_free(h);
			if (!jv_is_valid(key)) {
				jv_free(key);
				continue;
			}
			/* Taken out and put back, so that the set is changed in place. */
			jv set = jv_object_get(jv_copy(p->ind), jv_copy(key));
			if (!jv_is_valid(set)) {
				jv_free(set);
				set = jv_object();
			} else
				p->ind = jv_object_set(p->ind, jv_copy(key), jv_null());
			set = jv_object_set(set, jv_copy(host), jv_true());
			p->ind = jv_object_set(p->ind, key, set);
		}
	}
	jv_free(inds);
	jv_free(host);
	return jv_is_valid(p->ind) && jv_is_valid(p->hosts) ? 0 : -1;
}

/* Member k of o as a number, -1 when it is not one. */
static double
num_of(jv o, const char *k)
{
	jv v = jv_object_get(jv_copy(o), jv_string(k));
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;

	jv_free(v);
	return d;
}

static double
round4(double x)
{
	return (double)(long long)(x * 10000 + 0.5) / 10000;
}

jv
vc_prev_apply(const struct vc_prev *p, jv score)
{
	jv inds = jv_object_get(jv_copy(score), jv_string("indicators")), out = jv_array();
	int of = jv_object_length(jv_copy(p->hosts)), n = 0, common = 0;
	double keep = 1, s;

	if (jv_get_kind(inds) != JV_KIND_ARRAY) {
		jv_free(inds);
		jv_free(out);
		return score;
	}
	jv_array_foreach(inds, i, h) {
		jv key = ind_key(h), w = jv_object_get(jv_copy(h), jv_string("weight"));
		double wt = jv_get_kind(w) == JV_KIND_NUMBER ? jv_number_value(w) : 0;

		jv_free(w);
		n++;
		if (jv_is_valid(key)) {
			jv set = jv_object_get(jv_copy(p->ind), key);
			int hosts = jv_get_kind(set) == JV_KIND_OBJECT ? jv_object_length(set) : (jv_free(set), 0);
			jv pv = JV_OBJECT(jv_string("hosts"), jv_number(hosts), jv_string("of"), jv_number(of));

			if (of >= VC_PREV_MIN_HOSTS && (double)hosts >= p->common * of) {
				pv = jv_object_set(pv, jv_string("mark"), jv_string("common"));
				h = jv_object_set(h, jv_string("weight_before"), jv_number(wt));
				wt = round4(wt * VC_PREV_COMMON_FACTOR);
				h = jv_object_set(h, jv_string("weight"), jv_number(wt));
				common++;
			} else if (of >= VC_PREV_MIN_HOSTS && hosts <= (p->rare * of > 1 ? p->rare * of : 1)) {
				pv = jv_object_set(pv, jv_string("mark"), jv_string("rare"));
			}
			h = jv_object_set(h, jv_string("prevalence"), pv);
		} else
			jv_free(key);
		keep *= 1 - (wt < 0 ? 0 : wt > 0.99 ? 0.99 : wt);
		out = jv_array_append(out, h);
	}
	jv_free(inds);
	s = round4(1 - keep);
	/* Common detections alone: medium at most. */
	if (n > 0 && common == n && s > VC_PREV_COMMON_CAP)
		s = VC_PREV_COMMON_CAP;
	score = jv_object_set(score, jv_string("indicators"), out);
	score = jv_object_set(score, jv_string("score"), jv_number(s));
	return jv_object_set(score, jv_string("classification"), jv_string(vc_score_class(s)));
}

/* One indicator's line of an explanation. */
static jv
explain_ind(jv h, double *keep)
{
	jv k = jv_object_get(jv_copy(h), jv_string("kind")), t = jv_object_get(jv_copy(h), jv_string("title"));
	jv pv = jv_object_get(jv_copy(h), jv_string("prevalence")), mark = jv_invalid(), line;
	double w = num_of(h, "weight"), wb = num_of(h, "weight_before");

	*keep *= 1 - (w < 0 ? 0 : w > 0.99 ? 0.99 : w);
	line = jv_string_fmt("%s \"%s\": weight %g", jv_get_kind(k) == JV_KIND_STRING ? jv_string_value(k) : "?",
	    jv_get_kind(t) == JV_KIND_STRING ? jv_string_value(t) : "?", w);
	if (jv_get_kind(pv) == JV_KIND_OBJECT) {
		mark = jv_object_get(jv_copy(pv), jv_string("mark"));
		if (wb >= 0)
			line = jv_string_concat(line, jv_string_fmt(" (%g before prevalence)", wb));
		line = jv_string_concat(line, jv_string_fmt("; on %g of %g hosts%s%s", num_of(pv, "hosts"),
		    num_of(pv, "of"), jv_get_kind(mark) == JV_KIND_STRING ? ": " : "",
		    jv_get_kind(mark) == JV_KIND_STRING ? jv_string_value(mark) : ""));
	}
	jv_free(mark);
	jv_free(pv);
	jv_free(k);
	jv_free(t);
	return line;
}

jv
vc_score_explain(jv score)
{
	jv inds = jv_object_get(jv_copy(score), jv_string("indicators")), lines = jv_array(), f;
	double keep = 1, s = num_of(score, "score");
	int n = 0;

	if (jv_get_kind(inds) == JV_KIND_ARRAY) {
		jv_array_foreach(inds, i, h) {
			lines = jv_array_append(lines, explain_ind(h, &keep));
			jv_free(h);
			n++;
		}
	}
	jv_free(inds);
	f = jv_string(n == 0 ? "no indicator: score 0" : "score = 1 - the product of (1 - weight)");
	if (n > 0)
		f = jv_string_concat(f, jv_string_fmt(" = %.4f", round4(1 - keep)));
	if (n > 0 && s < round4(1 - keep) - 0.00005)
		f = jv_string_concat(f, jv_string_fmt(", held at %.4f: every indicator is common", s));
	jv c = jv_object_get(jv_copy(score), jv_string("classification"));
	f = jv_string_concat(f, jv_string_fmt(": %s", jv_get_kind(c) == JV_KIND_STRING ? jv_string_value(c) : "?"));
	jv_free(c);
	lines = jv_array_append(lines, f);
	return jv_object_set(score, jv_string("explain"), lines);
}
