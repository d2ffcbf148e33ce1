#include "s3/checksum.h"

#include <isa-l/crc.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

// ISA-L's CRC32 (AVX-512 folding on this CPU) returns without vzeroupper. Until
// the upper vector halves are cleared, legacy-SSE code on the same thread runs
// slower: measured here, SHA-256 (SHA-NI) 1.33 against 1.78 GB/s and the
// CRC-64/NVME kernel 7.9 against 14 GB/s. A put's digests share one thread.
#if defined(__x86_64__)
__attribute__((target("avx"))) void ZeroUpperAvx() {
  _mm256_zeroupper();
}
void CrcIsalDone() {
  static const bool avx = __builtin_cpu_supports("avx");
  if (avx) ZeroUpperAvx();
}
#else
void CrcIsalDone() {}
#endif

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

Checksummer::Checksummer(ChecksumAlgo a, const KernelTable& k)
    : algo_(a), crc32c_(k.crc32c), crc64nvme_(k.crc64nvme) {
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
      CrcIsalDone();
      break;
    case ChecksumAlgo::kCrc32c:
      crc_ = crc32c_(static_cast<uint32_t>(crc_), p, n);
      break;
    case ChecksumAlgo::kCrc64Nvme:
      crc_ = crc64nvme_(crc_, p, n);
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
                              const KernelTable& k) {
  Checksummer c(a, k);
  c.Update(reinterpret_cast<const uint8_t*>(concatenated.data()), concatenated.size());
  return Base64Encode(c.Finish()) + "-" + std::to_string(parts);
}

}  // namespace as::s3
