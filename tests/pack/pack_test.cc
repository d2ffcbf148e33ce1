// Packs and frames: write -> seal -> read back, and every way a pack on disk
// can be wrong (docs/format/pack.md, docs/format/frame.md).
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/bytes.h"
#include "fault_env.h"
#include "hash/blake3.h"
#include "kernels/cpu.h"
#include "pack/pack.h"
#include "test_util.h"

namespace as {
namespace {

namespace fs = std::filesystem;
using as::testing::FaultEnv;
using as::testing::RandomBytes;

uint64_t Seed() {
  static const uint64_t seed = [] {
    const char* env = std::getenv("AS_TEST_SEED");
    uint64_t s = env && *env ? std::strtoull(env, nullptr, 0)
                             : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    std::printf("[pack_tests] seed %llu (replay with AS_TEST_SEED=%llu)\n",
                static_cast<unsigned long long>(s), static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

struct Record {
  std::vector<uint8_t> raw;
  FrameInfo info;
  std::vector<uint8_t> payload;  // as stored
  uint64_t offset = 0;
};

class PackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = as::testing::TempDir("pack");
    ASSERT_FALSE(dir_.empty());
    packs_ = dir_ + "/packs";
    fs::create_directories(packs_);
    k_ = MakeKernelTable(DetectCpu());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // The local pack store over packs_ through `env` (kept for the test).
  PackStore* LocalPacks(Env* env) {
    stores_.push_back(NewLocalPackStore(env, packs_));
    return stores_.back().get();
  }

  Record MakeRecord(size_t n, uint64_t seed, CodecId codec,
                    format::RecordType type = format::RecordType::kChunk) {
    Record r;
    r.raw = RandomBytes(n, seed);
    if (codec != CodecId::kNone) {
      // Compressible: repeat a short pattern.
      for (size_t i = 0; i < n; i++) r.raw[i] = static_cast<uint8_t>("abcabcabd"[i % 9]);
    }
    r.info.type = type;
    r.info.raw_len = static_cast<uint32_t>(n);
    r.info.digest = Blake3(r.raw.data(), r.raw.size());
    if (codec == CodecId::kNone) {
      r.info.codec = CodecId::kNone;
      r.payload = r.raw;
    } else {
      Compressor c(codec, kDefaultZstdLevel);
      r.info.codec = c.Compress(r.raw.data(), r.raw.size(), &r.payload);
      if (r.info.codec == CodecId::kNone) r.payload = r.raw;
    }
    r.info.stored_len = static_cast<uint32_t>(r.payload.size());
    return r;
  }

  // Writes and seals a pack of `recs`; returns the sealed pack.
  SealedPack WritePack(std::vector<Record>* recs, Env* env = Env::Default(), uint32_t domain = 7) {
    auto w = PackWriter::Create(LocalPacks(env), &k_, domain);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    if (!w.ok()) return {};
    for (Record& r : *recs) {
      auto off = (*w)->Add(r.info, r.payload.data());
      EXPECT_TRUE(off.ok()) << off.status().ToString();
      if (off.ok()) r.offset = *off;
    }
    auto sealed = (*w)->Seal();
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    return sealed.ok() ? *sealed : SealedPack{};
  }

  std::vector<Record> SomeRecords(uint64_t seed) {
    std::vector<Record> recs;
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 12; i++) {
      size_t n = rng() % 5000 + (i == 3 ? 0 : 1);
      // Records 1 and 2 must shrink when compressed (asserted below); a few
      // bytes of pattern do not, so they get at least 1 KiB.
      if (i == 1 || i == 2) n += 1024;
      CodecId c = i % 3 == 0 ? CodecId::kNone : (i % 3 == 1 ? CodecId::kZstd : CodecId::kLz4);
      recs.push_back(MakeRecord(n, seed + i, c));
    }
    // One payload large enough to take the direct-write path (>= 256 KiB).
    recs.push_back(MakeRecord(300 << 10, seed + 100, CodecId::kNone));
    recs.push_back(MakeRecord(200, seed + 101, CodecId::kZstd, format::RecordType::kManifest));
    return recs;
  }

  static void FlipByte(const std::string& path, uint64_t off, uint8_t mask) {
    ASSERT_TRUE(as::testing::FlipByte(path, off, mask)) << path;
  }
  static void WriteAt(const std::string& path, uint64_t off, const void* p, size_t n) {
    int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, p, n, static_cast<off_t>(off)), static_cast<ssize_t>(n));
    ::close(fd);
  }

