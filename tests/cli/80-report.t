#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-report: the three built-in templates over a real store, as HTML
# (well formed, self-contained, escaped, rendered by headless Chromium),
# PDF (wkhtmltopdf, read back by poppler), XLSX (read back by openpyxl),
# CSV and JSON; verify; tenant templates; and the failure paths: no
# wkhtmltopdf, wkhtmltopdf past its time limit, an unknown template, a
# template whose jq fails, another tenant's case, a viewer's report of
# data only admins may read.
. "$(dirname "$0")/lib.sh"

PW='sturdy tuna lantern'
CHECK="/usr/bin/python3 $TOP/tests/peers/report-check.py"
# t DESCRIPTION CMD...: ok when CMD succeeds.
t() { _d=$1; shift; "$@"; ok $? "$_d"; }
not() { ! "$@"; }
# py: Debian's python3 with openpyxl, on a program from stdin.
py() { /usr/bin/python3 - "$@"; }

for tool in wkhtmltopdf pdftotext pdfinfo pdftoppm chromium; do
	command -v $tool > /dev/null || skip_all "no $tool (scripts/install-deps.sh installs it)"
done
/usr/bin/python3 -c 'import openpyxl' 2> /dev/null || skip_all "no python3-openpyxl"

init_store
run vc-auth tenant create globex
for u in "ada admin" "ann analyst" "val viewer"; do
	set -- $u
	run_in "$PW" vc-auth user create "$1" --role "$2" --password-stdin
done
run_in "$PW" vc-auth user create gina --role admin --tenant globex --password-stdin
ADA=$(login_as ada "$PW")
ANN=$(login_as ann "$PW")
VAL=$(login_as val "$PW")
GINA=$(login_as gina "$PW")

# ---- a case with hosts, evidence and scores ----------------------------------
cat > "$T/hosts.jsonl" <<'JSONL'
{"client_id":"C.1000000000000001","os_info":{"system":"windows","hostname":"web01","release":"10"},"first_seen_at":1764000000,"last_seen_at":1765000000000000,"last_ip":"10.0.0.1","labels":["web"]}
{"client_id":"C.1000000000000002","os_info":{"system":"windows","hostname":"db<02>","release":"10"},"first_seen_at":1764000000,"last_seen_at":1765000000000000,"last_ip":"10.0.0.2","labels":[]}
JSONL
cat > "$T/ps.jsonl" <<'JSONL'
{"ClientId":"C.1000000000000001","Name":"vssadmin.exe","Exe":"C:\\Windows\\System32\\vssadmin.exe","CommandLine":"vssadmin.exe delete shadows /all /quiet","Username":"NT AUTHORITY\\SYSTEM","Image":"C:\\Windows\\System32\\vssadmin.exe"}
{"ClientId":"C.1000000000000001","Name":"explorer.exe","Exe":"C:\\Windows\\explorer.exe","CommandLine":"explorer.exe","Username":"CORP\\ann"}
{"ClientId":"C.1000000000000002","Name":"explorer.exe","Exe":"C:\\Windows\\explorer.exe","CommandLine":"explorer.exe","Username":"CORP\\bob"}
JSONL
with "$ANN" vc-hosts import "$T/hosts.jsonl"
with "$ANN" vc-case create 'Ransomware precursor on web01' --severity high --description 'Shadow copies deleted <b>&</b>, "quoted"'
C=$(jqr .id)
with "$ANN" vc-case artifact import "$T/ps.jsonl" --name Windows.System.Pslist --case "$C"
with "$ANN" vc-case link "$C" --host C.1000000000000001
with "$ANN" vc-case link "$C" --host C.1000000000000002
with "$ANN" vc-case note "$C" 'Was the backup server touched too?'
with "$ANN" vc-score analyze host C.1000000000000001
with "$ANN" vc-score analyze host C.1000000000000002
is "$(sq "SELECT COUNT(*) FROM threat_scores")" 2 "setup: a case, two linked hosts, two scores"
if [ "$STORE_PG" = 1 ]; then
	SIGMA_TITLE=$(sq "SELECT j->>'title' FROM threat_scores, jsonb_array_elements(indicators::jsonb) j WHERE j->>'kind' = 'sigma' LIMIT 1")
else
	SIGMA_TITLE=$(sq "SELECT json_extract(j.value, '\$.title') FROM threat_scores, json_each(indicators) j WHERE json_extract(j.value, '\$.kind') = 'sigma' LIMIT 1")
fi
like "$SIGMA_TITLE" 'Shadow Cop' "setup: the Sigma rule for deleting shadow copies fired on web01"

# ---- templates ------------------------------------------------------------------
with "$VAL" vc-report template list -o jsonl
is "$(printf '%s\n' "$out" | jq -rs 'map(.name + ":" + .origin) | join(" ")')" \
	"case_summary:builtin host_analysis:builtin threat_report:builtin" "template list: the three built-in templates"

