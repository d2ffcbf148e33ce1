// Garbage collection as phases of one run (GcRun): expire abandoned uploads;
// the manifests (mark the roots, doom what they do not reach, mark again,
// sweep); the chunks (the same, over every manifest row still there, within
// the packs chosen to go); the rewrite (delete packs left empty, copy the
// live frames of sparse and small ones, delete those); the orphans (pack
// objects no row names). The doom-and-sweep protocol that makes it safe
// beside puts on any number of servers is Metadata::Doom's. Rows are doomed
// and swept a bounded batch at a time, so that what a run holds grows with
// the store by a key table's few bytes a chunk at most, never by a list of
// its garbage (docs/index-at-scale.md).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "base/test_pause.h"
#include "store/key_table.h"
#include "store/store_impl.h"

namespace as {

namespace {
using Clock = std::chrono::steady_clock;
// A manifest or chunk, as gc's sets key it: the full digest (a collision of
// a shorter key could only keep garbage, but manifests are few).
std::string FullKey(uint32_t domain, const Digest& d) {
  std::string k(reinterpret_cast<const char*>(&domain), sizeof domain);
  return k + d.ToString();
}
struct Row {
  ChunkKey key;
  Location loc;
  bool manifest = false;
};
}  // namespace

class StoreImpl::GcRun {
 public:
  GcRun(StoreImpl* s, const GcOptions& o, const Progress& p, size_t rows_per_commit)
      : s_(s), meta_(s->meta_.get()), o_(o), progress_(p),
        batch_(BatchRows(s->gc_batch_rows_, rows_per_commit)) {
    rep_.dry_run = o.dry_run;
  }

  // Rows a doom or sweep commit holds at most: `rows` (a test's), else the
  // default or AS_TEST_GC_BATCH's, and at most rows_per_commit when that is
  // set (a full disk has room for small transactions only).
  static size_t BatchRows(size_t rows, size_t rows_per_commit) {
    if (rows == 0) {
      static const size_t env = [] {
        const char* v = std::getenv("AS_TEST_GC_BATCH");
        return v ? static_cast<size_t>(std::max(1LL, std::atoll(v))) : size_t{0};
      }();
      rows = env ? env : kBatchRows;
    }
    return rows_per_commit ? std::min(rows, rows_per_commit) : rows;
  }

  Result<GcReport> Run() {
    if (!o_.rekey_tenant.empty()) {
      AS_ASSIGN_OR_RETURN(uint32_t domain, meta_->TenantDomain(o_.rekey_tenant, false));
      AS_ASSIGN_OR_RETURN(rekey_, s_->keyring_->For(domain));
      if (!rekey_) {
        return Status::FailedPrecondition("tenant '" + o_.rekey_tenant +
                                          "' is not encrypted: nothing to rekey");
      }
    }
    if (!o_.dry_run) {
      AS_ASSIGN_OR_RETURN(token_, meta_->BeginGc());
    }
    struct End {
      ~End() {
        if (run->token_) run->meta_->EndGc();
      }
      GcRun* run;
    } end{this};
    start_ = lap_ = Clock::now();
    AS_RETURN_IF_ERROR(ExpireUploads());
    Lap("uploads");
    AS_RETURN_IF_ERROR(Manifests());
    Lap("manifests");
    AS_RETURN_IF_ERROR(Chunks());  // laps "mark", "doom" and "sweep"
    AS_RETURN_IF_ERROR(Rewrite());
    Lap("rewrite");
    AS_RETURN_IF_ERROR(Orphans());
    Lap("orphans");
    if (rekey_) {
      AS_RETURN_IF_ERROR(RekeyAttrs());
      Lap("rekey");
    }
    rep_.seconds = Seconds(Clock::now() - start_);
    return rep_;
  }

 private:
  static double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
  // Ends the phase that began at the previous lap (or the start): what each
  // took goes to the report, so that a slow run says where its time went.
  void Lap(const char* phase) {
    const Clock::time_point now = Clock::now();
    rep_.phase_seconds.emplace_back(phase, Seconds(now - lap_));
    lap_ = now;
  }

  // Abandoned multipart uploads stop being roots once past their grace.
  Status ExpireUploads() {
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    AS_ASSIGN_OR_RETURN(auto expired, meta_->UploadsBefore(now - o_.upload_grace_seconds));
    rep_.uploads_expired = expired.size();
    for (const UploadRow& u : expired) {
      if (o_.dry_run) {
        expired_.insert(u.id);
      } else {
        Status s = meta_->DeleteUpload(u.id);
        if (!s.ok() && s.code() != Code::kNotFound) return s;  // NotFound: completed meanwhile
      }
    }
    return Status::OK();
  }

