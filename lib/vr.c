/* SPDX-License-Identifier: MIT */
/*
 * vr.c - Velociraptor's gRPC API, natively: one length-prefixed protobuf
 * request POSTed over HTTP/2 with mutual TLS, a stream of length-prefixed
 * VQLResponse messages back, then trailers with grpc-status.
 *
 * The server's certificate is verified against the config's CA for the
 * pinned name VelociraptorServer, whatever address is dialled
 * (CURLOPT_CONNECT_TO maps the name to it).  Credentials go to libcurl
 * from memory, never through files.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <yaml.h>

#include "json/jscan.h"
#include "velociraptor.pb-c.h"
#include "core/curl.h"
#include "core/tls.h"
#include "core/net.h"
#include "vr.h"

/* ---- the API client config --------------------------------------------- */

static char *
dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

void
vc_vr_config_release(struct vc_vr_config *cfg)
{
	free(cfg->ca_pem);
	free(cfg->cert_pem);
	if (cfg->key_pem != NULL) {
		sodium_memzero(cfg->key_pem, strlen(cfg->key_pem));
		free(cfg->key_pem);
	}
	free(cfg->name);
	memset(cfg, 0, sizeof *cfg);
}

/* "host:port", "[v6]:port"; unix sockets are not for us. */
static int
parse_conn(vc_ctx *ctx, const char *s, struct vc_vr_config *cfg)
{
	const char *colon;
	char *end;
	long port;

	if (strncmp(s, "unix://", 7) == 0)
		return vc_fail(ctx, VC_ECONFIG,
		    "api_connection_string %.64s is a unix socket: give the server's host:port (API.bind_address)", s);
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			return vc_fail(ctx, VC_ECONFIG, "api_connection_string %.64s: want [address]:port", s);
		snprintf(cfg->host, sizeof cfg->host, "%.*s", (int)(rb - s + 1), s);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof cfg->host)
			return vc_fail(ctx, VC_ECONFIG, "api_connection_string %.64s: want host:port", s);
		snprintf(cfg->host, sizeof cfg->host, "%.*s", (int)(colon - s), s);
		for (const char *p = cfg->host; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
				return vc_fail(ctx, VC_ECONFIG, "api_connection_string %.64s: bad host", s);
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port < 1 || port > 65535)
		return vc_fail(ctx, VC_ECONFIG, "api_connection_string %.64s: bad port", s);
	cfg->port = (int)port;
	return 0;
}

static int
check_pem(vc_ctx *ctx, const char *what, const char *pem, const char *marker)
{
	if (pem == NULL)
		return vc_fail(ctx, VC_ECONFIG, "the API client config has no %s", what);
	if (strstr(pem, marker) == NULL)
		return vc_fail(ctx, VC_ECONFIG, "%s is not a PEM %s", what, marker + 11);
	return 0;
}

