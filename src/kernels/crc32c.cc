#include "kernels/crc32c.h"

#include <cstring>

#include "kernels/crc32c_tables.h"

namespace as {

using crc32c_internal::kPoly;
using crc32c_internal::kSlice;

uint32_t Crc32cReference(uint32_t crc, const uint8_t* p, size_t n) {
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ kPoly : (c >> 1);
  }
  return ~c;
}

uint32_t Crc32cPortable(uint32_t crc, const uint8_t* p, size_t n) {
  uint32_t c = ~crc;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);  // little-endian host (checked in base/bytes.h)
    w ^= c;
    c = kSlice[7][w & 0xFF] ^ kSlice[6][(w >> 8) & 0xFF] ^ kSlice[5][(w >> 16) & 0xFF] ^
        kSlice[4][(w >> 24) & 0xFF] ^ kSlice[3][(w >> 32) & 0xFF] ^
        kSlice[2][(w >> 40) & 0xFF] ^ kSlice[1][(w >> 48) & 0xFF] ^ kSlice[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) c = kSlice[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
  return ~c;
}

}  // namespace as