  // The roots: the manifests of every name and of every part of a live upload.
  Result<std::unordered_set<std::string>> Roots() {
    std::unordered_set<std::string> roots;
    AS_ASSIGN_OR_RETURN(auto names, meta_->AllNames());
    for (const NameRow& n : names) {
      AS_ASSIGN_OR_RETURN(uint32_t d, Domain(n.tenant));
      roots.insert(FullKey(d, n.manifest));
    }
    AS_ASSIGN_OR_RETURN(auto parts, meta_->AllParts());
    for (const auto& [tenant, p] : parts) {
      if (expired_.count(p.upload)) continue;
      AS_ASSIGN_OR_RETURN(uint32_t d, Domain(tenant));
      roots.insert(FullKey(d, p.manifest));
    }
    return roots;
  }

  Result<uint32_t> Domain(const std::string& tenant) {
    auto it = domains_.find(tenant);
    if (it == domains_.end()) {
      AS_ASSIGN_OR_RETURN(uint32_t d, meta_->TenantDomain(tenant, false));
      it = domains_.emplace(tenant, d).first;
    }
    return it->second;
  }

  // Dooms a row: it joins the batch of its kind, and a full batch is doomed
  // at once, so the rows to doom are never all held (EndDoom dooms the rest).
  Status AddDoom(const ChunkKey& key, int64_t pack, bool manifest) {
    auto& batch = manifest ? doom_manifests_ : doom_chunks_;
    batch.push_back({key, pack});
    return batch.size() >= batch_ ? FlushDoom() : Status::OK();
  }

  // Dooms the rows batched so far, at a new epoch: the latest is the one the
  // horizon must pass. Sorted by key, the updates walk the chunk table's
  // B-tree in order rather than jump about it (a pack's rows are scattered
  // over the whole key space).
  Status FlushDoom() {
    if (doom_chunks_.empty() && doom_manifests_.empty()) return Status::OK();
    auto by_key = [](const std::pair<ChunkKey, int64_t>& a, const std::pair<ChunkKey, int64_t>& b) {
      return std::tie(a.first.domain, a.first.digest.algo, a.first.digest.bytes) <
             std::tie(b.first.domain, b.first.digest.algo, b.first.digest.bytes);
    };
    std::sort(doom_chunks_.begin(), doom_chunks_.end(), by_key);
    std::sort(doom_manifests_.begin(), doom_manifests_.end(), by_key);
    int64_t epoch = 0;
    AS_RETURN_IF_ERROR(meta_->Doom(token_, doom_chunks_, doom_manifests_, &epoch));
    doom_epoch_ = std::max(doom_epoch_, epoch);
    doomed_any_ = true;
    doom_chunks_.clear();
    doom_manifests_.clear();
    TestPause("gc-after-doom-batch");
    return Status::OK();
  }

  // Dooms the rest, then waits (a bounded time) for the horizon to pass the
  // last doom: for every put that began before any of the round's dooms, on
  // any server, to have ended. Rows doomed by an earlier batch are no more
  // at risk meanwhile than those of the last: none is swept before this wait.
  Status EndDoom() {
    AS_RETURN_IF_ERROR(FlushDoom());
    if (doomed_any_ && s_->gc_hook_) s_->gc_hook_("doomed");
    const int64_t epoch = std::exchange(doom_epoch_, 0);
    doomed_any_ = false;
    AS_RETURN_IF_ERROR(WaitForHorizon(meta_, epoch, &horizon_, &rep_.sessions_expelled).status());
    rep_.horizon_lag = std::max<int64_t>(0, epoch - horizon_);
    return Status::OK();
  }

