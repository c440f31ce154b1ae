#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/prevalence.sh [ROWS] [CLIENTS] - recall and precision of vc-score
# on a generated Pslist hunt (bench/gen.py hunt: each client's process
# tree, administrative PowerShell and an agent's `whoami /priv` on most
# hosts, about one row in a thousand an injected attack), with every
# shipped Windows rule: as scored before issue 15 (no parents, no
# prevalence), with parents, and with --prevalence.  Recall: the share
# of injected rows classified medium or above; precision: the share of
# rows classified high or above that are injected.  Default 1,000,000
# rows over 5000 clients.  Results go to stdout as Markdown.
set -eu
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
CLIENTS=${2:-5000}
case $ROWS$CLIENTS in *[!0-9]*) echo "usage: bench/prevalence.sh [ROWS] [CLIENTS]" >&2; exit 64 ;; esac
. bench/lib.sh
bench_setup
echo "generating $ROWS rows over $CLIENTS clients ..." >&2
bench/gen.py hunt "$ROWS" "$CLIENTS" "$W/truth" > "$W/hunt.jsonl"
echo 'benchmark password 1' | vc-auth init --tenant bench --admin bench --password-stdin > /dev/null
echo 'benchmark password 1' | vc-auth login bench --password-stdin > /dev/null
N=$(wc -l < "$W/hunt.jsonl" | tr -d ' ')
BAD=$(wc -l < "$W/truth" | tr -d ' ')

# judge LABEL OPTIONS...: one run; a table row.
judge() {
	label=$1
	shift
	/usr/bin/time -f '%e' -o "$W/t" vc-score "$@" "$W/hunt.jsonl" > "$W/out"
	jq -r .vc_score.classification "$W/out" > "$W/cls"
	awk -v label="$label" -v secs="$(cat "$W/t")" -v truth="$W/truth" '
		BEGIN { while ((getline l < truth) > 0) bad[l] = 1 }
		{ lvl = ($1 == "critical") ? 4 : ($1 == "high") ? 3 : ($1 == "medium") ? 2 : ($1 == "low") ? 1 : 0
		  if (NR in bad) { nbad++; if (lvl >= 2) found++ }
		  if (lvl >= 3) { high++; if (NR in bad) tp++ } }
		END { printf "| %s | %d of %d (%.1f%%) | %d | %d (%.1f%%) | %s |\n", label, found, nbad,
		      100 * found / nbad, high, tp, (high ? 100 * tp / high : 0), secs }' "$W/cls"
}

echo "## Prevalence: $N Pslist rows over $CLIENTS hosts, $BAD injected attacks"
echo
echo "| vc-score | injected rows at >= medium (recall) | rows at >= high | of them injected (precision) | seconds |"
echo "| --- | --- | --- | --- | --- |"
judge "plain, no parents (--parent-rows 0: the scores before issue 15)" --parent-rows 0
judge "plain"
judge "--prevalence" --prevalence
cp "$W/out" "$W/prev.out"
judge "--prevalence --parent-rows 0 (no parents)" --prevalence --parent-rows 0
echo
count() { sort | uniq -c | sort -k1,1rn -k2 | head -n 8 | awk '{ c = $1; $1 = ""; printf "%s%s x%s", (NR > 1 ? "; " : ""), substr($0, 2), c } END { print "" }'; }
echo "Indicators on rows at >= high, not injected, with --prevalence: $(awk -v truth="$W/truth" '
	BEGIN { while ((getline l < truth) > 0) bad[l] = 1 } !(NR in bad)' "$W/prev.out" |
	jq -r 'select(.vc_score.classification == "high" or .vc_score.classification == "critical") |
	.vc_score.indicators[] | .title' | count)."
