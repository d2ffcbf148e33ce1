// Replays every fuzz harness (fuzz/fuzz.h) over its seeds and the inputs that
// once broke it (fuzz/seeds/<target>/, fuzz/regressions/<target>/), in every
// build: what `make fuzz` found stays fixed without clang or libFuzzer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz.h"

namespace as::fuzz {

void FuzzFail(const std::string& what) {
  throw FuzzFailure(what);
}

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> InputsOf(const std::string& target) {
  std::vector<fs::path> out;
  for (const char* kind : {"seeds", "regressions"}) {
    fs::path dir = fs::path(AS_FUZZ_DIR) / kind / target;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.is_regular_file()) out.push_back(e.path());
    }
  }
  return out;
}

class FuzzReplay : public testing::TestWithParam<FuzzTarget> {};

TEST_P(FuzzReplay, SeedsAndRegressionsKeepTheirProperties) {
  const FuzzTarget& t = GetParam();
  std::vector<fs::path> inputs = InputsOf(t.name);
  ASSERT_FALSE(inputs.empty()) << "no seeds for fuzz target " << t.name << " under " << AS_FUZZ_DIR;
  for (const fs::path& p : inputs) {
    std::ifstream f(p, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    try {
      t.fn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } catch (const FuzzFailure& e) {
      ADD_FAILURE() << p << ": " << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTargets, FuzzReplay,
                         testing::ValuesIn(AllTargets().begin(), AllTargets().end()),
                         [](const testing::TestParamInfo<FuzzTarget>& i) {
                           return std::string(i.param.name);
                         });

}  // namespace
}  // namespace as::fuzz
