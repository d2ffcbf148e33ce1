// The embedded default metadata: one SQLite database in WAL mode
// (synchronous=FULL: a commit is durable when it returns). Schema:
// docs/format/metadata.md.
//
// Writes (and the reads a write transaction makes) go through one writer
// connection behind a mutex, one transaction per call, committed before the
// call returns. Every other read runs on a pool of read-only connections
// (ReadPool) without that mutex, so reads neither queue behind each other nor
// behind a write.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "index/metadata.h"
#include "index/read_pool.h"
#include "index/sqlite_db.h"

namespace as {

inline constexpr int kMetadataSchemaVersion = 7;

class SqliteMetadata final : public Metadata {
 public:
  // The writer's page cache while gc runs (BeginGc to EndGc), in KiB: the
  // pages a sweep batch dirties, each then written once per commit.
  static constexpr int64_t kGcWriterCacheKib = 64 << 10;

  static Result<std::unique_ptr<SqliteMetadata>> Open(const std::string& path, bool create);

  std::string Describe() const override;
  Status LockStore(const std::string&, bool) override { return Status::OK(); }
  Result<std::string> GetMeta(const std::string& key) override;
  Status SetMeta(const std::string& key, const std::string& value) override;
  Result<uint32_t> TenantDomain(const std::string& tenant, bool create) override;
  Status RestoreTenant(const std::string& tenant, uint32_t domain) override;
  Result<uint32_t> CreateTenant(const std::string& tenant, const NewTenantKeys& keys) override;
  Result<std::vector<KeyRow>> ListKeys() override;
  Result<uint32_t> AddKey(const KeyRow& k) override;
  Status RewrapKeys(const std::vector<KeyRow>& rows, const std::string& meta_key,
                    const std::string& meta_value) override;
  Status RestoreKeys(const std::vector<KeyRow>& rows) override;
  Status RetireKeys(uint32_t domain, const std::vector<uint32_t>& ids,
                    std::vector<uint32_t>* deleted) override;
  Result<std::optional<Location>> FindChunk(uint32_t domain, const Digest& d) override;
  using ChunkIndex::FindChunks;
  Status FindChunks(uint32_t domain, const Digest* d, size_t n,
                    std::vector<std::optional<Location>>* out, bool live_only) override;
  Status ForEachChunk(const std::function<void(const ChunkKey&, const Location&)>& fn) override;
  Status ForEachChunkInPack(
      int64_t pack, const std::function<void(const ChunkKey&, const Location&)>& fn) override;
  Status ForEachChunkAfter(
      const ChunkKey* after, size_t limit,
      const std::function<void(const ChunkKey&, const Location&)>& fn) override;
  Status ForEachChunkBase(const std::function<void(const ChunkKey&, const Digest&)>& fn) override;
  Result<std::optional<ManifestRow>> FindManifest(uint32_t domain, const Digest& manifest) override;
  Result<std::optional<ManifestRow>> FindManifestByContent(uint32_t domain,
                                                           const Digest& content) override;
  Status ForEachManifest(const std::function<void(const ManifestRow&)>& fn) override;
  Status ForEachDoomed(const std::function<void(const ChunkKey&, bool manifest, int64_t pack,
                                               int64_t epoch)>& fn) override;
  Status ForEachDoomedAfter(
      bool manifests, const ChunkKey* after, size_t limit,
      const std::function<void(const ChunkKey&, int64_t pack, int64_t epoch)>& fn) override;
  Result<std::optional<NameRow>> GetName(const std::string& tenant, const std::string& bucket,
                                         const std::string& key) override;
  Result<std::vector<NameRow>> ListNames(const std::string& tenant, const std::string& prefix) override;
  Result<std::vector<NameRow>> NamesForManifest(const Digest& manifest) override;
  Result<std::optional<NameRow>> FindNameByDigest(const std::string& tenant, const Digest& d) override;
  Result<std::vector<NameRow>> AllNames() override;
  Result<std::vector<PackRow>> ListPacks() override;
  Result<std::optional<PackRow>> GetPack(int64_t id) override;
  Result<uint64_t> WatchChunkGeneration() override;
  Result<std::optional<uint64_t>> SoleChunkGeneration() override;
  Status CommitPut(const PutCommit& c) override;
  Status CommitPuts(const SealedPack& shared, const std::vector<const PutCommit*>& puts,
                    std::vector<Status>* results) override;
  Status RemoveName(const std::string& tenant, const std::string& bucket, const std::string& key) override;
  Result<int64_t> BeginGc() override;
  void EndGc() override;
  Result<int64_t> GcEpoch() override;
  Status Doom(int64_t token, const std::vector<std::pair<ChunkKey, int64_t>>& chunks,
              const std::vector<std::pair<ChunkKey, int64_t>>& manifests,
              int64_t* epoch) override;
  Result<int64_t> Horizon(uint64_t* expelled) override;
  Status AddPendingPack(const std::string& name) override;
  void RemovePendingPack(const std::string& name) override;
  Result<std::map<std::string, bool>> PendingPacks() override;
  Status CommitSweep(int64_t token, const Sweep& s, uint64_t* dropped) override;
  Status CommitGc(int64_t token, const GcCommit& c, std::vector<int64_t>* deleted) override;
  Status CommitReindex(const Reindex& r) override;
  // From the kept counters (one small read, whatever the store's size).
  Result<StoreTotals> Totals() override;
  // The same totals counted by scanning the tables (seconds at 10 million
  // chunks): what the counters must always equal. For tests, and for
  // CheckIntegrity, which reports a difference.
  Result<StoreTotals> ScanTotals();
  Result<std::vector<std::string>> CheckIntegrity(bool thorough) override;
  Status CreateBucket(const std::string& tenant, const std::string& bucket) override;
  Status DeleteBucket(const std::string& tenant, const std::string& bucket) override;
  Result<std::vector<BucketRow>> ListBuckets(const std::string& tenant) override;
  Result<std::optional<BucketRow>> GetBucket(const std::string& tenant, const std::string& bucket) override;
  Result<std::vector<NameRow>> ListKeys(const std::string& tenant, const std::string& bucket,
                                        const std::string& prefix, const std::string& after,
                                        size_t limit) override;
  Status SetNameAttrs(const std::string& tenant, const std::string& bucket, const std::string& key,
                      const std::string& attrs, const std::optional<Digest>& expect) override;
  Result<NameRow> CopyName(const NameRow& from_key, NameRow to, bool require_bucket,
                           const std::optional<Digest>& expect = std::nullopt) override;
  Status CreateUpload(const UploadRow& u) override;
  Result<std::optional<UploadRow>> GetUpload(const std::string& id) override;
  Result<std::vector<UploadRow>> ListUploads(const std::string& tenant, const std::string& bucket) override;
  Result<std::vector<PartRow>> ListParts(const std::string& upload) override;
  Status DeleteUpload(const std::string& id) override;
  Result<std::vector<UploadRow>> UploadsBefore(int64_t cutoff) override;
  Result<std::vector<std::pair<std::string, PartRow>>> AllParts() override;
  Status AddAccessKey(const AccessKeyRow& k) override;
  Result<std::optional<AccessKeyRow>> FindAccessKey(const std::string& id) override;
  Result<std::vector<AccessKeyRow>> ListAccessKeys() override;

