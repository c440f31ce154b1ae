/* SPDX-License-Identifier: MIT */
/*
 * hunt.c - vc-hunt: the tenant's Velociraptor, through lib/vr.c.
 *
 * Every value a user gives travels in the query's env and is used as a
 * VQL variable; the VQL texts below are constants.  Rows stream through
 * (ctx->emit_raw) with memory bounded by one gRPC batch; --store writes
 * them as an artifact while they pass, committing after each batch so
 * that no write lock is held while we wait on the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "allowlist.h"
#include "artifacts.h"
#include "crypto/crypto.h"
#include "hosts.h"
#include "hunt.h"
#include "core/events.h"
#include "core/net.h"
#include "core/store.h"
#include "vr.h"
#include "core/records.h"
#include "core/audit.h"

#define KEY_AD_FMT "%s|velociraptor|client_private_key"
#define SYNC_BATCH 500

/* ---- the tenant's config ------------------------------------------------ */

/*
 * Fail with err, the message prefix, then the message already in ctx.
 * vc_fail cannot take ctx->errmsg as an argument: vsnprintf would read
 * the buffer it writes (undefined; glibc leaves it empty).
 */
static int
refail(vc_ctx *ctx, int err, const char *prefix)
{
	char msg[sizeof ctx->errmsg];

	snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	return vc_fail(ctx, err, "%s%s", prefix, msg);
}

/* ---- what a call to Velociraptor leaves in the store --------------------- */

/*
 * What an operation records after Velociraptor answered (a flow
 * scheduled, a hunt made or stopped, a sync done), in a transaction of
 * its own that opens after the call: vc_tx_run writes it again when it
 * gave way to another (PostgreSQL's 40001, 40P01), never the call
 * before it.  Each part is there or not: an idempotency key's hunt, an
 * audit record (action), an event.
 */
struct record {
	const char *key, *hunt_id;      /* hunt_requests: key's hunt is hunt_id */
	const char *action, *type, *id; /* the audit record, a success */
	jv details;                     /* borrowed */
	const char *event;              /* the event's type */
	jv body;                        /* borrowed */
};

static int
record_body(vc_ctx *ctx, void *arg)
{
	const struct record *r = arg;
	int rc = 0;

	if (r->key != NULL)
		rc = vc_sql_exec(ctx, "UPDATE hunt_requests SET hunt_id = ?3, created_at = ?4"
		    " WHERE tenant_id = ?1 AND idem_key = ?2", NULL, "sssi", ctx->who.tenant_id, r->key,
		    r->hunt_id, vc_now(ctx));
	if (rc == 0 && r->action != NULL)
		rc = vc_audit(ctx, ctx->who.tenant_id, r->action, r->type, r->id, "success", NULL,
		    jv_copy(r->details));
	if (rc == 0 && r->event != NULL)
		rc = vc_event_emit(ctx, r->event, jv_copy(r->body), NULL);
	return rc;
}

/*
 * Write r (record_body).  When it cannot be written, what Velociraptor
 * did stands: the error says so (done: "flow F.1 on C.1 is scheduled"),
 * and the operation's output, which survives a RAW operation's failure,
 * names it too.  A busy store is then not "try again" (exit 75), which a
 * script would take as leave to collect again, but exit 70.
 */
static int
record(vc_ctx *ctx, const struct record *r, const char *done)
{
	char prefix[300];
	int rc = vc_tx_run(ctx, 0, record_body, (void *)r);

	if (rc == 0) {
		ctx->audited = 1;
		return 0;
	}
	snprintf(prefix, sizeof prefix, "%s, but not recorded: ", done);
	return refail(ctx, rc == VC_ETEMP ? VC_EINTERNAL : rc, prefix);
}