# ---- case_summary as HTML ----------------------------------------------------------
with "$VAL" vc-report generate case_summary --case "$C" -o "$T/case.html"
is "$rc" 0 "a viewer makes a case summary as HTML"
SHA=$(jqr .sha256)
like "$SHA" '^[0-9a-f]{64}$' "the answer names the data's SHA-256"
is "$($CHECK html "$T/case.html")" ok "the HTML is well formed, has no script and no external reference"
t "the case's title" grep -q '<h1>Ransomware precursor on web01</h1>' "$T/case.html"
t "a host name is escaped" grep -q 'db&lt;02&gt;' "$T/case.html"
t "... never raw" not grep -q 'db<02>' "$T/case.html"
t "the description is escaped" grep -q 'Shadow copies deleted &lt;b&gt;&amp;&lt;/b&gt;, &quot;quoted&quot;' "$T/case.html"
t "the footer prints the data hash" grep -q "Data SHA-256: <code>$SHA</code>" "$T/case.html"
t "an inline SVG chart" grep -q '<svg class="chart"' "$T/case.html"
t "the audit trail is left out for a viewer, and the report says so" grep -q 'shown to administrators only' "$T/case.html"
t "an open question from the timeline" grep -q 'backup server touched too?' "$T/case.html"
rm -rf "$T/prof"
timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$T/prof" --window-size=800,900 \
	--screenshot="$T/case.png" "file://$T/case.html" > /dev/null 2>&1
t "headless Chromium renders it" test -s "$T/case.png"
ink=$($CHECK ink "$T/case.png")
t "... and the screenshot is not blank ($ink/1000 of pixels inked)" test "$ink" -gt 50

with "$ADA" vc-report generate case_summary --case "$C" -o "$T/case-admin.html"
t "an admin's case summary lists the actions taken" grep -q '<td class="text">cases.link</td>' "$T/case-admin.html"

# ---- PDF ----------------------------------------------------------------------------
with "$VAL" vc-report generate case_summary --case "$C" --format pdf --marking 'TLP:AMBER' -o "$T/case.pdf"
is "$rc" 0 "the case summary as PDF"
PSHA=$(jqr .sha256)
pdftotext -layout "$T/case.pdf" "$T/case.txt"
t "pdftotext: the case title" grep -q 'Ransomware precursor on web01' "$T/case.txt"
t "pdftotext: host web01" grep -q 'web01' "$T/case.txt"
t "pdftotext: host db<02>, as its name is" grep -q 'db<02>' "$T/case.txt"
t "pdftotext: the indicator's title" grep -q "Shadow Copies Deletion" "$T/case.txt"
t "pdftotext: page numbers" grep -q 'Page 1 of' "$T/case.txt"
like "$(head -n 3 "$T/case.txt")" 'acme.*TLP:AMBER' "pdftotext: a header with the tenant and the marking"
pdfinfo "$T/case.pdf" > "$T/case.info"
like "$(grep '^Pages:' "$T/case.info")" 'Pages: +[1-9]' "pdfinfo: pages"
like "$(grep '^Title:' "$T/case.info")" 'Case summary' "pdfinfo: the title"
like "$(grep '^Keywords:' "$T/case.info")" "sha256:$PSHA" "pdfinfo: the data hash in the keywords"
like "$(grep '^Subject:' "$T/case.info")" 'TLP:AMBER' "pdfinfo: the marking as subject"
pdftoppm -r 30 -gray -f 1 -l 1 "$T/case.pdf" "$T/page"
ink=$($CHECK ink "$T"/page-1.pgm)
t "pdftoppm: page 1 is not blank ($ink/1000 inked)" test "$ink" -gt 20

# ---- a table of contents with page numbers, and bookmarks ---------------------------
t "HTML: the contents links to each section" grep -q '<nav class="contents"><h2>Contents</h2>' "$T/case.html"
t "... by an id each heading has" grep -q '<h2 id="s-[0-9]*">Open questions</h2>' "$T/case.html"
t "... the link to it" grep -q '<li><a href="#s-[0-9]*">Open questions</a></li>' "$T/case.html"
with "$ANN" vc-case create 'A long case' --severity low
LC=$(jqr .id)
with "$ANN" vc-case link "$LC" --host C.1000000000000001
i=0
while [ $i -lt 70 ]; do
	with "$ANN" vc-case note "$LC" "Step $i of the investigation: looked at the next thing, wrote it down."
	i=$((i + 1))
done
with "$VAL" vc-report generate case_summary --case "$LC" --format pdf -o "$T/long.pdf"
is "$rc" 0 "a long case summary as PDF"
is "$(py "$T/long.pdf" "$T/long.toc" <<'PY'
import re, subprocess, sys
pdf = sys.argv[1]
n = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", pdf], capture_output=True, text=True).stdout).group(1))
def page(i):
    return subprocess.run(["pdftotext", "-layout", "-f", str(i), "-l", str(i), pdf, "-"],
                          capture_output=True, text=True).stdout
