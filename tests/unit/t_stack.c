/* SPDX-License-Identifier: MIT */
/* t_stack.c - rarity stacking: counts, order, keys, rarity weights, and
 * stacking the rows of a store (tenant-scoped). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score/signals.h"
#include "core/store.h"
#include "tap.h"

static void
add(struct vc_stack *s, const char *json, const char *def)
{
	jv row = jv_parse(json);

	vc_stack_add(s, row, def);
	jv_free(row);
}

static double
num(jv o, const char *k)
{
	jv v = jv_object_get(o, jv_string(k));
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;

	jv_free(v);
	return d;
}

/* The string at a path of o (consumed), in buf. */
static const char *
str(jv o, const char *path, char *buf, size_t n)
{
	jv v = vc_row_get(o, path);

	snprintf(buf, n, "%s", jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "(none)");
	jv_free(v);
	jv_free(o);
	return buf;
}

/* Rarity of a row in s: the weight, 0 when nothing was appended. */
static double
rarity(const struct vc_stack *s, const char *json, size_t max_hosts, double frac, char *title, size_t tn)
{
	jv row = jv_parse(json), hits = jv_array();
	double w = 0;

	if (title)
		title[0] = '\0';
	if (vc_stack_rarity(s, row, "default", max_hosts, frac, &hits) == 1) {
		jv h = jv_array_get(jv_copy(hits), 0);
		w = num(jv_copy(h), "weight");
		if (title)
			str(jv_copy(h), "title", title, tn);
		jv_free(h);
	}
	jv_free(hits);
	jv_free(row);
	return w;
}

static void
fleet(struct vc_stack *s, int hosts, const char *name, int first)
{
	char json[256];

	for (int i = first; i < first + hosts; i++) {
		snprintf(json, sizeof json, "{\"Name\":\"%s\",\"ClientId\":\"C.%04d\"}", name, i);
		add(s, json, NULL);
	}
}

