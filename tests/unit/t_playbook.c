/* SPDX-License-Identifier: MIT */
/*
 * t_playbook.c - the pure parts of vc-playbook (lib/playbook.c,
 * lib/pbrun.c): cron fields and their ranges, the next run in a time
 * zone across a daylight saving change, template paths, and templates
 * rendered as values (a lone template keeps its JSON kind; text around
 * templates makes text; an event's text never becomes anything else),
 * and the store's deadline that bounds a step's database action (the
 * wait for the write lock, a statement that runs too long).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/store.h"
#include "pbint.h"
#include "tap.h"

static int64_t
cron_next(const char *expr, const char *tz, int64_t t)
{
	struct vc_pb_cron cr;
	char why[160];

	if (vc_pb_cron_parse(expr, &cr, why, sizeof why) != 0)
		return -2;
	return vc_pb_cron_next(&cr, tz, t);
}

static const char *
cron_why(const char *expr)
{
	static char why[160];
	struct vc_pb_cron cr;

	if (vc_pb_cron_parse(expr, &cr, why, sizeof why) == 0)
		return "ok";
	return why;
}

/* The JSON text of template s rendered in scope (text), or "!" + why. */
static const char *
render(const char *tmpl, const char *scope, int plan)
{
	static char out[512];
	char why[200];
	int pending = 0;
	jv sc = jv_parse(scope), r = vc_pb_render(jv_parse(tmpl), sc, plan, &pending, why, sizeof why);

	if (!jv_is_valid(r))
		snprintf(out, sizeof out, "!%s", why);
	else {
		jv t = jv_dump_string(r, 0);

		snprintf(out, sizeof out, "%s%s", jv_string_value(t), pending ? " (pending)" : "");
		jv_free(t);
	}
	jv_free(sc);
	return out;
}

/* vc_store_deadline: a second connection holds the write lock; the
 * first, under a deadline, gives up when it passes, not after the usual
 * 10 s; a statement that runs past it is stopped; without it, both work. */
static void
deadline_tests(void)
{
	char dir[] = "/tmp/t_playbook.XXXXXX", db[64];
	vc_ctx a, b;
	int64_t t0;
	int rc;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(db, sizeof db, "%s/vc.db", dir);
	vc_ctx_init(&a);
	vc_ctx_init(&b);
	ok(vc_store_open(&a, db, VC_STORE_CREATE | VC_STORE_NOKEY) == 0, "store: %s", a.errmsg);
	ok(vc_store_open(&b, db, VC_STORE_NOKEY) == 0, "a second connection: %s", b.errmsg);
	ok(vc_tx_begin(&b) == 0, "the second takes the write lock");
	vc_store_deadline(&a, 300);
	t0 = vc_mono_ms();
	rc = vc_tx_begin(&a);
	is_int(rc, VC_ETEMP, "under a deadline of 300 ms, the first gives up waiting for the lock");
	ok(strstr(a.errmsg, "timed out waiting for the write lock") != NULL, "... saying so: %s", a.errmsg);
	ok(vc_mono_ms() - t0 >= 250 && vc_mono_ms() - t0 < 3000, "... when the deadline passes (%lld ms)",
	    (long long)(vc_mono_ms() - t0));
	ok(vc_store_past_deadline(&a), "... which has passed");
	vc_tx_rollback(&b);
	vc_store_deadline(&a, 200);
	t0 = vc_mono_ms();
	rc = vc_sql_exec(&a, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
	    " WHERE i < 1000000000) SELECT COUNT(*) FROM n", NULL, "");
	is_int(rc, VC_ETEMP, "a statement running past the deadline is stopped");
	ok(vc_mono_ms() - t0 < 3000, "... soon after it (%lld ms)", (long long)(vc_mono_ms() - t0));
	vc_store_deadline(&a, 0);
	ok(!vc_store_past_deadline(&a), "no deadline: none passed");
	rc = vc_sql_exec(&a, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
	    " WHERE i < 200000) SELECT COUNT(*) FROM n", NULL, "");
	is_int(rc, 0, "without it, the statement runs to its end");
	ok(vc_tx_begin(&a) == 0, "... and the lock is taken as usual");
	vc_tx_rollback(&a);
	vc_ctx_release(&a);
	vc_ctx_release(&b);
	for (const char *const *x = (const char *const[]){ "", "-wal", "-shm", NULL }; *x; x++) {
		char f[80];

		snprintf(f, sizeof f, "%s%s", db, *x);
		unlink(f);
	}
	rmdir(dir);
}

