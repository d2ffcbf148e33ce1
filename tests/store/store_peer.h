// Test access to the store's internals (StoreImpl names it a friend).
#pragma once

#include <functional>
#include <utility>

#include "store/put_txn.h"

namespace as {

class StoreTestPeer {
 public:
  // Puts waiting for the group commit's leader.
  static size_t GroupQueued(Store* s) { return Impl(s)->group_->queued(); }
  // Called by Gc between its mark and the locked part that follows.
  static void SetMarkHook(Store* s, std::function<void()> hook) {
    Impl(s)->mark_hook_ = std::move(hook);
  }

 private:
  static StoreImpl* Impl(Store* s) { return static_cast<StoreImpl*>(s); }
};

}  // namespace as
