#!/bin/sh
# SPDX-License-Identifier: MIT
# The installation key's life: rotate (atomic rewrite, 0600, old access
# tokens still verify, new ones on the new key, sealed Velociraptor keys
# still open), key list, rekey (counts, no secret left on the old key:
# SEC-SEC-02), retire (refused while a secret or a valid access token may
# use the key, allowed after; audit records it macked still verify),
# VC_MASTER_KEY instead of the file (precedence, a wrong one), two
# rotations at once.
. "$(dirname "$0")/lib.sh"

KEY=$STORE_KEY
PW='sturdy tuna lantern'
PY=/usr/bin/python3
VR=$TOP/tests/fixtures/vr
C=$T/certs
S=$T/state
mkdir -p "$S"

mode() { stat -c %a "$1"; }
# kid_of BLOB: the key id in a sealed blob's header (bytes 1..4).
kid_of() { printf '%s' "$1" | base64 -d 2>/dev/null | od -An -tu1 -j1 -N4 | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }
# jwt_kid TOKEN: the kid of an access token's header.
jwt_kid() {
	printf '%s' "$1" | cut -d. -f1 | tr '_-' '/+' |
		awk '{ while (length($0) % 4) $0 = $0 "="; print }' | base64 -d | jq -r .kid
}
saved_at() { jq -r --arg k "$VC_DB" '.[$k].access_token' "$XDG_CONFIG_HOME/velocicompanion/credentials"; }
tmp_left() { ls -a "$(dirname "$KEY")" | grep -c '^vc\.key\.tmp' ; }
# keys_of: the ids of the key file, one a line.
keys_of() { cut -d: -f1 "$KEY" | tr '\n' ' ' | sed 's/ $//'; }

# ---- a store with two tenants, each with a sealed Velociraptor key ----------
PORT=$(free_port)
sh "$VR/mkcerts.sh" "$C" "$PORT" > /dev/null 2>&1
"$PY" "$VR/server.py" --port "$PORT" --certs "$C" --state "$S" > "$T/srv.out" 2> "$T/srv.err" &
echo $! >> "$T/pids"
await 60 grep -q '^listening on' "$T/srv.out"
export VC_ALLOW_VELOCIRAPTOR=127.0.0.1
init_store
is "$(mode "$KEY")" 600 "vc-auth init makes the key file 0600"
like "$(cat "$KEY")" '^1:[A-Za-z0-9+/]{43}= created=[0-9]+$' "one key, id 1, with its creation time"
vc-auth tenant create globex > /dev/null
printf '%s\n' "$PW" | vc-auth user create gina --role admin --tenant globex --password-stdin > /dev/null
printf '%s\n' "$PW" | vc-auth user create ada --role admin --password-stdin > /dev/null
GINA=$(login_as gina "$PW")
ADA=$(login_as ada "$PW")
run vc-hunt config set --api-config "$C/api_client.yaml"
is "$rc" 0 "acme's Velociraptor config (key sealed with key 1)"
with "$GINA" vc-hunt config set --api-config "$C/api_client.yaml"
is "$rc" 0 "globex's too"
run vc-auth key list
is "$rc:$(jqr '[.id,.state,.secrets] | join(" ")')" "0:1 active 2" "key list: key 1, active, sealing 2 secrets"
like "$(jqr .created_at)" '^20[0-9][0-9]-' "... with its creation time"
unlike "$out" "$(cut -d: -f2 "$KEY" | cut -d' ' -f1)" "... and never its material"
with "$ADA" vc-auth key list
is "$rc" 77 "an admin may not list the keys"

