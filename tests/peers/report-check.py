#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# report-check.py - checks of vc-report's files for tests/cli/80-report.t,
# with Python's standard library only (Debian's python3).
#
#   report-check.py html FILE   well formed (every element closed in
#                               order), no script, no external reference;
#                               prints "ok" or the problems, one a line
#   report-check.py ink FILE    a PNG (8-bit RGB/RGBA/grey, as Chromium
#                               writes) or a PGM/PPM (pdftoppm): prints the
#                               share of pixels, in thousandths, that are
#                               not the background (the commonest colour)
import sys
import re
import struct
import zlib
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}
SVG_SELF = {"rect", "line", "polyline", "path", "circle"}


class Check(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems = [], []

    def where(self):
        return "line %d" % self.getpos()[0]

    def handle_starttag(self, tag, attrs):
        self.refs(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.refs(tag, attrs)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append("%s: </%s> closes <%s>" % (self.where(), tag,
                                 self.stack[-1] if self.stack else "nothing"))
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def refs(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "link", "img", "base"):
            self.problems.append("%s: <%s>" % (self.where(), tag))
        for k, v in attrs:
            v = v or ""
            if k.startswith("on"):
                self.problems.append("%s: %s= (script)" % (self.where(), k))
            if k in ("src", "href", "xlink:href", "action", "srcset", "background", "data"):
                if not v.startswith("#"):
                    self.problems.append("%s: %s=%r" % (self.where(), k, v))
            if re.search(r"url\(|https?:|//|javascript:", v) and k not in ("content",):
                self.problems.append("%s: %s=%r" % (self.where(), k, v))

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "style" and re.search(r"url\(|@import", data):
            self.problems.append("%s: url() or @import in a style" % self.where())


def html(path):
    text = open(path, encoding="utf-8").read()
    c = Check()
    c.feed(text)
    c.close()
    if c.stack:
        c.problems.append("end: unclosed %s" % " ".join(c.stack))
    if not text.startswith("<!DOCTYPE html>"):
        c.problems.append("no <!DOCTYPE html>")
    print("\n".join(c.problems) if c.problems else "ok")


def png_pixels(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, inter = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and inter == 0 and ctype in (0, 2, 6), "unsupported PNG"
            bpp = {0: 1, 2: 3, 6: 4}[ctype]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, prev, out = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.extend(bytes(line[i:i + min(bpp, 3)]) for i in range(0, stride, bpp))
        prev = line
    return out


def pnm_pixels(data):
    parts = data.split(maxsplit=4)
    magic, w, h = parts[0], int(parts[1]), int(parts[2])
    body, bpp = parts[4], 3 if magic == b"P6" else 1
    return [body[i:i + bpp] for i in range(0, w * h * bpp, bpp)]


def ink(path):
    data = open(path, "rb").read()
    px = png_pixels(data) if data[:4] == b"\x89PNG" else pnm_pixels(data)
    counts = {}
    for p in px:
        counts[p] = counts.get(p, 0) + 1
    print(1000 * (len(px) - max(counts.values())) // max(len(px), 1))


if __name__ == "__main__":
    {"html": html, "ink": ink}[sys.argv[1]](sys.argv[2])
