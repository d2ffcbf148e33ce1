// The S3 and content APIs in process, over a real socket, with requests
// signed by our own SigV4 signer: the operations end to end (so the sanitizer
// build covers the server), bad signatures and checksums, tenant isolation.
// The real clients (awscli, rclone, s3cmd, boto3) are in tests/server/clients.
#include <ctime>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "hash/blake3.h"
#include "hash/sha.h"
#include "http_test_client.h"
#include "s3/aws_chunked.h"
#include "s3/http_util.h"
#include "s3/sigv4.h"
#include "cbor/cbor.h"
#include "server/object_attrs.h"
#include "server/s3_api.h"
#include "s3_api_fixture.h"
#include "test_util.h"

namespace as {
namespace {

TEST_F(S3ApiTest, PutGetHeadRangeListDelete) {
  EXPECT_EQ(Do("PUT", "/bkt").status, 200);
  EXPECT_EQ(Do("PUT", "/bkt").status, 409);  // BucketAlreadyOwnedByYou
  std::string data = RandomString(100000, 1);
  auto put = Do("PUT", "/bkt/dir/a%20b.bin", data,
                {{"content-type", "text/x-test"}, {"x-amz-meta-color", "blue"}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.Header("etag"), "\"" + Md5Hex(data) + "\"");
  auto get = Do("GET", "/bkt/dir/a%20b.bin");
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(get.body, data);
  EXPECT_EQ(get.Header("content-type"), "text/x-test");
  EXPECT_EQ(get.Header("x-amz-meta-color"), "blue");
  EXPECT_EQ(get.Header("x-amz-meta-as-content"),
            Blake3(reinterpret_cast<const uint8_t*>(data.data()), data.size()).ToString());
  auto head = Do("HEAD", "/bkt/dir/a%20b.bin");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), std::to_string(data.size()));
  auto range = Do("GET", "/bkt/dir/a%20b.bin", "", {{"range", "bytes=100-199"}});
  EXPECT_EQ(range.status, 206);
  EXPECT_EQ(range.body, data.substr(100, 100));
  auto suffix = Do("GET", "/bkt/dir/a%20b.bin", "", {{"range", "bytes=-10"}});
  EXPECT_EQ(suffix.body, data.substr(data.size() - 10));
  auto bad = Do("GET", "/bkt/dir/a%20b.bin", "", {{"range", "bytes=200000-"}});
  EXPECT_EQ(bad.status, 416);
  EXPECT_NE(bad.body.find("InvalidRange"), std::string::npos);
  auto nm = Do("GET", "/bkt/dir/a%20b.bin", "", {{"if-none-match", "\"" + Md5Hex(data) + "\""}});
  EXPECT_EQ(nm.status, 304);
  auto pf = Do("GET", "/bkt/dir/a%20b.bin", "", {{"if-match", "\"nope\""}});
  EXPECT_EQ(pf.status, 412);
  auto list = Do("GET", "/bkt?list-type=2&delimiter=%2F");
  EXPECT_EQ(list.status, 200);
  EXPECT_NE(list.body.find("<Prefix>dir/</Prefix>"), std::string::npos) << list.body;
  EXPECT_EQ(Do("DELETE", "/bkt").status, 409);  // BucketNotEmpty
  EXPECT_EQ(Do("DELETE", "/bkt/dir/a%20b.bin").status, 204);
  EXPECT_EQ(Do("GET", "/bkt/dir/a%20b.bin").status, 404);
  EXPECT_EQ(Do("DELETE", "/bkt").status, 204);
  EXPECT_EQ(Do("GET", "/bkt?list-type=2").status, 404);
}

TEST_F(S3ApiTest, BadChecksumsAndSignaturesStoreNothing) {
  ASSERT_EQ(Do("PUT", "/bkt").status, 200);
  std::string data = RandomString(5000, 2);
  // A payload hash that is not the body's.
  auto r = Do("PUT", "/bkt/k", data, {}, nullptr, s3::Sha256Hex("other"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("XAmzContentSHA256Mismatch"), std::string::npos) << r.body;
  r = Do("PUT", "/bkt/k", data, {{"x-amz-checksum-crc32c", "AAAAAA=="}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("BadDigest"), std::string::npos);
  r = Do("PUT", "/bkt/k", data, {{"content-md5", "AAAAAAAAAAAAAAAAAAAAAA=="}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("BadDigest"), std::string::npos);
  EXPECT_EQ(Do("HEAD", "/bkt/k").status, 404);
  s3::SigV4Credentials wrong = alice_;
  wrong.secret = "not-the-secret";
  r = Do("GET", "/bkt/k", "", {}, &wrong);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("SignatureDoesNotMatch"), std::string::npos);
  // Refused before the path is split, the error still names what was asked for.
  EXPECT_NE(r.body.find("<Resource>/bkt/k</Resource>"), std::string::npos) << r.body;
  s3::SigV4Credentials unknown{"ASNOSUCHKEY000000000", "x", "us-east-1"};
  r = Do("GET", "/bkt/k", "", {}, &unknown);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("InvalidAccessKeyId"), std::string::npos);
  EXPECT_NE(r.body.find("<Resource>/bkt/k</Resource>"), std::string::npos) << r.body;
  auto st = store_->Stats();
  EXPECT_EQ(st->names, 0u);
}

TEST_F(S3ApiTest, TenantsSeeNothingOfEachOther) {
  ASSERT_EQ(Do("PUT", "/abkt").status, 200);
  std::string data = RandomString(20000, 3);
  ASSERT_EQ(Do("PUT", "/abkt/secret", data).status, 200);
  EXPECT_EQ(Do("GET", "/abkt/secret", "", {}, &bob_).status, 404);
  EXPECT_EQ(Do("PUT", "/abkt/x", "y", {}, &bob_).status, 404);
  EXPECT_EQ(Do("GET", "/", "", {}, &bob_).body.find("abkt"), std::string::npos);
  std::string digest =
      Blake3(reinterpret_cast<const uint8_t*>(data.data()), data.size()).ToString();
  EXPECT_EQ(Do("GET", "/v1/blobs/" + digest, "", {}, &bob_).status, 404);
  auto mine = Do("GET", "/v1/blobs/" + digest);
  EXPECT_EQ(mine.status, 200);
  EXPECT_EQ(mine.body, data);
  auto part = Do("GET", "/v1/blobs/" + digest, "", {{"range", "bytes=10-19"}});
  EXPECT_EQ(part.body, data.substr(10, 10));
  auto manifest = Do("GET", "/v1/manifests/" + digest);
  EXPECT_EQ(manifest.status, 200);
  EXPECT_EQ(manifest.Header("content-type"), "application/cbor");
}

TEST_F(S3ApiTest, MultipartAndCopy) {
  ASSERT_EQ(Do("PUT", "/mpb").status, 200);
  auto init = Do("POST", "/mpb/big?uploads");
  ASSERT_EQ(init.status, 200);
  size_t a = init.body.find("<UploadId>"), b = init.body.find("</UploadId>");
  ASSERT_NE(a, std::string::npos);
  std::string id = init.body.substr(a + 10, b - a - 10);
  std::string p1 = RandomString(70000, 4), p2 = RandomString(30000, 5);
  auto r1 = Do("PUT", "/mpb/big?partNumber=1&uploadId=" + id, p1);
  auto r2 = Do("PUT", "/mpb/big?partNumber=2&uploadId=" + id, p2);
  ASSERT_EQ(r1.status, 200);
  ASSERT_EQ(r2.status, 200);
  EXPECT_EQ(Do("GET", "/mpb/big?uploadId=" + id, "", {}, &bob_).status, 404);
  std::string bad = "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>" +
                    r2.Header("etag") + "</ETag></Part><Part><PartNumber>1</PartNumber><ETag>" +
                    r1.Header("etag") + "</ETag></Part></CompleteMultipartUpload>";
  EXPECT_EQ(Do("POST", "/mpb/big?uploadId=" + id, bad).status, 400);  // InvalidPartOrder
  EXPECT_EQ(Do("POST", "/mpb/big?uploadId=" + id, "<nope").status, 400);
  std::string xml = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                    r1.Header("etag") + "</ETag></Part><Part><PartNumber>2</PartNumber><ETag>" +
                    r2.Header("etag") + "</ETag></Part></CompleteMultipartUpload>";
  auto done = Do("POST", "/mpb/big?uploadId=" + id, xml);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_NE(done.body.find("-2"), std::string::npos) << done.body;
  EXPECT_EQ(Do("GET", "/mpb/big").body, p1 + p2);
  auto copy = Do("PUT", "/mpb/copy", "", {{"x-amz-copy-source", "/mpb/big"}});
  ASSERT_EQ(copy.status, 200) << copy.body;
  EXPECT_EQ(Do("GET", "/mpb/copy").body, p1 + p2);
}

TEST_F(S3ApiTest, AwsChunkedUploadsAreCheckedChunkByChunk) {
  ASSERT_EQ(Do("PUT", "/chk").status, 200);
  std::string data = RandomString(300000, 6);
  const char* kMode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
  std::vector<s3::HttpHeader> extra = {{"content-encoding", "aws-chunked"},
                                       {"x-amz-decoded-content-length",
                                        std::to_string(data.size())}};
  auto encode = [&](bool tamper) {
    return [&, tamper](const std::string& auth) {
      s3::AwsChunkedParams p;
      p.mode = s3::PayloadMode::kStreamingSigned;
      p.amz_date = last_date_;
      p.scope = last_date_.substr(0, 8) + "/us-east-1/s3/aws4_request";
      p.signing_key = s3::SigV4SigningKey(alice_.secret, last_date_.substr(0, 8), "us-east-1", "s3");
      p.seed_signature = auth.substr(auth.find("Signature=") + 10);
      std::string body = s3::AwsChunkedEncode(data, 65536, p);
      if (tamper) body[body.size() / 2] ^= 1;  // inside some chunk's data
      return body;
    };
  };
  body_for_auth_ = encode(false);
  auto ok = Do("PUT", "/chk/good", "", extra, nullptr, kMode);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.Header("etag"), "\"" + Md5Hex(data) + "\"");
  body_for_auth_ = encode(true);
  auto bad = Do("PUT", "/chk/bad", "", extra, nullptr, kMode);
  EXPECT_EQ(bad.status, 403) << bad.body;
  EXPECT_NE(bad.body.find("SignatureDoesNotMatch"), std::string::npos) << bad.body;
  body_for_auth_ = nullptr;
  EXPECT_EQ(Do("GET", "/chk/good").body, data);
  EXPECT_EQ(Do("HEAD", "/chk/bad").status, 404);
}

TEST_F(S3ApiTest, VirtualHostedStyleNamesTheBucketInTheHost) {
  const std::string port = std::to_string(server_->port());
  host_ = "vbkt.s3.test:" + port;
  ASSERT_EQ(Do("PUT", "/").status, 200);  // CreateBucket
  ASSERT_EQ(Do("PUT", "/dir/a%20b", "bytes").status, 200);
  EXPECT_EQ(Do("GET", "/dir/a%20b").body, "bytes");
  auto list = Do("GET", "/?list-type=2&prefix=dir%2F");
  EXPECT_NE(list.body.find("<Key>dir/a b</Key>"), std::string::npos) << list.body;
  host_ = "VBKT.S3.Test";  // hosts are not case-sensitive; no port
  EXPECT_EQ(Do("GET", "/dir/a%20b").body, "bytes");
  // The domain alone, or another host: path-style.
  host_ = "s3.test:" + port;
  EXPECT_NE(Do("GET", "/").body.find("<Name>vbkt</Name>"), std::string::npos);
  EXPECT_EQ(Do("GET", "/vbkt/dir/a%20b").body, "bytes");
  host_ = "vbkt.elsewhere.test:" + port;
  EXPECT_EQ(Do("GET", "/vbkt/dir/a%20b").body, "bytes");
  EXPECT_EQ(Do("GET", "/dir/a%20b").status, 404);  // bucket "dir"
  host_.clear();
  EXPECT_EQ(Do("GET", "/vbkt/dir/a%20b").body, "bytes");
}

TEST_F(S3ApiTest, PresignedUrlsWorkUntilTheyExpire) {
  ASSERT_EQ(Do("PUT", "/pre").status, 200);
  ASSERT_EQ(Do("PUT", "/pre/k", "hello").status, 200);
  const std::string host = "127.0.0.1:" + std::to_string(server_->port());
  std::vector<s3::HttpHeader> h = {{"host", host}};
  auto url = [&](int64_t when, int64_t expires) {
    s3::HttpRequestView v{"GET", "/pre/k", h};
    return s3::PresignSigV4(v, alice_, when, expires);
  };
  const int64_t now = std::time(nullptr);
  auto r = Send("GET", url(now, 60), h, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  r = Send("GET", url(now - 120, 60), h, "");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("AccessDenied"), std::string::npos);
  std::string tampered = url(now, 60);
  tampered.replace(tampered.find("/pre/k"), 6, "/pre/x");
  EXPECT_EQ(Send("GET", tampered, h, "").status, 403);
}

// ObjectAttrs::Decode reads the common shapes directly and leaves the rest
// to cbor::Decode; both must agree on what they accept.
TEST(ObjectAttrsTest, DecodeRoundTripsAndKeepsTheStrictRules) {
  ObjectAttrs a;
  a.etag = "9b2cf535f27731c974343645a3985328-3";
  a.content_type = "text/plain";
  a.headers = {{"cache-control", "no-cache"}, {"content-encoding", "gzip"}};
  a.user = {{"a", ""}, {"bb", std::string(300, 'x')}, {"c", "\xff\r"}};
  a.checksum(s3::ChecksumAlgo::kCrc32c) = "yZRlqg==";
  a.checksum(s3::ChecksumAlgo::kSha256) = std::string(44, 'A');
  a.checksum(s3::ChecksumAlgo::kCrc64Nvme) = "AAAAAAAAAAA=-2";
  a.checksum_composite = true;
  a.checksum_algorithm = s3::ChecksumAlgo::kSha1;
  a.parts = 70000;
  a.part_sizes = {5u << 20, 0, 127, 128, ~uint64_t{0}};
  a.tags = {{"project", "blue"}, {"empty", ""}};
  auto back = ObjectAttrs::Decode(a.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->etag, a.etag);
  EXPECT_EQ(back->content_type, a.content_type);
  EXPECT_EQ(back->headers, a.headers);
  EXPECT_EQ(back->user, a.user);
  EXPECT_EQ(back->checksums, a.checksums);
  EXPECT_TRUE(back->checksum_composite);
  EXPECT_EQ(back->checksum_algorithm, s3::ChecksumAlgo::kSha1);
  EXPECT_EQ(back->parts, a.parts);
  EXPECT_EQ(*back, a);
  EXPECT_TRUE(ObjectAttrs::Decode("").ok());

  auto bytes = [](std::vector<uint8_t> b) { return std::string(b.begin(), b.end()); };
  // A newer writer's field (key 20, an array) is skipped.
  auto newer = ObjectAttrs::Decode(bytes({0xa2, 0x00, 0x41, 'e', 0x14, 0x81, 0x01}));
  ASSERT_TRUE(newer.ok());
  EXPECT_EQ(newer->etag, "e");
  // Not canonical, or not attrs: errors, as cbor::Decode has them.
  for (const std::string& bad : {
           bytes({0xa2, 0x01, 0x41, 't', 0x00, 0x41, 'e'}),                   // keys out of order
           bytes({0xa1, 0x00, 0x41, 'e', 0x00}),                              // trailing byte
           bytes({0xa1, 0x00, 0x58, 0x01, 'e'}),                              // non-shortest length
           bytes({0xa1, 0x02, 0xa2, 0x41, 'b', 0x40, 0x41, 'a', 0x40}),       // inner keys unsorted
           bytes({0xa1, 0x02, 0xa2, 0x42, 'a', 'a', 0x40, 0x41, 'b', 0x40}),  // longer first
           bytes({0xa1, 0x00, 0x61, 'e'}),                                    // text, not bytes
           bytes({0xa1, 0x00, 0x42, 'e'}),                                    // truncated
           bytes({0x80}),                                                     // not a map
           bytes({0xa1, 0x0b, 0x05}),              // checksum algorithm 5: there is none
           bytes({0xa1, 0x0c, 0x42, 0x80, 0x00}),  // part size with a needless zero group
           bytes({0xa1, 0x0c, 0x41, 0x80}),        // part size cut short
       }) {
    EXPECT_FALSE(ObjectAttrs::Decode(bad).ok()) << ::testing::PrintToString(bad);
  }
}

}  // namespace
}  // namespace as
