/* SPDX-License-Identifier: MIT */
/*
 * twofa.c - the TOTP second factor: codes (liboath), the otpauth URI, QR
 * codes (libqrencode, libpng), recovery codes, and the 2fa operations.
 *
 * The seed is sealed at rest (vc_secret_seal, associated data
 * "TENANT_ID|USER_ID|totp", so a sealed seed copied to another user's
 * row does not open) and opened only to check a code.  A step is
 * accepted once: users.totp_last_step moves forward with a conditional
 * UPDATE that must change one row, so two logins racing with one code
 * cannot both pass.  Codes and seeds never reach the audit log.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <liboath/oath.h>
#include <png.h>
#include <qrencode.h>
#include <sodium.h>

#include "twofa.h"
#include "auth.h"
#include "crypto/crypto.h"
#include "core/audit.h"
#include "core/store.h"

#define QR_SCALE 8      /* pixels a module, PNG */
#define QR_MARGIN 4     /* the quiet zone, in modules (ISO/IEC 18004) */
#define QR_TTY_MARGIN 2 /* a terminal is short of lines; 2 scans well */

/* ---- codes -------------------------------------------------------------- */

void
vc_base32_encode(const unsigned char *in, size_t n, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned int acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = abc[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = abc[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_ready;

static void
oath_start(void)
{
	oath_ready = oath_init() == OATH_OK;
}

int
vc_totp_code(const unsigned char *key, size_t n, uint64_t step, int digits, char out[9])
{
	pthread_once(&oath_once, oath_start);
	if (!oath_ready || digits < 6 || digits > 8)
		return -1;
	return oath_hotp_generate((const char *)key, n, step, (unsigned)digits, 0,
	    OATH_HOTP_DYNAMIC_TRUNCATION, out) == OATH_OK ? 0 : -1;
}

static int
is_code(const char *s)
{
	if (s == NULL || strlen(s) != VC_TOTP_DIGITS)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

int
vc_totp_check(const unsigned char *key, size_t n, int64_t now, const char *code,
    int64_t last, int64_t *step)
{
	char want[9];
	int64_t t = now / VC_TOTP_PERIOD, best = -1;
	int matched = 0;

	if (!is_code(code) || now < 0)
		return VC_TOTP_WRONG;
	/* Every step of the window is computed and compared, match or not. */
	for (int64_t s = t - VC_TOTP_SKEW; s <= t + VC_TOTP_SKEW; s++) {
		if (s < 0 || vc_totp_code(key, n, (uint64_t)s, VC_TOTP_DIGITS, want) != 0)
			continue;
		if (sodium_memcmp(want, code, VC_TOTP_DIGITS) == 0) {
			matched = 1;
			if (s > last && s > best)
				best = s;
		}
	}
	sodium_memzero(want, sizeof want);
	if (!matched)
		return VC_TOTP_WRONG;
	if (best < 0)
		return VC_TOTP_REPLAY;
	*step = best;
	return VC_TOTP_OK;
}

/* RFC 3986: all but the unreserved characters as %XX. */
static void
pct_encode(const char *s, char *out, size_t n)
{
	size_t o = 0;

	for (; *s && o + 4 < n; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, n - o, "%%%02X", c);
	}
	out[o] = '\0';
}

char *
vc_totp_uri(const char *account, const char *b32)
{
	char acct[3 * 64 + 1];
	char *uri = NULL;

	pct_encode(account, acct, sizeof acct);
	if (asprintf(&uri, "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1"
	    "&digits=%d&period=%d", VC_TOTP_ISSUER, acct, b32, VC_TOTP_ISSUER,
	    VC_TOTP_DIGITS, VC_TOTP_PERIOD) < 0)
		return NULL;
	return uri;
}

/* ---- QR codes ------------------------------------------------------------- */

static QRcode *
qr_make(const char *text)
{
	return QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
}

/* Whether module (x, y) of q is dark; outside the symbol is light. */
static int
dark(const QRcode *q, int x, int y)
{
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[y * q->width + x] & 1;
}

struct membuf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

static void
png_put(png_structp png, png_bytep data, png_size_t n)
{
	struct membuf *b = png_get_io_ptr(png);

	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 4096) + n;
		unsigned char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void
png_flush_none(png_structp png)
{
}

/* Rows of the image as 8-bit grey (0 dark, 255 light), written by libpng,
 * whose errors come back here by longjmp. */
static int
png_rows(png_structp png, png_infop info, const QRcode *q, unsigned char *row)
{
	int side = (q->width + 2 * QR_MARGIN) * QR_SCALE;

	if (setjmp(png_jmpbuf(png)))
		return -1;
	png_set_IHDR(png, info, (png_uint_32)side, (png_uint_32)side, 8, PNG_COLOR_TYPE_GRAY,
	    PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < side; y++) {
		for (int x = 0; x < side; x++)
			row[x] = dark(q, x / QR_SCALE - QR_MARGIN, y / QR_SCALE - QR_MARGIN) ? 0 : 255;
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	return 0;
}

unsigned char *
vc_qr_png(const char *text, size_t *n)
{
	QRcode *q = qr_make(text);
	struct membuf b = { 0 };
	png_structp png = NULL;
	png_infop info = NULL;
	unsigned char *row = NULL;
	int rc = -1;

	if (q == NULL)
		return NULL;
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (png != NULL)
		info = png_create_info_struct(png);
	row = malloc((size_t)(q->width + 2 * QR_MARGIN) * QR_SCALE);
	if (png != NULL && info != NULL && row != NULL) {
		png_set_write_fn(png, &b, png_put, png_flush_none);
		rc = png_rows(png, info, q, row);
	}
	png_destroy_write_struct(&png, &info);
	free(row);
	QRcode_free(q);
	if (rc != 0 || b.oom) {
		free(b.p);
		return NULL;
	}
	*n = b.len;
	return b.p;
}

/* A growing text; on allocation failure it stays NULL. */
struct text {
	char *s;
	size_t len, cap;
};

static void
text_add(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->s == NULL && t->cap != 0)
		return;             /* failed before */
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap * 2 + n + 256;
		char *p = realloc(t->s, cap);
		if (p == NULL) {
			free(t->s);
			t->s = NULL;
			t->cap = 1;
			return;
		}
		t->s = p;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n + 1);
	t->len += n;
}

char *
vc_qr_svg(const char *text)
{
	QRcode *q = qr_make(text);
	struct text t = { 0 };
	char buf[160];
	int side;

	if (q == NULL)
		return NULL;
	side = q->width + 2 * QR_MARGIN;
	snprintf(buf, sizeof buf, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\""
	    " width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">\n", side, side,
	    side * QR_SCALE, side * QR_SCALE);
	text_add(&t, buf);
	text_add(&t, "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"");
	for (int y = 0; y < q->width; y++)
		for (int x = 0; x < q->width; x++)
			if (dark(q, x, y)) {
				snprintf(buf, sizeof buf, "M%d %dh1v1h-1z", x + QR_MARGIN, y + QR_MARGIN);
				text_add(&t, buf);
			}
	text_add(&t, "\"/>\n</svg>\n");
	QRcode_free(q);
	return t.s;
}

char *
vc_qr_utf8(const char *text)
{
	/* Index: light top (2) | light bottom (1). */
	static const char *const cell[4] = { " ", "\u2584", "\u2580", "\u2588" };
	QRcode *q = qr_make(text);
	struct text t = { 0 };
	int lo, hi;

	if (q == NULL)
		return NULL;
	lo = -QR_TTY_MARGIN;
	hi = q->width + QR_TTY_MARGIN;
	for (int y = lo; y < hi; y += 2) {
		for (int x = lo; x < hi; x++)
			text_add(&t, cell[(!dark(q, x, y) << 1) | (y + 1 < hi ? !dark(q, x, y + 1) : 0)]);
		text_add(&t, "\n");
	}
	QRcode_free(q);
	return t.s;
}

static int
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcasecmp(s + n - m, tail) == 0;
}

int
vc_qr_write(vc_ctx *ctx, const char *text, const char *path)
{
	unsigned char *data;
	size_t n = 0;
	int fd, rc = 0;

	if (ends_with(path, ".svg")) {
		data = (unsigned char *)vc_qr_svg(text);
		n = data ? strlen((char *)data) : 0;
	} else
		data = vc_qr_png(text, &n);
	if (data == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "cannot make the QR code");
	/* It holds the seed: readable by its owner only, and never through
	 * a link someone else planted. */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		rc = vc_fail(ctx, VC_EINVAL, "%s: %s", path, strerror(errno));
	else {
		if (write(fd, data, n) != (ssize_t)n || fsync(fd) != 0)
			rc = vc_fail(ctx, VC_EINTERNAL, "%s: %s", path, strerror(errno));
		if (close(fd) != 0 && rc == 0)
			rc = vc_fail(ctx, VC_EINTERNAL, "%s: %s", path, strerror(errno));
	}
	sodium_memzero(data, n);
	free(data);
	return rc;
}

/* ---- the store ------------------------------------------------------------ */

struct totp_state {
	int enabled;            /* totp_enabled_at is set */
	int require;            /* the tenant requires 2FA */
	char *sealed;           /* totp_secret, or NULL (malloc'd) */
	int64_t last;           /* totp_last_step */
	char hash[VC_PW_HASH_MAX];
};

static void
state_release(struct totp_state *st)
{
	free(st->sealed);
	st->sealed = NULL;
	sodium_memzero(st->hash, sizeof st->hash);
}

static int
load_state(vc_ctx *ctx, const char *tid, const char *uid, struct totp_state *st)
{
	vc_stmt *q;
	int rc;

	memset(st, 0, sizeof *st);
	q = vc_sql(ctx, "SELECT u.totp_enabled_at IS NOT NULL, u.totp_secret, u.totp_last_step,"
	    " u.password_hash, t.require_2fa FROM users u JOIN tenants t ON t.id = u.tenant_id"
	    " WHERE u.tenant_id = ?1 AND u.id = ?2", "ss", tid, uid);
	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_step(ctx, q)) == 1) {
		const char *s = (const char *)vc_col_text(q, 1);
		st->enabled = vc_col_int(q, 0);
		st->sealed = s ? strdup(s) : NULL;
		st->last = vc_col_int64(q, 2);
		snprintf(st->hash, sizeof st->hash, "%s", (const char *)vc_col_text(q, 3));
		st->require = vc_col_int(q, 4);
	}
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	if (rc == 0)
		return vc_fail(ctx, VC_EAUTH, "invalid or expired credentials");
	return 0;
}

