/* SPDX-License-Identifier: MIT */
/*
 * jqprog.h - jq programs that come from callers (a --where filter, a
 * playbook condition), checked and run under limits.
 *
 * libjq has no limit of time, memory or stack, and version 1.6 aborts the
 * whole process on some inputs (`import` in a library-less state), reads
 * files (`import "x" as $s {search: ...}`) and the environment (`$ENV`,
 * `env`).  So a caller's program is never run in our process:
 *
 *  1. its text is checked first: the builtins that reach outside the
 *     row (import, include, env, $ENV, input, inputs, debug, stderr,
 *     input_filename, $__loc__, halt, halt_error, get_search_list ...)
 *     are refused with VC_EUSAGE naming the word;
 *  2. it runs in a child process: the same executable, started again
 *     (posix_spawn of /proc/self/exe, so no state of a threaded parent is
 *     inherited) with an empty environment, no file descriptors but its
 *     socket, limits of address space, CPU time, file size and open
 *     files, no new privileges and a seccomp filter that allows reading,
 *     writing its socket and managing memory, nothing else;
 *  3. every row must be answered within a deadline; a child that is late,
 *     runs out of memory or crashes is killed and the program fails with
 *     VC_EINVAL saying which.
 *
 * The parent sends the program and then each row over a socket and reads
 * one verdict per row.  The child side is vc_jq_child_main(): every front
 * door calls it when started with VC_JQ_CHILD_ARG as its only argument.
 *
 * Ownership: vc_jq_open makes the child and the handle; vc_jq_close kills
 * and reaps the child and frees the handle (NULL is fine).
 */
#ifndef VC_JQPROG_H
#define VC_JQPROG_H
#include <stddef.h>
#include "core/vc.h"

#define VC_JQ_CHILD_ARG "--vc-jq-child"
#define VC_JQ_PROG_MAX 4096             /* bytes of program text */

struct vc_jq_limits {
	int row_ms;             /* a row's verdict within this (default 2000) */
	int cpu_s;              /* CPU seconds of the whole run; 0: none */
	long mem_mb;            /* address space of the child (default 256) */
	int values;             /* answer each row with the program's first
	                         * output (vc_jq_eval), not a verdict */
};

struct vc_jq;

/*
 * Check prog and start its child.  what names the option in messages
 * ("--where").  lim may be NULL for the defaults.  Refused or not
 * compiling: VC_EUSAGE "WHAT: ..."; the child cannot start: VC_EINTERNAL.
 */
int vc_jq_open(vc_ctx *ctx, const char *what, const char *prog,
    const struct vc_jq_limits *lim, struct vc_jq **out);

/*
 * Run the program on one row (JSON text of n bytes).  Returns 1 when its
 * first output is true (neither false nor null), 0 when false, null or
 * empty, 2 when the program raised an error on this row (err gets jq's
 * message; like jq, the row is then skipped), or -1 when the program had
 * to be stopped (ctx: VC_EINVAL naming the limit; the handle is dead).
 */
int vc_jq_test(vc_ctx *ctx, struct vc_jq *j, const char *json, size_t n,
    char *err, size_t errlen);

/*
 * Run a program opened with lim->values on one row: 0 with *out the
 * program's first output (null when it has none), 2 when it raised an
 * error on this row (err gets jq's message), -1 when it had to be
 * stopped (as vc_jq_test).  An output is at most 64 MiB of JSON.
 */
int vc_jq_eval(vc_ctx *ctx, struct vc_jq *j, const char *json, size_t n, jv *out,
    char *err, size_t errlen);

void vc_jq_close(struct vc_jq *j);

/*
 * Check a program's text without running it (step 1 above); 0 or
 * VC_EUSAGE.  For dry runs (a playbook check) and for tests.
 */
int vc_jq_check(vc_ctx *ctx, const char *what, const char *prog);

/* The child's main: reads the program and rows from fd 0, answers on
 * fd 0 (a socket).  Returns the process exit status. */
int vc_jq_child_main(void);
#endif
