/* SPDX-License-Identifier: MIT */
/*
 * cli.c - the command-line front door: turn argv into an operation call
 * through the table, authenticate from the saved credentials or
 * $VC_TOKEN, and print the result as JSON Lines, JSON or a table.
 *
 * Unlike lib/, it writes to stdout and stderr; like lib/, it never exits:
 * vc_cli_main returns the exit status to main().  A run is a row of steps
 * (see vc_cli_main at the end): the command line, the arguments argv does
 * not hold, authentication, the streams, the call, the results.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <termios.h>
#include <unistd.h>
#include <sodium.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "json/jqprog.h"
#include "mail.h"
#include "json/jsonl.h"
#include "auth.h"
#include "twofa.h"
#include "ops/ops.h"
#include "core/store.h"

enum { OUT_AUTO, OUT_JSONL, OUT_JSON, OUT_TABLE };

struct cli {
	const char *tool;
	const char *db;
	int out;
	int json_errors;
	int password_stdin;
	int totp_stdin;             /* the 2FA code is the line after the password */
	int flush;                  /* each record as it comes (--follow) */
	int all;                /* --all: every page of a list */
	int progress;           /* --progress: progress on stderr even off a terminal */
	int progress_tty;
	char store_key[PATH_MAX];   /* the store's path: key of saved credentials */
};

static void
err_out(struct cli *c, vc_ctx *ctx, int rc)
{
	if (c->json_errors) {
		jv e = JV_OBJECT(jv_string("error"), jv_string(vc_err_name(rc)),
		    jv_string("message"), jv_string(ctx->errmsg),
		    jv_string("exit"), jv_number(vc_err_exit(rc)));
		jv_dumpf(e, stderr, 0);
		fputc('\n', stderr);
	} else
		fprintf(stderr, "%s: %s\n", c->tool, ctx->errmsg[0] ? ctx->errmsg : vc_err_name(rc));
}

/* ---- usage, generated from the table ---------------------------------- */

static int
has_secret(const struct vc_op *op)
{
	for (const struct vc_param *p = op->params; p && p->name; p++)
		if (p->flags & VC_P_SECRET)
			return 1;
	return 0;
}

/* A parameter a user types as --name (not an operand, a secret, a saved
 * token, or HTTP only). */
static int
is_option(const struct vc_param *p)
{
	return !(p->flags & (VC_P_POS | VC_P_SECRET | VC_P_CREDS | VC_P_HTTP));
}

/* "--allow_registration" is spelled "--allow-registration" on the CLI. */
static void
opt_name(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s", name);
	for (char *s = buf; *s; s++)
		if (*s == '_')
			*s = '-';
}

void
vc_cli_synopsis(FILE *f, const struct vc_op *op)
{
	char o[64];

	fputs(op->tool, f);
	if (!(op->flags & VC_OP_DEFAULT))
		fprintf(f, " %s", op->verb);
	for (const struct vc_param *p = op->params; p && p->name; p++)
		if ((p->flags & VC_P_POS) && !(p->flags & VC_P_HTTP))
			fprintf(f, (p->flags & VC_P_REQ) ? " %s" : " [%s]", p->meta);
	for (const struct vc_param *p = op->params; p && p->name; p++) {
		if (!is_option(p))
			continue;
		opt_name(p->name, o, sizeof o);
		if (p->type == VC_T_BOOL)
			fprintf(f, " [--%s]", o);
		else
			fprintf(f, (p->flags & VC_P_REQ) ? " --%s %s" : " [--%s %s]%s", o,
			    p->choices ? p->choices : p->meta, (p->flags & VC_P_MULTI) ? "..." : "");
	}
	if (has_secret(op))
		fprintf(f, " [--password-stdin]");
	if (op->flags & VC_OP_TOTP)
		fprintf(f, " [--totp-stdin]");
	fputc('\n', f);
}

static void
usage(FILE *f, const char *tool)
{
	fprintf(f, "usage: %s [--db PATH] [-o jsonl|json|table] [--json-errors] COMMAND [ARGS]\n", tool);
	for (const struct vc_op *op = vc_ops; op->name; op++)
		if (vc_op_cli(op) && strcmp(op->tool, tool) == 0) {
			fputs("       ", f);
			vc_cli_synopsis(f, op);
		}
	fprintf(f, "Run '%s COMMAND -h' for a command's options; man %s for more.\n", tool, tool);
}

static void
op_help(FILE *f, const struct vc_op *op)
{
	char o[64];

	fputs("usage: ", f);
	vc_cli_synopsis(f, op);
	fprintf(f, "%s.\n", op->summary);
	for (const struct vc_param *p = op->params; p && p->name; p++) {
		if (p->flags & (VC_P_HTTP | VC_P_CREDS))
			continue;
		opt_name(p->name, o, sizeof o);
		if (p->flags & VC_P_POS)
			fprintf(f, "  %-24s %s\n", p->meta, p->help);
		else if (p->flags & VC_P_SECRET)
			fprintf(f, "  %-24s %s (%s)\n", "(secret)", p->help, (p->flags & VC_P_REQ) ?
			    "asked on the terminal, or a line of stdin with --password-stdin" :
			    "only with --password-stdin, a line of stdin");
		else
			fprintf(f, "  --%-22s %s\n", o, p->help);
	}
	if (has_secret(op))
		fprintf(f, "  --%-22s %s\n", "password-stdin", "read the password(s) from stdin, one per line");
	if (op->flags & VC_OP_TOTP)
		fprintf(f, "  --%-22s %s\n", "totp-stdin", "read the password, then on the next line "
		    "the 2FA code (or a recovery code), from stdin");
}

/* ---- completions ------------------------------------------------------ */

/* A two-word verb ("user create") is completed a word at a time. */
static int
first_word(const char *verb)
{
	const char *sp = strchr(verb, ' ');

	return sp ? (int)(sp - verb) : (int)strlen(verb);
}

/* One tool's case in the bash function: its verbs, and each verb's options. */
static void
bash_tool(FILE *f, const char *tool)
{
	char o[64];
	int any = 0;

	for (const struct vc_op *op = vc_ops; op->name; op++)
		any |= op->verb != NULL && strcmp(op->tool, tool) == 0;
	if (!any)
		return;
	fprintf(f, "\t%s)\n\t\tverbs=\"", tool);
	for (const struct vc_op *op = vc_ops; op->name; op++)
		if (op->verb != NULL && strcmp(op->tool, tool) == 0)
			fprintf(f, "%.*s ", first_word(op->verb), op->verb);
	fprintf(f, "\"\n\t\tcase \"$w1 $w2\" in\n");
	for (const struct vc_op *op = vc_ops; op->name; op++) {
		if (op->verb == NULL || strcmp(op->tool, tool) != 0)
			continue;
		fprintf(f, "\t\t\"%s\"*) opts=\"", op->verb);
		for (const struct vc_param *p = op->params; p && p->name; p++)
			if (is_option(p)) {
				opt_name(p->name, o, sizeof o);
				fprintf(f, "--%s ", o);
			}
		fprintf(f, "%s%s\" ;;\n", has_secret(op) ? "--password-stdin" : "",
		    (op->flags & VC_OP_TOTP) ? " --totp-stdin" : "");
	}
	fprintf(f, "\t\tesac\n\t\tif [ \"$COMP_CWORD\" -eq 2 ]; then\n");
	fprintf(f, "\t\t\tverbs=\"");
	for (const struct vc_op *op = vc_ops; op->name; op++) {
		const char *sp;
		if (!op->verb || strcmp(op->tool, tool) != 0 || (sp = strchr(op->verb, ' ')) == NULL)
			continue;
		fprintf(f, "$( [ \"$w1\" = %.*s ] && echo %s) ", (int)(sp - op->verb),
		    op->verb, sp + 1);
	}
	fprintf(f, "\"\n\t\tfi ;;\n");
}

