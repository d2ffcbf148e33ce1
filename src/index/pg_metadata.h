// Metadata on PostgreSQL (libpq), for stores whose metadata lives on a server
// (docs/scaleout.md). Schema: docs/format/metadata-postgresql.md; the same
// tables as SQLite's, keyed the same way, in the database (and schema) the
// URL names.
//
// Connections: writes go through one writer connection behind a mutex, one
// transaction per call (synchronous_commit on: a commit is durable on the
// server when it returns); reads take a pooled connection and run as single
// statements or one read-only transaction. Any number of processes share a
// store: rows are locked in key order by every writer (no deadlocks between
// them), and gc's doom/sweep protocol (Metadata::Doom) keeps what their
// commits reference; a deadlock or serialization failure all the same is
// Busy, and the same call may be retried.
//
// A connection that breaks (the server restarted, the network dropped) fails
// the call it was in with Unavailable and is reconnected by the next call that
// takes it, so a client's retry succeeds once the server is back.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "index/metadata.h"

namespace as {

class PgConn;
class PgPool;

inline constexpr int kPgSchemaVersion = 4;

class PgMetadata final : public Metadata {
 public:
  // url: a libpq connection URI (postgresql://[user@]host[:port]/db[?...]).
  // A password in the URL is refused: libpq takes it from PGPASSWORD or a
  // passfile (~/.pgpass, PGPASSFILE), so it never shows on a command line.
  // With create, the schema is made, and a database that already holds one
  // is AlreadyExists; without, a database that holds none is NotFound.
  static Result<std::unique_ptr<PgMetadata>> Open(const std::string& url, bool create);
  ~PgMetadata() override;

  std::string Describe() const override { return url_; }
  Status LockStore(const std::string& store_uuid, bool exclusive) override;
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
  Result<std::optional<ManifestRow>> FindManifest(uint32_t domain,
                                                  const Digest& manifest) override;
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
  Result<std::vector<NameRow>> ListNames(const std::string& tenant,
                                         const std::string& prefix) override;
  Result<std::vector<NameRow>> NamesForManifest(const Digest& manifest) override;
  Result<std::optional<NameRow>> FindNameByDigest(const std::string& tenant,
                                                  const Digest& d) override;
  Result<std::vector<NameRow>> AllNames() override;
  Result<std::vector<PackRow>> ListPacks() override;
  Result<std::optional<PackRow>> GetPack(int64_t id) override;
  Status CommitPut(const PutCommit& c) override;
  Status CommitPuts(const SealedPack& shared, const std::vector<const PutCommit*>& puts,
                    std::vector<Status>* results) override;
  Status RemoveName(const std::string& tenant, const std::string& bucket,
                    const std::string& key) override;
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
  // This process's session (tests).
  int64_t session() const { return session_.load(std::memory_order_acquire); }
  Status CommitSweep(int64_t token, const Sweep& s, uint64_t* dropped) override;
  Status CommitGc(int64_t token, const GcCommit& c, std::vector<int64_t>* deleted) override;
  Status CommitReindex(const Reindex& r) override;
  Result<StoreTotals> Totals() override;
  // The totals counted from the tables (what the kept counters must equal).
  Result<StoreTotals> ScanTotals();
  Result<std::vector<std::string>> CheckIntegrity(bool thorough) override;
  Status CreateBucket(const std::string& tenant, const std::string& bucket) override;
  Status DeleteBucket(const std::string& tenant, const std::string& bucket) override;
  Result<std::vector<BucketRow>> ListBuckets(const std::string& tenant) override;
  Result<std::optional<BucketRow>> GetBucket(const std::string& tenant,
                                             const std::string& bucket) override;
  Result<std::vector<NameRow>> ListKeys(const std::string& tenant, const std::string& bucket,
                                        const std::string& prefix, const std::string& after,
                                        size_t limit) override;
  Status SetNameAttrs(const std::string& tenant, const std::string& bucket,
                      const std::string& key, const std::string& attrs,
                      const std::optional<Digest>& expect) override;
  Result<NameRow> CopyName(const NameRow& from_key, NameRow to, bool require_bucket,
                           const std::optional<Digest>& expect) override;
  Status CreateUpload(const UploadRow& u) override;
  Result<std::optional<UploadRow>> GetUpload(const std::string& id) override;
  Result<std::vector<UploadRow>> ListUploads(const std::string& tenant,
                                             const std::string& bucket) override;
  Result<std::vector<PartRow>> ListParts(const std::string& upload) override;
  Status DeleteUpload(const std::string& id) override;
  Result<std::vector<UploadRow>> UploadsBefore(int64_t cutoff) override;
  Result<std::vector<std::pair<std::string, PartRow>>> AllParts() override;
  Status AddAccessKey(const AccessKeyRow& k) override;
  Result<std::optional<AccessKeyRow>> FindAccessKey(const std::string& id) override;
  Result<std::vector<AccessKeyRow>> ListAccessKeys() override;

