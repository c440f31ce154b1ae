/* SPDX-License-Identifier: MIT */
/* t_ioc.c - IOC classification, normalisation and matching against rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score/ioc.h"
#include "json/jsonl.h"
#include "ops/ops.h"
#include "core/store.h"
#include "tap.h"

static void
as_analyst(vc_ctx *ctx, const char *tenant)
{
	memset(&ctx->who, 0, sizeof ctx->who);
	ctx->who.actor = VC_ACTOR_USER;
	ctx->who.role = VC_ROLE_ANALYST;
	snprintf(ctx->who.tenant_id, sizeof ctx->who.tenant_id, "%s", tenant);
	snprintf(ctx->who.username, sizeof ctx->who.username, "t");
}

static int
count_kind(jv hits, const char *ioc_value)
{
	int n = 0;

	jv_array_foreach(hits, i, h) {
		jv ev = jv_object_get(h, jv_string("evidence"));
		jv e0 = jv_array_get(ev, 0);
		jv v = jv_object_get(e0, jv_string("ioc"));
		if (jv_get_kind(v) == JV_KIND_STRING && strcmp(jv_string_value(v), ioc_value) == 0)
			n++;
		jv_free(v);
	}
	jv_free(hits);
	return n;
}

int
main(void)
{
	char dir[] = "/tmp/vc-t-ioc.XXXXXX", db[256], tenant[VC_ID_LEN + 1], other[VC_ID_LEN + 1];
	vc_ctx ctx;
	struct vc_jsonl in;
	struct vc_ioc_set *set;
	jv out, row, row2, hits;
	int rc;
	const char *feed =
	    "type,value,severity,source\n"
	    "sha256,3BC1CB74C5EDEF930C31451F34F8EBF76113B42F0B51A42C2E59EBEAFF441EB1,critical,feed\n"
	    ",790a5627278bd0bfa3c5670424a222e4d4078543,,\n"
	    "ip,203.0.113.7,high,\n"
	    "cidr,198.51.100.0/24,medium,\n"
	    "domain,evil.example,high,\n"
	    "filename,mimikatz.exe,high,\n"
	    "path,C:\\Users\\Public\\evil.exe,critical,\n"
	    "sha1,not-a-hash,high,\n"
	    "{\"type\":\"ip\",\"value\":\"2001:db8::dead\",\"severity\":\"low\"}\n";

	/* Classification. */
	is_str(vc_ioc_type_of("3bc1cb74c5edef930c31451f34f8ebf76113b42f0b51a42c2e59ebeaff441eb1"), "sha256", "64 hex: sha256");
	is_str(vc_ioc_type_of("790a5627278bd0bfa3c5670424a222e4d4078543"), "sha1", "40 hex: sha1");
	is_str(vc_ioc_type_of("3a3692b1544539a2e43326a96fad48df"), "md5", "32 hex: md5");
	is_str(vc_ioc_type_of("10.1.2.3"), "ip", "an IPv4 address");
	is_str(vc_ioc_type_of("10.1.2.3:443"), "ip", "an address with a port");
	is_str(vc_ioc_type_of("fd00::1"), "ip", "an IPv6 address");
	is_str(vc_ioc_type_of("10.0.0.0/8"), "cidr", "a network");
	is_str(vc_ioc_type_of("update.evil.example"), "domain", "a domain");
	is_str(vc_ioc_type_of("evil.exe"), "filename", "a file name is not a domain");
	is_str(vc_ioc_type_of("C:\\Temp\\x.exe"), "path", "a Windows path");
	is_str(vc_ioc_type_of("/tmp/.x/kworkerd"), "path", "a Unix path");
	ok(vc_ioc_type_of("hello world") == NULL, "plain words are nothing");

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(db, sizeof db, "%s/vc.db", dir);
	unsetenv("VC_KEY_FILE");
	vc_ctx_init(&ctx);
	ok(vc_store_open(&ctx, db, VC_STORE_CREATE) == 0, "store");
	vc_new_id(tenant);
	vc_new_id(other);
	vc_sql_exec(&ctx, "INSERT INTO tenants (id, name, created_at) VALUES (?1, 'a', 0), (?2, 'b', 0)", NULL,
	    "ss", tenant, other);
	as_analyst(&ctx, tenant);
	vc_jsonl_mem(&in, "feed.csv", feed, strlen(feed));
	ctx.in = &in;
	rc = vc_op_call(&ctx, vc_op_by_name("iocs.import"), jv_object(), &out);
	is_int(rc, 0, "import: %s", ctx.errmsg);
	ok(jv_is_valid(out) && jv_number_value(jv_object_get(jv_copy(out), jv_string("imported"))) == 8,
	    "8 IOCs imported (typed from CSV, JSONL, and the untyped sha1 by its shape)");
	is_int(ctx.bad_count, 1, "the bad sha1 line is reported");
	jv_free(out);
	ctx.in = NULL;
	vc_jsonl_release(&in);
	ctx.bad_count = 0;

	ok(vc_ioc_load(&ctx, jv_invalid(), &set) == 0, "load the set");
	is_int((long long)vc_ioc_count(set), 8, "8 in memory");

	row = jv_parse("{\"Name\":\"csrss.exe\",\"Exe\":\"C:\\\\Users\\\\Public\\\\EVIL.exe\","
	    "\"Hash\":{\"SHA256\":\"3bc1cb74c5edef930c31451f34f8ebf76113b42f0b51a42c2e59ebeaff441eb1\"},"
	    "\"Hashes\":\"MD5=00,SHA1=790A5627278BD0BFA3C5670424A222E4D4078543,IMPHASH=11\","
	    "\"Raddr\":{\"IP\":\"198.51.100.99\"},\"Url\":\"https://cdn.update.evil.example/x\","
	    "\"CommandLine\":\"mimikatz.exe\",\"Peer\":\"[2001:db8::dead]:443\",\"Pid\":4}");
	hits = jv_array();
	rc = vc_ioc_match(set, row, &hits);
	is_int(rc, 7, "every kind in the row matches, once (the eighth IOC is not in it)");
	is_int(count_kind(jv_copy(hits), "3bc1cb74c5edef930c31451f34f8ebf76113b42f0b51a42c2e59ebeaff441eb1"), 1, "sha256 in a nested column, any case");
	is_int(count_kind(jv_copy(hits), "790a5627278bd0bfa3c5670424a222e4d4078543"), 1, "sha1 inside Sysmon's Hashes");
	is_int(count_kind(jv_copy(hits), "198.51.100.0/24"), 1, "an address in a listed network");
	is_int(count_kind(jv_copy(hits), "evil.example"), 1, "a subdomain in a URL");
	is_int(count_kind(jv_copy(hits), "mimikatz.exe"), 1, "a file name");
	is_int(count_kind(jv_copy(hits), "c:\\users\\public\\evil.exe"), 1, "a path, any case");
	is_int(count_kind(jv_copy(hits), "2001:db8::dead"), 1, "IPv6 with a port");
	{
		int found = 0;
		jv hc = jv_copy(hits);
		jv_array_foreach(hc, i, h) {
			jv ev = jv_object_get(h, jv_string("evidence"));
			jv f = jv_object_get(jv_array_get(ev, 0), jv_string("field"));
			if (jv_get_kind(f) == JV_KIND_STRING && strcmp(jv_string_value(f), "Hash.SHA256") == 0)
				found = 1;
			jv_free(f);
		}
		jv_free(hc);
		ok(found, "evidence names the nested field: Hash.SHA256");
	}
	jv_free(hits);
	hits = jv_array();
	row2 = jv_parse("{\"Exe\":\"C:\\\\Windows\\\\notepad.exe\",\"ip\":\"198.51.101.1\"}");
	is_int(vc_ioc_match(set, row2, &hits), 0, "nothing matches a clean row");
	jv_free(row2);
	jv_free(hits);
	jv_free(row);
	vc_ioc_free(set);

	/* Another tenant sees none of them. */
	as_analyst(&ctx, other);
	ok(vc_ioc_load(&ctx, jv_invalid(), &set) == 0 && vc_ioc_count(set) == 0, "another tenant's set is empty");
	vc_ioc_free(set);

	vc_ctx_release(&ctx);
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return done_testing();
}
