// Ordered parallel reads for get: chunk i is fetched, checked and decoded by
// whichever thread claims it (worker threads and the caller alike), at most
// `window` chunks ahead of what the caller has emitted; the caller emits in
// order. With 0 workers it is a plain loop. A failed chunk stops the read
// before any of its bytes reach the sink.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/status.h"

namespace as {

class ReadAhead {
 public:
  struct Slot {
    std::vector<uint8_t> frame, scratch;  // buffers the fetch may use
    const uint8_t* data = nullptr;        // the chunk's raw bytes
    size_t n = 0;
    // When the raw bytes also lie verbatim in a file (a raw, unencrypted
    // frame): its descriptor (kept open by `pin`) and their offset there.
    int file_fd = -1;
    uint64_t file_offset = 0;
    std::shared_ptr<const void> pin;
    // Set by the caller: a raw frame may be checked in place and handed out
    // as its file span only (data null).
    bool in_place = false;
    // Set by the caller: how many delta chunks' bases led to this read
    // (0: a chunk of an artifact). A base is chosen from chunks that are not
    // delta chunks, but a race can later re-store one as a delta chunk; the
    // chain is followed up to kMaxBaseDepth (a longer one, or a cycle, is
    // an error, not a loop).
    int base_depth = 0;
    Status status;
  };
  // Fills slot for chunk i (thread-safe; called from several threads).
  using Fetch = std::function<Status(size_t i, Slot* slot)>;
  // Consumes chunk i's bytes, in order, on the caller's thread.
  using Emit = std::function<Status(size_t i, const Slot& slot)>;

  static Status Run(size_t first, size_t end, int workers, const Fetch& fetch, const Emit& emit);
};

}  // namespace as
