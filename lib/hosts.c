/* SPDX-License-Identifier: MIT */
/*
 * hosts.c - the tenant's hosts: streaming import (Velociraptor clients()
 * rows or a plain shape), list with filters, sorting and paging, show,
 * update, delete.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosts.h"
#include "core/events.h"
#include "json/jsonl.h"
#include "core/page.h"
#include "core/store.h"
#include "core/records.h"
#include "core/audit.h"
#include "timeline.h"
#include "core/net.h"

#define IMPORT_BATCH 20000
#define IMPORT_CACHE_MIB 64     /* the page cache of a host import */
#define HOST_EVENT_NAMES 20     /* hostnames a host.new event lists */

/* ---- import ----------------------------------------------------------- */

struct host_in {
	char client_id[128], hostname[256], fqdn[256], ip[64], os[32], os_version[128];
	unsigned char ip_key[16];
	int has_ip;
	int64_t first_seen, last_seen;
	jv labels;              /* array or invalid (= keep) */
	const char *source;
};

static const char *
str_at(jv o, const char *k1, const char *k2)
{
	jv v = jv_object_get(jv_copy(o), jv_string(k1));
	const char *s = NULL;

	if (k2 != NULL && jv_get_kind(v) == JV_KIND_OBJECT) {
		jv w = jv_object_get(v, jv_string(k2));
		v = w;
	}
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);     /* alive while o holds it */
	jv_free(v);
	return s;
}

/* A time given as RFC 3339 text, or a number in seconds, ms or µs. */
static int
time_at(vc_ctx *ctx, jv o, const char *key, int64_t *out)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));
	int rc = 0;

	*out = 0;
	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		double d = jv_number_value(v);
		/* Velociraptor gives last_seen_at in µs and first_seen_at in s. */
		if (d > 1e15)
			d /= 1e6;
		else if (d > 1e12)
			d /= 1e3;
		/* Years 1970 to 9999: the cast is undefined far outside them. */
		if (!(d >= 0 && d < 253402300800.0))
			rc = -1;
		else
			*out = (int64_t)d;
	} else if (jv_get_kind(v) == JV_KIND_STRING && *jv_string_value(v)) {
		char msg[sizeof ctx->errmsg];
		snprintf(msg, sizeof msg, "%s", ctx->errmsg);
		if (vc_time_parse(ctx, jv_string_value(v), out) != 0)
			rc = -1;
		snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", msg);
	} else if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL)
		rc = -1;
	jv_free(v);
	return rc;
}

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/*
 * Read one record into h.  Velociraptor's clients() rows carry os_info;
 * the plain shape has hostname, ip, os at the top.  Returns 0 or an error
 * message (static text) for the bad-line report.
 */
static const char *
host_from(vc_ctx *ctx, jv rec, const char *mode, struct host_in *h)
{
	jv osi, labels;
	const char *s, *name;
	int vr;

	memset(h, 0, sizeof *h);
	h->labels = jv_invalid();
	if (jv_get_kind(rec) != JV_KIND_OBJECT)
		return "expected a JSON object";
	osi = jv_object_get(jv_copy(rec), jv_string("os_info"));
	vr = mode ? strcmp(mode, "velociraptor") == 0 : jv_get_kind(osi) == JV_KIND_OBJECT;
	jv_free(osi);
	h->source = vr ? "velociraptor" : "generic";
	/* Never cut an id or a name: two long ones would become one host. */
	if ((s = str_at(rec, "client_id", NULL)) != NULL) {
		if (strlen(s) >= sizeof h->client_id)
			return "client_id is longer than 127 bytes";
		snprintf(h->client_id, sizeof h->client_id, "%s", s);
	}
	if (vr) {
		name = str_at(rec, "os_info", "hostname");
		if ((s = str_at(rec, "os_info", "fqdn")) != NULL)
			snprintf(h->fqdn, sizeof h->fqdn, "%s", s);
		if ((s = str_at(rec, "os_info", "system")) != NULL)
			snprintf(h->os, sizeof h->os, "%s", s);
		if ((s = str_at(rec, "os_info", "release")) != NULL)
			snprintf(h->os_version, sizeof h->os_version, "%s", s);
		s = str_at(rec, "last_ip", NULL);
	} else {
		name = str_at(rec, "hostname", NULL);
		if ((s = str_at(rec, "fqdn", NULL)) != NULL)
			snprintf(h->fqdn, sizeof h->fqdn, "%s", s);
		if ((s = str_at(rec, "os", NULL)) != NULL)
			snprintf(h->os, sizeof h->os, "%s", s);
		if ((s = str_at(rec, "os_version", NULL)) != NULL)
			snprintf(h->os_version, sizeof h->os_version, "%s", s);
		s = str_at(rec, "ip", NULL);
	}
	if (name != NULL) {
		if (strlen(name) >= sizeof h->hostname)
			return "hostname is longer than 255 bytes";
		snprintf(h->hostname, sizeof h->hostname, "%s", name);
	}
	if (s != NULL && *s != '\0') {
		if (vc_ip_key(s, h->ip_key, h->ip, sizeof h->ip) != 0)
			return "ip is not an IPv4 or IPv6 address";
		h->has_ip = 1;
	}
	lower(h->os);
	if (h->hostname[0] == '\0' && h->fqdn[0] != '\0') {
		/* The short name of an FQDN is a fine hostname. */
		snprintf(h->hostname, sizeof h->hostname, "%.*s",
		    (int)strcspn(h->fqdn, "."), h->fqdn);
	}
	if (h->client_id[0] == '\0' && h->hostname[0] == '\0')
		return "missing client_id and hostname";
	if (h->hostname[0] == '\0')
		snprintf(h->hostname, sizeof h->hostname, "%s", h->client_id);
	if (time_at(ctx, rec, vr ? "last_seen_at" : "last_seen", &h->last_seen) != 0)
		return "last_seen is not a time";
	if (time_at(ctx, rec, vr ? "first_seen_at" : "first_seen", &h->first_seen) != 0)
		return "first_seen is not a time";
	labels = jv_object_get(jv_copy(rec), jv_string("labels"));
	if (jv_get_kind(labels) == JV_KIND_ARRAY) {
		jv_array_foreach(labels, i, l) {
			int k = jv_get_kind(l);
			jv_free(l);
			if (k != JV_KIND_STRING) {
				jv_free(labels);
				return "labels must be strings";
			}
		}
		h->labels = labels;
	} else {
		int k = jv_get_kind(labels);
		jv_free(labels);
		if (k != JV_KIND_INVALID && k != JV_KIND_NULL)
			return "labels must be an array of strings";
	}
	return NULL;
}

/* Make host_labels say what hosts.labels says for one host (labels
 * borrowed); a host just made (fresh) has none to delete. */
static int
sync_labels(vc_ctx *ctx, const char *id, jv labels, int fresh)
{
	int rc = fresh ? 0 : vc_sql_exec_cached(ctx, "DELETE FROM host_labels WHERE tenant_id = ?1"
	    " AND host_id = ?2", "ss", ctx->who.tenant_id, id);

	if (rc != 0 || jv_get_kind(labels) != JV_KIND_ARRAY)
		return rc;
	jv_array_foreach(labels, i, l) {
		if (rc == 0 && jv_get_kind(l) == JV_KIND_STRING)
			rc = vc_sql_exec_cached(ctx, "INSERT OR IGNORE INTO host_labels (tenant_id, host_id, label)"
			    " VALUES (?1, ?2, ?3)", "sss", ctx->who.tenant_id, id, jv_string_value(l));
		jv_free(l);
	}
	return rc;
}

/*
 * The search index of hosts (hosts_search, schema migration 7) follows
 * the host's hostname and fqdn: vc_host_search_drop before they change
 * or the host goes, vc_host_search_add once it has its new ones.  (Not
 * triggers: see schema.sql.)  PostgreSQL has no such index (under
 * row-level security a trigram index cannot answer the tools' role:
 * schema-pg.sql, migration 20): those statements do nothing there
 * (SEARCH_NOOP).
 */
#define SEARCH_NOOP(params) "SELECT " params " WHERE false"
/* Widen host_tri_bounds (schema migration 10) to the hostnames of the
 * hosts that WHERE selects: each trigram's least and greatest name.  A
 * hostname has at most 255 bytes, so at most 253 trigrams. */
