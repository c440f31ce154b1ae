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

struct vc_key {
	uint32_t id;
	unsigned char key[KEY_BYTES];
};

struct vc_keyring {
	size_t n;
	uint32_t newest;
	struct vc_key *keys;    /* sodium_allocarray, read-only once loaded */
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
 * Format "ID:BASE64\n" for a fresh random key into line.  The caller
 * wipes line.  Returns the length, or -1.
 */
static int
new_key_line(uint32_t id, char *line, size_t n)
{
	unsigned char key[KEY_BYTES];
	char b64[sodium_base64_ENCODED_LEN(KEY_BYTES,
	    sodium_base64_VARIANT_ORIGINAL)];
	int len;

	randombytes_buf(key, sizeof key);
	sodium_bin2base64(b64, sizeof b64, key, sizeof key,
	    sodium_base64_VARIANT_ORIGINAL);
	len = snprintf(line, n, "%u:%s\n", (unsigned)id, b64);
	sodium_memzero(key, sizeof key);
	sodium_memzero(b64, sizeof b64);
	if (len < 0 || (size_t)len >= n)
		return -1;
	return len;
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
	char line[64];
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
	if ((len = new_key_line(1, line, sizeof line)) < 0) {
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
 * Parse the key file text into a new keyring.  Messages name the file and
 * line but never quote it: the line is key material.
 */
static int
parse_keyfile(vc_ctx *ctx, const char *path, char *text, size_t len,
    struct vc_keyring **out)
{
	struct vc_keyring *kr;
	size_t cap = 1, lineno = 0;
	char *p = text, *end = text + len;
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
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end, *colon;
		struct vc_key *k;
		size_t keylen, b64len;
		uint32_t id;

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
		b64len = (size_t)(eol - colon - 1);
		/* Strict: padding required, no whitespace, no trailing bits. */
		if (sodium_base642bin(k->key, sizeof k->key, colon + 1, b64len,
		    NULL, &keylen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    keylen != KEY_BYTES) {
			rc = vc_fail(ctx, VC_ECONFIG, "%s:%zu: key must be "
			    "standard base64 of %d bytes", path, lineno,
			    KEY_BYTES);
			goto fail;
		}
		k->id = id;
		if (id > kr->newest)
			kr->newest = id;
		kr->n++;
next:
		p = nl ? nl + 1 : end;
	}
	if (kr->n == 0) {
		rc = vc_fail(ctx, VC_ECONFIG, "%s: no keys in key file", path);
		goto fail;
	}
	/* Nothing writes the keys after this: a stray write now faults. */
	sodium_mprotect_readonly(kr->keys);
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
	return rc;
}

int
vc_keyring_rotate(vc_ctx *ctx, const char *path)
{
	struct vc_keyring *kr = NULL;
	struct stat st;
	char *text = NULL, line[64];
	size_t len;
	int fd, rc, n;

	if (sodium_init() < 0)
		return vc_fail(ctx, VC_EINTERNAL, "cannot initialise libsodium");
	if ((fd = open_keyfile(ctx, path, O_RDWR | O_APPEND)) < 0)
		return ctx->err;
	if ((rc = check_file(ctx, path, fd, 1, &st)) != 0)
		goto out;
	/* Two rotations at once would both append the same id. */
	while (flock(fd, LOCK_EX) != 0)
		if (errno != EINTR) {
			rc = vc_fail(ctx, VC_ECONFIG, "cannot lock key file %s: "
			    "%s", path, strerror(errno));
			goto out;
		}
	if ((rc = read_keyfile(ctx, path, fd, &text, &len)) != 0 ||
	    (rc = parse_keyfile(ctx, path, text, len, &kr)) != 0)
		goto out;
	if (kr->newest == UINT32_MAX) {
		rc = vc_fail(ctx, VC_ECONFIG, "%s: no key id left after %u",
		    path, (unsigned)kr->newest);
		goto out;
	}
	/* A hand-edited file may lack its final newline: do not glue the
	 * new key onto the last line. */
	line[0] = '\n';
	if ((n = new_key_line(kr->newest + 1, line + 1, sizeof line - 1)) < 0) {
		rc = vc_fail(ctx, VC_EINTERNAL, "key line too long");
		goto out;
	}
	if (len > 0 && text[len - 1] == '\n') {
		if (write_all(fd, line + 1, (size_t)n) != 0)
			goto ioerr;
	} else if (write_all(fd, line, (size_t)n + 1) != 0)
		goto ioerr;
	if (fsync(fd) != 0)
		goto ioerr;
	goto out;
ioerr:
	rc = vc_fail(ctx, VC_ECONFIG, "cannot write key file %s: %s", path,
	    strerror(errno));
out:
	sodium_memzero(line, sizeof line);
	if (text != NULL)
		sodium_free(text);
	vc_keyring_free(kr);
	close(fd);     /* also drops the lock */
	return rc;
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
	return kr != NULL && find_key(kr, kid) != NULL;
}

int
vc_keyring_subkey(const struct vc_keyring *kr, uint32_t kid,
    const char context[8], unsigned char out[32])
{
	const struct vc_key *k = kr ? find_key(kr, kid) : NULL;

	if (k == NULL)
		return -1;
	/* Each purpose gets its own key, so a MAC made for one (audit) can
	 * never be replayed as another (JWT). */
	if (crypto_kdf_derive_from_key(out, 32, SUBKEY_ID, context,
	    k->key) != 0)
		return -1;
	return 0;
}
