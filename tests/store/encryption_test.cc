// Encryption at rest (docs/format/encryption.md): encrypted tenants read back
// through every path, leave no plaintext, no plain digest and no plain attrs
// in the store's files, are isolated from each other, rotate keys, and come
// back from their packs; a store opened without its master key, or with
// another, is refused as it is.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "artifact_store/store.h"
#include "base/bytes.h"
#include "hash/blake3.h"
#include "seed.h"
#include "store_fixture.h"
#include "test_util.h"

namespace as {
namespace {

using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;

// 4/16/64 KiB chunks, so edits make delta chunks (delta_test.cc).
constexpr ChunkerParams kChunker{4096, 16384, 65536, 1};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every file under dir (packs, metadata.db and its WAL, KEYS, leftovers):
// path -> bytes.
std::map<std::string, std::string> Files(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[e.path().string()] = ReadAll(e.path());
  }
  return out;
}

// Where `needle` occurs in the store's files, "" when nowhere.
std::string FoundIn(const std::map<std::string, std::string>& files, const std::string& needle) {
  for (const auto& [path, bytes] : files) {
    if (bytes.find(needle) != std::string::npos) return path;
  }
  return "";
}

class EncryptionTest : public as::testing::TempStoreTest {
 protected:
  void SetUp() override {
    seed_ = as::testing::TestSeed("encryption");
    key_dir_ = as::testing::TempDir("encryption-keys");
    key_ = key_dir_ + "/master.key";
    ASSERT_TRUE(CreateMasterKeyFile(key_).ok());
    StoreOptions o;
    o.master_key_file = key_;
    store_ = as::testing::OpenTestStore("encryption", &dir_, o, kChunker);
    ASSERT_TRUE(store_);
    ASSERT_TRUE(store_->CreateTenant("sec", true).ok());
    ASSERT_TRUE(store_->CreateTenant("sec2", true).ok());
    ASSERT_TRUE(store_->CreateBucket("sec", "b").ok());
    ASSERT_TRUE(store_->CreateBucket("sec2", "b").ok());
    v1_ = as::testing::RandomBytes(600 << 10, seed_);
    // Text too: compressible, so frames are zstd before they are sealed.
    for (int i = 0; i < 20000; i++) {
      std::string line = "line " + std::to_string(i) + " of the secret text\n";
      v1_.insert(v1_.end(), line.begin(), line.end());
    }
    v2_ = v1_;
    for (size_t off : {100000u, 400000u}) v2_[off] ^= 0x5a;  // two edited chunks: deltas
  }
  void TearDown() override {
    as::testing::TempStoreTest::TearDown();
    fs::remove_all(key_dir_);
  }

  Result<std::unique_ptr<Store>> Reopen(const std::string& key) {
    store_.reset();
    StoreOptions o;
    o.master_key_file = key;
    return as::testing::OpenStore(dir_, o);
  }
  Result<PutResult> Put(const std::string& tenant, const std::string& key, const Bytes& data,
                        const std::string& attrs = "") {
    PutOptions po;
    if (!attrs.empty()) po.finish = [attrs]() -> Result<std::string> { return attrs; };
    return store_->Put(ObjectName{tenant, "b", key}, as::testing::WholeSource(data), po);
  }
  Bytes Get(const std::string& tenant, const std::string& ref,
            std::optional<ByteRange> range = std::nullopt) {
    Bytes got;
    Status s = store_->Get(tenant, ref, [&](const uint8_t* p, size_t n) {
      got.insert(got.end(), p, p + n);
      return Status::OK();
    }, range);
    EXPECT_TRUE(s.ok()) << ref << ": " << s.ToString();
    return got;
  }

