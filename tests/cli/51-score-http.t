#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-score over HTTP (vc-serve, with $VC_RULES set for the server):
# POST /api/threat-intel/score with a JSON Lines body, answered as JSON
# or streamed as JSON Lines; POST /api/threat-intel/analyze/host/{id} and
# /analyze/artifact/{id}; GET /api/threat-intel/scores with its filters;
# the IOC routes; least roles; tenant isolation (404 as for a missing id).
# Uses the SigmaHQ data of rules/sigma (see its README): without it the test
# fails, it does not skip.
. "$(dirname "$0")/lib.sh"

SIGMA=$TOP/rules/sigma
RULES=$SIGMA/rules/windows/process_creation
GEN=$TOP/bench/gen.py
PW='sturdy tuna lantern'
NDJSON='Content-Type: application/x-ndjson'
ACCEPT='Accept: application/x-ndjson'
MISSING=0b0e5a5e-0000-4000-8000-000000000000
unset VC_RULES

# req CURL-ARGS...: one request; sets $code and $body.
req() {
	code=$(curl -s --max-time 60 -o "$T/b" -w '%{http_code}' "$@")
	body=$(cat "$T/b")
}
json() { printf '%s\n' "$body" | jq -r "$1" 2>/dev/null; }
jsonc() { printf '%s\n' "$body" | jq -c "$1" 2>/dev/null; }
# post TOKEN PATH FILE [CURL-ARGS...]: FILE as a JSON Lines body.
post() {
	_t=$1 _p=$2 _f=$3
	shift 3
	req -X POST -H "Authorization: Bearer $_t" -H "$NDJSON" --data-binary "@$_f" "$@" "$B$_p"
}
# call TOKEN METHOD PATH: a request without a body.
call() { req -X "$2" -H "Authorization: Bearer $1" "$B$3"; }
login() {
	req -H 'Content-Type: application/json' -d "{\"username\":\"$1\",\"password\":\"$PW\"}" "$B/api/auth/login"
	json .access_token
}

if [ -d "$RULES" ] && [ -s "$SIGMA/regression_index.jsonl" ] &&
    [ -s "$SIGMA/benign_events.jsonl" ]; then
	ok 0 "the Sigma data is at $SIGMA"
else
	ok 1 "the Sigma data is at $SIGMA (rules/sigma of the repository)"
	done_testing
	exit 1
fi

# ---- two tenants, a hunt's rows -----------------------------------------------------
init_store
for u in "vic viewer" "ann analyst"; do
	set -- $u
	printf '%s\n' "$PW" | vc-auth user create "$1" --role "$2" --password-stdin > /dev/null
done
vc-auth tenant create globex > /dev/null
printf '%s\n' "$PW" | vc-auth user create gina --role admin --tenant globex --password-stdin > /dev/null
PS=$T/ps.jsonl
"$GEN" pslist 2000 20 > "$PS"
A=$(vc-case artifact import "$PS" --name Windows.System.Pslist --hunt H.1 | jq -r .id)
EH=$(jq -r 'select(.Name == "evil.exe") | .ClientId' "$PS" | head -n 1)
EVIL_SHA=$(jq -r 'select(.Name == "evil.exe") | .Hash.SHA256' "$PS" | head -n 1)
like "$A $EH" '^[0-9a-f-]{36} C\.' "acme has the hunt's rows as an artifact, and an evil host"

# Regression samples (each event tagged with its rule in $T/expect) and benign events.
: > "$T/events.jsonl"
: > "$T/expect"
head -n 10 "$SIGMA/regression_index.jsonl" | jq -r '[.rule_id, .sample] | @tsv' |
while IFS='	' read -r id sample; do
	jq -c . "$SIGMA/$sample" > "$T/one"
	cat "$T/one" >> "$T/events.jsonl"
	sed "s/.*/$id/" "$T/one" >> "$T/expect"
done
nsample=$(wc -l < "$T/events.jsonl" | tr -d ' ')
cat "$SIGMA/benign_events.jsonl" >> "$T/events.jsonl"
nall=$(wc -l < "$T/events.jsonl" | tr -d ' ')

