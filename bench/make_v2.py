#!/usr/bin/env python3
"""Make real_v2 from real_v1: 200 non-overlapping random edits (BENCHMARKS.md).

Each edit touches 1..64 KiB at a random offset of v1 and is an insert, a delete
or an overwrite (the three kinds in equal numbers, order shuffled). New bytes
are random. Everything comes from one seeded generator, so the same v1 always
gives the same v2.

Prints one line of JSON: the edit counts, the genuinely new bytes (inserted +
overwritten) and the deleted bytes. Streams v1 -> v2 in bounded memory.

Usage: make_v2.py V1 V2 [--seed N] [--edits N]
"""
import argparse
import json
import os
import random
import sys

KIB = 1024


def plan(size, n, rng):
    """n edits (offset, kind, length) at non-overlapping places of [0, size)."""
    kinds = ["insert", "delete", "overwrite"] * (n // 3 + 1)
    kinds = kinds[:n]
    rng.shuffle(kinds)
    edits = []
    taken = []  # (start, end) of v1 ranges an edit touches, kept sorted
    for kind in kinds:
        length = rng.randint(1, 64 * KIB)
        while True:
            # Inserts touch no v1 bytes, but keep them apart from the others too:
            # reserve the same span so the edits never overlap or abut.
            off = rng.randrange(0, size - length)
            lo, hi = off, off + length
            if all(hi + 1 <= s or lo >= e + 1 for s, e in taken):
                taken.append((lo, hi))
                break
        edits.append((off, kind, length))
    edits.sort()
    return edits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("v1")
    ap.add_argument("v2")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--edits", type=int, default=200)
    a = ap.parse_args()

    size = os.path.getsize(a.v1)
    rng = random.Random(a.seed)
    edits = plan(size, a.edits, rng)

    counts = {"insert": 0, "delete": 0, "overwrite": 0}
    new_bytes = 0
    deleted = 0
    tmp = a.v2 + ".tmp"
    with open(a.v1, "rb") as src, open(tmp, "wb") as dst:
        pos = 0

        def copy_to(end):
            nonlocal pos
            while pos < end:
                buf = src.read(min(8 << 20, end - pos))
                if not buf:
                    sys.exit("make_v2: %s is shorter than expected" % a.v1)
                dst.write(buf)
                pos += len(buf)

        for off, kind, length in edits:
            copy_to(off)
            counts[kind] += 1
            if kind == "insert":
                dst.write(rng.randbytes(length))
                new_bytes += length
            elif kind == "delete":
                src.seek(length, os.SEEK_CUR)
                pos += length
                deleted += length
            else:  # overwrite
                dst.write(rng.randbytes(length))
                src.seek(length, os.SEEK_CUR)
                pos += length
                new_bytes += length
        copy_to(size)
    os.replace(tmp, a.v2)
    print(json.dumps({"edits": len(edits), **counts, "new_bytes": new_bytes,
                      "deleted_bytes": deleted, "v1_size": size,
                      "v2_size": os.path.getsize(a.v2), "seed": a.seed}))


if __name__ == "__main__":
    main()
