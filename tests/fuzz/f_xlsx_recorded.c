/* SPDX-License-Identifier: MIT */
/*
 * f_xlsx_recorded.c - reading back the inputs and hash an XLSX report
 * recorded (lib/report/xlsx.c): `vc-report verify FILE` hands it any
 * file a user names, so its zip directory walk and inflate must hold
 * against any bytes.
 *
 * Invariants: it never reads outside the buffer (ASan); it succeeds only
 * with an object of inputs and a hash of at most 64 characters.
 */
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sha[80] = "";
	jv inputs;
	/* An exact copy, so ASan sees a read past the end. */
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (vc_report_xlsx_recorded(buf, size, &inputs, sha, sizeof sha) == 0)
		check(jv_get_kind(inputs) == JV_KIND_OBJECT && strlen(sha) <= 64);
	jv_free(inputs);
	free(buf);
	return 0;
}
