#include "chunking/fastcdc.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>
#include <utility>
#include <vector>

#include "chunking/gear.h"
#include "seed.h"
#include "test_util.h"

namespace as {
namespace {

KernelTable Kernels() { return MakeKernelTable(DetectCpu()); }

std::vector<std::pair<uint64_t, size_t>> ChunkAll(const Chunker& c, const uint8_t* data,
                                                  size_t n) {
  std::vector<std::pair<uint64_t, size_t>> out;
  size_t pos = 0;
  while (pos < n) {
    uint64_t h = 0;
    size_t len = c.Cut(data + pos, n - pos, /*at_end=*/true, &h);
    EXPECT_GT(len, 0u);
    if (len == 0) break;
    out.emplace_back(h, len);
    pos += len;
  }
  return out;
}

TEST(Gear, TableValues) {
  const uint64_t* g = GearTable();
  const uint64_t* gls = GearTableShifted();
  EXPECT_EQ(g[0], 0x3b5d3c7d207e37dcULL);
  EXPECT_EQ(g[1], 0x784d68ba91123086ULL);
  EXPECT_EQ(g[255], 0xaabd2b2a451504e1ULL);
  for (int i = 0; i < 256; ++i) EXPECT_EQ(gls[i], g[i] << 1) << i;
  EXPECT_STREQ(kGearTableId, "md5-v1");
  EXPECT_STREQ(kChunkerName, "fastcdc2020");
  EXPECT_EQ(GearTable(), g);  // computed once
}

TEST(Fastcdc, Masks) {
  EXPECT_EQ(FastcdcMask(5), 0x1804110u);
  EXPECT_EQ(FastcdcMask(16), 0xd90303537000u);
  EXPECT_EQ(FastcdcMask(25), 0xdb3777577000u);
  EXPECT_EQ(FastcdcMask(4), 0u);
  EXPECT_EQ(FastcdcMask(26), 0u);
  FastcdcScanParams p = MakeScanParams(ChunkerParams{});
  EXPECT_EQ(p.mask_s, FastcdcMask(17));
  EXPECT_EQ(p.mask_l, FastcdcMask(15));
  EXPECT_EQ(p.mask_s_ls, p.mask_s << 1);
  EXPECT_EQ(p.mask_l_ls, p.mask_l << 1);
}

class SekienTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = testing::VectorsDir();
    if (!dir) GTEST_SKIP() << "../shared/vectors not found: skipping";
    std::ifstream in(*dir + "/SekienAkashita.jpg", std::ios::binary);
    ASSERT_TRUE(in) << "cannot open SekienAkashita.jpg in " << *dir;
    data_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    ASSERT_EQ(data_.size(), 109466u);
  }
  std::vector<uint8_t> data_;
};

TEST_F(SekienTest, Small) {
  ChunkerParams p{4096, 16384, 65535, 1};
  std::vector<std::pair<uint64_t, size_t>> want = {
      {17968276318003433923ull, 21325}, {8197189939299398838ull, 17140},
      {13019990849178155730ull, 28084}, {4509236223063678303ull, 18217},
      {2504464741100432583ull, 24700}};
  for (CpuTier t : {CpuTier::kPortable, BestTier(DetectCpu())}) {
    auto c = Chunker::Create(p, MakeKernelTable(CapToTier(DetectCpu(), t)));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(ChunkAll(*c, data_.data(), data_.size()), want) << TierName(t);
  }
}

TEST_F(SekienTest, Default) {
  auto c = Chunker::Create(ChunkerParams{16384, 65536, 262144, 1}, Kernels());
  ASSERT_TRUE(c.ok());
  std::vector<std::pair<uint64_t, size_t>> want = {{2504464741100432583ull, 109466}};
  EXPECT_EQ(ChunkAll(*c, data_.data(), data_.size()), want);
}

TEST(Fastcdc, Zeros) {
  std::vector<uint8_t> zeros(10240, 0);
  auto c = Chunker::Create(ChunkerParams{64, 256, 1024, 1}, Kernels());
  ASSERT_TRUE(c.ok());
  std::vector<std::pair<uint64_t, size_t>> want(10, {14169102344523991076ull, 1024});
  EXPECT_EQ(ChunkAll(*c, zeros.data(), zeros.size()), want);
}

TEST(Fastcdc, CutNeedsMaxBytesUnlessAtEnd) {
  auto c = Chunker::Create(ChunkerParams{64, 256, 1024, 1}, Kernels());
  ASSERT_TRUE(c.ok());
  std::vector<uint8_t> zeros(2048, 0);
  uint64_t h;
  EXPECT_EQ(c->Cut(zeros.data(), 1023, false, &h), 0u);
  EXPECT_EQ(c->Cut(zeros.data(), 1024, false, &h), 1024u);
  EXPECT_EQ(c->Cut(zeros.data(), 1023, true, &h), 1023u);
  EXPECT_EQ(c->Cut(zeros.data(), 0, true, &h), 0u);
}

