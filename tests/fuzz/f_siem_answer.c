/* SPDX-License-Identifier: MIT */
/*
 * f_siem_answer.c - the reading of a collector's answer (lib/siem.c), the
 * bytes a Splunk HEC or an Elasticsearch _bulk endpoint sends back, which
 * decide how far a channel's cursor moves.  The input: a byte choosing
 * the reader and the HTTP status class, a byte for the batch's size (1
 * to 256), then the answer's body.
 *
 * Invariants, from siem.h: the HEC's answer is taken (0) exactly for a
 * 2xx status; the events it names valid are fewer than the batch.  The
 * _bulk answer counts at most the batch as taken, all of it when it
 * says 0, fewer when it says -1, none for a status that is not 2xx; a
 * failure always says why.
 */
#include <string.h>

#include "siem.h"
#include "fuzz.h"

/*
 * libjq 1.6 (Debian 12) leaks the partly built value when jv_parse fails
 * inside a structure (fixed in jq 1.7; see f_jsonl.c), and a collector's
 * answer may be any text: LeakSanitizer ignores memory libjq allocated,
 * in this target only.  Our own allocations are still checked.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libjq.so.1\n";
}

static const long statuses[] = { 200, 201, 400, 429, 503, 199, 300, 500 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[400];
	long status;
	int count, valid = -1, taken = -1, rc;

	if (size < 2)
		return 0;
	status = statuses[(data[0] >> 1) % (sizeof statuses / sizeof statuses[0])];
	count = data[1] + 1;
	why[0] = '\0';
	if (data[0] & 1) {
		rc = vc_siem_hec_answer(status, (const char *)data + 2, size - 2, count, &valid, why, sizeof why);
		check((rc == 0) == (status >= 200 && status <= 299));
		check(valid >= 0 && valid < count);
		check(rc == 0 || why[0] != '\0');
	} else {
		rc = vc_siem_bulk_answer(status, (const char *)data + 2, size - 2, count, &taken, why, sizeof why);
		check(rc == 0 || rc == -1);
		check(taken >= 0 && taken <= count);
		check(rc != 0 || taken == count);
		check(rc == 0 || (taken < count && why[0] != '\0'));
		check(status >= 200 || rc == -1);
		check(!(status < 200 || status > 299) || taken == 0);
	}
	return 0;
}