static void
seed_ad(const char *tid, const char *uid, char *ad, size_t n)
{
	snprintf(ad, n, "%s|%s|totp", tid, uid);
}

/* Open the sealed seed into seed[]; 0 or VC_ECONFIG. */
static int
open_seed(vc_ctx *ctx, const char *tid, const char *uid, const char *sealed,
    unsigned char seed[VC_TOTP_SECRET_BYTES])
{
	char ad[2 * VC_ID_LEN + 8], *plain = NULL;
	size_t n = 0;

	seed_ad(tid, uid, ad, sizeof ad);
	if (vc_secret_open(ctx, ctx->store->keys, ad, sealed, &plain, &n) != 0)
		return vc_fail(ctx, VC_ECONFIG, "the stored 2FA secret does not open with this key file");
	if (n != VC_TOTP_SECRET_BYTES) {
		vc_secret_free(plain, n);
		return vc_fail(ctx, VC_ECONFIG, "the stored 2FA secret is not %d bytes", VC_TOTP_SECRET_BYTES);
	}
	memcpy(seed, plain, n);
	vc_secret_free(plain, n);
	return 0;
}

/* A recovery code as typed ("abcd-efgh ...", any case) in its canonical
 * form, 16 lower-case base32 letters; -1 when it cannot be one. */
