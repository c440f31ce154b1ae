#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-hosts: import of Velociraptor clients() rows and of the plain shape,
# upserts, time and address normalisation, bad input lines and --strict;
# list filters, the sort allow-list, offset and keyset paging; show,
# update, delete; roles; tenant isolation; the audit trail.
. "$(dirname "$0")/lib.sh"

GEN=$TOP/bench/gen.py
PW='sturdy tuna lantern'
# utc SECONDS: RFC 3339 UTC.
utc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# names: the hostnames of $out (JSON Lines), sorted, on one line.
names() { printf '%s\n' "$out" | jq -r .hostname | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'; }
# lines: the lines of $out (0 for none).
lines() { if [ -z "$out" ]; then echo 0; else printf '%s\n' "$out" | wc -l | tr -d ' '; fi; }
# host KEY FILTER: jq FILTER over `vc-hosts show KEY`.
host() { vc-hosts show "$1" | jq -r "$2"; }
NOW=$(date +%s)
MISSING=0b0e5a5e-0000-4000-8000-000000000000

init_store

# ---- import: Velociraptor clients() rows -------------------------------
"$GEN" hosts 3 > "$T/h3.jsonl"
# One more row as clients() gives it, with a last_seen_at that is not a
# whole second and a last_ip with a port.
printf '%s\n' '{"client_id":"C.00000000000000aa","agent_information":{"version":"0.76.5","name":"velociraptor"},"os_info":{"system":"linux","hostname":"web07","release":"24.04","machine":"x86_64","fqdn":"web07.corp.local","mac_addresses":["52:54:00:12:34:56"]},"first_seen_at":1750000123,"last_seen_at":1764000000999999,"last_ip":"10.20.30.40:51234","last_interrogate_flow_id":"F.CSB4L4A7A2A6O","labels":["web","prod"],"last_hunt_timestamp":0}' >> "$T/h3.jsonl"
run vc-hosts import "$T/h3.jsonl"
is "$rc" 0 "import of clients() rows: exit 0"
is "$err" "" "nothing on stderr"
is "$(jqr '"\(.created) \(.updated) \(.bad_lines)"')" "4 0 0" "4 created, 0 updated, 0 bad"
run vc-hosts list
is "$(lines)" 4 "list shows the 4 hosts"
# Every member of every row, as clients() gave it: jq is the oracle.
want=$(jq -c '{client_id, hostname: .os_info.hostname, fqdn: .os_info.fqdn,
	ip: (.last_ip | sub(":[0-9]+$"; "")), os: .os_info.system, os_version: .os_info.release,
	labels, source: "velociraptor", first_seen_at: (.first_seen_at | todate),
	last_seen_at: (.last_seen_at / 1000000 | floor | todate)}' "$T/h3.jsonl" | LC_ALL=C sort)
got=$(printf '%s\n' "$out" | jq -c '{client_id, hostname, fqdn, ip, os, os_version, labels, source,
	first_seen_at, last_seen_at}' | LC_ALL=C sort)
is "$got" "$want" "hostname, fqdn, ip, os, os_version, labels, source and times as imported"
cid0=$(head -n 1 "$T/h3.jsonl" | jq -r .client_id)
us0=$(head -n 1 "$T/h3.jsonl" | jq -r .last_seen_at)
fs0=$(head -n 1 "$T/h3.jsonl" | jq -r .first_seen_at)
is "$(host "$cid0" .last_seen_at)" "$(utc $((us0 / 1000000)))" "last_seen_at (µs) comes out RFC 3339 UTC"
is "$(host "$cid0" .first_seen_at)" "$(utc "$fs0")" "first_seen_at (s) comes out RFC 3339 UTC"
is "$(host C.00000000000000aa .last_seen_at)" "2025-11-24T16:00:00Z" "µs are cut to the second, not rounded up"
is "$(host C.00000000000000aa .ip)" "10.20.30.40" "last_ip is stored without its port"
like "$(host C.00000000000000aa '.created_at + " " + .updated_at')" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' \
	"created_at and updated_at are RFC 3339 UTC"
is "$(sq "SELECT source FROM hosts WHERE client_id='C.00000000000000aa'")" velociraptor "source velociraptor"

# ---- upsert by client_id ---------------------------------------------------
id_aa=$(host C.00000000000000aa .id)
run vc-hosts import "$T/h3.jsonl"
is "$rc:$(jqr '"\(.created) \(.updated)"')" "0:0 4" "re-import: 4 updated, none created"
is "$(sq 'SELECT COUNT(*) FROM hosts')" 4 "no duplicates"
is "$(host C.00000000000000aa .id)" "$id_aa" "the host keeps its id"
# A newer record: new address, name and labels win, last_seen moves on.
run_in '{"client_id":"C.00000000000000aa","os_info":{"system":"linux","hostname":"web07b","release":"24.10","fqdn":"web07b.corp.local"},"first_seen_at":1750000123,"last_seen_at":1764100000000000,"last_ip":"10.20.30.41","labels":["web"]}' vc-hosts import
is "$rc:$(jqr .updated)" "0:1" "a newer record updates the host"
is "$(host C.00000000000000aa '[.hostname, .ip, .os_version, (.labels | join(",")), .last_seen_at] | join(" ")')" \
	"web07b 10.20.30.41 24.10 web 2025-11-25T19:46:40Z" "its facts win"
# An older record (a stale export): last_seen never moves backwards, and
# its stale facts do not replace newer ones.
run_in '{"client_id":"C.00000000000000aa","os_info":{"system":"linux","hostname":"oldname","release":"22.04"},"first_seen_at":1740000000,"last_seen_at":1760000000000000,"last_ip":"10.99.99.99","labels":[]}' vc-hosts import
is "$rc" 0 "an older record imports"
is "$(host C.00000000000000aa .last_seen_at)" "2025-11-25T19:46:40Z" "last_seen does not move backwards"
is "$(host C.00000000000000aa '[.hostname, .ip, .os_version, (.labels | join(","))] | join(" ")')" \
	"web07b 10.20.30.41 24.10 web" "an older record's hostname, ip, release and labels do not win"
is "$(host C.00000000000000aa .first_seen_at)" "$(utc 1740000000)" "but an earlier first_seen does"
run vc-hosts list --label web --client-id C.00000000000000aa
is "$(lines)" 1 "--label still finds it by the newer record's label"
is "$(sq "SELECT COUNT(*) FROM hosts WHERE client_id='C.00000000000000aa'")" 1 "still one host for the client id"

# ---- the plain shape ---------------------------------------------------------
cat > "$T/plain.jsonl" <<'EOF'
{"client_id":"C.0000000000000b01","hostname":"Mail01","fqdn":"mail01.corp.local","ip":"192.168.5.10","os":"Windows","os_version":"10.0.20348","labels":["mail"],"last_seen":"2026-11-20T10:00:00+02:00"}
{"hostname":"db01","ip":"fd00::5","os":"linux","os_version":"12","last_seen":1763200000}
{"hostname":"v6port","ip":"[2001:db8::1]:443","last_seen":1763200000123}
{"hostname":"v4port","ip":"172.16.0.9:8000","last_seen":"2026-11-20T10:00:00.75Z"}
EOF
run vc-hosts import "$T/plain.jsonl"
is "$rc:$(jqr '"\(.created) \(.updated) \(.bad_lines)"')" "0:4 0 0" "plain records import"
is "$(host C.0000000000000b01 '[.hostname, .fqdn, .ip, .os, .os_version, (.labels | join(",")), .source] | join(" ")')" \
	"Mail01 mail01.corp.local 192.168.5.10 windows 10.0.20348 mail generic" "plain members stored; os in lower case"
is "$(host C.0000000000000b01 .last_seen_at)" "2026-11-20T08:00:00Z" "an RFC 3339 time with an offset comes out in UTC"
run vc-hosts list --hostname db01
is "$(jqr '[.ip, .os, .last_seen_at, .client_id] | map(tostring) | join(" ")')" \
	"fd00::5 linux $(utc 1763200000) null" "epoch seconds; an IPv6 address; no client id"
run vc-hosts list --hostname v6port
is "$(jqr '.ip + " " + .last_seen_at')" "2001:db8::1 $(utc 1763200000)" "[IPv6]:port loses the port; epoch ms"
run vc-hosts list --hostname v4port
is "$(jqr '.ip + " " + .last_seen_at')" "172.16.0.9 2026-11-20T10:00:00Z" "a.b.c.d:port loses the port; fractions dropped"

# ---- upsert by hostname without a client id -------------------------------
db01=$(vc-hosts list --hostname db01 | jq -r .id)
run_in '{"hostname":"DB01","os":"windows","ip":"fd00::6","last_seen":"2026-11-21T00:00:00Z"}' vc-hosts import
is "$rc:$(jqr '"\(.created) \(.updated)"')" "0:0 1" "a plain record without client_id updates the host of that hostname (any case)"
run vc-hosts list --hostname db01
is "$(lines):$(jqr .id)" "1:$db01" "no duplicate; same host id"
is "$(jqr '[.hostname, .os, .ip, .last_seen_at] | join(" ")')" "DB01 windows fd00::6 2026-11-21T00:00:00Z" "with the new facts"
run_in '{"hostname":"db01","last_seen":1000000000}' vc-hosts import
is "$(vc-hosts list --hostname db01 | jq -r .last_seen_at)" "2026-11-21T00:00:00Z" "by hostname too, last_seen never moves backwards"
is "$(sq 'SELECT COUNT(*) FROM hosts')" 8 "8 hosts in all"

# ---- bad input lines ---------------------------------------------------------
BAD=$T/bad.jsonl
{
	echo '{"hostname":"good1","ip":"192.168.1.1"}'
	echo '{"hostname": "broken",'
	echo '{"hostname":"good2"}'
	printf '{"hostname":"huge","pad":"'
	head -c 1100000 /dev/zero | tr '\0' A
	printf '"}\n'
	echo '[1,2,3]'
	echo ''
	echo '{"hostname":"good3","labels":["x"]}'
	echo '{"os":"linux","ip":"10.0.0.1"}'
	echo '{"hostname":"badip","ip":"10.1.2.300"}'
	echo '"just a string"'
	echo '{"client_id":"C.0000000000000c04","hostname":"good4"}'
} > "$BAD"
is "$(awk 'NR == 4 { print (length($0) > 1048576) }' "$BAD")" 1 "line 4 of the input is over 1 MiB"
run vc-hosts import "$BAD"
is "$rc" 65 "bad lines: exit 65"
like "$err" "^vc-hosts: $BAD:2: " "a malformed line: FILE:2"
like "$err" "^vc-hosts: $BAD:4: line longer than 1048576 bytes" "the over-long line: FILE:4"
like "$err" "^vc-hosts: $BAD:5: expected a JSON object" "an array: FILE:5"
like "$err" "^vc-hosts: $BAD:8: missing client_id and hostname" "neither client_id nor hostname: FILE:8 (the blank line counts)"
like "$err" "^vc-hosts: $BAD:9: ip is not an IPv4 or IPv6 address" "a bad ip: FILE:9"
like "$err" "^vc-hosts: $BAD:10: expected a JSON object" "a string: FILE:10"
is "$(printf '%s\n' "$err" | grep -c "^vc-hosts: $BAD:[0-9]*: ")" 6 "exactly the 6 bad lines are reported"
like "$err" "^vc-hosts: 6 bad input lines skipped\$" "and counted at the end"
is "$(jqr '"\(.created) \(.bad_lines)"')" "4 6" "the result says 4 created, 6 bad"
run vc-hosts list --hostname good
is "$(names)" "good1 good2 good3 good4" "the good records around the bad ones are stored"
is "$(sq "SELECT COUNT(*) FROM hosts WHERE hostname IN ('huge','badip','broken')")" 0 "the bad ones are not"
run_from "$BAD" vc-hosts import
is "$rc" 65 "from stdin: exit 65"
like "$err" "^vc-hosts: stdin:2: " "from stdin the input is named stdin"
like "$err" "^vc-hosts: stdin:9: ip is not" "with the right line numbers"
is "$(printf '%s\n' "$err" | grep -c '^vc-hosts: stdin:[0-9]*: ')" 6 "6 reports"
run_from "$BAD" vc-hosts import -
like "$rc:$err" "^65:vc-hosts: stdin:2: " "- is stdin too"
is "$(sq 'SELECT COUNT(*) FROM hosts')" 12 "re-imports made no duplicates"
run vc-hosts import "$T/no-such-file.jsonl"
is "$rc" 66 "a missing input file: exit 66"
like "$err" "^vc-hosts: $T/no-such-file.jsonl: No such file" "named on stderr"
run_in '{"hostname":"badtime","last_seen":"yesterday"}' vc-hosts import
like "$rc:$err" "^65:vc-hosts: stdin:1: last_seen is not a time" "a bad time is a bad line"
run_in '{"hostname":"hugetime","last_seen":1e300}' vc-hosts import
like "$rc:$err" "^65:vc-hosts: stdin:1: last_seen is not a time" "so is a number far outside any date"
run_in '{"hostname":"badlabels","labels":"web"}' vc-hosts import
like "$rc:$err" "^65:vc-hosts: stdin:1: labels must be an array of strings" "labels must be an array"
run_in '{"hostname":"badlabels","labels":["web",1]}' vc-hosts import
like "$rc:$err" "^65:vc-hosts: stdin:1: labels must be strings" "of strings"
long=$(head -c 200 /dev/zero | tr '\0' x)
printf '{"client_id":"C.%s1","hostname":"long1"}\n{"client_id":"C.%s2","hostname":"long2"}\n' "$long" "$long" > "$T/long.jsonl"
run vc-hosts import "$T/long.jsonl"
like "$rc:$err" "^65:vc-hosts: $T/long.jsonl:1: client_id is longer than 127 bytes" "an over-long client_id is a bad line, not cut"
is "$(sq "SELECT COUNT(*) FROM hosts WHERE hostname IN ('long1','long2')")" 0 "(two long ids never become one host)"
run_in "{\"hostname\":\"$long$long\"}" vc-hosts import
like "$rc:$err" "^65:vc-hosts: stdin:1: hostname is longer than 255 bytes" "so is an over-long hostname"
is "$(sq "SELECT COUNT(*) FROM hosts WHERE hostname IN ('badtime','hugetime','badlabels') OR length(hostname) > 255")" 0 "none of them stored"

# ---- --strict ----------------------------------------------------------------
printf '%s\n' '{"hostname":"strict1"}' '{"hostname":"strict2"}' '{"hostname":"strict3","ip":"nope"}' \
	'{"hostname":"strict4"}' > "$T/strict.jsonl"
n=$(sq 'SELECT COUNT(*) FROM hosts')
run vc-hosts import --strict "$T/strict.jsonl"
is "$rc" 65 "--strict: exit 65"
like "$err" "^vc-hosts: $T/strict.jsonl:3: ip is not" "reports the first bad line"
like "$err" "^vc-hosts: stopped at the first bad line \(--strict\)" "and says it stopped"
is "$out" "" "prints no result"
is "$(sq 'SELECT COUNT(*) FROM hosts')" "$n" "stores nothing of the batch (strict1 and strict2 neither)"
run_from "$T/strict.jsonl" vc-hosts import --strict
like "$rc:$err" "^65:vc-hosts: stdin:3: " "--strict from stdin"
run vc-hosts import --source generic "$T/strict.jsonl" --strict --source=nonsense
is "$rc" 64 "a bad --source: usage error"

# ---- list filters -------------------------------------------------------------
# A store of its own, with hosts whose facts the filters tell apart.
new_store list
init_store
{
	printf '{"client_id":"C.f000000000000001","hostname":"web01","ip":"10.1.2.3","os":"linux","labels":["web","prod"],"last_seen":%s}\n' $((NOW - 72000))
	printf '{"client_id":"C.f000000000000002","hostname":"WEB02","ip":"10.1.9.9:443","os":"Linux","labels":["web"],"last_seen":%s}\n' $((NOW - 864000))
	printf '{"client_id":"C.f000000000000003","hostname":"dc01","ip":"192.168.0.10","os":"windows","labels":["dc"],"last_seen":"%s"}\n' "$(utc $((NOW - 7200)))"
	printf '{"client_id":"C.f000000000000004","hostname":"mac01","ip":"fd00::10","os":"darwin","labels":[],"last_seen":%s}\n' $((NOW - 2592000))
	printf '{"client_id":"C.f000000000000005","hostname":"v6host","ip":"2001:db8::7","os":"windows","last_seen":%s}\n' $((NOW - 259200))
} > "$T/five.jsonl"
run vc-hosts import "$T/five.jsonl"
is "$rc:$(jqr .created)" "0:5" "five hosts for the filters"
run vc-hosts list --hostname web
is "$(names)" "WEB02 web01" "--hostname: a substring, any case"
run vc-hosts list --hostname EB0
is "$(names)" "WEB02 web01" "--hostname in upper case"
run vc-hosts list --ip 10.1.2.3
is "$(names)" "web01" "--ip: one IPv4 address"
run vc-hosts list --ip 10.1.0.0/16
is "$(names)" "WEB02 web01" "--ip: an IPv4 network (the port was dropped on import)"
run vc-hosts list --ip 10.1.2.0/24
is "$(names)" "web01" "--ip: a /24"
run vc-hosts list --ip 192.168.0.0/16
is "$(names)" "dc01" "--ip 192.168.0.0/16"
run vc-hosts list --ip 0.0.0.0/0
is "$(names)" "WEB02 dc01 web01" "--ip 0.0.0.0/0: every IPv4 host, no IPv6 one"
run vc-hosts list --ip fd00::/8
is "$(names)" "mac01" "--ip: an IPv6 network"
run vc-hosts list --ip 2001:db8::7
is "$(names)" "v6host" "--ip: one IPv6 address"
run vc-hosts list --ip 2001:db8::/32
is "$(names)" "v6host" "--ip 2001:db8::/32"
run vc-hosts list --ip 2001:db9::/32
is "$rc:$out" "0:" "--ip: a network nobody is in: nothing, exit 0"
for bad in 10.0.0.0/33 fd00::/129 10.0.0.0/ 10.0.0.0/x not-an-ip 10.0.0.256; do
	run vc-hosts list --ip "$bad"
	is "$rc" 64 "--ip $bad: usage error"
done
like "$err" '^vc-hosts: ip must be an address or CIDR' "saying what --ip takes"
run vc-hosts list --os windows
is "$(names)" "dc01 v6host" "--os"
run vc-hosts list --os LINUX
is "$(names)" "WEB02 web01" "--os in any case (stored in lower case)"
run vc-hosts list --label web
is "$(names)" "WEB02 web01" "--label"
run vc-hosts list --label prod
is "$(names)" "web01" "--label prod"
run vc-hosts list --label we
is "$rc:$out" "0:" "--label matches whole labels only"
run vc-hosts list --client-id C.f000000000000003
is "$(names)" "dc01" "--client-id"
run vc-hosts list --client-id C.f00000000000000
is "$out" "" "--client-id matches the whole id"
run vc-hosts list --seen-since -1d
is "$(names)" "dc01 web01" "--seen-since -1d"
run vc-hosts list --seen-since -7d
is "$(names)" "dc01 v6host web01" "--seen-since -7d"
run vc-hosts list --seen-since "$(utc $((NOW - 15 * 86400)))"
is "$(names)" "WEB02 dc01 v6host web01" "--seen-since RFC 3339"
run vc-hosts list --seen-since yesterday
is "$rc" 64 "--seen-since yesterday: usage error"
run vc-hosts list --os linux --label web --hostname 01
is "$(names)" "web01" "filters combine (all must match)"
run vc-hosts list --os linux --count
is "$rc:$out" '0:{"count":2}' "--count"
run vc-hosts list --count
is "$out" '{"count":5}' "--count without filters"
run vc-hosts -o json list --os windows
is "$(jqr '"\(.total) \(.items | length) \(.next_cursor)"')" "2 2 null" "-o json: items, total, next_cursor"

# ---- sorting ---------------------------------------------------------------------
"$GEN" hosts 250 > "$T/h250.jsonl"
run vc-hosts import "$T/h250.jsonl"
is "$rc:$(jqr .created)" "0:250" "250 more hosts from gen.py"
TOTAL=255
# key FIELD: a jq expression for the order the store keeps: hostnames
# without regard to ASCII case, addresses IPv4 first by number then IPv6
# by text, times as RFC 3339 text (which sorts as the time does).
key() {
	case $1 in
	hostname) echo '(.hostname | ascii_downcase)' ;;
	ip) echo '(if (.ip | contains(":")) then [1, .ip] else [0, (.ip | split(".") | map(tonumber))] end)' ;;
	os) echo '(.os // "")' ;;
	last_seen) echo '(.last_seen_at // "")' ;;
	first_seen) echo '(.first_seen_at // "")' ;;
	created_at) echo '.created_at' ;;
	esac
}
for f in hostname ip os last_seen first_seen created_at; do
	run vc-hosts list --sort "$f" --limit 1000
	printf '%s\n' "$out" > "$T/asc"
	want=$(jq -s -r "sort_by([$(key "$f"), .id]) | .[].id" "$T/asc")
	got=$(jq -r .id "$T/asc")
	[ "$(printf '%s\n' "$got" | wc -l)" -eq "$TOTAL" ] && [ "$got" = "$want" ]
	ok $? "--sort $f: all $TOTAL hosts, in $f order, ties by id"
	run vc-hosts list --sort "$f" --order desc --limit 1000
	got=$(printf '%s\n' "$out" | jq -r .id)
	want=$(printf '%s\n' "$want" | tac)
	is "$got" "$want" "--sort $f --order desc: the exact reverse"
