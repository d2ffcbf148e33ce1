#!/usr/bin/python3
"""boto3 cases against a running artifact-store server.

    boto3_suite.py CASE

Environment: ENDPOINT (http://127.0.0.1:PORT), A_KEY/A_SECRET (tenant alice),
B_KEY/B_SECRET (tenant bob), TMP (scratch directory). Exit 0 = pass,
77 = skipped (this botocore lacks a feature), anything else = fail.
Run with Debian's /usr/bin/python3 and python3-boto3.
"""
import base64
import hashlib
import io
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from datetime import datetime, timedelta, timezone

import boto3
import boto3.s3.transfer
import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ENDPOINT = os.environ["ENDPOINT"]
REGION = "us-east-1"
SKIP = 77


class Skip(Exception):
    pass


def client(key=None, secret=None):
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=key or os.environ["A_KEY"],
        aws_secret_access_key=secret or os.environ["A_SECRET"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}),
    )


def bob():
    return client(os.environ["B_KEY"], os.environ["B_SECRET"])


def data(n, seed=b"x"):
    out = bytearray()
    block = seed
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def md5_etag(b):
    return '"%s"' % hashlib.md5(b).hexdigest()


def b3sum(b):
    return subprocess.run(["b3sum", "--no-names"], input=b, check=True,
                          capture_output=True).stdout.decode().strip()


def user_meta(resp, body):
    """The user metadata of a GET/HEAD. The server adds x-amz-meta-as-content
    (the BLAKE3 content digest, `b3sum` of the bytes) and ignores it on the
    way in; it is checked here and left out of the comparison."""
    meta = dict(resp["Metadata"])
    digest = meta.pop("as-content", None)
    assert digest in (None, "blake3:" + b3sum(body)), (digest, resp)
    return meta


def expect_error(fn, codes, statuses):
    """Calls fn, which must raise ClientError with one of the codes/statuses."""
    try:
        fn()
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code")
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        assert code in codes and status in statuses, (code, status, e.response)
        return code, status
    raise AssertionError("expected an error %s/%s, call succeeded" % (codes, statuses))


# ---- buckets and objects ----------------------------------------------------

def case_buckets():
    s3 = client()
    s3.create_bucket(Bucket="b3-one")
    s3.create_bucket(Bucket="b3-two")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "b3-one" in names and "b3-two" in names, names
    s3.head_bucket(Bucket="b3-one")
    expect_error(lambda: s3.head_bucket(Bucket="b3-missing"), {"404", "NoSuchBucket"}, {404})
    s3.put_object(Bucket="b3-one", Key="k", Body=b"v")
    expect_error(lambda: s3.delete_bucket(Bucket="b3-one"), {"BucketNotEmpty"}, {409})
    s3.delete_object(Bucket="b3-one", Key="k")
    s3.delete_bucket(Bucket="b3-one")
    expect_error(lambda: s3.head_bucket(Bucket="b3-one"), {"404", "NoSuchBucket"}, {404})
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "b3-one" not in names and "b3-two" in names, names
    expect_error(lambda: s3.put_object(Bucket="b3-missing", Key="k", Body=b"v"),
                 {"NoSuchBucket"}, {404})


