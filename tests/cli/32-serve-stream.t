#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-serve streaming: JSON Lines answers for Accept: application/x-ndjson
# (chunked, 200000 rows with flat memory, backpressure on a slow reader,
# a client hanging up mid-stream, errors before and after the first line,
# HTTP/1.0), import bodies streamed to the worker (200000 rows with flat
# memory, --max-import and 413, chunked bodies, bad lines reported as
# warnings, a client hanging up mid-upload), and role and tenant checks on
# the streamed routes.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
GEN=$TOP/bench/gen.py
NDJSON='Content-Type: application/x-ndjson'
ACCEPT='Accept: application/x-ndjson'
N=200000

# req CURL-ARGS...: one request; sets $code, $body, $cerr (curl's exit)
# and $T/h (headers).  The deadline only stops a hung server: a 122 MiB
# import takes a TSan build on a busy machine more than a minute.
req() {
	code=$(curl -s --max-time 300 -D "$T/h" -o "$T/b" -w '%{http_code}' "$@")
	cerr=$?
	body=$(cat "$T/b")
}
# hdr NAME: the value of response header NAME in $T/h, without the CR.
hdr() {
	tr -d '\r' < "$T/h" | sed -n "s/^$1: //Ip" | head -n 1
}
json() { printf '%s\n' "$body" | jq -r "$1" 2>/dev/null; }
# nlines FILE: its number of lines.
nlines() { wc -l < "$1" | tr -d ' '; }
# hwm PID: the peak resident set of process PID, in KiB.
hwm() { sed -n 's/^VmHWM:[ \t]*\([0-9]*\) kB$/\1/p' "/proc/$1/status"; }
# hwm_reset PID: start measuring the peak afresh (Linux clear_refs "5");
# without it the peak so far stays the baseline, which is still fair.
hwm_reset() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null || true; }
# flat PID BEFORE WHAT: the peak grew by less than 64 MiB since BEFORE.
# Under ThreadSanitizer every byte the server touches also costs shadow
# memory and access history, several times the byte itself (an import
# that grows the plain server by 13 MiB grows the TSan one by about 75),
# so there the bound is 4 times wider; plain and ASan runs keep 64.
# Sanitizers' allocators keep more than ours: TSan its shadow, ASan
# redzones and a quarantine of freed blocks (a batch's 12 MiB buffers).
# The product's bound, 64 MiB, is the plain build's.
case $BIN in */tsan/*) FLAT_MIB=256 ;; */asan/*) FLAT_MIB=96 ;; *) FLAT_MIB=64 ;; esac
flat() {
	_now=$(hwm "$1")
	_grew=$(( (_now - $2) / 1024 ))
	if [ "$_grew" -lt "$FLAT_MIB" ]; then ok 0 "$3: server memory flat (peak +${_grew} MiB)"; else
		ok 1 "$3: server memory flat (peak +${_grew} MiB, want < $FLAT_MIB)"; fi
}
# start NAME ARGS...: run vc-serve ARGS on a free port; sets $PORT_NAME,
# $PID_NAME and logs to $T/NAME.log.
start() {
	_name=$1; shift
	_port=$(free_port)
	vc-serve --listen "127.0.0.1:$_port" "$@" 2> "$T/$_name.log" &
	_pid=$!
	echo "$_pid" >> "$T/pids"
	await 60 grep -q 'listening on' "$T/$_name.log"
	eval "PORT_$_name=$_port PID_$_name=$_pid"
}

# A raw HTTP client for what curl will not do: hang up mid-stream or
# mid-upload, break the chunked framing, speak HTTP/1.0.
cat > "$T/raw.py" <<'EOF'
import socket, sys, time
mode, port, path, token = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection(("127.0.0.1", port))
auth = "Authorization: Bearer %s\r\n" % token
if mode == "hangup":
    # Read some of a stream, then go away without reading the rest.
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAccept: application/x-ndjson\r\n%s\r\n"
               % (path, auth)).encode())
    got = 0
    s.settimeout(10)
    while got < int(sys.argv[5]):
        d = s.recv(65536)
        if not d:
            break
        got += len(d)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    s.close()
    print(got)
elif mode == "http10":
    s.sendall(("GET %s HTTP/1.0\r\nAccept: application/x-ndjson\r\n%s\r\n"
               % (path, auth)).encode())
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    sys.stdout.buffer.write(out)
elif mode == "upload-hangup":
    # Announce a large import, send part of it, go away.
    data = open(sys.argv[5], "rb").read()
    s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
               "Content-Length: %d\r\n%s\r\n" % (path, len(data) + 500, auth)).encode())
    s.sendall(data)
    time.sleep(0.5)
    s.close()
elif mode == "badchunk":
    s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
               "Transfer-Encoding: chunked\r\n%s\r\n" % (path, auth)).encode())
    line = b'{"hostname":"chunky"}\n'
    s.sendall(b"%x\r\n%s\r\n" % (len(line), line))
    time.sleep(0.3)
    s.sendall(b"zz\r\n")
    s.settimeout(5)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError):
        pass
    sys.stdout.buffer.write(out)
EOF
raw() { "$PY" "$T/raw.py" "$@"; }

# ---- command line ---------------------------------------------------------------
run vc-serve -h
like "$out" '\[--max-import bytes\]' "-h shows --max-import"
run vc-serve --max-import 0
is "$rc" 64 "--max-import 0 is refused (64)"
run vc-serve --max-import 12x
is "$rc" 64 "--max-import 12x is refused (64)"

# ---- a store: two tenants, three roles, API tokens (no password hashing
# in the server, so its peak memory is the streams' alone) -----------------
init_store
vc-auth tenant create globex >/dev/null
printf '%s\n' 'globex admin password' |
	vc-auth user create gadmin --role admin --tenant globex --password-stdin >/dev/null
ADMIN=$(vc-auth token create admin --role admin -o jsonl | jq -r .token)
VIEWER=$(vc-auth token create ro --role viewer -o jsonl | jq -r .token)
printf '%s\n' 'globex admin password' | XDG_CONFIG_HOME=$T/cfg-g vc-auth login gadmin --password-stdin >/dev/null
GLOBEX=$(XDG_CONFIG_HOME=$T/cfg-g vc-auth token create g --role admin -o jsonl | jq -r .token)
like "$ADMIN:$VIEWER:$GLOBEX" '^vcs_[^:]+:vcs_[^:]+:vcs_[^:]+$' "API tokens for acme's admin and viewer, globex's admin"

"$PY" "$GEN" pslist "$N" 50 > "$T/rows.jsonl"
"$PY" "$GEN" pslist 2000 5 > "$T/small.jsonl"
is "$(nlines "$T/rows.jsonl")" "$N" "gen.py made $N rows"

start A --workers 2
A=http://127.0.0.1:$PORT_A
start B --workers 1 --max-import 4096
B=http://127.0.0.1:$PORT_B
like "$(cat "$T/A.log")$(cat "$T/B.log")" 'listening on.*listening on' "two servers: A (defaults), B (1 worker, --max-import 4096)"

# ---- a 200000-row import over HTTP ---------------------------------------------
hwm_reset "$PID_A"
before=$(hwm "$PID_A")
req -H "Authorization: Bearer $ADMIN" -H "$NDJSON" --data-binary @"$T/rows.jsonl" \
    "$A/api/artifacts?name=Windows.System.Pslist"
is "$code:$(json .rows):$(json .bad_lines)" "200:$N:0" "POST /api/artifacts of $(( $(wc -c < "$T/rows.jsonl") / 1048576 )) MiB: all $N rows"
BIG=$(json .id)
is "$(sq "SELECT COUNT(*) FROM artifact_rows WHERE artifact_id = '$BIG'"):$(sq "SELECT state FROM artifacts WHERE id = '$BIG'")" \
    "$N:complete" "... stored, and the artifact is complete"
flat "$PID_A" "$before" "import of $N rows"

req -H "Authorization: Bearer $ADMIN" -H "$NDJSON" --data-binary @"$T/small.jsonl" \
    "$A/api/artifacts?name=Small"
SMALL=$(json .id)
is "$code:$(json .rows)" "200:2000" "a small artifact for the other cases"

# ---- streamed rows ---------------------------------------------------------------
req -H "Authorization: Bearer $VIEWER" "$A/api/artifacts/$SMALL/rows"
is "$code:$(hdr Content-Type):$(json .count)" "200:application/json; charset=utf-8:2000" \
    "without Accept: {items, count} as before"
req -H "Authorization: Bearer $VIEWER" "$A/api/artifacts/$BIG/rows"
is "$(json .count)" 10000 "... capped at 10000 rows"

hwm_reset "$PID_A"
before=$(hwm "$PID_A")
req -H "Authorization: Bearer $VIEWER" -H "$ACCEPT" "$A/api/artifacts/$BIG/rows"
is "$code:$cerr" "200:0" "Accept: application/x-ndjson: 200"
is "$(hdr Content-Type)" "application/x-ndjson; charset=utf-8" "... Content-Type: application/x-ndjson"
is "$(hdr Transfer-Encoding):$(hdr Content-Length)" "chunked:" "... chunked, no Content-Length"
is "$(hdr X-Content-Type-Options):$(hdr Cache-Control):$(hdr Referrer-Policy)" "nosniff:no-store:no-referrer" \
    "... with the security headers"
like "$(hdr Content-Security-Policy):$(hdr X-Request-Id)" "^default-src 'none'.*:[0-9a-f]{32}\$" "... CSP and X-Request-Id"
is "$(nlines "$T/b")" "$N" "... all $N rows: no 10000-row cap"
cmp -s "$T/b" "$T/rows.jsonl"
ok $? "... byte for byte the rows imported, one per line"
flat "$PID_A" "$before" "streaming $N rows"

# A slow reader: the worker waits for the loop, which waits for the client.
hwm_reset "$PID_A"
before=$(hwm "$PID_A")
n=$(curl -s --max-time 300 --limit-rate 40M -H "Authorization: Bearer $VIEWER" -H "$ACCEPT" \
    "$A/api/artifacts/$BIG/rows" | wc -l | tr -d ' ')
is "$n" "$N" "a slow reader (40 MB/s) gets all $N rows"
flat "$PID_A" "$before" "a slow reader"

req -H "Authorization: Bearer $VIEWER" -H 'Accept: application/jsonl' "$A/api/artifacts/$SMALL/rows?limit=5"
is "$code:$(hdr Content-Type):$(nlines "$T/b")" "200:application/x-ndjson; charset=utf-8:5" \
    "Accept: application/jsonl streams too (limit still applies)"
req -H "Authorization: Bearer $VIEWER" -H 'Accept: */*' "$A/api/artifacts/$SMALL/rows?limit=5"
is "$(hdr Content-Type):$(json .count)" "application/json; charset=utf-8:5" "Accept: */*: plain JSON"
req -H "Authorization: Bearer $VIEWER" -H 'Accept: application/json, application/x-ndjson;q=0.5' \
    "$A/api/artifacts/$SMALL/rows?limit=5"
