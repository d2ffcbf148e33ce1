#include "index/sqlite_metadata.h"

#include "index/sqlite_metadata_rows.h"

#include <algorithm>
#include <ctime>
#include <functional>
#include <iterator>
#include <optional>
#include <thread>

namespace as {

namespace {
using namespace rows;  // NOLINT: this file is the rows helpers' main user

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants(
  name TEXT PRIMARY KEY, domain INTEGER NOT NULL UNIQUE, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS packs(
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, domain INTEGER NOT NULL,
  size INTEGER NOT NULL, frames INTEGER NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunks(
  domain INTEGER NOT NULL, digest BLOB NOT NULL, pack INTEGER NOT NULL,
  offset INTEGER NOT NULL, frame_len INTEGER NOT NULL, raw_len INTEGER NOT NULL,
  PRIMARY KEY(domain, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_pack ON chunks(pack);
CREATE TABLE IF NOT EXISTS manifests(
  domain INTEGER NOT NULL, digest BLOB NOT NULL, content BLOB NOT NULL,
  size INTEGER NOT NULL, chunks INTEGER NOT NULL, pack INTEGER NOT NULL,
  offset INTEGER NOT NULL, frame_len INTEGER NOT NULL, raw_len INTEGER NOT NULL,
  PRIMARY KEY(domain, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS manifests_content ON manifests(domain, content);
CREATE TABLE IF NOT EXISTS names(
  tenant TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL,
  manifest BLOB NOT NULL, content BLOB NOT NULL, size INTEGER NOT NULL,
  version INTEGER NOT NULL, created INTEGER NOT NULL, attrs BLOB,
  PRIMARY KEY(tenant, bucket, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS names_manifest ON names(manifest);
CREATE INDEX IF NOT EXISTS names_content ON names(tenant, content);
)sql";

// Added in schema version 2 (buckets, multipart uploads, access keys; names
// gained `attrs`). Run on every open: CREATE .. IF NOT EXISTS.
const char* kSchemaV2 = R"sql(
CREATE TABLE IF NOT EXISTS buckets(
  tenant TEXT NOT NULL, bucket TEXT NOT NULL, created INTEGER NOT NULL,
  PRIMARY KEY(tenant, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads(
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL,
  attrs BLOB, created INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS uploads_name ON uploads(tenant, bucket, key);
CREATE TABLE IF NOT EXISTS upload_parts(
  upload TEXT NOT NULL, number INTEGER NOT NULL, manifest BLOB NOT NULL, content BLOB NOT NULL,
  size INTEGER NOT NULL, attrs BLOB, created INTEGER NOT NULL,
  PRIMARY KEY(upload, number)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS access_keys(
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, secret TEXT NOT NULL, created INTEGER NOT NULL);
)sql";

// Added in schema version 3: the bases of zstd-ref chunks (gc keeps a base
// while a chunk built on it lives).
const char* kSchemaV3 = R"sql(
CREATE TABLE IF NOT EXISTS chunk_bases(
  domain INTEGER NOT NULL, digest BLOB NOT NULL, base BLOB NOT NULL,
  PRIMARY KEY(domain, digest, base)) WITHOUT ROWID;
)sql";

// Added in schema version 4: gc's doom marks ('L' live, 'D' doomed, with
// the epoch; see Metadata::Doom). Few rows are ever doomed: the partial indexes find them.
const char* kSchemaV4 = R"sql(
ALTER TABLE chunks ADD COLUMN state TEXT NOT NULL DEFAULT 'L';
ALTER TABLE chunks ADD COLUMN doom_epoch INTEGER;
ALTER TABLE manifests ADD COLUMN state TEXT NOT NULL DEFAULT 'L';
ALTER TABLE manifests ADD COLUMN doom_epoch INTEGER;
CREATE INDEX IF NOT EXISTS chunks_doomed ON chunks(domain, digest) WHERE state = 'D';
CREATE INDEX IF NOT EXISTS manifests_doomed ON manifests(domain, digest) WHERE state = 'D';
)sql";

// Added in schema version 5: encrypted tenants' keys, wrapped by the
// master key (docs/format/encryption.md).
const char* kSchemaV5 = R"sql(
CREATE TABLE IF NOT EXISTS keys(
  id INTEGER PRIMARY KEY, domain INTEGER NOT NULL, kind TEXT NOT NULL,
  wrapped BLOB NOT NULL, created INTEGER NOT NULL);
)sql";

// Added in schema version 7: totals kept by triggers, so that `stats` reads
// one row instead of scanning the tables, and the chunk generation (see
// ChunkIndex::WatchChunkGeneration), which a chunk row's insert or delete
// advances and nothing else does. Exact only with PRAGMA recursive_triggers
// on (SqliteDb::Open): INSERT OR REPLACE then fires the DELETE triggers for
// the row it replaces.
//
// Every counter is a column of the one row of `counters` (id 1), so that a
// chunk row's insert or delete fires one UPDATE of one row, found by its
// rowid. Schema 6 ran an UPDATE of a row per counter, four per chunk row,
// and its triggers cost about 1.8 times as much (the commit of 16,384 chunk
// rows into an empty index: 90 ms, 65 ms with these, 33 ms without
// triggers; docs/format/metadata.md). An update of a row runs its
// trigger's UPDATE only WHEN a counted column changed (a gc move that keeps
// the lengths, a name rebound to an artifact of the same size, run none),
// and an update of columns no trigger is OF (gc's state and doom_epoch, a
// name's attrs) fires nothing.
const char* kCountersTable = R"sql(
CREATE TABLE counters(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  names INTEGER NOT NULL, name_bytes INTEGER NOT NULL,
  chunks INTEGER NOT NULL, chunk_raw_bytes INTEGER NOT NULL, chunk_frame_bytes INTEGER NOT NULL,
  chunk_gen INTEGER NOT NULL,
  manifests INTEGER NOT NULL, packs INTEGER NOT NULL, pack_bytes INTEGER NOT NULL);
)sql";

// The triggers of the tables a reindex replaces whole (CommitReindex drops
// and creates them again).
const char* kIndexTriggers = R"sql(
CREATE TRIGGER chunks_counted_insert AFTER INSERT ON chunks BEGIN
  UPDATE counters SET chunks = chunks + 1, chunk_raw_bytes = chunk_raw_bytes + new.raw_len,
    chunk_frame_bytes = chunk_frame_bytes + new.frame_len, chunk_gen = chunk_gen + 1
    WHERE id = 1;
END;
CREATE TRIGGER chunks_counted_delete AFTER DELETE ON chunks BEGIN
  UPDATE counters SET chunks = chunks - 1, chunk_raw_bytes = chunk_raw_bytes - old.raw_len,
    chunk_frame_bytes = chunk_frame_bytes - old.frame_len, chunk_gen = chunk_gen + 1
    WHERE id = 1;
END;
CREATE TRIGGER chunks_counted_update AFTER UPDATE OF raw_len, frame_len ON chunks
WHEN old.raw_len != new.raw_len OR old.frame_len != new.frame_len BEGIN
  UPDATE counters SET chunk_raw_bytes = chunk_raw_bytes + new.raw_len - old.raw_len,
    chunk_frame_bytes = chunk_frame_bytes + new.frame_len - old.frame_len WHERE id = 1;
END;
CREATE TRIGGER chunks_counted_rekey AFTER UPDATE OF domain, digest ON chunks
WHEN old.domain != new.domain OR old.digest != new.digest BEGIN
  UPDATE counters SET chunk_gen = chunk_gen + 1 WHERE id = 1;
END;
CREATE TRIGGER manifests_counted_insert AFTER INSERT ON manifests BEGIN
  UPDATE counters SET manifests = manifests + 1 WHERE id = 1;
END;
CREATE TRIGGER manifests_counted_delete AFTER DELETE ON manifests BEGIN
  UPDATE counters SET manifests = manifests - 1 WHERE id = 1;
END;
CREATE TRIGGER packs_counted_insert AFTER INSERT ON packs BEGIN
  UPDATE counters SET packs = packs + 1, pack_bytes = pack_bytes + new.size WHERE id = 1;
END;
CREATE TRIGGER packs_counted_delete AFTER DELETE ON packs BEGIN
  UPDATE counters SET packs = packs - 1, pack_bytes = pack_bytes - old.size WHERE id = 1;
END;
CREATE TRIGGER packs_counted_update AFTER UPDATE OF size ON packs
WHEN old.size != new.size BEGIN
  UPDATE counters SET pack_bytes = pack_bytes + new.size - old.size WHERE id = 1;
END;
)sql";

// Their drops.
const char* kDropIndexTriggers = R"sql(
DROP TRIGGER chunks_counted_insert; DROP TRIGGER chunks_counted_delete;
DROP TRIGGER chunks_counted_update; DROP TRIGGER chunks_counted_rekey;
DROP TRIGGER manifests_counted_insert; DROP TRIGGER manifests_counted_delete;
DROP TRIGGER packs_counted_insert; DROP TRIGGER packs_counted_delete;
DROP TRIGGER packs_counted_update;
)sql";

// `ON CONFLICT .. DO UPDATE` (a name rebound) fires the UPDATE trigger.
const char* kNameTriggers = R"sql(
CREATE TRIGGER names_counted_insert AFTER INSERT ON names BEGIN
  UPDATE counters SET names = names + 1, name_bytes = name_bytes + new.size WHERE id = 1;
END;
CREATE TRIGGER names_counted_delete AFTER DELETE ON names BEGIN
  UPDATE counters SET names = names - 1, name_bytes = name_bytes - old.size WHERE id = 1;
END;
CREATE TRIGGER names_counted_update AFTER UPDATE OF size ON names
WHEN old.size != new.size BEGIN
  UPDATE counters SET name_bytes = name_bytes + new.size - old.size WHERE id = 1;
END;
)sql";

// Schema 6 (never released: developers' stores only) kept the same counters
// as rows of counters(name, value), under the same trigger names, an UPDATE
// per counter. A version 6 database drops them, and gains version 7's from
// a scan (Migrate).
const char* kDropSchemaV6 = R"sql(
DROP TRIGGER IF EXISTS chunks_counted_insert; DROP TRIGGER IF EXISTS chunks_counted_delete;
DROP TRIGGER IF EXISTS chunks_counted_update; DROP TRIGGER IF EXISTS chunks_counted_rekey;
DROP TRIGGER IF EXISTS manifests_counted_insert; DROP TRIGGER IF EXISTS manifests_counted_delete;
DROP TRIGGER IF EXISTS names_counted_insert; DROP TRIGGER IF EXISTS names_counted_delete;
DROP TRIGGER IF EXISTS names_counted_update; DROP TRIGGER IF EXISTS packs_counted_insert;
DROP TRIGGER IF EXISTS packs_counted_delete; DROP TRIGGER IF EXISTS packs_counted_update;
DROP TABLE IF EXISTS counters;
)sql";

// The totals counted from the tables, each table scanned once.
Result<StoreTotals> ScanTotalsOn(SqliteDb& db) {
  AS_ASSIGN_OR_RETURN(auto st, db.Prepare(
      "SELECT n.c, n.s, c.c, c.r, c.f, p.c, p.s, m.c FROM "
      "(SELECT count(*) AS c, coalesce(sum(size), 0) AS s FROM names) AS n, "
      "(SELECT count(*) AS c, coalesce(sum(raw_len), 0) AS r, coalesce(sum(frame_len), 0) AS f "
      "FROM chunks) AS c, "
      "(SELECT count(*) AS c, coalesce(sum(size), 0) AS s FROM packs) AS p, "
      "(SELECT count(*) AS c FROM manifests) AS m"));
  AS_ASSIGN_OR_RETURN(bool row, st.Step());
  StoreTotals t;
  if (!row) return t;
  t.names = static_cast<uint64_t>(st.Int(0));
  t.logical_bytes = static_cast<uint64_t>(st.Int(1));
  t.unique_chunks = static_cast<uint64_t>(st.Int(2));
  t.unique_bytes = static_cast<uint64_t>(st.Int(3));
  t.stored_bytes = static_cast<uint64_t>(st.Int(4));
  t.packs = static_cast<uint64_t>(st.Int(5));
  t.pack_bytes = static_cast<uint64_t>(st.Int(6));
  t.manifests = static_cast<uint64_t>(st.Int(7));
  return t;
}

// The totals as the counters keep them.
Result<StoreTotals> CountersOn(SqliteDb& db) {
  AS_ASSIGN_OR_RETURN(auto st,
                      db.Prepare("SELECT " + CounterColumns() + " FROM counters WHERE id = 1"));
  AS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Corruption("metadata " + db.path() + ": the counters row is missing");
  StoreTotals t;
  int col = 0;
  for (const CounterField& f : kCounterFields) t.*f.field = static_cast<uint64_t>(st.Int(col++));
  return t;
}

constexpr const char* kManifestCols =
    "digest, content, size, chunks, pack, offset, frame_len, raw_len, domain";

Result<ManifestRow> ColManifest(const SqliteStmt& st) {
  ManifestRow m;
  AS_ASSIGN_OR_RETURN(m.digest, ColDigest(st, 0));
  AS_ASSIGN_OR_RETURN(m.content, ColDigest(st, 1));
  m.size = static_cast<uint64_t>(st.Int(2));
  m.chunks = static_cast<uint64_t>(st.Int(3));
  m.loc.pack = st.Int(4);
  m.loc.offset = static_cast<uint64_t>(st.Int(5));
  m.loc.frame_len = static_cast<uint32_t>(st.Int(6));
  m.loc.raw_len = static_cast<uint32_t>(st.Int(7));
  m.domain = static_cast<uint32_t>(st.Int(8));
  return m;
}

PackRow ColPack(const SqliteStmt& st) {
  return PackRow{st.Int(0), st.Text(1), static_cast<uint64_t>(st.Int(2)),
                 static_cast<uint32_t>(st.Int(3)), st.Int(4), static_cast<uint32_t>(st.Int(5))};
}

Location ColLocation(const SqliteStmt& st, int first) {
  return Location{st.Int(first), static_cast<uint64_t>(st.Int(first + 1)),
                  static_cast<uint32_t>(st.Int(first + 2)),
                  static_cast<uint32_t>(st.Int(first + 3))};
}

SqliteStmt& BindLocation(SqliteStmt& st, int first, const Location& loc, int64_t pack) {
  return st.Bind(first, pack).Bind(first + 1, static_cast<int64_t>(loc.offset))
      .Bind(first + 2, loc.frame_len).Bind(first + 3, loc.raw_len);
}

}  // namespace

SqliteMetadata::SqliteMetadata(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {
  // Two per CPU: a reader preempted mid-statement leaves others free, while
  // the page caches stay few (each is small; the file is mmapped).
  ReadPool::Options o;
  o.max_conns = std::max<size_t>(4, 2 * size_t{std::thread::hardware_concurrency()});
  pool_ = std::make_unique<ReadPool>(db_->path(), o);
}

Result<std::unique_ptr<SqliteMetadata>> SqliteMetadata::Open(const std::string& path,
                                                             bool create) {
  AS_ASSIGN_OR_RETURN(auto db, SqliteDb::Open(path, create));
  std::unique_ptr<SqliteMetadata> m(new SqliteMetadata(std::move(db)));
  AS_RETURN_IF_ERROR(m->Migrate(create));
  return m;
}

Status SqliteMetadata::Migrate(bool create) {
  // locking_mode stays NORMAL: the pooled readers are other connections,
  // which EXCLUSIVE would lock out (the store's LOCK file still keeps other
  // processes away). WAL lets them read while the writer writes.
  AS_RETURN_IF_ERROR(db_->Exec("PRAGMA journal_mode=WAL"));
  // FULL: the WAL is fsynced at every commit, so a returned commit is durable.
  AS_RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous=FULL"));
  // The statement journal (each statement's undo, within its transaction)
  // in memory: every chunk row a put inserts fires the counters' triggers,
  // which makes its INSERT a statement that journals the pages it changes;
  // once one statement of a transaction has journaled more than 64 KiB (a
  // few page splits), SQLite moves the journal to a temporary file for the
  // rest of the transaction, and every row then costs write()s there: about
  // 4.6 per chunk row, twice the triggers' own cost on a grown index. This
  // is the writer's connection: its statements change a few rows each
  // (CommitReindex truncates without triggers), so the journal stays small;
  // a statement rewriting much of a large table would hold its undo in
  // memory.
  AS_RETURN_IF_ERROR(db_->Exec("PRAGMA temp_store=MEMORY"));
  if (create) AS_RETURN_IF_ERROR(db_->Exec(kSchema));
  auto v = GetMeta("schema_version");
  if (!v.ok()) {
    if (v.status().code() != Code::kNotFound || !create) {
      return Status::Corruption("metadata " + db_->path() + ": no schema version (" +
                                v.status().message() + ")");
    }
    AS_RETURN_IF_ERROR(db_->Exec(kSchemaV2));
    AS_RETURN_IF_ERROR(db_->Exec(kSchemaV3));
    AS_RETURN_IF_ERROR(db_->Exec(kSchemaV4));
    AS_RETURN_IF_ERROR(db_->Exec(kSchemaV5));
    AS_RETURN_IF_ERROR(CreateCounters());
    return SetMeta("schema_version", std::to_string(kMetadataSchemaVersion));
  }
  int have = std::atoi(v->c_str());
  if (have > kMetadataSchemaVersion) {
    return Status::Unsupported("metadata " + db_->path() + " has schema version " + *v +
                               ", newer than this build (" +
                               std::to_string(kMetadataSchemaVersion) + "): upgrade artifact-store");
  }
  if (have < 2) {
    // Version 1 -> 2 in one transaction: names gain attrs; every bucket a
    // name is in becomes a bucket row.
    AS_RETURN_IF_ERROR(InTransaction(db_.get(), [&]() -> Status {
      AS_RETURN_IF_ERROR(db_->Exec("ALTER TABLE names ADD COLUMN attrs BLOB"));
      AS_RETURN_IF_ERROR(db_->Exec(kSchemaV2));
      AS_RETURN_IF_ERROR(db_->Exec(
          "INSERT OR IGNORE INTO buckets SELECT tenant, bucket, min(created) FROM names "
          "GROUP BY tenant, bucket"));
      return db_->Exec("UPDATE meta SET value = '2' WHERE key = 'schema_version'");
    }));
  }
  if (have < 3) {
    AS_RETURN_IF_ERROR(InTransaction(db_.get(), [&]() -> Status {
      AS_RETURN_IF_ERROR(db_->Exec(kSchemaV3));
      return db_->Exec("UPDATE meta SET value = '3' WHERE key = 'schema_version'");
    }));
  }
  if (have < 4) {
    AS_RETURN_IF_ERROR(InTransaction(db_.get(), [&]() -> Status {
      AS_RETURN_IF_ERROR(db_->Exec(kSchemaV4));
      return db_->Exec("UPDATE meta SET value = '4' WHERE key = 'schema_version'");
    }));
  }
  if (have < 5) {
    AS_RETURN_IF_ERROR(InTransaction(db_.get(), [&]() -> Status {
      AS_RETURN_IF_ERROR(db_->Exec(kSchemaV5));
      return db_->Exec("UPDATE meta SET value = '5' WHERE key = 'schema_version'");
    }));
  }
  if (have < 7) {
    // One scan of each table, once; from then on the triggers keep count.
    // Version 6's counters (rows, not columns) go first: nothing of them is
    // kept, chunk_gen included (a filter stamped with it is rebuilt once).
    AS_RETURN_IF_ERROR(InTransaction(db_.get(), [&]() -> Status {
      if (have == 6) AS_RETURN_IF_ERROR(db_->Exec(kDropSchemaV6));
      AS_RETURN_IF_ERROR(CreateCounters());
      return db_->Exec("UPDATE meta SET value = '7' WHERE key = 'schema_version'");
    }));
  }
  return Status::OK();
}

Status SqliteMetadata::CreateCounters() {
  AS_RETURN_IF_ERROR(db_->Exec(kCountersTable));
  AS_RETURN_IF_ERROR(db_->Exec(kIndexTriggers));
  AS_RETURN_IF_ERROR(db_->Exec(kNameTriggers));
  AS_ASSIGN_OR_RETURN(StoreTotals t, ScanTotalsOn(*db_));
  // chunk_gen at a random start (62 bits: incremented, it never overflows),
  // so that a filter stamped by another database, or by this one before it
  // was made anew, does not match by chance. SQLite's random() is seeded by
  // the OS.
  std::string values;
  for (size_t i = 0; i < std::size(kCounterFields); i++) values += "?, ";
  AS_ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO counters(" + CounterColumns() +
                                            ", chunk_gen, id) VALUES (" + values +
                                            "random() & 0x3fffffffffffffff, 1)"));
  int col = 1;
  for (const CounterField& f : kCounterFields) st.Bind(col++, static_cast<int64_t>(t.*f.field));
  return st.Run();
}

Result<uint64_t> SqliteMetadata::ReadChunkGen() {
  AS_ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT chunk_gen FROM counters WHERE id = 1"));
  AS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Corruption("metadata " + db_->path() + ": the counters row is missing");
  return static_cast<uint64_t>(st.Int(0));
}

Status SqliteMetadata::InChunkTransaction(const std::function<Status()>& fn) {
  // No watch, nothing to follow: the next Watch reads the generation anew.
  if (!watching_) return InTransaction(db_.get(), fn);
  std::optional<uint64_t> start, end;
  Status s = InTransaction(db_.get(), [&]() -> Status {
    // BEGIN IMMEDIATE holds the database's write lock: no other connection
    // changes rows between these reads and the commit.
    AS_ASSIGN_OR_RETURN(start, ReadChunkGen());
    AS_RETURN_IF_ERROR(fn());
    AS_ASSIGN_OR_RETURN(end, ReadChunkGen());
    return Status::OK();
  });
  if (!start || *start != gen_seen_) {
    watching_ = false;  // another writer came between (or we cannot tell)
  } else {
    gen_seen_ = s.ok() ? *end : *start;  // a rollback leaves the start's value
  }
  return s;
}

// The writer's mutex, not WriteLock: these write nothing, so they need not
// retire the cached names.
Result<uint64_t> SqliteMetadata::WatchChunkGeneration() {
  std::lock_guard<std::mutex> l(mu_);
  watching_ = false;
  AS_ASSIGN_OR_RETURN(gen_seen_, ReadChunkGen());
  watching_ = true;
  return gen_seen_;
}

Result<std::optional<uint64_t>> SqliteMetadata::SoleChunkGeneration() {
  std::lock_guard<std::mutex> l(mu_);
  if (!watching_) return std::optional<uint64_t>();
  AS_ASSIGN_OR_RETURN(uint64_t now, ReadChunkGen());
  if (now != gen_seen_) {
    watching_ = false;  // changed since our last transaction: not by us
    return std::optional<uint64_t>();
  }
  return std::optional<uint64_t>(now);
}

namespace {
// `select` (which has a WHERE clause when `where`) limited to the `limit`
// rows after `after` (null: from the first) in key order, bound: a page of
// a paged read (ForEachChunkAfter, ForEachDoomedAfter).
Result<SqliteStmt> PrepareKeyPage(SqliteDb& db, const std::string& select, bool where,
                                  const ChunkKey* after, size_t limit) {
  const char* key = where ? " AND (domain, digest) > (?1, ?2)" : " WHERE (domain, digest) > (?1, ?2)";
  AS_ASSIGN_OR_RETURN(auto st, db.Prepare(select + (after ? key : "") +
                                          " ORDER BY domain, digest LIMIT ?3"));
  if (after) {
    st.Bind(1, int64_t{after->domain});
    BindDigest(st, 2, after->digest);
  }
  st.Bind(3, static_cast<int64_t>(limit));
  return st;
}

// One chunk's location; shared by FindChunk and FindChunks (statements are
// cached per connection by the address of their text).
const std::string kFindChunkSql =
    "SELECT pack, offset, frame_len, raw_len FROM chunks WHERE domain = ? AND digest = ?";
const std::string kFindLiveChunkSql = kFindChunkSql + " AND state = 'L'";
}  // namespace

Result<std::optional<Location>> SqliteMetadata::FindChunk(uint32_t domain, const Digest& d) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.Cached(kFindChunkSql));
  st->Bind(1, int64_t{domain});
  BindDigest(*st, 2, d);
  AS_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<Location>();
  return std::optional<Location>(ColLocation(*st, 0));
}

Status SqliteMetadata::FindChunks(uint32_t domain, const Digest* d, size_t n,
                                  std::vector<std::optional<Location>>* out, bool live_only) {
  out->assign(n, std::nullopt);
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  // One transaction for the batch: a statement outside one opens and closes
  // a read transaction of its own each time, which costs as much as the
  // lookup itself.
  AS_RETURN_IF_ERROR(r.db().Exec("BEGIN"));
  Status s = [&]() -> Status {
    AS_ASSIGN_OR_RETURN(auto st, r.Cached(live_only ? kFindLiveChunkSql : kFindChunkSql));
    for (size_t i = 0; i < n; i++) {
      st->Reset();
      st->Bind(1, int64_t{domain});
      BindDigest(*st, 2, d[i]);
      AS_ASSIGN_OR_RETURN(bool row, st->Step());
      if (row) (*out)[i] = ColLocation(*st, 0);
    }
    return Status::OK();
  }();
  Status end = r.db().Exec(s.ok() ? "COMMIT" : "ROLLBACK");
  return s.ok() ? end : s;
}

namespace {
// The rows of a statement that selects kChunkRowCols, each as (key, location).
constexpr const char* kChunkRowCols = "digest, pack, offset, frame_len, raw_len, domain";
Status EachChunkRow(SqliteStmt& st, const std::function<void(const ChunkKey&, const Location&)>& fn) {
  while (true) {
    AS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ChunkKey key;
    AS_ASSIGN_OR_RETURN(key.digest, ColDigest(st, 0));
    key.domain = static_cast<uint32_t>(st.Int(5));
    fn(key, ColLocation(st, 1));
  }
  return Status::OK();
}
}  // namespace

Status SqliteMetadata::ForEachChunk(const std::function<void(const ChunkKey&, const Location&)>& fn) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st,
                      r.db().Prepare(std::string("SELECT ") + kChunkRowCols + " FROM chunks"));
  return EachChunkRow(st, fn);
}

