// Parallel variants of the FastCDC 2020 boundary scan (kernels/fastcdc_scan.h
// contract, bit-identical to FastcdcCutReference: same length, same gear state).
//
// Idea (SS-CDC): the v2020 gear state at byte x is a pure function of the bytes
// [x-63, x] of the scanned range (every pair shifts the state left by two), so
// positions far apart can be tested independently and the sequential
// min / normalization / max rule applied afterwards. Derivation, numbers and the
// land/shelve record: docs/asm/fastcdc.md.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/fastcdc_scan.h"

namespace as {

// Plain C++ (no ISA extension): the scan range is cut into blocks of 4 stripes
// that are scanned in lockstep, each stripe warmed up on the 64 bytes before
// it, so four independent gear chains keep the core busy instead of one
// latency-bound chain. Any CPU; tier: portable. Same contract as
// FastcdcCutPortable.
size_t FastcdcCutStriped(const FastcdcScanParams& p, const uint8_t* src, size_t n,
                         uint64_t* hash_out);

// Same with K stripes (2..8) and stripes of `stripe_pairs` pairs (>= 64), for the
// benchmark and the tests. FastcdcCutStriped = FastcdcCutStripedK<4>(..., 512).
template <int K>
size_t FastcdcCutStripedK(const FastcdcScanParams& p, const uint8_t* src, size_t n,
                          uint64_t* hash_out, size_t stripe_pairs);

}  // namespace as
