// The metadata store's interfaces: ChunkIndex (what the packs can rebuild:
// chunks, manifests' locations, packs), Catalog (what they cannot: tenants,
// names, buckets, uploads, keys) and Metadata, both in one database with the
// transactions that span them. Two implementations pass one shared test
// suite (tests/index/metadata_contract_test.cc):
// - SqliteMetadata (sqlite_metadata.h): one SQLite file in the store
//   directory, the embedded default. Schema: docs/format/metadata.md.
// - PgMetadata (pg_metadata.h): PostgreSQL, for stores whose metadata lives
//   on a server (docs/scaleout.md). Schema: docs/format/metadata-postgresql.md.
//
// Contract, for every implementation:
// - Thread-safe. Every call is one transaction, committed (durable) before a
//   write returns; a read sees every write whose call has returned, on any
//   thread, and nothing of one still in progress.
// - ForEachChunk/ForEachManifest/ForEachChunkBase callbacks run while a
//   connection is held and must not call back into Metadata.
// - A row never points into a pack that is not sealed and durable;
//   CommitPut() writes packs, chunk rows, the manifest row and the name in one
//   transaction.
// - A database server that does not answer (down, restarting, connection
//   lost) is Unavailable naming the database; nothing of a failed write is
//   committed, and the same call may simply be retried.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/digest.h"
#include "base/status.h"
#include "pack/pack.h"

namespace as {

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

// A key of an encrypted tenant, as stored: wrapped by the master key, never
// in the clear (docs/format/encryption.md).
struct KeyRow {
  uint32_t id = 0;  // unique in the store, never 0: a frame's key id names it
  uint32_t domain = 0;
  char kind = 'D';  // 'I': the tenant's id key (keyed digests); 'D': a data key
  std::vector<uint8_t> wrapped;
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

// The totals both back ends keep in a `counters` table (by triggers, so
// that Totals() reads a row or a few instead of scanning), each a column
// named as CheckIntegrity names a difference.
struct CounterField {
  const char* name;
  uint64_t StoreTotals::*field;
};
inline constexpr CounterField kCounterFields[] = {
    {"names", &StoreTotals::names},
    {"name_bytes", &StoreTotals::logical_bytes},
    {"chunks", &StoreTotals::unique_chunks},
    {"chunk_raw_bytes", &StoreTotals::unique_bytes},
    {"chunk_frame_bytes", &StoreTotals::stored_bytes},
    {"packs", &StoreTotals::packs},
    {"pack_bytes", &StoreTotals::pack_bytes},
    {"manifests", &StoreTotals::manifests},
};
// "names, name_bytes, ..." in kCounterFields' order, each wrapped as
// `wrap` says ("sum(%s)": "sum(names), ..."; empty: the bare names).
std::string CounterColumns(const std::string& wrap = "");
// "name N (scan M), ..." for each total that differs; empty if none.
std::string TotalsDiff(const StoreTotals& kept, const StoreTotals& scan);

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
  // GC safety (docs/scaleout.md, "Several servers"): the put's Op (its
  // epoch, which it began before its first dedup lookup, and its session:
  // a commit of a session gc has expelled fails). `refs` lists the
  // chunks the commit references without storing them (the chunks it
  // deduplicated against, the bases of its delta chunks); it is called only
  // when a gc doomed rows since `epoch`. The commit then keeps (or brings
  // back) every one of them, or fails with Unavailable, storing nothing, if
  // gc deleted one meanwhile (the client retries).
  int64_t epoch = -1;
  int64_t session = 0;
  std::function<void(std::vector<Digest>*)> refs;
};

// What can be rebuilt from the packs alone (`repair --reindex`): where every
// chunk and manifest frame lies, the bases of delta chunks, and the packs.
// Reads only; it changes through Metadata's commits, which also bind names.
class ChunkIndex {
 public:
  virtual ~ChunkIndex() = default;

