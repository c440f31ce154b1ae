/* SPDX-License-Identifier: MIT */
/*
 * t_siem.c - the SIEM shapes of lib/siem.c: JSON string escaping, HEC
 * events, ECS documents, RFC 5424 messages with their SD escaping, CEF
 * records with its escaping, and the reading of HEC and _bulk answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jv.h>

#include "siem.h"
#include "tap.h"

static const char *TENANT = "t-1";

/* What f appends for e, as text (a static buffer). */
static const char *
shape(void (*f)(struct vc_sbuf *, const char *, const char *, const struct vc_siem_event *),
    const char *index, const struct vc_siem_event *e)
{
	static char out[4096];
	struct vc_sbuf b;

	vc_sbuf_init(&b, 0);
	f(&b, TENANT, index, e);
	snprintf(out, sizeof out, "%s", b.p ? b.p : "");
	vc_sbuf_release(&b);
	return out;
}

/* The JSON value at path (a jq-like ".a.b") of the text, as text. */
static const char *
get(const char *json, const char *k1, const char *k2)
{
	static char out[512];
	jv v = jv_parse(json), r;

	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return "(not a JSON object)";
	}
	r = jv_object_get(v, jv_string(k1));
	if (k2 != NULL && jv_get_kind(r) == JV_KIND_OBJECT)
		r = jv_object_get(r, jv_string(k2));
	if (!jv_is_valid(r))
		snprintf(out, sizeof out, "(none)");
	else if (jv_get_kind(r) == JV_KIND_STRING)
		snprintf(out, sizeof out, "%s", jv_string_value(r));
	else {
		jv s = jv_dump_string(jv_copy(r), 0);
		snprintf(out, sizeof out, "%s", jv_string_value(s));
		jv_free(s);
	}
	jv_free(r);
	return out;
}

static void
test_sbuf(void)
{
	struct vc_sbuf b;
	char nul[] = { 'a', '\0', 'b' };

	vc_sbuf_init(&b, 0);
	vc_sbuf_jstr(&b, "q\"b\\s\n\x01\x7f é", strlen("q\"b\\s\n\x01\x7f é"));
	is_str(b.p, "\"q\\\"b\\\\s\\u000a\\u0001\x7f é\"", "jstr escapes quotes, backslashes, controls");
	b.n = 0;
	vc_sbuf_jstr(&b, nul, sizeof nul);
	is_str(b.p, "\"a\\u0000b\"", "... and NUL");
	vc_sbuf_release(&b);
	vc_sbuf_init(&b, 8);
	vc_sbuf_str(&b, "12345678");
	ok(!b.full && b.n == 8, "a bounded buffer takes up to its max");
	vc_sbuf_str(&b, "9");
	ok(b.full && b.n == 8, "... and refuses the byte past it");
	vc_sbuf_release(&b);
}

static void
test_hec(void)
{
	struct vc_siem_event e = { .id = 42, .created_at = 1796000000, .type = "case.created",
		.body = "{\"subject\":\"x\"}", .body_n = 15 };
	const char *t = shape(vc_siem_hec_append, "main", &e);
	int valid;
	char why[200];

	is_str(get(t, "time", NULL), "1796000000", "HEC: time in seconds");
	is_str(get(t, "index", NULL), "main", "HEC: the index");
	is_str(get(t, "event", "id"), "42", "HEC: event.id, the stable id");
	is_str(get(t, "event", "body"), "{\"subject\":\"x\"}", "HEC: event.body as stored");
	is_str(get(t, "fields", "tenant_id"), TENANT, "HEC: fields.tenant_id, an indexed field");
	ok(t[strlen(t) - 1] == '\n', "HEC: one line an event");
	t = shape(vc_siem_hec_append, NULL, &e);
	is_str(get(t, "index", NULL), "(none)", "HEC: no index, the token's default");
	ok(vc_siem_hec_answer(200, "{\"text\":\"Success\",\"code\":0}", 27, 5, &valid, why, sizeof why) == 0,
	    "HEC 200: taken");
	ok(vc_siem_hec_answer(400, "{\"text\":\"Invalid data format\",\"code\":6,\"invalid-event-number\":3}",
	    64, 5, &valid, why, sizeof why) == -1 && valid == 3, "HEC 400 naming event 3: three valid ahead");
	is_str(why, "the collector answered HTTP 400: Invalid data format (event 4 of the batch)",
	    "... said with the event's place");
	ok(vc_siem_hec_answer(400, "{\"text\":\"x\",\"invalid-event-number\":9}", 35, 5, &valid, why,
	    sizeof why) == -1 && valid == 0, "a number past the batch is not believed");
	ok(vc_siem_hec_answer(503, "<html>", 6, 5, &valid, why, sizeof why) == -1 && valid == 0,
	    "HEC 503 with no JSON: failed");
	is_str(why, "the collector answered HTTP 503: no HEC answer", "... and says so");
}

