// The store: a directory with packs, and metadata in a SQLite database there
// (the embedded default) or on a PostgreSQL server.
// Layout (docs/format/store.md):
//   <dir>/STORE         marker: format name and version
//   <dir>/CONFIG        where the metadata is, and the store's uuid
//   <dir>/LOCK          flock()ed by the process that has the store open
//   <dir>/metadata.db   SQLite (WAL), unless CONFIG names a server
//   <dir>/packs/hh/<id>.pack
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "artifact_store/store.h"
#include "index/metadata.h"
#include "pack/pack.h"
#include "store/chunk_filter.h"
#include "store/filter_file.h"
#include "store/compress_pipeline.h"
#include "store/keyring.h"
#include "store/manifest.h"
#include "store/manifest_cache.h"
#include "store/read_ahead.h"

namespace as {

inline constexpr const char* kStoreMarker = "STORE";
inline constexpr const char* kStoreMarkerText = "artifact-store 1\n";

// What a names row says of its artifact (no manifest read).
ArtifactInfo InfoFromName(const NameRow& n);

// The chunker identity kept in the metadata (meta table).
Status SaveChunkerParams(Metadata* m, const ChunkerParams& p);
Result<ChunkerParams> LoadChunkerParams(Metadata* m);

// n characters drawn uniformly from `alphabet` (size a power of two up to
// 64), from the kernel's CSPRNG (objects.cc).
Result<std::string> RandomText(size_t n, std::string_view alphabet);

// InvalidArgument unless t is a usable tenant name (1-64 of [A-Za-z0-9._-]).
Status CheckTenant(const std::string& t);

// Waits, a bounded time (two heartbeats and a second), for the horizon to
// reach `epoch`: every Op begun before it, on any server, has ended (gc.cc).
// *horizon: the last one read; *expelled gains the sessions expelled
// meanwhile. True when it was reached.
Result<bool> WaitForHorizon(Metadata* m, int64_t epoch, int64_t* horizon, uint64_t* expelled);

class StoreImpl final : public Store {
 public:
  static Result<std::unique_ptr<StoreImpl>> OpenImpl(const std::string& dir,
                                                     const StoreOptions& options);
  ~StoreImpl() override;

  Result<PutResult> Put(const ObjectName& name, const ByteSource& source,
                        const PutOptions& options) override;
  Result<ArtifactInfo> Stat(const std::string& tenant, const std::string& ref) override;
  Status Get(const std::string& tenant, const std::string& ref, const ByteSink& sink,
             std::optional<ByteRange> range, const Progress& progress) override;
  Result<std::vector<ArtifactInfo>> List(const std::string& tenant,
                                         const std::string& prefix) override;
  Status Remove(const ObjectName& name) override;
  Result<VerifyReport> Verify(bool full, const Progress& progress) override;
  Result<GcReport> Gc(const GcOptions& options, const Progress& progress) override;
  // One gc run (gc.cc, GcRun); rows_per_commit > 0: its dooms and sweeps
  // commit at most that many rows at a time. Gc runs another, deleting
  // only, when the first finds no room to commit, and spends the reserve if
  // even that cannot.
  Result<GcReport> GcPass(const GcOptions& options, const Progress& progress,
                          size_t rows_per_commit);
  // A delete-only pass on a full disk commits at most this many rows at a
  // time: about as many 4 KiB pages of SQLite log, 4 MiB, well inside the
  // 16 MiB reserve. (Tests set fewer.)
  size_t delete_rows_per_commit_ = 1024;
  // gc dooms and sweeps at most this many rows a commit, so that it holds a
  // batch of them, never all its garbage: 0 is gc.cc's default (65536, or
  // AS_TEST_GC_BATCH's). Tests set fewer.
  size_t gc_batch_rows_ = 0;
  Result<StoreStats> Stats() override;
  StoreCounters Counters() const override;  // group_commit.cc
  Status CheckHealth() override;            // store_open.cc
  Result<StoreSpace> Space() override;      // reserve.cc
  Result<ReindexReport> Reindex(const Progress& progress) override;

