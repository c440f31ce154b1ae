#!/bin/sh
# SPDX-License-Identifier: MIT
# vc-playbook isolate_host and unisolate_host against the Velociraptor API
# double (tests/fixtures/vr): the quarantine artifact of the host's OS is
# collected, its flow waited for and its result verified before the host
# is labelled quarantined; a collection that Velociraptor accepts but whose
# quarantine fails, and a client that never answers, fail the step with
# the reason and leave the host as it was.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import grpc, grpc_tools' 2>/dev/null || skip_all "python3-grpcio or python3-grpc-tools is not installed"
command -v openssl >/dev/null || skip_all "no openssl"
command -v sqlite3 >/dev/null || skip_all "no sqlite3"
VR=$TOP/tests/fixtures/vr
C=$T/certs
S=$T/state
mkdir -p "$S"
# cid N: the id of the double's fixture client N (even: windows, odd: linux).
cid() { printf 'C.%s' "$(printf 'vc-fixture-client-%d' "$1" | sha256sum | cut -c1-16)"; }
WIN=$(cid 0)
LIN=$(cid 1)
FAILS=$(cid 5)
SILENT=$(cid 2)
last_collect() { grep collect_client "$S/requests.jsonl" | tail -n 1 | jq -r "$@"; }

PORT=$(free_port)
sh "$VR/mkcerts.sh" "$C" "$PORT" > /dev/null 2>&1
env VR_TEST_RUNNING_POLLS=1 VR_TEST_SILENT_CLIENTS="$SILENT" VR_TEST_QUARANTINE_FAIL="$FAILS" \
	"$PY" "$VR/server.py" --port "$PORT" --certs "$C" --state "$S" --data-clients 6 > "$T/srv.out" 2> "$T/srv.err" &
echo $! >> "$T/pids"
await 60 grep -q '^listening on' "$T/srv.out"
ok $? "the Velociraptor double starts (client $SILENT never answers, $FAILS's quarantine fails)"

init_store
export VC_ALLOW_VELOCIRAPTOR=127.0.0.1
run vc-hunt config set --api-config "$C/api_client.yaml"
run vc-hunt clients --sync
is "$rc" 0 "the clients become hosts"
is "$(sq "SELECT os FROM hosts WHERE client_id = '$WIN'") $(sq "SELECT os FROM hosts WHERE client_id = '$LIN'")" \
	"windows linux" "with their OS"

cat > "$T/iso.yaml" <<'EOF'
name: isolate
steps:
  - name: isolate
    action: isolate_host
    params: {host: "${host}"}
    timeout: 4
  - name: tell
    action: send_notification
    params: {message: "isolated ${steps.isolate.client_id} (flow ${steps.isolate.flow_id})"}
EOF
cat > "$T/uniso.yaml" <<'EOF'
name: release
steps:
  - name: release
    action: unisolate_host
    params: {host: "${host}"}
    timeout: 4
EOF
run vc-playbook add "$T/iso.yaml"
run vc-playbook add "$T/uniso.yaml"
labels() { sq "SELECT labels FROM hosts WHERE client_id = '$1'"; }

# ---- success, verified -------------------------------------------------------------
run vc-playbook plan isolate --event "{\"host\":\"$WIN\"}" -o jsonl
n0=$(wc -l < "$S/requests.jsonl")
is "$rc:$(wc -l < "$S/requests.jsonl")" "0:$n0" "plan sends nothing to Velociraptor"
run vc-playbook run isolate --event "{\"host\":\"$WIN\"}" -o jsonl
is "$rc:$(jqr .status)" "0:succeeded" "isolate_host on a Windows host succeeds"
is "$(jqr '.steps[0].output | "\(.artifact) \(.client_id)"')" "Windows.Remediation.Quarantine $WIN" \
	"... with Windows' quarantine artifact on its client"
