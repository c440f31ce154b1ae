/* SPDX-License-Identifier: MIT */
/*
 * mail.c - the mail transport of the installation (smtp_config), the
 * outbox that delivers after the answer, password reset by mail and
 * email verification.
 *
 * A reset request answers the same whether or not the account exists:
 * the work that differs (a token, a row in the outbox) is a few rows in
 * the request's transaction; the SMTP exchange happens after the answer.
 * Tokens are 256 random bits mailed once; the store keeps their SHA-256.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "auth.h"
#include "mail.h"
#include "smtp.h"
#include "crypto/crypto.h"
#include "core/store.h"
#include "core/audit.h"

#define SMTP_AD "|smtp|password"        /* the sealed password's associated data */
#define GENERIC_RESET "if the account exists and has an email address, a reset " \
	"link is on its way to it"
#define BAD_TOKEN "invalid, used or expired token"

static void
copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static const char *
col(vc_stmt *q, int i)
{
	const char *s = (const char *)vc_col_text(q, i);

	return s ? s : "";
}

/* ---- the transport ------------------------------------------------------ */

struct transport {
	char url[520], from[260], user[260], link[520];
	char *password;                 /* vc_secret_open'd, or NULL */
	size_t pwlen;
	char *ca_pem;                   /* malloc'd, or NULL */
	int insecure;
};

static void
transport_free(struct transport *t)
{
	if (t->password != NULL)
		vc_secret_free(t->password, t->pwlen);
	free(t->ca_pem);
	memset(t, 0, sizeof *t);
}

/* 1: loaded (with the password opened when open_pw), 0: none, <0 error. */
static int
transport_load(vc_ctx *ctx, struct transport *t, int open_pw)
{
	vc_stmt *q;
	int rc;

	memset(t, 0, sizeof *t);
	q = vc_sql(ctx, "SELECT url, from_addr, username, password, insecure_plaintext,"
	    " ca_pem, link_base FROM smtp_config WHERE id = 1", "");
	if (q == NULL)
		return -1;
	if ((rc = vc_sql_step(ctx, q)) == 1) {
		copy(t->url, sizeof t->url, col(q, 0));
		copy(t->from, sizeof t->from, col(q, 1));
		copy(t->user, sizeof t->user, col(q, 2));
		t->insecure = vc_col_int(q, 4);
		copy(t->link, sizeof t->link, col(q, 6));
		if (vc_col_type(q, 5) != VC_NULL && (t->ca_pem = strdup(col(q, 5))) == NULL) {
			vc_fail(ctx, VC_EINTERNAL, "out of memory");
			rc = -1;
		}
		if (rc == 1 && open_pw && vc_col_type(q, 3) != VC_NULL &&
		    vc_secret_open(ctx, ctx->store->keys, SMTP_AD, col(q, 3), &t->password,
		    &t->pwlen) != 0)
			rc = -1;
	}
	vc_stmt_done(q);
	if (rc < 0)
		transport_free(t);
	return rc;
}

static int
transport_send(vc_ctx *ctx, const struct transport *t, const struct vc_mail *m)
{
	struct vc_smtp s = {
		.url = t->url, .from = t->from, .user = t->user[0] ? t->user : NULL,
		.password = t->password, .ca_pem = t->ca_pem,
		.insecure_plaintext = t->insecure, .timeout = 30,
	};

	return vc_smtp_send(ctx, &s, m);
}

static int
check_link_base(vc_ctx *ctx, const char *s)
{
	if ((strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0) ||
	    strlen(s) > 400 || strpbrk(s, " \t\r\n<>\"'&?#\\") != NULL)
		return vc_fail(ctx, VC_EINVAL, "--link-base must be an http(s) URL without "
		    "a query, such as https://vc.example.com");
	return 0;
}

