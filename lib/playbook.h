/* SPDX-License-Identifier: MIT */
/*
 * playbook.h - vc-playbook: automated response.  A playbook is a
 * document (YAML or JSON, see vc-playbook(5)) of a trigger and steps;
 * each step runs one action with parameters templated from the trigger
 * event and the outputs of earlier steps.  Playbooks keep every version;
 * executions record each step's status, parameters, output, error and
 * times.  plan resolves a playbook against an event and touches nothing.
 *
 * Executions run with no transaction open while an action waits on a
 * peer; each step's record is written in a short transaction of its own,
 * with the audit record of its action, so a failure midway leaves the
 * execution record as far as it got.
 *
 * Ownership: the operations follow ops.h (args borrowed, *out owned by
 * the caller).
 */
#ifndef VC_PLAYBOOK_H
#define VC_PLAYBOOK_H
#include "core/vc.h"
#define VC_PB_APPROVAL_TTL (24 * 3600)  /* s an execution waits for approval */
int vc_op_pb_check(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_create(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_update(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_enable(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_disable(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_delete(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_plan(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_run(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_executions(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_execution(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_approve(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_cancel(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_due(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_settings_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_pb_settings_set(vc_ctx *ctx, jv args, jv *out);
int vc_op_blocklist_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_blocklist_add(vc_ctx *ctx, jv args, jv *out);
int vc_op_blocklist_remove(vc_ctx *ctx, jv args, jv *out);
int vc_op_blocklist_export(vc_ctx *ctx, jv args, jv *out);
/*
 * vc-serve's scheduler: the due triggers of every tenant that has event
 * or scheduled playbooks, each run in its tenant's name as the system
 * actor named actor (an admin's rights), as `vc-playbook due --run`
 * would; the lease and the idempotency keys keep it and cron from
 * running anything twice.  *ran gets the executions started.  Leaves
 * ctx->who empty.  0, or the first tenant's error (the others still run).
 */
int vc_pb_due_all(vc_ctx *ctx, const char *actor, int *ran);
/*
 * Check a playbook document (any JSON value, borrowed): 0 and the
 * normalised document in *norm, or VC_EINVAL with every problem in
 * *errors (an array of {path, error}) and ctx naming the first.
 */
int vc_pb_check_doc(vc_ctx *ctx, jv doc, jv *norm, jv *errors);
#endif
