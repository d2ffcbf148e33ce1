// Encrypted tenants in the store (keyring.h; docs/format/encryption.md):
// tenants made with their keys, frames opened for reading, rotation.
#include <limits>
#include <map>
#include <set>

#include "hash/blake3.h"
#include "store/store_impl.h"

namespace as {

Status CreateMasterKeyFile(const std::string& path) { return crypto::CreateMasterKeyFile(path); }

Result<uint32_t> StoreImpl::Domain(const std::string& tenant, bool create) {
  auto d = meta_->TenantDomain(tenant, false);
  if (d.ok() || !create || d.status().code() != Code::kNotFound) return d;
  AS_RETURN_IF_ERROR(CheckTenant(tenant));
  Status s = CreateTenant(tenant, keyring_->encrypts_new_tenants());
  if (!s.ok() && s.code() != Code::kAlreadyExists) return s;  // exists: made meanwhile
  return meta_->TenantDomain(tenant, false);
}

Status StoreImpl::CreateTenant(const std::string& tenant, bool encrypt) {
  AS_RETURN_IF_ERROR(CheckTenant(tenant));
  if (encrypt) {
    // The first encrypted tenant of a store makes the master key the store's.
    AS_RETURN_IF_ERROR(keyring_->Enable(false));
  }
  Metadata::NewTenantKeys keys;
  if (encrypt) keys = [&](uint32_t domain) { return keyring_->NewTenantRows(domain); };
  auto d = meta_->CreateTenant(tenant, keys);
  if (!d.ok()) return d.status();
  return encrypt ? keyring_->Refresh() : Status::OK();
}

Result<TenantInfo> StoreImpl::GetTenant(const std::string& tenant) {
  AS_ASSIGN_OR_RETURN(uint32_t domain, meta_->TenantDomain(tenant, false));
  AS_ASSIGN_OR_RETURN(auto keys, keyring_->For(domain));
  TenantInfo t;
  t.name = tenant;
  if (keys) {
    t.encrypted = true;
    t.keys = static_cast<uint32_t>(keys->data.size());
    t.current_key = keys->current;
  }
  return t;
}

Result<uint32_t> StoreImpl::RotateTenantKey(const std::string& tenant) {
  AS_ASSIGN_OR_RETURN(uint32_t domain, meta_->TenantDomain(tenant, false));
  auto id = keyring_->Rotate(domain);
  if (!id.ok() && id.status().code() == Code::kFailedPrecondition) {
    return Status::FailedPrecondition("tenant '" + tenant +
                                      "' is not encrypted: it has no keys to rotate");
  }
  return id;
}

Status StoreImpl::RotateMasterKey(const std::string& new_key_file) {
  AS_ASSIGN_OR_RETURN(auto next, crypto::OpenMasterKeyFile(new_key_file));
  if (!keyring_->has_master()) {
    return Status::InvalidArgument("rotating the master key needs the current one "
                                   "(--master-key-file)");
  }
  AS_RETURN_IF_ERROR(keyring_->RotateMaster(std::move(next)));
  return keyring_->SyncBackup();
}

Result<const uint8_t*> StoreImpl::OpenPayload(uint32_t domain, FrameInfo* info,
                                              const uint8_t* payload, std::vector<uint8_t>* buf) {
  if (info->cipher == format::CipherId::kNone) {
    AS_ASSIGN_OR_RETURN(auto keys, keyring_->For(domain));
    if (keys) return Status::Corruption("an unencrypted frame in an encrypted tenant");
    return payload;
  }
  AS_ASSIGN_OR_RETURN(crypto::Key key, keyring_->DataKey(domain, info->key_id));
  AS_ASSIGN_OR_RETURN(*info, OpenFramePayload(key, *info, payload, buf));
  return buf->data();
}

Result<Digest> StoreImpl::CatalogDigest(uint32_t domain, const Digest& d) {
  if (d.algo != DigestAlgo::kBlake3) return d;
  AS_ASSIGN_OR_RETURN(auto keys, keyring_->For(domain));
  return keys ? keys->ContentLookup(d) : d;
}

Result<std::string> StoreImpl::SealAttrs(const std::string& tenant, std::string attrs) {
  if (attrs.empty()) return attrs;
  auto domain = meta_->TenantDomain(tenant, false);
  if (!domain.ok() && domain.status().code() == Code::kNotFound) return attrs;  // fails later
  AS_RETURN_IF_ERROR(domain.status());
  AS_ASSIGN_OR_RETURN(auto keys, keyring_->For(*domain));
  if (!keys) return attrs;
  return keys->SealValue(attrs);
}

Result<std::string> StoreImpl::OpenAttrs(const std::string& tenant, const std::string& attrs) {
  if (!TenantKeys::IsSealedValue(attrs)) return attrs;
  AS_ASSIGN_OR_RETURN(uint32_t domain, meta_->TenantDomain(tenant, false));
  AS_ASSIGN_OR_RETURN(crypto::Key key,
                      keyring_->DataKey(domain, TenantKeys::SealedValueKey(attrs)));
  auto open = TenantKeys::OpenValue(domain, key, attrs);
  if (!open.ok()) return open.status().WithContext("attrs of tenant " + tenant);
  return open;
}

Result<Digest> StoreImpl::IdOf(uint32_t domain, const void* p, size_t n) {
  AS_ASSIGN_OR_RETURN(auto keys, keyring_->For(domain));
  return keys ? keys->Id(p, n) : Blake3(p, n);
}

}  // namespace as

