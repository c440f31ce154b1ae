/* SPDX-License-Identifier: MIT */
/*
 * http.c - the pure half of vc-serve (see http.h): the configuration and
 * its parsers, the HTTP/1.1 request head, chunked bodies, form and query
 * decoding, JSON nesting.  Only libc, libjq's jv, libunistring (UTF-8
 * checks) and libsodium (wiping) - no sockets, threads or store - so
 * tests/unit/t_http.c and the fuzz targets run exactly this code.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sodium.h>
#include <unistr.h>

#include "core/vc.h"
#include "http/http.h"

#define KIB 1024
#define MIB (1024 * 1024)

/* ---- small helpers ---------------------------------------------------- */

void
vc_serve_wipe_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	sodium_memzero(p, n);
	free(p);
}

void
vc_serve_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

char *
vc_serve_trim_ows(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 9110 tchar. */
static int
is_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Does the comma-separated list s contain token (case-insensitive)? */
static int
list_has(const char *s, const char *token)
{
	size_t tl = strlen(token);

	while (*s != '\0') {
		const char *e;
		size_t n;

		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		e = s;
		while (*e != '\0' && *e != ',')
			e++;
		n = (size_t)(e - s);
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n == tl && strncasecmp(s, token, tl) == 0)
			return 1;
		s = e;
	}
	return 0;
}

/* ---- configuration ---------------------------------------------------- */

void
vc_serve_config_init(struct vc_serve_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->addr, sizeof cfg->addr, "%s", "127.0.0.1");
	cfg->port = 8000;
	cfg->max_body = 1 * MIB;
	cfg->max_import = 256 * (size_t)MIB;
	cfg->max_line = 8 * KIB;
	cfg->max_headers = 16 * KIB;
	cfg->max_fields = 100;
	cfg->max_json_depth = 32;
	cfg->header_timeout = 10;
	cfg->body_timeout = 30;
	cfg->body_deadline = 60;
	cfg->min_body_rate = 1024;
	cfg->queue_wait = 5;
	cfg->max_streams = 2;
	cfg->auth_rate = 30;
	cfg->register_rate = 10;
	cfg->mail_interval = 5;
	cfg->playbook_interval = 60;
	cfg->forward_interval = 1;
	cfg->idle_timeout = 60;
	cfg->write_timeout = 30;
	cfg->drain_timeout = 5;
	cfg->max_conns_per_ip = 32;
	cfg->anchor_ms = 5 * 60 * 1000;
	cfg->retention_s = 30 * 86400;
	cfg->prune_s = 3600;
}

int
vc_serve_parse_listen(vc_ctx *ctx, const char *s, struct vc_serve_config *cfg)
{
	const char *colon, *host, *hend;
	char addr[64], *end;
	unsigned char bin[16];
	long port;

	if (s == NULL || *s == '\0')
		return vc_fail(ctx, VC_EUSAGE, "empty listen address");
	if (*s == '[') {
		host = s + 1;
		if ((hend = strchr(host, ']')) == NULL || hend[1] != ':')
			return vc_fail(ctx, VC_EUSAGE,
			    "bad listen address '%.80s': want [V6ADDR]:PORT", s);
		colon = hend + 1;
	} else {
		host = s;
		if ((colon = strrchr(s, ':')) == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return vc_fail(ctx, VC_EUSAGE,
			    "bad listen address '%.80s': want ADDR:PORT", s);
		hend = colon;
	}
	if (hend == host || (size_t)(hend - host) >= sizeof addr)
		return vc_fail(ctx, VC_EUSAGE, "bad listen address '%.80s'", s);
	memcpy(addr, host, (size_t)(hend - host));
	addr[hend - host] = '\0';
	if (inet_pton(*s == '[' ? AF_INET6 : AF_INET, addr, bin) != 1)
		return vc_fail(ctx, VC_EUSAGE,
		    "bad listen address '%.80s': want a numeric IP address", s);
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || !isdigit((unsigned char)colon[1]) || *end != '\0' ||
	    errno != 0 || port < 0 || port > 65535)
		return vc_fail(ctx, VC_EUSAGE, "bad port in '%.80s'", s);
	snprintf(cfg->addr, sizeof cfg->addr, "%s", addr);
	cfg->port = (int)port;
	return VC_EOK;
}

