#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-score --prevalence: each detection weighed by the share of the
# input's hosts it is on: common ones (on >= --common percent of hosts)
# marked and cut to a quarter of their weight, and alone never above
# medium; rare ones marked and kept; every indicator says on how many
# hosts of how many; too few hosts, no marks; --min after the weighing;
# the option checks.
. "$(dirname "$0")/lib.sh"
no_store "vc-score as a filter"
init_store

# Four critical rules on "admintool", one high rule on evil.exe.
mkdir -p "$T/rules"
cp "$TOP"/tests/fixtures/prevalence-rules/*.yml "$T/rules/"
# 20 hosts, each with admintool; a 21st runs evil.exe.
admin_hunt "$T/hunt.jsonl"

run vc-score --rules "$T/rules" "$T/hunt.jsonl"
is "$(jqr 'select(.Name == "admin.exe") | .vc_score.classification' | sort -u)" "critical" \
	"without --prevalence: four critical rules make admintool critical on every host"
run vc-score --rules "$T/rules" --prevalence "$T/hunt.jsonl"
is "$rc:$err:$(printf '%s\n' "$out" | wc -l | tr -d ' ')" "0::41" "--prevalence: exit 0, every row out"
is "$(jqr 'select(.Name == "admin.exe") | .vc_score.indicators[0] | [.prevalence.hosts, .prevalence.of, .prevalence.mark, .weight_before, .weight] | @tsv' | sort -u)" \
	"20	21	common	0.9	0.225" "a detection on every host: common, prevalence {hosts, of}, weight cut from 0.9 to 0.225"
is "$(jqr 'select(.Name == "admin.exe") | "\(.vc_score.score) \(.vc_score.classification)"' | sort -u)" "0.5999 medium" \
	"common detections alone: held at medium (0.5999), not 1 - 0.775^4"
is "$(jqr 'select(.Name == "evil.exe") | .vc_score | "\(.classification) \(.indicators[0].prevalence.mark) \(.indicators[0].prevalence.hosts) \(.indicators[0].weight)"')" \
	"high rare 1 0.75" "a detection on one host: rare, its weight kept, still high"
run vc-score --rules "$T/rules" --prevalence --min high "$T/hunt.jsonl"
is "$(jqr .Name | tr '\n' ' ')" "evil.exe " "--min high after the weighing: only the rare detection"
run vc-score --rules "$T/rules" --prevalence --common 100 "$T/hunt.jsonl"
is "$(jqr 'select(.Name == "admin.exe") | .vc_score.indicators[0].prevalence.mark // "-"' | sort -u)" "-" \
	"--common 100: on 20 of 21 hosts is not common"
# Fewer than 10 hosts: counted, not marked.
head -n 8 "$T/hunt.jsonl" > "$T/small.jsonl"
run vc-score --rules "$T/rules" --prevalence "$T/small.jsonl"
is "$(jqr 'select(.Name == "admin.exe") | "\(.vc_score.indicators[0].prevalence.hosts)/\(.vc_score.indicators[0].prevalence.of) \(.vc_score.indicators[0].prevalence.mark // "-") \(.vc_score.classification)"' | sort -u)" \
	"4/4 - critical" "4 hosts: too few to judge; no mark, weights kept"
# --explain: each indicator's weight before and after, and the score.
run vc-score --rules "$T/rules" --prevalence --explain "$T/hunt.jsonl"
is "$(printf '%s\n' "$out" | head -n 1 | jq -r '.vc_score.explain[0], .vc_score.explain[4]')" \
"sigma \"Admin tool 1\": weight 0.225 (0.9 before prevalence); on 20 of 21 hosts: common
score = 1 - the product of (1 - weight) = 0.6392, held at 0.5999: every indicator is common: medium" \
	"--explain: a line per indicator with its weights and prevalence, then the score and why it is held"
run vc-score --rules "$T/rules" --explain "$T/hunt.jsonl"
is "$(printf '%s\n' "$out" | sed -n 2p | jq -r '.vc_score.explain[]')" "no indicator: score 0: benign" "--explain on a clean row"

# top --by host: the hosts by score, with their top indicators.
vc-score --rules "$T/rules" --prevalence "$T/hunt.jsonl" > "$T/scored"
run vc-score top --by host --limit 2 "$T/scored" -o jsonl
is "$rc:$(jqr '[.host, .score, .classification, .rows, .flagged, (.top | length), .top[0].title] | @tsv' | tr '\t\n' ' ;')" \
	"0:C.99 0.75 high 1 1 1 Evil;C.1 0.5999 medium 2 1 3 Admin tool 1;" \
	"top: the rare detection's host first, then the others by score (then flagged rows, then name), at most 3 indicators each"
is "$(printf '%s\n' "$out" | sed -n 2p | jq -c '.top[0] | [.weight, .rows, .prevalence.mark]')" '[0.225,1,"common"]' \
	"... each indicator with its weight, rows and prevalence"
run vc-score top "$T/hunt.jsonl"
is "$rc" 65 "top of rows that were not scored: exit 65"
like "$err" "without vc_score: give top vc-score's output" "... saying what it takes"

run vc-score --rules "$T/rules" --common 30 "$T/hunt.jsonl"
is "$rc" 64 "--common without --prevalence: usage error"
run vc-score --rules "$T/rules" --prevalence --common 0 "$T/hunt.jsonl"
is "$rc" 64 "--common 0: usage error"
run vc-score --rules "$T/rules" --prevalence --rare 30 "$T/hunt.jsonl"
is "$rc" 64 "--rare not below --common: usage error"

done_testing
