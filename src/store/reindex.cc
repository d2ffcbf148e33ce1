#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include "hash/blake3.h"
#include "store/store_impl.h"

namespace as {

// repair --reindex: the packs alone describe the store (contract 6). Every
// sealed pack is read and every frame CRC-checked; chunk, manifest and pack
// rows are replaced in one transaction. Names are kept; if there are none at
// all (the database was lost), they are restored from the manifests' name
// hints, newest first.
Result<ReindexReport> StoreImpl::Reindex(const Progress& progress) {
  std::lock_guard<std::mutex> gc_lock(gc_mu_);
  std::unique_lock<std::shared_mutex> commit_lock(commit_mu_);
  // The chunk rows are made anew, not through puts: the filter and its
  // files describe the old rows. Both go; the next put or gc starts afresh.
  StopFilter();
  filter_.Forget();
  if (filter_files_) AS_RETURN_IF_ERROR(filter_files_->RemoveAll());
  {
    std::lock_guard<std::mutex> l(filter_mu_);
    filter_started_ = filter_stop_ = false;
    filter_files_end_.reset();
  }
  filter_stopping_.store(false);
  ReindexReport rep;
  if (metadata_recreated_) {
    // The database was lost with the tenants' keys: they come back from
    // DIR/KEYS (with the master key), before any frame is opened.
    Status keys = keyring_->RestoreFromBackup();
    if (!keys.ok() && keys.code() != Code::kNotFound) return keys;
  }
  Metadata::Reindex r;
  std::vector<Manifest> manifests;
  std::vector<PackObject> objects;
  AS_RETURN_IF_ERROR(packs_->List(&objects));
  std::sort(objects.begin(), objects.end(),
            [](const PackObject& x, const PackObject& y) { return x.name < y.name; });
  std::vector<uint8_t> frame, raw, opened;
  uint64_t done = 0;
  for (const PackObject& o : objects) {
    if (!o.sealed) continue;
    const std::string path = packs_->Where(o.name);
    auto reader = PackReader::Open(packs_.get(), &kernels_, o.name, o.size);
    if (!reader.ok()) {
      rep.skipped.push_back(path + ": " + reader.status().message());
      continue;
    }
    auto footer = (*reader)->ReadFooter();
    if (!footer.ok()) {
      rep.skipped.push_back(footer.status().message());
      continue;
    }
    (*reader)->AdviseSequential();
    SealedPack sp = std::move(footer).value();
    sp.name = o.name;
    const int64_t idx = static_cast<int64_t>(r.packs.size());
    for (const FooterEntry& e : sp.entries) {
      auto info = (*reader)->ReadFrame(e.offset, e.frame_len, &frame);
      if (!info.ok() || info->digest != e.digest) {
        rep.skipped.push_back(info.ok() ? path + " offset " + std::to_string(e.offset) +
                                              ": frame digest differs from footer"
                                        : info.status().message());
        continue;
      }
      Location loc{idx, e.offset, e.frame_len, info->raw_len};
      if (info->type == format::RecordType::kChunk) {
        // A sealed delta chunk's bases are inside its sealed payload.
        FrameInfo opened_info = *info;
        Result<std::vector<Digest>> bases = std::vector<Digest>();
        if (info->codec == CodecId::kZstdRef) {
          auto payload =
              OpenPayload(sp.domain, &opened_info, frame.data() + format::kFrameHeaderSize, &raw);
          bases = payload.ok() ? FrameBases(opened_info, *payload)
                               : Result<std::vector<Digest>>(payload.status());
        }
        if (!bases.ok()) {
          rep.skipped.push_back(path + " offset " + std::to_string(e.offset) + ": " +
                                bases.status().message());
          continue;
        }
        for (const Digest& b : *bases) r.bases.emplace_back(ChunkKey{sp.domain, info->digest}, b);
        r.chunks.emplace_back(ChunkKey{sp.domain, info->digest}, loc);
        rep.chunks++;
        continue;
      }
      raw.resize(info->raw_len);
      FrameInfo opened_info = *info;
      auto payload =
          OpenPayload(sp.domain, &opened_info, frame.data() + format::kFrameHeaderSize, &opened);
      Status s = payload.ok() ? DecodeFramePayload(opened_info, *payload, raw.data())
                              : payload.status();
      auto m = s.ok() ? DecodeManifest(raw.data(), raw.size()) : Result<Manifest>(s);
      auto id = IdOf(sp.domain, raw.data(), raw.size());
      if (!m.ok() || !id.ok() || *id != info->digest) {
        rep.skipped.push_back(path + " offset " + std::to_string(e.offset) + ": manifest " +
                              (m.ok() ? "digest mismatch" : m.status().message()));
        continue;
      }
      ManifestRow row;
      row.domain = sp.domain;
      row.digest = info->digest;
      AS_ASSIGN_OR_RETURN(auto keys, keyring_->For(sp.domain));
      row.content = keys ? keys->ContentLookup(m->content) : m->content;
      row.size = m->size;
      row.chunks = m->chunks.size();
      row.loc = loc;
      r.manifests.push_back(row);
      manifests.push_back(std::move(m).value());
      rep.manifests++;
    }
    done += sp.size;
    if (progress) progress(done);
    r.packs.push_back(std::move(sp));
    rep.packs++;
  }
  if (metadata_recreated_ && !manifests.empty()) {
    // The database was lost with the chunker parameters; every manifest
    // records them (contract 3). Keep the store's cut points stable.
    const ChunkerParams& p = manifests.back().chunker;
    AS_RETURN_IF_ERROR(SaveChunkerParams(meta_.get(), p));
    AS_ASSIGN_OR_RETURN(chunker_, Chunker::Create(p, kernels_));
    metadata_recreated_ = false;
  }
  AS_RETURN_IF_ERROR(meta_->CommitReindex(r));
  {
    // Pack ids are reassigned by the reindex: cached readers are keyed by id.
    std::lock_guard<std::mutex> l(readers_mu_);
    readers_.clear();
  }

  AS_ASSIGN_OR_RETURN(auto names, meta_->AllNames());
  if (names.empty()) {
    std::set<uint32_t> domains;
    for (const SealedPack& p : r.packs) domains.insert(p.domain);
    AS_RETURN_IF_ERROR(RestoreTenants(manifests, r.manifests, domains, &rep));
    // Disaster recovery: newest manifest per hinted name wins.
    std::vector<size_t> order(manifests.size());
    for (size_t i = 0; i < order.size(); i++) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return manifests[a].created > manifests[b].created; });
    std::unordered_set<std::string> restored;
    for (size_t i : order) {
      const Manifest& m = manifests[i];
      auto s1 = m.name_hint.find('/');
      auto s2 = s1 == std::string::npos ? s1 : m.name_hint.find('/', s1 + 1);
      if (s2 == std::string::npos || !restored.insert(m.name_hint).second) continue;
      PutCommit c;
      NameRow n;
      n.tenant = m.name_hint.substr(0, s1);
      n.bucket = m.name_hint.substr(s1 + 1, s2 - s1 - 1);
      n.key = m.name_hint.substr(s2 + 1);
      n.manifest = r.manifests[i].digest;
      n.content = r.manifests[i].content;  // a keyed value in an encrypted tenant
      n.size = m.size;
      n.created = m.created;
      auto dom = meta_->TenantDomain(n.tenant, false);
      if (!dom.ok() || *dom != r.manifests[i].domain) continue;  // not restored: reported
      c.name = n;
      AS_RETURN_IF_ERROR(meta_->CommitPut(c));
    }
    AS_ASSIGN_OR_RETURN(names, meta_->AllNames());
  }
  for (const NameRow& n : names) {
    auto dom = meta_->TenantDomain(n.tenant, false);
    if (!dom.ok()) continue;
    AS_ASSIGN_OR_RETURN(auto m, meta_->FindManifest(*dom, n.manifest));
    if (!m) rep.dangling_names.push_back(n.bucket + "/" + n.key);
  }
  if (options_.keep_filter) StartFilter();
  return rep;
}

