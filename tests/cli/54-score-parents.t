#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-score: Pslist rows get their parent (vc_parent) from the rows of the
# same collection (ClientId + FlowId), before or after them, so that rules
# on ParentImage and ParentCommandLine apply to them; the bound of rows
# held; --parent-rows 0; the output order; rescoring scored rows.
. "$(dirname "$0")/lib.sh"
no_store "vc-score as a filter"
init_store

{
	ps_row 500 4 cmd.exe "$CMD" 'cmd.exe /c whoami' C.1 F.1
	ps_row 4 1 w3wp.exe "$W3WP" 'w3wp.exe -ap DefaultAppPool' C.1 F.1
	ps_row 600 4 cmd.exe "$CMD" 'cmd.exe /c whoami' C.1 F.1
	ps_row 500 4 cmd.exe "$CMD" 'cmd.exe /c whoami' C.2 F.2
} > "$T/ps.jsonl"
WEB="Suspicious Process By Web Server Process"

run vc-score "$T/ps.jsonl"
is "$rc:$err" "0:" "vc-score over Pslist rows: exit 0"
is "$(jqr '[.ClientId, .Pid, (.vc_parent.Name // "-")] | @tsv' | tr '\t\n' ' ;')" \
	"C.1 500 w3wp.exe;C.1 4 -;C.1 600 w3wp.exe;C.2 500 -;" \
	"each row in input order; a parent found after its child and before it, in the same collection only"
is "$(printf '%s\n' "$out" | head -n 1 | jq -c .vc_parent)" \
	"{\"Pid\":4,\"Name\":\"w3wp.exe\",\"Exe\":\"$(printf '%s' "$W3WP" | sed 's/\\/\\\\/g')\",\"CommandLine\":\"w3wp.exe -ap DefaultAppPool\"}" \
	"vc_parent: the parent's Pid, Name, Exe and CommandLine"
is "$(jqr "[.Pid, .vc_score.classification, ([.vc_score.indicators[].title] | index(\"$WEB\") != null)] | @tsv" | tr '\t\n' ' ;')" \
	"500 high true;4 benign false;600 high true;500 benign false;" \
	"a rule on ParentImage fires on the rows whose parent is w3wp.exe, not on the other client's"
is "$(printf '%s\n' "$out" | head -n 1 | jq -r '.vc_score.indicators[] | .evidence[] | select(.field == "ParentImage") | .value')" \
	"$W3WP" "... with ParentImage as its evidence"
# Byte for byte: only vc_parent and vc_score are added.
is "$(printf '%s\n' "$out" | jq -c 'del(.vc_score, .vc_parent)')" "$(jq -c . "$T/ps.jsonl")" "the rows are otherwise as they came"

# Rescoring scored output: the parent is kept, not looked up again.
printf '%s\n' "$out" > "$T/scored"
run vc-score "$T/scored"
is "$(jqr '[.vc_parent.Name // "-", .vc_score.classification] | @tsv' | tr '\t\n' ' ;')" \
	"w3wp.exe high;- benign;w3wp.exe high;- benign;" "rescoring keeps vc_parent and the score"

run vc-score --parent-rows 0 "$T/ps.jsonl"
is "$rc:$(jqr '.vc_parent // "-"' | sort -u):$(jqr .vc_score.classification | sort -u)" "0:-:benign" \
	"--parent-rows 0: no parents, and the rule does not fire"
# The bound: with two rows held, the third row's parent was written
# before it came.
run vc-score --parent-rows 2 "$T/ps.jsonl"
is "$(jqr '.vc_parent.Name // "-"' | tr '\n' ' ')" "w3wp.exe - - - " "--parent-rows 2: only a parent held with the row is found"
run vc-score --parent-rows -1 "$T/ps.jsonl"
is "$rc" 64 "--parent-rows -1: usage error"
# A row of another shape ends the collection held (the order is kept).
{
	ps_row 500 4 cmd.exe "$CMD" 'cmd.exe /c whoami' C.1 F.1
	echo '{"Note":"not a process"}'
	ps_row 4 1 w3wp.exe "$W3WP" 'w3wp.exe -ap DefaultAppPool' C.1 F.1
} > "$T/mixed.jsonl"
run vc-score "$T/mixed.jsonl"
is "$(jqr '[(.Pid // "x"), (.vc_parent.Name // "-")] | @tsv' | tr '\t\n' ' ;')" "500 -;x -;4 -;" \
	"a row of another shape between them: in order, the collection ended"
# One file without ClientId and FlowId is one collection.
jq -c 'del(.ClientId, .FlowId)' "$T/ps.jsonl" | head -n 3 > "$T/plain.jsonl"
run vc-score "$T/plain.jsonl"
is "$(jqr '.vc_parent.Name // "-"' | tr '\n' ' ')" "w3wp.exe - w3wp.exe " "rows without ClientId and FlowId: the file is one collection"

done_testing
