/* SPDX-License-Identifier: MIT */
/*
 * sigma.c - the Sigma evaluator's API: loading rule files into a set
 * (sigma_compile.c does one rule), matching events (sigma_match.c does
 * one rule, sigma_index.c picks the rules worth trying).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sigma/internal.h"

#define MAX_DIR_DEPTH 16
#define MAX_RULE_FILES 100000

static void
problem(jv *problems, const char *file, jv doc, const char *reason)
{
	jv id = jv_null(), title = jv_null();

	if (problems == NULL)
		return;
	if (jv_get_kind(doc) == JV_KIND_OBJECT) {
		jv x = jv_object_get(jv_copy(doc), jv_string("id"));

		if (jv_get_kind(x) == JV_KIND_STRING)
			id = x;
		else
			jv_free(x);
		x = jv_object_get(jv_copy(doc), jv_string("title"));
		if (jv_get_kind(x) == JV_KIND_STRING)
			title = x;
		else
			jv_free(x);
	}
	if (!jv_is_valid(*problems))
		*problems = jv_array();
	*problems = jv_array_append(*problems, JV_OBJECT(jv_string("file"), jv_string(file),
	    jv_string("rule_id"), id, jv_string("title"), title, jv_string("reason"), jv_string(reason)));
}

static struct vc_sigma_set *
set_new(vc_ctx *ctx, const struct vc_sigma_map *map)
{
	struct vc_sigma_set *set = calloc(1, sizeof *set);
	struct vc_sigma_map *own = NULL;
	char err[256];

	if (set == NULL) {
		vc_fail(ctx, VC_EINTERNAL, "out of memory");
		return NULL;
	}
	vc_sg_arena_init(&set->arena, NULL, 0);
	set->guard_ls = jv_invalid();
	set->use_index = 1;
	if (map == NULL) {
		if (vc_sigma_map_load(ctx, NULL, &own) != VC_EOK) {
			free(set);
			return NULL;
		}
		map = own;
	}
	set->map = jv_copy(map->doc);
	vc_sigma_map_free(own);
	if (vc_sg_guards_compile(set, err, sizeof err) < 0) {
		vc_fail(ctx, VC_EINTERNAL, "%s", err);
		vc_sigma_free(set);
		return NULL;
	}
	return set;
}

static int
add_rule(struct vc_sigma_set *set, struct vc_sg_rule *r)
{
	if (set->nrules == set->caprules) {
		int nc = set->caprules ? set->caprules * 2 : 256;
		struct vc_sg_rule **p = realloc(set->rules, sizeof *p * (size_t)nc);

		if (p == NULL)
			return -1;
		set->rules = p;
		set->caprules = nc;
	}
	set->rules[set->nrules++] = r;
	return 0;
}

/* Every document of one file's text; ids: the rule ids seen so far. */
static int
load_text(vc_ctx *ctx, struct vc_sigma_set *set, const char *name, const char *buf, size_t n,
    jv *problems, jv *ids)
{
	char err[512];
	jv docs;
	int nd;

	if (vc_sg_yaml_parse(buf, n, &docs, err, sizeof err) < 0) {
		problem(problems, name, jv_null(), err);
		return VC_EOK;
	}
	nd = jv_array_length(jv_copy(docs));
	if (nd == 0)
		problem(problems, name, jv_null(), "no YAML document");
	for (int i = 0; i < nd; i++) {
		jv doc = jv_array_get(jv_copy(docs), i);
		struct vc_sg_rule *r;

		if (vc_sg_compile_rule(set, doc, &r, err, sizeof err) < 0) {
			problem(problems, name, doc, err);
			jv_free(doc);
			if (strcmp(err, "out of memory") == 0) {
				jv_free(docs);
				return vc_fail(ctx, VC_EINTERNAL, "out of memory");
			}
			continue;
		}
		if (r->id != NULL) {
			jv seen = jv_object_get(jv_copy(*ids), jv_string(r->id));

			if (jv_is_valid(seen)) {
				snprintf(err, sizeof err, "duplicate rule id (first in %s)", jv_string_value(seen));
				problem(problems, name, doc, err);
				jv_free(seen);
				jv_free(doc);
				vc_sg_rule_free(r);
				continue;
			}
			*ids = jv_object_set(*ids, jv_string(r->id), jv_string(name));
		}
		jv_free(doc);
		if (add_rule(set, r) < 0) {
			vc_sg_rule_free(r);
			jv_free(docs);
			return vc_fail(ctx, VC_EINTERNAL, "out of memory");
		}
	}
	jv_free(docs);
	return VC_EOK;
}

