#!/bin/sh
# SPDX-License-Identifier: MIT
# Parents and prevalence over stored rows: vc-score analyze artifact and
# analyze host resolve a stored Pslist row's Ppid in SQL, within its
# artifact, host and FlowId, so that rules on ParentImage apply; analyze
# hunt scores a hunt's stored rows with parents and prevalence across its
# hosts and ranks the hosts exactly as vc-score --prevalence | vc-score
# top does over the same rows, on the command line and over HTTP;
# another tenant's hunt is not seen.
. "$(dirname "$0")/lib.sh"
init_store

WEB="Suspicious Process By Web Server Process"
# ind FILTER: the indicators of $out (an analysis) that FILTER selects.
ind() { printf '%s\n' "$out" | jq -r ".indicators[] | $1"; }

# ---- parents ------------------------------------------------------------------------------
{
	ps_row 500 4 cmd.exe "$CMD" 'cmd.exe /c whoami' C.1 F.1
	ps_row 4 1 w3wp.exe "$W3WP" 'w3wp.exe -ap DefaultAppPool' C.1 F.1
	ps_row 600 4 cmd.exe "$CMD" 'cmd.exe /c whoami' C.1 F.1
	ps_row 500 4 cmd.exe "$CMD" 'cmd.exe /c whoami' C.2 F.2
	ps_row 700 4 cmd.exe "$CMD" 'cmd.exe /c whoami' C.1 F.9
} > "$T/ps.jsonl"
run vc-case artifact import "$T/ps.jsonl" --name Windows.System.Pslist -o jsonl
A=$(jqr .id)
run vc-score analyze artifact "$A" -o jsonl
is "$rc:$err" "0:" "analyze artifact of stored Pslist rows: exit 0"
is "$(ind "select(.title == \"$WEB\") | .rows")" 2 \
	"the rule on ParentImage fires on the two rows whose parent, in the same client and flow, is w3wp.exe"
is "$(ind "select(.title == \"$WEB\") | .evidence[] | select(.field == \"ParentImage\") | .value")" "$W3WP" \
	"... with the parent's Exe as ParentImage"
is "$(jqr .rows_flagged)" 2 "... and not on the other client's row, nor on the row of another flow"
run vc-score analyze host C.1 -o jsonl
is "$rc:$(ind "select(.title == \"$WEB\") | .rows")" "0:2" "analyze host C.1: the same two rows, parents found"
run vc-score analyze host C.2 -o jsonl
is "$rc:$(ind "select(.title == \"$WEB\") | .rows" | wc -l | tr -d ' ')" "0:0" "analyze host C.2: its row has no parent there"
# One artifact is one collection: a parent stored in another artifact is not taken.
ps_row 4 1 w3wp.exe "$W3WP" 'w3wp.exe -ap DefaultAppPool' C.3 F.3 > "$T/parent.jsonl"
ps_row 900 4 cmd.exe "$CMD" 'cmd.exe /c whoami' C.3 F.3 > "$T/child.jsonl"
vc-case artifact import "$T/parent.jsonl" --name Windows.System.Pslist > /dev/null
vc-case artifact import "$T/child.jsonl" --name Windows.System.Pslist > /dev/null
run vc-score analyze host C.3 -o jsonl
is "$rc:$(ind "select(.title == \"$WEB\") | .rows" | wc -l | tr -d ' ')" "0:0" \
	"a parent in another artifact (another collection) is not the row's parent"
# Rows without ClientId and FlowId, imported for one host: the artifact is the collection.
jq -c 'del(.ClientId, .FlowId)' "$T/ps.jsonl" | head -n 3 > "$T/plain.jsonl"
printf '%s\n' '{"client_id":"C.plain","os_info":{"hostname":"plainhost","system":"windows"}}' |
	vc-hosts import --source velociraptor > /dev/null
run vc-case artifact import "$T/plain.jsonl" --name Windows.System.Pslist --host C.plain --flow F.P -o jsonl
P=$(jqr .id)
run vc-score analyze artifact "$P" -o jsonl
is "$rc:$(ind "select(.title == \"$WEB\") | .rows")" "0:2" "rows without ClientId and FlowId: parents within the artifact"

