#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-notify channels and forward: the event log delivered to a file and
# to a real webhook receiver (tests/peers/webhook.py), each channel from
# its durable cursor: at least once, in order, nothing twice once
# delivered, resumed after a receiver was down or failed; the webhook's
# signature; roles and tenants; --follow until a signal.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PW='sturdy tuna lantern'
cursor() { sq "SELECT cursor FROM notify_channels WHERE name = '$1'"; }
lines() { if [ -z "$out" ]; then echo 0; else printf '%s\n' "$out" | wc -l | tr -d ' '; fi; }
# Every audit record is an event too (type audit), so the ids of acme's
# case events are asked of the store: ids GLOB, the last of acme's.
ids() { tenant_events acme "$1"; }
last() { sq "SELECT MAX(e.id) FROM events e JOIN tenants t ON t.id = e.tenant_id WHERE t.name = 'acme'"; }

init_store
vc-auth tenant create globex > /dev/null
printf '%s\n' "$PW" | vc-auth user create ann --role analyst --password-stdin > /dev/null
printf '%s\n' "$PW" | vc-auth user create gina --role admin --tenant globex --password-stdin > /dev/null
ANN=$(login_as ann "$PW")
GINA=$(login_as gina "$PW")
for i in 1 2 3; do vc-case create "case $i" > /dev/null; done
VC_TOKEN=$GINA vc-case create 'globex case' > /dev/null

# ---- channels -------------------------------------------------------------------
with "$ANN" vc-notify channel add siem --kind file --target "$T/siem.jsonl"
is "$rc" 77 "an analyst cannot add a channel: exit 77"
run vc-notify channel add siem --kind file --target siem.jsonl
is "$rc" 64 "a file channel needs an absolute path"
run vc-notify channel add hook --kind webhook --target "file:///etc/passwd"
is "$rc" 64 "a webhook needs an http(s) URL"
run vc-notify channel add 'bad name' --kind file --target "$T/x"
is "$rc" 64 "a channel name is letters, digits, . _ -"
run vc-notify channel add siem --kind file --target "$T/siem.jsonl" --type 'case.*' --since 0 -o jsonl
is "$rc:$(jqr .cursor):$(jqr .secret)" "0:0:null" "a file channel from the first event (--since 0), no secret"
run vc-notify channel add siem --kind file --target "$T/other.jsonl"
is "$rc" 65 "the same name again: exit 65"
PORT=$(free_port)
run vc-notify channel add hook --kind webhook --target "http://127.0.0.1:$PORT/in"
is "$rc" 77 "a webhook on loopback is refused unless the installation allows it: exit 77"
# The receivers of this test listen on loopback.
export VC_ALLOW_VELOCIRAPTOR=127.0.0.1
L0=$(last)
run vc-notify channel add hook --kind webhook --target "http://127.0.0.1:$PORT/in" --type 'case.*' -o jsonl
is "$rc:$(jqr .cursor)" "0:$L0" "a webhook channel starts after the tenant's last event ($L0)"
SECRET=$(jqr .secret)
like "$SECRET" '^vcw_[A-Za-z0-9_-]{43}$' "its signing secret is shown once"
unlike "$(sq "SELECT secret_sealed FROM notify_channels WHERE name = 'hook'")" "$SECRET" "... and stored sealed"
run vc-notify channel list -o jsonl
unlike "$out" 'vcw_' "channel list never shows the secret"
with "$ANN" vc-notify channel list -o jsonl
is "$rc:$(lines)" "0:2" "an analyst lists the channels"
with "$GINA" vc-notify channel list -o jsonl
is "$(lines)" 0 "another tenant sees none"

# ---- the file --------------------------------------------------------------------------
with "$ANN" vc-notify forward --once
is "$rc" 77 "an analyst cannot forward: exit 77"
run vc-notify forward
is "$rc" 64 "forward needs --once or --follow"
run vc-notify forward --channel siem --once -o jsonl
C3=$(ids 'case.*')
is "$rc:$(jqr '"\(.delivered) \(.cursor)"')" "0:3 ${C3##* }" "forward --once: the three events to the file"
is "$(jq -r .id "$T/siem.jsonl" | paste -sd' ' -)" "$C3" "the file has them in order, one a line"
is "$(stat -c %a "$T/siem.jsonl")" 600 "... mode 0600"
unlike "$(cat "$T/siem.jsonl")" 'globex' "... none of another tenant's"
run vc-notify forward --channel siem --once -o jsonl
is "$(jqr .delivered):$(wc -l < "$T/siem.jsonl" | tr -d ' ')" "0:3" "again: nothing is due, nothing twice"
vc-case create 'case 4' > /dev/null
run vc-notify forward --channel siem --once -o jsonl
is "$(jqr .delivered):$(jq -r .id "$T/siem.jsonl" | paste -sd' ' -)" "1:$(ids 'case.*')" \
	"a new event: only it is appended (none of globex's)"
