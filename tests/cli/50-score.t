#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-score: the filter over SigmaHQ's regression samples (each flagged by
# its rule, with the rule's author) and over benign events (none flagged);
# rows byte for byte with vc_score appended; the score model (noisy-OR,
# classification); determinism; --min and --fail-on; bad input lines;
# heuristics on gen.py's evil rows; --stack-by rarity and stack; rules
# list and check.  What vc-score keeps in the store: 58-score-store.t.
# Uses the SigmaHQ data of rules/sigma (see its README): without it the test
# fails, it does not skip.
. "$(dirname "$0")/lib.sh"
no_store "vc-score as a filter (58-score-store.t: what it stores)"

SIGMA=$TOP/rules/sigma
RULES=$SIGMA/rules/windows/process_creation
GEN=$TOP/bench/gen.py
unset VC_RULES
lines() { if [ -z "$out" ]; then echo 0; else printf '%s\n' "$out" | wc -l | tr -d ' '; fi; }
cid() { printf 'C.%016x' $((0x1000000000000000 + $1 * 7919)); }
# ind FILTER: jq -r FILTER over the indicators of every row of $out.
ind() { printf '%s\n' "$out" | jq -r ".vc_score.indicators[] | $1"; }
jqc() { printf '%s\n' "$out" | jq -c "$1"; }

if [ -d "$RULES" ] && [ -s "$SIGMA/regression_index.jsonl" ] &&
    [ -s "$SIGMA/benign_events.jsonl" ]; then
	ok 0 "the Sigma data is at $SIGMA"
else
	ok 1 "the Sigma data is at $SIGMA (rules/sigma of the repository)"
	done_testing
	exit 1
fi

init_store

# ---- Sigma: SigmaHQ's regression samples and benign events ---------------------------
# samples.jsonl: every event of every sample, one per line; expect: per
# line, the sample's rule id and how many of its events must match.
jq -r '[.rule_id, .sample, .min_expected_matches, .rule] | @tsv' "$SIGMA/regression_index.jsonl" > "$T/index"
: > "$T/samples.jsonl"
: > "$T/expect"
: > "$T/authors"
while IFS='	' read -r id sample min rule; do
	jq -c . "$SIGMA/$sample" > "$T/one"
	cat "$T/one" >> "$T/samples.jsonl"
	sed "s|.*|$id $min|" "$T/one" >> "$T/expect"
	# The rule's author as its file says it (one line, maybe quoted).
	a=$(sed -n "s/^author: *//p" "$SIGMA/$rule" | sed "s/^'\(.*\)'\$/\1/; s/^\"\(.*\)\"\$/\1/; s/''/'/g")
	printf '%s\t%s\n' "$id" "$a" >> "$T/authors"
done < "$T/index"
nsamples=$(wc -l < "$T/index" | tr -d ' ')
nevents=$(wc -l < "$T/samples.jsonl" | tr -d ' ')
is "$nsamples:$([ "$nevents" -ge "$nsamples" ] && echo ok)" "98:ok" "98 regression samples, $nevents events"

run vc-score --rules "$RULES" "$T/samples.jsonl"
is "$rc:$err" "0:" "scoring the samples with every shared rule: exit 0, nothing on stderr"
printf '%s\n' "$out" > "$T/scored"
is "$(lines)" "$nevents" "one row out per row in"
# For each sample: the events its rule flags, by id, with an author.
jq -r '[.vc_score.indicators[] | select(.kind == "sigma" and (.author | type) == "string" and .author != "")
	| .id] | join(" ")' "$T/scored" > "$T/got"
paste -d ' ' "$T/expect" "$T/got" | awk '
	{ id = $1; need[id] = $2; for (i = 3; i <= NF; i++) if ($i == id) { got[id]++; break } }
	END { for (id in need) if (got[id] + 0 < need[id]) print id " flagged " got[id] + 0 " < " need[id] }' > "$T/missed"
is "$(cat "$T/missed")" "" "each sample's events are flagged by its own rule, at least match_count of them"
# The author of each hit is the rule's author, as DRL 1.1 asks of alerts.
jq -r '.vc_score.indicators[] | select(.kind == "sigma") | [.id, .author] | @tsv' "$T/scored" | sort -u > "$T/hit-authors"
join -t '	' "$T/hit-authors" "$(sort -u "$T/authors" > "$T/authors.s"; echo "$T/authors.s")" |
	awk -F '	' '$2 != $3' > "$T/wrong"
