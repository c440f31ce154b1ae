#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-case artifact: import of Velociraptor hunt results (rows kept byte for
# byte, each linked to its host by ClientId), --host and --case, rows with
# --where, --host, --limit and --offset; bad lines and --strict; flat
# memory over 200000 rows; list filters, sorting and paging; delete;
# on PostgreSQL, transactions of an import that gave way run again;
# roles; tenant isolation.
. "$(dirname "$0")/lib.sh"

GEN=$TOP/bench/gen.py
PW='sturdy tuna lantern'
skip() { _n=$((_n + 1)); echo "ok $_n # skip $1"; }
# lines: the lines of $out (0 for none).
lines() { if [ -z "$out" ]; then echo 0; else printf '%s\n' "$out" | wc -l | tr -d ' '; fi; }
# cid N: the client id gen.py gives client N.
cid() { printf 'C.%016x' $((0x1000000000000000 + $1 * 7919)); }
# art ID FILTER: jq FILTER over `vc-case artifact show ID`.
art() { vc-case artifact show "$1" | jq -r "$2"; }
MISSING=0b0e5a5e-0000-4000-8000-000000000000

init_store
for u in "vic viewer" "ann analyst" "ada admin"; do
	set -- $u
	run_in "$PW" vc-auth user create "$1" --role "$2" --password-stdin
done
VIC=$(login_as vic "$PW")
ANN=$(login_as ann "$PW")
ADA=$(login_as ada "$PW")
like "$VIC $ANN $ADA" '^eyJ.* eyJ.* eyJ' "viewer, analyst and admin log in"

# ---- a hunt's results ---------------------------------------------------------
PS=$T/ps.jsonl
"$GEN" pslist 2000 20 > "$PS"
is "$(wc -l < "$PS" | tr -d ' '):$(jq -r .ClientId "$PS" | sort -u | wc -l | tr -d ' ')" "2000:20" \
	"gen.py: 2000 rows from 20 clients"
with "$ANN" vc-case artifact import "$PS" --name Windows.System.Pslist --hunt H.1
is "$rc" 0 "an analyst imports hunt results: exit 0"
is "$err" "" "nothing on stderr"
is "$(jqr '"\(.name) \(.rows) \(.bad_lines) \(.hosts_created)"')" "Windows.System.Pslist 2000 0 20" \
	"2000 rows, no bad line, 20 hosts made"
A1=$(jqr .id)
is "$(sq "SELECT COUNT(*) FROM artifact_rows WHERE artifact_id='$A1'")" 2000 "2000 rows stored"
vc-case artifact rows "$A1" > "$T/rows.out"
is "$?" 0 "artifact rows: exit 0"
same "$T/rows.out" "$PS" "the rows come out byte for byte as they went in, in order"
sq "SELECT data FROM artifact_rows WHERE artifact_id='$A1' ORDER BY id" > "$T/stored"
same "$T/stored" "$PS" "and are stored so"
# Rows whose text a JSON library would not give back the same way.
cat > "$T/odd.jsonl" <<'EOF'
{"Big":18446744073709551615,"Inode":9007199254740993,"F":1.50,"E":1e3,"Neg":-0.0}
{"Name":"caf\u00e9 \/tmp","Path":"C:\\Users\\bob","Emoji":"\ud83d\ude00","Tab":"a\tb"}
{ "Spaced" : [ 1 , 2 ] ,"z":1,"a":2,"z2":{"b":null,"a":true}}
{"Name":"dup","Name":"keys"}
EOF
run vc-case artifact import "$T/odd.jsonl" --name Odd
is "$rc:$(jqr .rows)" "0:4" "odd rows import"
vc-case artifact rows "$(jqr .id)" > "$T/odd.out"
same "$T/odd.out" "$T/odd.jsonl" "big integers, number spellings, escapes, spacing, key order and duplicate keys survive"

