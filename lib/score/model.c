/* SPDX-License-Identifier: MIT */
/*
 * model.c - an unsupervised outlier model of hosts: per-host features
 * from the tenant's stored artifact rows, and an isolation forest
 * (Liu, Ting and Zhou, 2008) over all hosts.  A host that random
 * axis-parallel cuts separate from the rest in few steps is unlike its
 * fleet; that is a reason to look, never a verdict, hence a weight of at
 * most VC_MODEL_MAX_WEIGHT.
 *
 * Features (vector order, from the most to the least telling: ties in
 * the evidence go to the earlier one; shares are of the host's process
 * rows):
 *   user_writable_share  share run from \Temp\, \AppData\, \Users\Public\,
 *                        \ProgramData\, /tmp/, /var/tmp/, /dev/shm/
 *   untrusted_share      share with Authenticode.Trusted untrusted or unsigned
 *   encoded_share        share with an encoded PowerShell command line
 *   heuristic_share      share on which any heuristic (lib/heuristics.c) fires
 *   rare_exes            executables of this host seen on no other host
 *   listening_ports      distinct listening local ports (Netstat rows)
 *   remote_addrs         distinct remote addresses (Netstat rows)
 *   processes            process rows (Pslist-like rows)
 *   distinct_exes        distinct executables (Exe/Image, else Name, case folded)
 *
 * A process row is a row of an artifact whose name has "pslist" or
 * "process" in it, or any row with Pid and Exe, Image or CommandLine
 * (Name alone is not enough: service and handle rows have one) that is
 * not a network row; a network row is one of a "netstat" artifact or one
 * with Laddr.
 *
 * Determinism: hosts are ordered by id, the forest's generator is
 * splitmix64 from a fixed seed, and features do not depend on row order,
 * so the same store gives the same scores on every run and machine.
 *
 * The evidence names the features on which the fewest other hosts are
 * as far from the fleet median, with the host's value and the median:
 * what an analyst can check.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "score/signals.h"
#include "core/store.h"

#define SEED 0x20261127c0ffeeULL

enum { F_WRITABLE, F_UNTRUSTED, F_ENCODED, F_HEUR, F_RARE, F_PORTS, F_RADDRS, F_PROCS, F_EXES, NF };

static const struct vc_model_feature_info features[NF] = {
	[F_WRITABLE] = { "user_writable_share", "share of processes run from a user-writable directory" },
	[F_UNTRUSTED] = { "untrusted_share", "share of processes with an untrusted or unsigned binary" },
	[F_ENCODED] = { "encoded_share", "share of processes with an encoded PowerShell command line" },
	[F_HEUR] = { "heuristic_share", "share of processes on which a heuristic fires" },
	[F_RARE] = { "rare_exes", "executables seen on no other host" },
	[F_PORTS] = { "listening_ports", "distinct listening ports" },
	[F_RADDRS] = { "remote_addrs", "distinct remote addresses" },
	[F_PROCS] = { "processes", "process rows" },
	[F_EXES] = { "distinct_exes", "distinct executables" },
};

const struct vc_model_feature_info *
vc_model_features_table(size_t *n)
{
	if (n != NULL)
		*n = NF;
	return features;
}

/* ---- features ------------------------------------------------------------- */

struct host {
	char *id;
	double x[NF];
	double writable, untrusted, encoded, heur;      /* counts, made shares at the end */
	jv exes, ports, raddrs;                         /* sets: objects of true */
};

struct fleet {
	struct host *h;
	size_t n, cap;
	jv index;               /* host id -> position */
	double *score;
};

static void
fleet_release(struct fleet *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->h[i].id);
		jv_free(f->h[i].exes);
		jv_free(f->h[i].ports);
		jv_free(f->h[i].raddrs);
	}
	free(f->h);
	free(f->score);
	jv_free(f->index);
	memset(f, 0, sizeof *f);
}

