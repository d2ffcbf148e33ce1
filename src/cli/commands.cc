#include "cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdlib>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "artifact_store/store.h"
#include "cli/io.h"
#include "cli/progress.h"
#include "hash/blake3.h"

namespace as::cli {

using nlohmann::json;

int Fail(const Status& s) {
  std::fprintf(stderr, "artifact-store: %s\n", s.ToString().c_str());
  return kExitError;
}

Result<std::unique_ptr<Store>> OpenStore(const Globals& g, bool create,
                                         const ChunkerParams* params, uint64_t pack_size,
                                         bool repair, const StoreParts& parts, bool encrypt,
                                         bool without_key, bool keep_filter) {
  StoreOptions o;
  o.keep_filter = keep_filter;
  o.encrypt = encrypt;
  o.allow_without_master_key = without_key;
  o.metadata = parts.metadata;
  o.packs = parts.packs;
  o.s3_endpoint = parts.s3_endpoint;
  o.s3_credentials = parts.s3_credentials;
  // A store made by a first put or serve (not init) takes the same settings
  // as init, from the same environment variables.
  if (create) {
    auto from_env = [](std::string* v, const char* name) {
      const char* e = std::getenv(name);
      if (v->empty() && e) *v = e;
    };
    from_env(&o.metadata, "ARTIFACT_STORE_METADATA");
    from_env(&o.packs, "ARTIFACT_STORE_PACKS");
    from_env(&o.s3_endpoint, "ARTIFACT_STORE_S3_ENDPOINT");
    from_env(&o.s3_credentials, "ARTIFACT_STORE_S3_CREDENTIALS");
  }
  o.create_if_missing = create;
  o.recreate_missing_metadata = repair;
  o.master_key_file = g.master_key_file;
  o.reserve_bytes = g.reserve;
  if (params) o.chunker = *params;
  if (pack_size) o.pack_target_size = pack_size;
  if (!g.cpu.empty()) {
    AS_ASSIGN_OR_RETURN(CpuTier t, ParseTier(g.cpu));
    o.cpu_tier = t;
  }
  auto st = Store::Open(g.store, o);
  // The library leaves a reserve alone when told to keep none; `--reserve 0`
  // asks for it to go. (A missing file is fine.)
  if (st.ok() && g.reserve == 0) std::remove((g.store + "/RESERVE").c_str());
  return st;
}

namespace {

std::string Ratio(double r) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.2fx", r);
  return b;
}

json ChunkerJson(const ChunkerParams& p) {
  return {{"name", kChunkerName}, {"min", p.min_size}, {"avg", p.avg_size},
          {"max", p.max_size},    {"nc", p.normalization}, {"gear", kGearTableId}};
}

json InfoJson(const ArtifactInfo& a) {
  json j = {{"content", a.content.ToString()},
            {"manifest", a.manifest.ToString()},
            {"size", a.size},
            {"created", a.created}};
  if (a.name) {
    j["name"] = a.name->ToString();
    j["version"] = a.version;
  }
  return j;
}

}  // namespace

int CmdInit(const Globals& g, const InitArgs& a) {
  ChunkerParams p;
  if (a.min) p.min_size = a.min;
  if (a.avg) p.avg_size = a.avg;
  if (a.max) p.max_size = a.max;
  if (a.nc >= 0) p.normalization = a.nc;
  if (Status s = ValidateChunkerParams(p); !s.ok()) return Fail(s);
  {
    StoreOptions probe;
    probe.master_key_file = g.master_key_file;
    auto existing = Store::Open(g.store, probe);
    if (existing.ok()) {
      std::fprintf(stderr, "artifact-store: %s is already a store; nothing to do\n",
                   g.store.c_str());
      return 0;
    }
    if (existing.status().code() == Code::kBusy) return Fail(existing.status());
  }
  if (a.encrypt) {
    if (g.master_key_file.empty()) {
      return Fail(Status::InvalidArgument(
          "init --encrypt needs --master-key-file FILE (made, 32 random bytes with mode 0600, "
          "if it does not exist)"));
    }
    Status made = CreateMasterKeyFile(g.master_key_file);
    if (made.ok()) {
      std::fprintf(stderr,
                   "artifact-store: made master key file %s; keep a copy somewhere safe: without "
                   "it nothing of the encrypted tenants can be read\n",
                   g.master_key_file.c_str());
    } else if (made.code() != Code::kAlreadyExists) {
      return Fail(made);
    }
  }
  auto st = OpenStore(g, true, &p, a.pack_size, false, a.parts, a.encrypt);
  if (!st.ok()) return Fail(st.status());
  auto stats = (*st)->Stats();
  if (!stats.ok()) return Fail(stats.status());
  if (a.json) {
    std::cout << json{{"store", g.store},
                      {"encrypted", a.encrypt},
                      {"chunker", ChunkerJson(p)},
                      {"metadata", stats->metadata},
                      {"packs", stats->packs_at}}
                     .dump()
              << "\n";
  } else {
    std::printf("initialised store %s (fastcdc2020 %u/%u/%u nc %d, metadata %s, packs %s%s)\n",
                g.store.c_str(), p.min_size, p.avg_size, p.max_size, p.normalization,
                stats->metadata.c_str(), stats->packs_at.c_str(),
                a.encrypt ? ", every tenant encrypted" : "");
  }
  return 0;
}

