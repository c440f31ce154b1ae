/* SPDX-License-Identifier: MIT */
/* net.c - addresses and networks as 16-byte keys (see net.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/net.h"

/*
 * The 16-byte key of an address: IPv6 as is, IPv4 mapped to
 * ::ffff:a.b.c.d.  A port ("10.0.0.5:51234", "[fe80::1]:443") is dropped;
 * *clean gets the address text without it.  Returns 0, or -1.
 */
int
vc_ip_key(const char *s, unsigned char key[16], char *clean, size_t cn)
{
	char buf[64];
	const char *colon;
	struct in_addr a4;

	if (s == NULL || strlen(s) >= sizeof buf)
		return -1;
	snprintf(buf, sizeof buf, "%s", s);
	if (buf[0] == '[') {
		char *end = strchr(buf, ']');
		if (end == NULL)
			return -1;
		*end = '\0';
		memmove(buf, buf + 1, strlen(buf + 1) + 1);
	} else if ((colon = strchr(buf, ':')) != NULL && strchr(colon + 1, ':') == NULL)
		buf[colon - buf] = '\0';        /* a.b.c.d:port */
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		memset(key, 0, 10);
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &a4, 4);
	} else if (inet_pton(AF_INET6, buf, key) != 1)
		return -1;
	if (clean != NULL)
		snprintf(clean, cn, "%s", buf);
	return 0;
}

/* "10.0.0.0/8", "fd00::/8" or one address: the lowest and highest keys. */
int
vc_cidr_range(const char *s, unsigned char lo[16], unsigned char hi[16])
{
	char addr[64];
	const char *slash = strchr(s, '/');
	long bits;
	char *end;
	int v4;

	snprintf(addr, sizeof addr, "%.*s", slash ? (int)(slash - s) : (int)strlen(s), s);
	v4 = strchr(addr, ':') == NULL;
	if (vc_ip_key(addr, lo, NULL, 0) != 0)
		return -1;
	if (slash == NULL)
		bits = 128;
	else {
		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0' || slash[1] == '\0' || bits < 0 || bits > (v4 ? 32 : 128))
			return -1;
		if (v4)
			bits += 96;
	}
	memcpy(hi, lo, 16);
	for (int i = 0; i < 128; i++) {
		if (i < bits)
			continue;
		lo[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
		hi[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	}
	return 0;
}