is "$(hdr Content-Type)" "application/json; charset=utf-8" "JSON preferred by q: plain JSON"
req -H "Authorization: Bearer $VIEWER" -H 'Accept: application/json;q=0.2, application/x-ndjson' \
    "$A/api/artifacts/$SMALL/rows?limit=5"
is "$(hdr Content-Type)" "application/x-ndjson; charset=utf-8" "JSON Lines preferred by q: a stream"
req -H "Authorization: Bearer $VIEWER" -H "$ACCEPT" "$A/api/artifacts/$SMALL/rows?where=.Name%3D%3D%22System%22"
is "$code:$(jq -r .Name "$T/b" | sort -u)" "200:System" "--where filters a stream"

# Operations that return one object or a collected list.
req -H "Authorization: Bearer $VIEWER" -H "$ACCEPT" "$A/api/auth/me"
is "$code:$(nlines "$T/b"):$(jq -r .role "$T/b")" "200:1:viewer" "an object: one JSON line"
req -H "Authorization: Bearer $ADMIN" "$A/api/tokens"
ntok=$(json .count)
req -H "Authorization: Bearer $ADMIN" -H "$ACCEPT" "$A/api/tokens"
is "$code:$(nlines "$T/b"):$(jq -r .prefix "$T/b" | grep -c '^vcs_')" "200:$ntok:$ntok" \
    "a list: one line per item, as many as {items, count} says"
