#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-auth: init, login, whoami, refresh, logout, passwd, register.
. "$(dirname "$0")/lib.sh"

# As lib.sh's run and run_in, but every stderr is also kept, to grep it
# for secrets at the end (SEC-AUD-03).
run() {
	"$@" > "$T/out" 2> "$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
	cat "$T/err" >> "$T/all-stderr"
}
run_in() {
	_in=$1; shift
	printf '%s\n' "$_in" | "$@" > "$T/out" 2> "$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
	cat "$T/err" >> "$T/all-stderr"
}
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
mode() { stat -c %a "$1"; }
CREDS=$XDG_CONFIG_HOME/velocicompanion/credentials
# cred FIELD: the saved access_token or refresh_token for this store.
cred() { jq -r ".[\"$VC_DB\"].$1 // empty" "$CREDS" 2>/dev/null; }
counts() { sq "SELECT (SELECT COUNT(*) FROM tenants)||' '||(SELECT COUNT(*) FROM users)||' '||(SELECT COUNT(*) FROM audit_logs)"; }
PW='sturdy tuna lantern'
NEWPW='quiet violet harbour'

# The store lives in directories that do not exist yet.  A PostgreSQL
# store's key file is where the default SQLite store's would be, in
# $XDG_DATA_HOME, which does not exist yet either.
if [ "$STORE_PG" = 1 ]; then
	KEY=$XDG_DATA_HOME/velocicompanion/vc.key
else
	export VC_DB=$T/data/deep/vc.db
	KEY=$T/data/deep/vc.key
fi

# ---- init -------------------------------------------------------------
# Without a terminal and without --password-stdin nobody can be asked.
run setsid -w vc-auth init --tenant acme --admin root < /dev/null
is "$rc" 64 "init without a tty or --password-stdin: usage error"
like "$err" '^vc-auth: .*--password-stdin' "the message names --password-stdin"

run_in 'short pw 11' vc-auth init --tenant acme --admin root --password-stdin
is "$rc" 65 "init with an 11-character password: exit 65"
is "$err" "vc-auth: password must have at least 12 characters" "clear message for a short password"
is "$(sq 'SELECT COUNT(*) FROM tenants')" 0 "a refused init leaves no tenant"

run_in "$ROOT_PW" vc-auth init --tenant acme --password-stdin
is "$rc" 64 "init without --admin: usage error"

run_in "$ROOT_PW" vc-auth init --tenant acme --admin root --password-stdin
is "$rc" 0 "init succeeds"
is "$(jqr .tenant) $(jqr .superadmin)" "acme root" "init reports tenant and superadmin"
if [ "$STORE_PG" = 1 ]; then
	echo "# no store file on PostgreSQL: its mode is not checked"
	is "$(mode "$KEY")" 600 "key file mode 0600"
	is "$(mode "$(dirname "$KEY")") $(mode "$T/data")" "700 700" "created directories mode 0700"
else
	is "$(mode "$VC_DB")" 600 "store file mode 0600"
	is "$(mode "$KEY")" 600 "key file mode 0600"
	is "$(mode "$T/data/deep") $(mode "$T/data")" "700 700" "created directories mode 0700"
fi
is "$(sq "SELECT role FROM users WHERE username='root'")" superadmin "root is a superadmin"
like "$(sq "SELECT password_hash FROM users WHERE username='root'")" '^\$argon2id\$v=19\$' "password stored as argon2id"
before=$(counts)
keysum=$(sha256sum < "$KEY")
run_in "$ROOT_PW" vc-auth init --tenant other --admin root2 --password-stdin
is "$rc" 65 "second init: exit 65"
like "$err" '^vc-auth: store .* is already initialised' "second init: already initialised"
is "$(counts)" "$before" "second init changes no row (tenants users audit)"
is "$(sha256sum < "$KEY")" "$keysum" "second init leaves the key alone"

# ---- login ------------------------------------------------------------
run_in "$ROOT_PW" vc-auth login root --password-stdin
is "$rc" 0 "login succeeds"
is "$(jqr '.username + " " + .role')" "root superadmin" "login says who"
unlike "$out" 'access_token|refresh_token|vcr_|eyJ' "login stdout carries no token"
is "$(mode "$CREDS")" 600 "credentials file mode 0600"
is "$(mode "$(dirname "$CREDS")")" 700 "credentials directory mode 0700"
like "$(cred refresh_token)" '^vcr_' "refresh token saved"
like "$(cred access_token)" '^eyJ' "access token saved"
is "$(sq "SELECT token_hash FROM refresh_tokens WHERE token_hash = '$(sha "$(cred refresh_token)")'" | wc -l)" 1 \
	"only the SHA-256 of the refresh token is stored"

