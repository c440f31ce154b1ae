#!/bin/sh
# SPDX-License-Identifier: MIT
# Two vc-serve instances on one PostgreSQL store (issue 16).
# Notifications: a WebSocket client of instance A gets what was written
# through instance B (HTTP) and by a CLI, at once and in order, also when
# many writers race (LISTEN/NOTIFY wakes A; the table, read from the last
# id, is the data); a notification committed while A's listening
# connection was gone arrives once it is back.  Reports: one asked of A
# is rendered by B when A dies mid-render or before it renders.
# Playbooks: events taken by both instances at once run each playbook
# once.  Hunts: one idempotency key sent to both at the same moment makes
# one hunt in Velociraptor (the gRPC double).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import websockets' 2>/dev/null || skip_all "no python3-websockets (make deps)"
WSC="$PY $TOP/tests/peers/ws-client.py"
PW='sturdy tuna lantern'
msgs() { jq -r "$2" "$1"; }
now_ms() { date +%s%3N; }
# post PORT TOKEN PATH JSON: a POST to an instance; prints the body.
post() {
	curl -s --max-time 60 -X POST -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
	    --data-binary "$4" "http://127.0.0.1:$1$3"
}

pg_start
run_in "$PW" vc-auth --db "$OWNER" init --tenant acme --admin root --password-stdin
is "$rc" 0 "vc-auth init on PostgreSQL"
export VC_DB="$APP"
run_in "$PW" vc-auth login root --password-stdin
printf '%s\n' "$PW" | vc-auth user create ann --role analyst --password-stdin > /dev/null
ANN=$(login_as ann "$PW")
vc-auth tenant create globex > /dev/null
printf '%s\n' "$PW" | vc-auth user create gus --role analyst --tenant globex --password-stdin > /dev/null
GUS=$(login_as gus "$PW")
ROOT=$(login_as root "$PW")

# start NAME [ENV=VALUE...]: an instance on a port of its own, its log
# in $T/NAME.log; sets PORT_NAME and PID_NAME.
start() {
	_sn=$1
	shift
	_p=$(free_port)
	env "$@" vc-serve --listen "127.0.0.1:$_p" --workers 2 --playbook-interval 1 \
	    --allow-velociraptor 127.0.0.1/32 > "$T/$_sn.log" 2>&1 &
	echo $! >> "$T/pids"
	eval "PORT_$_sn=$_p PID_$_sn=$!"
	await 60 grep -q 'listening on' "$T/$_sn.log"
}
# A's wkhtmltopdf takes a minute: a PDF report A claims is one A is
# rendering when it is killed.
cat > "$T/slow-wk" <<SH
#!/bin/sh
echo \$\$ > "$T/slow-wk.pid"
exec sleep 60
SH
chmod +x "$T/slow-wk"
start A VC_REPORT_DIR="$T/ra" VC_WKHTMLTOPDF="$T/slow-wk"
ok $? "instance A starts"
start B VC_REPORT_DIR="$T/rb"
ok $? "instance B starts"
# an instance says it listens (HTTP) before its listener has connected
listeners() {
	[ "$(psql_as "$SUPER" "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'velocicompanion-listen'
	    AND query = 'LISTEN vc_notifications'")" = "$1" ]
}
await 10 listeners 2
ok $? "each instance listens on a connection of its own"

# ---- notifications across instances ------------------------------------------
WSA=ws://127.0.0.1:$PORT_A/api/notifications/ws
$WSC "$WSA" listen --token "$ANN" --count 2 --wait 20 > "$T/ws1" &
W=$!
await 10 grep -q authenticated "$T/ws1"
ok $? "a client of A authenticates"
t0=$(now_ms)
N1=$(post "$PORT_B" "$ANN" /api/notifications '{"to": "user:ann", "title": "through B"}' | jq -r .id)
t1=$(now_ms)
N2=$(VC_TOKEN=$ANN vc-notify send --to role:analyst --title 'from the CLI' -o jsonl | jq -r .id)
t2=$(now_ms)
wait $W
is "$(msgs "$T/ws1" 'select(.type == "notification") | "\(.id) \(.title)"')" "$N1 through B
$N2 from the CLI" "A's client gets the one written through B, then the CLI's, in order"
r1=$(msgs "$T/ws1" 'select(.type == "notification") | ._t' | sed -n 1p)
r2=$(msgs "$T/ws1" 'select(.type == "notification") | ._t' | sed -n 2p)
# The old way, each instance reading the table every 10 ms, would be as
# quick: what shows that A's client is woken is that nothing else wakes
# it (below, while A does not listen).
ok $([ $((r1 - t1)) -lt 300 ]; echo $?) "... B's within 300 ms of B's answer ($((r1 - t1)) ms)"
ok $([ $((r2 - t2)) -lt 300 ]; echo $?) "... the CLI's within 300 ms of its end ($((r2 - t2)) ms)"