#define TRI_BOUNDS(where) "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 253)" \
	" INSERT INTO host_tri_bounds (tenant_id, tri, lo, hi)" \
	VC_SQL2(" SELECT h.tenant_id, lower(substr(h.hostname, n.i, 3)), min(h.hostname), max(h.hostname)", \
	" SELECT h.tenant_id, substr(h.hostname_key, n.i, 3), min(h.hostname_key), max(h.hostname_key)") \
	" FROM hosts h JOIN n ON n.i <= length(h.hostname) - 2 WHERE " where " GROUP BY 1, 2" \
	" ON CONFLICT (tenant_id, tri) DO UPDATE SET lo = min(host_tri_bounds.lo, excluded.lo)," \
	" hi = max(host_tri_bounds.hi, excluded.hi)"

int
vc_host_search_drop(vc_ctx *ctx, const char *id)
{
	return vc_sql_exec_cached(ctx, VC_SQL2("INSERT INTO hosts_search (hosts_search, rowid,"
	    " hostname, fqdn) SELECT 'delete', rowid, hostname, fqdn FROM hosts WHERE tenant_id = ?1"
	    " AND id = ?2", SEARCH_NOOP("?1, ?2")), "ss", ctx->who.tenant_id, id);
}

int
vc_host_search_add(vc_ctx *ctx, const char *id)
{
	int rc = vc_sql_exec_cached(ctx, VC_SQL2("INSERT INTO hosts_search (rowid, hostname, fqdn)"
	    " SELECT rowid, hostname, fqdn FROM hosts WHERE tenant_id = ?1 AND id = ?2",
	    SEARCH_NOOP("?1, ?2")), "ss", ctx->who.tenant_id, id);

	return rc ? rc : vc_sql_exec_cached(ctx, TRI_BOUNDS("h.tenant_id = ?1 AND h.id = ?2"),
	    "ss", ctx->who.tenant_id, id);
}

/*
 * PostgreSQL: the hosts without a client id named key.  Not "client_id
 * IS NULL", which the (tenant_id, client_id) key's index answers too: a
 * planner that has not yet seen the hosts (a first import, before
 * autovacuum's ANALYZE) may take that index and read every such host a
 * record (20,000 of them: 25 ms each); written so, only hosts_hostname's
 * key can be an index condition.  (client_id is never '': nz().)
 */
#define UNCLAIMED_NAME(key) "hostname_key = " key " AND coalesce(client_id, '') = ''"

static const char *
nz(const char *s)
{
	return s && *s ? s : NULL;
}

/* Insert or update one host; *created says which.  Inside a transaction.
 * Its statements are prepared once per store (vc_sql_cached): an import
 * runs them for every record.  In a batch (bulk >= 0, the largest rowid
 * before it), a new host is left for search_add_new to index at the end
 * of the batch, and so is one the batch made and now renames: FTS5 must
 * never be told to delete a row it was not given (that damages it). */
static int
upsert(vc_ctx *ctx, struct host_in *h, int *created, int64_t bulk)
{
	char id[VC_ID_LEN + 1] = "";
	const char *labels = NULL;
	jv ls = jv_invalid();
	vc_stmt *q;
	int64_t now = vc_now(ctx), seen = 0;
	int rc, stale, renamed = 0, fresh = 0;

	if (jv_is_valid(h->labels)) {
		ls = jv_dump_string(jv_copy(h->labels), 0);
		labels = jv_string_value(ls);
	}
	if (h->client_id[0])
		q = vc_sql_cached(ctx, VC_SQL2("SELECT id, last_seen_at, hostname, fqdn, rowid",
		    "SELECT id, last_seen_at, hostname, fqdn, 0") " FROM hosts"
		    " WHERE tenant_id = ?1 AND client_id = ?2", "ss", ctx->who.tenant_id, h->client_id);
	else
		q = vc_sql_cached(ctx, VC_SQL2("SELECT id, last_seen_at, hostname, fqdn, rowid",
		    "SELECT id, last_seen_at, hostname, fqdn, 0") " FROM hosts WHERE tenant_id = ?1"
		    " AND " VC_SQL2("client_id IS NULL AND hostname = ?2", UNCLAIMED_NAME("vc_nocase(?2)"))
		    " ORDER BY created_at LIMIT 1", "ss",
		    ctx->who.tenant_id, h->hostname);
	if (q == NULL) {
		jv_free(ls);
		return ctx->err;
	}
	rc = vc_sql_step(ctx, q);
	if (rc == 1) {
		const char *hn = (const char *)vc_col_text(q, 2);
		const char *fq = (const char *)vc_col_text(q, 3);
		snprintf(id, sizeof id, "%s", (const char *)vc_col_text(q, 0));
		seen = vc_col_int64(q, 1);
		fresh = bulk >= 0 && vc_col_int64(q, 4) > bulk;
		/* Does the search index need the new names? */
		renamed = strcmp(hn ? hn : "", h->hostname) != 0 ||
		    (h->fqdn[0] && strcmp(fq ? fq : "", h->fqdn) != 0);
	}
	vc_stmt_reset(q);
	if (rc < 0) {
		jv_free(ls);
		return ctx->err;
	}
	*created = rc == 0;
	/* A record older than what the host has: its facts are not news. */
	stale = rc == 1 && h->last_seen > 0 && h->last_seen < seen;
	if (stale)
		renamed = 0;
	if (renamed && !fresh && vc_host_search_drop(ctx, id) != 0) {
		jv_free(ls);
		return ctx->err;
	}
	if (*created) {
		vc_new_id_v7(id);
		q = vc_sql_cached(ctx, "INSERT INTO hosts (id, tenant_id, client_id, hostname, fqdn, ip, ip_key,"
		    " os, os_version, labels, source, first_seen_at, last_seen_at, created_at, updated_at)"
		    " VALUES (?1,?2,?3,?4,?5,?6,?7,COALESCE(?8,''),?9,COALESCE(?10,'[]'),?11,?12,?13,?14,?14)",
		    "ssssssnssssiii", id, ctx->who.tenant_id, nz(h->client_id), h->hostname,
		    nz(h->fqdn), nz(h->ip), nz(h->os), nz(h->os_version), labels, h->source,
		    h->first_seen ? h->first_seen : h->last_seen, h->last_seen, now);
	} else if (stale) {
		/* Only an earlier first sighting is news. */
		q = vc_sql_cached(ctx, "UPDATE hosts SET first_seen_at = CASE WHEN first_seen_at = 0 OR"
		    " (?3 > 0 AND ?3 < first_seen_at) THEN ?3 ELSE first_seen_at END, updated_at = ?4"
		    " WHERE tenant_id = ?1 AND id = ?2", "ssii", ctx->who.tenant_id, id,
		    h->first_seen, now);
	} else {
		/* Newer facts win; a time never moves backwards. */
		q = vc_sql_cached(ctx, "UPDATE hosts SET hostname = ?3, fqdn = COALESCE(?4, fqdn),"
		    " ip = COALESCE(?5, ip), ip_key = CASE WHEN ?5 IS NULL THEN ip_key ELSE ?6 END,"
		    " os = COALESCE(?7, os), os_version = COALESCE(?8, os_version),"
		    " labels = COALESCE(?9, labels), source = ?10,"
		    " first_seen_at = CASE WHEN first_seen_at = 0 OR (?11 > 0 AND ?11 < first_seen_at)"
		    "   THEN ?11 ELSE first_seen_at END,"
		    " last_seen_at = MAX(last_seen_at, ?12), updated_at = ?13"
		    " WHERE tenant_id = ?1 AND id = ?2",
		    "sssssnssssiii", ctx->who.tenant_id, id, h->hostname, nz(h->fqdn), nz(h->ip),
		    nz(h->os), nz(h->os_version), labels, h->source,
		    h->first_seen, h->last_seen, now);
	}
	jv_free(ls);
	if (q == NULL)
		return ctx->err;
	if (h->has_ip && !stale)
		vc_bind_blob(q, *created ? 7 : 6, h->ip_key, 16, VC_TRANSIENT);
	else if (*created)
		vc_bind_blob(q, 7, "", 0, VC_STATIC);
	rc = vc_sql_step(ctx, q);
	vc_stmt_reset(q);
	if (rc < 0)
		return ctx->err;
	if (renamed && fresh)
		rc = vc_sql_exec_cached(ctx, TRI_BOUNDS("h.tenant_id = ?1 AND h.id = ?2"), "ss",
		    ctx->who.tenant_id, id);
	else if ((*created && bulk < 0) || renamed)
		rc = vc_host_search_add(ctx, id);
	if (rc != 0)
		return rc;
	/* A stale record left hosts.labels alone: host_labels too. */
	return jv_is_valid(h->labels) && !stale ? sync_labels(ctx, id, h->labels, *created) : 0;
}

