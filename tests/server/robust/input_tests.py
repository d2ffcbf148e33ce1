"""Bad input: malformed XML, oversized headers, bad ranges, bodies that are
cut short or longer than declared, checksums that do not match.

Each test asserts the exact status and S3 error Code, and that a failed
request left nothing behind (no key, no pack file, no new name in /metrics).
"""

import re
import socket

import s3raw
from robust_base import RobustCase, random_bytes


def upload_id(xml):
    m = re.search(rb"<UploadId>([^<]+)</UploadId>", xml)
    assert m, "no UploadId in %r" % xml[:300]
    return m.group(1).decode()


class MalformedXmlTest(RobustCase):
    """1. Malformed XML bodies answer 400 MalformedXML and change nothing."""
    bucket = "robust-xml"

    BAD = [
        ("truncated", b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"),
        ("not xml", b"this is not xml at all"),
        ("empty", b""),
        ("unclosed tag", b"<CompleteMultipartUpload><Part></CompleteMultipartUpload>"),
        ("garbage after root", b"<CompleteMultipartUpload></CompleteMultipartUpload><x>"),
    ]

    def test_complete_multipart(self):
        key = "mp-malformed"
        r = s3raw.request("POST", self.path(key), query="uploads")
        self.assertEqual(r.status, 200, "CreateMultipartUpload: " + r.describe())
        uid = upload_id(r.body)
        part = random_bytes(200_000, 1)
        r = s3raw.request("PUT", self.path(key), query="partNumber=1&uploadId=" + uid, body=part)
        self.assertEqual(r.status, 200, "UploadPart: " + r.describe())
        etag = r.header("etag")
        for name, body in self.BAD:
            with self.subTest(name):
                what = "POST %s?uploadId (CompleteMultipartUpload) with %s XML" % (
                    self.path(key), name)
                before = self.snapshot()
                r = s3raw.request("POST", self.path(key), query="uploadId=" + uid, body=body)
                self.assertS3Error(r, 400, "MalformedXML", what)
                self.assertAbsent(self.path(key), what)
                self.assertUnchanged(before, what)
        # The upload survived the bad attempts: a well-formed Complete works.
        good = ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag>"
                "</Part></CompleteMultipartUpload>" % etag).encode()
        r = s3raw.request("POST", self.path(key), query="uploadId=" + uid, body=good)
        self.assertEqual(r.status, 200, "Complete after malformed attempts: " + r.describe())
        self.assertContent(self.path(key), part, "Complete after malformed attempts")

    def test_delete_objects(self):
        keep = random_bytes(1000, 2)
        s3raw.put(self.path("victim"), keep)
        bad = [
            ("truncated", b"<Delete><Object><Key>victim</Key></Object>"),
            ("not xml", b"victim"),
            ("empty", b""),
            ("wrong root", b"<Remove><Object><Key>victim</Key></Object></Remove>"),
            ("unclosed key", b"<Delete><Object><Key>victim</Object></Delete>"),
            # Bigger than the server's 1 MiB limit for this body.
            ("2 MiB", b"<Delete><Object><Key>victim</Key></Object>" + b" " * (2 << 20)
             + b"</Delete>"),
        ]
        for name, body in bad:
            with self.subTest(name):
                what = "POST /%s?delete (DeleteObjects) with %s XML" % (self.bucket, name)
                try:
                    r = s3raw.request("POST", "/" + self.bucket, query="delete", body=body)
                except (ConnectionError, socket.timeout) as e:
                    self.fail("%s: expected 400 MalformedXML, got no response (%r)" % (what, e))
                self.assertS3Error(r, 400, "MalformedXML", what)
                self.assertContent(self.path("victim"), keep, what)
        self.assertAlive("after malformed DeleteObjects")