  std::string dir_, packs_;
  std::vector<std::unique_ptr<PackStore>> stores_;
  KernelTable k_;
};

TEST_F(PackTest, WriteSealReadBack) {
  uint64_t seed = Seed();
  auto recs = SomeRecords(seed);
  SealedPack sp = WritePack(&recs);
  ASSERT_EQ(sp.name.size(), 32u);
  EXPECT_EQ(sp.domain, 7u);
  const std::string path = PackPath(packs_, sp.name);
  EXPECT_EQ(path, packs_ + "/" + sp.name.substr(0, 2) + "/" + sp.name + ".pack");
  ASSERT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_EQ(fs::file_size(path), sp.size);
  ASSERT_EQ(sp.entries.size(), recs.size());
  EXPECT_EQ(recs[0].offset, format::kPackHeaderSize);

  auto reader = PackReader::OpenFile(Env::Default(), &k_, path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->size(), sp.size);
  auto footer = (*reader)->ReadFooter();
  ASSERT_TRUE(footer.ok()) << footer.status().ToString();
  EXPECT_EQ(footer->size, sp.size);
  EXPECT_EQ(footer->domain, 7u);
  ASSERT_EQ(footer->entries.size(), recs.size());
  std::vector<uint8_t> buf, raw;
  for (size_t i = 0; i < recs.size(); i++) {
    const FooterEntry& e = footer->entries[i];
    const Record& r = recs[i];
    SCOPED_TRACE(i);
    EXPECT_EQ(e.offset, r.offset);
    EXPECT_EQ(e.offset, sp.entries[i].offset);
    EXPECT_EQ(e.frame_len, r.info.frame_len());
    EXPECT_EQ(e.raw_len, r.info.raw_len);
    EXPECT_EQ(e.type, r.info.type);
    EXPECT_EQ(e.codec, r.info.codec);
    EXPECT_EQ(e.digest, r.info.digest);
    auto info = (*reader)->ReadFrame(e.offset, e.frame_len, &buf);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_GE(buf.size(), e.frame_len);  // the frame is its first frame_len bytes
    EXPECT_EQ(info->digest, r.info.digest);
    EXPECT_EQ(info->raw_len, r.info.raw_len);
    EXPECT_EQ(info->stored_len, r.info.stored_len);
    EXPECT_EQ(info->codec, r.info.codec);
    EXPECT_EQ(info->type, r.info.type);
    EXPECT_EQ(0, std::memcmp(buf.data() + format::kFrameHeaderSize, r.payload.data(),
                             r.payload.size()));
    raw.assign(info->raw_len, 0);
    ASSERT_TRUE(DecodeFramePayload(*info, buf.data() + format::kFrameHeaderSize, raw.data()).ok());
    EXPECT_EQ(raw, r.raw);
    EXPECT_EQ(Blake3(raw.data(), raw.size()), r.info.digest);
  }
  // Compressible records were actually stored compressed.
  EXPECT_EQ(recs[1].info.codec, CodecId::kZstd);
  EXPECT_LT(recs[1].info.stored_len, recs[1].info.raw_len);
  EXPECT_EQ(recs[2].info.codec, CodecId::kLz4);
}

TEST_F(PackTest, EmptyPackSeals) {
  std::vector<Record> none;
  SealedPack sp = WritePack(&none);
  auto reader = PackReader::OpenFile(Env::Default(), &k_, PackPath(packs_, sp.name));
  ASSERT_TRUE(reader.ok());
  auto footer = (*reader)->ReadFooter();
  ASSERT_TRUE(footer.ok()) << footer.status().ToString();
  EXPECT_TRUE(footer->entries.empty());
  EXPECT_EQ(footer->size, format::kPackHeaderSize + format::kPackTrailerSize);
}

TEST_F(PackTest, FooterEntryRoundTrip) {
  FooterEntry e;
  e.offset = 0x123456789aull;
  e.frame_len = 4242;
  e.raw_len = 99999;
  e.type = format::RecordType::kManifest;
  e.codec = CodecId::kLz4;
  e.digest = Blake3("x", 1);
  uint8_t buf[format::kFooterEntrySize];
  EncodeFooterEntry(e, buf);
  auto d = DecodeFooterEntry(buf);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->offset, e.offset);
  EXPECT_EQ(d->frame_len, e.frame_len);
  EXPECT_EQ(d->raw_len, e.raw_len);
  EXPECT_EQ(d->type, e.type);
  EXPECT_EQ(d->codec, e.codec);
  EXPECT_EQ(d->digest, e.digest);
  buf[17] = 9;  // unknown codec
  EXPECT_EQ(DecodeFooterEntry(buf).status().code(), Code::kCorruption);
}