done
run vc-hosts list --sort last_seen --order desc --limit 1
is "$(jqr .last_seen_at)" "$(jq -s -r 'map(.last_seen_at / 1000000 | floor) + [$now - 7200] | max | todate' --argjson now "$NOW" "$T/h250.jsonl")" \
	"last_seen desc starts with the most recent host"
run vc-hosts list --sort 'name;DROP TABLE hosts'
is "$rc" 64 "a sort field off the allow-list: usage error"
like "$err" 'hostname.*ip.*os.*last_seen.*first_seen.*created_at' "the message lists the allowed fields"
like "$err" 'name;DROP TABLE hosts' "and names the refused one"
is "$(sq 'SELECT COUNT(*) FROM hosts')" "$TOTAL" "the hosts table still exists, untouched"
run vc-hosts list --sort labels
is "$rc" 64 "--sort labels: usage error"
run vc-hosts list --order sideways
is "$rc" 64 "--order sideways: usage error"
run vc-hosts list --limit 0
is "$rc" 64 "--limit 0: usage error"
run vc-hosts list --limit 1001
is "$rc" 64 "--limit 1001: usage error"
run vc-hosts list --offset -1
is "$rc" 64 "--offset -1: usage error"
run vc-hosts list
is "$(lines)" 100 "100 hosts by default"

