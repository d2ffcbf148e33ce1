// Decoded, verified manifests by (domain, digest), least recently used
// first out. Manifests are immutable and named by their BLAKE3, so a cached
// one is never stale; a hit skips the frame read, the decompression, the
// BLAKE3 check and the CBOR decode (most of a small GET). Bounded by the
// number of chunk references held. Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "store/manifest.h"

namespace as {

class ManifestCache {
 public:
  explicit ManifestCache(size_t max_chunk_refs) : max_refs_(max_chunk_refs) {}
  std::shared_ptr<const Manifest> Find(uint32_t domain, const Digest& digest);
  void Insert(uint32_t domain, const Digest& digest, std::shared_ptr<const Manifest> m);

 private:
  struct Entry {
    uint32_t domain;
    Digest digest;
    std::shared_ptr<const Manifest> manifest;
  };
  static uint64_t KeyOf(uint32_t domain, const Digest& d);
  static size_t Cost(const Manifest& m) { return m.chunks.size() + 1; }

  std::mutex mu_;
  size_t max_refs_, refs_ = 0;
  std::list<Entry> lru_;  // front = most recent
  // Several entries may share a 64-bit key; each is compared in full.
  std::unordered_multimap<uint64_t, std::list<Entry>::iterator> index_;
};

}  // namespace as
