/* SPDX-License-Identifier: MIT */
/*
 * siem.c - events in the shapes of Splunk's HEC and Elasticsearch's
 * _bulk with ECS names, and the reading of their answers.  See siem.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jv.h>

#include "siem.h"
#include "core/vc.h"

void
vc_sbuf_init(struct vc_sbuf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

void
vc_sbuf_release(struct vc_sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

void
vc_sbuf_put(struct vc_sbuf *b, const char *s, size_t n)
{
	if (b->full)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;
		while (cap < b->n + n + 1)
			cap *= 2;
		if (b->max && cap > b->max + 1)
			cap = b->max + 1;
		if ((b->max && b->n + n > b->max) || (p = realloc(b->p, cap)) == NULL) {
			b->full = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void
vc_sbuf_str(struct vc_sbuf *b, const char *s)
{
	vc_sbuf_put(b, s, strlen(s));
}

void
vc_sbuf_jstr(struct vc_sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	vc_sbuf_put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		vc_sbuf_put(b, s + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			vc_sbuf_put(b, esc, 2);
		} else
			vc_sbuf_put(b, esc, 6);
	}
	vc_sbuf_put(b, s + run, n - run);
	vc_sbuf_put(b, "\"", 1);
}

void
vc_sbuf_int(struct vc_sbuf *b, int64_t v)
{
	char t[24];
	int n = snprintf(t, sizeof t, "%lld", (long long)v);

	vc_sbuf_put(b, t, (size_t)n);
}

/* t as RFC 3339, in quotes when quoted. */
static void
put_time_q(struct vc_sbuf *b, int64_t t, int quoted)
{
	char s[32];
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	vc_sbuf_put(b, s, strftime(s, sizeof s, quoted ? "\"%Y-%m-%dT%H:%M:%SZ\"" :
	    "%Y-%m-%dT%H:%M:%SZ", &tm));
}

static void
put_time(struct vc_sbuf *b, int64_t t)
{
	put_time_q(b, t, 1);
}

static void
put_body(struct vc_sbuf *b, const struct vc_siem_event *e)
{
	if (e->body_n > 0)
		vc_sbuf_put(b, e->body, e->body_n);
	else
		vc_sbuf_put(b, "{}", 2);
}

/* {"id", "type", "tenant_id", "created_at", "body"}: the event as a file
 * channel writes it. */
static void
put_event(struct vc_sbuf *b, const char *tenant, const struct vc_siem_event *e)
{
	vc_sbuf_str(b, "{\"id\":");
	vc_sbuf_int(b, e->id);
	vc_sbuf_str(b, ",\"type\":");
	vc_sbuf_jstr(b, e->type, strlen(e->type));
	vc_sbuf_str(b, ",\"tenant_id\":");
	vc_sbuf_jstr(b, tenant, strlen(tenant));
	vc_sbuf_str(b, ",\"created_at\":");
	put_time(b, e->created_at);
	vc_sbuf_str(b, ",\"body\":");
	put_body(b, e);
	vc_sbuf_str(b, "}");
}

void
vc_siem_hec_append(struct vc_sbuf *b, const char *tenant, const char *index,
    const struct vc_siem_event *e)
{
	vc_sbuf_str(b, "{\"time\":");
	vc_sbuf_int(b, e->created_at);
	vc_sbuf_str(b, ",\"source\":\"velocicompanion\",\"sourcetype\":\"velocicompanion:event\"");
	if (index != NULL) {
		vc_sbuf_str(b, ",\"index\":");
		vc_sbuf_jstr(b, index, strlen(index));
	}
	vc_sbuf_str(b, ",\"fields\":{\"tenant_id\":");
	vc_sbuf_jstr(b, tenant, strlen(tenant));
	vc_sbuf_str(b, ",\"event_type\":");
	vc_sbuf_jstr(b, e->type, strlen(e->type));
	vc_sbuf_str(b, "},\"event\":");
	put_event(b, tenant, e);
	vc_sbuf_str(b, "}\n");
}