# Each row belongs to the host of its ClientId.  row_client: a row r's
# ClientId, in the store's dialect.
row_client="json_extract(r.data, '\$.ClientId')"
[ "$STORE_PG" = 1 ] && row_client="(r.data::jsonb ->> 'ClientId')"
is "$(sq "SELECT COUNT(*) FROM artifact_rows r JOIN hosts h ON h.tenant_id = r.tenant_id AND h.id = r.host_id
	WHERE r.artifact_id='$A1' AND h.client_id = $row_client")" 2000 \
	"every row is linked to the host of its ClientId"
run vc-hosts list --limit 1000
is "$(lines)" 20 "vc-hosts lists the 20 hosts"
is "$(printf '%s\n' "$out" | jq -r .client_id | sort | tr '\n' ' ')" "$(jq -r .ClientId "$PS" | sort -u | tr '\n' ' ')" \
	"with the hunt's client ids"
is "$(printf '%s\n' "$out" | jq -r .hostname | grep -Evc '^ws[0-9]{5}$')" 0 "named wsNNNNN"
is "$(printf '%s\n' "$out" | jq -r '"\(.client_id) \(.hostname) \(.fqdn)"' | sort | tr '\n' ',')" \
	"$(jq -r '"\(.ClientId) \(.Fqdn | split(".")[0]) \(.Fqdn)"' "$PS" | sort -u | tr '\n' ',')" \
	"each named after its own Fqdn, which it keeps"
is "$(printf '%s\n' "$out" | jq -r .source | sort -u)" hunt "source hunt"
run vc-case artifact show "$A1"
is "$rc" 0 "artifact show: exit 0"
is "$(jqr '"\(.row_count) \(.state) \(.hosts) \(.bad_rows) \(.hunt_id) \(.name) \(.created_by)"')" \
	"2000 complete 20 0 H.1 Windows.System.Pslist ann" "show: row_count, state complete, 20 hosts, the hunt"
like "$(jqr '.created_at + " " + .updated_at')" '^[0-9-]{10}T[0-9:]{8}Z [0-9-]{10}T[0-9:]{8}Z$' "times in RFC 3339 UTC"

# A hunt over clients the tenant already has: they are used, not made again.
vc-hosts import > /dev/null <<EOF
{"client_id":"$(cid 25)","hostname":"known25","ip":"10.0.0.25"}
EOF
"$GEN" pslist 300 30 > "$T/ps30.jsonl"
with "$ANN" vc-case artifact import "$T/ps30.jsonl" --name Windows.System.Pslist --hunt H.2
is "$rc:$(jqr .hosts_created)" "0:9" "a hunt over 30 clients, 21 known: 9 hosts made"
A2=$(jqr .id)
is "$(vc-hosts list --count)" '{"count":30}' "30 hosts now, no duplicates"
is "$(sq "SELECT DISTINCT h.hostname FROM artifact_rows r JOIN hosts h ON h.id = r.host_id
	WHERE r.artifact_id='$A2' AND $row_client = '$(cid 25)'")" known25 \
	"rows of a known client link to that host, whatever its name"
is "$(vc-hosts show "$(cid 25)" | jq -r '.hostname + " " + .ip')" "known25 10.0.0.25" "which keeps its facts"

# ---- --host --------------------------------------------------------------------------
vc-hosts import > /dev/null <<'EOF'
{"client_id":"C.beef000000000001","hostname":"victim","ip":"10.9.8.7"}
EOF
VICTIM=$(vc-hosts show C.beef000000000001 | jq -r .id)
head -n 100 "$PS" > "$T/ps100.jsonl"
with "$ANN" vc-case artifact import "$T/ps100.jsonl" --name Windows.System.Pslist --host C.beef000000000001 --flow F.CABC123.H
is "$rc:$(jqr '"\(.rows) \(.hosts_created)"')" "0:100 0" "--host: 100 rows, no host made"
A3=$(jqr .id)
is "$(sq "SELECT COUNT(*) FROM artifact_rows WHERE artifact_id='$A3' AND host_id='$VICTIM'")" 100 \
	"every row is linked to the --host host, whatever its ClientId"
