#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# webhook.py - a webhook receiver for tests/cli/62-notify-forward.t.
#   webhook.py PORT LOG SECRET [FAIL]
# Listens on 127.0.0.1:PORT; for each POST checks X-VC-Signature
# (HMAC-SHA256 of the body under SECRET) and appends one line to LOG:
# {"ok": signature matched, "events": [ids], "header": X-VC-Events,
#  "status": what it answered, "t": when}, or for a chat's message
# (a webhook of --format slack, teams or mattermost) {"ok", "body": the
# message, "status", "t"}.  A body without "events" (a vc-playbook
# webhook step) is logged as {"doc": the body, "status", "agent"}.  The
# first FAIL requests get 500.
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

PORT, LOG, SECRET = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode()
fails = [int(sys.argv[4]) if len(sys.argv) > 4 else 0]


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        want = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        got = self.headers.get("X-VC-Signature", "")
        status = 200
        if fails[0] > 0:
            fails[0] -= 1
            status = 500
        doc = json.loads(body)
        agent = self.headers.get("User-Agent", "")
        if "events" not in doc and agent.startswith("vc-playbook/"):
            # a playbook's webhook step: the document as it came
            with open(LOG, "a") as f:
                f.write(json.dumps({"doc": doc, "status": status,
                                    "agent": self.headers.get("User-Agent")}) + "\n")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(LOG, "a") as f:
            if "events" not in doc:     # a chat's message (--format slack ...)
                f.write(json.dumps({"ok": hmac.compare_digest(want, got), "body": doc,
                                    "status": status, "t": time.time()}) + "\n")
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            f.write(json.dumps({"ok": hmac.compare_digest(want, got),
                                "events": [e["id"] for e in doc["events"]],
                                "types": [e["type"] for e in doc["events"]],
                                "channel": doc["channel"],
                                "header": self.headers.get("X-VC-Events"),
                                "status": status, "t": time.time()}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", PORT), Hook).serve_forever()
