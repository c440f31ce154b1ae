/* SPDX-License-Identifier: MIT */
/*
 * t_evtx.c - the native EVTX decoder (json/binxml.h) against libevtx as
 * the oracle: every record of every SigmaHQ sample .evtx, and of a dense
 * file made from them by bench/mkevtx.py (every chunk full of template
 * instances, as a real log's), decoded both ways gives the same row:
 * libevtx's XML read by vc_evtx_xml_row, and ours.  Then damage: a
 * record whose template is out of the chunk fails alone and the next is
 * read; a record with a bad size ends its chunk; a chunk whose checksum
 * fails is read and said to be damaged.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libevtx.h includes libbfio.h when libevtx was built with it. */
#include <libevtx/features.h>
#undef LIBEVTX_HAVE_BFIO
#include <libevtx.h>

#include "json/binxml.h"
#include "json/evtx.h"
#include "tap.h"

#define REG "rules/sigma/regression_data"
#define CHUNK VC_BINXML_CHUNK

static long records, mismatches, theirs_bad, ours_bad;

/* The rows libevtx gives for path, in order (invalid for a bad record). */
static jv
oracle(const char *path)
{
	libevtx_file_t *f = NULL;
	int n = 0;
	jv rows = jv_array();
	static char xml[4 << 20];

	if (libevtx_file_initialize(&f, NULL) != 1 || libevtx_file_open(f, path, LIBEVTX_OPEN_READ, NULL) != 1 ||
	    libevtx_file_get_number_of_records(f, &n, NULL) != 1)
		return jv_invalid();
	for (int i = 0; i < n; i++) {
		libevtx_record_t *r = NULL;
		jv row = jv_invalid();

		if (libevtx_file_get_record_by_index(f, i, &r, NULL) == 1 &&
		    libevtx_record_get_utf8_xml_string(r, (uint8_t *)xml, sizeof xml, NULL) == 1)
			row = vc_evtx_xml_row(xml, strlen(xml));
		libevtx_record_free(&r, NULL);
		rows = jv_array_append(rows, row);
	}
	libevtx_file_close(f, NULL);
	libevtx_file_free(&f, NULL);
	return rows;
}