int
vc_vr_config_parse(vc_ctx *ctx, const char *yaml, size_t n, struct vc_vr_config *cfg)
{
	yaml_parser_t p;
	yaml_document_t doc;
	yaml_node_t *root;
	char *conn = NULL, *pinned = NULL;
	int rc = 0;

	memset(cfg, 0, sizeof *cfg);
	if (n > 1024 * 1024)
		return vc_fail(ctx, VC_ECONFIG, "the API client config is larger than 1 MiB");
	if (!yaml_parser_initialize(&p))
		return vc_fail(ctx, VC_EINTERNAL, "cannot start the YAML parser");
	yaml_parser_set_input_string(&p, (const unsigned char *)yaml, n);
	if (!yaml_parser_load(&p, &doc)) {
		rc = vc_fail(ctx, VC_ECONFIG, "the API client config is not YAML: %s at line %zu",
		    p.problem ? p.problem : "error", p.problem_mark.line + 1);
		yaml_parser_delete(&p);
		return rc;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		rc = vc_fail(ctx, VC_ECONFIG, "the API client config is not a YAML mapping");
		goto out;
	}
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	    pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
		const char *key;
		char **dst = NULL;

		if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE)
			continue;
		key = (const char *)k->data.scalar.value;
		if (strcmp(key, "ca_certificate") == 0)
			dst = &cfg->ca_pem;
		else if (strcmp(key, "client_cert") == 0)
			dst = &cfg->cert_pem;
		else if (strcmp(key, "client_private_key") == 0)
			dst = &cfg->key_pem;
		else if (strcmp(key, "name") == 0)
			dst = &cfg->name;
		else if (strcmp(key, "api_connection_string") == 0)
			dst = &conn;
		else if (strcmp(key, "pinned_server_name") == 0)
			dst = &pinned;
		if (dst == NULL)
			continue;   /* newer servers may add keys; they do not concern us */
		if (v->type != YAML_SCALAR_NODE) {
			rc = vc_fail(ctx, VC_ECONFIG, "%s in the API client config must be text", key);
			goto out;
		}
		free(*dst);
		*dst = dupn((const char *)v->data.scalar.value, v->data.scalar.length);
		if (*dst == NULL) {
			rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
			goto out;
		}
	}
	if ((rc = check_pem(ctx, "ca_certificate", cfg->ca_pem, "-----BEGIN CERTIFICATE")) != 0 ||
	    (rc = check_pem(ctx, "client_cert", cfg->cert_pem, "-----BEGIN CERTIFICATE")) != 0 ||
	    (rc = check_pem(ctx, "client_private_key", cfg->key_pem, "-----BEGIN ")) != 0)
		goto out;
	if (strstr(cfg->key_pem, "ENCRYPTED") != NULL) {
		rc = vc_fail(ctx, VC_ECONFIG,
		    "client_private_key is encrypted: make the API client config without --password");
		goto out;
	}
	if (conn == NULL) {
		rc = vc_fail(ctx, VC_ECONFIG, "the API client config has no api_connection_string");
		goto out;
	}
	if ((rc = parse_conn(ctx, conn, cfg)) != 0)
		goto out;
	/* Velociraptor's own clients always verify this name, whatever the file says. */
	snprintf(cfg->pinned, sizeof cfg->pinned, "%s",
	    pinned && *pinned ? pinned : VC_VR_PINNED_NAME);
	for (const char *s = cfg->pinned; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-') {
			rc = vc_fail(ctx, VC_ECONFIG, "pinned_server_name is not a host name");
			goto out;
		}
out:
	free(conn);
	free(pinned);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	if (rc != 0)
		vc_vr_config_release(cfg);
	return rc;
}

int
vc_vr_cert_info(vc_ctx *ctx, const char *pem, int64_t *not_after, char fp[65], char *cn, size_t cnsz)
{
	BIO *b;
	X509 *x;
	unsigned char md[32];
	unsigned int mdlen = 0;
	struct tm tm;
	int rc;

	if ((rc = vc_tls_ready(ctx)) != 0)
		return rc;
	b = BIO_new_mem_buf(pem, -1);
	x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (x == NULL)
		return vc_fail(ctx, VC_ECONFIG, "client_cert is not a readable X.509 certificate");
	memset(&tm, 0, sizeof tm);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		X509_free(x);
		return vc_fail(ctx, VC_ECONFIG, "client_cert has no readable expiry");
	}
	*not_after = (int64_t)timegm(&tm);
	X509_digest(x, EVP_sha256(), md, &mdlen);
	sodium_bin2hex(fp, 65, md, mdlen < 32 ? mdlen : 32);
	if (cn != NULL && cnsz > 0) {
		cn[0] = '\0';
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, (int)cnsz);
	}
	X509_free(x);
	return 0;
}

/* ---- the response stream (pure: vr.h) --------------------------------- */

void
vc_vr_stream_init(struct vc_vr_stream *s, const struct vc_vr_query *q, struct vc_vr_result *res)
{
	memset(s, 0, sizeof *s);
	s->q = q;
	s->res = res;
}

void
vc_vr_stream_release(struct vc_vr_stream *s)
{
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}

static int
stream_fail(struct vc_vr_stream *s, const char *msg)
{
	s->error = 1;
	snprintf(s->msg, sizeof s->msg, "%s", msg);
	return -1;
}

static int
row_cb(void *arg, const char *json, size_t n)
{
	struct vc_vr_stream *s = arg;

	s->res->rows++;
	if (s->q->row != NULL && s->q->row(s->q->arg, json, n) != 0) {
		s->res->stopped = 1;
		return 1;
	}
	return 0;
}