  // Sweeps the doomed rows of one kind that may go (doomed at an epoch up to
  // the horizon; later ones are left for a later run), dropping them or,
  // where `referenced` says so, bringing them back. A batch at a time, each
  // read on its own (ForEachDoomedAfter: no read stays open across the
  // commits) and committed before the next is read. *dropped: how many went.
  Status Sweep(bool manifests, const std::function<bool(const ChunkKey&)>& referenced,
               uint64_t* dropped) {
    *dropped = 0;
    Metadata::Sweep sw;
    auto& keep = manifests ? sw.keep_manifests : sw.keep_chunks;
    auto& drop = manifests ? sw.drop_manifests : sw.drop_chunks;
    std::optional<ChunkKey> after;
    for (size_t rows = batch_; rows == batch_;) {
      rows = 0;
      keep.clear();
      drop.clear();
      AS_RETURN_IF_ERROR(meta_->ForEachDoomedAfter(
          manifests, after ? &*after : nullptr, batch_,
          [&](const ChunkKey& k, int64_t, int64_t epoch) {
            rows++;
            after = k;
            if (epoch > horizon_) {
              rep_.doomed_waiting++;
              return;
            }
            (referenced(k) ? keep : drop).push_back(k);
          }));
      if (keep.empty() && drop.empty()) continue;
      rep_.resurrected += keep.size();
      uint64_t n = 0;
      AS_RETURN_IF_ERROR(meta_->CommitSweep(token_, sw, &n));
      *dropped += n;
      TestPause("gc-after-sweep-batch");
    }
    return Status::OK();
  }

  // Round one: manifests no root reaches. Every manifest row that is still
  // there afterwards is live (rooted, or brought back by a commit).
  Status Manifests() {
    AS_ASSIGN_OR_RETURN(auto roots, Roots());
    std::vector<std::pair<ChunkKey, int64_t>> doom;
    AS_RETURN_IF_ERROR(meta_->ForEachManifest([&](const ManifestRow& m) {
      if (!roots.count(FullKey(m.domain, m.digest))) {
        doom.push_back({ChunkKey{m.domain, m.digest}, m.loc.pack});
      }
    }));
    if (s_->gc_hook_) s_->gc_hook_("marked");
    if (o_.dry_run) {
      rep_.dead_manifests = doom.size();
      for (const auto& [k, pack] : doom) {
        dry_dead_manifests_.Insert(ChunkFilter::Key(k.domain, k.digest));
      }
      return Status::OK();
    }
    // Manifests are few (one an artifact): their list is held whole, and
    // doomed in batches like the chunks'.
    for (const auto& [k, pack] : doom) AS_RETURN_IF_ERROR(AddDoom(k, pack, true));
    AS_RETURN_IF_ERROR(EndDoom());
    TestPause("gc-after-manifest-doom");
    // The second mark: it sees every commit that referenced a doomed row
    // before the doom (the doom waited for them).
    AS_ASSIGN_OR_RETURN(roots, Roots());
    return Sweep(true, [&](const ChunkKey& k) {
      return roots.count(FullKey(k.domain, k.digest)) > 0;
    }, &rep_.dead_manifests);
  }

  // The chunks every manifest row lists, as filter keys (a collision keeps
  // garbage), and *bases_of: each delta chunk's bases.
  // A KeyTable: about 10 bytes a key where a hash set takes ~50 (a gc of
  // 100 million chunks holds every key once or twice).
  Result<KeyTable> Referenced(std::unordered_multimap<uint64_t, uint64_t>* bases_of) {
    KeyTable refs;
    std::vector<ManifestRow> rows;
    AS_RETURN_IF_ERROR(meta_->ForEachManifest([&](const ManifestRow& m) {
      if (!dry_dead_manifests_.Contains(ChunkFilter::Key(m.domain, m.digest))) rows.push_back(m);
    }));
    for (const ManifestRow& row : rows) {
      const std::string key = FullKey(row.domain, row.digest);
      auto it = chunks_of_.find(key);
      if (it != chunks_of_.end()) {
        for (uint64_t k : it->second) refs.Insert(k);
        continue;
      }
      // A manifest that cannot be read stops gc: marking without it
      // could delete chunks a live artifact needs.
      auto m = s_->LoadManifest(row);
      if (!m.ok()) return m.status().WithContext("gc: mark aborted, nothing more deleted");
      std::vector<uint64_t> keys;
      keys.reserve(m->chunks.size());
      for (const ChunkRef& c : m->chunks) keys.push_back(ChunkFilter::Key(row.domain, c.digest));
      for (uint64_t k : keys) refs.Insert(k);
      // Kept for the re-mark (manifests are immutable), up to a bound: past
      // it the re-mark reads them again rather than hold 8 bytes for every
      // chunk reference of the store.
      if (cached_keys_ + keys.size() <= kMarkCacheKeys) {
        cached_keys_ += keys.size();
        chunks_of_.emplace(key, std::move(keys));
      }
    }
    bases_of->clear();
    AS_RETURN_IF_ERROR(meta_->ForEachChunkBase([&](const ChunkKey& k, const Digest& b) {
      bases_of->emplace(ChunkFilter::Key(k.domain, k.digest), ChunkFilter::Key(k.domain, b));
    }));
    return refs;
  }

