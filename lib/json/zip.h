/* SPDX-License-Identifier: MIT */
/*
 * zip.h - the members of a ZIP archive read where they are, as streams:
 * how the .evtx files of a triage collection (Velociraptor's offline
 * collector writes uploads/auto/C%3A/Windows/System32/winevt/Logs/...)
 * are read without extracting anything.  Member names are only ever
 * printed, never used as paths.
 *
 * Stored and deflated members are read, ZIP64 included; an encrypted
 * member, another compression method, a member larger than
 * VC_ZIP_MAX_MEMBER, one whose declared sizes claim more than
 * VC_ZIP_MAX_RATIO times its compressed size past VC_ZIP_RATIO_FLOOR
 * bytes, or one whose data overlaps another kept member's (the trick of
 * overlapping zip bombs) is refused by name when it is opened, and the
 * others are still read.  A stream stops with an error when the data
 * inflates past its declared size, ends before it, or fails its CRC.
 *
 * Ownership: vc_zip_open returns a struct vc_zip the caller frees with
 * vc_zip_free; a stream from vc_zip_fopen is the caller's to fclose,
 * before vc_zip_free.
 */
#ifndef VC_ZIP_H
#define VC_ZIP_H
#include <stdint.h>
#include <stdio.h>
#include "core/vc.h"

#define VC_ZIP_MAX_MEMBER (8ULL << 30)          /* uncompressed bytes of one member */
#define VC_ZIP_MAX_RATIO 100                    /* uncompressed / compressed ... */
#define VC_ZIP_RATIO_FLOOR (16ULL << 20)        /* ... for members larger than this */

struct vc_zip;

/* 1 if path is a regular file that starts with a ZIP signature. */
int vc_zip_is_file(const char *path);

/*
 * Open the ZIP at path and list the members whose name want() accepts
 * (want may be NULL: every file member), at most max of them, in byte
 * order of their names.  Returns 0, or VC_ENOTFOUND / VC_EINVAL (not a
 * ZIP, a damaged central directory, more than max members) with ctx
 * saying why.
 */
int vc_zip_open(vc_ctx *ctx, const char *path, int (*want)(const char *name), size_t max,
    struct vc_zip **out);
size_t vc_zip_count(const struct vc_zip *z);
/* Member i's name, with control characters shown as '?'. */
const char *vc_zip_name(const struct vc_zip *z, size_t i);
/* Member i's uncompressed size, as its central directory declares it. */
uint64_t vc_zip_size(const struct vc_zip *z, size_t i);
/*
 * A stream of member i's uncompressed bytes, or NULL with ctx saying why
 * (naming the archive and the member).  When a read fails, ferror() is
 * set on the stream and vc_zip_error says why.
 */
FILE *vc_zip_fopen(vc_ctx *ctx, struct vc_zip *z, size_t i);
/* Why the last stream of z stopped short ("" when none did). */
const char *vc_zip_error(const struct vc_zip *z);
void vc_zip_free(struct vc_zip *z);

#endif
