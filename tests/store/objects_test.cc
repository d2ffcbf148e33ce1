// The object-store API: attrs kept with names, buckets, copies, pages,
// multipart uploads (including gc of abandoned ones) and access keys.
#include <sys/stat.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "artifact_store/store.h"
#include "hash/blake3.h"
#include "store_fixture.h"
#include "test_util.h"

namespace as {
namespace {

using as::testing::RandomBytes;
using Bytes = std::vector<uint8_t>;

ByteSource Whole(const Bytes& data) { return as::testing::WholeSource(data); }

class ObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = as::testing::OpenTestStore("objects", &dir_);
    ASSERT_TRUE(store_);
  }

  Bytes Read(const std::string& ref, const std::string& tenant = kDefaultTenant) {
    Bytes out;
    Status s = store_->Get(tenant, ref, [&](const uint8_t* p, size_t n) {
      out.insert(out.end(), p, p + n);
      return Status::OK();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ObjectsTest, AttrsAreKeptWithTheNameAndAFailedFinishCommitsNothing) {
  Bytes data = RandomBytes(100000, 1);
  PutOptions po;
  po.finish = [] { return Result<std::string>(std::string("etag\0meta", 9)); };
  ASSERT_TRUE(store_->Put({"default", "b", "k"}, Whole(data), po).ok());
  auto a = store_->Lookup({"default", "b", "k"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->attrs, std::string("etag\0meta", 9));
  EXPECT_EQ(a->size, data.size());
  EXPECT_EQ(a->content, Blake3(data.data(), data.size()));

  PutOptions bad;
  bad.finish = [] { return Result<std::string>(Status::InvalidArgument("checksum mismatch")); };
  Bytes other = RandomBytes(50000, 2);
  auto r = store_->Put({"default", "b", "k"}, Whole(other), bad);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(Read("b/k"), data);  // the old version stays
  auto st = store_->Stats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->names, 1u);
}

TEST_F(ObjectsTest, BucketsAreCreatedListedAndOnlyDeletedWhenEmpty) {
  EXPECT_TRUE(store_->CreateBucket("default", "alpha").ok());
  EXPECT_EQ(store_->CreateBucket("default", "alpha").code(), Code::kAlreadyExists);
  EXPECT_EQ(store_->GetBucket("default", "nope").status().code(), Code::kNotFound);
  PutOptions strict;
  strict.require_bucket = true;
  Bytes data = RandomBytes(1000, 3);
  EXPECT_EQ(store_->Put({"default", "nope", "k"}, Whole(data), strict).status().code(),
            Code::kNotFound);
  ASSERT_TRUE(store_->Put({"default", "alpha", "k"}, Whole(data), strict).ok());
  // A CLI-style put makes its bucket.
  ASSERT_TRUE(store_->Put({"default", "beta", "k"}, Whole(data)).ok());
  auto b = store_->ListBuckets("default");
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ((*b)[0].name, "alpha");
  EXPECT_EQ((*b)[1].name, "beta");
  EXPECT_EQ(store_->DeleteBucket("default", "alpha").code(), Code::kFailedPrecondition);
  ASSERT_TRUE(store_->Remove({"default", "alpha", "k"}).ok());
  EXPECT_TRUE(store_->DeleteBucket("default", "alpha").ok());
  EXPECT_EQ(store_->DeleteBucket("default", "alpha").code(), Code::kNotFound);
  // Tenants do not see each other's buckets.
  auto other = store_->ListBuckets("other");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
}

TEST_F(ObjectsTest, ListBucketPagesByPrefixAndAfter) {
  Bytes data = RandomBytes(10, 4);
  for (std::string k : {"a/1", "a/2", "a/3", "b", "a\xff", "ab"}) {
    ASSERT_TRUE(store_->Put({"default", "bk", k}, Whole(data)).ok());
  }
  auto keys = [&](const std::string& prefix, const std::string& after, size_t limit) {
    std::vector<std::string> out;
    auto r = store_->ListBucket("default", "bk", prefix, after, limit);
    EXPECT_TRUE(r.ok());
    for (const auto& a : *r) out.push_back(a.name->key);
    return out;
  };
  EXPECT_EQ(keys("a/", "", 10), (std::vector<std::string>{"a/1", "a/2", "a/3"}));
  EXPECT_EQ(keys("a/", "a/1", 1), (std::vector<std::string>{"a/2"}));
  EXPECT_EQ(keys("", "a/3", 10), (std::vector<std::string>{"ab", "a\xff", "b"}));
  EXPECT_EQ(keys("a\xff", "", 10), (std::vector<std::string>{"a\xff"}));
  EXPECT_TRUE(keys("zz", "", 10).empty());
}

TEST_F(ObjectsTest, CopyBindsTheSameManifestWithoutNewBytes) {
  Bytes data = RandomBytes(200000, 5);
  PutOptions po;
  po.finish = [] { return Result<std::string>(std::string("src-attrs")); };
  ASSERT_TRUE(store_->Put({"default", "b", "src"}, Whole(data), po).ok());
  auto before = store_->Stats();
  auto c = store_->Copy({"default", "b", "src"}, {"default", "b", "dst"}, "", false);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->attrs, "src-attrs");
  auto c2 = store_->Copy({"default", "b", "src"}, {"default", "b", "dst2"}, "new", false);
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c2->attrs, "new");
  auto after = store_->Stats();
  EXPECT_EQ(after->pack_bytes, before->pack_bytes);
  EXPECT_EQ(Read("b/dst"), data);
  EXPECT_EQ(store_->Copy({"default", "b", "missing"}, {"default", "b", "x"}, "", false)
                .status()
                .code(),
            Code::kNotFound);
  EXPECT_EQ(store_->Copy({"default", "b", "src"}, {"default", "nob", "x"}, "", true)
                .status()
                .code(),
            Code::kNotFound);
  // Bound only while the source still names the manifest the caller saw.
  auto seen = store_->Lookup({"default", "b", "src"});
  ASSERT_TRUE(seen.ok());
  auto same =
      store_->Copy({"default", "b", "src"}, {"default", "b", "dst3"}, "", false, seen->manifest);
  EXPECT_TRUE(same.ok()) << same.status().ToString();
  ASSERT_TRUE(store_->Put({"default", "b", "src"}, Whole(RandomBytes(1000, 6)), po).ok());
  auto stale =
      store_->Copy({"default", "b", "src"}, {"default", "b", "dst4"}, "", false, seen->manifest);
  EXPECT_EQ(stale.status().code(), Code::kFailedPrecondition) << stale.status().ToString();
  EXPECT_EQ(store_->Lookup({"default", "b", "dst4"}).status().code(), Code::kNotFound);
}

TEST_F(ObjectsTest, SetAttrsChangesOnlyTheAttrs) {
  ASSERT_TRUE(store_->Put({"default", "b", "k"}, Whole(RandomBytes(5000, 7))).ok());
  auto before = store_->Lookup({"default", "b", "k"});
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(store_->SetAttrs({"default", "b", "k"}, "tagged", before->manifest).ok());
  auto after = store_->Lookup({"default", "b", "k"});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->attrs, "tagged");
  EXPECT_EQ(after->manifest, before->manifest);
  EXPECT_EQ(after->created, before->created);
  // Rebound meanwhile: refused, unchanged.
  ASSERT_TRUE(store_->Put({"default", "b", "k"}, Whole(RandomBytes(5000, 8))).ok());
  EXPECT_EQ(store_->SetAttrs({"default", "b", "k"}, "stale", before->manifest).code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(store_->Lookup({"default", "b", "k"})->attrs, "");
  EXPECT_EQ(store_->SetAttrs({"default", "b", "gone"}, "x", std::nullopt).code(), Code::kNotFound);
}

TEST_F(ObjectsTest, MultipartCompletesToTheConcatenation) {
  ASSERT_TRUE(store_->CreateBucket("default", "mp").ok());
  EXPECT_EQ(store_->CreateUpload({"default", "nob", "k"}, "").status().code(), Code::kNotFound);
  auto u = store_->CreateUpload({"default", "mp", "big"}, "upload-attrs");
  ASSERT_TRUE(u.ok());
  std::vector<Bytes> parts = {RandomBytes(70000, 6), RandomBytes(50001, 7),
                              RandomBytes(12345, 8)};
  for (uint32_t i = 0; i < parts.size(); i++) {
    PutOptions po;
    po.finish = [i] { return Result<std::string>("part" + std::to_string(i + 1)); };
    auto p = store_->PutPart("default", u->id, i + 1, Whole(parts[i]), po);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->size, parts[i].size());
  }
  // A part re-sent replaces the earlier one.
  ASSERT_TRUE(store_->PutPart("default", u->id, 2, Whole(parts[1]), {}).ok());
  auto listed = store_->ListParts("default", u->id);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[1].number, 2u);
  // Another tenant cannot see or touch it.
  EXPECT_EQ(store_->ListParts("other", u->id).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->AbortUpload("other", u->id).code(), Code::kNotFound);
  // The upload roots its parts through a gc.
  GcOptions g;
  g.grace_seconds = 0;
  ASSERT_TRUE(store_->Gc(g).ok());
  EXPECT_EQ(store_->CompleteUpload("default", u->id, {1, 4}, "").status().code(),
            Code::kNotFound);
  auto done = store_->CompleteUpload("default", u->id, {1, 2, 3}, "final");
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  Bytes all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  EXPECT_EQ(done->content, Blake3(all.data(), all.size()));
  EXPECT_EQ(done->size, all.size());
  EXPECT_EQ(Read("mp/big"), all);
  EXPECT_EQ(store_->Lookup({"default", "mp", "big"})->attrs, "final");
  EXPECT_EQ(store_->GetUpload("default", u->id).status().code(), Code::kNotFound);
  ASSERT_TRUE(store_->Gc(g).ok());
  auto v = store_->Verify(true);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok());
  EXPECT_EQ(Read("mp/big"), all);
  // By content digest too.
  EXPECT_EQ(Read(done->content.ToString()), all);
}

