// The CRC kernels (CRC-32C, CRC-64/NVME): each one's check values and table
// pick, then, for both through one typed suite, every variant against the
// bitwise reference: every length to 1 KiB at every misalignment, large
// buffers, chained calls, and inputs that end at a PROT_NONE page (a variant
// that reads a byte past the end crashes).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/crc32c.h"
#include "kernels/crc64nvme.h"
#include "kernels/kernels.h"
#include "seed.h"
#include "test_util.h"
#include "variants.h"

namespace as {
namespace {

std::vector<testing::Variant<Crc32cFn>> Crc32cAll() {
  return testing::KernelVariants<Crc32cFn>("reference", &Crc32cReference,
                                           Crc32cVariants(DetectCpu()), &KernelTable::crc32c,
                                           &KernelTable::crc32c_name);
}

uint32_t Crc(Crc32cFn f, const std::string& s) {
  return f(0, reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(Crc32c, CheckValues) {
  std::vector<uint8_t> zeros(32, 0x00), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<uint8_t>(i);
    down[i] = static_cast<uint8_t>(31 - i);
  }
  for (const auto& v : Crc32cAll()) {
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

std::vector<testing::Variant<Crc64Fn>> Crc64NvmeAll() {
  return testing::KernelVariants<Crc64Fn>("reference", &Crc64NvmeReference,
                                          Crc64NvmeVariants(DetectCpu()), &KernelTable::crc64nvme,
                                          &KernelTable::crc64nvme_name);
}

TEST(Crc64Nvme, CheckValues) {
  const uint8_t digits[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  for (const auto& v : Crc64NvmeAll()) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(v.fn(0, digits, 9), 0xAE8B14860A799888ull);
    EXPECT_EQ(v.fn(0, nullptr, 0), 0u);
    EXPECT_EQ(v.fn(0x0123456789abcdefull, nullptr, 0), 0x0123456789abcdefull);
  }
}

// What the typed suite needs of a CRC kernel.
struct Crc32cKind {
  using T = uint32_t;
  using Fn = Crc32cFn;
  static constexpr const char* kName = "Crc32c";
  static constexpr const char* kPortable = "crc32c_portable";
  static constexpr const char* kSimd = "crc32c_sse42";  // what the table picks with AS_ENABLE_ASM
  static bool HasSimd(const CpuFeatures& f) { return f.sse42; }
  static constexpr auto kField = &KernelTable::crc32c;
  static constexpr auto kNameField = &KernelTable::crc32c_name;
  static T Reference(T c, const uint8_t* p, size_t n) { return Crc32cReference(c, p, n); }
  static std::vector<testing::Variant<Fn>> All() { return Crc32cAll(); }
};
struct Crc64NvmeKind {
  using T = uint64_t;
  using Fn = Crc64Fn;
  static constexpr const char* kName = "Crc64Nvme";
  static constexpr const char* kPortable = "crc64nvme_portable";
  static constexpr const char* kSimd = "crc64nvme_pclmul";
  static bool HasSimd(const CpuFeatures& f) { return f.sse42 && f.pclmul; }
  static constexpr auto kField = &KernelTable::crc64nvme;
  static constexpr auto kNameField = &KernelTable::crc64nvme_name;
  static T Reference(T c, const uint8_t* p, size_t n) { return Crc64NvmeReference(c, p, n); }
  static std::vector<testing::Variant<Fn>> All() { return Crc64NvmeAll(); }
};

template <typename K>
class CrcKernel : public ::testing::Test {
 protected:
  using T = typename K::T;
  static uint64_t Seed(const char* test) {
    const std::string name = std::string(K::kName) + "." + test;
    return testing::TestSeed(name.c_str());
  }
  // Every variant gives the reference's CRC of p[0..len) from `init`.
  static void ExpectAllMatch(const std::vector<testing::Variant<typename K::Fn>>& variants, T init,
                             const uint8_t* p, size_t len, const std::string& where) {
    const T want = K::Reference(init, p, len);
    for (const auto& v : variants) {
      ASSERT_EQ(v.fn(init, p, len), want) << v.name << " len " << len << " " << where;
    }
  }
};
struct KindNames {
  template <typename K>
  static std::string GetName(int) {
    return K::kName;
  }
};
using CrcKinds = ::testing::Types<Crc32cKind, Crc64NvmeKind>;
TYPED_TEST_SUITE(CrcKernel, CrcKinds, KindNames);

TYPED_TEST(CrcKernel, TableNamesTheBestVariant) {
  const CpuFeatures host = DetectCpu();
  const KernelTable portable = MakeKernelTable(CapToTier(host, CpuTier::kPortable));
  EXPECT_STREQ(portable.*TypeParam::kNameField, TypeParam::kPortable);
  const KernelTable best = MakeKernelTable(host);
  ASSERT_NE(best.*TypeParam::kField, nullptr);
#if defined(AS_ENABLE_ASM) && defined(__x86_64__)
  if (TypeParam::HasSimd(host)) {
    EXPECT_STREQ(best.*TypeParam::kNameField, TypeParam::kSimd);
  }
#else
  EXPECT_STREQ(best.*TypeParam::kNameField, TypeParam::kPortable);
#endif
}

TYPED_TEST(CrcKernel, AllLengthsAndMisalignments) {
  using T = typename TypeParam::T;
  const uint64_t seed = this->Seed("AllLengthsAndMisalignments");
  std::vector<uint8_t> buf = testing::RandomBytes(4096 + 64, seed);
  std::mt19937_64 rng(seed);
  auto variants = TypeParam::All();
  for (size_t len = 0; len <= 1024; ++len) {
    size_t mis = len % 64;
    ASSERT_NO_FATAL_FAILURE(this->ExpectAllMatch(variants, static_cast<T>(rng()), buf.data() + mis,
                                                 len, "mis " + std::to_string(mis)));
  }
  for (size_t mis = 0; mis < 64; ++mis) {
    for (size_t len : {1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 191, 192, 193, 767, 768, 769, 4096}) {
      ASSERT_NO_FATAL_FAILURE(
          this->ExpectAllMatch(variants, 0, buf.data() + mis, len, "mis " + std::to_string(mis)));
    }
  }
}

TYPED_TEST(CrcKernel, LargeBuffers) {
  const uint64_t seed = this->Seed("LargeBuffers");
  std::vector<uint8_t> buf = testing::RandomBytes((4 << 20) + 64, seed);
  std::mt19937_64 rng(seed ^ 1);
  auto variants = TypeParam::All();
  std::vector<size_t> lens = {6143, 6144, 6145, 16384, 16384 + 7, 65536 + 13, 1 << 20, 4 << 20};
  for (int i = 0; i < 4; ++i) lens.push_back(rng() % (4 << 20));
  for (size_t len : lens) {
    size_t mis = rng() % 64;
    ASSERT_NO_FATAL_FAILURE(
        this->ExpectAllMatch(variants, 0, buf.data() + mis, len, "mis " + std::to_string(mis)));
  }
}

TYPED_TEST(CrcKernel, ChainingEqualsOneShot) {
  using T = typename TypeParam::T;
  const uint64_t seed = this->Seed("ChainingEqualsOneShot");
  std::vector<uint8_t> buf = testing::RandomBytes(200000, seed);
  std::mt19937_64 rng(seed ^ 2);
  auto variants = TypeParam::All();
  for (int round = 0; round < 50; ++round) {
    size_t len = rng() % buf.size();
    T want = TypeParam::Reference(0, buf.data(), len);
    for (const auto& v : variants) {
      if (v.name == "reference" && round > 3) continue;  // slow
      T c = 0;
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

TYPED_TEST(CrcKernel, BufferEndsAtGuardPage) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* m = ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  uint8_t* base = static_cast<uint8_t*>(m);
  ASSERT_EQ(::mprotect(base + page, page, PROT_NONE), 0);
  std::vector<uint8_t> data = testing::RandomBytes(page, 7);
  std::memcpy(base, data.data(), page);
  uint8_t* end = base + page;  // first unreadable byte
  auto variants = TypeParam::All();
  std::vector<size_t> lens;
  for (size_t len = 0; len <= 300; ++len) lens.push_back(len);
  for (size_t len : {511, 512, 513, 767, 768, 769, 1023, 1024, 1025, 2047, 2048, 2049})
    lens.push_back(len);
  lens.push_back(page - 1);
  lens.push_back(page);
  for (size_t len : lens) {
    ASSERT_NO_FATAL_FAILURE(this->ExpectAllMatch(variants, 0, end - len, len, "at the guard"));
  }
  ASSERT_EQ(::munmap(m, 2 * page), 0);
}

}  // namespace
}  // namespace as