like "$(jqr .steps[0].output.result)" '^Quarantine policy applied' "... verified: the flow's rows say the policy is applied"
FLOW=$(jqr .steps[0].output.flow_id)
like "$FLOW" '^F\.' "... and its flow is recorded"
is "$(last_collect '"\(.env.ClientId) \(.env.Artifacts)"')" "$WIN [\"Windows.Remediation.Quarantine\"]" \
	"the client and artifact travel in the query's env, not its text"
unlike "$(last_collect .vql)" "$WIN" "... the VQL names no client"
is "$(labels "$WIN")" '["finance","quarantined"]' "the host is labelled quarantined once Velociraptor confirmed"
XI=$(jqr .id)
hid() { sq "SELECT id FROM hosts WHERE client_id = '$1'"; }
is "$(jqr '.steps[0].output.quarantine | "\(.quarantined) \(.quarantined_by) \(.released_at)"')" "true $XI null" \
	"the step's output carries the host's quarantine"
is "$(jqr .steps[1].params.message)" "isolated $WIN (flow $FLOW)" "a later step reads the flow id"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'velociraptor.collect' AND target_id = '$FLOW'")" 1 \
	"the collection is audited"
run vc-hosts show "$WIN" -o jsonl
is "$(jqr '"\(.quarantined) \(.quarantined_by) \(.quarantined_at != null) \(.released_at)"')" "true $XI true null" \
	"vc-hosts show: the host is in quarantine, put there by this execution"
run vc-hosts list --quarantined -o jsonl
is "$rc:$(jqr .client_id)" "0:$WIN" "vc-hosts list --quarantined lists it, and only it"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'hosts.quarantine' AND target_type = 'host' AND target_id = '$(hid "$WIN")' AND $(sq_json details execution_id) = '$XI' AND $(sq_json details flow_id) = '$FLOW'")" 1 \
	"the quarantine is audited on the host, with the execution and the flow"
run vc-notify events --type host.quarantined -o jsonl
PB_ISO=$(sq "SELECT id FROM playbooks WHERE name = 'isolate'")
is "$(printf '%s\n' "$out" | jq -r --arg pb "$PB_ISO" '"\(.body.client_id) \(.body.execution_id) \(.body.flow_id) \(.body.was_quarantined) \(.body.playbook_id == $pb)"')" \
	"$WIN $XI $FLOW false true" "... and is a host.quarantined event, naming its playbook (which never fires on its own events)"

run vc-playbook run release --event "{\"host\":\"$WIN\"}" -o jsonl
is "$rc:$(jqr .status)" "0:succeeded" "unisolate_host succeeds"
is "$(last_collect '"\(.env.Artifacts) \(.env.Params)"')" '["Windows.Remediation.Quarantine"] {"RemovePolicy":"Y"}' "... asking the artifact to remove its policy"
like "$(jqr .steps[0].output.result)" '^Quarantine policy removed' "... verified"
is "$(labels "$WIN")" '["finance"]' "the label is gone, the others kept"
XR=$(jqr .id)
run vc-hosts show "$WIN" -o jsonl
is "$(jqr '"\(.quarantined) \(.quarantined_by) \(.released_by) \(.released_at != null)"')" "false $XI $XR true" \
	"released: no longer in quarantine, and both executions are kept on the host"
run vc-hosts list --quarantined -o jsonl
is "$rc:$out" "0:" "... nor listed by --quarantined"
run vc-notify events --type host.released -o jsonl
is "$(jqr '"\(.body.client_id) \(.body.execution_id) \(.body.was_quarantined)"')" "$WIN $XR true" "the release is a host.released event"
is "$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'hosts.release' AND target_id = '$(hid "$WIN")' AND $(sq_json details execution_id) = '$XR'")" 1 \
	"... and audited"

run vc-playbook run isolate --event "{\"host\":\"$LIN\"}" -o jsonl
is "$rc:$(jqr .steps[0].output.artifact)" "0:Linux.Remediation.Quarantine" "a Linux host gets Linux's artifact"