# ---- paging --------------------------------------------------------------------------
# all_ids SORT ORDER: every host id in that order, in one listing.
all_ids() { vc-hosts list --sort "$1" --order "$2" --limit 1000 | jq -r .id; }
# by_offset SORT ORDER N: every host id, N at a time with --offset.
by_offset() {
	_o=0
	while :; do
		vc-hosts list --sort "$1" --order "$2" --limit "$3" --offset "$_o" > "$T/page" || return 1
		[ -s "$T/page" ] || break
		jq -r .id "$T/page"
		_o=$((_o + $3))
	done
}
# by_cursor SORT ORDER N: every host id, N at a time with --after; the
# number of pages goes to $T/pages, the totals they report to $T/totals.
by_cursor() {
	_c="" _p=0
	: > "$T/totals"
	while :; do
		if [ -z "$_c" ]; then
			vc-hosts -o json list --sort "$1" --order "$2" --limit "$3" > "$T/page" || return 1
		else
			vc-hosts -o json list --sort "$1" --order "$2" --limit "$3" --after "$_c" > "$T/page" || return 1
		fi
		_p=$((_p + 1))
		jq -r '.items[].id' "$T/page"
		jq -r .total "$T/page" >> "$T/totals"
		_c=$(jq -r '.next_cursor // empty' "$T/page")
		[ -n "$_c" ] || break
		[ "$_p" -lt 100 ] || return 1
	done
	echo "$_p" > "$T/pages"
}
for so in "hostname asc" "last_seen desc"; do
	set -- $so
	want=$(all_ids "$1" "$2")
	got=$(by_offset "$1" "$2" 40)
	is "$got" "$want" "--limit 40 --offset: every host once, in order (--sort $1 --order $2)"
	got=$(by_cursor "$1" "$2" 40)
	is "$got" "$want" "--limit 40 --after: every host once, in order (--sort $1 --order $2)"
	is "$(printf '%s\n' "$got" | sort -u | wc -l)" "$TOTAL" "no host skipped or repeated ($1 $2)"
	is "$(cat "$T/pages")" 7 "7 pages of 40 for $TOTAL hosts ($1 $2)"
	is "$(sort -u "$T/totals")" "$TOTAL" "every page reports total $TOTAL"