is "$(wc -l < "$T/wrong" | tr -d ' '):$(join -t '	' "$T/hit-authors" "$T/authors.s" | wc -l | tr -d ' ')" \
	"0:$nsamples" "every sample's rule hit carries the author of its rule file"
is "$(jq -r '.vc_score.indicators[] | select(.kind == "sigma") | select((.author | type) != "string" or .author == "") | .id' "$T/scored")" "" \
	"every Sigma indicator, of any rule, carries an author"
id1=$(sed -n '1s/ .*//p' "$T/expect")
is "$(head -n 1 "$T/scored" | jq -r --arg id "$id1" '.vc_score.indicators[] | select(.id == $id) |
	"\(.kind) \(.title) \(.level) \(.evidence | length > 0) \(.evidence[0].field | type) \(.tags | type)"')" \
	"sigma $(sed -n 1p "$SIGMA/regression_index.jsonl" | jq -r '"\(.title) \(.level)"') true string array" \
	"a Sigma indicator: kind, title and level of its rule, evidence fields, tags"
# Sigma weights by level; the score is at least the weight of each hit.
is "$(jq -r '.vc_score.indicators[] | select(.kind == "sigma") | "\(.level) \(.weight)"' "$T/scored" | sort -u | tr '\n' ',')" \
	"$(jq -r '.vc_score.indicators[] | select(.kind == "sigma") | .level' "$T/scored" | sort -u |
	awk '{ w["critical"] = 0.9; w["high"] = 0.75; w["medium"] = 0.5; w["low"] = 0.3; w["informational"] = 0.1; printf "%s %s,", $1, w[$1] }')" \
	"weights by level: critical 0.9, high 0.75, medium 0.5, low 0.3, informational 0.1"

# Every other Windows log source, with the default set (every Windows
# rule): each sample flagged by its rule, whose log source it is.
jq -r '[.rule_id, .sample, (.min_expected_matches // .match_count // 1)] | @tsv' "$SIGMA/regression_index_windows.jsonl" > "$T/windex"
: > "$T/wsamples.jsonl"
: > "$T/wexpect"
while IFS='	' read -r id sample min; do
	jq -c . "$SIGMA/$sample" > "$T/one"
	cat "$T/one" >> "$T/wsamples.jsonl"
	sed "s|.*|$id $min|" "$T/one" >> "$T/wexpect"
done < "$T/windex"
run vc-score "$T/wsamples.jsonl"
is "$rc:$err:$(wc -l < "$T/windex" | tr -d ' ')" "0::47" "the 47 samples of the other Windows log sources, default rules: exit 0"
printf '%s\n' "$out" | jq -r '[.vc_score.indicators[] | select(.kind == "sigma") | .id] | join(" ")' > "$T/wgot"
paste -d ' ' "$T/wexpect" "$T/wgot" | awk '
	{ id = $1; need[id] = $2; for (i = 3; i <= NF; i++) if ($i == id) { got[id]++; break } }
	END { for (id in need) if (got[id] + 0 < need[id]) print id " flagged " got[id] + 0 " < " need[id] }' > "$T/wmissed"
is "$(cat "$T/wmissed")" "" "each is flagged by its own rule, at least match_count times"
run vc-score "$SIGMA/benign_events.jsonl"
is "$rc:$(jqr '.vc_score.indicators | length' | sort -u)" "0:0" "no Windows rule fires on the benign events"

run vc-score --rules "$RULES" "$SIGMA/benign_events.jsonl"
is "$rc:$(lines)" "0:20" "the 20 benign events: exit 0, 20 rows"
is "$(jqr '"\(.vc_score.classification) \(.vc_score.score) \(.vc_score.indicators | length)"' | sort | uniq -c | tr -s ' ')" \
	" 20 benign 0 0" "all benign: score 0, no indicator"
is "$(jqr .vc_score.confidence | sort -u)" 0.58 "confidence of a clean row: Sigma and heuristics looked, 1 - (1 - 0.8/2)(1 - 0.6/2)"

