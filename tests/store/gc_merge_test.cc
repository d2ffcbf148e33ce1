// Each put seals its own pack, so a store fed many small objects (S3 PUTs of
// small files) holds many small packs. GC merges the live frames of a
// domain's small packs into packs of the target size.
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "artifact_store/store.h"
#include "fault_env.h"
#include "seed.h"
#include "store_fixture.h"
#include "store_peer.h"
#include "test_util.h"

namespace as {
namespace {

using as::testing::FaultEnv;
using as::testing::PackFileCount;
using as::testing::RandomBytes;
using Bytes = std::vector<uint8_t>;

class GcMergeTest : public as::testing::TempStoreTest {
 protected:
  void SetUp() override {
    seed_ = as::testing::TestSeed("gc_merge");
    store_ = as::testing::OpenTestStore("gc_merge", &dir_, Options());
    ASSERT_TRUE(store_);
  }
  StoreOptions Options(Env* env = nullptr) {
    StoreOptions o;
    o.pack_target_size = 256 << 10;  // so packs under 64 KiB are small
    o.env = env;
    return o;
  }

  struct Obj {
    ObjectName name;
    Bytes data;
  };
  Obj PutSmall(const std::string& tenant, const std::string& key, size_t size) {
    Obj o{ObjectName{tenant, "m", key}, RandomBytes(size, seed_++)};
    auto r = store_->Put(o.name, as::testing::WholeSource(o.data), PutOptions{});
    EXPECT_TRUE(r.ok()) << key << ": " << r.status().ToString();
    return o;
  }
  void ExpectReads(const std::vector<Obj>& objs) {
    for (const Obj& o : objs) {
      Bytes got;
      Status s = store_->Get(o.name.tenant, o.name.ToString(), [&](const uint8_t* p, size_t n) {
        got.insert(got.end(), p, p + n);
        return Status::OK();
      });
      ASSERT_TRUE(s.ok()) << o.name.ToString() << ": " << s.ToString();
      EXPECT_TRUE(got == o.data) << o.name.ToString();
    }
  }
  void ExpectClean() {
    auto v = store_->Verify(true);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_TRUE(v->ok());
    auto st = store_->Stats();
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(PackFileCount(dir_), st->packs) << "pack files vs index";
  }
  GcReport Gc(std::optional<uint64_t> merge_below = std::nullopt) {
    GcOptions go;
    go.grace_seconds = 0;
    go.merge_below = merge_below;
    auto g = store_->Gc(go);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? *g : GcReport{};
  }
  // The store again, over `env` (a FaultEnv).
  void ReopenWith(Env* env) {
    store_.reset();
    auto s = as::testing::OpenStore(dir_, Options(env));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  // n objects of 40 KB, incompressible: a small pack each.
  std::vector<Obj> PutSmalls(int n, const std::string& prefix) {
    std::vector<Obj> v;
    for (int i = 0; i < n; i++)
      v.push_back(PutSmall(kDefaultTenant, prefix + std::to_string(i), 40000));
    return v;
  }
  uint64_t Packs() {
    auto st = store_->Stats();
    EXPECT_TRUE(st.ok());
    return st.ok() ? st->packs : 0;
  }

  uint64_t seed_ = 0;
};

TEST_F(GcMergeTest, SmallPacksOfEachDomainBecomeOne) {
  std::vector<Obj> live;
  for (int i = 0; i < 24; i++) {
    Obj o = PutSmall(kDefaultTenant, "o" + std::to_string(i), 6000 + 100 * i);
    if (i % 3 == 0) {
      ASSERT_TRUE(store_->Remove(o.name).ok());
    } else {
      live.push_back(std::move(o));
    }
  }
  for (int i = 0; i < 3; i++) live.push_back(PutSmall("t2", "p" + std::to_string(i), 9000));
  ASSERT_EQ(Packs(), 27u);

  // Merging off: only the packs of removed objects go.
  GcReport off = Gc(0);
  EXPECT_EQ(off.packs_deleted, 8u);
  EXPECT_EQ(off.packs_merged, 0u);
  EXPECT_EQ(off.packs_written, 0u);
  EXPECT_EQ(Packs(), 19u);
  ExpectReads(live);

  // Default (a quarter of 256 KiB): 16 + 3 small packs, one new pack per
  // domain (a pack holds one domain's frames).
  GcReport g = Gc();
  EXPECT_EQ(g.packs_rewritten, 19u);
  EXPECT_EQ(g.packs_merged, 19u);
  EXPECT_EQ(g.packs_written, 2u);
  EXPECT_GT(g.bytes_copied, 16u * 6000u);
  EXPECT_EQ(g.dead_chunks, 0u);
  EXPECT_EQ(Packs(), 2u);
  ExpectReads(live);
  ExpectClean();

  // A domain's lone small pack has nothing to merge with: left alone.
  GcReport again = Gc();
  EXPECT_EQ(again.packs_rewritten, 0u);
  EXPECT_EQ(Packs(), 2u);

  // A new small put gives it a partner; dedup still finds merged chunks.
  Obj dup{ObjectName{kDefaultTenant, "m", "dup"}, live[0].data};
  auto r = store_->Put(dup.name, as::testing::WholeSource(dup.data), PutOptions{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->new_bytes, 0u) << "the merged pack's chunks are still in the dedup filter";
  live.push_back(dup);
  live.push_back(PutSmall(kDefaultTenant, "late", 7000));
  GcReport late = Gc();  // the two new packs; the merged one is over 64 KiB
  EXPECT_EQ(late.packs_merged, 2u);
  EXPECT_EQ(late.packs_written, 1u);
  EXPECT_EQ(Packs(), 3u);
  ExpectReads(live);
  ExpectClean();
}

TEST_F(GcMergeTest, MergedOutputRollsOverAtTheTargetSize) {
  // 30 packs of ~40 KiB (incompressible): 1.2 MB in all, so at least four
  // new packs of about 256 KiB.
  std::vector<Obj> live = PutSmalls(30, "r");
  GcReport g = Gc();
  EXPECT_EQ(g.packs_merged, 30u);
  EXPECT_GE(g.packs_written, 4u);
  EXPECT_LE(g.packs_written, 6u);
  EXPECT_EQ(Packs(), g.packs_written);
  ExpectReads(live);
  ExpectClean();
  // The full ones are no longer small; at most the last, partial one is,
  // and alone it stays.
  GcReport again = Gc();
  EXPECT_EQ(again.packs_rewritten, 0u);
}

// GC marks from a snapshot of the names, without holding commits off (the
// hook runs puts on GC's own thread: with the commit lock held they would
// deadlock). What is bound meanwhile (a new object, a rebound name, a copy of
// an object removed since) is kept.
TEST_F(GcMergeTest, CommitsDuringTheMarkAreKept) {
  Obj gone = PutSmall(kDefaultTenant, "gone", 30000);
  Obj kept = PutSmall(kDefaultTenant, "kept", 30000);
  Obj y1 = PutSmall(kDefaultTenant, "y", 30000);
  ASSERT_TRUE(store_->Remove(gone.name).ok());
  Obj fresh, y2, copy;
  bool ran = false;
  StoreTestPeer::SetGcHook(store_.get(), [&](const std::string& where) {
    if (ran || where != "marked") return;
    ran = true;
    fresh = PutSmall(kDefaultTenant, "fresh", 40000);
    y2 = PutSmall(kDefaultTenant, "y", 50000);
    copy = Obj{ObjectName{kDefaultTenant, "m", "copy"}, fresh.data};
    auto c = store_->Copy(fresh.name, copy.name, "", false);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_TRUE(store_->Remove(fresh.name).ok());
  });
  GcReport g = Gc();
  ASSERT_TRUE(ran);
  EXPECT_GT(g.dead_chunks, 0u);  // gone's
  ExpectReads({kept, y2, copy});
  EXPECT_EQ(store_->Stat(kDefaultTenant, "m/gone").status().code(), Code::kNotFound);
  ExpectClean();
  // y1's chunks were live in the snapshot; the next gc takes them (told to
  // rewrite any pack with a dead byte: theirs now shares a merged pack).
  GcOptions all;
  all.grace_seconds = 0;
  all.rewrite_threshold = 1.0;
  auto next = store_->Gc(all);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_GT(next->dead_chunks, 0u);
  ExpectReads({kept, y2, copy});
  ExpectClean();
}

// A put that deduplicates against a dead chunk after gc listed the index
// (the chunk's pack is then slated to go) keeps it: the put's root is logged.
TEST_F(GcMergeTest, DedupAgainstADeadChunkAfterTheListingKeepsIt) {
  Obj gone = PutSmall(kDefaultTenant, "gone", 60000);
  PutSmall(kDefaultTenant, "other", 60000);
  ASSERT_TRUE(store_->Remove(gone.name).ok());
  Obj again{ObjectName{kDefaultTenant, "m", "again"}, gone.data};
  bool ran = false;
  StoreTestPeer::SetGcHook(store_.get(), [&](const std::string& where) {
    if (ran || where != "listed") return;
    ran = true;
    auto r = store_->Put(again.name, as::testing::WholeSource(again.data), PutOptions{});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->new_bytes, 0u) << "deduplicated against gone's chunks";
  });
  Gc();
  ASSERT_TRUE(ran);
  ExpectReads({again});
  ExpectClean();
}

// The race gc is built for (Metadata::Doom), forced: once gc has swept the
// manifest of an object just removed and listed the chunks, a put looks up
// (deduplicates against) that object's chunks and is held before its commit
// while gc dooms them. Gc must not sweep them while the put runs (the
// horizon waits for it); the put's commit, which began before the doom,
// brings them back; everything reads and verifies.
TEST_F(GcMergeTest, APutHeldAcrossTheDoomKeepsWhatItDeduplicatedAgainst) {
  Obj gone = PutSmall(kDefaultTenant, "gone", 60000);
  PutSmall(kDefaultTenant, "other", 60000);
  ASSERT_TRUE(store_->Remove(gone.name).ok());
  Obj again{ObjectName{kDefaultTenant, "m", "again"}, gone.data};
  std::mutex mu;
  std::condition_variable cv;
  bool held = false, release = false;
  StoreTestPeer::SetPutHook(store_.get(), [&] {
    std::unique_lock<std::mutex> l(mu);
    held = true;
    cv.notify_all();
    cv.wait(l, [&] { return release; });
  });
  Result<PutResult> put = Status::Internal("not run");
  std::thread putter;
  StoreTestPeer::SetGcHook(store_.get(), [&](const std::string& where) {
    if (where == "listed" && !putter.joinable()) {
      // Gone's manifest is swept; its chunks are about to be doomed.
      putter = std::thread([&] {
        put = store_->Put(again.name, as::testing::WholeSource(again.data), PutOptions{});
      });
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return held; });
    } else if (where == "doomed" && putter.joinable()) {
      // Let the put commit while gc waits for the horizon.
      std::lock_guard<std::mutex> l(mu);
      release = true;
      cv.notify_all();
    }
  });
  GcReport g = Gc();
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;  // whatever happened, let it finish
    cv.notify_all();
  }
  ASSERT_TRUE(putter.joinable()) << "gc listed no chunks";
  putter.join();
  StoreTestPeer::SetGcHook(store_.get(), nullptr);
  StoreTestPeer::SetPutHook(store_.get(), nullptr);
  EXPECT_EQ(g.dead_manifests, 1u);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->new_bytes, 0u) << "deduplicated against gone's chunks";
  EXPECT_GT(store_->Counters().refs_resurrected, 0u) << "its commit brought them back";
  EXPECT_EQ(store_->Counters().refs_gone, 0u);
  EXPECT_EQ(g.dead_chunks, 0u) << "none of gone's chunks was swept";
  ExpectReads({again});
  ExpectClean();
}

