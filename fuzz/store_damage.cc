// A store whose files were damaged: bytes of packs (and, when the input asks,
// of metadata.db) changed or cut off, or the database lost and rebuilt from
// the packs. This is the promise the product rests on, checked on every input:
//
//  - a get gives the artifact's exact bytes, or stops with an error; what it
//    gave before the error is a prefix of the right bytes (never a wrong
//    byte), whole or for a range;
//  - `verify --full` is truthful: when it reports the store clean, every get
//    succeeds;
//  - opening, verifying and rebuilding a damaged store fail with errors, not
//    crashes.
//
// The damage is accidental, not forged: CRCs are not recomputed (a writer
// that forges CRC-32C defeats what CRC-32C is for; the chunk digests checked
// by verify --full are the answer to that, and they are checked here too).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "artifact_store/store.h"
#include "fuzz/fuzz.h"

namespace as::fuzz {
namespace {

namespace fs = std::filesystem;

struct Template {
  std::string dir;                           // the pristine store
  std::string work;                          // each input's copy
  std::map<std::string, std::string> bytes;  // "bucket/key" -> content
  std::vector<std::string> files;            // relative: packs, then metadata.db
};

std::string Text(size_t n, uint32_t seed) {
  static const char* const kWords[] = {"store ",   "chunk ",    "pack ",  "frame ",
                                       "digest\n", "artifact ", "build ", "layer "};
  std::string s;
  while (s.size() < n) {
    seed = seed * 1103515245 + 12345;
    s += kWords[(seed >> 16) % 8];
  }
  s.resize(n);
  return s;
}

std::unique_ptr<Store> OpenOrFail(const std::string& dir, bool create) {
  StoreOptions o;
  o.create_if_missing = create;
  o.chunker = ChunkerParams{1024, 4096, 16384, 1};
  o.compress_workers = 0;
  auto s = Store::Open(dir, o);
  if (!s.ok()) FuzzFail("template store: " + s.status().ToString());
  return std::move(s).value();
}

void PutOrFail(Store* s, const std::string& name, const std::string& data, PutOptions po = {}) {
  auto n = ObjectName::Parse(name);
  if (!n.ok()) FuzzFail("name " + name);
  size_t pos = 0;
  auto r = s->Put(
      *n,
      [&](uint8_t* buf, size_t cap) -> Result<size_t> {
        size_t k = std::min(cap, data.size() - pos);
        std::memcpy(buf, data.data() + pos, k);
        pos += k;
        return k;
      },
      po);
  if (!r.ok()) FuzzFail("template put " + name + ": " + r.status().ToString());
}

// Every kind of frame the store writes: zstd, raw (incompressible), lz4,
// delta chunks (an edited copy), a chunk shared by two artifacts, an empty
// artifact, manifests.
Template* Setup() {
  auto* t = new Template;
  const char* tmp = std::getenv("TMPDIR");
  std::string base = std::string(tmp && *tmp ? tmp : "/tmp") + "/as-fuzz-damage-XXXXXX";
  if (!mkdtemp(base.data())) FuzzFail("mkdtemp " + base);
  t->dir = base + "/template";
  t->work = base + "/work";
  std::string text = Text(40000, 1), edited = text, random(9000, '\0');
  for (size_t i = 0; i < random.size(); i++) random[i] = static_cast<char>((i * 2654435761u) >> 13);
  edited.replace(20000, 5, "EDIT!");
  t->bytes = {{"b/text", text},         {"b/edited", edited}, {"b/random", random},
              {"b/lz4", Text(7000, 2)}, {"b/empty", ""},      {"b/again", text.substr(0, 12000)}};
  {
    auto s = OpenOrFail(t->dir, true);
    for (const auto& [name, data] : t->bytes) {
      PutOptions po;
      if (name == "b/lz4") po.codec = CodecId::kLz4;
      PutOrFail(s.get(), name, data, po);
    }
  }
  for (const auto& e : fs::recursive_directory_iterator(t->dir + "/packs")) {
    if (e.is_regular_file()) t->files.push_back(fs::relative(e.path(), t->dir).string());
  }
  std::sort(t->files.begin(), t->files.end());
  t->files.push_back("metadata.db");
  return t;
}

struct GetOutcome {
  Code code = Code::kOk;
  std::string error;
};

// Gets `name` (or a range of it) and checks that whatever came out is a
// prefix of the right bytes.
GetOutcome CheckedGet(Store* s, const std::string& name, const std::string& want,
                      std::optional<ByteRange> range) {
  std::string expect = want;
  if (range) {
    uint64_t last = std::min<uint64_t>(range->last.value_or(want.size() - 1), want.size() - 1);
    expect = want.substr(range->first, last - range->first + 1);
  }
  std::string got;
  Status st = s->Get(
      kDefaultTenant, name,
      [&](const uint8_t* d, size_t n) {
        got.append(reinterpret_cast<const char*>(d), n);
        return Status::OK();
      },
      range);
  if (got.size() > expect.size() || expect.compare(0, got.size(), got) != 0) {
    size_t at = 0;
    while (at < got.size() && at < expect.size() && got[at] == expect[at]) at++;
    FuzzFail("get " + name + " gave a wrong byte at offset " + std::to_string(at) + " (" +
             std::to_string(got.size()) + " bytes out, status " + st.ToString() + ")");
  }
  if (st.ok() && got.size() != expect.size()) {
    FuzzFail("get " + name + " succeeded short: " + std::to_string(got.size()) + " of " +
             std::to_string(expect.size()) + " bytes");
  }
  return {st.code(), st.ok() ? "" : st.ToString()};
}

void Damage(const Template& t, FuzzInput& in, bool db_too) {
  const size_t nfiles = db_too ? t.files.size() : t.files.size() - 1;
  for (int i = 0; i < 8 && !in.empty(); i++) {
    const uint8_t op = in.Byte();
    const std::string path = t.work + "/" + t.files[op % nfiles];
    const uint64_t at = in.Int(3);
    const uint8_t x = in.Byte() | 1;
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    if (ec || size == 0) continue;
    if ((op >> 5) == 7) {  // 1 in 8: cut the file short
      fs::resize_file(path, at % size, ec);
      continue;
    }
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at % size));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(at % size));
    f.put(static_cast<char>(c ^ x));
  }
}

}  // namespace

