/* SPDX-License-Identifier: MIT */
/* pg.c - the store on PostgreSQL, through libpq opened at run time (pg.h). */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libpq-fe.h>

#include "schema.h"
#include "core/pg.h"

/* ---- libpq, opened on first use ---------------------------------------- */

static struct {
	PGconn *(*connectdbParams)(const char *const *, const char *const *, int);
	ConnStatusType (*status)(const PGconn *);
	char *(*errorMessage)(const PGconn *);
	void (*finish)(PGconn *);
	PGresult *(*exec)(PGconn *, const char *);
	PGresult *(*execParams)(PGconn *, const char *, int, const Oid *, const char *const *,
	    const int *, const int *, int);
	PGresult *(*prepare)(PGconn *, const char *, const char *, int, const Oid *);
	PGresult *(*describePrepared)(PGconn *, const char *);
	int (*sendQueryPrepared)(PGconn *, const char *, int, const char *const *, const int *,
	    const int *, int);
	int (*setSingleRowMode)(PGconn *);
	PGresult *(*getResult)(PGconn *);
	ExecStatusType (*resultStatus)(const PGresult *);
	char *(*resultErrorField)(const PGresult *, int);
	void (*clear)(PGresult *);
	int (*ntuples)(const PGresult *);
	int (*nfields)(const PGresult *);
	int (*nparams)(const PGresult *);
	Oid (*paramtype)(const PGresult *, int);
	char *(*fname)(const PGresult *, int);
	Oid (*ftype)(const PGresult *, int);
	char *(*getvalue)(const PGresult *, int, int);
	int (*getlength)(const PGresult *, int, int);
	int (*getisnull)(const PGresult *, int, int);
	char *(*cmdTuples)(PGresult *);
	unsigned char *(*unescapeBytea)(const unsigned char *, size_t *);
	void (*freemem)(void *);
	PQnoticeProcessor (*setNoticeProcessor)(PGconn *, PQnoticeProcessor, void *);
	PGTransactionStatusType (*transactionStatus)(const PGconn *);
	int (*putCopyData)(PGconn *, const char *, int);
	int (*putCopyEnd)(PGconn *, const char *);
	int (*socket)(const PGconn *);
	int (*consumeInput)(PGconn *);
	PGnotify *(*notifies)(PGconn *);
} pq;

static char pq_why[256];

static void
pq_load(void)
{
	static const char *const names[] = { "PQconnectdbParams", "PQstatus", "PQerrorMessage",
	    "PQfinish", "PQexec", "PQexecParams", "PQprepare", "PQdescribePrepared",
	    "PQsendQueryPrepared", "PQsetSingleRowMode", "PQgetResult", "PQresultStatus",
	    "PQresultErrorField", "PQclear", "PQntuples", "PQnfields", "PQnparams", "PQparamtype", "PQfname",
	    "PQftype", "PQgetvalue", "PQgetlength", "PQgetisnull", "PQcmdTuples",
	    "PQunescapeBytea", "PQfreemem", "PQsetNoticeProcessor", "PQtransactionStatus",
	    "PQputCopyData", "PQputCopyEnd",
	    "PQsocket", "PQconsumeInput", "PQnotifies" };
	void **slot[] = { (void **)&pq.connectdbParams, (void **)&pq.status,
	    (void **)&pq.errorMessage, (void **)&pq.finish, (void **)&pq.exec,
	    (void **)&pq.execParams, (void **)&pq.prepare, (void **)&pq.describePrepared,
	    (void **)&pq.sendQueryPrepared, (void **)&pq.setSingleRowMode, (void **)&pq.getResult,
	    (void **)&pq.resultStatus, (void **)&pq.resultErrorField, (void **)&pq.clear,
	    (void **)&pq.ntuples, (void **)&pq.nfields, (void **)&pq.nparams, (void **)&pq.paramtype,
	    (void **)&pq.fname,
	    (void **)&pq.ftype, (void **)&pq.getvalue, (void **)&pq.getlength,
	    (void **)&pq.getisnull, (void **)&pq.cmdTuples, (void **)&pq.unescapeBytea,
	    (void **)&pq.freemem, (void **)&pq.setNoticeProcessor, (void **)&pq.transactionStatus,
	    (void **)&pq.putCopyData, (void **)&pq.putCopyEnd,
	    (void **)&pq.socket, (void **)&pq.consumeInput, (void **)&pq.notifies };
	void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		snprintf(pq_why, sizeof pq_why,
		    "cannot load libpq.so.5, needed to use a PostgreSQL store (install libpq5): %s", dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if ((*slot[i] = dlsym(h, names[i])) == NULL) {
			snprintf(pq_why, sizeof pq_why,
			    "libpq.so.5 has no %s, needed to use a PostgreSQL store (another version?)",
			    names[i]);
			return;
		}
}

static int
pq_ready(vc_ctx *ctx)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, pq_load);
	/* Unavailable (exit 69), as any library opened at its first use (dl.h). */
	return pq_why[0] == '\0' ? 0 : vc_fail(ctx, VC_EUNAVAIL, "%s", pq_why);
}

/* ---- connections and statements ----------------------------------------- */

/* Type oids of pg_type.h (stable across versions). */
enum { BOOLOID = 16, BYTEAOID = 17, INT8OID = 20, INT2OID = 21, INT4OID = 23, OIDOID = 26,
	FLOAT4OID = 700, FLOAT8OID = 701, NUMERICOID = 1700 };

/* A statement prepared on the server: its name and its description. */
struct prepared {
	char *sql;              /* the SQLite text it was made from */
	char name[16];
	PGresult *desc;         /* parameters and columns */
	int refs;               /* statements (vc_pgstmt) made from it */
};

/* Statements a connection keeps prepared on the server before it lets go
 * of those no statement holds (prep_trim). */
#define PREP_MAX 256

struct vc_pgconn {
	PGconn *c;
	char name[1024];        /* the URL, its password hidden */
	struct vc_pgstmt *active; /* whose rows are arriving */
	struct prepared **prep; /* open addressing on the text's hash */
	size_t nprep, capprep;
	unsigned next_name;
	int64_t changes, total;
	int in_tx;
	char locked[VC_ID_LEN + 2]; /* the tenant whose write lock it holds, "" none */
	int retry;              /* the last failure was 40001 or 40P01 */
	char want[VC_ID_LEN + 2];   /* vc.tenant_id the next statement needs */
	char scope[VC_ID_LEN + 2];  /* vc.tenant_id of the session, "" unknown */
	char tx_scope[VC_ID_LEN + 2]; /* the transaction's, from its begin */
	char tx_now[VC_ID_LEN + 2]; /* in force in it (an unscoped read's "*") */
	int64_t deadline;       /* vc_pg_deadline: CLOCK_MONOTONIC ms, 0 none */
	int tmo_session;        /* the session's timeouts are a deadline's */
	int tmo_local;          /* this transaction's: 0 untouched, 1 a deadline's, 2 default */
	/* A COPY FROM STDIN under way (vc_copy_*): the rows not yet sent. */
	int copying;
	int copy_oom;           /* a field did not fit: the COPY fails at its end */
	int copy_first;         /* the next field is the row's first */
	char *cbuf;
	size_t clen, ccap;
	int64_t copy_rows;
};

enum { ST_IDLE, ST_STREAM, ST_BUFFERED, ST_DONE };

struct vc_pgstmt {
	struct vc_pgconn *conn;
	struct prepared *prep;
	int nparams, ncols;
	char **val;             /* parameter values; NULL is SQL NULL */
	int *len, *fmt;
	int state;
	PGresult *res;          /* the current row, alone in its result */
	PGresult **buf;         /* rows read ahead when another statement ran */
	size_t nbuf, capbuf, nextbuf;
	char *err;              /* the failure read ahead, reported at its step */
	char errstate[6];
	/* A bytea column of the current row, decoded on demand. */
	unsigned char **blob;
	size_t *bloblen;
	int unscoped;           /* runs with vc.tenant_id '*' (vc_unscoped) */
};

/* Notices (a NOTICE from a migration's IF NOT EXISTS) are not errors,
 * and lib/ prints nothing. */
static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

void
vc_pg_redact(const char *url, char *out, size_t n)
{
	const char *p = strstr(url, "://"), *at, *colon, *q;
	size_t o = 0;

	if (n == 0)
		return;
#define PUT(s, len) do { size_t l_ = (len); if (o + l_ >= n) l_ = n - 1 - o; \
	memcpy(out + o, (s), l_); o += l_; } while (0)
	if (p != NULL) {
		p += 3;
		at = strchr(p, '@');
		q = strpbrk(p, "/?");
		if (at != NULL && (q == NULL || at < q) &&
		    (colon = memchr(p, ':', (size_t)(at - p))) != NULL) {
			PUT(url, (size_t)(colon - url) + 1);
			PUT("***", 3);
			url = at;
		}
	}
	/* A password=... parameter, anywhere. */
	while ((q = strstr(url, "password=")) != NULL) {
		PUT(url, (size_t)(q - url) + 9);
		PUT("***", 3);
		url = q + 9 + strcspn(q + 9, "& ");
	}
	PUT(url, strlen(url));
	out[o] = '\0';
#undef PUT
}

