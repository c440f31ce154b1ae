#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""gen.py - deterministic benchmark data in Velociraptor's shapes.

  gen.py pslist N [CLIENTS]   hunt_results() rows of Windows.System.Pslist
                              (with FlowId, ClientId, _OrgId, Fqdn)
  gen.py hosts N              clients() rows (os_info, last_seen_at in µs)
  gen.py fleet N              clients() rows of a varied fleet: names by
                              department and site (fin-ws00042, emea ...)

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
    if len(sys.argv) < 3 or sys.argv[1] not in ("pslist", "hosts", "fleet"):
        sys.exit(__doc__)
    if sys.argv[1] == "pslist":
        pslist(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1000)
    elif sys.argv[1] == "fleet":
        fleet(int(sys.argv[2]))
    else:
        hosts(int(sys.argv[2]))
