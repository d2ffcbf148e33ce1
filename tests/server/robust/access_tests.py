"""Who may see what: SigV4 failures (8) and tenant isolation (9).

Tenant A owns the data; tenant B has valid keys of its own. Whatever B
asks, A's bytes must never come back, and nothing B does may change A's
objects or uploads.
"""

import subprocess

import s3raw
from robust_base import RobustCase, random_bytes
from input_tests import upload_id


class AuthTest(RobustCase):
    """8. Authentication failures: exact 403 codes, no data, nothing stored."""
    bucket = "robust-auth"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.DATA = random_bytes(4096, 80)
        cls.OTHER = random_bytes(4096, 81)
        s3raw.put("/%s/obj" % cls.bucket, cls.DATA)
        s3raw.put("/%s/other" % cls.bucket, cls.OTHER)

    def check(self, what, r, code):
        self.assertS3Error(r, 403, code, what)
        self.assertNotIn(self.DATA[:64], r.body, "%s: the 403 carries object bytes" % what)

    def cases(self):
        # (name, request kwargs, expected code)
        return [
            ("wrong secret", dict(secret="w" * 40), "SignatureDoesNotMatch"),
            ("unknown access key id", dict(key="ASNOSUCHKEY000000000"), "InvalidAccessKeyId"),
            ("no authentication", dict(signed=False), "AccessDenied"),
            ("x-amz-date 20 minutes old", dict(shift_seconds=-20 * 60), "RequestTimeTooSkewed"),
            ("x-amz-date 20 minutes ahead", dict(shift_seconds=20 * 60), "RequestTimeTooSkewed"),
        ]

    def test_get_refused(self):
        for name, kw, code in self.cases():
            with self.subTest(name):
                for method in ("GET", "HEAD"):
                    r = s3raw.request(method, self.path("obj"), **kw)
                    # A HEAD answer has no body, so no Code to compare.
                    self.check("%s %s with %s" % (method, self.path("obj"), name), r,
                               code if method == "GET" else None)

    def test_put_refused(self):
        for i, (name, kw, code) in enumerate(self.cases()):
            with self.subTest(name):
                what = "PUT %s with %s" % (self.path("obj"), name)
                before = self.snapshot()
                r = s3raw.request("PUT", self.path("obj"), body=b"intruder", **kw)
                self.check(what, r, code)
                self.assertContent(self.path("obj"), self.DATA, what)
                what = "PUT %s with %s" % (self.path("new-%d" % i), name)
                r = s3raw.request("PUT", self.path("new-%d" % i), body=b"intruder", **kw)
                self.check(what, r, code)
                self.assertAbsent(self.path("new-%d" % i), what)
                self.assertUnchanged(before, what)

    def test_header_changed_after_signing(self):
        path = self.path("obj")
        hs = s3raw.sign("GET", path, headers={"x-amz-meta-a": "1"})
        hs = [(k, "2" if k.lower() == "x-amz-meta-a" else v) for k, v in hs]
        with s3raw.connect() as s:
            s.sendall(s3raw.head_bytes("GET", path, hs))
            r = s3raw.read_response(s)
        self.check("GET %s with a signed header changed after signing" % path, r,
                   "SignatureDoesNotMatch")
        hs = s3raw.sign("GET", path) + [("x-amz-meta-unsigned", "1")]
        with s3raw.connect() as s:
            s.sendall(s3raw.head_bytes("GET", path, hs))
            r = s3raw.read_response(s)
        self.check("GET %s with an unsigned x-amz-* header" % path, r, "AccessDenied")

    def test_presigned(self):
        path = self.path("obj")
        target = s3raw.presign("GET", path)
        r = s3raw.request("GET", path, signed=False, target=target)
        self.assertEqual(r.status, 200, "presigned GET %s (control): %s" % (path, r.describe()))
        self.assertEqual(r.body, self.DATA)

        expired = s3raw.presign("GET", path, expires=60, shift_seconds=-3600)
        r = s3raw.request("GET", path, signed=False, target=expired)
        self.check("presigned GET %s signed an hour ago for 60 s" % path, r, "AccessDenied")

        tampered = target.replace("/obj?", "/other?", 1)
        r = s3raw.request("GET", path, signed=False, target=tampered)
        self.check("presigned GET of %s sent for %s" % (path, self.path("other")), r,
                   "SignatureDoesNotMatch")
        self.assertNotIn(self.OTHER[:64], r.body, "tampered presigned URL returned the other key")

        # An expired presigned PUT stores nothing.
        put_path = self.path("presigned-put")
        expired = s3raw.presign("PUT", put_path, expires=60, shift_seconds=-3600)
        r = s3raw.request("PUT", put_path, signed=False, target=expired, body=b"late")
        what = "presigned PUT %s signed an hour ago for 60 s" % put_path
        self.check(what, r, "AccessDenied")
        self.assertAbsent(put_path, what)


