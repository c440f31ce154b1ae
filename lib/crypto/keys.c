/* SPDX-License-Identifier: MIT */
/*
 * keys.c - the installation keyring (security.md section 9).
 *
 * The key file is the root of every secret in the store: whoever reads it
 * can forge access tokens and open every sealed secret.  So it is only
 * accepted from a regular file that nobody but the owning service user can
 * read, keys live in sodium_malloc'd (guarded, mlocked, wiped) memory, and
 * every temporary that held key text is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "crypto/crypto.h"

#define KEY_BYTES 32
/* ~1400 keys: far more than years of rotation, and bounds what we read. */
#define KEYFILE_MAX (64 * 1024)
/* crypto_kdf subkey id: one subkey per (key, context), so a constant. */
#define SUBKEY_ID 1
#define AUDIT_CONTEXT "vcaudit_"
/* Longest line we write: "4294967295:" B64 " created=" N " retired=" N
 * " audit=" B64, with room to spare. */
#define LINE_MAX_OUT 256

struct vc_key {
	uint32_t id;
	int64_t created;        /* 0: unknown (a key from an older file) */
	int64_t retired;        /* 0: live; else key[] is gone, audit[] kept */
	unsigned char key[KEY_BYTES];
	unsigned char audit[KEY_BYTES]; /* retired keys: their audit subkey */
};

struct vc_keyring {
	size_t n, cap;
	uint32_t newest;
	struct vc_key *keys;    /* sodium_allocarray, sorted by id; read-only
	                         * once loaded */
};

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Format one key as its key file line (with '\n') into line.  The caller
 * wipes line.  Returns the length, or -1.
 */
static int
key_line(const struct vc_key *k, char *line, size_t n)
{
	char b64[sodium_base64_ENCODED_LEN(KEY_BYTES,
	    sodium_base64_VARIANT_ORIGINAL)], at[32] = "";
	int len;

	if (k->created > 0)
		snprintf(at, sizeof at, " created=%lld", (long long)k->created);
	if (k->retired > 0) {
		sodium_bin2base64(b64, sizeof b64, k->audit, KEY_BYTES,
		    sodium_base64_VARIANT_ORIGINAL);
		len = snprintf(line, n, "%u:-%s retired=%lld audit=%s\n",
		    (unsigned)k->id, at, (long long)k->retired, b64);
	} else {
		sodium_bin2base64(b64, sizeof b64, k->key, KEY_BYTES,
		    sodium_base64_VARIANT_ORIGINAL);
		len = snprintf(line, n, "%u:%s%s\n", (unsigned)k->id, b64, at);
	}
	sodium_memzero(b64, sizeof b64);
	if (len < 0 || (size_t)len >= n)
		return -1;
	return len;
}

/* A fresh random key with id and creation time. */
static void
new_key(struct vc_key *k, uint32_t id, int64_t now)
{
	memset(k, 0, sizeof *k);
	k->id = id;
	k->created = now;
	randombytes_buf(k->key, sizeof k->key);
}

/* fsync the directory holding path, so a new file survives a crash. */
static void
sync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int len, fd;

	if (slash == NULL)
		len = snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		len = snprintf(dir, sizeof dir, "/");
	else
		len = snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	if (len < 0 || (size_t)len >= sizeof dir)
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

int
vc_keyring_create(vc_ctx *ctx, const char *path)
{
	struct vc_key k;
	char line[LINE_MAX_OUT];
	int fd, len, rc = 0;

	if (sodium_init() < 0)
		return vc_fail(ctx, VC_EINTERNAL, "cannot initialise libsodium");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return vc_fail(ctx, VC_ECONFLICT,
			    "key file %s already exists", path);
		return vc_fail(ctx, VC_ECONFIG, "cannot create key file %s: %s",
		    path, strerror(errno));
	}
	/* The umask may have taken bits away, never added: make it exact. */
	if (fchmod(fd, 0600) != 0) {
		rc = vc_fail(ctx, VC_ECONFIG, "cannot set mode 0600 on %s: %s",
		    path, strerror(errno));
		goto fail;
	}
	new_key(&k, 1, vc_now(ctx));
	len = key_line(&k, line, sizeof line);
	sodium_memzero(&k, sizeof k);
	if (len < 0) {
		rc = vc_fail(ctx, VC_EINTERNAL, "key line too long");
		goto fail;
	}
	if (write_all(fd, line, (size_t)len) != 0 || fsync(fd) != 0) {
		rc = vc_fail(ctx, VC_ECONFIG, "cannot write key file %s: %s",
		    path, strerror(errno));
		goto fail;
	}
	sodium_memzero(line, sizeof line);
	if (close(fd) != 0) {
		fd = -1;
		rc = vc_fail(ctx, VC_ECONFIG, "cannot write key file %s: %s",
		    path, strerror(errno));
		goto fail;
	}
	sync_parent(path);
	return 0;
