// The dedup filter's two modes (store/chunk_filter.h): with every key, a
// miss is final; without keys (metadata on a server), everything may be
// stored and the index decides.
#include <gtest/gtest.h>

#include "hash/blake3.h"
#include "store/chunk_filter.h"

namespace as {
namespace {

Digest D(uint64_t i) { return Blake3(&i, sizeof i); }

TEST(ChunkFilterTest, WithKeysAMissIsFinal) {
  ChunkFilter f;
  f.Insert(1, D(1));
  f.Insert(1, D(2));
  EXPECT_FALSE(f.MayBeStored(1, D(3)));
  EXPECT_FALSE(f.MayBeStored(2, D(1))) << "keys are per domain";
  EXPECT_TRUE(f.MayBeStored(1, D(1)));
  EXPECT_EQ(f.size(), 2u);
}

TEST(ChunkFilterTest, WithoutKeysEverythingMayBeStored) {
  ChunkFilter f;
  f.HoldNoKeys();
  f.Insert(1, D(1));  // ignored: nothing is held
  EXPECT_EQ(f.size(), 0u);
  EXPECT_TRUE(f.MayBeStored(1, D(7))) << "never seen, yet the index must be asked";
}

}  // namespace
}  // namespace as
