// SHA-256 and MD5 from OpenSSL (SHA-NI where the CPU has it). SHA-256 serves
// protocols that need it (S3 checksums, OCI); MD5 only S3 ETags, never identity.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/digest.h"

namespace as {

class StreamingDigest {
 public:
  enum class Kind { kSha256, kMd5 };
  explicit StreamingDigest(Kind kind);
  ~StreamingDigest();
  void Update(const void* data, size_t n);
  // Writes 32 (SHA-256) or 16 (MD5) bytes; the object is spent afterwards.
  size_t Finish(uint8_t* out);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

Digest Sha256(const void* data, size_t n);
std::array<uint8_t, 16> Md5(const void* data, size_t n);

}  // namespace as
