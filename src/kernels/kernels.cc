#include "kernels/kernels.h"

namespace as {

KernelTable MakeKernelTable(const CpuFeatures& f) {
  KernelTable t;
  // Portable first, then tier-by-tier overrides.
  t.crc32c = &Crc32cPortable;
  t.crc32c_name = "crc32c_portable";
  t.fastcdc_cut = &FastcdcCutPortable;
  t.fastcdc_name = "fastcdc_portable";
#if defined(AS_ENABLE_ASM) && (defined(__x86_64__) || defined(_M_X64))
  if (f.sse42) {
    t.crc32c = &Crc32cSse42;
    t.crc32c_name = "crc32c_sse42";
  }
#else
  (void)f;
#endif
  return t;
}

}  // namespace as
