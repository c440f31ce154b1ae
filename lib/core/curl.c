/* SPDX-License-Identifier: MIT */
/* curl.c - libcurl opened at run time (see curl.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "curl.h"

struct vc_curl vc_curl;

/* What failed while loading, empty when nothing did. */
static char why[160];

static void
load(void)
{
	static const char *const names[] = { "curl_global_init", "curl_easy_init",
	    "curl_easy_setopt", "curl_easy_perform", "curl_easy_getinfo", "curl_easy_cleanup",
	    "curl_easy_strerror", "curl_slist_append", "curl_slist_free_all" };
	void **slot[] = { (void **)&vc_curl.global_init, (void **)&vc_curl.easy_init,
	    (void **)&vc_curl.easy_setopt, (void **)&vc_curl.easy_perform,
	    (void **)&vc_curl.easy_getinfo, (void **)&vc_curl.easy_cleanup,
	    (void **)&vc_curl.easy_strerror, (void **)&vc_curl.slist_append,
	    (void **)&vc_curl.slist_free_all };
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		snprintf(why, sizeof why, "cannot load libcurl: %s", dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if ((*slot[i] = dlsym(h, names[i])) == NULL) {
			snprintf(why, sizeof why, "libcurl has no %s", names[i]);
			return;
		}
	if (vc_curl.global_init(CURL_GLOBAL_DEFAULT) != 0)
		snprintf(why, sizeof why, "cannot initialise libcurl");
}

int
vc_curl_ready(vc_ctx *ctx)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, load);
	return why[0] == '\0' ? 0 : vc_fail(ctx, VC_EINTERNAL, "%s", why);
}

size_t
vc_curl_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

CURLcode
vc_curl_perform(CURL *h)
{
	CURLcode c;

	vc_wait_begin();
	c = vc_curl.easy_perform(h);
	vc_wait_end();
	return c;
}
