/* SPDX-License-Identifier: MIT */
/*
 * t_ws.c - the WebSocket handshake and framing of front/http/ws.c with
 * the examples of RFC 6455 (1.3 and 5.7), and the frames a client may
 * not send.
 */
#include <string.h>

#include "http/ws.h"
#include "tap.h"

int
main(void)
{
	char acc[VC_WS_ACCEPT_LEN + 1];
	struct vc_ws_frame f;
	unsigned char hdr[VC_WS_HEAD_MAX];
	/* RFC 6455 5.7: a masked text frame "Hello" from a client. */
	unsigned char hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	unsigned char unmasked[] = { 0x81, 0x05, 'H', 'e', 'l', 'l', 'o' };
	unsigned char rsv[] = { 0xc1, 0x80, 0, 0, 0, 0 };
	unsigned char bigping[] = { 0x89, 0xfe, 0x00, 0x7e };
	unsigned char fragping[] = { 0x09, 0x80, 0, 0, 0, 0 };
	unsigned char big[] = { 0x81, 0xff, 0, 0, 0, 0, 0, 1, 0, 1 };  /* 65537 bytes */
	unsigned char mid[] = { 0x82, 0xfe, 0x01, 0x00 };              /* 256 bytes */

	is_int(vc_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", acc), 0, "the RFC's sample key");
	is_str(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "its accept value (RFC 6455 1.3)");
	is_int(vc_ws_accept("dGhlIHNhbXBsZSBub25jZQ", acc), -1, "a key without its padding");
	is_int(vc_ws_accept("dGhlIHNhbXBsZSBub25j", acc), -1, "a key of fewer than 16 bytes");
	is_int(vc_ws_accept(NULL, acc), -1, "no key");

	is_int(vc_ws_parse(hello, 1, 100, &f), VC_WS_MORE, "one byte: more");
	is_int(vc_ws_parse(hello, sizeof hello - 1, 100, &f), VC_WS_MORE, "all but one: more");
	is_int(vc_ws_parse(hello, sizeof hello, 100, &f), (long)sizeof hello, "the whole frame");
	ok(f.fin && f.opcode == VC_WS_TEXT && f.len == 5 && memcmp(f.payload, "Hello", 5) == 0,
	    "unmasked: a final text frame \"Hello\" (RFC 6455 5.7)");
	is_int(vc_ws_parse(unmasked, sizeof unmasked, 100, &f), VC_WS_EPROTO, "an unmasked client frame");
	is_int(vc_ws_parse(rsv, sizeof rsv, 100, &f), VC_WS_EPROTO, "a reserved bit");
	is_int(vc_ws_parse(bigping, sizeof bigping, 1000, &f), VC_WS_EPROTO, "a ping over 125 bytes");
	is_int(vc_ws_parse(fragping, sizeof fragping, 100, &f), VC_WS_EPROTO, "a fragmented ping");
	is_int(vc_ws_parse(big, sizeof big, 65536, &f), VC_WS_EBIG, "over the limit: known from the header");
	is_int(vc_ws_parse(mid, sizeof mid, 65536, &f), VC_WS_MORE, "256 bytes announced, none yet: more");

	is_int(vc_ws_head(hdr, VC_WS_TEXT, 5), 2, "a short frame: 2 header bytes");
	ok(hdr[0] == 0x81 && hdr[1] == 5, "FIN, text, length 5, no mask");
	is_int(vc_ws_head(hdr, VC_WS_TEXT, 300), 4, "300 bytes: 16-bit length");
	ok(hdr[1] == 126 && hdr[2] == 1 && hdr[3] == 44, "... 0x012c");
	is_int(vc_ws_head(hdr, VC_WS_BINARY, 70000), 10, "70000 bytes: 64-bit length");
	ok(hdr[0] == 0x82 && hdr[1] == 127 && hdr[7] == 1 && hdr[8] == 0x11 && hdr[9] == 0x70, "... 0x11170");
	return done_testing();
}
