#include "index/pg_metadata.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <thread>

#include "index/pg_conn.h"
#include "index/pg_rows.h"

namespace as {

using namespace pgrows;  // NOLINT: this file is the row helpers' main user

namespace {

// Buckets and keys are bytea: any bytes a caller names (SQLite's TEXT keeps
// them too), in bytewise order, S3's UTF-8 order. Other text columns compare
// bytewise too (COLLATE "C"). `off` is SQLite's `offset`, a reserved word here. Integers
// are bigint throughout: lengths and sizes never wrap.
const char* kPgSchema = R"sql(
CREATE TABLE meta(key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
CREATE TABLE tenants(
  name text COLLATE "C" PRIMARY KEY, domain integer NOT NULL UNIQUE, created bigint NOT NULL);
CREATE TABLE packs(
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL UNIQUE,
  domain integer NOT NULL, size bigint NOT NULL, frames bigint NOT NULL, created bigint NOT NULL);
CREATE TABLE chunks(
  domain integer NOT NULL, digest bytea NOT NULL, pack bigint NOT NULL, off bigint NOT NULL,
  frame_len bigint NOT NULL, raw_len bigint NOT NULL, PRIMARY KEY(domain, digest))
  WITH (fillfactor = 90);
CREATE INDEX chunks_pack ON chunks(pack);
CREATE TABLE chunk_bases(
  domain integer NOT NULL, digest bytea NOT NULL, base bytea NOT NULL,
  PRIMARY KEY(domain, digest, base));
CREATE TABLE manifests(
  domain integer NOT NULL, digest bytea NOT NULL, content bytea NOT NULL, size bigint NOT NULL,
  chunks bigint NOT NULL, pack bigint NOT NULL, off bigint NOT NULL, frame_len bigint NOT NULL,
  raw_len bigint NOT NULL, PRIMARY KEY(domain, digest)) WITH (fillfactor = 90);
CREATE INDEX manifests_content ON manifests(domain, content);
CREATE INDEX manifests_pack ON manifests(pack);
CREATE TABLE names(
  tenant text COLLATE "C" NOT NULL, bucket bytea NOT NULL, key bytea NOT NULL,
  manifest bytea NOT NULL, content bytea NOT NULL, size bigint NOT NULL, version bigint NOT NULL,
  created bigint NOT NULL, attrs bytea NOT NULL DEFAULT '', PRIMARY KEY(tenant, bucket, key));
CREATE INDEX names_manifest ON names(manifest);
CREATE INDEX names_content ON names(tenant, content);
CREATE TABLE buckets(
  tenant text COLLATE "C" NOT NULL, bucket bytea NOT NULL, created bigint NOT NULL,
  PRIMARY KEY(tenant, bucket));
CREATE TABLE uploads(
  id text COLLATE "C" PRIMARY KEY, tenant text COLLATE "C" NOT NULL,
  bucket bytea NOT NULL, key bytea NOT NULL,
  attrs bytea NOT NULL DEFAULT '', created bigint NOT NULL);
CREATE INDEX uploads_name ON uploads(tenant, bucket, key);
CREATE INDEX uploads_created ON uploads(created);
CREATE TABLE upload_parts(
  upload text COLLATE "C" NOT NULL, number bigint NOT NULL, manifest bytea NOT NULL,
  content bytea NOT NULL, size bigint NOT NULL, attrs bytea NOT NULL DEFAULT '',
  created bigint NOT NULL, PRIMARY KEY(upload, number));
CREATE TABLE access_keys(
  id text COLLATE "C" PRIMARY KEY, tenant text COLLATE "C" NOT NULL, secret text NOT NULL,
  created bigint NOT NULL);
)sql";

// Serialises schema creation between servers initialising the same
// database at once (an arbitrary key of this program's).
constexpr const char* kSchemaLockKey = "7314060021";

// The password in a postgresql:// URL's user-info part, if there is one.
bool UrlHasPassword(const std::string& url) {
  const size_t start = url.find("://") + 3;
  const size_t end = url.find_first_of("/?", start);
  const std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
  const size_t at = authority.rfind('@');
  if (at == std::string::npos) return false;
  return authority.substr(0, at).find(':') != std::string::npos;
}

}  // namespace

PgMetadata::PgMetadata(std::string url) : url_(std::move(url)) {
  writer_ = std::make_unique<PgConn>(url_, url_);
  const size_t conns = std::max<size_t>(4, 2 * size_t{std::thread::hardware_concurrency()});
  pool_ = std::make_unique<PgPool>(url_, url_, conns);
}

PgMetadata::~PgMetadata() {
  // Released by the server when the session ends, but that is after our
  // disconnect, asynchronously: unlock first, so that the next process to
  // open the store does not find it still held.
  if (lock_conn_) lock_conn_->Run("SELECT pg_advisory_unlock_all()").IgnoreError();
}

Result<std::unique_ptr<PgMetadata>> PgMetadata::Open(const std::string& url, bool create) {
  if (UrlHasPassword(url)) {
    return Status::InvalidArgument(
        "metadata URL holds a password: give it in PGPASSWORD or a passfile (~/.pgpass, "
        "PGPASSFILE) instead, so it never shows on a command line or in the store's config");
  }
  std::unique_ptr<PgMetadata> m(new PgMetadata(url));
  AS_RETURN_IF_ERROR(m->Migrate(create));
  return m;
}

Status PgMetadata::Migrate(bool create) {
  std::lock_guard<std::mutex> l(mu_);
  PgConn& c = *writer_;
  return c.Transaction([&]() -> Status {
    AS_RETURN_IF_ERROR(c.Run(std::string("SELECT pg_advisory_xact_lock(") + kSchemaLockKey + ")"));
    AS_ASSIGN_OR_RETURN(auto have, c.Exec("SELECT to_regclass('meta') IS NOT NULL"));
    const bool exists = have.Text(0, 0) == "t";
    if (create) {
      if (exists) {
        std::string uuid;
        auto u = c.Exec("SELECT value FROM meta WHERE key = 'store_uuid'");
        if (u.ok() && u->rows() > 0) uuid = " (store " + u->Text(0, 0) + ")";
        return Status::AlreadyExists("metadata " + url_ + " already holds a store's tables" +
                                     uuid + "; give each store a database (or schema) of its own");
      }
      AS_RETURN_IF_ERROR(c.Run(kPgSchema));
      return c.Run("INSERT INTO meta VALUES ('schema_version', $1)", {I(kPgSchemaVersion)});
    }
    if (!exists) {
      return Status::NotFound("metadata " + url_ + " holds no artifact-store tables");
    }
    AS_ASSIGN_OR_RETURN(auto v, c.Exec("SELECT value FROM meta WHERE key = 'schema_version'"));
    if (v.rows() == 0) {
      return Status::Corruption("metadata " + url_ + ": no schema version");
    }
    if (std::atoi(v.Text(0, 0).c_str()) > kPgSchemaVersion) {
      return Status::Unsupported("metadata " + url_ + " has schema version " + v.Text(0, 0) +
                                 ", newer than this build (" + I(kPgSchemaVersion) +
                                 "): upgrade artifact-store");
    }
    return Status::OK();
  });
}

Status PgMetadata::LockStore(const std::string& store_uuid) {
  // 60 bits of the uuid: a positive bigint key.
  const std::string hex = store_uuid.substr(0, 15);
  if (hex.size() != 15 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Status::InvalidArgument("store uuid '" + store_uuid + "' is not 32 hex digits");
  }
  std::lock_guard<std::mutex> l(mu_);
  lock_conn_ = std::make_unique<PgConn>(url_, url_);
  lock_key_ = std::to_string(std::stoll(hex, nullptr, 16));
  lock_checked_ = 0;
  return CheckStoreLock();
}

Status PgMetadata::CheckStoreLock() {
  if (lock_key_.empty()) return Status::OK();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (now - lock_checked_ < kLockCheckSeconds) return Status::OK();
  // The lock connection holds no other advisory lock: any it holds is ours.
  // A new session (after a reconnect) holds none and takes it again.
  AS_ASSIGN_OR_RETURN(auto held, lock_conn_->Exec(
      "SELECT EXISTS(SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND "
      "pid = pg_backend_pid() AND granted)"));
  if (held.Text(0, 0) != "t") {
    AS_ASSIGN_OR_RETURN(auto r,
                        lock_conn_->Exec("SELECT pg_try_advisory_lock($1)", {lock_key_}));
    if (r.Text(0, 0) != "t") {
      return Status::Busy("store is in use by another process on " + url_ +
                          " (one process per store until scale-out part 2)");
    }
  }
  lock_checked_ = now;
  return Status::OK();
}

Status PgMetadata::Write(const std::function<Status(PgConn&)>& fn) {
  std::lock_guard<std::mutex> l(mu_);
  AS_RETURN_IF_ERROR(CheckStoreLock());
  PgConn& c = *writer_;
  return c.Transaction([&] { return fn(c); });
}

Result<std::optional<Location>> PgMetadata::FindChunk(uint32_t domain, const Digest& d) {
  std::vector<std::optional<Location>> out;
  AS_RETURN_IF_ERROR(FindChunks(domain, &d, 1, &out));
  return out[0];
}

Status PgMetadata::FindChunks(uint32_t domain, const Digest* d, size_t n,
                              std::vector<std::optional<Location>>* out) {
  out->assign(n, std::nullopt);
  if (n == 0) return Status::OK();
  // One statement for the batch: one snapshot, one round trip.
  std::string list;
  list.reserve(n * (2 * (1 + Digest::kMaxSize) + 1));
  for (size_t i = 0; i < n; i++) {
    if (i) list += ',';
    AppendPgHex(&list, d[i]);
  }
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(
      "SELECT q.i, c.pack, c.off, c.frame_len, c.raw_len "
      "FROM unnest(string_to_array($2, ',')) WITH ORDINALITY AS q(d, i) "
      "JOIN chunks c ON c.domain = $1 AND c.digest = decode(q.d, 'hex')",
      {I(domain), list}));
  for (int i = 0; i < r.rows(); i++) {
    const int64_t at = r.Int(i, 0) - 1;
    if (at >= 0 && static_cast<size_t>(at) < n) (*out)[static_cast<size_t>(at)] = ColLocation(r, i, 1);
  }
  return Status::OK();
}