done
got=$(by_cursor ip asc 17)
is "$got" "$(all_ids ip asc)" "--after with --sort ip (a blob key): every host once"
# The cursor holds its place while hosts are added before and after it.
run vc-hosts -o json list --sort hostname --limit 100
first=$(jqr '.items[].id')
cur=$(jqr .next_cursor)
printf '%s\n' '{"hostname":"aaa-new"}' '{"hostname":"zzz-new"}' | vc-hosts import > /dev/null
run vc-hosts -o json list --sort hostname --limit 1000 --after "$cur"
after=$(jqr '.items[].id')
is "$(printf '%s\n%s\n' "$first" "$after" | sort | uniq -d)" "" "hosts added meanwhile: no host repeated across the cursor"
is "$(printf '%s\n%s\n' "$first" "$after" | wc -l)" $((TOTAL + 1)) "none skipped: all but the one added before the cursor"
is "$(jqr '.items[-1].hostname')" zzz-new "the host added after the cursor is on the next page"
TOTAL=$((TOTAL + 2))

run vc-hosts list --sort hostname --limit 10 --offset 5 --after "$cur"
is "$rc" 64 "--offset with --after: usage error"
like "$err" 'offset or --after, not both' "saying so"
run vc-hosts list --sort last_seen --after "$cur"
like "$rc:$err" '^64:vc-hosts: the cursor was made for another sort order' "a cursor of another sort: usage error"
run vc-hosts list --sort hostname --order desc --after "$cur"
is "$rc" 64 "a cursor of another order: usage error"
for junk in garbage '!!!' "$(printf '[1,2]' | base64)" "$(printf '["hostname",false,5,"x"]' | base64 | tr '+/' '-_' | tr -d '=')" \
    "$(printf '["hostname",false,"a"]' | base64 | tr '+/' '-_' | tr -d '=')"; do
	run vc-hosts list --sort hostname --after "$junk"
	is "$rc" 64 "a garbage cursor ($junk): usage error"
