/* SPDX-License-Identifier: MIT */
/*
 * page.h - sorting and paging of list operations: an allow-list of sort
 * fields mapped to SQL expressions (never user text in SQL), offset or
 * keyset ("after CURSOR") paging with a stable tie-break on id.
 *
 * The SQL of a list is assembled from the fixed fragments of this module
 * and of the caller into a bounded buffer (struct vc_sqlbuf).
 */
#ifndef VC_PAGE_H
#define VC_PAGE_H
#include "core/store.h"
#include "core/vc.h"

struct vc_sort {
	const char *name;       /* what the user writes: "last_seen" */
	const char *expr;       /* SQL of the column: "h.last_seen_at" */
	char type;              /* 'i' integer, 's' text, 'b' blob */
};

struct vc_page {
	const struct vc_sort *sort;
	int desc;
	int64_t limit, offset;
	int has_after;
	jv after;               /* [value, id] of the last row of the page before */
};

#define VC_PAGE_MAX 1000
#define VC_PAGE_DEFAULT 100
/* A list's total counts at most this many rows past its page unless
 * exact_total is asked for; then {"total_exact": false}. */
#define VC_TOTAL_BOUND 1000

struct vc_sqlbuf {
	char s[4096];
	size_t n;
	int overflow;
};
void vc_sqlbuf_add(struct vc_sqlbuf *b, const char *frag);

/*
 * Read sort, order, limit, offset and after from args.  A sort name not
 * in allowed (terminated by a NULL name) is a usage error listing the
 * allowed names.  Release with vc_page_release.
 */
int vc_page_parse(vc_ctx *ctx, jv args, const struct vc_sort *allowed,
    const char *default_sort, struct vc_page *pg);
void vc_page_release(struct vc_page *pg);
/*
 * Append the keyset condition (when paging after a cursor) and ORDER BY,
 * LIMIT, OFFSET, using parameters ?P .. ?P+3 (P = first).  idexpr is the
 * table's id column ("h.id").  The select list must end with
 * "<sort expr> AS _sort" for vc_page_cursor.
 */
/* Append ", <sort expr> AS _sort" to a select list (blobs as hex). */
void vc_page_select(const struct vc_page *pg, struct vc_sqlbuf *b);
void vc_page_sql(const struct vc_page *pg, struct vc_sqlbuf *b, const char *idexpr, int first);
int vc_page_bind(vc_ctx *ctx, vc_stmt *st, const struct vc_page *pg, int first);
/*
 * Step q (a page query whose select list ends with _sort, from
 * vc_sql_text: reset here, not finalized) into *out = {items, total, next_cursor}.  next_cursor is null
 * when the page is not full.  Returns 0 or the error of ctx.
 */
int vc_page_collect(vc_ctx *ctx, vc_stmt *q, const struct vc_page *pg, int64_t total, jv *out);
/* The cursor that continues after row (which has "_sort" and "id"). */
jv vc_page_cursor(const struct vc_page *pg, jv row);

/*
 * A list operation whole: the page arguments of args (borrowed) read
 * against sorts, the rows that pass the filters counted, and the page of
 * them in *out = {items, total, total_exact, next_cursor} (or {count}
 * alone when count_only).  The total is bounded (VC_TOTAL_BOUND past the
 * page, total_exact false when reached) unless args has exact_total.  The SQL is "SELECT cols" and "SELECT COUNT(*)" over from
 * (FROM and WHERE, parameters ?1 .. ?first-1, bound by bind), with the
 * paging of vc_page_sql after it.  Returns 0 or the error of ctx; a
 * failure that left none says "WHAT list failed".
 */
struct vc_list {
	const char *what;               /* "host" */
	const struct vc_sort *sorts;    /* allowed, NULL-terminated */
	const char *sort;               /* the default sort ... */
	const char *order;              /* ... and order ("desc"; NULL: asc) */
	const char *cols, *from;
	const char *idexpr;             /* "h.id" */
	int first;
	int (*bind)(vc_ctx *ctx, vc_stmt *q, void *arg);
	void *arg;
	int count_only;
	int raw;                        /* its page may be written as text when
	                                 * the front door takes it (ctx->raw_ok):
	                                 * the caller changes nothing in *out */
};
int vc_page_list(vc_ctx *ctx, const struct vc_list *l, jv args, jv *out);

/*
 * The count that statement q (bound, one row, one integer: a COUNT with
 * a LIMIT, so that it is bounded) answers: from a per-thread cache while
 * the store is unchanged (see page.c), else by stepping q, which the
 * caller resets or finalizes.  -1 when it failed (the error is in ctx).
 */
int64_t vc_count_cached(vc_ctx *ctx, vc_stmt *q);
#endif
