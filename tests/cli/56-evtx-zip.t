#!/bin/sh
# SPDX-License-Identifier: MIT
# A triage ZIP of .evtx files (Velociraptor's offline collector's shape:
# uploads/auto/C%3A/Windows/System32/winevt/Logs/X.evtx) is read in place:
# vc-case evtx prints every member's records, vc-score flags every sample
# from it, vc-case artifact import stores them; a corrupt, encrypted,
# overlapping or bomb-like member is one error naming the ZIP and the
# member, and the rest is read; member names are never used as paths;
# memory stays flat.
. "$(dirname "$0")/lib.sh"
no_store "the ZIP reader; its one import goes through the writer 22-artifacts.t tests on both"

SIGMA=$TOP/rules/sigma
REG=$SIGMA/regression_data
LOGS=uploads/auto/C%3A/Windows/System32/winevt/Logs
init_store

# mkzip.py OUT [EDIT...] -- NAME=SOURCE...: a ZIP of the SOURCE files
# (deflated; "stored:PATH" stored, "zeros:N" the EVTX signature and N
# zero bytes), then each EDIT applied to its central directory or data:
# flip=NAME (its first data byte 0xFF: not deflate), crc=NAME,
# usize=NAME:N (declared size), encrypt=NAME, dup=NAME:NEW (a second
# entry with the same data), zip64 (every entry and the end in ZIP64).
cat > "$T/mkzip.py" <<'EOF'
import struct, sys, zipfile
out, args = sys.argv[1], sys.argv[2:]
cut = args.index("--")
edits, specs = args[:cut], args[cut + 1:]
with zipfile.ZipFile(out, "w") as z:
    z.writestr(zipfile.ZipInfo("uploads/"), b"")
    z.writestr("uploads/auto/C%3A/readme.txt", "not a log")
    for s in specs:
        name, src = s.split("=", 1)
        zi = zipfile.ZipInfo(name)
        zi.compress_type = zipfile.ZIP_DEFLATED
        if src.startswith("zeros:"):
            data = b"ElfFile\0" + bytes(int(src[6:]))
        elif src.startswith("stored:"):
            data, zi.compress_type = open(src[7:], "rb").read(), zipfile.ZIP_STORED
        else:
            data = open(src, "rb").read()
        z.writestr(zi, data)
b = bytearray(open(out, "rb").read())
# The central directory as a list of entries, edited, then written anew.
e = b.rindex(b"PK\5\6")
n, size, off = struct.unpack_from("<HII", b, e + 10)
ents, p = [], off
while p < off + size:
    nl, xl, cl = struct.unpack_from("<HHH", b, p + 28)
    ents.append(bytearray(b[p:p + 46 + nl + xl + cl]))
    p += 46 + nl + xl + cl
def find(name):
    return next(x for x in ents if x[46:46 + struct.unpack_from("<H", x, 28)[0]] == name.encode())
for ed in edits:
    k, _, v = ed.partition("=")
    name, _, arg = v.partition(":")
    if k == "flip":
        lh = struct.unpack_from("<I", find(name), 42)[0]
        nl, xl = struct.unpack_from("<HH", b, lh + 26)
        b[lh + 30 + nl + xl] = 0xFF
    elif k == "crc":
        x = find(name)
        struct.pack_into("<I", x, 16, struct.unpack_from("<I", x, 16)[0] ^ 1)
    elif k == "usize":
        struct.pack_into("<I", find(name), 24, int(arg))
    elif k == "encrypt":
        x = find(name)
        struct.pack_into("<H", x, 8, struct.unpack_from("<H", x, 8)[0] | 1)
    elif k == "dup":
        x = bytearray(find(name))
        nl = struct.unpack_from("<H", x, 28)[0]
        x[46:46 + nl] = arg.encode()
        struct.pack_into("<H", x, 28, len(arg.encode()))
        ents.append(x)
