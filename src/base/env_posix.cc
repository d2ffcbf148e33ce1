#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "base/env.h"
#include "base/env_direct.h"

namespace as {
namespace {

// Buffered: small appends are gathered into one write() of up to kBuffer.
class PosixWritableFile final : public WritableFile {
 public:
  static constexpr size_t kBuffer = 1 << 20;
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {
    buf_.reserve(kBuffer);
  }
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Append(const void* data, size_t n) override {
    if (buf_.size() + n <= kBuffer) {
      buf_.insert(buf_.end(), static_cast<const char*>(data), static_cast<const char*>(data) + n);
      size_ += n;
      return Status::OK();
    }
    AS_RETURN_IF_ERROR(Flush());
    if (n < kBuffer) return Append(data, n);
    size_ += n;
    return WriteRaw(data, n);
  }
  Status Sync() override {
    AS_RETURN_IF_ERROR(Flush());
    if (::fdatasync(fd_) != 0) return Status::FromErrno("fdatasync " + path_, errno);
    return Status::OK();
  }
  Status Close() override {
    if (fd_ < 0) return Status::OK();
    Status s = Flush();
    int r = ::close(fd_);
    fd_ = -1;
    if (!s.ok()) return s;
    if (r != 0) return Status::FromErrno("close " + path_, errno);
    return Status::OK();
  }
  uint64_t Size() const override { return size_; }

 private:
  Status Flush() {
    Status s = WriteRaw(buf_.data(), buf_.size());
    buf_.clear();
    return s;
  }
  Status WriteRaw(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno("write " + path_, errno);
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
    return Status::OK();
  }

  std::string path_;
  int fd_;
  uint64_t size_ = 0;
  std::vector<char> buf_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixRandomAccessFile() override {
    if (map_) ::munmap(const_cast<uint8_t*>(map_), size_);
    ::close(fd_);
  }
  Status ReadAt(uint64_t offset, size_t n, void* buf) const override {
    char* p = static_cast<char*>(buf);
    uint64_t off = offset;
    while (n > 0) {
      ssize_t r = ::pread(fd_, p, n, static_cast<off_t>(off));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno("read " + path_ + " at offset " + std::to_string(off), errno);
      }
      if (r == 0) {
        return Status::Corruption(path_ + ": unexpected end of file at offset " +
                                  std::to_string(off) + " (file is " + std::to_string(size_) +
                                  " bytes)");
      }
      p += r;
      n -= static_cast<size_t>(r);
      off += static_cast<uint64_t>(r);
    }
    return Status::OK();
  }
  uint64_t Size() const override { return size_; }
  int fd() const override { return fd_; }
  void AdviseSequential() const override {
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  const uint8_t* Mapped() const override {
    std::call_once(map_once_, [this] {
      if (size_ == 0 || size_ > SIZE_MAX) return;
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
      if (p != MAP_FAILED) map_ = static_cast<const uint8_t*>(p);
    });
    return map_;
  }
  void ReleaseMapped() const override {
    // Read-only and shared: nothing to lose, the pages stay cached.
    if (map_) ::madvise(const_cast<uint8_t*>(map_), size_, MADV_DONTNEED);
  }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
  mutable std::once_flag map_once_;
  mutable const uint8_t* map_ = nullptr;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno("create " + path, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
  }
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        const WritableFileOptions& o) override {
    if (o.direct_io) {
      AS_ASSIGN_OR_RETURN(auto f, NewDirectWritableFile(path));
      if (f) return f;
    }
    return NewWritableFile(path);
  }
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno("open " + path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      return Status::FromErrno("stat " + path, e);
    }
    return std::unique_ptr<RandomAccessFile>(
        new PosixRandomAccessFile(path, fd, static_cast<uint64_t>(st.st_size)));
  }
  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
  Status CreateDirIfMissing(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::FromErrno("mkdir " + path, errno);
    }
    return Status::OK();
  }
  Status GetChildren(const std::string& dir, std::vector<std::string>* out) override {
    out->clear();
    DIR* d = ::opendir(dir.c_str());
    if (!d) return Status::FromErrno("opendir " + dir, errno);
    while (struct dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      out->emplace_back(e->d_name);
    }
    ::closedir(d);
    return Status::OK();
  }
  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Status::FromErrno("unlink " + path, errno);
    return Status::OK();
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return Status::FromErrno("rename " + from + " -> " + to, errno);
    }
    return Status::OK();
  }
  Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno("open dir " + dir, errno);
    int r = ::fsync(fd);
    int e = errno;
    ::close(fd);
    if (r != 0) return Status::FromErrno("fsync dir " + dir, e);
    return Status::OK();
  }
  Result<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::FromErrno("stat " + path, errno);
    return static_cast<uint64_t>(st.st_size);
  }
  Result<int64_t> FileMTime(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::FromErrno("stat " + path, errno);
    return static_cast<int64_t>(st.st_mtime);
  }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno("open lock " + path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      char buf[32] = {0};
      ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
      ::close(fd);
      if (e == EWOULDBLOCK) {
        std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown";
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        return Status::Busy("store is in use by pid " + pid + " (lock " + path + ")");
      }
      return Status::FromErrno("lock " + path, e);
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
      int e = errno;
      ::close(fd);
      return Status::FromErrno("write lock " + path, e);
    }
    return std::unique_ptr<FileLock>(new PosixFileLock(fd));
  }
};

}  // namespace

std::string ParentDir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Env* Env::Default() {
  static PosixEnv* env = new PosixEnv();
  return env;
}

Status Env::WriteStringToFileSync(const std::string& path, std::string_view data) {
  AS_ASSIGN_OR_RETURN(auto f, NewWritableFile(path));
  AS_RETURN_IF_ERROR(f->Append(data.data(), data.size()));
  AS_RETURN_IF_ERROR(f->Sync());
  return f->Close();
}

Result<std::string> Env::ReadFileToString(const std::string& path) {
  AS_ASSIGN_OR_RETURN(auto f, NewRandomAccessFile(path));
  std::string s(f->Size(), '\0');
  AS_RETURN_IF_ERROR(f->ReadAt(0, s.size(), s.data()));
  return s;
}

}  // namespace as
