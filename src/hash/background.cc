#include "hash/background.h"

namespace as {

BackgroundBlake3::~BackgroundBlake3() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    todo_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundBlake3::Update(const uint8_t* data, size_t n) {
  if (n == 0) return;
  if (!thread_.joinable()) {
    if (n < kThreadFrom) {
      hasher_.Update(data, n);  // no thread yet: only this one touches it
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

void BackgroundBlake3::Wait() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return todo_.empty() && !busy_; });
}

Digest BackgroundBlake3::Finalize() {
  Wait();
  return hasher_.Finalize();
}

void BackgroundBlake3::Run() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    cv_.wait(l, [&] { return stop_ || !todo_.empty(); });
    if (stop_) return;
    auto [p, n] = todo_.front();
    todo_.pop_front();
    busy_ = true;
    l.unlock();
    hasher_.Update(p, n);
    l.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace as