Status SqliteMetadata::ForEachChunkAfter(
    const ChunkKey* after, size_t limit,
    const std::function<void(const ChunkKey&, const Location&)>& fn) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  // The table's own key order (WITHOUT ROWID): a page is a range of it.
  AS_ASSIGN_OR_RETURN(auto st, PrepareKeyPage(
      r.db(), std::string("SELECT ") + kChunkRowCols + " FROM chunks", false, after, limit));
  return EachChunkRow(st, fn);
}

Status SqliteMetadata::ForEachChunkInPack(
    int64_t pack, const std::function<void(const ChunkKey&, const Location&)>& fn) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  // chunks_pack finds the rows; the sort is of one pack's (about a thousand).
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(std::string("SELECT ") + kChunkRowCols +
                                               " FROM chunks WHERE pack = ? ORDER BY offset"));
  st.Bind(1, pack);
  return EachChunkRow(st, fn);
}

Status SqliteMetadata::ForEachChunkBase(
    const std::function<void(const ChunkKey&, const Digest&)>& fn) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare("SELECT domain, digest, base FROM chunk_bases"));
  while (true) {
    AS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ChunkKey key;
    key.domain = static_cast<uint32_t>(st.Int(0));
    AS_ASSIGN_OR_RETURN(key.digest, ColDigest(st, 1));
    AS_ASSIGN_OR_RETURN(Digest base, ColDigest(st, 2));
    fn(key, base);
  }
  return Status::OK();
}

