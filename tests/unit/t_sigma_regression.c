/* SPDX-License-Identifier: MIT */
/*
 * t_sigma_regression.c - the acceptance bar of the Sigma evaluator over
 * SigmaHQ's own data (rules/sigma in the repository):
 *   - every Windows rule of rules/ loads but those whose log source no
 *     mapping covers (listed with why);
 *   - each regression sample matches its rule at least
 *     min_expected_matches times;
 *   - and as many times from the .evtx beside it, read natively
 *     (json/evtx.h), which has the same number of events;
 *   - no rule fires on any event of benign_events.jsonl;
 *   - the prefilter index changes nothing: every sample and benign event
 *     gives the same hits with the index on and off.
 * A missing data directory is a failure, not a skip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json/jsonl.h"
#include "sigma/sigma.h"
#include "tap.h"

#define DATA "rules/sigma"

static char *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len = 0, r;

	if (f == NULL)
		return NULL;
	do {
		if (cap - len < 65536) {
			char *nb = realloc(buf, cap + 65536 + 1);

			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		r = fread(buf + len, 1, cap - len, f);
		len += r;
	} while (r > 0);
	fclose(f);
	buf[len] = '\0';
	*n = len;
	return buf;
}

/* Every JSON value of a text of values back to back (not JSONL). */
static jv
values(const char *buf, size_t n)
{
	jv_parser *p = jv_parser_new(0);
	jv out = jv_array(), v;

	jv_parser_set_buf(p, buf, (int)n, 0);
	while (jv_is_valid(v = jv_parser_next(p)))
		out = jv_array_append(out, v);
	if (jv_invalid_has_msg(jv_copy(v))) {
		jv_free(out);
		out = v;
	} else
		jv_free(v);
	jv_parser_free(p);
	return out;
}

static int
count_id(jv hits, const char *id)
{
	int n = 0;

	for (int i = 0, len = jv_array_length(jv_copy(hits)); i < len; i++) {
		jv h = jv_array_get(jv_copy(hits), i);
		jv x = jv_object_get(h, jv_string("id"));

		n += jv_get_kind(x) == JV_KIND_STRING && strcmp(jv_string_value(x), id) == 0;
		jv_free(x);
	}
	return n;
}

/* Hits with the index and without must be the same, in the same order. */
static int
same_both_ways(struct vc_sigma_set *set, jv ev, jv *with)
{
	jv without = jv_invalid();
	int same;

	*with = jv_invalid();
	vc_sigma_set_index(set, 1);
	vc_sigma_match(set, ev, with);
	vc_sigma_set_index(set, 0);
	vc_sigma_match(set, ev, &without);
	vc_sigma_set_index(set, 1);
	same = jv_equal(jv_copy(*with), without);
	return same;
}

static struct vc_sigma_set *set;
static vc_ctx ctx;

/* The events of the .evtx beside a .json sample path (read with
 * vc_jsonl_open) and how many the rule id matches; -1 unreadable. */
static int
evtx_hits(const char *json_path, const char *id, int *got, int *same_all)
{
	char p[1024];
	size_t l = strlen(json_path);
	struct vc_jsonl r;
	jv ev;
	int n = 0, rc;

	if (l < 5 || l + 1 > sizeof p)
		return -1;
	memcpy(p, json_path, l - 5);
	memcpy(p + l - 5, ".evtx", 6);
	if (vc_jsonl_open(&ctx, &r, p) != 0) {
		printf("# %s: %s\n", p, ctx.errmsg);
		return -1;
	}
	while ((rc = vc_jsonl_next(&ctx, &r, &ev)) != 0) {
		jv hits;

		if (rc < 0) {
			printf("# %s\n", ctx.errmsg);
			n = -1;
			break;
		}
		if (!same_both_ways(set, ev, &hits))
			*same_all = 0;
		*got += count_id(hits, id);
		jv_free(hits);
		jv_free(ev);
		n++;
	}
	vc_jsonl_release(&r);
	return n;
}

