// Metadata's pooled read connections: reads see every committed write at
// once on any thread, never a write in progress, never wait for one, and the
// v1 -> v2, v5 -> v7 and v6 -> v7 migrations still run on open. Every
// connection fires the counters' DELETE triggers on INSERT OR REPLACE, and
// a chunk row's change fires at most one UPDATE of the counters.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "hash/blake3.h"
#include "index/sqlite_metadata.h"
#include "index/sqlite_metadata_rows.h"
#include "test_util.h"

namespace as {
namespace {

Digest D(uint64_t i) { return Blake3(&i, sizeof i); }

NameRow Name(const std::string& key, uint64_t i) {
  NameRow n;
  n.tenant = "default";
  n.bucket = "b";
  n.key = key;
  n.manifest = D(i);
  n.content = D(i + (uint64_t{1} << 40));
  n.size = i;
  n.created = 1;
  return n;
}

class MetadataPoolTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = as::testing::TempDir("metadata") + "/metadata.db"; }
  std::unique_ptr<Metadata> Open(bool create = true) {
    auto m = Metadata::Open(path_, create);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(m).value() : nullptr;
  }
  // One put of a pack named p1 with `chunks` chunk rows and a name.
  void CommitOnePack(uint64_t chunks) {
    auto m = Open();
    ASSERT_TRUE(m);
    PutCommit c;
    c.domain = 1;
    c.packs.push_back(SealedPack{});
    c.packs[0].name = "p1";
    c.packs[0].domain = 1;
    c.packs[0].size = 4096;
    for (uint64_t i = 0; i < chunks; i++) c.chunks.emplace_back(D(i), Location{0, i, 7, 70});
    c.name = Name("k", 33);
    ASSERT_TRUE(m->CommitPut(c).ok());
  }
  std::string path_;
};

TEST_F(MetadataPoolTest, ACommittedNameIsReadByTheNextReadOnAnyThread) {
  auto m = Open();
  ASSERT_TRUE(m);
  constexpr int kNames = 300;
  std::atomic<int> committed{-1};
  std::atomic<int> misses{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; t++) {
    readers.emplace_back([&] {
      while (true) {
        const int i = committed.load();
        if (i >= 0) {
          auto n = m->GetName("default", "b", "k" + std::to_string(i));
          reads++;
          if (!n.ok() || !*n || (*n)->manifest != D(i)) misses++;
        }
        if (i == kNames - 1) return;
      }
    });
  }
  for (int i = 0; i < kNames; i++) {
    PutCommit c;
    c.name = Name("k" + std::to_string(i), i);
    ASSERT_TRUE(m->CommitPut(c).ok());
    // The writing thread reads it back too (through a pooled connection).
    auto n = m->GetName("default", "b", "k" + std::to_string(i));
    ASSERT_TRUE(n.ok() && *n) << i;
    committed.store(i);
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(misses.load(), 0) << "of " << reads.load() << " reads";
  // Removed is gone for the next read too.
  ASSERT_TRUE(m->RemoveName("default", "b", "k7").ok());
  std::thread([&] {
    auto n = m->GetName("default", "b", "k7");
    ASSERT_TRUE(n.ok());
    EXPECT_FALSE(*n);
  }).join();
}

TEST_F(MetadataPoolTest, ReadsDuringAnOpenWriteSeeTheOldStateWithoutWaiting) {
  auto m = Open();
  ASSERT_TRUE(m);
  PutCommit first;
  first.name = Name("old", 1);
  ASSERT_TRUE(m->CommitPut(first).ok());
  ASSERT_TRUE(m->GetName("default", "b", "old").ok());  // a reader is open and warm
  // Another connection holds a write transaction open: a name and a chunk row.
  auto other = SqliteDb::Open(path_, false);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Exec("BEGIN IMMEDIATE").ok());
  ASSERT_TRUE((*other)->Exec("INSERT INTO chunks(domain, digest, pack, offset, frame_len, "
                             "raw_len) VALUES (1, x'01', 1, 0, 10, 10)").ok());
  ASSERT_TRUE((*other)->Exec("UPDATE names SET size = 99 WHERE key = 'old'").ok());
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; i++) {
    auto n = m->GetName("default", "b", "old");
    ASSERT_TRUE(n.ok() && *n) << n.status().ToString();
    EXPECT_EQ((*n)->size, 1u);  // the committed state, not the open write's
    auto names = m->AllNames();
    ASSERT_TRUE(names.ok());
    EXPECT_EQ(names->size(), 1u);
    auto totals = m->Totals();
    ASSERT_TRUE(totals.ok());
    EXPECT_EQ(totals->unique_chunks, 0u);
  }
  // No read waited for the writer (the busy timeout is 5 s).
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_TRUE((*other)->Exec("COMMIT").ok());
  // (Through AllNames: GetName's cache trusts that every write goes through
  // this Metadata, which this test's second connection does not.)
  auto names = m->AllNames();
  ASSERT_TRUE(names.ok() && names->size() == 1u);
  EXPECT_EQ((*names)[0].size, 99u);
  auto totals = m->Totals();
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(totals->unique_chunks, 1u);
}

