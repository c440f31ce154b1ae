/* SPDX-License-Identifier: MIT */
/*
 * ops.h - the operation table: every user-visible action, once, with its
 * CLI verb, its HTTP route, the least role allowed and its handler.  The
 * vc-* binaries dispatch through it, vc-serve routes through it, and the
 * OpenAPI document, the completions and the role tests are made from it.
 * table.c holds the table (data only), dispatch.c finds and runs an
 * operation, openapi.c describes the service.
 *
 * A handler is   int fn(vc_ctx *ctx, jv args, jv *out)
 * args is an object (borrowed: the handler must not free it); *out gets a
 * new value the caller owns: an object (one record) or an array (a list:
 * one JSONL line per element).  Handlers run with the principal already
 * authenticated and the role already checked; write operations run inside
 * a transaction the dispatcher opens, commits and audits.
 *
 * Adding an operation:
 *  1. the handler vc_op_NAME in its domain file and header (lib/cases.c,
 *     lib/cases.h ...), the header included by table.c;
 *  2. its parameter list in table.c: designated fields, END last, each
 *     parameter with a help line (and a meta unless it is a bool);
 *  3. its vc_ops[] entry: name (the audit action), tool, verb and/or method
 *     and path, .min_role (the least role: always write it), flags
 *     (VC_OP_WRITE for a change, VC_OP_CREATES for a POST answering 201),
 *     .target (the audit target type; the handler sets ctx->audit_target_id);
 *  4. the man page: the command under Commands and its SYNOPSIS line as -h
 *     prints it (tests/cli/05-docs.t compares them); a new tool also needs
 *     cmd/vc-TOOL.c, man/vc-TOOL.1 and its line in velocicompanion(7);
 *  5. `make completions`, and commit completions/ (05-docs checks them);
 *  6. tests: t_ops walks every op for every role by itself; a route with an
 *     {id} needs its id in tests/cli/31-http-tenancy.t.
 */
#ifndef VC_OPS_H
#define VC_OPS_H

#include "core/vc.h"

/* VC_T_JSON: a JSON object, or its text (the CLI gives text; over HTTP
 * either, the object the natural form); the handler reads both. */
enum vc_ptype { VC_T_STR = 0, VC_T_INT, VC_T_BOOL, VC_T_TIME, VC_T_DURATION, VC_T_JSON };

enum {
	VC_P_POS = 1 << 0,      /* CLI: positional argument */
	VC_P_REQ = 1 << 1,      /* required */
	VC_P_SECRET = 1 << 2,   /* CLI: read from --password-stdin or a prompt */
	VC_P_PATH = 1 << 3,     /* HTTP: from the route's {name} */
	VC_P_CLI = 1 << 4,      /* CLI only (not in HTTP/OpenAPI) */
	VC_P_HTTP = 1 << 5,     /* HTTP only (not a CLI option) */
	VC_P_CREDS = 1 << 6,    /* CLI: taken from the saved credentials */
	VC_P_MULTI = 1 << 7,    /* may repeat: an array of strings */
	VC_P_FILE = 1 << 8,     /* CLI: the option names a file; its text is the value */
	VC_P_BLOB = 1 << 9,     /* CLI: the option names a file of any bytes (at most
	                         * VC_BLOB_MAX): the value is {name: its base name,
	                         * data: its bytes in base64}; HTTP: that object */
	VC_P_STORE = 1 << 10    /* CLI: the option names the store the command opens
	                         * and logs in to, instead of --db (store copy --from) */
};

/* A VC_P_BLOB file's bytes at most, and its value's JSON text at most. */
#define VC_BLOB_MAX (10 * 1024 * 1024)
#define VC_BLOB_JSON_MAX ((VC_BLOB_MAX + 2) / 3 * 4 + 8192)

struct vc_param {
	const char *name;       /* JSON key; CLI --name with '_' as '-' */
	int type;               /* VC_T_* */
	int flags;              /* VC_P_* */
	const char *meta;       /* CLI metavariable, "USER" */
	const char *choices;    /* "admin|analyst|viewer" or NULL */
	const char *help;
};

