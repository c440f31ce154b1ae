/* SPDX-License-Identifier: MIT */
/*
 * sigma_match.c - evaluating compiled Sigma rules against one event:
 * finding each field's value through the map (once per event), the
 * tests of every value type, the condition tree, and the evidence of
 * what matched.
 *
 * Three states of a field are kept apart, as the specification asks:
 * missing or JSON null (matches only null and exists: false), present
 * and empty, present with a value.  Values are compared as their string
 * form: JSON strings as they are, numbers as their shortest decimal
 * text, booleans as "true"/"false"; an array matches when one of its
 * elements does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "sigma/internal.h"

#define MAX_ARRAY_VALUES 4096   /* elements of one field used for matching */
#define MAX_KW_VALUES 65536     /* scalars of one event searched by keywords */
#define MAX_KW_DEPTH 32

void
vc_sg_ev_init(struct vc_sg_ev *ev, const struct vc_sigma_set *set, jv event,
    void *scratch, size_t n, struct vc_sg_slot *slots, signed char *guards,
    uint8_t *root_st, jv *root_val)
{
	memset(ev, 0, sizeof *ev);
	ev->set = set;
	ev->event = event;
	ev->slot = slots;
	ev->guard = guards;
	ev->hdr = -1;
	ev->root_st = root_st;
	ev->root_val = root_val;
	/* Only the state bytes: a slot or root is read after it is set. */
	for (int i = 0; i < set->nfields; i++)
		slots[i].st = SG_UNRESOLVED;
	memset(root_st, 0, (size_t)set->nroots);
	memset(guards, -1, (size_t)set->nguards);
	vc_sg_arena_init(&ev->arena, scratch, n);
	ev->kw_n = -1;
}

void
vc_sg_ev_release(struct vc_sg_ev *ev)
{
	for (int i = 0; i < ev->set->nfields; i++)
		if (ev->slot[i].st != SG_UNRESOLVED)
			jv_free(ev->slot[i].val);
	for (int i = 0; i < ev->set->nroots; i++)
		if (ev->root_st[i] == 2)
			jv_free(ev->root_val[i]);
	for (int i = 0; i < ev->nevd; i++)
		jv_free(ev->evd[i].val);
	free(ev->evd);
	if (ev->md != NULL)
		pcre2_match_data_free(ev->md);
	vc_sg_arena_free(&ev->arena);
}

/* ---- field values ---- */

/*
 * The value at path (new reference), or invalid when it is not there.
 * The first step comes from the per-event cache of roots: most paths
 * start with the same few keys, and most of those are absent.
 */
static jv
walk(struct vc_sg_ev *ev, const struct vc_sg_path *p)
{
	jv v;
	int r = p->root;

	if (p->n == 0)
		return jv_copy(ev->event);
	if (ev->root_st[r] == 0) {
		jv x = jv_get_kind(ev->event) == JV_KIND_OBJECT ?
		    jv_object_get(jv_copy(ev->event), jv_copy(p->key[0])) : jv_invalid();

		ev->root_st[r] = jv_is_valid(x) ? 2 : 1;
		ev->root_val[r] = x;
	}
	if (ev->root_st[r] == 1)
		return jv_invalid();
	v = jv_copy(ev->root_val[r]);
	for (int i = 1; i < p->n; i++) {
		if (jv_get_kind(v) != JV_KIND_OBJECT) {
			jv_free(v);
			return jv_invalid();
		}
		v = jv_object_get(v, jv_copy(p->key[i]));
		if (!jv_is_valid(v))
			return v;
	}
	return v;
}

/* Shortest decimal text of a JSON number, as rules write numbers. */
static size_t
num_fmt(double d, char *buf, size_t n)
{
	int k;

	if (d == floor(d) && fabs(d) < 1e15 && n >= 21 && !(d == 0 && signbit(d)))
		return vc_fmt_i64(buf, (int64_t)d);
	if (d == floor(d) && fabs(d) < 1e15)
		k = snprintf(buf, n, "%.0f", d);
	else {
		k = snprintf(buf, n, "%.15g", d);
		if (strtod(buf, NULL) != d)
			k = snprintf(buf, n, "%.17g", d);
	}
	return k < 0 ? 0 : (size_t)k >= n ? n - 1 : (size_t)k;
}

