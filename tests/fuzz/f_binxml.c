/* SPDX-License-Identifier: MIT */
/*
 * f_binxml.c - one EVTX chunk decoded natively (lib/json/binxml.c).  The
 * input is the chunk after its 8-byte signature, padded with zeros to
 * 64 KiB; its checksums need not match (the decoder reads a damaged
 * chunk's records too).
 *
 * Invariants: every record is a row (a JSON object whose EventData, when
 * an object, has no "#name" or "#text" left over, and whose text reads
 * back as the same value) or an error with a message; reading ends
 * within the records a chunk can hold; decoding the chunk a second time
 * with the same decoder (its caches emptied by the load) gives the same
 * results, record for record.
 */
#include <string.h>
#include <jv.h>

#include "json/binxml.h"
#include "fuzz.h"

#define MAX_RECORDS (VC_BINXML_CHUNK / 28 + 1)

/* The chunk's results: rows, and error messages as strings in a list. */
static jv
decode(struct vc_binxml *d, const unsigned char *c)
{
	char err[512];
	jv out = jv_array();
	uint64_t id;
	int rc, n = 0;
	jv row;

	if (vc_binxml_load(d, c, err, sizeof err) != 0) {
		check(err[0] != '\0');
		return jv_array_append(out, jv_array_append(jv_array(), jv_string(err)));
	}
	while ((rc = vc_binxml_next(d, &row, &id, err, sizeof err)) != 0) {
		check(rc == 1 || rc == -1);
		check(++n <= MAX_RECORDS);
		if (rc < 0) {
			check(err[0] != '\0');
			check(!jv_is_valid(row));
			jv_free(row);
			out = jv_array_append(out, jv_array_append(jv_array(), jv_string(err)));
			continue;
		}
		check_evtx_row(row);
		out = jv_array_append(out, row);
	}
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char c[VC_BINXML_CHUNK];
	struct vc_binxml *d = vc_binxml_new();

	check(d != NULL);
	memset(c, 0, sizeof c);
	memcpy(c, "ElfChnk", 8);
	if (size > sizeof c - 8)
		size = sizeof c - 8;
	memcpy(c + 8, data, size);
	jv first = decode(d, c);
	jv again = decode(d, c);
	check(jv_equal(first, again));
	vc_binxml_free(d);
	return 0;
}