/* Ours for path, chunk by chunk, compared with libevtx's. */
static void
compare(const char *path)
{
	jv want = oracle(path);
	FILE *fp = fopen(path, "rb");
	static unsigned char chunk[CHUNK];
	struct vc_binxml *d = vc_binxml_new();
	char err[256];
	int i = 0, bad = 0;

	if (!jv_is_valid(want) || fp == NULL || d == NULL || fseek(fp, 4096, SEEK_SET) != 0) {
		ok(0, "%s: opened both ways", path);
		jv_free(want);
		if (fp != NULL)
			fclose(fp);
		vc_binxml_free(d);
		return;
	}
	while (fread(chunk, 1, CHUNK, fp) == CHUNK) {
		uint64_t id;
		jv row;
		int rc;

		if (vc_binxml_load(d, chunk, err, sizeof err) != 0)
			continue;
		while ((rc = vc_binxml_next(d, &row, &id, err, sizeof err)) != 0) {
			jv w = jv_array_get(jv_copy(want), i++);

			records++;
			if (rc < 0)
				ours_bad++;
			if (!jv_is_valid(w))
				theirs_bad++;
			if (rc > 0 && jv_is_valid(w) && jv_equal(jv_copy(row), jv_copy(w))) {
				jv_free(row);
				jv_free(w);
				continue;
			}
			if (rc < 0 && !jv_is_valid(w)) {
				jv_free(w);
				continue;
			}
			if (bad++ == 0) {
				jv a = jv_dump_string(jv_copy(row), 0), b = jv_dump_string(jv_copy(w), 0);

				printf("# %s: record %d differs\n#   ours:    %s\n#   libevtx: %s\n", path, i,
				    rc > 0 ? jv_string_value(a) : err,
				    jv_is_valid(w) ? jv_string_value(b) : "(unreadable)");
				jv_free(a);
				jv_free(b);
			}
			mismatches++;
			jv_free(row);
			jv_free(w);
		}
	}
	fclose(fp);
	vc_binxml_free(d);
	is_int(i, jv_array_length(jv_copy(want)), "%s: as many records as libevtx reads", path);
	is_int(bad, 0, "%s: every record the same row", path);
	jv_free(want);
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* The sample files under dir, depth first; their paths into list. */
static void
samples(const char *dir, jv *list)
{
	struct dirent **de;
	int n = scandir(dir, &de, NULL, by_name);

	for (int i = 0; i < n; i++) {
		char p[4096];
		size_t l = strlen(de[i]->d_name);

		snprintf(p, sizeof p, "%s/%s", dir, de[i]->d_name);
		if (de[i]->d_name[0] != '.' && de[i]->d_type == DT_DIR)
			samples(p, list);
		else if (l > 5 && strcmp(de[i]->d_name + l - 5, ".evtx") == 0)
			*list = jv_array_append(*list, jv_string(p));
		free(de[i]);
	}
	free(de);
}

/* The first record of the first chunk of path, damaged by edit. */
static int
damaged(const char *path, void (*edit)(unsigned char *c), jv *rows, char *err, size_t errn)
{
	static unsigned char c[CHUNK];
	FILE *fp = fopen(path, "rb");
	struct vc_binxml *d = vc_binxml_new();
	int ok = fp != NULL && fseek(fp, 4096, SEEK_SET) == 0 && fread(c, 1, CHUNK, fp) == CHUNK;
	int rc, n = 0, first = 0;
	uint64_t id;
	jv row;

	if (fp != NULL)
		fclose(fp);
	*rows = jv_array();
	if (!ok || d == NULL) {
		vc_binxml_free(d);
		return -2;
	}
	edit(c);
	if (vc_binxml_load(d, c, err, errn) != 0) {
		vc_binxml_free(d);
		return -3;
	}
	while ((rc = vc_binxml_next(d, &row, &id, n == 0 ? err : (char[64]){ 0 }, n == 0 ? errn : 64)) != 0) {
		if (n++ == 0)
			first = rc;
		*rows = jv_array_append(*rows, rc > 0 ? row : jv_null());
	}
	if (vc_binxml_damaged(d) != NULL)
		*rows = jv_array_append(*rows, jv_string(vc_binxml_damaged(d)));
	vc_binxml_free(d);
	return first;
}

/* The first record's template instance points outside the chunk. */
static void
far_template(unsigned char *c)
{
	unsigned char *b = c + 512 + 24;        /* fragment header, then 0x0C */

	if (b[4] == 0x0C)
		memset(b + 10, 0xFF, 4);
}

static void
bad_size(unsigned char *c)
{
	memset(c + 512 + 4, 0x7F, 4);
}

static void
no_edit(unsigned char *c)
{
	(void)c;
}

int
main(void)
{
	jv list = jv_array();
	char dense[] = "/tmp/t_evtx.XXXXXX", err[256];
	static char cmd[128 * 1024];
	size_t len;
	int fd;

	samples(REG, &list);
	ok(jv_array_length(jv_copy(list)) >= 145, "the SigmaHQ samples are there (%d)", jv_array_length(jv_copy(list)));
	jv_array_foreach(list, i, p) {
		compare(jv_string_value(p));
		jv_free(p);
	}
	/* Dense chunks: one from each sample, filled with its templates' records. */
	fd = mkstemp(dense);
	ok(fd >= 0, "a file for the dense set");
	close(fd);
	len = (size_t)snprintf(cmd, sizeof cmd, "python3 bench/mkevtx.py --dense %s %d", dense,
	    jv_array_length(jv_copy(list)));
	jv_array_foreach(list, i, p) {
		len += (size_t)snprintf(cmd + len, len < sizeof cmd ? sizeof cmd - len : 0, " %s", jv_string_value(p));
		jv_free(p);
	}
	ok(len < sizeof cmd && system(cmd) == 0, "bench/mkevtx.py --dense made it");
	long before = records;
	compare(dense);
	ok(records - before > 5000, "... with %ld records", records - before);
	printf("# %ld records compared, %ld unreadable to us, %ld to libevtx, %ld differ\n", records, ours_bad,
	    theirs_bad, mismatches);
	ok(ours_bad == 0, "no record of the samples is unreadable");

	/* Damage. */
	jv rows, good;
	int rc;

	rc = damaged(dense, no_edit, &good, err, sizeof err);
	is_int(rc, 1, "the dense file's first chunk reads");
	rc = damaged(dense, far_template, &rows, err, sizeof err);
	is_int(rc, -1, "a template instance pointing past the chunk: that record fails");
	ok(strstr(err, "template") != NULL, "... saying so (%s)", err);
	is_int(jv_array_length(jv_copy(rows)), jv_array_length(jv_copy(good)) + 1,
	    "... the records after it are read, and the chunk is said to be damaged");
	ok(jv_equal(jv_array_get(jv_copy(rows), 1), jv_array_get(jv_copy(good), 1)), "... the same rows as before");
	jv_free(rows);
	rc = damaged(dense, bad_size, &rows, err, sizeof err);
	is_int(rc, -1, "a record whose size is out of bounds: it fails");
	ok(strstr(err, "bad size") != NULL, "... saying so (%s)", err);
	is_int(jv_array_length(jv_copy(rows)), 2, "... and ends its chunk, which is said to be damaged");
	jv_free(rows);
	jv_free(good);
	jv_free(list);
	unlink(dense);
	return done_testing();
}
