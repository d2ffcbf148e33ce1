// SHA-256, SHA-1 and MD5 from OpenSSL (SHA-NI where the CPU has it). SHA-256
// serves protocols that need it (S3 checksums, OCI), SHA-1 only S3 checksums,
// MD5 only S3 ETags; none is ever an identity.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/digest.h"

namespace as {

class StreamingDigest {
 public:
  enum class Kind { kSha256, kMd5, kSha1 };
  explicit StreamingDigest(Kind kind);
  ~StreamingDigest();
  void Update(const void* data, size_t n);
  // Writes 32 (SHA-256), 20 (SHA-1) or 16 (MD5) bytes; the object is spent afterwards.
  size_t Finish(uint8_t* out);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

Digest Sha256(const void* data, size_t n);
std::array<uint8_t, 16> Md5(const void* data, size_t n);

}  // namespace as