req -H "Authorization: Bearer $VIEWER" -H "$ACCEPT" "$A/api/hosts?limit=1000"
is "$code:$(nlines "$T/b"):$(jq '.items | length' "$T/b")" "200:1:50" \
    "a page of a list is an object too: one line (the import made 50 hosts)"

# HTTP/1.0 has no chunks: the body ends with the connection.
raw http10 "$PORT_A" "/api/artifacts/$SMALL/rows" "$VIEWER" > "$T/r10"
h10=$(tr -d '\r' < "$T/r10" | sed '/^$/q')
like "$h10" '^HTTP/1\.1 200 ' "HTTP/1.0 stream: 200"
unlike "$h10" 'Transfer-Encoding' "... not chunked"
like "$h10" 'Connection: close' "... Connection: close"
is "$(tr -d '\r' < "$T/r10" | sed '1,/^$/d' | wc -l | tr -d ' ')" 2000 "... all 2000 rows until the close"

# ---- errors, roles and tenants on streamed routes ----------------------------------
req -H "Authorization: Bearer $VIEWER" -H "$ACCEPT" "$A/api/artifacts/00000000-0000-4000-8000-000000000000/rows"
is "$code:$(hdr Content-Type):$(json .error)" "404:application/json; charset=utf-8:not_found" \
    "an error before the first line: the usual JSON error and status"
