// S3 XML documents (src/s3/xml.h): builders checked by re-parsing their output
// with pugixml, parsers fed valid and broken bodies.
#include "s3/xml.h"

#include <gtest/gtest.h>

#include <pugixml.hpp>

#include <memory>

namespace as::s3 {
namespace {

constexpr const char* kDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
constexpr int64_t kT = 1795484127042;  // 2026-11-24T01:35:27.042Z

struct Parsed {
  pugi::xml_document doc;
  pugi::xml_node root;
};

// Parses builder output, checking the declaration and the namespace.
std::unique_ptr<Parsed> Reparse(const std::string& xml, const char* root, bool ns = true) {
  EXPECT_EQ(xml.rfind(kDecl, 0), 0u) << xml;
  auto p = std::make_unique<Parsed>();
  pugi::xml_parse_result r = p->doc.load_string(xml.c_str(), pugi::parse_default | pugi::parse_ws_pcdata_single);
  EXPECT_TRUE(r) << r.description() << "\n" << xml;
  p->root = p->doc.document_element();
  EXPECT_STREQ(p->root.name(), root);
  if (ns) {
    EXPECT_STREQ(p->root.attribute("xmlns").value(), kS3Namespace);
  } else {
    EXPECT_FALSE(p->root.attribute("xmlns"));
  }
  return p;
}

std::string Child(pugi::xml_node n, const char* name) { return n.child(name).text().get(); }

const std::string kLongKey(1024, 'k');
const std::vector<std::string> kAwkward = {
    "plain", "with space", " leading and trailing ", "a&b<c>d\"e'f", "caf\xc3\xa9/\xe2\x82\xac",
    "\xf0\x9f\x98\x80", "..", "../../etc/passwd", "tab\there", "cr\rlf\n", "]]>", kLongKey, " "};

TEST(XmlBuild, Error) {
  std::string xml = ErrorXml({.code = "NoSuchKey", .message = "The specified key does not exist.",
                              .resource = "/b/k", .request_id = "4442587FB7D0A2F9"});
  EXPECT_EQ(xml, std::string(kDecl) +
                     "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist."
                     "</Message><Resource>/b/k</Resource><RequestId>4442587FB7D0A2F9</RequestId>"
                     "</Error>");
  std::string extra = ErrorXml({.code = "NoSuchBucket", .message = "m", .resource = "",
                                .request_id = "r", .extra = {{"BucketName", "a<b"}}});
  auto p = Reparse(extra, "Error", false);
  EXPECT_EQ(Child(p->root, "BucketName"), "a<b");
  EXPECT_FALSE(p->root.child("Resource"));
  EXPECT_NE(extra.find("a&lt;b"), std::string::npos);
}

TEST(XmlBuild, ListAllMyBuckets) {
  std::string xml = ListAllMyBucketsXml({"tenant-a", "tenant-a"}, {{"alpha", kT}, {"beta", 0}});
  auto p = Reparse(xml, "ListAllMyBucketsResult");
  EXPECT_EQ(Child(p->root.child("Owner"), "ID"), "tenant-a");
  EXPECT_EQ(Child(p->root.child("Owner"), "DisplayName"), "tenant-a");
  pugi::xml_node b = p->root.child("Buckets").child("Bucket");
  EXPECT_EQ(Child(b, "Name"), "alpha");
  EXPECT_EQ(Child(b, "CreationDate"), "2026-11-24T01:35:27.042Z");
  EXPECT_EQ(Child(b.next_sibling("Bucket"), "CreationDate"), "1970-01-01T00:00:00.000Z");
  EXPECT_NE(ListAllMyBucketsXml({"o", "o"}, {}).find("<Buckets/>"), std::string::npos);
}

TEST(XmlBuild, ListObjectsV2KeysSurvive) {
  ListPage page;
  for (const std::string& k : kAwkward) page.contents.push_back({k, 42, "d41d8cd98f00b204e9800998ecf8427e", kT});
  page.common_prefixes = {"dir & <more>/"};
  std::string xml = ListBucketResultXml({.bucket = "bkt", .prefix = "", .delimiter = "/"}, page);
  auto p = Reparse(xml, "ListBucketResult");
  EXPECT_EQ(Child(p->root, "Name"), "bkt");
  EXPECT_EQ(Child(p->root, "KeyCount"), std::to_string(kAwkward.size() + 1));
  EXPECT_EQ(Child(p->root, "MaxKeys"), "1000");
  EXPECT_EQ(Child(p->root, "Delimiter"), "/");
  EXPECT_EQ(Child(p->root, "IsTruncated"), "false");
  EXPECT_FALSE(p->root.child("NextContinuationToken"));
  EXPECT_FALSE(p->root.child("ContinuationToken"));
  EXPECT_FALSE(p->root.child("EncodingType"));
  EXPECT_FALSE(p->root.child("Marker"));  // V1 only
  size_t i = 0;
  for (pugi::xml_node c : p->root.children("Contents")) {
    ASSERT_LT(i, kAwkward.size());
    EXPECT_EQ(Child(c, "Key"), kAwkward[i]) << i;
    EXPECT_EQ(Child(c, "ETag"), "\"d41d8cd98f00b204e9800998ecf8427e\"");
    EXPECT_EQ(Child(c, "Size"), "42");
    EXPECT_EQ(Child(c, "LastModified"), "2026-11-24T01:35:27.042Z");
    EXPECT_EQ(Child(c, "StorageClass"), "STANDARD");
    EXPECT_FALSE(c.child("Owner"));
    ++i;
  }
  EXPECT_EQ(i, kAwkward.size());
  EXPECT_EQ(Child(p->root.child("CommonPrefixes"), "Prefix"), "dir & <more>/");
  EXPECT_NE(xml.find("a&amp;b&lt;c&gt;d"), std::string::npos);
  EXPECT_NE(xml.find("cr&#13;lf\n"), std::string::npos);
}

TEST(XmlBuild, ControlCharactersAreReferences) {
  ListPage page;
  page.contents.push_back({std::string("a\x01\x1f\x7f b", 6), 1, "e", 0});
  std::string xml = ListBucketResultXml({.bucket = "b"}, page);
  EXPECT_NE(xml.find("<Key>a&#1;&#31;\x7f b</Key>"), std::string::npos) << xml;
}

TEST(XmlBuild, ListObjectsV2Truncated) {
  ListPage page;
  page.contents.push_back({"k1", 1, "e", 0});
  page.common_prefixes = {"p/"};
  page.is_truncated = true;
  page.next = "p/";
  std::string xml = ListBucketResultXml(
      {.bucket = "b", .prefix = "pre", .delimiter = "/", .max_keys = 2,
       .owner = Owner{"id1", "name1"}, .continuation_token = "tok", .start_after = "k0"},
      page);
  auto p = Reparse(xml, "ListBucketResult");
  EXPECT_EQ(Child(p->root, "IsTruncated"), "true");
  EXPECT_EQ(Child(p->root, "KeyCount"), "2");
  EXPECT_EQ(Child(p->root, "ContinuationToken"), "tok");
  EXPECT_EQ(Child(p->root, "StartAfter"), "k0");
  EXPECT_EQ(Child(p->root, "Prefix"), "pre");
  auto next = DecodeContinuationToken(Child(p->root, "NextContinuationToken"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, "p/");
  EXPECT_EQ(Child(p->root.child("Contents").child("Owner"), "ID"), "id1");
}

TEST(XmlBuild, ListObjectsV1Markers) {
  ListPage page;
  page.contents.push_back({"a", 1, "e", 0});
  page.is_truncated = true;
  page.next = "a";
  // Without a delimiter V1 has no NextMarker: clients resume from the last Key.
  auto p = Reparse(ListBucketResultXml({.version = 1, .bucket = "b", .marker = "m"}, page),
                   "ListBucketResult");
  EXPECT_EQ(Child(p->root, "Marker"), "m");
  EXPECT_FALSE(p->root.child("NextMarker"));
  EXPECT_FALSE(p->root.child("KeyCount"));
  EXPECT_FALSE(p->root.child("Delimiter"));
  auto q = Reparse(ListBucketResultXml({.version = 1, .bucket = "b", .delimiter = "/"}, page),
                   "ListBucketResult");
  EXPECT_TRUE(q->root.child("Marker"));  // present even when empty
  EXPECT_EQ(Child(q->root, "NextMarker"), "a");
  page.is_truncated = false;
  auto r = Reparse(ListBucketResultXml({.version = 1, .bucket = "b", .delimiter = "/"}, page),
                   "ListBucketResult");
  EXPECT_FALSE(r->root.child("NextMarker"));
}

TEST(XmlBuild, EncodingTypeUrl) {
  ListPage page;
  page.contents.push_back({"a b/caf\xc3\xa9+x&y(3).png~", 1, "e", 0});
  page.contents.push_back({"ctl\x01\x7f", 1, "e", 0});
  page.common_prefixes = {"dir one/"};
  page.is_truncated = true;
  page.next = "dir one/";
  std::string xml = ListBucketResultXml({.version = 1, .bucket = "b", .prefix = "a b",
                                         .delimiter = " ", .encoding_url = true, .marker = "m+n"},
                                        page);
  auto p = Reparse(xml, "ListBucketResult");
  EXPECT_EQ(Child(p->root, "EncodingType"), "url");
  EXPECT_EQ(Child(p->root, "Prefix"), "a%20b");
  EXPECT_EQ(Child(p->root, "Delimiter"), "%20");
  EXPECT_EQ(Child(p->root, "Marker"), "m%2Bn");
  EXPECT_EQ(Child(p->root, "NextMarker"), "dir%20one/");
  pugi::xml_node c = p->root.child("Contents");
  EXPECT_EQ(Child(c, "Key"), "a%20b/caf%C3%A9%2Bx%26y%283%29.png~");
  EXPECT_EQ(Child(c.next_sibling("Contents"), "Key"), "ctl%01%7F");
  EXPECT_EQ(Child(p->root.child("CommonPrefixes"), "Prefix"), "dir%20one/");
  auto v2 = Reparse(ListBucketResultXml({.bucket = "b", .encoding_url = true, .start_after = "x y"},
                                        page),
                    "ListBucketResult");
  EXPECT_EQ(Child(v2->root, "StartAfter"), "x%20y");
  // The token is base64url: encoding would not change it.
  EXPECT_EQ(DecodeContinuationToken(Child(v2->root, "NextContinuationToken")).value(), "dir one/");
}

TEST(XmlBuild, Multipart) {
  auto init = Reparse(InitiateMultipartUploadXml({"b", "dir/a b.bin", "up1"}),
                      "InitiateMultipartUploadResult");
  EXPECT_EQ(Child(init->root, "Bucket"), "b");
  EXPECT_EQ(Child(init->root, "Key"), "dir/a b.bin");
  EXPECT_EQ(Child(init->root, "UploadId"), "up1");

  auto done = Reparse(CompleteMultipartUploadXml({"http://h/b/k", "b", "k", "abc-3"}),
                      "CompleteMultipartUploadResult");
  EXPECT_EQ(Child(done->root, "Location"), "http://h/b/k");
  EXPECT_EQ(Child(done->root, "ETag"), "\"abc-3\"");

  ListPartsDoc lp{.bucket = "b", .key = "k", .upload_id = "u", .part_number_marker = 1,
                  .next_part_number_marker = 3, .max_parts = 2, .is_truncated = true};
  lp.parts = {{2, kT, "e2", 8u << 20}, {3, kT, "e3", 5}};
  auto parts = Reparse(ListPartsXml(lp), "ListPartsResult");
  EXPECT_EQ(Child(parts->root, "PartNumberMarker"), "1");
  EXPECT_EQ(Child(parts->root, "NextPartNumberMarker"), "3");
  EXPECT_EQ(Child(parts->root, "MaxParts"), "2");
  EXPECT_EQ(Child(parts->root, "IsTruncated"), "true");
  pugi::xml_node part = parts->root.child("Part");
  EXPECT_EQ(Child(part, "PartNumber"), "2");
  EXPECT_EQ(Child(part, "ETag"), "\"e2\"");
  EXPECT_EQ(Child(part, "Size"), "8388608");
  EXPECT_EQ(Child(part, "LastModified"), "2026-11-24T01:35:27.042Z");
  EXPECT_EQ(Child(part.next_sibling("Part"), "PartNumber"), "3");

  ListMultipartUploadsDoc lu{.bucket = "b"};
  lu.uploads = {{"k 1", "u1", kT}, {"k2", "u2", 0}};
  auto ups = Reparse(ListMultipartUploadsXml(lu), "ListMultipartUploadsResult");
  pugi::xml_node up = ups->root.child("Upload");
  EXPECT_EQ(Child(up, "Key"), "k 1");
  EXPECT_EQ(Child(up, "UploadId"), "u1");
  EXPECT_EQ(Child(up, "Initiated"), "2026-11-24T01:35:27.042Z");
  EXPECT_EQ(Child(ups->root, "IsTruncated"), "false");
  EXPECT_FALSE(ups->root.child("NextKeyMarker"));
}

TEST(XmlBuild, CopyResults) {
  auto c = Reparse(CopyObjectResultXml({kT, "abc"}), "CopyObjectResult");
  EXPECT_EQ(Child(c->root, "LastModified"), "2026-11-24T01:35:27.042Z");
  EXPECT_EQ(Child(c->root, "ETag"), "\"abc\"");
  Reparse(CopyPartResultXml({kT, "abc"}), "CopyPartResult");
}

TEST(XmlBuild, DeleteResult) {
  DeleteResultDoc d{.deleted = {"a", "b c"}, .errors = {{"x&y", "AccessDenied", "Access Denied"}}};
  auto loud = Reparse(DeleteResultXml(d, false), "DeleteResult");
  EXPECT_EQ(Child(loud->root.child("Deleted"), "Key"), "a");
  EXPECT_EQ(Child(loud->root.child("Deleted").next_sibling("Deleted"), "Key"), "b c");
  EXPECT_EQ(Child(loud->root.child("Error"), "Key"), "x&y");
  EXPECT_EQ(Child(loud->root.child("Error"), "Code"), "AccessDenied");
  auto quiet = Reparse(DeleteResultXml(d, true), "DeleteResult");
  EXPECT_FALSE(quiet->root.child("Deleted"));
  EXPECT_TRUE(quiet->root.child("Error"));
}

TEST(XmlBuild, LocationConstraint) {
  auto us = Reparse(LocationConstraintXml(""), "LocationConstraint");
  EXPECT_STREQ(us->root.text().get(), "");
  auto eu = Reparse(LocationConstraintXml("eu-west-1"), "LocationConstraint");
  EXPECT_STREQ(eu->root.text().get(), "eu-west-1");
}

// ---- Parsers ---------------------------------------------------------------

TEST(XmlParse, CompleteMultipartUpload) {
  auto parts = ParseCompleteMultipartUpload(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
      "  <Part><ETag>\"aaa\"</ETag><PartNumber>1</PartNumber></Part>\n"
      "  <Part><PartNumber> 3 </PartNumber><ETag>&quot;ccc&quot;</ETag>"
      "<ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>\n"
      "  <Part><PartNumber>2</PartNumber><ETag>bbb</ETag></Part>\n"
      "</CompleteMultipartUpload>");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].part_number, 1u);
  EXPECT_EQ((*parts)[0].etag, "aaa");
  EXPECT_EQ((*parts)[1].part_number, 3u);  // document order, not sorted
  EXPECT_EQ((*parts)[1].etag, "ccc");
  EXPECT_EQ((*parts)[2].etag, "bbb");
  auto max = ParseCompleteMultipartUpload(
      "<CompleteMultipartUpload><Part><PartNumber>10000</PartNumber><ETag>e</ETag></Part>"
      "</CompleteMultipartUpload>");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ((*max)[0].part_number, 10000u);
}

TEST(XmlParse, CompleteMultipartUploadRejects) {
  const char* bad[] = {
      "",
      "not xml",
      "<CompleteMultipartUpload>",  // unclosed
      "<CompleteMultipartUpload></CompleteMultipartUpload>",  // no parts
      "<Complete><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></Complete>",
      "<CompleteMultipartUpload><Part><ETag>e</ETag></Part></CompleteMultipartUpload>",
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
      "<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>e</ETag></Part>"
      "</CompleteMultipartUpload>",
      "<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>e</ETag></Part>"
      "</CompleteMultipartUpload>",
      "<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>e</ETag></Part>"
      "</CompleteMultipartUpload>",
      "<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>e</ETag></Part>"
      "</CompleteMultipartUpload>",
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber>"
      "<ETag>e</ETag></Part></CompleteMultipartUpload>",
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"\"</ETag></Part>"
      "</CompleteMultipartUpload>",
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>"
      "</CompleteMultipartUpload><CompleteMultipartUpload/>",
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</Part>"
      "</CompleteMultipartUpload>",
  };
  for (const char* body : bad) {
    auto r = ParseCompleteMultipartUpload(body);
    EXPECT_FALSE(r.ok()) << body;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << body;
    }
  }
}

