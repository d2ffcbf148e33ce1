// Reads on many threads through the store (pooled metadata connections):
// a removed name is gone for every thread's next read, a collected artifact
// is NotFound, and closing the store leaves no file open.
#include <dirent.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "artifact_store/store.h"
#include "store_fixture.h"
#include "test_util.h"

namespace as {
namespace {

using as::testing::RandomBytes;
using Bytes = std::vector<uint8_t>;

ByteSource Whole(const Bytes& data) { return as::testing::WholeSource(data); }

// Files under dir this process has open.
std::vector<std::string> OpenFilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  const std::string canon = std::filesystem::canonical(dir).string();
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(e.path(), ec);
    if (!ec && target.string().rfind(canon, 0) == 0) out.push_back(target.string());
  }
  return out;
}

class ConcurrentReadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.compress_workers = 0;
    store_ = as::testing::OpenTestStore("reads", &dir_, o);
    ASSERT_TRUE(store_);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Status Read(const std::string& ref, Bytes* out) {
    out->clear();
    return store_->Get(kDefaultTenant, ref, [&](const uint8_t* p, size_t n) {
      out->insert(out->end(), p, p + n);
      return Status::OK();
    });
  }
  // Runs fn on kThreads threads at once.
  template <typename Fn>
  void OnThreads(Fn fn) {
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; t++) ts.emplace_back(fn);
    for (auto& t : ts) t.join();
  }

  static constexpr int kThreads = 12;  // more than the pool keeps on a small machine
  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ConcurrentReadsTest, RemovedOrCollectedIsNotFoundOnEveryThread) {
  Bytes data = RandomBytes(50000, 3), other = RandomBytes(20000, 4);
  ASSERT_TRUE(store_->Put({"default", "b", "k"}, Whole(data)).ok());
  ASSERT_TRUE(store_->Put({"default", "b", "keep"}, Whole(other)).ok());
  OnThreads([&] {
    for (int i = 0; i < 20; i++) {
      Bytes out;
      ASSERT_TRUE(Read("b/k", &out).ok());
      ASSERT_EQ(out, data);
    }
  });
  auto found = store_->Lookup({"default", "b", "k"});
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(store_->Remove({"default", "b", "k"}).ok());
  OnThreads([&] {
    Bytes out;
    EXPECT_EQ(Read("b/k", &out).code(), Code::kNotFound);
    EXPECT_EQ(store_->Lookup({"default", "b", "k"}).status().code(), Code::kNotFound);
    EXPECT_EQ(store_->Stat(kDefaultTenant, "b/k").status().code(), Code::kNotFound);
    EXPECT_EQ(store_->LookupDigest(kDefaultTenant, found->content).status().code(),
              Code::kNotFound);
    ASSERT_TRUE(Read("b/keep", &out).ok());
    EXPECT_EQ(out, other);
  });
  GcOptions g;
  g.grace_seconds = 0;
  ASSERT_TRUE(store_->Gc(g).ok());
  OnThreads([&] {
    Bytes out;
    auto sink = [&](const uint8_t* p, size_t n) {
      out.insert(out.end(), p, p + n);
      return Status::OK();
    };
    EXPECT_EQ(store_->GetFound(kDefaultTenant, *found, sink, std::nullopt).code(),
              Code::kNotFound);
    EXPECT_TRUE(out.empty());
    ASSERT_TRUE(Read("b/keep", &out).ok());
    EXPECT_EQ(out, other);
  });
}

TEST_F(ConcurrentReadsTest, PutOnOneThreadIsReadOnTheOthers) {
  for (int i = 0; i < 20; i++) {
    Bytes data = RandomBytes(3000 + i, 100 + i);
    const std::string name = "b/n" + std::to_string(i);
    ASSERT_TRUE(store_->Put({"default", "b", "n" + std::to_string(i)}, Whole(data)).ok());
    OnThreads([&] {
      Bytes out;
      ASSERT_TRUE(Read(name, &out).ok()) << name;
      EXPECT_EQ(out, data);
    });
  }
  auto list = store_->ListBucket(kDefaultTenant, "b", "", "", 100);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 20u);
}

TEST_F(ConcurrentReadsTest, ClosingLeavesNoFileOpenAndTheStoreReopens) {
  Bytes data = RandomBytes(30000, 9);
  ASSERT_TRUE(store_->Put({"default", "b", "k"}, Whole(data)).ok());
  OnThreads([&] {
    Bytes out;
    ASSERT_TRUE(Read("b/k", &out).ok());
  });
  // Still one process per store, pooled readers or not.
  StoreOptions o;
  auto second = as::testing::OpenStore(dir_, o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kBusy);
  EXPECT_FALSE(OpenFilesUnder(dir_).empty());
  store_.reset();
  EXPECT_EQ(OpenFilesUnder(dir_), std::vector<std::string>());
  // The writer closed last, so it checkpointed and removed the WAL.
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/metadata.db-wal"));
  auto again = as::testing::OpenStore(dir_, o);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  store_ = std::move(again).value();
  Bytes out;
  ASSERT_TRUE(Read("b/k", &out).ok());
  EXPECT_EQ(out, data);
  auto v = store_->Verify(true);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->bad.empty());
}

}  // namespace
}  // namespace as