/*
 * Connect by libpq's keys[] and vals[], the URL among them as "dbname"
 * (expanded: a key before it is a default the URL may override, one after
 * it overrides the URL); libpq's environment and service file fill in
 * the rest.
 */
static int
pg_connect(vc_ctx *ctx, const char *const *keys, const char *const *vals, const char *url,
    struct vc_pgconn **out)
{
	struct vc_pgconn *c;
	int rc;

	*out = NULL;
	if ((rc = pq_ready(ctx)) != 0)
		return rc;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	vc_pg_redact(url, c->name, sizeof c->name);
	c->c = pq.connectdbParams(keys, vals, 1);
	if (c->c == NULL || pq.status(c->c) != CONNECTION_OK) {
		char msg[512];
		snprintf(msg, sizeof msg, "%s", c->c ? pq.errorMessage(c->c) : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		rc = vc_fail(ctx, VC_ECONFIG, "cannot open store %s: %s", c->name, msg);
		vc_pg_close(c);
		return rc;
	}
	pq.setNoticeProcessor(c->c, quiet, NULL);
	*out = c;
	return 0;
}

int
vc_pg_open(vc_ctx *ctx, const char *url, struct vc_pgconn **out)
{
	const char *keys[] = { "dbname", "fallback_application_name", "client_encoding", NULL };
	const char *vals[] = { url, "velocicompanion", "UTF8", NULL };

	return pg_connect(ctx, keys, vals, url, out);
}

void
vc_pg_close(struct vc_pgconn *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->capprep; i++)
		if (c->prep[i] != NULL) {
			pq.clear(c->prep[i]->desc);
			free(c->prep[i]->sql);
			free(c->prep[i]);
		}
	free(c->prep);
	free(c->cbuf);
	if (c->c != NULL)
		pq.finish(c->c);
	free(c);
}

/* A failed result as a VC_E code with a message in ctx (when not NULL). */
static int
pg_fail(vc_ctx *ctx, struct vc_pgconn *c, const char *state, const char *msg, const char *what)
{
	char m[512];
	int code = VC_EINTERNAL;

	snprintf(m, sizeof m, "%s", msg ? msg : "unknown error");
	m[strcspn(m, "\n")] = '\0';
	if (state == NULL)
		state = "";
	/* Sticky for the transaction: its later statements fail with 25P02
	 * (aborted), and the dispatcher asks after them all. */
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
		c->retry = 1;
		code = VC_ETEMP;
	} else if (c->retry && strcmp(state, "25P02") == 0)
		code = VC_ETEMP;
	else if (strncmp(state, "23", 2) == 0)
		code = VC_ECONFLICT;
	else if (strcmp(state, "42501") == 0)
		code = VC_EPERM;
	else if (c->deadline != 0 && (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0))
		/* statement_timeout or lock_timeout of vc_pg_deadline */
		return ctx == NULL ? VC_ETEMP : vc_fail(ctx, VC_ETEMP, "%s: timed out (%s)", what,
		    state[1] == '7' ? "the statement was stopped" : "waiting for a lock");
	else if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0 || state[0] == '\0')
		code = VC_ETEMP;
	if (ctx == NULL)
		return code;
	if (code == VC_ETEMP)
		return vc_fail(ctx, code, "store busy, try again: %s: %s", what, m);
	return vc_fail(ctx, code, "%s: %s", what, m);
}

static int
res_fail(vc_ctx *ctx, struct vc_pgconn *c, PGresult *r, const char *what)
{
	if (r == NULL)
		return pg_fail(ctx, c, "", pq.errorMessage(c->c), what);
	return pg_fail(ctx, c, pq.resultErrorField(r, PG_DIAG_SQLSTATE),
	    pq.resultErrorField(r, PG_DIAG_MESSAGE_PRIMARY), what);
}

/*
 * A failure read after the caller stopped looking (the rest of a
 * statement's rows read ahead or dropped): the transaction is lost all
 * the same, and its next statement fails (25P02).  When PostgreSQL made
 * it give way (40001, 40P01), the dispatcher must know that it may run
 * it again.
 */
static void
note_lost(struct vc_pgconn *c, const PGresult *r)
{
	const char *st = pq.resultErrorField(r, PG_DIAG_SQLSTATE);

	if (st != NULL && (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0))
		c->retry = 1;
}

/* Read the rest of the active statement's rows into it, so that the
 * connection may carry another statement. */
static void
pg_park(struct vc_pgconn *c)
{
	struct vc_pgstmt *p = c->active;
	PGresult *r;

	if (p == NULL)
		return;
	c->active = NULL;
	while ((r = pq.getResult(c->c)) != NULL) {
		ExecStatusType s = pq.resultStatus(r);
		if (s == PGRES_SINGLE_TUPLE) {
			if (p->nbuf == p->capbuf) {
				size_t cap = p->capbuf ? p->capbuf * 2 : 16;
				PGresult **b = realloc(p->buf, cap * sizeof *b);
				if (b == NULL) {
					pq.clear(r);
					continue;
				}
				p->buf = b;
				p->capbuf = cap;
			}
			p->buf[p->nbuf++] = r;
			continue;
		}
		if (s == PGRES_FATAL_ERROR && p->err == NULL) {
			const char *st = pq.resultErrorField(r, PG_DIAG_SQLSTATE);
			const char *m = pq.resultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
			p->err = strdup(m ? m : "unknown error");
			snprintf(p->errstate, sizeof p->errstate, "%s", st ? st : "");
			note_lost(c, r);
		} else if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
			c->changes = strtol(pq.cmdTuples(r), NULL, 10);
			c->total += c->changes;
		}
		pq.clear(r);
	}
	p->state = ST_BUFFERED;
}

/* Run a statement without parameters or rows (BEGIN, a migration). */
static int
pg_exec(vc_ctx *ctx, struct vc_pgconn *c, const char *sql, const char *what)
{
	PGresult *r;
	int rc = 0;

	pg_park(c);
	r = pq.exec(c->c, sql);
	if (r == NULL || (pq.resultStatus(r) != PGRES_COMMAND_OK &&
	    pq.resultStatus(r) != PGRES_TUPLES_OK))
		rc = res_fail(ctx, c, r, what);
	pq.clear(r);
	return rc;
}

/* Set vc.tenant_id for row-level security: for the transaction (local)
 * or the session. */
static int
pg_scope(vc_ctx *ctx, struct vc_pgconn *c, const char *scope, int local)
{
	const char *v[] = { scope };
	PGresult *r;
	int rc = 0;

	pg_park(c);
	r = pq.execParams(c->c, local ? "SELECT set_config('vc.tenant_id', $1, true)" :
	    "SELECT set_config('vc.tenant_id', $1, false)", 1, NULL, v, NULL, NULL, 0);
	if (r == NULL || pq.resultStatus(r) != PGRES_TUPLES_OK)
		rc = res_fail(ctx, c, r, "store scope");
	else if (!local)
		snprintf(c->scope, sizeof c->scope, "%s", scope);
	pq.clear(r);
	return rc;
}

/*
 * The tenant whose rows the caller may see: its home tenant, or "*"
 * (every tenant, which the policies allow) for what acts before or
 * above any one tenant: an anonymous caller logging in, a superadmin,
 * the system.  Every query binds its tenant_id besides: this is the
 * second lock, for a query that forgot to.
 */
static void
want_scope(vc_ctx *ctx, struct vc_pgconn *c)
{
	const char *s = ctx->who.tenant_id;

	if (ctx->who.actor == VC_ACTOR_ANON || ctx->who.actor == VC_ACTOR_SYSTEM ||
	    ctx->who.role >= VC_ROLE_SUPERADMIN || s[0] == '\0')
		s = "*";
	if (strcmp(c->want, s) != 0)
		snprintf(c->want, sizeof c->want, "%s", s);
}

void
vc_pg_unscoped(struct vc_pgstmt *p)
{
	p->unscoped = 1;
}

int
vc_pg_retryable(struct vc_pgconn *c)
{
	return c->retry;
}

/*
 * A tenant's writers take turns (a session lock, taken before BEGIN):
 * each appends to the tenant's audit chain, which SERIALIZABLE lets only
 * one of two concurrent transactions do, so without turns all but one
 * of several writers at once fail and run again, and again.  Taken
 * before the transaction's snapshot, the lock lets the next writer see
 * the last one's record.  The tenant is the caller's home tenant (a
 * superadmin's too, whose records go to it); nothing for what acts for
 * no tenant.  Under a deadline the wait is bounded by lock_timeout.
 */
static int pg_timeouts(vc_ctx *ctx, struct vc_pgconn *c);

static int
tenant_lock(vc_ctx *ctx, struct vc_pgconn *c)
{
	const char *v[] = { ctx->who.tenant_id };
	PGresult *r;
	int rc = 0;

	if (ctx->who.tenant_id[0] == '\0')
		return 0;
	pg_park(c);
	if (c->deadline != 0 && (rc = pg_timeouts(ctx, c)) != 0)
		return rc;
	r = pq.execParams(c->c, "SELECT pg_advisory_lock(7402, hashtext($1))", 1, NULL, v, NULL,
	    NULL, 0);
	if (r == NULL || pq.resultStatus(r) != PGRES_TUPLES_OK)
		rc = res_fail(ctx, c, r, "tenant write lock");
	else
		snprintf(c->locked, sizeof c->locked, "%s", ctx->who.tenant_id);
	pq.clear(r);
	return rc;
}

