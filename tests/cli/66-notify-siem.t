#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-notify channels of kind splunk-hec and elastic against real local
# receivers (tests/peers/hec.py, tests/peers/bulk.py): the HEC token
# sealed and sent as "Authorization: Splunk", batches, ECS fields, the
# collectors' answers read (a busy HEC, an invalid event, _bulk's
# per-item errors), the allow-list, and the dead-letter list: an event
# that fails max-failures times in a row is set aside, the cursor moves
# on, and dead retry delivers it once the receiver takes it.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
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
# Every audit record is an event too (type audit), so the channels of
# case events say --type 'case.*' and the ids of acme's case events are
# asked of the store: all of them, or the Nth (from 1).
ids() { tenant_events acme 'case.*'; }
ev() { tenant_events acme 'case.*' "$1"; }

init_store
vc-auth tenant create globex > /dev/null
for i in 1 2 3; do vc-case create "case $i" > /dev/null; done
TENANT=$(sq "SELECT id FROM tenants WHERE name = 'acme'")
HPORT=$(free_port)
EPORT=$(free_port)

# ---- channel add ------------------------------------------------------------------
run vc-notify channel add hec --kind splunk-hec --target "http://127.0.0.1:$HPORT" --since 0
is "$rc" 64 "a splunk-hec channel needs its token"
like "$err" 'HEC token' "... and says so"
run_in "$TOKEN" vc-notify channel add hec --kind splunk-hec --target "http://127.0.0.1:$HPORT" \
	--since 0 --password-stdin
is "$rc" 77 "127.0.0.1 is not a destination the installation allows: exit 77"
like "$err" 'loopback.*VC_ALLOW_VELOCIRAPTOR' "... the message says why and what allows it"
run_in "$TOKEN" vc-notify channel add byname --kind splunk-hec --target "http://localhost:$HPORT" \
	--since 0 --password-stdin
is "$rc" 0 "a name is not looked up when the channel is added (inside its transaction)"
run vc-notify forward --channel byname --once -o jsonl
is "$rc:$(sq "SELECT cursor || ' ' || failures FROM notify_channels WHERE name = 'byname'")" "77:0 0" \
	"... but at each delivery: localhost is loopback, refused, exit 77 (not the event's failure)"
like "$(jqr .error)" 'not a destination this installation allows' "... and says so"
run vc-notify channel delete byname
export VC_ALLOW_VELOCIRAPTOR=127.0.0.1
run_in "$TOKEN" vc-notify channel add hec --kind splunk-hec --target "ftp://127.0.0.1:$HPORT" --password-stdin
is "$rc" 64 "a collector's target is an http(s) URL"
run_in "$TOKEN" vc-notify channel add hec --kind splunk-hec --target "http://u@127.0.0.1:$HPORT" --password-stdin
is "$rc" 64 "... without a user part"
run_in "$TOKEN" vc-notify channel add hec --kind file --target "$T/x" --index foo --password-stdin
is "$rc" 64 "--index is for splunk-hec and elastic"
run_in "$TOKEN" vc-notify channel add hec --kind splunk-hec --target "http://127.0.0.1:$HPORT" \
	--batch 0 --password-stdin
is "$rc" 64 "--batch 0 is refused"
run_in "$TOKEN" vc-notify channel add hec --kind splunk-hec --target "http://127.0.0.1:$HPORT/" \
	--type 'case.*' --since 0 --batch 2 --max-failures 3 --index main --password-stdin -o jsonl
is "$rc:$(jqr '"\(.kind) \(.batch) \(.max_failures) \(.index) \(.cursor)"')" "0:splunk-hec 2 3 main 0" \
	"a splunk-hec channel: batch, max-failures, index"
unlike "$out" "$TOKEN" "the token is not shown"
unlike "$(sq "SELECT secret_sealed FROM notify_channels WHERE name = 'hec'")" "$TOKEN" "... and stored sealed"
run vc-notify channel list -o jsonl
unlike "$out" "$TOKEN" "channel list never shows it"

# ---- HEC ---------------------------------------------------------------------------------
run vc-notify channel test hec -o jsonl
is "$rc:$(jqr .sent)" "69:false" "channel test while the collector is down: exit 69"
run vc-notify forward --channel hec --once -o jsonl
is "$rc:$(cursor hec):$(failures hec)" "69:0:1" "the collector is down: exit 69, cursor stays, one failure"
start_hec --fail 1
ok $? "the HEC listens"
run vc-notify channel test hec -o jsonl
is "$rc:$(jqr .sent):$(cursor hec):$(failures hec)" "69:false:0:1" \
	"channel test, the HEC busy: exit 69; the cursor and the failures are not the test's"