static int
load_config(vc_ctx *ctx, struct vc_vr_config *cfg, char *org, size_t orgsz)
{
	vc_stmt *q;
	char ad[128], *key = NULL;
	size_t keylen = 0;
	int rc;

	memset(cfg, 0, sizeof *cfg);
	q = vc_sql(ctx, "SELECT name, host, port, pinned_name, ca_pem, cert_pem, key_sealed, org_id"
	    " FROM velociraptor_configs WHERE tenant_id = ?1", "s", ctx->who.tenant_id);
	if (q == NULL)
		return ctx->err;
	rc = vc_sql_step(ctx, q);
	if (rc <= 0) {
		vc_stmt_done(q);
		return rc < 0 ? ctx->err : vc_fail(ctx, VC_ECONFIG,
		    "no Velociraptor API config for this tenant: run 'vc-hunt config set --api-config FILE'");
	}
	snprintf(ad, sizeof ad, KEY_AD_FMT, ctx->who.tenant_id);
	if (vc_secret_open(ctx, ctx->store->keys, ad, (const char *)vc_col_text(q, 6),
	    &key, &keylen) != 0) {
		vc_stmt_done(q);
		return refail(ctx, VC_ECONFIG, "the stored Velociraptor key does not open: ");
	}
	cfg->name = vc_col_text(q, 0) ? strdup((const char *)vc_col_text(q, 0)) : NULL;
	snprintf(cfg->host, sizeof cfg->host, "%s", (const char *)vc_col_text(q, 1));
	cfg->port = vc_col_int(q, 2);
	snprintf(cfg->pinned, sizeof cfg->pinned, "%s", (const char *)vc_col_text(q, 3));
	cfg->ca_pem = strdup((const char *)vc_col_text(q, 4));
	cfg->cert_pem = strdup((const char *)vc_col_text(q, 5));
	cfg->key_pem = strndup(key, keylen);
	vc_secret_free(key, keylen);
	snprintf(org, orgsz, "%s", vc_col_text(q, 7) ? (const char *)vc_col_text(q, 7) : "");
	vc_stmt_done(q);
	if (cfg->ca_pem == NULL || cfg->cert_pem == NULL || cfg->key_pem == NULL) {
		vc_vr_config_release(cfg);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	return 0;
}

#define CONFIG_JSON "SELECT name, host || ':' || port AS api_connection_string, pinned_name," \
	" org_id, cert_fingerprint, cert_not_after AS cert_expires_at, created_by, created_at," \
	" updated_at FROM velociraptor_configs WHERE tenant_id = ?1"

static int
config_json(vc_ctx *ctx, jv *out)
{
	jv rows = vc_sql_rows(ctx, vc_sql(ctx, CONFIG_JSON, "s", ctx->who.tenant_id));

	if (!jv_is_valid(rows))
		return ctx->err;
	if (jv_array_length(jv_copy(rows)) == 0) {
		jv_free(rows);
		return vc_fail(ctx, VC_ENOTFOUND, "no Velociraptor API config for this tenant");
	}
	*out = jv_array_get(rows, 0);
	return 0;
}

int
vc_op_vr_config_set(vc_ctx *ctx, jv args, jv *out)
{
	const char *yaml = vc_arg_str(args, "api_config"), *org = vc_arg_str(args, "org");
	struct vc_vr_config cfg;
	char fp[65], cn[128], ad[128], *sealed = NULL;
	int64_t not_after;
	int rc;

	if (yaml == NULL)
		return vc_fail(ctx, VC_EUSAGE, "give the API client config (--api-config FILE)");
	if (org != NULL && strlen(org) > 120)
		return vc_fail(ctx, VC_EUSAGE, "org id too long");
	if ((rc = vc_vr_config_parse(ctx, yaml, strlen(yaml), &cfg)) != 0)
		return rc == VC_ECONFIG ? refail(ctx, VC_EINVAL, "") : rc;
	if ((rc = vc_vr_cert_info(ctx, cfg.cert_pem, &not_after, fp, cn, sizeof cn)) != 0) {
		vc_vr_config_release(&cfg);
		/* A certificate we cannot read is bad input; OpenSSL missing is not. */
		return rc == VC_ECONFIG ? refail(ctx, VC_EINVAL, "") : rc;
	}
	/* An address can be judged now; a name only when it is dialled (no
	 * lookup inside this transaction), where every query checks again. */
	{
		unsigned char k[16];
		char addr[64], why[160];
		if (vc_ip_key(cfg.host, k, NULL, 0) == 0 &&
		    vc_net_dest(cfg.host, cfg.port, addr, why, sizeof why) == -2) {
			vc_fail(ctx, VC_EPERM, "Velociraptor at %s:%d is not a destination this "
			    "installation allows: %s (see vc-serve --allow-velociraptor, "
			    "$VC_ALLOW_VELOCIRAPTOR)", cfg.host, cfg.port, why);
			vc_vr_config_release(&cfg);
			return VC_EPERM;
		}
	}
	snprintf(ad, sizeof ad, KEY_AD_FMT, ctx->who.tenant_id);
	rc = vc_secret_seal(ctx, ctx->store->keys, ad, cfg.key_pem, strlen(cfg.key_pem), &sealed);
	if (rc == 0)
		rc = vc_sql_exec(ctx, "INSERT INTO velociraptor_configs (tenant_id, name, host, port,"
		    " pinned_name, ca_pem, cert_pem, key_sealed, cert_fingerprint, cert_not_after, org_id,"
		    " created_by, created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?13)"
		    " ON CONFLICT (tenant_id) DO UPDATE SET name = ?2, host = ?3, port = ?4, pinned_name = ?5,"
		    " ca_pem = ?6, cert_pem = ?7, key_sealed = ?8, cert_fingerprint = ?9, cert_not_after = ?10,"
		    " org_id = ?11, updated_at = ?13", NULL, "sssisssssissi",
		    ctx->who.tenant_id, cfg.name ? cfg.name : cn, cfg.host, (int64_t)cfg.port, cfg.pinned,
		    cfg.ca_pem, cfg.cert_pem, sealed, fp, not_after, org && *org ? org : NULL,
		    ctx->who.username, vc_now(ctx));
	free(sealed);
	vc_vr_config_release(&cfg);
	if (rc != 0)
		return rc;
	vc_audit_target(ctx, "velociraptor_config", ctx->who.tenant_id);
	ctx->audit_details = JV_OBJECT(jv_string("cert_fingerprint"), jv_string(fp),
	    jv_string("org_id"), org ? jv_string(org) : jv_null());
	if ((rc = config_json(ctx, out)) != 0)
		return rc;
	if (not_after <= vc_now(ctx))
		*out = jv_object_set(*out, jv_string("warning"), jv_string(
		    "the client certificate has expired: make a new config with `velociraptor config api_client`"));
	return 0;
}

int
vc_op_vr_config_show(vc_ctx *ctx, jv args, jv *out)
{
	return config_json(ctx, out);
}

int
vc_op_vr_config_delete(vc_ctx *ctx, jv args, jv *out)
{
	int changes = 0, rc;

	rc = vc_sql_exec(ctx, "DELETE FROM velociraptor_configs WHERE tenant_id = ?1", &changes, "s",
	    ctx->who.tenant_id);
	if (rc != 0)
		return rc;
	if (changes == 0)
		return vc_fail(ctx, VC_ENOTFOUND, "no Velociraptor API config for this tenant");
	vc_audit_target(ctx, "velociraptor_config", NULL);
	*out = JV_OBJECT(jv_string("deleted"), jv_true());
	return 0;
}

/* ---- streaming rows ------------------------------------------------------ */

struct sink {
	vc_ctx *ctx;
	jv collect;             /* rows when nothing streams (HTTP, tables) */
	int quiet;              /* count only: the caller prints a summary */
	struct vc_artifact_writer *w;
	int sync;
	jv pending;             /* client rows waiting to become hosts */
	long created, updated, bad;
	int failed;             /* a store error: stop the stream */
	int gone;               /* the reader went away */
	jv last;                /* the last row, parsed (for one-row answers) */
	int keep_last;
	int error_logs;         /* ERROR: / VQL Error lines seen */
};

/* A batch of client rows made hosts (vc_tx_run's arg): what the last
 * attempt counted, set afresh by each. */
struct sync_tx {
	jv pending;             /* borrowed */
	long created, updated;
	jv bad;                 /* why each bad row is */
};

static int
sync_body(vc_ctx *ctx, void *arg)
{
	struct sync_tx *s = arg;
	int rc = 0;

	s->created = s->updated = 0;
	jv_free(s->bad);
	s->bad = jv_array();
	jv_array_foreach(s->pending, i, rec) {
		const char *why = NULL;
		int created = 0;
		if (rc == 0) {
			int r = vc_host_upsert_json(ctx, rec, "velociraptor", &why, &created);
			if (r == VC_EINVAL)
				s->bad = jv_array_append(s->bad, jv_string_fmt("client row %d: %s", i + 1,
				    why ? why : ctx->errmsg));
			else if (r != 0)
				rc = r;
			else
				created ? s->created++ : s->updated++;
		}
		jv_free(rec);
	}
	/* One event for the batch's new hosts, not one per host. */
	if (rc == 0 && s->created > 0)
		rc = vc_event_emit(ctx, "host.new", JV_OBJECT(jv_string("count"),
		    jv_number((double)s->created), jv_string("subject"),
		    jv_string_fmt("%ld new hosts", s->created), jv_string("source"),
		    jv_string("velociraptor"), jv_string("by"), jv_string(ctx->who.username)), NULL);
	return rc;
}

/* The client rows in hand become hosts, in a transaction written again
 * when it gave way to another (the rows are still in memory). */
static int
sync_pending(struct sink *k)
{
	vc_ctx *ctx = k->ctx;
	struct sync_tx s = { .pending = k->pending, .bad = jv_array() };
	int rc;

	if (jv_array_length(jv_copy(k->pending)) == 0) {
		jv_free(s.bad);
		return 0;
	}
	rc = vc_tx_run(ctx, 0, sync_body, &s);
	if (rc == 0) {
		k->created += s.created;
		k->updated += s.updated;
	}
	/* Bad rows are bad whatever became of the batch: each said once. */
	jv_array_foreach(s.bad, i, why) {
		k->bad++;
		vc_bad(ctx, "%s", jv_string_value(why));
		jv_free(why);
	}
	jv_free(s.bad);
	jv_free(k->pending);
	k->pending = jv_array();
	if (rc != 0)
		return refail(ctx, rc, "hosts from Velociraptor not stored: ");
	return 0;
}

static int
on_row(void *arg, const char *json, size_t n)
{
	struct sink *k = arg;
	vc_ctx *ctx = k->ctx;
	int rc;

	if (k->w != NULL) {
		rc = vc_artifact_write(k->w, json, n);
		if (rc == VC_EINVAL) {
			k->bad++;
			vc_bad(ctx, "row from Velociraptor: %s", ctx->errmsg);
		} else if (rc != 0) {
			k->failed = 1;
			return 1;
		}
	}
	if (k->sync || k->keep_last) {
		jv v = jv_parse_sized(json, (int)n);
		if (k->keep_last) {
			jv_free(k->last);
			k->last = jv_copy(v);
		}
		if (k->sync)
			k->pending = jv_array_append(k->pending, v);
		else
			jv_free(v);
	}
	if (!k->quiet && vc_emit_raw(ctx, json, n, &k->collect) != 0) {
		k->gone = 1;
		return 1;
	}
	return 0;
}

static void
on_batch(void *arg)
{
	struct sink *k = arg;

	if (k->failed)
		return;
	if (k->w != NULL && vc_artifact_flush(k->w) != 0)
		k->failed = 1;
	if (k->sync && sync_pending(k) != 0)
		k->failed = 1;
}

static void
on_log(void *arg, const char *line)
{
	struct sink *k = arg;

	/* The first error line becomes the call's error message (lib/vr.c);
	 * report the others, which a progress line would only flash. */
	if (strncmp(line, "ERROR:", 6) == 0 || strstr(line, "VQL Error") != NULL ||
	    strstr(line, "Timeout Error") != NULL) {
		if (k->error_logs++ > 0)
			vc_bad(k->ctx, "Velociraptor: %s", line);
		return;
	}
	if (k->ctx->progress != NULL)
		k->ctx->progress(k->ctx, line, k->ctx->stream_arg);
}

static void
sink_init(struct sink *k, vc_ctx *ctx)
{
	memset(k, 0, sizeof *k);
	k->ctx = ctx;
	k->collect = jv_array();
	k->pending = jv_array();
	k->last = jv_invalid();
}

static void
sink_release(struct sink *k)
{
	jv_free(k->collect);
	jv_free(k->pending);
	jv_free(k->last);
}

/*
 * Run vql with env on the tenant's Velociraptor into sink k.  A store
 * error inside the sink wins over the query's own result.
 */
static int
run(vc_ctx *ctx, const char *vql, const struct vc_vr_env *env, int nenv, struct sink *k,
    uint64_t timeout, struct vc_vr_result *res)
{
	struct vc_vr_config cfg;
	struct vc_vr_query q;
	char org[128];
	int rc;

	if ((rc = load_config(ctx, &cfg, org, sizeof org)) != 0)
		return rc;
	memset(&q, 0, sizeof q);
	q.vql = vql;
	q.env = env;
	q.nenv = nenv;
	q.max_row = 1000;
	q.timeout = timeout;
	q.org_id = org;
	q.row = on_row;
	q.batch_end = on_batch;
	q.log = on_log;
	q.arg = k;
	ctx->err = 0;
	rc = vc_vr_query(ctx, &cfg, &q, res);
	vc_vr_config_release(&cfg);
	if (k->failed)
		return ctx->err ? ctx->err : VC_EINTERNAL;
	if (rc == 0 && k->sync)
		rc = sync_pending(k);
	return rc;
}

/* The rows collected (HTTP, tables) or an empty array (they streamed). */
static jv
rows_out(struct sink *k)
{
	jv r = k->collect;

	k->collect = jv_array();
	return r;
}

/*
 * Run a query whose answer is one row and keep it: *row gets the last row
 * (jv_invalid when none came).  res (may be NULL) gets how the call went.
 */
static int
one_row_res(vc_ctx *ctx, const char *vql, const struct vc_vr_env *env, int nenv,
    uint64_t timeout, struct vc_vr_result *res, jv *row)
{
	struct sink k;
	struct vc_vr_result r;
	int rc;

	sink_init(&k, ctx);
	k.quiet = 1;
	k.keep_last = 1;
	rc = run(ctx, vql, env, nenv, &k, timeout, res != NULL ? res : &r);
	*row = k.last;
	k.last = jv_invalid();
	sink_release(&k);
	if (rc != 0) {
		jv_free(*row);
		*row = jv_invalid();
	}
	return rc;
}

/* Run a query: its rows streamed out (or collected into *out when it succeeds). */
static int
query_rows(vc_ctx *ctx, const char *vql, const struct vc_vr_env *env, int nenv, uint64_t timeout,
    jv *out)
{
	struct sink k;
	struct vc_vr_result res;
	int rc;

	sink_init(&k, ctx);
	rc = run(ctx, vql, env, nenv, &k, timeout, &res);
	if (rc == 0)
		*out = rows_out(&k);
	sink_release(&k);
	return rc;
}

static int
one_row(vc_ctx *ctx, const char *vql, const struct vc_vr_env *env, int nenv, jv *row)
{
	return one_row_res(ctx, vql, env, nenv, 60, NULL, row);
}

/* Copy the string at row.a.b (row borrowed) into buf, when there is one. */
static void
str_at(jv row, const char *a, const char *b, char *buf, size_t n)
{
	jv x = jv_get_kind(row) == JV_KIND_OBJECT ? jv_object_get(jv_copy(row), jv_string(a)) :
	    jv_invalid();
	jv y = jv_get_kind(x) == JV_KIND_OBJECT ? jv_object_get(jv_copy(x), jv_string(b)) : jv_invalid();

	if (jv_get_kind(y) == JV_KIND_STRING)
		snprintf(buf, n, "%s", jv_string_value(y));
	jv_free(y);
	jv_free(x);
}

/* Open an artifact for --store. */
static int
store_open(vc_ctx *ctx, jv args, const char *name, const char *client, const char *flow,
    const char *hunt, struct sink *k)
{
	struct vc_artifact_spec spec = {
		.name = name, .case_key = vc_arg_str(args, "case"), .flow = flow, .hunt = hunt,
		.source = "velociraptor",
	};
	char host[VC_ID_LEN + 1];

	if (ctx->who.role < VC_ROLE_ANALYST)
		return vc_fail(ctx, VC_EPERM, "--store needs the analyst role; you are %s",
		    vc_role_name(ctx->who.role));
	/* A flow's rows are one client's: link them to its host when we know it. */
	if (client != NULL && vc_host_resolve(ctx, client, host) == 0)
		spec.host = client;
	ctx->err = 0;
	ctx->denied = 0;
	return vc_artifact_open(ctx, &spec, &k->w);
}

static int
store_close(struct sink *k, int rc, jv *out)
{
	jv sum = jv_invalid();
	int how = rc == 0 ? VC_ARTIFACT_COMPLETE : VC_ARTIFACT_PARTIAL;
	int r2;

	if (k->w == NULL)
		return rc;
	r2 = vc_artifact_close(k->w, how, rc ? k->ctx->errmsg : NULL, &sum);
	k->w = NULL;
	if (rc == 0 && r2 != 0)
		rc = r2;
	if (rc == 0 && out != NULL) {
		jv_free(*out);
		*out = JV_OBJECT(jv_string("stored"), sum);
	} else
		jv_free(sum);
	return rc;
}

/* The "artifact" argument as Name, or Name/Source. */
static int
artifact_arg(vc_ctx *ctx, jv args, int required, const char **out)
{
	const char *a = vc_arg_str(args, "artifact");

	*out = a;
	if (a == NULL)
		return required ? vc_fail(ctx, VC_EUSAGE, "give --artifact NAME") : 0;
	if (strlen(a) > 200 || strpbrk(a, "'\"`\\\n\r") != NULL)
		return vc_fail(ctx, VC_EUSAGE, "not an artifact name: %.64s", a);
	return 0;
}

/* KEY=VALUE parameters as a JSON object text (the env "Params"). */
static int
params_json(vc_ctx *ctx, jv args, jv *text)
{
	jv ps = jv_object_get(jv_copy(args), jv_string("param")), o = jv_object();

	if (jv_get_kind(ps) == JV_KIND_STRING)
		ps = JV_ARRAY(ps);
	if (jv_get_kind(ps) == JV_KIND_ARRAY) {
		jv_array_foreach(ps, i, p) {
			const char *s = jv_string_value(p), *eq = strchr(s, '=');
			if (eq == NULL || eq == s) {
				int rc = vc_fail(ctx, VC_EUSAGE, "--param takes KEY=VALUE, not '%.64s'", s);
				jv_free(p);
				jv_free(ps);
				jv_free(o);
				return rc;
			}
			o = jv_object_set(o, jv_string_sized(s, (int)(eq - s)), jv_string(eq + 1));
			jv_free(p);
		}
	}
	jv_free(ps);
	*text = jv_dump_string(o, 0);
	return 0;
}

static uint64_t
arg_seconds(jv args, const char *key, uint64_t def)
{
	jv v = jv_object_get(jv_copy(args), jv_string(key));
	uint64_t r = jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) > 0 ?
	    (uint64_t)jv_number_value(v) : def;

	jv_free(v);
	return r;
}

