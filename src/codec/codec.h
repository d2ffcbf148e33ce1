// Per-chunk compression: zstd, lz4 or none. The codec id is recorded in each
// frame header (docs/format/frame.md), so every frame decodes on its own.
//
// Contract: a Compressor is used by one thread at a time (it owns a zstd
// context); Decompress is thread-safe. Compress() may choose to store raw
// when compression does not pay; the codec it actually used is returned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace as {

// kZstdRef: zstd with the raw bytes of other chunks (the frame's bases) as
// its prefix; the payload starts with the bases' digests (docs/format/frame.md).
// Only the store writes it, for a new chunk much like chunks it already holds.
enum class CodecId : uint8_t { kNone = 0, kZstd = 1, kLz4 = 2, kZstdRef = 3 };
inline constexpr uint8_t kMaxCodecId = 3;

const char* CodecName(CodecId c);
Result<CodecId> ParseCodec(std::string_view name);  // "zstd" | "lz4" | "none"

// zstd level 1: the fastest level that keeps Huffman-coded literals; level -1
// is 14% faster on real_v1 and stores 9.7% more (docs/benchmarks.md).
constexpr int kDefaultZstdLevel = 1;

class Compressor {
 public:
  Compressor(CodecId codec, int zstd_level = kDefaultZstdLevel);
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  // Compresses src. Returns the codec used: kNone when compression would
  // save less than 1/32 of the input (store it raw). Otherwise *out/*out_n
  // are the compressed bytes, in a buffer the Compressor owns and reuses
  // (valid until the next call).
  //
  // After a chunk that did not compress, the next one is first tried on an
  // 8 KiB sample: incompressible streams (random, encrypted, already
  // compressed) then cost a sample per chunk instead of a whole attempt,
  // and compressible streams pay nothing extra.
  CodecId Compress(const uint8_t* src, size_t n, const uint8_t** out, size_t* out_n);
  // The same, copying the result into *out (empty when kNone).
  CodecId Compress(const uint8_t* src, size_t n, std::vector<uint8_t>* out);
  // zstd of src with ref[0..ref_n) as its prefix (at this compressor's zstd
  // level, or the default one when its codec is not zstd), into a buffer
  // the Compressor owns (valid until the next call). Returns the size, or 0
  // when it would not fit in `budget` bytes.
  size_t CompressWithRef(const uint8_t* src, size_t n, const uint8_t* ref, size_t ref_n,
                         size_t budget, const uint8_t** out);

  struct State;  // zstd contexts and the output buffer; reused by later compressors

 private:
  std::unique_ptr<State> s_;
};

// Decodes exactly raw_len bytes into dst. Corruption (naming the codec) when
// the payload is malformed or yields a different length.
Status Decompress(CodecId codec, const uint8_t* src, size_t n, uint8_t* dst, size_t raw_len);
// The inverse of CompressWithRef: the same ref must be given.
Status DecompressWithRef(const uint8_t* src, size_t n, const uint8_t* ref, size_t ref_n,
                         uint8_t* dst, size_t raw_len);

}  // namespace as