is "$(art "$A3" '"\(.host_id) \(.host) \(.client_id) \(.hosts) \(.flow_id)"')" \
	"$VICTIM victim C.beef000000000001 1 F.CABC123.H" "show names the host and the flow"
run vc-case artifact import "$T/ps100.jsonl" --name Windows.System.Pslist --host "$MISSING"
is "$rc:$err" "66:vc-case: no such host: $MISSING" "--host of a missing host: exit 66"
is "$(sq "SELECT COUNT(*) FROM artifacts")" 4 "and no artifact made"
run vc-case artifact import "$T/ps100.jsonl" --name 'bad;name'
is "$rc" 64 "a bad artifact name: usage error"
run vc-case artifact import "$T/ps100.jsonl"
is "$rc" 64 "no --name: usage error"

# ---- --case ----------------------------------------------------------------------------
run vc-case create "Evil on the workstations"
if [ "$rc" -eq 0 ] && [ -n "$(jqr '.id // empty')" ]; then
	CASE=$(jqr .id)
	with "$ANN" vc-case artifact import "$T/ps100.jsonl" --name Windows.System.Pslist --case "$CASE"
	is "$rc" 0 "--case: exit 0"
	A4=$(jqr .id)
	is "$(art "$A4" .case_id)" "$CASE" "the artifact names its case"
	run vc-case show "$CASE"
	is "$(jqr '[.links[] | select(.kind == "artifact") | .target_id] | join(" ")')" "$A4" "the case links the artifact"
	run vc-case artifact list --case "$CASE"
	is "$(jqr .id)" "$A4" "artifact list --case"
	run vc-case artifact import "$T/ps100.jsonl" --name Windows.System.Pslist --case "$MISSING"
	is "$rc" 66 "--case of a missing case: exit 66"
else
	A4=""
	for d in "--case: exit 0" "the artifact names its case" "the case links the artifact" \
	    "artifact list --case" "--case of a missing case: exit 66"; do
		skip "$d: vc-case create does not work yet ($rc: $err)"
	done
fi
n_art=$(sq "SELECT COUNT(*) FROM artifacts")

# ---- rows: --where, --limit, --offset, --host -----------------------------------------
run vc-case artifact rows "$A1" --where '.Name == "evil.exe"'
is "$rc" 0 "rows --where: exit 0"
printf '%s\n' "$out" > "$T/evil.out"
jq -c 'select(.Name == "evil.exe")' "$PS" > "$T/evil.want"
ok "$([ -s "$T/evil.want" ]; echo $?)" "the input has evil.exe rows ($(wc -l < "$T/evil.want" | tr -d ' '))"
same "$T/evil.out" "$T/evil.want" "--where returns exactly the evil.exe rows, in order"
grep '"Name":"evil.exe"' "$PS" > "$T/evil.raw"
same "$T/evil.out" "$T/evil.raw" "as they are in the input"
run vc-case artifact rows "$A1" --where '.Authenticode.Trusted == "untrusted" and .TokenIsElevated'
is "$out" "$(jq -c 'select(.Authenticode.Trusted == "untrusted" and .TokenIsElevated)' "$PS")" "--where on nested members"
run vc-case artifact rows "$A1" --where '.Name =='
is "$rc" 64 "a jq syntax error: usage error"
like "$err" '^vc-case: --where: jq: error: syntax error' "with jq's message"
is "$out" "" "and no rows"
run vc-case artifact rows "$A1" --where 'nosuchfunction(1)'
like "$rc:$err" '^64:vc-case: --where: jq: error: nosuchfunction/1 is not defined' "an unknown jq function: usage error"
run vc-case artifact rows "$A3" --where '.Pid | test("1")'
is "$rc:$out" "65:" "a jq error on the rows themselves: exit 65, no rows"
like "$err" '^vc-case: --where failed on 100 rows, skipped \(first: row 1: .*cannot be matched' "the failing rows are reported once, with a count and the first error"
run vc-case artifact rows "$A1" --offset 10 --limit 5
is "$out" "$(sed -n '11,15p' "$PS")" "--offset 10 --limit 5: rows 11 to 15"
run vc-case artifact rows "$A1" --where '.Name == "evil.exe"' --offset 2 --limit 3
is "$out" "$(sed -n '3,5p' "$T/evil.want")" "--offset and --limit count the rows --where keeps"
run vc-case artifact rows "$A1" --offset 1999
is "$out" "$(tail -n 1 "$PS")" "--offset 1999: the last row"
run vc-case artifact rows "$A1" --offset 2000
is "$rc:$out" "0:" "--offset past the end: nothing, exit 0"
run vc-case artifact rows "$A1" --limit -1
is "$rc" 64 "--limit -1: usage error"
run vc-case artifact rows "$A1" --host "$(cid 3)"
is "$out" "$(grep "\"ClientId\":\"$(cid 3)\"" "$PS")" "--host: exactly that host's rows, in order"
run vc-case artifact rows "$A1" --host "$(vc-hosts show "$(cid 3)" | jq -r .id)" --where '.Name == "svchost.exe"'
is "$out" "$(grep "\"ClientId\":\"$(cid 3)\"" "$PS" | grep '"Name":"svchost.exe"')" "--host by host id, with --where"
run vc-case artifact rows "$A1" --host "$MISSING"
is "$rc" 66 "--host of a missing host: exit 66"
run vc-case artifact rows "$MISSING"
is "$rc:$err" "66:vc-case: no such artifact: $MISSING" "rows of a missing artifact: exit 66"

