// The dedup filter (docs/index-at-scale.md): the key table (no false
// negatives, exact misses, growth, deletes, bytes per key), the filter's
// not-ready mode, its files (stale, truncated, torn or foreign files are
// never used), and a store around it: dedup exact across reopen, crash,
// rebuild and gc.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sys/wait.h>
#include <unistd.h>

#include "artifact_store/store.h"
#include "hash/blake3.h"
#include "kernels/kernels.h"
#include "seed.h"
#include "store/chunk_filter.h"
#include "store/filter_file.h"
#include "store/key_table.h"
#include "store_fixture.h"
#include "store_peer.h"
#include "test_util.h"

namespace as {
namespace {

namespace fs = std::filesystem;
using as::testing::RandomBytes;

Digest D(uint64_t i) { return Blake3(&i, sizeof i); }

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x ? x : 1;
}

TEST(KeyTableTest, NoFalseNegativesAndExactMisses) {
  const uint64_t seed = as::testing::TestSeed("key_table");
  KeyTable t;
  constexpr uint64_t kN = 300000;
  for (uint64_t i = 0; i < kN; i++) ASSERT_TRUE(t.Insert(Mix(seed + i)));
  EXPECT_EQ(t.size(), kN);
  for (uint64_t i = 0; i < kN; i++) ASSERT_TRUE(t.Contains(Mix(seed + i))) << i;
  // Whole keys: a key never inserted is never found (no false positives).
  size_t wrong = 0;
  for (uint64_t i = kN; i < 2 * kN; i++) wrong += t.Contains(Mix(seed + i)) ? 1 : 0;
  EXPECT_EQ(wrong, 0u);
  EXPECT_FALSE(t.Insert(Mix(seed))) << "already there";
  // 8.6-10.8 bytes a key once past the first growths (issue 21: 8-12).
  const double per_key = static_cast<double>(t.bytes()) / static_cast<double>(t.size());
  EXPECT_GE(per_key, 8.0);
  EXPECT_LE(per_key, 12.0);
}

TEST(KeyTableTest, ErasesAndGrowsFromNothing) {
  KeyTable t(0);
  EXPECT_EQ(t.buckets(), 1u);
  for (uint64_t i = 1; i <= 50000; i++) t.Insert(Mix(i));
  for (uint64_t i = 1; i <= 50000; i += 2) ASSERT_TRUE(t.Erase(Mix(i)));
  EXPECT_FALSE(t.Erase(Mix(1))) << "already gone";
  EXPECT_EQ(t.size(), 25000u);
  for (uint64_t i = 1; i <= 50000; i++) ASSERT_EQ(t.Contains(Mix(i)), i % 2 == 0) << i;
  for (uint64_t i = 1; i <= 50000; i += 2) ASSERT_TRUE(t.Insert(Mix(i)));
  for (uint64_t i = 1; i <= 50000; i++) ASSERT_TRUE(t.Contains(Mix(i))) << i;
  EXPECT_FALSE(t.Contains(0)) << "0 is the empty slot, never a key";
  EXPECT_FALSE(t.Insert(0));
}

TEST(KeyTableTest, AdoptRefusesBytesItDidNotWrite) {
  KeyTable t(1000);
  for (uint64_t i = 1; i <= 1000; i++) t.Insert(Mix(i));
  std::vector<KeyTable::Bucket> copy(t.data(), t.data() + t.buckets());
  KeyTable u;
  EXPECT_TRUE(u.Adopt(copy, t.size()));
  for (uint64_t i = 1; i <= 1000; i++) ASSERT_TRUE(u.Contains(Mix(i)));
  KeyTable v;
  EXPECT_FALSE(v.Adopt(copy, t.size() + 1)) << "count differs";
  // A key moved to a bucket that is neither of its two.
  for (auto& b : copy) {
    for (uint64_t& k : b.k) {
      if (k != 0) {
        k ^= 0x8000000000000000ULL;
        goto flipped;
      }
    }
  }
flipped:
  KeyTable w;
  EXPECT_FALSE(w.Adopt(copy, t.size())) << "a key where its hashes do not put it";
  EXPECT_EQ(w.size(), 0u);
}

TEST(ChunkFilterTest, NotReadyAsksTheIndexAndKeepsInserts) {
  ChunkFilter f;
  EXPECT_FALSE(f.ready());
  EXPECT_TRUE(f.MayBeStored(1, D(7))) << "not loaded: every chunk may be stored";
  f.BeginCommit();
  EXPECT_EQ(f.commits_in_flight(), 1);
  f.EndCommit(1, {D(1), D(2)});
  EXPECT_EQ(f.commits_in_flight(), 0);
  KeyTable loaded;
  loaded.Insert(ChunkFilter::Key(1, D(3)));
  f.Install(std::move(loaded));
  ASSERT_TRUE(f.ready());
  EXPECT_TRUE(f.MayBeStored(1, D(1))) << "inserted while loading";
  EXPECT_TRUE(f.MayBeStored(1, D(3))) << "from the load";
  EXPECT_FALSE(f.MayBeStored(1, D(4)));
  EXPECT_FALSE(f.MayBeStored(2, D(1))) << "keys are per domain";
  EXPECT_EQ(f.size(), 3u);
  EXPECT_EQ(f.TakeAdded().size(), 2u);
  EXPECT_EQ(f.added(), 0u);
  f.Forget();
  EXPECT_FALSE(f.ready());
  EXPECT_TRUE(f.MayBeStored(1, D(4)));
}

TEST(ChunkFilterTest, WithoutKeysEverythingMayBeStored) {
  ChunkFilter f;
  f.HoldNoKeys();
  f.BeginCommit();
  f.EndCommit(1, {D(1)});  // ignored: nothing is held
  f.Install(KeyTable());   // ignored too
  EXPECT_FALSE(f.ready());
  EXPECT_EQ(f.size(), 0u);
  EXPECT_TRUE(f.MayBeStored(1, D(7))) << "never seen, yet the index must be asked";
}

class FilterFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = as::testing::TempDir("filter_files");
    k_ = MakeKernelTable(DetectCpu());
  }
  void TearDown() override { fs::remove_all(dir_); }
  FilterFiles Files(const std::string& uuid = "u1") {
    return FilterFiles(Env::Default(), dir_, uuid, &k_);
  }
  std::string dir_;
  KernelTable k_;
  std::atomic<bool> stop_{false};
};

