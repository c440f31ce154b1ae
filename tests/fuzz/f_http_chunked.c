/* SPDX-License-Identifier: MIT */
/*
 * f_http_chunked.c - the incremental chunked decoder (vc_serve_chunked_feed).
 * The first two bytes choose the body limit and how the rest is cut;
 * the rest is a body, fed in pieces of 1 to 64 bytes as a socket would
 * deliver it, and again in one piece.  Invariants: a call consumes at
 * most what it was given and all of it unless done; the output never
 * outgrows max nor its buffer; done is final; and how the bytes were cut
 * changes nothing (result, bytes consumed, data).
 */
#include <string.h>

#include "http/http.h"
#include "fuzz.h"

struct run {
	long rc;                /* last result: bytes consumed or -1 / -2 */
	size_t used;            /* bytes consumed in all */
	int done;
	char *out;
	size_t outlen;
};

static void
decode(const uint8_t *in, size_t n, size_t max, struct pieces *pc, struct run *r)
{
	struct vc_serve_chunked d;
	size_t cap = 0;

	memset(&d, 0, sizeof d);
	memset(r, 0, sizeof *r);
	while (r->used < n && !d.done) {
		size_t k = pc ? pieces_next(pc, n - r->used) : n - r->used;
		long c = vc_serve_chunked_feed(&d, (const char *)in + r->used, k, &r->out,
		    &r->outlen, &cap, max);

		r->rc = c;
		if (c < 0) {
			check(c == -1 || c == -2);
			break;
		}
		check((size_t)c <= k);
		check((size_t)c == k || d.done);
		r->used += (size_t)c;
		check(r->outlen <= max);
		check(r->outlen <= r->used);
		if (r->out != NULL)
			check(r->outlen < cap && cap <= max + 1);
		else
			check(r->outlen == 0);
	}
	r->done = d.done;
	if (d.done) {
		/* Done is final: nothing more is taken. */
		long c = vc_serve_chunked_feed(&d, "0\r\n\r\n", 5, &r->out, &r->outlen, &cap, max);

		check(c == 0 && d.done);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = { 0, 1, 16, 100, 4096, 1 << 20 };
	struct pieces pc;
	struct run a, b;
	size_t max;

	if (size < 2)
		return 0;
	max = maxes[data[0] % (sizeof maxes / sizeof maxes[0])];
	pieces_init(&pc, (uint32_t)data[1] * 2654435761u, 1 + data[1] % 64);
	data += 2;
	size -= 2;

	decode(data, size, max, &pc, &a);
	decode(data, size, max, NULL, &b);
	check((a.rc < 0) == (b.rc < 0));
	if (a.rc < 0)
		check(a.rc == b.rc);
	else
		check(a.used == b.used);
	check(a.done == b.done);
	check(a.outlen == b.outlen);
	if (a.outlen > 0)
		check(memcmp(a.out, b.out, a.outlen) == 0);
	free(a.out);
	free(b.out);
	return 0;
}
