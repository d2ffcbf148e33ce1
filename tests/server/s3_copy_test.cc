// What S3 clients read and copy beyond the basic operations: the ETag an
// object without an MD5 shows, GET ?tagging (which awscli reads before a
// multipart copy), UploadPartCopy, and the bucket configurations tools read.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "hash/blake3.h"
#include "s3/checksum.h"
#include "s3/http_util.h"
#include "s3_api_fixture.h"

namespace as {
namespace {

std::string Between(const std::string& s, const std::string& open, const std::string& close) {
  size_t a = s.find(open);
  if (a == std::string::npos) return "";
  a += open.size();
  size_t b = s.find(close, a);
  return b == std::string::npos ? "" : s.substr(a, b - a);
}

std::string PutThroughStore(Store* store, const std::string& tenant, const std::string& name,
                            const std::string& data) {
  auto n = ObjectName::Parse(name, tenant);
  EXPECT_TRUE(n.ok());
  size_t pos = 0;
  auto r = store->Put(*n, [&](uint8_t* b, size_t cap) -> Result<size_t> {
    size_t k = std::min(cap, data.size() - pos);
    std::memcpy(b, data.data() + pos, k);
    pos += k;
    return k;
  });
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  Digest d = Blake3(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  return ToHex(d.bytes.data(), 16) + "-1";
}

// An object put by the CLI (or restored by repair --reindex) has no MD5. It
// shows an ETag made from its content digest, in the multipart form that
// clients do not compare with an MD5, the same in HEAD, GET and listings,
// and usable in conditions. Before, it had none: s3cmd warned of an MD5
// mismatch and downloaded it again on every sync.
TEST_F(S3ApiTest, ObjectsPutWithoutS3ShowAContentEtag) {
  ASSERT_EQ(Do("PUT", "/clib").status, 200);
  const std::string data = RandomString(50000, 7);
  const std::string etag = PutThroughStore(store_.get(), "alice", "clib/f.bin", data);
  const std::string quoted = "\"" + etag + "\"";
  auto head = Do("HEAD", "/clib/f.bin");
  ASSERT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("etag"), quoted);
  auto get = Do("GET", "/clib/f.bin");
  EXPECT_EQ(get.Header("etag"), quoted);
  EXPECT_EQ(get.body, data);
  auto list = Do("GET", "/clib?list-type=2");
  EXPECT_NE(list.body.find("<ETag>\"" + etag + "\"</ETag>"), std::string::npos) << list.body;
  EXPECT_EQ(Do("GET", "/clib/f.bin", "", {{"if-none-match", quoted}}).status, 304);
  EXPECT_EQ(Do("GET", "/clib/f.bin", "", {{"if-match", quoted}}).status, 200);
  // A copy keeps it; an object put through S3 keeps its MD5.
  ASSERT_EQ(Do("PUT", "/clib/copy", "", {{"x-amz-copy-source", "/clib/f.bin"}}).status, 200);
  EXPECT_EQ(Do("HEAD", "/clib/copy").Header("etag"), quoted);
  ASSERT_EQ(Do("PUT", "/clib/s3.bin", data).status, 200);
  EXPECT_EQ(Do("HEAD", "/clib/s3.bin").Header("etag"), "\"" + Md5Hex(data) + "\"");
}

TEST_F(S3ApiTest, ObjectTagsAreKeptReplacedAndCopied) {
  ASSERT_EQ(Do("PUT", "/tagb").status, 200);
  ASSERT_EQ(Do("PUT", "/tagb/k", "v", {{"x-amz-tagging", "project=blue&team=a+b%26c"}}).status,
            200);
  auto tags = Do("GET", "/tagb/k?tagging");
  ASSERT_EQ(tags.status, 200) << tags.body;
  EXPECT_NE(tags.body.find("<Tag><Key>project</Key><Value>blue</Value></Tag>"), std::string::npos)
      << tags.body;
  EXPECT_NE(tags.body.find("<Tag><Key>team</Key><Value>a b&amp;c</Value></Tag>"), std::string::npos)
      << tags.body;
  const auto before = Do("HEAD", "/tagb/k");
  EXPECT_EQ(before.Header("x-amz-tagging-count"), "2");

  // Replacing them changes neither the bytes, the ETag nor Last-Modified.
  const std::string one =
      "<Tagging><TagSet><Tag><Key>env</Key><Value></Value></Tag></TagSet></Tagging>";
  ASSERT_EQ(Do("PUT", "/tagb/k?tagging", one).status, 200);
  tags = Do("GET", "/tagb/k?tagging");
  EXPECT_NE(tags.body.find("<Key>env</Key>"), std::string::npos) << tags.body;
  EXPECT_EQ(tags.body.find("project"), std::string::npos) << tags.body;
  const auto after = Do("HEAD", "/tagb/k");
  EXPECT_EQ(after.Header("etag"), before.Header("etag"));
  EXPECT_EQ(after.Header("last-modified"), before.Header("last-modified"));
  EXPECT_EQ(after.Header("x-amz-tagging-count"), "1");
  EXPECT_EQ(Do("GET", "/tagb/k").body, "v");

  // Copies keep the source's tags unless told to replace them.
  ASSERT_EQ(Do("PUT", "/tagb/c1", "", {{"x-amz-copy-source", "/tagb/k"}}).status, 200);
  EXPECT_NE(Do("GET", "/tagb/c1?tagging").body.find("<Key>env</Key>"), std::string::npos);
  ASSERT_EQ(Do("PUT", "/tagb/c2", "",
               {{"x-amz-copy-source", "/tagb/k"},
                {"x-amz-tagging-directive", "REPLACE"},
                {"x-amz-tagging", "x=1"}})
                .status,
            200);
  EXPECT_NE(Do("GET", "/tagb/c2?tagging").body.find("<Key>x</Key><Value>1</Value>"),
            std::string::npos);
  // A multipart upload takes them at Create.
  auto init = Do("POST", "/tagb/mp?uploads", "", {{"x-amz-tagging", "mp=yes"}});
  const std::string id = Between(init.body, "<UploadId>", "</UploadId>");
  auto part = Do("PUT", "/tagb/mp?uploadId=" + id + "&partNumber=1", "data");
  ASSERT_EQ(Do("POST", "/tagb/mp?uploadId=" + id,
               "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                   part.Header("etag") + "</ETag></Part></CompleteMultipartUpload>")
                .status,
            200);
  EXPECT_EQ(Do("HEAD", "/tagb/mp").Header("x-amz-tagging-count"), "1");

  EXPECT_EQ(Do("DELETE", "/tagb/k?tagging").status, 204);
  EXPECT_EQ(Do("HEAD", "/tagb/k").Header("x-amz-tagging-count"), "");
  EXPECT_EQ(Do("GET", "/tagb/k").body, "v");

  // What S3 refuses; nothing changes.
  std::string eleven = "<Tagging><TagSet>";
  for (int i = 0; i < 11; i++) {
    eleven += "<Tag><Key>k" + std::to_string(i) + "</Key><Value>v</Value></Tag>";
  }
  eleven += "</TagSet></Tagging>";
  const std::string twice =
      "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value>"
      "</Tag></TagSet></Tagging>";
  const std::string reserved =
      "<Tagging><TagSet><Tag><Key>aws:x</Key><Value>1</Value></Tag></TagSet></Tagging>";
  for (const std::string& bad : std::vector<std::string>{eleven, twice, reserved}) {
    auto r = Do("PUT", "/tagb/k?tagging", bad);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("InvalidTag"), std::string::npos) << r.body;
  }
  EXPECT_NE(Do("PUT", "/tagb/k?tagging", "<Tagging/>").body.find("MalformedXML"),
            std::string::npos);
  EXPECT_EQ(Do("PUT", "/tagb/bad", "v", {{"x-amz-tagging", "aws:a=1"}}).status, 400);
  EXPECT_EQ(Do("HEAD", "/tagb/bad").status, 404);
  EXPECT_EQ(Do("HEAD", "/tagb/k").Header("x-amz-tagging-count"), "");
  EXPECT_EQ(Do("GET", "/tagb/nope?tagging").status, 404);
  EXPECT_EQ(Do("PUT", "/tagb/nope?tagging", one).status, 404);
  EXPECT_EQ(Do("GET", "/nobucket/k?tagging").status, 404);
  EXPECT_EQ(Do("GET", "/tagb/k?tagging", "", {}, &bob_).status, 404);  // not bob's
}

// Tools that manage buckets read every configuration; one never set is a
// 404 with S3's code for it, not a 501. Setting one stays NotImplemented.
TEST_F(S3ApiTest, UnsetBucketConfigurationsReadAsS3AnswersThem) {
  ASSERT_EQ(Do("PUT", "/cfgb").status, 200);
  for (const auto& [sub, code] : std::vector<std::pair<std::string, std::string>>{
           {"cors", "NoSuchCORSConfiguration"},
           {"policy", "NoSuchBucketPolicy"},
           {"lifecycle", "NoSuchLifecycleConfiguration"},
           {"encryption", "ServerSideEncryptionConfigurationNotFoundError"},
           {"tagging", "NoSuchTagSet"},
           {"website", "NoSuchWebsiteConfiguration"},
           {"publicAccessBlock", "NoSuchPublicAccessBlockConfiguration"}}) {
    auto got = Do("GET", "/cfgb?" + sub);
    EXPECT_EQ(got.status, 404) << sub;
    EXPECT_NE(got.body.find("<Code>" + code + "</Code>"), std::string::npos) << got.body;
    EXPECT_EQ(Do("GET", "/nobucket?" + sub).status, 404) << sub;  // NoSuchBucket
    EXPECT_EQ(Do("PUT", "/cfgb?" + sub, "<x/>").status, 501) << sub;
  }
  EXPECT_NE(Do("GET", "/nobucket?cors").body.find("NoSuchBucket"), std::string::npos);
  EXPECT_EQ(Do("GET", "/cfgb?analytics").status, 501);
}

// What `aws s3 cp s3://... s3://...` does for objects of 8 MiB and more:
// a multipart upload whose parts are ranges of the source.
TEST_F(S3ApiTest, UploadPartCopyCopiesRangesOfCheckedBytes) {
  ASSERT_EQ(Do("PUT", "/upc").status, 200);
  const std::string src = RandomString(300000, 8), cli = RandomString(40000, 9);
  ASSERT_EQ(Do("PUT", "/upc/src", src).status, 200);
  PutThroughStore(store_.get(), "alice", "upc/cli", cli);
  auto init = Do("POST", "/upc/dst?uploads");
  ASSERT_EQ(init.status, 200);
  const std::string id = Between(init.body, "<UploadId>", "</UploadId>");
  const std::string part = "/upc/dst?uploadId=" + id + "&partNumber=";
  auto p1 = Do("PUT", part + "1", "",
               {{"x-amz-copy-source", "/upc/src"}, {"x-amz-copy-source-range", "bytes=0-99999"}});
  ASSERT_EQ(p1.status, 200) << p1.body;
  EXPECT_EQ(Between(p1.body, "<ETag>\"", "\"</ETag>"), Md5Hex(src.substr(0, 100000))) << p1.body;
  auto p2 =
      Do("PUT", part + "2", "",
         {{"x-amz-copy-source", "upc/src"}, {"x-amz-copy-source-range", "bytes=100000-299999"}});
  ASSERT_EQ(p2.status, 200) << p2.body;
  auto p3 = Do("PUT", part + "3", "", {{"x-amz-copy-source", "/upc/cli"}});  // whole
  ASSERT_EQ(p3.status, 200) << p3.body;
  EXPECT_EQ(Between(p3.body, "<ETag>\"", "\"</ETag>"), Md5Hex(cli));
  // Bad ranges, a missing source, another tenant's object: errors, no part.
  for (const char* bad : {"bytes=0-300000", "bytes=5-4", "bytes=-5", "bytes=0-", "items=0-1"}) {
    auto r = Do("PUT", part + "4", "",
                {{"x-amz-copy-source", "/upc/src"}, {"x-amz-copy-source-range", bad}});
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
  }
  EXPECT_EQ(Do("PUT", part + "4", "", {{"x-amz-copy-source", "/upc/nope"}}).status, 404);
  ASSERT_EQ(Do("PUT", "/bobb", "", {}, &bob_).status, 200);
  ASSERT_EQ(Do("PUT", "/bobb/secret", "s", {}, &bob_).status, 200);
  EXPECT_EQ(Do("PUT", part + "4", "", {{"x-amz-copy-source", "/bobb/secret"}}).status, 404);
  auto parts = Do("GET", "/upc/dst?uploadId=" + id);
  EXPECT_EQ(parts.body.find("<PartNumber>4</PartNumber>"), std::string::npos) << parts.body;

  std::string xml = "<CompleteMultipartUpload>";
  int n = 1;
  for (const auto* r : {&p1, &p2, &p3}) {
    xml += "<Part><PartNumber>" + std::to_string(n++) + "</PartNumber><ETag>" +
           Between(r->body, "<ETag>", "</ETag>") + "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  auto done = Do("POST", "/upc/dst?uploadId=" + id, xml);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(Do("GET", "/upc/dst").body, src + cli);
}

TEST_F(S3ApiTest, CopiesHappenOnlyWhenTheSourceConditionsHold) {
  ASSERT_EQ(Do("PUT", "/cpc").status, 200);
  const std::string src = RandomString(5000, 10);
  ASSERT_EQ(Do("PUT", "/cpc/src", src).status, 200);
  const std::string etag = "\"" + Md5Hex(src) + "\"";
  const std::string past = "Mon, 01 Jan 2001 00:00:00 GMT",
                    future = "Fri, 01 Jan 2100 00:00:00 GMT";
  struct Case {
    const char* header;
    std::string value;
    int status;  // 200 copied, 412 not
  };
  const std::vector<Case> cases = {
      {"x-amz-copy-source-if-match", etag, 200},
      {"x-amz-copy-source-if-match", "\"0123\"", 412},
      {"x-amz-copy-source-if-none-match", etag, 412},
      {"x-amz-copy-source-if-none-match", "\"0123\"", 200},
      {"x-amz-copy-source-if-unmodified-since", past, 412},
      {"x-amz-copy-source-if-unmodified-since", future, 200},
      {"x-amz-copy-source-if-modified-since", future, 412},
      {"x-amz-copy-source-if-modified-since", past, 200},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string dst = "/cpc/dst" + std::to_string(n++);
    auto r = Do("PUT", dst, "", {{"x-amz-copy-source", "/cpc/src"}, {c.header, c.value}});
    EXPECT_EQ(r.status, c.status) << c.header << ": " << c.value << ": " << r.body;
    EXPECT_EQ(Do("HEAD", dst).status, c.status == 200 ? 200 : 404) << c.header;
    if (c.status == 412) {
      EXPECT_NE(r.body.find("PreconditionFailed"), std::string::npos) << r.body;
    }
  }
  // UploadPartCopy takes the same conditions; a part it copies into an upload
  // created with a checksum algorithm gets that checksum.
  auto init = Do("POST", "/cpc/mp?uploads", "", {{"x-amz-checksum-algorithm", "CRC32"}});
  const std::string id = Between(init.body, "<UploadId>", "</UploadId>");
  const std::string part = "/cpc/mp?uploadId=" + id + "&partNumber=1";
  auto refused = Do("PUT", part, "",
                    {{"x-amz-copy-source", "/cpc/src"}, {"x-amz-copy-source-if-match", "\"0\""}});
  EXPECT_EQ(refused.status, 412) << refused.body;
  EXPECT_EQ(Do("GET", "/cpc/mp?uploadId=" + id).body.find("<Part>"), std::string::npos);
  auto copied = Do("PUT", part, "",
                   {{"x-amz-copy-source", "/cpc/src"}, {"x-amz-copy-source-if-match", etag}});
  ASSERT_EQ(copied.status, 200) << copied.body;
  s3::Checksummer crc(s3::ChecksumAlgo::kCrc32, store_->kernels());
  crc.Update(reinterpret_cast<const uint8_t*>(src.data()), src.size());
  EXPECT_EQ(
      Between(Do("GET", "/cpc/mp?uploadId=" + id).body, "<ChecksumCRC32>", "</ChecksumCRC32>"),
      s3::Base64Encode(crc.Finish()));
}

TEST_F(S3ApiTest, GetByPartNumberReadsThatPart) {
  ASSERT_EQ(Do("PUT", "/gpn").status, 200);
  const std::vector<std::string> parts = {RandomString(300001, 11), RandomString(4097, 12),
                                          RandomString(70000, 13)};
  auto init = Do("POST", "/gpn/mp?uploads", "", {{"x-amz-checksum-algorithm", "CRC32"}});
  const std::string id = Between(init.body, "<UploadId>", "</UploadId>");
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < parts.size(); i++) {
    const std::string n = std::to_string(i + 1);
    auto u = Do("PUT", "/gpn/mp?uploadId=" + id + "&partNumber=" + n, parts[i]);
    ASSERT_EQ(u.status, 200) << u.body;
    xml += "<Part><PartNumber>" + n + "</PartNumber><ETag>" + u.Header("etag") + "</ETag></Part>";
  }
  ASSERT_EQ(Do("POST", "/gpn/mp?uploadId=" + id, xml + "</CompleteMultipartUpload>").status, 200);
  const std::string total = std::to_string(parts[0].size() + parts[1].size() + parts[2].size());

  auto p2 = Do("GET", "/gpn/mp?partNumber=2", "", {{"x-amz-checksum-mode", "ENABLED"}});
  EXPECT_EQ(p2.status, 206);
  EXPECT_EQ(p2.body, parts[1]);
  EXPECT_EQ(p2.Header("content-range"), "bytes 300001-304097/" + total);
  EXPECT_EQ(p2.Header("x-amz-mp-parts-count"), "3");
  EXPECT_EQ(p2.Header("x-amz-checksum-crc32"), "");  // the object's, not the part's
  auto p3 = Do("HEAD", "/gpn/mp?partNumber=3");
  EXPECT_EQ(p3.status, 206);
  EXPECT_EQ(p3.Header("content-length"), "70000");
  EXPECT_EQ(Do("GET", "/gpn/mp?partNumber=1").body, parts[0]);
  // Only a request for a part hears how many there are.
  auto whole = Do("GET", "/gpn/mp");
  EXPECT_EQ(whole.body, parts[0] + parts[1] + parts[2]);
  EXPECT_EQ(whole.Header("x-amz-mp-parts-count"), "");

  auto four = Do("GET", "/gpn/mp?partNumber=4");
  EXPECT_EQ(four.status, 416) << four.body;
  EXPECT_NE(four.body.find("InvalidPartNumber"), std::string::npos);
  for (const char* bad : {"0", "10001", "x", ""}) {
    EXPECT_EQ(Do("GET", std::string("/gpn/mp?partNumber=") + bad).status, 400) << bad;
  }
  EXPECT_EQ(Do("GET", "/gpn/mp?partNumber=1", "", {{"range", "bytes=0-9"}}).status, 400);

  // A single put is one part.
  ASSERT_EQ(Do("PUT", "/gpn/one", "0123456789").status, 200);
  auto one = Do("GET", "/gpn/one?partNumber=1");
  EXPECT_EQ(one.status, 206);
  EXPECT_EQ(one.body, "0123456789");
  EXPECT_EQ(one.Header("x-amz-mp-parts-count"), "");
  EXPECT_EQ(Do("GET", "/gpn/one?partNumber=2").status, 416);
}

TEST_F(S3ApiTest, GetObjectAttributesAnswersWhatIsAskedFor) {
  ASSERT_EQ(Do("PUT", "/goa").status, 200);
  const std::string p1 = RandomString(6000, 14), p2 = RandomString(500, 15);
  auto init = Do("POST", "/goa/mp?uploads", "", {{"x-amz-checksum-algorithm", "CRC32"}});
  const std::string id = Between(init.body, "<UploadId>", "</UploadId>");
  auto u1 = Do("PUT", "/goa/mp?uploadId=" + id + "&partNumber=1", p1);
  auto u2 = Do("PUT", "/goa/mp?uploadId=" + id + "&partNumber=2", p2);
  auto done = Do("POST", "/goa/mp?uploadId=" + id,
                 "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                     u1.Header("etag") + "</ETag></Part><Part><PartNumber>2</PartNumber><ETag>" +
                     u2.Header("etag") + "</ETag></Part></CompleteMultipartUpload>");
  ASSERT_EQ(done.status, 200) << done.body;
  const std::string all = "ETag,Checksum,ObjectParts,StorageClass,ObjectSize";
  auto a = Do("GET", "/goa/mp?attributes", "", {{"x-amz-object-attributes", all}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ("\"" + Between(a.body, "<ETag>", "</ETag>") + "\"",
            Do("HEAD", "/goa/mp").Header("etag"));
  EXPECT_EQ(Between(a.body, "<ChecksumCRC32>", "</ChecksumCRC32>"),
            Between(done.body, "<ChecksumCRC32>", "</ChecksumCRC32>"));
  EXPECT_NE(a.body.find("<ChecksumType>COMPOSITE</ChecksumType>"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("<TotalPartsCount>2</TotalPartsCount>"), std::string::npos);
  EXPECT_NE(a.body.find("<Part><PartNumber>2</PartNumber><Size>500</Size></Part>"),
            std::string::npos)
      << a.body;
  EXPECT_NE(a.body.find("<StorageClass>STANDARD</StorageClass>"), std::string::npos);
  EXPECT_NE(a.body.find("<ObjectSize>6500</ObjectSize>"), std::string::npos);
  // Pages of parts; only what is asked for.
  auto page = Do("GET", "/goa/mp?attributes", "",
                 {{"x-amz-object-attributes", "ObjectParts"}, {"x-amz-max-parts", "1"}});
  EXPECT_NE(page.body.find("<IsTruncated>true</IsTruncated>"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("<NextPartNumberMarker>1</NextPartNumberMarker>"), std::string::npos);
  EXPECT_EQ(page.body.find("<ETag>"), std::string::npos);
  EXPECT_EQ(page.body.find("<ObjectSize>"), std::string::npos);
  // A single put has no parts.
  ASSERT_EQ(Do("PUT", "/goa/one", "abc").status, 200);
  auto one = Do("GET", "/goa/one?attributes", "", {{"x-amz-object-attributes", all}});
  EXPECT_EQ(one.body.find("<ObjectParts>"), std::string::npos) << one.body;
  EXPECT_EQ(Between(one.body, "<ETag>", "</ETag>"), Md5Hex("abc"));
  EXPECT_EQ(Do("GET", "/goa/one?attributes").status, 400);
  EXPECT_EQ(Do("GET", "/goa/one?attributes", "", {{"x-amz-object-attributes", "Color"}}).status,
            400);
  EXPECT_EQ(Do("GET", "/goa/none?attributes", "", {{"x-amz-object-attributes", all}}).status, 404);
}

}  // namespace
}  // namespace as
