// kcheck: every variant of every kernel against its reference, in the manner of
// FFmpeg's checkasm (written from scratch; see docs/asm/crc32c.md).
//
//   kcheck                 check every variant the CPU can run, and the table
//                          at every tier it has; prints the seed
//   kcheck --seed N        replay a run
//   kcheck --self-test     check that the harness catches broken variants
//   kcheck --bench         CRC-32C, CRC-64/NVME and FastCDC GB/s and TSC
//                          cycles/byte per variant, ISA-L as the CRC-32C
//                          anchor, ratios against bench/baseline-kernels.json
//
// Each variant runs in a forked child, so a crash (SIGILL, SIGSEGV from reading
// past a PROT_NONE guard page) or a hang is a named failure of that variant,
// not of the harness. The inputs and expected values are computed once in the
// parent (from the reference), so all children see the same cases.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <random>
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

// ---------------------------------------------------------------- buffers

// `size` readable bytes whose end touches a PROT_NONE page: reading one byte
// past end() faults. The start is page aligned.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t size) {
    page_ = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    size_t span = (size + page_ - 1) / page_ * page_;
    map_len_ = span + page_;
    void* m = ::mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    if (m == MAP_FAILED) {
      std::perror("kcheck: mmap");
      std::exit(2);
    }
    base_ = static_cast<uint8_t*>(m);
    if (::mprotect(base_ + span, page_, PROT_NONE) != 0) {
      std::perror("kcheck: mprotect");
      std::exit(2);
    }
    begin_ = base_ + span - size;
    size_ = size;
  }
  ~GuardedBuffer() { ::munmap(base_, map_len_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  uint8_t* data() const { return begin_; }
  uint8_t* end() const { return begin_ + size_; }  // first unreadable byte
  size_t size() const { return size_; }

 private:
  uint8_t* base_ = nullptr;
  uint8_t* begin_ = nullptr;
  size_t size_ = 0;
  size_t map_len_ = 0;
  size_t page_ = 4096;
};

void FillRandom(uint8_t* p, size_t n, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(p + i, &x, std::min<size_t>(8, n - i));
  }
}

// ---------------------------------------------------------------- running

// Where a child writes the details of its failures; the parent prints them
// under the variant's FAIL line.
FILE* g_detail = stderr;


// Runs `body` in a child. Returns "" on success, else a description of the failure
// (its exit code meaning, or the signal that killed it).
std::string RunIsolated(const std::function<int()>& body, unsigned timeout_s,
                        std::string* details) {
  std::fflush(stdout);
  std::fflush(stderr);
  FILE* tmp = std::tmpfile();
  if (tmp == nullptr) {
    std::perror("kcheck: tmpfile");
    std::exit(2);
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("kcheck: fork");
    std::exit(2);
  }
  if (pid == 0) {
    ::alarm(timeout_s);
    g_detail = tmp;
    int rc = body();
    std::fflush(stdout);
    std::fflush(tmp);
    ::_exit(rc);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      std::perror("kcheck: waitpid");
      std::exit(2);
    }
  }
  details->clear();
  std::rewind(tmp);
  char line[512];
  while (std::fgets(line, sizeof line, tmp)) *details += line;
  std::fclose(tmp);
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status) == 0 ? "" : "wrong results";
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (sig == SIGALRM) return "timeout after " + std::to_string(timeout_s) + " s";
    return std::string("crashed: ") + (sigabbrev_np(sig) ? "SIG" : "") +
           (sigabbrev_np(sig) ? sigabbrev_np(sig) : std::to_string(sig).c_str()) + " (" +
           strsignal(sig) + ")";
  }
  return "unknown exit status";
}

struct Tally {
  int passed = 0;
  int failed = 0;
  int skipped = 0;
};

