/* SPDX-License-Identifier: MIT */
/*
 * zip.c - ZIP members as streams (see zip.h).  The central directory is
 * read entry by entry through a buffered stream, so memory grows with
 * the members kept, not the archive; a member is read with pread from
 * its data and inflated by zlib a buffer at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "json/zip.h"

#define EOCD 22
#define EOCD64 56
#define CDENT 46
#define LOCAL 30
#define MAX_COMMENT 65535
#define INBUF (64 * 1024)
#define U32 0xFFFFFFFFu

struct member {
	char *name;             /* printable */
	uint64_t csize, usize, off;     /* off: the local header, then the data */
	uint32_t crc;
	uint16_t method, flags;
	char *bad;              /* why it is refused, or NULL */
};

struct vc_zip {
	char *path;
	int fd;
	uint64_t size, cd_off;
	struct member *m;
	size_t n;
	char err[512];
};

struct stream {
	struct vc_zip *z;
	struct member *m;
	uint64_t pos, left;     /* compressed: next offset, bytes not yet read */
	uint64_t out;           /* uncompressed bytes given */
	uint32_t crc;
	z_stream inf;
	int inflating, done, failed;
	unsigned char in[INBUF];
};

static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* pread of exactly n bytes at off: 0, or -1. */
static int
read_at(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

int
vc_zip_is_file(const char *path)
{
	struct stat st;
	unsigned char sig[4];
	int fd, is;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	is = read_at(fd, sig, 4, 0) == 0 && sig[0] == 'P' && sig[1] == 'K' &&
	    ((sig[2] == 3 && sig[3] == 4) || (sig[2] == 5 && sig[3] == 6));
	close(fd);
	return is;
}

size_t
vc_zip_count(const struct vc_zip *z)
{
	return z->n;
}

const char *
vc_zip_name(const struct vc_zip *z, size_t i)
{
	return i < z->n ? z->m[i].name : "";
}

uint64_t
vc_zip_size(const struct vc_zip *z, size_t i)
{
	return i < z->n ? z->m[i].usize : 0;
}

const char *
vc_zip_error(const struct vc_zip *z)
{
	return z->err;
}

void
vc_zip_free(struct vc_zip *z)
{
	if (z == NULL)
		return;
	for (size_t i = 0; i < z->n; i++) {
		free(z->m[i].name);
		free(z->m[i].bad);
	}
	free(z->m);
	if (z->fd >= 0)
		close(z->fd);
	free(z->path);
	free(z);
}

/* Where the central directory is and how long: 0, or -1 with ctx set. */
static int
find_cd(vc_ctx *ctx, struct vc_zip *z, uint64_t *cd_size, uint64_t *entries)
{
	size_t tail = z->size < EOCD + MAX_COMMENT ? (size_t)z->size : EOCD + MAX_COMMENT;
	unsigned char *t, *e = NULL;
	uint64_t eocd_at;

	if (tail < EOCD)
		return vc_fail(ctx, VC_EINVAL, "%s: not a ZIP archive (too short)", z->path), -1;
	if ((t = malloc(tail)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory"), -1;
	if (read_at(z->fd, t, tail, z->size - tail) != 0) {
		free(t);
		return vc_fail(ctx, VC_EINVAL, "%s: cannot read: %s", z->path, strerror(errno)), -1;
	}
	/* The last end record whose comment ends where the file does. */
	for (size_t i = tail - EOCD + 1; i-- > 0;)
		if (memcmp(t + i, "PK\5\6", 4) == 0 && i + EOCD + le16(t + i + 20) == tail) {
			e = t + i;
			break;
		}
	if (e == NULL) {
		free(t);
		return vc_fail(ctx, VC_EINVAL, "%s: not a ZIP archive (no end of central directory)",
		    z->path), -1;
	}
	eocd_at = z->size - tail + (uint64_t)(e - t);
	if (le16(e + 4) != 0 || le16(e + 6) != 0) {
		free(t);
		return vc_fail(ctx, VC_EINVAL, "%s: a ZIP split over several disks is not read", z->path), -1;
	}
	*entries = le16(e + 10);
	*cd_size = le32(e + 12);
	z->cd_off = le32(e + 16);
	free(t);
	if (*entries == 0xFFFF || *cd_size == U32 || z->cd_off == U32) {
		/* ZIP64: the locator just before, and the record it points at. */
		unsigned char loc[20], r[EOCD64];
		uint64_t at;

		if (eocd_at < 20 || read_at(z->fd, loc, 20, eocd_at - 20) != 0 ||
		    memcmp(loc, "PK\6\7", 4) != 0 || (at = le64(loc + 8)) > eocd_at - 20 - EOCD64 ||
		    read_at(z->fd, r, EOCD64, at) != 0 || memcmp(r, "PK\6\6", 4) != 0)
			return vc_fail(ctx, VC_EINVAL, "%s: damaged ZIP64 end of central directory",
			    z->path), -1;
		*entries = le64(r + 32);
		*cd_size = le64(r + 40);
		z->cd_off = le64(r + 48);
		eocd_at = at;
	}
	if (z->cd_off > eocd_at || *cd_size > eocd_at - z->cd_off)
		return vc_fail(ctx, VC_EINVAL, "%s: the central directory (offset %llu, %llu bytes) is "
		    "not inside the archive", z->path, (unsigned long long)z->cd_off,
		    (unsigned long long)*cd_size), -1;
	return 0;
}

static char *
printable(const unsigned char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		p[i] = s[i] < 0x20 || s[i] == 0x7F ? '?' : (char)s[i];
	p[n] = '\0';
	return p;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

static int
by_data(const void *a, const void *b)
{
	const struct member *x = *(struct member *const *)a, *y = *(struct member *const *)b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static void
refuse(struct member *m, const char *why)
{
	if (m->bad == NULL)
		m->bad = strdup(why);
}

/* The sizes and offset in a ZIP64 extra field, for those at U32. */
static int
zip64_extra(struct member *m, const unsigned char *x, size_t n)
{
	while (n >= 4) {
		uint16_t id = le16(x), len = le16(x + 2);
		const unsigned char *v = x + 4;

		if ((size_t)len + 4 > n)
			return -1;
		if (id == 1) {
			size_t k = 0;

			if (m->usize == U32) {
				if (k + 8 > len)
					return -1;
				m->usize = le64(v + k);
				k += 8;
			}
			if (m->csize == U32) {
				if (k + 8 > len)
					return -1;
				m->csize = le64(v + k);
				k += 8;
			}
			if (m->off == U32) {
				if (k + 8 > len)
					return -1;
				m->off = le64(v + k);
			}
			return 0;
		}
		x += 4 + len;
		n -= 4 + (size_t)len;
	}
	return m->usize == U32 || m->csize == U32 || m->off == U32 ? -1 : 0;
}

/* Where member m's data starts, and whether it should be read at all. */
static void
check_member(struct vc_zip *z, struct member *m)
{
	unsigned char h[LOCAL];
	char why[160];

	if (m->flags & 1)
		return refuse(m, "encrypted; not read");
	if (m->method != 0 && m->method != 8) {
		snprintf(why, sizeof why, "compression method %u is not read (only stored and deflate)",
		    m->method);
		return refuse(m, why);
	}
	if (m->usize > VC_ZIP_MAX_MEMBER) {
		snprintf(why, sizeof why, "%llu bytes uncompressed, more than the limit of %llu",
		    (unsigned long long)m->usize, (unsigned long long)VC_ZIP_MAX_MEMBER);
		return refuse(m, why);
	}
	if (m->method == 0 && m->csize != m->usize)
		return refuse(m, "stored, but its two sizes differ");
	if (m->usize > VC_ZIP_RATIO_FLOOR && m->usize / VC_ZIP_MAX_RATIO > m->csize) {
		snprintf(why, sizeof why, "%llu bytes from %llu compressed, a ratio over %d:1; "
		    "not read (a zip bomb?)", (unsigned long long)m->usize,
		    (unsigned long long)m->csize, VC_ZIP_MAX_RATIO);
		return refuse(m, why);
	}
	if (m->off > z->cd_off || read_at(z->fd, h, LOCAL, m->off) != 0 || memcmp(h, "PK\3\4", 4) != 0)
		return refuse(m, "no local header where the central directory says");
	m->off += LOCAL + (uint64_t)le16(h + 26) + le16(h + 28);
	if (m->off > z->cd_off || m->csize > z->cd_off - m->off)
		return refuse(m, "its data runs past the central directory");
}

int
vc_zip_open(vc_ctx *ctx, const char *path, int (*want)(const char *name), size_t max,
    struct vc_zip **out)
{
	struct vc_zip *z = calloc(1, sizeof *z);
	unsigned char e[CDENT], *nx = NULL;
	uint64_t cd_size, entries, at;
	struct member **order = NULL;
	size_t cap = 0;
	struct stat st;
	FILE *f = NULL;
	int rc = 0;

	*out = NULL;
	if (z == NULL || (z->path = strdup(path)) == NULL || (nx = malloc(2 * 65536)) == NULL) {
		free(nx);
		vc_zip_free(z);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	if ((z->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(z->fd, &st) != 0) {
		rc = vc_fail(ctx, VC_ENOTFOUND, "%s: %s", path, strerror(errno));
		goto out;
	}
	z->size = (uint64_t)st.st_size;
	if (find_cd(ctx, z, &cd_size, &entries) != 0) {
		rc = ctx->err;
		goto out;
	}
	/* The central directory, an entry at a time. */
	int dfd = dup(z->fd);
	if (dfd < 0 || (f = fdopen(dfd, "rb")) == NULL || fseeko(f, (off_t)z->cd_off, SEEK_SET) != 0) {
		if (dfd >= 0 && f == NULL)
			close(dfd);
		rc = vc_fail(ctx, VC_EINTERNAL, "%s: %s", path, strerror(errno));
		goto out;
	}
	for (at = 0; at < cd_size; ) {
		struct member m = { 0 };
		uint16_t nlen, xlen, clen;

		if (cd_size - at < CDENT || fread(e, 1, CDENT, f) != CDENT || memcmp(e, "PK\1\2", 4) != 0) {
			rc = vc_fail(ctx, VC_EINVAL, "%s: central directory entry at offset %llu is damaged",
			    path, (unsigned long long)(z->cd_off + at));
			goto out;
		}
		nlen = le16(e + 28);
		xlen = le16(e + 30);
		clen = le16(e + 32);
		if (cd_size - at < (uint64_t)CDENT + nlen + xlen + clen || fread(nx, 1, nlen, f) != nlen ||
		    fread(nx + 65536, 1, xlen, f) != xlen || fseeko(f, clen, SEEK_CUR) != 0) {
			rc = vc_fail(ctx, VC_EINVAL, "%s: central directory entry at offset %llu runs past "
			    "its end", path, (unsigned long long)(z->cd_off + at));
			goto out;
		}
		at += (uint64_t)CDENT + nlen + xlen + clen;
		/* Directories, and names nobody asked for, are passed over. */
		if (nlen == 0 || nx[nlen - 1] == '/')
			continue;
		if ((m.name = printable(nx, nlen)) == NULL) {
			rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
			goto out;
		}
		if (want != NULL && !want(m.name)) {
			free(m.name);
			continue;
		}
		if (z->n == max) {
			free(m.name);
			rc = vc_fail(ctx, VC_EINVAL, "%s: more than %zu members to read", path, max);
			goto out;
		}
		m.flags = le16(e + 8);
		m.method = le16(e + 10);
		m.crc = le32(e + 16);
		m.csize = le32(e + 20);
		m.usize = le32(e + 24);
		m.off = le32(e + 42);
		if (le16(e + 34) != 0 || zip64_extra(&m, nx + 65536, xlen) != 0)
			refuse(&m, "damaged ZIP64 sizes");
		if (z->n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct member *g = realloc(z->m, nc * sizeof *g);

			if (g == NULL) {
				free(m.name);
				free(m.bad);
				rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
				goto out;
			}
			z->m = g;
			cap = nc;
		}
		z->m[z->n++] = m;
	}
	(void)entries;
	for (size_t i = 0; i < z->n; i++)
		if (z->m[i].bad == NULL)
			check_member(z, &z->m[i]);
	/* No two members' data may overlap: one deflate stream read as many
	 * members is how a small archive inflates to petabytes. */
	if (z->n > 0 && (order = malloc(z->n * sizeof *order)) == NULL) {
		rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
		goto out;
	}
	size_t k = 0;
	for (size_t i = 0; i < z->n; i++)
		if (z->m[i].bad == NULL)
			order[k++] = &z->m[i];
	if (k > 0)
		qsort(order, k, sizeof *order, by_data);
	for (size_t i = 1, last = 0; i < k; i++) {
		if (order[i]->off < order[last]->off + order[last]->csize ||
		    (order[i]->off == order[last]->off && order[i]->csize > 0)) {
			char why[160];

			snprintf(why, sizeof why, "its data overlaps another member's; not read (a zip bomb?)");
			refuse(order[i], why);
			continue;
		}
		last = i;
	}
	if (z->n > 0)
		qsort(z->m, z->n, sizeof *z->m, by_name);
out:
	free(order);
	free(nx);
	if (f != NULL)
		fclose(f);
	if (rc != 0) {
		vc_zip_free(z);
		return rc;
	}
	*out = z;
	return 0;
}

/* ---- member streams ---------------------------------------------------- */

static ssize_t fail(struct stream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The stream stops: the reason kept for vc_zip_error, and every read from
 * now on fails. */
static ssize_t
fail(struct stream *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->z->err, sizeof s->z->err, fmt, ap);
	va_end(ap);
	s->failed = 1;
	errno = EIO;
	return -1;
}

/* The end of the member's data: its size and CRC must be as declared.
 * Bytes got in this read are given; a failure comes with the next. */
static ssize_t
finish(struct stream *s, size_t got)
{
	s->done = 1;
	if (s->out != s->m->usize)
		fail(s, "it ends at %llu of its declared %llu bytes", (unsigned long long)s->out,
		    (unsigned long long)s->m->usize);
	else if (s->crc != s->m->crc)
		fail(s, "its CRC is %08x, the central directory says %08x", (unsigned)s->crc,
		    (unsigned)s->m->crc);
	return s->failed && got == 0 ? -1 : (ssize_t)got;
}

static ssize_t
zs_read(void *cookie, char *buf, size_t n)
{
	struct stream *s = cookie;
	size_t got = 0;

	if (s->failed)
		return errno = EIO, -1;
	if (s->done || n == 0)
		return 0;
	if (!s->inflating) {
		size_t want = n < s->left ? n : (size_t)s->left;

		if (want > 0 && read_at(s->z->fd, buf, want, s->pos) != 0)
			return fail(s, "cannot read its data at offset %llu", (unsigned long long)s->pos);
		s->pos += want;
		s->left -= want;
		s->out += want;
		s->crc = (uint32_t)crc32(s->crc, (const Bytef *)buf, (uInt)want);
		return s->left == 0 ? finish(s, want) : (ssize_t)want;
	}
	while (got < n) {
		int zr;

		if (s->inf.avail_in == 0 && s->left > 0) {
			size_t want = s->left < INBUF ? (size_t)s->left : INBUF;

			if (read_at(s->z->fd, s->in, want, s->pos) != 0)
				return fail(s, "cannot read its data at offset %llu", (unsigned long long)s->pos);
			s->pos += want;
			s->left -= want;
			s->inf.next_in = s->in;
			s->inf.avail_in = (uInt)want;
		}
		s->inf.next_out = (Bytef *)buf + got;
		s->inf.avail_out = (uInt)(n - got > (1u << 30) ? 1u << 30 : n - got);
		zr = inflate(&s->inf, Z_NO_FLUSH);
		size_t made = (size_t)((Bytef *)s->inf.next_out - ((Bytef *)buf + got));
		s->crc = (uint32_t)crc32(s->crc, (const Bytef *)buf + got, (uInt)made);
		got += made;
		s->out += made;
		if (s->out > s->m->usize)
			return fail(s, "it inflates past its declared %llu bytes",
			    (unsigned long long)s->m->usize);
		if (zr == Z_STREAM_END)
			return finish(s, got);
		if (zr == Z_BUF_ERROR && s->inf.avail_in == 0 && s->left == 0)
			return fail(s, "its deflate data ends early, at %llu of %llu bytes",
			    (unsigned long long)s->out, (unsigned long long)s->m->usize);
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return fail(s, "bad deflate data after %llu bytes: %s", (unsigned long long)s->out,
			    s->inf.msg ? s->inf.msg : "?");
	}
	return (ssize_t)got;
}

static int
zs_close(void *cookie)
{
	struct stream *s = cookie;

	if (s->inflating)
		inflateEnd(&s->inf);
	free(s);
	return 0;
}

FILE *
vc_zip_fopen(vc_ctx *ctx, struct vc_zip *z, size_t i)
{
	cookie_io_functions_t io = { .read = zs_read, .close = zs_close };
	struct stream *s;
	FILE *f;

	if (i >= z->n) {
		vc_fail(ctx, VC_EINVAL, "%s: no member %zu", z->path, i);
		return NULL;
	}
	z->err[0] = '\0';
	if (z->m[i].bad != NULL) {
		vc_fail(ctx, VC_EINVAL, "%s:%s: %s", z->path, z->m[i].name, z->m[i].bad);
		return NULL;
	}
	if ((s = calloc(1, sizeof *s)) == NULL) {
		vc_fail(ctx, VC_EINTERNAL, "out of memory");
		return NULL;
	}
	s->z = z;
	s->m = &z->m[i];
	s->pos = s->m->off;
	s->left = s->m->csize;
	s->crc = (uint32_t)crc32(0, NULL, 0);
	if (s->m->method == 8) {
		if (inflateInit2(&s->inf, -MAX_WBITS) != Z_OK) {
			free(s);
			vc_fail(ctx, VC_EINTERNAL, "out of memory");
			return NULL;
		}
		s->inflating = 1;
	}
	if ((f = fopencookie(s, "r", io)) == NULL) {
		zs_close(s);
		vc_fail(ctx, VC_EINTERNAL, "out of memory");
		return NULL;
	}
	return f;
}
