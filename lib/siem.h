/* SPDX-License-Identifier: MIT */
/*
 * siem.h - the shapes events take on their way to a SIEM: Splunk's HTTP
 * Event Collector (one JSON object an event, concatenated) and
 * Elasticsearch's _bulk API (NDJSON: an action line and an ECS document
 * an event), and the reading of their answers.  Text is written straight
 * from the stored columns (a body is JSON text already) into a growing
 * buffer: no jv is built per event, so a batch of thousands costs little
 * more than its bytes.
 *
 * Ownership: a vc_sbuf owns its bytes; vc_sbuf_release frees them.  The
 * strings of a vc_siem_event belong to the caller.
 */
#ifndef VC_SIEM_H
#define VC_SIEM_H
#include <stddef.h>
#include <stdint.h>

/* A growing buffer that never passes max bytes (0: no limit). */
struct vc_sbuf {
	char *p;
	size_t n, cap, max;
	int full;               /* an append was refused (out of memory or max) */
};
void vc_sbuf_init(struct vc_sbuf *b, size_t max);
void vc_sbuf_release(struct vc_sbuf *b);
void vc_sbuf_put(struct vc_sbuf *b, const char *s, size_t n);
void vc_sbuf_str(struct vc_sbuf *b, const char *s);
/* s as a JSON string, quotes and escapes included. */
void vc_sbuf_jstr(struct vc_sbuf *b, const char *s, size_t n);
void vc_sbuf_int(struct vc_sbuf *b, int64_t v);

/* One event of the log as stored; body is its JSON text. */
struct vc_siem_event {
	int64_t id, created_at;
	const char *type, *body;
	size_t body_n;
	const char *id_prefix;  /* before the id in ECS's _id and event.id: "audit-" */
};

/*
 * HEC: {"time":T,"source":"velocicompanion","sourcetype":"velocicompanion:event",
 * ["index":INDEX,] "fields":{"tenant_id":..},"event":{"id":ID,"type":..,
 * "tenant_id":..,"created_at":"RFC 3339","body":BODY}}.
 * index may be NULL (the token's default).
 */
void vc_siem_hec_append(struct vc_sbuf *b, const char *tenant, const char *index,
    const struct vc_siem_event *e);
/*
 * The HEC's answer to a batch of count events: 0 when taken (2xx), else
 * -1 with why; *valid gets how many leading events the collector named
 * valid (its "invalid-event-number"), else 0.
 */
int vc_siem_hec_answer(long status, const char *body, size_t n, int count, int *valid,
    char *why, size_t wn);

/*
 * _bulk: {"index":{"_index":INDEX,"_id":"[PREFIX]ID"}} then the ECS document:
 * @timestamp, event.{id,kind,category,type,action,dataset,sequence,created},
 * organization.id (the tenant), observer.{vendor,product},
 * velocicompanion.{type,body}.  Indexed by _id: a repeat overwrites
 * itself, so at-least-once delivery leaves one document an event.
 */
void vc_siem_ecs_append(struct vc_sbuf *b, const char *tenant, const char *index,
    const struct vc_siem_event *e);
/*
 * The _bulk answer to count items: *taken gets how many leading items
 * were indexed (count when all were); 0 when all were, -1 with why (the
 * first failed item's status, error type and reason) otherwise.
 */
int vc_siem_bulk_answer(long status, const char *body, size_t n, int count, int *taken,
    char *why, size_t wn);

/*
 * One RFC 5424 syslog message, unframed:
 *   <PRI>1 TIMESTAMP HOST velocicompanion - MSGID [vc@32473 id="ID"
 *   tenant="TENANT" type="TYPE"] MSG
 * facility local0, severity warning for threat_score.*, notice for
 * auth.*, else informational; MSGID the type (32 printable characters at
 * most); 32473 is the enterprise number RFC 5612 sets aside for
 * documentation.  MSG is the event as JSON ({"id", "type", "tenant_id",
 * "created_at", "body"}) or, cef set, a CEF record (vc_siem_cef_append).
 * host "" gives "-".
 */
void vc_siem_syslog_append(struct vc_sbuf *b, const char *host, const char *tenant, int cef,
    const struct vc_siem_event *e);
/*
 * CEF:0|VelociCompanion|vc-notify|VERSION|TYPE|TYPE|SEVERITY|rt=MS externalId=ID
 * cat=TYPE cs1Label=tenant cs1=TENANT msg=BODY, escaped as CEF says: '\'
 * and '|' in the header, '\', '=' and line ends in extension values.
 */
void vc_siem_cef_append(struct vc_sbuf *b, const char *tenant, const struct vc_siem_event *e);

/* The ECS event.kind and event.category of an event type. */
const char *vc_siem_ecs_kind(const char *type);
const char *vc_siem_ecs_category(const char *type);
#endif