void Report(Tally& t, const std::string& name, const std::string& failure,
            const std::string& details, size_t cases, double secs) {
  if (failure.empty()) {
    ++t.passed;
    std::printf("PASS  %-40s %8zu cases  %6.2f s\n", name.c_str(), cases, secs);
  } else {
    ++t.failed;
    std::printf("FAIL  %-40s %s\n%s", name.c_str(), failure.c_str(), details.c_str());
  }
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

constexpr int kMaxPrinted = 5;

// ---------------------------------------------------------------- CRCs

// What differs between the CRC kernels (CRC-32C, CRC-64/NVME): the value
// type, the reference and the published check value of "123456789".
template <typename T>
struct CrcKind {
  const char* name;
  T (*reference)(T crc, const uint8_t* p, size_t n);
  T check;
};
const CrcKind<uint32_t> kCrc32c = {"CRC-32C", &Crc32cReference, 0xE3069283u};
const CrcKind<uint64_t> kCrc64 = {"CRC-64/NVME", &Crc64NvmeReference, 0xAE8B14860A799888ull};

template <typename T>
struct CrcCase {
  const uint8_t* p;
  size_t n;
  T init;
  T want;
  const char* kind;  // "len", "mis", "big", "guard"
};

template <typename T>
struct CrcCases {
  std::vector<CrcCase<T>> cases;
  std::vector<size_t> chained;  // indexes of cases also checked split in pieces
};

// The spread of large lengths: every interesting boundary of the variants'
// block sizes, then a geometric ladder with jitter up to the buffer size.
std::vector<size_t> BigLengths(std::mt19937_64& rng, size_t limit) {
  std::vector<size_t> v;
  for (size_t b : {2048, 4096, 6144, 8192, 12288, 16384, 65536, 1 << 20, 4 << 20, 8 << 20}) {
    for (size_t d : {b - 1, b, b + 1, b + 13}) v.push_back(d);
  }
  for (double x = 1100; x < double(limit); x *= 1.37) {
    v.push_back(size_t(x) + rng() % 256);
  }
  v.erase(std::remove_if(v.begin(), v.end(), [&](size_t n) { return n > limit; }), v.end());
  return v;
}

template <typename T>
CrcCases<T> MakeCrcCases(const CrcKind<T>& kind, const GuardedBuffer& buf, uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0xC8C32C);
  CrcCases<T> c;
  auto add = [&](const uint8_t* p, size_t n, T init, const char* what) {
    c.cases.push_back({p, n, init, kind.reference(init, p, n), what});
  };
  const uint8_t* start = buf.data();
  // Every length 0..1024, each at a random misalignment and initial CRC.
  for (size_t n = 0; n <= 1024; ++n) {
    add(start + 64 + rng() % 64, n, static_cast<T>(rng()), "len");
  }
  // Every misalignment 0..63 for the lengths around the block sizes.
  for (size_t mis = 0; mis < 64; ++mis) {
    for (size_t n : {1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 191,
                     192, 193, 255, 256, 257, 383, 384, 385, 511, 512, 513, 767, 768, 769, 4096,
                     6144 + 5}) {
      add(start + 128 + mis, n, static_cast<T>(rng()), "mis");
    }
  }
  // Large lengths, random misalignment, ending anywhere.
  const size_t room = buf.size() - 128;
  for (size_t n : BigLengths(rng, room)) {
    add(start + rng() % 64, n, static_cast<T>(rng()), "big");
  }
  // Inputs ending exactly at the guard page: every short length, the spread.
  for (size_t n = 0; n <= 1024; ++n) add(buf.end() - n, n, 0, "guard");
  for (size_t n : BigLengths(rng, buf.size())) add(buf.end() - n, n, 0, "guard");
  // One-shot == chained, on a sample.
  for (size_t i = 0; i < c.cases.size(); ++i) {
    if (c.cases[i].n > 0 && (rng() % 8 == 0 || c.cases[i].n > (1 << 20))) c.chained.push_back(i);
  }
  return c;
}