# ---- the score model ---------------------------------------------------------------------
cat "$T/samples.jsonl" "$SIGMA/benign_events.jsonl" > "$T/all.jsonl"
vc-score --rules "$RULES" "$T/all.jsonl" > "$T/all.out"
is "$(jq -r '.vc_score | (reduce .indicators[].weight as $w (1; . * (1 - $w))) as $keep
	| select(((1 - $keep) - .score | fabs) > 0.00006) | .score' "$T/all.out")" "" \
	"every score is the noisy-OR of its indicators' weights, 1 - prod(1 - w)"
is "$(jq -r '.vc_score | select(.classification != (if .score < 0.2 then "benign" elif .score < 0.4 then "low"
	elif .score < 0.6 then "medium" elif .score < 0.8 then "high" else "critical" end)) | .score' "$T/all.out")" "" \
	"classification: benign < 0.2 <= low < 0.4 <= medium < 0.6 <= high < 0.8 <= critical"
is "$(jq -r '.vc_score | select(.score < 0 or .score > 1 or .confidence < 0 or .confidence > 1) | .score' "$T/all.out")" "" \
	"score and confidence in [0, 1]"
is "$(jq -r '.vc_score | select(.indicators | length > 0) | select(([.indicators[].kind] | unique) == ["sigma"]) | .confidence' "$T/all.out" | sort -u)" \
	0.8 "confidence of Sigma evidence alone: 0.8"

# ---- byte for byte, determinism -------------------------------------------------------------
cat > "$T/odd.jsonl" <<'EOF'
{"Big":18446744073709551615,"Inode":9007199254740993,"F":1.50,"E":1e3,"Neg":-0.0}
{"Name":"caf\u00e9 \/tmp","Path":"C:\\Users\\bob","Emoji":"\ud83d\ude00","Tab":"a\tb"}
{ "Spaced" : [ 1 , 2 ] ,"z":1,"a":2,"z2":{"b":null,"a":true}}
{"Name":"dup","Name":"keys"}
  {}
{"CommandLine":"powershell -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=","Exe":"C:\\x\\powershell.exe"}   
EOF
cat "$T/all.jsonl" "$T/odd.jsonl" > "$T/mixed.jsonl"
vc-score --rules "$RULES" "$T/mixed.jsonl" > "$T/mixed.out"
is "$?" 0 "scoring samples, benign events and odd rows: exit 0"
jq -c 'del(.vc_score)' "$T/mixed.out" > "$T/a"
jq -c . "$T/mixed.jsonl" > "$T/b"
same "$T/a" "$T/b" "without vc_score, every row is what came in (jq -c 'del(.vc_score)' = jq -c .)"
sed 's/[ 	]*$//; s/}$//' "$T/mixed.jsonl" > "$T/a"
sed 's/,*"vc_score":{.*}}$//' "$T/mixed.out" > "$T/b"
same "$T/a" "$T/b" "byte for byte: each line is its input with ,\"vc_score\":{...} before the last brace"
is "$(sed -n 's/.*\(.\)"vc_score":{"score":[0-9.e-]*,"confidence":[0-9.e-]*,"classification":"[a-z]*","indicators":\[.*\]}}$/\1/p' "$T/mixed.out" | sort | uniq -c | tr -s ' ' | tr '\n' ',')" \
	" $(($(wc -l < "$T/mixed.jsonl") - 1)) ,, 1 {," "vc_score is the last member: score, confidence, classification, indicators"
is "$(jq -c 'select(.vc_score.indicators | any(.id == "H001")) | .vc_score.indicators[] | select(.id == "H001") | .evidence' "$T/mixed.out")" \
	'[{"field":"CommandLine","value":"powershell -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA="}]' \
	"odd rows are scored too (encoded PowerShell: H001)"
vc-score --rules "$RULES" "$T/mixed.jsonl" > "$T/mixed2.out"
same "$T/mixed.out" "$T/mixed2.out" "same input, same output: two runs are identical"
vc-score --rules "$RULES" - < "$T/mixed.jsonl" > "$T/mixed3.out"
same "$T/mixed.out" "$T/mixed3.out" "from stdin (-) the same"
run_in "$(head -n 1 "$T/mixed.out")" vc-score --rules "$RULES"
is "$(printf '%s\n' "$out" | grep -o '"vc_score"' | wc -l | tr -d ' '):$(jqc .vc_score)" \
	"1:$(head -n 1 "$T/mixed.out" | jq -c .vc_score)" "a scored row scored again: one vc_score, replaced"

