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

#endif
