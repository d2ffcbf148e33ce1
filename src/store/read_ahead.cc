#include "store/read_ahead.h"

#include <memory>

namespace as {

namespace {

struct Shared {
  size_t end;
  size_t window;
  std::vector<ReadAhead::Slot> slots;
  std::vector<char> ready;  // per slot: fetched and not yet emitted
  std::mutex mu;
  std::condition_variable cv;
  size_t next_claim = 0;
  size_t emitted = 0;
  bool stop = false;

  // Claims the next chunk if it is inside the window; returns false if none.
  bool Claim(size_t* i) {
    if (stop || next_claim >= end || next_claim >= emitted + window) return false;
    *i = next_claim++;
    return true;
  }
};

void FetchOne(Shared& s, const ReadAhead::Fetch& fetch, size_t i) {
  ReadAhead::Slot& slot = s.slots[i % s.window];
  slot.status = fetch(i, &slot);
  std::lock_guard<std::mutex> l(s.mu);
  s.ready[i % s.window] = 1;
  s.cv.notify_all();
}

}  // namespace

Status ReadAhead::Run(size_t first, size_t end, int workers, const Fetch& fetch,
                      const Emit& emit) {
  if (workers <= 0) {
    Slot slot;
    for (size_t i = first; i < end; i++) {
      AS_RETURN_IF_ERROR(fetch(i, &slot));
      AS_RETURN_IF_ERROR(emit(i, slot));
    }
    return Status::OK();
  }
  Shared s;
  s.end = end;
  s.window = 4 * (static_cast<size_t>(workers) + 1);
  s.slots.resize(s.window);
  s.ready.assign(s.window, 0);
  s.next_claim = s.emitted = first;

  std::vector<std::thread> threads;
  for (int w = 0; w < workers; w++) {
    threads.emplace_back([&] {
      std::unique_lock<std::mutex> l(s.mu);
      while (true) {
        size_t i = 0;
        bool claimed = false;
        s.cv.wait(l, [&] { return s.stop || s.next_claim >= s.end || (claimed = s.Claim(&i)); });
        if (!claimed) return;
        l.unlock();
        FetchOne(s, fetch, i);
        l.lock();
      }
    });
  }
  Status result;
  {
    std::unique_lock<std::mutex> l(s.mu);
    while (s.emitted < end) {
      const size_t k = s.emitted % s.window;
      if (s.ready[k]) {
        l.unlock();
        Slot& slot = s.slots[k];
        Status st = slot.status.ok() ? emit(s.emitted, slot) : slot.status;
        l.lock();
        if (!st.ok()) {
          result = st;
          break;
        }
        s.ready[k] = 0;
        s.emitted++;
        s.cv.notify_all();
        continue;
      }
      // The caller helps instead of waiting when there is work to claim.
      size_t i;
      if (s.Claim(&i)) {
        l.unlock();
        FetchOne(s, fetch, i);
        l.lock();
        continue;
      }
      s.cv.wait(l);
    }
    s.stop = true;
  }
  s.cv.notify_all();
  for (auto& t : threads) t.join();
  return result;
}

}  // namespace as
