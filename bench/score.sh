#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/score.sh [ROWS] - vc-score's filter against `jq -c .`, side by side
# in one run: every process_creation Sigma rule shipped in rules/sigma
# (or $VC_BENCH_RULES) over ROWS
# Windows.System.Pslist hunt rows from bench/gen.py (default 1,000,000
# rows from 1000 clients).  For each: wall time, rows/s and peak memory
# (GNU time's maximum resident set size); then the ratio of vc-score's
# time to jq's (target: at most 2x) and vc-score's peak over a tenth of
# the rows (memory is flat when both peaks are the same).  Needs jq and
# /usr/bin/time.  Results go to stdout as Markdown.
set -eu
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
RULES=${VC_BENCH_RULES:-rules/sigma/rules/windows/process_creation}
case $ROWS in '' | *[!0-9]*) echo "usage: bench/score.sh [ROWS]" >&2; exit 64 ;; esac
[ -d "$RULES" ] || { echo "bench: no Sigma rules at $RULES" >&2; exit 66; }
. bench/lib.sh
bench_setup

echo "generating $ROWS rows ..." >&2
bench/gen.py pslist "$ROWS" 1000 > "$W/pslist.jsonl"
TENTH=$((ROWS / 10))
head -n "$TENTH" "$W/pslist.jsonl" > "$W/tenth.jsonl"
echo 'benchmark password 1' | vc-auth init --tenant bench --admin bench --password-stdin > /dev/null
echo 'benchmark password 1' | vc-auth login bench --password-stdin > /dev/null
nrules=$(vc-score rules check "$RULES" | jq -r .rules)
sync

# measure LABEL N OUT CMD...: one run of CMD with stdout to OUT; prints a
# table row and leaves "seconds KiB" in $W/last.
measure() {
	label=$1 n=$2 o=$3
	shift 3
	/usr/bin/time -f '%e %M' -o "$W/t" "$@" > "$o" 2> "$W/err" || {
		echo "bench: $label failed:" >&2
		cat "$W/err" >&2
		exit 1
	}
	cp "$W/t" "$W/last"
	read -r secs kib < "$W/t"
	printf '| %s | %s | %s | %s | %s |\n' "$label" "$n" "$secs" \
	    "$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')" "$((kib / 1024))"
}

size=$(wc -c < "$W/pslist.jsonl")
echo "## vc-score: $nrules Sigma rules over $ROWS Pslist rows ($((size / 1048576)) MiB of JSONL)"
echo
echo "| tool | rows | seconds | rows/s | peak MiB |"
echo "| --- | --- | --- | --- | --- |"
measure "jq -c ." "$ROWS" /dev/null jq -c . "$W/pslist.jsonl"
read -r jq_s _ < "$W/last"
measure "vc-score --rules ($nrules rules)" "$ROWS" /dev/null vc-score --rules "$RULES" "$W/pslist.jsonl"
read -r vc_s vc_k < "$W/last"
measure "vc-score --rules, a tenth of the rows" "$TENTH" "$W/tenth.out" vc-score --rules "$RULES" "$W/tenth.jsonl"
read -r _ tenth_k < "$W/last"
echo
echo "Time against jq -c .: $(awk -v a="$vc_s" -v b="$jq_s" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')" \
    "(target: at most 2x).  Peak memory $((vc_k / 1024)) MiB over $ROWS rows," \
    "$((tenth_k / 1024)) MiB over $TENTH: flat when the two agree."
echo
# What the rules found in the tenth, so that the work done is visible.
count() { sort | uniq -c | sort -k1,1rn -k2 | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 } END { print "" }'; }
echo "Classifications over the first $TENTH rows: $(jq -r .vc_score.classification "$W/tenth.out" | count)."
echo "Indicators: $(jq -r '.vc_score.indicators[] | "\(.kind):\(.id)"' "$W/tenth.out" | count)."
