# SPDX-License-Identifier: MIT
# bench/lib.sh - what the benchmark scripts share (sourced from the
# project root): bench_setup checks for jq, GNU time and a build, makes a
# scratch directory $W that is removed at exit, and points the tools at a
# store of their own there.
bench_setup() {
	command -v jq > /dev/null || { echo "bench: needs jq" >&2; exit 69; }
	[ -x /usr/bin/time ] || { echo "bench: needs GNU time (/usr/bin/time)" >&2; exit 69; }
	[ -x bin/vc-score ] || { echo "bench: build first: make all" >&2; exit 69; }
	W=$(mktemp -d "${TMPDIR:-/tmp}/vc-bench.XXXXXX")
	trap 'rm -rf "$W"' EXIT
	export VC_DB="$W/vc.db" XDG_CONFIG_HOME="$W/config"
	unset VC_TOKEN VC_KEY_FILE VC_RULES
	PATH=$PWD/bin:$PATH
}
