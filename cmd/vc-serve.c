/* SPDX-License-Identifier: MIT */
/* vc-serve - the operation table over HTTP; all logic is in front/http/. */
#include <errno.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "core/vc.h"
#include "core/net.h"
#include "core/store.h"
#include "json/jqprog.h"
#include "http/serve.h"

static void
usage(FILE *fp)
{
	fputs("usage: vc-serve [-hn] [--db path] [--listen addr:port] [--workers n] [--active n]\n"
	    "                [--cors-origin origin] [--max-body bytes] [--max-import bytes]\n"
	    "                [--allow-velociraptor addr|cidr] [--queue-max n] [--queue-wait s]\n"
	    "                [--max-streams n] [--body-deadline s] [--min-body-rate bytes]\n"
	    "                [--max-conns-per-ip n] [--auth-rate n] [--register-rate n]\n"
	    "                [--mail-interval s] [--playbook-interval s] [--forward-interval s]\n"
	    "                [--anchor-interval min] [--anchor-file file]\n"
	    "                [--event-retention duration]\n", fp);
}

/* The options that set a whole number of the config: long name, range. */
static const struct numopt {
	const char *name;
	size_t off;
	long long lo, hi;
	const char *unit;
} numopts[] = {
	{ "queue-max", offsetof(struct vc_serve_config, queue_max), 1, 1000000, "requests" },
	{ "queue-wait", offsetof(struct vc_serve_config, queue_wait), 1, 3600, "seconds" },
	{ "max-streams", offsetof(struct vc_serve_config, max_streams), 1, 256, "requests" },
	{ "body-deadline", offsetof(struct vc_serve_config, body_deadline), 0, 86400, "seconds" },
	{ "min-body-rate", offsetof(struct vc_serve_config, min_body_rate), 0, 1 << 30,
	    "bytes a second" },
	{ "max-conns-per-ip", offsetof(struct vc_serve_config, max_conns_per_ip), 1, 1000000,
	    "connections" },
	{ "auth-rate", offsetof(struct vc_serve_config, auth_rate), 0, 1000000, "a minute" },
	{ "register-rate", offsetof(struct vc_serve_config, register_rate), 0, 1000000,
	    "an hour" },
	{ "mail-interval", offsetof(struct vc_serve_config, mail_interval), 0, 3600, "seconds" },
	{ "playbook-interval", offsetof(struct vc_serve_config, playbook_interval), 0, 3600,
	    "seconds" },
	{ "active", offsetof(struct vc_serve_config, active), 1, 256, "workers" },
	{ "forward-interval", offsetof(struct vc_serve_config, forward_interval), 0, 3600,
	    "seconds" },
};
#define NUMOPT_BASE 1000        /* getopt_long's val of numopts[0] */

static int
die(vc_ctx *ctx, int rc)
{
	fprintf(stderr, "vc-serve: %s\n", ctx->errmsg[0] ? ctx->errmsg : vc_err_name(rc));
	return vc_err_exit(rc);
}

/* Access lines as they are; everything else is an error line. */
static void
log_line(void *arg, int kind, const char *line)
{
	(void)arg;
	if (kind == VC_SERVE_LOG_ACCESS)
		fprintf(stderr, "%s\n", line);
	else
		fprintf(stderr, "vc-serve: %s\n", line);
}

/* Whole decimal number in [lo, hi], else -1. */
static long long
number(const char *s, long long lo, long long hi)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < lo || v > hi)
		return -1;
	return v;
}

/*
 * Minutes as a decimal number ("10", "0.5"), 0 to 10080 (a week), as ms;
 * a fraction below a second is refused.  -1 when it is not one.
 */
static int64_t
minutes(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || !(v >= 0 && v <= 10080))
		return -1;
	if (v > 0 && v * 60000 < 1000)
		return -1;
	return (int64_t)(v * 60000);
}

/* SIGINT and SIGTERM are blocked everywhere and taken here, synchronously,
 * so stopping is an ordinary function call rather than a handler. */
static void *
sig_main(void *arg)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigwait(&set, &sig) == 0)
		vc_serve_stop(arg);
	return NULL;
}

