// The pack store on a bucket, against a real Ceph RGW (tests/util/rgw_server.sh,
// started by `make rgw-test`, which sets AS_TEST_RGW_STATE). Without it every
// test skips, saying so: plain ctest runs do not start Ceph.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/bytes.h"
#include "hash/blake3.h"
#include "hash/sha.h"
#include "kernels/kernels.h"
#include "pack/format.h"
#include "pack/pack.h"
#include "s3client/s3_pack_store.h"
#include "test_util.h"

namespace as {
namespace {

std::string ReadState(const std::string& state, const char* file) {
  std::ifstream in(state + "/" + file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

class S3PackStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* state = std::getenv("AS_TEST_RGW_STATE");
    if (!state || !*state) GTEST_SKIP() << "no RGW: AS_TEST_RGW_STATE is not set (make rgw-test)";
    if (std::string skip = ReadState(state, "skip"); !skip.empty()) GTEST_SKIP() << skip;
    ep_.url = ReadState(state, "endpoint");
    ep_.creds.access_key_id = ReadState(state, "access_key");
    ep_.creds.secret = ReadState(state, "secret_key");
    ASSERT_FALSE(ep_.url.empty()) << "no endpoint in " << state;
    k_ = MakeKernelTable(DetectCpu());
    // A prefix of its own per test: tests run side by side on one bucket.
    prefix_ = "s3://as-pack-tests/" + as::testing::TempDir("p").substr(5);
    for (char& c : prefix_) {
      if (c == '_') c = '-';
    }
    auto client = S3Client::Create(ep_);
    ASSERT_TRUE(client.ok());
    client_ = std::move(client).value();
    auto s = OpenS3PackStore(ep_, prefix_, "uuid-a", true);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  // A pack of `frames` raw frames of `each` random bytes; returns it sealed.
  SealedPack Write(size_t frames, size_t each, bool small,
                   std::vector<std::vector<uint8_t>>* payloads) {
    auto w = PackWriter::Create(store_.get(), &k_, 3, small);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    if (!w.ok()) return {};
    for (size_t i = 0; i < frames; i++) {
      payloads->push_back(as::testing::RandomBytes(each, i * 7919 + frames));
      FrameInfo info;
      info.type = format::RecordType::kChunk;
      info.codec = CodecId::kNone;
      info.raw_len = info.stored_len = static_cast<uint32_t>(each);
      info.digest = Blake3(payloads->back().data(), each);
      auto added = (*w)->Add(info, payloads->back().data());
      EXPECT_TRUE(added.ok()) << added.status().ToString();
    }
    auto sealed = (*w)->Seal();
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    return sealed.ok() ? *sealed : SealedPack{};
  }

  void ReadAll(const SealedPack& sp, const std::vector<std::vector<uint8_t>>& payloads) {
    auto r = PackReader::Open(store_.get(), &k_, sp.name);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    auto footer = (*r)->ReadFooter();
    ASSERT_TRUE(footer.ok()) << footer.status().ToString();
    ASSERT_EQ(footer->entries.size(), payloads.size());
    std::vector<uint8_t> buf;
    for (size_t i = 0; i < payloads.size(); i++) {
      const FooterEntry& e = footer->entries[i];
      auto info = (*r)->ReadFrame(e.offset, e.frame_len, &buf);
      ASSERT_TRUE(info.ok()) << info.status().ToString();
      ASSERT_EQ(0, std::memcmp(buf.data() + format::kFrameHeaderSize, payloads[i].data(),
                               payloads[i].size()))
          << "frame " << i;
    }
  }

  std::vector<PackObject> Listed() {
    std::vector<PackObject> out;
    Status s = store_->List(&out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  S3Endpoint ep_;
  KernelTable k_;
  std::string prefix_;
  std::unique_ptr<S3Client> client_;
  std::unique_ptr<PackStore> store_;
};

TEST_F(S3PackStoreTest, ASmallPackIsOnePutAndReadsBack) {
  std::vector<std::vector<uint8_t>> payloads;
  SealedPack sp = Write(20, 10000, true, &payloads);
  ASSERT_FALSE(sp.name.empty());
  ReadAll(sp, payloads);
  auto listed = Listed();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name, sp.name);
  EXPECT_TRUE(listed[0].sealed);
  EXPECT_EQ(listed[0].size, sp.size);
  EXPECT_NE(store_->Where(sp.name).find("s3://as-pack-tests/"), std::string::npos);
}

TEST_F(S3PackStoreTest, ALargePackIsAMultipartUploadCheckedByItsETag) {
  // 40 MiB: three parts of up to 16 MiB; the frames straddle part edges.
  std::vector<std::vector<uint8_t>> payloads;
  SealedPack sp = Write(40, (1 << 20) - 100, false, &payloads);
  ASSERT_FALSE(sp.name.empty());
  ASSERT_GT(sp.size, 2 * kS3PartSize);
  ReadAll(sp, payloads);
  auto listed = Listed();
  ASSERT_EQ(listed.size(), 1u) << "no multipart upload is left behind";
  EXPECT_TRUE(listed[0].sealed);
  EXPECT_EQ(listed[0].size, sp.size);
}

TEST_F(S3PackStoreTest, AnAbandonedWriterLeavesNothing) {
  {
    auto w = PackWriter::Create(store_.get(), &k_, 3, false);
    ASSERT_TRUE(w.ok());
    std::vector<uint8_t> big = as::testing::RandomBytes(1 << 20, 5);
    FrameInfo info;
    info.type = format::RecordType::kChunk;
    info.raw_len = info.stored_len = static_cast<uint32_t>(big.size());
    info.digest = Blake3(big.data(), big.size());
    for (int i = 0; i < 20; i++) ASSERT_TRUE((*w)->Add(info, big.data()).ok());  // a part went
    (*w)->Abandon();
  }
  EXPECT_TRUE(Listed().empty());
}

TEST_F(S3PackStoreTest, AnUploadAKilledWriterLeftIsListedAndRemoved) {
  const std::string name(32, 'a');
  auto url = ParseS3PacksUrl(prefix_);
  ASSERT_TRUE(url.ok());
  const std::string key = url->prefix + "/packs/aa/" + name + ".pack";
  auto id = client_->CreateMultipartUpload(url->bucket, key);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto listed = Listed();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_FALSE(listed[0].sealed);
  EXPECT_EQ(listed[0].name, name);
  ASSERT_TRUE(store_->RemoveLeftover(listed[0]).ok());
  EXPECT_TRUE(Listed().empty());
}

TEST_F(S3PackStoreTest, APrefixIsBoundToOneStore) {
  auto other = OpenS3PackStore(ep_, prefix_, "uuid-b", true);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(other.status().message().find("uuid-a"), std::string::npos) << other.status().message();
  EXPECT_NE(other.status().message().find("uuid-b"), std::string::npos);
  EXPECT_TRUE(OpenS3PackStore(ep_, prefix_, "uuid-a", false).ok());
  auto unbound = OpenS3PackStore(ep_, prefix_ + "-none", "uuid-a", false);
  ASSERT_FALSE(unbound.ok());
  EXPECT_NE(unbound.status().message().find("STORE is missing"), std::string::npos)
      << unbound.status().message();
}

TEST_F(S3PackStoreTest, AMissingPackIsNotFoundNamingIt) {
  auto r = PackReader::Open(store_.get(), &k_, std::string(32, 'b'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find(std::string(32, 'b')), std::string::npos);
}

TEST_F(S3PackStoreTest, AFrameCorruptedInTheBucketFailsItsCrcNamingThePack) {
  std::vector<std::vector<uint8_t>> payloads;
  SealedPack sp = Write(4, 5000, true, &payloads);
  auto url = ParseS3PacksUrl(prefix_);
  const std::string key = url->prefix + "/packs/" + sp.name.substr(0, 2) + "/" + sp.name + ".pack";
  auto bytes = client_->GetObject(url->bucket, key);
  ASSERT_TRUE(bytes.ok());
  (*bytes)[sp.entries[1].offset + 100] ^= 1;
  ASSERT_TRUE(client_->PutObject(url->bucket, key, bytes->data(), bytes->size(),
                                 Md5(bytes->data(), bytes->size())).ok());
  auto r = PackReader::Open(store_.get(), &k_, sp.name);
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> buf;
  EXPECT_TRUE((*r)->ReadFrame(sp.entries[0].offset, sp.entries[0].frame_len, &buf).ok());
  auto bad = (*r)->ReadFrame(sp.entries[1].offset, sp.entries[1].frame_len, &buf);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kCorruption);
  EXPECT_NE(bad.status().message().find(sp.name), std::string::npos) << bad.status().message();
}

TEST_F(S3PackStoreTest, WrongCredentialsAreRefusedClearly) {
  S3Endpoint bad = ep_;
  bad.creds.secret = "not-the-secret";
  auto s = OpenS3PackStore(bad, prefix_, "uuid-a", false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("403"), std::string::npos) << s.status().message();
}

TEST(S3PackStoreOffline, AServerThatIsNotThereIsUnavailableNamingIt) {
  S3Endpoint ep{"http://127.0.0.1:1", {"k", "s", "us-east-1"}};
  auto s = OpenS3PackStore(ep, "s3://bucket/p", "u", false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kUnavailable);
  EXPECT_NE(s.status().message().find("127.0.0.1:1"), std::string::npos) << s.status().message();
}

TEST(S3PackStoreOffline, UrlsAreCheckedWithClearErrors) {
  EXPECT_TRUE(ParseS3PacksUrl("s3://bucket").ok());
  auto u = ParseS3PacksUrl("s3://my-bucket/a/b/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->bucket, "my-bucket");
  EXPECT_EQ(u->prefix, "a/b");
  EXPECT_FALSE(ParseS3PacksUrl("http://bucket/x").ok());
  EXPECT_FALSE(ParseS3PacksUrl("s3://Bad_Bucket/x").ok());
  EXPECT_FALSE(ParseS3PacksUrl("s3://bucket/a//b").ok());
  EXPECT_FALSE(S3Client::Create({"ftp://h", {}}).ok());
  EXPECT_FALSE(S3Client::Create({"http://h/path", {}}).ok());
}

}  // namespace
}  // namespace as
