// The embedded store end to end: put/get/stat, dedup, compression, remove/gc,
// verify, reindex, locking, concurrency and crash safety (with FaultEnv).
#include "artifact_store/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fault_env.h"
#include "hash/blake3.h"
#include "kernels/cpu.h"
#include "pack/pack.h"
#include "test_util.h"
#include "store_fixture.h"

namespace as {
namespace {

namespace fs = std::filesystem;
using as::testing::FaultEnv;
using as::testing::RandomBytes;
using Bytes = std::vector<uint8_t>;

uint64_t Seed() {
  static const uint64_t seed = [] {
    const char* env = std::getenv("AS_TEST_SEED");
    uint64_t s = env && *env ? std::strtoull(env, nullptr, 0)
                             : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    std::printf("[store_tests] seed %llu (replay with AS_TEST_SEED=%llu)\n",
                static_cast<unsigned long long>(s), static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

// Hands out `data` in reads of random size (1 .. cap).
ByteSource SourceOf(const Bytes& data, uint64_t seed) {
  auto pos = std::make_shared<size_t>(0);
  auto rng = std::make_shared<std::mt19937_64>(seed);
  return [&data, pos, rng](uint8_t* buf, size_t cap) -> Result<size_t> {
    size_t left = data.size() - *pos;
    if (left == 0) return size_t{0};
    size_t n = std::min<size_t>({left, cap, (*rng)() % 70000 + 1});
    std::memcpy(buf, data.data() + *pos, n);
    *pos += n;
    return n;
  };
}

// Text-like, highly compressible bytes.
Bytes Compressible(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out;
  out.reserve(n);
  while (out.size() < n) {
    std::string line = "line " + std::to_string(rng() % 1000) + ": the quick brown fox " +
                       std::to_string(rng() % 7) + " jumps over the lazy dog\n";
    out.insert(out.end(), line.begin(), line.end());
  }
  out.resize(n);
  return out;
}

StoreOptions SmallOptions(Env* env = nullptr) {
  StoreOptions o;
  o.create_if_missing = true;
  o.chunker = ChunkerParams{1024, 4096, 16384, 1};
  o.pack_target_size = 256 << 10;
  o.env = env;
  return o;
}

// All .pack (and, with tmp, .tmp) files under <dir>/packs.
std::vector<std::string> PackFiles(const std::string& dir, bool tmp = false) {
  std::vector<std::string> out;
  if (!fs::exists(dir + "/packs")) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir + "/packs")) {
    if (!e.is_regular_file()) continue;
    std::string p = e.path().string();
    bool is_pack = p.size() > 5 && p.compare(p.size() - 5, 5, ".pack") == 0;
    bool is_tmp = p.size() > 4 && p.compare(p.size() - 4, 4, ".tmp") == 0;
    if (is_pack || (tmp && is_tmp)) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string PackNameOf(const std::string& path) {
  std::string f = fs::path(path).filename().string();
  return f.substr(0, f.find('.'));
}

ObjectName Name(const std::string& text) {
  auto n = ObjectName::Parse(text);
  EXPECT_TRUE(n.ok()) << text;
  return n.ok() ? n.value() : ObjectName{};
}

struct GetOut {
  Status status;
  Bytes bytes;
};

// Collects what the sink is given; refuses more than `limit` bytes in all (a
// wrong range must not make the test itself overrun memory).
GetOut GetBytes(Store* s, const std::string& ref, std::optional<ByteRange> range = std::nullopt,
                uint64_t limit = 64ull << 20, const std::string& tenant = kDefaultTenant) {
  GetOut out;
  out.status = s->Get(
      tenant, ref,
      [&](const uint8_t* p, size_t n) -> Status {
        if (n > limit || out.bytes.size() + n > limit) {
          return Status::Internal("sink was handed " + std::to_string(n) + " bytes, more than " +
                                  std::to_string(limit));
        }
        out.bytes.insert(out.bytes.end(), p, p + n);
        return Status::OK();
      },
      range);
  return out;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = Seed();
    dir_ = as::testing::TempDir("store");
    ASSERT_FALSE(dir_.empty());
    dir_ += "/s";  // let Open create it
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(fs::path(dir_).parent_path(), ec);
  }
  // FaultEnv tests: the store directory itself is made outside the Env, as an
  // operator's mkdir would be (its own durability is not what is tested).
  // With pack_subdirs, also packs/00..ff, durable from the start (then the
  // store never makes a new subdirectory).
  void MakeDir(bool pack_subdirs = false) {
    fs::create_directories(dir_);
    if (!pack_subdirs) return;
    static const char* kHex = "0123456789abcdef";
    for (int i = 0; i < 256; i++) {
      fs::create_directories(dir_ + "/packs/" + kHex[i >> 4] + kHex[i & 15]);
    }
  }
  void Open(Env* env = nullptr, StoreOptions o = SmallOptions()) {
    store_.reset();
    o.env = env;
    auto s = as::testing::OpenStore(dir_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  PutResult Put(const std::string& name, const Bytes& data, std::optional<CodecId> codec = {}) {
    auto n = ObjectName::Parse(name);
    EXPECT_TRUE(n.ok());
    PutOptions po;
    po.codec = codec;
    auto r = store_->Put(*n, SourceOf(data, seed_ ^ data.size()), po);
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    return r.ok() ? *r : PutResult{};
  }
  void ExpectReads(const std::string& ref, const Bytes& want) {
    GetOut g = GetBytes(store_.get(), ref);
    ASSERT_TRUE(g.status.ok()) << ref << ": " << g.status.ToString();
    EXPECT_TRUE(g.bytes == want) << ref << ": got " << g.bytes.size() << " bytes, want "
                                 << want.size();
  }
  void ExpectVerifyClean(bool full) {
    auto v = store_->Verify(full);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    for (const BadFrame& b : v->bad) ADD_FAILURE() << "bad frame " << b.pack << "@" << b.offset << ": " << b.problem;
    for (const std::string& p : v->problems) ADD_FAILURE() << "problem: " << p;
    EXPECT_TRUE(v->ok());
  }

  uint64_t seed_ = 0;
  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, PutGetStatRanges) {
  Open();
  const Bytes data = RandomBytes(3 << 20, seed_);
  PutResult r = Put("builds/app.tar", data);
  EXPECT_EQ(r.content, Blake3(data.data(), data.size()));
  EXPECT_EQ(r.size, data.size());
  EXPECT_GT(r.chunks, 3u * 1024 * 1024 / 16384);
  EXPECT_EQ(r.new_chunks, r.chunks);
  EXPECT_EQ(r.new_bytes, data.size());
  EXPECT_GE(r.stored_bytes, data.size());  // random: stored raw, plus frame overhead
  EXPECT_NE(r.manifest, r.content);

  ExpectReads("builds/app.tar", data);
  ExpectReads(r.content.ToString(), data);
  ExpectReads(r.manifest.ToString(), data);

  const uint64_t n = data.size();
  auto check_range = [&](uint64_t first, std::optional<uint64_t> last) {
    SCOPED_TRACE(std::to_string(first) + "-" + (last ? std::to_string(*last) : ""));
    GetOut g = GetBytes(store_.get(), "builds/app.tar", ByteRange{first, last});
    ASSERT_TRUE(g.status.ok()) << g.status.ToString();
    uint64_t end = last ? std::min(*last + 1, n) : n;
    ASSERT_EQ(g.bytes.size(), end - first);
    EXPECT_TRUE(std::equal(g.bytes.begin(), g.bytes.end(), data.begin() + first));
  };
  check_range(0, 0);                  // first byte
  check_range(n - 1, n - 1);          // last byte
  check_range(n - 1, std::nullopt);   // "N-" at the very end
  check_range(12345, std::nullopt);   // open range
  check_range(0, std::nullopt);
  check_range(777777, 777777);        // single byte inside
  check_range(100, n + 1000);         // last past the end is clamped
  std::mt19937_64 rng(seed_);
  for (int i = 0; i < 25; i++) {      // spans of up to ~20 chunks: many boundaries
    uint64_t first = rng() % n;
    uint64_t len = rng() % 80000;
    check_range(first, std::min(first + len, n - 1));
  }
  auto parsed = ByteRange::Parse("100-");
  ASSERT_TRUE(parsed.ok());
  check_range(parsed->first, parsed->last);
  EXPECT_FALSE(ByteRange::Parse("9-3").ok());

  GetOut past = GetBytes(store_.get(), "builds/app.tar", ByteRange{n, std::nullopt});
  EXPECT_EQ(past.status.code(), Code::kInvalidArgument) << past.status.ToString();
  past = GetBytes(store_.get(), "builds/app.tar", ByteRange{n + 5, n + 10});
  EXPECT_EQ(past.status.code(), Code::kInvalidArgument);

  auto st = store_->Stat(kDefaultTenant, "builds/app.tar");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->size, n);
  EXPECT_EQ(st->chunks, r.chunks);
  EXPECT_EQ(st->content, r.content);
  EXPECT_EQ(st->manifest, r.manifest);
  ASSERT_TRUE(st->name.has_value());
  EXPECT_EQ(st->name->ToString(), "builds/app.tar");
  EXPECT_EQ(st->version, 1u);
  EXPECT_EQ(st->chunker.min_size, 1024u);
  EXPECT_EQ(st->chunker.avg_size, 4096u);
  EXPECT_EQ(st->chunker.max_size, 16384u);
  EXPECT_EQ(st->chunker.normalization, 1);
  EXPECT_EQ(st->chunker_name, "fastcdc2020");
  EXPECT_FALSE(st->gear_table.empty());
  EXPECT_GE(st->stored_bytes, n);
  auto st2 = store_->Stat(kDefaultTenant, r.content.ToString());
  ASSERT_TRUE(st2.ok());
  EXPECT_EQ(st2->size, n);

  EXPECT_EQ(GetBytes(store_.get(), "builds/nope").status.code(), Code::kNotFound);
  EXPECT_EQ(GetBytes(store_.get(), Blake3("x", 1).ToString()).status.code(), Code::kNotFound);
  EXPECT_EQ(store_->Stat(kDefaultTenant, "builds/nope").status().code(), Code::kNotFound);

  // Rebinding the name bumps its version.
  Put("builds/app.tar", RandomBytes(5000, seed_ + 1));
  auto st3 = store_->Stat(kDefaultTenant, "builds/app.tar");
  ASSERT_TRUE(st3.ok());
  EXPECT_EQ(st3->version, 2u);
  EXPECT_EQ(st3->size, 5000u);
  auto list = store_->List(kDefaultTenant, "builds/");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].size, 5000u);
}

// Regression (fixed in d6469c7): a ByteRange with
// last < first (built directly, not through ByteRange::Parse) is not rejected;
// `hi - lo` underflows and the sink is handed a pointer with a length near
// 2^64 (an out-of-bounds read).
// The reserve is made at open when asked for, whole or not at all, and Space
// reports it with the file system's size and free bytes; without the option
// there is none.
TEST_F(StoreTest, ReserveIsKeptAndReported) {
  MakeDir();
  StoreOptions o = SmallOptions();
  o.reserve_bytes = (1 << 20) + 123;
  ASSERT_NO_FATAL_FAILURE(Open(nullptr, o));
  auto sp = store_->Space();
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  EXPECT_EQ(sp->reserve_bytes, (1u << 20) + 123);
  EXPECT_EQ(fs::file_size(dir_ + "/RESERVE"), (1u << 20) + 123);
  EXPECT_FALSE(fs::exists(dir_ + "/RESERVE.tmp"));
  EXPECT_GT(sp->fs_size_bytes, 0u);
  EXPECT_LE(sp->fs_free_bytes, sp->fs_size_bytes);

  fs::remove(dir_ + "/RESERVE");  // as if spent, with room free: made again at open
  ASSERT_NO_FATAL_FAILURE(Open(nullptr, o));
  EXPECT_EQ(fs::file_size(dir_ + "/RESERVE"), (1u << 20) + 123);

  o.reserve_bytes = 3 << 20;  // the setting changed: replaced, with room free
  ASSERT_NO_FATAL_FAILURE(Open(nullptr, o));
  EXPECT_EQ(fs::file_size(dir_ + "/RESERVE"), 3u << 20);
  o.reserve_bytes = 1 << 20;
  ASSERT_NO_FATAL_FAILURE(Open(nullptr, o));
  EXPECT_EQ(fs::file_size(dir_ + "/RESERVE"), 1u << 20);
  EXPECT_FALSE(fs::exists(dir_ + "/RESERVE.tmp"));

  ASSERT_NO_FATAL_FAILURE(Open(nullptr, SmallOptions()));
  EXPECT_EQ(fs::file_size(dir_ + "/RESERVE"), 1u << 20) << "left alone without the option";
  fs::remove(dir_ + "/RESERVE");
  sp = store_->Space();
  ASSERT_TRUE(sp.ok());
  EXPECT_EQ(sp->reserve_bytes, 0u) << "none kept without the option";
}

TEST_F(StoreTest, Bug_InvertedRangeIsInvalidArgument) {
  Open();
  const Bytes data = RandomBytes(100000, seed_);
  Put("b/k", data);
  GetOut g = GetBytes(store_.get(), "b/k", ByteRange{5000, 10}, data.size());
  EXPECT_EQ(g.status.code(), Code::kInvalidArgument) << g.status.ToString();
  EXPECT_TRUE(g.bytes.empty());
}

TEST_F(StoreTest, Dedup) {
  Open();
  const Bytes data = RandomBytes(2 << 20, seed_);
  PutResult a = Put("b/one", data);
  PutResult b = Put("b/two", data);
  EXPECT_EQ(b.content, a.content);
  EXPECT_EQ(b.chunks, a.chunks);
  EXPECT_EQ(b.new_chunks, 0u);
  EXPECT_EQ(b.new_bytes, 0u);
  EXPECT_LT(b.stored_bytes, 64u << 10);  // just the manifest

  Bytes edited = data;
  for (size_t i = 0; i < 100; i++) edited[data.size() / 2 + i] ^= 0x5a;
  PutResult c = Put("b/three", edited);
  EXPECT_GT(c.new_chunks, 0u);
  EXPECT_LT(c.new_chunks, 8u);
  EXPECT_LT(c.new_bytes, data.size() / 20);
  ExpectReads("b/one", data);
  ExpectReads("b/two", data);
  ExpectReads("b/three", edited);

  // A file that repeats itself dedups against itself.
  Bytes twice = RandomBytes(300000, seed_ + 9);
  twice.insert(twice.end(), twice.begin(), twice.end());
  PutResult d = Put("b/twice", twice);
  EXPECT_LT(d.new_bytes, twice.size() * 6 / 10);
  ExpectReads("b/twice", twice);

  auto stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->names, 4u);
  EXPECT_EQ(stats->logical_bytes, 3 * data.size() + twice.size());
  EXPECT_EQ(stats->unique_bytes, a.new_bytes + c.new_bytes + d.new_bytes);
  EXPECT_GT(stats->dedup_ratio(), 2.5);
  EXPECT_GT(stats->packs, 0u);
  EXPECT_GE(stats->pack_bytes, stats->stored_bytes);
  ExpectVerifyClean(true);
}

TEST_F(StoreTest, Compression) {
  Open();
  struct Case {
    std::string name;
    std::optional<CodecId> codec;
    Bytes data;
    bool compressible;
  };
  std::vector<Case> cases = {
      {"c/zstd", CodecId::kZstd, Compressible(1 << 20, seed_), true},
      {"c/lz4", CodecId::kLz4, Compressible(1 << 20, seed_ + 1), true},
      {"c/default", std::nullopt, Compressible(1 << 20, seed_ + 2), true},  // zstd
      {"c/none", CodecId::kNone, Compressible(1 << 20, seed_ + 3), false},
      {"c/random-zstd", CodecId::kZstd, RandomBytes(1 << 20, seed_ + 4), false},
      {"c/random-lz4", CodecId::kLz4, RandomBytes(1 << 20, seed_ + 5), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    PutResult r = Put(c.name, c.data, c.codec);
    EXPECT_GT(r.new_chunks, 0u);
    if (c.compressible) {
      EXPECT_LT(r.stored_bytes, r.new_bytes / 2);
    } else {
      EXPECT_GE(r.stored_bytes, r.new_bytes);  // stored raw: payload + frame overhead
    }
    auto st = store_->Stat(kDefaultTenant, c.name);
    ASSERT_TRUE(st.ok());
    if (c.compressible) {
      EXPECT_LT(st->stored_bytes, st->size);
    } else {
      EXPECT_GE(st->stored_bytes, st->size);
    }
  }
  for (const Case& c : cases) ExpectReads(c.name, c.data);
  auto stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GT(stats->compression_ratio(), 1.0);
  ExpectVerifyClean(true);
}

TEST_F(StoreTest, EmptyArtifact) {
  Open();
  const Bytes empty;
  PutResult r = Put("e/empty", empty);
  EXPECT_EQ(r.size, 0u);
  EXPECT_EQ(r.chunks, 0u);
  EXPECT_EQ(r.content, Blake3("", 0));
  ExpectReads("e/empty", empty);
  ExpectReads(r.content.ToString(), empty);
  GetOut g = GetBytes(store_.get(), "e/empty", ByteRange{0, std::nullopt});
  EXPECT_TRUE(g.status.ok()) << g.status.ToString();
  EXPECT_TRUE(g.bytes.empty());
  EXPECT_EQ(GetBytes(store_.get(), "e/empty", ByteRange{0, 0}).status.code(),
            Code::kInvalidArgument);
  auto st = store_->Stat(kDefaultTenant, "e/empty");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->size, 0u);
  EXPECT_EQ(st->chunks, 0u);
  EXPECT_EQ(st->stored_bytes, 0u);
  ExpectVerifyClean(true);
}

TEST_F(StoreTest, RemoveGcDryRunAndReclaim) {
  AS_SKIP_UNLESS_LOCAL_PACKS();
  Open();
  const Bytes a = RandomBytes(1 << 20, seed_);
  const Bytes b = RandomBytes(1 << 20, seed_ + 1);
  // c shares its first half with a, so some of a's packs stay partly live.
  Bytes c(a.begin(), a.begin() + a.size() / 2);
  Bytes c2 = RandomBytes(300000, seed_ + 2);
  c.insert(c.end(), c2.begin(), c2.end());
  PutResult pa = Put("g/a", a);
  Put("g/b", b);
  Put("g/c", c);

  ASSERT_TRUE(store_->Remove(Name("g/a")).ok());
  EXPECT_EQ(GetBytes(store_.get(), "g/a").status.code(), Code::kNotFound);
  EXPECT_EQ(GetBytes(store_.get(), pa.content.ToString()).status.code(), Code::kNotFound);
  EXPECT_EQ(store_->Remove(Name("g/a")).code(), Code::kNotFound);

  auto before = store_->Stats();
  ASSERT_TRUE(before.ok());
  const auto files_before = PackFiles(dir_, true);

  GcOptions dry;
  dry.dry_run = true;
  dry.grace_seconds = 0;
  auto d = store_->Gc(dry);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->dry_run);
  EXPECT_GT(d->bytes_reclaimed, 0u);
  EXPECT_GT(d->dead_chunks, 0u);
  EXPECT_EQ(PackFiles(dir_, true), files_before);
  auto mid = store_->Stats();
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->packs, before->packs);
  EXPECT_EQ(mid->unique_chunks, before->unique_chunks);
  EXPECT_EQ(mid->pack_bytes, before->pack_bytes);