Result<std::optional<ManifestRow>> SqliteMetadata::FindManifest(uint32_t domain,
                                                          const Digest& manifest) {
  static const std::string kSql = std::string("SELECT ") + kManifestCols +
                                  " FROM manifests WHERE domain = ? AND digest = ?";
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.Cached(kSql));
  st->Bind(1, int64_t{domain});
  BindDigest(*st, 2, manifest);
  AS_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<ManifestRow>();
  AS_ASSIGN_OR_RETURN(auto m, ColManifest(*st));
  return std::optional<ManifestRow>(std::move(m));
}

Result<std::optional<ManifestRow>> SqliteMetadata::FindManifestByContent(uint32_t domain,
                                                                   const Digest& content) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(std::string("SELECT ") + kManifestCols +
                                            " FROM manifests WHERE domain = ? AND content = ? "
                                            "LIMIT 1"));
  st.Bind(1, int64_t{domain});
  BindDigest(st, 2, content);
  AS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<ManifestRow>();
  AS_ASSIGN_OR_RETURN(auto m, ColManifest(st));
  return std::optional<ManifestRow>(std::move(m));
}

Status SqliteMetadata::ForEachManifest(const std::function<void(const ManifestRow&)>& fn) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st,
                      r.db().Prepare(std::string("SELECT ") + kManifestCols + " FROM manifests"));
  while (true) {
    AS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    AS_ASSIGN_OR_RETURN(auto m, ColManifest(st));
    fn(m);
  }
  return Status::OK();
}