static void
completions_bash(FILE *f, const char **tools)
{
	fprintf(f, "# bash completion for VelociCompanion (generated from the operation table)\n");
	fprintf(f, "_vc_complete() {\n\tlocal cur=${COMP_WORDS[COMP_CWORD]} verbs= opts=\n");
	fprintf(f, "\tlocal w1=${COMP_WORDS[1]} w2=${COMP_WORDS[2]}\n\tcase ${COMP_WORDS[0]##*/} in\n");
	for (int t = 0; tools[t]; t++)
		bash_tool(f, tools[t]);
	fprintf(f, "\tesac\n\tif [[ $cur == -* ]]; then\n");
	fprintf(f, "\t\tCOMPREPLY=($(compgen -W \"$opts --db --json-errors -o -h\" -- \"$cur\"))\n");
	fprintf(f, "\telif [ \"$COMP_CWORD\" -le 2 ]; then\n");
	fprintf(f, "\t\tCOMPREPLY=($(compgen -W \"$verbs\" -- \"$cur\"))\n\tfi\n}\n");
	for (int t = 0; tools[t]; t++)
		fprintf(f, "complete -F _vc_complete %s\n", tools[t]);
}

static void
completions_zsh(FILE *f, const char **tools)
{
	fprintf(f, "#compdef");
	for (int t = 0; tools[t]; t++)
		fprintf(f, " %s", tools[t]);
	fputc('\n', f);
	fprintf(f, "# zsh completion for VelociCompanion (generated from the operation table)\n");
	fprintf(f, "local -a verbs\ncase $service in\n");
	for (int t = 0; tools[t]; t++) {
		fprintf(f, "%s)\n\tverbs=(", tools[t]);
		for (const struct vc_op *op = vc_ops; op->name; op++)
			if (op->verb != NULL && strcmp(op->tool, tools[t]) == 0)
				fprintf(f, "'%s:%s' ", op->verb, op->summary);
		fprintf(f, ") ;;\n");
	}
	fprintf(f, "esac\nif (( CURRENT == 2 )); then\n\t_describe 'command' verbs\n");
	fprintf(f, "else\n\t_arguments '*:option:(--db --json-errors -o -h --password-stdin)'\nfi\n");
}

static void
completions_fish(FILE *f)
{
	char o[64];

	fprintf(f, "# fish completion for VelociCompanion (generated from the operation table)\n");
	for (const struct vc_op *op = vc_ops; op->name; op++) {
		const char *sp;
		int w;
		if (op->verb == NULL)
			continue;
		sp = strchr(op->verb, ' ');
		w = first_word(op->verb);
		fprintf(f, "complete -c %s -n '__fish_use_subcommand' -a '%.*s' -d '%s'\n",
		    op->tool, w, op->verb, sp ? "command group" : op->summary);
		if (sp)
			fprintf(f, "complete -c %s -n '__fish_seen_subcommand_from %.*s' -a '%s' -d '%s'\n",
			    op->tool, w, op->verb, sp + 1, op->summary);
		for (const struct vc_param *p = op->params; p && p->name; p++)
			if (is_option(p)) {
				opt_name(p->name, o, sizeof o);
				fprintf(f, "complete -c %s -n '__fish_seen_subcommand_from %.*s' -l %s -d '%s'\n",
				    op->tool, w, op->verb, o, p->help);
			}
	}
}

/* The completions of every tool that has CLI commands, for one shell.
 * Only commands with a verb are completed (not a tool's default). */
static void
completions(FILE *f, const char *shell)
{
	const char *tools[VC_OP_TOOLS_MAX];

	vc_op_tools(tools, VC_OP_TOOLS_MAX, 1);
	if (strcmp(shell, "bash") == 0)
		completions_bash(f, tools);
	else if (strcmp(shell, "zsh") == 0)
		completions_zsh(f, tools);
	else if (strcmp(shell, "fish") == 0)
		completions_fish(f);
}

/* ---- secrets ---------------------------------------------------------- */

/* Read one line (without its newline) of at most n - 1 bytes. */
static int
read_line(FILE *f, char *buf, size_t n)
{
	size_t len;

	if (fgets(buf, (int)n, f) == NULL)
		return -1;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (!feof(f))
		return -2;          /* longer than the buffer: never truncate */
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return 0;
}

