// Idle objects kept for reuse: large buffers and compression contexts that
// are costly to make again for every operation (fresh memory is a page fault
// per 4 KiB touched, and a freed large block goes back to the kernel with
// munmap; a zstd context runs CPUID, which traps on a VM).
//
// Contract: thread-safe. Take(key) returns an idle object given back under
// the same key, or null (the caller makes one). Give(key, cost, p) keeps p
// while the idle objects' costs add up to at most the budget, and otherwise
// destroys it (outside the lock). Objects are handed back in whatever state
// their last user left them.
#pragma once

#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

namespace as {

template <class Ptr>
class IdlePool {
 public:
  explicit IdlePool(size_t budget) : budget_(budget) {}
  IdlePool(const IdlePool&) = delete;
  IdlePool& operator=(const IdlePool&) = delete;

  Ptr Take(size_t key) {
    std::lock_guard<std::mutex> l(mu_);
    for (size_t i = idle_.size(); i-- > 0;) {
      if (idle_[i].key != key) continue;
      Ptr p = std::move(idle_[i].p);
      used_ -= idle_[i].cost;
      idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
      return p;
    }
    return Ptr();
  }

  void Give(size_t key, size_t cost, Ptr p) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (used_ + cost > budget_) return;  // p is destroyed after the unlock
      used_ += cost;
      idle_.push_back(Entry{key, cost, std::move(p)});
    }
  }

 private:
  struct Entry {
    size_t key;
    size_t cost;
    Ptr p;
  };
  const size_t budget_;
  std::mutex mu_;
  size_t used_ = 0;
  std::vector<Entry> idle_;
};

}  // namespace as
