/* SPDX-License-Identifier: MIT */
/*
 * t_limit.c - the token buckets behind vc-serve's per-address limits
 * (front/http/limit.c): a burst, then one request per refill period, the
 * wait it reports, separate keys, the table's bound (full buckets make
 * room, busy ones do not: it fails closed), and the address classes.
 */
#include <stdio.h>
#include <string.h>

#include "http/limit.h"
#include "tap.h"

static const char *
key(const char *ip)
{
	static char buf[80];

	vc_limit_addr_key(ip, buf, sizeof buf);
	return buf;
}

int
main(void)
{
	struct vc_limit *l = vc_limit_new(0.5, 3, 4);   /* 1 each 2 s, burst 3 */
	int64_t t = 1000;

	ok(l != NULL, "a table");
	is_int(vc_limit_take(l, "a", t), 0, "first of the burst");
	is_int(vc_limit_take(l, "a", t), 0, "second of the burst");
	is_int(vc_limit_take(l, "a", t), 0, "third of the burst");
	is_int(vc_limit_take(l, "a", t), 2001, "fourth: wait two seconds");
	is_int(vc_limit_take(l, "a", t + 1000), 1001, "a second later: one more");
	is_int(vc_limit_take(l, "b", t), 0, "another key has its own bucket");
	is_int(vc_limit_take(l, "a", t + 2000), 0, "refilled one token");
	is_int(vc_limit_take(l, "a", t + 2000), 2001, "and only one");
	is_int(vc_limit_take(l, "a", t + 60000), 0, "after a long pause");
	ok(vc_limit_take(l, "a", t + 60000) == 0 && vc_limit_take(l, "a", t + 60000) == 0 &&
	    vc_limit_take(l, "a", t + 60000) > 0, "the burst again, not more");

	/* Bounded: four busy keys fill it; a fifth is refused, not added. */
	for (int i = 0; i < 3; i++) {
		vc_limit_take(l, "b", t + 60000);
		vc_limit_take(l, "c", t + 60000);
		vc_limit_take(l, "d", t + 60000);
	}
	is_int((long long)vc_limit_count(l), 4, "four buckets");
	ok(vc_limit_take(l, "e", t + 60000) > 0, "full of busy buckets: refused");
	is_int((long long)vc_limit_count(l), 4, "and not added");
	ok(vc_limit_take(l, "e", t + 60500) > 0, "no new sweep for a moment");
	/* Ten seconds on, every bucket is full again and makes room. */
	is_int(vc_limit_take(l, "e", t + 70000), 0, "full buckets make room");
	is_int((long long)vc_limit_count(l), 1, "the full ones were dropped");
	vc_limit_free(l);

	ok(vc_limit_new(0, 1, 1) == NULL, "rate 0 refused");
	ok(vc_limit_new(1, 0.5, 1) == NULL, "burst below 1 refused");

	is_str(key("192.0.2.7"), "192.0.2.7", "IPv4 whole");
	is_str(key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64", "IPv6 by its /64");
	is_str(key("2001:db8:1:2:ffff::9"), "2001:db8:1:2::/64", "same /64, same key");
	is_str(key("::ffff:192.0.2.7"), "192.0.2.7", "IPv4-mapped is the IPv4 client");
	is_str(key("unknown"), "unknown", "no address: as it is");
	return done_testing();
}
