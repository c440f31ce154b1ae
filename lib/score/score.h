/* SPDX-License-Identifier: MIT */
/*
 * score.h - the score model of vc-score (see lib/score.c for the formula)
 * and its operations.
 *
 * Ownership: a vc_scorer is made by vc_scorer_new and freed with
 * vc_scorer_free; vc_scorer_row borrows the row and returns a new
 * vc_score object; vc_score_combine consumes its hits.
 */
#ifndef VC_SCORE_H
#define VC_SCORE_H
#include "core/vc.h"

#define VC_SCORE_MODEL_VERSION "vc-score/1"

struct vc_scorer;
int vc_scorer_new(vc_ctx *ctx, jv args, struct vc_scorer **out);
jv vc_scorer_row(struct vc_scorer *sc, jv row, const char *default_host);
void vc_scorer_free(struct vc_scorer *sc);
jv vc_score_combine(jv hits, const char *const *evaluated, int nevaluated);
const char *vc_score_class(double score);
int vc_score_level(const char *classification);     /* 0..4, or -1 */

int vc_op_score(vc_ctx *ctx, jv args, jv *out);
int vc_op_stack(vc_ctx *ctx, jv args, jv *out);
/* top --by host: hosts of scored rows, highest score first (top.c). */
int vc_op_top(vc_ctx *ctx, jv args, jv *out);
int vc_op_analyze_host(vc_ctx *ctx, jv args, jv *out);
int vc_op_analyze_artifact(vc_ctx *ctx, jv args, jv *out);
/* analyze hunt: the hunt's stored rows scored with parents and prevalence,
 * its hosts ranked as top ranks them. */
int vc_op_analyze_hunt(vc_ctx *ctx, jv args, jv *out);
int vc_op_scores(vc_ctx *ctx, jv args, jv *out);
int vc_op_heuristics(vc_ctx *ctx, jv args, jv *out);
int vc_op_rules_check(vc_ctx *ctx, jv args, jv *out);
int vc_op_rules_list(vc_ctx *ctx, jv args, jv *out);
/* The directory of the default Sigma rule set (VC_ECONFIG when absent). */
int vc_score_default_rules(vc_ctx *ctx, char *buf, size_t n);
#endif
