// The metadata contract (index/metadata.h), one suite for every
// implementation: SQLite (a file) and PostgreSQL (a schema of its own on the
// test server; skipped, saying why, where there is none).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "hash/blake3.h"
#include "index/metadata.h"
#include "index/pg_conn.h"
#include "index/pg_metadata.h"
#include "index/sqlite_metadata.h"
#include "pg_test.h"
#include "test_util.h"

namespace as {
namespace {

Digest D(uint64_t i) { return Blake3(&i, sizeof i); }

SealedPack Pack(const std::string& name, uint32_t domain, size_t frames = 1) {
  SealedPack p;
  p.name = name;
  p.domain = domain;
  p.size = 1000 + frames;
  p.entries.resize(frames);
  return p;
}

NameRow Name(const std::string& bucket, const std::string& key, uint64_t i) {
  NameRow n;
  n.tenant = "default";
  n.bucket = bucket;
  n.key = key;
  n.manifest = D(i);
  n.content = D(i + (uint64_t{1} << 40));
  n.size = i;
  n.created = 7;
  n.attrs = "attrs of " + key;
  return n;
}

ManifestRow Manifest(uint32_t domain, uint64_t i, int64_t pack) {
  ManifestRow m;
  m.domain = domain;
  m.digest = D(i);
  m.content = D(i + (uint64_t{1} << 40));
  m.size = i * 10;
  m.chunks = 2;
  m.loc = Location{pack, 4096, 100, 200};
  return m;
}

// A put of chunks c[0..n) and manifest i, named bucket/key, in one new pack.
PutCommit Put(uint32_t domain, uint64_t first_chunk, size_t n, const std::string& bucket,
              const std::string& key, uint64_t manifest) {
  PutCommit c;
  c.domain = domain;
  c.packs.push_back(Pack("pack-" + std::to_string(manifest), domain, n + 1));
  for (size_t j = 0; j < n; j++) {
    c.chunks.push_back({D(first_chunk + j), Location{0, 64 * j, 64, 100 + uint32_t(j)}});
  }
  c.manifest = Manifest(domain, manifest, 0);
  NameRow name = Name(bucket, key, manifest);
  c.name = name;
  return c;
}

// A chunk key as the index orders it: domain (big-endian), then the
// digest's stored bytes (algorithm byte first).
std::string KeyBytes(const ChunkKey& k) {
  std::string key(4, '\0');
  for (int b = 0; b < 4; b++) key[b] = static_cast<char>(k.domain >> (24 - 8 * b));
  return key + std::string(k.digest.bytes.begin(), k.digest.bytes.end());
}

class MetadataContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      where_ = as::testing::TempDir("contract") + "/metadata.db";
    } else {
      pg_ = std::make_unique<as::testing::PgTestSchema>();
      if (!pg_->skip().empty()) GTEST_SKIP() << pg_->skip();
      ASSERT_TRUE(pg_->error().empty()) << pg_->error();
      where_ = pg_->url();
    }
    m_ = OpenOrDie(true);
    ASSERT_TRUE(m_);
    auto d = m_->TenantDomain("default", true);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    domain_ = *d;
  }
  std::unique_ptr<Metadata> OpenOrDie(bool create) {
    auto m = Metadata::Open(where_, create);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(m).value() : nullptr;
  }
  std::vector<std::string> Keys(const std::string& bucket, const std::string& prefix,
                                const std::string& after, size_t limit = 100) {
    auto r = m_->ListKeys("default", bucket, prefix, after, limit);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const auto& n : *r) out.push_back(n.key);
    }
    return out;
  }

  // Two puts: nine chunks in this test's tenant and four in tenant "other"
  // (another domain, *other_domain), so that key order spans domains.
  void PutInTwoTenants(uint32_t* other_domain = nullptr) {
    auto other = m_->TenantDomain("other", true);
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    if (other_domain) *other_domain = *other;
    ASSERT_TRUE(m_->CommitPut(Put(domain_, 100, 9, "b", "k1", 1)).ok());
    PutCommit p2 = Put(*other, 200, 4, "b", "k2", 2);
    p2.name->tenant = "other";
    ASSERT_TRUE(m_->CommitPut(p2).ok());
  }

  // Totals() must always equal the totals the listings add up, and what a
  // scan of the tables counts (the counters kept by triggers, on both back
  // ends, against the query Totals() ran before them).
  void ExpectExactTotals(const std::string& after) {
    SCOPED_TRACE("after " + after);
    auto kept = m_->Totals();
    ASSERT_TRUE(kept.ok()) << kept.status().ToString();
    StoreTotals listed;
    auto names = m_->AllNames();
    ASSERT_TRUE(names.ok()) << names.status().ToString();
    for (const NameRow& n : *names) {
      listed.names++;
      listed.logical_bytes += n.size;
    }
    ASSERT_TRUE(m_->ForEachChunk([&](const ChunkKey&, const Location& l) {
      listed.unique_chunks++;
      listed.unique_bytes += l.raw_len;
      listed.stored_bytes += l.frame_len;
    }).ok());
    auto packs = m_->ListPacks();
    ASSERT_TRUE(packs.ok()) << packs.status().ToString();
    for (const PackRow& p : *packs) {
      listed.packs++;
      listed.pack_bytes += p.size;
    }
    ASSERT_TRUE(m_->ForEachManifest([&](const ManifestRow&) { listed.manifests++; }).ok());
    EXPECT_EQ(TotalsText(*kept), TotalsText(listed));
    std::optional<Result<StoreTotals>> scan;
    if (auto* lite = dynamic_cast<SqliteMetadata*>(m_.get())) scan = lite->ScanTotals();
    if (auto* pg = dynamic_cast<PgMetadata*>(m_.get())) scan = pg->ScanTotals();
    ASSERT_TRUE(scan && scan->ok()) << (scan ? scan->status().ToString() : "no scan");
    EXPECT_EQ(TotalsText(*kept), TotalsText(**scan));
    auto check = m_->CheckIntegrity(false);
    ASSERT_TRUE(check.ok()) << check.status().ToString();
    EXPECT_TRUE(check->empty()) << (*check)[0];
  }
  static std::string TotalsText(const StoreTotals& t) {
    return "names " + std::to_string(t.names) + " of " + std::to_string(t.logical_bytes) +
           " bytes, chunks " + std::to_string(t.unique_chunks) + " of " +
           std::to_string(t.unique_bytes) + " raw and " + std::to_string(t.stored_bytes) +
           " stored bytes, packs " + std::to_string(t.packs) + " of " +
           std::to_string(t.pack_bytes) + " bytes, manifests " + std::to_string(t.manifests);
  }
  // The chunk generation where it is kept (SQLite); nullopt where it is not
  // (PostgreSQL: Unsupported), after which the test skips.
  std::optional<uint64_t> Watch(Metadata* m) {
    auto g = m->WatchChunkGeneration();
    if (!g.ok()) {
      EXPECT_EQ(g.status().code(), Code::kUnsupported) << g.status().ToString();
      return std::nullopt;
    }
    return *g;
  }
  std::optional<uint64_t> Sole(Metadata* m) {
    auto g = m->SoleChunkGeneration();
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? *g : std::nullopt;
  }

  std::unique_ptr<as::testing::PgTestSchema> pg_;
  std::string where_;
  std::unique_ptr<Metadata> m_;
  uint32_t domain_ = 0;
};

TEST_P(MetadataContractTest, APutsRowsAreFoundOneByOneAndInABatch) {
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 100, 5, "b", "k", 1)).ok());
  auto packs = m_->ListPacks();
  ASSERT_TRUE(packs.ok());
  ASSERT_EQ(packs->size(), 1u);
  const PackRow pack = (*packs)[0];
  EXPECT_EQ(pack.name, "pack-1");
  EXPECT_EQ(pack.frames, 6u);
  EXPECT_EQ(pack.domain, domain_);
  auto got = m_->GetPack(pack.id);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ((*got)->name, "pack-1");
  auto none = m_->GetPack(pack.id + 1000);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);

  auto one = m_->FindChunk(domain_, D(102));
  ASSERT_TRUE(one.ok() && *one);
  EXPECT_EQ((*one)->pack, pack.id);
  EXPECT_EQ((*one)->offset, 128u);
  EXPECT_EQ((*one)->frame_len, 64u);
  EXPECT_EQ((*one)->raw_len, 102u);
  auto other_domain = m_->FindChunk(domain_ + 1, D(102));
  ASSERT_TRUE(other_domain.ok());
  EXPECT_FALSE(*other_domain) << "digests are unique per domain, not across";

  // A batch in the caller's order, misses and repeats included.
  std::vector<Digest> ask = {D(104), D(999), D(100), D(104)};
  std::vector<std::optional<Location>> locs;
  ASSERT_TRUE(m_->FindChunks(domain_, ask.data(), ask.size(), &locs).ok());
  ASSERT_EQ(locs.size(), 4u);
  ASSERT_TRUE(locs[0] && locs[2] && locs[3]);
  EXPECT_FALSE(locs[1]);
  EXPECT_EQ(locs[0]->offset, 256u);
  EXPECT_EQ(locs[2]->offset, 0u);
  EXPECT_EQ(locs[3]->offset, 256u);
  ASSERT_TRUE(m_->FindChunks(domain_, ask.data(), 0, &locs).ok());
  EXPECT_TRUE(locs.empty());

  auto man = m_->FindManifest(domain_, D(1));
  ASSERT_TRUE(man.ok() && *man);
  EXPECT_EQ((*man)->content, D(1 + (uint64_t{1} << 40)));
  EXPECT_EQ((*man)->size, 10u);
  EXPECT_EQ((*man)->loc.pack, pack.id);
  auto by_content = m_->FindManifestByContent(domain_, D(1 + (uint64_t{1} << 40)));
  ASSERT_TRUE(by_content.ok() && *by_content);
  EXPECT_EQ((*by_content)->digest, D(1));

  auto n = m_->GetName("default", "b", "k");
  ASSERT_TRUE(n.ok() && *n);
  EXPECT_EQ((*n)->manifest, D(1));
  EXPECT_EQ((*n)->version, 1u);
  EXPECT_EQ((*n)->attrs, "attrs of k");
  auto missing = m_->GetName("default", "b", "nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(*missing);

  size_t chunks = 0, manifests = 0;
  ASSERT_TRUE(m_->ForEachChunk([&](const ChunkKey& k, const Location&) {
    EXPECT_EQ(k.domain, domain_);
    chunks++;
  }).ok());
  ASSERT_TRUE(m_->ForEachManifest([&](const ManifestRow&) { manifests++; }).ok());
  EXPECT_EQ(chunks, 5u);
  EXPECT_EQ(manifests, 1u);
  // One pack's rows (gc's pass a pack at a time), by offset.
  std::vector<uint64_t> offsets;
  ASSERT_TRUE(m_->ForEachChunkInPack(pack.id, [&](const ChunkKey& k, const Location& l) {
    EXPECT_EQ(k.domain, domain_);
    EXPECT_EQ(l.pack, pack.id);
    offsets.push_back(l.offset);
  }).ok());
  EXPECT_EQ(offsets.size(), 5u);
  EXPECT_TRUE(std::is_sorted(offsets.begin(), offsets.end()));
  size_t in_other = 0;
  ASSERT_TRUE(m_->ForEachChunkInPack(pack.id + 1000, [&](const ChunkKey&, const Location&) {
    in_other++;
  }).ok());
  EXPECT_EQ(in_other, 0u);

  auto t = m_->Totals();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->names, 1u);
  EXPECT_EQ(t->logical_bytes, 1u);
  EXPECT_EQ(t->unique_chunks, 5u);
  EXPECT_EQ(t->unique_bytes, 100u + 101 + 102 + 103 + 104);
  EXPECT_EQ(t->stored_bytes, 5u * 64);
  EXPECT_EQ(t->packs, 1u);
  EXPECT_EQ(t->pack_bytes, 1006u);
  EXPECT_EQ(t->manifests, 1u);
  auto check = m_->CheckIntegrity(true);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->empty());
}