static int
recovery_norm(const char *in, char out[2 * VC_RECOVERY_BYTES])
{
	size_t o = 0;

	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == '-' || c == ' ')
			continue;
		c = (unsigned char)tolower(c);
		if (o >= 16 || !((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')))
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return o == 16 ? 0 : -1;
}

/*
 * The stored form of a canonical recovery code: SHA-256 of
 * "TENANT|USER|code", as hex.  A code is 80 random bits, so a fast hash
 * is safe (no dictionary to try, and 2^80 guesses to search); it is not
 * keyed, so that rotating and retiring installation keys never voids a
 * code someone keeps on paper.  The ids bind it to its user.
 */
static void
recovery_hash(const char *tid, const char *uid, const char *code, char hex[65])
{
	char msg[2 * VC_ID_LEN + 2 * VC_RECOVERY_BYTES + 4];

	snprintf(msg, sizeof msg, "%s|%s|%s", tid, uid, code);
	vc_sha256_hex(msg, strlen(msg), hex);
	sodium_memzero(msg, sizeof msg);
}

/* Spend a recovery code: 0, 1 when none matches, or a store error. */
static int
spend_recovery(vc_ctx *ctx, const char *tid, const char *uid, const char *typed)
{
	char code[2 * VC_RECOVERY_BYTES], hex[65];
	int changes = 0;

	if (recovery_norm(typed, code) != 0)
		return 1;
	recovery_hash(tid, uid, code, hex);
	sodium_memzero(code, sizeof code);
	if (vc_sql_exec(ctx, "UPDATE recovery_codes SET used_at = ?1 WHERE tenant_id = ?2"
	    " AND user_id = ?3 AND code_hash = ?4 AND used_at IS NULL", &changes, "isss",
	    vc_now(ctx), tid, uid, hex) != 0)
		return ctx->err;
	return changes == 1 ? 0 : 1;
}

/* Accept a TOTP code once: 0, or VC_EAUTH with the reason for the audit. */
static int
accept_code(vc_ctx *ctx, const char *tid, const char *uid, const struct totp_state *st,
    const char *code)
{
	unsigned char seed[VC_TOTP_SECRET_BYTES];
	int64_t step = 0;
	int rc, changes = 0;

	if ((rc = open_seed(ctx, tid, uid, st->sealed, seed)) != 0)
		return rc;
	rc = vc_totp_check(seed, sizeof seed, vc_now(ctx), code, st->last, &step);
	sodium_memzero(seed, sizeof seed);
	if (rc == VC_TOTP_OK &&
	    vc_sql_exec(ctx, "UPDATE users SET totp_last_step = ?1 WHERE tenant_id = ?2 AND id = ?3"
	    " AND totp_last_step < ?1", &changes, "iss", step, tid, uid) != 0)
		return ctx->err;
	if (rc == VC_TOTP_OK && changes == 1)
		return 0;
	/* A step someone else spent between our read and our write is a
	 * replay too. */
	snprintf(ctx->audit_reason, sizeof ctx->audit_reason, "%s",
	    rc == VC_TOTP_WRONG ? "wrong 2FA code" : "replayed 2FA code");
	return vc_fail(ctx, VC_EAUTH, "wrong or already used code");
}

int
vc_twofa_check(vc_ctx *ctx, const char *tid, const char *uid, const char *code, int *recovery)
{
	struct totp_state st;
	int rc;

	if (recovery != NULL)
		*recovery = 0;
	if ((rc = load_state(ctx, tid, uid, &st)) != 0)
		return rc;
	if (!st.enabled || st.sealed == NULL)
		rc = 0;
	else if (code == NULL || *code == '\0') {
		snprintf(ctx->audit_reason, sizeof ctx->audit_reason, "missing 2FA code");
		rc = vc_fail(ctx, VC_EAUTH, "a 2FA code is required");
	} else if (is_code(code))
		rc = accept_code(ctx, tid, uid, &st, code);
	else if ((rc = spend_recovery(ctx, tid, uid, code)) == 1) {
		snprintf(ctx->audit_reason, sizeof ctx->audit_reason, "wrong recovery code");
		rc = vc_fail(ctx, VC_EAUTH, "wrong or already used code");
	} else if (rc == 0 && recovery != NULL)
		*recovery = 1;
	state_release(&st);
	return rc;
}

int
vc_twofa_enabled(vc_ctx *ctx, const char *username)
{
	/* unscoped: a login names no tenant; usernames are global */
	vc_stmt *q = vc_sql(ctx, "SELECT totp_enabled_at IS NOT NULL FROM users"
	    " WHERE username = ?1", "s", username);
	int on = 0;

	if (q != NULL && vc_sql_step(ctx, q) == 1)
		on = vc_col_int(q, 0);
	vc_stmt_done(q);
	ctx->err = 0;
	return on;
}

/* ---- the operations --------------------------------------------------------- */

/* A second factor is the person's, never an API token's. */
static int
need_session(vc_ctx *ctx)
{
	vc_audit_target(ctx, "user", ctx->who.user_id);
	if (ctx->who.actor != VC_ACTOR_USER)
		return vc_fail(ctx, VC_EPERM, "an API token cannot change two-factor "
		    "authentication: log in as its owner");
	return 0;
}

/* Ten fresh recovery codes for the caller, replacing any older ones;
 * their text goes to *codes (an array). */
static int
new_recovery_codes(vc_ctx *ctx, jv *codes)
{
	const char *tid = ctx->who.tenant_id, *uid = ctx->who.user_id;
	unsigned char raw[VC_RECOVERY_BYTES];
	char b32[2 * VC_RECOVERY_BYTES + 1], shown[24], hex[65];
	int rc = vc_sql_exec(ctx, "DELETE FROM recovery_codes WHERE tenant_id = ?1 AND user_id = ?2",
	    NULL, "ss", tid, uid);

	*codes = jv_array();
	for (int i = 0; rc == 0 && i < VC_RECOVERY_CODES; i++) {
		randombytes_buf(raw, sizeof raw);
		vc_base32_encode(raw, sizeof raw, b32);
		for (char *s = b32; *s; s++)
			*s = (char)tolower((unsigned char)*s);
		snprintf(shown, sizeof shown, "%.4s-%.4s-%.4s-%.4s", b32, b32 + 4, b32 + 8, b32 + 12);
		recovery_hash(tid, uid, b32, hex);
		rc = vc_sql_exec(ctx, "INSERT INTO recovery_codes (tenant_id, user_id, code_hash,"
		    " created_at) VALUES (?1, ?2, ?3, ?4)", NULL, "sssi", tid, uid, hex, vc_now(ctx));
		*codes = jv_array_append(*codes, jv_string(shown));
	}
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(b32, sizeof b32);
	sodium_memzero(shown, sizeof shown);
	return rc;
}

/* The PNG of uri as a data: URI. */
static jv
png_data_uri(const char *uri)
{
	size_t n = 0, b64n;
	unsigned char *png = vc_qr_png(uri, &n);
	char *b64;
	jv v = jv_null();

	if (png == NULL)
		return v;
	b64n = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(b64n + 32)) != NULL) {
		memcpy(b64, "data:image/png;base64,", 22);
		sodium_bin2base64(b64 + 22, b64n, png, n, sodium_base64_VARIANT_ORIGINAL);
		v = jv_string(b64);
		sodium_memzero(b64, b64n + 22);
		free(b64);
	}
	free(png);
	return v;
}

