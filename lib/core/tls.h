/* SPDX-License-Identifier: MIT */
/*
 * tls.h - OpenSSL (libcrypto, libssl), opened on first use rather than
 * linked (core/dl.h): together they were the largest share of what every
 * CLI call mapped and bound at start, though only Velociraptor queries
 * (certificate checks, the TLS version) and syslog over TLS call them.
 *
 * Include this instead of the <openssl/...> headers; the calls below
 * (and the header macros built on them, SSL_CTX_set_min_proto_version,
 * SSL_set_tlsext_host_name) then go through pointers typed by OpenSSL's
 * own prototypes.  Call vc_tls_ready() before the first of them.  A
 * function not in these lists is a link error, not a silent link.
 * (vc-serve's WebSocket handshake calls libcrypto directly: libwebsockets
 * needs it mapped anyway.)
 */
#ifndef VC_TLS_H
#define VC_TLS_H

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/vc.h"

#define VC_TLS_CRYPTO(X) \
	X(ASN1_TIME_to_tm) X(BIO_free) X(BIO_new_mem_buf) X(ERR_clear_error) X(ERR_error_string_n) \
	X(ERR_get_error) X(EVP_sha256) X(PEM_read_bio_X509) X(X509_NAME_get_text_by_NID) \
	X(X509_STORE_CTX_free) X(X509_STORE_CTX_get_error) X(X509_STORE_CTX_init) \
	X(X509_STORE_CTX_new) X(X509_STORE_add_cert) X(X509_STORE_free) X(X509_STORE_new) \
	X(X509_VERIFY_PARAM_set1_ip_asc) X(X509_cmp_current_time) X(X509_digest) X(X509_free) \
	X(X509_get0_notAfter) X(X509_get0_notBefore) X(X509_get_subject_name) X(X509_verify_cert) \
	X(X509_verify_cert_error_string)

#define VC_TLS_SSL(X) \
	X(SSL_CTX_ctrl) X(SSL_CTX_free) X(SSL_CTX_get_cert_store) X(SSL_CTX_new) \
	X(SSL_CTX_set_default_verify_paths) X(SSL_CTX_set_verify) X(SSL_connect) X(SSL_ctrl) \
	X(SSL_free) X(SSL_get0_param) X(SSL_get_verify_result) X(SSL_get_version) X(SSL_new) \
	X(SSL_set1_host) X(SSL_set_fd) X(SSL_write_ex) X(TLS_client_method)

struct vc_tls {
#define VC_TLS_PTR(f) __typeof__(f) *f;
	VC_TLS_CRYPTO(VC_TLS_PTR)
	VC_TLS_SSL(VC_TLS_PTR)
#undef VC_TLS_PTR
};
extern struct vc_tls vc_tls;

/* Open libcrypto and libssl once per process (any thread); 0, or
 * VC_EUNAVAIL with ctx saying what is missing. */
int vc_tls_ready(vc_ctx *ctx);

/* tls.c fills the table by these names; everyone else calls through it. */
#ifndef VC_TLS_TABLE
#define ASN1_TIME_to_tm vc_tls.ASN1_TIME_to_tm
#define BIO_free vc_tls.BIO_free
#define BIO_new_mem_buf vc_tls.BIO_new_mem_buf
#define ERR_clear_error vc_tls.ERR_clear_error
#define ERR_error_string_n vc_tls.ERR_error_string_n
#define ERR_get_error vc_tls.ERR_get_error
#define EVP_sha256 vc_tls.EVP_sha256
#define PEM_read_bio_X509 vc_tls.PEM_read_bio_X509
#define X509_NAME_get_text_by_NID vc_tls.X509_NAME_get_text_by_NID
#define X509_STORE_CTX_free vc_tls.X509_STORE_CTX_free
#define X509_STORE_CTX_get_error vc_tls.X509_STORE_CTX_get_error
#define X509_STORE_CTX_init vc_tls.X509_STORE_CTX_init
#define X509_STORE_CTX_new vc_tls.X509_STORE_CTX_new
#define X509_STORE_add_cert vc_tls.X509_STORE_add_cert
#define X509_STORE_free vc_tls.X509_STORE_free
#define X509_STORE_new vc_tls.X509_STORE_new
#define X509_VERIFY_PARAM_set1_ip_asc vc_tls.X509_VERIFY_PARAM_set1_ip_asc
#define X509_cmp_current_time vc_tls.X509_cmp_current_time
#define X509_digest vc_tls.X509_digest
#define X509_free vc_tls.X509_free
#define X509_get0_notAfter vc_tls.X509_get0_notAfter
#define X509_get0_notBefore vc_tls.X509_get0_notBefore
#define X509_get_subject_name vc_tls.X509_get_subject_name
#define X509_verify_cert vc_tls.X509_verify_cert
#define X509_verify_cert_error_string vc_tls.X509_verify_cert_error_string
#define SSL_CTX_ctrl vc_tls.SSL_CTX_ctrl
#define SSL_CTX_free vc_tls.SSL_CTX_free
#define SSL_CTX_get_cert_store vc_tls.SSL_CTX_get_cert_store
#define SSL_CTX_new vc_tls.SSL_CTX_new
#define SSL_CTX_set_default_verify_paths vc_tls.SSL_CTX_set_default_verify_paths
#define SSL_CTX_set_verify vc_tls.SSL_CTX_set_verify
#define SSL_connect vc_tls.SSL_connect
#define SSL_ctrl vc_tls.SSL_ctrl
#define SSL_free vc_tls.SSL_free
#define SSL_get0_param vc_tls.SSL_get0_param
#define SSL_get_verify_result vc_tls.SSL_get_verify_result
#define SSL_get_version vc_tls.SSL_get_version
#define SSL_new vc_tls.SSL_new
#define SSL_set1_host vc_tls.SSL_set1_host
#define SSL_set_fd vc_tls.SSL_set_fd
#define SSL_write_ex vc_tls.SSL_write_ex
#define TLS_client_method vc_tls.TLS_client_method
#endif

#endif