C4=$(ids 'case.*')
C4=${C4##* }
chmod 000 "$T/siem.jsonl"
vc-case create 'case 5' > /dev/null
if [ "$(id -u)" -ne 0 ]; then
	run vc-notify forward --channel siem --once -o jsonl
	is "$rc:$(cursor siem)" "69:$C4" "an unwritable file: exit 69, the cursor stays"
else
	ok 0 "# skip an unwritable file: root writes anyway"
fi
chmod 600 "$T/siem.jsonl"
run vc-notify forward --channel siem --once -o jsonl
C5=$(ids 'case.*')
C5=${C5##* }
is "$rc:$(cursor siem):$(jq -r .id "$T/siem.jsonl" | tail -n 1)" "0:$C5:$C5" "then it resumes at the cursor"

# ---- the webhook -----------------------------------------------------------------------------
run vc-notify forward --channel hook --once -o jsonl
is "$rc" 69 "the receiver is down: exit 69"
like "$(jqr .error)" '^channel hook: ' "... the channel says why"
is "$(cursor hook):$(sq "SELECT failures FROM notify_channels WHERE name = 'hook'")" "$L0:1" \
	"... its cursor stays, one failure counted"
like "$(sq "SELECT last_error FROM notify_channels WHERE name = 'hook'")" '.' "... with the error"
"$PY" "$TOP/tests/peers/webhook.py" "$PORT" "$T/hook.log" "$SECRET" 1 &
echo $! >> "$T/pids"
await 10 "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORT))"
ok $? "the receiver listens"
run vc-notify forward --channel hook --once -o jsonl
is "$rc:$(cursor hook)" "69:$L0" "it answers 500: exit 69, the cursor stays"
run vc-notify forward --once -o jsonl
is "$rc:$(jqr 'select(.channel == "hook") | "\(.delivered) \(.cursor)"')" "0:2 $C5" \
	"then it takes the batch: every channel forwarded, the hook's cursor moved"
is "$(sq "SELECT failures || ' ' || COALESCE(last_error, 'null') FROM notify_channels WHERE name = 'hook'")" "0 null" \
	"... and its failures are cleared"
is "$(jq -r '"\(.status) \(.events | join(",")) \(.header) \(.ok)"' "$T/hook.log" | paste -sd'|' -)" \
	"500 $C4,$C5 $C4-$C5 true|200 $C4,$C5 $C4-$C5 true" \
	"the receiver got the same batch twice (at least once), with the same ids, signed"
i=0
while [ $i -lt 250 ]; do printf '{"hostname":"h%03d"}\n' $i; i=$((i + 1)); done | vc-hosts import > /dev/null
vc-case create 'case 6' > /dev/null
run vc-notify forward --once -o jsonl
is "$(jq -r '.types[]' "$T/hook.log" | sort -u | paste -sd' ' -)" "case.created" "--type 'case.*': no host.new reaches the hook"
run vc-notify forward --once -o jsonl
is "$(jqr 'select(.channel == "hook") | .delivered')" 0 "nothing left"
is "$(jq -r '.events[]' "$T/hook.log" | sort -n | uniq -d | paste -sd' ' -)" "$C4 $C5" "only the failed batch came twice"

# ---- 250 events in batches, --follow until a signal ---------------------------------------------
run vc-notify channel add all --kind file --target "$T/all.jsonl" --since 0
run vc-notify forward --channel all --once -o jsonl
n=$(sq "SELECT COUNT(*) FROM events WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'acme')")
is "$(jqr .delivered):$(wc -l < "$T/all.jsonl" | tr -d ' ')" "$n:$n" "every acme event, in batches of 100"
is "$(jq -r .id "$T/all.jsonl" | sort -n -c && echo sorted)" sorted "... in order"
vc-notify forward --channel all --follow > "$T/follow" 2>&1 &
FP=$!
echo $FP >> "$T/pids"
sleep 0.5
VC_TOKEN=$ANN vc-case create 'while following' > /dev/null
await 5 grep -q 'while following' "$T/all.jsonl"
ok $? "--follow delivers an event another process writes"
kill -INT $FP
wait $FP
is "$?" 0 "SIGINT ends forward --follow with exit 0"

# --follow and a failing receiver: tried again after 1 s, then 2 s.
PORT2=$(free_port)
run vc-notify channel add hook2 --kind webhook --target "http://127.0.0.1:$PORT2/in" -o jsonl
"$PY" "$TOP/tests/peers/webhook.py" "$PORT2" "$T/hook2.log" "$(jqr .secret)" 2 &
echo $! >> "$T/pids"
await 10 "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORT2))"
vc-notify forward --channel hook2 --follow > "$T/follow2" 2>&1 &
FP=$!
echo $FP >> "$T/pids"
sleep 0.3
vc-case create 'to a failing hook' > /dev/null
await 15 grep -q '"status": 200' "$T/hook2.log"
ok $? "--follow: the failing webhook gets the event in the end"
is "$(jq -r .status "$T/hook2.log" | paste -sd' ' -)" "500 500 200" "... after two failures"
gaps=$(jq -s -r '[.[1].t - .[0].t, .[2].t - .[1].t] | map(. * 1000 | floor) | join(" ")' "$T/hook2.log")
set -- $gaps
ok $([ "$1" -ge 700 ] && [ "$2" -ge 1500 ] && [ "$2" -gt "$1" ]; echo $?) \
	"... retried with a growing backoff ($1 ms, then $2 ms)"
kill -TERM $FP
wait $FP
is "$?" 0 "SIGTERM ends it with exit 0"
is "$(jq -r 'select(.error) | .channel' "$T/follow2" | sort -u)" hook2 "the failures were printed"
# Chat shapes: Slack, Mattermost, Teams.
PORT3=$(free_port)
"$PY" "$TOP/tests/peers/webhook.py" "$PORT3" "$T/chat.log" x &
echo $! >> "$T/pids"
await 10 "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORT3))"
run vc-notify channel add siem-cef --kind webhook --target "http://127.0.0.1:$PORT3/" --format cef
is "$rc" 64 "a webhook's --format is json, slack, teams or mattermost"
for shape in slack mattermost teams; do
	run vc-notify channel add "$shape" --kind webhook --target "http://127.0.0.1:$PORT3/$shape" \
		--format "$shape" --type 'case.created' --since 0 -o jsonl
done
run vc-notify forward --once -o jsonl
is "$(jqr 'select(.channel == "slack" or .channel == "teams" or .channel == "mattermost") | .delivered' | sort -u)" \
	"$(sq "SELECT COUNT(*) FROM events e JOIN tenants t ON t.id = e.tenant_id WHERE t.name = 'acme' AND type = 'case.created'")" \
	"the chat channels took every case.created event"
CC=$(ids 'case.created')
CC1=${CC%% *}
is "$(jq -r 'select(.body.text and (.body.username | not)) | .body.text' "$T/chat.log" | sed -n 2p)" \
	"case.created #$CC1: case 1" "Slack: {\"text\"}, one line an event with its subject"
is "$(jq -r 'select(.body.username) | .body.username' "$T/chat.log")" VelociCompanion "Mattermost: {\"text\", \"username\"}"
is "$(jq -r 'select(.body.type == "message") | .body.attachments[0] | "\(.contentType) \(.content.type) \(.content.body[0].text | split("\n")[1])"' "$T/chat.log")" \
	"application/vnd.microsoft.card.adaptive AdaptiveCard case.created #$CC1: case 1" "Teams: a message with an Adaptive Card"
run vc-notify channel delete all
is "$rc:$(sq "SELECT COUNT(*) FROM notify_channels WHERE name = 'all'")" "0:0" "channel delete"
run vc-notify channel delete all
is "$rc" 66 "deleting it again: exit 66"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'notifications.forward'")" \
	"$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'notifications.forward' AND actor_name = 'root'")" \
	"each forward run is audited"

done_testing
