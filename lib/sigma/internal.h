/* SPDX-License-Identifier: MIT */
/*
 * sigma_int.h - internals shared by lib/sigma_*.c: the compiled form of
 * rules and the per-event state.  Not an API; see sigma.h.
 *
 * Ownership: everything a rule compiles to lives in the rule's arena
 * (freed whole, so a rule that fails half-way costs nothing to drop) and
 * its PCRE2 codes in rule->re; the set's fields and guards live in the
 * set's arena; per-event state lives in an arena of the match call.
 */
#ifndef VC_SIGMA_INT_H
#define VC_SIGMA_INT_H
#include <stdint.h>
#include <stddef.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <jv.h>
#include "sigma/sigma.h"

/* ---- arena: bump allocation, freed whole ---- */
struct vc_sg_chunk;
struct vc_sg_arena {
	struct vc_sg_chunk *head;
	unsigned char *buf;             /* current block */
	size_t cap, used;
	unsigned char *first;           /* caller's block (not freed), or NULL */
};
void vc_sg_arena_init(struct vc_sg_arena *a, void *first, size_t n);
void *vc_sg_alloc(struct vc_sg_arena *a, size_t n);     /* zeroed; NULL: no memory */
char *vc_sg_strndup(struct vc_sg_arena *a, const char *s, size_t n);   /* NUL added */
void vc_sg_arena_free(struct vc_sg_arena *a);

/* ---- field resolution (compiled from the map into the set) ---- */
struct vc_sg_path {
	int n;
	jv *key;                        /* jv strings, owned by the set */
	int root;                       /* set->roots index of key[0] */
};
struct vc_sg_part {                     /* one part of a computed value */
	const char *prefix;
	size_t plen;
	struct vc_sg_path path;
};
struct vc_sg_cand {
	struct vc_sg_path path;         /* nparts == 0: a plain path */
	int nparts;
	struct vc_sg_part *part;        /* else: parts joined by sep */
	const char *sep;
	size_t seplen;
};
struct vc_sg_field {
	const char *name;
	int ncand;
	struct vc_sg_cand *cand;
};

/*
 * A logsource guard: which events rules of a logsource apply to.  An
 * event-log record (one with a header field: EventID or Channel) must
 * satisfy one "when" alternative, every field of it present with one of
 * its values; a row without a header (a Velociraptor artifact's row, a
 * flat object) must have every field of one "rows" alternative.
 */
struct vc_sg_gcond {
	int field;
	int nval;                       /* 0: the field is present (rows) */
	const char **val;               /* lowercase */
};
struct vc_sg_galt {
	int n;
	struct vc_sg_gcond *c;
};
struct vc_sg_guard {
	int nalt, nrow;
	struct vc_sg_galt *alt, *row;
};

/* ---- compiled tests ---- */
enum {
	SG_EQ, SG_PREFIX, SG_SUFFIX, SG_CONTAINS, SG_GLOB,      /* strings */
	SG_RE, SG_NULL, SG_EXISTS, SG_NUMEQ, SG_CMP, SG_CIDR, SG_FIELDREF, SG_TIME
};
enum { SG_GT, SG_GTE, SG_LT, SG_LTE };
enum { SG_MINUTE, SG_HOUR, SG_DAY, SG_WEEK, SG_MONTH, SG_YEAR };
enum { SG_TOK_LIT, SG_TOK_STAR, SG_TOK_ONE };

struct vc_sg_tok {
	int t;
	size_t n;
	const unsigned char *s;
};

struct vc_sg_m {
	uint8_t kind;
	uint8_t cased;                  /* strings, fieldref: compare bytes as they are */
	uint8_t op;                     /* CMP: SG_GT..; FIELDREF: SG_EQ..SG_CONTAINS; TIME: part; EXISTS: want */
	const unsigned char *s;         /* literal, lowercase unless cased */
	size_t n;
	int ntok;
	struct vc_sg_tok *tok;          /* SG_GLOB */
	double num;                     /* NUMEQ, CMP, TIME */
	pcre2_code *re;
	int family, prefix;             /* CIDR: AF_INET/AF_INET6, bits */
	unsigned char net[16];
	int field;                      /* FIELDREF */
};

struct vc_sg_group {                    /* one value: OR of its variants */
	int n;
	struct vc_sg_m *m;
};
struct vc_sg_item {                     /* one "field|mods: values" entry */
	int field;                      /* -1: keyword (any value of the event) */
	uint8_t all, neg;
	int n;
	struct vc_sg_group *g;
};

enum { SG_N_AND, SG_N_OR, SG_N_NOT, SG_N_ITEM, SG_N_SEL };
struct vc_sg_node {
	uint8_t op;
	int n;
	struct vc_sg_node **kid;
	struct vc_sg_item *item;
	int sel;
};

struct vc_sg_rule {
	struct vc_sg_arena arena;
	jv meta;                        /* the indicator without evidence */
	const char *id;
	int nsel;
	struct vc_sg_node **sel;
	const char **selname;
	struct vc_sg_node *cond;
	int guard;                      /* -1: none */
	int nre, capre;
	pcre2_code **re;
};

struct vc_sg_index;

