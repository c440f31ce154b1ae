#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-case: cases, their append-only timeline and links; filters, sorting
# and paging; roles; tenant isolation; the audit trail of every change.
. "$(dirname "$0")/lib.sh"

PW='sturdy tuna lantern'
# bodies CASE: the timeline of CASE, one body per line, from the store.
bodies() { sq "SELECT body FROM case_notes WHERE case_id='$1' ORDER BY id"; }
ncases() { sq "SELECT COUNT(*) FROM cases"; }
# lines: the lines of $out (0 for none).
lines() { if [ -z "$out" ]; then echo 0; else printf '%s\n' "$out" | wc -l | tr -d ' '; fi; }
MISSING=0b0e5a5e-0000-4000-8000-000000000000

init_store
run vc-auth tenant create globex
run vc-auth tenant create initech
for u in "ada admin" "ann analyst" "val viewer" "dan analyst"; do
	set -- $u
	run_in "$PW" vc-auth user create "$1" --role "$2" --password-stdin
done
run_in "$PW" vc-auth user create gina --role admin --tenant globex --password-stdin
run_in "$PW" vc-auth user create ian --role analyst --tenant initech --password-stdin
ADA=$(login_as ada "$PW")
ANN=$(login_as ann "$PW")
VAL=$(login_as val "$PW")
GINA=$(login_as gina "$PW")
IAN=$(login_as ian "$PW")
run vc-auth user disable dan
like "$ADA $ANN $VAL $GINA $IAN" '^eyJ[^ ]* eyJ[^ ]* eyJ[^ ]* eyJ[^ ]* eyJ' "five sessions in three tenants"

# ---- create ---------------------------------------------------------------
with "$ANN" vc-case create 'Beaconing from web01' --description 'DNS to a new domain every 60 s' \
	--severity high --assignee ann --tag c2 --tag web --tag c2
is "$rc" 0 "an analyst opens a case"
A=$(jqr .id)
like "$A" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "the case has a UUID"
is "$(jqr '[.title, .description, .status, .severity, .assignee, .created_by] | join("|")')" \
	"Beaconing from web01|DNS to a new domain every 60 s|open|high|ann|ann" "the case as given, status open"
is "$(jqr '.tags | join(",")')" "c2,web" "tags kept in order, the repeated one once"
is "$(jqr '[.resolution, .closed_at] | map(tostring) | join(",")')" "null,null" "no resolution, not closed"
like "$(jqr .created_at)" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "created_at is RFC 3339"
is "$(jqr 'keys_unsorted | join(",")')" \
	"id,title,description,status,severity,assignee,tags,resolution,created_by,created_at,updated_at,closed_at" \
	"the case record's members"
is "$(bodies "$A")" "case opened" "the timeline starts with 'case opened'"

with "$ANN" vc-case create 'Plain case'
is "$rc:$(jqr .severity):$(jqr .assignee):$(jqr '.tags | length')" "0:medium:null:0" "default severity medium, no assignee, no tags"
B=$(jqr .id)

n=$(ncases)
with "$ANN" vc-case create ''
is "$rc" 65 "an empty title: exit 65"
with "$ANN" vc-case create "$(printf '%0257d' 0)"
is "$rc:$err" "65:vc-case: a title has 1 to 256 characters" "a 257-character title: exit 65"
with "$ANN" vc-case create "$(printf 'line one\nline two')"
is "$rc" 65 "a title of two lines: exit 65"
with "$ANN" vc-case create 'x' --severity severe
is "$rc" 64 "an unknown severity: usage error"
with "$ANN" vc-case create 'x' --assignee nobody
is "$rc" 65 "an unknown assignee: exit 65"
like "$err" 'assignee must be an enabled user of your tenant' "the message says why"
with "$ANN" vc-case create 'x' --assignee dan
is "$rc" 65 "a disabled assignee: exit 65"
with "$ANN" vc-case create 'x' --assignee gina
is "$rc" 65 "an assignee of another tenant: exit 65"
with "$ANN" vc-case create 'x' --tag "$(printf '%065d' 0)"
is "$rc" 65 "a 65-character tag: exit 65"
with "$ANN" vc-case create 'x' --tag ''
is "$rc" 65 "an empty tag: exit 65"
printf '%065537d' 0 > "$T/big"
with "$ANN" vc-case create 'x' --description "$(cat "$T/big")"
is "$rc" 65 "a description over 64 KiB: exit 65"
is "$(ncases)" "$n" "no refused create made a case"
with "$ANN" vc-case create "$(printf '%0256d' 0)" --tag "$(printf '%064d' 0)" --description "$(printf '%065536d' 0)"
is "$rc" 0 "256-character title, 64-character tag, 64 KiB description: accepted"
with "$ANN" vc-case create 'Crème brûlée über alles — ☃' --tag 'ünïcödé'
is "$rc:$(jqr .title)" "0:Crème brûlée über alles — ☃" "UTF-8 titles and tags"