# ---- accepted, but the quarantine failed ------------------------------------------------------
run vc-playbook run isolate --event "{\"host\":\"$FAILS\"}" -o jsonl
is "$rc" 69 "a quarantine that did not hold fails the run (exit 69)"
is "$(jqr '"\(.status) \(.steps[0].status) \(.steps[1].status)"')" "failed failed skipped" "the record: failed, the next step skipped"
like "$(jqr .steps[0].error)" 'did not confirm the quarantine: Quarantine failed: connection test' \
	"the step says Velociraptor's reason"
like "$(jqr .steps[0].output.flow_id)" '^F\.' "... and keeps the flow that ran"
unlike "$(labels "$FAILS")" quarantined "the host is NOT labelled quarantined"
run vc-hosts show "$FAILS" -o jsonl
is "$(jqr '"\(.quarantined) \(.quarantined_at) \(.quarantined_by)"')" "false null null" "... nor marked in quarantine"
is "$(sq "SELECT COUNT(*) FROM events WHERE type = 'host.quarantined' AND $(sq_json body client_id) = '$FAILS'")$(sq "SELECT COUNT(*) FROM audit_logs WHERE action = 'hosts.quarantine' AND target_id = '$(hid "$FAILS")'")" \
	00 "... with no host.quarantined event and no audit record of one"
is "$(sq "SELECT COUNT(*) FROM notifications WHERE body LIKE 'isolated $FAILS%'")" 0 "nothing claims it was isolated"

# ---- a client that never answers ---------------------------------------------------------------
t0=$(date +%s)
run vc-playbook run isolate --event "{\"host\":\"$SILENT\"}" -o jsonl
t1=$(date +%s)
is "$rc:$(jqr .steps[0].status)" "69:failed" "a client that never answers fails the step"
like "$(jqr .steps[0].error)" 'did not confirm the quarantine of C\.[0-9a-f]+: flow F\.[A-Z0-9]+ on C\.[0-9a-f]+ still RUNNING after 4 s' \
	"... saying the flow is still running"
ok $([ $((t1 - t0)) -ge 3 ] && [ $((t1 - t0)) -le 30 ]; echo $?) "... after the step's timeout ($((t1 - t0)) s)"
unlike "$(labels "$SILENT")" quarantined "the host is not labelled"
is "$(jqr '"\(.steps[0].timed_out) \(.error)"' | cut -c1-42)" "true step isolate: timed out after 4 s: Ve" \
	"the step says it timed out, and so does the execution"
is "$(sq "SELECT COUNT(*) FROM hosts WHERE client_id = '$SILENT' AND quarantined_at IS NULL")" 1 "... and the host is not marked in quarantine"

# ---- hosts it cannot act on -------------------------------------------------------------------------
printf '{"hostname":"lonely","os":"windows"}\n' | vc-hosts import >/dev/null
LONELY=$(vc-hosts list --hostname lonely -o jsonl | jq -r .id)
run vc-playbook run isolate --event "{\"host\":\"$LONELY\"}" -o jsonl
is "$rc:$(jqr .steps[0].error)" "65:host $LONELY has no Velociraptor client id" "a host without a Velociraptor client: refused before anything is sent"

# An analyst may collect only the artifacts on the tenant's list.
printf '%s\n' 'analyst password 1' | vc-auth user create ann --role analyst --password-stdin >/dev/null
ANN=$(login_as ann 'analyst password 1')
run vc-playbook run isolate --event "{\"host\":\"$WIN\"}" -o jsonl
with "$ANN" vc-playbook run isolate --event "{\"host\":\"$WIN\"}" -o jsonl
like "$rc:$(jqr .steps[0].error)" '^77:.*Windows.Remediation.Quarantine' \
	"an analyst's run may not collect the quarantine artifact (the collect allow-list)"

# ---- the quarantine artifact of each OS: the tenant's settings -----------------------------
run vc-playbook settings show -o jsonl
is "$(jqr '.quarantine_artifacts | "\(.windows.artifact) \(.linux.artifact) \(.macos.artifact) \(.linux.default)"')" \
	"Windows.Remediation.Quarantine Linux.Remediation.Quarantine MacOS.Remediation.Quarantine true" \
	"settings show: Velociraptor's own names by default"
