/* SPDX-License-Identifier: MIT */
/*
 * t_http.c - vc-serve's pure parsers (front/http/http.c): the request
 * head, each of its refusals with its status and reason, the chunked
 * decoder (whole and byte by byte), form and query decoding, JSON depth,
 * --listen and --cors-origin.  The inputs of bugs the fuzz targets found
 * are here too, each with a word on what it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "tap.h"

static struct vc_serve_config cfg;
static struct vc_serve_req req;
static char why[256];
/* The private copy the last head was parsed in; req points into it. */
static char *headbuf;

/*
 * Parse n bytes of s as a head, from an exact-size private copy (so that
 * AddressSanitizer sees any read past the end).  Returns the status.
 */
static int
head_n(const char *s, size_t n)
{
	free(headbuf);
	if ((headbuf = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(headbuf, s, n);
	why[0] = '\0';
	return vc_serve_parse_head(headbuf, n, &cfg, &req, why, sizeof why);
}

static int
head(const char *s)
{
	return head_n(s, strlen(s));
}

/* A refusal: the status and a reason containing want. */
#define refuse(text, status, want, desc) do { \
	int st_ = head(text); \
	ok(st_ == (status) && strstr(why, (want)) != NULL, "%s: %d (%s)", desc, status, want); \
	if (st_ != (status) || strstr(why, (want)) == NULL) \
		printf("#   got %d '%s'\n", st_, why); \
} while (0)

/* The same for a head with NUL bytes in it: a string literal. */
#define refuse_n(text, status, want, desc) do { \
	int st_ = head_n(text, sizeof text - 1); \
	ok(st_ == (status) && strstr(why, (want)) != NULL, "%s: %d (%s)", desc, status, want); \
	if (st_ != (status) || strstr(why, (want)) == NULL) \
		printf("#   got %d '%s'\n", st_, why); \
} while (0)

/* A string of n copies of c followed by tail, malloc'd. */
static char *
repeat(const char *pre, int c, size_t n, const char *tail)
{
	size_t a = strlen(pre), b = strlen(tail);
	char *s = malloc(a + n + b + 1);

	if (s == NULL)
		abort();
	memcpy(s, pre, a);
	memset(s + a, c, n);
	memcpy(s + a + n, tail, b + 1);
	return s;
}