int
vc_host_upsert_json(vc_ctx *ctx, jv rec, const char *mode, const char **why, int *created)
{
	struct host_in h;
	int rc;

	*why = host_from(ctx, rec, mode, &h);
	if (*why != NULL) {
		jv_free(h.labels);
		return VC_EINVAL;
	}
	rc = upsert(ctx, &h, created, -1);
	jv_free(h.labels);
	return rc;
}

/*
 * A host import reads a batch of records into memory, then writes it in
 * one short transaction: no transaction is ever open while the input is
 * awaited (an HTTP body can trickle in for minutes, and the store's write
 * lock is the whole installation's).
 */
/*
 * The trigram bounds of a batch's new hosts, gathered as the batch is
 * written and merged into host_tri_bounds once at its end (one
 * statement per trigram, not one set-based statement over every
 * position of every name: that cost more than the hosts).  The trigram
 * and the order are SQLite's own, so that the bounds match what
 * migration 10 and TRI_BOUNDS compute: substr() counts UTF-8 characters,
 * lower() and the NOCASE collation fold ASCII letters only.
 */
struct tri_slot {
	char tri[16];                   /* "" when free */
	const char *lo, *hi;            /* hostnames of the batch */
};

struct tri_map {
	struct tri_slot *slot;
	size_t cap, used;
};

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* SQLite's NOCASE collation. */
static int
nocase_cmp(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), n = na < nb ? na : nb;

	for (size_t i = 0; i < n; i++) {
		int ca = ascii_lower((unsigned char)a[i]), cb = ascii_lower((unsigned char)b[i]);
		if (ca != cb)
			return ca - cb;
	}
	return na < nb ? -1 : na > nb;
}

static int
tri_put(struct tri_map *m, const char *tri, const char *name)
{
	size_t h = 2166136261u, i;

	if (m->used * 2 >= m->cap) {
		struct tri_map g = { .cap = m->cap ? m->cap * 2 : 1024 };
		if ((g.slot = calloc(g.cap, sizeof *g.slot)) == NULL)
			return -1;
		for (i = 0; i < m->cap; i++)
			if (m->slot[i].tri[0]) {
				tri_put(&g, m->slot[i].tri, m->slot[i].lo);
				tri_put(&g, m->slot[i].tri, m->slot[i].hi);
			}
		free(m->slot);
		*m = g;
	}
	for (const char *p = tri; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (i = h & (m->cap - 1); m->slot[i].tri[0]; i = (i + 1) & (m->cap - 1))
		if (strcmp(m->slot[i].tri, tri) == 0) {
			if (nocase_cmp(name, m->slot[i].lo) < 0)
				m->slot[i].lo = name;
			if (nocase_cmp(name, m->slot[i].hi) > 0)
				m->slot[i].hi = name;
			return 0;
		}
	snprintf(m->slot[i].tri, sizeof m->slot[i].tri, "%s", tri);
	m->slot[i].lo = m->slot[i].hi = name;
	m->used++;
	return 0;
}

/* Add each trigram of name (borrowed until the map is written). */
static int
tri_add_name(struct tri_map *m, const char *name)
{
	const char *c[256];
	size_t n = 0;

	/* Characters as SQLite counts them: a byte from 0xc0 up with the
	 * continuation bytes after it, any other byte alone. */
	for (const char *s = name; *s && n < 256; ) {
		c[n++] = s;
		if ((unsigned char)*s++ >= 0xc0)
			while (((unsigned char)*s & 0xc0) == 0x80)
				s++;
	}
	for (size_t i = 0; i + 3 <= n; i++) {
		char tri[16];
		size_t len = (i + 3 < n ? (size_t)(c[i + 3] - c[i]) : strlen(c[i]));
		if (len >= sizeof tri)
			continue;       /* cannot be: 3 characters of 4 bytes at most */
		for (size_t k = 0; k < len; k++)
			tri[k] = (char)ascii_lower((unsigned char)c[i][k]);
		tri[len] = '\0';
		if (tri_put(m, tri, name) != 0)
			return -1;
	}
	return 0;
}

static void
tri_clear(struct tri_map *m)
{
	if (m->cap)
		memset(m->slot, 0, m->cap * sizeof *m->slot);
	m->used = 0;
}

/* Widen host_tri_bounds by the map: on PostgreSQL by one COPY into a
 * table of the session's and one statement, not a round trip a trigram. */
static int
tri_write(vc_ctx *ctx, const struct tri_map *m)
{
	int rc = 0;

	if (vc_store_copies(ctx)) {
		if ((rc = vc_store_exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS vc_tri_stage"
		    " (tri text, lo text, hi text) ON COMMIT DELETE ROWS")) != 0 ||
		    (rc = vc_copy_begin(ctx, "COPY vc_tri_stage (tri, lo, hi) FROM STDIN")) != 0)
			return rc;
		for (size_t i = 0; i < m->cap && rc == 0; i++)
			if (m->slot[i].tri[0]) {
				vc_copy_str(ctx, m->slot[i].tri);
				vc_copy_str(ctx, m->slot[i].lo);
				vc_copy_str(ctx, m->slot[i].hi);
				rc = vc_copy_row(ctx);
			}
		if (rc != 0) {
			vc_copy_abort(ctx);
			return rc;
		}
		if ((rc = vc_copy_end(ctx, NULL)) != 0)
			return rc;
		return vc_sql_exec_cached(ctx, VC_SQL2("SELECT ?1 WHERE false",
		    "INSERT INTO host_tri_bounds (tenant_id, tri, lo, hi) SELECT ?1, tri, lo, hi"
		    " FROM vc_tri_stage ON CONFLICT (tenant_id, tri) DO UPDATE"
		    " SET lo = least(host_tri_bounds.lo, excluded.lo),"
		    " hi = greatest(host_tri_bounds.hi, excluded.hi)"), "s", ctx->who.tenant_id);
	}
	for (size_t i = 0; i < m->cap && rc == 0; i++)
		if (m->slot[i].tri[0])
			rc = vc_sql_exec_cached(ctx, "INSERT INTO host_tri_bounds (tenant_id, tri, lo, hi)"
			    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant_id, tri) DO UPDATE"
			    " SET lo = min(host_tri_bounds.lo, excluded.lo),"
			    " hi = max(host_tri_bounds.hi, excluded.hi)", "ssss",
			    ctx->who.tenant_id, m->slot[i].tri, m->slot[i].lo, m->slot[i].hi);
	return rc;
}

struct host_import {
	const char *mode;
	long created, updated;                  /* committed */
	struct host_in *batch;                  /* read, not yet written */
	int n;
	int *created_at;                        /* PostgreSQL: the batch's new hosts */
	struct tri_map tri;                     /* the batch's new names */
};

static void
batch_drop(struct host_import *im)
{
	for (int i = 0; i < im->n; i++)
		jv_free(im->batch[i].labels);
	im->n = 0;
}

/*
 * The hosts a batch made enter the search index in one statement at its
 * end: every statement that writes an FTS5 table inside a transaction
 * makes FTS5 write out what it buffered, so one insert per host cost
 * more than the host itself.  The batch's new hosts are those past the
 * largest rowid it started with (the write lock is held meanwhile).
 */
static int
search_add_new(vc_ctx *ctx, int64_t since)
{
	return vc_sql_exec_cached(ctx, VC_SQL2("INSERT INTO hosts_search (rowid, hostname, fqdn)"
	    " SELECT rowid, hostname, fqdn FROM hosts WHERE rowid > ?1 AND tenant_id = ?2",
	    SEARCH_NOOP("?1, ?2")), "is", since, ctx->who.tenant_id);
}