Status SqliteMetadata::ForEachDoomed(
    const std::function<void(const ChunkKey&, bool manifest, int64_t pack, int64_t epoch)>& fn) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  for (const bool manifest : {false, true}) {
    AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(std::string("SELECT domain, digest, pack, "
                                                            "coalesce(doom_epoch, 0) FROM ") +
                                                (manifest ? "manifests" : "chunks") +
                                                " WHERE state = 'D'"));
    while (true) {
      AS_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      ChunkKey key;
      key.domain = static_cast<uint32_t>(st.Int(0));
      AS_ASSIGN_OR_RETURN(key.digest, ColDigest(st, 1));
      fn(key, manifest, st.Int(2), st.Int(3));
    }
  }
  return Status::OK();
}

Status SqliteMetadata::ForEachDoomedAfter(
    bool manifests, const ChunkKey* after, size_t limit,
    const std::function<void(const ChunkKey&, int64_t pack, int64_t epoch)>& fn) {
  // The epochs live in memory, from 0 at open (this is the store's only
  // process): a row doomed at an epoch past this process's was doomed by an
  // earlier one, whose puts all ended with it. It is given as doomed at 0,
  // to be swept now, not once this process has doomed as many batches.
  int64_t now = 0;
  {
    std::lock_guard<std::mutex> l(mu_);  // not WriteLock: nothing is written
    now = epoch_;
  }
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  // The doomed rows' partial index (chunks_doomed, manifests_doomed) gives
  // them in key order from `after` on: a batch costs its own rows, not a
  // scan from the start.
  AS_ASSIGN_OR_RETURN(auto st, PrepareKeyPage(
      r.db(), std::string("SELECT domain, digest, pack, coalesce(doom_epoch, 0) FROM ") +
                  (manifests ? "manifests" : "chunks") + " WHERE state = 'D'",
      true, after, limit));
  while (true) {
    AS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ChunkKey key;
    key.domain = static_cast<uint32_t>(st.Int(0));
    AS_ASSIGN_OR_RETURN(key.digest, ColDigest(st, 1));
    const int64_t epoch = st.Int(3);
    fn(key, st.Int(2), epoch > now ? 0 : epoch);
  }
  return Status::OK();
}

