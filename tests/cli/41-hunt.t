#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-hunt against the Velociraptor API double (tests/fixtures/vr): the
# per-tenant API config (key sealed at rest, never shown), config test,
# clients and --sync, collect / flow / flow results with --wait and
# --store, hunts (conditions, idempotency keys, --wait, stop, results and
# --store), query; every user value in env, never in the VQL; org_id;
# the error mapping (wrong CA, foreign or expired client certificate,
# name mismatch, server down, PERMISSION_DENIED, VQL errors and ERROR
# logs, INTERNAL, one retry on UNAVAILABLE, timeouts); a 100,000-row hunt
# result streamed with flat memory; the collect allow-list (analysts
# collect what it names, admins anything, refusals audited); roles;
# tenant isolation.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
VR=$TOP/tests/fixtures/vr
C=$T/certs
S=$T/state
Y=$T/yaml
PW='sturdy tuna lantern'
W=C.c307ce0ccb8e1037            # DESKTOP-BTI2T9T, windows, label finance
PSL=Windows.System.Pslist
FIXTURE_HUNT=H.D0VQ8C7SHB4EK
mkdir -p "$S" "$Y"

# srv_start PORT STATE LOG ARGS...: start the double (environment from
# $SRV_ENV) and wait for its "listening" line; $SRV is its pid.
srv_start() {
	_p=$1 _s=$2 _l=$3; shift 3
	mkdir -p "$_s"
	env ${SRV_ENV-} "$PY" "$VR/server.py" --port "$_p" --certs "$C" --state "$_s" "$@" > "$_l" 2> "$_l.err" &
	SRV=$!
	echo "$SRV" >> "$T/pids"
	await 60 grep -q '^listening on' "$_l" 2>/dev/null
}
# yaml NAME PORT [CA]: an API client config like api_client.yaml, for
# 127.0.0.1:PORT, with CA (a PEM file) as its ca_certificate.
yaml() {
	{
		echo 'ca_certificate: |'
		sed 's/^/  /' "${3:-$C/ca.pem}"
		sed -n '/^client_cert:/,$p' "$C/api_client.yaml" |
			sed "s/^api_connection_string: .*/api_connection_string: 127.0.0.1:$2/"
	} > "$Y/$1.yaml"
}
# nreq [STATE]: requests that reached the double's handler.
nreq() { wc -l < "${1:-$S}/requests.jsonl" | tr -d ' '; }
# last [-c] FILTER: jq -r FILTER over the last request the double got.
last() { tail -n 1 "$S/requests.jsonl" | jq -r "$@"; }
lines() { if [ -z "$out" ]; then echo 0; else printf '%s\n' "$out" | wc -l | tr -d ' '; fi; }
mode() { if [ -n "$1" ]; then echo "$1" > "$S/mode"; else rm -f "$S/mode"; fi; }

# ---- the double ---------------------------------------------------------------
PORT=$(free_port)
sh "$VR/mkcerts.sh" "$C" "$PORT" > /dev/null 2>&1
SRV_ENV="VR_TEST_HUNT_ROWS=200 VR_TEST_RUNNING_POLLS=1"
srv_start "$PORT" "$S" "$T/srv.out"
MAIN=$SRV
is "$(cat "$T/srv.out")" "listening on 127.0.0.1:$PORT" "the Velociraptor double is up"
: > "$S/requests.jsonl"

# ---- store, users -----------------------------------------------------------------
init_store
for u in "vic viewer" "ann analyst" "ada admin"; do
	set -- $u
	printf '%s\n' "$PW" | vc-auth user create "$1" --role "$2" --password-stdin > /dev/null
done
vc-auth tenant create globex > /dev/null
printf '%s\n' "$PW" | vc-auth user create gina --role admin --tenant globex --password-stdin > /dev/null
VIC=$(login_as vic "$PW")
ANN=$(login_as ann "$PW")
ADA=$(login_as ada "$PW")
GINA=$(login_as gina "$PW")
like "$VIC $ANN $ADA $GINA" '^eyJ.* eyJ.* eyJ.* eyJ' "viewer, analyst, admin and globex's admin log in"

# ---- config ---------------------------------------------------------------------------
with "$ANN" vc-hunt clients
is "$rc" 78 "no config yet: exit 78"
like "$err" "^vc-hunt: no Velociraptor API config for this tenant" "... 'no Velociraptor API config'"
with "$ANN" vc-hunt config set --api-config "$C/api_client.yaml"
is "$rc" 77 "an analyst cannot set the config: exit 77"
with "$ADA" vc-hunt config set --api-config "$T/nosuch.yaml"
is "$rc" 66 "config set from a missing file: exit 66"
sed '/^client_private_key:/,/^api_connection_string:/{/^api_connection_string:/!d}' "$C/api_client.yaml" > "$Y/nokey.yaml"
with "$ADA" vc-hunt config set --api-config "$Y/nokey.yaml"
is "$rc:$err" "65:vc-hunt: the API client config has no client_private_key" "a config without a key: exit 65"
with "$ADA" vc-hunt config set --api-config "$C/api_client_encrypted.yaml"
is "$rc" 65 "a config with an encrypted key: exit 65"
like "$err" "client_private_key is encrypted" "... saying so"
echo 'not: [yaml' > "$Y/bad.yaml"
with "$ADA" vc-hunt config set --api-config "$Y/bad.yaml"
is "$rc" 65 "a file that is not YAML: exit 65"

# The double listens on loopback: a destination the installation must allow.
unset VC_ALLOW_VELOCIRAPTOR
with "$ADA" vc-hunt config set --api-config "$C/api_client.yaml"
is "$rc" 77 "a config pointing at loopback, not allowed by the installation: exit 77"
like "$err" "^vc-hunt: Velociraptor at 127.0.0.1:$PORT is not a destination this installation allows: 127.0.0.1 is a loopback address" \
	"... saying why and how to allow it"
sed "s/^api_connection_string: .*/api_connection_string: localhost:$PORT/" "$C/api_client.yaml" > "$Y/byname.yaml"
with "$ADA" vc-hunt config set --api-config "$Y/byname.yaml"
is "$rc" 0 "a name is not resolved inside the change ..."
with "$ADA" vc-hunt config test
is "$rc" 77 "... but every dial checks what it resolves to: exit 77"
like "$err" "is a loopback address" "... loopback"
is "$(grep -c . "$S/requests.jsonl")" 0 "... and the double saw no request"
export VC_ALLOW_VELOCIRAPTOR="10.255.255.0/24, 127.0.0.1"
with "$ADA" vc-hunt config set --api-config "$C/api_client.yaml"
is "$rc" 0 "an admin sets the config (127.0.0.1 allowed by \$VC_ALLOW_VELOCIRAPTOR)"
FP=$(openssl x509 -in "$C/client.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
is "$(jqr '"\(.name) \(.api_connection_string) \(.pinned_name) \(.org_id) \(.cert_fingerprint)"')" \
	"vc-test 127.0.0.1:$PORT VelociraptorServer null $FP" "it shows name, address, pinned name, org and fingerprint"
like "$(jqr .cert_expires_at)" '^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T' "... and when the client certificate expires"
with "$ADA" vc-hunt config show
is "$rc:$(jqr .cert_fingerprint)" "0:$FP" "config show by an admin"
KEYLINE=$(sed -n 2p "$C/client.key")
KEYLAST=$(sed -n '$!{h;d};x;p' "$C/client.key")
unlike "$out$err" "PRIVATE KEY" "config show never prints key material"
case "$out" in *"$KEYLINE"*) ok 1 "... nor a line of the key" ;; *) ok 0 "... nor a line of the key" ;; esac
with "$ADA" vc-hunt -o json config show
unlike "$out" "PRIVATE KEY|client_private_key|key_sealed" "... in any output format"
with "$ANN" vc-hunt config show
is "$rc" 77 "config show needs the admin role"
sq .dump > "$T/dump.sql"
n=0
for l in "$KEYLINE" "$KEYLAST"; do grep -qF -- "$l" "$T/dump.sql" && n=$((n + 1)); done
is "$n" 0 "the private key is not in a dump of the store in clear"
is "$(grep -c 'PRIVATE KEY' "$T/dump.sql")" 0 "... not even its PEM armour"
is "$(sq "SELECT COUNT(*) FROM velociraptor_configs WHERE ca_pem LIKE '%BEGIN CERTIFICATE%' AND key_sealed <> ''")" 1 \
	"the store has the certificates and a sealed key"