pages = [None] + [page(i) for i in range(1, n + 1)]
lines = pages[1].splitlines()
at = [i for i, l in enumerate(lines) if l.strip() == "Contents"][0]
toc = [re.match(r"^\s*(\S.*?)\s{2,}(\d+)$", l) for l in lines[at + 1:]]
toc = [(m.group(1), int(m.group(2))) for m in toc if m]
open(sys.argv[2], "w").write(" | ".join("%s %d" % e for e in toc))
print(" | ".join(t for t, _ in toc))
bad = []
for title, p in toc:
    on = [i for i in range(2, n + 1) if any(l.strip() == title for l in pages[i].splitlines())]
    if not on or on[0] != p:
        bad.append("%s: listed %d, heading on %s" % (title, p, on))
print("pages ok" if not bad else bad, n >= 3, len(set(p for _, p in toc)) >= 2)
PY
)" "$(printf '%s\n%s' "Linked hosts | Indicators | Timeline | Evidence | Actions taken | Open questions" "pages ok True True")" \
	"pdftotext: the contents lists each section with the page on which it starts (not all on one)"
pdftohtml -q -xml -i -stdout "$T/long.pdf" > "$T/long.xml"
is "$(grep -o '<item page="[0-9]*">[^<]*</item>' "$T/long.xml" | sed 's/<item page="\([0-9]*\)">\([^<]*\)<\/item>/\2 \1/' | paste -sd'|' | sed 's/|/ | /g')" \
	"$(cat "$T/long.toc")" "pdftohtml: a bookmark for each section, at the page the contents gives"
cat > "$T/slowish-wk" <<SH
#!/bin/sh
echo \$\$ >> "$T/slowish.pids"
sleep 2
exec wkhtmltopdf "\$@"
SH
chmod +x "$T/slowish-wk"
start=$(date +%s)
with "$VAL" env VC_WKHTMLTOPDF="$T/slowish-wk" vc-report generate case_summary --case "$LC" --format pdf --timeout 4 -o "$T/x.pdf"
is "$rc" 75 "the renderings of a contents share the one time limit: the second is stopped, exit 75"
t "... within it" test $(( $(date +%s) - start )) -lt 12
is "$(wc -l < "$T/slowish.pids")" 2 "... after the first rendering had finished"
t "... and no PDF" test ! -e "$T/x.pdf"

# ---- XLSX -------------------------------------------------------------------------
with "$VAL" vc-report generate case_summary --case "$C" --format json -o "$T/case.json"
is "$rc" 0 "the case summary's data as JSON"
is "$(jq -r '.data.case.title' "$T/case.json")" 'Ransomware precursor on web01' "JSON: the gathered data"
is "$(jq -r '.inputs | [.template, .version, .tenant] | join(" ")' "$T/case.json")" "case_summary 2 acme" \
	"JSON: the inputs"
with "$VAL" vc-report generate case_summary --case "$C" --format xlsx -o "$T/case.xlsx"
is "$rc" 0 "the case summary as XLSX"
is "$(py "$T/case.xlsx" "$T/case.json" <<'PY'
import json, sys, datetime, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
data = json.load(open(sys.argv[2]))["data"]
print(",".join(wb.sheetnames))
ws = wb["Linked hosts"]
print([c.value for c in ws[1]])
print(ws.max_row - 1 == len(data["hosts"]), ws.freeze_panes, ws.auto_filter.ref)
row = {h.value: c.value for h, c in zip(ws[1], ws[2])}
print(type(row["Score"]).__name__, type(row["Last seen"]).__name__, row["Host"])
print(wb["Indicators"].max_row - 1 == len(data["indicators"]), wb["Timeline"].max_row - 1 == len(data["timeline"]))
print(len(wb.chartsheets), wb["About"]["A4"].value, wb["Appendix"].max_row - 1, wb["About"]["B6"].value)
PY
)" "Linked hosts,Indicators,Timeline,Evidence,Actions taken,Chart data,Newest score of each linked,Appendix,About
['Host', 'Address', 'OS', 'Last seen', 'Score', 'Class']
True A2 A1:F3
int datetime db<02>
True True
1 Data SHA-256 3 3 rows" "openpyxl: sheets, header row, frozen header, autofilter, typed cells, row counts, a chart sheet"

# ---- CSV ------------------------------------------------------------------------------
with "$VAL" vc-report generate case_summary --case "$C" --format csv --table timeline -o "$T/timeline.csv"
is "$rc" 0 "one table as CSV"
is "$(py "$T/timeline.csv" <<'PY'
import csv, sys
raw = open(sys.argv[1], newline="").read()
rows = list(csv.reader(raw.splitlines(True)))
print(rows[0], len(rows) - 1, raw.count("\r\n") == len(rows))
PY
)" "['When', 'Kind', 'Who', 'What'] 5 True" "RFC 4180: header, one record per line ending CRLF"
with "$VAL" vc-report generate case_summary --case "$C" --format csv -o "$T/all.csv"
is "$(jqr '.files | map(sub(".*/"; "")) | join(" ")')" \
	"all-hosts.csv all-indicators.csv all-timeline.csv all-artifacts.csv all-actions.csv all-appendix.csv" \
	"every table, a file each, and the appendix of stored rows"
