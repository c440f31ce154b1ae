/* SPDX-License-Identifier: MIT */
/*
 * password.c - password policy, NFC normalisation and argon2id hashing
 * (security.md section 1; ASVS 2.1, 2.4).
 *
 * Every copy of a plaintext password this file makes is wiped before it
 * returns; the caller's own string is the caller's to wipe.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include <unistr.h>
#include <uninorm.h>

#include "crypto/crypto.h"

_Static_assert(VC_PW_HASH_MAX == crypto_pwhash_STRBYTES,
    "VC_PW_HASH_MAX must be crypto_pwhash_STRBYTES");

#define PW_OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PW_MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE

/*
 * NFC grows UTF-8 text by at most a factor of 3 (Unicode's stated bound),
 * so this buffer always holds the result and u8_normalize never has to
 * malloc (and later free, unwiped) a copy of the password.
 */
#define NFC_BUF (3 * VC_PW_MAX_BYTES + 4)

/*
 * Common passwords long enough to pass the length rule, compared ASCII
 * case-insensitively after NFC.  A local stand-in for a breached-password
 * list (ASVS 2.1.7); shorter ones are already refused by length.
 */
static const char *const common[] = {
	"password1234", "password12345", "password123456", "passwordpassword",
	"password1234567890", "123456789012", "1234567890123",
	"12345678901234", "123456789012345", "1234567890123456",
	"111111111111", "000000000000", "123123123123", "qwertyuiopas",
	"qwertyuiop12", "qwertyuiop123", "qwerty123456", "qwertyqwerty",
	"1q2w3e4r5t6y", "1qaz2wsx3edc", "zaq12wsxcde3", "asdfghjkl123",
	"iloveyou1234", "letmein12345", "welcome12345", "welcome123456",
	"administrator", "administrator1", "changeme1234", "abcdefghijkl",
	"abc123abc123", "aaaaaaaaaaaa", "trustno1trustno1", "football1234",
	"baseball1234", "princess1234", "sunshine1234", "superman1234",
	"monkey123456", "dragon123456", "masterpassword", "velociraptor",
	"velociraptor1", "velocicompanion",
};

static pthread_mutex_t cap_lock = PTHREAD_MUTEX_INITIALIZER;
static long cap_running;

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[crypto_pwhash_STRBYTES];
static int dummy_ok;

/*
 * Take one of the ncpu hashing slots.  Each hash holds 64 MiB and a CPU
 * for a tenth of a second or so: beyond ncpu at once they only queue, and
 * a flood of logins would otherwise exhaust memory.  Returns 0, or -1
 * when all slots are busy.
 */
static int
slot_take(void)
{
	static long cap;
	int r = -1;

	pthread_mutex_lock(&cap_lock);
	if (cap == 0) {
		cap = sysconf(_SC_NPROCESSORS_ONLN);
		if (cap < 1)
			cap = 1;
	}
	if (cap_running < cap) {
		cap_running++;
		r = 0;
	}
	pthread_mutex_unlock(&cap_lock);
	return r;
}

static void
slot_give(void)
{
	pthread_mutex_lock(&cap_lock);
	cap_running--;
	pthread_mutex_unlock(&cap_lock);
}

/* A hash of a random password no one knows, for unknown users. */
static void
dummy_init(void)
{
	unsigned char pw[32];

	randombytes_buf(pw, sizeof pw);
	dummy_ok = crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof pw,
	    PW_OPSLIMIT, PW_MEMLIMIT) == 0;
	sodium_memzero(pw, sizeof pw);
}

static int
is_common(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof common / sizeof *common; i++) {
		const char *c = common[i];
		size_t j;

		if (strlen(c) != n)
			continue;
		for (j = 0; j < n; j++) {
			unsigned char a = (unsigned char)s[j];

			/* ASCII folding only: the list is ASCII. */
			if (a >= 'A' && a <= 'Z')
				a = (unsigned char)(a - 'A' + 'a');
			if (a != (unsigned char)c[j])
				break;
		}
		if (j == n)
			return 1;
	}
	return 0;
}

/*
 * NFC-normalise pw into nfc.  policy also applies the rules for choosing a
 * password (length in code points, common list); a login only needs the
 * text to be well-formed, so that a stricter rule later does not lock
 * anyone out.  Messages never quote the password.
 */