run vc-auth whoami
is "$rc" 0 "whoami with saved credentials"
is "$(jqr '.username + " " + .role + " " + .tenant + " " + .auth')" "root superadmin acme session" "whoami says who"

run_in "$PW" vc-auth user create alice --role analyst --password-stdin
is "$rc" 0 "create alice"
run_in "$PW" vc-auth user create dora --role viewer --password-stdin
run vc-auth user disable dora
is "$rc" 0 "disable dora"

n0=$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='auth.login' AND outcome='failure'")
run_in 'not the password at all' vc-auth login alice --password-stdin
rc1=$rc err1=$err
run_in "$PW" vc-auth login nosuchuser --password-stdin
rc2=$rc err2=$err
run_in "$PW" vc-auth login dora --password-stdin
rc3=$rc err3=$err
is "$rc1 $rc2 $rc3" "77 77 77" "wrong password, unknown user, disabled user: exit 77"
is "$err1" "vc-auth: invalid credentials" "generic login error"
ok "$([ "$err1" = "$err2" ] && [ "$err2" = "$err3" ]; echo $?)" "the three login failures are byte-identical"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='auth.login' AND outcome='failure'")" $((n0 + 3)) \
	"each failed login is audited"
is "$(sq "SELECT reason FROM audit_logs WHERE action='auth.login' AND outcome='failure' ORDER BY id" | paste -sd, -)" \
	"wrong password,unknown user,user disabled" "the audit log (only) tells the causes apart"
is "$(vc-auth whoami | jq -r .username)" root "a failed login keeps the saved session"

run vc-auth login alice < /dev/null
is "$rc" 64 "login without --password-stdin and no tty: usage error"
run sh -c 'vc-auth login alice --password-stdin < /dev/null'
is "$rc" 64 "--password-stdin with empty stdin: usage error"
like "$err" 'stdin: expected a line with the password' "says a password line is missing"

# ---- VC_TOKEN ---------------------------------------------------------
ATOK=$(login_as alice "$PW")
like "$ATOK" '^eyJ' "alice logs in (own config dir)"
run env VC_TOKEN="$ATOK" vc-auth whoami
is "$(jqr .username)" alice "VC_TOKEN overrides the saved credentials"
run env VC_TOKEN="${ATOK}x" vc-auth whoami
is "$rc" 77 "a bad VC_TOKEN fails even with a good saved session"
like "$err" '^vc-auth: VC_TOKEN is not valid' "and says VC_TOKEN is the problem"
run env VC_TOKEN= vc-auth whoami
is "$(jqr .username)" root "an empty VC_TOKEN is ignored"

# ---- refresh: rotation and reuse -------------------------------------
cp "$CREDS" "$T/creds.0"
RT0=$(cred refresh_token)
run vc-auth refresh
is "$rc" 0 "refresh succeeds"
unlike "$out" 'access_token|refresh_token|vcr_|eyJ' "refresh stdout carries no token"
RT1=$(cred refresh_token)
like "$RT1" '^vcr_' "a new refresh token is saved"
ok "$([ "$RT1" != "$RT0" ]; echo $?)" "the refresh token rotated"
like "$(sq "SELECT used_at FROM refresh_tokens WHERE token_hash='$(sha "$RT0")'")" '^[0-9]+$' "old refresh token row has used_at"
is "$(sq "SELECT COUNT(*) FROM refresh_tokens a JOIN refresh_tokens b ON b.family_id = a.family_id WHERE a.token_hash='$(sha "$RT0")' AND b.token_hash='$(sha "$RT1")'")" 1 \
	"the new token is of the same family"
cp "$CREDS" "$T/creds.1"

cp "$T/creds.0" "$CREDS"
run vc-auth refresh
is "$rc" 77 "presenting the used refresh token again: exit 77"
is "$err" "vc-auth: invalid or expired credentials" "generic refresh error"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='auth.refresh.reuse' AND outcome='denied' AND actor_name='root'")" 1 \
	"reuse audited as auth.refresh.reuse"
is "$(sq "SELECT COUNT(*) FROM refresh_tokens WHERE family_id=(SELECT family_id FROM refresh_tokens WHERE token_hash='$(sha "$RT0")') AND revoked_at IS NULL")" 0 \
	"the whole family is revoked"
