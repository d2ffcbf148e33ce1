#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "store/store_impl.h"

namespace as {

namespace {
struct Rec {
  ChunkKey key;
  Location loc;
  bool manifest = false;
  bool live = false;
};
// Adds to *keys the bases of every chunk in it, and theirs, to a fixpoint.
void AddBases(const std::unordered_multimap<uint64_t, uint64_t>& bases_of,
              std::unordered_set<uint64_t>* keys) {
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [chunk, base] : bases_of) {
      if (keys->count(chunk) && keys->insert(base).second) grew = true;
    }
  }
}
uint64_t LiveBytes(const std::vector<Rec>& recs) {
  uint64_t n = 0;
  for (const Rec& r : recs) n += r.live ? r.loc.frame_len : 0;
  return n;
}
}  // namespace

// A full file system is when gc is needed most, and a rewrite or merge needs
// room for its copies before it frees the old packs. Packs with no live frame
// need none: when the copies do not fit, a second pass deletes just those.
// Full to the last block, not even the deletions can commit (SQLite has no
// room for its log): then the store's reserve is spent on them.
Result<GcReport> StoreImpl::Gc(const GcOptions& options, const Progress& progress) {
  std::lock_guard<std::mutex> gc_lock(gc_mu_);
  bool copies = false;
  auto r = GcPass(options, progress, &copies, 0);
  if (r.ok() && !options.dry_run) KeepReserve();  // if it was spent and there is room again
  if (r.ok() || r.status().code() != Code::kNoSpace || options.dry_run) return r;
  GcOptions next = options;
  std::string skipped;
  if (copies) {
    next.rewrite_threshold = 0;
    next.merge_below = 0;
    skipped = r.status().message();
    r = GcPass(next, progress, nullptr, delete_rows_per_commit_);
  }
  bool released = false;
  if (!r.ok() && r.status().code() == Code::kNoSpace && ReleaseReserve()) {
    released = true;
    r = GcPass(next, progress, nullptr, delete_rows_per_commit_);
  }
  if (!r.ok()) return r;
  r->rewrites_skipped = skipped;
  r->reserve_released = released;
  return r;
}

