// The body of an S3 PutObject / UploadPart, as a ByteSource for the store,
// with every promise the client made about it checked before the store
// commits (Store PutOptions::finish):
//  - the length: Content-Length (or x-amz-decoded-content-length);
//  - x-amz-content-sha256 (a hex SHA-256 of the whole body), or the
//    per-chunk signatures of aws-chunked (STREAMING-*), un-framed here;
//  - Content-MD5 and one x-amz-checksum-<algorithm> (CRC32, CRC32C,
//    CRC64NVME, SHA1, SHA256; a header, or an aws-chunked trailer named by
//    x-amz-trailer), with x-amz-sdk-checksum-algorithm agreeing with it.
// As the store passes the bytes to observer() it computes the MD5 (the
// object's ETag) and any checksum the client sent, so nothing is read twice.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "artifact_store/store.h"
#include "hash/sha.h"
#include "s3/aws_chunked.h"
#include "s3/checksum.h"
#include "s3/sigv4.h"
#include "http/http_server.h"
#include "server/object_attrs.h"

namespace as {

// The checksum an object or part keeps when its request declares none:
// CRC64NVME, as S3 keeps for every new object since 2025, so a client that
// validates downloads (x-amz-checksum-mode) can check any object.
inline constexpr s3::ChecksumAlgo kDefaultChecksum = s3::ChecksumAlgo::kCrc64Nvme;

class PutBody {
 public:
  // Errors: a body whose framing the request does not say (no length),
  // an invalid Content-MD5 or checksum header, two checksums, an
  // x-amz-sdk-checksum-algorithm with no checksum. `required` (a part of an
  // upload created with a checksum algorithm): the checksum computed even
  // when none is declared; declaring another one is an error. `fallback`
  // (kDefaultChecksum): computed when none is declared, and kept like a
  // declared one.
  static s3::S3Expected<std::unique_ptr<PutBody>> Create(
      const HttpRequest& req, RequestBody& body, const s3::SigV4Auth& auth,
      const std::string& secret, const KernelTable& kernels,
      std::optional<s3::ChecksumAlgo> required = std::nullopt,
      std::optional<s3::ChecksumAlgo> fallback = std::nullopt);
  // The body's bytes, for Store::Put / PutPart; pass observer() as
  // PutOptions::observe with it: the digests (MD5 ETag, checksums, the signed
  // payload hash) are computed there, on another CPU when the store has one.
  ByteSource source();
  std::function<void(const uint8_t*, size_t)> observer();
  // After the source returned 0: every check; fills attrs->etag and the
  // checksum. The S3 error to answer otherwise.
  std::optional<s3::S3Error> Finish(ObjectAttrs* attrs);
  // The S3 error behind a failed read, if the failure was the client's.
  std::optional<s3::S3Error> error() const;
  uint64_t bytes() const { return bytes_; }
  // The body's length as the request declares it (decoded, for aws-chunked); 0 if unknown.
  uint64_t expected_length() const { return expected_length_.value_or(0); }
  std::string md5_hex() const { return md5_hex_; }

 private:
  explicit PutBody(RequestBody& body) : body_(body) {}
  Result<size_t> Read(uint8_t* buf, size_t cap);
  void Observe(const uint8_t* data, size_t n);

  RequestBody& body_;
  const s3::SigV4Auth* auth_ = nullptr;
  std::unique_ptr<s3::AwsChunkedDecoder> chunked_;
  std::optional<uint64_t> expected_length_;
  std::optional<std::string> content_md5_;  // base64, as sent
  // The checksum computed, and its declared value (binary) when a header
  // gave it; from a trailer it is known at the end.
  std::unique_ptr<s3::Checksummer> checksum_;
  std::optional<std::string> declared_checksum_;
  bool checksum_in_trailer_ = false;
  StreamingDigest md5_{StreamingDigest::Kind::kMd5};
  std::unique_ptr<StreamingDigest> payload_sha256_;
  uint64_t bytes_ = 0;
  uint64_t observed_ = 0;  // bytes the digests have seen (Observe)
  std::string md5_hex_;
  std::optional<s3::S3Error> error_;
};

}  // namespace as
