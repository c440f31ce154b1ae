#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-auth user create/list/show/update/disable/enable and the role rules.
. "$(dirname "$0")/lib.sh"

PW='sturdy tuna lantern'
audits() { sq "SELECT COUNT(*) FROM audit_logs WHERE $1"; }

init_store
ok $? "store with tenant acme and superadmin root"

# ---- create -----------------------------------------------------------
run_in "$PW" vc-auth user create ada --role admin --email ada@acme.test --password-stdin
is "$rc" 0 "root creates admin ada"
is "$(jqr '.username + " " + .role + " " + .tenant + " " + .email')" "ada admin acme ada@acme.test" "user create prints the user"
is "$(jqr 'has("password_hash") or has("password")')" false "no password in the output"
like "$(jqr .id)" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "public id is a random UUID"
ADA_ID=$(jqr .id)
is "$(audits "action='auth.users.create' AND outcome='success' AND target_id='$ADA_ID' AND details LIKE '%\"role\":\"admin\"%'")" 1 \
	"user create audited with target and role"
run_in "$PW" vc-auth user create ann --role analyst --password-stdin
ANN_ID=$(jqr .id)
run_in "$PW" vc-auth user create vic --role viewer --password-stdin
is "$rc" 0 "root creates analyst ann and viewer vic"

run_in "$PW" vc-auth user create ada --role viewer --password-stdin
is "$rc" 65 "a taken username: exit 65"
is "$err" "vc-auth: username ada is taken" "says the name is taken"
is "$(audits "action='auth.users.create' AND outcome='failure'")" 1 "the failed create is audited"
run_in "$PW" vc-auth user create 'bad name' --role viewer --password-stdin
is "$rc" 65 "a username with a space: exit 65"
run_in "$PW" vc-auth user create 0b0e5a5e-0000-4000-8000-000000000000 --role viewer --password-stdin
is "$rc" 65 "a username that looks like an id: exit 65"
run_in "$PW" vc-auth user create eve --role viewer --email not-an-email --password-stdin
is "$rc" 65 "a bad email: exit 65"
run_in 'eleven char' vc-auth user create eve --role viewer --password-stdin
is "$rc" 65 "an 11-character password: exit 65"
is "$err" "vc-auth: password must have at least 12 characters" "says how long a password must be"
run_in 'Password1234' vc-auth user create eve --role viewer --password-stdin
is "$rc" 65 "a common password: exit 65"
run_in 'twelve chars' vc-auth user create eve --role viewer --password-stdin
is "$rc" 0 "a 12-character password is accepted"
# 128 characters (multibyte ones) are fine, 129 are not, and the 128th
# counts: no silent truncation (SEC-PW-03).
P127=$(printf '%0127d' 0 | tr 0 'é')
run_in "${P127}a" vc-auth user create long --role viewer --password-stdin
is "$rc" 0 "a 128-character password is accepted"
run_in "${P127}ab" vc-auth user create long2 --role viewer --password-stdin
is "$rc:$err" "65:vc-auth: password must have at most 128 characters" "129 characters are refused"
run_in "${P127}b" vc-auth login long --password-stdin
is "$rc" 77 "a change in the 128th character does not log in"
like "$(login_as long "${P127}a")" '^eyJ' "the whole 128 characters do"
run vc-auth user disable long
run_in "$PW" vc-auth user create sam --role superadmin --password-stdin
is "$rc" 64 "role superadmin refused: exit 64"
like "$err" '^vc-auth: role must be one of admin\|analyst\|viewer' "names the allowed roles"
run_in "$PW" vc-auth user create sam --password-stdin
is "$rc" 64 "no --role: exit 64"
is "$(sq "SELECT COUNT(*) FROM users WHERE username IN ('sam','bad name')")" 0 "no refused user exists"
run vc-auth user create sam --role viewer < /dev/null
is "$rc" 64 "no password and no tty: exit 64"

