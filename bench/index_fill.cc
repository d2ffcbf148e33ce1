// Fills a store's chunk index with N synthetic chunk rows, for benchmarks of
// the index at scale (issue 21; bench/index_scale.sh).
//
//   index_fill STORE_DIR N [--tenant default] [--batch 100000] [--seed 1] [--sorted]
//
// STORE_DIR is a store made by `artifact-store init`. Its metadata is opened
// the way the store opens it (CONFIG, OpenMetadata: SQLite in the directory
// or the PostgreSQL URL CONFIG names), under the store's LOCK, and rows go in
// through Metadata::CommitPut only: no SQL of its own, so a schema change
// does not break it. Each commit (--batch rows) carries synthetic
// SealedPacks of the store's pack target size (pack.target_size, 64 MiB by
// default: about 1,600 frames of 32-48 KiB compressed, 64 KiB raw each, at
// increasing offsets) and the chunk rows that point into them, sorted by
// digest. The pack files are never written: nothing that reads only real
// artifacts (ls, stat, get) opens them; verify reports them missing, and gc
// finds every synthetic row unreferenced (no manifest names it) and deletes
// it.
//
// Digests are BLAKE3-shaped (32 bytes, uniform), a counter-based mix of
// (seed, row number), so a fill is reproducible; a second fill of the same
// store needs another --seed (refused otherwise: its rows would replace the
// first fill's rather than add to them).
//
// Random digests land all over the chunk table's B-tree, as a real store's
// do: once the table outgrows a batch, each commit rewrites (WAL, then
// checkpoint) most of its pages, a few KiB per row, and the fill slows down
// as the table grows (about 300,000 rows/s at first, 55,000 near 10 million
// here). --sorted makes the digests ascend over the whole fill (row i's
// first 8 bytes are i * 2^64 / N plus a random offset within that step,
// the rest random: still uniform over the key space), so each commit
// appends to the tree and the file is written about once: for fills of
// 100 million rows (10 million: 23 s instead of 116 s here; the file came
// out the same size, 1.14 against 1.13 GB, and `ls` on it as slow).
//
// Progress (rows/s) goes to stderr; at the end one JSON line to stdout:
// {"rows":N,"packs":P,"seconds":S,"rows_per_s":R,"batch":B,"sorted":false}.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/env.h"
#include "index/metadata.h"
#include "pack/format.h"
#include "pack/pack.h"
#include "store/store_config.h"

namespace {

using Clock = std::chrono::steady_clock;

// The splitmix64 finalizer: a bijection with good avalanche, so that
// Mix(key + i) over a counter i gives independent-looking words.
uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

struct Synth {
  uint64_t digest_key, pack_key, len_key;
  uint64_t sorted_n;  // 0: random order; else --sorted over this many rows
  Synth(uint64_t seed, uint64_t sorted_n)
      : digest_key(Mix(seed * 0x9e3779b97f4a7c15ULL + 1)),
        pack_key(Mix(seed * 0x9e3779b97f4a7c15ULL + 2)),
        len_key(Mix(seed * 0x9e3779b97f4a7c15ULL + 3)),
        sorted_n(sorted_n) {}

  as::Digest ChunkDigest(uint64_t i) const {
    as::Digest d;
    d.algo = as::DigestAlgo::kBlake3;
    for (uint64_t w = 0; w < 4; w++) {
      const uint64_t v = Mix(digest_key + 4 * i + w);
      std::memcpy(d.bytes.data() + 8 * w, &v, 8);
    }
    if (sorted_n > 0) {
      // Stratified: row i's first 8 bytes (big-endian, as the index
      // compares them) lie in the i-th of sorted_n equal steps.
      const unsigned __int128 one = static_cast<unsigned __int128>(1) << 64;
      const uint64_t step = static_cast<uint64_t>(one / sorted_n);
      const uint64_t prefix =
          static_cast<uint64_t>(i * one / sorted_n) + Mix(digest_key + 4 * i) % step;
      for (int b = 0; b < 8; b++) d.bytes[b] = static_cast<uint8_t>(prefix >> (56 - 8 * b));
    }
    return d;
  }
  // 32 hex digits, like a real pack's random name.
  std::string PackName(uint64_t p) const {
    char out[33];
    std::snprintf(out, sizeof out, "%016llx%016llx",
                  static_cast<unsigned long long>(Mix(pack_key + 2 * p)),
                  static_cast<unsigned long long>(Mix(pack_key + 2 * p + 1)));
    return out;
  }
  // A compressed frame of a 64 KiB chunk: 32-48 KiB (zstd on mixed data).
  uint32_t FrameLen(uint64_t i) const {
    return 32768 + static_cast<uint32_t>(Mix(len_key + i) % 16384);
  }
};

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: index_fill STORE_DIR N [--tenant default] [--batch 100000] [--seed 1] "
               "[--sorted]\n");
  std::exit(2);
}

