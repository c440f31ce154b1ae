/* SPDX-License-Identifier: MIT */
/*
 * jwt.c - HS256 access tokens (RFC 7519, RFC 7515, RFC 8725; security.md
 * section 2).  We only ever verify tokens we issued, so the verifier is
 * deliberately narrower than the RFCs: one algorithm, one typ, a fixed set
 * of header names, integer times, strict base64url.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <jv.h>

#include "crypto/crypto.h"

#define JWT_HEADER_TYP "at+jwt"
#define JWT_CONTEXT "vcjwt___"
#define MAC_BYTES 32
#define MAC_B64_LEN 43          /* 32 bytes, base64url, no padding */
/* Largest integer a jv number (a double) holds exactly. */
#define JV_INT_MAX 9007199254740992.0

void
vc_hmac_sha256(const unsigned char *key, size_t keylen, const void *msg,
    size_t msglen, unsigned char mac[32])
{
	crypto_auth_hmacsha256_state st;

	/* The _init API takes any key length; crypto_auth_hmacsha256()
	 * would need exactly 32 bytes (the RFC 7515 A.1 key has 64). */
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, msg, msglen);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof st);
}

/* Append s to the buffer; -1 when it does not fit (NUL included). */
static int
put(char *out, size_t outsz, size_t *len, const char *s, size_t n)
{
	if (n >= outsz - *len)
		return -1;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

static int
put_b64url(char *out, size_t outsz, size_t *len, const void *bin, size_t n)
{
	size_t need = sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);

	if (need > outsz - *len)
		return -1;
	sodium_bin2base64(out + *len, outsz - *len, bin, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	*len += need - 1;
	return 0;
}

/*
 * Append "name":"value" for a claim string of at most max bytes.  Claim
 * strings are ids and role names: printable ASCII is all they need, and
 * holding to it means no JSON escaping beyond quote and backslash.
 */
static int
put_str_claim(char *json, size_t jsonsz, size_t *len, const char *name,
    const char *value, size_t max)
{
	size_t n = strnlen(value, max + 1);

	if (n > max)
		return -1;
	if (put(json, jsonsz, len, "\"", 1) != 0 ||
	    put(json, jsonsz, len, name, strlen(name)) != 0 ||
	    put(json, jsonsz, len, "\":\"", 3) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)value[i];

		if (ch < 0x20 || ch > 0x7e)
			return -1;
		if ((ch == '"' || ch == '\\') &&
		    put(json, jsonsz, len, "\\", 1) != 0)
			return -1;
		if (put(json, jsonsz, len, &value[i], 1) != 0)
			return -1;
	}
	return put(json, jsonsz, len, "\",", 2);
}

int
vc_jwt_sign(const struct vc_keyring *kr, const struct vc_jwt_claims *c,
    char *out, size_t outsz)
{
	char header[64], json[512];
	unsigned char key[32], mac[MAC_BYTES];
	size_t hlen, jlen = 0, len = 0;
	uint32_t kid = vc_keyring_newest(kr);
	int n;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	n = snprintf(header, sizeof header,
	    "{\"alg\":\"HS256\",\"typ\":\"" JWT_HEADER_TYP "\",\"kid\":\"%u\"}",
	    (unsigned)kid);
	if (n < 0 || (size_t)n >= sizeof header)
		return -1;
	hlen = (size_t)n;

	json[0] = '\0';
	if (put(json, sizeof json, &jlen, "{", 1) != 0 ||
	    put_str_claim(json, sizeof json, &jlen, "iss", VC_JWT_ISS,
	    64) != 0 ||
	    put_str_claim(json, sizeof json, &jlen, "aud", VC_JWT_AUD,
	    64) != 0 ||
	    put_str_claim(json, sizeof json, &jlen, "sub", c->sub,
	    VC_ID_LEN) != 0 ||
	    put_str_claim(json, sizeof json, &jlen, "tid", c->tid,
	    VC_ID_LEN) != 0 ||
	    put_str_claim(json, sizeof json, &jlen, "role", c->role,
	    sizeof c->role - 1) != 0 ||
	    put_str_claim(json, sizeof json, &jlen, "jti", c->jti,
	    VC_ID_LEN) != 0)
		return -1;
	n = snprintf(json + jlen, sizeof json - jlen,
	    "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,\"sv\":%lld}",
	    (long long)c->iat, (long long)c->nbf, (long long)c->exp,
	    (long long)c->sv);
	if (n < 0 || (size_t)n >= sizeof json - jlen)
		return -1;
	jlen += (size_t)n;

	if (put_b64url(out, outsz, &len, header, hlen) != 0 ||
	    put(out, outsz, &len, ".", 1) != 0 ||
	    put_b64url(out, outsz, &len, json, jlen) != 0)
		goto toosmall;
	if (vc_keyring_subkey(kr, kid, JWT_CONTEXT, key) != 0)
		goto toosmall;
	vc_hmac_sha256(key, sizeof key, out, len, mac);
	sodium_memzero(key, sizeof key);
	if (put(out, outsz, &len, ".", 1) != 0 ||
	    put_b64url(out, outsz, &len, mac, sizeof mac) != 0)
		goto toosmall;
	return 0;
toosmall:
	out[0] = '\0';
	return -1;
}