def case_object_metadata():
    s3 = client()
    s3.create_bucket(Bucket="meta")
    body = data(123457)
    key = "dir/ünï code & spaces.bin"
    meta = {"color": "blue", "multi-word": "a b c", "empty": ""}
    put = s3.put_object(Bucket="meta", Key=key, Body=body, Metadata=meta,
                        ContentType="application/x-test; charset=utf-8")
    assert put["ETag"] == md5_etag(body), put
    got = s3.get_object(Bucket="meta", Key=key)
    assert got["Body"].read() == body
    assert got["ETag"] == md5_etag(body), got
    assert got["ContentType"] == "application/x-test; charset=utf-8", got
    assert user_meta(got, body) == meta, got["Metadata"]
    assert got["ContentLength"] == len(body)
    head = s3.head_object(Bucket="meta", Key=key)
    assert head["ContentLength"] == len(body), head
    assert head["ETag"] == md5_etag(body), head
    assert user_meta(head, body) == meta, head["Metadata"]
    assert head["ContentType"] == "application/x-test; charset=utf-8", head
    age = abs((datetime.now(timezone.utc) - head["LastModified"]).total_seconds())
    assert age < 300, head["LastModified"]
    # Overwrite: the new bytes and metadata replace the old.
    s3.put_object(Bucket="meta", Key=key, Body=b"short")
    got = s3.get_object(Bucket="meta", Key=key)
    assert got["Body"].read() == b"short" and user_meta(got, b"short") == {}, got
    # Empty object.
    s3.put_object(Bucket="meta", Key="empty", Body=b"")
    got = s3.get_object(Bucket="meta", Key="empty")
    assert got["Body"].read() == b"" and got["ETag"] == md5_etag(b""), got
    expect_error(lambda: s3.get_object(Bucket="meta", Key="nope"), {"NoSuchKey"}, {404})
    expect_error(lambda: s3.head_object(Bucket="meta", Key="nope"), {"404", "NoSuchKey"}, {404})


def case_ranges():
    s3 = client()
    s3.create_bucket(Bucket="rng")
    body = data(1000)
    s3.put_object(Bucket="rng", Key="r", Body=body)
    cases = [("bytes=-10", 990, 999), ("bytes=10-", 10, 999), ("bytes=100-199", 100, 199),
             ("bytes=0-0", 0, 0), ("bytes=999-5000", 999, 999), ("bytes=-5000", 0, 999)]
    for rng, first, last in cases:
        got = s3.get_object(Bucket="rng", Key="r", Range=rng)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206, (rng, got)
        assert got["Body"].read() == body[first:last + 1], rng
        assert got["ContentRange"] == "bytes %d-%d/1000" % (first, last), (rng, got)
        assert got["ContentLength"] == last - first + 1, (rng, got)
    for rng in ("bytes=1000-", "bytes=2000-3000"):
        expect_error(lambda: s3.get_object(Bucket="rng", Key="r", Range=rng),
                     {"InvalidRange"}, {416})
    # Several ranges, or nonsense: the whole object.
    for rng in ("bytes=0-1,5-6", "bytes=5-2", "pages=1-2"):
        got = s3.get_object(Bucket="rng", Key="r", Range=rng)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 200, (rng, got)
        assert got["Body"].read() == body, rng


def case_conditionals():
    s3 = client()
    s3.create_bucket(Bucket="cond")
    body = data(500)
    etag = s3.put_object(Bucket="cond", Key="c", Body=body)["ETag"]
    later = datetime.now(timezone.utc) + timedelta(days=1)
    earlier = datetime.now(timezone.utc) - timedelta(days=1)
    for call in (s3.get_object, s3.head_object):
        expect_error(lambda: call(Bucket="cond", Key="c", IfNoneMatch=etag), {"304", "NotModified"}, {304})
        expect_error(lambda: call(Bucket="cond", Key="c", IfMatch='"0000"'),
                     {"PreconditionFailed", "412"}, {412})
        expect_error(lambda: call(Bucket="cond", Key="c", IfUnmodifiedSince=earlier),
                     {"PreconditionFailed", "412"}, {412})
        expect_error(lambda: call(Bucket="cond", Key="c", IfModifiedSince=later), {"304", "NotModified"}, {304})
        assert call(Bucket="cond", Key="c", IfMatch=etag)["ETag"] == etag
        assert call(Bucket="cond", Key="c", IfNoneMatch='"0000"')["ETag"] == etag
        assert call(Bucket="cond", Key="c", IfModifiedSince=earlier)["ETag"] == etag
        assert call(Bucket="cond", Key="c", IfUnmodifiedSince=later)["ETag"] == etag
        # RFC 9110 order, as S3 documents: If-Match true beats If-Unmodified-Since false.
        assert call(Bucket="cond", Key="c", IfMatch=etag, IfUnmodifiedSince=earlier)["ETag"] == etag
    got = s3.get_object(Bucket="cond", Key="c", IfMatch=etag)
    assert got["Body"].read() == body


