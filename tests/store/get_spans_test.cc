// Get's read path: GetFoundSpans reports where a raw chunk's checked bytes lie
// in its pack (for sendfile), and reads stay right when the locations a get
// remembered go stale.
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "artifact_store/store.h"
#include "chunking/fastcdc.h"
#include "kernels/cpu.h"
#include "kernels/kernels.h"
#include "store_fixture.h"
#include "test_util.h"

namespace as {
namespace {

using Bytes = std::vector<uint8_t>;

ByteSource Whole(const Bytes& data) { return as::testing::WholeSource(data); }

struct Seen {
  Bytes bytes;       // what the sink was given
  Bytes from_files;  // the same ranges read back through the spans
  size_t spans = 0, pieces = 0;
};

class GetSpansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = as::testing::OpenTestStore("spans", &dir_);
    ASSERT_TRUE(store_);
  }

  Seen Read(const ObjectName& name, std::optional<ByteRange> range) {
    Seen seen;
    auto info = store_->Lookup(name);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    if (!info.ok()) return seen;
    Status s = store_->GetFoundSpans(
        name.tenant, *info, [&](const uint8_t* p, size_t n, const FileSpan* f) {
          seen.pieces++;
          seen.bytes.insert(seen.bytes.end(), p, p + n);
          if (f) {
            seen.spans++;
            Bytes b(n);
            EXPECT_EQ(::pread(f->fd, b.data(), n, off_t(f->offset)), ssize_t(n));
            seen.from_files.insert(seen.from_files.end(), b.begin(), b.end());
          }
          return Status::OK();
        },
        range);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return seen;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(GetSpansTest, RawChunksComeWithTheirPlaceInThePack) {
  Bytes data = as::testing::RandomBytes(200000, 3);  // incompressible: stored raw
  ASSERT_TRUE(store_->Put({"default", "b", "k"}, Whole(data)).ok());
  Seen all = Read({"default", "b", "k"}, std::nullopt);
  EXPECT_EQ(all.bytes, data);
  EXPECT_GT(all.pieces, 1u);
  EXPECT_EQ(all.spans, all.pieces);
  EXPECT_EQ(all.from_files, data);
  // A range starts and ends inside chunks: the spans move with it.
  Seen part = Read({"default", "b", "k"}, ByteRange{12345, 123456});
  Bytes want(data.begin() + 12345, data.begin() + 123457);
  EXPECT_EQ(part.bytes, want);
  EXPECT_EQ(part.from_files, want);
}

TEST_F(GetSpansTest, CompressedChunksHaveNoSpan) {
  Bytes data(100000);
  for (size_t i = 0; i < data.size(); i++) data[i] = uint8_t("abcdefgh"[i % 8]);
  ASSERT_TRUE(store_->Put({"default", "b", "text"}, Whole(data)).ok());
  Seen all = Read({"default", "b", "text"}, std::nullopt);
  EXPECT_EQ(all.bytes, data);
  EXPECT_EQ(all.spans, 0u);
}

TEST_F(GetSpansTest, AChunkMovedByGcIsReadFromItsNewPlace) {
  // y is exactly the first chunk of x: after x goes, gc rewrites x's pack
  // (one live chunk of many) and y's chunk moves, while the store remembers
  // where y's chunk was.
  Bytes x = as::testing::RandomBytes(300000, 9);
  auto chunker = Chunker::Create(ChunkerParams{1024, 4096, 16384, 1}, MakeKernelTable(DetectCpu()));
  ASSERT_TRUE(chunker.ok());
  size_t first = chunker->Cut(x.data(), x.size(), true, nullptr);
  ASSERT_GT(first, 0u);
  Bytes y(x.begin(), x.begin() + ptrdiff_t(first));
  ASSERT_TRUE(store_->Put({"default", "b", "x"}, Whole(x)).ok());
  ASSERT_TRUE(store_->Put({"default", "b", "y"}, Whole(y)).ok());
  for (int i = 0; i < 2; i++) EXPECT_EQ(Read({"default", "b", "y"}, std::nullopt).bytes, y);
  ASSERT_TRUE(store_->Remove({"default", "b", "x"}).ok());
  GcOptions go;
  go.grace_seconds = 0;
  go.rewrite_threshold = 0.5;
  auto g = store_->Gc(go);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_GT(g->packs_rewritten + g->packs_deleted, 0u);
  for (int i = 0; i < 2; i++) EXPECT_EQ(Read({"default", "b", "y"}, std::nullopt).bytes, y);
  Bytes whole;
  ASSERT_TRUE(store_->Get("default", "b/y", [&](const uint8_t* p, size_t n) {
    whole.insert(whole.end(), p, p + n);
    return Status::OK();
  }).ok());
  EXPECT_EQ(whole, y);
}

}  // namespace
}  // namespace as
