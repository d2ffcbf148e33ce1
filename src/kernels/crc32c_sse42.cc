// CRC-32C with the SSE4.2 crc32 instruction. Compiled with -msse4.2 (this file
// only); called only when cpuid reports SSE4.2.
//
// One crc32q has a 3-cycle latency but a 1-per-cycle throughput, so a single
// dependent stream runs at a third of the possible speed. We cut each block of
// 3*L bytes into three streams A, B, C of L bytes, run them interleaved (A from
// the incoming state, B and C from 0), then merge with the linearity of the raw
// CRC: state = Shift_L(Shift_L(a) ^ b) ^ c, where Shift_L (feed L zero bytes) is
// four table lookups built at compile time (crc32c_tables.h).
#include <nmmintrin.h>

#include <cstring>

#include "kernels/crc32c.h"
#include "kernels/crc32c_tables.h"

namespace as {
namespace {

using crc32c_internal::ApplyShift;
using crc32c_internal::MakeShiftTables;
using crc32c_internal::ShiftTables;

// Stream lengths (bytes, multiples of 8). Long blocks carry big buffers; short
// blocks keep the tail of a 4..16 KiB buffer off the single-stream path.
constexpr size_t kLong = 2048;
constexpr size_t kShort = 256;
constexpr size_t kTiny = 64;
constinit const ShiftTables kShiftLong = MakeShiftTables(kLong);
constinit const ShiftTables kShiftShort = MakeShiftTables(kShort);
constinit const ShiftTables kShiftTiny = MakeShiftTables(kTiny);

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// With `prefetch`, the next 3*L bytes (which must be in the buffer) are
// prefetched while this block runs. The three streams are 2 KiB apart, which
// the hardware prefetcher follows poorly: on page-cache bytes (a GET's frames)
// this kernel ran at 9.5 GB/s without it and 22-25 GB/s with it, on a 1 GiB
// stream (kcheck --bench, AMD EPYC with AVX-512); hot buffers are unchanged.
template <size_t L, bool prefetch>
inline uint64_t ThreeWay(uint64_t s, const uint8_t* p, const ShiftTables& shift) {
  uint64_t a = s, b = 0, c = 0;
  for (size_t i = 0; i < L; i += 8) {
    if (prefetch && i % 64 == 0) {
      // 192 bytes of the next block per 64 of each stream: the next block
      // arrives as this one ends.
      const char* next = reinterpret_cast<const char*>(p + 3 * L + 3 * i);
      _mm_prefetch(next, _MM_HINT_T0);
      _mm_prefetch(next + 64, _MM_HINT_T0);
      _mm_prefetch(next + 128, _MM_HINT_T0);
    }
    a = _mm_crc32_u64(a, Load64(p + i));
    b = _mm_crc32_u64(b, Load64(p + L + i));
    c = _mm_crc32_u64(c, Load64(p + 2 * L + i));
  }
  uint32_t ab = ApplyShift(shift, static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b);
  return ApplyShift(shift, ab) ^ static_cast<uint32_t>(c);
}

}  // namespace

uint32_t Crc32cSse42(uint32_t crc, const uint8_t* p, size_t n) {
  uint64_t s = static_cast<uint32_t>(~crc);
  while (n >= 6 * kLong) {
    s = ThreeWay<kLong, true>(s, p, kShiftLong);
    p += 3 * kLong;
    n -= 3 * kLong;
  }
  while (n >= 3 * kLong) {
    s = ThreeWay<kLong, false>(s, p, kShiftLong);
    p += 3 * kLong;
    n -= 3 * kLong;
  }
  while (n >= 3 * kShort) {
    s = ThreeWay<kShort, false>(s, p, kShiftShort);
    p += 3 * kShort;
    n -= 3 * kShort;
  }
  while (n >= 3 * kTiny) {
    s = ThreeWay<kTiny, false>(s, p, kShiftTiny);
    p += 3 * kTiny;
    n -= 3 * kTiny;
  }
  while (n >= 8) {
    s = _mm_crc32_u64(s, Load64(p));
    p += 8;
    n -= 8;
  }
  uint32_t s32 = static_cast<uint32_t>(s);
  while (n--) s32 = _mm_crc32_u8(s32, *p++);
  return ~s32;
}

}  // namespace as
