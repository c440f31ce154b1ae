/* SPDX-License-Identifier: MIT */
/*
 * score.c - vc-score: every row gets a score in [0,1] from independent
 * signals, explained by its indicators.
 *
 * The model.  Each indicator i carries a weight w_i in (0,1): a Sigma
 * rule by its level, an IOC by its severity, a heuristic by its table, a
 * rarity or model indicator by how far the row stands out.  The signals
 * are taken as independent evidence, so
 *
 *	score = 1 - prod_i (1 - w_i)                 (noisy-OR)
 *
 * and removing any indicator lowers the score: the score is explained by
 * its indicators alone.  Confidence says how much the kinds of evidence
 * can be trusted: 1 - prod over the kinds present of (1 - c_kind), with
 * c = ioc 0.9, sigma 0.8, heuristic 0.6, rarity 0.4, model 0.3; a row
 * without indicators gets 1 - prod over the signals that looked at it of
 * (1 - c/2) ("we looked, found nothing").  Classification: benign < 0.2
 * <= low < 0.4 <= medium < 0.6 <= high < 0.8 <= critical.
 *
 * Rows pass through unchanged, byte for byte, with "vc_score" added.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/events.h"
#include "score/ioc.h"
#include "json/jdump.h"
#include "json/jscan.h"
#include "json/jsonl.h"
#include "score/score.h"
#include "sigma/sigma.h"
#include "score/signals.h"
#include "core/store.h"
#include "core/records.h"
#include "core/audit.h"

#define MAX_RULE_SETS 16

static const char *const classes[] = { "benign", "low", "medium", "high", "critical" };

const char *
vc_score_class(double s)
{
	return s < 0.2 ? classes[0] : s < 0.4 ? classes[1] : s < 0.6 ? classes[2] :
	    s < 0.8 ? classes[3] : classes[4];
}

int
vc_score_level(const char *name)
{
	for (int i = 0; i < 5; i++)
		if (strcmp(name, classes[i]) == 0)
			return i;
	return -1;
}

static double
level_weight(const char *kind, const char *level)
{
	if (strcmp(kind, "ioc") == 0)
		return !strcmp(level, "critical") ? 0.95 : !strcmp(level, "high") ? 0.8 :
		    !strcmp(level, "medium") ? 0.5 : 0.3;
	return !strcmp(level, "critical") ? 0.9 : !strcmp(level, "high") ? 0.75 :
	    !strcmp(level, "medium") ? 0.5 : !strcmp(level, "low") ? 0.3 : 0.1;
}

static double
kind_confidence(const char *kind)
{
	return !strcmp(kind, "ioc") ? 0.9 : !strcmp(kind, "sigma") ? 0.8 :
	    !strcmp(kind, "heuristic") ? 0.6 : !strcmp(kind, "rarity") ? 0.4 : 0.3;
}

static double
round4(double x)
{
	return floor(x * 10000 + 0.5) / 10000;
}

/*
 * Give each indicator its weight (from its level when it has none) and
 * make the vc_score object.  evaluated: the kinds that looked at the row.
 * Consumes hits.
 */
jv
vc_score_combine(jv hits, const char *const *evaluated, int nevaluated)
{
	double keep = 1, unsure = 1;
	int kinds_seen[8] = { 0 };
	static const char *const kinds[] = { "ioc", "sigma", "heuristic", "rarity", "model" };
	jv out = jv_array(), res;
	int n = 0;

	jv_array_foreach(hits, i, h) {
		jv k = jv_object_get(jv_copy(h), jv_string("kind"));
		jv w = jv_object_get(jv_copy(h), jv_string("weight"));
		const char *kind = jv_get_kind(k) == JV_KIND_STRING ? jv_string_value(k) : "heuristic";
		double wt;

		if (jv_get_kind(w) == JV_KIND_NUMBER)
			wt = jv_number_value(w);
		else {
			jv l = jv_object_get(jv_copy(h), jv_string("level"));
			wt = level_weight(kind, jv_get_kind(l) == JV_KIND_STRING ? jv_string_value(l) : "");
			jv_free(l);
			h = jv_object_set(h, jv_string("weight"), jv_number(wt));
		}
		if (wt < 0)
			wt = 0;
		if (wt > 0.99)
			wt = 0.99;
		keep *= 1 - wt;
		for (int j = 0; j < 5; j++)
			if (strcmp(kind, kinds[j]) == 0 && !kinds_seen[j]) {
				kinds_seen[j] = 1;
				unsure *= 1 - kind_confidence(kinds[j]);
			}
		out = jv_array_append(out, h);
		n++;
		jv_free(k);
		jv_free(w);
	}
	jv_free(hits);
	if (n == 0) {
		for (int j = 0; j < nevaluated; j++)
			unsure *= 1 - kind_confidence(evaluated[j]) / 2;
	}
	/* Classify the score as shown, so the thresholds hold for the printed number. */
	res = JV_OBJECT(jv_string("score"), jv_number(round4(1 - keep)),
	    jv_string("confidence"), jv_number(round4(1 - unsure)),
	    jv_string("classification"), jv_string(vc_score_class(round4(1 - keep))),
	    jv_string("indicators"), out);
	return res;
}

/* ---- the scorer --------------------------------------------------------- */

struct vc_scorer {
	struct vc_sigma_set *sigma[MAX_RULE_SETS];
	int sigma_cached[MAX_RULE_SETS];    /* borrowed from the process cache */
	int nsigma;
	struct vc_ioc_set *iocs;
	struct vc_stack *stack;
	size_t stack_max_hosts;
	const char *evaluated[5];
	int nevaluated;
};

void
vc_scorer_free(struct vc_scorer *sc)
{
	if (sc == NULL)
		return;
	for (int i = 0; i < sc->nsigma; i++)
		if (!sc->sigma_cached[i])
			vc_sigma_free(sc->sigma[i]);
	vc_ioc_free(sc->iocs);
	vc_stack_free(sc->stack);
	free(sc);
}

/*
 * Compiled rule sets, kept for the life of the process: vc-serve scores
 * request after request with the same $VC_RULES, and compiling 1151
 * rules costs 0.1 s and 90 MiB each time.  Sets are read-only once
 * loaded (sigma.h), so workers share them.  A changed rule directory is
 * seen after a restart.
 */
#define RULE_CACHE 16
static struct {
	char *key;              /* rules path \x1f map path */
	struct vc_sigma_set *set;
} rule_cache[RULE_CACHE];
static pthread_mutex_t rule_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static int
load_rules(vc_ctx *ctx, const char *path, const char *mapf, struct vc_sigma_map **map,
    jv *problems, struct vc_sigma_set **out, int *cached)
{
	char key[8192];
	int rc = 0, i;

	snprintf(key, sizeof key, "%s\x1f%s", path, mapf ? mapf : "");
	pthread_mutex_lock(&rule_cache_lock);
	for (i = 0; i < RULE_CACHE && rule_cache[i].key != NULL; i++)
		if (strcmp(rule_cache[i].key, key) == 0) {
			*out = rule_cache[i].set;
			*cached = 1;
			pthread_mutex_unlock(&rule_cache_lock);
			return 0;
		}
	/* Loaded under the lock: two workers never compile the same rules twice. */
	if (*map == NULL)
		rc = vc_sigma_map_load(ctx, mapf, map);
	if (rc == 0)
		rc = vc_sigma_load(ctx, path, *map, out, problems);
	*cached = 0;
	if (rc == 0 && i < RULE_CACHE && (rule_cache[i].key = strdup(key)) != NULL) {
		rule_cache[i].set = *out;
		*cached = 1;
	}
	pthread_mutex_unlock(&rule_cache_lock);
	return rc;
}

