// Encrypted tenants in the store (keyring.h; docs/format/encryption.md):
// tenants made with their keys, frames opened for reading, rotation.
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
  if (encrypt) {
    AS_RETURN_IF_ERROR(keyring_->Load());
    AS_RETURN_IF_ERROR(keyring_->SyncBackup());
  }
  return Status::OK();
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
