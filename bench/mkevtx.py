#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mkevtx.py [--corrupt N] [--dense] OUT CHUNKS SRC.evtx...: a large EVTX
file for tests and the benchmark, CHUNKS 64 KiB chunks (at most 65535)
made from the chunks of the SRC files, in turn.

Plain, the chunks are the SRC files' own, repeated, under the file
header of the first SRC with its chunk count and checksum set.  Records
keep their numbers, so they repeat; readers do not mind.  With
--corrupt N, the records area of chunk N (from 0) is overwritten with
0xAA.

With --dense, each chunk is full, as a real log's is (SigmaHQ's
regression samples hold one to five records a chunk; a real log's chunk
a hundred or so): a source chunk, its records where they were, and
after them new records until the chunk is full.  Each new record is an
instance of a template that a record of the chunk defines, with that
record's substitution values (so it renders as that event again), the
way Windows writes a chunk (a template defined once, then referenced by
offset).  A value that is itself binary XML (EventData often is) around
a template defined inline refers to that definition in the copy; other
binary XML keeps its inline names, their offsets (which say "here")
moved with it.  Records are numbered on through the file and the chunk
headers' counts, offsets and CRCs are set, so readers take the chunks
as valid.  Nothing here is third-party data: the bytes are the SRC
files' own."""
import struct
import sys
import zlib

HEADER, CHUNK = 4096, 65536
FILETIME_2026 = 134_000_000_000_000_000


class Bad(Exception):
    pass


def name_at(c, p, fix):
    """A name offset field at p: inline (offset == p + 4) is a fix; returns the end."""
    off = struct.unpack_from("<I", c, p)[0]
    p += 4
    if off == p:
        fix.append(p - 4)
        n = struct.unpack_from("<H", c, p + 6)[0]
        p += 8 + 2 * (n + 1)
    return p


def walk_values(c, p, fix):
    """Template instance values at p (count, descriptors, data); returns the end."""
    n = struct.unpack_from("<I", c, p)[0]
    if n > 1000:
        raise Bad
    desc = [struct.unpack_from("<HBB", c, p + 4 + 4 * i) for i in range(n)]
    p += 4 + 4 * n
    for size, typ, _ in desc:
        if typ == 0x21 and size > 0:
            binxml(c, p, p + size, fix)
        p += size
    return p


def binxml(c, p, end, fix):
    """Walk binary XML from p to end (or its end token), noting in fix the
    offset fields of inline name and template definitions."""
    while p < end:
        t = c[p]
        b = t & 0x0F
        if b == 0x00:
            return p + 1
        if b == 0x0F:
            p += 4
        elif b == 0x01:
            p = name_at(c, p + 7, fix)
            if t & 0x40:
                p += 4
        elif b in (0x02, 0x03, 0x04):
            p += 1
        elif b == 0x05:
            if c[p + 1] != 0x01:
                raise Bad
            p += 4 + 2 * struct.unpack_from("<H", c, p + 2)[0]
        elif b in (0x06, 0x09, 0x0A):
            p = name_at(c, p + 1, fix)
        elif b in (0x07, 0x0B):
            p += 3 + 2 * struct.unpack_from("<H", c, p + 1)[0]
        elif b == 0x08:
            p += 3
        elif b == 0x0C:
            doff = struct.unpack_from("<I", c, p + 6)[0]
            p += 10
            if doff == p:
                fix.append(p - 4)
                size = struct.unpack_from("<I", c, p + 20)[0]
                binxml(c, p + 24, p + 24 + size, fix)
                p += 24 + size
            p = walk_values(c, p, fix)
        elif b in (0x0D, 0x0E):
            p += 4
        else:
            raise Bad
    return p


def copy_values(c, p, at):
    """Template instance values at p, as bytes that start at offset at:
    (the bytes, where they end at p).  A value that is binary XML around
    a template instance defined inline gets a reference to that
    definition instead (a chunk defines a template once); any other
    binary XML keeps its inline definitions, their offsets moved."""
    n = struct.unpack_from("<I", c, p)[0]
    if n > 1000:
        raise Bad
    desc = [struct.unpack_from("<HBB", c, p + 4 + 4 * i) for i in range(n)]
    src, here, parts = p + 4 + 4 * n, at + 4 + 4 * n, []
    for size, typ, _ in desc:
        v = copy_binxml(c, src, src + size, here) if typ == 0x21 and size > 0 else bytes(c[src:src + size])
        parts.append(v)
        here += len(v)
        src += size
    head = struct.pack("<I", n) + b"".join(struct.pack("<HBB", len(v), t, z) for v, (_, t, z) in zip(parts, desc))
    return head + b"".join(parts), src


def copy_binxml(c, p, end, at):
    if c[p:p + 5] == b"\x0f\x01\x01\x00\x0c":
        doff = struct.unpack_from("<I", c, p + 10)[0]
        q = p + 14
        if doff == q:
            q += 24 + struct.unpack_from("<I", c, q + 20)[0]
        vals, q = copy_values(c, q, at + 14)
        if q > end:
            raise Bad
        return bytes(c[p:p + 14]) + vals + bytes(c[q:end])
    fix = []
    binxml(c, p, end, fix)
    b = bytearray(c[p:end])
    for f in fix:
        struct.pack_into("<I", b, f - p, at + (f - p) + 4)
    return bytes(b)


