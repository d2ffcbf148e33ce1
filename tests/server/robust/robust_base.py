"""Shared assertions for the robustness tests.

Every failure message names the request, what was expected and what came
back, so a failing run reads as a bug report for the server.
"""

import os
import random
import time
import unittest

import s3raw

STORE = os.environ.get("ROBUST_STORE", "")


def random_bytes(n, seed):
    # Random so that the store can neither dedup nor compress it: a failed
    # PUT of these bytes really writes pack frames that must be cleaned up.
    return random.Random(seed).randbytes(n)


def pack_files():
    """Every file under STORE/packs (sealed packs and *.tmp), relative."""
    out = set()
    root = os.path.join(STORE, "packs")
    for d, _, files in os.walk(root):
        for f in files:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


class RobustCase(unittest.TestCase):
    bucket = None  # each test class works in its own bucket

    @classmethod
    def setUpClass(cls):
        if cls.bucket:
            r = s3raw.request("PUT", "/" + cls.bucket)
            assert r.status in (200, 409), "create bucket %s: %s" % (cls.bucket, r.describe())

    def path(self, key):
        return "/%s/%s" % (self.bucket, key)

    def assertS3Error(self, r, status, code, what):
        """r is an error with this status and (when given) XML Code."""
        want = "%d %s" % (status, code) if code else str(status)
        self.assertTrue(r.status == status and (code is None or r.code() == code),
                        "%s: expected %s, got %s" % (what, want, r.describe()))

    def assertAbsent(self, path, what):
        """Nothing is stored under path: HEAD is 404 and listing omits it."""
        r = s3raw.head(path)
        self.assertEqual(r.status, 404, "%s: afterwards HEAD %s expected 404, got %s"
                         % (what, path, r.describe()))
        bucket, key = path[1:].split("/", 1)
        self.assertNotIn(key, s3raw.list_keys(bucket),
                         "%s: afterwards %s is listed in its bucket" % (what, path))

    def assertContent(self, path, data, what):
        """GET path returns exactly data (a previous version survived)."""
        r = s3raw.get(path)
        self.assertEqual(r.status, 200, "%s: afterwards GET %s expected 200, got %s"
                         % (what, path, r.describe()))
        self.assertTrue(r.body == data, "%s: afterwards GET %s returned %d bytes that differ "
                        "from the %d stored before" % (what, path, len(r.body), len(data)))

    def wait_idle(self, what):
        """Waits (up to 30 s) until the server has no request in progress
        but our /metrics probe: a request whose client went away must have
        ended (and cleaned up) before we look at the store."""
        deadline = time.monotonic() + 30
        while True:
            m = s3raw.metrics()
            if m.get("as_http_requests_in_flight", 0) <= 1:
                return m
            if time.monotonic() > deadline:
                self.fail("%s: the server still has %d requests in flight 30 s after the client "
                          "left" % (what, m["as_http_requests_in_flight"] - 1))
            time.sleep(0.1)

    def snapshot(self):
        """What a failed request must not change: pack files and store gauges."""
        m = self.wait_idle("before the request")
        return (pack_files(), m.get("as_store_names"), m.get("as_store_logical_bytes"))

    def assertUnchanged(self, before, what):
        """Compared with snapshot(): no new or leftover pack file (no *.tmp,
        no sealed pack of a failed put), no new name, no new logical bytes."""
        m = self.wait_idle(what)
        packs, names, logical = before
        now = pack_files()
        self.assertEqual(sorted(now - packs), [],
                         "%s: pack files left behind by a failed request" % what)
        self.assertEqual(m.get("as_store_names"), names,
                         "%s: /metrics as_store_names changed" % what)
        self.assertEqual(m.get("as_store_logical_bytes"), logical,
                         "%s: /metrics as_store_logical_bytes changed" % what)

    def assertAlive(self, what):
        self.assertTrue(s3raw.server_alive(),
                        "%s: the server no longer answers GET /healthz" % what)
