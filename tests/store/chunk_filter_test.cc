// The dedup filter's two modes (store/chunk_filter.h): with every key, a
// miss is final; without keys (metadata on a server), everything may be
// stored except what a running gc is deleting, until gc is done.
#include <gtest/gtest.h>

#include "hash/blake3.h"
#include "store/chunk_filter.h"

namespace as {
namespace {

Digest D(uint64_t i) { return Blake3(&i, sizeof i); }

TEST(ChunkFilterTest, WithKeysAMissIsFinalAndGcSparesWhatIsLeased) {
  ChunkFilter f;
  f.Insert(1, D(1));
  f.Insert(1, D(2));
  ChunkFilter::Lease lease(&f);
  EXPECT_FALSE(f.CheckAndLease(1, D(3), &lease));
  EXPECT_FALSE(f.CheckAndLease(2, D(1), &lease)) << "keys are per domain";
  EXPECT_TRUE(f.CheckAndLease(1, D(1), &lease));
  auto spared = f.SpareLeasedAndErase({ChunkFilter::Key(1, D(1)), ChunkFilter::Key(1, D(2))});
  EXPECT_EQ(spared, (std::vector<bool>{true, false}));
  ChunkFilter::Lease later(&f);
  EXPECT_FALSE(f.CheckAndLease(1, D(2), &later)) << "erased: a later put stores it anew";
}

TEST(ChunkFilterTest, WithoutKeysEverythingMayBeStoredButWhatGcDooms) {
  ChunkFilter f;
  f.HoldNoKeys();
  f.Insert(1, D(1));  // ignored: nothing is held
  EXPECT_EQ(f.size(), 0u);
  ChunkFilter::Lease lease(&f);
  EXPECT_TRUE(f.CheckAndLease(1, D(7), &lease)) << "never seen, yet the index must be asked";
  auto spared = f.SpareLeasedAndErase({ChunkFilter::Key(1, D(7)), ChunkFilter::Key(1, D(8))});
  EXPECT_EQ(spared, (std::vector<bool>{true, false}));
  ChunkFilter::Lease later(&f);
  EXPECT_FALSE(f.CheckAndLease(1, D(8), &later)) << "doomed by the running gc";
  EXPECT_TRUE(f.CheckAndLease(1, D(7), &later));
  f.ForgetDoomed();  // gc committed (or failed): the index alone answers again
  EXPECT_TRUE(f.CheckAndLease(1, D(8), &later));
}

}  // namespace
}  // namespace as
