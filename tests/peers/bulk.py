#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# bulk.py - an Elasticsearch _bulk endpoint for the tests and bench/.
#   bulk.py PORT LOG [--key APIKEY] [--bad ID] [--fail N] [--count-only]
# Listens on 127.0.0.1:PORT for POST /_bulk (NDJSON: an action line and
# a document line per item) and answers as Elasticsearch does, with
# "errors" and one item per action ({"index": {"_index", "_id",
# "status", "error"}}), only status and error when the query has
# filter_path.  An item is refused (400 mapper_parsing_exception) when
# its document lacks @timestamp, event.id equal to _id, event.kind,
# event.action or organization.id, or when _id is ID (--bad); the other
# items of the batch are indexed.  Each indexed document is appended to
# LOG as {"_index", "_id", "doc"}, flushed before the answer.  With
# --key, "Authorization: ApiKey APIKEY" is required (401 otherwise).
# --fail N: the first N requests get 503.  --count-only: items counted,
# not parsed; the count is written to LOG at SIGTERM (the benchmark).
import json
import sys

from collector import Handler, serve

args = sys.argv[1:]
PORT, LOG = int(args[0]), args[1]
key = args[args.index("--key") + 1] if "--key" in args else None
bad = args[args.index("--bad") + 1] if "--bad" in args else None
fails = [int(args[args.index("--fail") + 1]) if "--fail" in args else 0]
count_only = "--count-only" in args
seen = [0]
log = open(LOG, "a")
NEED = [("@timestamp",), ("event", "kind"), ("event", "action"), ("organization", "id")]


def get(d, path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


class Bulk(Handler):
    def do_POST(self):
        body = self.body()
        path, _, query = self.path.partition("?")
        if path != "/_bulk":
            return self.answer(404, {"error": "no handler", "status": 404})
        if key is not None and self.headers.get("Authorization") != "ApiKey " + key:
            return self.answer(401, {"error": {"type": "security_exception"}, "status": 401})
        if self.headers.get("Content-Type") != "application/x-ndjson":
            return self.answer(406, {"error": "Content-Type must be application/x-ndjson",
                                     "status": 406})
        if fails[0] > 0:
            fails[0] -= 1
            return self.answer(503, {"error": {"type": "unavailable"}, "status": 503})
        if count_only:
            seen[0] += body.count(b"\n") // 2
            return self.answer(200, {"errors": False})
        lines = body.decode().split("\n")
        if lines[-1] != "":
            return self.answer(400, {"error": {"type": "illegal_argument_exception",
                                               "reason": "The bulk request must be terminated"
                                                         " by a newline"}, "status": 400})
        items, errors = [], False
        for k in range(0, len(lines) - 1, 2):
            act = json.loads(lines[k])["index"]
            doc = json.loads(lines[k + 1])
            item = {"_index": act["_index"], "_id": act["_id"], "status": 201}
            if act["_id"] == bad or get(doc, ("event", "id")) != act["_id"] or \
                    any(get(doc, p) is None for p in NEED):
                item = {"_index": act["_index"], "_id": act["_id"], "status": 400,
                        "error": {"type": "mapper_parsing_exception",
                                  "reason": "failed to parse document " + act["_id"]}}
                errors = True
            else:
                log.write(json.dumps({"_index": act["_index"], "_id": act["_id"], "doc": doc},
                                     separators=(",", ":")) + "\n")
            if query:
                item = {k: v for k, v in item.items() if k in ("status", "error")}
            items.append({"index": item})
        log.flush()
        self.answer(200, {"errors": errors, "items": items} if query else
                    {"took": 1, "errors": errors, "items": items})


serve(PORT, Bulk, log, count_only, seen)