TEST_F(ObjectsTest, AbortedAndExpiredUploadsAreCollected) {
  ASSERT_TRUE(store_->CreateBucket("default", "mp").ok());
  auto u1 = store_->CreateUpload({"default", "mp", "a"}, "");
  auto u2 = store_->CreateUpload({"default", "mp", "b"}, "");
  ASSERT_TRUE(u1.ok() && u2.ok());
  Bytes d1 = RandomBytes(300000, 9), d2 = RandomBytes(300000, 10);
  ASSERT_TRUE(store_->PutPart("default", u1->id, 1, Whole(d1), {}).ok());
  ASSERT_TRUE(store_->PutPart("default", u2->id, 1, Whole(d2), {}).ok());
  EXPECT_EQ(store_->DeleteBucket("default", "mp").code(), Code::kFailedPrecondition);
  ASSERT_TRUE(store_->AbortUpload("default", u1->id).ok());
  EXPECT_EQ(store_->PutPart("default", u1->id, 2, Whole(d1), {}).status().code(),
            Code::kNotFound);
  GcOptions g;
  g.grace_seconds = 0;
  auto r = store_->Gc(g);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uploads_expired, 0u);
  auto s1 = store_->Stats();
  EXPECT_GE(s1->unique_bytes, d2.size());  // u2's part is still rooted
  EXPECT_LT(s1->unique_bytes, d1.size() + d2.size());
  g.upload_grace_seconds = -10;  // everything is "old"
  r = store_->Gc(g);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uploads_expired, 1u);
  EXPECT_EQ(store_->Stats()->unique_bytes, 0u);
  EXPECT_TRUE(store_->DeleteBucket("default", "mp").ok());
}

