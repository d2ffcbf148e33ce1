// BackgroundBlake3 gives Blake3Hasher's digest for the same ranges, whether
// they are hashed by the caller (small) or on its thread (large), and is done
// with every range once Wait() returns.
#include "hash/background.h"

#include <gtest/gtest.h>

#include <vector>

#include "hash/blake3.h"
#include "test_util.h"

namespace as {
namespace {

constexpr size_t kBig = BackgroundBlake3::kThreadFrom;

TEST(BackgroundBlake3, SameDigestAsBlake3HasherForAnySplit) {
  const std::vector<uint8_t> data = testing::RandomBytes(8 * kBig + 12345, 7);
  const Digest want = Blake3(data.data(), data.size());
  const std::vector<std::vector<size_t>> splits = {
      {data.size()},                  // one range: the thread hashes it
      {1, 1000, kBig - 1},            // small ones first, hashed in place...
      {0, 5, kBig, 3, kBig * 2, 17},  // ...then the thread, small ones queued behind
      {kBig + 1, kBig + 1, kBig + 1},
  };
  for (const auto& split : splits) {
    BackgroundBlake3 h;
    size_t at = 0;
    for (size_t n : split) {
      h.Update(data.data() + at, n);
      at += n;
    }
    h.Update(data.data() + at, data.size() - at);
    EXPECT_EQ(h.Finalize(), want) << "first range " << split[0];
  }
}

TEST(BackgroundBlake3, RangesMayBeReusedAfterWait) {
  // One buffer refilled again and again, as ChunkStream does: a range read
  // by the thread after Wait() returned would hash the next fill's bytes.
  const std::vector<uint8_t> data = testing::RandomBytes(6 * kBig, 11);
  std::vector<uint8_t> buf(2 * kBig);
  BackgroundBlake3 h;
  for (size_t at = 0; at < data.size(); at += buf.size()) {
    h.Wait();
    std::copy(data.begin() + at, data.begin() + at + buf.size(), buf.begin());
    h.Update(buf.data(), buf.size());
  }
  h.Wait();
  std::fill(buf.begin(), buf.end(), 0);
  EXPECT_EQ(h.Finalize(), Blake3(data.data(), data.size()));
}

TEST(BackgroundBlake3, EmptyAndDestroyedWithWorkPending) {
  BackgroundBlake3 empty;
  EXPECT_EQ(empty.Finalize(), Blake3(nullptr, 0));
  const std::vector<uint8_t> data = testing::RandomBytes(4 * kBig, 3);
  BackgroundBlake3 dropped;
  for (int i = 0; i < 4; i++) dropped.Update(data.data(), data.size());
  // Destroyed here with ranges queued: it stops without hashing them all.
}

}  // namespace
}  // namespace as
