// The metadata store: chunk index, packs, manifests' locations and names, in
// one SQLite database in WAL mode (synchronous=FULL: a commit is durable when
// it returns). Schema: docs/format/metadata.md.
//
// Thread-safe. Writes (and the reads a write transaction makes) go through
// one writer connection behind a mutex, one transaction per call, committed
// before the call returns. Every other read runs on a pool of read-only
// connections (ReadPool) without that mutex, so reads neither queue behind
// each other nor behind a write: a read sees every write whose call has
// returned (on any thread) and nothing of one still in progress.
// ForEachChunk/ForEachManifest callbacks run while a pooled connection is
// held and must not call back into Metadata.
//
// Invariant: a row never points into a pack that is not sealed, fsynced and
// verified; CommitPut() writes packs, chunk rows, the manifest row and the
// name in one transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <optional>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/status.h"
#include "index/read_pool.h"
#include "index/sqlite_db.h"
#include "pack/pack.h"

namespace as {

inline constexpr int kMetadataSchemaVersion = 3;

struct Location {
  int64_t pack = 0;  // packs.id
  uint64_t offset = 0;
  uint32_t frame_len = 0;
  uint32_t raw_len = 0;
};

struct PackRow {
  int64_t id = 0;
  std::string name;
  uint64_t size = 0;
  uint32_t frames = 0;
  int64_t created = 0;
  uint32_t domain = 0;
};

// A chunk or manifest key: digests are unique within a dedup domain (one per
// tenant by default, DESIGN contract 7).
struct ChunkKey {
  uint32_t domain = 0;
  Digest digest;
};

struct ManifestRow {
  uint32_t domain = 0;
  Digest digest;   // manifest digest
  Digest content;  // BLAKE3 of the artifact
  uint64_t size = 0;
  uint64_t chunks = 0;
  Location loc;
};

struct NameRow {
  std::string tenant, bucket, key;
  Digest manifest, content;
  uint64_t size = 0;
  uint64_t version = 0;
  int64_t created = 0;
  std::string attrs;  // opaque to the store (the S3 layer's ETag, type, metadata)
};

struct BucketRow {
  std::string tenant, bucket;
  int64_t created = 0;
};

// A multipart upload in progress, and its parts (each an artifact with a
// manifest of its own, rooted for GC by this row until completed or aborted).
struct UploadRow {
  std::string id, tenant, bucket, key, attrs;
  int64_t created = 0;
};

struct PartRow {
  std::string upload;
  uint32_t number = 0;
  Digest manifest, content;
  uint64_t size = 0;
  std::string attrs;
  int64_t created = 0;
};

struct AccessKeyRow {
  std::string id, tenant, secret;
  int64_t created = 0;
};

struct StoreTotals {
  uint64_t logical_bytes = 0;  // sum of the sizes of live names
  uint64_t names = 0;
  uint64_t unique_chunks = 0;
  uint64_t unique_bytes = 0;  // raw bytes of distinct chunks
  uint64_t stored_bytes = 0;  // frame bytes of chunks in packs
  uint64_t packs = 0;
  uint64_t pack_bytes = 0;    // pack files on disk, as recorded
  uint64_t manifests = 0;
};

// Everything one put makes durable at once. Chunk and manifest locations use
// `pack` as an index into `packs` (resolved to ids inside the transaction),
// or -1 - id for a pack that is already in the table.
struct PutCommit {
  uint32_t domain = 0;
  std::vector<SealedPack> packs;
  std::vector<std::pair<Digest, Location>> chunks;
  // (chunk, base) for each base of a zstd-ref chunk among `chunks`: a base
  // stays alive while a chunk built on it does.
  std::vector<std::pair<Digest, Digest>> bases;
  std::optional<ManifestRow> manifest;
  std::optional<NameRow> name;  // bound (or rebound) to manifest
  // With a name: NotFound unless its bucket exists; without, the bucket is
  // created if missing.
  bool require_bucket = false;
  std::optional<PartRow> part;                 // a multipart part (replaces the same number)
  std::optional<std::string> complete_upload;  // upload id removed with its parts
};

class Metadata {
 public:
  static Result<std::unique_ptr<Metadata>> Open(const std::string& path, bool create);

  Result<std::string> GetMeta(const std::string& key);  // NotFound when absent
  Status SetMeta(const std::string& key, const std::string& value);

  // The dedup domain of a tenant; with create, a new tenant gets a new domain.
  Result<uint32_t> TenantDomain(const std::string& tenant, bool create);
  // Disaster recovery (reindex into a new database): binds `tenant` to the
  // domain its packs were written in. OK if already so bound; AlreadyExists,
  // naming both, if the tenant has another domain or the domain another tenant.
  Status RestoreTenant(const std::string& tenant, uint32_t domain);

