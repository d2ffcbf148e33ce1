#include "kernels/crc64nvme.h"

#include <array>

namespace as {
namespace {

// Slicing by 8: t[k][b] is the CRC register after byte b followed by k zero
// bytes, so eight input bytes cost eight lookups and one shift.
using Tables = std::array<std::array<uint64_t, 256>, 8>;

constexpr Tables MakeTables() {
  Tables t{};
  for (uint64_t b = 0; b < 256; b++) {
    uint64_t c = b;
    for (int i = 0; i < 8; i++) c = (c & 1) ? (c >> 1) ^ kCrc64NvmePoly : c >> 1;
    t[0][b] = c;
  }
  for (int k = 1; k < 8; k++) {
    for (int b = 0; b < 256; b++) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  }
  return t;
}

constinit const Tables kTables = MakeTables();

// The register after `n` bytes from register `c` (no pre or post inversion).
uint64_t RawTable(uint64_t c, const uint8_t* p, size_t n) {
  const Tables& t = kTables;
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

}  // namespace

uint64_t Crc64NvmeReference(uint64_t crc, const uint8_t* p, size_t n) {
  uint64_t c = ~crc;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ kCrc64NvmePoly : c >> 1;
  }
  return ~c;
}

uint64_t Crc64NvmePortable(uint64_t crc, const uint8_t* p, size_t n) {
  return ~RawTable(~crc, p, n);
}

}  // namespace as
