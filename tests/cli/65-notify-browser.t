#!/bin/sh
# SPDX-License-Identifier: MIT
# A real browser on the notification WebSocket: Debian's Chromium,
# headless, opens a small page (tests/peers/notify-page.html, served by
# the test from its own origin, which vc-serve lets in by --cors-origin),
# authenticates with its first message and lists notifications; the test
# reads the page's DOM over the DevTools protocol (tests/peers/cdp.py)
# and checks that a notification sent by another process, a CLI, appears
# there, as text (markup in a title stays text).  Chromium is a part of
# the check: without it this test fails, it does not skip.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PW='sturdy tuna lantern'
CHROME=$(command -v chromium || command -v chromium-browser)
if [ -z "$CHROME" ]; then
	ok 1 "chromium is installed (Debian package chromium: make deps)"
	done_testing
	exit 1
fi
"$PY" -c 'import websockets' 2>/dev/null || { ok 1 "python3-websockets is installed (make deps)"; done_testing; exit 1; }

init_store
printf '%s\n' "$PW" | vc-auth user create ann --role analyst --password-stdin > /dev/null
printf '%s\n' "$PW" | vc-auth user create bob --role analyst --password-stdin > /dev/null
ANN=$(login_as ann "$PW")
BOB=$(login_as bob "$PW")

PORT=$(free_port)
WPORT=$(free_port)
ORIGIN=http://127.0.0.1:$WPORT
vc-serve --listen "127.0.0.1:$PORT" --workers 2 --cors-origin "$ORIGIN" 2> "$T/log" &
echo $! >> "$T/pids"
await 60 grep -q 'listening on' "$T/log"
ok $? "vc-serve starts"
mkdir "$T/www"
cp "$TOP/tests/peers/notify-page.html" "$T/www/index.html"
"$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" "$WPORT" 2> "$T/www.log" &
echo $! >> "$T/pids"
await 10 "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $WPORT))" 2>/dev/null
ok $? "the page is served from $ORIGIN"

# chrome URL: the page, the WebSocket and the token in the fragment.
chrome() {
	"$CHROME" --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
		--disable-background-networking --disable-component-update --disable-sync \
		--disable-dev-shm-usage --user-data-dir="$T/chrome-$2" --remote-debugging-port=0 \
		"$1" > "$T/chrome-$2.log" 2>&1 &
	echo $! >> "$T/pids"
	echo $!
}
# dom PROFILE EXPR WANT SECONDS
dom() { out=$("$PY" "$TOP/tests/peers/cdp.py" "$T/chrome-$1" "$2" "$3" "$4"); rc=$?; }
LIST='document.getElementById("list").innerText'
STATUS='document.getElementById("status").textContent'

CPID=$(chrome "$ORIGIN/#ws=ws://127.0.0.1:$PORT/api/notifications/ws&token=$ANN" ann)
dom ann "$STATUS" "connected as ann" 60
is "$rc:$out" "0:connected as ann" "Chromium opens the WebSocket and authenticates with its first message"
t0=$(date +%s%N)
VC_TOKEN=$BOB vc-notify send --to user:ann --title 'Beacon on web01' --body 'seen from the CLI' > /dev/null
dom ann "$LIST" 'Beacon on web01: seen from the CLI' 10
t1=$(date +%s%N)
is "$rc:$out" "0:Beacon on web01: seen from the CLI" \
	"a notification sent by a CLI process appears in the page ($(( (t1 - t0) / 1000000 )) ms)"
VC_TOKEN=$BOB vc-notify send --to user:bob --title 'for bob only' > /dev/null
VC_TOKEN=$BOB vc-notify send --to user:ann --title '<img src=x id=pwn onerror="document.title=1">' > /dev/null
dom ann "$LIST" '<img src=x id=pwn' 10
is "$rc" 0 "markup in a title is shown as text"
dom ann 'String(document.getElementById("pwn") === null && document.title !== "1")' true 5
is "$out" true "... and never becomes an element"
dom ann 'String(document.querySelectorAll("#list li").length)' 2 5
is "$out" 2 "bob's notification never reaches ann's page"
kill $CPID
await 20 gone "$CPID"

# A page from another origin is refused by vc-serve: the socket closes.
EPORT=$(free_port)
mkdir "$T/evil"
cp "$TOP/tests/peers/notify-page.html" "$T/evil/index.html"
"$PY" -m http.server --bind 127.0.0.1 --directory "$T/evil" "$EPORT" 2> "$T/evil.log" &
echo $! >> "$T/pids"
await 10 "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $EPORT))" 2>/dev/null
CPID=$(chrome "http://127.0.0.1:$EPORT/#ws=ws://127.0.0.1:$PORT/api/notifications/ws&token=$ANN" evil)
dom evil "$STATUS" "closed" 60
is "$rc:$out" "0:closed 1006" "a page of an origin not in --cors-origin: the handshake is refused"
kill $CPID
await 20 gone "$CPID"

done_testing
