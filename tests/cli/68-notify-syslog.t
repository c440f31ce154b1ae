#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-notify channels of kind syslog against a real listener
# (tests/peers/syslog.py): RFC 5424 messages over UDP, over TCP framed
# by octet counting (RFC 6587) and over TLS checked against a CA, with
# JSON or CEF bodies (CEF's escaping read back), a listener that is down
# and comes back, and the allow-list.  Every audit record is an event too
# (type audit), so the channels take --type 'case.*' and the ids of
# acme's case events are asked of the store.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
cursor() { sq "SELECT cursor FROM notify_channels WHERE name = '$1'"; }
listen() { "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $1))" 2>/dev/null; }
count() { [ "$(wc -l < "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }
ids() { tenant_events acme 'case.*'; }
ev() { tenant_events acme 'case.*' "$1"; }
start() {         # start PROTO PORT LOG [CERT KEY]
	"$PY" "$TOP/tests/peers/syslog.py" "$@" &
	LST=$!
	echo $LST >> "$T/pids"
}

init_store
vc-case create 'first case' > /dev/null
vc-case create 'a=b|c\d' > /dev/null
E1=$(ev 1) E2=$(ev 2)
TENANT=$(sq "SELECT id FROM tenants WHERE name = 'acme'")
UPORT=$(free_port)
TPORT=$(free_port)
SPORT=$(free_port)

run vc-notify channel add sys --kind syslog --target "udp://127.0.0.1:$UPORT" --since 0
is "$rc" 77 "a loopback listener is refused unless the installation allows it"
export VC_ALLOW_VELOCIRAPTOR=127.0.0.1
run vc-notify channel add sys --kind syslog --target "http://127.0.0.1:$UPORT"
is "$rc" 64 "a syslog target is udp://, tcp:// or tls://"
run vc-notify channel add sys --kind syslog --target "tcp://127.0.0.1:$UPORT/x"
is "$rc" 64 "... with no path"
run vc-notify channel add sys --kind file --target "$T/f" --format cef
is "$rc" 64 "--format is for syslog channels"

# ---- UDP, JSON -------------------------------------------------------------------------------------
run vc-notify channel add udp --kind syslog --target "udp://127.0.0.1:$UPORT" --type 'case.*' --since 0 -o jsonl
is "$rc:$(jqr .format)" "0:json" "a syslog channel over UDP, JSON bodies by default"
start udp "$UPORT" "$T/udp.log"
await 10 test -e "$T/udp.log.ready"
ok $? "the UDP listener is bound"
run vc-notify forward --channel udp --once -o jsonl
is "$rc:$(jqr .delivered):$(cursor udp)" "0:2:$E2" "two events sent as datagrams"
await 5 count "$T/udp.log" 2
is "$(jq -r '"\(.pri) \(.version) \(.app) \(.procid) \(.msgid)"' "$T/udp.log" | sort -u)" \
	"134 1 velocicompanion - case.created" "RFC 5424: local0.info, version 1, app, msgid the type"
like "$(jq -r .ts "$T/udp.log" | head -n 1)" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "... an RFC 3339 timestamp"
is "$(jq -r '.host' "$T/udp.log" | head -n 1)" "$(hostname)" "... this host's name"
is "$(jq -r '.sd["vc@32473"] | "\(.id) \(.tenant) \(.type)"' "$T/udp.log" | paste -sd'|' -)" \
	"$E1 $TENANT case.created|$E2 $TENANT case.created" "... structured data: id, tenant, type"
is "$(jq -r '.msg | fromjson | "\(.id) \(.type) \(.body.subject)"' "$T/udp.log" | paste -sd'|' -)" \
	"$E1 case.created first case|$E2 case.created a=b|c\\d" "... the event as JSON in MSG"
is "$(jq -r 'select(.error) | .error' "$T/udp.log")" "" "every message parses"

# ---- TCP, CEF --------------------------------------------------------------------------------------
run vc-notify channel add tcp --kind syslog --target "tcp://127.0.0.1:$TPORT" --type 'case.*' --since 0 --format cef -o jsonl
is "$rc:$(jqr .format)" "0:cef" "a syslog channel over TCP with CEF bodies"
run vc-notify forward --channel tcp --once -o jsonl
is "$rc:$(cursor tcp)" "69:0" "the listener is down: exit 69, the cursor stays"
like "$(jqr .error)" 'Connection refused' "... connection refused"
start tcp "$TPORT" "$T/tcp.log"
await 10 listen "$TPORT"
run vc-notify forward --channel tcp --once -o jsonl
is "$rc:$(cursor tcp)" "0:$E2" "then both go, framed by octet counting"
await 5 count "$T/tcp.log" 2
is "$(jq -r 'select(.error) | .error' "$T/tcp.log")" "" "every frame and message parses"
cef=$(jq -r --arg id "$E2" 'select(.sd["vc@32473"].id == $id) | .msg' "$T/tcp.log")
like "$cef" '^CEF:0\|VelociCompanion\|vc-notify\|[0-9.]+\|case\.created\|case\.created\|3\|rt=[0-9]{13} externalId='"$E2"' cat=case\.created cs1Label=tenant cs1=' \
	"CEF: header, then rt, externalId, cat, the tenant"
back=$(printf '%s' "$cef" | "$PY" -c '
import json, re, sys
ext = sys.stdin.read().split("|", 7)[7]
# a value runs to the next unescaped " key="
pairs = re.findall(r"(\w+)=((?:\\.|[^\\])*?)(?= \w+=|$)", ext)
val = {k: re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), v)
       for k, v in pairs}
