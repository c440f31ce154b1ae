/* SPDX-License-Identifier: MIT */
/*
 * pdf.c - a report's HTML made into PDF by wkhtmltopdf, run as a child
 * with no script (--disable-javascript), no reading of other local files
 * (--disable-local-file-access), a proxy that answers nothing (the HTML
 * names no URL; this is in case), a temporary directory of its own as
 * HOME and TMPDIR, and a time limit after which its process group is
 * killed.  The inputs and hash are appended after the PDF's %%EOF as
 * comment lines for `vc-report verify`.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report/report.h"

/* Remove dir and the files in it (one level: ours only). */
static void
rm_dir(const char *dir)
{
	static const char *const names[] = { "report.html", "out.pdf", "stderr.txt" };
	char p[4200];

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

static int
put_file(const char *path, const char *s, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t w = 0;

	if (fd < 0)
		return -1;
	while (n > 0 && (w = write(fd, s, n)) > 0) {
		s += w;
		n -= (size_t)w;
	}
	return close(fd) != 0 || n > 0 ? -1 : 0;
}

/* The first line of wkhtmltopdf's complaints, for the error message. */
static void
first_error(const char *dir, char *buf, size_t n)
{
	char p[4200], line[400];
	FILE *f;

	snprintf(buf, n, "no message");
	snprintf(p, sizeof p, "%s/stderr.txt", dir);
	if ((f = fopen(p, "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL)
		if (strstr(line, "rror") != NULL || strstr(line, "xit") != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			snprintf(buf, n, "%.200s", line);
			break;
		}
	fclose(f);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
vc_report_pdf(vc_ctx *ctx, const struct vc_report_doc *d, const char *path, int timeout_s)
{
	const char *tmp = getenv("TMPDIR"), *exe = getenv("VC_WKHTMLTOPDF");
	char dir[4096], in[4200], out[4200], err[4200], allow[4200], homev[4200], tmpv[4200], xdg[4200];
	char footer[300], why[300];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	pid_t pid;
	int status = 0, rc, killed = 0, long_report;
	int64_t until;
	jv inputs;
	FILE *f, *o;

	if (exe == NULL || *exe == '\0')
		exe = "wkhtmltopdf";
	if (timeout_s <= 0)
		timeout_s = 120;
	snprintf(dir, sizeof dir, "%s/vc-report.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "cannot make a temporary directory: %s", strerror(errno));
	snprintf(in, sizeof in, "%s/report.html", dir);
	snprintf(out, sizeof out, "%s/out.pdf", dir);
	snprintf(err, sizeof err, "%s/stderr.txt", dir);
	if (put_file(in, d->html, strlen(d->html)) != 0) {
		rm_dir(dir);
		return vc_fail(ctx, VC_EINTERNAL, "%s: cannot write: %s", in, strerror(errno));
	}
	snprintf(allow, sizeof allow, "%s", dir);
	snprintf(homev, sizeof homev, "HOME=%s", dir);
	snprintf(tmpv, sizeof tmpv, "TMPDIR=%s", dir);
	snprintf(xdg, sizeof xdg, "XDG_RUNTIME_DIR=%s", dir);
	snprintf(footer, sizeof footer, "%s", d->marking);
	/* A table of contents once the report is long (many rows). */
	long_report = strlen(d->html) > 60000;
	{
		char *argv[40];
		char *envp[] = { homev, tmpv, xdg, "QT_QPA_PLATFORM=offscreen", "PATH=/usr/local/bin:/usr/bin:/bin",
			"http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
			"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9", "LANG=C.UTF-8", NULL };
		int a = 0;
		argv[a++] = (char *)exe;
		argv[a++] = "--quiet";
		argv[a++] = "--disable-javascript";
		argv[a++] = "--disable-local-file-access";
		argv[a++] = "--allow";
		argv[a++] = allow;
		argv[a++] = "--encoding";
		argv[a++] = "utf-8";
		argv[a++] = "--title";
		argv[a++] = (char *)d->title;
		argv[a++] = "--header-left";
		argv[a++] = (char *)d->tenant;
		argv[a++] = "--header-right";
		argv[a++] = footer;
		argv[a++] = "--header-font-size";
		argv[a++] = "8";
		argv[a++] = "--header-line";
		argv[a++] = "--footer-center";
		argv[a++] = "Page [page] of [topage]";
		argv[a++] = "--footer-font-size";
		argv[a++] = "8";
		if (long_report) {
			argv[a++] = "toc";
			argv[a++] = "--toc-header-text";
			argv[a++] = "Contents";
		}
		argv[a++] = in;
		argv[a++] = out;
		argv[a] = NULL;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		posix_spawnattr_init(&sa);
		posix_spawnattr_setpgroup(&sa, 0);
		posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETPGROUP);
		rc = strchr(exe, '/') ? posix_spawn(&pid, exe, &fa, &sa, argv, envp) :
		    posix_spawnp(&pid, exe, &fa, &sa, argv, envp);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&sa);
	}
	if (rc != 0) {
		rm_dir(dir);
		return vc_fail(ctx, VC_EUNAVAIL, "cannot run %s: %s (is wkhtmltopdf installed?)", exe, strerror(rc));
	}
	until = mono_ms() + (int64_t)timeout_s * 1000;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			break;
		if (mono_ms() >= until) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			killed = 1;
			break;
		}
		usleep(20000);
	}
	if (killed) {
		rm_dir(dir);
		return vc_fail(ctx, VC_ETEMP, "wkhtmltopdf took longer than %d s: stopped", timeout_s);
	}
	/* It exits 1 on a warning even when the PDF is whole: judge the file. */
	if ((f = fopen(out, "rb")) == NULL || fread(why, 1, 4, f) != 4 || memcmp(why, "%PDF", 4) != 0) {
		if (f)
			fclose(f);
		first_error(dir, why, sizeof why);
		rm_dir(dir);
		return vc_fail(ctx, VC_EUNAVAIL, "wkhtmltopdf made no PDF (exit %d): %s",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1, why);
	}
	rewind(f);
	if ((o = fopen(path, "wb")) == NULL) {
		fclose(f);
		rm_dir(dir);
		return vc_fail(ctx, VC_EUSAGE, "%s: %s", path, strerror(errno));
	}
	{
		char buf[65536];
		size_t n;
		while ((n = fread(buf, 1, sizeof buf, f)) > 0)
			fwrite(buf, 1, n, o);
	}
	fclose(f);
	inputs = jv_dump_string(jv_copy(d->inputs), JV_PRINT_SORTED);
	fprintf(o, "\n%%vc-report-inputs %s\n%%vc-report-sha256 %s\n", jv_string_value(inputs), d->sha256);
	jv_free(inputs);
	rm_dir(dir);
	if (ferror(o) | (fclose(o) != 0))
		return vc_fail(ctx, VC_EINTERNAL, "%s: write failed", path);
	return 0;
}
