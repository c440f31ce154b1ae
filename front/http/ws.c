/* SPDX-License-Identifier: MIT */
/* ws.c - WebSocket handshake and framing (RFC 6455); see ws.h. */
#include <string.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "http/ws.h"

/* RFC 6455 1.3. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int
vc_ws_accept(const char *key, char out[VC_WS_ACCEPT_LEN + 1])
{
	unsigned char raw[16], md[EVP_MAX_MD_SIZE];
	char buf[24 + sizeof ws_guid];
	size_t klen = key ? strlen(key) : 0, rawlen = 0;
	unsigned mdlen = 0;

	/* Base64 of 16 bytes: 24 characters, ending in "==". */
	if (klen != 24 || sodium_base642bin(raw, sizeof raw, key, klen, NULL, &rawlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || rawlen != 16)
		return -1;
	memcpy(buf, key, klen);
	memcpy(buf + klen, ws_guid, sizeof ws_guid - 1);
	if (EVP_Digest(buf, klen + sizeof ws_guid - 1, md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20)
		return -1;
	sodium_bin2base64(out, VC_WS_ACCEPT_LEN + 1, md, 20, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

long
vc_ws_parse(unsigned char *buf, size_t n, size_t max, struct vc_ws_frame *f)
{
	size_t hl = 2;
	uint64_t len;
	int op;

	if (n < 2)
		return VC_WS_MORE;
	op = buf[0] & 0x0f;
	if ((buf[0] & 0x70) != 0 || !(buf[1] & 0x80))
		return VC_WS_EPROTO;    /* reserved bits; a client must mask */
	if (op != VC_WS_CONT && op != VC_WS_TEXT && op != VC_WS_BINARY && op != VC_WS_CLOSE &&
	    op != VC_WS_PING && op != VC_WS_PONG)
		return VC_WS_EPROTO;
	len = buf[1] & 0x7f;
	if (op >= VC_WS_CLOSE && (len > 125 || !(buf[0] & 0x80)))
		return VC_WS_EPROTO;
	if (len == 126) {
		if (n < 4)
			return VC_WS_MORE;
		len = (uint64_t)buf[2] << 8 | buf[3];
		hl = 4;
	} else if (len == 127) {
		if (n < 10)
			return VC_WS_MORE;
		if (buf[2] & 0x80)
			return VC_WS_EPROTO;
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | buf[i];
		hl = 10;
	}
	if (len > max)
		return VC_WS_EBIG;
	if (n < hl + 4 + len)
		return VC_WS_MORE;
	f->fin = (buf[0] & 0x80) != 0;
	f->opcode = op;
	f->payload = buf + hl + 4;
	f->len = (size_t)len;
	for (size_t i = 0; i < f->len; i++)
		f->payload[i] ^= buf[hl + (i & 3)];
	return (long)(hl + 4 + len);
}

size_t
vc_ws_head(unsigned char hdr[VC_WS_HEAD_MAX], int opcode, size_t len)
{
	hdr[0] = (unsigned char)(0x80 | (opcode & 0x0f));
	if (len < 126) {
		hdr[1] = (unsigned char)len;
		return 2;
	}
	if (len <= 0xffff) {
		hdr[1] = 126;
		hdr[2] = (unsigned char)(len >> 8);
		hdr[3] = (unsigned char)len;
		return 4;
	}
	hdr[1] = 127;
	for (int i = 0; i < 8; i++)
		hdr[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	return 10;
}