TEST_P(MetadataContractTest, TheNewestCopyOfAChunkWinsAndTheLastOfOneCommit) {
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 100, 2, "b", "k1", 1)).ok());
  PutCommit again = Put(domain_, 101, 1, "b", "k2", 2);  // chunk 101 stored again
  // The same digest twice in one commit: the last one given is kept.
  again.chunks.push_back({D(101), Location{0, 5000, 77, 101}});
  ASSERT_TRUE(m_->CommitPut(again).ok());
  auto packs = m_->ListPacks();
  ASSERT_TRUE(packs.ok() && packs->size() == 2u);
  auto loc = m_->FindChunk(domain_, D(101));
  ASSERT_TRUE(loc.ok() && *loc);
  EXPECT_EQ((*loc)->pack, (*packs)[1].id);
  EXPECT_EQ((*loc)->offset, 5000u);
  EXPECT_EQ((*loc)->frame_len, 77u);
  auto t = m_->Totals();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->unique_chunks, 2u);
}

TEST_P(MetadataContractTest, ALocationMayNameAPackAlreadyInTheTable) {
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 100, 1, "b", "k1", 1)).ok());
  auto packs = m_->ListPacks();
  ASSERT_TRUE(packs.ok() && packs->size() == 1u);
  PutCommit c;
  c.domain = domain_;
  c.chunks.push_back({D(500), Location{-1 - (*packs)[0].id, 9, 9, 9}});
  ASSERT_TRUE(m_->CommitPut(c).ok());
  auto loc = m_->FindChunk(domain_, D(500));
  ASSERT_TRUE(loc.ok() && *loc);
  EXPECT_EQ((*loc)->pack, (*packs)[0].id);
}

TEST_P(MetadataContractTest, RebindingANameCountsItsVersionAndRemovingItTwiceIsNotFound) {
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 100, 1, "b", "k", 1)).ok());
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 200, 1, "b", "k", 2)).ok());
  auto n = m_->GetName("default", "b", "k");
  ASSERT_TRUE(n.ok() && *n);
  EXPECT_EQ((*n)->manifest, D(2));
  EXPECT_EQ((*n)->version, 2u);
  auto named = m_->NamesForManifest(D(2));
  ASSERT_TRUE(named.ok());
  ASSERT_EQ(named->size(), 1u);
  EXPECT_EQ((*named)[0].key, "k");
  ASSERT_TRUE(m_->RemoveName("default", "b", "k").ok());
  auto gone = m_->GetName("default", "b", "k");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(*gone);
  EXPECT_EQ(m_->RemoveName("default", "b", "k").code(), Code::kNotFound);
}

TEST_P(MetadataContractTest, TenantsGetTheirOwnDomainsAndARestoreMustAgree) {
  auto a = m_->TenantDomain("alice", true);
  auto b = m_->TenantDomain("bob", true);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_NE(*a, domain_);
  auto again = m_->TenantDomain("alice", true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *a);
  EXPECT_EQ(m_->TenantDomain("carol", false).status().code(), Code::kNotFound);
  ASSERT_TRUE(m_->RestoreTenant("alice", *a).ok());  // as bound: OK
  EXPECT_EQ(m_->RestoreTenant("alice", *a + 100).code(), Code::kAlreadyExists);
  EXPECT_EQ(m_->RestoreTenant("dave", *b).code(), Code::kAlreadyExists);
  ASSERT_TRUE(m_->RestoreTenant("erin", 77).ok());
  auto e = m_->TenantDomain("erin", false);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, 77u);
  auto next = m_->TenantDomain("frank", true);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 78u) << "a new tenant's domain is above every restored one";
}

TEST_P(MetadataContractTest, BucketsAreUniqueAndDeletedOnlyWhenEmpty) {
  ASSERT_TRUE(m_->CreateBucket("default", "b1").ok());
  EXPECT_EQ(m_->CreateBucket("default", "b1").code(), Code::kAlreadyExists);
  ASSERT_TRUE(m_->CreateBucket("other", "b1").ok()) << "buckets are per tenant";
  PutCommit p = Put(domain_, 100, 1, "b2", "k", 1);
  p.require_bucket = true;
  EXPECT_EQ(m_->CommitPut(p).code(), Code::kNotFound);
  auto packs = m_->ListPacks();
  ASSERT_TRUE(packs.ok());
  EXPECT_TRUE(packs->empty()) << "a failed commit leaves nothing";
  p.name->bucket = "b1";
  ASSERT_TRUE(m_->CommitPut(p).ok());
  EXPECT_EQ(m_->DeleteBucket("default", "b1").code(), Code::kFailedPrecondition);
  EXPECT_EQ(m_->DeleteBucket("default", "nope").code(), Code::kNotFound);
  auto list = m_->ListBuckets("default");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].bucket, "b1");
  ASSERT_TRUE(m_->RemoveName("default", "b1", "k").ok());
  ASSERT_TRUE(m_->DeleteBucket("default", "b1").ok());
  auto b = m_->GetBucket("default", "b1");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(*b);
  // Without require_bucket a put makes its bucket.
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 300, 1, "made", "k", 3)).ok());
  auto made = m_->GetBucket("default", "made");
  ASSERT_TRUE(made.ok() && *made);
}

TEST_P(MetadataContractTest, KeysListInBytewiseOrderByPrefixAndAfter) {
  // Keys are bytes: not UTF-8 ("a\xff") is kept and ordered as bytes too.
  const std::vector<std::string> keys = {"a",   "a%b", "a/b", "a_c",   "ab",
                                         "b",   "\x7f", "\xc3\xa9t\xc3\xa9", "a\xff",
                                         "z/1", "z/2"};
  uint64_t i = 1;
  for (const auto& k : keys) {
    ASSERT_TRUE(m_->CommitPut(Put(domain_, 1000 * i, 1, "b", k, i)).ok()) << k;
    i++;
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(Keys("b", "", ""), sorted);
  EXPECT_EQ(Keys("b", "a", ""),
            (std::vector<std::string>{"a", "a%b", "a/b", "a_c", "ab", "a\xff"}));
  EXPECT_EQ(Keys("b", "a\xff", ""), (std::vector<std::string>{"a\xff"}));
  EXPECT_EQ(Keys("b", "a%", ""), (std::vector<std::string>{"a%b"}));
  EXPECT_EQ(Keys("b", "a_", ""), (std::vector<std::string>{"a_c"}));
  EXPECT_EQ(Keys("b", "a", "a/b"), (std::vector<std::string>{"a_c", "ab", "a\xff"}));
  EXPECT_EQ(Keys("b", "", "b", 2), (std::vector<std::string>{"z/1", "z/2"}));
  EXPECT_EQ(Keys("b", "\x7f", ""), (std::vector<std::string>{"\x7f"}));
  EXPECT_EQ(Keys("b", "\xc3\xa9", ""), (std::vector<std::string>{"\xc3\xa9t\xc3\xa9"}));
  EXPECT_EQ(Keys("b", "z/", "z/1"), (std::vector<std::string>{"z/2"}));
  EXPECT_TRUE(Keys("other", "", "").empty());

  auto names = m_->ListNames("default", "b/a_");
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->size(), 1u);
  EXPECT_EQ((*names)[0].key, "a_c");
  auto all = m_->AllNames();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), keys.size());
  auto by_digest = m_->FindNameByDigest("default", D(3 + (uint64_t{1} << 40)));
  ASSERT_TRUE(by_digest.ok() && *by_digest);
  EXPECT_EQ((*by_digest)->key, keys[2]);
  auto by_manifest = m_->FindNameByDigest("default", D(4));
  ASSERT_TRUE(by_manifest.ok() && *by_manifest);
  EXPECT_EQ((*by_manifest)->key, keys[3]);
  auto elsewhere = m_->FindNameByDigest("other", D(4));
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_FALSE(*elsewhere);
}