int CmdPut(const Globals& g, const PutArgs& a) {
  ObjectName name;
  if (!a.name.empty()) {
    auto n = ObjectName::Parse(a.name, g.tenant);
    if (!n.ok()) return Fail(n.status());
    name = *n;
  } else if (a.file == "-") {
    return Fail(Status::InvalidArgument("put -: --name BUCKET/KEY is required for stdin"));
  } else {
    std::string base = a.file.substr(a.file.find_last_of('/') + 1);
    if (base.empty()) return Fail(Status::InvalidArgument("put " + a.file + ": no file name"));
    name = ObjectName{g.tenant, "default", base};
  }
  PutOptions po;
  if (!a.codec.empty()) {
    auto c = ParseCodec(a.codec);
    if (!c.ok()) return Fail(c.status());
    po.codec = *c;
  }
  if (a.level != 0) po.zstd_level = a.level;
  if (a.no_delta) po.delta = false;
  auto in = Input::Open(a.file);
  if (!in.ok()) return Fail(in.status());
  auto st = OpenStore(g, true);
  if (!st.ok()) return Fail(st.status());
  ProgressBar bar("put " + name.ToString(), (*in)->size());
  po.progress = [&](uint64_t done) { bar.Update(done); };
  po.size_hint = (*in)->size();
  auto r = (*st)->Put(name, (*in)->Source(), po);
  if (!r.ok()) return Fail(r.status().WithContext("put " + a.file));
  auto stats = (*st)->Stats();
  if (a.json) {
    json j = {{"name", name.ToString()},        {"content", r->content.ToString()},
              {"manifest", r->manifest.ToString()}, {"size", r->size},
              {"chunks", r->chunks},             {"new_chunks", r->new_chunks},
              {"new_bytes", r->new_bytes},       {"delta_chunks", r->delta_chunks},
              {"stored_bytes", r->stored_bytes}};
    if (stats.ok()) {
      j["store"] = {{"dedup_ratio", stats->dedup_ratio()},
                    {"compression_ratio", stats->compression_ratio()}};
    }
    // Flushed now: the put is durable and acknowledged; closing the store
    // (writing the dedup filter's log) comes after.
    std::cout << j.dump() << std::endl;
    return 0;
  }
  std::printf("%s\n", r->content.ToString().c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "%s: %s in %" PRIu64 " chunks, %" PRIu64 " new (%s), wrote %s",
               name.ToString().c_str(), HumanBytes(r->size).c_str(), r->chunks, r->new_chunks,
               HumanBytes(r->new_bytes).c_str(), HumanBytes(r->stored_bytes).c_str());
  if (stats.ok()) {
    std::fprintf(stderr, "; store dedup %s, compression %s",
                 Ratio(stats->dedup_ratio()).c_str(), Ratio(stats->compression_ratio()).c_str());
  }
  std::fprintf(stderr, "\n");
  return 0;
}

namespace {
// An artifact's size from its name's row, or a live name holding the digest.
Result<uint64_t> ArtifactSize(Store& st, const std::string& tenant, const std::string& ref) {
  Result<ArtifactInfo> info = Status::Internal("unresolved");
  if (IsDigestRef(ref)) {
    AS_ASSIGN_OR_RETURN(Digest d, Digest::Parse(ref));
    info = st.LookupDigest(tenant, d);
  } else {
    AS_ASSIGN_OR_RETURN(ObjectName name, ObjectName::Parse(ref, tenant));
    info = st.Lookup(name);
  }
  if (!info.ok()) return info.status();
  return info->size;
}
}  // namespace