# ---- show -----------------------------------------------------------------
with "$VAL" vc-case show "$A"
is "$rc" 0 "a viewer shows a case"
is "$(jqr '[.id, .title, (.links | length), .notes_count] | map(tostring) | join("|")')" \
	"$A|Beaconing from web01|0|1" "show: the case, no links, one timeline entry"
with "$VAL" vc-case show "$MISSING"
is "$rc:$err" "66:vc-case: no such case: $MISSING" "show of a missing case: exit 66"

# ---- update and the timeline ---------------------------------------------
with "$ANN" vc-case update "$A" --status in_progress
is "$rc:$(jqr .status)" "0:in_progress" "update --status in_progress"
with "$ANN" vc-case update "$A" --severity critical --assignee ada --tag +apt --tag -web --tag +c2 --tag -nosuch
is "$rc:$(jqr .severity):$(jqr .assignee):$(jqr '.tags | join(",")')" "0:critical:ada:c2,apt" \
	"update severity, assignee and tags"
with "$ANN" vc-case update "$A" --title 'Beaconing from web01 and web02' --description 'Two hosts now'
is "$rc:$(jqr .title):$(jqr .description)" "0:Beaconing from web01 and web02:Two hosts now" "update title and description"
n=$(sq "SELECT COUNT(*) FROM case_notes WHERE case_id='$A'")
with "$ANN" vc-case update "$A" --severity critical --status in_progress --assignee ada --tag +apt
is "$rc" 0 "an update that changes nothing succeeds"
is "$(sq "SELECT COUNT(*) FROM case_notes WHERE case_id='$A'")" "$n" "and records no event"
with "$ANN" vc-case update "$A" --assignee ''
is "$rc:$(jqr .assignee)" "0:null" "an empty assignee unassigns"
with "$ANN" vc-case update "$A" --assignee ann
with "$ANN" vc-case update "$A" --status closed
is "$rc:$err" "64:vc-case: use 'vc-case close ID --resolution TEXT'" "update --status closed: usage error naming close"
with "$ANN" vc-case update "$A" --tag apt
is "$rc" 64 "--tag without + or -: usage error"
with "$ANN" vc-case update "$A" --assignee nobody --severity low
is "$rc" 65 "an update with an unknown assignee fails"
with "$ANN" vc-case update "$A" --title ''
is "$rc" 65 "an update to an empty title fails"
with "$ANN" vc-case show "$A"
is "$(jqr '[.severity, .assignee, .title] | join("|")')" "critical|ann|Beaconing from web01 and web02" \
	"failed updates changed nothing"

# ---- notes ------------------------------------------------------------------
with "$ANN" vc-case note "$A" 'Blocked the domain at the proxy'
is "$rc" 0 "an analyst adds a note"
NOTE=$(jqr .id)
is "$(jqr '[.case_id, .author, .kind, .body] | join("|")')" "$A|ann|note|Blocked the domain at the proxy" "the note record"
is "$(jqr 'keys_unsorted | join(",")')" "id,case_id,created_at,author,kind,body" "the note record's members"
is "$(sq "SELECT COUNT(*) FROM case_notes WHERE id=$NOTE AND author_id = (SELECT id FROM users WHERE username='ann')")" 1 \
	"the note keeps its author's id"