def templates(c):
    """(last record end, [(template id, def offset, where its values are)])
    of chunk c: the records that are a template instance."""
    free = struct.unpack_from("<I", c, 48)[0]
    out, p, end = [], 512, 512
    while p < free and c[p:p + 4] == b"**\0\0":
        size = struct.unpack_from("<I", c, p + 4)[0]
        if size < 42 or p + size > free:
            break
        end = p + size
        b = p + 24
        if c[b:b + 6] == b"\x0f\x01\x01\x00\x0c\x01":
            tid, doff = struct.unpack_from("<II", c, b + 6)
            v = b + 14
            if doff == v:   # the definition inline: skip it
                v += 24 + struct.unpack_from("<I", c, v + 20)[0]
            try:
                copy_values(c, v, 0)
                out.append((tid, doff, v, end - 4))
            except (Bad, struct.error, IndexError):
                pass
        p += size
    return end, out


def fill(c):
    """Chunk c filled with new records: (the chunk, its records' offsets),
    or None when no record of it is a template instance."""
    src = bytes(c)
    c = bytearray(c)
    end, tpl = templates(src)
    if not tpl:
        return None
    offs, p = [], 512
    while p < end:
        offs.append(p)
        p += struct.unpack_from("<I", c, p + 4)[0]
    c[end:] = bytes(CHUNK - end)
    p, k = end, 0
    while True:
        tid, doff, v, vend = tpl[k % len(tpl)]
        # The values start at p + 38 in the new record.
        vals, q = copy_values(src, v, p + 38)
        body = b"\x0f\x01\x01\x00\x0c\x01" + struct.pack("<II", tid, doff) + vals + src[q:vend]
        size = 24 + len(body) + 4
        if p + size > CHUNK:
            break
        c[p:p + size] = b"**\0\0" + struct.pack("<IQQ", size, 0, 0) + body + struct.pack("<I", size)
        offs.append(p)
        p, k = p + size, k + 1
    struct.pack_into("<II", c, 44, offs[-1], p)
    struct.pack_into("<I", c, 52, zlib.crc32(bytes(c[512:p])) & 0xFFFFFFFF)
    return c, offs


def number(filled, first, ts):
    """A filled chunk with its records numbered from first: (bytes, next)."""
    c, offs = filled
    c = bytearray(c)
    n = first
    for p in offs:
        struct.pack_into("<QQ", c, p + 8, n, ts + n * 10_000_000)
        n += 1
    free = struct.unpack_from("<I", c, 48)[0]
    struct.pack_into("<QQQQ", c, 8, first, n - 1, first, n - 1)
    struct.pack_into("<I", c, 52, zlib.crc32(bytes(c[512:free])) & 0xFFFFFFFF)
    struct.pack_into("<I", c, 124, zlib.crc32(bytes(c[:120]) + bytes(c[128:512])) & 0xFFFFFFFF)
    return bytes(c), n


def main(argv):
    corrupt, dense = None, False
    while len(argv) > 1 and argv[1] in ("--corrupt", "--dense"):
        if argv[1] == "--dense":
            dense, argv = True, argv[:1] + argv[2:]
        else:
            corrupt, argv = int(argv[2]), argv[:1] + argv[3:]
    if len(argv) < 4:
        sys.exit(__doc__)
    out, n, srcs = argv[1], int(argv[2]), argv[3:]
    if not 1 <= n <= 65535:
        sys.exit("CHUNKS: 1 to 65535")
    chunks, header = [], None
    for p in srcs:
        data = open(p, "rb").read()
        if data[:8] != b"ElfFile\0":
            sys.exit(f"{p}: not an EVTX file")
        header = header or bytearray(data[:HEADER])
        for off in range(HEADER, len(data) - CHUNK + 1, CHUNK):
            if data[off:off + 8] == b"ElfChnk\0":
                chunks.append(data[off:off + CHUNK])
    if not chunks:
        sys.exit("no chunks in the sources")
    rec = 1
    if dense:
        chunks = [f for f in map(fill, chunks) if f is not None]
        if not chunks:
            sys.exit("no chunk with a template to repeat")
    struct.pack_into("<Q", header, 8, 0)
    struct.pack_into("<Q", header, 16, n - 1)
    struct.pack_into("<H", header, 42, n)
    with open(out, "wb") as f:
        f.write(bytes(HEADER))
        for i in range(n):
            if dense:
                c, rec = number(chunks[i % len(chunks)], rec, FILETIME_2026)
            else:
                c = chunks[i % len(chunks)]
            if i == corrupt:
                c = c[:512 + 24] + b"\xaa" * 200 + c[512 + 224:]
            f.write(c)
        if dense:
            struct.pack_into("<Q", header, 24, rec)
        struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])) & 0xFFFFFFFF)
        f.seek(0)
        f.write(header)


if __name__ == "__main__":
    main(sys.argv)
