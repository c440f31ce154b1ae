/* SPDX-License-Identifier: MIT */
/*
 * f_tmpl.c - the layout language of report templates (lib/report/tmpl.c),
 * which renders a tenant's own layouts.
 *
 * Invariants: rendering succeeds exactly when the check does (one
 * parser); and no value of the data reaches the output unescaped: the
 * data's strings all hold "<evil", so an output holding it came from the
 * data unless the template's own text has the word.
 */
#include <stdlib.h>
#include <string.h>

#include "report/tmpl.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static vc_ctx ctx;
	static jv d, charts;
	static int ready;
	char *tpl, *out = NULL;
	size_t n = 0;
	int checked, rendered;

	if (!ready) {
		vc_ctx_init(&ctx);
		d = jv_parse("{\"a\":\"<evil a>\",\"b\":{\"c\":\"<evil c>\",\"l\":[\"<evil 1>\",{\"a\":\"<evil 2>\"}]},"
		    "\"t\":true,\"f\":false,\"n\":3,\"e\":[],\"o\":{\"x\":\"<evil x>\"}}");
		charts = jv_parse("{\"c\":\"<svg></svg>\"}");
		ready = 1;
	}
	if (size > 4096)
		return 0;
	if ((tpl = malloc(size + 1)) == NULL)
		return 0;
	memcpy(tpl, data, size);
	tpl[size] = '\0';
	checked = vc_tmpl_check(&ctx, "f", tpl);
	rendered = vc_tmpl_render(&ctx, "f", tpl, d, charts, &out, &n);
	/* A chart the data lacks fails only the render. */
	check(checked != 0 ? rendered != 0 : (rendered == 0 || strstr(ctx.errmsg, "no chart") != NULL));
	if (rendered == 0) {
		check(out != NULL && strlen(out) == n);
		check(strstr(tpl, "evil") != NULL || strstr(out, "<evil") == NULL);
	}
	free(out);
	free(tpl);
	return 0;
}
