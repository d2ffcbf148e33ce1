// Get's read path: GetFoundSpans reports where a raw chunk's checked bytes lie
// in its pack (for sendfile), and reads stay right when the locations a get
// remembered go stale.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "artifact_store/store.h"
#include "chunking/fastcdc.h"
#include "kernels/cpu.h"
#include "kernels/kernels.h"
#include "pack/pack.h"
#include "store_fixture.h"
#include "test_util.h"

namespace as {
namespace {

using Bytes = std::vector<uint8_t>;

ByteSource Whole(const Bytes& data) { return as::testing::WholeSource(data); }

struct Seen {
  Bytes bytes;       // what the sink was given (read through the span when data is null)
  Bytes from_files;  // the same ranges read back through the spans
  size_t spans = 0, pieces = 0;
  size_t in_place = 0;  // pieces with a span and no data (checked in the page cache)
  Status status;
};

// Every pack file of the store in dir, the one with the most chunk frames first.
std::vector<std::string> PacksByChunks(const std::string& dir) {
  KernelTable k = MakeKernelTable(DetectCpu());
  std::vector<std::pair<size_t, std::string>> found;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir + "/packs")) {
    if (e.path().extension() != ".pack") continue;
    auto r = PackReader::OpenFile(Env::Default(), &k, e.path().string());
    auto footer = r.ok() ? (*r)->ReadFooter() : Result<SealedPack>(r.status());
    if (footer.ok()) found.emplace_back(footer->entries.size(), e.path().string());
  }
  std::sort(found.rbegin(), found.rend());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

class GetSpansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = as::testing::OpenTestStore("spans", &dir_);
    ASSERT_TRUE(store_);
  }

  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Chunks of 32-128 KiB: raw ones are checked in place (see SpanSink).
  void UseBigChunks() {
    store_.reset();
    std::filesystem::remove_all(dir_);
    store_ = as::testing::OpenTestStore("spans-big", &dir_, {}, {32768, 65536, 131072, 1});
    ASSERT_TRUE(store_);
  }

  // With big chunks: puts 1 MiB of random bytes as b/k and reads it once,
  // which maps its pack; *pack gets the pack that holds most of it.
  void PutMapped(uint64_t seed, Bytes* data, std::string* pack) {
    UseBigChunks();
    *data = as::testing::RandomBytes(1 << 20, seed);
    ASSERT_TRUE(store_->Put({"default", "b", "k"}, Whole(*data)).ok());
    ASSERT_TRUE(Read({"default", "b", "k"}, std::nullopt).status.ok());
    *pack = PacksByChunks(dir_).at(0);
  }

  Seen Read(const ObjectName& name, std::optional<ByteRange> range) {
    Seen seen;
    auto info = store_->Lookup(name);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    if (!info.ok()) return seen;
    Status s = store_->GetFoundSpans(
        name.tenant, *info, [&](const uint8_t* p, size_t n, const FileSpan* f) {
          seen.pieces++;
          EXPECT_TRUE(p || f) << "a piece with neither data nor a file span";
          if (p) seen.bytes.insert(seen.bytes.end(), p, p + n);
          if (f) {
            seen.spans++;
            Bytes b(n);
            EXPECT_EQ(::pread(f->fd, b.data(), n, off_t(f->offset)), ssize_t(n));
            seen.from_files.insert(seen.from_files.end(), b.begin(), b.end());
            if (!p) {
              seen.in_place++;
              seen.bytes.insert(seen.bytes.end(), b.begin(), b.end());
            }
          }
          return Status::OK();
        },
        range);
    seen.status = s;
    return seen;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(GetSpansTest, RawChunksComeWithTheirPlaceInThePack) {
  AS_SKIP_UNLESS_LOCAL_PACKS();
  Bytes data = as::testing::RandomBytes(200000, 3);  // incompressible: stored raw
  ASSERT_TRUE(store_->Put({"default", "b", "k"}, Whole(data)).ok());
  Seen all = Read({"default", "b", "k"}, std::nullopt);
  ASSERT_TRUE(all.status.ok()) << all.status.ToString();
  EXPECT_EQ(all.bytes, data);
  EXPECT_GT(all.pieces, 1u);
  EXPECT_EQ(all.spans, all.pieces);
  EXPECT_EQ(all.in_place, 0u);  // small chunks are copied out
  EXPECT_EQ(all.from_files, data);
  // A range starts and ends inside chunks: the spans move with it.
  Seen part = Read({"default", "b", "k"}, ByteRange{12345, 123456});
  Bytes want(data.begin() + 12345, data.begin() + 123457);
  EXPECT_EQ(part.bytes, want);
  EXPECT_EQ(part.from_files, want);
}

TEST_F(GetSpansTest, LargeRawChunksAreCheckedInPlace) {
  AS_SKIP_UNLESS_LOCAL_PACKS();
  UseBigChunks();
  Bytes data = as::testing::RandomBytes(1 << 20, 4);
  ASSERT_TRUE(store_->Put({"default", "b", "k"}, Whole(data)).ok());
  for (auto range : {std::optional<ByteRange>(), std::optional(ByteRange{12345, 765432})}) {
    Seen seen = Read({"default", "b", "k"}, range);
    ASSERT_TRUE(seen.status.ok()) << seen.status.ToString();
    uint64_t first = range ? range->first : 0, last = range ? *range->last : data.size() - 1;
    Bytes want(data.begin() + ptrdiff_t(first), data.begin() + ptrdiff_t(last + 1));
    EXPECT_EQ(seen.bytes, want);
    EXPECT_EQ(seen.from_files, want);
    EXPECT_EQ(seen.spans, seen.pieces);
    // All but perhaps the last chunk (which may be under 32 KiB) are in place.
    EXPECT_GE(seen.in_place + 1, seen.pieces);
    EXPECT_GE(seen.in_place, 4u);
  }
}

TEST_F(GetSpansTest, CompressedChunksHaveNoSpan) {
  Bytes data(100000);
  for (size_t i = 0; i < data.size(); i++) data[i] = uint8_t("abcdefgh"[i % 8]);
  ASSERT_TRUE(store_->Put({"default", "b", "text"}, Whole(data)).ok());
  Seen all = Read({"default", "b", "text"}, std::nullopt);
  ASSERT_TRUE(all.status.ok()) << all.status.ToString();
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

TEST_F(GetSpansTest, TheInPlaceCheckStopsBeforeABadChunk) {
  AS_SKIP_UNLESS_LOCAL_PACKS();
  Bytes data;
  std::string pack;
  ASSERT_NO_FATAL_FAILURE(PutMapped(5, &data, &pack));
  // A raw chunk frame in the middle of the pack, and where its bytes start in data.
  KernelTable k = MakeKernelTable(DetectCpu());
  auto r = PackReader::OpenFile(Env::Default(), &k, pack);
  ASSERT_TRUE(r.ok());
  auto footer = (*r)->ReadFooter();
  ASSERT_TRUE(footer.ok());
  ASSERT_GE(footer->entries.size(), 3u);
  const FooterEntry e = footer->entries[footer->entries.size() / 2];
  ASSERT_EQ(e.type, format::RecordType::kChunk);
  ASSERT_GE(e.frame_len, 32u << 10);  // big enough to be checked in place
  Bytes frame;
  ASSERT_TRUE((*r)->ReadFrame(e.offset, e.frame_len, &frame).ok());
  const uint8_t* payload = frame.data() + format::kFrameHeaderSize;
  auto at = std::search(data.begin(), data.end(), payload, payload + e.raw_len);
  ASSERT_NE(at, data.end());
  const size_t chunk_pos = size_t(at - data.begin());
  ASSERT_TRUE(as::testing::FlipByte(pack, e.offset + format::kFrameHeaderSize + e.raw_len / 2));

  Seen bad = Read({"default", "b", "k"}, std::nullopt);
  ASSERT_FALSE(bad.status.ok());
  EXPECT_EQ(bad.status.code(), Code::kCorruption) << bad.status.ToString();
  EXPECT_NE(bad.status.message().find(pack), std::string::npos) << bad.status.message();
  EXPECT_NE(bad.status.message().find("offset " + std::to_string(e.offset)), std::string::npos)
      << bad.status.message();
  EXPECT_LE(bad.bytes.size(), chunk_pos);  // nothing of the bad chunk reached the sink
  EXPECT_TRUE(std::equal(bad.bytes.begin(), bad.bytes.end(), data.begin()));
}

TEST_F(GetSpansTest, APackTruncatedUnderItsMappingIsAnErrorNotACrash) {
  AS_SKIP_UNLESS_LOCAL_PACKS();
  Bytes data;
  std::string pack;
  ASSERT_NO_FATAL_FAILURE(PutMapped(6, &data, &pack));
  // Someone else cuts the pack while the store holds it mapped: reading the
  // lost pages raises SIGBUS, which the guarded check turns into an error.
  std::filesystem::resize_file(pack, std::filesystem::file_size(pack) / 2);
  Seen cut = Read({"default", "b", "k"}, std::nullopt);
  ASSERT_FALSE(cut.status.ok());
  EXPECT_NE(cut.status.message().find(pack), std::string::npos) << cut.status.ToString();
  EXPECT_LT(cut.bytes.size(), data.size());
  EXPECT_TRUE(std::equal(cut.bytes.begin(), cut.bytes.end(), data.begin()));
  // The copying read path says the same, and the process goes on.
  Status s = store_->Get("default", "b/k", [](const uint8_t*, size_t) { return Status::OK(); });
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace as