Status PgMetadata::ForEachChunk(const std::function<void(const ChunkKey&, const Location&)>& fn) {
  auto c = pool_->Acquire();
  return c->Stream("SELECT digest, pack, off, frame_len, raw_len, domain FROM chunks", {},
                   [&](const PgResult& r) -> Status {
                     ChunkKey key;
                     AS_ASSIGN_OR_RETURN(key.digest, r.Dig(0, 0));
                     key.domain = static_cast<uint32_t>(r.Int(0, 5));
                     fn(key, ColLocation(r, 0, 1));
                     return Status::OK();
                   });
}

Status PgMetadata::ForEachChunkBase(
    const std::function<void(const ChunkKey&, const Digest&)>& fn) {
  auto c = pool_->Acquire();
  return c->Stream("SELECT domain, digest, base FROM chunk_bases", {},
                   [&](const PgResult& r) -> Status {
                     ChunkKey key;
                     key.domain = static_cast<uint32_t>(r.Int(0, 0));
                     AS_ASSIGN_OR_RETURN(key.digest, r.Dig(0, 1));
                     AS_ASSIGN_OR_RETURN(Digest base, r.Dig(0, 2));
                     fn(key, base);
                     return Status::OK();
                   });
}

Result<std::optional<ManifestRow>> PgMetadata::FindManifestBy(const char* column,
                                                              uint32_t domain, const Digest& d) {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(std::string("SELECT ") + kManifestCols +
                                          " FROM manifests WHERE domain = $1 AND " + column +
                                          " = decode($2, 'hex') LIMIT 1",
                                      {I(domain), PgHex(d)}));
  if (r.rows() == 0) return std::optional<ManifestRow>();
  AS_ASSIGN_OR_RETURN(auto m, ColManifest(r, 0));
  return std::optional<ManifestRow>(std::move(m));
}