enum {
	VC_OP_WRITE = 1 << 0,   /* changes state: transaction + audit */
	VC_OP_PUBLIC = 1 << 1,  /* no authentication needed */
	VC_OP_LOGIN = 1 << 2,   /* CLI saves the returned tokens, hides them */
	VC_OP_LOGOUT = 1 << 3,  /* CLI forgets the saved tokens */
	VC_OP_NOSTORE = 1 << 4, /* runs before a store exists (init) */
	VC_OP_RAW = 1 << 5,     /* handler manages its own transactions */
	VC_OP_SECRET_OUT = 1 << 6, /* output carries a secret: Cache-Control, no log */
	VC_OP_INPUT = 1 << 7,   /* reads JSONL: CLI FILE operand or stdin; HTTP body */
	VC_OP_CREATES = 1 << 8, /* HTTP: makes a record, answers 201 Created (a POST) */
	VC_OP_DEFAULT = 1 << 9, /* CLI: the tool's command when no verb is given (no verb) */
	VC_OP_LOOP = 1 << 10,   /* vc-serve answers it on its event loop, never
	                         * queued: public, no arguments, no writes, quick */
	VC_OP_ENROLL = 1 << 11, /* an enrolment session (who.enroll_only: its tenant
	                         * requires 2FA, its user has none) may run it */
	VC_OP_TOTP = 1 << 12,   /* CLI: takes a 2FA code (totp_code) after the
	                         * password: --totp-stdin, or asked on a terminal */
	VC_OP_ACCEPTED = 1 << 13, /* HTTP: answers 202 Accepted: what it asked for
	                         * happens after the answer (mail from the outbox) */
	VC_OP_FILE = 1 << 15    /* HTTP: the answer is a file: the output names it
	                         * ({file, content_type, filename}) and vc-serve
	                         * streams its bytes */
};

struct vc_op {
	const char *name;       /* "auth.users.create" (also the audit action) */
	const char *tool;       /* "vc-auth" */
	const char *verb;       /* "user create" (NULL: HTTP only, or VC_OP_DEFAULT) */
	const char *method;     /* "POST" (NULL: CLI only) */
	const char *path;       /* "/api/users/{id}" */
	int min_role;           /* VC_ROLE_* */
	int flags;              /* VC_OP_* */
	int (*fn)(vc_ctx *ctx, jv args, jv *out);
	/* Work to do before the write transaction, outside the store's write
	 * lock, that fn then finds in args (hashing a password); may fail
	 * like fn.  NULL: none. */
	int (*prepare)(vc_ctx *ctx, jv *args);
	const struct vc_param *params;  /* NULL-name terminated, may be NULL */
	const char *summary;    /* one line, for -h, man and OpenAPI */
	const char *target;     /* audit target type: "user", "tenant" ... */
	const char *columns;    /* -o table columns, comma separated (NULL: all) */
	int rate;               /* VC_RATE_*: vc-serve's per-address limit */
};

/* The per-address limits of vc-serve (--auth-rate, --register-rate):
 * every request of the class counts, whatever its outcome. */
enum {
	VC_RATE_NONE = 0,
	VC_RATE_AUTH,           /* presents a credential: login, refresh ... */
	VC_RATE_SIGNUP          /* creates an account anonymously */
};

extern const struct vc_op vc_ops[];     /* table.c; terminated by a NULL name */

const struct vc_op *vc_op_by_name(const char *name);
/* The op of tool whose verb matches argv (one or two words); *used gets
 * how many argv words the verb took.  When none matches, the tool's
 * VC_OP_DEFAULT op, if it has one, with *used 0. */
const struct vc_op *vc_op_by_verb(const char *tool, int argc, char **argv, int *used);
/* 1 when op is a command of its tool's CLI: it has a verb, or it is the
 * tool's default command. */
int vc_op_cli(const struct vc_op *op);

/*
 * The tools of the table: each op->tool once, in table order ("vc-auth",
 * "vc-hosts" ...); with cli, only the tools that have a CLI command (not
 * vc-serve).  Fills tools[] with at most max - 1 names and a NULL, and
 * returns how many there are.  VC_OP_TOOLS_MAX is room for all of them
 * (t_ops checks).
 */
#define VC_OP_TOOLS_MAX 32
int vc_op_tools(const char **tools, int max, int cli);

/*
 * Route an HTTP request.  On a match returns the op and adds the route's
 * {name} parts to *path_args (an object).  Returns NULL and sets
 * *method_ok to 1 when the path exists for another method (405).
 */
const struct vc_op *vc_op_route(const char *method, const char *path,
    jv *path_args, int *method_ok);

/*
 * Run op for the authenticated ctx->who: check the role (denials are
 * audited, VC_EPERM), validate args against op->params (VC_EUSAGE naming
 * the field), open the transaction of a write op, call the handler, write
 * the audit record (success in the same transaction; failure after a
 * rollback), commit.  args is consumed.
 */
int vc_op_call(vc_ctx *ctx, const struct vc_op *op, jv args, jv *out);

/* The OpenAPI 3.0 document made from the table (openapi.c). */
jv vc_openapi(void);

/* vc-serve's operations about itself, beside the document they point to
 * (openapi.c): the index ("/"), /health and /openapi.json. */
int vc_op_index(vc_ctx *ctx, jv args, jv *out);
int vc_op_health(vc_ctx *ctx, jv args, jv *out);
int vc_op_openapi(vc_ctx *ctx, jv args, jv *out);

#endif
