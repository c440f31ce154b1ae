#!/bin/sh
# SPDX-License-Identifier: MIT
# Mail over a real SMTP server (tests/fixtures/smtp, Debian's aiosmtpd):
# the relay's settings (password sealed, never shown), STARTTLS required
# unless declared plaintext, a CA of the test's own, AUTH; password reset
# (same answer for any account, single use, one hour, sessions ended, a
# per-account limit), email verification and the tenant that requires
# it; the outbox when the relay is down, then back (mail flush, and
# vc-serve's delivery thread); nothing sent twice.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import aiosmtpd' 2>/dev/null || skip_all "python3-aiosmtpd is not installed"
command -v sqlite3 >/dev/null || skip_all "no sqlite3"
M=$T/mail
mkdir -p "$M"

# smtp_start NAME ARGS...: start a relay saving into $M, its port in $T/NAME.port.
smtp_start() {
	_sn=$1; shift
	rm -f "$T/$_sn.port"
	"$PY" "$TOP/tests/fixtures/smtp/smtp.py" --dir "$M" --ready "$T/$_sn.port" "$@" \
		> "$T/$_sn.log" 2>&1 &
	eval "PID_$_sn=$!"
	echo "$!" >> "$T/pids"
	await 60 test -s "$T/$_sn.port"
}
smtp_stop() {
	eval "_p=\$PID_$1"
	kill "$_p"
	await 60 gone "$_p"
}
nmail() { ls "$M" | grep -c '\.eml$'; }
# at_least N: the relays got N messages or more (for await).
at_least() { [ "$(nmail)" -ge "$1" ]; }
# tried ADDR: a delivery to ADDR was attempted (for await).
tried() { [ "$(sql "SELECT attempts FROM outbox WHERE recipient = '$1'")" -ge 1 ] 2>/dev/null; }
has_mail() { [ -n "$(last_mail "$1")" ]; }
# last_mail ADDR: the newest message to ADDR.
last_mail() {
	_f=$(grep -lx -- "$1" "$M"/*.rcpt 2>/dev/null | sort | tail -n 1)
	[ -n "$_f" ] && echo "${_f%.rcpt}.eml"
}
# token_in FILE PREFIX: the token of that kind in a message.
token_in() { grep -o "Token: $2[A-Za-z0-9_-]*" "$1" | head -n 1 | cut -d' ' -f2; }
sql() { sq "$1"; }

init_store || exit 1
smtp_start plain
PLAIN=$(cat "$T/plain.port")

# ---- the relay's settings ---------------------------------------------------------
run vc-auth mail show
is "$rc" 66 "mail show before mail set: no transport (exit 66)"
run vc-auth mail set --url "http://127.0.0.1:$PLAIN" --from vc@example.test
is "$rc:$err" "65:vc-auth: the mail URL must be smtp://HOST[:PORT] or smtps://HOST[:PORT]" \
	"only smtp:// and smtps:// URLs"
run vc-auth mail set --url "smtp://127.0.0.1:$PLAIN" --from 'Root <root@example.test>'
is "$rc" 65 "a From with a display name is refused"
run_in 'relay secret 42' vc-auth mail set --url "smtp://127.0.0.1:$PLAIN" --from vc@example.test \
	--user mailer --password-stdin -o json
is "$rc" 0 "mail set with a relay password"
is "$(jqr '.password_set')" true "show says a password is set"
unlike "$out" 'relay secret 42' "the password is not shown"
run vc-auth mail show -o json
unlike "$out" 'relay secret' "mail show never prints the password"
is "$(sql "SELECT CASE WHEN password LIKE '%relay secret%' THEN 1 ELSE 0 END FROM smtp_config")" 0 "the password is sealed in the store"
if [ "$STORE_PG" = 1 ]; then
	sq_dump | grep -q 'relay secret 42'
else
	grep -q 'relay secret 42' "$VC_DB" "$VC_DB-wal" 2>/dev/null
fi
ok $([ $? -ne 0 ]; echo $?) "no copy of the password in the store files (in its dump on PostgreSQL)"

# STARTTLS is required unless the relay is declared plaintext.
run vc-auth mail test to@example.test
is "$rc" 69 "mail test to a relay without STARTTLS fails (exit 69)"
like "$err" 'does not offer STARTTLS' "and says the relay does not offer STARTTLS"
is "$(nmail)" 0 "nothing was sent in the clear"
run vc-auth mail set --url "smtp://127.0.0.1:$PLAIN" --from vc@example.test --insecure-plaintext \
	--link-base https://vc.example.test/
is "$rc" 0 "mail set --insecure-plaintext --link-base"
run vc-auth mail test to@example.test
is "$rc:$out" '0:{"sent":true,"to":"to@example.test"}' "mail test sends"
f=$(last_mail to@example.test)
ok $([ -n "$f" ]; echo $?) "the relay got the test message for to@example.test"
hdrs=$(sed -n '/^\r*$/q;s/:.*//p' "$f" | tr '\n' ' ')
is "$hdrs" "Date Message-ID From To Subject MIME-Version Auto-Submitted Content-Type Content-Transfer-Encoding " \
	"its headers: Date, Message-ID, From, To, Subject, MIME-Version"
like "$(grep '^From:' "$f")" '^From: <vc@example.test>' "From is the configured sender"

# A relay with STARTTLS, a certificate of the test's own CA, and AUTH.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$T/relay.key" -out "$T/relay.pem" > /dev/null 2>&1
ok $? "openssl made the relay's certificate"
smtp_start tls --tls-cert "$T/relay.pem" --tls-key "$T/relay.key" --require-starttls \
	--auth mailer:relay-pw
TLSP=$(cat "$T/tls.port")
run_in 'relay-pw' vc-auth mail set --url "smtp://127.0.0.1:$TLSP" --from vc@example.test \
	--user mailer --password-stdin
run vc-auth mail test tls@example.test
is "$rc" 69 "STARTTLS to a certificate the system does not trust fails"
like "$err" 'not trusted' "and says the certificate is not trusted"
run_in 'relay-pw' vc-auth mail set --url "smtp://127.0.0.1:$TLSP" --from vc@example.test \
	--user mailer --password-stdin --ca-file "$T/relay.pem"
run vc-auth mail test tls@example.test
is "$rc" 0 "STARTTLS with --ca-file and AUTH delivers"
ok $([ -n "$(last_mail tls@example.test)" ]; echo $?) "the TLS relay got it"
# key rekey seals the relay password again under the newest key.
run vc-auth key rotate
run vc-auth key rekey
is "$rc:$(jqr 'select(.table == "smtp_config") | [.column, .secrets, .resealed] | join(" ")')" \
	"0:password 1 1" "key rekey reseals the relay password (|smtp|password)"
run vc-auth mail test tls@example.test
is "$rc" 0 "and the relay login still works"
run_in 'wrong-pw' vc-auth mail set --url "smtp://127.0.0.1:$TLSP" --from vc@example.test \
	--user mailer --password-stdin --ca-file "$T/relay.pem"
run vc-auth mail test tls@example.test
is "$rc" 69 "a wrong relay password fails"
like "$err" 'refused the user name or password' "and says so"
unlike "$err" 'wrong-pw' "without the password"
smtp_stop tls

run vc-auth mail set --url "smtp://127.0.0.1:$PLAIN" --from vc@example.test --insecure-plaintext \
	--link-base https://vc.example.test
ok $rc "back to the plaintext relay"

# ---- email verification ---------------------------------------------------------
n0=$(nmail)
run_in 'alice password one' vc-auth user create alice --role analyst --email alice@example.test \
	--password-stdin -o json
is "$rc:$(jqr .email_verified)" "0:false" "user create --email: not verified yet"
is "$(nmail)" $((n0 + 1)) "a verification mail went out"
f=$(last_mail alice@example.test)
like "$(grep '^Subject:' "$f")" 'confirm your email address' "it asks to confirm the address"
VT=$(token_in "$f" vcev_)
like "$VT" '^vcev_[A-Za-z0-9_-]{43}$' "it carries a 256-bit token"
grep -q "https://vc.example.test/api/auth/verify-email?token=$VT" "$f"
ok $? "and the link under --link-base"
grep -q 'tenant acme' "$f"
ok $? "and names the tenant"
is "$(sql "SELECT COUNT(*) FROM auth_tokens WHERE token_hash = '$VT'")" 0 "the token itself is not stored"

run vc-auth tenant update acme --require-verified-email yes -o json
is "$(jqr .require_verified_email)" true "tenant update --require-verified-email yes"
run_in 'alice password one' env XDG_CONFIG_HOME="$T/cfg-alice" vc-auth login alice --password-stdin
is "$rc" 77 "login before verifying is refused (exit 77)"
like "$err" 'email not verified' "with a clear reason, after the right password"
run_in 'not her password' env XDG_CONFIG_HOME="$T/cfg-alice" vc-auth login alice --password-stdin
like "$rc:$err" '77:.*invalid credentials' "a wrong password still says only invalid credentials"
run vc-auth verify-email vcev_not-a-real-token
is "$rc" 65 "a made-up verification token is refused"
run vc-auth verify-email "$VT"
is "$rc:$(jqr .email_verified)" "0:true" "verify-email TOKEN"
run vc-auth verify-email "$VT"
is "$rc:$err" "65:vc-auth: invalid, used or expired token" "a verification token works once"
run vc-auth user show alice -o json
is "$(jqr .email_verified)" true "user show: email_verified"
as alice 'alice password one' >/dev/null
run_in 'alice password one' env XDG_CONFIG_HOME="$T/cfg-alice" vc-auth login alice --password-stdin
is "$rc" 0 "a verified user logs in"
run env XDG_CONFIG_HOME="$T/cfg-alice" vc-auth whoami -o json
is "$(jqr .email_verified)" true "whoami: email_verified"
printf '%s\n' "$ROOT_PW" | vc-auth login root --password-stdin >/dev/null

# ---- password reset ---------------------------------------------------------------
n0=$(nmail)
run vc-auth password-reset request alice
A_OUT=$out A_RC=$rc
is "$(nmail)" $((n0 + 1)) "a reset request for alice mails alice"
run vc-auth password-reset request nobody-at-all
is "$rc:$out" "$A_RC:$A_OUT" "an unknown account gets the same answer"
run vc-auth password-reset request nobody@example.test
is "$rc:$out" "$A_RC:$A_OUT" "so does an unknown address"
is "$(nmail)" $((n0 + 1)) "and no mail"
f=$(last_mail alice@example.test)
RT=$(token_in "$f" vcpr_)
like "$RT" '^vcpr_[A-Za-z0-9_-]{43}$' "the reset mail carries a 256-bit token"
grep -q 'multipart/alternative' "$f" && grep -q 'text/html' "$f"
ok $? "as text and HTML"
grep -q 'Requested from: the command line' "$f" && grep -q 'Requested at: ' "$f"
ok $? "saying who asked from where and when"
unlike "$(cat "$f")" 'alice password one|relay' "and no secret but the token"
grep -q "https://vc.example.test/reset-password?token=$RT" "$f"
ok $? "with the link under --link-base"
is "$(sql "SELECT COUNT(*) FROM auth_tokens WHERE purpose = 'reset' AND token_hash LIKE '%$RT%'")" 0 \
	"the reset token is stored hashed"
is "$(sql "SELECT COUNT(*) FROM outbox WHERE body_text IS NOT NULL AND sent_at IS NOT NULL")" 0 \
	"sent mail keeps no body in the outbox"

run_in 'alice password two' vc-auth password-reset confirm "$RT" --password-stdin -o json
is "$rc:$(jqr .sessions_revoked)" "0:true" "password-reset confirm sets the password"
run env XDG_CONFIG_HOME="$T/cfg-alice" vc-auth whoami
is "$rc" 77 "alice's old session is dead"
run_in 'alice password one' env XDG_CONFIG_HOME="$T/cfg-alice" vc-auth login alice --password-stdin
is "$rc" 77 "the old password no longer works"
run_in 'alice password two' env XDG_CONFIG_HOME="$T/cfg-alice" vc-auth login alice --password-stdin
is "$rc" 0 "the new password does"
run_in 'alice password six' vc-auth password-reset confirm "$RT" --password-stdin
is "$rc:$err" "65:vc-auth: invalid, used or expired token" "a reset token works once"
run vc-auth audit list --action auth.password_reset.confirm -o json
is "$(jqr '[.[] | .outcome] | sort | join(",")')" "failure,success" "confirm is audited, success and reuse"
f=$(last_mail alice@example.test)
like "$(grep '^Subject:' "$f")" 'your password was reset' "the owner is told the password was reset"
unlike "$(cat "$f")" 'vcpr_|Token' "in a mail with no token"

# Expiry: one hour.  The token's times are moved back in the store.
# age MINUTES: make the unused reset tokens MINUTES old.
age() {
	sql "UPDATE auth_tokens SET created_at = $SQ_NOW - $1 * 60,
		expires_at = $SQ_NOW - $1 * 60 + 3600
		WHERE purpose = 'reset' AND used_at IS NULL"
}
run vc-auth password-reset request alice@example.test
is "$rc:$out" "$A_RC:$A_OUT" "a request by address answers the same"
RT2=$(token_in "$(last_mail alice@example.test)" vcpr_)
ok $([ -n "$RT2" ] && [ "$RT2" != "$RT" ]; echo $?) "and mails a new token"
age 59
run_in 'alice password three' vc-auth password-reset confirm "$RT2" --password-stdin
is "$rc" 0 "a reset token 59 minutes old works"
run vc-auth password-reset request alice
RT3=$(token_in "$(last_mail alice@example.test)" vcpr_)
age 61
run_in 'alice password six' vc-auth password-reset confirm "$RT3" --password-stdin
is "$rc" 65 "one 61 minutes old is refused"
run vc-auth audit list --action auth.password_reset.confirm -o json
is "$(jqr '.[0].reason')" "token expired" "the audit record says why"

# Per account: three reset mails an hour.
sql "UPDATE auth_tokens SET created_at = created_at - 7200 WHERE purpose = 'reset'"
n0=$(nmail)
for i in 1 2 3; do vc-auth password-reset request alice > /dev/null; done
is "$(nmail)" $((n0 + 3)) "three requests in an hour are mailed"
run vc-auth password-reset request alice
is "$rc:$out" "$A_RC:$A_OUT" "the fourth answers the same"
is "$(nmail)" $((n0 + 3)) "but mails nothing"
run vc-auth audit list --action auth.password_reset.request -o json
is "$(jqr '.[0].details.over_hourly_limit')" 1 "the audit log says the account hit its limit"

# Nothing twice.
n0=$(nmail)
run vc-auth mail flush --all -o json
is "$rc:$(jqr '.sent')" "0:0" "mail flush --all finds nothing left to send"
is "$(nmail)" "$n0" "nothing is sent twice"

# A password set otherwise spends the reset links mailed before.
run_in 'erin password one' vc-auth user create erin --role viewer --email erin@example.test --password-stdin
vc-auth password-reset request erin > /dev/null
ET=$(token_in "$(last_mail erin@example.test)" vcpr_)
run_in 'erin password two' vc-auth user update erin --password-stdin
run_in 'erin password six' vc-auth password-reset confirm "$ET" --password-stdin
is "$rc" 65 "a reset link mailed before a password change is spent"

# ---- the relay down, then back -------------------------------------------------------
run_in 'bob password one' vc-auth user create bob --role viewer --email bob@example.test --password-stdin
smtp_stop plain
run vc-auth password-reset request bob
is "$rc:$out" "$A_RC:$A_OUT" "with the relay down, a reset request answers the same"
run vc-auth mail show -o json
is "$(jqr '.outbox.queued')" 1 "the mail waits in the outbox"
like "$(jqr '.outbox.last_error')" 'cannot connect to the relay' "with the reason"
run vc-auth audit list --action mail.deliver -o json
is "$(jqr '.[0].outcome')" failure "the failed delivery is audited"
run vc-auth mail flush -o json
is "$rc:$(jqr .sent)" "0:0" "mail flush leaves a mail that waits for its retry time"
run vc-auth mail flush --all -o json
is "$rc:$(jqr .failed):$(jqr .pending)" "69:1:1" "mail flush --all with the relay down: exit 69, still queued"
like "$err" 'cannot connect to the relay; 1 mail still queued' "and says why"
smtp_start plain --port "$PLAIN"
run vc-auth mail flush --all -o json
is "$rc:$(jqr .sent):$(jqr .pending)" "0:1:0" "relay back: mail flush --all delivers it"
BT=$(token_in "$(last_mail bob@example.test)" vcpr_)
run_in 'bob password two' vc-auth password-reset confirm "$BT" --password-stdin
is "$rc" 0 "and its token works"

# ---- a transaction that gave way is run again (PostgreSQL) ------------------------------
# mail test and mail flush open their own transactions, which the
# dispatcher does not run again: they do, never the mail.  flaky makes
# the next statements on a table fail as a serialization failure would.
if [ "$STORE_PG" = 1 ]; then
	n0=$(nmail)
	a0=$(sql "SELECT COUNT(*) FROM audit_logs WHERE action = 'auth.mail.test'")
	flaky audit_logs INSERT 2
	run vc-auth mail test flaky@example.test
	is "$rc:$out" '0:{"sent":true,"to":"flaky@example.test"}' "mail test whose record gave way twice: sent"
	ok $([ "$(flaky_hits audit_logs)" -ge 3 ]; echo $?) "... its record written again after the two failures"
	flaky_off audit_logs
	is "$(nmail):$(sql "SELECT COUNT(*) FROM audit_logs WHERE action = 'auth.mail.test'")" "$((n0 + 1)):$((a0 + 1))" \
		"... one mail received, one audit record"
	# Mails queued while the relay is down (flo's address to verify, a
	# reset); the flush's claim gives way.
	smtp_stop plain
	run_in 'bob password one' vc-auth user create flo --role viewer --email flo@example.test --password-stdin
	vc-auth password-reset request flo > /dev/null
	smtp_start plain --port "$PLAIN"
	n0=$(nmail)
	q=$(sql "SELECT COUNT(*) FROM outbox WHERE kind = 'mail' AND sent_at IS NULL")
	ok $([ "$q" -ge 1 ]; echo $?) "mails to flo queued while the relay is down"
	d0=$(sql "SELECT COUNT(*) FROM audit_logs WHERE action = 'mail.deliver' AND outcome = 'success'")
	flaky outbox UPDATE 50
	run vc-auth mail flush --all -o json
	like "$rc:$err" '^75:vc-auth: store busy, try again' "mail flush whose claim gives way more often than it is run: 75"
	ok $([ "$(flaky_hits outbox)" -ge 2 ] && [ "$(flaky_hits outbox)" -lt 50 ]; echo $?) \
		"... after a bounded number of attempts"
	is "$(nmail):$(sql "SELECT COUNT(*) FROM outbox WHERE kind = 'mail' AND sent_at IS NULL AND claimed_until = 0")" \
		"$n0:$q" "... nothing sent, the mails still queued and not claimed"
	flaky outbox UPDATE 2
	run vc-auth mail flush --all -o json
	is "$rc:$(jqr .sent):$(jqr .pending)" "0:$q:0" "mail flush whose claim gave way twice: delivered"
	ok $([ "$(flaky_hits outbox)" -ge 3 ]; echo $?) "... claimed again after the two failures"
	flaky_off outbox
	is "$(nmail):$(sql "SELECT COUNT(*) FROM audit_logs WHERE action = 'mail.deliver' AND outcome = 'success'")" \
		"$((n0 + q)):$((d0 + q))" "... each mail received once, each delivery audited once"
	is "$(grep -lx flo@example.test "$M"/*.rcpt | wc -l)" "$q" "... all to flo"
fi

# No transaction is open while the relay is talked to: with a relay that
# takes 8 s to answer, another command writes to the store at once.
smtp_start slow --delay 8
run vc-auth mail set --url "smtp://127.0.0.1:$(cat "$T/slow.port")" --from vc@example.test \
	--insecure-plaintext
vc-auth password-reset request bob > "$T/slow.out" 2>&1 &
SLOW=$!
arriving() { ls "$M" | grep -q 'tmp$'; }
await 30 arriving
ok $? "the slow relay is taking the mail"
is "$(cat "$T/slow.out")" "$A_OUT" "the request had answered before"
run vc-auth tenant update acme --registration closed
is "$rc" 0 "another command writes to the store while the mail is with the relay"
n_slow=$(ls "$M" | grep -c 'eml$')
ok $(! gone "$SLOW"; echo $?) "and the delivery was still under way then"
await 60 gone "$SLOW"
is "$(nmail)" $((n_slow + 1)) "then the slow relay took the mail"
smtp_stop slow
run vc-auth mail set --url "smtp://127.0.0.1:$PLAIN" --from vc@example.test --insecure-plaintext \
	--link-base https://vc.example.test

# ---- over HTTP, with vc-serve's delivery thread ------------------------------------------
PORT=$(free_port)
vc-serve --listen "127.0.0.1:$PORT" --workers 2 --mail-interval 1 > "$T/serve.log" 2>&1 &
echo "$!" >> "$T/pids"
await 60 grep -q 'listening on' "$T/serve.log"
U=http://127.0.0.1:$PORT
post() { curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' -d "$2" "$U$1"; }
run_in 'carol password one' vc-auth user create carol --role viewer --email carol@example.test \
	--password-stdin
n0=$(nmail)
s1=$(post /api/auth/password-reset/request '{"username":"carol"}'); b1=$(cat "$T/body")
s2=$(post /api/auth/password-reset/request '{"email":"nobody@example.test"}'); b2=$(cat "$T/body")
s3=$(post /api/auth/password-reset/request '{"email":"carol@example.test"}'); b3=$(cat "$T/body")
is "$s1 $b1" "202 $A_OUT" "HTTP: a reset request answers 202 and the same body as the CLI"
is "$s2 $b2" "$s1 $b1" "HTTP: an unknown address gets the very same answer"
is "$s3 $b3" "$s1 $b1" "HTTP: so does a known address"
await 30 at_least $((n0 + 2))
is "$(nmail)" $((n0 + 2)) "the delivery thread sent the two mails for carol, none for nobody"
f=$(last_mail carol@example.test)
grep -q 'Requested from: 127.0.0.1' "$f"
ok $? "the mail names the client's address"
CT=$(token_in "$f" vcpr_)
s=$(post /api/auth/password-reset/confirm "{\"token\":\"$CT\",\"new_password\":\"carol password two\"}")
is "$s" 200 "HTTP: confirm"
s=$(post /api/auth/password-reset/confirm "{\"token\":\"$CT\",\"new_password\":\"carol password six\"}")
is "$s" 422 "HTTP: a used token is refused"
s=$(post /api/auth/login '{"username":"carol","password":"carol password two"}')
is "$s" 200 "HTTP: login with the new password"
CV=$(token_in "$(grep -l 'confirm your email' $(grep -lx carol@example.test "$M"/*.rcpt | sed 's/rcpt$/eml/') | tail -n 1)" vcev_)
is "$(curl -s -o /dev/null -w '%{http_code}' "$U/api/auth/verify-email?token=$CV")" 200 \
	"HTTP: GET /api/auth/verify-email?token=..."
is "$(curl -s -o /dev/null -w '%{http_code}' "$U/api/auth/verify-email?token=$CV")" 422 \
	"HTTP: only once"

# The relay down: the answer is the same, the thread retries with backoff.
run_in 'dave password one' vc-auth user create dave --role viewer --password-stdin
sql "UPDATE users SET email = 'dave@example.test' WHERE username = 'dave'"
smtp_stop plain
s=$(post /api/auth/password-reset/request '{"username":"dave"}')
is "$s $(cat "$T/body")" "$s1 $b1" "HTTP: relay down, same answer"
await 30 tried dave@example.test
ok $? "the thread tried and failed"
like "$(cat "$T/serve.log")" 'mail: not delivered, 1 queued for a retry: smtp: cannot connect to the relay' \
	"vc-serve logs the failure and why"
unlike "$(cat "$T/serve.log")" 'vcpr_' "without the token"
smtp_start plain --port "$PLAIN"
await 60 has_mail dave@example.test
ok $? "relay back: the thread delivers it on a retry"

# Per address: reset requests take from the credential bucket (--auth-rate).
PORT2=$(free_port)
vc-serve --listen "127.0.0.1:$PORT2" --workers 2 --auth-rate 2 --mail-interval 0 \
	> "$T/serve2.log" 2>&1 &
echo "$!" >> "$T/pids"
await 60 grep -q 'listening on' "$T/serve2.log"
U=http://127.0.0.1:$PORT2
codes=""
for i in 1 2 3; do codes="$codes $(post /api/auth/password-reset/request '{"email":"nobody@example.test"}')"; done
is "$codes" " 202 202 429" "HTTP: a third reset request a minute from one address gets 429 (--auth-rate 2)"
done_testing
