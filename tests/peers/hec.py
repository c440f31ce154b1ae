#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# hec.py - a Splunk HTTP Event Collector for the tests and bench/.
#   hec.py PORT LOG TOKEN [--fail N] [--bad ID] [--die-after N] [--count-only]
#          [--tls CERT KEY] [--delay SECONDS]
# Listens on 127.0.0.1:PORT for POST /services/collector/event, the
# events concatenated JSON objects (Splunk's batch form), and answers as
# Splunk does: 401 {"text":"Token is required","code":2} without an
# Authorization header, 403 {"text":"Invalid token","code":4} for another
# token than "Splunk TOKEN", 200 {"text":"Success","code":0} for a batch
# taken.  Each event taken is appended to LOG as one line of compact JSON
# {"id", "type", "tenant", "time", "index"} and the log flushed before the
# answer, so that a receiver killed mid-batch leaves what it had taken.
# --fail N: the first N batches get 503 {"text":"Server is busy","code":9}.
# --die-after N: once N events in all are logged, the receiver kills
# itself (SIGKILL) before it answers: a crash in the middle of a run,
# the batch logged but never acknowledged.
# --bad ID: a batch holding the event of id ID gets 400 {"text":"Invalid
# data format","code":6,"invalid-event-number":K} (K its place, from 0)
# and nothing of it is kept.  --count-only: events are counted, not
# parsed or logged (the benchmark); the count is written to LOG at exit
# (SIGTERM).  --tls: HTTPS with that certificate and key.  --delay: each
# batch taken is logged, then answered SECONDS later (a slow collector: a
# forwarder stopped meanwhile never sees the answer).
import json
import os
import signal
import sys
import time

from collector import Handler, serve

args = sys.argv[1:]
PORT, LOG, TOKEN = int(args[0]), args[1], args[2]
opts = {"--fail": 0, "--bad": -1, "--die-after": 0}
count_only = "--count-only" in args
delay = float(args[args.index("--delay") + 1]) if "--delay" in args else 0.0
for k in opts:
    if k in args:
        opts[k] = int(args[args.index(k) + 1])
fails = [opts["--fail"]]
seen = [0]
log = open(LOG, "a")


def events(body):
    dec = json.JSONDecoder()
    text = body.decode()
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            return
        obj, i = dec.raw_decode(text, i)
        yield obj


class Hec(Handler):
    def do_POST(self):
        body = self.body()
        auth = self.headers.get("Authorization")
        if self.path != "/services/collector/event":
            return self.answer(404, {"text": "The requested URL was not found", "code": 404})
        if auth is None:
            return self.answer(401, {"text": "Token is required", "code": 2})
        if auth != "Splunk " + TOKEN:
            return self.answer(403, {"text": "Invalid token", "code": 4})
        if fails[0] > 0:
            fails[0] -= 1
            return self.answer(503, {"text": "Server is busy", "code": 9})
        if count_only:
            seen[0] += body.count(b"\n")
            return self.answer(200, {"text": "Success", "code": 0})
        try:
            evs = list(events(body))
        except ValueError:
            return self.answer(400, {"text": "Invalid data format", "code": 6,
                                     "invalid-event-number": 0})
        for k, e in enumerate(evs):
            if "event" not in e or e["event"].get("id") == opts["--bad"]:
                return self.answer(400, {"text": "Invalid data format", "code": 6,
                                         "invalid-event-number": k})
        for e in evs:
            log.write(json.dumps({"id": e["event"]["id"], "type": e["event"]["type"],
                                  "tenant": e["fields"]["tenant_id"], "time": e["time"],
                                  "index": e.get("index")}, separators=(",", ":")) + "\n")
        log.flush()
        seen[0] += len(evs)
        if opts["--die-after"] and seen[0] >= opts["--die-after"]:
            os.kill(os.getpid(), signal.SIGKILL)
        if delay > 0:
            time.sleep(delay)
        try:
            self.answer(200, {"text": "Success", "code": 0})
        except OSError:
            pass        # the forwarder went away (--delay)


tls = args[args.index("--tls") + 1:args.index("--tls") + 3] if "--tls" in args else None
serve(PORT, Hec, log, count_only, seen, tls)