/* ---- config test, clients ------------------------------------------------ */

int
vc_op_vr_config_test(vc_ctx *ctx, jv args, jv *out)
{
	struct vc_vr_result res;
	jv info, host;
	int rc;

	if ((rc = one_row_res(ctx, "SELECT * FROM info()", NULL, 0, 30, &res, &info)) != 0)
		return rc;
	host = jv_is_valid(info) ? jv_object_get(jv_copy(info), jv_string("Hostname")) : jv_null();
	*out = JV_OBJECT(jv_string("ok"), jv_true(),
	    jv_string("server"), jv_is_valid(host) ? host : jv_null(),
	    jv_string("tls"), jv_string(res.tls_version),
	    jv_string("http"), jv_string(res.http_version),
	    jv_string("latency_ms"), jv_number((double)(int64_t)(res.seconds * 1000 + 0.5)));
	if (!jv_is_valid(host))
		jv_free(host);
	if (jv_is_valid(info))
		*out = jv_object_set(*out, jv_string("info"), info);
	return 0;
}

int
vc_op_vr_clients(vc_ctx *ctx, jv args, jv *out)
{
	const char *search = vc_arg_str(args, "search"), *label = vc_arg_str(args, "label");
	int sync = vc_arg_bool(args, "sync");
	char s[300];
	struct vc_vr_env env[1];
	struct sink k;
	struct vc_vr_result res;
	int rc;

	if (search != NULL && label != NULL)
		return vc_fail(ctx, VC_EUSAGE, "give --search or --label, not both");
	if (sync && ctx->who.role < VC_ROLE_ANALYST)
		return vc_fail(ctx, VC_EPERM, "--sync needs the analyst role; you are %s",
		    vc_role_name(ctx->who.role));
	if (label != NULL)
		snprintf(s, sizeof s, "label:%.256s", label);
	else
		snprintf(s, sizeof s, "%.256s", search ? search : "all");
	env[0] = (struct vc_vr_env){ "Search", s };
	sink_init(&k, ctx);
	k.sync = sync;
	k.quiet = sync;
	rc = run(ctx, "SELECT * FROM clients(search=Search)", env, 1, &k, 120, &res);
	if (rc == 0) {
		if (sync) {
			*out = JV_OBJECT(jv_string("clients"), jv_number(res.rows),
			    jv_string("created"), jv_number(k.created), jv_string("updated"), jv_number(k.updated),
			    jv_string("bad"), jv_number(k.bad));
			struct record r = { .action = "velociraptor.clients.sync", .type = "host",
				.details = *out };
			rc = record(ctx, &r, "the clients are synced");
		} else
			*out = rows_out(&k);
	}
	sink_release(&k);
	return rc;
}

