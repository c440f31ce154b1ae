/* SPDX-License-Identifier: MIT */
/*
 * storecopy.h - vc-auth store copy: an installation's SQLite store moved
 * into a PostgreSQL one (every tenant, every table, ids kept), by COPY,
 * resumable, verified by counts.
 *
 * Ownership: the operation follows ops.h (*out is the caller's).
 */
#ifndef VC_STORECOPY_H
#define VC_STORECOPY_H

#include "core/vc.h"

/*
 * args: "from" (the SQLite store, already open as ctx->store: the CLI
 * opens and authenticates against it), "to" (a postgresql:// URL of the
 * schema's owner).  One record per table: {table, source, target,
 * copied, ok}; VC_EINVAL when a count differs, VC_ECONFLICT when the
 * target holds rows that are not a copy of this source.
 */
int vc_op_store_copy(vc_ctx *ctx, jv args, jv *out);

#endif