static void
tenant_unlock(struct vc_pgconn *c)
{
	const char *v[] = { c->locked };

	if (c->locked[0] == '\0')
		return;
	pq.clear(pq.execParams(c->c, "SELECT pg_advisory_unlock(7402, hashtext($1))", 1, NULL, v,
	    NULL, NULL, 0));
	c->locked[0] = '\0';
}

int
vc_pg_tx_begin(vc_ctx *ctx, int claim)
{
	struct vc_pgconn *c = ctx->store->pg;
	int rc;

	want_scope(ctx, c);
	c->retry = 0;
	if (!claim && (rc = tenant_lock(ctx, c)) != 0)
		return rc;
	if ((rc = pg_exec(ctx, c, claim ? "BEGIN ISOLATION LEVEL READ COMMITTED" :
	    "BEGIN ISOLATION LEVEL SERIALIZABLE", "begin")) != 0) {
		tenant_unlock(c);
		return rc;
	}
	c->in_tx = 1;
	if ((rc = pg_scope(ctx, c, c->want, 1)) != 0) {
		vc_pg_tx_rollback(ctx);
		return rc;
	}
	snprintf(c->tx_scope, sizeof c->tx_scope, "%s", c->want);
	snprintf(c->tx_now, sizeof c->tx_now, "%s", c->want);
	return 0;
}

int
vc_pg_tx_commit(vc_ctx *ctx)
{
	struct vc_pgconn *c = ctx->store->pg;
	int rc = pg_exec(ctx, c, "COMMIT", "commit");

	c->in_tx = 0;
	c->tmo_local = 0;
	if (rc != 0 && pq.transactionStatus(c->c) != PQTRANS_IDLE)
		pg_exec(NULL, c, "ROLLBACK", "rollback");
	tenant_unlock(c);
	return rc;
}

void
vc_pg_tx_rollback(vc_ctx *ctx)
{
	struct vc_pgconn *c = ctx->store->pg;
	int retry = c->retry;

	if (c->copying)
		vc_pg_copy_end(ctx, 1, NULL);
	pg_exec(NULL, c, "ROLLBACK", "rollback");
	tenant_unlock(c);
	c->in_tx = 0;
	c->tmo_local = 0;
	/* A session setting made in the transaction went with it. */
	c->scope[0] = '\0';
	c->retry = retry;
}

/* ---- prepared statements ------------------------------------------------ */

static size_t
hash(const char *s)
{
	size_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The slot of sql in c->prep: its entry, or the empty slot for it. */
static struct prepared **
prep_slot(struct vc_pgconn *c, const char *sql)
{
	size_t i = hash(sql) & (c->capprep - 1);

	while (c->prep[i] != NULL && strcmp(c->prep[i]->sql, sql) != 0)
		i = (i + 1) & (c->capprep - 1);
	return &c->prep[i];
}

static int
prep_grow(struct vc_pgconn *c)
{
	struct prepared **old = c->prep;
	size_t oldcap = c->capprep, cap = oldcap ? oldcap * 2 : 64;

	if ((c->prep = calloc(cap, sizeof *c->prep)) == NULL) {
		c->prep = old;
		return -1;
	}
	c->capprep = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i] != NULL)
			*prep_slot(c, old[i]->sql) = old[i];
	free(old);
	return 0;
}

/*
 * PQprepare, the parameters' types left to the server, which takes each
 * from its first use.  SQLite's "?1 IS NULL OR col = ?1" tells nothing at
 * the first use (42P08, "could not determine data type of parameter
 * $1"): that parameter is then declared text, or bigint when text does
 * not fit where it is used, and the statement prepared again.
 */
static PGresult *
prep_typed(struct vc_pgconn *c, const char *name, const char *text)
{
	enum { TEXTOID = 25, MAXP = 64 };
	Oid types[MAXP] = { 0 };
	int n = 0, last = -1, tries = 0;
	PGresult *r;

	for (;;) {
		const char *st, *msg, *d;
		r = pq.prepare(c->c, name, text, n, n ? types : NULL);
		if (r == NULL || pq.resultStatus(r) == PGRES_COMMAND_OK || ++tries > 2 * MAXP)
			return r;
		/* Back to before the failed attempt (a savepoint of the caller's
		 * in a transaction; nothing to undo outside one). */
		if (c->in_tx)
			pq.clear(pq.exec(c->c, "ROLLBACK TO SAVEPOINT vc_prepare"));
		st = pq.resultErrorField(r, PG_DIAG_SQLSTATE);
		msg = pq.resultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		if (st != NULL && (strcmp(st, "42P08") == 0 || strcmp(st, "42P18") == 0) && msg != NULL &&
		    (d = strchr(msg, '$')) != NULL) {
			long k = strtol(d + 1, NULL, 10);
			if (k < 1 || k > MAXP)
				return r;
			last = (int)k - 1;
			types[last] = TEXTOID;
			if (n < k)
				n = (int)k;
		} else if (st != NULL && last >= 0 && types[last] == TEXTOID &&
		    (strcmp(st, "42883") == 0 || strcmp(st, "42804") == 0)) {
			types[last] = INT8OID;
		} else
			return r;
		pq.clear(r);
	}
}

/* desc, the description of statement name (of sql): kept, or replaced
 * by that of the statement prepared again with int8 for int4 and int2
 * parameters.  NULL when out of memory. */
static PGresult *
prep_widen(struct vc_pgconn *c, const char *name, const char *sql, PGresult *desc)
{
	int n = pq.nparams(desc), narrow = 0;
	Oid *types;
	char *text = NULL, err[64], dealloc[64];
	PGresult *r;

	for (int i = 0; i < n; i++)
		narrow |= pq.paramtype(desc, i) == INT4OID || pq.paramtype(desc, i) == INT2OID;
	if (!narrow)
		return desc;
	if ((types = calloc((size_t)n, sizeof *types)) == NULL ||
	    vc_pg_translate(sql, &text, err, sizeof err) != 0) {
		free(types);
		pq.clear(desc);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		types[i] = pq.paramtype(desc, i);
		if (types[i] == INT4OID || types[i] == INT2OID)
			types[i] = INT8OID;
	}
	pq.clear(desc);
	/* The name is ours ("vc" and a number), not the caller's. */
	snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", name);
	pq.clear(pq.exec(c->c, dealloc));
	r = pq.prepare(c->c, name, text, n, types);
	free(text);
	free(types);
	if (r == NULL || pq.resultStatus(r) != PGRES_COMMAND_OK)
		return r;
	pq.clear(r);
	return pq.describePrepared(c->c, name);
}

static int pg_bound(vc_ctx *ctx, struct vc_pgconn *c);

static void
prep_drop(struct vc_pgconn *c, struct prepared *e)
{
	char dealloc[64];

	snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", e->name);
	pq.clear(pq.exec(c->c, dealloc));
	pq.clear(e->desc);
	free(e->sql);
	free(e);
}

/*
 * The texts a connection sees are many over a long life (a host list's
 * filters combine into thousands), and each prepared one holds memory on
 * the server: at PREP_MAX, those no statement holds are deallocated
 * (the statements held are few: the store's cache, VC_SQL_CACHE).  Only
 * between transactions, where a DEALLOCATE cannot fail one.
 */
static void
prep_trim(struct vc_pgconn *c)
{
	struct prepared **old = c->prep;
	size_t cap = c->capprep;

	if (c->nprep < PREP_MAX || c->in_tx || pq.transactionStatus(c->c) != PQTRANS_IDLE)
		return;
	if ((c->prep = calloc(cap, sizeof *c->prep)) == NULL) {
		c->prep = old;
		return;
	}
	c->nprep = 0;
	for (size_t i = 0; i < cap; i++)
		if (old[i] != NULL && old[i]->refs > 0) {
			*prep_slot(c, old[i]->sql) = old[i];
			c->nprep++;
		} else if (old[i] != NULL)
			prep_drop(c, old[i]);
	free(old);
}

