/* SPDX-License-Identifier: MIT */
/* t_keys.c - keyring files, subkeys, opaque tokens and sealed secrets. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "tap.h"

static char dir[] = "/tmp/t_keys.XXXXXX";
/* Standard base64 of 32 bytes (all zero): a well-formed key. */
#define K32 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static void
path_of(char *buf, size_t n, const char *name)
{
	int len = snprintf(buf, n, "%s/%s", dir, name);

	if (len < 0 || (size_t)len >= n)
		abort();
}

/* Write text to path with mode, replacing what is there. */
static int
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;
	int rc;

	unlink(path);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	rc = fputs(text, f) < 0;
	rc |= fclose(f) != 0;
	return rc || chmod(path, mode) != 0 ? -1 : 0;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void
test_create_load(void)
{
	vc_ctx ctx;
	struct vc_keyring *kr = NULL, *kr2 = NULL;
	unsigned char a[32], b[32], c[32], a2[32];
	char path[256];
	int rc;

	vc_ctx_init(&ctx);
	path_of(path, sizeof path, "create.key");

	rc = vc_keyring_load(&ctx, path, &kr);
	is_int(rc, VC_ECONFIG, "missing key file: VC_ECONFIG");
	ok(strstr(ctx.errmsg, "no installation key at ") != NULL &&
	    strstr(ctx.errmsg, path) != NULL, "message names the path: %s",
	    ctx.errmsg);
	ok(kr == NULL, "no keyring on failure");

	is_int(vc_keyring_create(&ctx, path), 0, "create");
	is_int(mode_of(path), 0600, "created with mode 0600");
	rc = vc_keyring_create(&ctx, path);
	is_int(rc, VC_ECONFLICT, "create refuses an existing file");

	is_int(vc_keyring_load(&ctx, path, &kr), 0, "load");
	ok(kr != NULL, "keyring returned");
	is_int(vc_keyring_newest(kr), 1, "one key, id 1");
	ok(vc_keyring_has(kr, 1), "has key 1");
	ok(!vc_keyring_has(kr, 2), "has no key 2");
	ok(!vc_keyring_has(kr, 0), "has no key 0");

	is_int(vc_keyring_subkey(kr, 1, "vcjwt___", a), 0, "subkey vcjwt___");
	is_int(vc_keyring_subkey(kr, 1, "vcaudit_", b), 0, "subkey vcaudit_");
	is_int(vc_keyring_subkey(kr, 1, "vcsecret", c), 0, "subkey vcsecret");
	ok(memcmp(a, b, 32) != 0 && memcmp(a, c, 32) != 0 &&
	    memcmp(b, c, 32) != 0, "subkeys of different contexts differ");
	is_int(vc_keyring_subkey(kr, 2, "vcjwt___", c), -1,
	    "subkey of a missing kid fails");

	is_int(vc_keyring_load(&ctx, path, &kr2), 0, "load again");
	is_int(vc_keyring_subkey(kr2, 1, "vcjwt___", a2), 0, "subkey again");
	ok(memcmp(a, a2, 32) == 0, "subkeys are stable across loads");
	vc_keyring_free(kr2);
	kr2 = NULL;

	/* Another installation's key gives other subkeys. */
	path_of(path, sizeof path, "other.key");
	is_int(vc_keyring_create(&ctx, path), 0, "create a second file");
	is_int(vc_keyring_load(&ctx, path, &kr2), 0, "load it");
	vc_keyring_subkey(kr2, 1, "vcjwt___", a2);
	ok(memcmp(a, a2, 32) != 0, "different key files, different subkeys");

	vc_keyring_free(kr);
	vc_keyring_free(kr2);
	vc_keyring_free(NULL);
	vc_ctx_release(&ctx);
}