with "$ANN" vc-hunt config test
is "$rc" 0 "config test by an analyst"
is "$(jqr '"\(.ok) \(.server) \(.tls) \(.http)"')" "true velociraptor-test TLSv1.3 2" \
	"config test: the server's identity, TLS 1.3, HTTP/2"
like "$(jqr .latency_ms)" '^[0-9]+$' "... and the latency in ms"
is "$(last .vql)" "SELECT * FROM info()" "... with a trivial query"
is "$(last .cn)" "vc-test" "the double saw the client certificate"
like "$(last '.metadata["user-agent"]')" "velocicompanion/" "... and our user agent"
is "$(last '"\(.org_id) \(.max_row)"')" " 1000" "root org, max_row set"
with "$VIC" vc-hunt config test
is "$rc" 77 "config test needs the analyst role"

# ---- clients ----------------------------------------------------------------------------
with "$VIC" vc-hunt clients
is "$rc:$(lines)" "0:5" "clients: a viewer sees the 5 clients, one line each"
is "$(jqr .client_id | sort | tr '\n' ' ')" \
	"C.0009325c18a37dc4 C.453d81822d0456e6 C.c307ce0ccb8e1037 C.c8643302a9fa96a8 C.c8fbb8446daf09f2 " \
	"... as clients() rows"
is "$(last '"\(.vql)|\(.env.Search)"')" "SELECT * FROM clients(search=Search)|all" "... searching all, through env"
with "$VIC" vc-hunt clients --label web
is "$(jqr .os_info.hostname)" web01 "--label web"
is "$(last .env.Search)" "label:web" "... is the search label:web"
with "$VIC" vc-hunt clients --search 'host:DC*'
is "$(jqr .os_info.hostname)" DC01 "--search host:DC*"
with "$VIC" vc-hunt clients --search all --label web
is "$rc" 64 "--search and --label together: exit 64"
with "$VIC" vc-hunt -o table clients
like "$out" "client_id" "-o table prints a table"
with "$VIC" vc-hunt clients --sync
is "$rc" 77 "--sync needs the analyst role"
is "$(sq 'SELECT COUNT(*) FROM hosts')" 0 "... nothing synced"
with "$ANN" vc-hunt clients --sync
is "$rc:$(jqr '"\(.clients) \(.created) \(.updated) \(.bad)"')" "0:5 5 0 0" "--sync: 5 hosts created"
with "$ANN" vc-hosts list -o jsonl
is "$(jqr '"\(.hostname) \(.client_id) \(.source)"' | sort | tr '\n' ',')" \
	"DC01 C.453d81822d0456e6 velociraptor,DESKTOP-BTI2T9T C.c307ce0ccb8e1037 velociraptor,LAPTOP-7Q2M4K1 C.c8643302a9fa96a8 velociraptor,db01 C.0009325c18a37dc4 velociraptor,web01 C.c8fbb8446daf09f2 velociraptor," \
	"... with hostnames and client ids"
with "$ANN" vc-notify events --type host.new -o jsonl
is "$(jqr '"\(.body.count) \(.body.source)"')" "5 velociraptor" "one host.new event for the 5 synced hosts"
with "$ANN" vc-hunt clients --sync
is "$(jqr '"\(.created) \(.updated)"')" "0 5" "a second --sync updates them"
is "$(sq "SELECT COUNT(*) FROM events WHERE type = 'host.new'")" 1 "... and writes no event"
run vc-auth audit list --action velociraptor.clients.sync
is "$(jqr .actor | sort | tr '\n' ' ')" "ann ann " "each sync is audited"

with "$VIC" vc-hunt client "$W"
is "$rc:$(jqr .os_info.hostname)" "0:DESKTOP-BTI2T9T" "client CLIENT_ID"
is "$(last '"\(.vql)|\(.env.ClientId)"')" "SELECT * FROM clients(client_id=ClientId)|$W" "... through env"
with "$VIC" vc-hunt client C.0000000000000000
is "$rc:$err" "66:vc-hunt: Velociraptor has no client C.0000000000000000" "an unknown client: exit 66"

# ---- values travel in env -----------------------------------------------------------------
EVIL="C.x' OR 1=1"
with "$VIC" vc-hunt client "$EVIL"
is "$rc" 66 "a client id with a quote is just an unknown client"
is "$(last .vql)" "SELECT * FROM clients(client_id=ClientId)" "... the VQL is the constant"
is "$(last .env.ClientId)" "$EVIL" "... and the value is in env"
with "$VIC" vc-hunt clients --search "x') OR label:dc --"
is "$(last '"\(.vql)|\(.env.Search)"')" "SELECT * FROM clients(search=Search)|x') OR label:dc --" \
	"a search with quotes: constant VQL, the value in env"
is "$rc:$out" "0:" "... and it matches nothing"
with "$ANN" vc-hunt collect --client "$EVIL" --artifact "$PSL"
is "$rc" 65 "collect from a client id with a quote: no flow, exit 65"
like "$err" "ERROR:collect_client: client not found: C.x' OR 1=1" "... with Velociraptor's ERROR log"
is "$(last .env.ClientId)" "$EVIL" "... the value in env"
with "$VIC" vc-hunt flow "$EVIL" "F.x' OR 1=1"
is "$(last '"\(.env.ClientId)|\(.env.FlowId)"')" "$EVIL|F.x' OR 1=1" "flow: client and flow ids in env"
with "$ANN" vc-hunt collect --client "$W" --artifact "Windows.System.Pslist' OR 1=1"
is "$rc" 64 "an artifact name with a quote is refused before any request"