TEST_F(MetadataPoolTest, AReadRacingALargeCommitSeesAllOfItOrNone) {
  auto m = Open();
  ASSERT_TRUE(m);
  PutCommit c;
  c.domain = 1;
  for (uint64_t i = 0; i < 20000; i++) c.chunks.emplace_back(D(i), Location{-2, i, 1, 1});
  c.name = Name("big", 7);
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      // Name first: if the name is visible, the commit's last chunk must be.
      auto n = m->GetName("default", "b", "big");
      auto loc = m->FindChunk(1, D(19999));
      ASSERT_TRUE(n.ok() && loc.ok());
      if (*n && !*loc) torn++;
      reads++;
    }
  });
  ASSERT_TRUE(m->CommitPut(c).ok());
  done.store(true);
  reader.join();
  EXPECT_EQ(torn.load(), 0) << "of " << reads.load();
  auto first = m->FindChunk(1, D(0));
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->has_value());
}

TEST_F(MetadataPoolTest, TheNameCacheNeverAnswersPastAWrite) {
  auto m = Open();
  ASSERT_TRUE(m);
  auto get = [&](const std::string& key) {
    auto n = m->GetName("default", "b", key);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : std::nullopt;
  };
  EXPECT_FALSE(get("k"));  // a miss is cached too
  PutCommit c;
  c.name = Name("k", 1);
  ASSERT_TRUE(m->CommitPut(c).ok());
  ASSERT_TRUE(get("k"));
  EXPECT_EQ(get("k")->manifest, D(1));  // twice: the second from the cache
  c.name = Name("k", 2);                // overwritten
  ASSERT_TRUE(m->CommitPut(c).ok());
  EXPECT_EQ(get("k")->manifest, D(2));
  auto copied = m->CopyName(*get("k"), Name("k2", 0), false);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(get("k2")->manifest, D(2));
  ASSERT_TRUE(m->RemoveName("default", "b", "k").ok());
  EXPECT_FALSE(get("k"));
  // Parts of names are kept apart in the cache key.
  EXPECT_FALSE(m->GetName("default", "bk", "2").value());
  // Readers on other threads see each write at once, as without a cache.
  for (int i = 3; i < 50; i++) {
    c.name = Name("k2", uint64_t(i));
    ASSERT_TRUE(m->CommitPut(c).ok());
    std::thread([&] { EXPECT_EQ(get("k2")->manifest, D(uint64_t(i))); }).join();
  }
}

TEST_F(MetadataPoolTest, FindChunksAnswersEachDigestLikeFindChunk) {
  auto m = Open();
  ASSERT_TRUE(m);
  PutCommit c;
  c.domain = 1;
  for (uint64_t i = 0; i < 300; i += 2) c.chunks.emplace_back(D(i), Location{-2, i * 10, 7, 9});
  c.name = Name("k", 1);
  ASSERT_TRUE(m->CommitPut(c).ok());
  std::vector<Digest> ask;
  for (uint64_t i = 0; i < 300; i++) ask.push_back(D(i));
  std::vector<std::optional<Location>> got;
  ASSERT_TRUE(m->FindChunks(1, ask.data(), ask.size(), &got).ok());
  ASSERT_EQ(got.size(), ask.size());
  for (uint64_t i = 0; i < 300; i++) {
    ASSERT_EQ(got[i].has_value(), i % 2 == 0) << i;
    if (got[i]) {
      EXPECT_EQ(got[i]->offset, i * 10) << i;
    }
  }
  // Another domain sees none of them; an empty batch is fine.
  ASSERT_TRUE(m->FindChunks(2, ask.data(), 10, &got).ok());
  for (const auto& g : got) EXPECT_FALSE(g.has_value());
  ASSERT_TRUE(m->FindChunks(1, ask.data(), 0, &got).ok());
  EXPECT_TRUE(got.empty());
  // The batch leaves its connection usable (its transaction ended).
  auto one = m->FindChunk(1, D(4));
  ASSERT_TRUE(one.ok() && *one);
}

