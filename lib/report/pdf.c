/* SPDX-License-Identifier: MIT */
/*
 * pdf.c - a report's HTML made into PDF by wkhtmltopdf, run as a child
 * with no script (--disable-javascript), no reading of other local files
 * (--disable-local-file-access), a proxy that answers nothing (the HTML
 * names no URL; this is in case), a temporary directory of its own as
 * HOME and TMPDIR, and a time limit after which its process group is
 * killed.  The inputs and hash are appended after the PDF's %%EOF as
 * comment lines for `vc-report verify`.
 *
 * A report with a contents (its layout's {{%contents}}) is rendered
 * twice, or three times: once with the contents' page numbers blank;
 * then the PDF is read back here (each page's text, through the fonts'
 * ToUnicode maps) for the page each section's heading is on, and the
 * HTML rendered again with those numbers.  The contents ends its page,
 * and the numbers' column has a fixed width, so the second rendering
 * lays out as the first did; it is read back too, and a third is made
 * only if a heading moved.  The same pages become the PDF's outline
 * (bookmarks).  All renderings share the one time limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "report/report.h"
#include "report/tmpl.h"

/* Remove dir and the files in it (one level: ours only). */
static void
rm_dir(const char *dir)
{
	static const char *const names[] = { "report.html", "out.pdf", "stderr.txt" };
	char p[4200];

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

static int
put_file(const char *path, const char *s, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t w = 0;

	if (fd < 0)
		return -1;
	while (n > 0 && (w = write(fd, s, n)) > 0) {
		s += w;
		n -= (size_t)w;
	}
	return close(fd) != 0 || n > 0 ? -1 : 0;
}

/* The first line of wkhtmltopdf's complaints, for the error message. */
static void
first_error(const char *dir, char *buf, size_t n)
{
	char p[4200], line[400];
	FILE *f;

	snprintf(buf, n, "no message");
	snprintf(p, sizeof p, "%s/stderr.txt", dir);
	if ((f = fopen(p, "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL)
		if (strstr(line, "rror") != NULL || strstr(line, "xit") != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			snprintf(buf, n, "%.200s", line);
			break;
		}
	fclose(f);
}

/* ---- stamping: header and page numbers -------------------------------- */

/*
 * Debian's wkhtmltopdf is built on an unpatched Qt, which ignores
 * --header-*, --footer-* and toc.  So the header (tenant, marking) and
 * "Page N of M" are stamped onto each page here, by an incremental
 * update of the PDF: for each page a new version of its object whose
 * contents are [q, the page's own, Q and the stamp] and whose resources
 * add Helvetica, a new document information dictionary (title, author,
 * subject, keywords: the data hash), and an xref section after the
 * old one.  Nothing of the original bytes changes.  A page tree that is
 * not flat (Qt writes a flat one) is left unstamped.
 */

struct pdfbuf {
	const char *p;
	size_t n;
};

/* The text of object num's body ("N 0 obj" .. "endobj"), or NULL. */
static const char *
pdf_obj(struct pdfbuf *b, long num, size_t *len)
{
	char key[32];
	int kl = snprintf(key, sizeof key, "\n%ld 0 obj", num);
	const char *p = b->p, *end = b->p + b->n, *e;

	while ((p = memmem(p, (size_t)(end - p), key, (size_t)kl)) != NULL) {
		p += kl;
		if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '<')
			continue;
		if ((e = memmem(p, (size_t)(end - p), "endobj", 6)) == NULL)
			return NULL;
		*len = (size_t)(e - p);
		return p;
	}
	return NULL;
}

/* The number N of "key N 0 R" inside s (n bytes), or -1. */
static long
pdf_ref(const char *s, size_t n, const char *key)
{
	const char *p = memmem(s, n, key, strlen(key));
	char *end;
	long v;

	if (p == NULL)
		return -1;
	p += strlen(key);
	v = strtol(p, &end, 10);
	return end != p && strncmp(end, " 0 R", 4) == 0 ? v : -1;
}

/* A PDF literal string of s: ASCII kept, ( ) \ escaped, others '?'. */
static void
pdf_str(FILE *o, const char *s)
{
	fputc('(', o);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '(' || c == ')' || c == '\\')
			fprintf(o, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			fputc(c, o);
		else if (c >= 0x80 && (c & 0xc0) != 0x80)
			fputc('?', o);
	}
	fputc(')', o);
}

static void
xref_add(long *nums, long *offs, int *n, long num, long off)
{
	nums[*n] = num;
	offs[*n] = off;
	(*n)++;
}

/* The last trailer: the previous xref's offset, the object count, the
 * catalog's and the information dictionary's numbers (-1: none).  0, or
 * -1 when there is none to read. */
static int
pdf_trailer(struct pdfbuf *b, long *prev, long *size, long *root, long *info)
{
	const char *sx = NULL, *t;
	char *end;

	for (t = b->p; (t = memmem(t, (size_t)(b->p + b->n - t), "startxref", 9)) != NULL; t += 9)
		sx = t;
	if (sx == NULL || (*prev = strtol(sx + 9, &end, 10)) <= 0 || end == sx + 9)
		return -1;
	for (t = sx; t > b->p && strncmp(t, "trailer", 7) != 0; t--)
		;
	if (t == b->p)
		return -1;
	{
		const char *sz = memmem(t, (size_t)(sx - t), "/Size", 5);
		if (sz == NULL || (*size = strtol(sz + 5, &end, 10)) <= 0)
			return -1;
	}
	if ((*root = pdf_ref(t, (size_t)(sx - t), "/Root ")) < 0)
		return -1;
	*info = pdf_ref(t, (size_t)(sx - t), "/Info ");
	return 0;
}

/* The page objects, in order, of a flat page tree (as Qt writes it):
 * a malloc'd array in *kid, their count returned; 0 when it cannot be
 * read. */
static long
pdf_kids(struct pdfbuf *b, long root, long **kid)
{
	const char *cat, *pages, *kids, *t;
	size_t cl, pl;
	long pages_n, nkids = 0;
	char *end;

	*kid = NULL;
	if ((cat = pdf_obj(b, root, &cl)) == NULL || (pages_n = pdf_ref(cat, cl, "/Pages ")) < 0 ||
	    (pages = pdf_obj(b, pages_n, &pl)) == NULL || (kids = memmem(pages, pl, "/Kids", 5)) == NULL)
		return 0;
	if ((*kid = calloc(pl / 4 + 1, sizeof **kid)) == NULL)
		return 0;
	for (t = memchr(kids, '[', pl - (size_t)(kids - pages)); t && *t != ']'; ) {
		long v = strtol(t + 1, &end, 10);
		if (end == t + 1) {
			t++;
			if (t >= pages + pl)
				break;
			continue;
		}
		if (strncmp(end, " 0 R", 4) != 0)
			break;
		(*kid)[nkids++] = v;
		t = end + 4;
		while (*t == ' ' || *t == '\n' || *t == '\r')
			t++;
		t--;
		if (t[1] == ']')
			break;
	}
	if (nkids == 0) {
		free(*kid);
		*kid = NULL;
	}
	return nkids;
}

/* A PDF text string of UTF-8 s: UTF-16BE with its byte order mark, in hex. */
static void
pdf_utf16(FILE *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputs("<FEFF", o);
	while (*p) {
		unsigned long c = *p++;
		int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		if (c >= 0x80 && more == 0)
			c = '?';
		c &= more == 3 ? 0x07 : more == 2 ? 0x0f : more == 1 ? 0x1f : 0x7f;
		for (; more > 0 && (*p & 0xc0) == 0x80; more--)
			c = (c << 6) | (*p++ & 0x3f);
		if (more > 0)
			c = '?';
		if (c >= 0x10000) {
			c -= 0x10000;
			fprintf(o, "%04lX%04lX", 0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
		} else
			fprintf(o, "%04lX", c);
	}
	fputc('>', o);
}

/*
 * Append the stamp to the PDF in b (already written to o), and the
 * outline of the sections found (pages[i] > 0: their page, ys[i] the top
 * of their heading).  Returns 0, or -1 when the file is not as Qt writes
 * it (left as is).
 */
static int
stamp(FILE *o, struct pdfbuf *b, const struct vc_report_doc *d, const int *pages, const double *ys, int nsec)
{
	const char *cat;
	size_t cl;
	long prev, size, root, info, *nums, *offs, *kid, nkids, font, qobj;
	int nx = 0;

	if (pdf_trailer(b, &prev, &size, &root, &info) != 0 || (cat = pdf_obj(b, root, &cl)) == NULL ||
	    (nkids = pdf_kids(b, root, &kid)) == 0)
		return -1;
	nums = calloc((size_t)nkids * 3 + (size_t)nsec + 12, sizeof *nums);
	offs = calloc((size_t)nkids * 3 + (size_t)nsec + 12, sizeof *offs);
	if (nums == NULL || offs == NULL) {
		free(kid);
		free(nums);
		free(offs);
		return -1;
	}
	fflush(o);
	font = size++;
	qobj = size++;
	xref_add(nums, offs, &nx, font, ftell(o));
	fprintf(o, "%ld 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>\n"
	    "endobj\n", font);
	xref_add(nums, offs, &nx, qobj, ftell(o));
	fprintf(o, "%ld 0 obj\n<< /Length 2 >>\nstream\nq\n\nendstream\nendobj\n", qobj);
	for (long i = 0; i < nkids; i++) {
		size_t kl, rl;
		const char *pg = pdf_obj(b, kid[i], &kl), *res, *fo, *mb;
		long contents, resn, sobj = size++, robj = size++;
		double w = 595, h = 842;
		char text[200];
		int tl;

		if (pg == NULL || memmem(pg, kl, "/Type /Pages", 12) != NULL ||
		    (contents = pdf_ref(pg, kl, "/Contents ")) < 0 || (resn = pdf_ref(pg, kl, "/Resources ")) < 0 ||
		    (res = pdf_obj(b, resn, &rl)) == NULL)
			break;
		if ((mb = memmem(pg, kl, "/MediaBox [", 11)) != NULL)
			sscanf(mb + 11, "%*f %*f %lf %lf", &w, &h);
		/* The stamp: tenant left and marking right on top, page centred below. */
		tl = snprintf(text, sizeof text, "Page %ld of %ld", i + 1, nkids);
		xref_add(nums, offs, &nx, sobj, ftell(o));
		{
			char *sbuf = NULL;
			size_t slen = 0;
			FILE *s = open_memstream(&sbuf, &slen);
			if (s == NULL)
				break;
			fprintf(s, "Q q 0.35 0.35 0.35 rg BT /VCHelv 8 Tf 36 %.1f Td ", h - 28);
			pdf_str(s, d->tenant);
			fprintf(s, " Tj ET BT /VCHelv 8 Tf %.1f %.1f Td ", w - 36 - 5.0 * (double)strlen(d->marking),
			    h - 28);
			pdf_str(s, d->marking);
			fprintf(s, " Tj ET BT /VCHelv 8 Tf %.1f 22 Td ", w / 2 - 2.2 * tl);
			pdf_str(s, text);
			fprintf(s, " Tj ET Q\n");
			fclose(s);
			fprintf(o, "%ld 0 obj\n<< /Length %zu >>\nstream\n", sobj, slen);
			fwrite(sbuf, 1, slen, o);
			fprintf(o, "\nendstream\nendobj\n");
			free(sbuf);
		}
		/* Its resources, with the font added. */
		xref_add(nums, offs, &nx, robj, ftell(o));
		fprintf(o, "%ld 0 obj\n", robj);
		if ((fo = memmem(res, rl, "/Font <<", 8)) != NULL) {
			fwrite(res, 1, (size_t)(fo - res) + 8, o);
			fprintf(o, "\n/VCHelv %ld 0 R", font);
			fwrite(fo + 8, 1, rl - (size_t)(fo - res) - 8, o);
		} else {
			const char *last = res + rl;
			while (last > res && memcmp(last - 2, ">>", 2) != 0)
				last--;
			fwrite(res, 1, (size_t)(last - res) - 2, o);
			fprintf(o, "/Font << /VCHelv %ld 0 R >>\n>>\n", font);
		}
		fprintf(o, "endobj\n");
		/* The page again, pointing at them. */
		xref_add(nums, offs, &nx, kid[i], ftell(o));
		fprintf(o, "%ld 0 obj\n", kid[i]);
		{
			char cref[96], rref[48];
			const char *c = memmem(pg, kl, "/Contents ", 10), *r = memmem(pg, kl, "/Resources ", 11);
			const char *ce = strstr(c, " 0 R") + 4, *re = strstr(r, " 0 R") + 4;
			snprintf(cref, sizeof cref, "/Contents [%ld 0 R %ld 0 R %ld 0 R]", qobj, contents, sobj);
			snprintf(rref, sizeof rref, "/Resources %ld 0 R", robj);
			/* The two in either order. */
			if (c < r) {
				fwrite(pg, 1, (size_t)(c - pg), o);
				fputs(cref, o);
				fwrite(ce, 1, (size_t)(r - ce), o);
				fputs(rref, o);
				fwrite(re, 1, kl - (size_t)(re - pg), o);
			} else {
				fwrite(pg, 1, (size_t)(r - pg), o);
				fputs(rref, o);
				fwrite(re, 1, (size_t)(c - re), o);
				fputs(cref, o);
				fwrite(ce, 1, kl - (size_t)(ce - pg), o);
			}
		}
		fprintf(o, "endobj\n");
	}
	/* The outline: a bookmark for each section found, at its heading. */
	{
		int nf = 0, k = 0;
		for (int i = 0; i < nsec; i++)
			nf += pages[i] > 0 && pages[i] <= nkids;
		if (nf > 0 && memmem(cat, cl, "/Outlines", 9) == NULL) {
			long outl = size++, first = size;
			const char *open = memmem(cat, cl, "<<", 2);
			size += nf;
			for (int i = 0; i < nsec; i++) {
				jv sec;
				if (pages[i] <= 0 || pages[i] > nkids)
					continue;
				xref_add(nums, offs, &nx, first + k, ftell(o));
				fprintf(o, "%ld 0 obj\n<< /Title ", first + k);
				sec = jv_array_get(jv_copy(d->sections), i);
				pdf_utf16(o, vc_arg_str(sec, "title") ? vc_arg_str(sec, "title") : "");
				jv_free(sec);
				fprintf(o, " /Parent %ld 0 R", outl);
				if (k > 0)
					fprintf(o, " /Prev %ld 0 R", first + k - 1);
				if (k < nf - 1)
					fprintf(o, " /Next %ld 0 R", first + k + 1);
				fprintf(o, " /Dest [%ld 0 R /XYZ null %.1f null] >>\nendobj\n", kid[pages[i] - 1], ys[i]);
				k++;
			}
			xref_add(nums, offs, &nx, outl, ftell(o));
			fprintf(o, "%ld 0 obj\n<< /Type /Outlines /First %ld 0 R /Last %ld 0 R /Count %d >>\nendobj\n",
			    outl, first, first + nf - 1, nf);
			/* The catalog again, naming it. */
			if (open != NULL) {
				xref_add(nums, offs, &nx, root, ftell(o));
				fprintf(o, "%ld 0 obj\n<< /Outlines %ld 0 R /PageMode /UseOutlines", root, outl);
				fwrite(open + 2, 1, cl - (size_t)(open + 2 - cat), o);
				fputs("endobj\n", o);
			}
		}
	}
	/* The document's information. */
	if (info < 0)
		info = size++;
	xref_add(nums, offs, &nx, info, ftell(o));
	fprintf(o, "%ld 0 obj\n<<\n/Title ", info);
	pdf_str(o, d->title);
	fputs("\n/Author ", o);
	pdf_str(o, d->tenant);
	fputs("\n/Subject ", o);
	pdf_str(o, d->marking);
	fprintf(o, "\n/Keywords (sha256:%s)\n/Creator (vc-report " VC_VERSION ")\n/Producer (wkhtmltopdf)\n>>\nendobj\n",
	    d->sha256);
	{
		long xref = ftell(o);
		fputs("xref\n", o);
		for (int i = 0; i < nx; i++)
			fprintf(o, "%ld 1\n%010ld 00000 n \n", nums[i], offs[i]);
		fprintf(o, "trailer\n<< /Size %ld /Root %ld 0 R /Info %ld 0 R /Prev %ld >>\nstartxref\n%ld\n%%%%EOF\n",
		    size, root, info, prev, xref);
	}
	free(kid);
	free(nums);
	free(offs);
	return 0;
}

/* ---- reading back: the page each section's heading is on ---------------- */

#define STREAM_MAX (64L * 1024 * 1024)  /* bytes of one inflated stream */
#define FONTS_MAX 64
#define RUNS_MAX 500000                 /* text runs of a document */

/* A stream object's bytes, inflated when it is /FlateDecode: malloc'd
 * (NUL-terminated), or NULL. */
static char *
pdf_stream(struct pdfbuf *b, long num, size_t *outlen)
{
	size_t ol, len;
	const char *o = pdf_obj(b, num, &ol), *s, *end = b->p + b->n;
	long lv = -1, ln;
	char *out = NULL, *e;
	z_stream z;

	if (o == NULL || (s = memmem(o, ol, "stream", 6)) == NULL)
		return NULL;
	if ((ln = pdf_ref(o, (size_t)(s - o), "/Length ")) >= 0) {
		size_t l2;
		const char *lo = pdf_obj(b, ln, &l2);
		lv = lo ? strtol(lo, &e, 10) : -1;
	} else if ((e = memmem(o, (size_t)(s - o), "/Length ", 8)) != NULL)
		lv = strtol(e + 8, NULL, 10);
	s += 6;
	if (s < end && *s == '\r')
		s++;
	if (s < end && *s == '\n')
		s++;
	if (lv >= 0 && lv <= end - s)
		len = (size_t)lv;
	else if ((e = memmem(s, (size_t)(end - s), "endstream", 9)) != NULL)
		len = (size_t)(e - s);
	else
		return NULL;
	if (memmem(o, ol < 400 ? ol : 400, "/FlateDecode", 12) == NULL) {
		if ((out = malloc(len + 1)) == NULL)
			return NULL;
		memcpy(out, s, len);
		out[len] = '\0';
		*outlen = len;
		return out;
	}
	memset(&z, 0, sizeof z);
	if (inflateInit(&z) != Z_OK)
		return NULL;
	z.next_in = (unsigned char *)(uintptr_t)s;
	z.avail_in = (unsigned)len;
	for (size_t cap = len * 4 + 4096, have = 0;; cap *= 2) {
		char *np;
		int r;
		if (cap > (size_t)STREAM_MAX || (np = realloc(out, cap + 1)) == NULL)
			break;
		out = np;
		z.next_out = (unsigned char *)out + have;
		z.avail_out = (unsigned)(cap - have);
		r = inflate(&z, Z_NO_FLUSH);
		have = cap - z.avail_out;
		if (r == Z_STREAM_END || (r == Z_BUF_ERROR && z.avail_in == 0) || (r == Z_OK && z.avail_in == 0 &&
		    z.avail_out > 0)) {
			inflateEnd(&z);
			out[have] = '\0';
			*outlen = have;
			return out;
		}
		if (r != Z_OK && r != Z_BUF_ERROR)
			break;
	}
	inflateEnd(&z);
	free(out);
	return NULL;
}

/* A font's ToUnicode map: code -> UTF-8. */
struct cmapent {
	unsigned code;
	char u8[16];
};
struct font {
	long obj;
	int two;                /* two-byte codes (Type0) */
	struct cmapent *map;
	size_t n;
};

static int
cmap_cmp(const void *a, const void *b)
{
	const struct cmapent *x = a, *y = b;

	return x->code < y->code ? -1 : x->code > y->code;
}

/* The hex digits of <...> at p (end excluded) as a number, the count of
 * digits in *nd; p is moved past the '>'. */
static unsigned long
hexnum(const char **p, const char *end, int *nd)
{
	unsigned long v = 0;
	const char *s = *p;

	*nd = 0;
	if (s < end && *s == '<')
		s++;
	for (; s < end && *s != '>'; s++) {
		int c = *s, d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			continue;
		if (*nd < 16)
			v = (v << 4) | (unsigned long)d;
		(*nd)++;
	}
	*p = s < end ? s + 1 : s;
	return v;
}

/* The UTF-16BE units of the hex text at *p (a ToUnicode target): their
 * count; *p is moved past the '>'. */
static int
utf16_units(const char **p, const char *end, unsigned *units, int max)
{
	const char *s = *p;
	int nu = 0;

	if (s < end && *s == '<')
		s++;
	while (s < end && *s != '>') {
		int nd = 0;
		unsigned v = 0;
		for (; s < end && *s != '>' && nd < 4; s++) {
			int c = *s, d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (d < 0)
				continue;
			v = (v << 4) | (unsigned)d;
			nd++;
		}
		if (nd == 4 && nu < max)
			units[nu++] = v;
	}
	*p = s < end ? s + 1 : s;
	return nu;
}

/* UTF-16 units as UTF-8 into u8 (room n). */
static void
utf16_to_u8(const unsigned *units, int nu, char *u8, size_t n)
{
	size_t k = 0;

	for (int i = 0; i < nu; i++) {
		unsigned long c = units[i];
		if (c >= 0xd800 && c < 0xdc00 && i + 1 < nu)
			c = 0x10000 + ((c - 0xd800) << 10) + (units[++i] - 0xdc00);
		if (c < 0x80 && k + 1 < n)
			u8[k++] = (char)c;
		else if (c < 0x800 && k + 2 < n) {
			u8[k++] = (char)(0xc0 | (c >> 6));
			u8[k++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000 && k + 3 < n) {
			u8[k++] = (char)(0xe0 | (c >> 12));
			u8[k++] = (char)(0x80 | ((c >> 6) & 0x3f));
			u8[k++] = (char)(0x80 | (c & 0x3f));
		} else if (c >= 0x10000 && k + 4 < n) {
			u8[k++] = (char)(0xf0 | (c >> 18));
			u8[k++] = (char)(0x80 | ((c >> 12) & 0x3f));
			u8[k++] = (char)(0x80 | ((c >> 6) & 0x3f));
			u8[k++] = (char)(0x80 | (c & 0x3f));
		}
	}
	u8[k] = '\0';
}

/* UTF-8 of the UTF-16BE hex text at *p into u8. */
static void
utf16_hex(const char **p, const char *end, char *u8, size_t n)
{
	unsigned units[8];
	int nu = utf16_units(p, end, units, 8);

	utf16_to_u8(units, nu, u8, n);
}

static void
cmap_add(struct font *f, size_t *cap, unsigned code, const char *u8)
{
	if (f->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		struct cmapent *m;
		if (nc > 70000 || (m = realloc(f->map, nc * sizeof *m)) == NULL)
			return;
		f->map = m;
		*cap = nc;
	}
	f->map[f->n].code = code;
	snprintf(f->map[f->n].u8, sizeof f->map[f->n].u8, "%s", u8);
	f->n++;
}

/* Load font object num: its kind and its ToUnicode map. */
static void
font_load(struct pdfbuf *b, struct font *f, long num)
{
	size_t fl, cl, cap = 0;
	const char *fo = pdf_obj(b, num, &fl), *p, *end;
	char *cm;
	long tu;

	memset(f, 0, sizeof *f);
	f->obj = num;
	if (fo == NULL)
		return;
	f->two = memmem(fo, fl, "/Type0", 6) != NULL;
	if ((tu = pdf_ref(fo, fl, "/ToUnicode ")) < 0 || (cm = pdf_stream(b, tu, &cl)) == NULL)
		return;
	end = cm + cl;
	for (p = cm; (p = memmem(p, (size_t)(end - p), "begin", 5)) != NULL; ) {
		int range = strncmp(p, "beginbfrange", 12) == 0;
		const char *stop;
		if (!range && strncmp(p, "beginbfchar", 11) != 0) {
			p += 5;
			continue;
		}
		p += range ? 12 : 11;
		if ((stop = memmem(p, (size_t)(end - p), "endbf", 5)) == NULL)
			break;
		while (p < stop) {
			int nd;
			unsigned long lo, hi;
			char u8[16];
			while (p < stop && *p != '<')
				p++;
			if (p >= stop)
				break;
			lo = hexnum(&p, stop, &nd);
			if (!range) {
				while (p < stop && *p != '<')
					p++;
				utf16_hex(&p, stop, u8, sizeof u8);
				cmap_add(f, &cap, (unsigned)lo, u8);
				continue;
			}
			while (p < stop && *p != '<')
				p++;
			hi = hexnum(&p, stop, &nd);
			while (p < stop && *p != '<' && *p != '[')
				p++;
			if (p < stop && *p == '[') {
				for (unsigned long c = lo; c <= hi && hi - lo < 65536; c++) {
					while (p < stop && *p != '<' && *p != ']')
						p++;
					if (p >= stop || *p == ']')
						break;
					utf16_hex(&p, stop, u8, sizeof u8);
					cmap_add(f, &cap, (unsigned)c, u8);
				}
				while (p < stop && *p != ']')
					p++;
			} else if (p < stop) {
				/* One target, its last unit counting up. */
				unsigned units[8];
				int nu = utf16_units(&p, stop, units, 8);
				for (unsigned long c = lo; nu > 0 && c <= hi && hi - lo < 65536; c++) {
					utf16_to_u8(units, nu, u8, sizeof u8);
					cmap_add(f, &cap, (unsigned)c, u8);
					units[nu - 1]++;
				}
			}
		}
		p = stop;
	}
	free(cm);
	qsort(f->map, f->n, sizeof *f->map, cmap_cmp);
}

/* A run of text: one BT .. ET of a page, in the font and size it began in. */
struct run {
	int page;
	long font;
	double size, y;
	size_t off, len;        /* in the text buffer */
};

struct scan {
	struct pdfbuf *b;
	struct font fonts[FONTS_MAX];
	int nfonts;
	struct vc_buf text;     /* every run's text, one after another */
	struct run *runs;
	size_t nruns, cap;
};

static struct font *
font_of(struct scan *sc, long num)
{
	for (int i = 0; i < sc->nfonts; i++)
		if (sc->fonts[i].obj == num)
			return &sc->fonts[i];
	if (sc->nfonts == FONTS_MAX)
		return NULL;
	font_load(sc->b, &sc->fonts[sc->nfonts], num);
	return &sc->fonts[sc->nfonts++];
}

/* Matrices [a b c d e f]: r = m then n. */
static void
mat_mul(const double *m, const double *n, double *r)
{
	double t[6] = {
		m[0] * n[0] + m[1] * n[2], m[0] * n[1] + m[1] * n[3],
		m[2] * n[0] + m[3] * n[2], m[2] * n[1] + m[3] * n[3],
		m[4] * n[0] + m[5] * n[2] + n[4], m[4] * n[1] + m[5] * n[3] + n[5],
	};
	memcpy(r, t, sizeof t);
}

/* Append the text of string s (n bytes, codes of font f) to the run. */
static void
show(struct scan *sc, struct font *f, const unsigned char *s, size_t n)
{
	size_t step = f && f->two ? 2 : 1;

	for (size_t i = 0; i + step <= n; i += step) {
		struct cmapent key = { .code = step == 2 ? (unsigned)(s[i] << 8 | s[i + 1]) : s[i] }, *e;
		e = f && f->n ? bsearch(&key, f->map, f->n, sizeof *f->map, cmap_cmp) : NULL;
		if (e != NULL)
			vc_buf_adds(&sc->text, e->u8);
		else if (step == 1 && s[i] >= 0x20 && s[i] < 0x7f)
			vc_buf_add(&sc->text, (const char *)s + i, 1);
	}
}

/* The name -> font object map of a page's resources. */
static long
res_font(struct pdfbuf *b, const char *res, size_t rl, const char *name, size_t nl)
{
	const char *fd = memmem(res, rl, "/Font", 5), *e;
	char key[80];
	size_t dl;
	long ref;

	if (fd == NULL || nl + 2 > sizeof key)
		return -1;
	if ((ref = pdf_ref(fd, rl - (size_t)(fd - res), "/Font ")) >= 0 && (res = pdf_obj(b, ref, &dl)) != NULL)
		fd = res;
	else
		dl = rl - (size_t)(fd - res);
	if ((e = memmem(fd, dl, ">>", 2)) != NULL)
		dl = (size_t)(e - fd);
	snprintf(key, sizeof key, "%.*s ", (int)nl, name);
	return pdf_ref(fd, dl, key);
}

/* Decode a string operand (hex or literal) into buf; its length. */
static size_t
operand_str(const char *s, const char *end, unsigned char *buf, size_t cap)
{
	size_t n = 0;

	if (*s == '<') {
		int hi = -1;
		for (s++; s < end && *s != '>'; s++) {
			int c = *s, d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (d < 0)
				continue;
			if (hi < 0)
				hi = d;
			else {
				if (n < cap)
					buf[n++] = (unsigned char)(hi << 4 | d);
				hi = -1;
			}
		}
		return n;
	}
	for (int depth = 0, esc = 0; ++s < end; ) {
		if (esc) {
			esc = 0;
			if (n < cap)
				buf[n++] = (unsigned char)(*s == 'n' ? '\n' : *s == 'r' ? '\r' : *s == 't' ? '\t' : *s);
			continue;
		}
		if (*s == '\\') {
			esc = 1;
			continue;
		}
		if (*s == '(')
			depth++;
		else if (*s == ')' && depth-- == 0)
			break;
		if (n < cap)
			buf[n++] = (unsigned char)*s;
	}
	return n;
}

/* Read the runs of text of page pg (its object's body pg..kl). */
static void
scan_page(struct scan *sc, int pgno, const char *pg, size_t kl)
{
	size_t rl = 0, cl;
	long cn = pdf_ref(pg, kl, "/Contents "), rn = pdf_ref(pg, kl, "/Resources ");
	const char *res = rn >= 0 ? pdf_obj(sc->b, rn, &rl) : NULL;
	char *cs = cn >= 0 ? pdf_stream(sc->b, cn, &cl) : NULL;
	const char *p, *end, *name = NULL, *strs[64];
	double num[6] = { 0 }, ctm[6] = { 1, 0, 0, 1, 0, 0 }, stack[32][6], tm[6], tlm[6];
	int nnum = 0, depth = 0, nstr = 0, in_text = 0;
	size_t namel = 0;
	struct font *font = NULL;
	long fontobj = -1;
	double fsize = 0;
	struct run cur = { 0 };

	if (cs == NULL)
		return;
	if (res == NULL) {
		res = pg;
		rl = kl;
	}
	for (p = cs, end = cs + cl; p < end; ) {
		char c = *p;
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\0') {
			p++;
		} else if (c == '%') {
			while (p < end && *p != '\n' && *p != '\r')
				p++;
		} else if (c == '/') {
			name = p;
			for (p++; p < end && !strchr(" \t\r\n/[]<>()%", *p); p++)
				;
			namel = (size_t)(p - name);
		} else if (c == '<' && p + 1 < end && p[1] == '<') {
			p += 2;
		} else if (c == '>') {
			p += p + 1 < end && p[1] == '>' ? 2 : 1;
		} else if (c == '<' || c == '(') {
			if (nstr < 64)
				strs[nstr++] = p;
			if (c == '<') {
				const char *e = memchr(p, '>', (size_t)(end - p));
				p = e ? e + 1 : end;
			} else {
				int d = 0;
				for (p++; p < end; p++) {
					if (*p == '\\') {
						p++;
						continue;
					}
					if (*p == '(')
						d++;
					else if (*p == ')' && d-- == 0) {
						p++;
						break;
					}
				}
			}
		} else if (c == '[' || c == ']') {
			p++;
		} else if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.') {
			char *e;
			double v = strtod(p, &e);
			if (e == p) {
				p++;
				continue;
			}
			if (nnum == 6)
				memmove(num, num + 1, 5 * sizeof *num);
			num[nnum < 6 ? nnum++ : 5] = v;
			p = e;
		} else {
			const char *op = p;
			size_t ol;
			while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '*' ||
			    *p == '\'' || *p == '"'))
				p++;
			if ((ol = (size_t)(p - op)) == 0) {
				p++;
				continue;
			}
#define OP(s) (ol == sizeof(s) - 1 && memcmp(op, s, ol) == 0)
			if (OP("q") && depth < 32)
				memcpy(stack[depth++], ctm, sizeof ctm);
			else if (OP("Q") && depth > 0)
				memcpy(ctm, stack[--depth], sizeof ctm);
			else if (OP("cm") && nnum == 6)
				mat_mul(num, ctm, ctm);
			else if (OP("BT")) {
				double id[6] = { 1, 0, 0, 1, 0, 0 };
				memcpy(tm, id, sizeof id);
				memcpy(tlm, id, sizeof id);
				in_text = 1;
				cur = (struct run){ .page = pgno, .font = fontobj, .size = fsize, .off = sc->text.len };
			} else if (OP("ET") && in_text) {
				in_text = 0;
				cur.len = sc->text.len - cur.off;
				if (cur.len > 0 && sc->nruns < RUNS_MAX) {
					if (sc->nruns == sc->cap) {
						size_t nc = sc->cap ? sc->cap * 2 : 1024;
						struct run *nr = realloc(sc->runs, nc * sizeof *nr);
						if (nr == NULL)
							break;
						sc->runs = nr;
						sc->cap = nc;
					}
					sc->runs[sc->nruns++] = cur;
				}
			} else if (OP("Tf") && name != NULL && nnum >= 1) {
				fontobj = res_font(sc->b, res, rl, name, namel);
				font = fontobj >= 0 ? font_of(sc, fontobj) : NULL;
				fsize = num[nnum - 1];
				if (in_text && sc->text.len == cur.off) {
					cur.font = fontobj;
					cur.size = fsize;
				}
			} else if (OP("Tm") && nnum == 6) {
				memcpy(tm, num, sizeof num);
				memcpy(tlm, num, sizeof num);
			} else if ((OP("Td") || OP("TD")) && nnum >= 2) {
				double t[6] = { 1, 0, 0, 1, num[nnum - 2], num[nnum - 1] };
				mat_mul(t, tlm, tlm);
				memcpy(tm, tlm, sizeof tm);
			} else if (in_text && (OP("Tj") || OP("TJ") || OP("'") || OP("\""))) {
				if (sc->text.len == cur.off) {
					/* Where the run begins: the top of its first glyph. */
					double m[6], up[6] = { 1, 0, 0, 1, 0, fsize }, u[6];
					mat_mul(tm, ctm, m);
					mat_mul(up, m, u);
					cur.y = m[5] > u[5] ? m[5] : u[5];
					cur.font = fontobj;
					cur.size = fsize;
				}
				for (int i = 0; i < nstr; i++) {
					unsigned char sb[1024];
					size_t sn = operand_str(strs[i], end, sb, sizeof sb);
					show(sc, font, sb, sn);
				}
			} else if (OP("BI")) {
				const char *ei = p;
				while ((ei = memmem(ei, (size_t)(end - ei), "EI", 2)) != NULL && ei + 2 < end &&
				    !strchr(" \t\r\n", ei[2]))
					ei += 2;
				p = ei ? ei + 2 : end;
			}
#undef OP
			nnum = 0;
			nstr = 0;
			name = NULL;
		}
	}
	free(cs);
}

