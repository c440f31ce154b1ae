/* SPDX-License-Identifier: MIT */
/*
 * t_totp.c - the TOTP second factor: RFC 6238 appendix B (SHA-1 rows),
 * the window of one step either way, replays, base32, the otpauth URI,
 * the QR renderings, and a sealed seed that opens only for its own user
 * (security.md section 4; SEC-2FA-01, -02, -03, -04, -05).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "twofa.h"
#include "tap.h"

/* RFC 6238 appendix B: the seed is the ASCII text "12345678901234567890". */
static const unsigned char seed[] = "12345678901234567890";
#define SEED_LEN 20

static const struct {
	int64_t t;
	const char *totp8;
} rfc[] = {
	{ 59, "94287082" },
	{ 1111111109, "07081804" },
	{ 1111111111, "14050471" },
	{ 1234567890, "89005924" },
	{ 2000000000, "69279037" },
	{ 20000000000LL, "65353130" },
};

static void
test_vectors(void)
{
	char code[9];

	for (size_t i = 0; i < sizeof rfc / sizeof rfc[0]; i++) {
		uint64_t step = (uint64_t)(rfc[i].t / VC_TOTP_PERIOD);
		ok(vc_totp_code(seed, SEED_LEN, step, 8, code) == 0, "code at t=%lld", (long long)rfc[i].t);
		is_str(code, rfc[i].totp8, "RFC 6238 B, t=%lld, 8 digits", (long long)rfc[i].t);
		/* Six digits are the same value mod 10^6: the last six. */
		ok(vc_totp_code(seed, SEED_LEN, step, 6, code) == 0, "6-digit code");
		is_str(code, rfc[i].totp8 + 2, "t=%lld, 6 digits: the last six", (long long)rfc[i].t);
	}
	ok(vc_totp_code(seed, SEED_LEN, 1, 5, code) != 0, "5 digits refused");
	ok(vc_totp_code(seed, SEED_LEN, 1, 9, code) != 0, "9 digits refused");
}

static void
code_at(int64_t t, char out[9])
{
	if (vc_totp_code(seed, SEED_LEN, (uint64_t)(t / VC_TOTP_PERIOD), 6, out) != 0)
		abort();
}

static void
test_window(void)
{
	const int64_t now = 1111111111;    /* step 0x23523ED */
	const int64_t t = now / VC_TOTP_PERIOD;
	char c[9];
	int64_t step = -1;

	for (int off = -1; off <= 1; off++) {
		code_at(now + off * VC_TOTP_PERIOD, c);
		step = -1;
		is_int(vc_totp_check(seed, SEED_LEN, now, c, 0, &step), VC_TOTP_OK,
		    "a code of step T%+d is accepted", off);
		is_int(step, t + off, "... as step T%+d", off);
	}
	for (int off = -2; off <= 2; off += 4) {
		code_at(now + off * VC_TOTP_PERIOD, c);
		is_int(vc_totp_check(seed, SEED_LEN, now, c, 0, &step), VC_TOTP_WRONG,
		    "a code of step T%+d is refused", off);
	}
	/* The RFC's own 6-digit value at its time. */
	is_int(vc_totp_check(seed, SEED_LEN, 1111111111, "050471", 0, &step), VC_TOTP_OK,
	    "RFC value 14050471 -> 050471 accepted at t=1111111111");
	is_int(vc_totp_check(seed, SEED_LEN, now, "", 0, &step), VC_TOTP_WRONG, "empty code refused");
	is_int(vc_totp_check(seed, SEED_LEN, now, "05047", 0, &step), VC_TOTP_WRONG, "5 digits refused");
	is_int(vc_totp_check(seed, SEED_LEN, now, "0504711", 0, &step), VC_TOTP_WRONG, "7 digits refused");
	is_int(vc_totp_check(seed, SEED_LEN, now, "05047a", 0, &step), VC_TOTP_WRONG, "a letter refused");
	is_int(vc_totp_check(seed, SEED_LEN, now, " 50471", 0, &step), VC_TOTP_WRONG, "a space refused");
}

static void
test_replay(void)
{
	const int64_t now = 2000000000;
	const int64_t t = now / VC_TOTP_PERIOD;
	char c[9], prev[9];
	int64_t step = -1;

	code_at(now, c);
	is_int(vc_totp_check(seed, SEED_LEN, now, c, t - 1, &step), VC_TOTP_OK, "code of T after T-1: ok");
	is_int(vc_totp_check(seed, SEED_LEN, now, c, t, &step), VC_TOTP_REPLAY,
	    "the same code again (last step T): replay");
	is_int(vc_totp_check(seed, SEED_LEN, now + 20, c, t, &step), VC_TOTP_REPLAY,
	    "... still a replay later in its window");
	code_at(now - VC_TOTP_PERIOD, prev);
	is_int(vc_totp_check(seed, SEED_LEN, now, prev, t, &step), VC_TOTP_REPLAY,
	    "an older step (T-1) after a newer one (T): replay");
	code_at(now + VC_TOTP_PERIOD, c);
	is_int(vc_totp_check(seed, SEED_LEN, now, c, t, &step), VC_TOTP_OK, "a newer step (T+1): ok");
	is_int(step, t + 1, "... as T+1");
}