is "$(py "$T/all-appendix.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
print(rows[0], len(rows) - 1, sorted(r[2] for r in rows[1:]), rows[1][6].startswith("{"))
PY
)" "['Artifact', 'Host', 'Name', 'CommandLine', 'Username', 'SHA256', 'Row'] 3 ['explorer.exe', 'explorer.exe', 'vssadmin.exe'] True" \
	"the appendix: every stored row of the case's artifacts"
t "CSV keeps values as they are" grep -q '"db<02>"\|^db<02>,' "$T/all-hosts.csv"

# ---- verify --------------------------------------------------------------------------
for f in case.html case.pdf case.xlsx case.json; do
	with "$VAL" vc-report verify "$T/$f"
	is "$rc:$(jqr .match)" "0:true" "verify $f: the same data again"
done
# A CSV carries nothing but its table: the store knows it by its bytes.
with "$VAL" vc-report verify "$T/timeline.csv"
is "$rc:$(jqr '[.format, .table, .intact, .match, .written_as] | join(" ")')" "0:csv timeline true true timeline.csv" \
	"verify a CSV: found by its content, intact, its table made again is the same"
is "$(jqr .recorded_sha256)" "$(sq "SELECT sha256 FROM report_files WHERE name = 'timeline.csv'")" \
	"... the data hash the store recorded for it"
for f in all-hosts.csv all-appendix.csv; do
	with "$VAL" vc-report verify "$T/$f"
	is "$rc:$(jqr '[.table, .match] | join(" ")')" "0:$(basename "${f#all-}" .csv) true" "verify $f: the same again"
done
is "$(jqr .file_sha256)" "$(sha256sum < "$T/all-appendix.csv" | cut -c1-64)" "... by the SHA-256 of the file's bytes"
cp "$T/timeline.csv" "$T/for-the-siem.txt"
with "$VAL" vc-report verify "$T/for-the-siem.txt"
is "$rc:$(jqr .written_as)" "0:all-timeline.csv" "a CSV renamed is still found by its content (the newest written with it)"
mkdir -p "$T/edited"
sed 's/^When,/When?,/' "$T/timeline.csv" > "$T/edited/timeline.csv"
with "$VAL" vc-report verify "$T/edited/timeline.csv"
is "$rc:$(jqr '[.intact, .match] | join(" ")')" "65:false true" \
	"a CSV edited after it was written: exit 65, not intact (the data it was made from is unchanged)"
like "$err" 'timeline.csv: modified since vc-report wrote it as timeline.csv at 20' "... saying it was modified, and when it was written"
printf 'host,score\r\nweb01,100\r\n' > "$T/other.csv"
with "$VAL" vc-report verify "$T/other.csv"
is "$rc" 65 "a CSV vc-report never wrote: exit 65"
like "$err" 'other.csv: no CSV vc-report wrote for this tenant has this content or this name' "... saying so"
with "$VAL" vc-report verify "$T/no-such.csv"
is "$rc" 66 "a CSV that is not there: exit 66"
printf 'PK\003\004 not a workbook' > "$T/bogus.xlsx"
with "$VAL" vc-report verify "$T/bogus.xlsx"
is "$rc" 65 "verify of a file vc-report did not make: 65"
with "$ANN" vc-case note "$C" 'Backup server checked: clean.'
with "$VAL" vc-report verify "$T/case.html"
is "$rc:$(jqr .match)" "1:false" "verify after the timeline changed: exit 1, no match"
like "$err" 'the data differs' "... saying the data differs"
with "$VAL" vc-report verify "$T/timeline.csv"
is "$rc:$(jqr '[.intact, .match] | join(" ")')" "1:true false" "verify the timeline CSV after the timeline changed: intact, but exit 1"
like "$err" 'timeline.csv: the data differs from what the file holds \(table timeline\)' "... saying its table differs"
with "$VAL" vc-report verify "$T/all-hosts.csv"
is "$rc:$(jqr .match):$(jqr '.sha256 == .recorded_sha256')" "0:true:false" \
	"the hosts CSV of the same report is still current, though the report's data changed"
with "$GINA" vc-report verify "$T/timeline.csv"
is "$rc" 66 "another tenant cannot verify a CSV (not found)"
like "$err" 'a report of another tenant' "... saying whose it is not"
is "$(sq "SELECT outcome || ' ' || action || ' ' || target_type FROM audit_logs ORDER BY id DESC LIMIT 1")" \
	"denied authz.denied report_file" "... and the attempt is audited as denied"
with "$GINA" vc-report verify "$T/case.html"
is "$rc" 66 "another tenant cannot verify it (not found)"

# A CSV's record, in a transaction that gave way to another (PostgreSQL):
# written again, each file once.
if [ "$STORE_PG" = 1 ]; then
	n_rf=$(sq "SELECT COUNT(*) FROM report_files")
	flaky report_files INSERT 2
	with "$VAL" vc-report generate case_summary --case "$C" --format csv -o "$T/again.csv"
	is "$rc:$(jqr '.files | length')" "0:6" "CSV files whose record gave way twice: exit 0, six files"
	ok $([ "$(flaky_hits report_files)" -ge 3 ]; echo $?) "... the failures happened"
	flaky_off report_files
	is "$(sq "SELECT COUNT(*) FROM report_files")" $((n_rf + 6)) "... each recorded once"
	with "$VAL" vc-report verify "$T/again-hosts.csv"
	is "$rc:$(jqr .match)" "0:true" "... and verify finds it"
fi

# ---- host_analysis and threat_report ------------------------------------------------------
with "$VAL" vc-report generate host_analysis --host C.1000000000000001 -o "$T/host.html"
is "$rc" 0 "host_analysis as HTML"
is "$($CHECK html "$T/host.html")" ok "... well formed and self-contained"
t "... of web01" grep -q '<h1>web01</h1>' "$T/host.html"
t "... with the ATT&CK technique of its Sigma hit" grep -q 'T1490' "$T/host.html"
with "$VAL" vc-report generate host_analysis --host C.1000000000000001 --format xlsx -o "$T/host.xlsx"
is "$rc" 0 "host_analysis as XLSX"
with "$VAL" vc-report generate threat_report --since -30d --format pdf -o "$T/threat.pdf"
is "$rc" 0 "threat_report as PDF"
pdftotext -layout "$T/threat.pdf" "$T/threat.txt"
t "pdftotext: the tenant's threat report" grep -q 'Threat report: acme' "$T/threat.txt"
t "... its top rule" grep -q 'Shadow Copies Deletion' "$T/threat.txt"
with "$VAL" vc-report generate threat_report --since -30d --format xlsx -o "$T/threat.xlsx"
is "$(py "$T/threat.xlsx" <<'PY'
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb["Score distribution"]
print([r[0].value for r in ws.iter_rows(min_row=2)], [r[1].value for r in ws.iter_rows(min_row=2)])
print(len(wb.chartsheets))
PY
)" "['benign', 'low', 'medium', 'high', 'critical'] [1, 0, 0, 1, 0]
2" "threat_report XLSX: the distribution as numbers, two chart sheets"
with "$VAL" vc-report generate threat_report --since -30d -o "$T/threat.html"
is "$($CHECK html "$T/threat.html")" ok "threat_report HTML well formed and self-contained"

