/* SPDX-License-Identifier: MIT */
/*
 * curl.h - libcurl, opened on first use rather than linked.  With its TLS,
 * HTTP/2, LDAP, Kerberos and SSH libraries it is 27 of the 41 shared
 * libraries a tool would load, and every CLI call (vc-hosts list) paid
 * for mapping and binding them at start, though only Velociraptor
 * queries, mail and channel deliveries use it.
 *
 * Include this instead of <curl/curl.h>; the curl_* calls below then go
 * through pointers.  Call vc_curl_ready() before the first of them.
 */
#ifndef VC_CURL_H
#define VC_CURL_H

/* Calls through pointers: no type-checking macros. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "vc.h"

/* The library's own prototypes (core/dl.h). */
struct vc_curl {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
};
extern struct vc_curl vc_curl;

#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init vc_curl.global_init
#define curl_easy_init vc_curl.easy_init
#define curl_easy_setopt vc_curl.easy_setopt
#define curl_easy_perform vc_curl_perform
#define curl_easy_getinfo vc_curl.easy_getinfo
#define curl_easy_cleanup vc_curl.easy_cleanup
#define curl_easy_strerror vc_curl.easy_strerror
#define curl_slist_append vc_curl.slist_append
#define curl_slist_free_all vc_curl.slist_free_all

/* Open and initialise libcurl once per process (any thread); 0, or
 * VC_EUNAVAIL with ctx saying what is missing (core/dl.h). */
int vc_curl_ready(vc_ctx *ctx);
/* curl_easy_perform, told to the wait hook (vc_wait_begin): it waits
 * on a peer. */
CURLcode vc_curl_perform(CURL *h);
/* A CURLOPT_WRITEFUNCTION that reads an answer's body and drops it. */
size_t vc_curl_discard(char *p, size_t size, size_t n, void *arg);

#endif
