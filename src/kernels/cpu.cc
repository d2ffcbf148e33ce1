#include "kernels/cpu.h"

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define AS_X86 1
#endif

namespace as {

#ifdef AS_X86
namespace {

// xgetbv(0) without needing -mxsave on the whole file.
uint64_t ReadXcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

constexpr bool Bit(uint32_t reg, int bit) { return (reg >> bit) & 1u; }

}  // namespace
#endif

CpuFeatures DetectCpu() {
  CpuFeatures f;
#ifdef AS_X86
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return f;
  const unsigned max_leaf = eax;

  __cpuid(1, eax, ebx, ecx, edx);
  f.sse42 = Bit(ecx, 20);
  f.pclmul = Bit(ecx, 1);
  const bool osxsave = Bit(ecx, 27);
  const bool avx = Bit(ecx, 28);

  // XCR0: bit 1 SSE, bit 2 AVX (YMM upper halves), bits 5..7 opmask, ZMM_Hi256,
  // Hi16_ZMM. Without OSXSAVE the OS does not save AVX state: no AVX at all.
  uint64_t xcr0 = osxsave ? ReadXcr0() : 0;
  const bool ymm_ok = avx && (xcr0 & 0x6) == 0x6;
  const bool zmm_ok = ymm_ok && (xcr0 & 0xE0) == 0xE0;

  if (max_leaf >= 7) {
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    f.avx2 = ymm_ok && Bit(ebx, 5);
    f.bmi2 = Bit(ebx, 8);
    f.avx512f = zmm_ok && Bit(ebx, 16);
    f.shani = Bit(ebx, 29);
    f.avx512bw = f.avx512f && Bit(ebx, 30);
    f.avx512vl = f.avx512f && Bit(ebx, 31);
    f.avx512vbmi = f.avx512f && Bit(ecx, 1);
    f.gfni = Bit(ecx, 8);
    f.vpclmulqdq = ymm_ok && Bit(ecx, 10);
  }
#endif
  return f;
}

CpuFeatures CapToTier(CpuFeatures f, CpuTier tier) {
  if (tier < CpuTier::kAvx512) {
    f.avx512f = f.avx512bw = f.avx512vl = f.avx512vbmi = false;
  }
  if (tier < CpuTier::kAvx2) {
    f.avx2 = f.bmi2 = f.vpclmulqdq = f.shani = f.gfni = false;
  }
  if (tier < CpuTier::kSse42) {
    f.sse42 = f.pclmul = false;
  }
  return f;
}

Result<CpuTier> ParseTier(std::string_view name) {
  if (name == "portable") return CpuTier::kPortable;
  if (name == "sse42") return CpuTier::kSse42;
  if (name == "avx2") return CpuTier::kAvx2;
  if (name == "avx512") return CpuTier::kAvx512;
  return Status::InvalidArgument("unknown CPU tier '" + std::string(name) +
                                 "' (expected portable|sse42|avx2|avx512)");
}

const char* TierName(CpuTier tier) {
  switch (tier) {
    case CpuTier::kPortable: return "portable";
    case CpuTier::kSse42: return "sse42";
    case CpuTier::kAvx2: return "avx2";
    case CpuTier::kAvx512: return "avx512";
  }
  return "unknown";
}

bool HasTier(const CpuFeatures& f, CpuTier tier) {
  switch (tier) {
    case CpuTier::kPortable: return true;
    case CpuTier::kSse42: return f.sse42;
    case CpuTier::kAvx2: return f.sse42 && f.avx2 && f.bmi2;
    case CpuTier::kAvx512:
      return f.sse42 && f.avx2 && f.bmi2 && f.avx512f && f.avx512bw && f.avx512vl;
  }
  return false;
}

CpuTier BestTier(const CpuFeatures& f) {
  for (CpuTier t : {CpuTier::kAvx512, CpuTier::kAvx2, CpuTier::kSse42}) {
    if (HasTier(f, t)) return t;
  }
  return CpuTier::kPortable;
}

std::string DescribeFeatures(const CpuFeatures& f) {
  const std::pair<bool, const char*> names[] = {
      {f.sse42, "sse4.2"},        {f.pclmul, "pclmul"},         {f.avx2, "avx2"},
      {f.bmi2, "bmi2"},           {f.avx512f, "avx512f"},       {f.avx512bw, "avx512bw"},
      {f.avx512vl, "avx512vl"},   {f.avx512vbmi, "avx512vbmi"}, {f.vpclmulqdq, "vpclmulqdq"},
      {f.shani, "sha"},           {f.gfni, "gfni"},
  };
  std::string out;
  for (const auto& [on, name] : names) {
    if (!on) continue;
    if (!out.empty()) out += ' ';
    out += name;
  }
  return out;
}

}  // namespace as
