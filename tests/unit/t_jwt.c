/* SPDX-License-Identifier: MIT */
/*
 * t_jwt.c - HS256 access tokens: the RFC 7515 A.1 vector, sign/verify,
 * and every rejection of security.md section 2 (SEC-JWT-01..05).
 *
 * Negative cases are built by hand and signed with the real key, so that
 * each fails for the one reason it tests; each has a passing control.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "tap.h"

#define NOW 1764286530LL        /* 2025-11-27T23:35:30Z */
#define HDR "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"1\"}"
#define SUB "0b9a4f1e-8a4c-4d8e-9f57-3d0c2a4b5e61"
#define TID "6f1c2d3e-4b5a-4c6d-8e7f-90a1b2c3d4e5"
#define JTI "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"

static char dir[] = "/tmp/t_jwt.XXXXXX";
static char keypath[256];
static struct vc_keyring *kr;

static void
b64u(const void *bin, size_t n, char *out, size_t outsz)
{
	if (sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) > outsz)
		abort();
	sodium_bin2base64(out, outsz, bin, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* out = h64 "." p64 "." HMAC(text) with key kid's JWT subkey of k. */
static void
sign_raw(const struct vc_keyring *k, uint32_t kid, const char *h64,
    const char *p64, char *out, size_t outsz)
{
	unsigned char key[32], mac[32];
	char sig[64];
	int n = snprintf(out, outsz, "%s.%s", h64, p64);

	if (n < 0 || (size_t)n >= outsz)
		abort();
	if (vc_keyring_subkey(k, kid, "vcjwt___", key) != 0)
		abort();
	vc_hmac_sha256(key, sizeof key, out, (size_t)n, mac);
	b64u(mac, sizeof mac, sig, sizeof sig);
	n = snprintf(out, outsz, "%s.%s.%s", h64, p64, sig);
	if (n < 0 || (size_t)n >= outsz)
		abort();
}

/* A token from JSON header and claims, signed with key 1. */
static void
make(const char *hdr, const char *claims, char *out, size_t outsz)
{
	char h64[1024], p64[16384];

	b64u(hdr, strlen(hdr), h64, sizeof h64);
	b64u(claims, strlen(claims), p64, sizeof p64);
	sign_raw(kr, 1, h64, p64, out, outsz);
}

/* Claims JSON; extra (may be "") is spliced in before the closing brace. */
static void
claims(char *out, size_t outsz, const char *iss, const char *aud,
    long long iat, long long nbf, long long exp, const char *extra)
{
	int n = snprintf(out, outsz, "{\"iss\":\"%s\",\"aud\":\"%s\","
	    "\"sub\":\"" SUB "\",\"tid\":\"" TID "\",\"role\":\"analyst\","
	    "\"jti\":\"" JTI "\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,"
	    "\"sv\":3%s}", iss, aud, iat, nbf, exp, extra);

	if (n < 0 || (size_t)n >= outsz)
		abort();
}

static void
good_claims(char *out, size_t outsz)
{
	claims(out, outsz, VC_JWT_ISS, VC_JWT_AUD, NOW, NOW, NOW + 900, "");
}

static int
verify(const char *tok, long long now, const char **why)
{
	struct vc_jwt_claims c;

	*why = NULL;
	return vc_jwt_verify(kr, tok, now, &c, why);
}

/* Expect rejection; print the reason. */
#define REJECT(tok, now, ...) do { \
	const char *why_; \
	int rc_ = verify((tok), (now), &why_); \
	ok(rc_ == -1 && why_ != NULL, __VA_ARGS__); \
	printf("#   why: %s\n", why_ ? why_ : "(none)"); \
} while (0)
#define ACCEPT(tok, now, ...) do { \
	const char *why_; \
	int rc_ = verify((tok), (now), &why_); \
	ok(rc_ == 0, __VA_ARGS__); \
	if (rc_ != 0) \
		printf("#   why: %s\n", why_ ? why_ : "(none)"); \
} while (0)

