#include <algorithm>
#include <ctime>
#include <optional>
#include <unordered_set>

#include "hash/background.h"
#include "hash/blake3.h"
#include "store/compress_pipeline.h"
#include "base/test_pause.h"
#include "store/put_txn.h"

namespace as {

namespace {
// Gives a put's whole-stream passes to other CPUs: its BLAKE3 and the
// caller's PutOptions::observe each run on a thread of their own over the
// stream's buffer ranges, done with them before the stream reuses them.
class WholeStreamTap : public ChunkStream::Tap {
 public:
  explicit WholeStreamTap(const BackgroundConsumer::Consume& observe) {
    if (observe) observe_.emplace(observe);
  }
  void Read(const uint8_t* data, size_t n) override {
    hash_.Update(data, n);
    if (observe_) observe_->Update(data, n);
  }
  void BeforeReuse() override {
    hash_.Wait();
    if (observe_) observe_->Wait();
  }
  Digest Finish() {
    if (observe_) observe_->Wait();
    return hash_.Finalize();
  }

 private:
  BackgroundBlake3 hash_;
  std::optional<BackgroundConsumer> observe_;
};
}  // namespace

StoreImpl::PutTxn::~PutTxn() {
  WaitSealing().IgnoreError();  // a pack it sealed is removed below
  if (!committed_) {
    for (const auto& p : commit_.packs) {
      s_->packs_->Remove(p.name).IgnoreError();
    }
  }
  for (const auto& n : written_) s_->PackDone(n);
}

Result<Location> StoreImpl::PutTxn::Append(const FrameInfo& info, const uint8_t* payload) {
  stored_bytes_ += info.frame_len();
  if (holding_) {
    if (held_bytes_ + info.frame_len() <= std::min(kHoldBytes, s_->pack_target_size_)) {
      held_.push_back(Held{info, std::vector<uint8_t>(payload, payload + info.stored_len)});
      held_bytes_ += info.frame_len();
      return Location{0, held_.size() - 1, info.frame_len(), info.raw_len};
    }
    AS_RETURN_IF_ERROR(Spill());
  }
  return AppendToPack(info, payload);
}

Result<Location> StoreImpl::PutTxn::AppendToPack(const FrameInfo& info, const uint8_t* payload) {
  if (writer_ && writer_->size() + info.frame_len() > s_->pack_target_size_ &&
      writer_->frames() > 0) {
    AS_RETURN_IF_ERROR(SealInBackground());
  }
  if (!writer_) {
    AS_ASSIGN_OR_RETURN(writer_, s_->NewPackWriter(commit_.domain));
    written_.push_back(writer_->name());
    writer_index_ = packs_started_++;
  }
  AS_ASSIGN_OR_RETURN(uint64_t off, writer_->Add(info, payload));
  return Location{writer_index_, off, info.frame_len(), info.raw_len};
}

Status StoreImpl::PutTxn::WriteHeld(PackWriter* w) {
  return Place([&](const Held& h) -> Result<Location> {
    AS_ASSIGN_OR_RETURN(uint64_t off, w->Add(h.info, h.payload.data()));
    return Location{0, off, h.info.frame_len(), h.info.raw_len};
  });
}

Status StoreImpl::PutTxn::Spill() {
  return Place([&](const Held& h) { return AppendToPack(h.info, h.payload.data()); });
}

Status StoreImpl::PutTxn::Place(const std::function<Result<Location>(const Held&)>& put) {
  std::vector<Location> locs;
  locs.reserve(held_.size());
  for (const Held& h : held_) {
    AS_ASSIGN_OR_RETURN(Location loc, put(h));
    locs.push_back(loc);
  }
  // Held locations' offsets are indexes into held_.
  for (auto& [d, loc] : commit_.chunks) loc = locs.at(loc.offset);
  if (commit_.manifest) commit_.manifest->loc = locs.at(commit_.manifest->loc.offset);
  held_.clear();
  held_bytes_ = 0;
  holding_ = false;
  return Status::OK();
}

Result<ManifestRow> StoreImpl::PutTxn::AppendManifest(const Manifest& m, Compressor* compressor) {
  std::vector<uint8_t> bytes = EncodeManifest(m);
  FrameInfo info;
  info.type = format::RecordType::kManifest;
  info.raw_len = static_cast<uint32_t>(bytes.size());
  info.digest = keys_ ? keys_->Id(bytes.data(), bytes.size()) : Blake3(bytes.data(), bytes.size());
  const uint8_t* payload = bytes.data();
  size_t stored = bytes.size();
  info.codec = compressor->Compress(bytes.data(), bytes.size(), &payload, &stored);
  info.stored_len = static_cast<uint32_t>(stored);
  std::vector<uint8_t> sealed;
  if (keys_) {
    AS_RETURN_IF_ERROR(keys_->SealFrame(&info, payload, stored, &sealed));
    payload = sealed.data();
  }
  ManifestRow row;
  row.domain = commit_.domain;
  row.digest = info.digest;
  // What the catalog keeps of an encrypted tenant's content digest is a
  // keyed value of it (the manifest, sealed, holds the digest itself).
  row.content = keys_ ? keys_->ContentLookup(m.content) : m.content;
  row.size = m.size;
  row.chunks = m.chunks.size();
  AS_ASSIGN_OR_RETURN(row.loc, Append(info, payload));
  commit_.manifest = row;
  return row;  // while held, its offset is not yet the pack's
}

Status StoreImpl::PutTxn::Commit() {
  if (holding_) return s_->group_->Submit(this);
  AS_RETURN_IF_ERROR(Seal());
  std::shared_lock<std::shared_mutex> l(s_->commit_mu_);
  AS_RETURN_IF_ERROR(s_->meta_->CommitPut(commit_));
  committed_ = true;
  return Status::OK();
}

Status StoreImpl::PutTxn::Seal() {
  AS_RETURN_IF_ERROR(WaitSealing());
  if (!writer_) return Status::OK();
  AS_ASSIGN_OR_RETURN(SealedPack sealed, writer_->Seal());
  writer_.reset();
  commit_.packs.push_back(std::move(sealed));
  return Status::OK();
}

Status StoreImpl::PutTxn::SealInBackground() {
  AS_RETURN_IF_ERROR(WaitSealing());
  // The thread owns the writer: a failed seal abandons (removes) its file there.
  sealing_ = std::thread([this, w = std::move(writer_)] { sealed_.emplace(w->Seal()); });
  return Status::OK();
}

Status StoreImpl::PutTxn::WaitSealing() {
  if (!sealing_.joinable()) return Status::OK();
  sealing_.join();
  Result<SealedPack> r = std::move(*sealed_);
  sealed_.reset();
  if (!r.ok()) return r.status();
  commit_.packs.push_back(std::move(*r));
  return Status::OK();
}

Result<PutResult> StoreImpl::Put(const ObjectName& name, const ByteSource& source,
                                 const PutOptions& options) {
  return Ingest(name.tenant, name.tenant + "/" + name.bucket + "/" + name.key, source, options,
                [&](PutCommit* c, const ManifestRow& m, int64_t created, std::string attrs) {
                  NameRow n;
                  n.tenant = name.tenant;
                  n.bucket = name.bucket;
                  n.key = name.key;
                  n.manifest = m.digest;
                  n.content = m.content;
                  n.size = m.size;
                  n.created = created;
                  n.attrs = std::move(attrs);
                  c->name = std::move(n);
                  c->require_bucket = options.require_bucket;
                });
}

// The write path (DESIGN "PUT"): cut, hash, dedup, compress, frame, append;
// seal every pack (fsync + verify), then one metadata transaction.
Result<PutResult> StoreImpl::Ingest(const std::string& tenant, const std::string& name_hint,
                                    const ByteSource& source, const PutOptions& options,
                                    const BindFn& bind) {
  ActiveOp op(&active_ops_);
  StartFilter();  // before this put's commit (filter_keeper.cc)
  AS_ASSIGN_OR_RETURN(uint32_t domain, Domain(tenant, true));
  // Begun before the first lookup, ended after the commit: gc sweeps nothing
  // this put may have looked up until then (Metadata::Op). Begun before the
  // keys are taken, too: retiring a data key waits for the Ops begun before
  // it stopped being the newest (RetireTenantKeys).
  const Metadata::Op gc_op = meta_->BeginOp();
  AS_ASSIGN_OR_RETURN(std::shared_ptr<const TenantKeys> keys, keyring_->For(domain));
  const CodecId codec = options.codec.value_or(options_.codec);
  const int level = options.zstd_level.value_or(options_.zstd_level);
  Compressor compressor(codec, level);
  PutTxn txn(this, domain, keys);
  txn.commit().epoch = gc_op.epoch();
  txn.commit().session = gc_op.session();
  PutResult result;
  Manifest manifest;
  manifest.chunker = chunker_.params();
  manifest.created = static_cast<int64_t>(std::time(nullptr));
  manifest.name_hint = name_hint;

  // Chunks already written by this put (a file may repeat itself).
  std::unordered_set<Digest, DigestHash> seen;
  // New chunks are compressed (on other CPUs when there are any) and come
  // back here in order to be appended.
  const int workers = Workers();
  CompressPipeline pipeline(
      codec, level, workers,
      [&](const FrameInfo& info, const uint8_t* payload, const std::vector<Digest>& bases) -> Status {
        AS_ASSIGN_OR_RETURN(Location loc, txn.Append(info, payload));
        txn.commit().chunks.emplace_back(info.digest, loc);
        if (info.codec == CodecId::kZstdRef) {
          for (const Digest& b : bases) {
            txn.commit().bases.emplace_back(info.digest, b);
          }
          result.delta_chunks++;
        }
        result.new_chunks++;
        result.new_bytes += info.raw_len;
        return Status::OK();
      },
      &kernels_, keys);
  // Where an edited region's new chunks find their bases (delta.cc).
  const bool delta = options.delta.value_or(options_.delta) && codec != CodecId::kNone;
  DeltaCursor cursor;
  Blake3Hasher whole;
  ChunkStream stream(chunker_, source,
                     ChunkStream::BufferFor(chunker_.params(), options.size_hint));
  // With another CPU to use, the whole-stream passes run beside the cutting
  // and per-chunk hashing, else chunk by chunk while each is in cache.
  std::optional<WholeStreamTap> tap;
  if (workers > 0) stream.SetTap(&tap.emplace(options.observe));
  // A chunk not stored by this put yet: dedup against the index (`loc`, its
  // location if stored) or compress and append it.
  auto decide = [&](const Digest& d, const uint8_t* data, size_t n,
                    const std::optional<Location>& loc) -> Status {
    if (loc) {  // stored before: dedup (the commit keeps it: PutCommit::refs)
      cursor.next = Location{loc->pack, loc->offset + loc->frame_len, 0, 0};
      return Status::OK();
    }
    std::shared_ptr<const DeltaBase> base;
    if (delta) {
      AS_ASSIGN_OR_RETURN(base, FindDeltaBase(domain, d, n, &cursor));
    }
    return pipeline.Add(d, data, n, std::move(base));
  };
  // Chunks the filter says may be stored (all of them while it is not
  // loaded, or where the metadata is on a server) are confirmed in the
  // index: asking chunk by chunk would cost a query (or a round trip) each,
  // so chunks wait in a window (their bytes copied into one buffer, kept
  // from window to window: the stream reuses its own) and the window is
  // looked up in one query, then decided in order. A sure miss with nothing
  // waiting is decided at once, uncopied.
  struct Waiting {
    Digest d;
    size_t at = 0, n = 0;  // its bytes in `held`
    bool repeat = false;   // already in this put: only resets the delta cursor
    bool ask = false;      // the filter says it may be stored
  };
  std::vector<Waiting> window;
  std::vector<uint8_t> held;
  std::vector<Digest> ask;
  std::vector<std::optional<Location>> locs;
  auto flush = [&]() -> Status {
    if (window.empty()) return Status::OK();
    ask.clear();
    for (const Waiting& w : window) {
      if (w.ask) ask.push_back(w.d);
    }
    AS_RETURN_IF_ERROR(meta_->FindChunks(domain, ask.data(), ask.size(), &locs, true));
    size_t i = 0;
    for (const Waiting& w : window) {
      if (w.repeat) {
        cursor.next.reset();
        continue;
      }
      std::optional<Location> loc = w.ask ? locs[i++] : std::nullopt;
      AS_RETURN_IF_ERROR(decide(w.d, held.data() + w.at, w.n, loc));
    }
    window.clear();
    held.clear();
    return Status::OK();
  };
  ChunkView c;
  while (true) {
    AS_ASSIGN_OR_RETURN(bool more, stream.Next(&c));
    if (!more) break;
    if (!tap) {
      whole.Update(c.data, c.size);
      if (options.observe) options.observe(c.data, c.size);
    }
    Digest d = keys ? keys->Id(c.data, c.size) : Blake3(c.data, c.size);
    manifest.chunks.push_back(ChunkRef{d, static_cast<uint32_t>(c.size)});
    if (options.progress) options.progress(c.offset + c.size);
    const bool repeat = !seen.insert(d).second;
    const bool may = !repeat && filter_.MayBeStored(domain, d);
    if (window.empty() && !may) {
      if (repeat) {
        cursor.next.reset();
      } else {
        AS_RETURN_IF_ERROR(decide(d, c.data, c.size, std::nullopt));
      }
      continue;
    }
    Waiting& w = window.emplace_back();
    w.d = d;
    w.repeat = repeat;
    if (!repeat) {
      w.ask = may;
      w.at = held.size();
      w.n = c.size;
      held.insert(held.end(), c.data, c.data + c.size);
    }
    if (window.size() >= kLookupBatch || held.size() >= kLookupBatchBytes) {
      AS_RETURN_IF_ERROR(flush());
    }
  }
  AS_RETURN_IF_ERROR(flush());
  AS_RETURN_IF_ERROR(pipeline.Finish());
  manifest.content = tap ? tap->Finish() : whole.Finalize();
  manifest.size = stream.bytes_read();
  stream.Close();  // its buffer is not held while the put waits for the commit
  std::string attrs;
  if (options.finish) {
    AS_ASSIGN_OR_RETURN(attrs, options.finish());
    AS_ASSIGN_OR_RETURN(attrs, SealAttrs(tenant, std::move(attrs)));
  }

  AS_ASSIGN_OR_RETURN(ManifestRow mrow, txn.AppendManifest(manifest, &compressor));
  bind(&txn.commit(), mrow, manifest.created, std::move(attrs));
  txn.commit().refs = [&](std::vector<Digest>* out) { ListRefs(manifest, txn.commit(), out); };
  TestPause("put-before-commit");
  if (put_hook_) put_hook_();
  filter_.BeginCommit();
  Status committed = txn.Commit();
  std::vector<Digest> added;
  if (committed.ok()) {
    added.reserve(txn.commit().chunks.size());
    for (const auto& [d, loc] : txn.commit().chunks) added.push_back(d);
  }
  filter_.EndCommit(domain, added);
  AS_RETURN_IF_ERROR(committed);
  delta_chunks_.fetch_add(result.delta_chunks, std::memory_order_relaxed);

  result.content = manifest.content;
  result.manifest = mrow.digest;
  result.size = manifest.size;
  result.chunks = manifest.chunks.size();
  result.stored_bytes = txn.stored_bytes();
  return result;
}

void StoreImpl::ListRefs(const Manifest& m, const PutCommit& c, std::vector<Digest>* out) {
  std::unordered_set<Digest, DigestHash> stored, listed;
  for (const auto& [d, loc] : c.chunks) stored.insert(d);
  for (const ChunkRef& r : m.chunks) {
    if (!stored.count(r.digest) && listed.insert(r.digest).second) out->push_back(r.digest);
  }
  for (const auto& [d, base] : c.bases) {
    if (!stored.count(base) && listed.insert(base).second) out->push_back(base);
  }
}

Result<ManifestRow> StoreImpl::CommitManifest(uint32_t domain, const Manifest& m,
                                              const BindFn& bind, uint64_t* stored_bytes,
                                              const Metadata::Op& op) {
  AS_ASSIGN_OR_RETURN(std::shared_ptr<const TenantKeys> keys, keyring_->For(domain));
  PutTxn txn(this, domain, keys);
  Compressor compressor(options_.codec, options_.zstd_level);
  AS_ASSIGN_OR_RETURN(ManifestRow row, txn.AppendManifest(m, &compressor));
  bind(&txn.commit(), row, m.created, std::string());
  txn.commit().epoch = op.epoch();
  txn.commit().session = op.session();
  txn.commit().refs = [&](std::vector<Digest>* out) { ListRefs(m, txn.commit(), out); };
  AS_RETURN_IF_ERROR(txn.Commit());
  *stored_bytes = txn.stored_bytes();
  return *txn.commit().manifest;  // its location now final
}

}  // namespace as
