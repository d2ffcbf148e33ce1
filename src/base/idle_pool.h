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
//
// A burst leaves the pools full (about 112 MiB across the store's pools), and
// a server may then idle for hours: TrimIdlePools(age) destroys every object
// that has been idle for `age` or longer, in every pool of the process.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

namespace as {

using IdleClock = std::chrono::steady_clock;

// What TrimIdlePools sees of a pool. Pools register themselves while they live.
class IdlePoolBase {
 public:
  IdlePoolBase(const IdlePoolBase&) = delete;
  IdlePoolBase& operator=(const IdlePoolBase&) = delete;
  // Destroys the objects given back at or before `before`; returns their cost.
  virtual size_t TrimGivenBefore(IdleClock::time_point before) = 0;

 protected:
  IdlePoolBase() = default;
  virtual ~IdlePoolBase() = default;
  // Called by the derived pool once it is whole, and before it is torn down,
  // so a trim never reaches a half-built or half-destroyed pool.
  void Register();
  void Unregister();
};

// Destroys, in every live pool, the objects idle for `age` or longer; returns
// the sum of their costs (bytes, for the buffer pools).
size_t TrimIdlePools(IdleClock::duration age);

template <class Ptr>
class IdlePool final : public IdlePoolBase {
 public:
  explicit IdlePool(size_t budget) : budget_(budget) { Register(); }
  ~IdlePool() override { Unregister(); }

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
      idle_.push_back(Entry{key, cost, IdleClock::now(), std::move(p)});
    }
  }

  size_t TrimGivenBefore(IdleClock::time_point before) override {
    std::vector<Entry> old;  // destroyed after the unlock
    size_t freed = 0;
    {
      std::lock_guard<std::mutex> l(mu_);
      // Given back in time order: the old ones are a prefix.
      size_t n = 0;
      while (n < idle_.size() && idle_[n].since <= before) freed += idle_[n++].cost;
      old.assign(std::make_move_iterator(idle_.begin()),
                 std::make_move_iterator(idle_.begin() + static_cast<std::ptrdiff_t>(n)));
      idle_.erase(idle_.begin(), idle_.begin() + static_cast<std::ptrdiff_t>(n));
      used_ -= freed;
    }
    return freed;
  }

 private:
  struct Entry {
    size_t key;
    size_t cost;
    IdleClock::time_point since;  // when it was given back
    Ptr p;
  };
  const size_t budget_;
  std::mutex mu_;
  size_t used_ = 0;
  std::vector<Entry> idle_;  // in the order given back
};

}  // namespace as