# ---- collect, flow, flow results ----------------------------------------------------------
n0=$(nreq)
with "$VIC" vc-hunt collect --client "$W" --artifact "$PSL"
is "$rc" 77 "a viewer cannot collect: exit 77"
like "$err" "needs the analyst role" "... saying why"
is "$(nreq)" "$n0" "... and nothing reached Velociraptor"
with "$ANN" vc-hunt collect --client "$W" --artifact "$PSL" --param ProcessRegex=evil --param 'X=a b'
is "$rc:$(jqr .client_id):$(jqr .artifact)" "0:$W:$PSL" "an analyst collects"
F=$(jqr .flow_id)
like "$F" '^F\.[0-9A-V]{13}$' "... and gets a flow id"
is "$(last .vql)" "SELECT collect_client(client_id=ClientId, artifacts=parse_json(data=Artifacts), env=parse_json(data=Params), timeout=int(int=Timeout)) AS Flow FROM scope()" \
	"collect: the VQL is the constant"
is "$(last -c .env)" "{\"ClientId\":\"$W\",\"Artifacts\":\"[\\\"$PSL\\\"]\",\"Params\":\"{\\\"ProcessRegex\\\":\\\"evil\\\",\\\"X\\\":\\\"a b\\\"}\",\"Timeout\":\"600\"}" \
	"... client, artifacts, parameters and timeout in env"
with "$ANN" vc-hunt collect --client "$W" --artifact "$PSL" --param novalue
is "$rc" 64 "--param without = : exit 64"
with "$VIC" vc-hunt flow "$W" "$F"
is "$rc:$(jqr .session_id)" "0:$F" "flow CLIENT_ID FLOW_ID"
is "$(last .vql)" "SELECT get_flow(client_id=ClientId, flow_id=FlowId) AS Flow FROM scope()" "... polls with get_flow()"
with "$VIC" vc-hunt flow "$W" F.NOSUCHFLOW000
is "$rc:$err" "65:vc-hunt: Velociraptor: ERROR:get_flow: flow F.NOSUCHFLOW000 not found for client $W" \
	"an unknown flow: Velociraptor's ERROR log, exit 65"
with "$VIC" vc-hunt flow results "$W" "$F" --artifact "$PSL"
is "$rc:$(jqr .Name | sort -u)" "0:evil.exe" "flow results: the rows, with the parameters applied"
is "$(last '"\(.vql)|\(.env.Artifact)"')" "SELECT * FROM source(client_id=ClientId, flow_id=FlowId, artifact=Artifact)|$PSL" \
	"... from source() with the artifact in env"
with "$VIC" vc-hunt flow results "$W" "$F"
is "$rc" 64 "flow results without --artifact: exit 64"

t0=$(date +%s)
with "$ANN" vc-hunt collect --client "$W" --artifact "$PSL" --wait
t1=$(date +%s)
is "$rc:$(jqr .state):$(jqr .flow.total_collected_rows)" "0:FINISHED:32" "collect --wait: polls until FINISHED"
ok $([ $((t1 - t0)) -lt 15 ]; echo $?) "... promptly"
F2=$(jqr .flow_id)
with "$VIC" vc-hunt flow results "$W" "$F2" --artifact "$PSL"
is "$(lines)" 32 "flow results: 32 rows"
with "$VIC" vc-hunt flow results "$W" "$F2" --artifact "$PSL" --store
is "$rc" 77 "flow results --store needs the analyst role"
run vc-case create 'beacon on DESKTOP-BTI2T9T'
CASE=$(jqr .id)
with "$ANN" vc-hunt flow results "$W" "$F2" --artifact "$PSL" --store --case "$CASE"
is "$rc:$(lines)" "0:32" "flow results --store: the rows stream out"
with "$ANN" vc-case artifact list --flow "$F2" -o jsonl
is "$rc:$(jqr '"\(.name) \(.client_id) \(.host) \(.case_id == "'"$CASE"'") \(.row_count) \(.state) \(.source)"')" \
	"0:$PSL $W DESKTOP-BTI2T9T true 32 complete velociraptor" "... and are kept as an artifact of the host and the case"
with "$ANN" vc-hunt collect --client "$W" --artifact Generic.Client.Info --store
is "$rc:$(jqr .state):$(jqr .stored.rows)" "0:FINISHED:1" "collect --store waits and keeps the results"
is "$(jqr .stored.name)" Generic.Client.Info/BasicInformation "... of the artifact's one source"
with "$ANN" vc-case artifact rows "$(jqr .stored.id)"
is "$(jqr .Hostname)" DESKTOP-BTI2T9T "... the stored row"
# Neither is on the analysts' allow-list (below): an admin collects them.
with "$ADA" vc-hunt collect --client "$W" --artifact Test.Fail --wait
is "$rc" 65 "a flow that ends in ERROR: exit 65"
like "$err" "ended in ERROR" "... saying so"
with "$ADA" vc-hunt collect --client "$W" --artifact No.Such.Artifact
is "$rc" 65 "an unknown artifact: exit 65"
like "$err" "ERROR:collect_client: Unknown artifact No.Such.Artifact" "... with Velociraptor's ERROR log"
run vc-auth audit list --action velociraptor.collect
is "$(jqr 'select(.outcome == "success") | "\(.actor) \(.target_type)"' | sort -u | tr '\n' ,)" "ada flow,ann flow," \
	"collections are audited"

# ---- the collect allow-list -----------------------------------------------------------------
# Analysts collect only the artifacts on the tenant's list, the built-in
# default until an admin changes it; admins collect any.  A refusal comes
# before anything is sent and is audited with the artifact's name.
PSH=Windows.System.PowerShell
QUA=Windows.Remediation.Quarantine      # known to the double: only the list stops it
USR=Windows.Sys.Users                   # read-only, but not on the default list
# allowed: the artifacts of the list in effect, on one line.
allowed() { jqr .artifact | tr '\n' ' '; }
with "$VIC" vc-hunt allowlist show
is "$rc:$(jqr .source | sort -u)" "0:default" "a viewer sees the list in effect: the built-in default"
DEFAULT=$(allowed)
# The list vc-hunt(1) gives, from its section on the allow-list.
DOC=$(sed -n '/^\.Ss The collect allow-list/,/^\.S[sh] /s/^\.It Li \([A-Za-z0-9_.]*\)$/\1/p' "$TOP/man/vc-hunt.1" | tr '\n' ' ')
is "$DEFAULT" "$DOC" "... the one vc-hunt(1) documents"
like "$DEFAULT" "^Generic.Client.Info .*$PSL " "... with Generic.Client.Info and $PSL"
unlike "$DEFAULT" "PowerShell|CmdShell|BashShell|Remediation|Cleanup|Collectors|Interfaces|Crontab|Services|Users" "... and nothing that runs, uploads or removes"
with "$ANN" vc-hunt collect --client "$W" --artifact Windows.Network.Netstat
is "$rc:$(jqr .artifact)" "0:Windows.Network.Netstat" "an analyst collects an artifact of the default list"
n0=$(nreq)
with "$ANN" vc-hunt collect --client "$W" --artifact "$PSH"
is "$rc:$out" "77:" "an analyst collecting $PSH is refused: exit 77"
is "$err" "vc-hunt: $PSH is not on this tenant's collect allow-list: only a tenant admin may collect it, or add it to the list ('vc-hunt allowlist add $PSH')" \
	"... saying why and who can change it"