  GcOptions real;
  real.grace_seconds = 0;
  auto g = store_->Gc(real);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_FALSE(g->dry_run);
  EXPECT_GT(g->bytes_reclaimed, 0u);
  EXPECT_GT(g->packs_deleted + g->packs_rewritten, 0u);
  EXPECT_EQ(g->dead_chunks, d->dead_chunks);
  auto after = store_->Stats();
  ASSERT_TRUE(after.ok());
  EXPECT_LT(after->pack_bytes, before->pack_bytes);
  EXPECT_LT(after->unique_chunks, before->unique_chunks);
  EXPECT_EQ(after->logical_bytes, b.size() + c.size());
  EXPECT_EQ(PackFiles(dir_).size(), after->packs);
  EXPECT_TRUE(PackFiles(dir_, true).size() == PackFiles(dir_).size()) << "stray .tmp files";

  ExpectReads("g/b", b);
  ExpectReads("g/c", c);
  ExpectVerifyClean(true);

  // Nothing left to collect; a second gc is a no-op for the live data.
  auto g2 = store_->Gc(real);
  ASSERT_TRUE(g2.ok());
  EXPECT_EQ(g2->dead_chunks, 0u);
  ExpectReads("g/b", b);
  ExpectReads("g/c", c);
  // And putting a's bytes again works (nothing stale in the dedup filter).
  Put("g/a", a);
  ExpectReads("g/a", a);
  ExpectVerifyClean(true);
}

class StoreCorruptionTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    AS_SKIP_UNLESS_LOCAL_PACKS();  // damages pack files (rgw_faults_test.sh: objects)
  }
  // Puts x (alone in its packs) and then y; returns x's pack files.
  void Build() {
    Open();
    x_ = RandomBytes(1 << 20, seed_);
    y_ = RandomBytes(600000, seed_ + 1);
    Put("b/x", x_);
    x_packs_ = PackFiles(dir_);
    ASSERT_GE(x_packs_.size(), 3u);
    // Biggest first: those hold many chunks.
    std::stable_sort(x_packs_.begin(), x_packs_.end(), [](const auto& a, const auto& b) {
      return fs::file_size(a) > fs::file_size(b);
    });
    Put("b/y", y_);
  }
  // A chunk frame in the middle of x's first pack, and its raw bytes.
  void PickChunk(std::string* pack, FooterEntry* entry, Bytes* raw) {
    KernelTable k = MakeKernelTable(DetectCpu());
    *pack = x_packs_[0];
    auto r = PackReader::OpenFile(Env::Default(), &k, *pack);
    ASSERT_TRUE(r.ok());
    auto footer = (*r)->ReadFooter();
    ASSERT_TRUE(footer.ok());
    std::vector<FooterEntry> chunks;
    for (const auto& e : footer->entries) {
      if (e.type == format::RecordType::kChunk) chunks.push_back(e);
    }
    ASSERT_GE(chunks.size(), 3u);
    *entry = chunks[chunks.size() / 2];
    std::vector<uint8_t> frame;
    auto info = (*r)->ReadFrame(entry->offset, entry->frame_len, &frame);
    ASSERT_TRUE(info.ok());
    raw->resize(info->raw_len);
    ASSERT_TRUE(DecodeFramePayload(*info, frame.data() + format::kFrameHeaderSize, raw->data()).ok());
  }
  // Every bad frame breaks b/x at most, and b/x is named. (When the pack that
  // lost frames also held x's manifest, Verify cannot tell which names use the
  // lost chunks, so only the manifest's frame names b/x.)
  static void ExpectOnlyXBroken(const VerifyReport& v) {
    std::set<std::string> all;
    for (const BadFrame& b : v.bad) {
      for (const std::string& n : b.broken_names) all.insert(n);
    }
    EXPECT_EQ(all, std::set<std::string>{"b/x"});
  }
  Bytes x_, y_;
  std::vector<std::string> x_packs_;
};

