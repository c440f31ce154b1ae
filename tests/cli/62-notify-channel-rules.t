#!/bin/sh
# SPDX-License-Identifier: MIT
# Rules that send to a channel (vc-notify rule add --to channel:NAME) and
# notifications sent by hand to one (send --to channel:NAME), against a
# real webhook receiver (tests/peers/webhook.py): exactly the matching
# events arrive, nothing else; a rule marks its event in the event's own
# transaction and the forwarder sends it from the channel's cursor, so a
# receiver that is down gets it again, and after --max-failures it goes
# to the dead list; a channel's own filter and its rules together send an
# event once; a playbook's send_notification to a channel; unknown
# channels, another tenant's, one of the audit chain, and deleting a
# channel that rules send to.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PW='sturdy tuna lantern'
cursor() { sq "SELECT cursor FROM notify_channels WHERE name = '$1'"; }
failures() { sq "SELECT failures FROM notify_channels WHERE name = '$1'"; }
listen() { "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $1))" 2>/dev/null; }
# The ids of acme's case events whose severity is one of the arguments,
# in order, on one line.
cases() { _in=$(printf "'%s', " "$@"); sq "SELECT e.id FROM events e
	JOIN tenants t ON t.id = e.tenant_id WHERE t.name = 'acme' AND e.type = 'case.created'
	AND $(sq_json e.body '$.severity') IN (${_in%, }) ORDER BY e.id" | paste -sd' ' -; }
# What the receiver took (status 200), one id a line, in order.
got() { jq -r 'select(.status == 200) | .events[]' "$T/hook.log" 2>/dev/null | paste -sd' ' -; }
start_hook() {
	"$PY" "$TOP/tests/peers/webhook.py" "$PORT" "$T/hook.log" "$SECRET" &
	HOOK=$!
	echo $HOOK >> "$T/pids"
	await 10 listen "$PORT"
}
stop() { kill "$1"; wait "$1" 2>/dev/null; }

init_store
vc-auth tenant create globex > /dev/null
printf '%s\n' "$PW" | vc-auth user create gina --role admin --tenant globex --password-stdin > /dev/null
printf '%s\n' "$PW" | vc-auth user create ann --role analyst --password-stdin > /dev/null
GINA=$(login_as gina "$PW")
ANN=$(login_as ann "$PW")
export VC_ALLOW_VELOCIRAPTOR=127.0.0.1
PORT=$(free_port)

# ---- the targets ---------------------------------------------------------------------
run vc-notify channel add soc --kind webhook --target "http://127.0.0.1:$PORT/in" --source rules \
	--type 'case.*'
is "$rc" 64 "a channel of --source rules takes no --type ..."
like "$err" 'the rules choose' "... the rules choose what it gets, and it says so"
run vc-notify channel add soc --kind webhook --target "http://127.0.0.1:$PORT/in" --source rules \
	--max-failures 2 -o jsonl
is "$rc:$(jqr .source):$(jqr .types)" "0:rules:null" "a webhook channel of rules only"
SECRET=$(jqr .secret)
run vc-notify channel add trail --kind file --target "$T/trail.jsonl" --source audit
run vc-notify rule add --on 'case.*' --to channel:nope
is "$rc" 66 "a rule to a channel the tenant does not have: exit 66"
like "$err" 'no channel nope in your tenant' "... and says which"
run vc-notify rule add --on 'case.*' --to channel:
is "$rc" 64 "channel: without a name: exit 64"
run vc-notify rule add --on 'case.*' --to channel:trail
is "$rc" 64 "a rule to a channel of the audit chain: exit 64"
like "$err" 'audit chain' "... it delivers audit records, not events"
with "$GINA" vc-notify rule add --on 'case.*' --to channel:soc
is "$rc" 66 "another tenant's channel is not found: exit 66"
with "$GINA" vc-notify send --to channel:soc --title 'hi there'
is "$rc" 66 "... nor sent to by hand"
run vc-notify rule add --on 'case.*' --when '.severity == "high"' --to channel:soc -o jsonl
is "$rc:$(jqr .to)" "0:channel:soc" "a rule: high cases to the channel soc"
RULE_HIGH=$(jqr .id)
run vc-notify rule add --on 'case.created' --when '.severity == "high" or .severity == "critical"' \
	--to channel:soc -o jsonl
RULE_CRIT=$(jqr .id)
is "$rc" 0 "a second rule to it, overlapping the first on high cases"
run vc-notify channel list -o jsonl
is "$(jqr 'select(.name == "soc") | .rules | join(",")')" "$RULE_HIGH,$RULE_CRIT" \
	"channel list names the rules that send to a channel"

# ---- exactly the matching events -------------------------------------------------------
for s in low high medium critical high low; do vc-case create "a $s case" --severity $s > /dev/null; done
is "$(sq "SELECT COUNT(*) FROM notify_sends")" 3 \
	"the rules marked three events for the channel, each once (two rules on the high ones)"
run vc-notify forward --channel soc --once -o jsonl
is "$rc" 69 "the receiver is not there yet: exit 69"
is "$(failures soc)" 1 "... one failure counted, at the head"
start_hook
ok $? "the receiver listens"
run vc-notify forward --channel soc --once -o jsonl
WANT=$(cases high critical)
is "$rc:$(jqr .delivered)" "0:3" "then the three events the rules matched go"
is "$(got)" "$WANT" "the receiver has exactly the high and critical cases, in order"
is "$(jq -r '"\(.ok) \(.channel) \(.types | unique | join(","))"' "$T/hook.log" | sort -u)" \
	"true soc case.created" "... signed, from soc, case events only"
is "$(cursor soc):$(failures soc)" "${WANT##* }:0" "the cursor is at the last one, no failures"
is "$(sq "SELECT COUNT(*) FROM notify_sends")" 0 "the marks behind the cursor are dropped"
run vc-notify forward --channel soc --once -o jsonl
is "$(jqr .delivered)" 0 "a second run has nothing to send"
vc-case create 'a medium case' --severity medium > /dev/null
vc-case create 'another low case' --severity low > /dev/null
run vc-notify forward --channel soc --once -o jsonl
is "$(jqr .delivered):$(got)" "0:$WANT" "non-matching events are not delivered"

# ---- by hand ------------------------------------------------------------------------------
with "$ANN" vc-notify send --to channel:soc --title 'Look at host 7' --body 'from the night shift' -o jsonl
is "$rc:$(jqr .target)" "0:channel:soc" "an analyst sends a notification to the channel"
SENT=$(jqr .event_id)
is "$(sq "SELECT type || ' ' || $(sq_json body '$.title') || ' ' || $(sq_json body '$.by') FROM events WHERE id = $SENT")" \
	"notification.sent Look at host 7 ann" "... an event notification.sent: title, sender"
run vc-notify list -o jsonl
is "$(printf '%s\n' "$out" | grep -c 'Look at host 7')" 0 "... and no user's notification"
run vc-notify forward --channel soc --once -o jsonl
is "$(jqr .delivered):$(jq -r 'select(.status == 200) | .events[]' "$T/hook.log" | tail -n 1)" "1:$SENT" \
	"the forwarder delivers it"
with "$ANN" vc-notify send --to channel:nope --title x
is "$rc" 66 "send to an unknown channel: exit 66"
with "$ANN" vc-notify send --to channel:trail --title x
is "$rc" 64 "... to a channel of the audit chain: exit 64"

# ---- the receiver down: retried, then the dead list --------------------------------------
stop $HOOK
vc-case create 'high while down' --severity high > /dev/null
DOWN=$(cases high)
DOWN=${DOWN##* }
C0=$(cursor soc)
run vc-notify forward --channel soc --once -o jsonl
is "$rc:$(cursor soc):$(failures soc)" "69:$C0:1" "the receiver is down: exit 69, the cursor stays, 1 failure"
run vc-notify forward --channel soc --once -o jsonl
is "$rc:$(cursor soc):$(failures soc)" "69:$C0:2" "retried: down again, 2 failures (--max-failures 2)"
like "$(sq "SELECT last_error FROM notify_channels WHERE name = 'soc'")" 'onnect' "... the last error says why"
run vc-notify forward --channel soc --once -o jsonl
is "$rc:$(jqr .dead):$(cursor soc):$(failures soc)" "0:1:$DOWN:0" \
	"the next run sets the event aside and moves past it"
run vc-notify dead list --channel soc -o jsonl
is "$(jqr '"\(.event_id) \(.type) \(.failures)"')" "$DOWN case.created 2" "dead list: the event, its failures"
DEAD=$(jqr .id)
start_hook
vc-case create 'high again' --severity high > /dev/null
AGAIN=$(cases high)
AGAIN=${AGAIN##* }
run vc-notify forward --channel soc --once -o jsonl
is "$(jqr .delivered):$(jq -r 'select(.status == 200) | .events[]' "$T/hook.log" | tail -n 1)" "1:$AGAIN" \
	"the receiver back: the next event goes"
run vc-notify dead retry "$DEAD" -o jsonl
is "$rc:$(jqr .delivered)" "0:1" "dead retry delivers the one set aside"
is "$(jq -r 'select(.status == 200) | .events[]' "$T/hook.log" | tail -n 1)" "$DOWN" "... it arrived"
is "$(jq -r 'select(.status == 200) | .events[]' "$T/hook.log" | sort -n | uniq -d | paste -sd' ' -)" "" \
	"nothing arrived twice"

# ---- a channel's own filter and its rules together -----------------------------------------
run vc-notify channel add mix --kind file --target "$T/mix.jsonl" --type 'case.created' \
	--when '.severity == "low"' -o jsonl
is "$rc:$(jqr .source)" "0:events" "a channel of the event log: low cases by its own --when"
run vc-notify rule add --on 'case.created' --when '.severity == "critical"' --to channel:mix
run vc-notify rule add --on 'case.created' --when '.severity == "low"' --to channel:mix
for s in low critical medium low; do vc-case create "mix $s" --severity $s > /dev/null; done
run vc-notify forward --channel mix --once -o jsonl
L=$(sq "SELECT id FROM events WHERE type = 'case.created'
	AND $(sq_json body '$.subject') IN ('mix low', 'mix critical') ORDER BY id" | paste -sd' ' -)
is "$(jqr .delivered):$(jq -r .id "$T/mix.jsonl" | paste -sd' ' -)" "3:$L" \
	"its own low cases and the rule's critical one, in order, each once (a low one both ways)"
is "$(jq -r '.body.severity' "$T/mix.jsonl" | paste -sd' ' -)" "low critical low" \
	"a rule's event passes whatever the channel's own --when says"

# ---- a playbook's send_notification ----------------------------------------------------------
run vc-notify channel add pb --kind file --target "$T/pb.jsonl" --source rules
cat > "$T/pb.yaml" <<'EOF'
name: tell pb
trigger_type: manual
steps:
  - name: tell
    action: send_notification
    params: {to: "channel:pb", title: "From a playbook", message: "look at ${subject}"}
EOF
run vc-playbook add "$T/pb.yaml"
run vc-playbook run 'tell pb' --event '{"subject": "host 9"}' -o jsonl
PBE=$(jqr '.steps[0].output.event_id')
is "$rc:$(jqr '.steps[0].output.notification_id')" "0:null" \
	"a playbook's send_notification to a channel: an event, no notification"
run vc-notify forward --channel pb --once -o jsonl
is "$(jq -r '"\(.id) \(.type) \(.body.title): \(.body.body)"' "$T/pb.jsonl")" \
	"$PBE notification.sent From a playbook: look at host 9" "... which the channel delivers"

# ---- deleting a channel that rules send to --------------------------------------------------
run vc-notify channel delete soc
is "$rc" 65 "a channel that rules send to is not deleted: exit 65"
like "$err" "rules $RULE_HIGH, $RULE_CRIT send to channel soc: delete them first" "... the error names them"
run vc-notify channel list -o jsonl
is "$(jqr 'select(.name == "soc") | .name')" soc "... it is still there"
vc-case create 'high, marked' --severity high > /dev/null
is "$(sq "SELECT COUNT(*) FROM notify_sends s JOIN notify_channels c ON c.id = s.channel_id WHERE c.name = 'soc'")" 2 \
	"the events marked for it wait (the critical mix case, this one)"
run vc-notify rule delete "$RULE_HIGH"
run vc-notify rule delete "$RULE_CRIT"
run vc-notify channel delete soc
is "$rc" 0 "once its rules are gone, the channel goes"
is "$(sq "SELECT COUNT(*) FROM notify_sends s LEFT JOIN notify_channels c ON c.id = s.channel_id WHERE c.id IS NULL")" 0 \
	"... with the marks it had not delivered"
vc-case create 'high, after' --severity high > /dev/null
run vc-notify forward --once -o jsonl
is "$rc" 0 "events after it are no one's problem"
# A rule whose channel is gone (a store written by an older build, or
# edited by hand) sends nothing and never fails the change.
run vc-notify channel add gone --kind file --target "$T/gone.jsonl" --source rules
run vc-notify rule add --on 'case.*' --to channel:gone -o jsonl
sq "DELETE FROM notify_channels WHERE name = 'gone'"
run vc-case create 'after the channel went' --severity high
is "$rc" 0 "a rule to a channel that went away does not fail the change"
is "$(sq "SELECT COUNT(*) FROM notify_sends")" 0 "... and marks nothing"

# ---- tenants ---------------------------------------------------------------------------------------
with "$GINA" vc-notify channel add gx --kind file --target "$T/gx.jsonl" --source rules
with "$GINA" vc-notify rule add --on 'case.*' --to channel:gx -o jsonl
is "$rc" 0 "globex has a rule to its own channel"
VC_TOKEN=$GINA vc-case create 'globex high' --severity high > /dev/null
with "$GINA" vc-notify forward --once -o jsonl
is "$(jq -r .body.subject "$T/gx.jsonl")" "globex high" "globex's rule sends globex's event to globex's channel"
is "$(jq -r .body.subject "$T/mix.jsonl" | grep -c globex)" 0 "... never to acme's"

done_testing