# ---- bad lines -------------------------------------------------------------------------
BAD=$T/bad.jsonl
{
	sed -n 1p "$PS"
	echo '[1,2,3]'
	echo '{"Name":"broken",'
	sed -n 2p "$PS"
	printf '{"Name":"huge","Pad":"'
	head -c 1100000 /dev/zero | tr '\0' A
	printf '"}\n'
	sed -n 3p "$PS"
	echo '"a string"'
	echo ''
	sed -n 4p "$PS"
} > "$BAD"
is "$(awk 'NR == 5 { print (length($0) > 1048576) }' "$BAD")" 1 "line 5 of the input is over 1 MiB"
run vc-case artifact import "$BAD" --name Bad
is "$rc" 65 "bad lines: exit 65"
like "$err" "^vc-case: $BAD:2: expected a JSON object" "a non-object: FILE:2"
like "$err" "^vc-case: $BAD:3: " "a malformed line: FILE:3"
like "$err" "^vc-case: $BAD:5: line longer than 1048576 bytes" "the over-long line: FILE:5"
like "$err" "^vc-case: $BAD:7: expected a JSON object" "a string: FILE:7"
is "$(printf '%s\n' "$err" | grep -c "^vc-case: $BAD:[0-9]*: ")" 4 "exactly the 4 bad lines are reported"
like "$err" "^vc-case: 4 bad input lines skipped\$" "and counted at the end"
is "$(jqr '"\(.rows) \(.bad_lines)"')" "4 4" "the result: 4 rows, 4 bad"
ABAD=$(jqr .id)
is "$(art "$ABAD" '"\(.row_count) \(.bad_rows) \(.state)"')" "4 4 complete" "show counts bad_rows; the import is complete"
vc-case artifact rows "$ABAD" > "$T/bad.out"
sed -n 1,4p "$PS" > "$T/bad.want"
same "$T/bad.out" "$T/bad.want" "the good rows around the bad ones are kept"
run_from "$BAD" vc-case artifact import --name Bad
is "$rc" 65 "from stdin: exit 65"
like "$err" "^vc-case: stdin:3: " "from stdin the input is named stdin"
like "$err" "^vc-case: stdin:7: expected a JSON object" "with the right line numbers"
run vc-case artifact import "$T/no-such-file" --name Bad
is "$rc" 66 "a missing input file: exit 66"

