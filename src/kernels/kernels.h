// The kernel table: one function pointer per hot loop, filled once from the CPU
// features the caller passes in (DetectCpu(), possibly capped with CapToTier).
// No global state: the caller keeps the table and passes it down.
//
//   KernelTable k = MakeKernelTable(DetectCpu());
//   uint32_t crc = k.crc32c(0, data, size);
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/crc32c.h"
#include "kernels/crc64nvme.h"
#include "kernels/fastcdc_scan.h"

namespace as {

struct KernelTable {
  // CRC-32C "extend": CRC of (bytes that gave `crc`) || p[0..n); start with 0.
  // Alignment: none required. Length: any, 0 ok (p may then be null).
  // Reads exactly p[0..n). Never fails.
  uint32_t (*crc32c)(uint32_t crc, const uint8_t* p, size_t n) = nullptr;
  const char* crc32c_name = nullptr;  // e.g. "crc32c_sse42"

  // CRC-64/NVME "extend" (S3's CRC64NVME; see kernels/crc64nvme.h): same
  // contract as crc32c with 64-bit values.
  uint64_t (*crc64nvme)(uint64_t crc, const uint8_t* p, size_t n) = nullptr;
  const char* crc64nvme_name = nullptr;  // e.g. "crc64nvme_pclmul"

  // FastCDC 2020 cut for ONE chunk starting at src (see kernels/fastcdc_scan.h).
  // Precondition: n >= p.max, or the stream ends at src + n; p validated.
  // Alignment: none. Length: any, 0 ok (returns 0). Reads only src[0..min(n, max)).
  // Returns the chunk length; stores the gear state at the cut in *hash_out if
  // hash_out is not null. Never fails.
  size_t (*fastcdc_cut)(const FastcdcScanParams& p, const uint8_t* src, size_t n,
                        uint64_t* hash_out) = nullptr;
  const char* fastcdc_name = nullptr;  // e.g. "fastcdc_portable"
};

// The best variant of each kernel that `f` allows (and that this build has:
// SIMD variants exist only when built with AS_ENABLE_ASM).
KernelTable MakeKernelTable(const CpuFeatures& f);

using Crc32cFn = uint32_t (*)(uint32_t crc, const uint8_t* p, size_t n);
using Crc64Fn = uint64_t (*)(uint64_t crc, const uint8_t* p, size_t n);
using FastcdcCutFn = size_t (*)(const FastcdcScanParams& p, const uint8_t* src, size_t n,
                                uint64_t* hash_out);

// One implementation of a kernel, for tests and benchmarks (tools/kcheck).
template <typename Fn>
struct KernelVariant {
  const char* name;  // the name MakeKernelTable reports when it picks it
  Fn fn;
  bool runnable;     // the features passed in allow calling fn
  const char* needs;  // the features it needs, e.g. "avx2 vpclmulqdq"
};

// Every variant of each kernel this build has, portable first, including those
// the table never picks (shelved ones). Call only those with `runnable`.
std::vector<KernelVariant<Crc32cFn>> Crc32cVariants(const CpuFeatures& f);
std::vector<KernelVariant<Crc64Fn>> Crc64NvmeVariants(const CpuFeatures& f);
std::vector<KernelVariant<FastcdcCutFn>> FastcdcVariants(const CpuFeatures& f);

}  // namespace as
