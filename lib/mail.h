/* SPDX-License-Identifier: MIT */
/*
 * mail.h - the installation's mail transport, the outbox, password reset
 * and email verification: the operations of vc-auth mail,
 * password-reset and verify-email.
 *
 * Mail is never sent inside an operation's transaction: an operation
 * adds it to the outbox (same transaction, so it exists exactly when the
 * change that wanted it commits) and sets ctx->outbox_queued; the front
 * door calls vc_outbox_deliver after it answered (the CLI) or wakes its
 * delivery thread (vc-serve).  Rows are claimed before the SMTP exchange,
 * so no two deliverers send one message at once (a deliverer killed
 * after the relay took a message, before it recorded that, leaves the
 * claim to lapse: that message goes out again; at least once).
 */
#ifndef VC_MAIL_H
#define VC_MAIL_H
#include "core/vc.h"

#define VC_RESET_TTL 3600               /* a reset link's lifetime */
#define VC_VERIFY_TTL (24 * 3600)       /* a verification link's */
#define VC_RESET_PER_HOUR 3             /* reset mails an account gets an hour */
#define VC_OUTBOX_RETRY 5               /* s before the first retry, doubling */
#define VC_OUTBOX_RETRY_MAX 3600        /* s between retries at most */
#define VC_OUTBOX_CLAIM 120             /* s a deliverer holds a claimed row */

int vc_op_mail_set(vc_ctx *ctx, jv args, jv *out);
int vc_op_mail_show(vc_ctx *ctx, jv args, jv *out);
int vc_op_mail_test(vc_ctx *ctx, jv args, jv *out);
int vc_op_mail_flush(vc_ctx *ctx, jv args, jv *out);
int vc_op_reset_request(vc_ctx *ctx, jv args, jv *out);
int vc_op_reset_confirm(vc_ctx *ctx, jv args, jv *out);
int vc_op_verify_email(vc_ctx *ctx, jv args, jv *out);

/*
 * Queue the verification mail of a user's address: a new single-use
 * token (VC_VERIFY_TTL), older unused ones of the user spent.  Runs
 * inside the caller's transaction.
 */
int vc_mail_verify_queue(vc_ctx *ctx, const char *tenant_id, const char *user_id,
    const char *username, const char *email);

/*
 * Queue a plain-text mail to one address for a tenant (a channel of kind
 * email), kept VC_CHANNEL_MAIL_TTL for its retries.  Inside the caller's
 * transaction; sets ctx->outbox_queued.
 */
#define VC_CHANNEL_MAIL_TTL (7 * 24 * 3600)
int vc_mail_queue(vc_ctx *ctx, const char *tenant_id, const char *to, const char *subject,
    const char *text);
/* The same with one file (name a plain base name, type its MIME type,
 * n bytes of data), mailed as multipart/mixed. */
int vc_mail_queue_file(vc_ctx *ctx, const char *tenant_id, const char *to, const char *subject,
    const char *text, const char *name, const char *type, const void *data, size_t n);

/*
 * Queue a plain-text message to one checked address for ctx's tenant
 * (a playbook's send_email), kept for a day of retries; id[VC_ID_LEN + 1]
 * gets the outbox row's id.  Inside the caller's transaction.
 */
int vc_mail_queue_checked(vc_ctx *ctx, const char *to, const char *subject, const char *text,
    char *id);

struct vc_outbox_stats {
	int sent, failed, pending;
};
/*
 * Deliver the mail of the outbox that is due (all: also what waits for
 * a retry), one message at a time, each claimed in a short transaction
 * first; stops at the first failure, which is recorded (attempts,
 * last_error, the next attempt after an exponential backoff) and
 * audited.  VC_ECONFIG when no transport is set, else 0 (failures are
 * counted in *st, not returned).
 */
int vc_outbox_deliver(vc_ctx *ctx, int all, struct vc_outbox_stats *st);
#endif