/*
 * The default rule set: the SigmaHQ rules shipped in rules/sigma (see its
 * README), found from the running binary, so that nothing depends on the
 * current directory: in the checkout it was built in (bin/, build/tests/,
 * build/asan/tests/: a parent holding schema.sql and rules/sigma), else
 * as installed, BINDIR/../share/velocicompanion/sigma.  Returns 0 with
 * the directory in buf, or VC_ECONFIG naming where it looked.
 */
#define DEFAULT_RULES "rules/windows"

int
vc_score_default_rules(vc_ctx *ctx, char *buf, size_t n)
{
	char self[4096], exe[4096], probe[4200], *slash;
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);

	if (len <= 0)
		return vc_fail(ctx, VC_ECONFIG, "cannot find the default Sigma rules: "
		    "/proc/self/exe is unreadable; name them with --rules");
	self[len] = '\0';
	memcpy(exe, self, (size_t)len + 1);
	for (int up = 0; up < 4 && (slash = strrchr(exe, '/')) != NULL; up++) {
		*slash = '\0';
		snprintf(probe, sizeof probe, "%s/schema.sql", exe);
		if (access(probe, R_OK) != 0)
			continue;
		snprintf(probe, sizeof probe, "%s/rules/sigma/" DEFAULT_RULES, exe);
		if (access(probe, R_OK | X_OK) == 0) {
			snprintf(buf, n, "%s", probe);
			return 0;
		}
	}
	memcpy(exe, self, (size_t)len + 1);
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	snprintf(probe, sizeof probe, "%s/../share/velocicompanion/sigma/" DEFAULT_RULES, exe);
	if (access(probe, R_OK | X_OK) == 0) {
		snprintf(buf, n, "%s", probe);
		return 0;
	}
	return vc_fail(ctx, VC_ECONFIG, "the default Sigma rules are not installed (looked in "
	    "%.300s); name rules with --rules, or --rules none", probe);
}

/*
 * The rule paths of one run, each {path, origin}: args "rules" (one or
 * several), else $VC_RULES (paths separated by ':'), else the default set.
 * Either list replaces the default; the word "default" in it stands for
 * the default set and "none" alone means no Sigma rules.
 */
static int
rule_paths(vc_ctx *ctx, jv args, jv *out)
{
	jv rules = jv_object_get(jv_copy(args), jv_string("rules"));
	const char *env = getenv("VC_RULES"), *origin = "--rules";
	char buf[4096];
	int rc = 0;

	*out = jv_array();
	if (jv_get_kind(rules) == JV_KIND_STRING)
		rules = JV_ARRAY(rules);
	if (jv_get_kind(rules) != JV_KIND_ARRAY && env != NULL && *env != '\0') {
		jv_free(rules);
		rules = jv_array();
		origin = "$VC_RULES";
		snprintf(buf, sizeof buf, "%s", env);
		for (char *p = buf, *c; p != NULL; p = c) {
			if ((c = strchr(p, ':')) != NULL)
				*c++ = '\0';
			if (*p)
				rules = jv_array_append(rules, jv_string(p));
		}
	}
	if (jv_get_kind(rules) != JV_KIND_ARRAY || jv_array_length(jv_copy(rules)) == 0) {
		jv_free(rules);
		rules = JV_ARRAY(jv_string("default"));
		origin = "default";
	}
	jv_array_foreach(rules, i, r) {
		const char *p = jv_string_value(r), *o = origin;
		if (rc == 0 && strcmp(p, "none") == 0) {
			if (jv_array_length(jv_copy(rules)) > 1)
				rc = vc_fail(ctx, VC_EUSAGE, "--rules none goes alone");
		} else if (rc == 0 && strcmp(p, "default") == 0) {
			if ((rc = vc_score_default_rules(ctx, buf, sizeof buf)) == 0)
				*out = jv_array_append(*out, JV_OBJECT(jv_string("path"), jv_string(buf),
				    jv_string("origin"), jv_string("default")));
		} else if (rc == 0) {
			*out = jv_array_append(*out, JV_OBJECT(jv_string("path"), jv_string(p),
			    jv_string("origin"), jv_string(o)));
		}
		jv_free(r);
	}
	jv_free(rules);
	if (rc == 0 && jv_array_length(jv_copy(*out)) > MAX_RULE_SETS)
		rc = vc_fail(ctx, VC_EUSAGE, "at most %d rule paths", MAX_RULE_SETS);
	if (rc != 0) {
		jv_free(*out);
		*out = jv_invalid();
	}
	return rc;
}

