// Compressor/Decompress round trips for every codec, the store-raw decision,
// and rejection of corrupted payloads and wrong lengths.
#include "codec/codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "seed.h"
#include "test_util.h"

namespace as {
namespace {

// gmock is not linked: a substring check that prints both strings on failure.
::testing::AssertionResult HasSubstr(const std::string& s, const std::string& sub) {
  if (s.find(sub) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << s << "' does not contain '" << sub << "'";
}

struct Config {
  CodecId codec;
  int level;
};

std::string Name(const Config& c) {
  return std::string(CodecName(c.codec)) + "/" + std::to_string(c.level);
}

const Config kConfigs[] = {{CodecId::kZstd, -5}, {CodecId::kZstd, 1}, {CodecId::kZstd, 3},
                           {CodecId::kLz4, 0},   {CodecId::kNone, 0}};

// Text-like data that every codec compresses well.
std::vector<uint8_t> Compressible(size_t n, uint64_t seed) {
  static const char* kWords[] = {"artifact ", "store ", "chunk ", "pack ", "frame ",
                                 "digest ", "blake3 ", "zstd ", "\n", "lz4 "};
  std::vector<uint8_t> out;
  out.reserve(n);
  uint64_t x = seed | 1;
  while (out.size() < n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const char* w = kWords[x % 10];
    while (*w && out.size() < n) out.push_back(static_cast<uint8_t>(*w++));
  }
  return out;
}

// Compresses, checks the store-raw contract, decodes what would be stored and
// returns the codec used.
CodecId RoundTrip(const Config& c, const std::vector<uint8_t>& in) {
  Compressor comp(c.codec, c.level);
  std::vector<uint8_t> out = {0xde, 0xad};  // must be replaced, not appended to
  CodecId used = comp.Compress(in.data(), in.size(), &out);
  EXPECT_TRUE(used == c.codec || used == CodecId::kNone) << CodecName(used);
  const uint8_t* stored = in.data();
  size_t stored_len = in.size();
  if (used == CodecId::kNone) {
    EXPECT_TRUE(out.empty()) << "kNone must leave out empty, has " << out.size();
  } else {
    // Compression is only kept when it saves at least 1/32.
    EXPECT_LT(out.size(), in.size() - in.size() / 32);
    stored = out.data();
    stored_len = out.size();
  }
  std::vector<uint8_t> back(in.size() + 1, 0xAA);  // one canary byte past the end
  Status s = Decompress(used, stored, stored_len, back.data(), in.size());
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(back[in.size()], 0xAA) << "Decompress wrote past raw_len";
  back.resize(in.size());
  EXPECT_TRUE(back == in) << "round trip differs";
  return used;
}

// Its own test: an empty std::vector's data() is nullptr, and the kNone path
// of Decompress passes it to memcpy (UBSan aborts the process there).
TEST(Codec, RoundTripEmpty) {
  for (const Config& c : kConfigs) {
    SCOPED_TRACE(Name(c));
    // Empty input can never save 1/32: stored raw.
    EXPECT_EQ(RoundTrip(c, {}), CodecId::kNone);
  }
}

TEST(Codec, RoundTripAllSizes) {
  const uint64_t seed = testing::TestSeed("Codec.RoundTripAllSizes");
  for (const Config& c : kConfigs) {
    SCOPED_TRACE(Name(c));
    // One byte can never save 1/32: stored raw.
    EXPECT_EQ(RoundTrip(c, {0x42}), CodecId::kNone);
    // Compressible text: the codec is kept (except for none).
    EXPECT_EQ(RoundTrip(c, Compressible(64 << 10, seed)), c.codec);
    EXPECT_EQ(RoundTrip(c, Compressible(256 << 10, seed + 1)), c.codec);
    EXPECT_EQ(RoundTrip(c, std::vector<uint8_t>(256 << 10, 0)), c.codec);
    // Random: incompressible, stored raw.
    EXPECT_EQ(RoundTrip(c, testing::RandomBytes(64 << 10, seed + 2)), CodecId::kNone);
    EXPECT_EQ(RoundTrip(c, testing::RandomBytes(256 << 10, seed + 3)), CodecId::kNone);
    // Mixed 256 KiB: half random, half text.
    std::vector<uint8_t> mixed = testing::RandomBytes(128 << 10, seed + 4);
    std::vector<uint8_t> text = Compressible(128 << 10, seed + 5);
    mixed.insert(mixed.end(), text.begin(), text.end());
    EXPECT_EQ(RoundTrip(c, mixed), c.codec);
  }
}

TEST(Codec, CompressorIsReusable) {
  // One Compressor (one zstd context) for many inputs, including after a
  // give-up on incompressible data.
  const uint64_t seed = testing::TestSeed("Codec.CompressorIsReusable");
  for (CodecId id : {CodecId::kZstd, CodecId::kLz4}) {
    SCOPED_TRACE(CodecName(id));
    Compressor comp(id, 3);
    // Small and large (>= 32 KiB) inputs, alternating incompressible and
    // compressible: a compressible input right after one that did not
    // compress must still be compressed.
    for (int i = 0; i < 12; i++) {
      const size_t n = (i / 2) % 2 ? 40000 + i : 10000 + i;
      std::vector<uint8_t> in = i % 2 ? testing::RandomBytes(n, seed + i)
                                      : Compressible(n, seed + i);
      std::vector<uint8_t> out;
      CodecId used = comp.Compress(in.data(), in.size(), &out);
      EXPECT_EQ(used, i % 2 ? CodecId::kNone : id) << i;
      if (used == CodecId::kNone) continue;
      std::vector<uint8_t> back(in.size());
      ASSERT_TRUE(Decompress(used, out.data(), out.size(), back.data(), back.size()).ok());
      EXPECT_TRUE(back == in) << i;
    }
  }
}

TEST(Codec, ACompressorAfterAnotherStartsFresh) {
  // Compressors reuse the zstd contexts and buffers of finished ones: what
  // one compresses must not depend on what an earlier one was set to or
  // learnt (its level, its codec, that its last input did not compress).
  const uint64_t seed = testing::TestSeed("Codec.ACompressorAfterAnotherStartsFresh");
  const std::vector<uint8_t> text = Compressible(64 << 10, seed);
  auto compress = [&](int level) {
    Compressor c(CodecId::kZstd, level);
    std::vector<uint8_t> out;
    EXPECT_EQ(c.Compress(text.data(), text.size(), &out), CodecId::kZstd);
    return out;
  };
  const std::vector<uint8_t> level1 = compress(1);
  const std::vector<uint8_t> level19 = compress(19);
  EXPECT_NE(level1, level19) << "levels 1 and 19 should differ on 64 KiB of text";
  EXPECT_EQ(compress(1), level1) << "level 1 after a level-19 compressor";
  {
    Compressor lz4(CodecId::kLz4, 0);
    std::vector<uint8_t> out;
    EXPECT_EQ(lz4.Compress(text.data(), text.size(), &out), CodecId::kLz4);
  }
  EXPECT_EQ(compress(1), level1) << "level 1 after an lz4 compressor";

  // 64 KiB of zeros with 8 KiB of random bytes in the middle: the 8 KiB
  // sample tried after a failure does not compress, the whole does.
  std::vector<uint8_t> holed(64 << 10, 0);
  const std::vector<uint8_t> noise = testing::RandomBytes(8 << 10, seed + 1);
  std::copy(noise.begin(), noise.end(), holed.begin() + (28 << 10));
  const std::vector<uint8_t> random = testing::RandomBytes(64 << 10, seed + 2);
  std::vector<uint8_t> out;
  {
    Compressor c(CodecId::kZstd, 1);
    EXPECT_EQ(c.Compress(random.data(), random.size(), &out), CodecId::kNone);
    EXPECT_EQ(c.Compress(holed.data(), holed.size(), &out), CodecId::kNone)
        << "the same compressor samples after a failure";
  }
  {
    // A large input grows the output buffer past what is kept idle.
    const std::vector<uint8_t> big = Compressible(3 << 20, seed + 3);
    Compressor c(CodecId::kZstd, 1);
    ASSERT_EQ(c.Compress(big.data(), big.size(), &out), CodecId::kZstd);
    std::vector<uint8_t> back(big.size());
    ASSERT_TRUE(Decompress(CodecId::kZstd, out.data(), out.size(), back.data(), back.size()).ok());
    EXPECT_EQ(back, big);
  }
  Compressor fresh(CodecId::kZstd, 1);
  ASSERT_EQ(fresh.Compress(holed.data(), holed.size(), &out), CodecId::kZstd)
      << "a new compressor must not inherit the failure";
  std::vector<uint8_t> back(holed.size());
  ASSERT_TRUE(Decompress(CodecId::kZstd, out.data(), out.size(), back.data(), back.size()).ok());
  EXPECT_EQ(back, holed);
}

std::vector<uint8_t> CompressOrDie(CodecId id, const std::vector<uint8_t>& in) {
  Compressor comp(id, 3);
  std::vector<uint8_t> out;
  EXPECT_EQ(comp.Compress(in.data(), in.size(), &out), id);
  return out;
}

TEST(Codec, DecompressRejectsCorruptPayload) {
  const std::vector<uint8_t> in = Compressible(64 << 10, 99);
  for (CodecId id : {CodecId::kZstd, CodecId::kLz4}) {
    SCOPED_TRACE(CodecName(id));
    const std::vector<uint8_t> good = CompressOrDie(id, in);
    ASSERT_GT(good.size(), 16u);
    std::vector<uint8_t> dst(in.size());

    // Truncated payload.
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(good.size() / 2));
    Status s = Decompress(id, cut.data(), cut.size(), dst.data(), dst.size());
    EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
    EXPECT_TRUE(HasSubstr(s.message(), CodecName(id)));

    // Random garbage of the same length (fixed seed: deterministic).
    std::vector<uint8_t> junk = testing::RandomBytes(good.size(), 12345);
    s = Decompress(id, junk.data(), junk.size(), dst.data(), dst.size());
    EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
    EXPECT_TRUE(HasSubstr(s.message(), CodecName(id)));

    // Empty payload for a non-empty raw length.
    s = Decompress(id, good.data(), 0, dst.data(), dst.size());
    EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
    EXPECT_TRUE(HasSubstr(s.message(), CodecName(id)));
  }
  // zstd: a broken magic number.
  std::vector<uint8_t> z = CompressOrDie(CodecId::kZstd, in);
  z[0] ^= 0xff;
  std::vector<uint8_t> dst(in.size());
  Status s = Decompress(CodecId::kZstd, z.data(), z.size(), dst.data(), dst.size());
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_TRUE(HasSubstr(s.message(), "zstd"));
}

TEST(Codec, DecompressRejectsWrongRawLen) {
  const std::vector<uint8_t> in = Compressible(64 << 10, 7);
  for (CodecId id : {CodecId::kZstd, CodecId::kLz4}) {
    SCOPED_TRACE(CodecName(id));
    const std::vector<uint8_t> good = CompressOrDie(id, in);
    // Too large a raw_len: decodes fully but to fewer bytes than claimed.
    std::vector<uint8_t> big(in.size() + 1);
    Status s = Decompress(id, good.data(), good.size(), big.data(), big.size());
    EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
    EXPECT_TRUE(HasSubstr(s.message(), CodecName(id)));
    // Too small: must fail without writing past raw_len.
    std::vector<uint8_t> small(in.size(), 0xAA);
    const size_t raw_len = in.size() - 100;
    s = Decompress(id, good.data(), good.size(), small.data(), raw_len);
    EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
    EXPECT_TRUE(HasSubstr(s.message(), CodecName(id)));
    for (size_t i = raw_len; i < small.size(); i++) {
      ASSERT_EQ(small[i], 0xAA) << "wrote past raw_len at " << i;
    }
  }
  // none: the stored length must equal raw_len; the message names the codec.
  std::vector<uint8_t> dst(in.size() + 1);
  Status s = Decompress(CodecId::kNone, in.data(), in.size(), dst.data(), in.size() + 1);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_TRUE(HasSubstr(s.message(), "none"));
  EXPECT_TRUE(HasSubstr(s.message(), std::to_string(in.size())));
}

TEST(Codec, DecompressUnknownCodec) {
  uint8_t src[4] = {1, 2, 3, 4}, dst[4];
  Status s = Decompress(static_cast<CodecId>(9), src, 4, dst, 4);
  EXPECT_EQ(s.code(), Code::kUnsupported) << s.ToString();
  EXPECT_TRUE(HasSubstr(s.message(), "9"));
}

TEST(Codec, NamesAndParse) {
  EXPECT_STREQ(CodecName(CodecId::kNone), "none");
  EXPECT_STREQ(CodecName(CodecId::kZstd), "zstd");
  EXPECT_STREQ(CodecName(CodecId::kLz4), "lz4");
  EXPECT_STREQ(CodecName(static_cast<CodecId>(77)), "unknown");
  for (CodecId id : {CodecId::kNone, CodecId::kZstd, CodecId::kLz4}) {
    auto r = ParseCodec(CodecName(id));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, id);
  }
  for (const char* bad : {"gzip", "", "ZSTD", "zstd ", "lz4hc", "None"}) {
    auto r = ParseCodec(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_TRUE(HasSubstr(r.status().message(), "'" + std::string(bad) + "'"));
  }
  // Stable ids: they are recorded in frame headers.
  EXPECT_EQ(static_cast<int>(CodecId::kNone), 0);
  EXPECT_EQ(static_cast<int>(CodecId::kZstd), 1);
  EXPECT_EQ(static_cast<int>(CodecId::kLz4), 2);
}

}  // namespace
}  // namespace as
