/* SPDX-License-Identifier: MIT */
/*
 * ws.h - the WebSocket protocol (RFC 6455) as vc-serve speaks it on its
 * own connections: the opening handshake's accept key and the framing.
 * No state and no I/O: serve.c feeds bytes in and sends what comes out.
 *
 * Ownership: nothing is allocated; a parsed frame points into the
 * caller's buffer, which vc_ws_parse unmasks in place.
 */
#ifndef VC_WS_H
#define VC_WS_H
#include <stddef.h>
#include <stdint.h>

enum {
	VC_WS_CONT = 0x0, VC_WS_TEXT = 0x1, VC_WS_BINARY = 0x2,
	VC_WS_CLOSE = 0x8, VC_WS_PING = 0x9, VC_WS_PONG = 0xa
};

/* Close codes (RFC 6455 7.4.1) and ours (4000-4999, vc-serve(1)). */
enum {
	VC_WS_NORMAL = 1000,
	VC_WS_GOING_AWAY = 1001,
	VC_WS_PROTOCOL = 1002,
	VC_WS_UNSUPPORTED = 1003,
	VC_WS_POLICY = 1008,    /* no authentication in time, not an auth message */
	VC_WS_TOO_BIG = 1009,
	VC_WS_INTERNAL = 1011,
	VC_WS_AUTH = 4001       /* token refused, or expired while connected */
};

#define VC_WS_ACCEPT_LEN 28     /* base64 of a SHA-1 */
#define VC_WS_HEAD_MAX 10       /* a server frame's header, at most */

/*
 * The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key: base64
 * of SHA-1(key || the RFC's GUID).  The key must be base64 of 16 bytes.
 * Returns 0 and fills out[VC_WS_ACCEPT_LEN + 1], or -1 for a bad key.
 */
int vc_ws_accept(const char *key, char out[VC_WS_ACCEPT_LEN + 1]);

struct vc_ws_frame {
	int fin;
	int opcode;
	unsigned char *payload; /* unmasked, in the caller's buffer */
	size_t len;
};

/* What vc_ws_parse found wrong. */
enum { VC_WS_MORE = 0, VC_WS_EPROTO = -1, VC_WS_EBIG = -2 };

/*
 * One client frame from the n bytes at buf: returns the bytes it took
 * (> 0) and fills *f, VC_WS_MORE when the frame is not complete yet,
 * VC_WS_EPROTO for a frame a client may not send (unmasked, reserved
 * bits, unknown opcode, a control frame fragmented or over 125 bytes),
 * or VC_WS_EBIG when its payload is over max (known from its header,
 * before the payload arrives).
 */
long vc_ws_parse(unsigned char *buf, size_t n, size_t max, struct vc_ws_frame *f);

/* The header of an unmasked server frame (FIN set) of len payload bytes
 * into hdr; returns its length. */
size_t vc_ws_head(unsigned char hdr[VC_WS_HEAD_MAX], int opcode, size_t len);
#endif
