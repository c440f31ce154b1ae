/* SPDX-License-Identifier: MIT */
/*
 * t_jqprog.c - a caller's jq program is checked, then run in a child
 * process under limits: the programs that crashed, hung, read files or
 * leaked the environment of vc-serve (issue 9) now each fail with a
 * clear message, and this process survives every one of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json/jqprog.h"
#include "tap.h"

static vc_ctx ctx;

/* Open prog and test it on one row: the verdict, or -9 when refused. */
static int
one(const char *prog, const char *row, const struct vc_jq_limits *lim, char *err, size_t en)
{
	struct vc_jq *j;
	int rc;

	err[0] = '\0';
	ctx.errmsg[0] = '\0';
	if (vc_jq_open(&ctx, "--where", prog, lim, &j) != 0)
		return -9;
	rc = vc_jq_test(&ctx, j, row, strlen(row), err, en);
	vc_jq_close(j);
	return rc;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct vc_jq_limits quick = { .row_ms = 1500, .cpu_s = 5, .mem_mb = 128 };
	struct vc_jq *j;
	char err[300];
	int rc;

	/* The child is this same executable, started again. */
	if (argc == 2 && strcmp(argv[1], VC_JQ_CHILD_ARG) == 0)
		return vc_jq_child_main();
	vc_ctx_init(&ctx);
	setenv("VC_TEST_SECRET", "hunter2-secret", 1);

	/* Plain programs work as jq does. */
	is_int(one(".Name == \"evil.exe\"", "{\"Name\":\"evil.exe\"}", NULL, err, sizeof err), 1,
	    "a plain filter: true");
	is_int(one(".Name == \"evil.exe\"", "{\"Name\":\"calc.exe\"}", NULL, err, sizeof err), 0,
	    "... false");
	is_int(one(".missing", "{}", NULL, err, sizeof err), 0, "null is false");
	is_int(one("empty", "{}", NULL, err, sizeof err), 0, "no output is false");
	is_int(one(".a | test(\"^x+$\")", "{\"a\":\"xxx\"}", NULL, err, sizeof err), 1, "regular expressions work");
	is_int(one("\"\\(.env) \\(.input)\" | length > 0", "{\"env\":\"prod\",\"input\":1}", NULL, err, sizeof err), 1,
	    "fields named env and input, inside an interpolation, are fields");
	is_int(one("{env: 1, input: 2} | .env == 1", "{}", NULL, err, sizeof err), 1, "object keys named env are keys");
	is_int(one(".a.b", "{\"a\":\"text\"}", NULL, err, sizeof err), 2, "an error on a row is that row's");
	ok(strstr(err, "Cannot index string") != NULL, "... with jq's message: %s", err);

	/* Refused before anything runs: VC_EUSAGE naming the word. */
	{
		static const char *const bad[][2] = {
			{ "import \"x\" as $s; true", "import" },
			{ "include \"x\"; true", "include" },
			{ "error($ENV.VC_TEST_SECRET)", "$ENV" },
			{ "env.VC_TEST_SECRET", "env" },
			{ "[inputs]", "inputs" },
			{ "input", "input" },
			{ ". as $x | \"\\(env)\"", "env" },
			{ "debug | true", "debug" },
			{ "stderr", "stderr" },
			{ "input_filename", "input_filename" },
			{ "$__loc__", "$__loc__" },
			{ "halt_error", "halt_error" },
			{ "get_search_list", "get_search_list" },
			{ "x::y", "x::" },
		};
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			rc = one(bad[i][0], "{}", NULL, err, sizeof err);
			ok(rc == -9 && ctx.err == VC_EUSAGE && strstr(ctx.errmsg, bad[i][1]) != NULL,
			    "refused: %s (%s)", bad[i][0], ctx.errmsg);
		}
	}
	rc = one("\"unterminated", "{}", NULL, err, sizeof err);
	ok(rc == -9 && ctx.err == VC_EUSAGE, "an unterminated string is refused: %s", ctx.errmsg);
	rc = one(".a |||", "{}", NULL, err, sizeof err);
	ok(rc == -9 && ctx.err == VC_EUSAGE && strstr(ctx.errmsg, "--where") != NULL,
	    "a program that does not compile: usage error with jq's reason: %s", ctx.errmsg);
	{
		char big[VC_JQ_PROG_MAX + 10];
		memset(big, ' ', sizeof big - 2);
		big[0] = '.';
		big[sizeof big - 2] = 'a';
		big[sizeof big - 1] = '\0';
		rc = one(big, "{}", NULL, err, sizeof err);
		ok(rc == -9 && ctx.err == VC_EUSAGE, "a program over %d bytes is refused", VC_JQ_PROG_MAX);
	}

	/* Run, and stopped: VC_EINVAL naming the limit; we survive. */
	{
		double t0 = now_s();
		rc = one("until(false; .)", "{}", &quick, err, sizeof err);
		ok(rc == -1 && ctx.err == VC_EINVAL && strstr(ctx.errmsg, "longer than 1500 ms") != NULL,
		    "an endless loop is stopped at its deadline: %s", ctx.errmsg);
		ok(now_s() - t0 < 30, "... and does not hold the caller for long");
	}
	rc = one("reduce range(300000) as $i (null; [.]) | false", "{}", &quick, err, sizeof err);
	ok(rc == -1 && ctx.err == VC_EINVAL, "a nesting that overflows the child's stack: stopped (%s)", ctx.errmsg);
	rc = one("reduce range(40) as $i (\"xx\"; . + .) | length > 0", "{}", &quick, err, sizeof err);
	ok(rc == -1 && ctx.err == VC_EINVAL && strstr(ctx.errmsg, "memory") != NULL,
	    "a program that eats memory: stopped (%s)", ctx.errmsg);

	/* One child for many rows; a dead child is an error, not a hang. */
	ok(vc_jq_open(&ctx, "--where", ".n % 2 == 0", NULL, &j) == 0, "open once");
	{
		int kept = 0, bad = 0;
		for (int i = 0; i < 1000; i++) {
			char row[64];
			snprintf(row, sizeof row, "{\"n\":%d}", i);
			rc = vc_jq_test(&ctx, j, row, strlen(row), err, sizeof err);
			if (rc == 1)
				kept++;
			else if (rc != 0)
				bad++;
		}
		is_int(kept, 500, "1000 rows through one child: every other one kept");
		is_int(bad, 0, "... no error");
		rc = vc_jq_test(&ctx, j, "not json", 8, err, sizeof err);
		ok(rc == 2 && strstr(err, "not JSON") != NULL, "a row that is not JSON is that row's error");
	}
	vc_jq_close(j);
	vc_jq_close(NULL);

	/* Value mode: a report's data query shapes rows into values. */
	{
		struct vc_jq_limits vl = { .row_ms = 2000, .values = 1 };
		const char *rows = "{\"hosts\":[{\"n\":\"b\",\"s\":2},{\"n\":\"a\",\"s\":9}]}";
		jv v;
		ok(vc_jq_open(&ctx, "data.top", "[.hosts[] | select(.s > 1)] | sort_by(-.s) | map(.n)", &vl, &j) == 0,
		    "a value program opens");
		rc = vc_jq_eval(&ctx, j, rows, strlen(rows), &v, err, sizeof err);
		{
			jv d = jv_dump_string(v, 0);
			is_str(rc == 0 ? jv_string_value(d) : ctx.errmsg, "[\"a\",\"b\"]", "its output comes back as a value");
			jv_free(d);
		}
		rc = vc_jq_eval(&ctx, j, "{\"hosts\":3}", 11, &v, err, sizeof err);
		ok(rc == 2 && strstr(err, "Cannot iterate") != NULL, "a row's error is that row's: %s", err);
		jv_free(v);
		rc = vc_jq_eval(&ctx, j, "{\"hosts\":[]}", 12, &v, err, sizeof err);
		ok(rc == 0 && jv_get_kind(v) == JV_KIND_ARRAY, "the child lives on after an error");
		jv_free(v);
		vc_jq_close(j);
		ok(vc_jq_open(&ctx, "data.x", "empty", &vl, &j) == 0 &&
		    vc_jq_eval(&ctx, j, "{}", 2, &v, err, sizeof err) == 0 && jv_get_kind(v) == JV_KIND_NULL,
		    "no output is null");
		jv_free(v);
		vc_jq_close(j);
		vl.row_ms = 300;
		ok(vc_jq_open(&ctx, "data.loop", "def f: f; f", &vl, &j) == 0, "a runaway value program opens");
		rc = vc_jq_eval(&ctx, j, "{}", 2, &v, err, sizeof err);
		ok(rc == -1 && strstr(ctx.errmsg, "longer than 300 ms") != NULL, "... and is stopped: %s", ctx.errmsg);
		jv_free(v);
		vc_jq_close(j);
	}

	ok(vc_jq_check(&ctx, "--when", ".score >= 0.8 and .classification == \"critical\"") == 0,
	    "vc_jq_check: a playbook condition passes");
	ok(vc_jq_check(&ctx, "--when", "$ENV") == VC_EUSAGE && strstr(ctx.errmsg, "--when") != NULL,
	    "vc_jq_check names the option: %s", ctx.errmsg);
	vc_ctx_release(&ctx);
	return done_testing();
}