run vc-playbook settings set --quarantine-linux 'Custom.Quarantine;drop'
like "$rc:$err" "^64:.*quarantine_linux: not an artifact name" "a name that is no artifact name is refused"
run vc-playbook settings set
is "$rc" 64 "settings set with nothing to set: exit 64"
with "$ANN" vc-playbook settings set --quarantine-linux Custom.Remediation.Quarantine
is "$rc" 77 "an analyst may not change them"
with "$ANN" vc-playbook settings show -o jsonl
is "$rc:$(jqr .quarantine_artifacts.linux.default)" "0:true" "... but reads them, unchanged"
run vc-playbook settings set --quarantine-linux Custom.Remediation.Quarantine -o jsonl
is "$rc:$(jqr '.quarantine_artifacts | "\(.linux.artifact) \(.linux.default) \(.windows.default)"')" \
	"0:Custom.Remediation.Quarantine false true" "an admin sets Linux's; Windows' stays the default"
is "$(sq "SELECT $(sq_json details quarantine_linux) FROM audit_logs WHERE action = 'playbooks.settings.set' AND outcome = 'success'")" \
	Custom.Remediation.Quarantine "the change is audited with the name"
run vc-playbook run isolate --event "{\"host\":\"$LIN\"}" -o jsonl
is "$rc:$(jqr .steps[0].output.artifact):$(last_collect -c .env.Artifacts)" \
	'0:Custom.Remediation.Quarantine:["Custom.Remediation.Quarantine"]' "isolate_host collects the tenant's artifact on a Linux host"
run vc-playbook run isolate --event "{\"host\":\"$WIN\"}" -o jsonl
is "$rc:$(jqr .steps[0].output.artifact)" "0:Windows.Remediation.Quarantine" "... and still Velociraptor's own on a Windows host"
sed 's/params: {host: "${host}"}/params: {host: "${host}", artifact: Linux.Remediation.Quarantine}/' "$T/iso.yaml" | sed 's/^name: isolate/name: isolate-own/' > "$T/iso-own.yaml"
run vc-playbook add "$T/iso-own.yaml"
run vc-playbook run isolate-own --event "{\"host\":\"$LIN\"}" -o jsonl
is "$rc:$(jqr .steps[0].output.artifact)" "0:Linux.Remediation.Quarantine" "a step's params.artifact still wins over the setting"
run vc-playbook settings set --quarantine-linux Nobody.Remediation.Quarantine
run vc-playbook run isolate --event "{\"host\":\"$LIN\"}" -o jsonl
like "$rc:$(jqr .steps[0].error)" "^65:Velociraptor did not confirm the quarantine of C\.[0-9a-f]+: .*Unknown artifact Nobody.Remediation.Quarantine" \
	"a setting naming an artifact Velociraptor lacks fails the step, saying so"
run vc-playbook settings set --quarantine-linux '' -o jsonl
is "$rc:$(jqr '.quarantine_artifacts.linux | "\(.artifact) \(.default)"')" "0:Linux.Remediation.Quarantine true" "'' gives Velociraptor's own name back"
# The installation's names (VC_QUARANTINE_*), under every tenant's own.
export VC_QUARANTINE_LINUX=Custom.Remediation.Quarantine
run vc-playbook settings show -o jsonl
is "$rc:$(jqr '.quarantine_artifacts.linux | "\(.artifact) \(.default) \(.source)"'):$(jqr .quarantine_artifacts.windows.source)" \
	"0:Custom.Remediation.Quarantine false installation:velociraptor" "VC_QUARANTINE_LINUX names the installation's artifact for Linux"
run vc-playbook run isolate --event "{\"host\":\"$LIN\"}" -o jsonl
is "$rc:$(jqr .steps[0].output.artifact):$(last_collect -c .env.Artifacts)" \
	'0:Custom.Remediation.Quarantine:["Custom.Remediation.Quarantine"]' "... and isolate_host collects it"