run vc-notify channel test hec -o jsonl
is "$rc:$(jqr .sent)" "0:true" "channel test: the HEC took the test event"
is "$(jq -r '"\(.id) \(.type)"' "$T/hec.log")" "0 notify.test" "... id 0, type notify.test"
: > "$T/hec.log"
stop $HEC
start_hec --fail 1
run vc-notify forward --channel hec --once -o jsonl
is "$rc:$(cursor hec):$(failures hec)" "69:0:2" "a busy HEC (503): exit 69, the cursor stays"
like "$(jqr .error)" 'HTTP 503: Server is busy' "... with the collector's text"
run vc-notify forward --channel hec --once -o jsonl
E1=$(ev 1) E2=$(ev 2) E3=$(ev 3)
is "$rc:$(jqr .delivered):$(cursor hec):$(failures hec)" "0:3:$E3:0" "then the three events, in batches of 2"
is "$(jq -r .id "$T/hec.log" | paste -sd' ' -)" "$E1 $E2 $E3" "the HEC has them in order"
is "$(ids)" "$E1 $E2 $E3" "... and they are all of acme's case events"
is "$(jq -r '"\(.type) \(.tenant) \(.index)"' "$T/hec.log" | sort -u)" "case.created $TENANT main" \
	"... with type, tenant and index"
TOKEN_WAS=$TOKEN
stop $HEC
TOKEN=wrong start_hec
vc-case create 'case 4' > /dev/null
E4=$(ev 4)
run vc-notify forward --channel hec --once -o jsonl
is "$rc:$(cursor hec)" "69:$E3" "another token: 403 Invalid token, the cursor stays"
like "$(jqr .error)" 'HTTP 403: Invalid token' "... and says so"
stop $HEC
TOKEN=$TOKEN_WAS

# A bad event in a batch: the HEC names it, the ones before it go, it
# fails max-failures (3) times in a row and goes to the dead list.
vc-case create 'case 5' > /dev/null
vc-case create 'case 6' > /dev/null
E5=$(ev 5) E6=$(ev 6)
start_hec --bad "$E5"
sq "UPDATE notify_channels SET failures = 0 WHERE name = 'hec'"
run vc-notify forward --channel hec --once -o jsonl
is "$rc:$(cursor hec):$(failures hec)" "69:$E4:1" "event 5 is invalid: 4 goes in a smaller batch, 5 fails once"
like "$(jqr .error)" 'Invalid data format \(event 1 of the batch\)' "... the collector named it"
run vc-notify forward --channel hec --once -o jsonl
run vc-notify forward --channel hec --once -o jsonl
is "$rc:$(cursor hec):$(failures hec)" "69:$E4:3" "three failures in a row at event 5"
run vc-notify dead list -o jsonl
is "$out" "" "nothing dead yet"
run vc-notify forward --channel hec --once -o jsonl
is "$rc:$(jqr '"\(.dead) \(.delivered) \(.cursor)"')" "0:1 1 $E6" \
	"the next run sets 5 aside and delivers 6: the cursor moves on"
is "$(jq -r .id "$T/hec.log" | paste -sd' ' -)" "$E1 $E2 $E3 $E4 $E6" "the HEC has all but 5"
run vc-notify dead list -o jsonl
is "$(jqr '"\(.channel) \(.event_id) \(.type) \(.failures)"')" "hec $E5 case.created 3" "dead list: event 5 of hec"
like "$(jqr .last_error)" 'Invalid data format' "... with its last error"
DEAD=$(jqr .id)
run vc-notify dead list --channel nope
is "$rc" 66 "dead list of an unknown channel: exit 66"
run vc-notify dead retry "$DEAD" -o jsonl
is "$rc:$(jqr .delivered)" "69:0" "dead retry while the HEC still refuses it: exit 69"
is "$(sq "SELECT failures FROM notify_dead")" 4 "... its failures counted"
stop $HEC
start_hec
run vc-notify dead retry "$DEAD" -o jsonl
is "$rc:$(jqr .delivered)" "0:1" "dead retry ID once the HEC takes it"
is "$(jq -r .id "$T/hec.log" | tail -n 1):$(sq "SELECT COUNT(*) FROM notify_dead")" "$E5:0" \
	"... it arrived and left the dead list"
run vc-notify dead retry "$DEAD"
is "$rc" 66 "retrying it again: exit 66"
run vc-notify dead retry
is "$rc" 64 "dead retry needs an ID or --all"
stop $HEC

