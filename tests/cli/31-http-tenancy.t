#!/bin/sh
# SPDX-License-Identifier: MIT
# Tenant isolation over HTTP (SEC-TEN-01, SEC-TEN-02): globex's admin,
# holding ids of acme's records, gets 404 on every route that takes an id,
# for every method, exactly as for a missing id; acme's data is unchanged;
# every attempt is audited as authz.denied in globex's chain; lists show
# nothing of acme.  The routes come from /openapi.json, so a new route
# with an id is covered (or this test fails until it is mapped).
. "$(dirname "$0")/lib.sh"

PW='correct horse battery'
APW='acme admin password'
GPW='globex admin password'

req() {
	code=$(curl -s --max-time 20 -o "$T/b" -w '%{http_code}' "$@")
	body=$(cat "$T/b")
}

# ---- two tenants with data --------------------------------------------------
init_store
printf '%s\n' "$APW" | vc-auth user create aadmin --role admin --password-stdin >/dev/null
vc-auth tenant create globex >/dev/null
printf '%s\n' "$GPW" | vc-auth user create gadmin --role admin --tenant globex --password-stdin >/dev/null
as aadmin "$APW"
A_USER=$(printf '%s\n' 'alice password 12' | vc-auth user create alice --role analyst --password-stdin -o jsonl | jq -r .id)
A_TOKEN=$(vc-auth token create ci --role viewer -o jsonl | jq -r .id)
printf '{"client_id":"C.00000000000000a1","hostname":"acme-ws1","ip":"10.0.0.1","os":"windows"}\n' |
	vc-hosts import -o jsonl >/dev/null
A_HOST=$(vc-hosts show C.00000000000000a1 -o jsonl | jq -r .id)
A_CASE=$(vc-case create "acme incident" -o jsonl | jq -r .id)
A_ART=$(printf '{"Name":"x.exe","ClientId":"C.00000000000000a1"}\n' |
	vc-case artifact import --name Windows.System.Pslist --case "$A_CASE" --hunt H.ACME0001 -o jsonl | jq -r .id)
A_HUNT=H.ACME0001
A_AUDIT=$(vc-auth audit list --limit 1 -o jsonl | jq -r .id)
A_NOTE=$(vc-notify send --to role:viewer --title "acme incident" -o jsonl | jq -r .id)
A_RULE=$(vc-notify rule add --on 'case.*' --to role:analyst -o jsonl | jq -r .id)
A_PB=$(vc-playbook add "$TOP/examples/playbooks/nightly-digest.json" -o jsonl | jq -r .id)
A_EXEC=$(printf '{"name":"acme manual","actions":[{"type":"send_notification","params":{"message":"acme incident"}}]}\n' |
	vc-playbook add -o jsonl >/dev/null && vc-playbook run 'acme manual' -o jsonl | jq -r .id)
A_BL=$(vc-playbook blocklist add 192.0.2.66 --reason 'acme incident' -o jsonl | jq -r .entry_id)
mkdir -p "$T/tpl"
printf '{"name":"acme_tpl","version":1,"sources":["case"],"params":[{"name":"case","type":"case"}],"jq":"{t: .case.title}"}\n' > "$T/tpl/manifest.json"
printf '<h1>{{t}}</h1>\n' > "$T/tpl/layout.html"
A_TPL=$(vc-report template add "$T/tpl" -o jsonl | jq -r .name)
A_REP=00000000-0000-4000-8000-0000000002e0
printf 'acme incident report\n' > "$T/acme-report.html"
now_sql="CAST(strftime('%s', 'now') AS INTEGER)"
[ "$STORE_PG" = 1 ] && now_sql='extract(epoch FROM now())::bigint'
sq "INSERT INTO reports (id, tenant_id, template, format, request, state, file, requested_by, created_at)
    SELECT '$A_REP', t.id, 'acme_tpl', 'html', '{}', 'done', '$T/acme-report.html', u.id, $now_sql
    FROM tenants t JOIN users u ON u.tenant_id = t.id AND u.username = 'aadmin' WHERE t.name = 'acme'"
A_IOC=00000000-0000-4000-8000-0000000001c0
sq "INSERT INTO iocs (id, tenant_id, type, value, created_at)
    SELECT '$A_IOC', id, 'domain', 'acme-only.example', 0 FROM tenants WHERE name = 'acme'"
ok $([ -n "$A_USER" ] && [ -n "$A_TOKEN" ] && [ -n "$A_HOST" ] && [ -n "$A_CASE" ] &&
	[ -n "$A_ART" ] && [ -n "$A_AUDIT" ] && [ -n "$A_NOTE" ] && [ -n "$A_RULE" ] &&
	[ -n "$A_PB" ] && [ -n "$A_EXEC" ] && [ -n "$A_BL" ] && [ "$A_TPL" = acme_tpl ]; echo $?) "acme has a user, a token, a host, a case, an artifact and audit records"

