#!/bin/sh
# SPDX-License-Identifier: MIT
# EVTX files read natively: vc-case evtx prints parse_evtx() rows (the
# EventData of SigmaHQ's samples as their .json has it); vc-score scores
# an .evtx file and a directory of them (every Windows sample flagged by
# its rule); vc-case artifact import stores an .evtx file's records; a
# damaged chunk or record is a bad line naming the file and the record or
# chunk, and the rest is read; memory stays flat on a large file.
. "$(dirname "$0")/lib.sh"
no_store "the EVTX reader; its one import goes through the writer 22-artifacts.t tests on both"

SIGMA=$TOP/rules/sigma
REG=$SIGMA/regression_data
MK=$TOP/bench/mkevtx.py
init_store

# ---- rows --------------------------------------------------------------------------------
one=$SIGMA/$(jq -r 'select(.category == "registry") | .evtx' "$SIGMA/regression_index_windows.jsonl" | head -n 1)
run vc-case evtx "$one"
is "$rc:$err" "0:" "vc-case evtx FILE: exit 0, nothing on stderr"
is "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" "$(jq -c . "${one%.evtx}.json" | wc -l | tr -d ' ')" \
	"as many rows as the sample's .json has events"
is "$(jqr '[.System.EventID.Value, .System.Channel, .System.Provider.Name, (.System.TimeCreated.SystemTime | type),
	(.System.Execution.ProcessID | type)] | @tsv' | head -n 1)" \
	"$(jq -r '[.Event.System.EventID, .Event.System.Channel, .Event.System.Provider["#attributes"].Name, "number", "number"] | @tsv' "${one%.evtx}.json" | head -n 1)" \
	"System as parse_evtx(): EventID.Value, Channel, Provider.Name, TimeCreated.SystemTime and Execution.ProcessID numbers"

# Every sample's EventData, all 145 files in one directory walk, is the
# .json's (GUIDs keep their braces, values their trailing blanks).
norm='walk(if type == "string" then gsub("[{}]"; "") | sub(" +$"; "") else . end)'
run vc-case evtx "$REG"
is "$rc:$err" "0:" "vc-case evtx DIR: the regression samples, exit 0"
printf '%s\n' "$out" | jq -c ".EventData | $norm" > "$T/ours"
find "$REG" -name '*.json' | sort | while read -r f; do
	jq -c ".Event.EventData | del(.[\"#attributes\"]) | $norm" "$f"
done > "$T/theirs"
is "$(wc -l < "$T/ours" | tr -d ' '):$(cmp -s "$T/ours" "$T/theirs"; echo $?)" "$(wc -l < "$T/theirs" | tr -d ' '):0" \
	"every record's EventData equals the .json's: hex without leading zeros, numbers as numbers"

run vc-case evtx "$SIGMA/benign_events.jsonl"
is "$rc" 64 "vc-case evtx of a JSONL file: usage error"
like "$err" "evtx reads an .evtx file or a directory or ZIP archive of them" "... saying what it reads"
mkdir -p "$T/empty"
run vc-case evtx "$T/empty"
is "$rc" 65 "a directory without .evtx files: exit 65"
like "$err" "empty: a directory without .evtx files" "... naming it"

# ---- scoring -----------------------------------------------------------------------------
mkdir -p "$T/win"
jq -r '[.rule_id, .evtx, (.min_expected_matches // .match_count // 1)] | @tsv' \
	"$SIGMA/regression_index_windows.jsonl" > "$T/index"
while IFS='	' read -r id evtx min; do
	cp "$SIGMA/$evtx" "$T/win/$id.evtx"
done < "$T/index"
run vc-score "$T/win"
is "$rc:$err" "0:" "vc-score DIR of the 47 other-log-source samples' .evtx: exit 0"
# The walk reads the files in byte order of their paths: each file's
# records are the next rows.  Expected: "rule min" a row of its file.
LC_ALL=C sort "$T/index" | while IFS='	' read -r id evtx min; do
	vc-case evtx "$T/win/$id.evtx" | sed "s|.*|$id $min|"
