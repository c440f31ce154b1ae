#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/install-deps.sh - what the benchmarks use besides the build's own
# dependencies (scripts/install-deps.sh): the load generator, the anchors
# they are compared with (nginx; FastAPI with uvicorn, uvloop and
# httptools; PyJWT) and the timers.  Debian 12 packages only.
set -eu
PKGS="wrk nginx-light python3-fastapi python3-uvicorn python3-uvloop
python3-httptools python3-jwt hyperfine jq sqlite3 time curl"
missing=
for p in $PKGS; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update
# shellcheck disable=SC2086
$SUDO apt-get install -y --no-install-recommends $missing
# The package starts nginx on port 80; the benchmarks run their own.
$SUDO systemctl disable --now nginx 2>/dev/null || true
