#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "hash/blake3.h"
#include "store/store_impl.h"

namespace as {

namespace {
struct Indexed {
  ChunkKey key;
  Location loc;
  bool manifest = false;
  bool seen = false;
};
using PackRows = std::map<uint64_t, Indexed>;  // offset -> row

// What checking one pack found; merged into the report in pack order.
struct PackCheck {
  uint64_t packs = 0, frames = 0, bytes = 0, manifests = 0;
  std::vector<BadFrame> bad;
  std::vector<std::string> problems;
  std::vector<Digest> bad_digests;  // of bad frames, and chunks manifests miss
  void Bad(const std::string& pack, uint64_t off, const Digest& d, std::string what) {
    bad.push_back(BadFrame{pack, off, d, std::move(what), {}});
    bad_digests.push_back(d);
  }
};
}  // namespace

// Decodes a checked frame's payload (StoreImpl::DecodeChunk: a delta chunk's
// bases are read from the index).
using DecodeFn = std::function<Status(uint32_t domain, const FrameInfo& info,
                                      const uint8_t* payload, uint8_t* dst)>;

// One pack: every frame's CRC, and with `full` its decoded bytes' BLAKE3 and
// each manifest's chunk references. Safe to run for several packs at once.
static void CheckPack(PackStore* store, const KernelTable* kernels, const DecodeFn& decode,
                      const PackRow& p, PackRows& rows, bool full,
                      const std::unordered_set<uint64_t>& indexed_chunks, PackCheck* out);

// Reads every frame of every pack the index knows: CRC always; with `full`,
// each chunk's BLAKE3 and each manifest's decoding and chunk references.
// Packs are checked in parallel on the CPUs a get would use (Workers()).
Result<VerifyReport> StoreImpl::Verify(bool full, const Progress& progress) {
  ActiveOp op(&active_ops_);
  VerifyReport rep;
  rep.full = full;
  // The database first: a damaged page that the checks below never read
  // (tenants, names) would otherwise pass as a clean store that gets fail on.
  auto db_check = meta_->CheckIntegrity(full);
  const std::string db = meta_->Describe() + ": ";
  if (!db_check.ok()) {
    rep.problems.push_back(db + db_check.status().message());
  } else {
    for (std::string& m : *db_check) rep.problems.push_back(db + std::move(m));
  }
  AS_ASSIGN_OR_RETURN(auto packs, meta_->ListPacks());
  std::map<int64_t, PackRows> by_pack;
  std::unordered_set<uint64_t> indexed_chunks;
  AS_RETURN_IF_ERROR(meta_->ForEachChunk([&](const ChunkKey& k, const Location& l) {
    by_pack[l.pack][l.offset] = Indexed{k, l, false, false};
    indexed_chunks.insert(ChunkFilter::Key(k.domain, k.digest));
  }));
  AS_RETURN_IF_ERROR(meta_->ForEachManifest([&](const ManifestRow& m) {
    by_pack[m.loc.pack][m.loc.offset] = Indexed{ChunkKey{m.domain, m.digest}, m.loc, true, false};
  }));
  std::vector<PackRows*> rows_of(packs.size());
  for (size_t i = 0; i < packs.size(); i++) rows_of[i] = &by_pack[packs[i].id];

  // Opens (encrypted tenants), decodes, and checks a keyed id (a plain one
  // is checked by CheckPack, which needs no keys).
  const DecodeFn decode = [this](uint32_t domain, const FrameInfo& info, const uint8_t* payload,
                                 uint8_t* dst) -> Status {
    AS_RETURN_IF_ERROR(DecodeChunk(domain, info, payload, dst));
    if (info.digest.algo != DigestAlgo::kBlake3Keyed) return Status::OK();
    AS_ASSIGN_OR_RETURN(Digest id, IdOf(domain, dst, info.raw_len));
    if (id != info.digest) {
      return Status::Corruption("keyed BLAKE3 of the decoded bytes does not match");
    }
    return Status::OK();
  };
  std::vector<PackCheck> checks(packs.size());
  std::atomic<size_t> next{0};
  std::mutex progress_mu;
  uint64_t done_bytes = 0;
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < packs.size();) {
      CheckPack(packs_.get(), &kernels_, decode, packs[i],
                *rows_of[i], full, indexed_chunks, &checks[i]);
      if (progress) {
        std::lock_guard<std::mutex> l(progress_mu);
        done_bytes += checks[i].bytes;
        progress(done_bytes);
      }
    }
  };
  const int helpers = std::min<int>(Workers(), static_cast<int>(packs.size()) - 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < helpers; t++) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();

  std::unordered_set<Digest, DigestHash> bad_digests;
  for (PackCheck& c : checks) {
    rep.packs += c.packs;
    rep.frames += c.frames;
    rep.bytes += c.bytes;
    rep.manifests += c.manifests;
    for (BadFrame& b : c.bad) rep.bad.push_back(std::move(b));
    for (std::string& m : c.problems) rep.problems.push_back(std::move(m));
    bad_digests.insert(c.bad_digests.begin(), c.bad_digests.end());
  }
  std::unordered_set<int64_t> known;
  for (const PackRow& p : packs) known.insert(p.id);
  for (auto& [pack, rows] : by_pack) {
    if (!known.count(pack)) {
      rep.problems.push_back(std::to_string(rows.size()) +
                             " index rows point at unknown pack id " + std::to_string(pack));
    }
  }
  if (!bad_digests.empty()) {
    // Name what breaks: every live name whose manifest uses a bad record.
    AS_ASSIGN_OR_RETURN(auto names, meta_->AllNames());
    std::unordered_map<Digest, std::vector<std::string>, DigestHash> broken;
    for (const NameRow& n : names) {
      std::string label = n.bucket + "/" + n.key;
      if (n.tenant != kDefaultTenant) label = n.tenant + ":" + label;
      if (bad_digests.count(n.manifest)) {
        broken[n.manifest].push_back(label);
        continue;
      }
      auto dom = meta_->TenantDomain(n.tenant, false);
      if (!dom.ok()) continue;
      auto mrow = meta_->FindManifest(*dom, n.manifest);
      if (!mrow.ok() || !*mrow) continue;
      auto m = LoadManifest(**mrow);
      if (!m.ok()) continue;
      std::unordered_set<Digest, DigestHash> once;
      for (const ChunkRef& c : m->chunks) {
        if (bad_digests.count(c.digest) && once.insert(c.digest).second) {
          broken[c.digest].push_back(label);
        }
      }
    }
    for (BadFrame& b : rep.bad) b.broken_names = broken[b.digest];
  }
  return rep;
}

