"""Request bodies that break their promises: cut short (the client goes
away, or half-closes), longer than Content-Length, or not matching the
checksum or payload hash they were sent with.

A failed PUT must leave no trace: the key stays absent (or keeps its
previous version), no pack file (sealed or *.tmp) is left, and the
store's name count in /metrics does not move.
"""

import base64
import hashlib
import socket

import s3raw
from robust_base import RobustCase, random_bytes, pack_files
from input_tests import upload_id

MiB = 1 << 20


class PartialBodyTest(RobustCase):
    """4, 5, 6: truncated bodies and wrong Content-Length."""
    bucket = "robust-body"

    def send_partial(self, path, declared, data, payload_hash=s3raw.UNSIGNED, half_close=False):
        """PUT with Content-Length `declared` but only `data` sent. Closes the
        socket, or with half_close shuts our write side and returns the
        server's responses."""
        hs = s3raw.sign("PUT", path, payload_hash=payload_hash)
        s = s3raw.connect(timeout=60)
        try:
            s.sendall(s3raw.head_bytes("PUT", s3raw.quote_path(path), hs, declared))
            for i in range(0, len(data), MiB):
                s.sendall(data[i:i + MiB])
            if not half_close:
                return None
            s.shutdown(socket.SHUT_WR)
            return s3raw.parse_responses(s3raw.read_until_closed(s), ["PUT"])
        finally:
            s.close()

    def test_truncated_body(self):
        """Content-Length 1 MiB, 100 KiB sent, then close: nothing committed."""
        full = random_bytes(MiB, 40)
        old = b"the previous version"
        s3raw.put(self.path("trunc-old"), old)
        cases = [("trunc-new", s3raw.UNSIGNED), ("trunc-new-signed", hashlib.sha256(full).hexdigest()),
                 ("trunc-old", s3raw.UNSIGNED)]
        for key, ph in cases:
            with self.subTest(key):
                what = "PUT %s (Content-Length 1 MiB, %s) closed after 100 KiB" % (
                    self.path(key), "signed payload" if ph != s3raw.UNSIGNED else "unsigned")
                before = self.snapshot()
                self.send_partial(self.path(key), MiB, full[:100 * 1024], ph)
                self.assertUnchanged(before, what)
                if key == "trunc-old":
                    self.assertContent(self.path(key), old, what)
                else:
                    self.assertAbsent(self.path(key), what)

    def test_disconnect_mid_upload(self):
        """64 MiB declared, 10 MiB sent, then close: nothing committed, no
        *.tmp pack left, and the server goes on serving."""
        what = "PUT %s (Content-Length 64 MiB) closed after 10 MiB" % self.path("big-cut")
        before = self.snapshot()
        self.send_partial(self.path("big-cut"), 64 * MiB, random_bytes(10 * MiB, 50))
        self.assertUnchanged(before, what)
        self.assertAbsent(self.path("big-cut"), what)
        tmp = sorted(f for f in pack_files() if f.endswith(".tmp"))
        self.assertEqual(tmp, [], "%s: temporary pack files left: %s" % (what, tmp))
        data = random_bytes(3 * MiB, 51)
        s3raw.put(self.path("after-cut"), data)
        self.assertContent(self.path("after-cut"), data, "PUT/GET round trip after " + what)

    def test_content_length_longer_than_body(self):
        what = "PUT %s with Content-Length 4096, 1000 bytes sent, then close" % self.path("cl-long")
        before = self.snapshot()
        self.send_partial(self.path("cl-long"), 4096, random_bytes(1000, 60))
        self.assertUnchanged(before, what)
        self.assertAbsent(self.path("cl-long"), what)
        # Half-closed instead: the server can still answer, and should say why.
        what = ("PUT %s with Content-Length 4096, 1000 bytes sent, then shutdown(SHUT_WR)"
                % self.path("cl-half"))
        before = self.snapshot()
        rs = self.send_partial(self.path("cl-half"), 4096, random_bytes(1000, 61), half_close=True)
        self.assertTrue(rs, "%s: expected 400 IncompleteBody, got no response" % what)
        self.assertS3Error(rs[0], 400, "IncompleteBody", what)
        self.assertUnchanged(before, what)
        self.assertAbsent(self.path("cl-half"), what)

    def pipelined(self, key, body, declared, extra):
        """PUT with Content-Length `declared` followed by `extra` on the same
        keep-alive connection; returns the responses until the server closes."""
        path = self.path(key)
        hs = s3raw.sign("PUT", path, payload_hash=s3raw.UNSIGNED)
        with s3raw.connect(timeout=60) as s:
            s.sendall(s3raw.head_bytes("PUT", s3raw.quote_path(path), hs, declared) + body + extra)
            s.shutdown(socket.SHUT_WR)  # so a half request in `extra` cannot hang the test
            return s3raw.parse_responses(s3raw.read_until_closed(s), ["PUT", "GET"])

    def test_body_longer_than_content_length(self):
        """The bytes past Content-Length are the next request."""
        what = "PUT %s with Content-Length 10 followed by 'GARBAGE NOT HTTP\\r\\n\\r\\n'" % (
            self.path("cl-short"))
        rs = self.pipelined("cl-short", b"0123456789", 10, b"GARBAGE NOT HTTP\r\n\r\n")
        self.assertTrue(len(rs) >= 1 and rs[0].status == 200,
                        "%s: expected 200 for the PUT, got %s" % (what, [r.describe() for r in rs]))
        self.assertTrue(len(rs) == 2 and rs[1].status == 400,
                        "%s: expected 400 for the extra bytes, got %s" % (
                            what, [r.describe() for r in rs[1:]] or "no second response"))
        self.assertContent(self.path("cl-short"), b"0123456789", what)
        self.assertAlive(what)

        # The extra bytes as a half request line: no response is owed, but
        # the PUT must stand and the server must live.
        what = "PUT %s with Content-Length 10 followed by 'xyzzy' and EOF" % self.path("cl-short2")
        rs = self.pipelined("cl-short2", b"abcdefghij", 10, b"xyzzy")
        self.assertTrue(rs and rs[0].status == 200,
                        "%s: expected 200 for the PUT, got %s" % (what, [r.describe() for r in rs]))
        self.assertContent(self.path("cl-short2"), b"abcdefghij", what)
        self.assertAlive(what)

        # The extra bytes as a real signed request: served as such.
        path = self.path("cl-short3")
        get = s3raw.head_bytes("GET", s3raw.quote_path(path), s3raw.sign("GET", path))
        what = "PUT %s with Content-Length 5 followed by a signed GET of it" % path
        rs = self.pipelined("cl-short3", b"12345", 5, get)
        self.assertTrue(len(rs) == 2 and rs[0].status == 200 and rs[1].status == 200
                        and rs[1].body == b"12345",
                        "%s: expected 200, then 200 '12345', got %s" % (
                            what, [r.describe() for r in rs]))


