/* SPDX-License-Identifier: MIT */
/* dl.c - shared libraries opened on first use (see dl.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "core/dl.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Open dl and fill its table: 1, or -1 with dl->why set. */
static int
load(struct vc_dl *dl)
{
	void *h = dlopen(dl->soname, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		const char *e = dlerror();
		snprintf(dl->why, sizeof dl->why, "cannot load %s, needed to %s: %s", dl->soname, dl->what,
		    e ? e : "dlopen failed");
		return -1;
	}
	for (size_t i = 0; i < dl->nsyms; i++)
		if ((*dl->syms[i].slot = dlsym(h, dl->syms[i].name)) == NULL) {
			snprintf(dl->why, sizeof dl->why, "%s has no %s, needed to %s (another version?)",
			    dl->soname, dl->syms[i].name, dl->what);
			dlclose(h);
			return -1;
		}
	if (dl->init != NULL && dl->init() != 0) {
		snprintf(dl->why, sizeof dl->why, "cannot initialise %s, needed to %s", dl->soname, dl->what);
		return -1;
	}
	return 1;
}

int
vc_dl_ready(vc_ctx *ctx, struct vc_dl *dl)
{
	int state = __atomic_load_n(&dl->state, __ATOMIC_ACQUIRE);

	if (state == 0) {
		pthread_mutex_lock(&lock);
		if ((state = dl->state) == 0) {
			state = load(dl);
			/* The table and why are written before the state says so. */
			__atomic_store_n(&dl->state, state, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&lock);
	}
	return state == 1 ? 0 : vc_fail(ctx, VC_EUNAVAIL, "%s", dl->why);
}