int
main(void)
{
	struct vc_stack *s;
	jv r, e;
	char buf[256], title[128];
	double w1, w2, w5;

	/* Bad specs. */
	ok(vc_stack_new(NULL) == NULL, "no spec");
	ok(vc_stack_new("") == NULL, "empty spec");
	ok(vc_stack_new("Name,,Exe") == NULL, "empty field");
	ok(vc_stack_new(",Name") == NULL, "leading comma");
	ok(vc_stack_new("Hash.") == NULL, "path ending in a dot");
	ok(vc_stack_new("a,b,c,d,e,f,g,h,i") == NULL, "more than 8 fields");
	s = vc_stack_new(" Name , Exe ");
	ok(s != NULL, "spaces around names are trimmed");
	vc_stack_free(s);

	/* Counts and order. */
	s = vc_stack_new("Name");
	fleet(s, 6, "svchost.exe", 0);
	add(s, "{\"Name\":\"svchost.exe\",\"ClientId\":\"C.0000\"}", NULL);    /* a second row, same host */
	add(s, "{\"Name\":\"SVCHOST.EXE\",\"Fqdn\":\"ws7.corp\"}", NULL);      /* other case, other host */
	fleet(s, 4, "chrome.exe", 0);
	add(s, "{\"Name\":\"rare2.exe\",\"Hostname\":\"lab1\"}", NULL);
	add(s, "{\"Name\":\"rare2.exe\",\"hostname\":\"lab1\"}", NULL);
	add(s, "{\"Name\":\"rare2.exe\"}", "lab1");
	add(s, "{\"Name\":\"evil.exe\",\"ClientId\":\"C.0003\",\"Fqdn\":\"ignored\"}", "ignored");
	add(s, "{\"Exe\":\"no name\",\"ClientId\":\"C.0009\"}", NULL);        /* no key field: not counted */
	is_int((long long)vc_stack_hosts(s), 8, "hosts: C.0000-C.0005, ws7.corp, lab1 (the keyless row is not counted)");
	is_int((long long)vc_stack_keys(s), 4, "four keys, case folded");
	r = vc_stack_result(s, 0);
	is_int(jv_array_length(jv_copy(r)), 4, "four rows of counts");
	e = jv_array_get(jv_copy(r), 0);
	is_str(str(jv_copy(e), "key.Name", buf, sizeof buf), "evil.exe", "rarest first: 1 host, 1 row");
	ok(num(jv_copy(e), "hosts") == 1 && num(jv_copy(e), "rows") == 1, "evil.exe: 1 host, 1 row");
	{
		jv ids = jv_object_get(jv_copy(e), jv_string("host_ids")), id0 = jv_array_get(ids, 0);
		is_str(jv_string_value(id0), "C.0003", "the host of a row is its ClientId before Fqdn");
		jv_free(id0);
	}
	jv_free(e);
	e = jv_array_get(jv_copy(r), 1);
	is_str(str(jv_copy(e), "key.Name", buf, sizeof buf), "rare2.exe", "then 1 host, 3 rows");
	ok(num(jv_copy(e), "hosts") == 1 && num(jv_copy(e), "rows") == 3,
	    "Hostname, hostname and the default name one host");
	jv_free(e);
	e = jv_array_get(jv_copy(r), 2);
	is_str(str(jv_copy(e), "key.Name", buf, sizeof buf), "chrome.exe", "then chrome.exe on 4");
	jv_free(e);
	e = jv_array_get(jv_copy(r), 3);
	is_str(str(jv_copy(e), "key.Name", buf, sizeof buf), "svchost.exe", "the key keeps its first spelling");
	ok(num(jv_copy(e), "hosts") == 7 && num(jv_copy(e), "rows") == 8, "svchost.exe: 7 hosts, 8 rows");
	jv_free(e);
	jv_free(r);
	r = vc_stack_result(s, 1);
	is_int(jv_array_length(r), 2, "--max-hosts 1 keeps the two single-host keys");
	vc_stack_free(s);

	/* Key fields: dotted paths, literal dots, types. */
	s = vc_stack_new("Exe,Hash.SHA256,Laddr.IP");
	add(s, "{\"Exe\":\"a\",\"Hash\":{\"SHA256\":\"AB\"},\"Laddr.IP\":\"10.0.0.1\",\"ClientId\":\"C.1\"}", NULL);
	add(s, "{\"Exe\":\"A\",\"Hash\":{\"SHA256\":\"ab\"},\"Laddr\":{\"IP\":\"10.0.0.1\"},\"ClientId\":\"C.2\"}", NULL);
	add(s, "{\"Exe\":\"a\",\"Hash\":{\"SHA256\":\"cd\"},\"ClientId\":\"C.3\"}", NULL);
	r = vc_stack_result(s, 0);
	is_int(jv_array_length(jv_copy(r)), 2, "literal \"Laddr.IP\" and nested Laddr.IP are one field");
	e = jv_array_get(jv_copy(r), 1);
	ok(num(jv_copy(e), "hosts") == 2, "a/AB/10.0.0.1 on two hosts");
	{
		jv k = jv_object_get(jv_copy(e), jv_string("key")), v = jv_object_get(k, jv_string("Hash.SHA256"));
		is_str(jv_string_value(v), "AB", "key members are named by the spec: {\"Hash.SHA256\": \"AB\"}");
		jv_free(v);
	}
	jv_free(e);
	e = jv_array_get(jv_copy(r), 0);
	{
		jv k = jv_object_get(jv_copy(e), jv_string("key")), v = jv_object_get(k, jv_string("Laddr.IP"));
		ok(jv_get_kind(v) == JV_KIND_NULL, "a missing field is null in the key");
		jv_free(v);
	}
	jv_free(e);
	jv_free(r);
	vc_stack_free(s);
	s = vc_stack_new("Port");
	add(s, "{\"Port\":443,\"ClientId\":\"C.1\"}", NULL);
	add(s, "{\"Port\":\"443\",\"ClientId\":\"C.1\"}", NULL);
	is_int((long long)vc_stack_keys(s), 2, "443 and \"443\" stay apart");
	vc_stack_free(s);

	/* Rarity. */
	s = vc_stack_new("Name");
	fleet(s, 4, "common.exe", 0);
	fleet(s, 1, "odd.exe", 0);
	ok(rarity(s, "{\"Name\":\"odd.exe\"}", 1, 0, NULL, 0) == 0, "4 hosts: rarity means nothing");
	vc_stack_free(s);

	s = vc_stack_new("Name");
	fleet(s, 200, "common.exe", 0);
	fleet(s, 1, "one.exe", 7);
	fleet(s, 2, "two.exe", 10);
	fleet(s, 5, "five.exe", 20);
	fleet(s, 10, "ten.exe", 30);
	fleet(s, 11, "eleven.exe", 50);
	is_int((long long)vc_stack_hosts(s), 200, "200 hosts");
	w1 = rarity(s, "{\"Name\":\"one.exe\"}", 1, 0, title, sizeof title);
	ok(fabs(w1 - 0.4) < 1e-9, "1 of 200: the full 0.4 (%g)", w1);
	is_str(title, "seen on 1 of 200 hosts", "title");
	ok(rarity(s, "{\"Name\":\"two.exe\"}", 1, 0, NULL, 0) == 0, "2 hosts, --max-hosts 1: nothing");
	w2 = rarity(s, "{\"Name\":\"two.exe\"}", 2, 0, title, sizeof title);
	ok(fabs(w2 - 0.4 * (1 - log(2) / log(200))) < 1e-3, "2 of 200: 0.4 (1 - ln 2 / ln 200) = %g", w2);
	w5 = rarity(s, "{\"Name\":\"five.exe\"}", 5, 0, NULL, 0);
	ok(w1 > w2 && w2 > w5 && w5 > 0, "rarer weighs more (%g > %g > %g)", w1, w2, w5);
	ok(rarity(s, "{\"Name\":\"ten.exe\"}", 0, 0.05, NULL, 0) > 0, "10 of 200 is within 5%%");
	ok(rarity(s, "{\"Name\":\"eleven.exe\"}", 0, 0.05, NULL, 0) == 0, "11 of 200 is not");
	ok(rarity(s, "{\"Name\":\"eleven.exe\"}", 11, 0.05, NULL, 0) > 0, "either limit will do");
	ok(rarity(s, "{\"Name\":\"common.exe\"}", 0, 0.99, NULL, 0) == 0, "a key on every host is never rare");
	ok(fabs(rarity(s, "{\"Name\":\"never.exe\"}", 0, 0, title, sizeof title) - 0.4) < 1e-9,
	    "an unseen key counts as one host (and 0, 0 means --max-hosts 1)");
	is_str(title, "seen on 1 of 201 hosts", "... on a host the stack did not know");
	ok(rarity(s, "{\"Other\":1}", 1, 0, NULL, 0) == 0, "a row without the key: nothing");
	{
		jv row = jv_parse("{\"Name\":\"one.exe\"}"), hits = jv_invalid(), h, ev;
		is_int(vc_stack_rarity(s, row, NULL, 1, 0, &hits), 1, "one indicator");
		h = jv_array_get(jv_copy(hits), 0);
		is_str(str(jv_copy(h), "kind", buf, sizeof buf), "rarity", "kind rarity");
		is_str(str(jv_copy(h), "id", buf, sizeof buf), "rarity:Name", "id names the fields");
		ev = jv_object_get(h, jv_string("evidence"));
		is_str(str(jv_array_get(jv_copy(ev), 0), "value", buf, sizeof buf), "one.exe", "evidence: the key's values");
		jv_free(ev);
		jv_free(hits);
		jv_free(row);
	}
	vc_stack_free(s);
	s = vc_stack_new("Name");
	fleet(s, 10, "common.exe", 0);
	fleet(s, 1, "odd.exe", 0);
	w1 = rarity(s, "{\"Name\":\"odd.exe\"}", 1, 0, NULL, 0);
	ok(fabs(w1 - 0.2) < 1e-9, "1 of 10 weighs less than 1 of 200 (%g)", w1);
	vc_stack_free(s);

	/* From a store. */
	{
		char dir[] = "/tmp/vc-t-stack.XXXXXX", db[256], tenant[VC_ID_LEN + 1], other[VC_ID_LEN + 1];
		char art[VC_ID_LEN + 1], art2[VC_ID_LEN + 1], art3[VC_ID_LEN + 1], art4[VC_ID_LEN + 1];
		char hosts[6][VC_ID_LEN + 1];
		vc_ctx ctx;
		int rc = 0;

		if (mkdtemp(dir) == NULL)
			return 1;
		snprintf(db, sizeof db, "%s/vc.db", dir);
		unsetenv("VC_KEY_FILE");
		vc_ctx_init(&ctx);
		ok(vc_store_open(&ctx, db, VC_STORE_CREATE) == 0, "store: %s", ctx.errmsg);
		vc_new_id(tenant);
		vc_new_id(other);
		rc |= vc_sql_exec(&ctx, "INSERT INTO tenants (id, name, created_at) VALUES (?1, 'a', 0), (?2, 'b', 0)",
		    NULL, "ss", tenant, other);
		for (int i = 0; i < 6; i++) {
			char name[16];
			vc_new_id(hosts[i]);
			snprintf(name, sizeof name, "ws%d", i);
			rc |= vc_sql_exec(&ctx, "INSERT INTO hosts (id, tenant_id, hostname, created_at, updated_at)"
			    " VALUES (?1, ?2, ?3, 0, 0)", NULL, "sss", hosts[i], tenant, name);
		}
		vc_new_id(art);
		vc_new_id(art2);
		vc_new_id(art3);
		vc_new_id(art4);
		rc |= vc_sql_exec(&ctx, "INSERT INTO artifacts (id, tenant_id, name, state, created_at, updated_at)"
		    " VALUES (?1, ?2, 'Windows.System.Pslist', 'complete', 0, 0)", NULL, "ss", art, tenant);
		rc |= vc_sql_exec(&ctx, "INSERT INTO artifacts (id, tenant_id, name, host_id, state, created_at, updated_at)"
		    " VALUES (?1, ?2, 'Windows.Network.Netstat', ?3, 'complete', 0, 0)", NULL, "sss", art2, tenant, hosts[0]);
		rc |= vc_sql_exec(&ctx, "INSERT INTO artifacts (id, tenant_id, name, state, created_at, updated_at)"
		    " VALUES (?1, ?2, 'Windows.System.Pslist', 'failed', 0, 0)", NULL, "ss", art3, tenant);
		rc |= vc_sql_exec(&ctx, "INSERT INTO artifacts (id, tenant_id, name, state, created_at, updated_at)"
		    " VALUES (?1, ?2, 'Windows.System.Pslist', 'complete', 0, 0)", NULL, "ss", art4, other);
		for (int i = 0; i < 6; i++)
			rc |= vc_sql_exec(&ctx, "INSERT INTO artifact_rows (tenant_id, artifact_id, host_id, data)"
			    " VALUES (?1, ?2, ?3, '{\"Name\":\"svchost.exe\"}')", NULL, "sss", tenant, art, hosts[i]);
		rc |= vc_sql_exec(&ctx, "INSERT INTO artifact_rows (tenant_id, artifact_id, host_id, data)"
		    " VALUES (?1, ?2, ?3, '{\"Name\":\"evil.exe\"}')", NULL, "sss", tenant, art, hosts[2]);
		/* No stored host: the row's ClientId says. */
		rc |= vc_sql_exec(&ctx, "INSERT INTO artifact_rows (tenant_id, artifact_id, data)"
		    " VALUES (?1, ?2, '{\"Name\":\"svchost.exe\",\"ClientId\":\"C.77\"}')", NULL, "ss", tenant, art);
		/* The artifact's host stands for its rows'. */
		rc |= vc_sql_exec(&ctx, "INSERT INTO artifact_rows (tenant_id, artifact_id, data)"
		    " VALUES (?1, ?2, '{\"Name\":\"evil.exe\",\"Laddr\":{\"Port\":4444}}')", NULL, "ss", tenant, art2);
		rc |= vc_sql_exec(&ctx, "INSERT INTO artifact_rows (tenant_id, artifact_id, host_id, data)"
		    " VALUES (?1, ?2, ?3, '{\"Name\":\"failed.exe\"}')", NULL, "sss", tenant, art3, hosts[1]);
		rc |= vc_sql_exec(&ctx, "INSERT INTO artifact_rows (tenant_id, artifact_id, host_id, data)"
		    " VALUES (?1, ?2, 'x', '{\"Name\":\"other-tenant.exe\"}')", NULL, "ss", other, art4);
		rc |= vc_sql_exec(&ctx, "INSERT INTO artifact_rows (tenant_id, artifact_id, host_id, data)"
		    " VALUES (?1, ?2, ?3, 'not json')", NULL, "sss", tenant, art, hosts[3]);
		is_int(rc, 0, "fixtures: %s", ctx.errmsg);
		memset(&ctx.who, 0, sizeof ctx.who);
		snprintf(ctx.who.tenant_id, sizeof ctx.who.tenant_id, "%s", tenant);

		s = vc_stack_new("Name");
		is_int(vc_stack_from_store(&ctx, s, NULL), 0, "stack the store: %s", ctx.errmsg);
		is_int((long long)vc_stack_hosts(s), 7, "6 hosts and C.77");
		r = vc_stack_result(s, 0);
		is_int(jv_array_length(jv_copy(r)), 2, "evil.exe and svchost.exe: no failed import, no other tenant");
		e = jv_array_get(jv_copy(r), 0);
		is_str(str(jv_copy(e), "key.Name", buf, sizeof buf), "evil.exe", "evil.exe first");
		ok(num(jv_copy(e), "hosts") == 2 && num(jv_copy(e), "rows") == 2, "on ws2 and (through its artifact) ws0");
		jv_free(e);
		jv_free(r);
		ok(rarity(s, "{\"Name\":\"evil.exe\"}", 2, 0, NULL, 0) > 0, "rare against the store");
		vc_stack_free(s);

		s = vc_stack_new("Name");
		is_int(vc_stack_from_store(&ctx, s, "Windows.Network.Netstat"), 0, "one artifact name");
		is_int((long long)vc_stack_keys(s), 1, "only the Netstat row");
		vc_stack_free(s);

		snprintf(ctx.who.tenant_id, sizeof ctx.who.tenant_id, "%s", other);
		s = vc_stack_new("Name");
		is_int(vc_stack_from_store(&ctx, s, NULL), 0, "the other tenant");
		r = vc_stack_result(s, 0);
		e = jv_array_get(r, 0);
		is_str(str(e, "key.Name", buf, sizeof buf), "other-tenant.exe", "sees only its own rows");
		vc_stack_free(s);
		vc_ctx_release(&ctx);
		snprintf(db, sizeof db, "rm -rf %s", dir);
		if (system(db) != 0)
			return 1;
	}
	return done_testing();
}
