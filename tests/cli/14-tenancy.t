#!/bin/sh
# SPDX-License-Identifier: MIT
# Tenant isolation: another tenant's records answer exactly like missing
# ones, and the attempt is audited as authz.denied in the chain of the
# tenant of whoever tried (their own admins and auditors see it there).
. "$(dirname "$0")/lib.sh"

PW='sturdy tuna lantern'
denials() { sq "SELECT COUNT(*) FROM audit_logs WHERE action='authz.denied' AND outcome='denied' AND $1"; }
MISSING=0b0e5a5e-0000-4000-8000-000000000000
# same_as_missing DESCRIPTION KEY: $rc/$err are those of a missing record
# once KEY is replaced by the missing id.
same_as_missing() {
	is "$rc:$(printf '%s\n' "$err" | sed "s/$2/KEY/g")" "$miss_rc:$(printf '%s\n' "$miss_err" | sed "s/$MISSING/KEY/g")" "$1"
}

init_store
run vc-auth tenant create globex
is "$rc" 0 "the superadmin creates tenant globex"
GLOBEX=$(jqr .id)
ACME=$(sq "SELECT id FROM tenants WHERE name='acme'")
run_in "$PW" vc-auth user create gina --role admin --tenant globex --password-stdin
is "$rc:$(jqr .tenant):$(jqr .role)" "0:globex:admin" "and globex's admin gina"
run_in "$PW" vc-auth user create gil --role analyst --tenant globex --password-stdin
run_in "$PW" vc-auth user create ada --role admin --password-stdin
run_in "$PW" vc-auth user create ann --role analyst --password-stdin
ANN_ID=$(jqr .id)
GINA=$(login_as gina "$PW")
ADA=$(login_as ada "$PW")
ANN=$(login_as ann "$PW")
with "$ANN" vc-auth token create acme-ci --role analyst
ANN_TOK=$(jqr .token)
ANN_TOK_ID=$(jqr .id)
with "$GINA" vc-auth token create globex-ci --role viewer
GINA_TOK_ID=$(jqr .id)
like "$GINA$ADA$ANN$ANN_TOK" '^eyJ.*eyJ.*eyJ.*vcs_' "users and tokens in both tenants"

# ---- lists show one tenant -------------------------------------------
with "$GINA" vc-auth user list
is "$(printf '%s\n' "$out" | jq -r .username | sort | tr '\n' ' ')" "gil gina " "globex's admin lists only globex's users"
with "$ADA" vc-auth user list
is "$(printf '%s\n' "$out" | jq -r .tenant | sort -u)" acme "acme's admin lists only acme's users"
with "$GINA" vc-auth tenant list
is "$(printf '%s\n' "$out" | jq -r .name)" globex "an admin lists only their tenant"
with "$GINA" vc-auth token list
is "$(printf '%s\n' "$out" | jq -r .id)" "$GINA_TOK_ID" "an admin lists only their tenant's tokens"
with "$GINA" vc-auth user list --tenant acme
is "$rc:$err" "66:vc-auth: no such tenant: acme" "--tenant of another tenant: exit 66"
with "$GINA" vc-auth user list --tenant "$ACME"
is "$rc" 66 "the same by tenant id"
run vc-auth user list
is "$(printf '%s\n' "$out" | jq -r .tenant | sort -u | tr '\n' ' ')" "acme globex " "the superadmin lists every tenant"

# ---- another tenant's user: exactly like a missing one ---------------
with "$GINA" vc-auth user show "$MISSING"
miss_rc=$rc miss_err=$err
is "$miss_rc" 66 "a missing id: exit 66"
n_acme=$(sq "SELECT COUNT(*) FROM audit_logs WHERE chain='$ACME'")
with "$GINA" vc-auth user show "$ANN_ID"
same_as_missing "user show of acme's user by id: as if missing" "$ANN_ID"
with "$GINA" vc-auth user show ann
same_as_missing "user show by username: as if missing" ann
with "$GINA" vc-auth user update ann --email gina@globex.test
same_as_missing "user update: as if missing" ann
with "$GINA" vc-auth user update "$ANN_ID" --role viewer
same_as_missing "user update --role by id: as if missing" "$ANN_ID"
with "$GINA" vc-auth user disable ann
same_as_missing "user disable: as if missing" ann
with "$GINA" vc-auth user enable "$ANN_ID"
same_as_missing "user enable: as if missing" "$ANN_ID"
with_in "new password here" "$GINA" vc-auth user update ann --password-stdin
same_as_missing "password reset: as if missing" ann
is "$(sq "SELECT role||' '||disabled||' '||coalesce(email,'-') FROM users WHERE id='$ANN_ID'")" "analyst 0 -" "ann is unchanged"
with "$ANN" vc-auth whoami
is "$rc" 0 "ann's session still works"

with "$GINA" vc-auth token revoke "$MISSING"
miss_rc=$rc miss_err=$err
with "$GINA" vc-auth token revoke "$ANN_TOK_ID"
same_as_missing "token revoke of acme's token: as if missing" "$ANN_TOK_ID"
is "$(sq "SELECT CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END FROM api_tokens WHERE id='$ANN_TOK_ID'")" 1 "the token is not revoked"
with "$ANN_TOK" vc-auth whoami
is "$rc" 0 "and still works"

