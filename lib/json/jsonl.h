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
};

/* Read from path ("-" or NULL: stdin).  Returns VC_ENOTFOUND naming it. */
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
#endif
