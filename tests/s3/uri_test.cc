// SigV4 percent-encoding, strict decoding, request targets and query strings.
#include "s3/uri.h"

#include <gtest/gtest.h>

namespace as::s3 {
namespace {

TEST(UriEncode, KeepsUnreservedEncodesTheRestUppercase) {
  EXPECT_EQ(UriEncode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(UriEncode("a b+c=d&e", false), "a%20b%2Bc%3Dd%26e");
  EXPECT_EQ(UriEncode("100%", false), "100%25");
  EXPECT_EQ(UriEncode("$!*'()", false), "%24%21%2A%27%28%29");
  EXPECT_EQ(UriEncode("\xc3\xa9", false), "%C3%A9");  // UTF-8 byte by byte
  EXPECT_EQ(UriEncode(std::string_view("\0\xff", 2), false), "%00%FF");
}

TEST(UriEncode, SlashFlag) {
  EXPECT_EQ(UriEncode("a/b c/", true), "a/b%20c/");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
}

TEST(UriDecode, DecodesEitherCaseAndLeavesPlus) {
  EXPECT_EQ(UriDecode("a%20b%2fc%2F").value(), "a b/c/");
  EXPECT_EQ(UriDecode("a+b").value(), "a+b");
  EXPECT_EQ(UriDecode("").value(), "");
  EXPECT_EQ(UriDecode("%00").value(), std::string(1, '\0'));
}

TEST(UriDecode, BadEscapesAreErrors) {
  for (const char* bad : {"%", "%2", "a%g0", "%%", "ab%2"}) {
    auto r = UriDecode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "InvalidURI");
    EXPECT_EQ(r.error().http_status, 400);
    EXPECT_NE(r.error().message.find("offset"), std::string::npos);
  }
}

TEST(UriEncode, RoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; c++) all.push_back(static_cast<char>(c));
  EXPECT_EQ(UriDecode(UriEncode(all, false)).value(), all);
  EXPECT_EQ(UriDecode(UriEncode(all, true)).value(), all);
}

TEST(SplitRequestTarget, PathAndQuery) {
  auto t = SplitRequestTarget("/b/k?x=1&y=2?z");
  EXPECT_EQ(t.path, "/b/k");
  EXPECT_EQ(t.query, "x=1&y=2?z");
  EXPECT_TRUE(t.has_query);
  t = SplitRequestTarget("/b/k");
  EXPECT_EQ(t.path, "/b/k");
  EXPECT_EQ(t.query, "");
  EXPECT_FALSE(t.has_query);
  t = SplitRequestTarget("/?");
  EXPECT_EQ(t.path, "/");
  EXPECT_TRUE(t.has_query);
}

TEST(ParseQuery, KeepsOrderDecodesAndSkipsEmptyPieces) {
  auto q = ParseQuery("b=2&a&&c=x%3Dy=z&a=1&").value();
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], QueryParam("b", "2"));
  EXPECT_EQ(q[1], QueryParam("a", ""));
  EXPECT_EQ(q[2], QueryParam("c", "x=y=z"));
  EXPECT_EQ(q[3], QueryParam("a", "1"));
  EXPECT_TRUE(ParseQuery("").value().empty());
}

TEST(ParseQuery, PlusIsLiteralUnlessAskedForFormEncoding) {
  EXPECT_EQ(ParseQuery("prefix=a+b%20c").value()[0].second, "a+b c");
  EXPECT_EQ(ParseQuery("prefix=a+b%20c", true).value()[0].second, "a b c");
  EXPECT_EQ(ParseQuery("prefix=a%2Bb", true).value()[0].second, "a+b");
}

TEST(ParseQuery, BadEscapeIsInvalidUri) {
  auto r = ParseQuery("a=1&b=%zz");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InvalidURI");
  EXPECT_FALSE(ParseQuery("%4=1").ok());
}

}  // namespace
}  // namespace as::s3
