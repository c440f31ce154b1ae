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
import base64
import json
import multiprocessing as mp
import os
import sqlite3
import sys
import time
import urllib.parse

import websockets

URL, TOKEN, DB, N, K = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
P = int(sys.argv[6]) if len(sys.argv) > 6 else 1
RAW = len(sys.argv) > 7 and sys.argv[7] == "raw"


class Raw(asyncio.Protocol):
    """One client: the upgrade, the token, then each text frame's
    arrival time and title."""

    def __init__(self, arrivals, ready, done):
        self.buf, self.up, self.authed, self.got = b"", False, False, 0
        self.arrivals, self.ready, self.done = arrivals, ready, done

    def connection_made(self, tr):
        u = urllib.parse.urlsplit(URL)
        self.tr = tr
        key = base64.b64encode(os.urandom(16)).decode()
        tr.write(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                  % (u.path, u.netloc, key)).encode())

    def send_text(self, text):
        data, mask = text.encode(), os.urandom(4)
        n = len(data)
        head = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0xfe, n >> 8, n & 0xff])
        self.tr.write(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def data_received(self, data):
        now = time.time()
        self.buf += data
        if not self.up:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self.up, self.buf = True, self.buf[end + 4:]
            self.send_text(json.dumps({"token": TOKEN}))
        while len(self.buf) >= 2:
            n, h = self.buf[1] & 0x7f, 2
            if n == 126:
                if len(self.buf) < 4:
                    return
                n, h = int.from_bytes(self.buf[2:4], "big"), 4
            if len(self.buf) < h + n:
                return
            op, payload, self.buf = self.buf[0] & 0x0f, self.buf[h:h + n], self.buf[h + n:]
            if op != 1:
                continue
            m = json.loads(payload)
            if m.get("type") == "authenticated":
                self.ready.release()
            elif m.get("type") == "notification":
                self.arrivals.append((m["title"], now))
                self.got += 1
                if self.got == K:
                    self.tr.close()
                    self.done.set_result(None)


async def raw_client(arrivals, ready):
    loop = asyncio.get_running_loop()
    u = urllib.parse.urlsplit(URL)
    done = loop.create_future()
    await loop.create_connection(lambda: Raw(arrivals, ready, done), u.hostname, u.port)
    await done


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
    tasks = [asyncio.create_task((raw_client if RAW else client)(arrivals, ready)) for _ in range(n)]
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
    print(json.dumps({"clients": N, "client_processes": P, "client": "raw" if RAW else "websockets",
                      "broadcasts": K,
                      "deliveries": len(lat), "connect_and_auth_s": round(t_conn, 2),
                      "p50_ms": q(0.50), "p99_ms": q(0.99), "max_ms": round(lat[-1] * 1000, 1)}))


main()
