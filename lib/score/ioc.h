/* SPDX-License-Identifier: MIT */
/*
 * ioc.h - indicators of compromise: the tenant's list (import, list,
 * delete) and matching of rows against it.
 *
 * Ownership: vc_ioc_load makes a set the caller frees with vc_ioc_free.
 * vc_ioc_match borrows the row and appends indicators to *hits.
 */
#ifndef VC_IOC_H
#define VC_IOC_H
#include "core/vc.h"

struct vc_ioc_set;

/* Classify a value: "sha256", "sha1", "md5", "ip", "cidr", "domain",
 * "path" or "filename"; NULL when it is none of them. */
const char *vc_ioc_type_of(const char *value);
/* Normalise value of type into buf (lower case, canonical address). */
int vc_ioc_normalize(const char *type, const char *value, char *buf, size_t n);

/*
 * The tenant's IOCs (when ctx acts in a tenant) and those of the feeds
 * files (an array of paths, CSV or JSONL, consumed; used for this run
 * only, not stored).  A bad feed line is reported with vc_bad.
 */
int vc_ioc_load(vc_ctx *ctx, jv files, struct vc_ioc_set **out);
size_t vc_ioc_count(const struct vc_ioc_set *set);
void vc_ioc_free(struct vc_ioc_set *set);
/*
 * Look at every string of row (nested objects and arrays too, to a
 * bounded depth) that can hold a hash, an address, a domain, a path or a
 * file name, and append {"kind":"ioc", ...} for each IOC it matches
 * (once per IOC).  Returns the number of hits.
 */
int vc_ioc_match(const struct vc_ioc_set *set, jv row, jv *hits);

int vc_op_ioc_import(vc_ctx *ctx, jv args, jv *out);
int vc_op_ioc_list(vc_ctx *ctx, jv args, jv *out);
int vc_op_ioc_delete(vc_ctx *ctx, jv args, jv *out);
#endif