run vc-playbook settings set --quarantine-linux Linux.Remediation.Quarantine -o jsonl
is "$rc:$(jqr '.quarantine_artifacts.linux | "\(.artifact) \(.source)"')" "0:Linux.Remediation.Quarantine tenant" \
	"a tenant's own name wins over the installation's"
run vc-playbook settings set --quarantine-linux '' -o jsonl
export VC_QUARANTINE_LINUX='Custom;Quarantine'
run vc-playbook run isolate --event "{\"host\":\"$LIN\"}" -o jsonl
like "$rc:$err$(jqr .steps[0].error 2>/dev/null)" "VC_QUARANTINE_LINUX: not an artifact name" \
	"an installation name that is no artifact name fails, naming the variable"
unset VC_QUARANTINE_LINUX

# ---- run_hunt, wait_for ----------------------------------------------------------------------
cat > "$T/sweep.yaml" <<'EOF'
name: sweep
steps:
  - name: hunt
    action: run_hunt
    params: {artifact: Windows.System.Pslist, os: windows, description: "sweep by ${execution.id}"}
  - name: hunted
    action: wait_for
    params: {hunt_id: "${steps.hunt.hunt_id}"}
    timeout: 20
  - name: later
    action: collect_artifact
    params: {host: "${host}", artifact: Generic.Client.Info, wait: false}
  - name: collected
    action: wait_for
    params: {host: "${host}", flow_id: "${steps.later.flow_id}"}
    timeout: 21
EOF
run vc-playbook add "$T/sweep.yaml"
run vc-playbook run sweep --event "{\"host\":\"$WIN\"}" -o jsonl
is "$rc:$(jqr '[.steps[].status] | join(" ")')" "0:succeeded succeeded succeeded succeeded" "run_hunt, wait_for a hunt, collect without waiting, wait_for its flow"
H=$(jqr .steps[0].output.hunt_id)
like "$H" '^H\.' "run_hunt made a hunt"
is "$(grep 'hunt(description' "$S/requests.jsonl" | tail -n 1 | jq -r '.env.Description')" "sweep by $(jqr .id)" "... its description templated, in env"
is "$(jqr '"\(.steps[2].output.state) \(.steps[3].output.state)"')" "SCHEDULED FINISHED" "the flow was waited for by the later step"
sed 's/{host: "${host}", artifact: Generic.Client.Info, wait: false}/{host: "${host}", artifact: Generic.Client.Info, wait: false}\n    on_failure: stop/; s/    timeout: 21$/    timeout: 3/' "$T/sweep.yaml" > "$T/sweep2.yaml"
run vc-playbook update sweep "$T/sweep2.yaml"
run vc-playbook run sweep --event "{\"host\":\"$SILENT\"}" -o jsonl
is "$rc:$(jqr '[.steps[].status] | join(" ")')" "69:succeeded succeeded succeeded failed" "wait_for a flow of a client that never answers fails after its timeout"
like "$(jqr .steps[3].error)" 'still RUNNING after 3 s' "... saying so"

# ---- cancel between steps ------------------------------------------------------------------------
cat > "$T/slow.yaml" <<'EOF'
name: slow
steps:
  - name: later
    action: collect_artifact
    params: {host: "${host}", artifact: Generic.Client.Info, wait: false}
  - name: waits
    action: wait_for
    params: {host: "${host}", flow_id: "${steps.later.flow_id}"}
    timeout: 600
    on_failure: continue
  - name: after
    action: send_notification
    params: {message: "should not run"}
