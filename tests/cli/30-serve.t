#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-serve: routing, limits, security headers, CORS, login over HTTP,
# slowloris, graceful stop, and an access log without secrets.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PW='correct horse battery'

# req CURL-ARGS...: one request; sets $code, $body and $T/h (headers).
req() {
	code=$(curl -s --max-time 20 -D "$T/h" -o "$T/b" -w '%{http_code}' "$@")
	body=$(cat "$T/b")
}
# hdr NAME: the value of response header NAME in $T/h, without the CR.
hdr() {
	tr -d '\r' < "$T/h" | sed -n "s/^$1: //Ip" | head -n 1
}
# raw: send stdin as-is to the server, print the whole reply (closes
# after 3 s of silence).
raw() {
	"$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read())
s.settimeout(3)
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
except socket.timeout:
    pass
sys.stdout.buffer.write(out)
' "$PORT"
}
# json FILTER: jq -r over $body.
json() { printf '%s\n' "$body" | jq -r "$1" 2>/dev/null; }
# pad N CHAR: N copies of CHAR.
pad() { head -c "$1" /dev/zero | tr '\0' "$2"; }

# ---- command line ---------------------------------------------------------
run vc-serve -h
is "$rc" 0 "-h exits 0"
like "$out" '^usage: vc-serve ' "-h prints the usage on stdout"
run vc-serve --no-such-option
is "$rc" 64 "an unknown option exits 64"
run vc-serve --listen nowhere
is "$rc" 64 "a bad --listen exits 64"
run vc-serve --cors-origin '*'
is "$rc" 64 "--cors-origin '*' is refused"

DB=$T/vc.db
printf '%s\n' "$PW" | vc-auth init --db "$DB" --tenant acme --admin root --password-stdin >/dev/null
ok $? "vc-auth init makes a store"
run vc-serve -n --db "$DB"
is "$rc:$err" "0:vc-serve: configuration OK" "-n checks the store: configuration OK"

# ---- start --------------------------------------------------------------
PORT=$(free_port)
B=http://127.0.0.1:$PORT
vc-serve --db "$DB" --listen "127.0.0.1:$PORT" --workers 2 \
    --cors-origin https://ui.example 2> "$T/log" &
SRV=$!
echo "$SRV" >> "$T/pids"
await 60 grep -q 'listening on' "$T/log"
like "$(cat "$T/log")" "^vc-serve: listening on $B\$" "says where it listens"

# ---- routing and headers --------------------------------------------------
req "$B/health"
is "$code" 200 "GET /health: 200"
is "$(json .status)" ok "health says ok"
is "$(hdr Content-Type)" "application/json; charset=utf-8" "JSON content type with charset"
is "$(hdr X-Content-Type-Options)" nosniff "X-Content-Type-Options: nosniff"
is "$(hdr Referrer-Policy)" no-referrer "Referrer-Policy: no-referrer"
is "$(hdr Content-Security-Policy)" "default-src 'none'; frame-ancestors 'none'" "CSP denies everything"
is "$(hdr Cache-Control)" no-store "Cache-Control: no-store"
RID=$(hdr X-Request-Id)
like "$RID" '^[0-9a-f]{32}$' "X-Request-Id is 32 hex digits"

req "$B/no/such/thing"
is "$code:$(json .error)" "404:not_found" "unknown path: 404 not_found"
req -X DELETE "$B/health"
is "$code" 405 "wrong method: 405"
like "$(hdr Allow)" '^GET(, |$)' "405 names the allowed methods"

