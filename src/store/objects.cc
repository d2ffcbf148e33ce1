// The object-store side of the API: name lookups and pages, copies,
// buckets, multipart uploads and access keys.
#include <sys/random.h>

#include <cctype>
#include <cerrno>
#include <ctime>
#include <map>

#include "hash/blake3.h"
#include "store/read_ahead.h"
#include "store/store_impl.h"

namespace as {

Result<UploadInfo> StoreImpl::InfoFromUpload(const UploadRow& u) {
  AS_ASSIGN_OR_RETURN(std::string attrs, OpenAttrs(u.tenant, u.attrs));
  return UploadInfo{u.id, ObjectName{u.tenant, u.bucket, u.key}, std::move(attrs), u.created};
}

Result<PartInfo> StoreImpl::InfoFromPart(const std::string& tenant, const PartRow& p) {
  AS_ASSIGN_OR_RETURN(std::string attrs, OpenAttrs(tenant, p.attrs));
  return PartInfo{p.number, p.content, p.manifest, p.size, std::move(attrs), p.created};
}

Result<ArtifactInfo> StoreImpl::Info(const NameRow& n) {
  ArtifactInfo a = InfoFromName(n);
  AS_ASSIGN_OR_RETURN(a.attrs, OpenAttrs(n.tenant, n.attrs));
  return a;
}

namespace {

Status CheckBucket(const std::string& b) {
  if (b.empty() || b.find('/') != std::string::npos || b.find('\0') != std::string::npos) {
    return Status::InvalidArgument("bucket name '" + b + "': must be non-empty, without '/'");
  }
  return Status::OK();
}

constexpr std::string_view kHex = "0123456789abcdef";
constexpr std::string_view kKeyIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";  // 32
constexpr std::string_view kSecretAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";  // 64

}  // namespace

// n characters drawn uniformly from `alphabet` (size a power of two up to
// 64), from the kernel's CSPRNG.
Result<std::string> RandomText(size_t n, std::string_view alphabet) {
  std::string bytes(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(bytes.data() + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("getrandom", errno);
    }
    got += static_cast<size_t>(r);
  }
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i++) {
    out[i] = alphabet[static_cast<unsigned char>(bytes[i]) % alphabet.size()];
  }
  return out;
}

// Tenant names end up in messages, keys and metadata: keep them plain.
Status CheckTenant(const std::string& t) {
  bool ok = !t.empty() && t.size() <= 64;
  for (char c : t) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                               c == '_' || c == '.');
  if (!ok) {
    return Status::InvalidArgument("tenant name '" + t +
                                   "': use 1-64 letters, digits, '-', '_' or '.'");
  }
  return Status::OK();
}

ArtifactInfo InfoFromName(const NameRow& n) {
  ArtifactInfo a;
  a.name = ObjectName{n.tenant, n.bucket, n.key};
  a.version = n.version;
  a.content = n.content;
  a.manifest = n.manifest;
  a.size = n.size;
  a.created = n.created;
  a.attrs = n.attrs;
  return a;
}

Result<ArtifactInfo> StoreImpl::Lookup(const ObjectName& name) {
  AS_ASSIGN_OR_RETURN(auto n, meta_->GetName(name.tenant, name.bucket, name.key));
  if (!n) return Status::NotFound("no artifact named " + name.ToString());
  return Info(*n);
}

Result<ArtifactInfo> StoreImpl::LookupDigest(const std::string& tenant, const Digest& digest) {
  auto domain = meta_->TenantDomain(tenant, false);
  if (!domain.ok() && domain.status().code() == Code::kNotFound) {
    return Status::NotFound("no artifact with digest " + digest.ToString());
  }
  AS_RETURN_IF_ERROR(domain.status());
  AS_ASSIGN_OR_RETURN(Digest d, CatalogDigest(*domain, digest));
  AS_ASSIGN_OR_RETURN(auto n, meta_->FindNameByDigest(tenant, d));
  if (!n) return Status::NotFound("no artifact with digest " + digest.ToString());
  AS_ASSIGN_OR_RETURN(ArtifactInfo a, Info(*n));
  // Found by its plain content digest: that is its content digest (the row
  // of an encrypted tenant holds only a keyed value of it).
  if (n->content == d && d != digest) a.content = digest;
  return a;
}