  // Adds to *keys the bases of every chunk in it, and theirs, to a fixpoint:
  // a base lives while a chunk built on it does.
  static void AddBases(const std::unordered_multimap<uint64_t, uint64_t>& bases_of,
                       KeyTable* keys) {
    if (bases_of.empty()) return;
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& [chunk, base] : bases_of) {
        if (keys->Contains(chunk) && keys->Insert(base)) grew = true;
      }
    }
  }

  // The packs, and the manifest rows by pack (one per artifact: few). A dry
  // run sees them as they would be after its sweeps.
  Status List() {
    AS_ASSIGN_OR_RETURN(packs_, meta_->ListPacks());
    manifests_of_.clear();
    return meta_->ForEachManifest([&](const ManifestRow& m) {
      if (dry_dead_manifests_.Contains(ChunkFilter::Key(m.domain, m.digest))) return;
      manifests_of_[m.loc.pack].push_back(Row{ChunkKey{m.domain, m.digest}, m.loc, true});
    });
  }

  // One pack's rows, chunks by offset then manifests: gc holds one pack's
  // rows at a time, never the store's (docs/index-at-scale.md).
  Status PackRows(int64_t pack, std::vector<Row>* rows) {
    rows->clear();
    AS_RETURN_IF_ERROR(meta_->ForEachChunkInPack(pack, [&](const ChunkKey& k, const Location& l) {
      if (dry_dead_chunks_.size() && dry_dead_chunks_.Contains(ChunkFilter::Key(k.domain, k.digest))) {
        return;
      }
      rows->push_back(Row{k, l, false});
    }));
    auto it = manifests_of_.find(pack);
    if (it != manifests_of_.end()) rows->insert(rows->end(), it->second.begin(), it->second.end());
    return Status::OK();
  }

  // Round two: the chunks. Which packs go is decided here, from the live
  // bytes each holds: those with none, the sparse ones, and the small ones
  // when their domain has another pack to merge them with. Unreferenced
  // chunks of those packs are doomed; in packs that stay they are left
  // alone (still usable for dedup).
  Status Chunks() {
    std::unordered_multimap<uint64_t, uint64_t> bases_of;
    AS_ASSIGN_OR_RETURN(auto refs, Referenced(&bases_of));
    AddBases(bases_of, &refs);
    AS_RETURN_IF_ERROR(List());
    auto key_of = [](const Row& r) { return ChunkFilter::Key(r.key.domain, r.key.digest); };
    const uint64_t merge_below = o_.merge_below.value_or(s_->pack_target_size_ / 4);
    std::map<uint32_t, std::pair<std::vector<int64_t>, size_t>> small;  // + rewrites
    // Pass one, a pack at a time: the live bytes of each, and where the
    // delta chunks lie (a delta chunk in a pack that stays keeps its bases).
    std::unordered_map<uint64_t, int64_t> delta_pack;
    std::vector<Row> rows;
    uint64_t all_rows = 0, unreferenced_in_drop = 0;
    for (const PackRow& p : packs_) {
      AS_RETURN_IF_ERROR(PackRows(p.id, &rows));
      uint64_t live_bytes = 0, unreferenced = 0;
      for (const Row& r : rows) {
        const bool ref = !r.manifest && refs.Contains(key_of(r));
        rep_.live_chunks += ref ? 1 : 0;
        unreferenced += !r.manifest && !ref ? 1 : 0;
        live_bytes += r.manifest || ref ? r.loc.frame_len : 0;
        if (!r.manifest && !bases_of.empty() && bases_of.count(key_of(r))) {
          delta_pack.emplace(key_of(r), p.id);
        }
      }
      all_rows += rows.size();
      if (live_bytes == 0 || double(live_bytes) < o_.rewrite_threshold * double(p.size)) {
        unreferenced_in_drop += unreferenced;
        drop_.insert(p.id);
        if (live_bytes > 0) small[p.domain].second++;
      } else if (p.size < merge_below) {
        small[p.domain].first.push_back(p.id);
      }
    }
    for (const auto& [domain, sm] : small) {
      if (sm.first.size() + sm.second < 2) continue;
      drop_.insert(sm.first.begin(), sm.first.end());
      merged_.insert(sm.first.begin(), sm.first.end());
    }
    AS_RETURN_IF_ERROR(ChooseRekeyed());
    // What stays: the referenced chunks, every row of the packs that stay
    // (usable for dedup), and the bases of all of them. A row lies in one
    // pack only, so for the rows of the packs that go, "kept" means
    // referenced or a base of something kept: the rows of the packs that
    // stay need no entry of their own, only their delta chunks do.
    KeyTable keep = std::move(refs);  // refs is not needed after this: one table, not two
    for (const auto& [chunk, pack] : delta_pack) {
      if (!drop_.count(pack)) keep.Insert(chunk);
    }
    AddBases(bases_of, &keep);
    Lap("mark");
    // The packs that go are chosen, and nothing is doomed yet.
    if (s_->gc_hook_) s_->gc_hook_("listed");
    // Pass two: the unreferenced rows of the packs that go are doomed, a
    // batch at a time as they are listed (a dry run counts them, and keeps
    // their keys for the phases after, as its sweep would leave the rows).
    auto doom = [&](const ChunkKey& k, int64_t pack) -> Status {
      const uint64_t key = ChunkFilter::Key(k.domain, k.digest);
      if (keep.Contains(key)) return Status::OK();
      if (!o_.dry_run) return AddDoom(k, pack, false);
      rep_.dead_chunks++;
      dry_dead_chunks_.Insert(key);
      return Status::OK();
    };
    // A pack's rows are scattered over the whole key space, so a batch of
    // them touches a page of the chunk table per row: with more than a
    // batch to doom and more than about one row to doom per page (~50
    // rows), batches by pack would write the table once per batch (at 10
    // million garbage rows, tens of GB). Then the table is read in key order
    // instead, a batch at a time (each a read of its own), and each batch
    // of dooms writes a run of consecutive pages: the table once in all.
    if (unreferenced_in_drop > batch_ && unreferenced_in_drop * 64 > all_rows) {
      std::optional<ChunkKey> after;
      std::vector<std::pair<ChunkKey, int64_t>> page;
      for (size_t got = batch_; got == batch_;) {
        got = 0;
        page.clear();
        AS_RETURN_IF_ERROR(meta_->ForEachChunkAfter(
            after ? &*after : nullptr, batch_, [&](const ChunkKey& k, const Location& l) {
              got++;
              after = k;
              if (drop_.count(l.pack)) page.emplace_back(k, l.pack);
            }));
        for (const auto& [k, pack] : page) AS_RETURN_IF_ERROR(doom(k, pack));
      }
    } else {
      for (const PackRow& p : packs_) {
        if (!drop_.count(p.id)) continue;
        AS_RETURN_IF_ERROR(PackRows(p.id, &rows));
        for (const Row& r : rows) {
          if (!r.manifest) AS_RETURN_IF_ERROR(doom(r.key, p.id));
        }
      }
    }
    if (o_.dry_run) {
      Lap("doom");
      return Status::OK();
    }
    AS_RETURN_IF_ERROR(EndDoom());
    TestPause("gc-after-doom");
    Lap("doom");
    // The second mark: the referenced chunks, and the bases of every chunk
    // that keeps its row (referenced, or not doomed). Only delta chunks have
    // bases, so those are the rows to look at, not the whole index: of the
    // doomed rows, only the delta chunks' keys are held.
    AS_ASSIGN_OR_RETURN(keep, Referenced(&bases_of));
    if (!bases_of.empty()) {
      KeyTable doomed;
      AS_RETURN_IF_ERROR(meta_->ForEachDoomed([&](const ChunkKey& k, bool manifest, int64_t,
                                                  int64_t) {
        const uint64_t key = ChunkFilter::Key(k.domain, k.digest);
        if (!manifest && bases_of.count(key)) doomed.Insert(key);
      }));
      for (const auto& [chunk, base] : bases_of) {
        if (!doomed.Contains(chunk)) keep.Insert(chunk);
      }
      AddBases(bases_of, &keep);
    }
    Status s = Sweep(false, [&](const ChunkKey& k) {
      return keep.Contains(ChunkFilter::Key(k.domain, k.digest));
    }, &rep_.dead_chunks);
    Lap("sweep");
    return s;
  }

  // rekey: the tenant's packs with a frame under a key older than its
  // newest go too (their frames are sealed anew as they are copied). A
  // frame's key id is in its header: one small read per frame.
  Status ChooseRekeyed() {
    if (!rekey_) return Status::OK();
    uint8_t head[format::kFrameHeaderSize];
    std::vector<Row> rows;
    for (const PackRow& p : packs_) {
      if (p.domain != rekey_->domain) continue;
      AS_ASSIGN_OR_RETURN(auto reader, s_->Reader(p.id));
      AS_RETURN_IF_ERROR(PackRows(p.id, &rows));
      for (const Row& r : rows) {
        size_t got = 0;
        auto info = reader->PeekFrame(r.loc.offset, head, sizeof head, &got);
        if (!info.ok()) return info.status().WithContext("rekey: pack " + p.name);
        if (info->cipher == format::CipherId::kNone || info->key_id != rekey_->current) {
          drop_.insert(p.id);
          rep_.packs_rekeyed++;
          break;
        }
      }
    }
    return Status::OK();
  }

  // rekey: the names' attrs sealed under an older key are sealed anew too
  // (a name rebound meanwhile keeps the attrs its new put sealed).
  Status RekeyAttrs() {
    if (!rekey_ || o_.dry_run) return Status::OK();
    AS_ASSIGN_OR_RETURN(auto names, meta_->ListNames(o_.rekey_tenant, ""));
    for (const NameRow& n : names) {
      if (!TenantKeys::IsSealedValue(n.attrs) ||
          TenantKeys::SealedValueKey(n.attrs) == rekey_->current) {
        continue;
      }
      AS_ASSIGN_OR_RETURN(std::string plain, s_->OpenAttrs(n.tenant, n.attrs));
      AS_ASSIGN_OR_RETURN(std::string sealed, rekey_->SealValue(plain));
      Status st = meta_->SetNameAttrs(n.tenant, n.bucket, n.key, sealed, n.manifest);
      if (st.code() == Code::kNotFound || st.code() == Code::kFailedPrecondition) continue;
      AS_RETURN_IF_ERROR(st);
      rep_.values_rekeyed++;
    }
    return Status::OK();
  }

  // Deletes the packs whose rows are all gone, then copies the rows left in
  // the other packs chosen to go into new ones and deletes those. On a full
  // file system the copies may find no room: the empty packs are gone by
  // then, and the rest waits for a later run (rewrites_skipped says why).
  Status Rewrite() {
    AS_RETURN_IF_ERROR(List());  // as the sweeps left them
    Metadata::GcCommit empty;
    std::map<int64_t, const PackRow*> pack_of;
    std::map<int64_t, uint64_t> copy_bytes;  // live bytes of the packs to copy
    std::vector<const PackRow*> copy;
    std::vector<Row> rows;
    uint64_t done = 0;
    for (const PackRow& p : packs_) {
      pack_of[p.id] = &p;
      if (!drop_.count(p.id)) {
        done += p.size;
        continue;
      }
      AS_RETURN_IF_ERROR(PackRows(p.id, &rows));
      if (rows.empty()) {
        empty.dead_packs.push_back(p.id);
      } else {
        copy.push_back(&p);
        for (const Row& r : rows) copy_bytes[p.id] += r.loc.frame_len;
      }
    }
    if (o_.dry_run) {
      for (int64_t id : empty.dead_packs) {
        rep_.packs_deleted++;
        rep_.bytes_reclaimed += pack_of[id]->size;
      }
      for (const PackRow* p : copy) {
        const uint64_t live_bytes = copy_bytes[p->id];
        rep_.packs_rewritten++;
        rep_.packs_merged += merged_.count(p->id);
        rep_.bytes_copied += live_bytes;
        rep_.bytes_reclaimed += p->size - std::min(p->size, live_bytes);
      }
      return Status::OK();
    }
    if (!empty.dead_packs.empty()) {
      std::vector<int64_t> gone;
      AS_RETURN_IF_ERROR(meta_->CommitGc(token_, empty, &gone));
      for (int64_t id : gone) {
        rep_.packs_deleted++;
        rep_.bytes_reclaimed += pack_of[id]->size;
        RemovePack(*pack_of[id]);
      }
    }
    Status s = Copy(copy, pack_of, done);
    if (s.code() == Code::kNoSpace) {
      rep_.rewrites_skipped = s.message();
      return Status::OK();
    }
    return s;
  }

  Status Copy(const std::vector<const PackRow*>& copy,
              std::map<int64_t, const PackRow*>& pack_of, uint64_t done) {
    if (copy.empty()) return Status::OK();
    Metadata::GcCommit commit;
    // New packs are named by nothing until CommitGc: if this fails before
    // it, they go (on a full disk they are what filled it).
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
    } unnamed{s_, &commit};
    // One open output pack per domain: live frames of every pack of the
    // domain that goes land there, a new one started at the target size,
    // so many small packs become few large ones.
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
    uint64_t written = 0;
    auto seal = [&](Out& o) -> Status {
      std::string wname = o.w->name();
      auto sealed = o.w->Seal();
      s_->PackDone(wname);
      o.w.reset();
      if (!sealed.ok()) return sealed.status();
      written += sealed->size;
      commit.new_packs[o.slot] = std::move(sealed).value();
      return Status::OK();
    };
    std::vector<uint8_t> frame, opened, resealed;
    std::vector<Row> rows;
    uint64_t copied = 0;
    for (const PackRow* p : copy) {
      AS_ASSIGN_OR_RETURN(auto reader, s_->Reader(p->id));
      Out& out = outs.try_emplace(p->domain, s_).first->second;
      AS_RETURN_IF_ERROR(PackRows(p->id, &rows));
      for (const Row& r : rows) {
        // Verbatim, and checked on the way.
        auto info = reader->ReadFrame(r.loc.offset, r.loc.frame_len, &frame);
        if (!info.ok()) return info.status().WithContext("gc: copying a live frame");
        if (!out.w) {
          AS_ASSIGN_OR_RETURN(out.w, s_->NewPackWriter(p->domain));
          out.slot = commit.new_packs.size();
          commit.new_packs.emplace_back();
        }
        FrameInfo to = *info;
        const uint8_t* payload = frame.data() + format::kFrameHeaderSize;
        if (rekey_ && p->domain == rekey_->domain && info->key_id != rekey_->current) {
          // Opened (authenticated) and sealed under the newest key: the
          // same length, so the row's frame_len stays right.
          AS_ASSIGN_OR_RETURN(payload, s_->OpenPayload(p->domain, &to, payload, &opened));
          AS_RETURN_IF_ERROR(rekey_->SealFrame(&to, payload, to.stored_len, &resealed));
          payload = resealed.data();
          rep_.frames_rekeyed++;
        }
        AS_ASSIGN_OR_RETURN(uint64_t off, out.w->Add(to, payload));
        Metadata::GcMove mv;
        mv.key = r.key;
        mv.from_pack = p->id;
        mv.to = Location{static_cast<int64_t>(out.slot), off, r.loc.frame_len, r.loc.raw_len};
        (r.manifest ? commit.moved_manifests : commit.moved_chunks).push_back(mv);
        copied += r.loc.frame_len;
        if (out.w->size() >= s_->pack_target_size_) AS_RETURN_IF_ERROR(seal(out));
      }
      commit.dead_packs.push_back(p->id);
      done += p->size;
      if (progress_) progress_(done);
    }
    for (auto& [domain, out] : outs) {
      if (out.w) AS_RETURN_IF_ERROR(seal(out));
    }
    std::vector<int64_t> gone;
    AS_RETURN_IF_ERROR(meta_->CommitGc(token_, commit, &gone));
    unnamed.armed = false;
    rep_.packs_written += commit.new_packs.size();
    rep_.bytes_copied += copied;
    rep_.bytes_reclaimed -= written;
    for (int64_t id : gone) {
      rep_.packs_rewritten++;
      rep_.packs_merged += merged_.count(id);
      rep_.bytes_reclaimed += pack_of[id]->size;
      RemovePack(*pack_of[id]);
    }
    return Status::OK();
  }

  void RemovePack(const PackRow& p) {
    s_->ForgetReader(p.id);
    s_->packs_->Remove(p.name).IgnoreError();
  }

  // Pack objects no row names: those of pending packs whose session gc
  // expelled (their commits would be fenced), and those of no pending pack
  // (interrupted puts) past the grace period. Pending packs are read BEFORE
  // the pack list: a put that commits in between is then in one or the
  // other.
  Status Orphans() {
    AS_ASSIGN_OR_RETURN(auto pending, meta_->PendingPacks());
    AS_ASSIGN_OR_RETURN(auto now_packs, meta_->ListPacks());
    std::unordered_set<std::string> known;
    for (const PackRow& p : now_packs) known.insert(p.name);
    std::vector<PackObject> objects;
    AS_RETURN_IF_ERROR(s_->packs_->List(&objects));
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    for (const PackObject& o : objects) {
      auto p = pending.find(o.name);
      const bool dead_writer = p != pending.end() && !p->second;
      if (o.sealed && known.count(o.name)) continue;
      if (p != pending.end() && p->second) continue;  // a live writer's
      if (!dead_writer && now - o.mtime < o_.grace_seconds) continue;
      rep_.orphan_files_deleted++;
      rep_.bytes_reclaimed += o.size;
      if (!o_.dry_run) s_->packs_->RemoveLeftover(o).IgnoreError();
    }
    // The pending rows of expelled writers go once their objects have.
    if (!o_.dry_run) {
      for (const auto& [name, live] : pending) {
        if (!live) meta_->RemovePendingPack(name);
      }
    }
    return Status::OK();
  }

  StoreImpl* s_;
  Metadata* meta_;
  const GcOptions o_;
  const Progress progress_;
  static constexpr size_t kBatchRows = 65536;  // ~3 MiB of rows to doom, ~2.5 to sweep
  const size_t batch_;
  int64_t token_ = 0;
  int64_t horizon_ = 0;  // EndDoom's: rows doomed at an epoch up to it may be swept
  std::vector<std::pair<ChunkKey, int64_t>> doom_chunks_, doom_manifests_;  // AddDoom's batch
  int64_t doom_epoch_ = 0;   // the latest doom of the round (FlushDoom)
  bool doomed_any_ = false;  // of the round
  GcReport rep_;
  Clock::time_point start_, lap_;
  std::unordered_set<std::string> expired_;  // dry run: uploads that would expire
  // Dry run: the manifests and chunks its sweeps would drop, as filter keys
  // (a key table's ~10 bytes a chunk; a collision of two 64-bit keys could
  // only make a dry run's figures a row off).
  KeyTable dry_dead_manifests_, dry_dead_chunks_;
  std::unordered_map<std::string, uint32_t> domains_;
  std::unordered_map<std::string, std::vector<uint64_t>> chunks_of_;  // manifest -> chunk keys
  static constexpr size_t kMarkCacheKeys = size_t{8} << 20;  // 64 MiB of keys
  size_t cached_keys_ = 0;
  std::vector<PackRow> packs_;
  std::map<int64_t, std::vector<Row>> manifests_of_;  // manifest rows by pack (List)
  std::shared_ptr<const TenantKeys> rekey_;  // the tenant a rekey seals anew
  std::set<int64_t> drop_, merged_;  // packs that go; of them, those taken for being small
};