req -H "$ACCEPT" "$A/api/artifacts/$SMALL/rows"
is "$code:$(json .error)" "401:unauthenticated" "no token: 401, streamed or not"
req -H "Authorization: Bearer $GLOBEX" -H "$ACCEPT" "$A/api/artifacts/$SMALL/rows"
is "$code:$(json .error)" "404:not_found" "another tenant's artifact: 404"
unlike "$body" 'ClientId' "... and not one of its rows"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'authz.denied' AND tenant_id = (SELECT id FROM tenants WHERE name = 'globex')")" 1 \
    "... audited as authz.denied"
req -H "Authorization: Bearer $VIEWER" -H "$ACCEPT" -H "$NDJSON" --data-binary @"$T/small.jsonl" \
    "$A/api/artifacts?name=Nope"
is "$code:$(json .error)" "403:forbidden" "a viewer's streamed import: 403"
is "$(sq "SELECT COUNT(*) FROM artifacts WHERE name = 'Nope'")" 0 "... and nothing stored"

# ---- streamed imports: bad lines as warnings --------------------------------------
printf '%s\n' '{"hostname":"s1"}' '{"hostname":"s2"}' 'not json' '{"hostname":"s3"}' > "$T/hosts.jsonl"
req -H "Authorization: Bearer $ADMIN" -H "$ACCEPT" -H "$NDJSON" --data-binary @"$T/hosts.jsonl" \
    "$A/api/hosts/import"
is "$code:$(nlines "$T/b")" "200:2" "streamed import with a bad line: two lines"
like "$(sed -n 1p "$T/b" | jq -r .warning)" '^body:3: ' "... a warning naming body:3"
is "$(sed -n 2p "$T/b" | jq -c '[.created, .bad_lines, has("errors")]')" '[3,1,false]' \
    "... then the summary: 3 created, the bad line counted"
req -H "Authorization: Bearer $ADMIN" -H "$NDJSON" --data-binary @"$T/hosts.jsonl" "$A/api/hosts/import"
is "$code:$(json .bad_lines):$(json '.errors | length')" "200:1:1" "the same import unstreamed: errors in the object"

# An error after the first line: 200 is out, so the last line says it and
# the stream is cut (no last chunk: curl fails too).
req -H "Authorization: Bearer $ADMIN" -H "$ACCEPT" -H "$NDJSON" --data-binary @"$T/hosts.jsonl" \
    "$A/api/hosts/import?strict=true"
is "$code:$(nlines "$T/b")" "200:2" "--strict stops at the bad line: 200 and two lines"
like "$(sed -n 1p "$T/b" | jq -r .warning)" '^body:3: ' "... the warning"
is "$(sed -n 2p "$T/b" | jq -r .error)" invalid "... then {\"error\": \"invalid\", ...}"
like "$(sed -n 2p "$T/b" | jq -r .message)" 'strict' "... with the message"
is "$cerr" 18 "... and the stream is cut (curl: partial file)"

# Many warnings during a large upload: they flow while the body arrives.
awk 'NR % 1000 == 0 { print "{broken" } { print }' "$T/small.jsonl" "$T/small.jsonl" "$T/small.jsonl" \
    "$T/small.jsonl" "$T/small.jsonl" > "$T/warn.jsonl"
req -H "Authorization: Bearer $ADMIN" -H "$ACCEPT" -H "$NDJSON" --data-binary @"$T/warn.jsonl" \
    "$A/api/artifacts?name=Warned"
is "$code:$(grep -c '"warning"' "$T/b"):$(tail -n 1 "$T/b" | jq -c '[.rows, .bad_lines]')" "200:10:[10000,10]" \
    "a streamed artifact import: 10 warnings, then 10000 rows and 10 bad lines"

# ---- chunked import bodies -----------------------------------------------------------
req -H "Authorization: Bearer $ADMIN" -H "$NDJSON" -H 'Transfer-Encoding: chunked' \
    --data-binary @"$T/small.jsonl" "$A/api/artifacts?name=Chunked"
