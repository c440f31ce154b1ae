/* SPDX-License-Identifier: MIT */
/* ctx.c - the operation context, error codes, ids, hashing and time helpers. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "core/vc.h"
#include "core/store.h"

static const struct {
	int exit, http;
	const char *name;
} errtab[VC_E__COUNT] = {
	[VC_EOK]       = {   0, 200, "ok" },
	[VC_EFINDINGS] = {   1, 200, "findings" },
	[VC_EUSAGE]    = {  64, 400, "bad_request" },
	[VC_EINVAL]    = {  65, 422, "invalid" },
	[VC_ECONFLICT] = {  65, 409, "conflict" },
	[VC_ETOOBIG]   = {  65, 413, "too_large" },
	[VC_ENOTFOUND] = {  66, 404, "not_found" },
	[VC_EUNAVAIL]  = {  69, 502, "unavailable" },
	[VC_EINTERNAL] = {  70, 500, "internal" },
	[VC_ETEMP]     = {  75, 503, "busy" },
	[VC_ERATE]     = {  75, 429, "rate_limited" },
	[VC_EAUTH]     = {  77, 401, "unauthenticated" },
	[VC_EPERM]     = {  77, 403, "forbidden" },
	[VC_ECONFIG]   = {  78, 500, "configuration" },
};

int
vc_err_exit(int err)
{
	return err >= 0 && err < VC_E__COUNT ? errtab[err].exit : 70;
}

int
vc_err_http(int err)
{
	return err >= 0 && err < VC_E__COUNT ? errtab[err].http : 500;
}

const char *
vc_err_name(int err)
{
	return err >= 0 && err < VC_E__COUNT ? errtab[err].name : "internal";
}

static const char *const roles[] = {
	[VC_ROLE_ANON] = "anonymous",
	[VC_ROLE_VIEWER] = "viewer",
	[VC_ROLE_ANALYST] = "analyst",
	[VC_ROLE_ADMIN] = "admin",
	[VC_ROLE_SUPERADMIN] = "superadmin",
};

const char *
vc_role_name(int role)
{
	return role >= 0 && role <= VC_ROLE_SUPERADMIN ? roles[role] : "unknown";
}

int
vc_role_parse(const char *s)
{
	if (s == NULL)
		return -1;
	for (int i = 0; i <= VC_ROLE_SUPERADMIN; i++)
		if (strcmp(s, roles[i]) == 0)
			return i;
	return -1;
}

int
vc_ctx_init(vc_ctx *ctx)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->audit_details = jv_invalid();
	ctx->bad_list = jv_invalid();
	/* Not abort(): lib/ never ends the process (see vc.h). */
	if (sodium_init() < 0)
		return vc_fail(ctx, VC_EINTERNAL, "cannot initialise libsodium (no entropy source)");
	return 0;
}

void
vc_ctx_release(vc_ctx *ctx)
{
	vc_store_close(ctx->store);
	ctx->store = NULL;
	jv_free(ctx->audit_details);
	ctx->audit_details = jv_invalid();
	jv_free(ctx->bad_list);
	ctx->bad_list = jv_invalid();
	free(ctx->raw);
	ctx->raw = NULL;
}

void
vc_ctx_reset(vc_ctx *ctx)
{
	struct vc_store *st = ctx->store;
	int64_t (*clock)(void *) = ctx->clock;
	void *clock_arg = ctx->clock_arg;
	int front = ctx->front;
	void (*notice)(vc_ctx *, const char *, void *) = ctx->notice;
	void *notice_arg = ctx->notice_arg;

	jv_free(ctx->audit_details);
	jv_free(ctx->bad_list);
	free(ctx->raw);
	memset(ctx, 0, sizeof *ctx);
	ctx->audit_details = jv_invalid();
	ctx->bad_list = jv_invalid();
	ctx->store = st;
	ctx->clock = clock;
	ctx->clock_arg = clock_arg;
	ctx->front = front;
	ctx->notice = notice;
	ctx->notice_arg = notice_arg;
}

int
vc_emit(vc_ctx *ctx, jv rec, jv *collect)
{
	if (ctx->emit != NULL)
		return ctx->emit(ctx, rec, ctx->stream_arg);
	if (!jv_is_valid(*collect)) {
		jv_free(*collect);
		*collect = jv_array();
	}
	*collect = jv_array_append(*collect, rec);
	return 0;
}

int
vc_emit_raw(vc_ctx *ctx, const char *json, size_t n, jv *collect)
{
	jv v;

	if (ctx->emit_raw != NULL)
		return ctx->emit_raw(ctx, json, n, ctx->stream_arg);
	v = jv_parse_sized(json, (int)n);
	if (!jv_is_valid(v)) {
		jv_free(v);
		v = jv_null();      /* stored rows were checked on the way in */
	}
	return vc_emit(ctx, v, collect);
}