static int
is_error_log(const char *s)
{
	return strncmp(s, "ERROR:", 6) == 0 || strstr(s, "VQL Error") != NULL ||
	    strstr(s, "Timeout Error") != NULL;
}

/* One complete VQLResponse. 0 to go on, -1 to stop. */
static int
handle(struct vc_vr_stream *s, const unsigned char *msg, size_t n)
{
	Proto__VQLResponse *r = proto__vqlresponse__unpack(NULL, n, msg);
	int rc = 0;

	if (r == NULL)
		return stream_fail(s, "a VQLResponse did not decode");
	if (r->response != NULL && r->response[0] != '\0') {
		const char *err = NULL;
		s->res->batches++;
		if (vc_jscan_array(r->response, strlen(r->response), row_cb, s, &err, NULL) != 'a') {
			if (!s->res->stopped) {
				s->error = 1;
				snprintf(s->msg, sizeof s->msg,
				    "a row batch is not a JSON array (%s)", err ? err : "?");
			}
			rc = -1;
		} else if (s->q->batch_end != NULL)
			s->q->batch_end(s->q->arg);
	} else if (r->log != NULL && r->log[0] != '\0') {
		size_t l = strlen(r->log);
		while (l > 0 && (r->log[l - 1] == '\n' || r->log[l - 1] == '\r'))
			r->log[--l] = '\0';
		if (is_error_log(r->log)) {
			if (s->res->error_logs++ == 0)
				snprintf(s->res->first_error, sizeof s->res->first_error, "%s", r->log);
		}
		/* A log of line ends only is no line: nothing to show. */
		if (s->q->log != NULL && l > 0)
			s->q->log(s->q->arg, r->log);
	}
	proto__vqlresponse__free_unpacked(r, NULL);
	return rc;
}

int
vc_vr_stream_feed(struct vc_vr_stream *s, const void *p, size_t n)
{
	if (s->error || s->res->stopped)
		return -1;
	if (n > s->cap - s->len) {
		size_t ncap = s->cap ? s->cap : 65536;
		unsigned char *b;
		while (ncap < s->len + n)
			ncap *= 2;
		if (ncap > VC_VR_MAX_MESSAGE + 5 + n) {
			snprintf(s->msg, sizeof s->msg,
			    "a message larger than %u MiB: lower max_row", VC_VR_MAX_MESSAGE >> 20);
			s->error = 1;
			return -1;
		}
		if ((b = realloc(s->buf, ncap)) == NULL)
			return -1;
		s->buf = b;
		s->cap = ncap;
	}
	if (n > 0)
		memcpy(s->buf + s->len, p, n);
	s->len += n;
	/* Messages and DATA frames are unrelated: take every whole message. */
	while (s->len >= 5) {
		uint32_t ml = (uint32_t)s->buf[1] << 24 | (uint32_t)s->buf[2] << 16 |
		    (uint32_t)s->buf[3] << 8 | s->buf[4];
		if (s->buf[0] != 0)
			return stream_fail(s, "a compressed message (we asked for none)");
		if (ml > VC_VR_MAX_MESSAGE) {
			snprintf(s->msg, sizeof s->msg,
			    "a message of %u bytes, over the %u MiB limit: lower max_row", ml,
			    VC_VR_MAX_MESSAGE >> 20);
			s->error = 1;
			return -1;
		}
		if (s->len < 5 + (size_t)ml)
			break;
		if (handle(s, s->buf + 5, ml) != 0)
			return -1;
		memmove(s->buf, s->buf + 5 + ml, s->len - 5 - ml);
		s->len -= 5 + ml;
	}
	return 0;
}

/* ---- one call ------------------------------------------------------------ */

struct call {
	CURL *h;
	vc_ctx *ctx;
	const struct vc_vr_query *q;
	struct vc_vr_result *res;
	struct vc_vr_stream st;
	long http_status;
	int have_status;
};

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct call *c = arg;

	return vc_vr_stream_feed(&c->st, p, size * nmemb) == 0 ? size * nmemb : 0;
}

static int
hexval(int ch)
{
	return isdigit(ch) ? ch - '0' : tolower(ch) - 'a' + 10;
}

