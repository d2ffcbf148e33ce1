// Losing metadata.db: `repair --reindex` brings back every tenant whose
// manifests name it, under its old dedup domain, with its names; a domain
// nothing names is reserved, so no new tenant is given (and dedups against)
// another tenant's chunks; GC afterwards keeps what the names reach.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>

#include "artifact_store/store.h"
#include "test_util.h"
#include "store_fixture.h"

namespace as {
namespace {

using Bytes = std::vector<uint8_t>;

ByteSource SourceOf(const Bytes& data) {
  auto pos = std::make_shared<size_t>(0);
  return [&data, pos](uint8_t* buf, size_t cap) -> Result<size_t> {
    size_t n = std::min(cap, data.size() - *pos);
    if (n) std::memcpy(buf, data.data() + *pos, n);
    *pos += n;
    return n;
  };
}

StoreOptions Options() {
  StoreOptions o;
  o.create_if_missing = true;
  o.chunker = ChunkerParams{1024, 4096, 16384, 1};
  o.pack_target_size = 256 << 10;
  return o;
}

Bytes GetBytes(Store* s, const std::string& tenant, const std::string& ref) {
  Bytes out;
  Status st = s->Get(tenant, ref, [&](const uint8_t* p, size_t n) {
    out.insert(out.end(), p, p + n);
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << tenant << " " << ref << ": " << st.ToString();
  return out;
}

bool Has(const std::vector<std::string>& v, const std::string& needle) {
  return std::any_of(v.begin(), v.end(),
                     [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

TEST(ReindexTenants, LostDatabaseBringsBackEveryTenantItsNamesAndIsolation) {
  const std::string dir = testing::TempDir("reindex-tenants");
  const Bytes a = testing::RandomBytes(300 << 10, 1), b = testing::RandomBytes(200 << 10, 2),
              d = testing::RandomBytes(100 << 10, 3), part = testing::RandomBytes(150 << 10, 4);
  {
    auto s = as::testing::OpenStore(dir, Options());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->AddAccessKey("alice").ok());  // domain 2, before bob's 3
    ASSERT_TRUE((*s)->Put({"bob", "bk", "x"}, SourceOf(b)).ok());
    ASSERT_TRUE((*s)->Put({"alice", "ak", "dir/y"}, SourceOf(a)).ok());
    ASSERT_TRUE((*s)->Put({kDefaultTenant, "dk", "z"}, SourceOf(d)).ok());
    // carol has only a part of an upload in progress: no manifest names her.
    ASSERT_TRUE((*s)->CreateBucket("carol", "ck").ok());
    auto up = (*s)->CreateUpload({"carol", "ck", "big"}, "");
    ASSERT_TRUE(up.ok()) << up.status().ToString();
    ASSERT_TRUE((*s)->PutPart("carol", up->id, 1, SourceOf(part), PutOptions{}).ok());
  }
  testing::LoseMetadata(dir);
  StoreOptions o = Options();
  o.recreate_missing_metadata = true;
  auto s = as::testing::OpenStore(dir, o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto rep = (*s)->Reindex();
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_TRUE(rep->skipped.empty());
  EXPECT_TRUE(Has(rep->tenants_restored, "alice"));
  EXPECT_TRUE(Has(rep->tenants_restored, "bob"));
  ASSERT_EQ(rep->tenants_unrestored.size(), 1u);
  EXPECT_TRUE(Has(rep->tenants_unrestored, "reserved")) << rep->tenants_unrestored[0];

  EXPECT_TRUE(GetBytes(s->get(), "alice", "ak/dir/y") == a);
  EXPECT_TRUE(GetBytes(s->get(), "bob", "bk/x") == b);
  EXPECT_TRUE(GetBytes(s->get(), kDefaultTenant, "dk/z") == d);
  EXPECT_FALSE(
      (*s)->Get("bob", "ak/dir/y", [](const uint8_t*, size_t) { return Status::OK(); }).ok())
      << "names stay with their tenant";

  // A tenant made after the reindex gets a domain of its own: putting
  // carol's part again stores every chunk anew (no dedup across tenants),
  // and alice's bytes dedup only for alice.
  ASSERT_TRUE((*s)->AddAccessKey("dave").ok());
  auto pd = (*s)->Put({"dave", "dd", "p"}, SourceOf(part));
  ASSERT_TRUE(pd.ok()) << pd.status().ToString();
  EXPECT_EQ(pd->new_chunks, pd->chunks) << "dave deduplicated against another domain";
  auto pa = (*s)->Put({"alice", "ak", "again"}, SourceOf(a));
  ASSERT_TRUE(pa.ok());
  EXPECT_EQ(pa->new_chunks, 0u) << "alice's chunks are alice's again";

  // GC marks from the restored names: nothing they reach goes.
  auto gc = (*s)->Gc(GcOptions{});
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_TRUE(GetBytes(s->get(), "alice", "ak/dir/y") == a);
  EXPECT_TRUE(GetBytes(s->get(), "bob", "bk/x") == b);
  auto v = (*s)->Verify(true);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok()) << "verify after reindex and gc";
  s->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace as