# ---- the server, with $VC_RULES ------------------------------------------------------
SP=$(free_port)
B=http://127.0.0.1:$SP
VC_RULES=$RULES vc-serve --db "$VC_DB" --listen "127.0.0.1:$SP" --workers 2 2> "$T/serve.log" &
echo $! >> "$T/pids"
await 60 grep -q 'listening on' "$T/serve.log"
like "$(cat "$T/serve.log")" "listening on $B" "vc-serve is up, with VC_RULES set"
VIC=$(login vic)
ANN=$(login ann)
GINA=$(login gina)
like "$VIC $ANN $GINA" '^eyJ.* eyJ.* eyJ' "a viewer, an analyst and globex's admin log in"

# ---- POST /api/threat-intel/score ------------------------------------------------------
post "$VIC" /api/threat-intel/score "$T/events.jsonl" -H "$ACCEPT"
is "$code" 200 "POST /api/threat-intel/score, Accept: application/x-ndjson: 200 for a viewer"
printf '%s\n' "$body" > "$T/scored"
is "$(wc -l < "$T/scored" | tr -d ' ')" "$nall" "one line per row"
jq -c 'del(.vc_score)' "$T/scored" > "$T/x"
jq -c . "$T/events.jsonl" > "$T/y"
cmp -s "$T/x" "$T/y"
ok $? "each row comes back as it went, with vc_score added"
head -n "$nsample" "$T/scored" | jq -r '[.vc_score.indicators[] | select(.kind == "sigma" and .author != null) | .id] | join(" ")' > "$T/got"
is "$(paste -d ' ' "$T/expect" "$T/got" | awk '{ for (i = 2; i <= NF; i++) if ($i == $1) next; print $1 }' | sort -u)" "" \
	"the server's \$VC_RULES flag each sample with its rule, with the rule's author"
is "$(tail -n 20 "$T/scored" | jq -r .vc_score.classification | sort | uniq -c | tr -s ' ')" " 20 benign" \
	"the benign events stay benign"
vc-score --rules "$RULES" "$T/events.jsonl" > "$T/cli"
cmp -s "$T/cli" "$T/scored"
ok $? "the same bytes as vc-score --rules on the command line"
post "$VIC" /api/threat-intel/score "$T/events.jsonl"
is "$code:$(json '.items | length'):$(json .count)" "200:$nall:$nall" "without Accept: one JSON object, items and count"
is "$(jsonc '[.items[].vc_score]')" "$(jq -sc '[.[].vc_score]' "$T/scored")" "with the same scores"
post "$VIC" "/api/threat-intel/score?min=high" "$T/events.jsonl" -H "$ACCEPT"
is "$code:$(printf '%s\n' "$body" | jq -r .vc_score.classification | sort -u | tr '\n' ' ')" "200:critical high " \
	"?min=high: only the rows at high or above"
is "$(printf '%s\n' "$body" | wc -l | tr -d ' ')" "$(jq -r 'select(.vc_score.classification == "high" or .vc_score.classification == "critical") | 1' "$T/scored" | wc -l | tr -d ' ')" \
	"all of them"
printf '%s\n' '{"Name":"a.exe"}' 'not json' '{"Name":"b.exe"}' > "$T/bad.jsonl"
post "$VIC" /api/threat-intel/score "$T/bad.jsonl" -H "$ACCEPT"
is "$code:$(printf '%s\n' "$body" | jq -r '.Name // .warning' | tr '\n' ',')" "200:a.exe,body:2: not JSON,b.exe," \
	"a bad line in the body: a warning in its place, the good rows scored"
post "$VIC" "/api/threat-intel/score?min=severe" "$T/bad.jsonl"
is "$code" 400 "?min= of an unknown level: 400"
req -X POST -H "$NDJSON" --data-binary "@$T/bad.jsonl" "$B/api/threat-intel/score"
is "$code" 401 "no token: 401"
req -X POST -H "Authorization: Bearer $VIC" -H 'Content-Type: text/plain' --data-binary "@$T/bad.jsonl" "$B/api/threat-intel/score"
is "$code" 415 "a body that is not JSON Lines: 415"
call "$VIC" GET /api/threat-intel/heuristics
is "$code:$(json '[.items[].id] | join(" ")')" "200:H001 H002 H003 H004 H005 H006 H007 H008 H009 H010 H011" \
	"GET /api/threat-intel/heuristics: the table"

