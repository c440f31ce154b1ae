#!/bin/sh
# SPDX-License-Identifier: MIT
# The store and its key: where they are found, what is refused, writers
# at the same time, key rotation.
. "$(dirname "$0")/lib.sh"

mode() { stat -c %a "$1"; }
KEY=$STORE_KEY
# The store made by init: a file, or a PostgreSQL database's tables.
if [ "$STORE_PG" = 1 ]; then
	has_store() { [ "$(sq "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'tenants'")" = 1 ]; }
else
	has_store() { [ -f "$VC_DB" ]; }
fi
PW='sturdy tuna lantern'

# ---- where the store is ------------------------------------------------
run vc-auth whoami
is "$rc" 78 "no store yet: exit 78"
like "$err" "^vc-auth: no store at .*run 'vc-auth init' first" "says to run init"
ok "$(if has_store; then echo 1; else echo 0; fi)" "a command other than init creates no store"

init_store
ok $? "init and login via \$VC_DB"
ok "$(has_store && [ -f "$KEY" ]; echo $?)" "store and key (beside it on SQLite)"

OTHER=$T/other/b.db
run_in "$PW" env -u VC_DB vc-auth --db "$OTHER" init --tenant beta --admin broot --password-stdin
is "$rc" 0 "init with --db and no VC_DB"
ok "$([ -f "$OTHER" ] && [ -f "$T/other/vc.key" ]; echo $?)" "--db store and its own key"
is "$(mode "$T/other/vc.key"):$(mode "$OTHER"):$(mode "$T/other")" "600:600:700" "modes 0600, 0600, 0700"
run_in "$PW" vc-auth login broot --db "$OTHER" --password-stdin
is "$rc" 0 "--db also after the verb"
run vc-auth whoami --db="$OTHER"
is "$(jqr .username):$(jqr .tenant)" "broot:beta" "--db=PATH names the other store (its own session)"
run vc-auth whoami
is "$(jqr .username):$(jqr .tenant)" "root:acme" "\$VC_DB's session is still root's"
run env VC_DB="$OTHER" vc-auth whoami
is "$(jqr .username)" broot "\$VC_DB picks the store too"
run vc-auth --db "$OTHER" whoami
is "$(jqr .username)" broot "--db wins over \$VC_DB"
run env -u VC_DB vc-auth --db "$T/nope/none.db" whoami
is "$rc" 78 "--db of a missing store: exit 78"
ok "$([ ! -e "$T/nope" ]; echo $?)" "and nothing is created"
ATOK_ACME=$(jq -r --arg k "$VC_DB" '.[$k].access_token' "$XDG_CONFIG_HOME/velocicompanion/credentials")
run env VC_TOKEN="$ATOK_ACME" vc-auth --db "$OTHER" whoami
is "$rc" 77 "a token of one store is not valid in another"

# ---- the key file --------------------------------------------------------
mv "$KEY" "$KEY.away"
run vc-auth whoami
is "$rc" 78 "missing key file: exit 78"
like "$err" "^vc-auth: no installation key at $KEY" "says where the key should be"
ok "$([ ! -e "$KEY" ]; echo $?)" "no new key is made for an existing store"
mv "$KEY.away" "$KEY"
chmod 0644 "$KEY"
run vc-auth whoami
is "$rc" 78 "key file mode 0644: exit 78 (SEC-SEC-01)"
like "$err" "^vc-auth: key file $KEY has mode 0644: it must be 0600 or 0400" "says what mode it must have"
chmod 0640 "$KEY"
run vc-auth whoami
is "$rc" 78 "key file mode 0640: exit 78"
chmod 0400 "$KEY"
run vc-auth whoami
is "$rc" 0 "key file mode 0400 is fine"
chmod 0600 "$KEY"
cp "$KEY" "$KEY.good"
printf 'not a key\n' > "$KEY"
run vc-auth whoami
is "$rc" 78 "a damaged key file: exit 78"
unlike "$err" 'not a key' "the message does not quote the key file"
cp "$KEY.good" "$KEY"
# Another store's key file has a key 1 too, of other bytes: tokens it
# signs must not verify here, and nothing may be audited with it.
n_rt=$(sq "SELECT COUNT(*) FROM refresh_tokens")
n_audit=$(sq "SELECT COUNT(*) FROM audit_logs")
run env VC_KEY_FILE="$T/other/vc.key" VC_TOKEN="$ATOK_ACME" vc-auth whoami
is "$rc" 77 "with another store's key file (VC_KEY_FILE) this store's token fails"
run_in "$ROOT_PW" env VC_KEY_FILE="$T/other/vc.key" vc-auth login root --password-stdin
is "$rc" 78 "logging in with another store's key file: exit 78"
like "$err" "^vc-auth: audit record [0-9]+ does not verify with key file $T/other/vc.key" "says the key file does not fit"
is "$(sq "SELECT COUNT(*) FROM refresh_tokens"):$(sq "SELECT COUNT(*) FROM audit_logs")" "$n_rt:$n_audit" \
	"no session issued and nothing audited with the wrong key"
