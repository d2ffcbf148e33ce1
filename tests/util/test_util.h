// Helpers shared by the unit tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace as::testing {

// Directory of ../shared/vectors, or nullopt when it is absent (tests then
// GTEST_SKIP() with a message saying so).
std::optional<std::string> VectorsDir();

// Deterministic pseudo-random bytes (splitmix64) from a seed.
std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed);

// A fresh empty directory under $TMPDIR, removed by the caller if it wishes.
std::string TempDir(const std::string& tag);

}  // namespace as::testing