// Mark and sweep (DESIGN contract 9). The mark and the lease check run under
// the commit lock, so no put commits in between; the copying of live frames
// runs without it; the index update takes it again briefly. Files are deleted
// only after the transaction that stops naming them has committed. Called
// with gc_mu_ held. *copies (if given): whether it chose packs to rewrite or
// merge, which needs room for their live frames. rows_per_commit > 0: a pass
// that copies nothing commits its deletions at most that many rows at a time.
Result<GcReport> StoreImpl::GcPass(const GcOptions& options, const Progress& progress, bool* copies,
                                   size_t rows_per_commit) {
  // A filter without keys records what this pass deletes (as doomed) so that
  // no put dedups against it meanwhile; once the pass has committed or
  // failed, the index alone answers again.
  struct ForgetDoomedAtEnd {
    ChunkFilter* f;
    ~ForgetDoomedAtEnd() { f->ForgetDoomed(); }
  } forget{&filter_};
  GcReport rep;
  rep.dry_run = options.dry_run;
  std::vector<PackRow> packs;
  std::map<int64_t, std::vector<Rec>> by_pack;
  std::set<int64_t> drop, merged;  // packs that go; of them, those taken for being small
  std::unordered_set<uint64_t> live;  // ChunkFilter keys of live chunks and manifests
  std::unordered_map<std::string, uint32_t> domains;
  std::set<std::pair<uint32_t, std::string>> marked;
  // Marks a root manifest and its chunks live.
  auto mark_in = [&](uint32_t domain, const Digest& manifest, const std::string& what) -> Status {
    // Many names may share one manifest (copies, dedup): mark it once.
    // Full digests here: a 64-bit key collision must never skip a mark.
    if (!marked.emplace(domain, manifest.ToString()).second) return Status::OK();
    AS_ASSIGN_OR_RETURN(auto mrow, meta_->FindManifest(domain, manifest));
    if (!mrow) {
      return Status::Corruption("gc: " + what + " points at manifest " + manifest.ToString() +
                                ", not in the index; nothing deleted (run `repair --reindex`)");
    }
    // A manifest that cannot be read stops GC: marking without it could
    // delete chunks a live artifact needs.
    auto m = LoadManifest(*mrow);
    if (!m.ok()) return m.status().WithContext("gc: mark aborted, nothing deleted");
    live.insert(ChunkFilter::Key(domain, manifest));
    for (const ChunkRef& c : m->chunks) live.insert(ChunkFilter::Key(domain, c.digest));
    return Status::OK();
  };
  auto mark = [&](const std::string& tenant, const Digest& manifest,
                  const std::string& what) -> Status {
    auto it = domains.find(tenant);
    if (it == domains.end()) {
      AS_ASSIGN_OR_RETURN(uint32_t d, meta_->TenantDomain(tenant, false));
      it = domains.emplace(tenant, d).first;
    }
    return mark_in(it->second, manifest, what);
  };

  // The mark reads every live manifest: it runs on a snapshot of the roots,
  // without the commit lock, so puts go on committing meanwhile. What they
  // bind in the meantime is in the root log and is marked under the lock.
  struct RootLog {  // stops the log however gc leaves
    explicit RootLog(Metadata* m) : meta(m) { meta->StartRootLog(); }
    RootLog(const RootLog&) = delete;
    std::vector<Metadata::BoundRoot> Stop() {
      on = false;
      return meta->StopRootLog();
    }
    ~RootLog() {
      if (on) meta->StopRootLog();
    }
    Metadata* meta;
    bool on = true;
  };
  std::optional<RootLog> root_log;
  std::unordered_set<std::string> expired_ids;
  {
    std::unique_lock<std::shared_mutex> l(commit_mu_);
    // Abandoned multipart uploads stop being roots once past their grace.
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    AS_ASSIGN_OR_RETURN(auto expired, meta_->UploadsBefore(now - options.upload_grace_seconds));
    rep.uploads_expired = expired.size();
    if (!options.dry_run) {
      for (const UploadRow& u : expired) AS_RETURN_IF_ERROR(meta_->DeleteUpload(u.id));
    }
    for (const UploadRow& u : expired) expired_ids.insert(u.id);
    root_log.emplace(meta_.get());
  }
  // Roots: every live name's manifest, and every part of a live upload.
  AS_ASSIGN_OR_RETURN(auto names, meta_->AllNames());
  for (const NameRow& n : names) {
    AS_RETURN_IF_ERROR(mark(n.tenant, n.manifest, "name " + n.bucket + "/" + n.key));
  }
  AS_ASSIGN_OR_RETURN(auto parts, meta_->AllParts());
  for (const auto& [tenant, p] : parts) {
    if (expired_ids.count(p.upload)) continue;
    AS_RETURN_IF_ERROR(mark(tenant, p.manifest,
                            "part " + std::to_string(p.number) + " of upload " + p.upload));
  }
  if (gc_hook_) gc_hook_("marked");
  // The index, also without the lock: only these packs and rows are ever
  // dropped or moved. A put committing from here on writes new packs (not
  // listed), and a chunk it re-stores gets a row in its own pack, which the
  // moves and deletes (conditioned on the old pack) leave alone.
  AS_ASSIGN_OR_RETURN(packs, meta_->ListPacks());
  AS_RETURN_IF_ERROR(meta_->ForEachChunk([&](const ChunkKey& k, const Location& loc) {
    by_pack[loc.pack].push_back(Rec{k, loc, false, false});
  }));
  AS_RETURN_IF_ERROR(meta_->ForEachManifest([&](const ManifestRow& m) {
    by_pack[m.loc.pack].push_back(Rec{ChunkKey{m.domain, m.digest}, m.loc, true, false});
  }));
  // Delta chunks' bases (filter keys, chunk -> base): a base lives while a
  // chunk built on it does. A base is chosen among chunks that are not delta
  // chunks, but a race can re-store one as a delta chunk later, so the bases
  // of bases are followed too (AddBases).
  std::unordered_multimap<uint64_t, uint64_t> bases_of;
  std::unordered_set<uint64_t> base_keys;
  AS_RETURN_IF_ERROR(meta_->ForEachChunkBase([&](const ChunkKey& k, const Digest& b) {
    bases_of.emplace(ChunkFilter::Key(k.domain, k.digest), ChunkFilter::Key(k.domain, b));
    base_keys.insert(ChunkFilter::Key(k.domain, b));
  }));
  if (gc_hook_) gc_hook_("listed");
  {
    // Under the lock: the roots bound meanwhile, the decisions, and the
    // leases of puts still running.
    std::unique_lock<std::shared_mutex> l(commit_mu_);
    for (const Metadata::BoundRoot& r : root_log->Stop()) {
      if (r.chunk && r.domain) {  // the base of a delta chunk stored meanwhile
        live.insert(ChunkFilter::Key(*r.domain, r.manifest));
        continue;
      }
      AS_RETURN_IF_ERROR(r.domain ? mark_in(*r.domain, r.manifest, "a root bound during gc")
                                  : mark(r.tenant, r.manifest, "a root bound during gc"));
    }
    AddBases(bases_of, &live);
    std::vector<uint64_t> dead_keys;
    std::vector<Rec*> dead_recs;
    for (auto& [pack, recs] : by_pack) {
      for (Rec& r : recs) r.live = live.count(ChunkFilter::Key(r.key.domain, r.key.digest)) > 0;
    }
    // Which packs go: those with no live frame, the sparse ones, and the
    // small ones when their domain has another pack to merge them with.
    // Decided once, here, for both phases.
    const uint64_t merge_below = options.merge_below.value_or(pack_target_size_ / 4);
    std::map<uint32_t, std::pair<std::vector<int64_t>, size_t>> small;  // + rewrites
    for (const PackRow& p : packs) {
      const uint64_t live_bytes = LiveBytes(by_pack[p.id]);
      if (live_bytes == 0 || double(live_bytes) < options.rewrite_threshold * double(p.size)) {
        drop.insert(p.id);
        if (live_bytes > 0) small[p.domain].second++;
      } else if (p.size < merge_below) {
        small[p.domain].first.push_back(p.id);
      }
    }
    for (const auto& [domain, s] : small) {
      if (s.first.size() + s.second < 2) continue;
      drop.insert(s.first.begin(), s.first.end());
      merged.insert(s.first.begin(), s.first.end());
    }
    for (const PackRow& p : packs) {
      if (copies && drop.count(p.id) && LiveBytes(by_pack[p.id]) > 0) *copies = true;
    }
    // Chunks a running put has deduplicated against stay. Dead chunks of the
    // packs GC will drop leave the filter now, so no later put dedups against
    // them; dead chunks in packs that stay are left alone (still usable).
    //
    // Bases go second: a base stays while any chunk built on it keeps its
    // row, which a dead chunk in a pack that stays does (it can still be
    // deduplicated against), and so does one a running put has leased.
    std::unordered_set<uint64_t> kept_deltas;  // delta chunks whose rows stay
    for (const PackRow& p : packs) {
      // Without delta chunks a kept pack's rows decide nothing: skip them
      // (this runs under the commit lock).
      if (bases_of.empty() && !drop.count(p.id)) continue;
      for (Rec& r : by_pack[p.id]) {
        if (r.manifest) continue;
        const uint64_t key = ChunkFilter::Key(r.key.domain, r.key.digest);
        if (!drop.count(p.id) || r.live) {
          if (bases_of.count(key)) kept_deltas.insert(key);
        } else if (!base_keys.count(key)) {
          dead_keys.push_back(key);
          dead_recs.push_back(&r);
        }
      }
    }
    auto spare = [&] {
      if (options.dry_run) return;
      std::vector<bool> spared = filter_.SpareLeasedAndErase(dead_keys);
      for (size_t i = 0; i < spared.size(); i++) {
        dead_recs[i]->live = spared[i];
        const uint64_t key = dead_keys[i];
        if (spared[i] && bases_of.count(key)) kept_deltas.insert(key);
      }
    };
    spare();
    // A base that is itself a delta chunk (that race again) is kept, with its
    // bases, whatever becomes of the chunks built on it: at worst they live
    // one gc longer.
    std::unordered_set<uint64_t> kept_bases = kept_deltas;
    for (uint64_t b : base_keys) {
      if (bases_of.count(b)) kept_bases.insert(b);
    }
    AddBases(bases_of, &kept_bases);
    dead_keys.clear();
    dead_recs.clear();
    for (const PackRow& p : packs) {
      if (base_keys.empty()) break;
      if (!drop.count(p.id)) continue;
      for (Rec& r : by_pack[p.id]) {
        const uint64_t key = ChunkFilter::Key(r.key.domain, r.key.digest);
        if (r.live || r.manifest || !base_keys.count(key)) continue;
        if (kept_bases.count(key)) {
          r.live = true;
        } else {
          dead_keys.push_back(key);
          dead_recs.push_back(&r);
        }
      }
    }
    spare();
  }

  Metadata::GcCommit commit;
  // New packs sealed for the copies are named by nothing until CommitGc: if
  // this pass fails before it, they go (on a full disk they are what filled it).
  struct Unnamed {
    ~Unnamed() {
      if (!armed) return;
      for (const SealedPack& p : commit->new_packs) {
        if (!p.name.empty()) s->packs_->Remove(p.name).IgnoreError();
      }
    }
    StoreImpl* s;
    Metadata::GcCommit* commit;
    bool armed = true;
  } unnamed{this, &commit};
  std::vector<std::string> delete_files;
  // One open output pack per domain: live frames of every dropped pack of
  // the domain go there, a new one started at the target size, so many
  // small packs become few large ones.
  struct Out {
    explicit Out(StoreImpl* st) : s(st) {}
    ~Out() {
      if (w) s->PackDone(w->name());  // an error left it unsealed (it removes its file)
    }
    StoreImpl* s;
    std::unique_ptr<PackWriter> w;
    size_t slot = 0;  // its index in commit.new_packs
  };
  std::map<uint32_t, Out> outs;
  auto seal = [&](Out& o) -> Status {
    std::string wname = o.w->name();
    auto sealed = o.w->Seal();
    PackDone(wname);
    o.w.reset();
    if (!sealed.ok()) return sealed.status();
    rep.bytes_reclaimed -= sealed->size;
    rep.packs_written++;
    commit.new_packs[o.slot] = std::move(sealed).value();
    return Status::OK();
  };
  std::vector<uint8_t> frame;
  uint64_t done = 0;
  for (const PackRow& p : packs) {
    auto& recs = by_pack[p.id];
    const uint64_t live_bytes = LiveBytes(recs);
    for (const Rec& r : recs) {
      if (r.live) {
        rep.live_chunks += r.manifest ? 0 : 1;
      } else if (r.manifest) {
        // Dead manifest rows go wherever their frame is, so no digest
        // lookup finds an artifact whose chunks may be gone.
        rep.dead_manifests++;
        commit.dead_manifests.emplace_back(r.key, p.id);
      }
    }
    done += p.size;
    if (progress) progress(done);
    if (!drop.count(p.id)) continue;
    for (const Rec& r : recs) {
      if (r.live || r.manifest) continue;
      rep.dead_chunks++;
      commit.dead_chunks.emplace_back(r.key, p.id);
    }
    commit.dead_packs.push_back(p.id);
    delete_files.push_back(p.name);
    rep.bytes_reclaimed += p.size;
    if (live_bytes == 0) {
      rep.packs_deleted++;
      continue;
    }
    rep.packs_rewritten++;
    rep.packs_merged += merged.count(p.id);
    rep.bytes_copied += live_bytes;
    if (options.dry_run) {
      rep.bytes_reclaimed -= live_bytes;  // what the copies would take (less their packs' headers)
      continue;
    }
    // Copy the live frames verbatim (re-verified on the way).
    AS_ASSIGN_OR_RETURN(auto reader, Reader(p.id));
    Out& out = outs.try_emplace(p.domain, this).first->second;
    for (const Rec& r : recs) {
      if (!r.live) continue;
      auto info = reader->ReadFrame(r.loc.offset, r.loc.frame_len, &frame);
      if (!info.ok()) return info.status().WithContext("gc: copying a live frame; nothing deleted");
      if (!out.w) {
        AS_ASSIGN_OR_RETURN(out.w, NewPackWriter(p.domain));
        out.slot = commit.new_packs.size();
        commit.new_packs.emplace_back();
      }
      AS_ASSIGN_OR_RETURN(uint64_t off, out.w->Add(*info, frame.data() + format::kFrameHeaderSize));
      Metadata::GcMove mv;
      mv.key = r.key;
      mv.from_pack = p.id;
      mv.to = Location{static_cast<int64_t>(out.slot), off, r.loc.frame_len, r.loc.raw_len};
      (r.manifest ? commit.moved_manifests : commit.moved_chunks).push_back(mv);
      if (out.w->size() >= pack_target_size_) AS_RETURN_IF_ERROR(seal(out));
    }
  }
  for (auto& [domain, out] : outs) {
    if (out.w) AS_RETURN_IF_ERROR(seal(out));
  }
  if (!options.dry_run && rows_per_commit > 0 && commit.new_packs.empty()) {
    AS_RETURN_IF_ERROR(CommitDeletions(commit, delete_files, rows_per_commit));
  } else if (!options.dry_run) {
    if (!commit.dead_packs.empty() || !commit.new_packs.empty() || !commit.dead_manifests.empty()) {
      std::unique_lock<std::shared_mutex> l(commit_mu_);
      AS_RETURN_IF_ERROR(meta_->CommitGc(commit));
    }
    unnamed.armed = false;
    for (int64_t id : commit.dead_packs) ForgetReader(id);
    for (const std::string& name : delete_files) {
      packs_->Remove(name).IgnoreError();
    }
  }

  // Orphans: pack files no row names (interrupted puts), past the grace period.
  // In-flight names are copied BEFORE the pack list is read: a put that
  // commits in between is then in one or the other.
  std::set<std::string> inflight_before;
  {
    std::lock_guard<std::mutex> l(inflight_mu_);
    inflight_before = inflight_packs_;
  }
  AS_ASSIGN_OR_RETURN(auto now_packs, meta_->ListPacks());
  std::unordered_set<std::string> known;
  for (const PackRow& p : now_packs) known.insert(p.name);
  std::vector<PackObject> objects;
  AS_RETURN_IF_ERROR(packs_->List(&objects));
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const PackObject& o : objects) {
    if ((o.sealed && known.count(o.name)) || inflight_before.count(o.name)) continue;
    {
      std::lock_guard<std::mutex> l(inflight_mu_);
      if (inflight_packs_.count(o.name)) continue;
    }
    if (now - o.mtime < options.grace_seconds) continue;
    rep.orphan_files_deleted++;
    rep.bytes_reclaimed += o.size;
    if (!options.dry_run) packs_->RemoveLeftover(o).IgnoreError();
  }
  return rep;
}