/*
 * The batch on PostgreSQL: one COPY into vc_host_stage (a table of the
 * session's, emptied at each commit), then a few statements over all of
 * it, which do what upsert does a host at a time: match each record to
 * its host (by client_id, else by hostname), insert the new ones (ids
 * made here, UUIDv7, in the batch's order), update the others (a stale
 * record only its first sighting), put their labels in host_labels,
 * widen the trigram bounds of renamed hosts.  Records of one host within
 * a batch must see each other's writes, as one by one: the second and
 * later records of a key go in later passes (rnd), one statement set
 * each.  Each created host's index in the batch goes to created[],
 * in order; *ncreated counts them.
 */
#define STAGE_KEY "PARTITION BY client_id, CASE WHEN client_id IS NULL THEN hostname END"
#define NOT_STALE "NOT (s.last_seen > 0 AND s.last_seen < s.old_last)"
/* An earlier first sighting wins (upsert's rule). */
#define FIRST_SEEN "first_seen_at = CASE WHEN h.first_seen_at = 0 OR (s.first_seen > 0 AND" \
	" s.first_seen < h.first_seen_at) THEN s.first_seen ELSE h.first_seen_at END"

static int
stage_batch(vc_ctx *ctx, struct host_import *im)
{
	int rc;

	if ((rc = vc_store_exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS vc_host_stage ("
	    " seq bigint, client_id text, hostname citext, fqdn text, ip text, ip_key bytea,"
	    " os text, os_version text, labels text, source text, first_seen bigint,"
	    " last_seen bigint, new_id text, rnd bigint NOT NULL DEFAULT 1, host_id text,"
	    " old_last bigint, old_hostname text, old_fqdn text, created boolean,"
	    " stale boolean, renamed boolean) ON COMMIT DELETE ROWS")) != 0 ||
	    (rc = vc_copy_begin(ctx, "COPY vc_host_stage (seq, client_id, hostname, fqdn, ip,"
	    " ip_key, os, os_version, labels, source, first_seen, last_seen, new_id)"
	    " FROM STDIN")) != 0)
		return rc;
	for (int i = 0; i < im->n && rc == 0; i++) {
		struct host_in *h = &im->batch[i];
		char id[VC_ID_LEN + 1];
		vc_new_id_v7(id);
		vc_copy_int(ctx, i);
		vc_copy_str(ctx, nz(h->client_id));
		vc_copy_str(ctx, h->hostname);
		vc_copy_str(ctx, nz(h->fqdn));
		vc_copy_str(ctx, nz(h->ip));
		vc_copy_blob(ctx, h->has_ip ? h->ip_key : NULL, 16);
		vc_copy_str(ctx, nz(h->os));
		vc_copy_str(ctx, nz(h->os_version));
		if (jv_is_valid(h->labels)) {
			jv ls = jv_dump_string(jv_copy(h->labels), 0);
			vc_copy_str(ctx, jv_string_value(ls));
			jv_free(ls);
		} else
			vc_copy_null(ctx);
		vc_copy_str(ctx, h->source);
		vc_copy_int(ctx, h->first_seen);
		vc_copy_int(ctx, h->last_seen);
		vc_copy_str(ctx, id);
		rc = vc_copy_row(ctx);
	}
	if (rc != 0) {
		vc_copy_abort(ctx);
		return rc;
	}
	return vc_copy_end(ctx, NULL);
}

static int
batch_copy(vc_ctx *ctx, struct host_import *im, int *created, int *ncreated)
{
	int64_t now = vc_now(ctx), passes;
	const char *t = ctx->who.tenant_id;
	vc_stmt *q;
	int rc;

	*ncreated = 0;
	/* The stage's size, for the planner (no autovacuum for temporary
	 * tables): without it a join with hosts may be planned as a nested
	 * loop over a stage it takes for a few rows, which 20,000 rows make
	 * minutes.  One cheap column: the sample is all it needs. */
	if ((rc = stage_batch(ctx, im)) != 0 || (rc = vc_store_exec(ctx, "ANALYZE vc_host_stage (rnd)")) != 0)
		return rc;
	/* unscoped: the session's own staging table of this batch */
	if ((rc = vc_sql_exec_cached(ctx, "UPDATE vc_host_stage AS s SET rnd = r.n FROM (SELECT seq,"
	    " row_number() OVER (" STAGE_KEY " ORDER BY seq) AS n FROM vc_host_stage) AS r"
	    " WHERE s.seq = r.seq AND r.n > 1", "")) != 0)
		return rc;
	/* unscoped: the session's own staging table of this batch */
	if ((passes = vc_sql_int(ctx, vc_sql(ctx, "SELECT max(rnd) FROM vc_host_stage", ""))) < 1)
		return ctx->err ? ctx->err : vc_fail(ctx, VC_EINTERNAL, "hosts: an empty stage");
	for (int64_t p = 1; p <= passes; p++) {
		if ((rc = vc_sql_exec_cached(ctx, "UPDATE vc_host_stage AS s SET host_id = h.id,"
		    " old_last = h.last_seen_at, old_hostname = h.hostname, old_fqdn = h.fqdn"
		    " FROM hosts AS h WHERE s.rnd = ?2 AND s.client_id IS NOT NULL"
		    " AND h.tenant_id = ?1 AND h.client_id = s.client_id", "si", t, p)) != 0 ||
		    (rc = vc_sql_exec_cached(ctx, "UPDATE vc_host_stage AS s SET host_id = m.id,"
		    " old_last = m.last_seen_at, old_hostname = m.hostname, old_fqdn = m.fqdn"
		    " FROM (SELECT u.seq, h.id, h.last_seen_at, h.hostname, h.fqdn"
		    " FROM vc_host_stage AS u CROSS JOIN LATERAL (SELECT id, last_seen_at, hostname, fqdn"
		    " FROM hosts WHERE tenant_id = ?1 AND " UNCLAIMED_NAME("vc_nocase(u.hostname::text)")
		    " ORDER BY created_at LIMIT 1) AS h WHERE u.rnd = ?2 AND u.client_id IS NULL) AS m"
		    " WHERE s.seq = m.seq", "si", t, p)) != 0 ||
		    /* unscoped: the session's own staging table of this batch */
		    (rc = vc_sql_exec_cached(ctx, "UPDATE vc_host_stage AS s SET created = s.host_id IS NULL,"
		    " stale = s.host_id IS NOT NULL AND NOT " NOT_STALE ","
		    " renamed = s.host_id IS NOT NULL AND " NOT_STALE " AND (s.old_hostname <> s.hostname::text"
		    " OR (s.fqdn IS NOT NULL AND coalesce(s.old_fqdn, '') <> s.fqdn)),"
		    " host_id = coalesce(s.host_id, s.new_id) WHERE s.rnd = ?1", "i", p)) != 0 ||
		    (rc = vc_sql_exec_cached(ctx, "INSERT INTO hosts (id, tenant_id, client_id, hostname,"
		    " fqdn, ip, ip_key, os, os_version, labels, source, first_seen_at, last_seen_at,"
		    " created_at, updated_at) SELECT new_id, ?1, client_id, hostname, fqdn, ip,"
		    " coalesce(ip_key, x''), coalesce(os, ''), os_version, coalesce(labels, '[]'), source,"
		    " CASE WHEN first_seen <> 0 THEN first_seen ELSE last_seen END, last_seen, ?3, ?3"
		    " FROM vc_host_stage WHERE rnd = ?2 AND created ORDER BY seq", "sii", t, p, now)) != 0 ||
		    (rc = vc_sql_exec_cached(ctx, "UPDATE hosts AS h SET " FIRST_SEEN ","
		    " updated_at = ?3 FROM vc_host_stage AS s"
		    " WHERE s.rnd = ?2 AND s.stale AND h.tenant_id = ?1 AND h.id = s.host_id",
		    "sii", t, p, now)) != 0 ||
		    (rc = vc_sql_exec_cached(ctx, "UPDATE hosts AS h SET hostname = s.hostname,"
		    " fqdn = coalesce(s.fqdn, h.fqdn), ip = coalesce(s.ip, h.ip),"
		    " ip_key = CASE WHEN s.ip IS NULL THEN h.ip_key ELSE s.ip_key END,"
		    " os = coalesce(s.os, h.os), os_version = coalesce(s.os_version, h.os_version),"
		    " labels = coalesce(s.labels, h.labels), source = s.source, " FIRST_SEEN ","
		    " last_seen_at = greatest(h.last_seen_at, s.last_seen), updated_at = ?3"
		    " FROM vc_host_stage AS s WHERE s.rnd = ?2 AND NOT s.created AND NOT s.stale"
		    " AND h.tenant_id = ?1 AND h.id = s.host_id", "sii", t, p, now)) != 0 ||
		    (rc = vc_sql_exec_cached(ctx, "DELETE FROM host_labels AS l USING vc_host_stage AS s"
		    " WHERE s.rnd = ?2 AND NOT s.created AND NOT s.stale AND s.labels IS NOT NULL"
		    " AND l.tenant_id = ?1 AND l.host_id = s.host_id", "si", t, p)) != 0 ||
		    (rc = vc_sql_exec_cached(ctx, "INSERT INTO host_labels (tenant_id, host_id, label)"
		    " SELECT ?1, s.host_id, e.label FROM vc_host_stage AS s CROSS JOIN LATERAL"
		    " json_array_elements_text(s.labels::json) AS e(label) WHERE s.rnd = ?2"
		    " AND NOT s.stale AND s.labels IS NOT NULL ON CONFLICT DO NOTHING", "si", t, p)) != 0 ||
		    (rc = vc_sql_exec_cached(ctx, TRI_BOUNDS("h.tenant_id = ?1 AND h.id IN"
		    " (SELECT host_id FROM vc_host_stage WHERE rnd = ?2 AND renamed)"), "si", t, p)) != 0)
			return rc;
	}
	/* unscoped: the session's own staging table of this batch */
	if ((q = vc_sql_cached(ctx, "SELECT seq FROM vc_host_stage WHERE created ORDER BY seq", "")) == NULL)
		return ctx->err;
	while ((rc = vc_sql_step(ctx, q)) == 1) {
		int64_t i = vc_col_int64(q, 0);
		if (i >= 0 && i < im->n)
			created[(*ncreated)++] = (int)i;
	}
	vc_stmt_reset(q);
	return rc < 0 ? ctx->err : 0;
}

