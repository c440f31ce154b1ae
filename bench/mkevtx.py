#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mkevtx.py OUT CHUNKS SRC.evtx...: a large EVTX file for tests and the
benchmark, made of the 64 KiB chunks of the SRC files repeated in turn
until there are CHUNKS of them (at most 65535), under the file header of
the first SRC with its chunk count and checksum set.  Records keep their
numbers, so they repeat; readers do not mind.  With --corrupt N, the
records area of chunk N (from 0) is overwritten with 0xAA."""
import struct
import sys
import zlib

HEADER, CHUNK = 4096, 65536


def main(argv):
    corrupt = None
    if len(argv) > 2 and argv[1] == "--corrupt":
        corrupt = int(argv[2])
        argv = argv[:1] + argv[3:]
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
    struct.pack_into("<Q", header, 8, 0)
    struct.pack_into("<Q", header, 16, n - 1)
    struct.pack_into("<H", header, 42, n)
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])) & 0xFFFFFFFF)
    with open(out, "wb") as f:
        f.write(header)
        for i in range(n):
            c = chunks[i % len(chunks)]
            if i == corrupt:
                c = c[:512 + 24] + b"\xaa" * 200 + c[512 + 224:]
            f.write(c)


if __name__ == "__main__":
    main(sys.argv)
