/* SPDX-License-Identifier: MIT */
/*
 * records.c - a tenant's records found by id.  Every lookup binds the
 * caller's tenant; an id that exists in another tenant answers exactly
 * like a missing one, and the attempt is noted for the authz.denied audit
 * record the dispatcher writes (vc_deny_audit).
 */
#include <stdio.h>

#include "core/records.h"
#include "core/audit.h"
#include "core/store.h"

void
vc_deny_audit(vc_ctx *ctx, const char *type, const char *id)
{
	ctx->denied = 1;
	vc_audit_target(ctx, type, id ? id : "");
}

int
vc_in_any_tenant(vc_ctx *ctx, const char *unscoped, const char *key)
{
	vc_stmt *q = vc_unscoped(vc_sql(ctx, unscoped, "s", key));
	int r = q == NULL ? -1 : vc_sql_step(ctx, q);

	vc_stmt_done(q);
	return r;
}

int
vc_not_found(vc_ctx *ctx, const char *type, const char *what, const char *unscoped,
    const char *key)
{
	if (vc_in_any_tenant(ctx, unscoped, key) == 1)
		vc_deny_audit(ctx, type, key);
	return vc_fail(ctx, VC_ENOTFOUND, "no such %s: %.64s", what, key);
}

int
vc_resolve_id(vc_ctx *ctx, const char *type, const char *key, const char *scoped,
    const char *unscoped, char id[VC_ID_LEN + 1])
{
	vc_stmt *q;
	int rc;

	if (key == NULL || *key == '\0')
		return vc_fail(ctx, VC_EUSAGE, "missing %s id", type);
	if ((q = vc_sql(ctx, scoped, "ss", ctx->who.tenant_id, key)) == NULL)
		return ctx->err;
	rc = vc_sql_step(ctx, q);
	if (rc == 1)
		snprintf(id, VC_ID_LEN + 1, "%s", (const char *)vc_col_text(q, 0));
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	if (rc == 1)
		return 0;
	return vc_not_found(ctx, type, type, unscoped, key);
}

/* Find a host of the caller's tenant by id or client id. */
int
vc_host_resolve(vc_ctx *ctx, const char *key, char id[VC_ID_LEN + 1])
{
	return vc_resolve_id(ctx, "host", key, "SELECT id FROM hosts WHERE tenant_id = ?1"
	    " AND (id = ?2 OR client_id = ?2)",
	    /* unscoped: existence check only, to audit a cross-tenant attempt */
	    "SELECT 1 FROM hosts WHERE id = ?1 OR client_id = ?1", id);
}

int
vc_artifact_resolve(vc_ctx *ctx, const char *key, char id[VC_ID_LEN + 1])
{
	return vc_resolve_id(ctx, "artifact", key,
	    "SELECT id FROM artifacts WHERE tenant_id = ?1 AND id = ?2",
	    /* unscoped: existence check only, to audit a cross-tenant attempt */
	    "SELECT 1 FROM artifacts WHERE id = ?1", id);
}

/*
 * Find a case of the caller's tenant.  An id of another tenant fails like
 * a missing one, and the attempt is noted for the authz.denied audit.
 */
int
vc_case_resolve(vc_ctx *ctx, const char *key, char id[VC_ID_LEN + 1])
{
	return vc_resolve_id(ctx, "case", key, "SELECT id FROM cases WHERE tenant_id = ?1 AND id = ?2",
	    /* unscoped: existence check only, to audit a cross-tenant attempt */
	    "SELECT 1 FROM cases WHERE id = ?1", id);
}