# ---- rotate -------------------------------------------------------------------
OLD_AT=$(saved_at)
is "$(jwt_kid "$OLD_AT")" 1 "the first access token is signed with key 1"
ino=$(stat -c %i "$KEY")
run vc-auth key rotate
is "$rc:$(jqr .key_id)" "0:2" "key rotate adds key 2"
is "$(keys_of)" "1 2" "the key file holds keys 1 and 2"
is "$(mode "$KEY"):$(tmp_left)" "600:0" "still 0600, no temporary file left"
test "$(stat -c %i "$KEY")" != "$ino"
ok $? "the file was replaced (written beside it, renamed over it), not changed in place"
run env VC_TOKEN="$OLD_AT" vc-auth whoami
is "$rc:$(jqr .username)" "0:root" "an access token of key 1 still verifies"
as root "$ROOT_PW"
is "$(jwt_kid "$(saved_at)")" 2 "a new access token is signed with key 2"
run vc-hunt config test
is "$rc:$(jqr .ok)" "0:true" "the Velociraptor key sealed with key 1 still opens (config test reaches the server)"
run vc-auth key list
is "$(jqr '[.id,.state,.secrets] | join(" ")' | tr '\n' ,)" "1 verify-only 2,2 active 0," \
	"key list: key 1 verify-only with 2 secrets, key 2 active with none"
run vc-hunt config set --api-config "$C/api_client.yaml"
is "$(kid_of "$(sq "SELECT key_sealed FROM velociraptor_configs WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'acme')")")" 2 \
	"a secret sealed now names key 2"

# ---- retire refused while used, rekey ------------------------------------------
run vc-auth key retire 1
is "$rc" 65 "retire key 1 while it seals a secret: refused (exit 65)"
is "$err" "vc-auth: key 1 still seals 1 secret: run 'vc-auth key rekey' first" "... saying what uses it"
is "$(keys_of)" "1 2" "... and the key file is unchanged"
run vc-auth key rekey
is "$rc" 0 "key rekey"
is "$(jqr 'select(.table == "velociraptor_configs") | [.table,.column,.secrets,.resealed,.key_id] | join(" ")')" \
	"velociraptor_configs key_sealed 2 1 2" "... reports per column: 2 secrets, 1 sealed again under key 2"
is "$(sq "SELECT key_sealed FROM velociraptor_configs" | while read -r b; do kid_of "$b"; done | sort -u)" 2 \
	"SEC-SEC-02: no sealed secret is left on key 1"
run vc-hunt config test
is "$rc:$(jqr .ok)" "0:true" "acme's key opens after the rekey"
with "$GINA" vc-hunt config test
is "$rc:$(jqr .ok)" "0:true" "so does globex's"
run vc-auth key rekey
is "$rc:$(jqr '[.resealed] | add' | jq -s add)" "0:0" "a second rekey has nothing to do"
is "$(sq "SELECT details FROM audit_logs WHERE action = 'auth.keys.rekey' ORDER BY id" | jq -r .resealed | tr '\n' ,)" "1,0," \
	"rekeys are audited with their counts"
# A blob that does not open stops the rekey, which changes nothing.
good=$(sq "SELECT key_sealed FROM velociraptor_configs WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'globex')")
sq "UPDATE velociraptor_configs SET key_sealed = '$(sq "SELECT key_sealed FROM velociraptor_configs WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'acme')")' WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'globex')"
run vc-auth key rekey
is "$rc" 78 "a secret that does not open (acme's blob in globex's row): rekey fails"
like "$err" "^vc-auth: velociraptor_configs.key_sealed of tenant_id [0-9a-f-]+: secret does not open" "... naming the row"
sq "UPDATE velociraptor_configs SET key_sealed = '$good' WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'globex')"

# ---- retire refused while tokens may be valid, then allowed -------------------
run vc-auth key retire 1
is "$rc" 65 "retire key 1 within 16 minutes of the rotation: refused"
like "$err" "^vc-auth: key 1 may have signed access tokens that are still valid: retire it after " "... saying until when"
# Sixteen minutes later, as far as the key file knows.
sed 's/^\(2:[^ ]*\) created=[0-9]*/\1 created=1000000000/' "$KEY" > "$T/k" && cat "$T/k" > "$KEY" && rm "$T/k"
run vc-auth key retire 1
is "$rc:$(jqr .state)" "0:retired" "retire key 1 once nothing uses it"
like "$(sed -n 1p "$KEY")" '^1:- created=[0-9]+ retired=[0-9]+ audit=[A-Za-z0-9+/]{43}=$' \
	"its line keeps only the audit subkey"
