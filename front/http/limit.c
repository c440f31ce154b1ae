/* SPDX-License-Identifier: MIT */
/* limit.c - token buckets by key; see limit.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/limit.h"

#define KEY_MAX 64
#define SWEEP_PAUSE_MS 1000     /* after a sweep that freed nothing */

struct bucket {
	struct bucket *next;
	double tokens;
	int64_t t;              /* when tokens was right */
	char key[KEY_MAX];
};

struct vc_limit {
	double rate, burst;
	size_t max, n, nslots;
	int64_t no_sweep_until;
	struct bucket **slot;
};

struct vc_limit *
vc_limit_new(double rate, double burst, size_t max_keys)
{
	struct vc_limit *l;

	if (rate <= 0 || burst < 1 || max_keys < 1 || (l = calloc(1, sizeof *l)) == NULL)
		return NULL;
	l->rate = rate;
	l->burst = burst;
	l->max = max_keys;
	for (l->nslots = 16; l->nslots < max_keys / 2 && l->nslots < (1u << 20); )
		l->nslots *= 2;
	if ((l->slot = calloc(l->nslots, sizeof *l->slot)) == NULL) {
		free(l);
		return NULL;
	}
	return l;
}

void
vc_limit_free(struct vc_limit *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->nslots; i++)
		while (l->slot[i] != NULL) {
			struct bucket *b = l->slot[i];

			l->slot[i] = b->next;
			free(b);
		}
	free(l->slot);
	free(l);
}

size_t
vc_limit_count(const struct vc_limit *l)
{
	return l->n;
}

/* FNV-1a: the keys are short and the table is not exposed to chosen
 * collisions beyond one chain's length. */
static size_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void
refill(const struct vc_limit *l, struct bucket *b, int64_t now)
{
	if (now > b->t) {
		b->tokens += (double)(now - b->t) * l->rate / 1000.0;
		if (b->tokens > l->burst)
			b->tokens = l->burst;
		b->t = now;
	}
}

/* Drop the buckets that are full again: they hold no information. */
static void
sweep(struct vc_limit *l, int64_t now)
{
	for (size_t i = 0; i < l->nslots; i++)
		for (struct bucket **pp = &l->slot[i]; *pp != NULL; ) {
			struct bucket *b = *pp;

			refill(l, b, now);
			if (b->tokens >= l->burst) {
				*pp = b->next;
				free(b);
				l->n--;
			} else
				pp = &b->next;
		}
}

int64_t
vc_limit_take(struct vc_limit *l, const char *key, int64_t now)
{
	size_t i = hash(key) & (l->nslots - 1);
	struct bucket *b;

	for (b = l->slot[i]; b != NULL; b = b->next)
		if (strncmp(b->key, key, KEY_MAX - 1) == 0)
			break;
	if (b == NULL) {
		if (l->n >= l->max && now >= l->no_sweep_until) {
			sweep(l, now);
			if (l->n >= l->max)
				l->no_sweep_until = now + SWEEP_PAUSE_MS;
		}
		if (l->n >= l->max || (b = calloc(1, sizeof *b)) == NULL)
			return SWEEP_PAUSE_MS;  /* fail closed */
		snprintf(b->key, sizeof b->key, "%s", key);
		b->tokens = l->burst;
		b->t = now;
		b->next = l->slot[i];
		l->slot[i] = b;
		l->n++;
	}
	refill(l, b, now);
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 0;
	}
	return (int64_t)((1.0 - b->tokens) * 1000.0 / l->rate) + 1;
}

void
vc_limit_addr_key(const char *ip, char *out, size_t n)
{
	unsigned char a[16];
	char s[INET6_ADDRSTRLEN];

	if (strchr(ip, ':') != NULL && inet_pton(AF_INET6, ip, a) == 1) {
		/* An IPv4-mapped address is the IPv4 client it maps. */
		static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

		if (memcmp(a, mapped, sizeof mapped) == 0 &&
		    inet_ntop(AF_INET, a + 12, s, sizeof s) != NULL) {
			snprintf(out, n, "%s", s);
			return;
		}
		memset(a + 8, 0, 8);
		if (inet_ntop(AF_INET6, a, s, sizeof s) != NULL) {
			snprintf(out, n, "%s/64", s);
			return;
		}
	}
	snprintf(out, n, "%s", ip);
}