// The child's body for one CRC variant: 0 if every case matched.
template <typename T>
int CheckCrc(const CrcKind<T>& kind, T (*fn)(T, const uint8_t*, size_t), const CrcCases<T>& cs,
             uint64_t seed) {
  int bad = 0;
  constexpr int kDigits = int(2 * sizeof(T));
  auto fail = [&](const char* what, const CrcCase<T>& c, T got) {
    if (bad++ < kMaxPrinted) {
      std::fprintf(g_detail,
                   "      %s: kind %s n %zu addr%%64 %zu init 0x%0*" PRIx64 " got 0x%0*" PRIx64
                   " want 0x%0*" PRIx64 "\n",
                   what, c.kind, c.n, size_t(reinterpret_cast<uintptr_t>(c.p) % 64), kDigits,
                   uint64_t(c.init), kDigits, uint64_t(got), kDigits, uint64_t(c.want));
    }
  };
  // Fixed check values.
  static const uint8_t kNine[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  if (T got = fn(0, kNine, 9); got != kind.check) {
    fail("check value", {kNine, 9, 0, kind.check, "fixed"}, got);
  }
  const T init = static_cast<T>(0x0123456789abcdefull);
  if (T got = fn(init, nullptr, 0); got != init) {
    fail("n == 0 with null p", {nullptr, 0, init, init, "fixed"}, got);
  }
  for (const CrcCase<T>& c : cs.cases) {
    T got = fn(c.init, c.p, c.n);
    if (got != c.want) fail("mismatch", c, got);
  }
  std::mt19937_64 rng(seed ^ 0xC4A1);
  for (size_t i : cs.chained) {
    const CrcCase<T>& c = cs.cases[i];
    // Random split points; every other case in many small pieces (some empty).
    bool small = rng() % 2;
    T crc = c.init;
    size_t pos = 0;
    while (pos < c.n) {
      size_t left = c.n - pos;
      size_t step = small ? rng() % 200 : 1 + rng() % left;
      step = std::min(step, left);
      crc = fn(crc, c.p + pos, step);
      pos += step;
    }
    if (crc != c.want) fail(small ? "chained (small pieces)" : "chained", c, crc);
  }
  return bad == 0 ? 0 : 1;
}

// ---------------------------------------------------------------- FastCDC

struct CdcCase {
  int params;  // index into CdcCases::params
  const uint8_t* src;
  size_t n;
  size_t want;
  uint64_t want_hash;
  const char* kind;
};

struct CdcChunk {
  size_t offset, size;
  uint64_t hash;
  bool operator==(const CdcChunk&) const = default;
};

struct CdcStream {
  int params;
  const uint8_t* data;
  size_t size;
  std::vector<CdcChunk> want;
};

struct CdcCases {
  std::vector<ChunkerParams> chunker;
  std::vector<FastcdcScanParams> params;
  std::vector<CdcCase> cases;
  std::vector<CdcStream> streams;
};

std::vector<CdcChunk> ChunkAll(FastcdcCutFn fn, const FastcdcScanParams& p, const uint8_t* d,
                               size_t size) {
  std::vector<CdcChunk> out;
  size_t pos = 0;
  while (pos < size) {
    uint64_t h = 0;
    size_t len = fn(p, d + pos, size - pos, &h);
    if (len == 0) break;  // contract violation; the comparison will show it
    out.push_back({pos, len, h});
    pos += len;
  }
  return out;
}

CdcCases MakeCdcCases(const GuardedBuffer& random, const GuardedBuffer& zeros, uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0xFCDC);
  CdcCases c;
  c.chunker = {{64, 256, 1024, 0},  {64, 256, 1024, 1},      {64, 256, 1024, 2},
               {64, 256, 1024, 3},  {4096, 16384, 65536, 2}, {16384, 65536, 262144, 1}};
  for (const ChunkerParams& cp : c.chunker) {
    if (!ValidateChunkerParams(cp).ok()) std::abort();
    c.params.push_back(MakeScanParams(cp));
  }
  auto add = [&](int pi, const uint8_t* src, size_t n, const char* kind) {
    uint64_t h = 0;
    size_t want = FastcdcCutReference(c.params[pi], src, n, &h);
    c.cases.push_back({pi, src, n, want, h, kind});
  };
  for (int pi = 0; pi < 4; ++pi) {
    for (size_t n = 0; n <= 1100; ++n) {
      add(pi, random.data() + 64 * (rng() % 1024) + rng() % 64, n, "len");
      add(pi, random.end() - n, n, "guard");
      add(pi, zeros.end() - n, n, "guard-zeros");
    }
  }
  for (int pi = 4; pi < 6; ++pi) {
    const ChunkerParams& cp = c.chunker[pi];
    std::vector<size_t> ns;
    for (size_t b : {cp.min_size, cp.avg_size, cp.max_size}) {
      for (size_t d : {b - 1, b, b + 1, b + 2, b + 63}) ns.push_back(d);
    }
    for (int i = 0; i < 64; ++i) ns.push_back(rng() % (2 * cp.max_size));
    for (size_t n : ns) {
      add(pi, random.data() + rng() % (random.size() - n), n, "big");
      add(pi, random.end() - n, n, "guard");
      add(pi, zeros.end() - n, n, "guard-zeros");
    }
  }
  // Whole buffers chunked by the reference: the one-shot and streaming answers.
  for (int pi : {1, 4, 5}) {
    size_t size = pi == 1 ? (1 << 20) : random.size();
    c.streams.push_back({pi, random.end() - size, size,
                         ChunkAll(&FastcdcCutReference, c.params[pi], random.end() - size, size)});
  }
  c.streams.push_back(
      {5, zeros.data(), zeros.size(),
       ChunkAll(&FastcdcCutReference, c.params[5], zeros.data(), zeros.size())});
  return c;
}

