#include "store/filter_file.h"

#include <algorithm>
#include <cstring>
#include <cstdio>

#include "base/test_pause.h"
#include "hash/blake3.h"

namespace as {

namespace {

constexpr size_t kHeader = 64;
constexpr char kBaseMagic[8] = {'A', 'S', 'F', 'I', 'L', 'T', 'B', '1'};
constexpr char kLogMagic[8] = {'A', 'S', 'F', 'I', 'L', 'T', 'L', '1'};
// Host-order fields; a host of the other byte order reads a wrong value
// here and rebuilds.
constexpr uint32_t kOrder = 0x01020304;
constexpr size_t kReadStep = 8 << 20;

// Header layout (both kinds): magic[8], uuid_hash, a, b, c (u64 each: base:
// gen, buckets, keys; log: from, to, keys), u32 slots-or-0, u32 body crc,
// u32 order, 8 spare bytes, u32 header crc over bytes [0, 60).
struct Header {
  char magic[8];
  uint64_t uuid_hash, a, b, c;
  uint32_t slots, body_crc, order;
};

std::vector<uint8_t> Encode(const Header& h, const KernelTable* k) {
  std::vector<uint8_t> out(kHeader, 0);
  std::memcpy(out.data(), h.magic, 8);
  std::memcpy(out.data() + 8, &h.uuid_hash, 8);
  std::memcpy(out.data() + 16, &h.a, 8);
  std::memcpy(out.data() + 24, &h.b, 8);
  std::memcpy(out.data() + 32, &h.c, 8);
  std::memcpy(out.data() + 40, &h.slots, 4);
  std::memcpy(out.data() + 44, &h.body_crc, 4);
  std::memcpy(out.data() + 48, &h.order, 4);
  const uint32_t crc = k->crc32c(0, out.data(), 60);
  std::memcpy(out.data() + 60, &crc, 4);
  return out;
}

bool Decode(const uint8_t* p, const char (&magic)[8], uint64_t uuid_hash, const KernelTable* k,
            Header* h) {
  uint32_t crc;
  std::memcpy(&crc, p + 60, 4);
  if (crc != k->crc32c(0, p, 60) || std::memcmp(p, magic, 8) != 0) return false;
  std::memcpy(h->magic, p, 8);
  std::memcpy(&h->uuid_hash, p + 8, 8);
  std::memcpy(&h->a, p + 16, 8);
  std::memcpy(&h->b, p + 24, 8);
  std::memcpy(&h->c, p + 32, 8);
  std::memcpy(&h->slots, p + 40, 4);
  std::memcpy(&h->body_crc, p + 44, 4);
  std::memcpy(&h->order, p + 48, 4);
  return h->order == kOrder && h->uuid_hash == uuid_hash;
}

// A filter file, open, with its header read and checked.
struct Opened {
  std::unique_ptr<RandomAccessFile> f;
  Header h;
};

Result<Opened> Open(Env* env, const std::string& path, const char (&magic)[8],
                    uint64_t uuid_hash, const KernelTable* k) {
  Opened o;
  AS_ASSIGN_OR_RETURN(o.f, env->NewRandomAccessFile(path));
  uint8_t buf[kHeader];
  if (o.f->Size() < kHeader) return Status::Corruption(path + " is shorter than its header");
  AS_RETURN_IF_ERROR(o.f->ReadAt(0, kHeader, buf));
  if (!Decode(buf, magic, uuid_hash, k, &o.h)) {
    return Status::Corruption(path + ": header fails its checksum or names another store");
  }
  return o;
}

}  // namespace

FilterFiles::FilterFiles(Env* env, std::string store_dir, const std::string& uuid,
                         const KernelTable* k)
    : env_(env), dir_(std::move(store_dir) + "/filter"), k_(k) {
  uuid_hash_ = Blake3(uuid.data(), uuid.size()).Prefix64();
}

std::string FilterFiles::LogName(uint64_t from) const {
  char name[32];
  std::snprintf(name, sizeof name, "log-%016llx", static_cast<unsigned long long>(from));
  return dir_ + "/" + name;
}

FilterFiles::Chain FilterFiles::ReadChain() {
  Chain c;
  auto base = Open(env_, dir_ + "/base", kBaseMagic, uuid_hash_, k_);
  if (!base.ok() || base->h.slots != KeyTable::kSlots ||
      base->f->Size() != kHeader + base->h.b * sizeof(KeyTable::Bucket)) {
    return c;
  }
  c.base = true;
  c.base_gen = c.end = base->h.a;
  c.base_buckets = base->h.b;
  c.base_keys = base->h.c;
  // Each log names the generation it starts from: follow them. A log that
  // does not chain (left by a run whose stamp the metadata never reached)
  // is simply not followed.
  for (size_t guard = 0; guard < 1'000'000; guard++) {
    const std::string name = LogName(c.end);
    if (!env_->FileExists(name)) break;
    auto log = Open(env_, name, kLogMagic, uuid_hash_, k_);
    if (!log.ok()) break;
    const Header& h = log->h;
    if (h.a != c.end || log->f->Size() != kHeader + h.c * 8 || h.b == h.a) break;
    c.logs.push_back(name);
    c.log_keys += h.c;
    c.end = h.b;
  }
  return c;
}

Result<KeyTable> FilterFiles::Load(const Chain& chain, const std::atomic<bool>& stop) {
  const std::string base = dir_ + "/base";
  if (!chain.base) return Status::NotFound(base + " is missing or unsound");
  AS_ASSIGN_OR_RETURN(Opened b, Open(env_, base, kBaseMagic, uuid_hash_, k_));
  const Header& h = b.h;
  const auto& f = b.f;
  if (h.a != chain.base_gen || h.b != chain.base_buckets ||
      f->Size() != kHeader + h.b * sizeof(KeyTable::Bucket)) {
    return Status::Corruption(base + " changed while it was read");
  }
  f->AdviseSequential();
  std::vector<KeyTable::Bucket> buckets(h.b);
  uint8_t* p = reinterpret_cast<uint8_t*>(buckets.data());
  const size_t len = buckets.size() * sizeof(KeyTable::Bucket);
  uint32_t crc = 0;
  for (size_t at = 0; at < len; at += kReadStep) {
    if (stop.load(std::memory_order_relaxed)) return Status::Busy("filter load stopped");
    const size_t n = std::min(kReadStep, len - at);
    AS_RETURN_IF_ERROR(f->ReadAt(kHeader + at, n, p + at));
    crc = k_->crc32c(crc, p + at, n);
  }
  if (crc != h.body_crc) return Status::Corruption(base + ": table fails its checksum");
  KeyTable t;
  if (!t.Adopt(std::move(buckets), h.c)) {
    return Status::Corruption(base + ": table does not hold what its header says");
  }
  std::vector<uint64_t> keys;
  for (const std::string& name : chain.logs) {
    if (stop.load(std::memory_order_relaxed)) return Status::Busy("filter load stopped");
    AS_ASSIGN_OR_RETURN(Opened log, Open(env_, name, kLogMagic, uuid_hash_, k_));
    if (log.f->Size() != kHeader + log.h.c * 8) {
      return Status::Corruption(name + " changed while it was read");
    }
    keys.resize(log.h.c);
    AS_RETURN_IF_ERROR(log.f->ReadAt(kHeader, keys.size() * 8, keys.data()));
    if (k_->crc32c(0, reinterpret_cast<const uint8_t*>(keys.data()), keys.size() * 8) !=
        log.h.body_crc) {
      return Status::Corruption(name + ": keys fail their checksum");
    }
    for (uint64_t key : keys) t.Insert(key);
  }
  return t;
}

Status FilterFiles::WriteWhole(const std::string& path, const std::vector<uint8_t>& header,
                               const void* body, size_t body_len) {
  AS_RETURN_IF_ERROR(env_->CreateDirIfMissing(dir_));
  const std::string tmp = path + ".tmp";
  {
    AS_ASSIGN_OR_RETURN(auto f, env_->NewWritableFile(tmp));
    AS_RETURN_IF_ERROR(f->Append(header.data(), header.size()));
    if (body_len) AS_RETURN_IF_ERROR(f->Append(body, body_len));
    AS_RETURN_IF_ERROR(f->Sync());
    AS_RETURN_IF_ERROR(f->Close());
  }
  TestPause("filter-write");  // tests/cli/crash_test.sh kills a process here
  AS_RETURN_IF_ERROR(env_->RenameFile(tmp, path));
  return env_->SyncDir(dir_);
}

Status FilterFiles::AppendLog(uint64_t from, uint64_t to, const std::vector<uint64_t>& keys) {
  Header h{};
  std::memcpy(h.magic, kLogMagic, 8);
  h.uuid_hash = uuid_hash_;
  h.a = from;
  h.b = to;
  h.c = keys.size();
  h.body_crc = k_->crc32c(0, reinterpret_cast<const uint8_t*>(keys.data()), keys.size() * 8);
  h.order = kOrder;
  return WriteWhole(LogName(from), Encode(h, k_), keys.data(), keys.size() * 8);
}

Status FilterFiles::WriteBase(uint64_t gen, const KeyTable& table) {
  Header h{};
  std::memcpy(h.magic, kBaseMagic, 8);
  h.uuid_hash = uuid_hash_;
  h.a = gen;
  h.b = table.buckets();
  h.c = table.size();
  h.slots = KeyTable::kSlots;
  h.body_crc = k_->crc32c(0, reinterpret_cast<const uint8_t*>(table.data()), table.bytes());
  h.order = kOrder;
  AS_RETURN_IF_ERROR(WriteWhole(dir_ + "/base", Encode(h, k_), table.data(), table.bytes()));
  // The logs' keys are all in the new base; a crash before they are gone
  // leaves logs that no longer chain from it, removed next time.
  std::vector<std::string> names;
  if (env_->GetChildren(dir_, &names).ok()) {
    for (const std::string& n : names) {
      if (n != "base") (void)env_->RemoveFile(dir_ + "/" + n);  // a stray costs nothing
    }
  }
  return Status::OK();
}

Status FilterFiles::RemoveAll() {
  std::vector<std::string> names;
  if (!env_->GetChildren(dir_, &names).ok()) return Status::OK();
  for (const std::string& n : names) {
    AS_RETURN_IF_ERROR(env_->RemoveFile(dir_ + "/" + n));
  }
  return Status::OK();
}

}  // namespace as
