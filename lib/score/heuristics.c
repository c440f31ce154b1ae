/* SPDX-License-Identifier: MIT */
/*
 * heuristics.c - known-bad process patterns, each with a documented
 * weight.  They read Velociraptor's Windows.System.Pslist and
 * Linux.Sys.Pslist columns (Name, Exe, CommandLine, Username,
 * Authenticode.Trusted, Deleted) and Sysmon-like fields (Image,
 * CommandLine, ParentImage), at the top level or under EventData, so a
 * process row and a process-creation event both work.
 *
 * A weight is the probability, on its own, that a row it fires on is
 * malicious; lib/score.c combines weights by noisy-OR, so two
 * independent weak signals add up without one rule having to shout.
 *
 * id    weight  title / rationale
 * H001  0.60    Encoded PowerShell command line
 *               -e/-enc/-EncodedCommand (any prefix, or -ec) with a base64
 *               argument hides the script from command-line logging; admins
 *               rarely need it, loaders (Emotet, Cobalt Strike) always do.
 * H002  0.60    LOLBin used to download or proxy-execute
 *               certutil -urlcache/-decode, mshta/rundll32 with a URL or
 *               javascript:, regsvr32 /i:http (Squiblydoo), bitsadmin
 *               /transfer, wmic process call create: signed Windows tools
 *               fetching or running a payload (MITRE T1105, T1218).
 * H003  0.70    Office application spawned a shell
 *               winword/excel/powerpnt/outlook/msaccess/mspub/onenote as the
 *               parent of cmd/powershell/pwsh/wscript/cscript/mshta is the
 *               macro and exploit-document pattern (T1566, T1204).  Needs a
 *               parent name (ParentImage/ParentName/Parent.Name/Parent.Exe).
 * H004  0.40    Untrusted or unsigned binary in a user-writable directory
 *               Authenticode untrusted/unsigned (or Signed false) for an
 *               image under \Temp\, \AppData\, \Users\Public\, \ProgramData\,
 *               /tmp/, /dev/shm/: where droppers put payloads; weak alone
 *               because per-user installers (VS Code, Teams) live there too.
 * H005  0.50    Process whose executable was deleted
 *               Exe ending " (deleted)" or Deleted true: Linux malware runs
 *               and removes itself; package upgrades do it too (hence 0.5).
 * H006  0.50    Process running from /tmp, /var/tmp or /dev/shm
 *               World-writable, often noexec-less tmpfs: the usual place
 *               for cryptominers and webshell second stages.
 * H007  0.45    Service host spawned a shell
 *               services.exe, svchost.exe or wmiprvse.exe as the parent of
 *               a shell: PsExec-style services, WMI lateral movement; the
 *               task scheduler does it legitimately too (hence below 0.5).
 * H008  0.60    Double file extension
 *               invoice.pdf.exe: a document extension before an executable
 *               one, made to fool a user with hidden extensions (T1036.007).
 * H009  0.70    System binary name outside System32
 *               svchost/lsass/csrss/services/smss/wininit/winlogon.exe only
 *               ever run from C:\Windows\System32 (svchost also SysWOW64);
 *               elsewhere it is masquerading (T1036.005).
 * H010  0.50    System utility copied to a user-writable directory
 *               cmd, powershell, certutil, mshta, rundll32, regsvr32, ...
 *               run from \Temp\, \AppData\, \Users\Public\ or /tmp/: copied
 *               (often renamed later) to dodge path-based rules.
 * H011  0.50    Lookalike of a system binary name
 *               One letter off a core Windows process name (scvhost.exe,
 *               lsas.exe, expl0rer.exe): typosquatting (T1036.004).
 *
 * The near-miss cases each rule must not fire on are in
 * tests/unit/t_heuristics.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "score/signals.h"

#define MAX_CMD 8192    /* command lines longer than this are cut, not skipped */