static void
test_perms(void)
{
	vc_ctx ctx;
	struct vc_keyring *kr = NULL;
	char path[256];
	int rc;

	vc_ctx_init(&ctx);
	path_of(path, sizeof path, "perm.key");
	is_int(vc_keyring_create(&ctx, path), 0, "create perm.key");

	/* SEC-SEC-01 */
	chmod(path, 0644);
	rc = vc_keyring_load(&ctx, path, &kr);
	is_int(rc, VC_ECONFIG, "0644 key file refused (SEC-SEC-01)");
	ok(strstr(ctx.errmsg, path) != NULL && strstr(ctx.errmsg, "0644"),
	    "message names path and mode: %s", ctx.errmsg);
	ok(kr == NULL, "no keyring");

	chmod(path, 0640);
	is_int(vc_keyring_load(&ctx, path, &kr), VC_ECONFIG, "0640 refused");
	chmod(path, 0700);
	is_int(vc_keyring_load(&ctx, path, &kr), VC_ECONFIG, "0700 refused");
	chmod(path, 0400);
	rc = vc_keyring_load(&ctx, path, &kr);
	is_int(rc, 0, "0400 accepted");
	vc_keyring_free(kr);
	kr = NULL;
	is_int(vc_keyring_rotate(&ctx, path), VC_ECONFIG,
	    "rotate refuses a read-only key file");
	chmod(path, 0600);
	is_int(vc_keyring_load(&ctx, path, &kr), 0, "0600 accepted");
	vc_keyring_free(kr);
	kr = NULL;

	if (geteuid() == 0) {
		/* Owned by someone else: refused even at 0600. */
		if (chown(path, 12345, 12345) == 0) {
			rc = vc_keyring_load(&ctx, path, &kr);
			is_int(rc, VC_ECONFIG, "foreign owner refused");
			ok(strstr(ctx.errmsg, "owned by uid 12345") != NULL,
			    "message names the owner: %s", ctx.errmsg);
			if (chown(path, 0, 0) != 0)
				ok(0, "chown back");
		}
	} else {
		ok(1, "# SKIP owner test needs root");
		ok(1, "# SKIP owner test needs root");
	}

	/* Not a regular file. */
	path_of(path, sizeof path, "dir.key");
	mkdir(path, 0600);
	rc = vc_keyring_load(&ctx, path, &kr);
	is_int(rc, VC_ECONFIG, "a directory is refused");
	ok(strstr(ctx.errmsg, "not a regular file") != NULL, "says why: %s",
	    ctx.errmsg);
	rmdir(path);
	vc_ctx_release(&ctx);
}

