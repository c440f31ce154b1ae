#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-auth store copy (issue 16): an installation built on SQLite by the
# tools (two tenants, users, hosts, cases with notes and links, an
# artifact, notifications and a rule, a playbook run, API tokens, the
# audit chains) moved into a PostgreSQL 15 store that this test starts:
# the counts per table, `audit verify` of every tenant, logins with the
# old passwords, and lists that answer as SQLite's do, ids included;
# new ids follow the copied ones.  A copy killed (-9) in the middle goes
# on where it stopped when run again and ends with the same counts; a
# target that holds other rows is refused; the errors (not a
# superadmin, a missing key file, a bad URL, a missing source).
#
# Without PostgreSQL's server binaries this test FAILS (VC_SKIP_PG=1: skip).
. "$(dirname "$0")/lib.sh"

pg_start
PW='sturdy tuna lantern'
SRC=$T/src/vc.db
mkdir -p "$T/src" "$T/nokeys"
# The key file beside the source; the PostgreSQL store is opened with the
# same one (VC_KEY_FILE), as an operator moving an installation does.
export VC_KEY_FILE=$T/src/vc.key
export VC_DB=$SRC

# ---- an installation on SQLite, made by the tools -------------------------
run_in "$PW" vc-auth init --tenant acme --admin root --password-stdin
is "$rc" 0 "vc-auth init (SQLite)"
run_in "$PW" vc-auth login root --password-stdin
vc-auth tenant create globex > /dev/null
run_in "$PW" vc-auth user create alice --role admin --password-stdin
run_in "$PW" vc-auth user create bob --role admin --tenant globex --password-stdin
run_in "$PW" vc-auth user create vera --role viewer --password-stdin
is "$rc" 0 "users in two tenants"
A=$(login_as alice "$PW")
B=$(login_as bob "$PW")
"$TOP/bench/gen.py" fleet 400 > "$T/fleet.jsonl"
sed -n 1,60p "$T/fleet.jsonl" > "$T/gx.jsonl"
with "$A" vc-hosts import "$T/fleet.jsonl"
with "$B" vc-hosts import "$T/gx.jsonl"
H1=$(VC_TOKEN=$A vc-hosts list --limit 1 --sort hostname -o jsonl 2>/dev/null | jq -r .id)
CASE=$(VC_TOKEN=$A vc-case create "Beacon on $H1" --severity high --tag c2 -o jsonl | jq -r .id)
VC_TOKEN=$A vc-case note "$CASE" "Blocked the domain at the proxy" > /dev/null
VC_TOKEN=$A vc-case note "$CASE" "Reimaged" > /dev/null
VC_TOKEN=$A vc-case link "$CASE" --host "$H1" > /dev/null
VC_TOKEN=$B vc-case create "Phish" --severity low > /dev/null
"$TOP/bench/gen.py" pslist 100000 40 > "$T/ps.jsonl"
with "$A" vc-case artifact import "$T/ps.jsonl" --name Windows.System.Pslist --hunt H.1 --case "$CASE"
is "$rc:$(jqr .rows)" "0:100000" "an artifact of 100,000 rows"
VC_TOKEN=$A vc-notify rule add --on 'case.*' --to role:admin > /dev/null
VC_TOKEN=$A vc-notify send --to user:alice --title hello --body there > /dev/null
VC_TOKEN=$A vc-notify read --all > /dev/null
cat > "$T/pb.yaml" <<'EOF'
name: tell
trigger: {type: manual}
steps:
  - name: tell
    action: send_notification
    params: {to: "role:admin", message: "the playbook ran"}
EOF
with "$A" vc-playbook add "$T/pb.yaml"
with "$A" vc-playbook run tell
is "$rc" 0 "a playbook run"
VC_TOKEN=$A vc-auth token create ci --role viewer > /dev/null
VC_TOKEN=$A vc-playbook blocklist add 198.51.100.0/24 --reason scanner > /dev/null
printf 'pw\n' | vc-auth mail set --url smtp://127.0.0.1:2525 --from vc@example.test --user u \
    --password-stdin > /dev/null
run vc-auth audit verify
is "$rc:$(jqr .ok)" "0:true" "the source's audit chains verify"

