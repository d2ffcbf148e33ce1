// AES-256-GCM, the cipher of encrypted tenants (docs/format/encryption.md),
// over OpenSSL 3's EVP (AES-NI and carry-less multiply where the CPU has
// them: several GB/s per core). A sealed blob is nonce || ciphertext || tag:
// a fresh random 96-bit nonce per seal, a 128-bit tag. With random nonces a
// key may seal about 2^32 blobs before a nonce repeats with any likelihood
// worth naming (NIST SP 800-38D, 8.3); data keys rotate well before that
// (tenant rotate-key).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace as::crypto {

inline constexpr size_t kKeySize = 32;
inline constexpr size_t kNonceSize = 12;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kSealOverhead = kNonceSize + kTagSize;

// A 256-bit secret; wiped when destroyed.
class Key {
 public:
  Key() = default;
  explicit Key(const uint8_t* p);
  Key(const Key& o) = default;
  Key& operator=(const Key& o) = default;
  ~Key();
  const uint8_t* data() const { return b_.data(); }
  uint8_t* data() { return b_.data(); }
  bool operator==(const Key& o) const;

 private:
  std::array<uint8_t, kKeySize> b_{};
};

// n bytes from OpenSSL's CSPRNG (seeded by the kernel). Internal if it fails.
Status RandomBytes(uint8_t* out, size_t n);
Result<Key> RandomKey();

// Seals in[0..n) under key with `aad` authenticated too: writes n +
// kSealOverhead bytes at out (which must not overlap in).
Status Seal(const Key& key, std::string_view aad, const uint8_t* in, size_t n, uint8_t* out);
// Opens what Seal wrote (n >= kSealOverhead): n - kSealOverhead bytes at out.
// Corruption ("authentication failed") when the key, the aad or a byte of
// in differs from the seal's; out then holds nothing usable and must not be
// used.
Status Open(const Key& key, std::string_view aad, const uint8_t* in, size_t n, uint8_t* out);

}  // namespace as::crypto