# ---- --strict --------------------------------------------------------------------------
{ sed -n 1,3p "$PS"; echo '[]'; sed -n 4,6p "$PS"; } > "$T/strict.jsonl"
run vc-case artifact import "$T/strict.jsonl" --name Strict --strict
is "$rc" 65 "--strict: exit 65"
like "$err" "^vc-case: $T/strict.jsonl:4: expected a JSON object" "reports the bad line"
like "$err" "^vc-case: stopped at the first bad line \(--strict\)" "and says it stopped"
is "$out" "" "prints no result"
AS=$(printf '%s\n' "$err" | sed -n 's/.*(artifact \([0-9a-f-]*\) failed).*/\1/p')
is "$(art "$AS" '"\(.state) \(.row_count) \(.bad_rows)"')" "failed 0 1" "the artifact says failed, with no rows"
is "$(sq "SELECT COUNT(*) FROM artifact_rows WHERE artifact_id='$AS'")" 0 "no row of the batch is stored"
run vc-auth audit list --action artifacts.import --outcome failure
is "$(jqr "select(.target_id == \"$AS\") | .reason")" "stopped at the first bad line (--strict)" "the failed import is audited"

# ---- flat memory ------------------------------------------------------------------------
BIG=$T/big.jsonl
LIMIT=$(mem_limit)
"$GEN" pslist 200000 100 > "$BIG"
/usr/bin/time -f %M -o "$T/rss" vc-case artifact import "$BIG" --name Windows.System.Pslist --hunt H.BIG > "$T/out" 2> "$T/err"
is "$?:$(jq -r '"\(.rows) \(.bad_lines)"' "$T/out")" "0:200000 0" "200000 rows import"
rss=$(tail -n 1 "$T/rss")
[ "$rss" -gt 0 ] && [ "$rss" -lt "$LIMIT" ]
ok $? "import of 200000 rows: max RSS $rss KiB < $LIMIT KiB"
ABIG=$(jq -r .id "$T/out")
/usr/bin/time -f %M -o "$T/rss" vc-case artifact rows "$ABIG" > "$T/big.out"
is "$?" 0 "rows of the big artifact: exit 0"
is "$(wc -l < "$T/big.out" | tr -d ' ')" 200000 "rows | wc -l: 200000"
rss=$(tail -n 1 "$T/rss")
[ "$rss" -gt 0 ] && [ "$rss" -lt "$LIMIT" ]
ok $? "rows of 200000: max RSS $rss KiB < $LIMIT KiB"
same "$T/big.out" "$BIG" "and byte for byte the input"
rm -f "$T/big.out"
( vc-case artifact rows "$ABIG" 2> "$T/err"; echo $? > "$T/st" ) | head -n 3 > "$T/head3"
is "$(wc -l < "$T/head3" | tr -d ' ')" 3 "rows | head -n 3: 3 rows"
like "$(cat "$T/st"):$(cat "$T/err")" '^(141|70):$' "the rows stop when the reader goes away (SIGPIPE or EPIPE), quietly"

