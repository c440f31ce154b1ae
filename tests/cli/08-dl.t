#!/bin/sh
# SPDX-License-Identifier: MIT
# Libraries opened on first use (lib/core/dl.h): no tool links libcurl,
# libxlsxwriter, libevtx (EVTX files are decoded natively; nor libbfio or
# minizip, which they need) or
# libssl, and none but vc-serve (whose libwebsockets needs it) libcrypto,
# so a call that uses none of them does not load them; a call that needs
# one that cannot be loaded fails with exit 69 and a message naming the
# file, why, and what it was needed for, and leaves nothing half-made;
# calls that do not need it go on working.  A library is made
# unloadable by a file of its name, first on LD_LIBRARY_PATH, that is
# not one (or is one without the library's functions).
. "$(dirname "$0")/lib.sh"

# ---- the link ------------------------------------------------------------------------------
needed() { readelf -d "$1" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | grep -E "^lib($2)\\." | tr '\n' ' '; }
if command -v readelf > /dev/null; then
	for b in "$BIN"/vc-*; do
		is "$(needed "$b" 'curl|xlsxwriter|evtx|bfio|minizip|ssl')" "" \
			"$(basename "$b") links none of libcurl, libxlsxwriter, libevtx, libbfio, minizip, libssl"
	done
	# The sanitizer builds link every library named (GCC drops --as-needed for them).
	if [ "$BIN" = "$TOP/bin" ]; then
		for b in "$BIN"/vc-*; do
			[ "${b##*/}" = vc-serve ] && continue
			is "$(needed "$b" crypto)" "" "$(basename "$b") does not link libcrypto"
		done
	fi