// gc dooms and sweeps a bounded batch of rows at a time (never its whole
// garbage in memory: docs/index-at-scale.md). With batches of 7 rows and
// many times that much garbage, of chunks and of manifests: a dry run
// counts exactly what the run then collects, exactly the garbage goes (as
// many chunks and manifests stay as a store of only the live objects
// holds), a put committed between the listing and the dooms keeps what it
// deduplicated against (brought back by the sweep), every live object reads
// back, and the doom hook fires once a round, after its last batch.
TEST_F(GcMergeTest, GarbageOfManyBatchesGoesExactly) {
  StoreTestPeer::SetGcBatchRows(store_.get(), 7);
  std::vector<Obj> live, dead;
  for (int i = 0; i < 40; i++) {
    Obj o = PutSmall(i % 4 == 3 ? "t2" : kDefaultTenant, "o" + std::to_string(i),
                     20000 + 1000 * i);
    (i % 2 ? live : dead).push_back(std::move(o));
  }
  // A live object sharing most of a dead one's chunks (its first 15000
  // bytes: their chunks are the same, cut by content). Without delta
  // chunks: its last one would be built on the dead object's, and keep that
  // as its base (right, but not what a store of the live objects holds).
  Obj prefix{ObjectName{kDefaultTenant, "m", "prefix"},
             Bytes(dead[2].data.begin(), dead[2].data.begin() + 15000)};
  PutOptions no_delta;
  no_delta.delta = false;
  ASSERT_TRUE(store_->Put(prefix.name, as::testing::WholeSource(prefix.data), no_delta).ok());
  live.push_back(prefix);
  for (const Obj& o : dead) ASSERT_TRUE(store_->Remove(o.name).ok());
  // Put again, between the listing and the dooms: its chunks are doomed as
  // garbage, then kept by the second mark.
  Obj again{ObjectName{kDefaultTenant, "m", "again"}, dead[4].data};

  // What should stay: the rows of a store holding only the live objects
  // (and again).
  auto rows_of = [&](const std::vector<Obj>& objs) {
    std::string dir;
    auto ref = as::testing::OpenTestStore("gc_merge_ref", &dir, Options());
    EXPECT_TRUE(ref);
    StoreStats st;
    if (ref) {
      for (const Obj& o : objs) {
        auto r = ref->Put(o.name, as::testing::WholeSource(o.data), PutOptions{});
        EXPECT_TRUE(r.ok()) << r.status().ToString();
      }
      auto got = ref->Stats();
      EXPECT_TRUE(got.ok()) << got.status().ToString();
      if (got.ok()) st = *got;
      ref.reset();
    }
    std::filesystem::remove_all(dir);
    return st;
  };
  std::vector<Obj> at_end = live;
  at_end.push_back(again);
  const StoreStats want = rows_of(at_end);
  const uint64_t again_only = want.unique_chunks - rows_of(live).unique_chunks;
  auto before = store_->Stats();
  ASSERT_TRUE(before.ok());
  const uint64_t dead_manifests = before->manifests - (want.manifests - 1);
  const uint64_t dead_chunks = before->unique_chunks - want.unique_chunks;
  ASSERT_GT(dead_chunks, 5u * 7) << "garbage of several batches";
  ASSERT_GT(dead_manifests, 2u * 7);
  ASSERT_GT(again_only, 0u);

  GcOptions go;
  go.grace_seconds = 0;
  go.rewrite_threshold = 1.01;  // every pack goes, so every unreferenced chunk does
  go.dry_run = true;
  auto dry = store_->Gc(go);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_EQ(dry->dead_manifests, dead_manifests);
  EXPECT_EQ(dry->dead_chunks, dead_chunks + again_only) << "no put between its listing and doom";
  auto unchanged = store_->Stats();
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->unique_chunks, before->unique_chunks) << "a dry run changes nothing";
  EXPECT_EQ(unchanged->manifests, before->manifests);

  int doomed_hooks = 0;
  StoreTestPeer::SetGcHook(store_.get(), [&](const std::string& where) {
    if (where == "doomed") doomed_hooks++;
    if (where != "listed") return;
    auto r = store_->Put(again.name, as::testing::WholeSource(again.data), PutOptions{});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->new_bytes, 0u) << "deduplicated against the dead object's chunks";
  });
  go.dry_run = false;
  auto g = store_->Gc(go);
  StoreTestPeer::SetGcHook(store_.get(), nullptr);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(doomed_hooks, 2) << "once for the manifests, once for the chunks";
  EXPECT_EQ(g->dead_manifests, dead_manifests);
  EXPECT_EQ(g->dead_chunks, dead_chunks);
  EXPECT_EQ(g->resurrected, again_only) << "again's chunks, doomed, then kept";
  EXPECT_EQ(g->doomed_waiting, 0u);
  auto after = store_->Stats();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->unique_chunks, want.unique_chunks);
  EXPECT_EQ(after->manifests, want.manifests);
  EXPECT_EQ(after->names, want.names);
  ExpectReads(at_end);
  ExpectClean();
  // Every phase timed, in order.
  std::vector<std::string> phases;
  for (const auto& [phase, seconds] : g->phase_seconds) phases.push_back(phase);
  EXPECT_EQ(phases, (std::vector<std::string>{"uploads", "manifests", "mark", "doom", "sweep",
                                              "rewrite", "orphans"}));
  EXPECT_GT(g->seconds, 0.0);

  GcReport next = Gc();
  EXPECT_EQ(next.dead_chunks, 0u);
  EXPECT_EQ(next.dead_manifests, 0u);
  ExpectReads(at_end);
}

