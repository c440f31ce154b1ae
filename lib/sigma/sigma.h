/* SPDX-License-Identifier: MIT */
/*
 * sigma.h - a Sigma rule evaluator: load and compile SigmaHQ detection
 * rules once, then match JSON events (Velociraptor rows, parse_evtx rows,
 * evtx_dump objects, flat objects) against all of them.
 *
 * Ownership: a vc_sigma_map and a vc_sigma_set are owned by the caller
 * and freed with their _free function; a set copies what it needs from
 * the map, so the map may be freed right after vc_sigma_load.  jv values
 * follow jq's rule (consumed unless said otherwise): vc_sigma_match only
 * borrows the event and appends to *hits, which it owns in and out.
 * A loaded set is read-only: several threads may match against one set.
 *
 * Semantics follow the Sigma specification 2.1 and, where it is vague,
 * pySigma (the Sigma specification): case-insensitive glob values
 * with pySigma's escaping, every value modifier of the specification,
 * the full condition grammar.  What a rule needs and the evaluator cannot
 * do (placeholders of |expand, aggregations, correlations) makes the rule
 * a "problem": reported and skipped whole, never half-applied.
 */
#ifndef VC_SIGMA_H
#define VC_SIGMA_H
#include <stddef.h>
#include <jv.h>
#include "core/vc.h"

#define VC_SIGMA_MAX_FILE (4 * 1024 * 1024)   /* largest rule or map file */

struct vc_sigma_map;
struct vc_sigma_set;

/*
 * Field mapping: for each Sigma field name, the JSON paths in an event
 * where its value may be, tried in order (see data/sigma-map.json for the
 * format).  path NULL: the built-in default, which is data/sigma-map.json
 * as shipped, embedded at build time.  Returns VC_EOK, VC_ENOTFOUND or
 * VC_EINVAL / VC_ECONFIG (ctx says why).
 */
int vc_sigma_map_load(vc_ctx *ctx, const char *path, struct vc_sigma_map **out);
/* The same from a JSON text (name is used in messages). */
int vc_sigma_map_parse(vc_ctx *ctx, const char *name, const char *json, size_t n,
    struct vc_sigma_map **out);
void vc_sigma_map_free(struct vc_sigma_map *map);
/* The text of the built-in map (data/sigma-map.json). */
const char *vc_sigma_map_default_json(void);

/*
 * Load every .yml / .yaml file under the directory path (recursively, in
 * byte order of their paths: the "rule file order" of results), or the
 * one file path.  map NULL: the built-in map.
 *
 * A rule that cannot run fully is skipped and, when problems is not NULL,
 * described there: *problems (an array, or invalid to start one) gets
 * {"file", "rule_id", "title", "reason"} per skipped rule (rule_id and
 * title null when unknown).  Returns VC_EOK with *out set (possibly with
 * zero rules), or an error (ctx says why; *out NULL) when path cannot be
 * read at all.
 */
int vc_sigma_load(vc_ctx *ctx, const char *path, const struct vc_sigma_map *map,
    struct vc_sigma_set **out, jv *problems);
/*
 * The same from YAML text (one or more documents); name stands for the
 * file in problems.  For tests and for rules that come from a database.
 */
int vc_sigma_load_string(vc_ctx *ctx, const char *name, const char *yaml, size_t n,
    const struct vc_sigma_map *map, struct vc_sigma_set **out, jv *problems);

/*
 * Match one event (borrowed, any JSON; fields are only found in objects)
 * against every rule.  For each matching rule, in rule file order, appends
 * to *hits (an array, or invalid to start one) an indicator:
 *   {"kind":"sigma", "id", "title", "level", "author", "tags",
 *    "evidence":[{"field", "value"}...]}
 * where evidence lists the fields whose tests made the rule match (not
 * those under a "not").  Returns the number of hits appended, or -1 when
 * memory ran out (*hits is then left as it was).
 */
int vc_sigma_match(const struct vc_sigma_set *set, jv event, jv *hits);

int vc_sigma_count(const struct vc_sigma_set *set);    /* rules loaded */
void vc_sigma_free(struct vc_sigma_set *set);

/*
 * Statistics of the prefilter index, for tests and benchmarks: how many
 * rules are only evaluated when one of their literals occurs in the
 * event (indexed), and how many are evaluated for every event.
 */
struct vc_sigma_stats {
	int rules, indexed, always;
	int fields_indexed;     /* fields scanned by the index */
	int literals;           /* literals in the index */
	long states;            /* automaton states */
};
void vc_sigma_stats(const struct vc_sigma_set *set, struct vc_sigma_stats *st);
/*
 * Switch the prefilter off (0) or on (1, the default) for this set: with
 * it off every rule is evaluated for every event.  The results must be
 * the same either way; tests check that.
 */
void vc_sigma_set_index(struct vc_sigma_set *set, int on);

#endif
