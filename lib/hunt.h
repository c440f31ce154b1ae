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
#endif