Result<std::vector<ArtifactInfo>> StoreImpl::ListBucket(const std::string& tenant,
                                                        const std::string& bucket,
                                                        const std::string& prefix,
                                                        const std::string& after, size_t limit) {
  AS_ASSIGN_OR_RETURN(auto rows, meta_->ListKeys(tenant, bucket, prefix, after, limit));
  std::vector<ArtifactInfo> out;
  out.reserve(rows.size());
  for (const NameRow& n : rows) {
    AS_ASSIGN_OR_RETURN(ArtifactInfo a, Info(n));
    out.push_back(std::move(a));
  }
  return out;
}

Result<ArtifactInfo> StoreImpl::Copy(const ObjectName& from, const ObjectName& to,
                                     const std::string& attrs, bool require_bucket,
                                     const std::optional<Digest>& if_manifest) {
  if (from.tenant != to.tenant) {
    return Status::InvalidArgument("copy from tenant " + from.tenant + " to " + to.tenant +
                                   ": copies stay within a tenant");
  }
  NameRow src, dst;
  src.tenant = from.tenant;
  src.bucket = from.bucket;
  src.key = from.key;
  dst.tenant = to.tenant;
  dst.bucket = to.bucket;
  dst.key = to.key;
  AS_ASSIGN_OR_RETURN(dst.attrs, SealAttrs(to.tenant, attrs));
  dst.created = static_cast<int64_t>(std::time(nullptr));
  // Under the commit lock like a put: GC's mark sees the source name or the
  // copy, never neither.
  std::shared_lock<std::shared_mutex> l(commit_mu_);
  AS_ASSIGN_OR_RETURN(NameRow row, meta_->CopyName(src, dst, require_bucket, if_manifest));
  AS_ASSIGN_OR_RETURN(auto bound, meta_->GetName(to.tenant, to.bucket, to.key));
  return Info(bound ? *bound : row);
}

Status StoreImpl::SetAttrs(const ObjectName& name, const std::string& attrs,
                           const std::optional<Digest>& if_manifest) {
  AS_ASSIGN_OR_RETURN(std::string sealed, SealAttrs(name.tenant, attrs));
  return meta_->SetNameAttrs(name.tenant, name.bucket, name.key, sealed, if_manifest);
}

Result<std::vector<uint8_t>> StoreImpl::ManifestBytes(const std::string& tenant,
                                                      const std::string& ref) {
  AS_ASSIGN_OR_RETURN(Resolved r, Resolve(tenant, ref));
  return LoadManifestBytes(r.manifest);
}

Status StoreImpl::CreateBucket(const std::string& tenant, const std::string& bucket) {
  AS_RETURN_IF_ERROR(CheckTenant(tenant));
  AS_RETURN_IF_ERROR(CheckBucket(bucket));
  AS_RETURN_IF_ERROR(Domain(tenant, true).status());
  return meta_->CreateBucket(tenant, bucket);
}

Status StoreImpl::DeleteBucket(const std::string& tenant, const std::string& bucket) {
  return meta_->DeleteBucket(tenant, bucket);
}

Result<std::vector<BucketInfo>> StoreImpl::ListBuckets(const std::string& tenant) {
  AS_ASSIGN_OR_RETURN(auto rows, meta_->ListBuckets(tenant));
  std::vector<BucketInfo> out;
  for (const BucketRow& b : rows) out.push_back(BucketInfo{b.bucket, b.created});
  return out;
}

Result<BucketInfo> StoreImpl::GetBucket(const std::string& tenant, const std::string& bucket) {
  AS_ASSIGN_OR_RETURN(auto b, meta_->GetBucket(tenant, bucket));
  if (!b) return Status::NotFound("bucket " + bucket);
  return BucketInfo{b->bucket, b->created};
}

