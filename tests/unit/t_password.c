/* SPDX-License-Identifier: MIT */
/*
 * t_password.c - password policy, NFC, argon2id hashing and verification
 * (security.md section 1; SEC-PW-01..04, 06).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "tap.h"

static int leaks;       /* error messages that quoted the password */

/* n code points: the printable ASCII cycle, or a repeated UTF-8 unit. */
static void
make_pw(char *out, size_t outsz, size_t n, const char *unit)
{
	size_t len = 0, ul = unit ? strlen(unit) : 1;

	for (size_t i = 0; i < n; i++) {
		if (len + ul + 1 > outsz)
			abort();
		if (unit != NULL)
			memcpy(out + len, unit, ul);
		else
			out[len] = (char)('!' + (i * 7) % 94);
		len += ul;
	}
	out[len] = '\0';
}

/* Normalise pw; check the result code and that the message never holds
 * the password. */
static int
norm(const char *pw, char *nfc, size_t nfcsz, vc_ctx *ctx)
{
	int rc;

	ctx->errmsg[0] = '\0';
	rc = vc_password_normalize(ctx, pw, nfc, nfcsz);
	if (rc != 0 && *pw != '\0' && strstr(ctx->errmsg, pw) != NULL)
		leaks++;
	return rc;
}

static void
test_policy(void)
{
	vc_ctx ctx;
	char pw[1024], nfc[VC_PW_MAX_BYTES + 1];
	int rc;

	vc_ctx_init(&ctx);
	make_pw(pw, sizeof pw, 11, NULL);
	rc = norm(pw, nfc, sizeof nfc, &ctx);
	is_int(rc, VC_EINVAL, "11 characters rejected (SEC-PW-03)");
	ok(strstr(ctx.errmsg, pw) == NULL && strstr(ctx.errmsg, "12"),
	    "message names the rule, not the password: %s", ctx.errmsg);
	make_pw(pw, sizeof pw, 12, NULL);
	is_int(norm(pw, nfc, sizeof nfc, &ctx), 0, "12 characters accepted");
	is_str(nfc, pw, "ASCII is its own NFC");
	make_pw(pw, sizeof pw, 128, NULL);
	is_int(norm(pw, nfc, sizeof nfc, &ctx), 0, "128 characters accepted");
	make_pw(pw, sizeof pw, 129, NULL);
	rc = norm(pw, nfc, sizeof nfc, &ctx);
	is_int(rc, VC_EINVAL, "129 characters rejected");
	ok(strstr(ctx.errmsg, pw) == NULL, "message holds no password: %s",
	    ctx.errmsg);

	/* Code points, not bytes. */
	make_pw(pw, sizeof pw, 12, "\xc3\xa9");            /* é, 2 bytes */
	is_int(norm(pw, nfc, sizeof nfc, &ctx), 0, "12 x U+00E9 accepted");
	make_pw(pw, sizeof pw, 11, "\xc3\xa9");
	is_int(norm(pw, nfc, sizeof nfc, &ctx), VC_EINVAL,
	    "11 x U+00E9 (22 bytes) rejected");
	make_pw(pw, sizeof pw, 128, "\xf0\x9f\xa6\x96");   /* 4 bytes each */
	is_int(norm(pw, nfc, sizeof nfc, &ctx), 0,
	    "128 x U+1F996 (512 bytes) accepted");
	make_pw(pw, sizeof pw, 129, "\xf0\x9f\xa6\x96");
	is_int(norm(pw, nfc, sizeof nfc, &ctx), VC_EINVAL,
	    "129 x U+1F996 (516 bytes) rejected");
	/* 12 NFD "é" are 24 code points but 12 after NFC. */
	make_pw(pw, sizeof pw, 12, "e\xcc\x81");
	is_int(norm(pw, nfc, sizeof nfc, &ctx), 0,
	    "12 NFD e-acute count as 12 after NFC");
	make_pw(pw, sizeof pw, 12, "\xc3\xa9");
	is_str(nfc, pw, "NFD normalised to NFC (SEC-PW-04)");
	/* 11 NFD é: 22 code points before NFC, 11 after. */
	make_pw(pw, sizeof pw, 11, "e\xcc\x81");
	is_int(norm(pw, nfc, sizeof nfc, &ctx), VC_EINVAL,
	    "11 NFD e-acute rejected (counted after NFC)");

	/* Malformed UTF-8. */
	is_int(norm("abcdefghijk\xff" "lmnop", nfc, sizeof nfc, &ctx),
	    VC_EINVAL, "invalid UTF-8 (0xff) rejected");
	ok(strstr(ctx.errmsg, "UTF-8") != NULL, "says UTF-8: %s", ctx.errmsg);
	is_int(norm("abcdefghijkl\xc0\xaf", nfc, sizeof nfc, &ctx), VC_EINVAL,
	    "overlong encoding rejected");
	is_int(norm("abcdefghijkl\xed\xa0\x80", nfc, sizeof nfc, &ctx),
	    VC_EINVAL, "encoded surrogate rejected");
	is_int(norm("abcdefghijkl\xe2\x82", nfc, sizeof nfc, &ctx), VC_EINVAL,
	    "truncated sequence rejected");
	is_int(norm("", nfc, sizeof nfc, &ctx), VC_EINVAL, "empty rejected");
	is_int(vc_password_normalize(&ctx, NULL, nfc, sizeof nfc), VC_EINVAL,
	    "NULL rejected");

	/* Common passwords, any case. */
	is_int(norm("password1234", nfc, sizeof nfc, &ctx), VC_EINVAL,
	    "common password rejected");
	ok(strstr(ctx.errmsg, "common") != NULL &&
	    strstr(ctx.errmsg, "password1234") == NULL, "says why: %s",
	    ctx.errmsg);
	is_int(norm("PassWord1234", nfc, sizeof nfc, &ctx), VC_EINVAL,
	    "common password in another case rejected");
	is_int(norm("QWERTYUIOPAS", nfc, sizeof nfc, &ctx), VC_EINVAL,
	    "qwertyuiopas rejected");
	is_int(norm("123456789012", nfc, sizeof nfc, &ctx), VC_EINVAL,
	    "123456789012 rejected");
	is_int(norm("passwordpassword", nfc, sizeof nfc, &ctx), VC_EINVAL,
	    "passwordpassword rejected");
	is_int(norm("password1234!", nfc, sizeof nfc, &ctx), 0,
	    "a longer variant is not on the list");

	/* Output buffer too small is an error, never a truncation. */
	is_int(norm("correct horse battery", nfc, 10, &ctx), VC_EINTERNAL,
	    "small output buffer refused");
	vc_ctx_release(&ctx);
}

