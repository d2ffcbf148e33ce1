// The store's reserve: DIR/RESERVE, zeros that hold disk blocks so that a
// file system full to the last block can still be freed. SQLite needs room
// for its log to commit even a delete, and gc needs that commit before it
// may delete a pack file.
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include "store/store_impl.h"

namespace as {

namespace {
constexpr const char* kReserveFile = "RESERVE";
// Set while the reserve is released: it is made again only when the file
// system has four times its size free, not at every open of a full store.
constexpr const char* kReleasedKey = "reserve.released";

// The file system's size and the bytes free to this process (f_bavail).
Result<std::pair<uint64_t, uint64_t>> SizeAndFree(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return Status::FromErrno("statvfs " + dir, errno);
  return std::pair<uint64_t, uint64_t>{uint64_t(v.f_blocks) * v.f_frsize,
                                       uint64_t(v.f_bavail) * v.f_frsize};
}
}  // namespace

void StoreImpl::KeepReserve() {
  const uint64_t size = options_.reserve_bytes;
  if (size == 0) return;
  std::lock_guard<std::mutex> l(reserve_mu_);
  const std::string path = dir_ + "/" + kReserveFile;
  auto have = env_->FileSize(path);
  if (have.ok() && *have == size) return;
  // Never fill the file system for it: made with twice its size free, and
  // once spent, or to replace one of another size, with four times.
  const bool remake = have.ok() || [&] {
    auto released = meta_->GetMeta(kReleasedKey);
    return released.ok() && *released == "1";
  }();
  auto fs = SizeAndFree(dir_);
  if (!fs.ok() || fs->second / (remake ? 4 : 2) < size) return;
  // Written, synced and renamed into place (over one of another size): a
  // reserve that is there is whole. Any failure (no room for it) leaves the
  // old file, if any, and is not an error.
  const std::string tmp = path + ".tmp";
  Status s = [&]() -> Status {
    AS_ASSIGN_OR_RETURN(auto f, env_->NewWritableFile(tmp));
    const std::vector<uint8_t> zeros(1 << 20);
    for (uint64_t left = size; left > 0;) {
      const size_t n = size_t(std::min<uint64_t>(left, zeros.size()));
      AS_RETURN_IF_ERROR(f->Append(zeros.data(), n));
      left -= n;
    }
    AS_RETURN_IF_ERROR(f->Sync());
    AS_RETURN_IF_ERROR(f->Close());
    AS_RETURN_IF_ERROR(env_->RenameFile(tmp, path));
    return env_->SyncDir(dir_);
  }();
  if (!s.ok()) {
    env_->RemoveFile(tmp).IgnoreError();
    return;
  }
  meta_->SetMeta(kReleasedKey, "0").IgnoreError();
}

Result<StoreSpace> StoreImpl::Space() {
  AS_ASSIGN_OR_RETURN(auto fs, SizeAndFree(dir_));
  StoreSpace s;
  s.fs_size_bytes = fs.first;
  s.fs_free_bytes = fs.second;
  std::lock_guard<std::mutex> l(reserve_mu_);
  auto size = env_->FileSize(dir_ + "/" + kReserveFile);
  s.reserve_bytes = size.ok() ? *size : 0;
  return s;
}

Status StoreImpl::SpendingReserveIfFull(const std::function<Status()>& op) {
  Status s = op();
  if (s.code() == Code::kNoSpace && ReleaseReserve()) s = op();
  return s;
}

bool StoreImpl::ReleaseReserve() {
  std::lock_guard<std::mutex> l(reserve_mu_);
  const std::string path = dir_ + "/" + kReserveFile;
  if (!env_->FileExists(path) || !env_->RemoveFile(path).ok()) return false;
  env_->SyncDir(dir_).IgnoreError();
  meta_->SetMeta(kReleasedKey, "1").IgnoreError();  // there is room for it now
  return true;
}

}  // namespace as
