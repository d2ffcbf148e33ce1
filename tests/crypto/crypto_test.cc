// AES-256-GCM sealing, the master key file, and sealed frames: what
// encryption at rest (docs/format/encryption.md) stands on.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/master_key.h"
#include "kernels/cpu.h"
#include "kernels/kernels.h"
#include "pack/frame.h"
#include "test_util.h"

namespace as {
namespace {

using Bytes = std::vector<uint8_t>;

crypto::Key KeyOf(uint8_t fill) {
  uint8_t b[crypto::kKeySize];
  std::memset(b, fill, sizeof b);
  return crypto::Key(b);
}

TEST(Aead, SealOpenRoundTripAndEveryEditFails) {
  const Bytes plain = as::testing::RandomBytes(70000, 7);
  const crypto::Key k = KeyOf(1);
  Bytes sealed(plain.size() + crypto::kSealOverhead), out(plain.size());
  ASSERT_TRUE(crypto::Seal(k, "aad", plain.data(), plain.size(), sealed.data()).ok());
  ASSERT_TRUE(crypto::Open(k, "aad", sealed.data(), sealed.size(), out.data()).ok());
  EXPECT_EQ(out, plain);
  // The ciphertext shows no 16-byte window of the plaintext.
  std::string s(sealed.begin(), sealed.end());
  EXPECT_EQ(s.find(std::string(plain.begin() + 1000, plain.begin() + 1016)), std::string::npos);
  // A flipped bit in the nonce, the ciphertext or the tag; another aad; another key.
  for (size_t at : {size_t{0}, size_t{11}, size_t{12}, size_t{5000}, sealed.size() - 1}) {
    Bytes bad = sealed;
    bad[at] ^= 0x10;
    EXPECT_EQ(crypto::Open(k, "aad", bad.data(), bad.size(), out.data()).code(),
              Code::kCorruption)
        << at;
    EXPECT_EQ(out, Bytes(plain.size(), 0)) << "what failed to authenticate is wiped";
  }
  EXPECT_EQ(crypto::Open(k, "aae", sealed.data(), sealed.size(), out.data()).code(),
            Code::kCorruption);
  EXPECT_EQ(crypto::Open(KeyOf(2), "aad", sealed.data(), sealed.size(), out.data()).code(),
            Code::kCorruption);
  EXPECT_EQ(crypto::Open(k, "aad", sealed.data(), 27, out.data()).code(), Code::kCorruption);
}

TEST(Aead, NoncesAreFreshAndKeysCanAlternateOnOneThread) {
  const Bytes plain(100, 'x');
  Bytes a(plain.size() + crypto::kSealOverhead), b(a.size()), out(plain.size());
  // The per-thread context keeps its key between calls: alternating keys
  // must re-key it each time.
  for (int i = 0; i < 4; i++) {
    const crypto::Key k = KeyOf(static_cast<uint8_t>(i % 2 + 1));
    ASSERT_TRUE(crypto::Seal(k, "", plain.data(), plain.size(), a.data()).ok());
    ASSERT_TRUE(crypto::Seal(k, "", plain.data(), plain.size(), b.data()).ok());
    EXPECT_NE(Bytes(a.begin(), a.begin() + 12), Bytes(b.begin(), b.begin() + 12));
    EXPECT_NE(a, b);
    ASSERT_TRUE(crypto::Open(k, "", a.data(), a.size(), out.data()).ok()) << i;
    EXPECT_EQ(out, plain);
    EXPECT_FALSE(crypto::Open(KeyOf(static_cast<uint8_t>(3 - (i % 2 + 1))), "", b.data(),
                              b.size(), out.data())
                     .ok());
  }
}

TEST(MasterKeyFile, CreateOpenWrapAndRefusals) {
  const std::string dir = as::testing::TempDir("masterkey");
  const std::string path = dir + "/master.key";
  ASSERT_TRUE(crypto::CreateMasterKeyFile(path).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  EXPECT_EQ(crypto::CreateMasterKeyFile(path).code(), Code::kAlreadyExists);

  auto mk = crypto::OpenMasterKeyFile(path);
  ASSERT_TRUE(mk.ok()) << mk.status().ToString();
  const crypto::Key k = KeyOf(9);
  auto w = (*mk)->Wrap(k, "use");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->size(), 1 + 32 + crypto::kSealOverhead);
  auto back = (*mk)->Unwrap(*w, "use");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == k);
  // Another use, another master key: refused, naming the file.
  auto other_use = (*mk)->Unwrap(*w, "other");
  EXPECT_EQ(other_use.status().code(), Code::kInvalidArgument);
  EXPECT_NE(other_use.status().message().find(path), std::string::npos);
  const std::string path2 = dir + "/other.key";
  ASSERT_TRUE(crypto::CreateMasterKeyFile(path2).ok());
  auto mk2 = crypto::OpenMasterKeyFile(path2);
  ASSERT_TRUE(mk2.ok());
  EXPECT_EQ((*mk2)->Unwrap(*w, "use").status().code(), Code::kInvalidArgument);

