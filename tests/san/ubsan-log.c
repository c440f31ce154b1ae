/* SPDX-License-Identifier: MIT */
/*
 * ubsan-log.c - linked into the ASan/UBSan build of the programs only
 * (build/asan/bin; see the Makefile), never into bin/.
 *
 * scripts/run-tests fails a test when a sanitizer report lands in the
 * test's own folder, where log_path sends them.  With gcc 12 the UBSan
 * runtime is a library of its own (libubsan.so.1) beside ASan's, each
 * with its own copy of the sanitizers' common code; when UBSan reads
 * log_path it hands it to __sanitizer_set_report_path, and that name
 * finds ASan's copy first.  So ASan's reports go where log_path says
 * and UBSan's to stderr, and the stderr of a server in the background
 * is a file its test reads only for what it expects and then removes: a
 * report there would go unnoticed.  This gives UBSan's own copy the
 * log_path of $UBSAN_OPTIONS.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static char path[4096];

/* The value of option name in a sanitizer option string, in buf. */
static int
option(const char *opts, const char *name, char *buf, size_t n)
{
	size_t len = strlen(name), v;
	const char *p;

	for (p = opts; p != NULL && *p != '\0'; p += strcspn(p, ": ,\t\n")) {
		p += strspn(p, ": ,\t\n");
		if (strncmp(p, name, len) != 0 || p[len] != '=')
			continue;
		p += len + 1;
		v = strcspn(p, ": ,\t\n");
		if (v == 0 || v >= n)
			return -1;
		memcpy(buf, p, v);
		buf[v] = '\0';
		return 0;
	}
	return -1;
}

__attribute__((constructor)) static void
ubsan_log_path(void)
{
	void (*set)(const char *);
	void *ubsan;

	if (option(getenv("UBSAN_OPTIONS"), "log_path", path, sizeof path) != 0)
		return;
	/* Already loaded (a dependency of the program), or nothing to do. */
	if ((ubsan = dlopen("libubsan.so.1", RTLD_LAZY | RTLD_NOLOAD)) == NULL)
		return;
	/* dlsym on its handle finds libubsan's own definition first. */
	*(void **)&set = dlsym(ubsan, "__sanitizer_set_report_path");
	if (set != NULL)
		set(path);
	dlclose(ubsan);
}
