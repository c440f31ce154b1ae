#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-serve under load and slow clients (issues 9 and 10): /health is
# answered by the event loop whatever the workers do; requests wait for
# a worker and get 503 only after --queue-wait; streamed requests (imports,
# JSON Lines answers) never take the last worker, nor more than
# --max-streams per user; slow bodies are refused with 408; credential
# requests and registrations are limited per client address (429 with
# Retry-After).
. "$(dirname "$0")/lib.sh"

PW='sturdy tuna lantern'
init_store
for u in ann amy gus; do
	printf '%s\n' "$PW" | vc-auth user create $u --role analyst --password-stdin > /dev/null
done
ANN=$(login_as ann "$PW")
AMY=$(login_as amy "$PW")
GUS=$(login_as gus "$PW")

# serve NAME ARGS...: start a vc-serve of its own; sets $B.
serve() {
	_sv=$1; shift
	_sp=$(free_port)
	B=http://127.0.0.1:$_sp
	vc-serve --db "$VC_DB" --listen "127.0.0.1:$_sp" "$@" 2> "$T/$_sv.log" &
	echo $! >> "$T/pids"
	echo $! > "$T/$_sv.pid"
	await 60 grep -q 'listening on' "$T/$_sv.log"
}
stop() { kill "$(cat "$T/$1.pid")"; await 60 gone "$(cat "$T/$1.pid")"; }
# req CURL-ARGS...: sets $code, $body, $secs (whole seconds it took).
req() {
	_t0=$(date +%s)
	code=$(curl -s --max-time 30 -D "$T/h" -o "$T/b" -w '%{http_code}' "$@")
	secs=$(( $(date +%s) - _t0 ))
	body=$(cat "$T/b")
}
hdr() { sed -n "s/^$1: \\(.*\\)\\r\$/\\1/Ip" "$T/h" | head -n 1; }

# A host import whose lines come every GAP seconds until STOPFILE exists
# (or N lines are sent); prints the status line of the answer.
cat > "$T/trickle.py" <<'PY'
import os, socket, sys, time
port, token, tag, gap, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(("POST /api/hosts/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n" % token).encode())
s.settimeout(0.05)
i = 0
answer = b""
try:
    while not os.path.exists(stop) and i < 600:
        line = ('{"hostname":"%s%d"}\n' % (tag, i)).encode()
        s.sendall(b"%x\r\n%s\r\n" % (len(line), line))
        i += 1
        try:
            answer = s.recv(65536)      # an early answer: refused
            if answer:
                break
        except socket.timeout:
            pass
        time.sleep(gap)
    if not answer:
        s.sendall(b"0\r\n\r\n")
        s.settimeout(30)
        answer = s.recv(65536)
except (BrokenPipeError, ConnectionResetError):
    pass
print(answer.decode(errors="replace").split("\r\n")[0])
PY
# trickle NAME TOKEN GAP: start one in the background (stop with: touch $T/NAME.stop).
trickle() {
	/usr/bin/python3 "$T/trickle.py" "${B##*:}" "$2" "$1" "$3" "$T/$1.stop" > "$T/$1.out" 2>&1 &
	echo $! > "$T/$1.tpid"
}
trickled() { touch "$T/$1.stop"; await 40 gone "$(cat "$T/$1.tpid")"; cat "$T/$1.out"; }
# An import's hosts are written by batches of thousands: a trickle shows
# nothing in the store before its end.  So the tests give the server a
# second to take one up, and look at the answers.

# ---- one worker, held by an import ------------------------------------------
serve one --workers 1 --queue-wait 2 --min-body-rate 0
trickle t1 "$ANN" 0.3
sleep 1
req "$B/health"
is "$code:$(printf '%s' "$body" | jq -r .status)" "200:ok" "the only worker busy with an import: /health answers at once"
ok "$([ "$secs" -le 1 ]; echo $?)" "... in under a second ($secs s)"
req -H "Authorization: Bearer $GUS" "$B/api/hosts"
is "$code" 503 "a request that waited --queue-wait for a worker: 503"
is "$(hdr Retry-After)" 1 "... with Retry-After"
ok "$([ "$secs" -ge 2 ] && [ "$secs" -le 5 ]; echo $?)" "... after the wait, not at once ($secs s)"
like "$(cat "$T/one.log")" "waited 2 s for a worker: 503" "... and the log says why"
is "$(trickled t1)" "HTTP/1.1 200 OK" "the import completes"
req -H "Authorization: Bearer $GUS" "$B/api/hosts"
is "$code" 200 "then the worker serves the rest"
stop one

# ---- two workers: streams leave one free ------------------------------------
serve two --workers 2 --queue-wait 20 --min-body-rate 0
trickle t2 "$ANN" 0.3
sleep 1
trickle t3 "$AMY" 0.3
sleep 1
req -H "Authorization: Bearer $GUS" "$B/api/hosts?limit=1"
is "$code" 200 "two imports trickle in on two workers: a plain request is served"
ok "$([ "$secs" -le 2 ]; echo $?)" "... at once ($secs s): imports never take the last worker"
is "$(trickled t2)" "HTTP/1.1 200 OK" "the first import completes"
is "$(trickled t3)" "HTTP/1.1 200 OK" "... and then the second"
stop two

# ---- the pool: a stream waiting on its client is not computing ----------------
serve pool --workers 3 --active 1 --queue-wait 3 --min-body-rate 0
trickle t9 "$ANN" 0.3
sleep 1
req -H "Authorization: Bearer $GUS" "$B/api/hosts?limit=1"
is "$code" 200 "--active 1 and an import trickling in: a plain request is served"
ok "$([ "$secs" -le 1 ]; echo $?)" "... at once ($secs s): the import's worker waits on its client, it does not compute"
is "$(trickled t9)" "HTTP/1.1 200 OK" "the import completes"
stop pool

