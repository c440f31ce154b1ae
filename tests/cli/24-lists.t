#!/bin/sh
# SPDX-License-Identifier: MIT
# Whole results in pipes and indexed host search (issue 10): --all pages
# through every match (no host twice, none missed); a partial page says
# so on stderr with the cursor that continues it, the exit status
# unchanged; a complete one says nothing; hostname and fqdn substring
# search (trigram index from 3 characters, a scan below) agrees with
# sqlite3 over the same store; the index follows renames, deletes and the
# hosts a hunt import makes; a common text late in the name order is
# listed in order, whatever renames and hunt imports add before it; totals are bounded unless asked for;
# --progress reports an import in a pipe, nothing does without it.
. "$(dirname "$0")/lib.sh"

# lines: the lines of $out (0 for none).
lines() { if [ -z "$out" ]; then echo 0; else printf '%s\n' "$out" | wc -l | tr -d ' '; fi; }
# The SQL of the store's dialect: contains COL TEXT-SQL is true when
# COL holds the text (case as it is); nocase orders hostname as the tools
# do (citext on PostgreSQL).
if [ "$STORE_PG" = 1 ]; then
	contains() { printf 'strpos(%s::text, %s) > 0' "$1" "$2"; }
	text_of_hex() { printf "convert_from('\\x%s'::bytea, 'UTF8')" "$1"; }
	nocase=''
else
	contains() { printf 'instr(%s, %s) > 0' "$1" "$2"; }
	text_of_hex() { printf "CAST(x'%s' AS TEXT)" "$1"; }
	nocase=' COLLATE NOCASE'
fi
# oracle COLUMN SUBSTR: the ids of the hosts whose COLUMN contains SUBSTR
# (any ASCII case), sorted: what a search must find.
oracle() {
	sq "SELECT id FROM hosts WHERE $(contains "lower(COALESCE($1, ''))" "lower($(text_of_hex "$(printf '%s' "$2" | od -An -tx1 | tr -d ' \n')"))")" |
	    LC_ALL=C sort
}
# index_check: nothing when the search index agrees with the hosts table,
# else what differs.  SQLite: FTS5's own integrity check of the table the
# tools keep; PostgreSQL: the trigram index keeps itself, and answers a
# search through it (no table scan allowed) as a scan of the table does.
index_check() {
	if [ "$STORE_PG" = 1 ]; then
		_q="SELECT string_agg(id, ',' ORDER BY id) FROM hosts WHERE hostname::text ILIKE '%fin%' OR fqdn ILIKE '%apac%' OR hostname::text ILIKE '%late%'"
		_by_index=$(sq "SET enable_seqscan = off; SET enable_indexscan = off; $_q")
		_by_scan=$(sq "SET enable_bitmapscan = off; SET enable_indexscan = off; $_q")
		[ -n "$_by_scan" ] || echo "no host matches: nothing compared"
		[ "$_by_index" = "$_by_scan" ] || echo "the index answers $(echo "$_by_index" | tr ',' '\n' | wc -l) hosts, a scan $(echo "$_by_scan" | tr ',' '\n' | wc -l)"
	else
		sq "INSERT INTO hosts_search (hosts_search) VALUES ('integrity-check')" 2>&1
	fi
}
# ids: the ids of $out, sorted.
ids() { printf '%s\n' "$out" | jq -r .id | LC_ALL=C sort; }
N=2600

init_store
"$TOP/bench/gen.py" fleet $N > "$T/fleet.jsonl"
run vc-hosts import "$T/fleet.jsonl"
is "$rc:$(jqr .created)" "0:$N" "$N hosts imported"
is "$err" "" "an import in a pipe writes no progress without --progress"
run vc-hosts import --progress "$T/fleet.jsonl"
is "$rc:$(jqr .updated)" "0:$N" "--progress: the import runs as before"
like "$err" "^vc-hosts: $N rows, [0-9.]+ MiB, [0-9]+ rows/s$" "--progress: rows, bytes and rate on stderr, in a pipe"
is "$(index_check)" "" \
	"the search index agrees with hosts after the imports"