/* The string form of a scalar (borrowed x, kept alive by the slot). */
static int
scalar_sv(struct vc_sg_ev *ev, jv x, struct vc_sg_sv *sv)
{
	char t[40];
	size_t n;

	memset(sv, 0, sizeof *sv);
	switch (jv_get_kind(x)) {
	case JV_KIND_STRING:
		sv->s = jv_string_value(x);
		sv->n = (size_t)jv_string_length_bytes(jv_copy(x));
		return 1;
	case JV_KIND_NUMBER:
		sv->num = jv_number_value(x);
		sv->isnum = 1;
		n = num_fmt(sv->num, t, sizeof t);
		if ((sv->s = vc_sg_strndup(&ev->arena, t, n)) == NULL) {
			ev->oom = 1;
			return 0;
		}
		sv->n = n;
		sv->low = sv->s;
		return 1;
	case JV_KIND_TRUE:
	case JV_KIND_FALSE:
		sv->isbool = 1;
		sv->s = sv->low = jv_get_kind(x) == JV_KIND_TRUE ? "true" : "false";
		sv->n = strlen(sv->s);
		return 1;
	default:
		return 0;
	}
}

/* A computed value: the parts found, each after its prefix, joined. */
static int
join_value(struct vc_sg_ev *ev, const struct vc_sg_cand *c, struct vc_sg_slot *slot)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int found = 0;

	for (int pass = 0; pass < 2; pass++) {
		len = 0;
		for (int i = 0; i < c->nparts; i++) {
			jv v = walk(ev, &c->part[i].path);
			struct vc_sg_sv sv;

			if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL && scalar_sv(ev, v, &sv)) {
				if (pass == 1) {
					if (len > 0) {
						memcpy(buf + len, c->sep, c->seplen);
						len += c->seplen;
					}
					memcpy(buf + len, c->part[i].prefix, c->part[i].plen);
					len += c->part[i].plen;
					memcpy(buf + len, sv.s, sv.n);
					len += sv.n;
				} else {
					cap += c->seplen + c->part[i].plen + sv.n;
					found = 1;
				}
			}
			jv_free(v);
		}
		if (!found)
			return 0;
		if (pass == 0 && (buf = vc_sg_alloc(&ev->arena, cap + 1)) == NULL) {
			ev->oom = 1;
			return 0;
		}
	}
	slot->v = vc_sg_alloc(&ev->arena, sizeof *slot->v);
	if (slot->v == NULL) {
		ev->oom = 1;
		return 0;
	}
	slot->v->s = buf;
	slot->v->n = len;
	slot->n = 1;
	slot->st = SG_PRESENT;
	slot->val = jv_string_sized(buf, (int)len);
	return 1;
}

struct vc_sg_slot *
vc_sg_resolve(struct vc_sg_ev *ev, int field)
{
	struct vc_sg_slot *slot = &ev->slot[field];
	const struct vc_sg_field *f = &ev->set->fields[field];

	if (slot->st != SG_UNRESOLVED)
		return slot;
	slot->st = SG_MISSING;
	slot->val = jv_invalid();
	slot->n = 0;
	slot->v = NULL;
	for (int i = 0; i < f->ncand; i++) {
		const struct vc_sg_cand *c = &f->cand[i];
		jv v;

		if (c->nparts > 0) {
			if (join_value(ev, c, slot))
				return slot;
			continue;
		}
		v = walk(ev, &c->path);
		if (!jv_is_valid(v))
			continue;
		/* The first candidate that is there wins, even when null. */
		slot->val = v;
		switch (jv_get_kind(v)) {
		case JV_KIND_NULL:
			slot->st = SG_JNULL;
			break;
		case JV_KIND_OBJECT:
			slot->st = SG_PRESENT;      /* exists, but no string form */
			break;
		case JV_KIND_ARRAY: {
			int n = jv_array_length(jv_copy(v));

			if (n > MAX_ARRAY_VALUES)
				n = MAX_ARRAY_VALUES;
			slot->st = SG_PRESENT;
			slot->v = vc_sg_alloc(&ev->arena, sizeof *slot->v * (size_t)(n ? n : 1));
			if (slot->v == NULL) {
				ev->oom = 1;
				break;
			}
			for (int k = 0; k < n; k++) {
				jv e = jv_array_get(jv_copy(v), k);

				/* The array holds e, so its text outlives this ref. */
				if (scalar_sv(ev, e, &slot->v[slot->n]))
					slot->n++;
				jv_free(e);
			}
			break;
		}
		default:
			slot->st = SG_PRESENT;
			slot->v = vc_sg_alloc(&ev->arena, sizeof *slot->v);
			if (slot->v == NULL)
				ev->oom = 1;
			else if (scalar_sv(ev, v, slot->v))
				slot->n = 1;
			break;
		}
		return slot;
	}
	return slot;
}