int CmdGet(const Globals& g, const GetArgs& a) {
  std::optional<ByteRange> range;
  if (!a.range.empty()) {
    auto r = ByteRange::Parse(a.range);
    if (!r.ok()) return Fail(r.status());
    range = *r;
  }
  auto st = OpenStore(g);
  if (!st.ok()) return Fail(st.status());
  // The size draws the bar and decides how a file is written (Output);
  // looked up from the name's row alone, not Stat's index lookup per chunk.
  uint64_t total = 0;
  if (::isatty(2) == 1 || Output::IsRegularFile(a.out)) {
    auto size = ArtifactSize(**st, g.tenant, a.ref);
    if (!size.ok()) return Fail(size.status().WithContext("get " + a.ref));
    total = *size;
  }
  uint64_t expected = total;
  if (range) {
    const uint64_t end = range->last ? std::min(*range->last + 1, total) : total;
    expected = end > range->first ? end - range->first : 0;
  }
  auto out = Output::Open(a.out, expected);
  if (!out.ok()) return Fail(out.status());
  ProgressBar bar("get " + a.ref, total);
  Status s = (*st)->Get(g.tenant, a.ref, (*out)->Sink(), range,
                        [&](uint64_t done) { bar.Update(done); });
  if (s.ok()) s = (*out)->Commit();
  if (!s.ok()) return Fail(s.WithContext("get " + a.ref));
  return 0;
}

int CmdLs(const Globals& g, const std::string& prefix, bool as_json) {
  auto st = OpenStore(g);
  if (!st.ok()) return Fail(st.status());
  auto list = (*st)->List(g.tenant, prefix);
  if (!list.ok()) return Fail(list.status());
  for (const ArtifactInfo& a : *list) {
    if (as_json) {
      std::cout << InfoJson(a).dump() << "\n";
    } else {
      char when[32];
      std::time_t t = a.created;
      std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", std::gmtime(&t));
      std::printf("%12" PRIu64 "  %s  %s  %s\n", a.size, when, a.content.ToString().c_str(),
                  a.name->ToString().c_str());
    }
  }
  return 0;
}

int CmdStat(const Globals& g, const std::string& ref, bool as_json) {
  auto st = OpenStore(g);
  if (!st.ok()) return Fail(st.status());
  auto a = (*st)->Stat(g.tenant, ref);
  if (!a.ok()) return Fail(a.status());
  if (as_json) {
    json j = InfoJson(*a);
    j["chunks"] = a->chunks;
    j["stored_bytes"] = a->stored_bytes;
    j["chunker"] = ChunkerJson(a->chunker);
    std::cout << j.dump() << "\n";
    return 0;
  }
  if (a->name) std::printf("name:      %s (version %" PRIu64 ")\n", a->name->ToString().c_str(), a->version);
  std::printf("size:      %" PRIu64 " (%s)\n", a->size, HumanBytes(a->size).c_str());
  std::printf("content:   %s\n", a->content.ToString().c_str());
  std::printf("manifest:  %s\n", a->manifest.ToString().c_str());
  std::printf("chunks:    %" PRIu64 "\n", a->chunks);
  std::printf("stored:    %s (frames of its distinct chunks)\n", HumanBytes(a->stored_bytes).c_str());
  std::printf("chunker:   %s min %u avg %u max %u nc %d gear %s\n", a->chunker_name.c_str(),
              a->chunker.min_size, a->chunker.avg_size, a->chunker.max_size,
              a->chunker.normalization, a->gear_table.c_str());
  return 0;
}

int CmdRm(const Globals& g, const std::string& name) {
  auto n = ObjectName::Parse(name, g.tenant);
  if (!n.ok()) return Fail(n.status());
  auto st = OpenStore(g);
  if (!st.ok()) return Fail(st.status());
  if (Status s = (*st)->Remove(*n); !s.ok()) return Fail(s);
  return 0;
}

