/* SPDX-License-Identifier: MIT */
/*
 * allowlist.c - the artifacts a tenant's analysts may collect from
 * Velociraptor (vc-hunt allowlist ...), and the check vc-hunt collect
 * makes before it sends anything.
 *
 * A tenant that never set a list has no row in collect_policies and gets
 * the built-in default.  The first change stores the list in effect, so
 * that "add X" means the default and X.  Entries are exact names, never
 * prefixes or patterns: "Windows.Sys.*" would also grant every artifact
 * that appears later under that name, a custom one included, without an
 * admin ever having read it.
 */
#include <stdio.h>
#include <string.h>

#include "allowlist.h"
#include "core/audit.h"
#include "core/store.h"

/*
 * Read-only triage that runs no program and uploads no file, and whose
 * parameters are filters (regular expressions, switches) rather than
 * files, globs, registry keys or queries: no value an analyst gives can
 * make one of them read an arbitrary file or key.  That rule leaves out
 * Windows.System.Services (a registry glob), Linux.Sys.Users (a password
 * file) and their kind, which an admin may add.  Sorted, as the store
 * sorts a tenant's own list; man/vc-hunt.1 lists the same.
 */
const char *const vc_allowlist_default[] = {
	"Generic.Client.Info",          /* the interrogation: OS, host, users */
	"Generic.System.Pstree",        /* process call chains */
	"Linux.Network.Netstat",
	"Linux.Sys.Pslist",
	"MacOS.Network.Netstat",
	"MacOS.Sys.Pslist",             /* an alias of Linux.Sys.Pslist */
	"Windows.Network.ListeningPorts",
	"Windows.Network.Netstat",
	"Windows.System.DNSCache",
	"Windows.System.Pslist",
	NULL
};

int
vc_artifact_name_check(vc_ctx *ctx, const char *name)
{
	size_t n = strlen(name);
	const char *part = name;

	if (n == 0)
		return vc_fail(ctx, VC_EUSAGE, "an artifact name is empty");
	if (n > VC_ARTIFACT_NAME_MAX)
		return vc_fail(ctx, VC_EUSAGE, "an artifact name is at most %d characters, not %zu",
		    VC_ARTIFACT_NAME_MAX, n);
	for (const char *s = name; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int digit = c >= '0' && c <= '9';
		char what[16];

		if (c == '.') {
			if (s == part || s[1] == '\0')
				return vc_fail(ctx, VC_EUSAGE, "not an artifact name: an empty part at '%.*s'",
				    (int)(s - name) + 1, name);
			part = s + 1;
			continue;
		}
		if (digit && s == part)
			return vc_fail(ctx, VC_EUSAGE, "not an artifact name: a part starts with a digit"
			    " at '%.*s'", (int)(s - name) + 1, name);
		if (digit || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			continue;
		/* Show what came before (checked), never the rest: it may hold anything. */
		if (c >= ' ' && c < 0x7f)
			snprintf(what, sizeof what, "'%c'", c);
		else
			snprintf(what, sizeof what, "byte 0x%02x", c);
		return vc_fail(ctx, VC_EUSAGE, "not an artifact name: %s after '%.*s' (only letters,"
		    " digits, '_' and '.')", what, (int)(s - name), name);
	}
	return 0;
}

static int
in_default(const char *name)
{
	for (const char *const *d = vc_allowlist_default; *d; d++)
		if (strcmp(*d, name) == 0)
			return 1;
	return 0;
}

/* Whether the array of strings a holds s (a is borrowed). */
static int
has(jv a, const char *s)
{
	int n = jv_array_length(jv_copy(a)), found = 0;

	for (int i = 0; i < n && !found; i++) {
		jv e = jv_array_get(jv_copy(a), i);
		found = strcmp(jv_string_value(e), s) == 0;
		jv_free(e);
	}
	return found;
}

/* *own: 1 when the caller's tenant has a list of its own. */
static int
has_own(vc_ctx *ctx, int *own)
{
	vc_stmt *q = vc_sql(ctx, "SELECT COUNT(*) FROM collect_policies WHERE tenant_id = ?1", "s",
	    ctx->who.tenant_id);
	int rc;

	*own = 0;
	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_step(ctx, q)) == 1)
		*own = vc_col_int(q, 0) > 0;
	vc_stmt_done(q);
	return rc < 0 ? ctx->err : 0;
}

/* The names in effect for the caller's tenant, sorted, into *names (an
 * array the caller owns); *own as for has_own. */
