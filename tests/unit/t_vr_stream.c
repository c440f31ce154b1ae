/* SPDX-License-Identifier: MIT */
/*
 * t_vr_stream.c - the decoder of a Query response stream (vc_vr_stream_*
 * in lib/vr.c) without a server: gRPC messages built here with
 * protobuf-c, fed whole and cut anywhere, rows and logs handed out,
 * every protocol error it knows, and a row callback that stops it.  A
 * log of line ends only reached the log callback as an empty line; that
 * was found by tests/fuzz/f_grpc_frame.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "velociraptor.pb-c.h"
#include "vr.h"
#include "tap.h"

struct got {
	char rows[1024];
	char logs[1024];
	int batch_ends;
	int stop_after;
	long nrows;
};

static int
on_row(void *arg, const char *json, size_t n)
{
	struct got *g = arg;

	snprintf(g->rows + strlen(g->rows), sizeof g->rows - strlen(g->rows), "%.*s|", (int)n, json);
	g->nrows++;
	return g->stop_after > 0 && g->nrows >= g->stop_after;
}

static void
on_batch(void *arg)
{
	((struct got *)arg)->batch_ends++;
}

static void
on_log(void *arg, const char *line)
{
	struct got *g = arg;

	snprintf(g->logs + strlen(g->logs), sizeof g->logs - strlen(g->logs), "%s|", line);
}

/* Append one gRPC message holding a VQLResponse with these fields. */
static size_t
frame(unsigned char *buf, size_t at, const char *response, const char *log)
{
	Proto__VQLResponse r = PROTO__VQLRESPONSE__INIT;
	size_t n;

	r.response = (char *)(response ? response : "");
	r.log = (char *)(log ? log : "");
	r.timestamp = 1733820037000000u;
	n = proto__vqlresponse__get_packed_size(&r);
	buf[at] = 0;
	buf[at + 1] = (unsigned char)(n >> 24);
	buf[at + 2] = (unsigned char)(n >> 16);
	buf[at + 3] = (unsigned char)(n >> 8);
	buf[at + 4] = (unsigned char)n;
	proto__vqlresponse__pack(&r, buf + at + 5);
	return at + 5 + n;
}

/* Feed n bytes in pieces of step; returns the last result. */
static int
feed(const unsigned char *buf, size_t n, size_t step, struct got *g, struct vc_vr_result *res,
    char *msg, size_t mn)
{
	struct vc_vr_query q;
	struct vc_vr_stream s;
	int rc = 0;

	memset(&q, 0, sizeof q);
	memset(res, 0, sizeof *res);
	q.row = on_row;
	q.batch_end = on_batch;
	q.log = on_log;
	q.arg = g;
	vc_vr_stream_init(&s, &q, res);
	for (size_t i = 0; i < n && rc == 0; i += step)
		rc = vc_vr_stream_feed(&s, buf + i, n - i < step ? n - i : step);
	snprintf(msg, mn, "%s", s.error ? s.msg : "");
	vc_vr_stream_release(&s);
	return rc;
}

int
main(void)
{
	unsigned char buf[4096];
	struct vc_vr_result res;
	struct got g;
	char msg[160];
	size_t n;
	int rc;

	n = frame(buf, 0, NULL, "Starting query execution.\n");
	n = frame(buf, n, "[{\"ClientId\":\"C.1\"},{\"a\":[1,2]}]", NULL);
	n = frame(buf, n, NULL, "VQL Error: Symbol foo not found\r\n");
	n = frame(buf, n, "[3]", NULL);
	for (size_t step = 1; step <= n; step = step < 8 ? step + 1 : step * 3) {
		memset(&g, 0, sizeof g);
		rc = feed(buf, n, step, &g, &res, msg, sizeof msg);
		ok(rc == 0 && strcmp(g.rows, "{\"ClientId\":\"C.1\"}|{\"a\":[1,2]}|3|") == 0 &&
		    strcmp(g.logs, "Starting query execution.|VQL Error: Symbol foo not found|") == 0 &&
		    res.rows == 3 && res.batches == 2 && g.batch_ends == 2 && res.error_logs == 1 &&
		    strcmp(res.first_error, "VQL Error: Symbol foo not found") == 0,
		    "rows, logs and counts, fed %zu bytes at a time", step);
	}

	/* A log of line ends only is no line (found by f_grpc_frame). */
	n = frame(buf, 0, NULL, "\n");
	n = frame(buf, n, NULL, "\r\n\r\n");
	n = frame(buf, n, NULL, "done\n");
	memset(&g, 0, sizeof g);
	rc = feed(buf, n, 7, &g, &res, msg, sizeof msg);
	is_str(g.logs, "done|", "logs of line ends only are not handed out");

	/* The row callback stops the stream, and it stays stopped. */
	n = frame(buf, 0, "[1,2,3]", NULL);
	n = frame(buf, n, "[4]", NULL);
	memset(&g, 0, sizeof g);
	g.stop_after = 2;
	rc = feed(buf, n, n, &g, &res, msg, sizeof msg);
	ok(rc == -1 && res.stopped && res.rows == 2 && msg[0] == '\0' &&
	    strcmp(g.rows, "1|2|") == 0, "the row callback stops it");

	/* Protocol errors. */
	n = frame(buf, 0, "[1]", NULL);
	buf[0] = 1;
	memset(&g, 0, sizeof g);
	rc = feed(buf, n, n, &g, &res, msg, sizeof msg);
	ok(rc == -1 && strstr(msg, "compressed") != NULL, "a compressed message: %s", msg);
	memcpy(buf, "\0\x04\0\0\x01", 5);
	rc = feed(buf, 5, 5, &g, &res, msg, sizeof msg);
	ok(rc == -1 && strstr(msg, "over the 64 MiB limit") != NULL, "a message over 64 MiB: %s", msg);
	memcpy(buf, "\0\0\0\0\x05\x0a\xff\xff\xff\x0f", 10);
	rc = feed(buf, 10, 3, &g, &res, msg, sizeof msg);
	ok(rc == -1 && strstr(msg, "did not decode") != NULL, "bad protobuf: %s", msg);
	n = frame(buf, 0, "{\"a\":1}", NULL);
	rc = feed(buf, n, n, &g, &res, msg, sizeof msg);
	ok(rc == -1 && strstr(msg, "not a JSON array") != NULL, "a batch that is no array: %s", msg);
	n = frame(buf, 0, "[1,", NULL);
	rc = feed(buf, n, 1, &g, &res, msg, sizeof msg);
	ok(rc == -1 && strstr(msg, "not a JSON array") != NULL, "a broken batch: %s", msg);

	/* Half a message is no error: the rest may come. */
	n = frame(buf, 0, "[1]", NULL);
	memset(&g, 0, sizeof g);
	rc = feed(buf, n - 1, 2, &g, &res, msg, sizeof msg);
	ok(rc == 0 && res.rows == 0 && msg[0] == '\0', "half a message waits for the rest");
	return done_testing();
}