const char *
vc_sg_low(struct vc_sg_ev *ev, struct vc_sg_sv *sv)
{
	size_t i;
	char *p;

	if (sv->low != NULL)
		return sv->low;
	for (i = 0; i < sv->n; i++)
		if (sv->s[i] >= 'A' && sv->s[i] <= 'Z')
			break;
	if (i == sv->n)
		return sv->low = sv->s;     /* nothing to fold */
	if ((p = vc_sg_alloc(&ev->arena, sv->n + 1)) == NULL) {
		ev->oom = 1;
		return sv->low = sv->s;
	}
	memcpy(p, sv->s, sv->n);
	for (; i < sv->n; i++)
		if (p[i] >= 'A' && p[i] <= 'Z')
			p[i] = (char)(p[i] + 32);
	return sv->low = p;
}

/* ---- tests ---- */

static size_t
cp_len(const unsigned char *s, size_t n)
{
	size_t k = s[0] < 0xC0 ? 1 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;

	return k > n ? n : k;
}

/*
 * '*' and '?' globs: the classic greedy match that backtracks to the
 * last '*' only, which is enough for these two wildcards.  '?' takes
 * one UTF-8 character.
 */
static int
glob(const struct vc_sg_tok *t, int nt, const unsigned char *s, size_t n)
{
	int ti = 0, star = -1;
	size_t si = 0, star_si = 0;

	for (;;) {
		if (ti < nt) {
			const struct vc_sg_tok *k = &t[ti];

			if (k->t == SG_TOK_STAR) {
				star = ti++;
				star_si = si;
				continue;
			}
			if (k->t == SG_TOK_ONE && si < n) {
				si += cp_len(s + si, n - si);
				ti++;
				continue;
			}
			if (k->t == SG_TOK_LIT && n - si >= k->n && memcmp(s + si, k->s, k->n) == 0) {
				si += k->n;
				ti++;
				continue;
			}
		} else if (si == n)
			return 1;
		if (star < 0 || star_si >= n)
			return 0;
		star_si += cp_len(s + star_si, n - star_si);
		si = star_si;
		ti = star + 1;
	}
}

static int
str_test(int kind, const unsigned char *p, size_t pn, const struct vc_sg_m *m,
    const char *h, size_t n)
{
	switch (kind) {
	case SG_EQ:
		return n == pn && memcmp(h, p, n) == 0;
	case SG_PREFIX:
		return n >= pn && memcmp(h, p, pn) == 0;
	case SG_SUFFIX:
		return n >= pn && memcmp(h + n - pn, p, pn) == 0;
	case SG_CONTAINS:
		return pn == 0 || memmem(h, n, p, pn) != NULL;
	case SG_GLOB:
		return glob(m->tok, m->ntok, (const unsigned char *)h, n);
	}
	return 0;
}