[[noreturn]] void Die(const std::string& what, const as::Status& s) {
  std::fprintf(stderr, "index_fill: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

uint64_t ParseCount(const char* s) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s || *end != '\0') Usage();
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) Usage();
  const std::string dir = argv[1];
  const uint64_t n = ParseCount(argv[2]);
  std::string tenant = "default";
  uint64_t batch = 100000, seed = 1;
  bool sorted = false;
  for (int i = 3; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--sorted") {
      sorted = true;
      continue;
    }
    if (i + 1 >= argc) Usage();
    if (a == "--tenant") {
      tenant = argv[++i];
    } else if (a == "--batch") {
      batch = ParseCount(argv[++i]);
    } else if (a == "--seed") {
      seed = ParseCount(argv[++i]);
    } else {
      Usage();
    }
  }
  if (batch == 0) Usage();

  as::Env* env = as::Env::Default();
  if (!env->FileExists(dir + "/STORE")) {
    std::fprintf(stderr, "index_fill: %s is not a store (run `artifact-store init` first)\n",
                 dir.c_str());
    return 1;
  }
  // The store's own lock: no other process has it open meanwhile.
  auto lock = env->LockFile(dir + "/LOCK");
  if (!lock.ok()) Die("lock " + dir + "/LOCK", lock.status());
  auto config = as::ReadStoreConfig(env, dir);
  if (!config.ok()) Die("CONFIG", config.status());
  auto opened = as::OpenMetadata(env, dir, *config, /*exists=*/true, as::StoreOptions{});
  if (!opened.ok()) Die("metadata", opened.status());
  as::Metadata* meta = opened->first.get();
  auto domain = meta->TenantDomain(tenant, /*create=*/false);
  if (!domain.ok()) Die("tenant " + tenant, domain.status());
  uint64_t target = as::format::kDefaultPackTargetSize;
  if (auto t = meta->GetMeta("pack.target_size"); t.ok()) target = std::stoull(*t);

  const Synth synth(seed, sorted ? n : 0);
  {
    auto first = meta->FindChunk(*domain, synth.ChunkDigest(0));
    if (!first.ok()) Die("lookup", first.status());
    if (n > 0 && first->has_value()) {
      std::fprintf(stderr,
                   "index_fill: %s already holds seed %llu's rows; pass another --seed\n",
                   dir.c_str(), static_cast<unsigned long long>(seed));
      return 1;
    }
  }
  std::fprintf(stderr,
               "index_fill: %llu rows into %s (tenant %s, domain %u), batches of %llu, packs of "
               "%llu MiB, seed %llu%s\n",
               static_cast<unsigned long long>(n), meta->Describe().c_str(), tenant.c_str(),
               *domain, static_cast<unsigned long long>(batch),
               static_cast<unsigned long long>(target >> 20),
               static_cast<unsigned long long>(seed), sorted ? ", sorted" : "");

  const auto t0 = Clock::now();
  auto last = t0;
  uint64_t done = 0, packs = 0, last_done = 0;
  while (done < n) {
    const uint64_t rows = std::min(batch, n - done);
    as::PutCommit c;
    c.domain = *domain;
    c.chunks.reserve(rows);
    for (uint64_t i = done; i < done + rows; i++) {
      const uint32_t frame_len = synth.FrameLen(i);
      if (c.packs.empty() || c.packs.back().size + frame_len > target) {
        as::SealedPack p;
        p.name = synth.PackName(packs++);
        p.domain = *domain;
        p.size = as::format::kPackHeaderSize;
        c.packs.push_back(std::move(p));
      }
      as::SealedPack& p = c.packs.back();
      as::FooterEntry e;
      e.offset = p.size;
      e.frame_len = frame_len;
      e.raw_len = 65536;
      e.type = as::format::RecordType::kChunk;
      e.codec = as::CodecId::kZstd;
      e.digest = synth.ChunkDigest(i);
      p.size += e.frame_len;
      c.chunks.push_back({e.digest, as::Location{static_cast<int64_t>(c.packs.size() - 1),
                                                 e.offset, e.frame_len, e.raw_len}});
      p.entries.push_back(e);
    }
    // Sorted: the B-tree is then written front to back, not at random.
    std::sort(c.chunks.begin(), c.chunks.end(), [](const auto& a, const auto& b) {
      return std::memcmp(a.first.bytes.data(), b.first.bytes.data(), 32) < 0;
    });
    if (as::Status s = meta->CommitPut(c); !s.ok()) Die("commit", s);
    done += rows;
    const auto now = Clock::now();
    const double dt = std::chrono::duration<double>(now - last).count();
    const double total = std::chrono::duration<double>(now - t0).count();
    if (dt >= 2.0 || done == n) {
      std::fprintf(stderr, "index_fill: %llu/%llu rows, %.0f rows/s now, %.0f rows/s overall, %.1f s\n",
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(n),
                   static_cast<double>(done - last_done) / dt,
                   static_cast<double>(done) / total, total);
      last = now;
      last_done = done;
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::fprintf(stderr, "index_fill: %llu rows, %llu packs in %.1f s\n",
               static_cast<unsigned long long>(n), static_cast<unsigned long long>(packs), secs);
  std::printf(
      "{\"rows\":%llu,\"packs\":%llu,\"seconds\":%.2f,\"rows_per_s\":%.0f,\"batch\":%llu,"
      "\"sorted\":%s}\n",
      static_cast<unsigned long long>(n), static_cast<unsigned long long>(packs), secs,
      secs > 0 ? static_cast<double>(n) / secs : 0.0, static_cast<unsigned long long>(batch),
      sorted ? "true" : "false");
  return 0;
}