# ---- a hunt: parents and prevalence ------------------------------------------------------
# Four critical rules on "admintool", one high rule on evil.exe (as 55),
# and one on a shell under a web server.
mkdir -p "$T/rules"
cp "$TOP"/tests/fixtures/prevalence-rules/*.yml "$T/rules/"
cat > "$T/rules/web.yml" <<'EOR'
title: Shell under a web server
id: 00000000-0000-4000-8000-0000000000ab
status: test
author: Tester
level: high
logsource: {category: process_creation, product: windows}
detection: {sel: {ParentImage|endswith: '\w3wp.exe', Image|endswith: '\cmd.exe'}, condition: sel}
EOR
# 20 hosts with admintool; C.99 runs evil.exe, C.98 a shell under w3wp.exe.
admin_hunt "$T/hunt.jsonl"
ps_row 4 1 w3wp.exe "$W3WP" 'w3wp.exe -ap DefaultAppPool' C.98 F.H >> "$T/hunt.jsonl"
ps_row 500 4 cmd.exe "$CMD" 'cmd.exe /c whoami' C.98 F.H >> "$T/hunt.jsonl"
# Stored in two artifacts of the hunt, as two imports of its results.
head -n 20 "$T/hunt.jsonl" > "$T/hunt1.jsonl"
tail -n +21 "$T/hunt.jsonl" > "$T/hunt2.jsonl"
vc-case artifact import "$T/hunt1.jsonl" --name Windows.System.Pslist --hunt H.42 > /dev/null
vc-case artifact import "$T/hunt2.jsonl" --name Windows.System.Pslist --hunt H.42 > /dev/null

run vc-score analyze hunt H.42 --rules "$T/rules" --limit 3 -o jsonl
is "$rc:$err" "0:" "analyze hunt: exit 0"
is "$(jqr '[.host, .classification, .rows, .flagged, .top[0].title] | @tsv' | tr '\t\n' ' ;')" \
	"C.98 high 2 1 Shell under a web server;C.99 high 1 1 Evil;C.1 medium 2 1 Admin tool 1;" \
	"the hosts ranked: the shell under w3wp.exe (a parent found in SQL) and the rare detection first, then the common one"
is "$(printf '%s\n' "$out" | sed -n 3p | jq -c '.top[0] | [.weight, .prevalence.hosts, .prevalence.of, .prevalence.mark]')" \
	'[0.225,20,22,"common"]' "a detection on 20 of the hunt's 22 hosts: common, its weight cut, held at medium"
is "$(printf '%s\n' "$out" | sed -n 2p | jq -c '.top[0].prevalence')" '{"hosts":1,"of":22,"mark":"rare"}' \
	"a detection on one host: rare"
# The same as the filter over the same rows.
vc-score --rules "$T/rules" --prevalence "$T/hunt.jsonl" | vc-score top --limit 30 -o jsonl > "$T/streamed"
run vc-score analyze hunt H.42 --rules "$T/rules" --limit 30 -o jsonl
is "$(printf '%s\n' "$out" | jq -c .)" "$(jq -c . "$T/streamed")" \
	"analyze hunt gives what vc-score --prevalence | vc-score top gives over the same rows"
run vc-score analyze hunt H.42 --rules "$T/rules" --common 100 --limit 30 -o jsonl
is "$(jqr '.top[].prevalence.mark // "-"' | sort -u | tr '\n' ' ')" "- rare " "--common 100: nothing is common"
run vc-score analyze hunt H.42 --rules "$T/rules" --common 0
is "$rc" 64 "--common 0: usage error"
run vc-score analyze hunt H.0
is "$rc:$err" "66:vc-score: hunt H.0: no stored rows (import its results with vc-case artifact import --hunt)" \
	"a hunt without stored rows: exit 66, saying what to do"

# ---- roles and tenants -------------------------------------------------------------------
PW='a long enough password 1'
run_in "$PW" vc-auth user create vic --role viewer --password-stdin
V=$(login_as vic "$PW")
with "$V" vc-score analyze hunt H.42 --rules "$T/rules" -o jsonl
is "$rc:$(jqr .host | head -n 1)" "0:C.98" "a viewer may rank a hunt's hosts (nothing is stored)"
# Over HTTP, for the same viewer: the hosts as the items of the answer.
SP=$(free_port)
VC_RULES=$T/rules vc-serve --db "$VC_DB" --listen "127.0.0.1:$SP" --workers 2 2> "$T/serve.log" &
echo $! >> "$T/pids"
await 60 grep -q 'listening on' "$T/serve.log"
code=$(curl -s --max-time 60 -o "$T/b" -w '%{http_code}' -H "Authorization: Bearer $V" \
	"http://127.0.0.1:$SP/api/threat-intel/analyze/hunt/H.42?limit=2&common=30")
is "$code:$(jq -r '[.items[] | "\(.host) \(.classification)"] | join(";")' "$T/b")" "200:C.98 high;C.99 high" \
	"GET /api/threat-intel/analyze/hunt/H.42?limit=2: 200, the hunt's first hosts"
code=$(curl -s --max-time 60 -o "$T/b" -w '%{http_code}' -H "Authorization: Bearer $V" \
	"http://127.0.0.1:$SP/api/threat-intel/analyze/hunt/H.0")
is "$code" 404 "... a hunt without stored rows: 404"
run vc-auth tenant create globex
run_in "$PW" vc-auth user create gadmin --role admin --tenant globex --password-stdin
G=$(login_as gadmin "$PW")
with "$G" vc-score analyze hunt H.42
is "$rc" 66 "another tenant does not see the hunt's rows: exit 66"

# ---- a transaction that gave way is made again (PostgreSQL) -------------------------------
# iocs import and analyze open their own transactions: one that gave way
# to another (40001) is run again, its effects once.
if [ "$STORE_PG" = 1 ]; then
	printf 'type,value\nfilename,retry-one.exe\nfilename,retry-two.exe\n' > "$T/retry.csv"
	flaky iocs INSERT 2
	flaky audit_logs INSERT 1
	run vc-score ioc import "$T/retry.csv"
	is "$rc:$out" '0:{"imported":2,"bad_lines":0}' "ioc import, a row's transaction given way twice: exit 0, both imported"
	is "$(flaky_hits iocs):$(flaky_hits audit_logs)" "4:2" "... the failures happened (4 inserts for 2 rows, 2 of the audit record)"
	flaky_off iocs
	flaky_off audit_logs
	is "$(sq "SELECT COUNT(*) FROM iocs WHERE value LIKE 'retry-%'")" 2 "... each IOC stored once"
	is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'iocs.import'")" 1 "... one audit record"
	n_sc=$(sq "SELECT COUNT(*) FROM threat_scores WHERE subject_id = '$A'")
	n_au=$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'threat.analyze' AND target_id = '$A'")
	n_ev=$(sq "SELECT COUNT(*) FROM events WHERE type = 'threat_score.created'")
	flaky threat_scores INSERT 2
	run vc-score analyze artifact "$A" -o jsonl
	is "$rc:$err:$(jqr .rows_flagged)" "0::2" "analyze, its transaction given way twice: exit 0, the same result"
	ok $([ "$(flaky_hits threat_scores)" -ge 3 ]; echo $?) "... the failures happened"
	is "$(sq "SELECT COUNT(*) FROM threat_scores WHERE subject_id = '$A'")" $((n_sc + 1)) "... one score row"
	is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'threat.analyze' AND target_id = '$A'")" \
		$((n_au + 1)) "... one audit record"
	is "$(sq "SELECT COUNT(*) FROM events WHERE type = 'threat_score.created'")" $((n_ev + 1)) "... one event"
	flaky threat_scores INSERT 50
	run vc-score analyze artifact "$A" -o jsonl
	is "$rc" 75 "analyze whose transaction gives way every time: exit 75"
	like "$err" 'try again' "... and says to try again"
	flaky_off threat_scores
	is "$(sq "SELECT COUNT(*) FROM threat_scores WHERE subject_id = '$A'"):$(sq "SELECT COUNT(*) FROM events
	    WHERE type = 'threat_score.created'")" "$((n_sc + 1)):$((n_ev + 1))" "... nothing of it stored"
fi

done_testing
