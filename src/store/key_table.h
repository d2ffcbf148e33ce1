// A set of 64-bit keys in a bucketized cuckoo hash table: the dedup
// filter's storage (chunk_filter.h; design: docs/index-at-scale.md).
//
// Each bucket is one 64-byte cache line of 8 keys; a key lives in one of two
// buckets chosen by two hashes of the whole key, so a lookup reads exactly
// two cache lines whatever the load. Keys are kept whole (no fingerprints):
// membership is exact, a table can grow without the index, and 64 bits per
// key at 74-93% load is 8.6-10.8 bytes per key (issue 21 asks 8-12).
//
// Key 0 marks an empty slot; callers map their keys into [1, 2^64).
// Not thread-safe: ChunkFilter holds the lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace as {

class KeyTable {
 public:
  static constexpr size_t kSlots = 8;
  struct alignas(64) Bucket {
    uint64_t k[kSlots];
  };
  // The table grows before it is fuller than this: two choices of 8 slots
  // place keys reliably to ~97%; the margin keeps insertion walks short.
  static constexpr double kMaxLoad = 0.93;
  // Grown by a quarter at a time, so its load stays above 74% (memory per
  // key, not insert speed, is what matters at 100 million chunks).
  static constexpr double kGrowth = 1.25;

  KeyTable() : KeyTable(0) {}
  // Room for about `expected` keys without growing.
  explicit KeyTable(size_t expected);

  bool Contains(uint64_t key) const;
  // False if the key was already there.
  bool Insert(uint64_t key);
  // False if it was not there.
  bool Erase(uint64_t key);

  size_t size() const { return size_; }
  size_t buckets() const { return buckets_.size(); }
  size_t bytes() const { return buckets_.size() * sizeof(Bucket); }
  const Bucket* data() const { return buckets_.data(); }

  // A table over `buckets` (as data() gave them) holding `size` keys; false
  // (and this table left empty) if the count of non-empty slots differs
  // from `size` or a key sits in neither of its buckets: the bytes are not a
  // table this code wrote, whatever their checksum said.
  bool Adopt(std::vector<Bucket> buckets, size_t size);

  static size_t BucketsFor(size_t expected);

 private:
  size_t Home(uint64_t key) const;
  size_t Alt(uint64_t key) const;
  bool Place(uint64_t key);
  // A bigger table with every key, and homeless_ if set (then counted).
  void Grow(size_t min_buckets);

  std::vector<Bucket> buckets_;
  size_t size_ = 0;
  uint64_t homeless_ = 0;  // the key a failed Place left out
  uint64_t walk_ = 0x2545f4914f6cdd1dULL;  // xorshift state for eviction choices
};

}  // namespace as