TEST_P(MetadataContractTest, AttrsKeepEveryByte) {
  PutCommit p = Put(domain_, 100, 1, "b", "k", 1);
  std::string attrs;
  for (int c = 0; c < 256; c++) attrs += static_cast<char>(c);
  p.name->attrs = attrs;
  ASSERT_TRUE(m_->CommitPut(p).ok());
  auto n = m_->GetName("default", "b", "k");
  ASSERT_TRUE(n.ok() && *n);
  EXPECT_EQ((*n)->attrs, attrs);
}

TEST_P(MetadataContractTest, AGroupCommitFailsOnlyThePutWhoseBucketIsMissing) {
  ASSERT_TRUE(m_->CreateBucket("default", "here").ok());
  PutCommit ok1 = Put(domain_, 100, 2, "here", "a", 1);
  PutCommit bad = Put(domain_, 200, 2, "gone", "b", 2);
  PutCommit ok2 = Put(domain_, 300, 2, "here", "c", 3);
  for (PutCommit* p : {&ok1, &bad, &ok2}) {
    p->packs.clear();  // their frames are in the shared pack
    p->require_bucket = true;
  }
  std::vector<Status> results;
  ASSERT_TRUE(m_->CommitPuts(Pack("shared", domain_, 9), {&ok1, &bad, &ok2}, &results).ok());
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].code(), Code::kNotFound);
  EXPECT_TRUE(results[2].ok());
  auto a = m_->GetName("default", "here", "a");
  auto c = m_->GetName("default", "here", "c");
  ASSERT_TRUE(a.ok() && *a && c.ok() && *c);
  auto b = m_->FindChunk(domain_, D(200));
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(*b) << "the failed put's rows were rolled back";
  auto kept = m_->FindChunk(domain_, D(301));
  ASSERT_TRUE(kept.ok() && *kept);
}

TEST_P(MetadataContractTest, GcDeletesAndMovesOnlyRowsStillInTheOldPack) {
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 100, 3, "b", "k1", 1)).ok());
  auto packs = m_->ListPacks();
  ASSERT_TRUE(packs.ok() && packs->size() == 1u);
  const int64_t old_pack = (*packs)[0].id;
  // A later put re-stored chunk 102 elsewhere: gc's delete must spare it.
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 102, 1, "b", "k2", 2)).ok());
  PutCommit base;
  base.domain = domain_;
  base.bases.push_back({D(100), D(101)});
  ASSERT_TRUE(m_->CommitPut(base).ok());
  int bases = 0;
  ASSERT_TRUE(m_->ForEachChunkBase([&](const ChunkKey&, const Digest&) { bases++; }).ok());
  EXPECT_EQ(bases, 1);

  auto token = m_->BeginGc();
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  // Doomed: 100 (in the old pack) and 102 (named with the old pack, but
  // re-stored elsewhere since: spared). Then swept.
  ASSERT_TRUE(m_->Doom(*token, {{ChunkKey{domain_, D(100)}, old_pack},
                                {ChunkKey{domain_, D(102)}, old_pack}}, {}, nullptr).ok());
  Metadata::Sweep sw;
  sw.drop_chunks = {ChunkKey{domain_, D(100)}, ChunkKey{domain_, D(102)}};
  uint64_t dropped = 0;
  ASSERT_TRUE(m_->CommitSweep(*token, sw, &dropped).ok());
  EXPECT_EQ(dropped, 1u) << "only the doomed row";

  Metadata::GcCommit g;
  g.new_packs.push_back(Pack("rewritten", domain_));
  g.moved_chunks.push_back({ChunkKey{domain_, D(101)}, old_pack, Location{0, 8, 9, 101}});
  g.moved_manifests.push_back({ChunkKey{domain_, D(1)}, old_pack, Location{0, 100, 50, 60}});
  g.dead_packs = {old_pack};
  std::vector<int64_t> gone;
  ASSERT_TRUE(m_->CommitGc(*token, g, &gone).ok());
  EXPECT_EQ(gone, std::vector<int64_t>{old_pack});

  auto c100 = m_->FindChunk(domain_, D(100));
  auto c101 = m_->FindChunk(domain_, D(101));
  auto c102 = m_->FindChunk(domain_, D(102));
  ASSERT_TRUE(c100.ok() && c101.ok() && c102.ok());
  EXPECT_FALSE(*c100);
  ASSERT_TRUE(*c101 && *c102);
  EXPECT_EQ((*c101)->offset, 8u);
  EXPECT_NE((*c101)->pack, old_pack);
  EXPECT_NE((*c102)->pack, old_pack) << "the re-stored copy survives";
  auto man = m_->FindManifest(domain_, D(1));
  ASSERT_TRUE(man.ok() && *man);
  EXPECT_EQ((*man)->loc.offset, 100u);
  bases = 0;
  ASSERT_TRUE(m_->ForEachChunkBase([&](const ChunkKey&, const Digest&) { bases++; }).ok());
  EXPECT_EQ(bases, 0) << "a dead chunk's bases go with it";
  auto old = m_->GetPack(old_pack);
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(*old);

  // A pack some row still points into is not deleted.
  auto now = m_->ListPacks();
  ASSERT_TRUE(now.ok());
  Metadata::GcCommit busy;
  for (const auto& p : *now) busy.dead_packs.push_back(p.id);
  ASSERT_TRUE(m_->CommitGc(*token, busy, &gone).ok());
  EXPECT_TRUE(gone.empty());
  auto still = m_->ListPacks();
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->size(), now->size());
  m_->EndGc();
}

// The doom-and-sweep protocol (Metadata::Doom): a doomed row is not found
// by dedup lookups but still by reads; a commit that looked its chunks up
// before the doom brings doomed ones back, or fails if one was swept; one
// gc run owns the store at a time and a superseded run changes nothing.
TEST_P(MetadataContractTest, DoomedRowsAreKeptByTheCommitsThatReferenceThem) {
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 100, 3, "b", "k1", 1)).ok());
  auto packs = m_->ListPacks();
  ASSERT_TRUE(packs.ok() && packs->size() == 1u);
  const int64_t pack = (*packs)[0].id;
  auto before = m_->GcEpoch();
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  auto token = m_->BeginGc();
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(m_->BeginGc().status().code(), Code::kBusy) << "one run at a time";
  // A put (an Op) that began before the doom holds the horizon back until
  // it ends.
  std::optional<Metadata::Op> op(m_->BeginOp());
  int64_t doomed_at = 0;
  ASSERT_TRUE(m_->Doom(*token, {{ChunkKey{domain_, D(100)}, pack},
                                {ChunkKey{domain_, D(101)}, pack}},
                       {{ChunkKey{domain_, D(1)}, pack}}, &doomed_at).ok());
  auto after = m_->GcEpoch();
  ASSERT_TRUE(after.ok());
  EXPECT_GT(*after, *before);
  EXPECT_EQ(*after, doomed_at);
  uint64_t expelled = 0;
  auto h = m_->Horizon(&expelled);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_LT(*h, doomed_at) << "the op began before the doom";
  EXPECT_EQ(expelled, 0u);
  op.reset();
  h = m_->Horizon(&expelled);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_GE(*h, doomed_at);
  EXPECT_EQ(m_->BeginOp().epoch(), doomed_at) << "ops begin in the new epoch";
  std::set<std::string> doomed;
  ASSERT_TRUE(m_->ForEachDoomed([&](const ChunkKey& k, bool manifest, int64_t p, int64_t e) {
    EXPECT_EQ(p, pack);
    EXPECT_EQ(e, doomed_at);
    doomed.insert((manifest ? "m" : "c") + k.digest.ToString());
  }).ok());
  EXPECT_EQ(doomed, (std::set<std::string>{"c" + D(100).ToString(), "c" + D(101).ToString(),
                                           "m" + D(1).ToString()}));
  auto live = m_->FindLiveChunk(domain_, D(100));
  ASSERT_TRUE(live.ok());
  EXPECT_FALSE(*live) << "a dedup lookup does not find a doomed row";
  auto read = m_->FindChunk(domain_, D(100));
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(*read) << "a read does";

  // A put that looked 100 and 101 up before the doom, and commits after it.
  auto refs = [](std::vector<Digest>* out) { *out = {D(100), D(101)}; };
  PutCommit p2 = Put(domain_, 200, 1, "b", "k2", 2);
  p2.epoch = *before;
  p2.refs = refs;
  // Meanwhile gc swept 101 (it had no reference then).
  Metadata::Sweep sw;
  sw.drop_chunks = {ChunkKey{domain_, D(101)}};
  uint64_t dropped = 0;
  ASSERT_TRUE(m_->CommitSweep(*token, sw, &dropped).ok());
  EXPECT_EQ(dropped, 1u);
  Status gone = m_->CommitPut(p2);
  EXPECT_EQ(gone.code(), Code::kBusy) << gone.ToString();
  EXPECT_NE(gone.message().find(D(101).ToString()), std::string::npos) << gone.ToString();
  auto k2 = m_->GetName("default", "b", "k2");
  ASSERT_TRUE(k2.ok());
  EXPECT_FALSE(*k2) << "nothing of the failed commit";
  // Referencing 100 only: it is brought back, and a sweep then spares it.
  p2.refs = [](std::vector<Digest>* out) { *out = {D(100)}; };
  ASSERT_TRUE(m_->CommitPut(p2).ok());
  EXPECT_EQ(m_->refs_resurrected(), 1u);
  EXPECT_EQ(m_->refs_gone(), 1u);
  live = m_->FindLiveChunk(domain_, D(100));
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE(*live);
  sw = Metadata::Sweep{};
  sw.drop_chunks = {ChunkKey{domain_, D(100)}};
  sw.keep_manifests = {ChunkKey{domain_, D(1)}};
  ASSERT_TRUE(m_->CommitSweep(*token, sw, &dropped).ok());
  EXPECT_EQ(dropped, 0u);
  read = m_->FindChunk(domain_, D(100));
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(*read);
  doomed.clear();
  ASSERT_TRUE(m_->ForEachDoomed([&](const ChunkKey& k, bool, int64_t, int64_t) {
    doomed.insert(k.digest.ToString());  // none expected
  }).ok());
  EXPECT_TRUE(doomed.empty()) << "100 and the manifest kept, 101 dropped";
  // A commit whose epoch is current checks nothing (its lookups saw no doom).
  PutCommit p3 = Put(domain_, 300, 1, "b", "k3", 3);
  auto current = m_->GcEpoch();
  ASSERT_TRUE(current.ok());
  p3.epoch = *current;
  p3.refs = [](std::vector<Digest>*) { ADD_FAILURE() << "refs asked for at the current epoch"; };
  ASSERT_TRUE(m_->CommitPut(p3).ok());
  m_->EndGc();

  auto next = m_->BeginGc();
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(m_->Doom(*token, {}, {}, nullptr).code(), Code::kBusy) << "a superseded run";
  EXPECT_EQ(m_->CommitSweep(*token, Metadata::Sweep{}, &dropped).code(), Code::kBusy);
  m_->EndGc();
}

