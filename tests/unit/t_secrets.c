/* SPDX-License-Identifier: MIT */
/* t_secrets.c - the registry of sealed columns: its associated data
 * templates, as rekey and key list expand them for each row. */
#include <stdio.h>
#include <string.h>

#include "secrets.h"
#include "tap.h"

/* A row: tenant_id T1, id U1, everything else unknown. */
static const char *
value(const char *col, void *arg)
{
	(void)arg;
	if (strcmp(col, "tenant_id") == 0)
		return "T1";
	if (strcmp(col, "id") == 0)
		return "U1";
	return NULL;
}

static int
expand(const char *tpl, char *buf, size_t n)
{
	struct vc_sealed_column sc = { "t", "id", "c", tpl };

	return vc_sealed_ad(&sc, value, NULL, buf, n);
}

int
main(void)
{
	char buf[128];
	int vr = 0;

	/* The templates the TOTP and SMTP columns will need (issue 11). */
	is_int(expand("{tenant_id}|{id}|totp", buf, sizeof buf), 0, "TENANT_ID|USER_ID|totp");
	is_str(buf, "T1|U1|totp", "... expands both columns");
	is_int(expand("|smtp|password", buf, sizeof buf), 0, "a constant");
	is_str(buf, "|smtp|password", "... stays as it is");
	is_int(expand("", buf, sizeof buf), 0, "empty associated data");
	is_str(buf, "", "... is empty");
	is_int(expand("{nosuch}|x", buf, sizeof buf), -1, "an unknown column fails");
	is_int(expand("{tenant_id|x", buf, sizeof buf), -1, "an unclosed brace fails");
	is_int(expand("{Bad-Name}", buf, sizeof buf), -1, "a name that is no identifier fails");
	is_int(expand("{tenant_id}|{id}|totp", buf, 8), -1, "too small a buffer fails");
	is_int(expand("{tenant_id}|{id}|totp", buf, 11), 0, "an exact fit works");

	/* Every entry expands for a row that has its columns, and the
	 * Velociraptor key's is what lib/hunt.c seals with. */
	for (const struct vc_sealed_column *sc = vc_sealed_columns; sc->table; sc++) {
		ok(vc_sealed_ad(sc, value, NULL, buf, sizeof buf) == 0,
		    "%s.%s: its template expands", sc->table, sc->column);
		if (strcmp(sc->table, "velociraptor_configs") == 0) {
			vr = 1;
			is_str(buf, "T1|velociraptor|client_private_key",
			    "the Velociraptor key's associated data (migration 3)");
		}
	}
	ok(vr, "the registry holds the Velociraptor key column");
	return done_testing();
}
