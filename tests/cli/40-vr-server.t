#!/bin/sh
# SPDX-License-Identifier: MIT
# The Velociraptor API double of tests/fixtures/vr, tested on its own: its
# PKI, TLS 1.3 with mutual TLS (no cert, a cert from another CA, an
# expired cert and a wrong server name all fail), real gRPC framing seen
# by a grpcio client and by curl over HTTP/2, row batching, the VQL it
# understands, the request log, org_id, and each injected failure mode.
. "$(dirname "$0")/lib.sh"
no_store "the Velociraptor double on its own"

PY=/usr/bin/python3
VR=$TOP/tests/fixtures/vr
C=$T/certs
S=$T/state
mkdir -p "$S"

# ---- PKI ------------------------------------------------------------------
PORT=$(free_port)
run sh "$VR/mkcerts.sh" "$C" "$PORT"
is "$rc" 0 "mkcerts.sh makes the test PKI"
missing=""
for f in ca.pem ca.key server.pem server.key client.pem client.key other-ca.pem \
	other-client.pem other-client.key wrong-name.pem wrong-name.key \
	expired-client.pem expired-client.key api_client.yaml \
	api_client_other_ca.yaml api_client_expired.yaml; do
	[ -s "$C/$f" ] || missing="$missing $f"
done
is "$missing" "" "every file is there"
is "$(head -n 1 "$C/client.key")" "-----BEGIN RSA PRIVATE KEY-----" "client key is PKCS#1 like Velociraptor's"
like "$(openssl x509 -in "$C/client.pem" -noout -subject)" 'CN ?= ?vc-test' "client cert CN is vc-test"
like "$(openssl x509 -in "$C/ca.pem" -noout -subject)" 'O ?= ?Velociraptor CA.*CN ?= ?Velociraptor CA' "CA is O/CN Velociraptor CA"
like "$(openssl x509 -in "$C/server.pem" -noout -ext subjectAltName)" 'DNS:VelociraptorServer' "server cert is for VelociraptorServer"
like "$(openssl x509 -in "$C/server.pem" -noout -text)" 'NIST CURVE: P-256' "server key is EC P-256"
run openssl verify -CAfile "$C/ca.pem" "$C/server.pem" "$C/client.pem" "$C/wrong-name.pem"
is "$rc" 0 "server, client and wrong-name certs verify against ca.pem"
run openssl verify -CAfile "$C/ca.pem" "$C/expired-client.pem"
like "$out$err" 'certificate has expired' "expired-client.pem has expired"
run openssl verify -CAfile "$C/ca.pem" "$C/other-client.pem"
ok $([ "$rc" -ne 0 ]; echo $?) "other-client.pem does not verify against ca.pem"
run "$PY" -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
print(" ".join(sorted(d)))
print(d["api_connection_string"], d["name"])
print(d["client_private_key"].splitlines()[0], d["ca_certificate"] == open(sys.argv[2]).read())
' "$C/api_client.yaml" "$C/ca.pem"
is "$out" "api_connection_string ca_certificate client_cert client_private_key name
127.0.0.1:$PORT vc-test
-----BEGIN RSA PRIVATE KEY----- True" "api_client.yaml is an ApiClientConfig for 127.0.0.1:$PORT"
grep -qF -- "$(sed -n 2p "$C/other-client.pem")" "$C/api_client_other_ca.yaml"
ok $? "api_client_other_ca.yaml holds the other CA's client cert"

# ---- start ------------------------------------------------------------------
# srv_start PORT LOG ARGS...: start the double, wait for its "listening" line.
srv_start() {
	_p=$1 _l=$2; shift 2
	VR_TEST_HUNT_ROWS=1000 "$PY" "$VR/server.py" --port "$_p" --certs "$C" "$@" > "$_l" 2> "$_l.err" &
	SRV=$!
	echo "$SRV" >> "$T/pids"
	await 60 grep -q '^listening on' "$_l"
}
srv_start "$PORT" "$T/srv.out" --state "$S" --data-clients 7
MAIN=$SRV
is "$(cat "$T/srv.out")" "listening on 127.0.0.1:$PORT" "server.py says where it listens"

