#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-auth audit list/show/verify: what is recorded, the filters, the
# append-only rule and the HMAC chain.
. "$(dirname "$0")/lib.sh"

PW='sturdy tuna lantern'
total() { sq "SELECT COUNT(*) FROM audit_logs"; }
last() { sq "SELECT action||' '||outcome FROM audit_logs ORDER BY id DESC LIMIT 1"; }
# lines: how many JSON lines $out holds.
lines() { [ -z "$out" ] && echo 0 || printf '%s\n' "$out" | wc -l; }

init_store
ACME=$(sq "SELECT id FROM tenants WHERE name='acme'")

# ---- every state change, login and denial writes one record -----------
# step DESCRIPTION EXPECTED-LAST-RECORD CMD...: run CMD, check exactly
# one record was added and what it says.
step() {
	_d=$1 _want=$2; shift 2
	_c=$(total)
	run "$@"
	is "$(( $(total) - _c )):$(last)" "1:$_want" "$_d"
}
step_in() {
	_d=$1 _want=$2 _i=$3; shift 3
	_c=$(total)
	run_in "$_i" "$@"
	is "$(( $(total) - _c )):$(last)" "1:$_want" "$_d"
}
step_in "user create audited" "auth.users.create success" "$PW" vc-auth user create ada --role admin --password-stdin
step_in "user create (analyst) audited" "auth.users.create success" "$PW" vc-auth user create ann --role analyst --password-stdin
step_in "user create (viewer) audited" "auth.users.create success" "$PW" vc-auth user create vic --role viewer --password-stdin
step_in "failed user create audited" "auth.users.create failure" "$PW" vc-auth user create ada --role admin --password-stdin
step "user update audited" "auth.users.update success" vc-auth user update vic --email vic@acme.test
step "user disable audited" "auth.users.disable success" vc-auth user disable vic
step "user enable audited" "auth.users.enable success" vc-auth user enable vic
step "tenant create audited" "auth.tenants.create success" vc-auth tenant create globex
step "tenant update audited" "auth.tenants.update success" vc-auth tenant update globex --registration open
step_in "register audited" "auth.register success" "$PW" vc-auth register reg1 --tenant globex --password-stdin
step "token create audited" "auth.tokens.create success" vc-auth token create ci --role viewer
TOK_ID=$(jqr .id)
step "token revoke audited" "auth.tokens.revoke success" vc-auth token revoke "$TOK_ID"
step_in "login success audited" "auth.login success" "$ROOT_PW" vc-auth login root --password-stdin
step_in "login failure audited" "auth.login failure" "wrong password!!" vc-auth login ann --password-stdin
step_in "login of an unknown user audited" "auth.login failure" "wrong password!!" vc-auth login ghost --password-stdin
step "refresh audited" "auth.refresh success" vc-auth refresh
ANN=$(login_as ann "$PW")
VIC=$(login_as vic "$PW")
ADA=$(login_as ada "$PW")
step "a role denial audited" "authz.denied denied" env VC_TOKEN="$VIC" vc-auth user list
if [ "$STORE_PG" = 1 ]; then
	# a failure's or denial's record, written alone, is written again
	# when its transaction gives way to another (40001)
	flaky audit_logs INSERT 2
	step "... also when its transaction gave way twice" "authz.denied denied" env VC_TOKEN="$VIC" vc-auth user list
	is "$(flaky_hits audit_logs)" 3 "... (two failures, then the record)"
	flaky_off audit_logs
fi
step_in "passwd audited" "auth.password success" "$PW
$PW 2" env XDG_CONFIG_HOME="$T/cfg-vic" vc-auth passwd --password-stdin
step "logout audited" "auth.logout success" env XDG_CONFIG_HOME="$T/cfg-ann" vc-auth logout
ANN=$(login_as ann "$PW")
n=$(total)
run vc-auth user list
run vc-auth whoami
run vc-auth audit list
is "$(total)" "$n" "reads are not audited"
is "$(sq "SELECT CASE WHEN tenant_id IS NULL AND chain='' THEN 1 ELSE 0 END FROM audit_logs WHERE action='auth.login' AND reason='unknown user'")" 1 \
	"a login with an unknown name goes to the platform chain"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE ip IS NULL OR user_agent IS NULL OR ts_ms < 1000000000000")" 0 \
	"every record has ip, user agent and a time in ms"

