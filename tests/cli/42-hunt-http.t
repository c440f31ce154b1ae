#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-hunt's operations over HTTP (vc-serve) against the Velociraptor API
# double: every /api/velociraptor route with its least role, the config
# never showing its key, values in env, idempotent hunts, a 100,000-row
# hunt result streamed as JSON Lines with flat server memory, the error
# mapping to HTTP statuses (including an error after the first streamed
# line), the collect allow-list, and tenant isolation.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
VR=$TOP/tests/fixtures/vr
C=$T/certs
S=$T/state
PW='sturdy tuna lantern'
ACCEPT='Accept: application/x-ndjson'
W=C.c307ce0ccb8e1037
PSL=Windows.System.Pslist
GCI=Generic.Client.Info
N=100000
mkdir -p "$S"

# req CURL-ARGS...: one request; sets $code, $body, $cerr and $T/h.
req() {
	code=$(curl -s --max-time 60 -D "$T/h" -o "$T/b" -w '%{http_code}' "$@")
	cerr=$?
	body=$(cat "$T/b")
}
hdr() { tr -d '\r' < "$T/h" | sed -n "s/^$1: //Ip" | head -n 1; }
json() { printf '%s\n' "$body" | jq -r "$1" 2>/dev/null; }
# api TOKEN METHOD PATH [JSON [CURL-ARGS...]]: a request to vc-serve.
api() {
	_t=$1 _m=$2 _p=$3
	shift 3
	if [ $# -gt 0 ]; then
		_d=$1
		shift
		req -X "$_m" -H "Authorization: Bearer $_t" -H 'Content-Type: application/json' \
			--data-binary "$_d" "$@" "$B$_p"
	else
		req -X "$_m" -H "Authorization: Bearer $_t" "$B$_p"
	fi
}
# config_body YAML [ORG]: the JSON body of POST /api/velociraptor/config.
config_body() { jq -Rsc --arg org "${2-}" '{api_config: .} + (if $org == "" then {} else {org: $org} end)' "$1"; }
last() { tail -n 1 "$S/requests.jsonl" | jq -r "$@"; }
nreq() { wc -l < "$S/requests.jsonl" | tr -d ' '; }
nlines() { wc -l < "$1" | tr -d ' '; }
hwm() { sed -n 's/^VmHWM:[ \t]*\([0-9]*\) kB$/\1/p' "/proc/$1/status"; }
hwm_reset() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null || true; }
mode() { if [ -n "$1" ]; then echo "$1" > "$S/mode"; else rm -f "$S/mode"; fi; }
login() {
	req -H 'Content-Type: application/json' -d "{\"username\":\"$1\",\"password\":\"$PW\"}" "$B/api/auth/login"
	json .access_token
}

# ---- the double and vc-serve --------------------------------------------------------
PORT=$(free_port)
sh "$VR/mkcerts.sh" "$C" "$PORT" > /dev/null 2>&1
VR_TEST_HUNT_ROWS=$N VR_TEST_RUNNING_POLLS=1 "$PY" "$VR/server.py" --port "$PORT" --certs "$C" \
	--state "$S" > "$T/vr.out" 2> "$T/vr.err" &
echo $! >> "$T/pids"
await 60 grep -q "^listening on" "$T/vr.out" 2>/dev/null
is "$(cat "$T/vr.out")" "listening on 127.0.0.1:$PORT" "the Velociraptor double is up"

init_store
for u in "vic viewer" "ann analyst" "ada admin"; do
	set -- $u
	printf '%s\n' "$PW" | vc-auth user create "$1" --role "$2" --password-stdin > /dev/null
done
vc-auth tenant create globex > /dev/null
printf '%s\n' "$PW" | vc-auth user create gina --role admin --tenant globex --password-stdin > /dev/null

SP=$(free_port)
B=http://127.0.0.1:$SP
vc-serve --db "$VC_DB" --listen "127.0.0.1:$SP" --workers 2 --allow-velociraptor 127.0.0.1/32 \
	2> "$T/serve.log" &
SERVE=$!
echo "$SERVE" >> "$T/pids"
await 60 grep -q 'listening on' "$T/serve.log" 2>/dev/null
like "$(cat "$T/serve.log")" "listening on $B" "vc-serve is up"
VIC=$(login vic) ANN=$(login ann) ADA=$(login ada) GINA=$(login gina)
like "$VIC $ANN $ADA $GINA" '^ey.* ey.* ey.* ey' "viewer, analyst, admin and globex's admin log in"

