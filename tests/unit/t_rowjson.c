/* SPDX-License-Identifier: MIT */
/*
 * t_rowjson.c - vc_sql_row_json writes the very bytes vc_json_dump writes
 * for vc_sql_row's value (a column left out), for every kind of column
 * the stores hold: NULL, integers small and past 2^53, reals, times
 * (*_at), flags (*_bool), JSON text (*_json, good and bad), ASCII and
 * other UTF-8 text, text that is not UTF-8, NUL bytes, controls, quotes,
 * and blobs.  vc-serve writes list pages that way (core/page.c), so the
 * answer must not depend on which way it was written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "core/store.h"
#include "json/jdump.h"
#include "tap.h"

static void
same_rows(sqlite3 *db, const char *sql, const char *skip)
{
	vc_stmt st = { NULL, NULL };
	int n = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st.lite, NULL) != SQLITE_OK) {
		ok(0, "prepare %s: %s", sql, sqlite3_errmsg(db));
		return;
	}
	while (sqlite3_step(st.lite) == SQLITE_ROW) {
		struct vc_jbuf b = { 0 };
		jv v = vc_sql_row(&st);
		size_t len = 0;
		char *want;

		if (skip != NULL)
			v = jv_object_delete(v, jv_string(skip));
		want = vc_json_dump(v, &len);
		vc_sql_row_json(&st, &b, skip);
		ok(want != NULL && b.s != NULL && !b.oom && b.n == len && memcmp(b.s, want, len) == 0,
		    "row %d of %.60s", ++n, sql);
		if (want != NULL && b.s != NULL && (b.n != len || memcmp(b.s, want, len) != 0))
			printf("#   want: %s\n#   got:  %s\n", want, b.s);
		free(want);
		free(b.s);
	}
	sqlite3_finalize(st.lite);
	ok(n > 0, "rows of %.60s", sql);
}

int
main(void)
{
	sqlite3 *db;

	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		return 1;
	sqlite3_exec(db, "CREATE TABLE t (id TEXT, n INTEGER, r REAL, seen_at INTEGER,"
	    " ok_bool INTEGER, labels_json TEXT, name TEXT, b BLOB);"
	    "INSERT INTO t VALUES ('a', 0, 0.5, 1767225600, 1, '[\"x\",\"y\"]', 'host-1', x'00ff');"
	    "INSERT INTO t VALUES ('b', -42, -1e300, 0, 0, '{\"k\": [1, 2.50, \"\\u00e9\"]}', 'Ünïcødé ☃', NULL);"
	    "INSERT INTO t VALUES ('c', 9007199254740993, 1e-7, -1, NULL, 'not json', 'tab\there \"q\" \\ back', x'');"
	    "INSERT INTO t VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);"
	    "INSERT INTO t VALUES ('d', 1, 2, 253402300800, 7, ' 1 ', CAST(x'66ff6f80' AS TEXT), x'c3a9');"
	    "INSERT INTO t VALUES ('e', 2, 3, 5, 0, '', CAST(x'610062' AS TEXT), 'text in a blob column');"
	    "INSERT INTO t VALUES ('f', 3, 4, '2026-01-01', 'yes', 'null', char(1, 31, 127, 128), 1.5);",
	    NULL, NULL, NULL);
	same_rows(db, "SELECT * FROM t", NULL);
	same_rows(db, "SELECT id, name, n AS _sort FROM t", "_sort");
	same_rows(db, "SELECT name AS name_json, seen_at AS x_at, r AS y_bool FROM t", NULL);
	sqlite3_close(db);
	return done_testing();
}
