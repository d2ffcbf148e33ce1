// S3 additional checksums: the published check values of each CRC, the SHA
// values, streaming in pieces, CrcCombine against the CRC of the joined
// bytes, composite values, and parsing of names, headers and values.
#include "s3/checksum.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "s3/http_util.h"

namespace as::s3 {
namespace {

// Bitwise CRC-32C; the CRC-64/NVME reference is the kernels' own (the server
// passes the kernel table's fastest, checked in tests/kernels).
uint32_t Crc32cBitwise(uint32_t crc, const uint8_t* p, size_t n) {
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
  }
  return ~c;
}

KernelTable Bitwise() {
  KernelTable k;
  k.crc32c = &Crc32cBitwise;
  k.crc64nvme = &Crc64NvmeReference;
  return k;
}

std::string Sum(ChecksumAlgo a, std::string_view data) {
  Checksummer c(a, Bitwise());
  c.Update(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  return c.Finish();
}

std::string Hex(std::string_view b) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (char c : b) {
    out += d[static_cast<uint8_t>(c) >> 4];
    out += d[static_cast<uint8_t>(c) & 15];
  }
  return out;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(Checksum, CheckValues) {
  // The "check" of each CRC's catalogue entry: its value for "123456789".
  EXPECT_EQ(Hex(Sum(ChecksumAlgo::kCrc32, "123456789")), "cbf43926");
  EXPECT_EQ(Hex(Sum(ChecksumAlgo::kCrc32c, "123456789")), "e3069283");
  EXPECT_EQ(Hex(Sum(ChecksumAlgo::kCrc64Nvme, "123456789")), "ae8b14860a799888");
  EXPECT_EQ(Hex(Sum(ChecksumAlgo::kSha1, "abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Hex(Sum(ChecksumAlgo::kSha256, "abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // What AWS SDKs send for "hello" (x-amz-checksum-crc32: NhCmhg==).
  EXPECT_EQ(Base64Encode(Sum(ChecksumAlgo::kCrc32, "hello")), "NhCmhg==");
  for (ChecksumAlgo a : kAllChecksumAlgos) EXPECT_EQ(Sum(a, "").size(), Spec(a).size);
  EXPECT_EQ(Hex(Sum(ChecksumAlgo::kCrc64Nvme, "")), "0000000000000000");
}

TEST(Checksum, StreamingInPiecesMatchesOneCall) {
  const std::string data = RandomBytes(100003, 7);
  std::mt19937 rng(11);
  for (ChecksumAlgo a : kAllChecksumAlgos) {
    Checksummer c(a, Bitwise());
    for (size_t at = 0; at < data.size();) {
      size_t n = std::min<size_t>(data.size() - at, rng() % 300);
      c.Update(reinterpret_cast<const uint8_t*>(data.data() + at), n);
      at += n;
    }
    EXPECT_EQ(c.Finish(), Sum(a, data)) << Spec(a).name;
  }
}

TEST(Checksum, CrcCombineEqualsTheCrcOfTheJoinedBytes) {
  std::mt19937 rng(3);
  for (ChecksumAlgo a : {ChecksumAlgo::kCrc32, ChecksumAlgo::kCrc32c, ChecksumAlgo::kCrc64Nvme}) {
    for (int round = 0; round < 40; round++) {
      const std::string x = RandomBytes(rng() % 5000, rng());
      const std::string y = RandomBytes(round == 0 ? 0 : rng() % 70000, rng());
      EXPECT_EQ(Hex(CrcCombine(a, Sum(a, x), Sum(a, y), y.size())), Hex(Sum(a, x + y)))
          << Spec(a).name << " " << x.size() << "+" << y.size();
    }
  }
}

TEST(Checksum, CompositeIsTheAlgorithmOverThePartChecksums) {
  const std::string p1 = RandomBytes(5000, 1), p2 = RandomBytes(300, 2);
  for (ChecksumAlgo a : kAllChecksumAlgos) {
    const std::string joined = Sum(a, p1) + Sum(a, p2);
    EXPECT_EQ(CompositeChecksum(a, joined, 2, Bitwise()), Base64Encode(Sum(a, joined)) + "-2");
  }
}

TEST(Checksum, NamesHeadersTypesAndValues) {
  EXPECT_EQ(ParseChecksumAlgo("crc64nvme"), ChecksumAlgo::kCrc64Nvme);
  EXPECT_EQ(ParseChecksumAlgo("SHA1"), ChecksumAlgo::kSha1);
  EXPECT_FALSE(ParseChecksumAlgo("MD5"));
  EXPECT_FALSE(ParseChecksumAlgo("CRC32 "));
  EXPECT_EQ(ChecksumAlgoOfHeader("X-Amz-Checksum-CRC32"), ChecksumAlgo::kCrc32);
  EXPECT_FALSE(ChecksumAlgoOfHeader("x-amz-checksum-mode"));
  EXPECT_FALSE(ChecksumAlgoOfHeader("x-amz-checksum-algorithm"));
  EXPECT_EQ(ParseChecksumType("full_object"), ChecksumType::kFullObject);
  EXPECT_FALSE(ParseChecksumType("PARTIAL"));
  EXPECT_TRUE(ChecksumTypeAllowed(ChecksumAlgo::kCrc32, ChecksumType::kFullObject));
  EXPECT_TRUE(ChecksumTypeAllowed(ChecksumAlgo::kCrc32c, ChecksumType::kComposite));
  EXPECT_FALSE(ChecksumTypeAllowed(ChecksumAlgo::kSha256, ChecksumType::kFullObject));
  EXPECT_FALSE(ChecksumTypeAllowed(ChecksumAlgo::kCrc64Nvme, ChecksumType::kComposite));
  EXPECT_EQ(DefaultChecksumType(ChecksumAlgo::kCrc64Nvme), ChecksumType::kFullObject);
  EXPECT_EQ(DefaultChecksumType(ChecksumAlgo::kSha1), ChecksumType::kComposite);
  EXPECT_TRUE(DecodeChecksum(ChecksumAlgo::kCrc32, "NhCmhg=="));
  EXPECT_FALSE(DecodeChecksum(ChecksumAlgo::kCrc64Nvme, "NhCmhg=="));  // 4 bytes, not 8
  EXPECT_FALSE(DecodeChecksum(ChecksumAlgo::kCrc32, "NhCmhg="));       // not base64
  EXPECT_FALSE(DecodeChecksum(ChecksumAlgo::kCrc32, ""));
}

// ISA-L's CRC32 leaves the AVX upper halves in use; the Checksummer clears
// them, since legacy-SSE code on the same thread (SHA-NI, the CRC-64 kernel)
// runs slower until then. XGETBV(1) reports which state components are in use.
TEST(ChecksumTest, Crc32LeavesNoUpperVectorStateInUse) {
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__builtin_cpu_supports("avx") || !__get_cpuid_count(0xd, 1, &a, &b, &c, &d) ||
      !((a >> 2) & 1)) {
    GTEST_SKIP() << "no AVX or no XGETBV with ECX=1 on this CPU";
  }
  std::vector<uint8_t> buf(1 << 16, 0x5a);
  Checksummer s(ChecksumAlgo::kCrc32, MakeKernelTable(DetectCpu()));
  s.Update(buf.data(), buf.size());
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
  // Bit 2: the upper halves of ymm0-15; bit 6: the upper halves of zmm0-15.
  EXPECT_EQ(lo & 0x44u, 0u) << "XINUSE " << std::hex << lo;
#else
  GTEST_SKIP() << "x86-64 only";
#endif
}

}  // namespace
}  // namespace as::s3
