// O_DIRECT writable file with a few aligned buffers: the caller fills one
// while a helper thread writes the others in order, so device time overlaps
// with CPU work and no page-cache pages are allocated and copied (the
// dominant kernel cost of writing packs through the page cache on the
// machines measured here). More than two buffers ride out the write latency
// spikes of a virtual disk; buffers go back to a small process-wide pool, so
// the next pack file does not fault in fresh memory.
#include "base/env_direct.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/idle_pool.h"

namespace as {
namespace {

constexpr size_t kAlign = 4096;
// 16 MiB in flight per file, as 16 buffers of 1 MiB rather than 4 of 4 MiB:
// a server writes a pack per concurrent put, and each file's first buffer is
// its own, so small buffers keep ten uploads at once to ~10 MiB plus the
// shared extras below (1 MiB O_DIRECT writes are far above what a device
// needs to stream).
constexpr size_t kBufSize = 1 << 20;
constexpr size_t kBuffersPerFile = 16;
// Buffers beyond each file's first, for all files of the process together:
// a file alone (a CLI put) still gets its 16 MiB; files written at once (a
// server's concurrent uploads) share a few (a file that finds none waits for
// its own writes, as with a single buffer).
constexpr int kExtrasAlone = kBuffersPerFile - 1;
constexpr int kExtrasShared = 6;
constexpr size_t kPoolKeep = 8;  // idle buffers kept for the next files

std::atomic<int> g_open_files{0};
std::atomic<int> g_extras_taken{0};

bool TakeExtra() {
  const int limit = g_open_files.load(std::memory_order_relaxed) > 1 ? kExtrasShared : kExtrasAlone;
  int n = g_extras_taken.load(std::memory_order_relaxed);
  while (n < limit) {
    if (g_extras_taken.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

// Aligned kBufSize buffers, reused across files.
struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};
using PooledBuf = std::unique_ptr<uint8_t, FreeDeleter>;
IdlePool<PooledBuf>& Buffers() {
  static auto* pool = new IdlePool<PooledBuf>(kPoolKeep * kBufSize);  // used until exit
  return *pool;
}
uint8_t* TakeBuf() {
  PooledBuf p = Buffers().Take(kBufSize);
  if (!p) p.reset(static_cast<uint8_t*>(std::aligned_alloc(kAlign, kBufSize)));
  return p.release();
}

struct AlignedBuf {
  uint8_t* p = nullptr;
  size_t len = 0;
  uint64_t off = 0;  // file offset, once submitted
};

class DirectWritableFile final : public WritableFile {
 public:
  DirectWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {
    g_open_files.fetch_add(1, std::memory_order_relaxed);
    cur_ = NewBuf();
    writer_ = std::thread([this] { WriterLoop(); });
  }
  ~DirectWritableFile() override { Close().IgnoreError(); }

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
    ReleaseFree();
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
    // The buffers go back now, not when the object does (a sealed pack's
    // file object lives on until its put commits).
    for (AlignedBuf* b : owned_) {
      Buffers().Give(kBufSize, kBufSize, PooledBuf(b->p));
      delete b;
    }
    g_extras_taken.fetch_sub(static_cast<int>(owned_.size()) - 1, std::memory_order_relaxed);
    g_open_files.fetch_sub(1, std::memory_order_relaxed);
    owned_.clear();
    free_.clear();
    cur_ = nullptr;
    return status_;
  }
  uint64_t Size() const override { return size_; }

 private:
  AlignedBuf* NewBuf() {
    owned_.push_back(new AlignedBuf{TakeBuf(), 0, 0});
    return owned_.back();
  }

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

  // Queues the full current buffer for the writer thread and takes a free
  // one (a new one while this file has fewer than kBuffersPerFile and a
  // shared extra is left).
  void Submit() {
    std::unique_lock<std::mutex> l(mu_);
    cur_->off = written_;
    written_ += cur_->len;
    pending_.push_back(cur_);
    cv_.notify_all();
    if (free_.empty() && owned_.size() < kBuffersPerFile && TakeExtra()) {
      l.unlock();
      cur_ = NewBuf();
      cur_->len = 0;
      return;
    }
    cv_.wait(l, [&] { return !free_.empty(); });
    cur_ = free_.back();
    free_.pop_back();
    cur_->len = 0;
    if (!write_status_.ok() && status_.ok()) status_ = write_status_;
  }

  // Gives back the buffers written and not being filled: a Sync is
  // usually a file's last (a pack's seal), and the next file may want them
  // while this one waits for its fdatasync.
  void ReleaseFree() {
    std::lock_guard<std::mutex> l(mu_);
    for (AlignedBuf* b : free_) {
      Buffers().Give(kBufSize, kBufSize, PooledBuf(b->p));
      owned_.erase(std::find(owned_.begin(), owned_.end(), b));
      delete b;
      g_extras_taken.fetch_sub(1, std::memory_order_relaxed);
    }
    free_.clear();
  }

  void WaitIdle() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return pending_.empty() && !writing_; });
    if (!write_status_.ok() && status_.ok()) status_ = write_status_;
  }

  void WriterLoop() {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait(l, [&] { return !pending_.empty() || stop_; });
      if (pending_.empty() && stop_) return;
      AlignedBuf* b = pending_.front();
      pending_.pop_front();
      writing_ = true;
      l.unlock();
      // After a failed write the rest are skipped: the file is broken anyway.
      Status s = write_status_ok_ ? WriteAt(b->p, b->len, b->off) : Status::OK();
      l.lock();
      if (!s.ok() && write_status_.ok()) {
        write_status_ = s;
        write_status_ok_ = false;
      }
      writing_ = false;
      free_.push_back(b);
      cv_.notify_all();
    }
  }

  std::string path_;
  int fd_;
  std::vector<AlignedBuf*> owned_;  // every buffer this file has taken
  AlignedBuf* cur_ = nullptr;       // being filled by the caller
  uint64_t size_ = 0;               // logical bytes appended
  uint64_t written_ = 0;            // bytes handed to the writer (always whole buffers)
  Status status_;                   // sticky, caller side

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<AlignedBuf*> pending_;  // submitted, in file order
  std::vector<AlignedBuf*> free_;    // written, ready to refill
  bool writing_ = false;
  Status write_status_;
  bool write_status_ok_ = true;  // read by the writer without the lock: only it writes it
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
