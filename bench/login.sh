#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/login.sh [N] - the time of a failed `vc-auth login` for a known
# name with a wrong password against that of an unknown name (SEC-PW-05):
# N of each (default 20), interleaved so that a change in the machine's
# load touches both alike; the median and the mean of each, in ms, and
# their ratio.  tests/unit/t_session.c checks the mechanism (one argon2id
# verify with the same parameters either way); this shows what it gives.
# Each process is timed whole (start, store open, verify, audit).
set -eu
cd "$(dirname "$0")/.."
N=${1:-20}
case $N in '' | *[!0-9]* | 0) echo "usage: bench/login.sh [N]" >&2; exit 64 ;; esac
[ -x bin/vc-auth ] || { echo "bench: build first: make all" >&2; exit 69; }
command -v sqlite3 > /dev/null || { echo "bench: needs sqlite3" >&2; exit 69; }
W=$(mktemp -d "${TMPDIR:-/tmp}/vc-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
export VC_DB="$W/vc.db" XDG_CONFIG_HOME="$W/config"
unset VC_TOKEN VC_KEY_FILE
PATH=$PWD/bin:$PATH

echo 'benchmark password 1' | vc-auth init --tenant bench --admin bench --password-stdin > /dev/null

# ms NAME: the milliseconds one failed login of NAME takes.  The throttle
# would hold a name back after five failures: its record is cleared first.
ms() {
	sqlite3 "$VC_DB" "DELETE FROM auth_throttle"
	t0=$(date +%s%N)
	echo 'not the benchmark password' | vc-auth login "$1" --password-stdin > /dev/null 2>&1 || :
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}

i=0
while [ "$i" -lt "$N" ]; do
	ms bench >> "$W/known"
	ms "nobody-$i" >> "$W/unknown"
	i=$((i + 1))
done

# stats FILE: "median mean" of its numbers.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1; s += $1 }
		END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%.1f %.1f\n", m, s / NR }'
}
set -- $(stats "$W/known") $(stats "$W/unknown")
echo "## Failed logins, $N of each (vc-auth login, whole process)"
echo
echo "| name | median ms | mean ms |"
echo "| --- | --- | --- |"
echo "| known, wrong password | $1 | $2 |"
echo "| unknown | $3 | $4 |"
echo
awk -v a="$1" -v b="$3" 'BEGIN { printf "Median unknown / known: %.2f\n", b / a }'