static const struct vc_heuristic_info table[] = {
	{ "H001", "Encoded PowerShell command line", 0.60,
	  "-EncodedCommand (or a prefix of it) with base64 hides the script from logging; loaders use it, admins rarely do" },
	{ "H002", "LOLBin used to download or proxy-execute", 0.60,
	  "certutil -urlcache/-decode, mshta/rundll32 with a URL or javascript:, regsvr32 /i:http, bitsadmin /transfer, wmic process call create fetch or run payloads with signed tools (T1105, T1218)" },
	{ "H003", "Office application spawned a shell", 0.70,
	  "an Office program starting cmd, PowerShell, wscript, cscript or mshta is the malicious-document pattern (T1566, T1204)" },
	{ "H004", "Untrusted or unsigned binary in a user-writable directory", 0.40,
	  "droppers put unsigned payloads in Temp, AppData, Users\\Public, ProgramData, /tmp; per-user installers live there too, so weak alone" },
	{ "H005", "Process whose executable was deleted", 0.50,
	  "malware on Linux runs and deletes itself; package upgrades leave deleted executables too" },
	{ "H006", "Process running from /tmp, /var/tmp or /dev/shm", 0.50,
	  "world-writable directories are where miners and second stages run from" },
	{ "H007", "Service host spawned a shell", 0.45,
	  "services.exe, svchost.exe or wmiprvse.exe starting a shell is PsExec or WMI lateral movement; scheduled tasks do it legitimately" },
	{ "H008", "Double file extension", 0.60,
	  "a document extension before an executable one (invoice.pdf.exe) fools users who hide extensions (T1036.007)" },
	{ "H009", "System binary name outside System32", 0.70,
	  "svchost, lsass, csrss, services, smss, wininit and winlogon only run from C:\\Windows\\System32; elsewhere it is masquerading (T1036.005)" },
	{ "H010", "System utility copied to a user-writable directory", 0.50,
	  "shells and LOLBins copied to Temp, AppData, Users\\Public or /tmp dodge path-based detection" },
	{ "H011", "Lookalike of a system binary name", 0.50,
	  "one letter off a core Windows process name (scvhost.exe, lsas.exe) is typosquatting (T1036.004)" },
};

#define NRULES (sizeof table / sizeof table[0])

const struct vc_heuristic_info *
vc_heuristics_table(size_t *n)
{
	if (n != NULL)
		*n = NRULES;
	return table;
}

/* ---- reading a row ---------------------------------------------------- */

/* Event-log shapes keep their fields one level down. */
static const char *const containers[] = { "", "EventData", "Event.EventData", NULL };

#define NBOX 3

/* The first keys of every name proc_load looks for. */
static const char *const comps[] = {
	"Exe", "Image", "NewProcessName", "Name", "ProcessName", "CommandLine", "Cmdline",
	"ParentImage", "ParentName", "Parent", "ParentProcessName", "Authenticode", "Signature",
	"Deleted", "Signed",
};
#define NCOMP (sizeof comps / sizeof comps[0])

/* Those keys' values in the row's containers (invalid: not there). */
struct boxes {
	jv val[NBOX][NCOMP];
};

/* Index of the first key of name in comps[] (its length in *len), or -1. */
static int
comp_of(const char *name, size_t *len)
{
	*len = strcspn(name, ".");
	for (size_t i = 0; i < NCOMP; i++)
		if (strncmp(comps[i], name, *len) == 0 && comps[i][*len] == '\0')
			return (int)i;
	return -1;
}

/* The row's containers, each walked once for the keys of comps[]. */
static void
boxes_of(jv row, struct boxes *bx)
{
	for (int c = 0; c < NBOX; c++) {
		jv box = c == 0 ? jv_copy(row) : vc_row_get(row, containers[c]);

		for (size_t i = 0; i < NCOMP; i++)
			bx->val[c][i] = jv_invalid();
		if (jv_get_kind(box) == JV_KIND_OBJECT)
			jv_object_foreach(box, k, v) {
				size_t len;
				int i = comp_of(jv_string_value(k), &len);

				if (i >= 0 && len == (size_t)jv_string_length_bytes(jv_copy(k))) {
					jv_free(bx->val[c][i]);
					bx->val[c][i] = v;
				} else
					jv_free(v);
				jv_free(k);
			}
		jv_free(box);
	}
}

static void
boxes_free(struct boxes *bx)
{
	for (int c = 0; c < NBOX; c++)
		for (size_t i = 0; i < NCOMP; i++)
			jv_free(bx->val[c][i]);
}

