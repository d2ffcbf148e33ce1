// Env: every file-system access of the store goes through this interface, so
// tests can inject faults (drop unsynced data, fail a write) and prove that
// nothing acknowledged is lost. PosixEnv is the real one.
//
// Contract: paths are absolute or relative to the process cwd; errors name
// the path. A WritableFile's bytes are durable only after Sync() returns OK;
// a new file's directory entry is durable only after SyncDir() of its parent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace as {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(const void* data, size_t n) = 0;
  virtual Status Sync() = 0;  // fdatasync: data and size durable
  virtual Status Close() = 0;
  virtual uint64_t Size() const = 0;
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads exactly n bytes at offset into buf; a short file is Corruption
  // naming the path and offset.
  virtual Status ReadAt(uint64_t offset, size_t n, void* buf) const = 0;
  virtual uint64_t Size() const = 0;
  // Tells the kernel the whole file will be read front to back.
  virtual void AdviseSequential() const {}
  // The open descriptor, for callers that send file bytes with sendfile(2);
  // -1 when the file is not a plain descriptor (test environments).
  virtual int fd() const { return -1; }
  // The whole file mapped read-only (mapped on the first call), or null where
  // it cannot be (test environments, empty files). Read it only inside
  // RunGuarded (base/guarded.h): a truncation or a disk error under the
  // mapping raises SIGBUS.
  virtual const uint8_t* Mapped() const { return nullptr; }
  // Unmaps the pages of the mapping from this process (they stay in the
  // page cache; the next read of the mapping faults them back in): mapped
  // pages count toward its RSS. Safe while other threads read the mapping.
  virtual void ReleaseMapped() const {}
};

// Held while the store is open; released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

struct WritableFileOptions {
  // Bypass the page cache (O_DIRECT) with writes overlapped on a helper
  // thread: for large write-once files (packs). Falls back to buffered I/O
  // where the file system refuses O_DIRECT.
  bool direct_io = false;
};

// The directory holding `path` ("." for a bare name, "/" at the root): the
// one to SyncDir after creating or renaming it.
std::string ParentDir(const std::string& path);

class Env {
 public:
  virtual ~Env() = default;
  static Env* Default();  // the PosixEnv singleton; never deleted

  // Appends are buffered by the file; Sync() writes them out and syncs.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                const WritableFileOptions&) {
    return NewWritableFile(path);
  }
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual Status CreateDirIfMissing(const std::string& path) = 0;
  virtual Status GetChildren(const std::string& dir, std::vector<std::string>* out) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status SyncDir(const std::string& dir) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  // Seconds since the epoch of the file's last modification.
  virtual Result<int64_t> FileMTime(const std::string& path) = 0;

  // Exclusive, non-blocking, process-wide lock on `path` (created if missing),
  // which records our pid. Busy("... in use by pid N") when another process
  // holds it.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;

  Status WriteStringToFileSync(const std::string& path, std::string_view data);
  Result<std::string> ReadFileToString(const std::string& path);
};

}  // namespace as
