// The functions a kernel test checks: the reference first, then every variant
// this build has that the CPU can run (shelved ones included), then the
// table's pick at each tier the host has ("table@avx2:crc32c_sse42").
#pragma once

#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace as::testing {

template <typename Fn>
struct Variant {
  std::string name;
  Fn fn;
};

template <typename Fn>
std::vector<Variant<Fn>> KernelVariants(const char* reference_name, Fn reference,
                                        const std::vector<KernelVariant<Fn>>& built,
                                        Fn KernelTable::*field,
                                        const char* KernelTable::*name_field) {
  std::vector<Variant<Fn>> v = {{reference_name, reference}};
  for (const KernelVariant<Fn>& k : built) {
    if (k.runnable) v.push_back({k.name, k.fn});
  }
  const CpuFeatures host = DetectCpu();
  for (CpuTier t : {CpuTier::kPortable, CpuTier::kSse42, CpuTier::kAvx2, CpuTier::kAvx512}) {
    if (!HasTier(host, t)) continue;
    KernelTable k = MakeKernelTable(CapToTier(host, t));
    v.push_back({std::string("table@") + TierName(t) + ":" + k.*name_field, k.*field});
  }
  return v;
}

}  // namespace as::testing
