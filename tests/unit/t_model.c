/* SPDX-License-Identifier: MIT */
/*
 * t_model.c - the isolation-forest host model: 30 similar hosts and one
 * odd one (processes from \Temp\, unsigned) -> the odd one scores
 * highest and its evidence names those features; the same store gives
 * the same output; under 8 hosts, nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score/signals.h"
#include "core/store.h"
#include "tap.h"

static const char *const normal[] = {
	"C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\System32\\lsass.exe",
	"C:\\Windows\\System32\\csrss.exe", "C:\\Windows\\explorer.exe",
	"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
	"C:\\Windows\\System32\\RuntimeBroker.exe", "C:\\Windows\\System32\\dllhost.exe",
	"C:\\Windows\\System32\\spoolsv.exe", "C:\\Windows\\System32\\taskhostw.exe",
	"C:\\Windows\\System32\\ctfmon.exe",
};

static int
row(vc_ctx *ctx, const char *tenant, const char *art, const char *host, const char *exe,
    const char *trusted)
{
	const char *base = strrchr(exe, '\\') + 1;
	jv o = JV_OBJECT(jv_string("Name"), jv_string(base), jv_string("Exe"), jv_string(exe),
	    jv_string("Pid"), jv_number(100), jv_string("CommandLine"), jv_string(exe),
	    jv_string("Authenticode"), JV_OBJECT(jv_string("Trusted"), jv_string(trusted)));
	jv t = jv_dump_string(o, 0);
	int rc = vc_sql_exec(ctx, "INSERT INTO artifact_rows (tenant_id, artifact_id, host_id, data)"
	    " VALUES (?1, ?2, ?3, ?4)", NULL, "ssss", tenant, art, host, jv_string_value(t));

	jv_free(t);
	return rc;
}

/* A tenant of nhosts hosts; host odd (or -1) is the odd one.  Host ids
 * go into ids[]. */
static int
fleet(vc_ctx *ctx, const char *tenant, int nhosts, int odd, char ids[][VC_ID_LEN + 1])
{
	char art[VC_ID_LEN + 1], net[VC_ID_LEN + 1];
	int rc = 0;

	vc_new_id(art);
	vc_new_id(net);
	rc |= vc_sql_exec(ctx, "INSERT INTO artifacts (id, tenant_id, name, state, created_at, updated_at)"
	    " VALUES (?1, ?2, 'Windows.System.Pslist', 'complete', 0, 0)", NULL, "ss", art, tenant);
	rc |= vc_sql_exec(ctx, "INSERT INTO artifacts (id, tenant_id, name, state, created_at, updated_at)"
	    " VALUES (?1, ?2, 'Windows.Network.Netstat', 'complete', 0, 0)", NULL, "ss", net, tenant);
	for (int h = 0; h < nhosts && rc == 0; h++) {
		char name[32], client[32];
		int procs = 40 + h % 7;
		vc_new_id(ids[h]);
		snprintf(name, sizeof name, "ws%03d", h);
		snprintf(client, sizeof client, "C.%016d", h);
		rc |= vc_sql_exec(ctx, "INSERT INTO hosts (id, tenant_id, client_id, hostname, created_at, updated_at)"
		    " VALUES (?1, ?2, ?3, ?4, 0, 0)", NULL, "ssss", ids[h], tenant, client, name);
		for (int p = 0; p < procs && rc == 0; p++) {
			char exe[128];
			if (h == odd && p % 3 == 0) {
				snprintf(exe, sizeof exe, "C:\\Users\\bob\\AppData\\Local\\Temp\\tmp%04d.exe", p);
				rc |= row(ctx, tenant, art, ids[h], exe, "untrusted");
			} else if (h % 5 == 0 && p == 0)
				rc |= row(ctx, tenant, art, ids[h],
				    "C:\\Users\\alice\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe", "trusted");
			else
				rc |= row(ctx, tenant, art, ids[h], normal[p % 10], "trusted");
		}
		/* Two listening ports each; one host a third. */
		for (int p = 0; p < 2 + (h == 3) && rc == 0; p++) {
			char data[128];
			snprintf(data, sizeof data, "{\"Pid\":4,\"Name\":\"System\",\"Status\":\"LISTEN\","
			    "\"Laddr.IP\":\"0.0.0.0\",\"Laddr.Port\":%d}", p == 2 ? 8080 : 445 - p * 310);
			rc |= vc_sql_exec(ctx, "INSERT INTO artifact_rows (tenant_id, artifact_id, host_id, data)"
			    " VALUES (?1, ?2, ?3, ?4)", NULL, "ssss", tenant, net, ids[h], data);
		}
	}
	return rc;
}