  // Readable by others, the wrong size, missing: each refused naming the file.
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto loose = crypto::OpenMasterKeyFile(path);
  EXPECT_EQ(loose.status().code(), Code::kInvalidArgument);
  EXPECT_NE(loose.status().message().find("0644"), std::string::npos) << loose.status().ToString();
  EXPECT_NE(loose.status().message().find(path), std::string::npos);
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(crypto::OpenMasterKeyFile(path).ok()) << "0400 is stricter than 0600";
  const std::string short_key = dir + "/short.key";
  { std::ofstream(short_key) << "too short"; }
  ASSERT_EQ(::chmod(short_key.c_str(), 0600), 0);
  auto bad_size = crypto::OpenMasterKeyFile(short_key);
  EXPECT_EQ(bad_size.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad_size.status().message().find("32"), std::string::npos);
  EXPECT_EQ(crypto::OpenMasterKeyFile(dir + "/missing.key").status().code(), Code::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(SealedFrame, HeaderIsAuthenticatedAndCrcStillCoversTheFrame) {
  const KernelTable kt = MakeKernelTable(DetectCpu());
  const Bytes plain = as::testing::RandomBytes(5000, 3);
  FrameInfo info;
  info.type = format::RecordType::kChunk;
  info.codec = CodecId::kNone;
  info.raw_len = static_cast<uint32_t>(plain.size());
  info.digest.algo = DigestAlgo::kBlake3Keyed;
  info.digest.bytes[0] = 0xab;
  Bytes sealed;
  const crypto::Key k = KeyOf(5);
  ASSERT_TRUE(SealFramePayload(k, 42, &info, plain.data(), plain.size(), &sealed).ok());
  EXPECT_EQ(info.cipher, format::CipherId::kAes256Gcm);
  EXPECT_EQ(info.key_id, 42u);
  EXPECT_EQ(info.stored_len, plain.size() + crypto::kSealOverhead);
  // A frame as written: header, payload, CRC. ParseFrame accepts it.
  Bytes frame(format::kFrameHeaderSize);
  EncodeFrameHeader(info, frame.data());
  frame.insert(frame.end(), sealed.begin(), sealed.end());
  uint32_t crc = FrameCrc(kt, info, sealed.data());
  for (int i = 0; i < 4; i++) frame.push_back(static_cast<uint8_t>(crc >> (8 * i)));
  auto parsed = ParseFrame(kt, frame.data(), frame.size());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  Bytes out;
  auto opened = OpenFramePayload(k, *parsed, frame.data() + format::kFrameHeaderSize, &out);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->cipher, format::CipherId::kNone);
  EXPECT_EQ(opened->stored_len, plain.size());
  EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<ptrdiff_t>(plain.size())), plain);
  Bytes raw(plain.size());
  ASSERT_TRUE(DecodeFramePayload(*opened, out.data(), raw.data()).ok());
  EXPECT_EQ(raw, plain);
  // A sealed frame is never decoded unopened.
  EXPECT_FALSE(DecodeFramePayload(*parsed, frame.data() + format::kFrameHeaderSize, raw.data()).ok());
  // Header fields are the aad: another digest, key id or raw length fails
  // to open even where the CRC would have been recomputed to match.
  for (int field = 0; field < 3; field++) {
    FrameInfo edited = *parsed;
    if (field == 0) edited.digest.bytes[1] ^= 1;
    if (field == 1) edited.key_id = 43;
    if (field == 2) edited.raw_len += 1;
    EXPECT_EQ(OpenFramePayload(k, edited, frame.data() + format::kFrameHeaderSize, &out)
                  .status()
                  .code(),
              Code::kCorruption)
        << field;
  }
  EXPECT_FALSE(OpenFramePayload(KeyOf(6), *parsed, frame.data() + format::kFrameHeaderSize, &out)
                   .ok());
}

}  // namespace
}  // namespace as
