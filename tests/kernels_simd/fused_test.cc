// CutAndHash (chunking/fused.h) against the separate passes: the same cuts as
// the Chunker, Blake3() of each chunk, the whole-stream BLAKE3, in any buffer
// split, and the published Sekien chunk digests.
#include "chunking/fused.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "base/digest.h"
#include "kernels/kernels.h"
#include "seed.h"
#include "test_util.h"

namespace as {
namespace {

struct Ref {
  std::vector<size_t> sizes;
  std::vector<Digest> digests;
  Digest whole;
};

Ref Separate(const Chunker& c, const std::vector<uint8_t>& d) {
  Ref r;
  size_t pos = 0;
  while (pos < d.size()) {
    size_t len = c.Cut(d.data() + pos, d.size() - pos, true, nullptr);
    r.sizes.push_back(len);
    pos += len;
  }
  pos = 0;
  for (size_t len : r.sizes) {
    r.digests.push_back(Blake3(d.data() + pos, len));
    pos += len;
  }
  r.whole = Blake3(d.data(), d.size());
  return r;
}

TEST(Fused, SameAsSeparatePassesInAnySplit) {
  const uint64_t seed = testing::TestSeed("Fused.SameAsSeparate");
  std::vector<uint8_t> d = testing::RandomBytes(5 << 20, seed);
  for (size_t i = 1 << 20; i < (2 << 20); ++i) d[i] = 0;  // max-size chunks too
  KernelTable k = MakeKernelTable(DetectCpu());
  for (ChunkerParams cp : {ChunkerParams{}, ChunkerParams{4096, 16384, 65535, 2},
                           ChunkerParams{64, 256, 1024, 0}}) {
    Chunker c(cp, k);
    Ref want = Separate(c, d);
    // Feed the stream in buffers of several sizes, keeping the undecided tail.
    for (size_t buf_size : {size_t{8} << 20, size_t{2} * cp.max_size + 17, size_t{1} << 20}) {
      Ref got;
      Blake3Hasher whole;
      std::vector<uint8_t> buf;
      size_t fed = 0;
      uint64_t offset = 0;
      uint64_t expect_offset = 0;
      while (true) {
        size_t take = std::min(buf_size - buf.size(), d.size() - fed);
        buf.insert(buf.end(), d.begin() + fed, d.begin() + fed + take);
        fed += take;
        bool at_end = fed == d.size();
        Result<size_t> used = CutAndHash(c, buf.data(), buf.size(), at_end, offset, &whole,
                                         [&](const HashedChunk& h) -> Status {
                                           EXPECT_EQ(h.offset, expect_offset);
                                           expect_offset += h.size;
                                           got.sizes.push_back(h.size);
                                           got.digests.push_back(h.digest);
                                           return Status::OK();
                                         });
        ASSERT_TRUE(used.ok());
        if (at_end) {
          ASSERT_EQ(*used, buf.size());
          break;
        }
        ASSERT_LT(buf.size() - *used, cp.max_size);
        buf.erase(buf.begin(), buf.begin() + *used);
        offset += *used;
      }
      got.whole = whole.Finalize();
      EXPECT_EQ(got.sizes, want.sizes) << buf_size << " seed " << seed;
      EXPECT_TRUE(got.digests == want.digests) << buf_size;
      EXPECT_TRUE(got.whole == want.whole) << buf_size;
    }
  }
}

TEST(Fused, SinkErrorStops) {
  std::vector<uint8_t> d = testing::RandomBytes(1 << 20, 7);
  Chunker c(ChunkerParams{4096, 16384, 65536, 1}, MakeKernelTable(DetectCpu()));
  int calls = 0;
  Result<size_t> r = CutAndHash(c, d.data(), d.size(), true, 0, nullptr,
                                [&](const HashedChunk&) -> Status {
                                  return ++calls == 3 ? Status::Internal("stop") : Status::OK();
                                });
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(calls, 3);
  Result<size_t> empty = CutAndHash(c, d.data(), 0, true, 0, nullptr,
                                    [&](const HashedChunk&) { return Status::Internal("x"); });
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 0u);
}

TEST(Fused, SekienDigests) {
  auto dir = testing::VectorsDir();
  if (!dir) GTEST_SKIP() << "../shared/vectors not found: skipping";
  std::ifstream in(*dir + "/SekienAkashita.jpg", std::ios::binary);
  ASSERT_TRUE(in);
  std::vector<uint8_t> d((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Chunker c(ChunkerParams{4096, 16384, 65535, 1}, MakeKernelTable(DetectCpu()));
  std::vector<std::string> got;
  std::vector<size_t> sizes;
  Result<size_t> r = CutAndHash(c, d.data(), d.size(), true, 0, nullptr,
                                [&](const HashedChunk& h) -> Status {
                                  got.push_back(h.digest.ToString());
                                  sizes.push_back(h.size);
                                  return Status::OK();
                                });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(sizes, (std::vector<size_t>{21325, 17140, 28084, 18217, 24700}));
  EXPECT_EQ(got, (std::vector<std::string>{
                     "blake3:261930e84e14c240210ae8c459acc4bb85dd52f1b91c868f2106dbc1ceb3acca",
                     "blake3:a01747cf21202f0068b8897d2be92aa4479b7ac7207b3baa5057b8ec75fa1c10",
                     "blake3:01e5305fb8f54d214ed2946843ea360fb9bb3f5df66ef3e34fb024d32ebcaee1",
                     "blake3:fc28c67b6ef846a841452a215bf704058f65cba5c1d78160398d3c2e046642f9",
                     "blake3:f6996300fce24d3da56c81ea52e5f4f461ce6adb4496f65252996e1082471aac"}));
}

}  // namespace
}  // namespace as
