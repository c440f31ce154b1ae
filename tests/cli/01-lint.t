#!/bin/sh
# SPDX-License-Identifier: MIT
# The house rules of scripts/lint hold, and lint really catches offences:
# a copy of the tree passes, then one offence of each kind is planted in
# it and lint must name the file and line of each, and nothing else.
. "$(dirname "$0")/lib.sh"
no_store "the sources and the tree"
bin_only "lint reads the sources, not the binaries"

run "$TOP/scripts/lint"
is "$rc" 0 "lint passes on the tree"
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/# /'

# A copy of the tree (not a git checkout: lint reads every file of it).
mkdir -p "$T/tree"
(cd "$TOP" && cp -r lib front cmd scripts Makefile schema.sql "$T/tree/") &&
	mkdir -p "$T/tree/tests" && cp -r "$TOP/tests/unit" "$T/tree/tests/"
run "$TOP/scripts/lint" -C "$T/tree"
is "$rc" 0 "lint -C passes on a clean copy of the tree"
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/# /'

# Tables for the scoping rule: one that gets tenant_id from ALTER TABLE,
# one child that has none and belongs to a tenant through hosts.
cat >> "$T/tree/schema.sql" <<'SQL'

-- migration: 99
CREATE TABLE widgets (
	id TEXT PRIMARY KEY,
	name TEXT
);
ALTER TABLE widgets ADD COLUMN tenant_id TEXT;
CREATE TABLE host_notes (
	host_id TEXT NOT NULL REFERENCES hosts(id),
	body TEXT
);
SQL

# A domain file with one offence of each kind on a known line, and, from
# line 28 on, statements that are allowed and must not be named.
cat > "$T/tree/lib/bad.c" <<'C'
/* SPDX-License-Identifier: MIT */
static void f(char *b, const char *s) { sprintf(b, "%s", s); }
static const char *q = "SELECT id FROM users WHERE username = ?1";
static void g(char *b) { snprintf(b, 9, "DELETE FROM hosts WHERE id = %d", 1); }
#include "ops/ops.h"
static void h(void) { printf("hello\n"); }
static void i(void) { fprintf(stderr, "hello\n"); }
static void j(void) { exit(1); }
static void k(vc_ctx *ctx, const char *id)
{
	vc_sql(ctx, "SELECT title FROM cases"
	    " WHERE id = ?1", "s", id);
	vc_sql_exec(ctx, "INSERT INTO hosts (id, hostname) VALUES (?1, ?2)", NULL, "ss", id, id);
}
#define HOSTS_FROM " FROM hosts h"
static const char *m = "SELECT h.id" HOSTS_FROM " WHERE h.id = ?1";
static const char *n = "SELECT name FROM widgets WHERE id = ?1";
static const char *o = "SELECT body FROM host_notes WHERE host_id = ?1";
static const char *p = "SELECT a.name FROM artifacts a JOIN hosts h ON h.tenant_id = a.tenant_id";
static const char *r = "SELECT tenant_id FROM api_tokens WHERE token_hash = ?1";
static const char *s = "UPDATE iocs SET value = ?1 WHERE id = ?2; DELETE FROM iocs WHERE tenant_id = ?3";
static const char *t = "select id from threat_scores where id = ?1";
static const char *u = "SELECT id FROM users WHERE id = ?1";   /* unscoped: */
/* unscoped: this comment is about x only */
static int x;
static const char *v = "SELECT id FROM users WHERE id = ?1";
static const char *w = "UPDATE OR REPLACE main.hosts SET hostname = ?1 WHERE id = ?2";
/* Allowed: */
static const char *a1 = "SELECT h.id" HOSTS_FROM " WHERE h.tenant_id = ?1 AND h.id = ?2";
/* unscoped: a login names no tenant; usernames are global */
static const char *a2 = "SELECT id FROM users WHERE username = ?1";
static const char *a3 = "SELECT id FROM users WHERE id = ?1";   /* unscoped: the test says so */
static const char *a4 = "INSERT INTO widgets (id, tenant_id, name) VALUES (?1, ?2, ?3)";
static const char *a5 = "SELECT n.body FROM host_notes n JOIN hosts h ON h.id = n.host_id"
    " WHERE h.tenant_id = ?1";
static const char *a6 = "SELECT body FROM host_notes WHERE host_id IN"
    " (SELECT id FROM hosts WHERE tenant_id = ?1)";
static const char *a7 = "SELECT id FROM tenants WHERE name = ?1";
static const char *a8 = "copy the rows from users into hosts";
static void a9(char *b) { snprintf(b, 9, "%d", 1); /* printf(stdout) in a comment */ }
static const char *a10 = "printf(\"x\") exit(1) stderr, in a string";
C