/* Headers and trailers (libcurl hands both here). */
static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct call *c = arg;
	size_t n = size * nmemb, vl;
	char line[1024];

	/* The TLS session is alive now; after the transfer it may be gone. */
	if (c->res->tls_version[0] == '\0') {
		const struct curl_tlssessioninfo *tls = NULL;
		if (curl_easy_getinfo(c->h, CURLINFO_TLS_SSL_PTR, &tls) == CURLE_OK && tls != NULL &&
		    tls->backend == CURLSSLBACKEND_OPENSSL && tls->internals != NULL)
			snprintf(c->res->tls_version, sizeof c->res->tls_version, "%s",
			    SSL_get_version((SSL *)tls->internals));
	}
	if (n >= sizeof line)
		return n;
	memcpy(line, p, n);
	line[n] = '\0';
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		line[--n] = '\0';
	if (strncasecmp(line, "grpc-status:", 12) == 0) {
		c->res->grpc_status = (int)strtol(line + 12, NULL, 10);
		c->have_status = 1;
	} else if (strncasecmp(line, "grpc-message:", 13) == 0) {
		const char *v = line + 13;
		char *d = c->res->grpc_message;
		while (*v == ' ')
			v++;
		/* Percent-encoded UTF-8 (gRPC over HTTP/2 spec). */
		for (vl = 0; *v && vl + 1 < sizeof c->res->grpc_message; v++) {
			if (v[0] == '%' && isxdigit((unsigned char)v[1]) && isxdigit((unsigned char)v[2])) {
				d[vl++] = (char)(hexval((unsigned char)v[1]) * 16 + hexval((unsigned char)v[2]));
				v += 2;
			} else
				d[vl++] = *v;
		}
		d[vl] = '\0';
	}
	return size * nmemb;
}

static const char *const grpc_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};

static const char *
grpc_name(int s)
{
	return s >= 0 && s <= 16 ? grpc_names[s] : "UNKNOWN";
}

/*
 * What is wrong with our client certificate, found locally: expired, not
 * yet valid, or not issued by the CA of ca_certificate (Velociraptor's CA
 * signs both the server's and the API clients' certificates).  A server
 * that refuses a client certificate under TLS 1.3 often just drops the
 * connection after the handshake, with no alert we can read, so this is
 * the only way to name the reason.  Returns 1 with why filled, else 0.
 */
static int
client_cert_problem(const struct vc_vr_config *cfg, char *why, size_t n)
{
	BIO *b = BIO_new_mem_buf(cfg->cert_pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	X509_STORE *st = NULL;
	X509_STORE_CTX *sc = NULL;
	int found = 0;

	BIO_free(b);
	if (x == NULL)
		return 0;
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
		struct tm tm;
		char day[32] = "?";
		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
			strftime(day, sizeof day, "%Y-%m-%d", &tm);
		snprintf(why, n, "the client certificate expired on %s", day);
		found = 1;
	} else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		snprintf(why, n, "the client certificate is not valid yet (is the clock right?)");
		found = 1;
	} else if ((st = X509_STORE_new()) != NULL && (sc = X509_STORE_CTX_new()) != NULL &&
	    (b = BIO_new_mem_buf(cfg->ca_pem, -1)) != NULL) {
		X509 *ca;
		while ((ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
			X509_STORE_add_cert(st, ca);
			X509_free(ca);
		}
		BIO_free(b);
		ERR_clear_error();
		if (X509_STORE_CTX_init(sc, st, x, NULL) == 1 && X509_verify_cert(sc) != 1) {
			snprintf(why, n, "the client certificate is not signed by the CA of ca_certificate (%s)",
			    X509_verify_cert_error_string(X509_STORE_CTX_get_error(sc)));
			found = 1;
		}
		ERR_clear_error();
	}
	X509_STORE_CTX_free(sc);
	X509_STORE_free(st);
	X509_free(x);
	return found;
}