is "$(mode "$KEY"):$(tmp_left)" "600:0" "still 0600, no temporary file left"
run env VC_TOKEN="$OLD_AT" vc-auth whoami
is "$rc" 77 "an access token of the retired key no longer verifies"
run vc-auth audit verify
is "$rc:$(jqr .ok)" "0:true" "the audit records key 1 macked still verify"
run vc-auth key list
is "$(jqr '[.id,.state,.secrets] | join(" ")' | tr '\n' ,)" "1 retired 0,2 active 2," "key list: key 1 retired"
run vc-auth key retire 1
is "$rc:$err" "65:vc-auth: key 1 is already retired" "retiring it again: refused"
run vc-auth key retire 2
is "$rc:$err" "65:vc-auth: key 2 is the newest key, which signs and seals: rotate first" "the newest key: refused"
run vc-auth key retire 9
is "$rc:$err" "66:vc-auth: no key 9 in the keyring" "an unknown key: exit 66"
run vc-auth key retire x1
is "$rc" 64 "a key id that is no number: exit 64"
with "$ADA" vc-auth key retire 1
is "$rc" 77 "an admin may not retire a key"

# ---- VC_MASTER_KEY ------------------------------------------------------------------
MK=$(base64 -w0 "$KEY")
mv "$KEY" "$T/away.key"
run vc-auth whoami
is "$rc" 78 "without the key file: exit 78"
run env VC_MASTER_KEY="$MK" vc-auth whoami
is "$rc:$(jqr .username)" "0:root" "VC_MASTER_KEY instead of the file: the saved token verifies"
run env VC_MASTER_KEY="$MK" vc-hunt config test
is "$rc:$(jqr .ok)" "0:true" "... and the sealed key opens"
test ! -e "$KEY"
ok $? "... and no key file was made"
run env VC_MASTER_KEY="$(base64 "$T/away.key")" vc-auth key list
is "$rc:$(jqr .state | tr '\n' ,)" "0:retired,active," "base64 with line breaks works too"
printf 'x\n' > "$T/bad.key"
chmod 644 "$T/bad.key"
run env VC_MASTER_KEY="$MK" VC_KEY_FILE="$T/bad.key" vc-auth whoami
is "$rc" 0 "VC_MASTER_KEY wins over VC_KEY_FILE (a bad file is not even read)"
run env VC_MASTER_KEY="$MK" vc-auth key rotate
is "$rc" 78 "rotate with VC_MASTER_KEY: refused (exit 78)"
like "$err" "^vc-auth: cannot rotate: the keyring comes from VC_MASTER_KEY" "... saying why"
run env VC_MASTER_KEY='not base64!' vc-auth whoami
is "$rc:$err" "78:vc-auth: VC_MASTER_KEY is not standard base64 of a key file (make it with: base64 -w0 vc.key)" \
	"VC_MASTER_KEY that is no base64: a clear error"
run env VC_MASTER_KEY="$(printf 'hello\n' | base64)" vc-auth whoami
is "$rc:$err" "78:vc-auth: VC_MASTER_KEY:1: expected ID:BASE64" "VC_MASTER_KEY that is no key file: a clear error"
OTHER=$(printf '2:%s\n' "$(head -c 32 /dev/urandom | base64)" | base64 -w0)
run_in "$ROOT_PW" env VC_MASTER_KEY="$OTHER" vc-auth login root --password-stdin
is "$rc" 78 "a well-formed VC_MASTER_KEY of another installation: login fails (exit 78)"
like "$err" "^vc-auth: audit record [0-9]+ does not verify with VC_MASTER_KEY: the key is not this store's" \
	"... saying the key is not this store's"