// Every single-bit change anywhere in a frame is caught, and the error names
// the pack file and the frame's offset.
TEST_F(PackTest, AnyFlippedByteOfAFrameIsCorruption) {
  uint64_t seed = Seed();
  std::vector<Record> recs;
  recs.push_back(MakeRecord(150, seed, CodecId::kNone));
  recs.push_back(MakeRecord(300, seed + 1, CodecId::kZstd));
  recs.push_back(MakeRecord(90, seed + 2, CodecId::kNone));
  SealedPack sp = WritePack(&recs);
  const std::string path = PackPath(packs_, sp.name);
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> buf;
  for (size_t fi = 0; fi < recs.size(); fi++) {
    const Record& r = recs[fi];
    const std::string want_where = "pack " + path + " offset " + std::to_string(r.offset);
    for (uint64_t i = 0; i < r.info.frame_len(); i++) {
      // Low bit always (version 1 -> 0 is corruption, not "newer"); plus a
      // random other bit pattern where that cannot raise the version.
      for (uint8_t mask : {uint8_t{1}, static_cast<uint8_t>(rng() | 1)}) {
        if (i == 4 && mask != 1) continue;
        FlipByte(path, r.offset + i, mask);
        auto reader = PackReader::OpenFile(Env::Default(), &k_, path);
        ASSERT_TRUE(reader.ok());
        auto info = (*reader)->ReadFrame(r.offset, r.info.frame_len(), &buf);
        ASSERT_FALSE(info.ok()) << "frame " << fi << " byte " << i << " mask " << int(mask);
        EXPECT_EQ(info.status().code(), Code::kCorruption)
            << "byte " << i << ": " << info.status().ToString();
        EXPECT_NE(info.status().message().find(want_where), std::string::npos)
            << info.status().message();
        FlipByte(path, r.offset + i, mask);  // restore
      }
    }
    // Restored: reads fine again.
    auto reader = PackReader::OpenFile(Env::Default(), &k_, path);
    ASSERT_TRUE(reader.ok());
    EXPECT_TRUE((*reader)->ReadFrame(r.offset, r.info.frame_len(), &buf).ok());
  }
  // The footer is covered by its own CRC.
  auto reader = PackReader::OpenFile(Env::Default(), &k_, path);
  ASSERT_TRUE(reader.ok());
  const uint64_t footer_off = sp.size - format::kPackTrailerSize -
                              recs.size() * format::kFooterEntrySize;
  FlipByte(path, footer_off + 25, 0x10);
  auto footer = (*reader)->ReadFooter();
  ASSERT_FALSE(footer.ok());
  EXPECT_EQ(footer.status().code(), Code::kCorruption);
  EXPECT_NE(footer.status().message().find(path), std::string::npos);
}