void
vc_bad(vc_ctx *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ctx->bad_count++;
	if (ctx->report != NULL) {
		ctx->report(ctx, msg, ctx->stream_arg);
		return;
	}
	if (!jv_is_valid(ctx->bad_list)) {
		jv_free(ctx->bad_list);
		ctx->bad_list = jv_array();
	}
	if (jv_array_length(jv_copy(ctx->bad_list)) < 100)
		ctx->bad_list = jv_array_append(ctx->bad_list, jv_string(msg));
}

int64_t
vc_now(vc_ctx *ctx)
{
	if (ctx != NULL && ctx->clock != NULL)
		return ctx->clock(ctx->clock_arg);
	return (int64_t)time(NULL);
}

static _Thread_local struct {
	void (*fn)(void *, int);
	void *arg;
	int depth;
} waiter;

void
vc_wait_hook(void (*fn)(void *, int), void *arg)
{
	waiter.fn = fn;
	waiter.arg = arg;
	waiter.depth = 0;
}

void
vc_wait_begin(void)
{
	if (waiter.depth++ == 0 && waiter.fn != NULL)
		waiter.fn(waiter.arg, 1);
}

void
vc_wait_end(void)
{
	if (waiter.depth > 0 && --waiter.depth == 0 && waiter.fn != NULL)
		waiter.fn(waiter.arg, 0);
}

unsigned
vc_sleep(unsigned s)
{
	unsigned left;

	vc_wait_begin();
	left = sleep(s);
	vc_wait_end();
	return left;
}

int64_t
vc_now_ms(vc_ctx *ctx)
{
	struct timespec ts;

	if (ctx != NULL && ctx->clock != NULL)
		return ctx->clock(ctx->clock_arg) * 1000;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
vc_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
vc_fail(vc_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;

	ctx->err = err;
	va_start(ap, fmt);
	vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
	va_end(ap);
	return err;
}

/* The member key of args (owned), or invalid when args is no object. */
static jv
arg_get(jv args, const char *key)
{
	if (jv_get_kind(args) != JV_KIND_OBJECT)
		return jv_invalid();
	return jv_object_get(jv_copy(args), jv_string(key));
}

static jv_kind
arg_kind(jv args, const char *key)
{
	jv v = arg_get(args, key);
	jv_kind k = jv_get_kind(v);

	jv_free(v);
	return k;
}

const char *
vc_arg_str(jv args, const char *key)
{
	jv v = arg_get(args, key);
	const char *s = NULL;

	/* The string lives as long as args holds its reference. */
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);
	jv_free(v);
	return s;
}

int
vc_arg_bool(jv args, const char *key)
{
	return arg_kind(args, key) == JV_KIND_TRUE;
}

int
vc_arg_has(jv args, const char *key)
{
	jv_kind k = arg_kind(args, key);

	return k != JV_KIND_INVALID && k != JV_KIND_NULL;
}

int64_t
vc_arg_int(jv args, const char *key, int64_t def)
{
	jv v = jv_object_get(jv_copy(args), jv_string(key));
	int64_t r = jv_get_kind(v) == JV_KIND_NUMBER ? (int64_t)jv_number_value(v) : def;

	jv_free(v);
	return r;
}