Result<std::optional<ManifestRow>> PgMetadata::FindManifest(uint32_t domain,
                                                            const Digest& manifest) {
  return FindManifestBy("digest", domain, manifest);
}

Result<std::optional<ManifestRow>> PgMetadata::FindManifestByContent(uint32_t domain,
                                                                     const Digest& content) {
  return FindManifestBy("content", domain, content);
}

Status PgMetadata::ForEachManifest(const std::function<void(const ManifestRow&)>& fn) {
  auto c = pool_->Acquire();
  return c->Stream(std::string("SELECT ") + kManifestCols + " FROM manifests", {},
                   [&](const PgResult& r) -> Status {
                     AS_ASSIGN_OR_RETURN(auto m, ColManifest(r, 0));
                     fn(m);
                     return Status::OK();
                   });
}

Result<std::vector<PackRow>> PgMetadata::ListPacks() {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r,
                      c->Exec(std::string("SELECT ") + kPackCols + " FROM packs ORDER BY id"));
  return Collect<PackRow>(r, ColPack);
}

Result<std::optional<PackRow>> PgMetadata::GetPack(int64_t id) {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(std::string("SELECT ") + kPackCols +
                                          " FROM packs WHERE id = $1",
                                      {I(id)}));
  if (r.rows() == 0) return std::optional<PackRow>();
  return std::optional<PackRow>(ColPack(r, 0));
}

