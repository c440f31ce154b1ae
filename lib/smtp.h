/* SPDX-License-Identifier: MIT */
/*
 * smtp.h - sending one mail message over SMTP with libcurl, and the
 * message itself (RFC 5322 headers, a multipart/alternative body of text
 * and HTML, in a multipart/mixed with a file when there is one).
 *
 * Ownership: the structs only point at strings the caller owns; a
 * message made by vc_mail_format is malloc'd and freed by the caller.
 */
#ifndef VC_SMTP_H
#define VC_SMTP_H
#include "core/vc.h"

/* How to reach the relay.  url: smtp://HOST[:PORT] (STARTTLS required
 * unless insecure_plaintext) or smtps://HOST[:PORT] (TLS from the start);
 * ca_pem: the CAs to trust instead of the system's (NULL: the system's). */
struct vc_smtp {
	const char *url;
	const char *from;
	const char *user;       /* NULL: no AUTH */
	const char *password;
	const char *ca_pem;
	int insecure_plaintext;
	long timeout;           /* seconds for the whole exchange; 0: 30 */
};

struct vc_mail {
	const char *to;
	const char *subject;
	const char *text;       /* plain text part */
	const char *html;       /* HTML part; NULL: text only */
	/* One file with it (multipart/mixed: the text, then the file in
	 * base64); attach_name NULL: none.  The name is a plain base name
	 * (lib/notify.c makes it so), the type a MIME type. */
	const char *attach_name;
	const char *attach_type;
	const unsigned char *attach_data;
	size_t attach_n;
};

/* 0 when url is smtp:// or smtps:// with a host; VC_EINVAL otherwise. */
int vc_smtp_check_url(vc_ctx *ctx, const char *url);
/* 0 when addr is one plain address (no display name, no CR/LF, no
 * spaces, one @): VC_EINVAL naming what otherwise. */
int vc_mail_check_addr(vc_ctx *ctx, const char *what, const char *addr);
/*
 * The message as sent: Date, Message-ID, From, To, Subject,
 * MIME-Version, then the parts, CRLF line ends.  Header values with CR or
 * LF are refused (VC_EINVAL).  *out is malloc'd, NUL terminated.
 */
int vc_mail_format(vc_ctx *ctx, const char *from, const struct vc_mail *m, int64_t now,
    char **out, size_t *n);
/*
 * Deliver m through s: VC_EOK, VC_EUNAVAIL (the relay could not be
 * reached, refused TLS or the message; ctx->errmsg says why, never with
 * a password), VC_EINVAL (a bad address or header).
 */
int vc_smtp_send(vc_ctx *ctx, const struct vc_smtp *s, const struct vc_mail *m);
#endif