# ---- IOCs ------------------------------------------------------------------------------------
printf 'type,value,severity,source\nsha256,%s,critical,feed-a\n' "$EVIL_SHA" > "$T/iocs.csv"
post "$VIC" /api/threat-intel/iocs "$T/iocs.csv"
is "$code" 403 "a viewer cannot import IOCs: 403"
post "$ANN" /api/threat-intel/iocs "$T/iocs.csv"
is "$code:$body" '200:{"imported":1,"bad_lines":0}' "POST /api/threat-intel/iocs: an analyst imports a CSV"
call "$VIC" GET /api/threat-intel/iocs
IOC=$(json '.items[0].id')
is "$code:$(json '.items[] | "\(.type) \(.value) \(.severity)"')" "200:sha256 $EVIL_SHA critical" "GET /api/threat-intel/iocs"
grep -m 1 evil.exe "$PS" > "$T/evil.jsonl"
post "$VIC" /api/threat-intel/score "$T/evil.jsonl"
is "$(json '.items[0].vc_score.indicators[] | select(.kind == "ioc") | "\(.id) \(.evidence[0].field)"')" "$IOC Hash.SHA256" \
	"the tenant's IOC scores the evil row, with its evidence"

# ---- analyze --------------------------------------------------------------------------------
call "$VIC" POST "/api/threat-intel/analyze/artifact/$A"
is "$code" 403 "a viewer cannot analyze an artifact: 403"
call "$ANN" POST "/api/threat-intel/analyze/artifact/$A"
is "$code:$(json '"\(.subject_type) \(.subject_id) \(.rows_scored) \(.model_version)"')" "200:artifact $A 2000 vc-score/1" \
	"POST /api/threat-intel/analyze/artifact/{id}: an analyst analyzes it"
is "$(json '[.indicators[].kind] | unique | join(" ")')" "heuristic ioc sigma" \
	"with the server's rules (\$VC_RULES), the IOC and the heuristics"
is "$(json .classification)" critical "critical"
call "$ANN" POST "/api/threat-intel/analyze/artifact/$A"
is "$code:$(sq "SELECT COUNT(*) FROM threat_scores WHERE subject_id = '$A'")" "200:2" "analyzed twice: two rows kept"
call "$VIC" POST "/api/threat-intel/analyze/host/$EH"
is "$code" 403 "a viewer cannot analyze a host: 403"
call "$ANN" POST "/api/threat-intel/analyze/host/$EH"
HID=$(vc-hosts show "$EH" | jq -r .id)
is "$code:$(json '"\(.subject_type) \(.subject_id)"')" "200:host $HID" \
	"POST /api/threat-intel/analyze/host/{client_id}: the host, by its id"
is "$(json '[.indicators[].kind] | unique | join(" ")')" "heuristic ioc model sigma" "with the outlier model too"
call "$ANN" POST "/api/threat-intel/analyze/host/$HID"
is "$code:$(json .subject_id)" "200:$HID" "by host id too"
call "$ANN" POST "/api/threat-intel/analyze/host/$MISSING"
is "$code:$(json .error)" "404:not_found" "a missing host: 404"
call "$ANN" POST "/api/threat-intel/analyze/artifact/$MISSING"
is "$code:$(json .error)" "404:not_found" "a missing artifact: 404"
call "$ANN" GET "/api/threat-intel/analyze/artifact/$A"
like "$code" '^40[45]$' "GET on an analyze route: not allowed"

# ---- GET /api/threat-intel/scores -------------------------------------------------------------
call "$VIC" GET /api/threat-intel/scores
is "$code:$(json '.items | length')" "200:4" "GET /api/threat-intel/scores: a viewer lists the four analyses"
is "$(json '.items | map(.created_at) == (map(.created_at) | sort | reverse)')" true "newest first"
is "$(json '[.items[] | .indicators | type] | unique | join(" ")')" array "indicators as JSON"
call "$VIC" GET "/api/threat-intel/scores?subject=host"
is "$(json '[.items[] | .subject_type] | unique | join(" ")'):$(json '.items | length')" "host:2" "?subject=host"
call "$VIC" GET "/api/threat-intel/scores?subject=artifact&classification=critical"
is "$(json '.items | length'):$(json '[.items[].subject] | unique | join(" ")')" "2:Windows.System.Pslist" \
	"?subject=artifact&classification=critical"