def case_delete_objects():
    s3 = client()
    s3.create_bucket(Bucket="del")
    keys = ["a", "b b", "c/ü", "d+e", "f&g"]
    for k in keys:
        s3.put_object(Bucket="del", Key=k, Body=k.encode())
    s3.delete_object(Bucket="del", Key="a")
    s3.delete_object(Bucket="del", Key="a")  # deleting a missing key is not an error
    expect_error(lambda: s3.head_object(Bucket="del", Key="a"), {"404", "NoSuchKey"}, {404})
    res = s3.delete_objects(Bucket="del", Delete={"Objects": [{"Key": "b b"}, {"Key": "c/ü"},
                                                              {"Key": "never existed"}]})
    deleted = sorted(d["Key"] for d in res.get("Deleted", []))
    assert deleted == ["b b", "c/ü", "never existed"], res
    assert not res.get("Errors"), res
    res = s3.delete_objects(Bucket="del", Delete={"Objects": [{"Key": "d+e"}, {"Key": "f&g"}],
                                                  "Quiet": True})
    assert not res.get("Deleted") and not res.get("Errors"), res
    left = s3.list_objects_v2(Bucket="del")
    assert left["KeyCount"] == 0 and not left.get("Contents"), left


def case_copy_object():
    s3 = client()
    s3.create_bucket(Bucket="cpy")
    s3.create_bucket(Bucket="cpy2")
    body = data(200000)
    src = "src dir/ü é+&.bin"
    s3.put_object(Bucket="cpy", Key=src, Body=body, Metadata={"k": "v"}, ContentType="text/x-src")
    res = s3.copy_object(Bucket="cpy2", Key="copy 1", CopySource={"Bucket": "cpy", "Key": src})
    assert res["CopyObjectResult"]["ETag"] == md5_etag(body), res
    got = s3.get_object(Bucket="cpy2", Key="copy 1")
    assert got["Body"].read() == body
    assert user_meta(got, body) == {"k": "v"} and got["ContentType"] == "text/x-src", got
    res = s3.copy_object(Bucket="cpy", Key="copy 2", CopySource={"Bucket": "cpy", "Key": src},
                         MetadataDirective="REPLACE", Metadata={"new": "yes"},
                         ContentType="text/x-new")
    got = s3.get_object(Bucket="cpy", Key="copy 2")
    assert got["Body"].read() == body
    assert user_meta(got, body) == {"new": "yes"} and got["ContentType"] == "text/x-new", got
    # Copying onto itself only to change metadata is allowed with REPLACE.
    s3.copy_object(Bucket="cpy", Key=src, CopySource={"Bucket": "cpy", "Key": src},
                   MetadataDirective="REPLACE", Metadata={"k": "v2"})
    assert user_meta(s3.head_object(Bucket="cpy", Key=src), body) == {"k": "v2"}
    assert s3.get_object(Bucket="cpy", Key=src)["Body"].read() == body
    expect_error(lambda: s3.copy_object(Bucket="cpy", Key="x",
                                        CopySource={"Bucket": "cpy", "Key": "missing"}),
                 {"NoSuchKey"}, {404})


# ---- listings ---------------------------------------------------------------

LIST_KEYS = ["a/1", "a/2", "b/x/1", "c", "d e", "f/ü", "g+h"]


def fill_list_bucket(s3, bucket):
    s3.create_bucket(Bucket=bucket)
    for k in LIST_KEYS:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())


