#include <algorithm>
#include <unordered_set>

#include "hash/blake3.h"
#include "store/read_ahead.h"
#include "store/store_impl.h"

namespace as {

Result<StoreImpl::Resolved> StoreImpl::Resolve(const std::string& tenant, const std::string& ref) {
  Resolved r;
  auto dom = meta_->TenantDomain(tenant, false);
  if (!dom.ok()) return dom.status();
  r.domain = *dom;
  if (IsDigestRef(ref)) {
    AS_ASSIGN_OR_RETURN(Digest d, Digest::Parse(ref));
    AS_ASSIGN_OR_RETURN(d, CatalogDigest(r.domain, d));
    // Only artifacts a live name holds: a removed one may be half collected.
    AS_ASSIGN_OR_RETURN(auto n, meta_->FindNameByDigest(tenant, d));
    if (!n) return Status::NotFound("no artifact with digest " + ref);
    AS_ASSIGN_OR_RETURN(auto m, meta_->FindManifest(r.domain, n->manifest));
    if (!m) return Status::NotFound("no artifact with digest " + ref);
    r.manifest = *m;
    return r;
  }
  AS_ASSIGN_OR_RETURN(ObjectName name, ObjectName::Parse(ref, tenant));
  AS_ASSIGN_OR_RETURN(auto n, meta_->GetName(tenant, name.bucket, name.key));
  if (!n) return Status::NotFound("no artifact named " + ref);
  AS_ASSIGN_OR_RETURN(auto m, meta_->FindManifest(r.domain, n->manifest));
  if (!m) {
    return Status::Corruption("name " + ref + " points at manifest " + n->manifest.ToString() +
                              ", which is not in the index (try `repair --reindex`)");
  }
  r.manifest = *m;
  r.name = *n;
  return r;
}

Result<std::vector<uint8_t>> StoreImpl::LoadManifestBytes(const ManifestRow& row) {
  AS_ASSIGN_OR_RETURN(auto reader, Reader(row.loc.pack));
  std::vector<uint8_t> frame;
  auto read = reader->ReadFrame(row.loc.offset, row.loc.frame_len, &frame);
  if (!read.ok()) return read.status().WithContext("manifest " + row.digest.ToString());
  FrameInfo info = *read;
  auto where = [&] {
    return "manifest " + row.digest.ToString() + " in " + reader->path() + " at offset " +
           std::to_string(row.loc.offset);
  };
  if (info.type != format::RecordType::kManifest || info.digest != row.digest) {
    return Status::Corruption(where() + ": frame holds a different record");
  }
  std::vector<uint8_t> raw(info.raw_len), opened;
  auto payload = OpenPayload(row.domain, &info, frame.data() + format::kFrameHeaderSize, &opened);
  if (!payload.ok()) return payload.status().WithContext(where());
  AS_RETURN_IF_ERROR(DecodeFramePayload(info, *payload, raw.data()).WithContext(where()));
  AS_ASSIGN_OR_RETURN(Digest id, IdOf(row.domain, raw.data(), raw.size()));
  if (id != row.digest) {
    return Status::Corruption(where() + ": BLAKE3 of the manifest does not match its digest");
  }
  return raw;
}

Result<Manifest> StoreImpl::LoadManifest(const ManifestRow& row) {
  AS_ASSIGN_OR_RETURN(std::vector<uint8_t> raw, LoadManifestBytes(row));
  auto m = DecodeManifest(raw.data(), raw.size());
  if (!m.ok()) return m.status().WithContext("manifest " + row.digest.ToString());
  return m;
}

Result<std::shared_ptr<const Manifest>> StoreImpl::CachedManifest(const ManifestRow& row) {
  if (auto m = manifests_.Find(row.domain, row.digest)) return m;
  AS_ASSIGN_OR_RETURN(Manifest m, LoadManifest(row));
  auto shared = std::make_shared<const Manifest>(std::move(m));
  manifests_.Insert(row.domain, row.digest, shared);
  return shared;
}

std::optional<Location> StoreImpl::Hint(uint32_t domain, const Digest& d) {
  std::lock_guard lock(hints_mu_);
  auto it = hints_.find(d);
  if (it == hints_.end() || it->second.first != domain) return std::nullopt;
  return it->second.second;
}

void StoreImpl::RememberHint(uint32_t domain, const Digest& d, const Location& loc) {
  // About 64K chunks (a few MiB); dropped whole when full.
  constexpr size_t kMaxHints = 65536;
  std::lock_guard lock(hints_mu_);
  if (hints_.size() >= kMaxHints) hints_.clear();
  hints_.insert_or_assign(d, std::make_pair(domain, loc));
}

Status StoreImpl::ReadChunk(uint32_t domain, const Digest& d, ReadAhead::Slot* slot,
                            const Location* hint) {
  std::vector<uint8_t>* frame = &slot->frame;
  slot->file_fd = -1;
  slot->pin.reset();
  // The first try may go by a hint (the caller's, or where the chunk was
  // last found); a hint that fails for any reason is dropped and the index
  // asked. Then two tries by the index: gc may move the chunk between the
  // lookup and the read.
  Status last;
  for (int attempt = 0; attempt < 3; attempt++) {
    std::optional<Location> loc;
    bool hinted = false;
    if (attempt == 0) {
      loc = hint ? std::optional<Location>(*hint) : Hint(domain, d);
      hinted = loc.has_value();
      if (!hinted) continue;
    } else {
      AS_ASSIGN_OR_RETURN(loc, meta_->FindChunk(domain, d));
    }
    if (!loc) return Status::Corruption("chunk " + d.ToString() + " is not in the index");
    auto reader = Reader(loc->pack);
    if (!reader.ok()) {
      last = reader.status();
      ForgetReader(loc->pack);
      continue;
    }
    // In place: a raw frame is checked in the page cache and not copied out
    // (nullopt: it must be decoded, so it is read below).
    std::optional<FrameInfo> in_place;
    // Small frames are copied anyway: a sink sends a small piece from memory
    // with its response head, one system call rather than two.
    constexpr uint32_t kInPlaceMinFrame = 32 << 10;
    if (slot->in_place && loc->frame_len >= kInPlaceMinFrame) {
      auto checked = (*reader)->CheckRawFrameInPlace(loc->offset, loc->frame_len);
      if (!checked.ok()) {
        if (hinted) continue;
        return checked.status().WithContext("chunk " + d.ToString());
      }
      in_place = *checked;
      if (in_place) NoteMappedRead(loc->frame_len);
    }
    // A sealed frame is authenticated as it is opened (DecodeChunk): its
    // CRC would only be a second pass over the same bytes.
    auto info = in_place ? Result<FrameInfo>(*in_place)
                         : (*reader)->ReadFrame(loc->offset, loc->frame_len, frame,
                                                /*sealed_unchecked=*/true);
    if (!info.ok()) {
      if (info.status().code() == Code::kNotFound) {
        // A pack in a bucket is opened without a request: that it is gone
        // (gc moved the chunk since the lookup) shows only now.
        last = Status::Corruption("pack " + (*reader)->path() + " is missing (" +
                                  info.status().message() + ")");
        ForgetReader(loc->pack);
        continue;
      }
      if (hinted) continue;
      return info.status().WithContext("chunk " + d.ToString());
    }
    if (info->digest != d || info->type != format::RecordType::kChunk ||
        info->raw_len != loc->raw_len) {
      if (hinted) continue;
      return Status::Corruption("chunk " + d.ToString() + ": frame at " + (*reader)->path() +
                                " offset " + std::to_string(loc->offset) +
                                " holds a different record");
    }
    if (!hint && !hinted) RememberHint(domain, d, *loc);
    slot->n = info->raw_len;
    const uint8_t* payload = frame->data() + format::kFrameHeaderSize;
    if (info->codec == CodecId::kNone && info->cipher == format::CipherId::kNone) {
      // Verified by the CRC above; handed out without a copy.
      slot->data = in_place ? nullptr : payload;
      slot->file_fd = (*reader)->fd();
      slot->file_offset = loc->offset + format::kFrameHeaderSize;
      slot->pin = *reader;  // the descriptor stays open while the slot is emitted
      return Status::OK();
    }
    if (info->codec == CodecId::kZstdRef && slot->base_depth >= kMaxBaseDepth) {
      return Status::Corruption("chunk " + d.ToString() + " in " + (*reader)->path() +
                                " at offset " + std::to_string(loc->offset) +
                                ": a chain of delta chunks' bases longer than " +
                                std::to_string(kMaxBaseDepth));
    }
    if (slot->scratch.size() < info->raw_len) slot->scratch.resize(info->raw_len);  // grows only
    slot->data = slot->scratch.data();
    Status s = DecodeChunk(domain, *info, payload, slot->scratch.data(), slot->base_depth);
    if (!s.ok()) {
      return s.WithContext("chunk " + d.ToString() + " in " + (*reader)->path() + " at offset " +
                           std::to_string(loc->offset));
    }
    return Status::OK();
  }
  return last;
}

namespace {
SpanSink BytesOnly(const ByteSink& sink) {
  return [&sink](const uint8_t* p, size_t n, const FileSpan*) { return sink(p, n); };
}
}  // namespace

Status StoreImpl::Get(const std::string& tenant, const std::string& ref, const ByteSink& sink,
                      std::optional<ByteRange> range, const Progress& progress) {
  ActiveOp op(&active_ops_);
  AS_ASSIGN_OR_RETURN(Resolved r, Resolve(tenant, ref));
  return GetResolved(r, ref, BytesOnly(sink), range, progress);
}

Status StoreImpl::GetFound(const std::string& tenant, const ArtifactInfo& info,
                           const ByteSink& sink, std::optional<ByteRange> range) {
  return ReadFound(tenant, info, BytesOnly(sink), range, false);
}

Status StoreImpl::GetFoundSpans(const std::string& tenant, const ArtifactInfo& info,
                                const SpanSink& sink, std::optional<ByteRange> range) {
  return ReadFound(tenant, info, sink, range, true);
}

Status StoreImpl::ReadFound(const std::string& tenant, const ArtifactInfo& info,
                            const SpanSink& sink, std::optional<ByteRange> range, bool in_place) {
  ActiveOp op(&active_ops_);
  // The caller has just found the artifact by its name or digest: read the
  // manifest it names directly.
  Resolved r;
  AS_ASSIGN_OR_RETURN(r.domain, meta_->TenantDomain(tenant, false));
  const std::string ref = info.name ? info.name->ToString() : info.content.ToString();
  auto gone = [&] { return Status::NotFound("no artifact " + ref + " (removed meanwhile)"); };
  // A cached manifest (named by its digest, so never stale) needs no
  // manifest row: the small GET reads one row fewer. gc drops a manifest row
  // and the chunk rows only it held in one transaction, so a collected
  // artifact fails at its first chunk lookup; only then is the row read, to
  // tell "removed meanwhile" (NotFound) from damage.
  if (auto cached = manifests_.Find(r.domain, info.manifest)) {
    Status s = ReadArtifact(r.domain, *cached, ref, sink, range, nullptr, in_place);
    if (s.ok()) return s;
    auto row = meta_->FindManifest(r.domain, info.manifest);
    return row.ok() && !*row ? gone() : s;
  }
  AS_ASSIGN_OR_RETURN(auto row, meta_->FindManifest(r.domain, info.manifest));
  if (!row) return gone();
  r.manifest = *row;
  return GetResolved(r, ref, sink, range, nullptr, in_place);
}

Status StoreImpl::GetResolved(const Resolved& r, const std::string& ref, const SpanSink& sink,
                              std::optional<ByteRange> range, const Progress& progress,
                              bool in_place) {
  AS_ASSIGN_OR_RETURN(auto mp, CachedManifest(r.manifest));
  return ReadArtifact(r.domain, *mp, ref, sink, range, progress, in_place);
}

Status StoreImpl::ReadArtifact(uint32_t domain, const Manifest& m, const std::string& ref,
                               const SpanSink& sink, std::optional<ByteRange> range,
                               const Progress& progress, bool in_place) {
  uint64_t first = 0, end = m.size;  // [first, end)
  if (range) {
    if (range->last && *range->last < range->first) {
      return Status::InvalidArgument("range " + std::to_string(range->first) + "-" +
                                     std::to_string(*range->last) + ": end is before start");
    }
    if (range->first >= m.size && !(m.size == 0 && range->first == 0 && !range->last)) {
      return Status::InvalidArgument("range starts at byte " + std::to_string(range->first) +
                                     ", past the end of " + ref + " (" + std::to_string(m.size) +
                                     " bytes)");
    }
    first = range->first;
    if (range->last) end = std::min<uint64_t>(*range->last + 1, m.size);
  }
  // Chunk i covers [starts[i], starts[i+1]).
  std::vector<uint64_t> starts(m.chunks.size() + 1, 0);
  for (size_t i = 0; i < m.chunks.size(); i++) starts[i + 1] = starts[i] + m.chunks[i].length;
  size_t i = static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), first) -
                                 starts.begin());
  i = i == 0 ? 0 : i - 1;
  size_t last = i;
  while (last < m.chunks.size() && starts[last] < end) last++;
  uint64_t done = 0;
  // Chunk locations are looked up a block at a time (one read transaction
  // each) rather than one query per chunk.
  constexpr size_t kBlock = 256;
  std::mutex locs_mu;
  std::vector<std::optional<Location>> locs(last - i);
  std::vector<bool> block_loaded((last - i + kBlock - 1) / kBlock, false);
  std::vector<Digest> block_digests;
  std::vector<std::optional<Location>> found;
  auto locate = [&](size_t k) -> Result<std::optional<Location>> {
    size_t b = (k - i) / kBlock;
    std::lock_guard lock(locs_mu);
    if (!block_loaded[b]) {
      size_t lo = i + b * kBlock, hi = std::min(last, lo + kBlock);
      block_digests.clear();
      for (size_t j = lo; j < hi; j++) block_digests.push_back(m.chunks[j].digest);
      AS_RETURN_IF_ERROR(meta_->FindChunks(domain, block_digests.data(), block_digests.size(),
                                           &found));
      std::copy(found.begin(), found.end(), locs.begin() + ptrdiff_t(lo - i));
      block_loaded[b] = true;
    }
    return locs[k - i];
  };
  auto fetch = [&](size_t k, ReadAhead::Slot* slot) -> Status {
    slot->in_place = in_place;
    std::optional<Location> hint;
    if (last - i > 1) {
      AS_ASSIGN_OR_RETURN(hint, locate(k));
    }
    AS_RETURN_IF_ERROR(ReadChunk(domain, m.chunks[k].digest, slot, hint ? &*hint : nullptr)
                           .WithContext(ref + " byte " + std::to_string(starts[k])));
    if (slot->n != m.chunks[k].length) {
      return Status::Corruption(ref + ": chunk " + m.chunks[k].digest.ToString() + " is " +
                                std::to_string(slot->n) + " bytes, manifest says " +
                                std::to_string(m.chunks[k].length));
    }
    return Status::OK();
  };
  auto emit = [&](size_t k, const ReadAhead::Slot& slot) -> Status {
    uint64_t lo = std::max(first, starts[k]) - starts[k];
    uint64_t hi = std::min(end, starts[k + 1]) - starts[k];
    FileSpan span{slot.file_fd, slot.file_offset + lo};
    AS_RETURN_IF_ERROR(sink(slot.data ? slot.data + lo : nullptr, hi - lo,
                            slot.file_fd >= 0 ? &span : nullptr));
    done += hi - lo;
    if (progress) progress(done);
    return Status::OK();
  };
  // Decoding runs on every CPU the process may use; a single chunk is not
  // worth a thread.
  int workers = last - i > 1 ? Workers() : 0;
  return ReadAhead::Run(i, last, workers, fetch, emit);
}