TEST(Fastcdc, ReferenceEqualsKernelsOnRandomData) {
  const uint64_t seed = testing::TestSeed("Fastcdc.ReferenceEqualsKernelsOnRandomData");
  std::vector<uint8_t> data = testing::RandomBytes(4 << 20, seed);
  const ChunkerParams sets[] = {
      {64, 256, 1024, 0},          {64, 256, 1024, 3},       {100, 300, 5000, 2},
      {4096, 16384, 65535, 1},     {2048, 8192, 16384, 2},   {16384, 65536, 262144, 1},
      {16384, 65536, 262144, 0},   {16384, 65536, 262144, 3}, {65536, 1 << 20, 4 << 20, 2},
      {4001, 12345, 100003, 1},
  };
  std::vector<KernelTable> tables;
  CpuFeatures host = DetectCpu();
  for (CpuTier t : {CpuTier::kPortable, CpuTier::kSse42, CpuTier::kAvx2, CpuTier::kAvx512}) {
    if (HasTier(host, t)) tables.push_back(MakeKernelTable(CapToTier(host, t)));
  }
  for (const ChunkerParams& cp : sets) {
    ASSERT_TRUE(ValidateChunkerParams(cp).ok()) << cp.min_size << "/" << cp.avg_size;
    FastcdcScanParams sp = MakeScanParams(cp);
    size_t pos = 0;
    size_t chunks = 0;
    while (pos < data.size()) {
      size_t n = data.size() - pos;
      uint64_t want_h = 0;
      size_t want = FastcdcCutReference(sp, data.data() + pos, n, &want_h);
      ASSERT_GT(want, 0u);
      for (const KernelTable& k : tables) {
        uint64_t h = 0;
        ASSERT_EQ(k.fastcdc_cut(sp, data.data() + pos, n, &h), want)
            << k.fastcdc_name << " params " << cp.min_size << "/" << cp.avg_size << "/"
            << cp.max_size << " nc " << cp.normalization << " at " << pos << " seed " << seed;
        ASSERT_EQ(h, want_h);
      }
      pos += want;
      ++chunks;
    }
    // Sanity: random data is actually cut at content-defined points.
    if (cp.max_size < data.size() / 4) {
      EXPECT_GT(chunks, data.size() / cp.max_size);
    }
  }
}

TEST(Fastcdc, NormalizationShapesTheDistribution) {
  std::vector<uint8_t> data = testing::RandomBytes(8 << 20, 99);
  double spread[4];
  for (int nc = 0; nc <= 3; ++nc) {
    auto c = Chunker::Create(ChunkerParams{4096, 16384, 65536, nc}, Kernels());
    ASSERT_TRUE(c.ok());
    auto chunks = ChunkAll(*c, data.data(), data.size());
    double mean = double(data.size()) / chunks.size();
    double var = 0;
    for (auto& [h, len] : chunks) var += (len - mean) * (len - mean);
    spread[nc] = var / chunks.size();
    EXPECT_GT(mean, 16384 * 0.5) << nc;
    EXPECT_LT(mean, 16384 * 2.0) << nc;
  }
  EXPECT_GT(spread[0], spread[3]);  // higher NC: sizes closer to avg
}

TEST(Fastcdc, ValidateParams) {
  EXPECT_TRUE(ValidateChunkerParams(ChunkerParams{}).ok());
  struct Case {
    ChunkerParams p;
    const char* needle;
  };
  const Case cases[] = {
      {{63, 256, 1024, 1}, "min_size 63 is below 64"},
      {{512, 256, 1024, 1}, "avg_size 256 is below min_size 512"},
      {{64, 2048, 1024, 1}, "max_size 1024 is below avg_size 2048"},
      {{64, 256, (16u << 20) + 1, 1}, "above 16 MiB"},
      {{64, 256, 1024, 4}, "normalization 4 is not in 0..3"},
      {{64, 256, 1024, -1}, "normalization -1"},
      {{64, 64, 1024, 2}, "outside the table"},             // bits 6: 6-2 = 4 < 5
      {{1 << 20, 1 << 23, 1 << 24, 3}, "outside the table"},  // 23+3 = 26 > 25
  };
  for (const Case& c : cases) {
    Status st = ValidateChunkerParams(c.p);
    ASSERT_FALSE(st.ok()) << c.needle;
    EXPECT_EQ(st.code(), Code::kInvalidArgument);
    EXPECT_NE(st.message().find(c.needle), std::string::npos) << st.message();
    EXPECT_FALSE(Chunker::Create(c.p, Kernels()).ok());
  }
  // bits are rounded, not floored: avg 92 -> log2 6.52 -> 7, so nc 2 gives 5..9.
  EXPECT_TRUE(ValidateChunkerParams({64, 92, 1024, 2}).ok());
  EXPECT_FALSE(ValidateChunkerParams({64, 90, 1024, 2}).ok());  // log2 6.49 -> 6 -> 4
}

}  // namespace
}  // namespace as
