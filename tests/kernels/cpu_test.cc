#include "kernels/cpu.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace as {
namespace {

CpuFeatures All() {
  CpuFeatures f;
  f.sse42 = f.pclmul = f.avx2 = f.bmi2 = f.avx512f = f.avx512bw = f.avx512vl = true;
  f.avx512vbmi = f.vpclmulqdq = f.shani = f.gfni = true;
  return f;
}

TEST(Cpu, DetectIsConsistent) {
  CpuFeatures f = DetectCpu();
  std::printf("cpu features: [%s], best tier %s\n", DescribeFeatures(f).c_str(),
              TierName(BestTier(f)));
  // OS-state checks imply these orderings.
  if (f.avx512bw || f.avx512vl || f.avx512vbmi) {
    EXPECT_TRUE(f.avx512f);
  }
  EXPECT_TRUE(HasTier(f, CpuTier::kPortable));
  if (HasTier(f, CpuTier::kAvx2)) {
    EXPECT_TRUE(HasTier(f, CpuTier::kSse42));
  }
  // Detection is a pure function of the machine.
  EXPECT_EQ(DescribeFeatures(f), DescribeFeatures(DetectCpu()));
}

TEST(Cpu, DescribeFeatures) {
  EXPECT_EQ(DescribeFeatures(CpuFeatures{}), "");
  CpuFeatures f;
  f.sse42 = true;
  f.avx2 = true;
  EXPECT_EQ(DescribeFeatures(f), "sse4.2 avx2");
  EXPECT_EQ(DescribeFeatures(All()),
            "sse4.2 pclmul avx2 bmi2 avx512f avx512bw avx512vl avx512vbmi vpclmulqdq sha gfni");
}

TEST(Cpu, ParseTier) {
  for (CpuTier t : {CpuTier::kPortable, CpuTier::kSse42, CpuTier::kAvx2, CpuTier::kAvx512}) {
    Result<CpuTier> r = ParseTier(TierName(t));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, t);
  }
  Result<CpuTier> bad = ParseTier("avx3");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("avx3"), std::string::npos);
  EXPECT_FALSE(ParseTier("").ok());
  EXPECT_FALSE(ParseTier("AVX2").ok());
}

TEST(Cpu, CapToTier) {
  CpuFeatures all = All();
  EXPECT_EQ(DescribeFeatures(CapToTier(all, CpuTier::kPortable)), "");
  EXPECT_EQ(DescribeFeatures(CapToTier(all, CpuTier::kSse42)), "sse4.2 pclmul");
  EXPECT_EQ(DescribeFeatures(CapToTier(all, CpuTier::kAvx2)),
            "sse4.2 pclmul avx2 bmi2 vpclmulqdq sha gfni");
  EXPECT_EQ(DescribeFeatures(CapToTier(all, CpuTier::kAvx512)), DescribeFeatures(all));
  for (CpuTier t : {CpuTier::kPortable, CpuTier::kSse42, CpuTier::kAvx2, CpuTier::kAvx512}) {
    EXPECT_EQ(BestTier(CapToTier(all, t)), t);
    // Capping never adds a feature.
    EXPECT_EQ(DescribeFeatures(CapToTier(CpuFeatures{}, t)), "");
  }
  // Capping the real CPU never raises its tier.
  CpuFeatures host = DetectCpu();
  EXPECT_LE(BestTier(CapToTier(host, CpuTier::kSse42)), CpuTier::kSse42);
  EXPECT_LE(BestTier(CapToTier(host, CpuTier::kAvx2)), BestTier(host));
}

}  // namespace
}  // namespace as