EOF
run vc-playbook add "$T/slow.yaml"
vc-playbook run slow --event "{\"host\":\"$SILENT\"}" -o jsonl > "$T/slow.out" 2>&1 &
SLOWPID=$!
running() { [ -n "$(sq "SELECT id FROM playbook_executions WHERE status = 'running' AND playbook_id = (SELECT id FROM playbooks WHERE name = 'slow')")" ]; }
await 30 running
XS=$(sq "SELECT id FROM playbook_executions WHERE playbook_id = (SELECT id FROM playbooks WHERE name = 'slow')")
# the cancel is to land while the second step waits, not between the first two
waiting() { [ "$(vc-playbook show "$XS" -o jsonl | jq -r '.steps[1].status')" = running ]; }
await 30 waiting
# A wait of ten minutes claims the execution a minute and a half at a
# time (a dead runner's is taken over that soon), renewed as it polls.
left() { sq "SELECT claimed_until - $SQ_NOW FROM playbook_executions WHERE id = '$XS'"; }
L=$(left)
ok "$([ "$L" -gt 30 ] && [ "$L" -le 90 ]; echo $?)" "a wait_for of 600 s claims the execution for 90 s at most ($L s left)"
sq "UPDATE playbook_executions SET claimed_until = $SQ_NOW + 10 WHERE id = '$XS'"
renewed() { [ "$(left)" -gt 60 ]; }
await 15 renewed
ok $? "... renewed while it waits, once it runs short ($(left) s left)"
t0=$(date +%s)
run vc-playbook cancel "$XS" -o jsonl
is "$rc:$(jqr .cancel_requested)" "0:true" "cancel asks a running execution to stop"
wait $SLOWPID
t1=$(date +%s)
ok "$([ $((t1 - t0)) -le 10 ]; echo $?)" "... the wait ends at its next poll, not at its timeout ($((t1 - t0)) s)"
run vc-playbook show "$XS" -o jsonl
is "$(jqr '"\(.status) \([.steps[].status] | join(" "))"')" "cancelled succeeded failed skipped" \
	"the execution cancelled: the waiting step failed, the rest skipped"
is "$(jqr .steps[1].error)" "cancelled while it waited" "... the step saying why"
is "$(sq "SELECT COUNT(*) FROM notifications WHERE body = 'should not run'")" 0 "the step after the cancel did not run"

# ---- the whole chain: a hunt result scored, the score event answered ----------------------------
# A real SMTP relay and a real webhook receiver.
"$PY" -c 'import aiosmtpd' 2>/dev/null && HAVE_SMTP=1 || HAVE_SMTP=0
M=$T/mail
mkdir -p "$M"
if [ "$HAVE_SMTP" = 1 ]; then
	"$PY" "$TOP/tests/fixtures/smtp/smtp.py" --dir "$M" --ready "$T/smtp.port" > "$T/smtp.log" 2>&1 &
	echo $! >> "$T/pids"
	await 60 test -s "$T/smtp.port"
	vc-auth mail set --url "smtp://127.0.0.1:$(cat "$T/smtp.port")" --from vc@example.test \
		--insecure-plaintext >/dev/null
fi
HPORT=$(free_port)
"$PY" "$TOP/tests/peers/webhook.py" "$HPORT" "$T/hook.log" unused &
echo $! >> "$T/pids"
hook_up() { curl -s -o /dev/null "http://127.0.0.1:$HPORT/"; [ $? -ne 7 ]; }
await 60 hook_up
cat > "$T/respond.yaml" <<EOF
name: respond
trigger:
  type: event
  events: [threat_score.created]
  condition: '.subject_type == "host" and .classification == "critical"'
steps:
  - name: case
    action: create_case
    params: {title: "Critical host \${subject}", severity: critical, host: "\${subject_id}"}
  - name: netstat
    action: collect_artifact
    params: {host: "\${subject_id}", artifact: Windows.Network.Netstat}
    timeout: 20
  - name: isolate
    action: isolate_host
    params: {host: "\${subject_id}"}
    timeout: 20
  - name: block
    action: block_ip
    params: {address: 203.0.113.7, reason: "C2 of evil.exe, case \${steps.case.case_id}"}
  - name: mail
    action: send_email
    params: {to: soc@example.test, subject: "Isolated \${steps.isolate.client_id}", body: "Case \${steps.case.case_id}, flow \${steps.isolate.flow_id}"}
  - name: hook
    action: webhook
    params: {url: "http://127.0.0.1:$HPORT/hook", body: {case: "\${steps.case.case_id}", flow: "\${steps.isolate.flow_id}"}}
    retries: 1
    backoff: 1
