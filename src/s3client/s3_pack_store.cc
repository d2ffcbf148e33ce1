#include "s3client/s3_pack_store.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>

#include "base/bytes.h"
#include "hash/sha.h"

namespace as {

namespace {

constexpr size_t kFirstWindow = 256 << 10, kMaxWindow = 16 << 20;
// A pack this small is fetched whole on its first read.
constexpr uint64_t kWholePack = 4 << 20;
// A read starting less than this after the previous one's end still counts
// as front to back (frames skipped by a get are fetched with the window).
constexpr uint64_t kSequentialGap = 1 << 20;
constexpr int64_t kWindowBudget = int64_t{512} << 20;
std::atomic<int64_t> g_window_bytes{0};

std::string Hex(const Md5Bytes& m) { return ToHex(m.data(), m.size()); }

class S3Object final : public RandomAccessFile {
 public:
  S3Object(S3Client* c, std::string bucket, std::string key, uint64_t size)
      : c_(c), bucket_(std::move(bucket)), key_(std::move(key)), size_(size) {}
  ~S3Object() override { Drop(); }

  uint64_t Size() const override { return size_; }

  Status ReadAt(uint64_t offset, size_t n, void* buf) const override {
    if (offset > size_ || size_ - offset < n) {
      return Status::Corruption("s3://" + bucket_ + "/" + key_ + ": " + std::to_string(n) +
                                " bytes at offset " + std::to_string(offset) +
                                " run past its end (" + std::to_string(size_) + " bytes)");
    }
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      if (window_ && offset >= win_begin_ && offset + n <= win_begin_ + window_->size()) {
        std::memcpy(buf, window_->data() + (offset - win_begin_), n);
        last_end_ = offset + n;
        return Status::OK();
      }
      // Another thread is fetching the window that will hold it: wait.
      if (fetching_ && offset >= fetch_begin_ && offset + n <= fetch_end_) {
        cv_.wait(l);
        continue;
      }
      break;
    }
    // What to fetch: a small pack whole (a group-commit pack holds many
    // small objects, read again and again); a read front to back a growing
    // window; any other read its bytes only. Whatever was fetched is kept
    // (the pack is immutable), so a frame read again is not fetched again.
    uint64_t begin = offset;
    size_t len = n;
    if (size_ <= kWholePack) {
      begin = 0;
      len = static_cast<size_t>(size_);
    } else {
      const bool sequential = offset >= last_end_ && offset - last_end_ < kSequentialGap;
      next_window_ =
          sequential ? std::min(kMaxWindow, std::max(kFirstWindow, next_window_ * 2)) : 0;
      len = static_cast<size_t>(std::min<uint64_t>(std::max<size_t>(n, next_window_), size_ - offset));
    }
    last_end_ = offset + n;
    const bool keep = g_window_bytes.load(std::memory_order_relaxed) + int64_t(len) <= kWindowBudget;
    if (fetching_ || (!keep && len > n)) {
      // A window is already on its way, or the budget is spent: this read
      // alone, not kept.
      l.unlock();
      return c_->GetRange(bucket_, key_, offset, n, buf);
    }
    fetching_ = true;
    fetch_begin_ = begin;
    fetch_end_ = begin + len;
    l.unlock();
    auto w = std::make_shared<std::vector<uint8_t>>(len);
    Status s = c_->GetRange(bucket_, key_, begin, len, w->data());
    l.lock();
    fetching_ = false;
    if (s.ok()) {
      std::memcpy(buf, w->data() + (offset - begin), n);
      if (keep) {
        DropLocked();
        window_ = w;
        win_begin_ = begin;
        g_window_bytes.fetch_add(int64_t(len), std::memory_order_relaxed);
      }
    }
    cv_.notify_all();
    return s;
  }

  void ReleaseMapped() const override { Drop(); }

 private:
  void Drop() const {
    std::lock_guard<std::mutex> l(mu_);
    DropLocked();
  }
  void DropLocked() const {
    if (window_) g_window_bytes.fetch_sub(int64_t(window_->size()), std::memory_order_relaxed);
    window_.reset();
  }

  S3Client* c_;
  std::string bucket_, key_;
  uint64_t size_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable std::shared_ptr<std::vector<uint8_t>> window_;
  mutable uint64_t win_begin_ = 0, last_end_ = 0, fetch_begin_ = 0, fetch_end_ = 0;
  mutable size_t next_window_ = 0;
  mutable bool fetching_ = false;
};

class S3Sink final : public PackSink {
 public:
  S3Sink(S3Client* c, std::string bucket, std::string key, std::string where, bool small)
      : c_(c), bucket_(std::move(bucket)), key_(std::move(key)), where_(std::move(where)),
        small_(small) {
    // A part fills to its size: no growing (and copying) on the way.
    if (!small_) part_.reserve(kS3PartSize);
  }
  ~S3Sink() override { Abandon(); }

  Status Append(const void* data, size_t n) override {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
      if (!small_ && part_.size() == kS3PartSize) AS_RETURN_IF_ERROR(SendPart());
      const size_t take = small_ ? n : std::min(n, kS3PartSize - part_.size());
      part_.insert(part_.end(), p, p + take);
      p += take;
      n -= take;
    }
    return Status::OK();
  }

