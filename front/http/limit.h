/* SPDX-License-Identifier: MIT */
/*
 * limit.h - token buckets by key, for vc-serve's per-address limits.
 *
 * A bucket holds at most burst tokens and gains rate tokens a second; a
 * request takes one.  Keys are short strings (an address class, a
 * prefix of the address).  The table never holds more than max_keys
 * buckets: a full bucket is the same as no bucket, so full ones are
 * dropped when room is needed; when every bucket is in use the table
 * refuses (fails closed) rather than grow.  Not thread-safe: vc-serve
 * uses it from its event loop only.  Times are milliseconds of a
 * monotonic clock, given by the caller (the unit test steers them).
 */
#ifndef VC_LIMIT_H
#define VC_LIMIT_H

#include <stddef.h>
#include <stdint.h>

struct vc_limit;

/* NULL when out of memory.  rate > 0, burst >= 1, max_keys >= 1. */
struct vc_limit *vc_limit_new(double rate, double burst, size_t max_keys);
void vc_limit_free(struct vc_limit *l);

/* Take a token of key's bucket: 0 when there was one, else the
 * milliseconds until there will be (at least 1). */
int64_t vc_limit_take(struct vc_limit *l, const char *key, int64_t now_ms);

/* Buckets in the table (for tests). */
size_t vc_limit_count(const struct vc_limit *l);

/*
 * The part of a numeric address that one client controls: an IPv4
 * address whole, an IPv6 address's /64 (a host gets a /64 to itself, so
 * counting its addresses one by one would count nothing).  "unknown" or
 * anything else is kept as it is.  Writes at most n bytes.
 */
void vc_limit_addr_key(const char *ip, char *out, size_t n);

#endif