  // Where a chunk lies, for reads: a row gc has doomed is still found.
  virtual Result<std::optional<Location>> FindChunk(uint32_t domain, const Digest& d) = 0;
  // FindChunk for d[0..n) in one read transaction (one snapshot): (*out)[i]
  // is d[i]'s location or nullopt. For reads that walk many chunks.
  // live_only (dedup lookups): a row gc has doomed is not found, so that a
  // put stores the chunk anew rather than reference what gc may delete.
  virtual Status FindChunks(uint32_t domain, const Digest* d, size_t n,
                            std::vector<std::optional<Location>>* out, bool live_only) = 0;
  Status FindChunks(uint32_t domain, const Digest* d, size_t n,
                    std::vector<std::optional<Location>>* out) {
    return FindChunks(domain, d, n, out, false);
  }
  Result<std::optional<Location>> FindLiveChunk(uint32_t domain, const Digest& d);
  virtual Status ForEachChunk(
      const std::function<void(const ChunkKey&, const Location&)>& fn) = 0;
  // The chunk rows of one pack, by offset (an index finds them): gc visits
  // the store a pack at a time, so its memory does not grow with the store.
  virtual Status ForEachChunkInPack(
      int64_t pack, const std::function<void(const ChunkKey&, const Location&)>& fn) = 0;
  // At most `limit` chunk rows in key order from the first after `after`
  // (null: from the first), each call a read of its own (ForEachDoomedAfter
  // says why): gc dooms a store's garbage in key order with it when there
  // is much, so that each page of the chunk table is written once.
  virtual Status ForEachChunkAfter(
      const ChunkKey* after, size_t limit,
      const std::function<void(const ChunkKey&, const Location&)>& fn) = 0;
  // Every (chunk, base) pair of the zstd-ref chunks (see PutCommit::bases).
  virtual Status ForEachChunkBase(
      const std::function<void(const ChunkKey&, const Digest&)>& fn) = 0;
  virtual Result<std::optional<ManifestRow>> FindManifest(uint32_t domain,
                                                          const Digest& manifest) = 0;
  virtual Result<std::optional<ManifestRow>> FindManifestByContent(uint32_t domain,
                                                                   const Digest& content) = 0;
  virtual Status ForEachManifest(const std::function<void(const ManifestRow&)>& fn) = 0;
  // Every row gc has doomed and not yet swept (gc.cc), with the epoch it
  // was doomed at.
  virtual Status ForEachDoomed(
      const std::function<void(const ChunkKey&, bool manifest, int64_t pack, int64_t epoch)>&
          fn) = 0;
  // Up to `limit` doomed rows of one table (the manifests' or the chunks'),
  // in key order from the first after `after` (null: from the first), each
  // with its pack and the epoch it was doomed at: gc sweeps a batch at a time
  // with it (its memory is a batch's, not the garbage's). Each call is a read
  // of its own, ended before it returns, so that none stays open across the
  // sweep's commits: a SQLite read kept open would keep the WAL from being
  // checkpointed, and it would grow by every page the sweep writes.
  virtual Status ForEachDoomedAfter(
      bool manifests, const ChunkKey* after, size_t limit,
      const std::function<void(const ChunkKey&, int64_t pack, int64_t epoch)>& fn) = 0;
  virtual Result<std::vector<PackRow>> ListPacks() = 0;
  virtual Result<std::optional<PackRow>> GetPack(int64_t id) = 0;

  // The chunk generation: a counter that advances whenever chunk rows are
  // added or removed, by any process. A persisted copy of a filter over the
  // chunk rows is current iff it was taken at the generation now stored.
  // WatchChunkGeneration() returns the current generation and starts a
  // watch; SoleChunkGeneration() then returns the current generation as long
  // as every change of chunk rows since the watch began was made through this
  // object (this process), and nullopt as soon as another process (another
  // Metadata object on the same database) changed them, until the next Watch.
  // Unsupported where the metadata is on a server (no filter there).
  //
  // Replacing a chunk row (a put storing a chunk anew) counts as a removal
  // and an addition; changes of a row's state (gc's doom marks) or location
  // (gc's moves) do not advance it. A CommitReindex through this object is
  // one of its own changes (the watch holds; the generation moves on). A
  // database made anew (`repair --reindex` recreating it) starts at a random
  // value, so a filter stamped by an older database never matches it by
  // chance.
  virtual Result<uint64_t> WatchChunkGeneration();
  virtual Result<std::optional<uint64_t>> SoleChunkGeneration();
};

// What cannot be rebuilt from the packs (back up the database for these):
// tenants and their dedup domains, names, buckets, multipart uploads, access
// keys, and the store's settings (meta). A reindex into an empty database
// brings back tenants and names from the manifests' hints, without attrs.
class Catalog {
 public:
  virtual ~Catalog() = default;

