#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-serve under hostile input (issue 9): a caller's jq program never
# crashes, hangs, reads files or the environment of the server; each
# refused or stopped program is a 400/422 with a clear message and an
# audit record, and the server goes on answering.
. "$(dirname "$0")/lib.sh"

PW='sturdy tuna lantern'
# req CURL-ARGS...: one request; sets $code and $body.
req() {
	code=$(curl -s --max-time 60 -o "$T/b" -w '%{http_code}' "$@")
	body=$(cat "$T/b")
}
json() { printf '%s\n' "$body" | jq -r "$1" 2>/dev/null; }
# rows TOKEN WHERE: GET the artifact's rows with ?where=WHERE (encoded).
rows() {
	req -G -H "Authorization: Bearer $1" --data-urlencode "where=$2" "$B/api/artifacts/$ART/rows"
}
health() { curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$B/health"; }

init_store
for u in "vic viewer" "ann analyst"; do
	set -- $u
	printf '%s\n' "$PW" | vc-auth user create "$1" --role "$2" --password-stdin > /dev/null
done
printf '%s\n' '{"Name":"evil.exe","n":1}' '{"Name":"calc.exe","n":2}' '{"Name":"x","n":"three"}' > "$T/rows.jsonl"
ANN=$(login_as ann "$PW")
VIC=$(login_as vic "$PW")
run env VC_TOKEN="$ANN" vc-case artifact import --name Test.Rows "$T/rows.jsonl" -o jsonl
ART=$(jqr .id)
is "$rc" 0 "an artifact of three rows"

# The secrets a program must never reach.
mkdir -p "$T/lib"
echo '{"secret": "file-secret-4711"}' > "$T/lib/secret.json"
SP=$(free_port)
B=http://127.0.0.1:$SP
# --min-body-rate 0: the trickled import below is slow on purpose
# (34-load.t checks the refusal of slow bodies).
SOME_SECRET=env-secret-0815 vc-serve --db "$VC_DB" --listen "127.0.0.1:$SP" --workers 4 \
	--min-body-rate 0 --body-deadline 0 2> "$T/serve.log" &
echo $! >> "$T/pids"
i=0
while [ $i -lt 100 ] && ! grep -q 'listening on' "$T/serve.log" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
like "$(cat "$T/serve.log")" "listening on $B" "vc-serve is up"

rows "$VIC" '.Name == "evil.exe"'
is "$code:$(json '.items | length'):$(json '.items[0].Name')" "200:1:evil.exe" "a plain where= works for a viewer"
rows "$VIC" '.n + 1 > 0'
is "$code:$(json '.items | length')" "200:2" "a row on which the program fails is skipped, as jq does"

# Each program that broke the server before.
rows "$VIC" 'import "x" as $s; true'
is "$code:$(json .error)" "400:bad_request" "import: refused before it runs (it aborted the server)"
like "$(json .message)" "'import' is not allowed" "... saying which word"
is "$(health)" 200 "... and the server answers"
rows "$VIC" 'error($ENV.SOME_SECRET)'
is "$code" 400 "error(\$ENV.SOME_SECRET): refused"
unlike "$body" "env-secret-0815" "... the server's environment is not in the answer"
rows "$VIC" "import \"secret\" as \$s {search:\"$T/lib\"}; error(\$s|tostring)"
is "$code" 400 "import of a JSON file from the server's disk: refused"
unlike "$body" "file-secret-4711" "... the file is not in the answer"
rows "$VIC" 'env | tostring | test("0815")'
is "$code" 400 "env: refused"
rows "$VIC" 'reduce range(300000) as $i (null; [.]) | false'
is "$code:$(json .error)" "422:invalid" "a nesting that overflowed the server's stack: 422"
like "$(json .message)" "^--where: the program" "... saying the program was stopped"
is "$(health)" 200 "... and the server answers"

# Endless loops: each stopped at its deadline; /health meanwhile.
t0=$(date +%s)
rows "$VIC" 'until(false; .)' &
p1=$!
rows "$VIC" 'until(false; .)' &
p2=$!
sleep 1
is "$(health)" 200 "two endless programs on both workers: /health answers within 5 s"
wait $p1 $p2
rows "$VIC" 'until(false; .)'
is "$code:$(json .error)" "422:invalid" "an endless loop: 422"
like "$(json .message)" "took longer than 2000 ms on row 1" "... stopped at its deadline"
ok $([ $(( $(date +%s) - t0 )) -lt 60 ]; echo $?) "... within a minute for all three"
rows "$VIC" '.Name == "calc.exe"'
is "$code:$(json '.items[0].Name')" "200:calc.exe" "the workers are free again"

# Every refused or stopped program is in the audit log.
run vc-auth audit list --action artifacts.rows -o jsonl
X
	"seven refused or stopped programs, seven audit records"
like "$(printf '%s\n' "$out" | jq -r .reason)" "'import' is not allowed" "... with the reason"

# Credentials never travel in a URL (they end up in logs and history).
req -X POST "$B/api/auth/refresh?refresh_token=vcr_not_a_real_token"
is "$code:$(json .error)" "400:bad_request" "POST /api/auth/refresh?refresh_token=...: refused"
like "$(json .message)" "'refresh_token' must be sent in the request body" "... saying where it belongs"
req -X POST "$B/api/auth/logout?refresh_token=vcr_not_a_real_token"
is "$code" 400 "... and for logout"

# A member name written with escapes is the same name for host attribution
# as for jq and the scorer.
printf '%s\n' '{"Client\u0049d":"C.00000000000000e5","F\u0071dn":"esc.example","Name":"a.exe"}' > "$T/esc.jsonl"
run env VC_TOKEN="$ANN" vc-case artifact import --name Test.Escaped "$T/esc.jsonl" -o jsonl
is "$rc" 0 "rows whose names are written with \\u escapes import"
run env VC_TOKEN="$VIC" vc-hosts list --client-id C.00000000000000e5 -o jsonl
is "$(jqr .fqdn)" "esc.example" "... and are attributed to their host (Client\\u0049d is ClientId)"

# An import that trickles in holds no lock: while one body arrives a line
# every 4 s, another tenant's writes go through (they used to wait for the
# store's write lock and fail with 503 after 10 s).
vc-auth tenant create globex > /dev/null
printf '%s\n' "$PW" | vc-auth user create gina --role admin --tenant globex --password-stdin > /dev/null
GINA=$(login_as gina "$PW")
cat > "$T/trickle.py" <<'PY'
import socket, sys, time
port, token, n, gap = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(("POST /api/hosts/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n" % token).encode())
for i in range(n):
    line = ('{"hostname":"trickle%d","client_id":"C.%016x"}\n' % (i, 0x7000 + i)).encode()
    s.sendall(b"%x\r\n%s\r\n" % (len(line), line))
    time.sleep(gap)
s.sendall(b"0\r\n\r\n")
print(s.recv(65536).decode().split("\r\n")[0])
PY
/usr/bin/python3 "$T/trickle.py" "$SP" "$ANN" 4 4 > "$T/trickle.out" 2>&1 &
TP=$!
sleep 2
slow=0
for i in 1 2 3; do
	t0=$(date +%s)
	req -X POST -H "Authorization: Bearer $GINA" -H 'Content-Type: application/json' -d "{\"title\":\"case $i\"}" "$B/api/cases"
	c1=$code
	req -X POST -H "Authorization: Bearer $GINA" -H 'Content-Type: application/x-ndjson' \
		--data-binary "{\"hostname\":\"g$i\"}" "$B/api/hosts/import"
	[ "$c1:$code" = "201:200" ] && [ $(( $(date +%s) - t0 )) -lt 5 ] || slow=$((slow + 1))
	sleep 3
done
is "$slow" 0 "while a host import trickles in, another tenant creates cases and imports hosts, each in seconds"
wait $TP
is "$(cat "$T/trickle.out")" "HTTP/1.1 200 OK" "... and the trickled import completes"
is "$(sq "SELECT COUNT(*) FROM hosts WHERE hostname LIKE 'trickle%'")" 4 "... with its four hosts"

# An import killed midway is not 'importing' forever: it shows as
# interrupted, its start is in the audit log, and it can be deleted.
mkfifo "$T/fifo"
env VC_TOKEN="$ANN" vc-case artifact import --name Test.Killed "$T/fifo" > /dev/null 2>&1 &
KP=$!
exec 3> "$T/fifo"
/usr/bin/python3 -c 'import sys
for i in range(45000): sys.stdout.write("{\"n\":%d}\n" % i)' >&3
i=0
while [ $i -lt 300 ]; do
	n=$(sq "SELECT row_count FROM artifacts WHERE name = 'Test.Killed'")
	[ "${n:-0}" -gt 0 ] && break
	sleep 0.1
	i=$((i + 1))
done
kill -9 "$KP"
wait "$KP" 2> /dev/null
exec 3>&-
run env VC_TOKEN="$VIC" vc-case artifact list --name Test.Killed -o jsonl
is "$(jqr '"\(.state) \(.row_count)"')" "interrupted 40000" "killed after its first batch: interrupted, the batch's rows kept"
KID=$(jqr .id)
run env VC_TOKEN="$VIC" vc-case artifact show "$KID" -o jsonl
is "$(jqr .state)" "interrupted" "... show says so too"
run vc-auth audit list --action artifacts.import.begin -o jsonl
is "$(printf '%s\n' "$out" | jq -r "select(.target_id == \"$KID\") | .details.rows")" 40000 \
	"... the audit log has its start, with the rows stored"
run vc-case artifact delete "$KID"
is "$rc" 0 "... and an admin can delete it"

# The command line: the same checks, the same limits.
run env VC_TOKEN="$VIC" SOME_SECRET=env-secret-0815 vc-case artifact rows "$ART" --where 'error($ENV.SOME_SECRET)'
is "$rc" 64 "vc-case artifact rows --where with \$ENV: exit 64"
unlike "$out$err" "env-secret-0815" "... nothing of the environment"
run env VC_TOKEN="$VIC" vc-case artifact rows "$ART" --where 'reduce range(300000) as $i (null; [.]) | false'
is "$rc" 65 "a program that crashes its process: exit 65, this one survives"
run env VC_TOKEN="$VIC" vc-case artifact rows "$ART" --where '.Name == "evil.exe"' -o jsonl
is "$rc:$(jqr .Name)" "0:evil.exe" "a plain --where works"
done_testing