# ---- --min and --fail-on -----------------------------------------------------------------------
flagged=$(jq -r 'select(.vc_score.classification != "benign") | 1' "$T/all.out" | wc -l | tr -d ' ')
run vc-score --rules "$RULES" --min low "$T/all.jsonl"
is "$rc:$(lines)" "0:$flagged" "--min low: exit 0, only the $flagged rows at low or above"
is "$(jqr .vc_score.classification | sort -u | grep -c benign)" 0 "none of them benign"
highs=$(jq -r 'select(.vc_score.classification == "high" or .vc_score.classification == "critical") | 1' "$T/all.out" | wc -l | tr -d ' ')
run vc-score --rules "$RULES" --min high "$T/all.jsonl"
is "$rc:$(lines)" "0:$highs" "--min high: the $highs rows at high or critical"
run vc-score --rules "$RULES" --fail-on high "$SIGMA/benign_events.jsonl"
is "$rc:$(lines):$err" "0:20:" "--fail-on high over benign events: exit 0"
run vc-score --rules "$RULES" --fail-on high "$T/all.jsonl"
is "$rc:$(lines)" "1:$(wc -l < "$T/all.jsonl" | tr -d ' ')" "--fail-on high over the samples: exit 1, every row still written"
is "$err" "vc-score: $highs of $(wc -l < "$T/all.jsonl" | tr -d ' ') rows at or above high" "stderr says how many"
run vc-score --rules "$RULES" --fail-on high --min critical "$T/all.jsonl"
is "$rc" 1 "--fail-on counts the rows that --min drops"
run vc-score --rules "$RULES" --fail-on critical --json-errors "$SIGMA/benign_events.jsonl"
is "$rc" 0 "--fail-on critical over benign events: exit 0"
run vc-score --rules "$RULES" --fail-on low --json-errors "$T/all.jsonl"
is "$rc:$(printf '%s\n' "$err" | jq -r '"\(.error) \(.exit)"')" "1:findings 1" "--json-errors: error findings, exit 1"
run vc-score --min severe "$T/all.jsonl"
is "$rc" 64 "--min of an unknown level: exit 64"
run vc-score --fail-on '' "$T/all.jsonl"
is "$rc" 64 "--fail-on of nothing: exit 64"

# ---- bad input ---------------------------------------------------------------------------------
run_in "$(printf '%s\n' '{"Name":"a.exe"}' 'not json' '[1,2]' '' '{"Name":"b.exe"}' '"text"')" vc-score
is "$rc" 65 "bad input lines: exit 65"
is "$(jqr .Name | tr '\n' ' ')" "a.exe b.exe " "the good rows around them are scored"
is "$(jqr .vc_score.classification | sort -u)" benign "(and come out with vc_score)"
is "$err" "vc-score: stdin:2: not JSON
vc-score: stdin:3: expected a JSON object
vc-score: stdin:6: expected a JSON object
vc-score: 3 bad input lines skipped" "each bad line is named with its line number (blank lines counted), then a count"
/usr/bin/python3 -c 'print("{\"a\":\"" + "x" * 1100000 + "\"}"); print("{\"b\":1}")' > "$T/long.jsonl"
run vc-score "$T/long.jsonl"
is "$rc:$(jqc 'del(.vc_score)')" '65:{"b":1}' "a line over 1 MiB: exit 65, the next row scored"
like "$err" "^vc-score: $T/long.jsonl:1: line longer than 1048576 bytes" "named by file and line"
run vc-score "$T/no-such-file.jsonl"
is "$rc" 66 "a missing input file: exit 66"
run_in '{"a":1}' vc-score --rules "$T/no-such-rules"
is "$rc:$out" "66:" "missing rules: exit 66, no row scored"

# ---- rules: --rules repeatable, $VC_RULES ----------------------------------------------------
r1=$SIGMA/$(sed -n 1p "$SIGMA/regression_index.jsonl" | jq -r .rule)
r2=$SIGMA/$(sed -n 2p "$SIGMA/regression_index.jsonl" | jq -r .rule)
id2=$(sed -n 2p "$SIGMA/regression_index.jsonl" | jq -r .rule_id)
s1=$SIGMA/$(sed -n 1p "$SIGMA/regression_index.jsonl" | jq -r .sample)
s2=$SIGMA/$(sed -n 2p "$SIGMA/regression_index.jsonl" | jq -r .sample)
jq -c . "$s1" "$s2" > "$T/two.jsonl"
run vc-score --rules "$r1" --rules "$r2" "$T/two.jsonl"
is "$rc:$(ind 'select(.kind == "sigma") | .id' | sort -u | tr '\n' ' ')" \
	"0:$(printf '%s\n' "$id1" "$id2" | sort | tr '\n' ' ')" "--rules twice, one file each: both rules apply"
