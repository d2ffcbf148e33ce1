// The in-memory "seen this chunk?" filter and the upload leases that make GC
// safe against concurrent dedup (DESIGN contract 9).
//
// The filter holds a 64-bit key per stored chunk (digest prefix mixed with
// the dedup domain). A hit is only a hint: the caller confirms it in the
// index. A miss is final: the chunk is stored again (a duplicate is harmless,
// a wrong hit would not be, hence the confirmation).
//
// Leases: a put checks the filter and takes a lease on the chunk in one step
// under the filter's lock; GC, under the same lock, spares every leased chunk
// and removes the others it deletes from the filter. So either the put saw
// the chunk and GC keeps it, or GC removed it first and the put stores it anew.
//
// Without keys (HoldNoKeys: a store whose index is on a server, where
// reading every key at open would cost a minute and gigabytes at 100 million
// chunks), every chunk "may be stored" and the index is asked, except the
// chunks a running GC is deleting: SpareLeasedAndErase records those as
// doomed, CheckAndLease answers false for them, and ForgetDoomed (once GC's
// commit has ended, whatever its outcome) drops the record. The guarantee is
// the same: a put that leased first is spared; one that checks later stores
// the chunk anew.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "base/digest.h"

namespace as {

class ChunkFilter {
 public:
  class Lease {
   public:
    explicit Lease(ChunkFilter* f);
    ~Lease();  // releases every chunk it holds
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    friend class ChunkFilter;
    ChunkFilter* f_;
    std::unordered_set<uint64_t> keys_;
  };

  static uint64_t Key(uint32_t domain, const Digest& d) {
    return d.Prefix64() ^ (uint64_t{domain} * 0x9e3779b97f4a7c15ULL);
  }

  // Call before any other use: the filter then holds no keys (see above).
  void HoldNoKeys() { no_keys_ = true; }
  bool holds_no_keys() const { return no_keys_; }
  void ForgetDoomed();

  void Insert(uint32_t domain, const Digest& d);
  void InsertMany(const std::vector<uint64_t>& keys);
  // True if the chunk may be stored; on true, `lease` now holds it.
  bool CheckAndLease(uint32_t domain, const Digest& d, Lease* lease);
  // For GC: of the given dead chunk keys, returns which are leased (and must
  // be kept) and removes the rest from the filter, atomically.
  std::vector<bool> SpareLeasedAndErase(const std::vector<uint64_t>& keys);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  bool no_keys_ = false;
  std::unordered_set<uint64_t> keys_;    // every stored chunk (unless no_keys_)
  std::unordered_set<uint64_t> doomed_;  // no_keys_: what a running gc deletes
  std::unordered_set<Lease*> leases_;
};

}  // namespace as