Status PgMetadata::InsertPacks(PgConn& c, const std::vector<SealedPack>& packs,
                               std::vector<int64_t>* ids) {
  for (const auto& p : packs) {
    AS_ASSIGN_OR_RETURN(auto r, c.Exec("INSERT INTO packs(name, domain, size, frames, created) "
                                       "VALUES ($1, $2, $3, $4, $5) RETURNING id",
                                       {p.name, I(p.domain), I(static_cast<int64_t>(p.size)),
                                        I(static_cast<int64_t>(p.entries.size())), Now()}));
    ids->push_back(r.Int(0, 0));
  }
  return Status::OK();
}

Status PgMetadata::InsertChunks(PgConn& c, const std::vector<std::pair<ChunkKey, Location>>& rows,
                                const std::vector<int64_t>& ids) {
  // One row per key, the last one given winning (SQLite's INSERT OR
  // REPLACE), sorted by key so that two writers inserting the same new
  // chunks lock them in the same order and cannot deadlock.
  std::map<std::pair<uint32_t, std::string>, const Location*> last;
  for (const auto& [key, loc] : rows) last[{key.domain, PgHex(key.digest)}] = &loc;
  auto it = last.begin();
  while (it != last.end()) {
    Columns cols(6);
    for (size_t n = 0; n < kBatchRows && it != last.end(); n++, ++it) {
      const Location& loc = *it->second;
      cols.Add(0, I(it->first.first));
      cols.Add(1, it->first.second);
      cols.Add(2, I(ResolvePack(loc.pack, ids)));
      cols.Add(3, I(static_cast<int64_t>(loc.offset)));
      cols.Add(4, I(loc.frame_len));
      cols.Add(5, I(loc.raw_len));
    }
    // The newest durable copy wins: a gc that is dropping the old copy only
    // deletes rows that still point into the pack it drops.
    AS_RETURN_IF_ERROR(c.Run(
        "INSERT INTO chunks(domain, digest, pack, off, frame_len, raw_len) "
        "SELECT d::integer, decode(g, 'hex'), p::bigint, o::bigint, f::bigint, r::bigint FROM "
        "unnest(string_to_array($1, ','), string_to_array($2, ','), string_to_array($3, ','), "
        "string_to_array($4, ','), string_to_array($5, ','), string_to_array($6, ',')) "
        "AS t(d, g, p, o, f, r) "
        "ON CONFLICT (domain, digest) DO UPDATE SET pack = EXCLUDED.pack, off = EXCLUDED.off, "
        "frame_len = EXCLUDED.frame_len, raw_len = EXCLUDED.raw_len",
        cols.cols));
  }
  return Status::OK();
}

