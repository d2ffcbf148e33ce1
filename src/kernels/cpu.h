// CPU feature detection and tiers, for choosing kernel variants once at startup.
//
// DetectCpu() reads cpuid and xgetbv: a vector feature is reported only when the
// CPU has it AND the OS saves the register state it needs (YMM for AVX2 and
// VPCLMULQDQ, ZMM + opmask for AVX-512). The result is a plain value: callers
// pass it (possibly capped with CapToTier) to MakeKernelTable(); nothing here
// keeps global state.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace as {

struct CpuFeatures {
  bool sse42 = false;
  bool pclmul = false;
  bool avx2 = false;
  bool bmi2 = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512vbmi = false;
  bool vpclmulqdq = false;
  bool shani = false;
  bool gfni = false;
};

// Features of the running CPU (all false on non-x86 hosts).
CpuFeatures DetectCpu();

// Tiers, each a superset of the one before:
//   kPortable: no feature at all (plain C++).
//   kSse42:    sse42, pclmul.
//   kAvx2:     + avx2, bmi2, vpclmulqdq, shani, gfni.
//   kAvx512:   + avx512f, avx512bw, avx512vl, avx512vbmi.
enum class CpuTier { kPortable, kSse42, kAvx2, kAvx512 };

// `f` with every feature above `tier` cleared (features the tier allows but the
// CPU lacks stay false). Used to force a lower tier in tests and by users.
CpuFeatures CapToTier(CpuFeatures f, CpuTier tier);

// "portable" | "sse42" | "avx2" | "avx512".
Result<CpuTier> ParseTier(std::string_view name);
const char* TierName(CpuTier tier);

// True if `f` has what kernels of `tier` need: kSse42 = sse42; kAvx2 = sse42 +
// avx2 + bmi2; kAvx512 = kAvx2 + avx512f + avx512bw + avx512vl. kPortable: always.
bool HasTier(const CpuFeatures& f, CpuTier tier);

// The best tier `f` supports.
CpuTier BestTier(const CpuFeatures& f);

// Space-separated names of the features present, e.g. "sse4.2 pclmul avx2 bmi2";
// "" when none.
std::string DescribeFeatures(const CpuFeatures& f);

}  // namespace as
