#!/bin/sh
# SPDX-License-Identifier: MIT
# The TOTP second factor (security.md section 4): setup, the QR code
# (decoded by zbarimg), verify, login with a code computed by oathtool,
# replays, recovery codes, throttling, disable, tenants that require 2FA,
# and the same over HTTP against a vc-serve this test starts.
# Checklist rows (security.md 12): SEC-2FA-03 (replays: "the same code
# again"), SEC-2FA-04 (the URI), SEC-2FA-05 (no base32 secret in the
# dump), SEC-2FA-06 (the sixth wrong code voids the password step, and
# ends a session that keeps guessing); SEC-2FA-01, -02 and the sealed
# seed's associated data are in tests/unit/t_totp.c.
. "$(dirname "$0")/lib.sh"
command -v oathtool > /dev/null || skip_all "no oathtool (Debian package oathtool)"
command -v zbarimg > /dev/null || skip_all "no zbarimg (Debian package zbar-tools)"

init_store
PW='sturdy tuna lantern'
for u in alice bob carl; do
	printf '%s\n' "$PW" | vc-auth user create "$u" --role analyst --password-stdin > /dev/null
done
# fresh USER SECRET: a code of the first step after the one USER last used
# that is in the window now (the current step, or the next; waits for
# the clock when even the next is spent).  A code is accepted once.
fresh() {
	_last=$(sq "SELECT totp_last_step FROM users WHERE username = '$1'")
	_now=$(( $(date +%s) / 30 ))
	_s=$(( _last + 1 > _now ? _last + 1 : _now ))
	await 40 eval '[ $(( $(date +%s) / 30 + 1 )) -ge $_s ]'
	oathtool --totp -b "$2" -N "@$(( _s * 30 ))"
}
# login USER PASSWORD [CODE]: a scripted login (--totp-stdin with a code).
login() {
	if [ $# -ge 3 ]; then
		run_in "$(printf '%s\n%s' "$2" "$3")" vc-auth login "$1" --totp-stdin
	else
		run_in "$2" vc-auth login "$1" --password-stdin
	fi
}
audits() { sq "SELECT COUNT(*) FROM audit_logs WHERE action = '$1' AND outcome = '$2' AND coalesce(reason, '') LIKE '$3'"; }

# ---- setup --------------------------------------------------------------
as alice "$PW"
run vc-auth 2fa verify 123456
is "$rc:$err" "65:vc-auth: nothing to verify: run '2fa setup' first" "verify before setup: nothing to verify (65)"
run_in "$PW" vc-auth 2fa disable 123456 --password-stdin
is "$rc:$err" "65:vc-auth: two-factor authentication is not on" "disable when 2FA is off (65)"
is "$(sq "SELECT COUNT(*) FROM auth_throttle")" 0 "... neither counts as a wrong code"
run vc-auth 2fa setup --qr "$T/first.svg"
is "$rc" 0 "2fa setup: exit 0"
like "$(head -c 5 "$T/first.svg")" '^<svg ' "--qr FILE.svg writes an SVG document"
is "$(stat -c %a "$T/first.svg")" 600 "... readable by its owner only"
OLD=$(jqr .secret)
run vc-auth 2fa setup --qr "$T/qr.png"
is "$rc" 0 "setup again before verify: a new secret"
SECRET=$(jqr .secret)
URI=$(jqr .qr_code_uri)
like "$SECRET" '^[A-Z2-7]{32}$' "the secret: 32 base32 characters (160 bits)"
ok $([ "$SECRET" != "$OLD" ]; echo $?) "... not the first one"
is "$URI" "otpauth://totp/VelociCompanion:alice?secret=$SECRET&issuer=VelociCompanion&algorithm=SHA1&digits=6&period=30" \
	"the otpauth URI: issuer as label prefix, SHA1, 6 digits, 30 s"
is "$(jqr '.recovery_codes | length')" 10 "ten recovery codes"
like "$(jqr '.recovery_codes[0]')" '^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$' "each 16 base32 letters (80 bits)"
is "$(jqr '.recovery_codes | unique | length')" 10 "... all different"
REC1=$(jqr '.recovery_codes[0]')
REC2=$(jqr '.recovery_codes[1]')
REC3=$(jqr '.recovery_codes[2]')
is "$(jqr .qr_code)" null "the command line gets no PNG data URI (it has --qr)"
is "$(zbarimg -q --raw "$T/qr.png" 2>/dev/null)" "$URI" "--qr FILE.png: zbarimg decodes the PNG to the otpauth URI"
is "$(sq "SELECT CASE WHEN totp_enabled_at IS NULL THEN 1 ELSE 0 END FROM users WHERE username = 'alice'")" 1 "2FA is not on before verify"
is "$(sq "SELECT COUNT(*) FROM recovery_codes r JOIN users u ON u.id = r.user_id WHERE u.username = 'alice'")" 10 \
	"ten recovery codes stored (the first setup's are gone)"
sq_dump > "$T/dump"
like "$(grep -c 'argon2id' "$T/dump")" '^[1-9]' "the store's dump holds its rows"
unlike "$(cat "$T/dump")" "$SECRET|$OLD" "the store holds no base32 secret (sealed at rest)"
unlike "$(cat "$T/dump")" "$REC1|$(printf '%s' "$REC1" | tr -d -)" "... and no recovery code"

# ---- verify ------------------------------------------------------------
GOOD=$(fresh alice "$SECRET")
# A code of a step an hour away: wrong now.
WRONG=$(oathtool --totp -b "$SECRET" -N "@$(( $(date +%s) + 3600 ))")
run vc-auth 2fa verify "$WRONG"
is "$rc:$err" "77:vc-auth: wrong or already used code: 2FA stays off" "verify with a wrong code: refused (77)"
is "$(sq "SELECT CASE WHEN totp_enabled_at IS NULL THEN 1 ELSE 0 END FROM users WHERE username = 'alice'")" 1 "... 2FA still off"
is "$(audits auth.2fa.verify failure 'wrong 2FA code')" 1 "... audited as a failure"
run vc-auth 2fa verify "$GOOD"
is "$rc:$(jqr .totp_enabled)" "0:true" "verify with oathtool's code: 2FA on"
is "$(audits auth.2fa.verify success '%')" 1 "... audited"
run vc-auth 2fa verify "$GOOD"
is "$rc" 65 "verify again: 2FA is already on (65)"
run vc-auth 2fa setup
is "$rc" 65 "setup while 2FA is on: refused until it is disabled (65)"

# ---- login ---------------------------------------------------------------
login alice "wrong $PW"
BAD_PW="$rc:$err"
is "$BAD_PW" "77:vc-auth: invalid credentials" "wrong password: 77"
login alice "$PW"
is "$rc:$err" "$BAD_PW" "right password, no code: exactly like a wrong password"
login alice "$PW" "$WRONG"
is "$rc:$err" "$BAD_PW" "right password, wrong code: the same"
CODE=$(fresh alice "$SECRET")
login alice "wrong $PW" "$CODE"
is "$rc:$err" "$BAD_PW" "wrong password, right code: the same"
login alice "$PW" "$CODE"
is "$rc" 0 "password and code (--totp-stdin): logged in"
run vc-auth whoami
is "$(jqr .username)" alice "... as alice"
login alice "$PW" "$CODE"
is "$rc:$err" "$BAD_PW" "the same code again: a replay, refused like a wrong password"
is "$(audits auth.login failure 'missing 2FA code')" 1 "the missing code is audited"
is "$(audits auth.login failure 'wrong 2FA code')" 1 "the wrong code is audited"
is "$(audits auth.login failure 'replayed 2FA code')" 1 "the replay is audited"
login alice "$PW" "$REC1"
is "$rc" 0 "a recovery code in place of the code: logged in"
is "$(audits auth.login success '2FA by a recovery code')" 1 "... audited as such"
login alice "$PW" "$(printf '%s' "$REC1" | tr a-z A-Z | tr -d -)"
is "$rc:$err" "$BAD_PW" "the same recovery code again (any case, no dashes): refused"
is "$(sq "SELECT COUNT(*) FROM recovery_codes r JOIN users u ON u.id = r.user_id WHERE u.username = 'alice' AND r.used_at IS NULL")" 9 \
	"nine recovery codes left"

# Wrong codes count toward the login throttle (SEC-2FA-06): the sixth in a
# row locks the name, and then not even the right password and code pass.
sq "DELETE FROM auth_throttle"
for i in 1 2 3 4 5 6; do login alice "$PW" "$WRONG"; done
is "$(sq "SELECT failures FROM auth_throttle WHERE name = 'alice'")" 6 "six wrong codes: six failed logins"
sq "UPDATE auth_throttle SET locked_until = $(( $(date +%s) + 60 )) WHERE name = 'alice'"
login alice "$PW" "$REC3"
like "$rc:$err" '^75:vc-auth: too many failed logins: retry in [0-9]+ s$' \
	"after the sixth wrong code the password step is void: even password + a good code wait (75)"
sq "DELETE FROM auth_throttle"

# ---- the audit holds no secret ---------------------------------------
sq "SELECT * FROM audit_logs" > "$T/audit"
unlike "$(cat "$T/audit")" "$SECRET|$GOOD|$WRONG|$REC1|$REC2" "no secret, code or recovery code in the audit log"

# ---- disable -------------------------------------------------------------
# alice's session is the one of the recovery code.
run_in "wrong $PW" vc-auth 2fa disable "$REC3" --password-stdin
is "$rc:$err" "77:vc-auth: the current password is wrong" "disable with a wrong password and a good code: refused"
run_in "$PW" vc-auth 2fa disable "$WRONG" --password-stdin
is "$rc:$err" "77:vc-auth: wrong or already used code: 2FA stays on" "disable with a wrong code: refused"
is "$(sq "SELECT CASE WHEN totp_enabled_at IS NOT NULL THEN 1 ELSE 0 END FROM users WHERE username = 'alice'")" 1 "... 2FA still on"
run_in "$PW" vc-auth 2fa disable "$REC2" --password-stdin
is "$rc:$(jqr .totp_enabled)" "0:false" "password and a recovery code: 2FA off"
is "$(sq "SELECT CASE WHEN totp_secret IS NULL THEN '1' ELSE '0' END || CASE WHEN totp_enabled_at IS NULL THEN '1' ELSE '0' END || (SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = u.id) FROM users u WHERE username = 'alice'")" \
	"110" "... the secret and the recovery codes are gone"
is "$(audits auth.2fa.disable success '%recovery code')" 1 "... audited"
login alice "$PW"
is "$rc" 0 "login without a code again"
as carl "$PW"
run vc-auth 2fa setup
CS=$(jqr .secret)
run vc-auth 2fa verify "$(fresh carl "$CS")"
is "$rc" 0 "carl turns 2FA on"
run_in "$PW" vc-auth 2fa disable "$(fresh carl "$CS")" --password-stdin
is "$rc:$(jqr .totp_enabled)" "0:false" "password and a current code: 2FA off"

# A session that keeps guessing codes ends (the password step is void).
as bob "$PW"
run vc-auth 2fa setup
BOB=$(jqr .secret)
for i in 1 2 3 4 5; do vc-auth 2fa verify 000000 > /dev/null 2>&1; done
run vc-auth whoami
is "$rc" 0 "five wrong codes at verify: the session lives"
# On PostgreSQL the lockout's transaction gives way twice first: it is
# run again, not left undone.
[ "$STORE_PG" = 0 ] || flaky refresh_tokens UPDATE 2
vc-auth 2fa verify 000000 > /dev/null 2>&1
run vc-auth whoami
is "$rc" 77 "the sixth wrong code ends bob's sessions"
is "$(audits auth.2fa.lockout denied '%')" 1 "... audited as auth.2fa.lockout"
if [ "$STORE_PG" = 1 ]; then
	ok $([ "$(flaky_hits refresh_tokens)" -ge 3 ]; echo $?) "... after its transaction gave way twice"
	flaky_off refresh_tokens
fi
sq "DELETE FROM auth_throttle"

# ---- a transaction that gave way is run again (PostgreSQL) ---------------
# verify, disable and a login with a code open their own transactions,
# which the dispatcher does not run again: they do, each attempt spending
# the code afresh (a rolled-back attempt spent nothing).  flaky makes the
# next statements on a table fail as a serialization failure would.
if [ "$STORE_PG" = 1 ]; then
	as root "$ROOT_PW"
	printf '%s\n' "$PW" | vc-auth user create erin --role analyst --password-stdin > /dev/null
	as erin "$PW"
	run vc-auth 2fa setup
	ES=$(jqr .secret)
	ER=$(jqr '.recovery_codes[0]')
	erin_audits() { sq "SELECT COUNT(*) FROM audit_logs WHERE action = '$1' AND outcome = '$2' AND actor_name = 'erin'"; }
	EC=$(fresh erin "$ES")
	flaky users UPDATE 50
	run vc-auth 2fa verify "$EC"
	like "$rc:$err" '^75:vc-auth: store busy, try again' "verify that gives way more often than it is run: 75"
	ok $([ "$(flaky_hits users)" -ge 2 ] && [ "$(flaky_hits users)" -lt 50 ]; echo $?) \
		"... after a bounded number of attempts"
	is "$(sq "SELECT CASE WHEN totp_enabled_at IS NULL THEN 'off' ELSE 'on' END || ' ' || totp_last_step FROM users WHERE username = 'erin'"):$(erin_audits auth.2fa.verify success)" \
		"off 0:0" "... nothing half-done: 2FA off, the code unspent, no success audited"
	flaky users UPDATE 2
	run vc-auth 2fa verify "$EC"
	is "$rc:$(jqr .totp_enabled)" "0:true" "verify whose transaction gave way twice: 2FA on, with the same code"
	ok $([ "$(flaky_hits users)" -ge 3 ]; echo $?) "... run again after the two failures"
	flaky_off users
	is "$(erin_audits auth.2fa.verify success):$(erin_audits auth.2fa.verify failure)" "1:0" "... audited once"
	is "$(sq "SELECT COUNT(*) FROM auth_throttle WHERE name LIKE '2fa:%'")" 0 "... no wrong code counted"
	EC=$(fresh erin "$ES")
	n=$(sq "SELECT COUNT(*) FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE u.username = 'erin'")
	flaky users UPDATE 2
	login erin "$PW" "$EC"
	is "$rc" 0 "a login whose code's step gave way twice: logged in"
	ok $([ "$(flaky_hits users)" -ge 3 ]; echo $?) "... run again after the two failures"
	flaky_off users
	is "$(sq "SELECT COUNT(*) FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE u.username = 'erin'"):$(erin_audits auth.login success)" \
		"$((n + 1)):2" "... one session more, one audit record more"
	login erin "$PW" "$EC"
	is "$rc:$err" "$BAD_PW" "... the code was spent once: its replay is refused"
	sq "DELETE FROM auth_throttle"
	flaky recovery_codes UPDATE 2
	run_in "$PW" vc-auth 2fa disable "$ER" --password-stdin
	is "$rc:$(jqr .totp_enabled)" "0:false" "disable whose recovery code gave way twice: 2FA off"
	ok $([ "$(flaky_hits recovery_codes)" -ge 3 ]; echo $?) "... run again after the two failures"
	flaky_off recovery_codes
	is "$(erin_audits auth.2fa.disable success):$(erin_audits auth.2fa.disable failure)" "1:0" "... audited once"
fi

# ---- at a terminal ----------------------------------------------------------
# on_tty PROMPT ANSWER ... -- CMD...: run CMD on a pseudo-terminal, type
# each ANSWER once its PROMPT is shown and echo is off (earlier typing
# would be flushed); what the terminal showed goes to stdout, with CMD's
# exit status.
on_tty() {
	/usr/bin/python3 -c '
import os, pty, sys, time, termios
args = sys.argv[1:]
cut = args.index("--")
answers, argv = list(zip(args[0:cut:2], args[1:cut:2])), args[cut + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out = b""
def more():
    global out
    try:
        d = os.read(fd, 4096)
    except OSError:
        return False
    out += d
    return bool(d)
for prompt, answer in answers:
    end = time.time() + 60
    while prompt.encode() not in out and time.time() < end and more():
        pass
    while termios.tcgetattr(fd)[3] & termios.ECHO and time.time() < end:
        time.sleep(0.02)
    os.write(fd, answer.encode() + b"\n")
while more():
    pass
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
' "$@"
}
# tty_qr: the QR code drawn in $T/tty (half blocks, light modules drawn)
# as a PBM image on stdout, 4 pixels a module, with a wide light margin.
tty_qr() {
	/usr/bin/python3 -c '
import sys
rows = [l.rstrip("\r\n") for l in open(sys.argv[1], encoding="utf-8")]
art = [l for l in rows if len(l) > 20 and set(l) <= set(" \u2580\u2584\u2588")]
px = []
for l in art:
    top = [c in "\u2580\u2588" for c in l]
    bot = [c in "\u2584\u2588" for c in l]
    px += [top, bot]
w = max(len(r) for r in px)
S, M = 4, 16
W = w * S + 2 * M
print("P1\n%d %d" % (W, len(px) * S + 2 * M))
blank = " ".join("0" * W)
for _ in range(M): print(blank)
for r in px:
    line = " ".join(["0"] * M + ["0" if (x < len(r) and r[x]) else "1" for x in range(w) for _ in range(S)] + ["0"] * M)
    for _ in range(S): print(line)
for _ in range(M): print(blank)
' "$T/tty"
}
as root "$ROOT_PW"
printf '%s\n' "$PW" | vc-auth user create dan --role viewer --password-stdin > /dev/null
as dan "$PW"
on_tty -- vc-auth 2fa setup > "$T/tty"
is "$?" 0 "2fa setup at a terminal"
DS=$(sed -n 's/^secret  *\([A-Z2-7]*\).*/\1/p' "$T/tty")
like "$DS" '^[A-Z2-7]{32}$' "... shows the secret"
tty_qr > "$T/tty.pbm"
is "$(zbarimg -q --raw "$T/tty.pbm" 2>/dev/null)" \
	"otpauth://totp/VelociCompanion:dan?secret=$DS&issuer=VelociCompanion&algorithm=SHA1&digits=6&period=30" \
	"... and draws the QR code in half blocks, which zbarimg decodes to the URI"
vc-auth 2fa verify "$(fresh dan "$DS")" > /dev/null
DC=$(fresh dan "$DS")
on_tty "Password: " "$PW" "2FA code (or a recovery code): " "$DC" -- vc-auth login dan > "$T/tty"
is "$?" 0 "login at a terminal asks for the password, then the code"
like "$(cat "$T/tty")" 'username +dan' "... and logs dan in"
on_tty "Password: " "$PW" "2FA code (or a recovery code): " "$DC" -- vc-auth login dan > "$T/tty"
is "$?" 77 "... the same code at the terminal again: refused"

# Lost phone and recovery codes: an admin resets the user's 2FA.
DAN=$(jq -r '.[].access_token' "$XDG_CONFIG_HOME/velocicompanion/credentials")
as root "$ROOT_PW"
run vc-auth user update root --reset-2fa
like "$rc:$err" '^77:vc-auth: turn your own 2FA off with 2fa disable' "nobody resets their own 2FA (it takes a code)"
ROOT_API=$(vc-auth token create resetter --role admin | jq -r .token)
with "$ROOT_API" vc-auth user update dan --reset-2fa
like "$rc:$err" '^77:vc-auth: an API token cannot reset two-factor' "an API token cannot reset 2FA"
run vc-auth user update dan --reset-2fa
is "$rc:$(jqr .totp_enabled)" "0:false" "an admin resets dan's 2FA"
is "$(sq "SELECT CASE WHEN totp_secret IS NULL THEN '1' ELSE '0' END || (SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = u.id) FROM users u WHERE username = 'dan'")" \
	"10" "... the secret and the recovery codes are gone"
with "$DAN" vc-auth whoami
is "$rc" 77 "... and dan's sessions have ended"
is "$(audits auth.users.update success '%')" 1 "... audited"
login dan "$PW"
is "$rc" 0 "dan logs in with the password alone again"

# ---- a tenant that requires 2FA ------------------------------------------
as root "$ROOT_PW"
vc-auth tenant create globex > /dev/null
printf '%s\n' "$PW" | vc-auth user create gina --role admin --tenant globex --password-stdin > /dev/null
printf '%s\n' "$PW" | vc-auth user create hank --role analyst --tenant globex --password-stdin > /dev/null
printf '%s\n' "$PW" | vc-auth user create ivy --role viewer --tenant globex --password-stdin > /dev/null
HANK=$(login_as hank "$PW")
HANK_API=$(env VC_TOKEN="$HANK" vc-auth token create cron --role viewer | jq -r .token)
as gina "$PW"
run vc-auth tenant update acme --require-2fa
is "$rc:$err" "66:vc-auth: no such tenant: acme" "a tenant admin cannot require 2FA of another tenant"
run vc-auth tenant update globex --registration open
is "$rc" 77 "... nor open registration in their own"
run vc-auth tenant update globex --require-2fa
is "$rc:$(jqr .require_2fa)" "0:true" "a tenant admin requires 2FA of their own tenant"
is "$(audits auth.tenants.update success '%')" 1 "... audited"
with "$HANK" vc-auth whoami
is "$rc" 77 "hank's session (no 2FA) is restricted at once"
like "$err" 'requires two-factor authentication: set it up first' "... with a message that says what to do"
login hank "$PW"
is "$rc" 0 "hank, without 2FA, still logs in"
like "$(jqr .note)" 'may only set it up' "... and is told the session is for 2FA setup only"
run vc-hosts list
is "$rc" 77 "anything else is refused (77)"
with "$HANK_API" vc-auth whoami
is "$rc:$(jqr .auth)" "0:api_token" "hank's API token is not affected"
run vc-auth 2fa setup
is "$rc" 0 "2fa setup is allowed"
HS=$(jqr .secret)
HR=$(jqr '.recovery_codes[0]')
run vc-auth 2fa verify "$(fresh hank "$HS")"
is "$rc" 0 "... and 2fa verify"
run vc-auth whoami
is "$rc:$(jqr .username)" "0:hank" "with 2FA on, the same session does everything again"
run_in "$PW" vc-auth 2fa disable "$(fresh hank "$HS")" --password-stdin
like "$rc:$err" '^77:vc-auth: your tenant requires two-factor' "2FA cannot be turned off while the tenant requires it"

# ---- the key's life: the sealed seeds are in the rekey registry ---------
kid_of() { printf '%s' "$1" | base64 -d 2>/dev/null | od -An -tu1 -j1 -N4 | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }
as root "$ROOT_PW"
vc-auth key rotate > /dev/null
run vc-auth key rekey
n=$(sq "SELECT COUNT(*) FROM users WHERE totp_secret IS NOT NULL")
is "$rc:$(jqr 'select(.table == "users") | [.column, .secrets, .resealed] | join(" ")')" "0:totp_secret $n $n" \
	"key rekey seals every TOTP secret again ($n) under the new key"
is "$(sq "SELECT totp_secret FROM users WHERE totp_secret IS NOT NULL" | while read -r b; do kid_of "$b"; done | sort -u)" 2 \
	"... none is left on key 1 (hank's login below opens his)"

# ---- HTTP ---------------------------------------------------------------
PORT=$(free_port)
B=http://127.0.0.1:$PORT
vc-serve --listen "127.0.0.1:$PORT" --workers 2 2> "$T/log" &
echo $! >> "$T/pids"
await 60 grep -q 'listening on' "$T/log"
req() {
	code=$(curl -s --max-time 20 -o "$T/b" -w '%{http_code}' "$@")
	body=$(cat "$T/b")
}
json() { printf '%s\n' "$body" | jq -r "$1" 2>/dev/null; }
post() { _u=$1; shift; req -X POST -H 'Content-Type: application/json' "$@" "$B$_u"; }

sq "DELETE FROM auth_throttle"
post /api/auth/login -d "{\"username\":\"bob\",\"password\":\"$PW\"}"
is "$code" 200 "HTTP: bob logs in (no 2FA yet)"
BT=$(json .access_token)
post /api/auth/2fa/setup -H "Authorization: Bearer $BT"
is "$code" 200 "POST /api/auth/2fa/setup: 200"
BS=$(json .secret)
like "$(json .qr_code_uri)" "^otpauth://totp/VelociCompanion:bob\\?secret=$BS&" "... secret and qr_code_uri"
like "$(json .qr_code)" '^data:image/png;base64,' "... qr_code: a PNG data URI"
json .qr_code | sed 's/^data:image\/png;base64,//' | base64 -d > "$T/http.png"
is "$(zbarimg -q --raw "$T/http.png" 2>/dev/null)" "$(json .qr_code_uri)" "... that decodes to the URI"
BR1=$(json '.recovery_codes[0]')
BR2=$(json '.recovery_codes[1]')
post /api/auth/2fa/verify -H "Authorization: Bearer $BT" -d '{"code":"000000"}'
is "$code" 401 "verify with a wrong code: 401"
post /api/auth/2fa/verify -H "Authorization: Bearer $BT" -d "{\"code\":\"$(fresh bob "$BS")\"}"
is "$code:$(json .totp_enabled)" "200:true" "verify with the right code: 2FA on"

post /api/auth/login -d "{\"username\":\"bob\",\"password\":\"wrong $PW\"}"
is "$code" 401 "HTTP: wrong password: 401"
BAD=$body
post /api/auth/login -d "{\"username\":\"bob\",\"password\":\"$PW\"}"
is "$code:$body" "401:$BAD" "no totp_code: the same status and bytes as a wrong password"
post /api/auth/login -d "{\"username\":\"bob\",\"password\":\"$PW\",\"totp_code\":\"000000\"}"
is "$code:$body" "401:$BAD" "a wrong totp_code: the same"
C=$(fresh bob "$BS")
post /api/auth/login -d "{\"username\":\"bob\",\"password\":\"$PW\",\"totp_code\":\"$C\"}"
is "$code" 200 "password and totp_code: 200"
BT=$(json .access_token)
post /api/auth/login -d "{\"username\":\"bob\",\"password\":\"$PW\",\"totp_code\":\"$C\"}"
is "$code:$body" "401:$BAD" "the same code again: refused like a wrong password"
post /api/auth/login -d "{\"username\":\"bob\",\"password\":\"$PW\",\"totp_code\":\"$BR1\"}"
is "$code" 200 "a recovery code as totp_code: 200"
post /api/auth/login -d "{\"username\":\"bob\",\"password\":\"$PW\",\"totp_code\":\"$BR1\"}"
is "$code:$body" "401:$BAD" "... once"
req -X POST --data-urlencode username=hank --data-urlencode "password=$PW" \
    --data-urlencode "scope=$(fresh hank "$HS")" "$B/api/auth/login"
is "$code" 200 "the form login takes the code from scope"
req -X POST --data-urlencode username=bob --data-urlencode "password=$PW" "$B/api/auth/login"
is "$code:$body" "401:$BAD" "a form login without scope: the same 401"
post "/api/auth/login?totp_code=123456" -d "{\"username\":\"bob\",\"password\":\"$PW\"}"
is "$code" 400 "a code in the URL is refused"
post /api/auth/2fa/disable -H "Authorization: Bearer $BT" \
    -d "{\"code\":\"000000\",\"current_password\":\"$PW\"}"
is "$code" 401 "disable with a wrong code: 401"
post /api/auth/2fa/disable -H "Authorization: Bearer $BT" \
    -d "{\"code\":\"$BR2\",\"current_password\":\"$PW\"}"
is "$code:$(json .totp_enabled)" "200:false" "disable with password and a recovery code: 2FA off"
post /api/auth/login -d "{\"username\":\"ivy\",\"password\":\"$PW\"}"
is "$code" 200 "ivy of globex, without 2FA, logs in over HTTP"
HT=$(json .access_token)
req -H "Authorization: Bearer $HT" "$B/api/auth/me"
is "$code" 403 "an enrolment session over HTTP: 403"
like "$(json .message)" 'requires two-factor authentication' "... saying why"
post /api/auth/2fa/setup -H "Authorization: Bearer $HT"
is "$code" 200 "... but 2fa setup: 200"
req -H "Authorization: Bearer $HANK_API" "$B/api/auth/me"
is "$code" 200 "an API token over HTTP: not restricted"

# A tenant that requires verified email refuses hank (none) after the
# right password, but only once the second factor passed too: a wrong
# code still answers like a wrong password.
run vc-auth tenant update globex --require-verified-email yes
is "$rc" 0 "globex requires verified email"
login hank "$PW" "$WRONG"
is "$rc:$err" "$BAD_PW" "right password, wrong code: no word about the email"
login hank "$PW" "$HR"
like "$rc:$err" '^77:vc-auth: email not verified' "password and a good code: then the email is refused"
is "$(sq "SELECT COUNT(*) FROM recovery_codes r JOIN users u ON u.id = r.user_id WHERE u.username = 'hank' AND r.used_at IS NOT NULL")" 0 \
	"... and the recovery code is not spent"

done_testing
