/* SPDX-License-Identifier: MIT */
/*
 * pbint.h - what the files of vc-playbook share (playbook.c: documents
 * and the store; pbrun.c: executions and actions; blocklist.c).
 */
#ifndef VC_PBINT_H
#define VC_PBINT_H
#include <stddef.h>
#include <stdint.h>
#include "core/vc.h"
struct vc_pb_action {
	const char *name;
	const char *params[8];  /* "!name": required */
	const char *outputs[8]; /* what ${steps.NAME.FIELD} may name */
	int net;                /* talks to a peer: run with no transaction open */
};
extern const struct vc_pb_action vc_pb_actions[];
const struct vc_pb_action *vc_pb_action(const char *name);
/* The document of ctx->in (JSON, else YAML) into *doc. */
int vc_pb_read_doc(vc_ctx *ctx, jv *doc);
/*
 * A cron expression: bit n of f[i] set when value n matches field i.
 * The two day fields follow Vixie cron (and POSIX): when both are
 * restricted, a day matches when either does; when either begins with
 * '*' (also '*' + '/N'), both must.
 */
struct vc_pb_cron {
	uint64_t f[5];
	int dom_star, dow_star;  /* the day-of-month, day-of-week field began with '*' */
};
int vc_pb_cron_parse(const char *expr, struct vc_pb_cron *cr, char *why, size_t wn);
/* The first minute after t (seconds) that cr matches in time zone tz. */
int64_t vc_pb_cron_next(const struct vc_pb_cron *cr, const char *tz, int64_t t);
/* 0 when ref is names and indexes joined by dots. */
int vc_pb_ref_syntax(const char *ref);
/* v (consumed) with its ${...} resolved in scope (borrowed); invalid
 * with why set when a reference names nothing. */
jv vc_pb_render(jv v, jv scope, int plan, int *pending, char *why, size_t wn);
int vc_pb_resolve(vc_ctx *ctx, const char *key, char id[VC_ID_LEN + 1]);
int vc_pb_load(vc_ctx *ctx, const char *id, int64_t version, jv *out);
/* Set a scheduled playbook's next run from its document (borrowed). */
int vc_pb_schedule(vc_ctx *ctx, const char *id, jv norm);
/* Add (or renew) address or network a on ctx's tenant's blocklist, for
 * secs (0: no expiry), noting the execution that asked; *out gets the
 * entry {entry_id, address, ...}.  Inside the caller's transaction. */
int vc_pb_block_add(vc_ctx *ctx, const char *a, const char *reason, const char *exec_id,
    int64_t secs, jv *out);
/* The quarantine artifact for a host of OS os (hosts.os) in ctx's tenant:
 * the tenant's setting, else Velociraptor's own name; "" for an OS that
 * has none.  0, or the store's error. */
int vc_pb_quarantine_artifact(vc_ctx *ctx, const char *os, char *buf, size_t n);
#endif