static void
test_parse(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "", "no keys" },
		{ "# only a comment\n\n", "no keys" },
		{ "1:notbase64\n", ":1: key must be" },
		{ "1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		  ":1: expected ID:BASE64" },
		{ "\n0:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		  ":2: key id must be" },
		{ "x:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		  ":1: key id must be" },
		{ "4294967296:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		  ":1: key id must be" },
		{ "1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		  "1:BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		  ":2: duplicate key id 1" },
		/* 31 bytes; 33 bytes; no padding; URL-safe alphabet. */
		{ "1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n", ":1: key" },
		{ "1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", ":1: key" },
		{ "1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", ":1: key" },
		{ "1:-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", ":1: key" },
		/* Non-zero trailing bits. */
		{ "1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n", ":1: key" },
	};
	vc_ctx ctx;
	struct vc_keyring *kr = NULL;
	char path[256];
	const char *secret_b64 = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
	char text[256];

	vc_ctx_init(&ctx);
	path_of(path, sizeof path, "parse.key");
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc;

		write_file(path, bad[i].text, 0600);
		rc = vc_keyring_load(&ctx, path, &kr);
		ok(rc == VC_ECONFIG && strstr(ctx.errmsg, bad[i].want) &&
		    strstr(ctx.errmsg, path), "bad key file %zu: %s", i,
		    ctx.errmsg);
		vc_keyring_free(kr);
		kr = NULL;
	}

	/* Comments, blank lines, CRLF and a missing final newline are fine;
	 * the highest id is the newest whatever the order. */
	snprintf(text, sizeof text, "# keys\r\n7:%s\r\n\n3:%s", secret_b64,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	write_file(path, text, 0600);
	is_int(vc_keyring_load(&ctx, path, &kr), 0, "hand-edited file loads");
	if (kr != NULL) {
		is_int(vc_keyring_newest(kr), 7, "newest is the highest id");
		ok(vc_keyring_has(kr, 3) && vc_keyring_has(kr, 7), "both keys");
	}
	vc_keyring_free(kr);
	kr = NULL;

	/* Messages never quote the key text. */
	snprintf(text, sizeof text, "1:%s junk\n", secret_b64);
	write_file(path, text, 0600);
	is_int(vc_keyring_load(&ctx, path, &kr), VC_ECONFIG, "junk refused");
	ok(strstr(ctx.errmsg, "q83vEjRW") == NULL,
	    "error message holds no key text");

	/* Rotation appends after a last line lacking its newline. */
	snprintf(text, sizeof text, "5:%s", secret_b64);
	write_file(path, text, 0600);
	is_int(vc_keyring_rotate(&ctx, path), 0, "rotate (no final newline)");
	is_int(vc_keyring_load(&ctx, path, &kr), 0, "reload");
	if (kr != NULL) {
		is_int(vc_keyring_newest(kr), 6, "newest is 6");
		ok(vc_keyring_has(kr, 5), "key 5 kept");
	}
	vc_keyring_free(kr);
	vc_ctx_release(&ctx);
}

static void
test_rotate_secrets(void)
{
	vc_ctx ctx;
	struct vc_keyring *kr = NULL, *kr2 = NULL;
	char path[256], *blob = NULL, *blob2 = NULL, *plain = NULL;
	const char msg[] = "client key PEM \0 with a NUL inside";
	size_t n = 0, bloblen;
	unsigned char s1[32], s1b[32];

	vc_ctx_init(&ctx);
	path_of(path, sizeof path, "rotate.key");
	is_int(vc_keyring_create(&ctx, path), 0, "create rotate.key");
	is_int(vc_keyring_load(&ctx, path, &kr), 0, "load");

	is_int(vc_secret_seal(&ctx, kr, "t1|s1|velo", msg, sizeof msg, &blob),
	    0, "seal");
	{
		char *again = NULL;

		vc_secret_seal(&ctx, kr, "t1|s1|velo", msg, sizeof msg, &again);
		ok(blob != NULL && again != NULL && strcmp(blob, again) != 0,
		    "sealing twice gives different blobs (random nonce)");
		free(again);
	}
	is_int(vc_secret_open(&ctx, kr, "t1|s1|velo", blob, &plain, &n), 0,
	    "open");
	ok(plain != NULL && n == sizeof msg && memcmp(plain, msg, n) == 0 &&
	    plain[n] == '\0', "round trip, NUL terminated");
	vc_secret_free(plain, n);
	plain = NULL;

	is_int(vc_secret_open(&ctx, kr, "t2|s1|velo", blob, &plain, &n),
	    VC_EINVAL, "other associated data fails");
	ok(plain == NULL && n == 0, "no output on failure");
	is_int(vc_secret_open(&ctx, kr, NULL, blob, &plain, &n), VC_EINVAL,
	    "no associated data fails");

	/* Flip one bit of the ciphertext, inside the base64 text. */
	{
		unsigned char bin[512];
		size_t binlen;
		char *copy;

		sodium_base642bin(bin, sizeof bin, blob, strlen(blob), NULL,
		    &binlen, NULL, sodium_base64_VARIANT_ORIGINAL);
		for (size_t i = 0; i < binlen; i++) {
			char b64[1024];
			int rc;

			bin[i] ^= 0x01;
			sodium_bin2base64(b64, sizeof b64, bin, binlen,
			    sodium_base64_VARIANT_ORIGINAL);
			bin[i] ^= 0x01;
			rc = vc_secret_open(&ctx, kr, "t1|s1|velo", b64, &plain,
			    &n);
			if (rc != VC_EINVAL) {
				ok(0, "flipped byte %zu opened", i);
				vc_secret_free(plain, n);
				plain = NULL;
				break;
			}
			if (i == binlen - 1)
				ok(1, "every flipped byte (%zu) fails", binlen);
		}
		copy = strdup(blob);
		copy[10] = '*';
		is_int(vc_secret_open(&ctx, kr, "t1|s1|velo", copy, &plain, &n),
		    VC_EINVAL, "non-base64 blob fails");
		bloblen = strlen(copy);
		copy[bloblen / 2] = '\0';
		is_int(vc_secret_open(&ctx, kr, "t1|s1|velo", copy, &plain, &n),
		    VC_EINVAL, "truncated blob fails");
		free(copy);
	}

	vc_keyring_subkey(kr, 1, "vcsecret", s1);
	is_int(vc_keyring_rotate(&ctx, path), 0, "rotate");
	is_int(mode_of(path), 0600, "still 0600 after rotate");
	is_int(vc_keyring_load(&ctx, path, &kr2), 0, "load rotated");
	is_int(vc_keyring_newest(kr2), 2, "newest is 2");
	vc_keyring_subkey(kr2, 1, "vcsecret", s1b);
	ok(memcmp(s1, s1b, 32) == 0, "key 1 unchanged by rotation");

	is_int(vc_secret_open(&ctx, kr2, "t1|s1|velo", blob, &plain, &n), 0,
	    "blob from key 1 opens after rotation");
	ok(plain != NULL && n == sizeof msg && memcmp(plain, msg, n) == 0,
	    "same plaintext");
	vc_secret_free(plain, n);
	plain = NULL;

	is_int(vc_secret_seal(&ctx, kr2, "t1|s1|velo", "x", 1, &blob2), 0,
	    "seal with the rotated ring");
	is_int(vc_secret_open(&ctx, kr, "t1|s1|velo", blob2, &plain, &n),
	    VC_EINVAL, "a key-2 blob does not open with only key 1");
	ok(strstr(ctx.errmsg, "key 2") != NULL, "says which key: %s",
	    ctx.errmsg);
	is_int(vc_secret_open(&ctx, kr2, "t1|s1|velo", blob2, &plain, &n), 0,
	    "key-2 blob opens with the rotated ring");
	ok(plain != NULL && n == 1 && plain[0] == 'x', "plaintext x");
	vc_secret_free(plain, n);
	plain = NULL;

	/* Empty secret. */
	free(blob2);
	blob2 = NULL;
	is_int(vc_secret_seal(&ctx, kr2, "a", "", 0, &blob2), 0, "seal empty");
	is_int(vc_secret_open(&ctx, kr2, "a", blob2, &plain, &n), 0,
	    "open empty");
	ok(plain != NULL && n == 0 && plain[0] == '\0', "empty round trip");
	vc_secret_free(plain, n);

	free(blob);
	free(blob2);
	vc_keyring_free(kr);
	vc_keyring_free(kr2);
	vc_ctx_release(&ctx);
}

static void
test_tokens(void)
{
	char a[VC_TOKEN_MAX], b[VC_TOKEN_MAX], hex[65];
	size_t i;

	vc_token_new("vcr_", a);
	vc_token_new("vcr_", b);
	is_int(strlen(a), 4 + 43, "token is prefix + 43 chars");
	ok(strncmp(a, "vcr_", 4) == 0, "token has its prefix");
	ok(strcmp(a, b) != 0, "two tokens differ");
	for (i = 4; a[i] != '\0'; i++)
		if (!((a[i] >= 'A' && a[i] <= 'Z') || (a[i] >= 'a' &&
		    a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9') ||
		    a[i] == '-' || a[i] == '_'))
			break;
	ok(a[i] == '\0', "token is base64url without padding");
	vc_token_new("this-prefix-is-much-too-long_", a);
	is_str(a, "", "too long a prefix gives an empty token");

	vc_sha256_hex("abc", 3, hex);
	is_str(hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "sha256(abc) (FIPS 180-2)");
	vc_sha256_hex("", 0, hex);
	is_str(hex,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "sha256 of the empty string");
}

/* The names in dir starting with prefix. */
static int
count_prefix(const char *prefix)
{
	char cmd[512];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof cmd, "ls -a %s | grep -c '^%s'", dir, prefix);
	if ((p = popen(cmd, "r")) != NULL) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

static void
test_lifecycle(void)
{
	vc_ctx ctx;
	struct vc_keyring *kr = NULL, *kr2 = NULL;
	struct vc_key_info ki;
	unsigned char a1[32], a2[32], j[32];
	char path[256], text[4096], *blob = NULL, *plain = NULL, *b64;
	size_t n, b64n;
	uint32_t kid;
	struct stat st1, st2;

	vc_ctx_init(&ctx);
	path_of(path, sizeof path, "life.key");
	is_int(vc_keyring_create(&ctx, path), 0, "create life.key");
	ok(tap_slurp(path, text, sizeof text) > 0 &&
	    strstr(text, " created=") != NULL, "a new key line has created=");
	is_int(vc_keyring_load(&ctx, path, &kr), 0, "load life.key");
	vc_keyring_subkey(kr, 1, "vcaudit_", a1);
	is_int(vc_secret_seal(&ctx, kr, "t|x|y", "hush", 4, &blob), 0, "seal under key 1");
	is_int(vc_secret_key_id(blob, &kid), 0, "the blob names its key");
	is_int(kid, 1, "... key 1");
	is_int(vc_secret_key_id("AAAA", &kid), -1, "a short blob names no key");
	is_int(vc_secret_key_id("not base64 at all", &kid), -1, "nor does garbage");
	vc_keyring_free(kr);
	kr = NULL;

	stat(path, &st1);
	is_int(vc_keyring_rotate(&ctx, path), 0, "rotate");
	stat(path, &st2);
	ok(st1.st_ino != st2.st_ino, "rotation replaced the file (rename)");
	is_int(st2.st_mode & 07777, 0600, "... with mode 0600");
	is_int(count_prefix("life.key.tmp"), 0, "... and left no temporary file");

	is_int(vc_keyring_retire(&ctx, path, 2), VC_ECONFLICT, "retire the newest: refused");
	is_int(vc_keyring_retire(&ctx, path, 5), VC_ENOTFOUND, "retire an unknown key: not found");
	is_int(vc_keyring_retire(&ctx, path, 1), 0, "retire key 1");
	is_int(vc_keyring_retire(&ctx, path, 1), VC_ECONFLICT, "retire it again: refused");
	is_int(vc_keyring_load(&ctx, path, &kr), 0, "load with a retired key");
	is_int(vc_keyring_count(kr), 2, "two keys");
	is_int(vc_keyring_info(kr, 0, &ki), 0, "info of the first");
	ok(ki.id == 1 && ki.state == VC_KEY_RETIRED && ki.retired > 0 && ki.created > 0,
	    "key 1: retired, with both times");
	vc_keyring_info(kr, 1, &ki);
	ok(ki.id == 2 && ki.state == VC_KEY_ACTIVE && ki.retired == 0, "key 2: active");
	is_int(vc_keyring_info(kr, 2, &ki), -1, "no third key");
	ok(!vc_keyring_has(kr, 1), "a retired key is not a live key (no token of it verifies)");
	is_int(vc_keyring_subkey(kr, 1, "vcaudit_", a2), 0, "its audit subkey remains");
	ok(memcmp(a1, a2, 32) == 0, "... the same as before retirement");
	is_int(vc_keyring_subkey(kr, 1, "vcjwt___", j), -1, "no JWT subkey of a retired key");
	is_int(vc_secret_open(&ctx, kr, "t|x|y", blob, &plain, &n), VC_EINVAL,
	    "a secret of the retired key no longer opens");
	is_int(vc_keyring_rotate(&ctx, path), 0, "rotate after a retirement");
	vc_keyring_free(kr);
	kr = NULL;
	is_int(vc_keyring_load(&ctx, path, &kr), 0, "load");
	is_int(vc_keyring_newest(kr), 3, "the new key is 3: retired ids are never reused");

	/* The same ring from base64 of the file (VC_MASTER_KEY). */
	tap_slurp(path, text, sizeof text);
	b64n = sodium_base64_ENCODED_LEN(strlen(text), sodium_base64_VARIANT_ORIGINAL);
	b64 = malloc(b64n);
	sodium_bin2base64(b64, b64n, (unsigned char *)text, strlen(text),
	    sodium_base64_VARIANT_ORIGINAL);
	is_int(vc_keyring_load_base64(&ctx, "VC_MASTER_KEY", b64, &kr2), 0, "load from base64");
	is_int(vc_keyring_newest(kr2), 3, "... the same newest key");
	vc_keyring_subkey(kr2, 1, "vcaudit_", a2);
	ok(memcmp(a1, a2, 32) == 0, "... and the same keys");
	vc_keyring_free(kr2);
	kr2 = NULL;
	is_int(vc_keyring_load_base64(&ctx, "VC_MASTER_KEY", "@@@", &kr2), VC_ECONFIG,
	    "base64 that is not");
	ok(strstr(ctx.errmsg, "VC_MASTER_KEY is not standard base64") != NULL, "says so: %s",
	    ctx.errmsg);
	is_int(vc_keyring_load_base64(&ctx, "VC_MASTER_KEY", "aGVsbG8K", &kr2), VC_ECONFIG,
	    "base64 of something else");
	ok(strcmp(ctx.errmsg, "VC_MASTER_KEY:1: expected ID:BASE64") == 0, "names it: %s",
	    ctx.errmsg);
	free(b64);
	free(blob);
	vc_keyring_free(kr);
	vc_ctx_release(&ctx);
}

static void
test_formats(void)
{
	static const struct {
		const char *text;
		int rc;
		const char *msg;
	} cases[] = {
		{ "1:" K32 " created=12\n", 0, NULL },
		{ "1:" K32 " created=12 \n2:" K32 "\n", 0, NULL },
		{ "1:- created=1 retired=2 audit=" K32 "\n2:" K32 "\n", 0, NULL },
		{ "1:" K32 " born=12\n", VC_ECONFIG, "unknown attribute" },
		{ "1:" K32 " created=x\n", VC_ECONFIG, "a time must be digits" },
		{ "1:" K32 " created\n", VC_ECONFIG, "expected NAME=VALUE" },
		{ "1:" K32 " retired=5\n", VC_ECONFIG, "retired= and audit= go only" },
		{ "1:- retired=5\n2:" K32 "\n", VC_ECONFIG, "needs retired= and audit=" },
		{ "1:" K32 "\n2:- retired=5 audit=" K32 "\n", VC_ECONFIG, "the newest key 2 is retired" },
		{ "1:- retired=5 audit=AAAA\n2:" K32 "\n", VC_ECONFIG, "audit= must be" },
	};
	vc_ctx ctx;
	char path[256];

	vc_ctx_init(&ctx);
	path_of(path, sizeof path, "fmt.key");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vc_keyring *kr = NULL;
		int rc;

		write_file(path, cases[i].text, 0600);
		rc = vc_keyring_load(&ctx, path, &kr);
		is_int(rc, cases[i].rc, "key file format %zu", i);
		if (cases[i].msg != NULL)
			ok(strstr(ctx.errmsg, cases[i].msg) != NULL, "... %s", ctx.errmsg);
		vc_keyring_free(kr);
	}
	vc_ctx_release(&ctx);
}

int
main(void)
{
	char path[256];

	umask(022);     /* create must give 0600 even so */
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	test_create_load();
	test_perms();
	test_parse();
	test_rotate_secrets();
	test_tokens();
	test_lifecycle();
	test_formats();

	const char *names[] = { "create.key", "other.key", "perm.key",
	    "parse.key", "rotate.key", "life.key", "fmt.key" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		path_of(path, sizeof path, names[i]);
		unlink(path);
	}
	rmdir(dir);
	return done_testing();
}
