#!/usr/bin/python3
"""Concurrent small PUTs against a server that is about to be killed, or
against servers whose database or bucket goes away for a while.

    crash_puts.py put ACKED_FILE PREFIX  # PUTs from 16 threads until the server dies
    crash_puts.py load ACKED_FILE PREFIX STOP_FILE ENDPOINT...  # PUTs through outages
    crash_puts.py seen EVENTS OUTCOME SINCE N SECONDS  # through each of N endpoints, a PUT
                                         # begun after SINCE ended with OUTCOME (200, 503)
    crash_puts.py report EVENTS OUTAGES MAX_SECONDS GRACE UNACKED  # what the load saw
    crash_puts.py check ACKED_FILE...    # every acknowledged object reads back intact
    crash_puts.py absent UNACKED ENDPOINT...  # no name for these refused PUTs

put: each thread PUTs objects of 1 byte to 300 KB (random bytes, so they go into
the store as new chunks, most of them small enough to be group-committed) and
appends "key sha256" to ACKED_FILE only after the server answered 200. It stops
at the first connection error (the test kills the server with SIGKILL) or after
60 s. load: the same from 16 threads in all (16 // the number of ENDPOINTs
each, at least 4), but a failed PUT is counted and the thread goes on, until
STOP_FILE exists (120 s at most); the keys the i-th ENDPOINT acknowledged go
to ACKED_FILE.i (i from 0), and every request to ACKED_FILE.events as a line
"i start end outcome key" (times in seconds since the epoch; outcome 200, the
HTTP status of a failure, or the exception's name where no status came back);
prints "503s N others M" on stdout.
seen: waits up to SECONDS until, for each endpoint 0..N-1, a PUT that began
after SINCE (seconds since the epoch) was answered OUTCOME.
report: OUTAGES holds a line "name down_start down_end up_start up_end" for
each time a server the store relies on went down; fails unless every failed
PUT was answered 503 while a server was down (or within GRACE s of its
return), no PUT took MAX_SECONDS or more, each endpoint answered 503s during
each outage (one at least to a PUT begun once the server was down and
answered before it came back), and each acknowledged a PUT after each return. Writes to UNACKED
("i key" lines) the PUTs answered 503 that began once the server was down and
ended before it came back: no name may exist for those (a PUT whose answer
came during a transition may have committed or not).
check: GETs every acknowledged key (through $ENDPOINT) and compares the SHA-256.
absent: HEADs each key of UNACKED through the endpoint after its own: 404.
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


def client(endpoint=None, read_timeout=30):
    return boto3.client(
        "s3", endpoint_url=endpoint or os.environ["ENDPOINT"], region_name="us-east-1",
        aws_access_key_id=os.environ["A_KEY"], aws_secret_access_key=os.environ["A_SECRET"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                      connect_timeout=5, read_timeout=read_timeout))


def make_bucket(s3):
    try:
        s3.create_bucket(Bucket="crash")
    except s3.exceptions.ClientError as e:  # made by an earlier round
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def bodies(prefix, t):
    rng = random.Random(f"{prefix}/{t}")
    n = 0
    while True:
        yield f"{prefix}/t{t}/o{n}", rng.randbytes(rng.choice([1, 100, 4096, 20000, 300000]))
        n += 1


def put(acked_path, prefix):
    make_bucket(client())
    lock = threading.Lock()
    acked = open(acked_path, "w")
    stop = threading.Event()
    started = time.time()

    def worker(t):
        c = client()
        for key, body in bodies(prefix, t):
            if stop.is_set() or time.time() - started >= 60:
                return
            try:
                c.put_object(Bucket="crash", Key=key, Body=body)
            except Exception:  # the server is gone: what was not acknowledged may be lost
                stop.set()
                return
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


def load(acked_path, prefix, stop_file, *endpoints):
    if not endpoints:
        sys.exit("crash_puts.py load: no ENDPOINT")
    make_bucket(client(endpoints[0]))
    lock = threading.Lock()
    acked = [open(f"{acked_path}.{i}", "w") for i in range(len(endpoints))]
    events = open(f"{acked_path}.events", "w")
    started = time.time()
    failed = {"503": 0, "other": 0}
    per = max(4, 16 // len(endpoints))

    def worker(i, t):
        # A long read timeout: a request that takes long shows as slow in the
        # report rather than as a timeout.
        c = client(endpoints[i], read_timeout=60)
        for key, body in bodies(prefix, t):
            if os.path.exists(stop_file) or time.time() - started >= 120:
                return
            begin = time.time()
            try:
                c.put_object(Bucket="crash", Key=key, Body=body)
                outcome = "200"
            except Exception as e:
                code = getattr(e, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
                outcome = str(code) if code else type(e).__name__
            end = time.time()
            with lock:
                events.write(f"{i} {begin:.3f} {end:.3f} {outcome} {key}\n")
                events.flush()
                if outcome == "200":
                    acked[i].write(f"{key} {hashlib.sha256(body).hexdigest()}\n")
                    acked[i].flush()
                else:
                    failed["503" if outcome == "503" else "other"] += 1
            if outcome != "200":
                time.sleep(0.05)

    threads = [threading.Thread(target=worker, args=(i, i * per + t))
               for i in range(len(endpoints)) for t in range(per)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for f in acked + [events]:
        f.close()
    n = sum(1 for i in range(len(endpoints)) for _ in open(f"{acked_path}.{i}"))
    print(f"crash_puts: {n} PUTs acknowledged", file=sys.stderr)
    print(f"503s {failed['503']} others {failed['other']}")


def read_events(path):
    out = []
    for line in open(path):
        f = line.split()
        if len(f) == 5:
            out.append((int(f[0]), float(f[1]), float(f[2]), f[3], f[4]))
    return out


def seen(events_path, outcome, since, n, seconds):
    since, n, deadline = float(since), int(n), time.time() + float(seconds)
    while True:
        ok = {e[0] for e in read_events(events_path) if e[3] == outcome and e[1] > since}
        if len(ok) >= n:
            return
        if time.time() > deadline:
            missing = sorted(set(range(n)) - ok)
            sys.exit(f"crash_puts: no PUT through endpoint(s) {missing} begun after {since:.3f} "
                     f"was answered {outcome} within {seconds} s")
        time.sleep(0.2)


def report(events_path, outages_path, max_seconds, grace, unacked_path):
    events = read_events(events_path)
    outages = [(f[0], *map(float, f[1:5])) for f in
               (line.split() for line in open(outages_path)) if len(f) == 5]
    max_seconds, grace = float(max_seconds), float(grace)
    n = 1 + max((e[0] for e in events), default=0)
    bad = []
    say = lambda msg: print(f"crash_puts: {msg}", file=sys.stderr)
    slowest = max(events, key=lambda e: e[2] - e[1], default=None)
    if slowest and slowest[2] - slowest[1] >= max_seconds:
        bad.append(f"a PUT took {slowest[2] - slowest[1]:.1f} s (endpoint {slowest[0]}, {slowest[3]}, "
                   f"{slowest[4]}; at most {max_seconds:g} s)")
    for e in events:
        if e[3] not in ("200", "503"):
            bad.append(f"a PUT failed with {e[3]}, not 503 (endpoint {e[0]}, {e[4]}, "
                       f"{e[1]:.3f}..{e[2]:.3f})")
        elif e[3] == "503" and not any(o[1] <= e[2] and e[1] <= o[4] + grace for o in outages):
            bad.append(f"a PUT was answered 503 with every server up (endpoint {e[0]}, {e[4]}, "
                       f"{e[1]:.3f}..{e[2]:.3f})")
    unacked = []
    for k, (name, down0, down1, up0, up1) in enumerate(outages):
        until = outages[k + 1][1] if k + 1 < len(outages) else float("inf")
        parts = []
        for i in range(n):
            mine = [e for e in events if e[0] == i]
            n503 = sum(1 for e in mine if e[3] == "503" and down0 <= e[2] and e[1] <= up1 + grace)
            inside = [e for e in mine if e[3] == "503" and e[1] >= down1 and e[2] <= up0]
            unacked += [f"{i} {e[4]}" for e in inside]
            after = [e for e in mine if e[1] > up1 and e[2] < until]
            ok = [e for e in after if e[3] == "200"]
            last_fail = max((e[2] for e in after if e[3] != "200"), default=None)
            parts.append(f"endpoint {i}: {n503} 503s ({len(inside)} wholly inside), "
                         f"{len(ok)} of {len(after)} PUTs acknowledged after it came back"
                         + (f" (first at +{min(e[2] for e in ok) - up1:.1f} s)" if ok else "")
                         + (f", the last failure at +{last_fail - up1:.1f} s" if last_fail else ""))
            if not inside:
                bad.append(f"{name}: endpoint {i} answered no 503 to a PUT begun while it was down")
            if not ok:
                bad.append(f"{name}: no PUT through endpoint {i} succeeded after it came back")
        say(f"{name} down {down1 - down0:.1f} s to stop, {up0 - down1:.1f} s down, "
            f"{up1 - up0:.1f} s to start; " + "; ".join(parts))
    if slowest:
        say(f"{len(events)} PUTs, the slowest {slowest[2] - slowest[1]:.1f} s ({slowest[3]})")
    with open(unacked_path, "w") as f:
        f.writelines(line + "\n" for line in unacked)
    for msg in bad[:10]:
        say(msg)
    if len(bad) > 10:
        say(f"... and {len(bad) - 10} more")
    sys.exit(1 if bad else 0)


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


def absent(unacked_path, *endpoints):
    clients = [client(ep) for ep in endpoints]
    bad = checked = 0
    for line in open(unacked_path):
        if not line.strip():
            continue
        i, key = line.split()
        c = clients[(int(i) + 1) % len(clients)]
        checked += 1
        try:
            c.head_object(Bucket="crash", Key=key)
        except Exception as e:
            if getattr(e, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                continue
            print(f"crash_puts: HEAD {key} (refused with 503): {e}", file=sys.stderr)
            bad += 1
            continue
        print(f"crash_puts: {key} was refused with 503 but has a name", file=sys.stderr)
        bad += 1
    print(f"crash_puts: {checked} PUTs refused with 503 checked absent, {bad} bad", file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    {"put": put, "load": load, "seen": seen, "report": report, "check": check,
     "absent": absent}[sys.argv[1]](*sys.argv[2:])
