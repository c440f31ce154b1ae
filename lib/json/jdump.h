/* SPDX-License-Identifier: MIT */
/*
 * jdump.h - JSON text of a jq value, the same bytes as jv_dump_string(v, 0)
 * but without its character-at-a-time appends: vc-serve writes every
 * answer through it (a page of 50 hosts spent a quarter of its time in
 * libjq's dumper).
 */
#ifndef VC_JDUMP_H
#define VC_JDUMP_H
#include <stddef.h>
#include <jv.h>

/* The text of v (consumed), NUL-terminated, its length in *len; NULL
 * when out of memory.  The caller frees it. */
char *vc_json_dump(jv v, size_t *len);

/*
 * The same text written piece by piece into a growing buffer, for an
 * answer written without building its value first (a page of rows: see
 * vc_sql_row_json).  s is NUL-terminated once anything was put; oom
 * says a put failed (the text is then incomplete).  Free s.
 */
struct vc_jbuf {
	char *s;
	size_t n, cap;
	int oom;
};
void vc_jbuf_put(struct vc_jbuf *b, const char *p, size_t n);
void vc_jbuf_str(struct vc_jbuf *b, const char *p);           /* raw text */
void vc_jbuf_string(struct vc_jbuf *b, const char *p, size_t n); /* a JSON string of
                                                                     * valid UTF-8 */
void vc_jbuf_number(struct vc_jbuf *b, double d);
void vc_jbuf_value(struct vc_jbuf *b, jv v);                  /* consumed */

#endif
