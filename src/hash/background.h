// A BLAKE3 hash of a stream computed on a thread of its own, so a caller that
// also cuts and hashes chunks can give the whole-stream pass to another CPU.
// The thread starts with the first range of kThreadFrom bytes or more; smaller
// ranges before it are hashed at once by the caller (a small stream never
// pays for a thread).
//
//   BackgroundBlake3 h;
//   h.Update(buf, n);   // returns at once; buf[0..n) must stay unchanged...
//   h.Wait();           // ...until every range given so far has been hashed
//   Digest d = h.Finalize();
//
// The digest is that of the ranges concatenated in Update() order, the same
// as Blake3Hasher's for the same calls. One caller thread at a time.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "base/digest.h"
#include "hash/blake3.h"

namespace as {

class BackgroundBlake3 {
 public:
  static constexpr size_t kThreadFrom = 1 << 20;

  BackgroundBlake3() = default;
  ~BackgroundBlake3();  // waits for the thread; pending ranges are dropped
  BackgroundBlake3(const BackgroundBlake3&) = delete;
  BackgroundBlake3& operator=(const BackgroundBlake3&) = delete;

  void Update(const uint8_t* data, size_t n);
  void Wait();
  Digest Finalize();  // Wait(), then the digest of everything given

 private:
  void Run();

  Blake3Hasher hasher_;  // touched only by the thread, or after Wait()
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<const uint8_t*, size_t>> todo_;
  bool busy_ = false;  // the thread is hashing a range taken from todo_
  bool stop_ = false;
  std::thread thread_;  // not joinable until started
};

}  // namespace as