fi
# And a call that needs none of them does not load them.  On PostgreSQL
# the store's libpq is loaded, and it needs libssl and libcrypto itself:
# those two are then allowed, only as libpq's ("needed by" it).
init_store
if [ "$BIN" = "$TOP/bin" ]; then
	LD_DEBUG=files vc-hosts list --limit 1 > /dev/null 2> "$T/ld"
	is "$(grep -E 'file=lib(curl|xlsxwriter|evtx|bfio|minizip|ssl|crypto)[^ ]* .* by ' "$T/ld" |
		grep -vE 'file=lib(ssl|crypto)\.so[^ ]* .*needed by [^ ]*/libpq\.so\.5 ' |
		grep -oE 'file=lib[^ ]*' | sort -u | tr '\n' ' ')" "" \
		"vc-hosts list loads none of them, nor libcrypto (but for libpq's own)"
	[ "$STORE_PG" = 0 ] || echo "# libssl and libcrypto loaded by libpq: $(grep -cE 'file=lib(ssl|crypto)\.so[^ ]* .*needed by [^ ]*/libpq' "$T/ld")"
fi

# ---- a library that is not there ----------------------------------------------------------
mkdir -p "$T/bad"
for f in libcurl.so.4 libxlsxwriter.so.4 libevtx.so.1; do
	echo 'not a shared library' > "$T/bad/$f"
done
nolib() { run env LD_LIBRARY_PATH="$T/bad" "$@"; }

# XLSX: refused before anything is gathered or written.
nolib vc-report generate threat_report --since -30d --format xlsx -o "$T/t.xlsx"
is "$rc" 69 "vc-report generate --format xlsx without libxlsxwriter: exit 69 (unavailable)"
like "$err" "^vc-report: cannot load libxlsxwriter\.so\.4, needed to write XLSX reports: .*bad/libxlsxwriter\.so\.4" \
	"... naming the library, what it is for and why it did not load"
ok $([ ! -e "$T/t.xlsx" ]; echo $?) "... and no workbook is left"
nolib vc-report generate threat_report --since -30d --format json -o "$T/t.json"
is "$rc" 0 "the same report as JSON needs no libxlsxwriter"
run vc-report generate threat_report --since -30d --format xlsx -o "$T/t.xlsx"
is "$rc" 0 "with the library, the workbook is written"
nolib vc-report verify "$T/t.xlsx"
is "$rc" 0 "verifying a workbook reads it without libxlsxwriter"

# EVTX: decoded natively, so no reader of .evtx files needs libevtx.
EVTX=$(find "$TOP/rules/sigma/regression_data" -name '*.evtx' | LC_ALL=C sort | head -n 1)
n=$(vc-case evtx "$EVTX" | wc -l | tr -d ' ')
nolib vc-case evtx "$EVTX"
is "$rc:$err:$(printf '%s\n' "$out" | wc -l | tr -d ' ')" "0::$n" "vc-case evtx with no libevtx to load: its $n rows"
nolib vc-score "$EVTX"
is "$rc" 0 "vc-score FILE.evtx with no libevtx: exit 0"
nolib vc-case artifact import "$EVTX" --name Windows.EventLogs.Evtx -o jsonl
is "$rc:$(jqr .rows)" "0:$n" "vc-case artifact import FILE.evtx with no libevtx: stored"
if [ "$BIN" = "$TOP/bin" ]; then
	LD_DEBUG=files vc-case evtx "$EVTX" > /dev/null 2> "$T/ld"
	is "$(grep -oE 'file=lib(evtx|bfio)[^ ]*' "$T/ld" | sort -u | tr '\n' ' ')" "" \
		"vc-case evtx loads neither libevtx nor libbfio"
fi

# libcurl: a delivery says why it cannot be made.
export VC_ALLOW_VELOCIRAPTOR=127.0.0.1
run vc-notify channel add hook --kind webhook --target "http://127.0.0.1:$(free_port)/in"
is "$rc" 0 "a webhook channel"
nolib vc-notify channel test hook -o jsonl
is "$rc" 69 "vc-notify channel test without libcurl: exit 69"
like "$(jqr .error)" "^cannot load libcurl\.so\.4, needed to talk to Velociraptor, mail servers and web receivers" \
	"... saying that libcurl is missing, not that the receiver is down"

# OpenSSL: a Velociraptor API config's client certificate is read with
# it.  (The sanitizer builds link libwebsockets, and so libssl, into
# every tool: there libssl cannot be taken away from a start.)  On
# PostgreSQL the store's libpq needs libssl: without it the store cannot
# be opened, which is the same exit status, naming both.
sh "$TOP/tests/fixtures/vr/mkcerts.sh" "$T/certs" > /dev/null 2>&1
if ! ldd "$BIN/vc-hunt" | grep -q 'libssl\.'; then
	mkdir -p "$T/nossl"
	echo 'not a shared library' > "$T/nossl/libssl.so.3"
	run env LD_LIBRARY_PATH="$T/nossl" vc-hunt config set --api-config "$T/certs/api_client.yaml"
	is "$rc" 69 "vc-hunt config set without libssl: exit 69, not a bad config (65)"
	if [ "$STORE_PG" = 1 ]; then
		like "$err" "^vc-hunt: cannot load libpq\.so\.5, needed to use a PostgreSQL store .*nossl/libssl\.so\.3" \
			"... saying why: libpq needs it"
	else
		like "$err" "^vc-hunt: cannot load libssl\.so\.3, needed to speak TLS" "... saying why"
	fi
fi
run vc-hunt config set --api-config "$T/certs/api_client.yaml"
is "$rc" 0 "with it, the config is taken"

# ---- a library without the functions we call ----------------------------------------------
if command -v cc > /dev/null; then
	mkdir -p "$T/old"
	cc -shared -fPIC -Wl,-soname,libxlsxwriter.so.4 -o "$T/old/libxlsxwriter.so.4" -x c /dev/null
	run env LD_LIBRARY_PATH="$T/old" vc-report generate threat_report --since -30d --format xlsx -o "$T/o.xlsx"
	is "$rc" 69 "a libxlsxwriter.so.4 without libxlsxwriter's functions: exit 69"
	like "$err" "libxlsxwriter\.so\.4 has no [a-z_]*, needed to write XLSX reports" "... naming a missing function"
fi

done_testing
