/* SPDX-License-Identifier: MIT */
/*
 * signals.h - the scoring signals of vc-score besides Sigma and IOCs:
 * heuristics for known-bad patterns (lib/heuristics.c), rarity by
 * stacking, least frequency of occurrence (lib/stack.c), and an
 * unsupervised outlier model over per-host features (lib/model.c).
 * Each signal appends indicator objects shaped as in sigma.h, with a
 * "weight" in (0,1) instead of a "level"; lib/score.c combines them.
 *
 * Ownership: rows are borrowed; *hits (an array, or invalid to start
 * one) is owned by the caller in and out.  A vc_stack belongs to its
 * caller and is freed with vc_stack_free; jv values it returns are the
 * caller's.  Nothing here keeps a pointer to a row after returning.
 */
#ifndef VC_SIGNALS_H
#define VC_SIGNALS_H
#include <stddef.h>
#include <jv.h>
#include "core/vc.h"

/*
 * The value of row (borrowed) at path: a top-level key first (which may
 * hold dots, like "Laddr.IP"), else the dotted path (Hash.SHA256).
 * Returns it owned, or invalid when absent.
 */
jv vc_row_get(jv row, const char *path);

/* ---- heuristics ------------------------------------------------------- */

/*
 * Append one indicator per rule that fires:
 *   {"kind":"heuristic","id":"H001","title",...,"weight":0.6,
 *    "evidence":[{"field","value"}...]}
 * row borrowed (Velociraptor Pslist columns, Sysmon-like fields, at the
 * top level or under EventData).  Returns the number appended.
 */
int vc_heuristics(jv row, jv *hits);

struct vc_heuristic_info {
	const char *id, *title;
	double weight;
	const char *why;
};
/* The rules, in id order; *n gets their count.  Static storage. */
const struct vc_heuristic_info *vc_heuristics_table(size_t *n);

/*
 * Whether a Windows or Unix path lies in a directory any user can write
 * (\Temp\, \AppData\, \Users\Public\, \ProgramData\, /tmp/, /dev/shm/,
 * /var/tmp/), case-insensitive.  Shared with the model's features.
 */
int vc_path_user_writable(const char *path);
/* Whether a command line runs PowerShell with an encoded command. */
int vc_cmdline_encoded(const char *cmdline);

/* ---- rarity stacking ---------------------------------------------------- */

/*
 * A key is the values of fields (dotted paths like Hash.SHA256, or names
 * with literal dots like "Laddr.IP", tried first as a top-level key).
 * Values are grouped case-insensitively (C:\Windows\system32 and
 * C:\Windows\System32 are one executable); the key shown is the first
 * spelling seen.  A row lacking every field is not counted.  The host of
 * a row is its ClientId, else Fqdn, else Hostname/hostname, else the
 * caller's default.
 */
struct vc_stack;
struct vc_stack *vc_stack_new(const char *fields_csv);   /* NULL on bad spec */
void vc_stack_add(struct vc_stack *s, jv row, const char *default_host);   /* row borrowed */
/* The same with the host given (the store knows it better than the row). */
void vc_stack_add_host(struct vc_stack *s, jv row, const char *host);
size_t vc_stack_hosts(const struct vc_stack *s);        /* distinct hosts seen overall */
size_t vc_stack_keys(const struct vc_stack *s);         /* distinct keys */
int vc_stack_oom(const struct vc_stack *s);             /* 1 once memory ran out */
/*
 * The counts, rarest first (fewest hosts, then fewest rows, then key): an
 * array of {"key":{field:value...},"hosts":n,"rows":n,"host_ids":[...]}
 * (the first VC_STACK_MAX_LIST host ids seen), keys on at most max_hosts
 * hosts (0: all).
 */
#define VC_STACK_MAX_LIST 10
jv vc_stack_result(const struct vc_stack *s, size_t max_hosts);
/*
 * Append {"kind":"rarity","id":"rarity:<fields>","title":"seen on 1 of 200
 * hosts","weight":w,"hosts":h,"fleet":H,"evidence":[{"field","value"}...]}
 * when the row's key is seen on at most max_hosts hosts or on at most
 * max_frac of all hosts (either; both 0 means max_hosts 1).  A key the
 * stack has not seen counts as one host.  w = 0.4 * c * (1 - ln h / ln H)
 * with the confidence c = min(1, ln H / ln 100): larger the rarer, at
 * most 0.4, smaller in small fleets; nothing under 5 hosts.  Returns the
 * number appended (0 or 1).
 */
#define VC_RARITY_MAX_WEIGHT 0.4
#define VC_RARITY_MIN_FLEET 5
int vc_stack_rarity(const struct vc_stack *s, jv row, const char *default_host,
    size_t max_hosts, double max_frac, jv *hits);