  Result<std::optional<Location>> FindChunk(uint32_t domain, const Digest& d);
  // FindChunk for d[0..n) in one read transaction (one snapshot): (*out)[i]
  // is d[i]'s location or nullopt. For reads that walk many chunks.
  Status FindChunks(uint32_t domain, const Digest* d, size_t n,
                    std::vector<std::optional<Location>>* out);
  Status ForEachChunk(const std::function<void(const ChunkKey&, const Location&)>& fn);
  // Every (chunk, base) pair of the zstd-ref chunks (see PutCommit::bases).
  Status ForEachChunkBase(const std::function<void(const ChunkKey&, const Digest&)>& fn);
  Result<std::optional<ManifestRow>> FindManifest(uint32_t domain, const Digest& manifest);
  Result<std::optional<ManifestRow>> FindManifestByContent(uint32_t domain,
                                                           const Digest& content);
  Status ForEachManifest(const std::function<void(const ManifestRow&)>& fn);
  Result<std::optional<NameRow>> GetName(const std::string& tenant, const std::string& bucket,
                                         const std::string& key);
  // Names of a tenant whose "bucket/key" starts with prefix, ordered.
  Result<std::vector<NameRow>> ListNames(const std::string& tenant, const std::string& prefix);
  Result<std::vector<NameRow>> NamesForManifest(const Digest& manifest);
  // A live name of the tenant whose content or manifest digest is d.
  Result<std::optional<NameRow>> FindNameByDigest(const std::string& tenant, const Digest& d);
  Result<std::vector<NameRow>> AllNames();
  Result<std::vector<PackRow>> ListPacks();
  Result<std::optional<PackRow>> GetPack(int64_t id);

  Status CommitPut(const PutCommit& c);

  // GC's root log. While it is on, every manifest that a commit binds to a
  // name (a put, a copy) or to a multipart part is recorded, so that GC can
  // mark from a snapshot of the names without holding commits off, and then
  // mark what was bound meanwhile. A failed commit may leave an entry: that
  // only keeps something alive one GC longer.
  // (A commit that stores a zstd-ref chunk logs each base as a chunk root.)
  struct BoundRoot {
    std::string tenant;             // empty when domain is set
    std::optional<uint32_t> domain;
    Digest manifest;                // or a chunk's digest when `chunk`
    bool chunk = false;
  };
  void StartRootLog();
  std::vector<BoundRoot> StopRootLog();
  // Group commit: the frames of every put in `puts` are in `shared` (their
  // locations name it as pack 0; their own `packs` are empty). One
  // transaction, each put in a savepoint of its own, so one put's failure (a
  // missing bucket) fails only that put: (*results)[i] is put i's. A non-OK
  // return is the transaction's own failure: nothing was committed.
  Status CommitPuts(const SealedPack& shared, const std::vector<const PutCommit*>& puts,
                    std::vector<Status>* results);
  // Removes a name; NotFound if it is not there.
  Status RemoveName(const std::string& tenant, const std::string& bucket, const std::string& key);

  // GC: drops the rows of dead chunks and manifests and the given packs, and
  // moves live chunks to a rewritten pack, in one transaction.
  // Every delete and move applies only while the row still points into the
  // old pack (`from_pack`): a concurrent put may have re-stored the chunk.
  struct GcMove {
    ChunkKey key;
    int64_t from_pack = 0;
    Location to;  // to.pack = index into new_packs
  };
  struct GcCommit {
    std::vector<std::pair<ChunkKey, int64_t>> dead_chunks;     // key, pack it is in
    std::vector<std::pair<ChunkKey, int64_t>> dead_manifests;  // key, pack it is in
    std::vector<int64_t> dead_packs;
    std::vector<SealedPack> new_packs;
    std::vector<GcMove> moved_chunks;
    std::vector<GcMove> moved_manifests;
  };
  Status CommitGc(const GcCommit& c);

  // repair --reindex: replaces the chunk, manifest and pack tables (names are
  // kept) in one transaction.
  struct Reindex {
    std::vector<SealedPack> packs;  // packs found on disk, with their names
    std::vector<std::pair<ChunkKey, Location>> chunks;  // pack = index into packs
    std::vector<std::pair<ChunkKey, Digest>> bases;     // of zstd-ref chunks
    std::vector<ManifestRow> manifests;                 // loc.pack = index into packs
  };
  Status CommitReindex(const Reindex& r);

  Result<StoreTotals> Totals();
  // SQLite's own check of metadata.db (PRAGMA quick_check, or integrity_check
  // when `thorough`): what it reports, empty when the file is sound. SQLite
  // keeps no checksums, so a damaged page that no other query reads (the
  // tenants, the names) is found only here.
  Result<std::vector<std::string>> CheckIntegrity(bool thorough);

