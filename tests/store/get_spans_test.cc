// GetFoundSpans: a raw chunk's bytes are also reported where they lie in its
// pack, so a server can sendfile them; the file bytes equal the checked ones.
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "artifact_store/store.h"
#include "test_util.h"

namespace as {
namespace {

using Bytes = std::vector<uint8_t>;

ByteSource Whole(const Bytes& data) {
  auto pos = std::make_shared<size_t>(0);
  return [&data, pos](uint8_t* buf, size_t cap) -> Result<size_t> {
    size_t n = std::min(cap, data.size() - *pos);
    std::memcpy(buf, data.data() + *pos, n);
    *pos += n;
    return n;
  };
}

struct Seen {
  Bytes bytes;       // what the sink was given
  Bytes from_files;  // the same ranges read back through the spans
  size_t spans = 0, pieces = 0;
};

class GetSpansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = as::testing::TempDir("spans");
    StoreOptions o;
    o.create_if_missing = true;
    o.chunker = ChunkerParams{1024, 4096, 16384, 1};
    auto s = Store::Open(dir_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
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

}  // namespace
}  // namespace as
