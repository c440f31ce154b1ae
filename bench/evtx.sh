#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/evtx.sh [MIB] [dense|sparse] - EVTX read natively through every
# Windows Sigma rule, against `jq -c .` over the same events as JSON
# Lines, side by side in one run.  The EVTX file (MIB MiB, default 1024)
# is made by bench/mkevtx.py from the 64 KiB chunks of SigmaHQ's
# regression samples (rules/sigma/regression_data): dense (the default),
# each chunk filled with records as a real log's is, by --dense; sparse,
# the samples' chunks as they are (one to five records each), repeated.
# Its JSONL twin is what `vc-case evtx` prints of it.  For each: wall time, records per second
# and peak memory (GNU time's maximum resident set size).  Then the same
# over a tenth of the file, to show that memory does not grow with it.
# Needs jq, python3 and /usr/bin/time.  Results go to stdout as Markdown.
set -eu
cd "$(dirname "$0")/.."
MIB=${1:-1024}
SET=${2:-dense}
case $MIB:$SET in
'' | *[!0-9]*:* | *:*[!a-z]* | *:) echo "usage: bench/evtx.sh [MIB] [dense|sparse]" >&2; exit 64 ;;
*:dense) DENSE=--dense ;;
*:sparse) DENSE= ;;
*) echo "usage: bench/evtx.sh [MIB] [dense|sparse]" >&2; exit 64 ;;
esac
. bench/lib.sh
bench_setup

CHUNKS=$((MIB * 16))
[ "$CHUNKS" -le 65535 ] || { echo "bench: at most 4095 MiB (65535 chunks)" >&2; exit 64; }
echo "making a $MIB MiB EVTX file ($SET chunks) ..." >&2
# shellcheck disable=SC2046,SC2086
python3 bench/mkevtx.py $DENSE "$W/big.evtx" "$CHUNKS" $(find rules/sigma/regression_data -name '*.evtx' | sort)
# shellcheck disable=SC2046,SC2086
python3 bench/mkevtx.py $DENSE "$W/tenth.evtx" "$((CHUNKS / 10))" $(find rules/sigma/regression_data -name '*.evtx' | sort)
echo 'benchmark password 1' | vc-auth init --tenant bench --admin bench --password-stdin > /dev/null
echo 'benchmark password 1' | vc-auth login bench --password-stdin > /dev/null
vc-case evtx "$W/big.evtx" > "$W/big.jsonl"
N=$(wc -l < "$W/big.jsonl" | tr -d ' ')
nrules=$(vc-score rules list -o jsonl | jq -r .rules)
sync

# run_one LABEL N OUT CMD...: CMD once, stdout to OUT; a table row with
# wall and CPU seconds (user + system: the machine is shared, and CPU time
# is what another load does not inflate), records per CPU second and the
# peak resident set; "wall cpu KiB" left in $W/last.
run_one() {
	label=$1 n=$2 o=$3
	shift 3
	if ! /usr/bin/time -f '%e %U %S %M' -o "$W/t" "$@" > "$o" 2> "$W/err"; then
		echo "bench: $label failed:" >&2
		cat "$W/err" >&2
		exit 1
	fi
	awk -v n="$n" -v l="$label" -v w="$W/last" '{ cpu = $2 + $3;
		printf "| %s | %s | %s | %.2f | %.0f | %d |\n", l, n, $1, cpu, (cpu > 0 ? n / cpu : 0), $4 / 1024;
		printf "%s %.2f %s\n", $1, cpu, $4 > w }' "$W/t"
}

echo "## EVTX: $nrules Sigma rules over $N records ($MIB MiB of EVTX, $SET chunks, $(($(wc -c < "$W/big.jsonl") / 1048576)) MiB as JSONL)"
echo
echo "| tool | records | wall s | CPU s | records per CPU s | peak MiB |"
echo "| --- | --- | --- | --- | --- | --- |"
run_one "jq -c . (the JSONL)" "$N" /dev/null jq -c . "$W/big.jsonl"
read -r _ jq_s _ < "$W/last"
run_one "vc-case evtx (read only)" "$N" /dev/null vc-case evtx "$W/big.evtx"
read -r _ rd_s _ < "$W/last"
run_one "vc-score (the EVTX, $nrules rules)" "$N" "$W/scored" vc-score "$W/big.evtx"
read -r _ vc_s vc_k < "$W/last"
run_one "vc-score (the JSONL, $nrules rules)" "$N" /dev/null vc-score "$W/big.jsonl"
run_one "vc-score (a tenth of the EVTX)" "$((N / 10))" /dev/null vc-score "$W/tenth.evtx"
read -r _ _ tenth_k < "$W/last"
echo
echo "CPU time of vc-score over the EVTX against jq -c . over the JSONL: $(awk -v a="$vc_s" -v b="$jq_s" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')" \
    "(target: at most 2x); reading the EVTX alone: $(awk -v a="$rd_s" -v b="$jq_s" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')."
echo "Peak memory $((vc_k / 1024)) MiB over the whole file, $((tenth_k / 1024)) MiB over a tenth: flat when the two agree."
count() { sort | uniq -c | sort -k1,1rn -k2 | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 } END { print "" }'; }
echo "Classifications: $(jq -r .vc_score.classification "$W/scored" | count)."
