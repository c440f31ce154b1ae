/* SPDX-License-Identifier: MIT */
/*
 * openapi.c - the service describing itself: the OpenAPI 3.0 document
 * made from the operation table, and the small operations vc-serve
 * answers about itself (index, health, the document).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ops/ops.h"
#include "core/store.h"

/* ---- service operations ----------------------------------------------- */

int
vc_op_health(vc_ctx *ctx, jv args, jv *out)
{
	int v = ctx->store ? vc_store_version(ctx) : -1;

	*out = jv_object();
	*out = jv_object_set(*out, jv_string("status"), jv_string(v >= 0 ? "ok" : "degraded"));
	*out = jv_object_set(*out, jv_string("version"), jv_string(VC_VERSION));
	*out = jv_object_set(*out, jv_string("schema"), jv_number(v));
	return 0;
}

int
vc_op_index(vc_ctx *ctx, jv args, jv *out)
{
	*out = jv_object();
	*out = jv_object_set(*out, jv_string("name"), jv_string("VelociCompanion"));
	*out = jv_object_set(*out, jv_string("version"), jv_string(VC_VERSION));
	*out = jv_object_set(*out, jv_string("openapi"), jv_string("/openapi.json"));
	*out = jv_object_set(*out, jv_string("health"), jv_string("/health"));
	return 0;
}

int
vc_op_openapi(vc_ctx *ctx, jv args, jv *out)
{
	*out = vc_openapi();
	return 0;
}

/* ---- the document ------------------------------------------------------ */

static const char *const type_names[] = {
	[VC_T_STR] = "string", [VC_T_INT] = "integer", [VC_T_BOOL] = "boolean",
	[VC_T_TIME] = "string", [VC_T_DURATION] = "string", [VC_T_JSON] = "object",
};

/* A parameter's schema: its type, its choices as an enum, its help. */
static jv
param_schema(const struct vc_param *p)
{
	jv schema = JV_OBJECT(jv_string("type"), jv_string(type_names[p->type]));

	/* an object, or (as the first playbook API had it) its JSON text */
	if (p->type == VC_T_JSON) {
		jv_free(schema);
		schema = JV_OBJECT(jv_string("oneOf"), JV_ARRAY(JV_OBJECT(jv_string("type"),
		    jv_string("object")), JV_OBJECT(jv_string("type"), jv_string("string"))));
	}

	if (p->choices != NULL) {
		jv e = jv_array();
		char buf[256];
		snprintf(buf, sizeof buf, "%s", p->choices);
		for (char *s = buf, *bar; s; s = bar) {
			if ((bar = strchr(s, '|')) != NULL)
				*bar++ = '\0';
			e = jv_array_append(e, jv_string(s));
		}
		schema = jv_object_set(schema, jv_string("enum"), e);
	}
	return jv_object_set(schema, jv_string("description"), jv_string(p->help));
}

/*
 * Add op's parameters to o: route slots as path parameters; the others
 * as query parameters of a GET or DELETE, else as the properties of a
 * JSON request body.  CLI-only parameters are left out.
 */
static jv
add_params(jv o, const struct vc_op *op)
{
	jv params = jv_array(), props = jv_object(), req = jv_array();
	int has_body = strcmp(op->method, "GET") != 0 && strcmp(op->method, "DELETE") != 0;

	for (const struct vc_param *p = op->params; p && p->name; p++) {
		jv schema;
		if (p->flags & VC_P_CLI)
			continue;
		schema = param_schema(p);
		if ((p->flags & VC_P_PATH) || !has_body) {
			params = jv_array_append(params, JV_OBJECT(
			    jv_string("name"), jv_string(p->name),
			    jv_string("in"), jv_string(p->flags & VC_P_PATH ? "path" : "query"),
			    jv_string("required"), jv_bool(p->flags & (VC_P_PATH | VC_P_REQ)),
			    jv_string("schema"), schema));
		} else {
			props = jv_object_set(props, jv_string(p->name), schema);
			if (p->flags & VC_P_REQ)
				req = jv_array_append(req, jv_string(p->name));
		}
	}
	if (jv_array_length(jv_copy(params)) > 0)
		o = jv_object_set(o, jv_string("parameters"), params);
	else
		jv_free(params);
	if (has_body) {
		jv schema = JV_OBJECT(jv_string("type"), jv_string("object"),
		    jv_string("properties"), props);
		if (jv_array_length(jv_copy(req)) > 0)
			schema = jv_object_set(schema, jv_string("required"), req);
		else
			jv_free(req);
		o = jv_object_set(o, jv_string("requestBody"), JV_OBJECT(
		    jv_string("content"), JV_OBJECT(jv_string("application/json"),
		    JV_OBJECT(jv_string("schema"), schema))));
	} else {
		jv_free(props);
		jv_free(req);
	}
	return o;
}

/* One operation object of the document. */
static jv
operation(const struct vc_op *op)
{
	jv o = jv_object(), responses = jv_object();

	o = jv_object_set(o, jv_string("operationId"), jv_string(op->name));
	o = jv_object_set(o, jv_string("summary"), jv_string(op->summary));
	o = jv_object_set(o, jv_string("x-min-role"), jv_string(vc_role_name(op->min_role)));
	if (!(op->flags & VC_OP_PUBLIC))
		o = jv_object_set(o, jv_string("security"),
		    JV_ARRAY(JV_OBJECT(jv_string("bearer"), jv_array())));
	o = add_params(o, op);
	responses = jv_object_set(responses, jv_string((op->flags & VC_OP_CREATES) ? "201" :
	    (op->flags & VC_OP_ACCEPTED) ? "202" : "200"),
	    JV_OBJECT(jv_string("description"), jv_string("success")));
	responses = jv_object_set(responses, jv_string("default"),
	    JV_OBJECT(jv_string("description"), jv_string("error: {error, message}")));
	return jv_object_set(o, jv_string("responses"), responses);
}

jv
vc_openapi(void)
{
	jv paths = jv_object();

	for (const struct vc_op *op = vc_ops; op->name; op++) {
		jv pathobj;
		char method[8];

		if (op->method == NULL)
			continue;
		snprintf(method, sizeof method, "%s", op->method);
		for (char *m = method; *m; m++)
			*m = (char)tolower((unsigned char)*m);
		pathobj = jv_object_get(jv_copy(paths), jv_string(op->path));
		if (!jv_is_valid(pathobj)) {
			jv_free(pathobj);
			pathobj = jv_object();
		}
		pathobj = jv_object_set(pathobj, jv_string(method), operation(op));
		paths = jv_object_set(paths, jv_string(op->path), pathobj);
	}
	return JV_OBJECT(
	    jv_string("openapi"), jv_string("3.0.3"),
	    jv_string("info"), JV_OBJECT(jv_string("title"), jv_string("VelociCompanion"),
		jv_string("version"), jv_string(VC_VERSION)),
	    jv_string("paths"), paths,
	    jv_string("components"), JV_OBJECT(jv_string("securitySchemes"),
		JV_OBJECT(jv_string("bearer"), JV_OBJECT(jv_string("type"), jv_string("http"),
		    jv_string("scheme"), jv_string("bearer")))));
}