TEST_F(MetadataPoolTest, SchemaVersion1IsMigratedOnOpen) {
  {
    auto db = SqliteDb::Open(path_, true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec(R"sql(
      PRAGMA journal_mode=WAL;
      CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE tenants(name TEXT PRIMARY KEY, domain INTEGER NOT NULL UNIQUE,
                           created INTEGER NOT NULL);
      CREATE TABLE packs(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
        domain INTEGER NOT NULL, size INTEGER NOT NULL, frames INTEGER NOT NULL,
        created INTEGER NOT NULL);
      CREATE TABLE chunks(domain INTEGER NOT NULL, digest BLOB NOT NULL, pack INTEGER NOT NULL,
        offset INTEGER NOT NULL, frame_len INTEGER NOT NULL, raw_len INTEGER NOT NULL,
        PRIMARY KEY(domain, digest)) WITHOUT ROWID;
      CREATE TABLE manifests(domain INTEGER NOT NULL, digest BLOB NOT NULL,
        content BLOB NOT NULL, size INTEGER NOT NULL, chunks INTEGER NOT NULL,
        pack INTEGER NOT NULL, offset INTEGER NOT NULL, frame_len INTEGER NOT NULL,
        raw_len INTEGER NOT NULL, PRIMARY KEY(domain, digest)) WITHOUT ROWID;
      CREATE TABLE names(tenant TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL,
        manifest BLOB NOT NULL, content BLOB NOT NULL, size INTEGER NOT NULL,
        version INTEGER NOT NULL, created INTEGER NOT NULL,
        PRIMARY KEY(tenant, bucket, key)) WITHOUT ROWID;
      INSERT INTO meta VALUES ('schema_version', '1');
      INSERT INTO tenants VALUES ('default', 1, 5);
    )sql").ok());
    auto ins = (*db)->Prepare("INSERT INTO names VALUES ('default', 'old', 'k', ?, ?, 3, 1, 42)");
    ASSERT_TRUE(ins.ok());
    rows::BindDigest(*ins, 1, D(1));
    rows::BindDigest(*ins, 2, D(2));
    ASSERT_TRUE(ins->Run().ok());
  }
  auto m = Open(false);
  ASSERT_TRUE(m);
  auto version = m->GetMeta("schema_version");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, std::to_string(kMetadataSchemaVersion));  // through 2 to 3
  int bases = 0;  // version 3's table exists, empty
  EXPECT_TRUE(m->ForEachChunkBase([&](const ChunkKey&, const Digest&) { bases++; }).ok());
  EXPECT_EQ(bases, 0);
  auto b = m->GetBucket("default", "old");  // a pooled read of a table the migration made
  ASSERT_TRUE(b.ok() && *b) << b.status().ToString();
  EXPECT_EQ((*b)->created, 42);
  auto n = m->GetName("default", "old", "k");
  ASSERT_TRUE(n.ok() && *n);
  EXPECT_EQ((*n)->attrs, "");
  auto d = m->TenantDomain("default", false);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, 1u);
  EXPECT_EQ(m->TenantDomain("nobody", false).status().code(), Code::kNotFound);
  d = m->TenantDomain("new", true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, 2u);
}