static void
test_rfc7515_a1(void)
{
	const char *k = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75"
	    "aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
	const char *h64 = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
	const char *p64 = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0"
	    "dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
	const char *want = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	unsigned char key[64], mac[32];
	char input[256], sig[64], tok[512];
	size_t keylen = 0;

	ok(sodium_base642bin(key, sizeof key, k, strlen(k), NULL, &keylen,
	    NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
	    keylen == 64, "A.1 JWK k decodes to 64 bytes");
	snprintf(input, sizeof input, "%s.%s", h64, p64);
	vc_hmac_sha256(key, keylen, input, strlen(input), mac);
	b64u(mac, sizeof mac, sig, sizeof sig);
	is_str(sig, want, "RFC 7515 A.1 HS256 signature (SEC-JWT-01)");

	/* RFC 4231 test case 2: a key shorter than a block. */
	vc_hmac_sha256((const unsigned char *)"Jefe", 4,
	    "what do ya want for nothing?", 28, mac);
	sodium_bin2hex(input, sizeof input, mac, sizeof mac);
	is_str(input, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec5"
	    "8b964ec3843", "RFC 4231 case 2");

	/* The A.1 token is a valid JWS but not one of our access tokens:
	 * typ JWT, no kid, no aud, expired in 2011. */
	snprintf(tok, sizeof tok, "%s.%s.%s", h64, p64, want);
	REJECT(tok, NOW, "RFC 7515 A.1 token rejected now");
	REJECT(tok, 1300819000LL, "RFC 7515 A.1 token rejected before its exp");
}

static void
test_round_trip(void)
{
	struct vc_jwt_claims c = { 0 }, got;
	char tok[1024], hdr[256], small[64];
	const char *why = "unset";
	size_t hn;

	snprintf(c.sub, sizeof c.sub, "%s", SUB);
	snprintf(c.tid, sizeof c.tid, "%s", TID);
	snprintf(c.role, sizeof c.role, "%s", "admin");
	snprintf(c.jti, sizeof c.jti, "%s", JTI);
	c.iat = c.nbf = NOW;
	c.exp = NOW + VC_JWT_TTL;
	c.sv = 42;
	is_int(vc_jwt_sign(kr, &c, tok, sizeof tok), 0, "sign");
	is_int(vc_jwt_verify(kr, tok, NOW + 10, &got, &why), 0, "verify");
	ok(why == NULL, "no reason on success");
	is_str(got.sub, SUB, "sub");
	is_str(got.tid, TID, "tid");
	is_str(got.role, "admin", "role");
	is_str(got.jti, JTI, "jti");
	is_int(got.iat, NOW, "iat");
	is_int(got.nbf, NOW, "nbf");
	is_int(got.exp, NOW + 900, "exp");
	is_int(got.sv, 42, "sv");
	is_int(vc_jwt_verify(kr, tok, NOW, &got, NULL), 0, "why may be NULL");

	ok(sodium_base642bin((unsigned char *)hdr, sizeof hdr - 1, tok,
	    (size_t)(strchr(tok, '.') - tok), NULL, &hn, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0, "header decodes");
	hdr[hn] = '\0';
	is_str(hdr, HDR, "header is alg HS256, typ at+jwt, kid 1");
	ok(strchr(tok, '=') == NULL, "no padding");

	is_int(vc_jwt_sign(kr, &c, small, sizeof small), -1,
	    "sign into a small buffer fails");
	is_str(small, "", "and leaves an empty string");

	snprintf(c.role, sizeof c.role, "%s", "a\"b\\c");
	is_int(vc_jwt_sign(kr, &c, tok, sizeof tok), 0, "sign with quotes");
	is_int(vc_jwt_verify(kr, tok, NOW, &got, &why), 0, "verify");
	is_str(got.role, "a\"b\\c", "quote and backslash survive");
	snprintf(c.role, sizeof c.role, "%s", "bad\nrole");
	is_int(vc_jwt_sign(kr, &c, tok, sizeof tok), -1,
	    "control characters refused");
}

static void
test_alg_typ_kid(void)
{
	char cl[1024], tok[4096], h64[256], p64[1024];

	good_claims(cl, sizeof cl);
	make(HDR, cl, tok, sizeof tok);
	ACCEPT(tok, NOW, "control: hand-made token verifies");

	/* alg none, empty signature (SEC-JWT-02). */
	{
		const char *h = "{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"1\"}";

		b64u(h, strlen(h), h64, sizeof h64);
		b64u(cl, strlen(cl), p64, sizeof p64);
		snprintf(tok, sizeof tok, "%s.%s.", h64, p64);
		REJECT(tok, NOW, "alg none, empty signature");
		make(h, cl, tok, sizeof tok);
		REJECT(tok, NOW, "alg none, even with a valid MAC");
		b64u("{\"alg\":\"none\"}", 14, h64, sizeof h64);
		snprintf(tok, sizeof tok, "%s.%s.", h64, p64);
		REJECT(tok, NOW, "{\"alg\":\"none\"} alone");
	}
	make("{\"alg\":\"HS512\",\"typ\":\"at+jwt\",\"kid\":\"1\"}", cl, tok,
	    sizeof tok);
	REJECT(tok, NOW, "alg HS512");
	make("{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"1\"}", cl, tok,
	    sizeof tok);
	REJECT(tok, NOW, "alg RS256");
	make("{\"alg\":\"hs256\",\"typ\":\"at+jwt\",\"kid\":\"1\"}", cl, tok,
	    sizeof tok);
	REJECT(tok, NOW, "alg hs256");
	make("{\"alg\":\"HS256 \",\"typ\":\"at+jwt\",\"kid\":\"1\"}", cl, tok,
	    sizeof tok);
	REJECT(tok, NOW, "alg \"HS256 \"");
	make("{\"alg\":\"HS256\\u0000\",\"typ\":\"at+jwt\",\"kid\":\"1\"}", cl,
	    tok, sizeof tok);
	REJECT(tok, NOW, "alg HS256 with an escaped NUL");
	make("{\"alg\":[\"HS256\"],\"typ\":\"at+jwt\",\"kid\":\"1\"}", cl, tok,
	    sizeof tok);
	REJECT(tok, NOW, "alg as an array");
	make("{\"typ\":\"at+jwt\",\"kid\":\"1\"}", cl, tok, sizeof tok);
	REJECT(tok, NOW, "no alg");

	/* typ (RFC 8725 section 3.11). */
	make("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"1\"}", cl, tok,
	    sizeof tok);
	REJECT(tok, NOW, "typ JWT");
	make("{\"alg\":\"HS256\",\"typ\":\"ws+jwt\",\"kid\":\"1\"}", cl, tok,
	    sizeof tok);
	REJECT(tok, NOW, "typ of another token kind");
	make("{\"alg\":\"HS256\",\"kid\":\"1\"}", cl, tok, sizeof tok);
	REJECT(tok, NOW, "no typ");

	/* Forbidden and unknown header parameters (section 3.10). */
	make("{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"1\","
	    "\"crit\":[\"exp\"]}", cl, tok, sizeof tok);
	REJECT(tok, NOW, "crit header");
	make("{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"1\","
	    "\"jku\":\"https://evil.example/k\"}", cl, tok, sizeof tok);
	REJECT(tok, NOW, "jku header");
	make("{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"1\","
	    "\"x5c\":[]}", cl, tok, sizeof tok);
	REJECT(tok, NOW, "x5c header");
	make("{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"1\","
	    "\"kid\\u0000x\":\"1\"}", cl, tok, sizeof tok);
	REJECT(tok, NOW, "header name with an embedded NUL");

	/* kid (SEC-JWT-05): unknown, malformed, missing. */
	make("{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"99\"}", cl, tok,
	    sizeof tok);
	REJECT(tok, NOW, "unknown kid");
	make("{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"01\"}", cl, tok,
	    sizeof tok);
	REJECT(tok, NOW, "kid 01");
	make("{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":1}", cl, tok,
	    sizeof tok);
	REJECT(tok, NOW, "kid as a number");
	make("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", cl, tok, sizeof tok);
	REJECT(tok, NOW, "no kid (no default key)");
	make("{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"4294967297\"}",
	    cl, tok, sizeof tok);
	REJECT(tok, NOW, "kid 2^32+1 (does not wrap to 1)");

	make("[1,2]", cl, tok, sizeof tok);
	REJECT(tok, NOW, "header not an object");
	make(HDR " {}", cl, tok, sizeof tok);
	REJECT(tok, NOW, "header with trailing JSON");
}

/* Replace the first from in s by to; 0 when found. */
static int
replace1(char *s, char from, char to)
{
	char *p = strchr(s, from);

	if (p == NULL)
		return -1;
	*p = to;
	return 0;
}

static int
b64url_index(char ch)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
	    "wxyz0123456789-_";
	const char *p = strchr(a, ch);

	return p && ch ? (int)(p - a) : -1;
}