TEST_F(FilterFilesTest, BaseAndLogsChainAndLoad) {
  FilterFiles f = Files();
  EXPECT_FALSE(f.ReadChain().base) << "nothing yet";
  KeyTable t;
  for (uint64_t i = 1; i <= 5000; i++) t.Insert(Mix(i));
  ASSERT_TRUE(f.WriteBase(100, t).ok());
  ASSERT_TRUE(f.AppendLog(100, 107, {Mix(9001), Mix(9002)}).ok());
  ASSERT_TRUE(f.AppendLog(107, 109, {}).ok()) << "a gc: rows removed, no keys";
  ASSERT_TRUE(f.AppendLog(500, 600, {Mix(9999)}).ok()) << "does not chain: never followed";
  FilterFiles::Chain c = f.ReadChain();
  ASSERT_TRUE(c.base);
  EXPECT_EQ(c.base_gen, 100u);
  EXPECT_EQ(c.end, 109u);
  EXPECT_EQ(c.logs.size(), 2u);
  auto loaded = f.Load(c, stop_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->size(), 5002u);
  EXPECT_TRUE(loaded->Contains(Mix(9002)));
  EXPECT_FALSE(loaded->Contains(Mix(9999)));
  // A new base folds the logs: they go.
  ASSERT_TRUE(f.WriteBase(109, *loaded).ok());
  c = f.ReadChain();
  EXPECT_EQ(c.end, 109u);
  EXPECT_TRUE(c.logs.empty());
  EXPECT_FALSE(fs::exists(dir_ + "/filter/log-0000000000000064"));
}

