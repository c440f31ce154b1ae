/* SPDX-License-Identifier: MIT */
/*
 * sigma_index.c - the prefilter that keeps an event from being tested
 * against every rule.
 *
 * For each rule we look for a necessary condition of the form "field F
 * contains literal L" (or an OR of such): if the rule can match, one of
 * its literals occurs in the lowercased string form of its field.  A rule
 * without one (a lone regex, a null test, a condition that is true when
 * something is absent) is evaluated for every event.  Per field, all
 * literals go into one Aho-Corasick automaton (a DFA over byte classes),
 * so an event's value is scanned once whatever the number of rules.
 *
 * Soundness rests on two facts: every string test of sigma_match.c needs
 * its literal runs to occur in the value it compares (lowercased, unless
 * cased, and lowercasing both sides keeps an occurrence), and a missing
 * field fails every string test.  t_sigma and t_sigma_regression compare
 * results with the index on and off.
 */
#include <stdlib.h>
#include <string.h>

#include "sigma/internal.h"

#define MAX_RULE_LITS 4096      /* alternatives of one rule before giving up */
#define LIT_MAX 24              /* literal bytes kept for the automaton */

struct lit {
	int field;
	const unsigned char *s;         /* lowercase */
	size_t n;
};

/* An OR of literals: one of them occurs if the rule can match. */
struct clause {
	int n, cap;
	struct lit *l;
	double cost;
};

/*
 * What a node needs: every clause (at most two are kept, the cheapest)
 * holds if the node is true.  ok 0: nothing usable was found.
 */
struct req {
	int ok, nc;
	struct clause c[2];
};

struct pat {
	int nrules;
	int *rules;                     /* rule * 2 + clause */
};

struct ixf {
	int field;
	int nstates, nclass;
	uint16_t cls[256];
	int32_t *delta;                 /* nstates * nclass */
	int32_t *out;                   /* pattern ending in the state, or -1 */
	int32_t *dict;                  /* next state on the fail chain with an output, or -1 */
	int npat;
	struct pat *pat;
	/* The logsource guards of the rules with literals here (-1: a rule
	 * has none): an event that passes none of them is not scanned. */
	int nguards;
	int *guards;
};

struct vc_sg_index {
	struct vc_sg_arena arena;       /* literals and rule lists */
	int nf;
	struct ixf *f;
	int indexed, always, literals;
	long states;
};

/* ---- necessary literals ---- */

static double
lit_cost(size_t n)
{
	/* Short literals occur everywhere: prefer long ones. */
	return 1.0 / ((double)n * (double)n);
}

static void
clause_free(struct clause *c)
{
	free(c->l);
	memset(c, 0, sizeof *c);
}

static void
req_none(struct req *r)
{
	for (int i = 0; i < r->nc; i++)
		clause_free(&r->c[i]);
	memset(r, 0, sizeof *r);
}

static int
clause_add(struct clause *c, int field, const unsigned char *s, size_t n)
{
	if (c->n == MAX_RULE_LITS)
		return -1;
	if (c->n == c->cap) {
		int nc = c->cap ? c->cap * 2 : 8;
		struct lit *p = realloc(c->l, sizeof *p * (size_t)nc);

		if (p == NULL)
			return -1;
		c->l = p;
		c->cap = nc;
	}
	c->l[c->n].field = field;
	c->l[c->n].s = s;
	c->l[c->n++].n = n;
	c->cost += lit_cost(n);
	return 0;
}

/* dst |= src (src kept). */
static int
clause_union(struct clause *dst, const struct clause *src)
{
	for (int i = 0; i < src->n; i++)
		if (clause_add(dst, src->l[i].field, src->l[i].s, src->l[i].n) < 0)
			return -1;
	return 0;
}