/* Write the batch in hand: one transaction, with its audit record.  The
 * batch stays in hand (batch_write drops it). */
static int
batch_try(vc_ctx *ctx, struct host_import *im)
{
	long created = 0, updated = 0;
	jv names = jv_array();
	int64_t top = 0;
	vc_stmt *q;
	int rc;

	if (im->n == 0) {
		jv_free(names);
		return 0;
	}
	if ((rc = vc_tx_begin(ctx)) != 0) {
		jv_free(names);
		return rc;
	}
	/* unscoped: the largest rowid of all tenants' hosts, so that rows past it are this batch's */
	if ((q = vc_sql_cached(ctx, VC_SQL2("SELECT COALESCE(MAX(rowid), 0) FROM hosts", "SELECT 0"),
	    "")) == NULL ||
	    vc_sql_step(ctx, q) != 1)
		rc = ctx->err ? ctx->err : vc_fail(ctx, VC_EINTERNAL, "hosts: no largest rowid");
	else
		top = vc_col_int64(q, 0);
	if (q != NULL)
		vc_stmt_reset(q);
	if (rc == 0 && vc_store_copies(ctx)) {
		int nc = 0;
		if ((rc = batch_copy(ctx, im, im->created_at, &nc)) == 0) {
			created = nc;
			updated = im->n - nc;
		}
		for (int k = 0; k < nc && rc == 0; k++) {
			const char *hn = im->batch[im->created_at[k]].hostname;
			if (tri_add_name(&im->tri, hn) != 0)
				rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
			else if (k < HOST_EVENT_NAMES)
				names = jv_array_append(names, jv_string(hn));
		}
	}
	for (int i = 0; i < im->n && rc == 0 && !vc_store_copies(ctx); i++) {
		int c = 0;
		if ((rc = upsert(ctx, &im->batch[i], &c, top)) == 0)
			c ? created++ : updated++;
		if (rc == 0 && c && tri_add_name(&im->tri, im->batch[i].hostname) != 0)
			rc = vc_fail(ctx, VC_EINTERNAL, "out of memory");
		if (rc == 0 && c && created <= HOST_EVENT_NAMES)
			names = jv_array_append(names, jv_string(im->batch[i].hostname));
	}
	if (rc == 0 && created > 0)
		rc = tri_write(ctx, &im->tri);
	tri_clear(&im->tri);            /* it points into the batch */
	if (rc == 0 && created > 0)
		rc = search_add_new(ctx, top);
	/* One event per batch, not per host: an import of 100,000 hosts
	 * writes 5 events, each naming its first few hosts. */
	if (rc == 0 && created > 0)
		rc = vc_event_emit(ctx, "host.new", JV_OBJECT(jv_string("count"), jv_number(created),
		    jv_string("hostnames"), jv_copy(names), jv_string("subject"),
		    created == 1 ? jv_array_get(jv_copy(names), 0) :
		    jv_string_fmt("%ld new hosts", created), jv_string("source"), jv_string("import"),
		    jv_string("by"), jv_string(ctx->who.username)), NULL);
	jv_free(names);
	if (rc == 0)
		rc = vc_audit(ctx, ctx->who.tenant_id, "hosts.import", "host", NULL, "success", NULL,
		    JV_OBJECT(jv_string("created"), jv_number(created), jv_string("updated"),
		    jv_number(updated), jv_string("bad_lines"), jv_number(ctx->bad_count)));
	if (rc == 0 && (rc = vc_tx_commit(ctx)) == 0) {
		im->created += created;
		im->updated += updated;
		return 0;
	}
	vc_tx_rollback(ctx);
	return rc;
}

/* Runs of a batch when PostgreSQL makes it give way to another writer
 * (vc_tx_retryable): the batch is still in hand, so it is written again. */
#define BATCH_ATTEMPTS 5

static int
batch_write(vc_ctx *ctx, struct host_import *im)
{
	int rc;

	for (int attempt = 1; ; attempt++) {
		if ((rc = batch_try(ctx, im)) == 0 || !vc_tx_retryable(ctx) ||
		    attempt == BATCH_ATTEMPTS)
			break;
		ctx->err = 0;
		ctx->errmsg[0] = '\0';
	}
	batch_drop(im);
	return rc;
}

/* One record of a host import (vc_jsonl_each): checked now, kept for its batch. */
static int
import_one(vc_ctx *ctx, struct vc_jsonl *r, jv rec, void *arg)
{
	struct host_import *im = arg;
	struct host_in *h = &im->batch[im->n];
	const char *why;

	(void)r;
	why = host_from(ctx, rec, im->mode, h);
	jv_free(rec);
	if (why != NULL) {
		jv_free(h->labels);
		vc_fail(ctx, VC_EINVAL, "%s", why);
		return VC_JSONL_BAD;
	}
	if (++im->n == IMPORT_BATCH)
		return batch_write(ctx, im);
	return 0;
}

