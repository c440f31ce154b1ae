/* SPDX-License-Identifier: MIT */
/* jsonl.c - bounded JSON Lines reading. */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json/evtx.h"
#include "json/jsonl.h"
#include "json/zip.h"

static int
vc_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
vc_jsonl_open(vc_ctx *ctx, struct vc_jsonl *r, const char *path)
{
	memset(r, 0, sizeof *r);
	r->max = VC_JSONL_MAX;
	if (path == NULL || strcmp(path, "-") == 0) {
		r->f = stdin;
		r->name = "stdin";
		return 0;
	}
	if (vc_evtx_is_file(path) || vc_is_dir(path) || vc_zip_is_file(path))
		return vc_evtx_open(ctx, r, path);
	if ((r->f = fopen(path, "r")) == NULL)
		return vc_fail(ctx, VC_ENOTFOUND, "%s: %s", path, strerror(errno));
	r->close_f = 1;
	/* Our own copy: the caller's string may not outlive the reader. */
	if ((r->name_copy = strdup(path)) == NULL) {
		fclose(r->f);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	r->name = r->name_copy;
	return 0;
}

void
vc_jsonl_mem(struct vc_jsonl *r, const char *name, const char *buf, size_t n)
{
	memset(r, 0, sizeof *r);
	r->max = VC_JSONL_MAX;
	r->mem = buf;
	r->memlen = n;
	r->name = name;
}

void
vc_jsonl_release(struct vc_jsonl *r)
{
	if (r->close_f && r->f != NULL)
		fclose(r->f);
	if (r->src_free != NULL)
		r->src_free(r->src);
	jv_free(r->val);
	free(r->buf);
	free(r->rbuf);
	free(r->name_copy);
	memset(r, 0, sizeof *r);
}

#define READ_AHEAD (64 * 1024)

/* Make room for need bytes in r->buf (never more than max + 1). */
static int
grow(struct vc_jsonl *r, size_t need)
{
	size_t ncap;
	char *b;

	if (need <= r->cap)
		return 0;
	ncap = r->cap ? r->cap : 4096;
	while (ncap < need)
		ncap *= 2;
	if ((b = realloc(r->buf, ncap)) == NULL)
		return -1;
	r->buf = b;
	r->cap = ncap;
	return 0;
}

/*
 * One raw line into r->buf (without the newline): 1 read, 0 end,
 * -1 too long (the rest of it is consumed), -2 read error.
 */
static int
raw_line(struct vc_jsonl *r, size_t *len)
{
	size_t n = 0;
	int toolong = 0, any = 0;

	if (r->f == NULL) {
		const char *s = r->mem + r->pos, *nl;
		size_t left = r->memlen - r->pos;
		if (left == 0)
			return 0;
		nl = memchr(s, '\n', left);
		n = nl ? (size_t)(nl - s) : left;
		r->pos += n + (nl != NULL);
		if (n > r->max)
			return -1;
		if (grow(r, n + 1) != 0)
			return -2;
		memcpy(r->buf, s, n);
		r->buf[n] = '\0';
		*len = n;
		return 1;
	}
	if (r->rbuf == NULL && (r->rbuf = malloc(READ_AHEAD)) == NULL)
		return -2;
	for (;;) {
		const char *s, *nl;
		size_t take;

		if (r->rpos == r->rlen) {
			if (r->eof)
				break;
			r->rlen = fread(r->rbuf, 1, READ_AHEAD, r->f);
			r->rpos = 0;
			if (r->rlen == 0) {
				if (ferror(r->f))
					return -2;
				r->eof = 1;
				break;
			}
		}
		any = 1;
		s = r->rbuf + r->rpos;
		nl = memchr(s, '\n', r->rlen - r->rpos);
		take = nl ? (size_t)(nl - s) : r->rlen - r->rpos;
		r->rpos += take + (nl != NULL);
		if (!toolong) {
			if (n + take > r->max)
				toolong = 1;
			else {
				if (grow(r, n + take + 1) != 0)
					return -2;
				memcpy(r->buf + n, s, take);
				n += take;
			}
		}
		if (nl != NULL)
			break;
	}
	if (!any)
		return 0;
	if (toolong)
		return -1;
	r->buf[n] = '\0';
	*len = n;
	return 1;
}

int
vc_jsonl_next_raw(vc_ctx *ctx, struct vc_jsonl *r)
{
	size_t len;
	int rc;

	if (r->src_next != NULL)
		return r->src_next(ctx, r);
	for (;;) {
		rc = raw_line(r, &len);
		if (rc == 0)
			return 0;
		r->line++;
		if (rc == -2)
			return vc_fail(ctx, VC_EINTERNAL, "%s:%ld: read error: %s", r->name, r->line,
			    strerror(errno)), -2;
		if (rc == -1) {
			vc_fail(ctx, VC_EINVAL, "%s:%ld: line longer than %zu bytes", r->name, r->line, r->max);
			return -1;
		}
		while (len > 0 && (r->buf[len - 1] == '\r' || r->buf[len - 1] == ' ' ||
		    r->buf[len - 1] == '\t'))
			r->buf[--len] = '\0';
		if (len == 0)
			continue;
		r->len = len;
		return 1;
	}
}

jv
vc_jsonl_value(struct vc_jsonl *r)
{
	jv v = r->val;

	r->val = jv_invalid();
	if (jv_is_valid(v))
		return v;
	jv_free(v);
	return jv_parse_sized(r->buf, (int)r->len);
}

int
vc_jsonl_next(vc_ctx *ctx, struct vc_jsonl *r, jv *out)
{
	int rc;

	*out = jv_invalid();
	if ((rc = vc_jsonl_next_raw(ctx, r)) != 1)
		return rc;
	*out = vc_jsonl_value(r);
	if (!jv_is_valid(*out)) {
		jv msg = jv_invalid_get_msg(*out);
		vc_fail(ctx, VC_EINVAL, "%s:%ld: %s", r->name, r->line,
		    jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "not JSON");
		jv_free(msg);
		*out = jv_invalid();
		return -1;
	}
	return 1;
}

/* Seconds on the monotonic clock. */
static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Rows, bytes and rate so far, to ctx->progress at most twice a second
 * (the clock is read once every 4096 lines), and once at the end. */
static void
progress(vc_ctx *ctx, long lines, double bytes, double start, double *last, int end)
{
	char msg[128];
	double now;

	if (ctx->progress == NULL || (!end && ((lines & 4095) != 0 || (now = mono()) - *last < 0.5)))
		return;
	if (end)
		now = mono();
	*last = now;
	snprintf(msg, sizeof msg, "%ld rows, %.1f MiB, %.0f rows/s", lines, bytes / 1048576.0,
	    now > start ? (double)lines / (now - start) : 0.0);
	ctx->progress(ctx, msg, ctx->stream_arg);
}

int
vc_jsonl_each(vc_ctx *ctx, struct vc_jsonl *r, struct vc_jsonl_loop *lp)
{
	jv rec;
	int n, rc;
	long lines = 0;
	double bytes = 0, start = ctx->progress ? mono() : 0, last = start;

	lp->records = lp->bad = 0;
	for (;;) {
		progress(ctx, lines++, bytes, start, &last, 0);
		rec = jv_invalid();
		if (lp->mode == VC_JSONL_JSON)
			n = vc_jsonl_next(ctx, r, &rec);
		else
			n = vc_jsonl_next_raw(ctx, r);
		if (n == 0) {
			progress(ctx, lines - 1, bytes, start, &last, 1);
			return 0;
		}
		if (n == -2)
			return ctx->err;
		bytes += (double)r->len + 1;
		if (n == -1)
			vc_bad(ctx, "%s", ctx->errmsg);     /* it names the line */
		else if (lp->mode == VC_JSONL_OBJECT) {
			rec = vc_jsonl_value(r);
			if (jv_get_kind(rec) != JV_KIND_OBJECT) {
				jv_free(rec);
				vc_bad(ctx, "%s:%ld: expected a JSON object", r->name, r->line);
				n = -1;
			}
		}
		if (n == -1) {
			lp->bad++;
			if (lp->unread != NULL)
				lp->unread(lp->arg);
			if (lp->strict)
				return 0;
			continue;
		}
		lp->records++;
		rc = lp->fn(ctx, r, rec, lp->arg);
		if (rc == VC_JSONL_BAD) {
			vc_bad(ctx, "%s:%ld: %s", r->name, r->line, ctx->errmsg);
			lp->bad++;
			if (lp->strict)
				return 0;
		} else if (rc == VC_JSONL_STOP)
			return 0;
		else if (rc != 0)
			return rc;
	}
}