/* r = r AND o (o consumed): the two cheapest clauses of both. */
static void
req_and(struct req *r, struct req *o)
{
	struct clause all[4];
	int n = 0;

	if (!o->ok)
		return;
	if (!r->ok) {
		*r = *o;
		memset(o, 0, sizeof *o);
		return;
	}
	for (int i = 0; i < r->nc; i++)
		all[n++] = r->c[i];
	for (int i = 0; i < o->nc; i++)
		all[n++] = o->c[i];
	for (int i = 1; i < n; i++)             /* insertion sort by cost */
		for (int j = i; j > 0 && all[j].cost < all[j - 1].cost; j--) {
			struct clause t = all[j];

			all[j] = all[j - 1];
			all[j - 1] = t;
		}
	r->nc = n < 2 ? n : 2;
	for (int i = 0; i < r->nc; i++)
		r->c[i] = all[i];
	for (int i = r->nc; i < n; i++)
		clause_free(&all[i]);
	memset(o, 0, sizeof *o);
}

/*
 * r = r OR o (o consumed).  (A1 and A2) or (B1 and B2) implies
 * (A1 or B1) and (A2 or B2); a side with one clause uses it twice.
 */
static void
req_or(struct req *r, struct req *o)
{
	struct req x = { 0 };
	int nc;

	if (!r->ok || !o->ok) {
		req_none(r);
		req_none(o);
		return;
	}
	nc = r->nc > o->nc ? r->nc : o->nc;
	x.ok = 1;
	x.nc = nc;
	for (int j = 0; j < nc; j++)
		if (clause_union(&x.c[j], &r->c[j < r->nc ? j : r->nc - 1]) < 0 ||
		    clause_union(&x.c[j], &o->c[j < o->nc ? j : o->nc - 1]) < 0) {
			req_none(&x);
			break;
		}
	req_none(r);
	req_none(o);
	*r = x;
}

/* The literal a test needs, lowercased into the index arena; 0: none. */
static int
m_lit(struct vc_sg_index *ix, const struct vc_sg_m *m, const unsigned char **s, size_t *n)
{
	const unsigned char *p = NULL;
	size_t pn = 0;
	unsigned char *low;

	switch (m->kind) {
	case SG_EQ:
	case SG_PREFIX:
	case SG_SUFFIX:
	case SG_CONTAINS:
		p = m->s;
		pn = m->n;
		break;
	case SG_GLOB:
		for (int i = 0; i < m->ntok; i++)
			if (m->tok[i].t == SG_TOK_LIT && m->tok[i].n > pn) {
				p = m->tok[i].s;
				pn = m->tok[i].n;
			}
		break;
	default:
		return 0;
	}
	if (pn == 0)
		return 0;
	/* The tail of a long literal: for paths and flags the most telling. */
	if (pn > LIT_MAX) {
		p += pn - LIT_MAX;
		pn = LIT_MAX;
	}
	if ((low = vc_sg_alloc(&ix->arena, pn + 1)) == NULL)
		return 0;
	for (size_t i = 0; i < pn; i++)
		low[i] = p[i] >= 'A' && p[i] <= 'Z' ? (unsigned char)(p[i] + 32) : p[i];
	*s = low;
	*n = pn;
	return 1;
}

/* One value (its variants): a clause, or 0 when one variant has none. */
static int
group_clause(struct vc_sg_index *ix, const struct vc_sg_item *it, const struct vc_sg_group *g,
    struct clause *c)
{
	memset(c, 0, sizeof *c);
	for (int j = 0; j < g->n; j++) {
		const unsigned char *s;
		size_t n;

		if (!m_lit(ix, &g->m[j], &s, &n) || clause_add(c, it->field, s, n) < 0) {
			clause_free(c);
			return 0;
		}
	}
	return 1;
}

static void
item_req(struct vc_sg_index *ix, const struct vc_sg_item *it, struct req *out)
{
	memset(out, 0, sizeof *out);
	if (it->field < 0 || it->neg || it->n == 0)
		return;
	if (it->all) {
		/* Every value is needed: each one is a clause. */
		for (int g = 0; g < it->n; g++) {
			struct req one = { 0 };

			if (group_clause(ix, it, &it->g[g], &one.c[0])) {
				one.ok = 1;
				one.nc = 1;
				req_and(out, &one);
			}
		}
		return;
	}
	/* Any value will do: one clause of all their literals. */
	out->ok = 1;
	out->nc = 1;
	for (int g = 0; g < it->n; g++) {
		struct clause c;

		if (!group_clause(ix, it, &it->g[g], &c) || clause_union(&out->c[0], &c) < 0) {
			clause_free(&c);
			req_none(out);
			return;
		}
		clause_free(&c);
	}
}

