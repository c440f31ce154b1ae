#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-serve's notification WebSocket (GET /api/notifications/ws) with a
# real client (Debian's python3-websockets, tests/peers/ws-client.py):
# authentication by the first message, what is refused (a bad or expired
# token, a token in the URL, a wrong Origin, silence, a message too big),
# pushes of notifications written by another process, replay with
# "since", tenant and user scoping, a slow reader dropped without
# hurting another client, the close when the server stops.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import websockets' 2>/dev/null || skip_all "no python3-websockets (make deps)"
WSC="$PY $TOP/tests/peers/ws-client.py"
PW='sturdy tuna lantern'
# msgs FILE FILTER: jq -r FILTER over the client's output FILE.
msgs() { jq -r "$2" "$1"; }

init_store
vc-auth tenant create globex > /dev/null
for u in "ann analyst" "val viewer"; do
	set -- $u
	printf '%s\n' "$PW" | vc-auth user create "$1" --role "$2" --password-stdin > /dev/null
done
printf '%s\n' "$PW" | vc-auth user create gina --role admin --tenant globex --password-stdin > /dev/null
ANN=$(login_as ann "$PW")
VAL=$(login_as val "$PW")
GINA=$(login_as gina "$PW")

PORT=$(free_port)
WS=ws://127.0.0.1:$PORT/api/notifications/ws
vc-serve --listen "127.0.0.1:$PORT" --workers 2 --cors-origin http://ui.example 2> "$T/log" &
SPID=$!
echo $SPID >> "$T/pids"
await 60 grep -q 'listening on' "$T/log"
ok $? "vc-serve starts"

# ---- refusals ------------------------------------------------------------------
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/notifications/ws")
is "$code" 426 "a plain GET of the WebSocket: 426 Upgrade Required"
$WSC "$WS" listen --token not-a-token --wait 5 > "$T/bad"
is "$(msgs "$T/bad" '.closed // empty')" 4001 "a bad token: closed with 4001"
is "$(msgs "$T/bad" '.type // empty')" "" "... before anything is sent"
$WSC "$WS?token=$ANN" listen --wait 5 > "$T/url"
is "$(msgs "$T/url" .refused)" 400 "a token in the URL: the upgrade is refused (400)"
$WSC "$WS" listen --token "$ANN" --origin http://evil.example --wait 5 > "$T/origin"
is "$(msgs "$T/origin" .refused)" 403 "a wrong Origin: refused (403)"
$WSC "$WS" listen --token "$ANN" --origin http://ui.example --wait 2 > "$T/origin2"
is "$(msgs "$T/origin2" '.type // empty' | head -n 1)" authenticated "the --cors-origin Origin is let in"
$WSC "$WS" listen --raw-first '{"hello":1}' --wait 5 > "$T/garbage"
is "$(msgs "$T/garbage" .closed)" 1008 "a first message that is no token: 1008"
$WSC "$WS" listen --token "$ANN" --big 70000 --wait 5 > "$T/big"
is "$(msgs "$T/big" '.closed // empty')" 1009 "a 70000-byte message: 1009"
$WSC "$WS" listen --wait 9 > "$T/silent"
is "$(msgs "$T/silent" .closed)" 1008 "no authentication: closed with 1008"
ms=$(msgs "$T/silent" ._ms)
ok $([ "$ms" -ge 4500 ] && [ "$ms" -le 7000 ]; echo $?) "... after 5 s ($ms ms)"
# Expiry: the same claims, signed with the store's key, expiring in 3 s.
SHORT=$($WSC - mint "$STORE_KEY" "$ANN" 3)
$WSC "$WS" listen --token "$SHORT" --wait 8 > "$T/expiry"
is "$(msgs "$T/expiry" '.type // empty')" authenticated "a token expiring in 3 s is accepted"
is "$(msgs "$T/expiry" '.closed // empty')" 4001 "... and the socket is closed with 4001 when it expires"
ms=$(msgs "$T/expiry" '._ms' | tail -n 1)
ok $([ "$ms" -ge 1500 ] && [ "$ms" -le 5000 ]; echo $?) "... about 3 s later ($ms ms)"

# ---- pushes from another process -----------------------------------------------------
$WSC "$WS" listen --token "$ANN" --count 2 --wait 15 > "$T/ann" &
A=$!
$WSC "$WS" listen --token "$VAL" --count 1 --wait 15 > "$T/val" &
V=$!
$WSC "$WS" listen --token "$GINA" --wait 6 > "$T/gina" &
G=$!
await 10 grep -q authenticated "$T/ann" && await 10 grep -q authenticated "$T/val" &&
	await 10 grep -q authenticated "$T/gina"
