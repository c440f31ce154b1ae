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

#include "core/audit.h"
#include "ops/ops.h"
#include "core/store.h"

static const struct vc_param p_none[] = { { .name = NULL } };

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

/* Match "/api/users/{id}" against "/api/users/42"; adds id to *args. */
static int
match_path(const char *pat, const char *path, jv *args)
{
	jv got = jv_object();

	while (*pat && *path) {
		if (*pat == '{') {
			const char *pe = strchr(pat, '}'), *se = strchr(path, '/');
			size_t n = se ? (size_t)(se - path) : strlen(path);
			if (pe == NULL || n == 0 || n > 256) {
				jv_free(got);
				return 0;
			}
			got = jv_object_set(got, jv_string_sized(pat + 1, (int)(pe - pat - 1)),
			    jv_string_sized(path, (int)n));
			pat = pe + 1;
			path += n;
		} else if (*pat++ != *path++) {
			jv_free(got);
			return 0;
		}
	}
	if (*pat != '\0' || *path != '\0') {
		jv_free(got);
		return 0;
	}
	jv_object_foreach(got, k, v)
		*args = jv_object_set(*args, k, v);
	jv_free(got);
	return 1;
}

const struct vc_op *
vc_op_route(const char *method, const char *path, jv *path_args, int *method_ok)
{
	*method_ok = 0;
	for (const struct vc_op *op = vc_ops; op->name; op++) {
		jv scratch;
		if (op->path == NULL)
			continue;
		scratch = jv_object();
		if (match_path(op->path, path, &scratch)) {
			if (strcmp(op->method, method) == 0) {
				jv_object_foreach(scratch, k, v)
					*path_args = jv_object_set(*path_args, k, v);
				jv_free(scratch);
				return op;
			}
			*method_ok = 1;
		}
		jv_free(scratch);
	}
	return NULL;
}

/*
 * Check args against op->params: unknown keys, required ones, types and
 * choices.  Times and durations become numbers (seconds).  Returns args
 * (normalised) or jv_invalid with ctx set.
 */