# A layer broken: json/ may include only core/vc.h of core/.
cat > "$T/tree/lib/json/bad.c" <<'C'
/* SPDX-License-Identifier: MIT */
#include "core/vc.h"
#include "core/store.h"
#include "../elsewhere/x.h"
C
# The dispatcher from a lower layer, and one a front door may include.
printf '/* SPDX-License-Identifier: MIT */\n#include "ops/ops.h"\n' > "$T/tree/lib/score/bad.h"
printf '/* SPDX-License-Identifier: MIT */\n#include "ops/ops.h"\n' > "$T/tree/front/cli/ok.c"

# Paths outside the repository (written in two pieces, so that this file
# itself does not name them).
printf 'The design is in ..%s.\nSee also\n/wo%s.\n' /shared/DESIGN.md rk/main/README.md > "$T/tree/NOTES.md"
printf 'int x;\n' > "$T/tree/lib/nospdx.c"

run "$TOP/scripts/lint" -C "$T/tree"
ok $([ "$rc" -eq 1 ]; echo $?) "lint fails on a tree with offences"
like "$out" '^lib/bad\.c:2: .*banned function' "it names the banned sprintf"
like "$out" '^lib/bad\.c:3: query on tenant-owned table users does not bind tenant_id' \
	"it names the query on a tenant table without tenant_id"
like "$out" '^lib/bad\.c:4: .*SQL made by snprintf' "it names SQL built with snprintf"
like "$out" '^lib/bad\.c:4: query on tenant-owned table hosts' "and the query it makes"
like "$out" '^lib/bad\.c:5: #include "ops/ops.h": the dispatcher' "it names ops/ops.h included by a domain file"
like "$out" '^lib/bad\.c:6: lib/ never prints.*printf' "it names a printf in lib/"
like "$out" '^lib/bad\.c:7: lib/ never prints: no stderr' "it names stderr in lib/"
like "$out" '^lib/bad\.c:8: lib/ never prints or exits: no exit' "it names exit() in lib/"
like "$out" '^lib/bad\.c:11: query on tenant-owned table cases does not bind' "it reads a query over two lines"
like "$out" '^lib/bad\.c:13: INSERT INTO hosts does not list tenant_id' "it names an INSERT without tenant_id"
like "$out" '^lib/bad\.c:16: query on tenant-owned table hosts' "it reads string macros"
like "$out" '^lib/bad\.c:17: query on tenant-owned table widgets' "it knows tables given tenant_id by ALTER TABLE"
like "$out" '^lib/bad\.c:18: query on host_notes \(a child of hosts\)' "it names a child table queried alone"
like "$out" '^lib/bad\.c:19: query on tenant-owned table artifacts' "a join on tenant_id binds nothing"
like "$out" '^lib/bad\.c:20: query on tenant-owned table api_tokens' "a selected tenant_id binds nothing"
like "$out" '^lib/bad\.c:21: query on tenant-owned table iocs' "each statement of a literal is checked"
like "$out" '^lib/bad\.c:22: query on tenant-owned table threat_scores' "lower-case SQL is checked"
like "$out" '^lib/bad\.c:23: query on tenant-owned table users' "an unscoped: comment must say why"
like "$out" '^lib/bad\.c:26: query on tenant-owned table users' "an unscoped: comment is about its own statement"
like "$out" '^lib/bad\.c:27: query on tenant-owned table hosts' "UPDATE OR ... and a schema name hide nothing"
unlike "$out" '^lib/bad\.c:(2[4589]|[3-9][0-9]):' "allowed statements and marked ones are not named"
like "$out" '^lib/json/bad\.c:3: layer: lib/json/\* may not include "core/store.h"' "it names a layer broken"
like "$out" '^lib/json/bad\.c:4: #include "\.\./elsewhere/x\.h" is no header' "it names an include from outside"
unlike "$out" '^lib/json/bad\.c:2:' "core/vc.h is allowed in json/"
like "$out" '^lib/score/bad\.h:2: #include "ops/ops.h"' "it names ops/ops.h included by a lower layer"
unlike "$out" '^front/cli/ok\.c' "a front door may include ops/ops.h"
like "$out" '^NOTES\.md:1: a path outside the repository' "it names the shared folder"
like "$out" '^NOTES\.md:3: a path outside the repository' "it names a machine path"
unlike "$out" '^NOTES\.md:2:' "and only those lines"
like "$out" '^lib/nospdx\.c:1: no SPDX' "it names the file without an SPDX line"
is "$(printf '%s\n' "$out" | grep -c .)" 26 "and nothing else: 26 offences"
[ "$(printf '%s\n' "$out" | grep -c .)" -eq 26 ] || printf '%s\n' "$out" | sed 's/^/# /'
done_testing
