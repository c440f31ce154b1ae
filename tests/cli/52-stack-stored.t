#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-score stack --stored over typed columns (issue 10): for the fields
# an import copies into columns (Name, CommandLine, Username,
# Hash.SHA256) and for fields it does not (read as JSON), the counts
# equal what the store computes with its JSON reading and GROUP BY over the
# same store; rows stored without typed columns (before migration 7),
# rows whose host only the row names, values that are not strings,
# escaped text, case, failed imports and --artifact all agree.
. "$(dirname "$0")/lib.sh"


init_store
"$TOP/bench/gen.py" pslist 3000 40 > "$T/ps.jsonl"
run vc-case artifact import --name Windows.System.Pslist --hunt H.1 "$T/ps.jsonl"
is "$rc:$(jqr .rows)" "0:3000" "3000 Pslist rows stored"
# Rows that test the edges: case and escapes of one name, a name that is
# a number, no host id (the row's Fqdn names the host), a nested hash
# given as a member named "Hash.SHA256".
cat > "$T/edge.jsonl" <<'EOF'
{"Name":"EVIL.EXE","CommandLine":"C:\\Users\\Public\\evil.exe -k","Username":"CORP\\bob","Hash":{"SHA256":"AB"}}
{"Name":"\u0065vil.exe","CommandLine":"\"quoted\" \u00e9t\u00e9","Username":null,"Hash":{"SHA256":"ab"}}
{"Name":42,"CommandLine":["a","b"],"Username":"CORP\\bob","Hash.SHA256":"ab"}
{"Name":"lone.exe","Fqdn":"orphan.corp.example","Hash":{"MD5":"00"}}
{"Pid":7}
EOF
run vc-case artifact import --name Custom.Edge "$T/edge.jsonl"
is "$rc:$(jqr .rows)" "0:5" "5 edge rows stored"
is "$(sq 'SELECT SUM(stack_typed), COUNT(*) FROM artifact_rows')" "3005|3005" "every new row has typed columns"
# A third artifact whose import failed: its rows are not stacked.
run vc-case artifact import --name Windows.System.Pslist "$T/ps.jsonl"
failed=$(jqr .artifact_id)
sq "UPDATE artifacts SET state = 'failed' WHERE id = '$failed'"

# member NAME, path A.B: a row r's JSON member named NAME, or at the path
# A.B, as SQL of the store: SQLite's json_extract, or on PostgreSQL the
# json (not jsonb: a member's text as stored) operator #>>, which gives
# the same text (strings unquoted, the rest as JSON text).
if [ "$STORE_PG" = 1 ]; then
	member() { printf "(r.data::json #>> '{\"%s\"}')" "$1"; }
	path() { printf "(r.data::json #>> '{%s}')" "$(printf '%s' "$1" | tr . ,)"; }
else
	member() { printf "json_extract(r.data, '\$.\"%s\"')" "$1"; }
	path() { printf "json_extract(r.data, '\$.%s')" "$1"; }
fi
# want FIELD [ARTIFACT]: "key hosts rows" lines by the store's own JSON
# reading and GROUP BY, keys lower-cased as the stack folds them.  A dotted field
# is a member of that name if the row has one, else a path (as the stack
# reads it).
want() {
	_e=$(path "$1")
	case $1 in *.*) _e="COALESCE($(member "$1"), $_e)" ;; esac
	_w=""
	[ -z "${2:-}" ] || _w="AND a.name = '$2'"
	sq "SELECT lower(CAST($_e AS TEXT)),
	    COUNT(DISTINCT COALESCE(r.host_id, a.host_id, NULLIF($(path ClientId), ''),
	      NULLIF($(path Fqdn), ''), '(unknown)')), COUNT(*)
	    FROM artifact_rows r JOIN artifacts a ON a.tenant_id = r.tenant_id AND a.id = r.artifact_id
	    WHERE a.state <> 'failed' AND $_e IS NOT NULL $_w
	    GROUP BY 1 ORDER BY 1" | tr '|' ' '
}
sorted() { LC_ALL=C sort; }
# got FIELD [ARTIFACT]: the same lines from vc-score stack --stored.
got() {
	vc-score stack --by "$1" --stored ${2:+--artifact "$2"} |
	    jq -r --arg f "$1" '[(.key[$f] | if type == "string" then . else tojson end | ascii_downcase),
	      .hosts, .rows] | map(tostring) | join(" ")' | LC_ALL=C sort
}
for f in Name CommandLine Username Hash.SHA256 Exe Authenticode.Trusted TokenInfo.Username Pid; do
	w=$(want "$f" | sorted)
	is "$(got "$f")" "$w" "--by $f --stored: the counts of json_extract GROUP BY"
done
is "$(got Name Custom.Edge)" "$(want Name Custom.Edge | sorted)" "--artifact: only that artifact's rows"
run vc-score stack --by Name --stored --artifact Custom.Edge
is "$(jqr 'select(.key.Name == "EVIL.EXE" or .key.Name == "evil.exe") | .rows')" 2 \
	"EVIL.EXE and the escaped \\u0065vil.exe are one key"
is "$(jqr 'select(.key.Name == 42) | .rows')" 1 "a number stays a number"
is "$(jqr 'select(.key.Name == "lone.exe") | .host_ids[0]')" orphan.corp.example \
	"a row without a host id is counted on the host its Fqdn names"

# Rows stored before the typed columns existed are read as JSON: the
# answer does not change.
# keys: the stack's keys (folded), hosts and rows, sorted.
keys() { vc-score stack --by "$1" --stored | jq -c '[(.key | tojson | ascii_downcase), .hosts, .rows]' | sorted; }
before=$(keys Name,Hash.SHA256)
sq "UPDATE artifact_rows SET stack_typed = 0, stack_name = NULL WHERE id % 3 = 0"
is "$(keys Name,Hash.SHA256)" "$before" "rows without typed columns (stack_typed 0) give the same stack"
is "$(got Name)" "$(want Name | sorted)" "and the same counts as json_extract"
# A value the columns cannot hold as text is left to JSON.
printf '%s\n' '{"Name":"\u0002odd"}' | vc-case artifact import --name Custom.Odd > /dev/null
is "$(sq "SELECT stack_typed FROM artifact_rows ORDER BY id DESC LIMIT 1")" 0 \
	"a name that begins with \\x02 is not typed"
run vc-score stack --by Name --stored --artifact Custom.Odd
is "$(jqr '.key.Name | explode[0]')" 2 "and is stacked from its JSON"

done_testing