int
vc_op_mail_set(vc_ctx *ctx, jv args, jv *out)
{
	const char *url = vc_arg_str(args, "url"), *from = vc_arg_str(args, "from");
	const char *user = vc_arg_str(args, "user"), *pw = vc_arg_str(args, "password");
	const char *ca = vc_arg_str(args, "ca_file"), *link = vc_arg_str(args, "link_base");
	char *sealed = NULL, lb[420] = "";
	int rc;

	if ((rc = vc_smtp_check_url(ctx, url)) != 0 ||
	    (rc = vc_mail_check_addr(ctx, "--from", from)) != 0)
		return rc;
	if (pw != NULL && user == NULL)
		return vc_fail(ctx, VC_EUSAGE, "a password needs --user");
	if (user != NULL && (strlen(user) == 0 || strlen(user) > 255 || strpbrk(user, "\r\n") != NULL))
		return vc_fail(ctx, VC_EINVAL, "--user must be 1 to 255 characters on one line");
	if (ca != NULL && strstr(ca, "-----BEGIN CERTIFICATE-----") == NULL)
		return vc_fail(ctx, VC_EINVAL, "--ca-file holds no PEM certificate");
	if (link != NULL) {
		if ((rc = check_link_base(ctx, link)) != 0)
			return rc;
		copy(lb, sizeof lb, link);
		while (lb[0] && lb[strlen(lb) - 1] == '/')
			lb[strlen(lb) - 1] = '\0';
	}
	if (pw != NULL && (rc = vc_secret_seal(ctx, ctx->store->keys, SMTP_AD, pw, strlen(pw),
	    &sealed)) != 0)
		return rc;
	/* The one row, replaced whole. */
	rc = vc_sql_exec(ctx, VC_SQL2("INSERT OR REPLACE INTO", "INSERT INTO") " smtp_config (id, url,"
	    " from_addr, username, password, insecure_plaintext, ca_pem, link_base, updated_by, updated_at)"
	    " VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)" VC_SQL2("", " ON CONFLICT (id) DO UPDATE"
	    " SET url = excluded.url, from_addr = excluded.from_addr, username = excluded.username,"
	    " password = excluded.password, insecure_plaintext = excluded.insecure_plaintext,"
	    " ca_pem = excluded.ca_pem, link_base = excluded.link_base, updated_by = excluded.updated_by,"
	    " updated_at = excluded.updated_at"), NULL, "ssssisssi",
	    url, from, user, sealed, (int64_t)vc_arg_bool(args, "insecure_plaintext"), ca,
	    lb[0] ? lb : NULL, ctx->who.username, vc_now(ctx));
	free(sealed);
	if (rc != 0)
		return rc;
	vc_audit_target(ctx, "mail", "");
	vc_audit_detail(ctx, "url", jv_string(url));
	vc_audit_detail(ctx, "password", pw != NULL ? jv_true() : jv_false());
	return vc_op_mail_show(ctx, args, out);
}

int
vc_op_mail_show(vc_ctx *ctx, jv args, jv *out)
{
	vc_stmt *q;
	jv o;
	int rc;

	(void)args;
	q = vc_sql(ctx, "SELECT url, from_addr AS 'from', username AS user,"
	    " password IS NOT NULL AS password_set_bool,"
	    " insecure_plaintext AS insecure_plaintext_bool, ca_pem IS NOT NULL AS ca_file_bool,"
	    " link_base, updated_by, updated_at FROM smtp_config WHERE id = 1", "");
	if ((rc = vc_sql_one(ctx, q, "mail transport: set one with vc-auth mail set", out)) != 0)
		return rc;
	/* unscoped: the installation's queue, shown to its superadmin */
	q = vc_sql(ctx, "SELECT COUNT(*) FILTER (WHERE sent_at IS NULL AND expires_at > ?1),"
	    " COUNT(*) FILTER (WHERE sent_at IS NULL AND expires_at <= ?1),"
	    " (SELECT last_error FROM outbox WHERE kind = 'mail' AND last_error IS NOT NULL"
	    "  ORDER BY next_attempt_at DESC LIMIT 1)"
	    " FROM outbox WHERE kind = 'mail'", "i", vc_now(ctx));
	if (q == NULL || vc_sql_step(ctx, q) != 1) {
		vc_stmt_done(q);
		return ctx->err;
	}
	o = jv_object();
	o = jv_object_set(o, jv_string("queued"), jv_number(vc_col_int(q, 0)));
	o = jv_object_set(o, jv_string("expired"), jv_number(vc_col_int(q, 1)));
	o = jv_object_set(o, jv_string("last_error"), vc_col_type(q, 2) == VC_NULL ?
	    jv_null() : jv_string(col(q, 2)));
	vc_stmt_done(q);
	*out = jv_object_set(*out, jv_string("outbox"), o);
	return 0;
}

static int
test_audit_body(vc_ctx *ctx, void *arg)
{
	(void)arg;
	return vc_audit(ctx, ctx->who.tenant_id[0] ? ctx->who.tenant_id : NULL, "auth.mail.test",
	    "mail", "", "success", NULL, jv_invalid());
}

/* mail test: sent now, not queued: the operator wants the relay's answer. */
int
vc_op_mail_test(vc_ctx *ctx, jv args, jv *out)
{
	const char *to = vc_arg_str(args, "address");
	struct transport t;
	char now[32], text[512];
	struct vc_mail m;
	int rc;

	if ((rc = vc_mail_check_addr(ctx, "the address", to)) != 0)
		return rc;
	if ((rc = transport_load(ctx, &t, 1)) <= 0)
		return rc < 0 ? ctx->err : vc_fail(ctx, VC_ECONFIG,
		    "no mail transport: set one with vc-auth mail set");
	vc_time_fmt(vc_now(ctx), now, sizeof now);
	snprintf(text, sizeof text, "This is a test message from VelociCompanion, sent at %s\n"
	    "by %s with vc-auth mail test.  The mail transport works.\n", now,
	    ctx->who.username[0] ? ctx->who.username : "an administrator");
	m = (struct vc_mail){ .to = to, .subject = "VelociCompanion test message",
		.text = text };
	rc = transport_send(ctx, &t, &m);
	transport_free(&t);
	vc_audit_target(ctx, "mail", "");
	if (rc != 0)
		return rc;      /* the dispatcher audits the failure */
	/* The mail is gone: its record is written in a transaction of its
	 * own, again when that gave way to another, never the mail again.
	 * Should the record fail still, the mail went all the same: a
	 * notice says so, and the answer stays a success (another try
	 * would send a second mail). */
	if (vc_tx_run(ctx, 0, test_audit_body, NULL) != 0 && ctx->notice != NULL) {
		char line[sizeof ctx->errmsg + 48];

		snprintf(line, sizeof line, "auth.mail.test audit record not written: %s", ctx->errmsg);
		ctx->notice(ctx, line, ctx->notice_arg);
	}
	ctx->err = 0;
	ctx->errmsg[0] = '\0';
	ctx->audited = 1;
	*out = jv_object_set(jv_object(), jv_string("sent"), jv_true());
	*out = jv_object_set(*out, jv_string("to"), jv_string(to));
	return 0;
}

