#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-auth token create/list/revoke: API tokens for cron and CI.
. "$(dirname "$0")/lib.sh"

sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
PW='sturdy tuna lantern'
audits() { sq "SELECT COUNT(*) FROM audit_logs WHERE $1"; }
now() { date +%s; }

init_store
for u in ada:admin ann:analyst andy:analyst vic:viewer; do
	printf '%s\n' "$PW" | vc-auth user create "${u%%:*}" --role "${u#*:}" --password-stdin >/dev/null
done
ADA=$(login_as ada "$PW")
ANN=$(login_as ann "$PW")
ANDY=$(login_as andy "$PW")
VIC=$(login_as vic "$PW")
like "$ADA$ANN$ANDY$VIC" '^eyJ.*eyJ.*eyJ.*eyJ' "users ada (admin), ann, andy (analysts), vic (viewer)"

# ---- create: shown once, stored hashed --------------------------------
t0=$(now)
with "$ANN" vc-auth token create nightly --role viewer
is "$rc" 0 "an analyst creates a viewer token"
T1=$(jqr .token)
T1_ID=$(jqr .id)
like "$T1" '^vcs_[A-Za-z0-9_-]{43}$' "the token is vcs_ and 32 random bytes in base64url"
is "$(jqr '.name + " " + .role')" "nightly viewer" "name and role shown"
like "$(jqr .note)" 'shown once' "the output says it is shown once"
exp=$(sq "SELECT expires_at - created_at FROM api_tokens WHERE id='$T1_ID'")
is "$exp" $((90 * 86400)) "default lifetime 90 days"
is "$(sq "SELECT token_hash FROM api_tokens WHERE id='$T1_ID'")" "$(sha "$T1")" "only the SHA-256 of the token is stored"
sq_dump > "$T/dump"
is "$(grep -cF "$(sha "$T1")" "$T/dump")" 1 "the store's dump holds its hash"
is "$(grep -cF "$T1" "$T/dump")" 0 "the raw token is nowhere in the store"
is "$(sq "SELECT prefix FROM api_tokens WHERE id='$T1_ID'")" "$(printf '%.12s' "$T1")" "a short prefix is kept to recognise it"
is "$(audits "action='auth.tokens.create' AND outcome='success' AND target_type='api_token' AND target_id='$T1_ID' AND actor_name='ann'")" 1 \
	"creation audited"
is "$(sq "SELECT coalesce(details,'')||coalesce(reason,'') FROM audit_logs" | grep -cF "$T1")" 0 "the audit record holds no token"

with "$ANN" vc-auth token list
is "$rc" 0 "token list"
is "$(printf '%s\n' "$out" | jq -r 'select(.id=="'"$T1_ID"'") | has("token")')" false "token list never shows the token again"
is "$(printf '%s\n' "$out" | jq -r 'select(.id=="'"$T1_ID"'") | .owner + " " + .prefix')" "ann $(printf '%.12s' "$T1")" "list shows owner and prefix"

# ---- role never above the creator's -----------------------------------
with "$ANN" vc-auth token create escalate --role admin
is "$rc" 77 "an analyst cannot create an admin token"
is "$err" "vc-auth: a token cannot have a role above yours (analyst)" "says why"
is "$(audits "action='auth.tokens.create' AND outcome='denied' AND actor_name='ann'")" 1 "audited as denied"
with "$ANN" vc-auth token create escalate --role superadmin
is "$rc" 64 "a superadmin token is not a choice: exit 64"
with "$VIC" vc-auth token create mine --role viewer
is "$rc" 77 "a viewer cannot create tokens"
is "$(audits "action='authz.denied' AND actor_name='vic' AND reason='auth.tokens.create'")" 1 "audited as authz.denied"
is "$(sq "SELECT COUNT(*) FROM api_tokens WHERE name IN ('escalate','mine')")" 0 "no refused token exists"
with "$ADA" vc-auth token create deploy --role admin
is "$rc:$(jqr .role)" "0:admin" "an admin creates an admin token"
T_ADA=$(jqr .token)
T_ADA_ID=$(jqr .id)

# ---- use ----------------------------------------------------------------
is "$(sq "SELECT CASE WHEN last_used_at IS NULL THEN 1 ELSE 0 END FROM api_tokens WHERE id='$T1_ID'")" 1 "never used yet"
with "$T1" vc-auth whoami
is "$rc" 0 "the token authenticates"
is "$(jqr '.username + " " + .role + " " + .auth + " " + .token_id')" "ann viewer api_token $T1_ID" \
	"it acts as its owner with its own role"
u=$(sq "SELECT last_used_at FROM api_tokens WHERE id='$T1_ID'")
ok "$([ "$u" -ge "$t0" ] && [ "$u" -le "$(now)" ]; echo $?)" "last_used_at updated on use"
with "$T1" vc-auth token list
is "$rc" 77 "a viewer token cannot do analyst things"
with "$T_ADA" vc-auth token create child --role viewer
is "$rc" 77 "an API token cannot create API tokens"
with_in "$PW
new pass phrase here" "$T_ADA" vc-auth passwd --password-stdin
is "$rc" 77 "an API token cannot change a password"
with "$T_ADA" vc-auth user list
is "$rc" 0 "an admin token may list users"
is "$(audits "token_id='$T_ADA_ID' AND actor_type='service'")" 2 "token use is audited with its token id and actor service"

