// artifact-store: the public C++ API of the embedded store.
//
// A store is a directory holding packs (immutable files of self-verifying
// frames) and a SQLite metadata database. Bytes put into it are cut by
// FastCDC 2020, addressed by BLAKE3, deduplicated within the tenant,
// compressed, framed with CRC-32C and appended to packs; a canonical-CBOR
// manifest records each artifact (docs/format/).
//
// Guarantees:
//  - Put() returns only after every byte the artifact depends on is fsynced
//    and the metadata transaction that names it has committed.
//  - Get() never hands the sink a byte of a chunk whose frame failed its
//    CRC-32C or decoded to the wrong length; it stops with Corruption before.
//  - One process at a time: Open() takes an exclusive lock on the directory
//    and fails with Code::kBusy ("store is in use by pid N") otherwise.
//    Within that process every method may be called from several threads.
//  - Errors name what they are about: file, digest, name, byte offset.
//
//   auto store = Store::Open("./data", {.create_if_missing = true});
//   auto put = (*store)->Put({"default", "builds", "app.tar"}, FileSource(fd));
//   Status s = (*store)->Get("builds/app.tar", sink);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/digest.h"
#include "base/env.h"
#include "base/status.h"
#include "chunking/fastcdc.h"
#include "codec/codec.h"
#include "kernels/kernels.h"

namespace as {

inline constexpr const char* kDefaultTenant = "default";

// tenant -> bucket -> key (DESIGN contract 7). Text form "bucket/key": the
// bucket is everything before the first '/'.
struct ObjectName {
  std::string tenant = kDefaultTenant;
  std::string bucket;
  std::string key;

