#include "chunking/fastcdc.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace as {
namespace {

// Index = bits (shared/vectors/fastcdc-v2020.md).
constexpr uint64_t kMasks[26] = {
    0, 0, 0, 0, 0,
    0x1804110,        // 5
    0x1803110,        // 6
    0x18035100,       // 7
    0x1800035300,     // 8
    0x19000353000,    // 9
    0x590003530000,   // 10
    0xd90003530000,   // 11
    0xd90103530000,   // 12
    0xd90303530000,   // 13
    0xd90313530000,   // 14
    0xd90f03530000,   // 15
    0xd90303537000,   // 16
    0xd90703537000,   // 17
    0xd90707537000,   // 18
    0xd91707537000,   // 19
    0xd91747537000,   // 20
    0xd91767537000,   // 21
    0xd93767537000,   // 22
    0xd93777537000,   // 23
    0xd93777577000,   // 24
    0xdb3777577000,   // 25
};
constexpr int kMinBits = 5;
constexpr int kMaxBits = 25;

// round(log2(avg)) as fastcdc-rs computes it (f64 log2, round half away from 0).
int AvgBits(uint32_t avg) { return static_cast<int>(std::lround(std::log2(double(avg)))); }

}  // namespace

uint64_t FastcdcMask(int bits) {
  return bits >= kMinBits && bits <= kMaxBits ? kMasks[bits] : 0;
}

Status ValidateChunkerParams(const ChunkerParams& p) {
  auto bad = [](std::string m) { return Status::InvalidArgument("chunker params: " + m); };
  if (p.min_size < kChunkerMinSizeFloor) {
    return bad("min_size " + std::to_string(p.min_size) + " is below " +
               std::to_string(kChunkerMinSizeFloor));
  }
  if (p.avg_size < p.min_size) {
    return bad("avg_size " + std::to_string(p.avg_size) + " is below min_size " +
               std::to_string(p.min_size));
  }
  if (p.max_size < p.avg_size) {
    return bad("max_size " + std::to_string(p.max_size) + " is below avg_size " +
               std::to_string(p.avg_size));
  }
  if (p.max_size > kChunkerMaxSizeCeiling) {
    return bad("max_size " + std::to_string(p.max_size) + " is above 16 MiB (" +
               std::to_string(kChunkerMaxSizeCeiling) + ")");
  }
  if (p.normalization < 0 || p.normalization > 3) {
    return bad("normalization " + std::to_string(p.normalization) + " is not in 0..3");
  }
  int bits = AvgBits(p.avg_size);
  if (bits - p.normalization < kMinBits || bits + p.normalization > kMaxBits) {
    return bad("avg_size " + std::to_string(p.avg_size) + " (2^" + std::to_string(bits) +
               ") with normalization " + std::to_string(p.normalization) +
               " needs masks 2^" + std::to_string(bits - p.normalization) + "..2^" +
               std::to_string(bits + p.normalization) + ", outside the table's 2^5..2^25");
  }
  return Status::OK();
}

FastcdcScanParams MakeScanParams(const ChunkerParams& p) {
  FastcdcScanParams s;
  s.min = p.min_size;
  s.avg = p.avg_size;
  s.max = p.max_size;
  int bits = AvgBits(p.avg_size);
  s.mask_s = FastcdcMask(bits + p.normalization);
  s.mask_l = FastcdcMask(bits - p.normalization);
  s.mask_s_ls = s.mask_s << 1;
  s.mask_l_ls = s.mask_l << 1;
  s.gear = GearTable();
  s.gear_ls = GearTableShifted();
  return s;
}

Result<Chunker> Chunker::Create(const ChunkerParams& params, const KernelTable& kernels) {
  AS_RETURN_IF_ERROR(ValidateChunkerParams(params));
  return Chunker(params, kernels);
}

Chunker::Chunker(const ChunkerParams& params, const KernelTable& kernels)
    : params_(params), cut_(kernels.fastcdc_cut), kernel_name_(kernels.fastcdc_name) {
  Status st = ValidateChunkerParams(params);
  if (!st.ok()) {
    std::fprintf(stderr, "artifact-store: Chunker: %s\n", st.ToString().c_str());
    std::abort();
  }
  if (cut_ == nullptr) {
    cut_ = &FastcdcCutPortable;
    kernel_name_ = "fastcdc_portable";
  }
  scan_ = MakeScanParams(params);
}

}  // namespace as