is "$code:$(json .rows)" "200:2000" "a chunked import body"
out=$(raw badchunk "$PORT_A" /api/hosts/import "$ADMIN")
like "$out" '^HTTP/1\.1 400 ' "bad chunked framing mid-import: 400"
is "$(sq "SELECT COUNT(*) FROM hosts WHERE hostname = 'chunky'")" 0 "... and nothing of it stored"

# ---- --max-import and --max-body ------------------------------------------------
head -c 5000 "$T/small.jsonl" > "$T/5k"
head -n 5 "$T/small.jsonl" > "$T/few"
req -H "Authorization: Bearer $ADMIN" -H "$NDJSON" --data-binary @"$T/5k" "$B/api/artifacts?name=TooBig"
is "$code:$(json .error)" "413:too_large" "an import of 5000 bytes over --max-import 4096: 413"
req -H "Authorization: Bearer $ADMIN" -H "$NDJSON" -H 'Transfer-Encoding: chunked' \
    --data-binary @"$T/5k" "$B/api/artifacts?name=TooBigChunked"
is "$code:$(json .error)" "413:too_large" "... chunked, counted as it arrives: 413"
is "$(sq "SELECT COUNT(*) FROM artifacts WHERE name = 'TooBigChunked' AND state != 'failed'")" 0 \
    "... and no artifact of it, or a failed one"
req -H "Authorization: Bearer $ADMIN" -H "$NDJSON" --data-binary @"$T/few" "$B/api/artifacts?name=Fits"
is "$code:$(json .rows)" "200:5" "an import under --max-import: 200"
head -c 2097152 /dev/zero | tr '\0' a > "$T/2m"
req -H 'Content-Type: application/json' --data-binary @"$T/2m" "$A/api/auth/login"
is "$code" 413 "other routes keep --max-body (1 MiB): 413"
req -H "Authorization: Bearer $ADMIN" -H "$NDJSON" --data-binary @"$T/2m" "$A/api/hosts/import"
is "$code:$(json .bad_lines)" "200:1" "while an import of 2 MiB is read (one over-long line)"

# ---- clients that go away ----------------------------------------------------------------
# B has one worker: if a hang-up left it stuck, the next request would not
# be answered.
# (The next request's deadline is generous: a sanitizer build on a busy
# machine is slow, and what counts is that it is answered at all.)
for i in 1 2 3; do
	got=$(raw hangup "$PORT_B" "/api/artifacts/$BIG/rows" "$VIEWER" 200000)
	req --max-time 60 -H "Authorization: Bearer $VIEWER" "$B/api/auth/me"
	is "$code" 200 "hang-up $i mid-stream (after $got bytes): the worker stops, the next request is served"
done
like "$(grep "GET /api/artifacts/$BIG/rows 200" "$T/B.log" | head -n 1)" ' 200 [0-9]+ ' "the cut stream is in the access log"
cut_bytes=$(grep "GET /api/artifacts/$BIG/rows 200" "$T/B.log" | head -n 1 | awk '{print $7}')
ok $([ "$cut_bytes" -lt "$(wc -c < "$T/rows.jsonl")" ]; echo $?) "... with the bytes sent before the hang-up ($cut_bytes)"

head -n 2 "$T/small.jsonl" > "$T/two"
raw upload-hangup "$PORT_B" "/api/artifacts?name=Cut" "$ADMIN" "$T/two"
req --max-time 60 -H "Authorization: Bearer $VIEWER" "$B/api/auth/me"
is "$code" 200 "hang-up mid-upload: the next request is served"
# The worker marks the import failed when it sees the body end early,
# in its own time.
cut() { [ "$(sq "SELECT state FROM artifacts WHERE name = 'Cut'")" = failed ]; }
await 30 cut
is "$(sq "SELECT state FROM artifacts WHERE name = 'Cut'")" failed "... and the cut import is marked failed"

# ---- stop --------------------------------------------------------------------------
req -H "Authorization: Bearer $VIEWER" "$A/health"
is "$code" 200 "A still serves"
kill -TERM "$PID_A" "$PID_B"
wait "$PID_A"
ra=$?
wait "$PID_B"
is "$ra:$?" "0:0" "SIGTERM: both exit 0"
unlike "$(cat "$T/A.log")" 'vc-serve: (lws|request)' "A logged no errors"
unlike "$(cat "$T/A.log" "$T/B.log")" "$ADMIN|$VIEWER|$GLOBEX" "no token in the logs"

done_testing