Result<UploadInfo> StoreImpl::CreateUpload(const ObjectName& name, const std::string& attrs) {
  AS_RETURN_IF_ERROR(ObjectName::Parse(name.ToString(), name.tenant).status());
  AS_ASSIGN_OR_RETURN(std::string id, RandomText(32, kHex));
  AS_ASSIGN_OR_RETURN(std::string sealed, SealAttrs(name.tenant, attrs));
  UploadRow u{id, name.tenant, name.bucket, name.key, std::move(sealed),
              static_cast<int64_t>(std::time(nullptr))};
  AS_RETURN_IF_ERROR(meta_->CreateUpload(u));
  return InfoFromUpload(u);
}

Result<UploadInfo> StoreImpl::GetUpload(const std::string& tenant, const std::string& id) {
  AS_ASSIGN_OR_RETURN(auto u, meta_->GetUpload(id));
  // Another tenant's upload id is as unknown as a made-up one.
  if (!u || u->tenant != tenant) return Status::NotFound("upload " + id);
  return InfoFromUpload(*u);
}

Result<std::vector<UploadInfo>> StoreImpl::ListUploads(const std::string& tenant,
                                                       const std::string& bucket) {
  AS_ASSIGN_OR_RETURN(auto rows, meta_->ListUploads(tenant, bucket));
  std::vector<UploadInfo> out;
  for (const UploadRow& u : rows) {
    AS_ASSIGN_OR_RETURN(UploadInfo i, InfoFromUpload(u));
    out.push_back(std::move(i));
  }
  return out;
}

Result<PartInfo> StoreImpl::PutPart(const std::string& tenant, const std::string& id,
                                    uint32_t number, const ByteSource& source,
                                    const PutOptions& options) {
  AS_RETURN_IF_ERROR(GetUpload(tenant, id).status());
  PartRow part;
  // Parts carry no name hint: a reindex must not turn a part into a name.
  AS_ASSIGN_OR_RETURN(PutResult r, Ingest(tenant, "", source, options,
                                          [&](PutCommit* c, const ManifestRow& m,
                                              int64_t created, std::string attrs) {
                                            part = PartRow{id,        number, m.digest,
                                                           m.content, m.size, std::move(attrs),
                                                           created};
                                            c->part = part;
                                          }));
  (void)r;
  return InfoFromPart(tenant, part);
}

Result<std::vector<PartInfo>> StoreImpl::ListParts(const std::string& tenant,
                                                   const std::string& id) {
  AS_RETURN_IF_ERROR(GetUpload(tenant, id).status());
  AS_ASSIGN_OR_RETURN(auto rows, meta_->ListParts(id));
  std::vector<PartInfo> out;
  for (const PartRow& p : rows) {
    AS_ASSIGN_OR_RETURN(PartInfo i, InfoFromPart(tenant, p));
    out.push_back(std::move(i));
  }
  return out;
}

Status StoreImpl::AbortUpload(const std::string& tenant, const std::string& id) {
  AS_RETURN_IF_ERROR(GetUpload(tenant, id).status());
  return SpendingReserveIfFull([&] { return meta_->DeleteUpload(id); });
}

