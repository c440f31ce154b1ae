#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/pg-bulk.sh [ROWS] - the bulk paths on PostgreSQL against SQLite, the
# same data, one sitting (issue 16): vc-hosts import of 20,000 and of
# 100,000 hosts into an empty tenant, then again (every host updated),
# vc-case artifact import of ROWS Pslist rows (default 1,000,000), and
# vc-auth store copy of the SQLite store that results.  Each is one run
# under GNU time (seconds, peak KiB).  PostgreSQL is a throw-away
# server of scripts/pg-test-server on a Unix socket (fsync off, as in
# the tests: what is measured is the protocol and the statements, not
# the disk).  Markdown on stdout.  Needs GNU time, jq and the server
# binaries (scripts/install-deps.sh).
set -eu
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
W=$(mktemp -d "${TMPDIR:-/tmp}/vc-pgbench.XXXXXX")
PGD=$(mktemp -d "${TMPDIR:-/tmp}/vc-pgbench-pg.XXXXXX")
trap 'scripts/pg-test-server stop "$PGD" >/dev/null 2>&1; rm -rf "$W" "$PGD"' EXIT
export XDG_CONFIG_HOME=$W/config XDG_DATA_HOME=$W/data
export VC_KEY_FILE=$W/vc.key
unset VC_TOKEN VC_DB
PATH=$PWD/bin:$PATH
PW='benchmark password 1'

scripts/pg-test-server start "$PGD" > "$W/urls"
OWNER=$(sed -n 1p "$W/urls")
APP=$(sed -n 2p "$W/urls")
PGBIN=${PG_BINDIR:-$(pg_config --bindir 2>/dev/null || true)}
[ -x "$PGBIN/psql" ] || PGBIN=/usr/lib/postgresql/15/bin
# A second database for the copy's target.
"$PGBIN/psql" -X -q "postgresql:///vc?host=$PGD&user=vc_super" -c "CREATE DATABASE copy OWNER vc"
"$PGBIN/psql" -X -q "postgresql:///copy?host=$PGD&user=vc_super" \
    -c "CREATE EXTENSION citext" -c "CREATE EXTENSION pg_trgm"
COPY_URL="postgresql:///copy?host=$PGD&user=vc"

LITE=$W/lite/vc.db
mkdir -p "$W/lite"
printf '%s\n' "$PW" | vc-auth --db "$OWNER" init --tenant bench --admin bench --password-stdin >/dev/null
printf '%s\n' "$PW" | vc-auth --db "$LITE" init --tenant bench --admin bench --password-stdin >/dev/null
echo "generating 20,000 and 100,000 hosts, $ROWS rows ..." >&2
bench/gen.py fleet 20000 > "$W/h20k.jsonl"
bench/gen.py fleet 100000 | sed 's/"ws/"wx/g; s/"C\./"D./g' > "$W/h100k.jsonl"
bench/gen.py pslist "$ROWS" 1000 > "$W/rows.jsonl"

# timed NAME DB CMD...: CMD against DB under GNU time: "$W/NAME.t" gets "secs KiB".
timed() {
	_n=$1 _db=$2; shift 2
	printf '%s\n' "$PW" | VC_DB=$_db vc-auth login bench --password-stdin >/dev/null
	VC_DB=$_db /usr/bin/time -f '%e %M' -o "$W/$_n.t" "$@" >/dev/null
}
row() {
	_pg=$(cut -d' ' -f1 "$W/$2-pg.t") _lite=$(cut -d' ' -f1 "$W/$2-lite.t")
	printf '| %s | %s s | %s s | %s | %s / %s MiB |\n' "$1" "$_pg" "$_lite" \
	    "$(awk -v a="$_pg" -v b="$_lite" 'BEGIN { printf "%.2f", a / b }')" \
	    "$(awk '{ printf "%.0f", $2 / 1024 }' "$W/$2-pg.t")" \
	    "$(awk '{ printf "%.0f", $2 / 1024 }' "$W/$2-lite.t")"
}
for b in pg lite; do
	[ $b = pg ] && db=$APP || db=$LITE
	echo "$b: hosts ..." >&2
	timed h20k-$b "$db" vc-hosts import "$W/h20k.jsonl"
	timed h20k2-$b "$db" vc-hosts import "$W/h20k.jsonl"
	timed h100k-$b "$db" vc-hosts import "$W/h100k.jsonl"
	timed h100k2-$b "$db" vc-hosts import "$W/h100k.jsonl"
	echo "$b: $ROWS rows ..." >&2
	timed rows-$b "$db" vc-case artifact import --name Windows.System.Pslist "$W/rows.jsonl"
done
echo "store copy ..." >&2
printf '%s\n' "$PW" | VC_DB=$LITE vc-auth login bench --password-stdin >/dev/null
VC_DB=$LITE /usr/bin/time -f '%e %M' -o "$W/copy.t" \
    vc-auth store copy --from "$LITE" --to "$COPY_URL" > "$W/copy.out"

echo "| workload | PostgreSQL | SQLite | ratio | peak RSS (PG / SQLite) |"
echo "| --- | --- | --- | --- | --- |"
row "vc-hosts import, 20,000 new hosts" h20k
row "the same again (20,000 updated)" h20k2
row "vc-hosts import, 100,000 new hosts (120,000 then)" h100k
row "the same again (100,000 updated)" h100k2
row "vc-case artifact import, $ROWS rows" rows
printf '\nvc-auth store copy of the SQLite store (%s rows in all): %s s, peak %s MiB; every table counted alike: %s\n' \
    "$(jq -s 'map(.source) | add' "$W/copy.out")" "$(cut -d' ' -f1 "$W/copy.t")" \
    "$(awk '{ printf "%.0f", $2 / 1024 }' "$W/copy.t")" "$(jq -s 'all(.ok)' "$W/copy.out")"