Status PgMetadata::InsertBases(PgConn& c, const std::vector<std::pair<ChunkKey, Digest>>& rows) {
  for (size_t at = 0; at < rows.size(); at += kBatchRows) {
    Columns cols(3);
    for (size_t i = at; i < std::min(rows.size(), at + kBatchRows); i++) {
      cols.Add(0, I(rows[i].first.domain));
      cols.Add(1, PgHex(rows[i].first.digest));
      cols.Add(2, PgHex(rows[i].second));
    }
    AS_RETURN_IF_ERROR(c.Run(
        "INSERT INTO chunk_bases SELECT d::integer, decode(g, 'hex'), decode(b, 'hex') FROM "
        "unnest(string_to_array($1, ','), string_to_array($2, ','), string_to_array($3, ',')) "
        "AS t(d, g, b) ON CONFLICT DO NOTHING",
        cols.cols));
  }
  return Status::OK();
}

Status PgMetadata::InsertManifest(PgConn& c, const ManifestRow& m,
                                  const std::vector<int64_t>& ids) {
  return c.Run(
      "INSERT INTO manifests(domain, digest, content, size, chunks, pack, off, frame_len, raw_len) "
      "VALUES ($1, decode($2, 'hex'), decode($3, 'hex'), $4, $5, $6, $7, $8, $9) "
      "ON CONFLICT (domain, digest) DO UPDATE SET content = EXCLUDED.content, "
      "size = EXCLUDED.size, chunks = EXCLUDED.chunks, pack = EXCLUDED.pack, off = EXCLUDED.off, "
      "frame_len = EXCLUDED.frame_len, raw_len = EXCLUDED.raw_len",
      {I(m.domain), PgHex(m.digest), PgHex(m.content), I(static_cast<int64_t>(m.size)),
       I(static_cast<int64_t>(m.chunks)), I(ResolvePack(m.loc.pack, ids)),
       I(static_cast<int64_t>(m.loc.offset)), I(m.loc.frame_len), I(m.loc.raw_len)});
}

Status PgMetadata::BindName(PgConn& c, const NameRow& n, bool require_bucket) {
  if (require_bucket) {
    // FOR KEY SHARE: a DeleteBucket running now waits for this commit, then
    // finds the name and refuses.
    AS_ASSIGN_OR_RETURN(auto b, c.Exec("SELECT 1 FROM buckets WHERE tenant = $1 AND "
                                       "bucket = decode($2, 'hex') FOR KEY SHARE",
                                       {n.tenant, PgHexBytes(n.bucket)}));
    if (b.rows() == 0) return Status::NotFound("bucket " + n.bucket);
  } else {
    AS_RETURN_IF_ERROR(c.Run("INSERT INTO buckets VALUES ($1, decode($2, 'hex'), $3) "
                             "ON CONFLICT DO NOTHING",
                             {n.tenant, PgHexBytes(n.bucket), I(n.created)}));
  }
  return c.Run(
      "INSERT INTO names VALUES ($1, decode($2, 'hex'), decode($3, 'hex'), decode($4, 'hex'), "
      "decode($5, 'hex'), $6, 1, $7, "
      "decode($8, 'hex')) ON CONFLICT (tenant, bucket, key) DO UPDATE SET "
      "manifest = EXCLUDED.manifest, content = EXCLUDED.content, size = EXCLUDED.size, "
      "version = names.version + 1, created = EXCLUDED.created, attrs = EXCLUDED.attrs",
      {n.tenant, PgHexBytes(n.bucket), PgHexBytes(n.key), PgHex(n.manifest), PgHex(n.content),
       I(static_cast<int64_t>(n.size)), I(n.created), PgHexBytes(n.attrs)});
}

