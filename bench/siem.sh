#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/siem.sh [EVENTS] [BATCH] - vc-notify forward --once of EVENTS
# events (default 500,000) to the local Splunk HEC and Elasticsearch
# _bulk receivers of the tests (tests/peers/hec.py, bulk.py) in their
# --count-only mode, which counts what arrives without parsing it (so
# that the Python receiver is not what is measured), BATCH events a
# request (default 5000): wall time, events/s and the forwarder's peak
# memory (GNU time), for each kind.  The events are written into the
# store in one transaction, as 67-notify-siem-crash.t does.  Results go
# to stdout as a Markdown table.
set -eu
cd "$(dirname "$0")/.."
N=${1:-500000}
BATCH=${2:-5000}
W=$(mktemp -d "${TMPDIR:-/tmp}/vc-bench.XXXXXX")
PIDS=
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$W"' EXIT
export VC_DB=$W/vc.db XDG_CONFIG_HOME=$W/config VC_ALLOW_VELOCIRAPTOR=127.0.0.1
unset VC_TOKEN VC_KEY_FILE
PATH=$PWD/bin:$PATH
PY=/usr/bin/python3
port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
listening() {
	i=0
	until "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $1))" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "bench: no receiver on $1" >&2; exit 1; }; sleep 0.1
	done
}

echo 'benchmark password 1' | vc-auth init --tenant bench --admin bench --password-stdin >/dev/null
echo 'benchmark password 1' | vc-auth login bench --password-stdin >/dev/null
TENANT=$(sqlite3 "$VC_DB" "SELECT id FROM tenants WHERE name = 'bench'")
echo "writing $N events ..." >&2
sqlite3 "$VC_DB" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
    INSERT INTO events (tenant_id, type, created_at, body)
    SELECT '$TENANT', 'threat_score.created', 1796000000 + i / 100,
    json_object('score_id', lower(hex(randomblob(16))), 'score', (i % 100) / 100.0,
    'classification', 'suspicious', 'subject', 'host-' || i) FROM n"
HP=$(port)
EP=$(port)
"$PY" tests/peers/hec.py "$HP" "$W/hec.count" bench-token --count-only &
PIDS="$PIDS $!"
"$PY" tests/peers/bulk.py "$EP" "$W/bulk.count" --count-only &
PIDS="$PIDS $!"
listening "$HP"
listening "$EP"
echo bench-token | vc-notify channel add hec --kind splunk-hec --target "http://127.0.0.1:$HP" \
	--since 0 --batch "$BATCH" --password-stdin > /dev/null
vc-notify channel add es --kind elastic --target "http://127.0.0.1:$EP" --since 0 --batch "$BATCH" > /dev/null
sync

echo "| channel | events | seconds | events/s | peak MiB |"
echo "| --- | --- | --- | --- | --- |"
for ch in hec es; do
	/usr/bin/time -f '%e %M' -o "$W/t" vc-notify forward --channel $ch --once > "$W/out"
	read -r secs kib < "$W/t"
	got=$(jq -r .delivered "$W/out")
	rate=$(awk -v n="$got" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
	printf '| %s | %s | %s | %s | %s |\n' "$ch" "$got" "$secs" "$rate" "$((kib / 1024))"
done
for p in $PIDS; do kill "$p"; done
sleep 0.5
PIDS=
echo
echo "Received (counted by the receivers): HEC $(cat "$W/hec.count"), _bulk $(cat "$W/bulk.count")."
