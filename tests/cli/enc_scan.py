#!/usr/bin/env python3
"""Helpers for tests/cli/encryption_test.sh (standard library only).

  scan DIR... [--file F[:STRIDE]]... [--stride N] [--chunk-digests JSONL]...
           [--content-digests B3SUM_OUT]... [--json OUT]
      Searches every file under each DIR for 16-byte windows of each --file
      (those starting at multiples of its STRIDE, default --stride), for every chunk digest
      (the "digest" of each line of `artifact-store chunks --json`) and for
      every content digest (lines "HEX  NAME" as b3sum prints them), the
      digests both as 32 binary bytes and as 64 lowercase hex characters.
      Prints what it found per category; --json writes the counts.
  frames PACK...          one JSON line per frame (footer, or a walk of a
                          pack without one, e.g. a .pack.tmp)
  keyids PACK...          "cipher key_id count" per (cipher, key id)
  flip PACK POS BIT [--fix-crc FRAME_OFF]
                          flips bit BIT of byte POS; --fix-crc then rewrites
                          the CRC-32C of the frame at FRAME_OFF to match
  fixcrc PACK FRAME_OFF   rewrites the frame's CRC-32C
  swap PACK OFF_A OFF_B   swaps two frames of equal length, bytes verbatim
  transplant SRC OFF DST OFF [--payload-only]
                          copies a frame of SRC over one of equal length in DST;
                          --payload-only keeps DST's header and fixes the CRC
  layout PACK CHUNKS_JSONL
                          the chunk frames of a pack written by one put,
                          matched in order with the file's distinct chunks
                          (`artifact-store chunks --json`): one line per frame,
                          "index offset frame_len stored_len codec start end"
                          (end exclusive); fails when they do not match
  s3 ENDPOINT KEY SECRET mb BUCKET | put BUCKET KEY FILE | get BUCKET KEY OUT
                          minimal SigV4 client; get writes what it received
                          to OUT and exits 0 only for a complete 200
  crc32c FILE             CRC-32C of a file (self-check)
"""

import argparse
import datetime
import hashlib
import hmac
import http.client
import json
import os
import signal
import struct
import sys
import urllib.parse

# ---- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) ------------------

_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data, crc=0):
    t = _CRC_TABLE
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283

# ---- packs and frames (docs/format/pack.md, docs/format/frame.md) -----------

FRAME_HDR, FRAME_CRC, PACK_HDR, FOOTER_ENTRY, TRAILER = 64, 4, 40, 52, 32


def parse_frame_header(buf, off):
    h = buf[off:off + FRAME_HDR]
    if len(h) < FRAME_HDR or h[0:4] != b"ASFR":
        return None
    stored = struct.unpack_from("<I", h, 16)[0]
    f = {
        "offset": off,
        "version": h[4],
        "type": h[5],
        "codec": h[6],
        "cipher": h[7],
        "key_id": struct.unpack_from("<I", h, 8)[0],
        "raw_len": struct.unpack_from("<I", h, 12)[0],
        "stored_len": stored,
        "digest_algo": h[20],
        "digest": h[21:53].hex(),
        "length": FRAME_HDR + stored + FRAME_CRC,
    }
    end = off + f["length"]
    if end <= len(buf):
        want = struct.unpack_from("<I", buf, end - FRAME_CRC)[0]
        f["crc_ok"] = crc32c(buf[off:end - FRAME_CRC]) == want
    else:
        f["crc_ok"] = False
    return f


def pack_frames(path):
    buf = open(path, "rb").read()
    info = {"pack": path, "pack_id": buf[8:24].hex() if len(buf) >= 24 else "",
            "domain": struct.unpack_from("<I", buf, 32)[0] if len(buf) >= 36 else None}
    offsets = []
    sealed = (len(buf) >= PACK_HDR + TRAILER and buf[0:4] == b"ASPK"
              and buf[-4:] == b"ASPT")
    if sealed:
        foot, count = struct.unpack_from("<QI", buf, len(buf) - TRAILER)
        for i in range(count):
            offsets.append(struct.unpack_from("<Q", buf, foot + i * FOOTER_ENTRY)[0])
    else:  # a pack still being written: walk the frames
        off = PACK_HDR
        while True:
            f = parse_frame_header(buf, off)
            if f is None or off + f["length"] > len(buf):
                break
            offsets.append(off)
            off += f["length"]
    out = []
    for off in offsets:
        f = parse_frame_header(buf, off)
        if f is None:
            raise SystemExit(f"{path}: no frame at offset {off}")
        f.update(info)
        out.append(f)
    return out


