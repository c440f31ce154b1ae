#!/bin/sh
# SPDX-License-Identifier: MIT
# A 100,000-event run of vc-notify forward --follow to a Splunk HEC
# (tests/peers/hec.py) that dies in the middle (SIGKILL after it logged
# a batch and before it answered) and is started again: afterwards every
# event has arrived at least once, a duplicate is the same event (same
# id, type, time), the order of first arrivals is the log's order, the
# cursor is the last event's id, nothing went to the dead list, and the
# forwarder's memory stayed flat.  Every audit record is an event too
# (type audit: the channel's own, the failed runs'), so the channel takes
# --type 'threat_score.*' and the ids of the 100,000 are asked of the store.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
N=100000
TOKEN=5b0c7f3e-hec-crash-test
listen() { "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $1))" 2>/dev/null; }
cursor_is() { [ "$(sq "SELECT cursor FROM notify_channels WHERE name = 'hec'")" = "$1" ]; }
logged() { [ "$(wc -l < "$T/hec.log")" -ge "$1" ]; }

init_store
export VC_ALLOW_VELOCIRAPTOR=127.0.0.1
TENANT=$(sq "SELECT id FROM tenants WHERE name = 'acme'")
PORT=$(free_port)
printf '%s\n' "$TOKEN" | vc-notify channel add hec --kind splunk-hec --target "http://127.0.0.1:$PORT" \
	--type 'threat_score.*' --since 0 --password-stdin > /dev/null
ok $? "a splunk-hec channel of the scores, from the first event"
# No tool makes 100,000 events at once (each import or score run adds a
# few), so they are written as the tools write them, in one transaction:
# a type, the tenant, a time and a JSON body.
body="json_object('score', (i % 100) / 100.0, 'subject', 'host-' || i)"
[ "$STORE_PG" = 1 ] && body="json_build_object('score', ((i % 100) / 100.0)::float8, 'subject', 'host-' || i)::text"
sq "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
    INSERT INTO events (tenant_id, type, created_at, body)
    SELECT '$TENANT', 'threat_score.created', 1796000000 + i / 100, $body FROM n"
FIRST=$(sq "SELECT MIN(id) FROM events WHERE type = 'threat_score.created'")
LAST=$(sq "SELECT MAX(id) FROM events WHERE type = 'threat_score.created'")
is "$(sq "SELECT COUNT(*) FROM events WHERE type = 'threat_score.created'"):$((LAST - FIRST + 1))" "$N:$N" \
	"$N events in the log, ids $FIRST to $LAST"

"$PY" "$TOP/tests/peers/hec.py" "$PORT" "$T/hec.log" "$TOKEN" --die-after 30000 &
HEC=$!
echo $HEC >> "$T/pids"
await 10 listen "$PORT"
ok $? "the HEC listens"
vc-notify forward --channel hec --follow > "$T/follow" 2> "$T/follow.err" &
FP=$!
echo $FP >> "$T/pids"
await 60 gone $HEC
ok $? "the HEC dies in the middle of the run"
n=$(wc -l < "$T/hec.log")
ok $([ "$n" -ge 30000 ] && [ "$n" -lt $N ]; echo $?) "... after it logged $n events"
"$PY" "$TOP/tests/peers/hec.py" "$PORT" "$T/hec.log" "$TOKEN" &
echo $! >> "$T/pids"
await 10 listen "$PORT"
ok $? "it is started again"
await 120 cursor_is "$LAST"
ok $? "the forwarder carries on to the last event"
mem=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$FP/status")
kill -TERM $FP
wait $FP
is "$?" 0 "SIGTERM ends forward --follow with exit 0"
like "$(cat "$T/follow")" '"error":"channel hec: ' "the failure while the HEC was down was reported"

check=$("$PY" - "$T/hec.log" "$FIRST" "$LAST" <<'PY'
import json, sys
first, seen, dups, bad = [], {}, 0, []
for line in open(sys.argv[1]):
    e = json.loads(line)
    key = (e["type"], e["time"], e["tenant"])
    if e["id"] in seen:
        dups += 1
        if seen[e["id"]] != key:
            bad.append(e["id"])
    else:
        seen[e["id"]] = key
        first.append(e["id"])
lo, hi = int(sys.argv[2]), int(sys.argv[3])
want = list(range(lo, hi + 1))
print("all" if sorted(seen) == want else "missing %d, %d other" % (len(set(want) - set(seen)), len(set(seen) - set(want))),
      "ordered" if first == sorted(first) else "unordered",
      "dups>0" if dups > 0 else "nodups", "dups<=1000" if dups <= 1000 else "dups=%d" % dups,
      "same" if not bad else "differ:%s" % bad[:5])
PY
)
is "$check" "all ordered dups>0 dups<=1000 same" \
	"every event arrived, first arrivals in order, the unacknowledged batch again with the same events"
is "$(sq "SELECT cursor || ' ' || failures FROM notify_channels WHERE name = 'hec'")" "$LAST 0" \
	"the cursor is the last event's id, no failure pending"
is "$(sq "SELECT COUNT(*) FROM notify_dead")" 0 "nothing went to the dead list"
ok $([ "$mem" -lt "$(mem_limit)" ]; echo $?) "the forwarder's memory stayed flat: $mem KiB peak"

done_testing