/* The same over HTTP, where a GET must not write: POST .../clients/sync. */
int
vc_op_vr_clients_sync(vc_ctx *ctx, jv args, jv *out)
{
	jv a = jv_object_set(jv_copy(args), jv_string("sync"), jv_true());
	int rc = vc_op_vr_clients(ctx, a, out);

	jv_free(a);
	return rc;
}

int
vc_op_vr_client(vc_ctx *ctx, jv args, jv *out)
{
	struct vc_vr_env env[1] = { { "ClientId", vc_arg_str(args, "client_id") } };
	int rc = one_row(ctx, "SELECT * FROM clients(client_id=ClientId)", env, 1, out);

	if (rc == 0 && !jv_is_valid(*out))
		rc = vc_fail(ctx, VC_ENOTFOUND, "Velociraptor has no client %.64s", env[0].value);
	return rc;
}

/* ---- flows ---------------------------------------------------------------- */

static int
get_flow(vc_ctx *ctx, const char *client, const char *flow, jv *out)
{
	struct vc_vr_env env[2] = { { "ClientId", client }, { "FlowId", flow } };
	jv row, f;
	int rc = one_row(ctx, "SELECT get_flow(client_id=ClientId, flow_id=FlowId) AS Flow FROM scope()",
	    env, 2, &row);

	if (rc != 0)
		return rc;
	f = jv_is_valid(row) ? jv_object_get(row, jv_string("Flow")) : row;
	if (jv_get_kind(f) != JV_KIND_OBJECT) {
		jv_free(f);
		return vc_fail(ctx, VC_ENOTFOUND, "Velociraptor has no flow %.64s on %.64s", flow, client);
	}
	*out = f;
	return 0;
}