def case_list_v2_pagination():
    s3 = client()
    fill_list_bucket(s3, "lst")
    for delimiter, want in (("/", ["a/", "b/", "c", "d e", "f/", "g+h"]), ("", LIST_KEYS)):
        seen, token, pages = [], None, 0
        while True:
            kw = {"Bucket": "lst", "MaxKeys": 2}
            if delimiter:
                kw["Delimiter"] = delimiter
            if token:
                kw["ContinuationToken"] = token
            page = s3.list_objects_v2(**kw)
            pages += 1
            entries = [o["Key"] for o in page.get("Contents", [])] + \
                      [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            assert page["KeyCount"] == len(entries) <= 2, page
            seen += entries
            if not page["IsTruncated"]:
                break
            token = page["NextContinuationToken"]
            assert pages < 20, "no end"
        assert sorted(seen) == sorted(want) and len(seen) == len(set(seen)), (delimiter, seen)
        assert pages == (len(want) + 1) // 2, (delimiter, pages)
    page = s3.list_objects_v2(Bucket="lst", StartAfter="c")
    assert [o["Key"] for o in page["Contents"]] == ["d e", "f/ü", "g+h"], page
    page = s3.list_objects_v2(Bucket="lst", StartAfter="zzz")
    assert page["KeyCount"] == 0 and not page["IsTruncated"], page
    page = s3.list_objects_v2(Bucket="lst", Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == ["a/1", "a/2"], page
    assert page["Prefix"] == "a/", page
    # The paginator goes through botocore's own token handling.
    keys = []
    for p in s3.get_paginator("list_objects_v2").paginate(Bucket="lst",
                                                          PaginationConfig={"PageSize": 3}):
        keys += [o["Key"] for o in p.get("Contents", [])]
    assert keys == LIST_KEYS, keys
    contents = s3.list_objects_v2(Bucket="lst")["Contents"]
    for o in contents:
        assert o["ETag"] == md5_etag(o["Key"].encode()) and o["Size"] == len(o["Key"].encode()), o
        assert o["StorageClass"] == "STANDARD", o


def case_list_object_versions():
    # Buckets are never versioned: every object is its one version, "null".
    # Tools that empty a bucket (Terraform's force_destroy, cleanup scripts)
    # list versions and delete each by VersionId.
    s3 = client()
    fill_list_bucket(s3, "lsv")
    assert s3.get_bucket_versioning(Bucket="lsv").get("Status") is None
    keys = []
    for page in s3.get_paginator("list_object_versions").paginate(
            Bucket="lsv", PaginationConfig={"PageSize": 3}):
        for v in page.get("Versions", []):
            assert v["VersionId"] == "null" and v["IsLatest"], v
            body = v["Key"].encode()
            assert v["ETag"] == md5_etag(body) and v["Size"] == len(body), v
            keys.append(v["Key"])
        assert not page.get("DeleteMarkers"), page
    assert keys == LIST_KEYS, keys
    page = s3.list_object_versions(Bucket="lsv", Delimiter="/", Prefix="")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["a/", "b/", "f/"], page
    page = s3.list_object_versions(Bucket="lsv", KeyMarker="c")
    assert [v["Key"] for v in page["Versions"]] == ["d e", "f/ü", "g+h"], page
    objects = [{"Key": k, "VersionId": "null"} for k in keys]
    done = s3.delete_objects(Bucket="lsv", Delete={"Objects": objects})
    assert len(done["Deleted"]) == len(keys) and not done.get("Errors"), done
    assert "Versions" not in s3.list_object_versions(Bucket="lsv")
    s3.delete_bucket(Bucket="lsv")


def case_object_tagging():
    s3 = client()
    s3.create_bucket(Bucket="tagged")
    s3.put_object(Bucket="tagged", Key="k", Body=b"x", Tagging="project=blue&owner=a b")
    got = s3.get_object_tagging(Bucket="tagged", Key="k")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in got) == [("owner", "a b"), ("project", "blue")], got
    assert s3.get_object(Bucket="tagged", Key="k")["TagCount"] == 2
    s3.put_object_tagging(Bucket="tagged", Key="k",
                          Tagging={"TagSet": [{"Key": "env", "Value": "prod"}]})
    assert s3.get_object_tagging(Bucket="tagged", Key="k")["TagSet"] == [
        {"Key": "env", "Value": "prod"}]
    s3.copy_object(Bucket="tagged", Key="copy", CopySource={"Bucket": "tagged", "Key": "k"})
    assert s3.get_object_tagging(Bucket="tagged", Key="copy")["TagSet"] == [
        {"Key": "env", "Value": "prod"}]
    expect_error(lambda: s3.put_object_tagging(
        Bucket="tagged", Key="k", Tagging={"TagSet": [{"Key": "aws:x", "Value": "1"}]}),
        {"InvalidTag"}, {400})
    s3.delete_object_tagging(Bucket="tagged", Key="k")
    assert s3.get_object_tagging(Bucket="tagged", Key="k")["TagSet"] == []
    assert s3.get_object(Bucket="tagged", Key="k")["Body"].read() == b"x"


def case_list_v1_marker():
    s3 = client()
    fill_list_bucket(s3, "lst1")
    # With a delimiter the server hands out NextMarker.
    seen, marker = [], ""
    for _ in range(20):
        page = s3.list_objects(Bucket="lst1", Delimiter="/", MaxKeys=2, Marker=marker)
        seen += [o["Key"] for o in page.get("Contents", [])]
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        marker = page["NextMarker"]
    assert sorted(seen) == ["a/", "b/", "c", "d e", "f/", "g+h"], seen
    # Without one the client resumes from the last key.
    seen, marker = [], ""
    for _ in range(20):
        page = s3.list_objects(Bucket="lst1", MaxKeys=3, Marker=marker)
        keys = [o["Key"] for o in page.get("Contents", [])]
        seen += keys
        if not page["IsTruncated"]:
            break
        assert "NextMarker" not in page, page
        marker = keys[-1]
    assert seen == LIST_KEYS, seen
    page = s3.list_objects(Bucket="lst1", Marker="d e")
    assert [o["Key"] for o in page["Contents"]] == ["f/ü", "g+h"], page


# ---- presigned URLs and authentication --------------------------------------

def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def case_presigned():
    s3 = client()
    s3.create_bucket(Bucket="pre")
    body = data(5000)
    s3.put_object(Bucket="pre", Key="dir/pre signed ü.bin", Body=body)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "pre", "Key": "dir/pre signed ü.bin"},
                                    ExpiresIn=300)
    status, got = http("GET", url)
    assert status == 200 and got == body, (status, got[:200])
    put_body = data(3000, b"put")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "pre", "Key": "uploaded"},
                                    ExpiresIn=300)
    status, got = http("PUT", url, put_body)
    assert status == 200, (status, got)
    assert s3.get_object(Bucket="pre", Key="uploaded")["Body"].read() == put_body
    # A tampered URL fails.
    status, got = http("GET", url.replace("uploaded", "uploadee"))
    assert status == 403 and b"SignatureDoesNotMatch" in got, (status, got)


