#!/bin/sh
# SPDX-License-Identifier: MIT
# Audit anchors: vc-auth audit anchor (syslog, --file), vc-serve's anchors
# every --anchor-interval and at its stop, and audit verify --anchors,
# which finds a chain whose newest records were removed (the chain itself
# still verifies) and names the tenant.  The system log is caught in a
# private mount namespace whose /dev/log is a socket of the test's own
# (those checks are skipped where unshare is not allowed).
. "$(dirname "$0")/lib.sh"

PW='sturdy tuna lantern'
A=$T/anchors
tid() { sq "SELECT id FROM tenants WHERE name = '$1'"; }
head_of() { sq "SELECT id || ' ' || mac FROM audit_logs WHERE chain = '$1' ORDER BY id DESC LIMIT 1"; }
# anchor_of FILE TENANT_ID: "id mac" of the last anchor of that chain in FILE.
anchor_of() {
	grep "audit-anchor tenant=$2 " "$1" | tail -n 1 | sed 's/.* id=\([0-9]*\) mac=\([0-9a-f]*\) .*/\1 \2/'
}
lines_in() { if [ -f "$1" ]; then grep -c . "$1"; else echo 0; fi; }

# ---- a private /dev/log --------------------------------------------------------
# in_ns CMD...: run CMD (exec'd, same pid) in a mount namespace whose
# /dev holds only null and a log socket that $T/syslog collects.
: > "$T/syslog"
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
' "$T/log.sock" "$T/syslog" &
echo $! >> "$T/pids"
mkdir "$T/dev"
for d in null zero random urandom; do touch "$T/dev/$d"; done
cat > "$T/ns" <<'EOF_NS'
# ns DIR SOCK CMD...: CMD with a /dev of null, zero, random, urandom (bound
# through the files of DIR) and log, a link to SOCK; exec'd all the way
# down, so CMD keeps this pid.
exec unshare -m sh -c 'for d in null zero random urandom; do
		mount --bind "/dev/$d" "$1/$d" || exit 1
	done
	mount -t tmpfs none /dev || exit 1
	for d in null zero random urandom; do
		touch "/dev/$d" && mount --bind "$1/$d" "/dev/$d" || exit 1
	done
	ln -s "$2" /dev/log && shift 2 && exec "$@"' sh "$@"
EOF_NS
in_ns() { sh "$T/ns" "$T/dev" "$T/log.sock" "$@"; }
await 10 test -S "$T/log.sock"
NS=0
in_ns true 2>/dev/null && NS=1

# ---- two tenants, some history ---------------------------------------------------
init_store
vc-auth tenant create globex > /dev/null
printf '%s\n' "$PW" | vc-auth user create gina --role admin --tenant globex --password-stdin > /dev/null
printf '%s\n' "$PW" | vc-auth user create ada --role admin --password-stdin > /dev/null
GINA=$(login_as gina "$PW")
ADA=$(login_as ada "$PW")
ACME=$(tid acme)
GLOBEX=$(tid globex)
CHAINS=$(sq "SELECT COUNT(DISTINCT chain) FROM audit_logs")

# ---- vc-auth audit anchor ------------------------------------------------------------
run vc-auth audit anchor --file "$A"
is "$rc" 0 "audit anchor --file"
is "$(printf '%s\n' "$out" | grep -c .)" "$CHAINS" "one anchor per chain on stdout"
is "$(lines_in "$A")" "$CHAINS" "... and as many lines in the file"
is "$(stat -c %a "$A")" 600 "the anchor file is made 0600"
like "$(grep "tenant=$ACME " "$A")" \
	"^audit-anchor tenant=$ACME id=[0-9]+ mac=[0-9a-f]{64} time=20[0-9-]+T[0-9:]+Z$" "one parseable line"
is "$(anchor_of "$A" "$ACME")" "$(head_of "$ACME")" "acme's anchor is its chain's newest record and mac"
is "$(anchor_of "$A" "$GLOBEX")" "$(head_of "$GLOBEX")" "so is globex's"
run vc-auth audit anchor --file "$A"
is "$(lines_in "$A")" "$((CHAINS * 2))" "a second run appends"
with "$ADA" vc-auth audit anchor
is "$rc" 77 "an admin may not anchor every chain"
if [ "$NS" = 1 ]; then
	run in_ns vc-auth audit anchor
	is "$rc" 0 "audit anchor with a system log"
	await 10 sh -c "grep -q 'audit-anchor tenant=$GLOBEX ' '$T/syslog'"
	like "$(grep "tenant=$ACME " "$T/syslog" | tail -n 1)" \
		"^<38>.*vc-auth\\[[0-9]+\\]: audit-anchor tenant=$ACME id=[0-9]+ mac=[0-9a-f]{64} time=" \
		"the same line in the system log: facility auth, level info (<38>), tagged vc-auth[pid]"
else
	ok 0 "# SKIP no mount namespace here (unshare): system log not checked"
	ok 0 "# SKIP"
fi

# ---- verify --anchors, intact ----------------------------------------------------------
run vc-auth audit verify --anchors "$A"
is "$rc:$(jqr '[.ok, .anchors] | map(tostring) | join(" ")')" "0:true $((CHAINS * 2))" \
	"intact: verify --anchors passes, every anchor checked"