z64 = "zip64" in edits
if z64:
    for i, x in enumerate(ents):
        cs, us = struct.unpack_from("<II", x, 20)
        lh = struct.unpack_from("<I", x, 42)[0]
        nl, xl, cl = struct.unpack_from("<HHH", x, 28)
        extra = struct.pack("<HHQQQ", 1, 24, us, cs, lh)
        struct.pack_into("<II", x, 20, 0xFFFFFFFF, 0xFFFFFFFF)
        struct.pack_into("<I", x, 42, 0xFFFFFFFF)
        struct.pack_into("<H", x, 30, xl + len(extra))
        ents[i] = x[:46 + nl + xl] + extra + x[46 + nl + xl:]
cd = b"".join(ents)
tail = bytes(b[:off]) + cd
if z64:
    at = len(tail)
    tail += b"PK\6\6" + struct.pack("<QHHIIQQQQ", 44, 45, 45, 0, 0, len(ents), len(ents), len(cd), off)
    tail += b"PK\6\7" + struct.pack("<IQI", 0, at, 1)
    tail += b"PK\5\6" + struct.pack("<HHHHIIH", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
else:
    tail += b"PK\5\6" + struct.pack("<HHHHIIH", 0, 0, len(ents), len(ents), len(cd), off, 0)
open(out, "wb").write(tail)
EOF
mkzip() { python3 "$T/mkzip.py" "$@"; }
rows() { printf '%s\n' "$out" | grep -c . ; }

# ---- rows --------------------------------------------------------------------------------
jq -r '[.rule_id, .evtx] | @tsv' "$SIGMA/regression_index_windows.jsonl" > "$T/index"
set --
while IFS='	' read -r id evtx; do
	set -- "$@" "$LOGS/$id.evtx=$SIGMA/$evtx"
done < "$T/index"
mkzip "$T/triage.zip" -- "$@"
want=0
while IFS='	' read -r id evtx; do
	want=$((want + $(vc-case evtx "$SIGMA/$evtx" | wc -l)))
done < "$T/index"
run vc-case evtx "$T/triage.zip"
is "$rc:$err" "0:" "vc-case evtx ZIP: exit 0, nothing on stderr"
is "$(rows)" "$want" "every .evtx member's records ($want), the other members passed over"
first=$(head -n 1 "$T/index" | cut -f 2)
is "$(printf '%s\n' "$out" | head -n "$(vc-case evtx "$SIGMA/$first" | wc -l)")" "$(vc-case evtx "$SIGMA/$first")" \
	"... the same rows as the file read from disk, members in name order"
mkzip "$T/z64.zip" zip64 -- "$LOGS/a.evtx=$SIGMA/$first" "$LOGS/b.evtx=stored:$SIGMA/$first"
run vc-case evtx "$T/z64.zip"
is "$rc:$(rows)" "0:$((2 * $(vc-case evtx "$SIGMA/$first" | wc -l)))" "ZIP64 entries, deflated and stored: read"

# ---- scoring and import ------------------------------------------------------------------
run vc-score "$T/triage.zip"
is "$rc" 0 "vc-score ZIP: exit 0"
printf '%s\n' "$out" | jq -r '.vc_score.indicators[] | select(.kind == "sigma") | .id' | sort -u > "$T/fired"
is "$(cut -f 1 "$T/index" | sort -u | comm -23 - "$T/fired")" "" "every sample's rule fires on its member's events"
run vc-case artifact import "$T/triage.zip" --name Windows.EventLogs.Evtx -o jsonl
is "$rc:$(jqr .rows)" "0:$want" "vc-case artifact import ZIP: every member's records stored"

# ---- a ZIP in a walked directory ---------------------------------------------------------
mkdir -p "$T/walk/host1" "$T/walk/host2"
cp "$SIGMA/$first" "$T/walk/host1/System.evtx"
cp "$T/triage.zip" "$T/walk/host2/Collection-WS042.ZIP"
mkzip "$T/walk/host2/other.zip" -- "notes/readme.evtx.txt=$SIGMA/$first"
run vc-case evtx "$T/walk"
is "$rc:$err" "0:" "vc-case evtx DIR holding a ZIP: exit 0"
is "$(rows)" "$(($(vc-case evtx "$SIGMA/$first" | wc -l) + want))" \
	"... the loose .evtx file's records and every .evtx member's of the ZIP (any case of .zip)"
is "$(printf '%s\n' "$out" | tail -n 1)" "$(vc-case evtx "$T/triage.zip" | tail -n 1)" "... the members' rows as from the ZIP itself"
run vc-score "$T/walk"
printf '%s\n' "$out" | jq -r '.vc_score.indicators[] | select(.kind == "sigma") | .id' | sort -u > "$T/fired"
is "$rc:$(cut -f 1 "$T/index" | sort -u | comm -23 - "$T/fired")" "0:" "vc-score DIR: every sample's rule fires, from inside the ZIP"
printf 'PK\003\004 not really' > "$T/walk/host1/broken.zip"
run vc-case evtx "$T/walk"
is "$rc:$(rows)" "65:$(($(vc-case evtx "$SIGMA/$first" | wc -l) + want))" "a broken .zip in the directory: exit 65, the rest read"
like "$err" "walk/host1/broken.zip: not a ZIP archive" "... the error naming it"
mkdir -p "$T/onlyzip"
cp "$T/walk/host2/other.zip" "$T/onlyzip/"
run vc-case evtx "$T/onlyzip"
is "$rc:$(rows)" "0:0" "a directory whose only ZIP holds no .evtx: nothing read, no error"

# ---- damage ------------------------------------------------------------------------------
one=$(sed -n 2p "$T/index" | cut -f 2)
n1=$(vc-case evtx "$SIGMA/$one" | wc -l)
mkzip "$T/bad.zip" flip="$LOGS/b.evtx" -- "$LOGS/a.evtx=$SIGMA/$first" "$LOGS/b.evtx=$SIGMA/$one" \
	"$LOGS/c.evtx=$SIGMA/$one"
run vc-case evtx "$T/bad.zip"
is "$rc:$(rows)" "65:$((n1 + $(vc-case evtx "$SIGMA/$first" | wc -l)))" "a corrupt member: exit 65, the other members read"
like "$err" "bad.zip:$LOGS/b.evtx: not an EVTX file \(bad deflate data after 0 bytes" \
	"... the error names the ZIP, the member and what is wrong"
mkzip "$T/crc.zip" crc="$LOGS/a.evtx" -- "$LOGS/a.evtx=stored:$SIGMA/$one" "$LOGS/b.evtx=$SIGMA/$one"
run vc-case evtx "$T/crc.zip"
like "$rc:$err" "^65:.*crc.zip:$LOGS/a.evtx: chunk [0-9]+ \(offset [0-9]+\): its CRC is [0-9a-f]+, the central directory says" \
	"a member whose CRC does not match: an error naming it"
is "$(rows)" "$((2 * n1))" "... after its records, and the next member read"
mkzip "$T/enc.zip" encrypt="$LOGS/a.evtx" -- "$LOGS/a.evtx=$SIGMA/$one" "$LOGS/b.evtx=$SIGMA/$one"
run vc-case evtx "$T/enc.zip"
is "$rc:$(rows)" "65:$n1" "an encrypted member: exit 65, the others read"
like "$err" "enc.zip:$LOGS/a.evtx: encrypted; not read" "... saying so"
{ printf 'PK\003\004'; head -c 200 /dev/zero; } > "$T/notzip.zip"
run vc-case evtx "$T/notzip.zip"
like "$rc:$err" "^65:.*notzip.zip: not a ZIP archive \(no end of central directory\)" "not a ZIP after all: exit 65, saying so"
mkzip "$T/none.zip" --
run vc-case evtx "$T/none.zip"
like "$rc:$err" "^65:.*none.zip: a ZIP without .evtx files" "a ZIP without logs: exit 65, saying so"

# ---- bombs -------------------------------------------------------------------------------
# 64 MiB of zeros deflate to about 64 KiB: refused before a byte is inflated.
mkzip "$T/bomb.zip" -- "$LOGS/a.evtx=$SIGMA/$one" "$LOGS/bomb.evtx=zeros:67108864"
/usr/bin/time -f %e -o "$T/time" vc-case evtx "$T/bomb.zip" > "$T/out" 2> "$T/err"
rc=$?; err=$(cat "$T/err")
is "$rc:$(grep -c . "$T/out")" "65:$n1" "a bomb-like member: exit 65, the other member read"
like "$err" "bomb.zip:$LOGS/bomb.evtx: 67108872 bytes from [0-9]+ compressed, a ratio over 100:1; not read" \
	"... refused by its ratio, named"
ok "$(tail -n 1 "$T/time" | awk '{ print ($1 < 0.5) ? 0 : 1 }')" "... without inflating it ($(tail -n 1 "$T/time")s)"
# A member that says it is small and inflates past that.
mkzip "$T/liar.zip" usize="$LOGS/liar.evtx:8192" -- "$LOGS/liar.evtx=$SIGMA/$one" "$LOGS/z.evtx=$SIGMA/$one"
run vc-case evtx "$T/liar.zip"
like "$rc:$err" "^65:.*liar.zip:$LOGS/liar.evtx: chunk 0 \(offset 4096\): .*inflates past its declared 8192 bytes" \
	"a member inflating past its declared size: stopped there, named"
is "$(rows)" "$n1" "... the next member read"
# Two entries over the same data (how overlapping bombs multiply).
mkzip "$T/dup.zip" dup="$LOGS/a.evtx:$LOGS/b.evtx" -- "$LOGS/a.evtx=$SIGMA/$one"
run vc-case evtx "$T/dup.zip"
is "$rc:$(rows)" "65:$n1" "two members over the same data: the data read once, exit 65"
like "$err" "dup.zip:$LOGS/b.evtx: its data overlaps another member's" "... the second refused by name"

# ---- names are only names ----------------------------------------------------------------
mkdir -p "$T/cwd"
mkzip "$T/names.zip" -- "../../../escape.evtx=$SIGMA/$one" "/abs/x.evtx=$SIGMA/$one" \
	"$(printf 'esc\033[31m.evtx')=zeros:100"
run sh -c "cd '$T/cwd' && vc-case evtx '$T/names.zip'"
is "$(rows)" "$((2 * n1))" "members named ../../../escape.evtx and /abs/x.evtx: read as names"
like "$err" "names.zip:esc\?\[31m.evtx: " "... a control character in a name shown as ?"
is "$(find "$T" -name 'escape.evtx' -o -name abs -o -name 'esc*' | wc -l | tr -d ' ')" 0 "... and nothing written anywhere"

# ---- flat memory -------------------------------------------------------------------------
LIMIT=$(mem_limit)
# shellcheck disable=SC2046
python3 "$TOP/bench/mkevtx.py" "$T/big.evtx" 1500 $(find "$REG" -name '*.evtx' | sort)
mkzip "$T/big.zip" -- "$LOGS/Security.evtx=$T/big.evtx" "$LOGS/System.evtx=$T/big.evtx"
rm -f "$T/big.evtx"
/usr/bin/time -f %M -o "$T/mem" vc-case evtx "$T/big.zip" > "$T/big.out" 2> "$T/err"
n=$(wc -l < "$T/big.out" | tr -d ' ')
mem=$(tail -n 1 "$T/mem")
ok $([ "$n" -gt 3000 ] && [ "$mem" -lt "$LIMIT" ] && [ ! -s "$T/err" ]; echo $?) \
	"two 94 MiB deflated members: $n rows in $mem KiB (under $LIMIT)"

done_testing