cp "$T/creds.1" "$CREDS"
run vc-auth refresh
is "$rc" 77 "the newer token of the family fails too"

# Idle expiry (7 days) and the absolute family lifetime (30 days).
as root "$ROOT_PW"
sq "UPDATE refresh_tokens SET expires_at = $SQ_NOW - 1 WHERE token_hash='$(sha "$(cred refresh_token)")'"
n=$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='auth.refresh.reuse'")
run vc-auth refresh
is "$rc" 77 "an expired refresh token fails"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='auth.refresh.reuse'")" "$n" "expiry is no reuse"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='auth.refresh' AND outcome='failure' AND reason='refresh token expired'")" 1 \
	"the failed refresh is audited"
as root "$ROOT_PW"
run vc-auth refresh
sq "UPDATE refresh_tokens SET family_expires_at = $SQ_NOW - 1 WHERE token_hash='$(sha "$(cred refresh_token)")'"
run vc-auth refresh
is "$rc" 77 "past the family's absolute lifetime refresh fails, however fresh the token"

# ---- auto-refresh of a bad or expired access token -------------------
as root "$ROOT_PW"
RT=$(cred refresh_token)
AT=$(cred access_token)
jq --arg k "$VC_DB" '.[$k].access_token = "eyJhbGciOiJIUzI1NiJ9.e30.AAAA"' "$CREDS" > "$T/c" && cat "$T/c" > "$CREDS"
run vc-auth whoami
is "$rc" 0 "whoami with a broken access token refreshes"
is "$(jqr .username)" root "and acts as the right user"
ok "$([ "$(cred refresh_token)" != "$RT" ] && [ "$(cred access_token)" != "$AT" ] &&
	[ "$(cred access_token)" != "eyJhbGciOiJIUzI1NiJ9.e30.AAAA" ]; echo $?)" "the credentials file was rewritten"
is "$(mode "$CREDS")" 600 "still mode 0600 after the rewrite"
jq --arg k "$VC_DB" '.[$k].access_token = "garbage" | .[$k].refresh_token = "vcr_garbage"' "$CREDS" > "$T/c" && cat "$T/c" > "$CREDS"
run vc-auth whoami
is "$rc" 77 "broken access and refresh tokens: exit 77"
like "$err" "run 'vc-auth login USER'" "and says to log in"

# ---- logout -----------------------------------------------------------
as root "$ROOT_PW"
cp "$CREDS" "$T/creds.2"
run vc-auth logout
is "$rc" 0 "logout succeeds"
is "$(jqr .revoked)" 1 "logout revokes the family"
is "$(cred refresh_token)" "" "logout forgets the saved session"
run vc-auth whoami
is "$rc" 77 "whoami after logout: exit 77"
cp "$T/creds.2" "$CREDS"
run vc-auth refresh
is "$rc" 77 "the refresh token fails after logout"
n=$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='auth.logout' AND outcome='success'")
is "$n" 1 "logout is audited"

# ---- passwd -----------------------------------------------------------
BTOK=$(login_as alice "$PW")
BRT=$(jq -r '.[].refresh_token' "$T/cfg-alice/velocicompanion/credentials")
cp "$T/cfg-alice/velocicompanion/credentials" "$T/alice.creds"
run_in "wrong current pw
$NEWPW" env XDG_CONFIG_HOME="$T/cfg-alice" vc-auth passwd --password-stdin
is "$rc" 77 "passwd with a wrong current password: exit 77"
is "$err" "vc-auth: the current password is wrong" "passwd says the current password is wrong"
run_in "$PW
too short 1" env XDG_CONFIG_HOME="$T/cfg-alice" vc-auth passwd --password-stdin
is "$rc" 65 "passwd to an 11-character password: exit 65"
run_in "$PW" env XDG_CONFIG_HOME="$T/cfg-alice" vc-auth passwd --password-stdin
is "$rc" 64 "passwd with one line on stdin: usage error"
like "$err" 'new password' "names the missing new password"
run_in "$PW
$NEWPW" env XDG_CONFIG_HOME="$T/cfg-alice" vc-auth passwd --password-stdin
is "$rc" 0 "passwd reads current and new password as two lines"
is "$(jqr .password_changed)" true "passwd reports the change"
run env VC_TOKEN="$BTOK" vc-auth whoami
is "$rc" 77 "the old access token fails after passwd (token_version)"
cp "$T/alice.creds" "$T/cfg-alice/velocicompanion/credentials"
run env XDG_CONFIG_HOME="$T/cfg-alice" vc-auth refresh
is "$rc" 77 "the old refresh token fails after passwd"
is "$(sq "SELECT COUNT(*) FROM refresh_tokens r JOIN users u ON u.id=r.user_id WHERE u.username='alice' AND r.revoked_at IS NULL")" 0 \
	"all of alice's refresh tokens are revoked"