static char
b64url_char(int i)
{
	return "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	    [i];
}

static void
test_base64(void)
{
	char cl[2048], tok[4096], h64[256], p64[2048], mut[8192];
	char extra[256];
	size_t len;
	int found;

	b64u(HDR, strlen(HDR), h64, sizeof h64);

	/* '=' padding on a segment whose length is not a multiple of 4. */
	good_claims(cl, sizeof cl);
	b64u(cl, strlen(cl), p64, sizeof p64);
	len = strlen(h64);
	ok(len % 4 != 0, "header segment needs padding (len %zu)", len);
	snprintf(mut, sizeof mut, "%s%s", h64, len % 4 == 2 ? "==" : "=");
	sign_raw(kr, 1, mut, p64, tok, sizeof tok);
	REJECT(tok, NOW, "padded header segment (SEC-JWT-03)");
	sign_raw(kr, 1, h64, p64, tok, sizeof tok);
	ACCEPT(tok, NOW, "control: unpadded");
	len = strlen(tok);
	snprintf(mut, sizeof mut, "%s=", tok);
	REJECT(mut, NOW, "padded signature segment");

	/* '+' and '/': claims whose base64url holds '-' and '_'. */
	found = 0;
	for (int pad = 0; pad < 3 && !found; pad++) {
		snprintf(extra, sizeof extra, ",\"x\":\"%.*s>>>???\"", pad,
		    "..");
		claims(cl, sizeof cl, VC_JWT_ISS, VC_JWT_AUD, NOW, NOW,
		    NOW + 900, extra);
		b64u(cl, strlen(cl), p64, sizeof p64);
		found = strchr(p64, '-') != NULL && strchr(p64, '_') != NULL;
	}
	ok(found, "found claims encoding to '-' and '_'");
	sign_raw(kr, 1, h64, p64, tok, sizeof tok);
	ACCEPT(tok, NOW, "control: claims with '-' and '_'");
	snprintf(mut, sizeof mut, "%s", p64);
	replace1(mut, '-', '+');
	sign_raw(kr, 1, h64, mut, tok, sizeof tok);
	REJECT(tok, NOW, "'+' in a segment");
	snprintf(mut, sizeof mut, "%s", p64);
	replace1(mut, '_', '/');
	sign_raw(kr, 1, h64, mut, tok, sizeof tok);
	REJECT(tok, NOW, "'/' in a segment");

	/* Whitespace inside a segment. */
	good_claims(cl, sizeof cl);
	b64u(cl, strlen(cl), p64, sizeof p64);
	snprintf(mut, sizeof mut, "%.12s %s", p64, p64 + 12);
	sign_raw(kr, 1, h64, mut, tok, sizeof tok);
	REJECT(tok, NOW, "space in a segment");
	snprintf(mut, sizeof mut, "%.12s\n%s", p64, p64 + 12);
	sign_raw(kr, 1, h64, mut, tok, sizeof tok);
	REJECT(tok, NOW, "newline in a segment");
	snprintf(mut, sizeof mut, " %s", h64);
	sign_raw(kr, 1, mut, p64, tok, sizeof tok);
	REJECT(tok, NOW, "leading space in the header segment");

	/*
	 * Non-zero trailing bits.  The signature is 43 characters: its last
	 * carries 2 unused bits, so flipping the lowest changes nothing a
	 * lenient decoder would see.  The MAC stays right; only strictness
	 * rejects it.
	 */
	sign_raw(kr, 1, h64, p64, tok, sizeof tok);
	len = strlen(tok);
	snprintf(mut, sizeof mut, "%s", tok);
	mut[len - 1] = b64url_char(b64url_index(mut[len - 1]) ^ 1);
	REJECT(mut, NOW, "non-zero trailing bits in the signature");
	/* The same in the claims segment, re-signed. */
	found = 0;
	for (int pad = 0; pad < 4 && !found; pad++) {
		snprintf(extra, sizeof extra, ",\"x\":\"%.*s\"", pad, "...");
		claims(cl, sizeof cl, VC_JWT_ISS, VC_JWT_AUD, NOW, NOW,
		    NOW + 900, extra);
		b64u(cl, strlen(cl), p64, sizeof p64);
		found = strlen(p64) % 4 != 0;
	}
	ok(found, "found claims with unused trailing bits");
	sign_raw(kr, 1, h64, p64, tok, sizeof tok);
	ACCEPT(tok, NOW, "control: claims with trailing bits zero");
	len = strlen(p64);
	p64[len - 1] = b64url_char(b64url_index(p64[len - 1]) ^ 1);
	sign_raw(kr, 1, h64, p64, tok, sizeof tok);
	REJECT(tok, NOW, "non-zero trailing bits in the claims");

	/* A flipped signature character. */
	good_claims(cl, sizeof cl);
	make(HDR, cl, tok, sizeof tok);
	snprintf(mut, sizeof mut, "%s", tok);
	len = strlen(mut);
	mut[len - 10] = mut[len - 10] == 'A' ? 'B' : 'A';
	REJECT(mut, NOW, "flipped signature character");
	snprintf(mut, sizeof mut, "%s", tok);
	mut[3] = mut[3] == 'A' ? 'B' : 'A';
	REJECT(mut, NOW, "flipped header character");
	snprintf(mut, sizeof mut, "%s", tok);
	mut[len - 1] = '\0';
	REJECT(mut, NOW, "signature one character short");

	/* Structure. */
	snprintf(mut, sizeof mut, "%s.", tok);
	REJECT(mut, NOW, "three dots (trailing)");
	snprintf(mut, sizeof mut, "%s", tok);
	*strrchr(mut, '.') = '\0';
	REJECT(mut, NOW, "one dot");
	b64u(cl, strlen(cl), p64, sizeof p64);
	snprintf(mut, sizeof mut, "%s", h64);
	strncat(mut, ".", sizeof mut - strlen(mut) - 1);
	strncat(mut, p64, sizeof mut - strlen(mut) - 1);
	strncat(mut, ".", sizeof mut - strlen(mut) - 1);
	strncat(mut, p64, sizeof mut - strlen(mut) - 1);
	sign_raw(kr, 1, h64, mut + strlen(h64) + 1, tok, sizeof tok);
	REJECT(tok, NOW, "three dots (four segments, MAC over the first two)");
	REJECT("", NOW, "empty token");
	REJECT("..", NOW, "empty segments");
	ok(vc_jwt_verify(kr, NULL, NOW, &(struct vc_jwt_claims){ 0 },
	    NULL) == -1, "NULL token");
}

