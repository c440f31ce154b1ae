/* SPDX-License-Identifier: MIT */
/*
 * dispatch.c - the one way into an operation: find it (by name, by CLI
 * verb, by HTTP route), check the caller's role and the arguments against
 * the table, run the handler in its transaction and audit the outcome.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/audit.h"
#include "ops/ops.h"
#include "core/store.h"

const struct vc_op *
vc_op_by_name(const char *name)
{
	for (const struct vc_op *op = vc_ops; op->name; op++)
		if (strcmp(op->name, name) == 0)
			return op;
	return NULL;
}

const struct vc_op *
vc_op_by_verb(const char *tool, int argc, char **argv, int *used)
{
	/* Two-word verbs first, so "user create" wins over a one-word "user". */
	for (int words = 2; words >= 1; words--) {
		if (argc < words)
			continue;
		for (const struct vc_op *op = vc_ops; op->name; op++) {
			const char *v = op->verb, *sp;
			if (v == NULL || strcmp(op->tool, tool) != 0)
				continue;
			sp = strchr(v, ' ');
			if (words == 1 && sp == NULL && strcmp(v, argv[0]) == 0) {
				*used = 1;
				return op;
			}
			if (words == 2 && sp != NULL &&
			    strncmp(v, argv[0], (size_t)(sp - v)) == 0 &&
			    argv[0][sp - v] == '\0' && strcmp(sp + 1, argv[1]) == 0) {
				*used = 2;
				return op;
			}
		}
	}
	/* A tool's command without a verb (vc-score's filter): the words are its operands. */
	for (const struct vc_op *op = vc_ops; op->name; op++)
		if ((op->flags & VC_OP_DEFAULT) && strcmp(op->tool, tool) == 0) {
			*used = 0;
			return op;
		}
	return NULL;
}

int
vc_op_cli(const struct vc_op *op)
{
	return op->verb != NULL || (op->flags & VC_OP_DEFAULT);
}

int
vc_op_tools(const char **tools, int max, int cli)
{
	int n = 0;

	for (const struct vc_op *op = vc_ops; op->name; op++) {
		const struct vc_op *seen;
		if (cli && !vc_op_cli(op))
			continue;
		/* A tool is counted at its first op (of the kind asked for). */
		for (seen = vc_ops; seen < op; seen++)
			if ((!cli || vc_op_cli(seen)) && strcmp(seen->tool, op->tool) == 0)
				break;
		if (seen < op)
			continue;
		if (n < max - 1)
			tools[n] = op->tool;
		n++;
	}
	if (max > 0)
		tools[n < max - 1 ? n : max - 1] = NULL;
	return n;
}

/* Match "/api/users/{id}" against "/api/users/42"; with args, adds id to
 * *args.  Routing asks first without args, so that the hundred or so
 * routes a request does not take cost no allocation. */
static int
match_path(const char *pat, const char *path, jv *args)
{
	while (*pat && *path) {
		if (*pat == '{') {
			const char *pe = strchr(pat, '}'), *se = strchr(path, '/');
			size_t n = se ? (size_t)(se - path) : strlen(path);
			if (pe == NULL || n == 0 || n > 256)
				return 0;
			if (args != NULL)
				*args = jv_object_set(*args,
				    jv_string_sized(pat + 1, (int)(pe - pat - 1)),
				    jv_string_sized(path, (int)n));
			pat = pe + 1;
			path += n;
		} else if (*pat++ != *path++)
			return 0;
	}
	return *pat == '\0' && *path == '\0';
}

const struct vc_op *
vc_op_route(const char *method, const char *path, jv *path_args, int *method_ok)
{
	*method_ok = 0;
	for (const struct vc_op *op = vc_ops; op->name; op++) {
		if (op->path == NULL || !match_path(op->path, path, NULL))
			continue;
		if (strcmp(op->method, method) == 0) {
			match_path(op->path, path, path_args);
			return op;
		}
		*method_ok = 1;
	}
	return NULL;
}

/* ---- arguments ---------------------------------------------------------- */