int
vc_serve_check_origin(vc_ctx *ctx, const char *o)
{
	const char *h;

	if (o == NULL || strlen(o) > 255)
		return vc_fail(ctx, VC_EUSAGE, "bad CORS origin: too long");
	if (strncmp(o, "http://", 7) == 0)
		h = o + 7;
	else if (strncmp(o, "https://", 8) == 0)
		h = o + 8;
	else
		return vc_fail(ctx, VC_EUSAGE,
		    "bad CORS origin '%s': want http://HOST[:PORT] or https://HOST[:PORT]", o);
	if (*h == '\0')
		return vc_fail(ctx, VC_EUSAGE, "bad CORS origin '%s': no host", o);
	/* An Origin header is scheme://host[:port] exactly; anything more
	 * (a path, a slash, userinfo, upper case) could never match one. */
	for (; *h != '\0'; h++)
		if (!(islower((unsigned char)*h) || isdigit((unsigned char)*h) ||
		    strchr("-.:[]", *h) != NULL))
			return vc_fail(ctx, VC_EUSAGE,
			    "bad CORS origin '%s': want scheme://host[:port] in lower case, no path", o);
	return VC_EOK;
}

/* ---- request head parser ---------------------------------------------- */

/*
 * Percent-decode the path in place and refuse what could be read two ways:
 * an encoded '/', a '\' (some servers and proxies take it for '/'),
 * NUL or control bytes, invalid UTF-8, empty or dot segments.  Routing
 * sees exactly one spelling of every path.
 */
static int
path_decode(char *p, char *why, size_t whylen)
{
	char *r = p, *w = p, *seg;
	size_t n;

	while (*r != '\0') {
		int c = (unsigned char)*r;

		if (c == '%') {
			int hi = hexval((unsigned char)r[1]), lo;

			if (hi < 0 || (lo = hexval((unsigned char)r[2])) < 0) {
				vc_serve_why(why, whylen, "bad percent-encoding in path");
				return -1;
			}
			c = hi * 16 + lo;
			if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) {
				vc_serve_why(why, whylen, "encoded '/', '\\' or control character in path");
				return -1;
			}
			r += 3;
		} else if (c == '\\') {
			/* Not a URI character (RFC 3986 3.3); refused encoded,
			 * so refused as it is. */
			vc_serve_why(why, whylen, "'\\' in path");
			return -1;
		} else
			r++;
		*w++ = (char)c;
	}
	*w = '\0';
	n = (size_t)(w - p);
	if (u8_check((const uint8_t *)p, n) != NULL) {
		vc_serve_why(why, whylen, "path is not valid UTF-8");
		return -1;
	}
	if (p[0] != '/') {
		vc_serve_why(why, whylen, "path must start with '/'");
		return -1;
	}
	for (seg = p + 1; ; ) {
		char *e = strchr(seg, '/');
		size_t sl = e ? (size_t)(e - seg) : strlen(seg);

		if ((sl == 0 && e != NULL) || (sl == 1 && seg[0] == '.') ||
		    (sl == 2 && seg[0] == '.' && seg[1] == '.')) {
			vc_serve_why(why, whylen, "empty or dot segment in path");
			return -1;
		}
		if (e == NULL)
			break;
		seg = e + 1;
	}
	return 0;
}

/* A qvalue (RFC 9110 12.4.2) in thousandths; 0 when malformed, so that
 * a bad weight never turns a stream on. */
static int
qvalue(const char *s, size_t n)
{
	int v, scale = 100;
	size_t i;

	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return 0;
	v = (s[0] - '0') * 1000;
	if (n == 1)
		return v;
	if (s[1] != '.' || n > 5)
		return 0;
	for (i = 2; i < n; i++, scale /= 10) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v += (s[i] - '0') * scale;
	}
	return v > 1000 ? 0 : v;
}

/*
 * Raise *lines and *json to the weights one Accept value gives JSON Lines
 * (application/x-ndjson, application/jsonl) and application/json.
 * Wildcards count for neither: curl's default "* / *" keeps plain JSON.
 */
