/* SPDX-License-Identifier: MIT */
/*
 * records.h - a tenant's records found by id, below every domain file.
 * An id of another tenant is VC_ENOTFOUND "no such TYPE: KEY", exactly
 * like a missing one; the attempt is noted (vc_deny_audit) so that the
 * dispatcher audits authz.denied after the operation fails.
 */
#ifndef VC_RECORDS_H
#define VC_RECORDS_H
#include "core/vc.h"

/* Note that the caller reached for another tenant's record (type, id). */
void vc_deny_audit(vc_ctx *ctx, const char *type, const char *id);

/*
 * Does unscoped (?1 the key) find a row in any tenant?  1, 0, or -1 with
 * ctx set.  Every tenant is looked at on PostgreSQL too, past row-level
 * security (vc_unscoped): only for an existence check.
 */
int vc_in_any_tenant(vc_ctx *ctx, const char *unscoped, const char *key);

/*
 * The end of a lookup or change in the caller's tenant that found no key:
 * VC_ENOTFOUND "no such WHAT: KEY".  unscoped asks whether key exists in
 * any tenant (?1 the key); when it does, the attempt is noted as one on a
 * record of type (vc_deny_audit).
 */
int vc_not_found(vc_ctx *ctx, const char *type, const char *what, const char *unscoped,
    const char *key);

/*
 * The id of the caller's tenant's record named by key.  scoped is a query
 * of that id with ?1 the tenant and ?2 the key; unscoped asks whether key
 * exists in any tenant (?1 the key), only so that a cross-tenant attempt
 * is audited.
 */
int vc_resolve_id(vc_ctx *ctx, const char *type, const char *key, const char *scoped,
    const char *unscoped, char id[VC_ID_LEN + 1]);

/* A host by id or Velociraptor client id; an artifact; a case. */
int vc_host_resolve(vc_ctx *ctx, const char *key, char id[VC_ID_LEN + 1]);
int vc_artifact_resolve(vc_ctx *ctx, const char *key, char id[VC_ID_LEN + 1]);
int vc_case_resolve(vc_ctx *ctx, const char *key, char id[VC_ID_LEN + 1]);
#endif