// gc's key-order doom reads the chunk table a page at a time, with its
// commits between the pages: every row once, in key order, whatever it
// commits meanwhile.
TEST_P(MetadataContractTest, ChunkRowsPageInKeyOrderAcrossCommits) {
  ASSERT_NO_FATAL_FAILURE(PutInTwoTenants());
  std::vector<std::string> want;
  ASSERT_TRUE(m_->ForEachChunk([&](const ChunkKey& k, const Location&) {
    want.push_back(KeyBytes(k));
  }).ok());
  std::sort(want.begin(), want.end());
  ASSERT_EQ(want.size(), 13u);
  auto token = m_->BeginGc();
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  std::vector<std::string> got;
  std::optional<ChunkKey> after;
  size_t pages = 0;
  for (size_t n = 3; n == 3;) {
    n = 0;
    std::vector<std::pair<ChunkKey, int64_t>> page;
    ASSERT_TRUE(m_->ForEachChunkAfter(after ? &*after : nullptr, 3,
                                      [&](const ChunkKey& k, const Location& l) {
      n++;
      page.push_back({k, l.pack});
      after = k;
    }).ok());
    pages++;
    for (const auto& [k, pack] : page) got.push_back(KeyBytes(k));
    // This page's rows doomed before the next is read (a commit between).
    int64_t epoch = 0;
    if (!page.empty()) {
      ASSERT_TRUE(m_->Doom(*token, page, {}, &epoch).ok());
    }
  }
  EXPECT_EQ(got, want) << "every chunk row once, in key order";
  EXPECT_EQ(pages, 5u) << "13 rows in pages of 3: the fifth, of one, ends them";
  m_->EndGc();
}

// gc sweeps in batches: ForEachDoomedAfter pages through one table's doomed
// rows in key order (domain, then digest), each page after the last key of
// the one before, and commits between pages change nothing of what the next
// pages give (rows swept or kept are simply not there any more).
TEST_P(MetadataContractTest, DoomedRowsPageInKeyOrderAcrossCommits) {
  uint32_t other = 0;
  ASSERT_NO_FATAL_FAILURE(PutInTwoTenants(&other));
  std::map<int64_t, uint32_t> packs;  // id -> domain
  {
    auto l = m_->ListPacks();
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    for (const PackRow& p : *l) packs[p.id] = p.domain;
  }
  auto pack_of = [&](uint32_t domain) {
    for (const auto& [id, d] : packs) {
      if (d == domain) return id;
    }
    return int64_t{0};
  };
  auto token = m_->BeginGc();
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  std::vector<std::pair<ChunkKey, int64_t>> chunks, manifests;
  for (uint64_t i = 100; i < 109; i++) chunks.push_back({ChunkKey{domain_, D(i)}, pack_of(domain_)});
  for (uint64_t i = 200; i < 204; i++) chunks.push_back({ChunkKey{other, D(i)}, pack_of(other)});
  manifests.push_back({ChunkKey{domain_, D(1)}, pack_of(domain_)});
  int64_t epoch = 0;
  ASSERT_TRUE(m_->Doom(*token, chunks, manifests, &epoch).ok());
  // The order to expect: by domain, then by the digest's stored bytes
  // (algorithm byte first: the same for all of these).
  std::vector<std::string> want;
  for (const auto& [k, pack] : chunks) want.push_back(KeyBytes(k));
  std::sort(want.begin(), want.end());
  std::vector<std::string> got;
  std::optional<ChunkKey> after;
  size_t pages = 0;
  for (size_t n = 3; n == 3;) {
    n = 0;
    std::vector<ChunkKey> page;
    ASSERT_TRUE(m_->ForEachDoomedAfter(false, after ? &*after : nullptr, 3,
                                       [&](const ChunkKey& k, int64_t p, int64_t e) {
      EXPECT_EQ(p, pack_of(k.domain));
      EXPECT_EQ(e, epoch);
      n++;
      page.push_back(k);
      after = k;
    }).ok());
    pages++;
    for (const ChunkKey& k : page) got.push_back(KeyBytes(k));
    // A sweep between pages: this page's first row kept, the rest dropped.
    if (!page.empty()) {
      Metadata::Sweep sw;
      sw.keep_chunks = {page[0]};
      sw.drop_chunks.assign(page.begin() + 1, page.end());
      uint64_t dropped = 0;
      ASSERT_TRUE(m_->CommitSweep(*token, sw, &dropped).ok());
      EXPECT_EQ(dropped, page.size() - 1);
    }
  }
  EXPECT_EQ(got, want) << "every doomed chunk once, in key order";
  EXPECT_EQ(pages, 5u) << "13 rows in pages of 3: the fifth, of one, ends them";
  size_t n = 0;
  ASSERT_TRUE(m_->ForEachDoomedAfter(true, nullptr, 100,
                                     [&](const ChunkKey& k, int64_t, int64_t) {
    EXPECT_EQ(k.digest, D(1));
    n++;
  }).ok());
  EXPECT_EQ(n, 1u) << "the manifests' table is paged on its own";
  n = 0;
  ASSERT_TRUE(m_->ForEachDoomedAfter(false, nullptr, 100,
                                     [&](const ChunkKey&, int64_t, int64_t) { n++; }).ok());
  EXPECT_EQ(n, 0u) << "every chunk swept or kept";
  m_->EndGc();
  ExpectExactTotals("a sweep in pages");
}

TEST_P(MetadataContractTest, AReindexReplacesTheIndexAndKeepsTheNames) {
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 100, 3, "b", "k", 1)).ok());
  Metadata::Reindex r;
  r.packs.push_back(Pack("found-on-disk", domain_, 2));
  r.chunks.push_back({ChunkKey{domain_, D(900)}, Location{0, 0, 10, 20}});
  r.bases.push_back({ChunkKey{domain_, D(900)}, D(901)});
  r.manifests.push_back(Manifest(domain_, 1, 0));
  ASSERT_TRUE(m_->CommitReindex(r).ok());
  auto packs = m_->ListPacks();
  ASSERT_TRUE(packs.ok());
  ASSERT_EQ(packs->size(), 1u);
  EXPECT_EQ((*packs)[0].name, "found-on-disk");
  auto gone = m_->FindChunk(domain_, D(100));
  auto found = m_->FindChunk(domain_, D(900));
  ASSERT_TRUE(gone.ok() && found.ok());
  EXPECT_FALSE(*gone);
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->pack, (*packs)[0].id);
  auto n = m_->GetName("default", "b", "k");
  ASSERT_TRUE(n.ok() && *n);
}

TEST_P(MetadataContractTest, UploadsHoldPartsUntilCompletedOrDeleted) {
  UploadRow u{"up1", "default", "b", "big", "upload attrs", 100};
  EXPECT_EQ(m_->CreateUpload(u).code(), Code::kNotFound) << "its bucket must exist";
  ASSERT_TRUE(m_->CreateBucket("default", "b").ok());
  ASSERT_TRUE(m_->CreateUpload(u).ok());
  ASSERT_TRUE(m_->CreateUpload(UploadRow{"up2", "default", "b", "a", "", 200}).ok());
  int n = 0;
  for (uint32_t part : {2u, 1u, 2u}) {
    PutCommit p;
    p.domain = domain_;
    p.packs.push_back(Pack("part-pack-" + std::to_string(n++), domain_));
    p.manifest = Manifest(domain_, 50 + part, 0);
    p.part = PartRow{"up1", part, D(50 + part), D(60 + part), 5 * part, "etag", 7};
    ASSERT_TRUE(m_->CommitPut(p).ok());
  }
  PutCommit orphan;
  orphan.domain = domain_;
  orphan.part = PartRow{"nope", 1, D(1), D(2), 1, "", 7};
  EXPECT_EQ(m_->CommitPut(orphan).code(), Code::kNotFound);

  auto parts = m_->ListParts("up1");
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 2u) << "a part number uploaded again replaces the old one";
  EXPECT_EQ((*parts)[0].number, 1u);
  EXPECT_EQ((*parts)[1].number, 2u);
  EXPECT_EQ((*parts)[1].attrs, "etag");
  auto all = m_->AllParts();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].first, "default");
  auto list = m_->ListUploads("default", "b");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "up2");  // by key
  auto got = m_->GetUpload("up1");
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ((*got)->attrs, "upload attrs");
  auto old = m_->UploadsBefore(150);
  ASSERT_TRUE(old.ok());
  ASSERT_EQ(old->size(), 1u);
  EXPECT_EQ((*old)[0].id, "up1");

  EXPECT_EQ(m_->DeleteBucket("default", "b").code(), Code::kFailedPrecondition)
      << "uploads keep their bucket";
  PutCommit done = Put(domain_, 700, 1, "b", "big", 70);
  done.complete_upload = "up1";
  ASSERT_TRUE(m_->CommitPut(done).ok());
  auto after = m_->ListParts("up1");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  auto gone = m_->GetUpload("up1");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(*gone);
  done.packs[0].name = "pack-again";
  EXPECT_EQ(m_->CommitPut(done).code(), Code::kNotFound) << "completing twice";
  ASSERT_TRUE(m_->DeleteUpload("up2").ok());
  EXPECT_EQ(m_->DeleteUpload("up2").code(), Code::kNotFound);
}