def case_presigned_expired():
    s3 = client()
    s3.create_bucket(Bucket="exp")
    s3.put_object(Bucket="exp", Key="k", Body=b"v")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "exp", "Key": "k"}, ExpiresIn=1)
    time.sleep(2.5)
    status, got = http("GET", url)
    assert status == 403 and b"AccessDenied" in got, (status, got)


def case_bad_credentials():
    wrong_secret = client(os.environ["A_KEY"], "x" * 40)
    expect_error(wrong_secret.list_buckets, {"SignatureDoesNotMatch"}, {403})
    unknown = client("AKIAUNKNOWNUNKNOWN00", "y" * 40)
    expect_error(unknown.list_buckets, {"InvalidAccessKeyId"}, {403})
    status, got = http("GET", ENDPOINT + "/")
    assert status == 403 and b"AccessDenied" in got, (status, got)


def put_with_checksum(algorithm, attr):
    s3 = client()
    s3.create_bucket(Bucket="cksum")
    body = data(70000)
    try:
        res = s3.put_object(Bucket="cksum", Key="k-" + algorithm, Body=body, ChecksumAlgorithm=algorithm)
    except botocore.exceptions.MissingDependencyException as e:
        raise Skip("botocore cannot compute %s here: %s" % (algorithm, e))
    assert res["ETag"] == md5_etag(body), res
    assert s3.get_object(Bucket="cksum", Key="k-" + algorithm)["Body"].read() == body
    # Asked for, the checksum comes back, and botocore checks the body against it.
    got = s3.get_object(Bucket="cksum", Key="k-" + algorithm, ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got.get(attr) == res.get(attr) and got.get(attr), (got.get(attr), res.get(attr))
    # A checksum that does not match the body is refused and nothing is stored.
    wrong = {attr: "AAAAAA==" if algorithm.startswith("CRC") else "A" * 43 + "="}
    expect_error(lambda: s3.put_object(Bucket="cksum", Key="bad-" + algorithm, Body=body, **wrong),
                 {"BadDigest", "InvalidRequest", "XAmzContentChecksumMismatch", "InvalidDigest"},
                 {400})
    expect_error(lambda: s3.head_object(Bucket="cksum", Key="bad-" + algorithm), {"404", "NoSuchKey"}, {404})


def case_checksum_sha256():
    put_with_checksum("SHA256", "ChecksumSHA256")


def case_checksum_crc32c():
    put_with_checksum("CRC32C", "ChecksumCRC32C")


def case_checksum_crc32():
    # What current AWS SDKs send with every upload by default.
    put_with_checksum("CRC32", "ChecksumCRC32")


def case_checksum_sha1():
    put_with_checksum("SHA1", "ChecksumSHA1")


def case_multipart_checksum():
    # An upload created with a checksum algorithm: each part's is checked and
    # listed, and the object's is the CRC32 of the parts' CRC32s, "-2".
    s3 = client()
    s3.create_bucket(Bucket="cksum-mp")
    p1, p2 = data(5 * 1024 * 1024, b"p1"), data(70000, b"p2")
    up = s3.create_multipart_upload(Bucket="cksum-mp", Key="k", ChecksumAlgorithm="CRC32")
    parts = []
    for n, body in ((1, p1), (2, p2)):
        r = s3.upload_part(Bucket="cksum-mp", Key="k", UploadId=up["UploadId"], PartNumber=n,
                           Body=body, ChecksumAlgorithm="CRC32")
        parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    listed = s3.list_parts(Bucket="cksum-mp", Key="k", UploadId=up["UploadId"])
    listed_crcs = [p["ChecksumCRC32"] for p in listed["Parts"]]
    assert listed_crcs == [p["ChecksumCRC32"] for p in parts], listed
    done = s3.complete_multipart_upload(Bucket="cksum-mp", Key="k", UploadId=up["UploadId"],
                                        MultipartUpload={"Parts": parts})
    raw = b"".join(base64.b64decode(p["ChecksumCRC32"]) for p in parts)
    want = base64.b64encode(zlib.crc32(raw).to_bytes(4, "big")).decode() + "-2"
    assert done.get("ChecksumCRC32") == want, (done.get("ChecksumCRC32"), want)
    got = s3.get_object(Bucket="cksum-mp", Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == p1 + p2
    assert got.get("ChecksumCRC32") == want, got.get("ChecksumCRC32")
    # Part by part, as the Go and Java transfer managers read.
    part2 = s3.get_object(Bucket="cksum-mp", Key="k", PartNumber=2)
    assert part2["PartsCount"] == 2 and part2["Body"].read() == p2, part2.get("PartsCount")
    assert s3.head_object(Bucket="cksum-mp", Key="k", PartNumber=1)["ContentLength"] == len(p1)
    attrs = s3.get_object_attributes(Bucket="cksum-mp", Key="k",
                                     ObjectAttributes=["ETag", "Checksum", "ObjectParts",
                                                       "ObjectSize"])
    assert attrs["ObjectSize"] == len(p1) + len(p2), attrs
    assert attrs["Checksum"]["ChecksumCRC32"] == want, attrs
    assert [p["Size"] for p in attrs["ObjectParts"]["Parts"]] == [len(p1), len(p2)], attrs


def case_virtual_hosted():
    # The AWS SDKs for Go, Java and JavaScript address a bucket as BUCKET.HOST
    # when the endpoint is a DNS name; the server runs with --domain s3.test.
    # Only the name lookup is ours: s3.test and its subdomains are the server.
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host == "s3.test" or host.endswith(".s3.test"):
            host = "127.0.0.1"
        return real_getaddrinfo(host, *args, **kwargs)

    socket.getaddrinfo = resolve
    port = ENDPOINT.rsplit(":", 1)[1]
    s3 = boto3.client("s3", endpoint_url="http://s3.test:" + port, region_name=REGION,
                      aws_access_key_id=os.environ["A_KEY"],
                      aws_secret_access_key=os.environ["A_SECRET"],
                      config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"},
                                    retries={"max_attempts": 1}))
    s3.create_bucket(Bucket="vhost")
    body = data(100000, b"vh")
    s3.put_object(Bucket="vhost", Key="a/b c.txt", Body=body)
    assert s3.get_object(Bucket="vhost", Key="a/b c.txt")["Body"].read() == body
    listed = s3.list_objects_v2(Bucket="vhost", Prefix="a/")
    assert [o["Key"] for o in listed["Contents"]] == ["a/b c.txt"], listed
    # The same bucket, path-style.
    assert client().get_object(Bucket="vhost", Key="a/b c.txt")["Body"].read() == body
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "vhost", "Key": "a/b c.txt"},
                                    ExpiresIn=60)
    assert url.startswith("http://vhost.s3.test:"), url
    status, got = http("GET", url)
    assert status == 200 and got == body, (status, got[:100])
    big = data(9 * 1024 * 1024, b"vhbig")
    s3.upload_fileobj(io.BytesIO(big), "vhost", "big",
                      Config=boto3.s3.transfer.TransferConfig(multipart_threshold=5 * 1024 * 1024,
                                                              multipart_chunksize=5 * 1024 * 1024))
    head = s3.head_object(Bucket="vhost", Key="big")
    assert head["ETag"].endswith('-2"'), head["ETag"]
    assert s3.get_object(Bucket="vhost", Key="big")["Body"].read() == big
    s3.delete_objects(Bucket="vhost", Delete={"Objects": [{"Key": "big"}, {"Key": "a/b c.txt"}]})
    s3.delete_bucket(Bucket="vhost")
    assert "vhost" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


