#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <tuple>
#include <vector>

#include "chunking/fastcdc.h"
#include "seed.h"
#include "test_util.h"

namespace as {
namespace {

struct Chunk {
  uint64_t offset;
  size_t size;
  uint64_t hash;
  bool operator==(const Chunk&) const = default;
};

std::vector<Chunk> OneShot(const Chunker& c, const std::vector<uint8_t>& data) {
  std::vector<Chunk> out;
  size_t pos = 0;
  while (pos < data.size()) {
    uint64_t h = 0;
    size_t len = c.Cut(data.data() + pos, data.size() - pos, true, &h);
    out.push_back({pos, len, h});
    pos += len;
  }
  return out;
}

// A reader over `data` that returns at most size_fn() bytes per call.
template <typename SizeFn>
ChunkStream::Reader MemReader(const std::vector<uint8_t>& data, SizeFn size_fn) {
  auto pos = std::make_shared<size_t>(0);
  return [&data, pos, size_fn](uint8_t* buf, size_t cap) mutable -> Result<size_t> {
    size_t n = std::min({cap, data.size() - *pos, size_fn()});
    if (n != 0) std::memcpy(buf, data.data() + *pos, n);
    *pos += n;
    return n;
  };
}

std::vector<Chunk> Stream(const Chunker& c, const std::vector<uint8_t>& data,
                          ChunkStream::Reader reader, size_t buffer_size) {
  ChunkStream s(c, std::move(reader), buffer_size);
  std::vector<Chunk> out;
  ChunkView v;
  while (true) {
    Result<bool> more = s.Next(&v);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    EXPECT_EQ(std::memcmp(v.data, data.data() + v.offset, v.size), 0) << v.offset;
    out.push_back({v.offset, v.size, v.gear_hash});
  }
  EXPECT_EQ(s.bytes_read(), data.size());
  Result<bool> again = s.Next(&v);  // stays at the end
  EXPECT_TRUE(again.ok() && !*again);
  return out;
}

TEST(ChunkStream, SameChunksWhateverTheReadSizes) {
  const uint64_t seed = testing::TestSeed("ChunkStream.SameChunksWhateverTheReadSizes");
  std::vector<uint8_t> data = testing::RandomBytes(20 << 20, seed);
  auto c = Chunker::Create(ChunkerParams{}, MakeKernelTable(DetectCpu()));
  ASSERT_TRUE(c.ok());
  std::vector<Chunk> want = OneShot(*c, data);
  ASSERT_GT(want.size(), 100u);

  EXPECT_EQ(Stream(*c, data, MemReader(data, [] { return size_t{1}; }), 8 << 20), want)
      << "1-byte reads";
  EXPECT_EQ(Stream(*c, data, MemReader(data, [] { return size_t{7}; }), 1 << 20), want)
      << "7-byte reads";
  std::mt19937_64 rng(seed);
  EXPECT_EQ(Stream(*c, data, MemReader(data, [&rng] { return size_t(rng() % (1 << 20)) + 1; }),
                   8 << 20),
            want)
      << "random reads up to 1 MiB";
  // Smallest buffer (rounded up to 2 * max) and whole reads.
  EXPECT_EQ(Stream(*c, data, MemReader(data, [] { return ~size_t{0}; }), 0), want)
      << "tiny buffer";
}

TEST(ChunkStream, BufferSizesAndReusedBuffersGiveTheSameChunks) {
  auto c = Chunker::Create(ChunkerParams{}, MakeKernelTable(DetectCpu()));
  ASSERT_TRUE(c.ok());
  const ChunkerParams& p = c->params();
  const size_t floor = 2 * size_t{p.max_size};
  EXPECT_EQ(ChunkStream::BufferFor(p, 0), ChunkStream::kDefaultBuffer) << "unknown size";
  EXPECT_EQ(ChunkStream::BufferFor(p, 4096), floor);
  EXPECT_EQ(ChunkStream::BufferFor(p, floor + 1), 2 * floor);
  EXPECT_EQ(ChunkStream::BufferFor(p, 1 << 20), size_t{1} << 20);
  EXPECT_EQ(ChunkStream::BufferFor(p, (5 << 20) + 3), ChunkStream::kDefaultBuffer);
  EXPECT_EQ(ChunkStream::BufferFor(p, uint64_t{1} << 40), ChunkStream::kDefaultBuffer);

  // Streams one after another take the buffers of the ones before (stale
  // bytes in them), and a size hint may be wrong either way: the chunks stay
  // those of the one-shot cut.
  const uint64_t seed = testing::TestSeed("ChunkStream.BufferSizesAndReusedBuffers");
  for (int i = 0; i < 6; i++) {
    SCOPED_TRACE(i);
    std::vector<uint8_t> data = testing::RandomBytes((i % 3 + 1) * (700 << 10), seed + i);
    const uint64_t hint = i < 3 ? data.size() : data.size() / 4;
    auto reads = [] { return size_t{100000}; };
    EXPECT_EQ(Stream(*c, data, MemReader(data, reads), ChunkStream::BufferFor(p, hint)),
              OneShot(*c, data));
  }
}

TEST(ChunkStream, StreamsSideBySideTakeSmallBuffersAndCutTheSame) {
  // A server's concurrent uploads: each stream beside another gets at most
  // 1 MiB, whatever it asked for, and its chunks do not change.
  auto c = Chunker::Create(ChunkerParams{}, MakeKernelTable(DetectCpu()));
  ASSERT_TRUE(c.ok());
  const uint64_t seed = testing::TestSeed("ChunkStream.StreamsSideBySide");
  std::vector<uint8_t> a = testing::RandomBytes(6 << 20, seed);
  std::vector<uint8_t> b = testing::RandomBytes(6 << 20, seed + 1);
  auto whole = [] { return ~size_t{0}; };
  std::vector<Chunk> want_a = OneShot(*c, a), want_b = OneShot(*c, b);
  {
    ChunkStream first(*c, MemReader(a, whole), ChunkStream::kDefaultBuffer);
    EXPECT_EQ(first.buffer_size(), ChunkStream::kDefaultBuffer) << "alone: what it asked for";
    ChunkStream second(*c, MemReader(b, whole), ChunkStream::kDefaultBuffer);
    EXPECT_EQ(second.buffer_size(), size_t{1} << 20) << "beside another: capped";
    // Advanced in turn, so that both buffers are in use at once.
    std::vector<Chunk> got_a, got_b;
    ChunkView v;
    bool more_a = true, more_b = true;
    while (more_a || more_b) {
      if (more_a) {
        Result<bool> r = first.Next(&v);
        ASSERT_TRUE(r.ok());
        more_a = *r;
        if (more_a) got_a.push_back({v.offset, v.size, v.gear_hash});
      }
      if (more_b) {
        Result<bool> r = second.Next(&v);
        ASSERT_TRUE(r.ok());
        more_b = *r;
        if (more_b) got_b.push_back({v.offset, v.size, v.gear_hash});
      }
    }
    EXPECT_EQ(got_a, want_a);
    EXPECT_EQ(got_b, want_b);
    first.Close();  // closed: no longer counted
    ChunkStream third(*c, MemReader(a, whole), ChunkStream::kDefaultBuffer);
    EXPECT_EQ(third.buffer_size(), size_t{1} << 20) << "the second is still open";
  }
  ChunkStream alone(*c, MemReader(a, whole), ChunkStream::kDefaultBuffer);
  EXPECT_EQ(alone.buffer_size(), ChunkStream::kDefaultBuffer) << "the others have ended";
}

TEST(ChunkStream, CloseGivesTheBufferBackAndEndsTheStream) {
  auto c = Chunker::Create(ChunkerParams{}, MakeKernelTable(DetectCpu()));
  ASSERT_TRUE(c.ok());
  std::vector<uint8_t> data = testing::RandomBytes(1 << 20, 7);
  ChunkStream s(*c, MemReader(data, [] { return ~size_t{0}; }), 1 << 20);
  ChunkView v;
  ASSERT_TRUE(s.Next(&v).ok());
  s.Close();
  EXPECT_EQ(s.bytes_read(), data.size());
  Result<bool> more = s.Next(&v);
  EXPECT_TRUE(more.ok() && !*more) << "a closed stream has no more chunks";
  s.Close();  // twice is harmless
}

// A tap that reads its ranges only when told the buffer is about to be
// reused (or at the end): had the stream written over a shown byte first,
// the bytes collected would differ from the input.
struct LateCopyTap : ChunkStream::Tap {
  void Read(const uint8_t* p, size_t n) override {
    EXPECT_GT(n, 0u);
    pending.emplace_back(p, n);
  }
  void BeforeReuse() override {
    for (auto [p, n] : pending) seen.insert(seen.end(), p, p + n);
    pending.clear();
    reuses++;
  }
  std::vector<std::pair<const uint8_t*, size_t>> pending;
  std::vector<uint8_t> seen;
  int reuses = 0;
};

TEST(ChunkStream, TapSeesEveryByteOnceInOrderBeforeItIsReused) {
  const std::vector<uint8_t> data = testing::RandomBytes(5 << 20, 99);
  auto c = Chunker::Create(ChunkerParams{}, MakeKernelTable(DetectCpu()));
  ASSERT_TRUE(c.ok());
  for (size_t read : {size_t{4096}, size_t{1} << 20, ~size_t{0}}) {
    for (size_t buffer : {size_t{0}, size_t{1} << 20}) {  // smallest (2 * max), 1 MiB
      LateCopyTap tap;
      ChunkStream s(*c, MemReader(data, [read] { return read; }), buffer);
      s.SetTap(&tap);
      ChunkView v;
      uint64_t chunked = 0;
      while (true) {
        Result<bool> more = s.Next(&v);
        ASSERT_TRUE(more.ok()) << more.status().ToString();
        if (!*more) break;
        chunked += v.size;
      }
      EXPECT_EQ(chunked, data.size());
      tap.BeforeReuse();  // the end: collect what is still pending
      EXPECT_TRUE(tap.seen == data) << "reads of " << read << ", buffer " << buffer;
      EXPECT_GT(tap.reuses, 4) << "the buffer was refilled";
    }
  }
}

TEST(ChunkStream, SmallAndEmptyInputs) {
  auto c = Chunker::Create(ChunkerParams{64, 256, 1024, 1}, MakeKernelTable(DetectCpu()));
  ASSERT_TRUE(c.ok());
  for (size_t n : {0, 1, 63, 64, 65, 1023, 1024, 1025, 5000}) {
    std::vector<uint8_t> data = testing::RandomBytes(n, n);
    EXPECT_EQ(Stream(*c, data, MemReader(data, [] { return size_t{100}; }), 0),
              OneShot(*c, data))
        << n;
  }
}

TEST(ChunkStream, ReaderErrorPropagatesAndSticks) {
  auto c = Chunker::Create(ChunkerParams{64, 256, 1024, 1}, MakeKernelTable(DetectCpu()));
  ASSERT_TRUE(c.ok());
  std::vector<uint8_t> data = testing::RandomBytes(10000, 3);
  size_t pos = 0;
  int calls = 0;
  ChunkStream s(*c, [&](uint8_t* buf, size_t cap) -> Result<size_t> {
    if (++calls == 4) return Status::IOError("disk on fire");
    size_t n = std::min<size_t>({cap, 1500, data.size() - pos});
    std::memcpy(buf, data.data() + pos, n);
    pos += n;
    return n;
  });
  ChunkView v;
  Result<bool> r = s.Next(&v);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kIOError);
  EXPECT_NE(r.status().message().find("disk on fire"), std::string::npos);
  EXPECT_NE(r.status().message().find("offset 4500"), std::string::npos)
      << r.status().message();
  Result<bool> again = s.Next(&v);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(calls, 4);  // not called again after the error
}

TEST(ChunkStream, ReaderOverrunIsAnError) {
  auto c = Chunker::Create(ChunkerParams{64, 256, 1024, 1}, MakeKernelTable(DetectCpu()));
  ASSERT_TRUE(c.ok());
  ChunkStream s(*c, [](uint8_t*, size_t cap) -> Result<size_t> { return cap + 1; });
  ChunkView v;
  Result<bool> r = s.Next(&v);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
}

}  // namespace
}  // namespace as
