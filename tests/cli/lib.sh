# SPDX-License-Identifier: MIT
# lib.sh - helpers for the TAP shell tests.  Source it from a .t file:
#   . "$(dirname "$0")/lib.sh"
# Every test gets its own store, key, config and home under a temp dir
# that is removed at exit.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PATH=$TOP/bin:$PATH
T=$(mktemp -d "${TMPDIR:-/tmp}/vc-test.XXXXXX")
export HOME=$T/home XDG_CONFIG_HOME=$T/config XDG_DATA_HOME=$T/data
export VC_DB=$T/vc.db
unset VC_TOKEN VC_KEY_FILE VC_ALLOW_VELOCIRAPTOR
mkdir -p "$HOME"
trap 't_cleanup' EXIT
t_cleanup() {
	for p in $(cat "$T"/pids 2>/dev/null); do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
_n=0
_failed=0
# ok COND_STATUS DESCRIPTION: "ok" when the status is 0.
ok() {
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}
# is GOT WANT DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then ok 0 "$3"; else
		ok 1 "$3"; echo "#   got:  '$1'"; echo "#   want: '$2'"
	fi
}
# like GOT REGEX DESCRIPTION (grep -E)
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then ok 0 "$3"; else
		ok 1 "$3"; echo "#   got:  '$1'"; echo "#   want match: '$2'"
	fi
}
unlike() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		ok 1 "$3"; echo "#   got:  '$1'"; echo "#   must not match: '$2'"
	else ok 0 "$3"; fi
}
# run CMD...: runs it, sets $out (stdout), $err (stderr) and $rc.
run() {
	"$@" > "$T/out" 2> "$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}
# run_in INPUT CMD...: the same, with INPUT on stdin.
run_in() {
	_in=$1; shift
	printf '%s\n' "$_in" | "$@" > "$T/out" 2> "$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}
# jqr FILTER: jq -r over $out.
jqr() { printf '%s\n' "$out" | jq -r "$1"; }
done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

ROOT_PW='correct horse battery'
# init_store: a store with tenant acme and superadmin root, logged in.
init_store() {
	printf '%s\n' "$ROOT_PW" | vc-auth init --tenant acme --admin root --password-stdin >/dev/null &&
	printf '%s\n' "$ROOT_PW" | vc-auth login root --password-stdin >/dev/null
}
# as USER PASSWORD: log in as USER (saved credentials switch to them).
as() {
	printf '%s\n' "$2" | vc-auth login "$1" --password-stdin >/dev/null
}
# free_port: a TCP port nobody listens on.
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# login_as USER PASSWORD: a session of USER's own (its own config dir);
# prints the access token.
login_as() {
	printf '%s\n' "$2" | XDG_CONFIG_HOME=$T/cfg-$1 vc-auth login "$1" --password-stdin >/dev/null &&
	jq -r '.[].access_token' "$T/cfg-$1/velocicompanion/credentials"
}
# with TOKEN CMD...: run CMD as the holder of TOKEN.
with() { _t=$1; shift; run env VC_TOKEN="$_t" "$@"; }
# with_in INPUT TOKEN CMD...: the same with INPUT on stdin.
with_in() { _i=$1 _t=$2; shift 2; run_in "$_i" env VC_TOKEN="$_t" "$@"; }
# run_from FILE CMD...: as run, with FILE on stdin.
run_from() {
	_f=$1; shift
	"$@" < "$_f" > "$T/out" 2> "$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}
# same FILE1 FILE2 DESCRIPTION: the files are identical, byte for byte
# (on failure, the first lines that differ).
same() {
	if cmp -s "$1" "$2"; then ok 0 "$3"; else
		ok 1 "$3"; diff "$1" "$2" 2>&1 | head -n 6 | sed 's/^/#   /'
	fi
}
