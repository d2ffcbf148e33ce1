// base: Digest text/binary forms, hex, Status/Result, and the POSIX Env
// (including the O_DIRECT double-buffered writer of env_direct.cc).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/digest.h"
#include "base/env.h"
#include "base/status.h"
#include "seed.h"
#include "test_util.h"

namespace as {
namespace {

// gmock is not linked: a substring check that prints both strings on failure.
::testing::AssertionResult HasSubstr(const std::string& s, const std::string& sub) {
  if (s.find(sub) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << s << "' does not contain '" << sub << "'";
}

const std::string kHex64 = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";

// ---------------------------------------------------------------- Digest

TEST(Digest, ParseToStringRoundTrip) {
  for (const char* algo : {"blake3", "sha256", "blake3k"}) {
    const std::string text = std::string(algo) + ":" + kHex64;
    auto r = Digest::Parse(text);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_STREQ(DigestAlgoName(r->algo), algo);
    EXPECT_EQ(r->size(), 32u);
    EXPECT_FALSE(r->empty());
    EXPECT_EQ(r->ToString(), text);
    EXPECT_EQ(r->bytes[0], 0xaf);
    EXPECT_EQ(r->bytes[31], 0x62);
  }
  auto a = Digest::Parse("blake3:" + kHex64);
  auto b = Digest::Parse("blake3k:" + kHex64);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);  // same bytes, different algorithm
  EXPECT_EQ(a->algo, DigestAlgo::kBlake3);
  EXPECT_EQ(b->algo, DigestAlgo::kBlake3Keyed);
  uint64_t want;
  std::memcpy(&want, a->bytes.data(), 8);
  EXPECT_EQ(a->Prefix64(), want);
  EXPECT_EQ(DigestHash{}(*a), static_cast<size_t>(want));

  Digest none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(none.ToString(), "none:");
  EXPECT_EQ(DigestAlgoName(DigestAlgo::kNone), nullptr);
  EXPECT_EQ(DigestAlgoSize(static_cast<DigestAlgo>(200)), 0u);
}

TEST(Digest, ParseErrorsNameTheInput) {
  std::string upper = kHex64;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  const std::vector<std::string> bad = {
      "",                                   // empty
      "blake3" + kHex64,                    // no colon
      "md5:d41d8cd98f00b204e9800998ecf8427e",  // unknown algo
      "BLAKE3:" + kHex64,                   // algorithm names are lowercase
      "none:",                              // kNone has no text form
      ":" + kHex64,                         // empty algorithm
      "blake3:" + upper,                    // uppercase hex
      "blake3:" + kHex64.substr(0, 62),     // too short
      "blake3:" + kHex64.substr(0, 63),     // odd length
      "blake3:" + kHex64 + "00",            // too long
      "blake3:",                            // no hex
      "blake3:" + kHex64.substr(0, 63) + "g",  // non-hex
      "blake3: " + kHex64.substr(1),        // space
      "blake3:" + kHex64.substr(0, 62) + ":0",  // second colon
  };
  for (const std::string& t : bad) {
    auto r = Digest::Parse(t);
    ASSERT_FALSE(r.ok()) << "accepted '" << t << "'";
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << t;
    EXPECT_TRUE(HasSubstr(r.status().message(), "'" + t + "'"));
  }
  // The specific complaints.
  EXPECT_TRUE(HasSubstr(Digest::Parse("md5:00").status().message(), "unknown algorithm 'md5'"));
  EXPECT_TRUE(HasSubstr(Digest::Parse("blake3:" + upper).status().message(), "lowercase hex"));
  EXPECT_TRUE(HasSubstr(Digest::Parse("blake3:abcd").status().message(), "64 hex digits"));
}

TEST(Digest, EncodeDecode) {
  for (DigestAlgo algo : {DigestAlgo::kBlake3, DigestAlgo::kSha256, DigestAlgo::kBlake3Keyed}) {
    Digest d;
    d.algo = algo;
    for (size_t i = 0; i < 32; i++) d.bytes[i] = static_cast<uint8_t>(i * 7 + 1);
    ASSERT_EQ(d.EncodedSize(), 33u);
    uint8_t buf[34];
    buf[33] = 0xEE;
    d.EncodeTo(buf);
    EXPECT_EQ(buf[0], static_cast<uint8_t>(algo));
    EXPECT_EQ(buf[33], 0xEE) << "EncodeTo wrote past EncodedSize()";
    auto r = Digest::Decode(buf, 33);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, d);
    EXPECT_EQ(r->ToString(), d.ToString());

    // Wrong lengths.
    for (size_t n : {size_t{1}, size_t{32}, size_t{34}}) {
      auto w = Digest::Decode(buf, n);
      ASSERT_FALSE(w.ok()) << n;
      EXPECT_EQ(w.status().code(), Code::kCorruption);
      EXPECT_TRUE(HasSubstr(w.status().message(), std::to_string(n)));
    }
  }
  uint8_t buf[33] = {0};
  auto e = Digest::Decode(buf, 0);
  EXPECT_EQ(e.status().code(), Code::kCorruption);
  for (uint8_t id : {uint8_t{0}, uint8_t{4}, uint8_t{255}}) {
    buf[0] = id;
    auto r = Digest::Decode(buf, 33);
    ASSERT_FALSE(r.ok()) << int(id);
    EXPECT_EQ(r.status().code(), Code::kCorruption);
    EXPECT_TRUE(HasSubstr(r.status().message(), "algorithm id " + std::to_string(id)));
  }
}

TEST(Bytes, HexRoundTrip) {
  EXPECT_EQ(ToHex(nullptr, 0), "");
  const uint8_t b[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  EXPECT_EQ(ToHex(b, sizeof(b)), "00017f80abff");
  auto v = FromHex("00017f80abff");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, std::vector<uint8_t>(b, b + sizeof(b)));
  auto u = FromHex("00017F80ABFF");  // uppercase accepted here
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(*u, *v);
  auto empty = FromHex("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(FromHex("0").has_value());
  EXPECT_FALSE(FromHex("0g").has_value());
  EXPECT_FALSE(FromHex("g0").has_value());
  EXPECT_FALSE(FromHex(" 00").has_value());
  EXPECT_FALSE(FromHex("0x00").has_value());
  const std::vector<uint8_t> all = [] {
    std::vector<uint8_t> a(256);
    for (int i = 0; i < 256; i++) a[i] = static_cast<uint8_t>(i);
    return a;
  }();
  EXPECT_EQ(FromHex(ToHex(all.data(), all.size())), all);

  uint8_t le[8];
  PutU64(le, 0x0102030405060708ULL);
  EXPECT_EQ(le[0], 0x08);
  EXPECT_EQ(GetU64(le), 0x0102030405060708ULL);
  PutU32(le, 0xdeadbeef);
  EXPECT_EQ(le[0], 0xef);
  EXPECT_EQ(GetU32(le), 0xdeadbeefu);
  PutU16(le, 0x1234);
  EXPECT_EQ(GetU16(le), 0x1234);
}

// ---------------------------------------------------------------- Status

TEST(Bytes, TrimOwsTakesSpacesAndTabsFromBothEnds) {
  EXPECT_EQ(TrimOws(" \t a b \t"), "a b");
  EXPECT_EQ(TrimOws("x"), "x");
  EXPECT_EQ(TrimOws(" \t "), "");
  EXPECT_EQ(TrimOws(""), "");
  EXPECT_EQ(TrimOws("\na\n"), "\na\n");  // only optional whitespace
}

TEST(Status, Basics) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.code(), Code::kOk);
  EXPECT_EQ(ok.message(), "");
  EXPECT_EQ(ok.ToString(), "ok");
  EXPECT_TRUE(Status::OK().ok());
  EXPECT_TRUE(Status(Code::kOk, "ignored").ok());
  EXPECT_TRUE(ok.WithContext("ctx").ok());