  // Parses "bucket/key" (both non-empty; no NUL bytes).
  static Result<ObjectName> Parse(const std::string& text,
                                  const std::string& tenant = kDefaultTenant);
  std::string ToString() const { return bucket + "/" + key; }
};

// What Get, Stat and the CLI take as an artifact reference: a digest
// ("blake3:<hex>": a ':' and no '/') or a name ("bucket/key").
inline bool IsDigestRef(const std::string& ref) {
  return ref.find(':') != std::string::npos && ref.find('/') == std::string::npos;
}

struct StoreOptions {
  bool create_if_missing = false;
  // Chunker for a NEW store; an existing store keeps the parameters it was
  // created with, so cut points (and dedup) stay stable.
  ChunkerParams chunker;
  CodecId codec = CodecId::kZstd;  // default codec of Put()
  int zstd_level = kDefaultZstdLevel;
  // Delta chunks: a new chunk met right after chunks the store already holds
  // (an edited region of a file stored before) is compressed against the
  // stored chunks that followed them, when that saves at least an eighth
  // over plain compression (codec zstd-ref; docs/architecture.md). Reading
  // such a chunk reads its bases too.
  bool delta = true;
  // Packs are sealed when they reach about this size. Set at creation and
  // kept by the store; a value here overrides it for this process only.
  std::optional<uint64_t> pack_target_size;
  // Extra threads a put uses to compress new chunks (the caller chunks and
  // hashes) and a get uses to read and decode ahead (the caller helps and
  // emits in order). nullopt = one per extra CPU this process may use
  // (sched_getaffinity), so `taskset -c 1` gives single-threaded puts/gets.
  std::optional<int> compress_workers;
  // Caps the kernel tier (e.g. to test portable paths); nullopt = best the
  // CPU has. Asking for a tier the CPU lacks is InvalidArgument.
  std::optional<CpuTier> cpu_tier;
  Env* env = nullptr;  // nullptr = Env::Default()
  // For repair: if the store's metadata.db is missing, create an empty one
  // instead of failing; Reindex() then rebuilds it (chunker parameters from
  // the manifests, names from their hints). Without this, a missing database
  // is an error that says to run `repair --reindex`.
  bool recreate_missing_metadata = false;
  // Where a NEW store keeps its metadata: empty = DIR/metadata.db (SQLite,
  // the embedded default), or a postgresql:// URL (libpq's URI, without a
  // password: libpq reads PGPASSWORD or a passfile). Kept in DIR/CONFIG, so
  // an existing store opens with its own and ignores this.
  std::string metadata;
  // Where a NEW store keeps its packs: empty = DIR/packs (the default), or
  // s3://BUCKET[/PREFIX] on the S3-compatible server at s3_endpoint
  // (http[s]://host[:port]), the bucket made if missing. Credentials come
  // from the 0600 file s3_credentials (AWS's INI form) when set, else from
  // AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. All three are kept in
  // DIR/CONFIG (the file's path, never the keys).
  std::string packs, s3_endpoint, s3_credentials;
  // Room kept for freeing room: a file (DIR/RESERVE) of this many bytes.
  // On a file system full to the last block even `rm` fails (the metadata
  // database cannot write its log); then Remove and Gc delete the reserve
  // and try again. It is made again (at open, or after a gc) once the file
  // system has four times its size free. A reserve of another size (the
  // setting changed) is replaced at open when there is room for the new one.
  // 0: the store keeps none and leaves any DIR/RESERVE as it is (the CLI and
  // `serve` keep 16 MiB; `--reserve 0` deletes it).
  uint64_t reserve_bytes = 0;
  // Encryption at rest (docs/format/encryption.md). The master key file (32
  // random bytes, mode 0600) that wraps the tenants' keys: needed to open a
  // store with encrypted tenants, and to make one. `encrypt` (a NEW store):
  // every tenant, `default` among them, is made encrypted.
  std::string master_key_file;
  bool encrypt = false;
  // Without master_key_file, open a store with encrypted tenants anyway,
  // for what needs no key: `verify` without --full checks every frame's
  // CRC-32C. Anything that must open an encrypted tenant's frame or value
  // then fails, naming the missing key; plain tenants work as usual.
  bool allow_without_master_key = false;
  // The dedup filter (docs/index-at-scale.md) of a store whose metadata is
  // in the directory: it is loaded in the background on the first put or
  // gc, from DIR/filter when those files are current. With keep_filter (a
  // long-running process: `serve`) it is loaded at open, rebuilt from the
  // index when the files are missing or stale, and written out as it
  // changes; without, a stale filter is left for such a process to rebuild
  // and puts ask the index meanwhile (in batches).
  bool keep_filter = false;
};

// Pulls bytes: fills buf[0..cap) and returns how many, 0 at end of input.
using ByteSource = std::function<Result<size_t>(uint8_t* buf, size_t cap)>;
// Receives output bytes in order; an error stops the operation.
using ByteSink = std::function<Status(const uint8_t* data, size_t n)>;
// Where bytes handed to a SpanSink also lie, verbatim, in an open file.
struct FileSpan {
  int fd = -1;
  uint64_t offset = 0;
};
// A ByteSink for servers that send from files with sendfile(2). For a chunk
// stored raw (neither compressed nor encrypted) it gets `file`: where the bytes
// lie verbatim, valid during the call. Then `data` is null where the store
// checked the frame's CRC in place, in the page cache, without copying it out
// (chunks of 32 KiB and more): the sink sends [file->offset, +n) of file->fd,
// or reads it there. Otherwise `data` holds the n bytes.
using SpanSink = std::function<Status(const uint8_t* data, size_t n, const FileSpan* file)>;
// Progress callback: bytes done so far (total, when known, is passed once at
// start by the caller's own means).
using Progress = std::function<void(uint64_t done)>;

struct PutOptions {
  std::optional<CodecId> codec;  // nullopt = the store's default
  std::optional<int> zstd_level;  // nullopt = the store's default (kDefaultZstdLevel)
  std::optional<bool> delta;      // nullopt = the store's default (StoreOptions::delta)
  Progress progress;
  // Called once the source has ended, before anything is committed. What it
  // returns is kept with the name (opaque to the store: the S3 layer keeps the
  // ETag, content type and user metadata there). An error aborts the put and
  // nothing is committed, so a body that fails its checksum is never stored.
  std::function<Result<std::string>()> finish;
  // Sees every byte of the source once, in order, all before `finish` is
  // called: for digests the caller keeps (the S3 layer's MD5 ETag and
  // checksums). It may be called on another thread than Put's, while the
  // source is still being read (never two calls at once), so that with a
  // spare CPU this pass runs beside the put's own cutting and hashing.
  std::function<void(const uint8_t* data, size_t n)> observe;
  // NotFound("bucket ...") unless the bucket exists, checked in the commit
  // (S3 semantics). Without it a put creates its bucket (CLI semantics).
  bool require_bucket = false;
  // Bytes the source is expected to give, when known (0: unknown). Only sizes
  // the read buffer: a source that gives more or fewer is still read whole.
  uint64_t size_hint = 0;
};

struct PutResult {
  Digest content;   // plain BLAKE3 of the bytes: `b3sum` agrees
  Digest manifest;  // BLAKE3 of the manifest's canonical CBOR
  uint64_t size = 0;
  uint64_t chunks = 0;
  uint64_t new_chunks = 0;    // chunks not already in the store
  uint64_t new_bytes = 0;     // raw bytes of those
  uint64_t delta_chunks = 0;  // of them, stored against bases (zstd-ref)
  uint64_t stored_bytes = 0;  // bytes written to packs (frames, manifest)
};

// Byte range, inclusive, like HTTP: "first-last", or "first-" to the end.
struct ByteRange {
  uint64_t first = 0;
  std::optional<uint64_t> last;
  static Result<ByteRange> Parse(const std::string& text);  // "0-99", "100-"
};

struct ArtifactInfo {
  std::optional<ObjectName> name;  // set when looked up by name
  uint64_t version = 0;
  Digest content, manifest;
  uint64_t size = 0;
  uint64_t chunks = 0;
  uint64_t stored_bytes = 0;  // frame bytes of its distinct chunks
  ChunkerParams chunker;
  std::string chunker_name, gear_table;
  int64_t created = 0;
  std::string attrs;  // what PutOptions::finish returned (names only)
};

struct BucketInfo {
  std::string name;
  int64_t created = 0;
};

// A multipart upload: parts are stored (and deduplicated) as they arrive;
// completing binds the name to one manifest listing every part's chunks.
struct UploadInfo {
  std::string id;
  ObjectName name;
  std::string attrs;
  int64_t created = 0;
};

struct PartInfo {
  uint32_t number = 0;
  Digest content, manifest;
  uint64_t size = 0;
  std::string attrs;
  int64_t created = 0;
};

struct TenantInfo {
  std::string name;
  bool encrypted = false;
  uint32_t keys = 0;        // data keys (encrypted tenants)
  uint32_t current_key = 0; // the one new frames use
};

struct RetireReport {
  std::vector<uint32_t> retired;
  // Older keys kept, each with why: frames or values still sealed under it,
  // or newer keys too recent.
  std::vector<std::pair<uint32_t, std::string>> kept;
};

// Credentials of a tenant (S3 access key id and secret).
struct AccessKey {
  std::string tenant, id, secret;
  int64_t created = 0;
};

struct BadFrame {
  std::string pack;    // pack name (32 hex digits)
  uint64_t offset = 0;
  Digest digest;
  std::string problem;
  std::vector<std::string> broken_names;  // "bucket/key" that depend on it
};

struct VerifyReport {
  uint64_t packs = 0, frames = 0, bytes = 0, manifests = 0;
  bool full = false;
  std::vector<BadFrame> bad;
  std::vector<std::string> problems;  // store-level: missing packs, index rows, ...
  bool ok() const { return bad.empty() && problems.empty(); }
};

struct GcOptions {
  bool dry_run = false;
  // Packs whose live share of bytes is under this are rewritten.
  double rewrite_threshold = 0.5;
  // Packs smaller than this (many small puts each seal their own) are merged:
  // the live frames of all of a domain's small packs, and of the sparse ones,
  // are copied into packs of the store's target size. Unset: a quarter of the
  // target size; 0: no merging. A domain with one small pack is left alone.
  std::optional<uint64_t> merge_below;
  // Unreferenced pack files younger than this are left alone: they may
  // belong to a put that has not committed yet.
  int64_t grace_seconds = 3600;
  // Multipart uploads started longer ago than this are aborted (their parts
  // stop being GC roots).
  int64_t upload_grace_seconds = 86400;
  // `rekey`: this encrypted tenant's packs holding any frame sealed under an
  // older data key are rewritten too, every frame of theirs sealed anew
  // under the tenant's newest key (FailedPrecondition for a plain tenant).
  std::string rekey_tenant;
};

struct GcReport {
  uint64_t live_chunks = 0, dead_chunks = 0, dead_manifests = 0;
  uint64_t packs_deleted = 0, packs_rewritten = 0, orphan_files_deleted = 0;
  uint64_t packs_merged = 0;   // of packs_rewritten, those taken for being small
  uint64_t packs_written = 0;  // new packs the rewritten ones' live frames went to
  uint64_t uploads_expired = 0;
  // Rows this run doomed that a commit (on any server) referenced before its
  // second mark, and so kept: the race gc is built for, seen happening.
  uint64_t resurrected = 0;
  // Doomed rows left for a later run because a put that began before their
  // doom was still running (on any server) when this run gave up waiting,
  // and by how many epochs the horizon lagged behind the last doom.
  uint64_t doomed_waiting = 0;
  int64_t horizon_lag = 0;
  // Servers whose heartbeat had stopped for longer than the session TTL,
  // expelled by this run: their uploads and unfinished packs are removed.
  uint64_t sessions_expelled = 0;
  uint64_t bytes_reclaimed = 0;  // pack bytes freed (net of rewritten copies)
  uint64_t bytes_copied = 0;
  // rekey: frames opened and sealed again under the newest key, and the
  // packs taken for holding older ones.
  uint64_t frames_rekeyed = 0, packs_rekeyed = 0;
  uint64_t values_rekeyed = 0;  // names' attrs (ETag, checksums, metadata) sealed anew
  bool dry_run = false;
  // Set when the file system had no room for the copies of rewritten and
  // merged packs: only packs with no live frame were deleted (they need no
  // copy), and this says why the rest was left for a later gc.
  std::string rewrites_skipped;
  // The file system was full to the last block: gc deleted the store's
  // reserve (StoreOptions::reserve_bytes) to be able to commit.
  bool reserve_released = false;
  // How long the run took, and each of its phases in order: uploads,
  // manifests (their mark, doom and sweep), mark (the chunks': the packs
  // that go), doom (their rows, and the wait for the horizon), sweep (the
  // second mark and the deletes), rewrite, orphans, rekey (names' attrs).
  double seconds = 0;
  std::vector<std::pair<std::string, double>> phase_seconds;
};

struct StoreStats {
  uint64_t logical_bytes = 0;  // sum of live artifact sizes
  uint64_t names = 0, manifests = 0;
  uint64_t unique_chunks = 0;
  uint64_t unique_bytes = 0;  // raw bytes of distinct chunks
  uint64_t stored_bytes = 0;  // frame bytes of those chunks in packs
  uint64_t packs = 0, pack_bytes = 0;
  // Where the metadata is: its SQLite file, or its PostgreSQL URL.
  std::string metadata;
  // Where the packs are: DIR/packs, or s3://bucket/prefix (endpoint).
  std::string packs_at;
  double dedup_ratio() const { return unique_bytes ? double(logical_bytes) / unique_bytes : 1.0; }
  double compression_ratio() const {
    return stored_bytes ? double(unique_bytes) / stored_bytes : 1.0;
  }
};

// What this process has done since it opened the store (for /metrics).
struct StoreCounters {
  uint64_t group_commits = 0;         // shared-pack commits of small puts
  uint64_t group_committed_puts = 0;  // puts they committed (over commits: the group size)
  uint64_t delta_chunks = 0;          // new chunks committed as delta chunks (zstd-ref)
  // Several servers on one store (docs/scaleout.md):
  uint64_t refs_resurrected = 0;  // doomed rows a commit of this process brought back
  uint64_t refs_gone = 0;         // commits refused: a row they referenced was collected
  uint64_t commits_fenced = 0;    // commits refused: gc had expelled this process's session
  uint64_t session_renewals = 0;  // times this process found its session expelled
  // The dedup filter (docs/index-at-scale.md): loaded from its files or
  // rebuilt from the index; keys and memory while ready (0 otherwise).
  uint64_t filter_ready = 0;
  uint64_t filter_loads = 0, filter_rebuilds = 0;
  uint64_t filter_keys = 0, filter_bytes = 0;
};

// The file system the store lives on, and the store's reserve on it.
struct StoreSpace {
  uint64_t fs_size_bytes = 0;
  uint64_t fs_free_bytes = 0;  // available to the store's process (statvfs f_bavail)
  uint64_t reserve_bytes = 0;  // DIR/RESERVE's size: 0 while spent, or when none is kept
};

struct ReindexReport {
  uint64_t packs = 0, chunks = 0, manifests = 0;
  std::vector<std::string> skipped;  // pack files that did not verify, and why
  std::vector<std::string> dangling_names;  // names whose manifest is gone
  // Database lost: tenants brought back from the manifests' name hints (their
  // access keys are not: `tenant add NAME` issues new ones), and what could
  // not be, with why.
  std::vector<std::string> tenants_restored;
  std::vector<std::string> tenants_unrestored;
};

class Store {
 public:
  virtual ~Store() = default;