# ---- Elasticsearch _bulk ---------------------------------------------------------------------
run_in "apikey-123" vc-notify channel add es --kind elastic --target "http://127.0.0.1:$EPORT" \
	--type 'case.*' --since 0 --batch 4 --index vc-test --max-failures 2 --password-stdin -o jsonl
is "$rc:$(jqr '"\(.kind) \(.batch) \(.index)"')" "0:elastic 4 vc-test" "an elastic channel with an API key"
"$PY" "$TOP/tests/peers/bulk.py" "$EPORT" "$T/es.log" --key apikey-123 --bad "$E3" &
ES=$!
echo $ES >> "$T/pids"
await 10 listen "$EPORT"
run vc-notify forward --channel es --once -o jsonl
is "$rc:$(cursor es):$(failures es)" "69:$E2:1" "_bulk refuses item 3: 1 and 2 count, the cursor stops before 3"
like "$(jqr .error)" "status 400 mapper_parsing_exception: failed to parse document $E3" \
	"... with the item's error"
is "$(jq -r ._id "$T/es.log" | paste -sd' ' -)" "$E1 $E2 $E4" "item 4 of the batch was indexed all the same"
run vc-notify forward --channel es --once -o jsonl
is "$rc:$(cursor es):$(failures es)" "69:$E2:2" "3 fails again: two in a row"
run vc-notify forward --channel es --once -o jsonl
is "$rc:$(jqr '"\(.dead) \(.cursor)"')" "0:1 $E6" "--max-failures 2: the next run sets 3 aside, the rest goes"
is "$(jq -r ._id "$T/es.log" | sort -n | uniq | paste -sd' ' -)" "$E1 $E2 $E4 $E5 $E6" "every document but 3 is indexed"
is "$(jq -r ._id "$T/es.log" | sort -n | uniq -d | paste -sd' ' -)" "$E4 $E5 $E6" \
	"4, 5 and 6 came again with the batch (at least once), under the same _id"
is "$(jq -r --arg id "$E1" 'select(._id == $id) | .doc | "\(.event.id) \(.event.kind) \(.event.action) \(.event.sequence) \(.organization.id) \(.velocicompanion.body.subject)"' "$T/es.log")" \
	"$E1 event case.created $E1 $TENANT case 1" "ECS: event.id, event.kind, event.action, organization.id, the body"
like "$(jq -r --arg id "$E1" 'select(._id == $id) | .doc["@timestamp"]' "$T/es.log")" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' \
	"... @timestamp in RFC 3339"
is "$(jq -r '._index' "$T/es.log" | sort -u)" vc-test "... in the channel's index"
stop $ES
"$PY" "$TOP/tests/peers/bulk.py" "$EPORT" "$T/es.log" --key apikey-123 &
ES=$!
echo $ES >> "$T/pids"
await 10 listen "$EPORT"
run vc-notify dead retry --all --channel es -o jsonl
is "$rc:$(jqr .delivered):$(sq "SELECT COUNT(*) FROM notify_dead")" "0:1:0" "dead retry --all: 3 is indexed now"

# The audit chain, forwarded with its hashes.
run_in apikey-123 vc-notify channel add audit --kind elastic --target "http://127.0.0.1:$EPORT" \
	--source audit --since 0 --index vc-audit --password-stdin -o jsonl
is "$rc:$(jqr .source)" "0:audit" "an elastic channel of the audit chain"
want=$(sq "SELECT COUNT(*) || ':' || MAX(id) FROM audit_logs WHERE chain = '$TENANT'")
run vc-notify forward --channel audit --once -o jsonl
is "$rc:$(jqr .delivered):$(jqr .cursor)" "0:$want" \
	"every record of acme's chain went, the cursor at its last audit id (the run's own comes next time)"
jq -c 'select(._index == "vc-audit")' "$T/es.log" > "$T/audit.docs"
is "$(jq -r '.doc.organization.id' "$T/audit.docs" | sort -u)" "$TENANT" "... none of another chain"
is "$(jq -r '"\(._id) \(.doc.velocicompanion.body.mac)"' "$T/audit.docs" | head -n 3)" \
	"$(sq "SELECT 'audit-' || id || ' ' || mac FROM audit_logs WHERE chain = '$TENANT' ORDER BY id LIMIT 3")" \
	"each with its _id audit-ID and the chain's mac"
is "$(jq -s -r '[range(1; length) as $i | .[$i].doc.velocicompanion.body.prev_mac == .[$i - 1].doc.velocicompanion.body.mac] | all' "$T/audit.docs")" \
	true "each record's prev_mac is the mac of the one before: the receiver can check the chain"