int
main(void)
{
	const char *sc = "{\"event\": {\"score\": 0.9, \"host_id\": \"H1\", \"tags\": [\"a\", \"b\"],"
	    " \"evil\": \"x\\\"; DROP TABLE hosts; --\"}, \"steps\": {\"case\": {\"case_id\": \"C9\"}}}";

	/* cron */
	is_str(cron_why("*/5 * * * *"), "ok", "*/5 * * * *");
	is_str(cron_why("0 6 * * 1-5"), "ok", "0 6 * * 1-5");
	is_str(cron_why("0,30 8-18/2 1 1,6,12 0,7"), "ok", "lists, ranges with steps, Sunday as 0 and 7");
	is_str(cron_why("61 * * * *"), "minute field '61' is not 0-59 (*, N, A-B, /STEP, lists)",
	    "minute 61 is out of range");
	is_str(cron_why("* 24 * * *"), "hour field '24' is not 0-23 (*, N, A-B, /STEP, lists)", "hour 24");
	is_str(cron_why("* * 0 * *"), "day of month field '0' is not 1-31 (*, N, A-B, /STEP, lists)", "day 0");
	is_str(cron_why("* * * 13 *"), "month field '13' is not 1-12 (*, N, A-B, /STEP, lists)", "month 13");
	is_str(cron_why("* * * * 8"), "day of week field '8' is not 0-7 (*, N, A-B, /STEP, lists)", "weekday 8");
	is_str(cron_why("5-2 * * * *"), "minute field '5-2' is not 0-59 (*, N, A-B, /STEP, lists)", "a backwards range");
	is_str(cron_why("*/0 * * * *"), "minute field '*/0' is not 0-59 (*, N, A-B, /STEP, lists)", "a step of 0");
	is_str(cron_why("* * * *"), "five fields: minute hour day-of-month month day-of-week", "four fields");
	is_str(cron_why("* * * * * *"), "five fields: minute hour day-of-month month day-of-week", "six fields");
	/* 2026-03-28 12:00 UTC is a Saturday; Berlin goes to summer time on
	 * Sunday 2026-03-29 at 01:00 UTC. */
	is_int(cron_next("0 6 * * *", "UTC", 1774699200), 1774764000, "06:00 UTC the next morning");
	is_int(cron_next("0 6 * * *", "Europe/Berlin", 1774699200), 1774756800,
	    "06:00 in Berlin on the first day of summer time is 04:00 UTC");
	is_int(cron_next("0 6 * * 1-5", "Europe/Berlin", 1774699200), 1774843200,
	    "weekdays only: Monday 06:00 Berlin (04:00 UTC)");
	is_int(cron_next("* * * * *", "UTC", 1774699230), 1774699260, "every minute: the next whole minute");
	/* Both day fields restricted: either matches (Vixie cron, POSIX).
	 * Friday 2026-01-30 12:00 UTC; 2026-02-01 is a Sunday. */
	is_int(cron_next("0 0 1 * 1", "UTC", 1769774400), 1769904000,
	    "1st or Monday: Sunday the 1st of February, across the month's end");
	is_int(cron_next("0 0 1 * 1", "UTC", 1769904030), 1769990400,
	    "... then Monday the 2nd, which is no 1st");
	is_int(cron_next("0 0 31 * 5", "UTC", 1769817630), 1770336000,
	    "31st or Friday, from Saturday 31 January: Friday 6 February (February has no 31st)");
	is_int(cron_next("0 0 29 2 0", "UTC", 1772150400), 1801958400,
	    "29 February or a Sunday of February, from 27 February 2026: Sunday 7 February 2027");
	/* A day field that begins with '*' makes the other one decide. */
	is_int(cron_next("0 0 * * 1", "UTC", 1769774400), 1769990400, "* * 1: Mondays only");
	is_int(cron_next("0 0 1 * *", "UTC", 1769774400), 1769904000, "1 * *: the 1st only");
	is_int(cron_next("0 0 */2 * 1", "UTC", 1769774400), 1770595200,
	    "*/2 * 1: both (odd days that are Mondays): 9 February, not 1 February");
	is_int(cron_next("0 0 1 * */7", "UTC", 1769774400), 1769904000,
	    "1 * */7 (a day of week beginning with '*'): both, and 1 February is a Sunday");

	/* template paths */
	ok(vc_pb_ref_syntax("steps.case.case_id") == 0, "steps.case.case_id is a path");
	ok(vc_pb_ref_syntax("tags.0") == 0, "an index is a path part");
	ok(vc_pb_ref_syntax("a..b") != 0, "an empty part is not");
	ok(vc_pb_ref_syntax("a b") != 0, "a space is not");
	ok(vc_pb_ref_syntax("a|env") != 0, "jq or shell syntax is not");

	/* rendering */
	is_str(render("\"${score}\"", sc, 0), "0.9", "a lone template keeps its number");
	is_str(render("\"${event.tags}\"", sc, 0), "[\"a\",\"b\"]", "... or its array");
	is_str(render("\"${tags.1}\"", sc, 0), "\"b\"", "an index into an array");
	is_str(render("\"score ${score} on ${host_id}\"", sc, 0), "\"score 0.9 on H1\"", "text around templates is text");
	is_str(render("{\"q\": [\"${evil}\"]}", sc, 0), "{\"q\":[\"x\\\"; DROP TABLE hosts; --\"]}",
	    "an event's text stays one string value, quotes and all");
	is_str(render("\"case ${steps.case.case_id}\"", sc, 0), "\"case C9\"", "an earlier step's output");
	is_str(render("\"${nope}\"", sc, 0), "!${nope}: no such field in the event", "a missing field fails");
	is_str(render("\"${steps.x.y}\"", sc, 0), "!${steps.x.y}: no such field in that step's output",
	    "a missing output fails when running");
	is_str(render("\"${steps.x.y}\"", sc, 1), "\"${steps.x.y}\" (pending)", "... and stays a template in a plan");
	is_str(render("\"${score\"", sc, 0), "!unterminated ${", "an unterminated template");
	is_str(render("{\"n\": 3, \"b\": true}", sc, 0), "{\"n\":3,\"b\":true}", "values without templates stay");
	deadline_tests();
	return done_testing();
}
