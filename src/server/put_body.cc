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

bool IsStreaming(s3::PayloadMode m) {
  return m == s3::PayloadMode::kStreamingSigned || m == s3::PayloadMode::kStreamingSignedTrailer ||
         m == s3::PayloadMode::kStreamingUnsignedTrailer;
}

s3::S3Error BadChecksumRequest(std::string message) {
  return s3::err::InvalidRequest(std::move(message));
}

// The one checksum a request declares: its algorithm, and its value when a
// header carries it (a trailer's comes after the body).
struct DeclaredChecksum {
  std::optional<s3::ChecksumAlgo> algo;
  std::optional<std::string> value;  // binary
  bool trailer = false;              // the value comes in an aws-chunked trailer
};

s3::S3Expected<DeclaredChecksum> FindDeclaredChecksum(const HttpRequest& req) {
  DeclaredChecksum d;
  auto declare = [&](s3::ChecksumAlgo a) -> std::optional<s3::S3Error> {
    if (d.algo) {
      return BadChecksumRequest(
          "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.");
    }
    d.algo = a;
    return std::nullopt;
  };
  for (const auto& [name, value] : req.headers) {
    auto a = s3::ChecksumAlgoOfHeader(name);
    if (!a) continue;
    if (auto e = declare(*a)) return *e;
    d.value = s3::DecodeChecksum(*a, value);
    if (!d.value) {
      return BadChecksumRequest("Value for " + std::string(s3::Spec(*a).header) +
                                " header is invalid.");
    }
  }
  if (const std::string* trailer = req.Header("x-amz-trailer")) {
    const std::string_view t = TrimOws(*trailer);
    if (auto a = s3::ChecksumAlgoOfHeader(t)) {
      if (auto e = declare(*a)) return *e;
      d.trailer = true;
    } else if (t.rfind("x-amz-checksum-", 0) == 0) {
      return BadChecksumRequest("The value specified in the x-amz-trailer header is not supported");
    }
  }
  if (const std::string* sdk = req.Header("x-amz-sdk-checksum-algorithm")) {
    auto a = s3::ParseChecksumAlgo(*sdk);
    if (!a) return BadChecksumRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.");
    if (!d.algo) {
      return BadChecksumRequest(
          "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or "
          "x-amz-trailer headers were found.");
    }
    if (*a != *d.algo) {
      return BadChecksumRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.");
    }
  }
  return d;
}

}  // namespace

s3::S3Expected<std::unique_ptr<PutBody>> PutBody::Create(const HttpRequest& req, RequestBody& body,
                                                         const s3::SigV4Auth& auth,
                                                         const std::string& secret,
                                                         const KernelTable& kernels,
                                                         std::optional<s3::ChecksumAlgo> required,
                                                         std::optional<s3::ChecksumAlgo> fallback) {
  std::unique_ptr<PutBody> b(new PutBody(body));
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
  // The declared checksum: a header now, or an aws-chunked trailer later.
  auto declared = FindDeclaredChecksum(req);
  if (!declared.ok()) return declared.error();
  if (required && declared->algo && *declared->algo != *required) {
    return BadChecksumRequest(
        std::string("Checksum Type mismatch occurred, expected checksum Type: ") +
        s3::Spec(*required).name + ", actual checksum Type: " + s3::Spec(*declared->algo).name);
  }
  if (auto algo = declared->algo ? declared->algo : required ? required : fallback) {
    b->checksum_ = std::make_unique<s3::Checksummer>(*algo, kernels);
    b->declared_checksum_ = std::move(declared->value);
    b->checksum_in_trailer_ = declared->trailer;
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
  if (checksum_) checksum_->Update(data, n);
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
  if (checksum_) {
    const s3::ChecksumSpec& spec = s3::Spec(checksum_->algo());
    std::string got = checksum_->Finish();
    std::optional<std::string> want = declared_checksum_;
    if (!want && chunked_) {  // a trailer, if the request named one
      for (const auto& [k, v] : chunked_->trailers()) {
        if (k != spec.header) continue;
        want = s3::DecodeChecksum(checksum_->algo(), v);
        if (!want)
          return BadChecksumRequest("Value for " + std::string(spec.header) +
                                    " trailer is invalid.");
      }
    }
    if (!want && checksum_in_trailer_) {
      return BadChecksumRequest("x-amz-trailer names " + std::string(spec.header) +
                                ", but the body ended without that trailer.");
    }
    if (want && *want != got) {
      return s3::MakeS3Error(400, "BadDigest",
                             std::string("The ") + spec.name +
                                 " you specified did not match the calculated checksum.");
    }
    attrs->checksum(checksum_->algo()) = s3::Base64Encode(got);
  }
  return std::nullopt;
}

}  // namespace as