# ---- --all ---------------------------------------------------------------------
run vc-hosts list --all --limit 97
is "$rc" 0 "list --all: exit 0"
is "$err" "" "list --all: no notice"
is "$(lines)" $N "list --all --limit 97: all $N hosts, page after page"
is "$(ids | uniq -d)" "" "no host twice"
is "$(ids)" "$(sq 'SELECT id FROM hosts' | LC_ALL=C sort)" "every host of the store"
is "$(printf '%s\n' "$out" | jq -r .hostname | tr '\n' ' ')" \
	"$(sq "SELECT hostname FROM hosts ORDER BY hostname$nocase, id" | tr '\n' ' ')" \
	"in the order of the sort (hostname), across the pages"
run vc-hosts list --all --sort last_seen --order desc
is "$(lines):$(ids | uniq -d)" "$N:" "--all --sort last_seen --order desc: every host once (pages of 1000)"
run vc-hosts list --all --hostname fin --os windows
is "$(ids)" "$(sq "SELECT id FROM hosts WHERE $(contains hostname "'fin'") AND os = 'windows'" | LC_ALL=C sort)" \
	"--all with filters: exactly the hosts that match"
run vc-hosts list --all --hostname no-such-host
is "$rc:$(lines):$err" "0:0:" "--all with no match: nothing, exit 0"

# ---- the partial-page notice ---------------------------------------------------------
run vc-hosts list --hostname fin
fin=$(oracle hostname fin | wc -l | tr -d ' ')
is "$rc" 0 "a partial page: exit status 0, as before"
is "$(lines)" 100 "100 hosts by default"
like "$err" "^vc-hosts: shown 100 of $fin; use --all for every match, or --after [A-Za-z0-9_-]+ for the next page$" \
	"stderr: shown 100 of $fin, how to get the rest"
cur=$(printf '%s\n' "$err" | sed -n 's/.* --after \([A-Za-z0-9_-]*\) .*/\1/p')
first=$out
run vc-hosts list --hostname fin --after "$cur"
is "$(printf '%s\n%s\n' "$first" "$out" | jq -r .id | LC_ALL=C sort)" \
	"$(vc-hosts list --hostname fin --limit 200 2>/dev/null | jq -r .id | LC_ALL=C sort)" \
	"the notice's cursor continues where the page stopped"
run vc-hosts list --hostname fin --limit 1000
is "$rc:$(lines):$err" "0:$fin:" "a complete answer: no notice"
run vc-hosts list --limit 5
like "$err" "^vc-hosts: shown 5 of 1005 \(or more\); use --all" "a bounded total: (or more)"
run vc-hosts -o json list --limit 5
is "$(jqr '"\(.total) \(.total_exact)"')" "1005 false" "total counts 1000 past the page, total_exact false"
run vc-hosts -o json list --limit 5 --exact-total
is "$(jqr '"\(.total) \(.total_exact)"')" "$N true" "--exact-total: every match counted"
run vc-hosts list --count
is "$(jqr .count)" $N "--count is exact"
run vc-hosts -o json list --hostname emea --limit 5
is "$(jqr '"\(.total) \(.total_exact)"')" "0 true" "hostname does not search the fqdn"
run vc-hosts -o json list --fqdn emea --exact-total --limit 5
is "$(jqr .total)" "$(oracle fqdn emea | wc -l | tr -d ' ')" "--exact-total counts through the index"

# ---- substring search -------------------------------------------------------------
for s in fin FIN Ws0 -srv 00042 eng-mac 0 s 42 'x"y' "it-" "%" "_"; do
	run vc-hosts list --all --hostname "$s"
	is "$rc:$(ids)" "0:$(oracle hostname "$s")" "--hostname '$s': the hosts whose name contains it"
done
# corp.example is on every host: more than the index is asked for, so the
# rows are scanned as the sort walks them; the others go through the index.
for s in emea AMER corp.example 7.a .a q; do
	run vc-hosts list --all --fqdn "$s"
	is "$rc:$(ids)" "0:$(oracle fqdn "$s")" "--fqdn '$s'"