namespace as {

// Retiring a data key is safe once nothing sealed under it is left and
// nothing will be: (1) a newer key has existed for twice the reload interval,
// so every process's keys name a newer one as the newest; (2) every Op begun
// before now has ended (a gc epoch and the horizon past it), so no put still
// holds keys read earlier (a put begins its Op before it takes its keys);
// (3) no live frame's header and no sealed value names it. Under the gc
// token: no gc or rekey moves frames meanwhile.
Result<RetireReport> StoreImpl::RetireTenantKeys(const std::string& tenant) {
  std::lock_guard<std::mutex> gc_lock(gc_mu_);
  AS_ASSIGN_OR_RETURN(uint32_t domain, meta_->TenantDomain(tenant, false));
  AS_RETURN_IF_ERROR(keyring_->Load());
  AS_ASSIGN_OR_RETURN(auto keys, keyring_->For(domain));
  if (!keys) {
    return Status::FailedPrecondition("tenant '" + tenant + "' is not encrypted: it has no keys");
  }
  RetireReport rep;
  AS_ASSIGN_OR_RETURN(std::vector<KeyRow> rows, meta_->ListKeys());
  std::vector<KeyRow> data;
  for (const KeyRow& r : rows) {
    if (r.domain == domain && r.kind == 'D') data.push_back(r);
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const int64_t settle = 2 * Keyring::ReloadAfter().count();  // milliseconds
  std::set<uint32_t> candidates;
  for (size_t i = 0; i + 1 < data.size(); i++) {
    // Not the newest since data[i + 1] was made.
    if ((now - data[i + 1].created) * 1000 > settle) {
      candidates.insert(data[i].id);
    } else {
      rep.kept.emplace_back(data[i].id, "a newer key is too recent (every process reads the "
                                        "keys again within " +
                                            std::to_string(settle / 2000) + " s)");
    }
  }
  if (candidates.empty()) return rep;

  AS_ASSIGN_OR_RETURN(int64_t token, meta_->BeginGc());
  struct End {
    ~End() { m->EndGc(); }
    Metadata* m;
  } end{meta_.get()};
  int64_t epoch = 0;
  AS_RETURN_IF_ERROR(meta_->Doom(token, {}, {}, &epoch));  // a new epoch, no rows
  int64_t horizon = 0;
  uint64_t expelled = 0;
  AS_ASSIGN_OR_RETURN(bool reached, WaitForHorizon(meta_.get(), epoch, &horizon, &expelled));
  if (!reached) {
    return Status::Busy("a put that began before this retire is still running (on this or "
                        "another server); run it again when it has ended");
  }

  // What is still sealed under the candidates: every live frame of the
  // domain (its header), and every sealed value of the tenant.
  std::map<uint32_t, uint64_t> used;  // key id -> frames and values
  std::vector<Location> locs;
  AS_RETURN_IF_ERROR(meta_->ForEachChunk([&](const ChunkKey& k, const Location& l) {
    if (k.domain == domain) locs.push_back(l);
  }));
  AS_RETURN_IF_ERROR(meta_->ForEachManifest([&](const ManifestRow& m) {
    if (m.domain == domain) locs.push_back(m.loc);
  }));
  uint8_t head[format::kFrameHeaderSize];
  for (const Location& l : locs) {
    AS_ASSIGN_OR_RETURN(auto reader, Reader(l.pack));
    size_t got = 0;
    AS_ASSIGN_OR_RETURN(FrameInfo info, reader->PeekFrame(l.offset, head, sizeof head, &got));
    used[info.key_id]++;
  }
  auto value = [&](const std::string& v) {
    if (TenantKeys::IsSealedValue(v)) used[TenantKeys::SealedValueKey(v)]++;
  };
  AS_ASSIGN_OR_RETURN(auto names, meta_->ListNames(tenant, ""));
  for (const NameRow& n : names) value(n.attrs);
  AS_ASSIGN_OR_RETURN(auto uploads, meta_->UploadsBefore(std::numeric_limits<int64_t>::max()));
  for (const UploadRow& u : uploads) {
    if (u.tenant == tenant) value(u.attrs);
  }
  AS_ASSIGN_OR_RETURN(auto parts, meta_->AllParts());
  for (const auto& [t, p] : parts) {
    if (t == tenant) value(p.attrs);
  }
  std::vector<uint32_t> retire;
  for (uint32_t id : candidates) {
    auto u = used.find(id);
    if (u == used.end()) {
      retire.push_back(id);
    } else {
      rep.kept.emplace_back(id, std::to_string(u->second) +
                                    " frames or values are still sealed under it (run `rekey`)");
    }
  }
  if (retire.empty()) return rep;
  AS_RETURN_IF_ERROR(meta_->RetireKeys(domain, retire, &rep.retired));
  AS_RETURN_IF_ERROR(keyring_->Refresh());
  return rep;
}

}  // namespace as
