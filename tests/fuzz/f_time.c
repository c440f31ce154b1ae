/* SPDX-License-Identifier: MIT */
/*
 * f_time.c - the time and duration parsers (lib/core/ctx.c) that read
 * --since, --until, expiry and retention arguments from CLI and HTTP
 * callers alike.  The clock is fixed, so results reproduce.
 *
 * Invariants: a duration is digits and at most one unit letter, never
 * negative, and its value spelt in seconds parses back to itself; a
 * time either parses with the context untouched or fails with VC_EUSAGE
 * and a message; "-DURATION" is that long before now; an accepted
 * offset is +HH:MM or -HH:MM in digits within a day; and any accepted
 * time, formatted as RFC 3339, parses back to the same second.
 */
#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "core/vc.h"
#include "fuzz.h"

#define NOW INT64_C(1767225600)         /* 2026-01-01T00:00:00Z */

static int64_t
fixed_clock(void *arg)
{
	(void)arg;
	return NOW;
}

static void
check_duration(const char *s)
{
	char buf[32];
	int64_t d, again;
	size_t n = strlen(s), digits = strspn(s, "0123456789");

	if (vc_duration_parse(s, &d) != 0)
		return;
	check(d >= 0);
	check(digits >= 1 && (digits == n || (digits + 1 == n && strchr("smhdw", s[n - 1]))));
	snprintf(buf, sizeof buf, "%" PRId64 "s", d);
	check(vc_duration_parse(buf, &again) == 0 && again == d);
}

/* "+HH:MM" / "-HH:MM" at the end of s, if s ends with something like it. */
static void
check_offset(const char *s)
{
	size_t n = strlen(s);
	const char *p;

	if (n < 6 || strchr("zZ", s[n - 1]) != NULL)
		return;
	p = s + n - 6;
	if ((*p != '+' && *p != '-') || p[3] != ':')
		return;
	/* The date's own '-' can sit there too: "2026-01-31" ends "-01-31"
	 * but has no ':'.  With ':' it is an offset, and must be one. */
	check(isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
	    isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5]));
	check((p[1] - '0') * 10 + (p[2] - '0') <= 23 && (p[4] - '0') * 10 + (p[5] - '0') <= 59);
}

static void
check_time(vc_ctx *ctx, const char *s)
{
	char buf[64];
	int64_t t = -1, again, d;
	int rc;

	ctx->err = VC_EOK;
	ctx->errmsg[0] = '\0';
	rc = vc_time_parse(ctx, s, &t);
	if (rc != 0) {
		check(rc == VC_EUSAGE && ctx->err == VC_EUSAGE && ctx->errmsg[0] != '\0');
		return;
	}
	check(ctx->err == VC_EOK && ctx->errmsg[0] == '\0');
	if (strcmp(s, "now") == 0) {
		check(t == NOW);
		return;
	}
	if (s[0] == '-' && vc_duration_parse(s + 1, &d) == 0) {
		check(t == NOW - d);
		return;
	}
	check_offset(s);
	/* Years 0 to 9999 only (what strptime's %Y reads). */
	check(t >= INT64_C(-62167219200 - 86400 * 2) && t <= INT64_C(253402300799 + 86400 * 2));
	vc_time_fmt(t, buf, sizeof buf);
	if (t >= INT64_C(-62135596800)) {       /* year 1 on: four digits */
		check(vc_time_parse(ctx, buf, &again) == 0);
		check(again == t);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static vc_ctx ctx;
	static int ready;
	char *s = fuzz_cstr(data, size, 128);

	if (!ready) {
		vc_ctx_init(&ctx);
		ctx.clock = fixed_clock;
		ready = 1;
	}
	check_duration(s);
	check_time(&ctx, s);
	free(s);
	return 0;
}
