/* SPDX-License-Identifier: MIT */
/*
 * timeline.c - the part of a case that other records write to: its
 * append-only timeline (case_notes) and its links to hosts and artifacts.
 * Cases, hosts and artifacts all use it; it uses none of them, so they
 * do not depend on each other.  Every function runs inside the caller's
 * transaction and binds the caller's tenant.
 */
#include <stdio.h>
#include <string.h>

#include "core/records.h"
#include "core/store.h"
#include "timeline.h"

static const char *
nz(const char *s)
{
	return s && *s ? s : NULL;
}

/* Append one entry to the case's timeline; *note_id (may be NULL) gets its id. */
int
vc_case_timeline(vc_ctx *ctx, const char *case_id, const char *kind, const char *body, int64_t *note_id)
{
	int rc = vc_sql_exec(ctx, "INSERT INTO case_notes (tenant_id, case_id, author_id, author,"
	    " kind, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", NULL, "ssssssi",
	    ctx->who.tenant_id, case_id, nz(ctx->who.user_id), nz(ctx->who.username), kind, body,
	    vc_now(ctx));

	if (rc == 0 && note_id != NULL)
		*note_id = (int64_t)vc_last_insert_id(ctx);
	return rc;
}

/* An event entry; body (a jv string) is consumed. */
int
vc_case_event(vc_ctx *ctx, const char *case_id, jv body)
{
	int rc = vc_case_timeline(ctx, case_id, "event", jv_string_value(body), NULL);

	jv_free(body);
	return rc;
}

/* A change to the timeline or the links is a change to the case. */
int
vc_case_touch(vc_ctx *ctx, const char *case_id)
{
	return vc_sql_exec(ctx, "UPDATE cases SET updated_at = ?1 WHERE tenant_id = ?2 AND id = ?3",
	    NULL, "iss", vc_now(ctx), ctx->who.tenant_id, case_id);
}

/* What the timeline calls a link target: "host web01", "artifact NAME (ID)". */
int
vc_case_target_label(vc_ctx *ctx, const char *kind, const char *target_id, jv *label)
{
	int host = strcmp(kind, "host") == 0, rc;
	vc_stmt *q = host ?
	    vc_sql(ctx, "SELECT hostname FROM hosts WHERE tenant_id = ?1 AND id = ?2", "ss",
		ctx->who.tenant_id, target_id) :
	    vc_sql(ctx, "SELECT name FROM artifacts WHERE tenant_id = ?1 AND id = ?2", "ss",
		ctx->who.tenant_id, target_id);

	if (q == NULL)
		return ctx->err;
	rc = vc_sql_step(ctx, q);
	if (rc == 1)
		*label = host ? jv_string_fmt("host %s", (const char *)vc_col_text(q, 0)) :
		    jv_string_fmt("artifact %s (%s)", (const char *)vc_col_text(q, 0), target_id);
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	if (rc == 0)
		return vc_fail(ctx, VC_ENOTFOUND, "no such %s: %.64s", kind, target_id);
	return 0;
}

/* ---- links ------------------------------------------------------------ */

int
vc_case_link_add(vc_ctx *ctx, const char *case_id, const char *kind, const char *target_id)
{
	char id[VC_ID_LEN + 1];
	jv label = jv_invalid();
	int rc, n = 0;

	/* The link and its timeline entry belong to the caller's change. */
	if (ctx->store == NULL || !ctx->store->in_tx)
		return vc_fail(ctx, VC_EINTERNAL, "vc_case_link_add needs an open transaction");
	if (strcmp(kind, "host") != 0 && strcmp(kind, "artifact") != 0)
		return vc_fail(ctx, VC_EINTERNAL, "a case links to a host or an artifact, not '%.16s'", kind);
	if ((rc = vc_case_resolve(ctx, case_id, id)) != 0 || (rc = vc_case_target_label(ctx, kind, target_id, &label)) != 0)
		return rc;
	rc = vc_sql_exec(ctx, "INSERT OR IGNORE INTO case_links (tenant_id, case_id, kind, target_id,"
	    " created_at) VALUES (?1, ?2, ?3, ?4, ?5)", &n, "ssssi", ctx->who.tenant_id, id, kind,
	    target_id, vc_now(ctx));
	/* Linking twice is no change and leaves no second entry. */
	if (rc == 0 && n > 0)
		rc = vc_case_event(ctx, id, jv_string_fmt("linked %s", jv_string_value(label)));
	if (rc == 0 && n > 0)
		rc = vc_case_touch(ctx, id);
	jv_free(label);
	return rc;
}

int
vc_case_unlink_deleted(vc_ctx *ctx, const char *kind, const char *target_id, const char *what)
{
	char body[512];
	int rc;

	snprintf(body, sizeof body, "%s %s deleted; link removed", kind, what);
	rc = vc_sql_exec(ctx, "INSERT INTO case_notes (tenant_id, case_id, author_id, author, kind,"
	    " body, created_at) SELECT tenant_id, case_id, ?1, ?2, 'event', ?3, ?4 FROM case_links"
	    " WHERE tenant_id = ?5 AND kind = ?6 AND target_id = ?7", NULL, "sssisss",
	    ctx->who.user_id[0] ? ctx->who.user_id : NULL,
	    ctx->who.username[0] ? ctx->who.username : NULL, body, vc_now(ctx),
	    ctx->who.tenant_id, kind, target_id);
	if (rc == 0)
		rc = vc_sql_exec(ctx, "DELETE FROM case_links WHERE tenant_id = ?1 AND kind = ?2"
		    " AND target_id = ?3", NULL, "sss", ctx->who.tenant_id, kind, target_id);
	return rc;
}