int
main(void)
{
	struct stat st;
	jv problems = jv_invalid();
	char *idx, *benign;
	size_t n;
	int rc, same_all = 1, samples = 0, samples_ok = 0, evtx_ok = 0;

	vc_ctx_init(&ctx);
	if (stat(DATA "/rules/windows/registry", &st) != 0 || !S_ISDIR(st.st_mode)) {
		ok(0, "the Sigma data directory %s/rules exists (run from the project root "
		    "in the repository)", DATA);
		return done_testing();
	}

	/* Every Windows rule: those whose log source no mapping covers are
	 * the only ones skipped (file_access and file_rename need the
	 * Kernel-File ETW provider, which no event log carries). */
	rc = vc_sigma_load(&ctx, DATA "/rules/windows", NULL, &set, &problems);
	is_int(rc, VC_EOK, "load %s/rules/windows: %s", DATA, rc ? ctx.errmsg : "ok");
	if (rc != VC_EOK)
		return done_testing();
	int unmapped = 0;
	for (int i = 0, len = jv_array_length(jv_copy(problems)); i < len; i++) {
		jv p = jv_array_get(jv_copy(problems), i);
		jv r = jv_object_get(jv_copy(p), jv_string("reason"));
		jv s = jv_dump_string(p, 0);

		printf("# skipped: %s\n", jv_string_value(s));
		unmapped += jv_get_kind(r) == JV_KIND_STRING &&
		    strstr(jv_string_value(r), "no mapping covers it") != NULL &&
		    (strstr(jv_string_value(r), "file_access") || strstr(jv_string_value(r), "file_rename"));
		jv_free(r);
		jv_free(s);
	}
	is_int(jv_array_length(jv_copy(problems)), 8, "8 rules are skipped");
	is_int(unmapped, 8, "... each for its log source (file_access, file_rename), which no mapping covers");
	is_int(vc_sigma_count(set), 1151 + 1209 - 8, "all other Windows rules are loaded");
	struct vc_sigma_stats stt;
	vc_sigma_stats(set, &stt);
	printf("# index: %d rules, %d indexed, %d always, %d fields, %d literals, %ld states\n",
	    stt.rules, stt.indexed, stt.always, stt.fields_indexed, stt.literals, stt.states);

	static const struct { const char *file; int n; } indexes[] = {
		{ "regression_index.jsonl", 98 },
		{ "regression_index_windows.jsonl", 47 },
	};
	for (size_t x = 0; x < sizeof indexes / sizeof indexes[0]; x++) {
	char ipath[256];

	samples = samples_ok = evtx_ok = 0;
	snprintf(ipath, sizeof ipath, "%s/%s", DATA, indexes[x].file);
	idx = slurp(ipath, &n);
	ok(idx != NULL, "read %s", indexes[x].file);
	for (char *line = idx, *nl; idx != NULL && *line; line = nl ? nl + 1 : line + strlen(line)) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (*line == '\0')
			continue;
		jv rec = jv_parse(line);
		jv id = jv_object_get(jv_copy(rec), jv_string("rule_id"));
		jv sample = jv_object_get(jv_copy(rec), jv_string("sample"));
		jv minx = jv_object_get(jv_copy(rec), jv_string("min_expected_matches"));
		char path[1024];
		size_t sn;
		char *text;
		int want = jv_get_kind(minx) == JV_KIND_NUMBER ? (int)jv_number_value(minx) : 1;
		int got = 0;

		samples++;
		snprintf(path, sizeof path, "%s/%s", DATA, jv_string_value(sample));
		text = slurp(path, &sn);
		if (text == NULL) {
			ok(0, "read %s", path);
		} else {
			jv evs = values(text, sn);

			if (!jv_is_valid(evs)) {
				jv m = jv_invalid_get_msg(evs);
				ok(0, "parse %s: %s", path, jv_string_value(m));
				jv_free(m);
			} else {
				for (int i = 0, len = jv_array_length(jv_copy(evs)); i < len; i++) {
					jv ev = jv_array_get(jv_copy(evs), i), hits;

					if (!same_both_ways(set, ev, &hits)) {
						same_all = 0;
						printf("# index changes hits on %s event %d\n", path, i);
					}
					got += count_id(hits, jv_string_value(id));
					jv_free(hits);
					jv_free(ev);
				}
				int njson = jv_array_length(evs);

				ok(got >= want, "%s matches its sample %d times (want >= %d)",
				    jv_string_value(id), got, want);
				samples_ok += got >= want;
				/* The same events from the .evtx beside it, through
				 * the reader every tool uses. */
				int egot = 0, nev = evtx_hits(path, jv_string_value(id), &egot, &same_all);

				is_int(nev, njson, "%s: the .evtx has the %d events of the .json", path, njson);
				ok(egot >= want, "%s matches its .evtx %d times (want >= %d)",
				    jv_string_value(id), egot, want);
				evtx_ok += egot >= want;
			}
			free(text);
		}
		jv_free(rec);
		jv_free(id);
		jv_free(sample);
		jv_free(minx);
	}
	free(idx);
	printf("# samples: %d of %d match their rule (%d from EVTX)\n", samples_ok, samples, evtx_ok);
	is_int(samples, indexes[x].n, "%d samples in %s", indexes[x].n, indexes[x].file);
	}

	/* Benign events: no rule may fire. */
	benign = slurp(DATA "/benign_events.jsonl", &n);
	ok(benign != NULL, "read benign_events.jsonl");
	int nb = 0;
	for (char *line = benign, *nl; benign != NULL && *line; line = nl ? nl + 1 : line + strlen(line)) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (*line == '\0')
			continue;
		jv ev = jv_parse(line), hits;
		char fired[2048] = "";

		nb++;
		if (!same_both_ways(set, ev, &hits)) {
			same_all = 0;
			printf("# index changes hits on benign event %d\n", nb);
		}
		for (int i = 0, len = jv_array_length(jv_copy(hits)); i < len; i++) {
			jv h = jv_array_get(jv_copy(hits), i);
			jv t = jv_dump_string(h, 0);

			printf("# fired: %s\n", jv_string_value(t));
			strncat(fired, " ", sizeof fired - strlen(fired) - 1);
			jv x = jv_parse(jv_string_value(t));
			jv rid = jv_object_get(x, jv_string("id"));
			strncat(fired, jv_get_kind(rid) == JV_KIND_STRING ? jv_string_value(rid) : "?",
			    sizeof fired - strlen(fired) - 1);
			jv_free(rid);
			jv_free(t);
		}
		ok(jv_array_length(jv_copy(hits)) == 0, "benign event %d: no rule fires%s%s", nb,
		    fired[0] ? "; fired:" : "", fired);
		jv_free(hits);
		jv_free(ev);
	}
	free(benign);
	is_int(nb, 20, "20 benign events");
	ok(same_all, "the index changes no result");

	jv_free(problems);
	vc_sigma_free(set);
	vc_ctx_release(&ctx);
	return done_testing();
}
