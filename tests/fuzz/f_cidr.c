/* SPDX-License-Identifier: MIT */
/*
 * f_cidr.c - addresses and networks as 16-byte keys (lib/core/net.c):
 * vc_ip_key on host addresses and row values, vc_cidr_range on IOC
 * networks and --ip filters.  The input is one C string, as they get.
 *
 * Invariants, from net.h: an accepted address is a numeric IPv4 or IPv6
 * address, alone or with a port ("a.b.c.d:PORT", "[v6]:PORT"); its clean
 * text is the address alone and has the same key; IPv4 keys are
 * ::ffff:a.b.c.d.  An accepted network is an address or ADDR/BITS with
 * a plain address, at most 32 bits for IPv4 and 128 for IPv6; its range
 * holds the address, lo and hi agree on the first BITS bits and are all
 * zeros and all ones after them.
 */
#include <arpa/inet.h>
#include <string.h>

#include "core/net.h"
#include "fuzz.h"

static const unsigned char v4prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static int
all_digits(const char *s)
{
	if (*s == '\0' || strlen(s) > 5)
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Is s an address as net.h describes it (with an optional port)? */
static int
well_formed(const char *s)
{
	unsigned char b[16];
	char a[64];
	const char *c;

	if (strlen(s) >= sizeof a)
		return 0;
	if (inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1)
		return 1;
	if (s[0] == '[' && (c = strchr(s, ']')) != NULL) {
		snprintf(a, sizeof a, "%.*s", (int)(c - s - 1), s + 1);
		return inet_pton(AF_INET6, a, b) == 1 && (c[1] == '\0' ||
		    (c[1] == ':' && all_digits(c + 2)));
	}
	if ((c = strchr(s, ':')) != NULL && strchr(c + 1, ':') == NULL) {
		snprintf(a, sizeof a, "%.*s", (int)(c - s), s);
		return inet_pton(AF_INET, a, b) == 1 && all_digits(c + 1);
	}
	return 0;
}

static int
bit(const unsigned char k[16], int i)
{
	return (k[i / 8] >> (7 - i % 8)) & 1;
}

static void
check_ip_key(const char *s)
{
	unsigned char key[16], again[16];
	char clean[64];

	memset(clean, 'x', sizeof clean);
	if (vc_ip_key(s, key, clean, sizeof clean) != 0)
		return;
	check(well_formed(s));
	check(memchr(clean, '\0', sizeof clean) != NULL);
	check(vc_ip_key(clean, again, NULL, 0) == 0 && memcmp(key, again, 16) == 0);
	/* The clean text is a plain address, not one with a port. */
	check(inet_pton(AF_INET, clean, again) == 1 || inet_pton(AF_INET6, clean, again) == 1);
	if (inet_pton(AF_INET, clean, again) == 1)
		check(memcmp(key, v4prefix, 12) == 0 && memcmp(key + 12, again, 4) == 0);
}

static void
check_cidr(const char *s)
{
	unsigned char lo[16], hi[16], key[16], tmp[16];
	const char *slash = strchr(s, '/');
	char addr[64];
	int bits = 128, v4;

	if (vc_cidr_range(s, lo, hi) != 0)
		return;
	check(memcmp(lo, hi, 16) <= 0);
	if (slash == NULL) {
		check(vc_ip_key(s, key, NULL, 0) == 0);
		check(memcmp(lo, key, 16) == 0 && memcmp(hi, key, 16) == 0);
		return;
	}
	check((size_t)(slash - s) < sizeof addr);
	snprintf(addr, sizeof addr, "%.*s", (int)(slash - s), s);
	/* A network is a plain address and a prefix length. */
	v4 = inet_pton(AF_INET, addr, tmp) == 1;
	check(v4 || inet_pton(AF_INET6, addr, tmp) == 1);
	check(vc_ip_key(addr, key, NULL, 0) == 0);
	check(memcmp(lo, key, 16) <= 0 && memcmp(key, hi, 16) <= 0);
	check(slash[1] >= '0' && slash[1] <= '9');
	bits = (int)strtol(slash + 1, NULL, 10) + (v4 ? 96 : 0);
	check(bits >= (v4 ? 96 : 0) && bits <= 128);
	for (int i = 0; i < 128; i++) {
		if (i < bits)
			check(bit(lo, i) == bit(key, i) && bit(hi, i) == bit(key, i));
		else
			check(bit(lo, i) == 0 && bit(hi, i) == 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size, 256);

	check_ip_key(s);
	check_cidr(s);
	free(s);
	return 0;
}