TEST_F(StoreCorruptionTest, FlippedByteIsFoundAndGetStopsBeforeIt) {
  Build();
  std::string pack;
  FooterEntry e;
  Bytes raw;
  PickChunk(&pack, &e, &raw);
  auto where = std::search(x_.begin(), x_.end(), raw.begin(), raw.end());
  ASSERT_NE(where, x_.end());
  const uint64_t chunk_pos = static_cast<uint64_t>(where - x_.begin());
  ASSERT_TRUE(as::testing::FlipByte(pack, e.offset + format::kFrameHeaderSize + e.frame_len / 3));

  for (bool full : {false, true}) {
    auto v = store_->Verify(full);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_FALSE(v->ok());
    ASSERT_EQ(v->bad.size(), 1u);
    const BadFrame& b = v->bad[0];
    EXPECT_EQ(b.pack, PackNameOf(pack));
    EXPECT_EQ(b.offset, e.offset);
    EXPECT_EQ(b.digest, e.digest);
    EXPECT_FALSE(b.problem.empty());
    EXPECT_EQ(b.broken_names, std::vector<std::string>{"b/x"});
  }

  GetOut g = GetBytes(store_.get(), "b/x");
  ASSERT_FALSE(g.status.ok());
  EXPECT_EQ(g.status.code(), Code::kCorruption) << g.status.ToString();
  EXPECT_NE(g.status.message().find(pack), std::string::npos) << g.status.message();
  EXPECT_NE(g.status.message().find("offset " + std::to_string(e.offset)), std::string::npos)
      << g.status.message();
  EXPECT_LE(g.bytes.size(), chunk_pos);  // nothing of the bad chunk
  EXPECT_LT(g.bytes.size(), x_.size());
  EXPECT_TRUE(std::equal(g.bytes.begin(), g.bytes.end(), x_.begin()));
  // A range that avoids the chunk still reads; one that touches it does not.
  GetOut head = GetBytes(store_.get(), "b/x", ByteRange{0, chunk_pos - 1});
  EXPECT_TRUE(head.status.ok()) << head.status.ToString();
  EXPECT_EQ(GetBytes(store_.get(), "b/x", ByteRange{chunk_pos + 1, chunk_pos + 1}).status.code(),
            Code::kCorruption);
  ExpectReads("b/y", y_);
}

