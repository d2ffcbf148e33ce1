// Manifests (docs/format/manifest.md): encode to canonical CBOR, decode strictly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/status.h"
#include "chunking/fastcdc.h"

namespace as {

inline constexpr uint64_t kManifestVersion = 1;

struct ChunkRef {
  Digest digest;
  uint32_t length = 0;
};

struct Manifest {
  Digest content;
  uint64_t size = 0;
  ChunkerParams chunker;
  std::vector<ChunkRef> chunks;
  int64_t created = 0;
  std::string name_hint;  // optional
};

std::vector<uint8_t> EncodeManifest(const Manifest& m);
// Strict: rejects anything EncodeManifest would not have written.
Result<Manifest> DecodeManifest(const uint8_t* p, size_t n);

}  // namespace as