/*
 * Strict base64url (no padding, no whitespace, zero trailing bits).  With
 * ignore == NULL and b64_end == NULL libsodium fails on any bad byte
 * instead of stopping early at it.  Returns 0 or -1.
 */
static int
b64url_decode(const char *s, size_t n, unsigned char *out, size_t outsz,
    size_t *outlen)
{
	return sodium_base642bin(out, outsz, s, n, NULL, outlen, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* A decoded segment as a JSON object, or an invalid jv. */
static jv
parse_object(const unsigned char *s, size_t n)
{
	jv v;

	if (n == 0 || n > VC_JWT_MAX)
		return jv_invalid();
	v = jv_parse_sized((const char *)s, (int)n);
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return jv_invalid();
	}
	return v;
}

/* obj[name] is exactly the string want (borrowed obj). */
static int
str_is(jv obj, const char *name, const char *want)
{
	jv v = jv_object_get(jv_copy(obj), jv_string(name));
	int r = jv_get_kind(v) == JV_KIND_STRING &&
	    (size_t)jv_string_length_bytes(jv_copy(v)) == strlen(want) &&
	    strcmp(jv_string_value(v), want) == 0;

	jv_free(v);
	return r;
}

/*
 * Copy obj[name], a non-empty string of at most outsz-1 bytes without NUL,
 * into out.
 */
static int
get_str(jv obj, const char *name, char *out, size_t outsz)
{
	jv v = jv_object_get(jv_copy(obj), jv_string(name));
	int r = -1;

	if (jv_get_kind(v) == JV_KIND_STRING) {
		size_t n = (size_t)jv_string_length_bytes(jv_copy(v));
		const char *s = jv_string_value(v);

		if (n > 0 && n < outsz && memchr(s, '\0', n) == NULL) {
			memcpy(out, s, n);
			out[n] = '\0';
			r = 0;
		}
	}
	jv_free(v);
	return r;
}

/* obj[name] as a non-negative integer that a double holds exactly. */
static int
get_int(jv obj, const char *name, int64_t *out)
{
	jv v = jv_object_get(jv_copy(obj), jv_string(name));
	int r = -1;

	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		double d = jv_number_value(v);

		if (isfinite(d) && d >= 0 && d <= JV_INT_MAX && d == floor(d)) {
			*out = (int64_t)d;
			r = 0;
		}
	}
	jv_free(v);
	return r;
}

/* kid: the decimal key id, no sign, no leading zero, 1..2^32-1. */
static int
get_kid(jv hdr, uint32_t *kid)
{
	char s[16];

	/* One spelling of each id: a leading zero is not it. */
	if (get_str(hdr, "kid", s, sizeof s) != 0 || s[0] == '0')
		return -1;
	return vc_keyring_parse_id(s, strlen(s), kid);
}

/*
 * The header may hold alg, typ and kid and nothing else.  That rejects
 * crit, jku, jwk, x5u, x5c (RFC 8725 section 3.10) and any name we do not
 * know, which a tolerant verifier might act on.
 */
static int
header_names_ok(jv hdr)
{
	static const char *const allowed[] = { "alg", "typ", "kid" };
	int r = 1;

	jv_object_keys_foreach(hdr, k) {
		size_t n = (size_t)jv_string_length_bytes(jv_copy(k));
		int known = 0;

		/* Length too: "alg\u0000x" is not "alg". */
		for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
			if (n == strlen(allowed[i]) &&
			    strncmp(jv_string_value(k), allowed[i], n) == 0)
				known = 1;
		if (!known)
			r = 0;
		jv_free(k);
	}
	return r;
}

static int
reject(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return -1;
}

static int
check_header(const struct vc_keyring *kr, const unsigned char *h, size_t hn,
    uint32_t *kid, const char **why)
{
	jv hdr = parse_object(h, hn);
	int rc = 0;

	if (!jv_is_valid(hdr))
		rc = reject(why, "header is not a JSON object");
	/* The algorithm is ours to choose, never the token's (RFC 8725
	 * section 2.1): exactly "HS256", so none, HS512, hs256 all fail. */
	else if (!str_is(hdr, "alg", "HS256"))
		rc = reject(why, "alg is not HS256");
	else if (!str_is(hdr, "typ", JWT_HEADER_TYP))
		rc = reject(why, "typ is not " JWT_HEADER_TYP);
	else if (!header_names_ok(hdr))
		rc = reject(why, "unexpected header parameter");
	else if (get_kid(hdr, kid) != 0)
		rc = reject(why, "bad kid");
	/* No default key: an unknown kid is a failure, not a fallback. */
	else if (!vc_keyring_has(kr, *kid))
		rc = reject(why, "unknown kid");
	jv_free(hdr);
	return rc;
}