# ---- failure paths ------------------------------------------------------------------------------
with "$VAL" vc-report generate no_such --case "$C" -o "$T/x.html"
is "$rc" 66 "an unknown template: exit 66"
like "$err" 'no such template: no_such' "... naming it"
with "$GINA" vc-report generate case_summary --case "$C" -o "$T/x.html"
is "$rc" 66 "another tenant's case: not found (66)"
t "... and no file" test ! -e "$T/x.html"
is "$(sq "SELECT outcome FROM audit_logs WHERE action = 'authz.denied' OR outcome = 'denied' ORDER BY id DESC LIMIT 1")" denied \
	"... the attempt is audited as denied"
with "$VAL" vc-report generate case_summary -o "$T/x.html"
is "$rc" 64 "case_summary without --case: usage (64)"
with "$VAL" env VC_WKHTMLTOPDF="$T/none/wkhtmltopdf" vc-report generate case_summary --case "$C" --format pdf -o "$T/x.pdf"
is "$rc" 69 "no wkhtmltopdf: exit 69"
like "$err" 'cannot run .*wkhtmltopdf' "... saying so"
cat > "$T/slow-wk" <<SH
#!/bin/sh
echo \$\$ > "$T/slow.pid"
exec sleep 60
SH
chmod +x "$T/slow-wk"
start=$(date +%s)
mkdir -p "$T/tmp"       # its own TMPDIR: other tests render beside it
with "$VAL" env VC_WKHTMLTOPDF="$T/slow-wk" TMPDIR="$T/tmp" vc-report generate case_summary --case "$C" --format pdf --timeout 2 -o "$T/x.pdf"
is "$rc" 75 "wkhtmltopdf past --timeout: stopped, exit 75"
like "$err" 'longer than 2 s' "... saying so"
t "... within its time limit" test $(( $(date +%s) - start )) -lt 15
t "... and the process is gone" not kill -0 "$(cat "$T/slow.pid")" 2> /dev/null
t "... no PDF" test ! -e "$T/x.pdf"
t "... and no temporary directory left" test -z "$(ls "$T/tmp")"

