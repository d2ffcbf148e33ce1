// CRC-64/NVME (S3's CRC64NVME): a slicing-by-8 table version, and a version
// that folds 16-byte blocks with carry-less multiplies (PCLMULQDQ), chosen
// once by CPU. The table version runs at about 1.4 GB/s on the machines
// measured here; folding is bound by the multiplier instead (bench/
// micro_checksums, docs/benchmarks.md).
//
// Folding, in the reflected representation of the register (bit i of a
// 64-bit word holds x^(63 - i); loaded little-endian, bit j of a 16-byte
// block holds x^(127 - j) of that block's polynomial):
// - The state S is 128 bits congruent, mod P, to every byte folded so far
//   read as one polynomial (the initial register XORed into the first 8
//   bytes, which is what presetting the register means).
// - Appending d bits: S * x^d = H * x^(d + 64) + L * x^d, where H is S's low
//   word (its high-degree half) and L its high word. A carry-less multiply of
//   two reflected words yields their product times x (bit k holds x^(126 - k)
//   of it), so H is multiplied by x^(d + 63) mod P and L by x^(d - 1) mod P;
//   both products fit in 128 bits and are congruent to the terms above.
// - At the end S stands for the bytes folded so far, so the table version
//   finishes: CRC(0, the 16 bytes of S, then the tail). That keeps the
//   final reduction (Barrett) out of the vector code.
#include <immintrin.h>

#include "s3/checksum.h"

namespace as::s3 {
namespace {

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

// The register after `n` bytes from register `c` (no pre or post inversion).
uint64_t RawTable(uint64_t c, const uint8_t* p, size_t n) {
  const auto& t = Tables().t;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w = 0;
    for (int i = 7; i >= 0; i--) w = (w << 8) | p[i];  // little-endian load
    c ^= w;
    c = t[7][c & 0xff] ^ t[6][(c >> 8) & 0xff] ^ t[5][(c >> 16) & 0xff] ^ t[4][(c >> 24) & 0xff] ^
        t[3][(c >> 32) & 0xff] ^ t[2][(c >> 40) & 0xff] ^ t[1][(c >> 48) & 0xff] ^ t[0][c >> 56];
  }
  for (; n > 0; p++, n--) c = (c >> 8) ^ t[0][(c ^ *p) & 0xff];
  return c;
}

#if defined(__x86_64__)
// x^e mod P in the reflected representation (x^0 is bit 63).
uint64_t XPow(unsigned e) {
  uint64_t v = uint64_t{1} << 63;
  while (e--) v = (v & 1) ? (v >> 1) ^ kCrc64NvmePoly : v >> 1;
  return v;
}

// The multipliers that move a 128-bit state forward by `bits`: for its low
// word (lane 0 of the constant) and its high word (lane 1).
struct FoldBy {
  uint64_t lo, hi;
  explicit FoldBy(unsigned bits) : lo(XPow(bits + 63)), hi(XPow(bits - 1)) {}
};

struct FoldConstants {
  FoldBy k128{128}, k256{256}, k384{384}, k512{512};
};

const FoldConstants& Constants() {
  static const FoldConstants c;
  return c;
}

__attribute__((target("pclmul,sse4.1"))) inline __m128i Fold(__m128i s, const FoldBy& k,
                                                             __m128i next) {
  const __m128i kk = _mm_set_epi64x(static_cast<long long>(k.hi), static_cast<long long>(k.lo));
  return _mm_xor_si128(
      _mm_xor_si128(_mm_clmulepi64_si128(s, kk, 0x00), _mm_clmulepi64_si128(s, kk, 0x11)), next);
}

__attribute__((target("pclmul,sse4.1"))) inline __m128i Load(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

__attribute__((target("pclmul,sse4.1"))) uint64_t ClmulImpl(uint64_t crc, const uint8_t* p,
                                                            size_t n) {
  if (n < 64) return ~RawTable(~crc, p, n);
  const FoldConstants& k = Constants();
  // Four states, 64 bytes apart in the stream: four independent multiply
  // chains cover the multiplier's latency.
  __m128i x0 = _mm_xor_si128(Load(p), _mm_cvtsi64_si128(static_cast<long long>(~crc)));
  __m128i x1 = Load(p + 16), x2 = Load(p + 32), x3 = Load(p + 48);
  p += 64;
  n -= 64;
  for (; n >= 64; p += 64, n -= 64) {
    x0 = Fold(x0, k.k512, Load(p));
    x1 = Fold(x1, k.k512, Load(p + 16));
    x2 = Fold(x2, k.k512, Load(p + 32));
    x3 = Fold(x3, k.k512, Load(p + 48));
  }
  const __m128i zero = _mm_setzero_si128();
  __m128i s = _mm_xor_si128(_mm_xor_si128(Fold(x0, k.k384, zero), Fold(x1, k.k256, zero)),
                            Fold(x2, k.k128, x3));
  for (; n >= 16; p += 16, n -= 16) s = Fold(s, k.k128, Load(p));
  uint8_t bytes[16];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes), s);
  return ~RawTable(RawTable(0, bytes, sizeof(bytes)), p, n);
}

Crc64Fn PickClmul() {
  __builtin_cpu_init();  // this runs as a static initializer
  return __builtin_cpu_supports("pclmul") ? &ClmulImpl : nullptr;
}
#else
Crc64Fn PickClmul() {
  return nullptr;
}
#endif

}  // namespace

const Crc64Fn Crc64NvmeClmul = PickClmul();

uint64_t Crc64NvmeTable(uint64_t crc, const uint8_t* p, size_t n) {
  return ~RawTable(~crc, p, n);
}

uint64_t Crc64Nvme(uint64_t crc, const uint8_t* p, size_t n) {
  static const Crc64Fn best = Crc64NvmeClmul ? Crc64NvmeClmul : &Crc64NvmeTable;
  return best(crc, p, n);
}

}  // namespace as::s3