with "$ANN" vc-hunt collect --client "$W" --artifact "$QUA" --param RemovePolicy=Y
is "$rc" 77 "... as is $QUA"
is "$(nreq)" "$n0" "... and nothing reached Velociraptor"
run vc-auth audit list --action velociraptor.collect --outcome denied
is "$(jqr '"\(.actor) \(.target_type) \(.details.artifact) \(.details.allowlist)"' | LC_ALL=C sort | tr '\n' ,)" \
	"ann flow $QUA default,ann flow $PSH default," "each refusal is audited as denied, with the artifact"
like "$(jqr .reason | head -n 1)" "is not on this tenant's collect allow-list" "... and the reason"
with "$ANN" vc-auth token create ci --role analyst
CI=$(jqr .token)
with "$ADA" vc-auth token create ada-ci --role analyst
ADACI=$(jqr .token)
with "$ADACI" vc-hunt collect --client "$W" --artifact "$QUA"
is "$rc" 77 "an admin's token with the analyst role is held to the list"
with "$ADA" vc-hunt collect --client "$W" --artifact "$QUA" --param RemovePolicy=Y
is "$rc:$(jqr .artifact)" "0:$QUA" "an admin collects any artifact"
like "$(jqr .flow_id)" '^F\.' "... and gets a flow"

with "$VIC" vc-hunt allowlist add "$USR"
is "$rc" 77 "a viewer cannot change the list: exit 77"
with "$ANN" vc-hunt allowlist add "$USR"
is "$rc" 77 "... nor an analyst"
with "$CI" vc-hunt allowlist reset
is "$rc" 77 "... nor an analyst's token"
run vc-auth audit list --action authz.denied
is "$(jqr 'select(.reason | startswith("velociraptor.allowlist.")) | "\(.actor) \(.reason)"' | LC_ALL=C sort | tr '\n' ,)" \
	"ann velociraptor.allowlist.add,ann velociraptor.allowlist.reset,vic velociraptor.allowlist.add," \
	"... each attempt audited as authz.denied"
with "$ANN" vc-hunt allowlist show
is "$(allowed)" "$DEFAULT" "... the list is unchanged"

with "$ADA" vc-hunt allowlist add "$USR"
is "$rc" 0 "an admin adds $USR"
is "$(jqr "select(.artifact == \"$USR\") | \"\(.source) \(.added_by)\"")" "tenant ada" "... the tenant's own list now, $USR added by ada"
is "$(jqr .artifact | grep -v "^$USR\$" | tr '\n' ' ')" "$DEFAULT" "... with the default's artifacts kept"
with "$ANN" vc-hunt collect --client "$W" --artifact "$USR"
is "$rc:$(jqr .artifact)" "0:$USR" "... and the analyst may collect it"
with "$ADA" vc-hunt allowlist add "$USR"
is "$rc" 65 "adding it again: exit 65"
like "$err" "$USR is already on this tenant's collect allow-list" "... saying so"
with "$ADA" vc-hunt allowlist remove "$USR"
is "$rc:$(allowed)" "0:$DEFAULT" "an admin removes it"
with "$ANN" vc-hunt collect --client "$W" --artifact "$USR"
is "$rc" 77 "... and the analyst is refused again"
with "$ADA" vc-hunt allowlist remove "$USR"
is "$rc" 66 "removing what is not there: exit 66"
with "$ADA" vc-hunt allowlist remove "$PSL"
with "$ANN" vc-hunt collect --client "$W" --artifact "$PSL"
is "$rc" 77 "a default artifact removed: refused too"
run vc-auth audit list --action 'velociraptor.allowlist.*' --outcome success
is "$(jqr '"\(.action) \(.actor) \(.details.added) \(.details.removed)"' | LC_ALL=C sort | tr '\n' ,)" \
	"velociraptor.allowlist.add ada [\"$USR\"] [],velociraptor.allowlist.remove ada [] [\"$USR\"],velociraptor.allowlist.remove ada [] [\"$PSL\"]," \
	"every change is audited with what it added and removed"

with "$ADA" vc-hunt allowlist set --artifact Generic.Client.Info --artifact "$USR" --artifact Generic.Client.Info
is "$rc:$(allowed)" "0:Generic.Client.Info $USR " "set replaces the list (once each)"
with "$ANN" vc-hunt collect --client "$W" --artifact Windows.Network.Netstat
is "$rc" 77 "... an artifact left out is refused"
with "$ADA" vc-hunt allowlist set
is "$rc:$out" "0:" "set with no artifact: an empty list"
with "$ANN" vc-hunt collect --client "$W" --artifact Generic.Client.Info
is "$rc" 77 "... and analysts collect nothing"
with "$ADA" vc-hunt collect --client "$W" --artifact Generic.Client.Info
is "$rc" 0 "... while admins still collect"

for bad in 'Windows.System.Pslist;DROP' 'Windows..Pslist' '.Pslist' 'Windows.7zip' 'Custom.Ünïcode' ''; do
	with "$ADA" vc-hunt allowlist add "$bad"
	is "$rc" 64 "add '$bad': not an artifact name, exit 64"
done
like "$err" "artifact name is empty" "... an empty one said so"
with "$ADA" vc-hunt allowlist add 'Win dows'
is "$err" "vc-hunt: not an artifact name: ' ' after 'Win' (only letters, digits, '_' and '.')" \
	"... the message names the first bad character"
with "$ADA" vc-hunt allowlist add "$(printf 'A.B\033[2J')"
is "$err" "vc-hunt: not an artifact name: byte 0x1b after 'A.B' (only letters, digits, '_' and '.')" \
	"... and never echoes what follows it"
with "$ADA" vc-hunt allowlist add "A$(printf '%0128d' 0)"
like "$rc:$err" "^64:.*at most 128 characters" "... a name over 128 characters"
with "$ADA" vc-hunt allowlist set --artifact Good.Name --artifact 'bad name'
is "$rc" 64 "set with one bad name: exit 64"
with "$VIC" vc-hunt allowlist show
is "$rc:$out" "0:" "... and the list is unchanged"
n0=$(nreq)
with "$ADA" vc-hunt collect --client "$W" --artifact 'Windows..Pslist'
is "$rc:$(nreq)" "64:$n0" "collect checks the name too, even an admin's, before sending anything"

# Tenants: globex has its own list, or the default; acme's changes stay acme's.
printf '%s\n' "$PW" | vc-auth user create gus --role analyst --tenant globex --password-stdin > /dev/null
GUS=$(login_as gus "$PW")
with "$GINA" vc-hunt allowlist show
is "$rc:$(jqr .source | sort -u):$(allowed)" "0:default:$DEFAULT" "globex still has the default while acme's list is empty"
with "$GUS" vc-hunt collect --client "$W" --artifact "$USR"
is "$rc" 77 "... its analyst may not collect what acme allowed"
with "$GINA" vc-hunt allowlist set --artifact "$QUA"
is "$rc:$(allowed)" "0:$QUA " "globex's admin sets globex's list"
with "$GUS" vc-hunt collect --client "$W" --artifact "$QUA"
is "$rc" 78 "... its analyst passes the list (and stops at globex's missing config)"
with "$ANN" vc-hunt collect --client "$W" --artifact "$QUA"
is "$rc" 77 "... while acme's analyst is still refused it"
with "$VIC" vc-hunt allowlist show
is "$rc:$out" "0:" "... and acme's list is still its own, empty"
with "$GINA" vc-hunt allowlist reset
is "$(sq "SELECT COUNT(*) FROM collect_policies")" 1 "globex's reset leaves acme's list alone"

