# SPDX-License-Identifier: MIT
# collector.py - what tests/peers/hec.py and bulk.py share: a handler
# that answers JSON over HTTP/1.1 (one connection for many batches, as a
# forwarder keeps it), and a serve() that, with --count-only, writes the
# count of events taken to the log at SIGTERM, and with tls (a
# certificate and key file) answers over HTTPS.
import json
import signal
import ssl
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The status line and headers, then the body, are two writes: without
    # TCP_NODELAY the second waits for the client's delayed ACK (40 ms a
    # request).
    disable_nagle_algorithm = True

    def answer(self, status, doc):
        b = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def log_message(self, *args):
        pass


def serve(port, handler, log, count_only, seen, tls=None):
    def stop(*_):
        if count_only:
            log.write("%d\n" % seen[0])
            log.flush()
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    srv = HTTPServer(("127.0.0.1", port), handler)
    if tls is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls[0], tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()
