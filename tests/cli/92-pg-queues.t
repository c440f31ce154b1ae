#!/bin/sh
# SPDX-License-Identifier: MIT
# The job queues shared by several processes on one PostgreSQL store
# (issue 16): each claims with FOR UPDATE SKIP LOCKED in a READ
# COMMITTED transaction.  Reports: vc-serve instances render side by
# side, every report once, none failing to serialize, and a report whose
# claim lapsed (its instance died) is taken over.  Mail: seven
# deliverers at once (the instances' mail threads, three flushes) send
# each queued message once, and record it once.
. "$(dirname "$0")/lib.sh"

pg_start
PW='sturdy tuna lantern'
N=100
run_in "$PW" vc-auth --db "$OWNER" init --tenant acme --admin root --password-stdin
is "$rc" 0 "vc-auth init on PostgreSQL"
export VC_DB="$APP"
run_in "$PW" vc-auth login root --password-stdin
"$TOP/bench/gen.py" hosts 50 > "$T/hosts.jsonl"
vc-hosts import "$T/hosts.jsonl" > /dev/null
C=$(vc-case create "Beacon on ws00001" --severity high | jq -r .id)
for h in $(jq -r .client_id "$T/hosts.jsonl" | head -n 5); do vc-case link "$C" --host "$h" > /dev/null; done
i=0
while [ $i -lt $N ]; do
	if [ $((i % 2)) -eq 0 ]; then
		vc-report request --template case_summary --case "$C" --format json > /dev/null || echo "$i" >> "$T/req.fail"
	else
		vc-report request --template threat_report --since -30d > /dev/null || echo "$i" >> "$T/req.fail"
	fi
	i=$((i + 1))
done
is "$(cat "$T/req.fail" 2>/dev/null)$(vc-report list --limit 1000 | jq -r .state | sort | uniq -c | tr -s ' ')" \
    " $N pending" "$N reports asked for, pending"

# Four instances, each its own report directory, started together (more
# than two, so that claims meet often).
PORTS=""
for x in a b c d; do
	mkdir -p "$T/r$x"
	p=$(free_port)
	while printf '%s\n' $PORTS | grep -qx "$p"; do p=$((p + 1)); done
	PORTS="$PORTS $p"
	VC_REPORT_DIR=$T/r$x vc-serve --listen "127.0.0.1:$p" --workers 1 > "$T/$x.log" 2>&1 &
	echo $! >> "$T/pids"
done
for x in a b c d; do await 60 grep -q 'listening on' "$T/$x.log"; done
done_count() { vc-report list --limit 1000 | jq -r 'select(.state == "done") | .id' | wc -l | tr -d ' '; }
await 120 sh -c "[ \"\$(vc-report list --limit 1000 | jq -r 'select(.state == \"done\")' | jq -s length)\" = $N ]"
is "$(done_count)" "$N" "the instances rendered all $N"
per=""
for x in a b c d; do per="$per $(ls "$T/r$x" | wc -l | tr -d ' ')"; done
is "$(echo $per | tr ' ' '+' | bc)" "$N" "one file a report (by instance:$per)"
ok "$(echo "$per" | grep -qw 0; [ $? -ne 0 ]; echo $?)" "every instance took reports"
is "$(psql_as "$SUPER" "SELECT count(*) || ' ' || count(DISTINCT target_id) FROM audit_logs
    WHERE action = 'reports.render'")" "$N $N" "each report rendered once (one reports.render record each)"
is "$(grep -h 'reports:' "$T"/[abcd].log)" "" "no claim failed in any instance"
# The server logs each failed statement: none is a claim (the records
# of two renderers appending to one audit chain may give way, and are
# written again).
grep -A2 'could not serialize' "$PGD/server.log" > "$T/ser.log"
is "$(grep -c "state = 'running'" "$T/ser.log")" 0 "no claim failed to serialize"
echo "# $(grep -c 'could not serialize' "$T/ser.log") other statements gave way"

# A claim that lapsed: its instance died while rendering.
R=$(vc-report list --limit 1 | jq -r .id)
psql_as "$SUPER" "UPDATE reports SET state = 'running', claimed_until = 1, finished_at = NULL
    WHERE id = '$R'" > /dev/null
await 30 sh -c "vc-report show '$R' | jq -e '.state == \"done\" and .finished_at != null' > /dev/null"
ok $? "a report whose claim lapsed is taken over and rendered again"
# ---- the mail outbox ------------------------------------------------------
PY=/usr/bin/python3
if "$PY" -c 'import aiosmtpd' 2>/dev/null; then
	mkdir -p "$T/mail"
	"$PY" "$TOP/tests/fixtures/smtp/smtp.py" --dir "$T/mail" --ready "$T/smtp.port" > "$T/smtp.log" 2>&1 &
	echo $! >> "$T/pids"
	await 60 test -s "$T/smtp.port"
	vc-auth mail set --url "smtp://127.0.0.1:$(cat "$T/smtp.port")" --from vc@example.test \
	    --insecure-plaintext > /dev/null
	# Messages the relay could not take yet (queued), 60 of them.
	psql_as "$SUPER" "INSERT INTO outbox (id, tenant_id, kind, recipient, subject, body_text,
	    created_at, next_attempt_at, expires_at) SELECT 'q' || g, id, 'mail', 'q' || g || '@example.test',
	    'queued ' || g, 'hello', 0, 0, 4000000000 FROM tenants, generate_series(1, 60) g" > /dev/null
	# Three flushes at once, beside the four vc-serve instances' own mail
	# threads: seven deliverers.
	S0=$(grep -c 'could not serialize' "$PGD/server.log")
	FL=""
	for f in 1 2 3; do
		vc-auth mail flush --all > "$T/flush$f" 2>&1 &
		FL="$FL $!"
	done
	FRC=0
	for p in $FL; do wait "$p" || FRC=$?; done
	is "$FRC:$(cat "$T/flush1" "$T/flush2" "$T/flush3" | jq -s 'map(.sent) | add <= 60')" "0:true" \
	    "three mail flushes at once beside the instances: each ends well"
	await 60 sh -c "[ \$(ls '$T'/mail/*.eml 2>/dev/null | wc -l) -ge 60 ]"
	is "$(cat "$T"/mail/*.rcpt | sort | uniq -d | wc -l | tr -d ' '):$(ls "$T"/mail/*.eml | wc -l | tr -d ' ')" \
	    "0:60" "each message once"
	# The records of deliverers appending to one audit chain may give
	# way; each is written again, so no message is left to go twice.
	await 30 sh -c "[ \"\$(\"$PGBIN/psql\" -X -At '$SUPER' -c \"SELECT count(*) FROM outbox
	    WHERE id LIKE 'q%' AND sent_at IS NULL\")\" = 0 ]"
	is "$(psql_as "$SUPER" "SELECT count(*) FILTER (WHERE sent_at IS NULL) || ' ' ||
	    count(*) FILTER (WHERE attempts = 1) FROM outbox WHERE id LIKE 'q%'")" "0 60" \
	    "each recorded as sent, after one attempt"
	is "$(psql_as "$SUPER" "SELECT count(*) || ' ' || count(DISTINCT target_id) FROM audit_logs
	    WHERE action = 'mail.deliver' AND target_id LIKE 'q%'")" "60 60" "each delivery audited once"
	echo "# $(($(grep -c 'could not serialize' "$PGD/server.log") - S0)) records gave way and were written again"
else
	ok 0 "# SKIP python3-aiosmtpd is not installed: the mail outbox is not tested"
fi

run vc-auth audit verify
is "$rc:$(jqr .ok)" "0:true" "audit verify: the chains are whole"
done_testing