ok $? "three clients authenticate"
t0=$(date +%s%3N)
N1=$(VC_TOKEN=$ANN vc-notify send --to user:ann --title 'look at web01' -o jsonl | jq -r .id)
N2=$(VC_TOKEN=$ANN vc-notify send --to role:viewer --title 'maintenance at 18:00' -o jsonl | jq -r .id)
wait $A $V $G
is "$(msgs "$T/ann" 'select(.type == "notification") | "\(.id) \(.title)"')" "$N1 look at web01
$N2 maintenance at 18:00" "ann gets hers and the role-wide one, in order"
t1=$(msgs "$T/ann" 'select(.type == "notification") | ._t' | head -n 1)
ok $([ $((t1 - t0)) -lt 1000 ]; echo $?) "... the first within 1 s of the CLI sending it ($((t1 - t0)) ms)"
is "$(msgs "$T/val" 'select(.type == "notification") | .title')" "maintenance at 18:00" \
	"val (a viewer) gets the role-wide one only"
is "$(msgs "$T/gina" 'select(.type == "notification") | .id')" "" "another tenant's admin gets nothing"
is "$(msgs "$T/ann" 'select(.type == "notification") | .read_at' | sort -u)" null "pushed unread"

# ---- replay ---------------------------------------------------------------------------
$WSC "$WS" listen --token "$ANN" --since 0 --count 2 --wait 5 > "$T/replay"
is "$(msgs "$T/replay" 'select(.type == "notification") | .id' | paste -sd' ' -)" "$N1 $N2" \
	"since 0: everything missed, oldest first"
$WSC "$WS" listen --token "$ANN" --since "$N1" --wait 2 > "$T/replay2"
is "$(msgs "$T/replay2" 'select(.type == "notification") | .id' | paste -sd' ' -)" "$N2" \
	"since N1: only what came after"
$WSC "$WS" listen --token "$ANN" --wait 2 > "$T/noreplay"
is "$(msgs "$T/noreplay" 'select(.type == "notification") | .id')" "" "no since: only new ones"

# ---- a slow reader is dropped; another client is not ------------------------------------------
mkfifo "$T/slow.fifo"
$WSC "$WS" slow --token "$VAL" < "$T/slow.fifo" > "$T/slow" &
S=$!
exec 4> "$T/slow.fifo"
await 10 grep -q upgraded "$T/slow"
ok $? "a reader that never reads connects"
BURST=1500
$WSC "$WS" listen --token "$ANN" --count $BURST --wait 40 > "$T/fast" &
F=$!
await 10 grep -q authenticated "$T/fast"
sleep 0.3
# 1500 notifications of 4000 bytes each (6 MB), written behind the
# server's back in one transaction: far more than the slow reader's
# buffers and queue hold.
# On PostgreSQL vc-serve learns of new rows by LISTEN: a writer behind its
# back announces them as the tools do (vc_store_announce), in the same
# transaction (psql -c runs both statements in one).
x4000="printf('%.4000c', 'x')" announce=""
[ "$STORE_PG" = 1 ] && x4000="repeat('x', 4000)" announce="; SELECT pg_notify('vc_notifications', '')"
sq "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $BURST)
    INSERT INTO notifications (tenant_id, target, min_role, title, body, created_at)
    SELECT (SELECT id FROM tenants WHERE name = 'acme'), 'role:viewer', 1, 'burst ' || i,
    $x4000, $(sq_now) FROM n$announce" > /dev/null
wait $F
is "$(msgs "$T/fast" 'select(.type == "notification") | .id' | wc -l | tr -d ' ')" $BURST \
	"a client that reads gets all $BURST"
is "$(msgs "$T/fast" 'select(.type == "notification") | .id' | sort -n | uniq | wc -l | tr -d ' ')" $BURST \
	"... each once"
await 10 grep -q 'too slow' "$T/log"
ok $? "the slow reader is dropped (vc-serve says so)"
exec 4>&-
wait $S
is "$(msgs "$T/slow" '.dropped // empty')" true "... and its connection is gone"

# ---- the server stops --------------------------------------------------------------------
$WSC "$WS" listen --token "$ANN" --wait 10 > "$T/stop" &
C=$!
await 10 grep -q authenticated "$T/stop"
kill -TERM $SPID
wait $C
is "$(msgs "$T/stop" '.closed // empty')" 1001 "stopping vc-serve closes the socket with 1001 (going away)"
wait $SPID
is "$?" 0 "vc-serve exits 0"

done_testing
