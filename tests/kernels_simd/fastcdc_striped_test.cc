// The parallel FastCDC scan variants (kernels/fastcdc_simd.h) against the
// reference: the closed form they rely on, every length around min/avg/max,
// whole buffers of random and low-entropy data for many parameter sets and all
// normalization levels, the published vectors, and a guard page after the end.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "chunking/fastcdc.h"
#include "kernels/fastcdc_scan.h"
#include "kernels/fastcdc_simd.h"
#include "seed.h"
#include "test_util.h"

namespace as {
namespace {

using Fn = size_t (*)(const FastcdcScanParams&, const uint8_t*, size_t, uint64_t*);
struct Variant {
  std::string name;
  Fn fn;
};

template <int K, size_t S>
size_t Striped(const FastcdcScanParams& p, const uint8_t* src, size_t n, uint64_t* h) {
  return FastcdcCutStripedK<K>(p, src, n, h, S);
}

std::vector<Variant> Variants() {
  return {{"striped", &FastcdcCutStriped},
          {"striped2x64", &Striped<2, 64>},
          {"striped3x100", &Striped<3, 100>},
          {"striped4x64", &Striped<4, 64>},
          {"striped6x64", &Striped<6, 64>},
          {"striped8x1000", &Striped<8, 1000>}};
}

FastcdcScanParams Params(uint32_t min, uint32_t avg, uint32_t max, int nc) {
  ChunkerParams cp{min, avg, max, nc};
  EXPECT_TRUE(ValidateChunkerParams(cp).ok()) << min << "/" << avg << "/" << max << " " << nc;
  return MakeScanParams(cp);
}

// The derivation in fastcdc_scan_striped.cc: after the even byte x the v2020
// state is G(x) << 1, after the odd byte it is G(x), with
// G(x) = sum_p GEAR[b_p] << (x - p); and only the last 64 bytes matter.
TEST(FastcdcClosedForm, StateIsWindowedGearSum) {
  const uint64_t seed = testing::TestSeed("FastcdcClosedForm");
  std::vector<uint8_t> b = testing::RandomBytes(4096, seed);
  for (size_t i = 0; i < 512; ++i) b[1024 + i] = 0;  // a low-entropy stretch too
  FastcdcScanParams p = Params(64, 256, 1024, 1);
  uint64_t h = 0;
  for (size_t x = 0; x < b.size(); ++x) {
    h = (x % 2 == 0) ? (h << 2) + p.gear_ls[b[x]] : h + p.gear[b[x]];
    uint64_t g = 0;
    for (size_t q = (x >= 63 ? x - 63 : 0); q <= x; ++q) g += p.gear[b[q]] << (x - q);
    ASSERT_EQ(h, x % 2 == 0 ? g << 1 : g) << "x " << x << " seed " << seed;
    // Hence the even test (h & mask << 1) equals (G & mask) when mask < 2^63.
    if (x % 2 == 0) {
      ASSERT_EQ((h & p.mask_s_ls) == 0, (g & p.mask_s) == 0) << x;
    }
  }
}

void ExpectSame(const FastcdcScanParams& p, const uint8_t* src, size_t n,
                const std::string& what) {
  uint64_t want_h = 1;
  size_t want = FastcdcCutReference(p, src, n, &want_h);
  for (const Variant& v : Variants()) {
    uint64_t got_h = 2;
    ASSERT_EQ(v.fn(p, src, n, &got_h), want) << v.name << " " << what << " n " << n;
    ASSERT_EQ(got_h, want_h) << v.name << " " << what << " n " << n;
  }
}

// Chunks the whole buffer with the reference and every variant.
void ExpectSameChunks(const FastcdcScanParams& p, const std::vector<uint8_t>& buf,
                      const std::string& what) {
  size_t pos = 0;
  while (pos < buf.size()) {
    uint64_t want_h = 1;
    size_t want = FastcdcCutReference(p, buf.data() + pos, buf.size() - pos, &want_h);
    ASSERT_GT(want, 0u);
    for (const Variant& v : Variants()) {
      uint64_t got_h = 2;
      ASSERT_EQ(v.fn(p, buf.data() + pos, buf.size() - pos, &got_h), want)
          << v.name << " " << what << " at " << pos;
      ASSERT_EQ(got_h, want_h) << v.name << " " << what << " at " << pos;
    }
    pos += want;
  }
}

TEST(FastcdcStriped, EveryLengthMatchesReference) {
  const uint64_t seed = testing::TestSeed("FastcdcStriped.EveryLength");
  std::vector<uint8_t> buf = testing::RandomBytes(1 << 16, seed);
  std::mt19937_64 rng(seed);
  for (int nc = 0; nc <= 3; ++nc) {
    FastcdcScanParams p = Params(64, 256, 1024, nc);
    for (size_t n = 0; n <= 1100; ++n) {
      for (int rep = 0; rep < 4; ++rep) {
        size_t off = rng() % (buf.size() - n);
        ExpectSame(p, buf.data() + off, n, "nc " + std::to_string(nc) + " seed " +
                                               std::to_string(seed));
        if (HasFatalFailure()) return;
      }
    }
  }
}

struct Shape {
  uint32_t min, avg, max;
};
const Shape kShapes[] = {
    {64, 256, 1024},         {65, 300, 1001},       {64, 64, 64},       {100, 100, 5000},
    {64, 4096, 4096},        {512, 2048, 65536},    {4096, 16384, 65535},
    {8192, 32768, 131071},   {16384, 65536, 262144}, {65536, 1 << 20, 4 << 20},
};

std::vector<std::pair<std::string, std::vector<uint8_t>>> Inputs(uint64_t seed, size_t n) {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> in;
  in.emplace_back("random", testing::RandomBytes(n, seed));
  in.emplace_back("zeros", std::vector<uint8_t>(n, 0));
  for (size_t period : {1, 2, 3, 7, 64, 1000}) {
    std::vector<uint8_t> r = testing::RandomBytes(period, seed + period);
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = r[i % period];
    in.emplace_back("period" + std::to_string(period), std::move(v));
  }
  // Text-like: few distinct bytes, so the gear state repeats locally.
  std::vector<uint8_t> t = testing::RandomBytes(n, seed ^ 0x5555);
  for (auto& c : t) c = "ab \n"[c & 3];
  in.emplace_back("text4", std::move(t));
  // Random with long zero runs.
  std::vector<uint8_t> z = testing::RandomBytes(n, seed ^ 0xaaaa);
  for (size_t i = 0; i + 70000 < n; i += 150000) std::memset(z.data() + i, 0, 70000);
  in.emplace_back("holes", std::move(z));
  return in;
}

TEST(FastcdcStriped, WholeBuffersAllShapesAllLevels) {
  const uint64_t seed = testing::TestSeed("FastcdcStriped.WholeBuffers");
  for (const auto& [name, buf] : Inputs(seed, 3 << 20)) {
    for (const Shape& s : kShapes) {
      for (int nc = 0; nc <= 3; ++nc) {
        ChunkerParams cp{s.min, s.avg, s.max, nc};
        if (!ValidateChunkerParams(cp).ok()) continue;  // e.g. bits - nc < 5
        ExpectSameChunks(MakeScanParams(cp), buf,
                         name + " " + std::to_string(s.min) + "/" + std::to_string(s.avg) +
                             "/" + std::to_string(s.max) + " nc " + std::to_string(nc) +
                             " seed " + std::to_string(seed));
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST(FastcdcStriped, RandomShapesAndLengths) {
  const uint64_t seed = testing::TestSeed("FastcdcStriped.RandomShapes");
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> buf = testing::RandomBytes(1 << 20, seed);
  for (int iter = 0; iter < 3000; ++iter) {
    uint32_t min = 64 + rng() % 4000;
    uint32_t avg = min + rng() % 20000;
    uint32_t max = avg + rng() % 60000;
    int nc = static_cast<int>(rng() % 4);
    ChunkerParams cp{min, avg, max, nc};
    if (!ValidateChunkerParams(cp).ok()) continue;
    FastcdcScanParams p = MakeScanParams(cp);
    size_t n = rng() % (max + 200);
    size_t off = rng() % (buf.size() - n);
    ExpectSame(p, buf.data() + off, n, "iter " + std::to_string(iter) + " seed " +
                                           std::to_string(seed));
    if (HasFatalFailure()) return;
  }
}

TEST(FastcdcStriped, ZerosVector) {
  std::vector<uint8_t> zeros(10240, 0);
  FastcdcScanParams p = Params(64, 256, 1024, 1);
  for (const Variant& v : Variants()) {
    size_t pos = 0, count = 0;
    while (pos < zeros.size()) {
      uint64_t h = 0;
      size_t len = v.fn(p, zeros.data() + pos, zeros.size() - pos, &h);
      EXPECT_EQ(len, 1024u) << v.name;
      EXPECT_EQ(h, 14169102344523991076ull) << v.name;
      pos += len;
      ++count;
    }
    EXPECT_EQ(count, 10u) << v.name;
    uint64_t h = 7;
    EXPECT_EQ(v.fn(p, zeros.data(), 0, &h), 0u) << v.name;
    EXPECT_EQ(v.fn(p, zeros.data(), 64, &h), 64u) << v.name;  // n <= min
    EXPECT_EQ(h, 0u) << v.name;
  }
}

TEST(FastcdcStriped, SekienVectors) {
  auto dir = testing::VectorsDir();
  if (!dir) GTEST_SKIP() << "../shared/vectors not found: skipping";
  std::ifstream in(*dir + "/SekienAkashita.jpg", std::ios::binary);
  ASSERT_TRUE(in);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
  ASSERT_EQ(data.size(), 109466u);
  FastcdcScanParams p = Params(4096, 16384, 65535, 1);
  std::vector<std::pair<uint64_t, size_t>> want = {
      {17968276318003433923ull, 21325}, {8197189939299398838ull, 17140},
      {13019990849178155730ull, 28084}, {4509236223063678303ull, 18217},
      {2504464741100432583ull, 24700}};
  for (const Variant& v : Variants()) {
    std::vector<std::pair<uint64_t, size_t>> got;
    size_t pos = 0;
    while (pos < data.size()) {
      uint64_t h = 0;
      size_t len = v.fn(p, data.data() + pos, data.size() - pos, &h);
      got.emplace_back(h, len);
      pos += len;
    }
    EXPECT_EQ(got, want) << v.name;
  }
}

TEST(FastcdcStriped, BufferEndsAtGuardPage) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t span = 64 * page;  // room for max = 64 KiB shapes
  void* m = ::mmap(nullptr, span + page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  uint8_t* base = static_cast<uint8_t*>(m);
  ASSERT_EQ(::mprotect(base + span, page, PROT_NONE), 0);
  const uint64_t seed = testing::TestSeed("FastcdcStriped.GuardPage");
  std::mt19937_64 rng(seed);
  for (uint64_t fill : {0ull, 1ull}) {
    if (fill == 0) {
      std::memset(base, 0, span);
    } else {
      std::vector<uint8_t> d = testing::RandomBytes(span, seed);
      std::memcpy(base, d.data(), span);
    }
    for (int nc = 0; nc <= 3; ++nc) {
      FastcdcScanParams small = Params(64, 256, 1024, nc);
      for (size_t n = 0; n <= 1100; ++n) {
        ExpectSame(small, base + span - n, n, "guard small");
        if (HasFatalFailure()) return;
      }
      FastcdcScanParams mid = Params(4096, 16384, 65535, nc);
      for (int rep = 0; rep < 200; ++rep) {
        size_t n = rng() % span;
        ExpectSame(mid, base + span - n, n, "guard mid seed " + std::to_string(seed));
        if (HasFatalFailure()) return;
      }
    }
  }
  ASSERT_EQ(::munmap(m, span + page), 0);
}

}  // namespace
}  // namespace as