  Status GetFoundSpans(const std::string& tenant, const ArtifactInfo& info,
                       const SpanSink& sink, std::optional<ByteRange> range) override;
  Status GetFound(const std::string& tenant, const ArtifactInfo& info, const ByteSink& sink,
                  std::optional<ByteRange> range) override;
  Result<ArtifactInfo> Lookup(const ObjectName& name) override;
  Result<ArtifactInfo> LookupDigest(const std::string& tenant, const Digest& digest) override;
  Result<std::vector<ArtifactInfo>> ListBucket(const std::string& tenant,
                                               const std::string& bucket,
                                               const std::string& prefix,
                                               const std::string& after, size_t limit) override;
  Result<ArtifactInfo> Copy(const ObjectName& from, const ObjectName& to, const std::string& attrs,
                            bool require_bucket,
                            const std::optional<Digest>& if_manifest = std::nullopt) override;
  Status SetAttrs(const ObjectName& name, const std::string& attrs,
                  const std::optional<Digest>& if_manifest) override;
  Result<std::vector<uint8_t>> ManifestBytes(const std::string& tenant,
                                             const std::string& ref) override;
  Status CreateBucket(const std::string& tenant, const std::string& bucket) override;
  Status DeleteBucket(const std::string& tenant, const std::string& bucket) override;
  Result<std::vector<BucketInfo>> ListBuckets(const std::string& tenant) override;
  Result<BucketInfo> GetBucket(const std::string& tenant, const std::string& bucket) override;
  Result<UploadInfo> CreateUpload(const ObjectName& name, const std::string& attrs) override;
  Result<UploadInfo> GetUpload(const std::string& tenant, const std::string& id) override;
  Result<std::vector<UploadInfo>> ListUploads(const std::string& tenant,
                                              const std::string& bucket) override;
  Result<PartInfo> PutPart(const std::string& tenant, const std::string& id, uint32_t number,
                           const ByteSource& source, const PutOptions& options) override;
  Result<std::vector<PartInfo>> ListParts(const std::string& tenant,
                                          const std::string& id) override;
  Status AbortUpload(const std::string& tenant, const std::string& id) override;
  Result<PutResult> CompleteUpload(const std::string& tenant, const std::string& id,
                                   const std::vector<uint32_t>& parts,
                                   const std::string& attrs) override;
  Result<AccessKey> AddAccessKey(const std::string& tenant) override;
  Result<std::optional<AccessKey>> FindAccessKey(const std::string& id) override;
  Result<std::vector<AccessKey>> ListAccessKeys() override;
  Status CreateTenant(const std::string& tenant, bool encrypt) override;  // keys.cc
  Result<TenantInfo> GetTenant(const std::string& tenant) override;
  Result<uint32_t> RotateTenantKey(const std::string& tenant) override;
  Result<RetireReport> RetireTenantKeys(const std::string& tenant) override;
  Status RotateMasterKey(const std::string& new_key_file) override;

  const KernelTable& kernels() const override { return kernels_; }
  const ChunkerParams& chunker_params() const override { return chunker_.params(); }
  const std::string& dir() const override { return dir_; }

 private:
  StoreImpl(Env* env, std::string dir, const StoreOptions& o, const KernelTable& k,
            const Chunker& chunker);  // store_open.cc