def rewrite_crc(buf, frame_off):
    f = parse_frame_header(buf, frame_off)
    if f is None:
        raise SystemExit(f"no frame at offset {frame_off}")
    end = frame_off + f["length"]
    struct.pack_into("<I", buf, end - FRAME_CRC, crc32c(buf[frame_off:end - FRAME_CRC]))


def frame_len_at(buf, off):
    f = parse_frame_header(buf, off)
    if f is None:
        raise SystemExit(f"no frame at offset {off}")
    return f["length"]


def rw(path, fn):
    buf = bytearray(open(path, "rb").read())
    fn(buf)
    mode = os.stat(path).st_mode
    os.chmod(path, 0o600)
    with open(path, "r+b") as fh:
        fh.write(buf)
    os.chmod(path, mode & 0o7777)


def cmd_layout(a):
    frames = [f for f in pack_frames(a.pack) if f["type"] == 1]
    chunks, seen, pos = [], set(), 0
    for line in open(a.chunks):
        if not line.strip():
            continue
        c = json.loads(line)
        if c["digest"] not in seen:
            seen.add(c["digest"])
            chunks.append((c["offset"], c["offset"] + c["length"]))
    if [f["raw_len"] for f in frames] != [e - s for s, e in chunks]:
        print(f"{a.pack}: chunk frames {[f['raw_len'] for f in frames]} do not match "
              f"the file's chunks {[e - s for s, e in chunks]}", file=sys.stderr)
        return 1
    for i, (f, (s, e)) in enumerate(zip(frames, chunks)):
        print(i, f["offset"], f["length"], f["stored_len"], f["codec"], s, e)
    return 0


# ---- scan -------------------------------------------------------------------

class Needles:
    """Exact search for many needles (each at least 16 bytes) in big buffers:
    every 8-byte piece of a needle's first 16 bytes (offsets 0..8) is indexed,
    and a buffer is probed only at offsets divisible by 8, which finds every
    occurrence (one such offset always lies in its first 9 bytes)."""

    def __init__(self):
        self.grams = {}
        self.needles = []  # (bytes, category, description)
        self.seen = set()

    def add(self, needle, category, desc):
        assert len(needle) >= 16
        if needle in self.seen:
            return
        self.seen.add(needle)
        nid = len(self.needles)
        self.needles.append((needle, category, desc))
        for o in range(9):
            self.grams.setdefault(needle[o:o + 8], []).append((nid, o))

    def search(self, buf):
        grams, needles = self.grams, self.needles
        hits = []
        get = grams.get
        mv = bytes(buf)
        for p in range(0, len(mv) - 7, 8):
            c = get(mv[p:p + 8])
            if c is None:
                continue
            for nid, o in c:
                q = p - o
                n = needles[nid][0]
                if q >= 0 and mv[q:q + len(n)] == n:
                    hits.append((q, nid))
        return hits


def informative(w):
    # A window of padding (zeros, a run of one character) says nothing about
    # the file; every 8-byte piece must have 3 distinct byte values or more.
    return all(len(set(w[o:o + 8])) >= 3 for o in range(9))