call "$VIC" GET "/api/threat-intel/scores?classification=low"
is "$code:$(json '.items | length')" "200:0" "?classification=low: none"
call "$VIC" GET "/api/threat-intel/scores?min_score=0.95"
is "$(json '(.items | length > 0) and ([.items[] | .score >= 0.95] | all)')" true "?min_score=0.95: those at 0.95 or more"
call "$VIC" GET "/api/threat-intel/scores?min_score=0.999"
is "$(json '.items | length')" 0 "?min_score=0.999: none"
call "$VIC" GET "/api/threat-intel/scores?min_score=2"
is "$code:$(json .error)" "400:bad_request" "?min_score=2: 400"
call "$VIC" GET "/api/threat-intel/scores?since=2099-01-01T00:00:00Z"
is "$code:$(json '.items | length')" "200:0" "?since= a future time: none"
call "$VIC" GET "/api/threat-intel/scores?since=-1h&limit=1"
is "$code:$(json '.items | length')" "200:1" "?since=-1h&limit=1"
call "$VIC" GET "/api/threat-intel/scores?subject=user"
is "$code" 400 "?subject= not host or artifact: 400"
req "$B/api/threat-intel/scores"
is "$code" 401 "no token: 401"

# ---- tenant isolation -------------------------------------------------------------------------
BEFORE=$(sq "SELECT COUNT(*) FROM threat_scores; SELECT COUNT(*) FROM iocs; SELECT COUNT(*) FROM artifact_rows")
call "$GINA" POST "/api/threat-intel/analyze/artifact/$MISSING"
miss="$code:$(printf '%s\n' "$body" | sed "s/$MISSING/KEY/g")"
call "$GINA" POST "/api/threat-intel/analyze/artifact/$A"
is "$code:$(printf '%s\n' "$body" | sed "s/$A/KEY/g")" "$miss" "globex analyzing acme's artifact: 404, as for a missing one"
is "$code" 404 "(404)"
call "$GINA" POST "/api/threat-intel/analyze/host/$MISSING"
miss="$code:$(printf '%s\n' "$body" | sed "s/$MISSING/KEY/g")"
call "$GINA" POST "/api/threat-intel/analyze/host/$EH"
is "$code:$(printf '%s\n' "$body" | sed "s/$EH/KEY/g")" "$miss" "acme's host by client id: 404, as for a missing one"
call "$GINA" POST "/api/threat-intel/analyze/host/$HID"
is "$code" 404 "by host id: 404"
call "$GINA" GET /api/threat-intel/scores
is "$code:$(json '.items | length')" "200:0" "globex lists none of acme's scores"
call "$GINA" GET "/api/threat-intel/scores?subject=artifact"
is "$code:$(json '.items | length')" "200:0" "not even filtered"
call "$GINA" GET /api/threat-intel/iocs
is "$code:$(json '.items | length')" "200:0" "nor acme's IOCs"
call "$GINA" DELETE "/api/threat-intel/iocs/$IOC"
is "$code" 404 "deleting acme's IOC: 404"
post "$GINA" /api/threat-intel/score "$T/evil.jsonl"
is "$code:$(json '[.items[0].vc_score.indicators[] | select(.kind == "ioc")] | length')" "200:0" \
	"acme's IOCs do not score globex's rows"
is "$(sq "SELECT COUNT(*) FROM threat_scores; SELECT COUNT(*) FROM iocs; SELECT COUNT(*) FROM artifact_rows")" "$BEFORE" \
	"acme's scores, IOCs and rows are untouched"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'authz.denied' AND actor_name = 'gina'")" 4 \
	"each attempt on acme's records is audited as authz.denied"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'threat.analyze' AND outcome = 'success'")" 4 \
	"the four analyses are audited"

done_testing