/* Text worth giving libjq: no NUL byte (a JSON answer never has one),
 * and a length an int holds. */
static int
parseable(const char *body, size_t n)
{
	return body != NULL && n < (size_t)1 << 30 && memchr(body, '\0', n) == NULL;
}

int
vc_siem_hec_answer(long status, const char *body, size_t n, int count, int *valid,
    char *why, size_t wn)
{
	jv a, text, num;
	double k;

	*valid = 0;
	if (status >= 200 && status <= 299)
		return 0;
	a = n > 0 && parseable(body, n) ? jv_parse_sized(body, (int)n) : jv_invalid();
	text = jv_is_valid(a) && jv_get_kind(a) == JV_KIND_OBJECT ?
	    jv_object_get(jv_copy(a), jv_string("text")) : jv_invalid();
	num = jv_is_valid(a) && jv_get_kind(a) == JV_KIND_OBJECT ?
	    jv_object_get(jv_copy(a), jv_string("invalid-event-number")) : jv_invalid();
	/* Only a place in the batch is believed (and converted). */
	k = jv_get_kind(num) == JV_KIND_NUMBER ? jv_number_value(num) : -1;
	if (k >= 0 && k < count) {
		*valid = (int)k;
		snprintf(why, wn, "the collector answered HTTP %ld: %.200s (event %d of the batch)", status,
		    jv_get_kind(text) == JV_KIND_STRING ? jv_string_value(text) : "?", (int)k + 1);
	} else
		snprintf(why, wn, "the collector answered HTTP %ld: %.200s", status,
		    jv_get_kind(text) == JV_KIND_STRING ? jv_string_value(text) : "no HEC answer");
	jv_free(text);
	jv_free(num);
	jv_free(a);
	return -1;
}

const char *
vc_siem_ecs_kind(const char *type)
{
	return strncmp(type, "threat_score.", 13) == 0 ? "alert" : "event";
}

const char *
vc_siem_ecs_category(const char *type)
{
	static const struct { const char *prefix, *cat; } map[] = {
		{ "threat_score.", "[\"intrusion_detection\"]" },
		{ "host.", "[\"host\"]" },
		{ "auth.", "[\"authentication\"]" },
		{ "user.", "[\"iam\"]" },
		{ "artifact.", "[\"file\"]" },
		{ "audit", "[\"configuration\"]" },
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strncmp(type, map[i].prefix, strlen(map[i].prefix)) == 0)
			return map[i].cat;
	return NULL;
}

void
vc_siem_ecs_append(struct vc_sbuf *b, const char *tenant, const char *index,
    const struct vc_siem_event *e)
{
	const char *cat = vc_siem_ecs_category(e->type);

	vc_sbuf_str(b, "{\"index\":{\"_index\":");
	vc_sbuf_jstr(b, index, strlen(index));
	vc_sbuf_str(b, ",\"_id\":\"");
	vc_sbuf_str(b, e->id_prefix ? e->id_prefix : "");
	vc_sbuf_int(b, e->id);
	vc_sbuf_str(b, "\"}}\n{\"@timestamp\":");
	put_time(b, e->created_at);
	vc_sbuf_str(b, ",\"event\":{\"id\":\"");
	vc_sbuf_str(b, e->id_prefix ? e->id_prefix : "");
	vc_sbuf_int(b, e->id);
	vc_sbuf_str(b, "\",\"kind\":\"");
	vc_sbuf_str(b, vc_siem_ecs_kind(e->type));
	vc_sbuf_str(b, "\"");
	if (cat != NULL) {
		vc_sbuf_str(b, ",\"category\":");
		vc_sbuf_str(b, cat);
	}
	vc_sbuf_str(b, ",\"type\":[\"info\"],\"action\":");
	vc_sbuf_jstr(b, e->type, strlen(e->type));
	vc_sbuf_str(b, ",\"dataset\":\"velocicompanion.events\",\"sequence\":");
	vc_sbuf_int(b, e->id);
	vc_sbuf_str(b, ",\"created\":");
	put_time(b, e->created_at);
	vc_sbuf_str(b, "},\"organization\":{\"id\":");
	vc_sbuf_jstr(b, tenant, strlen(tenant));
	vc_sbuf_str(b, "},\"observer\":{\"vendor\":\"VelociCompanion\",\"product\":\"vc-notify\"},"
	    "\"velocicompanion\":{\"type\":");
	vc_sbuf_jstr(b, e->type, strlen(e->type));
	vc_sbuf_str(b, ",\"body\":");
	put_body(b, e);
	vc_sbuf_str(b, "}}\n");
}