with "$ADA" vc-hunt allowlist reset
is "$rc:$(jqr .source | sort -u):$(allowed)" "0:default:$DEFAULT" "reset: the default again"
is "$(sq "SELECT COUNT(*) FROM collect_policies") $(sq "SELECT COUNT(*) FROM collect_allowlist")" "0 0" \
	"... nothing of a list left in the store"
with "$ANN" vc-hunt collect --client "$W" --artifact "$PSL"
is "$rc" 0 "... and the analyst collects $PSL again"

# ---- hunts ---------------------------------------------------------------------------------
n0=$(nreq)
with "$ANN" vc-hunt create --artifact "$PSL"
is "$rc" 77 "an analyst cannot create a hunt: exit 77"
is "$(nreq)" "$n0" "... and nothing reached Velociraptor"
with "$ADA" vc-hunt create --artifact "$PSL" --os windows --label web
is "$rc" 64 "--os and --label together: exit 64"
DESC="it's a \"sweep\" ') OR 1=1"
now=$(date +%s)
with "$ADA" vc-hunt create --artifact "$PSL" --param ProcessRegex=evil --os windows --description "$DESC" --expires 2h
is "$rc:$(jqr .existing)" "0:false" "an admin creates a hunt"
H=$(jqr .hunt_id)
like "$H" '^H\.[0-9A-V]{13}$' "... and gets its id"
is "$(last .vql)" "SELECT hunt(description=Description, artifacts=parse_json(data=Artifacts), spec=parse_json(data=Spec), expires=timestamp(epoch=Expires), tags=parse_json(data=Tags), os=OS) AS Hunt FROM scope()" \
	"hunt: the VQL is a constant (the condition only adds os=OS)"
is "$(last '"\(.env.Description)|\(.env.OS)|\(.env.Artifacts)|\(.env.Spec)"')" \
	"$DESC|windows|[\"$PSL\"]|{\"$PSL\":{\"ProcessRegex\":\"evil\"}}" \
	"... description, OS, artifacts and parameters (as spec) in env"
exp=$(last .env.Expires)
ok $([ $((exp - now)) -ge 7199 ] && [ $((exp - now)) -le 7260 ]; echo $?) "... --expires 2h as a time in env"
with "$VIC" vc-hunt show "$H"
is "$rc:$(jqr '"\(.hunt_id) \(.hunt_description) \(.state) \(.stats.total_clients_scheduled)"')" \
	"0:$H $DESC RUNNING 3" "show: the hunt, on the 3 windows clients"
is "$(last '"\(.vql)|\(.env.HuntId)"')" "SELECT * FROM hunts(hunt_id=HuntId)|$H" "... hunt id in env"
with "$VIC" vc-hunt show H.NOSUCHHUNT000
is "$rc" 66 "show an unknown hunt: exit 66"
with "$ADA" vc-hunt create --artifact Generic.Client.Info --label web
is "$rc" 0 "a hunt on a label"
is "$(last '"\(.env.Labels)|\(.vql | test("include_labels=parse_json\\(data=Labels\\)"))"')" '["web"]|true' \
	"... include_labels from env"
HL=$(jqr .hunt_id)
with "$VIC" vc-hunt list
is "$rc" 0 "list"
is "$(jqr .hunt_id | grep -c -e "$H" -e "$HL" -e "$FIXTURE_HUNT")" 3 "... has our hunts and the fixture's"

with "$VIC" vc-hunt results "$H"
is "$rc:$(lines)" "0:200" "results: every row of the hunt"
is "$(jqr .Name | sort -u)" evil.exe "... with its parameters applied"
is "$(jqr .ClientId | sort -u | wc -l | tr -d ' ')" 3 "... from the 3 windows clients"
with "$VIC" vc-hunt results "$H" --artifact "$PSL"
is "$(lines):$(last .env.Artifact)" "200:$PSL" "results --artifact: the artifact in env"
with "$VIC" vc-hunt results "$HL" --artifact Generic.Client.Info/BasicInformation
is "$rc:$(jqr .Hostname)" "0:web01" "results of NAME/SOURCE"
with "$VIC" vc-hunt results "$H" --artifact "$PSL" --store
is "$rc" 77 "results --store needs the analyst role"
with "$ANN" vc-hunt results "$H" --store
is "$rc" 64 "results --store without --artifact: exit 64"
with "$ANN" vc-hunt results "$H" --artifact "$PSL" --store --case "$CASE"
is "$rc:$(lines)" "0:200" "results --store: the rows stream out"
with "$ANN" vc-case artifact list --hunt "$H" -o jsonl
is "$(jqr '"\(.name) \(.row_count) \(.state) \(.case_id == "'"$CASE"'")"')" "$PSL 200 complete true" \
	"... and are stored as an artifact of the case"
AH=$(jqr .id)
with "$ANN" vc-case artifact rows "$AH" --host C.453d81822d0456e6
n=$(lines)
ok $([ "$n" -gt 0 ] && [ "$n" -lt 200 ]; echo $?) "... its rows linked to hosts by ClientId ($n of DC01)"
with "$ANN" vc-case artifact rows "$AH" --host "$W"
m=$(lines)
with "$ANN" vc-case artifact rows "$AH" --host C.c8643302a9fa96a8
is "$((n + m + $(lines)))" 200 "... every row to one of the 3 hosts"
with "$ANN" vc-case artifact rows "$AH" --host C.c8fbb8446daf09f2
is "$(lines)" 0 "... none to a linux host"

