/* SPDX-License-Identifier: MIT */
/*
 * crypto.h - the installation keyring, JWT (HS256), passwords (argon2id),
 * opaque tokens and secrets at rest.  All of it on libsodium.
 *
 * Ownership: a vc_keyring is made by vc_keyring_load/create and freed by
 * vc_keyring_free, which wipes the keys (they live in sodium_malloc'd
 * memory).  Every buffer that held a secret is wiped with sodium_memzero
 * by the function that filled a temporary copy of it.
 */
#ifndef VC_CRYPTO_H
#define VC_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include "core/vc.h"

/* ---- keyring: the installation key file ------------------------------ */
/*
 * The key file holds one line per key, "ID:BASE64" (ID a decimal number
 * >= 1, BASE64 standard base64 of 32 random bytes), optionally followed
 * by " created=SECONDS" (files of earlier versions have no times and load
 * as they are).  The highest ID is the newest key: it signs and seals;
 * older ones only verify and open.  A retired key keeps its line, as
 * "ID:- created=S retired=S audit=BASE64": only its audit subkey, so the
 * audit records it signed still verify, while it can neither sign a
 * token nor open a secret; its id is never used again.  The file must be
 * a regular file of mode 0600 or 0400 owned by the process's uid, else
 * loading fails with VC_ECONFIG naming the problem.  Rotation and
 * retirement rewrite it atomically (a temporary file beside it, fsync,
 * rename, fsync of the directory) under an exclusive flock.
 */
struct vc_keyring;

enum { VC_KEY_ACTIVE = 0, VC_KEY_VERIFY, VC_KEY_RETIRED };
struct vc_key_info {
	uint32_t id;
	int64_t created;        /* seconds; 0 when unknown */
	int64_t retired;        /* seconds; 0 when not retired */
	int state;              /* VC_KEY_* */
};

int vc_keyring_create(vc_ctx *ctx, const char *path);   /* O_EXCL, 0600, one key, id 1 */
int vc_keyring_load(vc_ctx *ctx, const char *path, struct vc_keyring **out);
/* Load a ring from b64, standard base64 of key file text (line breaks
 * allowed); name ("VC_MASTER_KEY") is what messages call it. */
int vc_keyring_load_base64(vc_ctx *ctx, const char *name, const char *b64,
    struct vc_keyring **out);
int vc_keyring_rotate(vc_ctx *ctx, const char *path);   /* add key newest+1 */
/* Retire key kid in the file: VC_ENOTFOUND, or VC_ECONFLICT when it is
 * the newest or already retired.  Whether anything still uses it is the
 * caller's question (lib/secrets.c). */
int vc_keyring_retire(vc_ctx *ctx, const char *path, uint32_t kid);
void vc_keyring_free(struct vc_keyring *kr);
uint32_t vc_keyring_newest(const struct vc_keyring *kr);
/* 1 when kid is a live (not retired) key of the ring. */
int vc_keyring_has(const struct vc_keyring *kr, uint32_t kid);
/* The keys in id order: count, and the i-th one's public facts (never
 * key material).  info returns -1 when i is out of range. */
size_t vc_keyring_count(const struct vc_keyring *kr);
/* 1 when a and b hold the same keys (ids, states and material, compared
 * in constant time), else 0. */
int vc_keyring_same(const struct vc_keyring *a, const struct vc_keyring *b);
int vc_keyring_info(const struct vc_keyring *kr, size_t i,
    struct vc_key_info *info);
/* Creation time of key kid: 0 when unknown, -1 when not in the ring. */
int64_t vc_keyring_created(const struct vc_keyring *kr, uint32_t kid);
/* A key id (n bytes of s): 1 to 10 decimal digits, >= 1, fits in 32 bits.
 * Returns 0 with *id, or -1. */
int vc_keyring_parse_id(const char *s, size_t n, uint32_t *id);
/*
 * Derive a 32-byte subkey of key kid for a purpose given as an 8-byte
 * context: "vcjwt___", "vcaudit_", "vcsecret", "vctotp__".  Returns 0, or
 * -1 when kid is not in the ring (a retired key: any context but
 * "vcaudit_").
 */
int vc_keyring_subkey(const struct vc_keyring *kr, uint32_t kid,
    const char context[8], unsigned char out[32]);

/* ---- JWT access tokens (RFC 7519, HS256 only; security.md section 2) ---- */
#define VC_JWT_ISS "velocicompanion"
#define VC_JWT_AUD "vc-api"
#define VC_JWT_TTL 900                  /* seconds */
#define VC_JWT_SKEW 60                  /* seconds */
#define VC_JWT_MAX 8192                 /* bytes of a token we will look at */