static int
load(vc_ctx *ctx, int *own, jv *names)
{
	vc_stmt *q;
	int rc;

	*names = jv_array();
	if ((rc = has_own(ctx, own)) != 0)
		return rc;
	if (!*own) {
		for (const char *const *d = vc_allowlist_default; *d; d++)
			*names = jv_array_append(*names, jv_string(*d));
		return 0;
	}
	q = vc_sql(ctx, "SELECT artifact FROM collect_allowlist WHERE tenant_id = ?1 ORDER BY artifact",
	    "s", ctx->who.tenant_id);
	if (q == NULL)
		return ctx->err;
	while ((rc = vc_sql_step(ctx, q)) == 1)
		*names = jv_array_append(*names, jv_string((const char *)vc_col_text(q, 0)));
	vc_stmt_done(q);
	return rc < 0 ? ctx->err : 0;
}

int
vc_allowlist_check(vc_ctx *ctx, const char *artifact)
{
	vc_stmt *q;
	int own = 0, on = 0, rc;

	if (ctx->who.role >= VC_ROLE_ADMIN)
		return 0;
	q = vc_sql(ctx, "SELECT EXISTS (SELECT 1 FROM collect_policies WHERE tenant_id = ?1),"
	    " EXISTS (SELECT 1 FROM collect_allowlist WHERE tenant_id = ?1 AND artifact = ?2)", "ss",
	    ctx->who.tenant_id, artifact);
	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_step(ctx, q)) == 1) {
		own = vc_col_int(q, 0);
		on = vc_col_int(q, 1);
	}
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	if (!own)
		on = in_default(artifact);
	if (on)
		return 0;
	/* The refused collection, as the dispatcher records it. */
	vc_audit_target(ctx, "flow", NULL);
	vc_audit_detail(ctx, "artifact", jv_string(artifact));
	vc_audit_detail(ctx, "allowlist", jv_string(own ? "tenant" : "default"));
	return vc_fail(ctx, VC_EPERM, "%s is not on this tenant's collect allow-list: only a tenant admin"
	    " may collect it, or add it to the list ('vc-hunt allowlist add %s')", artifact, artifact);
}

/* The list in effect as records: artifact, source, added_by, added_at. */
static int
list_json(vc_ctx *ctx, jv *out)
{
	int own, rc;

	if ((rc = has_own(ctx, &own)) != 0)
		return rc;
	if (own) {
		*out = vc_sql_rows(ctx, vc_sql(ctx, "SELECT artifact, 'tenant' AS source, added_by, added_at"
		    " FROM collect_allowlist WHERE tenant_id = ?1 ORDER BY artifact", "s", ctx->who.tenant_id));
		return jv_is_valid(*out) ? 0 : ctx->err;
	}
	*out = jv_array();
	for (const char *const *d = vc_allowlist_default; *d; d++)
		*out = jv_array_append(*out, JV_OBJECT(jv_string("artifact"), jv_string(*d),
		    jv_string("source"), jv_string("default"), jv_string("added_by"), jv_null(),
		    jv_string("added_at"), jv_null()));
	return 0;
}

/* The audit details of a change from the list before to the one after
 * (both borrowed): what was added, what removed, and which list is in
 * effect now ("tenant" or "default"). */
static void
note_change(vc_ctx *ctx, jv before, jv after, const char *in_effect)
{
	jv added = jv_array(), removed = jv_array();

	jv_array_foreach(after, i, s) {
		if (!has(before, jv_string_value(s)))
			added = jv_array_append(added, jv_copy(s));
		jv_free(s);
	}
	jv_array_foreach(before, i, s) {
		if (!has(after, jv_string_value(s)))
			removed = jv_array_append(removed, jv_copy(s));
		jv_free(s);
	}
	vc_audit_target(ctx, "collect_allowlist", NULL);
	vc_audit_detail(ctx, "added", added);
	vc_audit_detail(ctx, "removed", removed);
	vc_audit_detail(ctx, "allowlist", jv_string(in_effect));
}

/*
 * Make want (distinct names, consumed) the tenant's own list: store the
 * policy, delete what is stored and not wanted, insert what is wanted and
 * not stored (so an entry keeps who added it, and when).  Then *out is
 * the list, as show prints it.
 */