/* A decimal number, whole: "12", "-3.5", "1e3"; not "0x10" or "12ab". */
static int
sv_number(const struct vc_sg_sv *sv, double *out)
{
	char buf[64];
	char *end;
	size_t i = 0;

	if (sv->isnum) {
		*out = sv->num;
		return 1;
	}
	if (sv->isbool || sv->n == 0 || sv->n >= sizeof buf)
		return 0;
	memcpy(buf, sv->s, sv->n);
	buf[sv->n] = '\0';
	if (buf[i] == '-' || buf[i] == '+')
		i++;
	if (!((buf[i] >= '0' && buf[i] <= '9') || (buf[i] == '.' && buf[i + 1] >= '0' && buf[i + 1] <= '9')))
		return 0;
	for (size_t k = i; k < sv->n; k++)
		if (!strchr("0123456789.eE+-", buf[k]))
			return 0;
	errno = 0;
	*out = strtod(buf, &end);
	return errno == 0 && *end == '\0' && isfinite(*out);
}

static int
cidr_test(const struct vc_sg_m *m, const struct vc_sg_sv *sv)
{
	char buf[64];
	unsigned char a[16];
	const unsigned char *addr = a;
	size_t n = sv->n;
	const char *pct;

	if (sv->isnum || sv->isbool || n == 0 || n >= sizeof buf)
		return 0;
	memcpy(buf, sv->s, n);
	buf[n] = '\0';
	if ((pct = strchr(buf, '%')) != NULL)       /* fe80::1%eth0 */
		buf[pct - buf] = '\0';
	if (m->family == AF_INET) {
		if (inet_pton(AF_INET, buf, a) != 1) {
			static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };

			/* ::ffff:10.1.2.3 is 10.1.2.3 */
			if (inet_pton(AF_INET6, buf, a) != 1 || memcmp(a, mapped, 12) != 0)
				return 0;
			addr = a + 12;
		}
	} else if (inet_pton(AF_INET6, buf, a) != 1)
		return 0;
	for (int bit = 0; bit < m->prefix; bit += 8) {
		int keep = m->prefix - bit;
		unsigned char mask = keep >= 8 ? 0xFF : (unsigned char)(0xFF << (8 - keep));

		if ((addr[bit / 8] & mask) != m->net[bit / 8])
			return 0;
	}
	return 1;
}

static int
two_digits(const char *s, int *out)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return 0;
	*out = (s[0] - '0') * 10 + (s[1] - '0');
	return 1;
}

/* Date and time as written ("2024-12-10 08:40:37.250", RFC 3339), or
 * epoch seconds in UTC; no time-zone conversion, as the spec says. */