# ---- refused before anything is written -----------------------------------
with "$A" vc-auth store copy --from "$SRC" --to "$OWNER"
is "$rc" 77 "an admin may not copy the store (superadmin only)"
run vc-auth store copy --from "$SRC" --to "$T/other.db"
is "$rc" 64 "--to must be a PostgreSQL URL"
run vc-auth store copy --from "$T/missing.db" --to "$OWNER"
is "$rc" 78 "a missing source: exit 78"
like "$err" "no store at" "... naming it"
run vc-auth store copy --from "$SRC" --to "postgresql:///nosuchdb?host=$PGD&user=vc"
is "$rc" 78 "a database that does not exist: exit 78"
like "$err" "cannot open store postgresql:///nosuchdb" "... naming the URL"
run env -u VC_KEY_FILE XDG_DATA_HOME="$T/nokeys" vc-auth store copy --from "$SRC" --to "$OWNER"
is "$rc" 78 "no key file for the PostgreSQL store: exit 78"
like "$err" "key file .*nokeys/velocicompanion/vc.key does not exist" "... naming the file it looked for"
is "$(psql_as "$SUPER" "SELECT count(*) FROM tenants")" 0 "... and no row was written"

# ---- a copy killed in the middle, then run again --------------------------
vc-auth store copy --from "$SRC" --to "$OWNER" > "$T/first.out" 2> "$T/first.err" &
CP=$!
n=0
while [ "$n" -lt 600 ]; do
	got=$(psql_as "$OWNER" "SELECT coalesce((SELECT rows FROM vc_store_copy WHERE tbl = 'artifact_rows'), 0)" 2>/dev/null)
	case $got in ''|*[!0-9]*) got=0 ;; esac
	[ "$got" -gt 0 ] && break
	kill -0 "$CP" 2>/dev/null || break
	sleep 0.05
	n=$((n + 1))
done
kill -9 "$CP" 2>/dev/null
wait "$CP" 2>/dev/null
# Counted as the server's superuser: row-level security shows the owner nothing.
part=$(psql_as "$SUPER" "SELECT count(*) FROM artifact_rows")
ok "$([ "$part" -gt 0 ] && [ "$part" -lt 100000 ]; echo $?)" "killed with part of the artifact's rows copied ($part)"
is "$(psql_as "$SUPER" "SELECT count(*) FROM hosts")" 460 "... the tables before it whole"
run vc-auth store copy --from "$SRC" --to "$OWNER" -o jsonl
is "$rc" 0 "run again: it finishes"
printf '%s\n' "$out" > "$T/second.out"
is "$(jq -s 'map(select(.ok | not)) | length' "$T/second.out")" 0 "every table counts the same on both sides"
is "$(jq -s 'length' "$T/second.out")" "$(sqlite3 "$SRC" \
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'hosts_search%'")" \
    "one record per table of the source"
is "$(jq -r 'select(.table == "artifact_rows") | "\(.source) \(.target) \(.copied)"' "$T/second.out")" \
    "100000 100000 $((100000 - part))" "artifact_rows: the rest copied, nothing twice"
is "$(jq -r 'select(.table == "hosts") | .copied' "$T/second.out")" 0 "hosts: not copied again"
run vc-auth store copy --from "$SRC" --to "$OWNER" -o jsonl
is "$rc:$(printf '%s\n' "$out" | jq -s 'map(.copied) | add')" "0:0" "a third run copies nothing and verifies"

# ---- the copy answers as the source ---------------------------------------
# First with the sessions made on SQLite (the same keys sign them: they
# hold on the copy), before any login changes either store.
ROOT=$(jq -r '.[].access_token' "$XDG_CONFIG_HOME/velocicompanion/credentials" | head -n 1)
# same_answer DESC CMD...: CMD's answer on the copy and on the source.
same_answer() {
	_d=$1; shift
	env VC_DB="$OWNER" "$@" -o jsonl > "$T/a.pg" 2>&1
	env VC_DB="$SRC" "$@" -o jsonl > "$T/a.lite" 2>&1
	if [ -s "$T/a.pg" ]; then same "$T/a.pg" "$T/a.lite" "$_d: as on SQLite, ids included"; else
		ok 1 "$_d: as on SQLite"; fi
}
same_answer "vc-auth tenant list" env VC_TOKEN="$ROOT" vc-auth tenant list
same_answer "vc-auth user list" env VC_TOKEN="$ROOT" vc-auth user list
same_answer "vc-hosts list --all" env VC_TOKEN="$A" vc-hosts list --all
same_answer "vc-hosts list --search" env VC_TOKEN="$A" vc-hosts list --search ws0 --all
same_answer "vc-hosts list --ip (addresses are bytea there)" env VC_TOKEN="$A" vc-hosts list --ip 10.0.0.0/8 --all
same_answer "globex's vc-hosts list" env VC_TOKEN="$B" vc-hosts list --all
same_answer "vc-case list" env VC_TOKEN="$A" vc-case list
same_answer "vc-case notes" env VC_TOKEN="$A" vc-case notes "$CASE"
same_answer "vc-case show" env VC_TOKEN="$A" vc-case show "$CASE"
same_answer "globex's vc-case list" env VC_TOKEN="$B" vc-case list
same_answer "vc-case artifact list" env VC_TOKEN="$A" vc-case artifact list
ART=$(VC_TOKEN=$A vc-case artifact list -o jsonl | jq -r .id)
same_answer "vc-case artifact rows" env VC_TOKEN="$A" vc-case artifact rows "$ART" --limit 500
same_answer "vc-score stack --stored" env VC_TOKEN="$A" vc-score stack --by Name --stored
same_answer "vc-notify list" env VC_TOKEN="$A" vc-notify list
same_answer "vc-notify rule list" env VC_TOKEN="$A" vc-notify rule list
same_answer "vc-notify events" env VC_TOKEN="$A" vc-notify events
same_answer "vc-playbook list" env VC_TOKEN="$A" vc-playbook list
same_answer "vc-playbook executions" env VC_TOKEN="$A" vc-playbook executions tell
same_answer "vc-auth token list" env VC_TOKEN="$A" vc-auth token list
same_answer "vc-playbook blocklist list (networks are bytea there)" env VC_TOKEN="$A" vc-playbook blocklist list
same_answer "vc-auth key list (the sealed mail password counted)" env VC_TOKEN="$ROOT" vc-auth key list
run env VC_DB="$OWNER" VC_TOKEN="$ROOT" vc-auth key rekey
is "$rc:$(printf '%s\n' "$out" | jq -s 'map(.secrets) | add')" "0:1" \
    "vc-auth key rekey opens the copied secret (sealed on SQLite, the same key)"