static jv
check_args(vc_ctx *ctx, const struct vc_op *op, jv args)
{
	const struct vc_param *ps = op->params ? op->params : p_none;

	if (jv_get_kind(args) != JV_KIND_OBJECT) {
		jv_free(args);
		vc_fail(ctx, VC_EUSAGE, "arguments must be a JSON object");
		return jv_invalid();
	}
	jv_object_foreach(args, key, val) {
		const struct vc_param *p;
		for (p = ps; p->name; p++)
			if (strcmp(p->name, jv_string_value(key)) == 0)
				break;
		if (p->name == NULL || (ctx->front == VC_FRONT_HTTP && (p->flags & VC_P_CLI))) {
			vc_fail(ctx, VC_EUSAGE, "unknown field '%.64s' for %s", jv_string_value(key), op->name);
			jv_free(key);
			jv_free(val);
			jv_free(args);
			return jv_invalid();
		}
		jv_free(key);
		jv_free(val);
	}
	for (const struct vc_param *p = ps; p->name; p++) {
		jv v = jv_object_get(jv_copy(args), jv_string(p->name));
		jv_kind k = jv_get_kind(v);
		const char *s = k == JV_KIND_STRING ? jv_string_value(v) : NULL;
		int64_t n;

		if (!jv_is_valid(v) || k == JV_KIND_NULL) {
			jv_free(v);
			if (p->flags & VC_P_REQ) {
				vc_fail(ctx, VC_EUSAGE, "missing %s", p->name);
				goto bad;
			}
			continue;
		}
		if ((p->flags & VC_P_MULTI) && k == JV_KIND_ARRAY) {
			int good = jv_array_length(jv_copy(v)) <= 256;
			jv_array_foreach(v, i, e) {
				good &= jv_get_kind(e) == JV_KIND_STRING;
				jv_free(e);
			}
			if (!good) {
				vc_fail(ctx, VC_EUSAGE, "%s must be strings", p->name);
				goto badv;
			}
			jv_free(v);
			continue;
		}
		switch (p->type) {
		case VC_T_STR:
			if (s == NULL) {
				vc_fail(ctx, VC_EUSAGE, "%s must be a string", p->name);
				goto badv;
			}
			if (strlen(s) > 65536) {
				vc_fail(ctx, VC_ETOOBIG, "%s is too long", p->name);
				goto badv;
			}
			if (p->choices != NULL) {
				const char *c = p->choices;
				size_t len = strlen(s);
				int found = 0;
				while (*c) {
					const char *e = strchr(c, '|');
					size_t cl = e ? (size_t)(e - c) : strlen(c);
					if (cl == len && strncmp(c, s, len) == 0)
						found = 1;
					c += cl + (e != NULL);
				}
				if (!found) {
					vc_fail(ctx, VC_EUSAGE, "%s must be one of %s, not '%.64s'",
					    p->name, p->choices, s);
					goto badv;
				}
			}
			jv_free(v);
			break;
		case VC_T_BOOL:
			if (k == JV_KIND_TRUE || k == JV_KIND_FALSE) {
				jv_free(v);
				break;
			}
			if (s && (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")))
				args = jv_object_set(args, jv_string(p->name), jv_true());
			else if (s && (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")))
				args = jv_object_set(args, jv_string(p->name), jv_false());
			else {
				vc_fail(ctx, VC_EUSAGE, "%s must be true or false", p->name);
				goto badv;
			}
			jv_free(v);
			break;
		case VC_T_INT:
			if (k == JV_KIND_NUMBER) {
				double d = jv_number_value(v);
				/* Range first: the cast is undefined for NaN and huge values. */
				if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) ||
				    d != (double)(int64_t)d) {
					vc_fail(ctx, VC_EUSAGE, "%s must be a whole number", p->name);
					goto badv;
				}
			} else {
				char *end;
				long long ll;
				errno = 0;
				ll = s ? strtoll(s, &end, 10) : 0;
				if (s == NULL || *s == '\0' || *end != '\0' || errno != 0) {
					vc_fail(ctx, VC_EUSAGE, "%s must be a whole number", p->name);
					goto badv;
				}
				args = jv_object_set(args, jv_string(p->name), jv_number((double)ll));
			}
			jv_free(v);
			break;
		case VC_T_TIME:
			if (k == JV_KIND_NUMBER) {
				double d = jv_number_value(v);
				if (!(d >= -1e13 && d <= 1e13)) {
					vc_fail(ctx, VC_EUSAGE, "%s is not a time", p->name);
					goto badv;
				}
				jv_free(v);
				break;
			}
			if (s == NULL || vc_time_parse(ctx, s, &n) != 0) {
				if (s == NULL)
					vc_fail(ctx, VC_EUSAGE, "%s must be a time", p->name);
				goto badv;
			}
			args = jv_object_set(args, jv_string(p->name), jv_number((double)n));
			jv_free(v);
			break;
		case VC_T_DURATION:
			if (k == JV_KIND_NUMBER) {
				double d = jv_number_value(v);
				if (!(d >= 0 && d <= 1e11)) {
					vc_fail(ctx, VC_EUSAGE, "%s is not a duration", p->name);
					goto badv;
				}
				jv_free(v);
				break;
			}
			if (s == NULL || vc_duration_parse(s, &n) != 0) {
				vc_fail(ctx, VC_EUSAGE, "%s must be a duration such as 90d, 12h, 30m", p->name);
				goto badv;
			}
			args = jv_object_set(args, jv_string(p->name), jv_number((double)n));
			jv_free(v);
			break;
		}
		continue;
badv:
		jv_free(v);
		goto bad;
	}
	return args;
bad:
	jv_free(args);
	return jv_invalid();
}

/* Write one audit record in a transaction of its own. */
static void
audit_alone(vc_ctx *ctx, const char *tenant, const char *action, const char *outcome,
    const char *reason, jv details)
{
	if (ctx->store == NULL || ctx->store->keys == NULL || vc_tx_begin(ctx) != 0) {
		jv_free(details);
		return;
	}
	if (vc_audit(ctx, tenant, action, ctx->audit_target_type, ctx->audit_target_id,
	    outcome, reason, details) != 0 || vc_tx_commit(ctx) != 0)
		vc_tx_rollback(ctx);
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
	ctx->audited = ctx->denied = 0;
	if (!(op->flags & VC_OP_PUBLIC) && ctx->who.actor == VC_ACTOR_ANON) {
		jv_free(args);
		return vc_fail(ctx, VC_EAUTH, "authentication required");
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

	if ((op->flags & VC_OP_WRITE) && !(op->flags & VC_OP_RAW) &&
	    (rc = vc_tx_begin(ctx)) != 0) {
		jv_free(args);
		return rc;
	}
	rc = op->fn(ctx, args, out);
	jv_free(args);
	if (rc == 0 && (op->flags & VC_OP_WRITE) && !(op->flags & VC_OP_RAW)) {
		rc = vc_audit(ctx, audit_tenant(ctx), op->name, ctx->audit_target_type[0] ?
		    ctx->audit_target_type : op->target, ctx->audit_target_id, "success", NULL,
		    jv_copy(ctx->audit_details));
		if (rc == 0)
			rc = vc_tx_commit(ctx);
		else
			vc_tx_rollback(ctx);
		if (rc == 0)
			return 0;
	}
	if (rc == 0)
		return 0;

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
	else if ((op->flags & VC_OP_WRITE) && !(op->flags & VC_OP_NOSTORE) &&
	    !ctx->audited && err_saved != VC_EUSAGE && err_saved != VC_ETEMP)
		audit_alone(ctx, audit_tenant(ctx), op->name, err_saved == VC_EPERM ? "denied" : "failure",
		    ctx->audit_reason[0] ? ctx->audit_reason : msg, jv_copy(ctx->audit_details));
	ctx->err = err_saved;
	snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", msg);
	return err_saved;
}
