// A Store::Get, which pushes bytes into a sink, feeding a put, which pulls
// them from a source: for UploadPartCopy, whose part is (a range of) another
// object's bytes. The get runs on a thread of its own and hands its checked
// bytes over through a bounded buffer, so memory stays bounded whatever the
// size.
//
// Contract: Read() gives the get's bytes in order and 0 at its end; if the
// get fails, Read() returns its error (after the bytes before it). The
// destructor stops a get still running (its sink then fails) and joins it,
// so a put that gives up early leaves nothing behind.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "artifact_store/store.h"
#include "base/status.h"

namespace as {

class GetPipe {
 public:
  // `get` is called once, on the pipe's thread, with the sink to push into.
  explicit GetPipe(std::function<Status(const ByteSink&)> get, size_t capacity = size_t{1} << 20);
  ~GetPipe();
  GetPipe(const GetPipe&) = delete;
  GetPipe& operator=(const GetPipe&) = delete;

  Result<size_t> Read(uint8_t* buf, size_t cap);

 private:
  Status Push(const uint8_t* data, size_t n);

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<uint8_t> ring_;
  size_t head_ = 0, len_ = 0;  // readable bytes: ring_[head_ .. head_ + len_) mod size
  bool done_ = false, cancelled_ = false;
  Status status_;  // the get's result, once done_
  std::thread thread_;
};

}  // namespace as