static const char *
flow_state(jv flow, char *buf, size_t n)
{
	jv s = jv_object_get(jv_copy(flow), jv_string("state"));

	snprintf(buf, n, "%s", jv_get_kind(s) == JV_KIND_STRING ? jv_string_value(s) : "UNSET");
	jv_free(s);
	return buf;
}

/* Poll a flow until it ends (FINISHED or ERROR) or timeout seconds pass. */
static int
wait_flow(vc_ctx *ctx, const char *client, const char *flow, uint64_t timeout, jv *last)
{
	int64_t start = vc_now(ctx);
	unsigned interval = 1;
	char state[32], msg[200];
	int rc;

	*last = jv_invalid();
	for (;;) {
		jv f;
		if ((rc = get_flow(ctx, client, flow, &f)) != 0)
			return rc;
		flow_state(f, state, sizeof state);
		jv_free(*last);
		*last = f;
		if (strcmp(state, "FINISHED") == 0 || strcmp(state, "ERROR") == 0)
			return 0;
		if ((uint64_t)(vc_now(ctx) - start) >= timeout)
			return vc_fail(ctx, VC_ETEMP, "flow %.64s on %.64s still %s after %llu s", flow, client,
			    state, (unsigned long long)timeout);
		if (ctx->progress != NULL) {
			snprintf(msg, sizeof msg, "flow %s on %s: %s, %llds", flow, client, state,
			    (long long)(vc_now(ctx) - start));
			ctx->progress(ctx, msg, ctx->stream_arg);
		}
		if (ctx->tick != NULL && (rc = ctx->tick(ctx, ctx->tick_arg)) != 0)
			return rc;
		vc_sleep(interval);
		if (interval < 5)
			interval++;
	}
}

/* A query of result rows, and what --store links them to. */
struct results {
	const char *vql;
	const struct vc_vr_env *env;
	int nenv;
	uint64_t timeout;
	const char *artifact, *client, *flow, *hunt;
};

/*
 * Result rows: streamed out, and with --store kept as an artifact.
 * quiet, or --store where nothing streams (HTTP): only the summary of
 * what was stored comes back, never a whole result held in memory.
 */
static int
result_rows(vc_ctx *ctx, jv args, const struct results *q, int quiet, jv *out)
{
	struct sink k;
	struct vc_vr_result res;
	int store = vc_arg_bool(args, "store"), rc = 0;

	sink_init(&k, ctx);
	k.quiet = quiet || (store && ctx->emit_raw == NULL);
	if (store)
		rc = store_open(ctx, args, q->artifact, q->client, q->flow, q->hunt, &k);
	if (rc == 0) {
		rc = run(ctx, q->vql, q->env, q->nenv, &k, q->timeout, &res);
		*out = rows_out(&k);
		rc = store_close(&k, rc, k.quiet ? out : NULL);
	}
	sink_release(&k);
	return rc;
}

/* A flow's rows (result_rows). */
static int
flow_rows(vc_ctx *ctx, jv args, const char *client, const char *flow, const char *artifact,
    int quiet, jv *out)
{
	struct vc_vr_env env[3] = { { "ClientId", client }, { "FlowId", flow }, { "Artifact", artifact } };
	struct results q = {
		"SELECT * FROM source(client_id=ClientId, flow_id=FlowId, artifact=Artifact)", env, 3,
		arg_seconds(args, "timeout", 600), artifact, client, flow, NULL,
	};

	return result_rows(ctx, args, &q, quiet, out);
}

int
vc_op_vr_flow(vc_ctx *ctx, jv args, jv *out)
{
	return get_flow(ctx, vc_arg_str(args, "client_id"), vc_arg_str(args, "flow_id"), out);
}

int
vc_op_vr_flow_results(vc_ctx *ctx, jv args, jv *out)
{
	const char *artifact;
	int rc;

	if ((rc = artifact_arg(ctx, args, 1, &artifact)) != 0)
		return rc;
	return flow_rows(ctx, args, vc_arg_str(args, "client_id"), vc_arg_str(args, "flow_id"),
	    artifact, 0, out);
}

/*
 * The name a finished flow's rows are under, for source(): the artifact,
 * or its one source when it has sources (the rows of Generic.Client.Info
 * are under Generic.Client.Info/BasicInformation; the artifact's own name
 * gives none).  Several sources: the caller must pick one.
 */
static int
results_name(vc_ctx *ctx, jv flow, const char *artifact, char *buf, size_t n)
{
	jv names = jv_object_get(jv_copy(flow), jv_string("artifacts_with_results"));
	size_t al = strlen(artifact);
	int sources = 0, exact = 0;
	char list[200] = "";

	snprintf(buf, n, "%s", artifact);
	if (jv_get_kind(names) == JV_KIND_ARRAY) {
		jv_array_foreach(names, i, v) {
			const char *s = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "";
			if (strcmp(s, artifact) == 0)
				exact = 1;
			else if (strncmp(s, artifact, al) == 0 && s[al] == '/') {
				if (sources++ == 0)
					snprintf(buf, n, "%s", s);
				snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
				    sources > 1 ? ", " : "", s);
			}
			jv_free(v);
		}
	}
	jv_free(names);
	if (exact)
		snprintf(buf, n, "%s", artifact);
	else if (sources > 1)
		return vc_fail(ctx, VC_EUSAGE, "%.64s has results in several sources (%s): keep each with "
		    "'vc-hunt flow results CLIENT_ID FLOW_ID --artifact NAME/SOURCE --store'", artifact, list);
	return 0;
}

