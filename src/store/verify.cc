#include <map>
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
}  // namespace

// Reads every frame of every pack the index knows: CRC always; with `full`,
// each chunk's BLAKE3 and each manifest's decoding and chunk references.
Result<VerifyReport> StoreImpl::Verify(bool full, const Progress& progress) {
  VerifyReport rep;
  rep.full = full;
  AS_ASSIGN_OR_RETURN(auto packs, meta_->ListPacks());
  std::map<int64_t, std::map<uint64_t, Indexed>> by_pack;  // pack -> offset -> row
  std::unordered_set<uint64_t> indexed_chunks;
  AS_RETURN_IF_ERROR(meta_->ForEachChunk([&](const ChunkKey& k, const Location& l) {
    by_pack[l.pack][l.offset] = Indexed{k, l, false, false};
    indexed_chunks.insert(ChunkFilter::Key(k.domain, k.digest));
  }));
  AS_RETURN_IF_ERROR(meta_->ForEachManifest([&](const ManifestRow& m) {
    by_pack[m.loc.pack][m.loc.offset] = Indexed{ChunkKey{m.domain, m.digest}, m.loc, true, false};
  }));
  std::unordered_set<Digest, DigestHash> bad_digests;
  auto bad = [&](const std::string& pack, uint64_t off, const Digest& d, std::string what) {
    rep.bad.push_back(BadFrame{pack, off, d, std::move(what), {}});
    bad_digests.insert(d);
  };
  std::vector<uint8_t> frame, raw;
  for (const PackRow& p : packs) {
    auto& rows = by_pack[p.id];
    auto reader_or = PackReader::Open(env_, &kernels_, PackPath(packs_dir_, p.name));
    if (!reader_or.ok()) {
      rep.problems.push_back("pack " + p.name + ": " + reader_or.status().message());
      for (auto& [off, row] : rows) bad(p.name, off, row.key.digest, "pack file missing");
      continue;
    }
    auto& reader = *reader_or;
    reader->AdviseSequential();
    rep.packs++;
    auto footer = reader->ReadFooter();
    std::vector<FooterEntry> entries;
    if (footer.ok()) {
      entries = footer->entries;
    } else {
      rep.problems.push_back(footer.status().message());
      // Fall back to the frames the index knows about.
      for (auto& [off, row] : rows) {
        FooterEntry e;
        e.offset = off;
        e.frame_len = row.loc.frame_len;
        e.digest = row.key.digest;
        entries.push_back(e);
      }
    }
    for (const FooterEntry& e : entries) {
      rep.frames++;
      rep.bytes += e.frame_len;
      auto it = rows.find(e.offset);
      Indexed* row = it == rows.end() ? nullptr : &it->second;
      if (row) row->seen = true;
      auto info = reader->ReadFrame(e.offset, e.frame_len, &frame);
      if (!info.ok()) {
        bad(p.name, e.offset, e.digest, info.status().message());
        continue;
      }
      if (info->digest != e.digest) {
        bad(p.name, e.offset, e.digest, "frame digest differs from the footer's");
        continue;
      }
      if (row && (row->key.digest != info->digest || row->loc.frame_len != e.frame_len)) {
        rep.problems.push_back("index row for " + row->key.digest.ToString() +
                               " does not match the frame at pack " + p.name + " offset " +
                               std::to_string(e.offset));
      }
      if (!full) continue;
      raw.resize(info->raw_len);
      Status s = DecodeChunk(p.domain, *info, frame.data() + format::kFrameHeaderSize, raw.data());
      if (!s.ok()) {
        bad(p.name, e.offset, e.digest, s.message());
        continue;
      }
      if (info->digest.algo == DigestAlgo::kBlake3 &&
          Blake3(raw.data(), raw.size()) != info->digest) {
        bad(p.name, e.offset, e.digest, "BLAKE3 of the decoded bytes does not match");
        continue;
      }
      if (info->type == format::RecordType::kManifest && row && row->manifest) {
        rep.manifests++;
        auto m = DecodeManifest(raw.data(), raw.size());
        if (!m.ok()) {
          bad(p.name, e.offset, e.digest, m.status().message());
          continue;
        }
        for (const ChunkRef& c : m->chunks) {
          if (!indexed_chunks.count(ChunkFilter::Key(row->key.domain, c.digest))) {
            rep.problems.push_back("manifest " + info->digest.ToString() + " needs chunk " +
                                   c.digest.ToString() + ", which is not in the index");
            bad_digests.insert(c.digest);
            break;
          }
        }
      }
    }
    if (progress) progress(rep.bytes);
    for (auto& [off, row] : rows) {
      if (!row.seen && footer.ok()) {
        bad(p.name, off, row.key.digest, "index points at an offset with no frame");
      }
    }
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

}  // namespace as