static struct host *
host_of(struct fleet *f, const char *id)
{
	jv at = jv_object_get(jv_copy(f->index), jv_string(id));
	struct host *h;

	if (jv_get_kind(at) == JV_KIND_NUMBER) {
		size_t i = (size_t)jv_number_value(at);
		jv_free(at);
		return &f->h[i];
	}
	jv_free(at);
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 64;
		struct host *nv = realloc(f->h, nc * sizeof *nv);
		if (nv == NULL)
			return NULL;
		f->h = nv;
		f->cap = nc;
	}
	h = &f->h[f->n];
	memset(h, 0, sizeof *h);
	if ((h->id = strdup(id)) == NULL)
		return NULL;
	h->exes = jv_object();
	h->ports = jv_object();
	h->raddrs = jv_object();
	f->index = jv_object_set(f->index, jv_string(id), jv_number((double)f->n));
	f->n++;
	return h;
}

/* A string at path, or NULL; *hold keeps it alive. */
static const char *
str_at(jv row, const char *path, jv *hold)
{
	jv v = vc_row_get(row, path);

	if (jv_get_kind(v) != JV_KIND_STRING || jv_string_length_bytes(jv_copy(v)) == 0) {
		jv_free(v);
		*hold = jv_invalid();
		return NULL;
	}
	*hold = v;
	return jv_string_value(v);
}

static int
ci_has(const char *s, const char *needle)
{
	return s != NULL && strcasestr(s, needle) != NULL;
}

static void
set_add(jv *set, const char *s)
{
	char buf[1024];
	size_t i;

	for (i = 0; s[i] && i + 1 < sizeof buf; i++)
		buf[i] = (char)tolower((unsigned char)s[i]);
	buf[i] = '\0';
	*set = jv_object_set(*set, jv_string(buf), jv_true());
}

static void
net_row(struct host *h, jv row)
{
	jv hs, hr, port;
	const char *status = str_at(row, "Status", &hs);
	const char *raddr = str_at(row, "Raddr.IP", &hr);

	if (status != NULL && (strcasecmp(status, "LISTEN") == 0 || strcasecmp(status, "LISTENING") == 0)) {
		port = vc_row_get(row, "Laddr.Port");
		if (jv_get_kind(port) == JV_KIND_NUMBER || jv_get_kind(port) == JV_KIND_STRING) {
			jv t = jv_dump_string(jv_copy(port), 0);
			set_add(&h->ports, jv_string_value(t));
			jv_free(t);
		}
		jv_free(port);
	} else if (raddr != NULL && strcmp(raddr, "0.0.0.0") && strcmp(raddr, "::") &&
	    strcmp(raddr, "127.0.0.1") && strcmp(raddr, "::1"))
		set_add(&h->raddrs, raddr);
	jv_free(hs);
	jv_free(hr);
}

static void
proc_row(struct host *h, jv row)
{
	static const char *const exe_paths[] = { "Exe", "Image", "Name", NULL };
	jv he = jv_invalid(), ht, hc, hits = jv_array();
	const char *exe = NULL, *trusted, *cmd;

	for (int i = 0; exe_paths[i] && exe == NULL; i++) {
		jv_free(he);
		exe = str_at(row, exe_paths[i], &he);
	}
	trusted = str_at(row, "Authenticode.Trusted", &ht);
	cmd = str_at(row, "CommandLine", &hc);
	h->x[F_PROCS]++;
	if (exe != NULL) {
		set_add(&h->exes, exe);
		if (vc_path_user_writable(exe))
			h->writable++;
	}
	if (trusted != NULL && (strcasecmp(trusted, "untrusted") == 0 || strcasecmp(trusted, "unsigned") == 0))
		h->untrusted++;
	if (vc_cmdline_encoded(cmd))
		h->encoded++;
	if (vc_heuristics(row, &hits) > 0)
		h->heur++;
	jv_free(hits);
	jv_free(he);
	jv_free(ht);
	jv_free(hc);
}

static void
one_row(struct host *h, jv row, const char *artifact)
{
	jv l = vc_row_get(row, "Laddr"), p = vc_row_get(row, "Pid"), lip = vc_row_get(row, "Laddr.IP");
	int net = ci_has(artifact, "netstat") || jv_is_valid(l) || jv_is_valid(lip);
	int proc = !net && (ci_has(artifact, "pslist") || ci_has(artifact, "process") ||
	    (jv_is_valid(p) && (jv_object_has(jv_copy(row), jv_string("Exe")) ||
	    jv_object_has(jv_copy(row), jv_string("Image")) ||
	    jv_object_has(jv_copy(row), jv_string("CommandLine")))));

	jv_free(l);
	jv_free(p);
	jv_free(lip);
	if (net)
		net_row(h, row);
	else if (proc)
		proc_row(h, row);
}