# ---- tenants and the content-addressed API ---------------------------------

def case_tenant_isolation():
    a, b = client(), bob()
    a.create_bucket(Bucket="alice-only")
    secret = data(4096, b"alice")
    a.put_object(Bucket="alice-only", Key="secret", Body=secret)
    assert "alice-only" not in [x["Name"] for x in b.list_buckets()["Buckets"]]
    denied = ({"AccessDenied", "NoSuchBucket", "403", "404"}, {403, 404})
    expect_error(lambda: b.head_bucket(Bucket="alice-only"), *denied)
    expect_error(lambda: b.head_object(Bucket="alice-only", Key="secret"), *denied)
    expect_error(lambda: b.get_object(Bucket="alice-only", Key="secret"), *denied)
    expect_error(lambda: b.list_objects_v2(Bucket="alice-only"), *denied)
    expect_error(lambda: b.put_object(Bucket="alice-only", Key="secret", Body=b"bob was here"), *denied)
    expect_error(lambda: b.delete_objects(Bucket="alice-only", Delete={"Objects": [{"Key": "secret"}]}),
                 *denied)
    try:
        b.delete_object(Bucket="alice-only", Key="secret")
    except ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] in (403, 404), e.response
    b.create_bucket(Bucket="bob-bucket")
    expect_error(lambda: b.copy_object(Bucket="bob-bucket", Key="stolen",
                                       CopySource={"Bucket": "alice-only", "Key": "secret"}),
                 {"AccessDenied", "NoSuchBucket", "NoSuchKey", "403", "404"}, {403, 404})
    # If bob may have a bucket of that name (namespaces per tenant), it is his own.
    try:
        b.create_bucket(Bucket="alice-only")
        got = b.list_objects_v2(Bucket="alice-only")
        assert got["KeyCount"] == 0, got
        expect_error(lambda: b.get_object(Bucket="alice-only", Key="secret"), {"NoSuchKey"}, {404})
    except ClientError as e:
        assert e.response["Error"]["Code"] in ("BucketAlreadyExists", "AccessDenied"), e.response
    # Alice's object is untouched.
    assert a.get_object(Bucket="alice-only", Key="secret")["Body"].read() == secret


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def signed_get(key, secret, path, headers=None):
    """GET of an arbitrary path signed with botocore's SigV4Auth. The path goes
    out as written (':' unescaped); the signer escapes it in the canonical
    request, as the server must. S3 wants x-amz-content-sha256, which only the
    S3 signer adds by itself."""
    h = {"X-Amz-Content-SHA256": EMPTY_SHA256}
    h.update(headers or {})
    req = AWSRequest(method="GET", url=ENDPOINT + path, headers=h)
    SigV4Auth(Credentials(key, secret), "s3", REGION).add_auth(req)
    return http("GET", req.url, headers=dict(req.headers.items()))


