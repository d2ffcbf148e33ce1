// FaultEnv: an Env for crash-safety tests (in the spirit of LevelDB's
// FaultInjectionTestEnv, written from scratch here).
//
// It forwards to a base Env (Env::Default() unless given) and remembers, for
// every file written through it, how many bytes have been Sync()ed, and
// whether the file's directory entry is durable (SyncDir() of its parent after
// the file was created or renamed into place). Directories it creates are
// tracked the same way. DropUnsyncedData() then simulates a power cut:
//  - a file whose entry is durable is truncated to its synced length;
//  - a file renamed but whose new entry is not durable goes back to its old
//    name if that one was durable, else it is deleted;
//  - a file or directory created but whose entry is not durable is deleted
//    (a directory with everything in it).
// Files the store never wrote through this Env (SQLite's, which does its own
// I/O) are left alone.
//
// Faults: FailAfter(kind, n) makes the n-th (1-based) later call of that kind
// fail with IOError (or the code given, e.g. kNoSpace for a full disk); an
// optional path substring restricts which calls count.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/env.h"

namespace as::testing {

class FaultEnv final : public Env {
 public:
  enum class Op { kAppend, kSync, kSyncDir, kRename };

  explicit FaultEnv(Env* base = Env::Default()) : base_(base) {}

  // Arms a one-shot fault: the n-th matching call of `op` from now fails.
  void FailAfter(Op op, int n, std::string path_contains = "", Code code = Code::kIOError);
  void ClearFaults();
  // How many faults have fired so far.
  int faults_fired() const;

  // Called (outside the env's lock) at the start of every file Sync, with the
  // file's path: a test can hold a sync there to line other threads up.
  void SetSyncHook(std::function<void(const std::string& path)> hook) {
    sync_hook_ = std::move(hook);
  }

  // Simulates losing everything not yet durable. Call with no file open.
  Status DropUnsyncedData();
  // Forgets all tracking (everything written so far counts as durable).
  void ResetState();

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    return NewWritableFile(path, WritableFileOptions{});
  }
  // Forwards the options (e.g. direct_io for packs) to the base Env.
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        const WritableFileOptions& o) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    return base_->NewRandomAccessFile(path);
  }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Status CreateDirIfMissing(const std::string& path) override;
  Status GetChildren(const std::string& dir, std::vector<std::string>* out) override {
    return base_->GetChildren(dir, out);
  }
  Status RemoveFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& dir) override;
  Result<uint64_t> FileSize(const std::string& path) override { return base_->FileSize(path); }
  Result<int64_t> FileMTime(const std::string& path) override { return base_->FileMTime(path); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }

  // Per-file state, shared with the open WritableFile.
  struct FileState {
    uint64_t pos = 0;     // bytes appended
    uint64_t synced = 0;  // bytes durable
    bool entry_durable = false;
    std::string renamed_from;  // set while a rename is not yet durable
    bool from_durable = false;
  };

 private:
  friend class FaultWritableFile;
  // Returns an error if a fault of `op` fires for `path`.
  Status MaybeFail(Op op, const std::string& path);

  Env* base_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<FileState>> files_;
  std::map<std::string, bool> dirs_;  // created by us -> entry durable
  struct Fault {
    bool armed = false;
    int countdown = 0;
    std::string path_contains;
    Code code = Code::kIOError;
  };
  std::map<Op, Fault> faults_;
  int fired_ = 0;
  std::function<void(const std::string&)> sync_hook_;  // set before use, not while in use
};

}  // namespace as::testing