  uint64_t seed_ = 0;
  std::string key_dir_, key_;
  Bytes v1_, v2_;
};

TEST_F(EncryptionTest, EveryReadPathWorksAndNothingPlainIsOnDisk) {
  // A distinctive attrs value: it must not be on disk in the clear either.
  const std::string attrs = "attrs-that-name-a-secret-content-type";
  auto p1 = Put("sec", "v1", v1_, attrs);
  ASSERT_TRUE(p1.ok()) << p1.status().ToString();
  auto p2 = Put("sec", "v2", v2_);
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  EXPECT_GT(p2->delta_chunks, 0u) << "an edited version is stored as deltas";
  EXPECT_EQ(p1->content, Blake3(v1_.data(), v1_.size())) << "the put reports the plain digest";
  EXPECT_EQ(p1->manifest.algo, DigestAlgo::kBlake3Keyed);

  EXPECT_EQ(Get("sec", "b/v1"), v1_);
  EXPECT_EQ(Get("sec", "b/v2"), v2_);
  EXPECT_EQ(Get("sec", "b/v2", ByteRange{123456, 234567}),
            Bytes(v2_.begin() + 123456, v2_.begin() + 234568));
  // By its plain content digest (kept only as a keyed value) and its manifest id.
  EXPECT_EQ(Get("sec", p1->content.ToString()), v1_);
  EXPECT_EQ(Get("sec", p1->manifest.ToString()), v1_);
  auto looked = store_->LookupDigest("sec", p1->content);
  ASSERT_TRUE(looked.ok()) << looked.status().ToString();
  EXPECT_EQ(looked->attrs, attrs);
  auto st = store_->Stat("sec", "b/v1");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->content, p1->content);
  EXPECT_EQ(st->attrs, attrs);
  // Copy and multipart.
  ASSERT_TRUE(store_->Copy(ObjectName{"sec", "b", "v1"}, ObjectName{"sec", "b", "copy"}, "", true)
                  .ok());
  EXPECT_EQ(Get("sec", "b/copy"), v1_);
  auto up = store_->CreateUpload(ObjectName{"sec", "b", "mp"}, attrs);
  ASSERT_TRUE(up.ok());
  const size_t half = v2_.size() / 2;
  Bytes a(v2_.begin(), v2_.begin() + static_cast<ptrdiff_t>(half)),
      b(v2_.begin() + static_cast<ptrdiff_t>(half), v2_.end());
  ASSERT_TRUE(store_->PutPart("sec", up->id, 1, as::testing::WholeSource(a), {}).ok());
  ASSERT_TRUE(store_->PutPart("sec", up->id, 2, as::testing::WholeSource(b), {}).ok());
  auto ups = store_->ListUploads("sec", "b");
  ASSERT_TRUE(ups.ok());
  ASSERT_EQ(ups->size(), 1u);
  EXPECT_EQ((*ups)[0].attrs, attrs);
  auto done = store_->CompleteUpload("sec", up->id, {1, 2}, attrs);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->content, Blake3(v2_.data(), v2_.size()));
  EXPECT_EQ(Get("sec", "b/mp"), v2_);
  auto listed = store_->ListBucket("sec", "b", "", "", 100);
  ASSERT_TRUE(listed.ok());
  for (const ArtifactInfo& i : *listed) {
    if (i.name->key == "v1" || i.name->key == "mp") {
      EXPECT_EQ(i.attrs, attrs) << i.name->key;
    }
  }
  // gc (v1 gone, packs merged) and verify --full.
  ASSERT_TRUE(store_->Remove(ObjectName{"sec", "b", "copy"}).ok());
  GcOptions g;
  g.grace_seconds = 0;
  auto gc = store_->Gc(g);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(Get("sec", "b/v1"), v1_);
  EXPECT_EQ(Get("sec", "b/v2"), v2_);
  auto v = store_->Verify(true);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok()) << (v->bad.empty() ? v->problems.front() : v->bad.front().problem);

  if (as::testing::StoresOnS3() || as::testing::StoresOnPostgres()) {
    GTEST_SKIP() << "the files searched are DIR/packs and DIR/metadata.db";
  }
  store_.reset();  // the WAL checkpointed: nothing hides in a page not yet written
  const auto files = Files(dir_);
  for (size_t off = 0; off + 16 <= v2_.size(); off += 4093) {
    const std::string w(v2_.begin() + static_cast<ptrdiff_t>(off),
                        v2_.begin() + static_cast<ptrdiff_t>(off + 16));
    ASSERT_EQ(FoundIn(files, w), "") << "plaintext at offset " << off;
  }
  for (const Bytes* data : {&v1_, &v2_}) {
    const Digest d = Blake3(data->data(), data->size());
    const std::string bin(d.bytes.begin(), d.bytes.begin() + 32);
    EXPECT_EQ(FoundIn(files, bin), "") << "content digest in binary";
    EXPECT_EQ(FoundIn(files, ToHex(d.bytes.data(), 32)), "") << "content digest in hex";
  }
  EXPECT_EQ(FoundIn(files, attrs), "") << "attrs in the clear";
}

TEST_F(EncryptionTest, PlainTenantsPayNothingAndLeaveTheirBytesVisible) {
  ASSERT_TRUE(Put("default", "v1", v1_).ok());
  auto t = store_->GetTenant("default");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->encrypted);
  auto st = store_->Stat("default", "b/v1");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->manifest.algo, DigestAlgo::kBlake3);
  if (as::testing::StoresOnS3()) GTEST_SKIP() << "the files searched are DIR/packs";
  store_.reset();
  // The control of the test above: the same search finds a plain tenant's
  // bytes (random ones are stored as they are) and its content digest.
  const auto files = Files(dir_);
  EXPECT_NE(FoundIn(files, std::string(v1_.begin() + 4093, v1_.begin() + 4093 + 16)), "");
  if (!as::testing::StoresOnPostgres()) {
    const Digest d = Blake3(v1_.data(), v1_.size());
    EXPECT_NE(FoundIn(files, std::string(d.bytes.begin(), d.bytes.begin() + 32)), "");
  }
}