static int
prompt(const char *text, char *buf, size_t n)
{
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	int rc;

	if (tty == NULL)
		return -1;
	fputs(text, tty);
	fflush(tty);
	tcgetattr(fileno(tty), &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	rc = read_line(tty, buf, n);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	return rc;
}

static int
read_secrets(struct cli *c, vc_ctx *ctx, const struct vc_op *op, jv *args)
{
	char buf[1024], again[1024], text[128];
	int rc = 0;

	for (const struct vc_param *p = op->params; p && p->name; p++) {
		int confirm;
		/* An HTTP-only secret (the 2FA code of a login) is read_totp's. */
		if (!(p->flags & VC_P_SECRET) || (p->flags & VC_P_HTTP))
			continue;
		if (!c->password_stdin && !(p->flags & VC_P_REQ))
			continue;
		if (c->password_stdin) {
			int r = read_line(stdin, buf, sizeof buf);
			if (r == -2)
				rc = vc_fail(ctx, VC_EINVAL, "stdin: password line too long");
			else if (r != 0)
				rc = vc_fail(ctx, VC_EUSAGE, "stdin: expected a line with the %s",
				    p->name[0] == 'n' ? "new password" :
				    p->name[0] == 'c' ? "current password" : "password");
		} else {
			confirm = strcmp(op->name, "auth.login") != 0 &&
			    strcmp(p->name, "current_password") != 0;
			snprintf(text, sizeof text, "%s: ", strcmp(p->name, "current_password") == 0 ?
			    "Current password" : confirm ? "New password" : "Password");
			if (prompt(text, buf, sizeof buf) != 0)
				rc = vc_fail(ctx, VC_EUSAGE,
				    "no terminal to ask for the password: use --password-stdin");
			else if (confirm && (prompt("Retype it: ", again, sizeof again) != 0 ||
			    strcmp(buf, again) != 0))
				rc = vc_fail(ctx, VC_EUSAGE, "the passwords do not match");
			sodium_memzero(again, sizeof again);
		}
		if (rc == 0)
			*args = jv_object_set(*args, jv_string(p->name), jv_string(buf));
		sodium_memzero(buf, sizeof buf);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * The 2FA code of a login (VC_OP_TOTP): with --totp-stdin the line after
 * the password; else, on a terminal, asked for when the account has 2FA.
 * The store says whether it has: this program reads the store file
 * itself, so whoever runs it learns nothing the file would not tell.
 */
static int
read_totp(struct cli *c, vc_ctx *ctx, const struct vc_op *op, jv *args)
{
	const char *user = vc_arg_str(*args, "username");
	char buf[64];
	int r;

	if (!(op->flags & VC_OP_TOTP))
		return 0;
	if (c->totp_stdin) {
		if ((r = read_line(stdin, buf, sizeof buf)) != 0) {
			sodium_memzero(buf, sizeof buf);
			return r == -2 ? vc_fail(ctx, VC_EINVAL, "stdin: 2FA code line too long") :
			    vc_fail(ctx, VC_EUSAGE, "stdin: expected the 2FA code on the line "
			    "after the password");
		}
	} else if (c->password_stdin || user == NULL || !vc_twofa_enabled(ctx, user))
		return 0;
	else if (prompt("2FA code (or a recovery code): ", buf, sizeof buf) != 0)
		return vc_fail(ctx, VC_EUSAGE, "no terminal to ask for the 2FA code: use --totp-stdin");
	*args = jv_object_set(*args, jv_string("totp_code"), jv_string(buf));
	sodium_memzero(buf, sizeof buf);
	return 0;
}

/* An option that names a file of any bytes (--attach FILE): the value
 * becomes {name, data}, its base name and its bytes in base64. */
static int
read_blob(vc_ctx *ctx, const struct vc_param *p, jv *args)
{
	const char *path = vc_arg_str(*args, p->name), *base;
	unsigned char *buf;
	char *b64;
	size_t n, bn;
	FILE *f;
	jv v = jv_object_get(jv_copy(*args), jv_string(p->name));

	if (jv_get_kind(v) != JV_KIND_STRING || path == NULL) {
		jv_free(v);
		return 0;       /* not given, or given as the object already */
	}
	jv_free(v);
	if ((f = fopen(path, "rb")) == NULL)
		return vc_fail(ctx, VC_ENOTFOUND, "--%s %s: %s", p->name, path, strerror(errno));
	if ((buf = malloc(VC_BLOB_MAX + 1)) == NULL) {
		fclose(f);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	n = fread(buf, 1, VC_BLOB_MAX + 1, f);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return vc_fail(ctx, VC_EINTERNAL, "--%s %s: %s", p->name, path, strerror(errno));
	}
	fclose(f);
	if (n > VC_BLOB_MAX) {
		free(buf);
		return vc_fail(ctx, VC_ETOOBIG, "--%s %s: larger than %d MiB, the most a file may be",
		    p->name, path, VC_BLOB_MAX / (1024 * 1024));
	}
	bn = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(bn)) == NULL) {
		free(buf);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	sodium_bin2base64(b64, bn, buf, n, sodium_base64_VARIANT_ORIGINAL);
	free(buf);
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	v = jv_object_set(jv_object(), jv_string("name"), jv_string(base));
	v = jv_object_set(v, jv_string("data"), jv_string(b64));
	free(b64);
	*args = jv_object_set(*args, jv_string(p->name), v);
	return 0;
}

/* Options that name a file (--api-config FILE): the file's text is the
 * value; "-" is standard input. */
static int
read_files(vc_ctx *ctx, const struct vc_op *op, jv *args)
{
	for (const struct vc_param *p = op->params; p && p->name; p++) {
		const char *path;
		char *buf;
		size_t n;
		FILE *f;
		int rc;

		if ((p->flags & VC_P_BLOB) && (rc = read_blob(ctx, p, args)) != 0)
			return rc;
		if (!(p->flags & VC_P_FILE) || (path = vc_arg_str(*args, p->name)) == NULL)
			continue;
		if (strcmp(path, "-") == 0)
			f = stdin;
		else if ((f = fopen(path, "r")) == NULL)
			return vc_fail(ctx, VC_ENOTFOUND, "%s: %s", path, strerror(errno));
		if ((buf = malloc(1024 * 1024 + 1)) == NULL) {
			if (f != stdin)
				fclose(f);
			return vc_fail(ctx, VC_EINTERNAL, "out of memory");
		}
		n = fread(buf, 1, 1024 * 1024 + 1, f);
		if (f != stdin)
			fclose(f);
		if (n > 1024 * 1024) {
			free(buf);
			return vc_fail(ctx, VC_ETOOBIG, "%s: larger than 1 MiB", path);
		}
		*args = jv_object_set(*args, jv_string(p->name), jv_string_sized(buf, (int)n));
		sodium_memzero(buf, n);     /* it may hold a private key */
		free(buf);
	}
	return 0;
}

/* ---- saved credentials ------------------------------------------------ */

static int
creds_path(char *buf, size_t n)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int len;

	if (x != NULL && *x == '/')
		len = snprintf(buf, n, "%s/velocicompanion/credentials", x);
	else if (home != NULL && *home == '/')
		len = snprintf(buf, n, "%s/.config/velocicompanion/credentials", home);
	else
		return -1;
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* The whole credentials file: { STORE_PATH: {access_token, refresh_token} }. */
static jv
creds_load(void)
{
	char path[PATH_MAX];
	jv all;

	if (creds_path(path, sizeof path) != 0)
		return jv_object();
	/* jv_load_file gives an array of every JSON text in the file. */
	all = jv_load_file(path, 0);
	if (jv_get_kind(all) == JV_KIND_ARRAY && jv_array_length(jv_copy(all)) == 1)
		all = jv_array_get(all, 0);
	if (jv_get_kind(all) != JV_KIND_OBJECT) {
		jv_free(all);
		return jv_object();
	}
	return all;
}

static int
creds_save(vc_ctx *ctx, jv all)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32], *slash;
	jv s;
	int fd, rc = 0;
	size_t len;

	if (creds_path(path, sizeof path) != 0) {
		jv_free(all);
		return vc_fail(ctx, VC_ECONFIG, "cannot save credentials: set HOME or XDG_CONFIG_HOME");
	}
	snprintf(tmp, sizeof tmp, "%s", path);
	slash = strrchr(tmp, '/');
	*slash = '\0';
	/* Two levels at most: .../velocicompanion under the config dir. */
	{
		char *up = strrchr(tmp, '/');
		if (up != NULL && up != tmp) {
			*up = '\0';
			mkdir(tmp, 0700);
			*up = '/';
		}
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
		jv_free(all);
		return vc_fail(ctx, VC_ECONFIG, "cannot create %s: %s", tmp, strerror(errno));
	}
	snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		jv_free(all);
		return vc_fail(ctx, VC_ECONFIG, "cannot write %s: %s", tmp, strerror(errno));
	}
	s = jv_dump_string(all, 0);
	len = (size_t)jv_string_length_bytes(jv_copy(s));
	if (write(fd, jv_string_value(s), len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0)
		rc = vc_fail(ctx, VC_ECONFIG, "cannot write %s: %s", tmp, strerror(errno));
	jv_free(s);
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = vc_fail(ctx, VC_ECONFIG, "cannot replace %s: %s", path, strerror(errno));
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static jv
creds_get(struct cli *c)
{
	jv all = creds_load();
	jv mine = jv_object_get(all, jv_string(c->store_key));

	if (jv_get_kind(mine) != JV_KIND_OBJECT) {
		jv_free(mine);
		return jv_invalid();
	}
	return mine;
}

static int
creds_put(struct cli *c, vc_ctx *ctx, jv mine)
{
	jv all = creds_load();

	if (jv_is_valid(mine))
		all = jv_object_set(all, jv_string(c->store_key), mine);
	else {
		jv_free(mine);
		all = jv_object_delete(all, jv_string(c->store_key));
	}
	return creds_save(ctx, all);
}

/* Keep the tokens of a login or refresh result; remove them from out. */
static int
keep_tokens(struct cli *c, vc_ctx *ctx, jv *out)
{
	jv mine = JV_OBJECT(
	    jv_string("access_token"), jv_object_get(jv_copy(*out), jv_string("access_token")),
	    jv_string("refresh_token"), jv_object_get(jv_copy(*out), jv_string("refresh_token")));

	*out = jv_object_delete(*out, jv_string("access_token"));
	*out = jv_object_delete(*out, jv_string("refresh_token"));
	*out = jv_object_delete(*out, jv_string("token_type"));
	*out = jv_object_delete(*out, jv_string("expires_in"));
	return creds_put(c, ctx, mine);
}

/* An exclusive lock beside the credentials file: -1 when there is none. */
static int
creds_lock(void)
{
	char path[PATH_MAX + 8];
	int fd;

	if (creds_path(path, PATH_MAX) != 0)
		return -1;
	strncat(path, ".lock", sizeof path - strlen(path) - 1);
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (flock(fd, LOCK_EX) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
try_saved_access(struct cli *c, vc_ctx *ctx)
{
	jv mine = creds_get(c), tok;
	int rc = -1;

	if (!jv_is_valid(mine))
		return -1;
	tok = jv_object_get(mine, jv_string("access_token"));
	if (jv_get_kind(tok) == JV_KIND_STRING && vc_authenticate(ctx, jv_string_value(tok)) == 0)
		rc = 0;
	jv_free(tok);
	return rc;
}

/*
 * Authenticate: $VC_TOKEN, else the saved access token, refreshed with
 * the saved refresh token when it has expired.  Refreshing holds a lock:
 * two commands started together must not both spend the same refresh
 * token, which the store would take for a stolen one.
 */
static int
authenticate(struct cli *c, vc_ctx *ctx)
{
	const char *env = getenv("VC_TOKEN");
	jv mine, tok, args, out;
	const struct vc_op *refresh = vc_op_by_name("auth.refresh");
	int rc, lock;

	if (env != NULL && *env != '\0') {
		if (vc_authenticate(ctx, env) == 0)
			return 0;
		return vc_fail(ctx, VC_EAUTH, "VC_TOKEN is not valid for store %s (expired, revoked or another store's)",
		    c->store_key);
	}
	mine = creds_get(c);
	if (!jv_is_valid(mine))
		return vc_fail(ctx, VC_EAUTH, "not logged in to store %s: run 'vc-auth login USER' or set VC_TOKEN",
		    c->store_key);
	jv_free(mine);
	if (try_saved_access(c, ctx) == 0)
		return 0;
	lock = creds_lock();
	/* Someone may have refreshed while we waited for the lock. */
	if (try_saved_access(c, ctx) == 0) {
		if (lock >= 0)
			close(lock);
		return 0;
	}
	mine = creds_get(c);
	tok = jv_is_valid(mine) ? jv_object_get(mine, jv_string("refresh_token")) :
	    (jv_free(mine), jv_invalid());
	if (jv_get_kind(tok) != JV_KIND_STRING) {
		jv_free(tok);
		if (lock >= 0)
			close(lock);
		return vc_fail(ctx, VC_EAUTH, "session expired: run 'vc-auth login USER'");
	}
	args = JV_OBJECT(jv_string("refresh_token"), tok);
	memset(&ctx->who, 0, sizeof ctx->who);
	rc = vc_op_call(ctx, refresh, args, &out);
	if (rc != 0) {
		jv_free(out);
		/* Forget the session only when the store refused it; a busy
		 * store or a bad key file is not the session's fault. */
		if (rc == VC_EAUTH) {
			creds_put(c, ctx, jv_invalid());
			rc = vc_fail(ctx, VC_EAUTH, "session expired or revoked: run 'vc-auth login USER'");
		}
		if (lock >= 0)
			close(lock);
		return rc;
	}
	tok = jv_object_get(jv_copy(out), jv_string("access_token"));
	if ((rc = keep_tokens(c, ctx, &out)) == 0)
		rc = vc_authenticate(ctx, jv_string_value(tok));
	if (lock >= 0)
		close(lock);
	jv_free(tok);
	jv_free(out);
	return rc;
}

/* ---- output ----------------------------------------------------------- */

static void
cell(jv v, char *buf, size_t n)
{
	jv s;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		snprintf(buf, n, "%s", jv_string_value(v));
		jv_free(v);
		return;
	case JV_KIND_NULL:
	case JV_KIND_INVALID:   /* a column this row lacks (forward's error) */
		snprintf(buf, n, "-");
		jv_free(v);
		return;
	default:
		s = jv_dump_string(v, 0);
		snprintf(buf, n, "%s", jv_string_value(s));
		jv_free(s);
	}
}

static void
print_table(FILE *f, jv rows, const char *columns)
{
	jv keys, first;
	int nk, nr = jv_array_length(jv_copy(rows));
	int *w;
	char buf[80];

	if (nr == 0) {
		jv_free(rows);
		return;
	}
	first = jv_array_get(jv_copy(rows), 0);
	if (jv_get_kind(first) != JV_KIND_OBJECT) {
		jv_free(first);
		jv_array_foreach(rows, i, v) {
			cell(v, buf, sizeof buf);
			fprintf(f, "%s\n", buf);
		}
		jv_free(rows);
		return;
	}
	if (columns != NULL) {
		jv_free(first);
		keys = jv_string_split(jv_string(columns), jv_string(","));
	} else
		keys = jv_keys_unsorted(first);
	nk = jv_array_length(jv_copy(keys));
	w = calloc((size_t)nk, sizeof *w);
	if (w == NULL) {
		jv_free(keys);
		jv_free(rows);
		return;
	}
	for (int k = 0; k < nk; k++) {
		jv key = jv_array_get(jv_copy(keys), k);
		w[k] = jv_string_length_bytes(key);
		for (int r = 0; r < nr; r++) {
			jv row = jv_array_get(jv_copy(rows), r);
			cell(jv_object_get(row, jv_array_get(jv_copy(keys), k)), buf, sizeof buf);
			if ((int)strlen(buf) > w[k])
				w[k] = (int)strlen(buf);
		}
	}
	for (int k = 0; k < nk; k++) {
		jv key = jv_array_get(jv_copy(keys), k);
		fprintf(f, "%-*s%s", w[k], jv_string_value(key), k + 1 < nk ? "  " : "\n");
		jv_free(key);
	}
	for (int r = 0; r < nr; r++) {
		for (int k = 0; k < nk; k++) {
			jv row = jv_array_get(jv_copy(rows), r);
			cell(jv_object_get(row, jv_array_get(jv_copy(keys), k)), buf, sizeof buf);
			fprintf(f, "%-*s%s", w[k], buf, k + 1 < nk ? "  " : "\n");
		}
	}
	free(w);
	jv_free(keys);
	jv_free(rows);
}

static void
print_out(struct cli *c, FILE *f, jv out, const char *columns)
{
	jv items;
	int mode = c->out;

	if (mode == OUT_AUTO)
		mode = isatty(fileno(f)) ? OUT_TABLE : OUT_JSONL;
	if (mode == OUT_JSON) {
		jv_dumpf(out, f, JV_PRINT_PRETTY | JV_PRINT_SPACE1);
		fputc('\n', f);
		return;
	}
	items = jv_get_kind(out) == JV_KIND_OBJECT ?
	    jv_object_get(jv_copy(out), jv_string("items")) : jv_invalid();
	if (jv_get_kind(out) == JV_KIND_ARRAY) {
		jv_free(items);
		items = out;
	} else if (jv_get_kind(items) == JV_KIND_ARRAY) {
		jv_free(out);
	} else {
		jv_free(items);
		items = JV_ARRAY(out);
		if (mode == OUT_TABLE) {
			/* One record: "key  value" lines read better than a wide row. */
			jv o = jv_array_get(items, 0);
			char buf[4096];
			jv_object_foreach(o, k, v) {
				cell(v, buf, sizeof buf);
				fprintf(f, "%-20s %s\n", jv_string_value(k), buf);
				jv_free(k);
			}
			jv_free(o);
			return;
		}
	}
	if (mode == OUT_TABLE) {
		print_table(f, items, columns);
		return;
	}
	jv_array_foreach(items, i, v) {
		jv_dumpf(v, f, 0);
		fputc('\n', f);
	}
	jv_free(items);
}

/* ---- streaming -------------------------------------------------------- */

static int
emit_line(vc_ctx *ctx, jv rec, void *arg)
{
	struct cli *c = arg;

	jv_dumpf(rec, stdout, 0);
	putchar('\n');
	if (c->flush)
		fflush(stdout);
	return ferror(stdout) ? -1 : 0;
}

static int
emit_text(vc_ctx *ctx, const char *json, size_t n, void *arg)
{
	fwrite(json, 1, n, stdout);
	putchar('\n');
	return ferror(stdout) ? -1 : 0;
}

/* Lines for the system log (audit anchors): LOG_AUTH, LOG_INFO. */
static void
notice(vc_ctx *ctx, const char *line, void *arg)
{
	struct cli *c = arg;

	(void)ctx;
	openlog(c->tool, LOG_PID, LOG_AUTH);
	syslog(LOG_AUTH | LOG_INFO, "%s", line);
	closelog();
}

/* On a terminal the progress line is rewritten in place; elsewhere
 * (--progress into a pipe or a file) each report is a line. */
static void
progress(vc_ctx *ctx, const char *msg, void *arg)
{
	struct cli *c = arg;

	if (c->progress_tty)
		fprintf(stderr, "\r\033[K%s: %.200s", c->tool, msg);
	else
		fprintf(stderr, "%s: %.200s\n", c->tool, msg);
	fflush(stderr);
}

static void
report_bad(vc_ctx *ctx, const char *msg, void *arg)
{
	struct cli *c = arg;

	if (c->json_errors) {
		jv e = JV_OBJECT(jv_string("error"), jv_string("invalid"), jv_string("message"),
		    jv_string(msg));
		jv_dumpf(e, stderr, 0);
		fputc('\n', stderr);
	} else
		fprintf(stderr, "%s: %s\n", c->tool, msg);
}

/* ---- argv ------------------------------------------------------------- */

static const struct vc_param *
find_opt(const struct vc_op *op, const char *name)
{
	char o[64];

	for (const struct vc_param *p = op->params; p && p->name; p++) {
		if (!is_option(p))
			continue;
		opt_name(p->name, o, sizeof o);
		if (strcmp(o, name) == 0)
			return p;
	}
	return NULL;
}

/* argv[i] is -o followed by a file rather than an output format. */
static int
out_file(int argc, char **argv, int i)
{
	const char *v = i + 1 < argc ? argv[i + 1] : NULL;

	return strcmp(argv[i], "-o") == 0 && v != NULL && strcmp(v, "jsonl") != 0 &&
	    strcmp(v, "json") != 0 && strcmp(v, "table") != 0;
}

/* Global options may stand anywhere; returns 1 when argv[*i] was one. */
static int
global_opt(struct cli *c, vc_ctx *ctx, int argc, char **argv, int *i, int *rc)
{
	const char *a = argv[*i];

	if (strcmp(a, "--db") == 0 || strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
		const char *v;
		if (*i + 1 >= argc) {
			*rc = vc_fail(ctx, VC_EUSAGE, "%s needs a value", a);
			return 1;
		}
		v = argv[++*i];
		if (a[2] == 'd')
			c->db = v;
		else if (strcmp(v, "jsonl") == 0)
			c->out = OUT_JSONL;
		else if (strcmp(v, "json") == 0)
			c->out = OUT_JSON;
		else if (strcmp(v, "table") == 0)
			c->out = OUT_TABLE;
		else
			*rc = vc_fail(ctx, VC_EUSAGE, "-o takes jsonl, json or table");
		return 1;
	}
	if (strncmp(a, "--db=", 5) == 0) {
		c->db = a + 5;
		return 1;
	}
	if (strcmp(a, "--json-errors") == 0) {
		c->json_errors = 1;
		return 1;
	}
	return 0;
}

static int
parse_args(struct cli *c, vc_ctx *ctx, const struct vc_op *op, int argc, char **argv, jv *args)
{
	const struct vc_param *pos = op->params;
	/* Messages begin with the command; the default command has no verb. */
	const char *verb = op->verb ? op->verb : "";
	int rc = 0;

	for (int i = 0; i < argc && rc == 0; i++) {
		const char *a = argv[i];
		/* A command that writes a file (vc-report generate) takes it
		 * as -o FILE; its record's format is then --output only. */
		if (out_file(argc, argv, i) && find_opt(op, "out") != NULL) {
			if (i + 1 >= argc)
				return vc_fail(ctx, VC_EUSAGE, "%s: -o needs a file", verb);
			*args = jv_object_set(*args, jv_string("out"), jv_string(argv[++i]));
			continue;
		}
		if (global_opt(c, ctx, argc, argv, &i, &rc))
			continue;
		if (strcmp(a, "--password-stdin") == 0 && has_secret(op)) {
			c->password_stdin = 1;
			continue;
		}
		if (strcmp(a, "--totp-stdin") == 0 && (op->flags & VC_OP_TOTP)) {
			c->password_stdin = c->totp_stdin = 1;
			continue;
		}
		if (strncmp(a, "--", 2) == 0 && a[2] != '\0') {
			char name[64];
			const char *eq = strchr(a, '=');
			const struct vc_param *p;
			snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a - 2) : (int)strlen(a + 2), a + 2);
			if ((p = find_opt(op, name)) == NULL)
				return vc_fail(ctx, VC_EUSAGE, "%s: unknown option --%s", verb, name);
			if (p->type == VC_T_BOOL && eq == NULL) {
				*args = jv_object_set(*args, jv_string(p->name), jv_true());
				continue;
			}
			if (eq == NULL && i + 1 >= argc)
				return vc_fail(ctx, VC_EUSAGE, "%s: --%s needs a value", verb, name);
			if (p->flags & VC_P_MULTI) {
				jv cur = jv_object_get(jv_copy(*args), jv_string(p->name));
				if (jv_get_kind(cur) != JV_KIND_ARRAY) {
					jv_free(cur);
					cur = jv_array();
				}
				cur = jv_array_append(cur, jv_string(eq ? eq + 1 : argv[++i]));
				*args = jv_object_set(*args, jv_string(p->name), cur);
				continue;
			}
			*args = jv_object_set(*args, jv_string(p->name), jv_string(eq ? eq + 1 : argv[++i]));
			continue;
		}
		if (strcmp(a, "--") == 0) {
			/* Everything after -- is an operand, even "-x". */
			while (++i < argc) {
				while (pos && pos->name && !(pos->flags & VC_P_POS))
					pos++;
				if (pos == NULL || pos->name == NULL)
					return vc_fail(ctx, VC_EUSAGE, "%s: unexpected argument '%.64s'",
					    verb, argv[i]);
				*args = jv_object_set(*args, jv_string(pos->name), jv_string(argv[i]));
				pos++;
			}
			break;
		}
		if (a[0] == '-' && a[1] != '\0')
			return vc_fail(ctx, VC_EUSAGE, "%s: unknown option %s", verb, a);
		while (pos && pos->name && !(pos->flags & VC_P_POS))
			pos++;
		if (pos == NULL || pos->name == NULL)
			return vc_fail(ctx, VC_EUSAGE, "%s: unexpected argument '%.64s'", verb, a);
		*args = jv_object_set(*args, jv_string(pos->name), jv_string(a));
		pos++;
	}
	return rc;
}