/* Rules as rule_paths says; a map from args "map"; the tenant's IOCs. */
int
vc_scorer_new(vc_ctx *ctx, jv args, struct vc_scorer **out)
{
	struct vc_scorer *sc = calloc(1, sizeof *sc);
	struct vc_sigma_map *map = NULL;
	jv rules, problems = jv_invalid();
	const char *mapf = vc_arg_str(args, "map");
	int rc = 0;

	*out = NULL;
	if (sc == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	if ((rc = rule_paths(ctx, args, &rules)) != 0) {
		vc_scorer_free(sc);
		return rc;
	}
	if (jv_array_length(jv_copy(rules)) > 0) {
		jv_array_foreach(rules, i, r) {
			jv path = jv_object_get(r, jv_string("path"));
			if (rc == 0) {
				rc = load_rules(ctx, jv_string_value(path), mapf, &map, &problems,
				    &sc->sigma[sc->nsigma], &sc->sigma_cached[sc->nsigma]);
				if (rc == 0)
					sc->nsigma++;
			}
			jv_free(path);
		}
		vc_sigma_map_free(map);
		if (rc != 0)
			goto fail;
		sc->evaluated[sc->nevaluated++] = "sigma";
	}
	jv_free(problems);
	jv_free(rules);
	rules = jv_invalid();
	{
		/* The tenant's IOCs, and the feeds of --iocs FILE for this run. */
		jv files = jv_object_get(jv_copy(args), jv_string("iocs"));
		if (jv_get_kind(files) == JV_KIND_STRING)
			files = JV_ARRAY(files);
		if ((rc = vc_ioc_load(ctx, files, &sc->iocs)) != 0)
			goto fail;
		if (vc_ioc_count(sc->iocs) > 0)
			sc->evaluated[sc->nevaluated++] = "ioc";
	}
	sc->evaluated[sc->nevaluated++] = "heuristic";
	*out = sc;
	return 0;
fail:
	jv_free(rules);
	vc_scorer_free(sc);
	return rc;
}

/* Every signal on one row (borrowed); returns the vc_score object. */
jv
vc_scorer_row(struct vc_scorer *sc, jv row, const char *default_host)
{
	jv hits = jv_array();

	for (int i = 0; i < sc->nsigma; i++)
		vc_sigma_match(sc->sigma[i], row, &hits);
	if (sc->iocs != NULL)
		vc_ioc_match(sc->iocs, row, &hits);
	vc_heuristics(row, &hits);
	if (sc->stack != NULL)
		vc_stack_rarity(sc->stack, row, default_host, sc->stack_max_hosts, 0, &hits);
	return vc_score_combine(hits, sc->evaluated, sc->nevaluated);
}

/* ---- the filter ----------------------------------------------------------- */

/* Write raw with "vc_score" added, keeping the row's own bytes. */
static int
emit_scored(vc_ctx *ctx, const char *raw, size_t n, jv row, jv score, jv *collect)
{
	jv has = jv_object_get(jv_copy(row), jv_string("vc_score"));
	int rescored = jv_is_valid(has), rc;
	size_t end = n, start = 0;

	jv_free(has);
	while (end > 0 && raw[end - 1] != '}')
		end--;
	/* The line may start with blanks: "  {}" is an empty object too. */
	while (start < end && raw[start] != '{')
		start++;
	if (rescored || end == 0 || start >= end) {
		/* Scored before: replace the old score rather than repeat the key. */
		jv r = jv_object_set(jv_copy(row), jv_string("vc_score"), score);
		return vc_emit(ctx, r, collect);
	}
	{
		/* The row's own bytes, then a parent found for it (vc_parent)
		 * and its score, written by vc_jbuf (jv_dump_string's bytes,
		 * without its character-at-a-time appends). */
		jv par = jv_object_get(jv_copy(row), jv_string("vc_parent"));
		struct vc_jbuf b = { 0 };
		int empty = 1;

		for (size_t i = start + 1; i + 1 < end; i++)
			if (raw[i] != ' ' && raw[i] != '\t') {
				empty = 0;
				break;
			}
		vc_jbuf_put(&b, raw, end - 1);
		if (!empty)
			vc_jbuf_put(&b, ",", 1);
		if (jv_is_valid(par) && memmem(raw, n, "\"vc_parent\"", 11) == NULL) {
			vc_jbuf_str(&b, "\"vc_parent\":");
			vc_jbuf_value(&b, par);
			vc_jbuf_put(&b, ",", 1);
		} else
			jv_free(par);
		vc_jbuf_str(&b, "\"vc_score\":");
		vc_jbuf_value(&b, score);
		vc_jbuf_put(&b, "}", 1);
		if (b.oom) {
			free(b.s);
			return -1;
		}
		rc = vc_emit_raw(ctx, b.s, b.n, collect);
		free(b.s);
	}
	return rc;
}

/*
 * Parents of Pslist-shaped rows (Pid, Ppid, no parent of their own): the
 * rows of one collection, a run of consecutive rows with the same
 * ClientId and FlowId (or the whole input when it has neither), are held
 * until the run ends, at most parent_rows rows and PARENT_BYTES bytes of
 * them, so that each row's Ppid can name a row of the same collection,
 * whichever comes first.  The parent's Pid, Name, Exe and CommandLine go
 * into the row as "vc_parent", where the field map finds ParentImage and
 * ParentCommandLine, and into the output.
 */
#define PARENT_ROWS 50000
#define PARENT_BYTES (64 * 1024 * 1024)

struct held {
	char *raw;
	size_t n;
	jv row;
	double pid, ppid;
};

/* A run of vc_op_score, between two rows. */
struct score_run {
	struct vc_scorer *sc;
	FILE *spool;            /* --stack-by: the input kept for the second pass */
	int minl, faill;
	long rows, over;
	jv collect;
	/* Parents: the collection being held. */
	long parent_rows;       /* 0: no parents */
	struct held *held;
	size_t nheld, capheld, heldbytes;
	char *key;              /* its ClientId and FlowId */
	/* --prevalence: the scored rows kept, then weighed again. */
	struct vc_prev *prev;
	FILE *pspool;
	int explain;            /* --explain */
};

/* First pass of --stack-by: count the row's key, keep the row. */
static int
spool_row(vc_ctx *ctx, struct vc_jsonl *r, jv row, void *arg)
{
	struct score_run *run = arg;

	(void)ctx;
	vc_stack_add(run->sc->stack, row, NULL);
	fwrite(r->buf, 1, r->len, run->spool);
	fputc('\n', run->spool);
	jv_free(row);
	return 0;
}

/* Count a scored row (score borrowed) for --fail-on; 1 if --min keeps it. */
static int
counted(struct score_run *run, jv score)
{
	jv cls = jv_object_get(jv_copy(score), jv_string("classification"));
	int lvl = vc_score_level(jv_get_kind(cls) == JV_KIND_STRING ? jv_string_value(cls) : "benign");

	jv_free(cls);
	run->rows++;
	if (run->faill >= 0 && lvl >= run->faill)
		run->over++;
	return lvl >= run->minl;
}

/* Score one row (consumed) whose text is raw, and write it. */
static int
score_one(vc_ctx *ctx, struct score_run *run, const char *raw, size_t n, jv row)
{
	jv score;
	int rc;

	score = vc_scorer_row(run->sc, row, NULL);
	if (run->prev != NULL) {
		/* Counted now, weighed and written when every host is known. */
		jv line;

		rc = vc_prev_add(run->prev, row, score) != 0 ? vc_fail(ctx, VC_EINTERNAL, "out of memory") : 0;
		line = jv_dump_string(jv_object_set(row, jv_string("vc_score"), score), 0);
		if (rc == 0 && (fputs(jv_string_value(line), run->pspool) == EOF ||
		    fputc('\n', run->pspool) == EOF))
			rc = vc_fail(ctx, VC_EINTERNAL, "cannot write the spool file");
		jv_free(line);
		return rc;
	}
	if (!counted(run, score)) {
		jv_free(score);
		jv_free(row);
		return 0;
	}
	if (run->explain)
		score = vc_score_explain(score);
	rc = emit_scored(ctx, raw, n, row, score, &run->collect);
	jv_free(row);
	return rc;
}

/* The number of key k of row, or NAN. */
static double
num_of(jv row, const char *k)
{
	jv v = jv_object_get(jv_copy(row), jv_string(k));
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : NAN;

	jv_free(v);
	return d;
}

/* A Pslist-shaped row: Pid and Ppid numbers, no parent or event header. */
static int
pslist_shaped(jv row, double *pid, double *ppid)
{
	static const char *const not[] = { "Parent", "ParentImage", "vc_parent", "System", "Event" };

	*pid = num_of(row, "Pid");
	*ppid = num_of(row, "Ppid");
	if (isnan(*pid) || isnan(*ppid))
		return 0;
	for (size_t i = 0; i < sizeof not / sizeof not[0]; i++)
		if (jv_object_has(jv_copy(row), jv_string(not[i])))
			return 0;
	return 1;
}

/* The collection key of a row: its ClientId and FlowId. */
static char *
collection_key(jv row)
{
	jv c = jv_object_get(jv_copy(row), jv_string("ClientId"));
	jv f = jv_object_get(jv_copy(row), jv_string("FlowId"));
	char *k = NULL;

	if (asprintf(&k, "%s\x1f%s", jv_get_kind(c) == JV_KIND_STRING ? jv_string_value(c) : "",
	    jv_get_kind(f) == JV_KIND_STRING ? jv_string_value(f) : "") < 0)
		k = NULL;
	jv_free(c);
	jv_free(f);
	return k;
}

struct pidx {
	double pid;
	size_t i;
};

static int
by_pid(const void *a, const void *b)
{
	const struct pidx *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid ? 1 : x->i < y->i ? -1 : x->i > y->i;
}

/* The parent of a held row, as vc_parent: the first row of its Pid. */
static jv
parent_of(jv prow)
{
	static const char *const keep[] = { "Pid", "Name", "Exe", "CommandLine", "Username" };
	jv p = jv_object();

	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
		jv v = jv_object_get(jv_copy(prow), jv_string(keep[i]));

		if (jv_get_kind(v) == JV_KIND_STRING || jv_get_kind(v) == JV_KIND_NUMBER)
			p = jv_object_set(p, jv_string(keep[i]), v);
		else
			jv_free(v);
	}
	return p;
}

