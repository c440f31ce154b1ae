/* SPDX-License-Identifier: MIT */
/*
 * serve.h - vc-serve, the HTTP front door to the operation table.
 *
 * One libwebsockets context runs the event loop on the calling thread; a
 * fixed pool of worker threads, each with its own vc_ctx and store
 * connection, runs the operations.  The HTTP/1.1 request head and body are
 * parsed by our own code (http.h), not by lws: lws 4.1.6 closes the
 * connection without a reply when a request head overflows its header
 * buffer, so it cannot answer 414/431, and it rewrites request paths.
 * lws owns the sockets, the poll loop, the timeouts and the cross-thread
 * wake-up (lws_cancel_service).
 *
 * Streaming.  A request whose Accept prefers application/x-ndjson (or
 * application/jsonl) gets its records as JSON Lines while the operation
 * runs: the worker's ctx->emit pushes each record into a bounded queue
 * (the worker waits while it is full), the loop sends it with chunked
 * transfer coding.  The body of an import (VC_OP_INPUT) goes the other
 * way: the worker reads it as it arrives, through a bounded queue the
 * loop fills (the loop stops reading the socket while it is full).
 * Memory per request stays flat whatever the number of records.
 *
 * Ownership: vc_serve_new copies what it needs from the config except the
 * strings (db_path, cors[]), which must outlive the server.
 * vc_serve_free releases everything vc_serve_new made.  lib/ never
 * prints: access and error lines go to cfg->log, one line per call,
 * without a newline, from any thread (calls are serialized).
 */
#ifndef VC_SERVE_H
#define VC_SERVE_H

#include <stddef.h>
#include <stdint.h>
#include "core/vc.h"
#include "http/http.h"

struct vc_serve;

/*
 * Open one store per worker, bind and listen, start the workers.  On
 * failure returns a VC_E code with ctx->errmsg set and *out NULL.
 */
int vc_serve_new(vc_ctx *ctx, const struct vc_serve_config *cfg,
    struct vc_serve **out);
/* "http://127.0.0.1:8000" into buf. */
void vc_serve_url(const struct vc_serve *srv, char *buf, size_t n);
/* Serve until vc_serve_stop, then drain in-flight requests (bounded by
 * drain_timeout) and join the workers.  Returns VC_EOK or a VC_E code. */
int vc_serve_run(vc_ctx *ctx, struct vc_serve *srv);
/* Ask vc_serve_run to stop.  Safe from any thread (not a signal handler). */
void vc_serve_stop(struct vc_serve *srv);
void vc_serve_free(struct vc_serve *srv);

#endif
