// kcheck --bench: throughput of every runnable variant (CRC-32C, CRC-64/NVME,
// FastCDC), with ISA-L's crc32_iscsi as the CRC-32C anchor and
// bench/baseline-kernels.json as the recorded baseline (printed as ratios, so
// a regression shows as < 1).
//
// GB/s is 1e9 bytes per second of wall time (steady_clock). Cycles/byte are
// TSC ticks per byte: the TSC runs at a constant reference rate, not the core
// clock, so with boost they are only proportional to core cycles.
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#ifdef AS_HAVE_ISAL
#include <isa-l/crc.h>
#endif

#include "chunking/fastcdc.h"
#include "kernels/kernels.h"

namespace as {
namespace {

uint64_t Ticks() {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return 0;
#endif
}

struct Sample {
  double gbps = 0;
  double cpb = 0;  // TSC ticks per byte
};

// Best of `trials` runs, each repeating `call` (which processes `bytes`) for at
// least `min_s` seconds.
template <typename F>
Sample Measure(F&& call, size_t bytes, int trials, double min_s) {
  Sample best;
  for (int t = 0; t < trials; ++t) {
    auto t0 = std::chrono::steady_clock::now();
    uint64_t c0 = Ticks();
    uint64_t iters = 0;
    double secs = 0;
    do {
      call();
      ++iters;
      secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } while (secs < min_s);
    uint64_t ticks = Ticks() - c0;
    double total = double(bytes) * double(iters);
    Sample s{total / secs / 1e9, double(ticks) / total};
    if (s.gbps > best.gbps) best = s;
  }
  return best;
}

std::map<std::string, double> LoadBaseline(const std::string& path) {
  std::map<std::string, double> m;
  std::ifstream in(path);
  if (!in) return m;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  // Flat {"key": number, ...}; entries whose value is not a number are skipped.
  // (A hand scan: std::regex trips -Wmaybe-uninitialized under ASan + -O2.)
  size_t i = 0;
  while ((i = text.find('"', i)) != std::string::npos) {
    size_t close = text.find('"', i + 1);
    if (close == std::string::npos) break;
    std::string key = text.substr(i + 1, close - i - 1);
    size_t j = text.find_first_not_of(" \t\r\n", close + 1);
    i = close + 1;
    if (j == std::string::npos || text[j] != ':') continue;
    j = text.find_first_not_of(" \t\r\n", j + 1);
    if (j == std::string::npos || text[j] < '0' || text[j] > '9') continue;
    m[key] = std::strtod(text.c_str() + j, nullptr);
    i = j;
  }
  return m;
}

struct Column {
  const char* key;
  size_t bytes;
  int trials;
  double min_s;
};

// One CRC variant: `run(n)` checksums the first n bytes of the bench buffer.
struct CrcRow {
  std::string name;
  std::function<uint64_t(size_t)> run;
  bool chosen;  // the kernel table's pick
};

// Hot buffers are in cache after the first call; the 1 GiB one never is.
const Column kCrcColumns[] = {{"hot16k", 16 << 10, 5, 0.2},
                              {"hot1m", 1 << 20, 3, 0.3},
                              {"stream1g", size_t(1) << 30, 2, 0.0}};

// Prints one table: GB/s and TSC ticks per byte per column, the hot 16 KiB
// speed as a multiple of `ref1`'s and `ref2`'s (rows measured before), and
// the ratio to the recorded baseline per column.
void BenchCrcs(const char* title, const std::vector<CrcRow>& rows,
               const std::map<std::string, double>& base, const char* ref1, const char* ref2) {
  // "x sse42" for crc32c_sse42: the part of the name after its last '_'.
  const std::string ref2_label = ref2 ? "x " + std::string(std::strrchr(ref2, '_') + 1) : "";
  std::printf("\n%-12s %-22s %17s %17s %17s   %-9s %-9s  vs baseline (16k/1m/1g)\n", title,
              "variant", "hot 16 KiB", "hot 1 MiB", "stream 1 GiB", "x portbl", ref2_label.c_str());
  std::printf("             %-22s %17s %17s %17s\n", "", "GB/s    c/B", "GB/s    c/B",
              "GB/s    c/B");
  std::map<std::string, Sample> first;  // variant -> hot16k sample
  for (const CrcRow& r : rows) {
    Sample s[3];
    for (int c = 0; c < 3; ++c) {
      const Column& col = kCrcColumns[c];
      volatile uint64_t sink = 0;
      s[c] = Measure([&] { sink = sink + r.run(col.bytes); }, col.bytes, col.trials, col.min_s);
    }
    first[r.name] = s[0];
    auto ratio = [&](const char* other) -> std::string {
      auto it = other ? first.find(other) : first.end();
      if (it == first.end()) return "-";
      char b[32];
      std::snprintf(b, sizeof b, "%.2fx", s[0].gbps / it->second.gbps);
      return b;
    };
    std::string vs;
    for (int c = 0; c < 3; ++c) {
      auto it = base.find(r.name + "/" + kCrcColumns[c].key);
      char b[32];
      if (it == base.end()) {
        std::snprintf(b, sizeof b, "%s-", c ? " " : "");
      } else {
        std::snprintf(b, sizeof b, "%s%.2f", c ? " " : "", s[c].gbps / it->second);
      }
      vs += b;
    }
    std::printf("             %-22s %7.2f %7.3f   %7.2f %7.3f   %7.2f %7.3f   %-9s %-9s  %s%s\n",
                r.name.c_str(), s[0].gbps, s[0].cpb, s[1].gbps, s[1].cpb, s[2].gbps, s[2].cpb,
                ratio(ref1).c_str(), ratio(ref2).c_str(), vs.c_str(),
                r.chosen ? "   <- table" : "");
    std::fflush(stdout);
  }
}

}  // namespace
}  // namespace as

