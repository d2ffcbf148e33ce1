// The in-memory "seen this chunk?" filter of an embedded store.
//
// It holds a 64-bit key per stored chunk (digest prefix mixed with the dedup
// domain). A hit is only a hint: the caller confirms it in the index. A miss
// is final: the chunk is stored again (a duplicate is harmless, a wrong hit
// would not be, hence the confirmation). Keys of chunks gc has deleted stay
// until the store is opened again: they only cost an index lookup.
//
// Without keys (HoldNoKeys: a store whose index is on a server, where
// reading every key at open would cost a minute and gigabytes at 100 million
// chunks), every chunk "may be stored" and the index is asked, in batches.
//
// GC's safety against a concurrent dedup is not the filter's business: it
// is the metadata's doom-and-sweep protocol (index/metadata.h, Doom), which
// works across processes.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "base/digest.h"

namespace as {

class ChunkFilter {
 public:
  static uint64_t Key(uint32_t domain, const Digest& d) {
    return d.Prefix64() ^ (uint64_t{domain} * 0x9e3779b97f4a7c15ULL);
  }

  // Call before any other use: the filter then holds no keys (see above).
  void HoldNoKeys() { no_keys_ = true; }
  bool holds_no_keys() const { return no_keys_; }

  void Insert(uint32_t domain, const Digest& d);
  void InsertMany(const std::vector<uint64_t>& keys);
  // True if the chunk may be stored (ask the index).
  bool MayBeStored(uint32_t domain, const Digest& d) const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  bool no_keys_ = false;
  std::unordered_set<uint64_t> keys_;  // every stored chunk (unless no_keys_)
};

}  // namespace as