EOF
run vc-playbook add "$T/respond.yaml"
is "$rc" 0 "the response playbook is added"
run vc-hunt collect --client "$WIN" --artifact Windows.System.Pslist --store -o jsonl
is "$rc" 0 "a hunt result (the host's processes) is stored"
echo 'filename,evil.exe,critical,feed' | vc-score ioc import >/dev/null
run vc-score analyze host "$WIN" -o jsonl
is "$(jqr .classification)" critical "the host scores critical (evil.exe)"
run vc-playbook due --run -o jsonl
X=$(jqr 'select(.playbook == "respond") | .execution_id')
is "$(jqr 'select(.playbook == "respond") | .status')" succeeded "the score event ran the response playbook"
run vc-playbook show "$X" -o jsonl
is "$(jqr '[.steps[].status] | join(" ")')" "succeeded succeeded succeeded succeeded succeeded succeeded" "every step succeeded"
CASE=$(jqr .steps[0].output.case_id)
is "$(sq "SELECT COUNT(*) FROM case_links WHERE case_id = '$CASE' AND target_id = (SELECT id FROM hosts WHERE client_id = '$WIN')")" 1 \
	"the case is linked to the host"
is "$(jqr '"\(.steps[1].output.artifact) \(.steps[1].output.state)"')" "Windows.Network.Netstat FINISHED" "the artifact was collected"
like "$(labels "$WIN")" quarantined "the host was isolated, verified"
is "$(sq "SELECT source_execution FROM blocklist WHERE network = '203.0.113.7'")" "$X" "the remote address is blocked, by this execution"
await 20 grep -q '"doc"' "$T/hook.log"
is "$(jq -r 'select(.doc) | "\(.doc.playbook) \(.doc.execution_id) \(.doc.body.case) \(.doc.event.subject_id != null)"' "$T/hook.log")" \
	"respond $X $CASE true" "the webhook got the execution, the case and the event"
if [ "$HAVE_SMTP" = 1 ]; then
	await 30 sh -c "ls '$M' | grep -q eml"
	like "$(cat "$M"/*.eml 2>/dev/null)" "Subject: Isolated $WIN" "the mail reached the SMTP relay"
else
	ok 0 "# skip no python3-aiosmtpd"
fi
n=$(sq "SELECT COUNT(*) FROM playbook_executions")
run vc-playbook due --run -o jsonl
sq "UPDATE playbook_cursors SET cursor = 0"
run vc-playbook due --run -o jsonl
is "$(sq "SELECT COUNT(*) FROM playbook_executions"):$(jq -s 'map(select(.doc)) | length' "$T/hook.log")" "$n:1" \
	"the same event again does nothing: no execution, no second webhook call"

# A webhook to an address the installation does not allow.
cat > "$T/hook.yaml" <<EOF
name: hook only
steps:
  - name: hook
    action: webhook
    params: {url: "http://127.0.0.1:$HPORT/x"}
EOF
run vc-playbook add "$T/hook.yaml"
VC_ALLOW_VELOCIRAPTOR= run vc-playbook run 'hook only' -o jsonl
like "$rc:$(jqr .steps[0].error)" '^77:webhook 127.0.0.1: .*' "a webhook to loopback is refused unless the installation allows it"
for url in 'http://example.org\\@127.0.0.1/' 'http://127.0.0.1:80@evil.example/' 'http://127.0.0.1:8x/' 'http://ex%61mple.org/' 'file:///etc/passwd'; do
	printf 'name: bad hook\nsteps:\n  - action: webhook\n    params: {url: "%s"}\n' "$url" > "$T/badhook.yaml"
	vc-playbook delete 'bad hook' >/dev/null 2>&1
	run vc-playbook add "$T/badhook.yaml"
	run vc-playbook run 'bad hook' -o jsonl
	like "$rc:$(jqr .steps[0].error)" '^65:params.url: ' "webhook URL $url is refused before anything is sent"
