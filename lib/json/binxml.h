/* SPDX-License-Identifier: MIT */
/*
 * binxml.h - one EVTX chunk decoded natively: each record's binary XML
 * (templates, substitutions, typed values, nested binary XML) straight
 * to its parse_evtx() row (json/evtx.h says the shape), without XML text.
 *
 * A chunk is 64 KiB: a 512-byte header, then records.  A record's binary
 * XML is mostly a template instance: a template defined once in the
 * chunk (its element tree, with numbered substitutions) and the record's
 * values.  A template's tree is decoded once per chunk and kept; each
 * record then only turns its values into text or numbers.  Everything
 * read from the chunk is bounds-checked: these are files from hosts under
 * investigation.
 *
 * The rows are those that libevtx's XML rendering, read by
 * vc_evtx_xml_row, gives (tests/unit/t_evtx.c compares the two over
 * every sample): a value's text as libevtx prints it (integers in
 * decimal, hex integers as 0x and lowercase digits, GUIDs in braces and
 * upper case, FILETIMEs to the nanosecond, binary as upper-case hex),
 * an element whose last substitution is null left out, an array value
 * repeating its element once per item.
 *
 * Ownership: vc_binxml_new's decoder is the caller's, freed with
 * vc_binxml_free; the chunk given to vc_binxml_load is the caller's and
 * must stay unchanged until the next load; a row from vc_binxml_next is
 * the caller's.
 */
#ifndef VC_BINXML_H
#define VC_BINXML_H
#include <stddef.h>
#include <stdint.h>
#include <jv.h>

#define VC_BINXML_CHUNK 65536

struct vc_binxml;

struct vc_binxml *vc_binxml_new(void);
void vc_binxml_free(struct vc_binxml *d);

/*
 * Start on a chunk of VC_BINXML_CHUNK bytes: 0, or -1 with err set when
 * it has no chunk signature.  A checksum that does not match is not an
 * error here: the records are still read (vc_binxml_damaged says so).
 */
int vc_binxml_load(struct vc_binxml *d, const unsigned char *chunk, char *err, size_t errn);

/*
 * The chunk's next record: 1 with its row in *row and its record number
 * in *id; 0 when no record is left; -1 for a record that cannot be read,
 * err saying why (call again: the next record follows when the damaged
 * one's size could be trusted, else 0).
 */
int vc_binxml_next(struct vc_binxml *d, jv *row, uint64_t *id, char *err, size_t errn);

/* Why the loaded chunk's header or records fail their checksum, or NULL. */
const char *vc_binxml_damaged(const struct vc_binxml *d);

/*
 * A value's text as a row has it: a plain decimal integer that a double
 * holds exactly as a number, "0x" and hex digits without leading zeros,
 * anything else a string.
 */
jv vc_binxml_typed(const char *t, size_t n);
/* "2026-03-11T05:16:41.816327300Z" as seconds since 1970, or -1. */
double vc_binxml_systime(const char *t);

#endif
