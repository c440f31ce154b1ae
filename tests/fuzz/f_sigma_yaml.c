/* SPDX-License-Identifier: MIT */
/*
 * f_sigma_yaml.c - the Sigma rule loader (YAML to jv, then the compiler)
 * on any text, through vc_sigma_load_string (the loader vc_sigma_load
 * runs on each file), and the loaded set matched against two fixed
 * events: a flat Sysmon process creation and the same in parse_evtx's
 * nested shape.
 *
 * Invariants: loading text never fails (a bad rule is a problem, not an
 * error); every document becomes a rule or a problem, and each problem
 * names the file and says why; matching returns as many hits as it
 * appends, each a whole indicator of a loaded rule; the prefilter index
 * changes nothing (the same hits with it off); the index statistics add
 * up.  The built-in field map is loaded once and kept.
 */
#include <string.h>

#include "sigma/sigma.h"
#include "fuzz.h"

static const char *const events[] = {
	"{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\","
	"\"Provider_Name\":\"Microsoft-Windows-Sysmon\",\"Computer\":\"WS01.corp.example.com\","
	"\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\"OriginalFileName\":\"Cmd.Exe\","
	"\"CommandLine\":\"cmd.exe /c set x=invoke&&set y=1&& whoami /all \\\"\","
	"\"ParentImage\":\"C:\\\\Windows\\\\explorer.exe\",\"User\":\"CORP\\\\bob\","
	"\"IntegrityLevel\":\"High\",\"Hashes\":\"SHA256=0123456789ABCDEF,IMPHASH=FEDCBA\","
	"\"ProcessId\":4017,\"Initiated\":\"true\",\"SourcePort\":3389,"
	"\"DestinationIp\":\"127.0.0.1\",\"DestinationPort\":443,\"Tags\":[\"a\",\"b\",null],"
	"\"TargetFilename\":\"C:\\\\Users\\\\bob\\\\AppData\\\\Local\\\\Temp\\\\x.ps1\","
	"\"ScriptBlockText\":\"SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA\",\"Empty\":\"\",\"Null\":null}",
	"{\"System\":{\"Provider\":{\"Name\":\"Microsoft-Windows-Sysmon\"},\"EventID\":{\"Value\":1},"
	"\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Computer\":\"WS01\"},"
	"\"EventData\":{\"Image\":\"C:\\\\Windows\\\\System32\\\\WindowsPowerShell\\\\v1.0\\\\powershell.exe\","
	"\"CommandLine\":\"powershell -enc SQBFAFgA -nop -w hidden\",\"ParentImage\":"
	"\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\"User\":\"NT AUTHORITY\\\\SYSTEM\"}}",
};

static struct vc_sigma_map *map;
static jv ev[2];

static void
setup(void)
{
	vc_ctx ctx;

	vc_ctx_init(&ctx);
	if (vc_sigma_map_load(&ctx, NULL, &map) != VC_EOK)
		abort();
	for (int i = 0; i < 2; i++) {
		ev[i] = jv_parse(events[i]);
		if (!jv_is_valid(ev[i]))
			abort();
	}
	vc_ctx_release(&ctx);
}

static void
check_hit(jv h)
{
	jv k = jv_object_get(jv_copy(h), jv_string("kind"));
	jv e = jv_object_get(jv_copy(h), jv_string("evidence"));

	check(jv_get_kind(h) == JV_KIND_OBJECT);
	check(jv_get_kind(k) == JV_KIND_STRING && strcmp(jv_string_value(k), "sigma") == 0);
	check(jv_get_kind(e) == JV_KIND_ARRAY);
	jv_free(k);
	jv_free(e);
	jv_free(h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_sigma_set *set = NULL;
	struct vc_sigma_stats st;
	jv problems = jv_invalid();
	vc_ctx ctx;
	int rc, nrules, nprob;

	if (map == NULL)
		setup();
	vc_ctx_init(&ctx);
	rc = vc_sigma_load_string(&ctx, "fuzz.yml", (const char *)data, size, map, &set, &problems);
	check(rc == VC_EOK && set != NULL);
	check(jv_get_kind(problems) == JV_KIND_ARRAY);
	nrules = vc_sigma_count(set);
	nprob = jv_array_length(jv_copy(problems));
	check(nrules >= 0 && nrules + nprob >= 1);
	jv_array_foreach(problems, i, p) {
		jv file = jv_object_get(jv_copy(p), jv_string("file"));
		jv why = jv_object_get(jv_copy(p), jv_string("reason"));

		check(jv_get_kind(file) == JV_KIND_STRING && strcmp(jv_string_value(file), "fuzz.yml") == 0);
		check(jv_get_kind(why) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(why)) > 0);
		jv_free(file);
		jv_free(why);
		jv_free(p);
		(void)i;
	}
	vc_sigma_stats(set, &st);
	check(st.rules == nrules && st.indexed + st.always == st.rules);

	for (int i = 0; i < 2; i++) {
		jv on = jv_invalid(), off = jv_invalid();
		int a, b;

		vc_sigma_set_index(set, 1);
		a = vc_sigma_match(set, ev[i], &on);
		vc_sigma_set_index(set, 0);
		b = vc_sigma_match(set, ev[i], &off);
		check(a >= 0 && a <= nrules && a == b);
		if (a > 0) {
			check(jv_array_length(jv_copy(on)) == a);
			jv_array_foreach(on, j, h) {
				check_hit(h);
				(void)j;
			}
			check(jv_equal(jv_copy(on), jv_copy(off)));
		}
		jv_free(on);
		jv_free(off);
	}
	vc_sigma_free(set);
	jv_free(problems);
	vc_ctx_release(&ctx);
	return 0;
}