/* ---- the steps of a run ------------------------------------------------- */

/* stdout is all a help or version run writes: its failure is the run's. */
static int
close_stdout(void)
{
	return fclose(stdout) == 0 ? 0 : VC_EXIT_SOFTWARE;
}

/*
 * The words before the first option name the command (two at most);
 * global options may stand before and among them.  -h, --version and
 * --completions are answered here: returns the exit status then, else -1
 * with *next the index of the first argument not taken (*rc: a bad
 * global option).
 */
static int
scan_front(struct cli *c, vc_ctx *ctx, int argc, char **argv, char **words, int *nwords,
    int *next, int *rc)
{
	const struct vc_op *op;
	int i, used;

	for (i = 1; i < argc && *rc == 0; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			if (*nwords > 0 && (op = vc_op_by_verb(c->tool, *nwords, words, &used)) != NULL)
				op_help(stdout, op);
			else
				usage(stdout, c->tool);
			return close_stdout();
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", c->tool, VC_VERSION);
			return close_stdout();
		}
		if (strcmp(argv[i], "--completions") == 0 && i + 1 < argc) {
			completions(stdout, argv[i + 1]);
			return close_stdout();
		}
		if (*nwords < 2 && argv[i][0] != '-') {
			words[(*nwords)++] = argv[i];
			continue;
		}
		/* After the command's words, -o FILE (not a format) is the
		 * command's to read (vc-report generate ... -o FILE). */
		if (!(*nwords > 0 && out_file(argc, argv, i)) && global_opt(c, ctx, argc, argv, &i, rc))
			continue;
		break;
	}
	*next = i;
	return -1;
}

