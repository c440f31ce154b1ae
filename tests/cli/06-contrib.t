#!/bin/sh
# SPDX-License-Identifier: MIT
# 06-contrib.t - the deployment files of contrib/ are accepted by the
# programs that read them, where those are installed (each check is
# skipped, saying so, where not): the systemd template unit by
# `systemd-analyze verify` (its ExecStart pointed at bin/vc-serve: verify
# wants the binary to exist), the HAProxy front by `haproxy -c`, the nginx
# front by `nginx -t`.  And they agree with each other: the ports the
# fronts send to are instances the unit's comment names (8081 up).
. "$(dirname "$0")/lib.sh"
bin_only "contrib/ is checked against the tree"
cd "$TOP" || exit 70
skip() { _n=$((_n + 1)); echo "ok $_n # skip $1"; }

U=contrib/vc-serve@.service
ok "$(test -f "$U" && test -f contrib/haproxy.cfg && test -f contrib/nginx.conf; echo $?)" \
    "contrib/ holds the unit, the HAProxy and the nginx front"
for o in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
    'CapabilityBoundingSet=$' 'ExecStart=.*--listen 127.0.0.1:%i' 'Environment=VC_DB=postgresql://'; do
	grep -Eq "^$o" "$U"
	ok $? "the unit sets $o"
done

if command -v systemd-analyze > /dev/null; then
	mkdir -p "$T/units"
	sed "s|/usr/local/bin/vc-serve|$TOP/bin/vc-serve|g" "$U" > "$T/units/vc-serve@.service"
	# (Loading an instance of the template checks its specifiers too.)
	ln -s vc-serve@.service "$T/units/vc-serve@8081.service"
	run systemd-analyze verify --man=no "$T/units/vc-serve@8081.service"
	ok "$([ "$rc" -eq 0 ] && [ -z "$(printf '%s' "$err$out" | grep -v 'Failed to put bus name\|Failed to connect to bus')" ]; echo $?)" \
	    "systemd-analyze verify accepts the unit"
	[ "$rc" -eq 0 ] || printf '%s\n' "$err" | sed 's/^/#   /'
else
	skip "systemd-analyze is not installed: the unit is not verified"
fi

if command -v haproxy > /dev/null; then
	run haproxy -c -f contrib/haproxy.cfg
	is "$rc" 0 "haproxy -c accepts contrib/haproxy.cfg"
	[ "$rc" -eq 0 ] || printf '%s\n' "$err$out" | sed 's/^/#   /'
else
	skip "haproxy is not installed: contrib/haproxy.cfg is not checked"
fi

NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
if [ -n "$NGINX" ]; then
	# -t would write no pid, but wants the file's directory to exist
	# and error_log's to be writable: point both into $T.
	sed "s|^pid .*|pid $T/nginx.pid;|" contrib/nginx.conf > "$T/nginx.conf"
	run "$NGINX" -t -q -c "$T/nginx.conf" -e "$T/nginx.err" -g "error_log $T/nginx.err;"
	is "$rc" 0 "nginx -t accepts contrib/nginx.conf"
	[ "$rc" -eq 0 ] || printf '%s\n' "$err" | sed 's/^/#   /'
else
	skip "nginx is not installed: contrib/nginx.conf is not checked"
fi

# The fronts send to the ports of the unit's instances, and forward the
# WebSocket upgrade.
ports() { grep -Eo '127\.0\.0\.1:80[89][0-9]' "$1" | sort -u | paste -sd' ' -; }
like "$(ports contrib/haproxy.cfg)" '^127.0.0.1:8081 127.0.0.1:8082' "HAProxy sends to instances 8081, 8082, ..."
like "$(ports contrib/nginx.conf)" '^127.0.0.1:8081 127.0.0.1:8082' "nginx sends to instances 8081, 8082, ..."
grep -q 'http-check expect string "status":"ok"' contrib/haproxy.cfg
ok $? "HAProxy checks /health for \"status\":\"ok\""
grep -q 'proxy_set_header Upgrade \$http_upgrade' contrib/nginx.conf
ok $? "nginx passes the WebSocket upgrade on"
done_testing