static void
node_req(struct vc_sg_index *ix, const struct vc_sg_rule *r, const struct vc_sg_node *nd,
    struct req *out, int depth)
{
	memset(out, 0, sizeof *out);
	if (depth > 64)
		return;
	switch (nd->op) {
	case SG_N_ITEM:
		item_req(ix, nd->item, out);
		return;
	case SG_N_SEL:
		node_req(ix, r, r->sel[nd->sel], out, depth + 1);
		return;
	case SG_N_NOT:
		return;                 /* true when something is absent */
	case SG_N_AND:
		for (int i = 0; i < nd->n; i++) {
			struct req k;

			node_req(ix, r, nd->kid[i], &k, depth + 1);
			req_and(out, &k);
			req_none(&k);
		}
		return;
	case SG_N_OR:
		for (int i = 0; i < nd->n; i++) {
			struct req k;

			node_req(ix, r, nd->kid[i], &k, depth + 1);
			if (i == 0)
				*out = k;
			else
				req_or(out, &k);
			if (!out->ok)
				return;
		}
		return;
	}
}

/* ---- automata ---- */

struct entry {
	int field;
	const unsigned char *s;
	size_t n;
	int rule;                       /* rule * 2 + clause */
};

static int
cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t m = x->n < y->n ? x->n : y->n;
	int c;

	if (x->field != y->field)
		return x->field < y->field ? -1 : 1;
	if ((c = memcmp(x->s, y->s, m)) != 0)
		return c;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* Build one field's automaton from its entries e[0..n), sorted. */
static int
build_field(struct vc_sg_index *ix, struct ixf *f, const struct entry *e, int n)
{
	int npat = 0, cap, ns = 1, *queue = NULL, rc = -1;
	int32_t *fail = NULL;

	/* Patterns: runs of equal literals. */
	for (int i = 0; i < n; i++)
		if (i == 0 || e[i].n != e[i - 1].n || memcmp(e[i].s, e[i - 1].s, e[i].n) != 0)
			npat++;
	f->pat = vc_sg_alloc(&ix->arena, sizeof *f->pat * (size_t)npat);
	if (f->pat == NULL)
		return -1;
	memset(f->cls, 0, sizeof f->cls);
	f->nclass = 1;
	for (int i = 0; i < n; i++)
		for (size_t k = 0; k < e[i].n; k++)
			if (f->cls[e[i].s[k]] == 0)
				f->cls[e[i].s[k]] = (uint16_t)f->nclass++;
	/* States: at most one per literal byte, plus the root. */
	cap = 1;
	for (int i = 0; i < n; i++)
		cap += (int)e[i].n;
	f->delta = malloc(sizeof *f->delta * (size_t)cap * (size_t)f->nclass);
	f->out = malloc(sizeof *f->out * (size_t)cap);
	f->dict = malloc(sizeof *f->dict * (size_t)cap);
	fail = malloc(sizeof *fail * (size_t)cap);
	queue = malloc(sizeof *queue * (size_t)cap);
	if (!f->delta || !f->out || !f->dict || !fail || !queue)
		goto out;
	for (size_t i = 0; i < (size_t)cap * (size_t)f->nclass; i++)
		f->delta[i] = -1;
	for (int i = 0; i < cap; i++)
		f->out[i] = f->dict[i] = -1;

	/* The trie, one pattern per run of equal literals. */
	for (int i = 0, p = -1; i < n; i++) {
		if (i == 0 || e[i].n != e[i - 1].n || memcmp(e[i].s, e[i - 1].s, e[i].n) != 0) {
			int s = 0, j = i;

			p++;
			while (j < n && e[j].n == e[i].n && memcmp(e[j].s, e[i].s, e[i].n) == 0)
				j++;
			f->pat[p].rules = vc_sg_alloc(&ix->arena, sizeof(int) * (size_t)(j - i));
			if (f->pat[p].rules == NULL)
				goto out;
			for (int k = i; k < j; k++)
				if (k == i || e[k].rule != e[k - 1].rule)
					f->pat[p].rules[f->pat[p].nrules++] = e[k].rule;
			for (size_t k = 0; k < e[i].n; k++) {
				int32_t *d = &f->delta[(size_t)s * (size_t)f->nclass + f->cls[e[i].s[k]]];

				if (*d < 0)
					*d = ns++;
				s = *d;
			}
			f->out[s] = p;
		}
	}
	f->npat = npat;
	f->nstates = ns;

	/* Failure links breadth first, and the missing edges filled in
	 * (the automaton becomes a DFA). */
	int qh = 0, qt = 0;
	fail[0] = 0;
	for (int c = 0; c < f->nclass; c++) {
		int32_t *d = &f->delta[c];

		if (*d < 0)
			*d = 0;
		else {
			fail[*d] = 0;
			queue[qt++] = *d;
		}
	}
	while (qh < qt) {
		int u = queue[qh++];

		for (int c = 0; c < f->nclass; c++) {
			int32_t *d = &f->delta[(size_t)u * (size_t)f->nclass + c];
			int32_t via = f->delta[(size_t)fail[u] * (size_t)f->nclass + c];

			if (*d < 0)
				*d = via;
			else {
				fail[*d] = via;
				f->dict[*d] = f->out[via] >= 0 ? via : f->dict[via];
				queue[qt++] = *d;
			}
		}
	}
	ix->states += ns;
	rc = 0;
out:
	free(fail);
	free(queue);
	return rc;
}