Status PgMetadata::CommitPutRows(PgConn& c, const PutCommit& p, const std::vector<int64_t>& ids) {
  std::vector<std::pair<ChunkKey, Location>> chunks;
  chunks.reserve(p.chunks.size());
  for (const auto& [d, loc] : p.chunks) chunks.push_back({ChunkKey{p.domain, d}, loc});
  AS_RETURN_IF_ERROR(InsertChunks(c, chunks, ids));
  if (!p.bases.empty()) {
    std::vector<std::pair<ChunkKey, Digest>> bases;
    for (const auto& [d, base] : p.bases) {
      LogRoot({"", p.domain, base, true});
      bases.push_back({ChunkKey{p.domain, d}, base});
    }
    AS_RETURN_IF_ERROR(InsertBases(c, bases));
  }
  if (p.manifest) AS_RETURN_IF_ERROR(InsertManifest(c, *p.manifest, ids));
  if (p.complete_upload) AS_RETURN_IF_ERROR(DeleteUploadIn(c, *p.complete_upload));
  if (p.name) {
    LogRoot({"", p.domain, p.name->manifest});
    AS_RETURN_IF_ERROR(BindName(c, *p.name, p.require_bucket));
  }
  if (p.part) {
    LogRoot({"", p.domain, p.part->manifest});
    // The upload must still exist (and stay, until this commits): an abort
    // that won the race leaves nothing to attach the part to.
    AS_ASSIGN_OR_RETURN(auto u, c.Exec("SELECT 1 FROM uploads WHERE id = $1 FOR KEY SHARE",
                                       {p.part->upload}));
    if (u.rows() == 0) return Status::NotFound("upload " + p.part->upload);
    const PartRow& q = *p.part;
    AS_RETURN_IF_ERROR(c.Run(
        "INSERT INTO upload_parts VALUES ($1, $2, decode($3, 'hex'), decode($4, 'hex'), $5, "
        "decode($6, 'hex'), $7) ON CONFLICT (upload, number) DO UPDATE SET "
        "manifest = EXCLUDED.manifest, content = EXCLUDED.content, size = EXCLUDED.size, "
        "attrs = EXCLUDED.attrs, created = EXCLUDED.created",
        {q.upload, I(q.number), PgHex(q.manifest), PgHex(q.content),
         I(static_cast<int64_t>(q.size)), PgHexBytes(q.attrs), I(q.created)}));
  }
  return Status::OK();
}

Status PgMetadata::CommitPut(const PutCommit& p) {
  return Write([&](PgConn& c) -> Status {
    std::vector<int64_t> ids;
    AS_RETURN_IF_ERROR(InsertPacks(c, p.packs, &ids));
    return CommitPutRows(c, p, ids);
  });
}

Status PgMetadata::CommitPuts(const SealedPack& shared, const std::vector<const PutCommit*>& puts,
                              std::vector<Status>* results) {
  results->assign(puts.size(), Status::OK());
  Status s = Write([&](PgConn& c) -> Status {
    std::vector<int64_t> ids;
    AS_RETURN_IF_ERROR(InsertPacks(c, {shared}, &ids));
    for (size_t i = 0; i < puts.size(); i++) {
      AS_RETURN_IF_ERROR(c.Run("SAVEPOINT put"));
      Status one = CommitPutRows(c, *puts[i], ids);
      if (!one.ok()) {
        // A lost connection is the transaction's failure, not this put's.
        if (one.code() == Code::kUnavailable || one.code() == Code::kIOError) return one;
        AS_RETURN_IF_ERROR(c.Run("ROLLBACK TO SAVEPOINT put"));
        (*results)[i] = one;
      }
      AS_RETURN_IF_ERROR(c.Run("RELEASE SAVEPOINT put"));
    }
    return Status::OK();
  });
  return s;
}