// Escapes as a client does: '\r' as a reference, so it is not read as '\n'.
std::string Esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '\r') out += "&#xD;";
    else out += c;
  }
  return out;
}

std::string DeleteBody(const std::vector<std::string>& keys, const char* quiet = nullptr) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Delete xmlns=\"" +
                    std::string(kS3Namespace) + "\">\n";
  if (quiet) out += std::string("  <Quiet>") + quiet + "</Quiet>\n";
  for (const std::string& k : keys) {
    out += "  <Object>\n    <Key>" + Esc(k) + "</Key>\n    <VersionId>v</VersionId>\n  </Object>\n";
  }
  return out + "</Delete>\n";
}

TEST(XmlParse, Delete) {
  auto r = ParseDelete(DeleteBody(kAwkward, "true"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->quiet);
  // \r inside a key was written as &#13; and survives; everything else too.
  EXPECT_EQ(r->keys, kAwkward);
  auto loud = ParseDelete(DeleteBody({"k"}));
  ASSERT_TRUE(loud.ok());
  EXPECT_FALSE(loud->quiet);
  EXPECT_FALSE(ParseDelete(DeleteBody({"k"}, "false"))->quiet);
  std::vector<std::string> many(kMaxDeleteKeys);
  for (size_t i = 0; i < many.size(); ++i) many[i] = "key-" + std::to_string(i);
  auto full = ParseDelete(DeleteBody(many));
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->keys.size(), kMaxDeleteKeys);
  auto cdata = ParseDelete("<Delete><Object><Key><![CDATA[a<b]]></Key></Object></Delete>");
  ASSERT_TRUE(cdata.ok());
  EXPECT_EQ(cdata->keys[0], "a<b");
}