# ---- tenant templates --------------------------------------------------------------------------------
mkdir -p "$T/tpl"
cat > "$T/tpl/manifest.json" <<'JSON'
{ "name": "host_list", "version": 1, "title": "Hosts of a case", "description": "the linked hosts",
  "params": [{ "name": "case", "type": "case" }], "sources": ["case", "case_hosts"],
  "jq": "{title: .case.title, hosts: [.case_hosts[] | {hostname, score}]}",
  "tables": [{ "name": "hosts", "title": "Hosts", "rows": "hosts", "columns": [{ "key": "hostname" }, { "key": "score", "type": "number" }] }],
  "charts": [{ "name": "scores", "kind": "bar", "rows": "hosts", "label": "hostname", "value": "score" }] }
JSON
printf '<h1>{{title}}</h1>\n{{%%scores}}\n<ul>{{#hosts}}<li>{{hostname}}: {{score}}</li>{{/hosts}}</ul>\n' > "$T/tpl/layout.html"
with "$VAL" vc-report template add "$T/tpl"
is "$rc" 77 "a viewer cannot add a template"
with "$ANN" vc-report template add "$T/tpl"
is "$rc:$(jqr '[.name, .version, .origin] | join(" ")')" "0:host_list 1 tenant" "an analyst adds one: version 1"
with "$ANN" vc-report template add "$T/tpl"
is "$(jqr .version)" 2 "added again: version 2"
with "$VAL" vc-report generate host_list --case "$C" -o "$T/hl.html"
is "$rc" 0 "a tenant template makes a report"
t "... through its own layout, escaped" grep -q '<li>db&lt;02&gt;: 0</li>' "$T/hl.html"
is "$(jq -r .inputs.version <<EOF2
$out
EOF2
)" 2 "... recording its version"
with "$GINA" vc-report template show host_list
is "$rc" 66 "another tenant does not see it"
with "$GINA" vc-report generate host_list -o "$T/x.html"
is "$rc" 66 "... nor use it"
with "$VAL" vc-report template show host_list
like "$(jqr .layout)" '\{\{#hosts\}\}' "template show: its layout"

printf '<h1>{{{title}}}</h1>\n' > "$T/tpl/layout.html"
with "$ANN" vc-report template add "$T/tpl"
is "$rc" 65 "a layout with raw output is refused"
like "$err" 'host_list/layout.html:1: unescaped output is only for charts' "... naming the line"
printf '<h1>{{title}}</h1>\n' > "$T/tpl/layout.html"
sed 's/"jq": "[^"]*"/"jq": "$ENV"/' "$T/tpl/manifest.json" > "$T/tpl/m2" && mv "$T/tpl/m2" "$T/tpl/manifest.json"
with "$ANN" vc-report template add "$T/tpl"
is "$rc" 64 "a jq program that reads the environment is refused"
sed 's/"jq": "[^"]*"/"jq": "error(\\"no data for this\\")"/' "$T/tpl/manifest.json" > "$T/tpl/m2" && mv "$T/tpl/m2" "$T/tpl/manifest.json"
with "$ANN" vc-report template add "$T/tpl"
is "$rc" 0 "a jq program that fails at run time is accepted"
with "$VAL" vc-report generate host_list --case "$C" -o "$T/x.html"
is "$rc" 65 "a template whose jq fails: exit 65"
like "$err" 'its jq program failed: no data for this' "... with jq's message"
sed 's/"jq": "[^"]*"/"jq": "def f: f; f"/' "$T/tpl/manifest.json" > "$T/tpl/m2" && mv "$T/tpl/m2" "$T/tpl/manifest.json"

# A template that reads the audit log, which only admins may read.
cat > "$T/tpl/manifest.json" <<'JSON'
{ "name": "who_did_what", "version": 1, "title": "Audit", "sources": ["audit"], "jq": "{rows: .audit}" }
JSON
printf '{{#rows}}<p>{{action}}</p>{{/rows}}\n' > "$T/tpl/layout.html"
with "$ANN" vc-report template add "$T/tpl"
with "$VAL" vc-report generate who_did_what -o "$T/x.html"
is "$rc" 77 "a viewer's report of data only admins read: exit 77"
like "$err" 'reads audit, which needs the admin role; you are viewer' "... saying which and why"
with "$ADA" vc-report generate who_did_what -o "$T/audit.html"
is "$rc" 0 "an admin makes it"
t "... with the audit trail" grep -q '<p>reports.templates.create</p>' "$T/audit.html"

with "$ANN" vc-report template delete case_summary
is "$rc" 77 "a built-in template cannot be deleted"
with "$ANN" vc-report template delete host_list
is "$rc:$(jqr .deleted)" "0:true" "a tenant template is deleted"
with "$VAL" vc-report generate host_list --case "$C" -o "$T/x.html"
is "$rc" 66 "... and is gone"