# Idempotency: a cron rerun with the same key returns the first hunt.
KEY="nightly-$(date +%F)"
nh=$(grep -c '"SELECT hunt(' "$S/requests.jsonl")
with "$ADA" vc-hunt create --artifact "$PSL" --os windows --idempotency-key "$KEY"
is "$rc:$(jqr .existing)" "0:false" "create with an idempotency key"
HI=$(jqr .hunt_id)
with "$ADA" vc-hunt create --artifact "$PSL" --os windows --idempotency-key "$KEY"
is "$rc:$(jqr .hunt_id):$(jqr .existing)" "0:$HI:true" "the same key again: the same hunt, existing"
is "$(jqr .hunt.hunt_id)" "$HI" "... with the hunt's state"
is "$(( $(grep -c '"SELECT hunt(' "$S/requests.jsonl") - nh ))" 1 "... and only one hunt() call reached Velociraptor"
with "$VIC" vc-hunt list
is "$(jqr "select(.tags | index(\"vc:idem:$KEY\")) | .hunt_id")" "$HI" "one hunt on the server has the key"
with "$ADA" vc-hunt create --artifact "$PSL" --os windows --idempotency-key "$KEY-2"
is "$rc:$(jqr .existing)" "0:false" "another key: another hunt"
ok $([ "$(jqr .hunt_id)" != "$HI" ]; echo $?) "... with another id"
with "$ADA" vc-hunt create --artifact "$PSL" --idempotency-key ''
is "$rc" 64 "an empty idempotency key: exit 64"

is "$(sq "SELECT COUNT(*) FROM events WHERE type = 'hunt.created' AND $(sq_json body hunt_id) = '$HI'")" 1 \
	"a hunt.created event for the hunt, not for its idempotent rerun"
with "$ADA" vc-hunt create --artifact "$PSL" --os windows --wait --timeout 30
is "$rc:$(jqr .hunt.stats.total_finished_clients)" "0:3" "create --wait: until every scheduled client finished"
HW=$(jqr .hunt_id)
with "$ADA" vc-notify events --type 'hunt.*' -o jsonl
is "$(jqr "select(.body.hunt_id == \"$HW\") | \"\(.type) \(.body.clients_finished)\"" | paste -sd, -)" \
	"hunt.created null,hunt.completed 3" "create --wait: hunt.created, then hunt.completed with the clients finished"
with "$ADA" vc-hunt create --artifact No.Such.Artifact
is "$rc" 65 "a hunt of an unknown artifact: exit 65"
like "$err" "ERROR:hunt: Unknown artifact" "... with the ERROR log"

with "$ANN" vc-hunt stop "$H"
is "$rc" 77 "an analyst cannot stop a hunt"
with "$ADA" vc-hunt stop "$H"
is "$rc:$(jqr .hunt_id):$(jqr .state)" "0:$H:STOPPED" "an admin stops it"
is "$(grep -c '"SELECT hunt_update(hunt_id=HuntId, stop=TRUE) AS Result FROM scope()"' "$S/requests.jsonl")" 1 \
	"... with hunt_update(stop=TRUE)"
run vc-auth audit list --action 'velociraptor.hunts.*'
is "$(jqr '"\(.action) \(.actor) \(.outcome)"' | sort | uniq -c | awk '{ printf "%s %s %s %s,", $1, $2, $3, $4 }')" \
	"1 velociraptor.hunts.create ada failure,5 velociraptor.hunts.create ada success,1 velociraptor.hunts.stop ada success," \
	"hunts made and stopped are audited"

# Every VQL vc-hunt sent so far is a constant: no quoted value at all.
is "$(jq -r .vql "$S/requests.jsonl" | grep -c "['\"]")" 0 "no VQL text sent so far holds a quote"
is "$(jq -r '.env | to_entries[] | .value | type' "$S/requests.jsonl" | sort -u)" string "env values are strings"

# ---- query -----------------------------------------------------------------------------------
with "$ANN" vc-hunt query 'SELECT * FROM info()'
is "$rc" 77 "an analyst cannot run VQL: exit 77"
with "$ADA" vc-hunt query 'SELECT * FROM info()'
is "$rc:$(jqr .Hostname)" "0:velociraptor-test" "an admin runs VQL"
with "$ADA" vc-hunt query 'SELECT client_id FROM clients(search=Search)' --env Search=label:dc --env 'X=a=b'
is "$(jqr .client_id)" C.453d81822d0456e6 "query --env: values through env"
is "$(last -c .env)" '{"Search":"label:dc","X":"a=b"}' "... as given"
with "$ADA" vc-hunt query 'SELECT * FROM info()' --env novalue
is "$rc" 64 "--env without = : exit 64"
with "$ADA" vc-hunt query "SELECT * FROM clients(search='all')"
is "$rc" 65 "a VQL Error log: exit 65"
like "$err" "VQL Error: argument search of clients\(\) is the literal 'all'" "... shown"
with "$ADA" vc-hunt query 'SELECT nosuch1() AS a, nosuch2() AS b FROM scope()'
is "$rc:$out" '65:{"a":null,"b":null}' "ERROR: logs: exit 65, after the row"
is "$(printf '%s\n' "$err" | grep -c 'ERROR:Function nosuch[12] not found')" 2 "... every ERROR line shown, not only the first"

# ---- PostgreSQL: what gives way is written again, never asked again -----------------------------
# What an operation writes after Velociraptor answered is written in a
# transaction of its own; when that gives way to another (40001) it is
# written again, and Velociraptor is not asked again.
if [ "$STORE_PG" = 1 ]; then
	# audits ACTION: its records of success so far.
	audits() { sq "SELECT COUNT(*) FROM audit_logs WHERE action = '$1' AND outcome = 'success'"; }
	# hits TABLE N: flaky's statements on TABLE ran at least N + 1 times.
	hits() { ok $([ "$(flaky_hits "$1")" -ge $(($2 + 1)) ]; echo $?) "... the injected failures on $1 ($2) happened"; flaky_off "$1"; }
	a0=$(audits velociraptor.clients.sync) n0=$(nreq)
	flaky hosts UPDATE 2
	flaky audit_logs INSERT 1
	with "$ANN" vc-hunt clients --sync
	is "$rc:$(jqr '"\(.clients) \(.created) \(.updated) \(.bad)"')" "0:5 0 5 0" \
		"clients --sync, its hosts given way twice and its audit record once: done"
	hits hosts 2
	hits audit_logs 1
	is "$(( $(nreq) - n0 )):$(( $(audits velociraptor.clients.sync) - a0 ))" "1:1" \
		"... with one request to Velociraptor, one audit record"

	a0=$(audits velociraptor.collect) n0=$(nreq)
	flaky audit_logs INSERT 2
	with "$ANN" vc-hunt collect --client "$W" --artifact "$PSL"
	is "$rc:$(jqr .client_id)" "0:$W" "collect, its audit record given way twice: done"
	FF=$(jqr .flow_id)
	hits audit_logs 2
	is "$(( $(nreq) - n0 )):$(( $(audits velociraptor.collect) - a0 ))" "1:1" \
		"... with one collect_client() request, one audit record"
	is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'velociraptor.collect' AND target_id = '$FF'")" 1 \
		"... of its flow"
	flaky audit_logs INSERT 50
	with "$ANN" vc-hunt collect --client "$W" --artifact "$PSL"
	is "$rc" 70 "collect whose record gives way every time: exit 70, not 75 (a rerun would collect again)"
	like "$err" 'flow F\..* is scheduled, but not recorded' "... saying what Velociraptor did"
	like "$(jqr .flow_id)" '^F\.' "... the output naming the flow"
	flaky_off audit_logs

	nh=$(grep -c '"SELECT hunt(' "$S/requests.jsonl") a0=$(audits velociraptor.hunts.create)
	flaky hunt_requests UPDATE 1
	flaky events INSERT 2
	with "$ADA" vc-hunt create --artifact "$PSL" --os windows --idempotency-key "$KEY-flaky" --wait --timeout 30
	is "$rc:$(jqr .existing):$(jqr .hunt.stats.total_finished_clients)" "0:false:3" \
		"create --wait, its key's hunt given way once and its events twice: done"
	HF=$(jqr .hunt_id)
	hits hunt_requests 1
	hits events 2
	is "$(( $(grep -c '"SELECT hunt(' "$S/requests.jsonl") - nh )):$(( $(audits velociraptor.hunts.create) - a0 ))" "1:1" \
		"... with one hunt() request, one audit record"
	is "$(sq "SELECT type FROM events WHERE $(sq_json body hunt_id) = '$HF' ORDER BY id" | paste -sd, -)" \
		"hunt.created,hunt.completed" "... one hunt.created event, one hunt.completed"
	is "$(sq "SELECT hunt_id FROM hunt_requests WHERE idem_key = '$KEY-flaky'")" "$HF" "... the key has the hunt"
	# The rerun writes only hunt.completed, when its --wait sees the end.
	flaky events INSERT 2
	with "$ADA" vc-hunt create --artifact "$PSL" --os windows --idempotency-key "$KEY-flaky" --wait --timeout 30
	is "$rc:$(jqr .hunt_id):$(jqr .existing)" "0:$HF:true" "... which the key's rerun gets, its hunt.completed given way twice"
	hits events 2
	is "$(sq "SELECT COUNT(*) FROM events WHERE type = 'hunt.completed' AND $(sq_json body hunt_id) = '$HF'")" 2 \
		"... and written once more"

	# --store: the artifact's record, a batch of its rows and its end
	# each given way; each written once, the rows streamed out once.
	a0=$(audits artifacts.import) n0=$(nreq)
	e0=$(sq "SELECT COUNT(*) FROM events WHERE type = 'artifact.imported'")
	flaky artifacts INSERT 1
	flaky artifact_rows INSERT 1
	flaky events INSERT 1
	with "$ANN" vc-hunt flow results "$W" "$F2" --artifact "$PSL" --store
	is "$rc:$(lines)" "0:32" "flow results --store, its record, rows and end given way once each: the 32 rows"
	hits artifacts 1
	hits artifact_rows 1
	hits events 1
	AF=$(sq "SELECT id FROM artifacts WHERE flow_id = '$F2' ORDER BY created_at DESC, id DESC LIMIT 1")
	is "$(sq "SELECT row_count || ' ' || state FROM artifacts WHERE id = '$AF'"):$(sq "SELECT COUNT(*) FROM artifact_rows WHERE artifact_id = '$AF'")" \
		"32 complete:32" "... stored once, complete"
	is "$(( $(nreq) - n0 )):$(( $(audits artifacts.import) - a0 )):$(( $(sq "SELECT COUNT(*) FROM events WHERE type = 'artifact.imported'") - e0 ))" \
		"1:1:1" "... with one request to Velociraptor, one audit record, one event"
	flaky artifact_rows INSERT 2
	with "$ANN" vc-hunt -o json results "$H" --artifact "$PSL" --store
	is "$rc:$(jqr .stored.rows)" "0:200" "hunt results --store, its rows given way twice: 200 rows"
	hits artifact_rows 2
	is "$(sq "SELECT COUNT(*) FROM artifact_rows WHERE artifact_id = '$(jqr .stored.id)'")" 200 "... each stored once"

	a0=$(audits velociraptor.hunts.stop)
	ns=$(grep -c '"SELECT hunt_update(' "$S/requests.jsonl")
	flaky audit_logs INSERT 2
	with "$ADA" vc-hunt stop "$HF"
	is "$rc:$(jqr .state)" "0:STOPPED" "stop, its audit record given way twice: done"
	hits audit_logs 2
	is "$(( $(grep -c '"SELECT hunt_update(' "$S/requests.jsonl") - ns )):$(( $(audits velociraptor.hunts.stop) - a0 ))" \
		"1:1" "... with one hunt_update() request, one audit record"

	# Failures past the retries: the batch is not written, not half.
	hosts0=$(sq "SELECT id, hostname, last_seen_at, updated_at FROM hosts ORDER BY id" | md5sum)
	a0=$(audits velociraptor.clients.sync) e0=$(sq "SELECT COUNT(*) FROM events")
	flaky hosts UPDATE 50
	with "$ANN" vc-hunt clients --sync
	is "$rc" 75 "clients --sync given way at every try: exit 75"
	like "$err" "^vc-hunt: hosts from Velociraptor not stored: .*injected" "... saying what was not stored and why"
	h=$(flaky_hits hosts)
	ok $([ "$h" -ge 2 ] && [ "$h" -lt 50 ]; echo $?) "... after a bounded number of tries ($h)"
	flaky_off hosts
	is "$(sq "SELECT id, hostname, last_seen_at, updated_at FROM hosts ORDER BY id" | md5sum):$(audits velociraptor.clients.sync):$(sq "SELECT COUNT(*) FROM events")" \
		"$hosts0:$a0:$e0" "... no host, audit record or event written"
fi

# ---- failures of the server ------------------------------------------------------------------
mode permission_denied
with "$VIC" vc-hunt clients
is "$rc:$out" "77:" "PERMISSION_DENIED: exit 77, nothing on stdout"
is "$err" "vc-hunt: Velociraptor: PERMISSION_DENIED: Permission denied: User vc-test requires permission ANY_QUERY to run queries" \
	"... with grpc-message of the trailers-only answer"
mode vql_error
with "$VIC" vc-hunt clients
is "$rc" 65 "a VQL Error: in the stream: exit 65"
like "$err" "VQL Error: Syntax error at line 1:8" "... shown"
mode error_log
with "$VIC" vc-hunt clients
is "$rc:$(lines)" "65:5" "an ERROR: log after the rows: exit 65, the rows still out"
like "$err" "ERROR:something failed" "... the log shown"
mode internal
with "$VIC" vc-hunt results "$HI"
is "$rc:$(lines)" "69:200" "INTERNAL after a batch: exit 69, the batch streamed out already"
like "$err" "INTERNAL: internal: injected" "... grpc-message shown"
mode timeout_log
with "$VIC" vc-hunt clients
is "$rc" 75 "the server's query timeout (Timeout Error log): exit 75"
like "$err" "Timeout Error" "... shown"
n0=$(nreq)
mode unavailable_once
with "$VIC" vc-hunt clients
is "$rc:$(lines)" "0:5" "UNAVAILABLE once: retried, then fine"
is "$(( $(nreq) - n0 ))" 2 "... two requests"
# The time a query takes here when the reply is prompt: what the test
# allows the slow one is counted from it, not from a fixed figure that a
# sanitizer build or a busy machine would eat.
ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(ms)
with "$ADA" vc-hunt query 'SELECT * FROM info()' --timeout 1s
t1=$(ms)
prompt=$((t1 - t0))
mode slow
t0=$(ms)
with "$ADA" vc-hunt query 'SELECT * FROM info()' --timeout 1s
t1=$(ms)
is "$rc" 75 "a reply slower than --timeout: exit 75"
like "$err" "DEADLINE_EXCEEDED" "... DEADLINE_EXCEEDED"
ok $([ $((t1 - t0)) -le $((prompt + 3000)) ]; echo $?) \
	"... without waiting for the reply ($((t1 - t0)) ms; a prompt reply took $prompt ms)"
is "$(last .deadline | cut -c1)" 0 "the deadline went out as grpc-timeout"
mode ''

# ---- org ---------------------------------------------------------------------------------------
with "$ADA" vc-hunt config set --api-config "$C/api_client.yaml" --org OTEST
is "$rc:$(jqr .org_id)" "0:OTEST" "config set --org OTEST"
with "$VIC" vc-hunt clients
is "$(jqr .client_id | grep -c -- '-OTEST$')" 5 "clients of org OTEST"
is "$(last .org_id)" OTEST "org_id in the request"
with "$ANN" vc-hunt collect --client "C.c307ce0ccb8e1037-OTEST" --artifact "$PSL"
is "$rc:$(last .org_id)" "0:OTEST" "... in every request"
with "$ADA" vc-hunt config set --api-config "$C/api_client.yaml" --org NOPE
with "$VIC" vc-hunt clients
is "$rc" 69 "an org the server lacks: exit 69"
like "$err" "Org NOPE not found" "... with the server's message"

# ---- TLS and connection failures ----------------------------------------------------------------
n0=$(nreq)
yaml wrong-ca "$PORT" "$C/other-ca.pem"
with "$ADA" vc-hunt config set --api-config "$Y/wrong-ca.yaml"
with "$ANN" vc-hunt config test
is "$rc" 69 "ca_certificate of another CA: exit 69"
like "$err" "certificate of the server .* does not verify against the config's CA" "... the server's certificate does not verify"
with "$ADA" vc-hunt config set --api-config "$C/api_client_other_ca.yaml"
with "$ANN" vc-hunt config test
is "$rc" 69 "a client certificate from another CA: exit 69"
like "$err" "refused the connection: the client certificate is not signed by the CA of ca_certificate" "... saying so"
with "$ADA" vc-hunt config set --api-config "$C/api_client_expired.yaml"
like "$(jqr .warning)" "expired" "config set warns of an expired client certificate"
with "$ANN" vc-hunt config test
is "$rc" 69 "an expired client certificate: exit 69"
like "$err" "the client certificate expired on 2020-01-02" "... saying so"
is "$(nreq)" "$n0" "none of them reached the handler"

P2=$(free_port)
SRV_ENV=
srv_start "$P2" "$T/state2" "$T/srv2.out" --server-cert wrong-name
yaml p2 "$P2"
with "$ADA" vc-hunt config set --api-config "$Y/p2.yaml"
with "$ANN" vc-hunt config test
is "$rc" 69 "a server certificate for another name: exit 69"
like "$err" "is not VelociraptorServer: its certificate is for another name" "... name mismatch"
kill "$SRV"
wait "$SRV" 2>/dev/null
t0=$(date +%s)
with "$ANN" vc-hunt clients
t1=$(date +%s)
is "$rc" 69 "server down: exit 69"
like "$err" "cannot reach Velociraptor at 127.0.0.1:$P2" "... cannot reach it"
ok $([ $((t1 - t0)) -ge 1 ] && [ $((t1 - t0)) -le 5 ]; echo $?) "... after one retry with a pause"

# ---- 100,000 rows with flat memory; --wait timeouts ------------------------------------------------
P3=$(free_port)
SRV_ENV="VR_TEST_HUNT_ROWS=100000 VR_TEST_RUNNING_POLLS=1000000"
srv_start "$P3" "$T/state3" "$T/srv3.out"
yaml p3 "$P3"
with "$ADA" vc-hunt config set --api-config "$Y/p3.yaml"
with "$ADA" vc-hunt create --artifact "$PSL" --os windows --description big
HB=$(jqr .hunt_id)
LIMIT=$(mem_limit)
env VC_TOKEN="$ANN" /usr/bin/time -f %M -o "$T/rss" vc-hunt results "$HB" --artifact "$PSL" > "$T/big.jsonl" 2> "$T/big.err"
is "$?:$(wc -l < "$T/big.jsonl" | tr -d ' ')" "0:100000" "results: 100,000 rows"
rss=$(tail -n 1 "$T/rss")
ok $([ "$rss" -lt "$LIMIT" ]; echo $?) "... with flat memory (max RSS $rss KiB < $LIMIT KiB)"
is "$(tail -n 1 "$T/big.jsonl" | jq -r '.Pid | type')" number "... each a whole row"
env VC_TOKEN="$ANN" /usr/bin/time -f %M -o "$T/rss" vc-hunt -o json results "$HB" --artifact "$PSL" --store > "$T/bigs.json" 2> "$T/bigs.err"
is "$?:$(jq -r .stored.rows "$T/bigs.json")" "0:100000" "results --store of 100,000 rows"
rss=$(tail -n 1 "$T/rss")
ok $([ "$rss" -lt "$LIMIT" ]; echo $?) "... with flat memory too (max RSS $rss KiB)"
is "$(sq "SELECT row_count || ' ' || state FROM artifacts WHERE hunt_id = '$HB'")" "100000 complete" "... all stored"

t0=$(date +%s)
with "$ANN" vc-hunt collect --client "$W" --artifact "$PSL" --wait --timeout 2s
t1=$(date +%s)
is "$rc" 75 "collect --wait on a flow that keeps running: exit 75 at --timeout"
like "$err" "still RUNNING after 2 s" "... saying so"
ok $([ $((t1 - t0)) -ge 2 ] && [ $((t1 - t0)) -le 8 ]; echo $?) "... after about 2 s"
like "$err" "flow F\.[0-9A-V]{13} on $W" "... naming the flow to look at later"
t0=$(date +%s)
with "$ADA" vc-hunt create --artifact "$PSL" --label nobody-has-this --wait --timeout 2s
t1=$(date +%s)
is "$rc" 75 "create --wait on a hunt that never finishes: exit 75"
like "$err" "0 of 0 clients finished after 2 s" "... saying so"
kill "$SRV"

# ---- tenant isolation ----------------------------------------------------------------------------
with "$ADA" vc-hunt config set --api-config "$C/api_client.yaml"
with "$GINA" vc-hunt clients
is "$rc" 78 "another tenant without a config: exit 78"
like "$err" "no Velociraptor API config" "... 'no Velociraptor API config'"
with "$GINA" vc-hunt config show
is "$rc:$out" "66:" "its admin cannot see the first tenant's config"
with "$GINA" vc-hunt config delete
is "$rc" 66 "... nor delete it"
with "$GINA" vc-hunt create --artifact "$PSL" --idempotency-key "$KEY"
is "$rc" 78 "... nor use it to hunt, not even with the first tenant's key"
with "$GINA" vc-hunt config set --api-config "$C/api_client.yaml" --org OTEST
is "$rc" 0 "globex sets a config of its own (org OTEST)"
with "$GINA" vc-hunt clients
is "$(jqr .client_id | grep -c -- '-OTEST$')" 5 "... and sees that org"
with "$VIC" vc-hunt clients
is "$(jqr .client_id | grep -c -- '-OTEST$')" 0 "acme still sees the root org"
with "$GINA" vc-hunt create --artifact "$PSL" --idempotency-key "$KEY"
is "$rc:$(jqr .existing)" "0:false" "idempotency keys are per tenant"
with "$ADA" vc-hunt config show
is "$(jqr .org_id)" null "acme's config is unchanged"

# ---- config delete -----------------------------------------------------------------------------
with "$ANN" vc-hunt config delete
is "$rc" 77 "an analyst cannot delete the config"
with "$ADA" vc-hunt config delete
is "$rc:$(jqr .deleted)" "0:true" "an admin deletes it"
with "$VIC" vc-hunt clients
is "$rc" 78 "... and then there is none: exit 78"
is "$(sq 'SELECT COUNT(*) FROM velociraptor_configs')" 1 "... globex's stays"

kill "$MAIN"
done_testing