int
vc_op_vr_collect(vc_ctx *ctx, jv args, jv *out)
{
	const char *client = vc_arg_str(args, "client"), *artifact;
	uint64_t timeout = arg_seconds(args, "timeout", 600);
	int store = vc_arg_bool(args, "store"), wait = vc_arg_bool(args, "wait") || store;
	char tmo[24], flow_id[128] = "", state[32], source[256];
	struct vc_vr_env env[4];
	jv params, flow = jv_invalid(), arts, row;
	int rc;

	/* Whether this caller may collect it, before anything is sent. */
	if ((rc = artifact_arg(ctx, args, 1, &artifact)) != 0 ||
	    (rc = vc_artifact_name_check(ctx, artifact)) != 0 ||
	    (rc = vc_allowlist_check(ctx, artifact)) != 0 ||
	    (rc = params_json(ctx, args, &params)) != 0)
		return rc;
	snprintf(tmo, sizeof tmo, "%llu", (unsigned long long)timeout);
	env[0] = (struct vc_vr_env){ "ClientId", client };
	arts = jv_dump_string(JV_ARRAY(jv_string(artifact)), 0);
	env[1] = (struct vc_vr_env){ "Artifacts", jv_string_value(arts) };
	env[2] = (struct vc_vr_env){ "Params", jv_string_value(params) };
	env[3] = (struct vc_vr_env){ "Timeout", tmo };
	rc = one_row(ctx, "SELECT collect_client(client_id=ClientId, artifacts=parse_json(data=Artifacts),"
	    " env=parse_json(data=Params), timeout=int(int=Timeout)) AS Flow FROM scope()",
	    env, 4, &row);
	jv_free(params);
	jv_free(arts);
	if (rc == 0) {
		str_at(row, "Flow", "flow_id", flow_id, sizeof flow_id);
		if (flow_id[0] == '\0')
			rc = vc_fail(ctx, VC_EINVAL, "Velociraptor scheduled no flow for %.64s (unknown client?)",
			    client);
	}
	jv_free(row);
	if (rc != 0)
		return rc;
	vc_audit_target(ctx, "flow", flow_id);
	*out = JV_OBJECT(jv_string("client_id"), jv_string(client), jv_string("flow_id"),
	    jv_string(flow_id), jv_string("artifact"), jv_string(artifact));
	/* The collection is scheduled whatever happens next: audit it now. */
	{
		struct record r = { .action = "velociraptor.collect", .type = "flow", .id = flow_id,
			.details = *out };
		char done[300];
		snprintf(done, sizeof done, "flow %.64s on %.64s is scheduled", flow_id, client);
		if ((rc = record(ctx, &r, done)) != 0)
			return rc;
	}
	if (!wait)
		return 0;
	if ((rc = wait_flow(ctx, client, flow_id, timeout, &flow)) != 0) {
		jv_free(flow);
		return rc;
	}
	flow_state(flow, state, sizeof state);
	rc = store && strcmp(state, "ERROR") != 0 ?
	    results_name(ctx, flow, artifact, source, sizeof source) : 0;
	*out = jv_object_set(*out, jv_string("state"), jv_string(state));
	*out = jv_object_set(*out, jv_string("flow"), flow);
	if (strcmp(state, "ERROR") == 0)
		return vc_fail(ctx, VC_EINVAL, "flow %.64s on %.64s ended in ERROR", flow_id, client);
	if (rc == 0 && store) {
		jv stored = jv_invalid();
		if ((rc = flow_rows(ctx, args, client, flow_id, source, 1, &stored)) == 0) {
			jv a = jv_object_get(stored, jv_string("stored"));
			*out = jv_object_set(*out, jv_string("stored"), a);
		} else
			jv_free(stored);
	}
	return rc;
}

/* ---- hunts ---------------------------------------------------------------- */

static int
hunt_row(vc_ctx *ctx, const char *hunt_id, jv *out)
{
	struct vc_vr_env env[1] = { { "HuntId", hunt_id } };
	int rc = one_row(ctx, "SELECT * FROM hunts(hunt_id=HuntId)", env, 1, out);

	if (rc == 0 && !jv_is_valid(*out))
		rc = vc_fail(ctx, VC_ENOTFOUND, "Velociraptor has no hunt %.64s", hunt_id);
	return rc;
}

static double
num_at(jv o, const char *a, const char *b)
{
	jv v = jv_object_get(jv_copy(o), jv_string(a));
	double d = 0;

	if (b != NULL && jv_get_kind(v) == JV_KIND_OBJECT)
		v = jv_object_get(v, jv_string(b));
	if (jv_get_kind(v) == JV_KIND_NUMBER)
		d = jv_number_value(v);
	else if (jv_get_kind(v) == JV_KIND_STRING)
		d = strtod(jv_string_value(v), NULL);   /* protobuf JSON: 64-bit ints as text */
	jv_free(v);
	return d;
}

static int
wait_hunt(vc_ctx *ctx, const char *hunt_id, uint64_t timeout, jv *last)
{
	int64_t start = vc_now(ctx);
	unsigned interval = 1;
	char msg[200];
	int rc;

	*last = jv_invalid();
	for (;;) {
		jv h, st;
		double sched, fin;
		const char *state;
		if ((rc = hunt_row(ctx, hunt_id, &h)) != 0)
			return rc;
		st = jv_object_get(jv_copy(h), jv_string("state"));
		state = jv_get_kind(st) == JV_KIND_STRING ? jv_string_value(st) : "UNSET";
		sched = num_at(h, "stats", "total_clients_scheduled");
		fin = num_at(h, "stats", "total_finished_clients");
		jv_free(*last);
		*last = h;
		if (strcmp(state, "STOPPED") == 0 || strcmp(state, "ARCHIVED") == 0 ||
		    (sched > 0 && fin >= sched)) {
			jv_free(st);
			return 0;
		}
		if ((uint64_t)(vc_now(ctx) - start) >= timeout) {
			rc = vc_fail(ctx, VC_ETEMP, "hunt %.64s: %.0f of %.0f clients finished after %llu s",
			    hunt_id, fin, sched, (unsigned long long)timeout);
			jv_free(st);
			return rc;
		}
		if (ctx->progress != NULL) {
			snprintf(msg, sizeof msg, "hunt %s: %s, %.0f/%.0f clients finished, %llds", hunt_id,
			    state, fin, sched, (long long)(vc_now(ctx) - start));
			ctx->progress(ctx, msg, ctx->stream_arg);
		}
		jv_free(st);
		if (ctx->tick != NULL && (rc = ctx->tick(ctx, ctx->tick_arg)) != 0)
			return rc;
		vc_sleep(interval);
		if (interval < 5)
			interval++;
	}
}

/*
 * hunt.completed, when a --wait saw the hunt end.  Velociraptor, not we,
 * ran the hunt: a store too busy to take the event loses it, and the
 * command still succeeds.
 */
static void
hunt_done_event(vc_ctx *ctx, const char *hunt_id, jv last)
{
	jv st = jv_object_get(jv_copy(last), jv_string("state"));
	struct record r = { .event = "hunt.completed" };
	int err = ctx->err;

	r.body = JV_OBJECT(jv_string("hunt_id"), jv_string(hunt_id),
	    jv_string("subject"), jv_string(hunt_id), jv_string("state"),
	    jv_get_kind(st) == JV_KIND_STRING ? st : (jv_free(st), jv_null()),
	    jv_string("clients_scheduled"), jv_number(num_at(last, "stats", "total_clients_scheduled")),
	    jv_string("clients_finished"), jv_number(num_at(last, "stats", "total_finished_clients")));
	(void)vc_tx_run(ctx, 0, record_body, &r);
	jv_free(r.body);
	ctx->err = err;
}

#define IDEM_STALE_S 300        /* a key held longer, with no hunt: its holder died */
#define IDEM_WAIT_MS 90000      /* how long a request waits for its key's hunt */
#define IDEM_POLL_MS 100

