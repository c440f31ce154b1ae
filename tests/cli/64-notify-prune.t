#!/bin/sh
# SPDX-License-Identifier: MIT
# Retention of the event log: vc-notify events prune removes events and
# notifications older than --older-than (default 30 days), never past the
# slowest channel's cursor (an undelivered event stays, and is delivered
# afterwards); roles and tenants; vc-serve prunes at start and hourly.
# Age is made by moving created_at back in the store.
. "$(dirname "$0")/lib.sh"

PW='sturdy tuna lantern'
acme() { sq "SELECT COUNT(*) FROM $1 WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'acme')"; }
age() { sq "UPDATE events SET created_at = created_at - $1; UPDATE notifications SET created_at = created_at - $1"; }
DAY=86400

init_store
vc-auth tenant create globex > /dev/null
printf '%s\n' "$PW" | vc-auth user create ann --role analyst --password-stdin > /dev/null
printf '%s\n' "$PW" | vc-auth user create ada --role admin --password-stdin > /dev/null
printf '%s\n' "$PW" | vc-auth user create gina --role admin --tenant globex --password-stdin > /dev/null
ANN=$(login_as ann "$PW")
ADA=$(login_as ada "$PW")
GINA=$(login_as gina "$PW")
with "$ADA" vc-notify rule add --on case.created --to role:analyst
for i in 1 2 3; do VC_TOKEN=$ANN vc-case create "old case $i" > /dev/null; done
VC_TOKEN=$ANN vc-notify send --to user:ann --title 'by hand' > /dev/null
VC_TOKEN=$GINA vc-case create 'globex case' > /dev/null
run vc-notify channel add siem --kind file --target "$T/siem.jsonl" --type 'case.*' --since 0
run vc-notify forward --once -o jsonl
CUR=$(sq "SELECT cursor FROM notify_channels WHERE name = 'siem'")
is "$(jqr .delivered)" 3 "the channel took the three cases (cursor $CUR)"
# Two more cases the channel has not had yet.
for i in 4 5; do VC_TOKEN=$ANN vc-case create "old case $i" > /dev/null; done
age $((40 * DAY))
E_ALL=$(acme events)
N_ALL=$(acme notifications)

# ---- refusals ------------------------------------------------------------------------
with "$ANN" vc-notify events prune
is "$rc" 77 "an analyst cannot prune: exit 77"
with "$ADA" vc-notify events prune --older-than 10m
is "$rc" 64 "--older-than under 1h: exit 64"
with "$ADA" vc-notify events prune --older-than soon
is "$rc" 64 "--older-than not a duration: exit 64"
E_ALL=$(acme events)
with "$ADA" vc-notify events prune --older-than 60d -o jsonl
is "$rc:$(jqr .events):$(acme events)" "0:0:$((E_ALL + 1))" "--older-than 60d: 40-day-old events stay (and the run's audit record is one)"
E_ALL=$(acme events)

# ---- a dead letter keeps its event ---------------------------------------------------
# vc-notify dead retry delivers the event again: pruning must not take it.
D=$(sq "SELECT MIN(id) FROM events WHERE type = 'case.created'")
sq "INSERT INTO notify_dead (tenant_id, channel_id, event_id, failures, created_at)
	SELECT tenant_id, id, $D, 5, 0 FROM notify_channels WHERE name = 'siem'"
with "$ADA" vc-notify events prune -o jsonl
is "$rc:$(jqr .kept_after)" "0:$((D - 1))" "a dead letter bounds what goes (kept after $((D - 1)))"
is "$(sq "SELECT COUNT(*) FROM events WHERE id = $D")" 1 "... its event is still there for a retry"
sq "DELETE FROM notify_dead"
E_ALL=$(acme events)

