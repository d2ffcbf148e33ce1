#include <cstring>
#include <ctime>

#include "hash/blake3.h"
#include "store/compress_pipeline.h"
#include "store/put_txn.h"
#include "store/store_config.h"

namespace as {

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, const StoreOptions& options) {
  AS_ASSIGN_OR_RETURN(auto s, StoreImpl::OpenImpl(dir, options));
  return std::unique_ptr<Store>(std::move(s));
}

Status SaveChunkerParams(Metadata* m, const ChunkerParams& p) {
  AS_RETURN_IF_ERROR(m->SetMeta("chunker", kChunkerName));
  AS_RETURN_IF_ERROR(m->SetMeta("chunker.min", std::to_string(p.min_size)));
  AS_RETURN_IF_ERROR(m->SetMeta("chunker.avg", std::to_string(p.avg_size)));
  AS_RETURN_IF_ERROR(m->SetMeta("chunker.max", std::to_string(p.max_size)));
  AS_RETURN_IF_ERROR(m->SetMeta("chunker.nc", std::to_string(p.normalization)));
  return m->SetMeta("chunker.gear", kGearTableId);
}

Result<ChunkerParams> LoadChunkerParams(Metadata* m) {
  ChunkerParams p;
  AS_ASSIGN_OR_RETURN(std::string name, m->GetMeta("chunker"));
  AS_ASSIGN_OR_RETURN(std::string gear, m->GetMeta("chunker.gear"));
  if (name != kChunkerName || gear != kGearTableId) {
    return Status::Unsupported("store uses chunker " + name + "/" + gear +
                               ", which this build does not know");
  }
  AS_ASSIGN_OR_RETURN(std::string mn, m->GetMeta("chunker.min"));
  AS_ASSIGN_OR_RETURN(std::string avg, m->GetMeta("chunker.avg"));
  AS_ASSIGN_OR_RETURN(std::string mx, m->GetMeta("chunker.max"));
  AS_ASSIGN_OR_RETURN(std::string nc, m->GetMeta("chunker.nc"));
  p.min_size = static_cast<uint32_t>(std::stoul(mn));
  p.avg_size = static_cast<uint32_t>(std::stoul(avg));
  p.max_size = static_cast<uint32_t>(std::stoul(mx));
  p.normalization = std::stoi(nc);
  AS_RETURN_IF_ERROR(ValidateChunkerParams(p).WithContext("stored chunker parameters"));
  return p;
}

StoreImpl::StoreImpl(Env* env, std::string dir, const StoreOptions& o, const KernelTable& k,
                     const Chunker& chunker)
    : env_(env), dir_(std::move(dir)), options_(o), kernels_(k),
      chunker_(chunker), group_(std::make_unique<GroupCommit>(this)) {}

