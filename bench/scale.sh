#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/scale.sh [HOSTS] [ROWS] - issue 10's data-side figures, side by
# side in one sitting, each against its anchor on the same data:
#   1. vc-hosts import of HOSTS hosts (default 100,000) against sqlite3
#      loading the same JSON Lines into the same schema (indexes in place,
#      and indexes built after the load) and against jq -c .;
#   2. vc-case artifact import of ROWS Pslist rows (default 1,000,000)
#      against jq -c ., with peak memory, then the first CLI call after it;
#   3. vc-score stack --stored over those rows against sqlite3's
#      json_extract GROUP BY on the same store, for a typed field (Name)
#      and one that is not (Authenticode.Trusted);
#   4. vc-hosts list --limit 1, process start to exit, against a bare
#      sqlite3 select of one host;
#   5. host lists over 10 x HOSTS hosts against the same over HOSTS.
# Data comes from bench/gen.py (deterministic).  Needs hyperfine, jq,
# sqlite3 and GNU time (bench/install-deps.sh).  Markdown on stdout,
# hyperfine's own output on stderr.  Takes 10 minutes or so at the
# defaults; `bench/scale.sh 10000 100000` is a quick run.
set -eu
cd "$(dirname "$0")/.."
HOSTS=${1:-100000}
ROWS=${2:-1000000}
BIG=$((HOSTS * 10))
W=$(mktemp -d "${TMPDIR:-/tmp}/vc-scale.XXXXXX")
trap 'rm -rf "$W"' EXIT
export XDG_CONFIG_HOME=$W/config
unset VC_TOKEN VC_KEY_FILE VC_DB
PATH=$PWD/bin:$PATH
PW='benchmark password 1'

# store DIR: a new store DIR/vc.db with tenant bench, logged in as its admin.
store() {
	mkdir -p "$1"
	printf '%s\n' "$PW" | VC_DB=$1/vc.db vc-auth init --tenant bench --admin bench --password-stdin >/dev/null
	login "$1"
}
# login DIR: a fresh access token for DIR's store (tokens expire; a timed
# call must not be the one that refreshes).
login() { printf '%s\n' "$PW" | VC_DB=$1/vc.db vc-auth login bench --password-stdin >/dev/null; }
# hf NAME HYPERFINE-ARGS...: hyperfine, its JSON in $W/NAME.json.
hf() { _n=$1; shift; hyperfine --style basic --export-json "$W/$_n.json" "$@" >&2; }
mean() { jq '.results[0].mean * 1000000 | round / 1000000' "$W/$1.json"; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# timed NAME CMD...: one run under GNU time: "$W/NAME.t" gets "secs KiB".
timed() { _n=$1; shift; /usr/bin/time -f '%e %M' -o "$W/$_n.t" "$@"; }

echo "generating $HOSTS and $BIG hosts, $ROWS rows ..." >&2
bench/gen.py fleet "$HOSTS" > "$W/hosts.jsonl"
bench/gen.py fleet "$BIG" > "$W/hosts-big.jsonl"
bench/gen.py pslist "$ROWS" 1000 > "$W/rows.jsonl"

echo "# Scale: one sitting"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -sr), SQLite $(sqlite3 --version | cut -d' ' -f1)," \
	"load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
echo

# ---- 1. host import ------------------------------------------------------------
store "$W/h"
sqlite3 "$W/h/vc.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
cp "$W/h/vc.db" "$W/h/empty.db"
TENANT=$(sqlite3 "$W/h/vc.db" 'SELECT id FROM tenants')
reset_h="cp $W/h/empty.db $W/h/vc.db && rm -f $W/h/vc.db-wal $W/h/vc.db-shm"
hf import-vc --runs 3 --prepare "$reset_h" "env VC_DB=$W/h/vc.db vc-hosts import $W/hosts.jsonl"

# The anchor: sqlite3 reads the lines and fills the same tables (hosts,
# host_labels, the search index) with json_extract.
cat > "$W/load.sql" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TEMP TABLE raw(line TEXT);
.mode ascii
.separator "\037" "\n"
.import $W/hosts.jsonl raw
BEGIN;
INSERT INTO hosts (id, tenant_id, client_id, hostname, fqdn, ip, ip_key, os, os_version, labels,
	source, first_seen_at, last_seen_at, created_at, updated_at)
