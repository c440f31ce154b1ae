/* SPDX-License-Identifier: MIT */
/*
 * sigma_yaml.c - YAML documents to jv, with the YAML 1.2 core schema for
 * plain scalars (null, booleans, numbers) and quoted scalars always
 * strings, which is what Sigma values need: 'null' quoted is text, null
 * plain is "no value".  Aliases are followed with a budget so that an
 * alias bomb fails instead of eating memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "sigma/internal.h"

#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 200000   /* converted nodes per document, aliases counted */

static int
all_digits(const char *s, size_t n, const char *set)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strchr(set, s[i]) == NULL || s[i] == '\0')
			return 0;
	return 1;
}

/* A plain scalar of the core schema's float or int form. */
static int
plain_number(const char *s, size_t n, double *out)
{
	char tmp[64];
	size_t i = 0;
	char *end;

	if (n == 0 || n >= sizeof tmp)
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (n > 2 && tmp[0] == '0' && (tmp[1] == 'x' || tmp[1] == 'o')) {
		int base = tmp[1] == 'x' ? 16 : 8;

		if (!all_digits(tmp + 2, n - 2, base == 16 ? "0123456789abcdefABCDEF" : "01234567"))
			return 0;
		errno = 0;
		*out = (double)strtoull(tmp + 2, &end, base);
		return errno == 0 && *end == '\0';
	}
	/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
	if (tmp[i] == '-' || tmp[i] == '+')
		i++;
	size_t d0 = i;
	while (tmp[i] >= '0' && tmp[i] <= '9')
		i++;
	size_t intd = i - d0, fracd = 0;
	if (tmp[i] == '.') {
		i++;
		size_t f0 = i;
		while (tmp[i] >= '0' && tmp[i] <= '9')
			i++;
		fracd = i - f0;
	}
	if (intd == 0 && fracd == 0)
		return 0;
	if (tmp[i] == 'e' || tmp[i] == 'E') {
		i++;
		if (tmp[i] == '-' || tmp[i] == '+')
			i++;
		size_t e0 = i;
		while (tmp[i] >= '0' && tmp[i] <= '9')
			i++;
		if (i == e0)
			return 0;
	}
	if (i != n)
		return 0;
	errno = 0;
	*out = strtod(tmp, &end);
	return errno == 0 && *end == '\0';
}

static jv
scalar(yaml_node_t *nd)
{
	const char *s = (const char *)nd->data.scalar.value;
	size_t n = nd->data.scalar.length;
	double d;

	if (nd->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return jv_string_sized(s, (int)n);
	if (n == 0 || (n == 1 && s[0] == '~') ||
	    (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4))))
		return jv_null();
	if (n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4)))
		return jv_true();
	if (n == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5)))
		return jv_false();
	if (plain_number(s, n, &d))
		return jv_number(d);
	return jv_string_sized(s, (int)n);
}

static jv
conv(yaml_document_t *doc, yaml_node_t *nd, int depth, long *budget, char *err, size_t errn)
{
	if (nd == NULL)
		return jv_null();
	if (depth > YAML_MAX_DEPTH || --*budget < 0) {
		snprintf(err, errn, "YAML nested too deeply or too many nodes (aliases?)");
		return jv_invalid();
	}
	switch (nd->type) {
	case YAML_SCALAR_NODE:
		return scalar(nd);
	case YAML_SEQUENCE_NODE: {
		jv a = jv_array();

		for (yaml_node_item_t *it = nd->data.sequence.items.start;
		    it < nd->data.sequence.items.top; it++) {
			jv v = conv(doc, yaml_document_get_node(doc, *it), depth + 1, budget, err, errn);

			if (!jv_is_valid(v)) {
				jv_free(a);
				return v;
			}
			a = jv_array_append(a, v);
		}
		return a;
	}
	case YAML_MAPPING_NODE: {
		jv o = jv_object();

		for (yaml_node_pair_t *p = nd->data.mapping.pairs.start;
		    p < nd->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);

			if (k == NULL || k->type != YAML_SCALAR_NODE) {
				snprintf(err, errn, "line %lu: a mapping key is not a scalar",
				    k ? (unsigned long)k->start_mark.line + 1 : 0UL);
				jv_free(o);
				return jv_invalid();
			}
			jv v = conv(doc, yaml_document_get_node(doc, p->value), depth + 1, budget, err, errn);
			if (!jv_is_valid(v)) {
				jv_free(o);
				return v;
			}
			/* Keys are text whatever their style: "1: x" is the key "1". */
			o = jv_object_set(o, jv_string_sized((const char *)k->data.scalar.value,
			    (int)k->data.scalar.length), v);
		}
		return o;
	}
	default:
		return jv_null();
	}
}

int
vc_sg_yaml_parse(const char *buf, size_t n, jv *docs, char *err, size_t errn)
{
	yaml_parser_t p;
	jv out = jv_array();
	int rc = 0;

	if (!yaml_parser_initialize(&p)) {
		snprintf(err, errn, "out of memory");
		jv_free(out);
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, n);
	for (;;) {
		yaml_document_t d;

		if (!yaml_parser_load(&p, &d)) {
			snprintf(err, errn, "YAML line %lu: %s%s%s",
			    (unsigned long)p.problem_mark.line + 1,
			    p.problem ? p.problem : "syntax error",
			    p.context ? " " : "", p.context ? p.context : "");
			rc = -1;
			break;
		}
		yaml_node_t *root = yaml_document_get_root_node(&d);
		if (root == NULL) {             /* the end of the stream */
			yaml_document_delete(&d);
			break;
		}
		long budget = YAML_MAX_NODES;
		jv v = conv(&d, root, 0, &budget, err, errn);
		yaml_document_delete(&d);
		if (!jv_is_valid(v)) {
			rc = -1;
			break;
		}
		out = jv_array_append(out, v);
	}
	yaml_parser_delete(&p);
	if (rc != 0) {
		jv_free(out);
		return rc;
	}
	*docs = out;
	return 0;
}