Result<std::unique_ptr<StoreImpl>> StoreImpl::OpenImpl(const std::string& dir,
                                                       const StoreOptions& options) {
  Env* env = options.env ? options.env : Env::Default();
  CpuFeatures cpu = DetectCpu();
  if (options.cpu_tier) {
    if (!HasTier(cpu, *options.cpu_tier)) {
      return Status::InvalidArgument("this CPU does not support the requested kernel tier (has: " +
                                     DescribeFeatures(cpu) + ")");
    }
    cpu = CapToTier(cpu, *options.cpu_tier);
  }
  KernelTable k = MakeKernelTable(cpu);
  const std::string marker = dir + "/" + kStoreMarker;
  bool exists = env->FileExists(marker);
  if (!exists) {
    if (!options.create_if_missing) {
      if (!env->FileExists(dir)) {
        return Status::NotFound("store " + dir +
                                " does not exist (run `artifact-store init` to create it)");
      }
      return Status::InvalidArgument(dir + " is not an artifact store (no " + kStoreMarker +
                                     " file; run `artifact-store init` to create one)");
    }
    AS_RETURN_IF_ERROR(ValidateChunkerParams(options.chunker));
    if (!env->FileExists(dir)) {
      AS_RETURN_IF_ERROR(env->CreateDirIfMissing(dir));
      // The new directory's own entry must be durable in its parent.
      AS_RETURN_IF_ERROR(env->SyncDir(ParentDir(dir)));
    }
  } else {
    AS_ASSIGN_OR_RETURN(std::string text, env->ReadFileToString(marker));
    if (text.rfind("artifact-store ", 0) != 0) {
      return Status::InvalidArgument(marker + " is not an artifact-store marker");
    }
    int version = std::atoi(text.c_str() + std::strlen("artifact-store "));
    if (version > 1) {
      return Status::Unsupported("store " + dir + " has format version " +
                                 std::to_string(version) + ", newer than this build (1)");
    }
  }
  AS_ASSIGN_OR_RETURN(auto lock, env->LockFile(dir + "/LOCK"));
  StoreConfig config;
  if (exists) {
    AS_ASSIGN_OR_RETURN(config, ReadStoreConfig(env, dir));
  } else {
    // CONFIG goes first: an init interrupted after making the metadata finds
    // its uuid here when it runs again, and with it the metadata it made.
    auto left = ReadStoreConfig(env, dir);
    if (left.ok() && !left->store_uuid.empty() && left->metadata == options.metadata &&
        left->packs == options.packs && left->s3_endpoint == options.s3_endpoint) {
      config = *left;
    } else {
      config.metadata = options.metadata;
      config.packs = options.packs;
      config.s3_endpoint = options.s3_endpoint;
      config.s3_credentials = options.s3_credentials;
      AS_ASSIGN_OR_RETURN(config.store_uuid, NewStoreUuid());
    }
    AS_RETURN_IF_ERROR(WriteStoreConfig(env, dir, config));
  }
  // The packs first: a prefix bound to another store is refused before any
  // metadata is made for this one.
  AS_ASSIGN_OR_RETURN(auto packs, OpenPackStore(env, dir, config, !exists));
  // The master key before the metadata: a store with encrypted tenants
  // (DIR/KEYS) opened without it, or with another, is refused before a
  // database is opened, migrated or, when lost, made anew (repair).
  std::unique_ptr<crypto::MasterKey> master;
  if (!options.master_key_file.empty()) {
    AS_ASSIGN_OR_RETURN(master, crypto::OpenMasterKeyFile(options.master_key_file));
  } else if (!exists && options.encrypt) {
    return Status::InvalidArgument("an encrypted store needs a master key file "
                                   "(--master-key-file FILE)");
  }
  auto keyring = std::make_unique<Keyring>(env, dir, config.store_uuid, std::move(master));
  if (options.allow_without_master_key && exists) keyring->AllowLocked();
  AS_RETURN_IF_ERROR(keyring->CheckAgainstBackup());
  AS_ASSIGN_OR_RETURN(auto opened, OpenMetadata(env, dir, config, exists, options));
  auto& [meta, recreate] = opened;
  if (recreate) {
    // Placeholders until Reindex reads the real ones from the manifests.
    AS_RETURN_IF_ERROR(SaveChunkerParams(meta.get(), options.chunker));
    AS_RETURN_IF_ERROR(meta->TenantDomain(kDefaultTenant, true).status());
  }
  // The keys before anything is written: a store with encrypted tenants
  // opened without its master key, or with another, is refused as it is.
  keyring->Attach(meta.get());
  AS_RETURN_IF_ERROR(keyring->Load());
  ChunkerParams params = options.chunker;
  uint64_t pack_size = options.pack_target_size.value_or(format::kDefaultPackTargetSize);
  if (!exists) {
    AS_RETURN_IF_ERROR(meta->SetMeta("store_uuid", config.store_uuid));
    AS_RETURN_IF_ERROR(SaveChunkerParams(meta.get(), params));
    AS_RETURN_IF_ERROR(meta->SetMeta("pack.target_size", std::to_string(pack_size)));
    if (options.encrypt) AS_RETURN_IF_ERROR(keyring->Enable(true));
    Metadata::NewTenantKeys keys;
    if (options.encrypt) keys = [&](uint32_t d) { return keyring->NewTenantRows(d); };
    auto made = meta->CreateTenant(kDefaultTenant, keys);  // exists: an init run again
    if (!made.ok() && made.status().code() != Code::kAlreadyExists) return made.status();
    AS_RETURN_IF_ERROR(keyring->Load());
    if (config.packs.empty()) AS_RETURN_IF_ERROR(env->CreateDirIfMissing(dir + "/packs"));
    // The marker goes last: a crash before it leaves a directory that is not
    // yet a store, and init can simply run again.
    AS_RETURN_IF_ERROR(env->WriteStringToFileSync(marker, kStoreMarkerText));
    AS_RETURN_IF_ERROR(env->SyncDir(dir));
  } else {
    AS_ASSIGN_OR_RETURN(params, LoadChunkerParams(meta.get()));
    auto stored = meta->GetMeta("pack.target_size");
    if (stored.ok() && !options.pack_target_size) pack_size = std::stoull(*stored);
  }
  AS_ASSIGN_OR_RETURN(Chunker chunker, Chunker::Create(params, k));
  std::unique_ptr<StoreImpl> s(new StoreImpl(env, dir, options, k, chunker));
  s->pack_target_size_ = pack_size;
  s->metadata_recreated_ = recreate;
  s->lock_ = std::move(lock);
  s->meta_ = std::move(meta);
  s->keyring_ = std::move(keyring);
  s->packs_ = std::move(packs);
  AS_RETURN_IF_ERROR(s->keyring_->SyncBackup());
  if (config.metadata.empty()) {
    // Open reads nothing in proportion to the store: the filter is loaded
    // on a thread when first needed (filter_keeper.cc), and until it is,
    // puts ask the index in batches (put.cc).
    // Through the real file system, not options.env: the files are only a
    // cache of the index (any fault there costs a rebuild, never data), and
    // they are written at close, after a test's fault-injecting Env may be
    // gone.
    s->filter_files_ =
        std::make_unique<FilterFiles>(Env::Default(), dir, config.store_uuid, &s->kernels_);
    if (options.keep_filter) s->StartFilter();
  } else {
    // Metadata on a server: no filter at all; puts ask the index in batches.
    s->filter_.HoldNoKeys();
  }
  s->KeepReserve();
  return s;
}

