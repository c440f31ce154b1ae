/* SPDX-License-Identifier: MIT */
/*
 * t_time.c - times and durations as arguments (lib/core/ctx.c), with a
 * fixed clock: RFC 3339 with Z or an offset, dates, "now", -DURATION,
 * and what is refused.  Offsets that are not digits or not within a day
 * ("+5a:00", "+99:99") and text after the Z were found by
 * tests/fuzz/f_time.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/vc.h"
#include "tap.h"

#define NOW 1767225600LL        /* 2026-01-01T00:00:00Z */

static int64_t
fixed(void *arg)
{
	(void)arg;
	return NOW;
}

int
main(void)
{
	static const struct {
		const char *s;
		long long t;
	} good[] = {
		{ "2026-01-31T12:00:00Z", 1769860800LL },
		{ "2026-01-31t12:00:00z", 1769860800LL },
		{ "2026-01-31 12:00:00", 1769860800LL },
		{ "2026-01-31T12:00:00.999Z", 1769860800LL },
		{ "2026-01-31T12:00:00+05:30", 1769860800LL - 5 * 3600 - 30 * 60 },
		{ "2026-01-31T12:00:00-08:00", 1769860800LL + 8 * 3600 },
		{ "2026-01-31T12:00:00+23:59", 1769860800LL - 23 * 3600 - 59 * 60 },
		{ "2026-01-31", 1769817600LL },
		{ "now", NOW },
		{ "-2h", NOW - 7200 },
		{ "-7d", NOW - 7 * 86400 },
		{ "-1w", NOW - 7 * 86400 },
		{ "-90", NOW - 90 },
	};
	static const char *const bad[] = {
		"", "yesterday", "2026-13-01", "2026-01-31T25:00:00Z", "2026-01-31T12:00:00+5a:00",
		"2026-01-31T12:00:00+99:99", "2026-01-31T12:00:00+24:00", "2026-01-31T12:00:00+05:60",
		"2026-01-31T12:00:00+0530", "2026-01-31T12:00:00+05:30x", "2026-01-31T12:00:00 Z",
		"-", "-2y", "-2hh",
		/* Found by tests/fuzz/f_time.c: text after the Z was ignored. */
		"2026-01-31T12:00:00Zjunk", "6-01-31t00:00:00z2026-01-31T12:00:00+00:99",
		"2026-01-31T12:00:00.5ZZ",
	};
	static const struct {
		const char *s;
		long long d;
	} durations[] = {
		{ "0", 0 }, { "3600", 3600 }, { "15m", 900 }, { "2h", 7200 }, { "90d", 7776000 },
		{ "1w", 604800 }, { "9223372036854775807", 9223372036854775807LL },
	};
	static const char *const bad_durations[] = {
		"", "-1", "+1", " 1", "1x", "1hh", "h", "9223372036854775807s0",
		"9223372036854775807m", "99999999999999999999",
	};
	vc_ctx ctx;
	int64_t t;

	vc_ctx_init(&ctx);
	ctx.clock = fixed;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		t = 0;
		ok(vc_time_parse(&ctx, good[i].s, &t) == 0 && t == good[i].t, "time '%s'", good[i].s);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ctx.errmsg[0] = '\0';
		ok(vc_time_parse(&ctx, bad[i], &t) == VC_EUSAGE && ctx.errmsg[0] != '\0',
		    "time '%s' refused", bad[i]);
	}
	for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
		t = -1;
		ok(vc_duration_parse(durations[i].s, &t) == 0 && t == durations[i].d,
		    "duration '%s'", durations[i].s);
	}
	for (size_t i = 0; i < sizeof bad_durations / sizeof bad_durations[0]; i++)
		ok(vc_duration_parse(bad_durations[i], &t) == -1, "duration '%s' refused",
		    bad_durations[i]);
	/* vc_time_fmt's own arithmetic against gmtime_r and strftime:
	 * every day from 1600 to 2500 at a moving time of day, the ends of
	 * its range, and times outside it (formatted the slow way). */
	{
		static const long long edge[] = { 0, -1, 1, 86399, 86400, 951782400, 951868800,
		    4107542400LL, -62167219200LL, -30610224000LL, -30610224001LL, 253402300799LL, 253402300800LL,
		    -11644473600LL, 1767225600LL };
		int wrong = 0;
		for (long long day = -135140; day <= 193530 && wrong < 5; day++) {
			long long tt = day * 86400 + (day * 7919) % 86400;
			char a[32], b[32];
			time_t x = (time_t)tt;
			struct tm tm;
			gmtime_r(&x, &tm);
			strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
			vc_time_fmt(tt, a, sizeof a);
			if (strcmp(a, b) != 0 && wrong++ == 0)
				printf("# %lld: %s, want %s\n", tt, a, b);
		}
		ok(wrong == 0, "vc_time_fmt: every day of 1600 to 2500 as gmtime_r and strftime write it");
		for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
			char a[32], b[32];
			time_t x = (time_t)edge[i];
			struct tm tm;
			gmtime_r(&x, &tm);
			strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
			vc_time_fmt(edge[i], a, sizeof a);
			ok(strcmp(a, b) == 0, "vc_time_fmt(%lld): %s", edge[i], a);
		}
	}
	vc_ctx_release(&ctx);
	return done_testing();
}