with "$ANN" vc-case note "$A" ''
is "$rc" 65 "an empty note: exit 65"
with "$ANN" vc-case note "$A" "$(cat "$T/big")"
is "$rc" 65 "a note over 64 KiB: exit 65"

# Append-only: the store itself refuses to change an entry.
sq "UPDATE case_notes SET body='rewritten' WHERE id=$NOTE" > "$T/sq.out" 2>&1
[ $? -ne 0 ]
ok $? "sqlite3 UPDATE of a note aborts"
like "$(cat "$T/sq.out")" 'case notes are append-only' "with the trigger's message"
is "$(sq "SELECT body FROM case_notes WHERE id=$NOTE")" 'Blocked the domain at the proxy' "the note is unchanged"
sq "UPDATE case_notes SET kind='event' WHERE case_id='$A'" > /dev/null 2>&1
[ $? -ne 0 ]
ok $? "an UPDATE of every entry of the case aborts too"
is "$(sq "SELECT COUNT(*) FROM case_notes WHERE case_id='$A' AND kind='note'")" 1 "and changes no kind"

# ---- close and reopen -------------------------------------------------------
with "$ANN" vc-case close "$A"
is "$rc" 64 "close without --resolution: usage error"
with "$ANN" vc-case close "$A" --resolution ''
is "$rc" 65 "an empty resolution: exit 65"
with "$ANN" vc-case close "$A" --resolution 'Adware updater, removed'
is "$rc:$(jqr .status):$(jqr .resolution)" "0:closed:Adware updater, removed" "close: status closed, resolution kept"
like "$(jqr .closed_at)" '^20[0-9]{2}-.*Z$' "close sets closed_at"
with "$ANN" vc-case close "$A" --resolution 'again'
is "$rc" 65 "closing a closed case: exit 65"
like "$err" 'already closed' "the message says it is closed"
with "$ANN" vc-case update "$A" --status in_progress
is "$rc" 65 "a closed case does not go to in_progress"
with "$ANN" vc-case update "$A" --tag +fp
is "$rc:$(jqr .status):$(jqr '.tags | join(",")')" "0:closed:c2,apt,fp" "a closed case may still be tagged"
with "$ANN" vc-case update "$A" --status open
is "$rc:$(jqr .status):$(jqr .resolution):$(jqr .closed_at)" "0:open:null:null" \
	"reopen: status open, resolution and closed_at cleared"

# ---- links ------------------------------------------------------------------
with_in '{"client_id":"C.1111111111111111","hostname":"web01","ip":"10.0.0.1","os":"linux"}
{"client_id":"C.2222222222222222","hostname":"web02","ip":"10.0.0.2","os":"linux"}' "$ANN" vc-hosts import
is "$rc" 0 "two hosts imported"
H1=$(sq "SELECT id FROM hosts WHERE client_id='C.1111111111111111'")
H2=$(sq "SELECT id FROM hosts WHERE client_id='C.2222222222222222'")
ACME=$(sq "SELECT id FROM tenants WHERE name='acme'")
ART=5a7e0000-0000-4000-8000-0000000000a1
sq "INSERT INTO artifacts (id, tenant_id, name, state, created_at, updated_at)
    VALUES ('$ART', '$ACME', 'Windows.System.Pslist', 'complete', 0, 0)"