# Writers racing in two tenants: in each, 3 CLIs and 3 HTTP clients of
# B, 10 notifications each, all at once.  Ids are taken as rows are
# inserted, so without care a later id may commit first (two tenants'
# transactions do not conflict): a reader that has moved past it never
# sends the earlier one.
M=60
$WSC "$WSA" listen --token "$ANN" --count $M --wait 90 > "$T/ws2" &
W1=$!
$WSC "$WSA" listen --token "$GUS" --count $M --wait 90 > "$T/ws2g" &
W2=$!
await 10 grep -q authenticated "$T/ws2" && await 10 grep -q authenticated "$T/ws2g"
ok $? "a client of each tenant on A"
WR=""
for w in 1 2 3; do
	for who in ann gus; do
		eval "tok=\$$(echo $who | tr a-z A-Z)"
		( for i in $(seq 1 10); do
			VC_TOKEN=$tok vc-notify send --to "user:$who" --title "cli $w.$i" > /dev/null 2>> "$T/werr" ||
			    echo "$who cli $w.$i" >> "$T/wfail"
		done ) &
		WR="$WR $!"
		( for i in $(seq 1 10); do
			post "$PORT_B" "$tok" /api/notifications "{\"to\": \"user:$who\", \"title\": \"http $w.$i\"}" |
			    jq -e .id > /dev/null 2>> "$T/werr" || echo "$who http $w.$i" >> "$T/wfail"
		done ) &
		WR="$WR $!"
	done
done
wait $WR
wait $W1 $W2
is "$(cat "$T/wfail" 2>/dev/null)" "" "$((2 * M)) notifications written by twelve racing writers"
sed 's/^/#   /' "$T/werr" 2>/dev/null
for who in ann gus; do
	f=$T/ws2; [ $who = ann ] || f=$T/ws2g
	ids=$(msgs "$f" 'select(.type == "notification") | .id')
	is "$(printf '%s\n' "$ids" | sort -n | paste -sd' ' -)" "$(psql_as "$SUPER" "SELECT string_agg(n.id::text, ' '
	    ORDER BY n.id) FROM notifications n JOIN users u ON u.id = n.user_id WHERE u.username = '$who'
	    AND title ~ '^(cli|http) '")" "$who's client on A gets every one of hers in the store, each once"
	is "$(printf '%s\n' "$ids" | sort -n | paste -sd' ' -)" "$(printf '%s\n' "$ids" | paste -sd' ' -)" \
	    "... in the order of their ids"
done

# The listening connection dies, and cannot come back for a while (the
# tools' role may not log in): a notification written meanwhile (by the
# owner's role) wakes nobody.  Once the listener is back it reads from
# the last id and sends it.
$WSC "$WSA" listen --token "$ANN" --count 1 --wait 60 > "$T/ws3" &
W=$!
await 10 grep -q authenticated "$T/ws3"
psql_as "$SUPER" "ALTER ROLE vc_app NOLOGIN" > /dev/null
is "$(psql_as "$SUPER" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
    WHERE application_name = 'velocicompanion-listen'")" 2 "both listening connections are killed"
await 10 grep -q 'notifications: lost the connection' "$T/A.log"
ok $? "A says it lost its listening connection"
await 10 grep -q 'notifications: cannot listen' "$T/A.log"
ok $? "... and that it cannot listen again yet"
N3=$(VC_DB=$OWNER VC_TOKEN=$ANN vc-notify send --to user:ann --title 'while nobody listened' -o jsonl | jq -r .id)
like "$N3" '^[0-9]+$' "a notification is written while A does not listen"
sleep 1.5
is "$(msgs "$T/ws3" 'select(.type == "notification") | .id')" "" "... nothing wakes A for it"
psql_as "$SUPER" "ALTER ROLE vc_app LOGIN" > /dev/null
t0=$(now_ms)
wait $W
is "$(msgs "$T/ws3" 'select(.type == "notification") | "\(.id) \(.title)"')" "$N3 while nobody listened" \
    "once A listens again its client gets it, read from the last id"