TEST_F(PackTest, FrameReadPastEndOrWithWrongLength) {
  std::vector<Record> recs{MakeRecord(100, Seed(), CodecId::kNone)};
  SealedPack sp = WritePack(&recs);
  auto reader = PackReader::OpenFile(Env::Default(), &k_, PackPath(packs_, sp.name));
  ASSERT_TRUE(reader.ok());
  std::vector<uint8_t> buf;
  auto past = (*reader)->ReadFrame(sp.size - 10, 100, &buf);
  EXPECT_EQ(past.status().code(), Code::kCorruption);
  EXPECT_NE(past.status().message().find("past the end"), std::string::npos);
  auto wrong = (*reader)->ReadFrame(recs[0].offset, recs[0].info.frame_len() - 1, &buf);
  EXPECT_EQ(wrong.status().code(), Code::kCorruption);
}

TEST_F(PackTest, TruncatedPackFailsReadFooterClearly) {
  auto recs = SomeRecords(Seed());
  SealedPack sp = WritePack(&recs);
  const std::string path = PackPath(packs_, sp.name);
  const std::string copy = dir_ + "/copy.pack";
  for (uint64_t cut : {uint64_t{1}, uint64_t{4}, uint64_t{format::kPackTrailerSize},
                       uint64_t{format::kPackTrailerSize + format::kFooterEntrySize},
                       sp.size / 2, sp.size - 20, sp.size - 1}) {
    SCOPED_TRACE(cut);
    fs::copy_file(path, copy, fs::copy_options::overwrite_existing);
    fs::resize_file(copy, sp.size - cut);
    auto reader = PackReader::OpenFile(Env::Default(), &k_, copy);
    ASSERT_TRUE(reader.ok());
    auto footer = (*reader)->ReadFooter();
    ASSERT_FALSE(footer.ok());
    EXPECT_EQ(footer.status().code(), Code::kCorruption);
    const std::string& m = footer.status().message();
    EXPECT_NE(m.find(copy), std::string::npos) << m;
    EXPECT_TRUE(m.find("truncated") != std::string::npos ||
                m.find("too short") != std::string::npos)
        << m;
  }
  // A pack with bytes appended after the trailer is not accepted either.
  fs::copy_file(path, copy, fs::copy_options::overwrite_existing);
  fs::resize_file(copy, sp.size + 7);
  auto reader = PackReader::OpenFile(Env::Default(), &k_, copy);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->ReadFooter().status().code(), Code::kCorruption);
}

TEST_F(PackTest, NotAPack) {
  const std::string p = dir_ + "/junk.pack";
  auto junk = RandomBytes(1000, Seed());
  {
    auto f = Env::Default()->NewWritableFile(p);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(junk.data(), junk.size()).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  auto reader = PackReader::OpenFile(Env::Default(), &k_, p);
  ASSERT_TRUE(reader.ok());
  auto footer = (*reader)->ReadFooter();
  EXPECT_EQ(footer.status().code(), Code::kCorruption);
  EXPECT_NE(footer.status().message().find("not a pack"), std::string::npos);
  EXPECT_EQ(PackReader::OpenFile(Env::Default(), &k_, dir_ + "/nope.pack").status().code(),
            Code::kNotFound);
}

TEST_F(PackTest, AbandonAndDestructorRemoveTmp) {
  Record r = MakeRecord(1000, Seed(), CodecId::kNone);
  std::string tmp;
  {
    auto w = PackWriter::Create(LocalPacks(Env::Default()), &k_, 1);
    ASSERT_TRUE(w.ok());
    tmp = PackPath(packs_, (*w)->name()) + ".tmp";
    ASSERT_TRUE((*w)->Add(r.info, r.payload.data()).ok());
    EXPECT_TRUE(fs::exists(tmp));
    (*w)->Abandon();
    EXPECT_FALSE(fs::exists(tmp));
    EXPECT_FALSE(fs::exists(PackPath(packs_, (*w)->name())));
  }
  {
    auto w = PackWriter::Create(LocalPacks(Env::Default()), &k_, 1);
    ASSERT_TRUE(w.ok());
    tmp = PackPath(packs_, (*w)->name()) + ".tmp";
    ASSERT_TRUE((*w)->Add(r.info, r.payload.data()).ok());
    EXPECT_TRUE(fs::exists(tmp));
  }  // destroyed unsealed
  EXPECT_FALSE(fs::exists(tmp));
  // A sealed pack survives its writer.
  std::string final_path;
  {
    auto w = PackWriter::Create(LocalPacks(Env::Default()), &k_, 1);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Add(r.info, r.payload.data()).ok());
    auto sealed = (*w)->Seal();
    ASSERT_TRUE(sealed.ok());
    final_path = PackPath(packs_, sealed->name);
    (*w)->Abandon();  // no-op after Seal
  }
  EXPECT_TRUE(fs::exists(final_path));
  EXPECT_FALSE(fs::exists(final_path + ".tmp"));
}