/* The reason of a TLS failure, in words a user can act on. */
static int
tls_failure(vc_ctx *ctx, const struct vc_vr_config *cfg, CURLcode cc, const char *eb)
{
	const char *where = cfg->host;
	char why[200];

	if (strstr(eb, "certificate expired") != NULL)
		return vc_fail(ctx, VC_EUNAVAIL,
		    "Velociraptor at %s:%d refused the client certificate: it has expired (%s); "
		    "make a new API client config with `velociraptor config api_client`", where, cfg->port, eb);
	if (strstr(eb, "unknown ca") != NULL || strstr(eb, "bad certificate") != NULL ||
	    strstr(eb, "certificate required") != NULL || strstr(eb, "decrypt error") != NULL)
		return vc_fail(ctx, VC_EUNAVAIL,
		    "Velociraptor at %s:%d refused the client certificate (not signed by its CA?): %s",
		    where, cfg->port, eb);
	if (strstr(eb, "subject name") != NULL || strstr(eb, "does not match") != NULL ||
	    strstr(eb, "no alternative certificate subject name") != NULL)
		return vc_fail(ctx, VC_EUNAVAIL,
		    "the server at %s:%d is not %s: its certificate is for another name (%s)",
		    where, cfg->port, cfg->pinned, eb);
	if (cc == CURLE_PEER_FAILED_VERIFICATION || strstr(eb, "verify failed") != NULL ||
	    strstr(eb, "self signed") != NULL || strstr(eb, "self-signed") != NULL ||
	    strstr(eb, "unable to get local issuer") != NULL)
		return vc_fail(ctx, VC_EUNAVAIL,
		    "the certificate of the server at %s:%d does not verify against the config's CA: %s",
		    where, cfg->port, eb);
	if (client_cert_problem(cfg, why, sizeof why))
		return vc_fail(ctx, VC_EUNAVAIL,
		    "Velociraptor at %s:%d refused the connection: %s; make a new API client config with "
		    "`velociraptor config api_client` (%s)", where, cfg->port, why, eb);
	return vc_fail(ctx, VC_EUNAVAIL, "TLS with %s:%d failed: %s", where, cfg->port, eb);
}

