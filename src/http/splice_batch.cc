#include "http/splice_batch.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

namespace as::http_internal {

std::atomic<int> SpliceBatch::sending_{0};
std::atomic<uint64_t> SpliceBatch::batched_{0};

bool SpliceBatch::Start(size_t capacity) {
  Close();
  counted_ = true;
  if (sending_.fetch_add(1, std::memory_order_relaxed) == 0) return false;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end_ = fds[0];
  write_end_ = fds[1];
  int got = ::fcntl(write_end_, F_SETPIPE_SZ, int(capacity));
  if (got < int(capacity)) {
    ClosePipe();  // still counted: it is being sent, directly
    return false;
  }
  capacity_ = size_t(got);
  batched_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void SpliceBatch::Close() {
  if (counted_) sending_.fetch_sub(1, std::memory_order_relaxed);
  counted_ = false;
  ClosePipe();
}

void SpliceBatch::ClosePipe() {
  if (read_end_ >= 0) ::close(read_end_);
  if (write_end_ >= 0) ::close(write_end_);
  read_end_ = write_end_ = -1;
  held_ = 0;
}

Status SpliceBatch::Add(int sock, int file_fd, uint64_t offset, size_t n) {
  loff_t off = loff_t(offset);
  const uint64_t end = offset + n;
  while (uint64_t(off) < end) {
    if (held_ == capacity_) AS_RETURN_IF_ERROR(Drain(sock));
    size_t want = std::min<uint64_t>(end - uint64_t(off), capacity_ - held_);
    // NONBLOCK: the pipe never blocks (held_ < capacity_); a file read
    // that would wait on the disk still does, as pread would.
    ssize_t r = ::splice(file_fd, &off, write_end_, nullptr, want, SPLICE_F_NONBLOCK);
    if (r > 0) {
      held_ += size_t(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      return Status::IOError("splice: the file ended at byte " + std::to_string(off) +
                             ", before byte " + std::to_string(end));
    }
    if (errno == EAGAIN) {  // the pipe has less room than asked for
      AS_RETURN_IF_ERROR(Drain(sock));
      continue;
    }
    return Status::FromErrno("splice from file at offset " + std::to_string(off), errno);
  }
  return Status::OK();
}

Status SpliceBatch::Drain(int sock, bool more) {
  while (held_ > 0) {
    ssize_t r = ::splice(read_end_, nullptr, sock, nullptr, held_, more ? SPLICE_F_MORE : 0);
    if (r > 0) {
      held_ -= size_t(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return Status::IOError("send: client accepted no data before the timeout");
    }
    return r == 0 ? Status::IOError("splice to socket: nothing sent")
                  : Status::FromErrno("splice to socket", errno);
  }
  return Status::OK();
}

}  // namespace as::http_internal