/* ---- the outbox -------------------------------------------------------- */

static int
outbox_add_id(vc_ctx *ctx, const char *tenant_id, const char *to, const char *subject,
    const char *text, const char *html, int64_t expires, char id[VC_ID_LEN + 1])
{
	int64_t now = vc_now(ctx);
	int rc;

	vc_new_id(id);
	rc = vc_sql_exec(ctx, "INSERT INTO outbox (id, tenant_id, kind, recipient, subject,"
	    " body_text, body_html, created_at, next_attempt_at, expires_at)"
	    " VALUES (?1, ?2, 'mail', ?3, ?4, ?5, ?6, ?7, ?7, ?8)", NULL, "ssssssii",
	    id, tenant_id, to, subject, text, html, now, expires);
	if (rc == 0)
		ctx->outbox_queued = 1;
	return rc;
}

static int
outbox_add(vc_ctx *ctx, const char *tenant_id, const char *to, const char *subject,
    const char *text, const char *html, int64_t expires)
{
	char id[VC_ID_LEN + 1];

	return outbox_add_id(ctx, tenant_id, to, subject, text, html, expires, id);
}

int
vc_mail_queue(vc_ctx *ctx, const char *tenant_id, const char *to, const char *subject,
    const char *text)
{
	return outbox_add(ctx, tenant_id, to, subject, text, NULL, vc_now(ctx) + VC_CHANNEL_MAIL_TTL);
}

int
vc_mail_queue_file(vc_ctx *ctx, const char *tenant_id, const char *to, const char *subject,
    const char *text, const char *name, const char *type, const void *data, size_t n)
{
	char id[VC_ID_LEN + 1];
	vc_stmt *q;
	int rc;

	if ((rc = outbox_add_id(ctx, tenant_id, to, subject, text, NULL,
	    vc_now(ctx) + VC_CHANNEL_MAIL_TTL, id)) != 0)
		return rc;
	q = vc_sql(ctx, "UPDATE outbox SET attach_name = ?1, attach_type = ?2, attach_data = ?3"
	    " WHERE tenant_id = ?4 AND id = ?5", "sssss", name, type, NULL, tenant_id, id);
	if (q == NULL)
		return ctx->err;
	vc_bind_blob(q, 3, n ? data : (const void *)"", (int)n, VC_STATIC);
	rc = vc_sql_step(ctx, q);
	vc_stmt_done(q);
	return rc < 0 ? ctx->err : 0;
}

/*
 * A message of a playbook (send_email): queued for the caller's tenant,
 * kept for a day of retries.  Inside the caller's transaction.
 */
int
vc_mail_queue_checked(vc_ctx *ctx, const char *to, const char *subject, const char *text, char *id)
{
	int rc;

	if ((rc = vc_mail_check_addr(ctx, "the recipient", to)) != 0)
		return rc;
	return outbox_add_id(ctx, ctx->who.tenant_id, to, subject, text, NULL,
	    vc_now(ctx) + 24 * 3600, id);
}

struct msg {
	char id[VC_ID_LEN + 1], tenant[VC_ID_LEN + 1];
	char to[260], subject[300];
	char *text, *html;
	int attempts;
	char attach_name[220], attach_type[220];
	unsigned char *attach;          /* malloc'd, or NULL: no file */
	size_t attach_n;
};

static void
msg_free(struct msg *m)
{
	free(m->text);
	free(m->html);
	free(m->attach);
	m->text = m->html = NULL;
	m->attach = NULL;
}

struct claim {
	int all;
	struct msg *m;
	int found;              /* 1: *m holds the message claimed */
};

