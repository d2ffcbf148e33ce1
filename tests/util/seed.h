// Test seed: random per run, printed, replayable with AS_TEST_SEED=<n>.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace as::testing {

inline uint64_t TestSeed(const char* suite) {
  static const uint64_t seed = [] {
    const char* env = std::getenv("AS_TEST_SEED");
    if (env && *env) return static_cast<uint64_t>(std::strtoull(env, nullptr, 0));
    return (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  }();
  std::printf("[%s] seed %llu (replay with AS_TEST_SEED=%llu)\n", suite,
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  return seed;
}

}  // namespace as::testing
