/* SPDX-License-Identifier: MIT */
/* net.c - addresses and networks as 16-byte keys (see net.h). */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
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

/* ---- where tenants may make us connect -------------------------------- */

#define ALLOW_MAX 64

static struct {
	unsigned char lo[16], hi[16];
} allow[ALLOW_MAX];
static int nallow;
static pthread_mutex_t allow_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t allow_env_once = PTHREAD_ONCE_INIT;

int
vc_net_allow(const char *cidr)
{
	unsigned char lo[16], hi[16];
	int rc = -1;

	if (cidr == NULL || vc_cidr_range(cidr, lo, hi) != 0)
		return -1;
	pthread_mutex_lock(&allow_mu);
	if (nallow < ALLOW_MAX) {
		memcpy(allow[nallow].lo, lo, 16);
		memcpy(allow[nallow].hi, hi, 16);
		nallow++;
		rc = 0;
	}
	pthread_mutex_unlock(&allow_mu);
	return rc;
}

/* $VC_ALLOW_VELOCIRAPTOR: addresses or networks, separated by commas or
 * spaces; a bad item is ignored here and reported by vc_net_allow_env. */
static void
allow_env(void)
{
	const char *e = getenv("VC_ALLOW_VELOCIRAPTOR");
	char buf[2048];

	if (e == NULL)
		return;
	snprintf(buf, sizeof buf, "%s", e);
	for (char *p = buf, *end; *p; p = end) {
		while (*p == ',' || *p == ' ')
			p++;
		end = p + strcspn(p, ", ");
		if (*end)
			*end++ = '\0';
		if (*p)
			vc_net_allow(p);
	}
}

static int
allowed(const unsigned char key[16])
{
	int ok = 0;

	pthread_once(&allow_env_once, allow_env);
	pthread_mutex_lock(&allow_mu);
	for (int i = 0; i < nallow && !ok; i++)
		ok = memcmp(key, allow[i].lo, 16) >= 0 && memcmp(key, allow[i].hi, 16) <= 0;
	pthread_mutex_unlock(&allow_mu);
	return ok;
}

/* Why a destination is internal, or NULL: loopback, link-local,
 * unspecified, multicast, or an address of this machine. */
static const char *
internal(const unsigned char k[16])
{
	static const unsigned char v4map[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
	static const unsigned char zero[16], one[16] = { [15] = 1 };
	struct ifaddrs *ifs, *i;
	const char *why = NULL;

	if (memcmp(k, v4map, 12) == 0) {
		const unsigned char *a = k + 12;
		if (a[0] == 127)
			return "a loopback address";
		if (a[0] == 169 && a[1] == 254)
			return "a link-local address";
		if (a[0] == 0)
			return "an unspecified address";
		if (a[0] >= 224)
			return "a multicast or reserved address";
	} else {
		if (memcmp(k, one, 16) == 0)
			return "a loopback address";
		if (memcmp(k, zero, 16) == 0)
			return "an unspecified address";
		if (k[0] == 0xfe && (k[1] & 0xc0) == 0x80)
			return "a link-local address";
		if (k[0] == 0xff)
			return "a multicast address";
	}
	if (getifaddrs(&ifs) != 0)
		return NULL;
	for (i = ifs; i != NULL && why == NULL; i = i->ifa_next) {
		unsigned char mine[16];
		char text[INET6_ADDRSTRLEN];
		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, text, sizeof text);
		else if (i->ifa_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, text, sizeof text);
		else
			continue;
		if (vc_ip_key(text, mine, NULL, 0) == 0 && memcmp(mine, k, 16) == 0)
			why = "an address of this server";
	}
	freeifaddrs(ifs);
	return why;
}

int
vc_net_dest(const char *host, int port, char addr[64], char *why, size_t wn)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char service[16], first_why[128] = "";
	int rc;

	snprintf(service, sizeof service, "%d", port);
	/* "[v6]" as written in a connection string */
	if (host[0] == '[') {
		char bare[256];
		snprintf(bare, sizeof bare, "%.*s", (int)strcspn(host + 1, "]"), host + 1);
		rc = getaddrinfo(bare, service, &hints, &res);
	} else
		rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		snprintf(why, wn, "%s does not resolve", host);
		return -1;
	}
	rc = -2;
	for (ai = res; ai != NULL && rc != 0; ai = ai->ai_next) {
		char text[INET6_ADDRSTRLEN];
		unsigned char k[16];
		const char *in;
		if (ai->ai_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr, text, sizeof text);
		else if (ai->ai_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr, text, sizeof text);
		else
			continue;
		if (vc_ip_key(text, k, NULL, 0) != 0)
			continue;
		if ((in = internal(k)) != NULL && !allowed(k)) {
			if (!first_why[0])
				snprintf(first_why, sizeof first_why, "%s is %s", text, in);
			continue;
		}
		snprintf(addr, 64, ai->ai_family == AF_INET6 ? "[%s]" : "%s", text);
		rc = 0;
	}
	freeaddrinfo(res);
	if (rc != 0)
		snprintf(why, wn, "%s", first_why[0] ? first_why : "no usable address");
	return rc;
}