// Writer errors are sticky and leave no file behind. Where the fault
// surfaces (Create, an Add, or Seal) depends on the writer's buffering; once
// something failed, nothing after it succeeds.
TEST_F(PackTest, WriteFailuresAreStickyAndCleanedUp) {
  const uint64_t seed = Seed();
  auto files_with = [&](const std::string& suffix) {
    int n = 0;
    for (const auto& e : fs::recursive_directory_iterator(packs_)) {
      const std::string p = e.path().string();
      if (p.size() >= suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) n++;
    }
    return n;
  };
  for (FaultEnv::Op op : {FaultEnv::Op::kAppend, FaultEnv::Op::kSync, FaultEnv::Op::kSyncDir,
                          FaultEnv::Op::kRename}) {
    for (int nth : {1, 2, 3}) {
      if (nth > 1 && op != FaultEnv::Op::kAppend) continue;
      SCOPED_TRACE(std::to_string(static_cast<int>(op)) + " #" + std::to_string(nth));
      fs::remove_all(packs_);
      fs::create_directories(packs_);
      FaultEnv env;
      // Only calls on the pack itself and its packs/<hh>/ directory (not the
      // fsync of packs/ when Create makes a new subdirectory).
      env.FailAfter(op, nth, "/packs/");
      std::vector<Record> recs{MakeRecord(500, seed, CodecId::kNone),
                               MakeRecord(300 << 10, seed + 1, CodecId::kNone),
                               MakeRecord(700, seed + 2, CodecId::kNone),
                               MakeRecord(5 << 20, seed + 3, CodecId::kNone)};
      Status err;
      {
        auto w = PackWriter::Create(LocalPacks(&env), &k_, 1);
        if (!w.ok()) {
          err = w.status();
        } else {
          for (const Record& r : recs) {
            auto off = (*w)->Add(r.info, r.payload.data());
            if (off.ok()) {
              EXPECT_TRUE(err.ok()) << "Add succeeded after " << err.ToString();
            } else if (err.ok()) {
              err = off.status();
            } else {
              EXPECT_EQ(off.status().message(), err.message());  // sticky
            }
          }
          auto sealed = (*w)->Seal();
          ASSERT_FALSE(sealed.ok()) << "Seal succeeded despite the injected fault";
          if (err.ok()) err = sealed.status();
          EXPECT_NE(sealed.status().message().find(err.message()), std::string::npos)
              << sealed.status().ToString();
          EXPECT_FALSE((*w)->Seal().ok());  // sealing again does not pretend to succeed
          EXPECT_FALSE((*w)->Add(recs[0].info, recs[0].payload.data()).ok());
        }
      }
      ASSERT_FALSE(err.ok());
      EXPECT_EQ(err.code(), Code::kIOError) << err.ToString();
      EXPECT_NE(err.message().find("injected"), std::string::npos) << err.ToString();
      EXPECT_EQ(env.faults_fired(), 1);
      EXPECT_EQ(files_with(".tmp"), 0);
      // A failed fsync of the directory comes after the rename: the sealed
      // file may stay (gc removes unreferenced packs); otherwise none.
      if (op != FaultEnv::Op::kSyncDir) {
        EXPECT_EQ(files_with(".pack"), 0);
      }
    }
  }
}

