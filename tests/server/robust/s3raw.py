"""Low-level S3 client for the robustness tests.

botocore only computes the SigV4 headers; the bytes go out through
http.client or a raw socket, so a test can lie about lengths, cut a body
short, send garbage after a request, or sign for one body and send another.
Standard library + botocore only (Debian's /usr/bin/python3).
"""

import datetime
import hashlib
import http.client
import os
import re
import socket
import urllib.parse
import xml.etree.ElementTree as ET

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SIGV4_TIMESTAMP
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ENDPOINT = os.environ.get("ROBUST_ENDPOINT", "http://127.0.0.1:9000")
_u = urllib.parse.urlsplit(ENDPOINT)
HOST, PORT = _u.hostname, _u.port
REGION = os.environ.get("ROBUST_REGION", "us-east-1")
KEYS = {
    "A": (os.environ.get("ROBUST_A_ID", ""), os.environ.get("ROBUST_A_SECRET", "")),
    "B": (os.environ.get("ROBUST_B_ID", ""), os.environ.get("ROBUST_B_SECRET", "")),
}
UNSIGNED = "UNSIGNED-PAYLOAD"


class _Clock:
    """add_auth with a chosen clock, so a test can sign "20 minutes ago"
    without touching the real time or patching botocore globally."""

    shift = datetime.timedelta(0)

    def add_auth(self, request):
        now = datetime.datetime.utcnow() + self.shift
        request.context["timestamp"] = now.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        cr = self.canonical_request(request)
        sts = self.string_to_sign(request, cr)
        self._inject_signature_to_request(request, self.signature(sts, request))


class _HeaderSigner(_Clock, S3SigV4Auth):
    # S3SigV4Auth would hash request.body; the tests decide the payload hash
    # themselves (a real one, UNSIGNED-PAYLOAD, or a deliberately wrong one).
    def payload(self, request):
        return request.context["payload_hash"]


class _QuerySigner(_Clock, S3SigV4QueryAuth):
    pass


def quote_path(path):
    return urllib.parse.quote(path, safe="/-_.~")


def sign(method, path, query="", headers=None, payload_hash=None, body=b"",
         key="A", secret=None, shift_seconds=0):
    """Signed header list for a request. payload_hash defaults to the
    SHA-256 of `body`. `secret` overrides the key's secret (wrong-secret
    tests); `key` may be "A", "B" or a literal access key id."""
    key_id, key_secret = KEYS.get(key, (key, "x" * 40))
    if secret is not None:
        key_secret = secret
    if payload_hash is None:
        payload_hash = hashlib.sha256(body).hexdigest()
    url = ENDPOINT + quote_path(path) + ("?" + query if query else "")
    req = AWSRequest(method=method, url=url, headers=dict(headers or {}))
    req.context["payload_hash"] = payload_hash
    signer = _HeaderSigner(Credentials(key_id, key_secret), "s3", REGION)
    signer.shift = datetime.timedelta(seconds=shift_seconds)
    signer.add_auth(req)
    return list(req.headers.items())


def presign(method, path, expires=300, key="A", shift_seconds=0):
    """A presigned request-target ("/bucket/key?X-Amz-...")."""
    key_id, key_secret = KEYS[key]
    req = AWSRequest(method=method, url=ENDPOINT + quote_path(path))
    signer = _QuerySigner(Credentials(key_id, key_secret), "s3", REGION, expires=expires)
    signer.shift = datetime.timedelta(seconds=shift_seconds)
    signer.add_auth(req)
    u = urllib.parse.urlsplit(req.url)
    return u.path + "?" + u.query


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def code(self):
        """The S3 error Code of an XML error body, or None."""
        if not self.body.lstrip().startswith(b"<"):
            return None
        try:
            root = ET.fromstring(self.body)
        except ET.ParseError:
            return None
        el = root.find("Code")
        return el.text if el is not None else None

    def describe(self):
        return "%d %s %r" % (self.status, self.code(), self.body[:300])


def read_response(sock, method="GET"):
    """Parses one HTTP response from a connected socket."""
    r = http.client.HTTPResponse(sock, method=method)
    r.begin()
    body = r.read()
    return Response(r.status, r.getheaders(), body)


def connect(timeout=60):
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def head_bytes(method, target, headers, content_length=None):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s:%d" % (HOST, PORT)]
    for k, v in headers:
        if k.lower() != "host":
            lines.append("%s: %s" % (k, v))
    if content_length is not None:
        lines.append("Content-Length: %d" % content_length)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def request(method, path, query="", body=b"", headers=None, key="A", payload_hash=None,
            signed=True, secret=None, shift_seconds=0, target=None):
    """One well-framed request on a fresh connection; returns Response."""
    hs = list((headers or {}).items())
    if signed:
        hs = sign(method, path, query, headers, payload_hash, body, key, secret, shift_seconds)
    if target is None:
        target = quote_path(path) + ("?" + query if query else "")
    need_length = body or method in ("PUT", "POST")
    with connect() as s:
        s.sendall(head_bytes(method, target, hs, len(body) if need_length else None) + body)
        return read_response(s, method)


def put(path, body, key="A", headers=None):
    r = request("PUT", path, body=body, key=key, headers=headers)
    assert r.status == 200, "PUT %s: %s" % (path, r.describe())
    return r


def get(path, key="A", headers=None):
    return request("GET", path, key=key, headers=headers)


def head(path, key="A"):
    return request("HEAD", path, key=key)


def list_keys(bucket, key="A"):
    """Keys of a bucket (ListObjectsV2, one page)."""
    r = request("GET", "/" + bucket, query="list-type=2", key=key)
    assert r.status == 200, "list %s: %s" % (bucket, r.describe())
    ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    root = ET.fromstring(r.body)
    return [e.text for e in root.findall("s3:Contents/s3:Key", ns)]


def metrics():
    """The /metrics gauges and counters as {name{labels}: float}."""
    with connect() as s:
        s.sendall(head_bytes("GET", "/metrics", []))
        r = read_response(s)
    out = {}
    for line in r.body.decode().splitlines():
        m = re.match(r"^([a-zA-Z_:][^ ]*) ([0-9.eE+-]+|NaN|[+-]Inf)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def server_alive():
    """True when a fresh connection gets 200 from /healthz."""
    try:
        with connect(timeout=10) as s:
            s.sendall(head_bytes("GET", "/healthz", []))
            return read_response(s).status == 200
    except OSError:
        return False


def read_until_closed(sock, limit=1 << 20):
    """Everything the server sends until it closes (or `limit` bytes)."""
    data = b""
    while len(data) < limit:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def parse_responses(data, methods):
    """Splits the bytes of pipelined responses (Content-Length framed) into
    Responses; `methods` are the requests' methods, in order (HEAD has no
    body). Stops at the end of data; a truncated last response is dropped."""
    out = []
    for method in methods:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            break
        lines = data[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:]]
        r = Response(status, headers, b"")
        assert r.header("transfer-encoding") is None, "chunked response not expected here"
        n = 0 if method == "HEAD" else int(r.header("content-length") or 0)
        if len(data) < end + 4 + n:
            break
        r.body = data[end + 4:end + 4 + n]
        data = data[end + 4 + n:]
        out.append(r)
    return out


def crc32c_b64(data):
    """base64 of the big-endian CRC-32C (Castagnoli) of data, as in
    x-amz-checksum-crc32c. Pure Python: for small bodies only."""
    import base64
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return base64.b64encode((crc ^ 0xFFFFFFFF).to_bytes(4, "big")).decode()


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC32C = _crc32c_table()
