#include "server/get_pipe.h"

#include <algorithm>
#include <cstring>

namespace as {

GetPipe::GetPipe(std::function<Status(const ByteSink&)> get, size_t capacity) : ring_(capacity) {
  thread_ = std::thread([this, get = std::move(get)] {
    Status s = get([this](const uint8_t* d, size_t n) { return Push(d, n); });
    std::lock_guard<std::mutex> l(mu_);
    status_ = s;
    done_ = true;
    cv_.notify_all();
  });
}

GetPipe::~GetPipe() {
  {
    std::lock_guard<std::mutex> l(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  thread_.join();
}

Status GetPipe::Push(const uint8_t* data, size_t n) {
  std::unique_lock<std::mutex> l(mu_);
  while (n > 0) {
    cv_.wait(l, [&] { return cancelled_ || len_ < ring_.size(); });
    if (cancelled_) return Status::FailedPrecondition("copy abandoned by its reader");
    // Copy into the free part of the ring, up to its end.
    const size_t tail = (head_ + len_) % ring_.size();
    const size_t k = std::min({n, ring_.size() - len_, ring_.size() - tail});
    std::memcpy(ring_.data() + tail, data, k);
    len_ += k;
    data += k;
    n -= k;
    cv_.notify_all();
  }
  return Status::OK();
}

Result<size_t> GetPipe::Read(uint8_t* buf, size_t cap) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return len_ > 0 || done_; });
  if (len_ == 0) {
    if (!status_.ok()) return status_;
    return size_t{0};
  }
  size_t out = 0;
  while (out < cap && len_ > 0) {
    const size_t k = std::min({cap - out, len_, ring_.size() - head_});
    std::memcpy(buf + out, ring_.data() + head_, k);
    head_ = (head_ + k) % ring_.size();
    len_ -= k;
    out += k;
  }
  cv_.notify_all();
  return out;
}

}  // namespace as