# ---- config ---------------------------------------------------------------------------------
api "$ANN" GET /api/velociraptor/clients
is "$code:$(json .error)" "500:configuration" "no config yet: 500 configuration"
like "$(cat "$T/serve.log")" "velociraptor.clients: no Velociraptor API config for this tenant" \
	"... 'no Velociraptor API config' in the server's log (500 messages are not sent)"
api "$ANN" POST /api/velociraptor/config "$(config_body "$C/api_client.yaml")"
is "$code:$(json .error)" "403:forbidden" "POST /api/velociraptor/config by an analyst: 403"
api "$ADA" POST /api/velociraptor/config '{"api_config":"not: [yaml"}'
is "$code:$(json .error)" "422:invalid" "... a body that is not an API client config: 422"
api "$ADA" POST /api/velociraptor/config '{}'
is "$code" 400 "... none at all: 400"
api "$ADA" POST /api/velociraptor/config "$(config_body "$C/api_client.yaml")"
is "$code:$(json .name):$(json .api_connection_string):$(json .org_id)" "200:vc-test:127.0.0.1:$PORT:null" \
	"POST /api/velociraptor/config by an admin"
unlike "$body" "PRIVATE KEY|client_private_key" "... the answer holds no key"
api "$ADA" GET /api/velociraptor/config
is "$code:$(json .pinned_name)" "200:VelociraptorServer" "GET /api/velociraptor/config"
unlike "$body" "PRIVATE KEY|client_private_key" "... without key material"
api "$ANN" GET /api/velociraptor/config
is "$code" 403 "... an analyst may not read it: 403"
api "$ANN" POST /api/velociraptor/config/test '{}'
is "$code:$(json '"\(.ok) \(.server) \(.tls) \(.http)"')" "200:true velociraptor-test TLSv1.3 2" \
	"POST /api/velociraptor/config/test: identity, TLS 1.3, HTTP/2"
like "$(json .latency_ms)" '^[0-9]+$' "... and latency"
api "$VIC" POST /api/velociraptor/config/test '{}'
is "$code" 403 "... not for a viewer: 403"

# A tenant's admin cannot point the server at its own services, nor map
# ports by the errors (SSRF): only 127.0.0.1 is allowed here, by the
# installation (--allow-velociraptor), and errors say no more than
# "unreachable" or "TLS failed".
sed "s/^api_connection_string: .*/api_connection_string: \"[::1]:$PORT\"/" "$C/api_client.yaml" > "$T/v6.yaml"
api "$ADA" POST /api/velociraptor/config "$(config_body "$T/v6.yaml")"
is "$code:$(json .error)" "403:forbidden" "a config for [::1], loopback the installation did not allow: 403"
like "$(json .message)" "not a destination this installation allows: ::1 is a loopback address" "... saying why"
CLOSED=$(free_port)
sed "s/^api_connection_string: .*/api_connection_string: 127.0.0.1:$CLOSED/" "$C/api_client.yaml" > "$T/closed.yaml"
api "$ADA" POST /api/velociraptor/config "$(config_body "$T/closed.yaml")"
api "$ADA" POST /api/velociraptor/config/test '{}'
is "$code:$(json .message)" "502:Velociraptor at 127.0.0.1:$CLOSED: unreachable" \
	"a closed port: 502 'unreachable', nothing of the connection's error"
like "$(cat "$T/serve.log")" "velociraptor.config.test: cannot reach Velociraptor at 127.0.0.1:$CLOSED" \
	"... the detail is in the server's log"
sed "s/^api_connection_string: .*/api_connection_string: 127.0.0.1:$SP/" "$C/api_client.yaml" > "$T/plain.yaml"
api "$ADA" POST /api/velociraptor/config "$(config_body "$T/plain.yaml")"
api "$ADA" POST /api/velociraptor/config/test '{}'
is "$code:$(json .message)" "502:Velociraptor at 127.0.0.1:$SP: TLS failed" \
	"an open port that speaks no TLS: 502 'TLS failed', nothing more"
api "$ADA" POST /api/velociraptor/config "$(config_body "$C/api_client.yaml")"
is "$code" 200 "the real config again"