Result<std::vector<PackRow>> SqliteMetadata::ListPacks() {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st,
                      r.db().Prepare("SELECT id, name, size, frames, created, domain FROM packs ORDER BY id"));
  std::vector<PackRow> out;
  while (true) {
    AS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ColPack(st));
  }
  return out;
}

Result<std::optional<PackRow>> SqliteMetadata::GetPack(int64_t id) {
  static const std::string kSql =
      "SELECT id, name, size, frames, created, domain FROM packs WHERE id=?";
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.Cached(kSql));
  st->Bind(1, id);
  AS_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<PackRow>();
  return std::optional<PackRow>(ColPack(*st));
}

Status SqliteMetadata::InsertPacks(const std::vector<SealedPack>& packs, std::vector<int64_t>* ids) {
  AS_ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO packs(name, domain, size, frames, "
                                            "created) VALUES (?, ?, ?, ?, ?)"));
  for (const auto& p : packs) {
    st.Bind(1, p.name).Bind(2, int64_t{p.domain}).Bind(3, static_cast<int64_t>(p.size))
        .Bind(4, static_cast<int64_t>(p.entries.size()))
        .Bind(5, static_cast<int64_t>(std::time(nullptr)));
    AS_RETURN_IF_ERROR(st.Run());
    ids->push_back(db_->LastInsertRowId());
  }
  return Status::OK();
}

