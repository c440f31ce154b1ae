/* SPDX-License-Identifier: MIT */
/* hosts.h - the operations of vc-hosts. */
#ifndef VC_HOSTS_H
#define VC_HOSTS_H
#include <stddef.h>
#include "core/vc.h"
int vc_op_hosts_import(vc_ctx *ctx, jv args, jv *out);
int vc_op_hosts_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_hosts_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_hosts_update(vc_ctx *ctx, jv args, jv *out);
int vc_op_hosts_delete(vc_ctx *ctx, jv args, jv *out);
/*
 * Insert or update one host from a record (a clients() row or the plain
 * shape; mode "velociraptor", "generic" or NULL to tell by the record).
 * Inside a transaction.  A record that cannot be a host is VC_EINVAL
 * with *why set (static text).  rec is borrowed.
 */
/* Keep the host search index (hosts_search) in step with host id's names:
 * drop its entry before they change or the host is deleted, add it after
 * the host is inserted or renamed.  Inside the writer's transaction. */
int vc_host_search_drop(vc_ctx *ctx, const char *id);
int vc_host_search_add(vc_ctx *ctx, const char *id);
/*
 * Record that Velociraptor confirmed host id's quarantine (on) or its
 * release, by playbook execution exec_id: the host's quarantine fields,
 * an audit record (hosts.quarantine or hosts.release, with details) and
 * the event host.quarantined or host.released, all inside the caller's
 * transaction.  details (an object: flow, artifact ...) is consumed.
 * *out gets the host's quarantine fields.
 */
int vc_host_quarantine(vc_ctx *ctx, const char *id, int on, const char *exec_id, jv details,
    jv *out);
int vc_host_upsert_json(vc_ctx *ctx, jv rec, const char *mode, const char **why, int *created);
#endif
