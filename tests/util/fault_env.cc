#include "fault_env.h"

#include <unistd.h>

#include <filesystem>
#include <vector>

namespace as::testing {

namespace {
std::string Parent(const std::string& path) {
  size_t p = path.rfind('/');
  return p == std::string::npos ? std::string(".") : path.substr(0, p);
}
}  // namespace

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultEnv* env, std::string path, std::unique_ptr<WritableFile> base,
                    std::shared_ptr<FaultEnv::FileState> state)
      : env_(env), path_(std::move(path)), base_(std::move(base)), state_(std::move(state)) {}

  Status Append(const void* data, size_t n) override {
    AS_RETURN_IF_ERROR(env_->MaybeFail(FaultEnv::Op::kAppend, path_));
    AS_RETURN_IF_ERROR(base_->Append(data, n));
    std::lock_guard<std::mutex> l(env_->mu_);
    state_->pos += n;
    return Status::OK();
  }
  Status Sync() override {
    if (env_->sync_hook_) env_->sync_hook_(path_);
    AS_RETURN_IF_ERROR(env_->MaybeFail(FaultEnv::Op::kSync, path_));
    AS_RETURN_IF_ERROR(base_->Sync());
    std::lock_guard<std::mutex> l(env_->mu_);
    state_->synced = state_->pos;
    return Status::OK();
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  FaultEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
  std::shared_ptr<FaultEnv::FileState> state_;
};

void FaultEnv::FailAfter(Op op, int n, std::string path_contains, Code code) {
  std::lock_guard<std::mutex> l(mu_);
  faults_[op] = Fault{true, n, std::move(path_contains), code};
}

void FaultEnv::ClearFaults() {
  std::lock_guard<std::mutex> l(mu_);
  faults_.clear();
}

int FaultEnv::faults_fired() const {
  std::lock_guard<std::mutex> l(mu_);
  return fired_;
}

Status FaultEnv::MaybeFail(Op op, const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = faults_.find(op);
  if (it == faults_.end() || !it->second.armed) return Status::OK();
  Fault& f = it->second;
  if (!f.path_contains.empty() && path.find(f.path_contains) == std::string::npos) {
    return Status::OK();
  }
  if (--f.countdown > 0) return Status::OK();
  f.armed = false;
  fired_++;
  static const char* kNames[] = {"append", "sync", "syncdir", "rename"};
  return Status(f.code,
                std::string("injected ") + kNames[static_cast<int>(op)] + " failure on " + path);
}

Result<std::unique_ptr<WritableFile>> FaultEnv::NewWritableFile(const std::string& path,
                                                                const WritableFileOptions& o) {
  AS_ASSIGN_OR_RETURN(auto f, base_->NewWritableFile(path, o));
  auto st = std::make_shared<FileState>();
  {
    std::lock_guard<std::mutex> l(mu_);
    files_[path] = st;  // O_TRUNC: a new file as far as durability goes
  }
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, path, std::move(f), st));
}

Status FaultEnv::CreateDirIfMissing(const std::string& path) {
  bool existed = base_->FileExists(path);
  AS_RETURN_IF_ERROR(base_->CreateDirIfMissing(path));
  if (!existed) {
    std::lock_guard<std::mutex> l(mu_);
    dirs_[path] = false;
  }
  return Status::OK();
}

Status FaultEnv::RemoveFile(const std::string& path) {
  AS_RETURN_IF_ERROR(base_->RemoveFile(path));
  std::lock_guard<std::mutex> l(mu_);
  files_.erase(path);
  return Status::OK();
}

Status FaultEnv::RenameFile(const std::string& from, const std::string& to) {
  AS_RETURN_IF_ERROR(MaybeFail(Op::kRename, from));
  AS_RETURN_IF_ERROR(base_->RenameFile(from, to));
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(from);
  std::shared_ptr<FileState> st;
  if (it != files_.end()) {
    st = it->second;
    files_.erase(it);
  } else {
    // Not written through us: its data counts as durable, its old entry too.
    st = std::make_shared<FileState>();
    auto size = base_->FileSize(to);
    st->pos = st->synced = size.ok() ? *size : 0;
    st->entry_durable = true;
  }
  if (st->renamed_from.empty()) {
    st->renamed_from = from;
    st->from_durable = st->entry_durable;
  }
  st->entry_durable = false;
  files_[to] = st;
  return Status::OK();
}

Status FaultEnv::SyncDir(const std::string& dir) {
  AS_RETURN_IF_ERROR(MaybeFail(Op::kSyncDir, dir));
  AS_RETURN_IF_ERROR(base_->SyncDir(dir));
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [path, st] : files_) {
    if (Parent(path) == dir) {
      st->entry_durable = true;
      st->renamed_from.clear();
    }
  }
  for (auto& [path, durable] : dirs_) {
    if (Parent(path) == dir) durable = true;
  }
  return Status::OK();
}

Status FaultEnv::DropUnsyncedData() {
  std::lock_guard<std::mutex> l(mu_);
  // Files first (deepest state), then directories whose entry was lost.
  for (auto& [path, st] : files_) {
    if (!std::filesystem::exists(path)) continue;
    if (::truncate(path.c_str(), static_cast<off_t>(st->synced)) != 0) {
      return Status::FromErrno("truncate " + path, errno);
    }
    if (st->entry_durable) continue;
    if (!st->renamed_from.empty() && st->from_durable) {
      if (::rename(path.c_str(), st->renamed_from.c_str()) != 0) {
        return Status::FromErrno("rename back " + path, errno);
      }
    } else if (::unlink(path.c_str()) != 0) {
      return Status::FromErrno("unlink " + path, errno);
    }
  }
  for (auto& [path, durable] : dirs_) {
    if (!durable) {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
      if (ec) return Status::IOError("remove_all " + path + ": " + ec.message());
    }
  }
  files_.clear();
  dirs_.clear();
  return Status::OK();
}

void FaultEnv::ResetState() {
  std::lock_guard<std::mutex> l(mu_);
  files_.clear();
  dirs_.clear();
}

}  // namespace as::testing