static void
accept_scan(const char *s, int *lines, int *json)
{
	while (*s != '\0') {
		const char *e = s + strcspn(s, ","), *semi, *p;
		size_t n;
		int q = 1000;

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		semi = memchr(s, ';', (size_t)(e - s));
		if (semi == NULL)
			semi = e;
		n = (size_t)(semi - s);
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		for (p = semi; p < e; ) {
			const char *pe;
			size_t pn;

			p++;
			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			pe = memchr(p, ';', (size_t)(e - p));
			if (pe == NULL)
				pe = e;
			pn = (size_t)(pe - p);
			while (pn > 0 && (p[pn - 1] == ' ' || p[pn - 1] == '\t'))
				pn--;
			if (pn >= 2 && strncasecmp(p, "q=", 2) == 0)
				q = qvalue(p + 2, pn - 2);
			p = pe;
		}
		if ((n == 20 && strncasecmp(s, "application/x-ndjson", n) == 0) ||
		    (n == 17 && strncasecmp(s, "application/jsonl", n) == 0)) {
			if (q > *lines)
				*lines = q;
		} else if (n == 16 && strncasecmp(s, "application/json", n) == 0) {
			if (q > *json)
				*json = q;
		}
		s = *e != '\0' ? e + 1 : e;
	}
}

/*
 * The request line, NUL-terminated: method, target and version into req
 * (method) and *target.  0 or the status to answer.
 */
static int
request_line(char *line, struct vc_serve_req *req, char **target, char *why, size_t whylen)
{
	char *sp, *version, *p;

	if ((sp = strchr(line, ' ')) == NULL || sp == line || sp - line > 15) {
		vc_serve_why(why, whylen, "bad request line");
		return 400;
	}
	*sp = '\0';
	for (p = line; *p != '\0'; p++)
		if (!is_tchar((unsigned char)*p)) {
			vc_serve_why(why, whylen, "bad method");
			return 400;
		}
	req->method = line;
	*target = sp + 1;
	if ((sp = strchr(*target, ' ')) == NULL || sp == *target) {
		vc_serve_why(why, whylen, "bad request line");
		return 400;
	}
	*sp = '\0';
	version = sp + 1;
	for (p = *target; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '#') {
			vc_serve_why(why, whylen, "bad character in request target");
			return 400;
		}
	if (strcmp(version, "HTTP/1.1") == 0)
		req->minor = 1;
	else if (strcmp(version, "HTTP/1.0") == 0)
		req->minor = 0;
	else if (strncmp(version, "HTTP/", 5) == 0 && isdigit((unsigned char)version[5]) &&
	    version[6] == '.' && isdigit((unsigned char)version[7]) && version[8] == '\0') {
		vc_serve_why(why, whylen, "HTTP version not supported");
		return 505;
	} else {
		vc_serve_why(why, whylen, "bad request line");
		return 400;
	}
	req->close = req->minor == 0;
	return 0;
}

/*
 * The request target into req->path (percent-decoded, checked) and
 * req->query.  0 or the status to answer.
 */
static int
request_target(char *target, struct vc_serve_req *req, char *why, size_t whylen)
{
	char *q;

	/* Absolute-form (RFC 9112 3.2.2): route on the path part only. */
	if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
		char *auth = strstr(target, "//") + 2;
		char *slash = auth + strcspn(auth, "/?");

		if (*slash != '/') {
			vc_serve_why(why, whylen, "absolute-form target without a path");
			return 400;
		}
		target = slash;
	} else if (strcmp(target, "*") == 0) {
		if (strcmp(req->method, "OPTIONS") != 0) {
			vc_serve_why(why, whylen, "'*' is only for OPTIONS");
			return 400;
		}
		req->path = target;
		return 0;
	} else if (target[0] != '/') {
		vc_serve_why(why, whylen, "bad request target");
		return 400;
	}
	if ((q = strchr(target, '?')) != NULL) {
		*q = '\0';
		req->query = q + 1;
	}
	req->path = target;
	if (path_decode(req->path, why, whylen) != 0)
		return 400;
	return 0;
}

/* What the checks after the last field need to know of the fields. */
struct fields {
	int hosts;              /* Host fields */
	int te, te_bad;         /* Transfer-Encoding seen; other than one "chunked" */
	int q_lines, q_json;    /* Accept weights of JSON Lines and JSON */
};

/*
 * One header field whose name and value are known to be well-formed:
 * what vc-serve uses of it into req and f.  0 or the status to answer.
 */