static int
claim_body(vc_ctx *ctx, void *arg)
{
	struct claim *c = arg;
	struct msg *m = c->m;
	int64_t now = vc_now(ctx);
	vc_stmt *q;
	int rc;

	msg_free(m);            /* what an attempt that gave way read */
	memset(m, 0, sizeof *m);
	c->found = 0;
	/* unscoped: the deliverer serves every tenant's mail, row by row */
	q = vc_sql(ctx, "SELECT id, tenant_id, recipient, subject, body_text, body_html, attempts,"
	    " attach_name, attach_type, attach_data FROM outbox WHERE kind = 'mail' AND sent_at IS NULL"
	    " AND expires_at > ?1 AND claimed_until <= ?1 AND (?2 <> 0 OR next_attempt_at <= ?1)"
	    " ORDER BY next_attempt_at, created_at LIMIT 1" VC_SQL2("", " FOR UPDATE SKIP LOCKED"),
	    "ii", now, (int64_t)c->all);
	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_step(ctx, q)) == 1) {
		copy(m->id, sizeof m->id, col(q, 0));
		copy(m->tenant, sizeof m->tenant, col(q, 1));
		copy(m->to, sizeof m->to, col(q, 2));
		copy(m->subject, sizeof m->subject, col(q, 3));
		m->text = strdup(col(q, 4));
		m->html = vc_col_type(q, 5) == VC_NULL ? NULL : strdup(col(q, 5));
		m->attempts = vc_col_int(q, 6);
		if (vc_col_type(q, 7) != VC_NULL && vc_col_type(q, 9) != VC_NULL) {
			const void *b = vc_col_blob(q, 9);

			copy(m->attach_name, sizeof m->attach_name, col(q, 7));
			copy(m->attach_type, sizeof m->attach_type, col(q, 8));
			m->attach_n = (size_t)vc_col_bytes(q, 9);
			if ((m->attach = malloc(m->attach_n + 1)) != NULL && m->attach_n > 0)
				memcpy(m->attach, b, m->attach_n);
		}
		if (m->text == NULL || (vc_col_type(q, 5) != VC_NULL && m->html == NULL) ||
		    (m->attach_name[0] && m->attach == NULL)) {
			vc_fail(ctx, VC_EINTERNAL, "out of memory");
			rc = -1;
		}
	}
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err ? ctx->err : VC_EINTERNAL;
	if (rc == 1 && vc_sql_exec(ctx, "UPDATE outbox SET claimed_until = ?1 WHERE tenant_id = ?2"
	    " AND id = ?3", NULL, "iss", now + VC_OUTBOX_CLAIM, m->tenant, m->id) != 0)
		return ctx->err;
	c->found = rc;
	return 0;
}

/* Claim the next due message for VC_OUTBOX_CLAIM seconds: 1, 0 none, <0.
 * Deliverers at once (vc-serve instances, a flush) pass over the message
 * another is taking (PostgreSQL; SQLite has one writer); a claim that
 * gave way all the same (a deadlock) is made again, before anything is
 * sent. */
static int
outbox_claim(vc_ctx *ctx, int all, struct msg *m)
{
	struct claim c = { all, m, 0 };

	memset(m, 0, sizeof *m);
	if (vc_tx_run(ctx, 1, claim_body, &c) != 0) {
		msg_free(m);
		return -1;
	}
	return c.found;
}

/* Record the outcome of one delivery, and audit it. */
static void
outbox_done(vc_ctx *ctx, const struct msg *m, const char *error)
{
	int64_t now = vc_now(ctx), delay = VC_OUTBOX_RETRY;
	jv d = jv_object_set(jv_object(), jv_string("subject"), jv_string(m->subject));

	if (m->attach_name[0])  /* the file's name and size, never its bytes */
		d = jv_object_set(jv_object_set(d, jv_string("attachment"), jv_string(m->attach_name)),
		    jv_string("attachment_size"), jv_number((double)m->attach_n));

	for (int i = 0; i < m->attempts && delay < VC_OUTBOX_RETRY_MAX; i++)
		delay *= 2;
	if (delay > VC_OUTBOX_RETRY_MAX)
		delay = VC_OUTBOX_RETRY_MAX;
	d = jv_object_set(d, jv_string("attempt"), jv_number(m->attempts + 1));
	/* Another deliverer appending to the same audit chain may make this
	 * one give way (PostgreSQL): written again, not left to be sent twice. */
	for (int attempt = 1; ; attempt++) {
		if (vc_tx_begin(ctx) == 0 && (error == NULL ? vc_sql_exec(ctx, "UPDATE outbox SET sent_at = ?1,"
		    " attempts = attempts + 1, claimed_until = 0, body_text = NULL, body_html = NULL,"
		    " attach_data = NULL, last_error = NULL WHERE tenant_id = ?2 AND id = ?3", NULL, "iss",
		    now, m->tenant, m->id) :
		    vc_sql_exec(ctx, "UPDATE outbox SET attempts = attempts + 1, claimed_until = 0,"
		    " last_error = ?1, next_attempt_at = ?2 WHERE tenant_id = ?3 AND id = ?4", NULL,
		    "siss", error, now + delay, m->tenant, m->id)) == 0 &&
		    vc_audit(ctx, m->tenant, "mail.deliver", "outbox", m->id,
		    error == NULL ? "success" : "failure", error, jv_copy(d)) == 0 &&
		    vc_tx_commit(ctx) == 0)
			break;
		vc_tx_rollback(ctx);
		if (!vc_tx_again(ctx, attempt))
			break;
	}
	jv_free(d);
}