static int
by_id(const void *a, const void *b)
{
	return strcmp(((const struct host *)a)->id, ((const struct host *)b)->id);
}

/* Every host of the tenant with rows, ordered by id, with its features. */
static int
load_fleet(vc_ctx *ctx, struct fleet *f)
{
	vc_stmt *q;
	jv seen;
	int rc;

	memset(f, 0, sizeof *f);
	f->index = jv_object();
	q = vc_sql(ctx, "SELECT r.data, COALESCE(r.host_id, a.host_id), a.name FROM artifact_rows r"
	    " JOIN artifacts a ON a.tenant_id = r.tenant_id AND a.id = r.artifact_id"
	    " WHERE r.tenant_id = ?1 AND a.tenant_id = ?1 AND a.state <> 'failed'", "s",
	    ctx->who.tenant_id);
	if (q == NULL)
		return ctx->err;
	while ((rc = vc_sql_step(ctx, q)) == 1) {
		const char *text = (const char *)vc_col_text(q, 0);
		const char *hid = (const char *)vc_col_text(q, 1);
		const char *art = (const char *)vc_col_text(q, 2);
		struct host *h;
		jv row, hold = jv_invalid();
		if (text == NULL)
			continue;
		row = jv_parse_sized(text, vc_col_bytes(q, 0));
		if (jv_get_kind(row) != JV_KIND_OBJECT) {
			jv_free(row);
			continue;
		}
		if (hid == NULL)
			hid = str_at(row, "ClientId", &hold);
		if (hid == NULL)
			hid = str_at(row, "Fqdn", &hold);
		if (hid == NULL) {
			/* A row with no host says nothing about any host. */
			jv_free(row);
			continue;
		}
		if ((h = host_of(f, hid)) == NULL) {
			jv_free(hold);
			jv_free(row);
			rc = -1;
			vc_fail(ctx, VC_EINTERNAL, "out of memory");
			break;
		}
		one_row(h, row, art);
		jv_free(hold);
		jv_free(row);
	}
	vc_stmt_done(q);
	if (rc < 0) {
		fleet_release(f);
		return ctx->err;
	}
	qsort(f->h, f->n, sizeof *f->h, by_id);
	jv_free(f->index);
	f->index = jv_object();
	/* How many hosts run each executable, for rare_exes. */
	seen = jv_object();
	for (size_t i = 0; i < f->n; i++) {
		jv ex = jv_copy(f->h[i].exes);
		f->index = jv_object_set(f->index, jv_string(f->h[i].id), jv_number((double)i));
		jv_object_foreach(ex, k, v) {
			jv c = jv_object_get(jv_copy(seen), jv_copy(k));
			double n = jv_get_kind(c) == JV_KIND_NUMBER ? jv_number_value(c) : 0;
			jv_free(c);
			seen = jv_object_set(seen, k, jv_number(n + 1));
			jv_free(v);
		}
		jv_free(ex);
	}
	for (size_t i = 0; i < f->n; i++) {
		struct host *h = &f->h[i];
		jv ex = jv_copy(h->exes);
		double procs = h->x[F_PROCS];
		jv_object_foreach(ex, k, v) {
			jv c = jv_object_get(jv_copy(seen), k);
			if (jv_get_kind(c) == JV_KIND_NUMBER && jv_number_value(c) == 1)
				h->x[F_RARE]++;
			jv_free(c);
			jv_free(v);
		}
		jv_free(ex);
		h->x[F_EXES] = jv_object_length(jv_copy(h->exes));
		h->x[F_WRITABLE] = procs > 0 ? h->writable / procs : 0;
		h->x[F_UNTRUSTED] = procs > 0 ? h->untrusted / procs : 0;
		h->x[F_ENCODED] = procs > 0 ? h->encoded / procs : 0;
		h->x[F_HEUR] = procs > 0 ? h->heur / procs : 0;
		h->x[F_PORTS] = jv_object_length(jv_copy(h->ports));
		h->x[F_RADDRS] = jv_object_length(jv_copy(h->raddrs));
	}
	jv_free(seen);
	return VC_EOK;
}