# ---- clients --------------------------------------------------------------------------------------
api "$VIC" GET /api/velociraptor/clients
is "$code:$(json '.items | length')" "200:5" "GET /api/velociraptor/clients: the 5 clients"
api "$VIC" GET '/api/velociraptor/clients?label=web'
is "$(json '.items[].os_info.hostname')" web01 "... ?label=web"
api "$VIC" GET '/api/velociraptor/clients?search=host%3ADC%2A'
is "$(json '.items[].os_info.hostname'):$(last .env.Search)" "DC01:host:DC*" "... ?search=host:DC* (through env)"
req -H "Authorization: Bearer $VIC" -H "$ACCEPT" "$B/api/velociraptor/clients"
is "$code:$(hdr Content-Type):$(nlines "$T/b")" "200:application/x-ndjson; charset=utf-8:5" \
	"... streamed as JSON Lines"
api "$ANN" GET '/api/velociraptor/clients?sync=true'
is "$code" 400 "... a GET does not write: ?sync=true is refused"
api "$VIC" POST /api/velociraptor/clients/sync
is "$code" 403 "POST /api/velociraptor/clients/sync needs the analyst role"
api "$ANN" POST /api/velociraptor/clients/sync
is "$code:$(json '"\(.clients) \(.created)"')" "200:5 5" "... an analyst syncs them into hosts"
api "$VIC" GET "/api/velociraptor/clients/$W"
is "$code:$(json .os_info.hostname)" "200:DESKTOP-BTI2T9T" "GET /api/velociraptor/clients/{id}"
api "$VIC" GET /api/velociraptor/clients/C.0000000000000000
is "$code:$(json .error)" "404:not_found" "... an unknown client: 404"
api "$VIC" GET "/api/velociraptor/clients/C.x'%20OR%201=1"
is "$code:$(last .vql):$(last .env.ClientId)" "404:SELECT * FROM clients(client_id=ClientId):C.x' OR 1=1" \
	"... an id with a quote: the VQL is constant, the id in env"

# ---- collect, flows ----------------------------------------------------------------------------------
n0=$(nreq)
api "$VIC" POST /api/velociraptor/collect "{\"client\":\"$W\",\"artifact\":\"$PSL\"}"
is "$code:$(nreq)" "403:$n0" "POST /api/velociraptor/collect by a viewer: 403, nothing sent"
api "$ANN" POST /api/velociraptor/collect "{\"client\":\"$W\",\"artifact\":\"$PSL\",\"param\":[\"ProcessRegex=evil\"]}"
F=$(json .flow_id)
is "$code:$(json .client_id)" "200:$W" "... by an analyst: 200"
like "$F" '^F\.' "... a flow id"
is "$(last .env.Params)" '{"ProcessRegex":"evil"}' "... the parameters in env"
api "$ANN" POST /api/velociraptor/collect "{\"client\":\"$W\",\"artifact\":\"$PSL\",\"wait\":true,\"timeout\":\"30s\"}"
is "$code:$(json .state)" "200:FINISHED" "... with wait: until FINISHED"
F2=$(json .flow_id)
api "$VIC" GET "/api/velociraptor/clients/$W/flows/$F"
is "$code:$(json .session_id)" "200:$F" "GET /api/velociraptor/clients/{id}/flows/{flow}"
api "$VIC" GET "/api/velociraptor/clients/$W/flows/$F2/results?artifact=$PSL"
is "$code:$(json '.items | length')" "200:32" "GET .../flows/{flow}/results"
req -H "Authorization: Bearer $VIC" -H "$ACCEPT" "$B/api/velociraptor/clients/$W/flows/$F2/results?artifact=$PSL"
is "$code:$(nlines "$T/b")" "200:32" "... streamed"
api "$VIC" GET "/api/velociraptor/clients/$W/flows/$F2/results"
is "$code" 400 "... without artifact: 400"
api "$VIC" GET "/api/velociraptor/clients/$W/flows/$F2/results?artifact=$PSL&store=true"
is "$code" 403 "... ?store=true needs the analyst role"
api "$ANN" GET "/api/velociraptor/clients/$W/flows/$F2/results?artifact=$PSL&store=true"
is "$code:$(json .stored.rows)" "200:32" "... an analyst stores them: the summary, not the rows"

# ---- the collect allow-list ------------------------------------------------------------------------------
PSH=Windows.System.PowerShell
QUA=Windows.Remediation.Quarantine
USR=Windows.Sys.Users
collect() { api "$1" POST /api/velociraptor/collect "{\"client\":\"$W\",\"artifact\":\"$2\"}"; }
names() { json '[.items[].artifact] | join(" ")'; }
api "$VIC" GET /api/velociraptor/allowlist
is "$code:$(json '[.items[].source] | unique | join(" ")')" "200:default" \
	"GET /api/velociraptor/allowlist by a viewer: the built-in default"