with "$ANN" vc-case link "$A" --host C.1111111111111111
is "$rc:$(jqr '[.kind, .target_id, .hostname, .case_id] | join("|")')" "0:host|$H1|web01|$A" "link a host by client id"
with "$ANN" vc-case link "$A" --host "$H1"
is "$rc" 0 "linking it again by host id succeeds"
is "$(sq "SELECT COUNT(*) FROM case_links WHERE case_id='$A'")" 1 "and makes no second link"
with "$ANN" vc-case link "$A" --host "$H2"
with "$ANN" vc-case link "$A" --artifact "$ART"
is "$rc:$(jqr '[.kind, .target_id, .name] | join("|")')" "0:artifact|$ART|Windows.System.Pslist" "link an artifact"
with "$ANN" vc-case link "$A" --host "$H1" --artifact "$ART"
is "$rc" 64 "--host and --artifact together: usage error"
with "$ANN" vc-case link "$A"
is "$rc" 64 "neither --host nor --artifact: usage error"
with "$ANN" vc-case link "$A" --host C.nosuchclient
is "$rc:$err" "66:vc-case: no such host: C.nosuchclient" "an unknown host: exit 66"
with "$ANN" vc-case link "$A" --artifact "$MISSING"
is "$rc" 66 "an unknown artifact: exit 66"
with "$VAL" vc-case show "$A"
is "$(jqr '[.links[] | .kind + ":" + (.hostname // .name)] | join(",")')" \
	"host:web01,host:web02,artifact:Windows.System.Pslist" "show lists the links, oldest first, with names"
is "$(jqr '[.links[] | select(.kind == "host") | has("name")] | any')" false "host links carry no artifact name"
with "$ANN" vc-case unlink "$A" --host web02
is "$rc" 66 "unlink names the host by id or client id, not by name"
with "$ANN" vc-case unlink "$A" --host C.2222222222222222
is "$rc:$(jqr .deleted)" "0:true" "unlink a host"
with "$ANN" vc-case unlink "$A" --host C.2222222222222222
is "$rc" 66 "unlinking what is not linked: exit 66"
like "$err" 'has no link to host C.2222222222222222' "the message names the host"
with "$VAL" vc-case show "$A"
is "$(jqr '[.links[].target_id] | join(",")')" "$H1,$ART" "the other links remain"

# ---- the whole timeline, in order -------------------------------------------
with "$VAL" vc-case notes "$A"
is "$rc" 0 "a viewer reads the timeline"
is "$(jqr .body)" "case opened
status: open -> in_progress
severity: high -> critical
assignee: ann -> ada
tags: +apt -web
title: Beaconing from web01 -> Beaconing from web01 and web02
description changed
assignee: ada -> -
assignee: - -> ann
Blocked the domain at the proxy
case closed: Adware updater, removed
tags: +fp
case reopened
linked host web01
linked host web02
linked artifact Windows.System.Pslist ($ART)
unlinked host web02" "each change left one entry, oldest first"
is "$(jqr .kind | sort | uniq -c | tr -s ' ' | tr '\n' ';')" " 16 event; 1 note;" "16 events and 1 note"
is "$(jqr .author | sort -u)" ann "each entry names its author"
is "$(jqr .id | sort -n | tr '\n' ' ')" "$(jqr .id | tr '\n' ' ')" "entries come in id order"
with "$VAL" vc-case show "$A"
is "$(jqr .notes_count)" 17 "show counts the timeline"

# ---- list: filters ------------------------------------------------------------
# In tenant initech, which holds only these cases.
with "$IAN" vc-case create 'Phishing wave' --severity low --tag mail --assignee ian \
	--description 'Users got fake INVOICES'