Result<std::shared_ptr<PackReader>> StoreImpl::Reader(int64_t pack_id) {
  {
    std::lock_guard<std::mutex> l(readers_mu_);
    auto it = readers_.find(pack_id);
    if (it != readers_.end()) return it->second;
  }
  AS_ASSIGN_OR_RETURN(auto row, meta_->GetPack(pack_id));
  if (!row) return Status::Corruption("index names pack id " + std::to_string(pack_id) +
                                      ", which is not in the pack table");
  auto r = PackReader::Open(packs_.get(), &kernels_, row->name, row->size);
  if (!r.ok()) {
    if (r.status().code() == Code::kNotFound) {
      return Status::Corruption("pack " + row->name + " is missing (" + r.status().message() +
                                ")");
    }
    return r.status();
  }
  std::shared_ptr<PackReader> reader(std::move(r).value());
  std::lock_guard<std::mutex> l(readers_mu_);
  // Bounded: file descriptors are finite. Dropping all is simple and rare.
  if (readers_.size() >= 256) readers_.clear();
  readers_[pack_id] = reader;
  return reader;
}

void StoreImpl::ForgetReader(int64_t pack_id) {
  std::lock_guard<std::mutex> l(readers_mu_);
  readers_.erase(pack_id);
}

Result<std::unique_ptr<PackWriter>> StoreImpl::NewPackWriter(uint32_t domain, bool small) {
  AS_ASSIGN_OR_RETURN(auto w, PackWriter::Create(packs_.get(), &kernels_, domain, small));
  // Before its first byte: gc (on any server) leaves it alone meanwhile.
  AS_RETURN_IF_ERROR(meta_->AddPendingPack(w->name()));
  return w;
}

void StoreImpl::NoteMappedRead(uint64_t bytes) {
  // Pages read through pack mappings count toward the process's RSS until
  // unmapped: every 64 MiB checked in place, every cached pack gives its
  // pages back, so RSS stays bounded however long the reads (the pages stay
  // in the page cache; readers in flight fault theirs back in).
  constexpr uint64_t kReleaseEvery = 64 << 20;
  if (mapped_since_release_.fetch_add(bytes, std::memory_order_relaxed) + bytes < kReleaseEvery) {
    return;
  }
  mapped_since_release_.store(0, std::memory_order_relaxed);
  std::vector<std::shared_ptr<PackReader>> all;
  {
    std::lock_guard<std::mutex> l(readers_mu_);
    for (auto& [id, r] : readers_) all.push_back(r);
  }
  for (auto& r : all) r->ReleaseMapped();
}

int StoreImpl::Workers() const {
  if (options_.compress_workers) return *options_.compress_workers;
  // The CPUs are shared by the puts and gets running now: with as many of
  // them as CPUs, extra threads would only take turns (a server with 64
  // connections must not run 64 read-ahead pools).
  const int spare = CompressPipeline::DefaultWorkers();
  const int others = active_ops_.load(std::memory_order_relaxed) - 1;
  return std::max(0, spare - std::max(0, others));
}

Status StoreImpl::CheckHealth() {
  AS_RETURN_IF_ERROR(meta_->GcEpoch().status());  // one query
  return packs_->Ping();
}

void StoreImpl::PackDone(const std::string& name) {
  meta_->RemovePendingPack(name);
}

Result<StoreStats> StoreImpl::Stats() {
  AS_ASSIGN_OR_RETURN(StoreTotals t, meta_->Totals());
  StoreStats s;
  s.logical_bytes = t.logical_bytes;
  s.names = t.names;
  s.manifests = t.manifests;
  s.unique_chunks = t.unique_chunks;
  s.unique_bytes = t.unique_bytes;
  s.stored_bytes = t.stored_bytes;
  s.packs = t.packs;
  s.pack_bytes = t.pack_bytes;
  s.metadata = meta_->Describe();
  s.packs_at = packs_->Describe();
  return s;
}

Status StoreImpl::Remove(const ObjectName& name) {
  // Removing is how room is made: on a file system full to the last block,
  // the reserve is spent on it.
  Status s =
      SpendingReserveIfFull([&] { return meta_->RemoveName(name.tenant, name.bucket, name.key); });
  if (s.code() == Code::kNotFound) {
    return Status::NotFound("no artifact named " + name.ToString());
  }
  return s;
}

}  // namespace as