TEST_F(StoreCorruptionTest, ParallelVerifyReportsWhatASerialOneDoes) {
  // Damage in two packs and a third pack gone: verify on one thread and on
  // four (packs checked in parallel) must give the same report, in the same
  // order, names included.
  Build();
  std::string pack;
  FooterEntry e;
  Bytes raw;
  PickChunk(&pack, &e, &raw);
  ASSERT_TRUE(as::testing::FlipByte(pack, e.offset + format::kFrameHeaderSize + 7));
  ASSERT_TRUE(as::testing::FlipByte(x_packs_[1], fs::file_size(x_packs_[1]) / 2));
  fs::remove(x_packs_[2]);
  auto run = [&](int workers, bool full) {
    StoreOptions o = SmallOptions();
    o.compress_workers = workers;
    Open(nullptr, o);
    auto v = store_->Verify(full);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : VerifyReport{};
  };
  for (bool full : {false, true}) {
    VerifyReport one = run(0, full), four = run(3, full);
    EXPECT_FALSE(one.ok());
    EXPECT_GE(one.bad.size(), 3u);
    EXPECT_EQ(four.packs, one.packs);
    EXPECT_EQ(four.frames, one.frames);
    EXPECT_EQ(four.bytes, one.bytes);
    EXPECT_EQ(four.manifests, one.manifests);
    EXPECT_EQ(four.problems, one.problems);
    ASSERT_EQ(four.bad.size(), one.bad.size());
    for (size_t i = 0; i < one.bad.size(); i++) {
      EXPECT_EQ(four.bad[i].pack, one.bad[i].pack) << i;
      EXPECT_EQ(four.bad[i].offset, one.bad[i].offset) << i;
      EXPECT_EQ(four.bad[i].digest, one.bad[i].digest) << i;
      EXPECT_EQ(four.bad[i].problem, one.bad[i].problem) << i;
      EXPECT_EQ(four.bad[i].broken_names, one.bad[i].broken_names) << i;
    }
    ExpectOnlyXBroken(four);
  }
}

