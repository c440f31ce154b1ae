/* SPDX-License-Identifier: MIT */
/*
 * channels.h - delivery of the event log to places outside the store: a
 * file (JSON Lines, appended), a webhook (a JSON batch POSTed, signed
 * with HMAC-SHA256), a Splunk HEC, Elasticsearch, syslog, mail.  Each
 * channel keeps a durable cursor, the id of the last event it delivered,
 * advanced only after a delivery succeeded: at least once, in order,
 * resumed where it stopped.  No transaction is open while a receiver is
 * waited on.  A channel delivers the events of its own filter (--type,
 * --when) and those the tenant's rules marked for it (rule add --to
 * channel:NAME, send --to channel:NAME: core/events.h), over the same
 * cursor; a channel of --source rules only the marked ones.
 */
#ifndef VC_CHANNELS_H
#define VC_CHANNELS_H
#include "core/vc.h"

int vc_op_channel_add(vc_ctx *ctx, jv args, jv *out);
int vc_op_channel_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_channel_delete(vc_ctx *ctx, jv args, jv *out);
/* vc-notify channel test NAME: one made-up event (id 0, type notify.test)
 * delivered now, outside the cursor; VC_EUNAVAIL when it was not taken. */
int vc_op_channel_test(vc_ctx *ctx, jv args, jv *out);
/* vc-notify forward [--channel NAME] --once|--follow */
int vc_op_forward(vc_ctx *ctx, jv args, jv *out);
/*
 * A forwarder that lasts: vc-serve's thread keeps one for every tenant's
 * channels but those of kind file (a file is written by the account that
 * runs vc-notify forward, never by vc-serve's).  Each pass reads the
 * channels again (new ones are forwarded, deleted ones dropped; a
 * channel's connection and jq child are kept between passes), and
 * delivers, as vc-notify forward does, each channel that has something
 * due and is not waiting for a retry, acting for its tenant as the
 * system actor named tool.
 *
 * One forwarder at a time a channel: a forwarder claims a channel (its
 * name, TOOL@HOST:PID:RANDOM, and a time in lease_holder and lease_until)
 * for 60 s before it delivers, renews the claim every 20 s of work and
 * gives it back when done; a channel another forwarder holds is left to
 * it.  So vc-serve's thread and a vc-notify forward from cron never send
 * the same batch, but when a claim lapses (a forwarder killed, or a batch
 * longer than the lease), where the cursor's compare-and-set still keeps
 * it from moving back: at least once, as documented.  A channel with
 * nothing after its cursor is not claimed: an idle pass writes nothing.
 *
 * vc_forwarder_pass: *out gets an array of a record for each channel
 * that delivered, set events aside, was busy or failed ({channel,
 * tenant_id, delivered, cursor, dead, busy, error}); *retry_ms the
 * milliseconds until the first failed channel's retry is due (0: none
 * failed).  Returns the first failure (the other channels still went).
 * *ctx->stop (read atomically) ends a pass between batches and cuts an
 * HTTP delivery short; a batch cut short comes again.  No transaction is
 * open while a receiver is waited on.  ctx->who is left cleared.
 */
struct vc_forwarder;
int vc_forwarder_new(vc_ctx *ctx, const char *tool, struct vc_forwarder **out);
int vc_forwarder_pass(vc_ctx *ctx, struct vc_forwarder *f, const char *tool, jv *out,
    int64_t *retry_ms);
void vc_forwarder_free(struct vc_forwarder *f);
/*
 * The dead-letter list: an event a channel failed to deliver
 * max_failures times in a row (a channel option; 0: never) is set aside
 * in notify_dead and the cursor moves past it.  vc-notify dead list
 * [--channel NAME]; vc-notify dead retry ID|--all [--channel NAME]
 * delivers them again (out of the log's order) and drops those taken.
 */
int vc_op_dead_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_dead_retry(vc_ctx *ctx, jv args, jv *out);
#endif
