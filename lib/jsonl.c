/* SPDX-License-Identifier: MIT */
/* jsonl.c - bounded JSON Lines reading. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

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
	free(r->buf);
	free(r->name_copy);
	memset(r, 0, sizeof *r);
}

/*
 * One raw line into r->buf (without the newline): 1 read, 0 end,
 * -1 too long (the rest of it is consumed), -2 read error.
 */
static int
raw_line(struct vc_jsonl *r, size_t *len)
{
	size_t n = 0;
	int c, toolong = 0;

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
		if (n + 1 > r->cap) {
			char *b = realloc(r->buf, n + 1);
			if (b == NULL)
				return -2;
			r->buf = b;
			r->cap = n + 1;
		}
		memcpy(r->buf, s, n);
		r->buf[n] = '\0';
		*len = n;
		return 1;
	}
	if (r->cap == 0) {
		r->cap = 4096;
		if ((r->buf = malloc(r->cap)) == NULL)
			return -2;
	}
	while ((c = getc_unlocked(r->f)) != EOF && c != '\n') {
		if (toolong)
			continue;
		if (n + 1 >= r->cap) {
			size_t ncap = r->cap * 2;
			char *b;
			if (ncap > r->max + 2)
				ncap = r->max + 2;
			if (n + 1 >= ncap) {
				toolong = 1;
				continue;
			}
			if ((b = realloc(r->buf, ncap)) == NULL)
				return -2;
			r->buf = b;
			r->cap = ncap;
		}
		r->buf[n++] = (char)c;
	}
	if (ferror(r->f))
		return -2;
	if (c == EOF && n == 0 && !toolong)
		return 0;
	if (toolong || n > r->max)
		return -1;
	r->buf[n] = '\0';
	*len = n;
	return 1;
}

int
vc_jsonl_next(vc_ctx *ctx, struct vc_jsonl *r, jv *out)
{
	size_t len;
	int rc;

	*out = jv_invalid();
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
		*out = jv_parse_sized(r->buf, (int)len);
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
}