// A full file system: the merge's copies fail for want of room. Gc then
// deletes the packs with no live frame (they need no copy; 35 of them, in
// commits of at most 7 rows, so batches end inside a pack's rows too), says
// why it did no more, and leaves no pack of the failed copies behind (even
// inside the orphan grace period). The next gc with room does the merge.
TEST_F(GcMergeTest, OutOfSpaceDeletesWhatNeedsNoCopy) {
  AS_SKIP_UNLESS_LOCAL_PACKS();
  FaultEnv env;
  ASSERT_NO_FATAL_FAILURE(ReopenWith(&env));
  std::vector<Obj> live = PutSmalls(30, "r");
  for (const Obj& dead : PutSmalls(35, "d")) ASSERT_TRUE(store_->Remove(dead.name).ok());
  ASSERT_EQ(Packs(), 65u);
  StoreTestPeer::SetDeleteRowsPerCommit(store_.get(), 7);
  // The second output pack's sync (ENOSPC can come from a sync, when the
  // file system allocates late): the first output pack is sealed by then.
  env.FailAfter(FaultEnv::Op::kSync, 2, "/packs/", Code::kNoSpace);
  GcOptions go;
  go.grace_seconds = 3600;
  auto g = store_->Gc(go);
  ASSERT_EQ(env.faults_fired(), 1);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_NE(g->rewrites_skipped.find("injected sync failure"), std::string::npos)
      << g->rewrites_skipped;
  EXPECT_EQ(g->packs_deleted, 35u);
  EXPECT_EQ(g->packs_rewritten, 0u);
  EXPECT_EQ(Packs(), 30u);
  ExpectReads(live);
  ExpectClean();

  GcReport again = Gc();
  EXPECT_TRUE(again.rewrites_skipped.empty());
  EXPECT_EQ(again.packs_merged, 30u);
  ExpectReads(live);
  ExpectClean();
}

