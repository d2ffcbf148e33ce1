// Self-describing digests (DESIGN contract 1): written "<algo>:<lowercase hex>",
// stored in binary as one algorithm-id byte followed by the digest bytes.
// No code may assume 32 bytes of BLAKE3 without checking algo.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace as {

enum class DigestAlgo : uint8_t {
  kNone = 0,
  kBlake3 = 1,       // BLAKE3-256, plain
  kSha256 = 2,       // SHA-256, for protocols that need it
  kBlake3Keyed = 3,  // BLAKE3-256 keyed with a per-tenant key (encrypted tenants)
};

// Name used in text form, e.g. "blake3"; nullptr for kNone.
const char* DigestAlgoName(DigestAlgo a);
// Digest length in bytes for the algorithm (0 for unknown).
size_t DigestAlgoSize(DigestAlgo a);

struct Digest {
  static constexpr size_t kMaxSize = 32;
  DigestAlgo algo = DigestAlgo::kNone;
  std::array<uint8_t, kMaxSize> bytes{};

  size_t size() const { return DigestAlgoSize(algo); }
  bool empty() const { return algo == DigestAlgo::kNone; }
  std::string ToString() const;  // "blake3:af13..."
  // Parses "<algo>:<hex>" strictly (lowercase hex of the right length).
  static Result<Digest> Parse(std::string_view text);

  // Binary form: algo byte + digest bytes (1 + size()).
  size_t EncodedSize() const { return 1 + size(); }
  void EncodeTo(uint8_t* out) const;
  static Result<Digest> Decode(const uint8_t* p, size_t n);

  // First 8 bytes as an integer: a well-mixed key for filters and hash maps.
  uint64_t Prefix64() const {
    uint64_t v;
    std::memcpy(&v, bytes.data(), 8);
    return v;
  }
  bool operator==(const Digest& o) const {
    return algo == o.algo && std::memcmp(bytes.data(), o.bytes.data(), size()) == 0;
  }
  bool operator!=(const Digest& o) const { return !(*this == o); }
};

struct DigestHash {
  size_t operator()(const Digest& d) const { return static_cast<size_t>(d.Prefix64()); }
};

}  // namespace as