/* The answer of a setup: the secret, its URI (and over HTTP its QR code
 * as a PNG data URI; the command line draws its own), the codes. */
static jv
setup_answer(vc_ctx *ctx, const char *b32, const char *uri, jv codes)
{
	jv out = jv_object();

	out = jv_object_set(out, jv_string("secret"), jv_string(b32));
	out = jv_object_set(out, jv_string("qr_code_uri"), jv_string(uri));
	if (ctx->front == VC_FRONT_HTTP)
		out = jv_object_set(out, jv_string("qr_code"), png_data_uri(uri));
	out = jv_object_set(out, jv_string("recovery_codes"), codes);
	out = jv_object_set(out, jv_string("totp_enabled"), jv_false());
	out = jv_object_set(out, jv_string("note"), jv_string("add the secret to an authenticator "
	    "app, then run '2fa verify CODE' to turn 2FA on; the recovery codes are shown "
	    "this once: each replaces a code once"));
	return out;
}

int
vc_op_2fa_setup(vc_ctx *ctx, jv args, jv *out)
{
	const char *tid = ctx->who.tenant_id, *uid = ctx->who.user_id;
	unsigned char seed[VC_TOTP_SECRET_BYTES];
	char b32[VC_TOTP_B32_LEN + 1], ad[2 * VC_ID_LEN + 8], *sealed = NULL, *uri = NULL;
	struct totp_state st;
	jv codes = jv_invalid();
	int rc;

	if ((rc = need_session(ctx)) != 0 || (rc = load_state(ctx, tid, uid, &st)) != 0)
		return rc;
	rc = st.enabled;
	state_release(&st);
	if (rc)
		return vc_fail(ctx, VC_ECONFLICT, "two-factor authentication is already on: "
		    "turn it off first (2fa disable)");
	randombytes_buf(seed, sizeof seed);
	vc_base32_encode(seed, sizeof seed, b32);
	seed_ad(tid, uid, ad, sizeof ad);
	if ((rc = vc_secret_seal(ctx, ctx->store->keys, ad, seed, sizeof seed, &sealed)) != 0)
		goto out;
	/* A new seed starts its steps afresh; 2FA stays off until verify. */
	if ((rc = vc_sql_exec(ctx, "UPDATE users SET totp_secret = ?1, totp_enabled_at = NULL,"
	    " totp_last_step = 0, updated_at = ?2 WHERE tenant_id = ?3 AND id = ?4", NULL, "siss",
	    sealed, vc_now(ctx), tid, uid)) != 0 || (rc = new_recovery_codes(ctx, &codes)) != 0)
		goto out;
	if ((uri = vc_totp_uri(ctx->who.username, b32)) == NULL) {
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
		goto out;
	}
	*out = setup_answer(ctx, b32, uri, codes);
	codes = jv_invalid();
out:
	jv_free(codes);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(b32, sizeof b32);
	if (uri != NULL)
		sodium_memzero(uri, strlen(uri));
	free(uri);
	free(sealed);
	return rc;
}

