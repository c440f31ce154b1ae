/* SPDX-License-Identifier: MIT */
/* curl.c - libcurl opened at run time (see curl.h). */
#include "core/curl.h"
#include "core/dl.h"

struct vc_curl vc_curl;

static int
init(void)
{
	return vc_curl.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static const struct vc_dl_sym syms[] = {
	VC_DL_SYM(vc_curl, global_init, "curl_global_init"),
	VC_DL_SYM(vc_curl, easy_init, "curl_easy_init"),
	VC_DL_SYM(vc_curl, easy_setopt, "curl_easy_setopt"),
	VC_DL_SYM(vc_curl, easy_perform, "curl_easy_perform"),
	VC_DL_SYM(vc_curl, easy_getinfo, "curl_easy_getinfo"),
	VC_DL_SYM(vc_curl, easy_cleanup, "curl_easy_cleanup"),
	VC_DL_SYM(vc_curl, easy_strerror, "curl_easy_strerror"),
	VC_DL_SYM(vc_curl, slist_append, "curl_slist_append"),
	VC_DL_SYM(vc_curl, slist_free_all, "curl_slist_free_all"),
};

VC_DL_LIB(libcurl, "libcurl.so.4", "talk to Velociraptor, mail servers and web receivers", syms, init);

int
vc_curl_ready(vc_ctx *ctx)
{
	return vc_dl_ready(ctx, &libcurl);
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