/*
 * Take an idempotency key before Velociraptor is asked for a hunt: a row
 * of hunt_requests with no hunt yet (hunt_id ''), inserted or nothing,
 * so that of two requests with one key at once (two instances, two
 * workers) only one asks for a hunt.  0 with hunt_id set: the key has
 * its hunt.  0 with hunt_id "": the key is the caller's, to record the
 * hunt under (idem_record) or give back (idem_release).  The other
 * request waits, up to IDEM_WAIT_MS, for the hunt of the one that holds
 * the key, and takes over a key held past IDEM_STALE_S; VC_ETEMP when
 * the wait runs out.
 */
static int
idem_take(vc_ctx *ctx, const char *key, char *hunt_id, size_t n)
{
	struct timespec ts = { 0, IDEM_POLL_MS * 1000000L };
	vc_stmt *q;
	int rc, changed, waited = 0;

	for (;;) {
		int64_t now = vc_now(ctx), at = 0;
		int found;

		hunt_id[0] = '\0';
		changed = 0;
		if ((rc = vc_sql_exec(ctx, "INSERT OR IGNORE INTO hunt_requests (tenant_id, idem_key, hunt_id,"
		    " created_at) VALUES (?1, ?2, '', ?3)", &changed, "ssi", ctx->who.tenant_id, key,
		    now)) != 0)
			return rc;
		if (changed == 1)
			return 0;
		q = vc_sql(ctx, "SELECT hunt_id, created_at FROM hunt_requests WHERE tenant_id = ?1"
		    " AND idem_key = ?2", "ss", ctx->who.tenant_id, key);
		if (q == NULL)
			return ctx->err;
		if ((found = vc_sql_step(ctx, q)) == 1) {
			snprintf(hunt_id, n, "%s", (const char *)vc_col_text(q, 0));
			at = vc_col_int64(q, 1);
		}
		vc_stmt_done(q);
		if (found < 0)
			return ctx->err;
		if (hunt_id[0] != '\0')
			return 0;
		if (found == 0)
			continue;       /* given back: take it */
		if (at < now - IDEM_STALE_S) {
			if ((rc = vc_sql_exec(ctx, "UPDATE hunt_requests SET created_at = ?3 WHERE tenant_id = ?1"
			    " AND idem_key = ?2 AND hunt_id = '' AND created_at = ?4", &changed, "ssii",
			    ctx->who.tenant_id, key, now, at)) != 0)
				return rc;
			if (changed == 1)
				return 0;
			continue;
		}
		if (waited >= IDEM_WAIT_MS)
			return vc_fail(ctx, VC_ETEMP, "another request with idempotency key %.128s is"
			    " creating its hunt: try again", key);
		vc_wait_begin();
		(void)nanosleep(&ts, NULL);
		vc_wait_end();
		waited += IDEM_POLL_MS;
	}
}

/* The key taken by idem_take goes back: no hunt was made. */
static void
idem_release(vc_ctx *ctx, const char *key)
{
	int err = ctx->err;
	char msg[sizeof ctx->errmsg];

	snprintf(msg, sizeof msg, "%s", ctx->errmsg);
	(void)vc_sql_exec(ctx, "DELETE FROM hunt_requests WHERE tenant_id = ?1 AND idem_key = ?2"
	    " AND hunt_id = ''", NULL, "ss", ctx->who.tenant_id, key);
	ctx->err = err;
	snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", msg);
}

/* hunt() takes its parameters in spec= ({artifact: {param: value}}): it has no env=. */
#define VQL_HUNT(condition) "SELECT hunt(description=Description," \
	" artifacts=parse_json(data=Artifacts), spec=parse_json(data=Spec)," \
	" expires=timestamp(epoch=Expires), tags=parse_json(data=Tags)" condition \
	") AS Hunt FROM scope()"

int
vc_op_vr_hunt_create(vc_ctx *ctx, jv args, jv *out)
{
	const char *artifact, *label = vc_arg_str(args, "label"), *os = vc_arg_str(args, "os");
	const char *desc = vc_arg_str(args, "description"), *key = vc_arg_str(args, "idempotency_key");
	char exp[24], tag[200] = "vc", hunt_id[128] = "";
	const char *vql;
	struct vc_vr_env env[7];
	int nenv = 0, rc;
	jv params, h, arts, spec, tags, labels = jv_invalid(), row;

	if ((rc = artifact_arg(ctx, args, 1, &artifact)) != 0)
		return rc;
	if (label != NULL && os != NULL)
		return vc_fail(ctx, VC_EUSAGE, "give --label or --os, not both (Velociraptor takes one condition)");
	if (key != NULL && (strlen(key) == 0 || strlen(key) > 128))
		return vc_fail(ctx, VC_EUSAGE, "an idempotency key is 1 to 128 characters");
	/* A rerun with the same key gets the hunt of the first run. */
	if (key != NULL) {
		if ((rc = idem_take(ctx, key, hunt_id, sizeof hunt_id)) != 0)
			return rc;
		if (hunt_id[0] != '\0') {
			if ((rc = hunt_row(ctx, hunt_id, &h)) != 0)
				return rc;
			*out = JV_OBJECT(jv_string("hunt_id"), jv_string(hunt_id), jv_string("existing"), jv_true(),
			    jv_string("hunt"), h);
			ctx->audited = 1;   /* nothing changed */
			goto waiting;
		}
		snprintf(tag, sizeof tag, "vc:idem:%s", key);
	}
	if ((rc = params_json(ctx, args, &params)) != 0) {
		if (key != NULL)
			idem_release(ctx, key);
		return rc;
	}
	/* Artifacts, Spec, Tags and Labels travel as JSON text in env. */
	arts = jv_dump_string(JV_ARRAY(jv_string(artifact)), 0);
	spec = jv_dump_string(JV_OBJECT(jv_string(artifact), jv_parse(jv_string_value(params))), 0);
	tags = jv_dump_string(JV_ARRAY(jv_string(tag)), 0);
	snprintf(exp, sizeof exp, "%lld",
	    (long long)(vc_now(ctx) + (int64_t)arg_seconds(args, "expires", 7 * 86400)));
	env[nenv++] = (struct vc_vr_env){ "Artifacts", jv_string_value(arts) };
	env[nenv++] = (struct vc_vr_env){ "Spec", jv_string_value(spec) };
	env[nenv++] = (struct vc_vr_env){ "Description", desc ? desc : "VelociCompanion hunt" };
	env[nenv++] = (struct vc_vr_env){ "Expires", exp };
	env[nenv++] = (struct vc_vr_env){ "Tags", jv_string_value(tags) };
	/* The condition changes which arguments exist, never what they hold. */
	if (label != NULL) {
		labels = jv_dump_string(JV_ARRAY(jv_string(label)), 0);
		env[nenv++] = (struct vc_vr_env){ "Labels", jv_string_value(labels) };
		vql = VQL_HUNT(", include_labels=parse_json(data=Labels)");
	} else if (os != NULL) {
		env[nenv++] = (struct vc_vr_env){ "OS", os };
		vql = VQL_HUNT(", os=OS");
	} else
		vql = VQL_HUNT("");
	rc = one_row(ctx, vql, env, nenv, &row);
	jv_free(params);
	jv_free(arts);
	jv_free(spec);
	jv_free(tags);
	jv_free(labels);
	if (rc == 0) {
		str_at(row, "Hunt", "HuntId", hunt_id, sizeof hunt_id);
		if (hunt_id[0] == '\0')
			rc = vc_fail(ctx, VC_EINVAL, "Velociraptor made no hunt");
	}
	jv_free(row);
	if (rc != 0) {
		if (key != NULL)
			idem_release(ctx, key);
		return rc;
	}
	vc_audit_target(ctx, "hunt", hunt_id);
	*out = JV_OBJECT(jv_string("hunt_id"), jv_string(hunt_id), jv_string("artifact"),
	    jv_string(artifact), jv_string("existing"), jv_false());
	/* The hunt under its key, its audit record and its event. */
	{
		struct record r = { .key = key, .hunt_id = hunt_id, .action = "velociraptor.hunts.create",
			.type = "hunt", .id = hunt_id, .details = *out, .event = "hunt.created" };
		char done[200];
		r.body = JV_OBJECT(jv_string("hunt_id"), jv_string(hunt_id),
		    jv_string("subject"), jv_string(hunt_id), jv_string("artifact"), jv_string(artifact),
		    jv_string("description"), desc ? jv_string(desc) : jv_null(), jv_string("by"),
		    jv_string(ctx->who.username));
		snprintf(done, sizeof done, "hunt %.64s is made on Velociraptor", hunt_id);
		rc = record(ctx, &r, done);
		jv_free(r.body);
		if (rc != 0)
			return rc;
	}
waiting:
	if (vc_arg_bool(args, "wait")) {
		jv last;
		if ((rc = wait_hunt(ctx, hunt_id, arg_seconds(args, "timeout", 3600), &last)) != 0) {
			jv_free(last);
			return rc;
		}
		hunt_done_event(ctx, hunt_id, last);
		*out = jv_object_set(*out, jv_string("hunt"), last);
	}
	return 0;
}

