#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# syslog.py - a syslog receiver for the tests: RFC 5424 messages over UDP
# (RFC 5426, one a datagram), TCP or TLS (RFC 5425/6587 octet counting,
# "LEN SP MSG").
#   syslog.py udp|tcp|tls PORT LOG [CERT KEY]
# Each message is parsed strictly and appended to LOG as one JSON line:
# {"pri", "version", "ts", "host", "app", "procid", "msgid",
#  "sd": {SD-ID: {NAME: VALUE}}, "msg"}, or {"error": why, "raw": text}
# when it is not RFC 5424 (a framing error also closes the connection).
# Once it listens it creates LOG.ready (a UDP socket cannot be probed).
import json
import re
import socket
import ssl
import sys
import threading

PROTO, PORT, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3]
log = open(LOG, "a")
lock = threading.Lock()
HEAD = re.compile(r"<(\d{1,3})>([1-9]\d{0,2}) (\S+) (\S+) (\S+) (\S+) (\S+) ")


def sd_parse(s, i):
    """The STRUCTURED-DATA at s[i:]: a dict and the index after it."""
    if s[i] == "-":
        return {}, i + 1
    sd = {}
    while i < len(s) and s[i] == "[":
        j = i + 1
        while s[j] not in " ]":
            j += 1
        sid, params, i = s[i + 1:j], {}, j
        while s[i] == " ":
            j = s.index("=", i)
            name, i = s[i + 1:j], j + 1
            if s[i] != '"':
                raise ValueError("a PARAM-VALUE is not quoted")
            i, val = i + 1, ""
            while s[i] != '"':
                if s[i] == "\\" and s[i + 1] in '"\\]':
                    i += 1
                val += s[i]
                i += 1
            params[name] = val
            i += 1
        if s[i] != "]":
            raise ValueError("an SD-ELEMENT does not end with ]")
        sd[sid] = params
        i += 1
    return sd, i


def record(raw):
    try:
        text = raw.decode("utf-8")
        m = HEAD.match(text)
        if not m:
            raise ValueError("no RFC 5424 header")
        sd, i = sd_parse(text, m.end())
        if i < len(text) and text[i] != " ":
            raise ValueError("no SP after the STRUCTURED-DATA")
        rec = dict(zip(("pri", "version", "ts", "host", "app", "procid", "msgid"), m.groups()))
        rec.update(pri=int(rec["pri"]), version=int(rec["version"]), sd=sd, msg=text[i + 1:])
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        rec = {"error": str(e), "raw": raw.decode("utf-8", "replace")}
    with lock:
        log.write(json.dumps(rec) + "\n")
        log.flush()


def stream(conn):
    buf = b""
    with conn:
        while True:
            sp = buf.find(b" ")
            if sp > 0:
                if not buf[:sp].isdigit() or sp > 9:
                    record(buf[:64])
                    return
                n = int(buf[:sp])
                if len(buf) >= sp + 1 + n:
                    record(buf[sp + 1:sp + 1 + n])
                    buf = buf[sp + 1 + n:]
                    continue
            data = conn.recv(65536)
            if not data:
                return
            buf += data


if PROTO == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", PORT))
    open(LOG + ".ready", "w").close()
    while True:
        record(s.recvfrom(65536)[0])
ctx = None
if PROTO == "tls":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", PORT))
s.listen(16)
open(LOG + ".ready", "w").close()
while True:
    c, _ = s.accept()
    if ctx is not None:
        try:
            c = ctx.wrap_socket(c, server_side=True)
        except (ssl.SSLError, OSError):
            c.close()
            continue
    threading.Thread(target=stream, args=(c,), daemon=True).start()