DEFAULT=$(names)
like "$DEFAULT" "Generic.Client.Info .*$PSL" "... with Generic.Client.Info and $PSL"
collect "$ANN" Windows.Network.Netstat
is "$code:$(json .artifact)" "200:Windows.Network.Netstat" "an analyst collects an artifact of the default list: 200"
n0=$(nreq)
collect "$ANN" "$PSH"
is "$code:$(json .error)" "403:forbidden" "an analyst collecting $PSH: 403"
is "$(json .message)" "$PSH is not on this tenant's collect allow-list: only a tenant admin may collect it, or add it to the list ('vc-hunt allowlist add $PSH')" \
	"... saying why and who can change it"
collect "$ANN" "$QUA"
is "$code:$(nreq)" "403:$n0" "... $QUA too, and nothing reached Velociraptor"
api "$ADA" GET '/api/audit?action=velociraptor.collect&outcome=denied'
is "$code:$(json '[.items[] | "\(.actor) \(.details.artifact)"] | sort | join(",")')" "200:ann $QUA,ann $PSH" \
	"... each refusal in the audit log, with the artifact"
collect "$ADA" "$QUA"
is "$code:$(json .artifact)" "200:$QUA" "an admin collects any artifact"

api "$VIC" POST /api/velociraptor/allowlist "{\"artifact\":\"$USR\"}"
is "$code" 403 "POST /api/velociraptor/allowlist by a viewer: 403"
api "$ANN" PUT /api/velociraptor/allowlist "{\"artifact\":[\"$PSH\"]}"
is "$code" 403 "PUT by an analyst: 403"
api "$ANN" DELETE /api/velociraptor/allowlist
is "$code" 403 "DELETE by an analyst: 403"
api "$ADA" POST /api/velociraptor/allowlist "{\"artifact\":\"$USR\"}"
is "$code:$(json "[.items[] | select(.artifact == \"$USR\") | .source, .added_by] | join(\" \")")" "200:tenant ada" \
	"POST by an admin adds $USR to the tenant's own list"
collect "$ANN" "$USR"
is "$code" 200 "... which the analyst may now collect"
api "$ADA" POST /api/velociraptor/allowlist "{\"artifact\":\"$USR\"}"
is "$code:$(json .error)" "409:conflict" "... adding it twice: 409"
api "$ADA" POST /api/velociraptor/allowlist/remove "{\"artifact\":\"$USR\"}"
is "$code:$(names)" "200:$DEFAULT" "POST /api/velociraptor/allowlist/remove takes it off again"
collect "$ANN" "$USR"
is "$code" 403 "... and the analyst is refused it"
api "$ADA" POST /api/velociraptor/allowlist/remove "{\"artifact\":\"$USR\"}"
is "$code" 404 "... removing what is not there: 404"
api "$ADA" POST /api/velociraptor/allowlist '{"artifact":"Windows.System.Pslist OR 1"}'
is "$code:$(json .error)" "400:bad_request" "a name that is no artifact name: 400"
like "$(json .message)" "not an artifact name: ' ' after 'Windows.System.Pslist'" "... naming what is wrong"
api "$ADA" PUT /api/velociraptor/allowlist "{\"artifact\":[\"$USR\",\"Generic.Client.Info\"]}"
is "$code:$(names)" "200:Generic.Client.Info $USR" "PUT makes the list"
collect "$ANN" "$PSL"
is "$code" 403 "... an artifact left out is refused"
api "$GINA" GET /api/velociraptor/allowlist
is "$(json '[.items[].source] | unique | join(" ")'):$(names)" "default:$DEFAULT" \
	"another tenant keeps the default"
api "$ADA" DELETE /api/velociraptor/allowlist
is "$code:$(names)" "200:$DEFAULT" "DELETE: the default again"
collect "$ANN" "$PSL"
is "$code" 200 "... and the analyst collects $PSL"

# ---- hunts ---------------------------------------------------------------------------------------------
n0=$(nreq)
api "$ANN" POST /api/velociraptor/hunts "{\"artifact\":\"$PSL\"}"
is "$code:$(nreq)" "403:$n0" "POST /api/velociraptor/hunts by an analyst: 403, nothing sent"
api "$ADA" POST /api/velociraptor/hunts "{\"artifact\":\"$PSL\",\"os\":\"windows\",\"label\":\"web\"}"
is "$code" 400 "... os and label together: 400"
api "$ADA" POST /api/velociraptor/hunts "{\"artifact\":\"$PSL\",\"os\":\"windows\",\"description\":\"big one\",\"expires\":\"1d\"}"
HB=$(json .hunt_id)
is "$code:$(json .existing)" "201:false" "... by an admin: 201"
like "$HB" '^H\.' "... a hunt id"
is "$(last '"\(.env.OS)|\(.env.Description)"')" "windows|big one" "... condition and description in env"
api "$ADA" POST /api/velociraptor/hunts "{\"artifact\":\"$GCI\",\"idempotency_key\":\"http-nightly\"}"
HG=$(json .hunt_id)
is "$code:$(json .existing)" "201:false" "a hunt with an idempotency key"
api "$ADA" POST /api/velociraptor/hunts "{\"artifact\":\"$GCI\",\"idempotency_key\":\"http-nightly\"}"
is "$code:$(json .hunt_id):$(json .existing)" "201:$HG:true" "... the same key: the same hunt"
api "$VIC" GET /api/velociraptor/hunts
is "$code:$(json '[.items[] | select(.tags | index("vc:idem:http-nightly"))] | length')" "200:1" \
	"GET /api/velociraptor/hunts: one hunt with the key"
api "$VIC" GET "/api/velociraptor/hunts/$HB"
is "$code:$(json '"\(.hunt_id) \(.state) \(.stats.total_clients_scheduled)"')" "200:$HB RUNNING 3" \
	"GET /api/velociraptor/hunts/{id}"
api "$VIC" GET /api/velociraptor/hunts/H.NOSUCHHUNT000
is "$code" 404 "... an unknown hunt: 404"
api "$VIC" GET "/api/velociraptor/hunts/$HG/results?artifact=$GCI/BasicInformation"
is "$code:$(json '.items | length'):$(hdr Content-Type)" "200:5:application/json; charset=utf-8" \
	"GET /api/velociraptor/hunts/{id}/results without Accept: collected"

hwm_reset "$SERVE"
before=$(hwm "$SERVE")
req -H "Authorization: Bearer $VIC" -H "$ACCEPT" "$B/api/velociraptor/hunts/$HB/results?artifact=$PSL"
is "$code:$cerr" "200:0" "... with Accept: application/x-ndjson: 200"
is "$(hdr Content-Type):$(hdr Transfer-Encoding)" "application/x-ndjson; charset=utf-8:chunked" "... streamed, chunked"
is "$(nlines "$T/b")" "$N" "... all $N rows"
is "$(jq -r .ClientId "$T/b" | sort -u | wc -l | tr -d ' ')" 3 "... from the 3 windows clients"
grew=$(( ($(hwm "$SERVE") - before) / 1024 ))
ok $([ "$grew" -lt 64 ]; echo $?) "... with flat server memory (peak +$grew MiB, < 64)"
rm -f "$T/b"

api "$ANN" POST "/api/velociraptor/hunts/$HB/stop" '{}'
is "$code" 403 "POST /api/velociraptor/hunts/{id}/stop by an analyst: 403"
api "$ADA" POST "/api/velociraptor/hunts/$HB/stop" '{}'
is "$code:$(json .state)" "200:STOPPED" "... by an admin: STOPPED"

# ---- query ---------------------------------------------------------------------------------------------
api "$ANN" POST /api/velociraptor/query '{"vql":"SELECT * FROM info()"}'
is "$code" 403 "POST /api/velociraptor/query by an analyst: 403"
api "$ADA" POST /api/velociraptor/query '{"vql":"SELECT client_id FROM clients(search=Search)","env":["Search=label:dc"]}'
is "$code:$(json '.items[].client_id')" "200:C.453d81822d0456e6" "... by an admin, values in env"

# ---- errors -----------------------------------------------------------------------------------------------
mode permission_denied
api "$VIC" GET /api/velociraptor/clients
is "$code:$(json .error)" "403:forbidden" "PERMISSION_DENIED: 403"
like "$(json .message)" "PERMISSION_DENIED: Permission denied: User vc-test" "... with Velociraptor's message"
mode vql_error
api "$VIC" GET /api/velociraptor/hunts
is "$code:$(json .error)" "422:invalid" "a VQL Error: 422"
like "$(json .message)" "VQL Error: Syntax error" "... shown"
mode internal
req -H "Authorization: Bearer $VIC" -H "$ACCEPT" "$B/api/velociraptor/hunts/$HB/results?artifact=$PSL"
is "$code:$cerr" "200:18" "INTERNAL after the first batch of a stream: 200 sent, then the stream is cut"
is "$(nlines "$T/b")" 1001 "... after the batch's 1000 rows and one error line"
is "$(tail -n 1 "$T/b" | jq -r .error)" unavailable "... which says unavailable"
mode ''
api "$ADA" POST /api/velociraptor/config "$(config_body "$C/api_client_expired.yaml")"
api "$ANN" POST /api/velociraptor/config/test '{}'
is "$code:$(json .error)" "502:unavailable" "an expired client certificate: 502"
like "$(json .message)" "client certificate expired" "... saying so"
DEAD=$(free_port)
sed "s/^api_connection_string: .*/api_connection_string: 127.0.0.1:$DEAD/" "$C/api_client.yaml" > "$T/dead.yaml"
api "$ADA" POST /api/velociraptor/config "$(config_body "$T/dead.yaml")"
api "$VIC" GET /api/velociraptor/hunts
is "$code:$(json .error)" "502:unavailable" "Velociraptor down: 502"
is "$(json .message)" "Velociraptor at 127.0.0.1:$DEAD: unreachable" "... 'unreachable', no more (no port scanning by error text)"
like "$(cat "$T/serve.log")" "cannot reach Velociraptor at 127.0.0.1:$DEAD" "... the reason is in the server's log"

# ---- org and tenants --------------------------------------------------------------------------------------
api "$ADA" POST /api/velociraptor/config "$(config_body "$C/api_client.yaml" OTEST)"
is "$code:$(json .org_id)" "200:OTEST" "a config with org OTEST"
api "$VIC" GET /api/velociraptor/clients
is "$(json '[.items[].client_id | select(endswith("-OTEST"))] | length'):$(last .org_id)" "5:OTEST" \
	"... org_id in the request"
# The pool: a worker waiting on Velociraptor is not computing, so with one
# active worker (--active 1) a search is served while a slow query waits.
SP2=$(free_port)
vc-serve --db "$VC_DB" --listen "127.0.0.1:$SP2" --workers 4 --active 1 \
	--allow-velociraptor 127.0.0.1/32 2> "$T/serve2.log" &
echo $! >> "$T/pids"
await 60 grep -q 'listening on' "$T/serve2.log" 2>/dev/null
mode slow
curl -s --max-time 60 -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $VIC" \
	"http://127.0.0.1:$SP2/api/velociraptor/clients" > "$T/slowq" &
SLOWQ=$!
sleep 0.5
quick=$(curl -s --max-time 60 -o /dev/null -w '%{http_code} %{time_total}' -H "Authorization: Bearer $VIC" \
	"http://127.0.0.1:$SP2/api/hosts?limit=1")
wait $SLOWQ
mode ''
set -- $(cat "$T/slowq")
is "$1:$(awk -v t="$2" 'BEGIN { print (t >= 1.9) }')" "200:1" "--active 1: a Velociraptor query in slow mode takes its 2 s ($2 s)"
set -- $quick
is "$1:$(awk -v t="$2" 'BEGIN { print (t < 1.0) }')" "200:1" \
	"... and meanwhile a search is served by another worker ($2 s), not after it"

api "$GINA" GET /api/velociraptor/config
is "$code" 404 "another tenant's admin cannot see the config: 404"
api "$GINA" GET /api/velociraptor/clients
is "$code:$(json .error)" "500:configuration" "... its tenant has none"
api "$GINA" DELETE /api/velociraptor/config
is "$code" 404 "... nor delete the first tenant's"
api "$ADA" GET /api/velociraptor/config
is "$code:$(json .org_id)" "200:OTEST" "... which is still there"
api "$ANN" DELETE /api/velociraptor/config
is "$code" 403 "DELETE /api/velociraptor/config by an analyst: 403"
api "$ADA" DELETE /api/velociraptor/config
is "$code:$(json .deleted)" "200:true" "... by an admin"
api "$VIC" GET /api/velociraptor/hunts
is "$code" 500 "... and then there is none"

is "$(grep -c 'PRIVATE KEY' "$T/serve.log")" 0 "the server log holds no key material"
done_testing