static int
has_field(jv ev, const char *name)
{
	int found = 0;

	jv_array_foreach(ev, i, e) {
		jv f = jv_object_get(e, jv_string("field"));
		if (strcmp(jv_string_value(f), name) == 0)
			found = 1;
		jv_free(f);
	}
	jv_free(ev);
	return found;
}

static double
num(jv o, const char *k)
{
	jv v = jv_object_get(o, jv_string(k));
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;

	jv_free(v);
	return d;
}

int
main(void)
{
	char dir[] = "/tmp/vc-t-model.XXXXXX", db[256], tenant[VC_ID_LEN + 1], small[VC_ID_LEN + 1];
	char ids[31][VC_ID_LEN + 1], sids[7][VC_ID_LEN + 1];
	vc_ctx ctx;
	jv scores, scores2, hits = jv_array(), hits2 = jv_array(), h, ev, feat;
	int rc = 0, odd = 17;
	size_t nf;
	const struct vc_model_feature_info *ft = vc_model_features_table(&nf);

	ok(nf >= 7 && ft[0].name && ft[0].what, "%zu features, each named and described", nf);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(db, sizeof db, "%s/vc.db", dir);
	unsetenv("VC_KEY_FILE");
	vc_ctx_init(&ctx);
	ok(vc_store_open(&ctx, db, VC_STORE_CREATE) == 0, "store: %s", ctx.errmsg);
	vc_new_id(tenant);
	vc_new_id(small);
	rc |= vc_sql_exec(&ctx, "INSERT INTO tenants (id, name, created_at) VALUES (?1, 'a', 0), (?2, 'b', 0)",
	    NULL, "ss", tenant, small);
	rc |= vc_tx_begin(&ctx);
	rc |= fleet(&ctx, tenant, 31, odd, ids);
	rc |= fleet(&ctx, small, 7, 2, sids);
	rc |= vc_tx_commit(&ctx);
	is_int(rc, 0, "fixtures: %s", ctx.errmsg);
	memset(&ctx.who, 0, sizeof ctx.who);
	snprintf(ctx.who.tenant_id, sizeof ctx.who.tenant_id, "%s", tenant);

	/* Features. */
	is_int(vc_model_features(&ctx, ids[odd], &feat), 0, "features of the odd host: %s", ctx.errmsg);
	ok(num(jv_copy(feat), "processes") == 40 + odd % 7, "processes %g", num(jv_copy(feat), "processes"));
	ok(num(jv_copy(feat), "user_writable_share") > 0.3, "user_writable_share %g",
	    num(jv_copy(feat), "user_writable_share"));
	ok(num(jv_copy(feat), "untrusted_share") > 0.3, "untrusted_share");
	ok(num(jv_copy(feat), "rare_exes") == 15, "rare_exes: its 15 temp files (%g)", num(jv_copy(feat), "rare_exes"));
	ok(num(jv_copy(feat), "listening_ports") == 2, "listening_ports from the Netstat rows");
	ok(num(jv_copy(feat), "distinct_exes") == 25, "distinct_exes (%g)", num(jv_copy(feat), "distinct_exes"));
	jv_free(feat);
	is_int(vc_model_features(&ctx, "ws003", &feat), 0, "a host by its hostname");
	ok(num(jv_copy(feat), "listening_ports") == 3, "ws003 listens on one port more");
	ok(num(jv_copy(feat), "user_writable_share") == 0, "and runs nothing from user-writable places");
	jv_free(feat);
	is_int(vc_model_features(&ctx, "C.0000000000000005", &feat), 0, "a host by its client id");
	ok(num(jv_copy(feat), "user_writable_share") > 0, "ws005 has its OneDrive in AppData");
	jv_free(feat);
	is_int(vc_model_features(&ctx, "no-such-host", &feat), VC_ENOTFOUND, "an unknown host");

	/* Scores. */
	is_int(vc_model_scores(&ctx, &scores), 0, "score the fleet");
	is_int(jv_array_length(jv_copy(scores)), 31, "31 hosts");
	{
		jv first = jv_array_get(jv_copy(scores), 0), second = jv_array_get(jv_copy(scores), 1);
		jv id = jv_object_get(jv_copy(first), jv_string("host_id"));
		double s1 = num(jv_copy(first), "score"), s2 = num(jv_copy(second), "score");
		is_str(jv_string_value(id), ids[odd], "the odd host scores highest");
		ok(s1 > s2 + 0.1 && s1 <= 1 && s2 >= 0, "clearly (%g against %g)", s1, s2);
		jv_free(id);
		jv_free(first);
		jv_free(second);
	}
	is_int(vc_model_scores(&ctx, &scores2), 0, "score again");
	ok(jv_equal(jv_copy(scores), jv_copy(scores2)), "deterministic: the same scores");
	jv_free(scores);
	jv_free(scores2);

	/* The indicator. */
	is_int(vc_model_host(&ctx, ids[odd], &hits), 1, "one indicator for the odd host");
	h = jv_array_get(jv_copy(hits), 0);
	{
		jv k = jv_object_get(jv_copy(h), jv_string("kind")), id = jv_object_get(jv_copy(h), jv_string("id"));
		jv t = jv_object_get(jv_copy(h), jv_string("title"));
		is_str(jv_string_value(k), "model", "kind model");
		is_str(jv_string_value(id), "iforest/1", "id iforest/1");
		is_str(jv_string_value(t), "host stands out among 31 hosts", "title");
		jv_free(k);
		jv_free(id);
		jv_free(t);
	}
	ok(num(jv_copy(h), "weight") > 0 && num(jv_copy(h), "weight") <= 0.3, "weight in (0, 0.3]: %g",
	    num(jv_copy(h), "weight"));
	ok(num(jv_copy(h), "score") > 0.55 && num(jv_copy(h), "score") <= 1, "score %g", num(jv_copy(h), "score"));
	ev = jv_object_get(jv_copy(h), jv_string("evidence"));
	is_int(jv_array_length(jv_copy(ev)), 3, "three features as evidence");
	ok(has_field(jv_copy(ev), "user_writable_share"), "evidence names user_writable_share");
	ok(has_field(jv_copy(ev), "untrusted_share"), "evidence names untrusted_share");
	{
		jv e0 = jv_array_get(jv_copy(ev), 0);
		ok(num(jv_copy(e0), "fleet_median") == 0 && num(jv_copy(e0), "value") > 0.3,
		    "with the value and the fleet median");
		jv_free(e0);
	}
	{
		jv d = jv_dump_string(jv_copy(h), 0);
		printf("# %s\n", jv_string_value(d));
		jv_free(d);
	}
	jv_free(ev);
	jv_free(h);
	is_int(vc_model_host(&ctx, ids[odd], &hits2), 1, "again");
	ok(jv_equal(jv_copy(hits), jv_copy(hits2)), "deterministic: the same indicator");
	jv_free(hits2);
	hits2 = jv_array();
	{
		int n = vc_model_host(&ctx, ids[1], &hits2);
		ok(n == 0 || num(jv_array_get(jv_copy(hits2), 0), "weight") < num(jv_array_get(jv_copy(hits), 0), "weight"),
		    "an ordinary host gets nothing, or less (%d)", n);
	}
	jv_free(hits2);
	hits2 = jv_array();
	is_int(vc_model_host(&ctx, "no-such-host", &hits2), 0, "an unknown host: nothing");

	/* Fewer than 8 hosts. */
	snprintf(ctx.who.tenant_id, sizeof ctx.who.tenant_id, "%s", small);
	is_int(vc_model_host(&ctx, sids[2], &hits2), 0, "7 hosts: no hit, odd or not");
	is_int(jv_array_length(jv_copy(hits2)), 0, "nothing appended");
	is_int(vc_model_scores(&ctx, &scores), 0, "scores of a small fleet");
	ok(jv_array_length(jv_copy(scores)) == 7 && num(jv_array_get(jv_copy(scores), 0), "score") == 0,
	    "7 hosts, all 0");
	jv_free(scores);
	is_int(vc_model_features(&ctx, ids[odd], &feat), VC_ENOTFOUND, "another tenant's host is not found");

	jv_free(hits);
	jv_free(hits2);
	vc_ctx_release(&ctx);
	snprintf(db, sizeof db, "rm -rf %s", dir);
	if (system(db) != 0)
		return 1;
	return done_testing();
}