P1=$(jqr .id)
sleep 1
with "$IAN" vc-case create 'Ransomware note on FS01' --severity critical --tag ransom --tag mail
P2=$(jqr .id)
with "$IAN" vc-case update "$P2" --status in_progress
sleep 1
with "$IAN" vc-case create 'USB policy breach' --severity medium
P3=$(jqr .id)
with "$IAN" vc-case close "$P3" --resolution 'Policy reminder sent'
sleep 1
with "$IAN" vc-case create 'Odd PowerShell' --severity high --tag ps --assignee ian
P4=$(jqr .id)
# titles ARGS...: the sorted titles that vc-case list ARGS prints.
titles() { with "$IAN" vc-case list "$@"; printf '%s\n' "$out" | jq -r .title | sort | tr '\n' ';'; }
is "$(titles)" "Odd PowerShell;Phishing wave;Ransomware note on FS01;USB policy breach;" "initech lists its four cases"
is "$(titles --status open)" "Odd PowerShell;Phishing wave;" "--status open"
is "$(titles --status in_progress)" "Ransomware note on FS01;" "--status in_progress"
is "$(titles --status closed)" "USB policy breach;" "--status closed"
is "$(titles --severity critical)" "Ransomware note on FS01;" "--severity critical"
is "$(titles --severity low)" "Phishing wave;" "--severity low"
is "$(titles --assignee ian)" "Odd PowerShell;Phishing wave;" "--assignee ian"
is "$(titles --assignee '')" "Ransomware note on FS01;USB policy breach;" "--assignee '': the unassigned"
is "$(titles --tag mail)" "Phishing wave;Ransomware note on FS01;" "--tag mail"
is "$(titles --tag ransom)" "Ransomware note on FS01;" "--tag ransom"
is "$(titles --tag mai)" "" "--tag matches whole tags only"
is "$(titles --text invoices)" "Phishing wave;" "--text finds the description, any case"
is "$(titles --text POWERSHELL)" "Odd PowerShell;" "--text finds the title, any case"
is "$(titles --text fs01 --tag mail)" "Ransomware note on FS01;" "filters combine"
is "$(titles --text fs01 --tag ps)" "" "all filters must match"
is "$(titles --status open --severity high --assignee ian --tag ps --text odd)" "Odd PowerShell;" "five filters at once"
with "$IAN" vc-case -o json list --tag mail
is "$rc:$(jqr '.total'):$(jqr '.items | length'):$(jqr .next_cursor)" "0:2:2:null" "-o json: items, total, next_cursor"
with "$IAN" vc-case list --status shut
is "$rc" 64 "an unknown status filter: usage error"

# ---- list: sorting -------------------------------------------------------------
# sorted ARGS -- JQ: the JQ key of each listed case, in list order, and
# whether that order is the one jq's sort gives ("asc") or its reverse.
keys_of() { with "$IAN" vc-case -o json list "$@"; jqr "[.items[] | $K] | tostring"; }
order_of() { with "$IAN" vc-case -o json list "$@"; jqr "[.items[] | $K] | if . == sort then \"asc\" elif . == (sort | reverse) then \"desc\" else \"none\" end"; }
RANK='({"low":0,"medium":1,"high":2,"critical":3}[.severity])'
with "$IAN" vc-case list
first=$(printf '%s\n' "$out" | head -n 1 | jq -r .id)
is "$first" "$P4" "the default sort is newest first"
K=.created_at; is "$(order_of)" desc "default order: created_at descending"
K=.created_at; is "$(order_of --sort created_at --order asc)" asc "--sort created_at --order asc"
K=.id; is "$(keys_of)" "$(keys_of --sort created_at --order desc)" "the default is --sort created_at --order desc"
K=.title; is "$(order_of --sort title --order asc)" asc "--sort title --order asc"
K=.title; is "$(order_of --sort title --order desc)" desc "--sort title --order desc"
K=.status; is "$(order_of --sort status --order asc)" asc "--sort status --order asc"
K=.status; is "$(order_of --sort status)" desc "--sort status: descending by default"
K=$RANK; is "$(order_of --sort severity --order asc)" asc "--sort severity --order asc: by rank"
K=.severity; is "$(keys_of --sort severity --order asc)" '["low","medium","high","critical"]' "low, medium, high, critical (not by name)"
K=$RANK; is "$(order_of --sort severity --order desc)" desc "--sort severity --order desc"
sleep 1
with "$IAN" vc-case note "$P1" 'Still coming in'
K=.updated_at; is "$(order_of --sort updated_at)" desc "--sort updated_at"
with "$IAN" vc-case list --sort updated_at
is "$(printf '%s\n' "$out" | head -n 1 | jq -r .id)" "$P1" "a note makes the oldest case the latest updated"
with "$IAN" vc-case list --sort password
is "$rc" 64 "--sort by a field not allowed: usage error"
like "$err" 'created_at\|updated_at\|severity\|status\|title' "the message lists the allowed fields"
unlike "$err" 'SELECT|ORDER BY|FROM|sqlite|c\.' "and shows no SQL"
with "$IAN" vc-case list --sort 'title; DROP TABLE cases'
is "$rc" 64 "--sort with SQL in it: usage error"
unlike "$err" 'SELECT|ORDER BY|sqlite|c\.' "no SQL in that message either"
is "$(sq "SELECT COUNT(*) FROM cases WHERE id='$P1'")" 1 "the cases are still there"
with "$IAN" vc-case list --order sideways
is "$rc" 64 "--order sideways: usage error"

