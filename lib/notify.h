/* SPDX-License-Identifier: MIT */
/*
 * notify.h - notifications and the rules that make them from events.
 *
 * A notification is for one user (target "user:NAME") or for every user
 * of the tenant whose role is at least NAME ("role:NAME"); read state is
 * kept per reader.  A target "channel:NAME" is no notification: the event
 * (a rule's, or notification.sent for one sent by hand) is marked for
 * that channel, whose forwarder delivers it (channels.h).  Rules ("on TYPE-GLOB when JQ to TARGET") run when an
 * event is emitted, in the transaction of the change that emitted it
 * (core/events.c): the notification exists exactly when the change does.  The condition is a caller's jq program and runs under the limits
 * of json/jqprog.h; a condition that fails on an event (an error, a
 * timeout) skips that rule for that event and never fails the change.
 */
#ifndef VC_NOTIFY_H
#define VC_NOTIFY_H
#include "core/vc.h"

/*
 * The notifications ctx->who may see with an id above since, oldest
 * first, at most limit, as an array in *out: for the WebSocket push.
 */
int vc_notify_visible(vc_ctx *ctx, int64_t since, int64_t limit, jv *out);
/*
 * For vc-serve's push: the notifications of every tenant after since,
 * oldest first, at most limit, each with the members _tenant, _user and
 * _min_role saying who may see it (the rule of vc_notify_visible: that
 * user, or the tenant's users of at least that role).  Unscoped on
 * purpose: the caller hands each row only to those.  vc_notify_max_id
 * is the newest id of all (-1: error).
 */
int vc_notify_after(vc_ctx *ctx, int64_t since, int64_t limit, jv *out);
int64_t vc_notify_max_id(vc_ctx *ctx);
/* The id of the tenant's newest notification (0: none; -1: error). */
int64_t vc_notify_last_id(vc_ctx *ctx);

int vc_op_notify_send(vc_ctx *ctx, jv args, jv *out);
int vc_op_notify_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_notify_read(vc_ctx *ctx, jv args, jv *out);
int vc_op_notify_read_all(vc_ctx *ctx, jv args, jv *out);
int vc_op_notify_rule_add(vc_ctx *ctx, jv args, jv *out);
int vc_op_notify_rule_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_notify_rule_delete(vc_ctx *ctx, jv args, jv *out);
#endif