/* Resolve the held rows' parents, score and write them in order. */
static int
flush_held(vc_ctx *ctx, struct score_run *run)
{
	struct pidx *ix = NULL;
	size_t n = run->nheld;
	int rc = 0;

	if (n == 0)
		return 0;
	if ((ix = malloc(n * sizeof *ix)) != NULL) {
		for (size_t i = 0; i < n; i++)
			ix[i] = (struct pidx){ run->held[i].pid, i };
		qsort(ix, n, sizeof *ix, by_pid);
	}
	for (size_t i = 0; i < n; i++) {
		struct held *h = &run->held[i];
		struct pidx want = { h->ppid, 0 }, *lo = ix;
		size_t m = n;

		/* The first row with that Pid (lower bound), not the row itself. */
		while (ix != NULL && m > 0) {
			size_t half = m / 2;

			if (by_pid(&lo[half], &want) < 0) {
				lo += half + 1;
				m -= half + 1;
			} else
				m = half;
		}
		if (ix != NULL && lo < ix + n && lo->pid == h->ppid && lo->i != i && h->ppid != 0) {
			jv par = parent_of(run->held[lo->i].row);

			h->row = jv_object_set(h->row, jv_string("vc_parent"), par);
		}
	}
	free(ix);
	for (size_t i = 0; i < n; i++) {
		struct held *h = &run->held[i];

		if (rc == 0)
			rc = score_one(ctx, run, h->raw, h->n, h->row);
		else
			jv_free(h->row);
		free(h->raw);
	}
	run->nheld = run->heldbytes = 0;
	free(run->key);
	run->key = NULL;
	return rc;
}

/* Hold a Pslist row (consumed) of collection key (consumed). */
static int
hold(vc_ctx *ctx, struct score_run *run, const char *raw, size_t n, jv row, char *key, double pid,
    double ppid)
{
	int rc = 0;

	/* A write that fails (the reader went away) is a stop: -1. */
	if ((run->key != NULL && strcmp(run->key, key) != 0) ||
	    run->nheld >= (size_t)run->parent_rows || run->heldbytes + n > PARENT_BYTES)
		rc = flush_held(ctx, run) != 0 ? -1 : 0;
	if (rc == 0 && run->nheld == run->capheld) {
		size_t nc = run->capheld ? run->capheld * 2 : 256;
		struct held *h = realloc(run->held, nc * sizeof *h);

		if (h == NULL)
			rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
		else {
			run->held = h;
			run->capheld = nc;
		}
	}
	char *copy = rc == 0 ? malloc(n + 1) : NULL;
	if (rc == 0 && copy == NULL)
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
	if (rc != 0) {
		free(copy);
		free(key);
		jv_free(row);
		return rc;
	}
	memcpy(copy, raw, n);
	copy[n] = '\0';
	run->held[run->nheld++] = (struct held){ copy, n, row, pid, ppid };
	run->heldbytes += n;
	if (run->key == NULL)
		run->key = key;
	else
		free(key);
	return 0;
}

static int
score_row(vc_ctx *ctx, struct vc_jsonl *r, jv rec, void *arg)
{
	struct score_run *run = arg;
	jv row = vc_jsonl_value(r);
	double pid, ppid;
	int rc;

	jv_free(rec);
	if (jv_get_kind(row) != JV_KIND_OBJECT) {
		/* A spooled row was reported on the first pass. */
		rc = 0;
		if (run->spool == NULL) {
			vc_fail(ctx, VC_EINVAL, "%s", jv_is_valid(row) ? "expected a JSON object" : "not JSON");
			rc = VC_JSONL_BAD;
		}
		jv_free(row);
		return rc;
	}
	if (run->parent_rows > 0 && pslist_shaped(row, &pid, &ppid)) {
		char *key = collection_key(row);

		if (key == NULL) {
			jv_free(row);
			return vc_fail(ctx, VC_EINTERNAL, "out of memory");
		}
		rc = hold(ctx, run, r->buf, r->len, row, key, pid, ppid);
		return rc > 0 ? rc : rc < 0 ? VC_JSONL_STOP : 0;
	}
	/* Any other row ends the collection held, to keep the order. */
	if ((rc = flush_held(ctx, run)) == 0)
		rc = score_one(ctx, run, r->buf, r->len, row);
	else
		jv_free(row);
	return rc != 0 ? VC_JSONL_STOP : 0;     /* the reader went away */
}

/* Second pass of --prevalence: a scored row weighed again and written. */
static int
prev_row(vc_ctx *ctx, struct vc_jsonl *r, jv row, void *arg)
{
	struct score_run *run = arg;
	jv score = jv_object_get(jv_copy(row), jv_string("vc_score"));

	(void)r;
	score = vc_prev_apply(run->prev, score);
	if (!counted(run, score)) {
		jv_free(score);
		jv_free(row);
		return 0;
	}
	if (run->explain)
		score = vc_score_explain(score);
	return vc_emit(ctx, jv_object_set(row, jv_string("vc_score"), score), &run->collect) != 0 ?
	    VC_JSONL_STOP : 0;
}

/* Weigh the spooled rows by prevalence and write them. */
static int
prev_pass(vc_ctx *ctx, struct score_run *run)
{
	struct vc_jsonl_loop lp = { .mode = VC_JSONL_OBJECT, .fn = prev_row, .arg = run };
	struct vc_jsonl sp;
	int rc;

	if (fflush(run->pspool) != 0)
		return vc_fail(ctx, VC_EINTERNAL, "cannot write the spool file");
	rewind(run->pspool);
	memset(&sp, 0, sizeof sp);
	sp.f = run->pspool;
	sp.name = "spool";
	sp.max = SIZE_MAX / 4;  /* lines we wrote ourselves */
	rc = vc_jsonl_each(ctx, &sp, &lp);
	vc_jsonl_release(&sp);  /* not its FILE: that is ours */
	return rc;
}