# ---- the cursor bounds the age ---------------------------------------------------------
with "$ADA" vc-notify events prune -o jsonl
is "$rc:$(jqr .kept_after)" "0:$CUR" "prune (30 days): kept after the channel's cursor"
left=$(sq "SELECT MIN(id) FROM events WHERE tenant_id = (SELECT tenant_id FROM users WHERE username = 'ann')")
ok $([ "$left" -gt "$CUR" ]; echo $?) "... every event up to the cursor went (the oldest left: $left)"
is "$(jqr .events)" "$((E_ALL + 1 - $(acme events)))" "... it says how many"
is "$(sq "SELECT COUNT(*) FROM events WHERE type = 'case.created' AND $(sq_json body '$.subject') LIKE 'old case%'")" 2 \
	"the two cases the channel has not had are kept, whatever their age"
is "$(sq "SELECT COUNT(*) FROM notifications n WHERE n.event_id IS NOT NULL AND NOT EXISTS
	(SELECT 1 FROM events e WHERE e.id = n.event_id)")" 0 "no notification is left without its event"
with "$ANN" vc-notify list -o jsonl
is "$(jqr .title | sort | paste -sd'|' -)" "case.created: old case 4|case.created: old case 5" \
	"the notifications of the pruned events went, and the old one sent by hand"
is "$(sq "SELECT COUNT(*) FROM events e JOIN tenants t ON t.id = e.tenant_id WHERE t.name = 'globex'
	AND e.type = 'case.created'")" 1 "an admin prunes their own tenant only"
run vc-notify forward --once -o jsonl
is "$(jqr .delivered):$(jq -r .body.subject "$T/siem.jsonl" | tail -n 2 | paste -sd, -)" \
	"2:old case 4,old case 5" "the channel then delivers what was kept: nothing was lost"
is "$(sq "SELECT $(sq_json body '$.action') || ' ' || $(sq_json body '$.outcome') || ' '
	|| $(sq_json body '$.actor') FROM events WHERE type = 'audit'
	AND $(sq_json body '$.action') = 'events.prune' ORDER BY id DESC LIMIT 1")" \
	"events.prune success ada" "each prune is audited"

# ---- a superadmin: every tenant; recent events stay -------------------------------------
run vc-notify events prune -o jsonl
is "$rc:$(jqr .tenant_id | wc -l | tr -d ' ')" "0:2" "a superadmin prunes every tenant"
is "$(sq "SELECT COUNT(*) FROM events e JOIN tenants t ON t.id = e.tenant_id WHERE t.name = 'globex'
	AND e.type = 'case.created'")" 0 "... globex's old events too"
with "$ANN" vc-case create 'new case'
run vc-notify events prune -o jsonl
is "$(sq "SELECT COUNT(*) FROM events WHERE $(sq_json body '$.subject') = 'new case'")" 1 \
	"a new event stays"

# ---- vc-serve: at start, then hourly ------------------------------------------------------
run vc-notify channel delete siem
age $((40 * DAY))
n0=$(acme events)
PORT=$(free_port)
vc-serve --listen "127.0.0.1:$PORT" --event-retention 0 --mail-interval 0 2> "$T/log0" &
SP=$!
echo $SP >> "$T/pids"
await 60 grep -qs 'listening on' "$T/log0"
sleep 1
is "$(acme events)" "$n0" "vc-serve --event-retention 0 keeps everything"
kill -TERM $SP
wait $SP
run vc-serve --event-retention 5m
is "$rc" 64 "--event-retention under 1h: exit 64"
vc-serve --listen "127.0.0.1:$PORT" --event-retention 45d 2> "$T/log1" &
SP=$!
echo $SP >> "$T/pids"
await 60 grep -qs 'listening on' "$T/log1"
sleep 1
is "$(acme events)" "$n0" "--event-retention 45d keeps 40-day-old events"
kill -TERM $SP
wait $SP
vc-serve --listen "127.0.0.1:$PORT" 2> "$T/log2" &
SP=$!
echo $SP >> "$T/pids"
none_older() { [ "$(sq "SELECT COUNT(*) FROM events WHERE created_at < $(sq_now) - $1")" -eq 0 ]; }
await 30 none_older $((30 * DAY))
ok $? "vc-serve (default 30 days) prunes at start"
is "$(sq "SELECT COUNT(*) FROM events WHERE $(sq_json body '$.action') = 'events.prune'
	AND $(sq_json body '$.actor_type') = 'system'
	AND CAST($(sq_json body '$.details.older_than_s') AS INTEGER) = 30 * 86400")" 2 \
	"... audited as the system, in each tenant"