# ---- list: paging ----------------------------------------------------------------
i=1
while [ $i -le 25 ]; do
	case $((i % 4)) in 0) s=low ;; 1) s=medium ;; 2) s=high ;; *) s=critical ;; esac
	env VC_TOKEN="$IAN" vc-case create "$(printf 'Bulk case %02d' $i)" --severity $s --tag bulk > /dev/null || break
	i=$((i + 1))
done
is "$i" 26 "25 more cases"
with "$IAN" vc-case -o json list --limit 1000
TOTAL=$(jqr .total)
ALL=$(jqr '.items[].id')
is "$TOTAL:$(printf '%s\n' "$ALL" | wc -l | tr -d ' ')" "29:29" "29 cases in all"
with "$IAN" vc-case list --limit 0
is "$rc" 64 "--limit 0: usage error"
with "$IAN" vc-case list --limit 1001
is "$rc" 64 "--limit 1001: usage error"

# by_offset ARGS: every page of 10 by --offset, concatenated ids.
by_offset() {
	_o=0 _ids=""
	while [ $_o -lt 40 ]; do
		with "$IAN" vc-case list --limit 10 --offset $_o "$@"
		[ -n "$out" ] && _ids="$_ids$(printf '%s\n' "$out" | jq -r .id)
"
		_o=$((_o + 10))
	done
	printf '%s' "$_ids"
}
# by_cursor ARGS: every page of 10 by --after; the ids, page after page,
# go to $T/ids and the number of pages to $pages.
by_cursor() {
	_c="" pages=0
	: > "$T/ids"
	while [ $pages -lt 10 ]; do
		if [ -z "$_c" ]; then with "$IAN" vc-case -o json list --limit 10 "$@"
		else with "$IAN" vc-case -o json list --limit 10 --after "$_c" "$@"; fi
		[ "$rc" -eq 0 ] || break
		pages=$((pages + 1))
		jqr '.items[].id' >> "$T/ids"
		_c=$(jqr '.next_cursor // empty')
		[ -n "$_c" ] || break
	done
}
is "$(by_offset)" "$ALL" "--limit/--offset pages add up to the whole list, in order"
with "$IAN" vc-case list --limit 10 --offset 20
is "$(lines)" 9 "the last offset page has the rest"
for s in created_at updated_at severity status title; do
	for o in asc desc; do
		with "$IAN" vc-case list --limit 1000 --sort $s --order $o
		want=$(printf '%s\n' "$out" | jq -r .id)
		by_cursor --sort $s --order $o
		got=$(cat "$T/ids")
		is "$pages:$(printf '%s\n' "$got" | sort | uniq -d | wc -l | tr -d ' '):$(printf '%s\n' "$got" | grep -c .)" \
			"3:0:29" "--after, --sort $s --order $o: 3 pages, nothing repeated, nothing skipped"
		is "$got" "$want" "--after, --sort $s --order $o: the same order as one big page"
	done