# A snapshot of acme's records (not the audit log, which grows on purpose).
ACME=$(sq "SELECT id FROM tenants WHERE name = 'acme'")
snapshot() {
	sq \
	    "SELECT 'u', id, username, role, disabled, token_version, email FROM users WHERE tenant_id = '$ACME' ORDER BY id" \
	    "SELECT 'k', id, revoked_at FROM api_tokens WHERE tenant_id = '$ACME' ORDER BY id" \
	    "SELECT 'h', id, hostname, labels, notes FROM hosts WHERE tenant_id = '$ACME' ORDER BY id" \
	    "SELECT 'c', id, title, status, severity, tags FROM cases WHERE tenant_id = '$ACME' ORDER BY id" \
	    "SELECT 'n', COUNT(*) FROM case_notes WHERE tenant_id = '$ACME'" \
	    "SELECT 'l', COUNT(*) FROM case_links WHERE tenant_id = '$ACME'" \
	    "SELECT 'a', id, row_count FROM artifacts WHERE tenant_id = '$ACME' ORDER BY id" \
	    "SELECT 'r', COUNT(*) FROM artifact_rows WHERE tenant_id = '$ACME'" \
	    "SELECT 'i', id, value FROM iocs WHERE tenant_id = '$ACME' ORDER BY id" \
	    "SELECT 'N', COUNT(*) FROM notification_reads WHERE tenant_id = '$ACME'" \
	    "SELECT 'R', id, on_type FROM notify_rules WHERE tenant_id = '$ACME' ORDER BY id" \
	    "SELECT 'p', id, version, enabled, deleted_at FROM playbooks WHERE tenant_id = '$ACME' ORDER BY id" \
	    "SELECT 'e', id, status FROM playbook_executions WHERE tenant_id = '$ACME' ORDER BY id" \
	    "SELECT 'b', id, network FROM blocklist WHERE tenant_id = '$ACME' ORDER BY id" \
	    "SELECT 'T', name, version FROM report_templates WHERE tenant_id = '$ACME' ORDER BY name" \
	    "SELECT 'P', id, state FROM reports WHERE tenant_id = '$ACME' ORDER BY id"
}
BEFORE=$(snapshot)
# What acme's records hold that no globex answer may show.
SECRETS='acme-ws1|alice|acme incident|x\.exe|"name":"ci"|10\.0\.0\.1|acme-only|nightly-digest|192\.0\.2\.66'

# ---- the server --------------------------------------------------------------
PORT=$(free_port)
B=http://127.0.0.1:$PORT
vc-serve --listen "127.0.0.1:$PORT" --workers 2 2> "$T/log" &
echo $! >> "$T/pids"
await 60 grep -q 'listening on' "$T/log"
req -H 'Content-Type: application/json' -d "{\"username\":\"gadmin\",\"password\":\"$GPW\"}" "$B/api/auth/login"
G=$(printf '%s' "$body" | jq -r .access_token)
is "$code" 200 "globex's admin logs in over HTTP"

denied() {
	sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'authz.denied'
	    AND tenant_id = (SELECT id FROM tenants WHERE name = 'globex')"
}