fail:
	sodium_memzero(line, sizeof line);
	if (fd >= 0)
		close(fd);
	/* A half-written key file would be refused at every start: remove it. */
	unlink(path);
	return rc;
}

/*
 * Check that the open file fd is fit to hold keys: a regular file, owned
 * by us, readable by nobody else.  want_write also requires the owner's
 * write bit (rotation).
 */
static int
check_file(vc_ctx *ctx, const char *path, int fd, int want_write,
    struct stat *st)
{
	mode_t mode;

	if (fstat(fd, st) != 0)
		return vc_fail(ctx, VC_ECONFIG, "cannot stat key file %s: %s",
		    path, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return vc_fail(ctx, VC_ECONFIG,
		    "key file %s is not a regular file", path);
	mode = st->st_mode & 07777;
	if (mode != 0600 && mode != 0400)
		return vc_fail(ctx, VC_ECONFIG,
		    "key file %s has mode %04o: it must be 0600 or 0400 "
		    "(chmod 600 %s)", path, (unsigned)mode, path);
	if (st->st_uid != geteuid())
		return vc_fail(ctx, VC_ECONFIG,
		    "key file %s is owned by uid %u: it must be owned by "
		    "uid %u, which runs this program", path,
		    (unsigned)st->st_uid, (unsigned)geteuid());
	if (want_write && mode != 0600)
		return vc_fail(ctx, VC_ECONFIG,
		    "key file %s has mode %04o: rotation needs mode 0600",
		    path, (unsigned)mode);
	return 0;
}

static int
open_keyfile(vc_ctx *ctx, const char *path, int flags)
{
	/* O_NONBLOCK: a FIFO planted at path must not hang us before the
	 * regular-file check; it changes nothing for regular files. */
	int fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		vc_fail(ctx, VC_ECONFIG, "no installation key at %s: restore "
		    "the key file made with this store, or set VC_KEY_FILE",
		    path);
	else
		vc_fail(ctx, VC_ECONFIG, "cannot open key file %s: %s", path,
		    strerror(errno));
	return -1;
}

/* Read all of fd (at most KEYFILE_MAX bytes) into a sodium_malloc'd,
 * NUL-terminated buffer; the key text never touches ordinary heap. */
static int
read_keyfile(vc_ctx *ctx, const char *path, int fd, char **out, size_t *outn)
{
	char *buf;
	size_t n = 0;

	if ((buf = sodium_malloc(KEYFILE_MAX + 1)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	for (;;) {
		ssize_t r = pread(fd, buf + n, KEYFILE_MAX + 1 - n, (off_t)n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			sodium_free(buf);
			return vc_fail(ctx, VC_ECONFIG,
			    "cannot read key file %s: %s", path, strerror(errno));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > KEYFILE_MAX) {
			sodium_free(buf);
			return vc_fail(ctx, VC_ECONFIG,
			    "key file %s is larger than %d bytes", path,
			    KEYFILE_MAX);
		}
	}
	buf[n] = '\0';
	*out = buf;
	*outn = n;
	return 0;
}

int
vc_keyring_parse_id(const char *s, size_t n, uint32_t *id)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < 1 || v > UINT32_MAX)
		return -1;
	*id = (uint32_t)v;
	return 0;
}

/*
 * The attributes after a key: " created=N", " retired=N", " audit=B64".
 * p..eol is the text after the key field.  Returns 0, or -1 with why.
 */
static int
parse_attrs(char *p, char *eol, struct vc_key *k, int *has_audit,
    const char **why)
{
	*has_audit = 0;
	while (p < eol) {
		char *sp, *eq;
		size_t vlen, n;
		uint64_t v = 0;

		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		for (sp = p; sp < eol && *sp != ' ' && *sp != '\t'; sp++)
			;
		if ((eq = memchr(p, '=', (size_t)(sp - p))) == NULL) {
			*why = "expected NAME=VALUE after the key";
			return -1;
		}
		vlen = (size_t)(sp - eq - 1);
		if ((size_t)(eq - p) == 5 && memcmp(p, "audit", 5) == 0) {
			if (sodium_base642bin(k->audit, sizeof k->audit, eq + 1,
			    vlen, NULL, &n, NULL,
			    sodium_base64_VARIANT_ORIGINAL) != 0 || n != KEY_BYTES) {
				*why = "audit= must be standard base64 of 32 bytes";
				return -1;
			}
			*has_audit = 1;
		} else if (((size_t)(eq - p) == 7 && memcmp(p, "created", 7) == 0) ||
		    ((size_t)(eq - p) == 7 && memcmp(p, "retired", 7) == 0)) {
			if (vlen == 0 || vlen > 12) {
				*why = "a time must be 1 to 12 digits (seconds since 1970)";
				return -1;
			}
			for (size_t i = 0; i < vlen; i++) {
				if (eq[1 + i] < '0' || eq[1 + i] > '9') {
					*why = "a time must be digits (seconds since 1970)";
					return -1;
				}
				v = v * 10 + (uint64_t)(eq[1 + i] - '0');
			}
			if (p[0] == 'c')
				k->created = (int64_t)v;
			else
				k->retired = (int64_t)v;
		} else {
			*why = "unknown attribute (known: created, retired, audit)";
			return -1;
		}
		p = sp;
	}
	return 0;
}

/* Keep keys sorted by id: insert k's slot (the last) into place. */
static void
sort_last(struct vc_keyring *kr)
{
	struct vc_key tmp;
	size_t i = kr->n - 1;

	while (i > 0 && kr->keys[i - 1].id > kr->keys[i].id) {
		tmp = kr->keys[i - 1];
		kr->keys[i - 1] = kr->keys[i];
		kr->keys[i] = tmp;
		i--;
	}
	sodium_memzero(&tmp, sizeof tmp);
}

/*
 * Parse the key file text into a new keyring with room for one more key
 * (rotation).  A line is "ID:BASE64" (the format of every version),
 * optionally followed by " created=SECONDS"; a retired key is
 * "ID:- created=S retired=S audit=BASE64", its audit subkey only.
 * Messages name the file and line but never quote it: the line is key
 * material.  name is the file's path, or "VC_MASTER_KEY".
 */
static int
parse_keyfile(vc_ctx *ctx, const char *path, char *text, size_t len,
    struct vc_keyring **out)
{
	struct vc_keyring *kr;
	size_t cap = 2, lineno = 0;
	char *p = text, *end = text + len;
	const char *why;
	int rc = 0;

	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			cap++;
	if (memchr(text, '\0', len) != NULL)
		return vc_fail(ctx, VC_ECONFIG, "%s: key file holds a NUL byte",
		    path);
	if ((kr = calloc(1, sizeof *kr)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	if ((kr->keys = sodium_allocarray(cap, sizeof *kr->keys)) == NULL) {
		free(kr);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	kr->cap = cap;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end, *colon, *kend;
		struct vc_key *k;
		size_t keylen;
		uint32_t id;
		int has_audit;

		lineno++;
		/* Tolerate CRLF and trailing blanks from hand editing. */
		while (eol > p && (eol[-1] == '\r' || eol[-1] == ' ' ||
		    eol[-1] == '\t'))
			eol--;
		if (eol == p || *p == '#')
			goto next;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL) {
			rc = vc_fail(ctx, VC_ECONFIG,
			    "%s:%zu: expected ID:BASE64", path, lineno);
			goto fail;
		}
		if (vc_keyring_parse_id(p, (size_t)(colon - p), &id) != 0) {
			rc = vc_fail(ctx, VC_ECONFIG, "%s:%zu: key id must be a "
			    "number from 1 to 4294967295", path, lineno);
			goto fail;
		}
		for (size_t i = 0; i < kr->n; i++)
			if (kr->keys[i].id == id) {
				rc = vc_fail(ctx, VC_ECONFIG,
				    "%s:%zu: duplicate key id %u", path, lineno,
				    (unsigned)id);
				goto fail;
			}
		k = &kr->keys[kr->n];
		memset(k, 0, sizeof *k);
		for (kend = colon + 1; kend < eol && *kend != ' ' &&
		    *kend != '\t'; kend++)
			;
		if (parse_attrs(kend, eol, k, &has_audit, &why) != 0) {
			rc = vc_fail(ctx, VC_ECONFIG, "%s:%zu: %s", path, lineno,
			    why);
			goto fail;
		}
		if (kend == colon + 2 && colon[1] == '-') {
			if (k->retired == 0 || !has_audit) {
				rc = vc_fail(ctx, VC_ECONFIG, "%s:%zu: a retired "
				    "key needs retired= and audit=", path, lineno);
				goto fail;
			}
		} else if (k->retired != 0 || has_audit) {
			rc = vc_fail(ctx, VC_ECONFIG, "%s:%zu: retired= and "
			    "audit= go only with a retired key (ID:-)", path,
			    lineno);
			goto fail;
		} else if (sodium_base642bin(k->key, sizeof k->key, colon + 1,
		    (size_t)(kend - colon - 1), NULL, &keylen, NULL,
		    sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    keylen != KEY_BYTES) {
			/* Strict: padding required, no trailing bits. */
			rc = vc_fail(ctx, VC_ECONFIG, "%s:%zu: key must be "
			    "standard base64 of %d bytes", path, lineno,
			    KEY_BYTES);
			goto fail;
		}
		k->id = id;
		if (id > kr->newest)
			kr->newest = id;
		kr->n++;
		sort_last(kr);
next:
		p = nl ? nl + 1 : end;
	}
	if (kr->n == 0) {
		rc = vc_fail(ctx, VC_ECONFIG, "%s: no keys in key file", path);
		goto fail;
	}
	if (kr->keys[kr->n - 1].retired != 0) {
		rc = vc_fail(ctx, VC_ECONFIG, "%s: the newest key %u is retired: "
		    "nothing could sign or seal", path, (unsigned)kr->newest);
		goto fail;
	}
	*out = kr;
	return 0;
fail:
	vc_keyring_free(kr);
	return rc;
}

int
vc_keyring_load(vc_ctx *ctx, const char *path, struct vc_keyring **out)
{
	struct stat st;
	char *text;
	size_t len;
	int fd, rc;

	*out = NULL;
	if (sodium_init() < 0)
		return vc_fail(ctx, VC_EINTERNAL, "cannot initialise libsodium");
	if ((fd = open_keyfile(ctx, path, O_RDONLY)) < 0)
		return ctx->err;
	if ((rc = check_file(ctx, path, fd, 0, &st)) != 0 ||
	    (rc = read_keyfile(ctx, path, fd, &text, &len)) != 0) {
		close(fd);
		return rc;
	}
	close(fd);
	rc = parse_keyfile(ctx, path, text, len, out);
	sodium_free(text);
	/* Nothing writes the keys after this: a stray write now faults. */
	if (rc == 0)
		sodium_mprotect_readonly((*out)->keys);
	return rc;
}

int
vc_keyring_load_base64(vc_ctx *ctx, const char *name, const char *b64,
    struct vc_keyring **out)
{
	size_t n = strnlen(b64, 2 * KEYFILE_MAX), len;
	char *text;
	int rc;

	*out = NULL;
	if (sodium_init() < 0)
		return vc_fail(ctx, VC_EINTERNAL, "cannot initialise libsodium");
	if (n >= 2 * KEYFILE_MAX)
		return vc_fail(ctx, VC_ECONFIG, "%s is too long for a key file",
		    name);
	if ((text = sodium_malloc(KEYFILE_MAX + 1)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	/* Line breaks allowed: "base64 vc.key" wraps at 76 columns. */
	if (sodium_base642bin((unsigned char *)text, KEYFILE_MAX, b64, n,
	    " \t\r\n", &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len == 0) {
		sodium_free(text);
		return vc_fail(ctx, VC_ECONFIG, "%s is not standard base64 of a "
		    "key file (make it with: base64 -w0 vc.key)", name);
	}
	text[len] = '\0';
	rc = parse_keyfile(ctx, name, text, len, out);
	sodium_free(text);
	if (rc == 0)
		sodium_mprotect_readonly((*out)->keys);
	return rc;
}

/*
 * Write text to path atomically: a temporary file beside it (mode 0600),
 * fsync, rename over path, fsync the directory.  A crash leaves the old
 * file or the new one, never a mix; the temporary is removed on failure.
 */
static int
write_atomic(vc_ctx *ctx, const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX];
	int fd, n;

	n = snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof tmp)
		return vc_fail(ctx, VC_ECONFIG, "key file path too long: %s",
		    path);
	if ((fd = mkstemp(tmp)) < 0)
		return vc_fail(ctx, VC_ECONFIG, "cannot create a temporary key "
		    "file beside %s: %s", path, strerror(errno));
	if (fchmod(fd, 0600) != 0 || write_all(fd, text, len) != 0 ||
	    fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	sync_parent(path);
	return 0;
fail:
	n = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return vc_fail(ctx, VC_ECONFIG, "cannot write key file %s: %s", path,
	    strerror(n));
}

/* The ring as key file text, in sodium_malloc'd memory (*out). */
static int
format_ring(vc_ctx *ctx, const struct vc_keyring *kr, char **out,
    size_t *outn)
{
	char *buf, line[LINE_MAX_OUT];
	size_t n = 0;

	if ((buf = sodium_malloc(KEYFILE_MAX + 1)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	for (size_t i = 0; i < kr->n; i++) {
		int len = key_line(&kr->keys[i], line, sizeof line);

		if (len < 0 || n + (size_t)len > KEYFILE_MAX) {
			sodium_memzero(line, sizeof line);
			sodium_free(buf);
			return vc_fail(ctx, VC_ECONFIG, "key file would be "
			    "larger than %d bytes", KEYFILE_MAX);
		}
		memcpy(buf + n, line, (size_t)len);
		n += (size_t)len;
	}
	sodium_memzero(line, sizeof line);
	*out = buf;
	*outn = n;
	return 0;
}

/*
 * Change the key file under an exclusive lock: read and parse it, let
 * edit change the ring, write it back atomically.  The lock is on the
 * file, which a rename replaces: a writer that waited re-opens when the
 * path no longer names the inode it locked.
 */
static int
edit_keyfile(vc_ctx *ctx, const char *path,
    int (*edit)(vc_ctx *, struct vc_keyring *, void *), void *arg)
{
	struct vc_keyring *kr = NULL;
	struct stat st, now;
	char *text = NULL;
	size_t len;
	int fd, rc;

	if (sodium_init() < 0)
		return vc_fail(ctx, VC_EINTERNAL, "cannot initialise libsodium");
	for (int tries = 0;; tries++) {
		if ((fd = open_keyfile(ctx, path, O_RDONLY)) < 0)
			return ctx->err;
		if ((rc = check_file(ctx, path, fd, 1, &st)) != 0)
			goto out;
		while (flock(fd, LOCK_EX) != 0)
			if (errno != EINTR) {
				rc = vc_fail(ctx, VC_ECONFIG, "cannot lock key "
				    "file %s: %s", path, strerror(errno));
				goto out;
			}
		if (stat(path, &now) == 0 && now.st_ino == st.st_ino &&
		    now.st_dev == st.st_dev)
			break;
		close(fd);
		if (tries == 10)
			return vc_fail(ctx, VC_ETEMP, "key file %s keeps "
			    "changing: try again", path);
	}
	if ((rc = read_keyfile(ctx, path, fd, &text, &len)) != 0 ||
	    (rc = parse_keyfile(ctx, path, text, len, &kr)) != 0)
		goto out;
	sodium_free(text);
	text = NULL;
	if ((rc = edit(ctx, kr, arg)) != 0 ||
	    (rc = format_ring(ctx, kr, &text, &len)) != 0)
		goto out;
	rc = write_atomic(ctx, path, text, len);
out:
	if (text != NULL)
		sodium_free(text);
	vc_keyring_free(kr);
	close(fd);     /* also drops the lock */
	return rc;
}

static int
edit_rotate(vc_ctx *ctx, struct vc_keyring *kr, void *arg)
{
	uint32_t *id = arg;

	if (kr->newest == UINT32_MAX)
		return vc_fail(ctx, VC_ECONFIG, "no key id left after %u",
		    (unsigned)kr->newest);
	if (kr->n == kr->cap)
		return vc_fail(ctx, VC_EINTERNAL, "no room in the keyring");
	new_key(&kr->keys[kr->n], kr->newest + 1, vc_now(ctx));
	kr->n++;
	kr->newest++;
	*id = kr->newest;
	return 0;
}

int
vc_keyring_rotate(vc_ctx *ctx, const char *path)
{
	uint32_t id = 0;

	return edit_keyfile(ctx, path, edit_rotate, &id);
}

static int
edit_retire(vc_ctx *ctx, struct vc_keyring *kr, void *arg)
{
	uint32_t kid = *(uint32_t *)arg;
	struct vc_key *k = NULL;

	for (size_t i = 0; i < kr->n; i++)
		if (kr->keys[i].id == kid)
			k = &kr->keys[i];
	if (k == NULL)
		return vc_fail(ctx, VC_ENOTFOUND, "no key %u in the key file",
		    (unsigned)kid);
	if (k->retired != 0)
		return vc_fail(ctx, VC_ECONFLICT, "key %u is already retired",
		    (unsigned)kid);
	if (kid == kr->newest)
		return vc_fail(ctx, VC_ECONFLICT, "key %u is the newest key, "
		    "which signs and seals: rotate first", (unsigned)kid);
	/* The audit records it signed must stay verifiable: keep only the
	 * audit subkey, which can neither sign a token nor open a secret. */
	if (crypto_kdf_derive_from_key(k->audit, KEY_BYTES, SUBKEY_ID,
	    AUDIT_CONTEXT, k->key) != 0)
		return vc_fail(ctx, VC_EINTERNAL, "cannot derive a subkey");
	sodium_memzero(k->key, sizeof k->key);
	k->retired = vc_now(ctx);
	if (k->retired <= 0)
		k->retired = 1;
	return 0;
}

int
vc_keyring_retire(vc_ctx *ctx, const char *path, uint32_t kid)
{
	return edit_keyfile(ctx, path, edit_retire, &kid);
}

void
vc_keyring_free(struct vc_keyring *kr)
{
	if (kr == NULL)
		return;
	if (kr->keys != NULL)
		sodium_free(kr->keys);  /* wipes, even when read-only */
	free(kr);
}

uint32_t
vc_keyring_newest(const struct vc_keyring *kr)
{
	return kr->newest;
}

static const struct vc_key *
find_key(const struct vc_keyring *kr, uint32_t kid)
{
	for (size_t i = 0; i < kr->n; i++)
		if (kr->keys[i].id == kid)
			return &kr->keys[i];
	return NULL;
}

int
vc_keyring_has(const struct vc_keyring *kr, uint32_t kid)
{
	const struct vc_key *k = kr ? find_key(kr, kid) : NULL;

	return k != NULL && k->retired == 0;
}

int
vc_keyring_subkey(const struct vc_keyring *kr, uint32_t kid,
    const char context[8], unsigned char out[32])
{
	const struct vc_key *k = kr ? find_key(kr, kid) : NULL;

	if (k == NULL)
		return -1;
	if (k->retired != 0) {
		/* A retired key still checks the audit records it signed,
		 * and does nothing else. */
		if (memcmp(context, AUDIT_CONTEXT, 8) != 0)
			return -1;
		memcpy(out, k->audit, 32);
		return 0;
	}
	/* Each purpose gets its own key, so a MAC made for one (audit) can
	 * never be replayed as another (JWT). */
	if (crypto_kdf_derive_from_key(out, 32, SUBKEY_ID, context,
	    k->key) != 0)
		return -1;
	return 0;
}

int
vc_keyring_same(const struct vc_keyring *a, const struct vc_keyring *b)
{
	if (a == NULL || b == NULL || a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct vc_key *x = &a->keys[i], *y = &b->keys[i];
		if (x->id != y->id || (x->retired != 0) != (y->retired != 0) ||
		    sodium_memcmp(x->key, y->key, sizeof x->key) != 0 ||
		    sodium_memcmp(x->audit, y->audit, sizeof x->audit) != 0)
			return 0;
	}
	return 1;
}

size_t
vc_keyring_count(const struct vc_keyring *kr)
{
	return kr->n;
}

int
vc_keyring_info(const struct vc_keyring *kr, size_t i,
    struct vc_key_info *info)
{
	const struct vc_key *k;

	if (i >= kr->n)
		return -1;
	k = &kr->keys[i];
	info->id = k->id;
	info->created = k->created;
	info->retired = k->retired;
	info->state = k->retired ? VC_KEY_RETIRED :
	    k->id == kr->newest ? VC_KEY_ACTIVE : VC_KEY_VERIFY;
	return 0;
}

int64_t
vc_keyring_created(const struct vc_keyring *kr, uint32_t kid)
{
	const struct vc_key *k = kr ? find_key(kr, kid) : NULL;

	return k != NULL ? k->created : -1;
}