# A login name is chosen by whoever types it: no terminal escapes in the log.
run_in "$PW" vc-auth login "$(printf 'evil\033[2J\rname')" --password-stdin
is "$rc" 77 "a login with control characters in the name fails"
is "$(sq "SELECT actor_name FROM audit_logs ORDER BY id DESC LIMIT 1")" 'evil?[2J?name' "control characters are logged as ?"
run vc-auth audit list --limit 3 -o table
unlike "$out" "$(printf '\033')" "table output holds no escape character"

# ---- list filters ------------------------------------------------------
run vc-auth audit list --action auth.users.create
is "$(printf '%s\n' "$out" | jq -r .action | sort -u)" auth.users.create "--action matches exactly"
is "$(lines)" 4 "all four user create records"
run vc-auth audit list --action auth.login
is "$(printf '%s\n' "$out" | jq -r .action | sort -u)" auth.login "--action auth.login is not a prefix"
run vc-auth audit list --action 'auth.*' --limit 1000
is "$(printf '%s\n' "$out" | jq -r '.action | startswith("auth.")' | sort -u)" true "--action auth.* matches only auth. actions"
is "$(lines)" "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action LIKE 'auth.%'")" "and all of them, of every chain"
unlike "$out" '"authz\.denied"' "auth.* does not match authz.denied"
run vc-auth audit list --action 'authz.*'
is "$(printf '%s\n' "$out" | jq -r .action | sort -u)" authz.denied "--action authz.*"
run vc-auth audit list --action 'auth.users.*'
is "$(printf '%s\n' "$out" | jq -r .action | sort -u | tr '\n' ' ')" \
	"auth.users.create auth.users.disable auth.users.enable auth.users.update " "a deeper prefix"
run vc-auth audit list --resource-type api_token
is "$(printf '%s\n' "$out" | jq -r .target_type | sort -u):$(lines)" "api_token:2" "--resource-type"
run vc-auth audit list --user vic
is "$(printf '%s\n' "$out" | jq -r .actor | sort -u)" vic "--user by name"
VIC_ID=$(sq "SELECT id FROM users WHERE username='vic'")
run vc-auth audit list --user "$VIC_ID"
is "$(printf '%s\n' "$out" | jq -r .actor_id | sort -u)" "$VIC_ID" "--user by id"
run vc-auth audit list --outcome failure
is "$(printf '%s\n' "$out" | jq -r .outcome | sort -u)" failure "--outcome failure"
run vc-auth audit list --outcome denied
is "$(printf '%s\n' "$out" | jq -r .outcome | sort -u)" denied "--outcome denied"
run vc-auth audit list --outcome maybe
is "$rc" 64 "--outcome takes success|failure|denied only"
run vc-auth audit list --limit 2
is "$(lines)" 2 "--limit 2"
is "$(printf '%s\n' "$out" | jq -r .id | tr '\n' ' ')" "$(sq "SELECT id FROM audit_logs ORDER BY id DESC LIMIT 2" | tr '\n' ' ')" \
	"newest first by default"
run vc-auth audit list --limit 2 --order asc
is "$(printf '%s\n' "$out" | jq -r .id | tr '\n' ' ')" "1 2 " "--order asc: oldest first"
run vc-auth audit list --limit 0
is "$rc" 64 "--limit 0: exit 64"
run vc-auth audit list --limit 1001
is "$rc" 64 "--limit 1001: exit 64"
run vc-auth audit list --limit many
is "$rc" 64 "--limit many: exit 64"
run vc-auth audit list --limit 1000
is "$(lines)" "$(sq "SELECT COUNT(*) FROM audit_logs")" "the superadmin sees every record"
run vc-auth audit list --limit 1000 --tenant-id "$ACME"
is "$(printf '%s\n' "$out" | jq -r .tenant_id | sort -u)" "$ACME" "the superadmin narrows to one tenant"

# --since/--until split two batches a second apart.
sleep 1
T0=$(date -u +%Y-%m-%dT%H:%M:%SZ)
n_before=$(total)
run vc-auth user update ann --email ann@acme.test
run vc-auth user update ann --email ann2@acme.test
run vc-auth audit list --since "$T0"
is "$(printf '%s\n' "$out" | jq -r .action | tr '\n' ' ')" "auth.users.update auth.users.update " "--since: only the later records"
run vc-auth audit list --until "$T0" --limit 1000
is "$(lines)" "$n_before" "--until: only the earlier records"
run vc-auth audit list --since -1h --limit 1000
is "$(lines)" "$(total)" "--since -1h: everything"
run vc-auth audit list --since 2099-01-01
is "$(lines)" 0 "--since in the future: nothing"
run vc-auth audit list --since -9000000000000000000 --until 9999-12-31 --limit 1000
is "$rc:$(lines)" "0:$(total)" "extreme times are clamped, not overflowed"
run vc-auth audit list --since yesterdayish
is "$rc" 64 "a bad time: exit 64"