/* The lockout of strike: the caller's sessions ended, audited. */
static int
lockout_body(vc_ctx *ctx, void *arg)
{
	int rc;

	(void)arg;
	if ((rc = vc_auth_revoke_sessions(ctx, ctx->who.tenant_id, ctx->who.user_id)) != 0)
		return rc;
	return vc_audit(ctx, ctx->who.tenant_id, "auth.2fa.lockout", "user", ctx->who.user_id,
	    "denied", "too many wrong codes: sessions ended", jv_invalid());
}

/*
 * A wrong code (or password) of verify or disable: counted per user, and
 * past VC_TOTP_MAX_WRONG in a row the caller's sessions end, so that a
 * stolen session cannot go on guessing (the password step is void).
 */
static void
strike(vc_ctx *ctx, const char *key)
{
	char reason[sizeof ctx->audit_reason];

	if (vc_auth_throttle_failed(ctx, key) <= VC_TOTP_MAX_WRONG)
		return;
	snprintf(reason, sizeof reason, "%s", ctx->audit_reason);
	/* Made again when it gave way to another: a lockout that did not
	 * happen would let the session go on guessing. */
	vc_tx_run(ctx, 0, lockout_body, NULL);
	snprintf(ctx->audit_reason, sizeof ctx->audit_reason, "%s", reason);
}