static int
once(vc_ctx *ctx, const struct vc_vr_config *cfg, const struct vc_vr_query *q,
    struct vc_vr_result *res, const unsigned char *body, size_t bodylen, uint64_t timeout)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL, *connect_to = NULL;
	struct curl_blob ca, cert, key;
	struct call c;
	char url[512], map[600], tmo[64], ua[64], eb[CURL_ERROR_SIZE] = "", why[200], addr[64];
	CURLcode cc;
	long httpv = 0;
	int rc = 0;
	double secs = 0;

	if (h == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "cannot start libcurl");
	memset(&c, 0, sizeof c);
	c.h = h;
	c.ctx = ctx;
	c.q = q;
	c.res = res;
	vc_vr_stream_init(&c.st, q, res);
	snprintf(url, sizeof url, "https://%s:%d/proto.API/Query", cfg->pinned, cfg->port);
	/* Dial the address that was checked, so a second lookup cannot differ. */
	switch (vc_net_dest(cfg->host, cfg->port, addr, why, sizeof why)) {
	case -1:
		res->tls_stage = 0;
		curl_easy_cleanup(h);
		return vc_fail(ctx, VC_EUNAVAIL, "cannot reach Velociraptor at %s:%d: %s", cfg->host,
		    cfg->port, why);
	case -2:
		curl_easy_cleanup(h);
		return vc_fail(ctx, VC_EPERM, "Velociraptor at %s:%d is not a destination this installation "
		    "allows: %s (see vc-serve --allow-velociraptor, $VC_ALLOW_VELOCIRAPTOR)", cfg->host,
		    cfg->port, why);
	}
	snprintf(map, sizeof map, "%s:%d:%s:%d", cfg->pinned, cfg->port, addr, cfg->port);
	connect_to = curl_slist_append(NULL, map);
	snprintf(tmo, sizeof tmo, "grpc-timeout: %lluS", (unsigned long long)timeout);
	snprintf(ua, sizeof ua, "User-Agent: velocicompanion/%s", VC_VERSION);
	hdr = curl_slist_append(hdr, "Content-Type: application/grpc");
	hdr = curl_slist_append(hdr, "TE: trailers");
	hdr = curl_slist_append(hdr, tmo);
	hdr = curl_slist_append(hdr, ua);
	hdr = curl_slist_append(hdr, "Expect:");
	ca = (struct curl_blob){ cfg->ca_pem, strlen(cfg->ca_pem), CURL_BLOB_NOCOPY };
	cert = (struct curl_blob){ cfg->cert_pem, strlen(cfg->cert_pem), CURL_BLOB_NOCOPY };
	key = (struct curl_blob){ cfg->key_pem, strlen(cfg->key_pem), CURL_BLOB_NOCOPY };

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	/* Only the config's CA: never the system's bundle. */
	curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
	curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)bodylen);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, eb);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	/* Our deadline: the server's plus a grace to hear its answer. */
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)(timeout + 15));

	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c.http_status);
	curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &httpv);
	curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &secs);
	res->seconds += secs;
	snprintf(res->http_version, sizeof res->http_version, "%s",
	    httpv == CURL_HTTP_VERSION_2_0 ? "2" : httpv == CURL_HTTP_VERSION_1_1 ? "1.1" : "?");
	if (!c.have_status)
		res->grpc_status = -1;

	if (res->stopped) {
		rc = 0;         /* the caller had enough */
	} else if (c.st.error) {
		res->tls_stage = 1;
		rc = vc_fail(ctx, VC_EUNAVAIL, "Velociraptor at %s:%d: protocol error: %s", cfg->host,
		    cfg->port, c.st.msg);
	} else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST) {
		rc = vc_fail(ctx, VC_EUNAVAIL, "cannot reach Velociraptor at %s:%d: %s", cfg->host,
		    cfg->port, eb[0] ? eb : curl_easy_strerror(cc));
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		rc = vc_fail(ctx, VC_ETEMP, "Velociraptor at %s:%d did not finish within %llu s",
		    cfg->host, cfg->port, (unsigned long long)timeout + 15);
	} else if (cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_PEER_FAILED_VERIFICATION ||
	    cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_CACERT_BADFILE ||
	    cc == CURLE_SSL_INVALIDCERTSTATUS || (cc == CURLE_RECV_ERROR && !c.have_status &&
	    c.http_status == 0 && (strstr(eb, "alert") || strstr(eb, "SSL")))) {
		res->tls_stage = 1;
		rc = tls_failure(ctx, cfg, cc, eb[0] ? eb : curl_easy_strerror(cc));
	} else if (cc != CURLE_OK && !c.have_status && c.http_status == 0 &&
	    client_cert_problem(cfg, why, sizeof why)) {
		/* Dropped before any HTTP answer: under TLS 1.3 that is how a refused client cert looks. */
		res->tls_stage = 1;
		rc = vc_fail(ctx, VC_EUNAVAIL,
		    "Velociraptor at %s:%d refused the connection: %s; make a new API client config with "
		    "`velociraptor config api_client` (%s)", cfg->host, cfg->port, why,
		    eb[0] ? eb : curl_easy_strerror(cc));
	} else if (cc != CURLE_OK && !c.have_status) {
		rc = vc_fail(ctx, VC_EUNAVAIL, "Velociraptor at %s:%d: %s", cfg->host, cfg->port,
		    eb[0] ? eb : curl_easy_strerror(cc));
	} else if (c.http_status != 200) {
		res->tls_stage = 1;
		rc = vc_fail(ctx, VC_EUNAVAIL,
		    "%s:%d answered HTTP %ld, not gRPC: is it the API port (8001), not the GUI or frontend?",
		    cfg->host, cfg->port, c.http_status);
	} else if (!c.have_status) {
		rc = vc_fail(ctx, VC_EUNAVAIL, "Velociraptor at %s:%d ended the call without a grpc-status",
		    cfg->host, cfg->port);
	} else if (res->grpc_status != 0) {
		int s = res->grpc_status;
		int e = s == 7 || s == 16 ? VC_EPERM : s == 4 ? VC_ETEMP : s == 3 ? VC_EINVAL : VC_EUNAVAIL;
		rc = vc_fail(ctx, e, "Velociraptor: %s: %s", grpc_name(s),
		    res->grpc_message[0] ? res->grpc_message : "(no message)");
	} else if (res->error_logs > 0) {
		/* The server's own query timeout is a deadline, as DEADLINE_EXCEEDED is: try again. */
		rc = vc_fail(ctx, strstr(res->first_error, "Timeout Error") != NULL ? VC_ETEMP : VC_EINVAL,
		    "Velociraptor: %s", res->first_error);
	}
	vc_vr_stream_release(&c.st);
	curl_slist_free_all(hdr);
	curl_slist_free_all(connect_to);
	curl_easy_cleanup(h);
	return rc;
}