static void
test_uri(void)
{
	char b32[VC_TOTP_B32_LEN + 1], small[16];
	char *uri;

	vc_base32_encode(seed, SEED_LEN, b32);
	is_str(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "base32 of the RFC seed (no padding)");
	is_int((long long)strlen(b32), VC_TOTP_B32_LEN, "32 characters for 160 bits");
	vc_base32_encode((const unsigned char *)"f", 1, small);
	is_str(small, "MY", "RFC 4648 base32 of \"f\" without padding");
	vc_base32_encode((const unsigned char *)"fooba", 5, small);
	is_str(small, "MZXW6YTB", "RFC 4648 base32 of \"fooba\"");
	uri = vc_totp_uri("alice@example.com", b32);
	is_str(uri, "otpauth://totp/VelociCompanion:alice%40example.com?secret="
	    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=VelociCompanion&algorithm=SHA1"
	    "&digits=6&period=30", "otpauth URI: label issuer:account, account percent-encoded");
	free(uri);
	uri = vc_totp_uri("a b:c/d~e", b32);
	{
		const char *want = "otpauth://totp/VelociCompanion:a%20b%3Ac%2Fd~e?";
		ok(uri && strncmp(uri, want, strlen(want)) == 0,
		    "space, ':' and '/' percent-encoded, '~' kept");
	}
	free(uri);
}

static void
test_qr(void)
{
	const char *uri = "otpauth://totp/VelociCompanion:alice?secret="
	    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=VelociCompanion";
	size_t n = 0;
	unsigned char *png = vc_qr_png(uri, &n);
	char *svg = vc_qr_svg(uri), *tty = vc_qr_utf8(uri);
	int lines = 0, first = -1;

	ok(png && n > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0, "PNG signature");
	ok(svg && strncmp(svg, "<svg ", 5) == 0 && strstr(svg, "</svg>") != NULL, "an SVG document");
	ok(tty != NULL, "terminal rendering");
	for (char *s = tty, *e; s && *s; s = e + 1) {
		int cols = 0;
		if ((e = strchr(s, '\n')) == NULL)
			break;
		/* Each cell is one UTF-8 character: an ASCII space or a 3-byte block. */
		for (char *p = s; p < e; p += (*p == ' ') ? 1 : 3)
			cols++;
		if (first < 0)
			first = cols;
		lines += cols == first;
	}
	ok(first > 21 && lines == (first + 1) / 2, "a square of half blocks (%d columns, %d lines)",
	    first, lines);
	free(png);
	free(svg);
	free(tty);
}

/* A seed sealed for one user does not open as another's (SEC-2FA-05). */
static void
test_sealed(void)
{
	char dir[] = "/tmp/t_totp.XXXXXX", path[64], *blob = NULL, *plain = NULL;
	struct vc_keyring *kr = NULL;
	size_t n = 0;
	vc_ctx ctx;

	vc_ctx_init(&ctx);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof path, "%s/vc.key", dir);
	ok(vc_keyring_create(&ctx, path) == 0 && vc_keyring_load(&ctx, path, &kr) == 0, "a key file");
	ok(vc_secret_seal(&ctx, kr, "T1|U1|totp", seed, SEED_LEN, &blob) == 0, "seed sealed");
	ok(blob && strstr(blob, "GEZDGNBV") == NULL && memmem(blob, strlen(blob), seed, 8) == NULL,
	    "the sealed text holds neither the seed nor its base32");
	ok(vc_secret_open(&ctx, kr, "T1|U1|totp", blob, &plain, &n) == 0 && n == SEED_LEN &&
	    memcmp(plain, seed, SEED_LEN) == 0, "opens with its own associated data");
	vc_secret_free(plain, n);
	plain = NULL;
	ok(vc_secret_open(&ctx, kr, "T1|U2|totp", blob, &plain, &n) != 0, "another user's AD: refused");
	ok(vc_secret_open(&ctx, kr, "T2|U1|totp", blob, &plain, &n) != 0, "another tenant's AD: refused");
	ok(vc_secret_open(&ctx, kr, "T1|U1|velociraptor", blob, &plain, &n) != 0,
	    "another purpose's AD: refused");
	free(blob);
	vc_keyring_free(kr);
	unlink(path);
	rmdir(dir);
	vc_ctx_release(&ctx);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_vectors();
	test_window();
	test_replay();
	test_uri();
	test_qr();
	test_sealed();
	return done_testing();
}
