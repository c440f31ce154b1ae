/* SPDX-License-Identifier: MIT */
/*
 * dl.h - shared libraries opened on first use rather than linked.  A
 * library that only some calls need (libcurl, libxlsxwriter, libevtx)
 * would otherwise be mapped and bound by every process of every tool at
 * start, with everything it needs in turn; a CLI call that lists one
 * host paid for all of them.  The build uses such a library's headers
 * only; its calls go through a table of pointers that vc_dl_ready()
 * fills from the library's versioned file name (the soname the headers
 * were written for, never the unversioned development link).
 *
 * The tables live with their users (core/curl.c, report/xlsx.c,
 * json/evtx.c): a struct of function pointers, each declared with
 * __typeof__ of the library's own prototype so that the compiler checks
 * every call, its list of symbols (VC_DL_SYM) and the library
 * (VC_DL_LIB).  Nothing is ever unloaded.
 */
#ifndef VC_DL_H
#define VC_DL_H
#include <stddef.h>

#include "core/vc.h"

/* One symbol: its name and where its address goes. */
struct vc_dl_sym {
	const char *name;
	void **slot;
};
/* An entry of a table's symbol list: VC_DL_SYM(vc_curl, easy_init, "curl_easy_init"). */
#define VC_DL_SYM(table, member, symbol) { symbol, (void **)&(table).member }

/* A library, loaded at most once per process. */
struct vc_dl {
	const char *soname;             /* "libevtx.so.1" */
	const char *what;               /* what it is for, in messages: "read EVTX files" */
	const struct vc_dl_sym *syms;
	size_t nsyms;
	int (*init)(void);              /* run once after loading, 0 if it went well; or NULL */
	/* Filled by vc_dl_ready: */
	int state;                      /* 0 not tried, 1 loaded, -1 failed */
	char why[256];
};
/* A library's struct vc_dl, from its symbol list (an array). */
#define VC_DL_LIB(var, file, purpose, list, initfn) \
	static struct vc_dl var = { .soname = file, .what = purpose, .syms = list, \
		.nsyms = sizeof list / sizeof list[0], .init = initfn }

/*
 * Load dl on the first call (any thread; later calls return at once) and
 * fill its table.  Returns 0, or VC_EUNAVAIL with ctx saying which file
 * could not be loaded, why and what cannot be done without it (a file
 * that cannot be opened, a symbol it lacks, init failing); the outcome
 * is kept, so a later call fails the same way without trying again.
 */
int vc_dl_ready(vc_ctx *ctx, struct vc_dl *dl);

#endif