static void
good_heads(void)
{
	is_int(head("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), 0, "a plain GET");
	is_str(req.method, "GET", "... method");
	is_str(req.path, "/health", "... path");
	ok(req.query == NULL, "... no query");
	is_int(req.minor, 1, "... HTTP/1.1");
	is_int(req.content_length, -1, "... no Content-Length");
	is_int(req.close + req.chunked + req.expect_continue + req.accept_jsonl, 0,
	    "... keep-alive, not chunked, no expectation, plain JSON");
	is_int(req.nfields, 1, "... one field");

	is_int(head("GET /api/hosts?limit=5&q=a%20b HTTP/1.1\r\nHost: x\r\n\r\n"), 0, "a query");
	is_str(req.path, "/api/hosts", "... the path stops at '?'");
	is_str(req.query, "limit=5&q=a%20b", "... the query stays raw");

	is_int(head("GET /a%20b/%C3%A9 HTTP/1.1\r\nHost: x\r\n\r\n"), 0, "percent-encoded path");
	is_str(req.path, "/a b/\xc3\xa9", "... decoded in place");

	is_int(head("GET /api/ HTTP/1.1\r\nHost: x\r\n\r\n"), 0, "a trailing '/'");
	is_str(req.path, "/api/", "... is kept: routing tells /api/ from /api");

	is_int(head("GET / HTTP/1.0\r\n\r\n"), 0, "HTTP/1.0 without Host");
	is_int(req.minor * 10 + req.close, 1, "... minor 0, and it closes");

	is_int(head("POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	    "Content-Length: 5\r\nContent-Type:  application/json  \r\n\r\n"), 0,
	    "the same Content-Length twice");
	is_int(req.content_length, 5, "... is one length");
	is_str(req.content_type, "application/json", "... and the value is trimmed");

	is_int(head("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	    "Expect: 100-continue\r\n\r\n"), 0, "chunked with Expect");
	is_int(req.chunked * 10 + req.expect_continue, 11, "... chunked, expects to continue");
	is_int(head("POST /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"), 0,
	    "Expect in HTTP/1.0");
	is_int(req.expect_continue, 0, "... is ignored");

	is_int(head("GET http://example.org:8000/health?x=1 HTTP/1.1\r\nHost: example.org\r\n\r\n"),
	    0, "absolute-form target");
	is_str(req.path, "/health", "... routes on its path");
	is_str(req.query, "x=1", "... and keeps its query");
	is_int(head("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"), 0, "OPTIONS *");
	is_str(req.path, "*", "... path '*'");

	is_int(head("GET / HTTP/1.1\r\nhOsT: x\r\nConnection: keep-alive, Close\r\n"
	    "Authorization: Bearer abc\r\nOrigin: https://ui.example\r\nUser-Agent: t/1\r\n"
	    "Access-Control-Request-Method: POST\r\nX-Other:\r\n\r\n"), 0,
	    "field names in any case, kept fields, an empty value");
	is_int(req.close, 1, "... Connection lists close");
	is_str(req.authorization, "Bearer abc", "... Authorization");
	is_str(req.origin, "https://ui.example", "... Origin");
	is_str(req.user_agent, "t/1", "... User-Agent");
	is_str(req.acr_method, "POST", "... Access-Control-Request-Method");
	is_int(req.nfields, 7, "... seven fields");

	is_int(head("GET / HTTP/1.1\r\nHost: x\r\nAccept: application/x-ndjson\r\n\r\n"), 0,
	    "Accept: application/x-ndjson");
	is_int(req.accept_jsonl, 1, "... streams");
	head("GET / HTTP/1.1\r\nHost: x\r\nAccept: application/json, application/jsonl;q=0.5\r\n\r\n");
	is_int(req.accept_jsonl, 0, "JSON preferred by weight: no stream");
	head("GET / HTTP/1.1\r\nHost: x\r\nAccept: application/json;q=0.1\r\n"
	    "Accept: application/jsonl ; q=0.9\r\n\r\n");
	is_int(req.accept_jsonl, 1, "two Accept fields add up");
	head("GET / HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
	is_int(req.accept_jsonl, 0, "*/* keeps plain JSON");
	head("GET / HTTP/1.1\r\nHost: x\r\nAccept: application/x-ndjson;q=0\r\n\r\n");
	is_int(req.accept_jsonl, 0, "q=0 is a no");
	head("GET / HTTP/1.1\r\nHost: x\r\nAccept: application/x-ndjson;q=2\r\n\r\n");
	is_int(req.accept_jsonl, 0, "a malformed weight never turns a stream on");
}

static void
refusals(void)
{
	char *s;

	refuse("GET / HTTP/1.1\r\nHost: x\r\n", 400, "incomplete", "no empty line");
	refuse("", 400, "incomplete", "nothing");

	s = repeat("GET /", 'a', 8200, " HTTP/1.1\r\nHost: x\r\n\r\n");
	refuse(s, 414, "request line over 8192", "a request line over 8 KiB");
	free(s);
	s = repeat("GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ", 'b', 16400, "\r\n\r\n");
	refuse(s, 431, "header section over 16384", "a header section over 16 KiB");
	free(s);
	{
		char big[4096] = "GET / HTTP/1.1\r\nHost: x\r\n";

		for (int i = 0; i < 100; i++)
			strncat(big, "A: b\r\n", sizeof big - strlen(big) - 1);
		strncat(big, "\r\n", sizeof big - strlen(big) - 1);
		refuse(big, 431, "more than 100 header fields", "101 fields");
	}

	refuse("GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n", 417,
	    "unsupported expectation", "another expectation");
	refuse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
	    "only the chunked", "a transfer coding other than chunked");
	refuse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 501, "only the chunked", "chunked twice");
	refuse("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "not supported", "HTTP/2.0");
	refuse("GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505, "not supported", "HTTP/1.2");

	refuse("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", 400,
	    "obsolete line folding", "obs-fold");
	refuse("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "bad header name", "space before colon");
	refuse("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "more than one Host",
	    "two Host fields");
	refuse("GET / HTTP/1.1\r\nX: y\r\n\r\n", 400, "missing Host", "no Host in HTTP/1.1");
	refuse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	    400, "conflicting Content-Length", "two Content-Length values");
	refuse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", 400,
	    "bad Content-Length", "a Content-Length list");
	refuse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", 400,
	    "bad Content-Length", "a signed Content-Length");
	refuse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1234567890123456789\r\n\r\n", 400,
	    "bad Content-Length", "a 19-digit Content-Length");
	refuse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400, "together with Content-Length", "TE and CL");
	refuse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0",
	    "TE in HTTP/1.0");
	refuse("GET / HTTP/1.1\r\nHost: x\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n", 400,
	    "repeated content-type", "two Content-Type fields");
	refuse("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\nauthorization: b\r\n\r\n", 400,
	    "repeated authorization", "two Authorization fields");
	refuse("GET / HTTP/1.1\r\nHost: x\r\nX: a\x01z\r\n\r\n", 400, "control character",
	    "a control character in a value");
	refuse("GET / HTTP/1.1\r\nHost: x\r\nX: a\nY: b\r\n\r\n", 400, "bare CR, LF",
	    "a bare LF in a field");
	refuse("GET / HTTP/1.1\r\nHost: x\r\nX: a\rY: b\r\n\r\n", 400, "bare CR, LF",
	    "a bare CR in a field");
	refuse_n("GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n", 400, "bare CR, LF or NUL",
	    "a NUL in a field");
	refuse_n("GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "NUL in request line",
	    "a NUL in the request line");
	refuse("GET / HTTP/1.1\r\nHost: x\r\n: y\r\n\r\n", 400, "bad header line", "an empty name");
	refuse("GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", 400, "bad header line",
	    "a line without a colon");

	refuse("GET /a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n", 400, "encoded '/'", "%2F");
	refuse("GET /a%2fb HTTP/1.1\r\nHost: x\r\n\r\n", 400, "encoded '/'", "%2f");
	refuse("GET /a%5Cb HTTP/1.1\r\nHost: x\r\n\r\n", 400, "encoded '/'", "%5C");
	/* Found by tests/fuzz/f_http_head.c: '%5C' was refused, a raw '\' not. */
	refuse("GET /api/hos\\ts HTTP/1.1\r\nHost: x\r\n\r\n", 400, "'\\' in path",
	    "a raw backslash");
	refuse("GET /a%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "control character", "%00");
	refuse("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad percent-encoding", "%zz");
	refuse("GET /a%4 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad percent-encoding",
	    "'%' and one digit at the end");
	refuse("GET /a%C3%28 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "not valid UTF-8",
	    "invalid UTF-8 in the path");
	refuse("GET /a/../health HTTP/1.1\r\nHost: x\r\n\r\n", 400, "dot segment", "'..'");
	refuse("GET /a/%2E%2E/health HTTP/1.1\r\nHost: x\r\n\r\n", 400, "dot segment",
	    "'..' percent-encoded");
	refuse("GET /./health HTTP/1.1\r\nHost: x\r\n\r\n", 400, "dot segment", "'.'");
	refuse("GET /a/. HTTP/1.1\r\nHost: x\r\n\r\n", 400, "dot segment", "a last '.'");
	refuse("GET //health HTTP/1.1\r\nHost: x\r\n\r\n", 400, "empty or dot segment", "'//'");
	refuse("GET /a//b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "empty or dot segment",
	    "'//' inside");

	refuse("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad method", "a method with '('");
	refuse("ABCDEFGHIJKLMNOP / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad request line",
	    "a method of 16 bytes");
	refuse(" / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad request line", "no method");
	refuse("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad request line", "two spaces");
	refuse("GET /#frag HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad character in request target",
	    "a fragment");
	refuse("GET /\x80 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad character in request target",
	    "a raw byte over 0x7e");
	refuse("GET / http/1.1\r\nHost: x\r\n\r\n", 400, "bad request line", "version in lower case");
	refuse("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400, "bad request line",
	    "a space after the version");
	refuse("GET /\r\nHost: x\r\n\r\n", 400, "bad request line", "no version");
	refuse("GET health HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad request target",
	    "a target without '/'");
	refuse("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400, "only for OPTIONS", "'*' with GET");
	refuse("GET http://example.org HTTP/1.1\r\nHost: x\r\n\r\n", 400, "without a path",
	    "absolute-form without a path");
	refuse("GET http://example.org?x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "without a path",
	    "absolute-form with a query but no path");
}

/* Feed all of in to a fresh decoder in pieces of at most step bytes. */
static long
chunked_all(const char *in, size_t n, size_t step, size_t max, char **out, size_t *outlen,
    int *done)
{
	struct vc_serve_chunked d;
	size_t cap = 0, i = 0;

	memset(&d, 0, sizeof d);
	*out = NULL;
	*outlen = 0;
	while (i < n && !d.done) {
		size_t k = n - i < step ? n - i : step;
		long r = vc_serve_chunked_feed(&d, in + i, k, out, outlen, &cap, max);

		if (r < 0) {
			*done = d.done;
			return r;
		}
		i += (size_t)r;
		if ((size_t)r < k && !d.done)
			return -9;      /* stopped early without being done */
	}
	*done = d.done;
	return (long)i;
}

/* Decode a whole chunked body; returns the consumed count or the error
 * and the data (NUL-terminated, static) in got. */
static long
chunked(const char *in, size_t step, size_t max, const char **got, int *done)
{
	static char buf[512];
	size_t outlen;
	char *out;
	long r = chunked_all(in, strlen(in), step, max, &out, &outlen, done);

	snprintf(buf, sizeof buf, "%.*s", out ? (int)outlen : 0, out ? out : "");
	free(out);
	*got = buf;
	return r;
}

static void
chunked_bodies(void)
{
	const char *got;
	int done;
	long r;

	r = chunked("5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n", 1024, 100, &got, &done);
	is_int(r, 27, "chunked: all consumed");
	is_str(got, "hello, world", "... data joined");
	is_int(done, 1, "... done");
	r = chunked("5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n", 1, 100, &got, &done);
	is_int(r * 10 + done, 271, "byte by byte: the same");
	is_str(got, "hello, world", "... the same data");
	r = chunked("A;name=value\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\nGET /", 3, 100,
	    &got, &done);
	is_int(r, 45, "extension and trailer: consumed up to the end of the body only");
	is_str(got, "0123456789", "... upper-case hex size");
	r = chunked("0\r\n\r\n", 1024, 0, &got, &done);
	is_int(r * 10 + done, 51, "an empty body with max 0");
	r = chunked("00000000000005\r\nhello\r\n0\r\n\r\n", 1024, 100, &got, &done);
	is_int(r, 28, "a size of 14 digits is fine");

	r = chunked("g\r\n", 1024, 100, &got, &done);
	is_int(r, -1, "a size that is not hex: -1");
	r = chunked("\r\n", 1024, 100, &got, &done);
	is_int(r, -1, "no size: -1");
	r = chunked(";x\r\n", 1024, 100, &got, &done);
	is_int(r, -1, "an extension without a size: -1");
	r = chunked("5\nhello\r\n", 1024, 100, &got, &done);
	is_int(r, -1, "a bare LF after the size: -1");
	r = chunked("5\r\nhelloX\r\n", 1024, 100, &got, &done);
	is_int(r, -1, "data longer than its size: -1");
	r = chunked("5\r\nhello\rX", 1024, 100, &got, &done);
	is_int(r, -1, "no LF after the data: -1");
	r = chunked("5;a\x01\r\nhello\r\n", 1024, 100, &got, &done);
	is_int(r, -1, "a control byte in an extension: -1");
	r = chunked("0\r\nX: 1\n\r\n", 1024, 100, &got, &done);
	is_int(r, -1, "a bare LF in the trailer: -1");
	r = chunked("0\r\n\r\r", 1024, 100, &got, &done);
	is_int(r, -1, "CR CR at the end: -1");
	r = chunked("1000000000000000\r\n", 1024, SIZE_MAX - 1, &got, &done);
	is_int(r, -2, "16 hex digits: -2 (over any limit)");
	r = chunked("65\r\n", 1024, 100, &got, &done);
	is_int(r, -2, "one chunk of 101 bytes over max 100: -2");
	r = chunked("32\r\n01234567890123456789012345678901234567890123456789\r\n"
	    "33\r\n", 1024, 100, &got, &done);
	is_int(r, -2, "50 + 51 bytes over max 100: -2");
	r = chunked("32\r\n01234567890123456789012345678901234567890123456789\r\n"
	    "32\r\n01234567890123456789012345678901234567890123456789\r\n0\r\n\r\n", 7, 100,
	    &got, &done);
	is_int(r * 10 + done, 1171, "50 + 50 bytes with max 100: fine");
	{
		char *s = repeat("5;", 'e', 4100, "\r\nhello\r\n0\r\n\r\n");

		r = chunked(s, 1024, 100, &got, &done);
		is_int(r, -1, "a chunk-size line over 4 KiB: -1");
		free(s);
		s = repeat("0\r\nX: ", 't', 4100, "\r\n\r\n");
		r = chunked(s, 1024, 100, &got, &done);
		is_int(r, -1, "a trailer section over 4 KiB: -1");
		free(s);
	}
	{
		static const char nul[] = "0\r\nX: \0\r\n\r\n";
		char *out;
		size_t outlen;

		r = chunked_all(nul, sizeof nul - 1, 1024, 100, &out, &outlen, &done);
		is_int(r, -1, "a NUL in the trailer: -1");
		free(out);
	}
}

/* Decode s as a form; returns 0 / -1 and the object as JSON text in got. */
static int
form(const char *s, size_t n, char *got, size_t gn)
{
	jv o = jv_object(), t;
	int r;

	why[0] = '\0';
	r = vc_serve_form_decode(s, n, &o, why, sizeof why);
	t = jv_dump_string(jv_copy(o), JV_PRINT_SORTED);
	snprintf(got, gn, "%s", jv_string_value(t));
	jv_free(t);
	jv_free(o);
	return r;
}

/* A form from a string literal, NUL bytes and all. */
#define FORM(lit) form(lit, sizeof lit - 1, got, sizeof got)

static void
forms(void)
{
	char got[512];
	char *many;
	int r;

	r = FORM("a=1&b=two+words&c=%41%c3%a9");
	is_int(r, 0, "a form");
	is_str(got, "{\"a\":\"1\",\"b\":\"two words\",\"c\":\"A\xc3\xa9\"}", "... decoded");
	r = FORM("&&flag&x=&");
	is_int(r, 0, "empty pairs, a name alone, an empty value");
	is_str(got, "{\"flag\":\"\",\"x\":\"\"}", "... both are empty strings");
	r = FORM("");
	is_int(r, 0, "nothing: no members");
	r = FORM("a=1&b=%zz");
	ok(r == -1 && strstr(why, "bad percent-encoding"), "%%zz: bad percent-encoding");
	is_str(got, "{\"a\":\"1\"}", "... what came before stays in the object");
	r = FORM("a=%4");
	ok(r == -1 && strstr(why, "bad percent-encoding"), "'%%' and one digit: refused");
	r = FORM("a=%");
	ok(r == -1 && strstr(why, "bad percent-encoding"), "'%%' at the end: refused");
	r = FORM("%4=1");
	ok(r == -1 && strstr(why, "bad percent-encoding"), "a bad escape in a name: refused");
	r = FORM("a=1&a=2");
	ok(r == -1 && strstr(why, "'a' given twice"), "a duplicate: refused");
	r = FORM("a=1&%61=2");
	ok(r == -1 && strstr(why, "given twice"), "a duplicate spelt otherwise: refused");
	r = FORM("a=%00");
	ok(r == -1 && strstr(why, "not valid UTF-8 text"), "an encoded NUL: refused");
	r = FORM("a\0b=1");
	ok(r == -1 && strstr(why, "not valid UTF-8 text"), "a raw NUL: refused");
	r = FORM("a=%C3%28");
	ok(r == -1 && strstr(why, "not valid UTF-8"), "invalid UTF-8: refused");
	r = FORM("a=\xff");
	ok(r == -1 && strstr(why, "not valid UTF-8"), "a raw invalid byte: refused");
	r = FORM("=1");
	ok(r == -1 && strstr(why, "empty parameter name"), "an empty name: refused");
	r = form("a=1&b", 3, got, sizeof got);
	is_str(got, "{\"a\":\"1\"}", "only len bytes are read");

	/* 256 parameters are fine, 257 are not. */
	many = malloc(257 * 8 + 1);
	if (many == NULL)
		abort();
	many[0] = '\0';
	for (int i = 0; i < 257; i++) {
		char one[16];

		snprintf(one, sizeof one, "%sp%d=1", i ? "&" : "", i);
		strncat(many, one, 257 * 8 - strlen(many));
	}
	r = form(many, (size_t)(strrchr(many, '&') - many), got, sizeof got);
	is_int(r, 0, "256 parameters");
	r = form(many, strlen(many), got, sizeof got);
	ok(r == -1 && strstr(why, "more than 256 parameters"), "257 parameters: refused");
	free(many);
}

static void
json_depths(void)
{
	static const struct {
		const char *s;
		int depth;
	} t[] = {
		{ "", 0 }, { "1", 0 }, { "[]", 1 }, { "{\"a\":[{}]}", 3 },
		{ "\"[[[\"", 0 }, { "[\"\\\"[\"]", 1 }, { "]]]", 0 }, { "[[]][[[]]]", 3 },
		{ "[\"\\\\\"]", 1 }, { "{\"a\":\"}}\",\"b\":[[1]]}", 3 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		is_int(vc_serve_json_depth(t[i].s, strlen(t[i].s)), t[i].depth, "depth of %s", t[i].s);
	is_int(vc_serve_json_depth("[[[", 2), 2, "only len bytes are read");
}

static void
listen_and_origins(void)
{
	static const char *const bad_listen[] = {
		"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:65536", "127.0.0.1:-1",
		"localhost:80", "[::1]80", "[::1]", "::1:80", ":80", "127.0.0.1:80 ",
	};
	static const char *const bad_origin[] = {
		"ftp://x", "https://", "https://x/", "https://X.example", "https://u@x",
		"http//x",
	};
	struct vc_serve_config c;
	vc_ctx ctx;

	memset(&ctx, 0, sizeof ctx);
	vc_serve_config_init(&c);
	is_int(vc_serve_parse_listen(&ctx, "10.1.2.3:8080", &c), VC_EOK, "--listen 10.1.2.3:8080");
	is_str(c.addr, "10.1.2.3", "... address");
	is_int(c.port, 8080, "... port");
	is_int(vc_serve_parse_listen(&ctx, "[::1]:0", &c), VC_EOK, "--listen [::1]:0");
	is_str(c.addr, "::1", "... IPv6 address without brackets");
	for (size_t i = 0; i < sizeof bad_listen / sizeof bad_listen[0]; i++)
		is_int(vc_serve_parse_listen(&ctx, bad_listen[i], &c), VC_EUSAGE,
		    "--listen '%s' refused", bad_listen[i]);
	is_int(vc_serve_check_origin(&ctx, "https://ui.example:8443"), VC_EOK, "an origin with a port");
	is_int(vc_serve_check_origin(&ctx, "http://[::1]:3000"), VC_EOK, "an IPv6 origin");
	for (size_t i = 0; i < sizeof bad_origin / sizeof bad_origin[0]; i++)
		is_int(vc_serve_check_origin(&ctx, bad_origin[i]), VC_EUSAGE,
		    "origin '%s' refused", bad_origin[i]);
}

int
main(void)
{
	vc_serve_config_init(&cfg);
	good_heads();
	refusals();
	chunked_bodies();
	forms();
	json_depths();
	listen_and_origins();
	free(headbuf);
	return done_testing();
}
