// Work over a stream's bytes done on a thread of its own, so a caller that
// also cuts and hashes chunks can give a whole-stream pass (the artifact's
// BLAKE3, an S3 ETag's MD5) to another CPU.
//
//   BackgroundBlake3 h;
//   h.Update(buf, n);   // returns at once; buf[0..n) must stay unchanged...
//   h.Wait();           // ...until every range given so far has been consumed
//   Digest d = h.Finalize();
//
// Ranges are consumed in Update() order, one at a time. The thread starts
// with the first range of kThreadFrom bytes or more; smaller ranges before it
// are consumed at once by the caller (a small stream never pays for a
// thread). One caller thread at a time.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include "base/digest.h"
#include "hash/blake3.h"

namespace as {

class BackgroundConsumer {
 public:
  using Consume = std::function<void(const uint8_t* data, size_t n)>;
  static constexpr size_t kThreadFrom = 1 << 20;

  explicit BackgroundConsumer(Consume consume) : consume_(std::move(consume)) {}
  ~BackgroundConsumer();  // waits for the thread; pending ranges are dropped
  BackgroundConsumer(const BackgroundConsumer&) = delete;
  BackgroundConsumer& operator=(const BackgroundConsumer&) = delete;

  void Update(const uint8_t* data, size_t n);
  void Wait();

 private:
  void Run();

  Consume consume_;  // called by the thread, or by the caller before it starts
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<const uint8_t*, size_t>> todo_;
  bool busy_ = false;  // the thread is consuming a range taken from todo_
  bool stop_ = false;
  std::thread thread_;  // not joinable until started
};

class BackgroundBlake3 {
 public:
  static constexpr size_t kThreadFrom = BackgroundConsumer::kThreadFrom;

  void Update(const uint8_t* data, size_t n) { bg_.Update(data, n); }
  void Wait() { bg_.Wait(); }
  Digest Finalize();  // Wait(), then the digest of everything given

 private:
  Blake3Hasher hasher_;  // touched only by bg_, or after Wait()
  BackgroundConsumer bg_{[this](const uint8_t* p, size_t n) { hasher_.Update(p, n); }};
};

}  // namespace as