done


# ---- a playbook on host.quarantined never fires on its own ------------------------------------------
cat > "$T/requar.yaml" <<'EOF'
name: requarantine
trigger: {type: event, events: [host.quarantined]}
steps:
  - name: again
    action: isolate_host
    params: {host: "${host_id}"}
    timeout: 10
EOF
run vc-playbook add "$T/requar.yaml"
run vc-playbook due --run -o jsonl
run vc-playbook run isolate --event "{\"host\":\"$WIN\"}" -o jsonl
run vc-playbook due --run -o jsonl
is "$rc:$(jqr 'select(.playbook == "requarantine") | .status')" "0:succeeded" "host.quarantined fires an event playbook"
run vc-playbook due --run -o jsonl
is "$rc:$(jqr 'select(.playbook == "requarantine") | .status')" "0:" "... but not on the host.quarantined its own run made"
is "$(sq "SELECT COUNT(*) FROM playbook_executions WHERE playbook_id = (SELECT id FROM playbooks WHERE name = 'requarantine')")" 1 \
	"... once in all"

# ---- over HTTP: the host's quarantine, the settings --------------------------------------------
req() {
	code=$(curl -s --max-time 20 -o "$T/b" -w '%{http_code}' "$@")
	body=$(cat "$T/b")
}
printf '%s\n' 'viewer password 1' | vc-auth user create vic --role viewer --password-stdin >/dev/null
VIC=$(login_as vic 'viewer password 1')
ROOT=$(login_as root "$ROOT_PW")
SPORT=$(free_port)
B=http://127.0.0.1:$SPORT
vc-serve --listen "127.0.0.1:$SPORT" --workers 2 --playbook-interval 0 2> "$T/serve.log" &
echo $! >> "$T/pids"
await 60 grep -q 'listening on' "$T/serve.log"
ok $? "vc-serve starts"
req -H "Authorization: Bearer $VIC" "$B/api/hosts/$(hid "$WIN")"
is "$code:$(printf '%s' "$body" | jq -r '"\(.quarantined) \(.quarantined_by != null) \(.quarantined_at != null)"')" "200:true true true" \
	"GET /api/hosts/{id}: the host's quarantine"
req -H "Authorization: Bearer $VIC" "$B/api/hosts?quarantined=true"
is "$code:$(printf '%s' "$body" | jq -r '[.items[].client_id] | sort | join(" ")')" "200:$(printf '%s\n' "$WIN" "$LIN" | sort | paste -sd' ' -)" \
	"GET /api/hosts?quarantined=true: the hosts in quarantine"
req -H "Authorization: Bearer $VIC" "$B/api/playbook-settings"
is "$code:$(printf '%s' "$body" | jq -r .quarantine_artifacts.macos.artifact)" "200:MacOS.Remediation.Quarantine" "GET /api/playbook-settings"
req -X PUT -H "Authorization: Bearer $VIC" -H 'Content-Type: application/json' -d '{"quarantine_macos": "Custom.Remediation.Quarantine"}' "$B/api/playbook-settings"
is "$code" 403 "PUT /api/playbook-settings: a viewer is refused"
req -X PUT -H "Authorization: Bearer $ROOT" -H 'Content-Type: application/json' -d '{"quarantine_macos": "Custom.Remediation.Quarantine"}' "$B/api/playbook-settings"
is "$code:$(printf '%s' "$body" | jq -r '.quarantine_artifacts.macos | "\(.artifact) \(.default)"')" "200:Custom.Remediation.Quarantine false" \
	"... an admin sets one"
req -X PUT -H "Authorization: Bearer $ROOT" -H 'Content-Type: application/json' -d '{"quarantine_macos": "../etc"}' "$B/api/playbook-settings"
is "$code" 400 "... a bad name: 400"

done_testing