# ---- TLS ----------------------------------------------------------------------
# tls VERSION: handshake with openssl s_client and the client cert.
tls() {
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" "$1" -alpn h2 \
		-CAfile "$C/ca.pem" -verify_hostname VelociraptorServer -verify_return_error \
		-cert "$C/client.pem" -key "$C/client.key" 2>&1
}
o=$(tls -tls1_3)
like "$o" 'New, TLSv1\.3, Cipher is TLS_' "TLS 1.3 handshake with the client cert"
like "$o" 'ALPN protocol: h2' "ALPN h2"
like "$o" 'Verify return code: 0 ' "server cert verifies as VelociraptorServer"
o=$(tls -tls1_2)
like "$o" 'New, \(NONE\), Cipher is \(NONE\)' "TLS 1.2 is refused, like the real server"

# ---- a grpcio client ------------------------------------------------------------
cat > "$T/client.py" <<'EOF'
# A small grpcio client for the double: prints one JSON line per
# VQLResponse, then {"t": "status", "code": ..., "detail": ...}.
import argparse, json, os, sys
sys.path.insert(0, os.environ["VR_FIXTURES"])
import server
ap = argparse.ArgumentParser()
ap.add_argument("--port", required=True)
ap.add_argument("--certs", required=True)
ap.add_argument("--cert", default="client")   # none | client | other-client | expired-client
ap.add_argument("--name", default="VelociraptorServer")
ap.add_argument("--vql", action="append", default=[])
ap.add_argument("--env", action="append", default=[])
ap.add_argument("--max-row", type=int, default=1000)
ap.add_argument("--org", default="")
ap.add_argument("--deadline", type=float, default=20)
o = ap.parse_args()
pb = server.load_messages()
import grpc
rd = lambda n: open(os.path.join(o.certs, n), "rb").read()
if o.cert == "none":
    creds = grpc.ssl_channel_credentials(root_certificates=rd("ca.pem"))
else:
    creds = grpc.ssl_channel_credentials(root_certificates=rd("ca.pem"),
        private_key=rd(o.cert + ".key"), certificate_chain=rd(o.cert + ".pem"))
ch = grpc.secure_channel("127.0.0.1:" + o.port, creds,
                         options=[("grpc.ssl_target_name_override", o.name)])
call = ch.unary_stream("/proto.API/Query",
                       request_serializer=pb.VQLCollectorArgs.SerializeToString,
                       response_deserializer=pb.VQLResponse.FromString)
req = pb.VQLCollectorArgs(max_row=o.max_row, max_wait=1, org_id=o.org)
for i, v in enumerate(o.vql):
    req.Query.add(VQL=v, Name="q%d" % i)
for kv in o.env:
    k, _, v = kv.partition("=")
    req.env.add(key=k, value=v)
code, detail = "OK", ""
try:
    for m in call(req, timeout=o.deadline):
        if m.Response:
            print(json.dumps({"t": "rows", "rows": json.loads(m.Response), "cols": list(m.Columns),
                              "qid": m.query_id, "part": m.part, "q": m.Query.VQL,
                              "name": m.Query.Name, "ts": m.timestamp}))
        else:
            print(json.dumps({"t": "log", "log": m.log, "ts": m.timestamp}))
except grpc.RpcError as e:
    code, detail = e.code().name, e.details()
print(json.dumps({"t": "status", "code": code, "detail": detail}))
EOF
export VR_FIXTURES="$VR"
# q ARGS...: run the client against the main server; $out holds its lines.
q() { run "$PY" "$T/client.py" --port "$PORT" --certs "$C" "$@"; }
# status: the final status code of $out.  logs: the log lines.  rows: all rows.
status() { jqr 'select(.t == "status") | .code'; }
logs() { jqr 'select(.t == "log") | .log | rtrimstr("\n")'; }
rows() { printf '%s\n' "$out" | jq -c 'select(.t == "rows") | .rows[]'; }
nreq() { wc -l < "$S/requests.jsonl" | tr -d ' '; }

q --vql 'SELECT * FROM info()'
is "$(status)" OK "mTLS with client.pem: the query ends OK"
is "$(rows | jq -r .Hostname)" velociraptor-test "info() gives one row"
is "$(nreq)" 1 "one request logged"