// The counters (schema v7) rely on INSERT OR REPLACE firing the DELETE
// triggers of the row it replaces, which SQLite does only with
// recursive_triggers on: every connection this build opens has it, and a
// connection without it (a control: sqlite3 by hand, say) makes the counters
// wrong, which CheckIntegrity (verify) reports.
TEST_F(MetadataPoolTest, EveryConnectionCountsTheRowsThatInsertOrReplaceReplaces) {
  auto m = Open();
  ASSERT_TRUE(m);
  auto* lite = dynamic_cast<SqliteMetadata*>(m.get());
  ASSERT_TRUE(lite);
  auto recursive = [](SqliteDb& db) {
    auto st = db.Prepare("PRAGMA recursive_triggers");
    EXPECT_TRUE(st.ok());
    auto row = st->Step();
    EXPECT_TRUE(row.ok() && *row);
    return st->Int(0);
  };
  auto writer = SqliteDb::Open(path_, false);
  ASSERT_TRUE(writer.ok());
  EXPECT_EQ(recursive(**writer), 1);
  auto reader = SqliteDb::OpenReader(path_, 64, 0);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(recursive(**reader), 1);

  PutCommit c;
  c.domain = 1;
  for (uint64_t i = 0; i < 10; i++) c.chunks.emplace_back(D(i), Location{-2, i, 10, 100});
  c.name = Name("k", 1);
  ASSERT_TRUE(m->CommitPut(c).ok());
  // Through Metadata: chunks 5..9 stored anew with other lengths.
  PutCommit again;
  again.domain = 1;
  for (uint64_t i = 5; i < 15; i++) again.chunks.emplace_back(D(i), Location{-2, i, 20, 200});
  ASSERT_TRUE(m->CommitPut(again).ok());
  auto kept = m->Totals();
  auto scan = lite->ScanTotals();
  ASSERT_TRUE(kept.ok() && scan.ok());
  EXPECT_EQ(kept->unique_chunks, 15u);
  EXPECT_EQ(scan->unique_chunks, 15u);
  EXPECT_EQ(kept->unique_bytes, 5u * 100 + 10 * 200);
  EXPECT_EQ(scan->unique_bytes, kept->unique_bytes);
  EXPECT_EQ(kept->stored_bytes, 5u * 10 + 10 * 20);
  EXPECT_EQ(scan->stored_bytes, kept->stored_bytes);
  auto check = m->CheckIntegrity(false);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->empty()) << (*check)[0];

  // A connection of this build, by hand: still exact.
  auto replace = [&](SqliteDb& db) {
    auto st = db.Prepare("INSERT OR REPLACE INTO chunks(domain, digest, pack, offset, frame_len, "
                         "raw_len) VALUES (1, ?, 1, 0, 1, 1)");
    ASSERT_TRUE(st.ok());
    rows::BindDigest(*st, 1, D(0));
    ASSERT_TRUE(st->Run().ok());
  };
  replace(**writer);
  kept = m->Totals();
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->unique_chunks, 15u);
  EXPECT_EQ(kept->unique_bytes, 4u * 100 + 10 * 200 + 1);
  // The control: without recursive triggers the replaced row is not
  // subtracted.
  ASSERT_TRUE((*writer)->Exec("PRAGMA recursive_triggers=OFF").ok());
  replace(**writer);
  kept = m->Totals();
  scan = lite->ScanTotals();
  ASSERT_TRUE(kept.ok() && scan.ok());
  EXPECT_EQ(scan->unique_chunks, 15u);
  EXPECT_EQ(kept->unique_chunks, 16u) << "the control must miscount";
  check = m->CheckIntegrity(false);
  ASSERT_TRUE(check.ok());
  ASSERT_EQ(check->size(), 1u);
  EXPECT_NE((*check)[0].find("chunks 16 (scan 15)"), std::string::npos) << (*check)[0];
}

// Version 7's counters and triggers, dropped (to make older layouts).
constexpr const char* kDropCounters = R"sql(
  DROP TRIGGER chunks_counted_insert; DROP TRIGGER chunks_counted_delete;
  DROP TRIGGER chunks_counted_update; DROP TRIGGER chunks_counted_rekey;
  DROP TRIGGER manifests_counted_insert; DROP TRIGGER manifests_counted_delete;
  DROP TRIGGER names_counted_insert; DROP TRIGGER names_counted_delete;
  DROP TRIGGER names_counted_update; DROP TRIGGER packs_counted_insert;
  DROP TRIGGER packs_counted_delete; DROP TRIGGER packs_counted_update;
  DROP TABLE counters;
)sql";