done
like "$err" 'not a cursor' "saying it is not a cursor"
run vc-hosts list --sort last_seen --after "$(printf '["last_seen",false,1e300,"x"]' | base64 | tr '+/' '-_' | tr -d '=')"
is "$rc" 64 "a cursor with a time far out of range: usage error"
run vc-hosts list --sort last_seen --after "$(printf '["last_seen",false,0,"x"]' | base64 | tr '+/' '-_' | tr -d '=')"
is "$rc:$(lines)" "0:100" "(a well-formed hand-made cursor works)"

# ---- show, update, delete -----------------------------------------------------------
run vc-hosts show C.f000000000000001
is "$rc:$(jqr .hostname)" "0:web01" "show by client id"
web01=$(jqr .id)
run vc-hosts show "$web01"
is "$rc:$(jqr .client_id)" "0:C.f000000000000001" "show by id"
run vc-hosts show "$MISSING"
is "$rc:$err" "66:vc-hosts: no such host: $MISSING" "show of a missing id: exit 66"
run vc-hosts update C.f000000000000001 --label +x --label -web --note 'owner: web team'
is "$rc" 0 "update --label +x --label -web --note"
is "$(jqr '(.labels | join(",")) + " " + .notes')" "prod,x owner: web team" "labels and note changed"
is "$(host "$web01" '.labels | join(",")')" "prod,x" "and stored"
run vc-hosts update "$web01" --label +x --label +vip
is "$(jqr '.labels | join(",")')" "prod,x,vip" "adding a label it has keeps it once"
run vc-hosts update "$web01" --label -nosuch
is "$rc:$(jqr '.labels | join(",")')" "0:prod,x,vip" "removing a label it lacks is fine"
run vc-hosts list --label vip --hostname web
is "$(names)" web01 "--label finds the new label"
run vc-hosts update "$web01" --label web
is "$rc" 64 "--label without + or -: usage error"
run vc-hosts update "$web01" --note "$(head -c 16385 /dev/zero | tr '\0' n)"
is "$rc" 65 "a note over 16 KiB: exit 65"
is "$(host "$web01" .notes)" "owner: web team" "the note is unchanged"
run vc-hosts update "$MISSING" --note x
is "$rc" 66 "update of a missing host: exit 66"
v6host=$(host C.f000000000000005 .id)
run vc-hosts delete C.f000000000000005
is "$rc:$(jqr .hostname):$(jqr .deleted)" "0:v6host:true" "delete by client id (superadmin)"
run vc-hosts show C.f000000000000005
is "$rc" 66 "a deleted host is gone"
run vc-hosts delete C.f000000000000005
is "$rc:$err" "66:vc-hosts: no such host: C.f000000000000005" "deleting it again: exit 66"
TOTAL=$((TOTAL - 1))

