#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/pg.sh [ROWS] [HOSTS] [SECONDS] - SQLite and PostgreSQL on the same
# workloads, side by side in one sitting (issue 16):
#   1. vc-case artifact import of ROWS Pslist rows (default 1,000,000):
#      wall time, rows per second, peak memory of the tool;
#   2. vc-score stack --by Name --stored over those rows (3 runs each);
#   3. host search, GET /api/hosts?hostname=fin&os=windows&sort=hostname
#      &order=asc&limit=50 with a JWT, over HOSTS hosts (default 100,000),
#      wrk for SECONDS s a run (default 10) with 32 clients: ONE vc-serve
#      on SQLite; on PostgreSQL one instance alone, then TWO instances on
#      the one server, 16 clients each (two wrk at once, their answers
#      added), then the two behind nginx (round robin, contrib/nginx's
#      front without TLS) with 32 clients.
# The PostgreSQL server is scripts/pg-test-server's, a Unix socket on
# this machine, made durable here before anything runs (fsync and
# full_page_writes on; synchronous_commit off, which loses at most the
# last commits at a power cut and never corrupts: what SQLite's WAL with
# synchronous = NORMAL gives); PG_FAST=1 keeps the test server's
# settings (fsync off).  The tools run as the app role (vc_app), the
# schema made by its owner (vc).  Data from bench/gen.py,
# deterministic.  Markdown on stdout, progress on stderr.  Needs wrk,
# hyperfine, jq, GNU time and nginx (bench/install-deps.sh), the
# PostgreSQL 15 server (scripts/install-deps.sh).
set -eu
cd "$(dirname "$0")/.."
TOP=$PWD
ROWS=${1:-1000000} HOSTS=${2:-100000} SECS=${3:-10} PY=/usr/bin/python3
for t in wrk hyperfine jq nginx; do
	command -v $t >/dev/null || [ -x /usr/sbin/$t ] ||
		{ echo "bench/pg.sh: $t is missing (bench/install-deps.sh)" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x bin/vc-serve ] || { echo "bench/pg.sh: build first (make)" >&2; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/vc-pgbench.XXXXXX")
chmod 755 "$W"
PGD=$W/pg
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	scripts/pg-test-server stop "$PGD" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
export XDG_CONFIG_HOME=$W/config XDG_DATA_HOME=$W/data
unset VC_TOKEN VC_KEY_FILE VC_DB VC_MASTER_KEY
PATH=$TOP/bin:$PATH
PW='benchmark password 1'
LITE=$W/lite/vc.db

echo "starting PostgreSQL ..." >&2
scripts/pg-test-server start "$PGD" > "$W/pg.out"
OWNER=$(sed -n 1p "$PGD/url-owner")
APP=$(sed -n 1p "$PGD/url-app")
SUPER="postgresql:///vc?host=$PGD&user=vc_super"
PGBIN=${PG_BINDIR:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
[ -x "$PGBIN/psql" ] || PGBIN=/usr/lib/postgresql/15/bin
psql_su() { "$PGBIN/psql" -X -At -q -v ON_ERROR_STOP=1 "$SUPER" -c "$1"; }
if [ "${PG_FAST:-0}" != 1 ]; then
	psql_su "ALTER SYSTEM SET fsync = on" >/dev/null
	psql_su "ALTER SYSTEM SET full_page_writes = on" >/dev/null
	psql_su "SELECT pg_reload_conf()" >/dev/null
	sleep 1
fi
PGSET="fsync=$(psql_su 'SHOW fsync'), full_page_writes=$(psql_su 'SHOW full_page_writes'), synchronous_commit=$(psql_su 'SHOW synchronous_commit'), shared_buffers=$(psql_su 'SHOW shared_buffers')"

mkdir -p "$W/lite"
printf '%s\n' "$PW" | vc-auth --db "$LITE" init --tenant bench --admin bench --password-stdin >/dev/null
printf '%s\n' "$PW" | vc-auth --db "$OWNER" init --tenant bench --admin bench --password-stdin >/dev/null
login() { printf '%s\n' "$PW" | vc-auth --db "$1" login bench --password-stdin >/dev/null; }
login "$LITE"
login "$APP"

# timed NAME CMD...: one run under GNU time: "$W/NAME.t" gets "secs KiB".
timed() { _n=$1; shift; /usr/bin/time -f '%e %M' -o "$W/$_n.t" "$@"; }
hf() { _n=$1; shift; hyperfine --style basic --export-json "$W/$_n.json" "$@" >&2; }
mean() { jq '.results[0].mean * 1000 | round / 1000' "$W/$1.json"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%d", n / s }'; }

echo "# SQLite and PostgreSQL: one sitting"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -sr), PostgreSQL" \
	"$("$PGBIN/postgres" --version | awk '{print $3}') on a Unix socket ($PGSET)," \
	"load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
echo

# ---- 1. artifact import ---------------------------------------------------------
echo "generating $ROWS rows and $HOSTS hosts ..." >&2
bench/gen.py pslist "$ROWS" 1000 > "$W/rows.jsonl"
bench/gen.py fleet "$HOSTS" > "$W/hosts.jsonl"
for b in lite pg; do
	[ $b = lite ] && db=$LITE || db=$APP
	echo "artifact import into $b ..." >&2
	timed "art-$b" env VC_DB="$db" vc-case artifact import --name Windows.System.Pslist --hunt H.BENCH \
	    "$W/rows.jsonl" > "$W/art-$b.out"
	jq -r .rows "$W/art-$b.out" > "$W/art-$b.rows"
done
read -r ls lk < "$W/art-lite.t"
read -r ps pk < "$W/art-pg.t"
echo "## 1. vc-case artifact import of $ROWS Pslist rows ($(($(wc -c < "$W/rows.jsonl") / 1048576)) MiB)"
echo
echo "| store | seconds | rows/s | peak MiB | rows stored |"
echo "| --- | --- | --- | --- | --- |"
echo "| SQLite | $ls | $(rate "$ROWS" "$ls") | $((lk / 1024)) | $(cat "$W/art-lite.rows") |"
echo "| PostgreSQL | $ps | $(rate "$ROWS" "$ps") | $((pk / 1024)) | $(cat "$W/art-pg.rows") |"
echo
echo "PostgreSQL / SQLite: **$(ratio "$ps" "$ls")x** the time."
echo

# ---- 2. stacking ---------------------------------------------------------------------
login "$LITE"
login "$APP"
echo "stacking ..." >&2
hf stack-lite --runs 3 --warmup 1 "env VC_DB=$LITE vc-score stack --by Name --stored"
hf stack-pg --runs 3 --warmup 1 "env VC_DB='$APP' vc-score stack --by Name --stored"
echo "## 2. vc-score stack --by Name --stored over $ROWS rows"
echo
echo "| store | mean s (3 runs) |"
echo "| --- | --- |"
echo "| SQLite | $(mean stack-lite) |"
echo "| PostgreSQL | $(mean stack-pg) |"
echo
echo "PostgreSQL / SQLite: **$(ratio "$(mean stack-pg)" "$(mean stack-lite)")x** the time."
echo

# ---- 3. host search, 32 clients ------------------------------------------------------
for b in lite pg; do
	[ $b = lite ] && db=$LITE || db=$APP
	echo "host import into $b ..." >&2
	timed "hosts-$b" env VC_DB="$db" vc-hosts import "$W/hosts.jsonl" > /dev/null
done
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
await() {
	i=0
	until curl -s -o /dev/null "$1"; do
		i=$((i + 1)); [ $i -lt 300 ] || { echo "bench/pg.sh: $1 never answered" >&2; exit 1; }
		sleep 0.1
	done
}
# serve DB: one vc-serve on DB; its port in $SP, its pid in $SPID.
serve() {
	SP=$(free_port)
	VC_DB=$1 vc-serve --listen "127.0.0.1:$SP" --max-conns-per-ip 2000 2>> "$W/serve.log" &
	SPID=$!
	PIDS="$PIDS $SPID"
	await "http://127.0.0.1:$SP/health"
}
# load LABEL THREADS CONNS URL: one wrk run; its JSON summary in $W/LABEL.json.
load() {
	wrk -t"$2" -c"$3" -d"$SECS"s --timeout 10s -s bench/http/summary.lua \
	    -H "Authorization: Bearer $TOK" "$4" > "$W/$1.out"
	grep '^{' "$W/$1.out" > "$W/$1.json"
}
f() { jq -r ".$2" "$W/$1.json"; }
row() { printf '| %s | %s | %s | %s | %s |\n' "$1" "$(f "$2" rps)" "$(f "$2" p50_ms)" "$(f "$2" p99_ms)" "$(f "$2" non2xx)"; }
Q='/api/hosts?hostname=fin&os=windows&sort=hostname&order=asc&limit=50'
token() {
	curl -sf -H 'Content-Type: application/json' -d "{\"username\":\"bench\",\"password\":\"$PW\"}" \
	    "http://127.0.0.1:$1/api/auth/login" | jq -r .access_token
}

echo "searching: one vc-serve on SQLite ..." >&2
serve "$LITE"
LP=$SP LPID=$SPID
TOK=$(token "$LP")
nl=$(curl -sf -H "Authorization: Bearer $TOK" "http://127.0.0.1:$LP$Q" | jq -c '[.items[].hostname]')
load s-lite 2 32 "http://127.0.0.1:$LP$Q"
kill "$LPID"
wait "$LPID" 2>/dev/null || true

echo "searching: two vc-serve on PostgreSQL ..." >&2
serve "$APP"
AP=$SP APID=$SPID
serve "$APP"
BP=$SP BPID=$SPID
TOK=$(token "$AP")
np=$(curl -sf -H "Authorization: Bearer $TOK" "http://127.0.0.1:$BP$Q" | jq -c '[.items[].hostname]')
[ "$nl" = "$np" ] || { echo "bench/pg.sh: the two stores answer the search differently" >&2; exit 1; }
load s-pg1 2 32 "http://127.0.0.1:$AP$Q"
load s-pga 1 16 "http://127.0.0.1:$AP$Q" &
WA=$!
load s-pgb 1 16 "http://127.0.0.1:$BP$Q"
wait $WA
NP=$(free_port)
mkdir -p "$W/nginx"
cat > "$W/nginx.conf" <<NGINX
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $W/nginx;
	proxy_temp_path $W/nginx;
	fastcgi_temp_path $W/nginx;
	uwsgi_temp_path $W/nginx;
	scgi_temp_path $W/nginx;
	upstream vc { server 127.0.0.1:$AP; server 127.0.0.1:$BP; keepalive 32; }
	server {
		listen 127.0.0.1:$NP;
		location / {
			proxy_pass http://vc;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
NGINX
"$NGINX" -c "$W/nginx.conf" -g 'daemon off;' 2> "$W/nginx/stderr" &
PIDS="$PIDS $!"
await "http://127.0.0.1:$NP/health"
load s-pgn 2 32 "http://127.0.0.1:$NP$Q"

sum() { jq -rn --slurpfile a "$W/$1.json" --slurpfile b "$W/$2.json" '$a[0].rps + $b[0].rps | . * 10 | round / 10'; }
max() { jq -rn --slurpfile a "$W/$1.json" --slurpfile b "$W/$2.json" "[\$a[0].$3, \$b[0].$3] | max"; }
read -r hl _ < "$W/hosts-lite.t"
read -r hp _ < "$W/hosts-pg.t"
echo "## 3. Host search over $HOSTS hosts, 32 clients, wrk $SECS s a run"
echo
echo "\`GET $Q\` with a JWT; wrk on the same cores as the servers (and"
echo "PostgreSQL).  The hosts were imported in $hl s (SQLite) and $hp s (PostgreSQL)."
echo
echo "| setup | req/s | p50 ms | p99 ms | non-2xx |"
echo "| --- | --- | --- | --- | --- |"
row "SQLite, one vc-serve, wrk -t2 -c32" s-lite
row "PostgreSQL, one vc-serve, wrk -t2 -c32" s-pg1
echo "| PostgreSQL, two vc-serve, wrk -t1 -c16 against each at once (added; the worse p50, p99) | $(sum s-pga s-pgb) | $(max s-pga s-pgb p50_ms) | $(max s-pga s-pgb p99_ms) | $(jq -rn --slurpfile a "$W/s-pga.json" --slurpfile b "$W/s-pgb.json" '$a[0].non2xx + $b[0].non2xx') |"
row "PostgreSQL, two vc-serve behind nginx (round robin), wrk -t2 -c32" s-pgn
echo