# ---- every route with an id, every method --------------------------------------
req "$B/openapi.json"
printf '%s' "$body" > "$T/openapi.json"
routes=$(printf '%s' "$body" | jq -r '.paths | to_entries[] | select(.key | test("[{]")) |
	.key as $p | .value | keys[] | "\(ascii_upcase) \($p)"')
ok $([ -n "$routes" ]; echo $?) "openapi.json lists routes with ids"
n_routes=0
for r in $(printf '%s\n' "$routes" | tr ' ' '|'); do
	method=${r%%|*}
	path=${r#*|}
	case $path in
	/api/users/*) id=$A_USER ;;
	/api/tokens/*) id=$A_TOKEN ;;
	/api/hosts/*) id=$A_HOST ;;
	/api/cases/*) id=$A_CASE ;;
	/api/artifacts/*) id=$A_ART ;;
	/api/audit/*) id=$A_AUDIT ;;
	/api/tenants/*) id=$ACME ;;
	/api/velociraptor/*) id=C.00000000000000a1 ;;
	/api/threat-intel/iocs/*) id=$A_IOC ;;
	/api/notifications/rules/*) id=$A_RULE ;;
	/api/reports/templates/*) id=$A_TPL ;;
	/api/reports/*) id=$A_REP ;;
	/api/notifications/*) id=$A_NOTE ;;
	/api/playbooks/*) id=$A_PB ;;
	/api/playbook-executions/*) id=$A_EXEC ;;
	/api/blocklist/*) id=$A_BL ;;
	/api/threat-intel/analyze/host/*) id=$A_HOST ;;
	/api/threat-intel/analyze/artifact/*) id=$A_ART ;;
	/api/threat-intel/analyze/hunt/*) id=$A_HUNT ;;
	*) ok 1 "route $method $path has no id mapping in this test: add one"; continue ;;
	esac
	url=$B$(printf '%s' "$path" | sed "s/{[a-z_]*}/$id/g")
	case $path in /api/velociraptor/*/results) url="$url?artifact=Windows.System.Pslist" ;; esac
	before=$(denied)
	case $method in
	GET|DELETE) req -X "$method" -H "Authorization: Bearer $G" "$url" ;;
	*)
		# A body the operation accepts: each documented field, a plausible value.
		data=$(jq -c --arg p "$path" --arg m "$(echo "$method" | tr A-Z a-z)" '
		    .paths[$p][$m].requestBody.content["application/json"].schema.properties // {} |
		    with_entries(select(.key != "host" and .key != "artifact") |
		    .value = (if .value.enum then .value.enum[0] elif .value.type == "boolean" then false
		      elif .value.type == "integer" then 1 else "pwned" end))' "$T/openapi.json")
		req -X "$method" -H "Authorization: Bearer $G" -H 'Content-Type: application/json' -d "$data" "$url" ;;
	esac
	n_routes=$((n_routes + 1))
	case $path in
	/api/velociraptor/*)
		# Velociraptor ids are the server's; a tenant reaches only its own
		# server (its own config), and globex has none.
		is "$code:$(printf '%s' "$body" | jq -r .error)" "500:configuration" \
		    "$method $path: globex has no Velociraptor of its own, and never reaches acme's" ;;
	*)
		is "$code:$(printf '%s' "$body" | jq -r .error)" "404:not_found" "$method $path with acme's id: 404 not_found"
		unlike "$body" "$SECRETS" "... and the body holds nothing of acme's record"
		is "$(denied)" "$((before + 1))" "... and the attempt is audited as authz.denied" ;;
	esac
done
ok $([ "$n_routes" -ge 15 ]; echo $?) "$n_routes id routes were tried"
is "$(snapshot)" "$BEFORE" "acme's records are unchanged"

# The same answer as a missing id: byte for byte, but for the id itself.
req -H "Authorization: Bearer $G" "$B/api/hosts/$A_HOST"
b1=$(printf '%s' "$body" | sed "s/$A_HOST/ID/")
req -H "Authorization: Bearer $G" "$B/api/hosts/00000000-0000-4000-8000-000000000000"
b2=$(printf '%s' "$body" | sed "s/00000000-0000-4000-8000-000000000000/ID/")
is "$b1" "$b2" "another tenant's host answers exactly like a missing one"

# ---- ids in bodies and queries -------------------------------------------------------
req -H "Authorization: Bearer $G" -H 'Content-Type: application/json' -d '{"title":"globex case"}' "$B/api/cases"
G_CASE=$(printf '%s' "$body" | jq -r .id)
is "$code" 201 "globex makes its own case"
req -H "Authorization: Bearer $G" -H 'Content-Type: application/json' -d "{\"host\":\"$A_HOST\"}" "$B/api/cases/$G_CASE/links"
is "$code" 404 "linking acme's host to globex's case: 404"
req -H "Authorization: Bearer $G" -H 'Content-Type: application/json' -d "{\"artifact\":\"$A_ART\"}" "$B/api/cases/$G_CASE/links"
is "$code" 404 "linking acme's artifact to globex's case: 404"
req -H "Authorization: Bearer $G" "$B/api/artifacts?case=$A_CASE"
is "$code" 404 "listing artifacts of acme's case: 404"
req -H "Authorization: Bearer $G" "$B/api/audit?tenant_id=$ACME"
is "$code" 404 "reading acme's audit chain by tenant_id: 404"
is "$(snapshot)" "$BEFORE" "acme's records are still unchanged"

# ---- lists show nothing of acme ------------------------------------------------
for l in users tokens hosts cases artifacts audit threat-intel/iocs; do
	req -H "Authorization: Bearer $G" "$B/api/$l"
	is "$code" 200 "GET /api/$l: 200"
	# (ids that globex itself typed may appear in its own denial records)
	unlike "$body" "$SECRETS|\"actor\":\"aadmin\"" "GET /api/$l shows nothing of acme"
done

# ---- the other way round: acme's admin with globex's case ---------------------------
req -H 'Content-Type: application/json' -d "{\"username\":\"aadmin\",\"password\":\"$APW\"}" "$B/api/auth/login"
A=$(printf '%s' "$body" | jq -r .access_token)
req -H "Authorization: Bearer $A" "$B/api/cases/$G_CASE"
is "$code" 404 "acme's admin gets 404 for globex's case"
req -H "Authorization: Bearer $A" "$B/api/cases/$A_CASE"
is "$code" 200 "and 200 for its own"
done_testing