# ---- over HTTP: asked for, rendered by vc-serve's report thread, downloaded ----
req() {
	code=$(curl -s --max-time 30 -D "$T/h" -o "$T/b" -w '%{http_code}' "$@")
	body=$(cat "$T/b")
}
# state TOKEN ID: the report's state once it is done or failed (60 s at most).
state() {
	_i=0
	while [ $_i -lt 120 ]; do
		req -H "Authorization: Bearer $1" "$B/api/reports/$2"
		case $(printf '%s' "$body" | jq -r .state) in done|failed) break ;; esac
		sleep 0.5
		_i=$((_i + 1))
	done
	printf '%s' "$body" | jq -r .state
}
PORT=$(free_port)
B=http://127.0.0.1:$PORT
vc-serve --listen "127.0.0.1:$PORT" --workers 2 2> "$T/log" &
echo $! >> "$T/pids"
await 60 grep -q 'listening on' "$T/log"

req -H "Authorization: Bearer $VAL" "$B/api/reports/templates"
is "$code:$(printf '%s' "$body" | jq -r '[.items[].name] | join(" ")')" \
	"200:case_summary host_analysis threat_report who_did_what" "GET /api/reports/templates: built in and the tenant's"
req -H "Authorization: Bearer $VAL" -H 'Content-Type: application/json' \
	-d "{\"template\":\"case_summary\",\"case\":\"$C\",\"format\":\"pdf\"}" "$B/api/reports/generate"
is "$code:$(printf '%s' "$body" | jq -r .state)" "202:pending" "POST /api/reports/generate: 202, pending"
R1=$(printf '%s' "$body" | jq -r .id)
is "$(state "$VAL" "$R1")" done "the report thread renders it: done"
req -H "Authorization: Bearer $VAL" "$B/api/reports/$R1"
SIZE1=$(printf '%s' "$body" | jq -r .size)
like "$(printf '%s' "$body" | jq -r .sha256)" '^[0-9a-f]{64}$' "... with its data hash"
req -H "Authorization: Bearer $VAL" "$B/api/reports/$R1/download"
is "$code" 200 "GET /api/reports/ID/download: 200"
like "$(grep -i '^content-type:' "$T/h")" 'application/pdf' "... as application/pdf"
like "$(grep -i '^content-disposition:' "$T/h")" "attachment; filename=\"case_summary-${R1%"${R1#????????}"}.pdf\"" "... an attachment with its name"
pdftotext "$T/b" "$T/dl.txt"
t "... a PDF of the case" grep -q 'Ransomware precursor on web01' "$T/dl.txt"
is "$(stat -c %s "$T/b")" "$SIZE1" "... of the size recorded"
with "$VAL" vc-report download "$R1" -o "$T/dl-cli.pdf"
t "vc-report download: the same file from the CLI" cmp -s "$T/b" "$T/dl-cli.pdf"
with "$VAL" vc-report list -o jsonl
is "$(printf '%s\n' "$out" | jq -r 'select(.id == "'"$R1"'") | "\(.state) \(.template) \(.format)"')" "done case_summary pdf" \
	"vc-report list: the report, done"

req -H "Authorization: Bearer $ANN" -H 'Content-Type: application/json' \
	-d '{"template":"threat_report","format":"xlsx","since":"-30d"}' "$B/api/reports/generate"
R2=$(printf '%s' "$body" | jq -r .id)
is "$(state "$ANN" "$R2")" done "a threat report as XLSX over HTTP"
req -H "Authorization: Bearer $ANN" "$B/api/reports/$R2/download"
like "$(grep -i '^content-type:' "$T/h")" 'spreadsheetml' "... downloaded with the XLSX content type"
cp "$T/b" "$T/dl.xlsx"
is "$(py "$T/dl.xlsx" <<'PY'
import sys, openpyxl
print(openpyxl.load_workbook(sys.argv[1]).sheetnames[0])
PY
)" "Score distribution" "... and openpyxl reads it"

req -H "Authorization: Bearer $ANN" -H 'Content-Type: application/json' \
	-d '{"template":"case_summary","format":"html"}' "$B/api/reports/generate"
is "$code" 400 "a case report without its case: 400 at once"
req -H "Authorization: Bearer $GINA" -H 'Content-Type: application/json' \
	-d "{\"template\":\"case_summary\",\"case\":\"$C\"}" "$B/api/reports/generate"
is "$code" 404 "another tenant's case: 404 at once"
req -H "Authorization: Bearer $VAL" -H 'Content-Type: application/json' \
	-d '{"template":"who_did_what"}' "$B/api/reports/generate"
R3=$(printf '%s' "$body" | jq -r .id)
is "$(state "$VAL" "$R3")" failed "a viewer's report of the audit log: failed"
req -H "Authorization: Bearer $VAL" "$B/api/reports/$R3"
like "$(printf '%s' "$body" | jq -r .reason)" 'needs the admin role' "... with the reason"
is "$(sq "SELECT outcome || ' ' || actor_name FROM audit_logs WHERE action = 'reports.render' AND target_id IN ('$R1', '$R3') ORDER BY id")" \
	"success val
