/* SPDX-License-Identifier: MIT */
/*
 * token.c - opaque random tokens, SHA-256 fingerprints, and secrets at
 * rest sealed with XChaCha20-Poly1305 (security.md sections 3 and 9).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "crypto/crypto.h"

#define TOKEN_RAND 32
#define SECRET_VER 1
#define SECRET_CONTEXT "vcsecret"
/* ver(1) | key_id(4) | nonce(24) */
#define SECRET_HDR (1 + 4 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
/* Secrets are credentials and TOTP seeds: a MiB is plenty, and the bound
 * keeps every size computation below far from overflow. */
#define SECRET_MAX (1024 * 1024)

void
vc_token_new(const char *prefix, char out[VC_TOKEN_MAX])
{
	unsigned char r[TOKEN_RAND];
	size_t plen = strlen(prefix);
	const size_t b64 = sodium_base64_ENCODED_LEN(TOKEN_RAND,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);

	/*
	 * The prefixes are constants of ours ("vcr_", "vcs_"): one that does
	 * not fit is a bug.  The interface has no error return, so hand back
	 * an empty string, which no token check accepts.
	 */
	if (plen + b64 > VC_TOKEN_MAX) {
		out[0] = '\0';
		return;
	}
	randombytes_buf(r, sizeof r);
	memcpy(out, prefix, plen);
	sodium_bin2base64(out + plen, VC_TOKEN_MAX - plen, r, sizeof r,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(r, sizeof r);
}

void
vc_sha256_hex(const char *s, size_t n, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)s, n);
	sodium_bin2hex(out, 65, h, sizeof h);
}

/*
 * The AEAD associated data: the blob's version and key id, then the
 * caller's context.  Binding the header means a blob cannot be relabelled
 * to another key id, and the caller's ad (tenant|secret|purpose) means a
 * ciphertext copied into another row does not open.  Returns a malloc'd
 * buffer or NULL.
 */
static unsigned char *
make_ad(const unsigned char hdr[5], const char *ad, size_t *adlen)
{
	size_t n = ad ? strlen(ad) : 0;
	unsigned char *buf;

	if (n > SECRET_MAX || (buf = malloc(5 + n)) == NULL)
		return NULL;
	memcpy(buf, hdr, 5);
	if (n > 0)
		memcpy(buf + 5, ad, n);
	*adlen = 5 + n;
	return buf;
}

int
vc_secret_seal(vc_ctx *ctx, const struct vc_keyring *kr, const char *ad,
    const void *plain, size_t n, char **out)
{
	unsigned char key[32], *blob = NULL, *adbuf = NULL;
	unsigned long long ctlen;
	size_t bloblen, adlen, b64len;
	uint32_t kid = vc_keyring_newest(kr), be = htonl(kid);
	int rc = 0;

	*out = NULL;
	if (n > SECRET_MAX)
		return vc_fail(ctx, VC_ETOOBIG,
		    "secret is larger than %d bytes", SECRET_MAX);
	bloblen = SECRET_HDR + n + crypto_aead_xchacha20poly1305_ietf_ABYTES;
	if ((blob = malloc(bloblen)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	blob[0] = SECRET_VER;
	memcpy(blob + 1, &be, 4);
	/* 24-byte random nonces: no counter to keep, no realistic reuse. */
	randombytes_buf(blob + 5, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	if ((adbuf = make_ad(blob, ad, &adlen)) == NULL) {
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
		goto out;
	}
	if (vc_keyring_subkey(kr, kid, SECRET_CONTEXT, key) != 0) {
		rc = vc_fail(ctx, VC_ECONFIG, "no key %u in the keyring",
		    (unsigned)kid);
		goto out;
	}
	crypto_aead_xchacha20poly1305_ietf_encrypt(blob + SECRET_HDR, &ctlen,
	    plain, n, adbuf, adlen, NULL, blob + 5, key);
	sodium_memzero(key, sizeof key);
	b64len = sodium_base64_ENCODED_LEN(bloblen,
	    sodium_base64_VARIANT_ORIGINAL);
	if ((*out = malloc(b64len)) == NULL) {
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
		goto out;
	}
	sodium_bin2base64(*out, b64len, blob, bloblen,
	    sodium_base64_VARIANT_ORIGINAL);
out:
	free(adbuf);
	free(blob);
	return rc;
}

int
vc_secret_open(vc_ctx *ctx, const struct vc_keyring *kr, const char *ad,
    const char *blob, char **out, size_t *n)
{
	unsigned char key[32], *bin = NULL, *adbuf = NULL;
	unsigned long long mlen;
	size_t b64len, binmax, binlen, adlen;
	uint32_t be, kid;
	char *plain = NULL;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (blob == NULL)
		return vc_fail(ctx, VC_EINVAL, "no secret blob");
	b64len = strnlen(blob, 2 * SECRET_MAX);
	if (b64len >= 2 * SECRET_MAX)
		return vc_fail(ctx, VC_EINVAL, "secret blob too long");
	binmax = b64len / 4 * 3 + 3;
	if ((bin = malloc(binmax)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	if (sodium_base642bin(bin, binmax, blob, b64len, NULL, &binlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    binlen < SECRET_HDR + crypto_aead_xchacha20poly1305_ietf_ABYTES ||
	    bin[0] != SECRET_VER) {
		rc = vc_fail(ctx, VC_EINVAL, "malformed secret blob");
		goto out;
	}
	memcpy(&be, bin + 1, 4);
	kid = ntohl(be);
	if (vc_keyring_subkey(kr, kid, SECRET_CONTEXT, key) != 0) {
		rc = vc_fail(ctx, VC_EINVAL, "secret was sealed with key %u, "
		    "which is not in the keyring", (unsigned)kid);
		goto out;
	}
	if ((adbuf = make_ad(bin, ad, &adlen)) == NULL) {
		sodium_memzero(key, sizeof key);
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
		goto out;
	}
	/* Guarded, wiped-on-free memory for the plaintext, plus a NUL. */
	*n = binlen - SECRET_HDR - crypto_aead_xchacha20poly1305_ietf_ABYTES;
	if ((plain = sodium_malloc(*n + 1)) == NULL) {
		sodium_memzero(key, sizeof key);
		*n = 0;
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
		goto out;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)plain,
	    &mlen, NULL, bin + SECRET_HDR, binlen - SECRET_HDR, adbuf, adlen,
	    bin + 5, key) != 0) {
		sodium_memzero(key, sizeof key);
		sodium_free(plain);
		*n = 0;
		rc = vc_fail(ctx, VC_EINVAL, "secret does not open with this "
		    "key and associated data");
		goto out;
	}
	sodium_memzero(key, sizeof key);
	plain[mlen] = '\0';
	*n = (size_t)mlen;
	*out = plain;
out:
	free(adbuf);
	free(bin);
	return rc;
}

void
vc_secret_free(char *p, size_t n)
{
	(void)n;        /* sodium_free wipes the whole allocation itself */
	if (p != NULL)
		sodium_free(p);
}

int
vc_secret_key_id(const char *blob, uint32_t *kid)
{
	unsigned char hdr[6];
	size_t n;
	uint32_t be;

	/* 8 base64 characters are exactly the first 6 bytes: ver, key id. */
	if (blob == NULL || strnlen(blob, 8) < 8 ||
	    sodium_base642bin(hdr, sizeof hdr, blob, 8, NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || n != 6 ||
	    hdr[0] != SECRET_VER)
		return -1;
	memcpy(&be, hdr + 1, 4);
	*kid = ntohl(be);
	return 0;
}
