/* SPDX-License-Identifier: MIT */
/* hosts.h - the operations of vc-hosts. */
#ifndef VC_HOSTS_H
#define VC_HOSTS_H
#include <stddef.h>
#include "vc.h"
int vc_op_hosts_import(vc_ctx *ctx, jv args, jv *out);
int vc_op_hosts_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_hosts_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_hosts_update(vc_ctx *ctx, jv args, jv *out);
int vc_op_hosts_delete(vc_ctx *ctx, jv args, jv *out);
/* The host id of the caller's tenant named by id or client id. */
int vc_host_resolve(vc_ctx *ctx, const char *key, char id[VC_ID_LEN + 1]);
/* An address's 16-byte sort key (IPv4 mapped); drops a port. 0 or -1. */
int vc_ip_key(const char *s, unsigned char key[16], char *clean, size_t cn);
/*
 * Insert or update one host from a record (a clients() row or the plain
 * shape; mode "velociraptor", "generic" or NULL to tell by the record).
 * Inside a transaction.  A record that cannot be a host is VC_EINVAL
 * with *why set (static text).  rec is borrowed.
 */
int vc_host_upsert_json(vc_ctx *ctx, jv rec, const char *mode, const char **why, int *created);
#endif