TEST_F(ObjectsTest, AccessKeysAreRandomPerTenantAndTheDatabaseIsPrivate) {
  auto k1 = store_->AddAccessKey("alice");
  auto k2 = store_->AddAccessKey("bob");
  ASSERT_TRUE(k1.ok() && k2.ok());
  EXPECT_EQ(k1->id.size(), 20u);
  EXPECT_EQ(k1->secret.size(), 40u);
  EXPECT_NE(k1->id, k2->id);
  EXPECT_NE(k1->secret, k2->secret);
  auto f = store_->FindAccessKey(k2->id);
  ASSERT_TRUE(f.ok() && f->has_value());
  EXPECT_EQ((*f)->tenant, "bob");
  EXPECT_EQ((*f)->secret, k2->secret);
  EXPECT_FALSE(store_->FindAccessKey("AKNOPE")->has_value());
  EXPECT_EQ(store_->ListAccessKeys()->size(), 2u);
  if (!testing::StoresOnPostgres()) {  // there the server keeps them
    struct stat st;
    ASSERT_EQ(::stat((dir_ + "/metadata.db").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  EXPECT_FALSE(store_->AddAccessKey("bad/tenant").ok());
}

TEST_F(ObjectsTest, ManifestBytesAreTheCanonicalCborNamedByTheDigest) {
  Bytes data = RandomBytes(40000, 11);
  auto p = store_->Put({"default", "b", "k"}, Whole(data));
  ASSERT_TRUE(p.ok());
  auto m = store_->ManifestBytes("default", p->content.ToString());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Blake3(m->data(), m->size()), p->manifest);
  EXPECT_EQ(store_->ManifestBytes("other", p->content.ToString()).status().code(),
            Code::kNotFound);
}

TEST_F(ObjectsTest, GetFoundReadsWhatTheLookupFoundUntilItIsCollected) {
  Bytes v1 = RandomBytes(60000, 12), v2 = RandomBytes(30000, 13);
  ASSERT_TRUE(store_->Put({"default", "b", "k"}, Whole(v1)).ok());
  auto found = store_->Lookup({"default", "b", "k"});
  ASSERT_TRUE(found.ok());
  // The name moves on; the artifact found before is still readable...
  ASSERT_TRUE(store_->Put({"default", "b", "k"}, Whole(v2)).ok());
  Bytes out;
  auto sink = [&](const uint8_t* p, size_t n) {
    out.insert(out.end(), p, p + n);
    return Status::OK();
  };
  ASSERT_TRUE(store_->GetFound("default", *found, sink, ByteRange{10, 19}).ok());
  EXPECT_EQ(out, Bytes(v1.begin() + 10, v1.begin() + 20));
  // ...until gc collects it.
  GcOptions g;
  g.grace_seconds = 0;
  ASSERT_TRUE(store_->Gc(g).ok());
  out.clear();
  EXPECT_EQ(store_->GetFound("default", *found, sink, std::nullopt).code(), Code::kNotFound);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace as