# ---- streams per user ---------------------------------------------------------
serve three --workers 8 --max-streams 2 --min-body-rate 0
trickle t4 "$ANN" 0.3
trickle t5 "$ANN" 0.3
sleep 1
trickle t6 "$ANN" 0.3
await 20 gone "$(cat "$T/t6.tpid")"
like "$(cat "$T/t6.out")" "HTTP/1.1 429" "a third import of the same user at once: 429"
trickle t7 "$AMY" 0.3
sleep 2
ok "$(gone "$(cat "$T/t7.tpid")" && echo 1 || echo 0)" "... while another user's import is taken up"
is "$(trickled t4):$(trickled t5):$(trickled t7)" "HTTP/1.1 200 OK:HTTP/1.1 200 OK:HTTP/1.1 200 OK" "... and the others complete"
req -H "Authorization: Bearer $ANN" -H 'Accept: application/x-ndjson' "$B/api/hosts?limit=2"
is "$code" 200 "once they are done, the user streams again"
stop three

# ---- slow bodies -------------------------------------------------------------
serve four --body-deadline 2 --min-body-rate 200
# A JSON body of 100 bytes, 10 bytes a second.
/usr/bin/python3 - "${B##*:}" "$GUS" > "$T/slow.out" 2>&1 <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
body = b'{"title":"slow case","description":"' + b"x" * 62 + b'"}'
s.sendall(b"POST /api/cases HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
          b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (sys.argv[2].encode(), len(body)))
try:
    for i in range(0, len(body), 10):
        s.sendall(body[i:i + 10])
        time.sleep(1)
except (BrokenPipeError, ConnectionResetError):
    pass
s.settimeout(10)
print(s.recv(65536).decode(errors="replace").replace("\r\n", "|"))
PY
like "$(cat "$T/slow.out")" "^HTTP/1.1 408 " "a body slower than --body-deadline: 408"
like "$(cat "$T/slow.out")" "request body took too long" "... saying why"
is "$(sq "SELECT COUNT(*) FROM cases WHERE title = 'slow case'")" 0 "... and nothing was made of it"
# An import of 20 bytes a second, under --min-body-rate 200.
trickle t8 "$ANN" 1
await 30 gone "$(cat "$T/t8.tpid")"
like "$(cat "$T/t8.out")" "HTTP/1.1 408" "an import slower than --min-body-rate: 408 (after 5 s)"
like "$(cat "$T/four.log")" "request body arrives too slowly" "... logged with the address"
req -H "Authorization: Bearer $GUS" -H 'Content-Type: application/json' -d '{"title":"quick case"}' "$B/api/cases"
is "$code" 201 "a body sent at once is fine"
stop four

# ---- connections per address --------------------------------------------------------
serve conns --max-conns-per-ip 2
/usr/bin/python3 - "${B##*:}" > "$T/conns.out" 2>&1 <<'PY'
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(5)
try:
    print(s.recv(4096).decode(errors="replace").split("\r\n")[0])
except (socket.timeout, ConnectionResetError) as e:
    print("no answer: %s" % e)
PY
is "$(cat "$T/conns.out")" "HTTP/1.1 503 Service Unavailable" "a third connection from one address over --max-conns-per-ip 2: 503"
await 10 grep -q '127.0.0.1: connection refused with 503: more than --max-conns-per-ip 2 open' "$T/conns.log"
ok $? "... and the log says so, with the address"
req "$B/health"
is "$code" 200 "once they are closed, the address connects again"
stop conns

# ---- per-address limits ---------------------------------------------------------
vc-auth tenant create openhouse --allow-registration > /dev/null
serve five --auth-rate 3 --register-rate 2
login() { req -H 'Content-Type: application/json' -d "{\"username\":\"$1\",\"password\":\"$2\"}" "$B/api/auth/login"; }
login ann wrong1
c1=$code
login ann wrong2
c2=$code
req -H 'Content-Type: application/json' -d '{"refresh_token":"vcr_nothing"}' "$B/api/auth/refresh"
is "$c1:$c2:$code" "401:401:401" "three credential requests from one address: answered"
login ann "$PW"
is "$code:$(printf '%s' "$body" | jq -r .error)" "429:rate_limited" "the fourth, even with the right password: 429"
ok "$([ "$(hdr Retry-After)" -ge 1 ] && [ "$(hdr Retry-After)" -le 20 ]; echo $?)" "... Retry-After says when ($(hdr Retry-After) s)"
like "$body" "from your address" "... saying it is the address that is limited"
like "$(cat "$T/five.log")" "auth.login refused: too many from this address" "... and the log says so"
req -H "Authorization: Bearer $GUS" "$B/api/hosts?limit=1"
is "$code" 200 "other requests from the address go on"
reg() { req -H 'Content-Type: application/json' -d "{\"username\":\"$1\",\"tenant\":\"openhouse\",\"password\":\"$PW\"}" "$B/api/auth/register"; }
reg newbie1
c1=$code
reg ann
is "$c1:$code" "201:409" "two registrations from one address: answered (one name is taken)"
reg newbie3
is "$code" 429 "a third within the hour: 429"
is "$(vc-auth user list -o jsonl | jq -r 'select(.username == "newbie3") | .username')" "" "... and no account was made"
stop five

serve six --auth-rate 0
for i in 1 2 3 4 5 6; do login "ghost$i" wrong; printf '%s\n' "$code"; done > "$T/codes"
is "$(sort -u "$T/codes" | tr '\n' ' ')" "401 " "--auth-rate 0: no address limit (the account's own throttle remains)"
stop six

done_testing
