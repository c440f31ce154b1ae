/* SPDX-License-Identifier: MIT */
/*
 * t_net.c - addresses and networks as keys (lib/core/net.c): IPv4 and
 * IPv6, ports dropped, networks as lowest and highest keys, and what is
 * neither.  The refusals of junk after an address, of a port that is no
 * number and of networks with a port were found by tests/fuzz/f_cidr.c.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/net.h"
#include "tap.h"

/* A key as text: a.b.c.d for IPv4-mapped keys, else IPv6. */
static const char *
ktext(const unsigned char k[16], char *buf, size_t n)
{
	static const unsigned char v4[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (memcmp(k, v4, 12) == 0)
		inet_ntop(AF_INET, k + 12, buf, (socklen_t)n);
	else
		inet_ntop(AF_INET6, k, buf, (socklen_t)n);
	return buf;
}

/* "lo hi" of a network, or "-" when it is refused. */
static const char *
range(const char *s)
{
	static char out[128];
	unsigned char lo[16], hi[16];
	char a[64], b[64];

	if (vc_cidr_range(s, lo, hi) != 0)
		return "-";
	snprintf(out, sizeof out, "%s %s", ktext(lo, a, sizeof a), ktext(hi, b, sizeof b));
	return out;
}

/* The clean text of an address, or "-" when it is refused. */
static const char *
key(const char *s)
{
	static char clean[64];
	unsigned char k[16];

	if (vc_ip_key(s, k, clean, sizeof clean) != 0)
		return "-";
	return clean;
}

int
main(void)
{
	static const char *const bad[] = {
		"", "localhost", "10.0.0", "10.0.0.256", "[::1]junk", "[::1]:", "[::1]:x",
		"[::1]:65536", "[::1]:123456", "[10.0.0.1]", "[10.0.0.1]:80", "10.0.0.5:",
		"10.0.0.5:http", "10.0.0.5:70000", "10.0.0.5:-1", "10.0.0.5: 80", "[::1",
		"1:80", "fe80::1%eth0",
	};
	static const char *const bad_nets[] = {
		"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/ 8",
		"10.0.0.0/8x", "10.0.0.0/0008", "1.2.3.4:80/8", "[::1]/128", "[::1]:80/64",
		"/8", "10.0.0.0/8/8", "localhost/8",
	};
	unsigned char k[16];

	is_str(key("10.0.0.5"), "10.0.0.5", "IPv4");
	is_str(key("10.0.0.5:51234"), "10.0.0.5", "IPv4 with a port");
	is_str(key("fe80::1"), "fe80::1", "IPv6");
	is_str(key("[fe80::1]:443"), "fe80::1", "IPv6 with a port");
	is_str(key("[fe80::1]"), "fe80::1", "IPv6 in brackets");
	is_str(key("[::ffff:10.0.0.1]:0"), "::ffff:10.0.0.1", "IPv4-mapped IPv6 in brackets");
	is_str(key("10.0.0.5:65535"), "10.0.0.5", "the highest port");
	ok(vc_ip_key("10.1.2.3", k, NULL, 0) == 0 && k[10] == 0xff && k[11] == 0xff &&
	    k[12] == 10 && k[15] == 3, "IPv4 keys are ::ffff:a.b.c.d");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		is_str(key(bad[i]), "-", "'%s' is no address", bad[i]);

	is_str(range("10.0.0.0/8"), "10.0.0.0 10.255.255.255", "10.0.0.0/8");
	is_str(range("10.1.2.3/16"), "10.1.0.0 10.1.255.255", "host bits are cleared");
	is_str(range("192.168.1.1/32"), "192.168.1.1 192.168.1.1", "/32");
	is_str(range("0.0.0.0/0"), "0.0.0.0 255.255.255.255", "IPv4 /0 stays IPv4");
	is_str(range("fd00::/8"), "fd00:: fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fd00::/8");
	is_str(range("::ffff:1.2.3.4/120"), "1.2.3.0 1.2.3.255", "IPv4-mapped, IPv6 bits");
	is_str(range("10.0.0.0/08"), "10.0.0.0 10.255.255.255", "a leading zero");
	is_str(range("10.0.0.5"), "10.0.0.5 10.0.0.5", "one address");
	is_str(range("10.0.0.5:80"), "10.0.0.5 10.0.0.5", "one address with a port");
	for (size_t i = 0; i < sizeof bad_nets / sizeof bad_nets[0]; i++)
		is_str(range(bad_nets[i]), "-", "'%s' is no network", bad_nets[i]);
	return done_testing();
}