  // The tail is not read back: the MD5s cover every byte.
  Status Seal(std::span<const uint8_t>, uint64_t) override {
    if (upload_id_.empty()) {
      // One piece: S3 checks Content-MD5; its ETag is then the MD5 we sent.
      const Md5Bytes md5 = Md5(part_.data(), part_.size());
      AS_ASSIGN_OR_RETURN(std::string etag,
                          c_->PutObject(bucket_, key_, part_.data(), part_.size(), md5));
      if (etag != Hex(md5)) {
        c_->DeleteObject(bucket_, key_).IgnoreError();
        return Status::Corruption(where_ + ": stored ETag " + etag + ", sent MD5 " + Hex(md5));
      }
      done_ = true;
      return Status::OK();
    }
    AS_RETURN_IF_ERROR(SendPart());
    AS_RETURN_IF_ERROR(WaitPart());
    // The completed object's ETag is the MD5 of its parts' MD5s, and "-N".
    const std::vector<Md5Bytes> md5s(md5s_.begin(), md5s_.end());
    const std::string want = Hex(Md5(md5s.data(), md5s.size() * sizeof(Md5Bytes))) + "-" +
                             std::to_string(md5s.size());
    auto etag = c_->CompleteMultipartUpload(bucket_, key_, upload_id_, md5s);
    if (!etag.ok()) return etag.status();
    done_ = true;
    if (etag->empty()) {
      // RGW 16 answers the completion with an empty ETag; HEAD has it.
      auto head = c_->HeadObject(bucket_, key_);
      if (!head.ok()) return head.status().WithContext(where_);
      *etag = head->etag;
    }
    if (*etag != want) {
      c_->DeleteObject(bucket_, key_).IgnoreError();
      return Status::Corruption(where_ + ": completed ETag " + *etag + ", expected " + want +
                                " from the parts sent");
    }
    return Status::OK();
  }

  void Abandon() override {
    if (done_) return;
    done_ = true;
    WaitPart().IgnoreError();
    if (!upload_id_.empty()) c_->AbortMultipartUpload(bucket_, key_, upload_id_).IgnoreError();
  }

 private:
  // Sends part_ as the next part on a helper thread (after the previous one
  // has gone: at most two parts in memory).
  Status SendPart() {
    AS_RETURN_IF_ERROR(WaitPart());
    if (upload_id_.empty()) {
      AS_ASSIGN_OR_RETURN(upload_id_, c_->CreateMultipartUpload(bucket_, key_));
    }
    sending_ = std::move(part_);
    part_.clear();
    part_.reserve(kS3PartSize);
    const int part_no = static_cast<int>(md5s_.size()) + 1;
    md5s_.emplace_back();
    Md5Bytes* md5 = &md5s_.back();
    pending_ = std::async(std::launch::async, [this, part_no, md5]() -> Result<std::string> {
      *md5 = Md5(sending_.data(), sending_.size());
      return c_->UploadPart(bucket_, key_, upload_id_, part_no, sending_.data(), sending_.size(),
                            *md5);
    });
    return Status::OK();
  }

  Status WaitPart() {
    if (!pending_.valid()) return Status::OK();
    auto etag = pending_.get();
    if (!etag.ok()) return etag.status().WithContext(where_);
    if (*etag != Hex(md5s_.back())) {
      return Status::Corruption(where_ + ": part " + std::to_string(md5s_.size()) + " stored with ETag " +
                                *etag + ", sent MD5 " + Hex(md5s_.back()));
    }
    return Status::OK();
  }

  S3Client* c_;
  std::string bucket_, key_, where_;
  bool small_;
  std::vector<uint8_t> part_, sending_;
  std::string upload_id_;
  std::deque<Md5Bytes> md5s_;  // stable addresses: the helper writes the last
  std::future<Result<std::string>> pending_;
  bool done_ = false;
};

class S3PackStore final : public PackStore {
 public:
  S3PackStore(std::unique_ptr<S3Client> c, S3PacksUrl url)
      : c_(std::move(c)), url_(std::move(url)),
        base_(url_.prefix.empty() ? std::string() : url_.prefix + "/") {}

  std::string Describe() const override {
    return "s3://" + url_.bucket + "/" + url_.prefix + " (" + c_->url() + ")";
  }
  std::string Where(const std::string& name) const override {
    return "s3://" + url_.bucket + "/" + Key(name);
  }

  Result<std::unique_ptr<PackSink>> NewSink(const std::string& name, bool small) override {
    return std::unique_ptr<PackSink>(new S3Sink(c_.get(), url_.bucket, Key(name), Where(name), small));
  }

  Result<std::unique_ptr<RandomAccessFile>> Open(const std::string& name,
                                                 std::optional<uint64_t> size) override {
    uint64_t n = 0;
    if (size) {
      n = *size;
    } else {
      auto head = c_->HeadObject(url_.bucket, Key(name));
      if (!head.ok()) {
        if (head.status().code() == Code::kNotFound) {
          return Status::NotFound("pack " + Where(name) + " is not in the bucket");
        }
        return head.status();
      }
      n = head->size;
    }
    return std::unique_ptr<RandomAccessFile>(new S3Object(c_.get(), url_.bucket, Key(name), n));
  }