done
run vc-hosts list --all --hostname fin --fqdn apac
is "$(ids)" "$(sq "SELECT id FROM hosts WHERE $(contains hostname "'fin'") AND $(contains fqdn "'apac'")" | LC_ALL=C sort)" \
	"--hostname and --fqdn together: both must match"
run vc-hosts list --hostname "$(printf '%0300d' 0)"
is "$rc" 64 "a search text of 300 characters: usage error"

# The index follows what changes the names.
cid=$(head -n 1 "$T/fleet.jsonl" | jq -r .client_id)
printf '{"client_id":"%s","hostname":"zebra-renamed","fqdn":"zebra-renamed.lab.test","last_seen":"2030-01-01T00:00:00Z"}\n' "$cid" |
	vc-hosts import > /dev/null
run vc-hosts list --all --hostname zebra
is "$(jqr .client_id)" "$cid" "a renamed host is found by its new name"
run vc-hosts list --all --fqdn renamed.lab
is "$(jqr .client_id)" "$cid" "and by its new fqdn"
old=$(head -n 1 "$T/fleet.jsonl" | jq -r .os_info.hostname)
run vc-hosts list --all --hostname "$old"
is "$(lines)" 0 "no longer by its old name ($old)"
vc-hosts delete "$cid" > /dev/null
run vc-hosts list --all --hostname zebra
is "$(lines)" 0 "a deleted host is not found"
printf '%s\n' '{"ClientId":"C.00000000000bee01","Fqdn":"quokka-hunted.apac.corp.example","Name":"x.exe"}' |
	vc-case artifact import --name Windows.System.Pslist > /dev/null
run vc-hosts list --all --hostname quokka
is "$(jqr .hostname)" quokka-hunted "a host a hunt import made is found"
is "$(index_check)" "" \
	"the search index still agrees with hosts"

# ---- a common text late in the name order -------------------------------------------
# More than the index is asked for, in a list sorted by hostname: the
# sort's index is walked between the least and the greatest name holding
# each trigram of the text (host_tri_bounds), which imports, renames and
# hunt imports widen.  The answer must be that of a plain scan, in order.
i=0
while [ $i -lt 2100 ]; do
	case $((i % 3)) in 0) p=zz-late ;; 1) p=ZZ-Late ;; *) p=zy-lAtE ;; esac
	printf '{"os_info":{"hostname":"%s-%04d","system":"%s"}}\n' "$p" $i "$([ $((i % 2)) = 0 ] && echo windows || echo linux)"
	i=$((i + 1))
done > "$T/late.jsonl"
printf '{"hostname":"\303\274-late-last"}\n' >> "$T/late.jsonl"
run vc-hosts import "$T/late.jsonl"
is "$rc:$(jqr .created):$err" "0:2101:" "2,101 hosts whose names hold \"late\", after the fleet's in name order"
# in_order ORDER: the ids of the hosts holding "late", in the list's order.
in_order() {
	sq "SELECT id FROM hosts WHERE $(contains "lower(hostname)" "'late'") ORDER BY hostname$nocase $1, id $1"
}
run vc-hosts list --all --hostname late --limit 97
is "$(jqr .id)" "$(in_order ASC)" "--hostname late --all: every match, in name order, page after page"
run vc-hosts list --all --hostname LATE --order desc --limit 500
is "$(jqr .id)" "$(in_order DESC)" "--order desc: the same backwards (a name past every ASCII one first)"
run vc-hosts list --hostname late --os windows --limit 5
is "$(jqr .id)" "$(sq "SELECT id FROM hosts WHERE $(contains "lower(hostname)" "'late'") AND os = 'windows'
    ORDER BY hostname$nocase, id LIMIT 5")" "--os windows --limit 5: the first five"
cid=$(sed -n 2p "$T/fleet.jsonl" | jq -r .client_id)
printf '{"client_id":"%s","hostname":"ab-late-renamed","last_seen":"2030-01-01T00:00:00Z"}\n' "$cid" |
	vc-hosts import > /dev/null