static void
test_hash_verify(void)
{
	vc_ctx ctx;
	char h[VC_PW_HASH_MAX], h2[VC_PW_HASH_MAX], a[1024], b[1024];
	const char *pw = "correct horse battery staple";
	int rehash = -7, rc;

	vc_ctx_init(&ctx);
	is_int(vc_password_hash(&ctx, pw, h), 0, "hash");
	ok(strncmp(h, "$argon2id$v=19$m=65536,t=2,p=1$", 31) == 0,
	    "argon2id, m=65536, t=2, p=1 (SEC-PW-01): %.31s", h);
	ok(strstr(h, pw) == NULL, "hash does not hold the password");
	is_int(vc_password_hash(&ctx, pw, h2), 0, "hash again");
	ok(strcmp(h, h2) != 0, "random salt: two hashes differ");

	is_int(vc_password_verify(&ctx, h, pw, &rehash), 0, "verify");
	is_int(rehash, 0, "current parameters: no rehash");
	rc = vc_password_verify(&ctx, h, "correct horse battery stapler",
	    &rehash);
	is_int(rc, VC_EAUTH, "wrong password: VC_EAUTH");
	ok(strstr(ctx.errmsg, "correct horse") == NULL,
	    "message holds no password: %s", ctx.errmsg);
	is_int(vc_password_verify(&ctx, h, pw, NULL), 0, "rehash may be NULL");

	/* Unknown user (SEC-PW-05 shape): a NULL hash fails. */
	rc = vc_password_verify(&ctx, NULL, pw, &rehash);
	is_int(rc, VC_EAUTH, "NULL hash: VC_EAUTH");
	is_int(rehash, 0, "no rehash on failure");
	is_int(vc_password_verify(&ctx, "not a hash", pw, &rehash), VC_EAUTH,
	    "garbage hash: VC_EAUTH");
	is_int(vc_password_verify(&ctx, "", pw, &rehash), VC_EAUTH,
	    "empty hash: VC_EAUTH");
	is_int(vc_password_verify(&ctx, h, "", &rehash), VC_EAUTH,
	    "empty password: VC_EAUTH");
	is_int(vc_password_verify(&ctx, h, "bad\xff utf-8 password", &rehash),
	    VC_EAUTH, "invalid UTF-8 at login: VC_EAUTH");
	is_int(vc_password_verify(&ctx, h, NULL, &rehash), VC_EAUTH,
	    "NULL password: VC_EAUTH");

	/* No truncation: differ only in the 128th character. */
	make_pw(a, sizeof a, 128, NULL);
	memcpy(b, a, sizeof b);
	b[127] = a[127] == 'x' ? 'y' : 'x';
	is_int(vc_password_hash(&ctx, a, h2), 0, "hash a 128-char password");
	is_int(vc_password_verify(&ctx, h2, a, &rehash), 0, "it verifies");
	is_int(vc_password_verify(&ctx, h2, b, &rehash), VC_EAUTH,
	    "a change in the 128th char fails (SEC-PW-03)");

	/* NFD and NFC (SEC-PW-04), both directions. */
	is_int(vc_password_hash(&ctx, "caf\xc3\xa9 au lait, s'il vous pla\xc3\xaet",
	    h2), 0, "hash NFC");
	is_int(vc_password_verify(&ctx, h2,
	    "cafe\xcc\x81 au lait, s'il vous plai\xcc\x82t", &rehash), 0,
	    "NFD verifies against the NFC hash");
	is_int(vc_password_hash(&ctx, "cafe\xcc\x81 au lait, merci bien", h2),
	    0, "register NFD");
	is_int(vc_password_verify(&ctx, h2, "caf\xc3\xa9 au lait, merci bien",
	    &rehash), 0, "log in with NFC");
	is_int(vc_password_verify(&ctx, h2, "cafe au lait, merci bien",
	    &rehash), VC_EAUTH, "without the accent: fails");

	/* Policy errors from hash never hold the password. */
	rc = vc_password_hash(&ctx, "shortpw", h2);
	is_int(rc, VC_EINVAL, "hash refuses a short password");
	ok(strstr(ctx.errmsg, "shortpw") == NULL, "message: %s", ctx.errmsg);
	is_str(h2, "", "and leaves no hash");
	is_int(vc_password_hash(&ctx, "Password1234", h2), VC_EINVAL,
	    "hash refuses a common password");

	/* Old parameters verify and ask for a rehash (SEC-PW-02). */
	ok(crypto_pwhash_str(h2, pw, strlen(pw), crypto_pwhash_OPSLIMIT_MIN,
	    crypto_pwhash_MEMLIMIT_MIN) == 0, "MIN-parameter hash");
	rehash = 0;
	is_int(vc_password_verify(&ctx, h2, pw, &rehash), 0,
	    "MIN-parameter hash verifies");
	is_int(rehash, 1, "and asks for a rehash");
	/* argon2i (another algorithm) also asks for a rehash. */
	ok(crypto_pwhash_argon2i_str(h2, pw, strlen(pw),
	    crypto_pwhash_argon2i_OPSLIMIT_MIN,
	    crypto_pwhash_argon2i_MEMLIMIT_MIN) == 0, "argon2i hash");
	rehash = 0;
	is_int(vc_password_verify(&ctx, h2, pw, &rehash), 0,
	    "argon2i hash verifies");
	is_int(rehash, 1, "and asks for a rehash");
	vc_ctx_release(&ctx);
}