run env VC_RULES="$r1:$r2" vc-score "$T/two.jsonl"
is "$rc:$(ind 'select(.kind == "sigma") | .id' | sort -u | tr '\n' ' ')" \
	"0:$(printf '%s\n' "$id1" "$id2" | sort | tr '\n' ' ')" "\$VC_RULES, paths separated by colons: the same"
run env VC_RULES="$T/no-such-rules" vc-score --rules "$r1" "$T/two.jsonl"
is "$rc:$(ind 'select(.kind == "sigma") | .id' | sort -u)" "0:$id1" "--rules wins over \$VC_RULES"
run vc-score "$T/two.jsonl"
is "$rc:$(ind 'select(.kind == "sigma") | .id' | sort -u | tr '\n' ' ')" \
	"0:$(printf '%s\n' "$id1" "$id2" | sort | tr '\n' ' ')" "neither --rules nor \$VC_RULES: the shipped rule set finds both"
run vc-score --rules none "$T/two.jsonl"
is "$rc:$(ind 'select(.kind == "sigma") | .id')" "0:" "--rules none: no Sigma indicator"
run vc-score --rules none --rules "$r1" "$T/two.jsonl"
is "$rc:$err" "64:vc-score: --rules none goes alone" "--rules none with another path: usage error"
run vc-score --rules default --rules "$r1" "$T/two.jsonl"
is "$rc:$(ind 'select(.kind == "sigma") | .id' | sort -u | tr '\n' ' ')" \
	"0:$(printf '%s\n' "$id1" "$id2" | sort | tr '\n' ' ')" "--rules default adds the shipped set to another path"

# ---- rules list: what is loaded, from where ---------------------------------------------------
# The shipped set is every Windows rule; the 8 of file_access and
# file_rename are skipped: no mapping covers their log source.
WIN=$SIGMA/rules/windows
NWIN=$(find "$WIN" -name '*.yml' | wc -l | tr -d ' ')
run vc-score rules list -o jsonl
is "$rc:$(jqr '"\(.origin) \(.rules) \(.skipped)"')" "0:default $((NWIN - 8)) 8" \
	"rules list: the shipped set, every Windows rule, 8 skipped"
is "$(jqr .path)" "$WIN" "... found in the checkout the binary was built in"
run env VC_RULES="$r1:$r2" vc-score rules list -o jsonl
is "$(jqr '"\(.origin) \(.rules)"' | tr '\n' ' ')" '$VC_RULES 1 $VC_RULES 1 ' "rules list: \$VC_RULES replaces the default"
run vc-score rules list --rules default --rules "$r1" -o jsonl
is "$(jqr '"\(.origin) \(.rules)"' | tr '\n' ' ')" "default $((NWIN - 8)) --rules 1 " "rules list: --rules default adds"
# A binary outside any checkout, with no share/ beside it, has no default.
mkdir -p "$T/opt/bin" "$T/opt/share/velocicompanion/sigma/rules"
cp "$BIN/vc-score" "$T/opt/bin/"
run "$T/opt/bin/vc-score" --db "$VC_DB" "$T/two.jsonl"
is "$rc:$out" "78:" "no default rules beside the binary: exit 78, no row scored"
like "$err" "default Sigma rules are not installed" "... and says so"
ln -s "$WIN" "$T/opt/share/velocicompanion/sigma/rules/windows"
run "$T/opt/bin/vc-score" --db "$VC_DB" rules list -o jsonl
like "$(jqr .path)" "^$T/opt/bin/../share/velocicompanion/sigma/rules/windows\$" \
	"installed: BINDIR/../share/velocicompanion/sigma"