Result<PutResult> StoreImpl::CompleteUpload(const std::string& tenant, const std::string& id,
                                            const std::vector<uint32_t>& parts,
                                            const std::string& attrs) {
  AS_ASSIGN_OR_RETURN(UploadInfo u, GetUpload(tenant, id));
  if (parts.empty()) return Status::InvalidArgument("upload " + id + ": no parts to complete");
  AS_ASSIGN_OR_RETURN(std::string sealed_attrs, SealAttrs(tenant, attrs));
  AS_ASSIGN_OR_RETURN(uint32_t domain, meta_->TenantDomain(tenant, false));
  // Begun before the parts are read (Metadata::Op).
  const Metadata::Op op = meta_->BeginOp();
  AS_ASSIGN_OR_RETURN(auto rows, meta_->ListParts(id));
  std::map<uint32_t, PartRow> by_number;
  for (auto& p : rows) by_number.emplace(p.number, std::move(p));

  // One manifest listing every part's chunks in order. Its cut points differ
  // from a single put's at part boundaries; the bytes do not.
  Manifest m;
  m.chunker = chunker_.params();
  m.created = static_cast<int64_t>(std::time(nullptr));
  m.name_hint = tenant + "/" + u.name.bucket + "/" + u.name.key;
  for (uint32_t n : parts) {
    auto it = by_number.find(n);
    if (it == by_number.end()) {
      return Status::NotFound("part " + std::to_string(n) + " of upload " + id);
    }
    AS_ASSIGN_OR_RETURN(auto mrow, meta_->FindManifest(domain, it->second.manifest));
    if (!mrow) {
      return Status::Corruption("part " + std::to_string(n) + " of upload " + id +
                                ": manifest " + it->second.manifest.ToString() +
                                " is not in the index");
    }
    AS_ASSIGN_OR_RETURN(Manifest pm, LoadManifest(*mrow));
    m.chunks.insert(m.chunks.end(), pm.chunks.begin(), pm.chunks.end());
    m.size += pm.size;
  }
  // The content digest is the BLAKE3 of the whole: read the parts back (each
  // chunk checked as on any read) and hash them in order.
  Blake3Hasher whole;
  auto fetch = [&](size_t k, ReadAhead::Slot* slot) -> Status {
    AS_RETURN_IF_ERROR(ReadChunk(domain, m.chunks[k].digest, slot));
    if (slot->n != m.chunks[k].length) {
      return Status::Corruption("upload " + id + ": chunk " + m.chunks[k].digest.ToString() +
                                " has the wrong length");
    }
    return Status::OK();
  };
  auto emit = [&](size_t, const ReadAhead::Slot& slot) -> Status {
    whole.Update(slot.data, slot.n);
    return Status::OK();
  };
  AS_RETURN_IF_ERROR(ReadAhead::Run(0, m.chunks.size(), Workers(), fetch, emit));
  m.content = whole.Finalize();

  uint64_t stored = 0;
  AS_ASSIGN_OR_RETURN(ManifestRow row,
                      CommitManifest(domain, m,
                                     [&](PutCommit* c, const ManifestRow& mr, int64_t created,
                                         std::string) {
                                       NameRow n;
                                       n.tenant = tenant;
                                       n.bucket = u.name.bucket;
                                       n.key = u.name.key;
                                       n.manifest = mr.digest;
                                       n.content = mr.content;
                                       n.size = mr.size;
                                       n.created = created;
                                       n.attrs = sealed_attrs;
                                       c->name = std::move(n);
                                       c->require_bucket = true;
                                       c->complete_upload = id;
                                     },
                                     &stored, op));
  PutResult r;
  r.content = m.content;
  r.manifest = row.digest;
  r.size = row.size;
  r.chunks = row.chunks;
  r.stored_bytes = stored;
  return r;
}

Result<AccessKey> StoreImpl::AddAccessKey(const std::string& tenant) {
  AS_RETURN_IF_ERROR(CheckTenant(tenant));
  AS_RETURN_IF_ERROR(Domain(tenant, true).status());
  AccessKeyRow k;
  AS_ASSIGN_OR_RETURN(std::string id, RandomText(18, kKeyIdAlphabet));
  k.id = "AS" + id;
  AS_ASSIGN_OR_RETURN(k.secret, RandomText(40, kSecretAlphabet));
  k.tenant = tenant;
  k.created = static_cast<int64_t>(std::time(nullptr));
  AS_RETURN_IF_ERROR(meta_->AddAccessKey(k));
  return AccessKey{k.tenant, k.id, k.secret, k.created};
}

Result<std::optional<AccessKey>> StoreImpl::FindAccessKey(const std::string& id) {
  AS_ASSIGN_OR_RETURN(auto k, meta_->FindAccessKey(id));
  if (!k) return std::optional<AccessKey>();
  return std::optional<AccessKey>(AccessKey{k->tenant, k->id, k->secret, k->created});
}

Result<std::vector<AccessKey>> StoreImpl::ListAccessKeys() {
  AS_ASSIGN_OR_RETURN(auto rows, meta_->ListAccessKeys());
  std::vector<AccessKey> out;
  for (const auto& k : rows) out.push_back(AccessKey{k.tenant, k.id, k.secret, k.created});
  return out;
}

}  // namespace as