/* ---- the forest ------------------------------------------------------------ */

static uint64_t
next_u64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1): the top 53 bits. */
static double
next_unit(uint64_t *s)
{
	return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Average path length of an unsuccessful search in a BST of n points. */
static double
c_of(double n)
{
	if (n <= 1)
		return 0;
	if (n == 2)
		return 1;
	return 2.0 * (log(n - 1) + 0.5772156649015329) - 2.0 * (n - 1) / n;
}

struct node {
	int feat;               /* -1: leaf */
	double split;
	int left, right;
	int size;
};

struct tree {
	struct node *v;
	int n, cap;
};

static int
node_new(struct tree *t)
{
	if (t->n == t->cap) {
		int nc = t->cap ? t->cap * 2 : 64;
		struct node *nv = realloc(t->v, (size_t)nc * sizeof *nv);
		if (nv == NULL)
			return -1;
		t->v = nv;
		t->cap = nc;
	}
	return t->n++;
}

static int
build(struct tree *t, const struct fleet *f, size_t *ix, size_t cnt, int depth, int limit, uint64_t *rng)
{
	int me = node_new(t), feats[NF], nfeat = 0, k;
	double lo[NF], hi[NF], split;
	size_t i, j;

	if (me < 0)
		return -1;
	t->v[me].feat = -1;
	t->v[me].size = (int)cnt;
	if (depth >= limit || cnt <= 1)
		return me;
	for (k = 0; k < NF; k++) {
		lo[k] = hi[k] = f->h[ix[0]].x[k];
		for (i = 1; i < cnt; i++) {
			double x = f->h[ix[i]].x[k];
			if (x < lo[k])
				lo[k] = x;
			if (x > hi[k])
				hi[k] = x;
		}
		/* Only a feature that varies here can cut. */
		if (hi[k] > lo[k])
			feats[nfeat++] = k;
	}
	if (nfeat == 0)
		return me;
	k = feats[next_u64(rng) % (uint64_t)nfeat];
	split = lo[k] + next_unit(rng) * (hi[k] - lo[k]);
	/* Partition: x <= split to the left (holds lo), the rest right (holds hi). */
	for (i = 0, j = cnt; i < j;) {
		if (f->h[ix[i]].x[k] <= split)
			i++;
		else {
			size_t tmp = ix[i];
			ix[i] = ix[--j];
			ix[j] = tmp;
		}
	}
	t->v[me].feat = k;
	t->v[me].split = split;
	{
		int l = build(t, f, ix, i, depth + 1, limit, rng);
		int r = l < 0 ? -1 : build(t, f, ix + i, cnt - i, depth + 1, limit, rng);
		if (l < 0 || r < 0)
			return -1;
		t->v[me].left = l;
		t->v[me].right = r;
	}
	return me;
}

static double
path_len(const struct tree *t, const double *x)
{
	int at = 0, depth = 0;

	while (t->v[at].feat >= 0) {
		at = x[t->v[at].feat] <= t->v[at].split ? t->v[at].left : t->v[at].right;
		depth++;
	}
	return depth + c_of(t->v[at].size);
}

/* f->score[i] for every host; 0 for all under VC_MODEL_MIN_HOSTS. */
static int
score_fleet(vc_ctx *ctx, struct fleet *f)
{
	size_t psi = f->n < VC_MODEL_SAMPLE ? f->n : VC_MODEL_SAMPLE, *perm;
	double *sum;
	uint64_t rng = SEED;
	int limit = (int)ceil(log2((double)(psi > 1 ? psi : 2)));
	struct tree t = { NULL, 0, 0 };

	if ((f->score = calloc(f->n + 1, sizeof *f->score)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	if (f->n < VC_MODEL_MIN_HOSTS)
		return VC_EOK;
	perm = malloc(f->n * sizeof *perm);
	sum = calloc(f->n, sizeof *sum);
	if (perm == NULL || sum == NULL) {
		free(perm);
		free(sum);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	for (int tr = 0; tr < VC_MODEL_TREES; tr++) {
		/* A fresh sample without replacement: partial Fisher-Yates. */
		for (size_t i = 0; i < f->n; i++)
			perm[i] = i;
		for (size_t i = 0; i < psi; i++) {
			size_t j = i + (size_t)(next_u64(&rng) % (uint64_t)(f->n - i)), tmp = perm[i];
			perm[i] = perm[j];
			perm[j] = tmp;
		}
		t.n = 0;
		if (build(&t, f, perm, psi, 0, limit, &rng) < 0) {
			free(t.v);
			free(perm);
			free(sum);
			return vc_fail(ctx, VC_EINTERNAL, "out of memory");
		}
		for (size_t i = 0; i < f->n; i++)
			sum[i] += path_len(&t, f->h[i].x);
	}
	for (size_t i = 0; i < f->n; i++) {
		double s = pow(2.0, -(sum[i] / VC_MODEL_TREES) / c_of((double)psi));
		f->score[i] = round(s * 10000) / 10000;
	}
	free(t.v);
	free(perm);
	free(sum);
	return VC_EOK;
}

/* ---- explanations ------------------------------------------------------------ */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static jv
feature_object(const struct host *h)
{
	jv o = jv_object();

	for (int k = 0; k < NF; k++)
		o = jv_object_set(o, jv_string(features[k].name), jv_number(round(h->x[k] * 10000) / 10000));
	return o;
}

/*
 * The top three features of host i: those on which the fewest other
 * hosts are as far from the fleet median (an empirical tail, free of
 * units and of the zero spread most features have when most hosts
 * agree), ties to the more telling feature (vector order).  A feature
 * at the median says nothing and is never named.
 */
static jv
explain(const struct fleet *f, size_t i)
{
	double *col = malloc(f->n * sizeof *col), med[NF];
	size_t tail[NF];
	int taken[NF] = { 0 }, used = 0;
	jv ev = jv_array();

	if (col == NULL)
		return ev;
	for (int k = 0; k < NF; k++) {
		double d;
		for (size_t j = 0; j < f->n; j++)
			col[j] = f->h[j].x[k];
		med[k] = median(col, f->n);
		d = fabs(f->h[i].x[k] - med[k]);
		tail[k] = 0;
		if (d == 0) {
			taken[k] = 1;
			continue;
		}
		for (size_t j = 0; j < f->n; j++)
			if (j != i && fabs(f->h[j].x[k] - med[k]) >= d)
				tail[k]++;
	}
	free(col);
	while (used < 3) {
		int best = -1;
		for (int k = 0; k < NF; k++)
			if (!taken[k] && (best < 0 || tail[k] < tail[best]))
				best = k;
		if (best < 0)
			break;
		taken[best] = 1;
		ev = jv_array_append(ev, JV_OBJECT(jv_string("field"), jv_string(features[best].name),
		    jv_string("value"), jv_number(round(f->h[i].x[best] * 10000) / 10000),
		    jv_string("fleet_median"), jv_number(round(med[best] * 10000) / 10000)));
		used++;
	}
	return ev;
}

/* The position of the host named by id: a host key itself, else the
 * hosts row it names (by id, client id, fqdn or hostname) under any of
 * its names.  -1 when none has rows. */
static long
find(vc_ctx *ctx, const struct fleet *f, const char *id)
{
	jv at = jv_object_get(jv_copy(f->index), jv_string(id));
	vc_stmt *q;
	long pos = -1;

	if (jv_get_kind(at) == JV_KIND_NUMBER)
		pos = (long)jv_number_value(at);
	jv_free(at);
	if (pos >= 0)
		return pos;
	q = vc_sql(ctx, "SELECT id, client_id, fqdn, hostname FROM hosts WHERE tenant_id = ?1"
	    " AND (id = ?2 OR client_id = ?2 OR fqdn = ?2 OR "
	    VC_SQL2("hostname = ?2", "hostname_key = vc_nocase(?2)") ") ORDER BY id LIMIT 1", "ss",
	    ctx->who.tenant_id, id);
	if (q == NULL)
		return -1;
	if (vc_sql_step(ctx, q) == 1)
		for (int c = 0; c < 4 && pos < 0; c++) {
			const char *name = (const char *)vc_col_text(q, c);
			if (name == NULL)
				continue;
			at = jv_object_get(jv_copy(f->index), jv_string(name));
			if (jv_get_kind(at) == JV_KIND_NUMBER)
				pos = (long)jv_number_value(at);
			jv_free(at);
		}
	vc_stmt_done(q);
	return pos;
}

/* ---- the interface ------------------------------------------------------------ */

int
vc_model_features(vc_ctx *ctx, const char *host_id, jv *out)
{
	struct fleet f;
	long i;
	int rc;

	*out = jv_invalid();
	if (host_id == NULL)
		return vc_fail(ctx, VC_EUSAGE, "no host given");
	if ((rc = load_fleet(ctx, &f)) != 0)
		return rc;
	if ((i = find(ctx, &f, host_id)) < 0) {
		fleet_release(&f);
		return vc_fail(ctx, VC_ENOTFOUND, "no stored rows for host %.64s", host_id);
	}
	*out = feature_object(&f.h[i]);
	fleet_release(&f);
	return VC_EOK;
}

int
vc_model_host(vc_ctx *ctx, const char *host_id, jv *hits)
{
	struct fleet f;
	char title[96];
	long i;
	double s, w;

	if (host_id == NULL) {
		vc_fail(ctx, VC_EUSAGE, "no host given");
		return -1;
	}
	if (load_fleet(ctx, &f) != 0)
		return -1;
	if (f.n < VC_MODEL_MIN_HOSTS) {
		/* Too few hosts for "unlike the others" to mean anything. */
		fleet_release(&f);
		return 0;
	}
	if (score_fleet(ctx, &f) != 0) {
		fleet_release(&f);
		return -1;
	}
	if ((i = find(ctx, &f, host_id)) < 0 || (s = f.score[i]) <= VC_MODEL_THRESHOLD) {
		fleet_release(&f);
		return 0;
	}
	/* 0 at the threshold of "normal" (0.5), full weight from 0.8 on. */
	w = VC_MODEL_MAX_WEIGHT * (s - 0.5) / 0.3;
	if (w > VC_MODEL_MAX_WEIGHT)
		w = VC_MODEL_MAX_WEIGHT;
	w = round(w * 10000) / 10000;
	snprintf(title, sizeof title, "host stands out among %zu hosts", f.n);
	if (!jv_is_valid(*hits))
		*hits = jv_array();
	*hits = jv_array_append(*hits, JV_OBJECT(
	    jv_string("kind"), jv_string("model"),
	    jv_string("id"), jv_string("iforest/1"),
	    jv_string("title"), jv_string(title),
	    jv_string("weight"), jv_number(w),
	    jv_string("score"), jv_number(s),
	    jv_string("version"), jv_string(VC_MODEL_VERSION),
	    jv_string("evidence"), explain(&f, (size_t)i)));
	fleet_release(&f);
	return 1;
}

static int
by_score_r(const void *a, const void *b, void *arg)
{
	const struct fleet *f = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (f->score[x] != f->score[y])
		return f->score[x] > f->score[y] ? -1 : 1;
	return strcmp(f->h[x].id, f->h[y].id);
}

int
vc_model_scores(vc_ctx *ctx, jv *out)
{
	struct fleet f;
	size_t *ix;
	int rc;

	*out = jv_invalid();
	if ((rc = load_fleet(ctx, &f)) != 0)
		return rc;
	if ((rc = score_fleet(ctx, &f)) != 0 || (ix = malloc((f.n + 1) * sizeof *ix)) == NULL) {
		fleet_release(&f);
		return rc ? rc : vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	for (size_t i = 0; i < f.n; i++)
		ix[i] = i;
	qsort_r(ix, f.n, sizeof *ix, by_score_r, &f);
	*out = jv_array();
	for (size_t i = 0; i < f.n; i++)
		*out = jv_array_append(*out, JV_OBJECT(jv_string("host_id"), jv_string(f.h[ix[i]].id),
		    jv_string("score"), jv_number(f.score[ix[i]]),
		    jv_string("features"), feature_object(&f.h[ix[i]])));
	free(ix);
	fleet_release(&f);
	return VC_EOK;
}
