#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/install-deps.sh - what the benchmarks need beyond the build's own
# dependencies, installed by scripts/install-deps.sh when missing: the
# timers (hyperfine, GNU time), jq and the sqlite3 shell, the load
# generator (wrk) and the anchors vc-serve is compared with (nginx;
# FastAPI with uvicorn, uvloop and httptools; PyJWT).  Debian 12 only.
set -eu
"$(dirname "$0")/../scripts/install-deps.sh" hyperfine time jq sqlite3 python3 curl \
	wrk nginx-light python3-fastapi python3-uvicorn python3-uvloop \
	python3-httptools python3-jwt
# The nginx package starts a server on port 80; the benchmarks run their own.
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now nginx >/dev/null 2>&1 || true
fi