 private:
  explicit PgMetadata(std::string url);
  Status Migrate(bool create);
  // Runs fn(writer) inside BEGIN .. COMMIT on the writer connection, under
  // the writer's mutex; rolls back on failure.
  Status Write(const std::function<Status(PgConn&)>& fn);
  Status InsertPacks(PgConn& c, const std::vector<SealedPack>& packs, std::vector<int64_t>* ids);
  // The epoch lock, shared, for a commit's transaction, and the epoch.
  // What a commit's transaction holds: the epoch, and the session whose row
  // it has locked (fenced).
  struct CommitGuard {
    int64_t epoch = 0;
    int64_t fenced = 0;
  };
  Result<CommitGuard> HoldEpoch(PgConn& c, int64_t session);
  // PutCommit::refs, inside the commit's transaction (epoch: HoldEpoch's).
  Status KeepRefs(PgConn& c, const PutCommit& p, int64_t epoch);
  Status CommitPutRows(PgConn& c, const PutCommit& p, const std::vector<int64_t>& ids,
                       CommitGuard* g);
  Status CheckGcToken(PgConn& c, int64_t token);
  // The session: registered at open, reported every HeartbeatMillis() by a
  // thread of its own (Beat, under beat_mu_), registered anew if gc expelled
  // it; deleted at a clean close.
  Status StartSession();
  Status Register();  // under beat_mu_
  Status Beat();      // under beat_mu_
  // A put's commit fails if its session was expelled (Busy).
  Status Fence(PgConn& c, const PutCommit& p, CommitGuard* g);
  Status BindName(PgConn& c, const NameRow& n, bool require_bucket);
  Status DeleteUploadIn(PgConn& c, const std::string& id);
  Status InsertChunks(PgConn& c, const std::vector<std::pair<ChunkKey, Location>>& rows,
                      const std::vector<int64_t>& ids);
  Status InsertBases(PgConn& c, const std::vector<std::pair<ChunkKey, Digest>>& rows);
  Status InsertManifest(PgConn& c, const ManifestRow& m, const std::vector<int64_t>& ids);
  // FindManifest and FindManifestByContent: the row whose `column` is d.
  Result<std::optional<ManifestRow>> FindManifestBy(const char* column, uint32_t domain,
                                                    const Digest& d);
  Result<std::vector<NameRow>> QueryNames(const std::string& sql,
                                          const std::vector<std::string>& params);

  const std::string url_;
  std::mutex mu_;  // the writer's
  std::unique_ptr<PgConn> writer_;
  std::unique_ptr<PgPool> pool_;
  // LockStore's: its own connection holds the advisory lock, shared by the
  // processes of a store whose packs are on S3, exclusive for one whose
  // packs are local (a session lock lives as long as the connection).
  // Write() checks it at most every kLockCheckSeconds and takes it again
  // after a reconnect; if another process took it meanwhile, writes fail
  // with Busy.
  static constexpr int64_t kLockCheckSeconds = 10;
  Status CheckStoreLock();  // under mu_
  std::unique_ptr<PgConn> lock_conn_;
  std::string lock_key_;  // the advisory lock's key, in decimal; empty: none
  bool lock_exclusive_ = false;
  int64_t lock_checked_ = 0;
  // BeginGc's: the connection whose session holds gc's ownership lock.
  std::mutex gc_mu_;
  std::unique_ptr<PgConn> gc_conn_;
  bool gc_running_ = false;
  std::mutex beat_mu_;
  std::condition_variable beat_cv_;
  bool stopping_ = false;
  std::unique_ptr<PgConn> beat_conn_;
  // Written under beat_mu_; read without it (a put must not wait behind a
  // heartbeat that waits on a database that does not answer).
  std::atomic<int64_t> session_{0};
  std::thread beater_;
  std::mutex pending_mu_;
  std::unique_ptr<PgConn> pending_conn_;  // AddPendingPack, RemovePendingPack
  // Tenant -> domain, which never changes once made.
  std::shared_mutex domains_mu_;
  std::unordered_map<std::string, uint32_t> domains_;
};

}  // namespace as