/* sql prepared on the server (translated first), once per connection. */
static struct prepared *
prep_get(vc_ctx *ctx, struct vc_pgconn *c, const char *sql)
{
	struct prepared **slot, *e;
	char *text = NULL, err[256];
	PGresult *r;

	if (c->capprep > 0 && *(slot = prep_slot(c, sql)) != NULL)
		return *slot;
	pg_park(c);
	prep_trim(c);
	if ((c->nprep + 1) * 2 > c->capprep && prep_grow(c) != 0) {
		vc_fail(ctx, VC_EINTERNAL, "out of memory");
		return NULL;
	}
	if (vc_pg_translate(sql, &text, err, sizeof err) != 0) {
		vc_fail(ctx, VC_EINTERNAL, "prepare: %s", err);
		return NULL;
	}
	if ((e = calloc(1, sizeof *e)) == NULL || (e->sql = strdup(sql)) == NULL) {
		free(e);
		free(text);
		vc_fail(ctx, VC_EINTERNAL, "out of memory");
		return NULL;
	}
	snprintf(e->name, sizeof e->name, "vc%u", ++c->next_name);
	if (pg_bound(ctx, c) != 0) {
		free(text);
		free(e->sql);
		free(e);
		return NULL;
	}
	/* In a transaction, a failed attempt of prep_typed would lose it:
	 * the attempts run under a savepoint. */
	if (c->in_tx)
		pq.clear(pq.exec(c->c, "SAVEPOINT vc_prepare"));
	r = prep_typed(c, e->name, text);
	free(text);
	if (c->in_tx)
		pq.clear(pq.exec(c->c, r != NULL && pq.resultStatus(r) == PGRES_COMMAND_OK ?
		    "RELEASE SAVEPOINT vc_prepare" : "ROLLBACK TO SAVEPOINT vc_prepare"));
	if (r == NULL || pq.resultStatus(r) != PGRES_COMMAND_OK) {
		res_fail(ctx, c, r, "prepare");
		pq.clear(r);
		free(e->sql);
		free(e);
		return NULL;
	}
	pq.clear(r);
	r = pq.describePrepared(c->c, e->name);
	if (r == NULL || pq.resultStatus(r) != PGRES_COMMAND_OK) {
		res_fail(ctx, c, r, "prepare");
		pq.clear(r);
		free(e->sql);
		free(e);
		return NULL;
	}
	/* A parameter the server took for an int4 (beside a literal: "?3 > 0")
	 * would refuse a value past 2^31 (a time in ms): it is declared int8,
	 * as every integer column is, and the statement made again. */
	if ((r = prep_widen(c, e->name, sql, r)) == NULL ||
	    pq.resultStatus(r) != PGRES_COMMAND_OK) {
		res_fail(ctx, c, r, "prepare");
		pq.clear(r);
		free(e->sql);
		free(e);
		return NULL;
	}
	e->desc = r;
	*prep_slot(c, sql) = e;
	c->nprep++;
	return e;
}

struct vc_pgstmt *
vc_pg_prepare(vc_ctx *ctx, const char *sql)
{
	struct vc_pgconn *c = ctx->store->pg;
	struct prepared *e;
	struct vc_pgstmt *p;

	want_scope(ctx, c);
	if ((e = prep_get(ctx, c, sql)) == NULL)
		return NULL;
	if ((p = calloc(1, sizeof *p)) == NULL)
		goto oom;
	p->conn = c;
	p->prep = e;
	e->refs++;
	p->nparams = pq.nparams(e->desc);
	p->ncols = pq.nfields(e->desc);
	if ((p->nparams > 0 && ((p->val = calloc((size_t)p->nparams, sizeof *p->val)) == NULL ||
	    (p->len = calloc((size_t)p->nparams, sizeof *p->len)) == NULL ||
	    (p->fmt = calloc((size_t)p->nparams, sizeof *p->fmt)) == NULL)) ||
	    (p->ncols > 0 && ((p->blob = calloc((size_t)p->ncols, sizeof *p->blob)) == NULL ||
	    (p->bloblen = calloc((size_t)p->ncols, sizeof *p->bloblen)) == NULL)))
		goto oom;
	return p;
oom:
	vc_pg_free(p);
	vc_fail(ctx, VC_EINTERNAL, "out of memory");
	return NULL;
}

int
vc_pg_bind(struct vc_pgstmt *p, int i, int type, const void *v, int n, int64_t iv, double dv)
{
	char num[32], *copy = NULL;
	size_t len = 0;

	if (i < 1 || i > p->nparams)
		return SQLITE_RANGE;
	switch (type) {
	case VC_NULL:
		break;
	case VC_INTEGER:
		len = (size_t)snprintf(num, sizeof num, "%" PRId64, iv);
		v = num;
		break;
	case VC_FLOAT:
		len = (size_t)snprintf(num, sizeof num, "%.17g", dv);
		v = num;
		break;
	default:
		len = n < 0 ? strlen(v) : (size_t)n;
	}
	if (type != VC_NULL) {
		if ((copy = malloc(len + 1)) == NULL)
			return SQLITE_NOMEM;
		memcpy(copy, v, len);
		copy[len] = '\0';
	}
	free(p->val[i - 1]);
	p->val[i - 1] = copy;
	p->len[i - 1] = (int)len;
	/* A blob goes as its bytes (binary), everything else as text. */
	p->fmt[i - 1] = type == VC_BLOB;
	return SQLITE_OK;
}

void
vc_pg_clear(struct vc_pgstmt *p)
{
	for (int i = 0; i < p->nparams; i++) {
		free(p->val[i]);
		p->val[i] = NULL;
	}
}

static void
row_clear(struct vc_pgstmt *p)
{
	pq.clear(p->res);
	p->res = NULL;
	for (int i = 0; i < p->ncols; i++)
		if (p->blob[i] != NULL) {
			pq.freemem(p->blob[i]);
			p->blob[i] = NULL;
		}
}

static void
pg_free_buf(struct vc_pgstmt *p)
{
	for (size_t i = p->nextbuf; i < p->nbuf; i++)
		pq.clear(p->buf[i]);
	p->nbuf = p->nextbuf = 0;
	free(p->err);
	p->err = NULL;
}

/*
 * A read whose reader stopped with many rows still to come (a client
 * that hung up on a streamed list of 200,000 rows) is cancelled rather
 * than read to its end.  PQgetCancel, PQcancel and PQfreeCancel are
 * looked up apart from pq's table, when first needed.
 */
enum { DROP_BEFORE_CANCEL = 256 };
static struct {
	PGcancel *(*get)(PGconn *);
	int (*cancel)(PGcancel *, char *, int);
	void (*free)(PGcancel *);
} pqc;

static void
pqc_load(void)
{
	void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);

	if (h == NULL)
		return;
	*(void **)&pqc.get = dlsym(h, "PQgetCancel");
	*(void **)&pqc.cancel = dlsym(h, "PQcancel");
	*(void **)&pqc.free = dlsym(h, "PQfreeCancel");
	if (pqc.get == NULL || pqc.cancel == NULL || pqc.free == NULL)
		pqc.get = NULL;
}

/* Cancel p's statement when it only reads and runs outside a transaction
 * (a cancelled one would be lost); its remaining rows, and then its
 * error, still arrive, and are dropped.  Best effort. */
static void
pg_cancel_read(struct vc_pgstmt *p)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const char *s = p->prep->sql;
	char why[256];
	PGcancel *k;

	while (*s == '\001' || isspace((unsigned char)*s))
		s++;
	if (p->conn->in_tx || strncasecmp(s, "SELECT", 6) != 0)
		return;
	pthread_once(&once, pqc_load);
	if (pqc.get == NULL || (k = pqc.get(p->conn->c)) == NULL)
		return;
	(void)pqc.cancel(k, why, sizeof why);
	pqc.free(k);
}

void
vc_pg_reset(struct vc_pgstmt *p)
{
	PGresult *r;
	int n = 0;

	if (p->state == ST_STREAM && p->conn->active == p) {
		/* The rest of its rows are read and dropped; its change count
		 * (an INSERT ... RETURNING) is kept. */
		p->conn->active = NULL;
		while ((r = pq.getResult(p->conn->c)) != NULL) {
			if (++n == DROP_BEFORE_CANCEL && pq.resultStatus(r) == PGRES_SINGLE_TUPLE)
				pg_cancel_read(p);
			if (pq.resultStatus(r) == PGRES_TUPLES_OK ||
			    pq.resultStatus(r) == PGRES_COMMAND_OK) {
				p->conn->changes = strtol(pq.cmdTuples(r), NULL, 10);
				p->conn->total += p->conn->changes;
			} else
				note_lost(p->conn, r);
			pq.clear(r);
		}
	}
	row_clear(p);
	pg_free_buf(p);
	p->state = ST_IDLE;
}

void
vc_pg_free(struct vc_pgstmt *p)
{
	if (p == NULL)
		return;
	if (p->conn != NULL)
		vc_pg_reset(p);
	if (p->val != NULL)
		vc_pg_clear(p);
	if (p->prep != NULL)
		p->prep->refs--;
	free(p->val);
	free(p->len);
	free(p->fmt);
	free(p->buf);
	free(p->blob);
	free(p->bloblen);
	free(p);
}

void
vc_pg_deadline(struct vc_pgconn *c, int64_t at)
{
	c->deadline = at;
}

/*
 * The bound of vc_pg_deadline on the next statement: lock_timeout the
 * time left, statement_timeout 50 ms more (for the transaction with SET
 * LOCAL, else for the session), set again before each statement while
 * a deadline holds (a round trip each: only a playbook's database step
 * has one).  Without a deadline, timeouts a deadline left are put back
 * to the server's own: a transaction's at once (SET LOCAL ... TO
 * DEFAULT), the session's at its first statement outside one (a RESET
 * inside a transaction would go with its rollback).
 */