run_in "$PW" vc-auth login alice --password-stdin
is "$rc" 77 "the old password no longer logs in"
ATOK=$(login_as alice "$NEWPW")
like "$ATOK" '^eyJ' "the new password logs in"

# ---- disable ends sessions --------------------------------------------
cp "$T/cfg-alice/velocicompanion/credentials" "$T/alice.creds"
as root "$ROOT_PW"
run vc-auth user disable alice
is "$rc" 0 "root disables alice"
run env VC_TOKEN="$ATOK" vc-auth whoami
is "$rc" 77 "a disabled user's access token fails"
run env XDG_CONFIG_HOME="$T/cfg-alice" vc-auth refresh
is "$rc" 77 "a disabled user's refresh token fails"
run vc-auth user enable alice
ATOK=$(login_as alice "$NEWPW")
like "$ATOK" '^eyJ' "enabled again, alice logs in"

# Passwords are NFC-normalised before hashing (SEC-PW-04).
as root "$ROOT_PW"
NFD=$(printf 'cafe\314\201 au lait noir')
NFC=$(printf 'caf\303\251 au lait noir')
run_in "$NFD" vc-auth user create nfc --role viewer --password-stdin
is "$rc" 0 "a password typed in NFD"
like "$(login_as nfc "$NFC")" '^eyJ' "logs in when typed in NFC"

# ---- register ---------------------------------------------------------
run_in "$PW" vc-auth register bob --tenant acme --password-stdin
is "$rc" 77 "register refused while the tenant does not allow it"
like "$err" '^vc-auth: tenant acme does not allow self-registration' "says registration is closed"
err_closed=$(printf '%s\n' "$err" | sed 's/acme/TENANT/')
run_in "$PW" vc-auth register bob --tenant nosuchtenant --password-stdin
is "$rc" 77 "register into an unknown tenant: the same exit status"
is "$(printf '%s\n' "$err" | sed 's/nosuchtenant/TENANT/')" "$err_closed" "and the same message (no tenant enumeration)"
is "$(sq "SELECT COUNT(*) FROM users WHERE username='bob'")" 0 "no user made"
run vc-auth tenant update acme --registration open
is "$rc" 0 "superadmin opens registration"
is "$(jqr .allow_registration)" true "tenant shows registration open"
run_in 'short pw 11' vc-auth register bob --tenant acme --password-stdin
is "$rc" 65 "register with a short password: exit 65"
run_in "$PW" vc-auth register bob --tenant acme --password-stdin
is "$rc" 0 "register succeeds once open"
is "$(jqr '.role + " " + .tenant')" "viewer acme" "a registered user is a viewer"
run_in "$PW" vc-auth register bob --tenant acme --password-stdin
is "$rc" 65 "registering a taken name: exit 65"
like "$(login_as bob "$PW")" '^eyJ' "the registered user logs in"
run env XDG_CONFIG_HOME="$T/cfg-bob" vc-auth whoami
is "$(jqr .role)" viewer "whoami: viewer"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='auth.register' AND outcome='success'")" 1 "registration audited"
run vc-auth tenant update acme --registration closed
run_in "$PW" vc-auth register carol --tenant acme --password-stdin
is "$rc" 77 "closed again: register refused"