static int
apply(vc_ctx *ctx, jv want, jv *out)
{
	const char *tid = ctx->who.tenant_id, *by = ctx->who.username[0] ? ctx->who.username : NULL;
	int64_t now = vc_now(ctx);
	jv before, stored;
	int own, rc;

	if ((rc = load(ctx, &own, &before)) != 0) {
		jv_free(before);
		jv_free(want);
		return rc;
	}
	stored = own ? jv_copy(before) : jv_array();
	rc = vc_sql_exec(ctx, "INSERT INTO collect_policies (tenant_id, updated_by, updated_at)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT (tenant_id) DO UPDATE SET updated_by = ?2, updated_at = ?3",
	    NULL, "ssi", tid, by, now);
	jv_array_foreach(stored, i, s) {
		if (rc == 0 && !has(want, jv_string_value(s)))
			rc = vc_sql_exec(ctx, "DELETE FROM collect_allowlist WHERE tenant_id = ?1 AND artifact = ?2",
			    NULL, "ss", tid, jv_string_value(s));
		jv_free(s);
	}
	jv_array_foreach(want, i, s) {
		if (rc == 0 && !has(stored, jv_string_value(s)))
			rc = vc_sql_exec(ctx, "INSERT INTO collect_allowlist (tenant_id, artifact, added_by, added_at)"
			    " VALUES (?1, ?2, ?3, ?4)", NULL, "sssi", tid, jv_string_value(s), by, now);
		jv_free(s);
	}
	if (rc == 0) {
		note_change(ctx, before, want, "tenant");
		rc = list_json(ctx, out);
	}
	jv_free(before);
	jv_free(stored);
	jv_free(want);
	return rc;
}

/* The one artifact argument, checked. */
static int
one_name(vc_ctx *ctx, jv args, const char **name)
{
	vc_audit_target(ctx, "collect_allowlist", NULL);
	*name = vc_arg_str(args, "artifact");
	if (*name == NULL)
		return vc_fail(ctx, VC_EUSAGE, "give the artifact's name");
	return vc_artifact_name_check(ctx, *name);
}

int
vc_op_vr_allowlist_show(vc_ctx *ctx, jv args, jv *out)
{
	return list_json(ctx, out);
}

int
vc_op_vr_allowlist_set(vc_ctx *ctx, jv args, jv *out)
{
	jv given = jv_object_get(jv_copy(args), jv_string("artifact")), want = jv_array();
	int rc = 0;

	if (jv_get_kind(given) == JV_KIND_STRING)
		given = JV_ARRAY(given);
	if (jv_get_kind(given) != JV_KIND_ARRAY) {
		jv_free(given);
		given = jv_array();     /* none: an empty list, analysts collect nothing */
	}
	jv_array_foreach(given, i, s) {
		if (rc == 0)
			rc = vc_artifact_name_check(ctx, jv_string_value(s));
		if (rc == 0 && !has(want, jv_string_value(s)))
			want = jv_array_append(want, jv_copy(s));
		jv_free(s);
	}
	jv_free(given);
	if (rc != 0) {
		jv_free(want);
		return rc;
	}
	return apply(ctx, want, out);
}

int
vc_op_vr_allowlist_add(vc_ctx *ctx, jv args, jv *out)
{
	const char *name;
	jv names;
	int own, rc;

	if ((rc = one_name(ctx, args, &name)) != 0)
		return rc;
	if ((rc = load(ctx, &own, &names)) == 0 && has(names, name))
		rc = vc_fail(ctx, VC_ECONFLICT, "%s is already on this tenant's collect allow-list", name);
	if (rc != 0) {
		jv_free(names);
		return rc;
	}
	return apply(ctx, jv_array_append(names, jv_string(name)), out);
}

int
vc_op_vr_allowlist_remove(vc_ctx *ctx, jv args, jv *out)
{
	const char *name;
	jv names, want = jv_array();
	int own, rc;

	if ((rc = one_name(ctx, args, &name)) != 0)
		return rc;
	if ((rc = load(ctx, &own, &names)) == 0 && !has(names, name))
		rc = vc_fail(ctx, VC_ENOTFOUND, "%s is not on this tenant's collect allow-list", name);
	if (rc != 0) {
		jv_free(names);
		jv_free(want);
		return rc;
	}
	jv_array_foreach(names, i, s) {
		if (strcmp(jv_string_value(s), name) != 0)
			want = jv_array_append(want, jv_copy(s));
		jv_free(s);
	}
	jv_free(names);
	return apply(ctx, want, out);
}

int
vc_op_vr_allowlist_reset(vc_ctx *ctx, jv args, jv *out)
{
	jv before, after = jv_array();
	int own, rc;

	if ((rc = load(ctx, &own, &before)) == 0)
		rc = vc_sql_exec(ctx, "DELETE FROM collect_allowlist WHERE tenant_id = ?1", NULL, "s",
		    ctx->who.tenant_id);
	if (rc == 0)
		rc = vc_sql_exec(ctx, "DELETE FROM collect_policies WHERE tenant_id = ?1", NULL, "s",
		    ctx->who.tenant_id);
	if (rc == 0) {
		for (const char *const *d = vc_allowlist_default; *d; d++)
			after = jv_array_append(after, jv_string(*d));
		note_change(ctx, before, after, "default");
		rc = list_json(ctx, out);
	}
	jv_free(before);
	jv_free(after);
	return rc;
}
