/* SPDX-License-Identifier: MIT */
/*
 * net.h - addresses and networks as 16-byte keys that sort and compare
 * as numbers: IPv6 as is, IPv4 mapped to ::ffff:a.b.c.d.  Used for host
 * addresses (sorting, --ip filters) and IOC networks alike.
 */
#ifndef VC_NET_H
#define VC_NET_H
#include <stddef.h>

/* The key of an address; a port ("10.0.0.5:51234", "[fe80::1]:443") is
 * dropped and *clean (may be NULL) gets the address without it.  0 or -1
 * (also for anything else around the address). */
int vc_ip_key(const char *s, unsigned char key[16], char *clean, size_t cn);
/* "10.0.0.0/8", "fd00::/8" or one address: the lowest and highest keys.
 * 0, or -1 when it is not an address or network (a network's address
 * has no port or brackets, its length only digits). */
int vc_cidr_range(const char *s, unsigned char lo[16], unsigned char hi[16]);

/*
 * Where a tenant may make this installation connect (its Velociraptor
 * server, later webhooks): not to loopback, link-local, unspecified or
 * multicast addresses, nor to this machine's own, unless the installation
 * allows them: vc_net_allow() (vc-serve --allow-velociraptor) or
 * $VC_ALLOW_VELOCIRAPTOR (addresses or networks, commas or spaces).
 */
int vc_net_allow(const char *cidr);     /* 0, or -1: not an address or network */
/*
 * Resolve host and pick the first permitted address, as text for
 * connecting to ("10.0.0.5", "[fd00::5]").  0; -1 when it does not
 * resolve; -2 when every address is refused; why says which and why.
 */
int vc_net_dest(const char *host, int port, char addr[64], char *why, size_t wn);
#endif