def cmd_scan(a):
    nd = Needles()
    counts = {}

    def cat(c):
        counts.setdefault(c, {"needles": 0, "found": 0, "skipped": 0})
        return counts[c]

    for spec in a.file:
        path, stride = spec, a.stride
        head, _, tail = spec.rpartition(":")
        if head and tail.isdigit():
            path, stride = head, int(tail)
        data = open(path, "rb").read()
        c = cat("window:" + os.path.basename(path))
        for off in range(0, max(len(data) - 15, 0), stride):
            w = data[off:off + 16]
            if not informative(w):
                c["skipped"] += 1
                continue
            before = len(nd.needles)
            nd.add(w, "window:" + os.path.basename(path), f"{path}@{off}")
            c["needles"] += len(nd.needles) - before
    digests = []
    for path in a.chunk_digests:
        for line in open(path):
            line = line.strip()
            if line:
                d = json.loads(line)["digest"]
                digests.append(("chunk", d.split(":", 1)[1], f"{path}:{d}"))
    for path in a.content_digests:
        for line in open(path):
            if line.strip():
                h = line.split()[0]
                digests.append(("content", h, f"{path}:{h}"))
    for kind, h, desc in digests:
        assert len(h) == 64, h
        for form, needle in (("bin", bytes.fromhex(h)), ("hex", h.encode())):
            c = cat(f"{kind}-digest-{form}")
            before = len(nd.needles)
            nd.add(needle, f"{kind}-digest-{form}", desc)
            c["needles"] += len(nd.needles) - before
    files = []
    for d in a.dir:
        for root, _dirs, names in os.walk(d):
            for n in names:
                files.append(os.path.join(root, n))
    found_needles = set()
    hits_shown = 0
    scanned = 0
    for path in sorted(files):
        try:
            buf = open(path, "rb").read()
        except FileNotFoundError:
            continue
        scanned += 1
        for q, nid in nd.search(buf):
            needle, category, desc = nd.needles[nid]
            if nid not in found_needles:
                found_needles.add(nid)
                counts[category]["found"] += 1
            if hits_shown < a.show:
                hits_shown += 1
                print(f"FOUND {category} ({desc}) in {path} at offset {q}")
    for c, v in sorted(counts.items()):
        print(f"{c}: {v['found']} of {v['needles']} found"
              + (f" ({v['skipped']} uninformative windows skipped)" if v["skipped"] else ""))
    print(f"scanned {scanned} files under {' '.join(a.dir)}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"files": scanned, "categories": counts}, fh)


# ---- S3 (SigV4, path style) -------------------------------------------------

def s3_request(endpoint, key, secret, method, path, body=b""):
    u = urllib.parse.urlsplit(endpoint)
    host = u.netloc
    qpath = urllib.parse.quote(path, safe="/-_.~")
    now = datetime.datetime.now(datetime.timezone.utc)
    amzdate = now.strftime("%Y%m%dT%H%M%SZ")
    date = amzdate[:8]
    region = "us-east-1"
    payload = hashlib.sha256(body).hexdigest()
    headers = f"host:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{amzdate}\n"
    signed = "host;x-amz-content-sha256;x-amz-date"
    creq = "\n".join([method, qpath, "", headers, signed, payload])
    scope = f"{date}/{region}/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])

    def h(k, m):
        return hmac.new(k, m.encode(), hashlib.sha256).digest()

    k = h(h(h(h(("AWS4" + secret).encode(), date), region), "s3"), "aws4_request")
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    auth = (f"AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders={signed}, "
            f"Signature={sig}")
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    conn.request(method, qpath, body=body,
                 headers={"Host": host, "x-amz-date": amzdate,
                          "x-amz-content-sha256": payload, "Authorization": auth,
                          "Content-Length": str(len(body))})
    return conn.getresponse()


def cmd_s3(a):
    if a.op == "mb":
        r = s3_request(a.endpoint, a.key, a.secret, "PUT", f"/{a.args[0]}")
        body = r.read()
        print(f"mb {a.args[0]}: {r.status}")
        return 0 if r.status == 200 else 1
    if a.op == "put":
        data = open(a.args[2], "rb").read()
        r = s3_request(a.endpoint, a.key, a.secret, "PUT", f"/{a.args[0]}/{a.args[1]}", data)
        body = r.read()
        print(f"put {a.args[0]}/{a.args[1]}: {r.status} {body[:300]!r}")
        return 0 if r.status == 200 else 1
    if a.op == "get":
        r = s3_request(a.endpoint, a.key, a.secret, "GET", f"/{a.args[0]}/{a.args[1]}")
        got, complete = b"", True
        try:
            got = r.read()
        except http.client.IncompleteRead as e:
            got, complete = e.partial, False
        except (ConnectionError, OSError):
            complete = False
        if r.status != 200:
            got = b""  # an error document, not object bytes
            complete = False
        with open(a.args[2], "wb") as fh:
            fh.write(got)
        print(f"get {a.args[0]}/{a.args[1]}: {r.status} {len(got)} bytes"
              f"{'' if complete else ' (incomplete)'}")
        return 0 if complete else 1
    raise SystemExit(f"unknown s3 op {a.op}")


# ---- main -------------------------------------------------------------------

def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `... | head` is fine
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("scan")
    s.add_argument("dir", nargs="+")
    s.add_argument("--file", action="append", default=[])
    s.add_argument("--stride", type=int, default=1021)
    s.add_argument("--chunk-digests", action="append", default=[])
    s.add_argument("--content-digests", action="append", default=[])
    s.add_argument("--show", type=int, default=10)
    s.add_argument("--json")
    s = sub.add_parser("frames")
    s.add_argument("packs", nargs="+")
    s = sub.add_parser("keyids")
    s.add_argument("packs", nargs="+")
    s = sub.add_parser("flip")
    s.add_argument("pack")
    s.add_argument("pos", type=int)
    s.add_argument("bit", type=int)
    s.add_argument("--fix-crc", type=int)
    s = sub.add_parser("fixcrc")
    s.add_argument("pack")
    s.add_argument("frame_off", type=int)
    s = sub.add_parser("swap")
    s.add_argument("pack")
    s.add_argument("a", type=int)
    s.add_argument("b", type=int)
    s = sub.add_parser("transplant")
    s.add_argument("src")
    s.add_argument("src_off", type=int)
    s.add_argument("dst")
    s.add_argument("dst_off", type=int)
    s.add_argument("--payload-only", action="store_true")
    s = sub.add_parser("layout")
    s.add_argument("pack")
    s.add_argument("chunks")
    s = sub.add_parser("s3")
    s.add_argument("endpoint")
    s.add_argument("key")
    s.add_argument("secret")
    s.add_argument("op")
    s.add_argument("args", nargs="*")
    s = sub.add_parser("crc32c")
    s.add_argument("file")
    a = p.parse_args()

    if a.cmd == "scan":
        cmd_scan(a)
    elif a.cmd == "frames":
        for path in a.packs:
            for f in pack_frames(path):
                print(json.dumps(f, sort_keys=True))
    elif a.cmd == "keyids":
        n = {}
        for path in a.packs:
            for f in pack_frames(path):
                n[(f["cipher"], f["key_id"])] = n.get((f["cipher"], f["key_id"]), 0) + 1
        for (cipher, kid), cnt in sorted(n.items()):
            print(cipher, kid, cnt)
    elif a.cmd == "flip":
        def fn(buf):
            buf[a.pos] ^= 1 << a.bit
            if a.fix_crc is not None:
                rewrite_crc(buf, a.fix_crc)
        rw(a.pack, fn)
    elif a.cmd == "fixcrc":
        rw(a.pack, lambda buf: rewrite_crc(buf, a.frame_off))
    elif a.cmd == "swap":
        def fn(buf):
            la, lb = frame_len_at(buf, a.a), frame_len_at(buf, a.b)
            if la != lb:
                raise SystemExit(f"frames at {a.a} and {a.b} differ in length ({la}, {lb})")
            fa, fb = bytes(buf[a.a:a.a + la]), bytes(buf[a.b:a.b + lb])
            buf[a.a:a.a + la], buf[a.b:a.b + lb] = fb, fa
        rw(a.pack, fn)
    elif a.cmd == "transplant":
        src = open(a.src, "rb").read()
        ls = frame_len_at(src, a.src_off)

        def fn(buf):
            ld = frame_len_at(buf, a.dst_off)
            if ls != ld:
                raise SystemExit(f"frames differ in length ({ls}, {ld})")
            if a.payload_only:
                buf[a.dst_off + FRAME_HDR:a.dst_off + ld - FRAME_CRC] = \
                    src[a.src_off + FRAME_HDR:a.src_off + ls - FRAME_CRC]
                rewrite_crc(buf, a.dst_off)
            else:
                buf[a.dst_off:a.dst_off + ld] = src[a.src_off:a.src_off + ls]
        rw(a.dst, fn)
    elif a.cmd == "layout":
        sys.exit(cmd_layout(a))
    elif a.cmd == "s3":
        sys.exit(cmd_s3(a))
    elif a.cmd == "crc32c":
        print("%08x" % crc32c(open(a.file, "rb").read()))


if __name__ == "__main__":
    main()
