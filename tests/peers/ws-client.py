#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# ws-client.py - a WebSocket client for the tests of vc-serve's
# notification push (tests/cli/61-notify-ws.t), on Debian's
# python3-websockets.  Prints one JSON object per line on stdout, flushed:
# each message received, then {"closed": CODE, "reason": TEXT} or
# {"refused": HTTP_STATUS}, or {"timeout": true}.
#
#   ws-client.py URL listen [--token T] [--since N] [--origin O] [--count N]
#                           [--wait S] [--raw-first TEXT] [--big N]
#   ws-client.py URL slow --token T       a reader that never reads
#   ws-client.py - mint KEYFILE TOKEN SECONDS
#       TOKEN again, signed with the store's key file as vc-auth signs
#       (HS256, the key derived by libsodium's crypto_kdf from the newest
#       key with context "vcjwt___"), but expiring SECONDS from now
#
# listen sends {"token": T, "since": N} first (unless --raw-first, which
# sends TEXT instead, or no --token), prints what comes until N
# notifications arrived (then closes normally), the server closes, or S
# seconds pass.  --big N sends an N-byte text message after the token.
import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import time
import urllib.parse

import websockets


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def listen(url, opts):
    t0 = time.monotonic()
    try:
        ws = await websockets.connect(url, origin=opts.get("origin"), max_size=None,
                                      ping_interval=None, open_timeout=10)
    except websockets.exceptions.InvalidStatusCode as e:
        out({"refused": e.status_code})
        return
    count = int(opts.get("count", "0"))
    got = 0
    if "raw-first" in opts:
        await ws.send(opts["raw-first"])
    elif "token" in opts:
        first = {"token": opts["token"]}
        if "since" in opts:
            first["since"] = int(opts["since"])
        await ws.send(json.dumps(first))
    if "big" in opts:
        await ws.send("x" * int(opts["big"]))
    try:
        while True:
            left = float(opts.get("wait", "10")) - (time.monotonic() - t0)
            msg = await asyncio.wait_for(ws.recv(), timeout=max(left, 0.01))
            m = json.loads(msg)
            m["_ms"] = int((time.monotonic() - t0) * 1000)
            m["_t"] = int(time.time() * 1000)
            out(m)
            if m.get("type") == "notification":
                got += 1
                if count and got >= count:
                    await ws.close()
                    out({"closed": 1000, "reason": "client done"})
                    return
    except websockets.exceptions.ConnectionClosed as e:
        out({"closed": e.rcvd.code if e.rcvd else None, "reason": e.rcvd.reason if e.rcvd else "",
             "_ms": int((time.monotonic() - t0) * 1000)})
    except asyncio.TimeoutError:
        out({"timeout": True})
        await ws.close()


def slow(url, opts):
    # By hand, with a tiny receive buffer, so that the server's queue fills.
    u = urllib.parse.urlsplit(url)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    s.connect((u.hostname, u.port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (u.path, u.netloc, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    data = json.dumps({"token": opts["token"]}).encode()
    mask = os.urandom(4)
    hdr = bytes([0x81]) + (bytes([0x80 | len(data)]) if len(data) < 126 else
                           bytes([0xfe]) + struct.pack(">H", len(data)))
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
    out({"upgraded": head.split(b"\r\n")[0].decode()})
    # Never read: wait until told to look (stdin closes), then see whether
    # the server dropped us (EOF or a reset once the buffers are read).
    sys.stdin.read()
    s.settimeout(2)
    closed = False
    try:
        while True:
            b = s.recv(65536)
            if not b:
                closed = True
                break
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    except socket.timeout:
        pass
    out({"dropped": closed})


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def mint(keyfile, token, seconds):
    # Lines "ID:BASE64 [created=S]"; a retired key has "-": the newest live one.
    with open(keyfile) as f:
        keys = [l.split()[0].split(":") for l in f if l.strip()]
    kid, key = max((k for k in keys if k[1] != "-"), key=lambda k: int(k[0]))
    # crypto_kdf_derive_from_key: BLAKE2b keyed with the master key, salt
    # the subkey id (1, little endian), personal the context.
    sub = hashlib.blake2b(b"", digest_size=32, key=base64.b64decode(key),
                          salt=struct.pack("<Q", 1) + bytes(8),
                          person=b"vcjwt___" + bytes(8)).digest()
    claims = json.loads(unb64url(token.split(".")[1]))
    now = int(time.time())
    claims.update(iat=now + seconds - 900, nbf=now + seconds - 900, exp=now + seconds)
    head = b64url(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": kid},
                             separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(sub, (head + "." + body).encode(), hashlib.sha256).digest()
    print(head + "." + body + "." + b64url(mac))


def main():
    if sys.argv[2] == "mint":
        mint(sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return
    url, mode = sys.argv[1], sys.argv[2]
    opts, args = {}, sys.argv[3:]
    for i in range(0, len(args) - 1, 2):
        opts[args[i].lstrip("-")] = args[i + 1]
    if mode == "listen":
        asyncio.run(listen(url, opts))
    elif mode == "slow":
        slow(url, opts)
    else:
        sys.exit("ws-client.py: unknown mode " + mode)


main()
