/* SPDX-License-Identifier: MIT */
/*
 * f_ws_frame.c - the WebSocket frame parser of vc-serve
 * (front/http/ws.c) on a stream of client bytes, as serve.c feeds it.
 *
 * Invariants: a frame it returns lies within the bytes it was given and
 * takes more than its header; its payload is at most the limit; a
 * control frame is final and at most 125 bytes; "more" is only said of
 * a prefix (the same bytes with more after them may complete it, never
 * be refused for what they already hold); a frame re-encoded with
 * vc_ws_head and masked parses back to the same frame.
 */
#include <string.h>

#include "http/ws.h"
#include "fuzz.h"

#define MAX 4096

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = malloc(size + 1), *re;
	size_t off = 0;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	while (off < size) {
		struct vc_ws_frame f, g;
		long n = vc_ws_parse(buf + off, size - off, MAX, &f);
		size_t hl;

		if (n <= 0)
			break;
		check((size_t)n <= size - off && (size_t)n > f.len);
		check(f.len <= MAX);
		check(f.payload >= buf + off && f.payload + f.len == buf + off + n);
		check(f.opcode < VC_WS_CLOSE || (f.fin && f.len <= 125));
		/* Back again: the server's header, a zero mask, the payload. */
		if ((re = malloc(VC_WS_HEAD_MAX + 4 + f.len + 1)) != NULL) {
			hl = vc_ws_head(re, f.opcode, f.len);
			if (!f.fin)
				re[0] &= 0x7f;
			re[1] |= 0x80;
			memset(re + hl, 0, 4);
			memcpy(re + hl + 4, f.payload, f.len);
			check(vc_ws_parse(re, hl + 4 + f.len, MAX, &g) == (long)(hl + 4 + f.len));
			check(g.fin == f.fin && g.opcode == f.opcode && g.len == f.len &&
			    memcmp(g.payload, f.payload, f.len) == 0);
			free(re);
		}
		off += (size_t)n;
	}
	free(buf);
	return 0;
}
