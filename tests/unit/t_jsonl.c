/* SPDX-License-Identifier: MIT */
/* t_jsonl.c - the bounded JSON Lines reader, from memory and from a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json/jsonl.h"
#include "tap.h"

/* Read everything; returns "k:k:..." of kinds, "E<line>" for bad lines. */
static void
walk(vc_ctx *ctx, struct vc_jsonl *r, char *got, size_t n, char *lastmsg, size_t mn)
{
	jv v;
	int rc;

	got[0] = '\0';
	while ((rc = vc_jsonl_next(ctx, r, &v)) != 0 && rc != -2) {
		char one[32];
		if (rc == 1)
			snprintf(one, sizeof one, "%s", jv_kind_name(jv_get_kind(v)));
		else {
			snprintf(one, sizeof one, "E%ld", r->line);
			snprintf(lastmsg, mn, "%s", ctx->errmsg);
		}
		jv_free(v);
		if (got[0])
			strncat(got, ",", n - strlen(got) - 1);
		strncat(got, one, n - strlen(got) - 1);
	}
}

int
main(void)
{
	vc_ctx ctx;
	struct vc_jsonl r;
	char got[512], msg[512] = "";
	const char *in = "{\"a\":1}\n\n  \n[1,2]\r\n{bad\n\"s\"\n{\"last\":true}";
	char path[] = "/tmp/vc-t-jsonl.XXXXXX";
	FILE *f;
	int fd;

	vc_ctx_init(&ctx);
	vc_jsonl_mem(&r, "body", in, strlen(in));
	walk(&ctx, &r, got, sizeof got, msg, sizeof msg);
	is_str(got, "object,array,E5,string,object", "memory: records, blank lines skipped, bad line reported");
	ok(strncmp(msg, "body:5: ", 8) == 0, "the error names the input and the line: %s", msg);
	vc_jsonl_release(&r);

	/* A file with a line over the limit: reported and skipped whole. */
	fd = mkstemp(path);
	ok(fd >= 0, "temp file");
	f = fdopen(fd, "w");
	fputs("{\"n\":1}\n", f);
	for (int i = 0; i < 100; i++)
		fputs("0123456789", f);
	fputs("\n{\"n\":3}\n", f);
	fclose(f);
	ok(vc_jsonl_open(&ctx, &r, path) == 0, "open file");
	r.max = 500;
	walk(&ctx, &r, got, sizeof got, msg, sizeof msg);
	is_str(got, "object,E2,object", "an over-long line is one error and reading goes on");
	ok(strstr(msg, ":2: line longer than 500 bytes") != NULL, "message: %s", msg);
	vc_jsonl_release(&r);

	/* Exactly at the limit is fine. */
	f = fopen(path, "w");
	fputs("\"", f);
	for (int i = 0; i < 498; i++)
		fputc('x', f);
	fputs("\"\n", f);
	fclose(f);
	ok(vc_jsonl_open(&ctx, &r, path) == 0, "reopen");
	r.max = 500;
	walk(&ctx, &r, got, sizeof got, msg, sizeof msg);
	is_str(got, "string", "a line of exactly the limit is read");
	vc_jsonl_release(&r);
	unlink(path);

	is_int(vc_jsonl_open(&ctx, &r, "/nonexistent/x.jsonl"), VC_ENOTFOUND, "missing file is not found");
	ok(strstr(ctx.errmsg, "/nonexistent/x.jsonl") != NULL, "and named: %s", ctx.errmsg);
	vc_ctx_release(&ctx);
	return done_testing();
}