run vc-auth audit verify
is "$rc:$(jqr .ok)" "0:true" "the chain is intact"

# ---- writers at the same time lose nothing ----------------------------
n0=$(sq "SELECT COUNT(*) FROM api_tokens")
for w in 1 2; do
	(
		i=0
		while [ $i -lt 20 ]; do
			vc-auth token create "w$w-$i" --role viewer > /dev/null 2>> "$T/conc.err" ||
				echo "fail w$w-$i" >> "$T/conc.fail"
			i=$((i + 1))
		done
	) &
	echo $! >> "$T/pids"
done
wait
is "$(cat "$T/conc.fail" 2>/dev/null | wc -l)" 0 "40 concurrent token creates all succeed"
is "$(cat "$T/conc.err" 2>/dev/null)" "" "without a message"
run vc-auth token list
is "$(printf '%s\n' "$out" | wc -l)" $((n0 + 40)) "token list counts all 40"
is "$(sq "SELECT COUNT(DISTINCT name) FROM api_tokens WHERE name LIKE 'w_-%'")" 40 "each one once"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='auth.tokens.create' AND outcome='success'")" 40 "each one audited"
run vc-auth audit verify
is "$rc:$(jqr .ok)" "0:true" "the chain verifies after concurrent writes"

# ---- key rotation --------------------------------------------------------
OLD_AT=$(jq -r --arg k "$VC_DB" '.[$k].access_token' "$XDG_CONFIG_HOME/velocicompanion/credentials")
printf '%s\n' "$PW" | vc-auth user create ada --role admin --password-stdin > /dev/null
printf '%s\n' "$PW" | XDG_CONFIG_HOME=$T/cfg-ada vc-auth login ada --password-stdin > /dev/null
ADA=$(jq -r '.[].access_token' "$T/cfg-ada/velocicompanion/credentials")
run env VC_TOKEN="$ADA" vc-auth key rotate
is "$rc" 77 "an admin cannot rotate the key"
is "$(wc -l < "$KEY")" 1 "the key file is unchanged"
run vc-auth key rotate
is "$rc:$(jqr .key_id)" "0:2" "the superadmin rotates the key: key 2"
is "$(wc -l < "$KEY"):$(mode "$KEY")" "2:600" "the key file holds two keys, still 0600"
is "$(sq "SELECT key_id FROM audit_logs WHERE action='auth.keys.rotate'")" 2 "rotation audited, signed with the new key"
run env VC_TOKEN="$OLD_AT" vc-auth whoami
is "$rc:$(jqr .username)" "0:root" "an access token signed with the old key still works"
run env VC_TOKEN="$ADA" vc-auth whoami
is "$rc" 0 "so does ada's"
as root "$ROOT_PW"
kid=$(jq -r --arg k "$VC_DB" '.[$k].access_token' "$XDG_CONFIG_HOME/velocicompanion/credentials" |
	cut -d. -f1 | tr '_-' '/+' | awk '{ while (length($0) % 4) $0 = $0 "="; print }' | base64 -d | jq -r .kid)
is "$kid" 2 "new access tokens are signed with the new key"
run vc-auth audit verify
is "$rc:$(jqr .ok)" "0:true" "the audit chain verifies across keys"
is "$(sq "SELECT COUNT(DISTINCT key_id) FROM audit_logs")" 2 "records of both keys"

# ---- usage -------------------------------------------------------------
run vc-auth frobnicate
is "$rc" 64 "an unknown command: exit 64"
like "$err" "^vc-auth: unknown command 'frobnicate'" "names it"
run vc-auth user show
is "$rc:$err" "64:vc-auth: missing id" "a missing argument: exit 64"
run vc-auth whoami --bogus
is "$rc" 64 "an unknown option: exit 64"
run vc-auth -h
is "$rc" 0 "-h: exit 0"

done_testing