static void
strike_key(vc_ctx *ctx, char *key, size_t n)
{
	snprintf(key, n, "2fa:%s", ctx->who.user_id);
}

/* The end of a verify's or a disable's transaction: the counter of
 * wrong codes forgotten, the success audited in the same transaction. */
static int
finish(vc_ctx *ctx, const char *key, const char *action, const char *reason)
{
	int rc;

	if ((rc = vc_auth_throttle_clear(ctx, key)) != 0)
		return rc;
	return vc_audit(ctx, ctx->who.tenant_id, action, "user", ctx->who.user_id, "success",
	    reason, jv_invalid());
}

/* What a verify's or a disable's transaction needs and tells. */
struct code_tx {
	jv args;                /* borrowed */
	const char *key;        /* the counter of wrong codes */
	int recovery;           /* the code was a recovery code */
	int wrong;              /* the code was wrong or spent (VC_EAUTH) */
};

/*
 * Run the transaction of a verify or a disable, again when it gave way
 * to another (PostgreSQL): each attempt reads the state and spends the
 * code afresh, a rolled-back attempt having spent nothing.  0 (audited),
 * or a wrong or spent code counted once, by the attempt that found it
 * (it is the last: a refusal is not run again), and refused saying
 * what stays.
 */
static int
code_tx(vc_ctx *ctx, int (*body)(vc_ctx *, void *), struct code_tx *c, const char *stays)
{
	int rc = vc_tx_run(ctx, 0, body, c);

	if (rc == 0) {
		ctx->audited = 1;
		return 0;
	}
	if (rc == VC_EAUTH && c->wrong) {
		strike(ctx, c->key);
		return vc_fail(ctx, VC_EAUTH, "wrong or already used code: %s", stays);
	}
	return ctx->err ? ctx->err : rc;
}