struct vc_jwt_claims {
	char sub[VC_ID_LEN + 1];        /* user id */
	char tid[VC_ID_LEN + 1];        /* tenant id */
	char role[16];                  /* viewer|analyst|admin|superadmin */
	char jti[VC_ID_LEN + 1];
	int64_t iat, nbf, exp;
	int64_t sv;                     /* users.token_version */
};

/*
 * Sign claims with the newest key (header {"alg":"HS256","typ":"at+jwt",
 * "kid":"<id>"}; iss and aud added).  out gets the compact token, NUL
 * terminated.  Returns 0, or -1 when out is too small.
 */
int vc_jwt_sign(const struct vc_keyring *kr, const struct vc_jwt_claims *c,
    char *out, size_t outsz);
/*
 * Verify a compact token at time now: size, strict base64url, header
 * (alg HS256 exactly, typ at+jwt, no crit/jku/jwk/x5u/x5c, kid in ring),
 * constant-time HMAC, then iss, aud, exp/nbf/iat with VC_JWT_SKEW and
 * exp - iat <= VC_JWT_TTL.  Returns 0 and fills *c, or -1; why (may be
 * NULL) gets a short reason for the audit log, never for the client.
 */
int vc_jwt_verify(const struct vc_keyring *kr, const char *token, int64_t now,
    struct vc_jwt_claims *c, const char **why);
/* HMAC-SHA256 with a key of any length (the RFC 7515 A.1 key is 64 bytes). */
void vc_hmac_sha256(const unsigned char *key, size_t keylen,
    const void *msg, size_t msglen, unsigned char mac[32]);

/* ---- passwords (security.md section 1) --------------------------------- */
#define VC_PW_MIN_CHARS 12
#define VC_PW_MAX_CHARS 128
#define VC_PW_MAX_BYTES 512
#define VC_PW_HASH_MAX 128              /* crypto_pwhash_STRBYTES */

/*
 * Validate and NFC-normalise a password: valid UTF-8, no NUL, 12..128 code
 * points after NFC, at most 512 bytes, not on the built-in common list.
 * On success nfc holds the normalised text (caller wipes it).  Returns 0
 * or VC_EINVAL with a message in ctx that never contains the password.
 */
int vc_password_normalize(vc_ctx *ctx, const char *pw, char *nfc, size_t nfcsz);
/* Normalise (as above) and hash with argon2id, INTERACTIVE limits. */
int vc_password_hash(vc_ctx *ctx, const char *pw, char out[VC_PW_HASH_MAX]);
/*
 * Verify pw against hash.  hash NULL (unknown user) still runs a verify
 * against a dummy hash so that timing is the same, and fails.  On success
 * *rehash is set when the hash's parameters are not the current ones.
 * Returns 0 when it matches, VC_EAUTH when not, VC_ETEMP when too many
 * hashes are already running in this process (cap: number of CPUs).
 */
int vc_password_verify(vc_ctx *ctx, const char *hash, const char *pw, int *rehash);

/* ---- opaque tokens ---------------------------------------------------- */
#define VC_TOKEN_MAX 64
/* prefix ("vcr_", "vcs_") + base64url, no padding, of 32 random bytes. */
void vc_token_new(const char *prefix, char out[VC_TOKEN_MAX]);
/* SHA-256 of s as 64 lowercase hex digits. */
void vc_sha256_hex(const char *s, size_t n, char out[65]);

/* ---- secrets at rest (security.md section 9) -------------------------- */
/*
 * Seal plaintext with XChaCha20-Poly1305 under the newest key's
 * "vcsecret" subkey, with associated data ad (e.g. "tenant|secret|purpose").
 * The blob is base64 text of ver(1) | key_id(4, big endian) | nonce(24) |
 * ciphertext; *out is malloc'd.  vc_secret_open reverses it and fails with
 * VC_EINVAL when the blob, the key or the associated data do not match;
 * *out is sodium_malloc'd plaintext plus a NUL, freed with vc_secret_free.
 */
int vc_secret_seal(vc_ctx *ctx, const struct vc_keyring *kr, const char *ad,
    const void *plain, size_t n, char **out);
int vc_secret_open(vc_ctx *ctx, const struct vc_keyring *kr, const char *ad,
    const char *blob, char **out, size_t *n);
void vc_secret_free(char *p, size_t n);
/* The key id a sealed blob names in its header (no key needed): 0 with
 * *kid, or -1 when blob is not a sealed secret. */
int vc_secret_key_id(const char *blob, uint32_t *kid);

#endif