# A line copied from the system log (any prefix) serves as well.
sed "s/^/Dec  7 03:00:00 host vc-serve[42]: /" "$A" > "$T/from-syslog"
echo "Dec  7 03:00:00 host sshd[7]: unrelated line" >> "$T/from-syslog"
run vc-auth audit verify --anchors "$T/from-syslog"
is "$rc:$(jqr .ok)" "0:true" "anchors read out of a syslog file (other lines skipped)"
echo "audit-anchor tenant=$ACME id=x mac=00" > "$T/bad"
run vc-auth audit verify --anchors "$T/bad"
is "$rc:$err" "64:vc-auth: anchors:1: not an anchor line (audit-anchor tenant=ID id=N mac=HEX)" \
	"a malformed anchor: exit 64, naming the line"
run vc-auth audit verify --anchors /dev/null
is "$rc:$err" "64:vc-auth: anchors: no audit-anchor lines" "a file without anchors: exit 64"
run vc-auth audit verify --anchors "$T/nosuch"
is "$rc" 66 "a missing anchor file: exit 66"

# ---- vc-serve: every interval, and at its stop ----------------------------------------------
PORT=$(free_port)
if [ "$NS" = 1 ]; then
	sh "$T/ns" "$T/dev" "$T/log.sock" vc-serve --listen "127.0.0.1:$PORT" --anchor-interval 0.02 \
		--anchor-file "$T/serve.anchors" 2> "$T/serve.err" &
else
	vc-serve --listen "127.0.0.1:$PORT" --anchor-interval 0.02 --anchor-file "$T/serve.anchors" \
		2> "$T/serve.err" &
fi
SRV=$!
echo "$SRV" >> "$T/pids"
await 30 grep -q 'listening on' "$T/serve.err"
await 30 sh -c "[ \$(grep -c 'tenant=$ACME ' '$T/serve.anchors' 2>/dev/null || echo 0) -ge 2 ]"
ok $? "vc-serve --anchor-interval 0.02 (1.2 s) anchors again and again"
is "$(anchor_of "$T/serve.anchors" "$ACME")" "$(head_of "$ACME")" "... the chain's head"
printf '%s\n' "$PW" | vc-auth user create ann --role analyst --password-stdin > /dev/null
NEW=$(head_of "$ACME")
await 30 sh -c "grep -q 'tenant=$ACME id=${NEW%% *} ' '$T/serve.anchors'"
ok $? "a record written meanwhile is anchored at the next tick"
kill "$SRV"
await 30 gone "$SRV"
like "$(tail -n 1 "$T/serve.err")" "vc-serve: stopped" "vc-serve stops"
n=$(lines_in "$T/serve.anchors")
vc-serve --listen "127.0.0.1:$PORT" --anchor-interval 0 --anchor-file "$T/stop.anchors" 2> "$T/serve2.err" &
SRV=$!
echo "$SRV" >> "$T/pids"
await 30 grep -q 'listening on' "$T/serve2.err"
test ! -s "$T/stop.anchors"
ok $? "--anchor-interval 0: no anchor while running"
kill "$SRV"
await 30 gone "$SRV"
is "$(anchor_of "$T/stop.anchors" "$ACME") $(lines_in "$T/stop.anchors")" "$(head_of "$ACME") $CHAINS" \
	"... but every chain is anchored at the stop"
if [ "$NS" = 1 ]; then
	like "$(grep "vc-serve\\[" "$T/syslog" | tail -n 1)" "^<38>.*vc-serve\\[[0-9]+\\]: audit-anchor tenant=" \
		"vc-serve's anchors go to the system log too"
else
	ok 0 "# SKIP no mount namespace here (unshare): system log not checked"
fi
run vc-serve --anchor-interval 0.001
is "$rc" 64 "--anchor-interval under a second: exit 64"
run vc-serve --anchor-interval 1x
is "$rc" 64 "--anchor-interval that is no number: exit 64"

# ---- the newest records removed ------------------------------------------------------------
cat "$A" "$T/serve.anchors" "$T/stop.anchors" > "$T/all.anchors"
if [ "$STORE_PG" = 1 ]; then
	sq "ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_delete"
else
	sq "DROP TRIGGER audit_logs_no_delete"
fi
sq "DELETE FROM audit_logs WHERE id IN (SELECT id FROM audit_logs WHERE chain = '$ACME' ORDER BY id DESC LIMIT 2)"
run vc-auth audit verify
is "$rc:$(jqr .ok)" "0:true" "without anchors the cut chain still verifies (why anchors exist)"
run vc-auth audit verify --anchors "$T/all.anchors"
is "$rc:$(jqr .ok)" "65:false" "with anchors: the removal is found (exit 65)"
like "$err" "^vc-auth: audit log damaged: tenant acme \\($ACME\\): its newest records were removed: the chain ends at record [0-9]+, but record [0-9]+ was anchored at 20" \
	"... naming the tenant and the records"
with "$GINA" vc-auth audit verify --anchors "$T/all.anchors"
is "$rc:$(jqr .ok)" "0:true" "globex's admin checks only globex's anchors: intact"
with "$ADA" vc-auth audit verify --anchors "$T/all.anchors"
is "$rc" 65 "acme's admin finds acme's chain cut"
run vc-auth audit verify --anchors "$T/all.anchors" --tenant-id "$GLOBEX"
is "$rc" 0 "the superadmin checking globex alone: intact"

done_testing