void
vc_sg_index_free(struct vc_sg_index *ix)
{
	if (ix == NULL)
		return;
	for (int i = 0; i < ix->nf; i++) {
		free(ix->f[i].delta);
		free(ix->f[i].out);
		free(ix->f[i].dict);
	}
	free(ix->f);
	vc_sg_arena_free(&ix->arena);
	free(ix);
}

/* The distinct guards of the rules of n entries of one field, into f. */
static int
field_guards(struct vc_sg_index *ix, const struct vc_sigma_set *set, struct ixf *f,
    const struct entry *e, int n)
{
	f->nguards = 0;
	if ((f->guards = vc_sg_alloc(&ix->arena, sizeof *f->guards * (size_t)n)) == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		int g = set->rules[e[i].rule / 2]->guard, k;

		if (g < 0) {
			f->nguards = -1;
			return 0;
		}
		for (k = 0; k < f->nguards && f->guards[k] != g; k++)
			;
		if (k == f->nguards)
			f->guards[f->nguards++] = g;
	}
	return 0;
}

int
vc_sg_index_build(struct vc_sigma_set *set)
{
	struct vc_sg_index *ix = calloc(1, sizeof *ix);
	struct entry *e = NULL;
	size_t ne = 0, cape = 0;
	int rc = -1;

	if (ix == NULL)
		return -1;
	vc_sg_arena_init(&ix->arena, NULL, 0);
	free(set->always);
	free(set->always_bits);
	free(set->single_bits);
	set->always_bits = calloc(((size_t)set->nrules + 63) / 64 + 1, sizeof *set->always_bits);
	set->single_bits = calloc(((size_t)set->nrules + 63) / 64 + 1, sizeof *set->single_bits);
	set->always = calloc((size_t)set->nrules + 1, 1);
	if (set->always == NULL || set->always_bits == NULL || set->single_bits == NULL)
		goto out;
	for (int i = 0; i < set->nrules; i++) {
		const struct vc_sg_rule *r = set->rules[i];
		struct req q;

		node_req(ix, r, r->cond, &q, 0);
		if (!q.ok) {
			set->always[i] = 1;
			set->always_bits[i / 64] |= (uint64_t)1 << (i % 64);
			ix->always++;
			req_none(&q);
			continue;
		}
		ix->indexed++;
		/* With one clause, the second counts as met. */
		if (q.nc == 1)
			set->single_bits[i / 64] |= (uint64_t)1 << (i % 64);
		for (int cl = 0; cl < q.nc; cl++)
		for (int k = 0; k < q.c[cl].n; k++) {
			if (ne == cape) {
				size_t nc = cape ? cape * 2 : 1024;
				struct entry *p = realloc(e, sizeof *p * nc);

				if (p == NULL) {
					req_none(&q);
					goto out;
				}
				e = p;
				cape = nc;
			}
			e[ne].field = q.c[cl].l[k].field;
			e[ne].s = q.c[cl].l[k].s;
			e[ne].n = q.c[cl].l[k].n;
			e[ne++].rule = i * 2 + cl;
		}
		req_none(&q);
	}
	if (ne > 0)
		qsort(e, ne, sizeof *e, cmp_entry);
	for (size_t i = 0; i < ne;) {
		size_t j = i;

		while (j < ne && e[j].field == e[i].field)
			j++;
		struct ixf *p = realloc(ix->f, sizeof *p * (size_t)(ix->nf + 1));
		if (p == NULL)
			goto out;
		ix->f = p;
		memset(&ix->f[ix->nf], 0, sizeof *ix->f);
		ix->f[ix->nf].field = e[i].field;
		if (field_guards(ix, set, &ix->f[ix->nf], e + i, (int)(j - i)) < 0)
			goto out;
		if (build_field(ix, &ix->f[ix->nf++], e + i, (int)(j - i)) < 0)
			goto out;
		ix->literals += ix->f[ix->nf - 1].npat;
		i = j;
	}
	vc_sg_index_free(set->index);
	set->index = ix;
	ix = NULL;
	rc = 0;
out:
	free(e);
	vc_sg_index_free(ix);
	return rc;
}