/* The command the words name (the tool's default when none does), or
 * NULL after the usage on stderr. */
static const struct vc_op *
find_command(const char *tool, char **words, int nwords, int *used)
{
	const struct vc_op *op = vc_op_by_verb(tool, nwords, words, used);

	if (op == NULL) {
		if (nwords > 0)
			fprintf(stderr, "%s: unknown command '%s%s%s'\n", tool, words[0],
			    nwords > 1 ? " " : "", nwords > 1 ? words[1] : "");
		usage(stderr, tool);
	}
	return op;
}

/*
 * argv: the command in *op, its arguments in *args.  Returns the exit
 * status when the run ends here (help, version, completions, an unknown
 * command), else -1 with *rc 0 or the usage error to report (*op may be
 * NULL then).
 */
static int
command_line(struct cli *c, vc_ctx *ctx, int argc, char **argv, const struct vc_op **op,
    jv *args, int *rc)
{
	char **v;   /* the command's words, then the rest of argv */
	int nwords = 0, used = 0, next = argc, status;

	if ((v = calloc((size_t)argc + 1, sizeof *v)) == NULL)
		return VC_EXIT_SOFTWARE;
	status = scan_front(c, ctx, argc, argv, v, &nwords, &next, rc);
	if (status < 0 && *rc == 0) {
		if ((*op = find_command(c->tool, v, nwords, &used)) == NULL)
			status = VC_EXIT_USAGE;
		else {
			int n = nwords;
			for (int a = next; a < argc; a++)
				v[n++] = argv[a];
			/* The words after the verb are arguments too. */
			*rc = parse_args(c, ctx, *op, n - used, v + used, args);
		}
	}
	free(v);
	return status;
}

