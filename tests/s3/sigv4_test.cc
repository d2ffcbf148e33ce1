// SigV4 against AWS's published S3 examples (both directions), round trips
// through the signer, and every way a request can be tampered with or malformed.
#include "s3/sigv4.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hash/sha.h"

namespace as::s3 {
namespace {

// The credentials and time of AWS's SigV4 examples for S3.
constexpr const char* kAkid = "AKIAIOSFODNN7EXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr int64_t kExampleTime = 1369353600;  // 2013-05-24T00:00:00Z
constexpr const char* kEmptySha =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kScope = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request";

SigV4Credentials ExampleCreds() { return {kAkid, kSecret, "us-east-1"}; }

struct Req {
  std::string method;
  std::string target;
  std::vector<HttpHeader> headers;
  HttpRequestView view() const { return {method, target, headers}; }
};

// Parse and verify as a server would; nullopt when the request is accepted.
std::optional<S3Error> Check(const Req& r, int64_t now, std::string_view secret = kSecret) {
  auto auth = ParseSigV4(r.view(), now);
  if (!auth.ok()) return auth.error();
  if (auth->access_key_id != kAkid) return err::InvalidAccessKeyId();
  return VerifySigV4(*auth, r.view(), secret);
}

std::string CodeOf(const std::optional<S3Error>& e) { return e ? e->code : "OK"; }

Req AwsGetObject() {
  return {"GET",
          "/test.txt",
          {{"Host", "examplebucket.s3.amazonaws.com"},
           {"Range", "bytes=0-9"},
           {"x-amz-content-sha256", kEmptySha},
           {"x-amz-date", "20130524T000000Z"}}};
}

TEST(SigV4Aws, GetObjectSigner) {
  Req r = AwsGetObject();
  EXPECT_EQ(SignSigV4(r.view(), kEmptySha, ExampleCreds(), kExampleTime),
            std::string("AWS4-HMAC-SHA256 Credential=") + kScope +
                ", SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Aws, GetObjectVerifier) {
  // The header exactly as AWS prints it (no spaces after the commas).
  Req r = AwsGetObject();
  r.headers.push_back(
      {"Authorization",
       std::string("AWS4-HMAC-SHA256 Credential=") + kScope +
           ",SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
           "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"});
  auto auth = ParseSigV4(r.view(), kExampleTime + 60);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_FALSE(auth->presigned);
  EXPECT_EQ(auth->access_key_id, kAkid);
  EXPECT_EQ(auth->region, "us-east-1");
  EXPECT_EQ(auth->scope, "20130524/us-east-1/s3/aws4_request");
  EXPECT_EQ(auth->payload_mode, PayloadMode::kSha256);
  EXPECT_EQ(auth->request_time, kExampleTime);
  EXPECT_EQ(VerifySigV4(*auth, r.view(), kSecret), std::nullopt);
  EXPECT_EQ(CodeOf(VerifySigV4(*auth, r.view(), "wrong")), "SignatureDoesNotMatch");

  Digest empty = Sha256("", 0);
  EXPECT_EQ(CheckPayloadSha256(*auth, empty.bytes.data()), std::nullopt);
  Digest other = Sha256("x", 1);
  EXPECT_EQ(CodeOf(CheckPayloadSha256(*auth, other.bytes.data())), "XAmzContentSHA256Mismatch");
}

TEST(SigV4Aws, PutObjectWithDateHeaderAndDollarInKey) {
  const std::string sha = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
  ASSERT_EQ(Sha256Hex("Welcome to Amazon S3."), sha);
  const std::string want = "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd";
  // '$' raw or escaped on the wire: the canonical URI is /test%24file.text either way.
  for (const char* target : {"/test$file.text", "/test%24file.text"}) {
    Req r{"PUT",
          target,
          {{"Host", "examplebucket.s3.amazonaws.com"},
           {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
           {"x-amz-date", "20130524T000000Z"},
           {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
           {"x-amz-content-sha256", sha}}};
    std::string authz = SignSigV4(r.view(), sha, ExampleCreds(), kExampleTime);
    EXPECT_NE(authz.find("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
                         "x-amz-storage-class, Signature=" + want),
              std::string::npos)
        << authz;
    r.headers.push_back({"authorization", authz});
    EXPECT_EQ(Check(r, kExampleTime), std::nullopt) << target;
  }
}

TEST(SigV4Aws, BucketLifecycleAndListObjects) {
  struct Case {
    const char* target;
    const char* sig;
  } cases[] = {
      {"/?lifecycle", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"},
      {"/?max-keys=2&prefix=J", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
      // The signer sorts: the same signature with the parameters the other way round.
      {"/?prefix=J&max-keys=2", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
  };
  for (const auto& c : cases) {
    Req r{"GET",
          c.target,
          {{"host", "examplebucket.s3.amazonaws.com"},
           {"x-amz-content-sha256", kEmptySha},
           {"x-amz-date", "20130524T000000Z"}}};
    std::string authz = SignSigV4(r.view(), kEmptySha, ExampleCreds(), kExampleTime);
    EXPECT_EQ(authz.substr(authz.size() - 64), c.sig) << c.target;
    r.headers.push_back({"Authorization", authz});
    EXPECT_EQ(Check(r, kExampleTime), std::nullopt) << c.target;
  }
}

TEST(SigV4Aws, PresignedGetObject) {
  Req r{"GET", "/test.txt", {{"Host", "examplebucket.s3.amazonaws.com"}}};
  std::string url = PresignSigV4(r.view(), ExampleCreds(), kExampleTime, 86400);
  EXPECT_EQ(url,
            "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
            "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires="
            "86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  Req p{"GET", url, r.headers};
  auto auth = ParseSigV4(p.view(), kExampleTime + 3600);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_TRUE(auth->presigned);
  EXPECT_EQ(auth->expires_seconds, 86400);
  EXPECT_EQ(auth->payload_mode, PayloadMode::kUnsigned);
  EXPECT_EQ(VerifySigV4(*auth, p.view(), kSecret), std::nullopt);

  EXPECT_EQ(Check(p, kExampleTime + 86400), std::nullopt);  // its last second
  auto expired = Check(p, kExampleTime + 86401);
  EXPECT_EQ(CodeOf(expired), "AccessDenied");
  EXPECT_EQ(expired->message, "Request has expired");
  EXPECT_EQ(CodeOf(Check(p, kExampleTime - 16 * 60)), "AccessDenied");  // not valid yet
}

// ---- Round trips ----

Req Signed(std::string method, std::string target, std::vector<HttpHeader> extra, int64_t now,
           const std::string& payload = kEmptySha, std::string_view secret = kSecret) {
  Req r{std::move(method), std::move(target), {{"Host", "localhost:9000"}}};
  for (auto& h : extra) r.headers.push_back(std::move(h));
  r.headers.push_back({"X-Amz-Date", FormatAmzDate(now)});
  r.headers.push_back({"X-Amz-Content-SHA256", payload});
  SigV4Credentials creds{kAkid, std::string(secret), "eu-west-3"};
  r.headers.push_back({"Authorization", SignSigV4(r.view(), payload, creds, now)});
  return r;
}

constexpr int64_t kNow = 1780000000;

TEST(SigV4RoundTrip, AwkwardTargetsAndHeaders) {
  const char* targets[] = {
      "/bucket/a%20key%2Bplus/%E2%9C%93",
      "/bucket/k?uploadId=xyz&partNumber=3",
      "/bucket/./../k",  // S3 keeps dot segments
      "/bucket//double//slash/",
      "/bucket?list-type=2&prefix=a%2Fb&delimiter=%2F",
      "/bucket?acl",
      "/bucket?prefix=a+b&x=%7e",  // '+' literal, lowercase escape
      "/bucket/a%2Fb",             // an encoded slash inside a segment
      "",
  };
  for (const char* t : targets) {
    Req r = Signed("PUT", t,
                   {{"Content-Type", "  text/plain;   charset=utf-8 "},
                    {"x-amz-meta-a", "1"},
                    {"X-Amz-Meta-A", "2"}},
                   kNow);
    EXPECT_EQ(Check(r, kNow), std::nullopt) << t;
  }
}

TEST(SigV4RoundTrip, CanonicalHeaderValuesTrimAndCollapse) {
  Req r = Signed("GET", "/b/k", {{"x-amz-meta-v", "a   b"}}, kNow);
  r.headers[1].second = "  a b\t";  // the same canonical value
  EXPECT_EQ(Check(r, kNow), std::nullopt);
  r.headers[1].second = "ab";
  EXPECT_EQ(CodeOf(Check(r, kNow)), "SignatureDoesNotMatch");
}

TEST(SigV4RoundTrip, DateHeaderInsteadOfXAmzDate) {
  Req r{"GET",
        "/b/k",
        {{"host", "h"}, {"date", "Fri, 24 May 2013 00:00:00 GMT"},
         {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"}}};
  r.headers.push_back({"authorization",
                       SignSigV4(r.view(), "UNSIGNED-PAYLOAD", ExampleCreds(), kExampleTime)});
  EXPECT_EQ(Check(r, kExampleTime + 5), std::nullopt);
}

TEST(SigV4RoundTrip, PresignedWithQueryAndRegion) {
  Req r{"PUT", "/bucket/key%20x?partNumber=2&uploadId=u", {{"host", "s3.local"}}};
  SigV4Credentials creds{kAkid, kSecret, "ap-south-2"};
  Req p{"PUT", PresignSigV4(r.view(), creds, kNow, 600), r.headers};
  EXPECT_EQ(Check(p, kNow + 10), std::nullopt);
  EXPECT_EQ(CodeOf(Check(p, kNow + 601)), "AccessDenied");
}

// ---- Tampering ----

TEST(SigV4Tamper, EachSignedPartMatters) {
  auto base = [] { return Signed("PUT", "/b/k?x=1", {{"x-amz-meta-m", "v"}}, kNow); };
  EXPECT_EQ(Check(base(), kNow), std::nullopt);
  EXPECT_EQ(CodeOf(Check(base(), kNow, "wrong-secret")), "SignatureDoesNotMatch");

  Req r = base();
  r.method = "DELETE";
  EXPECT_EQ(CodeOf(Check(r, kNow)), "SignatureDoesNotMatch");
  r = base();
  r.target = "/b/k2?x=1";
  EXPECT_EQ(CodeOf(Check(r, kNow)), "SignatureDoesNotMatch");
  r = base();
  r.target = "/b/k?x=2";
  EXPECT_EQ(CodeOf(Check(r, kNow)), "SignatureDoesNotMatch");
  r = base();
  r.target = "/b/k?x=1&y";
  EXPECT_EQ(CodeOf(Check(r, kNow)), "SignatureDoesNotMatch");
  r = base();
  r.headers[0].second = "evil.example";  // host
  EXPECT_EQ(CodeOf(Check(r, kNow)), "SignatureDoesNotMatch");
  r = base();
  r.headers[1].second = "w";  // x-amz-meta-m
  EXPECT_EQ(CodeOf(Check(r, kNow)), "SignatureDoesNotMatch");
}

TEST(SigV4Tamper, EncodingIsPartOfThePath) {
  Req r = Signed("GET", "/b/a%2Fb", {}, kNow);
  r.target = "/b/a/b";
  EXPECT_EQ(CodeOf(Check(r, kNow)), "SignatureDoesNotMatch");
  r = Signed("GET", "/b/a+b", {}, kNow);
  r.target = "/b/a%20b";
  EXPECT_EQ(CodeOf(Check(r, kNow)), "SignatureDoesNotMatch");
  r = Signed("GET", "/b/k", {}, kNow);
  r.target = "/b/k%zz";
  EXPECT_EQ(CodeOf(Check(r, kNow)), "InvalidURI");
}

TEST(SigV4Tamper, UnsignedAmzHeaderIsRefused) {
  Req r = Signed("PUT", "/b/k", {}, kNow);
  r.headers.push_back({"x-amz-copy-source", "/other/secret"});
  auto e = Check(r, kNow);
  EXPECT_EQ(CodeOf(e), "AccessDenied");
  EXPECT_NE(e->message.find("x-amz-copy-source"), std::string::npos);
  // Other unsigned headers are fine.
  r = Signed("PUT", "/b/k", {}, kNow);
  r.headers.push_back({"User-Agent", "x"});
  EXPECT_EQ(Check(r, kNow), std::nullopt);
}

TEST(SigV4Tamper, ClockSkew) {
  Req r = Signed("GET", "/b/k", {}, kNow);
  EXPECT_EQ(Check(r, kNow + 15 * 60), std::nullopt);
  EXPECT_EQ(Check(r, kNow - 15 * 60), std::nullopt);
  EXPECT_EQ(CodeOf(Check(r, kNow + 15 * 60 + 1)), "RequestTimeTooSkewed");
  EXPECT_EQ(CodeOf(Check(r, kNow - 15 * 60 - 1)), "RequestTimeTooSkewed");
}

Req WithAuthorization(std::string value) {
  Req r{"GET",
        "/b/k",
        {{"host", "h"}, {"x-amz-date", FormatAmzDate(kNow)}, {"x-amz-content-sha256", kEmptySha}}};
  r.headers.push_back({"Authorization", std::move(value)});
  return r;
}

TEST(SigV4Malformed, AuthorizationHeader) {
  const std::string sig(64, 'a');
  const std::string cred = std::string(kAkid) + "/" + FormatAmzDate(kNow).substr(0, 8);
  struct Case {
    std::string value;
    const char* code;
  } cases[] = {
      {"AWS4-HMAC-SHA256 Credential=" + cred + "/us-east-1/s3/aws4_request, "
       "SignedHeaders=x-amz-content-sha256;x-amz-date, Signature=" + sig,
       "AuthorizationHeaderMalformed"},  // host not signed
      {"AWS4-HMAC-SHA256 Credential=" + cred + "/us-east-1/s3/aws4_request, "
       "SignedHeaders=x-amz-date;host;x-amz-content-sha256, Signature=" + sig,
       "AuthorizationHeaderMalformed"},  // not sorted
      {"AWS4-HMAC-SHA256 Credential=" + cred + "/us-east-1/s3/aws4_request, "
       "SignedHeaders=Host;x-amz-content-sha256;x-amz-date, Signature=" + sig,
       "AuthorizationHeaderMalformed"},  // not lowercase
      {"AWS4-HMAC-SHA256 Credential=" + cred + "/us-east-1/ec2/aws4_request, "
       "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + sig,
       "AuthorizationHeaderMalformed"},  // another service
      {"AWS4-HMAC-SHA256 Credential=" + std::string(kAkid) + "/20130524/us-east-1/s3/"
       "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + sig,
       "AuthorizationHeaderMalformed"},  // scope date is not x-amz-date's
      {"AWS4-HMAC-SHA256 Credential=" + cred + "/us-east-1/s3, "
       "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + sig,
       "AuthorizationHeaderMalformed"},  // short credential
      {"AWS4-HMAC-SHA256 Credential=" + cred + "/us-east-1/s3/aws4_request, "
       "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=abc",
       "AuthorizationHeaderMalformed"},  // short signature
      {"AWS4-HMAC-SHA256 Credential=" + cred + "/us-east-1/s3/aws4_request, "
       "SignedHeaders=host;x-amz-content-sha256;x-amz-date",
       "AuthorizationHeaderMalformed"},  // no signature
      {"AWS4-HMAC-SHA256 Credential=" + cred + "/us-east-1/s3/aws4_request, "
       "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + sig + ", Signature=" + sig,
       "AuthorizationHeaderMalformed"},  // repeated
      {"AWS4-HMAC-SHA256 Credential=" + cred + "/us-east-1/s3/aws4_request, "
       "SignedHeaders=host;;x-amz-date, Signature=" + sig,
       "AuthorizationHeaderMalformed"},  // empty name
      {"AWS4-HMAC-SHA256", "InvalidRequest"},
      {"AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", "InvalidRequest"},  // SigV2
      {"Bearer x", "InvalidRequest"},
      {"", "InvalidRequest"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(CodeOf(Check(WithAuthorization(c.value), kNow)), c.code) << c.value;
  }
}

TEST(SigV4Malformed, SignedHeaderMissingFromRequest) {
  Req r = Signed("GET", "/b/k", {{"x-amz-meta-gone", "1"}}, kNow);
  r.headers.erase(r.headers.begin() + 1);
  EXPECT_EQ(CodeOf(Check(r, kNow)), "SignatureDoesNotMatch");
}

TEST(SigV4Malformed, DatesAndPayloadHash) {
  Req r = Signed("GET", "/b/k", {}, kNow);
  r.headers.erase(r.headers.begin() + 1);  // x-amz-date
  EXPECT_EQ(CodeOf(Check(r, kNow)), "AccessDenied");
  r = Signed("GET", "/b/k", {}, kNow);
  r.headers[1].second = "2026-01-01T00:00:00Z";
  EXPECT_EQ(CodeOf(Check(r, kNow)), "AccessDenied");
  r = Signed("GET", "/b/k", {}, kNow);
  r.headers.erase(r.headers.begin() + 2);  // x-amz-content-sha256
  EXPECT_EQ(CodeOf(Check(r, kNow)), "InvalidRequest");
  r = Signed("GET", "/b/k", {}, kNow, "NOT-A-HASH");
  EXPECT_EQ(CodeOf(Check(r, kNow)), "InvalidArgument");
  for (const char* mode : {"UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                           "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                           "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}) {
    EXPECT_EQ(Check(Signed("PUT", "/b/k", {}, kNow, mode), kNow), std::nullopt) << mode;
  }
}

TEST(SigV4Malformed, NoAuthBothAuthsAndSigV2Query) {
  Req anon{"GET", "/b/k", {{"host", "h"}}};
  EXPECT_EQ(CodeOf(Check(anon, kNow)), "AccessDenied");
  Req v2{"GET", "/b/k?AWSAccessKeyId=A&Expires=1&Signature=x", {{"host", "h"}}};
  EXPECT_EQ(CodeOf(Check(v2, kNow)), "InvalidRequest");

  Req r{"GET", "/b/k", {{"host", "h"}}};
  Req p{"GET", PresignSigV4(r.view(), ExampleCreds(), kNow, 60), r.headers};
  EXPECT_EQ(Check(p, kNow), std::nullopt);
  p.headers.push_back(Signed("GET", "/b/k", {}, kNow).headers.back());
  EXPECT_EQ(CodeOf(Check(p, kNow)), "InvalidArgument");
}

TEST(SigV4Malformed, PresignParameters) {
  Req r{"GET", "/b/k", {{"host", "h"}}};
  std::string good = PresignSigV4(r.view(), ExampleCreds(), kNow, 60);
  auto with = [&](std::string from, std::string to) {
    std::string t = good;
    size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    t.replace(at, from.size(), to);
    return Req{"GET", t, r.headers};
  };
  EXPECT_EQ(CodeOf(Check(with("X-Amz-Expires=60", "X-Amz-Expires=0"), kNow)),
            "AuthorizationQueryParametersError");
  EXPECT_EQ(CodeOf(Check(with("X-Amz-Expires=60", "X-Amz-Expires=604801"), kNow)),
            "AuthorizationQueryParametersError");
  EXPECT_EQ(CodeOf(Check(with("X-Amz-Expires=60", "X-Amz-Expires=-5"), kNow)),
            "AuthorizationQueryParametersError");
  EXPECT_EQ(CodeOf(Check(with("X-Amz-Expires=60", "X-Amz-Expires=61"), kNow)),
            "SignatureDoesNotMatch");
  EXPECT_EQ(CodeOf(Check(with("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-X"),
                         kNow)),
            "AuthorizationQueryParametersError");
  EXPECT_EQ(CodeOf(Check(with("&X-Amz-SignedHeaders=host", ""), kNow)),
            "AuthorizationQueryParametersError");
  EXPECT_EQ(CodeOf(Check(with("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=range"), kNow)),
            "AuthorizationQueryParametersError");
  EXPECT_EQ(CodeOf(Check(with("X-Amz-Signature=", "X-Amz-Signature=0"), kNow)),
            "AuthorizationQueryParametersError");
  Req extra{"GET", good + "&response-content-type=x", r.headers};
  EXPECT_EQ(CodeOf(Check(extra, kNow)), "SignatureDoesNotMatch");
  Req unsigned_amz = with("", "");
  unsigned_amz.headers.push_back({"x-amz-acl", "public-read"});
  EXPECT_EQ(CodeOf(Check(unsigned_amz, kNow)), "AccessDenied");
}

TEST(SigV4Dates, StrictParsing) {
  EXPECT_EQ(ParseAmzDate("20130524T000000Z"), kExampleTime);
  EXPECT_EQ(FormatAmzDate(kExampleTime), "20130524T000000Z");
  EXPECT_EQ(ParseRfc1123Date("Fri, 24 May 2013 00:00:00 GMT"), kExampleTime);
  for (const char* bad : {"20130524T000000", "20130524 000000Z", "20130231T000000Z",
                          "20131324T000000Z", "2013052AT000000Z", "20130524T250000Z"}) {
    EXPECT_EQ(ParseAmzDate(bad), std::nullopt) << bad;
  }
  for (const char* bad : {"Fri, 24 May 2013 00:00:00 UTC", "Fri, 24 Foo 2013 00:00:00 GMT",
                          "Fri, 31 Apr 2013 00:00:00 GMT", "Friday, 24-May-13 00:00:00 GMT"}) {
    EXPECT_EQ(ParseRfc1123Date(bad), std::nullopt) << bad;
  }
  // The calendar: leap days, a leap second (read as :59), the epoch.
  EXPECT_EQ(ParseAmzDate("20240229T123456Z"), 1709210096);
  EXPECT_EQ(ParseAmzDate("20230229T000000Z"), std::nullopt);
  EXPECT_EQ(ParseAmzDate("20000229T000000Z"), 951782400);
  EXPECT_EQ(ParseAmzDate("21000229T000000Z"), std::nullopt);
  EXPECT_EQ(ParseAmzDate("20161231T235960Z"), ParseAmzDate("20161231T235959Z"));
  EXPECT_EQ(ParseAmzDate("19700101T000000Z"), 0);
  EXPECT_EQ(ParseAmzDate("19691231T235959Z"), std::nullopt);
  for (int64_t t : {int64_t{0}, int64_t{951782400}, int64_t{1795484127}, int64_t{4102444799}}) {
    EXPECT_EQ(ParseAmzDate(FormatAmzDate(t)), t) << t;
  }
}

}  // namespace
}  // namespace as::s3