TEST_P(MetadataContractTest, AttrsAndCopiesCheckTheManifestTheCallerExpects) {
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 100, 1, "b", "src", 1)).ok());
  EXPECT_EQ(m_->SetNameAttrs("default", "b", "src", "x", D(99)).code(),
            Code::kFailedPrecondition);
  ASSERT_TRUE(m_->SetNameAttrs("default", "b", "src", "new attrs", D(1)).ok());
  EXPECT_EQ(m_->SetNameAttrs("default", "b", "nope", "x", std::nullopt).code(), Code::kNotFound);
  auto n = m_->GetName("default", "b", "src");
  ASSERT_TRUE(n.ok() && *n);
  EXPECT_EQ((*n)->attrs, "new attrs");

  NameRow from = Name("b", "src", 0), to = Name("b2", "dst", 0);
  to.attrs.clear();
  EXPECT_EQ(m_->CopyName(from, to, false, D(99)).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(m_->CopyName(from, to, true).status().code(), Code::kNotFound) << "no bucket b2";
  auto copied = m_->CopyName(from, to, false, D(1));
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(copied->manifest, D(1));
  EXPECT_EQ(copied->attrs, "new attrs") << "empty attrs take the source's";
  auto dst = m_->GetName("default", "b2", "dst");
  ASSERT_TRUE(dst.ok() && *dst);
  EXPECT_EQ((*dst)->manifest, D(1));
  EXPECT_EQ((*dst)->size, 1u);
  NameRow missing = Name("b", "missing", 0);
  EXPECT_EQ(m_->CopyName(missing, to, false).status().code(), Code::kNotFound);
}

TEST_P(MetadataContractTest, KeysMetaAndReopenSeeWhatWasCommitted) {
  ASSERT_TRUE(m_->AddAccessKey(AccessKeyRow{"AK1", "default", "secret1", 5}).ok());
  EXPECT_EQ(m_->AddAccessKey(AccessKeyRow{"AK1", "other", "s", 6}).code(),
            Code::kAlreadyExists);
  auto k = m_->FindAccessKey("AK1");
  ASSERT_TRUE(k.ok() && *k);
  EXPECT_EQ((*k)->secret, "secret1");
  auto none = m_->FindAccessKey("AK2");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  ASSERT_TRUE(m_->SetMeta("chunker", "x").ok());
  ASSERT_TRUE(m_->SetMeta("chunker", "fastcdc2020").ok());
  EXPECT_EQ(m_->GetMeta("nope").status().code(), Code::kNotFound);
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 100, 1, "b", "k", 1)).ok());
  m_.reset();

  m_ = OpenOrDie(false);
  ASSERT_TRUE(m_);
  auto meta = m_->GetMeta("chunker");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(*meta, "fastcdc2020");
  auto keys = m_->ListAccessKeys();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 1u);
  auto n = m_->GetName("default", "b", "k");
  ASSERT_TRUE(n.ok() && *n);
  auto d = m_->TenantDomain("default", false);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, domain_);
}

// A wrapped key's stand-in (the catalog keeps the bytes opaque): the size
// of a real one, a NUL byte inside, `fill` elsewhere.
KeyRow Key(uint32_t domain, char kind, uint8_t fill) {
  KeyRow k;
  k.domain = domain;
  k.kind = kind;
  k.wrapped.assign(61, fill);
  k.wrapped[0] = 1;
  k.wrapped[5] = 0;
  k.created = 9;
  return k;
}

std::vector<uint32_t> Ids(const std::vector<KeyRow>& rows) {
  std::vector<uint32_t> ids;
  for (const KeyRow& k : rows) ids.push_back(k.id);
  return ids;
}

// An encrypted tenant's keys: its id key and first data key.
Result<std::vector<KeyRow>> TwoKeys(uint32_t domain) {
  return std::vector<KeyRow>{Key(domain, 'I', 0x11), Key(domain, 'D', 0x22)};
}

TEST_P(MetadataContractTest, ANewTenantGetsItsOwnDomainAndItsKeysOrNothing) {
  auto plain = m_->CreateTenant("plain", nullptr);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_NE(*plain, domain_);
  auto none = m_->ListKeys();
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty()) << "a plain tenant has no keys";

  uint32_t asked = 0;
  auto enc = m_->CreateTenant("secret", [&](uint32_t d) {
    asked = d;
    return TwoKeys(d);
  });
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  EXPECT_EQ(asked, *enc) << "the keys are made for the tenant's domain";
  EXPECT_NE(*enc, domain_);
  EXPECT_NE(*enc, *plain);
  auto found = m_->TenantDomain("secret", false);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, *enc);
  auto keys = m_->ListKeys();
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_NE((*keys)[0].id, 0u);
  EXPECT_LT((*keys)[0].id, (*keys)[1].id);
  EXPECT_EQ((*keys)[0].kind, 'I');
  EXPECT_EQ((*keys)[1].kind, 'D');
  for (size_t i = 0; i < 2; i++) {
    EXPECT_EQ((*keys)[i].domain, *enc);
    EXPECT_EQ((*keys)[i].wrapped, Key(*enc, 'D', i == 0 ? 0x11 : 0x22).wrapped) << i;
    EXPECT_EQ((*keys)[i].created, 9);
  }

  EXPECT_EQ(m_->CreateTenant("secret", TwoKeys).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(m_->CreateTenant("default", nullptr).status().code(), Code::kAlreadyExists)
      << "a tenant TenantDomain made";
  // The master key cannot be had: neither the tenant nor a key is made.
  auto broken = m_->CreateTenant("broken", [](uint32_t) -> Result<std::vector<KeyRow>> {
    return Status::Unavailable("master key offline");
  });
  EXPECT_EQ(broken.status().code(), Code::kUnavailable);
  EXPECT_EQ(m_->TenantDomain("broken", false).status().code(), Code::kNotFound);
  auto after = m_->ListKeys();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(Ids(*after), Ids(*keys));
  auto again = m_->CreateTenant("broken", TwoKeys);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_NE(*again, *enc);
  EXPECT_NE(*again, *plain);

  // What another process (or server) sees, without this one's caches.
  m_.reset();
  m_ = OpenOrDie(false);
  ASSERT_TRUE(m_);
  found = m_->TenantDomain("secret", false);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, *enc);
  keys = m_->ListKeys();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 4u);
}

TEST_P(MetadataContractTest, AddedKeysTakeIdsAboveEveryOther) {
  auto d = m_->CreateTenant("secret", TwoKeys);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  auto first = m_->ListKeys();
  ASSERT_TRUE(first.ok() && first->size() == 2u);
  auto a = m_->AddKey(Key(*d, 'D', 0x33));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = m_->AddKey(Key(*d, 'D', 0x44));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_GT(*a, first->back().id);
  EXPECT_GT(*b, *a);
  auto e = m_->CreateTenant("second", TwoKeys);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  auto keys = m_->ListKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 6u);
  EXPECT_TRUE(std::is_sorted(keys->begin(), keys->end(),
                             [](const KeyRow& x, const KeyRow& y) { return x.id <= y.id; }))
      << "ascending, no id twice";
  EXPECT_GT((*keys)[4].id, *b) << "a new tenant's keys too";
  EXPECT_EQ((*keys)[3].id, *b);
  EXPECT_EQ((*keys)[3].wrapped, Key(*d, 'D', 0x44).wrapped);
  EXPECT_EQ((*keys)[3].domain, *d);
  EXPECT_EQ((*keys)[4].domain, *e);
}

TEST_P(MetadataContractTest, ARewrapReplacesEveryKeyAndTheMetaValueOrNothing) {
  auto d = m_->CreateTenant("secret", TwoKeys);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_TRUE(m_->AddKey(Key(*d, 'D', 0x33)).ok());
  auto before = m_->ListKeys();
  ASSERT_TRUE(before.ok() && before->size() == 3u);
  std::vector<KeyRow> rewrapped = *before;
  for (size_t i = 0; i < rewrapped.size(); i++) {
    rewrapped[i].wrapped = Key(*d, 'D', static_cast<uint8_t>(0xa0 + i)).wrapped;
  }
  auto unchanged = [&] {
    auto now = m_->ListKeys();
    ASSERT_TRUE(now.ok());
    ASSERT_EQ(now->size(), before->size());
    for (size_t i = 0; i < now->size(); i++) EXPECT_EQ((*now)[i].wrapped, (*before)[i].wrapped);
    EXPECT_EQ(m_->GetMeta("master_check").status().code(), Code::kNotFound);
  };

  // A key added since the caller listed them (one missing from its set),
  // a key it names that is not there: nothing changes.
  std::vector<KeyRow> missing(rewrapped.begin(), rewrapped.end() - 1);
  EXPECT_EQ(m_->RewrapKeys(missing, "master_check", "new").code(), Code::kFailedPrecondition);
  unchanged();
  std::vector<KeyRow> extra = rewrapped;
  extra.push_back(rewrapped.back());
  extra.back().id += 100;
  EXPECT_EQ(m_->RewrapKeys(extra, "master_check", "new").code(), Code::kFailedPrecondition);
  unchanged();
  EXPECT_EQ(m_->RewrapKeys({}, "master_check", "new").code(), Code::kFailedPrecondition);
  unchanged();

  // The set counts, not its order.
  std::vector<KeyRow> reversed(rewrapped.rbegin(), rewrapped.rend());
  ASSERT_TRUE(m_->RewrapKeys(reversed, "master_check", "new").ok());
  auto after = m_->ListKeys();
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 3u);
  for (size_t i = 0; i < after->size(); i++) {
    EXPECT_EQ((*after)[i].id, (*before)[i].id);
    EXPECT_EQ((*after)[i].domain, (*before)[i].domain);
    EXPECT_EQ((*after)[i].kind, (*before)[i].kind);
    EXPECT_EQ((*after)[i].wrapped, rewrapped[i].wrapped) << i;
  }
  auto meta = m_->GetMeta("master_check");
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(*meta, "new");
  ASSERT_TRUE(m_->RewrapKeys(*before, "master_check", "newer").ok()) << "and back";
  meta = m_->GetMeta("master_check");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(*meta, "newer");
  after = m_->ListKeys();
  ASSERT_TRUE(after.ok() && after->size() == 3u);
  EXPECT_EQ((*after)[2].wrapped, (*before)[2].wrapped);
}

