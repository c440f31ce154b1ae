/* SPDX-License-Identifier: MIT */
/*
 * f_zip.c - ZIP archives (lib/json/zip.c): the input is an archive,
 * opened with vc_zip_open, and every member it keeps is read to its end,
 * then the archive is read once more through vc_jsonl_open as the tools
 * read a triage ZIP of .evtx files.
 *
 * Invariants: opening either succeeds or says why naming the archive; a
 * member either gives no more than its declared size and ends, or fails
 * with a reason; a refused member's error names the archive; reading
 * ends.
 */
#include <string.h>
#include <unistd.h>

#include "json/jsonl.h"
#include "json/zip.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/f_zip.XXXXXX";
	int fd = mkstemp(path);
	struct vc_zip *z;
	struct vc_jsonl r;
	static char buf[65536];
	vc_ctx ctx;

	check(fd >= 0);
	check(size == 0 || write(fd, data, size) == (ssize_t)size);
	close(fd);
	vc_ctx_init(&ctx);
	if (vc_zip_open(&ctx, path, NULL, 1000, &z) != 0) {
		check(strstr(ctx.errmsg, path) != NULL || strstr(ctx.errmsg, "memory") != NULL);
	} else {
		for (size_t i = 0; i < vc_zip_count(z); i++) {
			FILE *f = vc_zip_fopen(&ctx, z, i);
			uint64_t total = 0;
			size_t got;

			if (f == NULL) {
				check(strstr(ctx.errmsg, path) != NULL);
				continue;
			}
			while ((got = fread(buf, 1, sizeof buf, f)) > 0)
				total += got;
			check(total <= vc_zip_size(z, i));
			check(!ferror(f) || vc_zip_error(z)[0] != '\0');
			check(ferror(f) || total == vc_zip_size(z, i));
			fclose(f);
		}
		vc_zip_free(z);
	}
	if (vc_jsonl_open(&ctx, &r, path) == 0) {
		long n = 0;
		int rc;

		while ((rc = vc_jsonl_next_raw(&ctx, &r)) != 0 && n++ < 100000)
			check(rc == 1 || rc == -1);
		vc_jsonl_release(&r);
	}
	vc_ctx_release(&ctx);
	unlink(path);
	return 0;
}