  // A resolved reference: the manifest row, and the name row when named.
  struct Resolved {
    uint32_t domain = 0;
    ManifestRow manifest;
    std::optional<NameRow> name;
  };
  Result<Resolved> Resolve(const std::string& tenant, const std::string& ref);
  // The tenant's dedup domain; with create, a missing tenant is made
  // (encrypted when the store encrypts new tenants). keys.cc.
  Result<uint32_t> Domain(const std::string& tenant, bool create);
  // A frame's payload as its codec wrote it: `payload` itself for a plain
  // frame of a plain tenant; opened into *buf (and *info made to describe
  // it) for a sealed frame of an encrypted one. Anything else (a plain frame
  // in an encrypted tenant, a frame under another tenant's key, one that
  // does not authenticate) is Corruption: never decoded, never served.
  Result<const uint8_t*> OpenPayload(uint32_t domain, FrameInfo* info, const uint8_t* payload,
                                     std::vector<uint8_t>* buf);
  // What the catalog holds for content digest d (ManifestRow::content): d,
  // or in an encrypted tenant the keyed value of a plain BLAKE3 d.
  Result<Digest> CatalogDigest(uint32_t domain, const Digest& d);
  // A name's, upload's or part's attrs (the S3 layer's ETag, checksums,
  // metadata, tags) as the catalog keeps them: sealed under the tenant's
  // data key in an encrypted tenant (an MD5 or SHA-256 of the content would
  // tell what is stored), as given in another. OpenAttrs undoes it.
  Result<std::string> SealAttrs(const std::string& tenant, std::string attrs);
  Result<std::string> OpenAttrs(const std::string& tenant, const std::string& attrs);
  // Rows as the API returns them, attrs opened.
  Result<ArtifactInfo> Info(const NameRow& n);
  Result<UploadInfo> InfoFromUpload(const UploadRow& u);
  Result<PartInfo> InfoFromPart(const std::string& tenant, const PartRow& p);
  // A chunk's or manifest's id in the domain: keyed BLAKE3 when encrypted.
  Result<Digest> IdOf(uint32_t domain, const void* p, size_t n);
  // Get's body once the artifact is resolved; `ref` names it in errors.
  // GetFound and GetFoundSpans (in_place: see ReadArtifact).
  Status ReadFound(const std::string& tenant, const ArtifactInfo& info, const SpanSink& sink,
                   std::optional<ByteRange> range, bool in_place);
  Status GetResolved(const Resolved& r, const std::string& ref, const SpanSink& sink,
                     std::optional<ByteRange> range, const Progress& progress,
                     bool in_place = false);
  // Reads the bytes manifest m lists (range: all of them when nullopt).
  // in_place: raw chunks are checked in the page cache and handed to the sink
  // as file spans without data (see SpanSink).
  Status ReadArtifact(uint32_t domain, const Manifest& m, const std::string& ref,
                      const SpanSink& sink, std::optional<ByteRange> range,
                      const Progress& progress, bool in_place = false);
  // Fills in what a put binds once its manifest is known (a name, a part).
  using BindFn =
      std::function<void(PutCommit*, const ManifestRow&, int64_t created, std::string attrs)>;
  Result<PutResult> Ingest(const std::string& tenant, const std::string& name_hint,
                           const ByteSource& source, const PutOptions& options, const BindFn& bind);
  // Writes a manifest frame into a new pack of its own and commits it with
  // what `bind` adds (CompleteUpload).
  // op: begun before the parts' manifests were read (PutCommit::epoch).
  Result<ManifestRow> CommitManifest(uint32_t domain, const Manifest& m, const BindFn& bind,
                                     uint64_t* stored_bytes, const Metadata::Op& op);
  // PutCommit::refs for a put of manifest m: the chunks it lists and the
  // bases of c's delta chunks, less those c stores.
  static void ListRefs(const Manifest& m, const PutCommit& c, std::vector<Digest>* out);
  class PutTxn;       // put_txn.h
  class GcRun;        // gc.cc
  class GroupCommit;  // put_txn.h
  Result<Manifest> LoadManifest(const ManifestRow& row);
  // LoadManifest through the manifest cache (reads: get, stat, complete).
  Result<std::shared_ptr<const Manifest>> CachedManifest(const ManifestRow& row);
  // The manifest's canonical CBOR, checked against its digest.
  Result<std::vector<uint8_t>> LoadManifestBytes(const ManifestRow& row);
  Result<std::shared_ptr<PackReader>> Reader(int64_t pack_id);
  // Counts bytes checked in place (mapped) and bounds the RSS they hold.
  void NoteMappedRead(uint64_t bytes);
  void ForgetReader(int64_t pack_id);
  // Reads, checks and decodes one chunk into slot: slot->data/n point at its
  // raw bytes, inside slot->frame for a raw frame (no copy, and the file span
  // is set), else inside slot->scratch. With slot->in_place, a raw frame is
  // checked where it lies in the pack and only its file span is set (data
  // null).
  // `hint`: its location if already looked up (the index is asked again
  // only if the hint has gone stale).
  Status ReadChunk(uint32_t domain, const Digest& d, ReadAhead::Slot* slot,
                   const Location* hint = nullptr);
  // Delta chunks (delta.cc). A put's cursor: where the chunk that followed
  // the last one found stored lies (pack, offset; lengths unknown).
  struct DeltaCursor {
    std::optional<Location> next;
  };
  // The bases for new chunk d of n bytes met at the cursor, live, read and
  // checked, none of them a delta chunk or d itself; null when there are
  // none. Moves the cursor on.
  Result<std::shared_ptr<const DeltaBase>> FindDeltaBase(uint32_t domain, const Digest& d,
                                                         size_t n,
                                                         DeltaCursor* cursor);
  // DecodeFramePayload, reading a zstd-ref chunk's bases from the index
  // (depth: see ReadAhead::Slot::base_depth).
  Status DecodeChunk(uint32_t domain, const FrameInfo& info, const uint8_t* payload,
                     uint8_t* dst, int depth = 0);
  static constexpr int kMaxBaseDepth = 4;
  // A put looks the chunks its filter may hold up this many at a time, or
  // fewer when their bytes (held until then) reach kLookupBatchBytes:
  // SCALEOUT.md measured 1000 keys in one PostgreSQL query at 7-10 ms, one
  // key alone at about 0.1 ms.
  static constexpr size_t kLookupBatch = 256;
  static constexpr size_t kLookupBatchBytes = 16 << 20;
  // Reindex into a new database: tenants back from the name hints (reindex.cc).
  Status RestoreTenants(const std::vector<Manifest>& manifests,
                        const std::vector<ManifestRow>& rows, const std::set<uint32_t>& domains,
                        ReindexReport* rep);
  ArtifactInfo InfoFrom(const Resolved& r, const Manifest& m);
  Result<std::unique_ptr<PackWriter>> NewPackWriter(uint32_t domain, bool small = false);
  // Extra threads for a put's compression or a get's read-ahead: the spare
  // CPUs, less one per other put or get in progress.
  int Workers() const;
  // Counts a put or get in progress for Workers().
  struct ActiveOp {
    explicit ActiveOp(std::atomic<int>* n) : n_(n) { n_->fetch_add(1, std::memory_order_relaxed); }
    ~ActiveOp() { n_->fetch_sub(1, std::memory_order_relaxed); }
    std::atomic<int>* n_;
  };
  // A pack NewPackWriter began is committed or abandoned: no longer pending
  // (Metadata::AddPendingPack).
  void PackDone(const std::string& name);