static int
field_use(const char *name, char *val, struct vc_serve_req *req, struct fields *f,
    char *why, size_t whylen)
{
	static const struct {
		const char *name;
		size_t off;
	} keep[] = {
		{ "content-type", offsetof(struct vc_serve_req, content_type) },
		{ "authorization", offsetof(struct vc_serve_req, authorization) },
		{ "origin", offsetof(struct vc_serve_req, origin) },
		{ "user-agent", offsetof(struct vc_serve_req, user_agent) },
		{ "access-control-request-method", offsetof(struct vc_serve_req, acr_method) },
		{ "upgrade", offsetof(struct vc_serve_req, upgrade) },
		{ "sec-websocket-key", offsetof(struct vc_serve_req, ws_key) },
		{ "sec-websocket-version", offsetof(struct vc_serve_req, ws_version) },
	};

	if (strcasecmp(name, "host") == 0) {
		f->hosts++;
	} else if (strcasecmp(name, "content-length") == 0) {
		char *e;
		long long v;

		if (*val == '\0' || strlen(val) > 18 || strspn(val, "0123456789") != strlen(val)) {
			vc_serve_why(why, whylen, "bad Content-Length");
			return 400;
		}
		errno = 0;
		v = strtoll(val, &e, 10);
		if (errno != 0 || *e != '\0' ||
		    (req->content_length >= 0 && req->content_length != v)) {
			vc_serve_why(why, whylen, "conflicting Content-Length");
			return 400;
		}
		req->content_length = v;
	} else if (strcasecmp(name, "transfer-encoding") == 0) {
		/* Only "chunked", once, as the sole coding. */
		if (f->te || strcasecmp(val, "chunked") != 0)
			f->te_bad = 1;
		f->te = 1;
	} else if (strcasecmp(name, "connection") == 0) {
		/* HTTP/1.0 always closes: no keep-alive dance. */
		if (list_has(val, "close"))
			req->close = 1;
		if (list_has(val, "upgrade"))
			req->conn_upgrade = 1;
	} else if (strcasecmp(name, "expect") == 0) {
		if (strcasecmp(val, "100-continue") != 0) {
			vc_serve_why(why, whylen, "unsupported expectation");
			return 417;
		}
		req->expect_continue = req->minor == 1;
	} else if (strcasecmp(name, "accept") == 0) {
		/* A list header: several fields add up. */
		accept_scan(val, &f->q_lines, &f->q_json);
	} else {
		for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
			const char **slot;

			if (strcasecmp(name, keep[i].name) != 0)
				continue;
			slot = (const char **)(void *)((char *)req + keep[i].off);
			if (*slot != NULL) {
				/* Two values: which one would the proxy in
				 * front have used? */
				vc_serve_why(why, whylen, "repeated %s header", keep[i].name);
				return 400;
			}
			*slot = val;
		}
	}
	return 0;
}

/*
 * One header line of n bytes at p (its CRLF already replaced by a NUL):
 * checked, split at the colon, then used.  0 or the status to answer.
 */
static int
field_line(char *p, size_t n, const struct vc_serve_config *cfg, struct vc_serve_req *req,
    struct fields *f, char *why, size_t whylen)
{
	char *name = p, *colon, *val;

	if (memchr(p, '\0', n) != NULL || memchr(p, '\n', n) != NULL || memchr(p, '\r', n) != NULL) {
		vc_serve_why(why, whylen, "bare CR, LF or NUL in header");
		return 400;
	}
	if (*p == ' ' || *p == '\t') {
		vc_serve_why(why, whylen, "obsolete line folding");
		return 400;
	}
	if (++req->nfields > cfg->max_fields) {
		vc_serve_why(why, whylen, "more than %d header fields", cfg->max_fields);
		return 431;
	}
	if ((colon = strchr(p, ':')) == NULL || colon == p) {
		vc_serve_why(why, whylen, "bad header line");
		return 400;
	}
	*colon = '\0';
	/* A space before the colon is no tchar: refused here (RFC 9112 5.1). */
	for (char *c = name; *c != '\0'; c++)
		if (!is_tchar((unsigned char)*c)) {
			vc_serve_why(why, whylen, "bad header name");
			return 400;
		}
	val = vc_serve_trim_ows(colon + 1);
	for (char *c = val; *c != '\0'; c++)
		if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f) {
			vc_serve_why(why, whylen, "control character in header value");
			return 400;
		}
	return field_use(name, val, req, f, why, whylen);
}

