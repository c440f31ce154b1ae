#!/bin/sh
# SPDX-License-Identifier: MIT
# report.sh [HOSTS] [SCORES] [ROWS] - vc-report at scale: threat_report
# over HOSTS hosts (default 100,000) and SCORES stored scores (default
# 1,000,000) in HTML, PDF, XLSX and JSON, and a case whose artifacts hold
# ROWS rows (default 1,000,000) as a CSV and an XLSX appendix.  Prints a
# Markdown table: wall seconds and peak resident memory (GNU time).
#
# The hosts and rows come in through vc-hosts and vc-case as a user's
# would; the scores are written straight into threat_scores by sqlite3
# (a million `vc-score analyze` runs would take hours and measure
# vc-score), with indicators of the shape vc-score stores.
set -eu
cd "$(dirname "$0")/.."
PATH=$PWD/bin:$PATH
HOSTS=${1:-100000}
SCORES=${2:-1000000}
ROWS=${3:-1000000}
W=$(mktemp -d "${TMPDIR:-/tmp}/vc-bench-report.XXXXXX")
trap 'rm -rf "$W"' EXIT
export VC_DB=$W/vc.db XDG_CONFIG_HOME=$W/config HOME=$W
unset VC_TOKEN
printf 'bench password 1\n' | vc-auth init --tenant acme --admin root --password-stdin > /dev/null
printf 'bench password 1\n' | vc-auth login root --password-stdin > /dev/null

echo "setting up: $HOSTS hosts, $SCORES scores, $ROWS artifact rows ..." >&2
bench/gen.py hosts "$HOSTS" > "$W/hosts.jsonl"
vc-hosts import "$W/hosts.jsonl" > /dev/null
now=$(date +%s)
sqlite3 "$VC_DB" "
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $SCORES),
h AS (SELECT rowid AS r, id FROM hosts)
INSERT INTO threat_scores (id, tenant_id, subject_type, subject_id, score_milli, confidence_milli,
	classification, indicators, rows_scored, rows_flagged, model_version, created_at)
SELECT printf('%08x-0000-4000-8000-%012x', i, i), (SELECT id FROM tenants), 'host', h.id, s,
	800, CASE WHEN s < 200 THEN 'benign' WHEN s < 400 THEN 'low' WHEN s < 600 THEN 'medium'
	WHEN s < 800 THEN 'high' ELSE 'critical' END,
	CASE WHEN s < 200 THEN '[]' ELSE json_array(json_object('kind', 'sigma', 'id', 'rule-' || (i % 40),
	'title', 'Sigma rule ' || (i % 40), 'level', 'high', 'weight', 0.5,
	'tags', json_array('attack.execution', 'attack.t10' || printf('%02d', i % 30))),
	json_object('kind', 'ioc', 'id', 'ioc-' || (i % 7), 'title', 'sha256', 'weight', 0.9)) END,
	100, 3, 'vc-score/1', $now - (i % (7 * 86400))
FROM (SELECT i, (i * 7919) % 1000 AS s FROM n) JOIN h ON h.r = 1 + (i % $HOSTS);"
CASE_ID=$(vc-case create 'Bench case' -o jsonl | jq -r .id)
bench/gen.py pslist "$ROWS" 1000 > "$W/ps.jsonl"
vc-case artifact import "$W/ps.jsonl" --name Windows.System.Pslist --case "$CASE_ID" > /dev/null
rm -f "$W/ps.jsonl" "$W/hosts.jsonl"

# one NAME CMD...: a row of the table.
one() {
	name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$W/time" "$@" > /dev/null
	set -- $(tail -n 1 "$W/time")
	printf '| %s | %s | %d |\n' "$name" "$1" $(( $2 / 1024 ))
}
echo "| report | seconds | peak MiB |"
echo "| --- | --- | --- |"
for f in html json xlsx pdf; do
	one "threat_report $f ($HOSTS hosts, $SCORES scores)" \
		vc-report generate threat_report --since -7d --format $f -o "$W/t.$f" --timeout 10m
done
one "case_summary csv, appendix of $ROWS rows" \
	vc-report generate case_summary --case "$CASE_ID" --format csv --table appendix -o "$W/a.csv"
one "case_summary xlsx with the appendix of $ROWS rows" \
	vc-report generate case_summary --case "$CASE_ID" --format xlsx -o "$W/a.xlsx"
echo >&2
echo "appendix: $(($(wc -l < "$W/a.csv") - 1)) CSV rows, $(du -m "$W/a.csv" | cut -f1) MiB; XLSX $(du -m "$W/a.xlsx" | cut -f1) MiB" >&2
