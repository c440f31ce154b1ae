/* SPDX-License-Identifier: MIT */
/*
 * jsonl.h - a bounded JSON Lines reader over a FILE or a memory buffer.
 *
 * A line longer than the maximum is reported and skipped whole (never
 * truncated); reading goes on with the next line.  The reader owns its
 * line buffer; vc_jsonl_release frees it (and closes a FILE it opened).
 */
#ifndef VC_JSONL_H
#define VC_JSONL_H
#include <stdio.h>
#include "core/vc.h"

#define VC_JSONL_MAX (1024 * 1024)      /* default longest line, bytes */

struct vc_jsonl {
	FILE *f;                /* NULL when reading mem */
	int close_f;
	const char *mem;        /* memory input */
	size_t memlen, pos;
	const char *name;       /* "stdin", a path, "body" */
	char *name_copy;
	size_t max;
	long line;              /* number of the line last read */
	char *rbuf;             /* read-ahead from f */
	size_t rpos, rlen;
	int eof;
	char *buf;              /* the text of the record last read ... */
	size_t len;             /* ... and its length */
	size_t cap;
	/* Records from another source (EVTX files, json/evtx.h): src_next
	 * puts the next one's JSON in buf/len and returns as
	 * vc_jsonl_next_raw does; src_free is called on release. */
	void *src;
	int (*src_next)(vc_ctx *ctx, struct vc_jsonl *r);
	void (*src_free)(void *src);
	/* A source may leave the record it made as a value here too (else
	 * invalid), so that it need not be parsed back: see vc_jsonl_value. */
	jv val;
};

/* Read from path ("-" or NULL: stdin).  Returns VC_ENOTFOUND naming it.
 * An EVTX file, a directory or a ZIP archive (of EVTX files), is read as
 * their records (json/evtx.h). */
int vc_jsonl_open(vc_ctx *ctx, struct vc_jsonl *r, const char *path);
void vc_jsonl_mem(struct vc_jsonl *r, const char *name, const char *buf, size_t n);
void vc_jsonl_release(struct vc_jsonl *r);
/*
 * The next record.  Returns 1 and a value in *out (any JSON kind; the
 * caller checks it is what it wants), 0 at the end, or -1 for a bad line:
 * ctx->errmsg then says "NAME:LINE: reason" and *out is invalid.  Blank
 * lines are skipped.  A read error returns -2 (ctx set, stop reading).
 */
int vc_jsonl_next(vc_ctx *ctx, struct vc_jsonl *r, jv *out);
/*
 * The next non-blank line as text (not parsed; trailing white space
 * removed), in r->buf / r->len: 1, 0 at the end, -1 over-long (ctx says
 * where), -2 read error.
 */
int vc_jsonl_next_raw(vc_ctx *ctx, struct vc_jsonl *r);
/*
 * The record last read by vc_jsonl_next_raw as a value, the caller's:
 * the one its source made (once; the source's rows are objects), else
 * r->buf parsed (invalid with jq's message when it is not JSON).
 */
jv vc_jsonl_value(struct vc_jsonl *r);

/*
 * The read loop of every import: vc_jsonl_each reads r to its end and
 * hands each record to fn.  A bad line is reported with vc_bad as
 * "NAME:LINE: reason" and reading goes on (with strict, it stops there).
 *
 * What fn is given depends on mode: the text always (r->buf, r->len,
 * r->line); with VC_JSONL_JSON also the parsed value, a line that is not
 * JSON being bad with jq's reason; with VC_JSONL_OBJECT the value of a
 * line that holds an object, anything else being bad as "expected a
 * JSON object".  fn consumes rec (jv_invalid() in VC_JSONL_TEXT) and
 * returns 0 for the next record, VC_JSONL_BAD for a bad one (the reason
 * in ctx->errmsg, by vc_fail), VC_JSONL_STOP to stop reading without an
 * error, or a VC_E* code to stop with it.
 */
enum { VC_JSONL_TEXT, VC_JSONL_JSON, VC_JSONL_OBJECT };
enum { VC_JSONL_BAD = -1, VC_JSONL_STOP = -2 };

struct vc_jsonl_loop {
	int mode;               /* VC_JSONL_TEXT, _JSON or _OBJECT */
	int strict;             /* stop after the first bad line */
	int (*fn)(vc_ctx *ctx, struct vc_jsonl *r, jv rec, void *arg);
	/* Optional: told of each bad line fn never saw (too long, not JSON,
	 * not an object), after it was reported. */
	void (*unread)(void *arg);
	void *arg;
	long records;           /* out: the records given to fn */
	long bad;               /* out: the bad lines reported */
};
/*
 * Returns 0 when r is read to its end or reading stopped (by fn, or by
 * strict: then lp->bad > 0), or the error: a read error (ctx says
 * where) or the code fn returned.
 */
int vc_jsonl_each(vc_ctx *ctx, struct vc_jsonl *r, struct vc_jsonl_loop *lp);
#endif