  virtual Result<std::string> GetMeta(const std::string& key) = 0;  // NotFound when absent
  virtual Status SetMeta(const std::string& key, const std::string& value) = 0;

  // The dedup domain of a tenant; with create, a new tenant gets a new domain.
  virtual Result<uint32_t> TenantDomain(const std::string& tenant, bool create) = 0;
  // Disaster recovery (reindex into a new database): binds `tenant` to the
  // domain its packs were written in. OK if already so bound; AlreadyExists,
  // naming both, if the tenant has another domain or the domain another tenant.
  virtual Status RestoreTenant(const std::string& tenant, uint32_t domain) = 0;

  // Creates a tenant in a new domain, with the key rows keys(domain) gives
  // (an encrypted tenant's id key and first data key; none for a plain
  // one), in one transaction: a tenant is never seen without its keys.
  // Key ids are assigned (one more than the greatest). AlreadyExists if the
  // tenant exists.
  using NewTenantKeys = std::function<Result<std::vector<KeyRow>>(uint32_t domain)>;
  virtual Result<uint32_t> CreateTenant(const std::string& tenant, const NewTenantKeys& keys) = 0;
  // Encryption keys. ListKeys: every row, by id. AddKey: a new data key of
  // an existing domain (its id assigned and returned). RewrapKeys (master
  // key rotation): every row's wrapped bytes, and the meta value
  // meta_key, replaced in one transaction; FailedPrecondition, changing
  // nothing, unless `rows` are exactly the table's rows (by id), so a key
  // added meanwhile is never left under the old master key. RestoreKeys
  // (reindex into a new database): inserts rows with their ids; OK for a
  // row already there with the same bytes, AlreadyExists for a different one.
  virtual Result<std::vector<KeyRow>> ListKeys() = 0;
  virtual Result<uint32_t> AddKey(const KeyRow& k) = 0;
  virtual Status RewrapKeys(const std::vector<KeyRow>& rows, const std::string& meta_key,
                            const std::string& meta_value) = 0;
  virtual Status RestoreKeys(const std::vector<KeyRow>& rows) = 0;
  // Retires data keys of a domain (deletes their rows) in one transaction;
  // never the domain's newest data key nor its id key (those ids are left).
  // *deleted: the ids that went.
  virtual Status RetireKeys(uint32_t domain, const std::vector<uint32_t>& ids,
                            std::vector<uint32_t>* deleted) = 0;

  virtual Result<std::optional<NameRow>> GetName(const std::string& tenant,
                                                 const std::string& bucket,
                                                 const std::string& key) = 0;
  // Names of a tenant whose "bucket/key" starts with prefix, ordered.
  virtual Result<std::vector<NameRow>> ListNames(const std::string& tenant,
                                                 const std::string& prefix) = 0;
  virtual Result<std::vector<NameRow>> NamesForManifest(const Digest& manifest) = 0;
  // A live name of the tenant whose content or manifest digest is d.
  virtual Result<std::optional<NameRow>> FindNameByDigest(const std::string& tenant,
                                                          const Digest& d) = 0;
  virtual Result<std::vector<NameRow>> AllNames() = 0;
  // Removes a name; NotFound if it is not there.
  virtual Status RemoveName(const std::string& tenant, const std::string& bucket,
                            const std::string& key) = 0;

