#include "hash/background.h"

namespace as {

BackgroundConsumer::~BackgroundConsumer() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    todo_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundConsumer::Update(const uint8_t* data, size_t n) {
  if (n == 0) return;
  if (!thread_.joinable()) {
    if (n < kThreadFrom) {
      consume_(data, n);  // no thread yet: only the caller consumes
      return;
    }
    thread_ = std::thread([this] { Run(); });
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    todo_.emplace_back(data, n);
  }
  cv_.notify_all();
}

void BackgroundConsumer::Wait() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return todo_.empty() && !busy_; });
}

void BackgroundConsumer::Run() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    cv_.wait(l, [&] { return stop_ || !todo_.empty(); });
    if (stop_) return;
    auto [p, n] = todo_.front();
    todo_.pop_front();
    busy_ = true;
    l.unlock();
    consume_(p, n);
    l.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

Digest BackgroundBlake3::Finalize() {
  Wait();
  return hasher_.Finalize();
}

}  // namespace as
