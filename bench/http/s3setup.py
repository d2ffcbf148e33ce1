#!/usr/bin/python3
"""Uploads the benchmark objects to artifact-store with boto3 and prints presigned URLs.

    /usr/bin/python3 s3setup.py URL KEY.json OBJDIR NAME... > urls.json

Creates bucket "bench", PUTs each OBJDIR/NAME as key NAME with one put_object (no
multipart: these are plain single-PUT objects), reads each back and compares its
SHA-256, then prints {"get": {NAME: url}, "put": {NAME: url}}: presigned GET URLs
for the uploaded keys and presigned PUT URLs for keys "put-NAME", valid for a day,
so that wrk needs no signing. Path-style addressing, region us-east-1, SigV4.
Debian's python (/usr/bin/python3, python3-boto3). An https:// URL is verified
against $AS_CA_BUNDLE when set; a bucket "bench" that exists already is used.
"""
import hashlib
import json
import os
import sys

import boto3
from botocore.config import Config


def main():
    url, keyfile, objdir, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    key = json.load(open(keyfile))
    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=key["access_key_id"],
        aws_secret_access_key=key["secret_access_key"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                      retries={"max_attempts": 1}),
        verify=os.environ.get("AS_CA_BUNDLE") or None,
    )
    try:
        s3.create_bucket(Bucket="bench")
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    out = {"get": {}, "put": {}}
    for name in names:
        path = f"{objdir}/{name}"
        with open(path, "rb") as f:
            data = f.read()
        s3.put_object(Bucket="bench", Key=name, Body=data)
        got = s3.get_object(Bucket="bench", Key=name)["Body"].read()
        if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
            sys.exit(f"s3setup: {name}: the bytes read back differ from the bytes put")
        out["get"][name] = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "bench", "Key": name}, ExpiresIn=86400)
        out["put"][name] = s3.generate_presigned_url(
            "put_object", Params={"Bucket": "bench", "Key": "put-" + name}, ExpiresIn=86400)
        print(f"s3setup: {name}: {len(data)} bytes put and read back", file=sys.stderr)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
