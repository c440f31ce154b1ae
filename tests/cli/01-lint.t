#!/bin/sh
# SPDX-License-Identifier: MIT
# The house rules of scripts/lint hold, and lint really catches offences.
. "$(dirname "$0")/lib.sh"
bin_only "lint reads the sources, not the binaries"

run "$TOP/scripts/lint"
is "$rc" 0 "lint passes on the tree"
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/# /'

# A copy of the tree with one offence of each kind must fail, naming each.
mkdir -p "$T/tree/build"
cp -r "$TOP/lib" "$TOP/cmd" "$TOP/scripts" "$TOP/tests" "$TOP/Makefile" "$TOP/schema.sql" "$T/tree/"
cat > "$T/tree/lib/bad.c" <<'C'
/* SPDX-License-Identifier: MIT */
static void f(char *b, const char *s) { sprintf(b, "%s", s); }
static const char *q = "SELECT id FROM users WHERE username = ?1";
static void g(char *b) { snprintf(b, 9, "DELETE FROM hosts WHERE id = %d", 1); }
C
printf 'int x;\n' > "$T/tree/lib/nospdx.c"
run "$T/tree/scripts/lint"
ok $([ "$rc" -ne 0 ]; echo $?) "lint fails on a tree with offences"
like "$out" 'bad.c:2: .*banned function' "it names the banned sprintf"
like "$out" 'bad.c:3: query on a tenant-owned table without tenant_id' "it names the unscoped query"
like "$out" 'bad.c:4: .*SQL made by snprintf' "it names SQL built with snprintf"
like "$out" 'nospdx.c:1: no SPDX' "it names the file without an SPDX line"
done_testing
