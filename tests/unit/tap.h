/* SPDX-License-Identifier: MIT */
/* tap.h - a few macros that print TAP for prove(1). Header-only. */
#ifndef VC_TAP_H
#define VC_TAP_H
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) do { \
	int ok_c_ = !!(cond); \
	printf("%sok %d - ", ok_c_ ? "" : "not ", ++tap_n); \
	printf(__VA_ARGS__); \
	printf("\n"); \
	if (!ok_c_) { \
		tap_failed++; \
		printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

#define is_str(got, want, ...) do { \
	const char *is_g_ = (got), *is_w_ = (want); \
	int is_c_ = is_g_ && is_w_ && strcmp(is_g_, is_w_) == 0; \
	ok(is_c_, __VA_ARGS__); \
	if (!is_c_) \
		printf("#   got:  '%s'\n#   want: '%s'\n", \
		    is_g_ ? is_g_ : "(null)", is_w_ ? is_w_ : "(null)"); \
} while (0)

#define is_int(got, want, ...) do { \
	long long is_g_ = (got), is_w_ = (want); \
	ok(is_g_ == is_w_, __VA_ARGS__); \
	if (is_g_ != is_w_) \
		printf("#   got:  %lld\n#   want: %lld\n", is_g_, is_w_); \
} while (0)

/* Call last in main(): prints the plan, returns the exit status. */
/* Read at most n - 1 bytes of path into buf, NUL-terminated: the
 * length, or -1 when it cannot be opened. */
static inline long
tap_slurp(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t len;

	if (f == NULL)
		return -1;
	len = fread(buf, 1, n - 1, f);
	fclose(f);
	buf[len] = '\0';
	return (long)len;
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
#endif