int
vc_op_score(vc_ctx *ctx, jv args, jv *out)
{
	const char *min = vc_arg_str(args, "min"), *fail = vc_arg_str(args, "fail_on");
	const char *by = vc_arg_str(args, "stack_by");
	struct score_run run = {
		.minl = min ? vc_score_level(min) : 0, .faill = fail ? vc_score_level(fail) : -1,
		.parent_rows = vc_arg_int(args, "parent_rows", PARENT_ROWS),
		.explain = vc_arg_bool(args, "explain"),
	};
	struct vc_jsonl_loop lp = { .mode = VC_JSONL_TEXT, .fn = score_row, .arg = &run };
	struct vc_jsonl spool;
	struct vc_jsonl *in = ctx->in;
	int rc;

	if (in == NULL)
		return vc_fail(ctx, VC_EUSAGE, "no input to score");
	if (run.parent_rows < 0 || run.parent_rows > 1000000)
		return vc_fail(ctx, VC_EUSAGE, "--parent-rows takes 0 to 1000000 rows");
	if (vc_arg_bool(args, "prevalence")) {
		int64_t common = vc_arg_int(args, "common", 20), rare = vc_arg_int(args, "rare", 1);

		if (common < 1 || common > 100 || rare < 0 || rare >= common)
			return vc_fail(ctx, VC_EUSAGE, "--common takes 1 to 100 (percent of hosts) and "
			    "--rare 0 to less than --common");
		if ((run.prev = vc_prev_new((double)common / 100, (double)rare / 100)) == NULL ||
		    (run.pspool = tmpfile()) == NULL) {
			vc_prev_free(run.prev);
			return vc_fail(ctx, VC_EINTERNAL, "cannot make a spool file");
		}
	} else if (vc_arg_int(args, "common", -1) != -1 || vc_arg_int(args, "rare", -1) != -1) {
		return vc_fail(ctx, VC_EUSAGE, "--common and --rare go with --prevalence");
	}
	if ((rc = vc_scorer_new(ctx, args, &run.sc)) != 0) {
		vc_prev_free(run.prev);
		if (run.pspool != NULL)
			fclose(run.pspool);
		return rc;
	}
	if (by != NULL) {
		/* Rarity needs the whole input first: spool it, count, then score. */
		struct vc_jsonl_loop first = { .mode = VC_JSONL_OBJECT, .fn = spool_row, .arg = &run };
		jv m = jv_object_get(jv_copy(args), jv_string("max_hosts"));
		double mh = jv_get_kind(m) == JV_KIND_NUMBER ? jv_number_value(m) : 1;
		jv_free(m);
		/* A negative count would wrap to "every key is rare". */
		if (!(mh >= 0)) {
			vc_scorer_free(run.sc);
			return vc_fail(ctx, VC_EUSAGE, "--max-hosts takes a number of hosts, 0 or more");
		}
		run.sc->stack_max_hosts = (size_t)mh;
		if ((run.sc->stack = vc_stack_new(by)) == NULL) {
			vc_scorer_free(run.sc);
			return vc_fail(ctx, VC_EUSAGE, "--stack-by takes FIELD[,FIELD...]");
		}
		if ((run.spool = tmpfile()) == NULL) {
			vc_scorer_free(run.sc);
			return vc_fail(ctx, VC_EINTERNAL, "cannot make a spool file");
		}
		/* A read error: score nothing rather than part of the input. */
		if ((rc = vc_jsonl_each(ctx, in, &first)) != 0) {
			fclose(run.spool);
			vc_scorer_free(run.sc);
			return rc;
		}
		run.sc->evaluated[run.sc->nevaluated++] = "rarity";
		rewind(run.spool);
		memset(&spool, 0, sizeof spool);
		spool.f = run.spool;
		spool.name = "stdin";
		spool.max = VC_JSONL_MAX;
		in = &spool;
	}
	/* Made only now: every return above has nothing of it to free. */
	run.collect = jv_array();
	rc = vc_jsonl_each(ctx, in, &lp);
	if (rc == 0)
		(void)flush_held(ctx, &run);    /* a failure: the reader went away */
	if (rc == 0 && run.prev != NULL)
		rc = prev_pass(ctx, &run);
	vc_prev_free(run.prev);
	if (run.pspool != NULL)
		fclose(run.pspool);
	for (size_t i = 0; i < run.nheld; i++) {
		free(run.held[i].raw);
		jv_free(run.held[i].row);
	}
	free(run.held);
	free(run.key);
	if (run.spool != NULL) {
		vc_jsonl_release(&spool);       /* not its FILE: that is ours */
		fclose(run.spool);
	}
	vc_scorer_free(run.sc);
	if (rc != 0) {
		jv_free(run.collect);
		return rc;
	}
	*out = run.collect;
	if (run.over > 0)
		return vc_fail(ctx, VC_EFINDINGS, "%ld of %ld rows at or above %s", run.over, run.rows, fail);
	return 0;
}

/* ---- stack ------------------------------------------------------------------ */

/* One row of vc_op_stack's input. */
static int
stack_row(vc_ctx *ctx, struct vc_jsonl *r, jv row, void *arg)
{
	(void)ctx;
	(void)r;
	vc_stack_add(arg, row, NULL);
	jv_free(row);
	return 0;
}

int
vc_op_stack(vc_ctx *ctx, jv args, jv *out)
{
	const char *by = vc_arg_str(args, "by"), *art = vc_arg_str(args, "artifact");
	struct vc_stack *s;
	jv m = jv_object_get(jv_copy(args), jv_string("max_hosts"));
	double mh = jv_get_kind(m) == JV_KIND_NUMBER ? jv_number_value(m) : 0;
	size_t max;
	int rc = 0;

	jv_free(m);
	if (!(mh >= 0))
		return vc_fail(ctx, VC_EUSAGE, "--max-hosts takes a number of hosts, 0 or more");
	max = (size_t)mh;
	if ((s = vc_stack_new(by)) == NULL)
		return vc_fail(ctx, VC_EUSAGE, "--by takes FIELD[,FIELD...]");
	if (vc_arg_bool(args, "stored") || art != NULL) {
		rc = vc_stack_from_store(ctx, s, art);
	} else if (ctx->in == NULL) {
		vc_stack_free(s);
		return vc_fail(ctx, VC_EUSAGE, "no input to stack (or give --stored)");
	} else {
		struct vc_jsonl_loop lp = { .mode = VC_JSONL_OBJECT, .fn = stack_row, .arg = s };
		rc = vc_jsonl_each(ctx, ctx->in, &lp);
	}
	if (rc == 0) {
		jv res = vc_stack_result(s, max);
		*out = jv_array();
		jv_array_foreach(res, i, e) {
			if (vc_emit(ctx, e, out) != 0)
				break;
		}
		jv_free(res);
	}
	vc_stack_free(s);
	return rc;
}

/* ---- stored scores ---------------------------------------------------------- */

/* Keep the strongest indicator of each id; a subject's score is their noisy-OR. */
static void
merge_hits(jv *best, jv hits)
{
	jv_array_foreach(hits, i, h) {
		jv id = jv_object_get(jv_copy(h), jv_string("id"));
		jv kind = jv_object_get(jv_copy(h), jv_string("kind"));
		jv key = jv_string_fmt("%s:%s", jv_get_kind(kind) == JV_KIND_STRING ? jv_string_value(kind) : "",
		    jv_get_kind(id) == JV_KIND_STRING ? jv_string_value(id) : "");
		jv old = jv_object_get(jv_copy(*best), jv_copy(key));
		jv ow = jv_is_valid(old) ? jv_object_get(jv_copy(old), jv_string("weight")) : jv_invalid();
		jv nw = jv_object_get(jv_copy(h), jv_string("weight"));
		/* "rows": on how many rows the indicator fired, whichever copy is kept. */
		jv c = jv_is_valid(old) ? jv_object_get(jv_copy(old), jv_string("rows")) : jv_invalid();
		int count = jv_get_kind(c) == JV_KIND_NUMBER ? (int)jv_number_value(c) : 0;
		jv_free(c);
		if (!jv_is_valid(old) || (jv_get_kind(nw) == JV_KIND_NUMBER && jv_get_kind(ow) == JV_KIND_NUMBER &&
		    jv_number_value(nw) > jv_number_value(ow))) {
			*best = jv_object_set(*best, key, jv_object_set(jv_copy(h), jv_string("rows"),
			    jv_number(count + 1)));
		} else {
			*best = jv_object_set(*best, key, jv_object_set(jv_copy(old), jv_string("rows"),
			    jv_number(count + 1)));
		}
		jv_free(old);
		jv_free(ow);
		jv_free(nw);
		jv_free(id);
		jv_free(kind);
		jv_free(h);
	}
	jv_free(hits);
}