static int
open_store(struct cli *c, vc_ctx *ctx, const struct vc_op *op, jv args)
{
	char *real;
	int rc;

	/* An option may name the store instead of --db (store copy --from). */
	for (const struct vc_param *p = op->params; p && p->name; p++)
		if ((p->flags & VC_P_STORE) && vc_arg_str(args, p->name) != NULL)
			c->db = vc_arg_str(args, p->name);
	rc = vc_store_open(ctx, c->db, (op->flags & VC_OP_NOSTORE) ? VC_STORE_CREATE : 0);

	if (rc != 0)
		return rc;
	/* The saved credentials are the store's: keyed by its real path. */
	real = realpath(ctx->store->path, NULL);
	snprintf(c->store_key, sizeof c->store_key, "%s", real ? real : ctx->store->path);
	free(real);
	snprintf(ctx->user_agent, sizeof ctx->user_agent, "%s/%s uid=%ld", c->tool, VC_VERSION,
	    (long)getuid());
	snprintf(ctx->ip, sizeof ctx->ip, "local");
	return 0;
}

/* Parameters that come from the saved session (refresh, logout). */
static int
creds_args(struct cli *c, vc_ctx *ctx, const struct vc_op *op, jv *args)
{
	for (const struct vc_param *p = op->params; p && p->name; p++) {
		jv mine, t;
		if (!(p->flags & VC_P_CREDS) || vc_arg_has(*args, p->name))
			continue;
		mine = creds_get(c);
		t = jv_is_valid(mine) ? jv_object_get(mine, jv_string(p->name)) :
		    (jv_free(mine), jv_invalid());
		if (jv_get_kind(t) == JV_KIND_STRING)
			*args = jv_object_set(*args, jv_string(p->name), t);
		else {
			jv_free(t);
			if (p->flags & VC_P_REQ)
				return vc_fail(ctx, VC_EAUTH, "not logged in to store %s", c->store_key);
		}
	}
	return 0;
}