static void CheckPack(PackStore* store, const KernelTable* kernels, const DecodeFn& decode,
                      const PackRow& p, PackRows& rows, bool full,
                      const std::unordered_set<uint64_t>& indexed_chunks, PackCheck* out) {
  // Its size is asked of the store, not taken from the row: a pack cut short
  // behind the store's back is then named as such.
  auto reader_or = PackReader::Open(store, kernels, p.name);
  if (!reader_or.ok()) {
    out->problems.push_back("pack " + p.name + ": " + reader_or.status().message());
    for (auto& [off, row] : rows) out->Bad(p.name, off, row.key.digest, "pack file missing");
    return;
  }
  auto& reader = *reader_or;
  reader->AdviseSequential();
  out->packs++;
  auto footer = reader->ReadFooter();
  std::vector<FooterEntry> entries;
  if (footer.ok()) {
    entries = footer->entries;
  } else {
    out->problems.push_back(footer.status().message());
    // Fall back to the frames the index knows about.
    for (auto& [off, row] : rows) {
      FooterEntry e;
      e.offset = off;
      e.frame_len = row.loc.frame_len;
      e.digest = row.key.digest;
      entries.push_back(e);
    }
  }
  std::vector<uint8_t> frame, raw;
  for (const FooterEntry& e : entries) {
    out->frames++;
    out->bytes += e.frame_len;
    auto it = rows.find(e.offset);
    Indexed* row = it == rows.end() ? nullptr : &it->second;
    if (row) row->seen = true;
    auto info = reader->ReadFrame(e.offset, e.frame_len, &frame);
    if (!info.ok()) {
      out->Bad(p.name, e.offset, e.digest, info.status().message());
      continue;
    }
    if (info->digest != e.digest) {
      out->Bad(p.name, e.offset, e.digest, "frame digest differs from the footer's");
      continue;
    }
    if (row && (row->key.digest != info->digest || row->loc.frame_len != e.frame_len)) {
      out->problems.push_back("index row for " + row->key.digest.ToString() +
                              " does not match the frame at pack " + p.name + " offset " +
                              std::to_string(e.offset));
    }
    if (!full) continue;
    raw.resize(info->raw_len);
    Status st = decode(p.domain, *info, frame.data() + format::kFrameHeaderSize, raw.data());
    if (!st.ok()) {
      out->Bad(p.name, e.offset, e.digest, st.message());
      continue;
    }
    if (info->digest.algo == DigestAlgo::kBlake3 &&
        Blake3(raw.data(), raw.size()) != info->digest) {
      out->Bad(p.name, e.offset, e.digest, "BLAKE3 of the decoded bytes does not match");
      continue;
    }
    if (info->type == format::RecordType::kManifest && row && row->manifest) {
      out->manifests++;
      auto m = DecodeManifest(raw.data(), raw.size());
      if (!m.ok()) {
        out->Bad(p.name, e.offset, e.digest, m.status().message());
        continue;
      }
      for (const ChunkRef& c : m->chunks) {
        if (!indexed_chunks.count(ChunkFilter::Key(row->key.domain, c.digest))) {
          out->problems.push_back("manifest " + info->digest.ToString() + " needs chunk " +
                                  c.digest.ToString() + ", which is not in the index");
          out->bad_digests.push_back(c.digest);
          break;
        }
      }
    }
  }
  for (auto& [off, row] : rows) {
    if (!row.seen && footer.ok()) {
      out->Bad(p.name, off, row.key.digest, "index points at an offset with no frame");
    }
  }
}

}  // namespace as