# ---- roles ---------------------------------------------------------------------------
for u in "vic viewer" "ann analyst" "ada admin"; do
	set -- $u
	run_in "$PW" vc-auth user create "$1" --role "$2" --password-stdin
done
VIC=$(login_as vic "$PW")
ANN=$(login_as ann "$PW")
ADA=$(login_as ada "$PW")
like "$VIC $ANN $ADA" '^eyJ.* eyJ.* eyJ' "viewer, analyst and admin log in"
with "$VIC" vc-hosts list --count
is "$rc:$out" "0:{\"count\":$TOTAL}" "a viewer lists hosts"
with "$VIC" vc-hosts show C.f000000000000001
is "$rc:$(jqr .hostname)" "0:web01" "a viewer shows a host"
with_in '{"hostname":"by-viewer"}' "$VIC" vc-hosts import
is "$rc:$err" "77:vc-hosts: hosts.import needs the analyst role; you are viewer" "a viewer cannot import: exit 77"
with "$VIC" vc-hosts update C.f000000000000001 --note viewer-was-here
is "$rc:$err" "77:vc-hosts: hosts.update needs the analyst role; you are viewer" "nor update: exit 77"
with "$VIC" vc-hosts delete C.f000000000000001
is "$rc" 77 "nor delete: exit 77"
is "$(sq "SELECT COUNT(*) FROM hosts WHERE hostname='by-viewer'")" 0 "nothing imported"
is "$(host C.f000000000000001 .notes)" "owner: web team" "nothing updated"
with_in '{"client_id":"C.f000000000000009","hostname":"by-analyst"}' "$ANN" vc-hosts import
is "$rc:$(jqr .created)" "0:1" "an analyst imports"
ann_host=$(host C.f000000000000009 .id)
with "$ANN" vc-hosts update C.f000000000000009 --label +triage --note 'looked at it'
is "$rc:$(jqr '(.labels | join(",")) + " " + .notes')" "0:triage looked at it" "an analyst updates"
with "$ANN" vc-hosts delete C.f000000000000009
is "$rc:$err" "77:vc-hosts: hosts.delete needs the admin role; you are analyst" "an analyst cannot delete: exit 77"
is "$(host C.f000000000000009 .hostname)" by-analyst "the host is still there"
with "$ADA" vc-hosts delete C.f000000000000009
is "$rc:$(jqr .deleted)" "0:true" "an admin deletes"
is "$(sq "SELECT COUNT(*) FROM hosts WHERE client_id='C.f000000000000009'")" 0 "gone from the store"
run vc-auth audit list --action authz.denied --limit 1000
denied=$(printf '%s\n' "$out" | jq -r 'select(.target_type == "host") | "\(.actor) \(.reason) \(.outcome)"' | sort | tr '\n' ',')
is "$denied" "ann hosts.delete denied,vic hosts.delete denied,vic hosts.import denied,vic hosts.update denied," \
	"each denial is in the audit log as authz.denied"