void
vc_new_id(char *buf)
{
	unsigned char b[16];

	randombytes_buf(b, sizeof b);
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(buf, VC_ID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
}

void
vc_new_id_v7(char *buf)
{
	static _Thread_local unsigned char pool[4096];
	static _Thread_local size_t used = sizeof pool;
	static _Thread_local uint64_t last_ms;
	static _Thread_local unsigned seq;
	unsigned char b[16];
	struct timespec ts;
	uint64_t ms;

	if (used + 10 > sizeof pool) {
		randombytes_buf(pool, sizeof pool);
		used = 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	/* rand_a is a counter within one millisecond (RFC 9562, 6.2
	 * method 1), started at a random value; past its 12 bits the
	 * clock is moved on by hand. */
	if (ms <= last_ms) {
		ms = last_ms;
		if (++seq > 0xfff) {
			ms = ++last_ms;
			seq = 0;
		}
	} else
		seq = pool[used] & 0x3ff;
	last_ms = ms;
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | (seq >> 8));
	b[7] = (unsigned char)seq;
	memcpy(b + 8, pool + used + 1, 8);
	used += 10;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(buf, VC_ID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
}

int
vc_is_id(const char *s)
{
	if (s == NULL || strlen(s) != VC_ID_LEN)
		return 0;
	for (int i = 0; i < VC_ID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

uint64_t
vc_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

uint64_t
vc_hash_str(const char *s)
{
	return vc_hash(s, strlen(s));
}

size_t
vc_fmt_u64(char *buf, uint64_t v)
{
	char t[20];
	size_t n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		buf[i] = t[n - 1 - i];
	buf[n] = '\0';
	return n;
}

size_t
vc_fmt_i64(char *buf, int64_t v)
{
	if (v >= 0)
		return vc_fmt_u64(buf, (uint64_t)v);
	buf[0] = '-';
	return 1 + vc_fmt_u64(buf + 1, 0 - (uint64_t)v);
}

/* The digits of v, w of them, at p. */
static void
digits(char *p, int64_t v, int w)
{
	while (w-- > 0) {
		p[w] = (char)('0' + v % 10);
		v /= 10;
	}
}

/*
 * Every time a list shows is formatted here (a page of 50 hosts, 200
 * times): the date from the day number by the civil calendar's
 * arithmetic (the proleptic Gregorian calendar, as gmtime), not through
 * gmtime_r and strftime, which cost most of a page's formatting.  Years
 * 1000 to 9999 only (strftime writes others with other widths); any
 * other time, or a short buffer, goes the slow way (t_time compares).
 */
void
vc_time_fmt(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t >= -30610224000LL && t < 253402300800LL && n >= 21) {
		int64_t days = (t >= 0 ? t : t - 86399) / 86400, sec = t - days * 86400;
		int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
		int64_t doe = z - era * 146097;
		int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
		int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
		int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
		int64_t y = yoe + era * 400 + (m <= 2);

		memcpy(buf, "0000-00-00T00:00:00Z", 21);
		digits(buf, y, 4);
		digits(buf + 5, m, 2);
		digits(buf + 8, d, 2);
		digits(buf + 11, sec / 3600, 2);
		digits(buf + 14, sec / 60 % 60, 2);
		digits(buf + 17, sec % 60, 2);
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
vc_time_fmt_ms(int64_t ms, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)(ms / 1000);
	char s[32];

	gmtime_r(&tt, &tm);
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%03dZ", s, (int)(ms % 1000));
}

int
vc_duration_parse(const char *s, int64_t *out)
{
	char *end;
	long long v;
	int64_t mul = 1;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v < 0)
		return -1;
	switch (*end) {
	case '\0': break;
	case 's': mul = 1; end++; break;
	case 'm': mul = 60; end++; break;
	case 'h': mul = 3600; end++; break;
	case 'd': mul = 86400; end++; break;
	case 'w': mul = 7 * 86400; end++; break;
	default: return -1;
	}
	if (*end != '\0' || __builtin_mul_overflow((int64_t)v, mul, out))
		return -1;
	return 0;
}

int
vc_time_parse(vc_ctx *ctx, const char *s, int64_t *out)
{
	struct tm tm;
	const char *p;
	int64_t d;

	if (s == NULL || *s == '\0')
		return vc_fail(ctx, VC_EUSAGE, "empty time");
	if (strcmp(s, "now") == 0) {
		*out = vc_now(ctx);
		return 0;
	}
	if (*s == '-' && vc_duration_parse(s + 1, &d) == 0) {
		*out = vc_now(ctx) - d;
		return 0;
	}
	memset(&tm, 0, sizeof tm);
	p = strptime(s, "%Y-%m-%d", &tm);
	if (p != NULL && (*p == 'T' || *p == 't' || *p == ' '))
		p = strptime(p + 1, "%H:%M:%S", &tm);
	if (p != NULL) {
		if (*p == '.')      /* fractional seconds are dropped */
			for (p++; isdigit((unsigned char)*p); p++)
				;
		/* Z ends the text: nothing may follow it. */
		if (((*p == 'Z' || *p == 'z') && p[1] == '\0') || *p == '\0') {
			*out = (int64_t)timegm(&tm);
			return 0;
		}
		/* RFC 3339 time-numoffset: +HH:MM or -HH:MM, in digits, within a day. */
		if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' &&
		    isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
		    isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5])) {
			int hh = (p[1] - '0') * 10 + (p[2] - '0');
			int mm = (p[4] - '0') * 10 + (p[5] - '0');
			int64_t off = (int64_t)hh * 3600 + mm * 60;

			if (hh <= 23 && mm <= 59) {
				*out = (int64_t)timegm(&tm) - (*p == '+' ? off : -off);
				return 0;
			}
		}
	}
	return vc_fail(ctx, VC_EUSAGE,
	    "bad time '%.64s': want RFC 3339 (2026-01-31T12:00:00Z), a date, 'now' or -DURATION (-2h, -7d)", s);
}