/*
 * Stored rows with their parents, resolved in SQL.  A Pslist-shaped row's
 * parent is the first row (lowest id) of the same artifact, host and
 * FlowId whose Pid is the row's Ppid, not the row itself: one artifact
 * is one import, so this is the collection of the streaming filter
 * (ClientId + FlowId, or one file).  The candidates, one per (artifact,
 * host, FlowId, Pid), are materialized once per query, and SQLite joins
 * each row to them through an automatic index on those four, so the
 * cost is one sort of the subject's rows rather than a lookup per row
 * over the table; no index is kept in the store for it.  Columns: the
 * row, its parent row or NULL, its host (client id, else hostname, else
 * id) or NULL.  ?1 the tenant, ?2 the subject's id.
 */
#define WITH_PARENTS_LITE(SUBJ, ORDER) \
	"WITH k AS MATERIALIZED (SELECT x.artifact_id AS a, x.host_id AS h," \
	" json_extract(x.data, '$.FlowId') AS f, json_extract(x.data, '$.Pid') AS pid, MIN(x.id) AS id" \
	" FROM artifact_rows x WHERE x.tenant_id = ?1 AND " SUBJ("x") \
	" AND json_extract(x.data, '$.Pid') IS NOT NULL GROUP BY 1, 2, 3, 4)" \
	" SELECT r.data, p.data, COALESCE(hs.client_id, hs.hostname, r.host_id) FROM artifact_rows r" \
	" LEFT JOIN k ON k.a = r.artifact_id AND k.h IS r.host_id" \
	" AND k.f IS json_extract(r.data, '$.FlowId') AND k.pid = json_extract(r.data, '$.Ppid')" \
	" AND k.pid <> 0 AND k.id <> r.id" \
	" LEFT JOIN artifact_rows p ON p.tenant_id = ?1 AND p.id = k.id" \
	" LEFT JOIN hosts hs ON hs.tenant_id = ?1 AND hs.id = r.host_id" \
	" WHERE r.tenant_id = ?1 AND " SUBJ("r") " ORDER BY " ORDER
/* The same for PostgreSQL: jsonb members, IS NOT DISTINCT FROM for IS. */
#define WITH_PARENTS_PG(SUBJ, ORDER) \
	"WITH k AS MATERIALIZED (SELECT x.artifact_id AS a, x.host_id AS h," \
	" x.data::jsonb ->> 'FlowId' AS f, x.data::jsonb -> 'Pid' AS pid, MIN(x.id) AS id" \
	" FROM artifact_rows x WHERE x.tenant_id = ?1 AND " SUBJ("x") \
	" AND x.data::jsonb -> 'Pid' IS NOT NULL GROUP BY 1, 2, 3, 4)" \
	" SELECT r.data, p.data, COALESCE(hs.client_id, hs.hostname, r.host_id) FROM artifact_rows r" \
	" LEFT JOIN k ON k.a = r.artifact_id AND k.h IS NOT DISTINCT FROM r.host_id" \
	" AND k.f IS NOT DISTINCT FROM r.data::jsonb ->> 'FlowId' AND k.pid = r.data::jsonb -> 'Ppid'" \
	" AND k.pid <> '0'::jsonb AND k.id <> r.id" \
	" LEFT JOIN artifact_rows p ON p.tenant_id = ?1 AND p.id = k.id" \
	" LEFT JOIN hosts hs ON hs.tenant_id = ?1 AND hs.id = r.host_id" \
	" WHERE r.tenant_id = ?1 AND " SUBJ("r") " ORDER BY " ORDER
#define WITH_PARENTS(SUBJ, ORDER) VC_SQL2(WITH_PARENTS_LITE(SUBJ, ORDER), WITH_PARENTS_PG(SUBJ, ORDER))
#define OF_ARTIFACT(t) t ".artifact_id = ?2"
#define OF_HOST(t) t ".host_id = ?2"
#define OF_HUNT(t) t ".artifact_id IN (SELECT a.id FROM artifacts a WHERE a.tenant_id = ?1" \
	" AND a.hunt_id = ?2 AND a.state = 'complete')"

static vc_stmt *
stored_rows(vc_ctx *ctx, const char *subject, const char *id)
{
	const char *t = ctx->who.tenant_id;

	if (strcmp(subject, "host") == 0)
		return vc_sql(ctx, WITH_PARENTS(OF_HOST, "r.id"), "ss", t, id);
	/* By artifact, then row: the index's order (by row alone, SQLite
	 * would walk the whole table in rowid order to avoid a sort). */
	if (strcmp(subject, "hunt") == 0)
		return vc_sql(ctx, WITH_PARENTS(OF_HUNT, "r.artifact_id, r.id"), "ss", t, id);
	return vc_sql(ctx, WITH_PARENTS(OF_ARTIFACT, "r.id"), "ss", t, id);
}

/* The current row of stored_rows, with vc_parent when it is Pslist-shaped
 * and has one. */
static jv
stored_row(vc_stmt *q)
{
	jv row = jv_parse_sized((const char *)vc_col_text(q, 0), vc_col_bytes(q, 0));
	double pid, ppid;

	if (jv_get_kind(row) != JV_KIND_OBJECT)
		return row;
	if (vc_col_type(q, 1) != VC_NULL && pslist_shaped(row, &pid, &ppid)) {
		jv prow = jv_parse_sized((const char *)vc_col_text(q, 1), vc_col_bytes(q, 1));

		if (jv_get_kind(prow) == JV_KIND_OBJECT)
			row = jv_object_set(row, jv_string("vc_parent"), parent_of(prow));
		jv_free(prow);
	}
	return row;
}

/* An analysis's row, audit record and event (vc_tx_run's arg). */
struct score_row {
	const char *subject, *id;
	long rows, flagged;
	jv is, sv, cv, cl;
	char sid[VC_ID_LEN + 1];
};

static int
score_row_body(vc_ctx *ctx, void *arg)
{
	struct score_row *w = arg;
	int rc;

	rc = vc_sql_exec(ctx, "INSERT INTO threat_scores (id, tenant_id, subject_type, subject_id,"
	    " score_milli, confidence_milli, classification, indicators, rows_scored, rows_flagged,"
	    " model_version, created_by, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
	    NULL, "ssssiissiissi", w->sid, ctx->who.tenant_id, w->subject, w->id,
	    (int64_t)(jv_number_value(w->sv) * 1000 + 0.5), (int64_t)(jv_number_value(w->cv) * 1000 + 0.5),
	    jv_string_value(w->cl), jv_string_value(w->is), (int64_t)w->rows, (int64_t)w->flagged,
	    VC_SCORE_MODEL_VERSION, ctx->who.username, vc_now(ctx));
	if (rc == 0)
		rc = vc_audit(ctx, ctx->who.tenant_id, "threat.analyze", w->subject, w->id, "success", NULL,
		    JV_OBJECT(jv_string("score"), jv_copy(w->sv), jv_string("classification"), jv_copy(w->cl)));
	if (rc == 0)
		rc = vc_event_emit(ctx, "threat_score.created", JV_OBJECT(jv_string("score_id"),
		    jv_string(w->sid), jv_string("subject_type"), jv_string(w->subject),
		    jv_string("subject_id"), jv_string(w->id), jv_string("subject"),
		    jv_string_fmt("%s %s", w->subject, w->id), jv_string("score"), jv_copy(w->sv),
		    jv_string("confidence"), jv_copy(w->cv), jv_string("classification"), jv_copy(w->cl),
		    jv_string("rows_flagged"), jv_number(w->flagged), jv_string("by"),
		    jv_string(ctx->who.username)), NULL);
	return rc;
}

