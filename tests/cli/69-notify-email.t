#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-notify channels of kind email: a batch of events becomes one mail
# in the outbox, queued in the transaction that moves the cursor (once),
# sent through the installation's SMTP transport to a real relay
# (tests/fixtures/smtp, Debian's aiosmtpd); a relay that is down keeps
# the mail in the outbox, not the events in the channel.  Every audit
# record is an event too (type audit), so the channel takes --type
# 'case.*' and the ids of acme's case events are asked of the store.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import aiosmtpd' 2>/dev/null || skip_all "python3-aiosmtpd is not installed"
M=$T/mail
mkdir -p "$M"
sq() { sqlite3 "$VC_DB" "$@"; }
cursor() { sq "SELECT cursor FROM notify_channels WHERE name = '$1'"; }
nmail() { ls "$M" | grep -c '\.eml$'; }
ev() { sq "SELECT e.id FROM events e JOIN tenants t ON t.id = e.tenant_id
	WHERE t.name = 'acme' AND e.type GLOB 'case.*' ORDER BY e.id LIMIT 1 OFFSET $(($1 - 1))"; }
relay() {
	rm -f "$T/relay.port"
	"$PY" "$TOP/tests/fixtures/smtp/smtp.py" --dir "$M" --ready "$T/relay.port" > "$T/relay.log" 2>&1 &
	RELAY=$!
	echo $RELAY >> "$T/pids"
	await 60 test -s "$T/relay.port"
}

init_store
for i in 1 2 3; do vc-case create "case $i" > /dev/null; done
E1=$(ev 1) E2=$(ev 2) E3=$(ev 3)
relay
PORT=$(cat "$T/relay.port")
vc-auth mail set --url "smtp://127.0.0.1:$PORT" --from vc@example.test --insecure-plaintext > /dev/null
ok $? "the installation's mail transport is set"

run vc-notify channel add soc --kind email --target 'SOC <soc@example.test>'
is "$rc" 64 "an email channel's target is one plain address"
run vc-notify channel add soc --kind email --target soc@example.test --type 'case.*' --since 0 --batch 2 -o jsonl
is "$rc:$(jqr .kind):$(jqr .target)" "0:email:soc@example.test" "an email channel, two events a mail"
run vc-notify channel test soc -o jsonl
is "$rc:$(jqr .sent):$(nmail):$(cursor soc)" "0:true:1:0" "channel test: one mail, the cursor untouched"
grep -q '"type":"notify.test"' "$M"/*.eml
ok $? "... with the test event"
rm -f "$M"/*
run vc-notify forward --channel soc --once -o jsonl
is "$rc:$(jqr .delivered):$(cursor soc)" "0:3:$E3" "forward: three events, the cursor at the third"
is "$(nmail)" 2 "the relay got two mails (2 + 1 events)"
is "$(cat "$M"/*.rcpt | sort -u)" soc@example.test "... to the channel's address"
subjects=$(grep -h '^Subject:' "$M"/*.eml | tr -d '\r' | sort | paste -sd'|' -)
is "$subjects" "Subject: VelociCompanion: 1 event ($E3 to $E3)|Subject: VelociCompanion: 2 events ($E1 to $E2)" \
	"... each saying which events"
is "$(cat "$M"/*.eml | tr -d '\r' | grep -o '"id":[0-9]*,"type":"case.created"' | sort -t: -k2,2n | paste -sd' ' -)" \
	"\"id\":$E1,\"type\":\"case.created\" \"id\":$E2,\"type\":\"case.created\" \"id\":$E3,\"type\":\"case.created\"" \
	"... with every event, once, as a JSON line"
is "$(sq "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")" 0 "nothing waits in the outbox"

kill $RELAY
await 60 gone $RELAY
vc-case create 'case 4' > /dev/null
E4=$(ev 4)
run vc-notify forward --channel soc --once -o jsonl
is "$rc:$(jqr .delivered):$(cursor soc)" "0:1:$E4" "the relay is down: the event is queued all the same, the cursor moves"
is "$(sq "SELECT COUNT(*) || ' ' || MAX(attempts) FROM outbox WHERE sent_at IS NULL")" "1 1" \
	"... the mail waits in the outbox, tried once"
relay
PORT2=$(cat "$T/relay.port")
vc-auth mail set --url "smtp://127.0.0.1:$PORT2" --from vc@example.test --insecure-plaintext > /dev/null
run vc-auth mail flush --all
is "$rc:$(nmail)" "0:3" "mail flush --all once the relay is back: the third mail"
run vc-notify forward --channel soc --once -o jsonl
is "$(jqr .delivered):$(nmail)" "0:3" "nothing is sent twice"

done_testing
