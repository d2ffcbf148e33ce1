// BLAKE3-256 over the upstream C implementation (runtime-dispatched by upstream
// to SSE2/SSE4.1/AVX2/AVX-512). Produces self-describing Digests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/digest.h"

namespace as {

class Blake3Hasher {
 public:
  Blake3Hasher();                                // plain hash -> DigestAlgo::kBlake3
  explicit Blake3Hasher(const uint8_t key[32]);  // keyed hash -> DigestAlgo::kBlake3Keyed
  ~Blake3Hasher();
  Blake3Hasher(const Blake3Hasher&) = delete;
  Blake3Hasher& operator=(const Blake3Hasher&) = delete;

  void Update(const void* data, size_t n);
  Digest Finalize() const;  // does not reset: more Update() calls may follow
  // Extended output of any length (the first 32 bytes are the digest).
  void FinalizeXof(uint8_t* out, size_t n) const;
  void Reset();

 private:
  struct State;
  std::unique_ptr<State> s_;
  DigestAlgo algo_;
};

Digest Blake3(const void* data, size_t n);
Digest Blake3Keyed(const uint8_t key[32], const void* data, size_t n);
// BLAKE3 derive_key mode: 32-byte key from a context string and key material.
void Blake3DeriveKey(const char* context, const void* material, size_t n, uint8_t out[32]);

}  // namespace as
