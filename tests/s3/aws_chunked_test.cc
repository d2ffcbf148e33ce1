// aws-chunked decoding: AWS's published streaming examples, round trips at
// several read sizes, and bodies that are tampered with, cut short or oversize.
#include "s3/aws_chunked.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "test_util.h"

namespace as::s3 {
namespace {

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr int64_t kExampleTime = 1369353600;  // 2013-05-24T00:00:00Z

// A raw body reader over a string, handing out at most `step` bytes per call.
BodyReader StringReader(std::string body, size_t step = SIZE_MAX) {
  auto pos = std::make_shared<size_t>(0);
  auto data = std::make_shared<std::string>(std::move(body));
  return [pos, data, step](uint8_t* buf, size_t cap) -> Result<size_t> {
    size_t n = std::min({cap, step, data->size() - *pos});
    std::memcpy(buf, data->data() + *pos, n);
    *pos += n;
    return n;
  };
}

struct Decoded {
  std::string out;
  Status status;
  std::optional<S3Error> error;
  std::vector<HttpHeader> trailers;
};

Decoded DecodeAll(const std::string& body, const AwsChunkedParams& p, size_t read_size,
                  size_t raw_step = SIZE_MAX) {
  AwsChunkedDecoder d(StringReader(body, raw_step), p);
  Decoded r;
  std::vector<uint8_t> buf(read_size);
  while (true) {
    auto n = d.Read(buf.data(), buf.size());
    if (!n.ok()) {
      r.status = n.status();
      break;
    }
    if (*n == 0) {
      EXPECT_TRUE(d.finished());
      break;
    }
    r.out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  r.error = d.error();
  r.trailers = d.trailers();
  return r;
}

// The PUT of AWS's streaming examples: 65536 + 1024 bytes of 'a', region us-east-1.
AwsChunkedParams ExampleParams(PayloadMode mode, std::string seed) {
  AwsChunkedParams p;
  p.mode = mode;
  p.signing_key = SigV4SigningKey(kSecret, "20130524", "us-east-1", "s3");
  p.amz_date = "20130524T000000Z";
  p.scope = "20130524/us-east-1/s3/aws4_request";
  p.seed_signature = std::move(seed);
  p.decoded_length = 66560;
  return p;
}

std::string ExampleBody(const std::string (&sigs)[3], const std::string& trailers) {
  return "10000;chunk-signature=" + sigs[0] + "\r\n" + std::string(65536, 'a') + "\r\n" +
         "400;chunk-signature=" + sigs[1] + "\r\n" + std::string(1024, 'a') + "\r\n" +
         "0;chunk-signature=" + sigs[2] + "\r\n" + trailers + "\r\n";
}

TEST(AwsChunkedAws, StreamingPutExample) {
  const std::string seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
  const std::string sigs[3] = {
      "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
      "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
      "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"};
  std::string body = ExampleBody(sigs, "");
  ASSERT_EQ(body.size(), 66824u);  // the Content-Length AWS gives

  // The seed signature is the request's: verify it as the server would.
  std::vector<HttpHeader> headers = {
      {"Host", "s3.amazonaws.com"},
      {"x-amz-date", "20130524T000000Z"},
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"Authorization",
       "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
       "x-amz-decoded-content-length;x-amz-storage-class,Signature=" + seed},
      {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
      {"Content-Encoding", "aws-chunked"},
      {"x-amz-decoded-content-length", "66560"},
      {"Content-Length", "66824"}};
  HttpRequestView req{"PUT", "/examplebucket/chunkObject.txt", headers};
  auto auth = ParseSigV4(req, kExampleTime);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  ASSERT_EQ(VerifySigV4(*auth, req, kSecret), std::nullopt);
  auto p = AwsChunkedParamsFor(*auth, kSecret, req);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->seed_signature, seed);
  EXPECT_EQ(p->decoded_length, 66560u);

  EXPECT_EQ(AwsChunkSignature(*p, seed, std::string(65536, 'a')), sigs[0]);
  EXPECT_EQ(AwsChunkSignature(*p, sigs[0], std::string(1024, 'a')), sigs[1]);
  EXPECT_EQ(AwsChunkSignature(*p, sigs[1], ""), sigs[2]);
  EXPECT_EQ(AwsChunkedEncode(std::string(66560, 'a'), 65536, *p), body);

  for (size_t rs : {size_t{1}, size_t{7}, size_t{65536}}) {
    Decoded d = DecodeAll(body, *p, rs);
    ASSERT_TRUE(d.status.ok()) << rs << ": " << d.status.ToString();
    EXPECT_EQ(d.out, std::string(66560, 'a'));
  }
}

TEST(AwsChunkedAws, StreamingPutWithSignedTrailerExample) {
  const std::string seed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
  const std::string sigs[3] = {
      "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
      "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
      "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"};
  const std::string trailer_sig =
      "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435";
  auto p = ExampleParams(PayloadMode::kStreamingSignedTrailer, seed);
  EXPECT_EQ(AwsTrailerSignature(p, sigs[2], "x-amz-checksum-crc32c:sOO8/Q==\n"), trailer_sig);
  std::string body = ExampleBody(
      sigs, "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:" + trailer_sig + "\r\n");
  Decoded d = DecodeAll(body, p, 4096);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.out, std::string(66560, 'a'));
  ASSERT_EQ(d.trailers.size(), 1u);
  EXPECT_EQ(d.trailers[0], HttpHeader("x-amz-checksum-crc32c", "sOO8/Q=="));