static const struct vc_param *
find_param(const struct vc_op *op, const char *name)
{
	for (const struct vc_param *p = op->params; p && p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* Every key of args is a parameter of op; over HTTP, CLI-only ones are
 * unknown too.  args is consumed. */
static int
check_known(vc_ctx *ctx, const struct vc_op *op, jv args)
{
	int rc = 0;

	jv_object_foreach(args, key, val) {
		const struct vc_param *p = find_param(op, jv_string_value(key));
		if (rc == 0 && (p == NULL ||
		    (ctx->front == VC_FRONT_HTTP && (p->flags & VC_P_CLI))))
			rc = vc_fail(ctx, VC_EUSAGE, "unknown field '%.64s' for %s",
			    jv_string_value(key), op->name);
		jv_free(key);
		jv_free(val);
	}
	jv_free(args);
	return rc;
}

/*
 * One checker per parameter type.  Each is given the present, non-null
 * value v of p (consumed) and args, where it may replace the value by its
 * normal form (a time or a duration in seconds, "yes" as true); it returns
 * 0, or the error it set in ctx.
 */
typedef int check_fn(vc_ctx *ctx, const struct vc_param *p, jv v, jv *args);

static const char *
str_of(jv v)
{
	return jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
}

/* Whether s is one of the '|'-separated words of choices. */
static int
is_choice(const char *choices, const char *s)
{
	size_t len = strlen(s);

	for (const char *c = choices; *c; ) {
		const char *e = strchr(c, '|');
		size_t cl = e ? (size_t)(e - c) : strlen(c);
		if (cl == len && strncmp(c, s, len) == 0)
			return 1;
		c += cl + (e != NULL);
	}
	return 0;
}

static int
check_str(vc_ctx *ctx, const struct vc_param *p, jv v, jv *args)
{
	const char *s = str_of(v);
	int rc = 0;

	if (s == NULL)
		rc = vc_fail(ctx, VC_EUSAGE, "%s must be a string", p->name);
	else if (strlen(s) > 65536)
		rc = vc_fail(ctx, VC_ETOOBIG, "%s is too long", p->name);
	else if (p->choices != NULL && !is_choice(p->choices, s))
		rc = vc_fail(ctx, VC_EUSAGE, "%s must be one of %s, not '%.64s'",
		    p->name, p->choices, s);
	jv_free(v);
	return rc;
}

static int
check_bool(vc_ctx *ctx, const struct vc_param *p, jv v, jv *args)
{
	jv_kind k = jv_get_kind(v);
	const char *s = str_of(v);
	int rc = 0;

	if (k == JV_KIND_TRUE || k == JV_KIND_FALSE)
		;
	else if (s && (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")))
		*args = jv_object_set(*args, jv_string(p->name), jv_true());
	else if (s && (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")))
		*args = jv_object_set(*args, jv_string(p->name), jv_false());
	else
		rc = vc_fail(ctx, VC_EUSAGE, "%s must be true or false", p->name);
	jv_free(v);
	return rc;
}

static int
check_int(vc_ctx *ctx, const struct vc_param *p, jv v, jv *args)
{
	const char *s = str_of(v);
	int rc = 0;

	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		double d = jv_number_value(v);
		/* Range first: the cast is undefined for NaN and huge values. */
		if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) ||
		    d != (double)(int64_t)d)
			rc = vc_fail(ctx, VC_EUSAGE, "%s must be a whole number", p->name);
	} else {
		char *end;
		long long ll;
		errno = 0;
		ll = s ? strtoll(s, &end, 10) : 0;
		if (s == NULL || *s == '\0' || *end != '\0' || errno != 0)
			rc = vc_fail(ctx, VC_EUSAGE, "%s must be a whole number", p->name);
		else
			*args = jv_object_set(*args, jv_string(p->name), jv_number((double)ll));
	}
	jv_free(v);
	return rc;
}

static int
check_time(vc_ctx *ctx, const struct vc_param *p, jv v, jv *args)
{
	const char *s = str_of(v);
	int64_t n;
	int rc = 0;

	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		double d = jv_number_value(v);
		if (!(d >= -1e13 && d <= 1e13))
			rc = vc_fail(ctx, VC_EUSAGE, "%s is not a time", p->name);
	} else if (s == NULL)
		rc = vc_fail(ctx, VC_EUSAGE, "%s must be a time", p->name);
	else if ((rc = vc_time_parse(ctx, s, &n)) == 0)   /* which says what is wrong */
		*args = jv_object_set(*args, jv_string(p->name), jv_number((double)n));
	jv_free(v);
	return rc;
}

static int
check_duration(vc_ctx *ctx, const struct vc_param *p, jv v, jv *args)
{
	const char *s = str_of(v);
	int64_t n;
	int rc = 0;

	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		double d = jv_number_value(v);
		if (!(d >= 0 && d <= 1e11))
			rc = vc_fail(ctx, VC_EUSAGE, "%s is not a duration", p->name);
	} else if (s == NULL || vc_duration_parse(s, &n) != 0)
		rc = vc_fail(ctx, VC_EUSAGE, "%s must be a duration such as 90d, 12h, 30m", p->name);
	else
		*args = jv_object_set(*args, jv_string(p->name), jv_number((double)n));
	jv_free(v);
	return rc;
}

/* An object, or text (JSON for the handler to parse), at most 64 KiB
 * either way (a file's bytes, VC_P_BLOB: an object of VC_BLOB_JSON_MAX). */
static int
check_json(vc_ctx *ctx, const struct vc_param *p, jv v, jv *args)
{
	int max = (p->flags & VC_P_BLOB) ? VC_BLOB_JSON_MAX : 65536, rc = 0;

	(void)args;
	if (jv_get_kind(v) == JV_KIND_STRING && !(p->flags & VC_P_BLOB)) {
		if (jv_string_length_bytes(jv_copy(v)) > max)
			rc = vc_fail(ctx, VC_ETOOBIG, "%s is too long", p->name);
	} else if (jv_get_kind(v) == JV_KIND_OBJECT) {
		jv text = jv_dump_string(jv_copy(v), 0);

		if (jv_string_length_bytes(text) > max)
			rc = vc_fail(ctx, VC_ETOOBIG, "%s is too big (at most %d KiB as JSON)", p->name,
			    max / 1024);
	} else
		rc = vc_fail(ctx, VC_EUSAGE, "%s must be a JSON object (or its text)", p->name);
	jv_free(v);
	return rc;
}

static check_fn *const checkers[] = {
	[VC_T_STR] = check_str,
	[VC_T_INT] = check_int,
	[VC_T_BOOL] = check_bool,
	[VC_T_TIME] = check_time,
	[VC_T_DURATION] = check_duration,
	[VC_T_JSON] = check_json,
};

/* A repeatable parameter given as an array: at most 256 strings. */
static int
check_multi(vc_ctx *ctx, const struct vc_param *p, jv v)
{
	int good = jv_array_length(jv_copy(v)) <= 256;

	jv_array_foreach(v, i, e) {
		good &= jv_get_kind(e) == JV_KIND_STRING;
		jv_free(e);
	}
	jv_free(v);
	return good ? 0 : vc_fail(ctx, VC_EUSAGE, "%s must be strings", p->name);
}

/*
 * Check args against op->params: unknown keys, required ones, types and
 * choices.  Times and durations become numbers (seconds).  Returns args
 * (normalised) or jv_invalid with ctx set.
 */
static jv
check_args(vc_ctx *ctx, const struct vc_op *op, jv args)
{
	if (jv_get_kind(args) != JV_KIND_OBJECT) {
		jv_free(args);
		vc_fail(ctx, VC_EUSAGE, "arguments must be a JSON object");
		return jv_invalid();
	}
	if (check_known(ctx, op, jv_copy(args)) != 0)
		goto bad;
	for (const struct vc_param *p = op->params; p && p->name; p++) {
		jv v = jv_object_get(jv_copy(args), jv_string(p->name));
		jv_kind k = jv_get_kind(v);
		int rc;

		if (k == JV_KIND_INVALID || k == JV_KIND_NULL) {
			jv_free(v);
			/* A parameter of the other front door is never required. */
			if (!(p->flags & VC_P_REQ) || (p->flags & (ctx->front == VC_FRONT_HTTP ?
			    VC_P_CLI : VC_P_HTTP)))
				continue;
			vc_fail(ctx, VC_EUSAGE, "missing %s", p->name);
			goto bad;
		}
		if ((p->flags & VC_P_MULTI) && k == JV_KIND_ARRAY)
			rc = check_multi(ctx, p, v);
		else if (p->type >= 0 && (size_t)p->type < sizeof checkers / sizeof checkers[0])
			rc = checkers[p->type](ctx, p, v, &args);
		else {
			jv_free(v);
			rc = vc_fail(ctx, VC_EINTERNAL, "%s: parameter %s has no type", op->name, p->name);
		}
		if (rc != 0)
			goto bad;
	}
	return args;
bad:
	jv_free(args);
	return jv_invalid();
}

/* Runs of a write operation when PostgreSQL makes it give way: writers
 * of one tenant all append to its audit chain, so each collision lets
 * one through and the others come back (vc_tx_backoff). */
#define TX_ATTEMPTS VC_TX_AGAIN

/* One audit record (audit_alone's, vc_tx_run's body). */
struct alone {
	const char *tenant, *action, *outcome, *reason;
	jv details;
};

static int
alone_body(vc_ctx *ctx, void *arg)
{
	struct alone *a = arg;

	return vc_audit(ctx, a->tenant, a->action, ctx->audit_target_type, ctx->audit_target_id,
	    a->outcome, a->reason, jv_copy(a->details));
}

/* Write one audit record in a transaction of its own (written again when
 * it gave way to another). */
static void
audit_alone(vc_ctx *ctx, const char *tenant, const char *action, const char *outcome,
    const char *reason, jv details)
{
	struct alone a = { tenant, action, outcome, reason, details };

	if (ctx->store != NULL && ctx->store->keys != NULL)
		(void)vc_tx_run(ctx, 0, alone_body, &a);
	jv_free(details);
}

static const char *
audit_tenant(vc_ctx *ctx)
{
	if (ctx->audit_tenant_id[0])
		return ctx->audit_tenant_id;
	return ctx->who.tenant_id[0] ? ctx->who.tenant_id : NULL;
}

int
vc_op_call(vc_ctx *ctx, const struct vc_op *op, jv args, jv *out)
{
	int rc, err_saved;
	char msg[sizeof ctx->errmsg];

	*out = jv_invalid();
	ctx->err = 0;
	ctx->errmsg[0] = '\0';
	ctx->audited = ctx->denied = ctx->audit_failure = ctx->done_outside = 0;
	if (!(op->flags & VC_OP_PUBLIC) && ctx->who.actor == VC_ACTOR_ANON) {
		jv_free(args);
		return vc_fail(ctx, VC_EAUTH, "authentication required");
	}
	/* Until they set up 2FA, users of a tenant that requires it may do
	 * only that (API tokens are not sessions: never enroll_only). */
	if (ctx->who.enroll_only && !(op->flags & (VC_OP_ENROLL | VC_OP_PUBLIC))) {
		jv_free(args);
		snprintf(ctx->audit_target_type, sizeof ctx->audit_target_type, "%s",
		    op->target ? op->target : "");
		audit_alone(ctx, audit_tenant(ctx), "authz.denied", "denied", "2FA setup required",
		    jv_invalid());
		return vc_fail(ctx, VC_EPERM, "your tenant requires two-factor authentication: "
		    "set it up first (2fa setup, then 2fa verify CODE); until then this session "
		    "may do nothing else");
	}
	if (ctx->who.role < op->min_role) {
		jv_free(args);
		snprintf(ctx->audit_target_type, sizeof ctx->audit_target_type, "%s",
		    op->target ? op->target : "");
		audit_alone(ctx, audit_tenant(ctx), "authz.denied", "denied", op->name, jv_invalid());
		return vc_fail(ctx, VC_EPERM, "%s needs the %s role; you are %s", op->name,
		    vc_role_name(op->min_role), vc_role_name(ctx->who.role));
	}
	args = check_args(ctx, op, args);
	if (!jv_is_valid(args))
		return ctx->err;

	/* Slow work (a password's hash) before the write lock, never inside. */
	if (op->prepare != NULL && (rc = op->prepare(ctx, &args)) != 0) {
		jv_free(args);
		goto failed;
	}
	for (int attempt = 1, ran = 0; ; attempt++) {
		if ((op->flags & VC_OP_WRITE) && !(op->flags & VC_OP_RAW) &&
		    (rc = vc_tx_begin(ctx)) != 0) {
			jv_free(args);
			return rc;
		}
		/* An operation that changed something outside the store
		 * (ctx->done_outside) and succeeded is not run twice (that was
		 * a second key): its answer stands, its audit record is
		 * written again. */
		if (!ran)
			rc = op->fn(ctx, args, out);    /* borrowed: freed below */
		else
			rc = 0;
		ran = rc == 0 && ctx->done_outside;
		if (rc == 0 && (op->flags & VC_OP_WRITE) && !(op->flags & VC_OP_RAW)) {
			rc = vc_audit(ctx, audit_tenant(ctx), op->name, ctx->audit_target_type[0] ?
			    ctx->audit_target_type : op->target, ctx->audit_target_id, "success", NULL,
			    jv_copy(ctx->audit_details));
			if (rc == 0)
				rc = vc_tx_commit(ctx);
			else
				vc_tx_rollback(ctx);
		}
		/* PostgreSQL refused the transaction for another one it ran
		 * beside (40001, 40P01): run the whole of it again, as long as
		 * it read no input that is gone now and did nothing outside the
		 * store before it failed. */
		if (rc == 0 || !(op->flags & VC_OP_WRITE) || (op->flags & VC_OP_RAW) ||
		    !vc_tx_retryable(ctx) || (ctx->in != NULL && !ran) || attempt == TX_ATTEMPTS ||
		    (ctx->done_outside && !ran))
			break;
		vc_tx_rollback(ctx);
		if (!ran) {
			jv_free(*out);
			*out = jv_invalid();
		}
		ctx->err = 0;
		ctx->errmsg[0] = '\0';
		ctx->audited = ctx->denied = ctx->audit_failure = 0;
		vc_tx_backoff(attempt);
	}
	jv_free(args);
	if (rc == 0)
		return 0;

failed:
	/* Failure: undo, then record what happened in a transaction of its own.
	 * A read may explain its failure in *out (audit verify names the bad
	 * record); a write's partial result is dropped with its transaction. */
	vc_tx_rollback(ctx);
	/* A RAW operation's output survives its failure: it says what did
	 * happen (the flow that was scheduled before --wait timed out). */
	if ((op->flags & VC_OP_WRITE) && !(op->flags & VC_OP_RAW)) {
		jv_free(*out);
		*out = jv_invalid();
	}
	err_saved = ctx->err ? ctx->err : rc;
	snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	if (ctx->denied)
		audit_alone(ctx, audit_tenant(ctx), "authz.denied", "denied", op->name, jv_invalid());
	else if (((op->flags & VC_OP_WRITE) && !(op->flags & VC_OP_NOSTORE) &&
	    !ctx->audited && err_saved != VC_EUSAGE && err_saved != VC_ETEMP) || ctx->audit_failure)
		audit_alone(ctx, audit_tenant(ctx), op->name, err_saved == VC_EPERM ? "denied" : "failure",
		    ctx->audit_reason[0] ? ctx->audit_reason : msg, jv_copy(ctx->audit_details));
	ctx->err = err_saved;
	snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", msg);
	return err_saved;
}
