#include "kernels/kernels.h"

#if __has_include("kernels/fastcdc_simd.h")
#include "kernels/fastcdc_simd.h"
#define AS_HAVE_FASTCDC_SIMD 1
#endif

namespace as {

KernelTable MakeKernelTable(const CpuFeatures& f) {
  KernelTable t;
  // Portable first, then tier-by-tier overrides.
  t.crc32c = &Crc32cPortable;
  t.crc32c_name = "crc32c_portable";
  t.crc64nvme = &Crc64NvmePortable;
  t.crc64nvme_name = "crc64nvme_portable";
  t.fastcdc_cut = &FastcdcCutPortable;
  t.fastcdc_name = "fastcdc_portable";
#if defined(AS_ENABLE_ASM) && (defined(__x86_64__) || defined(_M_X64))
  if (f.sse42) {
    t.crc32c = &Crc32cSse42;
    t.crc32c_name = "crc32c_sse42";
  }
  if (f.sse42 && f.pclmul) {
    t.crc64nvme = &Crc64NvmePclmul;
    t.crc64nvme_name = "crc64nvme_pclmul";
  }
#else
  (void)f;
#endif
  return t;
}

std::vector<KernelVariant<Crc32cFn>> Crc32cVariants(const CpuFeatures& f) {
  std::vector<KernelVariant<Crc32cFn>> v;
  v.push_back({"crc32c_portable", &Crc32cPortable, true, ""});
#if defined(AS_ENABLE_ASM) && (defined(__x86_64__) || defined(_M_X64))
  v.push_back({"crc32c_sse42", &Crc32cSse42, f.sse42, "sse4.2"});
  v.push_back({"crc32c_pclmul", &as_crc32c_pclmul, f.sse42 && f.pclmul, "sse4.2 pclmul"});
  v.push_back({"crc32c_vpclmul_avx2", &as_crc32c_vpclmul_avx2,
               f.sse42 && f.avx2 && f.vpclmulqdq, "sse4.2 avx2 vpclmulqdq"});
#endif
  (void)f;
  return v;
}

std::vector<KernelVariant<Crc64Fn>> Crc64NvmeVariants(const CpuFeatures& f) {
  std::vector<KernelVariant<Crc64Fn>> v;
  v.push_back({"crc64nvme_portable", &Crc64NvmePortable, true, ""});
#if defined(AS_ENABLE_ASM) && (defined(__x86_64__) || defined(_M_X64))
  v.push_back({"crc64nvme_pclmul", &Crc64NvmePclmul, f.sse42 && f.pclmul, "sse4.2 pclmul"});
#endif
  (void)f;
  return v;
}

std::vector<KernelVariant<FastcdcCutFn>> FastcdcVariants(const CpuFeatures& f) {
  std::vector<KernelVariant<FastcdcCutFn>> v;
  v.push_back({"fastcdc_portable", &FastcdcCutPortable, true, ""});
#ifdef AS_HAVE_FASTCDC_SIMD
  v.push_back({"fastcdc_striped", &FastcdcCutStriped, true, ""});
#endif
  (void)f;
  return v;
}

}  // namespace as
