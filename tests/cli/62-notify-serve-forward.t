#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-serve's own forwarder (--forward-interval) against a real Splunk HEC
# receiver (tests/peers/hec.py): events a CLI writes while it runs
# arrive, every tenant's channels but file ones; beside a vc-notify
# forward --once from "cron" on the same store no event is sent twice
# (one forwarder at a time a channel: the other says busy); a receiver
# that is down is retried with backoff; a stop in the middle of a
# delivery is prompt and clean (the claim given back, the batch sent
# again by the next forwarder); --forward-interval 0 forwards nothing.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PW='sturdy tuna lantern'
TOKEN=8d2f6c1e-5a4b-4c3d-9e8f-0a1b2c3d4e5f
cursor() { sq "SELECT cursor FROM notify_channels WHERE name = '$1'"; }
failures() { sq "SELECT failures FROM notify_channels WHERE name = '$1'"; }
listen() { "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $1))" 2>/dev/null; }
start_hec() {
	"$PY" "$TOP/tests/peers/hec.py" "$HPORT" "$T/hec.log" "$TOKEN" "$@" &
	HEC=$!
	echo $HEC >> "$T/pids"
	await 10 listen "$HPORT"
}
stop() { kill "$1"; wait "$1" 2>/dev/null; }
# The ids of tenant $1's case events, in order.
cases() { tenant_events "$1" 'case.*'; }
# The ids the HEC took, in the order it took them.
got() { jq -r .id "$T/hec.log" 2>/dev/null | paste -sd' ' -; }
has() { [ "$(got)" = "$1" ]; }
start_serve() {
	vc-serve --listen "127.0.0.1:$PORT" --workers 2 --playbook-interval 0 "$@" 2> "$T/serve.log" &
	SP=$!
	echo $SP >> "$T/pids"
	await 60 grep -qs 'listening on' "$T/serve.log"
}
req() {
	code=$(curl -s --max-time 20 -o "$T/b" -w '%{http_code}' "$@")
	body=$(cat "$T/b")
}

init_store
vc-auth tenant create globex > /dev/null
printf '%s\n' "$PW" | vc-auth user create gina --role admin --tenant globex --password-stdin > /dev/null
GINA=$(login_as gina "$PW")
export VC_ALLOW_VELOCIRAPTOR=127.0.0.1
HPORT=$(free_port)
PORT=$(free_port)
B=http://127.0.0.1:$PORT

run vc-serve --forward-interval soon
is "$rc" 64 "--forward-interval takes seconds: exit 64"
run_in "$TOKEN" vc-notify channel add hec --kind splunk-hec --target "http://127.0.0.1:$HPORT" \
	--type 'case.*' --batch 2 --password-stdin
is "$rc" 0 "acme: a splunk-hec channel of case events, batches of 2"
run vc-notify channel add local --kind file --target "$T/local.jsonl" --type 'case.*' -o jsonl
L0=$(jqr .cursor)
with_in "$TOKEN" "$GINA" vc-notify channel add ghec --kind splunk-hec --target "http://127.0.0.1:$HPORT" \
	--source rules --password-stdin
is "$rc" 0 "globex: a channel of rules only, to the same collector"
start_hec
ok $? "the HEC listens"
start_serve
ok $? "vc-serve starts, its forwarder on by default"

# ---- events a CLI writes while it runs -----------------------------------------------------
req -X POST -H "Authorization: Bearer $GINA" -H 'Content-Type: application/json' \
	-d '{"on": "case.*", "when": ".severity == \"critical\"", "to": "channel:ghec"}' "$B/api/notifications/rules"
is "$code:$(printf '%s' "$body" | jq -r .to)" "201:channel:ghec" "POST /api/notifications/rules to a channel: 201"
req -X POST -H "Authorization: Bearer $GINA" -H 'Content-Type: application/json' \
	-d '{"on": "case.*", "to": "channel:hec"}' "$B/api/notifications/rules"
is "$code" 404 "... to another tenant's channel: 404"
for i in 1 2 3; do vc-case create "acme $i" > /dev/null; done
VC_TOKEN=$GINA vc-case create 'globex low' --severity low > /dev/null
VC_TOKEN=$GINA vc-case create 'globex critical' --severity critical > /dev/null
A=$(cases acme)
G=$(cases globex)
AT=$(sq "SELECT id FROM tenants WHERE name = 'acme'")
GT=$(sq "SELECT id FROM tenants WHERE name = 'globex'")
# (one channel after the other: the tenants' events in either order)
sorted() { jq -r .id "$T/hec.log" 2>/dev/null | sort -n | paste -sd' ' -; }
in_all() { [ "$(sorted)" = "$1" ]; }
await 20 in_all "$A ${G##* }"
ok $? "vc-serve delivers the events the CLI wrote, within seconds"
is "$(jq -r "select(.tenant == \"$AT\") | .id" "$T/hec.log" | paste -sd' ' -)" "$A" \
	"... acme's case events, in order, as acme's"