int CheckCdc(FastcdcCutFn fn, const CdcCases& cs, uint64_t seed) {
  int bad = 0;
  for (const CdcCase& c : cs.cases) {
    uint64_t h = ~c.want_hash;
    size_t got = fn(cs.params[c.params], c.src, c.n, &h);
    size_t got_null = fn(cs.params[c.params], c.src, c.n, nullptr);
    if (got != c.want || h != c.want_hash || got_null != c.want) {
      if (bad++ < kMaxPrinted) {
        const ChunkerParams& cp = cs.chunker[c.params];
        std::fprintf(g_detail,
                     "      mismatch: kind %s params %u/%u/%u nc %d n %zu addr%%64 %zu: got %zu "
                     "hash %016" PRIx64 " (null hash_out: %zu), want %zu hash %016" PRIx64 "\n",
                     c.kind, cp.min_size, cp.avg_size, cp.max_size, cp.normalization, c.n,
                     size_t(reinterpret_cast<uintptr_t>(c.src) % 64), got, h, got_null, c.want,
                     c.want_hash);
      }
    }
  }
  std::mt19937_64 rng(seed ^ 0x57AE);
  for (const CdcStream& s : cs.streams) {
    const ChunkerParams& cp = cs.chunker[s.params];
    std::vector<CdcChunk> one_shot = ChunkAll(fn, cs.params[s.params], s.data, s.size);
    if (one_shot != s.want && bad++ < kMaxPrinted) {
      std::fprintf(g_detail, "      one-shot chunking of %zu bytes (params %u/%u/%u) differs\n",
                   s.size, cp.min_size, cp.avg_size, cp.max_size);
    }
    // Streaming through ChunkStream, reads of random sizes into a minimal buffer.
    KernelTable k = MakeKernelTable(CpuFeatures{});
    k.fastcdc_cut = fn;
    Chunker chunker(cp, k);
    size_t pos = 0;
    ChunkStream stream(
        chunker,
        [&](uint8_t* b, size_t cap) -> Result<size_t> {
          size_t n = std::min({cap, s.size - pos, size_t(1 + rng() % (3 * cp.max_size))});
          std::memcpy(b, s.data + pos, n);
          pos += n;
          return n;
        },
        rng() % 2 ? 1 : (1 << 20));
    std::vector<CdcChunk> streamed;
    ChunkView v;
    while (true) {
      Result<bool> r = stream.Next(&v);
      if (!r.ok() || !*r) break;
      streamed.push_back({size_t(v.offset), v.size, v.gear_hash});
    }
    if (streamed != s.want && bad++ < kMaxPrinted) {
      std::fprintf(g_detail,
                   "      streaming chunking of %zu bytes (params %u/%u/%u) differs: %zu chunks, "
                   "want %zu\n",
                   s.size, cp.min_size, cp.avg_size, cp.max_size, streamed.size(),
                   s.want.size());
    }
  }
  return bad == 0 ? 0 : 1;
}