for c in none other-client expired-client; do
	q --cert "$c" --vql 'SELECT * FROM info()'
	is "$(status)" UNAVAILABLE "client cert $c: the connection fails"
done
q --name NotVelociraptor --vql 'SELECT * FROM info()'
is "$(status)" UNAVAILABLE "a client that verifies another name fails"
is "$(nreq)" 1 "none of them reached the handler"
is "$(jq -r .cn "$S/requests.jsonl")" vc-test "the request log has the client cert CN"

# ---- batches ----------------------------------------------------------------------
q --vql 'SELECT * FROM clients(search=Search)' --env Search=all --max-row 3
is "$(status)" OK "clients(): OK"
is "$(logs | head -n 1)" "Starting query execution." "first message: the start log"
is "$(jqr 'select(.t == "rows") | "\(.part):\(.rows | length)"' | tr '\n' ' ')" "0:3 1:3 2:1 " \
	"7 clients in batches of max_row 3, parts counted from 0"
is "$(jqr 'select(.t == "rows") | .cols[0]' | sort -u)" client_id "every batch has Columns from its first row"
is "$(jqr 'select(.t == "rows") | "\(.qid) \(.name) \(.q)"' | sort -u)" "0 q0 SELECT * FROM clients(search=Search)" \
	"rows echo Query and query_id"
like "$(jqr 'select(.t == "rows") | .ts' | head -n 1)" '^1[0-9]{15}$' "timestamps are microseconds"
like "$(logs | tail -n 1)" '^DEBUG:Query Stats: ' "the last log is the query stats"
is "$(rows | jq -r '.client_id' | grep -cE '^C\.[0-9a-f]{16}$')" 7 "client ids are C.<16 hex>"
is "$(rows | jq -r '.os_info.system' | sort | uniq -c | awk '{ printf "%s %s ", $1, $2 }')" "3 linux 4 windows " "windows and linux clients"
is "$(rows | jq -r 'select(.os_info.hostname == "web01") | "\(.labels) \(.first_seen_at < 1e10) \(.last_seen_at > 1e15)"')" \
	'["web"] true true' "labels, first_seen_at in s, last_seen_at in µs"
r=$(tail -n 1 "$S/requests.jsonl")
is "$(printf '%s' "$r" | jq -r '"\(.env.Search) \(.max_row) \(.org_id == "") \(.queries[0].Name)"')" "all 3 true q0" \
	"requests.jsonl records env, max_row, org_id and the query"

q --vql 'SELECT client_id, os_info.hostname AS Host FROM clients(search=Search) WHERE os_info.system = "linux"' --env Search='host:web*'
is "$(rows | jq -c .)" '{"client_id":"C.c8fbb8446daf09f2","Host":"web01"}' "search host:web*, projection, WHERE"
q --vql 'SELECT * FROM clients(search=Search)' --env Search=label:dc
is "$(rows | jq -r .os_info.hostname)" DC01 "search label:dc"

# ---- VQL the double refuses ----------------------------------------------------------
q --vql "SELECT * FROM clients(client_id='C.c8fbb8446daf09f2')"
is "$(status)" OK "a literal client id: the RPC still ends OK"
like "$(logs)" "^VQL Error: literal id 'C.c8fbb8446daf09f2'" "a literal client id is a VQL Error"
q --vql "SELECT * FROM clients(search='all')"
like "$(logs)" "^VQL Error: argument search of clients\(\) is the literal 'all'" "a literal argument value is a VQL Error"
q --vql 'SELECT * FROM clients(search=Search)'
like "$(logs)" '^VQL Error: Symbol Search not found' "an argument missing from env is a VQL Error"
q --vql 'SELECT * FROM nosuch()'
like "$(logs)" '^ERROR:Plugin nosuch not found' "unknown plugin: an ERROR log"
is "$(jqr 'select(.t == "rows") | "\(.rows) \(.cols)"')" "[] []" "... and an empty batch"