Result<SqliteStmt> SqliteMetadata::PrepareInsertChunk() {
  // OR REPLACE: the newest durable copy wins. Another put, or a gc that is
  // dropping the old copy, may hold the same digest; gc only deletes rows
  // that still point into the pack it is dropping.
  return db_->Prepare(
      "INSERT OR REPLACE INTO chunks(domain, digest, pack, offset, frame_len, raw_len) "
      "VALUES (?,?,?,?,?,?)");
}

Status SqliteMetadata::InsertChunk(SqliteStmt& st, const ChunkKey& key, const Location& loc,
                             const std::vector<int64_t>& ids) {
  st.Bind(1, int64_t{key.domain});
  BindDigest(st, 2, key.digest);
  BindLocation(st, 3, loc, ResolvePack(loc.pack, ids));
  return st.Run();
}

Result<SqliteStmt> SqliteMetadata::PrepareInsertChunkBase() {
  return db_->Prepare("INSERT OR IGNORE INTO chunk_bases VALUES (?,?,?)");
}

Status SqliteMetadata::InsertChunkBase(SqliteStmt& st, const ChunkKey& key, const Digest& base) {
  st.Bind(1, int64_t{key.domain});
  BindDigest(st, 2, key.digest);
  BindDigest(st, 3, base);
  return st.Run();
}

Status SqliteMetadata::InsertManifest(const ManifestRow& m, const std::vector<int64_t>& ids) {
  AS_ASSIGN_OR_RETURN(auto st,
                      db_->Prepare("INSERT OR REPLACE INTO manifests(domain, digest, content, "
                                   "size, chunks, pack, offset, frame_len, raw_len) "
                                   "VALUES (?,?,?,?,?,?,?,?,?)"));
  st.Bind(1, int64_t{m.domain});
  BindDigest(st, 2, m.digest);
  BindDigest(st, 3, m.content);
  st.Bind(4, static_cast<int64_t>(m.size)).Bind(5, static_cast<int64_t>(m.chunks));
  BindLocation(st, 6, m.loc, ResolvePack(m.loc.pack, ids));
  return st.Run();
}

int64_t SqliteMetadata::ResolvePack(int64_t p, const std::vector<int64_t>& ids) {
  return p >= 0 ? ids.at(static_cast<size_t>(p)) : -1 - p;
}

Status SqliteMetadata::KeepRefs(const PutCommit& c) {
  // Under the writer's lock: no gc dooms or sweeps while this commits.
  if (c.epoch == epoch_ || !c.refs) return Status::OK();
  std::vector<Digest> refs;
  c.refs(&refs);
  AS_ASSIGN_OR_RETURN(auto up, db_->Prepare(
      "UPDATE chunks SET state = 'L', doom_epoch = NULL WHERE domain = ? AND digest = ? AND "
      "state = 'D'"));
  AS_ASSIGN_OR_RETURN(auto has, db_->Prepare("SELECT 1 FROM chunks WHERE domain = ? AND digest = ?"));
  uint64_t brought_back = 0;
  for (const Digest& d : refs) {
    up.Bind(1, int64_t{c.domain});
    BindDigest(up, 2, d);
    AS_RETURN_IF_ERROR(up.Run());
    brought_back += static_cast<uint64_t>(db_->Changes());
    has.Reset();
    has.Bind(1, int64_t{c.domain});
    BindDigest(has, 2, d);
    AS_ASSIGN_OR_RETURN(bool row, has.Step());
    if (!row) return RefGone(d);
  }
  resurrected_ += brought_back;
  return Status::OK();
}

Status SqliteMetadata::CommitPutRows(const PutCommit& c, const std::vector<int64_t>& ids,
                               SqliteStmt& ins) {
  AS_RETURN_IF_ERROR(KeepRefs(c));
  for (const auto& [d, loc] : c.chunks) {
    AS_RETURN_IF_ERROR(InsertChunk(ins, ChunkKey{c.domain, d}, loc, ids));
  }
  if (!c.bases.empty()) {
    AS_ASSIGN_OR_RETURN(auto bst, PrepareInsertChunkBase());
    for (const auto& [d, base] : c.bases) {
      AS_RETURN_IF_ERROR(InsertChunkBase(bst, ChunkKey{c.domain, d}, base));
    }
  }
  if (c.manifest) AS_RETURN_IF_ERROR(InsertManifest(*c.manifest, ids));
  if (c.complete_upload) AS_RETURN_IF_ERROR(DeleteUploadLocked(*c.complete_upload));
  if (c.name) AS_RETURN_IF_ERROR(BindNameLocked(*c.name, c.require_bucket));
  if (c.part) AS_RETURN_IF_ERROR(InsertPartLocked(*c.part));
  return Status::OK();
}

