// FastCDC 2020 boundary scan ("rolling two bytes", normalized chunking), bit-exact
// with the fastcdc-rs v2020 reference (rule: shared/vectors/fastcdc-v2020.md and
// docs/format/chunker.md).
//
// Contract of every variant:
//   size_t f(const FastcdcScanParams& p, const uint8_t* src, size_t n, uint64_t* hash_out)
// `src` is the first byte of a chunk, `n` the bytes available there. The caller
// guarantees n >= p.max, or that the stream ends at src + n. Returns the length of
// the chunk that starts at src (1..min(n, max); 0 only when n == 0) and, if
// hash_out is not null, stores the gear state at the cut (0 when the chunk is
// shorter than or equal to min). Reads at most src[0..min(n, max)); no alignment.
// Pure: no allocation, no failure. Params are checked by the caller
// (chunking/fastcdc.h ValidateChunkerParams), not here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace as {

struct FastcdcScanParams {
  uint32_t min = 0;  // chunks are longer than min unless the stream ends
  uint32_t avg = 0;  // below avg the strict mask is used, above it the loose one
  uint32_t max = 0;  // hard cut
  uint64_t mask_s = 0;     // MASKS[bits + nc]
  uint64_t mask_l = 0;     // MASKS[bits - nc]
  uint64_t mask_s_ls = 0;  // mask_s << 1
  uint64_t mask_l_ls = 0;  // mask_l << 1
  const uint64_t* gear = nullptr;     // 256 entries
  const uint64_t* gear_ls = nullptr;  // 256 entries, gear[i] << 1
};

// Written straight from the spec text, one step at a time. For tests.
size_t FastcdcCutReference(const FastcdcScanParams& p, const uint8_t* src, size_t n,
                           uint64_t* hash_out);

// Scalar, two bytes per iteration, skipping the first min bytes. Any CPU.
size_t FastcdcCutPortable(const FastcdcScanParams& p, const uint8_t* src, size_t n,
                          uint64_t* hash_out);

}  // namespace as