// A version 5 database gains the counters on open (one scan, in the
// migration's transaction; version 7 directly) and the chunk generation,
// and keeps them exact from then on.
TEST_F(MetadataPoolTest, SchemaVersion5GainsCountersFilledFromTheTables) {
  ASSERT_NO_FATAL_FAILURE(CommitOnePack(50));
  {
    // Back to what version 5 was: no counters, no triggers; and rows the
    // counters never saw.
    auto db = SqliteDb::Open(path_, false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec(std::string(kDropCounters) + R"sql(
      UPDATE meta SET value = '5' WHERE key = 'schema_version';
      INSERT INTO chunks(domain, digest, pack, offset, frame_len, raw_len)
        VALUES (1, x'01', 1, 0, 1000, 2000);
      INSERT INTO names VALUES ('default', 'b', 'raw', x'01', x'02', 5000, 1, 1, NULL);
    )sql").ok());
    auto triggers = (*db)->Prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'");
    ASSERT_TRUE(triggers.ok() && triggers->Step().ok());
    ASSERT_EQ(triggers->Int(0), 0) << "a trigger this test does not drop";
  }
  auto m = Open(false);
  ASSERT_TRUE(m);
  auto version = m->GetMeta("schema_version");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, std::to_string(kMetadataSchemaVersion));
  auto t = m->Totals();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->unique_chunks, 51u);
  EXPECT_EQ(t->unique_bytes, 50u * 70 + 2000);
  EXPECT_EQ(t->stored_bytes, 50u * 7 + 1000);
  EXPECT_EQ(t->names, 2u);
  EXPECT_EQ(t->logical_bytes, 33u + 5000);
  EXPECT_EQ(t->packs, 1u);
  EXPECT_EQ(t->pack_bytes, 4096u);
  auto gen = m->WatchChunkGeneration();
  ASSERT_TRUE(gen.ok()) << gen.status().ToString();
  EXPECT_LT(*gen, uint64_t{1} << 62);
  PutCommit more;
  more.domain = 1;
  for (uint64_t i = 40; i < 60; i++) more.chunks.emplace_back(D(i), Location{-2, i, 8, 80});
  ASSERT_TRUE(m->CommitPut(more).ok());
  auto* lite = dynamic_cast<SqliteMetadata*>(m.get());
  ASSERT_TRUE(lite);
  t = m->Totals();
  auto scan = lite->ScanTotals();
  ASSERT_TRUE(t.ok() && scan.ok());
  EXPECT_EQ(t->unique_chunks, 61u);
  EXPECT_EQ(t->unique_chunks, scan->unique_chunks);
  EXPECT_EQ(t->unique_bytes, scan->unique_bytes);
  EXPECT_EQ(t->stored_bytes, scan->stored_bytes);
  auto sole = m->SoleChunkGeneration();
  ASSERT_TRUE(sole.ok() && *sole);
  EXPECT_EQ(**sole, *gen + 10 + 2 * 10) << "10 rows added, 10 replaced (a delete and an insert)";
}

