/* SPDX-License-Identifier: MIT */
/*
 * channels.h - delivery of the event log to places outside the store: a
 * file (JSON Lines, appended) or a webhook (a JSON batch POSTed, signed
 * with HMAC-SHA256).  Each channel keeps a durable cursor, the id of the
 * last event it delivered, advanced only after a delivery succeeded: at
 * least once, in order, resumed where it stopped.  No transaction is open
 * while a receiver is waited on.
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
 * The dead-letter list: an event a channel failed to deliver
 * max_failures times in a row (a channel option; 0: never) is set aside
 * in notify_dead and the cursor moves past it.  vc-notify dead list
 * [--channel NAME]; vc-notify dead retry ID|--all [--channel NAME]
 * delivers them again (out of the log's order) and drops those taken.
 */
int vc_op_dead_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_dead_retry(vc_ctx *ctx, jv args, jv *out);
#endif