class GcMergeFaultTest : public GcMergeTest,
                         public ::testing::WithParamInterface<std::pair<FaultEnv::Op, int>> {
 protected:
  void SetUp() override {
    GcMergeTest::SetUp();
    AS_SKIP_UNLESS_LOCAL_PACKS();  // faults of the Env's pack files
  }
};

// A merge that fails part way (an Append, Sync, SyncDir or rename of one of
// its new packs) commits nothing: every object still reads, and after a
// crash the store verifies clean and the next gc does the merge.
TEST_P(GcMergeFaultTest, FailedMergeLosesNothing) {
  const auto [op, nth] = GetParam();
  FaultEnv env;
  ASSERT_NO_FATAL_FAILURE(ReopenWith(&env));
  std::vector<Obj> live = PutSmalls(30, "r");
  env.FailAfter(op, nth, "/packs/");
  GcOptions go;
  go.grace_seconds = 0;
  auto g = store_->Gc(go);
  ASSERT_EQ(env.faults_fired(), 1);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), Code::kIOError) << g.status().ToString();
  EXPECT_EQ(Packs(), 30u);
  ExpectReads(live);

  store_.reset();
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  ASSERT_NO_FATAL_FAILURE(ReopenWith(&env));
  ExpectReads(live);
  GcReport again = Gc();  // also sweeps any pack the failed run sealed
  EXPECT_EQ(again.packs_merged, 30u);
  ExpectReads(live);
  ExpectClean();
}

INSTANTIATE_TEST_SUITE_P(Faults, GcMergeFaultTest,
                         ::testing::Values(std::make_pair(FaultEnv::Op::kAppend, 1),
                                           std::make_pair(FaultEnv::Op::kAppend, 9),
                                           std::make_pair(FaultEnv::Op::kSync, 1),
                                           std::make_pair(FaultEnv::Op::kSync, 2),
                                           std::make_pair(FaultEnv::Op::kRename, 1),
                                           std::make_pair(FaultEnv::Op::kRename, 3),
                                           std::make_pair(FaultEnv::Op::kSyncDir, 2)));

}  // namespace
}  // namespace as