TEST_F(EncryptionTest, TenantsShareNoChunkNoDigestAndNoKey) {
  auto a = Put("sec", "same", v1_);
  auto b = Put("sec2", "same", v1_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->content, b->content);
  EXPECT_NE(a->manifest, b->manifest);
  EXPECT_EQ(b->new_chunks, b->chunks) << "no dedup across tenants";
  auto ta = store_->GetTenant("sec");
  auto tb = store_->GetTenant("sec2");
  ASSERT_TRUE(ta.ok() && tb.ok());
  EXPECT_NE(ta->current_key, tb->current_key);
  auto ma = store_->ManifestBytes("sec", "b/same");
  auto mb = store_->ManifestBytes("sec2", "b/same");
  ASSERT_TRUE(ma.ok() && mb.ok());
  EXPECT_NE(*ma, *mb) << "chunk ids are keyed per tenant";
  // The other tenant cannot name it by digest.
  EXPECT_EQ(store_->Stat("sec2", a->manifest.ToString()).status().code(), Code::kNotFound);
}

TEST_F(EncryptionTest, WithoutItsKeyOrWithAnotherTheStoreIsRefusedAsItIs) {
  ASSERT_TRUE(Put("sec", "v1", v1_).ok());
  store_.reset();
  // DIR's files must be as they were (on PostgreSQL the database is the
  // server's: only DIR is compared).
  auto before = Files(dir_);
  before.erase(dir_ + "/LOCK");
  auto none = Reopen("");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kInvalidArgument);
  EXPECT_NE(none.status().message().find("master key"), std::string::npos);
  const std::string other = key_dir_ + "/other.key";
  ASSERT_TRUE(CreateMasterKeyFile(other).ok());
  auto wrong = Reopen(other);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find(other), std::string::npos) << wrong.status().ToString();
  auto after = Files(dir_);
  after.erase(dir_ + "/LOCK");
  EXPECT_TRUE(before == after) << "a refused open changed the store's files";
  // Without the key, what needs none: the CRC check of every frame.
  {
    StoreOptions o;
    o.allow_without_master_key = true;
    auto locked = as::testing::OpenStore(dir_, o);
    ASSERT_TRUE(locked.ok()) << locked.status().ToString();
    auto v = (*locked)->Verify(false);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_TRUE(v->ok());
    EXPECT_GT(v->frames, 0u);
    auto got = (*locked)->Get("sec", "b/v1", [](const uint8_t*, size_t) { return Status::OK(); });
    EXPECT_EQ(got.code(), Code::kInvalidArgument) << got.ToString();
    EXPECT_NE(got.message().find("master key"), std::string::npos);
  }
  auto right = Reopen(key_);
  ASSERT_TRUE(right.ok()) << right.status().ToString();
  store_ = std::move(*right);
  EXPECT_EQ(Get("sec", "b/v1"), v1_);
}

