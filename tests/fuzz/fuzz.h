/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz/ share: the entry
 * point's prototype, an invariant check that aborts (so libFuzzer keeps
 * the input as a crash), and a small deterministic generator of piece
 * sizes so that incremental parsers get their input cut differently by
 * each input.  Header-only.
 */
#ifndef VC_FUZZ_H
#define VC_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test; a violation is a crash. */
#define check(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "invariant violated at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* Piece sizes from a seed: xorshift32, so a given input always cuts the
 * same way (crashes reproduce). */
struct pieces {
	uint32_t x;
	size_t most;            /* largest piece */
};

static inline void
pieces_init(struct pieces *p, uint32_t seed, size_t most)
{
	p->x = seed ? seed : 0x9e3779b9u;
	p->most = most ? most : 1;
}

/* The next piece size, 1..most, never more than left (0 when nothing is). */
static inline size_t
pieces_next(struct pieces *p, size_t left)
{
	size_t n;

	p->x ^= p->x << 13;
	p->x ^= p->x >> 17;
	p->x ^= p->x << 5;
	n = 1 + p->x % p->most;
	return n < left ? n : left;
}

/* A NUL-terminated private copy of data (at most max bytes), malloc'd. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size, size_t max)
{
	size_t n = size < max ? size : max;
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		s[i] = (char)data[i];
	s[n] = '\0';
	return s;
}

#ifdef JV_H
/* An EVTX row (json/evtx.h): an object whose EventData, when an object,
 * has no "#name" or "#text" left over, and whose text reads back as the
 * same value.  row is not consumed. */
static inline void
check_evtx_row(jv row)
{
	check(jv_get_kind(row) == JV_KIND_OBJECT);
	jv ed = jv_object_get(jv_copy(row), jv_string("EventData"));
	if (jv_get_kind(ed) == JV_KIND_OBJECT) {
		check(!jv_object_has(jv_copy(ed), jv_string("#name")));
		check(!jv_object_has(jv_copy(ed), jv_string("#text")));
	}
	jv_free(ed);
	jv s = jv_dump_string(jv_copy(row), 0);
	jv back = jv_parse(jv_string_value(s));
	check(jv_equal(back, jv_copy(row)));
	jv_free(s);
}
#endif

#endif