TEST_F(StoreCorruptionTest, TruncatedPackIsReported) {
  Build();
  const std::string pack = x_packs_[0];
  {
    // Only the footer's tail lost: the pack is reported, its frames still read.
    const uint64_t size = fs::file_size(pack);
    fs::resize_file(pack, size - 100);
    auto v = store_->Verify(false);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_FALSE(v->ok());
    ASSERT_EQ(v->problems.size(), 1u);
    EXPECT_NE(v->problems[0].find(PackNameOf(pack)), std::string::npos) << v->problems[0];
    EXPECT_TRUE(v->bad.empty());
  }
  // Half the pack gone: frames are missing too.
  fs::resize_file(pack, fs::file_size(pack) / 2);
  auto v = store_->Verify(false);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(v->ok());
  bool named = false;
  for (const std::string& p : v->problems) named |= p.find(PackNameOf(pack)) != std::string::npos;
  EXPECT_TRUE(named) << "no problem names the truncated pack";
  ASSERT_FALSE(v->bad.empty());
  for (const BadFrame& b : v->bad) EXPECT_EQ(b.pack, PackNameOf(pack));
  ExpectOnlyXBroken(*v);
  EXPECT_EQ(GetBytes(store_.get(), "b/x").status.code(), Code::kCorruption);
  ExpectReads("b/y", y_);
}

TEST_F(StoreCorruptionTest, DeletedPackIsReported) {
  Build();
  const std::string pack = x_packs_[0];
  fs::remove(pack);
  auto v = store_->Verify(true);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(v->ok());
  bool named = false;
  for (const std::string& p : v->problems) named |= p.find(PackNameOf(pack)) != std::string::npos;
  EXPECT_TRUE(named);
  ASSERT_FALSE(v->bad.empty());
  ExpectOnlyXBroken(*v);
  GetOut g = GetBytes(store_.get(), "b/x");
  EXPECT_EQ(g.status.code(), Code::kCorruption) << g.status.ToString();
  EXPECT_NE(g.status.message().find(PackNameOf(pack)), std::string::npos);
  ExpectReads("b/y", y_);
  // GC refuses to run on a broken live artifact's manifest? Here only chunks
  // are gone, so gc may run, but it must not break y.
  GcOptions go;
  go.grace_seconds = 0;
  auto gc = store_->Gc(go);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  ExpectReads("b/y", y_);
}

TEST_F(StoreTest, ReindexHealthyThenWithABadPack) {
  AS_SKIP_UNLESS_LOCAL_PACKS();
  Open();
  std::vector<std::pair<std::string, Bytes>> arts;
  for (int i = 0; i < 5; i++) {
    arts.emplace_back("r/a" + std::to_string(i), RandomBytes(400000 + i * 1000, seed_ + i));
    Put(arts.back().first, arts.back().second);
  }
  Put("r/dup", arts[0].second);
  arts.emplace_back("r/dup", arts[0].second);
  for (const auto& [n, d] : arts) ExpectReads(n, d);  // warms any reader cache
  auto before = store_->Stats();
  ASSERT_TRUE(before.ok());

  auto rep = store_->Reindex();
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_TRUE(rep->skipped.empty());
  EXPECT_TRUE(rep->dangling_names.empty());
  EXPECT_EQ(rep->packs, before->packs);
  EXPECT_EQ(rep->chunks, before->unique_chunks);
  EXPECT_EQ(rep->manifests, before->manifests);
  auto after = store_->Stats();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->logical_bytes, before->logical_bytes);
  EXPECT_EQ(after->names, before->names);
  EXPECT_EQ(after->manifests, before->manifests);
  EXPECT_EQ(after->unique_chunks, before->unique_chunks);
  EXPECT_EQ(after->unique_bytes, before->unique_bytes);
  EXPECT_EQ(after->stored_bytes, before->stored_bytes);
  EXPECT_EQ(after->packs, before->packs);
  EXPECT_EQ(after->pack_bytes, before->pack_bytes);
  ExpectVerifyClean(true);
  for (const auto& [n, d] : arts) ExpectReads(n, d);  // same Store, after reindex
  // Reopening gives the same view (no in-memory state was needed).
  Open();
  for (const auto& [n, d] : arts) ExpectReads(n, d);
  ExpectVerifyClean(true);

  // Now one pack loses its tail: reindex skips it and says so.
  const auto packs = PackFiles(dir_);
  ASSERT_GE(packs.size(), 2u);
  const std::string bad = packs[packs.size() / 2];
  fs::resize_file(bad, fs::file_size(bad) - 10);
  auto rep2 = store_->Reindex();
  ASSERT_TRUE(rep2.ok()) << rep2.status().ToString();
  ASSERT_EQ(rep2->skipped.size(), 1u);
  EXPECT_NE(rep2->skipped[0].find(PackNameOf(bad)), std::string::npos) << rep2->skipped[0];
  EXPECT_EQ(rep2->packs, packs.size() - 1);
  auto v = store_->Verify(false);
  ASSERT_TRUE(v.ok());
  // The index no longer names the skipped pack, so the frames are simply absent:
  // artifacts that needed them fail to read (Corruption), the others read.
  int readable = 0;
  for (const auto& [n, d] : arts) {
    GetOut g = GetBytes(store_.get(), n);
    if (g.status.ok()) {
      EXPECT_TRUE(g.bytes == d) << n;
      readable++;
    } else {
      EXPECT_EQ(g.status.code(), Code::kCorruption) << n << ": " << g.status.ToString();
    }
  }
  EXPECT_LT(readable, static_cast<int>(arts.size()));
}