def b64(raw):
    return base64.b64encode(raw).decode()


class ChecksumTest(RobustCase):
    """7. Checksums and payload hashes that do not match the body."""
    bucket = "robust-checksum"
    OLD = b"version one, which must survive"

    def bad_cases(self):
        other = b"some other body"
        return [
            ("x-amz-checksum-crc32c wrong", {"x-amz-checksum-crc32c": s3raw.crc32c_b64(other)},
             None, 400, "BadDigest"),
            ("x-amz-checksum-sha256 wrong",
             {"x-amz-checksum-sha256": b64(hashlib.sha256(other).digest())}, None, 400,
             "BadDigest"),
            ("Content-MD5 of another body", {"Content-MD5": b64(hashlib.md5(other).digest())},
             None, 400, "BadDigest"),
            ("Content-MD5 not base64", {"Content-MD5": "not*base64!"}, None, 400, "InvalidDigest"),
            ("Content-MD5 of 15 bytes", {"Content-MD5": b64(b"x" * 15)}, None, 400,
             "InvalidDigest"),
            ("x-amz-content-sha256 of another body", {}, hashlib.sha256(other).hexdigest(), 400,
             "XAmzContentSHA256Mismatch"),
        ]

    def test_put_object(self):
        s3raw.put(self.path("old"), self.OLD)
        body = random_bytes(300_000, 70)  # new chunks: the failed put writes frames
        for i, (name, headers, ph, status, code) in enumerate(self.bad_cases()):
            for key in ("new-%d" % i, "old"):
                with self.subTest(name=name, key=key):
                    what = "PUT %s with %s" % (self.path(key), name)
                    before = self.snapshot()
                    r = s3raw.request("PUT", self.path(key), body=body, headers=headers,
                                      payload_hash=ph)
                    self.assertS3Error(r, status, code, what)
                    self.assertUnchanged(before, what)
                    if key == "old":
                        self.assertContent(self.path(key), self.OLD, what)
                    else:
                        self.assertAbsent(self.path(key), what)

    def test_matching_checksums_accepted(self):
        # The control: the same headers with the right values are accepted,
        # so the failures above are about the values.
        body = random_bytes(5000, 71)
        headers = {"x-amz-checksum-crc32c": s3raw.crc32c_b64(body),
                   "Content-MD5": b64(hashlib.md5(body).digest())}
        r = s3raw.request("PUT", self.path("good"), body=body, headers=headers)
        self.assertEqual(r.status, 200, "PUT with matching checksums: " + r.describe())
        self.assertEqual(r.header("x-amz-checksum-crc32c"), headers["x-amz-checksum-crc32c"])
        self.assertContent(self.path("good"), body, "PUT with matching checksums")

    def test_upload_part(self):
        key = "mp"
        r = s3raw.request("POST", self.path(key), query="uploads")
        self.assertEqual(r.status, 200, "CreateMultipartUpload: " + r.describe())
        uid = upload_id(r.body)
        body = random_bytes(300_000, 72)
        for name, headers, ph, status, code in self.bad_cases():
            with self.subTest(name):
                what = "UploadPart %s?partNumber=1 with %s" % (self.path(key), name)
                before = self.snapshot()
                r = s3raw.request("PUT", self.path(key), query="partNumber=1&uploadId=" + uid,
                                  body=body, headers=headers, payload_hash=ph)
                self.assertS3Error(r, status, code, what)
                self.assertUnchanged(before, what)
                r = s3raw.request("GET", self.path(key), query="uploadId=" + uid)
                self.assertEqual(r.status, 200, "ListParts: " + r.describe())
                self.assertNotIn(b"<Part>", r.body, "%s: ListParts shows a part" % what)