  // Opens (or with create_if_missing creates) the store in `dir`. A missing
  // directory, or one that is not a store, is NotFound / InvalidArgument
  // with a message saying which.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const StoreOptions& options);

  virtual Result<PutResult> Put(const ObjectName& name, const ByteSource& source,
                                const PutOptions& options = {}) = 0;

  // `ref` is "bucket/key" or a digest "blake3:<hex>" (content or manifest).
  virtual Result<ArtifactInfo> Stat(const std::string& tenant, const std::string& ref) = 0;
  virtual Status Get(const std::string& tenant, const std::string& ref, const ByteSink& sink,
                     std::optional<ByteRange> range = std::nullopt,
                     const Progress& progress = nullptr) = 0;
  // Names whose "bucket/key" starts with prefix, in order.
  virtual Result<std::vector<ArtifactInfo>> List(const std::string& tenant,
                                                 const std::string& prefix) = 0;
  virtual Status Remove(const ObjectName& name) = 0;

  // CRC of every frame; with full, BLAKE3 of every chunk and every manifest
  // decoded and checked against the index.
  virtual Result<VerifyReport> Verify(bool full, const Progress& progress = nullptr) = 0;
  virtual Result<GcReport> Gc(const GcOptions& options, const Progress& progress = nullptr) = 0;
  virtual Result<StoreStats> Stats() = 0;
  virtual StoreCounters Counters() const = 0;
  // Whether the metadata and the packs answer: OK, or the first error.
  virtual Status CheckHealth() = 0;
  // Room on the store's file system (so a full disk can be seen coming) and
  // the reserve kept for freeing it (StoreOptions::reserve_bytes).
  virtual Result<StoreSpace> Space() = 0;
  // Rebuilds the chunk, manifest and pack index from the packs alone. Names
  // are kept; if there are none (a lost database), they are restored from the
  // manifests' name hints, newest first.
  virtual Result<ReindexReport> Reindex(const Progress& progress = nullptr) = 0;