# ---- tenant isolation -----------------------------------------------------------------
run vc-auth tenant create globex
is "$rc" 0 "the superadmin creates globex"
run_in "$PW" vc-auth user create gadmin --role admin --tenant globex --password-stdin
is "$rc:$(jqr .tenant)" "0:globex" "and globex's admin"
G=$(login_as gadmin "$PW")
with "$G" vc-hosts list
is "$rc:$out" "0:" "globex lists none of acme's hosts"
with "$G" vc-hosts list --count --hostname web
is "$out" '{"count":0}' "and counts none"
with "$G" vc-hosts list --client-id C.f000000000000001
is "$out" "" "not even by client id"
with "$G" vc-hosts show "$MISSING"
miss_rc=$rc miss_err=$err
is "$miss_rc" 66 "a missing id: exit 66"
# same_as_missing DESCRIPTION KEY: $rc/$err are those of a missing host
# once KEY stands for the missing id.
same_as_missing() {
	is "$rc:$(printf '%s\n' "$err" | sed "s/$2/KEY/g")" "$miss_rc:$(printf '%s\n' "$miss_err" | sed "s/$MISSING/KEY/g")" "$1"
}
n_denied=$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='authz.denied' AND actor_name='gadmin'")
with "$G" vc-hosts show "$web01"
same_as_missing "show of acme's host by id: as if missing" "$web01"
with "$G" vc-hosts show C.f000000000000001
same_as_missing "show by client id: as if missing" C.f000000000000001
with "$G" vc-hosts update "$web01" --note pwned --label +pwned
same_as_missing "update by id: as if missing" "$web01"
with "$G" vc-hosts update C.f000000000000001 --note pwned
same_as_missing "update by client id: as if missing" C.f000000000000001
with "$G" vc-hosts delete "$web01"
same_as_missing "delete by id: as if missing" "$web01"
with "$G" vc-hosts delete C.f000000000000001
same_as_missing "delete by client id: as if missing" C.f000000000000001
is "$(host "$web01" '[.notes, (.labels | join(","))] | join(" ")')" "owner: web team prod,x,vip" "acme's host is unchanged"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='authz.denied' AND actor_name='gadmin' AND target_type='host'")" \
	$((n_denied + 6)) "each attempt is audited as authz.denied"