TEST_P(MetadataContractTest, RestoredKeysKeepTheirIdsAndARestoreMustAgree) {
  std::vector<KeyRow> rows = {Key(5, 'I', 0x11), Key(5, 'D', 0x22)};
  rows[0].id = 7;
  rows[1].id = 9;
  ASSERT_TRUE(m_->RestoreKeys(rows).ok());
  ASSERT_TRUE(m_->RestoreKeys(rows).ok()) << "as restored: OK";
  auto keys = m_->ListKeys();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(Ids(*keys), (std::vector<uint32_t>{7, 9}));
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[1].domain, 5u);
  EXPECT_EQ((*keys)[1].kind, 'D');
  EXPECT_EQ((*keys)[1].wrapped, rows[1].wrapped);

  // Another key under a taken id: refused, and nothing of the call stays.
  KeyRow other = rows[1];
  other.wrapped[1] ^= 1;
  KeyRow fresh = Key(5, 'D', 0x33);
  fresh.id = 11;
  EXPECT_EQ(m_->RestoreKeys({fresh, other}).code(), Code::kAlreadyExists);
  KeyRow moved = rows[1];
  moved.domain = 6;
  EXPECT_EQ(m_->RestoreKeys({moved}).code(), Code::kAlreadyExists);
  keys = m_->ListKeys();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(Ids(*keys), (std::vector<uint32_t>{7, 9}));
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[1].wrapped, rows[1].wrapped);

  auto next = m_->AddKey(Key(5, 'D', 0x44));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(*next, 10u) << "one more than the greatest restored id";
}

// The store's totals (`stats`) through every kind of write that changes the
// rows they count: both back ends keep them in counters (triggers), which
// must stay what a scan counts.
TEST_P(MetadataContractTest, TotalsStayExactThroughEveryKindOfWrite) {
  ExpectExactTotals("nothing");
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 100, 5, "b", "k1", 1)).ok());
  ExpectExactTotals("a put");
  // Chunks 103 and 104 stored again, with other lengths (INSERT OR REPLACE
  // of existing rows), and 105 twice in one commit.
  PutCommit again = Put(domain_, 103, 3, "b", "k2", 2);
  again.chunks.push_back({D(105), Location{0, 5000, 77, 999}});
  ASSERT_TRUE(m_->CommitPut(again).ok());
  ExpectExactTotals("a put of repeated chunks");
  PutCommit rebind;
  rebind.domain = domain_;
  rebind.name = Name("b", "k1", 40);  // another size
  ASSERT_TRUE(m_->CommitPut(rebind).ok());
  ExpectExactTotals("a name rebound");
  rebind.name = Name("b", "k1", 40);  // the same size (no trigger moves a sum)
  rebind.name->manifest = D(41);
  ASSERT_TRUE(m_->CommitPut(rebind).ok());
  ExpectExactTotals("a name rebound to the same size");
  auto k2 = m_->GetName("default", "b", "k2");
  ASSERT_TRUE(k2.ok() && *k2);
  ASSERT_TRUE(m_->CopyName(**k2, Name("b", "k3", 0), false).ok());
  ExpectExactTotals("a copy");
  ASSERT_TRUE(m_->RemoveName("default", "b", "k3").ok());
  ExpectExactTotals("a name removed");
  ASSERT_TRUE(m_->SetNameAttrs("default", "b", "k2", "other attrs", std::nullopt).ok());
  ExpectExactTotals("attrs replaced");

  // A group commit one of whose puts is rolled back.
  ASSERT_TRUE(m_->CreateBucket("default", "here").ok());
  PutCommit ok1 = Put(domain_, 200, 3, "here", "a", 3);
  PutCommit bad = Put(domain_, 300, 2, "gone", "b", 4);
  for (PutCommit* p : {&ok1, &bad}) {
    p->packs.clear();
    p->require_bucket = true;
  }
  std::vector<Status> results;
  ASSERT_TRUE(m_->CommitPuts(Pack("shared", domain_, 9), {&ok1, &bad}, &results).ok());
  ASSERT_TRUE(results[0].ok());
  ASSERT_EQ(results[1].code(), Code::kNotFound);
  ExpectExactTotals("a group commit with a failed put");

  // gc: doom, sweep (some dropped, some kept), moves to a new pack with
  // other lengths and with the same ones, and the old pack deleted.
  auto packs = m_->ListPacks();
  ASSERT_TRUE(packs.ok() && packs->size() == 3u);
  const int64_t first_pack = (*packs)[0].id;
  const int64_t shared_pack = (*packs)[2].id;
  auto before = m_->GcEpoch();
  ASSERT_TRUE(before.ok());
  auto token = m_->BeginGc();
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  ASSERT_TRUE(m_->Doom(*token, {{ChunkKey{domain_, D(100)}, first_pack},
                                {ChunkKey{domain_, D(101)}, first_pack}},
                       {{ChunkKey{domain_, D(1)}, first_pack}}, nullptr).ok());
  ExpectExactTotals("a doom");
  Metadata::Sweep sw;
  sw.drop_chunks = {ChunkKey{domain_, D(100)}, ChunkKey{domain_, D(999)}};
  sw.keep_chunks = {ChunkKey{domain_, D(101)}};
  sw.drop_manifests = {ChunkKey{domain_, D(1)}};
  uint64_t dropped = 0;
  ASSERT_TRUE(m_->CommitSweep(*token, sw, &dropped).ok());
  EXPECT_EQ(dropped, 2u);
  ExpectExactTotals("a sweep");
  // A commit that referenced the swept chunk fails, changing nothing.
  PutCommit late = Put(domain_, 400, 2, "b", "late", 5);
  late.epoch = *before;
  late.refs = [](std::vector<Digest>* out) { *out = {D(100)}; };
  EXPECT_EQ(m_->CommitPut(late).code(), Code::kBusy);
  ExpectExactTotals("a commit that failed");
  Metadata::GcCommit g;
  g.new_packs.push_back(Pack("rewritten", domain_, 3));
  g.moved_chunks.push_back({ChunkKey{domain_, D(101)}, first_pack, Location{0, 0, 33, 101}});
  g.moved_chunks.push_back({ChunkKey{domain_, D(102)}, first_pack, Location{0, 33, 44, 555}});
  // Chunk 200 as the group commit stored it (frame 64, raw 100), elsewhere.
  g.moved_chunks.push_back({ChunkKey{domain_, D(200)}, shared_pack, Location{0, 77, 64, 100}});
  g.dead_packs = {first_pack};
  std::vector<int64_t> gone;
  ASSERT_TRUE(m_->CommitGc(*token, g, &gone).ok());
  EXPECT_EQ(gone, std::vector<int64_t>{first_pack});
  m_->EndGc();
  auto moved = m_->FindChunk(domain_, D(200));
  ASSERT_TRUE(moved.ok() && *moved) << moved.status().ToString();
  EXPECT_EQ((*moved)->offset, 77u);
  ExpectExactTotals("moves and a pack deleted");

  Metadata::Reindex r;
  r.packs.push_back(Pack("found-on-disk", domain_, 2));
  r.chunks.push_back({ChunkKey{domain_, D(900)}, Location{0, 0, 10, 20}});
  r.chunks.push_back({ChunkKey{domain_, D(901)}, Location{0, 10, 11, 21}});
  r.manifests.push_back(Manifest(domain_, 2, 0));
  ASSERT_TRUE(m_->CommitReindex(r).ok());
  ExpectExactTotals("a reindex");
  m_.reset();
  m_ = OpenOrDie(false);
  ASSERT_TRUE(m_);
  ExpectExactTotals("a reopen");
}