  // The name's row alone (size, digests, version, created, attrs): no
  // manifest read, so cheap enough for every S3 HEAD and GET.
  virtual Result<ArtifactInfo> Lookup(const ObjectName& name) = 0;
  // Get for a caller that has just found `info` with Lookup or LookupDigest:
  // reads its manifest directly instead of resolving the reference again
  // (one index lookup less on every S3 GET). NotFound if it was removed and
  // collected meanwhile. Same checks as Get.
  virtual Status GetFound(const std::string& tenant, const ArtifactInfo& info,
                          const ByteSink& sink, std::optional<ByteRange> range) = 0;
  // GetFound for a sink that can send from files (see SpanSink).
  virtual Status GetFoundSpans(const std::string& tenant, const ArtifactInfo& info,
                               const SpanSink& sink, std::optional<ByteRange> range) = 0;
  // The same for a content or manifest digest: a live name of the tenant
  // holding it (which one, when several do, is unspecified).
  virtual Result<ArtifactInfo> LookupDigest(const std::string& tenant, const Digest& digest) = 0;
  // One page of a bucket: keys starting with prefix and after `after`
  // (exclusive), in bytewise order, at most limit; from the name rows alone.
  virtual Result<std::vector<ArtifactInfo>> ListBucket(const std::string& tenant,
                                                       const std::string& bucket,
                                                       const std::string& prefix,
                                                       const std::string& after,
                                                       size_t limit) = 0;
  // Binds `to` to the artifact `from` names, without copying a byte. Empty
  // attrs keep from's. NotFound if `from` is gone (or to's bucket, with
  // require_bucket). With `if_manifest` (the manifest of an earlier Lookup of
  // `from`, whose attrs the caller derived `attrs` from): FailedPrecondition,
  // and nothing bound, if `from` names another manifest by now.
  virtual Result<ArtifactInfo> Copy(const ObjectName& from, const ObjectName& to,
                                    const std::string& attrs, bool require_bucket,
                                    const std::optional<Digest>& if_manifest = std::nullopt) = 0;
  // Replaces a name's attrs, keeping what it names and when it was bound
  // (S3 object tagging). NotFound if the name is gone; FailedPrecondition,
  // and nothing changed, if `if_manifest` is given and the name names
  // another manifest by now.
  virtual Status SetAttrs(const ObjectName& name, const std::string& attrs,
                          const std::optional<Digest>& if_manifest) = 0;
  // The canonical CBOR of an artifact's manifest (checked against its digest).
  virtual Result<std::vector<uint8_t>> ManifestBytes(const std::string& tenant,
                                                     const std::string& ref) = 0;