int
vc_op_hosts_import(vc_ctx *ctx, jv args, jv *out)
{
	struct host_import im = { .mode = vc_arg_str(args, "source") };
	struct vc_jsonl_loop lp = {
		.mode = VC_JSONL_JSON, .strict = vc_arg_bool(args, "strict"),
		.fn = import_one, .arg = &im,
	};
	int rc;

	/* For the failure record the dispatcher writes (--strict, errors). */
	vc_audit_target(ctx, "host", NULL);
	if (ctx->in == NULL)
		return vc_fail(ctx, VC_EUSAGE, "no input to import");
	if ((im.batch = calloc(IMPORT_BATCH, sizeof *im.batch)) == NULL ||
	    (vc_store_copies(ctx) && (im.created_at = calloc(IMPORT_BATCH, sizeof *im.created_at)) == NULL)) {
		free(im.batch);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	/* A batch writes a host into nine indexes, most at random places:
	 * their pages stay in memory for the import (see vc_store_cache). */
	vc_store_cache(ctx, IMPORT_CACHE_MIB);
	rc = vc_jsonl_each(ctx, ctx->in, &lp);
	if (rc == 0 && lp.strict && lp.bad > 0) {
		/* --strict: nothing of the batch with the bad line is kept. */
		batch_drop(&im);
		free(im.batch);
		free(im.created_at);
		free(im.tri.slot);
		vc_store_cache(ctx, 0);
		return vc_fail(ctx, VC_EINVAL, "stopped at the first bad line (--strict); this batch was not stored");
	}
	if (rc == 0)
		rc = batch_write(ctx, &im);
	batch_drop(&im);
	free(im.batch);
	free(im.created_at);
	free(im.tri.slot);
	vc_store_cache(ctx, 0);
	if (rc != 0)
		return rc;
	ctx->audited = 1;
	*out = JV_OBJECT(jv_string("created"), jv_number(im.created), jv_string("updated"),
	    jv_number(im.updated), jv_string("bad_lines"), jv_number(ctx->bad_count));
	if (jv_is_valid(ctx->bad_list))
		*out = jv_object_set(*out, jv_string("errors"), jv_copy(ctx->bad_list));
	return 0;
}

/* ---- list, show, update, delete --------------------------------------- */

#define HOST_COLS "h.id, h.client_id, h.hostname, h.fqdn, h.ip, NULLIF(h.os, '') AS os," \
	" h.os_version, h.labels AS labels_json, h.notes, h.source," \
	" NULLIF(h.first_seen_at, 0) AS first_seen_at, NULLIF(h.last_seen_at, 0) AS last_seen_at," \
	" h.created_at, h.updated_at," \
	" h.quarantined_at IS NOT NULL AND h.released_at IS NULL AS quarantined_bool," \
	" h.quarantined_at, h.quarantined_by, h.released_at, h.released_by"

static const struct vc_sort host_sorts[] = {
	{ "hostname", VC_SQL2("h.hostname", "h.hostname_key"), 's' },
	{ "ip", "h.ip_key", 'b' },
	{ "os", "h.os", 's' },
	{ "last_seen", "h.last_seen_at", 'i' },
	{ "first_seen", "h.first_seen_at", 'i' },
	{ "created_at", "h.created_at", 'i' },
	{ NULL, NULL, 0 }
};

/*
 * The filters of a host list, built from those present: each present
 * filter adds its condition and its parameters (?2, ?3 ... in order), an
 * absent one costs nothing.  Conditions come from this file only, never
 * from user text.
 */
#define HOST_FILTER_MAX 11

struct host_bind {
	char type;                      /* 's' text, 'b' 16-byte blob, 'i' integer */
	const char *s;
	const unsigned char *b;
	int64_t i;
};

struct host_filter {
	struct vc_sqlbuf from;
	struct host_bind bind[HOST_FILTER_MAX];
	int n;
	char match[2][600];             /* FTS5 queries of hostname and fqdn */
	char like[2][600];              /* LIKE patterns of the same */
	char name_lo[256], name_hi[256]; /* bounds of hostname (host_tri_bounds) */
};

/* Number of characters (not bytes) of UTF-8 text. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Append " AND <cond>" whose one parameter is the next: "?N" in cond is
 * written as "?@". */
static void
add_cond(struct host_filter *hf, const char *cond, struct host_bind b)
{
	char num[16], *at;
	const char *p = cond;

	if (hf->n == HOST_FILTER_MAX) {
		hf->from.overflow = 1;
		return;
	}
	hf->bind[hf->n++] = b;
	snprintf(num, sizeof num, "?%d", hf->n + 1);
	vc_sqlbuf_add(&hf->from, " AND ");
	while ((at = strstr(p, "?@")) != NULL) {
		char part[512];
		snprintf(part, sizeof part, "%.*s", (int)(at - p), p);
		vc_sqlbuf_add(&hf->from, part);
		vc_sqlbuf_add(&hf->from, num);
		p = at + 2;
	}
	vc_sqlbuf_add(&hf->from, p);
}

/*
 * Is the FTS5 query m (or a label) common: does it match more than
 * SEARCH_COMMON hosts?  Asked of the index with a LIMIT, so the answer costs at most
 * that many entries.  A common text is better looked for in the rows
 * the sort's index walks anyway (a page of 50 is found within a few
 * hundred rows); a rare one through the index (else the walk may cross
 * every host to find nothing).
 */
#define SEARCH_COMMON 2000

/* Step q, a prepared "SELECT COUNT(*) ... LIMIT SEARCH_COMMON + 1",
 * or find its count among those counted while the store is unchanged:
 * *common says whether it reached the limit. */
static int
over_common(vc_ctx *ctx, vc_stmt *q, int *common)
{
	int64_t n = q != NULL ? vc_count_cached(ctx, q) : -1;

	if (q != NULL)
		vc_stmt_reset(q);
	if (n < 0)
		return ctx->err ? ctx->err : vc_fail(ctx, VC_EINTERNAL, "host list probe failed");
	*common = n > SEARCH_COMMON;
	return 0;
}

static int
common_text(vc_ctx *ctx, const char *m, int *common)
{
	/* unscoped: a plan probe; counts index entries of all tenants, never shown.
	 * PostgreSQL's answer is always "common": it has no trigram index
	 * the tools' role may use, the sort's index is walked (between the
	 * text's bounds when sorted by name). */
	return over_common(ctx, vc_sql_cached(ctx, VC_SQL2("SELECT COUNT(*) FROM (SELECT rowid"
	    " FROM hosts_search WHERE hosts_search MATCH ?1 LIMIT ?2)",
	    "SELECT ?2 + 1 WHERE ?1 IS NOT NULL"), "si", m, (int64_t)SEARCH_COMMON + 1), common);
}

/*
 * Add a scan for text in column k (0 hostname, 1 fqdn): LIKE '%text%',
 * its own % _ and \ escaped.  LIKE folds ASCII case as lower() does, but
 * without making a lowered copy of every row it looks at (a third of
 * the time of a scan with instr(lower(...))).  The pattern is an
 * expression, not the parameter itself: SQLite (3.40) marks a statement
 * whose LIKE pattern is a bare parameter to be prepared again whenever
 * that parameter is bound, in case its prefix could bound an index
 * range (ours never can: it starts with %), so a kept statement was
 * compiled anew for every page (a tenth of vc-serve's time in a search).
 */
static void
add_scan(struct host_filter *hf, int k, const char *text)
{
	char *p = hf->like[k];
	size_t n = 0;

	p[n++] = '%';
	for (const char *s = text; *s; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			p[n++] = '\\';
		p[n++] = *s;
	}
	p[n++] = '%';
	p[n] = '\0';
	add_cond(hf, k == 0 ? VC_SQL2("h.hostname LIKE (?@ || '') ESCAPE '\\'",
	    "h.hostname_key LIKE vc_nocase(?@) ESCAPE '\\'") :
	    "COALESCE(h.fqdn, '') LIKE (?@ || '') ESCAPE '\\'", (struct host_bind){ .type = 's', .s = p });
}

/*
 * How to look for text in column k (0 hostname, 1 fqdn): *fts 1 through
 * the trigram index (3 characters or more, which a trigram index needs,
 * and not common: common_text), its FTS5 query in hf->match[k] (the text
 * as one phrase, its quotes doubled); *fts 0 by a scan (add_scan).
 */
static int
substring_plan(vc_ctx *ctx, struct host_filter *hf, int k, const char *col, const char *text, int *fts)
{
	char *m = hf->match[k];
	size_t n = 0;
	int rc, common = 0;

	*fts = 0;
	if (strlen(text) > 256)
		return vc_fail(ctx, VC_EUSAGE, "--%s: at most 256 bytes to search for", col);
	if (utf8_chars(text) < 3)
		return 0;
	n = (size_t)snprintf(m, sizeof hf->match[k], "%s : \"", col);
	for (const char *s = text; *s; s++) {
		if (*s == '"')
			m[n++] = '"';
		m[n++] = *s;
	}
	m[n++] = '"';
	m[n] = '\0';
	if ((rc = common_text(ctx, m, &common)) != 0)
		return rc;
	*fts = !common;
	return 0;
}

static void
add_substring(struct host_filter *hf, int k, const char *text, int fts)
{
	if (fts)
		add_cond(hf, "h.rowid IN (SELECT rowid FROM hosts_search WHERE hosts_search MATCH ?@)",
		    (struct host_bind){ .type = 's', .s = hf->match[k] });
	else
		add_scan(hf, k, text);
}

/*
 * The least and the greatest hostname that can hold text, from the
 * bounds of its trigrams (host_tri_bounds): *found 0 when no trigram of
 * it has any.
 */
static int
name_bounds(vc_ctx *ctx, struct host_filter *hf, const char *text, int *found)
{
	/* (PostgreSQL: the trigrams as one array, so that the lookup is an
	 * index condition under row-level security; see schema-pg.sql,
	 * migration 20.) */
	vc_stmt *q = vc_sql_cached(ctx, VC_SQL2("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL"
	    " SELECT i + 1 FROM n WHERE i < length(?2) - 2) SELECT max(b.lo), min(b.hi)"
	    " FROM n JOIN host_tri_bounds b ON b.tenant_id = ?1 AND b.tri = lower(substr(?2, n.i, 3))",
	    "SELECT max(b.lo), min(b.hi) FROM host_tri_bounds b WHERE b.tenant_id = ?1"
	    " AND b.tri = ANY(ARRAY(SELECT vc_nocase(substr(?2, i, 3))"
	    " FROM generate_series(1, length(?2) - 2) AS i))"),
	    "ss", ctx->who.tenant_id, text);
	const char *lo, *hi;

	*found = 0;
	if (q == NULL || vc_sql_step(ctx, q) != 1) {
		if (q != NULL)
			vc_stmt_reset(q);
		return ctx->err ? ctx->err : vc_fail(ctx, VC_EINTERNAL, "host list bounds failed");
	}
	lo = (const char *)vc_col_text(q, 0);
	hi = (const char *)vc_col_text(q, 1);
	if (lo != NULL && hi != NULL) {
		snprintf(hf->name_lo, sizeof hf->name_lo, "%s", lo);
		snprintf(hf->name_hi, sizeof hf->name_hi, "%s", hi);
		*found = 1;
	}
	vc_stmt_reset(q);
	return 0;
}

static int
build_filters(vc_ctx *ctx, jv args, struct host_filter *hf, unsigned char lo[16], unsigned char hi[16])
{
	const char *s, *name = vc_arg_str(args, "hostname"), *sort = vc_arg_str(args, "sort");
	jv since;
	int rc, fts = 0, bounded = 0;

	vc_sqlbuf_add(&hf->from, " FROM hosts h WHERE h.tenant_id = ?1");
	if (name != NULL) {
		if ((rc = substring_plan(ctx, hf, 0, "hostname", name, &fts)) != 0)
			return rc;
		add_substring(hf, 0, name, fts);
		/* A common text in a list sorted by hostname: the sort's index
		 * is walked between the bounds of its trigrams, not from the
		 * first name on. */
		if (!fts && utf8_chars(name) >= 3 && (sort == NULL || strcmp(sort, "hostname") == 0) &&
		    (rc = name_bounds(ctx, hf, name, &bounded)) != 0)
			return rc;
		if (bounded) {
			add_cond(hf, VC_SQL2("h.hostname >= ?@", "h.hostname_key >= ?@"),
			    (struct host_bind){ .type = 's', .s = hf->name_lo });
			add_cond(hf, VC_SQL2("h.hostname <= ?@", "h.hostname_key <= ?@"),
			    (struct host_bind){ .type = 's', .s = hf->name_hi });
		}
	}
	if ((s = vc_arg_str(args, "fqdn")) != NULL) {
		if ((rc = substring_plan(ctx, hf, 1, "fqdn", s, &fts)) != 0)
			return rc;
		add_substring(hf, 1, s, fts);
	}
	if ((s = vc_arg_str(args, "ip")) != NULL) {
		if (vc_cidr_range(s, lo, hi) != 0)
			return vc_fail(ctx, VC_EUSAGE, "ip must be an address or CIDR (10.0.0.0/8, fd00::/8): %.64s", s);
		add_cond(hf, "h.ip_key >= ?@", (struct host_bind){ .type = 'b', .b = lo });
		add_cond(hf, "h.ip_key <= ?@", (struct host_bind){ .type = 'b', .b = hi });
	}
	if ((s = vc_arg_str(args, "os")) != NULL)
		add_cond(hf, "h.os = lower(?@)", (struct host_bind){ .type = 's', .s = s });
	if ((s = vc_arg_str(args, "label")) != NULL) {
		/* A label on many hosts is checked host by host as the sort's
		 * index walks them; one on few, by the list of its hosts. */
		int common = 0;
		if ((rc = over_common(ctx, vc_sql_cached(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM host_labels"
		    " WHERE tenant_id = ?1 AND label = ?2 LIMIT ?3)", "ssi", ctx->who.tenant_id, s,
		    (int64_t)SEARCH_COMMON + 1), &common)) != 0)
			return rc;
		add_cond(hf, common ? "EXISTS (SELECT 1 FROM host_labels l WHERE l.tenant_id = ?1"
		    " AND l.label = ?@ AND l.host_id = h.id)" : "h.id IN (SELECT l.host_id FROM host_labels l"
		    " WHERE l.tenant_id = ?1 AND l.label = ?@)", (struct host_bind){ .type = 's', .s = s });
	}
	since = jv_object_get(jv_copy(args), jv_string("seen_since"));
	if (jv_get_kind(since) == JV_KIND_NUMBER)
		add_cond(hf, "h.last_seen_at >= ?@",
		    (struct host_bind){ .type = 'i', .i = (int64_t)jv_number_value(since) });
	jv_free(since);
	if ((s = vc_arg_str(args, "client_id")) != NULL)
		add_cond(hf, "h.client_id = ?@", (struct host_bind){ .type = 's', .s = s });
	/* Few hosts are in quarantine: their list, from the partial index. */
	if (vc_arg_bool(args, "quarantined"))
		vc_sqlbuf_add(&hf->from, " AND h.id IN (SELECT q.id FROM hosts q WHERE q.tenant_id = ?1"
		    " AND q.quarantined_at IS NOT NULL AND q.released_at IS NULL)");
	return hf->from.overflow ? vc_fail(ctx, VC_EINTERNAL, "host list query too long") : 0;
}

static int
bind_filters(vc_ctx *ctx, vc_stmt *q, void *arg)
{
	const struct host_filter *hf = arg;
	int rc = vc_bind_text(q, 1, ctx->who.tenant_id, -1, VC_TRANSIENT);

	for (int i = 0; i < hf->n && rc == VC_SQL_OK; i++) {
		const struct host_bind *b = &hf->bind[i];
		if (b->type == 's')
			rc = vc_bind_text(q, i + 2, b->s, -1, VC_TRANSIENT);
		else if (b->type == 'b')
			rc = vc_bind_blob(q, i + 2, b->b, 16, VC_TRANSIENT);
		else
			rc = vc_bind_int64(q, i + 2, b->i);
	}
	return rc == VC_SQL_OK ? 0 : vc_fail(ctx, VC_EINTERNAL, "bind: %s", vc_sql_errstr(rc));
}

int
vc_op_hosts_list(vc_ctx *ctx, jv args, jv *out)
{
	unsigned char lo[16], hi[16];
	struct host_filter hf;
	struct vc_list l = {
		.what = "host", .sorts = host_sorts, .sort = "hostname",
		.cols = HOST_COLS, .idexpr = "h.id",
		.bind = bind_filters, .arg = &hf, .count_only = vc_arg_bool(args, "count"),
		.raw = 1,
	};
	int rc, began;

	memset(&hf, 0, sizeof hf);
	/* The plan's probes, the count and the page: one snapshot. */
	began = vc_read_begin(ctx);
	if ((rc = build_filters(ctx, args, &hf, lo, hi)) == 0) {
		l.from = hf.from.s;
		l.first = hf.n + 2;
		rc = vc_page_list(ctx, &l, args, out);
	}
	vc_read_end(ctx, began);
	return rc;
}

static int
host_json(vc_ctx *ctx, const char *id, jv *out)
{
	return vc_sql_one(ctx, vc_sql(ctx, "SELECT " HOST_COLS " FROM hosts h"
	    " WHERE h.tenant_id = ?1 AND h.id = ?2", "ss", ctx->who.tenant_id, id), "host", out);
}

int
vc_op_hosts_show(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1];
	int rc;

	if ((rc = vc_host_resolve(ctx, vc_arg_str(args, "id"), id)) != 0)
		return rc;
	return host_json(ctx, id, out);
}