/*
 * Turn 2FA on with the first code of the new seed (VC_OP_RAW: a wrong
 * code must count, and may end the session, although the call fails).
 * Only a TOTP code: it proves the app holds the seed.
 */
/* The state a verify needs: a secret set up, 2FA not on yet. */
static int
verify_state(vc_ctx *ctx, struct totp_state *st)
{
	int rc = load_state(ctx, ctx->who.tenant_id, ctx->who.user_id, st);

	if (rc == 0 && st->enabled)
		rc = vc_fail(ctx, VC_ECONFLICT, "two-factor authentication is already on");
	else if (rc == 0 && st->sealed == NULL)
		rc = vc_fail(ctx, VC_EINVAL, "nothing to verify: run '2fa setup' first");
	return rc;
}

static int
verify_body(vc_ctx *ctx, void *arg)
{
	struct code_tx *c = arg;
	const char *tid = ctx->who.tenant_id, *uid = ctx->who.user_id;
	struct totp_state st;
	int rc;

	c->wrong = 0;
	if ((rc = verify_state(ctx, &st)) == 0 &&    /* again, under the lock */
	    (rc = accept_code(ctx, tid, uid, &st, vc_arg_str(c->args, "code"))) == VC_EAUTH)
		c->wrong = 1;
	state_release(&st);
	if (rc != 0)
		return rc;
	if ((rc = vc_sql_exec(ctx, "UPDATE users SET totp_enabled_at = ?1, updated_at = ?1"
	    " WHERE tenant_id = ?2 AND id = ?3", NULL, "iss", vc_now(ctx), tid, uid)) != 0)
		return rc;
	return finish(ctx, c->key, "auth.2fa.verify", "2FA turned on");
}