# ---- rules check ------------------------------------------------------------------------------
run vc-score rules check "$RULES"
is "$rc:$err" "0:" "rules check of the process_creation rules: exit 0"
is "$(jqr '"\(.rules) \(.skipped) \(.problems | length)"')" "$(find "$RULES" -name '*.yml' | wc -l | tr -d ' ') 0 0" \
	"every rule file loads: the count, none skipped"
mkdir -p "$T/rules"
cp "$r1" "$T/rules/"
cat > "$T/rules/broken.yml" <<'EOF'
title: Broken on purpose
id: 11111111-2222-4333-8444-555555555555
author: test
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\evil.exe'
    condition: selection and nowhere
level: high
EOF
printf 'title: [unclosed\n' > "$T/rules/yaml.yml"
run vc-score rules check "$T/rules"
is "$rc" 65 "rules check of a directory with broken rules: exit 65"
is "$(jqr '"\(.rules) \(.skipped)"')" "1 2" "one rule loads, two are skipped"
is "$(jqc '.problems[] | [(.file | sub(".*/"; "")), .rule_id, .title]' | tr '\n' ' ')" \
	'["broken.yml","11111111-2222-4333-8444-555555555555","Broken on purpose"] ["yaml.yml",null,null] ' \
	"each problem names its file, rule id and title"
like "$err" "vc-score: $T/rules/broken.yml: condition: 'nowhere' is not a search identifier" "the reason is on stderr, with the file"
like "$err" "vc-score: $T/rules/yaml.yml: YAML line" "a YAML error too"
run vc-score --rules "$T/rules" "$T/two.jsonl"
is "$rc:$(ind 'select(.kind == "sigma") | .id' | sort -u)" "0:$id1" "the filter skips the broken rules and runs the good one"
run vc-score rules check "$T/no-such-rules"
is "$rc" 66 "rules check of a missing path: exit 66"

# ---- heuristics ------------------------------------------------------------------------------------
# From here on the other signals are tested alone: no Sigma rules unless named.
export VC_RULES=none
run vc-score heuristics -o json
is "$rc:$(jqr '[.[] | "\(.id)=\(.weight)"] | join(" ")')" \
	"0:H001=0.6 H002=0.6 H003=0.7 H004=0.4 H005=0.5 H006=0.5 H007=0.45 H008=0.6 H009=0.7 H010=0.5 H011=0.5" \
	"heuristics: the table, ids and weights"
PS=$T/ps.jsonl
"$GEN" pslist 2000 20 > "$PS"
EVIL=$(grep -c 'evil\.exe' "$PS")
is "$EVIL" 2 "gen.py pslist 2000 20 has 2 evil.exe rows"
run vc-score "$PS"
is "$rc:$(lines)" "0:2000" "scoring gen.py's rows: 2000 out"
is "$(printf '%s\n' "$out" | jq -c 'select(.vc_score.indicators != []) | [.Name, .vc_score.score, .vc_score.classification,
	.vc_score.confidence, [.vc_score.indicators[] | .id]]' | sort -u)" \
	'["evil.exe",0.4,"medium",0.6,["H004"]]' "only the evil rows: H004, 0.4, medium, confidence 0.6"
is "$(printf '%s\n' "$out" | jq -c 'select(.Name == "evil.exe") | .vc_score.indicators[0] | [.kind, .title, .weight, .evidence]' | sort -u)" \
	'["heuristic","Untrusted or unsigned binary in a user-writable directory",0.4,[{"field":"Exe","value":"C:\\Users\\Public\\evil.exe"},{"field":"Authenticode.Trusted","value":"untrusted"}]]' \
	"with the evidence: Exe and Authenticode.Trusted"
run_in '{"Name":"svchost.exe","Exe":"C:\\Users\\Public\\svchost.exe","Authenticode":{"Trusted":"untrusted"}}' vc-score
is "$(jqc '.vc_score | [.score, .classification, [.indicators[].id]]')" '[0.82,"critical",["H004","H009"]]' \
	"two heuristics combine by noisy-OR: 1 - (1 - 0.4)(1 - 0.7) = 0.82, critical"
run_in '{"Image":"C:\\Windows\\System32\\cmd.exe","ParentImage":"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE","CommandLine":"cmd.exe /c whoami"}' vc-score
is "$(jqc '[.vc_score.indicators[] | .id, (.evidence[] | .field)]')" '["H003","ParentImage","Image"]' \
	"an Office parent of a shell: H003, evidence ParentImage and Image"