  struct Case {
    Status s;
    Code code;
    const char* name;
  };
  const Case cases[] = {
      {Status::NotFound("m"), Code::kNotFound, "not found"},
      {Status::Corruption("m"), Code::kCorruption, "corruption"},
      {Status::InvalidArgument("m"), Code::kInvalidArgument, "invalid argument"},
      {Status::IOError("m"), Code::kIOError, "I/O error"},
      {Status::AlreadyExists("m"), Code::kAlreadyExists, "already exists"},
      {Status::Busy("m"), Code::kBusy, "busy"},
      {Status::Unsupported("m"), Code::kUnsupported, "unsupported"},
      {Status::Internal("m"), Code::kInternal, "internal error"},
      {Status::NoSpace("m"), Code::kNoSpace, "out of space"},
      {Status::Unavailable("m"), Code::kUnavailable, "unavailable"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(c.s.ok());
    EXPECT_EQ(c.s.code(), c.code);
    EXPECT_EQ(c.s.message(), "m");
    EXPECT_STREQ(CodeName(c.code), c.name);
    EXPECT_EQ(c.s.ToString(), std::string(c.name) + ": m");
  }
  EXPECT_STREQ(CodeName(static_cast<Code>(99)), "unknown");
}

TEST(Status, WithContextPrefixesAndDoesNotMutate) {
  Status s = Status::Corruption("crc mismatch");
  Status t = s.WithContext("offset 42").WithContext("pack 1f");
  EXPECT_EQ(t.code(), Code::kCorruption);
  EXPECT_EQ(t.message(), "pack 1f: offset 42: crc mismatch");
  EXPECT_EQ(t.ToString(), "corruption: pack 1f: offset 42: crc mismatch");
  EXPECT_EQ(s.message(), "crc mismatch");  // original untouched
  Status copy = s;
  EXPECT_EQ(copy.code(), s.code());
  EXPECT_EQ(copy.message(), s.message());
}

TEST(Status, FromErrno) {
  Status nf = Status::FromErrno("open /x/y", ENOENT);
  EXPECT_EQ(nf.code(), Code::kNotFound);
  EXPECT_EQ(nf.message(), std::string("open /x/y: ") + std::strerror(ENOENT));
  Status io = Status::FromErrno("write /x", EACCES);
  EXPECT_EQ(io.code(), Code::kIOError);
  EXPECT_EQ(io.message(), std::string("write /x: ") + std::strerror(EACCES));
  // A full disk or quota is told apart: the server answers it with a 507.
  EXPECT_EQ(Status::FromErrno("w", ENOSPC).code(), Code::kNoSpace);
  EXPECT_EQ(Status::FromErrno("w", EDQUOT).code(), Code::kNoSpace);
  EXPECT_EQ(Status::FromErrno("w", EIO).code(), Code::kIOError);
}

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  AS_ASSIGN_OR_RETURN(int h, Half(x));
  AS_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int x) {
  AS_RETURN_IF_ERROR(Half(x).status());
  return Status::OK();
}