# ---- collect, poll, results -------------------------------------------------------------
q --vql 'SELECT client_id FROM clients(search=Search)' --env Search=DESKTOP-BTI2T9T
W=$(rows | jq -r .client_id)
COLLECT='SELECT collect_client(client_id=ClientId, artifacts=parse_json(data=Artifacts), env=parse_json(data=Params), timeout=int(int=Timeout)) AS Flow FROM scope()'
q --vql "$COLLECT" --env "ClientId=$W" --env 'Artifacts=["Windows.System.Pslist"]' \
	--env 'Params={"ProcessRegex":"."}' --env Timeout=60
F=$(rows | jq -r .Flow.flow_id)
like "$F" '^F\.[0-9A-V]{13}$' "collect_client gives a flow id"
is "$(rows | jq -c '.Flow.request | [.client_id == "'"$W"'", .artifacts, .timeout, .creator]')" \
	'[true,["Windows.System.Pslist"],60,"vc-test"]' "... and the request"
POLL='SELECT get_flow(client_id=ClientId, flow_id=FlowId) AS Flow FROM scope()'
q --vql "$POLL" --env "ClientId=$W" --env "FlowId=$F"
is "$(rows | jq -r '"\(.Flow.state) \(.Flow.session_id == "'"$F"'")"')" "RUNNING true" "first poll: RUNNING"
q --vql "$POLL" --env "ClientId=$W" --env "FlowId=$F"
is "$(rows | jq -r '"\(.Flow.state) \(.Flow.total_collected_rows) \(.Flow.artifacts_with_results)"')" \
	'FINISHED 32 ["Windows.System.Pslist"]' "second poll: FINISHED with rows"
q --vql 'SELECT * FROM source(client_id=ClientId, flow_id=FlowId, artifact=Artifact)' \
	--env "ClientId=$W" --env "FlowId=$F" --env Artifact=Windows.System.Pslist --max-row 10
is "$(rows | wc -l | tr -d ' ')" 32 "source() gives the 32 rows"
is "$(jqr 'select(.t == "rows") | .cols | join(",")' | head -n 1)" \
	"CreateTime,Pid,Ppid,TokenIsElevated,Name,CommandLine,Exe,TokenInfo,Hash,Authenticode,Username,WorkingSetSize" \
	"... with the Windows.System.Pslist columns"
q --vql "$COLLECT" --env ClientId=C.0000000000000000 --env 'Artifacts=["Windows.System.Pslist"]' \
	--env 'Params={}' --env Timeout=60
like "$(logs)" '^ERROR:collect_client: client not found' "unknown client: ERROR log"
is "$(rows | jq -c .)" '{"Flow":null}' "... and a null flow"
q --vql "$COLLECT" --env "ClientId=$W" --env 'Artifacts=["Test.Fail"]' --env 'Params={}' --env Timeout=60
F2=$(rows | jq -r .Flow.flow_id)
q --vql 'SELECT * FROM flows(client_id=ClientId, flow_id=FlowId)' --env "ClientId=$W" --env "FlowId=$F2"
q --vql 'SELECT * FROM flows(client_id=ClientId, flow_id=FlowId)' --env "ClientId=$W" --env "FlowId=$F2"
is "$(rows | jq -r .state)" ERROR "Test.Fail ends in ERROR"

# ---- hunts ----------------------------------------------------------------------------
HUNT='SELECT hunt(description=Description, artifacts=parse_json(data=Artifacts), expires=timestamp(epoch=Expires), tags=parse_json(data=Tags), os=OS) AS Hunt FROM scope()'
q --vql "$HUNT" --env 'Description=evil sweep' --env 'Artifacts=["Windows.System.Pslist"]' \
	--env "Expires=$(($(date +%s) + 86400))" --env 'Tags=["case-7"]' --env OS=windows
H=$(rows | jq -r .Hunt.HuntId)
like "$H" '^H\.[0-9A-V]{13}$' "hunt() gives a hunt id"
is "$(rows | jq -r '.Hunt.Request.expires | type')" string "Request has 64-bit ints as strings"
q --vql 'SELECT * FROM hunts(hunt_id=HuntId)' --env "HuntId=$H"
is "$(rows | jq -c '[.hunt_description, .tags, .state, .stats.total_clients_scheduled, .stats.total_collected_rows]')" \
	'["evil sweep",["case-7"],"RUNNING",4,1000]' "hunts() lists it with tags, state and stats"