// Regression (fixed in d6469c7): CommitReindex deletes and
// re-inserts every packs row, so pack ids change (in file-name order); the
// pack reader cache, keyed by id, must not serve the old files afterwards.
TEST_F(StoreTest, Bug_ReindexLeavesStaleReaderCache) {
  Open();
  std::vector<std::pair<std::string, Bytes>> arts;
  for (int i = 0; i < 5; i++) {
    arts.emplace_back("r/a" + std::to_string(i), RandomBytes(400000, seed_ + i));
    Put(arts.back().first, arts.back().second);
  }
  for (const auto& [n, d] : arts) ExpectReads(n, d);  // caches readers by pack id
  auto rep = store_->Reindex();
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_TRUE(rep->skipped.empty());
  for (const auto& [n, d] : arts) ExpectReads(n, d);
}

TEST_F(StoreTest, OpenLockingAndErrors) {
  Open();
  Put("l/a", RandomBytes(1000, seed_));
  auto second = as::testing::OpenStore(dir_, SmallOptions());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kBusy);
  EXPECT_NE(second.status().message().find("in use by pid " + std::to_string(::getpid())),
            std::string::npos)
      << second.status().message();
  store_.reset();
  auto third = as::testing::OpenStore(dir_, SmallOptions());
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  // Parameters are the stored ones, not the options'.
  StoreOptions other = SmallOptions();
  other.chunker = ChunkerParams{};
  third->reset();
  auto fourth = as::testing::OpenStore(dir_, other);
  ASSERT_TRUE(fourth.ok());
  EXPECT_EQ((*fourth)->chunker_params().avg_size, 4096u);
  fourth->reset();

  StoreOptions no_create = SmallOptions();
  no_create.create_if_missing = false;
  const std::string parent = fs::path(dir_).parent_path().string();
  auto missing = as::testing::OpenStore(parent + "/does-not-exist", no_create);
  EXPECT_EQ(missing.status().code(), Code::kNotFound) << missing.status().ToString();
  fs::create_directories(parent + "/plain");
  auto plain = as::testing::OpenStore(parent + "/plain", no_create);
  EXPECT_EQ(plain.status().code(), Code::kInvalidArgument) << plain.status().ToString();
  EXPECT_NE(plain.status().message().find("not an artifact store"), std::string::npos)
      << plain.status().message();
}

TEST_F(StoreTest, ConcurrentPutsGetsAndGc) {
  Open();
  // Segments shared between artifacts: shared chunks across threads.
  std::vector<Bytes> segs;
  for (int i = 0; i < 8; i++) segs.push_back(RandomBytes(48 << 10, seed_ + 1000 + i));
  struct Art {
    std::string name;
    Bytes data;
    Digest content;
  };
  std::mutex mu;
  std::vector<Art> stable;   // never removed: readers may read these
  std::vector<Art> removed;  // removed after a later put: gone
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  auto fail = [&](const std::string& m) {
    failures++;
    std::lock_guard<std::mutex> l(mu);
    ADD_FAILURE() << m;
  };

  auto putter = [&](int t) {
    std::mt19937_64 rng(seed_ + t);
    std::optional<Art> pending_removal;
    for (int j = 0; j < 6; j++) {
      Art a;
      a.name = "t" + std::to_string(t) + "/a" + std::to_string(j);
      int nseg = 4 + static_cast<int>(rng() % 5);
      for (int s = 0; s < nseg; s++) {
        const Bytes& seg = segs[rng() % segs.size()];
        a.data.insert(a.data.end(), seg.begin(), seg.end());
        Bytes own = RandomBytes(rng() % 20000, rng());
        a.data.insert(a.data.end(), own.begin(), own.end());
      }
      auto r = store_->Put(Name(a.name), SourceOf(a.data, rng()));
      if (!r.ok()) return fail(a.name + ": " + r.status().ToString());
      if (r->content != Blake3(a.data.data(), a.data.size())) return fail(a.name + " digest");
      a.content = r->content;
      if (pending_removal) {
        Status s = store_->Remove(Name(pending_removal->name));
        if (!s.ok()) return fail("remove: " + s.ToString());
        std::lock_guard<std::mutex> l(mu);
        removed.push_back(std::move(*pending_removal));
        pending_removal.reset();
      }
      if (j % 2 == 1) {
        pending_removal = std::move(a);
      } else {
        std::lock_guard<std::mutex> l(mu);
        stable.push_back(std::move(a));
      }
    }
    if (pending_removal) {
      std::lock_guard<std::mutex> l(mu);
      stable.push_back(std::move(*pending_removal));
    }
  };
  auto getter = [&](int t) {
    std::mt19937_64 rng(seed_ + 100 + t);
    int reads = 0;
    while (!stop || reads < 3) {
      std::optional<Art> a;
      {
        std::lock_guard<std::mutex> l(mu);
        if (!stable.empty()) a = stable[rng() % stable.size()];
      }
      if (!a) {
        std::this_thread::yield();
        continue;
      }
      // By name or by digest, sometimes a range.
      std::string ref = rng() % 2 ? a->name : a->content.ToString();
      GetOut g = GetBytes(store_.get(), ref);
      if (!g.status.ok()) return fail("get " + ref + ": " + g.status.ToString());
      if (g.bytes != a->data) return fail("get " + ref + ": wrong bytes");
      reads++;
    }
  };
  auto collector = [&] {
    GcOptions go;  // default grace: in-flight packs are young
    go.rewrite_threshold = 0.9;
    int runs = 0;
    while (!stop || runs < 2) {
      auto r = store_->Gc(go);
      if (!r.ok()) return fail("gc: " + r.status().ToString());
      runs++;
    }
  };

  std::vector<std::thread> putters, others;
  for (int t = 0; t < 4; t++) putters.emplace_back(putter, t);
  for (int t = 0; t < 2; t++) others.emplace_back(getter, t);
  others.emplace_back(collector);
  for (auto& th : putters) th.join();
  stop = true;
  for (auto& th : others) th.join();
  ASSERT_EQ(failures.load(), 0);

  ASSERT_EQ(stable.size(), 4u * 4u);
  for (const Art& a : stable) ExpectReads(a.name, a.data);
  for (const Art& a : removed) {
    EXPECT_EQ(GetBytes(store_.get(), a.name).status.code(), Code::kNotFound) << a.name;
  }
  ExpectVerifyClean(true);
  GcOptions go;
  go.grace_seconds = 0;
  auto g = store_->Gc(go);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  for (const Art& a : stable) ExpectReads(a.name, a.data);
  ExpectVerifyClean(true);
}