is "$(jq -r 'select(.doc.velocicompanion.type == "audit.notifications.channels.create") | .doc.event.category[0]' "$T/audit.docs" | head -n 1)" \
	configuration "an audit record's ECS category is configuration"
stop $ES
run vc-notify channel delete es
is "$(sq "SELECT COUNT(*) FROM notify_channels WHERE name = 'es'")" 0 "channel delete"

# ---- --when: a jq condition on the body ---------------------------------------------------------
run_in "$TOKEN" vc-notify channel add bad --kind splunk-hec --target "http://127.0.0.1:$HPORT" \
	--when 'env.HOME' --password-stdin
is "$rc" 64 "--when refuses a program that reaches outside the body"
run_in "$TOKEN" vc-notify channel add bad --kind splunk-hec --target "http://127.0.0.1:$HPORT" \
	--when '.score >=' --password-stdin
is "$rc" 64 "... and one that does not compile"
run_in "$TOKEN" vc-notify channel add high --kind splunk-hec --target "http://127.0.0.1:$HPORT" \
	--type 'threat_score.*' --when '.score >= 0.8' --password-stdin -o jsonl
is "$rc:$(jqr .when)" "0:.score >= 0.8" "a channel of the scores of 0.8 and above"
first=$(( $(sq "SELECT MAX(id) FROM events") + 1 ))
for sc in 0.5 0.9 0.1 0.8 0.95 0.3; do
	sq "INSERT INTO events (tenant_id, type, created_at, body) VALUES ('$TENANT', 'threat_score.created',
	    $(sq_now), '{\"score\":$sc,\"subject\":\"host-$sc\"}')"
done
: > "$T/hec.log"
start_hec
run vc-notify forward --channel high --once -o jsonl
is "$rc:$(jqr .delivered):$(jqr .cursor)" "0:3:$(sq "SELECT MAX(id) FROM events")" \
	"three of six pass: delivered, and the cursor past all six"
is "$(jq -r .id "$T/hec.log" | paste -sd' ' -)" "$((first + 1)) $((first + 3)) $((first + 4))" \
	"the HEC got 0.9, 0.8 and 0.95, in order"
stop $HEC
sq "INSERT INTO events (tenant_id, type, created_at, body) VALUES ('$TENANT', 'threat_score.created',
    $(sq_now), '{\"score\":0.2}'), ('$TENANT', 'threat_score.created', $(sq_now), '{\"score\":0.99}')"
# The failed run is audited (an event too): the 0.99's id is asked now.
high=$(sq "SELECT MAX(id) FROM events")
run vc-notify forward --channel high --once -o jsonl
is "$rc:$(jqr .cursor):$(sq "SELECT failures FROM notify_channels WHERE name = 'high'")" \
	"69:$((high - 1)):1" \
	"the HEC down: the cursor passes over the refused 0.2 and stops before 0.99"

# ---- HTTPS, a CA of the channel's own ------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$T/hec.key" -out "$T/hec.pem" > /dev/null 2>&1
ok $? "openssl made the collector's certificate"
SPORT=$(free_port)
"$PY" "$TOP/tests/peers/hec.py" "$SPORT" "$T/hecs.log" "$TOKEN" --tls "$T/hec.pem" "$T/hec.key" &
echo $! >> "$T/pids"
await 10 listen "$SPORT"
run_in "$TOKEN" vc-notify channel add plain-ca --kind splunk-hec --target "http://127.0.0.1:$SPORT" \
	--ca-file "$T/hec.pem" --password-stdin
is "$rc" 64 "--ca-file is for an https:// target"
run_in "$TOKEN" vc-notify channel add nohttps --kind splunk-hec --target "https://127.0.0.1:$SPORT" \
	--since 0 --type 'case.*' --password-stdin
run vc-notify forward --channel nohttps --once -o jsonl
is "$rc:$(cursor nohttps)" "69:0" "HTTPS to a collector whose CA the system does not trust: exit 69"
like "$(jqr .error)" 'certificate' "... the error says why"
run_in "$TOKEN" vc-notify channel add https --kind splunk-hec --target "https://127.0.0.1:$SPORT" \
	--since 0 --type 'case.*' --ca-file "$T/hec.pem" --password-stdin -o jsonl
is "$rc:$(jqr .ca)" "0:true" "a channel with its own CA (channel list says so, not the PEM)"
run vc-notify forward --channel https --once -o jsonl
is "$rc:$(jqr .delivered)" "0:$(sq "SELECT COUNT(*) FROM events WHERE type = 'case.created'")" \
	"over HTTPS, checked against --ca-file: every case event"