/* "status 400 mapper_parsing_exception: failed to parse" of a failed item. */
static void
item_why(jv item, char *why, size_t wn)
{
	jv st = jv_object_get(jv_copy(item), jv_string("status"));
	jv err = jv_object_get(item, jv_string("error"));
	jv type = jv_get_kind(err) == JV_KIND_OBJECT ? jv_object_get(jv_copy(err), jv_string("type")) :
	    jv_invalid();
	jv reason = jv_get_kind(err) == JV_KIND_OBJECT ? jv_object_get(jv_copy(err), jv_string("reason")) :
	    jv_invalid();

	snprintf(why, wn, "status %d %.100s: %.200s",
	    jv_get_kind(st) == JV_KIND_NUMBER ? (int)jv_number_value(st) : 0,
	    jv_get_kind(type) == JV_KIND_STRING ? jv_string_value(type) : "error",
	    jv_get_kind(reason) == JV_KIND_STRING ? jv_string_value(reason) : "no reason given");
	jv_free(st);
	jv_free(err);
	jv_free(type);
	jv_free(reason);
}

int
vc_siem_bulk_answer(long status, const char *body, size_t n, int count, int *taken,
    char *why, size_t wn)
{
	jv a, items;
	int i = 0, len, rc = 0;

	*taken = 0;
	if (status < 200 || status > 299) {
		snprintf(why, wn, "Elasticsearch answered HTTP %ld", status);
		return -1;
	}
	a = parseable(body, n) ? jv_parse_sized(body, (int)n) : jv_invalid();
	if (!jv_is_valid(a) || jv_get_kind(a) != JV_KIND_OBJECT) {
		jv_free(a);
		snprintf(why, wn, "Elasticsearch's answer is not a _bulk answer");
		return -1;
	}
	items = jv_object_get(jv_copy(a), jv_string("errors"));
	if (jv_get_kind(items) == JV_KIND_FALSE) {
		jv_free(items);
		jv_free(a);
		*taken = count;
		return 0;
	}
	jv_free(items);
	items = jv_object_get(a, jv_string("items"));
	len = jv_get_kind(items) == JV_KIND_ARRAY ? jv_array_length(jv_copy(items)) : -1;
	if (len != count) {
		jv_free(items);
		snprintf(why, wn, "Elasticsearch answered %d items for %d", len, count);
		return -1;
	}
	for (i = 0; i < len && rc == 0; i++) {
		jv it = jv_array_get(jv_copy(items), i), op, st;
		if (jv_get_kind(it) != JV_KIND_OBJECT || jv_object_length(jv_copy(it)) != 1) {
			jv_free(it);
			snprintf(why, wn, "Elasticsearch's item %d is not an action's answer", i + 1);
			rc = -1;
			break;
		}
		jv_object_foreach(it, k, v) {
			jv_free(k);
			op = v;
		}
		jv_free(it);
		st = jv_object_get(jv_copy(op), jv_string("status"));
		if (jv_get_kind(st) != JV_KIND_NUMBER || jv_number_value(st) < 200 ||
		    jv_number_value(st) > 299) {
			item_why(jv_copy(op), why, wn);
			rc = -1;
		}
		jv_free(st);
		jv_free(op);
		if (rc != 0)
			break;
	}
	jv_free(items);
	*taken = i;
	return rc;
}

/* s with each byte of esc preceded by '\\', line ends as \\n and \\r
 * (nl_esc) or as spaces. */