static void
mark(const struct ixf *f, int32_t s, uint64_t *const bits[2])
{
	for (int32_t t = f->out[s] >= 0 ? s : f->dict[s]; t > 0; t = f->dict[t]) {
		const struct pat *p = &f->pat[f->out[t]];

		for (int k = 0; k < p->nrules; k++) {
			int rule = p->rules[k] >> 1;

			bits[p->rules[k] & 1][rule / 64] |= (uint64_t)1 << (rule % 64);
		}
	}
}

void
vc_sg_index_scan(struct vc_sg_ev *ev, const struct vc_sg_index *ix, uint64_t *const bits[2])
{
	for (int i = 0; i < ix->nf; i++) {
		const struct ixf *f = &ix->f[i];
		struct vc_sg_slot *slot;
		int g = 0;

		/* Rules only of log sources this event is not from: skipped
		 * (vc_sg_rule_eval would refuse them by their guard anyway). */
		if (f->nguards >= 0) {
			while (g < f->nguards && !vc_sg_guard_pass(ev, f->guards[g]))
				g++;
			if (g == f->nguards)
				continue;
		}
		slot = vc_sg_resolve(ev, f->field);
		if (slot->st != SG_PRESENT)
			continue;
		for (int k = 0; k < slot->n; k++) {
			const unsigned char *s = (const unsigned char *)vc_sg_low(ev, &slot->v[k]);
			size_t n = slot->v[k].n;
			int32_t st = 0;

			for (size_t j = 0; j < n; j++) {
				st = f->delta[(size_t)st * (size_t)f->nclass + f->cls[s[j]]];
				if (f->out[st] >= 0 || f->dict[st] >= 0)
					mark(f, st, bits);
			}
		}
	}
}

void
vc_sg_index_stats(const struct vc_sg_index *ix, struct vc_sigma_stats *st)
{
	st->indexed = ix->indexed;
	st->always = ix->always;
	st->fields_indexed = ix->nf;
	st->literals = ix->literals;
	st->states = ix->states;
}
