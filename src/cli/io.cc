#include "cli/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "base/env.h"

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

bool Output::IsRegularFile(const std::string& path) {
  if (path.empty() || path == "-") return false;
  struct stat st;
  return ::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode);
}

Result<std::unique_ptr<Output>> Output::Open(const std::string& path, uint64_t expected_size) {
  std::unique_ptr<Output> out(new Output);
  if (path.empty() || path == "-") return out;
  out->path_ = path;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(path + " is a directory");
    // A device, FIFO or socket (-o /dev/null) is written in place: a .part
    // file renamed over it would replace the device node with a file.
    out->in_place_ = true;
    out->tmp_ = path;
    out->fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (out->fd_ < 0) return Status::FromErrno("open " + path, errno);
    return out;
  }
  out->tmp_ = path + ".part";
  WritableFileOptions o;
  o.direct_io = expected_size >= kDirectMin;
  auto f = Env::Default()->NewWritableFile(out->tmp_, o);
  if (!f.ok()) return f.status();
  out->file_ = std::move(f).value();
  out->fd_ = -1;
  return out;
}

Output::~Output() {
  if (!path_.empty()) {
    if (file_) file_->Close().IgnoreError();
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !in_place_) ::unlink(tmp_.c_str());
  }
}

ByteSink Output::Sink() {
  if (file_) return [this](const uint8_t* p, size_t n) { return file_->Append(p, n); };
  return [this](const uint8_t* p, size_t n) -> Status {
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno("write " + (path_.empty() ? std::string("stdout") : path_), errno);
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
    return Status::OK();
  };
}

Status Output::Commit() {
  if (path_.empty()) return Status::OK();
  if (in_place_) {
    const int fd = fd_;
    fd_ = -1;
    committed_ = true;
    if (::close(fd) != 0) return Status::FromErrno("close " + path_, errno);
    return Status::OK();
  }
  AS_RETURN_IF_ERROR(file_->Sync());
  Status s = file_->Close();
  file_.reset();
  if (!s.ok()) return s;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    return Status::FromErrno("rename " + tmp_ + " -> " + path_, errno);
  }
  committed_ = true;
  // The new name is durable once its directory is.
  return Env::Default()->SyncDir(ParentDir(path_));
}

}  // namespace as::cli