  // Buckets. Create: AlreadyExists. Delete: NotFound, or FailedPrecondition
  // while it holds names or uploads.
  virtual Status CreateBucket(const std::string& tenant, const std::string& bucket) = 0;
  virtual Status DeleteBucket(const std::string& tenant, const std::string& bucket) = 0;
  virtual Result<std::vector<BucketInfo>> ListBuckets(const std::string& tenant) = 0;
  virtual Result<BucketInfo> GetBucket(const std::string& tenant, const std::string& bucket) = 0;

  // Multipart uploads. Every call names the tenant; an upload id of another
  // tenant is NotFound.
  virtual Result<UploadInfo> CreateUpload(const ObjectName& name, const std::string& attrs) = 0;
  virtual Result<UploadInfo> GetUpload(const std::string& tenant, const std::string& id) = 0;
  virtual Result<std::vector<UploadInfo>> ListUploads(const std::string& tenant,
                                                      const std::string& bucket) = 0;
  // Stores one part (replacing an earlier part with that number); the part's
  // attrs come from options.finish.
  virtual Result<PartInfo> PutPart(const std::string& tenant, const std::string& id,
                                   uint32_t number, const ByteSource& source,
                                   const PutOptions& options) = 0;
  virtual Result<std::vector<PartInfo>> ListParts(const std::string& tenant,
                                                  const std::string& id) = 0;
  virtual Status AbortUpload(const std::string& tenant, const std::string& id) = 0;
  // Binds the upload's name to the concatenation of `parts` (in that order;
  // each must exist: NotFound names the first missing one). The content
  // digest is computed by reading the parts back, so it is checked too.
  virtual Result<PutResult> CompleteUpload(const std::string& tenant, const std::string& id,
                                           const std::vector<uint32_t>& parts,
                                           const std::string& attrs) = 0;