static void
test_ecs(void)
{
	struct vc_siem_event e = { .id = 7, .created_at = 0, .type = "threat_score.created",
		.body = "{\"score\":0.9}", .body_n = 13 };
	const char *t = shape(vc_siem_ecs_append, "vc", &e), *nl = strchr(t, '\n');
	const char *two = "{\"errors\":true,\"items\":[{\"index\":{\"status\":201}},"
	    "{\"index\":{\"status\":400,\"error\":{\"type\":\"mapper_parsing_exception\",\"reason\":\"bad\"}}},"
	    "{\"index\":{\"status\":201}}]}";
	char action[200];
	int taken;
	char why[300];

	snprintf(action, sizeof action, "%.*s", (int)(nl - t), t);
	is_str(action, "{\"index\":{\"_index\":\"vc\",\"_id\":\"7\"}}", "_bulk action: index by _id");
	t = nl + 1;
	is_str(get(t, "@timestamp", NULL), "1970-01-01T00:00:00Z", "ECS @timestamp");
	is_str(get(t, "event", "id"), "7", "ECS event.id");
	is_str(get(t, "event", "kind"), "alert", "ECS event.kind of a score: alert");
	is_str(get(t, "event", "category"), "[\"intrusion_detection\"]", "ECS event.category");
	is_str(get(t, "event", "action"), "threat_score.created", "ECS event.action: the type");
	is_str(get(t, "organization", "id"), TENANT, "ECS organization.id: the tenant");
	e.type = "case.created";
	e.id_prefix = "audit-";
	t = shape(vc_siem_ecs_append, "vc", &e);
	ok(strstr(t, "\"_id\":\"audit-7\"") != NULL && strstr(t, "\"category\"") == NULL &&
	    strstr(t, "\"kind\":\"event\"") != NULL, "a prefix in _id; no category for a case; kind event");
	ok(vc_siem_bulk_answer(200, "{\"errors\":false}", 16, 3, &taken, why, sizeof why) == 0 && taken == 3,
	    "_bulk errors false: all taken");
	ok(vc_siem_bulk_answer(200, two, strlen(two), 3, &taken, why, sizeof why) == -1 && taken == 1,
	    "_bulk item 2 refused: one taken");
	is_str(why, "status 400 mapper_parsing_exception: bad", "... the item's error said");
	ok(vc_siem_bulk_answer(200, "{\"errors\":true,\"items\":[]}", 26, 3, &taken, why, sizeof why) == -1 &&
	    taken == 0, "_bulk with the wrong number of items: failed");
	ok(vc_siem_bulk_answer(429, "", 0, 3, &taken, why, sizeof why) == -1 && taken == 0,
	    "_bulk 429: failed");
	ok(vc_siem_bulk_answer(200, "not json", 8, 3, &taken, why, sizeof why) == -1, "_bulk garbage: failed");
}

static void
test_syslog(void)
{
	struct vc_siem_event e = { .id = 5, .created_at = 1796000000, .type = "auth.login_failed",
		.body = "{\"user\":\"a=b\\\\c\",\"note\":\"x]\\\"y\"}", .body_n = 0 };
	struct vc_sbuf b;

	e.body_n = strlen(e.body);
	vc_sbuf_init(&b, 0);
	vc_siem_syslog_append(&b, "host1", "ten\"a]nt", 0, &e);
	is_str(b.p, "<133>1 2026-11-30T00:53:20Z host1 velocicompanion - auth.login_failed"
	    " [vc@32473 id=\"5\" tenant=\"ten\\\"a\\]nt\" type=\"auth.login_failed\"] "
	    "{\"id\":5,\"type\":\"auth.login_failed\",\"tenant_id\":\"ten\\\"a]nt\","
	    "\"created_at\":\"2026-11-30T00:53:20Z\",\"body\":{\"user\":\"a=b\\\\c\",\"note\":\"x]\\\"y\"}}",
	    "RFC 5424: PRI local0.notice, SD values escaped, the event as JSON");
	b.n = 0;
	vc_siem_syslog_append(&b, "", "t", 1, &e);
	ok(strncmp(b.p, "<133>1 2026-11-30T00:53:20Z - velocicompanion - ", 48) == 0, "no host: '-'");
	ok(strstr(b.p, "] CEF:0|VelociCompanion|vc-notify|") != NULL, "--format cef: a CEF record as MSG");
	b.n = 0;
	e.type = "odd|type\\x";
	vc_siem_cef_append(&b, "t=1", &e);
	ok(strstr(b.p, "|odd\\|type\\\\x|odd\\|type\\\\x|3|") != NULL, "CEF header: | and \\ escaped");
	ok(strstr(b.p, " cat=odd|type\\\\x cs1Label=tenant cs1=t\\=1 ") != NULL,
	    "CEF extension: = and \\ escaped, | not");
	ok(strstr(b.p, "msg={\"user\":\"a\\=b\\\\\\\\c\"") != NULL, "CEF msg: the body escaped");
	b.n = 0;
	e.body = "{\"t\":\"a\nb\"}";
	e.body_n = strlen(e.body);
	vc_siem_cef_append(&b, "t", &e);
	ok(strstr(b.p, "msg={\"t\":\"a\\nb\"}") != NULL && strchr(b.p, '\n') == NULL,
	    "CEF: a line end in a value is written \\n");
	vc_sbuf_release(&b);
}

int
main(void)
{
	test_sbuf();
	test_hec();
	test_ecs();
	test_syslog();
	return done_testing();
}