run env VC_MASTER_KEY="$OTHER" vc-hunt config test
is "$rc" 78 "... nor does anything else: the saved token fails, and so does auditing that"
like "$err" "does not verify with VC_MASTER_KEY" "... with the same message"
PORT=$(free_port)
VC_MASTER_KEY="$MK" vc-serve --listen "127.0.0.1:$PORT" 2> "$T/serve-mk.err" &
SRV=$!
echo "$SRV" >> "$T/pids"
await 30 grep -q 'listening on' "$T/serve-mk.err"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"username\":\"root\",\"password\":\"$ROOT_PW\"}" "http://127.0.0.1:$PORT/api/auth/login")
is "$code" 200 "vc-serve with VC_MASTER_KEY: a login works (every worker has the keyring)"
tr '\0' '\n' < "/proc/$SRV/environ" | grep -c -- "$(printf '%s' "$MK" | cut -c1-24)" > "$T/leak"
is "$(cat "$T/leak")" 0 "... and the key is wiped from its environment (/proc/PID/environ)"
kill "$SRV"
await 30 gone "$SRV"
mv "$T/away.key" "$KEY"

# ---- a running vc-serve follows the key file ----------------------------------------
PORT=$(free_port)
vc-serve --listen "127.0.0.1:$PORT" 2> "$T/serve.err" &
SRV=$!
echo "$SRV" >> "$T/pids"
await 30 grep -q 'listening on' "$T/serve.err"
http_login() {
	curl -s --max-time 20 -H 'Content-Type: application/json' \
	    -d "{\"username\":\"root\",\"password\":\"$ROOT_PW\"}" \
	    "http://127.0.0.1:$PORT/api/auth/login" | jq -r .access_token
}
AT=$(http_login)
is "$(jwt_kid "$AT")" 2 "vc-serve signs with key 2"
run vc-auth key rotate
is "$rc:$(jqr .key_id)" "0:3" "vc-auth rotates to key 3 while vc-serve runs"
is "$(jwt_kid "$(http_login)")" 3 "vc-serve signs the next token with key 3, without a restart"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $AT" "http://127.0.0.1:$PORT/api/auth/me")
is "$code" 200 "... and still takes the token of key 2"
kill "$SRV"
await 30 gone "$SRV"

# ---- two rotations at once ------------------------------------------------------
vc-auth key rotate > "$T/r1" 2>&1 &
p1=$!
vc-auth key rotate > "$T/r2" 2>&1 &
p2=$!
wait "$p1"; r1=$?
wait "$p2"; r2=$?
is "$r1:$r2" "0:0" "two rotations at once both succeed"
is "$(keys_of)" "1 2 3 4 5" "... with keys 4 and 5, none lost"
is "$(jq -r .key_id "$T/r1" "$T/r2" | sort | tr '\n' ,)" "4,5," "... each reporting its own"
is "$(sq "SELECT details FROM audit_logs WHERE action = 'auth.keys.rotate' AND outcome = 'success'" | jq -r .key_id | sort -n | tr '\n' ,)" \
	"2,3,4,5," "... and each rotation audited once, with its key"
is "$(mode "$KEY"):$(tmp_left)" "600:0" "still 0600, no temporary file left"

# ---- a key file of an earlier version --------------------------------------------
sed 's/ created=[0-9]*$//' "$KEY" > "$T/k" && cat "$T/k" > "$KEY" && rm "$T/k"
run vc-auth key list
is "$rc:$(jqr 'select(.id > 1) | .created_at' | tr '\n' ,)" "0:null,null,null,null," \
	"lines without created= still load (creation time unknown)"
run vc-hunt config test
is "$rc" 0 "and everything still opens"

done_testing
