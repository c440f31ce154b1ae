/* SPDX-License-Identifier: MIT */
/*
 * jscan.h - a fast, allocation-free check that a buffer holds exactly one
 * JSON text (RFC 8259), which also finds the raw values of chosen
 * top-level members.  For hot paths (artifact import) where building a
 * jv for every row would dominate; anything fancier uses libjq's jv.
 *
 * Bytes >= 0x80 inside strings are passed through unchecked, as jq does
 * (it substitutes invalid UTF-8 rather than rejecting it).  What jscan
 * accepts, libjq reads: a \u escape of a high surrogate must be followed
 * by one of a low surrogate, as jq requires.
 */
#ifndef VC_JSCAN_H
#define VC_JSCAN_H
#include <stddef.h>

#define VC_JSCAN_DEPTH 512

struct vc_jscan_field {
	const char *key;        /* in: a top-level member name, as UTF-8 text;
	                         * names in the JSON text match it once their
	                         * escapes are decoded ("Client\u0049d") */
	const char *val;        /* out: its raw value text, or NULL when absent */
	size_t len;
	char kind;              /* out: 's' string, 'n' number, 'o', 'a', 't', 'f', 'z' null */
};

/*
 * Check s[0..n) and fill fields.  Returns the kind of the top-level value
 * ('o', 'a', ...) or 0 when it is not one valid JSON text; then *err (may
 * be NULL) says why and *at where.
 */
int vc_jscan(const char *s, size_t n, struct vc_jscan_field *fields, int nfields,
    const char **err, size_t *at);
/*
 * Decode the inside of a JSON string that vc_jscan accepted (s[0..n),
 * without its quotes) into out, as libjq decodes it: UTF-8, a lone low
 * surrogate as U+FFFD.  out needs n bytes (decoding never grows text);
 * returns the length written.  Not NUL-terminated.
 */
size_t vc_jscan_unescape(const char *s, size_t n, char *out);
/*
 * Check that s[0..n) is one JSON text and, when it is an array, call
 * each(arg, element, length) for every element, in order, with the
 * element's raw text.  each returning nonzero stops the scan (result 0,
 * *err "stopped").  Returns the top-level kind, or 0.
 */
int vc_jscan_array(const char *s, size_t n, int (*each)(void *, const char *, size_t),
    void *arg, const char **err, size_t *at);
#endif
