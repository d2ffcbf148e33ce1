// Internal: UTF-8 validation used by the encoder and decoder.
#pragma once

#include <cstddef>
#include <cstdint>

namespace as::cbor::internal {

// Offset of the first byte of the first ill-formed sequence in p[0..n), or n
// if the whole range is well-formed UTF-8.
size_t Utf8ErrorOffset(const uint8_t* p, size_t n);

}  // namespace as::cbor::internal