  Status Remove(const std::string& name) override { return c_->DeleteObject(url_.bucket, Key(name)); }

  Status List(std::vector<PackObject>* out) override {
    out->clear();
    const std::string prefix = base_ + "packs/";
    AS_RETURN_IF_ERROR(c_->ListObjects(url_.bucket, prefix, [&](const S3ObjectInfo& o) {
      auto name = NameOf(o.key);
      if (name.empty()) return;
      out->push_back(PackObject{name, o.size, o.mtime, true, o.key});
    }));
    return c_->ListMultipartUploads(url_.bucket, prefix, [&](const S3Upload& u) {
      auto name = NameOf(u.key);
      if (name.empty()) return;
      out->push_back(PackObject{name, 0, u.initiated, false, u.upload_id});
    });
  }

  Status RemoveLeftover(const PackObject& o) override {
    if (o.sealed) return c_->DeleteObject(url_.bucket, Key(o.name));
    return c_->AbortMultipartUpload(url_.bucket, Key(o.name), o.handle);
  }

  Status Ping() override { return c_->HeadObject(url_.bucket, base_ + "STORE").status(); }

  Status Bind(const std::string& store_uuid, bool create) {
    const std::string marker = base_ + "STORE";
    const std::string text = "artifact-store packs 1\nstore_uuid = " + store_uuid + "\n";
    if (create) {
      Status b = c_->HeadBucket(url_.bucket);
      if (b.code() == Code::kNotFound) {
        AS_RETURN_IF_ERROR(c_->CreateBucket(url_.bucket));
      } else if (!b.ok()) {
        return b;
      }
    }
    auto have = c_->GetObject(url_.bucket, marker);
    const std::string where = "s3://" + url_.bucket + "/" + marker;
    if (have.ok()) {
      if (*have == text) return Status::OK();
      const size_t at = have->find("store_uuid = ");
      std::string other = "(unreadable)";
      if (at != std::string::npos) other = have->substr(at + 13, have->find('\n', at) - at - 13);
      return Status::FailedPrecondition(where + " binds the prefix to store " + other +
                                        ", not to this store (" + store_uuid +
                                        "): give each store a prefix of its own");
    }
    if (have.status().code() != Code::kNotFound) return have.status();
    if (!create) {
      return Status::FailedPrecondition(where + " is missing: the prefix is not this store's " +
                                        "(wrong --packs, or the objects were removed)");
    }
    const Md5Bytes md5 = Md5(text.data(), text.size());
    return c_->PutObject(url_.bucket, marker, text.data(), text.size(), md5).status();
  }

 private:
  std::string Key(const std::string& name) const {
    return base_ + "packs/" + name.substr(0, 2) + "/" + name + ".pack";
  }
  // The pack name of a key under packs/, or "" for anything else.
  static std::string NameOf(const std::string& key) {
    if (!key.ends_with(".pack")) return {};
    const size_t slash = key.rfind('/');
    std::string name = key.substr(slash + 1, key.size() - slash - 1 - 5);
    if (name.size() != 32) return {};
    return name;
  }

  std::unique_ptr<S3Client> c_;
  S3PacksUrl url_;
  std::string base_;  // prefix + "/", or empty
};

}  // namespace

Result<S3PacksUrl> ParseS3PacksUrl(const std::string& url) {
  if (!url.starts_with("s3://")) {
    return Status::InvalidArgument("packs " + url + ": not an s3://bucket/prefix URL");
  }
  std::string rest = url.substr(5);
  while (rest.ends_with("/")) rest.pop_back();
  const size_t slash = rest.find('/');
  S3PacksUrl u;
  u.bucket = rest.substr(0, slash);
  if (slash != std::string::npos) u.prefix = rest.substr(slash + 1);
  if (u.bucket.size() < 3 || u.bucket.size() > 63 ||
      u.bucket.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos) {
    return Status::InvalidArgument("packs " + url + ": '" + u.bucket +
                                   "' is not a bucket name (3-63 of a-z 0-9 . -)");
  }
  if (u.prefix.find("//") != std::string::npos) {
    return Status::InvalidArgument("packs " + url + ": empty path segment in the prefix");
  }
  return u;
}

Result<std::unique_ptr<PackStore>> OpenS3PackStore(S3Endpoint endpoint, const std::string& url,
                                                   const std::string& store_uuid, bool create) {
  AS_ASSIGN_OR_RETURN(S3PacksUrl u, ParseS3PacksUrl(url));
  AS_ASSIGN_OR_RETURN(auto client, S3Client::Create(std::move(endpoint)));
  auto store = std::make_unique<S3PackStore>(std::move(client), std::move(u));
  AS_RETURN_IF_ERROR(store->Bind(store_uuid, create));
  return std::unique_ptr<PackStore>(std::move(store));
}

}  // namespace as
