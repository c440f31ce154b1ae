# SPDX-License-Identifier: MIT
# lib.sh - helpers for the TAP shell tests.  Source it from a .t file:
#   . "$(dirname "$0")/lib.sh"
# Every test gets its own store, key, config and home under a temp dir
# that is removed at exit.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
# The binaries under test: bin/, or the build that $VC_TEST_BIN names
# (build/asan/bin, build/tsan/bin: relative to the top, or absolute), so
# that the same tests run against the sanitizer builds (make san).
case ${VC_TEST_BIN:=bin} in
/*) BIN=$VC_TEST_BIN ;;
*) BIN=$TOP/$VC_TEST_BIN ;;
esac
[ -x "$BIN/vc-auth" ] || { echo "Bail out! no vc-auth in $BIN (make all, or make san)"; exit 1; }
PATH=$BIN:$PATH
T=$(mktemp -d "${TMPDIR:-/tmp}/vc-test.XXXXXX")
export HOME=$T/home XDG_CONFIG_HOME=$T/config XDG_DATA_HOME=$T/data
export VC_DB=$T/vc.db
unset VC_TOKEN VC_KEY_FILE VC_ALLOW_VELOCIRAPTOR
mkdir -p "$HOME"
trap 't_cleanup' EXIT
# The store: a SQLite file in $T, or in a run on PostgreSQL (VC_TEST_DB=pg,
# which scripts/run-tests sets with the folder of the server it started in
# VC_TEST_PG_DIR) a database of this test's own, made from the server's
# "vc" (its extensions and grants) and owned by the schema's owner, which
# the tools connect as (row-level security is forced on it too); dropped
# at exit.  STORE_PG is 1 then.  Tests read and write the store behind the
# tools' back with sq (below), which sees every tenant on both.
STORE_PG=0
if [ "${VC_TEST_DB:-sqlite}" = pg ]; then
	if [ -z "${VC_TEST_PG_DIR:-}" ] || [ ! -e "$VC_TEST_PG_DIR/url-owner" ]; then
		echo "Bail out! a run on PostgreSQL without its server (VC_TEST_PG_DIR: see scripts/run-tests)"
		exit 1
	fi
	PGBIN=${PG_BINDIR:-$(pg_config --bindir 2>/dev/null)}
	[ -x "$PGBIN/psql" ] || PGBIN=/usr/lib/postgresql/15/bin
	_pgdb=vc_$(basename "$T" | tr -dc 'a-zA-Z0-9' | tr 'A-Z' 'a-z')
	_pgsuper="postgresql:///postgres?host=$VC_TEST_PG_DIR&user=vc_super"
	if ! "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$_pgsuper" \
	    -c "CREATE DATABASE $_pgdb OWNER vc TEMPLATE vc" >"$T/pgdb.err" 2>&1; then
		echo "Bail out! cannot make this test's database: $(cat "$T/pgdb.err")"
		exit 1
	fi
	STORE_PG=1
	VC_DB="postgresql:///$_pgdb?host=$VC_TEST_PG_DIR&user=vc"
	SQ_URL="postgresql:///$_pgdb?host=$VC_TEST_PG_DIR&user=vc_super"
fi
# The store's installation key file: beside a SQLite file, or where a
# PostgreSQL store's is (under $XDG_DATA_HOME).
STORE_KEY=$T/vc.key
[ "$STORE_PG" = 1 ] && STORE_KEY=$XDG_DATA_HOME/velocicompanion/vc.key
# sq SQL...: run each SQL on the store as its superuser (sqlite3, or psql
# as the server's superuser, which row-level security does not hold):
# the rows as "a|b|c" lines on both.  SQL written for one backend only
# belongs in an "if [ "$STORE_PG" = 1 ]".
sq() {
	if [ "$STORE_PG" = 1 ]; then
		for _q in "$@"; do
			"$PGBIN/psql" -X -At -q -v ON_ERROR_STOP=1 "$SQ_URL" -c "$_q" || return
		done
	else
		sqlite3 -cmd '.timeout 10000' "$VC_DB" "$@"
	fi
}
# flaky TABLE EVENTS N (PostgreSQL only): the next N statements that do
# EVENTS ("INSERT", "UPDATE", "INSERT OR UPDATE") to TABLE fail as a
# transaction fails that gave way to another one (40001), so that a test
# sees the store run the transaction again.  flaky_hits TABLE: how many
# such statements ran, failed or not (a test checks that the failures
# did happen); flaky_off TABLE removes it.  The counter is a sequence:
# it is not rolled back with the transaction it failed.
flaky() {
	[ "$STORE_PG" = 1 ] || { echo "# flaky: PostgreSQL only"; return 1; }
	sq "CREATE OR REPLACE FUNCTION vc_test_flaky() RETURNS trigger LANGUAGE plpgsql
	    SECURITY DEFINER AS \$f\$ BEGIN
		IF nextval(TG_ARGV[0]::regclass) <= TG_ARGV[1]::bigint THEN
			RAISE EXCEPTION 'a failure the test injected (% on %)', TG_OP, TG_TABLE_NAME
			    USING ERRCODE = '40001';
		END IF;
		RETURN NULL;
	    END \$f\$" \
	    "SET client_min_messages TO warning; DROP TRIGGER IF EXISTS vc_test_flaky ON $1;
	    DROP SEQUENCE IF EXISTS vc_test_flaky_$1" \
	    "CREATE SEQUENCE vc_test_flaky_$1" \
	    "CREATE TRIGGER vc_test_flaky AFTER $2 ON $1 FOR EACH STATEMENT
	    EXECUTE FUNCTION vc_test_flaky('vc_test_flaky_$1', '$3')"
}
flaky_hits() { sq "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM vc_test_flaky_$1"; }
flaky_off() { sq "DROP TRIGGER IF EXISTS vc_test_flaky ON $1"; }
# STORE_KEY: the key file that vc-auth init makes for $VC_DB: beside the
# SQLite file, or for a PostgreSQL store where the default store's would be.
STORE_KEY=$T/vc.key
[ "$STORE_PG" = 0 ] || STORE_KEY=$XDG_DATA_HOME/velocicompanion/vc.key
# SQ_NOW: the SQL for the time now in seconds since the epoch (an integer),
# for sq on either backend.  A list of values in one line: sq "SELECT x
# ... ORDER BY ..." | paste -sd, - (no group_concat or string_agg).
SQ_NOW="CAST(strftime('%s','now') AS INTEGER)"
[ "$STORE_PG" = 0 ] || SQ_NOW='extract(epoch from now())::bigint'
# sq_dump: all of the store, schema and rows, as text (sqlite3's .dump,
# pg_dump), to look for what must not be in it.
sq_dump() {
	if [ "$STORE_PG" = 1 ]; then
		"$PGBIN/pg_dump" --no-owner "$SQ_URL"
	else
		sqlite3 -cmd '.timeout 10000' "$VC_DB" .dump
	fi
}
# Pieces of SQL for sq in the store's dialect.  sq_json COLUMN PATH: the
# text at a JSON path of a column of JSON text, the path as SQLite writes
# it ('$.a[0].b') or as members and indexes joined by dots ('a.0.b')
# (numbers as text on PostgreSQL: CAST it to compare with one; a boolean
# reads 1 on SQLite, true on PostgreSQL).  sq_now: the time now
# in whole seconds.  sq_glob EXPR PATTERN: EXPR GLOB 'PATTERN' (* and ?
# only on PostgreSQL: schema-pg.sql's vc_glob).
sq_glob() {
	if [ "$STORE_PG" = 1 ]; then
		printf "vc_glob(%s, '%s')" "$1" "$2"
	else
		printf "%s GLOB '%s'" "$1" "$2"
	fi
}
sq_json() {
	case $2 in
	\$*) _jp=$2 ;;
	*) _jp=\$$(printf '.%s' "$2" | sed -E 's/\.([0-9]+)/[\1]/g') ;;
	esac
	if [ "$STORE_PG" = 1 ]; then
		printf "((%s)::jsonb #>> '{%s}')" "$1" \
		    "$(printf '%s' "${_jp#\$}" | sed 's/^\.//' | tr '.[' ',,' | tr -d ']' | sed 's/^,//')"
	else
		printf "json_extract(%s, '%s')" "$1" "$_jp"
	fi
}
# tenant_events TENANT GLOB [N]: the ids of the events of the tenant named
# TENANT whose type matches GLOB, in order, on one line; with N, only the
# Nth of them (from 1).
tenant_events() {
	sq "SELECT e.id FROM events e JOIN tenants t ON t.id = e.tenant_id
	WHERE t.name = '$1' AND $(sq_glob e.type "$2") ORDER BY e.id${3:+ LIMIT 1 OFFSET $(($3 - 1))}" |
		paste -sd' ' -
}
sq_now() {
	if [ "$STORE_PG" = 1 ]; then
		printf 'floor(extract(epoch FROM now()))::bigint'
	else
		printf "CAST(strftime('%%s', 'now') AS INTEGER)"
	fi
}
# no_store WHY: skip this test on PostgreSQL because it does not touch the
# store (the tree, the docs, the fuzzers): the SQLite pass runs it.
no_store() {
	[ "$STORE_PG" = 0 ] || skip_all "the store is not involved ($1): the pass on SQLite runs it"
}
# sqlite_only WHY: skip this test on PostgreSQL, saying why (what it
# checks is the SQLite file itself, and the PostgreSQL tests 90 to 9x
# check the same of the server).
sqlite_only() {
	[ "$STORE_PG" = 0 ] || skip_all "on SQLite only: $1"
}
# Background processes (servers) are stopped and waited for: a sanitizer
# build reports leaks, and anything else it finds, as it exits, and the
# test runner must see that report when the test ends.
t_cleanup() {
	_pids=$(cat "$T"/pids 2>/dev/null)
	for p in $_pids; do kill "$p" 2>/dev/null; done
	for p in $_pids; do
		await 60 gone "$p" || kill -KILL "$p" 2>/dev/null
	done
	if [ "$STORE_PG" = 1 ]; then
		for _d in $_pgdb $(cat "$T/pgdbs" 2>/dev/null); do
			"$PGBIN/psql" -X -q "$_pgsuper" -c "DROP DATABASE IF EXISTS $_d WITH (FORCE)" >/dev/null 2>&1
		done
	fi
	rm -rf "$T"
}
# gone PID: process PID has ended (an unreaped child, a zombie, counts
# as ended: kill -0 would still find it).
gone() {
	case $(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null) in
	'' | Z | X) return 0 ;;
	esac
	return 1
}
_n=0
_failed=0
# await SECONDS CMD...: run CMD every 0.1 s until it succeeds; status 1
# if SECONDS pass first.  For what another process does in its own time
# (a server starting, a file appearing): a fixed sleep would race on a
# slow or loaded machine (a sanitizer build is several times slower),
# while a generous deadline costs nothing when things go well.
await() {
	_await_end=$(( $(date +%s) + $1 )); shift
	until "$@"; do
		[ "$(date +%s)" -lt "$_await_end" ] || return 1
		sleep 0.1
	done
}
# skip_all REASON: this test does not apply here; say why, and stop.
skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}
# bin_only WHY: skip this test when it runs against another build than
# bin/ (VC_TEST_BIN): for the few about the product and the tree (make
# install, the manuals and completions, the sources) rather than about
# what the binaries do.
bin_only() {
	[ "$BIN" = "$TOP/bin" ] || skip_all "$1; not run against $VC_TEST_BIN"
}
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
		ok 1 "$3"; echo "#   got:  '$1'"; echo "#   want: '$2'"; last_err
	fi
}
# last_err: after a failed check, what the last command run by run/with
# said on stderr (its first lines), which is usually why.
last_err() {
	[ -n "${err:-}" ] && printf '%s\n' "$err" | head -n 3 | sed 's/^/#   stderr: /'
	return 0
}
# like GOT REGEX DESCRIPTION (grep -E)
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then ok 0 "$3"; else
		ok 1 "$3"; echo "#   got:  '$1'"; echo "#   want match: '$2'"; last_err
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
# ps_row PID PPID NAME EXE CMDLINE CLIENT FLOW: a Pslist row (54, 57);
# CMD and W3WP: two Exe paths they use.
ps_row() {
	jq -cn --argjson pid "$1" --argjson ppid "$2" --arg n "$3" --arg e "$4" --arg c "$5" --arg cl "$6" --arg f "$7" \
	    '{Pid: $pid, Ppid: $ppid, Name: $n, Exe: $e, CommandLine: $c, ClientId: $cl, FlowId: $f}'
}
CMD='C:\Windows\System32\cmd.exe'
W3WP='C:\Windows\System32\inetsrv\w3wp.exe'
# admin_hunt FILE: a hunt's Pslist rows (55, 57): hosts C.1 to C.20 each
# run "admintool" and notepad, C.99 runs evil.exe.
admin_hunt() {
	: > "$1"
	for _h in $(seq 1 20); do
		jq -cn --arg c "C.$_h" '{Pid: 10, Ppid: 1, Name: "admin.exe", CommandLine: "admintool --inventory", ClientId: $c}' >> "$1"
		jq -cn --arg c "C.$_h" '{Pid: 11, Ppid: 1, Name: "notepad.exe", CommandLine: "notepad", ClientId: $c}' >> "$1"
	done
	jq -cn '{Pid: 66, Ppid: 1, Name: "evil.exe", CommandLine: "evil", ClientId: "C.99"}' >> "$1"
}
# jqr FILTER: jq -r over $out.
jqr() { printf '%s\n' "$out" | jq -r "$1"; }
done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

# new_store NAME: point VC_DB, and sq, at another store of this test's,
# empty: $T/NAME.db, or on PostgreSQL a database of its own made as the
# first one was and dropped at exit.  Prints nothing; status 1 when the
# database cannot be made.
new_store() {
	if [ "$STORE_PG" = 1 ]; then
		_nsdb=${_pgdb}_$(printf '%s' "$1" | tr -dc 'a-zA-Z0-9_' | tr 'A-Z' 'a-z')
		"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$_pgsuper" \
		    -c "CREATE DATABASE $_nsdb OWNER vc TEMPLATE vc" >"$T/pgdb.err" 2>&1 || {
			echo "# cannot make a database for store $1: $(cat "$T/pgdb.err")"
			return 1
		}
		echo "$_nsdb" >> "$T/pgdbs"
		VC_DB="postgresql:///$_nsdb?host=$VC_TEST_PG_DIR&user=vc"
		SQ_URL="postgresql:///$_nsdb?host=$VC_TEST_PG_DIR&user=vc_super"
	else
		VC_DB=$T/$1.db
	fi
	export VC_DB
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
# mem_limit: the peak resident set (KiB, as GNU time's %M) the tests
# allow a program whose memory must stay flat: 64 MiB for bin/.  A
# sanitizer build holds memory of its own besides (its runtime, shadow
# memory, ASan's quarantine of freed blocks and redzones, which grow with
# an import's 12 MiB batch buffers), so for one 96 MiB come on top of what
# that build takes to start and do nothing.
mem_limit() {
	if [ "$BIN" = "$TOP/bin" ]; then
		echo 65536
		return
	fi
	/usr/bin/time -f %M -o "$T/mem_base" vc-auth --version > /dev/null 2>&1
	echo $(( $(tail -n 1 "$T/mem_base") + 98304 ))
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
# pg_start: a throw-away PostgreSQL 15 for this test (scripts/pg-test-server),
# stopped and removed at exit.  Sets PGBIN, PGD (its folder), OWNER (the
# schema owner's URL), APP (the tools' role's), SUPER (the superuser's)
# and psql_as ROLE-URL SQL (one value, or the error).  Without the server
# binaries the test FAILS (the issue wants no silent pass); VC_SKIP_PG=1
# turns that into a skip, loudly.
pg_start() {
	[ "$STORE_PG" = 0 ] || skip_all "a test of the PostgreSQL backend beside its SQLite twin: it runs in the pass on SQLite"
	PGBIN=${PG_BINDIR:-$(pg_config --bindir 2>/dev/null)}
	[ -x "$PGBIN/initdb" ] || PGBIN=/usr/lib/postgresql/15/bin
	if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/psql" ]; then
		echo "# ************************************************************"
		echo "# PostgreSQL 15 server binaries not found (initdb, psql):"
		echo "# install postgresql (scripts/install-deps.sh) to test the store on it"
		echo "# ************************************************************"
		[ "${VC_SKIP_PG:-}" = 1 ] && skip_all "VC_SKIP_PG=1: the PostgreSQL backend is NOT tested"
		ok 1 "PostgreSQL server binaries present"
		done_testing
		exit 1
	fi
	# The server's folder: its user (postgres or nobody under root) must
	# reach it, so it is not under $T (mode 0700, root's).
	PGD=$(mktemp -d "${TMPDIR:-/tmp}/vc-pg.XXXXXX")
	trap pg_cleanup EXIT
	run "$TOP/scripts/pg-test-server" start "$PGD"
	is "$rc" 0 "the test server starts"
	[ "$rc" -eq 0 ] || { echo "# $err"; done_testing; exit 1; }
	OWNER=$(sed -n 1p "$PGD/url-owner")
	APP=$(sed -n 1p "$PGD/url-app")
	SUPER="postgresql:///vc?host=$PGD&user=vc_super"
	like "$OWNER" "^postgresql:///vc\?host=" "it prints a URL on a Unix socket"
	ok "$(grep -q "^listen_addresses = ''" "$PGD/data/postgresql.conf"; echo $?)" "and listens on no TCP port"
}
pg_cleanup() {
	"$TOP/scripts/pg-test-server" stop "$PGD" >/dev/null 2>&1
	rm -rf "$PGD"
	t_cleanup
}
# at_once OUT1 OUT2 CMD...: CMD twice, started at the same moment, each
# one's stdout and stderr in OUT1 and OUT2; their exit statuses in $r1, $r2.
at_once() {
	_o1=$1 _o2=$2; shift 2
	"$@" > "$_o1" 2>&1 &
	_p1=$!
	"$@" > "$_o2" 2>&1 &
	_p2=$!
	wait $_p1
	r1=$?
	wait $_p2
	r2=$?
}
# peer PORT CMD...: a test peer (a receiver, a collector) started in the
# background, killed at the end, awaited until it accepts connections on
# 127.0.0.1:PORT (10 s at most); its pid in $PEER.
peer() {
	_pp=$1; shift
	"$@" &
	PEER=$!
	echo $PEER >> "$T/pids"
	await 10 /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $_pp))" 2>/dev/null
}
psql_as() { "$PGBIN/psql" -X -At -q -v ON_ERROR_STOP=1 "$1" -c "$2" 2>&1; }