ArtifactInfo StoreImpl::InfoFrom(const Resolved& r, const Manifest& m) {
  ArtifactInfo a;
  if (r.name) {
    a.name = ObjectName{r.name->tenant, r.name->bucket, r.name->key};
    a.version = r.name->version;
  }
  a.content = m.content;  // the plain digest (the row's is keyed in an encrypted tenant)
  a.manifest = r.manifest.digest;
  a.size = m.size;
  a.chunks = m.chunks.size();
  a.chunker = m.chunker;
  a.chunker_name = kChunkerName;
  a.gear_table = kGearTableId;
  a.created = m.created;
  return a;
}

Result<ArtifactInfo> StoreImpl::Stat(const std::string& tenant, const std::string& ref) {
  AS_ASSIGN_OR_RETURN(Resolved r, Resolve(tenant, ref));
  AS_ASSIGN_OR_RETURN(auto mp, CachedManifest(r.manifest));
  const Manifest& m = *mp;
  ArtifactInfo a = InfoFrom(r, m);
  if (r.name) {
    AS_ASSIGN_OR_RETURN(a.attrs, OpenAttrs(tenant, r.name->attrs));
  }
  std::unordered_set<Digest, DigestHash> distinct;
  for (const ChunkRef& c : m.chunks) {
    if (!distinct.insert(c.digest).second) continue;
    AS_ASSIGN_OR_RETURN(auto loc, meta_->FindChunk(r.domain, c.digest));
    if (loc) a.stored_bytes += loc->frame_len;
  }
  return a;
}

Result<std::vector<ArtifactInfo>> StoreImpl::List(const std::string& tenant,
                                                  const std::string& prefix) {
  AS_ASSIGN_OR_RETURN(auto rows, meta_->ListNames(tenant, prefix));
  std::vector<ArtifactInfo> out;
  out.reserve(rows.size());
  for (const NameRow& n : rows) out.push_back(InfoFromName(n));
  return out;
}

}  // namespace as