struct vc_sigma_set {
	struct vc_sg_arena arena;
	int nrules, caprules;
	struct vc_sg_rule **rules;
	int nfields, capfields;
	struct vc_sg_field *fields;
	int nguards;
	struct vc_sg_guard *guards;
	jv guard_ls;                    /* array of the guards' logsource objects */
	int nhdr;                       /* header fields of an event-log record */
	int hdr[4];
	/* First keys of all paths: looked up once per event, not per path. */
	int nroots, caproots;
	jv *roots;
	uint64_t *always_bits;          /* always[] as a bit set */
	uint64_t *single_bits;          /* rules whose index needs one clause only */
	jv map;                         /* the map document, while loading */
	int use_index;
	struct vc_sg_index *index;      /* NULL: not built */
	uint8_t *always;                /* per rule: evaluated for every event */
};

struct vc_sigma_map {
	jv doc;                         /* validated */
};

/* ---- per event ---- */
struct vc_sg_sv {                       /* one scalar value of a field */
	const char *s;                  /* string form (JSON numbers as text) */
	size_t n;
	const char *low;                /* ASCII-lowercase form, made on demand */
	uint8_t isnum;                  /* a JSON number (num) */
	uint8_t isbool;
	double num;
};
enum { SG_UNRESOLVED = 0, SG_MISSING, SG_JNULL, SG_PRESENT };
struct vc_sg_slot {
	uint8_t st;
	int n;                          /* scalar values: 1, or an array's */
	struct vc_sg_sv *v;
	jv val;                         /* what was found (owned), for evidence */
};
struct vc_sg_evd {
	int field;                      /* -1: keyword, then path */
	const char *path;
	jv val;
};
struct vc_sg_ev {
	const struct vc_sigma_set *set;
	jv event;                       /* borrowed */
	struct vc_sg_slot *slot;
	signed char *guard;             /* -1 unknown, 0 no, 1 yes */
	signed char hdr;                /* has a header: -1 unknown, 0 no, 1 yes */
	uint8_t *root_st;               /* per root: 0 not looked up, 1 absent, 2 there */
	jv *root_val;
	struct vc_sg_arena arena;
	pcre2_match_data *md;
	int collect;                    /* record evidence */
	int nevd, capevd;
	struct vc_sg_evd *evd;
	int kw_n, kw_cap;               /* scalars for keywords; kw_n -1: not yet */
	struct vc_sg_sv *kw_sv;
	int *kw_at;                     /* per scalar: its member in kw_key, or -1 */
	int kw_nkey, kw_capkey;         /* object members walked: */
	const char **kw_key;            /* the member's key (the event's own text) */
	int *kw_up;                     /* the member it is inside, or -1 */
	char *kw_hay[2];                /* the scalars joined by NUL: lowercase, cased */
	size_t kw_hayn[2];
	int oom;
};

/* sigma_yaml.c: every document of a YAML text as jv (array). */
int vc_sg_yaml_parse(const char *buf, size_t n, jv *docs, char *err, size_t errn);

/* sigma_map.c */
/* Read a whole regular file of at most max bytes (NUL added). */
int vc_sg_read_file(vc_ctx *ctx, const char *path, size_t max, char **buf, size_t *n);
int vc_sg_field_intern(struct vc_sigma_set *set, const char *name);   /* -1: no memory */
void vc_sg_fields_release(struct vc_sigma_set *set);
int vc_sg_guards_compile(struct vc_sigma_set *set, char *err, size_t errn);
int vc_sg_guard_for(const struct vc_sigma_set *set, jv logsource);   /* borrowed; -1 none */

/* sigma_compile.c */
int vc_sg_compile_rule(struct vc_sigma_set *set, jv doc, struct vc_sg_rule **out,
    char *err, size_t errn);
void vc_sg_rule_free(struct vc_sg_rule *r);

/* sigma_match.c */
/* slots: nfields, guards: nguards, roots: nroots (st) elements, from the caller. */
void vc_sg_ev_init(struct vc_sg_ev *ev, const struct vc_sigma_set *set, jv event,
    void *scratch, size_t n, struct vc_sg_slot *slots, signed char *guards,
    uint8_t *root_st, jv *root_val);
void vc_sg_ev_release(struct vc_sg_ev *ev);
struct vc_sg_slot *vc_sg_resolve(struct vc_sg_ev *ev, int field);
const char *vc_sg_low(struct vc_sg_ev *ev, struct vc_sg_sv *sv);
int vc_sg_rule_eval(struct vc_sg_ev *ev, const struct vc_sg_rule *r);
/* 1 if the event passes logsource guard g (worked out once per event). */
int vc_sg_guard_pass(struct vc_sg_ev *ev, int g);

/* sigma_index.c */
int vc_sg_index_build(struct vc_sigma_set *set);
void vc_sg_index_free(struct vc_sg_index *ix);
/* Mark in bits[c] the rules whose clause c has a literal in the event. */
void vc_sg_index_scan(struct vc_sg_ev *ev, const struct vc_sg_index *ix, uint64_t *const bits[2]);
void vc_sg_index_stats(const struct vc_sg_index *ix, struct vc_sigma_stats *st);

#endif
