/* SPDX-License-Identifier: MIT */
/* page.c - allow-listed sorting, offset and keyset paging. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "core/page.h"
#include "json/jdump.h"
#include "core/store.h"
#include "core/events.h"

void
vc_sqlbuf_add(struct vc_sqlbuf *b, const char *frag)
{
	size_t n = strlen(frag);

	if (b->overflow || b->n + n + 1 > sizeof b->s) {
		b->overflow = 1;
		return;
	}
	memcpy(b->s + b->n, frag, n + 1);
	b->n += n;
}

/* Cursor text: base64url of the JSON [sort, order, value, id]. */
static jv
decode_cursor(const char *s)
{
	unsigned char buf[2048];
	size_t n;

	if (strlen(s) > 2000 || sodium_base642bin(buf, sizeof buf, s, strlen(s), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return jv_invalid();
	return jv_parse_sized((const char *)buf, (int)n);
}

int
vc_page_parse(vc_ctx *ctx, jv args, const struct vc_sort *allowed,
    const char *default_sort, struct vc_page *pg)
{
	const char *sort = vc_arg_str(args, "sort"), *order = vc_arg_str(args, "order");
	const char *after = vc_arg_str(args, "after");

	memset(pg, 0, sizeof *pg);
	pg->after = jv_invalid();
	if (sort == NULL)
		sort = default_sort;
	for (const struct vc_sort *s = allowed; s->name; s++)
		if (strcmp(s->name, sort) == 0)
			pg->sort = s;
	if (pg->sort == NULL) {
		char names[256] = "";
		for (const struct vc_sort *s = allowed; s->name; s++) {
			if (names[0])
				strncat(names, ", ", sizeof names - strlen(names) - 1);
			strncat(names, s->name, sizeof names - strlen(names) - 1);
		}
		return vc_fail(ctx, VC_EUSAGE, "cannot sort by '%.64s': sort by one of %s", sort, names);
	}
	if (order != NULL && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
		return vc_fail(ctx, VC_EUSAGE, "order must be asc or desc");
	pg->desc = order != NULL && strcmp(order, "desc") == 0;
	pg->limit = vc_arg_int(args, "limit", VC_PAGE_DEFAULT);
	pg->offset = vc_arg_int(args, "offset", 0);
	if (pg->limit < 1 || pg->limit > VC_PAGE_MAX)
		return vc_fail(ctx, VC_EUSAGE, "limit must be 1 to %d", VC_PAGE_MAX);
	if (pg->offset < 0)
		return vc_fail(ctx, VC_EUSAGE, "offset must not be negative");
	if (after != NULL) {
		jv c = decode_cursor(after), v;
		if (pg->offset > 0) {
			jv_free(c);
			return vc_fail(ctx, VC_EUSAGE, "give --offset or --after, not both");
		}
		if (jv_get_kind(c) != JV_KIND_ARRAY || jv_array_length(jv_copy(c)) != 4) {
			jv_free(c);
			return vc_fail(ctx, VC_EUSAGE, "not a cursor of this list: %.64s", after);
		}
		v = jv_array_get(jv_copy(c), 0);
		if (jv_get_kind(v) != JV_KIND_STRING || strcmp(jv_string_value(v), pg->sort->name) != 0) {
			jv_free(v);
			jv_free(c);
			return vc_fail(ctx, VC_EUSAGE, "the cursor was made for another sort order");
		}
		jv_free(v);
		v = jv_array_get(jv_copy(c), 1);
		if (jv_get_kind(v) != (pg->desc ? JV_KIND_TRUE : JV_KIND_FALSE)) {
			jv_free(v);
			jv_free(c);
			return vc_fail(ctx, VC_EUSAGE, "the cursor was made for another sort order");
		}
		jv_free(v);
		pg->after = JV_ARRAY(jv_array_get(jv_copy(c), 2), jv_array_get(jv_copy(c), 3));
		jv_free(c);
		pg->has_after = 1;
	}
	return 0;
}

void
vc_page_release(struct vc_page *pg)
{
	jv_free(pg->after);
	pg->after = jv_invalid();
}

void
vc_page_select(const struct vc_page *pg, struct vc_sqlbuf *b)
{
	vc_sqlbuf_add(b, pg->sort->type == 'b' ? ", hex(" : ", (");
	vc_sqlbuf_add(b, pg->sort->expr);
	vc_sqlbuf_add(b, ") AS _sort");
}

void
vc_page_sql(const struct vc_page *pg, struct vc_sqlbuf *b, const char *idexpr, int first)
{
	char p[4][8];

	for (int i = 0; i < 4; i++)
		snprintf(p[i], sizeof p[i], "?%d", first + i);
	if (pg->has_after) {
		vc_sqlbuf_add(b, " AND (");
		vc_sqlbuf_add(b, pg->sort->expr);
		vc_sqlbuf_add(b, ", ");
		vc_sqlbuf_add(b, idexpr);
		vc_sqlbuf_add(b, pg->desc ? ") < (" : ") > (");
		vc_sqlbuf_add(b, p[0]);
		vc_sqlbuf_add(b, ", ");
		vc_sqlbuf_add(b, p[1]);
		vc_sqlbuf_add(b, ")");
	}
	vc_sqlbuf_add(b, " ORDER BY ");
	vc_sqlbuf_add(b, pg->sort->expr);
	vc_sqlbuf_add(b, pg->desc ? " DESC, " : " ASC, ");
	vc_sqlbuf_add(b, idexpr);
	vc_sqlbuf_add(b, pg->desc ? " DESC LIMIT " : " ASC LIMIT ");
	vc_sqlbuf_add(b, p[2]);
	vc_sqlbuf_add(b, " OFFSET ");
	vc_sqlbuf_add(b, p[3]);
}

int
vc_page_bind(vc_ctx *ctx, vc_stmt *st, const struct vc_page *pg, int first)
{
	int rc = VC_SQL_OK;

	if (pg->has_after) {
		jv v = jv_array_get(jv_copy(pg->after), 0), id = jv_array_get(jv_copy(pg->after), 1);
		/* A cursor is user input: range-check before the cast (UB past int64). */
		if (pg->sort->type == 'i' && jv_get_kind(v) == JV_KIND_NUMBER &&
		    jv_number_value(v) >= -9e18 && jv_number_value(v) <= 9e18)
			rc = vc_bind_int64(st, first, (int64_t)jv_number_value(v));
		else if (pg->sort->type == 'b' && jv_get_kind(v) == JV_KIND_STRING) {
			unsigned char bin[64];
			size_t n = 0;
			const char *hex = jv_string_value(v);
			if (sodium_hex2bin(bin, sizeof bin, hex, strlen(hex), NULL, &n, NULL) != 0)
				rc = VC_SQL_MISMATCH;
			else
				rc = vc_bind_blob(st, first, bin, (int)n, VC_TRANSIENT);
		} else if (pg->sort->type == 's' && jv_get_kind(v) == JV_KIND_STRING)
			rc = vc_bind_text(st, first, jv_string_value(v), -1, VC_TRANSIENT);
		else
			rc = VC_SQL_MISMATCH;
		if (rc == VC_SQL_OK)
			rc = jv_get_kind(id) == JV_KIND_STRING ?
			    vc_bind_text(st, first + 1, jv_string_value(id), -1, VC_TRANSIENT) :
			    VC_SQL_MISMATCH;
		jv_free(v);
		jv_free(id);
		if (rc == VC_SQL_MISMATCH)
			return vc_fail(ctx, VC_EUSAGE, "not a cursor of this list");
	}
	if (rc == VC_SQL_OK)
		rc = vc_bind_int64(st, first + 2, pg->limit);
	if (rc == VC_SQL_OK)
		rc = vc_bind_int64(st, first + 3, pg->offset);
	return rc == VC_SQL_OK ? 0 : vc_fail(ctx, VC_EINTERNAL, "bind: %s", vc_sql_errstr(rc));
}

jv
vc_page_cursor(const struct vc_page *pg, jv row)
{
	/* Separate statements: C leaves the order of arguments unspecified. */
	jv sortv = jv_object_get(jv_copy(row), jv_string("_sort"));
	jv id = jv_object_get(row, jv_string("id"));
	jv c = JV_ARRAY(jv_string(pg->sort->name), jv_bool(pg->desc), sortv, id);
	jv s = jv_dump_string(c, 0);
	char out[2800];

	if (jv_string_length_bytes(jv_copy(s)) > 2000) {
		jv_free(s);
		return jv_null();
	}
	sodium_bin2base64(out, sizeof out, (const unsigned char *)jv_string_value(s),
	    (size_t)jv_string_length_bytes(jv_copy(s)), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	jv_free(s);
	return jv_string(out);
}

int
vc_page_collect(vc_ctx *ctx, vc_stmt *q, const struct vc_page *pg, int64_t total, jv *out)
{
	jv items = jv_array(), last = jv_invalid(), keys = jv_invalid();
	int64_t n = 0;
	int rc;

	/* The cursor needs the last row's _sort and id; each row is kept
	 * without _sort.  Taking them out before the row is shared spares a
	 * copy of every row (jq copies a shared object it changes). */
	while ((rc = vc_sql_step(ctx, q)) == 1) {
		jv row = vc_sql_row_keys(q, &keys);
		jv_free(last);
		last = JV_OBJECT(jv_string("_sort"), jv_object_get(jv_copy(row), jv_string("_sort")),
		    jv_string("id"), jv_object_get(jv_copy(row), jv_string("id")));
		items = jv_array_append(items, jv_object_delete(row, jv_string("_sort")));
		n++;
	}
	jv_free(keys);
	vc_stmt_reset(q);
	if (rc < 0) {
		jv_free(items);
		jv_free(last);
		return ctx->err;
	}
	*out = JV_OBJECT(jv_string("items"), items, jv_string("total"), jv_number((double)total));
	/* A full page may have a next one; the cursor continues after its last row. */
	if (n == pg->limit && jv_is_valid(last))
		*out = jv_object_set(*out, jv_string("next_cursor"), vc_page_cursor(pg, last));
	else {
		jv_free(last);
		*out = jv_object_set(*out, jv_string("next_cursor"), jv_null());
	}
	return 0;
}

/* A column's value as vc_sql_row makes it for a name without a suffix. */
static jv
col_value(vc_stmt *q, int i)
{
	switch (vc_col_type(q, i)) {
	case VC_NULL:
		return jv_null();
	case VC_INTEGER:
		return jv_number((double)vc_col_int64(q, i));
	case VC_FLOAT:
		return jv_number(vc_col_double(q, i));
	default:
		return jv_string_sized((const char *)vc_col_text(q, i), vc_col_bytes(q, i));
	}
}

/*
 * vc_page_collect and vc_page_list's total_exact, written as text into
 * ctx->raw: the same bytes vc_json_dump writes for the value they make
 * ({"items", "total", "next_cursor", "total_exact"}, in that order), the
 * rows by vc_sql_row_json.  *out is null.
 */
static int
page_collect_raw(vc_ctx *ctx, vc_stmt *q, const struct vc_page *pg, int64_t total, int exact,
    jv *out)
{
	struct vc_jbuf b = { 0 };
	jv sortv = jv_invalid(), id = jv_invalid();
	int64_t n = 0;
	int rc, isort = -1, iid = -1;

	for (int i = 0; i < vc_col_count(q); i++) {
		if (strcmp(vc_col_name(q, i), "_sort") == 0)
			isort = i;
		else if (strcmp(vc_col_name(q, i), "id") == 0)
			iid = i;
	}
	vc_jbuf_str(&b, "{\"items\":[");
	while ((rc = vc_sql_step(ctx, q)) == 1) {
		if (n++ > 0)
			vc_jbuf_put(&b, ",", 1);
		vc_sql_row_json(q, &b, "_sort");
		jv_free(sortv);
		jv_free(id);
		sortv = isort >= 0 ? col_value(q, isort) : jv_null();
		id = iid >= 0 ? col_value(q, iid) : jv_null();
	}
	vc_stmt_reset(q);
	if (rc < 0) {
		jv_free(sortv);
		jv_free(id);
		free(b.s);
		return ctx->err;
	}
	vc_jbuf_str(&b, "],\"total\":");
	vc_jbuf_number(&b, (double)total);
	vc_jbuf_str(&b, ",\"next_cursor\":");
	/* A full page may have a next one; the cursor continues after its last row. */
	if (n == pg->limit && jv_is_valid(sortv))
		vc_jbuf_value(&b, vc_page_cursor(pg, JV_OBJECT(jv_string("_sort"), sortv, jv_string("id"), id)));
	else {
		jv_free(sortv);
		jv_free(id);
		vc_jbuf_put(&b, "null", 4);
	}
	vc_jbuf_str(&b, exact ? ",\"total_exact\":true}" : ",\"total_exact\":false}");
	if (b.oom) {
		free(b.s);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	free(ctx->raw);
	ctx->raw = b.s;
	ctx->raw_len = b.n;
	*out = jv_null();
	return 0;
}

/* The prepared "SELECT what from" of a list with its filters bound. */
static vc_stmt *
list_query(vc_ctx *ctx, const struct vc_list *l, const struct vc_page *pg, const char *what,
    int64_t bound)
{
	struct vc_sqlbuf b = { .n = 0 };
	vc_stmt *q;
	char lim[40];

	/* A bounded count stops at bound rows: "SELECT COUNT(*) FROM
	 * (SELECT 1 ... LIMIT bound)". */
	vc_sqlbuf_add(&b, bound > 0 ? "SELECT COUNT(*) FROM (SELECT 1" : "SELECT ");
	if (bound == 0)
		vc_sqlbuf_add(&b, what);
	if (pg != NULL)
		vc_page_select(pg, &b);
	vc_sqlbuf_add(&b, l->from);
	if (pg != NULL)
		vc_page_sql(pg, &b, l->idexpr, l->first);
	if (bound > 0) {
		snprintf(lim, sizeof lim, " LIMIT %lld)", (long long)bound);
		vc_sqlbuf_add(&b, lim);
	}
	if (b.overflow) {
		vc_fail(ctx, VC_EINTERNAL, "%s list query too long", l->what);
		return NULL;
	}
	if ((q = vc_sql_text(ctx, b.s)) == NULL)
		return NULL;
	if (l->bind(ctx, q, l->arg) != 0 || (pg != NULL && vc_page_bind(ctx, q, pg, l->first) != 0)) {
		vc_stmt_reset(q);
		return NULL;
	}
	return q;
}

/*
 * Bounded totals already counted, per thread (a vc-serve worker owns its
 * store connection; the CLI has one): a list asked again with the same
 * filters, while no connection has changed the store, is not counted
 * again.  The key is the count statement with its values in it; it is
 * valid while PRAGMA data_version (another connection's commit) and
 * this connection's change count stay the same, for COUNT_TTL_MS at
 * most.  Keys live in the entries themselves: nothing to free.
 */
#define COUNT_CACHE 16
#define COUNT_TTL_MS 2000

static _Thread_local struct counted {
	const void *db;
	int64_t version, changes, at, total;
	char key[1024];
} counted[COUNT_CACHE];
static _Thread_local unsigned counted_next;

static struct counted *
count_find(vc_ctx *ctx, const char *key, int64_t version, int64_t changes)
{
	int64_t now = vc_now_ms(ctx);

	for (int i = 0; i < COUNT_CACHE; i++) {
		struct counted *c = &counted[i];
		if (c->db == ctx->store && c->version == version && c->changes == changes &&
		    now - c->at < COUNT_TTL_MS && strcmp(c->key, key) == 0)
			return c;
	}
	return NULL;
}

int64_t
vc_count_cached(vc_ctx *ctx, vc_stmt *q)
{
	char *key = vc_stmt_key(q);
	int64_t version = -1, changes = 0, total = -1;
	struct counted *c = NULL;

	if (key != NULL && strlen(key) < sizeof counted[0].key &&
	    (version = vc_store_data_version(ctx)) >= 0) {
		changes = vc_total_changes(ctx);
		if ((c = count_find(ctx, key, version, changes)) != NULL) {
			free(key);
			return c->total;
		}
	}
	if (vc_sql_step(ctx, q) == 1)
		total = vc_col_int64(q, 0);
	if (total >= 0 && version >= 0 && key != NULL && strlen(key) < sizeof counted[0].key) {
		c = &counted[counted_next++ % COUNT_CACHE];
		c->db = ctx->store;
		c->version = version;
		c->changes = changes;
		c->at = vc_now_ms(ctx);
		c->total = total;
		snprintf(c->key, sizeof c->key, "%s", key);
	}
	free(key);
	return total;
}

int
vc_page_list(vc_ctx *ctx, const struct vc_list *l, jv args, jv *out)
{
	struct vc_page pg;
	vc_stmt *q;
	int64_t total, bound = 0;
	int rc, exact = l->count_only || vc_arg_bool(args, "exact_total");

	if (l->order != NULL && !vc_arg_has(args, "order"))
		args = jv_object_set(jv_copy(args), jv_string("order"), jv_string(l->order));
	else
		args = jv_copy(args);
	rc = vc_page_parse(ctx, args, l->sorts, l->sort, &pg);
	jv_free(args);
	if (rc != 0) {
		vc_page_release(&pg);
		return rc;
	}
	/* The total, for the same filters: counted whole only when asked
	 * for (--count, exact_total), else up to VC_TOTAL_BOUND past the
	 * page, so that no page pays for counting a million matches. */
	if (!exact)
		bound = VC_TOTAL_BOUND + pg.offset + pg.limit + 1;
	if ((q = list_query(ctx, l, NULL, "COUNT(*)", bound)) == NULL ||
	    (total = bound > 0 ? vc_count_cached(ctx, q) : vc_sql_step(ctx, q) == 1 ?
	    vc_col_int64(q, 0) : -1) < 0) {
		vc_stmt_reset(q);
		goto fail;
	}
	vc_stmt_reset(q);
	if (l->count_only) {
		vc_page_release(&pg);
		*out = JV_OBJECT(jv_string("count"), jv_number((double)total));
		return 0;
	}
	if ((q = list_query(ctx, l, &pg, l->cols, 0)) == NULL)
		goto fail;
	if (l->raw && ctx->raw_ok)
		rc = page_collect_raw(ctx, q, &pg, bound > 0 && total >= bound ? bound - 1 : total,
		    bound == 0 || total < bound, out);
	else if ((rc = vc_page_collect(ctx, q, &pg, bound > 0 && total >= bound ? bound - 1 : total,
	    out)) == 0)
		*out = jv_object_set(*out, jv_string("total_exact"), jv_bool(bound == 0 || total < bound));
	vc_page_release(&pg);
	return rc;
fail:
	vc_page_release(&pg);
	return ctx->err ? ctx->err : vc_fail(ctx, VC_EINTERNAL, "%s list failed", l->what);
}
