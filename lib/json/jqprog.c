/* SPDX-License-Identifier: MIT */
/*
 * jqprog.c - a caller's jq program, checked, then run in a child process
 * under limits (see jqprog.h for why and how).
 *
 * Wire format on the socket between parent and child, little-endian:
 *	parent: "VCJQ" u32 mem_mb u32 cpu_s, then frames  u32 len, bytes
 *	        (the first frame is the program, each later one a row)
 *	child:  after the program: 'K', or 'C' frame (compile error);
 *	        after each row: '1' (true), '0' (false, null or no output),
 *	        'E' frame (jq's error on that row); when the parent said
 *	        "VCJV" instead of "VCJQ", 'V' frame (the first output as
 *	        JSON, at most ROW_MAX bytes) instead of '1'/'0'
 * Messages from the child are at most MSG_MAX bytes, so a verdict is
 * small and bounded whatever the program does.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jq.h>

#if defined(__linux__)
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#endif

#include "json/jqprog.h"

#define MSG_MAX 256
#define ROW_MAX (64 * 1024 * 1024)      /* a stored row is far smaller */

/* Sanitizer runtimes reserve terabytes of address space and make system
 * calls of their own: under them the child runs without the memory limit
 * and the seccomp filter (the other limits stay). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

struct vc_jq {
	pid_t pid;
	int fd;
	struct vc_jq_limits lim;
	char what[32];
	long rows;
};

/* ---- the text check ------------------------------------------------- */

/* Builtins that reach outside the row, or stop the process. */
static const char *const refused[] = {
	"import", "include", "env", "input", "inputs", "debug", "stderr",
	"input_filename", "input_line_number", "halt", "halt_error",
	"get_search_list", "get_prog_origin", "get_jq_origin", "modulemeta",
	"$ENV", "$__loc__", "$__prog_args", NULL
};

static int
is_word(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * Scan code from s[*i] until the end, or until the ')' that closes a
 * string interpolation when nested.  Sets *bad to the first refused word.
 * Returns 0, or -1 on an unterminated string or interpolation.
 */
static int
scan(const char *s, size_t n, size_t *i, int nested, const char **bad, char *word, size_t wn)
{
	int depth = 0;

	while (*i < n) {
		char c = s[*i];
		if (c == '#') {
			while (*i < n && s[*i] != '\n')
				(*i)++;
		} else if (c == '"') {
			(*i)++;
			while (*i < n && s[*i] != '"') {
				if (s[*i] == '\\' && *i + 1 < n && s[*i + 1] == '(') {
					*i += 2;
					if (scan(s, n, i, 1, bad, word, wn) != 0)
						return -1;
				} else if (s[*i] == '\\' && *i + 1 < n)
					*i += 2;
				else
					(*i)++;
			}
			if (*i >= n)
				return -1;
			(*i)++;
			continue;
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (nested && depth == 0) {
				(*i)++;
				return 0;
			}
			depth--;
		} else if (c == '$' || is_word((unsigned char)c)) {
			size_t st = *i, len;
			int field = 0, key = 0;
			size_t k = st;
			/* A name after '.' is a field, not a builtin. */
			while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
				k--;
			field = k > 0 && s[k - 1] == '.' && c != '$';
			(*i)++;
			while (*i < n && is_word((unsigned char)s[*i]))
				(*i)++;
			len = *i - st;
			/* A name followed by ':' (not '::') is an object key. */
			k = *i;
			while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n'))
				k++;
			key = k < n && s[k] == ':' && !(k + 1 < n && s[k + 1] == ':') && c != '$';
			if (k + 1 < n && s[k] == ':' && s[k + 1] == ':' && *bad == NULL) {
				snprintf(word, wn, "%.*s::", (int)(len > 64 ? 64 : len), s + st);
				*bad = word;        /* module syntax */
			}
			if (!field && !key && *bad == NULL)
				for (int r = 0; refused[r]; r++)
					if (strlen(refused[r]) == len && memcmp(refused[r], s + st, len) == 0) {
						snprintf(word, wn, "%s", refused[r]);
						*bad = word;
					}
			continue;
		}
		(*i)++;
	}
	return nested ? -1 : 0;
}

int
vc_jq_check(vc_ctx *ctx, const char *what, const char *prog)
{
	const char *bad = NULL;
	char word[80];
	size_t i = 0, n;

	if (prog == NULL || *prog == '\0')
		return vc_fail(ctx, VC_EUSAGE, "%s: empty program", what);
	n = strlen(prog);
	if (n > VC_JQ_PROG_MAX)
		return vc_fail(ctx, VC_EUSAGE, "%s: program longer than %d bytes", what, VC_JQ_PROG_MAX);
	if (scan(prog, n, &i, 0, &bad, word, sizeof word) != 0)
		return vc_fail(ctx, VC_EUSAGE, "%s: unterminated string", what);
	if (bad != NULL)
		return vc_fail(ctx, VC_EUSAGE, "%s: '%s' is not allowed here (a program sees its row only)",
		    what, bad);
	return 0;
}

/* ---- framing ---------------------------------------------------------- */

/* Move n bytes; deadline < 0 blocks.  0, or -1 (closed, error), -2 (late). */
static int
xfer(int fd, void *buf, size_t n, int out, int64_t deadline)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r;
		if (deadline >= 0) {
			struct pollfd pf = { .fd = fd, .events = out ? POLLOUT : POLLIN };
			int64_t left = deadline - vc_mono_ms();
			int pr;
			if (left <= 0)
				return -2;
			pr = poll(&pf, 1, (int)(left > 60000 ? 60000 : left));
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr < 0)
				return -1;
			if (pr == 0)
				continue;
		}
		r = out ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void