// ---- crash safety -------------------------------------------------------

TEST_F(StoreTest, CrashAfterPutKeepsAcknowledgedData) {
  FaultEnv env;
  MakeDir();
  Open(&env);
  std::vector<std::pair<std::string, Bytes>> arts;
  for (int i = 0; i < 3; i++) {
    arts.emplace_back("c/a" + std::to_string(i), RandomBytes(500000, seed_ + i));
    Put(arts.back().first, arts.back().second);
  }
  store_.reset();
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  Open(&env);
  for (const auto& [n, d] : arts) ExpectReads(n, d);
  ExpectVerifyClean(true);
}

// Regression (fixed in 731b464): packs/<hh>/ was made with CreateDirIfMissing()
// but packs/ was never fsynced, so a power cut could lose the whole
// subdirectory with committed, acknowledged packs in it.
TEST_F(StoreTest, Bug_CrashLosesPacksInANewSubdir) {
  AS_SKIP_UNLESS_LOCAL_PACKS();
  FaultEnv env;
  MakeDir(/*pack_subdirs=*/false);
  Open(&env);
  const Bytes a = RandomBytes(500000, seed_);
  Put("c/a", a);
  store_.reset();
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  Open(&env);
  ExpectReads("c/a", a);
  ExpectVerifyClean(true);
}

class StoreFaultTest : public StoreTest,
                       public ::testing::WithParamInterface<std::pair<FaultEnv::Op, int>> {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    AS_SKIP_UNLESS_LOCAL_PACKS();  // faults of the Env's pack files
  }
};

// A put that fails part way (a Sync, an Append, a SyncDir or a rename of one of
// its packs) returns the error, names nothing, and after a crash the store
// verifies clean with the earlier artifacts intact; gc then leaves exactly
// the packs the index names.
TEST_P(StoreFaultTest, FailedPutLeavesStoreConsistent) {
  const auto [op, nth] = GetParam();
  FaultEnv env;
  MakeDir();
  Open(&env);
  const Bytes a = RandomBytes(700000, seed_);
  const Bytes b = Compressible(400000, seed_ + 1);
  Put("f/a", a);
  Put("f/b", b);
  // c reuses part of a (dedup against committed chunks) and is large enough
  // to span several packs.
  Bytes c(a.begin(), a.begin() + 200000);
  Bytes more = RandomBytes(1 << 20, seed_ + 2);
  c.insert(c.end(), more.begin(), more.end());

  env.FailAfter(op, nth, "/packs/");
  auto r = store_->Put(Name("f/c"), SourceOf(c, seed_));
  ASSERT_EQ(env.faults_fired(), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kIOError) << r.status().ToString();
  EXPECT_NE(r.status().message().find("injected"), std::string::npos) << r.status().message();
  EXPECT_EQ(GetBytes(store_.get(), "f/c").status.code(), Code::kNotFound);
  EXPECT_EQ(GetBytes(store_.get(), Blake3(c.data(), c.size()).ToString()).status.code(),
            Code::kNotFound);
  ExpectReads("f/a", a);
  ExpectVerifyClean(false);

  store_.reset();
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  Open(&env);
  ExpectReads("f/a", a);
  ExpectReads("f/b", b);
  EXPECT_EQ(GetBytes(store_.get(), "f/c").status.code(), Code::kNotFound);
  ExpectVerifyClean(true);

  GcOptions go;
  go.grace_seconds = 0;
  auto g = store_->Gc(go);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(PackFiles(dir_, true).size(), stats->packs) << "leftover files after gc";
  ExpectReads("f/a", a);
  ExpectReads("f/b", b);
  ExpectVerifyClean(true);

  // The store still takes writes; c goes in now.
  Put("f/c", c);
  ExpectReads("f/c", c);
  store_.reset();
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  Open(&env);
  ExpectReads("f/c", c);
  ExpectVerifyClean(true);
}

std::string FaultName(const ::testing::TestParamInfo<std::pair<FaultEnv::Op, int>>& info) {
  static const char* kNames[] = {"Append", "Sync", "SyncDir", "Rename"};
  return std::string(kNames[static_cast<int>(info.param.first)]) + "_" +
         std::to_string(info.param.second);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, StoreFaultTest,
    ::testing::Values(std::make_pair(FaultEnv::Op::kSync, 1),
                      std::make_pair(FaultEnv::Op::kSync, 3),
                      std::make_pair(FaultEnv::Op::kAppend, 1),
                      std::make_pair(FaultEnv::Op::kAppend, 4),
                      std::make_pair(FaultEnv::Op::kSyncDir, 2),
                      std::make_pair(FaultEnv::Op::kRename, 2)),
    FaultName);

}  // namespace
}  // namespace as