  // Tenants' credentials. AddAccessKey creates the tenant if needed and
  // returns a new key id and secret (kept in metadata.db, which is 0600).
  virtual Result<AccessKey> AddAccessKey(const std::string& tenant) = 0;
  virtual Result<std::optional<AccessKey>> FindAccessKey(const std::string& id) = 0;
  virtual Result<std::vector<AccessKey>> ListAccessKeys() = 0;

  // Encryption at rest (docs/format/encryption.md). A tenant is encrypted or
  // not from its creation on. CreateTenant: AlreadyExists if it exists;
  // `encrypt` needs the store's master key (StoreOptions::master_key_file).
  // A tenant made implicitly (a first put, AddAccessKey) is encrypted when
  // the store was made with StoreOptions::encrypt.
  virtual Status CreateTenant(const std::string& tenant, bool encrypt) = 0;
  virtual Result<TenantInfo> GetTenant(const std::string& tenant) = 0;
  // A new data key for the tenant: frames written from now on use it, older
  // ones stay readable under theirs. Returns the key's id.
  virtual Result<uint32_t> RotateTenantKey(const std::string& tenant) = 0;
  // Deletes the tenant's older data keys that nothing uses any more: no
  // live frame (read from each frame's header) and no sealed value (names',
  // uploads' and parts' attrs), once every process has stopped sealing under
  // them (a newer key for twice the key reload interval, and every put begun
  // before has ended). Run after `rekey`. Busy when a put begun before is
  // still running.
  virtual Result<RetireReport> RetireTenantKeys(const std::string& tenant) = 0;
  // Rewraps every tenant key under the master key in new_key_file, in one
  // transaction; no data is rewritten. The old key no longer opens the store.
  virtual Status RotateMasterKey(const std::string& new_key_file) = 0;

  virtual const KernelTable& kernels() const = 0;
  virtual const ChunkerParams& chunker_params() const = 0;
  virtual const std::string& dir() const = 0;
};

// A new master key file: 32 random bytes, mode 0600, synced (AlreadyExists
// if the path exists).
Status CreateMasterKeyFile(const std::string& path);

}  // namespace as
