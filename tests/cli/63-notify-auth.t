#!/bin/sh
# SPDX-License-Identifier: MIT
# Security events in the event log: a burst of failed logins (5 in a
# 5-minute window, per account and per source address) appends ONE
# auth.login_failed event, in the transaction that records the failure;
# every audit record of a tenant is an event of type audit, with its seq
# and its place in the HMAC chain, so rules (and through them the
# WebSocket) and channels see it.
. "$(dirname "$0")/lib.sh"

PW='sturdy tuna lantern'
BAD='not the password!'
fail_cli() { printf '%s\n' "$BAD" | vc-auth login "$1" --password-stdin > /dev/null 2>&1; }
nfail() { sq "SELECT COUNT(*) FROM events WHERE type = 'auth.login_failed'"; }

init_store
vc-auth tenant create globex > /dev/null
for u in "ada admin" "ann analyst" "amy analyst" "al analyst"; do
	set -- $u
	printf '%s\n' "$PW" | vc-auth user create "$1" --role "$2" --password-stdin > /dev/null
done
printf '%s\n' "$PW" | vc-auth user create gina --role admin --tenant globex --password-stdin > /dev/null
ADA=$(login_as ada "$PW")
GINA=$(login_as gina "$PW")

# ---- auth.login_failed: one event a burst --------------------------------------------
with "$ADA" vc-notify rule add --on auth.login_failed --to role:admin
is "$rc" 0 "an admin adds a rule on auth.login_failed"
for i in 1 2 3 4; do fail_cli ann; done
is "$(nfail)" 0 "four failed logins: no event"
fail_cli ann
is "$(nfail)" 1 "the fifth in the window: one auth.login_failed"
with "$ADA" vc-notify events --type auth.login_failed -o jsonl
is "$(jqr '"\(.body.username) \(.body.count) \(.body.by | join(",")) \(.body.address) \(.body.window_s)"')" \
	"ann 5 account null 300" "it names the user, the count, what it was counted by (no address from the CLI)"
like "$(jqr .body.first_at)" '^20[0-9-]+T[0-9:]+Z$' "... and when the burst began"
fail_cli ann
run_in "$BAD" vc-auth login ann --password-stdin
is "$rc:$(nfail)" "75:1" "more failures (then the throttle) in the same burst: still one event"
is "$(sq "SELECT failures FROM auth_fail_bursts WHERE scope = 'user'")" 6 "... the window counts them"
with "$ADA" vc-notify list -o jsonl
is "$(jqr .title)" "auth.login_failed: ann" "the admin's rule made a notification of it"
with "$GINA" vc-notify events --type 'auth.*' -o jsonl
is "$rc:$out" "0:" "another tenant sees nothing of it"
# Unknown names belong to no tenant: the platform's audit chain has them.
p0=$(sq "SELECT COUNT(*) FROM audit_logs WHERE chain = '' AND action = 'auth.login' AND outcome = 'failure'")
for i in 1 2 3 4 5 6; do fail_cli nobody; done
is "$(nfail)" 1 "failures naming no user: no tenant's event"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE chain = '' AND action = 'auth.login' AND outcome = 'failure'")" $((p0 + 6)) \
	"... they are in the platform chain"
is "$(sq "SELECT COUNT(*) FROM events WHERE $(sq_json body '$.action') = 'auth.login' AND
	$(sq_json body '$.outcome') = 'failure' AND body LIKE '%nobody%'")" 0 "... which is not mirrored"
# A closed window starts a new burst (time moved on by 6 minutes).
sq "UPDATE auth_fail_bursts SET window_start = window_start - 360"
sq "DELETE FROM auth_throttle"
for i in 1 2 3 4; do fail_cli ann; done
is "$(nfail)" 1 "after the window: four failures are no burst"
fail_cli ann
is "$(nfail)" 2 "... five are, a second event"
sq "DELETE FROM auth_throttle"

