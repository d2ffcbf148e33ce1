"""HTTP framing and aws-chunked abuse: conflicting or absurd lengths, broken
chunked encoding, Expect: 100-continue on a refused request, and aws-chunked
bodies whose chunk signatures do not hold. As everywhere in this suite: the
exact status, nothing stored, and the server still serving afterwards.
"""

import hashlib
import hmac
import re
import socket
import zlib

import s3raw
from robust_base import RobustCase, random_bytes

STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def exchange(raw, methods=("PUT",), half_close=True):
    """Sends raw bytes on a fresh connection, shuts our write side (so a
    server waiting for more sees the end) and returns the responses."""
    with s3raw.connect(timeout=60) as s:
        s.sendall(raw)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        return s3raw.parse_responses(s3raw.read_until_closed(s), list(methods))


class FramingTest(RobustCase):
    bucket = "robust-framing"

    def put_raw(self, key, extra_headers, body, length=None, methods=("PUT",)):
        path = self.path(key)
        hs = s3raw.sign("PUT", path, payload_hash=s3raw.UNSIGNED) + list(extra_headers)
        return exchange(s3raw.head_bytes("PUT", s3raw.quote_path(path), hs, length) + body,
                        methods)

    def expect_400(self, key, what, extra_headers, body, length=None):
        before = self.snapshot()
        rs = self.put_raw(key, extra_headers, body, length)
        self.assertTrue(rs and rs[0].status == 400, "%s: expected 400, got %s" % (
            what, [r.describe() for r in rs] or "no response"))
        self.assertUnchanged(before, what)
        self.assertAbsent(self.path(key), what)
        self.assertAlive(what)

    def test_bad_content_length(self):
        for i, (name, value) in enumerate([("not a number", "abc"), ("negative", "-1"),
                                           ("25 digits", "9" * 25), ("hex", "0x10")]):
            with self.subTest(name):
                self.expect_400("cl-%d" % i, "PUT with Content-Length: %s" % value,
                                [("Content-Length", value)], b"0123456789abcdef")

    def test_two_content_lengths(self):
        self.expect_400("cl-two", "PUT with Content-Length: 5 and Content-Length: 10",
                        [("Content-Length", "5"), ("Content-Length", "10")], b"0123456789")

    def test_malformed_chunked(self):
        te = [("Transfer-Encoding", "chunked")]
        self.expect_400("te-bad-size", "PUT chunked with chunk size 'zz'", te,
                        b"zz\r\n0123456789\r\n0\r\n\r\n")
        self.expect_400("te-no-crlf", "PUT chunked with data longer than its chunk size", te,
                        b"4\r\n0123456789\r\n0\r\n\r\n")

    def test_content_length_and_chunked(self):
        """Both framings (a request-smuggling shape): RFC 9112 6.3 allows a
        400, or chunked wins and the connection closes after the response.
        Either way the bytes hidden after the chunked end must not be run
        as a second request."""
        path = self.path("te-and-cl")
        hidden = s3raw.head_bytes("DELETE", s3raw.quote_path(self.path("keep")),
                                  s3raw.sign("DELETE", self.path("keep")))
        s3raw.put(self.path("keep"), b"must survive")
        body = b"5\r\nhello\r\n0\r\n\r\n" + hidden
        hs = s3raw.sign("PUT", path, payload_hash=s3raw.UNSIGNED) + [
            ("Transfer-Encoding", "chunked"), ("Content-Length", str(len(body)))]
        rs = exchange(s3raw.head_bytes("PUT", s3raw.quote_path(path), hs) + body, ["PUT", "DELETE"])
        what = "PUT with Transfer-Encoding: chunked and Content-Length, then a hidden DELETE"
        self.assertTrue(rs, "%s: no response" % what)
        self.assertTrue(rs[0].status in (200, 400), "%s: expected 400 (or 200 and close), got %s"
                        % (what, rs[0].describe()))
        self.assertEqual(len(rs), 1, "%s: the server answered the hidden request too: %s"
                         % (what, [r.describe() for r in rs]))
        self.assertContent(self.path("keep"), b"must survive", what)
        if rs[0].status == 400:
            self.assertAbsent(path, what)
        self.assertAlive(what)

    def test_entity_too_large(self):
        """6 GiB declared (S3's limit is 5 GiB): refused before any byte is
        read, and the connection closes (the body is not drained)."""
        what = "PUT with Content-Length 6 GiB and no body"
        before = self.snapshot()
        rs = self.put_raw("huge", [], b"", length=6 << 30)
        self.assertTrue(rs, "%s: expected 400 EntityTooLarge, got no response" % what)
        self.assertS3Error(rs[0], 400, "EntityTooLarge", what)
        self.assertUnchanged(before, what)
        self.assertAbsent(self.path("huge"), what)

    def test_expect_continue_refused(self):
        """A refused request with Expect: 100-continue gets its final status
        and never a 100 Continue: the client does not send the body."""
        path = self.path("continue")
        hs = s3raw.sign("PUT", path, payload_hash=s3raw.UNSIGNED, secret="w" * 40)
        head = s3raw.head_bytes("PUT", s3raw.quote_path(path), hs + [("Expect", "100-continue")],
                                64 << 20)
        rs = exchange(head, ["PUT"], half_close=False)
        what = "PUT (wrong secret) with Expect: 100-continue and Content-Length 64 MiB"
        self.assertTrue(rs, "%s: no response" % what)
        self.assertS3Error(rs[0], 403, "SignatureDoesNotMatch", what)
        self.assertAbsent(path, what)

    def test_expect_continue_accepted(self):
        path = self.path("continue-ok")
        body = random_bytes(100_000, 100)
        hs = s3raw.sign("PUT", path, payload_hash=s3raw.UNSIGNED)
        with s3raw.connect(timeout=60) as s:
            s.sendall(s3raw.head_bytes("PUT", s3raw.quote_path(path),
                                       hs + [("Expect", "100-continue")], len(body)))
            interim = b""
            while b"\r\n\r\n" not in interim:
                chunk = s.recv(4096)
                self.assertTrue(chunk, "PUT with Expect: 100-continue: closed before 100")
                interim += chunk
            self.assertTrue(interim.startswith(b"HTTP/1.1 100"),
                            "PUT with Expect: 100-continue: expected 100 first, got %r" % interim)
            s.sendall(body)
            r = s3raw.read_response(s, "PUT")
        self.assertEqual(r.status, 200, "PUT after 100 Continue: " + r.describe())
        self.assertContent(path, body, "PUT after 100 Continue")