static void
test_claims(void)
{
	char cl[1024], tok[4096];
	const long long n = NOW;

	claims(cl, sizeof cl, "someone-else", VC_JWT_AUD, n, n, n + 900, "");
	make(HDR, cl, tok, sizeof tok);
	REJECT(tok, n, "wrong iss");
	claims(cl, sizeof cl, VC_JWT_ISS, "vc-ws", n, n, n + 900, "");
	make(HDR, cl, tok, sizeof tok);
	REJECT(tok, n, "wrong aud (SEC-JWT-07)");
	make(HDR, "{\"iss\":\"velocicompanion\",\"sub\":\"" SUB "\",\"tid\":\""
	    TID "\",\"role\":\"analyst\",\"jti\":\"" JTI "\",\"iat\":1764286530,"
	    "\"nbf\":1764286530,\"exp\":1764287430,\"sv\":3}", tok, sizeof tok);
	REJECT(tok, n, "no aud");

	/* exp, with 60 s of skew (SEC-JWT-04). */
	claims(cl, sizeof cl, VC_JWT_ISS, VC_JWT_AUD, n - 961, n - 961, n - 61,
	    "");
	make(HDR, cl, tok, sizeof tok);
	REJECT(tok, n, "exp 61 s in the past");
	claims(cl, sizeof cl, VC_JWT_ISS, VC_JWT_AUD, n - 959, n - 959, n - 59,
	    "");
	make(HDR, cl, tok, sizeof tok);
	ACCEPT(tok, n, "exp 59 s in the past (skew)");
	claims(cl, sizeof cl, VC_JWT_ISS, VC_JWT_AUD, n, n, n + 900, "");
	make(HDR, cl, tok, sizeof tok);
	REJECT(tok, n + 961, "signed token at exp + 61 s");

	/* nbf and iat. */
	claims(cl, sizeof cl, VC_JWT_ISS, VC_JWT_AUD, n, n + 61, n + 900, "");
	make(HDR, cl, tok, sizeof tok);
	REJECT(tok, n, "nbf 61 s in the future");
	claims(cl, sizeof cl, VC_JWT_ISS, VC_JWT_AUD, n, n + 59, n + 900, "");
	make(HDR, cl, tok, sizeof tok);
	ACCEPT(tok, n, "nbf 59 s in the future (skew)");
	claims(cl, sizeof cl, VC_JWT_ISS, VC_JWT_AUD, n + 61, n, n + 900, "");
	make(HDR, cl, tok, sizeof tok);
	REJECT(tok, n, "iat 61 s in the future");

	/* Lifetime. */
	claims(cl, sizeof cl, VC_JWT_ISS, VC_JWT_AUD, n, n, n + 901, "");
	make(HDR, cl, tok, sizeof tok);
	REJECT(tok, n, "exp - iat = 901");
	claims(cl, sizeof cl, VC_JWT_ISS, VC_JWT_AUD, n, n, n + 900, "");
	make(HDR, cl, tok, sizeof tok);
	ACCEPT(tok, n, "exp - iat = 900");
	claims(cl, sizeof cl, VC_JWT_ISS, VC_JWT_AUD, n, n, n - 1, "");
	make(HDR, cl, tok, sizeof tok);
	REJECT(tok, n - 30, "exp before iat");

	/* Types and presence. */
	make(HDR, "{\"iss\":\"velocicompanion\",\"aud\":\"vc-api\",\"sub\":\""
	    SUB "\",\"tid\":\"" TID "\",\"role\":\"analyst\",\"iat\":1764286530,"
	    "\"nbf\":1764286530,\"exp\":1764287430,\"sv\":3}", tok, sizeof tok);
	REJECT(tok, n, "no jti");
	make(HDR, "{\"iss\":\"velocicompanion\",\"aud\":\"vc-api\",\"sub\":\""
	    SUB "\",\"tid\":\"" TID "\",\"role\":\"analyst\",\"jti\":\"" JTI
	    "\",\"iat\":1764286530,\"nbf\":1764286530,\"exp\":1764287430}",
	    tok, sizeof tok);
	REJECT(tok, n, "no sv");
	make(HDR, "{\"iss\":\"velocicompanion\",\"aud\":\"vc-api\",\"tid\":\""
	    TID "\",\"role\":\"analyst\",\"jti\":\"" JTI "\",\"iat\":1764286530,"
	    "\"nbf\":1764286530,\"exp\":1764287430,\"sv\":3}", tok, sizeof tok);
	REJECT(tok, n, "no sub");
	make(HDR, "{\"iss\":\"velocicompanion\",\"aud\":\"vc-api\",\"sub\":\""
	    SUB "\",\"role\":\"analyst\",\"jti\":\"" JTI "\",\"iat\":1764286530,"
	    "\"nbf\":1764286530,\"exp\":1764287430,\"sv\":3}", tok, sizeof tok);
	REJECT(tok, n, "no tid");
	make(HDR, "{\"iss\":\"velocicompanion\",\"aud\":\"vc-api\",\"sub\":\""
	    SUB "\",\"tid\":\"" TID "\",\"jti\":\"" JTI "\",\"iat\":1764286530,"
	    "\"nbf\":1764286530,\"exp\":1764287430,\"sv\":3}", tok, sizeof tok);
	REJECT(tok, n, "no role");
	make(HDR, "{\"iss\":\"velocicompanion\",\"aud\":\"vc-api\",\"sub\":\""
	    SUB "\",\"tid\":\"" TID "\",\"role\":\"analyst\",\"jti\":\"" JTI
	    "\",\"iat\":1764286530,\"nbf\":1764286530,\"sv\":3}", tok,
	    sizeof tok);
	REJECT(tok, n, "no exp");
	make(HDR, "{\"iss\":\"velocicompanion\",\"aud\":\"vc-api\",\"sub\":\""
	    SUB "\",\"tid\":\"" TID "\",\"role\":\"analyst\",\"jti\":\"" JTI
	    "\",\"iat\":1764286530,\"nbf\":1764286530,\"exp\":\"1764287430\","
	    "\"sv\":3}", tok, sizeof tok);
	REJECT(tok, n, "exp as a string");
	make(HDR, "{\"iss\":\"velocicompanion\",\"aud\":\"vc-api\",\"sub\":\""
	    SUB "\",\"tid\":\"" TID "\",\"role\":\"analyst\",\"jti\":\"" JTI
	    "\",\"iat\":1764286530,\"nbf\":1764286530,\"exp\":1764287430.5,"
	    "\"sv\":3}", tok, sizeof tok);
	REJECT(tok, n, "exp not an integer");
	make(HDR, "{\"iss\":\"velocicompanion\",\"aud\":\"vc-api\",\"sub\":\""
	    SUB "x\",\"tid\":\"" TID "\",\"role\":\"analyst\",\"jti\":\"" JTI
	    "\",\"iat\":1764286530,\"nbf\":1764286530,\"exp\":1764287430,"
	    "\"sv\":3}", tok, sizeof tok);
	REJECT(tok, n, "sub longer than an id");
	make(HDR, "{\"iss\":\"velocicompanion\",\"aud\":[\"vc-api\"],\"sub\":\""
	    SUB "\",\"tid\":\"" TID "\",\"role\":\"analyst\",\"jti\":\"" JTI
	    "\",\"iat\":1764286530,\"nbf\":1764286530,\"exp\":1764287430,"
	    "\"sv\":3}", tok, sizeof tok);
	REJECT(tok, n, "aud as an array (we only issue a string)");
	make(HDR, "\"claims\"", tok, sizeof tok);
	REJECT(tok, n, "claims not an object");
	make(HDR, "{\"iss\":", tok, sizeof tok);
	REJECT(tok, n, "truncated claims JSON");
}