 private:
  Result<uint32_t> LoadTenantDomain(const std::string& tenant, bool create);
  Status BindNameLocked(const NameRow& n, bool require_bucket);
  Status InsertPartLocked(const PartRow& p);
  Status DeleteUploadLocked(const std::string& id);
  explicit SqliteMetadata(std::unique_ptr<SqliteDb> db);
  Status Migrate(bool create);
  // Schema v7: the counters table (one row) and its triggers, the counters
  // filled from one scan of the tables and chunk_gen at a random start.
  // Inside the caller's transaction (or the creation of the database).
  Status CreateCounters();
  // chunk_gen as the writer connection sees it (mu_ held).
  Result<uint64_t> ReadChunkGen();
  // InTransaction for a write that may add or remove chunk rows (mu_ held):
  // with a watch on, it checks that nobody else changed the chunk rows since
  // this object last saw them (else the watch breaks) and follows the
  // generation through the transaction.
  Status InChunkTransaction(const std::function<Status()>& fn);
  Status InsertPacks(const std::vector<SealedPack>& packs, std::vector<int64_t>* ids);
  // CommitPut's rows but the packs' (ids: the put's packs' row ids).
  Status CommitPutRows(const PutCommit& c, const std::vector<int64_t>& ids, SqliteStmt& ins);
  // PutCommit::refs, under the writer's lock.
  Status KeepRefs(const PutCommit& c);
  Status CheckGcToken(int64_t token) const;
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
    explicit WriteLock(SqliteMetadata* m) : m_(m), l_(m->mu_) {}
    ~WriteLock() { m_->writes_.fetch_add(1, std::memory_order_acq_rel); }

   private:
    SqliteMetadata* m_;
    std::lock_guard<std::mutex> l_;
  };
  std::mutex mu_;
  std::unique_ptr<SqliteDb> db_;
  // GC's state, under mu_. This process is the store's only one (LOCK), so
  // the epoch lives in memory: rows doomed by a run that crashed are simply
  // swept by the next (no lookup finds them meanwhile).
  int64_t epoch_ = 0;
  int64_t gc_token_ = 0;
  bool gc_running_ = false;
  // The chunk generation watch (WatchChunkGeneration), under mu_. gen_seen_
  // is chunk_gen as of this object's last chunk transaction (or the watch's
  // start); a transaction that finds another value there finds another
  // writer's changes, and ends the watch.
  bool watching_ = false;
  uint64_t gen_seen_ = 0;
  std::mutex pending_mu_;
  std::set<std::string> pending_;  // AddPendingPack
  std::atomic<uint64_t> writes_{0};
  // GetName answers (found or not) for read-mostly workloads: a small S3
  // GET then costs no name query. Dropped whole when it grows past a bound.
  struct CachedName {
    uint64_t writes;  // writes_ when the lookup began
    std::optional<NameRow> row;
  };
  std::mutex names_mu_;
  std::unordered_map<std::string, CachedName> names_;
  // Tenant -> domain, which never changes once made: every get asks, and
  // this answers without the database lock.
  std::shared_mutex domains_mu_;
  std::unordered_map<std::string, uint32_t> domains_;
  // Declared after db_: its connections close before the writer's.
  std::unique_ptr<ReadPool> pool_;
};

}  // namespace as