q --vql 'SELECT * FROM hunt_results(hunt_id=HuntId, artifact=Artifact)' --env "HuntId=$H" \
	--env Artifact=Windows.System.Pslist --max-row 300
is "$(jqr 'select(.t == "rows") | .rows | length' | tr '\n' ' ')" "300 300 300 100 " \
	"hunt_results: VR_TEST_HUNT_ROWS=1000 rows in batches of max_row"
is "$(jqr 'select(.t == "rows") | .cols[-4:] | join(",")' | sort -u)" "FlowId,ClientId,_OrgId,Fqdn" \
	"... each row ends with FlowId, ClientId, _OrgId, Fqdn"
is "$(rows | jq -r .ClientId | sort -u | wc -l | tr -d ' ')" 4 "... from the 4 windows clients"
q --vql 'SELECT hunt(description=Description, artifacts=Artifacts, expires=now() + int(int=Expires), spec=parse_json(data=Spec)) AS Hunt FROM scope()' \
	--env Description=x --env Artifacts=Windows.System.Pslist --env Expires=3600 \
	--env 'Spec={"Windows.System.Pslist":{"ProcessRegex":"^evil"}}'
H2=$(rows | jq -r .Hunt.HuntId)
left=$(( $(rows | jq -r '.Hunt.Request.expires | tonumber / 1000000 | floor') - $(date +%s) ))
ok $([ "$left" -gt 3500 ] && [ "$left" -le 3600 ]; echo $?) "expires=now() + int(int=Expires) is relative"
q --vql 'SELECT Name FROM hunt_results(hunt_id=HuntId)' --env "HuntId=$H2"
is "$(rows | jq -r .Name | sort | uniq -c | awk '{ print $1, $2 }')" "1000 evil.exe" "spec= parameters filter hunt_results"
q --vql 'SELECT hunt(description=Description, artifacts=Artifacts, env=parse_json(data=Params)) AS Hunt FROM scope()' \
	--env Description=x --env Artifacts=Windows.System.Pslist --env 'Params={}'
is "$(logs | grep -v '^DEBUG' | tail -n 1):$(rows | jq -c .)" 'ERROR:hunt: Unexpected arg env:{"Hunt":null}' \
	"hunt() has no env= argument, like the real one"
q --vql 'SELECT hunt_update(hunt_id=HuntId, stop=TRUE) AS Result FROM scope()' --env "HuntId=$H"
is "$(rows | jq -r .Result)" "$H" "hunt_update(stop=TRUE) gives the hunt id"
q --vql 'SELECT hunt_id, state FROM hunts()'
is "$(rows | jq -r 'select(.hunt_id == "'"$H"'") | .state')" STOPPED "... and the hunt is STOPPED"

# ---- orgs ------------------------------------------------------------------------------
q --org OTEST --vql 'SELECT client_id FROM clients(search=Search)' --env Search=all
is "$(rows | jq -r .client_id | grep -c -- '-OTEST$')" 7 "org OTEST: client ids end in -OTEST"
is "$(tail -n 1 "$S/requests.jsonl" | jq -r .org_id)" OTEST "org_id is logged"
q --org NOPE --vql 'SELECT * FROM info()'
is "$(status)" UNKNOWN "an unknown org is an error status"

# ---- curl over HTTP/2, as vc-hunt talks --------------------------------------------------
"$PY" -c '
import os, struct, sys
sys.path.insert(0, os.environ["VR_FIXTURES"])
import server
pb = server.load_messages()
r = pb.VQLCollectorArgs(max_row=1000, max_wait=1)
r.Query.add(VQL="SELECT * FROM info()", Name="q")
b = r.SerializeToString()
sys.stdout.buffer.write(b"\0" + struct.pack(">I", len(b)) + b)' > "$T/req.bin"
# h2 FILE: POST req.bin; headers and trailers to FILE.h, body to FILE.
h2() {
	curl -s --http2 --max-time 20 --cacert "$C/ca.pem" --cert "$C/client.pem" --key "$C/client.key" \
		--connect-to "VelociraptorServer:$PORT:127.0.0.1:$PORT" \
		-H 'content-type: application/grpc' -H 'te: trailers' -H 'Expect:' \
		--data-binary @"$T/req.bin" -D "$1.h" -o "$1" -w '%{http_version}' \
		"https://VelociraptorServer:$PORT/proto.API/Query"
}
v=$(h2 "$T/c1")
is "$v" 2 "curl: HTTP/2"
like "$(tr -d '\r' < "$T/c1.h")" 'grpc-status: 0' "curl: grpc-status 0 in the trailers"
ok $([ "$(wc -c < "$T/c1")" -gt 100 ]; echo $?) "curl: length-prefixed messages in the body"

