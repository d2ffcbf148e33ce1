#include "kernels/fastcdc_scan.h"

namespace as {

size_t FastcdcCutReference(const FastcdcScanParams& p, const uint8_t* src, size_t n,
                           uint64_t* hash_out) {
  uint64_t hash = 0;
  size_t result = 0;
  size_t remaining = n < p.max ? n : p.max;
  if (remaining <= p.min) {
    result = remaining;
  } else {
    size_t center = p.avg < remaining ? p.avg : remaining;
    size_t i = p.min / 2;
    bool cut = false;
    while (!cut && i < remaining / 2) {
      bool small = i < center / 2;
      uint64_t mask = small ? p.mask_s : p.mask_l;
      size_t a = 2 * i;
      hash = (hash << 2) + p.gear_ls[src[a]];
      if ((hash & (mask << 1)) == 0) {
        result = a;
        cut = true;
        break;
      }
      hash = hash + p.gear[src[a + 1]];
      if ((hash & mask) == 0) {
        result = a + 1;
        cut = true;
        break;
      }
      ++i;
    }
    if (!cut) result = remaining;
  }
  if (hash_out) *hash_out = hash;
  return result;
}

namespace {

constexpr size_t kNoCut = ~size_t{0};

// Scans pairs [i, end) with one mask; returns the cut length or kNoCut.
// h1 = state after the even byte, h2 = after the odd byte. Computing
// h2 = (h << 2) + (gear_ls[x] + gear[y]) keeps the loop-carried chain at a
// shift and an add per two bytes.
inline size_t ScanPairs(const uint8_t* src, size_t i, size_t end, uint64_t mask,
                        uint64_t mask_ls, const uint64_t* gear, const uint64_t* gear_ls,
                        uint64_t* h) {
  uint64_t hash = *h;
  for (; i < end; ++i) {
    const uint8_t* q = src + 2 * i;
    uint64_t x = gear_ls[q[0]];
    uint64_t xy = x + gear[q[1]];
    uint64_t base = hash << 2;
    uint64_t h1 = base + x;
    uint64_t h2 = base + xy;
    if (__builtin_expect(((h1 & mask_ls) == 0) | ((h2 & mask) == 0), 0)) {
      if ((h1 & mask_ls) == 0) {
        *h = h1;
        return 2 * i;
      }
      *h = h2;
      return 2 * i + 1;
    }
    hash = h2;
  }
  *h = hash;
  return kNoCut;
}

}  // namespace

size_t FastcdcCutPortable(const FastcdcScanParams& p, const uint8_t* src, size_t n,
                          uint64_t* hash_out) {
  size_t remaining = n < p.max ? n : p.max;
  uint64_t h = 0;
  if (remaining > p.min) {
    size_t center = p.avg < remaining ? p.avg : remaining;
    size_t i0 = p.min / 2;
    size_t cut = ScanPairs(src, i0, center / 2, p.mask_s, p.mask_s_ls, p.gear, p.gear_ls, &h);
    if (cut == kNoCut) {
      size_t i1 = i0 > center / 2 ? i0 : center / 2;
      cut = ScanPairs(src, i1, remaining / 2, p.mask_l, p.mask_l_ls, p.gear, p.gear_ls, &h);
    }
    if (cut != kNoCut) remaining = cut;
  }
  if (hash_out) *hash_out = h;
  return remaining;
}

}  // namespace as
