// CRC-64/NVME (S3's CRC64NVME, the default checksum of new S3 objects):
// reflected polynomial 0x9a6c9329ac4bc9b5 (normal 0xad93d23594c93659), init
// and final xor all ones.
//
// Every variant has the same "extend" contract as CRC-32C (crc32c.h):
//   uint64_t f(uint64_t crc, const uint8_t* p, size_t n)
// returns the CRC-64/NVME of (the bytes that produced `crc`) followed by
// p[0..n). Start from 0: f(0, "123456789", 9) == 0xAE8B14860A799888, and
// f(f(0, a, na), b, nb) == f(0, a||b, na + nb). No alignment is required, n
// may be 0 (then p may be null and crc is returned), and nothing outside
// p[0..n) is read.
#pragma once

#include <cstddef>
#include <cstdint>

namespace as {

inline constexpr uint64_t kCrc64NvmePoly = 0x9a6c9329ac4bc9b5ull;

// Bit at a time, straight from the definition. Slow; for tests only.
uint64_t Crc64NvmeReference(uint64_t crc, const uint8_t* p, size_t n);

// Slicing-by-8 with tables built at compile time. Any CPU (about 1.4 GB/s).
uint64_t Crc64NvmePortable(uint64_t crc, const uint8_t* p, size_t n);

// Folds 64-byte blocks with PCLMULQDQ (four 128-bit states), then the table
// for the last 16 folded bytes and the tail. Requires CpuFeatures::sse42 and
// ::pclmul, and exists only when built with AS_ENABLE_ASM on x86-64.
uint64_t Crc64NvmePclmul(uint64_t crc, const uint8_t* p, size_t n);

}  // namespace as