with_in "$PW" "$GINA" vc-auth user create intruder --role admin --tenant acme --password-stdin
is "$rc:$err" "66:vc-auth: no such tenant: acme" "user create in acme: as if there were no acme"
is "$(sq "SELECT COUNT(*) FROM users WHERE username='intruder'")" 0 "no user made"
with "$GINA" vc-auth tenant update acme --registration open
is "$rc:$err" "66:vc-auth: no such tenant: acme" "a tenant admin cannot change another tenant: as if there were none"

# ---- the denials are audited, in globex's chain ----------------------
is "$(denials "actor_name='gina' AND tenant_id='$GLOBEX' AND chain='$GLOBEX'")" 12 \
	"each cross-tenant attempt is audited as authz.denied in globex's chain"
is "$(denials "actor_name='gina' AND target_id='$ANN_ID' AND target_type='user'")" 3 "naming the user id that was tried"
is "$(denials "actor_name='gina' AND target_id='$ANN_TOK_ID' AND target_type='api_token'")" 1 "naming the token id that was tried"
is "$(denials "actor_name='gina' AND target_id='$MISSING'")" 0 "a really missing id is no denial"
is "$(sq "SELECT target_id FROM audit_logs WHERE chain='$GLOBEX' AND action='authz.denied' AND target_type='tenant' ORDER BY id" | paste -sd' ' -)" \
	"acme $ACME acme acme" "tenant denials name what was typed, never acme's id"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE chain='$ACME'")" "$n_acme" "nothing was written to acme's chain"
with "$GINA" vc-auth audit list --action authz.denied
is "$(printf '%s\n' "$out" | wc -l)" 12 "globex's admin sees the denials"
with "$ADA" vc-auth audit list --action authz.denied
is "$out" "" "acme's admin does not"

# ---- audit: one tenant's records only ---------------------------------
with "$GINA" vc-auth audit list --limit 1000
is "$(printf '%s\n' "$out" | jq -r .tenant_id | sort -u)" "$GLOBEX" "globex's admin sees only globex's records"
is "$(printf '%s\n' "$out" | jq -r .id | sort -n | tr '\n' ' ')" \
	"$(sq "SELECT id FROM audit_logs WHERE chain='$GLOBEX' ORDER BY id" | tr '\n' ' ')" "exactly the records of globex's chain"
ACME_REC=$(sq "SELECT MAX(id) FROM audit_logs WHERE chain='$ACME'")
with "$GINA" vc-auth audit show 999999
miss_rc=$rc miss_err=$err
with "$GINA" vc-auth audit show "$ACME_REC"
is "$rc" "$miss_rc" "audit show of an acme record: exit 66 as if missing"
sed_missing=$(printf '%s\n' "$miss_err" | sed 's/999999/N/')
is "$(printf '%s\n' "$err" | sed "s/$ACME_REC/N/")" "$sed_missing" "the same message"
is "$(denials "actor_name='gina' AND target_type='audit' AND target_id='$ACME_REC'")" 1 "audited as authz.denied"
with "$GINA" vc-auth audit list --tenant-id "$ACME"
is "$rc:$err" "66:vc-auth: no such tenant: $ACME" "audit list --tenant-id of another tenant: exit 66"
with "$GINA" vc-auth audit verify --tenant-id "$ACME"
is "$rc" 66 "audit verify --tenant-id of another tenant: exit 66"
with "$GINA" vc-auth audit list --tenant-id "$GLOBEX" --limit 1
is "$rc" 0 "naming one's own tenant is fine"

# ---- verify per tenant ---------------------------------------------------
with "$GINA" vc-auth audit verify
is "$rc:$(jqr .ok):$(jqr .records)" "0:true:$(sq "SELECT COUNT(*) FROM audit_logs WHERE chain='$GLOBEX'")" "globex's chain verifies"
with "$ADA" vc-auth audit verify
is "$rc:$(jqr .ok):$(jqr .records)" "0:true:$(sq "SELECT COUNT(*) FROM audit_logs WHERE chain='$ACME'")" "acme's chain verifies"
run vc-auth audit verify --tenant-id "$GLOBEX"
is "$rc:$(jqr .records)" "0:$(sq "SELECT COUNT(*) FROM audit_logs WHERE chain='$GLOBEX'")" "the superadmin verifies one chain"
# Damage acme's chain: globex's still verifies, acme's does not.
if [ "$STORE_PG" = 1 ]; then
	sq "ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update"
else
	sq "DROP TRIGGER audit_logs_no_update"
fi
sq "UPDATE audit_logs SET reason='edited' WHERE id=$ACME_REC"
with "$GINA" vc-auth audit verify
is "$rc" 0 "damage in acme's chain does not fail globex's"
with "$ADA" vc-auth audit verify
like "$rc:$err" "^65:.*record $ACME_REC " "acme's verify names the damaged record"

# ---- tokens are tenant-bound -------------------------------------------
with "$ANN_TOK" vc-auth token list
is "$(printf '%s\n' "$out" | jq -r .id)" "$ANN_TOK_ID" "an acme token sees acme's tokens only"
with "$GINA" vc-auth user show gina
is "$(jqr .tenant)" globex "an admin still sees their own users"

done_testing