Status PgMetadata::CommitGc(const GcCommit& g) {
  return Write([&](PgConn& c) -> Status {
    std::vector<int64_t> ids;
    AS_RETURN_IF_ERROR(InsertPacks(c, g.new_packs, &ids));
    for (const char* table : {"chunks", "manifests"}) {
      const bool chunks = std::string_view(table) == "chunks";
      const auto& dead = chunks ? g.dead_chunks : g.dead_manifests;
      // Deletes and moves apply only while the row still points into the
      // pack gc is dropping: a concurrent put may have re-stored the chunk.
      for (size_t at = 0; at < dead.size(); at += kBatchRows) {
        Columns cols(3);
        for (size_t i = at; i < std::min(dead.size(), at + kBatchRows); i++) {
          cols.Add(0, I(dead[i].first.domain));
          cols.Add(1, PgHex(dead[i].first.digest));
          cols.Add(2, I(dead[i].second));
        }
        // A dead chunk's bases go with its row (not when a put re-stored it).
        const std::string del =
            std::string("WITH gone AS (DELETE FROM ") + table + " x USING unnest("
            "string_to_array($1, ','), string_to_array($2, ','), string_to_array($3, ',')) "
            "AS t(d, g, p) WHERE x.domain = t.d::integer AND x.digest = decode(t.g, 'hex') "
            "AND x.pack = t.p::bigint RETURNING x.domain, x.digest) " +
            (chunks ? "DELETE FROM chunk_bases b USING gone WHERE b.domain = gone.domain AND "
                      "b.digest = gone.digest"
                    : "SELECT count(*) FROM gone");
        AS_RETURN_IF_ERROR(c.Run(del, cols.cols));
      }
      const auto& moved = chunks ? g.moved_chunks : g.moved_manifests;
      for (size_t at = 0; at < moved.size(); at += kBatchRows) {
        Columns cols(7);
        for (size_t i = at; i < std::min(moved.size(), at + kBatchRows); i++) {
          const GcMove& m = moved[i];
          cols.Add(0, I(m.key.domain));
          cols.Add(1, PgHex(m.key.digest));
          cols.Add(2, I(m.from_pack));
          cols.Add(3, I(ResolvePack(m.to.pack, ids)));
          cols.Add(4, I(static_cast<int64_t>(m.to.offset)));
          cols.Add(5, I(m.to.frame_len));
          cols.Add(6, I(m.to.raw_len));
        }
        AS_RETURN_IF_ERROR(c.Run(
            std::string("UPDATE ") + table +
                " x SET pack = t.np::bigint, off = t.o::bigint, frame_len = t.f::bigint, "
                "raw_len = t.r::bigint FROM unnest(string_to_array($1, ','), "
                "string_to_array($2, ','), string_to_array($3, ','), string_to_array($4, ','), "
                "string_to_array($5, ','), string_to_array($6, ','), string_to_array($7, ',')) "
                "AS t(d, g, p, np, o, f, r) WHERE x.domain = t.d::integer AND "
                "x.digest = decode(t.g, 'hex') AND x.pack = t.p::bigint",
            cols.cols));
      }
    }
    if (!g.dead_packs.empty()) {
      std::string list;
      for (int64_t id : g.dead_packs) {
        if (!list.empty()) list += ',';
        list += I(id);
      }
      AS_RETURN_IF_ERROR(c.Run(
          "DELETE FROM packs WHERE id = ANY(string_to_array($1, ',')::bigint[])", {list}));
    }
    // Safety net: no surviving row may point into a deleted pack.
    AS_ASSIGN_OR_RETURN(auto chk, c.Exec(
        "SELECT (SELECT count(*) FROM chunks x WHERE NOT EXISTS (SELECT 1 FROM packs p WHERE "
        "p.id = x.pack)) + (SELECT count(*) FROM manifests x WHERE NOT EXISTS (SELECT 1 FROM "
        "packs p WHERE p.id = x.pack))"));
    if (chk.Int(0, 0) != 0) {
      return Status::Internal("gc would leave " + chk.Text(0, 0) +
                              " rows pointing at deleted packs; aborted, nothing changed");
    }
    return Status::OK();
  });
}