/* The rules that hold between fields, once all are read. */
static int
fields_check(const struct fields *f, struct vc_serve_req *req, char *why, size_t whylen)
{
	if (req->minor == 1 && f->hosts != 1) {
		vc_serve_why(why, whylen, f->hosts ? "more than one Host header" : "missing Host header");
		return 400;
	}
	if (f->te && req->content_length >= 0) {
		vc_serve_why(why, whylen, "Transfer-Encoding together with Content-Length");
		return 400;
	}
	if (f->te && req->minor == 0) {
		vc_serve_why(why, whylen, "Transfer-Encoding in an HTTP/1.0 request");
		return 400;
	}
	if (f->te_bad) {
		vc_serve_why(why, whylen, "only the chunked transfer coding is supported");
		return 501;
	}
	req->chunked = f->te;
	req->accept_jsonl = f->q_lines > 0 && f->q_lines >= f->q_json;
	return 0;
}

int
vc_serve_parse_head(char *buf, size_t len, const struct vc_serve_config *cfg,
    struct vc_serve_req *req, char *why, size_t whylen)
{
	char *eol, *end = buf + len, *p, *target;
	struct fields f = { 0 };
	int st;

	memset(req, 0, sizeof *req);
	req->content_length = -1;
	if (len < 4 || memcmp(end - 4, "\r\n\r\n", 4) != 0) {
		vc_serve_why(why, whylen, "incomplete request head");
		return 400;
	}

	/* The limits first: nothing of an oversized head is looked at. */
	if ((eol = memmem(buf, len, "\r\n", 2)) == NULL)
		return 400;
	if ((size_t)(eol - buf) > cfg->max_line) {
		vc_serve_why(why, whylen, "request line over %zu bytes", cfg->max_line);
		return 414;
	}
	if ((size_t)(end - (eol + 2)) - 2 > cfg->max_headers) {
		vc_serve_why(why, whylen, "header section over %zu bytes", cfg->max_headers);
		return 431;
	}
	*eol = '\0';
	if (memchr(buf, '\0', (size_t)(eol - buf)) != NULL) {
		vc_serve_why(why, whylen, "NUL in request line");
		return 400;
	}
	if ((st = request_line(buf, req, &target, why, whylen)) != 0 ||
	    (st = request_target(target, req, why, whylen)) != 0)
		return st;

	/* Every line up to the empty one ends in CRLF: the head does. */
	for (p = eol + 2; p < end - 2; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		*eol = '\0';
		if ((st = field_line(p, (size_t)(eol - p), cfg, req, &f, why, whylen)) != 0)
			return st;
	}
	return fields_check(&f, req, why, whylen);
}

/* ---- bodies ------------------------------------------------------------ */

/* Decode n bytes of form text into dst (room for n bytes); '+' is space. */
static int
form_unescape(const char *s, size_t n, char *dst, size_t *dlen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			if ((hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0)
				return -1;
			dst[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (s[i] == '+')
			dst[o++] = ' ';
		else
			dst[o++] = s[i];
	}
	*dlen = o;
	return 0;
}

int
vc_serve_form_decode(const char *s, size_t len, jv *obj, char *why, size_t whylen)
{
	size_t i = 0;
	int pairs = 0;

	while (i < len) {
		const char *pair = s + i, *amp, *eq;
		size_t plen, nlen, vlen, dn, dv;
		char *name, *val;
		int bad = 0;

		amp = memchr(pair, '&', len - i);
		plen = amp ? (size_t)(amp - pair) : len - i;
		i += plen + 1;
		if (plen == 0)
			continue;
		if (++pairs > VC_SERVE_MAX_FORM_PAIRS) {
			vc_serve_why(why, whylen, "more than %d parameters", VC_SERVE_MAX_FORM_PAIRS);
			return -1;
		}
		eq = memchr(pair, '=', plen);
		nlen = eq ? (size_t)(eq - pair) : plen;
		vlen = eq ? plen - nlen - 1 : 0;
		name = malloc(nlen + 1);
		val = malloc(vlen + 1);
		if (name == NULL || val == NULL) {
			free(name);
			free(val);
			vc_serve_why(why, whylen, "out of memory");
			return -1;
		}
		if (form_unescape(pair, nlen, name, &dn) != 0 ||
		    form_unescape(eq ? eq + 1 : "", vlen, val, &dv) != 0) {
			vc_serve_why(why, whylen, "bad percent-encoding");
			bad = 1;
		} else if (dn == 0) {
			vc_serve_why(why, whylen, "empty parameter name");
			bad = 1;
		} else if (memchr(name, '\0', dn) != NULL || memchr(val, '\0', dv) != NULL ||
		    u8_check((const uint8_t *)name, dn) != NULL ||
		    u8_check((const uint8_t *)val, dv) != NULL) {
			vc_serve_why(why, whylen, "parameter is not valid UTF-8 text");
			bad = 1;
		} else {
			jv key = jv_string_sized(name, (int)dn);

			if (jv_object_has(jv_copy(*obj), jv_copy(key))) {
				vc_serve_why(why, whylen, "parameter '%.64s' given twice",
				    jv_string_value(key));
				jv_free(key);
				bad = 1;
			} else
				*obj = jv_object_set(*obj, key, jv_string_sized(val, (int)dv));
		}
		vc_serve_wipe_free(name, nlen + 1);
		vc_serve_wipe_free(val, vlen + 1);
		if (bad)
			return -1;
	}
	return 0;
}

int
vc_serve_json_depth(const char *s, size_t len)
{
	int depth = 0, max = 0, instr = 0, esc = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (instr) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				instr = 0;
		} else if (c == '"')
			instr = 1;
		else if (c == '[' || c == '{') {
			if (++depth > max)
				max = depth;
		} else if ((c == ']' || c == '}') && depth > 0)
			depth--;
	}
	return max;
}