run vc-hosts list --hostname late --limit 1
is "$(jqr .hostname)" ab-late-renamed "a host renamed to a name before the others comes first"
printf '%s\n' '{"ClientId":"C.00000000000bee02","Fqdn":"aa-late-hunted.apac.corp.example","Name":"x.exe"}' |
	vc-case artifact import --name Windows.System.Pslist > /dev/null
run vc-hosts list --hostname late --limit 1
is "$(jqr .hostname)" aa-late-hunted "so does a host a hunt import made"
run vc-hosts list --all --hostname late --limit 300
is "$(jqr .id)" "$(in_order ASC)" "and every match is still listed, in order"
run vc-hosts list --all --hostname late --sort last_seen
is "$(ids)" "$(in_order ASC | LC_ALL=C sort)" "--sort last_seen: the same hosts"

# ---- labels: common (checked host by host) and rare (a list of hosts) ----------------
jq -c '.labels += ["fleet"]' "$T/fleet.jsonl" | vc-hosts import > /dev/null
for id in $(vc-hosts list --hostname fin --limit 3 2>/dev/null | jq -r .id); do
	vc-hosts update "$id" --label +rare > /dev/null
done
for l in fleet rare vip; do
	run vc-hosts list --all --label "$l" --os linux --sort last_seen --order desc
	is "$rc:$(ids)" "0:$(sq "SELECT h.id FROM hosts h JOIN host_labels l ON l.host_id = h.id
	    WHERE l.label = '$l' AND h.os = 'linux'" | LC_ALL=C sort)" "--label $l --os linux: the hosts that have both"
done
run vc-hosts list --all --label fleet --hostname fin
is "$(ids)" "$(sq "SELECT h.id FROM hosts h JOIN host_labels l ON l.host_id = h.id
    WHERE l.label = 'fleet' AND $(contains h.hostname "'fin'")" | LC_ALL=C sort)" "--label fleet --hostname fin"

# ---- other lists ------------------------------------------------------------------------
for i in 1 2 3 4 5; do vc-case create "case $i" > /dev/null; done
run vc-case list --limit 2
is "$(lines)" 2 "vc-case list --limit 2: a page of 2"
like "$err" "^vc-case: shown 2 of 5; use --all" "vc-case list: the notice"
run vc-case list --all --limit 2
is "$rc:$(lines):$(printf '%s\n' "$out" | jq -r .id | sort -u | wc -l | tr -d ' '):$err" "0:5:5:" \
	"vc-case list --all: the 5 cases, once each, no notice"
run vc-case artifact list --all --limit 1
is "$(lines):$err" "2:" "vc-case artifact list --all: both hunt imports, a page of 1 at a time"
run vc-hosts list --all --offset 5 --limit 1000
is "$(lines)" $(($(sq "SELECT COUNT(*) FROM hosts") - 5)) "--all --offset 5: from the sixth host on"

# ---- a total counted once is counted again after any change -------------------------
# vc-serve keeps bounded totals while the store is unchanged: a host added
# by another process, or through the server itself, counts at once.
TOK=$(vc-auth token create lists --role admin -o jsonl | jq -r .token)
PORT=$(free_port)
vc-serve --listen "127.0.0.1:$PORT" --workers 1 2> "$T/serve.log" &
echo $! >> "$T/pids"
await 60 grep -q 'listening on' "$T/serve.log"
total() {
	curl -s -H "Authorization: Bearer $TOK" \
	    "http://127.0.0.1:$PORT/api/hosts?hostname=zzqq&limit=1" | jq -r .total
}
a=$(total); b=$(total)
printf '{"hostname":"zzqq-1"}\n' | vc-hosts import > /dev/null
c=$(total)
printf '{"hostname":"zzqq-2"}\n' | curl -s -o /dev/null -H "Authorization: Bearer $TOK" -H 'Content-Type: application/x-ndjson' \
    --data-binary @- "http://127.0.0.1:$PORT/api/hosts/import"
d=$(total)
is "$a $b $c $d" "0 0 1 2" "a repeated total; after an import by another process; after an import through the server"

done_testing