print(json.loads(val["msg"])["subject"], val["cs1"])')
is "$back" "a=b|c\\d $TENANT" "CEF escaping ('=' and '\\\\' in msg=) reads back to the subject"
like "$cef" 'msg=\{"case_id":"[^"]*","subject":"a\\=b\|c\\\\\\\\d"' \
	"... in msg= each '=' is written \\= and each backslash two"
vc-case create 'third' > /dev/null
E3=$(ev 3)
run vc-notify forward --channel tcp --once -o jsonl
await 5 count "$T/tcp.log" 3
is "$rc:$(cursor tcp):$(wc -l < "$T/tcp.log" | tr -d ' ')" "0:$E3:3" "a new event over a new connection"

# --follow keeps the connection, and makes a new one when the listener
# went away and came back.
vc-notify forward --channel tcp --follow > "$T/follow" 2>&1 &
FP=$!
echo $FP >> "$T/pids"
sleep 0.3
vc-case create 'fourth' > /dev/null
await 5 count "$T/tcp.log" 4
ok $? "--follow: a new event over the kept connection"
kill $LST
wait $LST 2>/dev/null
start tcp "$TPORT" "$T/tcp.log"
await 10 listen "$TPORT"
vc-case create 'fifth' > /dev/null
await 10 count "$T/tcp.log" 5
ok $? "... and over a new one after the listener came back"
E4=$(ev 4) E5=$(ev 5)
is "$(jq -r '.sd["vc@32473"].id' "$T/tcp.log" | tail -n 2 | paste -sd' ' -)" "$E4 $E5" "... in order"
kill -TERM $FP
wait $FP
is "$?" 0 "SIGTERM ends it"

# ---- TLS -----------------------------------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$T/ls.key" -out "$T/ls.pem" > /dev/null 2>&1
ok $? "openssl made the listener's certificate"
start tls "$SPORT" "$T/tls.log" "$T/ls.pem" "$T/ls.key"
await 10 listen "$SPORT"
run vc-notify channel add tls --kind syslog --target "tls://127.0.0.1:$SPORT" --type 'case.*' --since 0 -o jsonl
run vc-notify forward --channel tls --once -o jsonl
is "$rc:$(cursor tls)" "69:0" "TLS to a certificate the system does not trust: exit 69"
like "$(jqr .error)" 'not trusted' "... and says so"
SSL_CERT_FILE=$T/ls.pem run vc-notify forward --channel tls --once -o jsonl
is "$rc:$(cursor tls)" "0:$E5" "trusted (\$SSL_CERT_FILE): the five events over TLS"
await 5 count "$T/tls.log" 5
is "$(jq -r '.sd["vc@32473"].id' "$T/tls.log" | paste -sd' ' -)" "$E1 $E2 $E3 $E4 $E5" "... in order, and they parse"
run vc-notify channel add tlsca --kind syslog --target "tls://127.0.0.1:$SPORT" --type 'case.*' --since 0 \
	--ca-file "$T/ls.pem" -o jsonl
run vc-notify forward --channel tlsca --once -o jsonl
is "$rc:$(cursor tlsca)" "0:$E5" "--ca-file: the channel trusts its own CA"
await 5 count "$T/tls.log" 10
is "$(wc -l < "$T/tls.log" | tr -d ' ')" 10 "... the listener got the five again"

done_testing