is "$(jq -r "select(.tenant == \"$GT\") | .id" "$T/hec.log" | paste -sd' ' -)" "${G##* }" \
	"... and globex's critical one its rule sent, as globex's"
is "$(cursor hec):$(failures hec)" "${A##* }:0" "the channel's cursor moved"
is "$(sq "SELECT COUNT(*) FROM notify_channels WHERE lease_until > 0")" 0 "no claim is left held after a pass"
is "$(cursor local):$(test -e "$T/local.jsonl" && echo written)" "$L0:" \
	"a file channel is left to vc-notify forward (vc-serve never writes files)"
run vc-notify forward --channel local --once -o jsonl
is "$rc:$(jq -r .id "$T/local.jsonl" | paste -sd' ' -)" "0:$A" "... which delivers it from cron"

# ---- beside vc-notify forward --once from cron --------------------------------------------------
stop $HEC
: > "$T/hec.log"
start_hec --delay 0.3
BEFORE=$(cursor hec)
: > "$T/cron.out"
for i in $(seq 1 20); do vc-case create "burst $i" > /dev/null; done
# Once vc-serve is at it (a batch of 2 takes 0.3 s), cron runs too,
# impatient: a run every 0.2 s.
await 20 test -s "$T/hec.log"
(
	end=$(( $(date +%s) + 30 ))
	while [ ! -e "$T/cron.stop" ] && [ "$(date +%s)" -lt "$end" ]; do
		vc-notify forward --channel hec --once -o jsonl >> "$T/cron.out" 2>&1
		sleep 0.2
	done
) &
CRON=$!
N=$(sq "SELECT COUNT(*) FROM events e JOIN tenants t ON t.id = e.tenant_id WHERE t.name = 'acme'
	AND $(sq_glob e.type 'case.*') AND e.id > $BEFORE")
WANT=$(sq "SELECT e.id FROM events e JOIN tenants t ON t.id = e.tenant_id
	WHERE t.name = 'acme' AND $(sq_glob e.type 'case.*') AND e.id > $BEFORE ORDER BY e.id" | paste -sd' ' -)
await 60 has "$WANT"
ok $? "the 20 events arrive, vc-serve and cron forwarding the same channel"
touch "$T/cron.stop"
wait $CRON
is "$(jq -r .id "$T/hec.log" | sort -n | uniq -d | paste -sd' ' -)" "" "none twice"
is "$(got)" "$WANT" "all $N, in order"
like "$(jq -r 'select(.busy != null) | .busy' "$T/cron.out" | sort -u | paste -sd' ' -)" '^vc-serve@' \
	"cron's runs found the channel busy, held by vc-serve"
unlike "$(jq -r '.error // empty' "$T/cron.out")" '.' "... which is no error"
# (The cursor moves once the receiver has answered: wait for it too.)
cursor_is() { [ "$(cursor "$1")" = "$2" ]; }
await 20 cursor_is hec "${WANT##* }"
is "$(cursor hec)" "${WANT##* }" "the cursor is at the last one"

# ---- the receiver down: retried with backoff --------------------------------------------------
stop $HEC
: > "$T/hec.log"
vc-case create 'while down' > /dev/null
DOWN=$(cases acme)
DOWN=${DOWN##* }
# failures_are NAME OP N: the channel's failures compare so (test's -ge, -eq).
failures_are() { [ "$(failures "$1")" "$2" "$3" ]; }
await 20 failures_are hec -ge 2
ok $? "vc-serve tries again and again while the collector is down"
like "$(cat "$T/serve.log")" "forward: tenant [0-9a-f-]+, channel hec: .*retried with backoff" "... and says so in its log"
start_hec
# The next try comes after the backoff (1 s, doubled each failure, +-20%):
# a loaded machine may have counted a few failures more before this.
await 90 has "$DOWN"
ok $? "the collector back: the event arrives"
await 10 failures_are hec -eq 0
ok $? "... and the failures are cleared"
await 20 cursor_is hec "$DOWN"
is "$(cursor hec)" "$DOWN" "the cursor is at it"

# ---- a stop in the middle of a delivery ------------------------------------------------------------
stop $HEC
: > "$T/hec.log"
start_hec --delay 30
vc-case create 'at the stop' > /dev/null
STOPPED=$(cases acme)
STOPPED=${STOPPED##* }
await 20 has "$STOPPED"
ok $? "vc-serve sends an event; the collector takes 30 s to answer"
like "$(vc-notify channel list -o jsonl | jq -r 'select(.name == "hec") | .forwarder')" '^vc-serve@' \
	"channel list: vc-serve holds the channel while it delivers"
run vc-notify forward --channel hec --once -o jsonl
is "$rc:$(jqr .delivered)" "0:0" "a forward --once meanwhile leaves it alone ..."
like "$(jqr .busy)" '^vc-serve@' "... busy: vc-serve holds it"
t0=$(date +%s)
kill -TERM $SP
wait $SP
src=$?
t1=$(date +%s)
is "$src" 0 "vc-serve stops with exit 0"
ok $(( t1 - t0 > 5 )) "... at once, the delivery under way cut short (not 10 s of HTTP timeout): $((t1 - t0)) s"
like "$(tail -n 1 "$T/serve.log")" 'stopped' "... its log ends with 'stopped'"
is "$(sq "SELECT lease_until || ' ' || COALESCE(lease_holder, 'none') FROM notify_channels WHERE name = 'hec'")" "0 none" \
	"... its claim given back"
is "$(cursor hec):$(failures hec)" "$DOWN:0" \
	"... the cursor still before the event it never heard back about, no failure counted"
stop $HEC
start_hec
run vc-notify forward --channel hec --once -o jsonl
is "$rc:$(jqr .delivered):$(jqr .busy)" "0:1:null" "cron's next run is not kept waiting: it sends the event again"
is "$(jq -r .id "$T/hec.log" | paste -sd' ' -)" "$STOPPED $STOPPED" \
	"the collector has it twice, the same id: at least once, as documented"

# ---- --forward-interval 0 -------------------------------------------------------------------------
start_serve --forward-interval 0
ok $? "vc-serve --forward-interval 0 starts"
C0=$(cursor hec)
vc-case create 'not forwarded' > /dev/null
sleep 2
is "$(cursor hec)" "$C0" "... and forwards nothing"
kill -TERM $SP
wait $SP
is "$?" 0 "... and stops cleanly"

done_testing