put_u32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
	b[2] = (unsigned char)(v >> 16);
	b[3] = (unsigned char)(v >> 24);
}

static uint32_t
get_u32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int
send_frame(int fd, const void *data, size_t n, int64_t deadline)
{
	unsigned char h[4];
	int rc;

	put_u32(h, (uint32_t)n);
	if ((rc = xfer(fd, h, 4, 1, deadline)) != 0)
		return rc;
	return xfer(fd, (void *)(uintptr_t)data, n, 1, deadline);
}

/* A message frame into buf (NUL-terminated, at most MSG_MAX bytes). */
static int
recv_msg(int fd, char *buf, size_t bn, int64_t deadline)
{
	unsigned char h[4];
	char tmp[MSG_MAX + 1];
	uint32_t len;
	int rc;

	if ((rc = xfer(fd, h, 4, 0, deadline)) != 0)
		return rc;
	if ((len = get_u32(h)) > MSG_MAX)
		return -1;
	if ((rc = xfer(fd, tmp, len, 0, deadline)) != 0)
		return rc;
	tmp[len] = '\0';
	snprintf(buf, bn, "%s", tmp);
	return 0;
}

/* ---- the parent ------------------------------------------------------- */

static void
reap(struct vc_jq *j, int *status)
{
	*status = 0;
	if (j->pid > 0) {
		kill(j->pid, SIGKILL);
		while (waitpid(j->pid, status, 0) < 0 && errno == EINTR)
			;
		j->pid = -1;
	}
	if (j->fd >= 0) {
		close(j->fd);
		j->fd = -1;
	}
}