/* What argv does not hold: files' text, secrets, the store, the session. */
static int
complete_args(struct cli *c, vc_ctx *ctx, const struct vc_op *op, jv *args)
{
	int rc;

	if ((rc = read_files(ctx, op, args)) != 0 || (rc = read_secrets(c, ctx, op, args)) != 0 ||
	    (rc = open_store(c, ctx, op, *args)) != 0 || (rc = read_totp(c, ctx, op, args)) != 0)
		return rc;
	return creds_args(c, ctx, op, args);
}

/* An op that reads JSONL reads the FILE operand, or stdin. */
static int
open_input(vc_ctx *ctx, struct vc_jsonl *input, jv *args)
{
	int rc = vc_jsonl_open(ctx, input, vc_arg_str(*args, "file"));

	*args = jv_object_delete(*args, jv_string("file"));
	if (rc == 0)
		ctx->in = input;
	return rc;
}

/*
 * Bad lines and progress go to stderr; records go to stdout one line each
 * as they come when the output is JSONL (asked for, or not a terminal),
 * else they are collected and printed at the end.  Set after
 * authentication: a refresh's tokens must not be streamed out.
 */
static volatile sig_atomic_t stop_flag;

static void
on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/*
 * A command that runs until interrupted (--follow) streams every record
 * as it comes, whatever the output, and ends cleanly on SIGINT or
 * SIGTERM: the handler only raises ctx->stop (no SA_RESTART, so a sleep
 * is cut short).
 */
static void
set_follow(struct cli *c, vc_ctx *ctx)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ctx->stop = &stop_flag;
	c->flush = 1;
	c->out = OUT_JSONL;
}

static void
set_streams(struct cli *c, vc_ctx *ctx, jv args)
{
	if (jv_is_valid(args) && vc_arg_bool(args, "follow"))
		set_follow(c, ctx);
	ctx->report = report_bad;
	ctx->notice = notice;
	ctx->notice_arg = c;
	c->progress_tty = isatty(STDERR_FILENO);
	if (c->progress_tty || c->progress)
		ctx->progress = progress;
	ctx->stream_arg = c;
	if (c->out == OUT_JSONL || (c->out == OUT_AUTO && !isatty(STDOUT_FILENO))) {
		ctx->emit = emit_line;
		ctx->emit_raw = emit_text;
	}
}

/* After a login or refresh keep the tokens; after a logout forget them. */
static int
keep_session(struct cli *c, vc_ctx *ctx, const struct vc_op *op, int rc, jv *out)
{
	if (rc == 0 && (op->flags & VC_OP_LOGIN))
		rc = keep_tokens(c, ctx, out);
	if (rc == 0 && (op->flags & VC_OP_LOGOUT))
		creds_put(c, ctx, jv_invalid());
	return rc;
}

/*
 * A new 2FA secret's QR code (the answer has its "qr_code_uri"): into
 * the file --qr names, else drawn on the terminal before the record.
 */
static int
show_qr(vc_ctx *ctx, const char *path, jv out)
{
	jv uri = jv_get_kind(out) == JV_KIND_OBJECT ?
	    jv_object_get(jv_copy(out), jv_string("qr_code_uri")) : jv_invalid();
	char *art;
	int rc = 0;

	if (jv_get_kind(uri) != JV_KIND_STRING)
		;
	else if (path != NULL)
		rc = vc_qr_write(ctx, jv_string_value(uri), path);
	else if (isatty(STDOUT_FILENO) && (art = vc_qr_utf8(jv_string_value(uri))) != NULL) {
		fputs(art, stdout);
		free(art);
	}
	jv_free(uri);
	return rc;
}

/*
 * Print the result (a failed op may still have one: what it did before
 * it failed), then the error; returns the exit status.  op is NULL when
 * the command line was wrong.
 */
static int
print_results(struct cli *c, vc_ctx *ctx, const struct vc_op *op, int rc, jv out)
{
	int status;

	if (jv_is_valid(out))
		print_out(c, stdout, out, op->columns);
	else
		jv_free(out);
	if (ctx->progress != NULL && c->progress_tty)
		fputs("\r\033[K", stderr);    /* clear the progress line */
	if (rc != 0)
		err_out(c, ctx, rc);
	status = vc_err_exit(rc);
	/* Good records were kept, but the input had bad lines: say so. */
	if (rc == 0 && ctx->bad_count > 0) {
		if (op->flags & VC_OP_INPUT)
			fprintf(stderr, "%s: %ld bad input line%s skipped\n", c->tool, ctx->bad_count,
			    ctx->bad_count == 1 ? "" : "s");
		else
			fprintf(stderr, "%s: %ld problem%s reported above\n", c->tool, ctx->bad_count,
			    ctx->bad_count == 1 ? "" : "s");
		status = VC_EXIT_DATAERR;
	}
	return status;
}

/*
 * A list that answers a bare array (vc-auth audit list) pages by the id
 * of its last record: a full page (as many as the limit) may have a
 * next one, which starts after that id.  Without --limit such a list
 * shows ARRAY_PAGE records, so that a full page can be told from a
 * complete answer.
 */
#define ARRAY_PAGE 100

static jv
array_cursor(jv res, jv args)
{
	jv limit = jv_object_get(jv_copy(args), jv_string("limit")), last, id;
	int n = jv_get_kind(res) == JV_KIND_ARRAY ? jv_array_length(jv_copy(res)) : 0;
	double page = ARRAY_PAGE;

	/* The CLI's own arguments are text until the operation checks them. */
	if (jv_get_kind(limit) == JV_KIND_NUMBER)
		page = jv_number_value(limit);
	else if (jv_get_kind(limit) == JV_KIND_STRING)
		page = strtod(jv_string_value(limit), NULL);
	jv_free(limit);
	if (n == 0 || n < page)
		return jv_invalid();
	last = jv_array_get(jv_copy(res), n - 1);
	id = jv_object_get(last, jv_string("id"));
	if (jv_get_kind(id) == JV_KIND_NUMBER)
		return jv_string_fmt("%.0f", jv_number_value(id));
	if (jv_get_kind(id) == JV_KIND_STRING)
		return id;
	jv_free(id);
	return jv_invalid();
}

/*
 * A page that is not the whole answer says so on stderr (the exit status
 * stays what it is): a script that reads a pipe can tell.
 */
