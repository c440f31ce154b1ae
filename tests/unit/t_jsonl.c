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

/* A callback for vc_jsonl_each: notes what it saw, acts on the text. */
struct seen {
	char got[512];
	int unread;
};

static int
note(vc_ctx *ctx, struct vc_jsonl *r, jv rec, void *arg)
{
	struct seen *s = arg;
	char one[64];

	snprintf(one, sizeof one, "%s%ld=%s", s->got[0] ? "," : "", r->line,
	    jv_is_valid(rec) ? jv_kind_name(jv_get_kind(rec)) : "text");
	strncat(s->got, one, sizeof s->got - strlen(s->got) - 1);
	jv_free(rec);
	if (strstr(r->buf, "\"bad\"") != NULL)
		return vc_fail(ctx, VC_EINVAL, "a bad record"), VC_JSONL_BAD;
	if (strstr(r->buf, "\"stop\"") != NULL)
		return VC_JSONL_STOP;
	if (strstr(r->buf, "\"fail\"") != NULL)
		return vc_fail(ctx, VC_ECONFLICT, "it failed");
	return 0;
}

static void
count_unread(void *arg)
{
	((struct seen *)arg)->unread++;
}

/* The bad lines reported so far, joined by '|'; forgets them. */
static void
bad_lines(vc_ctx *ctx, char *out, size_t n)
{
	out[0] = '\0';
	if (jv_is_valid(ctx->bad_list)) {
		jv_array_foreach(ctx->bad_list, i, m) {
			if (i > 0)
				strncat(out, "|", n - strlen(out) - 1);
			strncat(out, jv_string_value(m), n - strlen(out) - 1);
			jv_free(m);
		}
	}
	jv_free(ctx->bad_list);
	ctx->bad_list = jv_invalid();
	ctx->bad_count = 0;
}

/* Each mode of vc_jsonl_each over the same input. */
static void
each(vc_ctx *ctx)
{
	const char *in = "{\"a\":1}\n\n[\"bad\"]\n{oops\n\"s\"\n{\"b\":2}\n";
	struct vc_jsonl r;
	struct seen s;
	struct vc_jsonl_loop lp = { .fn = note, .unread = count_unread, .arg = &s };
	char bad[1024];
	int rc;

	memset(&s, 0, sizeof s);
	vc_jsonl_mem(&r, "body", in, strlen(in));
	lp.mode = VC_JSONL_TEXT;
	rc = vc_jsonl_each(ctx, &r, &lp);
	bad_lines(ctx, bad, sizeof bad);
	is_int(rc, 0, "text: read to the end");
	is_str(s.got, "1=text,3=text,4=text,5=text,6=text", "text: every non-blank line, numbered");
	is_str(bad, "body:3: a bad record", "text: the callback's bad record, named FILE:LINE");
	ok(lp.records == 5 && lp.bad == 1 && s.unread == 0, "text: 5 records, 1 bad (%ld, %ld)",
	    lp.records, lp.bad);
	vc_jsonl_release(&r);

	memset(&s, 0, sizeof s);
	vc_jsonl_mem(&r, "body", in, strlen(in));
	lp.mode = VC_JSONL_JSON;
	rc = vc_jsonl_each(ctx, &r, &lp);
	bad_lines(ctx, bad, sizeof bad);
	is_int(rc, 0, "json: read to the end");
	is_str(s.got, "1=object,3=array,5=string,6=object", "json: the values, parsed");
	ok(strncmp(bad, "body:3: a bad record|body:4: ", 29) == 0 && strchr(bad + 29, '|') == NULL,
	    "json: line 4 is not JSON, with jq's reason: %s", bad);
	ok(lp.records == 4 && lp.bad == 2 && s.unread == 1, "json: 4 records, 2 bad, 1 unread");
	vc_jsonl_release(&r);

	memset(&s, 0, sizeof s);
	vc_jsonl_mem(&r, "stdin", in, strlen(in));
	lp.mode = VC_JSONL_OBJECT;
	rc = vc_jsonl_each(ctx, &r, &lp);
	bad_lines(ctx, bad, sizeof bad);
	is_int(rc, 0, "object: read to the end");
	is_str(s.got, "1=object,6=object", "object: only the objects");
	is_str(bad, "stdin:3: expected a JSON object|stdin:4: expected a JSON object|"
	    "stdin:5: expected a JSON object", "object: anything else is one message");
	ok(lp.records == 2 && lp.bad == 3 && s.unread == 3, "object: 2 records, 3 bad, 3 unread");
	vc_jsonl_release(&r);

	/* strict: the first bad line ends the reading, without an error. */
	memset(&s, 0, sizeof s);
	vc_jsonl_mem(&r, "body", in, strlen(in));
	lp.mode = VC_JSONL_TEXT;
	lp.strict = 1;
	rc = vc_jsonl_each(ctx, &r, &lp);
	bad_lines(ctx, bad, sizeof bad);
	ok(rc == 0 && lp.bad == 1, "strict: stops with 0 and one bad line");
	is_str(s.got, "1=text,3=text", "strict: nothing read after the bad line");
	is_str(bad, "body:3: a bad record", "strict: the bad line is reported");
	lp.strict = 0;
	vc_jsonl_release(&r);

	/* A line over the limit: reported, skipped whole, the next one read. */
	{
		char big[700];
		memset(big, 'x', sizeof big);
		memcpy(big, "{\"a\":1}\n\"", 9);
		/* The tail with its NUL: the 600 x's between make line 2. */
		memcpy(big + sizeof big - 11, "\"\n{\"c\":3}\n", 11);
		memset(&s, 0, sizeof s);
		vc_jsonl_mem(&r, "body", big, strlen(big));
		r.max = 500;
		rc = vc_jsonl_each(ctx, &r, &lp);
		bad_lines(ctx, bad, sizeof bad);
		is_int(rc, 0, "long line: read to the end");
		is_str(s.got, "1=text,3=text", "long line: the lines around it are read");
		is_str(bad, "body:2: line longer than 500 bytes", "long line: named by its line");
		ok(lp.bad == 1 && s.unread == 1, "long line: one bad line, never given to fn");
		vc_jsonl_release(&r);
	}

	/* The callback stops the reading, or fails it. */
	in = "{\"a\":1}\n\"stop\"\n{\"b\":2}\n";
	memset(&s, 0, sizeof s);
	vc_jsonl_mem(&r, "body", in, strlen(in));
	rc = vc_jsonl_each(ctx, &r, &lp);
	ok(rc == 0 && ctx->bad_count == 0, "stop: 0, nothing bad");
	is_str(s.got, "1=text,2=text", "stop: nothing read after it");
	vc_jsonl_release(&r);

	in = "{\"a\":1}\n\"fail\"\n{\"b\":2}\n";
	memset(&s, 0, sizeof s);
	vc_jsonl_mem(&r, "body", in, strlen(in));
	rc = vc_jsonl_each(ctx, &r, &lp);
	is_int(rc, VC_ECONFLICT, "an error of the callback is returned");
	is_str(ctx->errmsg, "it failed", "with its message");
	is_str(s.got, "1=text,2=text", "error: nothing read after it");
	vc_jsonl_release(&r);
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
	each(&ctx);
	vc_ctx_release(&ctx);
	return done_testing();
}