def case_content_api():
    a = client()
    a.create_bucket(Bucket="cas")
    body = data(300000, b"cas")
    path = os.path.join(os.environ["TMP"], "cas.bin")
    with open(path, "wb") as f:
        f.write(body)
    a.put_object(Bucket="cas", Key="some/name.bin", Body=body)
    hexdigest = subprocess.run(["b3sum", "--no-names", path], check=True, capture_output=True,
                               text=True).stdout.strip()
    blob = "/v1/blobs/blake3:" + hexdigest
    status, got = signed_get(os.environ["A_KEY"], os.environ["A_SECRET"], blob)
    assert status == 200 and got == body, (status, got[:200])
    status, got = signed_get(os.environ["A_KEY"], os.environ["A_SECRET"], blob, {"Range": "bytes=5-14"})
    assert status == 206 and got == body[5:15], (status, got[:200])
    status, got = signed_get(os.environ["A_KEY"], os.environ["A_SECRET"], blob,
                             {"Range": "bytes=-100"})
    assert status == 206 and got == body[-100:], (status, got[:200])
    # Another tenant does not learn that the content exists.
    status, got = signed_get(os.environ["B_KEY"], os.environ["B_SECRET"], blob)
    assert status == 404, (status, got[:200])
    # A digest nobody stored, and no signature at all.
    status, _ = signed_get(os.environ["A_KEY"], os.environ["A_SECRET"], "/v1/blobs/blake3:" + "0" * 64)
    assert status == 404, status
    status, got = http("GET", ENDPOINT + blob)
    assert status in (401, 403) and got != body, status


def main():
    if len(sys.argv) != 2 or "case_" + sys.argv[1] not in globals():
        cases = sorted(n[5:] for n in globals() if n.startswith("case_"))
        print("usage: boto3_suite.py CASE; cases: " + " ".join(cases), file=sys.stderr)
        return 2
    try:
        globals()["case_" + sys.argv[1]]()
    except Skip as e:
        print(e)
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main())
