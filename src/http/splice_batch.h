// File ranges gathered in a pipe and sent to a socket in large pieces.
//
// A large GET is sent from its pack one chunk at a time (~64-100 KiB). One
// sendfile per chunk costs a socket lock, a push and the loopback receive
// work per call: nginx, held to 86 KiB sendfile calls, spends 1.6x the CPU per
// byte it does with its default (docs/benchmarks.md). Here each range is
// spliced into a pipe (page references, no copy, no socket work) and the pipe
// goes to the socket in one splice per `capacity` bytes. It pays for large
// bodies only (Response uses it from 8 MiB), and it trades wall time for CPU:
// bigger bursts make the client's side slower on loopback (64 MiB at 64
// connections: 32% less server CPU per byte, 20% less wall throughput; nginx,
// which sends large pieces too, shows the same).
//
// Not thread-safe; one per connection, started per large response. Bytes reach the socket
// only in Drain (also called by Add when the pipe is full), so the owner
// drains before writing anything else to the socket.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "base/status.h"

namespace as::http_internal {

class SpliceBatch {
 public:
  SpliceBatch() = default;
  SpliceBatch(const SpliceBatch&) = delete;
  SpliceBatch& operator=(const SpliceBatch&) = delete;
  ~SpliceBatch() { Close(); }

  // Counts this body as being sent (until Close), and makes the pipe, of
  // `capacity` bytes, only when another body is being sent meanwhile. Alone
  // on its CPU, a connection does better with chunk-sized sends, which overlap
  // with the client (measured at 1 connection: batching cost 23% more CPU
  // per byte; at 64 it saved 30%). False when not batching, also when the
  // system refuses the pipe or its size (pipe-max-size, the per-user pipe
  // quota): the caller then sends directly.
  bool Start(size_t capacity);
  bool is_open() const { return write_end_ >= 0; }
  // How many bodies have been batched since the process started (for tests).
  static uint64_t batched() { return batched_.load(std::memory_order_relaxed); }
  // How many bodies are counted as being sent now (for tests).
  static int sending() { return sending_.load(std::memory_order_relaxed); }
  size_t held() const { return held_; }

  // Moves [offset, offset + n) of file_fd into the pipe, draining it to
  // `sock` each time it fills. Errors name the file offset or the send.
  Status Add(int sock, int file_fd, uint64_t offset, size_t n);
  // Sends all that is held to `sock` (blocking, within its send timeout);
  // more: the response goes on (the last piece may wait to fill a segment).
  Status Drain(int sock, bool more = true);
  // Closes the pipe, dropping anything held (the response failed), and
  // stops counting the body.
  void Close();

 private:
  void ClosePipe();
  static std::atomic<int> sending_;
  static std::atomic<uint64_t> batched_;  // bodies between Start and Close, process-wide
  bool counted_ = false;
  int read_end_ = -1, write_end_ = -1;
  size_t capacity_ = 0;
  size_t held_ = 0;
};

}  // namespace as::http_internal