TEST(XmlParse, DeleteRejects) {
  std::vector<std::string> too_many(kMaxDeleteKeys + 1, "k");
  std::vector<std::string> bad = {
      DeleteBody(too_many),
      DeleteBody({"k"}, "yes"),
      "<Delete></Delete>",
      "<Delete><Quiet>true</Quiet></Delete>",
      "<Delete><Object><VersionId>v</VersionId></Object></Delete>",
      "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
      "<Delete><Quiet>true</Quiet><Quiet>false</Quiet><Object><Key>a</Key></Object></Delete>",
      "<Remove><Object><Key>a</Key></Object></Remove>",
      "<Delete><Object><Key>a</Key></Object>",
  };
  for (const std::string& body : bad) {
    auto r = ParseDelete(body);
    EXPECT_FALSE(r.ok()) << body.substr(0, 200);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    }
  }
}

TEST(XmlParse, CreateBucketConfiguration) {
  auto empty = ParseCreateBucketConfiguration("");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
  auto blank = ParseCreateBucketConfiguration(" \r\n");
  ASSERT_TRUE(blank.ok());
  EXPECT_FALSE(blank->has_value());
  auto eu = ParseCreateBucketConfiguration(
      "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>");
  ASSERT_TRUE(eu.ok());
  EXPECT_EQ(**eu, "eu-west-1");
  auto none = ParseCreateBucketConfiguration("<CreateBucketConfiguration/>");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  for (const char* bad : {"<CreateBucketConfiguration>", "<Bucket/>", "garbage",
                          "<CreateBucketConfiguration><LocationConstraint>a</LocationConstraint>"
                          "<LocationConstraint>b</LocationConstraint></CreateBucketConfiguration>"}) {
    EXPECT_EQ(ParseCreateBucketConfiguration(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(XmlParse, NamespacePrefixesAndDoctype) {
  auto r = ParseDelete(
      "<!DOCTYPE Delete [<!ENTITY x \"expanded\">]>"
      "<s3:Delete xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<s3:Object><s3:Key>k</s3:Key></s3:Object></s3:Delete>");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->keys, std::vector<std::string>{"k"});
  // Entities declared in a DOCTYPE are not expanded (no entity tricks).
  auto ent = ParseDelete("<!DOCTYPE Delete [<!ENTITY x \"expanded\">]>"
                         "<Delete><Object><Key>&x;</Key></Object></Delete>");
  ASSERT_TRUE(ent.ok());
  EXPECT_EQ(ent->keys, std::vector<std::string>{"&x;"});
}

}  // namespace
}  // namespace as::s3
