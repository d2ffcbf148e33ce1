// Test access to the store's internals (StoreImpl names it a friend).
#pragma once

#include <chrono>
#include <functional>
#include <thread>
#include <string>
#include <utility>

#include "store/put_txn.h"

namespace as {

class StoreTestPeer {
 public:
  // Puts waiting for the group commit's leader.
  static size_t GroupQueued(Store* s) { return Impl(s)->group_->queued(); }
  // Called by a gc run with "marked", "listed" and "doomed" (store_impl.h).
  static void SetGcHook(Store* s, std::function<void(const std::string& where)> hook) {
    Impl(s)->gc_hook_ = std::move(hook);
  }
  // Called by every put between its lookups and its commit.
  static void SetPutHook(Store* s, std::function<void()> hook) {
    Impl(s)->put_hook_ = std::move(hook);
  }
  // The dedup filter: waits (up to a minute) until it is ready.
  static bool WaitFilterReady(Store* s) {
    for (int i = 0; i < 6000 && !Impl(s)->filter_.ready(); i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return Impl(s)->filter_.ready();
  }
  static bool FilterMayHold(Store* s, uint32_t domain, const Digest& d) {
    return Impl(s)->filter_.MayBeStored(domain, d);
  }
  // Starts the filter as a put would (loaded, or rebuilt, on its thread).
  static void StartFilter(Store* s) { Impl(s)->StartFilter(); }
  // Rows per transaction of gc's delete-only pass on a full disk.
  static void SetDeleteRowsPerCommit(Store* s, size_t n) { Impl(s)->delete_rows_per_commit_ = n; }
  // Rows per doom and sweep commit of gc (0: the default).
  static void SetGcBatchRows(Store* s, size_t n) { Impl(s)->gc_batch_rows_ = n; }

 private:
  static StoreImpl* Impl(Store* s) { return static_cast<StoreImpl*>(s); }
};

}  // namespace as