# ---- limits ---------------------------------------------------------------
pad 1048577 a > "$T/big"
req -X POST -H 'Content-Type: application/json' --data-binary @"$T/big" "$B/api/auth/login"
is "$code" 413 "a body of 1 MiB + 1: 413"
req -X POST -H 'Content-Type: application/json' -H 'Expect:' --data-binary @"$T/big" "$B/api/auth/login"
is "$code" 413 "the same without Expect: 100-continue: 413"
pad 1048576 a > "$T/1m"
req -X POST -H 'Content-Type: application/json' --data-binary @"$T/1m" "$B/api/auth/login"
is "$code" 400 "a body of exactly 1 MiB is read (then refused as bad JSON)"
req -H "X-Pad: $(pad 17408 b)" "$B/health"
is "$code" 431 "17 KiB of headers: 431"
req -H "X-Pad: $(pad 15000 b)" "$B/health"
is "$code" 200 "15 KiB of headers: fine"
req "$B/health?x=$(pad 9216 c)"
is "$code" 414 "a 9 KiB URI: 414"
out=$(printf 'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' | raw)
like "$out" '^HTTP/1\.1 400 ' "Transfer-Encoding with Content-Length: 400"
like "$out" 'Connection: close' "... and the connection is closed"
out=$(printf 'GET /a/../health HTTP/1.1\r\nHost: x\r\n\r\n' | raw)
like "$out" '^HTTP/1\.1 400 ' "a dot segment in the path: 400"

# ---- CORS -----------------------------------------------------------------
req -H 'Origin: https://evil.example' "$B/health"
is "$code:$(hdr Access-Control-Allow-Origin)" "200:" "a foreign Origin gets no Access-Control-Allow-Origin"
req -H 'Origin: https://ui.example' "$B/health"
is "$(hdr Access-Control-Allow-Origin)" https://ui.example "an allowed Origin is echoed exactly"
is "$(hdr Vary)" Origin "... with Vary: Origin"
req -X OPTIONS -H 'Origin: https://ui.example' -H 'Access-Control-Request-Method: POST' "$B/api/users"
is "$code" 204 "preflight from an allowed origin: 204"
like "$(hdr Access-Control-Allow-Methods)" 'POST' "preflight lists the methods"
req -X OPTIONS -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: POST' "$B/api/users"
is "$(hdr Access-Control-Allow-Origin)$(hdr Access-Control-Allow-Methods)" "" "preflight from a foreign origin: no CORS headers"

# ---- login and authentication ---------------------------------------------------
req -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"root\",\"password\":\"$PW\"}" "$B/api/auth/login"
is "$code" 200 "login with a JSON body: 200"
TOKEN=$(json .access_token)
REFRESH=$(json .refresh_token)
like "$TOKEN" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "it returns an access token"
req -X POST --data-urlencode username=root --data-urlencode "password=$PW" "$B/api/auth/login"
is "$code" 200 "login with a form body: 200"
like "$(json .access_token)" '^ey' "it returns an access token too"
FORM_REFRESH=$(json .refresh_token)

req -X POST -H 'Content-Type: application/json' -d "{\"username\":\"root\",\"password\":\"wrong $PW\"}" "$B/api/auth/login"
is "$code" 401 "wrong password: 401"
BAD_PW=$body
req -X POST -H 'Content-Type: application/json' -d "{\"username\":\"nobody\",\"password\":\"$PW\"}" "$B/api/auth/login"
is "$code" 401 "unknown user: 401"
is "$body" "$BAD_PW" "unknown user and wrong password: the same bytes"

req -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"username":"dora","role":"analyst","password":"sturdy tuna lantern"}' "$B/api/users"
is "$code" 201 "POST /api/users creates a user: 201"
req -X POST -H "Authorization: Bearer $TOKEN" "$B/api/users/dora/disable"
is "$code" 200 "disable dora"
req -X POST -H 'Content-Type: application/json' -d '{"username":"dora","password":"sturdy tuna lantern"}' "$B/api/auth/login"
is "$code" 401 "disabled user: 401"
is "$body" "$BAD_PW" "disabled user: the same bytes again"

req -H "Authorization: Bearer $TOKEN" "$B/api/auth/me"
is "$code:$(json .username)" "200:root" "/api/auth/me with the token: 200"
req "$B/api/auth/me"
is "$code" 401 "/api/auth/me without a token: 401"
is "$(hdr WWW-Authenticate)" Bearer "... with WWW-Authenticate: Bearer"
NOAUTH=$body
req -H "Authorization: Bearer x$TOKEN" "$B/api/auth/me"
is "$code:$body" "401:$NOAUTH" "a bad token: 401, the same bytes as no token"
req -H "Authorization: Basic cm9vdDpyb290" "$B/api/auth/me"
is "$code:$body" "401:$NOAUTH" "another scheme: 401, the same bytes"