/* s without white space and with the Latin ligatures spelt out, into
 * t (room n): headings are compared so. */
static size_t
squeeze(const char *s, size_t len, char *t, size_t n)
{
	static const char *const lig[] = { "ff", "fi", "fl", "ffi", "ffl", "ft", "st" };
	size_t k = 0;

	for (size_t i = 0; i < len && k + 4 < n; ) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			i++;
		} else if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] == 0xa0) {
			i += 2;
		} else if (c == 0xef && i + 2 < len && (unsigned char)s[i + 1] == 0xac &&
		    (unsigned char)s[i + 2] <= 0x86) {
			const char *l = lig[(unsigned char)s[i + 2] - 0x80];
			size_t ll = strlen(l);
			if (k + ll + 4 >= n)
				break;
			memcpy(t + k, l, ll);
			k += ll;
			i += 3;
		} else
			t[k++] = s[i++];
	}
	t[k] = '\0';
	return k;
}

/*
 * The page (1-based) each section of d starts on, in pages[] (0: not
 * found), and the top of its heading in ys[], from the PDF in b: its
 * headings are the runs in the font and size of the contents' own
 * heading ("Contents"), read in order, a heading that wraps being
 * consecutive runs.
 */
static void
find_sections(struct pdfbuf *b, const struct vc_report_doc *d, int nsec, int *pages, double *ys)
{
	struct scan sc = { .b = b, .text = { .max = 256L * 1024 * 1024 } };
	long root, prev, size, info, *kid, nkids;
	long sig_font = -1;
	double sig_size = 0;
	size_t r = 0;
	char want[VC_TMPL_TITLE_MAX * 2 + 8], got[VC_TMPL_TITLE_MAX * 2 + 8];

	memset(pages, 0, (size_t)nsec * sizeof *pages);
	if (pdf_trailer(b, &prev, &size, &root, &info) != 0 || (nkids = pdf_kids(b, root, &kid)) == 0)
		return;
	for (long i = 0; i < nkids; i++) {
		size_t kl;
		const char *pg = pdf_obj(b, kid[i], &kl);
		if (pg != NULL)
			scan_page(&sc, (int)i + 1, pg, kl);
	}
	free(kid);
	for (size_t i = 0; i < sc.nruns && sig_font < 0; i++)
		if (squeeze(sc.text.p + sc.runs[i].off, sc.runs[i].len, got, sizeof got) == 8 &&
		    strcmp(got, "Contents") == 0) {
			sig_font = sc.runs[i].font;
			sig_size = sc.runs[i].size;
		}
	for (int k = 0; k < nsec; k++) {
		jv sec = jv_array_get(jv_copy(d->sections), k);
		const char *t = vc_arg_str(sec, "title");
		size_t wl = squeeze(t ? t : "", t ? strlen(t) : 0, want, sizeof want);
		jv_free(sec);
		if (wl == 0)
			continue;
		for (size_t i = r; i < sc.nruns; i++) {
			size_t gl = 0;
			struct run *a = &sc.runs[i];
			if (sig_font >= 0 && (a->font != sig_font || a->size != sig_size))
				continue;
			/* This run and the next in the same font and size, as long as they
			 * may still spell the heading. */
			for (size_t j = i; j < sc.nruns && gl < wl && sc.runs[j].font == a->font &&
			    sc.runs[j].size == a->size && sc.runs[j].page == a->page; j++) {
				char part[sizeof got];
				size_t pl = squeeze(sc.text.p + sc.runs[j].off, sc.runs[j].len, part, sizeof part);
				if (gl + pl >= sizeof got || memcmp(want + gl, part, pl) != 0)
					break;
				memcpy(got + gl, part, pl);
				gl += pl;
			}
			if (gl == wl) {
				pages[k] = a->page;
				ys[k] = a->y;
				r = i + 1;
				break;
			}
		}
	}
	for (int i = 0; i < sc.nfonts; i++)
		free(sc.fonts[i].map);
	free(sc.runs);
	free(sc.text.p);
}

