// Every CRC-64/NVME variant this build has and this CPU can run, and the
// table's pick at each tier the host has, against the bitwise reference:
// check values, every length around the 16- and 64-byte folding steps at
// every misalignment, large buffers, chained calls, and inputs that end at a
// PROT_NONE page (a variant that reads one byte past the end crashes).
#include "kernels/crc64nvme.h"

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

struct Variant {
  std::string name;
  Crc64Fn fn;
};

std::vector<Variant> Variants() {
  std::vector<Variant> v = {{"reference", &Crc64NvmeReference}};
  CpuFeatures host = DetectCpu();
  for (const KernelVariant<Crc64Fn>& k : Crc64NvmeVariants(host)) {
    if (k.runnable) v.push_back({k.name, k.fn});
  }
  for (CpuTier t : {CpuTier::kPortable, CpuTier::kSse42, CpuTier::kAvx2, CpuTier::kAvx512}) {
    if (!HasTier(host, t)) continue;
    KernelTable k = MakeKernelTable(CapToTier(host, t));
    v.push_back({std::string("table@") + TierName(t) + ":" + k.crc64nvme_name, k.crc64nvme});
  }
  return v;
}

TEST(Crc64Nvme, CheckValues) {
  const uint8_t digits[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  for (const Variant& v : Variants()) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(v.fn(0, digits, 9), 0xAE8B14860A799888ull);
    EXPECT_EQ(v.fn(0, nullptr, 0), 0u);
    EXPECT_EQ(v.fn(0x0123456789abcdefull, nullptr, 0), 0x0123456789abcdefull);
  }
}

TEST(Crc64Nvme, TableNamesTheBestVariant) {
  CpuFeatures host = DetectCpu();
  KernelTable portable = MakeKernelTable(CapToTier(host, CpuTier::kPortable));
  EXPECT_STREQ(portable.crc64nvme_name, "crc64nvme_portable");
  KernelTable best = MakeKernelTable(host);
  ASSERT_NE(best.crc64nvme, nullptr);
#if defined(AS_ENABLE_ASM) && defined(__x86_64__)
  if (host.sse42 && host.pclmul) {
    EXPECT_STREQ(best.crc64nvme_name, "crc64nvme_pclmul");
  }
#else
  EXPECT_STREQ(best.crc64nvme_name, "crc64nvme_portable");
#endif
}

TEST(Crc64Nvme, AllLengthsAndMisalignments) {
  const uint64_t seed = testing::TestSeed("Crc64Nvme.AllLengthsAndMisalignments");
  std::vector<uint8_t> buf = testing::RandomBytes(4096 + 64, seed);
  std::mt19937_64 rng(seed);
  auto variants = Variants();
  for (size_t len = 0; len <= 1024; ++len) {
    for (size_t mis : {size_t(0), len % 64}) {
      uint64_t init = rng();
      uint64_t want = Crc64NvmeReference(init, buf.data() + mis, len);
      for (const Variant& v : variants) {
        ASSERT_EQ(v.fn(init, buf.data() + mis, len), want)
            << v.name << " len " << len << " mis " << mis << " seed " << seed;
      }
    }
  }
}

TEST(Crc64Nvme, LargeBuffersAndChaining) {
  const uint64_t seed = testing::TestSeed("Crc64Nvme.LargeBuffersAndChaining");
  std::vector<uint8_t> buf = testing::RandomBytes((1 << 20) + 64, seed);
  std::mt19937_64 rng(seed ^ 1);
  auto variants = Variants();
  for (size_t len : {size_t(65536 + 13), size_t(1 << 20), size_t(rng() % (1 << 20))}) {
    size_t mis = rng() % 64;
    uint64_t want = Crc64NvmePortable(0, buf.data() + mis, len);
    for (const Variant& v : variants) {
      if (v.name == "reference") continue;  // slow; portable is checked against it above
      ASSERT_EQ(v.fn(0, buf.data() + mis, len), want) << v.name << " len " << len;
      uint64_t c = 0;
      for (size_t pos = 0; pos < len;) {
        size_t step = std::min<size_t>(len - pos, rng() % 5000);
        c = v.fn(c, buf.data() + mis + pos, step);
        pos += step;
      }
      ASSERT_EQ(c, want) << v.name << " len " << len << " in pieces, seed " << seed;
    }
  }
}

TEST(Crc64Nvme, BufferEndsAtGuardPage) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* m = ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  uint8_t* base = static_cast<uint8_t*>(m);
  ASSERT_EQ(::mprotect(base + page, page, PROT_NONE), 0);
  std::vector<uint8_t> data = testing::RandomBytes(page, 7);
  std::memcpy(base, data.data(), page);
  uint8_t* end = base + page;  // first unreadable byte
  auto variants = Variants();
  for (size_t len = 0; len <= page; len += len < 300 ? 1 : 61) {
    uint64_t want = Crc64NvmeReference(0, end - len, len);
    for (const Variant& v : variants) {
      ASSERT_EQ(v.fn(0, end - len, len), want) << v.name << " len " << len;
    }
  }
  ASSERT_EQ(::munmap(m, 2 * page), 0);
}

}  // namespace
}  // namespace as
