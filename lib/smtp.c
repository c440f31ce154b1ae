/* SPDX-License-Identifier: MIT */
/*
 * smtp.c - one mail message, formatted (RFC 5322, MIME multipart/
 * alternative, in a multipart/mixed with a file when it has one) and
 * sent over SMTP with libcurl: STARTTLS required on smtp:// unless the
 * relay is declared plaintext, TLS from the start on smtps://, no other
 * protocol reachable.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "smtp.h"
#include "core/curl.h"

#define MAX_LINE 998            /* RFC 5322 2.1.1 */
#define MAX_MESSAGE (1024 * 1024)

int
vc_smtp_check_url(vc_ctx *ctx, const char *url)
{
	const char *host;

	if (url == NULL)
		return vc_fail(ctx, VC_EINVAL, "no SMTP URL");
	if (strncmp(url, "smtp://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "smtps://", 8) == 0)
		host = url + 8;
	else
		return vc_fail(ctx, VC_EINVAL, "the mail URL must be smtp://HOST[:PORT] "
		    "or smtps://HOST[:PORT]");
	if (*host == '\0' || *host == '/' || *host == ':' || strlen(url) > 512 ||
	    strpbrk(url, " \t\r\n@") != NULL)
		return vc_fail(ctx, VC_EINVAL, "the mail URL names no host, or holds "
		    "credentials or spaces: give the user with --user");
	return 0;
}

int
vc_mail_check_addr(vc_ctx *ctx, const char *what, const char *a)
{
	const char *at = a ? strchr(a, '@') : NULL;

	if (a == NULL || strlen(a) > 254 || at == NULL || at == a || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || strpbrk(a, " \t\r\n<>\"(),;:\\[]") != NULL)
		return vc_fail(ctx, VC_EINVAL, "%s is not a plain email address: %.64s",
		    what, a ? a : "");
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p == 0x7f)
			return vc_fail(ctx, VC_EINVAL, "%s holds a control character", what);
	return 0;
}

/* RFC 5322 date of t (UTC), independent of the locale. */
static void
mail_date(int64_t t, char *buf, size_t n)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(buf, n, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
	    tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec);
}

static void
random_hex(char *out, size_t bytes)
{
	unsigned char r[32];

	if (bytes > sizeof r)
		bytes = sizeof r;
	randombytes_buf(r, bytes);
	sodium_bin2hex(out, bytes * 2 + 1, r, bytes);
}

static int
header_ok(vc_ctx *ctx, const char *name, const char *v)
{
	if (v == NULL)
		return vc_fail(ctx, VC_EINVAL, "mail without a %s", name);
	if (strpbrk(v, "\r\n") != NULL || strlen(v) > 900)
		return vc_fail(ctx, VC_EINVAL, "the mail's %s holds a line break or is too long", name);
	return 0;
}

/* A body part with CRLF line ends; lines over MAX_LINE are refused. */
static int
put_body(vc_ctx *ctx, FILE *f, const char *s)
{
	size_t col = 0;

	for (; *s; s++) {
		if (*s == '\r')
			continue;
		if (*s == '\n') {
			fputs("\r\n", f);
			col = 0;
			continue;
		}
		if (++col > MAX_LINE)
			return vc_fail(ctx, VC_EINVAL, "a line of the mail is over %d bytes", MAX_LINE);
		fputc(*s, f);
	}
	if (col > 0)
		fputs("\r\n", f);
	return 0;
}

/* n bytes in base64, lines of 76 characters, CRLF ends. */
static void
put_base64(FILE *f, const unsigned char *p, size_t n)
{
	char line[77];

	for (size_t i = 0; i < n; i += 57) {
		size_t k = n - i < 57 ? n - i : 57;

		sodium_bin2base64(line, sizeof line, p + i, k, sodium_base64_VARIANT_ORIGINAL);
		fputs(line, f);
		fputs("\r\n", f);
	}
}