TEST_F(FilterFilesTest, TruncatedTornOrForeignFilesAreNeverUsed) {
  FilterFiles f = Files();
  KeyTable t;
  for (uint64_t i = 1; i <= 5000; i++) t.Insert(Mix(i));
  ASSERT_TRUE(f.WriteBase(7, t).ok());
  ASSERT_TRUE(f.AppendLog(7, 8, {Mix(77)}).ok());
  const std::string base = dir_ + "/filter/base";
  const std::string log = dir_ + "/filter/log-0000000000000007";
  EXPECT_FALSE(Files("another store").ReadChain().base) << "another store's files";
  // A flipped byte in the table: the header is sound, the load is not.
  ASSERT_TRUE(as::testing::FlipByte(base, 64 + 1000));
  auto c = f.ReadChain();
  ASSERT_TRUE(c.base);
  auto bad = f.Load(c, stop_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kCorruption) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("base"), std::string::npos) << "names the file";
  ASSERT_TRUE(f.WriteBase(7, t).ok());
  ASSERT_TRUE(f.AppendLog(7, 8, {Mix(77)}).ok());
  // A flipped key in a log.
  ASSERT_TRUE(as::testing::FlipByte(log, 64 + 3));
  c = f.ReadChain();
  EXPECT_EQ(c.end, 8u) << "headers are sound";
  bad = f.Load(c, stop_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("log-"), std::string::npos) << bad.status().ToString();
  // A truncated base (a crash cannot leave one: files are renamed whole;
  // a disk or a hand can).
  fs::resize_file(base, fs::file_size(base) - 64);
  EXPECT_FALSE(f.ReadChain().base);
  // A header that fails its checksum.
  ASSERT_TRUE(f.WriteBase(7, t).ok());
  ASSERT_TRUE(as::testing::FlipByte(base, 20));
  EXPECT_FALSE(f.ReadChain().base);
  // A stop while loading: Busy, nothing half-installed.
  ASSERT_TRUE(f.WriteBase(7, t).ok());
  std::atomic<bool> stop{true};
  auto stopped = f.Load(f.ReadChain(), stop);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.status().code(), Code::kBusy);
}