int
vc_op_2fa_verify(vc_ctx *ctx, jv args, jv *out)
{
	struct totp_state st = { 0 };
	char key[VC_ID_LEN + 8];
	struct code_tx c = { args, key, 0, 0 };
	int rc;

	if ((rc = need_session(ctx)) != 0)
		return rc;
	/* What cannot succeed is refused before an attempt is counted. */
	rc = verify_state(ctx, &st);
	state_release(&st);
	if (rc != 0)
		return rc;
	strike_key(ctx, key, sizeof key);
	if ((rc = vc_auth_throttle(ctx, key, "wrong codes")) != 0 ||
	    (rc = code_tx(ctx, verify_body, &c, "2FA stays off")) != 0)
		return rc;
	*out = jv_object_set(jv_object(), jv_string("totp_enabled"), jv_true());
	return 0;
}

/* disable's checks before the write lock: 2FA on, the tenant not requiring
 * it (before an attempt is counted), the password right (argon2, slow). */
static int
disable_checks(vc_ctx *ctx, jv args, const char *key)
{
	struct totp_state st;
	int rc, rehash;

	if ((rc = load_state(ctx, ctx->who.tenant_id, ctx->who.user_id, &st)) != 0)
		return rc;
	if (!st.enabled)
		rc = vc_fail(ctx, VC_EINVAL, "two-factor authentication is not on");
	else if (st.require)
		rc = vc_fail(ctx, VC_EPERM, "your tenant requires two-factor authentication: "
		    "it cannot be turned off");
	else if ((rc = vc_auth_throttle(ctx, key, "wrong codes")) != 0)
		;
	else if ((rc = vc_password_verify(ctx, st.hash, vc_arg_str(args, "current_password"),
	    &rehash)) == VC_EAUTH) {
		snprintf(ctx->audit_reason, sizeof ctx->audit_reason, "wrong current password");
		strike(ctx, key);
		rc = vc_fail(ctx, VC_EAUTH, "the current password is wrong");
	}
	state_release(&st);
	return rc;
}

static int
disable_body(vc_ctx *ctx, void *arg)
{
	struct code_tx *c = arg;
	const char *tid = ctx->who.tenant_id, *uid = ctx->who.user_id;
	int rc;

	c->wrong = 0;
	if ((rc = vc_twofa_check(ctx, tid, uid, vc_arg_str(c->args, "code"), &c->recovery)) != 0) {
		c->wrong = rc == VC_EAUTH;
		return rc;
	}
	if ((rc = vc_sql_exec(ctx, "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL,"
	    " totp_last_step = 0, updated_at = ?1 WHERE tenant_id = ?2 AND id = ?3", NULL, "iss",
	    vc_now(ctx), tid, uid)) != 0 ||
	    (rc = vc_sql_exec(ctx, "DELETE FROM recovery_codes WHERE tenant_id = ?1 AND user_id = ?2",
	    NULL, "ss", tid, uid)) != 0)
		return rc;
	return finish(ctx, c->key, "auth.2fa.disable", c->recovery ?
	    "2FA turned off with a recovery code" : "2FA turned off");
}

/* Turn 2FA off: the password and a code (or a recovery code) both. */
int
vc_op_2fa_disable(vc_ctx *ctx, jv args, jv *out)
{
	char key[VC_ID_LEN + 8];
	struct code_tx c = { args, key, 0, 0 };
	int rc;

	if ((rc = need_session(ctx)) != 0)
		return rc;
	strike_key(ctx, key, sizeof key);
	if ((rc = disable_checks(ctx, args, key)) != 0 ||
	    (rc = code_tx(ctx, disable_body, &c, "2FA stays on")) != 0)
		return rc;
	*out = jv_object_set(jv_object(), jv_string("totp_enabled"), jv_false());
	return 0;
}
