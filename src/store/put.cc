#include <ctime>
#include <unordered_set>

#include "hash/blake3.h"
#include "store/compress_pipeline.h"
#include "store/store_impl.h"

namespace as {

// The write path (DESIGN "PUT"): cut, hash, dedup, compress, frame, append;
// seal every pack (fsync + verify), then one metadata transaction.
Result<PutResult> StoreImpl::Put(const ObjectName& name, const ByteSource& source,
                                 const PutOptions& options) {
  AS_ASSIGN_OR_RETURN(uint32_t domain, meta_->TenantDomain(name.tenant, true));
  const CodecId codec = options.codec.value_or(options_.codec);
  const int level = options.zstd_level.value_or(options_.zstd_level);
  Compressor compressor(codec, level);
  ChunkFilter::Lease lease(&filter_);

  PutCommit commit;
  commit.domain = domain;
  PutResult result;
  Manifest manifest;
  manifest.chunker = chunker_.params();
  manifest.created = static_cast<int64_t>(std::time(nullptr));
  manifest.name_hint = name.tenant + "/" + name.bucket + "/" + name.key;

  std::unique_ptr<PackWriter> writer;
  std::vector<std::string> written;  // pack names, to un-register at the end
  bool committed = false;
  // On failure, sealed packs that no row will ever name are removed now
  // rather than left for gc.
  struct Cleanup {
    StoreImpl* s;
    std::vector<std::string>* names;
    PutCommit* commit;
    bool* committed;
    ~Cleanup() {
      if (!*committed) {
        for (const auto& p : commit->packs) {
          s->env_->RemoveFile(PackPath(s->packs_dir_, p.name)).IgnoreError();
        }
      }
      for (const auto& n : *names) s->PackDone(n);
    }
  } cleanup{this, &written, &commit, &committed};

  auto seal = [&]() -> Status {
    AS_ASSIGN_OR_RETURN(SealedPack sealed, writer->Seal());
    writer.reset();
    commit.packs.push_back(std::move(sealed));
    return Status::OK();
  };
  // Appends one frame, starting a new pack when the current one is full.
  auto append = [&](const FrameInfo& info, const uint8_t* payload) -> Result<Location> {
    if (writer && writer->size() + info.frame_len() > pack_target_size_ &&
        writer->frames() > 0) {
      AS_RETURN_IF_ERROR(seal());
    }
    if (!writer) {
      AS_ASSIGN_OR_RETURN(writer, NewPackWriter(domain));
      written.push_back(writer->name());
    }
    AS_ASSIGN_OR_RETURN(uint64_t off, writer->Add(info, payload));
    result.stored_bytes += info.frame_len();
    return Location{static_cast<int64_t>(commit.packs.size()), off, info.frame_len(),
                    info.raw_len};
  };
  // Chunks already written by this put (a file may repeat itself).
  std::unordered_set<Digest, DigestHash> seen;

  // New chunks are compressed (on other CPUs when there are any) and come
  // back here in order to be appended.
  CompressPipeline pipeline(codec, level, Workers(),
                            [&](const FrameInfo& info, const uint8_t* payload) -> Status {
                              AS_ASSIGN_OR_RETURN(Location loc, append(info, payload));
                              commit.chunks.emplace_back(info.digest, loc);
                              result.new_chunks++;
                              result.new_bytes += info.raw_len;
                              return Status::OK();
                            });
  Blake3Hasher whole;
  ChunkStream stream(chunker_, source);
  ChunkView c;
  while (true) {
    AS_ASSIGN_OR_RETURN(bool more, stream.Next(&c));
    if (!more) break;
    whole.Update(c.data, c.size);
    Digest d = Blake3(c.data, c.size);
    manifest.chunks.push_back(ChunkRef{d, static_cast<uint32_t>(c.size)});
    if (options.progress) options.progress(c.offset + c.size);
    if (!seen.insert(d).second) continue;
    if (filter_.CheckAndLease(domain, d, &lease)) {
      AS_ASSIGN_OR_RETURN(auto loc, meta_->FindChunk(domain, d));
      if (loc) continue;  // stored before: dedup (the lease keeps GC off it)
    }
    AS_RETURN_IF_ERROR(pipeline.Add(d, c.data, c.size));
  }
  AS_RETURN_IF_ERROR(pipeline.Finish());
  manifest.content = whole.Finalize();
  manifest.size = stream.bytes_read();

  // The manifest is a frame too, so the packs alone describe every artifact.
  std::vector<uint8_t> mbytes = EncodeManifest(manifest);
  FrameInfo minfo;
  minfo.type = format::RecordType::kManifest;
  minfo.raw_len = static_cast<uint32_t>(mbytes.size());
  minfo.digest = Blake3(mbytes.data(), mbytes.size());
  const uint8_t* mpayload = mbytes.data();
  size_t mstored = mbytes.size();
  minfo.codec = compressor.Compress(mbytes.data(), mbytes.size(), &mpayload, &mstored);
  minfo.stored_len = static_cast<uint32_t>(mstored);
  AS_ASSIGN_OR_RETURN(Location mloc, append(minfo, mpayload));
  AS_RETURN_IF_ERROR(seal());

  ManifestRow mrow;
  mrow.domain = domain;
  mrow.digest = minfo.digest;
  mrow.content = manifest.content;
  mrow.size = manifest.size;
  mrow.chunks = manifest.chunks.size();
  mrow.loc = mloc;
  commit.manifest = mrow;
  NameRow nrow;
  nrow.tenant = name.tenant;
  nrow.bucket = name.bucket;
  nrow.key = name.key;
  nrow.manifest = mrow.digest;
  nrow.content = mrow.content;
  nrow.size = mrow.size;
  nrow.created = manifest.created;
  commit.name = nrow;
  {
    std::shared_lock<std::shared_mutex> l(commit_mu_);
    AS_RETURN_IF_ERROR(meta_->CommitPut(commit));
    committed = true;
  }
  for (const auto& [d, loc] : commit.chunks) filter_.Insert(domain, d);

  result.content = manifest.content;
  result.manifest = mrow.digest;
  result.size = manifest.size;
  result.chunks = manifest.chunks.size();
  return result;
}

}  // namespace as