# ---- roles, tenants -------------------------------------------------------------------------
printf '%s\n' 'sturdy tuna lantern' | vc-auth user create ann --role analyst --password-stdin > /dev/null
ANN=$(login_as ann 'sturdy tuna lantern')
with "$ANN" vc-notify dead list
is "$rc" 77 "an analyst cannot list dead events: exit 77"
with "$ANN" vc-notify dead retry --all
is "$rc" 77 "... nor retry them"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'notifications.dead.retry'")" 4 \
	"each dead retry is audited: two taken, one refused, one not found"

# ---- a transaction that gave way is made again (PostgreSQL) ----------------------------------
# A batch that went stays sent: the claim, the cursor's move, the dead
# list and the run's audit record are written again when their
# transaction gave way to another (40001), the events not sent again.
if [ "$STORE_PG" = 1 ]; then
	RPORT=$(free_port)
	"$PY" "$TOP/tests/peers/hec.py" "$RPORT" "$T/hecr.log" "$TOKEN" &
	echo $! >> "$T/pids"
	await 10 listen "$RPORT"
	run_in "$TOKEN" vc-notify channel add retry --kind splunk-hec --target "http://127.0.0.1:$RPORT" \
		--type 'case.*' --since 0 --password-stdin
	audits() { sq "SELECT COUNT(*) FROM audit_logs WHERE action = '$1'"; }
	n_fw=$(audits notifications.forward) n_ct=$(audits notifications.channels.test)
	n_dr=$(audits notifications.dead.retry)
	n=$(ids | wc -w | tr -d ' ')
	flaky notify_channels UPDATE 1
	flaky notify_sends DELETE 2
	flaky audit_logs INSERT 1
	run vc-notify forward --channel retry --once -o jsonl
	is "$rc:$(jqr .delivered):$(cursor retry)" "0:$n:$(ev "$n")" \
		"forward, its claim, cursor move and audit record given way: exit 0, every event, the cursor at the last"
	is "$(flaky_hits notify_channels):$(flaky_hits notify_sends):$(flaky_hits audit_logs)" "6:3:2" \
		"... the failures happened (the claim taken twice, the move made three times, the record written twice)"
	flaky_off notify_channels
	flaky_off notify_sends
	is "$(jq -r .id "$T/hecr.log" | paste -sd' ' -)" "$(ids)" "... the HEC got each event once"
	is "$(audits notifications.forward)" $((n_fw + 1)) "... one audit record of the run"
	flaky audit_logs INSERT 1
	run vc-notify channel test retry -o jsonl
	is "$rc:$(jqr .sent):$(flaky_hits audit_logs)" "0:true:2" "channel test, its audit record given way: exit 0"
	is "$(jq -r 'select(.type == "notify.test") | .id' "$T/hecr.log"):$(audits notifications.channels.test)" \
		"0:$((n_ct + 1))" "... the test event sent once, one audit record"
	sq "INSERT INTO notify_dead (tenant_id, channel_id, event_id, failures, created_at)
	    SELECT tenant_id, id, $(ev 2), 3, 0 FROM notify_channels WHERE name = 'retry'"
	flaky notify_dead DELETE 2
	flaky audit_logs INSERT 1
	run vc-notify dead retry --all --channel retry -o jsonl
	is "$rc:$(jqr .delivered):$(sq "SELECT COUNT(*) FROM notify_dead")" "0:1:0" \
		"dead retry, leaving the list given way twice: exit 0, it went and left the list"
	is "$(flaky_hits notify_dead):$(flaky_hits audit_logs)" "3:2" "... the failures happened"
	flaky_off notify_dead
	flaky_off audit_logs
	is "$(jq -r 'select(.type == "case.created") | .id' "$T/hecr.log" | grep -c "^$(ev 2)\$")" 2 \
		"... the HEC got it once more, not once for each attempt"
	is "$(audits notifications.dead.retry)" $((n_dr + 1)) "... one audit record"
	# Past the retries: the batch went once, the cursor stays (it goes again next time).
	vc-case create 'case 7' > /dev/null
	flaky notify_sends DELETE 50
	run vc-notify forward --channel retry --once -o jsonl
	is "$rc:$(cursor retry)" "75:$(ev "$n")" "a cursor's move that gives way every time: exit 75, the cursor stays"
	like "$(jqr .error)" 'try again' "... and says to try again"
	is "$(jq -r .id "$T/hecr.log" | grep -c "^$(ev 7)\$")" 1 "... the event went once"
	flaky_off notify_sends
fi

done_testing