int CmdChunks(const Globals& g, const ChunksArgs& a) {
  ChunkerParams p{a.min, a.avg, a.max, a.nc};
  CpuFeatures cpu = DetectCpu();
  if (!g.cpu.empty()) {
    auto t = ParseTier(g.cpu);
    if (!t.ok()) return Fail(t.status());
    cpu = CapToTier(cpu, *t);
  }
  KernelTable k = MakeKernelTable(cpu);
  auto chunker = Chunker::Create(p, k);
  if (!chunker.ok()) return Fail(chunker.status());
  auto in = Input::Open(a.file);
  if (!in.ok()) return Fail(in.status());
  ChunkStream stream(*chunker, (*in)->Source());
  ChunkView c;
  std::string line;
  while (true) {
    auto more = stream.Next(&c);
    if (!more.ok()) return Fail(more.status());
    if (!*more) break;
    Digest d = Blake3(c.data, c.size);
    if (a.json) {
      line = json{{"offset", c.offset}, {"length", c.size}, {"gear_hash", c.gear_hash},
                  {"digest", d.ToString()}}.dump();
    } else {
      line = std::to_string(c.offset) + " " + std::to_string(c.size) + " " +
             std::to_string(c.gear_hash) + " " + d.ToString();
    }
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
  }
  return 0;
}

int CmdVerify(const Globals& g, bool full, bool as_json) {
  // The CRC check needs no key: a store with encrypted tenants is verified
  // without its master key too (--full opens every frame: it needs it).
  auto st = OpenStore(g, false, nullptr, 0, false, {}, false, /*without_key=*/!full);
  if (!st.ok()) return Fail(st.status());
  auto stats = (*st)->Stats();
  ProgressBar bar(full ? "verify --full" : "verify", stats.ok() ? stats->pack_bytes : 0);
  auto r = (*st)->Verify(full, [&](uint64_t done) { bar.Update(done); });
  if (!r.ok()) return Fail(r.status());
  if (as_json) {
    json bad = json::array();
    for (const BadFrame& b : r->bad) {
      bad.push_back({{"pack", b.pack}, {"offset", b.offset}, {"digest", b.digest.ToString()},
                     {"problem", b.problem}, {"broken_names", b.broken_names}});
    }
    std::cout << json{{"ok", r->ok()}, {"full", full}, {"packs", r->packs},
                      {"frames", r->frames}, {"bytes", r->bytes}, {"manifests", r->manifests},
                      {"bad", bad}, {"problems", r->problems}}.dump() << "\n";
  } else {
    for (const BadFrame& b : r->bad) {
      std::string names;
      for (const auto& n : b.broken_names) names += (names.empty() ? "" : ", ") + n;
      std::printf("BAD pack %s offset %" PRIu64 " %s: %s%s%s\n", b.pack.c_str(), b.offset,
                  b.digest.ToString().c_str(), b.problem.c_str(),
                  names.empty() ? "" : "; breaks ", names.c_str());
    }
    for (const auto& p : r->problems) std::printf("PROBLEM %s\n", p.c_str());
    std::printf("%s: %" PRIu64 " packs, %" PRIu64 " frames, %s checked%s\n",
                r->ok() ? "ok" : "DAMAGED", r->packs, r->frames, HumanBytes(r->bytes).c_str(),
                full ? " (CRC, BLAKE3, manifests)" : " (CRC)");
  }
  return r->ok() ? 0 : kExitDamaged;
}

