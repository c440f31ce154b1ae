/* SPDX-License-Identifier: MIT */
/* hunt.h - the operations of vc-hunt (Velociraptor). */
#ifndef VC_HUNT_H
#define VC_HUNT_H
#include "core/vc.h"
int vc_op_vr_config_set(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_config_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_config_test(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_config_delete(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_clients(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_client(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_clients_sync(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_collect(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_flow(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_flow_results(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_hunt_create(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_hunts_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_hunt_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_hunt_stop(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_hunt_results(vc_ctx *ctx, jv args, jv *out);
int vc_op_vr_query(vc_ctx *ctx, jv args, jv *out);
/*
 * Wait until a flow ends (FINISHED or ERROR), or a hunt (stopped, or
 * every scheduled client finished), polling; after timeout seconds
 * VC_ETEMP saying how far it got.  *last gets the last state seen (the
 * caller frees it, also on failure).  No transaction may be open.
 */
int vc_hunt_wait_flow(vc_ctx *ctx, const char *client, const char *flow, uint64_t timeout, jv *last);
int vc_hunt_wait_hunt(vc_ctx *ctx, const char *hunt_id, uint64_t timeout, jv *last);
#endif