// ---------------------------------------------------------------- variants

template <typename Fn>
struct Named {
  std::string name;
  Fn fn;
};

// The named variants the CPU can run, then the table at every tier it has.
// Variants it cannot run are reported as skipped.
template <typename Fn>
std::vector<Named<Fn>> Runnable(const std::vector<KernelVariant<Fn>>& all,
                                Fn KernelTable::*field, const char* KernelTable::*name_field,
                                const CpuFeatures& host, const char* kernel, Tally& tally) {
  std::vector<Named<Fn>> out;
  for (const KernelVariant<Fn>& v : all) {
    if (v.runnable) {
      out.push_back({v.name, v.fn});
    } else {
      ++tally.skipped;
      std::printf("SKIP  %-40s cpu lacks: %s\n", v.name, v.needs);
    }
  }
  for (CpuTier t : {CpuTier::kPortable, CpuTier::kSse42, CpuTier::kAvx2, CpuTier::kAvx512}) {
    std::string label = std::string("table@") + TierName(t);
    if (!HasTier(host, t)) {
      ++tally.skipped;
      std::printf("SKIP  %-40s cpu lacks the tier\n", (label + ":" + kernel).c_str());
      continue;
    }
    KernelTable k = MakeKernelTable(CapToTier(host, t));
    out.push_back({label + ":" + (k.*name_field), k.*field});
  }
  return out;
}

// Checks each variant in `fns` against `cases` in a child of its own.
template <typename Fn, typename Check>
void CheckEach(const std::vector<Named<Fn>>& fns, size_t cases, const Check& check, Tally& tally) {
  for (const auto& v : fns) {
    auto t = std::chrono::steady_clock::now();
    std::string details;
    std::string failure = RunIsolated([&] { return check(v.fn); }, 300, &details);
    Report(tally, v.name, failure, details, cases, Seconds(t));
  }
}

// The self-test passes overrides (broken variants) instead of the build's.
struct Overrides {
  std::vector<Named<Crc32cFn>> crc32c;
  std::vector<Named<Crc64Fn>> crc64;
  std::vector<Named<FastcdcCutFn>> cdc;
};

Tally RunChecks(uint64_t seed, const Overrides* over) {
  CpuFeatures host = DetectCpu();
  std::printf("kcheck: seed %" PRIu64 " (replay with --seed %" PRIu64 ")\n", seed, seed);
  std::printf("kcheck: cpu [%s], best tier %s\n", DescribeFeatures(host).c_str(),
              TierName(BestTier(host)));
  auto t0 = std::chrono::steady_clock::now();
  GuardedBuffer random(8 << 20), zeros(1 << 20);
  FillRandom(random.data(), random.size(), seed);
  std::memset(zeros.data(), 0, zeros.size());
  CrcCases<uint32_t> crc = MakeCrcCases(kCrc32c, random, seed);
  CrcCases<uint64_t> crc64 = MakeCrcCases(kCrc64, random, seed);
  CdcCases cdc = MakeCdcCases(random, zeros, seed);
  std::printf(
      "kcheck: %zu CRC cases of each width (%zu also chained), %zu FastCDC cases + %zu "
      "streams; references took %.2f s\n",
      crc.cases.size(), crc.chained.size(), cdc.cases.size(), cdc.streams.size(), Seconds(t0));

  Tally tally;
  CheckEach(
      over ? over->crc32c
           : Runnable(Crc32cVariants(host), &KernelTable::crc32c, &KernelTable::crc32c_name, host,
                      "crc32c", tally),
      crc.cases.size() + crc.chained.size(),
      [&](Crc32cFn fn) { return CheckCrc(kCrc32c, fn, crc, seed); }, tally);
  CheckEach(
      over ? over->crc64
           : Runnable(Crc64NvmeVariants(host), &KernelTable::crc64nvme,
                      &KernelTable::crc64nvme_name, host, "crc64nvme", tally),
      crc64.cases.size() + crc64.chained.size(),
      [&](Crc64Fn fn) { return CheckCrc(kCrc64, fn, crc64, seed); }, tally);
  CheckEach(
      over ? over->cdc
           : Runnable(FastcdcVariants(host), &KernelTable::fastcdc_cut, &KernelTable::fastcdc_name,
                      host, "fastcdc", tally),
      cdc.cases.size() + cdc.streams.size(),
      [&](FastcdcCutFn fn) { return CheckCdc(fn, cdc, seed); }, tally);
  std::printf("kcheck: %d passed, %d failed, %d skipped (seed %" PRIu64 ")\n", tally.passed,
              tally.failed, tally.skipped, seed);
  return tally;
}

