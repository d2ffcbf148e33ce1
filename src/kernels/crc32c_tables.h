// Internal: CRC-32C tables built at compile time (shared by the portable and
// SSE4.2 variants). Not part of the kernels API.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace as::crc32c_internal {

inline constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli

// kSlice[0][b]: raw (no pre/post inversion) CRC state after feeding byte b to
// state 0. kSlice[k][b] = the same followed by k zero bytes, for slicing-by-8.
using SliceTables = std::array<std::array<uint32_t, 256>, 8>;

constexpr SliceTables MakeSliceTables() {
  SliceTables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1u) ? kPoly : 0u);
    t[0][b] = c;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t c = t[k - 1][b];
      t[k][b] = t[0][c & 0xFF] ^ (c >> 8);
    }
  }
  return t;
}

inline constexpr SliceTables kSlice = MakeSliceTables();

// The raw CRC update is linear over GF(2): feeding `len` zero bytes to state s
// gives Shift(s) = XOR over the 4 bytes s_k of s of table[k][s_k]. The SSE4.2
// variant uses it to merge independent streams:
//   state(A||B) = Shift_|B|(state(A)) ^ state_from_0(B).
using ShiftTables = std::array<std::array<uint32_t, 256>, 4>;

constexpr uint32_t ShiftSlow(uint32_t s, size_t len) {
  for (size_t i = 0; i < len; ++i) s = kSlice[0][s & 0xFF] ^ (s >> 8);
  return s;
}

constexpr ShiftTables MakeShiftTables(size_t len) {
  // Image of each of the 32 basis bits, then every byte value per position.
  std::array<uint32_t, 32> col{};
  for (int bit = 0; bit < 32; ++bit) col[bit] = ShiftSlow(1u << bit, len);
  ShiftTables t{};
  for (int k = 0; k < 4; ++k) {
    for (uint32_t v = 0; v < 256; ++v) {
      uint32_t r = 0;
      for (int j = 0; j < 8; ++j) {
        if ((v >> j) & 1u) r ^= col[8 * k + j];
      }
      t[k][v] = r;
    }
  }
  return t;
}

inline uint32_t ApplyShift(const ShiftTables& t, uint32_t s) {
  return t[0][s & 0xFF] ^ t[1][(s >> 8) & 0xFF] ^ t[2][(s >> 16) & 0xFF] ^ t[3][s >> 24];
}

}  // namespace as::crc32c_internal
