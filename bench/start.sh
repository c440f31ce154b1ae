#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/start.sh [HOSTS] [ROUNDS] [BINDIR...] - issue 10's cheap start:
# `vc-hosts list --limit 1 -o jsonl`, process start to exit, against a
# bare `sqlite3 db 'SELECT ... LIMIT 1'` over the same store of HOSTS
# hosts (default 100,000), the same commands as bench/scale.sh's
# section 4.  On a shared machine one long run of each says little, so
# the calls are interleaved: ROUNDS rounds (default 10), each one
# hyperfine run of every command (20 calls each, after 3 warm-ups), and
# what is reported is the median over the rounds of each round's mean
# and of each round's ratio to sqlite3, in wall time and in CPU time
# (user + system, which other load on the machine inflates less).  Each BINDIR (default bin) is a
# build to time, for a before and after in one sitting:
#     cp bin/vc-* /tmp/before/ ... change, make ... bench/start.sh 100000 10 /tmp/before bin
# Markdown on stdout, hyperfine's own output on stderr.  Needs hyperfine,
# jq and sqlite3 (bench/install-deps.sh).
set -eu
cd "$(dirname "$0")/.."
HOSTS=${1:-100000}
ROUNDS=${2:-10}
[ $# -gt 2 ] && shift 2 || set -- bin
for d in "$@"; do
	[ -x "$d/vc-hosts" ] || { echo "bench/start.sh: no $d/vc-hosts (make all)" >&2; exit 69; }
done
for t in hyperfine jq sqlite3; do
	command -v $t > /dev/null || { echo "bench/start.sh: needs $t (bench/install-deps.sh)" >&2; exit 69; }
done
W=$(mktemp -d "${TMPDIR:-/tmp}/vc-start.XXXXXX")
trap 'rm -rf "$W"' EXIT
export XDG_CONFIG_HOME=$W/config
unset VC_TOKEN VC_KEY_FILE VC_DB
PW='benchmark password 1'
B=$1

echo "generating and importing $HOSTS hosts ..." >&2
bench/gen.py fleet "$HOSTS" > "$W/hosts.jsonl"
printf '%s\n' "$PW" | VC_DB=$W/vc.db "$B/vc-auth" init --tenant bench --admin bench --password-stdin > /dev/null
printf '%s\n' "$PW" | VC_DB=$W/vc.db "$B/vc-auth" login bench --password-stdin > /dev/null
VC_DB=$W/vc.db "$B/vc-hosts" import "$W/hosts.jsonl" > /dev/null
TENANT=$(sqlite3 "$W/vc.db" 'SELECT id FROM tenants')
# A fresh token: no timed call may be the one that refreshes it.
printf '%s\n' "$PW" | VC_DB=$W/vc.db "$B/vc-auth" login bench --password-stdin > /dev/null

echo "# Start-up: one sitting, $ROUNDS interleaved rounds"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -sr), SQLite $(sqlite3 --version | cut -d' ' -f1)," \
	"$HOSTS hosts, load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
echo

sq="sqlite3 $W/vc.db \"SELECT id, hostname FROM hosts WHERE tenant_id = '$TENANT' ORDER BY hostname LIMIT 1\""
r=1
while [ $r -le "$ROUNDS" ]; do
	cmds=
	for d in "$@"; do
		cmds="${cmds}env VC_DB=$W/vc.db $d/vc-hosts list --limit 1 -o jsonl
"
	done
	# One hyperfine run: the builds, then sqlite3, 20 calls each.
	printf '%s%s\n' "$cmds" "$sq" | tr '\n' '\0' | xargs -0 hyperfine -N --style basic --warmup 3 \
		--runs 20 --export-json "$W/round$r.json" >&2
	r=$((r + 1))
done

# Per round: each command's mean in ms and its ratio to sqlite3 (the last).
jq -s 'def med: length as $n | if $n % 2 == 1 then .[$n / 2 | floor] else (.[$n / 2 - 1] + .[$n / 2]) / 2 end;
	[.[] | .results | (.[-1]) as $sq | [.[] | {cmd: .command, ms: (.mean * 1000), x: (.mean / $sq.mean),
		cpu: ((.user + .system) * 1000), cx: ((.user + .system) / ($sq.user + $sq.system))}]]
	| transpose | map({cmd: .[0].cmd, ms: (map(.ms) | sort), x: (map(.x) | sort), cpu: (map(.cpu) | sort),
		cx: (map(.cx) | sort)})
	| map({cmd, ms: (.ms | med), x: (.x | med), lo: .x[0], hi: .x[-1], cpu: (.cpu | med), cx: (.cx | med)})' \
	"$W"/round*.json > "$W/sum.json"
echo "| call | median ms | median ratio to sqlite3 | lowest - highest ratio | median CPU ms (user + sys) | CPU ratio |"
echo "| --- | --- | --- | --- | --- | --- |"
jq -r --arg w "$W/" 'def r(d): . * d | round / d;
	.[] | "| \(.cmd | sub("env VC_DB=[^ ]* "; "") | sub($w; "") | sub("tenant_id = \u0027[^\u0027]*\u0027"; "tenant_id = ..."))"
	+ " | \(.ms | r(10)) | **\(.x | r(100))x** | \(.lo | r(100))x - \(.hi | r(100))x | \(.cpu | r(10)) | \(.cx | r(100))x |"' \
	"$W/sum.json"
echo
echo "(Target: at most 3x.)  Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