static int
load_file(vc_ctx *ctx, struct vc_sigma_set *set, const char *path, jv *problems, jv *ids, int fatal)
{
	vc_ctx tmp;
	char *buf;
	size_t n;
	int rc;

	/* In a directory a bad file is a problem, not the end of loading. */
	vc_ctx_init(&tmp);
	rc = vc_sg_read_file(fatal ? ctx : &tmp, path, VC_SIGMA_MAX_FILE, &buf, &n);
	if (rc != VC_EOK) {
		if (!fatal)
			problem(problems, path, jv_null(), tmp.errmsg);
		vc_ctx_release(&tmp);
		return fatal ? rc : VC_EOK;
	}
	vc_ctx_release(&tmp);
	rc = load_text(ctx, set, path, buf, n, problems, ids);
	free(buf);
	return rc;
}

struct names {
	char **v;
	size_t n, cap;
};

static int
ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

static int
collect(vc_ctx *ctx, const char *dir, int depth, struct names *out)
{
	DIR *d;
	struct dirent *e;
	int rc = VC_EOK;

	if (depth > MAX_DIR_DEPTH)
		return vc_fail(ctx, VC_EINVAL, "%s: directories nested too deeply", dir);
	if ((d = opendir(dir)) == NULL)
		return vc_fail(ctx, errno == ENOENT ? VC_ENOTFOUND : VC_EINVAL, "%s: %s", dir, strerror(errno));
	while (rc == VC_EOK && (e = readdir(d)) != NULL) {
		struct stat st;
		size_t len;
		char *p;

		if (e->d_name[0] == '.')        /* ., .., and hidden files */
			continue;
		len = strlen(dir) + strlen(e->d_name) + 2;
		if ((p = malloc(len)) == NULL) {
			rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
			break;
		}
		snprintf(p, len, "%s/%s", dir, e->d_name);
		if (stat(p, &st) != 0) {
			free(p);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			rc = collect(ctx, p, depth + 1, out);
			free(p);
		} else if (S_ISREG(st.st_mode) && (ends_with(p, ".yml") || ends_with(p, ".yaml"))) {
			if (out->n == MAX_RULE_FILES) {
				free(p);
				rc = vc_fail(ctx, VC_ETOOBIG, "%s: more than %d rule files", dir, MAX_RULE_FILES);
			} else if (out->n == out->cap) {
				size_t nc = out->cap ? out->cap * 2 : 256;
				char **v = realloc(out->v, sizeof *v * nc);

				if (v == NULL) {
					free(p);
					rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
				} else {
					out->v = v;
					out->cap = nc;
				}
			}
			if (rc == VC_EOK)
				out->v[out->n++] = p;
		} else
			free(p);
	}
	closedir(d);
	return rc;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
finish(vc_ctx *ctx, struct vc_sigma_set *set, int rc, struct vc_sigma_set **out)
{
	jv_free(set->map);
	set->map = jv_invalid();
	if (rc == VC_EOK && vc_sg_index_build(set) < 0)
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
	if (rc != VC_EOK) {
		vc_sigma_free(set);
		return rc;
	}
	*out = set;
	return VC_EOK;
}

int
vc_sigma_load(vc_ctx *ctx, const char *path, const struct vc_sigma_map *map,
    struct vc_sigma_set **out, jv *problems)
{
	struct vc_sigma_set *set;
	struct stat st;
	jv ids = jv_object();
	int rc = VC_EOK;

	*out = NULL;
	if (stat(path, &st) != 0) {
		jv_free(ids);
		return vc_fail(ctx, errno == ENOENT ? VC_ENOTFOUND : VC_EINVAL, "%s: %s", path, strerror(errno));
	}
	if ((set = set_new(ctx, map)) == NULL) {
		jv_free(ids);
		return ctx->err ? ctx->err : VC_EINTERNAL;
	}
	if (problems != NULL && !jv_is_valid(*problems))
		*problems = jv_array();
	if (S_ISDIR(st.st_mode)) {
		struct names nm = { 0 };

		rc = collect(ctx, path, 0, &nm);
		if (rc == VC_EOK && nm.n > 0)   /* an empty directory: no array */
			qsort(nm.v, nm.n, sizeof *nm.v, cmp_names);
		for (size_t i = 0; i < nm.n && rc == VC_EOK; i++)
			rc = load_file(ctx, set, nm.v[i], problems, &ids, 0);
		for (size_t i = 0; i < nm.n; i++)
			free(nm.v[i]);
		free(nm.v);
	} else
		rc = load_file(ctx, set, path, problems, &ids, 1);
	jv_free(ids);
	return finish(ctx, set, rc, out);
}

int
vc_sigma_load_string(vc_ctx *ctx, const char *name, const char *yaml, size_t n,
    const struct vc_sigma_map *map, struct vc_sigma_set **out, jv *problems)
{
	struct vc_sigma_set *set;
	jv ids = jv_object();
	int rc;

	*out = NULL;
	if (n > VC_SIGMA_MAX_FILE) {
		jv_free(ids);
		return vc_fail(ctx, VC_ETOOBIG, "%s: larger than %d bytes", name, VC_SIGMA_MAX_FILE);
	}
	if ((set = set_new(ctx, map)) == NULL) {
		jv_free(ids);
		return ctx->err ? ctx->err : VC_EINTERNAL;
	}
	if (problems != NULL && !jv_is_valid(*problems))
		*problems = jv_array();
	rc = load_text(ctx, set, name, yaml, n, problems, &ids);
	jv_free(ids);
	return finish(ctx, set, rc, out);
}

int
vc_sigma_count(const struct vc_sigma_set *set)
{
	return set ? set->nrules : 0;
}

void
vc_sigma_free(struct vc_sigma_set *set)
{
	if (set == NULL)
		return;
	for (int i = 0; i < set->nrules; i++)
		vc_sg_rule_free(set->rules[i]);
	free(set->rules);
	vc_sg_index_free(set->index);
	free(set->always);
	free(set->always_bits);
	free(set->single_bits);
	vc_sg_fields_release(set);
	jv_free(set->guard_ls);
	jv_free(set->map);
	vc_sg_arena_free(&set->arena);
	free(set);
}

void
vc_sigma_set_index(struct vc_sigma_set *set, int on)
{
	set->use_index = on != 0;
}

void
vc_sigma_stats(const struct vc_sigma_set *set, struct vc_sigma_stats *st)
{
	memset(st, 0, sizeof *st);
	st->rules = set->nrules;
	st->always = set->nrules;
	if (set->index != NULL)
		vc_sg_index_stats(set->index, st);
}

/* The indicator of a matched rule, with its evidence. */
static jv
indicator(struct vc_sg_ev *ev, const struct vc_sg_rule *r)
{
	jv evd = jv_array();
	uint64_t seen[4] = { 0 };       /* fields already listed (the first 256) */

	for (int i = 0; i < ev->nevd; i++) {
		struct vc_sg_evd *e = &ev->evd[i];
		const char *name;

		if (e->field >= 0) {
			int dup = 0;

			if (e->field < 256) {
				dup = (seen[e->field / 64] >> (e->field % 64)) & 1;
				seen[e->field / 64] |= (uint64_t)1 << (e->field % 64);
			} else
				for (int j = 0; j < i && !dup; j++)
					dup = ev->evd[j].field == e->field;
			if (dup)
				continue;
			name = ev->set->fields[e->field].name;
		} else
			name = e->path;
		evd = jv_array_append(evd, JV_OBJECT(jv_string("field"), jv_string(name),
		    jv_string("value"), jv_copy(e->val)));
	}
	return jv_object_set(jv_copy(r->meta), jv_string("evidence"), evd);
}

/* Per-call scratch: on the stack for sets of ordinary size. */
struct scratch {
	struct vc_sg_slot slots_s[64], *slots;
	signed char guards_s[64], *guards;
	uint64_t bits_s[128], *bits;    /* two bit sets of nbits words */
	uint8_t rst_s[128], *rst;
	jv rval_s[128], *rval;
};

static void
scratch_free(struct scratch *sc)
{
	if (sc->slots != sc->slots_s)
		free(sc->slots);
	if (sc->guards != sc->guards_s)
		free(sc->guards);
	if (sc->bits != sc->bits_s)
		free(sc->bits);
	if (sc->rst != sc->rst_s)
		free(sc->rst);
	if (sc->rval != sc->rval_s)
		free(sc->rval);
}

static int
scratch_init(struct scratch *sc, const struct vc_sigma_set *set, size_t nbits)
{
	sc->slots = set->nfields > 64 ? malloc(sizeof *sc->slots * (size_t)set->nfields) : sc->slots_s;
	sc->guards = set->nguards > 64 ? malloc((size_t)set->nguards) : sc->guards_s;
	sc->bits = nbits > 64 ? malloc(sizeof *sc->bits * nbits * 2) : sc->bits_s;
	sc->rst = set->nroots > 128 ? malloc((size_t)set->nroots) : sc->rst_s;
	sc->rval = set->nroots > 128 ? malloc(sizeof *sc->rval * (size_t)set->nroots) : sc->rval_s;
	if (!sc->slots || !sc->guards || !sc->bits || !sc->rst || !sc->rval) {
		scratch_free(sc);
		return -1;
	}
	return 0;
}

int
vc_sigma_match(const struct vc_sigma_set *set, jv event, jv *hits)
{
	unsigned char arena[8192];
	struct scratch sc;
	size_t nbits = ((size_t)set->nrules + 63) / 64;
	struct vc_sg_ev ev;
	jv mine = jv_array();
	int found = 0, failed, use_index = set->use_index && set->index != NULL;

	if (scratch_init(&sc, set, nbits) < 0) {
		jv_free(mine);
		return -1;
	}
	vc_sg_ev_init(&ev, set, event, arena, sizeof arena, sc.slots, sc.guards, sc.rst, sc.rval);
	ev.collect = 1;
	if (use_index) {
		uint64_t *const two[2] = { sc.bits, sc.bits + nbits };

		memset(sc.bits, 0, sizeof *sc.bits * nbits * 2);
		vc_sg_index_scan(&ev, set->index, two);
	}
	for (size_t w = 0; w < nbits && !ev.oom; w++) {
		/* The rules to try, in rule order: those that must always be
		 * tried, and those whose clauses of literals all occur. */
		uint64_t word = !use_index ? ~(uint64_t)0 : set->always_bits[w] |
		    (sc.bits[w] & (sc.bits[nbits + w] | set->single_bits[w]));

		while (word != 0 && !ev.oom) {
			int i = (int)(w * 64) + __builtin_ctzll(word);

			word &= word - 1;
			if (i >= set->nrules)
				break;
			if (vc_sg_rule_eval(&ev, set->rules[i])) {
				mine = jv_array_append(mine, indicator(&ev, set->rules[i]));
				found++;
			}
		}
	}
	failed = ev.oom;
	vc_sg_ev_release(&ev);
	scratch_free(&sc);
	if (failed) {
		jv_free(mine);
		return -1;
	}
	if (found == 0) {
		jv_free(mine);
		if (!jv_is_valid(*hits))
			*hits = jv_array();
		return 0;
	}
	*hits = jv_is_valid(*hits) ? jv_array_concat(*hits, mine) : mine;
	return found;
}
