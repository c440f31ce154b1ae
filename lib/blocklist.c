/* SPDX-License-Identifier: MIT */
/*
 * blocklist.c - a tenant's blocklist of addresses and networks (block_ip
 * steps and vc-playbook blocklist), exported for a firewall's cron job as
 * nft elements, plain lines, JSON or CSV.  Expired entries are left out
 * of lists and exports.
 */
#include <stdio.h>
#include <string.h>

#include "core/audit.h"
#include "core/events.h"
#include "core/net.h"
#include "core/records.h"
#include "core/store.h"
#include "pbint.h"
#include "playbook.h"

#define REASON_MAX 300
#define BL_COLS "id, network, reason, source_execution, expires_at, created_by, created_at"

int
vc_pb_block_add(vc_ctx *ctx, const char *a, const char *reason, const char *exec_id, int64_t secs,
    jv *out)
{
	unsigned char lo[16], hi[16];
	int64_t now = vc_now(ctx), id;
	vc_stmt *q;
	int rc;

	if (a == NULL || strlen(a) > 64 || vc_cidr_range(a, lo, hi) != 0)
		return vc_fail(ctx, VC_EINVAL, "'%.64s' is not an address or network (10.0.0.5,"
		    " 192.0.2.0/24, 2001:db8::/32)", a != NULL ? a : "");
	if (reason == NULL)
		reason = "";
	if (strlen(reason) > REASON_MAX || vc_has_ctrl(reason, 0))
		return vc_fail(ctx, VC_EINVAL, "a reason is one line of at most %d bytes", REASON_MAX);
	q = vc_sql(ctx, "INSERT INTO blocklist (tenant_id, network, lo, hi, reason, source_execution,"
	    " expires_at, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULLIF(?7, 0), ?8, ?9)"
	    " ON CONFLICT (tenant_id, network) DO UPDATE SET reason = excluded.reason,"
	    " source_execution = excluded.source_execution, expires_at = excluded.expires_at"
	    " RETURNING id", "ssnnssisi", ctx->who.tenant_id, a, reason, exec_id,
	    secs > 0 ? now + secs : 0, ctx->who.username, now);
	if (q == NULL)
		return ctx->err;
	vc_bind_blob(q, 3, lo, 16, VC_TRANSIENT);
	vc_bind_blob(q, 4, hi, 16, VC_TRANSIENT);
	if ((rc = vc_sql_step(ctx, q)) != 1) {
		vc_stmt_done(q);
		return rc < 0 ? ctx->err : vc_fail(ctx, VC_EINTERNAL, "blocklist: no id");
	}
	id = vc_col_int64(q, 0);
	vc_stmt_done(q);
	q = vc_sql(ctx, "SELECT id AS entry_id, network AS address, expires_at FROM blocklist"
	    " WHERE tenant_id = ?1 AND id = ?2", "si", ctx->who.tenant_id, id);
	if (q == NULL || (rc = vc_sql_one(ctx, q, "blocklist entry", out)) != 0)
		return ctx->err;
	/* A firewall hears of it through the event log (a vc-notify
	 * channel of type 'blocklist.*'): at least once, after the commit. */
	return vc_event_emit(ctx, "blocklist.added", JV_OBJECT(jv_string("entry_id"),
	    jv_number((double)id), jv_string("subject"), jv_string(a), jv_string("network"),
	    jv_string(a), jv_string("reason"), jv_string(reason), jv_string("source_execution"),
	    exec_id != NULL ? jv_string(exec_id) : jv_null(), jv_string("expires_at"),
	    jv_object_get(jv_copy(*out), jv_string("expires_at")), jv_string("by"),
	    jv_string(ctx->who.username)), NULL);
}

int
vc_op_blocklist_add(vc_ctx *ctx, jv args, jv *out)
{
	int64_t secs = vc_arg_int(args, "expires", 0);
	int rc;

	vc_audit_target(ctx, "blocklist", NULL);
	if (secs < 0)
		return vc_fail(ctx, VC_EUSAGE, "--expires is a duration such as 24h");
	if ((rc = vc_pb_block_add(ctx, vc_arg_str(args, "address"), vc_arg_str(args, "reason"), NULL,
	    secs, out)) != 0)
		return rc;
	vc_audit_detail(ctx, "network", jv_string(vc_arg_str(args, "address")));
	return 0;
}

static vc_stmt *
live(vc_ctx *ctx, int all)
{
	return vc_sql(ctx, "SELECT " BL_COLS " FROM blocklist WHERE tenant_id = ?1"
	    " AND (?2 OR expires_at IS NULL OR expires_at > ?3) ORDER BY lo, hi", "sii",
	    ctx->who.tenant_id, (int64_t)all, vc_now(ctx));
}