# ---- expiry -------------------------------------------------------------
with "$ANN" vc-auth token create short --role analyst --expires 1m
is "$rc" 0 "--expires 1m"
T2=$(jqr .token)
T2_ID=$(jqr .id)
is "$(sq "SELECT expires_at - created_at FROM api_tokens WHERE id='$T2_ID'")" 60 "expires_at is 60 s after creation"
c=$(sq "SELECT created_at FROM api_tokens WHERE id='$T2_ID'")
is "$(jqr .expires_at)" "$(date -u -d "@$((c + 60))" +%Y-%m-%dT%H:%M:%SZ)" "expires_at is shown in RFC 3339"
with "$T2" vc-auth whoami
is "$rc" 0 "works before it expires"
sq "UPDATE api_tokens SET expires_at = $SQ_NOW - 1 WHERE id='$T2_ID'"
with "$T2" vc-auth whoami
is "$rc" 77 "an expired token fails"
like "$err" '^vc-auth: VC_TOKEN is not valid' "says the token is not valid"
with "$ANN" vc-auth token create x --role viewer --expires 30s
is "$rc" 65 "a lifetime under a minute: exit 65"
with "$ANN" vc-auth token create x --role viewer --expires 367d
is "$rc" 65 "a lifetime over 366 days: exit 65"
with "$ANN" vc-auth token create x --role viewer --expires 9000000000000000000
is "$rc" 65 "an absurd lifetime: exit 65"
with "$ANN" vc-auth token create x --role viewer --expires soon
is "$rc" 64 "a lifetime that is no duration: exit 64"
with "$ANN" vc-auth token create '' --role viewer
is "$rc" 65 "an empty name: exit 65"

# ---- a token never outranks its owner as the owner is now --------------
with "$ANN" vc-auth token create full --role analyst
T3=$(jqr .token)
with "$T3" vc-auth token list
is "$rc" 0 "an analyst token lists tokens"
with "$ADA" vc-auth user update ann --role viewer
with "$T3" vc-auth token list
is "$rc" 77 "after the owner becomes a viewer, the analyst token is a viewer too"
with "$T3" vc-auth whoami
is "$(jqr .role)" viewer "whoami shows the lowered role"
with "$ADA" vc-auth user update ann --role analyst
ANN=$(login_as ann "$PW")

# ---- who sees which ------------------------------------------------------
with "$ANDY" vc-auth token create andys --role viewer
T_ANDY=$(jqr .token)
T_ANDY_ID=$(jqr .id)
with "$ANN" vc-auth token list
is "$(printf '%s\n' "$out" | jq -r .owner | sort -u | tr '\n' ' ')" "ann " "an analyst sees only their own tokens"
is "$(printf '%s\n' "$out" | wc -l)" 3 "all three of them"
with "$ADA" vc-auth token list
is "$(printf '%s\n' "$out" | jq -r .owner | sort -u | tr '\n' ' ')" "ada andy ann " "an admin sees the tenant's tokens"
is "$(printf '%s\n' "$out" | wc -l)" 5 "all five"

# ---- revoke ----------------------------------------------------------------
with "$ANN" vc-auth token revoke "$T_ANDY_ID"
is "$rc" 66 "an analyst cannot revoke another user's token: exit 66"
is "$err" "vc-auth: no such token: $T_ANDY_ID" "answered like a missing token"
is "$(audits "action='authz.denied' AND actor_name='ann' AND target_id='$T_ANDY_ID'")" 1 "audited as authz.denied"
with "$T_ANDY" vc-auth whoami
is "$rc" 0 "andy's token still works"
with "$ANN" vc-auth token revoke 5a1e0f1e-0000-4000-8000-000000000000
is "$rc:$err" "66:vc-auth: no such token: 5a1e0f1e-0000-4000-8000-000000000000" "revoking a missing token: exit 66"
with "$ANN" vc-auth token revoke "$T1_ID"
is "$rc" 0 "an analyst revokes their own token"
like "$(jqr .revoked_at)" '^20[0-9-]+T' "revoked_at is set"
with "$T1" vc-auth whoami
is "$rc" 77 "a revoked token stops working"
is "$(audits "action='auth.tokens.revoke' AND outcome='success' AND target_id='$T1_ID'")" 1 "revocation audited"
with "$ADA" vc-auth token revoke "$T_ANDY_ID"
is "$rc" 0 "an admin revokes any token of the tenant"
with "$T_ANDY" vc-auth whoami
is "$rc" 77 "andy's token stops working"

# ---- a disabled owner's tokens stop -------------------------------------
with "$ADA" vc-auth token create t4 --role viewer
T4=$(jqr .token)
run vc-auth user disable ada
with "$T4" vc-auth whoami
is "$rc" 77 "a disabled user's API token fails"
run vc-auth user enable ada
with "$T4" vc-auth whoami
is "$rc" 0 "and works again once enabled"

done_testing