done
# A case added between pages is not a reason to skip or repeat another.
with "$IAN" vc-case -o json list --limit 10 --sort title --order asc
c1=$(jqr .next_cursor)
p1=$(jqr '.items[].id')
env VC_TOKEN="$IAN" vc-case create 'AAA added meanwhile' > /dev/null
with "$IAN" vc-case -o json list --limit 10 --sort title --order asc --after "$c1"
p2=$(jqr '.items[].id')
is "$(printf '%s\n%s\n' "$p1" "$p2" | sort | uniq -d | wc -l | tr -d ' ')" 0 "a case added before the cursor repeats nothing"
with "$IAN" vc-case -o json list --limit 30 --sort title --order asc
is "$(jqr '.items[0].title')" "AAA added meanwhile" "the new case sorts before the cursor"
is "$(jqr '.items[11:21][].id')" "$p2" "and the next page starts right after the last case seen"
with "$IAN" vc-case list --sort title --after "$c1"
is "$rc" 64 "a cursor of another order: usage error"
with "$IAN" vc-case list --sort severity --order asc --after "$c1"
is "$rc" 64 "a cursor of another sort: usage error"
with "$IAN" vc-case list --sort title --order asc --after "$c1" --offset 5
is "$rc" 64 "--after and --offset together: usage error"
with "$IAN" vc-case list --after 'not-a-cursor'
is "$rc" 64 "a malformed cursor: usage error"

# ---- roles ------------------------------------------------------------------------
d0=$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='authz.denied' AND actor_name='val'")
n=$(ncases)
with "$VAL" vc-case list
is "$rc" 0 "a viewer lists cases"
with "$VAL" vc-case notes "$A"
is "$rc" 0 "a viewer reads a timeline"
with "$VAL" vc-case create 'viewer case'
is "$rc" 77 "a viewer cannot create a case"
with "$VAL" vc-case update "$A" --severity low
is "$rc" 77 "a viewer cannot update"
with "$VAL" vc-case note "$A" 'viewer note'
is "$rc" 77 "a viewer cannot add a note"
with "$VAL" vc-case close "$A" --resolution x
is "$rc" 77 "a viewer cannot close"
with "$VAL" vc-case link "$A" --host "$H2"
is "$rc" 77 "a viewer cannot link"
with "$VAL" vc-case unlink "$A" --host "$H1"
is "$rc" 77 "a viewer cannot unlink"
with "$VAL" vc-case delete "$A"
is "$rc" 77 "a viewer cannot delete"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='authz.denied' AND actor_name='val'")" $((d0 + 7)) \
	"each refusal is audited as authz.denied"
with "$ANN" vc-case delete "$B"
is "$rc" 77 "an analyst cannot delete"
like "$err" 'needs the admin role' "the message names the role"
is "$(ncases)" "$n" "no refused command made or removed a case"
is "$(sq "SELECT severity||' '||status FROM cases WHERE id='$A'")" "critical open" "and case A is as it was"

# ---- tenant isolation -------------------------------------------------------------
# gina, globex's admin, tries acme's case A: exactly as if it did not exist.
na=$(sq "SELECT COUNT(*) FROM case_notes WHERE case_id='$A'")
before=$(sq "SELECT title||status||severity||tags||updated_at FROM cases WHERE id='$A'")
for cmd in "show" "notes" "update --severity low" "close --resolution mine" "note hello" \
	"link --host C.1111111111111111" "unlink --host C.1111111111111111" "delete"; do
	set -- $cmd
	verb=$1; shift
	with "$GINA" vc-case "$verb" "$MISSING" "$@"
	m_rc=$rc m_err=$(printf '%s\n' "$err" | sed "s/$MISSING/ID/")
	with "$GINA" vc-case "$verb" "$A" "$@"
	is "$rc:$(printf '%s\n' "$err" | sed "s/$A/ID/")" "$m_rc:$m_err" "globex's admin: $verb of acme's case is like a missing one"
done
is "$m_rc:$m_err" "66:vc-case: no such case: ID" "which is exit 66, no such case"
is "$(sq "SELECT title||status||severity||tags||updated_at FROM cases WHERE id='$A'")" "$before" "case A is unchanged"
is "$(sq "SELECT COUNT(*) FROM case_notes WHERE case_id='$A'")" "$na" "its timeline too"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='authz.denied' AND actor_name='gina' AND target_type='case' AND target_id='$A'")" 8 \
	"each attempt is audited as authz.denied naming the case"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='authz.denied' AND target_id='$MISSING'")" 0 \
	"a really missing id is no denial"