with_in '{"client_id":"C.f000000000000001","hostname":"globex-web","ip":"172.31.0.1"}' "$G" vc-hosts import
is "$rc:$(jqr '"\(.created) \(.updated)"')" "0:1 0" "globex imports acme's client id: a host of its own"
with "$G" vc-hosts show C.f000000000000001
is "$(jqr '.hostname + " " + .ip')" "globex-web 172.31.0.1" "globex sees its own host"
unlike "$(jqr .id)" "^$web01\$" "with an id of its own"
is "$(host C.f000000000000001 '.hostname + " " + .ip')" "web01 10.1.2.3" "acme's host is unchanged"
is "$(sq "SELECT COUNT(*) FROM hosts WHERE client_id='C.f000000000000001'")" 2 "both tenants keep their own"
with "$G" vc-hosts list --count
is "$out" '{"count":1}' "globex lists only its own"

# ---- audit ---------------------------------------------------------------------------------
run vc-hosts import --strict "$T/strict.jsonl"
is "$rc" 65 "a --strict import fails"
run vc-auth audit list --resource-type host --limit 1000
printf '%s\n' "$out" > "$T/audit"
is "$(jq -r 'select(.action == "hosts.import" and .outcome == "success") | .actor' "$T/audit" | sort | uniq -c | tr -s ' ' | tr '\n' ',')" \
	" 1 ann, 1 gadmin, 3 root," "imports are in the audit log with --resource-type host"
is "$(jq -r 'select(.action == "hosts.import" and .outcome == "failure") | .reason' "$T/audit")" \
	"stopped at the first bad line (--strict); this batch was not stored" "a failed import too, with why"
is "$(jq -r 'select(.action == "hosts.update" and .outcome == "success") | "\(.actor) \(.target_id)"' "$T/audit" | sort | tr '\n' ',')" \
	"ann $ann_host,root $web01,root $web01,root $web01," "updates, naming the host"
is "$(jq -r 'select(.action == "hosts.delete" and .outcome == "success") | "\(.actor) \(.target_id)"' "$T/audit" | sort | tr '\n' ',')" \
	"ada $ann_host,root $v6host," "deletes, naming the host"
# each_label: the rows (value) of a host h's labels, in the store's dialect.
each_label='json_each(h.labels) j'
[ "$STORE_PG" = 1 ] && each_label='jsonb_array_elements_text(h.labels::jsonb) j(value)'
is "$(sq "SELECT (SELECT COUNT(*) FROM hosts h, $each_label WHERE NOT EXISTS
	(SELECT 1 FROM host_labels l WHERE l.tenant_id = h.tenant_id AND l.host_id = h.id AND l.label = j.value))
	+ (SELECT COUNT(*) FROM host_labels l WHERE NOT EXISTS (SELECT 1 FROM hosts h, $each_label
	WHERE h.tenant_id = l.tenant_id AND h.id = l.host_id AND j.value = l.label))
	+ (SELECT COUNT(*) FROM hosts h, $each_label)
	- (SELECT COUNT(*) FROM host_labels)")" 0 \
	"the label index agrees with every host's labels"
run vc-auth audit verify
is "$rc:$(jqr .ok)" "0:true" "the audit chain verifies"

done_testing