/* The child is gone or late: stop it and say why. */
static int
stopped(vc_ctx *ctx, struct vc_jq *j, int late)
{
	int status, sig;

	if (late) {
		reap(j, &status);
		return vc_fail(ctx, VC_EINVAL, "%s: the program took longer than %d ms on row %ld: stopped",
		    j->what, j->lim.row_ms, j->rows);
	}
	/* It closed its end: let it finish dying, then read the cause. */
	if (j->pid > 0) {
		int64_t until = vc_mono_ms() + 1000;
		pid_t r;
		while ((r = waitpid(j->pid, &status, WNOHANG)) == 0 && vc_mono_ms() < until)
			usleep(1000);
		if (r == j->pid)
			j->pid = -1;
		else
			reap(j, &status);
	} else
		status = 0;
	reap(j, &(int){ 0 });
	sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	switch (sig) {
	case SIGXCPU:
		return vc_fail(ctx, VC_EINVAL, "%s: the program used more than %d s of CPU: stopped",
		    j->what, j->lim.cpu_s);
	case SIGSEGV:
	case SIGBUS:
		return vc_fail(ctx, VC_EINVAL, "%s: the program crashed on row %ld (recursion too deep?)",
		    j->what, j->rows);
	case SIGABRT:
		return vc_fail(ctx, VC_EINVAL, "%s: the program failed on row %ld (out of its %ld MiB of memory?)",
		    j->what, j->rows, j->lim.mem_mb);
	case SIGSYS:
		return vc_fail(ctx, VC_EINVAL, "%s: the program tried a forbidden system call: stopped",
		    j->what);
	case 0:
		return vc_fail(ctx, VC_EINVAL, "%s: the program stopped on row %ld (exit %d)",
		    j->what, j->rows, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	default:
		return vc_fail(ctx, VC_EINVAL, "%s: the program was killed by signal %d on row %ld",
		    j->what, sig, j->rows);
	}
}

int
vc_jq_open(vc_ctx *ctx, const char *what, const char *prog, const struct vc_jq_limits *lim,
    struct vc_jq **out)
{
	static const struct vc_jq_limits defaults = { .row_ms = 2000, .cpu_s = 0, .mem_mb = 256 };
	char *argv[] = { "vc-jq", VC_JQ_CHILD_ARG, NULL }, *envp[] = { NULL, NULL };
	char asan[160];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t none, all;
	unsigned char hello[12];
	struct vc_jq *j;
	int sv[2], rc, status;
	char reply, msg[MSG_MAX + 1];
	int64_t deadline;

	*out = NULL;
	if ((rc = vc_jq_check(ctx, what, prog)) != 0)
		return rc;
	if ((j = calloc(1, sizeof *j)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	j->lim = lim ? *lim : defaults;
	if (j->lim.row_ms <= 0)
		j->lim.row_ms = defaults.row_ms;
	if (j->lim.mem_mb <= 0)
		j->lim.mem_mb = defaults.mem_mb;
	snprintf(j->what, sizeof j->what, "%s", what);
	/* Under a sanitizer the memory limit is its allocator's. */
	snprintf(asan, sizeof asan, "ASAN_OPTIONS=max_allocation_size_mb=%ld:hard_rss_limit_mb=%ld:"
	    "detect_leaks=0:abort_on_error=1:symbolize=0", j->lim.mem_mb, j->lim.mem_mb + 256);
	if (UNDER_SANITIZER)
		envp[0] = asan;
	j->pid = -1;
	j->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		free(j);
		return vc_fail(ctx, VC_EINTERNAL, "%s: socketpair: %s", what, strerror(errno));
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&sa);
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawnattr_setsigmask(&sa, &none);
	posix_spawnattr_setsigdefault(&sa, &all);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&j->pid, "/proc/self/exe", &fa, &sa, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	close(sv[1]);
	j->fd = sv[0];
	if (rc != 0) {
		j->pid = -1;
		reap(j, &status);
		free(j);
		return vc_fail(ctx, VC_EINTERNAL, "%s: cannot start the program's process: %s", what,
		    strerror(rc));
	}
	memcpy(hello, j->lim.values ? "VCJV" : "VCJQ", 4);
	put_u32(hello + 4, (uint32_t)j->lim.mem_mb);
	put_u32(hello + 8, (uint32_t)j->lim.cpu_s);
	deadline = vc_mono_ms() + j->lim.row_ms + 5000;   /* the child's start-up too */
	if ((rc = xfer(j->fd, hello, sizeof hello, 1, deadline)) != 0 ||
	    (rc = send_frame(j->fd, prog, strlen(prog), deadline)) != 0 ||
	    (rc = xfer(j->fd, &reply, 1, 0, deadline)) != 0) {
		rc = stopped(ctx, j, rc == -2);
		free(j);
		return rc;
	}
	if (reply == 'C') {
		if (recv_msg(j->fd, msg, sizeof msg, deadline) != 0)
			snprintf(msg, sizeof msg, "not a jq program");
		reap(j, &status);
		free(j);
		return vc_fail(ctx, VC_EUSAGE, "%s: %s", what, msg);
	}
	if (reply != 'K') {
		reap(j, &status);
		free(j);
		return vc_fail(ctx, VC_EINTERNAL, "%s: the program's process answered nonsense", what);
	}
	*out = j;
	return 0;
}

int
vc_jq_test(vc_ctx *ctx, struct vc_jq *j, const char *json, size_t n, char *err, size_t errlen)
{
	int64_t deadline;
	char v;
	int rc;

	if (j->fd < 0)
		return vc_fail(ctx, VC_EINVAL, "%s: the program was stopped", j->what);
	if (n > ROW_MAX)
		return vc_fail(ctx, VC_ETOOBIG, "%s: row %ld is too large", j->what, j->rows + 1);
	j->rows++;
	deadline = vc_mono_ms() + j->lim.row_ms;
	if ((rc = send_frame(j->fd, json, n, deadline)) != 0 ||
	    (rc = xfer(j->fd, &v, 1, 0, deadline)) != 0) {
		stopped(ctx, j, rc == -2);
		return -1;
	}
	switch (v) {
	case '1':
		return 1;
	case '0':
		return 0;
	case 'E':
		if ((rc = recv_msg(j->fd, err, errlen, deadline)) != 0) {
			stopped(ctx, j, rc == -2);
			return -1;
		}
		return 2;
	default:
		reap(j, &(int){ 0 });
		vc_fail(ctx, VC_EINTERNAL, "%s: the program's process answered nonsense", j->what);
		return -1;
	}
}

int
vc_jq_eval(vc_ctx *ctx, struct vc_jq *j, const char *json, size_t n, jv *out, char *err,
    size_t errlen)
{
	unsigned char h[4];
	int64_t deadline;
	uint32_t len;
	char v, *buf;
	int rc;

	*out = jv_null();
	if (j->fd < 0 || !j->lim.values)
		return vc_fail(ctx, VC_EINVAL, "%s: the program was stopped", j->what);
	if (n > ROW_MAX)
		return vc_fail(ctx, VC_ETOOBIG, "%s: row %ld is too large", j->what, j->rows + 1);
	j->rows++;
	deadline = vc_mono_ms() + j->lim.row_ms;
	if ((rc = send_frame(j->fd, json, n, deadline)) != 0 ||
	    (rc = xfer(j->fd, &v, 1, 0, deadline)) != 0)
		goto stop;
	if (v == 'E') {
		if ((rc = recv_msg(j->fd, err, errlen, deadline)) != 0)
			goto stop;
		return 2;
	}
	if (v != 'V' || (rc = xfer(j->fd, h, 4, 0, deadline)) != 0 || (len = get_u32(h)) > ROW_MAX) {
		reap(j, &(int){ 0 });
		vc_fail(ctx, VC_EINTERNAL, "%s: the program's process answered nonsense", j->what);
		return -1;
	}
	if ((buf = malloc(len + 1)) == NULL) {
		reap(j, &(int){ 0 });
		vc_fail(ctx, VC_EINTERNAL, "out of memory");
		return -1;
	}
	if ((rc = xfer(j->fd, buf, len, 0, deadline)) != 0) {
		free(buf);
		goto stop;
	}
	jv_free(*out);
	*out = jv_parse_sized(buf, (int)len);
	free(buf);
	if (!jv_is_valid(*out)) {
		jv_free(*out);
		*out = jv_null();
		reap(j, &(int){ 0 });
		vc_fail(ctx, VC_EINTERNAL, "%s: the program's process answered nonsense", j->what);
		return -1;
	}
	return 0;
stop:
	stopped(ctx, j, rc == -2);
	return -1;
}

void
vc_jq_close(struct vc_jq *j)
{
	int status;

	if (j == NULL)
		return;
	reap(j, &status);
	free(j);
}

/* ---- the child -------------------------------------------------------- */

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#else
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#endif
#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/* Read and write the socket, manage memory, know the time, die. */
static int
seccomp_on(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		ALLOW(__NR_read), ALLOW(__NR_write), ALLOW(__NR_recvfrom), ALLOW(__NR_sendto),
		ALLOW(__NR_brk), ALLOW(__NR_mmap), ALLOW(__NR_munmap), ALLOW(__NR_mremap),
		ALLOW(__NR_mprotect), ALLOW(__NR_madvise), ALLOW(__NR_futex),
		ALLOW(__NR_clock_gettime), ALLOW(__NR_gettimeofday), ALLOW(__NR_getrandom),
		ALLOW(__NR_rt_sigprocmask), ALLOW(__NR_rt_sigreturn), ALLOW(__NR_getpid),
		ALLOW(__NR_gettid), ALLOW(__NR_tgkill), ALLOW(__NR_exit), ALLOW(__NR_exit_group),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };

	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}
#else
static int
seccomp_on(void)
{
	return 0;               /* no filter on this platform: the rlimits stay */
}
#endif

static void
limit(int res, rlim_t v)
{
	struct rlimit rl = { .rlim_cur = v, .rlim_max = v };

	setrlimit(res, &rl);
}

/* jq's error callback: keep the first message. */
static void
child_err(void *arg, jv msg)
{
	char *buf = arg;

	if (buf[0] == '\0') {
		jv m = jv_get_kind(msg) == JV_KIND_STRING ? jv_copy(msg) : jv_dump_string(jv_copy(msg), 0);
		snprintf(buf, MSG_MAX + 1, "%s", jv_string_value(m));
		jv_free(m);
	}
	jv_free(msg);
}

static int
child_msg(char kind, const char *msg)
{
	size_t n = strnlen(msg, MSG_MAX);

	return xfer(0, &kind, 1, 1, -1) != 0 || send_frame(0, msg, n, -1) != 0 ? -1 : 0;
}

/* A frame from the parent into a buffer that grows to fit. */
static int
child_frame(char **buf, size_t *cap, size_t *len)
{
	unsigned char h[4];

	if (xfer(0, h, 4, 0, -1) != 0)
		return -1;
	*len = get_u32(h);
	if (*len > ROW_MAX)
		return -1;
	if (*len + 1 > *cap) {
		char *nb = realloc(*buf, *len + 1);
		if (nb == NULL)
			return -1;
		*buf = nb;
		*cap = *len + 1;
	}
	if (xfer(0, *buf, *len, 0, -1) != 0)
		return -1;
	(*buf)[*len] = '\0';
	return 0;
}

int
vc_jq_child_main(void)
{
	unsigned char hello[12];
	char *buf = NULL, errbuf[MSG_MAX + 1] = "";
	size_t cap = 0, len;
	jq_state *jq;
	int values;

	if (xfer(0, hello, sizeof hello, 0, -1) != 0 ||
	    (memcmp(hello, "VCJQ", 4) != 0 && memcmp(hello, "VCJV", 4) != 0))
		return 70;
	values = hello[3] == 'V';
	if (!UNDER_SANITIZER)
		limit(RLIMIT_AS, (rlim_t)get_u32(hello + 4) * 1024 * 1024);
	if (get_u32(hello + 8) > 0)
		limit(RLIMIT_CPU, get_u32(hello + 8));
	limit(RLIMIT_FSIZE, 0);
	limit(RLIMIT_NOFILE, 4);
	limit(RLIMIT_CORE, 0);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (!UNDER_SANITIZER && seccomp_on() != 0)
		return 70;
	if (child_frame(&buf, &cap, &len) != 0)
		return 70;
	if ((jq = jq_init()) == NULL)
		return 70;
	jq_set_error_cb(jq, child_err, errbuf);
	if (!jq_compile(jq, buf)) {
		child_msg('C', errbuf[0] ? errbuf : "not a jq program");
		jq_teardown(&jq);
		free(buf);
		return 0;
	}
	if (xfer(0, "K", 1, 1, -1) != 0)
		len = ROW_MAX + 1;     /* the parent is gone: read nothing */
	while (len <= ROW_MAX && child_frame(&buf, &cap, &len) == 0) {
		jv row = jv_parse_sized(buf, (int)len), r;
		if (!jv_is_valid(row)) {
			jv_free(row);
			if (child_msg('E', "the row is not JSON") != 0)
				break;
			continue;
		}
		jq_start(jq, row, 0);
		r = jq_next(jq);
		if (!jv_is_valid(r) && jv_invalid_has_msg(jv_copy(r))) {
			jv m = jv_invalid_get_msg(r);
			jv ms = jv_get_kind(m) == JV_KIND_STRING ? m : jv_dump_string(m, 0);
			int bad = child_msg('E', jv_string_value(ms));
			jv_free(ms);
			if (bad)
				break;
			continue;
		}
		if (values) {
			jv s = jv_dump_string(jv_is_valid(r) ? r : (jv_free(r), jv_null()), JV_PRINT_SORTED);
			int bad = xfer(0, "V", 1, 1, -1) != 0 ||
			    send_frame(0, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)), -1) != 0;
			jv_free(s);
			if (bad)
				break;
			continue;
		}
		{
			jv_kind k = jv_get_kind(r);
			char v = k != JV_KIND_INVALID && k != JV_KIND_FALSE && k != JV_KIND_NULL ? '1' : '0';
			jv_free(r);
			if (xfer(0, &v, 1, 1, -1) != 0)
				break;
		}
	}
	/* The parent went away or sent its last row. */
	jq_teardown(&jq);
	free(buf);
	return 0;
}
