// Ranges, HTTP dates, conditional requests and base64 (src/s3/http_util.h).
#include "s3/http_util.h"

#include <gtest/gtest.h>

namespace as::s3 {
namespace {

using Kind = RangeResult::Kind;

void ExpectPartial(const char* header, uint64_t size, uint64_t first, uint64_t last) {
  RangeResult r = ResolveRange(header, size);
  EXPECT_EQ(r.kind, Kind::kPartial) << header << " size " << size;
  EXPECT_EQ(r.first, first) << header;
  EXPECT_EQ(r.last, last) << header;
}
void ExpectKind(const char* header, uint64_t size, Kind kind) {
  EXPECT_EQ(ResolveRange(header, size).kind, kind) << header << " size " << size;
}

TEST(Range, Forms) {
  ExpectPartial("bytes=0-99", 1000, 0, 99);
  ExpectPartial("bytes=100-199", 1000, 100, 199);
  ExpectPartial("bytes=10-", 1000, 10, 999);
  ExpectPartial("bytes=-10", 1000, 990, 999);
  ExpectPartial("Bytes=0-0", 1000, 0, 0);          // unit is case-insensitive
  ExpectPartial(" bytes=5-6 ", 1000, 5, 6);        // surrounding OWS
  EXPECT_EQ(ResolveRange("bytes=100-199", 1000).length(), 100u);
}

TEST(Range, Edges) {
  ExpectPartial("bytes=999-999", 1000, 999, 999);  // last byte
  ExpectPartial("bytes=999-", 1000, 999, 999);
  ExpectPartial("bytes=0-999", 1000, 0, 999);      // whole object as a range
  ExpectPartial("bytes=0-5000", 1000, 0, 999);     // clamped
  ExpectPartial("bytes=-1000", 1000, 0, 999);
  ExpectPartial("bytes=-5000", 1000, 0, 999);      // suffix longer than object
  ExpectPartial("bytes=0-99999999999999999999999", 10, 0, 9);  // huge last saturates
  ExpectPartial("bytes=0-0", 1, 0, 0);
}

TEST(Range, Unsatisfiable) {
  ExpectKind("bytes=1000-", 1000, Kind::kUnsatisfiable);
  ExpectKind("bytes=1000-2000", 1000, Kind::kUnsatisfiable);
  ExpectKind("bytes=99999999999999999999999-", 1000, Kind::kUnsatisfiable);
  ExpectKind("bytes=-0", 1000, Kind::kUnsatisfiable);
  // Empty object: no first-pos can overlap it.
  ExpectKind("bytes=0-", 0, Kind::kUnsatisfiable);
  ExpectKind("bytes=0-0", 0, Kind::kUnsatisfiable);
  ExpectKind("bytes=-0", 0, Kind::kUnsatisfiable);
  RangeResult r = ResolveRange("bytes=2000-", 1000);
  EXPECT_EQ(ContentRange(r, 1000), "bytes */1000");
}

TEST(Range, IgnoredMeansWhole) {
  EXPECT_EQ(ResolveRange(std::nullopt, 10).kind, Kind::kWhole);
  for (const char* h : {"", "bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=5-2", "bytes=1-2-3",
                        "items=0-1", "bytes=0-1,5-6", "bytes=0-1,", "bytes = 0-1x", "bytes=+1-2",
                        "bytes=0x10-", "bytes=- 5"}) {
    ExpectKind(h, 1000, Kind::kWhole);
  }
  // A suffix on an empty object selects nothing but is satisfiable: 200, empty.
  ExpectKind("bytes=-5", 0, Kind::kWhole);
}

TEST(Range, ContentRange) {
  EXPECT_EQ(ContentRange(ResolveRange("bytes=100-199", 1000), 1000), "bytes 100-199/1000");
  EXPECT_EQ(ContentRange(ResolveRange("bytes=-10", 1000), 1000), "bytes 990-999/1000");
  EXPECT_EQ(ContentRange(ResolveRange(std::nullopt, 1000), 1000), "");
}

TEST(HttpDate, FormatKnownInstants) {
  EXPECT_EQ(FormatHttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(FormatHttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 9110's example
  EXPECT_EQ(FormatHttpDate(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");  // leap day
  EXPECT_EQ(FormatHttpDate(1795484127), "Tue, 24 Nov 2026 01:35:27 GMT");
  EXPECT_EQ(FormatIso8601(1795484127000), "2026-11-24T01:35:27.000Z");
  EXPECT_EQ(FormatIso8601(1795484127042), "2026-11-24T01:35:27.042Z");
  EXPECT_EQ(FormatIso8601(-1), "1969-12-31T23:59:59.999Z");
}

TEST(HttpDate, ParsesAllThreeForms) {
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), 784111777);
  EXPECT_EQ(ParseHttpDate("Sun Nov 06 08:49:37 1994"), 784111777);
  EXPECT_EQ(ParseHttpDate("Tue, 24 Nov 2026 01:35:27 GMT"), 1795484127);
}

TEST(HttpDate, RejectsInvalid) {
  for (const char* s :
       {"", "yesterday", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 6 Nov 1994 08:49:37 GMT", "sun, 06 nov 1994 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT ", "Sun, 29 Feb 2001 00:00:00 GMT", "1994-11-06T08:49:37Z",
        "Sun, 06 Nov 94 08:49:37 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT"}) {
    EXPECT_FALSE(ParseHttpDate(s).has_value()) << s;
  }
}

TEST(HttpDate, RoundTrips) {
  for (int64_t t : {int64_t{0}, int64_t{68169600}, int64_t{951782400}, int64_t{1795484127},
                    int64_t{4102444799}, int64_t{253402300799}}) {
    EXPECT_EQ(ParseHttpDate(FormatHttpDate(t)), t) << FormatHttpDate(t);
    EXPECT_EQ(ParseIso8601(FormatIso8601(t * 1000 + 123)), t * 1000 + 123) << t;
  }
  // Every day of a leap year and the following year.
  for (int64_t t = 946684800; t < 946684800 + 2 * 366 * 86400; t += 86400 + 3661) {
    ASSERT_EQ(ParseHttpDate(FormatHttpDate(t)), t) << FormatHttpDate(t);
  }
}

TEST(Iso8601, ParseForms) {
  EXPECT_EQ(ParseIso8601("2026-11-24T01:35:27Z"), 1795484127000);
  EXPECT_EQ(ParseIso8601("2026-11-24T01:35:27.5Z"), 1795484127500);
  EXPECT_EQ(ParseIso8601("2026-11-24T01:35:27.123456789Z"), 1795484127123);
  for (const char* s : {"2026-11-24T01:35:27", "2026-11-24 01:35:27Z", "2026-13-01T00:00:00Z",
                        "2026-11-24T01:35:27.Z", "2026-11-24T01:35:27.1234567890Z", "20261124T013527Z"}) {
    EXPECT_FALSE(ParseIso8601(s).has_value()) << s;
  }
}

// ---- Conditions ------------------------------------------------------------

constexpr int64_t kModified = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
const char* kAt = "Sun, 06 Nov 1994 08:49:37 GMT";
const char* kBefore = "Sun, 06 Nov 1994 08:49:36 GMT";
const char* kAfter = "Sun, 06 Nov 1994 08:49:38 GMT";

ObjectState Obj() { return {"abc123", kModified}; }

ConditionResult Get(const ConditionHeaders& h) { return EvaluateConditions(h, Obj(), true); }

TEST(Conditions, NoneProceeds) { EXPECT_EQ(Get({}), ConditionResult::kProceed); }

TEST(Conditions, IfMatch) {
  EXPECT_EQ(Get({.if_match = "\"abc123\""}), ConditionResult::kProceed);
  EXPECT_EQ(Get({.if_match = "abc123"}), ConditionResult::kProceed);  // bare, as S3 accepts
  EXPECT_EQ(Get({.if_match = "*"}), ConditionResult::kProceed);
  EXPECT_EQ(Get({.if_match = "\"x\", \"abc123\""}), ConditionResult::kProceed);
  EXPECT_EQ(Get({.if_match = "\"other\""}), ConditionResult::kPreconditionFailed);
  EXPECT_EQ(Get({.if_match = "W/\"abc123\""}), ConditionResult::kPreconditionFailed);  // strong
  EXPECT_EQ(Get({.if_match = "\"abc123"}), ConditionResult::kPreconditionFailed);  // malformed
  EXPECT_EQ(Get({.if_match = ""}), ConditionResult::kPreconditionFailed);
  EXPECT_EQ(EvaluateConditions({.if_match = "*"}, std::nullopt, false),
            ConditionResult::kPreconditionFailed);  // no object
}

TEST(Conditions, IfNoneMatch) {
  EXPECT_EQ(Get({.if_none_match = "\"abc123\""}), ConditionResult::kNotModified);
  EXPECT_EQ(Get({.if_none_match = "W/\"abc123\""}), ConditionResult::kNotModified);  // weak
  EXPECT_EQ(Get({.if_none_match = "\"a\",W/\"b\" , \"abc123\""}), ConditionResult::kNotModified);
  EXPECT_EQ(Get({.if_none_match = "*"}), ConditionResult::kNotModified);
  EXPECT_EQ(Get({.if_none_match = "\"other\""}), ConditionResult::kProceed);
  // Not GET/HEAD: a matching If-None-Match is a 412 (conditional PUT).
  EXPECT_EQ(EvaluateConditions({.if_none_match = "*"}, Obj(), false),
            ConditionResult::kPreconditionFailed);
  EXPECT_EQ(EvaluateConditions({.if_none_match = "*"}, std::nullopt, false),
            ConditionResult::kProceed);
}

TEST(Conditions, Dates) {
  EXPECT_EQ(Get({.if_unmodified_since = kAt}), ConditionResult::kProceed);
  EXPECT_EQ(Get({.if_unmodified_since = kAfter}), ConditionResult::kProceed);
  EXPECT_EQ(Get({.if_unmodified_since = kBefore}), ConditionResult::kPreconditionFailed);
  EXPECT_EQ(Get({.if_modified_since = kAt}), ConditionResult::kNotModified);
  EXPECT_EQ(Get({.if_modified_since = kAfter}), ConditionResult::kNotModified);
  EXPECT_EQ(Get({.if_modified_since = kBefore}), ConditionResult::kProceed);
  // Invalid dates are ignored.
  EXPECT_EQ(Get({.if_unmodified_since = "garbage"}), ConditionResult::kProceed);
  EXPECT_EQ(Get({.if_modified_since = "garbage"}), ConditionResult::kProceed);
  // If-Modified-Since applies to GET and HEAD only.
  EXPECT_EQ(EvaluateConditions({.if_modified_since = kAt}, Obj(), false), ConditionResult::kProceed);
}

TEST(Conditions, Order) {
  // If-Match true wins over a failing If-Unmodified-Since (S3: 200).
  EXPECT_EQ(Get({.if_match = "\"abc123\"", .if_unmodified_since = kBefore}),
            ConditionResult::kProceed);
  // If-Match false is 412 even when If-None-Match would be 304.
  EXPECT_EQ(Get({.if_match = "\"x\"", .if_none_match = "\"abc123\""}),
            ConditionResult::kPreconditionFailed);
  // If-None-Match false (matches) with If-Modified-Since true: 304 (S3 documents this).
  EXPECT_EQ(Get({.if_none_match = "\"abc123\"", .if_modified_since = kBefore}),
            ConditionResult::kNotModified);
  // If-None-Match true overrides an If-Modified-Since that would give 304.
  EXPECT_EQ(Get({.if_none_match = "\"other\"", .if_modified_since = kAfter}),
            ConditionResult::kProceed);
  // If-Unmodified-Since failing comes before If-None-Match.
  EXPECT_EQ(Get({.if_none_match = "\"abc123\"", .if_unmodified_since = kBefore}),
            ConditionResult::kPreconditionFailed);
  // All four, all passing except If-Modified-Since, which If-None-Match disables.
  EXPECT_EQ(Get({.if_match = "*", .if_none_match = "\"zzz\"", .if_modified_since = kAt,
                 .if_unmodified_since = kAt}),
            ConditionResult::kProceed);
}

TEST(Conditions, QuotedStoredEtag) {
  EXPECT_EQ(EvaluateConditions({.if_match = "\"abc\""}, ObjectState{"\"abc\"", 0}, true),
            ConditionResult::kProceed);
}

// ---- base64 ----------------------------------------------------------------

TEST(Base64, Rfc4648Vectors) {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(Base64Encode(plain[i]), coded[i]);
    EXPECT_EQ(Base64Decode(coded[i]), std::string(plain[i]));
  }
}

TEST(Base64, Strict) {
  for (const char* s : {"Zg", "Zg=", "Zh==", "Zm9=", "Zg==Zg==", "Z===", "====", "Zm9v\n",
                        " Zm9v", "Zm-v", "Zm_v", "Zg=a"}) {
    EXPECT_FALSE(Base64Decode(s).has_value()) << s;
  }
}

TEST(Base64, UrlSafeRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 37) {
    std::string s = all.substr(0, n);
    std::string enc = Base64UrlEncode(s);
    EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(Base64UrlDecode(enc), s);
    EXPECT_EQ(Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_FALSE(Base64UrlDecode("Zg=").has_value());
  EXPECT_FALSE(Base64UrlDecode("Z").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());  // nonzero unused bits
}

// A SHA-256 x-amz-checksum value: 32 bytes, 44 characters.
TEST(Base64, ChecksumLength) {
  std::string digest(32, '\x5a');
  EXPECT_EQ(Base64Encode(digest).size(), 44u);
  EXPECT_EQ(Base64Decode(Base64Encode(digest)), digest);
}

}  // namespace
}  // namespace as::s3