static void
test_size(void)
{
	static char cl[16384], tok[16384], extra[12288];
	static char last_ok[16384];
	size_t pad, len = 0;

	/* Grow a padding claim until the token passes VC_JWT_MAX. */
	last_ok[0] = '\0';
	for (pad = 5500; pad < 7000; pad++) {
		memset(extra, 0, sizeof extra);
		memcpy(extra, ",\"x\":\"", 6);
		memset(extra + 6, 'x', pad);
		extra[6 + pad] = '"';
		claims(cl, sizeof cl, VC_JWT_ISS, VC_JWT_AUD, NOW, NOW,
		    NOW + 900, extra);
		make(HDR, cl, tok, sizeof tok);
		len = strlen(tok);
		if (len > VC_JWT_MAX)
			break;
		memcpy(last_ok, tok, len + 1);
	}
	ok(len > VC_JWT_MAX && len <= VC_JWT_MAX + 2,
	    "built a token of %zu bytes", len);
	ok(strlen(last_ok) >= VC_JWT_MAX - 1, "and one of %zu bytes",
	    strlen(last_ok));
	ACCEPT(last_ok, NOW, "token of <= 8192 bytes accepted");
	REJECT(tok, NOW, "token of > 8192 bytes rejected");
}

/* Rewrite the key file without the line of key id. */
static int
drop_key(const char *path, unsigned id)
{
	char text[4096], prefix[16], out[4096] = "";
	FILE *f = fopen(path, "r");
	size_t n, plen;
	char *line, *nl;

	if (f == NULL)
		return -1;
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	snprintf(prefix, sizeof prefix, "%u:", id);
	plen = strlen(prefix);
	for (line = text; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line) - 1;
		if (strncmp(line, prefix, plen) == 0)
			continue;
		strncat(out, line, (size_t)(nl - line) + 1);
	}
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(out, f);
	sodium_memzero(text, sizeof text);
	sodium_memzero(out, sizeof out);
	return fclose(f);
}

