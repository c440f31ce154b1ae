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
cursor() { sq "SELECT cursor FROM notify_channels WHERE name = '$1'"; }
nmail() { ls "$M" | grep -c '\.eml$'; }
ev() { tenant_events acme 'case.*' "$1"; }
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

# A file mailed with a notification (vc-notify send --attach): the
# weekly threat_report of vc-report(1)'s cron example, a real PDF, read
# when it is sent, kept with its event, queued by the forwarder as a
# mail of its own (multipart/mixed) and read back by Python's email
# parser: the same bytes, the type by the extension, the text there.
rm -f "$M"/*
run vc-report generate threat_report --since -7d --format pdf -o "$T/threat.pdf"
is "$rc:$(head -c 5 "$T/threat.pdf")" "0:%PDF-" "a threat_report as PDF"
SHA=$(sha256sum "$T/threat.pdf" | cut -d' ' -f1)
SIZE=$(stat -c %s "$T/threat.pdf")
vc-notify channel add reports --kind email --target reports@example.test --source rules > /dev/null
run vc-notify send --to channel:reports --title 'Weekly threat report' \
	--body 'The threat report of the week is attached.' --attach "$T/threat.pdf" -o jsonl
is "$rc:$(jqr .attachment.name):$(jqr .attachment.content_type):$(jqr .attachment.size):$(jqr .attachment.sha256)" \
	"0:threat.pdf:application/pdf:$SIZE:$SHA" "send --attach: the file's name, type, size and SHA-256"
SENT=$(jqr .event_id)
is "$(sq "SELECT name || ' ' || size || ' ' || length(data) FROM notify_files WHERE event_id = $SENT")" \
	"threat.pdf $SIZE $SIZE" "... kept with the event, in the store"
is "$(sq "SELECT $(sq_json details '$.attachment.sha256') || ' ' || CASE WHEN details LIKE '%JVBER%' THEN 1 ELSE 0 END
	FROM audit_logs WHERE action = 'notifications.send' ORDER BY id DESC LIMIT 1")" "$SHA 0" \
	"... the audit has its SHA-256, never its bytes"
run vc-notify forward --channel reports --once -o jsonl
is "$rc:$(jqr .delivered):$(nmail)" "0:1:1" "forward: one mail"
is "$(sq "SELECT COUNT(*) FROM notify_files") $(sq "SELECT COUNT(*) FROM outbox WHERE attach_data IS NOT NULL")" \
	"0 0" "... the file is dropped from the store once sent"
mailpy() {
	"$PY" - "$@" <<'PYEOF'
import email, email.policy, hashlib, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
parts = [p for p in msg.walk() if not p.is_multipart()]
att = [p for p in parts if p.get_content_disposition() == "attachment"]
text = [p for p in parts if p.get_content_type() == "text/plain"]
a = att[0] if att else None
print(msg.get_content_type(), msg["Subject"], len(att),
      a.get_content_type() if a else "-", a.get_filename() if a else "-",
      hashlib.sha256(a.get_payload(decode=True)).hexdigest() if a else "-",
      int(bool(text) and sys.argv[2] in text[0].get_content()))
PYEOF
}
is "$(mailpy "$M"/*.eml 'The threat report of the week is attached.')" \
	"multipart/mixed Weekly threat report 1 application/pdf threat.pdf $SHA 1" \
	"the mail: multipart/mixed, the text, the PDF with the same SHA-256"
is "$(cat "$M"/*.rcpt)" reports@example.test "... to the channel's address"

rm -f "$M"/*
printf 'host,score\nws1,90\n' > "$T/odd name (1).CSV"
run vc-notify send --to channel:reports --title 'Scores' --attach "$T/odd name (1).CSV" -o jsonl
is "$rc:$(jqr .attachment.name):$(jqr .attachment.content_type)" "0:odd_name__1_.CSV:text/csv" \
	"a name is sanitised, the type by the extension (any case)"
vc-notify forward --channel reports --once > /dev/null
is "$(mailpy "$M"/*.eml Sent | cut -d' ' -f4-6)" \
	"text/csv odd_name__1_.CSV $(sha256sum "$T/odd name (1).CSV" | cut -d' ' -f1)" "... and so it is mailed"

run vc-notify send --to channel:reports --title x --attach "$T/no-such.pdf"
is "$rc" 66 "--attach of a missing file: exit 66"
like "$(cat "$T/err")" "no-such.pdf" "... naming it"
head -c $((10 * 1024 * 1024 + 1)) /dev/zero > "$T/big.bin"
run vc-notify send --to channel:reports --title x --attach "$T/big.bin"
is "$rc" 65 "--attach of a file over 10 MiB: exit 65"
like "$(cat "$T/err")" "larger than 10 MiB" "... saying so"
head -c $((10 * 1024 * 1024)) /dev/zero > "$T/max.bin"
run vc-notify send --to channel:reports --title 'ten MiB' --attach "$T/max.bin" -o jsonl
is "$rc:$(jqr .attachment.size):$(jqr .attachment.content_type)" "0:10485760:application/octet-stream" \
	"a file of 10 MiB is taken, of an unknown type"
VC_ALLOW_VELOCIRAPTOR=127.0.0.1 vc-notify channel add hook --kind webhook --target http://127.0.0.1:9/in --source rules > /dev/null
run vc-notify send --to channel:hook --title x --attach "$T/threat.pdf"
is "$rc" 64 "--attach to a webhook channel: exit 64"
like "$(cat "$T/err")" "only a channel of kind email" "... saying why"
run vc-notify send --to role:analyst --title x --attach "$T/threat.pdf"
is "$rc" 64 "--attach to a role: exit 64"
is "$(sq "SELECT COUNT(*) FROM events WHERE type = 'notification.sent'")" 3 \
	"nothing refused made an event"
rm -f "$M"/*
run vc-notify forward --channel reports --once -o jsonl
is "$rc:$(nmail):$(mailpy "$M"/*.eml x | cut -d' ' -f5-7)" \
	"0:1:application/octet-stream max.bin $(sha256sum "$T/max.bin" | cut -d' ' -f1)" \
	"the 10 MiB file goes through the outbox and the relay whole"

done_testing