/*
 * glibc gives the free memory at the top of a heap back to the kernel
 * once it passes 128 KiB (a threshold it raises as large blocks are
 * freed).  A search page allocates and frees more than that in every
 * worker and in the event loop, so each request paid page faults, and
 * every worker the others' TLB shootdowns, for memory given back a
 * moment before: a third of vc-serve's CPU time under a 32-client
 * search (bench/README.md, "Fifth sitting").  A server keeps it: up
 * to 16 MiB free at the top of each heap, and blocks up to 4 MiB taken
 * from the heaps rather than mapped and unmapped one by one.  The
 * peak does not move; memory freed stays with the process.  An
 * operator's own GLIBC_TUNABLES for malloc decide instead.
 */
static void
heap_keep(void)
{
#ifdef __GLIBC__
	const char *t = getenv("GLIBC_TUNABLES");

	if (t != NULL && strstr(t, "glibc.malloc.") != NULL)
		return;
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "cors-origin", required_argument, NULL, 'o' },
		{ "max-body", required_argument, NULL, 'b' },
		{ "max-import", required_argument, NULL, 'i' },
		{ "allow-velociraptor", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ "queue-max", required_argument, NULL, NUMOPT_BASE + 0 },
		{ "queue-wait", required_argument, NULL, NUMOPT_BASE + 1 },
		{ "max-streams", required_argument, NULL, NUMOPT_BASE + 2 },
		{ "body-deadline", required_argument, NULL, NUMOPT_BASE + 3 },
		{ "min-body-rate", required_argument, NULL, NUMOPT_BASE + 4 },
		{ "max-conns-per-ip", required_argument, NULL, NUMOPT_BASE + 5 },
		{ "auth-rate", required_argument, NULL, NUMOPT_BASE + 6 },
		{ "register-rate", required_argument, NULL, NUMOPT_BASE + 7 },
		{ "mail-interval", required_argument, NULL, NUMOPT_BASE + 8 },
		{ "playbook-interval", required_argument, NULL, NUMOPT_BASE + 9 },
		{ "active", required_argument, NULL, NUMOPT_BASE + 10 },
		{ "forward-interval", required_argument, NULL, NUMOPT_BASE + 11 },
		{ "anchor-interval", required_argument, NULL, 'A' },
		{ "anchor-file", required_argument, NULL, 'F' },
		{ "event-retention", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	struct vc_serve_config cfg;
	struct vc_serve *srv;
	vc_ctx ctx;
	sigset_t set;
	pthread_t sig_th;
	char url[160], path[4096];
	long long n;
	int ch, check = 0, rc;

	/* A caller's jq program runs in this same executable, started again. */
	if (argc == 2 && strcmp(argv[1], VC_JQ_CHILD_ARG) == 0)
		return vc_jq_child_main();
	heap_keep();
	vc_ctx_init(&ctx);
	vc_serve_config_init(&cfg);
	cfg.log = log_line;
	opterr = 0;     /* our own messages, in our own format */
	while ((ch = getopt_long(argc, argv, ":hn", longopts, NULL)) != -1) {
		if (ch >= NUMOPT_BASE && ch < NUMOPT_BASE + (int)(sizeof numopts / sizeof numopts[0])) {
			const struct numopt *o = &numopts[ch - NUMOPT_BASE];

			if ((n = number(optarg, o->lo, o->hi)) < 0) {
				fprintf(stderr, "vc-serve: --%s wants %lld to %lld (%s)\n", o->name,
				    o->lo, o->hi, o->unit);
				return VC_EXIT_USAGE;
			}
			*(int *)(void *)((char *)&cfg + o->off) = (int)n;
			continue;
		}
		switch (ch) {
		case 'd':
			cfg.db_path = optarg;
			break;
		case 'l':
			if ((rc = vc_serve_parse_listen(&ctx, optarg, &cfg)) != VC_EOK)
				return die(&ctx, rc);
			break;
		case 'w':
			if ((n = number(optarg, 1, 256)) < 0) {
				fprintf(stderr, "vc-serve: --workers wants 1 to 256\n");
				return VC_EXIT_USAGE;
			}
			cfg.workers = (int)n;
			break;
		case 'o':
			if (cfg.ncors == VC_SERVE_MAX_CORS) {
				fprintf(stderr, "vc-serve: at most %d --cors-origin\n", VC_SERVE_MAX_CORS);
				return VC_EXIT_USAGE;
			}
			if ((rc = vc_serve_check_origin(&ctx, optarg)) != VC_EOK)
				return die(&ctx, rc);
			cfg.cors[cfg.ncors++] = optarg;
			break;
		case 'b':
			if ((n = number(optarg, 1, 256LL * 1024 * 1024)) < 0) {
				fprintf(stderr, "vc-serve: --max-body wants 1 to 268435456 bytes\n");
				return VC_EXIT_USAGE;
			}
			cfg.max_body = (size_t)n;
			break;
		case 'i':
			if ((n = number(optarg, 1, (long long)VC_SERVE_MAX_IMPORT)) < 0) {
				fprintf(stderr, "vc-serve: --max-import wants 1 to %llu bytes\n",
				    (unsigned long long)VC_SERVE_MAX_IMPORT);
				return VC_EXIT_USAGE;
			}
			cfg.max_import = (size_t)n;
			break;
		case 'a':
			if (vc_net_allow(optarg) != 0) {
				fprintf(stderr, "vc-serve: --allow-velociraptor wants an address or a network, "
				    "not '%s' (or too many)\n", optarg);
				return VC_EXIT_USAGE;
			}
			break;
		case 'A':
			if ((cfg.anchor_ms = minutes(optarg)) < 0) {
				fprintf(stderr, "vc-serve: --anchor-interval wants minutes, 0 (only at "
				    "stop) or from 1 s (0.0167) to 10080\n");
				return VC_EXIT_USAGE;
			}
			break;
		case 'F':
			cfg.anchor_file = optarg;
			break;
		case 'R':
			if (strcmp(optarg, "0") == 0)
				cfg.retention_s = 0;
			else if (vc_duration_parse(optarg, &cfg.retention_s) != 0 ||
			    cfg.retention_s < 3600) {
				fprintf(stderr, "vc-serve: --event-retention wants a duration of at least "
				    "1h (30d, 12h), or 0 to keep events\n");
				return VC_EXIT_USAGE;
			}
			break;
		case 'n':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return fclose(stdout) == 0 ? VC_EXIT_OK : VC_EXIT_SOFTWARE;
		case ':':
			fprintf(stderr, "vc-serve: %s needs a value\n", argv[optind - 1]);
			usage(stderr);
			return VC_EXIT_USAGE;
		default:
			if (optopt != 0)
				fprintf(stderr, "vc-serve: unknown option -%c\n", optopt);
			else
				fprintf(stderr, "vc-serve: unknown option %s\n", argv[optind - 1]);
			usage(stderr);
			return VC_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "vc-serve: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return VC_EXIT_USAGE;
	}

	if (check) {
		if ((rc = vc_store_path(&ctx, cfg.db_path, path, sizeof path)) != VC_EOK ||
		    (rc = vc_store_open(&ctx, path, 0)) != VC_EOK)
			return die(&ctx, rc);
		vc_ctx_release(&ctx);
		fprintf(stderr, "vc-serve: configuration OK\n");
		return VC_EXIT_OK;
	}

	/* Before any thread exists, so that every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	openlog("vc-serve", LOG_PID, LOG_AUTH);
	if ((rc = vc_serve_new(&ctx, &cfg, &srv)) != VC_EOK)
		return die(&ctx, rc);
	if (pthread_create(&sig_th, NULL, sig_main, srv) != 0) {
		vc_serve_free(srv);
		fprintf(stderr, "vc-serve: cannot start the signal thread\n");
		return VC_EXIT_SOFTWARE;
	}
	vc_serve_url(srv, url, sizeof url);
	fprintf(stderr, "vc-serve: listening on %s\n", url);

	rc = vc_serve_run(&ctx, srv);
	/* Wake the signal thread if the loop ended on its own. */
	pthread_kill(sig_th, SIGTERM);
	pthread_join(sig_th, NULL);
	vc_serve_free(srv);
	vc_ctx_release(&ctx);
	if (rc != VC_EOK)
		return die(&ctx, rc);
	fprintf(stderr, "vc-serve: stopped\n");
	return VC_EXIT_OK;
}