  // Buckets. CreateBucket: AlreadyExists if it does; DeleteBucket: NotFound,
  // or FailedPrecondition while it holds names or uploads.
  virtual Status CreateBucket(const std::string& tenant, const std::string& bucket) = 0;
  virtual Status DeleteBucket(const std::string& tenant, const std::string& bucket) = 0;
  virtual Result<std::vector<BucketRow>> ListBuckets(const std::string& tenant) = 0;
  virtual Result<std::optional<BucketRow>> GetBucket(const std::string& tenant,
                                                     const std::string& bucket) = 0;
  // Names of one bucket with keys starting with prefix and greater than
  // `after`, in key (byte) order, at most limit.
  virtual Result<std::vector<NameRow>> ListKeys(const std::string& tenant,
                                                const std::string& bucket,
                                                const std::string& prefix,
                                                const std::string& after, size_t limit) = 0;
  // Replaces a name's attrs only. NotFound if there is no such name;
  // FailedPrecondition if `expect` is given and the name names another
  // manifest.
  virtual Status SetNameAttrs(const std::string& tenant, const std::string& bucket,
                              const std::string& key, const std::string& attrs,
                              const std::optional<Digest>& expect) = 0;

  virtual Status CreateUpload(const UploadRow& u) = 0;  // NotFound without its bucket
  virtual Result<std::optional<UploadRow>> GetUpload(const std::string& id) = 0;
  virtual Result<std::vector<UploadRow>> ListUploads(const std::string& tenant,
                                                     const std::string& bucket) = 0;
  virtual Result<std::vector<PartRow>> ListParts(const std::string& upload) = 0;
  virtual Status DeleteUpload(const std::string& id) = 0;  // NotFound if gone
  // Uploads created before `cutoff` (unix seconds): gc aborts them.
  virtual Result<std::vector<UploadRow>> UploadsBefore(int64_t cutoff) = 0;
  virtual Result<std::vector<std::pair<std::string, PartRow>>> AllParts() = 0;  // tenant, part

  // AlreadyExists if the id is taken.
  virtual Status AddAccessKey(const AccessKeyRow& k) = 0;
  virtual Result<std::optional<AccessKeyRow>> FindAccessKey(const std::string& id) = 0;
  virtual Result<std::vector<AccessKeyRow>> ListAccessKeys() = 0;
};

// One store's metadata: the index and the catalog in one database, and the
// transactions that change both at once (a put binds a name to rows it adds;
// gc drops rows no name holds). An implementation keeps both halves behind
// one connection discipline, so that those transactions are single ones.
class Metadata : public ChunkIndex, public Catalog {
 public:
  ~Metadata() override = default;

  // Opens (with create: creates) the metadata a store names: a SQLite file
  // path, or a postgresql:// URL (libpq's connection URI; the password comes
  // from PGPASSWORD or a passfile, never from the URL). create on a
  // PostgreSQL database that already holds a store's schema is
  // AlreadyExists.
  static Result<std::unique_ptr<Metadata>> Open(const std::string& where, bool create);
  static bool IsUrl(const std::string& where);

  // What this metadata is, for messages: the file path, or the URL without
  // credentials.
  virtual std::string Describe() const = 0;

  // Joins the store `store_uuid` in this metadata as one of its processes:
  // with `exclusive` the only one (Busy if another has it open), else one
  // of any number (Busy only while an exclusive one has it). SQLite:
  // nothing to do (the store directory's LOCK file makes this process the
  // only one). PostgreSQL: a session advisory lock, because two store
  // directories can name the same database; a store whose packs are local
  // (each directory its own) must be exclusive, one whose packs are in a
  // bucket is shared by several servers.
  virtual Status LockStore(const std::string& store_uuid, bool exclusive) = 0;

  virtual Status CommitPut(const PutCommit& c) = 0;
  // Group commit: the frames of every put in `puts` are in `shared` (their
  // locations name it as pack 0; their own `packs` are empty). One
  // transaction, each put in a savepoint of its own, so one put's failure (a
  // missing bucket) fails only that put: (*results)[i] is put i's. A non-OK
  // return is the transaction's own failure: nothing was committed.
  virtual Status CommitPuts(const SealedPack& shared, const std::vector<const PutCommit*>& puts,
                            std::vector<Status>* results) = 0;
  // Binds `to` to the manifest `from` names, in one transaction (no bytes
  // move). NotFound if `from` is gone; FailedPrecondition if `expect` is
  // given and `from` names another manifest now.
  virtual Result<NameRow> CopyName(const NameRow& from_key, NameRow to, bool require_bucket,
                                   const std::optional<Digest>& expect = std::nullopt) = 0;

