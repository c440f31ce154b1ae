/* SPDX-License-Identifier: MIT */
/*
 * f_http_head.c - vc_serve_parse_head, with vc-serve's default limits, on
 * any bytes.  It parses in place, so each run gets a private copy of
 * exactly the input's size (ASan sees a read one past it).  A refusal
 * must be one of the statuses the server knows, with a reason; an
 * accepted head must hold everything routing relies on: pointers into
 * the buffer, a tchar method, a decoded path without '//', dot segments,
 * control bytes or invalid UTF-8, a clean query, consistent framing.
 */
#include <string.h>
#include <unistr.h>

#include "http/http.h"
#include "fuzz.h"

static struct vc_serve_config cfg;

static int
in_buf(const char *p, const char *buf, size_t n)
{
	return p >= buf && p < buf + n;
}

static int
tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A kept field value: in the buffer, trimmed, no CR, LF or controls. */
static void
check_value(const char *v, const char *buf, size_t n)
{
	size_t l;

	if (v == NULL)
		return;
	check(in_buf(v, buf, n));
	l = strlen(v);
	check(v + l < buf + n);
	if (l > 0) {
		check(v[0] != ' ' && v[0] != '\t');
		check(v[l - 1] != ' ' && v[l - 1] != '\t');
	}
	for (size_t i = 0; i < l; i++)
		check(((unsigned char)v[i] >= 0x20 || v[i] == '\t') && v[i] != 0x7f);
}

static void
check_path(const char *p)
{
	size_t l = strlen(p);

	if (strcmp(p, "*") == 0)
		return;
	check(p[0] == '/');
	check(u8_check((const uint8_t *)p, l) == NULL);
	check(strstr(p, "//") == NULL);
	check(strstr(p, "/./") == NULL && strstr(p, "/../") == NULL);
	check(strcmp(p, "/.") != 0 && strcmp(p, "/..") != 0);
	check(!(l >= 2 && strcmp(p + l - 2, "/.") == 0));
	check(!(l >= 3 && strcmp(p + l - 3, "/..") == 0));
	for (size_t i = 0; i < l; i++)
		check((unsigned char)p[i] >= 0x20 && p[i] != 0x7f && p[i] != '\\');
}

static void
check_accepted(const struct vc_serve_req *r, const char *buf, size_t n)
{
	size_t ml;

	check(r->method != NULL && in_buf(r->method, buf, n));
	ml = strlen(r->method);
	check(ml >= 1 && ml <= 15);
	for (size_t i = 0; i < ml; i++)
		check(tchar((unsigned char)r->method[i]));
	check(r->path != NULL && in_buf(r->path, buf, n));
	check_path(r->path);
	if (strcmp(r->path, "*") == 0)
		check(strcmp(r->method, "OPTIONS") == 0 && r->query == NULL);
	if (r->query != NULL) {
		check(in_buf(r->query, buf, n));
		for (const char *q = r->query; *q != '\0'; q++)
			check((unsigned char)*q > 0x20 && (unsigned char)*q < 0x7f && *q != '#');
	}
	check(r->minor == 0 || r->minor == 1);
	if (r->minor == 0)
		check(r->close == 1 && r->chunked == 0 && r->expect_continue == 0);
	check(r->content_length >= -1 && r->content_length <= 999999999999999999LL);
	if (r->chunked)
		check(r->content_length == -1);
	check(r->nfields >= 0 && r->nfields <= cfg.max_fields);
	check(r->accept_jsonl == 0 || r->accept_jsonl == 1);
	check_value(r->content_type, buf, n);
	check_value(r->authorization, buf, n);
	check_value(r->origin, buf, n);
	check_value(r->user_agent, buf, n);
	check_value(r->acr_method, buf, n);
}

static int
parse(const uint8_t *data, size_t size, struct vc_serve_req *r, char *why, size_t wn,
    char **bufp)
{
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		abort();
	if (size > 0)
		memcpy(buf, data, size);
	why[0] = '\0';
	*bufp = buf;
	return vc_serve_parse_head(buf, size, &cfg, r, why, wn);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_serve_req r, r2;
	char why[256], why2[256], *buf, *buf2;
	int st, st2;

	if (cfg.max_line == 0)
		vc_serve_config_init(&cfg);
	st = parse(data, size, &r, why, sizeof why, &buf);
	check(st == 0 || st == 400 || st == 414 || st == 417 || st == 431 || st == 501 ||
	    st == 505);
	if (st != 0)
		check(why[0] != '\0');
	else {
		const uint8_t *eol = memmem(data, size, "\r\n", 2);
		char *text;

		check_accepted(&r, buf, size);
		/* A whole head, and it fits the limits. */
		check(size >= 4 && memcmp(data + size - 4, "\r\n\r\n", 4) == 0);
		check(eol != NULL && (size_t)(eol - data) <= cfg.max_line);
		check(size - (size_t)(eol - data) - 4 <= cfg.max_headers);
		/* No NUL anywhere, and HTTP/1.1 named its Host. */
		check(memchr(data, '\0', size) == NULL);
		text = fuzz_cstr(data, size, size);
		if (r.minor == 1)
			check(strcasestr(text, "\r\nhost:") != NULL);
		if (r.chunked)
			check(strcasestr(text, "\r\ntransfer-encoding:") != NULL);
		free(text);
	}
	/* The same bytes, the same answer. */
	st2 = parse(data, size, &r2, why2, sizeof why2, &buf2);
	check(st2 == st && strcmp(why, why2) == 0);
	if (st == 0)
		check(strcmp(r.path, r2.path) == 0 && r.content_length == r2.content_length &&
		    r.chunked == r2.chunked && r.close == r2.close && r.nfields == r2.nfields);
	free(buf);
	free(buf2);
	return 0;
}