/* The contents of a PDF: each section and its page (blank when not
 * known), on a page of its own. */
static void
contents_pdf(struct vc_buf *b, jv sections, const int *pages)
{
	vc_buf_adds(b, "<div class=\"contents\"><h2>Contents</h2>\n<table class=\"contents\">\n");
	jv_array_foreach(sections, i, s) {
		const char *t = vc_arg_str(s, "title") ? vc_arg_str(s, "title") : "";
		vc_buf_adds(b, "<tr><td>");
		vc_buf_esc(b, t, strlen(t));
		if (pages[i] > 0)
			vc_buf_addf(b, "</td><td class=\"page\">%d</td></tr>\n", pages[i]);
		else
			vc_buf_adds(b, "</td><td class=\"page\"></td></tr>\n");
		jv_free(s);
	}
	vc_buf_adds(b, "</table></div>\n");
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One run of wkhtmltopdf on html, in dir (its own), stopped (its process
 * group killed) at until (monotonic ms); timeout_s is for the message.
 * 0 with the PDF in *pdf (malloc'd, *pdflen bytes), or the error.
 */
static int
run_wk(vc_ctx *ctx, const char *exe, const char *dir, const struct vc_report_doc *d, const char *html,
    size_t hlen, int64_t until, int timeout_s, char **pdf, size_t *pdflen)
{
	char in[4200], out[4200], err[4200], allow[4200], homev[4200], tmpv[4200], xdg[4200];
	char footer[300], why[300];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	pid_t pid;
	int status = 0, rc, killed = 0;
	FILE *f;

	*pdf = NULL;
	snprintf(in, sizeof in, "%s/report.html", dir);
	snprintf(out, sizeof out, "%s/out.pdf", dir);
	snprintf(err, sizeof err, "%s/stderr.txt", dir);
	unlink(out);
	if (put_file(in, html, hlen) != 0)
		return vc_fail(ctx, VC_EINTERNAL, "%s: cannot write: %s", in, strerror(errno));
	snprintf(allow, sizeof allow, "%s", dir);
	snprintf(homev, sizeof homev, "HOME=%s", dir);
	snprintf(tmpv, sizeof tmpv, "TMPDIR=%s", dir);
	snprintf(xdg, sizeof xdg, "XDG_RUNTIME_DIR=%s", dir);
	snprintf(footer, sizeof footer, "%s", d->marking);
	{
		char *argv[40];
		char *envp[] = { homev, tmpv, xdg, "QT_QPA_PLATFORM=offscreen", "PATH=/usr/local/bin:/usr/bin:/bin",
			"http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
			"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9", "LANG=C.UTF-8", NULL };
		int a = 0;
		argv[a++] = (char *)exe;
		argv[a++] = "--quiet";
		argv[a++] = "--disable-javascript";
		argv[a++] = "--disable-local-file-access";
		argv[a++] = "--allow";
		argv[a++] = allow;
		argv[a++] = "--margin-top";
		argv[a++] = "18mm";
		argv[a++] = "--margin-bottom";
		argv[a++] = "16mm";
		argv[a++] = "--encoding";
		argv[a++] = "utf-8";
		argv[a++] = "--title";
		argv[a++] = (char *)d->title;
		/* Ignored by Debian's build (see stamp()); a patched one would use them. */
		argv[a++] = "--header-left";
		argv[a++] = (char *)d->tenant;
		argv[a++] = "--header-right";
		argv[a++] = footer;
		argv[a++] = "--header-font-size";
		argv[a++] = "8";
		argv[a++] = "--header-line";
		argv[a++] = "--footer-center";
		argv[a++] = "Page [page] of [topage]";
		argv[a++] = "--footer-font-size";
		argv[a++] = "8";
		argv[a++] = in;
		argv[a++] = out;
		argv[a] = NULL;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		posix_spawnattr_init(&sa);
		posix_spawnattr_setpgroup(&sa, 0);
		posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETPGROUP);
		rc = strchr(exe, '/') ? posix_spawn(&pid, exe, &fa, &sa, argv, envp) :
		    posix_spawnp(&pid, exe, &fa, &sa, argv, envp);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&sa);
	}
	if (rc != 0)
		return vc_fail(ctx, VC_EUNAVAIL, "cannot run %s: %s (is wkhtmltopdf installed?)", exe, strerror(rc));
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			break;
		if (mono_ms() >= until) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			killed = 1;
			break;
		}
		usleep(20000);
	}
	if (killed)
		return vc_fail(ctx, VC_ETEMP, "wkhtmltopdf took longer than %d s: stopped", timeout_s);
	/* It exits 1 on a warning even when the PDF is whole: judge the file. */
	if ((f = fopen(out, "rb")) == NULL || fread(why, 1, 4, f) != 4 || memcmp(why, "%PDF", 4) != 0) {
		if (f)
			fclose(f);
		first_error(dir, why, sizeof why);
		return vc_fail(ctx, VC_EUNAVAIL, "wkhtmltopdf made no PDF (exit %d): %s",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1, why);
	}
	rewind(f);
	{
		char *all = NULL, buf[65536];
		size_t cap = 0, n;
		FILE *m = open_memstream(&all, &cap);
		int bad = m == NULL;
		while (m && (n = fread(buf, 1, sizeof buf, f)) > 0)
			bad |= fwrite(buf, 1, n, m) != n;
		bad |= ferror(f);
		fclose(f);
		if (m == NULL || (fclose(m) != 0) | bad) {
			free(all);
			return vc_fail(ctx, VC_EINTERNAL, "%s: cannot read wkhtmltopdf's PDF", out);
		}
		*pdf = all;
		*pdflen = cap;
	}
	return 0;
}