int KcheckBench(const std::string& baseline_path) {
  using namespace as;
  CpuFeatures host = DetectCpu();
  std::map<std::string, double> base = LoadBaseline(baseline_path);

  // TSC rate, for the header.
  auto w0 = std::chrono::steady_clock::now();
  uint64_t c0 = Ticks();
  while (std::chrono::steady_clock::now() - w0 < std::chrono::milliseconds(200)) {
  }
  double tsc_ghz = double(Ticks() - c0) /
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count() /
                   1e9;
  std::printf("kcheck --bench: cpu [%s]; TSC %.2f GHz (c/B below are TSC ticks per byte)\n",
              DescribeFeatures(host).c_str(), tsc_ghz);
  std::printf("baseline: %s (%zu entries)%s\n", baseline_path.c_str(), base.size(),
              base.empty() ? " -- not found, no ratios" : "");

  const size_t big = size_t(1) << 30;
  void* m = ::mmap(nullptr, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    std::perror("kcheck: mmap 1 GiB");
    return 2;
  }
  uint8_t* buf = static_cast<uint8_t*>(m);
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < big; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(buf + i, &x, 8);
  }

  KernelTable best = MakeKernelTable(host);
  std::vector<CrcRow> crc32c, crc64;
  for (const auto& v : Crc32cVariants(host)) {
    if (!v.runnable) continue;
    crc32c.push_back({v.name, [fn = v.fn, buf](size_t n) { return uint64_t(fn(0, buf, n)); },
                      std::string(v.name) == best.crc32c_name});
  }
#ifdef AS_HAVE_ISAL
  crc32c.push_back({"isal_crc32_iscsi",
                    [buf](size_t n) { return uint64_t(crc32_iscsi(buf, int(n), 0)); }, false});
#endif
  for (const auto& v : Crc64NvmeVariants(host)) {
    if (!v.runnable) continue;
    crc64.push_back({v.name, [fn = v.fn, buf](size_t n) { return fn(0, buf, n); },
                     std::string(v.name) == best.crc64nvme_name});
  }
  // CRC-64 first: ISA-L's AVX-512 code returns without vzeroupper, and
  // legacy-SSE code run after it in the same thread (crc64nvme_pclmul) went at
  // half speed here (7.9 against 14 GB/s). The server, which uses ISA-L for
  // S3's CRC32, clears the state after each call (s3/checksum.cc).
  BenchCrcs("CRC-64/NVME", crc64, base, "crc64nvme_portable", nullptr);
  BenchCrcs("CRC-32C", crc32c, base, "crc32c_portable", "crc32c_sse42");

  // FastCDC: chunk 64 MiB of random bytes end to end, default parameters.
  std::printf("\nFastCDC      %-22s %17s   %-9s  vs baseline\n", "variant", "chunk 64 MiB",
              "x portbl");
  ChunkerParams cp;
  FastcdcScanParams p = MakeScanParams(cp);
  const size_t cdc_bytes = 64 << 20;
  double portable_gbps = 0;
  for (const auto& v : FastcdcVariants(host)) {
    if (!v.runnable) continue;
    volatile size_t sink = 0;
    Sample s = Measure(
        [&] {
          size_t pos = 0;
          while (pos < cdc_bytes) {
            uint64_t h;
            pos += v.fn(p, buf + pos, cdc_bytes - pos, &h);
          }
          sink = pos;
        },
        cdc_bytes, 3, 0.2);
    if (portable_gbps == 0) portable_gbps = s.gbps;
    auto it = base.find(std::string(v.name) + "/chunk64m");
    char vs[32] = "-";
    if (it != base.end()) std::snprintf(vs, sizeof vs, "%.2f", s.gbps / it->second);
    std::printf("             %-22s %7.2f %7.3f   %.2fx      %s%s\n", v.name, s.gbps, s.cpb,
                s.gbps / portable_gbps, vs,
                std::string(v.name) == best.fastcdc_name ? "   <- table" : "");
    std::fflush(stdout);
  }
  ::munmap(m, big);
  return 0;
}