kill -TERM $SP
wait $SP
is "$?" 0 "vc-serve stops cleanly"

# ---- a tenant's own retention ------------------------------------------------------------
with "$ANN" vc-notify events keep 90d
is "$rc" 77 "an analyst cannot set the retention: exit 77"
with "$ADA" vc-notify events retention -o jsonl
is "$rc:$(jqr '"\(.source) \(.keep_s)"')" "0:installation null" "events retention: the installation's until set"
with "$ADA" vc-notify events keep 10m
is "$rc" 64 "keep under 1h: exit 64"
with "$ADA" vc-notify events keep 45d -o jsonl
is "$rc:$(jqr '"\(.source) \(.keep_days)"')" "0:tenant 45" "events keep 45d: the tenant's own"
with "$GINA" vc-notify events keep 2d
VC_TOKEN=$ANN vc-case create 'kept case' > /dev/null
VC_TOKEN=$GINA vc-case create 'short-lived case' > /dev/null
age $((10 * DAY))
run vc-notify events prune -o jsonl
is "$(sq "SELECT $(sq_json body '$.subject') FROM events WHERE type = 'case.created' ORDER BY id" | paste -sd, -)" \
	"kept case" "a prune without --older-than keeps each tenant's own time: 45 days in acme, 2 in globex"
with "$ADA" vc-notify events keep default -o jsonl
is "$(jqr .source)" installation "events keep default: the installation's again"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'events.keep'")" 3 "each change is audited"

# ---- a transaction that gave way is made again (PostgreSQL) ---------------------------------
# Each of a prune's transactions (a batch, the rest, its audit record)
# is run again when it gave way to another (40001); past the retries the
# prune fails, exit 75, and its batch stays.
if [ "$STORE_PG" = 1 ]; then
	for i in 1 2; do VC_TOKEN=$ANN vc-case create "retried case $i" > /dev/null; done
	age $((10 * DAY))
	old=$(sq "SELECT COUNT(*) FROM events WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'acme')
	    AND created_at < $(sq_now) - 2 * $DAY")
	n_au=$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'events.prune'")
	flaky events DELETE 50
	with "$ADA" vc-notify events prune --older-than 2d -o jsonl
	is "$rc:$(sq "SELECT COUNT(*) FROM events WHERE type = 'case.created' AND $(sq_json body '$.subject') LIKE 'retried case%'")" \
		"75:2" "a batch that gives way every time: exit 75, its events stay"
	like "$err" 'try again' "... and it says to try again"
	flaky_off events
	flaky events DELETE 1
	flaky auth_fail_bursts DELETE 2
	flaky audit_logs INSERT 1
	with "$ADA" vc-notify events prune --older-than 2d -o jsonl
	is "$rc:$(jqr .events)" "0:$old" "prune, each of its transactions given way: exit 0, every old event went"
	is "$(flaky_hits events):$(flaky_hits auth_fail_bursts):$(flaky_hits audit_logs)" "2:3:2" \
		"... the failures happened, each transaction made again"
	flaky_off events
	flaky_off auth_fail_bursts
	flaky_off audit_logs
	is "$(sq "SELECT COUNT(*) FROM events WHERE type = 'case.created' AND $(sq_json body '$.subject') LIKE 'retried case%'")" \
		0 "... the old cases' events went"
	is "$(sq "SELECT outcome FROM audit_logs WHERE action = 'events.prune' AND id > 0 ORDER BY id" | tail -n 2 | paste -sd, -)" \
		"failure,success" "... one record of the failed run, one of this one"
	is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'events.prune'")" $((n_au + 2)) "... and no more"
fi

done_testing
