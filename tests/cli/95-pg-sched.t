#!/bin/sh
# SPDX-License-Identifier: MIT
# The background work of several instances on one PostgreSQL store
# (issue 16).  Logins of one user on several instances at once all
# succeed (the transactions that gave way run again).  The scheduler runs
# once across instances: two `vc-playbook
# due --run` started at the same moment, many times over, run each
# scheduled slot once and both end with exit 0 (the one that finds the
# tenant's advisory lock held says so); a held lock is reported, not
# waited for.  A playbook execution whose runner was killed is taken
# over once its claim lapses, by one of two due --run, and finishes.  Two
# vc-serve instances forwarding one channel to a Splunk HEC receiver
# deliver each event once and in order, events written by writers at
# once; one killed (-9) in the middle of a delivery leaves its claim to
# lapse and the other carries on.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PW='sturdy tuna lantern'
TOKEN=8d2f6c1e-5a4b-4c3d-9e8f-0a1b2c3d4e5f
pg_start
run_in "$PW" vc-auth --db "$OWNER" init --tenant acme --admin root --password-stdin
is "$rc" 0 "vc-auth init on PostgreSQL"
export VC_DB="$APP"
run_in "$PW" vc-auth login root --password-stdin
sq() { psql_as "$SUPER" "$1"; }
TEN=$(sq "SELECT id FROM tenants WHERE name = 'acme'")

# ---- logins of one user at once (VC_OP_RAW: its transactions run again) ------------
bad=""
for r in 1 2 3; do
	for i in 1 2 3 4; do
		( printf '%s\n' "$PW" | vc-auth login root --password-stdin > "$T/login$i" 2>&1 ) &
		eval "L$i=\$!"
	done
	for i in 1 2 3 4; do
		eval "wait \$L$i" || bad="$bad round $r: $(cat "$T/login$i");"
	done
done
is "$bad" "" "four logins of one user at once, three rounds: each succeeds (none told to try again)"

# ---- the scheduler: once across instances ---------------------------------------
run vc-playbook add "$TOP/examples/playbooks/nightly-digest.json"
is "$rc" 0 "a scheduled playbook"
ROUNDS=12
i=1
busy=0
bad=""
while [ $i -le $ROUNDS ]; do
	sq "UPDATE playbooks SET next_run_at = $((1000 + i)) WHERE name = 'nightly-digest'" > /dev/null
	at_once "$T/a$i" "$T/b$i" vc-playbook due --run
	[ "$r1:$r2" = "0:0" ] || bad="$bad round $i: exit $r1:$r2 $(head -c 200 "$T/a$i" "$T/b$i");"
	n=$(cat "$T/a$i" "$T/b$i" | jq -r "select(.key == \"cron:$((1000 + i))\") | .status" | paste -sd' ' -)
	[ "$n" = succeeded ] || bad="$bad round $i: '$n';"
	busy=$((busy + $(cat "$T/a$i" "$T/b$i" | jq -r 'select(.busy != null) | .busy' | wc -l)))
	i=$((i + 1))
done
is "$bad" "" "two due --run at once, $ROUNDS times: both exit 0, the slot run once and succeeded each time"
is "$(sq "SELECT count(*) || ' ' || count(DISTINCT idem_key) FROM playbook_executions
    WHERE idem_key LIKE 'cron:%'")" "$ROUNDS $ROUNDS" "... one execution a slot in the store"
echo "# the lock was found held $busy times of $ROUNDS"
# (A tenant's lock held by another session: reported at once, nothing run.)
sq "UPDATE playbooks SET next_run_at = 5000 WHERE name = 'nightly-digest'" > /dev/null
printf '%s\n' "SELECT pg_advisory_lock(hashtextextended('vc-playbook due $TEN', 0));" "\\! touch $T/held" \
    "SELECT pg_sleep(4);" > "$T/hold.sql"
"$PGBIN/psql" -X -q -f "$T/hold.sql" "$SUPER" > /dev/null 2>&1 &
HOLDER=$!
await 30 test -e "$T/held"
t0=$(date +%s)
run vc-playbook due --run
t1=$(date +%s)
is "$rc:$(jqr .busy)" "0:another instance is running this tenant's due playbooks" \
    "the tenant's lock held elsewhere: exit 0, saying another instance runs them"
ok "$([ $((t1 - t0)) -le 2 ]; echo $?)" "... at once, not waiting for the lock ($((t1 - t0)) s)"
is "$(sq "SELECT count(*) FROM playbook_executions WHERE idem_key = 'cron:5000'")" 0 "... and nothing ran"
wait $HOLDER
run vc-playbook due --run
is "$rc:$(jqr .key):$(jqr .status)" "0:cron:5000:succeeded" "the lock given back: the next due --run runs it"

# ---- an execution whose runner died is taken over -------------------------------
"$TOP/bench/gen.py" hosts 3 > "$T/hosts.jsonl"
vc-hosts import "$T/hosts.jsonl" > /dev/null
C1=$(jq -r .client_id "$T/hosts.jsonl" | head -n 1)
cat > "$T/slow.yaml" <<'EOF'
name: slow label
trigger: {type: manual}
steps:
  - {name: label, action: add_label, params: {host: "${client}", label: taken-over}, timeout: 5}
  - {name: tell, action: send_notification, params: {to: "role:admin", message: "labelled ${client}"}}
