/* SPDX-License-Identifier: MIT */
/*
 * f_grpc_frame.c - the decoder of a Velociraptor Query response stream
 * (vc_vr_stream_*, lib/vr.c): length-prefixed gRPC messages, cut
 * anywhere, each a protobuf VQLResponse whose JSON row batch is split
 * into rows.  This is what the client does with what libcurl receives.
 *
 * The first byte chooses how the rest is cut (1 to 64 bytes a piece, as
 * DATA frames arrive), the second after how many rows the row callback
 * asks to stop (0: never).  Invariants: every row handed out is one
 * valid JSON text and the counts match the calls; log lines lose their
 * line ends; a stream that failed or was stopped stays so; and how the
 * bytes were cut changes nothing: the same rows, batches, logs and
 * verdict as when the whole stream comes in one piece.
 */
#include <string.h>

#include "json/jscan.h"
#include "vr.h"
#include "fuzz.h"

struct seen {
	long rows, logs, batch_ends;
	int stop_after;
	uint64_t hash;          /* of every row and log, in order */
};

static void
mix(struct seen *s, const char *p, size_t n, int tag)
{
	s->hash = (s->hash ^ (uint64_t)tag) * 1099511628211u;
	for (size_t i = 0; i < n; i++)
		s->hash = (s->hash ^ (unsigned char)p[i]) * 1099511628211u;
}

static int
on_row(void *arg, const char *json, size_t n)
{
	struct seen *s = arg;

	check(n > 0 && vc_jscan(json, n, NULL, 0, NULL, NULL) != 0);
	s->rows++;
	mix(s, json, n, 'r');
	return s->stop_after > 0 && s->rows >= s->stop_after;
}

static void
on_batch(void *arg)
{
	((struct seen *)arg)->batch_ends++;
}

static void
on_log(void *arg, const char *line)
{
	struct seen *s = arg;
	size_t n = strlen(line);

	check(n > 0 && line[n - 1] != '\n' && line[n - 1] != '\r');
	s->logs++;
	mix(s, line, n, 'l');
}

struct outcome {
	struct vc_vr_result res;
	struct seen seen;
	int failed, error;
	char msg[160];
};

static void
run(const uint8_t *data, size_t size, struct pieces *pc, int stop_after, struct outcome *o)
{
	struct vc_vr_query q;
	struct vc_vr_stream s;
	size_t used = 0;

	memset(o, 0, sizeof *o);
	memset(&q, 0, sizeof q);
	o->seen.stop_after = stop_after;
	q.row = on_row;
	q.batch_end = on_batch;
	q.log = on_log;
	q.arg = &o->seen;
	vc_vr_stream_init(&s, &q, &o->res);
	while (used < size) {
		size_t k = pc ? pieces_next(pc, size - used) : size - used;

		if (vc_vr_stream_feed(&s, data + used, k) != 0) {
			o->failed = 1;
			break;
		}
		used += k;
		check(s.len < 5 + (size_t)VC_VR_MAX_MESSAGE);
	}
	if (o->failed) {
		/* A protocol error or a stop, and it lasts. */
		check(s.error || o->res.stopped);
		check(vc_vr_stream_feed(&s, "\0\0\0\0\0", 5) == -1);
		if (s.error)
			check(s.msg[0] != '\0');
	}
	check(o->res.rows == o->seen.rows);
	check(o->seen.batch_ends <= o->res.batches);
	check(o->res.error_logs <= o->seen.logs);
	check(o->res.stopped == (stop_after > 0 && o->seen.rows >= stop_after));
	o->error = s.error;
	memcpy(o->msg, s.msg, sizeof o->msg);
	vc_vr_stream_release(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome a, b;
	struct pieces pc;
	int stop_after;

	if (size < 2)
		return 0;
	pieces_init(&pc, (uint32_t)data[0] * 2654435761u, 1 + data[0] % 64);
	stop_after = data[1] % 8;
	data += 2;
	size -= 2;

	run(data, size, &pc, stop_after, &a);
	run(data, size, NULL, stop_after, &b);
	check(a.failed == b.failed && a.error == b.error && strcmp(a.msg, b.msg) == 0);
	check(a.seen.rows == b.seen.rows && a.seen.logs == b.seen.logs &&
	    a.seen.batch_ends == b.seen.batch_ends && a.seen.hash == b.seen.hash);
	check(a.res.batches == b.res.batches && a.res.error_logs == b.res.error_logs &&
	    strcmp(a.res.first_error, b.res.first_error) == 0);
	return 0;
}