  // A changed checksum breaks the trailer signature.
  std::string bad = body;
  bad.replace(bad.find("sOO8"), 4, "sOO9");
  EXPECT_EQ(DecodeAll(bad, p, 4096).error->code, "SignatureDoesNotMatch");
}

// ---- Round trips through the encoder ----

AwsChunkedParams TestParams(PayloadMode mode, uint64_t length) {
  AwsChunkedParams p;
  p.mode = mode;
  p.signing_key = SigV4SigningKey("secret", "20260101", "eu-west-1", "s3");
  p.amz_date = "20260101T120000Z";
  p.scope = "20260101/eu-west-1/s3/aws4_request";
  p.seed_signature = std::string(64, '7');
  p.decoded_length = length;
  return p;
}

std::string TestData(size_t n) {
  auto b = testing::RandomBytes(n, 42);
  return std::string(b.begin(), b.end());
}

TEST(AwsChunked, SameOutputForEveryReadSizeAndMode) {
  const std::string data = TestData(200000);
  const std::vector<HttpHeader> trailers = {{"x-amz-checksum-crc32c", "AAAAAA=="}};
  for (PayloadMode mode : {PayloadMode::kStreamingSigned, PayloadMode::kStreamingSignedTrailer,
                           PayloadMode::kStreamingUnsignedTrailer}) {
    auto p = TestParams(mode, data.size());
    for (size_t chunk : {size_t{1000}, size_t{65536}, size_t{200000}}) {
      std::string body = AwsChunkedEncode(data, chunk, p, trailers);
      for (size_t rs : {size_t{1}, size_t{7}, size_t{65536}}) {
        Decoded d = DecodeAll(body, p, rs, rs == 7 ? 3 : SIZE_MAX);
        ASSERT_TRUE(d.status.ok()) << static_cast<int>(mode) << " " << chunk << " " << rs << ": "
                                   << d.status.ToString();
        EXPECT_TRUE(d.out == data);
        if (mode != PayloadMode::kStreamingSigned) {
          EXPECT_EQ(d.trailers, trailers);
        }
      }
    }
  }
}

TEST(AwsChunked, EmptyBody) {
  auto p = TestParams(PayloadMode::kStreamingSigned, 0);
  Decoded d = DecodeAll(AwsChunkedEncode("", 100, p), p, 10);
  EXPECT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.out, "");
}

TEST(AwsChunked, UnsignedTrailerAsClientsSendIt) {
  auto p = TestParams(PayloadMode::kStreamingUnsignedTrailer, 3);
  Decoded d = DecodeAll("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n", p, 100);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.out, "abc");
  EXPECT_EQ(d.trailers, std::vector<HttpHeader>({{"x-amz-checksum-crc32", "NSRBwg=="}}));
}