  // GC (gc.cc; docs/scaleout.md, "Several servers"; SCALEOUT.md 3.5-3.6).
  //
  // Operations: a put (or any commit that references stored rows) runs as
  // an Op, begun before its first dedup lookup. It starts in the epoch this
  // process last saw; the process's session reports to every other (its
  // heartbeat) the epoch it has seen and the oldest epoch an Op of it still
  // runs in. The horizon is the least of those over the live sessions.
  //
  // A run collects in two steps: Doom marks unreferenced rows doomed at a
  // new epoch E (dedup lookups no longer find them), then, once the horizon
  // has reached E (every Op that may have looked a doomed row up before the
  // doom has ended), a second mark of the roots decides, and CommitSweep
  // deletes the doomed rows still unreferenced and brings back the others.
  // A commit whose Op began before a doom also checks the rows it references
  // (PutCommit::refs), bringing doomed ones back. Sessions whose heartbeat
  // stopped for longer than the TTL (both measured by the database's clock)
  // are expelled by gc: they drop out of the horizon, and their commits fail
  // (fencing), so a server that was paused cannot commit what gc collected.
  //
  virtual Result<int64_t> BeginGc() = 0;
  virtual void EndGc() = 0;
  virtual Result<int64_t> GcEpoch() = 0;
  // 'L' -> 'D' for each row that is live and still in the given pack, at a
  // new epoch: *epoch.
  virtual Status Doom(int64_t token, const std::vector<std::pair<ChunkKey, int64_t>>& chunks,
                      const std::vector<std::pair<ChunkKey, int64_t>>& manifests,
                      int64_t* epoch) = 0;
  // Expels the sessions whose heartbeat is older than the TTL (*expelled:
  // how many), then returns the horizon. Rows doomed at an epoch up to it
  // may be swept.
  virtual Result<int64_t> Horizon(uint64_t* expelled) = 0;
  // A pending pack: one this process is writing and has not committed yet.
  // Gc's orphan sweep leaves the objects of pending packs alone while their
  // session lives; a commit of a pack's row ends its pending state.
  virtual Status AddPendingPack(const std::string& name) = 0;
  virtual void RemovePendingPack(const std::string& name) = 0;
  // Every pending pack (any process's): true while its session lives. The
  // object of one whose session is gone is garbage at once (its commit
  // would be fenced).
  virtual Result<std::map<std::string, bool>> PendingPacks() = 0;

  // An operation in flight (see above). Ends when destroyed.
  class Op {
   public:
    Op(Op&& o) noexcept : m_(std::exchange(o.m_, nullptr)), epoch_(o.epoch_),
                          session_(o.session_), id_(o.id_) {}
    Op(const Op&) = delete;
    ~Op();
    int64_t epoch() const { return epoch_; }
    int64_t session() const { return session_; }

   private:
    friend class Metadata;
    Op(Metadata* m, int64_t epoch, int64_t session, uint64_t id)
        : m_(m), epoch_(epoch), session_(session), id_(id) {}
    Metadata* m_;
    int64_t epoch_, session_;
    uint64_t id_;
  };
  Op BeginOp();
  // Tuning of the sessions (tests shorten them: AS_TEST_HEARTBEAT_MS,
  // AS_TEST_SESSION_TTL_MS): how often a session reports, and how long one
  // may stay silent before gc expels it.
  static int64_t HeartbeatMillis();
  static int64_t SessionTtlMillis();
  struct Sweep {
    std::vector<ChunkKey> keep_chunks, drop_chunks;  // keep: 'D' -> 'L'
    std::vector<ChunkKey> keep_manifests, drop_manifests;
  };
  // Drops (deletes, with a chunk's bases) the given rows that are still
  // doomed, and brings back the kept ones. *dropped: how many went.
  virtual Status CommitSweep(int64_t token, const Sweep& s, uint64_t* dropped) = 0;