int
vc_host_quarantine(vc_ctx *ctx, const char *id, int on, const char *exec_id, jv details, jv *out)
{
	int64_t now = vc_now(ctx);
	int rc, changed = 0, was = 0;
	jv host = jv_invalid(), body;

	*out = jv_invalid();
	if (jv_get_kind(details) != JV_KIND_OBJECT) {
		jv_free(details);
		details = jv_object();
	}
	was = vc_sql_int(ctx, vc_sql(ctx, "SELECT quarantined_at IS NOT NULL AND released_at IS NULL"
	    " FROM hosts WHERE tenant_id = ?1 AND id = ?2", "ss", ctx->who.tenant_id, id)) == 1;
	/* A new quarantine starts a new record; a release closes it (and
	 * is noted even when none was open: Velociraptor removed a policy
	 * that was put there some other way). */
	rc = on ? vc_sql_exec(ctx, "UPDATE hosts SET quarantined_at = ?3, quarantined_by = ?4,"
	    " released_at = NULL, released_by = NULL, updated_at = ?3 WHERE tenant_id = ?1 AND id = ?2",
	    &changed, "ssis", ctx->who.tenant_id, id, now, exec_id) :
	    vc_sql_exec(ctx, "UPDATE hosts SET released_at = ?3, released_by = ?4, updated_at = ?3"
	    " WHERE tenant_id = ?1 AND id = ?2", &changed, "ssis", ctx->who.tenant_id, id, now, exec_id);
	if (rc == 0 && changed != 1)
		rc = vc_fail(ctx, VC_ENOTFOUND, "no such host");
	if (rc == 0)
		rc = host_json(ctx, id, &host);
	if (rc != 0) {
		jv_free(details);
		return rc;
	}
	details = jv_object_set(details, jv_string("execution_id"), jv_string(exec_id));
	details = jv_object_set(details, jv_string("was_quarantined"), jv_bool(was));
	rc = vc_audit(ctx, ctx->who.tenant_id, on ? "hosts.quarantine" : "hosts.release", "host", id,
	    "success", NULL, jv_copy(details));
	body = jv_object_merge(details, JV_OBJECT(jv_string("host_id"), jv_string(id),
	    jv_string("hostname"), jv_object_get(jv_copy(host), jv_string("hostname")),
	    jv_string("client_id"), jv_object_get(jv_copy(host), jv_string("client_id")),
	    jv_string("subject"), jv_object_get(jv_copy(host), jv_string("hostname")),
	    jv_string("by"), jv_string(ctx->who.username)));
	if (rc == 0)
		rc = vc_event_emit(ctx, on ? "host.quarantined" : "host.released", body, NULL);
	else
		jv_free(body);
	if (rc == 0) {
		*out = jv_object();
		for (const char *const *k = (const char *const[]){ "quarantined", "quarantined_at",
		    "quarantined_by", "released_at", "released_by", NULL }; *k; k++)
			*out = jv_object_set(*out, jv_string(*k), jv_object_get(jv_copy(host), jv_string(*k)));
	}
	jv_free(host);
	return rc;
}