static int
analyze(vc_ctx *ctx, jv args, const char *subject, const char *id, jv *out)
{
	struct vc_scorer *sc;
	vc_stmt *q;
	jv best = jv_object(), hits, score, top = jv_array();
	const char *evaluated[5];
	long rows = 0, flagged = 0;
	int rc, nevaluated;

	if ((rc = vc_scorer_new(ctx, args, &sc)) != 0) {
		jv_free(best);
		jv_free(top);
		return rc;
	}
	if ((q = stored_rows(ctx, subject, id)) == NULL) {
		vc_scorer_free(sc);
		jv_free(best);
		jv_free(top);
		return ctx->err;
	}
	while ((rc = vc_sql_step(ctx, q)) == 1) {
		jv row = stored_row(q);
		jv s = vc_scorer_row(sc, row, NULL);
		jv ind = jv_object_get(jv_copy(s), jv_string("indicators"));
		rows++;
		if (jv_array_length(jv_copy(ind)) > 0) {
			flagged++;
			merge_hits(&best, jv_copy(ind));
		}
		jv_free(ind);
		jv_free(s);
		jv_free(row);
	}
	vc_stmt_done(q);
	/* Only the signals that ran vouch for a clean result (static strings). */
	nevaluated = sc->nevaluated;
	memcpy(evaluated, sc->evaluated, sizeof evaluated);
	vc_scorer_free(sc);
	if (rc < 0) {
		jv_free(best);
		jv_free(top);
		return ctx->err;
	}
	hits = jv_array();
	jv_object_foreach(best, k, v) {
		hits = jv_array_append(hits, v);
		jv_free(k);
	}
	jv_free(best);
	if (strcmp(subject, "host") == 0) {
		jv m = jv_array();
		if (vc_model_host(ctx, id, &m) > 0)
			jv_array_foreach(m, i, x) hits = jv_array_append(hits, x);
		jv_free(m);
	}
	jv_free(top);
	score = vc_score_combine(hits, evaluated, nevaluated);
	/* Keep the history: every analysis is a new row, with the model
	 * version, written again when it gave way to another. */
	{
		jv ind = jv_object_get(jv_copy(score), jv_string("indicators"));
		struct score_row w = { .subject = subject, .id = id, .rows = rows, .flagged = flagged };

		w.is = jv_dump_string(ind, 0);
		w.sv = jv_object_get(jv_copy(score), jv_string("score"));
		w.cv = jv_object_get(jv_copy(score), jv_string("confidence"));
		w.cl = jv_object_get(jv_copy(score), jv_string("classification"));
		vc_new_id(w.sid);
		rc = vc_tx_run(ctx, 0, score_row_body, &w);
		if (rc == 0)
			ctx->audited = 1;       /* else the dispatcher records the failure */
		jv_free(w.is);
		jv_free(w.sv);
		jv_free(w.cv);
		jv_free(w.cl);
		if (rc != 0) {
			jv_free(score);
			return rc;
		}
		*out = JV_OBJECT(jv_string("id"), jv_string(w.sid), jv_string("subject_type"), jv_string(subject),
		    jv_string("subject_id"), jv_string(id), jv_string("rows_scored"), jv_number(rows),
		    jv_string("rows_flagged"), jv_number(flagged), jv_string("model_version"),
		    jv_string(VC_SCORE_MODEL_VERSION));
		*out = jv_object_merge(*out, score);
	}
	return 0;
}

/* Analyze the subject that args.id names, found by resolve. */
static int
analyze_id(vc_ctx *ctx, jv args, const char *subject,
    int (*resolve)(vc_ctx *, const char *, char[VC_ID_LEN + 1]), jv *out)
{
	char id[VC_ID_LEN + 1];
	int rc;

	if ((rc = resolve(ctx, vc_arg_str(args, "id"), id)) != 0)
		return rc;
	return analyze(ctx, args, subject, id, out);
}

int
vc_op_analyze_host(vc_ctx *ctx, jv args, jv *out)
{
	return analyze_id(ctx, args, "host", vc_host_resolve, out);
}

int
vc_op_analyze_artifact(vc_ctx *ctx, jv args, jv *out)
{
	return analyze_id(ctx, args, "artifact", vc_artifact_resolve, out);
}

/*
 * analyze hunt: every stored row of the hunt's artifacts scored, with
 * parents (stored_rows) and with prevalence across the hunt's hosts, in
 * two passes: the first scores each row and counts its detections'
 * hosts, writing the flagged rows' scores to a spool file (memory grows
 * with hosts and detections, not rows); the second weighs them by
 * prevalence.  The hosts come out ranked as vc-score top ranks them.
 */
int
vc_op_analyze_hunt(vc_ctx *ctx, jv args, jv *out)
{
	const char *hunt = vc_arg_str(args, "id");
	int64_t limit = vc_arg_int(args, "limit", 20);
	int64_t common = vc_arg_int(args, "common", 20), rare = vc_arg_int(args, "rare", 1);
	struct vc_scorer *sc = NULL;
	struct vc_prev *prev = NULL;
	struct vc_top *top = NULL;
	vc_stmt *q = NULL;
	FILE *spool = NULL;
	long rows = 0;
	int rc;

	if (limit < 1 || limit > 100000)
		return vc_fail(ctx, VC_EUSAGE, "--limit takes 1 to 100000");
	if (common < 1 || common > 100 || rare < 0 || rare >= common)
		return vc_fail(ctx, VC_EUSAGE, "--common takes 1 to 100 (percent of hosts) and "
		    "--rare 0 to less than --common");
	if ((rc = vc_scorer_new(ctx, args, &sc)) != 0)
		return rc;
	if ((prev = vc_prev_new((double)common / 100, (double)rare / 100)) == NULL ||
	    (top = vc_top_new()) == NULL || (spool = tmpfile()) == NULL) {
		rc = vc_fail(ctx, VC_EINTERNAL, "cannot make a spool file");
		goto out;
	}
	if ((q = stored_rows(ctx, "hunt", hunt)) == NULL) {
		rc = ctx->err;
		goto out;
	}
	while ((rc = vc_sql_step(ctx, q)) == 1) {
		jv row = stored_row(q);
		jv host = vc_col_type(q, 2) != VC_NULL ?
		    jv_string((const char *)vc_col_text(q, 2)) : vc_prev_host(row);
		jv s = vc_scorer_row(sc, row, NULL);
		jv ind = jv_object_get(jv_copy(s), jv_string("indicators"));

		rows++;
		/* The host counted by prevalence is the stored one. */
		jv hrow = JV_OBJECT(jv_string("ClientId"), jv_copy(host));
		rc = vc_prev_add(prev, hrow, s);
		jv_free(hrow);
		if (rc == 0 && jv_array_length(ind) > 0) {
			jv line = jv_dump_string(JV_OBJECT(jv_string("h"), host, jv_string("s"), s), 0);

			if (fprintf(spool, "%s\n", jv_string_value(line)) < 0)
				rc = -1;
			jv_free(line);
		} else {
			vc_top_add(top, host, s);
		}
		jv_free(row);
		if (rc != 0) {
			rc = vc_fail(ctx, VC_EINTERNAL, "out of memory or spool space");
			goto out;
		}
	}
	if (rc < 0) {
		rc = ctx->err;
		goto out;
	}
	if (rows == 0) {
		vc_not_found(ctx, "hunt", "hunt",
		    /* unscoped: existence check only, to audit a cross-tenant attempt */
		    "SELECT 1 FROM artifacts WHERE hunt_id = ?1", hunt);
		rc = vc_fail(ctx, VC_ENOTFOUND, "hunt %s: no stored rows (import its results with "
		    "vc-case artifact import --hunt)", hunt);
		goto out;
	}
	/* Second pass: the flagged rows, weighed by prevalence. */
	if (fflush(spool) != 0) {
		rc = vc_fail(ctx, VC_EINTERNAL, "cannot write the spool file");
		goto out;
	}
	rewind(spool);
	{
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		while ((n = getline(&line, &cap, spool)) > 0) {
			jv v = jv_parse_sized(line, (int)n);

			vc_top_add(top, jv_object_get(jv_copy(v), jv_string("h")),
			    vc_prev_apply(prev, jv_object_get(jv_copy(v), jv_string("s"))));
			jv_free(v);
		}
		free(line);
	}
	*out = vc_top_rank(top, limit);
	rc = jv_is_valid(*out) ? 0 : vc_fail(ctx, VC_EINTERNAL, "out of memory");
out:
	vc_stmt_done(q);
	if (spool != NULL)
		fclose(spool);
	vc_top_free(top);
	vc_prev_free(prev);
	vc_scorer_free(sc);
	return rc;
}