# ---- list and show ----------------------------------------------------
run vc-auth user list
is "$rc" 0 "user list"
is "$(printf '%s\n' "$out" | jq -r .username | sort | tr '\n' ' ')" "ada ann eve long root vic " "lists every user, one JSON line each"
run vc-auth user list --role analyst
is "$(printf '%s\n' "$out" | jq -r .username | tr '\n' ' ')" "ann " "--role filters"
run vc-auth user show ann
is "$(jqr '.id + " " + .role')" "$ANN_ID analyst" "show by username"
run vc-auth user show "$ANN_ID"
is "$(jqr .username)" ann "show by id"
run vc-auth user show nobody
is "$rc" 66 "show an unknown user: exit 66"
is "$err" "vc-auth: no such user: nobody" "says no such user"

ADA=$(login_as ada "$PW")
ANN=$(login_as ann "$PW")
VIC=$(login_as vic "$PW")
like "$ADA$ANN$VIC" '^eyJ.*eyJ.*eyJ' "ada, ann and vic log in"

# ---- role rules -------------------------------------------------------
n=$(audits "action='authz.denied'")
with_in "$PW" "$VIC" vc-auth user create mallory --role viewer --password-stdin
is "$rc" 77 "a viewer cannot create users"
like "$err" 'auth.users.create needs the admin role; you are viewer' "says which role is needed"
is "$(audits "action='authz.denied' AND outcome='denied' AND actor_name='vic' AND reason='auth.users.create'")" 1 \
	"the denial is audited as authz.denied"
with "$ANN" vc-auth user list
is "$rc" 77 "an analyst cannot list users"
is "$(audits "action='authz.denied' AND actor_name='ann' AND reason='auth.users.list'")" 1 "audited as authz.denied"
with "$ANN" vc-auth user disable vic
is "$rc" 77 "an analyst cannot disable users"
is "$(audits "action='authz.denied'")" $((n + 3)) "one denial record per refusal"

run vc-auth tenant create globex
is "$rc" 0 "root creates tenant globex"
with_in "$PW" "$ADA" vc-auth user create gus --role viewer --tenant globex --password-stdin
is "$rc" 66 "an admin cannot create users in another tenant: exit 66"
is "$err" "vc-auth: no such tenant: globex" "answers as for a missing tenant"
with_in "$PW" "$ADA" vc-auth user create gus --role viewer --tenant nosuch --password-stdin
is "$rc:$err" "66:vc-auth: no such tenant: nosuch" "the same as a tenant that does not exist"
is "$(audits "action='authz.denied' AND actor_name='ada' AND reason='auth.users.create' AND target_id='globex'")" 1 \
	"the cross-tenant attempt is audited as authz.denied"
with_in "$PW" "$ADA" vc-auth user create gus --role viewer --tenant acme --password-stdin
is "$rc" 0 "an admin may name their own tenant"
is "$(sq "SELECT t.name FROM users u JOIN tenants t ON t.id=u.tenant_id WHERE username='gus'")" acme "gus is in acme"
with "$ADA" vc-auth user list --tenant globex
is "$rc" 66 "an admin cannot list another tenant's users"

with "$ADA" vc-auth user update root --email x@acme.test
is "$rc" 77 "an admin cannot change a superadmin"
is "$err" "vc-auth: only a superadmin may change a superadmin" "says why"
with "$ADA" vc-auth user disable root
is "$rc" 77 "an admin cannot disable a superadmin"
is "$(sq "SELECT disabled||coalesce(email,'-') FROM users WHERE username='root'")" "0-" "root is unchanged"
is "$(audits "action='auth.users.update' AND outcome='denied' AND actor_name='ada'")" 1 "the refusal is audited as denied"

with "$ADA" vc-auth user update ada --role viewer
is "$rc" 77 "an admin cannot change their own role"
is "$err" "vc-auth: you cannot change your own role" "says so"
run vc-auth user update root --role admin
is "$rc" 77 "a superadmin cannot change their own role either"
with "$ADA" vc-auth user update ann --role superadmin
is "$rc" 64 "nobody grants superadmin: exit 64"
is "$(sq "SELECT role FROM users WHERE username IN ('ada','root','ann') ORDER BY username" | paste -sd' ' -)" \
	"admin analyst superadmin" "no role changed"