r=$(msgs "$T/ws3" 'select(.type == "notification") | ._t')
ok $([ $((r - t0)) -lt 5000 ]; echo $?) "... within 5 s of the role's return ($((r - t0)) ms)"
grep -q 'notifications: listening again' "$T/A.log"
ok $? "A says it listens again"
await 10 listeners 2
ok $? "both instances listen again"

# ---- a report asked of A, rendered by B -------------------------------------------------
state() { psql_as "$SUPER" "SELECT state FROM reports WHERE id = '$1'"; }
is_pdf() { [ "$(head -c 5 "$1" 2>/dev/null)" = "%PDF-" ]; }
# A dies mid-render: B (stopped until then, so that A is the one to
# claim it) takes the report over at once, not when A's claim lapses
# (15 minutes).
kill -STOP "$PID_B"
R1=$(post "$PORT_A" "$ANN" /api/reports/generate '{"template": "threat_report", "format": "pdf", "since": "-30d"}' | jq -r .id)
like "$R1" '^[0-9a-f-]{36}$' "a PDF report asked of A (202)"
await 30 test -s "$T/slow-wk.pid"
ok $? "A claims it and starts wkhtmltopdf"
is "$(state "$R1")" running "... it is running"
kill -KILL "$PID_A"
kill "$(cat "$T/slow-wk.pid")" 2>/dev/null
await 10 gone "$PID_A"
t0=$(date +%s)
kill -CONT "$PID_B"
await 60 sh -c "[ \"\$(\"$PGBIN/psql\" -X -At '$SUPER' -c \"SELECT state FROM reports WHERE id = '$R1'\")\" = done ]"
ok $? "A killed mid-render (kill -9): B renders the report"
ok $([ $(( $(date +%s) - t0 )) -lt 30 ]; echo $?) "... at once, not when A's claim lapses ($(( $(date +%s) - t0 )) s)"
is_pdf "$T/rb/$R1.pdf"
ok $? "... into B's report directory, a PDF"
is "$(ls "$T/ra" | wc -l | tr -d ' ')" 0 "... and nothing in A's"
is "$(psql_as "$SUPER" "SELECT count(*) FROM audit_logs WHERE action = 'reports.render' AND target_id = '$R1'")" 1 \
    "... recorded once"

# A dies before it renders: B, stopped until then, renders it.
start A VC_REPORT_DIR="$T/ra" VC_WKHTMLTOPDF="$T/slow-wk"
ok $? "instance A again"
rm -f "$T/slow-wk.pid"
kill -STOP "$PID_B"
R2=$(post "$PORT_A" "$ANN" /api/reports/generate '{"template": "threat_report", "format": "pdf", "since": "-30d"}' | jq -r .id)
kill -KILL "$PID_A"
await 10 gone "$PID_A"
[ -s "$T/slow-wk.pid" ] && kill "$(cat "$T/slow-wk.pid")" 2>/dev/null
echo "# A was killed with the report $(state "$R2")"
kill -CONT "$PID_B"
await 60 sh -c "[ \"\$(\"$PGBIN/psql\" -X -At '$SUPER' -c \"SELECT state FROM reports WHERE id = '$R2'\")\" = done ]"
ok $? "A killed before rendering: B renders the report"
is_pdf "$T/rb/$R2.pdf"
ok $? "... a PDF in B's report directory"
start A VC_REPORT_DIR="$T/ra"
ok $? "instance A again, for what follows"

# ---- a playbook event taken by both instances -------------------------------------------
# Both run the event triggers every second; 20 cases made through both
# at once: each case.created runs the playbook once (its execution keyed
# by the event), and its notification goes out once.
cat > "$T/oncase.yaml" <<'EOF'
name: on case
trigger: {type: event, events: [case.created]}
steps:
  - {name: tell, action: send_notification, params: {to: "role:admin", message: "case event ${event_id}"}}
EOF
run vc-playbook add "$T/oncase.yaml"
is "$rc" 0 "a playbook on case.created"
CW=""
for i in $(seq 1 10); do
	post "$PORT_A" "$ROOT" /api/cases "{\"title\": \"case a$i\"}" > "$T/case.a$i" &
	CW="$CW $!"
	post "$PORT_B" "$ROOT" /api/cases "{\"title\": \"case b$i\"}" > "$T/case.b$i" &
	CW="$CW $!"