static void
test_rotation(void)
{
	vc_ctx ctx;
	struct vc_keyring *kr2 = NULL, *kr3 = NULL;
	struct vc_jwt_claims c = { 0 }, got;
	char tok1[1024], tok2[1024], hdr[256];
	const char *why;
	size_t hn;

	vc_ctx_init(&ctx);
	snprintf(c.sub, sizeof c.sub, "%s", SUB);
	snprintf(c.tid, sizeof c.tid, "%s", TID);
	snprintf(c.role, sizeof c.role, "%s", "viewer");
	snprintf(c.jti, sizeof c.jti, "%s", JTI);
	c.iat = c.nbf = NOW;
	c.exp = NOW + VC_JWT_TTL;
	c.sv = 1;
	is_int(vc_jwt_sign(kr, &c, tok1, sizeof tok1), 0, "sign with key 1");

	is_int(vc_keyring_rotate(&ctx, keypath), 0, "rotate");
	is_int(vc_keyring_load(&ctx, keypath, &kr2), 0, "load rotated ring");
	is_int(vc_keyring_newest(kr2), 2, "newest key is 2");
	is_int(vc_jwt_verify(kr2, tok1, NOW, &got, &why), 0,
	    "key-1 token still verifies after rotation");
	is_int(vc_jwt_sign(kr2, &c, tok2, sizeof tok2), 0, "sign with ring 2");
	sodium_base642bin((unsigned char *)hdr, sizeof hdr - 1, tok2,
	    (size_t)(strchr(tok2, '.') - tok2), NULL, &hn, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	hdr[hn] = '\0';
	ok(strstr(hdr, "\"kid\":\"2\"") != NULL, "new token has kid 2: %s",
	    hdr);
	is_int(vc_jwt_verify(kr2, tok2, NOW, &got, &why), 0,
	    "kid-2 token verifies");
	ok(vc_jwt_verify(kr, tok2, NOW, &got, &why) == -1 &&
	    why != NULL && strcmp(why, "unknown kid") == 0,
	    "kid-2 token fails against the old ring: %s", why);

	is_int(drop_key(keypath, 1), 0, "remove key 1 from the file");
	is_int(vc_keyring_load(&ctx, keypath, &kr3), 0, "load ring 3");
	ok(kr3 != NULL && !vc_keyring_has(kr3, 1), "key 1 gone");
	ok(vc_jwt_verify(kr3, tok1, NOW, &got, &why) == -1 &&
	    why != NULL && strcmp(why, "unknown kid") == 0,
	    "key-1 token fails once key 1 is removed: %s", why);
	is_int(vc_jwt_verify(kr3, tok2, NOW, &got, &why), 0,
	    "kid-2 token still verifies");

	vc_keyring_free(kr2);
	vc_keyring_free(kr3);
	vc_ctx_release(&ctx);
}

int
main(void)
{
	vc_ctx ctx;
	int n;

	vc_ctx_init(&ctx);
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	n = snprintf(keypath, sizeof keypath, "%s/vc.key", dir);
	if (n < 0 || (size_t)n >= sizeof keypath ||
	    vc_keyring_create(&ctx, keypath) != 0 ||
	    vc_keyring_load(&ctx, keypath, &kr) != 0) {
		printf("Bail out! keyring: %s\n", ctx.errmsg);
		return 1;
	}
	test_rfc7515_a1();
	test_round_trip();
	test_alg_typ_kid();
	test_base64();
	test_claims();
	test_size();
	test_rotation();

	vc_keyring_free(kr);
	unlink(keypath);
	rmdir(dir);
	vc_ctx_release(&ctx);
	return done_testing();
}