// A sealed pack survives a power cut: its data, its name and the new
// packs/<hh>/ directory it lives in are all durable when Seal() returns.
TEST_F(PackTest, SealedPackSurvivesCrash) {
  FaultEnv env;
  std::vector<Record> recs = SomeRecords(Seed());
  SealedPack sp = WritePack(&recs, &env);
  // And an unsealed one in flight at the same time leaves nothing behind.
  auto w = PackWriter::Create(LocalPacks(&env), &k_, 1);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Add(recs[0].info, recs[0].payload.data()).ok());
  const std::string tmp = PackPath(packs_, (*w)->name()) + ".tmp";
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  const std::string path = PackPath(packs_, sp.name);
  ASSERT_TRUE(fs::exists(path)) << "sealed pack lost by the crash";
  EXPECT_EQ(fs::file_size(path), sp.size);
  EXPECT_FALSE(fs::exists(tmp));
  auto reader = PackReader::OpenFile(Env::Default(), &k_, path);
  ASSERT_TRUE(reader.ok());
  auto footer = (*reader)->ReadFooter();
  ASSERT_TRUE(footer.ok()) << footer.status().ToString();
  EXPECT_EQ(footer->entries.size(), recs.size());
  (*w)->Abandon();
}

// A frame or pack from a newer format is Unsupported, not Corruption.
TEST_F(PackTest, NewerFrameVersionIsUnsupported) {
  Record r = MakeRecord(64, Seed(), CodecId::kNone);
  std::vector<uint8_t> frame(r.info.frame_len());
  EncodeFrameHeader(r.info, frame.data());
  std::memcpy(frame.data() + format::kFrameHeaderSize, r.payload.data(), r.payload.size());
  auto seal_crc = [&] {
    uint32_t crc = k_.crc32c(0, frame.data(), frame.size() - 4);
    PutU32(frame.data() + frame.size() - 4, crc);
  };
  seal_crc();
  ASSERT_TRUE(ParseFrame(k_, frame.data(), frame.size()).ok());
  frame[4] = 2;
  seal_crc();  // a valid v2 frame: the version alone decides
  auto parsed = ParseFrame(k_, frame.data(), frame.size());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), Code::kUnsupported) << parsed.status().ToString();
  EXPECT_NE(parsed.status().message().find("version 2"), std::string::npos);
  EXPECT_EQ(ParseFrameHeader(frame.data()).status().code(), Code::kUnsupported);

  // The same through a pack on disk: the error names the pack and offset.
  std::vector<Record> recs{r};
  SealedPack sp = WritePack(&recs);
  const std::string path = PackPath(packs_, sp.name);
  WriteAt(path, recs[0].offset, frame.data(), frame.size());
  auto reader = PackReader::OpenFile(Env::Default(), &k_, path);
  ASSERT_TRUE(reader.ok());
  std::vector<uint8_t> buf;
  auto info = (*reader)->ReadFrame(recs[0].offset, r.info.frame_len(), &buf);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), Code::kUnsupported);
  EXPECT_NE(info.status().message().find(path), std::string::npos);
  EXPECT_NE(info.status().message().find("offset " + std::to_string(recs[0].offset)),
            std::string::npos);

  // A pack header from version 2.
  uint8_t v2[4];
  PutU32(v2, 2);
  WriteAt(path, 4, v2, 4);
  auto footer = (*reader)->ReadFooter();
  EXPECT_EQ(footer.status().code(), Code::kUnsupported) << footer.status().ToString();
}

TEST_F(PackTest, NonZeroReservedOrUnknownIdsAreCorruption) {
  Record r = MakeRecord(64, Seed(), CodecId::kNone);
  std::vector<uint8_t> frame(r.info.frame_len());
  EncodeFrameHeader(r.info, frame.data());
  std::memcpy(frame.data() + format::kFrameHeaderSize, r.payload.data(), r.payload.size());
  for (size_t at : {format::kFrameOffReserved, format::kFrameHeaderSize - 1,
                    format::kFrameOffType, format::kFrameOffCodec, format::kFrameOffCipher,
                    format::kFrameOffDigestAlgo}) {
    SCOPED_TRACE(at);
    std::vector<uint8_t> f = frame;
    f[at] = 0x77;
    PutU32(f.data() + f.size() - 4, k_.crc32c(0, f.data(), f.size() - 4));
    EXPECT_EQ(ParseFrame(k_, f.data(), f.size()).status().code(), Code::kCorruption);
  }
}

}  // namespace
}  // namespace as
