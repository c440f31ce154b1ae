#!/bin/sh
# SPDX-License-Identifier: MIT
# Login throttling (security.md section 6): after five failures in a row a
# name waits 2^(n-5) s before any password is tried, known name or not;
# a success forgets the failures; all of it is audited.
. "$(dirname "$0")/lib.sh"

init_store
fail() { printf '%s\n' 'not the password!' | vc-auth login "$1" --password-stdin >/dev/null 2>&1; }
# locked NAME: "FAILURES SECONDS", the failures in a row and the length of
# the lock that the throttle stored for NAME.
locked() { sq "SELECT failures || ' ' || (locked_until - last_failure_at) FROM auth_throttle WHERE name = '$1'"; }
# The lock the sixth failure earns is 2 s, and on a slow or loaded machine
# (a sanitizer build is several times slower) the next process may start
# after it ran out.  So the tests check the lock that was stored, then
# hold it (its end moved on by 60 s) to check what a lock in force does;
# the wait a refusal tells must be what is left of it then.
# hold NAME: move the end of NAME's lock on by 60 s; sets $until to it.
hold() {
	sq "UPDATE auth_throttle SET locked_until = locked_until + 60 WHERE name = '$1'"
	until=$(sq "SELECT locked_until FROM auth_throttle WHERE name = '$1'")
}
# left WAIT BEFORE AFTER: WAIT is the time left of the lock $until for a
# check made between the times BEFORE and AFTER (status 0 when it is).
left() { [ -n "$1" ] && [ "$1" -ge $(($until - $3)) ] && [ "$1" -le $(($until - $2)) ]; }
waited() { printf '%s\n' "$err" | sed -n 's/.*retry in \([0-9]*\) s$/\1/p'; }

for i in 1 2 3 4 5; do fail root; done
run_in "$ROOT_PW" vc-auth login root --password-stdin
is "$rc" 0 "five failures: the right password still works"
t0=$(date +%s)
for i in 1 2 3 4 5 6; do fail root; done
t1=$(date +%s)
is "$(locked root)" "6 2" "the sixth failure in a row locks the name for 2^(6-5) = 2 s"
at=$(sq "SELECT last_failure_at FROM auth_throttle WHERE name = 'root'")
ok $([ "$at" -ge "$t0" ] && [ "$at" -le "$t1" ]; echo $?) "... from the time of that failure"
hold root
a=$(date +%s)
run_in "$ROOT_PW" vc-auth login root --password-stdin
b=$(date +%s)
is "$rc" 75 "after the sixth failure in a row even the right password waits (exit 75)"
like "$err" '^vc-auth: too many failed logins: retry in [0-9]+ s$' "the error says how long"
w=$(waited)
ok $(left "$w" "$a" "$b"; echo $?) "... the time left of the lock ($w s)"
# The lock as it was stored, and the clock past its end.
sq "UPDATE auth_throttle SET locked_until = locked_until - 60 WHERE name = 'root'"
until=$((until - 60))
await 30 eval '[ "$(date +%s)" -ge "$until" ]'
run_in "$ROOT_PW" vc-auth login root --password-stdin
is "$rc" 0 "after the wait the right password works"
is "$(sq "SELECT COUNT(*) FROM auth_throttle WHERE name = 'root'")" 0 "and the failures are forgotten"

# Unknown names are throttled the same way (no hint that a name exists).
for i in 1 2 3 4 5 6; do fail nosuchuser; done
is "$(locked nosuchuser)" "6 2" "... locked for 2^(6-5) = 2 s after its sixth failure, as a known name"
hold nosuchuser
a=$(date +%s)
run_in "$ROOT_PW" vc-auth login nosuchuser --password-stdin
b=$(date +%s)
like "$rc:$err" '^75:vc-auth: too many failed logins: retry in [0-9]+ s$' "an unknown name waits like a known one"
w=$(waited)
ok $(left "$w" "$a" "$b"; echo $?) "... the time left of the lock ($w s)"
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
sq "UPDATE auth_throttle SET failures = 40, locked_until = 0 WHERE name = 'nosuchuser'"
fail nosuchuser
w=$(sq "SELECT locked_until - last_failure_at FROM auth_throttle WHERE name = 'nosuchuser'")
is "$w" 900 "the wait is capped at 900 s"

as root "$ROOT_PW"
run vc-auth audit list --action auth.login --outcome failure -o jsonl
like "$out" 'throttled after repeated failures' "throttled attempts are audited with the reason"
# Over HTTP: 429 with the wait in Retry-After.
PORT=$(free_port)
vc-serve --listen "127.0.0.1:$PORT" 2> "$T/log" &
echo $! >> "$T/pids"
await 60 grep -q 'listening on' "$T/log"
for i in 1 2 3 4 5 6; do
	curl -s -o /dev/null -H 'Content-Type: application/json' -d '{"username":"httpuser","password":"not the password!"}' "http://127.0.0.1:$PORT/api/auth/login"
done
is "$(locked httpuser)" "6 2" "six failures over HTTP: the same 2 s lock"
hold httpuser
a=$(date +%s)
code=$(curl -s -D "$T/h" -o "$T/b" -w '%{http_code}' -H 'Content-Type: application/json' -d '{"username":"httpuser","password":"not the password!"}' "http://127.0.0.1:$PORT/api/auth/login")
b=$(date +%s)
is "$code:$(jq -r .error "$T/b")" "429:rate_limited" "over HTTP a throttled login is 429 rate_limited"
w=$(tr -d '\r' < "$T/h" | sed -n 's/^Retry-After: //Ip')
ok $(left "$w" "$a" "$b"; echo $?) "Retry-After says how long to wait ($w s, the time left of the lock)"
# passwd is no oracle: five wrong current passwords in a row lock the
# account's passwd as a login would be (it was unthrottled).
as root "$ROOT_PW"
printf '%s\n' "$ROOT_PW" | vc-auth user create pat --role viewer --password-stdin > /dev/null
PAT=$(login_as pat "$ROOT_PW")
for i in 1 2 3 4 5 6; do
	printf '%s\n%s\n' 'not the password!' 'a brand new password 1' |
		XDG_CONFIG_HOME=$T/cfg-pat vc-auth passwd --password-stdin > /dev/null 2>&1
done
is "$(sq "SELECT failures, locked_until - last_failure_at FROM auth_throttle WHERE name LIKE 'passwd:%'")" "6|2" \
	"six wrong current passwords: counted for the account, locked 2 s"
# However slow the machine, the lock is in force for the next call.
sq "UPDATE auth_throttle SET locked_until = locked_until + 60 WHERE name LIKE 'passwd:%'"
run_in "$ROOT_PW
a brand new password 1" env XDG_CONFIG_HOME="$T/cfg-pat" vc-auth passwd --password-stdin
like "$rc:$err" '^75:vc-auth: too many wrong passwords: retry in [0-9]+ s$' \
	"... and passwd then waits, even with the right one (exit 75)"
done_testing
