#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/http/pool.sh [HOSTS] [SECONDS] [RUNS] - the 32-client host search
# against vc-serve's pool settings, interleaved runs on one store:
# the defaults, every worker computing (--active at the worker count, the
# pool before --active existed), --workers at processors + 1, and
# --active at the processor count.  Prints a Markdown
# table of req/s, p50 and p99 per run.  Needs wrk and jq
# (bench/install-deps.sh).
set -eu
cd "$(dirname "$0")/../.."
TOP=$PWD
HOSTS=${1:-100000}
SECS=${2:-8}
RUNS=${3:-3}
PY=/usr/bin/python3
command -v wrk >/dev/null || { echo "bench/http/pool.sh: wrk is missing (bench/install-deps.sh)" >&2; exit 1; }
[ -x bin/vc-serve ] || { echo "bench/http/pool.sh: build first (make)" >&2; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/vc-poolbench.XXXXXX")
SPID=
cleanup() { [ -z "$SPID" ] || kill "$SPID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
export VC_DB=$W/vc.db XDG_CONFIG_HOME=$W/config
unset VC_TOKEN VC_KEY_FILE
PATH=$TOP/bin:$PATH
NCPU=$(nproc)
NW=$((4 * NCPU)); [ "$NW" -ge 4 ] || NW=4; [ "$NW" -le 64 ] || NW=64

echo "generating $HOSTS hosts ..." >&2
bench/gen.py fleet "$HOSTS" > "$W/hosts.jsonl"
echo 'benchmark password 1' | vc-auth init --tenant bench --admin bench --password-stdin >/dev/null
echo 'benchmark password 1' | vc-auth login bench --password-stdin >/dev/null
vc-hosts import "$W/hosts.jsonl" -o jsonl > /dev/null
Q='/api/hosts?hostname=fin&os=windows&sort=hostname&order=asc&limit=50'
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# run LABEL ARGS...: one vc-serve with ARGS, one wrk run, one table row.
run() {
	_l=$1; shift
	# wrk's 32 connections and the login's: above the default 32 an address.
	vc-serve --listen "127.0.0.1:$PORT" --max-conns-per-ip 2000 "$@" 2> "$W/serve.log" &
	SPID=$!
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$PORT/health"; do
		i=$((i + 1)); [ $i -lt 300 ] || { echo "bench/http/pool.sh: vc-serve never answered" >&2; exit 1; }
		sleep 0.1
	done
	tok=$(curl -sf -H 'Content-Type: application/json' \
		-d '{"username":"bench","password":"benchmark password 1"}' \
		"http://127.0.0.1:$PORT/api/auth/login" | jq -r .access_token)
	wrk -t2 -c32 -d"$SECS"s --timeout 10s -s bench/http/summary.lua \
		-H "Authorization: Bearer $tok" "http://127.0.0.1:$PORT$Q" | grep '^{' > "$W/r.json"
	kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=
	if [ "$(jq -r .non2xx "$W/r.json")" != 0 ]; then
		echo "bench/http/pool.sh: $_l: non-2xx answers; the server log says:" >&2
		grep -v " 200 " "$W/serve.log" | tail -n 5 >&2 || true
	fi
	printf '| %s | %s | %s | %s | %s |\n' "$_l" "$(jq -r .rps "$W/r.json")" \
		"$(jq -r .p50_ms "$W/r.json")" "$(jq -r .p99_ms "$W/r.json")" "$(jq -r .non2xx "$W/r.json")"
}

echo "## The pool: 32-client search, $HOSTS hosts, $NCPU processors, wrk $SECS s a run"
echo
echo "| vc-serve | req/s | p50 ms | p99 ms | non-2xx |"
echo "| --- | --- | --- | --- | --- |"
r=0
while [ $r -lt "$RUNS" ]; do
	run "defaults ($NW workers, --active $((NCPU + 1)))"
	run "--active $NW (every worker computes)" --active "$NW"
	run "--workers $((NCPU + 1))" --workers $((NCPU + 1))
	run "--active $NCPU" --active "$NCPU"
	r=$((r + 1))
done