/*
 * The value at the first of names (in any container) that holds one: a
 * non-empty string when text, else anything but null.  *out gets it
 * (owned by the caller; invalid when none) and where the path it came
 * from.  Returns its kind.
 */
static jv_kind
find_field(const struct boxes *bx, const char *const *names, int text, jv *out, char *where, size_t wn)
{
	for (int c = 0; c < NBOX; c++) {
		for (int i = 0; names[i]; i++) {
			size_t len;
			int ci = comp_of(names[i], &len);
			jv v;

			if (ci < 0 || !jv_is_valid(bx->val[c][ci]))
				continue;
			v = jv_copy(bx->val[c][ci]);
			if (names[i][len] == '.') {
				jv sub = jv_get_kind(v) == JV_KIND_OBJECT ? vc_row_get(v, names[i] + len + 1) :
				    jv_invalid();

				jv_free(v);
				v = sub;
			}
			jv_kind k = jv_get_kind(v);
			if (text ? k == JV_KIND_STRING && jv_string_length_bytes(jv_copy(v)) > 0 :
			    k != JV_KIND_INVALID && k != JV_KIND_NULL) {
				*out = v;
				snprintf(where, wn, "%s%s%s", containers[c], c ? "." : "", names[i]);
				return k;
			}
			jv_free(v);
		}
	}
	*out = jv_invalid();
	return JV_KIND_INVALID;
}

/* The first non-empty string of names: its value lives in *hold. */
static const char *
str_of(const struct boxes *box, const char *const *names, jv *hold, char *where, size_t wn)
{
	if (find_field(box, names, 1, hold, where, wn) != JV_KIND_STRING)
		return NULL;
	return jv_string_value(*hold);
}

/* What the rules look at, gathered once per row. */
struct proc {
	const char *image, *name, *cmd, *parent, *trusted;
	char image_f[64], name_f[64], cmd_f[64], parent_f[64], trusted_f[64], deleted_f[64];
	int deleted;            /* Deleted true */
	int unsigned_bool;      /* Signed false */
	char base[256];         /* basename of image, else Name; lower case */
	char pbase[256];        /* basename of the parent; lower case */
	char lcmd[MAX_CMD];     /* the command line, lower case */
	jv hold[6];
};

static void
lower_base(const char *path, char *out, size_t n)
{
	const char *b = path, *s;
	size_t i;

	if (path == NULL) {
		out[0] = '\0';
		return;
	}
	for (s = path; *s; s++)
		if (*s == '\\' || *s == '/')
			b = s + 1;
	for (i = 0; b[i] && i + 1 < n; i++)
		out[i] = (char)tolower((unsigned char)b[i]);
	out[i] = '\0';
	/* Linux marks a deleted executable after its name. */
	if (i > 10 && strcmp(out + i - 10, " (deleted)") == 0)
		out[i - 10] = '\0';
}

static void
proc_load(struct proc *p, jv row)
{
	static const char *const image[] = { "Exe", "Image", "NewProcessName", NULL };
	static const char *const name[] = { "Name", "ProcessName", NULL };
	static const char *const cmd[] = { "CommandLine", "Cmdline", NULL };
	static const char *const parent[] = { "ParentImage", "ParentName", "Parent.Name", "Parent.Exe",
	    "ParentProcessName", NULL };
	static const char *const trusted[] = { "Authenticode.Trusted", "Signature", NULL };
	static const char *const deleted[] = { "Deleted", NULL };
	static const char *const signedf[] = { "Signed", NULL };
	char sf[64];
	struct boxes bx, *box = &bx;
	jv v;
	int k;

	memset(p, 0, sizeof *p);
	for (int i = 0; i < 6; i++)
		p->hold[i] = jv_invalid();
	boxes_of(row, &bx);
	p->image = str_of(box, image, &p->hold[0], p->image_f, sizeof p->image_f);
	p->name = str_of(box, name, &p->hold[1], p->name_f, sizeof p->name_f);
	p->cmd = str_of(box, cmd, &p->hold[2], p->cmd_f, sizeof p->cmd_f);
	p->parent = str_of(box, parent, &p->hold[3], p->parent_f, sizeof p->parent_f);
	p->trusted = str_of(box, trusted, &p->hold[4], p->trusted_f, sizeof p->trusted_f);
	k = find_field(box, deleted, 0, &v, p->deleted_f, sizeof p->deleted_f);
	p->deleted = k == JV_KIND_TRUE ||
	    (k == JV_KIND_STRING && strcasecmp(jv_string_value(v), "true") == 0);
	jv_free(v);
	k = find_field(box, signedf, 0, &v, sf, sizeof sf);
	p->unsigned_bool = k == JV_KIND_FALSE ||
	    (k == JV_KIND_STRING && strcasecmp(jv_string_value(v), "false") == 0);
	if (p->unsigned_bool && p->trusted == NULL) {
		p->trusted = "unsigned";
		snprintf(p->trusted_f, sizeof p->trusted_f, "%s", sf);
	}
	jv_free(v);
	boxes_free(&bx);
	lower_base(p->image ? p->image : p->name, p->base, sizeof p->base);
	lower_base(p->parent, p->pbase, sizeof p->pbase);
	if (p->cmd != NULL) {
		size_t i;
		for (i = 0; p->cmd[i] && i + 1 < sizeof p->lcmd; i++)
			p->lcmd[i] = (char)tolower((unsigned char)p->cmd[i]);
		p->lcmd[i] = '\0';
	}
}