req -X POST -H 'Content-Type: application/json' -d '{"username": ' "$B/api/auth/login"
is "$code:$(json .error)" "400:bad_request" "malformed JSON: 400 bad_request"
req -X POST -H 'Content-Type: application/json' -d '[1,2]' "$B/api/auth/login"
is "$code" 400 "a JSON body that is not an object: 400"
req -X POST -H 'Content-Type: application/json' -d "$(pad 40 '[')$(pad 40 ']')" "$B/api/auth/login"
is "$code" 400 "JSON nested deeper than 32: 400"
req -X POST -H 'Content-Type: text/plain' -d 'hello' "$B/api/auth/login"
is "$code" 415 "an unknown content type: 415"
req -X POST -H 'Content-Type: application/json' -d '{"username":"root"}' "$B/api/auth/login?password=SECRET-IN-URL"
is "$code" 400 "a password in the query string: 400"
req "$B/api/audit?limit=1&token=QUERY-SECRET" -H "Authorization: Bearer $TOKEN"
like "$code" '^4' "unknown query field refused"

# ---- imports: JSON Lines bodies ----------------------------------------------
printf '%s\n' '{"hostname":"web01","os":"linux"}' '{"hostname":"db01","os":"windows"}' 'not json' > "$T/hosts.jsonl"
req -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/x-ndjson' \
    --data-binary @"$T/hosts.jsonl" "$B/api/hosts/import"
is "$code:$(json .created):$(json .bad_lines)" "200:2:1" "an import reads JSON Lines from the body"
req -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/csv' \
    --data-binary @"$T/hosts.jsonl" "$B/api/hosts/import"
is "$code" 415 "an import of another media type: 415"
req -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/x-ndjson' \
    --data-binary @"$T/hosts.jsonl" "$B/api/hosts/import?file=/etc/passwd"
is "$code" 400 "the CLI's file operand is refused over HTTP"

# ---- slowloris ---------------------------------------------------------------
# One header byte every 5 s: the head must be complete 10 s after accept.
out=$("$PY" -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.time()
for ch in b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 20:
    try:
        s.send(bytes([ch]))
        s.settimeout(5)
        if s.recv(1) == b"":
            break
    except socket.timeout:
        continue
    except OSError:
        break
    if time.time() - t0 > 30:
        break
print("%d" % round(time.time() - t0))
' "$PORT")
# Not before the 10 s; and well before the 30 s the client would go on
# for (a byte every 5 s keeps any idle timeout from firing), with room
# for a server that a busy machine or a sanitizer build runs late.
if [ "$out" -ge 9 ] && [ "$out" -le 20 ]; then ok 0 "slowloris: closed after ${out}s"; else ok 1 "slowloris: closed after ${out}s (want 10 to 20)"; fi

req "$B/health"
is "$code" 200 "still serving after all that"

# ---- stop -----------------------------------------------------------------
kill -TERM "$SRV"
wait "$SRV"
is "$?" 0 "SIGTERM: exit 0"
# SO_REUSEADDR as any server would: TIME_WAIT left by closed connections
# does not count, a socket still listening does.
"$PY" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
' "$PORT"
ok $? "the port is free afterwards"

# ---- access log ---------------------------------------------------------------
LOG=$(cat "$T/log")
like "$LOG" "^[0-9T:.-]+Z $RID 127\\.0\\.0\\.1 GET /health 200 [0-9]+ [0-9]+ms\$" "one access line per request, with the request id"
unlike "$LOG" "$PW|sturdy tuna" "no password in the log"
unlike "$LOG" "$TOKEN|$REFRESH|$FORM_REFRESH" "no token in the log"
unlike "$LOG" 'SECRET-IN-URL|QUERY-SECRET|\?' "no query string in the log"
like "$LOG" 'vc-serve: stopped$' "says it stopped"

done_testing