TEST(Result, ValueAndError) {
  Result<int> r = 5;
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 5);
  EXPECT_TRUE(r.status().ok());
  Result<int> e = Status::NotFound("nope");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Code::kNotFound);
  EXPECT_EQ(e.status().message(), "nope");

  auto q = Quarter(12);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, 3);
  auto q2 = Quarter(6);  // 6 -> 3 -> odd
  ASSERT_FALSE(q2.ok());
  EXPECT_EQ(q2.status().message(), "odd 3");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(5).code(), Code::kInvalidArgument);

  Result<std::unique_ptr<std::string>> p = std::make_unique<std::string>("hi");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(**p, "hi");
  EXPECT_EQ(p->get()->size(), 2u);
  std::unique_ptr<std::string> taken = std::move(p).value();
  EXPECT_EQ(*taken, "hi");

  const Result<std::string> cr = std::string("const");
  EXPECT_EQ(cr.value(), "const");
  EXPECT_EQ(cr->size(), 5u);
}

// ---------------------------------------------------------------- Env

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir("base");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  static std::string ReadAll(const std::string& path) {
    auto r = Env::Default()->ReadFileToString(path);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : std::string();
  }

  Env* env_ = Env::Default();
  std::string dir_;
};

TEST_F(EnvTest, WritableFileRoundTrip) {
  EXPECT_EQ(Env::Default(), env_);  // a singleton
  const std::string p = Path("a");
  auto f = env_->NewWritableFile(p);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  std::string want;
  const std::vector<uint8_t> big = testing::RandomBytes(3 << 20, 1);  // > the 1 MiB buffer
  ASSERT_TRUE((*f)->Append("hello ", 6).ok());
  want += "hello ";
  ASSERT_TRUE((*f)->Append(nullptr, 0).ok());
  ASSERT_TRUE((*f)->Append(big.data(), big.size()).ok());
  want.append(reinterpret_cast<const char*>(big.data()), big.size());
  ASSERT_TRUE((*f)->Sync().ok());
  EXPECT_EQ(ReadAll(p), want);
  for (int i = 0; i < 1000; i++) {
    std::string piece(static_cast<size_t>(i % 17 + 1), static_cast<char>('a' + i % 26));
    ASSERT_TRUE((*f)->Append(piece.data(), piece.size()).ok());
    want += piece;
  }
  EXPECT_EQ((*f)->Size(), want.size());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_TRUE((*f)->Close().ok());  // idempotent
  EXPECT_EQ(ReadAll(p), want);
  auto sz = env_->FileSize(p);
  ASSERT_TRUE(sz.ok());
  EXPECT_EQ(*sz, want.size());

  // Close without Sync still leaves the data in the file.
  auto g = env_->NewWritableFile(Path("b"));
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->Append("xyz", 3).ok());
  ASSERT_TRUE((*g)->Close().ok());
  EXPECT_EQ(ReadAll(Path("b")), "xyz");

  // NewWritableFile truncates.
  ASSERT_TRUE(env_->WriteStringToFileSync(p, "short").ok());
  EXPECT_EQ(ReadAll(p), "short");
  ASSERT_TRUE(env_->WriteStringToFileSync(p, "").ok());
  EXPECT_EQ(ReadAll(p), "");
}