static void
proc_release(struct proc *p)
{
	for (int i = 0; i < 6; i++)
		jv_free(p->hold[i]);
}

/* ---- matching helpers -------------------------------------------------- */

/* name equals one of list, with or without ".exe" on either side. */
static int
name_in(const char *name, const char *const *list)
{
	size_t n = strlen(name);

	if (n > 4 && strcmp(name + n - 4, ".exe") == 0)
		n -= 4;
	for (int i = 0; list[i]; i++) {
		size_t m = strlen(list[i]);
		if (m > 4 && strcmp(list[i] + m - 4, ".exe") == 0)
			m -= 4;
		if (n == m && strncmp(name, list[i], n) == 0)
			return 1;
	}
	return 0;
}

static int
has(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

int
vc_path_user_writable(const char *path)
{
	static const char *const win[] = { "\\temp\\", "\\tmp\\", "\\appdata\\", "\\users\\public\\",
	    "\\programdata\\", "\\windows\\tasks\\", "\\$recycle.bin\\", NULL };
	static const char *const nix[] = { "/tmp/", "/var/tmp/", "/dev/shm/", NULL };

	if (path == NULL || *path == '\0')
		return 0;
	for (int i = 0; nix[i]; i++)
		if (strncmp(path, nix[i], strlen(nix[i])) == 0)
			return 1;
	for (int i = 0; win[i]; i++)
		if (strcasestr(path, win[i]) != NULL)
			return 1;
	return 0;
}

static int
is_b64(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '/' && s[i] != '=')
			return 0;
	return 1;
}

int
vc_cmdline_encoded(const char *cmdline)
{
	char buf[MAX_CMD];
	const char *s = buf;
	int ps = 0, want = 0;
	size_t i;

	if (cmdline == NULL)
		return 0;
	for (i = 0; cmdline[i] && i + 1 < sizeof buf; i++)
		buf[i] = (char)tolower((unsigned char)cmdline[i]);
	buf[i] = '\0';
	if (strstr(buf, "powershell") == NULL && strstr(buf, "pwsh") == NULL)
		return 0;
	/* Walk the arguments; quotes group, as the shell would. */
	while (*s) {
		const char *t, *e;
		size_t n;
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		if (*s == '"' || *s == '\'') {
			char q = *s++;
			t = s;
			e = strchr(s, q);
			if (e == NULL)
				e = s + strlen(s);
			s = *e ? e + 1 : e;
		} else {
			t = s;
			e = s + strcspn(s, " \t\r\n");
			s = e;
		}
		n = (size_t)(e - t);
		if (memmem(t, n, "powershell", 10) != NULL || memmem(t, n, "pwsh", 4) != NULL)
			ps = 1;
		if (want) {
			if (n >= 16 && is_b64(t, n))
				return 1;
			want = 0;
		}
		/* -e, -en, ..., -encodedcommand, -ec; PowerShell takes '/' too. */
		if (ps && n >= 2 && (t[0] == '-' || t[0] == '/')) {
			size_t fl = n - 1;
			if ((fl <= 14 && strncmp(t + 1, "encodedcommand", fl) == 0) ||
			    (fl == 2 && strncmp(t + 1, "ec", 2) == 0))
				want = 1;
		}
	}
	return 0;
}