void vc_stack_free(struct vc_stack *s);
/*
 * Fill a stack from the tenant's stored artifact rows (all artifacts, or
 * those named artifact_name), streaming rows from SQLite: memory grows
 * with distinct keys and (key, host) pairs, not rows.  A row's host is
 * its stored host id (the row's, else its artifact's), else as for
 * vc_stack_add.  Artifacts whose import failed are skipped.  Returns
 * VC_EOK or an error (ctx says why).
 */
int vc_stack_from_store(vc_ctx *ctx, struct vc_stack *s, const char *artifact_name);

/* ---- outlier model ------------------------------------------------------ */

/*
 * Per-host features from the tenant's stored rows (see lib/model.c for
 * the list), an isolation forest (fixed seed, VC_MODEL_TREES trees,
 * subsample VC_MODEL_SAMPLE) over every host with rows, and for one host
 * (hosts.id, or a client id or hostname naming one):
 *   {"kind":"model","id":"iforest/1","title":"host stands out among N hosts",
 *    "weight":w<=0.3,"score":s,"version":VC_MODEL_VERSION,
 *    "evidence":[{"field":feature,"value":x,"fleet_median":m}...top 3]}
 * appended when s exceeds VC_MODEL_THRESHOLD.  Deterministic: the same
 * store gives the same output.  Under VC_MODEL_MIN_HOSTS hosts, nothing.
 * Returns the number of hits appended (0 or 1), or -1 with ctx set.
 */
#define VC_MODEL_VERSION "iforest-1"
#define VC_MODEL_TREES 100
#define VC_MODEL_SAMPLE 256
#define VC_MODEL_MIN_HOSTS 8
#define VC_MODEL_MAX_WEIGHT 0.3
#define VC_MODEL_THRESHOLD 0.55
int vc_model_host(vc_ctx *ctx, const char *host_id, jv *hits);
/* The features of one host, {name: value...}, for `analyze host`.
 * VC_ENOTFOUND when the host has no stored rows. */
int vc_model_features(vc_ctx *ctx, const char *host_id, jv *features);
/*
 * Every host, most anomalous first: an array of {"host_id","score",
 * "features":{...}} (score 0 for all when under VC_MODEL_MIN_HOSTS).
 */
int vc_model_scores(vc_ctx *ctx, jv *out);
/* The feature names, in vector order, with what each measures. */
struct vc_model_feature_info {
	const char *name, *what;
};
const struct vc_model_feature_info *vc_model_features_table(size_t *n);

/*
 * Prevalence (prevalence.c): how many of the input's hosts each detection
 * is on.  vc_prev_add counts a scored row's indicators (all but rarity
 * and model ones) on its host: ClientId, else Fqdn, Hostname, Computer,
 * System.Computer or Event.System.Computer, else "(unknown)".
 * vc_prev_apply then rewrites a vc_score object: each such indicator gets
 * "prevalence": {"hosts": h, "of": H} and, with H at least
 * VC_PREV_MIN_HOSTS, "mark": "common" when h / H >= common (its weight,
 * kept as "weight_before", times VC_PREV_COMMON_FACTOR) or "rare" when
 * h <= max(1, rare * H); the score is the noisy-OR of the new weights,
 * and a row whose indicators are all common is held below high
 * (VC_PREV_COMMON_CAP).
 */
#define VC_PREV_MIN_HOSTS 10
#define VC_PREV_COMMON_FACTOR 0.25
#define VC_PREV_COMMON_CAP 0.5999
struct vc_prev;
struct vc_prev *vc_prev_new(double common, double rare);    /* shares, 0 to 1 */
int vc_prev_add(struct vc_prev *p, jv row, jv score);       /* borrowed; -1 no memory */
jv vc_prev_apply(const struct vc_prev *p, jv score);        /* consumed; the new score */
void vc_prev_free(struct vc_prev *p);
jv vc_prev_host(jv row);        /* borrowed; the host as above (a string) */
/*
 * Hosts ranked (top.c): vc_top_add counts one scored row of host (both
 * consumed) into t; vc_top_rank gives the first limit hosts, highest
 * score first (then most flagged rows, then name), each {"host",
 * "score", "classification", "rows", "flagged", "top": its
 * VC_TOP_INDICATORS strongest indicators}, and empties t (invalid: no
 * memory).
 */
#define VC_TOP_INDICATORS 3
struct vc_top;
struct vc_top *vc_top_new(void);
void vc_top_add(struct vc_top *t, jv host, jv score);
jv vc_top_rank(struct vc_top *t, int64_t limit);
void vc_top_free(struct vc_top *t);
/* score (consumed) with "explain": a line per indicator (its weight, and
 * before prevalence), and how the score follows from them. */
jv vc_score_explain(jv score);

#endif