def b3sum(data):
    out = subprocess.run(["b3sum", "--no-names"], input=data, capture_output=True, check=True)
    return "blake3:" + out.stdout.decode().strip()


class TenantIsolationTest(RobustCase):
    """9. Tenant B's keys on tenant A's bucket, objects, uploads and blobs."""
    bucket = "robust-iso"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.SECRET = b"A-ONLY:" + random_bytes(100_000, 90)
        s3raw.put("/%s/secret.bin" % cls.bucket, cls.SECRET)

    def refused(self, r, what):
        self.assertIn(r.status, (403, 404), "%s: expected 403 or 404, got %s" % (what,
                                                                                r.describe()))
        self.assertNotIn(self.SECRET[:64], r.body, "%s: the answer carries A's bytes" % what)
        # (An error may echo the requested key in <Key> or <Resource>; a
        # listing entry would be a leak.)
        self.assertNotIn(b"<Contents>", r.body, "%s: the answer lists objects" % what)

    def test_b_cannot_reach_a_objects(self):
        p = self.path("secret.bin")
        self.refused(s3raw.get(p, key="B"), "GET %s with B's keys" % p)
        self.refused(s3raw.head(p, key="B"), "HEAD %s with B's keys" % p)
        self.refused(s3raw.request("GET", "/" + self.bucket, query="list-type=2", key="B"),
                     "ListObjectsV2 /%s with B's keys" % self.bucket)
        self.refused(s3raw.request("GET", "/" + self.bucket, key="B"),
                     "ListObjects /%s with B's keys" % self.bucket)
        self.refused(s3raw.request("DELETE", p, key="B"), "DELETE %s with B's keys" % p)
        self.refused(s3raw.request("PUT", p, body=b"B was here", key="B"),
                     "PUT %s with B's keys" % p)
        self.refused(s3raw.request("PUT", self.path("from-b"), body=b"B was here", key="B"),
                     "PUT %s with B's keys" % self.path("from-b"))
        self.refused(s3raw.request("POST", "/" + self.bucket, query="delete", key="B",
                                   body=b"<Delete><Object><Key>secret.bin</Key></Object></Delete>"),
                     "DeleteObjects on /%s with B's keys" % self.bucket)
        self.refused(s3raw.request("PUT", self.path("copy"), key="B",
                                   headers={"x-amz-copy-source": p}),
                     "CopyObject of %s into A's bucket with B's keys" % p)
        # Copy from A's bucket into a bucket B owns.
        r = s3raw.request("PUT", "/robust-iso-b", key="B")
        self.assertIn(r.status, (200, 409), "CreateBucket robust-iso-b with B's keys: "
                      + r.describe())
        self.refused(s3raw.request("PUT", "/robust-iso-b/stolen", key="B",
                                   headers={"x-amz-copy-source": p}),
                     "CopyObject of %s into B's bucket with B's keys" % p)
        r = s3raw.get("/robust-iso-b/stolen", key="B")
        self.assertS3Error(r, 404, "NoSuchKey", "GET /robust-iso-b/stolen (B's failed copy)")
        r = s3raw.request("GET", "/", key="B")
        self.assertEqual(r.status, 200, "ListBuckets with B's keys: " + r.describe())
        self.assertNotIn(b"<Name>%s</Name>" % self.bucket.encode(), r.body,
                         "ListBuckets with B's keys lists A's bucket")
        self.assertContent(p, self.SECRET, "after B's attempts")
        self.assertAbsent(self.path("from-b"), "after B's PUT")
        self.assertAbsent(self.path("copy"), "after B's copy")

    def test_same_bucket_name_is_separate(self):
        # Buckets are per tenant: B may own a bucket of the same name, and
        # then sees its own (empty) namespace, never A's objects.
        r = s3raw.request("PUT", "/" + self.bucket, key="B")
        self.assertIn(r.status, (200, 409), "CreateBucket %s with B's keys: %s" % (
            self.bucket, r.describe()))
        p = self.path("secret.bin")
        if r.status == 200:
            self.refused(s3raw.get(p, key="B"), "GET %s with B's keys (B owns a same-named "
                         "bucket)" % p)
            self.assertNotIn("secret.bin", s3raw.list_keys(self.bucket, key="B"),
                             "B's listing of its own same-named bucket shows A's key")
            r = s3raw.request("PUT", p, body=b"B's own", key="B")
            self.assertEqual(r.status, 200, "PUT into B's own bucket: " + r.describe())
            self.assertEqual(s3raw.get(p, key="B").body, b"B's own")
            r = s3raw.request("DELETE", p, key="B")
            self.assertEqual(r.status, 204, "DELETE in B's own bucket: " + r.describe())
            r = s3raw.request("DELETE", "/" + self.bucket, key="B")
            self.assertEqual(r.status, 204, "DeleteBucket of B's own bucket: " + r.describe())
        self.assertContent(p, self.SECRET, "after B used a bucket of the same name")

    def test_b_cannot_use_a_upload(self):
        p = self.path("mp.bin")
        r = s3raw.request("POST", p, query="uploads")
        self.assertEqual(r.status, 200, "CreateMultipartUpload: " + r.describe())
        uid = upload_id(r.body)
        part = random_bytes(50_000, 91)
        r = s3raw.request("PUT", p, query="partNumber=1&uploadId=" + uid, body=part)
        self.assertEqual(r.status, 200, "UploadPart: " + r.describe())
        etag = r.header("etag")
        complete = ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag>"
                    "</Part></CompleteMultipartUpload>" % etag).encode()
        q = "uploadId=" + uid
        for what, method, query, body in [
                ("ListParts", "GET", q, b""),
                ("CompleteMultipartUpload", "POST", q, complete),
                ("UploadPart", "PUT", "partNumber=2&" + q, b"B's part"),
                ("AbortMultipartUpload", "DELETE", q, b"")]:
            with self.subTest(what):
                r = s3raw.request(method, p, query=query, body=body, key="B")
                self.assertS3Error(r, 404, "NoSuchUpload", "%s of A's upload with B's keys" % what)
                self.assertNotIn(etag.strip('"').encode(), r.body)
        r = s3raw.request("GET", "/" + self.bucket, query="uploads", key="B")
        self.refused(r, "ListMultipartUploads /%s with B's keys" % self.bucket)
        self.assertNotIn(uid.encode(), r.body, "B's ListMultipartUploads shows A's upload id")
        # A's upload is intact: one part, and it completes.
        r = s3raw.request("GET", p, query=q)
        self.assertEqual(r.status, 200, "A's ListParts after B's attempts: " + r.describe())
        self.assertEqual(r.body.count(b"<Part>"), 1, "A's upload parts changed: %r" % r.body)
        r = s3raw.request("POST", p, query=q, body=complete)
        self.assertEqual(r.status, 200, "A's Complete after B's attempts: " + r.describe())
        self.assertContent(p, part, "A's Complete after B's attempts")

    def test_blobs(self):
        digest = b3sum(self.SECRET)
        blob = "/v1/blobs/" + digest
        r = s3raw.get(blob, key="B")
        self.assertS3Error(r, 404, None, "GET %s (A's object) with B's keys" % blob)
        self.refused(r, "GET %s with B's keys" % blob)
        r = s3raw.head(blob, key="B")
        self.assertS3Error(r, 404, None, "HEAD %s (A's object) with B's keys" % blob)
        r = s3raw.get(blob, key="A")
        self.assertEqual(r.status, 200, "GET %s with A's keys: %s" % (blob, r.describe()))
        self.assertTrue(r.body == self.SECRET, "GET %s with A's keys: wrong bytes" % blob)
        manifest = r.header("x-as-manifest-digest")
        self.assertTrue(manifest, "GET %s: no x-as-manifest-digest" % blob)
        r = s3raw.get("/v1/manifests/" + manifest, key="B")
        self.assertS3Error(r, 404, None, "GET /v1/manifests/%s (A's) with B's keys" % manifest)
        r = s3raw.get("/v1/manifests/" + manifest, key="A")
        self.assertEqual(r.status, 200, "GET /v1/manifests/%s with A's keys: %s" % (
            manifest, r.describe()))