class OversizedHeaderTest(RobustCase):
    """2. A request header over the limit gets 431 (or 400) and the
    connection closes; the next connection is served normally."""

    CASES = [
        ("one 64 KiB header", "GET", "/healthz", [("X-Pad", "a" * 65536)]),
        ("4000 small headers", "GET", "/healthz", [("X-H%d" % i, "v" * 8) for i in range(4000)]),
        ("64 KiB request target", "GET", "/healthz?" + "q" * 65536, []),
        ("64 KiB header on a PUT", "PUT", "/robust-none/k", [("X-Pad", "b" * 65536)]),
    ]

    def test_oversized_headers(self):
        for name, method, target, headers in self.CASES:
            with self.subTest(name):
                what = "%s with %s" % (method, name)
                with s3raw.connect(timeout=30) as s:
                    s.sendall(s3raw.head_bytes(method, target, headers,
                                               100 if method == "PUT" else None))
                    try:
                        data = s3raw.read_until_closed(s)
                    except socket.timeout:
                        self.fail("%s: the server neither answered nor closed in 30 s" % what)
                rs = s3raw.parse_responses(data, [method])
                self.assertTrue(rs, "%s: expected 431, got no response (%r)" % (what, data[:200]))
                self.assertIn(rs[0].status, (431, 400),
                              "%s: expected 431 (or 400), got %s" % (what, rs[0].describe()))
                # read_until_closed returned: the server closed the connection.
                self.assertAlive(what)


class RangeTest(RobustCase):
    """3. Range requests: unsatisfiable is 416, invalid is ignored."""
    bucket = "robust-range"
    DATA = bytes(range(100))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s3raw.put("/%s/r" % cls.bucket, cls.DATA)

    def check(self, rng, status, body, content_range, path=None, method="GET"):
        path = path or self.path("r")
        what = "%s %s with Range: %s" % (method, path, rng)
        r = s3raw.request(method, path, headers={"Range": rng})
        self.assertEqual(r.status, status, "%s: expected %d, got %s" % (what, status,
                                                                        r.describe()))
        if body is not None:
            self.assertEqual(r.body, body, "%s: wrong body" % what)
        self.assertEqual(r.header("content-range"), content_range,
                         "%s: wrong Content-Range" % what)
        return r

    def test_unsatisfiable(self):
        r = self.check("bytes=999999-", 416, None, "bytes */100")
        self.assertS3Error(r, 416, "InvalidRange", "GET with Range: bytes=999999-")
        self.assertNotIn(self.DATA[:20], r.body, "416 body carries object bytes")
        self.check("bytes=100-", 416, None, "bytes */100")
        self.check("bytes=-0", 416, None, "bytes */100")
        self.check("bytes=999999-", 416, b"", "bytes */100", method="HEAD")

    def test_ignored(self):
        # Invalid (not unsatisfiable) ranges are ignored: 200, whole body.
        for rng in ("bytes=5-2", "bytes=abc", "bytes=1-2,4-5", "items=0-1", "bytes=--5"):
            self.check(rng, 200, self.DATA, None)

    def test_partial(self):
        self.check("bytes=-5", 206, self.DATA[-5:], "bytes 95-99/100")
        self.check("bytes=3-", 206, self.DATA[3:], "bytes 3-99/100")
        self.check("bytes=0-0", 206, self.DATA[:1], "bytes 0-0/100")
        self.check("bytes=50-1000", 206, self.DATA[50:], "bytes 50-99/100")
        self.check("bytes=-1000", 206, self.DATA, "bytes 0-99/100")

    def test_blob_ranges(self):
        r = s3raw.head(self.path("r"))
        digest = r.header("x-amz-meta-as-content")
        self.assertTrue(digest and digest.startswith("blake3:"), "HEAD: " + str(r.headers))
        blob = "/v1/blobs/" + digest
        r = self.check("bytes=999999-", 416, None, "bytes */100", path=blob)
        self.assertS3Error(r, 416, "InvalidRange", "GET %s with Range: bytes=999999-" % blob)
        self.check("bytes=5-2", 200, self.DATA, None, path=blob)
        self.check("bytes=-5", 206, self.DATA[-5:], "bytes 95-99/100", path=blob)
        self.check("bytes=3-", 206, self.DATA[3:], "bytes 3-99/100", path=blob)