std::string SqliteMetadata::Describe() const { return db_->path(); }

Status SqliteMetadata::CommitPut(const PutCommit& c) {
  WriteLock l(this);
  return InChunkTransaction([&]() -> Status {
    std::vector<int64_t> ids;
    AS_RETURN_IF_ERROR(InsertPacks(c.packs, &ids));
    AS_ASSIGN_OR_RETURN(auto ins, PrepareInsertChunk());
    return CommitPutRows(c, ids, ins);
  });
}

Status SqliteMetadata::CommitPuts(const SealedPack& shared, const std::vector<const PutCommit*>& puts,
                            std::vector<Status>* results) {
  WriteLock l(this);
  results->assign(puts.size(), Status::OK());
  return InChunkTransaction([&]() -> Status {
    std::vector<int64_t> ids;
    AS_RETURN_IF_ERROR(InsertPacks({shared}, &ids));
    AS_ASSIGN_OR_RETURN(auto ins, PrepareInsertChunk());
    for (size_t i = 0; i < puts.size(); i++) {
      AS_RETURN_IF_ERROR(db_->Exec("SAVEPOINT put"));
      Status s = CommitPutRows(*puts[i], ids, ins);
      if (!s.ok()) {
        ins.Reset();  // a failed step leaves it unreset
        AS_RETURN_IF_ERROR(db_->Exec("ROLLBACK TO put"));
        (*results)[i] = s;
      }
      AS_RETURN_IF_ERROR(db_->Exec("RELEASE put"));
    }
    return Status::OK();
  });
}

Result<int64_t> SqliteMetadata::BeginGc() {
  WriteLock l(this);
  if (gc_running_) return Status::Busy("gc is already running on " + db_->path());
  // gc's batches of dooms and deletes land all over the chunk table and its
  // chunks_pack index: with the default 2 MB of cache the writer spilled
  // each dirty page to the WAL many times within one transaction. A cache
  // that holds a batch's pages writes each once per commit. Given back at
  // EndGc (puts keep the small cache: serve's memory budget).
  AS_RETURN_IF_ERROR(db_->Exec("PRAGMA cache_size=-" + std::to_string(kGcWriterCacheKib)));
  gc_running_ = true;
  return ++gc_token_;
}

void SqliteMetadata::EndGc() {
  WriteLock l(this);
  gc_running_ = false;
  db_->Exec("PRAGMA cache_size=-2000").IgnoreError();  // SQLite's default, 2 MB
}

Result<int64_t> SqliteMetadata::GcEpoch() {
  WriteLock l(this);
  return epoch_;
}

Result<int64_t> SqliteMetadata::Horizon(uint64_t* expelled) {
  if (expelled) *expelled = 0;  // one process: no other session
  WriteLock l(this);
  const std::optional<int64_t> oldest = OldestOp();
  return oldest ? std::min(*oldest, epoch_) : epoch_;
}

Status SqliteMetadata::AddPendingPack(const std::string& name) {
  std::lock_guard<std::mutex> l(pending_mu_);
  pending_.insert(name);
  return Status::OK();
}

void SqliteMetadata::RemovePendingPack(const std::string& name) {
  std::lock_guard<std::mutex> l(pending_mu_);
  pending_.erase(name);
}

Result<std::map<std::string, bool>> SqliteMetadata::PendingPacks() {
  std::lock_guard<std::mutex> l(pending_mu_);
  std::map<std::string, bool> out;
  for (const std::string& n : pending_) out.emplace(n, true);
  return out;
}

Status SqliteMetadata::CheckGcToken(int64_t token) const {
  if (!gc_running_ || token != gc_token_) {
    return Status::Busy("gc run " + std::to_string(token) + " was superseded; nothing changed");
  }
  return Status::OK();
}

Status SqliteMetadata::Doom(int64_t token, const std::vector<std::pair<ChunkKey, int64_t>>& chunks,
                            const std::vector<std::pair<ChunkKey, int64_t>>& manifests,
                            int64_t* epoch) {
  WriteLock l(this);
  AS_RETURN_IF_ERROR(CheckGcToken(token));
  // Moved on before the rows, and even if the transaction fails: that only
  // sends commits down the careful path once. Ops begun from now on start
  // in the new epoch.
  epoch_++;
  SeeEpoch(epoch_, 0);
  if (epoch) *epoch = epoch_;
  return InTransaction(db_.get(), [&]() -> Status {
    for (const bool manifest : {false, true}) {
      AS_ASSIGN_OR_RETURN(auto st, db_->Prepare(
          std::string("UPDATE ") + (manifest ? "manifests" : "chunks") +
          " SET state = 'D', doom_epoch = ? WHERE domain = ? AND digest = ? AND pack = ? AND "
          "state = 'L'"));
      for (const auto& [key, pack] : manifest ? manifests : chunks) {
        st.Bind(1, epoch_).Bind(2, int64_t{key.domain});
        BindDigest(st, 3, key.digest);
        st.Bind(4, pack);
        AS_RETURN_IF_ERROR(st.Run());
      }
    }
    return Status::OK();
  });
}