int
vc_outbox_deliver(vc_ctx *ctx, int all, struct vc_outbox_stats *st)
{
	struct transport t;
	struct msg m;
	char why[sizeof ctx->errmsg] = "";
	int rc, sendrc;

	memset(st, 0, sizeof *st);
	if ((rc = transport_load(ctx, &t, 1)) <= 0)
		return rc < 0 ? ctx->err : vc_fail(ctx, VC_ECONFIG,
		    "no mail transport: set one with vc-auth mail set");
	for (int n = 0; n < 1000; n++) {
		if ((rc = outbox_claim(ctx, all, &m)) <= 0) {
			if (rc < 0)     /* said again below */
				snprintf(why, sizeof why, "%s", ctx->errmsg);
			break;
		}
		struct vc_mail mail = { .to = m.to, .subject = m.subject, .text = m.text,
			.html = m.html, .attach_name = m.attach_name[0] ? m.attach_name : NULL,
			.attach_type = m.attach_type, .attach_data = m.attach, .attach_n = m.attach_n };
		sendrc = transport_send(ctx, &t, &mail);
		if (sendrc != 0)
			snprintf(why, sizeof why, "%s", ctx->errmsg);
		outbox_done(ctx, &m, sendrc == 0 ? NULL : why);
		sodium_memzero(m.text, strlen(m.text));
		if (m.html != NULL)
			sodium_memzero(m.html, strlen(m.html));
		msg_free(&m);
		if (sendrc != 0) {
			st->failed++;
			break;  /* the relay is likely down: the rest waits for the next round */
		}
		st->sent++;
	}
	transport_free(&t);
	ctx->err = 0;
	/* unscoped: counts the installation's queue */
	vc_stmt *q = vc_sql(ctx, "SELECT COUNT(*) FROM outbox WHERE kind = 'mail'"
	    " AND sent_at IS NULL AND expires_at > ?1", "i", vc_now(ctx));
	if (q != NULL && vc_sql_step(ctx, q) == 1)
		st->pending = vc_col_int(q, 0);
	vc_stmt_done(q);
	ctx->err = 0;
	/* The caller may say why the round stopped. */
	snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", why);
	return rc < 0 ? VC_ETEMP : 0;
}

int
vc_op_mail_flush(vc_ctx *ctx, jv args, jv *out)
{
	struct vc_outbox_stats st;
	int rc;

	if ((rc = vc_outbox_deliver(ctx, vc_arg_bool(args, "all"), &st)) != 0)
		return rc;
	ctx->audited = 1;       /* each delivery is audited by itself */
	*out = jv_object();
	*out = jv_object_set(*out, jv_string("sent"), jv_number(st.sent));
	*out = jv_object_set(*out, jv_string("failed"), jv_number(st.failed));
	*out = jv_object_set(*out, jv_string("pending"), jv_number(st.pending));
	/* For cron: a failure shows in the exit status (69), the counts stay. */
	if (st.failed > 0) {
		char why[sizeof ctx->errmsg];

		snprintf(why, sizeof why, "%s", ctx->errmsg[0] ? ctx->errmsg : "smtp: delivery failed");
		return vc_fail(ctx, VC_EUNAVAIL, "%.400s; %d mail%s still queued", why, st.pending,
		    st.pending == 1 ? "" : "s");
	}
	return 0;
}

/* ---- the messages ------------------------------------------------------ */

/* s with & < > " ' escaped, appended to f. */
static void
html_put(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f); break;
		}
}

struct letter {
	const char *tenant, *username, *token, *link_base;
	const char *what;       /* "reset" or "verify" */
	const char *ip;         /* who asked: an address, or NULL (the CLI) */
	int64_t when, expires;
};

/*
 * The text and HTML of a reset or verification mail: the tenant, the
 * account, who asked from where and when, the link (with --link-base)
 * or the command, and nothing secret but the token.
 */