  // Buckets (metadata_objects.cc). CreateBucket: AlreadyExists if it does;
  // DeleteBucket: NotFound, or FailedPrecondition while it holds names.
  Status CreateBucket(const std::string& tenant, const std::string& bucket);
  Status DeleteBucket(const std::string& tenant, const std::string& bucket);
  Result<std::vector<BucketRow>> ListBuckets(const std::string& tenant);
  Result<std::optional<BucketRow>> GetBucket(const std::string& tenant, const std::string& bucket);
  // Names of one bucket with keys starting with prefix and greater than
  // `after`, in key order, at most limit.
  Result<std::vector<NameRow>> ListKeys(const std::string& tenant, const std::string& bucket,
                                        const std::string& prefix, const std::string& after,
                                        size_t limit);
  // Replaces a name's attrs only. NotFound if there is no such name;
  // FailedPrecondition if `expect` is given and the name names another
  // manifest.
  Status SetNameAttrs(const std::string& tenant, const std::string& bucket, const std::string& key,
                      const std::string& attrs, const std::optional<Digest>& expect);
  // Binds `to` to the manifest `from` names, in one transaction (no bytes
  // move). NotFound if `from` is gone; FailedPrecondition if `expect` is
  // given and `from` names another manifest now.
  Result<NameRow> CopyName(const NameRow& from_key, NameRow to, bool require_bucket,
                           const std::optional<Digest>& expect = std::nullopt);

  Status CreateUpload(const UploadRow& u);
  Result<std::optional<UploadRow>> GetUpload(const std::string& id);
  Result<std::vector<UploadRow>> ListUploads(const std::string& tenant, const std::string& bucket);
  Result<std::vector<PartRow>> ListParts(const std::string& upload);
  Status DeleteUpload(const std::string& id);  // NotFound if gone
  // Uploads created before `cutoff` (unix seconds): gc aborts them.
  Result<std::vector<UploadRow>> UploadsBefore(int64_t cutoff);
  Result<std::vector<std::pair<std::string, PartRow>>> AllParts();  // tenant, part

  Status AddAccessKey(const AccessKeyRow& k);
  Result<std::optional<AccessKeyRow>> FindAccessKey(const std::string& id);
  Result<std::vector<AccessKeyRow>> ListAccessKeys();

 private:
  Result<uint32_t> LoadTenantDomain(const std::string& tenant, bool create);
  Status BindNameLocked(const NameRow& n, bool require_bucket);
  Status InsertPartLocked(const PartRow& p);
  Status DeleteUploadLocked(const std::string& id);
  explicit Metadata(std::unique_ptr<SqliteDb> db);
  Status Migrate(bool create);
  Status InsertPacks(const std::vector<SealedPack>& packs, std::vector<int64_t>* ids);
  // CommitPut's rows but the packs' (ids: the put's packs' row ids).
  Status CommitPutRows(const PutCommit& c, const std::vector<int64_t>& ids, SqliteStmt& ins);
  Status InsertManifest(const ManifestRow& m, const std::vector<int64_t>& ids);
  Result<SqliteStmt> PrepareInsertChunkBase();
  Status InsertChunkBase(SqliteStmt& st, const ChunkKey& key, const Digest& base);
  Result<SqliteStmt> PrepareInsertChunk();
  Status InsertChunk(SqliteStmt& st, const ChunkKey& key, const Location& loc,
                     const std::vector<int64_t>& ids);
  static Result<std::vector<NameRow>> QueryNames(SqliteStmt& st);
  static int64_t ResolvePack(int64_t p, const std::vector<int64_t>& ids);

  // The writer's lock. Releasing it counts a write (after its commit, if
  // any), which retires every cached name: a cached row is used only while
  // no write has ended since the lookup that read it began.
  class WriteLock {
   public:
    explicit WriteLock(Metadata* m) : m_(m), l_(m->mu_) {}
    ~WriteLock() { m_->writes_.fetch_add(1, std::memory_order_acq_rel); }

   private:
    Metadata* m_;
    std::lock_guard<std::mutex> l_;
  };
  std::mutex mu_;
  std::unique_ptr<SqliteDb> db_;
  std::atomic<uint64_t> writes_{0};
  // GetName answers (found or not) for read-mostly workloads: a small S3
  // GET then costs no name query. Dropped whole when it grows past a bound.
  struct CachedName {
    uint64_t writes;  // writes_ when the lookup began
    std::optional<NameRow> row;
  };
  std::mutex names_mu_;
  std::unordered_map<std::string, CachedName> names_;
  void LogRoot(BoundRoot r);
  std::mutex root_log_mu_;
  bool root_log_on_ = false;
  std::vector<BoundRoot> root_log_;
  // Tenant -> domain, which never changes once made: every get asks, and
  // this answers without the database lock.
  std::shared_mutex domains_mu_;
  std::unordered_map<std::string, uint32_t> domains_;
  // Declared after db_: its connections close before the writer's.
  std::unique_ptr<ReadPool> pool_;
};

}  // namespace as