// A disk full to the last block may have room for a small transaction only
// (SQLite logs every index page a commit changes, and a dead chunk row is
// about one random page of the chunk table): the deletions go a bounded
// number of rows per transaction. Order: each dead pack's chunk and manifest
// rows, then its own row, its file deleted once that has committed (so each
// commit frees room for the next); last, dead manifest rows of packs that
// stay.
Status StoreImpl::CommitDeletions(const Metadata::GcCommit& all,
                                  const std::vector<std::string>& files, size_t rows_per_commit) {
  std::map<int64_t, std::vector<size_t>> chunks_of, manifests_of;  // pack -> indexes into all
  for (size_t i = 0; i < all.dead_chunks.size(); i++)
    chunks_of[all.dead_chunks[i].second].push_back(i);
  for (size_t i = 0; i < all.dead_manifests.size(); i++) {
    manifests_of[all.dead_manifests[i].second].push_back(i);
  }
  Metadata::GcCommit batch;
  std::vector<size_t> packs_in_batch;  // indexes into all.dead_packs
  size_t rows = 0;
  auto flush = [&]() -> Status {
    if (rows == 0) return Status::OK();
    {
      std::unique_lock<std::shared_mutex> l(commit_mu_);
      AS_RETURN_IF_ERROR(meta_->CommitGc(batch));
    }
    for (size_t k : packs_in_batch) {
      ForgetReader(all.dead_packs[k]);
      packs_->Remove(files[k]).IgnoreError();
    }
    batch = Metadata::GcCommit{};
    packs_in_batch.clear();
    rows = 0;
    return Status::OK();
  };
  auto row = [&]() { return ++rows < rows_per_commit ? Status::OK() : flush(); };
  auto manifests = [&](int64_t pack) -> Status {
    for (size_t i : manifests_of[pack]) {
      batch.dead_manifests.push_back(all.dead_manifests[i]);
      AS_RETURN_IF_ERROR(row());
    }
    manifests_of.erase(pack);
    return Status::OK();
  };
  for (size_t k = 0; k < all.dead_packs.size(); k++) {
    const int64_t id = all.dead_packs[k];
    for (size_t i : chunks_of[id]) {
      batch.dead_chunks.push_back(all.dead_chunks[i]);
      AS_RETURN_IF_ERROR(row());
    }
    AS_RETURN_IF_ERROR(manifests(id));
    batch.dead_packs.push_back(id);
    packs_in_batch.push_back(k);
    AS_RETURN_IF_ERROR(row());
  }
  while (!manifests_of.empty()) AS_RETURN_IF_ERROR(manifests(manifests_of.begin()->first));
  return flush();
}

}  // namespace as