TEST(AwsChunked, TamperedChunkReleasesNoneOfIt) {
  const std::string data = TestData(5000);
  auto p = TestParams(PayloadMode::kStreamingSigned, data.size());
  std::string body = AwsChunkedEncode(data, 1000, p);
  // Flip one byte inside the third chunk's data (chunk 2: data bytes 2000..2999).
  size_t third = body.find(data.substr(2000, 1000));
  ASSERT_NE(third, std::string::npos);
  body[third + 500] ^= 1;
  for (size_t rs : {size_t{1}, size_t{7}, size_t{65536}}) {
    Decoded d = DecodeAll(body, p, rs);
    EXPECT_FALSE(d.status.ok());
    ASSERT_TRUE(d.error);
    EXPECT_EQ(d.error->code, "SignatureDoesNotMatch");
    EXPECT_EQ(d.error->http_status, 403);
    EXPECT_NE(d.error->message.find("chunk 2"), std::string::npos) << d.error->message;
    EXPECT_EQ(d.out, data.substr(0, 2000));  // chunks 0 and 1 only
    EXPECT_EQ(d.status.code(), Code::kInvalidArgument);
  }
  // A wrong seed fails the first chunk: nothing at all comes out.
  auto wrong = p;
  wrong.seed_signature = std::string(64, '8');
  Decoded d = DecodeAll(AwsChunkedEncode(data, 1000, p), wrong, 100);
  EXPECT_EQ(d.error->code, "SignatureDoesNotMatch");
  EXPECT_EQ(d.out, "");
}

TEST(AwsChunked, ReorderedOrDroppedChunksFail) {
  const std::string data(3000, 'z');  // identical chunks: only the chaining tells them apart
  auto p = TestParams(PayloadMode::kStreamingSigned, 2000);
  std::string body = AwsChunkedEncode(data, 1000, p);
  // Drop the second chunk: header + data + CRLF.
  size_t second = body.find("3e8;", 1);
  size_t third = body.find("3e8;", second + 1);
  std::string dropped = body.substr(0, second) + body.substr(third);
  Decoded d = DecodeAll(dropped, p, 4096);
  EXPECT_EQ(d.error->code, "SignatureDoesNotMatch");
  EXPECT_EQ(d.out, std::string(1000, 'z'));
}

TEST(AwsChunked, TruncatedBodyNeverEndsCleanly) {
  const std::string data = TestData(3000);
  for (PayloadMode mode : {PayloadMode::kStreamingSigned, PayloadMode::kStreamingSignedTrailer,
                           PayloadMode::kStreamingUnsignedTrailer}) {
    auto p = TestParams(mode, data.size());
    std::string body = AwsChunkedEncode(data, 1000, p, {{{"x-amz-checksum-crc32", "AAAAAA=="}}});
    for (size_t cut = 0; cut < body.size(); cut += (cut < 1100 ? 1 : 97)) {
      Decoded d = DecodeAll(body.substr(0, cut), p, 512);
      ASSERT_FALSE(d.status.ok()) << "cut at " << cut;
      ASSERT_TRUE(d.error) << "cut at " << cut;
      EXPECT_TRUE(d.error->code == "IncompleteBody" || d.error->code == "InvalidRequest" ||
                  d.error->code == "SignatureDoesNotMatch")
          << d.error->code;
    }
  }
  auto p = TestParams(PayloadMode::kStreamingSigned, data.size());
  Decoded d = DecodeAll(AwsChunkedEncode(data, 1000, p).substr(0, 1500), p, 512);
  EXPECT_EQ(d.error->code, "IncompleteBody");
  EXPECT_NE(d.error->message.find("byte offset"), std::string::npos);
}

TEST(AwsChunked, OversizeChunkIsRefusedBeforeReading) {
  auto p = TestParams(PayloadMode::kStreamingSigned, 1 << 30);
  std::string header = "1000001;chunk-signature=" + std::string(64, 'a') + "\r\n";
  Decoded d = DecodeAll(header, p, 100);  // no data follows: the size alone is refused
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->code, "InvalidRequest");
  EXPECT_NE(d.error->message.find("16777216-byte limit"), std::string::npos) << d.error->message;
  EXPECT_NE(d.error->message.find("byte offset 0"), std::string::npos) << d.error->message;

  auto small = TestParams(PayloadMode::kStreamingSigned, 5000);
  small.max_chunk = 1000;
  d = DecodeAll(AwsChunkedEncode(TestData(5000), 2000, small), small, 100);
  EXPECT_EQ(d.error->code, "InvalidRequest");
  EXPECT_EQ(d.out, "");
}