SELECT lower(hex(randomblob(16))), '$TENANT', line ->> '\$.client_id', line ->> '\$.os_info.hostname',
	line ->> '\$.os_info.fqdn', line ->> '\$.last_ip', randomblob(16), lower(line ->> '\$.os_info.system'),
	line ->> '\$.os_info.release', line -> '\$.labels', 'velociraptor', line ->> '\$.first_seen_at',
	(line ->> '\$.last_seen_at') / 1000000, unixepoch(), unixepoch()
FROM raw;
INSERT INTO host_labels SELECT h.tenant_id, h.id, j.value FROM hosts h, json_each(h.labels) j;
INSERT INTO hosts_search (rowid, hostname, fqdn) SELECT rowid, hostname, fqdn FROM hosts;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 253)
INSERT INTO host_tri_bounds SELECT h.tenant_id, lower(substr(h.hostname, n.i, 3)), min(h.hostname),
	max(h.hostname) FROM hosts h JOIN n ON n.i <= length(h.hostname) - 2 GROUP BY 1, 2;
COMMIT;
SQL
hf import-sq --runs 3 --prepare "cp $W/h/empty.db $W/anchor.db && rm -f $W/anchor.db-wal" \
	"sh -c 'sqlite3 $W/anchor.db < $W/load.sql'"
# The same, with the indexes of hosts and host_labels dropped before and
# built after the load (the timed part).
sqlite3 "$W/h/empty.db" "SELECT sql || ';' FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
	AND tbl_name IN ('hosts', 'host_labels')" > "$W/indexes.sql"
sed -n 's/^CREATE INDEX \([a-z_]*\) .*/DROP INDEX \1;/p' "$W/indexes.sql" > "$W/drop.sql"
{ sed '$d' "$W/load.sql"; echo 'COMMIT;'; cat "$W/indexes.sql"; } > "$W/load-after.sql"
hf import-sq2 --runs 3 --prepare "cp $W/h/empty.db $W/anchor.db && rm -f $W/anchor.db-wal && sqlite3 $W/anchor.db < $W/drop.sql" \
	"sh -c 'sqlite3 $W/anchor.db < $W/load-after.sql'"
hf import-jq --runs 3 "jq -c . $W/hosts.jsonl"
vc=$(mean import-vc) sq=$(mean import-sq) sq2=$(mean import-sq2) jq=$(mean import-jq)
echo "## 1. Import of $HOSTS hosts ($(($(wc -c < "$W/hosts.jsonl") / 1048576)) MiB of clients() rows)"
echo
echo "| tool | mean s (3 runs) |"
echo "| --- | --- |"
echo "| vc-hosts import | $vc |"
echo "| sqlite3 JSON load into the same schema, indexes in place | $sq |"
echo "| sqlite3 JSON load, then the same indexes built | $sq2 |"
echo "| jq -c . | $jq |"
echo
echo "vc-hosts import / sqlite3 (indexes in place): **$(ratio "$vc" "$sq")x**;" \
	"/ sqlite3 (indexes after): **$(ratio "$vc" "$sq2")x** (target: at most 2x);" \
	"/ jq -c .: $(ratio "$vc" "$jq")x."
echo

# ---- 2. artifact import, and the call after it -----------------------------------------
store "$W/r"
timed jq jq -c . "$W/rows.jsonl" > /dev/null
timed art env VC_DB="$W/r/vc.db" vc-case artifact import --name Windows.System.Pslist --hunt H.BENCH \
	"$W/rows.jsonl" > /dev/null
timed first env VC_DB="$W/r/vc.db" vc-hosts list --limit 1 > /dev/null 2>&1
read -r jq_s jq_k < "$W/jq.t"
read -r art_s art_k < "$W/art.t"
read -r first_s first_k < "$W/first.t"
echo "## 2. Import of $ROWS Pslist hunt rows ($(($(wc -c < "$W/rows.jsonl") / 1048576)) MiB)"
echo
echo "| tool | seconds | peak MiB |"
echo "| --- | --- | --- |"
echo "| jq -c . | $jq_s | $((jq_k / 1024)) |"
echo "| vc-case artifact import | $art_s | $((art_k / 1024)) |"
echo
echo "vc-case artifact import / jq -c .: **$(ratio "$art_s" "$jq_s")x** (target: at most 1x)," \
	"peak $((art_k / 1024)) MiB.  The first CLI call after it (\`vc-hosts list --limit 1\`," \
	"the import's own close having run \`PRAGMA optimize\`): **$(ms "$first_s") ms**."