# ---- rarity: --stack-by and stack ---------------------------------------------------------------
run vc-score --stack-by Exe --max-hosts 2 "$PS"
is "$rc:$(lines)" "0:2000" "--stack-by Exe --max-hosts 2: 2000 rows"
printf '%s\n' "$out" > "$T/stacked"
jq -c 'del(.vc_score)' "$T/stacked" > "$T/a"
jq -c . "$PS" > "$T/b"
same "$T/a" "$T/b" "in input order, rows unchanged"
is "$(jq -c 'select(.vc_score.indicators | any(.kind == "rarity")) | .vc_score.indicators[] | select(.kind == "rarity")
	| [.id, .title, .weight, .hosts, .fleet, .evidence]' "$T/stacked" | sort | uniq -c | tr -s ' ')" \
	' 2 ["rarity:Exe","seen on 2 of 20 hosts",0.2,2,20,[{"field":"Exe","value":"C:\\Users\\Public\\evil.exe"}]]' \
	"the evil rows, on 2 of 20 hosts: rarity weight 0.4 * (ln 20/ln 100) * (1 - ln 2/ln 20) = 0.2"
is "$(jq -r 'select(.Name == "evil.exe") | "\(.vc_score.score) \(.vc_score.classification) \(.vc_score.confidence)"' "$T/stacked" | sort -u)" \
	"0.52 medium 0.76" "with H004: 1 - 0.6 * 0.8 = 0.52; confidence 1 - 0.4 * 0.6"
run vc-score --stack-by Exe "$PS"
is "$(ind 'select(.kind == "rarity") | .id')" "" "--stack-by Exe alone (at most 1 host): nothing that rare"
run vc-score --stack-by ',' "$PS"
is "$rc" 64 "--stack-by of no field: exit 64"
run vc-score --stack-by Exe --max-hosts -1 "$PS"
is "$rc:$out" "64:" "--max-hosts below 0: exit 64, no row"
head -n 100 "$PS" | jq -c 'select(.ClientId == "'"$(cid 1)"'" or .ClientId == "'"$(cid 2)"'")' > "$T/few.jsonl"
run vc-score --stack-by Exe "$T/few.jsonl"
is "$(ind 'select(.kind == "rarity") | .id')" "" "fewer than 5 hosts: no rarity at all"

run vc-score stack --by Exe "$PS"
is "$rc" 0 "stack --by Exe: exit 0"
printf '%s\n' "$out" > "$T/stack"
is "$(head -n 1 "$T/stack" | jq -c '[.key, .hosts, .rows, (.host_ids | sort)]')" \
	"$(jq -c 'select(.Name == "evil.exe") | .ClientId' "$PS" | jq -sc '[{"Exe":"C:\\Users\\Public\\evil.exe"}, 2, 2, sort]')" \
	"rarest first: evil.exe on 2 hosts, 2 rows, with the host ids"
is "$(jq -s -c '[map(.hosts) == (map(.hosts) | sort), (map(.rows) | add), length]' "$T/stack")" \
	"[true,2000,$(jq -r .Exe "$PS" | sort -u | wc -l | tr -d ' ')]" "hosts ascending; the rows add up to 2000; one entry per executable"
run vc-score stack --by Exe --max-hosts 2 "$PS"
is "$(jqc .key)" '{"Exe":"C:\\Users\\Public\\evil.exe"}' "--max-hosts 2: only the keys on at most 2 hosts"
run vc-score stack --by Name,Hash.SHA256 --max-hosts 2 "$PS"
is "$(jqc '.key | keys_unsorted')" '["Name","Hash.SHA256"]' "--by two fields, one a dotted path"
run_in "$(printf '%s\n' '{"ClientId":"C.1","Exe":"C:\\Windows\\system32\\x.exe"}' '{"ClientId":"C.2","Exe":"C:\\WINDOWS\\System32\\X.EXE"}')" \
	vc-score stack --by Exe
is "$(jqc '[.key.Exe, .hosts, .rows]')" '["C:\\Windows\\system32\\x.exe",2,2]' "keys group without regard to case; the first spelling is shown"
run vc-score stack "$PS"
is "$rc" 64 "stack without --by: exit 64"
run vc-score stack --by Exe --max-hosts -1 "$PS"
is "$rc" 64 "stack --max-hosts below 0: exit 64"

done_testing
