#include "kernels/crc32c.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "seed.h"
#include "test_util.h"

namespace as {
namespace {

using Fn = uint32_t (*)(uint32_t, const uint8_t*, size_t);
struct Variant {
  std::string name;
  Fn fn;
};

// Every CRC-32C variant this build has and this CPU can run (Crc32cVariants,
// shelved ones included), plus whatever the table picks at each tier the host has.
std::vector<Variant> Variants() {
  std::vector<Variant> v = {{"reference", &Crc32cReference}};
  CpuFeatures host = DetectCpu();
  for (const KernelVariant<Crc32cFn>& k : Crc32cVariants(host)) {
    if (k.runnable) v.push_back({k.name, k.fn});
  }
  for (CpuTier t : {CpuTier::kPortable, CpuTier::kSse42, CpuTier::kAvx2, CpuTier::kAvx512}) {
    if (!HasTier(host, t)) continue;
    KernelTable k = MakeKernelTable(CapToTier(host, t));
    v.push_back({std::string("table@") + TierName(t) + ":" + k.crc32c_name, k.crc32c});
  }
  return v;
}

uint32_t Crc(Fn f, const std::string& s) {
  return f(0, reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(Crc32c, CheckValues) {
  std::vector<uint8_t> zeros(32, 0x00), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<uint8_t>(i);
    down[i] = static_cast<uint8_t>(31 - i);
  }
  for (const Variant& v : Variants()) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(Crc(v.fn, "123456789"), 0xE3069283u);
    EXPECT_EQ(v.fn(0, zeros.data(), 32), 0x8A9136AAu);
    EXPECT_EQ(v.fn(0, ones.data(), 32), 0x62A8AB43u);
    EXPECT_EQ(v.fn(0, up.data(), 32), 0x46DD794Eu);
    EXPECT_EQ(v.fn(0, down.data(), 32), 0x113FDB5Cu);
    EXPECT_EQ(v.fn(0, nullptr, 0), 0u);
    EXPECT_EQ(v.fn(0x12345678u, nullptr, 0), 0x12345678u);
  }
}

TEST(Crc32c, TableNamesTheBestVariant) {
  CpuFeatures host = DetectCpu();
  KernelTable portable = MakeKernelTable(CapToTier(host, CpuTier::kPortable));
  EXPECT_STREQ(portable.crc32c_name, "crc32c_portable");
  KernelTable best = MakeKernelTable(host);
  ASSERT_NE(best.crc32c, nullptr);
  std::printf("crc32c kernel: %s\n", best.crc32c_name);
#if defined(AS_ENABLE_ASM) && defined(__x86_64__)
  if (host.sse42) {
    EXPECT_STREQ(best.crc32c_name, "crc32c_sse42");
  }
#else
  EXPECT_STREQ(best.crc32c_name, "crc32c_portable");
#endif
}

TEST(Crc32c, AllLengthsAndMisalignments) {
  const uint64_t seed = testing::TestSeed("Crc32c.AllLengthsAndMisalignments");
  std::vector<uint8_t> buf = testing::RandomBytes(4096 + 64, seed);
  std::mt19937_64 rng(seed);
  auto variants = Variants();
  for (size_t len = 0; len <= 1024; ++len) {
    size_t mis = len % 64;
    uint32_t init = static_cast<uint32_t>(rng());
    uint32_t want = Crc32cReference(init, buf.data() + mis, len);
    for (const Variant& v : variants) {
      ASSERT_EQ(v.fn(init, buf.data() + mis, len), want)
          << v.name << " len " << len << " mis " << mis << " seed " << seed;
    }
  }
  for (size_t mis = 0; mis < 64; ++mis) {
    for (size_t len : {1, 7, 8, 9, 63, 64, 65, 191, 192, 193, 767, 768, 769, 4096}) {
      uint32_t want = Crc32cReference(0, buf.data() + mis, len);
      for (const Variant& v : variants) {
        ASSERT_EQ(v.fn(0, buf.data() + mis, len), want)
            << v.name << " len " << len << " mis " << mis << " seed " << seed;
      }
    }
  }
}

TEST(Crc32c, LargeBuffers) {
  const uint64_t seed = testing::TestSeed("Crc32c.LargeBuffers");
  std::vector<uint8_t> buf = testing::RandomBytes((4 << 20) + 64, seed);
  std::mt19937_64 rng(seed ^ 1);
  auto variants = Variants();
  std::vector<size_t> lens = {6143, 6144, 6145, 16384, 16384 + 7, 65536 + 13, 1 << 20,
                              4 << 20};
  for (int i = 0; i < 4; ++i) lens.push_back(rng() % (4 << 20));
  for (size_t len : lens) {
    size_t mis = rng() % 64;
    uint32_t want = Crc32cReference(0, buf.data() + mis, len);
    for (const Variant& v : variants) {
      ASSERT_EQ(v.fn(0, buf.data() + mis, len), want)
          << v.name << " len " << len << " mis " << mis << " seed " << seed;
    }
  }
}

TEST(Crc32c, ChainingEqualsOneShot) {
  const uint64_t seed = testing::TestSeed("Crc32c.ChainingEqualsOneShot");
  std::vector<uint8_t> buf = testing::RandomBytes(200000, seed);
  std::mt19937_64 rng(seed ^ 2);
  auto variants = Variants();
  for (int round = 0; round < 50; ++round) {
    size_t len = rng() % buf.size();
    uint32_t want = Crc32cPortable(0, buf.data(), len);
    for (const Variant& v : variants) {
      if (v.name == "reference" && round > 3) continue;  // slow; portable is checked
      uint32_t c = 0;
      size_t pos = 0;
      while (pos < len) {
        size_t step = std::min<size_t>(len - pos, rng() % (round % 2 ? 100 : 20000));
        c = v.fn(c, buf.data() + pos, step);
        pos += step;
      }
      ASSERT_EQ(c, want) << v.name << " len " << len << " seed " << seed;
    }
  }
}

TEST(Crc32c, BufferEndsAtGuardPage) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* m = ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  uint8_t* base = static_cast<uint8_t*>(m);
  ASSERT_EQ(::mprotect(base + page, page, PROT_NONE), 0);
  std::vector<uint8_t> data = testing::RandomBytes(page, 7);
  std::memcpy(base, data.data(), page);
  uint8_t* end = base + page;  // first unreadable byte
  auto variants = Variants();
  std::vector<size_t> lens;
  for (size_t len = 0; len <= 300; ++len) lens.push_back(len);
  for (size_t len : {511, 512, 513, 767, 768, 769, 1023, 1024, 1025, 2047, 2048, 2049})
    lens.push_back(len);
  lens.push_back(page - 1);
  lens.push_back(page);
  for (size_t len : lens) {
    uint32_t want = Crc32cReference(0, end - len, len);
    for (const Variant& v : variants) {
      ASSERT_EQ(v.fn(0, end - len, len), want) << v.name << " len " << len;
    }
  }
  ASSERT_EQ(::munmap(m, 2 * page), 0);
}

}  // namespace
}  // namespace as