int
vc_vr_query(vc_ctx *ctx, const struct vc_vr_config *cfg, const struct vc_vr_query *q,
    struct vc_vr_result *res)
{
	Proto__VQLCollectorArgs args = PROTO__VQLCOLLECTOR_ARGS__INIT;
	Proto__VQLRequest req = PROTO__VQLREQUEST__INIT, *reqs[1];
	Proto__VQLEnv *envs = NULL, **envp = NULL;
	unsigned char *body;
	size_t n;
	uint64_t timeout = q->timeout ? q->timeout : 600;
	int rc;

	memset(res, 0, sizeof *res);
	res->grpc_status = -1;
	/* OpenSSL too: the TLS version, and the reasons of a failed handshake. */
	if ((rc = vc_curl_ready(ctx)) != 0 || (rc = vc_tls_ready(ctx)) != 0)
		return rc;
	if (q->nenv < 0 || q->nenv > 64)
		return vc_fail(ctx, VC_EUSAGE, "too many query variables");
	if (q->nenv > 0) {
		envs = calloc((size_t)q->nenv, sizeof *envs);
		envp = calloc((size_t)q->nenv, sizeof *envp);
		if (envs == NULL || envp == NULL) {
			free(envs);
			free(envp);
			return vc_fail(ctx, VC_EINTERNAL, "out of memory");
		}
	}
	for (int i = 0; i < q->nenv; i++) {
		proto__vqlenv__init(&envs[i]);
		envs[i].key = (char *)q->env[i].key;
		envs[i].value = (char *)(q->env[i].value ? q->env[i].value : "");
		envp[i] = &envs[i];
	}
	req.vql = (char *)q->vql;
	req.name = (char *)"vc";
	reqs[0] = &req;
	args.n_query = 1;
	args.query = reqs;
	args.n_env = (size_t)q->nenv;
	args.env = envp;
	args.max_row = q->max_row ? q->max_row : 1000;
	args.max_wait = 1;
	args.timeout = timeout;
	args.org_id = (char *)(q->org_id ? q->org_id : "");
	n = proto__vqlcollector_args__get_packed_size(&args);
	if ((body = malloc(n + 5)) == NULL) {
		free(envs);
		free(envp);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	body[0] = 0;
	body[1] = (unsigned char)(n >> 24);
	body[2] = (unsigned char)(n >> 16);
	body[3] = (unsigned char)(n >> 8);
	body[4] = (unsigned char)n;
	proto__vqlcollector_args__pack(&args, body + 5);
	free(envs);
	free(envp);

	rc = once(ctx, cfg, q, res, body, n + 5, timeout);
	/* UNAVAILABLE before any row: the server may be restarting; once more. */
	if (rc != 0 && res->rows == 0 && (res->grpc_status == 14 ||
	    (res->grpc_status == -1 && ctx->err == VC_EUNAVAIL && strstr(ctx->errmsg, "cannot reach")))) {
		vc_sleep(1);
		memset(res, 0, sizeof *res);
		res->grpc_status = -1;
		rc = once(ctx, cfg, q, res, body, n + 5, timeout);
	}
	free(body);
	if (rc == VC_EUNAVAIL && ctx->front == VC_FRONT_HTTP && res->grpc_status == -1) {
		/* Only "unreachable" or "TLS failed" to a remote caller. */
		char why[200] = "";
		snprintf(ctx->audit_reason, sizeof ctx->audit_reason, "%.159s", ctx->errmsg);
		/* What our own config says is no probe of the network: keep it. */
		if (res->tls_stage && !client_cert_problem(cfg, why, sizeof why))
			why[0] = '\0';
		rc = vc_fail(ctx, VC_EUNAVAIL, "Velociraptor at %s:%d: %s%s%s", cfg->host, cfg->port,
		    res->tls_stage ? "TLS failed" : "unreachable", why[0] ? ": " : "", why);
	}
	return rc;
}