# ---- list --------------------------------------------------------------------------------
run vc-case artifact list --limit 1000
is "$(lines)" "$(sq "SELECT COUNT(*) FROM artifacts")" "list shows every artifact"
run vc-case artifact list --name Windows.System.Pslist
want=$(printf '%s\n' "$A1" "$A2" "$A3" $A4 "$ABIG" | sort | tr '\n' ' ')
is "$(printf '%s\n' "$out" | jq -r .id | sort | tr '\n' ' ')" "$want" "--name"
run vc-case artifact list --hunt H.1
is "$(jqr .id)" "$A1" "--hunt H.1"
run vc-case artifact list --hunt H.2
is "$(jqr '.id + " " + (.row_count | tostring)')" "$A2 300" "--hunt H.2, with its row count"
run vc-case artifact list --flow F.CABC123.H
is "$(jqr .id)" "$A3" "--flow"
run vc-case artifact list --host C.beef000000000001
is "$(jqr .id)" "$A3" "--host: the artifact imported with --host"
# The artifacts whose input has rows of client 3 (A3's went to --host).
want=$(for x in "$A1 $PS" "$A2 $T/ps30.jsonl" "$A4 $T/ps100.jsonl" "$ABAD $T/bad.want" "$ABIG $BIG"; do
	set -- $x
	[ $# -eq 2 ] && grep -q "\"ClientId\":\"$(cid 3)\"" "$2" && echo "$1"
done | sort | tr '\n' ' ')
like "$want" "$A1.*$ABIG|$ABIG.*$A1" "(the hunts of client 3 include A1 and the big one)"
run vc-case artifact list --host "$(cid 3)"
is "$(printf '%s\n' "$out" | jq -r .id | sort | tr '\n' ' ')" "$want" "--host: the artifacts with rows of that host, hunts too"
run vc-case artifact list --host "$(cid 25)"
is "$(printf '%s\n' "$out" | jq -r .id | sort | tr '\n' ' ')" "$(printf '%s\n' "$A2" "$ABIG" | sort | tr '\n' ' ')" \
	"--host of a client only the later hunts saw"
run vc-case artifact list --host "$MISSING"
is "$rc" 66 "--host of a missing host: exit 66"
run vc-case artifact list --name Windows.System.Pslist --hunt H.1 --host "$(cid 3)"
is "$(jqr .id)" "$A1" "filters combine"
run vc-case artifact list --name Nothing
is "$rc:$out" "0:" "no match: nothing, exit 0"
# Sorting: created_at (newest first by default), name, row_count.
run vc-case artifact list --limit 1000
printf '%s\n' "$out" > "$T/all"
is "$(jq -r .id "$T/all")" "$(jq -s -r 'sort_by([.created_at, .id]) | reverse | .[].id' "$T/all")" \
	"newest first by default, ties by id"
run vc-case artifact list --sort name --order asc --limit 1000
is "$(jqr .id)" "$(jq -s -r 'sort_by([.name, .id]) | .[].id' "$T/all")" "--sort name --order asc"
run vc-case artifact list --sort row_count --limit 1000
is "$(jqr .id)" "$(jq -s -r 'sort_by([.row_count, .id]) | reverse | .[].id' "$T/all")" "--sort row_count (desc)"
run vc-case artifact list --sort row_count --order asc --limit 1000
is "$(jqr .id)" "$(jq -s -r 'sort_by([.row_count, .id]) | .[].id' "$T/all")" "--sort row_count --order asc"
run vc-case artifact list --sort 'name;DROP TABLE artifacts'
is "$rc" 64 "a sort field off the allow-list: usage error"
like "$err" 'created_at.*name.*row_count' "the message lists the allowed fields"
is "$(sq "SELECT COUNT(*) FROM artifacts")" "$(jq -s length "$T/all")" "the artifacts table still exists"
# Paging: --offset, and --after with next_cursor.
want=$(jq -r .id "$T/all")
got=$(o=0; while :; do p=$(vc-case artifact list --limit 2 --offset $o) || exit 1; [ -n "$p" ] || break
	printf '%s\n' "$p" | jq -r .id; o=$((o + 2)); done)
is "$got" "$want" "--limit 2 --offset: every artifact once, in order"
got=$(c=""; n=0; while :; do
	if [ -z "$c" ]; then p=$(vc-case -o json artifact list --limit 2) || exit 1
	else p=$(vc-case -o json artifact list --limit 2 --after "$c") || exit 1; fi
	printf '%s\n' "$p" | jq -r '.items[].id'
	c=$(printf '%s\n' "$p" | jq -r '.next_cursor // empty'); n=$((n + 1))
	[ -n "$c" ] && [ "$n" -lt 50 ] || break; done)
is "$got" "$want" "--limit 2 --after: every artifact once, in order"
c=$(vc-case -o json artifact list --limit 2 | jq -r .next_cursor)
run vc-case artifact list --limit 2 --after "$c" --offset 2
is "$rc" 64 "--after with --offset: usage error"
run vc-case artifact list --after garbage
is "$rc" 64 "a garbage cursor: usage error"
run vc-case artifact list --sort name --after "$c"
is "$rc" 64 "a cursor of another sort: usage error"

# ---- roles --------------------------------------------------------------------------------
with "$VIC" vc-case artifact list --hunt H.1
is "$rc:$(jqr .id)" "0:$A1" "a viewer lists artifacts"
with "$VIC" vc-case artifact show "$A1"
is "$rc:$(jqr .row_count)" "0:2000" "shows them"
with "$VIC" vc-case artifact rows "$A1" --limit 1
is "$rc:$out" "0:$(head -n 1 "$PS")" "and reads their rows"
with_in "$(head -n 1 "$PS")" "$VIC" vc-case artifact import --name ByViewer
is "$rc:$err" "77:vc-case: artifacts.import needs the analyst role; you are viewer" "a viewer cannot import: exit 77"
is "$(sq "SELECT COUNT(*) FROM artifacts WHERE name='ByViewer'")" 0 "nothing made"
with "$ANN" vc-case artifact delete "$A3"
is "$rc:$err" "77:vc-case: artifacts.delete needs the admin role; you are analyst" "an analyst cannot delete: exit 77"
is "$(sq "SELECT COUNT(*) FROM artifact_rows WHERE artifact_id='$A3'")" 100 "the rows are still there"
run vc-auth audit list --action authz.denied
is "$(printf '%s\n' "$out" | jq -r 'select(.target_type == "artifact") | "\(.actor) \(.reason)"' | sort | tr '\n' ',')" \
	"ann artifacts.delete,vic artifacts.import," "the denials are audited"

# ---- tenant isolation ------------------------------------------------------------------
run vc-auth tenant create globex
run_in "$PW" vc-auth user create gadmin --role admin --tenant globex --password-stdin
is "$rc:$(jqr .tenant)" "0:globex" "globex and its admin"
G=$(login_as gadmin "$PW")
with "$G" vc-case artifact list
is "$rc:$out" "0:" "globex lists none of acme's artifacts"
with "$G" vc-case artifact list --hunt H.1
is "$out" "" "not even by hunt"
with "$G" vc-case artifact show "$MISSING"
miss_rc=$rc miss_err=$err
is "$miss_rc" 66 "a missing id: exit 66"
same_as_missing() {
	is "$rc:$(printf '%s\n' "$err" | sed "s/$2/KEY/g")" "$miss_rc:$(printf '%s\n' "$miss_err" | sed "s/$MISSING/KEY/g")" "$1"
}
with "$G" vc-case artifact show "$A1"
same_as_missing "show of acme's artifact: as if missing" "$A1"
with "$G" vc-case artifact rows "$A1"
same_as_missing "rows: as if missing" "$A1"
is "$out" "" "no row leaks"
with "$G" vc-case artifact rows "$A1" --where 'true'
same_as_missing "rows --where: as if missing" "$A1"
with "$G" vc-case artifact delete "$A1"
same_as_missing "delete: as if missing" "$A1"
is "$(sq "SELECT COUNT(*) FROM artifact_rows WHERE artifact_id='$A1'")" 2000 "acme's rows are all there"
with "$G" vc-case artifact list --host "$(cid 3)"
is "$rc" 66 "acme's host is no host for globex"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='authz.denied' AND actor_name='gadmin' AND target_type='artifact' AND target_id='$A1'")" 4 \
	"each attempt on the artifact is audited as authz.denied"
with "$G" vc-case artifact import "$PS" --name Windows.System.Pslist --hunt H.1
is "$rc:$(jqr .hosts_created)" "0:20" "globex imports the same hunt: hosts of its own"
GA=$(jqr .id)
is "$(sq "SELECT COUNT(*) FROM artifact_rows r JOIN hosts h ON h.id = r.host_id WHERE r.artifact_id='$GA' AND h.tenant_id = r.tenant_id")" 2000 \
	"its rows link to globex's hosts"
is "$(sq "SELECT COUNT(*) FROM hosts WHERE client_id='$(cid 3)'")" 2 "each tenant has its own host of the client"
run vc-case artifact show "$GA"
is "$rc" 66 "and acme cannot see globex's artifact"

# ---- delete -------------------------------------------------------------------------------
nhosts=$(vc-hosts list --count)
with "$ADA" vc-case artifact delete "$A1"
is "$rc:$(jqr .deleted)" "0:true" "an admin deletes an artifact"
is "$(sq "SELECT COUNT(*) FROM artifact_rows WHERE artifact_id='$A1'")" 0 "its rows are gone"
run vc-case artifact show "$A1"
is "$rc" 66 "it is gone"
with "$ADA" vc-case artifact delete "$A1"
is "$rc" 66 "deleting it again: exit 66"
is "$(vc-hosts list --count)" "$nhosts" "its hosts stay"
if [ -n "$A4" ]; then
	with "$ADA" vc-case artifact delete "$A4"
	is "$rc" 0 "delete the artifact of the case"
	is "$(sq "SELECT COUNT(*) FROM case_links WHERE target_id='$A4'")" 0 "its case link is gone"
	run vc-case show "$CASE"
	is "$(jqr '[.links[] | select(.kind == "artifact")] | length')" 0 "the case lists it no more"
else
	for d in "delete the artifact of the case" "its case link is gone" "the case lists it no more"; do
		skip "$d: vc-case create does not work yet"
	done
fi
run vc-auth audit list --resource-type artifact --action artifacts.delete
is "$(printf '%s\n' "$out" | jq -r 'select(.outcome == "success") | .target_id' | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "$A1" $A4 | sort | tr '\n' ' ')" "deletes are audited, naming the artifact"

# ---- PostgreSQL: a transaction that gives way to another is run again ----------------------
if [ "$STORE_PG" = 1 ]; then
	# Five clients nobody has seen; the artifact's row, the hosts the
	# batch makes, its rows and the artifact's state each fail once or
	# twice as a transaction fails that gave way (40001).
	"$GEN" pslist 300 5 | sed 's/"C\.1/"C.f/; s/"ws0/"rt0/' > "$T/retry.jsonl"
	flaky artifacts "INSERT OR UPDATE" 2
	flaky hosts INSERT 1
	flaky artifact_rows INSERT 2
	with "$ANN" vc-case artifact import "$T/retry.jsonl" --name Retry.Pslist
	is "$rc:$(jqr '"\(.rows) \(.hosts_created)"')" "0:300 5" \
	    "transactions of an import that gave way (40001) run again: exit 0, 300 rows, 5 hosts made"
	R=$(jqr .id)
	# (the batch ran four times: its first host failed, then its rows twice)
	is "$(flaky_hits artifacts) $(flaky_hits hosts) $(flaky_hits artifact_rows)" "5 16 3" \
	    "... after failing: the artifact's insert and update, a host's insert, the rows' insert twice"
	is "$(sq "SELECT count(*) FROM artifact_rows WHERE artifact_id = '$R'")" 300 "... each row stored once"
	is "$(sq "SELECT count(*) FROM hosts WHERE client_id LIKE 'C.f%'")" 5 "... each host made once"
	is "$(art "$R" '"\(.state) \(.row_count)"')" "complete 300" "... the artifact complete"
	is "$(sq "SELECT string_agg(action, ' ' ORDER BY id) FROM audit_logs WHERE target_id = '$R'")" \
	    "artifacts.import.begin artifacts.import" "... audited once"
	flaky artifacts "INSERT OR UPDATE" 0
	flaky hosts INSERT 0
	flaky artifact_rows INSERT 50
	with "$ANN" vc-case artifact import "$T/retry.jsonl" --name Retry.Again
	is "$rc" 75 "a batch that gives way every time: exit 75"
	like "$err" "serializ|gave way|try again" "... saying to try again ($err)"
	R=$(sq "SELECT id FROM artifacts WHERE name = 'Retry.Again'")
	is "$(art "$R" '"\(.state) \(.row_count)"'):$(sq "SELECT count(*) FROM artifact_rows WHERE artifact_id = '$R'")" \
	    "failed 0:0" "... the artifact marked failed, no row of it stored"
	flaky_off artifacts
	flaky_off hosts
	flaky_off artifact_rows
fi

done_testing
