/* SPDX-License-Identifier: MIT */
/*
 * t_allowlist.c - artifact names as Velociraptor takes them, and the
 * built-in collect allow-list: sorted, each once, each a valid name, and
 * nothing on it that runs, removes or uploads.  (Who may collect what is
 * tried end to end in tests/cli/41-hunt.t and 42-hunt-http.t.)
 */
#include <stdio.h>
#include <string.h>

#include "allowlist.h"
#include "tap.h"

int
main(void)
{
	static const char *const good[] = {
		"Generic.Client.Info", "Windows.System.Pslist", "Custom_1.My_Art2", "_x", "A", NULL
	};
	static const struct { const char *name, *says; } bad[] = {
		{ "", "is empty" },
		{ "Windows.7zip", "starts with a digit at 'Windows.7'" },
		{ "9Lives", "starts with a digit at '9'" },
		{ "Windows..Pslist", "an empty part at 'Windows..'" },
		{ ".Pslist", "an empty part at '.'" },
		{ "Pslist.", "an empty part at 'Pslist.'" },
		{ "Windows.System.Pslist' OR 1", "''' after 'Windows.System.Pslist'" },
		{ "Win-dows", "'-' after 'Win'" },
		{ "Win/dows", "'/' after 'Win'" },
		{ "A\nB", "byte 0x0a after 'A'" },
		{ "\xc3\x9c" "ber", "byte 0xc3 after ''" },
		{ NULL, NULL }
	};
	char longest[VC_ARTIFACT_NAME_MAX + 2];
	vc_ctx ctx;
	int n = 0, sorted = 1, valid = 1, tame = 1;

	vc_ctx_init(&ctx);
	for (int i = 0; good[i]; i++)
		is_int(vc_artifact_name_check(&ctx, good[i]), 0, "'%s' is an artifact name", good[i]);
	for (int i = 0; bad[i].name; i++) {
		is_int(vc_artifact_name_check(&ctx, bad[i].name), VC_EUSAGE, "bad name %d is refused", i);
		ok(strstr(ctx.errmsg, bad[i].says) != NULL, "... saying %s: %s", bad[i].says, ctx.errmsg);
	}
	ok(strchr(ctx.errmsg, '\n') == NULL, "a message never carries the name's control bytes");
	memset(longest, 'A', sizeof longest - 1);
	longest[VC_ARTIFACT_NAME_MAX] = '\0';
	is_int(vc_artifact_name_check(&ctx, longest), 0, "%d characters are allowed", VC_ARTIFACT_NAME_MAX);
	longest[VC_ARTIFACT_NAME_MAX] = 'A';
	longest[VC_ARTIFACT_NAME_MAX + 1] = '\0';
	is_int(vc_artifact_name_check(&ctx, longest), VC_EUSAGE, "one more is refused");

	for (const char *const *d = vc_allowlist_default; *d; d++, n++) {
		valid &= vc_artifact_name_check(&ctx, *d) == 0;
		if (d != vc_allowlist_default)
			sorted &= strcmp(d[-1], *d) < 0;    /* sorted, and so each once */
		tame &= strstr(*d, "Remediation") == NULL && strstr(*d, "Shell") == NULL &&
		    strstr(*d, "Upload") == NULL && strstr(*d, "Collectors") == NULL;
	}
	ok(n >= 5 && n <= 20, "the default list is short: %d artifacts", n);
	ok(valid, "... each a valid name");
	ok(sorted, "... sorted in byte order (as the store sorts), each once");
	ok(tame, "... none a remediation, a shell, an upload or a collector");
	vc_ctx_release(&ctx);
	return done_testing();
}
