/* SPDX-License-Identifier: MIT */
/*
 * f_evtx.c - EVTX input (lib/json/evtx.c).  The first byte chooses:
 *   'X': the rest is one record's XML for vc_evtx_xml_row;
 *   else: the rest, its first 8 bytes made the EVTX signature, is an
 *   .evtx file, read to its end through
 *   vc_jsonl_open and vc_jsonl_next_raw as every tool reads one.
 *
 * Invariants: a row is a JSON object with no "#name" or "#text" member
 * left over, or an invalid value with a message; a record line of the
 * file is the JSON of an object; a bad record or chunk is an error that
 * names the file, and reading goes on; reading ends.
 */
#include <string.h>
#include <unistd.h>

#include "json/evtx.h"
#include "json/jsonl.h"
#include "fuzz.h"

static void
xml_case(const uint8_t *data, size_t size)
{
	jv row = vc_evtx_xml_row((const char *)data, size);

	if (!jv_is_valid(row)) {
		jv m = jv_invalid_get_msg(row);

		check(jv_get_kind(m) == JV_KIND_STRING);
		jv_free(m);
		return;
	}
	check_evtx_row(row);
	jv_free(row);
}

static void
file_case(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/f_evtx.XXXXXX";
	int fd = mkstemp(path), rc;
	struct vc_jsonl r;
	vc_ctx ctx;
	long n = 0;

	/* Always an EVTX file by its signature, so the reader is the EVTX one. */
	check(fd >= 0);
	check(write(fd, "ElfFile", 8) == 8);
	if (size > 8)
		check(write(fd, data + 8, size - 8) == (ssize_t)(size - 8));
	close(fd);
	vc_ctx_init(&ctx);
	if (vc_jsonl_open(&ctx, &r, path) == 0) {
		check(r.src != NULL);
		while ((rc = vc_jsonl_next_raw(&ctx, &r)) != 0 && n++ < 100000) {
			check(rc == 1 || rc == -1);
			if (rc == -1) {
				check(strstr(ctx.errmsg, path) != NULL);
				continue;
			}
			jv v = jv_parse_sized(r.buf, (int)r.len);
			check(jv_get_kind(v) == JV_KIND_OBJECT);
			jv_free(v);
		}
		vc_jsonl_release(&r);
	}
	vc_ctx_release(&ctx);
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] == 'X')
		xml_case(data + 1, size - 1);
	else
		file_case(data + 1, size - 1);
	return 0;
}