GLOBEX=$(sq "SELECT id FROM tenants WHERE name='globex'")
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='authz.denied' AND actor_name='gina' AND chain<>'$GLOBEX'")" 0 \
	"the denials are in globex's chain"
with "$GINA" vc-case list
is "$rc:$out" "0:" "globex lists none of acme's cases"
with "$GINA" vc-case list --text Beaconing
is "$out" "" "not even by text"
with "$GINA" vc-case create 'Globex case'
G=$(jqr .id)
with "$GINA" vc-case link "$G" --host C.1111111111111111
is "$rc:$err" "66:vc-case: no such host: C.1111111111111111" "globex cannot link acme's host"
with "$GINA" vc-case link "$G" --artifact "$ART"
is "$rc" 66 "nor acme's artifact"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action='authz.denied' AND actor_name='gina' AND target_type IN ('host','artifact')")" 2 \
	"those attempts are audited too"
is "$(sq "SELECT COUNT(*) FROM case_links WHERE case_id='$G'")" 0 "no link was made"
with "$ANN" vc-case show "$G"
is "$rc" 66 "and acme cannot see globex's case"

# ---- delete -------------------------------------------------------------------------
sq "UPDATE artifacts SET case_id='$A' WHERE id='$ART'"
with "$ADA" vc-case delete "$A"
is "$rc:$(jqr .deleted):$(jqr .id)" "0:true:$A" "an admin deletes a case"
is "$(sq "SELECT (SELECT COUNT(*) FROM cases WHERE id='$A')||' '||(SELECT COUNT(*) FROM case_notes WHERE case_id='$A')||' '||(SELECT COUNT(*) FROM case_links WHERE case_id='$A')")" \
	"0 0 0" "the case, its timeline and its links are gone"
is "$(sq "SELECT name||' '||coalesce(case_id,'null') FROM artifacts WHERE id='$ART'")" "Windows.System.Pslist null" \
	"its artifact stays, without the case"
is "$(sq "SELECT COUNT(*) FROM hosts WHERE id='$H1'")" 1 "its hosts stay"
with "$ADA" vc-case show "$A"
is "$rc" 66 "a deleted case is not found"
with "$ADA" vc-case delete "$A"
is "$rc" 66 "deleting it again: exit 66"
with "$ADA" vc-case show "$B"
is "$rc" 0 "the other cases are untouched"

# ---- the audit trail -----------------------------------------------------------------
with "$ADA" vc-auth audit list --resource-type case --limit 1000
is "$(printf '%s\n' "$out" | jq -r "select(.target_id == \"$A\" and .outcome == \"success\") | .action" | sort | uniq -c | tr -s ' ' | tr '\n' ';')" \
	" 1 cases.close; 1 cases.create; 1 cases.delete; 4 cases.link; 1 cases.note; 1 cases.unlink; 8 cases.update;" \
	"every successful change of case A has an audit record"
is "$(printf '%s\n' "$out" | jq -r "select(.target_id == \"$A\" and .action == \"cases.update\" and .details.status != null) | .details.status | .from + \">\" + .to" | tr '\n' ' ')" \
	"closed>open open>in_progress " "update records say what changed"
is "$(printf '%s\n' "$out" | jq -r "select(.target_id == \"$A\" and .action == \"cases.create\") | .actor + \" \" + .details.title")" \
	"ann Beaconing from web01" "the create record names the actor and the title"
is "$(printf '%s\n' "$out" | jq -r "select(.target_id == \"$A\" and .action == \"cases.close\" and .outcome == \"failure\") | .reason")" \
	"case $A is already closed
the resolution must not be empty" "failed changes are audited with their reasons"
is "$(printf '%s\n' "$out" | jq -r "select(.target_id == \"$A\" and .action == \"cases.delete\") | .actor + \" \" + (.details.notes | tostring)")" \
	"ada 17" "the delete record names the admin and what went with the case"
run vc-auth audit verify
is "$rc" 0 "the audit chain verifies"

done_testing
