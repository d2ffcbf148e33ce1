// O_DIRECT writable file with two aligned buffers: the caller fills one while
// a helper thread writes the other, so device time overlaps with CPU work and
// no page-cache pages are allocated and copied (the dominant kernel cost of
// writing packs through the page cache on the machines measured here).
#include "base/env_direct.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace as {
namespace {

constexpr size_t kAlign = 4096;
constexpr size_t kBufSize = 4 << 20;

struct AlignedBuf {
  uint8_t* p = nullptr;
  size_t len = 0;
  AlignedBuf() { p = static_cast<uint8_t*>(std::aligned_alloc(kAlign, kBufSize)); }
  ~AlignedBuf() { std::free(p); }
};

class DirectWritableFile final : public WritableFile {
 public:
  DirectWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {
    writer_ = std::thread([this] { WriterLoop(); });
  }
  ~DirectWritableFile() override {
    Close().IgnoreError();
  }

  Status Append(const void* data, size_t n) override {
    if (fd_ < 0) return Status::IOError(path_ + " is closed");
    const uint8_t* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
      if (!status_.ok()) return status_;
      size_t k = std::min(n, kBufSize - cur_->len);
      std::memcpy(cur_->p + cur_->len, p, k);
      cur_->len += k;
      p += k;
      n -= k;
      size_ += k;
      if (cur_->len == kBufSize) Submit();
    }
    return status_;
  }

  // Writes the partial tail padded to the block size, trims the file to its
  // logical size and fdatasyncs. The tail stays buffered: a later Append
  // rewrites that block.
  Status Sync() override {
    if (fd_ < 0) return Status::IOError(path_ + " is closed");
    WaitIdle();
    if (!status_.ok()) return status_;
    if (cur_->len > 0) {
      size_t padded = (cur_->len + kAlign - 1) / kAlign * kAlign;
      std::memset(cur_->p + cur_->len, 0, padded - cur_->len);
      Status s = WriteAt(cur_->p, padded, written_);
      if (!s.ok()) return status_ = s;
      if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
        return status_ = Status::FromErrno("ftruncate " + path_, errno);
      }
    }
    if (::fdatasync(fd_) != 0) return status_ = Status::FromErrno("fdatasync " + path_, errno);
    return Status::OK();
  }

  Status Close() override {
    if (fd_ < 0) return status_;
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    writer_.join();
    if (status_.ok() && !write_status_.ok()) status_ = write_status_;
    // Unsynced tail bytes are dropped, as a crash would drop them.
    if (::close(fd_) != 0 && status_.ok()) status_ = Status::FromErrno("close " + path_, errno);
    fd_ = -1;
    return status_;
  }
  uint64_t Size() const override { return size_; }

 private:
  Status WriteAt(const uint8_t* p, size_t n, uint64_t off) {
    while (n > 0) {
      ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno("write " + path_ + " at offset " + std::to_string(off), errno);
      }
      p += w;
      n -= static_cast<size_t>(w);
      off += static_cast<uint64_t>(w);
    }
    return Status::OK();
  }

  // Hands the full current buffer to the writer thread and swaps buffers.
  void Submit() {
    WaitIdle();
    std::lock_guard<std::mutex> l(mu_);
    pending_ = cur_;
    pending_off_ = written_;
    written_ += cur_->len;
    cur_ = cur_ == &a_ ? &b_ : &a_;
    cur_->len = 0;
    cv_.notify_all();
  }

  void WaitIdle() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return pending_ == nullptr; });
    if (!write_status_.ok() && status_.ok()) status_ = write_status_;
  }

  void WriterLoop() {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait(l, [&] { return pending_ != nullptr || stop_; });
      if (pending_ == nullptr && stop_) return;
      AlignedBuf* b = pending_;
      uint64_t off = pending_off_;
      l.unlock();
      Status s = WriteAt(b->p, b->len, off);
      l.lock();
      if (!s.ok() && write_status_.ok()) write_status_ = s;
      pending_ = nullptr;
      cv_.notify_all();
    }
  }

  std::string path_;
  int fd_;
  AlignedBuf a_, b_;
  AlignedBuf* cur_ = &a_;
  uint64_t size_ = 0;     // logical bytes appended
  uint64_t written_ = 0;  // bytes handed to the writer (always whole buffers)
  Status status_;         // sticky, caller side

  std::mutex mu_;
  std::condition_variable cv_;
  AlignedBuf* pending_ = nullptr;
  uint64_t pending_off_ = 0;
  Status write_status_;
  bool stop_ = false;
  std::thread writer_;
};

}  // namespace

Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0644);
  if (fd < 0) {
    if (errno == EINVAL) return std::unique_ptr<WritableFile>();  // not supported here
    return Status::FromErrno("create " + path, errno);
  }
  return std::unique_ptr<WritableFile>(new DirectWritableFile(path, fd));
}

}  // namespace as