  // Moves live rows to rewritten packs and deletes packs, in one
  // transaction. A move applies only while the row still points into the
  // old pack (`from_pack`: a concurrent put may have re-stored the chunk); a
  // pack is deleted only if no row points into it any more
  // (*deleted: those that went; their files may then be removed).
  struct GcMove {
    ChunkKey key;
    int64_t from_pack = 0;
    Location to;  // to.pack = index into new_packs
  };
  struct GcCommit {
    std::vector<int64_t> dead_packs;
    std::vector<SealedPack> new_packs;
    std::vector<GcMove> moved_chunks;
    std::vector<GcMove> moved_manifests;
  };
  virtual Status CommitGc(int64_t token, const GcCommit& c, std::vector<int64_t>* deleted) = 0;

  // repair --reindex: replaces the chunk, manifest and pack tables (the
  // catalog is kept) in one transaction.
  struct Reindex {
    std::vector<SealedPack> packs;  // packs found on disk, with their names
    std::vector<std::pair<ChunkKey, Location>> chunks;  // pack = index into packs
    std::vector<std::pair<ChunkKey, Digest>> bases;     // of zstd-ref chunks
    std::vector<ManifestRow> manifests;                 // loc.pack = index into packs
  };
  virtual Status CommitReindex(const Reindex& r) = 0;

  virtual Result<StoreTotals> Totals() = 0;
  // The database's own check of itself: what it reports, empty when sound.
  // SQLite: PRAGMA quick_check (integrity_check when `thorough`); SQLite
  // keeps no checksums, so a damaged page that no other query reads (the
  // tenants, the names) is found only here. PostgreSQL: the cross-table
  // invariants (no row points at a missing pack); its pages are the
  // server's to check (data checksums, amcheck).
  virtual Result<std::vector<std::string>> CheckIntegrity(bool thorough) = 0;

  // Doomed rows that commits brought back, and commits that failed because
  // gc had deleted a row they referenced (PutCommit::refs), since open.
  uint64_t refs_resurrected() const { return resurrected_.load(std::memory_order_relaxed); }
  uint64_t refs_gone() const { return refs_gone_.load(std::memory_order_relaxed); }
  // Commits refused because this process's session had been expelled, and
  // sessions registered anew after that (PostgreSQL; 0 for SQLite).
  uint64_t commits_fenced() const { return fenced_.load(std::memory_order_relaxed); }
  uint64_t session_renewals() const { return expelled_.load(std::memory_order_relaxed); }

 protected:
  Metadata() = default;
  // Sets the epoch (and session) Ops begin in from now on, and returns the
  // oldest epoch of the Ops in flight, if any: one step, so that a
  // heartbeat that reports epoch e also reports every Op begun before it.
  std::optional<int64_t> SeeEpoch(int64_t epoch, int64_t session);
  // The oldest epoch of the Ops in flight, if any.
  std::optional<int64_t> OldestOp();
  // The failure of a commit whose reference d gc deleted meanwhile (counted).
  Status RefGone(const Digest& d);
  std::atomic<uint64_t> resurrected_{0}, refs_gone_{0}, fenced_{0}, expelled_{0};
  // CopyName's middle, the same for every implementation: FailedPrecondition
  // if `expect` is given and the source `src` (read in the copy's
  // transaction) names another manifest; else `to` takes src's manifest,
  // content, size (and attrs when it has none).
  Status TakeCopySource(const NameRow& src, const std::optional<Digest>& expect, NameRow* to);

 private:
  std::optional<int64_t> OldestOpLocked() const;  // under ops_mu_
  std::mutex ops_mu_;
  int64_t op_epoch_ = 0, op_session_ = 0;
  uint64_t next_op_ = 0;
  std::map<uint64_t, int64_t> ops_;  // id -> epoch
};

}  // namespace as
