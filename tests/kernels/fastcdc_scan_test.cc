// The FastCDC scan kernels against the reference, at the edges of the contract:
// every n around min/avg/max, buffers ending at a guard page, all variants.
#include "kernels/fastcdc_scan.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "chunking/fastcdc.h"
#include "kernels/kernels.h"
#include "seed.h"
#include "test_util.h"
#include "variants.h"

namespace as {
namespace {

using Fn = FastcdcCutFn;
using Variant = testing::Variant<Fn>;

std::vector<Variant> Variants() {
  return testing::KernelVariants<Fn>("portable", &FastcdcCutPortable, FastcdcVariants(DetectCpu()),
                                     &KernelTable::fastcdc_cut, &KernelTable::fastcdc_name);
}

// Small sizes so that every branch (n <= min, min < n < avg, avg <= n < max,
// n >= max, cut / no cut) is hit many times.
FastcdcScanParams SmallParams(int nc) {
  ChunkerParams cp;
  cp.min_size = 64;
  cp.avg_size = 256;
  cp.max_size = 1024;
  cp.normalization = nc;
  EXPECT_TRUE(ValidateChunkerParams(cp).ok());
  return MakeScanParams(cp);
}

TEST(FastcdcScan, EveryLengthMatchesReference) {
  const uint64_t seed = testing::TestSeed("FastcdcScan.EveryLengthMatchesReference");
  std::vector<uint8_t> buf = testing::RandomBytes(1 << 16, seed);
  std::mt19937_64 rng(seed);
  auto variants = Variants();
  for (int nc = 0; nc <= 3; ++nc) {
    FastcdcScanParams p = SmallParams(nc);
    for (size_t n = 0; n <= 1100; ++n) {
      for (int rep = 0; rep < 4; ++rep) {
        size_t off = rng() % (buf.size() - n);
        uint64_t want_h = 1, got_h = 2;
        size_t want = FastcdcCutReference(p, buf.data() + off, n, &want_h);
        ASSERT_LE(want, std::min<size_t>(n, p.max));
        if (n > 0) {
          ASSERT_GT(want, 0u);
        }
        for (const Variant& v : variants) {
          ASSERT_EQ(v.fn(p, buf.data() + off, n, &got_h), want)
              << v.name << " nc " << nc << " n " << n << " off " << off << " seed " << seed;
          ASSERT_EQ(got_h, want_h) << v.name << " n " << n;
          ASSERT_EQ(v.fn(p, buf.data() + off, n, nullptr), want);  // null hash_out ok
        }
      }
    }
  }
}

TEST(FastcdcScan, ZerosNeverCutEarly) {
  // All-zero input: the gear state never clears the masks; every chunk is max.
  std::vector<uint8_t> zeros(4096, 0);
  FastcdcScanParams p = SmallParams(1);
  for (const Variant& v : Variants()) {
    uint64_t h = 0;
    EXPECT_EQ(v.fn(p, zeros.data(), zeros.size(), &h), 1024u) << v.name;
    EXPECT_EQ(h, 14169102344523991076ull) << v.name;
    EXPECT_EQ(v.fn(p, zeros.data(), 64, &h), 64u) << v.name;  // n <= min
    EXPECT_EQ(h, 0u);
    EXPECT_EQ(v.fn(p, zeros.data(), 0, &h), 0u) << v.name;
  }
}

TEST(FastcdcScan, BufferEndsAtGuardPage) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* m = ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  uint8_t* base = static_cast<uint8_t*>(m);
  ASSERT_EQ(::mprotect(base + page, page, PROT_NONE), 0);
  auto variants = Variants();
  for (uint64_t fill : {0ull, 1ull, 2ull}) {
    if (fill == 0) {
      std::memset(base, 0, page);  // no cuts: scans right up to the end
    } else {
      std::vector<uint8_t> data = testing::RandomBytes(page, fill);
      std::memcpy(base, data.data(), page);
    }
    for (int nc = 0; nc <= 3; ++nc) {
      FastcdcScanParams p = SmallParams(nc);
      for (size_t n = 0; n <= 1100 && n <= page; ++n) {
        const uint8_t* src = base + page - n;
        uint64_t want_h = 0, got_h = 0;
        size_t want = FastcdcCutReference(p, src, n, &want_h);
        for (const Variant& v : variants) {
          ASSERT_EQ(v.fn(p, src, n, &got_h), want) << v.name << " n " << n;
          ASSERT_EQ(got_h, want_h);
        }
      }
    }
  }
  ASSERT_EQ(::munmap(m, 2 * page), 0);
}

}  // namespace
}  // namespace as
