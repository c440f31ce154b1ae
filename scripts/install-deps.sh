#!/bin/sh
# SPDX-License-Identifier: MIT
# install-deps.sh - install the Debian 12 packages that building, testing
# and the demo need, when they are missing.  Idempotent; runs apt-get
# update once, only when something is to be installed.  With arguments,
# those packages instead (bench/install-deps.sh).
set -eu
PKGS="build-essential pkg-config
libsqlite3-dev sqlite3 libjq-dev libonig-dev jq libsodium-dev zlib1g-dev
libwebsockets-dev libunistring-dev liboath-dev
libcurl4-openssl-dev libyaml-dev libprotobuf-c-dev protobuf-c-compiler libpcre2-dev
mandoc curl openssl python3 python3-websockets python3-grpcio python3-grpc-tools python3-protobuf
clang libfuzzer-14-dev
libqrencode-dev libpng-dev oathtool zbar-tools python3-aiosmtpd
wkhtmltopdf libxlsxwriter-dev poppler-utils python3-openpyxl chromium libevtx-dev
libpq-dev postgresql postgresql-contrib"
[ $# -eq 0 ] || PKGS="$*"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