// ---------------------------------------------------------------- self-test

// Deliberately broken variants: the harness must name each one a failure.
uint32_t CrcOverread(uint32_t crc, const uint8_t* p, size_t n) {
  volatile uint8_t past = n ? p[n] : 0;  // one byte past the end
  (void)past;
  return Crc32cPortable(crc, p, n);
}
uint32_t CrcWrongAt1000(uint32_t crc, const uint8_t* p, size_t n) {
  return Crc32cPortable(crc, p, n) ^ (n == 1000 ? 1u : 0u);
}
uint32_t CrcIllegal(uint32_t, const uint8_t*, size_t) {
  __builtin_trap();  // ud2 on x86: SIGILL
}
uint64_t Crc64WrongCheckValue(uint64_t crc, const uint8_t* p, size_t n) {
  return Crc64NvmePortable(crc, p, n) ^ (n == 9 ? 1u : 0u);
}
size_t CdcOffByOne(const FastcdcScanParams& p, const uint8_t* s, size_t n, uint64_t* h) {
  size_t r = FastcdcCutPortable(p, s, n, h);
  return r > 300 && r < p.max ? r + 1 : r;
}

int SelfTest(uint64_t seed) {
  std::printf("kcheck --self-test: every variant below is broken on purpose and must FAIL\n");
  Overrides o;
  o.crc32c = {{"self-test:crc_overread", &CrcOverread},
              {"self-test:crc_wrong_at_1000", &CrcWrongAt1000},
              {"self-test:crc_sigill", &CrcIllegal}};
  o.crc64 = {{"self-test:crc64_wrong_check_value", &Crc64WrongCheckValue}};
  o.cdc = {{"self-test:fastcdc_off_by_one", &CdcOffByOne}};
  Tally t = RunChecks(seed, &o);
  int total = int(o.crc32c.size() + o.crc64.size() + o.cdc.size());
  bool ok = t.failed == total && t.passed == 0;
  std::printf("kcheck --self-test: %d of %d broken variants caught: %s\n", t.failed, total,
              ok ? "ok" : "HARNESS BROKEN");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace as

int KcheckBench(const std::string& baseline_path);  // kcheck_bench.cc

int main(int argc, char** argv) {
  uint64_t seed = std::random_device{}() ^ (uint64_t(std::random_device{}()) << 32);
  seed %= 1000000000000ull;  // short enough to retype
  bool bench = false, self_test = false;
  std::string baseline = AS_SOURCE_DIR "/bench/baseline-kernels.json";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--bench") {
      bench = true;
    } else if (a == "--baseline" && i + 1 < argc) {
      baseline = argv[++i];
    } else if (a == "--self-test") {
      self_test = true;
    } else {
      std::fprintf(stderr,
                   "usage: kcheck [--seed N] | --self-test [--seed N] | --bench [--baseline "
                   "FILE]\n");
      return 2;
    }
  }
  if (bench) return KcheckBench(baseline);
  if (self_test) return as::SelfTest(seed);
  return as::RunChecks(seed, nullptr).failed == 0 ? 0 : 1;
}