// Whether the open file descriptor for `path` has O_DIRECT set (from
// /proc/self/fdinfo); nullopt when no descriptor for it is found.
std::optional<bool> OpenWithODirect(const std::string& path) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::error_code ec2;
    auto target = std::filesystem::read_symlink(e.path(), ec2);
    if (ec2 || target.string() != path) continue;
    std::ifstream info("/proc/self/fdinfo/" + e.path().filename().string());
    std::string key;
    while (info >> key) {
      if (key == "flags:") {
        std::string oct;
        info >> oct;
        return (std::stoul(oct, nullptr, 8) & O_DIRECT) != 0;
      }
    }
  }
  return std::nullopt;
}

std::string AsString(const std::vector<uint8_t>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

// Compares without dumping megabytes into the log on failure.
::testing::AssertionResult SameBytes(const std::string& got, const std::string& want) {
  if (got == want) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) i++;
  return ::testing::AssertionFailure() << "got " << got.size() << " bytes, want " << want.size()
                                       << "; first difference at offset " << i;
}

TEST_F(EnvTest, DirectIoOddSizesAcrossBuffers) {
  const std::string p = Path("direct");
  auto f = env_->NewWritableFile(p, WritableFileOptions{.direct_io = true});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  auto direct = OpenWithODirect(p);
  ASSERT_TRUE(direct.has_value()) << "no open descriptor found for " << p;
  if (!*direct) std::printf("note: %s refused O_DIRECT; buffered fallback tested\n", dir_.c_str());

  std::string want;
  uint64_t seed = 100;
  auto append = [&](size_t n) {
    std::vector<uint8_t> b = testing::RandomBytes(n, seed++);
    Status s = (*f)->Append(b.data(), b.size());
    ASSERT_TRUE(s.ok()) << s.ToString();
    want += AsString(b);
    ASSERT_EQ((*f)->Size(), want.size());
  };
  // 1 + 4095 + 4097 + 5 MiB: crosses the 4 MiB buffer once, not block aligned.
  for (size_t n : {size_t{1}, size_t{4095}, size_t{4097}, size_t{5} << 20}) append(n);
  ASSERT_TRUE((*f)->Sync().ok());
  EXPECT_TRUE(SameBytes(ReadAll(p), want)) << "after first Sync";
  ASSERT_EQ(env_->FileSize(p).value(), want.size());

  // More after a Sync: the tail block written by Sync must be rewritten, not
  // duplicated or zero-padded.
  for (size_t n : {size_t{3}, size_t{4} << 20, size_t{1}, size_t{123457}, size_t{4096},
                   (size_t{4} << 20) - 1, size_t{2}}) {
    append(n);
  }
  ASSERT_TRUE((*f)->Sync().ok());
  EXPECT_TRUE(SameBytes(ReadAll(p), want)) << "after second Sync";
  // Sync twice in a row is harmless.
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_TRUE(SameBytes(ReadAll(p), want)) << "after Close";
  auto sz = env_->FileSize(p);
  ASSERT_TRUE(sz.ok());
  EXPECT_EQ(*sz, want.size());
}

