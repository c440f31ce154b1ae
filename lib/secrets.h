/* SPDX-License-Identifier: MIT */
/*
 * secrets.h - the installation key's life (vc-auth key ...) and the
 * registry of every column of the store that holds a sealed secret.
 *
 * Ownership: the operations follow ops.h (*out is the caller's).
 */
#ifndef VC_SECRETS_H
#define VC_SECRETS_H

#include "core/vc.h"

/*
 * One column of sealed secrets: the table, a column naming the row in
 * messages, the sealed column, and the associated data it was sealed
 * with as a template: "{col}" is replaced by that column of the row,
 * anything else is literal ("{tenant_id}|{id}|totp", "|smtp|password").
 * Names are SQL identifiers ([a-z_][a-z0-9_]*), compiled in, never input.
 */
struct vc_sealed_column {
	const char *table;
	const char *id;
	const char *column;
	const char *ad;
};

/* The registry, terminated by a NULL table (secrets.c). */
extern const struct vc_sealed_column vc_sealed_columns[];

/*
 * Expand sc->ad for the row whose template columns are given by value(),
 * into buf.  Returns 0, or -1 when a name is unknown or buf too small.
 */
int vc_sealed_ad(const struct vc_sealed_column *sc,
    const char *(*value)(const char *col, void *arg), void *arg,
    char *buf, size_t n);

int vc_op_key_rotate(vc_ctx *ctx, jv args, jv *out);
int vc_op_key_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_key_rekey(vc_ctx *ctx, jv args, jv *out);
int vc_op_key_retire(vc_ctx *ctx, jv args, jv *out);

#endif