static int
sv_time(const struct vc_sg_sv *sv, struct tm *tm)
{
	memset(tm, 0, sizeof *tm);
	if (sv->isnum) {
		time_t t = (time_t)sv->num;

		return gmtime_r(&t, tm) != NULL;
	}
	const char *s = sv->s;
	int y1, y2, mo, d, h = 0, mi = 0, se = 0;
	if (sv->n < 10 || !two_digits(s, &y1) || !two_digits(s + 2, &y2) || s[4] != '-' ||
	    !two_digits(s + 5, &mo) || s[7] != '-' || !two_digits(s + 8, &d))
		return 0;
	if (sv->n >= 16 && (s[10] == 'T' || s[10] == 't' || s[10] == ' ')) {
		if (!two_digits(s + 11, &h) || s[13] != ':' || !two_digits(s + 14, &mi))
			return 0;
		if (sv->n >= 19 && s[16] == ':' && !two_digits(s + 17, &se))
			return 0;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return 0;
	tm->tm_year = y1 * 100 + y2 - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	tm->tm_hour = h;
	tm->tm_min = mi;
	tm->tm_sec = se;
	/* Normalise to get the weekday and day of the year for %V. */
	time_t t = timegm(tm);
	return gmtime_r(&t, tm) != NULL;
}

static int
time_test(const struct vc_sg_m *m, const struct vc_sg_sv *sv)
{
	struct tm tm;
	char wk[8];
	int v;

	if (!sv_time(sv, &tm))
		return 0;
	switch (m->op) {
	case SG_MINUTE: v = tm.tm_min; break;
	case SG_HOUR: v = tm.tm_hour; break;
	case SG_DAY: v = tm.tm_mday; break;
	case SG_MONTH: v = tm.tm_mon + 1; break;
	case SG_YEAR: v = tm.tm_year + 1900; break;
	default:
		/* ISO 8601 week of the year */
		if (strftime(wk, sizeof wk, "%V", &tm) == 0)
			return 0;
		v = (wk[0] - '0') * 10 + (wk[1] - '0');
		break;
	}
	return (double)v == m->num;
}

/*
 * A rule's regular expression is a caller's program too (rules come from
 * files today, from uploads tomorrow): every match runs with limits, so a
 * catastrophic pattern costs at most RE_MATCH_LIMIT steps per value and
 * then counts as no match.  PCRE2's own default is ten times higher.
 */
#define RE_MATCH_LIMIT 1000000
#define RE_DEPTH_LIMIT 10000
static pcre2_match_context *re_mctx;
static pthread_once_t re_once = PTHREAD_ONCE_INIT;

static void
re_limits(void)
{
	if ((re_mctx = pcre2_match_context_create(NULL)) != NULL) {
		pcre2_set_match_limit(re_mctx, RE_MATCH_LIMIT);
		pcre2_set_depth_limit(re_mctx, RE_DEPTH_LIMIT);
	}
}

static int
re_test(struct vc_sg_ev *ev, const struct vc_sg_m *m, const struct vc_sg_sv *sv)
{
	int rc;

	if (ev->md == NULL && (ev->md = pcre2_match_data_create(1, NULL)) == NULL) {
		ev->oom = 1;
		return 0;
	}
	pthread_once(&re_once, re_limits);
	if (re_mctx == NULL) {
		ev->oom = 1;
		return 0;
	}
	rc = pcre2_match(m->re, (PCRE2_SPTR)sv->s, sv->n, 0, 0, ev->md, re_mctx);
	return rc >= 0;
}

static int
fieldref_test(struct vc_sg_ev *ev, const struct vc_sg_m *m, struct vc_sg_slot *mine)
{
	struct vc_sg_slot *other = vc_sg_resolve(ev, m->field);

	if (other->st != SG_PRESENT)
		return 0;
	for (int i = 0; i < mine->n; i++) {
		struct vc_sg_sv *a = &mine->v[i];
		const char *h = m->cased ? a->s : vc_sg_low(ev, a);

		for (int j = 0; j < other->n; j++) {
			struct vc_sg_sv *b = &other->v[j];
			const char *p = m->cased ? b->s : vc_sg_low(ev, b);

			if (str_test(m->op, (const unsigned char *)p, b->n, m, h, a->n))
				return 1;
		}
	}
	return 0;
}

static int
sv_test(struct vc_sg_ev *ev, const struct vc_sg_m *m, struct vc_sg_sv *sv)
{
	double d;

	switch (m->kind) {
	case SG_EQ:
	case SG_PREFIX:
	case SG_SUFFIX:
	case SG_CONTAINS:
	case SG_GLOB:
		return str_test(m->kind, m->s, m->n, m, m->cased ? sv->s : vc_sg_low(ev, sv), sv->n);
	case SG_RE:
		return re_test(ev, m, sv);
	case SG_NUMEQ:
		if (sv_number(sv, &d))
			return d == m->num;
		return sv->n == m->n && memcmp(vc_sg_low(ev, sv), m->s, m->n) == 0;
	case SG_CMP:
		if (!sv_number(sv, &d))
			return 0;
		return m->op == SG_GT ? d > m->num : m->op == SG_GTE ? d >= m->num :
		    m->op == SG_LT ? d < m->num : d <= m->num;
	case SG_CIDR:
		return cidr_test(m, sv);
	case SG_TIME:
		return time_test(m, sv);
	}
	return 0;
}

static int
m_test(struct vc_sg_ev *ev, const struct vc_sg_m *m, struct vc_sg_slot *slot)
{
	switch (m->kind) {
	case SG_NULL:
		return slot->st == SG_MISSING || slot->st == SG_JNULL;
	case SG_EXISTS:
		/* Present whatever its value, null included. */
		return (slot->st != SG_MISSING) == (m->op != 0);
	case SG_FIELDREF:
		return slot->st == SG_PRESENT && fieldref_test(ev, m, slot);
	}
	if (slot->st != SG_PRESENT)
		return 0;
	for (int i = 0; i < slot->n; i++)
		if (sv_test(ev, m, &slot->v[i]))
			return 1;
	return 0;
}

/* ---- keywords: any scalar of the event ---- */

/* Append to a growing arena array of elem-byte items (n used, *cap). */
static void *
kw_grow(struct vc_sg_ev *ev, void *a, int n, int *cap, size_t elem)
{
	int nc = *cap ? *cap * 2 : 64;
	void *p = vc_sg_alloc(&ev->arena, elem * (size_t)nc);

	if (p == NULL) {
		ev->oom = 1;
		return NULL;
	}
	if (n)
		memcpy(p, a, elem * (size_t)n);
	*cap = nc;
	return p;
}

/*
 * Every scalar of v, for keywords.  A scalar's path is not written out
 * here (only a matched one's is, for its evidence): each object member
 * is noted with its key and the member it is inside.
 */
static void
kw_walk(struct vc_sg_ev *ev, jv v, int at, int depth)
{
	jv_kind k = jv_get_kind(v);

	if (ev->kw_n >= MAX_KW_VALUES || depth > MAX_KW_DEPTH || ev->oom)
		return;
	if (k == JV_KIND_OBJECT) {
		for (int it = jv_object_iter(v); jv_object_iter_valid(v, it); it = jv_object_iter_next(v, it)) {
			jv key = jv_object_iter_key(v, it), x = jv_object_iter_value(v, it);

			if (ev->kw_nkey == ev->kw_capkey) {
				int cap = ev->kw_capkey;
				const char **kk = kw_grow(ev, ev->kw_key, ev->kw_nkey, &cap, sizeof *kk);
				int *up = kk ? kw_grow(ev, ev->kw_up, ev->kw_nkey, &ev->kw_capkey, sizeof *up) : NULL;

				if (up == NULL) {
					jv_free(key);
					jv_free(x);
					return;
				}
				ev->kw_key = kk;
				ev->kw_up = up;
			}
			/* The event is borrowed for the whole call: its keys stay. */
			ev->kw_key[ev->kw_nkey] = jv_string_value(key);
			ev->kw_up[ev->kw_nkey] = at;
			kw_walk(ev, x, ev->kw_nkey++, depth + 1);
			jv_free(key);
			jv_free(x);
		}
		return;
	}
	if (k == JV_KIND_ARRAY) {
		for (int i = 0, n = jv_array_length(jv_copy(v)); i < n; i++) {
			jv x = jv_array_get(jv_copy(v), i);

			kw_walk(ev, x, at, depth + 1);
			jv_free(x);
		}
		return;
	}
	if (ev->kw_n == ev->kw_cap) {
		int cap = ev->kw_cap;
		struct vc_sg_sv *a = kw_grow(ev, ev->kw_sv, ev->kw_n, &cap, sizeof *a);
		int *pa = a ? kw_grow(ev, ev->kw_at, ev->kw_n, &ev->kw_cap, sizeof *pa) : NULL;

		if (pa == NULL)
			return;
		ev->kw_sv = a;
		ev->kw_at = pa;
	}
	/* The event is borrowed for the whole call: its strings stay. */
	if (scalar_sv(ev, v, &ev->kw_sv[ev->kw_n]))
		ev->kw_at[ev->kw_n++] = at;
}

/* The dotted path of member at ("" for the top), in the arena. */
static const char *
kw_path(struct vc_sg_ev *ev, int at)
{
	size_t len = 0;
	char *p;

	for (int m = at; m >= 0; m = ev->kw_up[m])
		len += strlen(ev->kw_key[m]) + 1;
	if ((p = vc_sg_alloc(&ev->arena, len + 1)) == NULL) {
		ev->oom = 1;
		return "";
	}
	p[len > 0 ? len - 1 : 0] = '\0';
	for (int m = at; m >= 0; m = ev->kw_up[m]) {
		size_t kl = strlen(ev->kw_key[m]);

		len -= kl + 1;
		memcpy(p + len, ev->kw_key[m], kl);
		if (len > 0)
			p[len - 1] = '.';
	}
	return p;
}

static int
evd_add(struct vc_sg_ev *ev, int field, const char *path, jv val)
{
	if (ev->nevd == ev->capevd) {
		int nc = ev->capevd ? ev->capevd * 2 : 8;
		struct vc_sg_evd *p = realloc(ev->evd, sizeof *p * (size_t)nc);

		if (p == NULL) {
			jv_free(val);
			ev->oom = 1;
			return -1;
		}
		ev->evd = p;
		ev->capevd = nc;
	}
	ev->evd[ev->nevd].field = field;
	ev->evd[ev->nevd].path = path;
	ev->evd[ev->nevd++].val = val;
	return 0;
}

/*
 * The event's scalars joined by NUL bytes (lowercased unless cased), so
 * that a keyword's "contains" test is one search of the event: no
 * literal holds a NUL, so one found lies inside a single scalar.  NULL
 * when out of memory.
 */
static const char *
kw_hay(struct vc_sg_ev *ev, int cased, size_t *n)
{
	size_t len = 0;
	char *h;

	if (ev->kw_hay[cased] != NULL) {
		*n = ev->kw_hayn[cased];
		return ev->kw_hay[cased];
	}
	for (int i = 0; i < ev->kw_n; i++)
		len += ev->kw_sv[i].n + 1;
	if ((h = vc_sg_alloc(&ev->arena, len + 1)) == NULL) {
		ev->oom = 1;
		return NULL;
	}
	len = 0;
	for (int i = 0; i < ev->kw_n; i++) {
		struct vc_sg_sv *sv = &ev->kw_sv[i];

		memcpy(h + len, cased ? sv->s : vc_sg_low(ev, sv), sv->n);
		len += sv->n;
		h[len++] = '\0';
	}
	ev->kw_hay[cased] = h;
	*n = ev->kw_hayn[cased] = len;
	return h;
}

static int
keyword_eval(struct vc_sg_ev *ev, const struct vc_sg_item *it)
{
	int first = -1, res = it->all ? 1 : 0;

	if (ev->kw_n < 0) {
		ev->kw_n = 0;
		kw_walk(ev, ev->event, -1, 0);
	}
	for (int g = 0; g < it->n; g++) {
		int hit = -1;

		/* The first scalar that any variant matches. */
		for (int j = 0; j < it->g[g].n; j++) {
			const struct vc_sg_m *m = &it->g[g].m[j];
			int upto = hit >= 0 ? hit : ev->kw_n;

			if (m->kind == SG_CONTAINS && m->n > 0 && memchr(m->s, 0, m->n) == NULL) {
				size_t hn;
				const char *h = kw_hay(ev, m->cased, &hn);

				if (h != NULL && memmem(h, hn, m->s, m->n) == NULL)
					continue;
			}
			for (int i = 0; i < upto; i++)
				if (sv_test(ev, m, &ev->kw_sv[i])) {
					hit = i;
					break;
				}
		}
		if (hit >= 0 && first < 0)
			first = hit;
		if (it->all && hit < 0) {
			res = 0;
			break;
		}
		if (!it->all && hit >= 0) {
			res = 1;
			break;
		}
	}
	if (it->neg)
		return !res;
	if (res && ev->collect && first >= 0)
		evd_add(ev, -1, kw_path(ev, ev->kw_at[first]),
		    jv_string_sized(ev->kw_sv[first].s, (int)ev->kw_sv[first].n));
	return res;
}

static int
item_eval(struct vc_sg_ev *ev, const struct vc_sg_item *it)
{
	struct vc_sg_slot *slot;
	int res;

	if (it->field < 0)
		return keyword_eval(ev, it);
	slot = vc_sg_resolve(ev, it->field);
	res = it->all ? 1 : 0;
	for (int g = 0; g < it->n; g++) {
		int hit = 0;

		for (int j = 0; j < it->g[g].n && !hit; j++)
			hit = m_test(ev, &it->g[g].m[j], slot);
		if (it->all && !hit) {
			res = 0;
			break;
		}
		if (!it->all && hit) {
			res = 1;
			break;
		}
	}
	if (it->neg)
		return !res;
	if (res && ev->collect)
		evd_add(ev, it->field, NULL, jv_is_valid(slot->val) ? jv_copy(slot->val) : jv_null());
	return res;
}

static void
evd_truncate(struct vc_sg_ev *ev, int n)
{
	while (ev->nevd > n)
		jv_free(ev->evd[--ev->nevd].val);
}

static int
node_eval(struct vc_sg_ev *ev, const struct vc_sg_rule *r, const struct vc_sg_node *nd)
{
	int mark = ev->nevd, res, save;

	switch (nd->op) {
	case SG_N_AND:
		for (int i = 0; i < nd->n; i++)
			if (!node_eval(ev, r, nd->kid[i])) {
				/* What matched before a failed AND is no evidence. */
				evd_truncate(ev, mark);
				return 0;
			}
		return 1;
	case SG_N_OR:
		for (int i = 0; i < nd->n; i++)
			if (node_eval(ev, r, nd->kid[i]))
				return 1;
		return 0;
	case SG_N_NOT:
		/* Evidence is what made the rule match, not what was absent. */
		save = ev->collect;
		ev->collect = 0;
		res = !node_eval(ev, r, nd->kid[0]);
		ev->collect = save;
		return res;
	case SG_N_ITEM:
		return item_eval(ev, nd->item);
	case SG_N_SEL:
		return node_eval(ev, r, r->sel[nd->sel]);
	}
	return 0;
}

/* A rule's logsource guard: does this event belong to it? */
int
vc_sg_guard_pass(struct vc_sg_ev *ev, int g)
{
	const struct vc_sg_guard *gd = &ev->set->guards[g];
	const struct vc_sg_galt *alts;
	int nalt;

	if (ev->guard[g] >= 0)
		return ev->guard[g];
	ev->guard[g] = 0;
	if (ev->hdr < 0) {
		ev->hdr = 0;
		for (int i = 0; i < ev->set->nhdr && !ev->hdr; i++) {
			struct vc_sg_slot *slot = vc_sg_resolve(ev, ev->set->hdr[i]);

			ev->hdr = slot->st != SG_MISSING && slot->st != SG_JNULL;
		}
	}
	/* An event-log record by its header, a row by the fields it has. */
	alts = ev->hdr ? gd->alt : gd->row;
	nalt = ev->hdr ? gd->nalt : gd->nrow;
	for (int a = 0; a < nalt; a++) {
		const struct vc_sg_galt *alt = &alts[a];
		int pass = 1;

		for (int k = 0; k < alt->n && pass; k++) {
			const struct vc_sg_gcond *gc = &alt->c[k];
			struct vc_sg_slot *slot = vc_sg_resolve(ev, gc->field);

			if (slot->st == SG_MISSING || slot->st == SG_JNULL) {
				pass = 0;
				break;
			}
			if (gc->nval == 0)
				continue;
			pass = 0;
			for (int i = 0; i < slot->n && !pass; i++) {
				const char *low = vc_sg_low(ev, &slot->v[i]);

				for (int j = 0; j < gc->nval && !pass; j++)
					pass = strlen(gc->val[j]) == slot->v[i].n &&
					    memcmp(gc->val[j], low, slot->v[i].n) == 0;
			}
		}
		if (pass)
			return ev->guard[g] = 1;
	}
	return 0;
}

int
vc_sg_rule_eval(struct vc_sg_ev *ev, const struct vc_sg_rule *r)
{
	evd_truncate(ev, 0);
	if (r->guard >= 0 && !vc_sg_guard_pass(ev, r->guard))
		return 0;
	return node_eval(ev, r, r->cond);
}