static void
put_escaped(struct vc_sbuf *b, const char *s, size_t n, const char *esc, int nl_esc)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i], rep[2] = { '\\', c };
		if (c != '\n' && c != '\r' && (c == '\0' || strchr(esc, c) == NULL))
			continue;
		vc_sbuf_put(b, s + run, i - run);
		run = i + 1;
		if (c == '\n' || c == '\r') {
			rep[1] = c == '\n' ? 'n' : 'r';
			if (nl_esc)
				vc_sbuf_put(b, rep, 2);
			else
				vc_sbuf_put(b, " ", 1);
		} else
			vc_sbuf_put(b, rep, 2);
	}
	vc_sbuf_put(b, s + run, n - run);
}

static int
severity(const char *type)
{
	return strncmp(type, "threat_score.", 13) == 0 ? 4 : strncmp(type, "auth.", 5) == 0 ? 5 : 6;
}

void
vc_siem_cef_append(struct vc_sbuf *b, const char *tenant, const struct vc_siem_event *e)
{
	int sev = severity(e->type);

	vc_sbuf_str(b, "CEF:0|VelociCompanion|vc-notify|" VC_VERSION "|");
	put_escaped(b, e->type, strlen(e->type), "\\|", 0);
	vc_sbuf_str(b, "|");
	put_escaped(b, e->type, strlen(e->type), "\\|", 0);
	vc_sbuf_str(b, sev == 4 ? "|7|" : sev == 5 ? "|5|" : "|3|");
	vc_sbuf_str(b, "rt=");
	vc_sbuf_int(b, e->created_at * 1000);
	vc_sbuf_str(b, " externalId=");
	vc_sbuf_int(b, e->id);
	vc_sbuf_str(b, " cat=");
	put_escaped(b, e->type, strlen(e->type), "\\=", 1);
	vc_sbuf_str(b, " cs1Label=tenant cs1=");
	put_escaped(b, tenant, strlen(tenant), "\\=", 1);
	vc_sbuf_str(b, " msg=");
	if (e->body_n > 0)
		put_escaped(b, e->body, e->body_n, "\\=", 1);
	else
		vc_sbuf_str(b, "{}");
}

/* An SD-PARAM value: '"', '\\' and ']' escaped (RFC 5424 6.3.3). */
static void
put_sd(struct vc_sbuf *b, const char *s)
{
	vc_sbuf_str(b, "\"");
	put_escaped(b, s, strlen(s), "\"\\]", 1);
	vc_sbuf_str(b, "\"");
}

/* host, or "-": 1 to 255 printable US-ASCII characters. */
static void
put_field(struct vc_sbuf *b, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0) {
		vc_sbuf_str(b, "-");
		return;
	}
	for (size_t i = 0; i < n && i < max; i++) {
		char c = s[i] >= 33 && s[i] <= 126 ? s[i] : '_';
		vc_sbuf_put(b, &c, 1);
	}
}

void
vc_siem_syslog_append(struct vc_sbuf *b, const char *host, const char *tenant, int cef,
    const struct vc_siem_event *e)
{
	char id[24];

	vc_sbuf_str(b, "<");
	vc_sbuf_int(b, 16 * 8 + severity(e->type));
	vc_sbuf_str(b, ">1 ");
	put_time_q(b, e->created_at, 0);
	vc_sbuf_str(b, " ");
	put_field(b, host, 255);
	vc_sbuf_str(b, " velocicompanion - ");
	put_field(b, e->type, 32);
	snprintf(id, sizeof id, "%lld", (long long)e->id);
	vc_sbuf_str(b, " [vc@32473 id=");
	put_sd(b, id);
	vc_sbuf_str(b, " tenant=");
	put_sd(b, tenant);
	vc_sbuf_str(b, " type=");
	put_sd(b, e->type);
	vc_sbuf_str(b, "] ");
	if (cef)
		vc_siem_cef_append(b, tenant, e);
	else
		put_event(b, tenant, e);
}