done > "$T/expect"
printf '%s\n' "$out" | jq -r '[.vc_score.indicators[] | select(.kind == "sigma") | .id] | join(" ")' > "$T/got"
is "$(wc -l < "$T/got" | tr -d ' ')" "$(wc -l < "$T/expect" | tr -d ' ')" "... a row for each record"
paste -d ' ' "$T/expect" "$T/got" | awk '
	{ id = $1; need[id] = $2; for (i = 3; i <= NF; i++) if ($i == id) { got[id]++; break } }
	END { for (id in need) if (got[id] + 0 < need[id]) print id " flagged " got[id] + 0 " < " need[id] }' > "$T/missed"
is "$(cat "$T/missed")" "" "every sample's records flagged by its own rule, at least match_count times"

# ---- import ------------------------------------------------------------------------------
run vc-case artifact import "$one" --name Windows.EventLogs.Evtx -o jsonl
is "$rc:$(jqr .rows)" "0:$(vc-case evtx "$one" | wc -l | tr -d ' ')" "vc-case artifact import FILE.evtx: its records stored as rows"
id=$(jqr .id)
run vc-case artifact rows "$id" -o jsonl
is "$(jqr '.System.Channel' | sort -u)" "Microsoft-Windows-Sysmon/Operational" "... as parse_evtx() rows"

# ---- damage ------------------------------------------------------------------------------
files=$(find "$REG" -name '*.evtx' | sort | head -n 2)
# shellcheck disable=SC2086
python3 "$MK" "$T/two.evtx" 2 $files
# shellcheck disable=SC2086
python3 "$MK" --corrupt 0 "$T/bad.evtx" 2 $files
run vc-case evtx "$T/two.evtx"
good=$(printf '%s\n' "$out" | wc -l | tr -d ' ')
second=$(vc-case evtx "$(printf '%s\n' "$files" | sed -n 2p)" | wc -l | tr -d ' ')
run vc-case evtx "$T/bad.evtx"
is "$rc" 65 "a damaged chunk: exit 65"
like "$err" "bad.evtx: record 1 \(chunk 0\): " "... the error names the file, the record and its chunk"
is "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" "$second" "... and the next chunk's records are read ($second of $good)"
# A chunk whose header is gone.
cp "$T/two.evtx" "$T/nohead.evtx"
printf 'XXXXXXXX' | dd of="$T/nohead.evtx" bs=1 seek=4096 conv=notrunc 2>/dev/null
run vc-case evtx "$T/nohead.evtx"
is "$rc:$(printf '%s\n' "$out" | wc -l | tr -d ' ')" "65:$second" "a chunk without its signature: skipped, exit 65, the rest read"
like "$err" "nohead.evtx: chunk 0 \(offset 4096\): no chunk signature" "... naming the chunk and its offset"
# Cut short.
head -c 40000 "$T/two.evtx" > "$T/short.evtx"
run vc-case evtx "$T/short.evtx"
like "$rc:$err" "^65:.*short.evtx: chunk 0 \(offset 4096\): cut short" "a file cut short: the chunk named"
# A score run over damaged input scores what it can read.
run vc-score --rules none "$T/bad.evtx"
is "$rc:$(printf '%s\n' "$out" | wc -l | tr -d ' ')" "65:$second" "vc-score: the readable records scored, exit 65"

# ---- flat memory -------------------------------------------------------------------------
LIMIT=$(mem_limit)
# shellcheck disable=SC2086
python3 "$MK" "$T/big.evtx" 3000 $(find "$REG" -name '*.evtx' | sort)
/usr/bin/time -f %M -o "$T/mem" vc-case evtx "$T/big.evtx" > "$T/big.out" 2> "$T/err"
n=$(wc -l < "$T/big.out" | tr -d ' ')
mem=$(tail -n 1 "$T/mem")
ok $([ "$n" -gt 3000 ] && [ "$mem" -lt "$LIMIT" ]; echo $?) \
	"a 190 MiB file of 3000 chunks: $n rows in $mem KiB (under $LIMIT)"

done_testing