static void
ev_add(jv *ev, const char *field, const char *value)
{
	*ev = jv_array_append(*ev, JV_OBJECT(jv_string("field"), jv_string(field),
	    jv_string("value"), jv_string(value)));
}

/* ---- the rules ------------------------------------------------------- */

static const char *const shells[] = { "cmd.exe", "powershell.exe", "pwsh.exe", "wscript.exe",
    "cscript.exe", "mshta.exe", NULL };

/* A shell started by one of parents (h003, h007): the parent and the shell are the evidence. */
static int
shell_of(const struct proc *p, const char *const *parents, jv *ev)
{
	if (p->parent == NULL || !name_in(p->pbase, parents) || !name_in(p->base, shells))
		return 0;
	ev_add(ev, p->parent_f, p->parent);
	ev_add(ev, p->image ? p->image_f : p->name_f, p->image ? p->image : p->name);
	return 1;
}

static int
h001(const struct proc *p, jv *ev)
{
	if (!vc_cmdline_encoded(p->cmd))
		return 0;
	ev_add(ev, p->cmd_f, p->cmd);
	return 1;
}

/* A LOLBin named in the command line or as the image. */
static int
uses(const struct proc *p, const char *tool)
{
	char exe[64];

	snprintf(exe, sizeof exe, "%s.exe", tool);
	return strcmp(p->base, exe) == 0 || has(p->lcmd, tool);
}

static int
any_flag(const char *lcmd, const char *flag)
{
	char a[64], b[64];

	snprintf(a, sizeof a, "-%s", flag);
	snprintf(b, sizeof b, "/%s", flag);
	return has(lcmd, a) || has(lcmd, b);
}

static int
h002(const struct proc *p, jv *ev)
{
	const char *c = p->lcmd;
	int url = has(c, "http://") || has(c, "https://") || has(c, "ftp://");
	int script = has(c, "javascript:") || has(c, "vbscript:");
	int fire = 0;

	if (p->cmd == NULL)
		return 0;
	if (uses(p, "certutil") && (any_flag(c, "urlcache") || any_flag(c, "decode")))
		fire = 1;
	else if (uses(p, "mshta") && (url || script))
		fire = 1;
	else if (uses(p, "regsvr32") && (has(c, "/i:http") || has(c, "-i:http") || has(c, "/i:ftp")))
		fire = 1;
	else if (uses(p, "rundll32") && (url || script))
		fire = 1;
	else if (uses(p, "bitsadmin") && (any_flag(c, "transfer") || any_flag(c, "addfile")))
		fire = 1;
	else if (uses(p, "wmic") && has(c, "process") && has(c, "call") && has(c, "create"))
		fire = 1;
	if (fire)
		ev_add(ev, p->cmd_f, p->cmd);
	return fire;
}

static int
h003(const struct proc *p, jv *ev)
{
	static const char *const office[] = { "winword.exe", "excel.exe", "powerpnt.exe",
	    "outlook.exe", "msaccess.exe", "mspub.exe", "onenote.exe", NULL };

	return shell_of(p, office, ev);
}

static int
h004(const struct proc *p, jv *ev)
{
	const char *t = p->trusted;

	if (t == NULL || p->image == NULL || !vc_path_user_writable(p->image))
		return 0;
	if (strcasecmp(t, "untrusted") && strcasecmp(t, "unsigned") && strcasecmp(t, "not signed") &&
	    strcasecmp(t, "notsigned") && strcasecmp(t, "false"))
		return 0;
	ev_add(ev, p->image_f, p->image);
	ev_add(ev, p->trusted_f, t);
	return 1;
}

static int
h005(const struct proc *p, jv *ev)
{
	size_t n = p->image ? strlen(p->image) : 0;

	if (n > 10 && strcmp(p->image + n - 10, " (deleted)") == 0) {
		ev_add(ev, p->image_f, p->image);
		return 1;
	}
	if (p->deleted) {
		*ev = jv_array_append(*ev, JV_OBJECT(jv_string("field"), jv_string(p->deleted_f),
		    jv_string("value"), jv_true()));
		if (p->image)
			ev_add(ev, p->image_f, p->image);
		return 1;
	}
	return 0;
}