static int
pg_timeouts(vc_ctx *ctx, struct vc_pgconn *c)
{
	char sql[160];
	int64_t left;

	if (c->deadline == 0) {
		if (c->in_tx && c->tmo_local != 2 && (c->tmo_local == 1 || c->tmo_session)) {
			c->tmo_local = 2;
			return pg_exec(ctx, c, "SET LOCAL statement_timeout TO DEFAULT;"
			    " SET LOCAL lock_timeout TO DEFAULT", "store timeouts");
		}
		if (!c->in_tx && c->tmo_session) {
			c->tmo_session = 0;
			return pg_exec(ctx, c, "RESET statement_timeout; RESET lock_timeout",
			    "store timeouts");
		}
		return 0;
	}
	if ((left = c->deadline - vc_mono_ms()) <= 0) {
		if (ctx != NULL)
			vc_fail(ctx, VC_ETEMP, "query: timed out (the deadline has passed)");
		return VC_ETEMP;
	}
	/* A statement's bound a little past the lock's, so that a wait for
	 * a lock is reported as one. */
	snprintf(sql, sizeof sql, "SET%s statement_timeout = %lld; SET%s lock_timeout = %lld",
	    c->in_tx ? " LOCAL" : "", (long long)left + 50, c->in_tx ? " LOCAL" : "", (long long)left);
	if (c->in_tx)
		c->tmo_local = 1;
	else
		c->tmo_session = 1;
	return pg_exec(ctx, c, sql, "store timeouts");
}

/* The timeouts of a deadline (or the defaults again after one) before a
 * statement is sent or prepared: preparing takes the locks of its tables
 * too, and waits for them. */
static int
pg_bound(vc_ctx *ctx, struct vc_pgconn *c)
{
	if (c->deadline != 0 || c->tmo_session || c->tmo_local == 1)
		return pg_timeouts(ctx, c);
	return 0;
}

/* Send the statement with its parameters, rows to come one at a time. */
static int
pg_send(vc_ctx *ctx, struct vc_pgstmt *p)
{
	struct vc_pgconn *c = p->conn;

	if (c->copying) {
		if (ctx != NULL)
			vc_fail(ctx, VC_EINTERNAL, "query: a COPY is under way on this connection");
		return -1;
	}
	pg_park(c);
	if (!c->in_tx)
		c->retry = 0;
	if (!c->in_tx && strcmp(c->scope, p->unscoped ? "*" : c->want) != 0 &&
	    pg_scope(ctx, c, p->unscoped ? "*" : c->want, 0) != 0)
		return -1;
	/* In a transaction its own scope holds, but for an unscoped read. */
	if (c->in_tx && strcmp(c->tx_now, p->unscoped ? "*" : c->tx_scope) != 0) {
		if (pg_scope(ctx, c, p->unscoped ? "*" : c->tx_scope, 1) != 0)
			return -1;
		snprintf(c->tx_now, sizeof c->tx_now, "%s", p->unscoped ? "*" : c->tx_scope);
	}
	if (pg_bound(ctx, c) != 0)
		return -1;
	if (!pq.sendQueryPrepared(c->c, p->prep->name, p->nparams, (const char *const *)p->val,
	    p->len, p->fmt, 0)) {
		pg_fail(ctx, c, "", pq.errorMessage(c->c), "query");
		return -1;
	}
	pq.setSingleRowMode(c->c);
	c->active = p;
	p->state = ST_STREAM;
	return 0;
}

int
vc_pg_step(vc_ctx *ctx, struct vc_pgstmt *p)
{
	struct vc_pgconn *c = p->conn;
	PGresult *r;
	int rc = 0;

	if (ctx != NULL)
		want_scope(ctx, c);
	row_clear(p);
	if (p->state == ST_DONE)
		vc_pg_reset(p);         /* stepped again: run again, as SQLite */
	if (p->state == ST_IDLE && pg_send(ctx, p) != 0)
		return -1;
	if (p->state == ST_BUFFERED) {
		if (p->nextbuf < p->nbuf) {
			p->res = p->buf[p->nextbuf++];
			return 1;
		}
		if (p->err != NULL)
			rc = pg_fail(ctx, c, p->errstate, p->err, "query") ? -1 : 0;
		pg_free_buf(p);
		p->state = ST_DONE;
		return rc;
	}
	r = pq.getResult(c->c);
	if (r != NULL && pq.resultStatus(r) == PGRES_SINGLE_TUPLE) {
		p->res = r;
		return 1;
	}
	if (r == NULL || pq.resultStatus(r) == PGRES_FATAL_ERROR ||
	    pq.resultStatus(r) == PGRES_BAD_RESPONSE) {
		res_fail(ctx, c, r, "query");
		rc = -1;
	} else {
		c->changes = strtol(pq.cmdTuples(r), NULL, 10);
		c->total += c->changes;
	}
	pq.clear(r);
	while ((r = pq.getResult(c->c)) != NULL)
		pq.clear(r);
	c->active = NULL;
	p->state = ST_DONE;
	return rc;
}

/* ---- columns ------------------------------------------------------------ */

/* The result that describes column i: the row's, or the statement's. */
static const PGresult *
cols(struct vc_pgstmt *p)
{
	return p->res != NULL ? p->res : p->prep->desc;
}

int
vc_pg_col_count(struct vc_pgstmt *p)
{
	return p->ncols;
}

const char *
vc_pg_col_name(struct vc_pgstmt *p, int i)
{
	return i >= 0 && i < p->ncols ? pq.fname(cols(p), i) : NULL;
}

static int
col_null(struct vc_pgstmt *p, int i)
{
	return p->res == NULL || i < 0 || i >= p->ncols || pq.getisnull(p->res, 0, i);
}

int
vc_pg_col_type(struct vc_pgstmt *p, int i)
{
	const char *v;

	if (col_null(p, i))
		return VC_NULL;
	switch (pq.ftype(p->res, i)) {
	case BOOLOID: case INT2OID: case INT4OID: case INT8OID: case OIDOID:
		return VC_INTEGER;
	case FLOAT4OID: case FLOAT8OID:
		return VC_FLOAT;
	case NUMERICOID:
		/* sum() of integers is numeric: whole numbers stay integers. */
		v = pq.getvalue(p->res, 0, i);
		return strpbrk(v, ".eEN") ? VC_FLOAT : VC_INTEGER;
	case BYTEAOID:
		return VC_BLOB;
	default:
		return VC_TEXT;
	}
}

const void *
vc_pg_col_blob(struct vc_pgstmt *p, int i)
{
	if (col_null(p, i))
		return NULL;
	if (pq.ftype(p->res, i) != BYTEAOID)
		return pq.getvalue(p->res, 0, i);
	if (p->blob[i] == NULL) {
		p->blob[i] = pq.unescapeBytea((const unsigned char *)pq.getvalue(p->res, 0, i),
		    &p->bloblen[i]);
		if (p->blob[i] == NULL)
			return NULL;
	}
	return p->blob[i];
}

const unsigned char *
vc_pg_col_text(struct vc_pgstmt *p, int i)
{
	if (col_null(p, i))
		return NULL;
	switch (pq.ftype(p->res, i)) {
	case BOOLOID:
		return (const unsigned char *)(pq.getvalue(p->res, 0, i)[0] == 't' ? "1" : "0");
	case BYTEAOID:
		return vc_pg_col_blob(p, i);
	default:
		return (const unsigned char *)pq.getvalue(p->res, 0, i);
	}
}

int
vc_pg_col_bytes(struct vc_pgstmt *p, int i)
{
	if (col_null(p, i))
		return 0;
	switch (pq.ftype(p->res, i)) {
	case BOOLOID:
		return 1;
	case BYTEAOID:
		return vc_pg_col_blob(p, i) ? (int)p->bloblen[i] : 0;
	default:
		return pq.getlength(p->res, 0, i);
	}
}

int64_t
vc_pg_col_int64(struct vc_pgstmt *p, int i)
{
	const char *v;

	if (col_null(p, i))
		return 0;
	v = pq.getvalue(p->res, 0, i);
	switch (pq.ftype(p->res, i)) {
	case BOOLOID:
		return v[0] == 't';
	case FLOAT4OID: case FLOAT8OID: case NUMERICOID:
		return (int64_t)strtod(v, NULL);
	default:
		return strtoll(v, NULL, 10);
	}
}

double
vc_pg_col_double(struct vc_pgstmt *p, int i)
{
	if (col_null(p, i))
		return 0;
	if (pq.ftype(p->res, i) == BOOLOID)
		return pq.getvalue(p->res, 0, i)[0] == 't';
	return strtod(pq.getvalue(p->res, 0, i), NULL);
}

char *
vc_pg_key(struct vc_pgstmt *p)
{
	size_t n = strlen(p->prep->sql) + 1;
	char *k, *o;

	for (int i = 0; i < p->nparams; i++)
		n += 2 + (p->val[i] ? 2 * (size_t)p->len[i] : 0);
	if ((k = malloc(n + 1)) == NULL)
		return NULL;
	o = k + snprintf(k, n + 1, "%s", p->prep->sql);
	for (int i = 0; i < p->nparams; i++) {
		*o++ = '\x1f';
		if (p->val[i] == NULL) {
			*o++ = 'N';
			continue;
		}
		*o++ = 'V';
		for (int j = 0; j < p->len[i]; j++)
			o += snprintf(o, 3, "%02x", (unsigned char)p->val[i][j]);
	}
	*o = '\0';
	return k;
}

/* ---- COPY ... FROM STDIN -------------------------------------------------- */

#define COPY_CHUNK (256 * 1024)         /* what goes to the server at once */

