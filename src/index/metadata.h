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

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
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

// What can be rebuilt from the packs alone (`repair --reindex`): where every
// chunk and manifest frame lies, the bases of delta chunks, and the packs.
// Reads only; it changes through Metadata's commits, which also bind names.
class ChunkIndex {
 public:
  virtual ~ChunkIndex() = default;

  virtual Result<std::optional<Location>> FindChunk(uint32_t domain, const Digest& d) = 0;
  // FindChunk for d[0..n) in one read transaction (one snapshot): (*out)[i]
  // is d[i]'s location or nullopt. For reads that walk many chunks, and for
  // puts whose filter holds no keys.
  virtual Status FindChunks(uint32_t domain, const Digest* d, size_t n,
                            std::vector<std::optional<Location>>* out) = 0;
  virtual Status ForEachChunk(
      const std::function<void(const ChunkKey&, const Location&)>& fn) = 0;
  // Every (chunk, base) pair of the zstd-ref chunks (see PutCommit::bases).
  virtual Status ForEachChunkBase(
      const std::function<void(const ChunkKey&, const Digest&)>& fn) = 0;
  virtual Result<std::optional<ManifestRow>> FindManifest(uint32_t domain,
                                                          const Digest& manifest) = 0;
  virtual Result<std::optional<ManifestRow>> FindManifestByContent(uint32_t domain,
                                                                   const Digest& content) = 0;
  virtual Status ForEachManifest(const std::function<void(const ManifestRow&)>& fn) = 0;
  virtual Result<std::vector<PackRow>> ListPacks() = 0;
  virtual Result<std::optional<PackRow>> GetPack(int64_t id) = 0;
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

  // Makes this process the only one using the store `store_uuid` in this
  // metadata, until it closes: Busy if another holds it. SQLite: nothing to
  // do (the store directory's LOCK file and SQLite's exclusive lock already
  // do it). PostgreSQL: a session advisory lock, because two store
  // directories can name the same database. (Several servers on one store
  // need scale-out part 2's sessions and epochs instead.)
  virtual Status LockStore(const std::string& store_uuid) = 0;

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
  virtual Status CommitGc(const GcCommit& c) = 0;

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

 protected:
  Metadata() = default;
  // Records r while the root log is on (called by commits that bind roots).
  void LogRoot(BoundRoot r);
  // CopyName's middle, the same for every implementation: FailedPrecondition
  // if `expect` is given and the source `src` (read in the copy's
  // transaction) names another manifest; else `to` takes src's manifest,
  // content, size (and attrs when it has none) and is logged as a root.
  Status TakeCopySource(const NameRow& src, const std::optional<Digest>& expect, NameRow* to);

 private:
  std::mutex root_log_mu_;
  bool root_log_on_ = false;
  std::vector<BoundRoot> root_log_;
};

}  // namespace as
