#!/usr/bin/python3
"""Clients for scaleout_test.sh: several artifact-store servers on one store.

Every ENDPOINT is http://127.0.0.1:PORT of one server; A_KEY / A_SECRET (one
tenant's key, valid on every server of the store) come from the environment.
Bodies are deterministic (seeded), so a later run PUTs the same bytes again.
Exit 0 = pass; a failed check prints "scaleout_load: ..." on stderr, exit 1.

    rw A B C                  read-after-write across three servers (200 objects)
    same A B BIGFILE          one big body through A and B at the same moment,
                              and 50 identical 100 KiB bodies split across both
    put EP BUCKET PREFIX N SEED ACKED [--all]
                              N PUTs at once (4 KiB bodies); "key sha256" lines
                              in ACKED for those answered 200; --all: every
                              one must succeed
    check EP BUCKET ACKED     every key in ACKED reads back with its sha256
    absent EP BUCKET PREFIX KEY...
                              no KEY exists (HEAD 404) and nothing is listed
                              under PREFIX
    stall EP BUCKET KEY FILE SEND
                              a PUT of FILE that sends SEND bytes of it and then
                              waits (a slow client), until killed (180 s at most)
    putfile EP BUCKET KEY FILE  (retried after a 503, as SDKs do)
    delete EP BUCKET KEY...
    churn EP BUCKET STATE SECONDS MAXSTEPS
                              versions with 1-byte edits, overwrites, deletes
                              of old versions, copies, revivals of deleted
                              bodies, multipart uploads, from 4 threads; writes
                              the acceptable final bodies of every key to STATE
                              (a request answered 503 is retried, as SDKs do,
                              and counted; any other failure fails the run)
    state EP BUCKET STATE     every key reads back as STATE allows
"""
import hashlib
import json
import os
import random
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.handlers import add_expect_header

MiB = 1 << 20
ABSENT = "absent"


def say(msg):
    print(f"scaleout_load: {msg}", file=sys.stderr, flush=True)


def die(msg):
    say(msg)
    sys.exit(1)


def client(endpoint, read_timeout=300):
    # No retries: a request that fails must show. A long read timeout: a put
    # held at a pause point waits for its answer.
    c = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=os.environ["A_KEY"], aws_secret_access_key=os.environ["A_SECRET"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}, connect_timeout=5,
                      read_timeout=read_timeout, max_pool_connections=64))
    # No "Expect: 100-continue": the server may answer such a PUT at once
    # when its whole body came with the headers (RFC 9110 allows it), and
    # Debian's botocore (1.29) then keeps that status line for the next
    # 100-continue request on the connection, whose answer it reads as 200
    # with no headers (no ETag).
    c.meta.events.unregister("before-call.s3", add_expect_header)
    return c


def sha(b):
    return hashlib.sha256(b).hexdigest()


RETRIED_503 = [0]


def retry_503(fn, tries=4):
    """fn(), again after a 503 (a commit that lost a race with gc stores
    nothing and asks the client to retry, as SDKs do); counted."""
    for n in range(tries):
        try:
            return fn()
        except ClientError as e:
            if n + 1 == tries or e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 503:
                raise
            RETRIED_503[0] += 1
            say(f"503 ({code(e)}), retrying: {e}")
            time.sleep(0.2 * (n + 1))