int CmdGc(const Globals& g, const GcArgs& a) {
  auto st = OpenStore(g);
  if (!st.ok()) return Fail(st.status());
  GcOptions o;
  o.dry_run = a.dry_run;
  o.rewrite_threshold = a.threshold;
  if (a.merge_below >= 0) o.merge_below = static_cast<uint64_t>(a.merge_below);
  o.grace_seconds = a.grace;
  o.upload_grace_seconds = a.upload_grace;
  o.rekey_tenant = a.rekey;
  auto stats = (*st)->Stats();
  ProgressBar bar(a.rekey.empty() ? "gc" : "rekey", stats.ok() ? stats->pack_bytes : 0);
  auto r = (*st)->Gc(o, [&](uint64_t done) { bar.Update(done); });
  if (!r.ok()) return Fail(r.status());
  if (a.json) {
    std::cout << json{{"dry_run", r->dry_run},
                      {"live_chunks", r->live_chunks},
                      {"dead_chunks", r->dead_chunks},
                      {"dead_manifests", r->dead_manifests},
                      {"packs_deleted", r->packs_deleted},
                      {"packs_rewritten", r->packs_rewritten},
                      {"packs_merged", r->packs_merged},
                      {"packs_written", r->packs_written},
                      {"orphan_files_deleted", r->orphan_files_deleted},
                      {"bytes_reclaimed", r->bytes_reclaimed},
                      {"bytes_copied", r->bytes_copied},
                      {"rewrites_skipped", r->rewrites_skipped},
                      {"reserve_released", r->reserve_released},
                      {"resurrected", r->resurrected},
                      {"doomed_waiting", r->doomed_waiting},
                      {"horizon_lag", r->horizon_lag},
                      {"sessions_expelled", r->sessions_expelled},
                      {"frames_rekeyed", r->frames_rekeyed},
                      {"packs_rekeyed", r->packs_rekeyed},
                      {"values_rekeyed", r->values_rekeyed},
                      {"seconds", r->seconds},
                      {"phase_seconds", r->phase_seconds}}  // [[phase, s], ...] in order
                     .dump()
              << "\n";
  } else {
    std::string rewrote = std::to_string(r->packs_rewritten) + " rewritten";
    if (r->packs_rewritten) {
      if (!r->dry_run) rewrote += " into " + std::to_string(r->packs_written);
      rewrote += " (" + std::to_string(r->packs_merged) + " of them small; " +
                 HumanBytes(r->bytes_copied) + " copied)";
    }
    std::printf("%s%s reclaimed: %" PRIu64 " packs deleted, %s, %" PRIu64 " dead chunks, %" PRIu64
                " dead manifests, %" PRIu64 " orphan files\n",
                r->dry_run ? "[dry run] would have " : "", HumanBytes(r->bytes_reclaimed).c_str(),
                r->packs_deleted, rewrote.c_str(), r->dead_chunks, r->dead_manifests, r->orphan_files_deleted);
    if (!a.rekey.empty()) {
      std::printf("rekeyed tenant %s: %" PRIu64 " frames in %" PRIu64 " packs and %" PRIu64
                  " names' attributes sealed anew under its newest data key\n",
                  a.rekey.c_str(), r->frames_rekeyed, r->packs_rekeyed, r->values_rekeyed);
    }
    if (r->resurrected || r->doomed_waiting || r->sessions_expelled) {
      std::printf("kept %" PRIu64 " doomed rows that puts referenced meanwhile; left %" PRIu64
                  " for a later gc (puts that began before them still running); expelled %" PRIu64
                  " silent servers\n",
                  r->resurrected, r->doomed_waiting, r->sessions_expelled);
    }
    // Where the time went: on a large store, which phase to look at.
    std::string phases;
    for (const auto& [phase, seconds] : r->phase_seconds) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s%s %.1f", phases.empty() ? "" : ", ", phase.c_str(),
                    seconds);
      phases += buf;
    }
    std::printf("took %.1f s (%s)\n", r->seconds, phases.c_str());
  }
  if (r->reserve_released) {
    std::fprintf(stderr,
                 "artifact-store: gc: the file system was full to the last block: released the "
                 "store's %s reserve (%s/RESERVE) to commit; it is made again once four times "
                 "that is free\n",
                 HumanBytes(g.reserve).c_str(), g.store.c_str());
  }
  if (!r->rewrites_skipped.empty()) {
    std::fprintf(stderr,
                 "artifact-store: gc: no room to rewrite or merge packs, so only packs with no "
                 "live data were deleted; run gc again once there is room (%s)\n",
                 r->rewrites_skipped.c_str());
  }
  return 0;
}