# ---- whole results: --all, --after and the partial-page notice -------------
n=$(total)
run vc-auth audit list --all --limit 7
is "$rc:$(lines)" "0:$n" "--all --limit 7: every record, page after page"
is "$(printf '%s\n' "$out" | jq -r .id | tr '\n' ' ')" "$(sq "SELECT id FROM audit_logs ORDER BY id DESC" | tr '\n' ' ')" \
	"newest first across the pages, none twice, none missed"
is "$err" "" "--all: no notice"
run vc-auth audit list --all --order asc --limit 5 --action 'auth.*'
is "$(printf '%s\n' "$out" | jq -r .id | tr '\n' ' ')" \
	"$(sq "SELECT id FROM audit_logs WHERE action LIKE 'auth.%' ORDER BY id" | tr '\n' ' ')" "--all --order asc with a filter"
run vc-auth audit list --limit 3
third=$(printf '%s\n' "$out" | jq -r .id | tail -n 1)
is "$err" "vc-auth: shown 3, there may be more; use --all for every match, or --after $third for the next page" \
	"a full page says so on stderr, with the id to go on from"
run vc-auth audit list --limit 3 --after "$third"
is "$(printf '%s\n' "$out" | jq -r .id | tr '\n' ' ')" \
	"$(sq "SELECT id FROM audit_logs WHERE id < $third ORDER BY id DESC LIMIT 3" | tr '\n' ' ')" "--after: the next page"
run vc-auth audit list --limit 1000
is "$rc:$err" "0:" "a page that holds everything: no notice"
run vc-auth audit list --after 1x
is "$rc" 64 "--after that is not an id: exit 64"
code=$(vc-auth audit list --limit 2 --after 3 --order asc -o jsonl 2>/dev/null | jq -r .id | tr '\n' ' ')
is "$code" "4 5 " "--after with --order asc: the records after it"

# ---- show ----------------------------------------------------------------
run vc-auth audit show 1
is "$rc" 0 "audit show"
is "$(jqr '.id|tostring') $(jqr .action)" "1 auth.init" "shows the record"
like "$(jqr .mac)" '^[0-9a-f]{64}$' "with its mac"
is "$(jqr .prev_mac)" "$(printf '%064d' 0)" "the first record links to 32 zero bytes"
is "$(jqr .key_id)" 1 "and its key id"
run vc-auth audit show 99999
is "$rc:$err" "66:vc-auth: no audit record 99999" "a missing record: exit 66"
run vc-auth audit show abc
is "$rc" 64 "a non-numeric id: exit 64"
with "$ADA" vc-auth audit show 1
is "$rc" 0 "an admin shows a record of their tenant"
with "$ANN" vc-auth audit list
is "$rc" 77 "an analyst cannot read the audit log"

# ---- admins see their tenant only ----------------------------------------
with "$ADA" vc-auth audit list --limit 1000
is "$(printf '%s\n' "$out" | jq -r .tenant_id | sort -u)" "$ACME" "an admin sees only their tenant's records"
unlike "$out" '"reason":"unknown user"' "not the platform chain"

# ---- verify ------------------------------------------------------------
run vc-auth audit verify
is "$rc:$(jqr .ok)" "0:true" "the chain verifies"
is "$(jqr .records)" "$(total)" "every record checked"
with "$ADA" vc-auth audit verify
is "$rc:$(jqr .records)" "0:$(sq "SELECT COUNT(*) FROM audit_logs WHERE chain='$ACME'")" "an admin verifies their tenant's chain"

# ---- append-only -------------------------------------------------------
run sq "UPDATE audit_logs SET outcome='success' WHERE id=2"
ok "$([ "$rc" -ne 0 ]; echo $?)" "UPDATE on audit_logs aborts"
like "$err" 'append-only' "with the trigger's message"
run sq "DELETE FROM audit_logs WHERE id=2"
ok "$([ "$rc" -ne 0 ]; echo $?)" "DELETE on audit_logs aborts"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE id=2")" 1 "the record is still there"

