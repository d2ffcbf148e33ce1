// The compression pipeline gives the same chunks and the same bytes back
// whatever the number of workers.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "artifact_store/store.h"
#include "test_util.h"
#include "store_fixture.h"

namespace as {
namespace {

struct Outcome {
  PutResult put;
  std::vector<uint8_t> back;
};

Outcome PutWith(int workers, const std::vector<uint8_t>& data, CodecId codec) {
  std::string dir = testing::TempDir("pipeline");
  StoreOptions o;
  o.create_if_missing = true;
  o.chunker = ChunkerParams{1024, 4096, 16384, 1};
  o.pack_target_size = 256 << 10;
  o.codec = codec;
  o.compress_workers = workers;
  Outcome out;
  {
    auto st = as::testing::OpenStore(dir, o);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    size_t pos = 0;
    auto r =
        (*st)->Put({kDefaultTenant, "b", "k"}, [&](uint8_t* buf, size_t cap) -> Result<size_t> {
          size_t n = std::min(cap, data.size() - pos);
          if (n) std::memcpy(buf, data.data() + pos, n);
          pos += n;
          return n;
        });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    out.put = *r;
    Status s = (*st)->Get(kDefaultTenant, "b/k", [&](const uint8_t* p, size_t n) {
      out.back.insert(out.back.end(), p, p + n);
      return Status::OK();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  std::filesystem::remove_all(dir);
  return out;
}

TEST(CompressPipelineTest, SameResultForAnyWorkerCount) {
  // Half compressible text, half random: both codec decisions occur. Under
  // one 4 MiB batch (compressed inline at Finish, no worker started) and
  // over two (workers, then a partial last batch).
  for (size_t size : {size_t{3} << 20, size_t{10} << 20}) {
    std::vector<uint8_t> data = testing::RandomBytes(size, 42);
    for (size_t i = 0; i < data.size() / 2; i++) data[i] = "artifact-store "[i % 15];
    for (CodecId codec : {CodecId::kZstd, CodecId::kLz4, CodecId::kNone}) {
      SCOPED_TRACE(std::string(CodecName(codec)) + ", " + std::to_string(size) + " bytes");
      Outcome a = PutWith(0, data, codec);
      for (int workers : {1, 3}) {
        Outcome b = PutWith(workers, data, codec);
        EXPECT_EQ(a.put.content, b.put.content);
        EXPECT_EQ(a.put.chunks, b.put.chunks);
        EXPECT_EQ(a.put.new_chunks, b.put.new_chunks);
        // Compressed sizes may differ slightly (see Compressor's sampling), but
        // never by much: the same chunks compress the same way given the chance.
        EXPECT_NEAR(double(a.put.stored_bytes), double(b.put.stored_bytes),
                    0.02 * double(a.put.stored_bytes))
            << workers << " workers";
        EXPECT_TRUE(b.back == data) << workers << " workers";
      }
      EXPECT_TRUE(a.back == data);
    }
  }
}

TEST(CompressPipelineTest, ObserveSeesEveryByteInOrderBeforeFinish) {
  // PutOptions::observe (the S3 layer's MD5 and checksums): inline without
  // workers, on a thread of its own with them; done either way by finish.
  const std::vector<uint8_t> data = testing::RandomBytes(11 << 20, 5);
  for (int workers : {0, 1}) {
    std::string dir = testing::TempDir("observe");
    StoreOptions o;
    o.create_if_missing = true;
    o.compress_workers = workers;
    auto st = as::testing::OpenStore(dir, o);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    std::vector<uint8_t> seen;
    size_t seen_at_finish = 0;
    PutOptions po;
    po.observe = [&](const uint8_t* p, size_t n) { seen.insert(seen.end(), p, p + n); };
    po.finish = [&]() -> Result<std::string> {
      seen_at_finish = seen.size();
      return std::string();
    };
    size_t pos = 0;
    auto r = (*st)->Put(
        {kDefaultTenant, "b", "k"},
        [&](uint8_t* buf, size_t cap) -> Result<size_t> {
          size_t n = std::min({cap, data.size() - pos, size_t{3} << 20});
          if (n) std::memcpy(buf, data.data() + pos, n);
          pos += n;
          return n;
        },
        po);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(seen_at_finish, data.size()) << workers << " workers";
    EXPECT_TRUE(seen == data) << workers << " workers";
    st->reset();
    std::filesystem::remove_all(dir);
  }
}

}  // namespace
}  // namespace as
