/* SPDX-License-Identifier: MIT */
/*
 * f_jsonl.c - the bounded JSON Lines reader (lib/json/jsonl.c), from
 * memory and from a FILE, against a model of its contract.
 *
 * The first byte picks the longest line allowed (1 byte to the default
 * 1 MiB) and, with its top bit, a long first line that puts the rest
 * just before the 64 KiB read-ahead boundary; the second byte how many
 * bytes each read of the FILE returns.  The memory reader, the FILE
 * reader (a stdio cookie over the same bytes, read as vc-serve reads an
 * import body) and the model must give the same records, the same line
 * numbers and the same over-long lines.  Then the records are parsed
 * (vc_jsonl_next): a good line is a valid value, a bad one says where.
 */
#include <string.h>

#include "json/jsonl.h"
#include "fuzz.h"

/*
 * libjq 1.6 (Debian 12) leaks the partly built value when jv_parse fails
 * inside a structure (fixed in jq 1.7), and the reader under test parses
 * every bad line it is given.  libjq has no frame pointers, so its
 * leaks show only jv_mem_alloc and cannot be told apart by caller:
 * LeakSanitizer ignores memory libjq allocated, in this target only
 * (as t_jscan does).  Our own allocations are still checked.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libjq.so.1\n";
}

#define READ_AHEAD (64 * 1024)  /* jsonl.c's */

struct src {
	const char *p;
	size_t len, pos, step;
};

static ssize_t
src_read(void *cookie, char *buf, size_t n)
{
	struct src *s = cookie;
	size_t k = s->len - s->pos;

	if (k > n)
		k = n;
	if (k > s->step)
		k = s->step;
	memcpy(buf, s->p + s->pos, k);
	s->pos += k;
	return (ssize_t)k;
}

/* The model's next record: as vc_jsonl_next_raw documents it. */
struct model {
	const char *p;
	size_t len, pos, max;
	long line;
};

static int
model_next(struct model *m, const char **text, size_t *n)
{
	for (;;) {
		const char *s = m->p + m->pos, *nl;
		size_t l;

		if (m->pos == m->len)
			return 0;
		nl = memchr(s, '\n', m->len - m->pos);
		l = nl ? (size_t)(nl - s) : m->len - m->pos;
		m->pos += l + (nl != NULL);
		m->line++;
		if (l > m->max)
			return -1;
		while (l > 0 && (s[l - 1] == '\r' || s[l - 1] == ' ' || s[l - 1] == '\t'))
			l--;
		if (l == 0)
			continue;
		*text = s;
		*n = l;
		return 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = { 1, 2, 7, 16, 64, 1024, VC_JSONL_MAX };
	static const cookie_io_functions_t io = { .read = src_read };
	struct vc_jsonl a, b;
	struct model m;
	struct src src;
	vc_ctx ctx;
	char *text;
	size_t max, pad = 0, n;
	FILE *f;

	if (size < 2)
		return 0;
	max = maxes[(data[0] & 0x7f) % (sizeof maxes / sizeof maxes[0])];
	if (data[0] & 0x80) {
		max = VC_JSONL_MAX;
		pad = READ_AHEAD - 1 - data[1] % 61;
	}
	n = pad + size - 2;
	if ((text = malloc(n + 1)) == NULL)
		abort();
	if (pad > 0) {
		/* One long JSON string: nothing to trim, one value to parse. */
		text[0] = '"';
		memset(text + 1, 'p', pad - 3);
		text[pad - 2] = '"';
		text[pad - 1] = '\n';
	}
	memcpy(text + pad, data + 2, size - 2);
	text[n] = '\0';

	vc_ctx_init(&ctx);
	vc_jsonl_mem(&a, "mem", text, n);
	a.max = max;
	/* Short reads do not reach jsonl.c (fread gathers them) but cost a
	 * call each: small ones only when the text is small. */
	src = (struct src){ text, n, 0, 1 + (size_t)data[1] * (pad ? 256 : 7) };
	if ((f = fopencookie(&src, "r", io)) == NULL)
		abort();
	memset(&b, 0, sizeof b);
	b.f = f;
	b.name = "file";
	b.max = max;
	m = (struct model){ text, n, 0, max, 0 };

	for (;;) {
		const char *mt = NULL;
		size_t ml = 0;
		int ra = vc_jsonl_next_raw(&ctx, &a);
		int rb = vc_jsonl_next_raw(&ctx, &b);
		int rm = model_next(&m, &mt, &ml);

		check(ra == rm && rb == rm);
		check(a.line == m.line && b.line == m.line);
		if (rm == 0)
			break;
		if (rm == 1) {
			check(a.len == ml && b.len == ml && ml <= max);
			check(memcmp(a.buf, mt, ml) == 0 && memcmp(b.buf, mt, ml) == 0);
			check(a.buf[ml] == '\0' && b.buf[ml] == '\0');
		} else
			check(strstr(ctx.errmsg, "longer than") != NULL);
	}
	vc_jsonl_release(&a);
	fclose(f);
	b.f = NULL;
	vc_jsonl_release(&b);

	/* Parsed: every record is a value or a bad line that says where. */
	vc_jsonl_mem(&a, "mem", text, n);
	a.max = max;
	for (int i = 0; i < 10000; i++) {
		jv v;
		int r = vc_jsonl_next(&ctx, &a, &v);

		check(r == 1 || r == 0 || r == -1);
		if (r == 1)
			check(jv_is_valid(v));
		else
			check(!jv_is_valid(v));
		if (r == -1)
			check(strncmp(ctx.errmsg, "mem:", 4) == 0);
		jv_free(v);
		if (r == 0)
			break;
	}
	vc_jsonl_release(&a);
	free(text);
	return 0;
}