# ---- a transaction that gave way is run again (PostgreSQL) --------------
# login and refresh open their own transactions, which the dispatcher
# does not run again: they do.  flaky makes the next statements on the
# table a transaction writes fail as a serialization failure would.
if [ "$STORE_PG" = 1 ]; then
	as root "$ROOT_PW"
	run_in "$PW" vc-auth user create flo --role viewer --password-stdin
	F="env XDG_CONFIG_HOME=$T/cfg-flo"
	flo_rts() { sq "SELECT COUNT(*) FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE u.username = 'flo'"; }
	flo_audits() { sq "SELECT COUNT(*) FROM audit_logs WHERE action = '$1' AND actor_name = 'flo'"; }
	flaky refresh_tokens INSERT 50
	run_in "$PW" $F vc-auth login flo --password-stdin
	like "$rc:$err" '^75:vc-auth: store busy, try again' "a login that gives way more often than it is run: 75"
	ok $([ "$(flaky_hits refresh_tokens)" -ge 2 ] && [ "$(flaky_hits refresh_tokens)" -lt 50 ]; echo $?) \
		"... after a bounded number of attempts"
	is "$(flo_rts):$(flo_audits auth.login):$(sq "SELECT COUNT(*) FROM users WHERE username = 'flo' AND last_login_at IS NOT NULL")" \
		"0:0:0" "... nothing half-done: no token, no audit record, no last login"
	flaky refresh_tokens INSERT 2
	run_in "$PW" $F vc-auth login flo --password-stdin
	is "$rc:$(jqr .username)" "0:flo" "a login whose transaction gave way twice: logged in"
	ok $([ "$(flaky_hits refresh_tokens)" -ge 3 ]; echo $?) "... run again after the two failures"
	flaky_off refresh_tokens
	is "$(flo_rts):$(flo_audits auth.login)" "1:1" "... one refresh token issued, one audit record"
	is "$(sq "SELECT COUNT(*) FROM auth_throttle WHERE name = 'flo'")" 0 "... the attempts it reserved forgotten"
	flaky refresh_tokens "INSERT OR UPDATE" 2
	run $F vc-auth refresh
	is "$rc" 0 "a refresh whose transaction gave way twice"
	ok $([ "$(flaky_hits refresh_tokens)" -ge 3 ]; echo $?) "... run again after the two failures"
	flaky_off refresh_tokens
	is "$(flo_rts):$(sq "SELECT COUNT(*) FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE u.username = 'flo' AND r.used_at IS NULL")" \
		"2:1" "... the token rotated once"
	is "$(flo_audits auth.refresh):$(flo_audits auth.refresh.reuse)" "1:0" "... one audit record, no reuse"
	run $F vc-auth whoami
	is "$(jqr .username)" flo "... and the new session works"
	# A wrong password: the burst's count and the throttle's lock are
	# written in one transaction, run again when it gave way.
	flaky auth_fail_bursts INSERT 2
	run_in "wrong $PW" $F vc-auth login flo --password-stdin
	is "$rc:$err" "77:vc-auth: invalid credentials" "a refused login whose record gave way twice: refused as always"
	ok $([ "$(flaky_hits auth_fail_bursts)" -ge 3 ]; echo $?) "... run again after the two failures"
	flaky_off auth_fail_bursts
	is "$(sq "SELECT failures FROM auth_fail_bursts WHERE scope = 'user' AND subject = (SELECT id FROM users WHERE username = 'flo')"):$(sq "SELECT failures FROM auth_throttle WHERE name = 'flo'")" \
		"1:1" "... the failure counted once, in its burst and by the throttle"
	is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'auth.login' AND outcome = 'failure' AND target_id = (SELECT id FROM users WHERE username = 'flo')")" \
		1 "... audited once"
	sq "DELETE FROM auth_throttle WHERE name = 'flo'"
fi

# ---- no secrets anywhere (SEC-RT-01, SEC-AUD-03) ----------------------
as root "$ROOT_PW"
run vc-auth token create ci --role viewer
STOK=$(jqr .token)
like "$STOK" '^vcs_' "an API token for the dump check"
sq_dump > "$T/dump"
like "$(grep -c 'argon2id' "$T/dump")" '^[1-9]' "the dump holds the rows (the users' password hashes)"
sq "SELECT * FROM audit_logs" > "$T/audit"
vc-auth audit list --limit 1000 -o json > "$T/audit.json" 2>>"$T/all-stderr"
leak=0
for secret in "$ROOT_PW" "$PW" "$NEWPW" "$STOK" "$RT0" "$RT1" "$RT" "$BRT" "$ATOK" "$BTOK"; do
	for f in "$T/dump" "$T/audit" "$T/audit.json" "$T/all-stderr"; do
		if grep -qF -- "$secret" "$f"; then
			leak=1
			echo "# secret found in $f"
		fi
	done
done
is "$leak" 0 "no password or token in the DB dump, the audit log or stderr"
unlike "$(cat "$T/dump")" 'vc[rs]_[A-Za-z0-9_-]{20,}' "the dump holds no raw vcr_ or vcs_ token"
is "$(sq "SELECT COUNT(*) FROM users WHERE password_hash NOT LIKE '\$argon2id\$%'")" 0 "every password is an argon2id hash"

done_testing
