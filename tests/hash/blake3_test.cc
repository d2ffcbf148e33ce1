// BLAKE3 against the official test vectors and the real b3sum binary; SHA-256
// and MD5 known answers.
#include "hash/blake3.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "hash/sha.h"
#include "seed.h"
#include "test_util.h"

namespace as {
namespace {

constexpr size_t kXofLen = 131;  // every vector's output is 131 bytes

std::vector<uint8_t> VectorInput(size_t n) {
  std::vector<uint8_t> in(n);
  for (size_t i = 0; i < n; i++) in[i] = static_cast<uint8_t>(i % 251);
  return in;
}

std::string Hex(const uint8_t* p, size_t n) { return ToHex(p, n); }

TEST(Blake3, OfficialVectors) {
  auto dir = testing::VectorsDir();
  if (!dir) GTEST_SKIP() << "../shared/vectors not found: skipping";
  std::ifstream f(*dir + "/blake3_test_vectors.json");
  ASSERT_TRUE(f) << "cannot open " << *dir << "/blake3_test_vectors.json";
  nlohmann::json j = nlohmann::json::parse(f);
  const std::string key_str = j.at("key").get<std::string>();
  const std::string context = j.at("context_string").get<std::string>();
  ASSERT_EQ(key_str.size(), 32u);
  uint8_t key[32];
  std::memcpy(key, key_str.data(), 32);
  ASSERT_GT(j.at("cases").size(), 0u);

  int n_cases = 0;
  for (const auto& c : j.at("cases")) {
    const size_t len = c.at("input_len").get<size_t>();
    const std::string want_hash = c.at("hash").get<std::string>();
    const std::string want_keyed = c.at("keyed_hash").get<std::string>();
    const std::string want_derive = c.at("derive_key").get<std::string>();
    ASSERT_EQ(want_hash.size(), 2 * kXofLen);
    SCOPED_TRACE("input_len=" + std::to_string(len));
    const std::vector<uint8_t> in = VectorInput(len);

    // hash: full XOF and the 32-byte digest.
    {
      Blake3Hasher h;
      h.Update(in.data(), in.size());
      uint8_t out[kXofLen];
      h.FinalizeXof(out, sizeof(out));
      EXPECT_EQ(Hex(out, sizeof(out)), want_hash);
      Digest d = h.Finalize();
      EXPECT_EQ(d.algo, DigestAlgo::kBlake3);
      EXPECT_EQ(Hex(d.bytes.data(), 32), want_hash.substr(0, 64));
      Digest one = Blake3(in.data(), in.size());
      EXPECT_EQ(one.algo, DigestAlgo::kBlake3);
      EXPECT_EQ(Hex(one.bytes.data(), 32), want_hash.substr(0, 64));
      EXPECT_EQ(one.ToString(), "blake3:" + want_hash.substr(0, 64));
    }
    // keyed_hash: full XOF and the 32-byte digest.
    {
      Blake3Hasher h(key);
      h.Update(in.data(), in.size());
      uint8_t out[kXofLen];
      h.FinalizeXof(out, sizeof(out));
      EXPECT_EQ(Hex(out, sizeof(out)), want_keyed);
      Digest d = h.Finalize();
      EXPECT_EQ(d.algo, DigestAlgo::kBlake3Keyed);
      EXPECT_EQ(Hex(d.bytes.data(), 32), want_keyed.substr(0, 64));
      Digest one = Blake3Keyed(key, in.data(), in.size());
      EXPECT_EQ(one.algo, DigestAlgo::kBlake3Keyed);
      EXPECT_EQ(Hex(one.bytes.data(), 32), want_keyed.substr(0, 64));
      // Reset() returns to the keyed initial state, not the plain one.
      h.Reset();
      h.Update(in.data(), in.size());
      EXPECT_EQ(h.Finalize(), one);
    }
    // derive_key: the API only exposes the 32-byte derived key (no hasher in
    // derive mode, hence no XOF), so only the first 32 bytes are compared.
    {
      uint8_t out[32];
      Blake3DeriveKey(context.c_str(), in.data(), in.size(), out);
      EXPECT_EQ(Hex(out, 32), want_derive.substr(0, 64));
    }
    n_cases++;
  }
  EXPECT_GE(n_cases, 30);  // the official file has 35 cases
}

TEST(Blake3, IncrementalEqualsOneShot) {
  const uint64_t seed = testing::TestSeed("Blake3.IncrementalEqualsOneShot");
  std::mt19937_64 rng(seed);
  const uint8_t key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                           17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
  const std::vector<size_t> sizes = {0, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 2049,
                                     4096, 8193, 65536, 100000, 1 << 20};
  for (size_t n : sizes) {
    SCOPED_TRACE("n=" + std::to_string(n));
    const std::vector<uint8_t> data = testing::RandomBytes(n, rng());
    const Digest want = Blake3(data.data(), n);
    const Digest want_keyed = Blake3Keyed(key, data.data(), n);
    uint8_t want_xof[200];
    {
      Blake3Hasher h;
      h.Update(data.data(), n);
      h.FinalizeXof(want_xof, sizeof(want_xof));
    }
    for (int trial = 0; trial < 8; trial++) {
      // Random cut points, including empty pieces.
      std::vector<size_t> cuts = {0, n};
      int k = static_cast<int>(rng() % 6);
      for (int i = 0; i < k; i++) cuts.push_back(n ? rng() % (n + 1) : 0);
      std::sort(cuts.begin(), cuts.end());
      Blake3Hasher h, hk(key);
      for (size_t i = 0; i + 1 < cuts.size(); i++) {
        h.Update(data.data() + cuts[i], cuts[i + 1] - cuts[i]);
        hk.Update(data.data() + cuts[i], cuts[i + 1] - cuts[i]);
      }
      EXPECT_EQ(h.Finalize(), want);
      EXPECT_EQ(hk.Finalize(), want_keyed);
      uint8_t xof[200];
      h.FinalizeXof(xof, sizeof(xof));
      EXPECT_EQ(Hex(xof, sizeof(xof)), Hex(want_xof, sizeof(want_xof)));
      // Finalize does not reset: the same digest twice.
      EXPECT_EQ(h.Finalize(), want);
      // Reset then one more pass gives the same result.
      h.Reset();
      h.Update(data.data(), n);
      EXPECT_EQ(h.Finalize(), want);
    }
  }
}

TEST(Blake3, FinalizeThenUpdateContinues) {
  const std::vector<uint8_t> data = testing::RandomBytes(5000, 7);
  Blake3Hasher h;
  h.Update(data.data(), 1000);
  EXPECT_EQ(h.Finalize(), Blake3(data.data(), 1000));
  h.Update(data.data() + 1000, 4000);
  EXPECT_EQ(h.Finalize(), Blake3(data.data(), 5000));
}

// Runs `cmd`, returns its stdout; sets *rc to the exit status.
std::string RunCommand(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    *rc = -1;
    return out;
  }
  char buf[4096];
  size_t k;
  while ((k = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, k);
  int st = ::pclose(p);
  *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

TEST(Blake3, MatchesB3sum) {
  const char* kB3sum = "/usr/bin/b3sum";
  if (::access(kB3sum, X_OK) != 0) GTEST_SKIP() << kB3sum << " not found: skipping";
  const uint64_t seed = testing::TestSeed("Blake3.MatchesB3sum");
  const std::string dir = testing::TempDir("b3sum");
  ASSERT_FALSE(dir.empty());
  const std::vector<size_t> sizes = {0, 1, 1023, 1024, 1025, 65536, (size_t{1} << 20) + 7};
  for (size_t i = 0; i < sizes.size(); i++) {
    const size_t n = sizes[i];
    SCOPED_TRACE("size=" + std::to_string(n));
    const std::vector<uint8_t> data = testing::RandomBytes(n, seed + i);
    const std::string path = dir + "/f" + std::to_string(n);
    {
      std::ofstream o(path, std::ios::binary);
      o.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(n));
      ASSERT_TRUE(o.good());
    }
    int rc = 0;
    std::string out = RunCommand(std::string(kB3sum) + " --no-names '" + path + "'", &rc);
    ASSERT_EQ(rc, 0) << out;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    ASSERT_EQ(out.size(), 64u) << out;
    const std::string ours = Blake3(data.data(), n).ToString();
    ASSERT_EQ(ours.rfind("blake3:", 0), 0u) << ours;
    EXPECT_EQ(ours.substr(7), out);
  }
  std::filesystem::remove_all(dir);
}

TEST(Sha, KnownAnswers) {
  const char* abc = "abc";
  Digest d = Sha256(abc, 3);
  EXPECT_EQ(d.algo, DigestAlgo::kSha256);
  EXPECT_EQ(d.ToString(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256(nullptr, 0).ToString(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto m = Md5("", 0);
  EXPECT_EQ(Hex(m.data(), m.size()), "d41d8cd98f00b204e9800998ecf8427e");
  auto m2 = Md5(abc, 3);
  EXPECT_EQ(Hex(m2.data(), m2.size()), "900150983cd24fb0d6963f7d28e17f72");
  // FIPS 180-2 two-block message.
  const std::string two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(Sha256(two.data(), two.size()).ToString(),
            "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha, StreamingIncremental) {
  const uint64_t seed = testing::TestSeed("Sha.StreamingIncremental");
  std::mt19937_64 rng(seed);
  for (size_t n : {size_t{0}, size_t{1}, size_t{55}, size_t{56}, size_t{64}, size_t{1000},
                   size_t{100003}}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    const std::vector<uint8_t> data = testing::RandomBytes(n, rng());
    const Digest want = Sha256(data.data(), n);
    const auto want_md5 = Md5(data.data(), n);
    for (int trial = 0; trial < 4; trial++) {
      StreamingDigest s(StreamingDigest::Kind::kSha256), m(StreamingDigest::Kind::kMd5);
      size_t pos = 0;
      while (pos < n) {
        size_t k = std::min(n - pos, static_cast<size_t>(rng() % 300));
        s.Update(data.data() + pos, k);
        m.Update(data.data() + pos, k);
        pos += k;
      }
      uint8_t out[32], out5[16];
      ASSERT_EQ(s.Finish(out), 32u);
      ASSERT_EQ(m.Finish(out5), 16u);
      EXPECT_EQ(Hex(out, 32), Hex(want.bytes.data(), 32));
      EXPECT_EQ(Hex(out5, 16), Hex(want_md5.data(), 16));
    }
  }
  // One million 'a's (FIPS 180-2), fed in uneven pieces.
  StreamingDigest s(StreamingDigest::Kind::kSha256);
  const std::string a(1000, 'a');
  for (int i = 0; i < 1000; i++) s.Update(a.data(), a.size());
  uint8_t out[32];
  s.Finish(out);
  EXPECT_EQ(Hex(out, 32), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace as
