/* SPDX-License-Identifier: MIT */
/*
 * events.h - the event log: one row in `events` per change that matters
 * (a stored score, new hosts, a case opened or changed, a hunt started or
 * done, an artifact imported), written in the transaction of the change,
 * and the tenant's notification rules run on it there: a rule whose type
 * glob matches and whose jq condition (a caller's program, run under the
 * limits of json/jqprog.h) holds on the body adds a notification.  A
 * condition that fails (an error, a timeout) skips its rule for that
 * event and never fails the change.
 * Readers (vc-notify events, the notification rules, vc-serve's push)
 * keep the last id they saw: ids only grow.
 *
 * Ownership: vc_event_emit consumes body.
 */
#ifndef VC_EVENTS_H
#define VC_EVENTS_H
#include "core/vc.h"

/*
 * Append an event of type ("case.created") for ctx's tenant, inside the
 * caller's open transaction, and run the tenant's notification rules on
 * it (notify.h).  body is an object (consumed).  *id (may be NULL) gets
 * the event's id.  Fails only when the store does: the caller then rolls
 * its change back with the event.
 */
int vc_event_emit(vc_ctx *ctx, const char *type, jv body, int64_t *id);
/* The same for tenant (an audit record of another tenant than the
 * caller's): the event, its rules and their targets are tenant's. */
int vc_event_emit_in(vc_ctx *ctx, const char *tenant, const char *type, jv body, int64_t *id);

/*
 * Notifications, the writing side (the rules run here, so every tool that
 * emits an event makes its notifications; lib/notify.c holds the rest).
 * vc_notify_target resolves "role:NAME" (*min_role gets its rank),
 * "user:NAME" in ctx's tenant (user_id gets the id) or "channel:NAME"
 * (neither set; see vc_notify_channel) and writes the target as stored
 * into canon.  vc_notify_insert adds one notification
 * (event_id, rule_id 0: none); *id gets its id.  Inside a transaction.
 */
int vc_notify_target(vc_ctx *ctx, const char *to, char user_id[VC_ID_LEN + 1], int *min_role,
    char *canon, size_t n);
int vc_notify_insert(vc_ctx *ctx, const char *to, const char *title, const char *body,
    int64_t event_id, int64_t rule_id, int64_t *id);
/*
 * Channels as targets.  vc_notify_channel resolves "channel:NAME" in
 * ctx's tenant: *id gets the channel's id and canon the target as stored;
 * VC_ENOTFOUND when the tenant has no such channel (another tenant's is
 * not found either), VC_EUSAGE for a channel of the audit chain.
 * vc_notify_mark marks an event for a channel (rule_id 0: by hand), in
 * the event's transaction; the channel's forwarder delivers it
 * (channels.h).  vc_notify_insert to "channel:NAME" sends by hand: an
 * event notification.sent {to, title, subject, body, by} marked for the
 * channel, *id its event id.
 */
int vc_notify_channel(vc_ctx *ctx, const char *to, int64_t *id, char *canon, size_t n);
int vc_notify_mark(vc_ctx *ctx, int64_t channel_id, int64_t event_id, int64_t rule_id);
/* 1 when s holds a control character (newlines: but \n and \t). */
int vc_has_ctrl(const char *s, int newlines);

/* vc-notify events [--since ID] [--type GLOB] [--follow] [--limit N]. */
int vc_op_events(vc_ctx *ctx, jv args, jv *out);

/*
 * Wait until the store changes (another connection committed), *stop is
 * raised, or max_ms pass (0: no limit), polling PRAGMA data_version every
 * poll_ms with no transaction open.  *ver carries the last version seen
 * (-1 to start: the first read is the baseline).  Returns 1 when it
 * changed, 0 when stopped, VC_WAIT_TIMEOUT when max_ms passed, or a
 * VC_E* code.
 */
#define VC_WAIT_TIMEOUT (-2)
int vc_store_wait_change(vc_ctx *ctx, int64_t *ver, int poll_ms, int64_t max_ms);
/* PRAGMA data_version of ctx's connection, or -1 with ctx set. */
int64_t vc_store_data_version(vc_ctx *ctx);

/*
 * Retention.  vc_events_prune removes tenant's events created more than
 * older_than seconds ago, and their notifications (and notifications
 * sent by hand as old), but never an event after the slowest channel's
 * cursor: what a channel has not delivered stays, whatever its age.  It
 * runs in batches of short transactions (the caller holds none) and
 * stops early when *ctx->stop is raised.  *out gets {tenant_id, events,
 * notifications, before, kept_after}.  vc_events_prune_all does every
 * tenant (vc-serve's retention job, a superadmin's prune), auditing each
 * as events.prune; *out gets an array of the same rows.  A tenant's own
 * retention (vc-notify events keep) replaces older_than unless force.
 */
#define VC_EVENT_RETENTION_DEF (30 * 86400)
int vc_events_prune(vc_ctx *ctx, const char *tenant, int64_t older_than, jv *out);
int vc_events_prune_all(vc_ctx *ctx, int64_t older_than, int force, jv *out);
/* vc-notify events prune [--older-than DURATION]: the caller's tenant
 * (a superadmin: every tenant). */
int vc_op_events_prune(vc_ctx *ctx, jv args, jv *out);
/* vc-notify events retention: the tenant's own setting; events keep
 * DURATION|default: set it (admin). */
int vc_op_events_retention(vc_ctx *ctx, jv args, jv *out);
int vc_op_events_keep(vc_ctx *ctx, jv args, jv *out);
#endif