EOF
run vc-playbook add "$T/slow.yaml"
is "$rc" 0 "a manual playbook whose first step waits for a row"
# Another session holds the host's row while the runner waits for it.
printf '%s\n' "BEGIN;" "SELECT 1 FROM hosts WHERE client_id = '$C1' FOR UPDATE;" "\\! touch $T/locked" \
    "SELECT pg_sleep(3);" "COMMIT;" > "$T/lock.sql"
"$PGBIN/psql" -X -q -f "$T/lock.sql" "$SUPER" > /dev/null 2>&1 &
LOCKER=$!
await 30 test -e "$T/locked"
vc-playbook run 'slow label' --event "{\"client\": \"$C1\"}" > "$T/run.out" 2>&1 &
RUNNER=$!
await 20 sh -c "[ \"\$(\"$PGBIN/psql\" -X -At '$SUPER' -c \"SELECT count(*) FROM playbook_executions
    WHERE status = 'running' AND claimed_by IS NOT NULL\")\" = 1 ]"
sleep 1
kill -9 $RUNNER
wait $RUNNER 2>/dev/null
X=$(sq "SELECT id FROM playbook_executions WHERE status = 'running'")
like "$X" '^[0-9a-f-]{36}$' "the runner killed in the middle of its first step: the execution is left running"
like "$(sq "SELECT claimed_by FROM playbook_executions WHERE id = '$X'")" '^root@' "... claimed by the dead runner"
wait $LOCKER
run vc-playbook due --run
is "$rc:$out" "0:" "due --run before the claim lapsed: nothing taken over"
run vc-playbook due
is "$(jqr 'select(.executions_lapsed) | .executions_lapsed')" "" "due (without --run) counts no lapsed execution yet"
LEFT=$(sq "SELECT claimed_until - extract(epoch FROM now())::bigint FROM playbook_executions WHERE id = '$X'")
ok "$([ "$LEFT" -gt 5 ] && [ "$LEFT" -le 36 ]; echo $?)" "the claim holds the step's timeout and a margin ($LEFT s left)"
# Its lapse is brought forward rather than waited for (half a minute).
sq "UPDATE playbook_executions SET claimed_until = extract(epoch FROM now())::bigint - 1 WHERE id = '$X'" > /dev/null
await 10 sh -c "[ \"\$(vc-playbook due | jq -r '.executions_lapsed // empty')\" = 1 ]"
ok $? "once it lapsed, due counts it"
at_once "$T/r1" "$T/r2" vc-playbook due --run
is "$r1:$r2" "0:0" "two due --run at once: both exit 0"
is "$(cat "$T/r1" "$T/r2" | jq -r 'select(.trigger == "resumed") | "\(.execution_id) \(.status)"')" \
    "$X succeeded" "one of them took it over and finished it"
out=$(sq "SELECT steps FROM playbook_executions WHERE id = '$X'")
is "$(jqr '[.[].status] | join(" ")')" "succeeded succeeded" "... both steps ran"
is "$(jqr '.[0].attempts')" 1 "... the step once (its first try never committed)"
is "$(vc-hosts show "$C1" | jq -r '.labels | map(select(. == "taken-over")) | length')" 1 "the label is set"
is "$(sq "SELECT count(*) FROM audit_logs WHERE action = 'playbooks.resume' AND target_id = '$X'")" 1 \
    "the takeover is audited once"
is "$(sq "SELECT count(*) FROM notifications WHERE title || ' ' || body LIKE '%labelled $C1%'")" 1 \
    "the notification of the next step was made once"

# ---- two vc-serve instances forwarding one channel ------------------------------
HPORT=$(free_port)
# The collector; its pid in $HEC.
start_hec() { peer "$HPORT" "$PY" "$TOP/tests/peers/hec.py" "$HPORT" "$T/hec.log" "$TOKEN" "$@"; HEC=$PEER; }
export VC_ALLOW_VELOCIRAPTOR=127.0.0.1
run_in "$TOKEN" vc-notify channel add hec --kind splunk-hec --target "http://127.0.0.1:$HPORT" \
	--type 'case.*' --batch 2 --password-stdin
is "$rc" 0 "a splunk-hec channel of case events, batches of 2"
start_hec --delay 0.2
# Two instances, each forwarding every second and running the
# playbook triggers every second.
start_inst() {
	p=$(free_port)
	vc-serve --listen "127.0.0.1:$p" --workers 1 --playbook-interval 1 --forward-interval 1 \
	    > "$T/$1.log" 2>&1 &
	eval "PID_$1=$!"
	echo $! >> "$T/pids"
	await 60 grep -qs 'listening on' "$T/$1.log"
}
start_inst a
start_inst b
# Their schedulers: each slot that comes due runs once.
for i in 1 2 3 4 5; do
	sq "UPDATE playbooks SET next_run_at = $((9000 + i)) WHERE name = 'nightly-digest'" > /dev/null
	await 30 sh -c "[ \"\$(\"$PGBIN/psql\" -X -At '$SUPER' -c \"SELECT count(*) FROM playbook_executions
	    WHERE idem_key = 'cron:$((9000 + i))' AND status = 'succeeded'\")\" = 1 ]" || break
