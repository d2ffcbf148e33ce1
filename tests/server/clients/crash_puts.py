#!/usr/bin/python3
"""Concurrent small PUTs against a server that is about to be killed.

    crash_puts.py put ACKED_FILE PREFIX  # PUTs from 16 threads until the server dies
    crash_puts.py load ACKED_FILE PREFIX STOP_FILE  # PUTs through an outage
    crash_puts.py check ACKED_FILE...    # every acknowledged object reads back intact

put: each thread PUTs objects of 1 byte to 300 KB (random bytes, so they go into
the store as new chunks, most of them small enough to be group-committed) and
appends "key sha256" to ACKED_FILE only after the server answered 200. It stops
at the first connection error (the test kills the server with SIGKILL) or after
60 s. load: the same, but a failed PUT is counted (as 503 or other) and the
thread goes on, until STOP_FILE exists; prints "503s N others M" on stdout.
check: GETs every acknowledged key and compares the SHA-256.
Environment: ENDPOINT, A_KEY, A_SECRET (lib.sh start_server). Debian's python3.
"""
import hashlib
import os
import random
import sys
import threading
import time

import boto3
from botocore.config import Config


def client():
    return boto3.client(
        "s3", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
        aws_access_key_id=os.environ["A_KEY"], aws_secret_access_key=os.environ["A_SECRET"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                      connect_timeout=5, read_timeout=30))


def put(acked_path, prefix, stop_file=None):
    s3 = client()
    try:
        s3.create_bucket(Bucket="crash")
    except s3.exceptions.ClientError as e:  # made by an earlier round
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    lock = threading.Lock()
    acked = open(acked_path, "w")
    stop = threading.Event()
    started = time.time()
    failed = {"503": 0, "other": 0}
    limit = 120 if stop_file else 60

    def worker(t):
        c = client()
        rng = random.Random(f"{prefix}/{t}")
        n = 0
        while not stop.is_set() and time.time() - started < limit:
            if stop_file and os.path.exists(stop_file):
                return
            body = rng.randbytes(rng.choice([1, 100, 4096, 20000, 300000]))
            key = f"{prefix}/t{t}/o{n}"
            n += 1
            try:
                c.put_object(Bucket="crash", Key=key, Body=body)
            except Exception as e:
                if not stop_file:  # the server is gone: what was not acknowledged may be lost
                    stop.set()
                    return
                code = getattr(e, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
                with lock:
                    failed["503" if code == 503 else "other"] += 1
                time.sleep(0.05)
                continue
            with lock:
                acked.write(f"{key} {hashlib.sha256(body).hexdigest()}\n")
                acked.flush()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    acked.close()
    print(f"crash_puts: {sum(1 for _ in open(acked_path))} PUTs acknowledged", file=sys.stderr)
    if stop_file:
        print(f"503s {failed['503']} others {failed['other']}")


def check(*acked_paths):
    s3 = client()
    bad = 0
    lines = [line for p in acked_paths for line in open(p).read().split("\n")]
    for line in filter(None, lines):
        key, want = line.split()
        try:
            got = hashlib.sha256(s3.get_object(Bucket="crash", Key=key)["Body"].read()).hexdigest()
        except Exception as e:
            print(f"crash_puts: acknowledged {key} is gone: {e}", file=sys.stderr)
            bad += 1
            continue
        if got != want:
            print(f"crash_puts: acknowledged {key} reads back different bytes", file=sys.stderr)
            bad += 1
    print(f"crash_puts: {len(list(filter(None, lines)))} acknowledged objects checked, {bad} bad",
          file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    {"put": put, "load": put, "check": check}[sys.argv[1]](*sys.argv[2:])