int
vc_op_scores(vc_ctx *ctx, jv args, jv *out)
{
	const char *mss = vc_arg_str(args, "min_score");
	jv since = jv_object_get(jv_copy(args), jv_string("since"));
	jv lim = jv_object_get(jv_copy(args), jv_string("limit"));
	char *end = NULL;
	double msv = mss ? strtod(mss, &end) : 0;
	/* Stored scores are in thousandths, rounded: compare them so. */
	int64_t min_milli = (int64_t)llround(msv * 1000);
	int64_t since_s = jv_get_kind(since) == JV_KIND_NUMBER ? (int64_t)jv_number_value(since) : 0;
	int64_t limit = jv_get_kind(lim) == JV_KIND_NUMBER ? (int64_t)jv_number_value(lim) : 100;

	jv_free(since);
	jv_free(lim);
	if (mss != NULL && (end == mss || *end != '\0' || !(msv >= 0 && msv <= 1)))
		return vc_fail(ctx, VC_EUSAGE, "--min-score takes a number from 0 to 1");
	if (limit < 1 || limit > 1000)
		return vc_fail(ctx, VC_EUSAGE, "limit must be 1 to 1000");
	*out = vc_sql_rows(ctx, vc_sql(ctx, "SELECT s.id, s.subject_type, s.subject_id,"
	    " COALESCE(h.hostname, a.name) AS subject, s.score_milli / 1000.0 AS score,"
	    " s.confidence_milli / 1000.0 AS confidence, s.classification, s.rows_scored,"
	    " s.rows_flagged, s.model_version, s.created_by, s.created_at,"
	    " s.indicators AS indicators_json FROM threat_scores s"
	    " LEFT JOIN hosts h ON s.subject_type = 'host' AND h.tenant_id = s.tenant_id AND h.id = s.subject_id"
	    " LEFT JOIN artifacts a ON s.subject_type = 'artifact' AND a.tenant_id = s.tenant_id AND a.id = s.subject_id"
	    " WHERE s.tenant_id = ?1 AND (?2 IS NULL OR s.subject_type = ?2)"
	    " AND (?3 IS NULL OR s.classification = ?3) AND s.score_milli >= ?4 AND s.created_at >= ?5"
	    " ORDER BY s.created_at DESC, s.score_milli DESC LIMIT ?6", "sssiii", ctx->who.tenant_id,
	    vc_arg_str(args, "subject"), vc_arg_str(args, "classification"), min_milli, since_s, limit));
	return jv_is_valid(*out) ? 0 : ctx->err;
}

int
vc_op_heuristics(vc_ctx *ctx, jv args, jv *out)
{
	size_t n = 0;
	const struct vc_heuristic_info *t = vc_heuristics_table(&n);

	*out = jv_array();
	for (size_t i = 0; i < n; i++)
		*out = jv_array_append(*out, JV_OBJECT(jv_string("id"), jv_string(t[i].id),
		    jv_string("title"), jv_string(t[i].title), jv_string("weight"), jv_number(t[i].weight),
		    jv_string("why"), jv_string(t[i].why)));
	return 0;
}

int
vc_op_rules_check(vc_ctx *ctx, jv args, jv *out)
{
	const char *dir = vc_arg_str(args, "path"), *mapf = vc_arg_str(args, "map");
	struct vc_sigma_map *map = NULL;
	struct vc_sigma_set *set = NULL;
	jv problems = jv_array();
	int rc;

	if ((rc = vc_sigma_map_load(ctx, mapf, &map)) != 0) {
		jv_free(problems);
		return rc;
	}
	rc = vc_sigma_load(ctx, dir, map, &set, &problems);
	vc_sigma_map_free(map);
	if (rc != 0) {
		jv_free(problems);
		return rc;
	}
	*out = JV_OBJECT(jv_string("rules"), jv_number(vc_sigma_count(set)),
	    jv_string("skipped"), jv_number(jv_array_length(jv_copy(problems))),
	    jv_string("problems"), jv_copy(problems));
	vc_sigma_free(set);
	{
		int np = jv_array_length(jv_copy(problems));
		jv_array_foreach(problems, i, p) {
			jv f = jv_object_get(jv_copy(p), jv_string("file"));
			jv r = jv_object_get(p, jv_string("reason"));
			vc_bad(ctx, "%s: %s", jv_get_kind(f) == JV_KIND_STRING ? jv_string_value(f) : "?",
			    jv_get_kind(r) == JV_KIND_STRING ? jv_string_value(r) : "?");
			jv_free(f);
			jv_free(r);
		}
		jv_free(problems);
		(void)np;
	}
	return 0;
}

/* What the filter would load: each rule path with its origin, the rules
 * it gives and the ones skipped, with their reasons. */
int
vc_op_rules_list(vc_ctx *ctx, jv args, jv *out)
{
	struct vc_sigma_map *map = NULL;
	jv paths;
	int rc;

	if ((rc = rule_paths(ctx, args, &paths)) != 0)
		return rc;
	if ((rc = vc_sigma_map_load(ctx, vc_arg_str(args, "map"), &map)) != 0) {
		jv_free(paths);
		return rc;
	}
	*out = jv_array();
	jv_array_foreach(paths, i, p) {
		jv path = jv_object_get(jv_copy(p), jv_string("path"));
		struct vc_sigma_set *set = NULL;
		jv problems = jv_array();
		if (rc == 0)
			rc = vc_sigma_load(ctx, jv_string_value(path), map, &set, &problems);
		if (rc == 0) {
			p = jv_object_set(p, jv_string("rules"), jv_number(vc_sigma_count(set)));
			p = jv_object_set(p, jv_string("skipped"),
			    jv_number(jv_array_length(jv_copy(problems))));
			p = jv_object_set(p, jv_string("problems"), problems);
			*out = jv_array_append(*out, p);
			vc_sigma_free(set);
		} else {
			jv_free(p);
			jv_free(problems);
		}
		jv_free(path);
	}
	jv_free(paths);
	vc_sigma_map_free(map);
	if (rc != 0) {
		jv_free(*out);
		*out = jv_invalid();
	}
	return rc;
}