Status PgMetadata::CommitReindex(const Reindex& r) {
  return Write([&](PgConn& c) -> Status {
    AS_RETURN_IF_ERROR(c.Run("DELETE FROM chunks; DELETE FROM chunk_bases; "
                             "DELETE FROM manifests; DELETE FROM packs"));
    std::vector<int64_t> ids;
    AS_RETURN_IF_ERROR(InsertPacks(c, r.packs, &ids));
    AS_RETURN_IF_ERROR(InsertChunks(c, r.chunks, ids));
    AS_RETURN_IF_ERROR(InsertBases(c, r.bases));
    for (const auto& m : r.manifests) AS_RETURN_IF_ERROR(InsertManifest(c, m, ids));
    return Status::OK();
  });
}

Result<StoreTotals> PgMetadata::Totals() {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(
      "SELECT (SELECT coalesce(sum(size), 0) FROM names), (SELECT count(*) FROM names), "
      "(SELECT count(*) FROM chunks), (SELECT coalesce(sum(raw_len), 0) FROM chunks), "
      "(SELECT coalesce(sum(frame_len), 0) FROM chunks), (SELECT count(*) FROM packs), "
      "(SELECT coalesce(sum(size), 0) FROM packs), (SELECT count(*) FROM manifests)"));
  StoreTotals t;
  t.logical_bytes = static_cast<uint64_t>(r.Int(0, 0));
  t.names = static_cast<uint64_t>(r.Int(0, 1));
  t.unique_chunks = static_cast<uint64_t>(r.Int(0, 2));
  t.unique_bytes = static_cast<uint64_t>(r.Int(0, 3));
  t.stored_bytes = static_cast<uint64_t>(r.Int(0, 4));
  t.packs = static_cast<uint64_t>(r.Int(0, 5));
  t.pack_bytes = static_cast<uint64_t>(r.Int(0, 6));
  t.manifests = static_cast<uint64_t>(r.Int(0, 7));
  return t;
}

Result<std::vector<std::string>> PgMetadata::CheckIntegrity(bool /*thorough*/) {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(
      "SELECT 'chunks', count(*) FROM chunks x WHERE NOT EXISTS (SELECT 1 FROM packs p WHERE "
      "p.id = x.pack) UNION ALL SELECT 'manifests', count(*) FROM manifests x WHERE NOT EXISTS "
      "(SELECT 1 FROM packs p WHERE p.id = x.pack)"));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); i++) {
    if (r.Int(i, 1) != 0) {
      out.push_back(r.Text(i, 1) + " " + r.Text(i, 0) + " rows point at packs not in the table");
    }
  }
  return out;
}

Result<NameRow> PgMetadata::CopyName(const NameRow& from, NameRow to, bool require_bucket,
                                     const std::optional<Digest>& expect) {
  Status s = Write([&](PgConn& c) -> Status {
    // FOR SHARE: the source cannot be rebound or removed until this commits.
    AS_ASSIGN_OR_RETURN(auto r, c.Exec(std::string("SELECT ") + kNameCols +
                                           " FROM names WHERE tenant = $1 AND "
                                           "bucket = decode($2, 'hex') AND "
                                           "key = decode($3, 'hex') FOR SHARE",
                                       {from.tenant, PgHexBytes(from.bucket),
                                        PgHexBytes(from.key)}));
    if (r.rows() == 0) return Status::NotFound("name " + from.bucket + "/" + from.key);
    AS_ASSIGN_OR_RETURN(NameRow src, ColName(r, 0));
    AS_RETURN_IF_ERROR(TakeCopySource(src, expect, &to));
    return BindName(c, to, require_bucket);
  });
  if (!s.ok()) return s;
  return to;
}

Status PgMetadata::DeleteUpload(const std::string& id) {
  return Write([&](PgConn& c) { return DeleteUploadIn(c, id); });
}

}  // namespace as
