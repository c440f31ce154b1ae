/* SPDX-License-Identifier: MIT */
/*
 * timeline.h - a case's append-only timeline and its links to hosts and
 * artifacts: what cases, hosts and artifacts write, so that none of them
 * includes another.  Every function runs inside the caller's transaction.
 */
#ifndef VC_TIMELINE_H
#define VC_TIMELINE_H
#include "core/vc.h"

/* Append an entry of kind ("note", "event") to the timeline of case_id;
 * *note_id (may be NULL) gets its id. */
int vc_case_timeline(vc_ctx *ctx, const char *case_id, const char *kind, const char *body,
    int64_t *note_id);
/* An "event" entry; body (a jv string) is consumed. */
int vc_case_event(vc_ctx *ctx, const char *case_id, jv body);
/* Mark the case changed (updated_at). */
int vc_case_touch(vc_ctx *ctx, const char *case_id);
/* "host NAME" or "artifact NAME (ID)" for a link target of the tenant. */
int vc_case_target_label(vc_ctx *ctx, const char *kind, const char *target_id, jv *label);
/* Link a case to a host or artifact (kind "host"|"artifact") and add a
 * timeline entry; idempotent. */
int vc_case_link_add(vc_ctx *ctx, const char *case_id, const char *kind, const char *target_id);
/* Before a host or an artifact is deleted: note it on the timeline of
 * every case linked to it and remove those links. */
int vc_case_unlink_deleted(vc_ctx *ctx, const char *kind, const char *target_id,
    const char *what);
#endif