static int
prepare(vc_ctx *ctx, const char *pw, char *nfc, size_t nfcsz, int policy)
{
	uint8_t buf[NFC_BUF], *res;
	size_t n, len = sizeof buf, chars;
	int rc = 0;

	if (pw == NULL)
		return vc_fail(ctx, VC_EINVAL, "no password given");
	/* A C string holds no NUL, so the byte length is all of it. */
	n = strnlen(pw, VC_PW_MAX_BYTES + 1);
	if (n > VC_PW_MAX_BYTES)
		return vc_fail(ctx, VC_EINVAL,
		    "password is longer than %d bytes", VC_PW_MAX_BYTES);
	if (u8_check((const uint8_t *)pw, n) != NULL)
		return vc_fail(ctx, VC_EINVAL, "password is not valid UTF-8");
	res = u8_normalize(UNINORM_NFC, (const uint8_t *)pw, n, buf, &len);
	if (res == NULL) {
		rc = vc_fail(ctx, VC_EINTERNAL, "cannot normalise password: %s",
		    strerror(errno));
		goto out;
	}
	if (res != buf) {
		/* Cannot happen given NFC_BUF; never keep a stray copy. */
		sodium_memzero(res, len);
		free(res);
		rc = vc_fail(ctx, VC_EINTERNAL, "password normalisation overflow");
		goto out;
	}
	if (len > VC_PW_MAX_BYTES) {
		rc = vc_fail(ctx, VC_EINVAL, "password is longer than %d bytes",
		    VC_PW_MAX_BYTES);
		goto out;
	}
	if (policy) {
		chars = u8_mbsnlen(buf, len);
		if (chars < VC_PW_MIN_CHARS) {
			rc = vc_fail(ctx, VC_EINVAL,
			    "password must have at least %d characters",
			    VC_PW_MIN_CHARS);
			goto out;
		}
		if (chars > VC_PW_MAX_CHARS) {
			rc = vc_fail(ctx, VC_EINVAL,
			    "password must have at most %d characters",
			    VC_PW_MAX_CHARS);
			goto out;
		}
		if (is_common((const char *)buf, len)) {
			rc = vc_fail(ctx, VC_EINVAL,
			    "password is too common: choose another");
			goto out;
		}
	}
	if (len >= nfcsz) {
		rc = vc_fail(ctx, VC_EINTERNAL, "password buffer too small");
		goto out;
	}
	memcpy(nfc, buf, len);
	nfc[len] = '\0';
out:
	sodium_memzero(buf, sizeof buf);
	return rc;
}

int
vc_password_normalize(vc_ctx *ctx, const char *pw, char *nfc, size_t nfcsz)
{
	return prepare(ctx, pw, nfc, nfcsz, 1);
}

int
vc_password_hash(vc_ctx *ctx, const char *pw, char out[VC_PW_HASH_MAX])
{
	char nfc[VC_PW_MAX_BYTES + 1];
	int rc;

	out[0] = '\0';
	if (sodium_init() < 0)
		return vc_fail(ctx, VC_EINTERNAL, "cannot initialise libsodium");
	if ((rc = prepare(ctx, pw, nfc, sizeof nfc, 1)) != 0)
		goto out;
	if (slot_take() != 0) {
		rc = vc_fail(ctx, VC_ETEMP, "too many password checks in progress");
		goto out;
	}
	if (crypto_pwhash_str(out, nfc, strlen(nfc), PW_OPSLIMIT,
	    PW_MEMLIMIT) != 0) {
		out[0] = '\0';
		rc = vc_fail(ctx, VC_EINTERNAL,
		    "out of memory hashing the password");
	}
	slot_give();
out:
	sodium_memzero(nfc, sizeof nfc);
	return rc;
}

int
vc_password_verify(vc_ctx *ctx, const char *hash, const char *pw, int *rehash)
{
	char nfc[VC_PW_MAX_BYTES + 1];
	const char *against = hash;
	int ok, rc;

	if (rehash != NULL)
		*rehash = 0;
	if (sodium_init() < 0)
		return vc_fail(ctx, VC_EINTERNAL, "cannot initialise libsodium");
	if (slot_take() != 0)
		return vc_fail(ctx, VC_ETEMP, "too many password checks in progress");
	pthread_once(&dummy_once, dummy_init);

	/*
	 * Whatever is wrong (no such user, a malformed password, a hash
	 * that is not ours), still run one argon2id verify, so that the
	 * time taken does not tell which.
	 */
	ok = prepare(ctx, pw, nfc, sizeof nfc, 0) == 0;
	if (!ok)
		nfc[0] = '\0';
	if (against == NULL || strnlen(against, VC_PW_HASH_MAX) >= VC_PW_HASH_MAX) {
		against = dummy_ok ? dummy_hash : "";
		ok = 0;
	}
	if (crypto_pwhash_str_verify(against, nfc, strlen(nfc)) != 0)
		ok = 0;
	sodium_memzero(nfc, sizeof nfc);
	slot_give();

	if (!ok) {
		/* One message for every cause: it reaches the audit log. */
		return vc_fail(ctx, VC_EAUTH, "wrong user or password");
	}
	/* 1: other parameters; -1: another algorithm.  Either way, rehash. */
	rc = crypto_pwhash_str_needs_rehash(hash, PW_OPSLIMIT, PW_MEMLIMIT);
	if (rehash != NULL)
		*rehash = rc != 0;
	return 0;
}
