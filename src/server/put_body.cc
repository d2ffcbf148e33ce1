#include "server/put_body.h"

#include <cstring>

#include "base/bytes.h"
#include "s3/http_util.h"

namespace as {

namespace {

std::optional<std::string> HeaderValue(const HttpRequest& req, std::string_view name) {
  const std::string* v = req.Header(name);
  if (!v) return std::nullopt;
  return *v;
}

std::string Crc32cBase64(uint32_t crc) {
  const char be[4] = {static_cast<char>(crc >> 24), static_cast<char>(crc >> 16),
                      static_cast<char>(crc >> 8), static_cast<char>(crc)};
  return s3::Base64Encode(std::string_view(be, 4));
}

bool IsStreaming(s3::PayloadMode m) {
  return m == s3::PayloadMode::kStreamingSigned || m == s3::PayloadMode::kStreamingSignedTrailer ||
         m == s3::PayloadMode::kStreamingUnsignedTrailer;
}

}  // namespace

s3::S3Expected<std::unique_ptr<PutBody>> PutBody::Create(const HttpRequest& req,
                                                        RequestBody& body,
                                                        const s3::SigV4Auth& auth,
                                                        const std::string& secret,
                                                        const KernelTable& kernels) {
  std::unique_ptr<PutBody> b(new PutBody(body, kernels));
  b->auth_ = &auth;
  if (!req.content_length && !req.chunked) {
    return s3::MakeS3Error(411, "MissingContentLength",
                           "You must provide the Content-Length HTTP header.");
  }
  b->content_md5_ = HeaderValue(req, "content-md5");
  if (b->content_md5_) {
    auto raw = s3::Base64Decode(*b->content_md5_);
    if (!raw || raw->size() != 16) return s3::err::InvalidDigest();
  }
  // Declared checksums: as headers now, or as aws-chunked trailers later.
  b->crc32c_header_ = HeaderValue(req, "x-amz-checksum-crc32c");
  b->sha256_header_ = HeaderValue(req, "x-amz-checksum-sha256");
  const std::string* trailer = req.Header("x-amz-trailer");
  b->want_crc32c_ = b->crc32c_header_ || (trailer && *trailer == "x-amz-checksum-crc32c");
  b->want_sha256_ = b->sha256_header_ || (trailer && *trailer == "x-amz-checksum-sha256");
  if (b->want_sha256_) {
    b->checksum_sha256_ = std::make_unique<StreamingDigest>(StreamingDigest::Kind::kSha256);
  }
  if (auth.payload_mode == s3::PayloadMode::kSha256) {
    b->payload_sha256_ = std::make_unique<StreamingDigest>(StreamingDigest::Kind::kSha256);
  }
  b->expected_length_ = req.content_length;
  if (IsStreaming(auth.payload_mode)) {
    s3::HttpRequestView view{req.method, req.target, req.headers};
    auto params = s3::AwsChunkedParamsFor(auth, secret, view);
    if (!params.ok()) return params.error();
    b->expected_length_ = params->decoded_length;
    RequestBody* raw = &body;
    b->chunked_ = std::make_unique<s3::AwsChunkedDecoder>(
        [raw](uint8_t* p, size_t n) { return raw->Read(p, n); }, std::move(params).value());
  }
  return b;
}

Result<size_t> PutBody::Read(uint8_t* buf, size_t cap) {
  Result<size_t> r = chunked_ ? chunked_->Read(buf, cap) : body_.Read(buf, cap);
  if (!r.ok()) {
    if (chunked_ && chunked_->error()) {
      error_ = chunked_->error();
    } else {
      error_ = s3::err::IncompleteBody("reading the request body at byte " +
                                       std::to_string(bytes_) + ": " + r.status().message());
    }
    return r;
  }
  size_t n = *r;
  if (n == 0) {
    if (expected_length_ && bytes_ != *expected_length_) {
      error_ = s3::err::IncompleteBody("the body ended at byte " + std::to_string(bytes_) +
                                       " of " + std::to_string(*expected_length_));
      return s3::ToStatus(*error_);
    }
    return n;
  }
  bytes_ += n;
  if (expected_length_ && bytes_ > *expected_length_) {
    error_ = s3::err::InvalidRequest("the body is longer than its declared length " +
                                     std::to_string(*expected_length_));
    return s3::ToStatus(*error_);
  }
  return n;
}

void PutBody::Observe(const uint8_t* data, size_t n) {
  md5_.Update(data, n);
  if (payload_sha256_) payload_sha256_->Update(data, n);
  if (checksum_sha256_) checksum_sha256_->Update(data, n);
  if (want_crc32c_) crc32c_ = kernels_.crc32c(crc32c_, data, n);
  observed_ += n;
}

ByteSource PutBody::source() {
  return [this](uint8_t* buf, size_t cap) { return Read(buf, cap); };
}

std::function<void(const uint8_t*, size_t)> PutBody::observer() {
  return [this](const uint8_t* data, size_t n) { Observe(data, n); };
}

std::optional<s3::S3Error> PutBody::error() const { return error_; }

std::optional<s3::S3Error> PutBody::Finish(ObjectAttrs* attrs) {
  if (observed_ != bytes_) {  // a put without observer(): no digest to trust
    return s3::MakeS3Error(500, "InternalError",
                           "body digests cover " + std::to_string(observed_) + " of " +
                               std::to_string(bytes_) + " bytes");
  }
  uint8_t md5[16];
  md5_.Finish(md5);
  md5_hex_ = ToHex(md5, 16);
  attrs->etag = md5_hex_;
  if (payload_sha256_) {
    uint8_t d[32];
    payload_sha256_->Finish(d);
    if (auto e = s3::CheckPayloadSha256(*auth_, d)) return e;
  }
  if (content_md5_ && *s3::Base64Decode(*content_md5_) != std::string(reinterpret_cast<char*>(md5), 16)) {
    return s3::err::BadDigest();
  }
  auto declared = [&](const std::optional<std::string>& header,
                      const char* name) -> std::optional<std::string> {
    if (header) return header;
    if (!chunked_) return std::nullopt;
    for (const auto& [k, v] : chunked_->trailers()) {
      if (k == name) return v;
    }
    return std::nullopt;
  };
  if (want_crc32c_) {
    std::string got = Crc32cBase64(crc32c_);
    auto want = declared(crc32c_header_, "x-amz-checksum-crc32c");
    if (want && *want != got) {
      return s3::MakeS3Error(400, "BadDigest",
                             "The CRC32C you specified did not match the calculated checksum.");
    }
    attrs->checksum_crc32c = got;
  }
  if (want_sha256_) {
    uint8_t d[32];
    checksum_sha256_->Finish(d);
    std::string got = s3::Base64Encode(std::string_view(reinterpret_cast<char*>(d), 32));
    auto want = declared(sha256_header_, "x-amz-checksum-sha256");
    if (want && *want != got) {
      return s3::MakeS3Error(400, "BadDigest",
                             "The SHA256 you specified did not match the calculated checksum.");
    }
    attrs->checksum_sha256 = got;
  }
  return std::nullopt;
}

}  // namespace as
