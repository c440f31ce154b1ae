/* SPDX-License-Identifier: MIT */
/*
 * t_smtp.c - the mail message of lib/smtp.c (RFC 5322, MIME): its
 * headers in order, the date whatever the locale, CRLF everywhere, the
 * parts of a multipart/alternative body, and the refusals that keep a
 * header from being injected; which relay URLs and addresses pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vc.h"
#include "smtp.h"
#include "tap.h"

/* The header names of msg, in order, space separated. */
static void
header_names(const char *msg, char *out, size_t n)
{
	const char *p = msg;

	out[0] = '\0';
	while (*p && strncmp(p, "\r\n", 2) != 0) {
		const char *colon = strchr(p, ':'), *eol = strstr(p, "\r\n");

		if (colon == NULL || eol == NULL || colon > eol)
			break;
		snprintf(out + strlen(out), n - strlen(out), "%.*s ", (int)(colon - p), p);
		p = eol + 2;
	}
}

/* 1 when every LF of s follows a CR and every CR comes before an LF. */
static int
crlf_only(const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\n' && (p == s || p[-1] != '\r'))
			return 0;
		if (*p == '\r' && p[1] != '\n')
			return 0;
	}
	return 1;
}

static void
test_format(void)
{
	vc_ctx ctx;
	struct vc_mail m = { .to = "alice@example.test", .subject = "Hello",
		.text = "line one\nline two\n", .html = "<p>one</p>\n" };
	char *msg = NULL, names[256], boundary[64], *b;
	size_t n = 0;
	int rc, parts = 0;

	vc_ctx_init(&ctx);
	rc = vc_mail_format(&ctx, "vc@example.test", &m, 1700000000, &msg, &n);
	is_int(rc, 0, "a multipart message is made");
	header_names(msg, names, sizeof names);
	is_str(names, "Date Message-ID From To Subject MIME-Version Auto-Submitted Content-Type ",
	    "headers: Date, Message-ID, From, To, Subject, MIME-Version in order");
	ok(strncmp(msg, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n", 39) == 0,
	    "Date is RFC 5322 UTC of the given time");
	ok(strstr(msg, "@example.test>\r\nFrom: <vc@example.test>\r\nTo: <alice@example.test>\r\n")
	    != NULL, "Message-ID in the sender's domain, From and To as plain addresses");
	ok(crlf_only(msg), "CRLF line ends only");
	is_int((long long)n, (long long)strlen(msg), "the length is the text's");
	b = strstr(msg, "boundary=\"");
	ok(b != NULL, "a boundary is declared");
	snprintf(boundary, sizeof boundary, "--%.*s", (int)strcspn(b + 10, "\""), b + 10);
	for (b = msg; (b = strstr(b, boundary)) != NULL; b += strlen(boundary))
		parts++;
	is_int(parts, 3, "two parts open with the boundary and one closes");
	ok(strstr(msg, "Content-Type: text/plain; charset=utf-8\r\n") != NULL &&
	    strstr(msg, "Content-Type: text/html; charset=utf-8\r\n") != NULL,
	    "a text part and an HTML part");
	ok(strstr(msg, "\r\n\r\nline one\r\nline two\r\n") != NULL, "the text, CRLF");
	free(msg);

	m.html = NULL;
	rc = vc_mail_format(&ctx, "vc@example.test", &m, 0, &msg, &n);
	is_int(rc, 0, "a text-only message is made");
	ok(strstr(msg, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n") != NULL, "the epoch as a date");
	ok(strstr(msg, "multipart") == NULL && strstr(msg, "Content-Type: text/plain") != NULL,
	    "text only: no multipart");
	free(msg);

	m.subject = "Hi\r\nBcc: victim@example.test";
	rc = vc_mail_format(&ctx, "vc@example.test", &m, 0, &msg, &n);
	ok(rc == VC_EINVAL && msg == NULL, "a subject with CR LF is refused (no header injection)");
	m.subject = "Hi";
	m.to = "alice@example.test\r\nBcc: victim@example.test";
	rc = vc_mail_format(&ctx, "vc@example.test", &m, 0, &msg, &n);
	ok(rc == VC_EINVAL && msg == NULL, "a recipient with CR LF is refused");
	m.to = "alice@example.test";
	{
		char *longline = malloc(1200);
		memset(longline, 'x', 1199);
		longline[1199] = '\0';
		m.text = longline;
		rc = vc_mail_format(&ctx, "vc@example.test", &m, 0, &msg, &n);
		ok(rc == VC_EINVAL && msg == NULL, "a line over 998 bytes is refused");
		free(longline);
	}
	{
		/* A file: multipart/mixed, the text first, the bytes in base64. */
		static const unsigned char pdf[] = "%PDF-1.4\n\0\xff";
		m.text = "See the file.";
		m.attach_name = "threat.pdf";
		m.attach_type = "application/pdf";
		m.attach_data = pdf;
		m.attach_n = sizeof pdf - 1;
		rc = vc_mail_format(&ctx, "vc@example.test", &m, 0, &msg, &n);
		is_int(rc, 0, "a message with a file is made");
		ok(msg != NULL && strstr(msg, "Content-Type: multipart/mixed; boundary=") != NULL,
		    "with a file: multipart/mixed");
		ok(msg != NULL && strstr(msg, "Content-Type: application/pdf; name=\"threat.pdf\"\r\n"
		    "Content-Disposition: attachment; filename=\"threat.pdf\"\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKAP8=\r\n") != NULL,
		    "the file's part: its type, its name, its bytes in base64");
		ok(msg != NULL && strstr(msg, "See the file.") < strstr(msg, "JVBER"),
		    "the text comes before the file");
		ok(msg != NULL && crlf_only(msg), "CRLF line ends only");
		free(msg);
		m.attach_name = "a\"; x=\".pdf";
		rc = vc_mail_format(&ctx, "vc@example.test", &m, 0, &msg, &n);
		ok(rc == VC_EINVAL && msg == NULL, "a file name a header cannot carry is refused");
		m.attach_name = NULL;
	}
	vc_ctx_release(&ctx);
}

static void
test_checks(void)
{
	static const struct { const char *s; int good; } urls[] = {
		{ "smtp://127.0.0.1:2525", 1 }, { "smtps://mail.example.test:465", 1 },
		{ "smtp://mail.example.test", 1 }, { "http://mail.example.test", 0 },
		{ "file:///etc/passwd", 0 }, { "smtp://", 0 }, { "smtp://:25", 0 },
		{ "smtp://user:pw@mail.example.test", 0 }, { "smtp://a b", 0 }, { "SMTP://x", 0 },
	};
	static const struct { const char *s; int good; } addrs[] = {
		{ "a@example.test", 1 }, { "first.last+tag@example.test", 1 },
		{ "Root <root@example.test>", 0 }, { "a@b@example.test", 0 }, { "@example.test", 0 },
		{ "a@", 0 }, { "a@example.test\r\nRCPT TO:<x@y>", 0 }, { "a b@example.test", 0 },
		{ "a\"b@example.test", 0 }, { "", 0 },
	};
	vc_ctx ctx;

	vc_ctx_init(&ctx);
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
		is_int(vc_smtp_check_url(&ctx, urls[i].s) == 0, urls[i].good, "URL %s %s",
		    urls[i].s, urls[i].good ? "passes" : "is refused");
	for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++)
		is_int(vc_mail_check_addr(&ctx, "x", addrs[i].s) == 0, addrs[i].good,
		    "address '%s' %s", addrs[i].s[0] == 'a' && strchr(addrs[i].s, '\r') ?
		    "with CR LF" : addrs[i].s, addrs[i].good ? "passes" : "is refused");
	vc_ctx_release(&ctx);
}

int
main(void)
{
	test_format();
	test_checks();
	return done_testing();
}
