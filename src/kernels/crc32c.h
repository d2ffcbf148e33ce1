// CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, init and final xor
// 0xFFFFFFFF (the iSCSI / ext4 / frame-format CRC).
//
// Every variant has the same "extend" contract:
//   uint32_t f(uint32_t crc, const uint8_t* p, size_t n)
// returns the CRC-32C of (the bytes that produced `crc`) followed by p[0..n).
// Start from 0: f(0, "123456789", 9) == 0xE3069283, and
// f(f(0, a, na), b, nb) == f(0, a||b, na + nb).
// No alignment is required, n may be 0 (then p may be null and crc is returned),
// and nothing outside p[0..n) is read.
#pragma once

#include <cstddef>
#include <cstdint>

namespace as {

// Bit at a time, straight from the definition. Slow; for tests only.
uint32_t Crc32cReference(uint32_t crc, const uint8_t* p, size_t n);

// Slicing-by-8 with compile-time tables. Any CPU.
uint32_t Crc32cPortable(uint32_t crc, const uint8_t* p, size_t n);

// SSE4.2 crc32 instruction, three interleaved streams merged with compile-time
// "shift by L zero bytes" tables. Requires CpuFeatures::sse42, and exists only
// when built with AS_ENABLE_ASM on x86-64.
uint32_t Crc32cSse42(uint32_t crc, const uint8_t* p, size_t n);

}  // namespace as

// NASM kernels (src/kernels/crc32c_*.asm, docs/asm/crc32c.md): folding with
// carry-less multiplication, then crc32 for the last 16 folded bytes and the
// tail; inputs under 128 bytes take one crc32 stream. Exist only when built
// with AS_ENABLE_ASM on x86-64. Same contract as the functions above.
extern "C" {
// Requires CpuFeatures::sse42 and ::pclmul. 128-bit PCLMULQDQ, 8 lanes.
uint32_t as_crc32c_pclmul(uint32_t crc, const uint8_t* p, size_t n);
// Requires ::sse42, ::avx2 and ::vpclmulqdq (VEX VPCLMULQDQ on YMM), 4 x 2 lanes.
uint32_t as_crc32c_vpclmul_avx2(uint32_t crc, const uint8_t* p, size_t n);
}
