// The local directory: today's layout (docs/format/store.md), packs/<hh>/.
#include <cstring>

#include "pack/format.h"
#include "pack/pack.h"
#include "pack/pack_store.h"

namespace as {

namespace {

class LocalSink final : public PackSink {
 public:
  LocalSink(Env* env, std::string dir, std::string name, std::unique_ptr<WritableFile> f)
      : env_(env), dir_(std::move(dir)), name_(std::move(name)), file_(std::move(f)) {}
  ~LocalSink() override { Abandon(); }

  Status Append(const void* data, size_t n) override { return file_->Append(data, n); }

  Status Seal(std::span<const uint8_t> tail, uint64_t size) override {
    const std::string final_path = PackPath(dir_, name_), tmp = final_path + ".tmp";
    AS_RETURN_IF_ERROR(file_->Sync());
    AS_RETURN_IF_ERROR(file_->Close());
    AS_RETURN_IF_ERROR(ReadBack(tmp, tail, size));
    AS_RETURN_IF_ERROR(env_->RenameFile(tmp, final_path));
    AS_RETURN_IF_ERROR(env_->SyncDir(dir_ + "/" + name_.substr(0, 2)));
    sealed_ = true;
    return Status::OK();
  }

  void Abandon() override {
    if (sealed_ || abandoned_) return;
    abandoned_ = true;
    file_->Close().IgnoreError();
    env_->RemoveFile(PackPath(dir_, name_) + ".tmp").IgnoreError();
  }

 private:
  // What the disk gives back is what was written: its size and its tail.
  Status ReadBack(const std::string& path, std::span<const uint8_t> tail, uint64_t size) const {
    AS_ASSIGN_OR_RETURN(auto f, env_->NewRandomAccessFile(path));
    if (f->Size() != size) {
      return Status::Corruption(path + ": read back " + std::to_string(f->Size()) +
                                " bytes, wrote " + std::to_string(size));
    }
    std::vector<uint8_t> back(tail.size());
    AS_RETURN_IF_ERROR(f->ReadAt(size - back.size(), back.size(), back.data()));
    if (!tail.empty() && std::memcmp(back.data(), tail.data(), tail.size()) != 0) {
      return Status::Corruption(path + ": footer read back differs from what was written");
    }
    return Status::OK();
  }

  Env* env_;
  std::string dir_, name_;
  std::unique_ptr<WritableFile> file_;
  bool sealed_ = false, abandoned_ = false;
};

class LocalPackStore final : public PackStore {
 public:
  LocalPackStore(Env* env, std::string dir) : env_(env), dir_(std::move(dir)) {}

  std::string Describe() const override { return dir_; }
  std::string Where(const std::string& name) const override { return PackPath(dir_, name); }

  Result<std::unique_ptr<PackSink>> NewSink(const std::string& name, bool small) override {
    const std::string sub = dir_ + "/" + name.substr(0, 2);
    if (!env_->FileExists(sub)) {
      // A new subdirectory must itself be durable in packs/, or a crash could
      // lose the pack inside it even after the pack's own fsync.
      AS_RETURN_IF_ERROR(env_->CreateDirIfMissing(sub));
      AS_RETURN_IF_ERROR(env_->SyncDir(dir_));
    }
    // Large packs are written once: bypass the page cache (the file buffers).
    AS_ASSIGN_OR_RETURN(auto f, env_->NewWritableFile(PackPath(dir_, name) + ".tmp",
                                                      WritableFileOptions{.direct_io = !small}));
    return std::unique_ptr<PackSink>(new LocalSink(env_, dir_, name, std::move(f)));
  }

  Result<std::unique_ptr<RandomAccessFile>> Open(const std::string& name,
                                                 std::optional<uint64_t>) override {
    return env_->NewRandomAccessFile(PackPath(dir_, name));
  }

  Status Remove(const std::string& name) override {
    return env_->RemoveFile(PackPath(dir_, name));
  }

  Status List(std::vector<PackObject>* out) override {
    out->clear();
    std::vector<std::string> subdirs, files;
    AS_RETURN_IF_ERROR(env_->GetChildren(dir_, &subdirs));
    for (const std::string& sub : subdirs) {
      const std::string dir = dir_ + "/" + sub;
      if (!env_->GetChildren(dir, &files).ok()) continue;
      for (const std::string& f : files) {
        const bool is_pack = f.ends_with(".pack"), is_tmp = f.ends_with(".pack.tmp");
        if (!is_pack && !is_tmp) continue;
        PackObject o;
        o.name = f.substr(0, f.find('.'));
        o.sealed = is_pack;
        o.handle = dir + "/" + f;
        auto size = env_->FileSize(o.handle);
        auto mtime = env_->FileMTime(o.handle);
        if (!size.ok() || !mtime.ok()) continue;  // gone meanwhile
        o.size = *size;
        o.mtime = *mtime;
        out->push_back(std::move(o));
      }
    }
    return Status::OK();
  }

  Status RemoveLeftover(const PackObject& o) override { return env_->RemoveFile(o.handle); }
  Status Ping() override {
    if (!env_->FileExists(dir_)) return Status::NotFound("pack directory " + dir_ + " is gone");
    return Status::OK();
  }

 private:
  Env* env_;
  std::string dir_;
};

}  // namespace

std::unique_ptr<PackStore> NewLocalPackStore(Env* env, std::string packs_dir) {
  return std::make_unique<LocalPackStore>(env, std::move(packs_dir));
}

}  // namespace as