def make_bucket(c, bucket):
    try:
        c.create_bucket(Bucket=bucket)
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def code(e):
    if isinstance(e, ClientError):
        return e.response.get("Error", {}).get("Code") or str(
            e.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
    return type(e).__name__


def is_404(e):
    return isinstance(e, ClientError) and (
        e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404
        or e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"))


def get(c, bucket, key):
    return c.get_object(Bucket=bucket, Key=key)["Body"].read()


def exists(c, bucket, key):
    try:
        c.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as e:
        if is_404(e):
            return False
        raise


def list_keys(c, bucket, prefix=""):
    out = {}
    token = None
    while True:
        kw = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kw["ContinuationToken"] = token
        r = c.list_objects_v2(**kw)
        for o in r.get("Contents", []):
            out[o["Key"]] = o["Size"]
        if not r.get("IsTruncated"):
            return out
        token = r["NextContinuationToken"]


def edit(body, rng):
    """The same bytes with one byte changed (a new version of a file)."""
    if not body:
        return b"\x01"
    b = bytearray(body)
    i = rng.randrange(len(b))
    b[i] ^= 1 + rng.randrange(255)
    return bytes(b)


# ---- rw: read-after-write across three servers ------------------------------

def rw(a, b, c):
    eps = [a, b, c]
    cl = [client(e) for e in eps]
    names = "ABC"
    bucket = "so-rw"
    cl[0].create_bucket(Bucket=bucket)
    # The bucket made on A is there on B and C at once.
    for i in (1, 2):
        cl[i].head_bucket(Bucket=bucket)
    rng = random.Random("rw-sizes")
    sizes = []
    for i in range(200):
        if i % 20 == 0:
            sizes.append(8 * MiB - rng.randrange(3))
        elif i % 7 == 0:
            sizes.append(3 * MiB + rng.randrange(MiB))
        else:
            sizes.append(rng.choice([0, 1, 999, 4096, 65537, 300000, 1000000]))
    say(f"rw: 200 objects, {sum(sizes) / MiB:.0f} MiB in all")
    expected = {}  # key -> (sha256, size, etag)
    lock = threading.Lock()
    errors = []

    def one(i):
        key = f"o/{i:04d}"
        body = random.Random(f"rw/{i}").randbytes(sizes[i])
        p, r, l = i % 3, (i + 1) % 3, (i + 2) % 3
        try:
            resp = cl[p].put_object(Bucket=bucket, Key=key, Body=body)
            etag = resp.get("ETag")
            if not etag:
                raise AssertionError(f"PUT {key} ({len(body)} bytes) through {names[p]}: no ETag "
                                     f"in the answer: {resp['ResponseMetadata']}")
            got = get(cl[r], bucket, key)
            if got != body:
                raise AssertionError(f"GET {key} through {names[r]} (PUT through {names[p]}) "
                                     f"gave {len(got)} bytes, not the {len(body)} PUT")
            h = cl[r].head_object(Bucket=bucket, Key=key)
            if h.get("ContentLength") != len(body) or h.get("ETag") != etag:
                raise AssertionError(f"HEAD {key} through {names[r]}: {h.get('ContentLength')} "
                                     f"bytes, ETag {h.get('ETag')}; PUT: {len(body)}, {etag}; "
                                     f"{h['ResponseMetadata']}")
            listed = list_keys(cl[l], bucket, key)
            if listed != {key: len(body)}:
                raise AssertionError(f"LIST {key} through {names[l]} right after the PUT "
                                     f"through {names[p]}: {listed}")
        except Exception as e:  # noqa: BLE001 - every failure is reported
            with lock:
                errors.append(f"{key}: {e}")
            return
        with lock:
            expected[key] = (sha(body), len(body), etag)

    t0 = time.time()
    with ThreadPoolExecutor(4) as ex:
        list(ex.map(one, range(200)))
    if errors:
        die(f"rw: {len(errors)} of 200 read-after-write checks failed; first: "
            + "; ".join(errors[:5]))
    say(f"rw: 200 PUT/GET/HEAD/LIST rounds in {time.time() - t0:.1f} s")

    # Overwrites through B read back new on A (and HEAD on C).
    for i in range(3, 200, 10):
        key = f"o/{i:04d}"
        body = random.Random(f"rw/new/{i}").randbytes(sizes[i] // 2 + 7)
        etag = cl[1].put_object(Bucket=bucket, Key=key, Body=body)["ETag"]
        got = get(cl[0], bucket, key)
        if got != body:
            die(f"rw: {key} overwritten through B reads back old or wrong bytes through A "
                f"({len(got)} bytes, want {len(body)})")
        h = cl[2].head_object(Bucket=bucket, Key=key)
        if h["ETag"] != etag:
            die(f"rw: {key} overwritten through B: HEAD through C has ETag {h['ETag']}, want {etag}")
        expected[key] = (sha(body), len(body), etag)

    # Deletes on A are 404 on B at once, and gone from C's listing.
    for i in range(5, 200, 10):
        key = f"o/{i:04d}"
        cl[0].delete_object(Bucket=bucket, Key=key)
        try:
            cl[1].get_object(Bucket=bucket, Key=key)["Body"].read()
            die(f"rw: {key} deleted through A still reads through B")
        except ClientError as e:
            if not is_404(e):
                die(f"rw: GET of {key} deleted through A, through B: {e} (want 404 NoSuchKey)")
        if exists(cl[1], bucket, key):
            die(f"rw: HEAD of {key} deleted through A is not 404 through B")
        if list_keys(cl[2], bucket, key):
            die(f"rw: {key} deleted through A is still listed through C")
        del expected[key]

    # CopyObject through B of objects PUT through A, read through C.
    for i in (0, 3 * 7 * 2 + 0, 60, 99, 120):  # PUT through A: i % 3 == 0
        src = f"o/{i:04d}"
        if src not in expected:
            continue
        dst = f"copy/{i:04d}"
        cl[1].copy_object(Bucket=bucket, Key=dst, CopySource={"Bucket": bucket, "Key": src})
        got = get(cl[2], bucket, dst)
        if sha(got) != expected[src][0]:
            die(f"rw: {dst}, copied through B from {src}, reads back wrong through C")
        h = cl[2].head_object(Bucket=bucket, Key=dst)
        expected[dst] = (expected[src][0], expected[src][1], h["ETag"])

    # A multipart upload created on A, parts on B, completed on C, read on A.
    key = "mp/one"
    parts = [random.Random(f"rw/mp/{n}").randbytes(s)
             for n, s in enumerate([5 * MiB, 5 * MiB + 3, 1234567])]
    up = cl[0].create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for n, p in enumerate(parts, 1):
        done.append({"PartNumber": n,
                     "ETag": cl[1].upload_part(Bucket=bucket, Key=key, UploadId=up,
                                               PartNumber=n, Body=p)["ETag"]})
    listed = cl[2].list_parts(Bucket=bucket, Key=key, UploadId=up).get("Parts", [])
    if [(p["PartNumber"], p["ETag"]) for p in listed] != [(d["PartNumber"], d["ETag"]) for d in done]:
        die(f"rw: ListParts through C does not show the parts uploaded through B: {listed}")
    etag = cl[2].complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up,
                                           MultipartUpload={"Parts": done})["ETag"]
    body = b"".join(parts)
    got = get(cl[0], bucket, key)
    if got != body:
        die(f"rw: multipart {key} (A/B/C) reads back wrong through A: {len(got)} bytes, "
            f"want {len(body)}")
    if not etag.strip('"').endswith("-3"):
        die(f"rw: multipart ETag {etag} does not end in -3")
    expected[key] = (sha(body), len(body), etag)

    # Every server lists the same keys, with the sizes written.
    want = {k: v[1] for k, v in expected.items()}
    for n in range(3):
        got = list_keys(cl[n], bucket)
        if got != want:
            missing = sorted(set(want) - set(got))[:5]
            extra = sorted(set(got) - set(want))[:5]
            wrong = sorted(k for k in set(got) & set(want) if got[k] != want[k])[:5]
            die(f"rw: listing through {names[n]} differs: missing {missing}, extra {extra}, "
                f"wrong size {wrong}")
    say(f"rw: {len(expected)} keys, every server agrees")


# ---- same: identical bodies through two servers at once ----------------------

def same(a, b, bigfile):
    ca, cb = client(a), client(b)
    bucket = "so-same"
    ca.create_bucket(Bucket=bucket)
    big = open(bigfile, "rb").read()
    small = random.Random("same/small").randbytes(100 * 1024)
    errors = []
    lock = threading.Lock()

    def run_all(jobs):
        barrier = threading.Barrier(len(jobs))

        def wrap(fn):
            def go():
                barrier.wait()
                try:
                    fn()
                except Exception as e:  # noqa: BLE001
                    with lock:
                        errors.append(str(e))
            return go
        threads = [threading.Thread(target=wrap(j)) for j in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    t0 = time.time()
    run_all([lambda: ca.put_object(Bucket=bucket, Key="big/a", Body=big),
             lambda: cb.put_object(Bucket=bucket, Key="big/b", Body=big)])
    say(f"same: {len(big) >> 20} MiB through A and B at once in {time.time() - t0:.1f} s")
    # Clients per thread: 50 requests really at once.
    cls = [client(a if i % 2 == 0 else b) for i in range(50)]
    run_all([(lambda i=i: cls[i].put_object(Bucket=bucket, Key=f"small/{i:02d}", Body=small))
             for i in range(50)])
    if errors:
        die(f"same: {len(errors)} PUTs failed; first: {errors[0]}")
    for key, c, want in [("big/a", cb, big), ("big/b", ca, big)]:
        if get(c, bucket, key) != want:
            die(f"same: {key} reads back wrong through the other server")
    for i in range(50):
        c = cb if i % 2 == 0 else ca
        if get(c, bucket, f"small/{i:02d}") != small:
            die(f"same: small/{i:02d} reads back wrong through the other server")
    say("same: both bodies read back right through both servers")


# ---- put / check / absent: acknowledged and unanswered PUTs -------------------

def small_body(seed, key):
    return random.Random(f"{seed}/{key}").randbytes(4096)


def put(ep, bucket, prefix, n, seed, acked_path, *flags):
    n = int(n)
    make_bucket(client(ep), bucket)
    cls = [client(ep) for _ in range(n)]
    barrier = threading.Barrier(n)
    lock = threading.Lock()
    failed = []
    acked = open(acked_path, "a")

    def one(i):
        key = f"{prefix}/{i:03d}"
        body = small_body(seed, key)
        barrier.wait()
        try:
            cls[i].put_object(Bucket=bucket, Key=key, Body=body)
        except Exception as e:  # noqa: BLE001 - the server may be killed
            with lock:
                failed.append(f"{key}: {code(e)}")
            return
        with lock:
            acked.write(f"{key} {sha(body)}\n")
            acked.flush()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    acked.close()
    say(f"put: {n - len(failed)} of {n} PUTs under {prefix}/ acknowledged")
    if "--all" in flags and failed:
        die(f"put: {len(failed)} PUTs failed; first: {failed[0]}")


def check(ep, bucket, acked_path):
    c = client(ep)
    bad = []
    lines = [l.split() for l in open(acked_path).read().splitlines() if l.strip()]
    for key, want in lines:
        try:
            got = sha(get(c, bucket, key))
        except Exception as e:  # noqa: BLE001
            bad.append(f"{key}: {code(e)}")
            continue
        if got != want:
            bad.append(f"{key}: different bytes")
    if bad:
        die(f"check: {len(bad)} of {len(lines)} acknowledged objects do not read back; "
            f"first: {bad[:3]}")
    say(f"check: {len(lines)} acknowledged objects read back")


def absent(ep, bucket, prefix, *keys):
    c = client(ep)
    try:
        c.head_bucket(Bucket=bucket)
    except ClientError as e:
        if is_404(e):
            return
        raise
    there = [k for k in keys if exists(c, bucket, k)]
    listed = list_keys(c, bucket, prefix)
    if there or listed:
        die(f"absent: PUTs that got no answer left names: HEAD finds {there[:5]}, "
            f"LIST {prefix}/ finds {sorted(listed)[:5]} ({len(there)} and {len(listed)} in all)")


# ---- stall: a slow client --------------------------------------------------

class _UnsignedPayload(S3SigV4Auth):
    def _should_sha256_sign_payload(self, request):
        return False


def stall(ep, bucket, key, path, send):
    make_bucket(client(ep), bucket)
    size = os.path.getsize(path)
    send = min(int(send), size)
    url = f"{ep}/{bucket}/{key}"
    req = AWSRequest(method="PUT", url=url, headers={"Content-Length": str(size)})
    _UnsignedPayload(Credentials(os.environ["A_KEY"], os.environ["A_SECRET"]), "s3",
                     "us-east-1").add_auth(req)
    hostport = ep.split("://", 1)[1]
    host, port = hostport.rsplit(":", 1)
    head = f"PUT /{bucket}/{key} HTTP/1.1\r\nHost: {hostport}\r\n"
    for k, v in req.headers.items():
        if k.lower() != "host":
            head += f"{k}: {v}\r\n"
    s = socket.create_connection((host, int(port)), timeout=30)
    s.sendall((head + "\r\n").encode())
    with open(path, "rb") as f:
        left = send
        while left:
            buf = f.read(min(left, MiB))
            s.sendall(buf)
            left -= len(buf)
    say(f"stall: sent {send} of {size} bytes of {key}; waiting")
    s.settimeout(1)
    end = time.time() + 180
    while time.time() < end:
        try:
            r = s.recv(4096)
        except socket.timeout:
            continue
        except OSError as e:
            say(f"stall: connection gone: {e}")
            return
        if not r:
            say("stall: connection closed without an answer")
            return
        die(f"stall: the server answered a PUT that never sent its body: {r[:200]!r}")


def putfile(ep, bucket, key, path):
    c = client(ep)
    make_bucket(c, bucket)
    body = open(path, "rb").read()
    retry_503(lambda: c.put_object(Bucket=bucket, Key=key, Body=body))
    if RETRIED_503[0]:
        say(f"putfile: {key} stored after {RETRIED_503[0]} 503s")


def delete(ep, bucket, *keys):
    c = client(ep)
    for k in keys:
        c.delete_object(Bucket=bucket, Key=k)


# ---- churn: a workload whose bodies share chunks -----------------------------

def churn(ep, bucket, state_path, seconds, maxsteps):
    seconds, maxsteps = float(seconds), int(maxsteps)
    c0 = client(ep)
    make_bucket(c0, bucket)
    nthreads, nfiles = 4, 30
    # expected[key] = list of acceptable sha256s (ABSENT: no such key). A
    # failed request leaves both the old and the new state acceptable.
    expected = {}
    lock = threading.Lock()
    errors = []
    counts = {"put": 0, "overwrite": 0, "delete": 0, "copy": 0, "revive": 0, "multipart": 0}
    files = []
    for i in range(nfiles):
        rng = random.Random(f"churn/{i}")
        body = rng.randbytes(MiB + rng.randrange(MiB))
        files.append({"i": i, "n": 0, "versions": {0: body}, "rng": rng, "deleted": []})
    t0 = time.time()
    for f in files:  # the base files, before the load starts
        body = f["versions"][0]
        c0.put_object(Bucket=bucket, Key=f"f{f['i']}/v0", Body=body)
        c0.put_object(Bucket=bucket, Key=f"f{f['i']}/cur", Body=body)
        expected[f"f{f['i']}/v0"] = [sha(body)]
        expected[f"f{f['i']}/cur"] = [sha(body)]
    deadline = time.time() + seconds
    say(f"churn: {nfiles} base files in {time.time() - t0:.1f} s; load for {seconds:.0f} s")

    def op(kind, key, fn, new):
        """Runs one request; new = the key's state once it succeeds."""
        with lock:
            old = expected.get(key, [ABSENT])
        try:
            retry_503(fn)
        except Exception as e:  # noqa: BLE001
            with lock:
                errors.append(f"{kind} {key}: {code(e)}: {e}")
                expected[key] = sorted(set(old) | {new})
            return False
        with lock:
            expected[key] = [new]
            counts[kind] += 1
        return True

    def worker(t):
        c = client(ep)
        mine = [f for f in files if f["i"] % nthreads == t]
        step = 0
        while step < maxsteps and time.time() < deadline:
            f = mine[step % len(mine)]
            step += 1
            i, rng = f["i"], f["rng"]
            n = f["n"] + 1
            new = edit(f["versions"][f["n"]], rng)
            h = sha(new)
            # A new version under its own key, then over the current one.
            op("put", f"f{i}/v{n}", lambda: c.put_object(Bucket=bucket, Key=f"f{i}/v{n}", Body=new), h)
            op("overwrite", f"f{i}/cur",
               lambda: c.put_object(Bucket=bucket, Key=f"f{i}/cur", Body=new), h)
            f["versions"][n] = new
            f["n"] = n
            # Old versions go: their edited chunks become garbage.
            if n - 2 in f["versions"]:
                old = f["versions"].pop(n - 2)
                if op("delete", f"f{i}/v{n - 2}",
                      lambda: c.delete_object(Bucket=bucket, Key=f"f{i}/v{n - 2}"), ABSENT):
                    f["deleted"].append(old)
            # A copy of the current version (metadata only), later deleted.
            if step % 3 == 0:
                op("copy", f"c{i}/{n}",
                   lambda: c.copy_object(Bucket=bucket, Key=f"c{i}/{n}",
                                         CopySource={"Bucket": bucket, "Key": f"f{i}/cur"}), h)
                if f"c{i}/{n - 6}" in expected:
                    op("delete", f"c{i}/{n - 6}",
                       lambda: c.delete_object(Bucket=bucket, Key=f"c{i}/{n - 6}"), ABSENT)
            # A deleted version comes back edited: it references the
            # garbage chunks gc may be dooming right now.
            if step % 2 == 0 and f["deleted"]:
                back = edit(f["deleted"].pop(0), rng)
                op("revive", f"r{i}/{n}",
                   lambda: c.put_object(Bucket=bucket, Key=f"r{i}/{n}", Body=back), sha(back))
            # Now and then a multipart upload of old and new bytes.
            if step % 7 == 0:
                p1 = (new * 5)[:5 * MiB]
                p2 = edit(new, rng)

                def mp():
                    up = c.create_multipart_upload(Bucket=bucket, Key=f"m{i}")["UploadId"]
                    e1 = c.upload_part(Bucket=bucket, Key=f"m{i}", UploadId=up, PartNumber=1,
                                       Body=p1)["ETag"]
                    e2 = c.upload_part(Bucket=bucket, Key=f"m{i}", UploadId=up, PartNumber=2,
                                       Body=p2)["ETag"]
                    c.complete_multipart_upload(
                        Bucket=bucket, Key=f"m{i}", UploadId=up,
                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                                   {"PartNumber": 2, "ETag": e2}]})
                op("multipart", f"m{i}", mp, sha(p1 + p2))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump({"expected": expected, "errors": errors, "counts": counts}, open(state_path, "w"))
    say(f"churn: {sum(counts.values())} operations acknowledged in {time.time() - t0:.1f} s "
        f"({', '.join(f'{k} {v}' for k, v in counts.items())}), {len(errors)} failed, "
        f"{RETRIED_503[0]} retried after a 503")
    if errors:
        die(f"churn: {len(errors)} requests failed; first: {errors[:3]}")


def state(ep, bucket, state_path):
    st = json.load(open(state_path))
    c = client(ep)
    bad = []
    for key, ok in sorted(st["expected"].items()):
        try:
            got = sha(get(c, bucket, key))
        except ClientError as e:
            if not is_404(e):
                bad.append(f"{key}: {code(e)}")
                continue
            got = ABSENT
        if got not in ok:
            bad.append(f"{key}: {'gone' if got == ABSENT else 'wrong bytes'}"
                       f"{' (should be gone)' if ok == [ABSENT] else ''}")
    listed = set(list_keys(c, bucket))
    unknown = sorted(listed - set(st["expected"]))
    if unknown:
        bad.append(f"keys nobody PUT are listed: {unknown[:5]}")
    live = sum(1 for ok in st["expected"].values() if ok != [ABSENT])
    if bad:
        die(f"state: {len(bad)} of {len(st['expected'])} keys are wrong; first: {bad[:5]}")
    say(f"state: {live} live keys read back right, {len(st['expected']) - live} deleted ones are gone")


if __name__ == "__main__":
    cmds = {"rw": rw, "same": same, "put": put, "check": check, "absent": absent,
            "stall": stall, "putfile": putfile, "delete": delete, "churn": churn,
            "state": state}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        die(f"usage: see {sys.argv[0]}'s docstring")
    cmds[sys.argv[1]](*sys.argv[2:])