done
wait $CW
for f in "$T"/case.*; do jq -e .id "$f" > /dev/null 2>&1 || echo "# $f: $(cat "$f")"; done
is "$(psql_as "$SUPER" "SELECT count(*) FROM cases WHERE title LIKE 'case %'")" 20 "20 cases made through A and B at once"
pb_runs() {
	psql_as "$SUPER" "SELECT count(*) FROM playbook_executions e JOIN playbooks p ON p.id = e.playbook_id
	    WHERE p.name = 'on case' ${1-}"
}
await 60 sh -c "[ \"\$(\"$PGBIN/psql\" -X -At '$SUPER' -c \"SELECT count(*) FROM playbook_executions e
    JOIN playbooks p ON p.id = e.playbook_id WHERE p.name = 'on case'\")\" -ge 20 ]"
ok $? "the instances ran the playbook for the 20 events"
sleep 3
is "$(pb_runs)" 20 "... once each (20 executions, 3 s later still)"
is "$(pb_runs "AND e.status = 'succeeded'")" 20 "... each succeeded"
psql_as "$SUPER" "SELECT e.status, e.error FROM playbook_executions e WHERE e.status <> 'succeeded'" | sed 's/^/# /'
is "$(psql_as "$SUPER" "SELECT count(DISTINCT e.idem_key) FROM playbook_executions e JOIN playbooks p
    ON p.id = e.playbook_id WHERE p.name = 'on case'")" 20 "... one for each event"
is "$(psql_as "$SUPER" "SELECT count(*) || ' ' || count(DISTINCT body) FROM notifications WHERE body LIKE 'case event %'")" \
    "20 20" "... one notification each"

# ---- one idempotency key through both instances at once -----------------------------
VR=$TOP/tests/fixtures/vr
VPORT=$(free_port)
mkdir -p "$T/vr"
sh "$VR/mkcerts.sh" "$T/certs" "$VPORT" > /dev/null 2>&1
"$PY" "$VR/server.py" --port "$VPORT" --certs "$T/certs" --state "$T/vr" > "$T/vr.out" 2> "$T/vr.err" &
echo $! >> "$T/pids"
await 60 grep -q '^listening on' "$T/vr.out"
ok $? "the Velociraptor double is up"
run env VC_ALLOW_VELOCIRAPTOR=127.0.0.1 vc-hunt config set --api-config "$T/certs/api_client.yaml"
is "$rc" 0 "the tenant's Velociraptor config"
KEY="nightly-$(date +%F)"
HW=""
for i in 1 2 3 4; do
	for p in "$PORT_A" "$PORT_B"; do
		post "$p" "$ROOT" /api/velociraptor/hunts "{\"artifact\": \"Windows.System.Pslist\", \"idempotency_key\": \"$KEY\"}" \
		    > "$T/hunt.$p.$i" &
		HW="$HW $!"
	done
done
wait $HW
for f in "$T"/hunt.*; do jq -e .hunt_id "$f" > /dev/null 2>&1 || echo "# $f: $(cat "$f")"; done
is "$(cat "$T"/hunt.* | jq -r .hunt_id | sort -u | wc -l | tr -d ' ')" 1 \
    "8 requests with one key, 4 through each instance at once: one hunt id"
is "$(cat "$T"/hunt.* | jq -r .existing | sort | uniq -c | tr -s ' ' | paste -sd, -)" " 1 false, 7 true" \
    "... made by one, the 7 others told it exists"
is "$(grep -c '"SELECT hunt(' "$T/vr/requests.jsonl")" 1 "... one hunt() call reached Velociraptor"
is "$(psql_as "$SUPER" "SELECT count(*) FROM audit_logs WHERE action = 'velociraptor.hunts.create'")" 1 \
    "... one hunts.create record"
run env VC_ALLOW_VELOCIRAPTOR=127.0.0.1 vc-hunt create --artifact Windows.System.Pslist --idempotency-key "$KEY"
is "$rc:$(jqr .existing)" "0:true" "the key again from the CLI: the same hunt"

run vc-auth audit verify
is "$rc:$(jqr .ok)" "0:true" "audit verify: the chains are whole"
done_testing