static int
h006(const struct proc *p, jv *ev)
{
	const char *e = p->image;

	if (e == NULL || (strncmp(e, "/tmp/", 5) && strncmp(e, "/var/tmp/", 9) && strncmp(e, "/dev/shm/", 9)))
		return 0;
	ev_add(ev, p->image_f, e);
	return 1;
}

static int
h007(const struct proc *p, jv *ev)
{
	static const char *const hosts[] = { "services.exe", "svchost.exe", "wmiprvse.exe", NULL };

	return shell_of(p, hosts, ev);
}

static int
h008(const struct proc *p, jv *ev)
{
	static const char *const docs[] = { "pdf", "doc", "docx", "docm", "xls", "xlsx", "xlsm", "ppt",
	    "pptx", "rtf", "txt", "csv", "jpg", "jpeg", "png", "gif", "zip", "rar", "htm", "html", "mp3",
	    "mp4", "odt", NULL };
	static const char *const exes[] = { "exe", "scr", "com", "pif", "bat", "cmd", "js", "jse", "vbs",
	    "vbe", "hta", "lnk", "ps1", "wsf", "msi", NULL };
	const char *b = p->base, *last = strrchr(b, '.'), *prev;
	char inner[16];
	size_t n;
	int hit = 0;

	if (last == NULL || last == b)
		return 0;
	for (int i = 0; exes[i]; i++)
		if (strcmp(last + 1, exes[i]) == 0)
			hit = 1;
	if (!hit)
		return 0;
	/* Spaces before the real extension push it out of view. */
	for (prev = last; prev > b && prev[-1] == ' '; prev--)
		;
	n = (size_t)(prev - b);
	for (prev = b + n; prev > b && prev[-1] != '.'; prev--)
		;
	if (prev == b || (size_t)(b + n - prev) >= sizeof inner)
		return 0;
	snprintf(inner, sizeof inner, "%.*s", (int)(b + n - prev), prev);
	for (int i = 0; docs[i]; i++)
		if (strcmp(inner, docs[i]) == 0) {
			const char *src = p->image ? p->image : p->name;
			ev_add(ev, p->image ? p->image_f : p->name_f, src);
			return 1;
		}
	return 0;
}

/*
 * The image path with the NT and environment spellings of the system
 * root (\??\, \\?\, \SystemRoot\, %SystemRoot%, \Device\HarddiskVolumeN) made
 * into C:\Windows, so
 * that a real csrss.exe is not taken for a fake one.
 */
static void
norm_path(const char *in, char *out, size_t n)
{
	if (strncmp(in, "\\??\\", 4) == 0 || strncmp(in, "\\\\?\\", 4) == 0)
		in += 4;
	/* \Device\HarddiskVolume3\Windows\...: the kernel's name of a drive. */
	if (strncasecmp(in, "\\Device\\HarddiskVolume", 22) == 0 && strchr(in + 22, '\\') != NULL) {
		snprintf(out, n, "C:%s", strchr(in + 22, '\\'));
		return;
	}
	if (strncasecmp(in, "\\SystemRoot\\", 12) == 0)
		snprintf(out, n, "C:\\Windows\\%s", in + 12);
	else if (strncasecmp(in, "%SystemRoot%\\", 13) == 0)
		snprintf(out, n, "C:\\Windows\\%s", in + 13);
	else if (strncasecmp(in, "%windir%\\", 9) == 0)
		snprintf(out, n, "C:\\Windows\\%s", in + 9);
	else
		snprintf(out, n, "%s", in);
}

static int
h009(const struct proc *p, jv *ev)
{
	static const char *const core[] = { "svchost.exe", "lsass.exe", "csrss.exe", "services.exe",
	    "smss.exe", "wininit.exe", "winlogon.exe", NULL };
	char path[1024];
	const char *dir = "c:\\windows\\system32\\";

	/* Only a full path can be judged: Pslist leaves Exe empty when access is denied. */
	if (p->image == NULL || !name_in(p->base, core))
		return 0;
	norm_path(p->image, path, sizeof path);
	if (!(isalpha((unsigned char)path[0]) && path[1] == ':') && path[0] != '\\')
		return 0;
	if (strncasecmp(path, dir, strlen(dir)) == 0 && strchr(path + strlen(dir), '\\') == NULL)
		return 0;
	if (strcmp(p->base, "svchost.exe") == 0 &&
	    strncasecmp(path, "c:\\windows\\syswow64\\", 20) == 0 && strchr(path + 20, '\\') == NULL)
		return 0;
	ev_add(ev, p->image_f, p->image);
	return 1;
}