# Over HTTP, per source address: a few failures each on several accounts.
PORT=$(free_port)
vc-serve --listen "127.0.0.1:$PORT" --workers 2 --auth-rate 1000 2> "$T/log" &
echo $! >> "$T/pids"
await 60 grep -q 'listening on' "$T/log"
ok $? "vc-serve starts"
hfail() {
	curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
		-d "{\"username\":\"$1\",\"password\":\"$BAD\"}" "http://127.0.0.1:$PORT/api/auth/login"
}
sq "DELETE FROM auth_fail_bursts"
codes=$(for u in amy amy al al; do hfail $u; done | paste -sd' ' -)
is "$codes:$(nfail)" "401 401 401 401:2" "four failures from one address, two accounts: no event"
hfail ada > /dev/null
is "$(nfail)" 3 "the fifth from that address: one event"
with "$ADA" vc-notify events --type auth.login_failed -o jsonl
out=$(printf '%s\n' "$out" | tail -n 1)
is "$(jqr '"\(.body.username) \(.body.count) \(.body.by | join(",")) \(.body.address)"')" \
	"ada 5 address 127.0.0.1" "an address burst: the address, the count, the account it ended on"
for u in amy al ada; do hfail $u > /dev/null; done
is "$(nfail)" 3 "more from the address in the window: no more events"

# A failure that cannot be recorded is still a failure: the login is refused.
sq "DROP TABLE auth_fail_bursts"
run_in "$BAD" env XDG_CONFIG_HOME="$T/cfg-amy" vc-auth login amy --password-stdin
is "$rc:$(sq "SELECT failures FROM auth_throttle WHERE name = 'amy'")" "77:4" \
	"without the burst table the login still fails (77), the throttle counted it"
run_in "$PW" env XDG_CONFIG_HOME="$T/cfg-amy" vc-auth login amy --password-stdin
is "$rc" 0 "... and the right password still logs in"

# ---- audit records as events -------------------------------------------------------
E0=$(sq "SELECT MAX(id) FROM events")
with "$ADA" vc-notify rule add --on audit --when '.action == "cases.create"' --to user:ada
with "$ADA" vc-case create 'audited case'
CASE=$(jqr .id)
with "$ADA" vc-notify events --since "$E0" --type audit -o jsonl
out=$(printf '%s\n' "$out" | tail -n 1)
SEQ=$(jqr .body.seq)
is "$(jqr '"\(.body.action) \(.body.outcome) \(.body.actor) \(.body.target_id)"')" \
	"cases.create success ada $CASE" "creating a case: its audit record is an audit event"
is "$(jqr '"\(.body.mac) \(.body.prev_mac) \(.body.key_id)"')" \
	"$(sq "SELECT mac || ' ' || prev_mac || ' ' || key_id FROM audit_logs WHERE id = $SEQ")" \
	"... with its seq, mac, previous mac and key: its place in the chain"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE tenant_id IS NOT NULL AND id > (SELECT MIN(CAST($(sq_json body '$.seq') AS INTEGER))
	FROM events WHERE type = 'audit')")" \
	"$(sq "SELECT COUNT(*) - 1 FROM events WHERE type = 'audit'")" "every tenant audit record since is an event"
with "$ADA" vc-notify list -o jsonl
is "$(jqr 'select(.target == "user:ada") | .title')" "audit: cases.create success" \
	"a rule with a condition on the audit record notified"
run vc-auth audit verify -o jsonl
is "$rc" 0 "the chain still verifies"
# A denial is audited, so it is an event too.
VAL=$(printf '%s\n' "$PW" | vc-auth user create vic --role viewer --password-stdin > /dev/null && login_as vic "$PW")
with "$VAL" vc-case create 'not allowed'
is "$rc" 77 "a viewer cannot create a case"
is "$(sq "SELECT $(sq_json body '$.action') || ' ' || $(sq_json body '$.outcome') FROM events
	WHERE type = 'audit' ORDER BY id DESC LIMIT 1")" "authz.denied denied" "... and the denial is an audit event"
# A superadmin acting in another tenant: the event is that tenant's.
run vc-auth user create gus --role viewer --tenant globex --password-stdin <<EOF
$PW
EOF
with "$GINA" vc-notify events --type audit -o jsonl
is "$(jqr 'select(.body.action == "auth.users.create") | .body.target_id' | tail -n 1)" \
	"$(sq "SELECT id FROM users WHERE username = 'gus'")" "root creating a globex user: globex's audit event"

# Forward runs would feed themselves: their successful records are not events.
run vc-notify channel add all --kind file --target "$T/all.jsonl" --type audit
run vc-notify forward --once -o jsonl
n1=$(jqr .delivered)
run vc-notify forward --once -o jsonl
is "$(jqr .delivered)" 0 "a forward run's own record is not forwarded by the next run"

done_testing