TEST_F(EnvTest, DirectIoExactBufferMultiples) {
  // Sizes that land exactly on the 4 MiB buffer boundary (Sync with an empty
  // current buffer) and on block boundaries.
  const std::string p = Path("exact");
  auto f = env_->NewWritableFile(p, WritableFileOptions{.direct_io = true});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  std::string want;
  uint64_t seed = 500;
  for (size_t n : {size_t{4} << 20, size_t{0}, size_t{4096}, (size_t{4} << 20) - 4096,
                   size_t{8} << 20}) {
    std::vector<uint8_t> b = testing::RandomBytes(n, seed++);
    ASSERT_TRUE((*f)->Append(b.data(), b.size()).ok());
    want += AsString(b);
    ASSERT_TRUE((*f)->Sync().ok());
    EXPECT_TRUE(SameBytes(ReadAll(p), want)) << "after appending " << n;
  }
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_TRUE(SameBytes(ReadAll(p), want));
  EXPECT_EQ(env_->FileSize(p).value(), want.size());

  // An empty direct file: Sync and Close leave it empty.
  auto g = env_->NewWritableFile(Path("empty"), WritableFileOptions{.direct_io = true});
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->Sync().ok());
  ASSERT_TRUE((*g)->Close().ok());
  EXPECT_EQ(env_->FileSize(Path("empty")).value(), 0u);
}

TEST_F(EnvTest, DirectIoRandomAppendsAndSyncs) {
  const uint64_t seed = testing::TestSeed("EnvTest.DirectIoRandomAppendsAndSyncs");
  std::mt19937_64 rng(seed);
  const std::string p = Path("random");
  auto f = env_->NewWritableFile(p, WritableFileOptions{.direct_io = true});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  std::string want;
  const size_t kTotal = 14 << 20;
  while (want.size() < kTotal) {
    size_t n;
    switch (rng() % 4) {
      case 0: n = rng() % 16; break;
      case 1: n = rng() % 8192; break;
      case 2: n = rng() % (256 << 10); break;
      default: n = rng() % (5 << 20); break;
    }
    std::vector<uint8_t> b = testing::RandomBytes(n, rng());
    ASSERT_TRUE((*f)->Append(b.data(), b.size()).ok());
    want += AsString(b);
    ASSERT_EQ((*f)->Size(), want.size());
    if (rng() % 5 == 0) {
      ASSERT_TRUE((*f)->Sync().ok());
      // Everything appended so far is in the file, and nothing more.
      ASSERT_TRUE(SameBytes(ReadAll(p), want)) << "seed " << seed;
    }
  }
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_TRUE(SameBytes(ReadAll(p), want)) << "seed " << seed;
  EXPECT_EQ(env_->FileSize(p).value(), want.size());
}

TEST_F(EnvTest, DirectIoDeepQueueAndBuffersReusedAcrossFiles) {
  // Tens of MiB without a Sync (every buffer of a file queued at once), in
  // files written by three threads, twice each: the buffers the first files
  // give back are taken by the next ones, concurrently.
  auto write_file = [&](const std::string& p, uint64_t seed, std::string* want) -> Status {
    auto f = env_->NewWritableFile(p, WritableFileOptions{.direct_io = true});
    if (!f.ok()) return f.status();
    std::mt19937_64 rng(seed);
    while (want->size() < (size_t{37} << 20) + 1234) {
      std::vector<uint8_t> b = testing::RandomBytes(rng() % (3 << 20) + 1, rng());
      AS_RETURN_IF_ERROR((*f)->Append(b.data(), b.size()));
      *want += AsString(b);
    }
    AS_RETURN_IF_ERROR((*f)->Sync());
    return (*f)->Close();
  };
  for (int round = 0; round < 2; round++) {
    std::string want[3];
    Status st[3];
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; t++) {
      threads.emplace_back([&, t] {
        st[t] = write_file(Path("deep" + std::to_string(t)), 1000 * round + t, &want[t]);
      });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < 3; t++) {
      ASSERT_TRUE(st[t].ok()) << st[t].ToString();
      EXPECT_TRUE(SameBytes(ReadAll(Path("deep" + std::to_string(t))), want[t]))
          << "round " << round << ", file " << t;
    }
  }
}