/* The HTML of one rendering: the report with its contents (pages[i]:
 * the page of section i, 0 while not known) where the layout put it. */
static char *
with_contents(const struct vc_report_doc *d, const int *pages, size_t *len)
{
	struct vc_buf b = { .max = (size_t)VC_TMPL_OUT_MAX + 1024 * 1024 };
	size_t n = strlen(d->html);

	vc_buf_add(&b, d->html, d->contents_at);
	contents_pdf(&b, d->sections, pages);
	vc_buf_add(&b, d->html + d->contents_at, n - d->contents_at);
	if (b.over) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

#define RENDERS_MAX 3

int
vc_report_pdf(vc_ctx *ctx, const struct vc_report_doc *d, const char *path, int timeout_s)
{
	const char *tmp = getenv("TMPDIR"), *exe = getenv("VC_WKHTMLTOPDF");
	char dir[4096], *pdf = NULL;
	size_t pdflen = 0;
	int rc = 0, nsec = 0, *pages = NULL, *found = NULL;
	double *ys = NULL;
	int64_t until;
	jv inputs;
	FILE *o;

	if (exe == NULL || *exe == '\0')
		exe = "wkhtmltopdf";
	if (timeout_s <= 0)
		timeout_s = 120;
	if (d->contents_at != SIZE_MAX && d->contents_at <= strlen(d->html) &&
	    jv_get_kind(d->sections) == JV_KIND_ARRAY)
		nsec = jv_array_length(jv_copy(d->sections));
	if (nsec > 0 && ((pages = calloc((size_t)nsec, sizeof *pages)) == NULL ||
	    (found = calloc((size_t)nsec, sizeof *found)) == NULL || (ys = calloc((size_t)nsec, sizeof *ys)) == NULL)) {
		free(pages);
		free(found);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	snprintf(dir, sizeof dir, "%s/vc-report.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		rc = vc_fail(ctx, VC_EINTERNAL, "cannot make a temporary directory: %s", strerror(errno));
		goto done;
	}
	/* Every rendering within the one time limit. */
	until = mono_ms() + (int64_t)timeout_s * 1000;
	for (int pass = 0; rc == 0; pass++) {
		size_t hlen = strlen(d->html);
		char *html = nsec > 0 ? with_contents(d, pages, &hlen) : NULL;
		if (nsec > 0 && html == NULL) {
			rc = vc_fail(ctx, VC_ETOOBIG, "the report is larger than %ld MiB", VC_TMPL_OUT_MAX >> 20);
			break;
		}
		free(pdf);
		pdf = NULL;
		rc = run_wk(ctx, exe, dir, d, html ? html : d->html, hlen, until, timeout_s, &pdf, &pdflen);
		free(html);
		if (rc != 0 || nsec == 0)
			break;
		{
			struct pdfbuf b = { .p = pdf, .n = pdflen };
			find_sections(&b, d, nsec, found, ys);
		}
		/* The numbers it was made with are the pages the sections are on. */
		if (pass > 0 && memcmp(found, pages, (size_t)nsec * sizeof *pages) == 0)
			break;
		if (pass + 1 == RENDERS_MAX) {
			rc = vc_fail(ctx, VC_EINTERNAL, "the contents' page numbers did not settle in %d renderings",
			    RENDERS_MAX);
			break;
		}
		memcpy(pages, found, (size_t)nsec * sizeof *pages);
	}
	rm_dir(dir);
	if (rc != 0)
		goto done;
	if ((o = fopen(path, "wb")) == NULL) {
		rc = vc_fail(ctx, VC_EUSAGE, "%s: %s", path, strerror(errno));
		goto done;
	}
	fwrite(pdf, 1, pdflen, o);
	{
		struct pdfbuf b = { .p = pdf, .n = pdflen };
		stamp(o, &b, d, pages, ys, nsec);
	}
	inputs = jv_dump_string(jv_copy(d->inputs), JV_PRINT_SORTED);
	fprintf(o, "\n%%vc-report-inputs %s\n%%vc-report-sha256 %s\n", jv_string_value(inputs), d->sha256);
	jv_free(inputs);
	if (ferror(o) | (fclose(o) != 0))
		rc = vc_fail(ctx, VC_EINTERNAL, "%s: write failed", path);
done:
	free(pdf);
	free(pages);
	free(found);
	free(ys);
	return rc;
}