// Schema 6 (never released) kept each counter in a row of its own,
// counters(name, value), and its triggers, under the names version 7's
// have, ran an UPDATE per counter. Such a database is migrated on open:
// its triggers and table dropped, version 7's made and filled from a scan
// (nothing of version 6's values kept, chunk_gen included), in one
// transaction.
TEST_F(MetadataPoolTest, SchemaVersion6sCountersAreReplacedFromTheTables) {
  ASSERT_NO_FATAL_FAILURE(CommitOnePack(30));
  {
    // Version 6 as it was, with counters that disagree with the tables (so
    // that a migration keeping them would show) and a chunk_gen of 5.
    auto db = SqliteDb::Open(path_, false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec(std::string(kDropCounters) + R"sql(
      CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO counters VALUES ('names', 9), ('name_bytes', 9), ('chunks', 9),
        ('chunk_raw_bytes', 9), ('chunk_frame_bytes', 9), ('packs', 9), ('pack_bytes', 9),
        ('manifests', 9), ('chunk_gen', 5);
      CREATE TRIGGER chunks_counted_insert AFTER INSERT ON chunks BEGIN
        UPDATE counters SET value = value + 1 WHERE name = 'chunks';
        UPDATE counters SET value = value + new.raw_len WHERE name = 'chunk_raw_bytes';
        UPDATE counters SET value = value + new.frame_len WHERE name = 'chunk_frame_bytes';
        UPDATE counters SET value = value + 1 WHERE name = 'chunk_gen';
      END;
      CREATE TRIGGER chunks_counted_delete AFTER DELETE ON chunks BEGIN
        UPDATE counters SET value = value - 1 WHERE name = 'chunks';
        UPDATE counters SET value = value - old.raw_len WHERE name = 'chunk_raw_bytes';
        UPDATE counters SET value = value - old.frame_len WHERE name = 'chunk_frame_bytes';
        UPDATE counters SET value = value + 1 WHERE name = 'chunk_gen';
      END;
      CREATE TRIGGER chunks_counted_update AFTER UPDATE OF raw_len, frame_len ON chunks BEGIN
        UPDATE counters SET value = value + new.raw_len - old.raw_len
          WHERE name = 'chunk_raw_bytes';
        UPDATE counters SET value = value + new.frame_len - old.frame_len
          WHERE name = 'chunk_frame_bytes';
      END;
      CREATE TRIGGER chunks_counted_rekey AFTER UPDATE OF domain, digest ON chunks BEGIN
        UPDATE counters SET value = value + 1 WHERE name = 'chunk_gen';
      END;
      CREATE TRIGGER manifests_counted_insert AFTER INSERT ON manifests BEGIN
        UPDATE counters SET value = value + 1 WHERE name = 'manifests';
      END;
      CREATE TRIGGER manifests_counted_delete AFTER DELETE ON manifests BEGIN
        UPDATE counters SET value = value - 1 WHERE name = 'manifests';
      END;
      CREATE TRIGGER names_counted_insert AFTER INSERT ON names BEGIN
        UPDATE counters SET value = value + 1 WHERE name = 'names';
        UPDATE counters SET value = value + new.size WHERE name = 'name_bytes';
      END;
      CREATE TRIGGER names_counted_delete AFTER DELETE ON names BEGIN
        UPDATE counters SET value = value - 1 WHERE name = 'names';
        UPDATE counters SET value = value - old.size WHERE name = 'name_bytes';
      END;
      CREATE TRIGGER names_counted_update AFTER UPDATE OF size ON names BEGIN
        UPDATE counters SET value = value + new.size - old.size WHERE name = 'name_bytes';
      END;
      CREATE TRIGGER packs_counted_insert AFTER INSERT ON packs BEGIN
        UPDATE counters SET value = value + 1 WHERE name = 'packs';
        UPDATE counters SET value = value + new.size WHERE name = 'pack_bytes';
      END;
      CREATE TRIGGER packs_counted_delete AFTER DELETE ON packs BEGIN
        UPDATE counters SET value = value - 1 WHERE name = 'packs';
        UPDATE counters SET value = value - old.size WHERE name = 'pack_bytes';
      END;
      CREATE TRIGGER packs_counted_update AFTER UPDATE OF size ON packs BEGIN
        UPDATE counters SET value = value + new.size - old.size WHERE name = 'pack_bytes';
      END;
      UPDATE meta SET value = '6' WHERE key = 'schema_version';
      INSERT INTO chunks(domain, digest, pack, offset, frame_len, raw_len)
        VALUES (1, x'01', 1, 0, 1000, 2000);
    )sql").ok());
  }
  auto m = Open(false);
  ASSERT_TRUE(m);
  auto version = m->GetMeta("schema_version");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, std::to_string(kMetadataSchemaVersion));
  auto t = m->Totals();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->unique_chunks, 31u);
  EXPECT_EQ(t->unique_bytes, 30u * 70 + 2000);
  EXPECT_EQ(t->stored_bytes, 30u * 7 + 1000);
  EXPECT_EQ(t->names, 1u);
  EXPECT_EQ(t->logical_bytes, 33u);
  EXPECT_EQ(t->packs, 1u);
  EXPECT_EQ(t->pack_bytes, 4096u);
  EXPECT_EQ(t->manifests, 0u);
  auto gen = m->WatchChunkGeneration();
  ASSERT_TRUE(gen.ok()) << gen.status().ToString();
  EXPECT_LT(*gen, uint64_t{1} << 62);
  EXPECT_NE(*gen, 6u) << "version 6's chunk_gen (5, and 1 for the row inserted since) was kept";
  {
    // Version 7's triggers, not version 6's: one row in counters, and no
    // trigger names a counter by its name.
    auto db = SqliteDb::Open(path_, false);
    ASSERT_TRUE(db.ok());
    auto st = (*db)->Prepare(
        "SELECT (SELECT count(*) FROM counters), "
        "(SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'), "
        "(SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND sql LIKE '%WHERE name%')");
    ASSERT_TRUE(st.ok());
    auto row = st->Step();
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_EQ(st->Int(0), 1);
    EXPECT_EQ(st->Int(1), 12);
    EXPECT_EQ(st->Int(2), 0);
  }
  PutCommit more;
  more.domain = 1;
  for (uint64_t i = 20; i < 40; i++) more.chunks.emplace_back(D(i), Location{-2, i, 8, 80});
  ASSERT_TRUE(m->CommitPut(more).ok());
  auto* lite = dynamic_cast<SqliteMetadata*>(m.get());
  ASSERT_TRUE(lite);
  t = m->Totals();
  auto scan = lite->ScanTotals();
  ASSERT_TRUE(t.ok() && scan.ok());
  EXPECT_EQ(t->unique_chunks, 41u);
  EXPECT_EQ(t->unique_chunks, scan->unique_chunks);
  EXPECT_EQ(t->unique_bytes, scan->unique_bytes);
  EXPECT_EQ(t->stored_bytes, scan->stored_bytes);
  auto check = m->CheckIntegrity(false);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->empty()) << (*check)[0];
  auto sole = m->SoleChunkGeneration();
  ASSERT_TRUE(sole.ok() && *sole);
  EXPECT_EQ(**sole, *gen + 10 + 2 * 10) << "10 rows added, 10 replaced (a delete and an insert)";
}

