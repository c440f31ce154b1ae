#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# ws-broadcast.py - N WebSocket clients of vc-serve's notification push
# (GET /api/notifications/ws), spread over P client processes, each
# authenticated; then K role-wide notifications written by another
# process (sqlite3, one commit each, 0.5 s apart), and the time from each
# commit to its arrival at every client: p50, p99, max.  Prints one JSON
# object.
#   ws-broadcast.py URL TOKEN DB N K [P]
# Needs Debian's python3-websockets; vc-serve must allow N connections
# from one address (--max-conns-per-ip) and the descriptors for them.
import asyncio
import json
import multiprocessing as mp
import sqlite3
import sys
import time

import websockets

URL, TOKEN, DB, N, K = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
P = int(sys.argv[6]) if len(sys.argv) > 6 else 1


async def client(arrivals, ready):
    ws = await websockets.connect(URL, ping_interval=None, max_size=None, open_timeout=60)
    await ws.send(json.dumps({"token": TOKEN}))
    json.loads(await ws.recv())         # authenticated
    ready.release()
    got = 0
    while got < K:
        m = json.loads(await ws.recv())
        if m.get("type") == "notification":
            arrivals.append((m["title"], time.time()))
            got += 1
    await ws.close()


async def clients(n, up, results):
    arrivals, ready = [], asyncio.Semaphore(0)
    tasks = [asyncio.create_task(client(arrivals, ready)) for _ in range(n)]
    for _ in range(n):
        await ready.acquire()
    up.put(n)
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=300)
    results.put(arrivals)


def proc(n, up, results):
    asyncio.run(clients(n, up, results))


def main():
    up, results = mp.Queue(), mp.Queue()
    t0 = time.time()
    procs = [mp.Process(target=proc, args=(N // P + (i < N % P), up, results)) for i in range(P)]
    for p in procs:
        p.start()
    for _ in procs:
        up.get()
    t_conn = time.time() - t0
    db = sqlite3.connect(DB, timeout=10)
    tid = db.execute("SELECT tenant_id FROM users WHERE role = 'superadmin'").fetchone()[0]
    sent = {}
    for i in range(K):
        title = "bench %d %f" % (i, t0)
        db.execute("INSERT INTO notifications (tenant_id, target, min_role, title, body, created_at)"
                   " VALUES (?, 'role:viewer', 1, ?, '', strftime('%s','now'))", (tid, title))
        db.commit()
        sent[title] = time.time()
        time.sleep(0.5)
    lat = []
    for _ in procs:
        lat += [t - sent[title] for title, t in results.get() if title in sent]
    for p in procs:
        p.join()
    lat.sort()
    q = lambda f: round(lat[min(len(lat) - 1, int(f * len(lat)))] * 1000, 1)
    print(json.dumps({"clients": N, "client_processes": P, "broadcasts": K,
                      "deliveries": len(lat), "connect_and_auth_s": round(t_conn, 2),
                      "p50_ms": q(0.50), "p99_ms": q(0.99), "max_ms": round(lat[-1] * 1000, 1)}))


main()
