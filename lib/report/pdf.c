/* SPDX-License-Identifier: MIT */
/*
 * pdf.c - a report's HTML made into PDF by wkhtmltopdf, run as a child
 * with no script (--disable-javascript), no reading of other local files
 * (--disable-local-file-access), a proxy that answers nothing (the HTML
 * names no URL; this is in case), a temporary directory of its own as
 * HOME and TMPDIR, and a time limit after which its process group is
 * killed.  The inputs and hash are appended after the PDF's %%EOF as
 * comment lines for `vc-report verify`.
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

#include "report/report.h"

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

/*
 * Append the stamp to the PDF at path (already written, n bytes in b).
 * Returns 0, or -1 when the file is not as Qt writes it (left as is).
 */
static int
stamp(FILE *o, struct pdfbuf *b, const struct vc_report_doc *d)
{
	const char *sx = NULL, *t, *cat, *pages, *kids;
	size_t cl, pl;
	long prev, size, root, info, pages_n, *nums, *offs, *kid, nkids = 0, font, qobj;
	int nx = 0;
	char *end;

	/* The last startxref and trailer. */
	for (t = b->p; (t = memmem(t, (size_t)(b->p + b->n - t), "startxref", 9)) != NULL; t += 9)
		sx = t;
	if (sx == NULL || (prev = strtol(sx + 9, &end, 10)) <= 0 || end == sx + 9)
		return -1;
	for (t = sx; t > b->p && strncmp(t, "trailer", 7) != 0; t--)
		;
	if (t == b->p)
		return -1;
	{
		const char *sz = memmem(t, (size_t)(sx - t), "/Size", 5);
		if (sz == NULL || (size = strtol(sz + 5, &end, 10)) <= 0)
			return -1;
	}
	if ((root = pdf_ref(t, (size_t)(sx - t), "/Root ")) < 0)
		return -1;
	info = pdf_ref(t, (size_t)(sx - t), "/Info ");
	if ((cat = pdf_obj(b, root, &cl)) == NULL || (pages_n = pdf_ref(cat, cl, "/Pages ")) < 0 ||
	    (pages = pdf_obj(b, pages_n, &pl)) == NULL || (kids = memmem(pages, pl, "/Kids", 5)) == NULL)
		return -1;
	if ((kid = calloc(pl / 4 + 1, sizeof *kid)) == NULL)
		return -1;
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
		kid[nkids++] = v;
		t = end + 4;
		while (*t == ' ' || *t == '\n' || *t == '\r')
			t++;
		t--;
		if (t[1] == ']')
			break;
	}
	nums = calloc((size_t)nkids * 3 + 8, sizeof *nums);
	offs = calloc((size_t)nkids * 3 + 8, sizeof *offs);
	if (nkids == 0 || nums == NULL || offs == NULL) {
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

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
vc_report_pdf(vc_ctx *ctx, const struct vc_report_doc *d, const char *path, int timeout_s)
{
	const char *tmp = getenv("TMPDIR"), *exe = getenv("VC_WKHTMLTOPDF");
	char dir[4096], in[4200], out[4200], err[4200], allow[4200], homev[4200], tmpv[4200], xdg[4200];
	char footer[300], why[300];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	pid_t pid;
	int status = 0, rc, killed = 0, long_report;
	int64_t until;
	jv inputs;
	FILE *f, *o;

	if (exe == NULL || *exe == '\0')
		exe = "wkhtmltopdf";
	if (timeout_s <= 0)
		timeout_s = 120;
	snprintf(dir, sizeof dir, "%s/vc-report.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "cannot make a temporary directory: %s", strerror(errno));
	snprintf(in, sizeof in, "%s/report.html", dir);
	snprintf(out, sizeof out, "%s/out.pdf", dir);
	snprintf(err, sizeof err, "%s/stderr.txt", dir);
	if (put_file(in, d->html, strlen(d->html)) != 0) {
		rm_dir(dir);
		return vc_fail(ctx, VC_EINTERNAL, "%s: cannot write: %s", in, strerror(errno));
	}
	snprintf(allow, sizeof allow, "%s", dir);
	snprintf(homev, sizeof homev, "HOME=%s", dir);
	snprintf(tmpv, sizeof tmpv, "TMPDIR=%s", dir);
	snprintf(xdg, sizeof xdg, "XDG_RUNTIME_DIR=%s", dir);
	snprintf(footer, sizeof footer, "%s", d->marking);
	/* A table of contents once the report is long (many rows). */
	long_report = strlen(d->html) > 60000;
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
		if (long_report) {
			argv[a++] = "toc";
			argv[a++] = "--toc-header-text";
			argv[a++] = "Contents";
		}
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
	if (rc != 0) {
		rm_dir(dir);
		return vc_fail(ctx, VC_EUNAVAIL, "cannot run %s: %s (is wkhtmltopdf installed?)", exe, strerror(rc));
	}
	until = mono_ms() + (int64_t)timeout_s * 1000;
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
	if (killed) {
		rm_dir(dir);
		return vc_fail(ctx, VC_ETEMP, "wkhtmltopdf took longer than %d s: stopped", timeout_s);
	}
	/* It exits 1 on a warning even when the PDF is whole: judge the file. */
	if ((f = fopen(out, "rb")) == NULL || fread(why, 1, 4, f) != 4 || memcmp(why, "%PDF", 4) != 0) {
		if (f)
			fclose(f);
		first_error(dir, why, sizeof why);
		rm_dir(dir);
		return vc_fail(ctx, VC_EUNAVAIL, "wkhtmltopdf made no PDF (exit %d): %s",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1, why);
	}
	rewind(f);
	if ((o = fopen(path, "wb")) == NULL) {
		fclose(f);
		rm_dir(dir);
		return vc_fail(ctx, VC_EUSAGE, "%s: %s", path, strerror(errno));
	}
	{
		struct pdfbuf b = { 0 };
		char *all = NULL;
		size_t cap = 0;
		FILE *m = open_memstream(&all, &cap);
		char buf[65536];
		size_t n;
		while (m && (n = fread(buf, 1, sizeof buf, f)) > 0) {
			fwrite(buf, 1, n, o);
			fwrite(buf, 1, n, m);
		}
		if (m && fclose(m) == 0) {
			b.p = all;
			b.n = cap;
			stamp(o, &b, d);
		}
		free(all);
	}
	fclose(f);
	inputs = jv_dump_string(jv_copy(d->inputs), JV_PRINT_SORTED);
	fprintf(o, "\n%%vc-report-inputs %s\n%%vc-report-sha256 %s\n", jv_string_value(inputs), d->sha256);
	jv_free(inputs);
	rm_dir(dir);
	if (ferror(o) | (fclose(o) != 0))
		return vc_fail(ctx, VC_EINTERNAL, "%s: write failed", path);
	return 0;
}
