/* SPDX-License-Identifier: MIT */
/*
 * f_tmpl.c - the layout language of report templates (lib/report/tmpl.c),
 * which renders a tenant's own layouts.
 *
 * Invariants: rendering succeeds exactly when the check does (one
 * parser); and no value of the data reaches the output unescaped: the
 * same template over data of the same shape whose strings hold '<', '>'
 * and '"' and over data whose strings hold none of them makes outputs
 * with as many of each (a value's markup would add some).
 */
#include <stdlib.h>
#include <string.h>

#include "report/tmpl.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static vc_ctx ctx;
	static jv d, plain, charts;
	static int ready;
	char *tpl, *out = NULL;
	size_t n = 0;
	int checked, rendered;

	if (!ready) {
		vc_ctx_init(&ctx);
		d = jv_parse("{\"a\":\"<evil a>\",\"b\":{\"c\":\"<\\\"c>\",\"l\":[\"<b>1\",{\"a\":\"<i>\"}]},"
		    "\"t\":true,\"f\":false,\"n\":3,\"e\":[],\"o\":{\"x\":\">x<\"}}");
		plain = jv_parse("{\"a\":\"evil a\",\"b\":{\"c\":\"c\",\"l\":[\"b1\",{\"a\":\"i\"}]},"
		    "\"t\":true,\"f\":false,\"n\":3,\"e\":[],\"o\":{\"x\":\"x\"}}");
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
		char *out2 = NULL;
		size_t n2 = 0;
		check(out != NULL && strlen(out) == n);
		check(vc_tmpl_render(&ctx, "f", tpl, plain, charts, &out2, &n2) == 0);
		for (const char *c = "<>\""; *c; c++) {
			size_t k1 = 0, k2 = 0;
			for (size_t i = 0; i < n; i++)
				k1 += out[i] == *c;
			for (size_t i = 0; i < n2; i++)
				k2 += out2[i] == *c;
			check(k1 == k2);
		}
		free(out2);
	}
	free(out);
	free(tpl);
	return 0;
}