static int
check_claims(const unsigned char *p, size_t pn, int64_t now,
    struct vc_jwt_claims *c, const char **why)
{
	jv cl = parse_object(p, pn);
	int rc = 0;

	memset(c, 0, sizeof *c);
	if (!jv_is_valid(cl))
		rc = reject(why, "claims are not a JSON object");
	else if (!str_is(cl, "iss", VC_JWT_ISS))
		rc = reject(why, "wrong iss");
	else if (!str_is(cl, "aud", VC_JWT_AUD))
		rc = reject(why, "wrong aud");
	else if (get_str(cl, "sub", c->sub, sizeof c->sub) != 0 ||
	    get_str(cl, "tid", c->tid, sizeof c->tid) != 0 ||
	    get_str(cl, "role", c->role, sizeof c->role) != 0 ||
	    get_str(cl, "jti", c->jti, sizeof c->jti) != 0)
		rc = reject(why, "missing or bad sub, tid, role or jti");
	else if (get_int(cl, "iat", &c->iat) != 0 ||
	    get_int(cl, "nbf", &c->nbf) != 0 ||
	    get_int(cl, "exp", &c->exp) != 0 ||
	    get_int(cl, "sv", &c->sv) != 0)
		rc = reject(why, "missing or bad iat, nbf, exp or sv");
	/* All values are in [0, 2^53], so none of this overflows. */
	else if (!(now < c->exp + VC_JWT_SKEW))
		rc = reject(why, "expired");
	else if (!(now >= c->nbf - VC_JWT_SKEW))
		rc = reject(why, "not yet valid");
	else if (!(c->iat <= now + VC_JWT_SKEW))
		rc = reject(why, "issued in the future");
	else if (c->exp < c->iat || c->exp - c->iat > VC_JWT_TTL)
		rc = reject(why, "lifetime too long");
	jv_free(cl);
	if (rc != 0)
		memset(c, 0, sizeof *c);
	return rc;
}

int
vc_jwt_verify(const struct vc_keyring *kr, const char *token, int64_t now,
    struct vc_jwt_claims *c, const char **why)
{
	/* A segment of a token <= VC_JWT_MAX decodes to less than this. */
	unsigned char h[VC_JWT_MAX / 4 * 3 + 3], p[VC_JWT_MAX / 4 * 3 + 3];
	unsigned char key[32], mac[MAC_BYTES], got[MAC_BYTES];
	const char *dot1, *dot2, *sig;
	size_t len, hn, pn, macn, siglen;
	uint32_t kid = 0;
	int rc;

	memset(c, 0, sizeof *c);
	if (why != NULL)
		*why = NULL;
	if (token == NULL || kr == NULL)
		return reject(why, "no token");
	/* Sane clock only: keeps the time arithmetic below in range. */
	if (now < 0 || now > (int64_t)JV_INT_MAX)
		return reject(why, "clock out of range");
	len = strnlen(token, VC_JWT_MAX + 1);
	if (len > VC_JWT_MAX)
		return reject(why, "token too long");
	if ((dot1 = memchr(token, '.', len)) == NULL ||
	    (dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token))) ==
	    NULL ||
	    memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
		return reject(why, "not three segments");
	sig = dot2 + 1;
	siglen = len - (size_t)(sig - token);
	if (siglen != MAC_B64_LEN ||
	    b64url_decode(sig, siglen, got, sizeof got, &macn) != 0 ||
	    macn != sizeof got)
		return reject(why, "bad signature encoding");
	if (b64url_decode(token, (size_t)(dot1 - token), h, sizeof h,
	    &hn) != 0)
		return reject(why, "bad header encoding");
	if (check_header(kr, h, hn, &kid, why) != 0)
		return -1;

	/* MAC over the exact text received, compared in constant time. */
	if (vc_keyring_subkey(kr, kid, JWT_CONTEXT, key) != 0)
		return reject(why, "unknown kid");
	vc_hmac_sha256(key, sizeof key, token, (size_t)(dot2 - token), mac);
	sodium_memzero(key, sizeof key);
	rc = sodium_memcmp(mac, got, sizeof mac);
	sodium_memzero(mac, sizeof mac);
	if (rc != 0)
		return reject(why, "bad signature");

	/* Claims are only parsed once we know we made them. */
	if (b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), p, sizeof p,
	    &pn) != 0)
		return reject(why, "bad claims encoding");
	return check_claims(p, pn, now, c, why);
}