struct worker {
	pthread_barrier_t *go;
	const char *hash;
	int rc;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	vc_ctx ctx;

	vc_ctx_init(&ctx);
	pthread_barrier_wait(w->go);
	w->rc = vc_password_verify(&ctx, w->hash,
	    "correct horse battery staple", NULL);
	vc_ctx_release(&ctx);
	return NULL;
}

/* SEC-PW-06: 4 x ncpu verifies at once; the excess is turned away. */
static void
test_cap(void)
{
	vc_ctx ctx;
	char h[VC_PW_HASH_MAX];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int n = (int)(ncpu < 1 ? 1 : ncpu) * 4, good = 0, busy = 0, other = 0;
	pthread_t *t = calloc((size_t)n, sizeof *t);
	struct worker *w = calloc((size_t)n, sizeof *w);
	pthread_barrier_t go;

	vc_ctx_init(&ctx);
	if (t == NULL || w == NULL ||
	    vc_password_hash(&ctx, "correct horse battery staple", h) != 0) {
		ok(0, "setup for the cap test");
		return;
	}
	pthread_barrier_init(&go, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		w[i].go = &go;
		w[i].hash = h;
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		if (w[i].rc == 0)
			good++;
		else if (w[i].rc == VC_ETEMP)
			busy++;
		else
			other++;
	}
	pthread_barrier_destroy(&go);
	ok(good >= 1 && good <= n - 1, "%d of %d verified", good, n);
	ok(busy >= 1, "%d answered VC_ETEMP (cap %ld)", busy, ncpu);
	is_int(other, 0, "no other errors");
	is_int(vc_password_verify(&ctx, h, "correct horse battery staple",
	    NULL), 0, "slots are released afterwards");
	free(t);
	free(w);
	vc_ctx_release(&ctx);
}

int
main(void)
{
	test_policy();
	test_hash_verify();
	test_cap();
	is_int(leaks, 0, "no normalise error message quoted the password");
	return done_testing();
}