# ---- tamper detection --------------------------------------------------
# The acme chain's records; tamper with the 5th, check the 6th follows.
set -- $(sq "SELECT id FROM audit_logs WHERE chain='$ACME' ORDER BY id")
M=$5 NEXT=$6
# The triggers that keep it append-only go (as only the store's owner,
# or the superuser on PostgreSQL, could do), and a value is put back as
# it was by its SQL literal.
if [ "$STORE_PG" = 1 ]; then
	sq "ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update" \
		"ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_delete"
	QUOTE=quote_nullable
else
	sq "DROP TRIGGER audit_logs_no_update; DROP TRIGGER audit_logs_no_delete;"
	QUOTE=quote
fi
orig=$(sq "SELECT outcome FROM audit_logs WHERE id=$M")
sq "UPDATE audit_logs SET outcome='failure' WHERE id=$M"
run vc-auth audit verify
is "$rc" 65 "an edited record: verify exits 65"
like "$err" "^vc-auth: audit log damaged: record $M was altered" "and names it"
is "$(jqr .ok):$(jqr .first_bad_id)" "false:$M" "the output names it too"
with "$ADA" vc-auth audit verify
is "$rc" 65 "the tenant admin's verify sees it too"
sq "UPDATE audit_logs SET outcome='$orig' WHERE id=$M"
run vc-auth audit verify
is "$rc" 0 "undoing the edit: verify passes again"
orig=$(sq "SELECT $QUOTE(details) FROM audit_logs WHERE id=$M")
sq "UPDATE audit_logs SET details='{\"role\":\"superadmin\"}' WHERE id=$M"
run vc-auth audit verify
like "$rc:$err" "^65:.*record $M " "an edited details field is caught"
sq "UPDATE audit_logs SET details=$orig WHERE id=$M"
sq "UPDATE audit_logs SET ts_ms = ts_ms + 1 WHERE id=$NEXT"
run vc-auth audit verify
like "$rc:$err" "^65:.*record $NEXT " "an edited time is caught"
sq "UPDATE audit_logs SET ts_ms = ts_ms - 1 WHERE id=$NEXT"

# An altered head is not sealed in by the next record.
set -- $(sq "SELECT id FROM audit_logs WHERE chain='$ACME' ORDER BY id DESC LIMIT 1")
HEAD=$1
orig=$(sq "SELECT $QUOTE(reason) FROM audit_logs WHERE id=$HEAD")
sq "UPDATE audit_logs SET reason='nothing happened' WHERE id=$HEAD"
n=$(total)
run vc-auth user update ann --email ann3@acme.test
is "$rc" 78 "a write on top of an altered head record: exit 78"
like "$err" "^vc-auth: audit record $HEAD does not verify with key file" "names the head record"
is "$(total):$(sq "SELECT email FROM users WHERE username='ann'")" "$n:ann2@acme.test" "nothing written, nothing changed"
sq "UPDATE audit_logs SET reason=$orig WHERE id=$HEAD"
run vc-auth user update ann --email ann3@acme.test
is "$rc" 0 "with the head restored, writes work again"
run vc-auth audit verify
is "$rc" 0 "and the chain verifies"

# A new mac must not help someone without the key.  The deleted record
# is put back from a copy: of the store's file, or of its row.
if [ "$STORE_PG" = 1 ]; then
	sq "\\copy (SELECT * FROM audit_logs WHERE id=$M) TO '$T/deleted.row'"
else
	cp "$VC_DB" "$T/before-delete.db"
fi
sq "DELETE FROM audit_logs WHERE id=$M"
run vc-auth audit verify
is "$rc" 65 "a deleted middle record: verify exits 65"
like "$err" "record $NEXT does not follow the one before it" "names the record after the gap"
if [ "$STORE_PG" = 1 ]; then
	sq "\\copy audit_logs FROM '$T/deleted.row'"
else
	cp "$T/before-delete.db" "$VC_DB"
	rm -f "$VC_DB-wal" "$VC_DB-shm"
fi
run vc-auth audit verify
is "$rc" 0 "the record put back: verify passes again"
sq "UPDATE audit_logs SET mac=(SELECT mac FROM audit_logs WHERE id=$NEXT) WHERE id=$M"
run vc-auth audit verify
like "$rc:$err" "^65:.*record $M " "a copied mac is caught"

done_testing
