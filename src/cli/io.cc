#include "cli/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace as::cli {

Result<std::unique_ptr<Input>> Input::Open(const std::string& path) {
  std::unique_ptr<Input> in(new Input);
  if (path == "-") {
    in->fd_ = 0;
    in->name_ = "stdin";
    return in;
  }
  in->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in->fd_ < 0) return Status::FromErrno("open " + path, errno);
  in->own_ = true;
  in->name_ = path;
  struct stat st;
  if (::fstat(in->fd_, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(path + " is a directory");
    if (S_ISREG(st.st_mode)) in->size_ = static_cast<uint64_t>(st.st_size);
  }
  ::posix_fadvise(in->fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  return in;
}

Input::~Input() {
  if (own_) ::close(fd_);
}

ByteSource Input::Source() {
  return [this](uint8_t* buf, size_t cap) -> Result<size_t> {
    while (true) {
      ssize_t r = ::read(fd_, buf, cap);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno != EINTR) return Status::FromErrno("read " + name_, errno);
    }
  };
}

Result<std::unique_ptr<Output>> Output::Open(const std::string& path) {
  std::unique_ptr<Output> out(new Output);
  if (path.empty() || path == "-") return out;
  out->path_ = path;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(path + " is a directory");
    // A device, FIFO or socket (-o /dev/null) is written in place: a .part
    // file renamed over it would replace the device node with a file.
    out->direct_ = true;
    out->tmp_ = path;
    out->fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (out->fd_ < 0) return Status::FromErrno("open " + path, errno);
    return out;
  }
  out->tmp_ = path + ".part";
  out->fd_ = ::open(out->tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out->fd_ < 0) return Status::FromErrno("create " + out->tmp_, errno);
  return out;
}

Output::~Output() {
  if (!path_.empty()) {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !direct_) ::unlink(tmp_.c_str());
  }
}

ByteSink Output::Sink() {
  return [this](const uint8_t* p, size_t n) -> Status {
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno("write " + (path_.empty() ? std::string("stdout") : tmp_), errno);
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
    return Status::OK();
  };
}

Status Output::Commit() {
  if (path_.empty()) return Status::OK();
  if (direct_) {
    const int fd = fd_;
    fd_ = -1;
    committed_ = true;
    if (::close(fd) != 0) return Status::FromErrno("close " + path_, errno);
    return Status::OK();
  }
  if (::fsync(fd_) != 0) return Status::FromErrno("fsync " + tmp_, errno);
  if (::close(fd_) != 0) {
    fd_ = -1;
    return Status::FromErrno("close " + tmp_, errno);
  }
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    return Status::FromErrno("rename " + tmp_ + " -> " + path_, errno);
  }
  committed_ = true;
  return Status::OK();
}

}  // namespace as::cli