enum {
	CH_SIZE = 0, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF,
	CH_TRAILER, CH_TRAILER_LINE, CH_TRAILER_LF, CH_END_LF
};
#define CH_MAX_LINE 4096

long
vc_serve_chunked_feed(struct vc_serve_chunked *d, const char *in, size_t len,
    char **out, size_t *outlen, size_t *outcap, size_t max)
{
	size_t i = 0;

	while (i < len && !d->done) {
		int c = (unsigned char)in[i], v;

		switch (d->state) {
		case CH_SIZE:
			if ((v = hexval(c)) >= 0) {
				if (d->digits >= 15)
					return -2;      /* over any body limit */
				d->left = d->left * 16 + (uint64_t)v;
				d->digits++;
			} else if (d->digits == 0)
				return -1;
			else if (c == ';' || c == ' ' || c == '\t')
				d->state = CH_EXT;
			else if (c == '\r')
				d->state = CH_SIZE_LF;
			else
				return -1;
			i++;
			if (++d->line > CH_MAX_LINE)
				return -1;
			break;
		case CH_EXT:
			if (c == '\r')
				d->state = CH_SIZE_LF;
			else if ((c < 0x20 && c != '\t') || c == 0x7f)
				return -1;
			i++;
			if (++d->line > CH_MAX_LINE)
				return -1;
			break;
		case CH_SIZE_LF:
			if (c != '\n')
				return -1;
			i++;
			d->line = 0;
			d->digits = 0;
			if (d->left == 0)
				d->state = CH_TRAILER;
			else if (d->left > max - *outlen)
				return -2;
			else
				d->state = CH_DATA;
			break;
		case CH_DATA: {
			size_t n = len - i;

			if (n > d->left)
				n = (size_t)d->left;
			if (*outlen + n + 1 > *outcap) {
				size_t cap = *outcap ? *outcap : 4096;
				char *np;

				while (cap < *outlen + n + 1)
					cap *= 2;
				if (cap > max + 1)
					cap = max + 1;
				if ((np = realloc(*out, cap)) == NULL)
					return -2;
				*out = np;
				*outcap = cap;
			}
			memcpy(*out + *outlen, in + i, n);
			*outlen += n;
			d->left -= n;
			i += n;
			if (d->left == 0)
				d->state = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			if (c != '\r')
				return -1;
			i++;
			d->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (c != '\n')
				return -1;
			i++;
			d->state = CH_SIZE;
			break;
		case CH_TRAILER:
			if (c == '\r') {
				d->state = CH_END_LF;
				i++;
			} else
				d->state = CH_TRAILER_LINE;
			break;
		case CH_TRAILER_LINE:
			if (c == '\r')
				d->state = CH_TRAILER_LF;
			else if (c == '\n' || c == '\0')
				return -1;
			i++;
			if (++d->trailer > CH_MAX_LINE)
				return -1;
			break;
		case CH_TRAILER_LF:
			if (c != '\n')
				return -1;
			i++;
			d->state = CH_TRAILER;
			break;
		case CH_END_LF:
			if (c != '\n')
				return -1;
			i++;
			d->done = 1;
			break;
		default:
			return -1;
		}
	}
	return (long)i;
}