Status SqliteMetadata::CommitSweep(int64_t token, const Sweep& sw, uint64_t* dropped) {
  WriteLock l(this);
  AS_RETURN_IF_ERROR(CheckGcToken(token));
  uint64_t n = 0;
  Status s = InChunkTransaction([&]() -> Status {
    AS_ASSIGN_OR_RETURN(auto del_bases,
                        db_->Prepare("DELETE FROM chunk_bases WHERE domain=? AND digest=?"));
    for (const bool manifest : {false, true}) {
      const std::string table = manifest ? "manifests" : "chunks";
      AS_ASSIGN_OR_RETURN(auto keep, db_->Prepare("UPDATE " + table + " SET state = 'L', "
                                                  "doom_epoch = NULL WHERE domain = ? AND "
                                                  "digest = ? AND state = 'D'"));
      for (const ChunkKey& k : manifest ? sw.keep_manifests : sw.keep_chunks) {
        keep.Bind(1, int64_t{k.domain});
        BindDigest(keep, 2, k.digest);
        AS_RETURN_IF_ERROR(keep.Run());
      }
      AS_ASSIGN_OR_RETURN(auto del, db_->Prepare("DELETE FROM " + table + " WHERE domain = ? AND "
                                                 "digest = ? AND state = 'D'"));
      for (const ChunkKey& k : manifest ? sw.drop_manifests : sw.drop_chunks) {
        del.Bind(1, int64_t{k.domain});
        BindDigest(del, 2, k.digest);
        AS_RETURN_IF_ERROR(del.Run());
        if (db_->Changes() == 0) continue;
        n++;
        if (manifest) continue;
        del_bases.Bind(1, int64_t{k.domain});
        BindDigest(del_bases, 2, k.digest);
        AS_RETURN_IF_ERROR(del_bases.Run());
      }
    }
    return Status::OK();
  });
  if (s.ok() && dropped) *dropped = n;
  return s;
}

Status SqliteMetadata::CommitGc(int64_t token, const GcCommit& c, std::vector<int64_t>* deleted) {
  WriteLock l(this);
  AS_RETURN_IF_ERROR(CheckGcToken(token));
  std::vector<int64_t> gone;
  Status s = InTransaction(db_.get(), [&]() -> Status {
    std::vector<int64_t> ids;
    AS_RETURN_IF_ERROR(InsertPacks(c.new_packs, &ids));
    for (const char* table : {"chunks", "manifests"}) {
      const bool chunks = std::string_view(table) == "chunks";
      AS_ASSIGN_OR_RETURN(auto mv, db_->Prepare(
          std::string("UPDATE ") + table + " SET pack=?, offset=?, frame_len=?, raw_len=? "
          "WHERE domain=? AND digest=? AND pack=?"));
      for (const GcMove& m : chunks ? c.moved_chunks : c.moved_manifests) {
        BindLocation(mv, 1, m.to, ResolvePack(m.to.pack, ids));
        mv.Bind(5, int64_t{m.key.domain});
        BindDigest(mv, 6, m.key.digest);
        mv.Bind(7, m.from_pack);
        AS_RETURN_IF_ERROR(mv.Run());
      }
    }
    AS_ASSIGN_OR_RETURN(auto del_pack, db_->Prepare(
        "DELETE FROM packs WHERE id=? AND NOT EXISTS (SELECT 1 FROM chunks WHERE pack = ?1) "
        "AND NOT EXISTS (SELECT 1 FROM manifests WHERE pack = ?1)"));
    for (int64_t id : c.dead_packs) {
      del_pack.Bind(1, id);
      AS_RETURN_IF_ERROR(del_pack.Run());
      if (db_->Changes() > 0) gone.push_back(id);
    }
    return Status::OK();
  });
  if (s.ok() && deleted) *deleted = std::move(gone);
  return s;
}

Status SqliteMetadata::CommitReindex(const Reindex& r) {
  WriteLock l(this);
  return InChunkTransaction([&]() -> Status {
    // Emptied whole, without their triggers: a table with triggers is
    // deleted row by row (no truncation), and one statement deleting every
    // row would keep every page of the table in its statement journal. The
    // triggers come back in this same transaction, the counters set to what
    // they count now (nothing), the generation moved on.
    AS_RETURN_IF_ERROR(db_->Exec(kDropIndexTriggers));
    AS_RETURN_IF_ERROR(db_->Exec(
        "DELETE FROM chunks; DELETE FROM chunk_bases; DELETE FROM manifests; DELETE FROM packs;"));
    AS_RETURN_IF_ERROR(db_->Exec(kIndexTriggers));
    AS_RETURN_IF_ERROR(db_->Exec(
        "UPDATE counters SET chunks = 0, chunk_raw_bytes = 0, chunk_frame_bytes = 0, "
        "manifests = 0, packs = 0, pack_bytes = 0, chunk_gen = chunk_gen + 1 WHERE id = 1"));
    if (db_->Changes() != 1) {
      return Status::Corruption("metadata " + db_->path() + ": the counters row is missing");
    }
    std::vector<int64_t> ids;
    AS_RETURN_IF_ERROR(InsertPacks(r.packs, &ids));
    AS_ASSIGN_OR_RETURN(auto ins, PrepareInsertChunk());
    for (const auto& [key, loc] : r.chunks) AS_RETURN_IF_ERROR(InsertChunk(ins, key, loc, ids));
    AS_ASSIGN_OR_RETURN(auto bst, PrepareInsertChunkBase());
    for (const auto& [key, base] : r.bases) AS_RETURN_IF_ERROR(InsertChunkBase(bst, key, base));
    for (const auto& m : r.manifests) AS_RETURN_IF_ERROR(InsertManifest(m, ids));
    return Status::OK();
  });
}

Result<std::vector<std::string>> SqliteMetadata::CheckIntegrity(bool thorough) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  std::vector<std::string> out;
  {
    AS_ASSIGN_OR_RETURN(auto st,
                        r.db().Prepare(thorough ? "PRAGMA integrity_check" : "PRAGMA quick_check"));
    for (;;) {
      AS_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      std::string line = st.Text(0);
      if (line != "ok") out.push_back(std::move(line));
    }
  }
  // The kept counters against a scan, in one snapshot: a difference means
  // a write bypassed the triggers (a connection without recursive_triggers,
  // an edit by hand), and `stats` is wrong until the counters are redone.
  AS_RETURN_IF_ERROR(r.db().Exec("BEGIN"));
  auto kept = CountersOn(r.db());
  auto scan = kept.ok() ? ScanTotalsOn(r.db()) : kept;
  AS_RETURN_IF_ERROR(r.db().Exec("COMMIT"));
  if (!kept.ok() || !scan.ok()) {
    out.push_back("counters: " + (kept.ok() ? scan : kept).status().message());
  } else if (std::string diff = TotalsDiff(*kept, *scan); !diff.empty()) {
    out.push_back("counters differ from the tables: " + diff);
  }
  return out;
}

Result<StoreTotals> SqliteMetadata::Totals() {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  return CountersOn(r.db());
}

Result<StoreTotals> SqliteMetadata::ScanTotals() {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  return ScanTotalsOn(r.db());
}

}  // namespace as