echo

# ---- 3. stacking stored rows -------------------------------------------------------------
login "$W/r"
group() {
	echo "SELECT lower(json_extract(r.data, '\$.$1')), COUNT(DISTINCT COALESCE(r.host_id, a.host_id)), COUNT(*)
	FROM artifact_rows r JOIN artifacts a ON a.tenant_id = r.tenant_id AND a.id = r.artifact_id
	WHERE a.state <> 'failed' AND json_extract(r.data, '\$.$1') IS NOT NULL GROUP BY 1"
}
group Name > "$W/g-name.sql"
group Authenticode.Trusted > "$W/g-auth.sql"
hf stack-vc --runs 3 --warmup 1 "env VC_DB=$W/r/vc.db vc-score stack --by Name --stored"
hf stack-sq --runs 3 "sh -c 'sqlite3 $W/r/vc.db < $W/g-name.sql'"
hf stack2-vc --runs 3 "env VC_DB=$W/r/vc.db vc-score stack --by Authenticode.Trusted --stored"
hf stack2-sq --runs 3 "sh -c 'sqlite3 $W/r/vc.db < $W/g-auth.sql'"
echo "## 3. Stacking $ROWS stored rows"
echo
echo "| field | vc-score stack --stored, s | sqlite3 json_extract GROUP BY, s | ratio |"
echo "| --- | --- | --- | --- |"
echo "| Name (typed column) | $(mean stack-vc) | $(mean stack-sq) | **$(ratio "$(mean stack-vc)" "$(mean stack-sq)")x** |"
echo "| Authenticode.Trusted (read as JSON) | $(mean stack2-vc) | $(mean stack2-sq) | $(ratio "$(mean stack2-vc)" "$(mean stack2-sq)")x |"
echo
echo "Target: at most 1x for the fields kept as typed columns."
echo

# ---- 4. a cheap start ------------------------------------------------------------------------
# (The store holds the hosts of section 1's last run.)
login "$W/h"
hf start-vc -N --warmup 5 --runs 50 "env VC_DB=$W/h/vc.db vc-hosts list --limit 1 -o jsonl"
hf start-sq -N --warmup 5 --runs 50 "sqlite3 $W/h/vc.db \"SELECT id, hostname FROM hosts WHERE tenant_id = '$TENANT' ORDER BY hostname LIMIT 1\""
echo "## 4. One host, process start to exit ($HOSTS hosts)"
echo
echo "| call | mean ms (50 runs) |"
echo "| --- | --- |"
echo "| vc-hosts list --limit 1 | $(ms "$(mean start-vc)") |"
echo "| sqlite3 db 'SELECT ... LIMIT 1' | $(ms "$(mean start-sq)") |"
echo
echo "vc-hosts / sqlite3: **$(ratio "$(mean start-vc)" "$(mean start-sq)")x** (target: at most 3x)."
echo

# ---- 5. lists over 10 x the hosts ---------------------------------------------------------------
store "$W/b"
timed big env VC_DB="$W/b/vc.db" vc-hosts import "$W/hosts-big.jsonl" > /dev/null
read -r big_s big_k < "$W/big.t"
login "$W/b"
login "$W/h"
echo "## 5. Host lists over $BIG hosts against $HOSTS"
echo
echo "(The $BIG hosts were imported in $big_s s, peak $((big_k / 1024)) MiB.)"
echo
echo "| list | $HOSTS hosts, ms | $BIG hosts, ms | ratio |"
echo "| --- | --- | --- | --- |"
i=0
for q in "--hostname fin --os windows --sort hostname --limit 50" \
	"--fqdn emea --sort last_seen --order desc --limit 50" \
	"--hostname srv00042 --limit 50" \
	"--os linux --label vip --sort last_seen --order desc --limit 50" \
	"--limit 50"; do
	i=$((i + 1))
	hf "l$i-s" -N --warmup 3 --runs 20 "env VC_DB=$W/h/vc.db vc-hosts list $q -o jsonl"
	hf "l$i-b" -N --warmup 3 --runs 20 "env VC_DB=$W/b/vc.db vc-hosts list $q -o jsonl"
	echo "| $q | $(ms "$(mean "l$i-s")") | $(ms "$(mean "l$i-b")") | $(ratio "$(mean "l$i-b")" "$(mean "l$i-s")")x |"
done
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
