/* SPDX-License-Identifier: MIT */
/* tls.c - libcrypto and libssl opened at run time (see tls.h). */
#define VC_TLS_TABLE 1
#include "core/dl.h"
#include "core/tls.h"

struct vc_tls vc_tls;

#define VC_TLS_SYM(f) VC_DL_SYM(vc_tls, f, #f),
static const struct vc_dl_sym crypto_syms[] = { VC_TLS_CRYPTO(VC_TLS_SYM) };
static const struct vc_dl_sym ssl_syms[] = { VC_TLS_SSL(VC_TLS_SYM) };

VC_DL_LIB(libcrypto, "libcrypto.so.3", "check certificates and speak TLS", crypto_syms, NULL);
VC_DL_LIB(libssl, "libssl.so.3", "speak TLS", ssl_syms, NULL);

int
vc_tls_ready(vc_ctx *ctx)
{
	int rc = vc_dl_ready(ctx, &libcrypto);

	return rc != 0 ? rc : vc_dl_ready(ctx, &libssl);
}
