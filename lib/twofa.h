/* SPDX-License-Identifier: MIT */
/*
 * twofa.h - the TOTP second factor (RFC 6238: HMAC-SHA-1, 30 s steps, 6
 * digits, one step of skew either way), its otpauth URI and QR code, the
 * single-use recovery codes, and the operations 2fa setup, verify and
 * disable.
 *
 * Ownership: vc_totp_uri, vc_qr_svg and vc_qr_utf8 return malloc'd text
 * and vc_qr_png a malloc'd buffer, each freed by the caller with free();
 * NULL means out of memory (or text too long for a QR code).  Secrets
 * the functions hold on the way are wiped before they return.
 */
#ifndef VC_TWOFA_H
#define VC_TWOFA_H
#include <stddef.h>
#include <stdint.h>
#include "core/vc.h"

#define VC_TOTP_ISSUER "VelociCompanion"
#define VC_TOTP_PERIOD 30               /* seconds a step lasts */
#define VC_TOTP_DIGITS 6
#define VC_TOTP_SKEW 1                  /* steps accepted either side of now */
#define VC_TOTP_SECRET_BYTES 20         /* 160 bits (RFC 4226 section 4) */
#define VC_TOTP_B32_LEN 32              /* base32 of 20 bytes, no padding */
#define VC_TOTP_MAX_WRONG 5             /* wrong codes before a session ends */
#define VC_RECOVERY_CODES 10
#define VC_RECOVERY_BYTES 10            /* 80 bits: 16 base32 letters */

/* Base32 (RFC 4648, upper case, no padding) of n bytes; out has room
 * for (8 * n + 4) / 5 + 1 bytes. */
void vc_base32_encode(const unsigned char *in, size_t n, char *out);

/*
 * The HOTP value (RFC 4226) of key for counter step, as digits (6 to 8)
 * decimal digits and a NUL in out.  The TOTP code at time t is the one of
 * step t / VC_TOTP_PERIOD.  Returns 0, or -1 when liboath refuses.
 */
int vc_totp_code(const unsigned char *key, size_t n, uint64_t step, int digits,
    char out[9]);

enum { VC_TOTP_OK = 0, VC_TOTP_WRONG, VC_TOTP_REPLAY };
/*
 * Check a 6-digit code at time now against the steps now - 1, now and
 * now + 1, comparing in constant time.  VC_TOTP_OK with *step the newest
 * matching step above last (the step accepted before); VC_TOTP_REPLAY
 * when it matches only steps at or below last; VC_TOTP_WRONG otherwise.
 */
int vc_totp_check(const unsigned char *key, size_t n, int64_t now, const char *code,
    int64_t last, int64_t *step);

/* otpauth://totp/VelociCompanion:ACCOUNT?secret=B32&issuer=VelociCompanion
 * &algorithm=SHA1&digits=6&period=30, the account percent-encoded. */
char *vc_totp_uri(const char *account, const char *b32);

/* text as a QR code (error correction M): a PNG image (8 pixels a module,
 * a quiet zone of 4), an SVG document, or lines of UTF-8 half blocks for
 * a terminal (light modules drawn, for light-on-dark terminals). */
unsigned char *vc_qr_png(const char *text, size_t *n);
char *vc_qr_svg(const char *text);
char *vc_qr_utf8(const char *text);
/* Write text's QR code to path, mode 0600: SVG when the name ends in
 * ".svg", else PNG.  0, or VC_EINVAL / VC_EINTERNAL naming the problem. */
int vc_qr_write(vc_ctx *ctx, const char *text, const char *path);

/*
 * The second factor of a login of user uid of tenant tid, inside the
 * caller's transaction: a code newer than the last one accepted, or an
 * unused recovery code, which is then spent.  *recovery (may be NULL) is
 * set when a recovery code was spent.  0 when it passes, else VC_EAUTH
 * with the reason in ctx->audit_reason (never the code), or a store error.
 */
int vc_twofa_check(vc_ctx *ctx, const char *tid, const char *uid, const char *code,
    int *recovery);
/*
 * 1 when the user named username has 2FA on, else 0 (also when there is
 * no such user).  For the command line, which asks for a code only then:
 * it opens the store itself, so the answer tells its user nothing the
 * file does not.
 */
int vc_twofa_enabled(vc_ctx *ctx, const char *username);

int vc_op_2fa_setup(vc_ctx *ctx, jv args, jv *out);
int vc_op_2fa_verify(vc_ctx *ctx, jv args, jv *out);
int vc_op_2fa_disable(vc_ctx *ctx, jv args, jv *out);
#endif