for t in $(VC_TOKEN=$ROOT vc-auth tenant list -o jsonl | jq -r .id); do
	run env VC_TOKEN="$ROOT" vc-auth audit verify --tenant-id "$t"
	is "$rc:$(jqr .ok)" "0:true" "audit verify of tenant $t on the copy"
done
run env VC_TOKEN="$ROOT" vc-auth audit verify
is "$rc:$(jqr .ok)" "0:true" "audit verify of every chain on the copy"
# New ids go on from the copied ones, as the source's would.
for db in "$OWNER" "$SRC"; do
	env VC_DB="$db" VC_TOKEN="$A" vc-case note "$CASE" "after the move" -o jsonl | jq -r .id
done > "$T/ids"
is "$(sed -n 1p "$T/ids")" "$(sed -n 2p "$T/ids")" "a new note's id follows the copied ones"
is "$(sed -n 1p "$T/ids")" "$(sqlite3 "$SRC" 'SELECT max(id) FROM case_notes')" "... (the same id as on SQLite)"
export VC_DB=$OWNER
run_in "$PW" vc-auth login root --password-stdin
is "$rc" 0 "root logs in to the copy with the old password"
run_in "$PW" env XDG_CONFIG_HOME="$T/cfg-pg-bob" vc-auth login bob --password-stdin
is "$rc" 0 "so does bob of globex"
run vc-auth audit verify
is "$rc:$(jqr .ok)" "0:true" "the copy's chains verify after new records"

# ---- targets that are not this source's copy ------------------------------
mkdir -p "$T/other"
run_in "$PW" env VC_KEY_FILE="$T/other/vc.key" vc-auth --db "$T/other/vc.db" init --tenant initech --admin boss --password-stdin
run_in "$PW" env VC_KEY_FILE="$T/other/vc.key" vc-auth --db "$T/other/vc.db" login boss --password-stdin
run env VC_KEY_FILE="$T/other/vc.key" vc-auth store copy --from "$T/other/vc.db" --to "$OWNER"
is "$rc" 65 "another installation into the copy: refused (exit 65)"
like "$err" "holds a copy of another source" "... saying why"
is "$(psql_as "$SUPER" "SELECT count(*) FROM tenants WHERE name = 'initech'")" 0 "... nothing of it written"
psql_as "$SUPER" "CREATE DATABASE vc2 OWNER vc" > /dev/null
psql_as "postgresql:///vc2?host=$PGD&user=vc_super" "CREATE EXTENSION citext; CREATE EXTENSION pg_trgm" > /dev/null
V2="postgresql:///vc2?host=$PGD&user=vc"
run_in "$PW" vc-auth --db "$V2" init --tenant used --admin someone --password-stdin
is "$rc" 0 "a second PostgreSQL store in use"
run vc-auth store copy --from "$SRC" --to "$V2"
is "$rc" 65 "a store with rows of its own: refused (exit 65)"
like "$err" "is not empty \\(tenants has rows\\)" "... saying why"
is "$(psql_as "postgresql:///vc2?host=$PGD&user=vc_super" "SELECT count(*) FROM tenants")" 1 \
    "... and left as it was"

done_testing