done
is "$(sq "SELECT count(*) || ' ' || count(DISTINCT idem_key) FROM playbook_executions
    WHERE idem_key LIKE 'cron:900_'")" "5 5" "two instances' schedulers: five slots come due, each runs once"
is "$(sq "SELECT count(DISTINCT claimed_by) FROM playbook_executions WHERE idem_key LIKE 'cron:900_'")" 0 \
    "... and holds no claim once done"
is "$(grep -h 'playbooks:' "$T/a.log" "$T/b.log")" "" "... no scheduler error in either log"
# Cases written by three writers at once, while both forward.
for w in 1 2 3; do
	( for i in $(seq 1 10); do vc-case create "writer $w case $i" > /dev/null; done ) &
	eval "W$w=$!"
done
wait $W1 $W2 $W3
WANT=$(sq "SELECT string_agg(id::text, ' ' ORDER BY id) FROM events WHERE type LIKE 'case.%'")
is "$(echo "$WANT" | wc -w | tr -d ' ')" 30 "30 case events written by three writers at once"
got() { jq -r .id "$T/hec.log" 2>/dev/null | paste -sd' ' -; }
has() { [ "$(got)" = "$1" ]; }
await 90 has "$WANT"
ok $? "the two instances delivered them"
is "$(jq -r .id "$T/hec.log" | sort -n | uniq -d | paste -sd' ' -)" "" "... none twice"
is "$(got)" "$WANT" "... all 30, in the order of their ids"
is "$(grep -h 'forward:' "$T/a.log" "$T/b.log")" "" "no forwarding error in either log"
# (The cursor moves once the receiver has answered: wait for it too.)
cursor_at() { [ "$(sq "SELECT cursor FROM notify_channels WHERE name = 'hec'")" = "$1" ]; }
await 20 cursor_at "${WANT##* }"
ok $? "the cursor is at the last one"

# One instance killed while it delivers: the other carries on after the lease.
kill $HEC
wait $HEC 2>/dev/null
: > "$T/hec.log"
start_hec --delay 20
vc-case create 'at the kill' > /dev/null
K=$(sq "SELECT max(id) FROM events WHERE type LIKE 'case.%'")
await 30 has "$K"
ok $? "an instance sends an event; the collector takes 20 s to answer"
HOLD=$(vc-notify channel list -o jsonl | jq -r 'select(.name == "hec") | .forwarder')
like "$HOLD" '^vc-serve@' "the channel is held by the instance delivering it"
VPID=$(printf '%s' "$HOLD" | cut -d: -f2)
case $VPID in
$PID_a) KILLED=a OTHER=b ;;
$PID_b) KILLED=b OTHER=a ;;
*) KILLED=? OTHER=? ;;
esac
ok "$([ "$KILLED" != "?" ]; echo $?)" "... one of the two ($HOLD)"
LEASE=$(sq "SELECT lease_until - extract(epoch FROM now())::bigint FROM notify_channels WHERE name = 'hec'")
ok "$([ "$LEASE" -gt 30 ] && [ "$LEASE" -le 60 ]; echo $?)" "... for a minute at most ($LEASE s left)"
eval "kill -9 \$PID_$KILLED"
kill $HEC
wait $HEC 2>/dev/null
start_hec
vc-case create 'after the kill' > /dev/null
K2=$(sq "SELECT max(id) FROM events WHERE type LIKE 'case.%'")
# The survivor forwards every second: for 4 s it leaves the channel to
# the killed one; then the lease's end is brought forward (rather than
# waited for, a minute) and it takes over.
sleep 4
is "$(jq -r .id "$T/hec.log" | paste -sd' ' -)" "$K" "the other instance sends nothing while the killed one's lease holds"
sq "UPDATE notify_channels SET lease_until = extract(epoch FROM now())::bigint - 1 WHERE name = 'hec'" > /dev/null
await 30 sh -c "jq -r .id '$T/hec.log' | grep -qx '$K2'"
ok $? "... once it lapsed, the other instance delivered what came after"
is "$(jq -r .id "$T/hec.log" | paste -sd' ' -)" "$K $K $K2" \
    "the event whose answer never came went again (at least once), then the next, once"
like "$(vc-notify channel list -o jsonl | jq -r 'select(.name == "hec") | "\(.cursor) \(.forwarder)"')" \
    "^$K2 (null|vc-serve@)" "the cursor is past both"
is "$(grep -h 'forward:' "$T/$OTHER.log")" "" "no forwarding error in the survivor's log"

run vc-auth audit verify
is "$rc:$(jqr .ok)" "0:true" "audit verify: the chains are whole"
done_testing
