#include "s3/checksum.h"

#include <isa-l/crc.h>

#include "base/bytes.h"
#include "s3/http_util.h"

namespace as::s3 {

namespace {

constexpr ChecksumSpec kSpecs[kChecksumAlgos] = {
    {"CRC32", "x-amz-checksum-crc32", "ChecksumCRC32", 4, true},
    {"CRC32C", "x-amz-checksum-crc32c", "ChecksumCRC32C", 4, true},
    {"CRC64NVME", "x-amz-checksum-crc64nvme", "ChecksumCRC64NVME", 8, true},
    {"SHA1", "x-amz-checksum-sha1", "ChecksumSHA1", 20, false},
    {"SHA256", "x-amz-checksum-sha256", "ChecksumSHA256", 32, false},
};

// CRC-64/NVME: reflected polynomial 0x9a6c9329ac4bc9b5 (normal
// 0xad93d23594c93659), initial value and final xor all ones.
constexpr uint64_t kCrc64NvmePoly = 0x9a6c9329ac4bc9b5ull;

// Slicing by 8: table[k][b] is the CRC register after byte b followed by k
// zero bytes, so eight input bytes cost eight lookups and one shift.
struct Crc64Tables {
  uint64_t t[8][256];
  Crc64Tables() {
    for (uint64_t b = 0; b < 256; b++) {
      uint64_t c = b;
      for (int i = 0; i < 8; i++) c = (c & 1) ? (c >> 1) ^ kCrc64NvmePoly : c >> 1;
      t[0][b] = c;
    }
    for (int k = 1; k < 8; k++) {
      for (int b = 0; b < 256; b++) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
    }
  }
};

const Crc64Tables& Tables() {
  static const Crc64Tables tables;
  return tables;
}

std::string BigEndian(uint64_t v, size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; i++) out[size - 1 - i] = static_cast<char>(v >> (8 * i));
  return out;
}

uint64_t FromBigEndian(std::string_view b) {
  uint64_t v = 0;
  for (char c : b) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

// Arithmetic on polynomials modulo a CRC's, in the reflected representation
// of the CRC register: bit (width - 1) holds x^0, bit 0 holds x^(width - 1).
class CrcField {
 public:
  CrcField(uint64_t poly, int width) : poly_(poly), top_(uint64_t{1} << (width - 1)) {
    // x^(2^k) mod P for k = 0..67: enough for any 64-bit byte count (in bits).
    pow2_[0] = top_ >> 1;  // x^1
    for (int k = 1; k < kPowers; k++) pow2_[k] = Mul(pow2_[k - 1], pow2_[k - 1]);
  }

  uint64_t Mul(uint64_t a, uint64_t b) const {
    uint64_t product = 0;
    for (uint64_t m = top_; m != 0 && a != 0; m >>= 1) {
      if (a & m) {
        product ^= b;
        a ^= m;
      }
      b = (b & 1) ? (b >> 1) ^ poly_ : b >> 1;  // b *= x
    }
    return product;
  }

  // x^(8 * bytes) mod P.
  uint64_t XPowBytes(uint64_t bytes) const {
    uint64_t p = top_;  // x^0
    for (int k = 3; bytes != 0; bytes >>= 1, k++) {
      if (bytes & 1) p = Mul(pow2_[k], p);
    }
    return p;
  }

 private:
  static constexpr int kPowers = 68;
  uint64_t poly_, top_;
  uint64_t pow2_[kPowers];
};

const CrcField& FieldOf(ChecksumAlgo a) {
  static const CrcField crc32(0xedb88320u, 32), crc32c(0x82f63b78u, 32), crc64(kCrc64NvmePoly, 64);
  return a == ChecksumAlgo::kCrc32 ? crc32 : a == ChecksumAlgo::kCrc32c ? crc32c : crc64;
}

}  // namespace

const ChecksumSpec& Spec(ChecksumAlgo a) {
  return kSpecs[Index(a)];
}

std::optional<ChecksumAlgo> ParseChecksumAlgo(std::string_view name) {
  for (ChecksumAlgo a : kAllChecksumAlgos) {
    if (AsciiIEquals(name, Spec(a).name)) return a;
  }
  return std::nullopt;
}

std::optional<ChecksumAlgo> ChecksumAlgoOfHeader(std::string_view header) {
  for (ChecksumAlgo a : kAllChecksumAlgos) {
    if (AsciiIEquals(header, Spec(a).header)) return a;
  }
  return std::nullopt;
}

const char* ChecksumTypeName(ChecksumType t) {
  return t == ChecksumType::kComposite ? "COMPOSITE" : "FULL_OBJECT";
}

std::optional<ChecksumType> ParseChecksumType(std::string_view name) {
  if (AsciiIEquals(name, "COMPOSITE")) return ChecksumType::kComposite;
  if (AsciiIEquals(name, "FULL_OBJECT")) return ChecksumType::kFullObject;
  return std::nullopt;
}

bool ChecksumTypeAllowed(ChecksumAlgo a, ChecksumType t) {
  if (a == ChecksumAlgo::kCrc64Nvme) return t == ChecksumType::kFullObject;
  return Spec(a).crc || t == ChecksumType::kComposite;
}

ChecksumType DefaultChecksumType(ChecksumAlgo a) {
  return a == ChecksumAlgo::kCrc64Nvme ? ChecksumType::kFullObject : ChecksumType::kComposite;
}

std::optional<std::string> DecodeChecksum(ChecksumAlgo a, std::string_view base64) {
  auto raw = Base64Decode(base64);
  if (!raw || raw->size() != Spec(a).size) return std::nullopt;
  return raw;
}

Checksummer::Checksummer(ChecksumAlgo a, Crc32cFn crc32c) : algo_(a), crc32c_(crc32c) {
  if (a == ChecksumAlgo::kSha1)
    sha_ = std::make_unique<StreamingDigest>(StreamingDigest::Kind::kSha1);
  if (a == ChecksumAlgo::kSha256) {
    sha_ = std::make_unique<StreamingDigest>(StreamingDigest::Kind::kSha256);
  }
}

Checksummer::~Checksummer() = default;

void Checksummer::Update(const uint8_t* p, size_t n) {
  switch (algo_) {
    case ChecksumAlgo::kCrc32:
      crc_ = crc32_gzip_refl(static_cast<uint32_t>(crc_), p, n);
      break;
    case ChecksumAlgo::kCrc32c:
      crc_ = crc32c_(static_cast<uint32_t>(crc_), p, n);
      break;
    case ChecksumAlgo::kCrc64Nvme:
      crc_ = Crc64Nvme(crc_, p, n);
      break;
    case ChecksumAlgo::kSha1:
    case ChecksumAlgo::kSha256:
      sha_->Update(p, n);
      break;
  }
}

std::string Checksummer::Finish() {
  if (sha_) {
    uint8_t d[32];
    size_t n = sha_->Finish(d);
    return std::string(reinterpret_cast<char*>(d), n);
  }
  return BigEndian(crc_, Spec(algo_).size);
}

uint64_t Crc64Nvme(uint64_t crc, const uint8_t* p, size_t n) {
  const auto& t = Tables().t;
  uint64_t c = ~crc;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w = 0;
    for (int i = 7; i >= 0; i--) w = (w << 8) | p[i];  // little-endian load
    c ^= w;
    c = t[7][c & 0xff] ^ t[6][(c >> 8) & 0xff] ^ t[5][(c >> 16) & 0xff] ^ t[4][(c >> 24) & 0xff] ^
        t[3][(c >> 32) & 0xff] ^ t[2][(c >> 40) & 0xff] ^ t[1][(c >> 48) & 0xff] ^ t[0][c >> 56];
  }
  for (; n > 0; p++, n--) c = (c >> 8) ^ t[0][(c ^ *p) & 0xff];
  return ~c;
}

std::string CrcCombine(ChecksumAlgo a, std::string_view crc_a, std::string_view crc_b,
                       uint64_t len_b) {
  // With the register preset and the result inverted (all three CRCs here),
  // crc(A||B) = crc(A) * x^(8 len B) + crc(B) mod P: the conditioning of A's
  // end and B's start cancel.
  const CrcField& f = FieldOf(a);
  uint64_t v = f.Mul(f.XPowBytes(len_b), FromBigEndian(crc_a)) ^ FromBigEndian(crc_b);
  return BigEndian(v, Spec(a).size);
}

std::string CompositeChecksum(ChecksumAlgo a, std::string_view concatenated, size_t parts,
                              Crc32cFn crc32c) {
  Checksummer c(a, crc32c);
  c.Update(reinterpret_cast<const uint8_t*>(concatenated.data()), concatenated.size());
  return Base64Encode(c.Finish()) + "-" + std::to_string(parts);
}

}  // namespace as::s3