int
vc_pg_exec(vc_ctx *ctx, const char *sql)
{
	struct vc_pgconn *c = ctx->store->pg;

	want_scope(ctx, c);
	if (c->copying)
		return vc_fail(ctx, VC_EINTERNAL, "store: a COPY is under way on this connection");
	if (!c->in_tx && strcmp(c->scope, c->want) != 0 && pg_scope(ctx, c, c->want, 0) != 0)
		return ctx->err;
	return pg_exec(ctx, c, sql, "store");
}

int
vc_pg_copy_begin(vc_ctx *ctx, const char *sql)
{
	struct vc_pgconn *c = ctx->store->pg;
	PGresult *r;
	int rc = 0;

	want_scope(ctx, c);
	if (c->copying)
		return vc_fail(ctx, VC_EINTERNAL, "copy: a COPY is under way on this connection");
	pg_park(c);
	if (!c->in_tx && strcmp(c->scope, c->want) != 0 && pg_scope(ctx, c, c->want, 0) != 0)
		return ctx->err;
	r = pq.exec(c->c, sql);
	if (r == NULL || pq.resultStatus(r) != PGRES_COPY_IN)
		rc = res_fail(ctx, c, r, "copy");
	pq.clear(r);
	if (rc != 0)
		return rc;
	c->copying = 1;
	c->copy_oom = 0;
	c->copy_first = 1;
	c->clen = 0;
	c->copy_rows = 0;
	return 0;
}

static void
copy_put(struct vc_pgconn *c, const char *s, size_t n)
{
	if (c->copy_oom)
		return;
	if (c->clen + n > c->ccap) {
		size_t cap = c->ccap ? c->ccap : COPY_CHUNK + 4096;
		char *b;
		while (cap < c->clen + n)
			cap *= 2;
		if ((b = realloc(c->cbuf, cap)) == NULL) {
			c->copy_oom = 1;
			return;
		}
		c->cbuf = b;
		c->ccap = cap;
	}
	memcpy(c->cbuf + c->clen, s, n);
	c->clen += n;
}

static void
copy_sep(struct vc_pgconn *c)
{
	if (!c->copy_first)
		copy_put(c, "\t", 1);
	c->copy_first = 0;
}

/* The text format's escapes: a backslash, a tab, a line end; a NUL ends
 * the value, as it ends a text parameter. */
void
vc_pg_copy_text(struct vc_pgconn *c, const char *s, size_t n)
{
	const char *run;

	copy_sep(c);
	if (s == NULL) {
		copy_put(c, "\\N", 2);
		return;
	}
	run = s;
	for (size_t i = 0; i < n; i++) {
		const char *e;
		switch (s[i]) {
		case '\\': e = "\\\\"; break;
		case '\t': e = "\\t"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\0': n = i; e = ""; break;
		default: continue;
		}
		copy_put(c, run, (size_t)(s + i - run));
		copy_put(c, e, strlen(e));
		run = s + i + 1;
	}
	if (run < s + n)
		copy_put(c, run, (size_t)(s + n - run));
}

void
vc_pg_copy_int(struct vc_pgconn *c, int64_t v)
{
	char num[32];

	copy_sep(c);
	copy_put(c, num, (size_t)snprintf(num, sizeof num, "%" PRId64, v));
}

void
vc_pg_copy_blob(struct vc_pgconn *c, const void *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	const unsigned char *b = p;
	char pair[2];

	copy_sep(c);
	if (p == NULL) {
		copy_put(c, "\\N", 2);
		return;
	}
	/* bytea's hex input, its backslash escaped for COPY. */
	copy_put(c, "\\\\x", 3);
	for (size_t i = 0; i < n; i++) {
		pair[0] = hx[b[i] >> 4];
		pair[1] = hx[b[i] & 15];
		copy_put(c, pair, 2);
	}
}

int
vc_pg_copy_row(vc_ctx *ctx)
{
	struct vc_pgconn *c = ctx->store->pg;

	if (!c->copying)
		return vc_fail(ctx, VC_EINTERNAL, "copy: no COPY under way");
	copy_put(c, "\n", 1);
	c->copy_first = 1;
	c->copy_rows++;
	if (c->copy_oom)
		return vc_fail(ctx, VC_EINTERNAL, "copy: out of memory");
	if (c->clen >= COPY_CHUNK) {
		if (pq.putCopyData(c->c, c->cbuf, (int)c->clen) != 1)
			return pg_fail(ctx, c, "", pq.errorMessage(c->c), "copy");
		c->clen = 0;
	}
	return 0;
}

int
vc_pg_copy_end(vc_ctx *ctx, int abort, int64_t *rows)
{
	struct vc_pgconn *c = ctx->store->pg;
	PGresult *r;
	int rc = 0, sent;

	if (!c->copying)
		return abort ? 0 : vc_fail(ctx, VC_EINTERNAL, "copy: no COPY under way");
	if (c->copy_oom && !abort)
		rc = vc_fail(ctx, VC_EINTERNAL, "copy: out of memory");
	if (rc == 0 && !abort && c->clen > 0 && pq.putCopyData(c->c, c->cbuf, (int)c->clen) != 1)
		rc = pg_fail(ctx, c, "", pq.errorMessage(c->c), "copy");
	c->clen = 0;
	/* A message for the server makes it fail the COPY (and the
	 * transaction): nothing of it is kept. */
	sent = pq.putCopyEnd(c->c, abort || rc != 0 ? "cancelled by the client" : NULL);
	c->copying = 0;
	if (sent != 1 && rc == 0 && !abort)
		rc = pg_fail(ctx, c, "", pq.errorMessage(c->c), "copy");
	while ((r = pq.getResult(c->c)) != NULL) {
		if (rc == 0 && !abort && pq.resultStatus(r) != PGRES_COMMAND_OK)
			rc = res_fail(ctx, c, r, "copy");
		else if (pq.resultStatus(r) == PGRES_COMMAND_OK) {
			c->changes = strtol(pq.cmdTuples(r), NULL, 10);
			c->total += c->changes;
		}
		pq.clear(r);
	}
	if (rows != NULL)
		*rows = rc == 0 ? c->changes : 0;
	/* Keep the buffer of an ordinary COPY for the next; not a big one. */
	if (c->ccap > 4 * COPY_CHUNK) {
		free(c->cbuf);
		c->cbuf = NULL;
		c->ccap = 0;
	}
	return rc;
}

int
vc_pg_copying(struct vc_pgconn *c)
{
	return c->copying;
}

/* ---- the connection's counters ------------------------------------------ */

int64_t
vc_pg_last_insert_id(vc_ctx *ctx)
{
	struct vc_pgconn *c = ctx->store->pg;
	PGresult *r;
	int64_t id = 0;

	pg_park(c);
	/* No sequence used yet in this session: 0, as SQLite's. */
	r = pq.exec(c->c, c->in_tx ? "SAVEPOINT vc_lastval" : "SELECT 1");
	pq.clear(r);
	r = pq.exec(c->c, "SELECT lastval()");
	if (r != NULL && pq.resultStatus(r) == PGRES_TUPLES_OK && pq.ntuples(r) == 1)
		id = strtoll(pq.getvalue(r, 0, 0), NULL, 10);
	pq.clear(r);
	if (c->in_tx) {
		r = pq.exec(c->c, id ? "RELEASE SAVEPOINT vc_lastval" :
		    "ROLLBACK TO SAVEPOINT vc_lastval");
		pq.clear(r);
	}
	return id;
}

int
vc_pg_changes(struct vc_pgconn *c)
{
	return (int)c->changes;
}

int64_t
vc_pg_total_changes(struct vc_pgconn *c)
{
	return c->total;
}

/* ---- LISTEN: wake-ups from other connections ---------------------------- */

int
vc_pg_listen(vc_ctx *ctx, const char *url, const char *topic, struct vc_pgconn **out)
{
	/* A dead peer is found by TCP keepalives within about a minute
	 * (defaults the URL may override): a listener only reads, so it
	 * would not notice otherwise. */
	const char *keys[] = { "keepalives_idle", "keepalives_interval", "keepalives_count",
	    "dbname", "fallback_application_name", "client_encoding", NULL };
	const char *vals[] = { "30", "10", "3", url, "velocicompanion-listen", "UTF8", NULL };
	char sql[80];
	size_t n = strlen(topic);
	int rc;

	*out = NULL;
	/* LISTEN takes no parameter: the topic is one of the store's own
	 * names (store.h), checked to be a plain identifier. */
	if (n == 0 || n > 48 || strspn(topic, "abcdefghijklmnopqrstuvwxyz_") != n)
		return vc_fail(ctx, VC_EINTERNAL, "bad topic name '%.64s'", topic);
	if ((rc = pg_connect(ctx, keys, vals, url, out)) != 0)
		return rc;
	snprintf(sql, sizeof sql, "LISTEN %s", topic);
	if ((rc = pg_exec(ctx, *out, sql, "listen")) != 0) {
		vc_pg_close(*out);
		*out = NULL;
	}
	return rc;
}

int
vc_pg_listen_fd(const struct vc_pgconn *c)
{
	return pq.socket(c->c);
}

