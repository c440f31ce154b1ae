/* SPDX-License-Identifier: MIT */
/*
 * t_pgsql.c - SQLite's dialect made PostgreSQL's (vc_pg_translate,
 * lib/core/pg.c), each backend's part of a VC_SQL2 text, and URLs with
 * their passwords hidden (vc_pg_redact).  No server: tests/cli/90-pg.t
 * runs the translated statements on one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pg.h"
#include "tap.h"

/* The translation of sql, or "ERROR: message". */
static const char *
pg(const char *sql)
{
	static char buf[2048];
	char err[256], *out = NULL;

	if (vc_pg_translate(sql, &out, err, sizeof err) != 0) {
		snprintf(buf, sizeof buf, "ERROR: %s", err);
		return buf;
	}
	snprintf(buf, sizeof buf, "%s", out);
	free(out);
	return buf;
}

/* url as messages show it must be want. */
static void
redacts(const char *url, const char *want, const char *what)
{
	char buf[512];

	vc_pg_redact(url, buf, sizeof buf);
	is_str(buf, want, "%s", what);
}

int
main(void)
{
	char *lite;

	/* Parameters. */
	is_str(pg("SELECT a FROM t WHERE b = ?1 AND c = ?2 OR d = ?1"),
	    "SELECT a FROM t WHERE b = $1 AND c = $2 OR d = $1", "?N is $N");
	is_str(pg("INSERT INTO t (a, b, c) VALUES (?, ?, ?)"),
	    "INSERT INTO t (a, b, c) VALUES ($1, $2, $3)", "bare ? are numbered in order");
	is_str(pg("SELECT ?3, ?"), "SELECT $3, $4", "a bare ? follows the largest number, as SQLite's");
	is_str(pg("SELECT 'is it ?1' || \"odd?\" FROM t WHERE x = ?1 -- not ?2\n"),
	    "SELECT 'is it ?1' || \"odd?\" FROM t WHERE x = $1 -- not ?2\n",
	    "literals, quoted names and comments are left alone");
	is_str(pg("SELECT 'it''s ?1', ?1"), "SELECT 'it''s ?1', $1", "a doubled quote stays in its literal");

	/* Words. */
	is_str(pg("INSERT OR IGNORE INTO t (a) VALUES (?1)"),
	    "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING ", "INSERT OR IGNORE");
	is_str(pg("insert or ignore into t (a) values (?1) returning id"),
	    "INSERT INTO t (a) values ($1) ON CONFLICT DO NOTHING returning id",
	    "INSERT OR IGNORE ... RETURNING: the conflict clause before it");
	is_str(pg("SELECT x FROM t WHERE a LIKE ?1 ESCAPE '\\' AND b NOT LIKE 'x%'"),
	    "SELECT x FROM t WHERE a ILIKE $1 ESCAPE '\\' AND b NOT ILIKE 'x%'", "LIKE ignores case, as SQLite's");
	is_str(pg("SELECT ifnull(a, 0), instr(b, 'x'), CAST(c AS INTEGER) FROM t"),
	    "SELECT coalesce(a, 0), strpos(b, 'x'), CAST(c AS bigint) FROM t", "ifnull, instr, AS INTEGER");
	is_str(pg("SELECT name FROM t ORDER BY name COLLATE NOCASE LIMIT -1"),
	    "SELECT name FROM t ORDER BY name  LIMIT ALL", "COLLATE NOCASE, LIMIT -1");
	is_str(pg("SELECT CASE WHEN lease_until > unixepoch() THEN x END FROM t"),
	    "SELECT CASE WHEN lease_until > floor(extract(epoch FROM now()))::bigint THEN x END FROM t",
	    "unixepoch(): now, in whole seconds");
	is_str(pg("SELECT unixepoch(a) FROM t"), "SELECT unixepoch(a) FROM t",
	    "unixepoch with an argument is not translated");
	is_str(pg("SELECT a FROM t WHERE b = ? ORDER BY a LIMIT ?3 OFFSET ?4"),
	    "SELECT a FROM t WHERE b = $1 ORDER BY a LIMIT nullif(greatest($3, -1), -1) OFFSET $4",
	    "LIMIT ?N: a negative value is no limit");
	is_str(pg("SELECT a FROM t WHERE b = ? LIMIT ? OFFSET ?"),
	    "SELECT a FROM t WHERE b = $1 LIMIT nullif(greatest($2, -1), -1) OFFSET $3",
	    "LIMIT ?: numbered in order");
	is_str(pg("SELECT max(a), min(a, ?1), MAX(b, (1 + c), d) FROM t"),
	    "SELECT max(a), least(a, $1), greatest(b, (1 + c), d) FROM t",
	    "min and max of several are least and greatest; aggregates stay");
	is_str(pg("SELECT max(a, 'x,y') FROM t"), "SELECT greatest(a, 'x,y') FROM t",
	    "a comma in a literal is no argument");
	is_str(pg("SELECT hex(ip_key) AS _sort, hex(substr(x, 1, 2)) FROM t"),
	    "SELECT upper(encode(ip_key, 'hex')) AS _sort, upper(encode(substr(x, 1, 2), 'hex')) FROM t",
	    "hex()");
	is_str(pg("SELECT x FROM t WHERE k = x'' OR k = X'0aFF'"),
	    "SELECT x FROM t WHERE k = '\\x'::bytea OR k = '\\x0aFF'::bytea", "blob literals");
	is_str(pg("SELECT id FROM rules WHERE ?2 GLOB on_type AND t.type GLOB ?3"),
	    "SELECT id FROM rules WHERE vc_glob($2, on_type) AND vc_glob(t.type, $3)", "GLOB");
	is_str(pg("SELECT a AS 'from', b AS user FROM t"), "SELECT a AS \"from\", b AS user FROM t",
	    "AS 'name'");
	is_str(pg("SELECT 'AS' || 'x' FROM t"), "SELECT 'AS' || 'x' FROM t", "but not any literal");

	/* Subqueries in FROM get a name; named ones keep theirs. */
	is_str(pg("SELECT COUNT(*) FROM (SELECT 1 FROM t LIMIT 5)"),
	    "SELECT COUNT(*) FROM (SELECT 1 FROM t LIMIT 5) AS vc_sub1", "an unnamed subquery");
	is_str(pg("SELECT * FROM (SELECT 1) s JOIN (SELECT 2) AS u ON 1 = 1"),
	    "SELECT * FROM (SELECT 1) s JOIN (SELECT 2) AS u ON 1 = 1", "named ones");
	is_str(pg("SELECT * FROM (SELECT a FROM (SELECT 1 AS a)) WHERE a = ?1"),
	    "SELECT * FROM (SELECT a FROM (SELECT 1 AS a) AS vc_sub1) AS vc_sub2 WHERE a = $1",
	    "nested, before WHERE");
	is_str(pg("SELECT x FROM t WHERE id IN (SELECT id FROM u)"),
	    "SELECT x FROM t WHERE id IN (SELECT id FROM u)", "a subquery elsewhere is left alone");

	/* What has no translation says so. */
	ok(strncmp(pg("INSERT OR REPLACE INTO t VALUES (1)"), "ERROR: no PostgreSQL translation of \"INSERT\"",
	    44) == 0, "INSERT OR REPLACE is refused: %s", pg("INSERT OR REPLACE INTO t VALUES (1)"));
	ok(strstr(pg("PRAGMA user_version"), "VC_SQL2") != NULL, "PRAGMA is refused, naming VC_SQL2");
	ok(strncmp(pg("SELECT json_extract(a, '$.b') FROM t"), "ERROR:", 6) == 0, "json_extract is refused");
	ok(strncmp(pg("SELECT rowid FROM t"), "ERROR:", 6) == 0, "rowid is refused");
	ok(strncmp(pg("SELECT strftime('%s', 'now')"), "ERROR:", 6) == 0, "strftime is refused");
	ok(strncmp(pg("SELECT x FROM t WHERE (a || b) GLOB ?1"), "ERROR:", 6) == 0,
	    "GLOB of an expression is refused, not mistranslated");

	/* VC_SQL2: each backend its own part, also inside a longer text. */
	is_str(pg(VC_SQL2("PRAGMA data_version", "SELECT 1")), "SELECT 1", "VC_SQL2: PostgreSQL's part");
	lite = vc_sql_lite_text(VC_SQL2("PRAGMA data_version", "SELECT 1"));
	is_str(lite, "PRAGMA data_version", "VC_SQL2: SQLite's part");
	free(lite);
	is_str(pg("SELECT a FROM t WHERE " VC_SQL2("+h.x LIKE ?1", "h.x::text LIKE ?1") " AND b = ?2"),
	    "SELECT a FROM t WHERE h.x::text ILIKE $1 AND b = $2", "a VC_SQL2 fragment, translated");
	lite = vc_sql_lite_text("SELECT a FROM t WHERE " VC_SQL2("+h.x LIKE ?1", "h.x::text LIKE ?1") " AND b = ?2");
	is_str(lite, "SELECT a FROM t WHERE +h.x LIKE ?1 AND b = ?2", "and SQLite's, untouched");
	free(lite);

	/* Passwords never shown. */
	redacts("postgresql://vc:s3cret@db.example:5432/vc?sslmode=verify-full",
	    "postgresql://vc:***@db.example:5432/vc?sslmode=verify-full", "user:password@");
	redacts("postgres://:s3cret@/vc?host=/run/pg", "postgres://:***@/vc?host=/run/pg",
	    "an empty user");
	redacts("postgresql:///vc?host=/tmp/x&password=s3cret&user=vc",
	    "postgresql:///vc?host=/tmp/x&password=***&user=vc", "password= parameter");
	redacts("postgresql://vc@db/vc?password=a&password=b",
	    "postgresql://vc@db/vc?password=***&password=***", "every password= parameter");
	redacts("postgresql://vc@db/x?options=a:b@c", "postgresql://vc@db/x?options=a:b@c",
	    "a user without a password, an @ after the path: nothing hidden");
	return done_testing();
}
