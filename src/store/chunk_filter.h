// The "seen this chunk?" filter of an embedded store (design:
// docs/index-at-scale.md).
//
// It holds a 64-bit key per stored chunk (digest prefix mixed with the dedup
// domain) in a KeyTable, 8.6-10.8 bytes per chunk. A hit is only a hint: the
// caller confirms it in the index (in batches, put.cc). When the filter is
// ready a miss is final and the chunk is stored (a miss the filter got wrong
// would only store a chunk twice; a hit it got wrong costs one lookup).
//
// Not ready (being loaded or rebuilt in the background, or never, for a
// store whose index is on a server: HoldNoKeys), every chunk "may be stored"
// and the index is asked. Keys inserted meanwhile are kept and applied when
// the table is installed, so no insert is lost to a load in progress.
//
// Keys of chunks gc deletes stay (a superset is still exact about misses);
// a rebuild from the index drops them.
//
// GC's safety against a concurrent dedup is not the filter's business: it
// is the metadata's doom-and-sweep protocol (index/metadata.h, Doom).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "base/digest.h"
#include "base/status.h"
#include "store/key_table.h"

namespace as {

class ChunkFilter {
 public:
  static uint64_t Key(uint32_t domain, const Digest& d) {
    const uint64_t k = d.Prefix64() ^ (uint64_t{domain} * 0x9e3779b97f4a7c15ULL);
    return k != 0 ? k : 1;  // 0 marks an empty slot in the table
  }

  // Call before any other use: the filter then never holds keys (see above).
  void HoldNoKeys() { no_keys_ = true; }
  bool holds_no_keys() const { return no_keys_; }
  bool ready() const { return ready_.load(std::memory_order_acquire); }

  // True if the chunk may be stored (ask the index).
  bool MayBeStored(uint32_t domain, const Digest& d) const;

  // A put's commit: Begin before it, End after it with the chunks it added
  // (also when it failed: then with none). Persisting (filter_keeper.cc)
  // only stamps the keys with a generation while no commit is between the
  // two, so a stamp never covers rows whose keys are not yet in.
  void BeginCommit() { in_commit_.fetch_add(1, std::memory_order_acq_rel); }
  void EndCommit(uint32_t domain, const std::vector<Digest>& added);
  int commits_in_flight() const { return in_commit_.load(std::memory_order_acquire); }

  // Installs a loaded or rebuilt table, plus every key inserted since the
  // load began, and makes the filter ready.
  void Install(KeyTable t);
  // Not ready again (the index changed under it wholesale: reindex).
  void Forget();

  // The keys inserted since the last call, ready or not: what the filter's
  // log on disk lacks.
  std::vector<uint64_t> TakeAdded();
  // Puts back keys TakeAdded() gave that could not be written.
  void ReturnAdded(const std::vector<uint64_t>& keys);
  size_t added() const;
  // Calls `write` with the table, under the lock (no copy: at 100 million
  // chunks that would be another GiB), and on success forgets the added
  // keys: a new base file holds every key, so the log restarts empty.
  // NotFound when not ready.
  using TableWriter = std::function<Status(const KeyTable& table)>;
  Status WriteTable(const TableWriter& write);

  size_t size() const;   // keys held (0 unless ready)
  size_t bytes() const;  // memory of the table

 private:
  mutable std::mutex mu_;
  bool no_keys_ = false;
  std::atomic<bool> ready_{false};
  std::atomic<int> in_commit_{0};
  KeyTable table_;
  std::vector<uint64_t> added_;    // since the last TakeAdded
  std::vector<uint64_t> pending_;  // inserted while not ready
};

}  // namespace as