// The chunk generation (ChunkIndex::WatchChunkGeneration): this object's
// own writes keep a watch and advance it as they add or remove chunk rows;
// another object's chunk writes end it until the next watch.
TEST_P(MetadataContractTest, AWatchOfTheChunkGenerationSeesOnlyThisObjectsWrites) {
  const std::optional<uint64_t> start = Watch(m_.get());
  if (!start) GTEST_SKIP() << "no chunk generation on " << GetParam();
  EXPECT_LT(*start, uint64_t{1} << 62);
  EXPECT_EQ(Sole(m_.get()), start) << "nothing changed";
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 100, 3, "b", "k1", 1)).ok());
  const std::optional<uint64_t> after_put = Sole(m_.get());
  ASSERT_TRUE(after_put) << "this object's put keeps the watch";
  EXPECT_GT(*after_put, *start);
  // No chunk row added or removed: the generation stays.
  PutCommit name_only;
  name_only.domain = domain_;
  name_only.name = Name("b", "k2", 1);
  ASSERT_TRUE(m_->CommitPut(name_only).ok());
  ASSERT_TRUE(m_->RemoveName("default", "b", "k2").ok());
  EXPECT_EQ(Sole(m_.get()), after_put);
  // gc: a doom (state) and a move (location) leave it; a sweep advances it.
  auto packs = m_->ListPacks();
  ASSERT_TRUE(packs.ok() && packs->size() == 1u);
  const int64_t pack = (*packs)[0].id;
  auto token = m_->BeginGc();
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(m_->Doom(*token, {{ChunkKey{domain_, D(100)}, pack}}, {}, nullptr).ok());
  Metadata::GcCommit move;
  move.new_packs.push_back(Pack("rewritten", domain_));
  move.moved_chunks.push_back({ChunkKey{domain_, D(101)}, pack, Location{0, 0, 9, 9}});
  ASSERT_TRUE(m_->CommitGc(*token, move, nullptr).ok());
  EXPECT_EQ(Sole(m_.get()), after_put) << "doom marks and moves add or remove no row";
  Metadata::Sweep sw;
  sw.drop_chunks = {ChunkKey{domain_, D(100)}};
  uint64_t dropped = 0;
  ASSERT_TRUE(m_->CommitSweep(*token, sw, &dropped).ok());
  ASSERT_EQ(dropped, 1u);
  m_->EndGc();
  const std::optional<uint64_t> after_sweep = Sole(m_.get());
  ASSERT_TRUE(after_sweep) << "this object's sweep keeps the watch";
  EXPECT_GT(*after_sweep, *after_put);
  // A commit that fails changes nothing, the watch included.
  PutCommit bad = Put(domain_, 200, 2, "nobucket", "k", 2);
  bad.require_bucket = true;
  EXPECT_EQ(m_->CommitPut(bad).code(), Code::kNotFound);
  EXPECT_EQ(Sole(m_.get()), after_sweep);

  // Another Metadata object on the same database: a catalog write leaves
  // the watch; a put of chunks ends it, and this object's own puts after
  // that do not bring it back.
  auto other = OpenOrDie(false);
  ASSERT_TRUE(other);
  ASSERT_TRUE(other->CreateBucket("default", "theirs").ok());
  EXPECT_EQ(Sole(m_.get()), after_sweep) << "no chunk row changed";
  ASSERT_TRUE(other->CommitPut(Put(domain_, 300, 1, "b", "k3", 3)).ok());
  EXPECT_EQ(Sole(m_.get()), std::nullopt) << "another object added a chunk row";
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 400, 1, "b", "k4", 4)).ok());
  EXPECT_EQ(Sole(m_.get()), std::nullopt) << "broken until the next watch";
  const std::optional<uint64_t> again = Watch(m_.get());
  ASSERT_TRUE(again);
  EXPECT_GT(*again, *after_sweep);
  EXPECT_EQ(Sole(m_.get()), again);
  // Noticed by this object's next chunk write too, without a Sole between.
  ASSERT_TRUE(other->CommitPut(Put(domain_, 500, 1, "b", "k5", 5)).ok());
  ASSERT_TRUE(m_->CommitPut(Put(domain_, 600, 1, "b", "k6", 6)).ok());
  EXPECT_EQ(Sole(m_.get()), std::nullopt);
  // The other object's own watch held through all of it but this object's
  // writes.
  const std::optional<uint64_t> theirs = Watch(other.get());
  ASSERT_TRUE(theirs);
  ASSERT_TRUE(other->CommitPut(Put(domain_, 700, 2, "b", "k7", 7)).ok());
  EXPECT_EQ(Sole(other.get()), std::optional<uint64_t>(*theirs + 2)) << "one per row added";

  // A reindex replaces the rows: a new generation.
  ASSERT_TRUE(Watch(m_.get()));
  const std::optional<uint64_t> before_reindex = Sole(m_.get());
  Metadata::Reindex r;
  r.packs.push_back(Pack("found-on-disk", domain_, 2));
  r.chunks.push_back({ChunkKey{domain_, D(900)}, Location{0, 0, 10, 20}});
  ASSERT_TRUE(m_->CommitReindex(r).ok());
  const std::optional<uint64_t> after_reindex = Sole(m_.get());
  ASSERT_TRUE(after_reindex) << "this object's reindex";
  EXPECT_NE(after_reindex, before_reindex);
  EXPECT_EQ(Sole(other.get()), std::nullopt) << "another object reindexed";

  // The generation is stored: a reopen finds it where it was.
  m_.reset();
  other.reset();
  m_ = OpenOrDie(false);
  ASSERT_TRUE(m_);
  EXPECT_EQ(Watch(m_.get()), after_reindex);
}

// A database made anew starts at a random generation: a filter stamped by
// another database (or by this store's before `repair --reindex` made it
// anew) does not match it.
TEST_P(MetadataContractTest, AFreshDatabaseStartsAtItsOwnChunkGeneration) {
  const std::optional<uint64_t> mine = Watch(m_.get());
  if (!mine) GTEST_SKIP() << "no chunk generation on " << GetParam();
  std::set<uint64_t> seen = {*mine};
  for (int i = 0; i < 3; i++) {
    auto fresh = Metadata::Open(as::testing::TempDir("fresh") + "/metadata.db", true);
    ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
    const std::optional<uint64_t> g = Watch(fresh->get());
    ASSERT_TRUE(g);
    EXPECT_LT(*g, uint64_t{1} << 62);
    EXPECT_TRUE(seen.insert(*g).second) << *g << " twice";
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, MetadataContractTest,
                         ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

// What only PostgreSQL does: refuse a URL with a password, refuse to make
// a second store's tables where one's are, and name a missing schema.
class PgMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!pg_.skip().empty()) GTEST_SKIP() << pg_.skip();
    ASSERT_TRUE(pg_.error().empty()) << pg_.error();
  }
  // Ends every connection named `app` (as a restart or a failover does, for
  // this test's connections only: other tests share the server); how many.
  int64_t TerminateBackends(const std::string& app) {
    PgConn admin(pg_.url(), "admin");
    auto killed = admin.Exec(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
        "application_name = $1",
        {app});
    EXPECT_TRUE(killed.ok()) << killed.status().ToString();
    return killed.ok() ? killed->Int(0, 0) : -1;
  }
  // A new store's database holding bucket b with `puts` names, put 1 of 3
  // chunks, the next of 2 (then closed).
  void MakeStoreWithPuts(int puts) {
    auto m = Metadata::Open(pg_.url(), true);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    auto d = (*m)->TenantDomain("default", true);
    ASSERT_TRUE(d.ok());
    ASSERT_TRUE((*m)->CreateBucket("default", "b").ok());
    for (int i = 1; i <= puts; i++) {
      ASSERT_TRUE((*m)->CommitPut(Put(*d, 10 * uint64_t(i), i == 1 ? 3 : 2, "b",
                                      "k" + std::to_string(i), uint64_t(i))).ok());
    }
  }
  as::testing::PgTestSchema pg_;
};

TEST_F(PgMetadataTest, APasswordInTheUrlIsRefused) {
  auto m = Metadata::Open("postgresql://u:secret@127.0.0.1:1/db", true);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(m.status().message().find("PGPASSWORD"), std::string::npos);
  EXPECT_EQ(m.status().message().find("secret"), std::string::npos) << "never echoed";
}

TEST_F(PgMetadataTest, ADatabaseHoldsOneStoreAndAnEmptyOneHoldsNone) {
  EXPECT_EQ(Metadata::Open(pg_.url(), false).status().code(), Code::kNotFound);
  auto m = Metadata::Open(pg_.url(), true);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE((*m)->SetMeta("store_uuid", "1234").ok());
  auto second = Metadata::Open(pg_.url(), true);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kAlreadyExists);
  EXPECT_NE(second.status().message().find("1234"), std::string::npos);
}