TEST_F(EnvTest, DirectIoCloseWithoutSyncKeepsSyncedPrefix) {
  // Close() after unsynced appends: whatever the file holds must at least be
  // the synced prefix and a prefix of what was appended (no garbage, no
  // padding). (The direct writer documents that it drops the unsynced tail.)
  const std::string p = Path("unsynced");
  auto f = env_->NewWritableFile(p, WritableFileOptions{.direct_io = true});
  ASSERT_TRUE(f.ok());
  std::string want;
  std::vector<uint8_t> a = testing::RandomBytes(10000, 1);
  ASSERT_TRUE((*f)->Append(a.data(), a.size()).ok());
  want += AsString(a);
  ASSERT_TRUE((*f)->Sync().ok());
  const size_t synced = want.size();
  std::vector<uint8_t> b = testing::RandomBytes((5 << 20) + 333, 2);
  ASSERT_TRUE((*f)->Append(b.data(), b.size()).ok());
  want += AsString(b);
  ASSERT_TRUE((*f)->Close().ok());
  std::string got = ReadAll(p);
  EXPECT_GE(got.size(), synced);
  EXPECT_LE(got.size(), want.size());
  EXPECT_TRUE(SameBytes(got, want.substr(0, got.size())));
  std::printf("note: direct file closed without Sync kept %zu of %zu bytes\n", got.size(),
              want.size());
}

TEST_F(EnvTest, DirectIoManyFilesConcurrentlyOpen) {
  // Each file has its own writer thread and buffers.
  std::vector<std::unique_ptr<WritableFile>> files;
  std::vector<std::string> want(3);
  for (int i = 0; i < 3; i++) {
    auto f = env_->NewWritableFile(Path("m" + std::to_string(i)),
                                   WritableFileOptions{.direct_io = true});
    ASSERT_TRUE(f.ok());
    files.push_back(std::move(f).value());
  }
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < 3; i++) {
      std::vector<uint8_t> b = testing::RandomBytes(size_t{1} << (19 + round) | 77, round * 3 + i);
      ASSERT_TRUE(files[i]->Append(b.data(), b.size()).ok());
      want[i] += AsString(b);
    }
  }
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE(files[i]->Sync().ok());
    ASSERT_TRUE(files[i]->Close().ok());
    EXPECT_TRUE(SameBytes(ReadAll(Path("m" + std::to_string(i))), want[i])) << i;
  }
}

TEST_F(EnvTest, DirectIoCreateErrorNamesPath) {
  const std::string p = Path("no/such/dir/file");
  auto f = env_->NewWritableFile(p, WritableFileOptions{.direct_io = true});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kNotFound);
  EXPECT_TRUE(HasSubstr(f.status().message(), p));
  auto g = env_->NewWritableFile(p);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), Code::kNotFound);
  EXPECT_TRUE(HasSubstr(g.status().message(), p));
}

TEST_F(EnvTest, ReadAtPastEof) {
  const std::string p = Path("short");
  ASSERT_TRUE(env_->WriteStringToFileSync(p, std::string(100, 'x')).ok());
  auto f = env_->NewRandomAccessFile(p);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->Size(), 100u);
  char buf[64];
  ASSERT_TRUE((*f)->ReadAt(90, 10, buf).ok());
  ASSERT_TRUE((*f)->ReadAt(100, 0, buf).ok());

  Status s = (*f)->ReadAt(200, 10, buf);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_TRUE(HasSubstr(s.message(), p));
  EXPECT_TRUE(HasSubstr(s.message(), "offset 200"));

  // Straddling the end: the message names where the data ran out.
  s = (*f)->ReadAt(95, 10, buf);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_TRUE(HasSubstr(s.message(), p));
  EXPECT_TRUE(HasSubstr(s.message(), "offset 100"));
  (*f)->AdviseSequential();

  auto missing = env_->NewRandomAccessFile(Path("missing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_TRUE(HasSubstr(missing.status().message(), Path("missing")));
  auto r = env_->ReadFileToString(Path("missing"));
  EXPECT_EQ(r.status().code(), Code::kNotFound);
}

TEST_F(EnvTest, LockFileTwiceInOneProcessIsBusy) {
  const std::string p = Path("LOCK");
  auto first = Env::Default()->LockFile(p);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(ReadAll(p), std::to_string(::getpid()) + "\n");
  // flock locks belong to the open file description: a second open+flock in
  // the same process conflicts.
  auto second = Env::Default()->LockFile(p);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kBusy) << second.status().ToString();
  EXPECT_TRUE(HasSubstr(second.status().message(), "in use by pid " + std::to_string(::getpid())));
  EXPECT_TRUE(HasSubstr(second.status().message(), p));
  // The failed attempt must not have clobbered the pid or released the lock.
  EXPECT_EQ(ReadAll(p), std::to_string(::getpid()) + "\n");
  auto third = Env::Default()->LockFile(p);
  EXPECT_EQ(third.status().code(), Code::kBusy);
  // Released on destruction: then it can be taken again.
  first.value().reset();
  auto again = Env::Default()->LockFile(p);
  ASSERT_TRUE(again.ok()) << again.status().ToString();

  auto bad = Env::Default()->LockFile(Path("no/such/LOCK"));
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(HasSubstr(bad.status().message(), Path("no/such/LOCK")));
}