int
vc_op_hosts_update(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1];
	const char *note = vc_arg_str(args, "note");
	jv labels = jv_object_get(jv_copy(args), jv_string("label")), cur;
	vc_stmt *q;
	int rc;

	if ((rc = vc_host_resolve(ctx, vc_arg_str(args, "id"), id)) != 0) {
		jv_free(labels);
		return rc;
	}
	vc_audit_target(ctx, "host", id);
	if (jv_get_kind(labels) == JV_KIND_STRING)
		labels = JV_ARRAY(labels);
	if (jv_get_kind(labels) == JV_KIND_ARRAY) {
		q = vc_sql(ctx, "SELECT labels FROM hosts WHERE tenant_id = ?1 AND id = ?2", "ss",
		    ctx->who.tenant_id, id);
		if (q == NULL || vc_sql_step(ctx, q) != 1) {
			vc_stmt_done(q);
			jv_free(labels);
			return ctx->err ? ctx->err : vc_fail(ctx, VC_ENOTFOUND, "no such host");
		}
		cur = jv_parse((const char *)vc_col_text(q, 0));
		vc_stmt_done(q);
		if (jv_get_kind(cur) != JV_KIND_ARRAY) {
			jv_free(cur);
			cur = jv_array();
		}
		jv_array_foreach(labels, i, l) {
			const char *s = jv_get_kind(l) == JV_KIND_STRING ? jv_string_value(l) : "";
			int add = s[0] == '+', del = s[0] == '-';
			jv name, next = jv_array();
			if ((!add && !del) || s[1] == '\0' || strlen(s) > 128) {
				jv_free(l);
				jv_free(cur);
				jv_free(labels);
				jv_free(next);
				return vc_fail(ctx, VC_EUSAGE, "--label takes +LABEL or -LABEL, not '%.64s'", s);
			}
			name = jv_string(s + 1);
			jv_array_foreach(cur, j, c) {
				if (jv_equal(jv_copy(c), jv_copy(name)))
					jv_free(c);
				else
					next = jv_array_append(next, c);
			}
			if (add)
				next = jv_array_append(next, jv_copy(name));
			jv_free(name);
			jv_free(cur);
			cur = next;
			jv_free(l);
		}
		{
			jv s = jv_dump_string(jv_copy(cur), 0);
			rc = vc_sql_exec(ctx, "UPDATE hosts SET labels = ?1, updated_at = ?2"
			    " WHERE tenant_id = ?3 AND id = ?4", NULL, "siss", jv_string_value(s),
			    vc_now(ctx), ctx->who.tenant_id, id);
			jv_free(s);
			if (rc == 0)
				rc = sync_labels(ctx, id, cur, 0);
			jv_free(cur);
		}
		if (rc != 0) {
			jv_free(labels);
			return rc;
		}
		ctx->audit_details = JV_OBJECT(jv_string("labels"), jv_copy(labels));
	}
	jv_free(labels);
	if (note != NULL) {
		if (strlen(note) > 16384)
			return vc_fail(ctx, VC_EINVAL, "a note may be at most 16 KiB");
		if ((rc = vc_sql_exec(ctx, "UPDATE hosts SET notes = ?1, updated_at = ?2"
		    " WHERE tenant_id = ?3 AND id = ?4", NULL, "siss", note, vc_now(ctx),
		    ctx->who.tenant_id, id)) != 0)
			return rc;
	}
	return host_json(ctx, id, out);
}

int
vc_op_hosts_delete(vc_ctx *ctx, jv args, jv *out)
{
	char id[VC_ID_LEN + 1];
	int rc;

	if ((rc = vc_host_resolve(ctx, vc_arg_str(args, "id"), id)) != 0 ||
	    (rc = host_json(ctx, id, out)) != 0)
		return rc;
	vc_audit_target(ctx, "host", id);
	{
		jv name = jv_object_get(jv_copy(*out), jv_string("hostname"));
		rc = vc_case_unlink_deleted(ctx, "host", id,
		    jv_get_kind(name) == JV_KIND_STRING ? jv_string_value(name) : id);
		jv_free(name);
	}
	if (rc == 0)
		rc = vc_sql_exec(ctx, "UPDATE artifacts SET host_id = NULL WHERE tenant_id = ?1"
		    " AND host_id = ?2", NULL, "ss", ctx->who.tenant_id, id);
	if (rc == 0)
		rc = vc_sql_exec(ctx, "UPDATE artifact_rows SET host_id = NULL WHERE tenant_id = ?1"
		    " AND host_id = ?2", NULL, "ss", ctx->who.tenant_id, id);
	if (rc == 0)
		rc = vc_sql_exec(ctx, "DELETE FROM host_labels WHERE tenant_id = ?1 AND host_id = ?2",
		    NULL, "ss", ctx->who.tenant_id, id);
	if (rc == 0)
		rc = vc_host_search_drop(ctx, id);
	if (rc == 0)
		rc = vc_sql_exec(ctx, "DELETE FROM hosts WHERE tenant_id = ?1 AND id = ?2", NULL,
		    "ss", ctx->who.tenant_id, id);
	if (rc == 0)
		*out = jv_object_set(*out, jv_string("deleted"), jv_true());
	return rc;
}