static void
partial_notice(struct cli *c, jv out, jv args)
{
	jv cur, items, total, exact;

	if (jv_get_kind(out) == JV_KIND_ARRAY) {
		cur = array_cursor(out, args);
		if (jv_get_kind(cur) == JV_KIND_STRING)
			fprintf(stderr, "%s: shown %d, there may be more; use --all for every match,"
			    " or --after %s for the next page\n", c->tool,
			    jv_array_length(jv_copy(out)), jv_string_value(cur));
		jv_free(cur);
		return;
	}
	if (jv_get_kind(out) != JV_KIND_OBJECT)
		return;
	cur = jv_object_get(jv_copy(out), jv_string("next_cursor"));
	items = jv_object_get(jv_copy(out), jv_string("items"));
	total = jv_object_get(jv_copy(out), jv_string("total"));
	exact = jv_object_get(jv_copy(out), jv_string("total_exact"));
	if (jv_get_kind(cur) == JV_KIND_STRING && jv_get_kind(items) == JV_KIND_ARRAY &&
	    jv_get_kind(total) == JV_KIND_NUMBER)
		fprintf(stderr, "%s: shown %d of %.0f%s; use --all for every match, or --after %s"
		    " for the next page\n", c->tool, jv_array_length(jv_copy(items)),
		    jv_number_value(total), jv_get_kind(exact) == JV_KIND_FALSE ? " (or more)" : "",
		    jv_string_value(cur));
	jv_free(cur);
	jv_free(items);
	jv_free(total);
	jv_free(exact);
}

/* Is op a list paged by cursor (it takes --after)? */
static int
op_pages(const struct vc_op *op)
{
	for (const struct vc_param *p = op->params; p != NULL && p->name != NULL; p++)
		if (strcmp(p->name, "after") == 0)
			return 1;
	return 0;
}

/*
 * --all: call the list page after page (keyset paging by next_cursor,
 * 1000 a page unless --limit says otherwise) and print each page as it
 * comes, so memory stays flat however many match.  Consumes args.
 */
static int
call_all(struct cli *c, vc_ctx *ctx, const struct vc_op *op, jv args, jv *out)
{
	jv cur = jv_invalid();
	int rc;

	if (!vc_arg_has(args, "limit"))
		args = jv_object_set(args, jv_string("limit"), jv_number(1000));
	for (;;) {
		jv a = jv_copy(args), res = jv_invalid(), items;
		if (jv_is_valid(cur))
			a = jv_object_set(jv_object_delete(a, jv_string("offset")), jv_string("after"), cur);
		if ((rc = vc_op_call(ctx, op, a, &res)) != 0) {
			*out = res;
			break;
		}
		cur = jv_get_kind(res) == JV_KIND_OBJECT ?
		    jv_object_get(jv_copy(res), jv_string("next_cursor")) : array_cursor(res, args);
		items = jv_get_kind(res) == JV_KIND_OBJECT ?
		    jv_object_get(res, jv_string("items")) : res;
		if (jv_get_kind(items) == JV_KIND_ARRAY && jv_array_length(jv_copy(items)) > 0)
			print_out(c, stdout, items, op->columns);
		else
			jv_free(items);
		if (jv_get_kind(cur) != JV_KIND_STRING || ferror(stdout)) {
			jv_free(cur);
			break;
		}
	}
	jv_free(args);
	return rc;
}

/* A full disk or a closed pipe must not pass silently. */
static int
flush_stdout(const char *tool, int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, "%s: stdout: %s\n", tool, strerror(errno));
		if (status == 0)
			status = VC_EXIT_SOFTWARE;
	}
	return status;
}

/*
 * Mail the operation queued, after the answer is out: a reset request
 * answers alike whether or not it queued anything, and waits on no
 * relay.  Quiet: what fails stays queued for `mail flush` or vc-serve,
 * and is audited.
 */
static void
deliver_queued(vc_ctx *ctx)
{
	struct vc_outbox_stats st;

	memset(&ctx->who, 0, sizeof ctx->who);
	ctx->who.actor = VC_ACTOR_SYSTEM;
	vc_outbox_deliver(ctx, 0, &st);
}

int
vc_cli_main(const char *tool, int argc, char **argv)
{
	struct cli c = { .tool = tool, .out = OUT_AUTO };
	vc_ctx ctx;
	const struct vc_op *op = NULL;
	struct vc_jsonl input;
	jv args = jv_object(), out = jv_invalid();
	char *qr = NULL;            /* 2fa setup --qr FILE */
	int rc = 0, status;

	/* A caller's jq program runs in this same executable, started again
	 * (json/jqprog.h). */
	if (argc == 2 && strcmp(argv[1], VC_JQ_CHILD_ARG) == 0) {
		jv_free(args);
		return vc_jq_child_main();
	}
	vc_ctx_init(&ctx);
	if ((status = command_line(&c, &ctx, argc, argv, &op, &args, &rc)) >= 0) {
		jv_free(args);
		vc_ctx_release(&ctx);
		return status;
	}
	if (rc == 0)
		rc = complete_args(&c, &ctx, op, &args);
	if (rc == 0 && !(op->flags & VC_OP_PUBLIC))
		rc = authenticate(&c, &ctx);
	if (rc == 0 && (op->flags & VC_OP_INPUT))
		rc = open_input(&ctx, &input, &args);
	if (op != NULL) {
		/* CLI-only switches: the operation never sees them.  --all
		 * pages only a keyset list (one with --after); elsewhere
		 * (mail flush --all, read --all) it is the operation's own. */
		c.progress = vc_arg_bool(args, "progress");
		args = jv_object_delete(args, jv_string("progress"));
		if (op_pages(op)) {
			c.all = vc_arg_bool(args, "all");
			args = jv_object_delete(args, jv_string("all"));
		}
	}
	set_streams(&c, &ctx, args);
	if (rc == 0 && vc_arg_str(args, "qr") != NULL && (qr = strdup(vc_arg_str(args, "qr"))) == NULL)
		rc = vc_fail(&ctx, VC_EINTERNAL, "out of memory");
	if (rc == 0 && c.all) {
		rc = call_all(&c, &ctx, op, args, &out);
		args = jv_invalid();
	} else if (rc == 0) {
		jv paged = op_pages(op) ? jv_copy(args) : jv_invalid();
		rc = vc_op_call(&ctx, op, args, &out);
		args = jv_invalid();
		if (rc == 0 && jv_is_valid(paged))
			partial_notice(&c, out, paged);
		jv_free(paged);
	}
	jv_free(args);
	rc = keep_session(&c, &ctx, op, rc, &out);
	if (rc == 0)
		rc = show_qr(&ctx, qr, out);
	free(qr);
	status = print_results(&c, &ctx, op, rc, out);
	if (ctx.in != NULL)
		vc_jsonl_release(&input);
	status = flush_stdout(tool, status);
	if (rc == 0 && ctx.outbox_queued)
		deliver_queued(&ctx);
	vc_ctx_release(&ctx);
	return status;
}