int CmdStats(const Globals& g, bool as_json) {
  auto st = OpenStore(g);
  if (!st.ok()) return Fail(st.status());
  auto s = (*st)->Stats();
  if (!s.ok()) return Fail(s.status());
  auto space = (*st)->Space();
  if (!space.ok()) return Fail(space.status());
  if (as_json) {
    std::cout << json{{"logical_bytes", s->logical_bytes},
                      {"unique_bytes", s->unique_bytes},
                      {"stored_bytes", s->stored_bytes},
                      {"dedup_ratio", s->dedup_ratio()},
                      {"compression_ratio", s->compression_ratio()},
                      {"names", s->names},
                      {"manifests", s->manifests},
                      {"chunks", s->unique_chunks},
                      {"packs", s->packs},
                      {"pack_bytes", s->pack_bytes},
                      {"fs_size_bytes", space->fs_size_bytes},
                      {"fs_free_bytes", space->fs_free_bytes},
                      {"reserve_bytes", space->reserve_bytes},
                      {"metadata", s->metadata},
                      {"packs_at", s->packs_at}}
                     .dump()
              << "\n";
    return 0;
  }
  std::printf("logical bytes:     %" PRIu64 " (%s) in %" PRIu64 " names\n", s->logical_bytes,
              HumanBytes(s->logical_bytes).c_str(), s->names);
  std::printf("unique chunk bytes: %" PRIu64 " (%s) in %" PRIu64 " chunks\n", s->unique_bytes,
              HumanBytes(s->unique_bytes).c_str(), s->unique_chunks);
  std::printf("stored bytes:      %" PRIu64 " (%s)\n", s->stored_bytes,
              HumanBytes(s->stored_bytes).c_str());
  std::printf("dedup ratio:       %s\n", Ratio(s->dedup_ratio()).c_str());
  std::printf("compression ratio: %s\n", Ratio(s->compression_ratio()).c_str());
  std::printf("packs:             %" PRIu64 " (%s)\n", s->packs, HumanBytes(s->pack_bytes).c_str());
  std::printf("file system:       %s free of %s\n", HumanBytes(space->fs_free_bytes).c_str(),
              HumanBytes(space->fs_size_bytes).c_str());
  std::printf("metadata:          %s\n", s->metadata.c_str());
  std::printf("packs at:          %s\n", s->packs_at.c_str());
  std::printf("reserve:           %s\n",
              space->reserve_bytes ? HumanBytes(space->reserve_bytes).c_str()
              : g.reserve == 0     ? "none (--reserve 0)"
                               : "none (spent on a full disk, or no room for it; made again once "
                                 "there is room)");
  return 0;
}

int CmdReindex(const Globals& g, bool as_json) {
  auto st = OpenStore(g, false, nullptr, 0, /*repair=*/true);
  if (!st.ok()) return Fail(st.status());
  ProgressBar bar("reindex", 0);
  auto r = (*st)->Reindex([&](uint64_t done) { bar.Update(done); });
  if (!r.ok()) return Fail(r.status());
  if (as_json) {
    std::cout << json{{"packs", r->packs},
                      {"chunks", r->chunks},
                      {"manifests", r->manifests},
                      {"skipped", r->skipped},
                      {"dangling_names", r->dangling_names},
                      {"tenants_restored", r->tenants_restored},
                      {"tenants_unrestored", r->tenants_unrestored}}
                         .dump()
              << "\n";
  } else {
    for (const auto& s : r->skipped) std::printf("SKIPPED %s\n", s.c_str());
    for (const auto& n : r->dangling_names) std::printf("DANGLING name %s\n", n.c_str());
    for (const auto& t : r->tenants_restored) {
      std::printf("RESTORED tenant %s (S3 access keys are not: `artifact-store tenant add %s` "
                  "issues one)\n",
                  t.c_str(), t.c_str());
    }
    for (const auto& t : r->tenants_unrestored) std::printf("UNRESTORED %s\n", t.c_str());
    std::printf("reindexed %" PRIu64 " packs: %" PRIu64 " chunks, %" PRIu64 " manifests\n",
                r->packs, r->chunks, r->manifests);
  }
  return r->skipped.empty() && r->dangling_names.empty() ? 0 : kExitDamaged;
}

int CmdCpu(const Globals& g, bool as_json) {
  CpuFeatures cpu = DetectCpu();
  CpuFeatures used = cpu;
  if (!g.cpu.empty()) {
    auto t = ParseTier(g.cpu);
    if (!t.ok()) return Fail(t.status());
    if (!HasTier(cpu, *t)) {
      return Fail(Status::InvalidArgument(std::string("this CPU lacks tier ") + TierName(*t) +
                                          " (has: " + DescribeFeatures(cpu) + ")"));
    }
    used = CapToTier(cpu, *t);
  }
  KernelTable k = MakeKernelTable(used);
  if (as_json) {
    std::cout << json{{"features", DescribeFeatures(cpu)},
                      {"tier", TierName(BestTier(used))},
                      {"kernels",
                       {{"crc32c", k.crc32c_name},
                        {"crc64nvme", k.crc64nvme_name},
                        {"fastcdc", k.fastcdc_name}}}}
                     .dump()
              << "\n";
    return 0;
  }
  std::printf("features:  %s\ntier:      %s\ncrc32c:    %s\ncrc64nvme: %s\nfastcdc:   %s\n",
              DescribeFeatures(cpu).c_str(), TierName(BestTier(used)), k.crc32c_name,
              k.crc64nvme_name, k.fastcdc_name);
  return 0;
}

}  // namespace as::cli
