#!/bin/sh
# SPDX-License-Identifier: MIT
# Login throttling (security.md section 6): after five failures in a row a
# name waits 2^(n-5) s before any password is tried, known name or not;
# a success forgets the failures; all of it is audited.
. "$(dirname "$0")/lib.sh"

init_store
fail() { printf '%s\n' 'not the password!' | vc-auth login "$1" --password-stdin >/dev/null 2>&1; }

for i in 1 2 3 4 5; do fail root; done
run_in "$ROOT_PW" vc-auth login root --password-stdin
is "$rc" 0 "five failures: the right password still works"
for i in 1 2 3 4 5 6; do fail root; done
run_in "$ROOT_PW" vc-auth login root --password-stdin
is "$rc" 75 "after the sixth failure in a row even the right password waits (exit 75)"
like "$err" '^vc-auth: too many failed logins: retry in [12] s$' "the error says how long"
sleep 2
run_in "$ROOT_PW" vc-auth login root --password-stdin
is "$rc" 0 "after the wait the right password works"
is "$(sqlite3 "$VC_DB" "SELECT COUNT(*) FROM auth_throttle WHERE name = 'root'")" 0 "and the failures are forgotten"

# Unknown names are throttled the same way (no hint that a name exists).
for i in 1 2 3 4 5 6; do fail nosuchuser; done
run_in "$ROOT_PW" vc-auth login nosuchuser --password-stdin
# The wait left is 2 s less the time the call took: the stored lock says
# what was decided, whatever the machine's speed.
like "$rc:$err" '^75:vc-auth: too many failed logins: retry in [12] s$' "an unknown name waits like a known one"
is "$(sqlite3 "$VC_DB" "SELECT locked_until - last_failure_at FROM auth_throttle WHERE name = 'nosuchuser'")" 2 \
	"... locked for 2^(6-5) = 2 s after its sixth failure, as a known name"
# Names are compared without case.
run_in "$ROOT_PW" vc-auth login NoSuchUser --password-stdin
is "$rc" 75 "the same name in other case is the same counter"

# Guesses sent in parallel: each is counted before its slow hash, so at most
# six are ever checked (the check came before the hash and the count after
# it, so all twelve used to be checked).
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	( printf '%s\n' 'not the password!' | vc-auth login racer --password-stdin > /dev/null 2>&1
	  echo $? > "$T/race.$i" ) &
done
wait
checked=$(cat "$T"/race.* | grep -c '^77$')
throttled=$(cat "$T"/race.* | grep -c '^75$')
is "$((checked + throttled))" 12 "twelve parallel guesses: each refused (checked, or throttled)"
ok $([ "$checked" -le 6 ]; echo $?) "... at most six of them checked ($checked), the rest throttled ($throttled)"

# The delay doubles and is capped at 15 minutes.
sqlite3 "$VC_DB" "UPDATE auth_throttle SET failures = 40, locked_until = 0 WHERE name = 'nosuchuser'"
fail nosuchuser
w=$(sqlite3 "$VC_DB" "SELECT locked_until - last_failure_at FROM auth_throttle WHERE name = 'nosuchuser'")
is "$w" 900 "the wait is capped at 900 s"

as root "$ROOT_PW"
run vc-auth audit list --action auth.login --outcome failure -o jsonl
like "$out" 'throttled after repeated failures' "throttled attempts are audited with the reason"
# Over HTTP: 429 with the wait in Retry-After.
PORT=$(free_port)
vc-serve --listen "127.0.0.1:$PORT" 2> "$T/log" &
echo $! >> "$T/pids"
i=0
while [ $i -lt 100 ] && ! grep -q 'listening on' "$T/log"; do sleep 0.1; i=$((i + 1)); done
for i in 1 2 3 4 5 6; do
	curl -s -o /dev/null -H 'Content-Type: application/json' -d '{"username":"httpuser","password":"not the password!"}' "http://127.0.0.1:$PORT/api/auth/login"
done
code=$(curl -s -D "$T/h" -o "$T/b" -w '%{http_code}' -H 'Content-Type: application/json' -d '{"username":"httpuser","password":"not the password!"}' "http://127.0.0.1:$PORT/api/auth/login")
is "$code:$(jq -r .error "$T/b")" "429:rate_limited" "over HTTP a throttled login is 429 rate_limited"
like "$(tr -d '\r' < "$T/h" | sed -n 's/^Retry-After: //Ip')" '^[12]$' "Retry-After says how long to wait"
done_testing