  Env* env_;
  std::string dir_;
  std::unique_ptr<PackStore> packs_;  // where the packs are (CONFIG)
  StoreOptions options_;
  KernelTable kernels_;
  Chunker chunker_;
  uint64_t pack_target_size_ = format::kDefaultPackTargetSize;
  bool metadata_recreated_ = false;  // Reindex takes the chunker from the manifests
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<Metadata> meta_;
  std::unique_ptr<Keyring> keyring_;
  ChunkFilter filter_;
  // The filter's life (filter_keeper.cc): StartFilter before the first
  // commit that adds or removes chunk rows (a put, a gc) begins watching the
  // chunk generation and loads the filter on a thread; StopFilter (at
  // close) ends the thread and writes what the files lack.
  void StartFilter();
  void StopFilter();
  void FilterMain();
  Status RebuildFilter();
  // Writes the keys added since the files' end as a log, or a new base
  // (`base`, or when the logs have grown past a quarter of the base). Skips
  // (OK) while a commit is in flight or when another process changed rows.
  Status PersistFilter(bool base);
  std::unique_ptr<FilterFiles> filter_files_;
  std::mutex filter_mu_;  // the members below
  std::condition_variable filter_cv_;
  std::thread filter_thread_;
  bool filter_started_ = false;
  bool filter_stop_ = false;
  std::atomic<bool> filter_stopping_{false};  // cuts a load from the files short
  uint64_t filter_watch_ = 0;
  // The generation the files reach while they are current with what this
  // process changed (the keys since are ChunkFilter::TakeAdded's).
  std::optional<uint64_t> filter_files_end_;
  uint64_t filter_base_keys_ = 0, filter_log_keys_ = 0;
  std::atomic<uint64_t> filter_loads_{0}, filter_rebuilds_{0};  // for Counters()
  ManifestCache manifests_{256 << 10};  // about 10 MB of chunk references

  // Puts hold it shared while committing; reindex holds it exclusive. (GC
  // needs it not: Metadata::Doom.)
  std::shared_mutex commit_mu_;
  std::mutex gc_mu_;  // one GC at a time

  std::mutex readers_mu_;
  std::map<int64_t, std::shared_ptr<PackReader>> readers_;
  std::atomic<uint64_t> mapped_since_release_{0};  // see NoteMappedRead

  // Where chunks were last found: hints that spare a small get its index
  // query. A hint may be stale (gc moved the chunk); it is safe because a
  // frame names its chunk and carries a CRC, so a read through a stale hint
  // either finds that very chunk or fails and asks the index.
  std::mutex hints_mu_;
  std::unordered_map<Digest, std::pair<uint32_t, Location>, DigestHash> hints_;
  std::optional<Location> Hint(uint32_t domain, const Digest& d);
  void RememberHint(uint32_t domain, const Digest& d, const Location& loc);

  std::atomic<int> active_ops_{0};
  std::atomic<uint64_t> delta_chunks_{0};  // committed; for Counters()


  std::unique_ptr<GroupCommit> group_;  // small puts' shared commits

  // The reserve (StoreOptions::reserve_bytes; reserve.cc). KeepReserve makes
  // the file if it is missing (with twice its size free) or replaces it when
  // released or of another size (with four times); ReleaseReserve deletes
  // it: true if there was one to delete.
  std::mutex reserve_mu_;
  void KeepReserve();
  bool ReleaseReserve();
  // Runs `op`, a metadata change that makes room (a remove, an abort); if it
  // fails for want of room, spends the reserve and runs it once more.
  Status SpendingReserveIfFull(const std::function<Status()>& op);

  // Tests: called by a gc run, on its thread, with "marked" after its first
  // mark of the roots (before it dooms manifests), "listed" once it has
  // chosen the packs that go (before it lists their rows and dooms them,
  // a batch at a time), and "doomed" after each round's last doom (before
  // it waits for the horizon).
  std::function<void(const std::string& where)> gc_hook_;
  // Tests: called by a put after its lookups and packs, before its commit
  // (where TestPause("put-before-commit") holds one in another process).
  std::function<void()> put_hook_;

  friend class StoreTestPeer;
};

}  // namespace as