// Input: flags (1: lose metadata.db and rebuild it with Reindex; 2: damage
// metadata.db too), a range start, then up to 8 damage records (file
// selector/op byte, 3-byte offset, xor byte).
void FuzzStoreDamage(const uint8_t* data, size_t size) {
  static Template* t = Setup();
  FuzzInput in(data, size);
  const uint8_t flags = in.Byte();
  const uint64_t range_first = in.Int(2);
  std::error_code ec;
  fs::remove_all(t->work, ec);
  fs::copy(t->dir, t->work, fs::copy_options::recursive, ec);
  if (ec) FuzzFail("copy template: " + ec.message());
  Damage(*t, in, flags & 2);

  std::unique_ptr<Store> s;
  if (flags & 1) {
    for (const char* f : {"/metadata.db", "/metadata.db-wal", "/metadata.db-shm"}) {
      fs::remove(t->work + f, ec);
    }
    StoreOptions o;
    o.recreate_missing_metadata = true;
    o.compress_workers = 0;
    auto opened = Store::Open(t->work, o);
    if (!opened.ok()) return;
    s = std::move(opened).value();
    if (!s->Reindex().ok()) return;
  } else {
    StoreOptions o;
    o.compress_workers = 0;
    auto opened = Store::Open(t->work, o);
    if (!opened.ok()) return;
    s = std::move(opened).value();
  }

  std::vector<std::string> failed;
  for (const auto& [name, want] : t->bytes) {
    GetOutcome whole = CheckedGet(s.get(), name, want, std::nullopt);
    // With the database damaged or rebuilt a name may be gone (its row, or
    // its manifest's pack, lost), which verify cannot know was there.
    const bool gone = whole.code == Code::kNotFound && (flags & 3);
    if (whole.code != Code::kOk && !gone) failed.push_back(name + ": " + whole.error);
    if (!want.empty()) {
      ByteRange r{range_first % want.size(), std::nullopt};
      if (flags & 4) r.last = r.first + (range_first >> 4) % 5000;
      (void)CheckedGet(s.get(), name, want, r);
    }
  }
  auto report = s->Verify(true);
  if (std::getenv("AS_FUZZ_VERBOSE")) {
    std::fprintf(stderr, "damage: %zu files, %zu gets failed%s%s; verify: %s\n", t->files.size(),
                 failed.size(),
                 failed.empty() ? "" : ", first: ", failed.empty() ? "" : failed.front().c_str(),
                 !report.ok()   ? report.status().ToString().c_str()
                 : report->ok() ? "clean"
                                : "damage found");
  }
  if (report.ok() && report->ok() && !failed.empty()) {
    FuzzFail("verify --full reports a clean store, yet get " + failed.front());
  }
}

}  // namespace as::fuzz
