/* SPDX-License-Identifier: MIT */
/*
 * vr.h - a native client of Velociraptor's gRPC API: the server-streaming
 * call /proto.API/Query over HTTP/2 and mutual TLS (libcurl), its
 * messages in protobuf (protobuf-c), the API client config YAML (libyaml).
 *
 * Ownership: vc_vr_config_parse fills a config whose strings it owns;
 * vc_vr_config_release frees them and wipes the private key.  A query
 * hands each row to the caller's callback as raw JSON text that lives
 * only during the call.
 */
#ifndef VC_VR_H
#define VC_VR_H
#include <stddef.h>
#include <stdint.h>
#include "core/vc.h"

#define VC_VR_PINNED_NAME "VelociraptorServer"
#define VC_VR_MAX_MESSAGE (64u * 1024 * 1024)   /* one gRPC message, at most */

struct vc_vr_config {
	char *ca_pem;
	char *cert_pem;
	char *key_pem;          /* secret: wiped on release */
	char *name;             /* the API client's name (its certificate's CN) */
	char host[256];
	int port;
	char pinned[128];       /* the name the server's certificate must carry */
};

/* Parse an API client YAML (as `velociraptor config api_client` writes). */
int vc_vr_config_parse(vc_ctx *ctx, const char *yaml, size_t n, struct vc_vr_config *cfg);
void vc_vr_config_release(struct vc_vr_config *cfg);
/* The client certificate's notAfter (seconds) and SHA-256 fingerprint. */
int vc_vr_cert_info(vc_ctx *ctx, const char *pem, int64_t *not_after, char fp[65], char *cn, size_t cnsz);

struct vc_vr_env {
	const char *key;
	const char *value;
};

struct vc_vr_query {
	const char *vql;
	const struct vc_vr_env *env;
	int nenv;
	uint64_t max_row;       /* rows per batch; 0 means 1000 */
	uint64_t timeout;       /* seconds: server-side query timeout and our deadline; 0: 600 */
	const char *org_id;     /* NULL or "" for the root org */
	/* One row as raw JSON text; nonzero stops the query (the stream is reset). */
	int (*row)(void *arg, const char *json, size_t n);
	/* After each batch of rows (a gRPC message); may be NULL. */
	void (*batch_end)(void *arg);
	/* One log line of the query (without its line end; never empty). */
	void (*log)(void *arg, const char *line);
	void *arg;
};

struct vc_vr_result {
	int grpc_status;        /* 0 OK; -1 when the call never got a status */
	char grpc_message[512];
	long rows;
	long batches;
	int error_logs;         /* "ERROR:" and "VQL Error:" log lines */
	char first_error[512];
	char tls_version[16];   /* "TLSv1.3" */
	char http_version[8];   /* "2" */
	double seconds;
	int stopped;            /* the row callback asked to stop */
	int tls_stage;          /* a failure came after the TCP connection */
};

/*
 * The response body of one Query call, taken apart as it arrives: gRPC
 * messages (a compression flag byte, a 4-byte big-endian length, the
 * bytes) cut anywhere by HTTP/2 DATA frames, each a VQLResponse whose
 * row batch (a JSON array) goes to q->row one row at a time, and whose
 * log line goes to q->log; res counts rows, batches and error logs.
 * No I/O: vc_vr_query feeds it what libcurl receives, the fuzz target
 * feeds it anything.
 */
struct vc_vr_stream {
	const struct vc_vr_query *q;
	struct vc_vr_result *res;
	unsigned char *buf;     /* received, not yet a whole message */
	size_t len, cap;
	int error;              /* a protocol error: msg says which */
	char msg[160];
};
void vc_vr_stream_init(struct vc_vr_stream *s, const struct vc_vr_query *q,
    struct vc_vr_result *res);
/* n more bytes: 0 to go on; -1 to stop: a protocol error (s->error),
 * the row callback had enough (res->stopped), or memory ran out. */
int vc_vr_stream_feed(struct vc_vr_stream *s, const void *p, size_t n);
void vc_vr_stream_release(struct vc_vr_stream *s);

/*
 * Run one query and stream its rows.  Returns 0 when the call ended with
 * grpc-status 0 and no error log; else a VC_E code with a message:
 * VC_EUNAVAIL for connection and TLS failures (the reason named: wrong
 * CA, expired or foreign client certificate, name mismatch, refused) and
 * for UNAVAILABLE after one retry, VC_EPERM for PERMISSION_DENIED and
 * UNAUTHENTICATED, VC_EINVAL for VQL errors and "ERROR:" logs, VC_ETEMP
 * for DEADLINE_EXCEEDED, the server's timeout log and our own deadline.  The result says what
 * came back in any case.
 *
 * The destination must be one the installation allows (core/net.h):
 * else VC_EPERM before anything is sent.  Over HTTP a tenant's admin
 * could use the errors to map the server's network, so there a
 * connection or TLS failure says only "unreachable" or "TLS failed";
 * the detail goes to ctx->audit_reason, which vc-serve logs.
 */
int vc_vr_query(vc_ctx *ctx, const struct vc_vr_config *cfg, const struct vc_vr_query *q,
    struct vc_vr_result *res);
#endif