failure val" "each render is audited as its requester: the done one and the failed one"
is "$(sq "SELECT type || ' ' || $(sq_json body report_id) FROM events WHERE type LIKE 'report.%'
	AND $(sq_json body report_id) IN ('$R1', '$R3') ORDER BY id")" "report.done $R1
report.failed $R3" "... and is an event (report.done, report.failed) for rules and channels"
req -H "Authorization: Bearer $VAL" "$B/api/reports/$R3/download"
is "$code" 409 "... and there is nothing to download (409)"

# An admin's report holds what only admins read: a viewer sees none of it.
req -H "Authorization: Bearer $ADA" -H 'Content-Type: application/json' \
	-d "{\"template\":\"case_summary\",\"case\":\"$C\",\"format\":\"html\"}" "$B/api/reports/generate"
R4=$(printf '%s' "$body" | jq -r .id)
is "$(state "$ADA" "$R4")" done "an admin's case summary over HTTP"
req -H "Authorization: Bearer $ADA" "$B/api/reports/$R4/download"
like "$(grep -i '^content-type:' "$T/h")" 'text/html' "... as text/html"
t "... with the actions taken" grep -q 'cases.link' "$T/b"
req -H "Authorization: Bearer $VAL" "$B/api/reports/$R4/download"
is "$code" 404 "a viewer cannot download an admin's report (404)"
req -H "Authorization: Bearer $VAL" "$B/api/reports"
is "$(printf '%s' "$body" | jq -r "[.items[].id] | index(\"$R4\")")" null "... nor list it"
req -H "Authorization: Bearer $ADA" "$B/api/reports"
is "$(printf '%s' "$body" | jq -r '.items | length')" 4 "an admin lists the tenant's reports"
req -H "Authorization: Bearer $GINA" "$B/api/reports/$R1"
is "$code" 404 "another tenant: 404"
req -H "Authorization: Bearer $GINA" "$B/api/reports"
is "$(printf '%s' "$body" | jq -r '.items | length')" 0 "... and lists none"

# A CSV over HTTP is recorded under the name it is downloaded as.
req -H "Authorization: Bearer $VAL" -H 'Content-Type: application/json' \
	-d "{\"template\":\"case_summary\",\"case\":\"$C\",\"format\":\"csv\",\"table\":\"indicators\"}" "$B/api/reports/generate"
R5=$(printf '%s' "$body" | jq -r .id)
is "$(state "$VAL" "$R5")" done "a CSV over HTTP"
req -H "Authorization: Bearer $VAL" "$B/api/reports/$R5/download"
like "$(grep -i '^content-type:' "$T/h")" 'text/csv' "... downloaded as text/csv"
N5="case_summary-${R5%"${R5#????????}"}.csv"
cp "$T/b" "$T/$N5"
with "$VAL" vc-report verify "$T/$N5"
is "$rc:$(jqr '[.report_id, .table, .written_as, .intact, .match] | join(" ")')" "0:$R5 indicators $N5 true true" \
	"verify the downloaded CSV: the report it came from, intact and current"

# A template over HTTP: manifest and layout as text.
jq -n --arg l '<h1>{{t}}</h1>' '{manifest: ({name: "tiny", version: 1, sources: ["case"], params: [{name: "case", type: "case"}], jq: "{t: .case.title}"} | tojson), layout: $l}' > "$T/tiny.json"
req -H "Authorization: Bearer $ANN" -H 'Content-Type: application/json' -d @"$T/tiny.json" "$B/api/reports/templates"
is "$code:$(printf '%s' "$body" | jq -r .name)" "201:tiny" "POST /api/reports/templates: 201"
req -H "Authorization: Bearer $VAL" -H 'Content-Type: application/json' -d @"$T/tiny.json" "$B/api/reports/templates"
is "$code" 403 "... not for a viewer"

# Retention: a done report past its tenant's days goes, file and all.
with "$ADA" vc-report retention --days 1
is "$rc:$(jqr .report_retention_days)" "0:1" "an admin sets the tenant's retention to a day"
F1=$(sq "SELECT file FROM reports WHERE id = '$R1'")
t "the report's file is there" test -f "$F1"
sq "UPDATE reports SET created_at = created_at - 2 * 86400 WHERE id = '$R1'"
req -H "Authorization: Bearer $VAL" -H 'Content-Type: application/json' \
	-d '{"template":"threat_report","format":"json"}' "$B/api/reports/generate"
is "$(state "$VAL" "$(printf '%s' "$body" | jq -r .id)")" done "the next report is rendered"
is "$(sq "SELECT COUNT(*) FROM reports WHERE id = '$R1'")" 0 "... and the one past retention is gone"
t "... its file too" not test -e "$F1"

done_testing