with "$ADA" vc-auth user disable ada
is "$rc" 77 "an admin cannot disable themselves"
with "$ANN" vc-auth user update ann --role admin
is "$rc" 77 "an analyst cannot raise their own role"

# ---- update -----------------------------------------------------------
with "$ADA" vc-auth user update vic --email vic@acme.test
is "$rc:$(jqr .email)" "0:vic@acme.test" "admin changes an email"
with "$VIC" vc-auth whoami
is "$rc" 0 "an email change keeps the user's sessions"
with "$ADA" vc-auth user update vic --email 'bad address'
is "$rc" 65 "a bad email: exit 65"
with "$ADA" vc-auth user update vic --role analyst
is "$rc:$(jqr .role)" "0:analyst" "admin changes a role"
is "$(audits "action='auth.users.update' AND outcome='success' AND details LIKE '%\"old_role\":\"viewer\"%' AND details LIKE '%\"role\":\"analyst\"%'")" 1 \
	"role change audited with old and new role"
with "$VIC" vc-auth whoami
is "$rc" 77 "a role change ends the user's access tokens"
VIC=$(login_as vic "$PW")
with "$VIC" vc-auth whoami
is "$(jqr .role)" analyst "after a new login the new role applies"
with_in 'reset password one' "$ADA" vc-auth user update vic --password-stdin
is "$rc" 0 "admin resets a password"
with "$VIC" vc-auth whoami
is "$rc" 77 "a password reset ends the user's access tokens"
is "$(sq "SELECT COUNT(*) FROM refresh_tokens r JOIN users u ON u.id=r.user_id WHERE u.username='vic' AND r.revoked_at IS NULL")" 0 \
	"and revokes their refresh tokens"
run_in "$PW" vc-auth login vic --password-stdin
is "$rc" 77 "the old password no longer works"
VIC=$(login_as vic 'reset password one')
like "$VIC" '^eyJ' "the new one does"
with_in 'short reset' "$ADA" vc-auth user update vic --password-stdin
is "$rc" 65 "a reset to a short password: exit 65"
with "$ADA" vc-auth user update nobody --email a@b.c
is "$rc" 66 "update an unknown user: exit 66"

# ---- disable and enable -----------------------------------------------
with "$ADA" vc-auth user disable vic
is "$rc:$(jqr .disabled)" "0:true" "admin disables vic"
is "$(audits "action='auth.users.disable' AND outcome='success' AND actor_name='ada'")" 1 "disable audited"
with "$VIC" vc-auth whoami
is "$rc" 77 "a disabled user's access token fails"
run_in 'reset password one' vc-auth login vic --password-stdin
is "$rc:$err" "77:vc-auth: invalid credentials" "a disabled user cannot log in"
run vc-auth user list
is "$(printf '%s\n' "$out" | jq -r 'select(.username=="vic") | .disabled')" true "user list shows disabled"
with "$ADA" vc-auth user enable vic
is "$rc:$(jqr .disabled)" "0:false" "admin enables vic"
is "$(audits "action='auth.users.enable' AND outcome='success'")" 1 "enable audited"
like "$(login_as vic 'reset password one')" '^eyJ' "vic logs in again"
with "$ADA" vc-auth user enable nobody
is "$rc" 66 "enable an unknown user: exit 66"

# ---- superadmin -------------------------------------------------------
run_in "$PW" vc-auth user create gina --role admin --tenant globex --password-stdin
is "$rc:$(jqr .tenant)" "0:globex" "the superadmin creates users in any tenant"
run vc-auth user list --tenant globex
is "$(printf '%s\n' "$out" | jq -r .username | tr '\n' ' ')" "gina " "the superadmin lists one tenant"
run vc-auth user update gina --role analyst
is "$rc:$(jqr .role)" "0:analyst" "the superadmin changes roles in any tenant"
is "$(audits "action='auth.users.update' AND tenant_id=(SELECT id FROM tenants WHERE name='globex')")" 1 \
	"audited in the user's tenant"

done_testing