int
vc_pg_listen_read(vc_ctx *ctx, struct vc_pgconn *c, int *got)
{
	PGnotify *n;

	*got = 0;
	if (!pq.consumeInput(c->c) || pq.status(c->c) != CONNECTION_OK) {
		char msg[512];

		snprintf(msg, sizeof msg, "%s", pq.errorMessage(c->c));
		msg[strcspn(msg, "\n")] = '\0';
		return vc_fail(ctx, VC_ETEMP, "lost the connection to %s: %s", c->name,
		    msg[0] ? msg : "closed");
	}
	while ((n = pq.notifies(c->c)) != NULL) {
		(*got)++;
		pq.freemem(n);
	}
	return 0;
}

/* ---- migrations ---------------------------------------------------------- */

int
vc_pg_version(vc_ctx *ctx)
{
	struct vc_pgconn *c = ctx->store->pg;
	PGresult *r;
	int v = -1;

	pg_park(c);
	/* A missing table is version 0; asked first, since naming a missing
	 * table fails the statement (and the transaction around it). */
	r = pq.exec(c->c, "SELECT to_regclass('vc_schema_version') IS NOT NULL");
	if (r != NULL && pq.resultStatus(r) == PGRES_TUPLES_OK && pq.ntuples(r) == 1 &&
	    pq.getvalue(r, 0, 0)[0] != 't')
		v = 0;
	else if (r != NULL && pq.resultStatus(r) == PGRES_TUPLES_OK) {
		pq.clear(r);
		r = pq.exec(c->c, "SELECT coalesce(max(version), 0) FROM vc_schema_version");
		if (r != NULL && pq.resultStatus(r) == PGRES_TUPLES_OK && pq.ntuples(r) == 1)
			v = (int)strtol(pq.getvalue(r, 0, 0), NULL, 10);
	}
	if (v < 0)
		res_fail(ctx, c, r, "schema version");
	pq.clear(r);
	return v;
}

static int
pg_set_version(vc_ctx *ctx, struct vc_pgconn *c, int version)
{
	char num[16];
	const char *v[] = { num };
	PGresult *r;
	int rc;

	if ((rc = pg_exec(ctx, c, "DELETE FROM vc_schema_version", "migrate")) != 0)
		return rc;
	snprintf(num, sizeof num, "%d", version);
	r = pq.execParams(c->c, "INSERT INTO vc_schema_version (version) VALUES ($1)", 1, NULL, v,
	    NULL, NULL, 0);
	if (r == NULL || pq.resultStatus(r) != PGRES_COMMAND_OK)
		rc = res_fail(ctx, c, r, "migrate");
	pq.clear(r);
	return rc;
}

int
vc_pg_migrate(vc_ctx *ctx, int create, int *fresh)
{
	struct vc_pgconn *c = ctx->store->pg;
	char mig[64];
	int v, rc;

	*fresh = 0;
	if (vc_pg_migrations_count != vc_migrations_count)
		return vc_fail(ctx, VC_ECONFIG, "this build's PostgreSQL schema has %d migrations"
		    " and its SQLite schema %d: schema-pg.sql lags behind schema.sql",
		    vc_pg_migrations_count, vc_migrations_count);
	if ((v = vc_pg_version(ctx)) < 0)
		return ctx->err;
	if (v == 0 && !create)
		return vc_fail(ctx, VC_ECONFIG, "no store at %s: run 'vc-auth init' first", c->name);
	if (v > vc_pg_migrations_count)
		return vc_fail(ctx, VC_ECONFIG,
		    "store schema version %d is newer than this build knows (%d): upgrade VelociCompanion",
		    v, vc_pg_migrations_count);
	if (v == vc_pg_migrations_count)
		return 0;
	/* One migrator at a time across every process and machine; the
	 * others wait here, then find the work done. */
	if ((rc = pg_exec(ctx, c, "BEGIN", "migrate")) != 0)
		return rc;
	c->in_tx = 1;
	if ((rc = pg_exec(ctx, c, "SELECT pg_advisory_xact_lock(7400567285411201);"
	    "SET LOCAL vc.tenant_id = '*';"
	    "CREATE TABLE IF NOT EXISTS vc_schema_version (version integer NOT NULL)",
	    "migrate")) != 0)
		goto fail;
	if ((v = vc_pg_version(ctx)) < 0) {
		rc = ctx->err;
		goto fail;
	}
	*fresh = v == 0;
	for (int i = v; i < vc_pg_migrations_count; i++) {
		snprintf(mig, sizeof mig, "migration %d", i + 1);
		if ((rc = pg_exec(ctx, c, vc_pg_migrations[i], mig)) != 0)
			goto fail;
	}
	/* Audit record ids come from the column's sequence (audit.c); a
	 * store whose records were numbered by hand before (MAX + 1) gets
	 * the sequence moved past them. */
	/* unscoped: every chain's records, under vc.tenant_id '*' */
	if ((rc = pg_exec(ctx, c, "SELECT setval(pg_get_serial_sequence('audit_logs', 'id'),"
	    " (SELECT COALESCE(MAX(id), 0) + 1 FROM audit_logs), false)", "migrate")) != 0)
		goto fail;
	/* The grants reach the role the tools run as, when there is one
	 * (see ARCHITECTURE.md): no UPDATE of the audit log or of case
	 * notes, no DELETE from the audit log. */
	if ((rc = pg_set_version(ctx, c, vc_pg_migrations_count)) != 0 ||
	    (rc = pg_exec(ctx, c, "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vc_app')"
	    " THEN GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO vc_app;"
	    " REVOKE UPDATE, DELETE ON audit_logs FROM vc_app;"
	    /* a case's notes go with it (vc-case delete), as on SQLite */
	    " REVOKE UPDATE ON case_notes FROM vc_app;"
	    " GRANT SELECT ON vc_schema_version TO vc_app;"
	    " REVOKE INSERT, UPDATE, DELETE ON vc_schema_version FROM vc_app;"
	    " GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO vc_app; END IF; END $$",
	    "migrate")) != 0)
		goto fail;
	c->in_tx = 0;
	return pg_exec(ctx, c, "COMMIT", "migrate");
fail:
	pg_exec(NULL, c, "ROLLBACK", "migrate");
	c->in_tx = 0;
	return rc;
}

/* ---- the dialect --------------------------------------------------------- */

struct out {
	char *s;
	size_t n, cap;
	int oom;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->n + n + 1 > o->cap) {
		size_t cap = (o->n + n + 1) * 2;
		char *b = realloc(o->s, cap);
		if (b == NULL) {
			o->oom = 1;
			return;
		}
		o->s = b;
		o->cap = cap;
	}
	memcpy(o->s + o->n, s, n);
	o->n += n;
	o->s[o->n] = '\0';
}

static int
word_char(int c)
{
	return isalnum(c) || c == '_' || c == '$';
}

/* Does s start with the words w (case-insensitive, whole words, any
 * white space between them)?  The length matched, or 0. */
static size_t
words(const char *s, const char *w)
{
	const char *p = s;

	while (*w) {
		if (*w == ' ') {
			if (!isspace((unsigned char)*p))
				return 0;
			while (isspace((unsigned char)*p))
				p++;
			w++;
			continue;
		}
		if (tolower((unsigned char)*p) != tolower((unsigned char)*w))
			return 0;
		p++;
		w++;
	}
	return word_char((unsigned char)p[-1]) && word_char((unsigned char)*p) ? 0 : (size_t)(p - s);
}

/* Is c part of a simple operand: a name, t.name, or a parameter? */
static int
operand_char(int c)
{
	return word_char(c) || c == '.' || c == '?';
}

/*
 * "L GLOB R" -> "vc_glob(L, R)" (schema-pg.sql), for operands that are a
 * name or a parameter: L is already in o, *p is at GLOB (n long).  -1
 * when the operands are not that simple (the caller then refuses).
 */
static int
glob_call(struct out *o, const char **p, size_t n)
{
	size_t end = o->n, start;
	const char *r = *p + n, *re;
	char left[128], num[16];

	while (end > 0 && isspace((unsigned char)o->s[end - 1]))
		end--;
	start = end;
	while (start > 0 && operand_char((unsigned char)o->s[start - 1]))
		start--;
	while (isspace((unsigned char)*r))
		r++;
	for (re = r; operand_char((unsigned char)*re); re++)
		;
	if (start == end || re == r || end - start >= sizeof left || o->oom)
		return -1;
	memcpy(left, o->s + start, end - start);
	left[end - start] = '\0';
	o->n = start;
	put(o, "vc_glob(", 8);
	put(o, left, strlen(left));
	put(o, ", ", 2);
	if (*r == '?') {
		/* The right operand is a parameter: ?N (a bare ? is not used
		 * beside GLOB in this tree). */
		put(o, num, (size_t)snprintf(num, sizeof num, "$%.*s", (int)(re - r - 1), r + 1));
	} else
		put(o, r, (size_t)(re - r));
	put(o, ")", 1);
	*p = re;
	return 0;
}

/* The commas at the top level of the parentheses p starts with. */
static int
top_commas(const char *p)
{
	int depth = 0, commas = 0;

	for (; *p; p++) {
		if (*p == '\'') {
			while (*++p && *p != '\'')
				;
			if (*p == '\0')
				break;
		} else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			break;
		else if (*p == ',' && depth == 1)
			commas++;
	}
	return commas;
}