int
vc_hunt_wait_flow(vc_ctx *ctx, const char *client, const char *flow, uint64_t timeout, jv *last)
{
	return wait_flow(ctx, client, flow, timeout, last);
}

int
vc_hunt_wait_hunt(vc_ctx *ctx, const char *hunt_id, uint64_t timeout, jv *last)
{
	return wait_hunt(ctx, hunt_id, timeout, last);
}

int
vc_op_vr_hunts_list(vc_ctx *ctx, jv args, jv *out)
{
	return query_rows(ctx, "SELECT * FROM hunts()", NULL, 0, 120, out);
}

int
vc_op_vr_hunt_show(vc_ctx *ctx, jv args, jv *out)
{
	return hunt_row(ctx, vc_arg_str(args, "hunt_id"), out);
}

int
vc_op_vr_hunt_stop(vc_ctx *ctx, jv args, jv *out)
{
	const char *id = vc_arg_str(args, "hunt_id");
	struct vc_vr_env env[1] = { { "HuntId", id } };
	struct sink k;
	struct vc_vr_result res;
	int rc;

	sink_init(&k, ctx);
	k.quiet = 1;
	rc = run(ctx, "SELECT hunt_update(hunt_id=HuntId, stop=TRUE) AS Result FROM scope()", env, 1,
	    &k, 60, &res);
	sink_release(&k);
	if (rc != 0)
		return rc;
	vc_audit_target(ctx, "hunt", id);
	/* No transaction around the network call: audit after it. */
	{
		struct record r = { .action = "velociraptor.hunts.stop", .type = "hunt", .id = id,
			.details = jv_invalid() };
		char done[200];
		snprintf(done, sizeof done, "hunt %.64s is stopped on Velociraptor", id);
		if ((rc = record(ctx, &r, done)) != 0)
			return rc;
	}
	return hunt_row(ctx, id, out);
}

int
vc_op_vr_hunt_results(vc_ctx *ctx, jv args, jv *out)
{
	const char *id = vc_arg_str(args, "hunt_id"), *artifact;
	struct vc_vr_env env[2];
	struct results q = { .env = env, .nenv = 1, .hunt = id };
	int rc;

	if ((rc = artifact_arg(ctx, args, 0, &artifact)) != 0)
		return rc;
	if (vc_arg_bool(args, "store") && artifact == NULL)
		return vc_fail(ctx, VC_EUSAGE, "--store needs --artifact NAME (the name of the stored artifact)");
	env[0] = (struct vc_vr_env){ "HuntId", id };
	if (artifact != NULL)
		env[q.nenv++] = (struct vc_vr_env){ "Artifact", artifact };
	q.vql = artifact ? "SELECT * FROM hunt_results(hunt_id=HuntId, artifact=Artifact)" :
	    "SELECT * FROM hunt_results(hunt_id=HuntId)";
	q.timeout = arg_seconds(args, "timeout", 3600);
	q.artifact = artifact;
	return result_rows(ctx, args, &q, 0, out);
}

int
vc_op_vr_query(vc_ctx *ctx, jv args, jv *out)
{
	const char *vql = vc_arg_str(args, "vql");
	jv es = jv_object_get(jv_copy(args), jv_string("env"));
	struct vc_vr_env env[32];
	char *copies[32];
	int nenv = 0, rc = 0;

	if (vql == NULL || strlen(vql) > 65536) {
		jv_free(es);
		return vc_fail(ctx, VC_EUSAGE, "give the VQL (at most 64 KiB)");
	}
	if (jv_get_kind(es) == JV_KIND_STRING)
		es = JV_ARRAY(es);
	if (jv_get_kind(es) == JV_KIND_ARRAY) {
		jv_array_foreach(es, i, e) {
			const char *s = jv_string_value(e), *eq = strchr(s, '=');
			if (rc == 0 && (eq == NULL || eq == s || nenv == 32))
				rc = vc_fail(ctx, VC_EUSAGE, "--env takes KEY=VALUE (32 at most), not '%.64s'", s);
			if (rc == 0) {
				copies[nenv] = strdup(s);
				if (copies[nenv] == NULL)
					rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
				else {
					copies[nenv][eq - s] = '\0';
					env[nenv] = (struct vc_vr_env){ copies[nenv], copies[nenv] + (eq - s) + 1 };
					nenv++;
				}
			}
			jv_free(e);
		}
	}
	jv_free(es);
	if (rc == 0)
		rc = query_rows(ctx, vql, env, nenv, arg_seconds(args, "timeout", 600), out);
	for (int i = 0; i < nenv; i++)
		free(copies[i]);
	return rc;
}