// The kept totals: each backend adds to a row of its own; the rows of
// backends that have ended are folded into one at the next open, the totals
// unchanged.
TEST_F(PgMetadataTest, CountersOfEndedBackendsFoldIntoOneRow) {
  MakeStoreWithPuts(2);
  PgConn admin(pg_.url(), "admin");
  // The closed connections' backends end a moment after the client goes.
  for (int i = 0; i < 500; i++) {
    auto live = admin.Exec("SELECT count(*) FROM counters WHERE slot IN "
                           "(SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)");
    ASSERT_TRUE(live.ok()) << live.status().ToString();
    if (live->Int(0, 0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto before = admin.Exec("SELECT count(*) FROM counters WHERE slot <> 0");
  ASSERT_TRUE(before.ok());
  EXPECT_GE(before->Int(0, 0), 1) << "the writer's own row";
  auto m = Metadata::Open(pg_.url(), false);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto after = admin.Exec("SELECT count(*) FROM counters WHERE slot <> 0");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->Int(0, 0), 0) << "folded into slot 0";
  auto totals = (*m)->Totals();
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  EXPECT_EQ(totals->unique_chunks, 5u);
  EXPECT_EQ(totals->names, 2u);
  EXPECT_EQ(totals->packs, 2u);
  EXPECT_EQ(totals->manifests, 2u);
  auto problems = (*m)->CheckIntegrity(true);
  ASSERT_TRUE(problems.ok()) << problems.status().ToString();
  EXPECT_TRUE(problems->empty()) << (*problems)[0];
}

// A version 2 database (before encrypted tenants and kept counters) gains
// the keys table and the counters, filled from its rows, on open; a
// database newer than this build is refused.
TEST_F(PgMetadataTest, SchemaVersion2IsMigratedOnOpenAndANewerOneRefused) {
  MakeStoreWithPuts(1);
  PgConn admin(pg_.url(), "admin");
  ASSERT_TRUE(admin.Run("DROP TABLE keys").ok());
  // Version 4's counters and their triggers (CASCADE), as version 2 had none.
  ASSERT_TRUE(admin.Run("DROP TABLE counters").ok());
  for (const char* t : {"names", "chunks", "packs", "manifests"}) {
    ASSERT_TRUE(admin.Run(std::string("DROP FUNCTION as_count_") + t + "() CASCADE").ok()) << t;
  }
  ASSERT_TRUE(admin.Run("DROP FUNCTION as_count_names_row(), as_count_chunks_row(), "
                        "as_count_packs_row() CASCADE").ok());
  ASSERT_TRUE(admin.Run("UPDATE meta SET value = '2' WHERE key = 'schema_version'").ok());
  {
    auto m = Metadata::Open(pg_.url(), false);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    auto version = (*m)->GetMeta("schema_version");
    ASSERT_TRUE(version.ok()) << version.status().ToString();
    EXPECT_EQ(*version, std::to_string(kPgSchemaVersion));
    auto totals = (*m)->Totals();
    ASSERT_TRUE(totals.ok()) << totals.status().ToString();
    EXPECT_EQ(totals->unique_chunks, 3u) << "the counters filled from the rows";
    EXPECT_EQ(totals->names, 1u);
    EXPECT_EQ(totals->packs, 1u);
    auto problems = (*m)->CheckIntegrity(true);
    ASSERT_TRUE(problems.ok()) << problems.status().ToString();
    EXPECT_TRUE(problems->empty()) << (*problems)[0];
    auto none = (*m)->ListKeys();
    ASSERT_TRUE(none.ok()) << none.status().ToString();
    EXPECT_TRUE(none->empty());
    auto d = (*m)->CreateTenant("secret", TwoKeys);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(*d, 2u) << "after the tenant the old version had";
    auto keys = (*m)->ListKeys();
    ASSERT_TRUE(keys.ok());
    EXPECT_EQ(keys->size(), 2u);
  }
  ASSERT_TRUE(admin.Run("UPDATE meta SET value = $1 WHERE key = 'schema_version'",
                        {std::to_string(kPgSchemaVersion + 1)})
                  .ok());
  EXPECT_EQ(Metadata::Open(pg_.url(), false).status().code(), Code::kUnsupported);
}

// The key calls on a connection the server ended: Unavailable (a client
// retries), and the retry succeeds.
TEST_F(PgMetadataTest, KeyCallsOnALostConnectionAreUnavailableAndTheRetrySucceeds) {
  const std::string app = "lost_keys_" + std::to_string(::getpid());
  auto m = Metadata::Open(pg_.url() + "&application_name=" + app, true);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto d = (*m)->CreateTenant("secret", TwoKeys);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_TRUE((*m)->ListKeys().ok());  // a pooled connection is open now
  ASSERT_GE(TerminateBackends(app), 2) << "the writer's and a reader's";
  auto added = (*m)->AddKey(Key(*d, 'D', 0x33));
  if (!added.ok()) {
    EXPECT_EQ(added.status().code(), Code::kUnavailable) << added.status().ToString();
    added = (*m)->AddKey(Key(*d, 'D', 0x33));
  }
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  auto keys = (*m)->ListKeys();
  if (!keys.ok()) {
    EXPECT_EQ(keys.status().code(), Code::kUnavailable) << keys.status().ToString();
    keys = (*m)->ListKeys();
  }
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(Ids(*keys).back(), *added);
  EXPECT_EQ(keys->size(), 3u);
}

// Two servers adding keys (and encrypted tenants) at once: every call
// succeeds, and no id is taken twice.
TEST_F(PgMetadataTest, ServersAddingKeysAtOnceTakeDistinctIds) {
  auto a = Metadata::Open(pg_.url(), true);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = Metadata::Open(pg_.url(), false);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto d = (*a)->CreateTenant("secret", TwoKeys);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  constexpr int kEach = 20;
  std::vector<Status> failed[2];
  std::vector<std::thread> servers;
  for (int s = 0; s < 2; s++) {
    Metadata* m = (s == 0 ? *a : *b).get();
    servers.emplace_back([&, m, s] {
      for (int i = 0; i < kEach; i++) {
        Status st = i % 5 == 0
                        ? m->CreateTenant("t" + std::to_string(s) + "-" + std::to_string(i),
                                          TwoKeys)
                              .status()
                        : m->AddKey(Key(*d, 'D', static_cast<uint8_t>(i))).status();
        if (!st.ok()) failed[s].push_back(st);
      }
    });
  }
  for (auto& t : servers) t.join();
  for (const auto& f : failed) {
    for (const Status& st : f) ADD_FAILURE() << st.ToString();
  }
  auto keys = (*b)->ListKeys();
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  const std::vector<uint32_t> ids = Ids(*keys);
  EXPECT_EQ(std::set<uint32_t>(ids.begin(), ids.end()).size(), ids.size());
  // 2 first, then per server 16 data keys and 4 tenants of 2 keys each.
  EXPECT_EQ(ids.size(), 2u + 2 * (16 + 4 * 2));
}

TEST_F(PgMetadataTest, AServerThatIsNotThereIsUnavailableNamingIt) {
  auto m = Metadata::Open("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2", false);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kUnavailable);
  EXPECT_NE(m.status().message().find("127.0.0.1:1"), std::string::npos);
}

// The server ends every connection of ours (as a restart or a failover
// does): the calls that were using them fail as Unavailable, and the next
// calls reconnect and see everything committed before.
TEST_F(PgMetadataTest, ALostConnectionFailsOneCallAndTheNextReconnects) {
  // A name of its own, so that only this test's connections are ended
  // (other tests share the server).
  const std::string app = "lost_conn_" + std::to_string(::getpid());
  auto m = Metadata::Open(pg_.url() + "&application_name=" + app, true);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE((*m)->SetMeta("before", "1").ok());
  ASSERT_TRUE((*m)->GetMeta("before").ok());  // a pooled connection is open now
  ASSERT_GE(TerminateBackends(app), 2) << "the writer's and a reader's";
  Status w = (*m)->SetMeta("during", "2");
  if (!w.ok()) {
    EXPECT_EQ(w.code(), Code::kUnavailable) << w.ToString();
    w = (*m)->SetMeta("during", "2");  // the retry
  }
  ASSERT_TRUE(w.ok()) << w.ToString();
  auto r = (*m)->GetMeta("before");
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
    r = (*m)->GetMeta("before");
  }
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "1");
  auto d = (*m)->GetMeta("during");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, "2");
}

// Several processes share a store; one gc run owns it at a time, and the
// ownership moves when the owner's connection dies (as with its server),
// after which the dead owner's run can change nothing.
TEST_F(PgMetadataTest, ProcessesShareAStoreAndGcOwnershipMovesWhenItsOwnerDies) {
  const std::string uuid = "0123456789abcdef0123456789abcdef";
  const std::string app = "gc_owner_" + std::to_string(::getpid());
  auto a = Metadata::Open(pg_.url() + "&application_name=" + app, true);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE((*a)->LockStore(uuid, false).ok());
  auto b = Metadata::Open(pg_.url(), false);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE((*b)->LockStore(uuid, false).ok()) << "a second server";
  auto solo = Metadata::Open(pg_.url(), false);
  ASSERT_TRUE(solo.ok()) << solo.status().ToString();
  Status refused = (*solo)->LockStore(uuid, true);
  EXPECT_EQ(refused.code(), Code::kBusy) << "packs local to one directory: one process";
  EXPECT_NE(refused.message().find("S3"), std::string::npos) << refused.ToString();
  EXPECT_EQ((*solo)->LockStore("not hex", true).code(), Code::kInvalidArgument);
  auto ta = (*a)->BeginGc();
  ASSERT_TRUE(ta.ok()) << ta.status().ToString();
  auto busy = (*b)->BeginGc();
  EXPECT_EQ(busy.status().code(), Code::kBusy) << busy.status().ToString();
  ASSERT_GE(TerminateBackends(app), 1);
  Result<int64_t> tb = Status::Internal("not tried");
  for (int i = 0; i < 100 && !tb.ok(); i++) {  // the lock goes when the backend has exited
    tb = (*b)->BeginGc();
    if (!tb.ok()) ::usleep(20000);
  }
  ASSERT_TRUE(tb.ok()) << tb.status().ToString();
  EXPECT_GT(*tb, *ta);
  Status stale = (*a)->Doom(*ta, {}, {}, nullptr);
  if (stale.code() == Code::kUnavailable) stale = (*a)->Doom(*ta, {}, {}, nullptr);  // lost writer
  EXPECT_EQ(stale.code(), Code::kBusy) << stale.ToString();
  (*b)->EndGc();
}

// Fencing: a process whose session gc expelled (it was silent past the TTL:
// paused, cut off) cannot commit what it began before; its next heartbeat
// finds the row gone and registers anew, and new puts commit again.
TEST_F(PgMetadataTest, AnExpelledSessionsCommitsAreRefused) {
  auto m = Metadata::Open(pg_.url(), true);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto domain = (*m)->TenantDomain("default", true);
  ASSERT_TRUE(domain.ok());
  std::optional<Metadata::Op> op((*m)->BeginOp());
  ASSERT_GT(op->session(), 0);
  PgConn admin(pg_.url(), "admin");
  // As gc's expelling DELETE does.
  ASSERT_TRUE(
      admin.Run("DELETE FROM sessions WHERE id = $1", {std::to_string(op->session())}).ok());
  PutCommit p = Put(*domain, 100, 1, "b", "late", 1);
  p.epoch = op->epoch();
  p.session = op->session();
  Status fenced = (*m)->CommitPut(p);
  EXPECT_EQ(fenced.code(), Code::kBusy) << fenced.ToString();
  EXPECT_NE(fenced.message().find("expelled"), std::string::npos) << fenced.ToString();
  EXPECT_EQ((*m)->commits_fenced(), 1u);
  auto late = (*m)->GetName("default", "b", "late");
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(*late) << "nothing of the fenced commit";
  op.reset();
  uint64_t expelled = 0;
  ASSERT_TRUE((*m)->Horizon(&expelled).ok());  // reports now: finds its row gone
  EXPECT_EQ((*m)->session_renewals(), 1u);
  Metadata::Op again = (*m)->BeginOp();
  EXPECT_NE(again.session(), p.session) << "a new session";
  p.epoch = again.epoch();
  p.session = again.session();
  Status ok = (*m)->CommitPut(p);
  EXPECT_TRUE(ok.ok()) << ok.ToString();
}

TEST(MetadataOpenTest, AnUnknownSchemeIsRefused) {
  auto m = Metadata::Open("mysql://localhost/db", true);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace as
