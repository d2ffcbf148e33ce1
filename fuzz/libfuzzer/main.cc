// libFuzzer entry points: the harness is chosen once, from AS_FUZZ_TARGET.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fuzz/fuzz.h"

namespace as::fuzz {
namespace {
const FuzzTarget* g_target = nullptr;
}  // namespace

void FuzzFail(const std::string& what) {
  std::fprintf(stderr, "FUZZ PROPERTY BROKEN (%s): %s\n", g_target ? g_target->name : "?",
               what.c_str());
  std::abort();
}

}  // namespace as::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const char* want = std::getenv("AS_FUZZ_TARGET");
  for (const auto& t : as::fuzz::AllTargets()) {
    if (want && std::strcmp(want, t.name) == 0) as::fuzz::g_target = &t;
  }
  if (!as::fuzz::g_target) {
    std::fprintf(stderr, "as_fuzz: set AS_FUZZ_TARGET to one of:\n");
    for (const auto& t : as::fuzz::AllTargets()) {
      std::fprintf(stderr, "  %-9s %s\n", t.name, t.what);
    }
    std::exit(2);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  as::fuzz::g_target->fn(data, size);
  return 0;
}