def signing_key(secret, date, region="us-east-1"):
    k = ("AWS4" + secret).encode()
    for part in (date, region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


class AwsChunkedTest(RobustCase):
    """aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) bodies whose chunk
    signatures or lengths do not hold: nothing may be stored."""
    bucket = "robust-chunked"

    def request(self, key, chunks, tamper=None, decoded_length=None, cut=None):
        """PUTs chunks aws-chunked with correct chained signatures, then
        applies `tamper` to the list of (data, signature) before encoding."""
        path = self.path(key)
        total = sum(len(c) for c in chunks)
        headers = {"Content-Encoding": "aws-chunked",
                   "x-amz-decoded-content-length": str(decoded_length or total)}
        hs = s3raw.sign("PUT", path, headers=headers, payload_hash=STREAMING)
        auth = dict(hs)["Authorization"]
        seed = re.search(r"Signature=([0-9a-f]{64})", auth).group(1)
        scope = re.search(r"Credential=[^/]+/([^,]+)", auth).group(1)
        amz_date = dict(hs)["X-Amz-Date"]
        key_bytes = signing_key(s3raw.KEYS["A"][1], scope.split("/")[0])
        signed, prev = [], seed
        for c in list(chunks) + [b""]:
            sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, EMPTY_SHA,
                             hashlib.sha256(c).hexdigest()])
            prev = hmac.new(key_bytes, sts.encode(), hashlib.sha256).hexdigest()
            signed.append((c, prev))
        if tamper:
            signed = tamper(signed)
        body = b"".join(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(c), s.encode(), c)
                        for c, s in signed)
        if cut:
            body = body[:cut]
        raw = s3raw.head_bytes("PUT", s3raw.quote_path(path), hs, len(body)) + body
        return exchange(raw)

    def chunks(self, seed):
        return [random_bytes(64 * 1024, seed), random_bytes(64 * 1024, seed + 1), b"tail bytes"]

    def test_valid_control(self):
        cs = self.chunks(110)
        rs = self.request("ok", cs)
        self.assertTrue(rs and rs[0].status == 200, "aws-chunked PUT (control): %s"
                        % [r.describe() for r in rs])
        self.assertContent(self.path("ok"), b"".join(cs), "aws-chunked PUT (control)")

    def check_refused(self, key, what, status, code, **kw):
        before = self.snapshot()
        rs = self.request(key, self.chunks(zlib.crc32(key.encode())), **kw)
        self.assertTrue(rs, "%s: expected %d %s, got no response" % (what, status, code))
        self.assertS3Error(rs[0], status, code, what)
        self.assertUnchanged(before, what)
        self.assertAbsent(self.path(key), what)

    def test_tampered_chunk(self):
        def flip(signed):
            c, s = signed[1]
            signed[1] = (bytes([c[0] ^ 1]) + c[1:], s)
            return signed
        self.check_refused("tampered", "aws-chunked PUT with a byte of chunk 2 changed", 403,
                           "SignatureDoesNotMatch", tamper=flip)

    def test_reordered_chunks(self):
        def swap(signed):
            signed[0], signed[1] = signed[1], signed[0]
            return signed
        self.check_refused("reordered", "aws-chunked PUT with chunks 1 and 2 swapped", 403,
                           "SignatureDoesNotMatch", tamper=swap)

    def test_dropped_chunk(self):
        self.check_refused("dropped", "aws-chunked PUT with chunk 2 left out", 403,
                           "SignatureDoesNotMatch", tamper=lambda s: [s[0]] + s[2:])

    def test_decoded_length_too_large(self):
        self.check_refused("declared-more",
                           "aws-chunked PUT with x-amz-decoded-content-length 1 MiB over the "
                           "chunks' sum", 400, "IncompleteBody",
                           decoded_length=64 * 1024 * 2 + 10 + (1 << 20))

    def test_truncated(self):
        what = "aws-chunked PUT whose chunk 2 is cut short (the HTTP body ends there)"
        before = self.snapshot()
        rs = self.request("truncated", self.chunks(120), cut=64 * 1024 + 200)
        self.assertTrue(rs and rs[0].status == 400,
                        "%s: expected 400, got %s" % (what, [r.describe() for r in rs]
                                                      or "no response"))
        self.assertUnchanged(before, what)
        self.assertAbsent(self.path("truncated"), what)