TEST_F(EncryptionTest, RotatedKeysAllReadAndTheOldMasterKeyNoLongerOpens) {
  ASSERT_TRUE(Put("sec", "a", v1_, "attrs-of-a").ok());
  auto k2 = store_->RotateTenantKey("sec");
  ASSERT_TRUE(k2.ok()) << k2.status().ToString();
  ASSERT_TRUE(Put("sec", "b", v2_).ok());
  auto k3 = store_->RotateTenantKey("sec");
  ASSERT_TRUE(k3.ok());
  EXPECT_GT(*k3, *k2);
  Bytes c = as::testing::RandomBytes(100 << 10, seed_ + 9);
  ASSERT_TRUE(Put("sec", "c", c).ok());
  auto t = store_->GetTenant("sec");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->keys, 3u);
  EXPECT_EQ(t->current_key, *k3);
  EXPECT_EQ(store_->RotateTenantKey("default").status().code(), Code::kFailedPrecondition);
  // rekey: every frame under the two older keys sealed anew; a second pass
  // finds none left.
  GcOptions rk;
  rk.rekey_tenant = "sec";
  auto r1 = store_->Gc(rk);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_GT(r1->frames_rekeyed, 0u);
  EXPECT_GT(r1->packs_rekeyed, 0u);
  EXPECT_EQ(r1->values_rekeyed, 1u) << "a's attrs, sealed under the first key";
  auto r2 = store_->Gc(rk);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->frames_rekeyed, 0u);
  EXPECT_EQ(r2->packs_rekeyed, 0u);
  EXPECT_EQ(r2->values_rekeyed, 0u);
  auto a_attrs = store_->Stat("sec", "b/a");
  ASSERT_TRUE(a_attrs.ok());
  EXPECT_EQ(a_attrs->attrs, "attrs-of-a");
  rk.rekey_tenant = "default";
  EXPECT_EQ(store_->Gc(rk).status().code(), Code::kFailedPrecondition);
  // Retiring: once a newer key has been the newest for twice the reload
  // interval (100 ms here; key times are in seconds), the two older keys
  // seal nothing any more and go; the newest stays.
  ::setenv("AS_TEST_KEY_RELOAD_MS", "100", 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto retired = store_->RetireTenantKeys("sec");
  ASSERT_TRUE(retired.ok()) << retired.status().ToString();
  EXPECT_EQ(retired->retired.size(), 2u) << (retired->kept.empty() ? "" : retired->kept[0].second);
  auto after_retire = store_->GetTenant("sec");
  ASSERT_TRUE(after_retire.ok());
  EXPECT_EQ(after_retire->keys, 1u);
  EXPECT_EQ(after_retire->current_key, *k3);
  EXPECT_EQ(store_->RetireTenantKeys("default").status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Get("sec", "b/a"), v1_);
  EXPECT_EQ(Get("sec", "b/b"), v2_);
  const std::string next = key_dir_ + "/next.key";
  ASSERT_TRUE(CreateMasterKeyFile(next).ok());
  ASSERT_TRUE(store_->RotateMasterKey(next).ok());
  EXPECT_EQ(Get("sec", "b/a"), v1_);  // the open store goes on
  auto old_key = Reopen(key_);
  EXPECT_EQ(old_key.status().code(), Code::kInvalidArgument);
  auto new_key = Reopen(next);
  ASSERT_TRUE(new_key.ok()) << new_key.status().ToString();
  store_ = std::move(*new_key);
  EXPECT_EQ(Get("sec", "b/a"), v1_);
  EXPECT_EQ(Get("sec", "b/b"), v2_);
  EXPECT_EQ(Get("sec", "b/c"), c);
  auto v = store_->Verify(true);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok());
  ::unsetenv("AS_TEST_KEY_RELOAD_MS");
}

// A key still sealing something is kept, and says why.
TEST_F(EncryptionTest, AKeyInUseIsNotRetired) {
  ASSERT_TRUE(Put("sec", "a", v1_, "attrs").ok());
  ASSERT_TRUE(store_->RotateTenantKey("sec").ok());
  ::setenv("AS_TEST_KEY_RELOAD_MS", "100", 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto r = store_->RetireTenantKeys("sec");
  ::unsetenv("AS_TEST_KEY_RELOAD_MS");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->retired.empty());
  ASSERT_EQ(r->kept.size(), 1u);
  EXPECT_NE(r->kept[0].second.find("rekey"), std::string::npos) << r->kept[0].second;
  EXPECT_EQ(Get("sec", "b/a"), v1_);
}

TEST_F(EncryptionTest, ReindexFromThePacksWithTheMasterKey) {
  ASSERT_TRUE(Put("sec", "v1", v1_).ok());
  ASSERT_TRUE(Put("sec", "v2", v2_).ok());
  ASSERT_TRUE(store_->RotateTenantKey("sec").ok());
  ASSERT_TRUE(Put("default", "plain", v1_).ok());
  store_.reset();
  as::testing::LoseMetadata(dir_);
  StoreOptions o;
  o.recreate_missing_metadata = true;
  // Without the key, or with another, refused before a database is made
  // anew (DIR/KEYS says the store has encrypted tenants).
  auto keyless = as::testing::OpenStore(dir_, o);
  EXPECT_EQ(keyless.status().code(), Code::kInvalidArgument) << keyless.status().ToString();
  const std::string other = key_dir_ + "/other.key";
  ASSERT_TRUE(CreateMasterKeyFile(other).ok());
  o.master_key_file = other;
  auto wrong = as::testing::OpenStore(dir_, o);
  EXPECT_EQ(wrong.status().code(), Code::kInvalidArgument) << wrong.status().ToString();
  EXPECT_FALSE(fs::exists(dir_ + "/metadata.db"));
  o.master_key_file = key_;
  auto s = as::testing::OpenStore(dir_, o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  store_ = std::move(*s);
  auto r = store_->Reindex({});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->skipped.empty()) << r->skipped.front();
  EXPECT_EQ(Get("sec", "b/v1"), v1_);
  EXPECT_EQ(Get("sec", "b/v2"), v2_);
  EXPECT_EQ(Get("sec", Blake3(v2_.data(), v2_.size()).ToString()), v2_);
  EXPECT_EQ(Get("default", "b/plain"), v1_);
  auto t = store_->GetTenant("sec");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->encrypted);
  EXPECT_EQ(t->keys, 2u);
  // New puts still dedup against the reindexed chunks.
  auto again = Put("sec", "v1-again", v1_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->new_chunks, 0u);
}

}  // namespace
}  // namespace as