// The store around the filter (metadata in the directory only: with it on
// a server there is no filter).
class FilterStoreTest : public as::testing::TempStoreTest {
 protected:
  void SetUp() override {
    if (as::testing::StoresOnPostgres()) {
      GTEST_SKIP() << "metadata on PostgreSQL: no dedup filter (puts ask the index)";
    }
    seed_ = as::testing::TestSeed("filter_store");
    store_ = as::testing::OpenTestStore("filter_store", &dir_, options_);
    ASSERT_TRUE(store_);
  }
  void Reopen(StoreOptions o = {}) {
    store_.reset();
    auto s = as::testing::OpenStore(dir_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  PutResult Put(const std::string& key, const std::vector<uint8_t>& data) {
    auto r = store_->Put(ObjectName{"default", "b", key}, as::testing::WholeSource(data), {});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : PutResult{};
  }
  uint64_t UniqueChunks() {
    auto s = store_->Stats();
    EXPECT_TRUE(s.ok());
    return s.ok() ? s->unique_chunks : 0;
  }
  std::string Read(const std::string& key) {
    std::string out;
    Status s = store_->Get("default", "b/" + key, [&](const uint8_t* p, size_t n) {
      out.append(reinterpret_cast<const char*>(p), n);
      return Status::OK();
    }, std::nullopt, nullptr);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  uint64_t seed_ = 0;
  StoreOptions options_;
};

TEST_F(FilterStoreTest, OpenReadsNothingAndDedupIsExactAcrossReopen) {
  const auto a = RandomBytes(300000, seed_);
  Put("a", a);
  EXPECT_FALSE(fs::exists(dir_ + "/filter/base.tmp"));
  Reopen();
  EXPECT_EQ(store_->Counters().filter_ready, 0u) << "open loads nothing";
  EXPECT_EQ(Put("a2", a).new_bytes, 0u) << "dedup whether or not the filter is loaded yet";
  ASSERT_TRUE(StoreTestPeer::WaitFilterReady(store_.get()));
  EXPECT_EQ(store_->Counters().filter_loads, 1u) << "from its files: they were current";
  EXPECT_EQ(store_->Counters().filter_rebuilds, 0u);
  EXPECT_EQ(store_->Counters().filter_keys, UniqueChunks());
  const auto b = RandomBytes(200000, seed_ + 1);
  Put("b", b);
  Reopen();
  StoreTestPeer::StartFilter(store_.get());
  ASSERT_TRUE(StoreTestPeer::WaitFilterReady(store_.get()));
  EXPECT_EQ(store_->Counters().filter_loads, 1u) << "base and a log";
  EXPECT_EQ(store_->Counters().filter_keys, UniqueChunks());
  EXPECT_EQ(Put("b2", b).new_bytes, 0u);
  EXPECT_EQ(Put("a3", a).new_bytes, 0u);
}

TEST_F(FilterStoreTest, AKilledProcessLeavesFilesThatAreRebuilt) {
  const auto a = RandomBytes(300000, seed_);
  Put("a", a);
  Reopen();
  // A child puts more and dies without closing the store (as SIGKILL would
  // have it): its keys never reach the files, the generation moved on.
  const auto b = RandomBytes(250000, seed_ + 2);
  store_.reset();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto s = as::testing::OpenStore(dir_, {});
    if (!s.ok()) _exit(2);
    auto r = (*s)->Put(ObjectName{"default", "b", "b"}, as::testing::WholeSource(b), {});
    _exit(r.ok() ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  Reopen();
  StoreTestPeer::StartFilter(store_.get());
  ASSERT_TRUE(StoreTestPeer::WaitFilterReady(store_.get()));
  EXPECT_EQ(store_->Counters().filter_rebuilds, 1u) << "the files were stale";
  EXPECT_EQ(store_->Counters().filter_keys, UniqueChunks());
  EXPECT_EQ(Put("b2", b).new_bytes, 0u) << "dedup exact after the crash";
  EXPECT_EQ(Read("b2"), std::string(b.begin(), b.end()));
  Reopen();
  StoreTestPeer::StartFilter(store_.get());
  ASSERT_TRUE(StoreTestPeer::WaitFilterReady(store_.get()));
  EXPECT_EQ(store_->Counters().filter_loads, 1u) << "the rebuilt filter was written";
}

TEST_F(FilterStoreTest, DamagedOrForeignFilesAreRebuilt) {
  const auto a = RandomBytes(300000, seed_);
  Put("a", a);
  Reopen();  // writes the base
  ASSERT_TRUE(fs::exists(dir_ + "/filter/base"));
  // Another store's filter in this one's place.
  std::string other;
  {
    auto o = as::testing::OpenTestStore("filter_other", &other, options_);
    ASSERT_TRUE(o);
    auto r = o->Put(ObjectName{"default", "b", "x"}, as::testing::WholeSource(a), {});
    ASSERT_TRUE(r.ok());
  }
  store_.reset();
  fs::copy_file(other + "/filter/base", dir_ + "/filter/base",
                fs::copy_options::overwrite_existing);
  fs::remove_all(other);
  Reopen();
  StoreTestPeer::StartFilter(store_.get());
  ASSERT_TRUE(StoreTestPeer::WaitFilterReady(store_.get()));
  EXPECT_EQ(store_->Counters().filter_rebuilds, 1u) << "another store's file is not used";
  // Truncated.
  Reopen();
  fs::resize_file(dir_ + "/filter/base", 100);
  Reopen();
  StoreTestPeer::StartFilter(store_.get());
  ASSERT_TRUE(StoreTestPeer::WaitFilterReady(store_.get()));
  EXPECT_EQ(store_->Counters().filter_rebuilds, 1u) << "a truncated file is not used";
  EXPECT_EQ(Put("a2", a).new_bytes, 0u);
  // A torn write (temporary file left, old base in place) changes nothing.
  Reopen();
  { std::ofstream(dir_ + "/filter/base.tmp") << "half a table"; }
  Reopen();
  StoreTestPeer::StartFilter(store_.get());
  ASSERT_TRUE(StoreTestPeer::WaitFilterReady(store_.get()));
  EXPECT_EQ(store_->Counters().filter_loads, 1u);
  EXPECT_EQ(Put("a3", a).new_bytes, 0u);
}

TEST_F(FilterStoreTest, GcOnARebuiltFilter) {
  const auto a = RandomBytes(300000, seed_);
  const auto b = RandomBytes(300000, seed_ + 5);
  Put("a", a);
  Put("b", b);
  store_.reset();
  fs::remove_all(dir_ + "/filter");
  Reopen();
  StoreTestPeer::StartFilter(store_.get());
  ASSERT_TRUE(StoreTestPeer::WaitFilterReady(store_.get()));
  ASSERT_EQ(store_->Counters().filter_rebuilds, 1u);
  ASSERT_TRUE(store_->Remove(ObjectName{"default", "b", "a"}).ok());
  auto g = store_->Gc(GcOptions{}, nullptr);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_GT(g->dead_chunks, 0u);
  // a's chunks are gone from the index; their keys may linger in the
  // filter (a hit is confirmed): putting a again stores it again.
  EXPECT_GT(Put("a", a).new_bytes, 0u);
  EXPECT_EQ(Read("a"), std::string(a.begin(), a.end()));
  EXPECT_EQ(Put("b2", b).new_bytes, 0u);
  Reopen();
  StoreTestPeer::StartFilter(store_.get());
  ASSERT_TRUE(StoreTestPeer::WaitFilterReady(store_.get()));
  EXPECT_EQ(store_->Counters().filter_loads, 1u) << "gc's generations were logged";
  EXPECT_EQ(Put("a4", a).new_bytes, 0u);
  auto v = store_->Verify(true, nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok()) << "verify --full after all this";
}

}  // namespace
}  // namespace as
