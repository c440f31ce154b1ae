#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/install-deps.sh - what the benchmarks need beyond the build's own
# dependencies: hyperfine, GNU time, jq and the sqlite3 shell, installed
# by scripts/install-deps.sh when missing.
set -eu
exec "$(dirname "$0")/../scripts/install-deps.sh" hyperfine time jq sqlite3 python3