static int
h010(const struct proc *p, jv *ev)
{
	static const char *const tools[] = { "cmd.exe", "powershell.exe", "pwsh.exe", "certutil.exe",
	    "mshta.exe", "rundll32.exe", "regsvr32.exe", "bitsadmin.exe", "wmic.exe", "cscript.exe",
	    "wscript.exe", "msbuild.exe", "installutil.exe", "regasm.exe", "regsvcs.exe", NULL };

	if (p->image == NULL || !name_in(p->base, tools) || !vc_path_user_writable(p->image))
		return 0;
	ev_add(ev, p->image_f, p->image);
	return 1;
}

/* Damerau-Levenshtein distance of at most one (one edit or swap). */
static int
one_off(const char *a, size_t la, const char *b, size_t lb)
{
	size_t i = 0;

	if (la > lb + 1 || lb > la + 1)
		return 0;
	while (i < la && i < lb && a[i] == b[i])
		i++;
	if (i == la && i == lb)
		return 0;       /* equal */
	if (la == lb) {
		if (strncmp(a + i + 1, b + i + 1, la - i - 1) == 0)
			return 1;       /* substitution */
		return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] &&
		    strncmp(a + i + 2, b + i + 2, la - i - 2) == 0;
	}
	if (la > lb)
		return strncmp(a + i + 1, b + i, lb - i) == 0;
	return strncmp(a + i, b + i + 1, la - i) == 0;
}

static int
h011(const struct proc *p, jv *ev)
{
	static const char *const core[] = { "svchost", "lsass", "csrss", "wininit", "winlogon",
	    "explorer", "spoolsv", "rundll32", "taskhostw", NULL };
	/* Real Windows names one letter off a core one. */
	static const char *const real[] = { "taskhost", "lsaiso", NULL };
	char stem[256];
	size_t n;

	snprintf(stem, sizeof stem, "%s", p->base);
	n = strlen(stem);
	if (n <= 4 || strcmp(stem + n - 4, ".exe") != 0)
		return 0;
	stem[n -= 4] = '\0';
	for (int i = 0; real[i]; i++)
		if (strcmp(stem, real[i]) == 0)
			return 0;
	for (int i = 0; core[i]; i++)
		if (one_off(stem, n, core[i], strlen(core[i]))) {
			const char *src = p->image ? p->image : p->name;
			ev_add(ev, p->image ? p->image_f : p->name_f, src);
			return 1;
		}
	return 0;
}

static int (*const rules[])(const struct proc *, jv *) = {
	h001, h002, h003, h004, h005, h006, h007, h008, h009, h010, h011,
};

_Static_assert(sizeof rules / sizeof rules[0] == NRULES, "one function per table entry");

int
vc_heuristics(jv row, jv *hits)
{
	struct proc *p;
	int n = 0;

	if (jv_get_kind(row) != JV_KIND_OBJECT)
		return 0;
	/* The command line copy is large: keep it off small thread stacks. */
	if ((p = malloc(sizeof *p)) == NULL)
		return 0;
	proc_load(p, row);
	if (p->image != NULL || p->name != NULL || p->cmd != NULL) {
		for (size_t i = 0; i < NRULES; i++) {
			jv ev = jv_array();
			if (!rules[i](p, &ev)) {
				jv_free(ev);
				continue;
			}
			if (!jv_is_valid(*hits))
				*hits = jv_array();
			*hits = jv_array_append(*hits, JV_OBJECT(
			    jv_string("kind"), jv_string("heuristic"),
			    jv_string("id"), jv_string(table[i].id),
			    jv_string("title"), jv_string(table[i].title),
			    jv_string("weight"), jv_number(table[i].weight),
			    jv_string("evidence"), ev));
			n++;
		}
	}
	proc_release(p);
	free(p);
	return n;
}