int
vc_op_blocklist_list(vc_ctx *ctx, jv args, jv *out)
{
	vc_stmt *q = live(ctx, vc_arg_bool(args, "all"));

	if (q == NULL)
		return ctx->err;
	*out = vc_sql_rows(ctx, q);
	return jv_is_valid(*out) ? 0 : ctx->err;
}

int
vc_op_blocklist_remove(vc_ctx *ctx, jv args, jv *out)
{
	const char *key = vc_arg_str(args, "id");
	vc_stmt *q;
	jv gone;
	int rc;

	vc_audit_target(ctx, "blocklist", key);
	q = vc_sql(ctx, "DELETE FROM blocklist WHERE tenant_id = ?1 AND (network = ?2"
	    " OR CAST(id AS TEXT) = ?2) RETURNING id AS entry_id, network", "ss", ctx->who.tenant_id, key);
	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_one(ctx, q, "blocklist entry", &gone)) == VC_ENOTFOUND)
		return vc_not_found(ctx, "blocklist", "blocklist entry",
		    /* unscoped: existence check only, to audit a cross-tenant attempt */
		    "SELECT 1 FROM blocklist WHERE network = ?1 OR CAST(id AS TEXT) = ?1", key);
	if (rc != 0)
		return rc;
	*out = JV_OBJECT(jv_string("removed"), jv_string(key));
	return vc_event_emit(ctx, "blocklist.removed", jv_object_set(jv_object_set(gone,
	    jv_string("subject"), jv_string(key)), jv_string("by"), jv_string(ctx->who.username)), NULL);
}

/* A CSV field: quoted when it holds a comma, quote or newline. */
static jv
csv(jv line, const char *s, int last)
{
	if (strpbrk(s, ",\"\n\r") != NULL) {
		line = jv_string_append_str(line, "\"");
		for (; *s; s++)
			line = *s == '"' ? jv_string_append_str(line, "\"\"") :
			    jv_string_append_buf(line, s, 1);
		line = jv_string_append_str(line, "\"");
	} else
		line = jv_string_append_str(line, s);
	return jv_string_append_str(line, last ? "" : ",");
}

/* One line of text: as it is where the front door takes text, else as a
 * JSON string. */
static int
text_line(vc_ctx *ctx, jv line, jv *out)
{
	int r;

	if (ctx->emit_raw != NULL) {
		r = vc_emit_raw(ctx, jv_string_value(line), (size_t)jv_string_length_bytes(jv_copy(line)),
		    out);
		jv_free(line);
		return r;
	}
	return vc_emit(ctx, line, out);
}

int
vc_op_blocklist_export(vc_ctx *ctx, jv args, jv *out)
{
	const char *fmt = vc_arg_str(args, "format");
	vc_stmt *q;
	jv rows;
	int first = 1;

	if (fmt == NULL)
		fmt = "plain";
	if ((q = live(ctx, 0)) == NULL)
		return ctx->err;
	rows = vc_sql_rows(ctx, q);
	if (!jv_is_valid(rows))
		return ctx->err;
	*out = jv_array();
	if (strcmp(fmt, "csv") == 0)
		text_line(ctx, jv_string("network,reason,source_execution,expires_at"), out);
	if (strcmp(fmt, "nft") == 0)
		text_line(ctx, jv_string("# vc-playbook blocklist: nft -f this file into a set"
		    " of table inet filter"), out);
	jv_array_foreach(rows, i, r) {
		jv net = jv_object_get(jv_copy(r), jv_string("network"));
		jv reason = jv_object_get(jv_copy(r), jv_string("reason"));
		jv src = jv_object_get(jv_copy(r), jv_string("source_execution"));
		jv exp = jv_object_get(jv_copy(r), jv_string("expires_at"));
		const char *n = jv_string_value(net);

		(void)i;
		if (strcmp(fmt, "json") == 0)
			vc_emit(ctx, jv_copy(r), out);
		else if (strcmp(fmt, "csv") == 0) {
			jv line = csv(jv_string(""), n, 0);

			line = csv(line, jv_string_value(reason), 0);
			line = csv(line, jv_get_kind(src) == JV_KIND_STRING ? jv_string_value(src) : "", 0);
			line = csv(line, jv_get_kind(exp) == JV_KIND_STRING ? jv_string_value(exp) : "", 1);
			text_line(ctx, line, out);
		} else if (strcmp(fmt, "nft") == 0)
			text_line(ctx, jv_string_fmt("add element inet filter %s { %s }",
			    strchr(n, ':') != NULL ? "vc_blocklist6" : "vc_blocklist4", n), out);
		else
			text_line(ctx, jv_string(n), out);
		first = 0;
		jv_free(net);
		jv_free(reason);
		jv_free(src);
		jv_free(exp);
		jv_free(r);
	}
	(void)first;
	jv_free(rows);
	return 0;
}
