#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""anchor.py - the comparison point for bench/http/run: the host search of
the Python original, rebuilt on its stack (FastAPI, uvicorn with uvloop and
httptools, SQLite), so that both servers answer the same request over the
same 100,000 hosts in one sitting.

  anchor.py load DB HOSTS.jsonl   the hosts of bench/gen.py into DB
  anchor.py token DB              a JWT (HS256) for the bench user
  anchor.py serve DB PORT [WORKERS]

GET /api/hosts does what a FastAPI endpoint of that kind does: decode and
check the bearer JWT, load the user it names, then one COUNT and one page
of hosts of the user's tenant filtered by hostname substring and os,
sorted, as JSON.  GET /health answers {"status":"ok"}.  Needs Debian's
python3-fastapi, python3-uvicorn, python3-uvloop, python3-httptools and
python3-jwt (bench/install-deps.sh)."""
import json, os, sqlite3, sys, threading, time

SECRET = "anchor benchmark signing key, not a secret"
SORTS = {"hostname": "hostname", "last_seen": "last_seen_at", "os": "os", "ip": "ip"}

SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL,
    tenant_id INTEGER NOT NULL, role TEXT NOT NULL, is_active INTEGER NOT NULL);
CREATE TABLE hosts (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL,
    client_id TEXT, hostname TEXT NOT NULL, fqdn TEXT, ip TEXT, os TEXT,
    os_version TEXT, labels TEXT, first_seen_at INTEGER, last_seen_at INTEGER);
CREATE INDEX hosts_tenant_hostname ON hosts (tenant_id, hostname);
CREATE INDEX hosts_tenant_os ON hosts (tenant_id, os);
CREATE INDEX hosts_tenant_seen ON hosts (tenant_id, last_seen_at);
"""


def load(db, path):
    con = sqlite3.connect(db)
    con.executescript(SCHEMA)
    con.execute("INSERT INTO users VALUES (1, 'bench', 1, 'admin', 1)")
    rows = []
    with open(path) as f:
        for line in f:
            h = json.loads(line)
            oi = h.get("os_info", {})
            rows.append((h.get("client_id"), oi.get("hostname"), oi.get("fqdn"),
                         h.get("last_ip"), oi.get("system"), oi.get("release"),
                         json.dumps(h.get("labels", [])), h.get("first_seen_at"),
                         h.get("last_seen_at", 0) // 1000000))
    con.executemany("INSERT INTO hosts (tenant_id, client_id, hostname, fqdn, ip, os,"
                    " os_version, labels, first_seen_at, last_seen_at)"
                    " VALUES (1,?,?,?,?,?,?,?,?,?)", rows)
    con.commit()
    con.execute("ANALYZE")
    con.close()


def token():
    import jwt
    now = int(time.time())
    return jwt.encode({"sub": "1", "iat": now, "exp": now + 3600}, SECRET, algorithm="HS256")


def app_for(db):
    import jwt
    from fastapi import Depends, FastAPI, HTTPException, Query
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

    app = FastAPI()
    bearer = HTTPBearer()
    local = threading.local()

    def conn():
        c = getattr(local, "c", None)
        if c is None:
            c = local.c = sqlite3.connect(db, check_same_thread=False)
            c.row_factory = sqlite3.Row
        return c

    def current_user(cred: HTTPAuthorizationCredentials = Depends(bearer)):
        try:
            claims = jwt.decode(cred.credentials, SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise HTTPException(status_code=401, detail="invalid token")
        u = conn().execute("SELECT * FROM users WHERE id = ?", (int(claims["sub"]),)).fetchone()
        if u is None or not u["is_active"]:
            raise HTTPException(status_code=401, detail="invalid token")
        return dict(u)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/api/hosts")
    def hosts(hostname: str = None, os: str = None, sort: str = "hostname",
              order: str = "asc", limit: int = Query(50, le=1000), offset: int = 0,
              user: dict = Depends(current_user)):
        if sort not in SORTS or order not in ("asc", "desc"):
            raise HTTPException(status_code=422, detail="bad sort")
        where, args = ["tenant_id = ?"], [user["tenant_id"]]
        if hostname:
            where.append("hostname LIKE ?")
            args.append("%" + hostname + "%")
        if os:
            where.append("os = ?")
            args.append(os)
        w = " AND ".join(where)
        c = conn()
        total = c.execute("SELECT COUNT(*) FROM hosts WHERE " + w, args).fetchone()[0]
        rows = c.execute("SELECT * FROM hosts WHERE %s ORDER BY %s %s LIMIT ? OFFSET ?"
                         % (w, SORTS[sort], order), args + [limit, offset]).fetchall()
        items = []
        for r in rows:
            d = dict(r)
            d["labels"] = json.loads(d["labels"] or "[]")
            items.append(d)
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    return app


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "load":
        load(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "token":
        print(token())
    elif len(sys.argv) >= 4 and sys.argv[1] == "serve":
        import uvicorn
        workers = int(sys.argv[4]) if len(sys.argv) > 4 else 1
        os.environ["ANCHOR_DB"] = sys.argv[2]
        uvicorn.run("anchor:make_app", factory=True, host="127.0.0.1",
                    port=int(sys.argv[3]), workers=workers, loop="uvloop",
                    http="httptools", log_level="warning", access_log=False,
                    app_dir=os.path.dirname(os.path.abspath(__file__)))
    else:
        sys.exit(__doc__)


def make_app():
    return app_for(os.environ["ANCHOR_DB"])


if __name__ == "__main__":
    main()