# ---- failure modes ------------------------------------------------------------------------
echo permission_denied > "$S/mode"
q --vql 'SELECT * FROM info()'
is "$(status) $(jqr 'select(.t == "status") | .detail')" \
	"PERMISSION_DENIED Permission denied: User vc-test requires permission ANY_QUERY to run queries" \
	"permission_denied: status 7 with the real message"
is "$(jqr 'select(.t != "status")' | wc -l | tr -d ' ')" 0 "... before any message"
h2 "$T/c2" > /dev/null
is "$(wc -c < "$T/c2" | tr -d ' '):$(tr -d '\r' < "$T/c2.h" | grep -c '^grpc-status: 7')" "0:1" \
	"... as trailers-only (no body, grpc-status in the headers)"

echo vql_error > "$S/mode"
q --vql 'SELECT * FROM info()'
is "$(status)" OK "vql_error: ends OK"
like "$(logs)" '^VQL Error: Syntax error' "vql_error: a VQL Error log"

echo error_log > "$S/mode"
q --vql 'SELECT * FROM info()'
is "$(jqr 'if .t == "log" then .log | rtrimstr("\n") else .t end' | sed -n '2,3p' | tr '\n' '|')" \
	"rows|ERROR:something failed (injected by the test double)|" "error_log: rows, then an ERROR log"

echo internal > "$S/mode"
q --vql 'SELECT * FROM clients(search=Search)' --env Search=all --max-row 2
is "$(status) $(rows | wc -l | tr -d ' ')" "INTERNAL 2" "internal: one batch, then INTERNAL"

echo timeout_log > "$S/mode"
q --vql 'SELECT * FROM info()'
is "$(status)" OK "timeout_log: ends OK"
like "$(logs)" '^collect: Timeout Error: ' "timeout_log: the timeout log"

echo unavailable_once > "$S/mode"
q --vql 'SELECT * FROM info()'
is "$(status)" UNAVAILABLE "unavailable_once: UNAVAILABLE"
ok $([ ! -e "$S/mode" ]; echo $?) "... and the flag is gone"
q --vql 'SELECT * FROM info()'
is "$(status)" OK "... the next request succeeds"

echo slow > "$S/mode"
t0=$(date +%s)
q --vql 'SELECT * FROM info()'
t1=$(date +%s)
is "$(status)" OK "slow: ends OK"
ok $([ $((t1 - t0)) -ge 2 ]; echo $?) "slow: the batch came after 2 s"
q --vql 'SELECT * FROM info()' --deadline 1
is "$(status)" DEADLINE_EXCEEDED "slow with a 1 s client deadline: DEADLINE_EXCEEDED"
await 30 eval '[ "$(wc -l < "$S/done.jsonl")" -ge "$(nreq)" ]'
is "$(tail -n 1 "$S/done.jsonl" | jq -r .status)" CANCELLED "... and the server saw the cancel"
rm -f "$S/mode"

# ---- wrong server name --------------------------------------------------------------------
P2=$(free_port)
srv_start "$P2" "$T/srv2.out" --state "$T/state2" --server-cert wrong-name
run "$PY" "$T/client.py" --port "$P2" --certs "$C" --vql 'SELECT * FROM info()'
is "$(status)" UNAVAILABLE "--server-cert wrong-name: the client's name check fails"
kill "$SRV"

# ---- stop ----------------------------------------------------------------------------------
kill -TERM "$MAIN"
await 30 gone "$MAIN"
ok $(gone "$MAIN"; echo $?) "SIGTERM stops the server"
wait "$MAIN"
is "$?" 0 "... with status 0"
done_testing