/* Does the output end with the word w (and maybe white space)? */
static int
after_word(const struct out *o, const char *w)
{
	size_t e = o->n, n = strlen(w);

	while (e > 0 && isspace((unsigned char)o->s[e - 1]))
		e--;
	return e >= n && strncasecmp(o->s + e - n, w, n) == 0 &&
	    (e == n || !word_char((unsigned char)o->s[e - n - 1]));
}

/* Does the output end with FROM or JOIN (a "(" after it opens a subquery)? */
static int
after_from(const struct out *o)
{
	return after_word(o, "FROM") || after_word(o, "JOIN");
}

/* Does the text after a subquery's ")" name it (AS x, or a bare name)? */
static int
has_alias(const char *p)
{
	static const char *const kw[] = { "WHERE", "GROUP", "ORDER", "LIMIT", "UNION", "JOIN",
	    "LEFT", "INNER", "CROSS", "ON", "HAVING", "WINDOW", "EXCEPT", "INTERSECT", "OFFSET",
	    "RETURNING", "USING" };

	while (isspace((unsigned char)*p))
		p++;
	if (!word_char((unsigned char)*p) || *p == '$')
		return 0;
	for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
		if (words(p, kw[i]))
			return 0;
	return 1;
}

/* Keep one backend's part of each VC_SQL2 pair: part 1 SQLite, 2 PostgreSQL. */
static char *
pick(const char *sql, int part)
{
	struct out o = { 0 };
	int in = 0;

	put(&o, "", 0);
	for (const char *p = sql; *p; p++) {
		if (*p == '\001')
			in = 1;
		else if (*p == '\002')
			in = 2;
		else if (*p == '\003')
			in = 0;
		else if (in == 0 || in == part)
			put(&o, p, 1);
	}
	if (o.oom) {
		free(o.s);
		return NULL;
	}
	return o.s;
}

char *
vc_sql_lite_text(const char *sql)
{
	return pick(sql, 1);
}

int
vc_pg_translate(const char *sql, char **out, char *err, size_t errlen)
{
	struct out o = { 0 };
	char *text = pick(sql, 2);
	const char *p;
	int maxparam = 0, ignore = 0, depth = 0, subs = 0;
	char sub[64] = { 0 }, hex[64] = { 0 };
	size_t returning = 0, n;

	*out = NULL;
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	put(&o, "", 0);
	for (p = text; *p; ) {
		unsigned char ch = (unsigned char)*p;
		int prev = p > text ? (unsigned char)p[-1] : ' ';

		if (ch == '\'' || ch == '"') {
			/* A literal or a quoted name, kept as it is. */
			const char *q = p + 1;
			for (;;) {
				if (*q == '\0')
					break;
				if (*q == (char)ch) {
					if (q[1] == (char)ch) {
						q += 2;
						continue;
					}
					q++;
					break;
				}
				q++;
			}
			if (ch == '\'' && after_word(&o, "AS") && memchr(p + 1, '"', (size_t)(q - p - 1)) == NULL) {
				/* AS 'name': SQLite takes a literal for a name, PostgreSQL does not. */
				put(&o, "\"", 1);
				put(&o, p + 1, (size_t)(q - p - 2));
				put(&o, "\"", 1);
			} else
				put(&o, p, (size_t)(q - p));
			p = q;
			continue;
		}
		if (ch == '-' && p[1] == '-') {
			n = strcspn(p, "\n");
			put(&o, p, n);
			p += n;
			continue;
		}
		if (ch == '?') {
			char num[16];
			long v;
			char *end;
			if (isdigit((unsigned char)p[1])) {
				v = strtol(p + 1, &end, 10);
				p = end;
			} else {
				v = maxparam + 1;
				p++;
			}
			if (v > maxparam)
				maxparam = (int)v;
			put(&o, num, (size_t)snprintf(num, sizeof num, "$%ld", v));
			continue;
		}
		if (ch == '(') {
			depth++;
			if (depth < (int)sizeof sub)
				sub[depth] = after_from(&o);
		} else if (ch == ')') {
			int named = depth > 0 && depth < (int)sizeof sub && sub[depth];
			if (depth > 0 && depth < (int)sizeof hex && hex[depth]) {
				/* The end of hex(x): upper(encode(x, 'hex')). */
				hex[depth--] = 0;
				put(&o, ", 'hex'))", 9);
				p++;
				continue;
			}
			depth--;
			if (named && !has_alias(p + 1)) {
				/* PostgreSQL wants a name for a subquery in FROM. */
				char alias[24];
				put(&o, ")", 1);
				put(&o, alias, (size_t)snprintf(alias, sizeof alias, " AS vc_sub%d",
				    ++subs));
				p++;
				continue;
			}
		}
		if (word_char(prev) && prev != '$') {
			put(&o, p, 1);
			p++;
			continue;
		}
		if ((ch == 'x' || ch == 'X') && p[1] == '\'') {
			/* x'0a0b' -> '\x0a0b'::bytea */
			n = strcspn(p + 2, "'");
			put(&o, "'\\x", 3);
			put(&o, p + 2, n);
			put(&o, "'::bytea", 8);
			p += 2 + n + (p[2 + n] == '\'');
			continue;
		}
		if ((n = words(p, "INSERT OR IGNORE INTO")) != 0) {
			put(&o, "INSERT INTO", 11);
			ignore = 1;
			p += n;
			continue;
		}
		if ((n = words(p, "GLOB")) != 0 && glob_call(&o, &p, n) == 0)
			continue;
		if (words(p, "INSERT OR REPLACE") || words(p, "REPLACE INTO") || words(p, "PRAGMA") ||
		    words(p, "GLOB") || words(p, "json_extract") || words(p, "strftime") ||
		    words(p, "rowid")) {
			snprintf(err, errlen, "no PostgreSQL translation of \"%.*s\" (write the"
			    " statement with VC_SQL2): %.80s", (int)strcspn(p, " ("), p, text);
			free(text);
			free(o.s);
			return -1;
		}
		if (((n = words(p, "min")) || (n = words(p, "max"))) && p[n] == '(' &&
		    top_commas(p + n) > 0) {
			/* min(a, b), SQLite's scalar: least(a, b). */
			put(&o, tolower((unsigned char)p[1]) == 'i' ? "least" : "greatest",
			    tolower((unsigned char)p[1]) == 'i' ? 5 : 8);
			p += n;
			continue;
		}
		if ((n = words(p, "hex")) && p[n] == '(' && depth + 1 < (int)sizeof hex) {
			/* SQLite's hex(blob), upper case: encode() writes lower. */
			put(&o, "upper(encode(", 13);
			hex[++depth] = 1;
			p += n + 1;
			continue;
		}
		if ((n = words(p, "unixepoch")) && strncmp(p + n, "()", 2) == 0) {
			/* unixepoch(), the time now in whole seconds. */
			put(&o, "floor(extract(epoch FROM now()))::bigint", 40);
			p += n + 2;
			continue;
		}
		if ((n = words(p, "ifnull"))) {
			put(&o, "coalesce", 8);
			p += n;
			continue;
		}
		if ((n = words(p, "instr"))) {
			put(&o, "strpos", 6);
			p += n;
			continue;
		}
		if ((n = words(p, "COLLATE NOCASE"))) {
			p += n;
			continue;
		}
		if ((n = words(p, "LIKE"))) {
			put(&o, "ILIKE", 5);
			p += n;
			continue;
		}
		if ((n = words(p, "AS INTEGER"))) {
			put(&o, "AS bigint", 9);
			p += n;
			continue;
		}
		if ((n = words(p, "LIMIT -1"))) {
			put(&o, "LIMIT ALL", 9);
			p += n;
			continue;
		}
		if ((n = words(p, "LIMIT")) && p[n + strspn(p + n, " ")] == '?') {
			/* LIMIT ?N: SQLite takes a negative value for no limit,
			 * PostgreSQL a NULL (and refuses a negative one). */
			char num[64];
			long v;
			char *end;

			p += n + strspn(p + n, " ") + 1;
			if (isdigit((unsigned char)*p)) {
				v = strtol(p, &end, 10);
				p = end;
			} else
				v = maxparam + 1;
			if (v > maxparam)
				maxparam = (int)v;
			put(&o, num, (size_t)snprintf(num, sizeof num,
			    "LIMIT nullif(greatest($%ld, -1), -1)", v));
			continue;
		}
		if (ignore && depth == 0 && (n = words(p, "RETURNING")))
			returning = o.n;
		put(&o, p, 1);
		p++;
	}
	free(text);
	if (ignore) {
		/* ON CONFLICT DO NOTHING goes before any RETURNING. */
		char *tail = strdup(returning ? o.s + returning : "");
		if (tail == NULL)
			o.oom = 1;
		else {
			if (returning)
				o.n = returning;
			while (o.n > 0 && (isspace((unsigned char)o.s[o.n - 1]) || o.s[o.n - 1] == ';'))
				o.n--;
			put(&o, " ON CONFLICT DO NOTHING ", 24);
			put(&o, tail, strlen(tail));
			free(tail);
		}
	}
	if (o.oom) {
		free(o.s);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*out = o.s;
	return 0;
}