// A manifest's name hint starts with its tenant's name and its pack records
// the tenant's domain: each domain whose hints agree on one tenant gets it
// back under its old id (so names come back and GC keeps their chunks). A
// domain no hint names, or two hints name differently, is reserved under a
// name no tenant can have, so no new tenant is given it and dedups against
// another's chunks.
Status StoreImpl::RestoreTenants(const std::vector<Manifest>& manifests,
                                 const std::vector<ManifestRow>& rows,
                                 const std::set<uint32_t>& domains, ReindexReport* rep) {
  std::map<uint32_t, std::set<std::string>> named;
  for (size_t i = 0; i < manifests.size(); i++) {
    const std::string& hint = manifests[i].name_hint;
    const size_t slash = hint.find('/');
    if (slash != std::string::npos && slash > 0)
      named[rows[i].domain].insert(hint.substr(0, slash));
  }
  for (uint32_t dom : domains) {
    const auto it = named.find(dom);
    std::string why;
    if (it != named.end() && it->second.size() == 1) {
      const std::string& tenant = *it->second.begin();
      Status s = CheckTenant(tenant);
      if (s.ok()) s = meta_->RestoreTenant(tenant, dom);
      if (s.ok()) {
        rep->tenants_restored.push_back(tenant);
        continue;
      }
      why = s.message();
    } else if (it == named.end()) {
      why = "no manifest in it names its tenant";
    } else {
      why = "its manifests name " + std::to_string(it->second.size()) + " tenants";
    }
    const std::string placeholder = "#unclaimed-domain-" + std::to_string(dom);
    Status s = meta_->RestoreTenant(placeholder, dom);
    rep->tenants_unrestored.push_back(
        "domain " + std::to_string(dom) + ": " + why +
        (s.ok() ? "; reserved as '" + placeholder + "'" : "; not reserved: " + s.message()));
  }
  return Status::OK();
}

}  // namespace as