TEST_F(EnvTest, DirectoryOperations) {
  ASSERT_TRUE(env_->CreateDirIfMissing(Path("sub")).ok());
  ASSERT_TRUE(env_->CreateDirIfMissing(Path("sub")).ok());  // existing is fine
  ASSERT_TRUE(env_->WriteStringToFileSync(Path("a"), "1").ok());
  ASSERT_TRUE(env_->WriteStringToFileSync(Path("bb"), "22").ok());
  std::vector<std::string> kids = {"stale"};
  ASSERT_TRUE(env_->GetChildren(dir_, &kids).ok());
  std::sort(kids.begin(), kids.end());
  EXPECT_EQ(kids, (std::vector<std::string>{"a", "bb", "sub"}));
  EXPECT_TRUE(env_->FileExists(Path("a")));
  EXPECT_TRUE(env_->FileExists(Path("sub")));
  EXPECT_FALSE(env_->FileExists(Path("zz")));

  auto sz = env_->FileSize(Path("bb"));
  ASSERT_TRUE(sz.ok());
  EXPECT_EQ(*sz, 2u);
  auto mt = env_->FileMTime(Path("bb"));
  ASSERT_TRUE(mt.ok());
  EXPECT_GT(*mt, 1600000000);  // after 2020: a plausible wall-clock value

  ASSERT_TRUE(env_->RenameFile(Path("bb"), Path("cc")).ok());
  EXPECT_FALSE(env_->FileExists(Path("bb")));
  EXPECT_EQ(ReadAll(Path("cc")), "22");
  // Rename over an existing file replaces it.
  ASSERT_TRUE(env_->RenameFile(Path("a"), Path("cc")).ok());
  EXPECT_EQ(ReadAll(Path("cc")), "1");
  ASSERT_TRUE(env_->RemoveFile(Path("cc")).ok());
  EXPECT_FALSE(env_->FileExists(Path("cc")));
  ASSERT_TRUE(env_->GetChildren(dir_, &kids).ok());
  EXPECT_EQ(kids, (std::vector<std::string>{"sub"}));
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  ASSERT_TRUE(env_->SyncDir(Path("sub")).ok());

  // Errors name the path.
  const std::string missing = Path("missing");
  Status s = env_->RemoveFile(missing);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_TRUE(HasSubstr(s.message(), missing));
  s = env_->RenameFile(missing, Path("x"));
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_TRUE(HasSubstr(s.message(), missing));
  auto fs = env_->FileSize(missing);
  EXPECT_EQ(fs.status().code(), Code::kNotFound);
  EXPECT_TRUE(HasSubstr(fs.status().message(), missing));
  auto fm = env_->FileMTime(missing);
  EXPECT_EQ(fm.status().code(), Code::kNotFound);
  EXPECT_TRUE(HasSubstr(fm.status().message(), missing));
  s = env_->GetChildren(missing, &kids);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_TRUE(HasSubstr(s.message(), missing));
  s = env_->SyncDir(missing);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_TRUE(HasSubstr(s.message(), missing));
  s = env_->CreateDirIfMissing(Path("no/such/dir"));
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_TRUE(HasSubstr(s.message(), Path("no/such/dir")));
  // A regular file is not a directory.
  ASSERT_TRUE(env_->WriteStringToFileSync(Path("file"), "f").ok());
  s = env_->SyncDir(Path("file"));
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(HasSubstr(s.message(), Path("file")));
}

}  // namespace
}  // namespace as
