#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""cdp.py PROFILE_DIR EXPR WANT SECONDS - ask a headless Chromium, over
the DevTools protocol (its DevToolsActivePort file in PROFILE_DIR), for
the value of the JavaScript EXPR in its page, again every 100 ms until
the value contains WANT or SECONDS pass.  Prints the last value; exit 0
when WANT was seen, 1 when not, 2 when Chromium could not be reached."""
import asyncio
import json
import os
import sys
import time
import urllib.request

import websockets


def devtools_port(profile, deadline):
    path = os.path.join(profile, "DevToolsActivePort")
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                return int(f.readline())
        except (OSError, ValueError):
            time.sleep(0.1)
    return None


def page_ws(port, deadline):
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                for t in json.load(r):
                    if t.get("type") == "page":
                        return t["webSocketDebuggerUrl"]
        except OSError:
            pass
        time.sleep(0.1)
    return None


async def watch(url, expr, want, deadline):
    value = ""
    async with websockets.connect(url, max_size=1 << 22) as ws:
        n = 0
        while time.monotonic() < deadline:
            n += 1
            await ws.send(json.dumps({"id": n, "method": "Runtime.evaluate",
                                      "params": {"expression": expr, "returnByValue": True}}))
            while True:
                m = json.loads(await ws.recv())
                if m.get("id") == n:
                    break
            value = str(m.get("result", {}).get("result", {}).get("value", ""))
            if want in value:
                return True, value
            await asyncio.sleep(0.1)
    return False, value


def main():
    profile, expr, want, secs = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    deadline = time.monotonic() + secs
    port = devtools_port(profile, deadline)
    url = port and page_ws(port, deadline)
    if not url:
        print("chromium: no DevTools page", file=sys.stderr)
        return 2
    seen, value = asyncio.run(watch(url, expr, want, deadline))
    print(value)
    return 0 if seen else 1


if __name__ == "__main__":
    sys.exit(main())
