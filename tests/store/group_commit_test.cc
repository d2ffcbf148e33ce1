// Group commit: small puts that wait while another commit is being written
// are committed together, in one pack and one transaction; a failure of one
// put's rows fails only that put, a failure of the shared pack fails them all
// and leaves nothing behind.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
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
using as::testing::RandomBytes;
using Bytes = std::vector<uint8_t>;

constexpr int kFollowers = 6;

class GroupCommitTest : public as::testing::TempStoreTest {
 protected:
  void SetUp() override {
    // The group forms while the first put's pack sync is held (a hook of
    // the Env): a pack in a bucket has no Env sync to hold.
    AS_SKIP_UNLESS_LOCAL_PACKS();
    seed_ = as::testing::TestSeed("group_commit");
    StoreOptions o;
    o.env = &env_;
    store_ = as::testing::OpenTestStore("group_commit", &dir_, o);
    ASSERT_TRUE(store_);
    // The first pack sync (the lone first put's) waits until the followers
    // have queued behind it, so they are committed as one group.
    env_.SetSyncHook([this](const std::string& path) {
      if (path.find("/packs/") == std::string::npos || !hold_.exchange(false)) return;
      held_ = true;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (StoreTestPeer::GroupQueued(store_.get()) < kFollowers &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }

  struct Obj {
    ObjectName name;
    Bytes data;
    PutOptions options;
    Result<PutResult> result = Status::Internal("not run");
  };
  Result<PutResult> PutObj(Obj* o) {
    return store_->Put(o->name, as::testing::WholeSource(o->data), o->options);
  }
  // Puts first alone (its sync held), then the others while it waits.
  void PutAll(Obj* first, std::vector<Obj>* others) {
    hold_ = true;
    std::thread lead([&] { first->result = PutObj(first); });
    while (!held_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::vector<std::thread> ts;
    for (Obj& o : *others) ts.emplace_back([&] { o.result = PutObj(&o); });
    for (auto& t : ts) t.join();
    lead.join();
  }
  Obj Small(const std::string& bucket_key, size_t n) {
    auto name = ObjectName::Parse(bucket_key);
    EXPECT_TRUE(name.ok());
    return Obj{*name, RandomBytes(n, seed_++), PutOptions{}};
  }
  void ExpectReads(const Obj& o) {
    Bytes got;
    Status s = store_->Get(kDefaultTenant, o.name.ToString(), [&](const uint8_t* p, size_t n) {
      got.insert(got.end(), p, p + n);
      return Status::OK();
    });
    ASSERT_TRUE(s.ok()) << o.name.ToString() << ": " << s.ToString();
    EXPECT_TRUE(got == o.data) << o.name.ToString();
  }
  uint64_t Packs() {
    auto st = store_->Stats();
    EXPECT_TRUE(st.ok());
    return st.ok() ? st->packs : 0;
  }

  FaultEnv env_;
  std::atomic<bool> hold_{false}, held_{false};
  uint64_t seed_ = 0;
};

TEST_F(GroupCommitTest, WaitingPutsShareOnePackAndOneCommit) {
  Obj first = Small("g/first", 5000);
  std::vector<Obj> others;
  for (int i = 0; i < kFollowers - 2; i++)
    others.push_back(Small("g/o" + std::to_string(i), 3000 + 1000 * i));
  // The same bytes twice in one group (both store the chunk; one row wins).
  others.push_back(Small("g/twin1", 7000));
  others.push_back(others.back());
  others.back().name.key = "twin2";
  // And one whose bucket is missing: it fails alone.
  Obj orphan = Small("nobucket/x", 4000);
  orphan.options.require_bucket = true;
  others.push_back(orphan);
  ASSERT_EQ(others.size(), size_t{kFollowers} + 1);
  // kFollowers queued is enough to let the first go; the last may join its
  // group or the next one.
  PutAll(&first, &others);

  ASSERT_TRUE(first.result.ok()) << first.result.status().ToString();
  for (size_t i = 0; i + 1 < others.size(); i++) {
    ASSERT_TRUE(others[i].result.ok())
        << others[i].name.ToString() << ": " << others[i].result.status().ToString();
  }
  EXPECT_EQ(others.back().result.status().code(), Code::kNotFound)
      << others.back().result.status().ToString();
  // The first put's own pack, one for the group (plus at most one more, if
  // the last put came after the group was taken).
  EXPECT_GE(Packs(), 2u);
  EXPECT_LE(Packs(), 3u);
  EXPECT_LT(Packs(), others.size());
  EXPECT_EQ(as::testing::PackFileCount(dir_), Packs());
  ExpectReads(first);
  for (size_t i = 0; i + 1 < others.size(); i++) ExpectReads(others[i]);
  EXPECT_EQ(store_->Stat(kDefaultTenant, "nobucket/x").status().code(), Code::kNotFound);
  // The first put alone, then the group (two groups if the last put came late);
  // the put that failed is not counted.
  const StoreCounters c = store_->Counters();
  EXPECT_EQ(c.group_committed_puts, 1 + (others.size() - 1));
  EXPECT_GE(c.group_commits, 2u);
  EXPECT_LE(c.group_commits, 3u);
  auto v = store_->Verify(true);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->ok());

  // A power cut now loses nothing that was acknowledged.
  store_.reset();
  env_.SetSyncHook(nullptr);
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  StoreOptions o;
  o.env = &env_;
  auto s = as::testing::OpenStore(dir_, o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  store_ = std::move(s).value();
  ExpectReads(first);
  for (size_t i = 0; i + 1 < others.size(); i++) ExpectReads(others[i]);
}

TEST_F(GroupCommitTest, AFailedGroupPackFailsItsPutsAndLeavesNothing) {
  Obj first = Small("g/first", 5000);
  std::vector<Obj> others;
  for (int i = 0; i < kFollowers; i++)
    others.push_back(Small("g/o" + std::to_string(i), 3000 + 500 * i));
  env_.FailAfter(FaultEnv::Op::kSync, 2, "/packs/");  // the group's pack
  PutAll(&first, &others);

  ASSERT_EQ(env_.faults_fired(), 1);
  ASSERT_TRUE(first.result.ok()) << first.result.status().ToString();
  for (const Obj& o : others) {
    EXPECT_EQ(o.result.status().code(), Code::kIOError) << o.name.ToString();
    EXPECT_EQ(store_->Stat(kDefaultTenant, o.name.ToString()).status().code(), Code::kNotFound);
  }
  EXPECT_EQ(Packs(), 1u);
  EXPECT_EQ(as::testing::PackFileCount(dir_), 1u) << "the failed group's pack is removed";
  ExpectReads(first);
  // Nothing stale in the dedup filter: the same bytes go in again.
  for (Obj& o : others) {
    o.result = PutObj(&o);
    ASSERT_TRUE(o.result.ok()) << o.result.status().ToString();
    EXPECT_EQ(o.result->new_bytes, o.data.size());
    ExpectReads(o);
  }
}

TEST_F(GroupCommitTest, ManyThreadsPuttingAtOnceAllCommit) {
  // Each waiting put is woken once, by the leader that committed it or that
  // hands it the lead: no put may be left waiting, none committed twice.
  constexpr int kThreads = 12, kEach = 15;
  std::vector<std::vector<Obj>> objs(kThreads);
  for (int t = 0; t < kThreads; t++) {
    for (int i = 0; i < kEach; i++) {
      objs[t].push_back(Small("m/t" + std::to_string(t) + "-" + std::to_string(i), 500 + 97 * i));
    }
  }
  std::vector<std::thread> ts;
  for (auto& mine : objs) {
    ts.emplace_back([&] {
      for (Obj& o : mine) o.result = PutObj(&o);
    });
  }
  for (auto& t : ts) t.join();
  for (const auto& mine : objs) {
    for (const Obj& o : mine) {
      ASSERT_TRUE(o.result.ok()) << o.name.ToString() << ": " << o.result.status().ToString();
      ExpectReads(o);
    }
  }
  const StoreCounters c = store_->Counters();
  EXPECT_EQ(c.group_committed_puts, uint64_t{kThreads * kEach});
  EXPECT_LE(c.group_commits, c.group_committed_puts);
  EXPECT_EQ(StoreTestPeer::GroupQueued(store_.get()), 0u);
}

}  // namespace
}  // namespace as