TEST(AwsChunked, DecodedLengthMustMatch) {
  const std::string data = TestData(2500);
  auto p = TestParams(PayloadMode::kStreamingSigned, data.size());
  std::string body = AwsChunkedEncode(data, 1000, p);
  auto more = p;
  more.decoded_length = data.size() + 1;
  EXPECT_EQ(DecodeAll(body, more, 100).error->code, "IncompleteBody");
  auto less = p;
  less.decoded_length = data.size() - 1;
  EXPECT_EQ(DecodeAll(body, less, 100).error->code, "InvalidRequest");
  auto none = p;
  none.decoded_length.reset();
  EXPECT_TRUE(DecodeAll(body, none, 100).status.ok());
}

TEST(AwsChunked, MalformedFraming) {
  auto p = TestParams(PayloadMode::kStreamingUnsignedTrailer, 3);
  const char* bodies[] = {
      "3\r\nabcd\r\n0\r\n\r\n",        // data longer than declared
      "x\r\nabc\r\n0\r\n\r\n",         // bad size
      "3\nabc\r\n0\r\n\r\n",           // LF without CR
      "3\r\nabc\r\n0\r\n\r\nextra",    // bytes after the end
      "3\r\nabc\r\n0\r\nno-colon\r\n\r\n",  // bad trailer
      "3\r\nabc\r\n0\r\nx-amz-trailer-signature:00\r\n\r\n",  // signature when unsigned
  };
  for (const char* b : bodies) {
    Decoded d = DecodeAll(b, p, 100);
    ASSERT_TRUE(d.error) << b;
    EXPECT_EQ(d.error->code, "InvalidRequest") << b;
  }
  auto s = TestParams(PayloadMode::kStreamingSigned, 3);
  for (std::string b : {std::string("3\r\nabc\r\n"),  // no signature
                        "3;chunk-signature=" + std::string(63, 'a') + "\r\nabc\r\n",
                        "3;chunk-signature=" + std::string(64, 'A') + "\r\nabc\r\n"}) {
    EXPECT_EQ(DecodeAll(b, s, 100).error->code, "InvalidRequest") << b;
  }
  // A signed-trailer body without its trailer signature.
  auto t = TestParams(PayloadMode::kStreamingSignedTrailer, 3);
  std::string body = AwsChunkedEncode("abc", 10, TestParams(PayloadMode::kStreamingSigned, 3));
  EXPECT_EQ(DecodeAll(body, t, 100).error->code, "SignatureDoesNotMatch");
}

TEST(AwsChunked, RawReaderErrorsPassThrough) {
  auto p = TestParams(PayloadMode::kStreamingSigned, 10);
  AwsChunkedDecoder d([](uint8_t*, size_t) -> Result<size_t> {
    return Status::IOError("connection reset");
  }, p);
  uint8_t buf[16];
  auto r = d.Read(buf, sizeof buf);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kIOError);
  EXPECT_EQ(d.error(), std::nullopt);
  EXPECT_EQ(d.Read(buf, sizeof buf).status().code(), Code::kIOError);  // sticky
}

TEST(AwsChunked, ParamsNeedAStreamingModeAndDecodedLength) {
  SigV4Auth a;
  a.payload_mode = PayloadMode::kSha256;
  std::vector<HttpHeader> h = {{"X-Amz-Decoded-Content-Length", "12"}};
  HttpRequestView req{"PUT", "/b/k", h};
  EXPECT_EQ(AwsChunkedParamsFor(a, "s", req).error().code, "InvalidRequest");
  a.payload_mode = PayloadMode::kStreamingUnsignedTrailer;
  auto p = AwsChunkedParamsFor(a, "s", req);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->decoded_length, 12u);
  h[0].second = "12x";
  EXPECT_EQ(AwsChunkedParamsFor(a, "s", req).error().code, "InvalidArgument");
  h.clear();
  req.headers = h;
  EXPECT_EQ(AwsChunkedParamsFor(a, "s", req).error().code, "InvalidRequest");
}

}  // namespace
}  // namespace as::s3