// A full file system is when gc is needed most. A run deletes before it
// copies, and a copy that finds no room leaves the rest for a later run.
// When even the metadata commits find no room (SQLite logs every page a
// commit changes), the run is repeated committing a bounded number of rows
// at a time, and at the last block the store's reserve is spent on it.
Result<bool> WaitForHorizon(Metadata* m, int64_t epoch, int64_t* horizon, uint64_t* expelled) {
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(2 * Metadata::HeartbeatMillis() + 1000);
  while (true) {
    uint64_t n = 0;
    AS_ASSIGN_OR_RETURN(*horizon, m->Horizon(&n));
    *expelled += n;
    if (*horizon >= epoch) return true;
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::max<int64_t>(10, Metadata::HeartbeatMillis() / 4)));
  }
}

Result<GcReport> StoreImpl::Gc(const GcOptions& options, const Progress& progress) {
  std::lock_guard<std::mutex> gc_lock(gc_mu_);
  StartFilter();  // before gc removes rows: the files follow (docs/index-at-scale.md)
  auto r = GcPass(options, progress, 0);
  if (r.ok() && !options.dry_run) KeepReserve();  // if it was spent and there is room again
  if (r.ok() || r.status().code() != Code::kNoSpace || options.dry_run) return r;
  GcOptions next = options;
  next.rewrite_threshold = 0;
  next.merge_below = 0;
  r = GcPass(next, progress, delete_rows_per_commit_);
  bool released = false;
  if (!r.ok() && r.status().code() == Code::kNoSpace && ReleaseReserve()) {
    released = true;
    r = GcPass(next, progress, delete_rows_per_commit_);
  }
  if (!r.ok()) return r;
  r->reserve_released = released;
  return r;
}

Result<GcReport> StoreImpl::GcPass(const GcOptions& options, const Progress& progress,
                                   size_t rows_per_commit) {
  GcRun run(this, options, progress, rows_per_commit);
  return run.Run();
}

}  // namespace as