// Every counter is a column of counters' one row: a chunk row's insert or
// delete fires one UPDATE of it (schema 6 fired four), an update of a row
// fires one only where it changes a counted column, and gc's doom marks
// (state, doom_epoch) and a name's attrs fire none. total_changes() counts
// the rows changed by the statement and by the triggers it fired (not the
// row an INSERT OR REPLACE removes).
TEST_F(MetadataPoolTest, AChunkRowsChangeFiresAtMostOneUpdateOfTheCounters) {
  auto m = Open();
  ASSERT_TRUE(m);
  auto* lite = dynamic_cast<SqliteMetadata*>(m.get());
  ASSERT_TRUE(lite);
  auto db = SqliteDb::Open(path_, false);
  ASSERT_TRUE(db.ok());
  auto query = [&](const std::string& sql) -> int64_t {
    auto st = (*db)->Prepare(sql);
    EXPECT_TRUE(st.ok()) << sql;
    if (!st.ok()) return -1;
    auto row = st->Step();
    EXPECT_TRUE(row.ok() && *row) << sql;
    return row.ok() && *row ? st->Int(0) : -1;
  };
  auto changes = [&](const std::string& sql) -> int64_t {
    const int64_t before = query("SELECT total_changes()");
    EXPECT_TRUE((*db)->Exec(sql).ok()) << sql;
    return query("SELECT total_changes()") - before;
  };
  const int64_t gen = query("SELECT chunk_gen FROM counters");
  const std::string insert =
      "INSERT OR REPLACE INTO chunks(domain, digest, pack, offset, frame_len, raw_len) VALUES ";
  EXPECT_EQ(changes(insert + "(1, x'01', 1, 0, 10, 20)"), 2) << "the row, the counters";
  EXPECT_EQ(changes(insert + "(1, x'02', 1, 0, 10, 20), (1, x'03', 1, 0, 10, 20)"), 4);
  EXPECT_EQ(changes(insert + "(1, x'01', 1, 0, 11, 21)"), 3)
      << "the row, the counters for the row replaced and for the new one";
  EXPECT_EQ(changes("UPDATE chunks SET state = 'D', doom_epoch = 3 WHERE digest = x'01'"), 1);
  EXPECT_EQ(changes("UPDATE chunks SET state = 'L', doom_epoch = NULL WHERE digest = x'01'"), 1);
  EXPECT_EQ(changes("UPDATE chunks SET pack = 2, offset = 9, frame_len = 11, raw_len = 21 "
                    "WHERE digest = x'01'"),
            1)
      << "a move that keeps the lengths";
  EXPECT_EQ(changes("UPDATE chunks SET pack = 3, offset = 0, frame_len = 12, raw_len = 21 "
                    "WHERE digest = x'01'"),
            2);
  EXPECT_EQ(changes("UPDATE chunks SET digest = x'04' WHERE digest = x'03'"), 2);
  EXPECT_EQ(changes("UPDATE chunks SET digest = x'04' WHERE digest = x'04'"), 1) << "the same key";
  EXPECT_EQ(changes("DELETE FROM chunks WHERE digest = x'02'"), 2);
  EXPECT_EQ(query("SELECT chunk_gen FROM counters"), gen + 3 + 2 + 1 + 1)
      << "3 rows inserted, 1 replaced, 1 rekeyed, 1 deleted";

  EXPECT_EQ(changes("INSERT INTO names VALUES ('default', 'b', 'k', x'01', x'02', 5, 1, 1, NULL)"),
            2);
  const std::string rebind =
      "INSERT INTO names VALUES ('default', 'b', 'k', x'03', x'04', ?, 1, 1, NULL) "
      "ON CONFLICT(tenant, bucket, key) DO UPDATE SET manifest = excluded.manifest, "
      "content = excluded.content, size = excluded.size, version = version + 1";
  auto rebind_to = [&](int64_t size) {
    const int64_t before = query("SELECT total_changes()");
    auto st = (*db)->Prepare(rebind);
    EXPECT_TRUE(st.ok());
    st->Bind(1, size);
    EXPECT_TRUE(st->Run().ok());
    return query("SELECT total_changes()") - before;
  };
  EXPECT_EQ(rebind_to(5), 1) << "rebound to an artifact of the same size";
  EXPECT_EQ(rebind_to(6), 2);
  EXPECT_EQ(changes("UPDATE names SET attrs = x'00' WHERE key = 'k'"), 1);
  EXPECT_EQ(changes("INSERT INTO packs(name, domain, size, frames, created) "
                    "VALUES ('p', 1, 100, 1, 1)"),
            2);
  EXPECT_EQ(changes("UPDATE packs SET size = 100 WHERE name = 'p'"), 1);
  EXPECT_EQ(changes("UPDATE packs SET size = 101 WHERE name = 'p'"), 2);
  EXPECT_EQ(changes("INSERT INTO manifests(domain, digest, content, size, chunks, pack, offset, "
                    "frame_len, raw_len) VALUES (1, x'01', x'02', 1, 1, 1, 0, 1, 1)"),
            2);
  EXPECT_EQ(changes("DELETE FROM manifests"), 2);
  EXPECT_EQ(changes("DELETE FROM names"), 2);
  EXPECT_EQ(changes("DELETE FROM packs"), 2);

  auto kept = m->Totals();
  auto scan = lite->ScanTotals();
  ASSERT_TRUE(kept.ok() && scan.ok());
  EXPECT_EQ(kept->unique_chunks, 2u);
  EXPECT_EQ(kept->unique_chunks, scan->unique_chunks);
  EXPECT_EQ(kept->unique_bytes, 21u + 20);
  EXPECT_EQ(kept->unique_bytes, scan->unique_bytes);
  EXPECT_EQ(kept->stored_bytes, 12u + 10);
  EXPECT_EQ(kept->stored_bytes, scan->stored_bytes);
  auto check = m->CheckIntegrity(false);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->empty()) << (*check)[0];
  // One row, which a second cannot join.
  EXPECT_FALSE((*db)->Exec("INSERT INTO counters SELECT 2, names, name_bytes, chunks, "
                           "chunk_raw_bytes, chunk_frame_bytes, chunk_gen, manifests, packs, "
                           "pack_bytes FROM counters").ok());
}

TEST_F(MetadataPoolTest, ConcurrentTenantCreationAgreesOnOneDomain) {
  auto m = Open();
  ASSERT_TRUE(m);
  std::vector<uint32_t> got(8);
  std::vector<std::thread> ts;
  for (size_t t = 0; t < got.size(); t++) {
    ts.emplace_back([&, t] {
      auto d = m->TenantDomain("t1", true);
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      got[t] = *d;
    });
  }
  for (auto& t : ts) t.join();
  for (uint32_t d : got) EXPECT_EQ(d, got[0]);
}

}  // namespace
}  // namespace as
