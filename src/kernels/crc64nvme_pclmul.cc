// CRC-64/NVME by folding with carry-less multiplies. Compiled with -mpclmul
// -msse4.1 (this file only); called only when cpuid reports PCLMULQDQ.
//
// In the reflected representation of the register (bit i of a 64-bit word
// holds x^(63 - i); loaded little-endian, bit j of a 16-byte block holds
// x^(127 - j) of that block's polynomial):
// - The state S is 128 bits congruent, mod P, to every byte folded so far
//   read as one polynomial (the initial register XORed into the first 8
//   bytes, which is what presetting the register means).
// - Appending d bits: S * x^d = H * x^(d + 64) + L * x^d, where H is S's low
//   word (its high-degree half) and L its high word. A carry-less multiply of
//   two reflected words yields their product times x (bit k holds x^(126 - k)
//   of it), so H is multiplied by x^(d + 63) mod P and L by x^(d - 1) mod P;
//   both products fit in 128 bits and are congruent to the terms above.
// - At the end S stands for the bytes folded so far, so the table version
//   finishes: the CRC of S's 16 bytes from a zero register, then the tail.
//   That keeps the final (Barrett) reduction out of the vector code.
#include <immintrin.h>

#include "kernels/crc64nvme.h"

namespace as {
namespace {

// x^e mod P in the reflected representation (x^0 is bit 63).
constexpr uint64_t XPow(unsigned e) {
  uint64_t v = uint64_t{1} << 63;
  while (e--) v = (v & 1) ? (v >> 1) ^ kCrc64NvmePoly : v >> 1;
  return v;
}

// The multipliers that move a 128-bit state forward by `bits`: for its low
// word (lane 0 of the constant) and its high word (lane 1).
struct FoldBy {
  uint64_t lo, hi;
};
constexpr FoldBy Fold(unsigned bits) {
  return {XPow(bits + 63), XPow(bits - 1)};
}
constexpr FoldBy k128 = Fold(128), k256 = Fold(256), k384 = Fold(384), k512 = Fold(512);

inline __m128i Fold(__m128i s, const FoldBy& k, __m128i next) {
  const __m128i kk = _mm_set_epi64x(static_cast<long long>(k.hi), static_cast<long long>(k.lo));
  return _mm_xor_si128(
      _mm_xor_si128(_mm_clmulepi64_si128(s, kk, 0x00), _mm_clmulepi64_si128(s, kk, 0x11)), next);
}

inline __m128i Load(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

}  // namespace

uint64_t Crc64NvmePclmul(uint64_t crc, const uint8_t* p, size_t n) {
  if (n < 64) return Crc64NvmePortable(crc, p, n);
  // Four states, 64 bytes apart in the stream: four independent multiply
  // chains cover the multiplier's latency.
  __m128i x0 = _mm_xor_si128(Load(p), _mm_cvtsi64_si128(static_cast<long long>(~crc)));
  __m128i x1 = Load(p + 16), x2 = Load(p + 32), x3 = Load(p + 48);
  p += 64;
  n -= 64;
  for (; n >= 64; p += 64, n -= 64) {
    x0 = Fold(x0, k512, Load(p));
    x1 = Fold(x1, k512, Load(p + 16));
    x2 = Fold(x2, k512, Load(p + 32));
    x3 = Fold(x3, k512, Load(p + 48));
  }
  const __m128i zero = _mm_setzero_si128();
  __m128i s =
      _mm_xor_si128(_mm_xor_si128(Fold(x0, k384, zero), Fold(x1, k256, zero)), Fold(x2, k128, x3));
  for (; n >= 16; p += 16, n -= 16) s = Fold(s, k128, Load(p));
  uint8_t bytes[16];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes), s);
  // S's bytes from a zero register (a preset register is ~0 in this
  // contract's terms), then the tail.
  return Crc64NvmePortable(Crc64NvmePortable(~uint64_t{0}, bytes, sizeof(bytes)), p, n);
}

}  // namespace as