static int
letter_compose(vc_ctx *ctx, const struct letter *l, char **text, char **html)
{
	char when[32], until[32], link[640] = "", cmd[160];
	const char *from = l->ip && l->ip[0] ? l->ip : "the command line on the server";
	int reset = strcmp(l->what, "reset") == 0;
	size_t tn, hn;
	FILE *f, *g;

	vc_time_fmt(l->when, when, sizeof when);
	vc_time_fmt(l->expires, until, sizeof until);
	if (l->link_base && l->link_base[0])
		snprintf(link, sizeof link, reset ? "%s/reset-password?token=%s" :
		    "%s/api/auth/verify-email?token=%s", l->link_base, l->token);
	snprintf(cmd, sizeof cmd, reset ? "vc-auth password-reset confirm %s" :
	    "vc-auth verify-email %s", l->token);
	*text = *html = NULL;
	if ((f = open_memstream(text, &tn)) == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	if ((g = open_memstream(html, &hn)) == NULL) {
		fclose(f);
		free(*text);
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	if (reset)
		fprintf(f, "Someone asked to reset the password of the VelociCompanion account\n"
		    "%s in tenant %s.\n\nRequested from: %s\nRequested at:   %s\n\n", l->username,
		    l->tenant, from, when);
	else
		fprintf(f, "Please confirm that this address belongs to the VelociCompanion\n"
		    "account %s in tenant %s.\n\nRequested from: %s\nRequested at:   %s\n\n",
		    l->username, l->tenant, from, when);
	if (link[0])
		fprintf(f, "Open this link:\n\n  %s\n\nor run:\n\n", link);
	else
		fprintf(f, "Run:\n\n");
	fprintf(f, "  %s\n\nToken: %s\nThe token works once, until %s.\n\n%s\n", cmd, l->token, until,
	    reset ? "If you did not ask for this, ignore this message: your password stays\n"
	    "as it is." : "If you do not know this account, ignore this message.");

	fputs("<!DOCTYPE html>\n<html><body>\n<p>", g);
	fputs(reset ? "Someone asked to reset the password of the VelociCompanion account <b>" :
	    "Please confirm that this address belongs to the VelociCompanion account <b>", g);
	html_put(g, l->username);
	fputs("</b> in tenant <b>", g);
	html_put(g, l->tenant);
	fputs("</b>.</p>\n<p>Requested from: ", g);
	html_put(g, from);
	fputs("<br>\nRequested at: ", g);
	html_put(g, when);
	fputs("</p>\n", g);
	if (link[0]) {
		fputs("<p><a href=\"", g);
		html_put(g, link);
		fputs(reset ? "\">Choose a new password</a></p>\n" :
		    "\">Confirm the address</a></p>\n", g);
	}
	fputs("<p>Or run: <code>", g);
	html_put(g, cmd);
	fputs("</code></p>\n<p>The token works once, until ", g);
	html_put(g, until);
	fputs(reset ? ". If you did not ask for this, ignore this message: your password "
	    "stays as it is.</p>\n" : ". If you do not know this account, ignore this "
	    "message.</p>\n", g);
	fputs("</body></html>\n", g);
	if ((fclose(f) | fclose(g)) != 0) {
		free(*text);
		free(*html);
		*text = *html = NULL;
		return vc_fail(ctx, VC_EINTERNAL, "out of memory");
	}
	return 0;
}

static void
wipe_free(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

/*
 * A new token of purpose for the user, its hash stored, and its mail
 * queued; other unused tokens of that purpose are spent.
 */
static int
token_mail(vc_ctx *ctx, const char *purpose, const char *tenant_id, const char *user_id,
    const char *username, const char *email)
{
	int reset = strcmp(purpose, "reset") == 0;
	char id[VC_ID_LEN + 1], tok[VC_TOKEN_MAX], h[65], tname[80] = "", link[520] = "";
	char *text = NULL, *html = NULL;
	int64_t now = vc_now(ctx), exp = now + (reset ? VC_RESET_TTL : VC_VERIFY_TTL);
	struct letter l;
	vc_stmt *q;
	int rc;

	q = vc_sql(ctx, "SELECT t.name, (SELECT link_base FROM smtp_config WHERE id = 1)"
	    " FROM tenants t WHERE t.id = ?1", "s", tenant_id);
	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_step(ctx, q)) == 1) {
		copy(tname, sizeof tname, col(q, 0));
		copy(link, sizeof link, col(q, 1));
	}
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	vc_token_new(reset ? "vcpr_" : "vcev_", tok);
	vc_sha256_hex(tok, strlen(tok), h);
	vc_new_id(id);
	l = (struct letter){ .tenant = tname, .username = username, .token = tok,
		.link_base = link, .what = purpose, .when = now, .expires = exp,
		.ip = ctx->front == VC_FRONT_HTTP ? ctx->ip : NULL };
	if ((rc = vc_sql_exec(ctx, "UPDATE auth_tokens SET used_at = ?1 WHERE tenant_id = ?2"
	    " AND user_id = ?3 AND purpose = ?4 AND used_at IS NULL", NULL, "isss", now,
	    tenant_id, user_id, purpose)) != 0 ||
	    (rc = vc_sql_exec(ctx, "INSERT INTO auth_tokens (id, tenant_id, user_id, purpose,"
	    " token_hash, email, created_at, expires_at, ip) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
	    NULL, "ssssssiis", id, tenant_id, user_id, purpose, h, email, now, exp,
	    ctx->ip[0] ? ctx->ip : NULL)) != 0 ||
	    (rc = letter_compose(ctx, &l, &text, &html)) != 0 ||
	    (rc = outbox_add(ctx, tenant_id, email, reset ?
	    "VelociCompanion: reset your password" : "VelociCompanion: confirm your email address",
	    text, html, exp)) != 0)
		goto out;
out:
	sodium_memzero(tok, sizeof tok);
	wipe_free(text);
	wipe_free(html);
	return rc;
}

int
vc_mail_verify_queue(vc_ctx *ctx, const char *tenant_id, const char *user_id,
    const char *username, const char *email)
{
	int rc;

	if (email == NULL || email[0] == '\0')
		return 0;
	if ((rc = vc_sql_exec(ctx, "UPDATE users SET email_verified_at = NULL WHERE tenant_id = ?1"
	    " AND id = ?2", NULL, "ss", tenant_id, user_id)) != 0)
		return rc;
	vc_audit_detail(ctx, "verification_mail", jv_true());
	return token_mail(ctx, "verify", tenant_id, user_id, username, email);
}

/* ---- password reset ---------------------------------------------------- */

/*
 * Anyone may ask; the answer is the same whatever the account: unknown,
 * disabled, without an address, over its hourly limit, or mailed.  What
 * happened goes to the audit log only.
 */
int
vc_op_reset_request(vc_ctx *ctx, jv args, jv *out)
{
	const char *key = vc_arg_str(args, "account");
	int64_t since = vc_now(ctx) - 3600;
	vc_stmt *q;
	int rc = 0, found = 0, mailed = 0, limited = 0;
	jv users;

	if (key == NULL)
		key = vc_arg_str(args, "username");
	if (key == NULL)
		key = vc_arg_str(args, "email");
	if (key == NULL || key[0] == '\0' || strlen(key) > 254)
		return vc_fail(ctx, VC_EUSAGE, "give a username or an email address");
	/* unscoped: a reset request names no tenant; usernames are global */
	q = vc_sql(ctx, "SELECT u.id, u.tenant_id, u.username, u.email,"
	    " (SELECT COUNT(*) FROM auth_tokens a WHERE a.tenant_id = u.tenant_id"
	    "  AND a.user_id = u.id AND a.purpose = 'reset' AND a.created_at > ?2) AS recent"
	    " FROM users u WHERE (u.username = ?1 OR u.email = ?1 COLLATE NOCASE)"
	    " AND u.disabled = 0 ORDER BY u.created_at LIMIT 8", "si", key, since);
	users = vc_sql_rows(ctx, q);
	if (!jv_is_valid(users))
		return ctx->err;
	jv_array_foreach(users, i, u) {
		jv id = jv_object_get(jv_copy(u), jv_string("id"));
		jv tid = jv_object_get(jv_copy(u), jv_string("tenant_id"));
		jv name = jv_object_get(jv_copy(u), jv_string("username"));
		jv email = jv_object_get(jv_copy(u), jv_string("email"));
		jv recent = jv_object_get(u, jv_string("recent"));

		found++;
		if (i == 0) {
			vc_audit_target(ctx, "user", jv_string_value(id));
			copy(ctx->audit_tenant_id, sizeof ctx->audit_tenant_id, jv_string_value(tid));
		}
		if (rc == 0 && jv_get_kind(email) == JV_KIND_STRING) {
			if (jv_number_value(recent) >= VC_RESET_PER_HOUR)
				limited++;
			else if ((rc = token_mail(ctx, "reset", jv_string_value(tid), jv_string_value(id),
			    jv_string_value(name), jv_string_value(email))) == 0)
				mailed++;
		}
		jv_free(id);
		jv_free(tid);
		jv_free(name);
		jv_free(email);
		jv_free(recent);
	}
	jv_free(users);
	if (rc != 0)
		return rc;
	vc_audit_detail(ctx, "accounts", jv_number(found));
	vc_audit_detail(ctx, "mailed", jv_number(mailed));
	if (limited > 0)
		vc_audit_detail(ctx, "over_hourly_limit", jv_number(limited));
	*out = jv_object_set(jv_object(), jv_string("requested"), jv_true());
	*out = jv_object_set(*out, jv_string("message"), jv_string(GENERIC_RESET));
	return 0;
}

struct tok {
	char id[VC_ID_LEN + 1], tenant[VC_ID_LEN + 1], user[VC_ID_LEN + 1];
	char username[65], email[260];
};

/*
 * The unused, unexpired token of purpose, whose user still has the
 * address it was mailed to and is enabled; spent here (one use, even
 * when two requests race).  VC_EINVAL BAD_TOKEN otherwise, the reason
 * for the audit log only.
 */
static int
token_take(vc_ctx *ctx, const char *purpose, const char *token, struct tok *t)
{
	char h[65];
	vc_stmt *q;
	int64_t now = vc_now(ctx), exp = 0;
	int rc, used = 0, same = 0, disabled = 0, changes = 0;

	memset(t, 0, sizeof *t);
	if (token == NULL || strlen(token) > VC_TOKEN_MAX || strncmp(token,
	    strcmp(purpose, "reset") == 0 ? "vcpr_" : "vcev_", 5) != 0) {
		copy(ctx->audit_reason, sizeof ctx->audit_reason, "malformed token");
		return vc_fail(ctx, VC_EINVAL, BAD_TOKEN);
	}
	vc_sha256_hex(token, strlen(token), h);
	/* unscoped: the token itself is the credential that names the tenant */
	q = vc_sql(ctx, "SELECT a.id, a.tenant_id, a.user_id, u.username, a.email, a.expires_at,"
	    " a.used_at IS NOT NULL, u.email = a.email, u.disabled FROM auth_tokens a"
	    " JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.user_id"
	    " WHERE a.token_hash = ?1 AND a.purpose = ?2", "ss", h, purpose);
	if (q == NULL)
		return ctx->err;
	if ((rc = vc_sql_step(ctx, q)) == 1) {
		copy(t->id, sizeof t->id, col(q, 0));
		copy(t->tenant, sizeof t->tenant, col(q, 1));
		copy(t->user, sizeof t->user, col(q, 2));
		copy(t->username, sizeof t->username, col(q, 3));
		copy(t->email, sizeof t->email, col(q, 4));
		exp = vc_col_int64(q, 5);
		used = vc_col_int(q, 6);
		same = vc_col_int(q, 7);
		disabled = vc_col_int(q, 8);
	}
	vc_stmt_done(q);
	if (rc < 0)
		return ctx->err;
	if (rc == 1) {
		vc_audit_target(ctx, "user", t->user);
		copy(ctx->audit_tenant_id, sizeof ctx->audit_tenant_id, t->tenant);
	}
	if (rc == 0 || used || now >= exp || !same || disabled) {
		copy(ctx->audit_reason, sizeof ctx->audit_reason, rc == 0 ? "unknown token" :
		    used ? "token used before" : now >= exp ? "token expired" :
		    !same ? "the address changed since" : "user disabled");
		return vc_fail(ctx, VC_EINVAL, BAD_TOKEN);
	}
	if ((rc = vc_sql_exec(ctx, "UPDATE auth_tokens SET used_at = ?1 WHERE tenant_id = ?2"
	    " AND id = ?3 AND used_at IS NULL", &changes, "iss", now, t->tenant, t->id)) != 0)
		return rc;
	if (changes != 1) {
		copy(ctx->audit_reason, sizeof ctx->audit_reason, "token used before");
		return vc_fail(ctx, VC_EINVAL, BAD_TOKEN);
	}
	return 0;
}

/* Tell the owner of an address that its account's password was reset
 * (ASVS 2.5.5): no link, no token, what happened and from where. */
static int
reset_notice(vc_ctx *ctx, const struct tok *t)
{
	char when[32], text[800], html[1200], tname[80] = "";
	const char *from = ctx->front == VC_FRONT_HTTP && ctx->ip[0] ? ctx->ip :
	    "the command line on the server";
	vc_stmt *q;

	q = vc_sql(ctx, "SELECT name FROM tenants WHERE id = ?1", "s", t->tenant);
	if (q != NULL && vc_sql_step(ctx, q) == 1)
		copy(tname, sizeof tname, col(q, 0));
	vc_stmt_done(q);
	vc_time_fmt(vc_now(ctx), when, sizeof when);
	snprintf(text, sizeof text, "The password of the VelociCompanion account %s in tenant %s\n"
	    "was reset with a link mailed to this address.\n\nFrom: %s\nAt:   %s\n\n"
	    "Every session of the account was ended.  If this was not you, tell\n"
	    "your administrator now.\n", t->username, tname, from, when);
	snprintf(html, sizeof html, "<!DOCTYPE html>\n<html><body>\n<p>The password of the "
	    "VelociCompanion account <b>%s</b> in tenant <b>%s</b> was reset with a link mailed "
	    "to this address.</p>\n<p>From: %s<br>\nAt: %s</p>\n<p>Every session of the account "
	    "was ended. If this was not you, tell your administrator now.</p>\n</body></html>\n",
	    t->username, tname, from, when);
	return outbox_add(ctx, t->tenant, t->email, "VelociCompanion: your password was reset",
	    text, html, vc_now(ctx) + VC_VERIFY_TTL);
}

/*
 * Set the password a reset token allows (hashed before the write lock by
 * the op's prepare), spend the user's other reset tokens, end every
 * session, forget failed logins.  The mail proved the address too.
 */
int
vc_op_reset_confirm(vc_ctx *ctx, jv args, jv *out)
{
	const char *hash = vc_auth_prepared_hash(args);
	int64_t now = vc_now(ctx);
	struct tok t;
	int rc;

	if (hash == NULL)
		return vc_fail(ctx, VC_EINTERNAL, "password-reset confirm without its preparation");
	if ((rc = token_take(ctx, "reset", vc_arg_str(args, "token"), &t)) != 0)
		return rc;
	if ((rc = vc_sql_exec(ctx, "UPDATE users SET password_hash = ?1, updated_at = ?2,"
	    " email_verified_at = COALESCE(email_verified_at, ?2) WHERE tenant_id = ?3 AND id = ?4",
	    NULL, "siss", hash, now, t.tenant, t.user)) != 0 ||
	    (rc = vc_sql_exec(ctx, "UPDATE auth_tokens SET used_at = ?1 WHERE tenant_id = ?2"
	    " AND user_id = ?3 AND purpose = 'reset' AND used_at IS NULL", NULL, "iss",
	    now, t.tenant, t.user)) != 0 ||
	    (rc = vc_auth_revoke_sessions(ctx, t.tenant, t.user)) != 0 ||
	    (rc = vc_auth_forget_failures(ctx, t.username)) != 0 ||
	    (rc = reset_notice(ctx, &t)) != 0)
		return rc;
	vc_audit_detail(ctx, "password", jv_string("reset by mail"));
	*out = jv_object();
	*out = jv_object_set(*out, jv_string("password_changed"), jv_true());
	*out = jv_object_set(*out, jv_string("sessions_revoked"), jv_true());
	*out = jv_object_set(*out, jv_string("username"), jv_string(t.username));
	return 0;
}

int
vc_op_verify_email(vc_ctx *ctx, jv args, jv *out)
{
	struct tok t;
	int rc;

	if ((rc = token_take(ctx, "verify", vc_arg_str(args, "token"), &t)) != 0)
		return rc;
	if ((rc = vc_sql_exec(ctx, "UPDATE users SET email_verified_at = ?1 WHERE tenant_id = ?2"
	    " AND id = ?3", NULL, "iss", vc_now(ctx), t.tenant, t.user)) != 0)
		return rc;
	*out = jv_object();
	*out = jv_object_set(*out, jv_string("email_verified"), jv_true());
	*out = jv_object_set(*out, jv_string("username"), jv_string(t.username));
	*out = jv_object_set(*out, jv_string("email"), jv_string(t.email));
	return 0;
}
