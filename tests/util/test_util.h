// Helpers shared by the unit tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace as::testing {

// Directory of ../shared/vectors, or nullopt when it is absent (tests then
// GTEST_SKIP() with a message saying so).
std::optional<std::string> VectorsDir();

// Deterministic pseudo-random bytes (splitmix64) from a seed.
std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed);

// A fresh empty directory under $TMPDIR, removed by the caller if it wishes.
std::string TempDir(const std::string& tag);

// Flips bits `mask` of the byte at `off` in the file at `path`; false (with
// errno) if the file cannot be read or written there.
bool FlipByte(const std::string& path, uint64_t off, uint8_t mask = 0x40);

// A byte source (the store's ByteSource) over `data`, which must outlive it:
// hands out as much as each call asks for.
inline std::function<Result<size_t>(uint8_t*, size_t)> WholeSource(
    const std::vector<uint8_t>& data) {
  auto pos = std::make_shared<size_t>(0);
  return [&data, pos](uint8_t* buf, size_t cap) -> Result<size_t> {
    size_t n = std::min(cap, data.size() - *pos);
    std::memcpy(buf, data.data() + *pos, n);
    *pos += n;
    return n;
  };
}

}  // namespace as::testing
