// S3 additional checksums through the server: each algorithm as a header and
// as an aws-chunked trailer (checked, kept, returned on request), the
// requests S3 refuses, and multipart uploads created with a checksum
// algorithm (COMPOSITE and FULL_OBJECT values).
#include <gtest/gtest.h>

#include "s3/aws_chunked.h"
#include "s3/checksum.h"
#include "s3/http_util.h"
#include "s3_api_fixture.h"
#include "server/object_attrs.h"

namespace as {
namespace {

using s3::ChecksumAlgo;

class S3ChecksumTest : public S3ApiTest {
 protected:
  std::string Binary(ChecksumAlgo a, const std::string& data) {
    s3::Checksummer c(a, store_->kernels());
    c.Update(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    return c.Finish();
  }
  std::string B64(ChecksumAlgo a, const std::string& data) {
    return s3::Base64Encode(Binary(a, data));
  }
  // The text of <name> in an XML body ("" if absent).
  static std::string Element(const std::string& xml, const std::string& name) {
    size_t a = xml.find("<" + name + ">");
    if (a == std::string::npos) return "";
    a += name.size() + 2;
    return xml.substr(a, xml.find("</" + name + ">", a) - a);
  }
  void ExpectError(const Response& r, int status, const std::string& code,
                   const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.body;
    EXPECT_NE(r.body.find("<Code>" + code + "</Code>"), std::string::npos)
        << what << ": " << r.body;
  }
  static constexpr std::pair<const char*, const char*> kMode = {"x-amz-checksum-mode", "ENABLED"};
};

TEST_F(S3ChecksumTest, EveryAlgorithmIsCheckedKeptAndReturned) {
  ASSERT_EQ(Do("PUT", "/cks").status, 200);
  const std::string data = RandomString(70001, 1);
  for (ChecksumAlgo a : s3::kAllChecksumAlgos) {
    const s3::ChecksumSpec& spec = s3::Spec(a);
    const std::string key = std::string("/cks/") + spec.name;
    auto put = Do("PUT", key, data, {{spec.header, B64(a, data)}});
    ASSERT_EQ(put.status, 200) << spec.name << ": " << put.body;
    EXPECT_EQ(put.Header(spec.header), B64(a, data)) << spec.name;
    EXPECT_EQ(put.Header("x-amz-checksum-type"), "FULL_OBJECT") << spec.name;
    auto get = Do("GET", key, "", {kMode});
    EXPECT_EQ(get.body, data);
    EXPECT_EQ(get.Header(spec.header), B64(a, data)) << spec.name;
    EXPECT_EQ(Do("HEAD", key, "", {kMode}).Header(spec.header), B64(a, data)) << spec.name;
    // Only when asked for, and never for a part of the object.
    EXPECT_EQ(Do("GET", key).Header(spec.header), "") << spec.name;
    auto part = Do("GET", key, "", {kMode, {"range", "bytes=10-99"}});
    EXPECT_EQ(part.status, 206);
    EXPECT_EQ(part.Header(spec.header), "") << spec.name;

    // A value that does not match the bytes: refused, nothing stored.
    const std::string bad = std::string("/cks/bad-") + spec.name;
    std::string other = data;
    other[5] ^= 1;
    ExpectError(Do("PUT", bad, data, {{spec.header, B64(a, other)}}), 400, "BadDigest", spec.name);
    EXPECT_EQ(Do("HEAD", bad).status, 404) << spec.name;
  }
  // Copies keep the checksum.
  ASSERT_EQ(Do("PUT", "/cks/copy", "", {{"x-amz-copy-source", "/cks/CRC32"}}).status, 200);
  EXPECT_EQ(Do("HEAD", "/cks/copy", "", {kMode}).Header("x-amz-checksum-crc32"),
            B64(ChecksumAlgo::kCrc32, data));
  // A copy asked for another algorithm reads the source to compute it; asked
  // for the one the source has, it keeps that.
  auto sha = Do("PUT", "/cks/copy-sha", "",
                {{"x-amz-copy-source", "/cks/CRC32"}, {"x-amz-checksum-algorithm", "SHA256"}});
  ASSERT_EQ(sha.status, 200) << sha.body;
  EXPECT_EQ(Element(sha.body, "ChecksumSHA256"), B64(ChecksumAlgo::kSha256, data));
  auto head = Do("HEAD", "/cks/copy-sha", "", {kMode});
  EXPECT_EQ(head.Header("x-amz-checksum-sha256"), B64(ChecksumAlgo::kSha256, data));
  EXPECT_EQ(head.Header("x-amz-checksum-crc32"), "");
  auto kept = Do("PUT", "/cks/copy-crc", "",
                 {{"x-amz-copy-source", "/cks/CRC32"}, {"x-amz-checksum-algorithm", "CRC32"}});
  EXPECT_EQ(Element(kept.body, "ChecksumCRC32"), B64(ChecksumAlgo::kCrc32, data));
  ExpectError(Do("PUT", "/cks/copy-bad", "",
                 {{"x-amz-copy-source", "/cks/CRC32"}, {"x-amz-checksum-algorithm", "MD5"}}),
              400, "InvalidRequest", "copy with an unknown algorithm");
}

// A PUT that declares no checksum gets a CRC64NVME, as on S3; one that
// declares another keeps only that.
TEST_F(S3ChecksumTest, APutWithoutAChecksumKeepsACrc64Nvme) {
  ASSERT_EQ(Do("PUT", "/dflt").status, 200);
  const std::string data = RandomString(100000, 3);
  ASSERT_EQ(Do("PUT", "/dflt/plain", data).status, 200);
  auto head = Do("HEAD", "/dflt/plain", "", {kMode});
  EXPECT_EQ(head.Header("x-amz-checksum-crc64nvme"), B64(ChecksumAlgo::kCrc64Nvme, data));
  EXPECT_EQ(head.Header("x-amz-checksum-type"), "FULL_OBJECT");
  ASSERT_EQ(
      Do("PUT", "/dflt/crc32", data, {{"x-amz-checksum-crc32", B64(ChecksumAlgo::kCrc32, data)}})
          .status,
      200);
  head = Do("HEAD", "/dflt/crc32", "", {kMode});
  EXPECT_EQ(head.Header("x-amz-checksum-crc32"), B64(ChecksumAlgo::kCrc32, data));
  EXPECT_EQ(head.Header("x-amz-checksum-crc64nvme"), "");
}

// An object from before one checksum per object may keep CRC32C and SHA256.
// GET returns both; every answer that shows one (CopyObjectResult,
// GetObjectAttributes) shows the same one, with the same type.
TEST_F(S3ChecksumTest, AnOlderObjectWithTwoChecksumsShowsTheSameOneEverywhere) {
  ASSERT_EQ(Do("PUT", "/two").status, 200);
  const std::string data = RandomString(5000, 7);
  ASSERT_EQ(Do("PUT", "/two/k", data).status, 200);
  ObjectName name{"alice", "two", "k"};
  auto info = store_->Lookup(name);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  auto attrs = ObjectAttrs::Decode(info->attrs);
  ASSERT_TRUE(attrs.ok());
  attrs->checksum(ChecksumAlgo::kCrc64Nvme).clear();  // not kept then
  attrs->checksum(ChecksumAlgo::kCrc32c) = B64(ChecksumAlgo::kCrc32c, data);
  attrs->checksum(ChecksumAlgo::kSha256) = B64(ChecksumAlgo::kSha256, data);
  ASSERT_TRUE(store_->SetAttrs(name, attrs->Encode(), info->manifest).ok());
  EXPECT_EQ(attrs->FirstChecksum(), ChecksumAlgo::kCrc32c);

  auto get = Do("GET", "/two/k", "", {kMode});
  EXPECT_EQ(get.Header("x-amz-checksum-crc32c"), B64(ChecksumAlgo::kCrc32c, data));
  EXPECT_EQ(get.Header("x-amz-checksum-sha256"), B64(ChecksumAlgo::kSha256, data));
  EXPECT_EQ(get.Header("x-amz-checksum-type"), "FULL_OBJECT");
  auto got = Do("GET", "/two/k?attributes", "", {{"x-amz-object-attributes", "Checksum"}});
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Element(got.body, "ChecksumCRC32C"), B64(ChecksumAlgo::kCrc32c, data)) << got.body;
  EXPECT_EQ(Element(got.body, "ChecksumSHA256"), "") << got.body;
  EXPECT_EQ(Element(got.body, "ChecksumType"), "FULL_OBJECT") << got.body;
  auto copy = Do("PUT", "/two/copy", "", {{"x-amz-copy-source", "/two/k"}});
  ASSERT_EQ(copy.status, 200) << copy.body;
  EXPECT_EQ(Element(copy.body, "ChecksumCRC32C"), B64(ChecksumAlgo::kCrc32c, data)) << copy.body;
  EXPECT_EQ(Element(copy.body, "ChecksumSHA256"), "") << copy.body;
}

TEST_F(S3ChecksumTest, MalformedChecksumRequestsAreRefused) {
  ASSERT_EQ(Do("PUT", "/ckm").status, 200);
  const std::string data = "hello";
  const std::string crc32 = B64(ChecksumAlgo::kCrc32, data);
  const std::vector<std::pair<std::string, std::vector<s3::HttpHeader>>> cases = {
      {"not base64", {{"x-amz-checksum-crc32", "Nh!mhg=="}}},
      {"a CRC64NVME that is 4 bytes", {{"x-amz-checksum-crc64nvme", crc32}}},
      {"two checksums",
       {{"x-amz-checksum-crc32", crc32},
        {"x-amz-checksum-sha256", B64(ChecksumAlgo::kSha256, data)}}},
      {"an SDK algorithm without a value", {{"x-amz-sdk-checksum-algorithm", "CRC32"}}},
      {"an SDK algorithm other than the value's",
       {{"x-amz-sdk-checksum-algorithm", "SHA1"}, {"x-amz-checksum-crc32", crc32}}},
      {"an unknown SDK algorithm",
       {{"x-amz-sdk-checksum-algorithm", "MD5"}, {"x-amz-checksum-crc32", crc32}}},
      {"an unknown checksum trailer", {{"x-amz-trailer", "x-amz-checksum-md5"}}},
  };
  for (const auto& [what, headers] : cases) {
    ExpectError(Do("PUT", "/ckm/k", data, headers), 400, "InvalidRequest", what);
    EXPECT_EQ(Do("HEAD", "/ckm/k").status, 404) << what;
  }
  // The control: the same request with one right checksum is stored.
  auto ok = Do("PUT", "/ckm/k", data,
               {{"x-amz-sdk-checksum-algorithm", "crc32"}, {"x-amz-checksum-crc32", crc32}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.Header("x-amz-checksum-crc32"), "NhCmhg==");  // as AWS SDKs compute it
}

TEST_F(S3ChecksumTest, TrailerChecksumsOfUnsignedAwsChunkedBodies) {
  ASSERT_EQ(Do("PUT", "/ckt").status, 200);
  const std::string data = RandomString(200000, 2);
  const char* kPayload = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
  for (ChecksumAlgo a : {ChecksumAlgo::kCrc32, ChecksumAlgo::kCrc64Nvme, ChecksumAlgo::kSha1}) {
    const s3::ChecksumSpec& spec = s3::Spec(a);
    std::vector<s3::HttpHeader> extra = {
        {"content-encoding", "aws-chunked"},
        {"x-amz-decoded-content-length", std::to_string(data.size())},
        {"x-amz-sdk-checksum-algorithm", spec.name},
        {"x-amz-trailer", spec.header}};
    auto put = [&](const std::string& key, const std::string& value) {
      body_for_auth_ = [&](const std::string&) {
        s3::AwsChunkedParams p;
        p.mode = s3::PayloadMode::kStreamingUnsignedTrailer;
        std::vector<s3::HttpHeader> trailers = {{spec.header, value}};
        return s3::AwsChunkedEncode(data, 65536, p, trailers);
      };
      auto r = Do("PUT", key, "", extra, nullptr, kPayload);
      body_for_auth_ = nullptr;
      return r;
    };
    const std::string good = std::string("/ckt/") + spec.name;
    auto r = put(good, B64(a, data));
    ASSERT_EQ(r.status, 200) << spec.name << ": " << r.body;
    EXPECT_EQ(Do("GET", good, "", {kMode}).Header(spec.header), B64(a, data));
    const std::string bad = std::string("/ckt/bad-") + spec.name;
    ExpectError(put(bad, B64(a, data + "x")), 400, "BadDigest", spec.name);
    EXPECT_EQ(Do("HEAD", bad).status, 404);
    // A trailer promised but not sent: nothing was checked, nothing is stored.
    body_for_auth_ = [&](const std::string&) {
      s3::AwsChunkedParams p;
      p.mode = s3::PayloadMode::kStreamingUnsignedTrailer;
      return s3::AwsChunkedEncode(data, 65536, p);
    };
    ExpectError(Do("PUT", bad, "", extra, nullptr, kPayload), 400, "InvalidRequest", spec.name);
    body_for_auth_ = nullptr;
    EXPECT_EQ(Do("HEAD", bad).status, 404);
  }
}

TEST_F(S3ChecksumTest, MultipartUploadsCombineTheirPartsChecksums) {
  ASSERT_EQ(Do("PUT", "/ckp").status, 200);
  const std::string p1 = RandomString(300001, 3), p2 = RandomString(4097, 4);
  struct Case {
    ChecksumAlgo algo;
    const char* type;  // nullptr: the algorithm's default
    std::string want_type, want_value;
  };
  const std::vector<Case> cases = {
      {ChecksumAlgo::kCrc32, nullptr, "COMPOSITE",
       B64(ChecksumAlgo::kCrc32,
           Binary(ChecksumAlgo::kCrc32, p1) + Binary(ChecksumAlgo::kCrc32, p2)) +
           "-2"},
      {ChecksumAlgo::kSha256, "COMPOSITE", "COMPOSITE",
       B64(ChecksumAlgo::kSha256,
           Binary(ChecksumAlgo::kSha256, p1) + Binary(ChecksumAlgo::kSha256, p2)) +
           "-2"},
      // FULL_OBJECT: the CRC of all the bytes, from the parts' CRCs.
      {ChecksumAlgo::kCrc64Nvme, nullptr, "FULL_OBJECT", B64(ChecksumAlgo::kCrc64Nvme, p1 + p2)},
      {ChecksumAlgo::kCrc32c, "FULL_OBJECT", "FULL_OBJECT", B64(ChecksumAlgo::kCrc32c, p1 + p2)},
  };
  for (const Case& c : cases) {
    const s3::ChecksumSpec& spec = s3::Spec(c.algo);
    const std::string key = std::string("/ckp/") + spec.name;
    std::vector<s3::HttpHeader> create = {{"x-amz-checksum-algorithm", spec.name}};
    if (c.type) create.emplace_back("x-amz-checksum-type", c.type);
    auto cr = Do("POST", key + "?uploads", "", create);
    ASSERT_EQ(cr.status, 200) << cr.body;
    EXPECT_EQ(cr.Header("x-amz-checksum-algorithm"), spec.name);
    EXPECT_EQ(cr.Header("x-amz-checksum-type"), c.want_type);
    const std::string id = Element(cr.body, "UploadId");
    const std::string q = key + "?uploadId=" + id + "&partNumber=";
    // Part 1 declares its checksum, part 2 does not: both compute it.
    auto u1 = Do("PUT", q + "1", p1, {{spec.header, B64(c.algo, p1)}});
    auto u2 = Do("PUT", q + "2", p2);
    ASSERT_EQ(u1.status, 200) << u1.body;
    ASSERT_EQ(u2.status, 200) << u2.body;
    EXPECT_EQ(u2.Header(spec.header), B64(c.algo, p2));
    // A part with another algorithm's checksum is refused.
    const ChecksumAlgo other =
        c.algo == ChecksumAlgo::kSha1 ? ChecksumAlgo::kCrc32 : ChecksumAlgo::kSha1;
    ExpectError(Do("PUT", q + "3", p2, {{s3::Spec(other).header, B64(other, p2)}}), 400,
                "InvalidRequest", spec.name);
    auto list = Do("GET", key + "?uploadId=" + id);
    EXPECT_EQ(Element(list.body, "ChecksumAlgorithm"), spec.name);
    EXPECT_EQ(Element(list.body, "ChecksumType"), c.want_type);
    EXPECT_EQ(Element(list.body, spec.element), B64(c.algo, p1));

    auto complete_xml = [&](const std::string& part2_checksum) {
      return "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + u1.Header("etag") +
             "</ETag></Part><Part><PartNumber>2</PartNumber><ETag>" + u2.Header("etag") +
             "</ETag><" + spec.element + ">" + part2_checksum + "</" + spec.element +
             "></Part></CompleteMultipartUpload>";
    };
    ExpectError(Do("POST", key + "?uploadId=" + id, complete_xml(B64(c.algo, p1))), 400,
                "InvalidPart", spec.name);
    auto done = Do("POST", key + "?uploadId=" + id, complete_xml(B64(c.algo, p2)));
    ASSERT_EQ(done.status, 200) << spec.name << ": " << done.body;
    EXPECT_EQ(Element(done.body, spec.element), c.want_value) << spec.name;
    EXPECT_EQ(Element(done.body, "ChecksumType"), c.want_type) << spec.name;
    auto get = Do("GET", key, "", {kMode});
    EXPECT_EQ(get.body, p1 + p2);
    EXPECT_EQ(get.Header(spec.header), c.want_value) << spec.name;
    EXPECT_EQ(get.Header("x-amz-checksum-type"), c.want_type) << spec.name;
  }
  // Types S3 does not allow for an algorithm, and unknown names.
  for (const auto& [algo, type] :
       std::vector<std::pair<std::string, std::string>>{{"SHA256", "FULL_OBJECT"},
                                                        {"CRC64NVME", "COMPOSITE"},
                                                        {"MD5", ""},
                                                        {"CRC32", "HALF"},
                                                        {"", "COMPOSITE"}}) {
    std::vector<s3::HttpHeader> h;
    if (!algo.empty()) h.emplace_back("x-amz-checksum-algorithm", algo);
    if (!type.empty()) h.emplace_back("x-amz-checksum-type", type);
    ExpectError(Do("POST", "/ckp/refused?uploads", "", h), 400, "InvalidRequest",
                algo + " " + type);
  }
}

// An upload created without an algorithm: parts that declare nothing (sent
// or copied) keep a CRC64NVME, and the object gets the FULL_OBJECT CRC64NVME
// of all its bytes, as a single PUT would. A part that declares another
// algorithm leaves the object without one.
TEST_F(S3ChecksumTest, AMultipartUploadWithoutAnAlgorithmGetsAFullObjectCrc64Nvme) {
  ASSERT_EQ(Do("PUT", "/ckd").status, 200);
  const std::string p1 = RandomString(300001, 5), p2 = RandomString(70000, 6);
  ASSERT_EQ(Do("PUT", "/ckd/src", p2).status, 200);
  auto upload = [&](const std::string& key) {
    auto cr = Do("POST", key + "?uploads");
    EXPECT_EQ(cr.status, 200) << cr.body;
    return Element(cr.body, "UploadId");
  };
  const std::string id = upload("/ckd/obj");
  auto u1 = Do("PUT", "/ckd/obj?uploadId=" + id + "&partNumber=1", p1);
  auto u2 = Do("PUT", "/ckd/obj?uploadId=" + id + "&partNumber=2", "",
               {{"x-amz-copy-source", "/ckd/src"}});
  ASSERT_EQ(u1.status, 200) << u1.body;
  ASSERT_EQ(u2.status, 200) << u2.body;
  EXPECT_EQ(u1.Header("x-amz-checksum-crc64nvme"), B64(ChecksumAlgo::kCrc64Nvme, p1));
  EXPECT_EQ(Element(u2.body, "ChecksumCRC64NVME"), B64(ChecksumAlgo::kCrc64Nvme, p2));
  auto complete = [&](const std::string& key, const std::string& upload_id, const std::string& e1,
                      const std::string& e2) {
    return Do("POST", key + "?uploadId=" + upload_id,
              "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + e1 +
                  "</ETag></Part><Part><PartNumber>2</PartNumber><ETag>" + e2 +
                  "</ETag></Part></CompleteMultipartUpload>");
  };
  auto done = complete("/ckd/obj", id, u1.Header("etag"), Element(u2.body, "ETag"));
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(Element(done.body, "ChecksumCRC64NVME"), B64(ChecksumAlgo::kCrc64Nvme, p1 + p2));
  EXPECT_EQ(Element(done.body, "ChecksumType"), "FULL_OBJECT");
  auto head = Do("HEAD", "/ckd/obj", "", {kMode});
  EXPECT_EQ(head.Header("x-amz-checksum-crc64nvme"), B64(ChecksumAlgo::kCrc64Nvme, p1 + p2));
  EXPECT_EQ(head.Header("x-amz-checksum-type"), "FULL_OBJECT");

  const std::string id2 = upload("/ckd/mixed");
  auto m1 = Do("PUT", "/ckd/mixed?uploadId=" + id2 + "&partNumber=1", p1,
               {{"x-amz-checksum-crc32", B64(ChecksumAlgo::kCrc32, p1)}});
  auto m2 = Do("PUT", "/ckd/mixed?uploadId=" + id2 + "&partNumber=2", p2);
  ASSERT_EQ(m1.status, 200) << m1.body;
  ASSERT_EQ(m2.status, 200) << m2.body;
  auto done2 = complete("/ckd/mixed", id2, m1.Header("etag"), m2.Header("etag"));
  ASSERT_EQ(done2.status, 200) << done2.body;
  EXPECT_EQ(Element(done2.body, "ChecksumCRC64NVME"), "");
  head = Do("HEAD", "/ckd/mixed", "", {kMode});
  EXPECT_EQ(head.Header("x-amz-checksum-crc64nvme"), "");
  EXPECT_EQ(head.Header("x-amz-checksum-crc32"), "");
  EXPECT_EQ(Do("GET", "/ckd/mixed").body, p1 + p2);
}

}  // namespace
}  // namespace as