int
vc_mail_format(vc_ctx *ctx, const char *from, const struct vc_mail *m, int64_t now,
    char **out, size_t *n)
{
	char date[64], mid[33], boundary[33], outer[33];
	/* The text's limit, and room for the file in base64 lines. */
	size_t max = MAX_MESSAGE + (m->attach_name != NULL ? (m->attach_n + 2) / 3 * 4 / 76 * 78 + 78 : 0);
	const char *dom;
	FILE *f;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = vc_mail_check_addr(ctx, "the sender", from)) != 0 ||
	    (rc = vc_mail_check_addr(ctx, "the recipient", m->to)) != 0 ||
	    (rc = header_ok(ctx, "subject", m->subject)) != 0)
		return rc;
	if (m->attach_name != NULL && (m->attach_type == NULL ||
	    strspn(m->attach_name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") != strlen(m->attach_name) || m->attach_name[0] == '\0' ||
	    strlen(m->attach_name) > 200 || strpbrk(m->attach_type, "\r\n\";") != NULL ||
	    strlen(m->attach_type) > 200))
		return vc_fail(ctx, VC_EINVAL, "the mail's file has a name or a type a header cannot carry");
	if (m->text == NULL)
		return vc_fail(ctx, VC_EINVAL, "mail without a text");
	dom = strchr(from, '@') + 1;
	mail_date(now, date, sizeof date);
	random_hex(mid, 16);
	random_hex(boundary, 16);
	if ((f = open_memstream(out, n)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	fprintf(f, "Date: %s\r\nMessage-ID: <%s@%s>\r\nFrom: <%s>\r\nTo: <%s>\r\n"
	    "Subject: %s\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n",
	    date, mid, dom, from, m->to, m->subject);
	if (m->attach_name != NULL) {
		/* The text (and HTML) first, then the file. */
		random_hex(outer, 16);
		fprintf(f, "Content-Type: multipart/mixed; boundary=\"vc-%s\"\r\n\r\n"
		    "This is a message in MIME format.\r\n\r\n--vc-%s\r\n", outer, outer);
	}
	if (m->html == NULL) {
		fputs("Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n\r\n", f);
		rc = put_body(ctx, f, m->text);
	} else {
		fprintf(f, "Content-Type: multipart/alternative; boundary=\"vc-%s\"\r\n\r\n"
		    "This is a message in MIME format.\r\n\r\n--vc-%s\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n\r\n", boundary, boundary);
		rc = put_body(ctx, f, m->text);
		fprintf(f, "\r\n--vc-%s\r\nContent-Type: text/html; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n\r\n", boundary);
		if (rc == 0)
			rc = put_body(ctx, f, m->html);
		fprintf(f, "\r\n--vc-%s--\r\n", boundary);
	}
	if (m->attach_name != NULL) {
		fprintf(f, "\r\n--vc-%s\r\nContent-Type: %s; name=\"%s\"\r\n"
		    "Content-Disposition: attachment; filename=\"%s\"\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n", outer, m->attach_type,
		    m->attach_name, m->attach_name);
		put_base64(f, m->attach_data, m->attach_n);
		fprintf(f, "\r\n--vc-%s--\r\n", outer);
	}
	if (fclose(f) != 0 && rc == 0)
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
	if (rc == 0 && *n > max)
		rc = vc_fail(ctx, VC_ETOOBIG, "the mail is over %zu bytes", max);
	if (rc != 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

struct reader {
	const char *p;
	size_t left;
};

static size_t
on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct reader *r = arg;
	size_t n = size * nmemb;

	if (n > r->left)
		n = r->left;
	memcpy(buf, r->p, n);
	r->p += n;
	r->left -= n;
	return n;
}

/* What went wrong, in words an operator can act on; never a secret. */
static int
send_error(vc_ctx *ctx, CURLcode c, long resp, const char *eb)
{
	const char *why;

	switch (c) {
	case CURLE_USE_SSL_FAILED:
		why = "the relay does not offer STARTTLS (use smtps://, or "
		    "--insecure-plaintext for a relay on this machine)";
		break;
	case CURLE_LOGIN_DENIED:
		why = "the relay refused the user name or password";
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		why = "the relay's TLS certificate is not trusted (--ca-file)";
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		why = "cannot connect to the relay";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		why = "the relay did not answer in time";
		break;
	default:
		why = eb[0] ? eb : curl_easy_strerror(c);
		break;
	}
	if (resp >= 400)
		return vc_fail(ctx, VC_EUNAVAIL, "smtp: %s (reply %ld)", why, resp);
	return vc_fail(ctx, VC_EUNAVAIL, "smtp: %s", why);
}

int
vc_smtp_send(vc_ctx *ctx, const struct vc_smtp *s, const struct vc_mail *m)
{
	char *msg = NULL, from[300], to[300], eb[CURL_ERROR_SIZE] = "";
	struct curl_slist *rcpt = NULL;
	struct curl_blob ca;
	struct reader r;
	size_t n;
	long resp = 0;
	CURL *h;
	CURLcode c;
	int rc;

	if ((rc = vc_smtp_check_url(ctx, s->url)) != 0 ||
	    (rc = vc_mail_format(ctx, s->from, m, vc_now(ctx), &msg, &n)) != 0)
		return rc;
	if ((rc = vc_curl_ready(ctx)) != 0) {
		free(msg);
		return rc;
	}
	if ((h = curl_easy_init()) == NULL) {
		free(msg);
		return vc_fail(ctx, VC_EINTERNAL, "cannot initialise libcurl");
	}
	snprintf(from, sizeof from, "<%s>", s->from);
	snprintf(to, sizeof to, "<%s>", m->to);
	if ((rcpt = curl_slist_append(NULL, to)) == NULL) {
		curl_easy_cleanup(h);
		free(msg);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	r.p = msg;
	r.left = n;
	curl_easy_setopt(h, CURLOPT_URL, s->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_USE_SSL, (long)(s->insecure_plaintext &&
	    strncmp(s->url, "smtp://", 7) == 0 ? CURLUSESSL_NONE : CURLUSESSL_ALL));
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_pem != NULL && s->ca_pem[0] != '\0') {
		ca.data = (void *)s->ca_pem;
		ca.len = strlen(s->ca_pem);
		ca.flags = CURL_BLOB_COPY;
		curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
	}
	if (s->user != NULL && s->user[0] != '\0') {
		curl_easy_setopt(h, CURLOPT_USERNAME, s->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, s->password ? s->password : "");
	}
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &r);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)n);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, eb);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, s->timeout > 0 ? s->timeout : 30L);
	c = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
	free(msg);
	if (c != CURLE_OK)
		return send_error(ctx, c, resp, eb);
	return 0;
}
