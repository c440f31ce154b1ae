/* SPDX-License-Identifier: MIT */
/* net.c - addresses and networks as 16-byte keys (see net.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/net.h"

/* A port: 1 to 5 digits, at most 65535. */
static int
is_port(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n >= 1 && n <= 5 && s[n] == '\0' && strtol(s, NULL, 10) <= 65535;
}

/*
 * The 16-byte key of an address: IPv6 as is, IPv4 mapped to
 * ::ffff:a.b.c.d.  A port ("10.0.0.5:51234", "[fe80::1]:443") is dropped;
 * *clean gets the address text without it.  Anything else around the
 * address ("[::1]x", "10.0.0.5:http") makes it no address.  Returns 0,
 * or -1.
 */
int
vc_ip_key(const char *s, unsigned char key[16], char *clean, size_t cn)
{
	char buf[64];
	char *colon;
	struct in_addr a4;
	int v6only = 0;

	if (s == NULL || strlen(s) >= sizeof buf)
		return -1;
	snprintf(buf, sizeof buf, "%s", s);
	if (buf[0] == '[') {
		/* [v6] or [v6]:PORT, as in URLs (RFC 3986 3.2.2). */
		char *end = strchr(buf, ']');
		if (end == NULL || (end[1] != '\0' && (end[1] != ':' || !is_port(end + 2))))
			return -1;
		*end = '\0';
		memmove(buf, buf + 1, strlen(buf + 1) + 1);
		v6only = 1;
	} else if ((colon = strchr(buf, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		if (!is_port(colon + 1))        /* a.b.c.d:port */
			return -1;
		*colon = '\0';
	}
	if (!v6only && inet_pton(AF_INET, buf, &a4) == 1) {
		memset(key, 0, 10);
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &a4, 4);
	} else if (inet_pton(AF_INET6, buf, key) != 1)
		return -1;
	if (clean != NULL)
		snprintf(clean, cn, "%s", buf);
	return 0;
}

/*
 * "10.0.0.0/8", "fd00::/8" or one address: the lowest and highest keys.
 * A network is a plain address and a prefix length in digits: with a
 * port or brackets it would be no network at all ("1.2.3.4:80/8" read as
 * IPv6 bits would span every IPv4 address).
 */
int
vc_cidr_range(const char *s, unsigned char lo[16], unsigned char hi[16])
{
	char addr[64];
	const char *slash = strchr(s, '/');
	unsigned char bin[16];
	long bits;
	size_t nd;
	int v4;

	if (slash == NULL) {
		if (vc_ip_key(s, lo, NULL, 0) != 0)
			return -1;
		memcpy(hi, lo, 16);
		return 0;
	}
	if ((size_t)(slash - s) >= sizeof addr)
		return -1;
	snprintf(addr, sizeof addr, "%.*s", (int)(slash - s), s);
	v4 = inet_pton(AF_INET, addr, bin) == 1;
	if (!v4 && inet_pton(AF_INET6, addr, bin) != 1)
		return -1;
	if (vc_ip_key(addr, lo, NULL, 0) != 0)
		return -1;
	nd = strspn(slash + 1, "0123456789");
	if (nd == 0 || nd > 3 || slash[1 + nd] != '\0')
		return -1;
	bits = strtol(slash + 1, NULL, 10);
	if (bits > (v4 ? 32 : 128))
		return -1;
	if (v4)
		bits += 96;
	memcpy(hi, lo, 16);
	for (int i = 0; i < 128; i++) {
		if (i < bits)
			continue;
		lo[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
		hi[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	}
	return 0;
}
