// Striped FastCDC 2020 scan (see kernels/fastcdc_simd.h, docs/asm/fastcdc.md).
//
// Closed form. Let the scan start at pair i0 = min/2 with state 0, and let
// G(x) = sum_{p = 2*i0}^{x} GEAR[b_p] << (x - p)   (mod 2^64).
// Then the v2020 loop's state is G(x) << 1 right after the even byte x = 2i and
// G(x) right after the odd byte x = 2i + 1, because GEAR_LS = GEAR << 1 and each
// pair shifts by two. A term older than 63 bytes is shifted out, so the state at
// any pair is exactly the state obtained by starting from 0 at
// max(i0, pair - 32): a stripe starting at pair s is warmed up on the 32 pairs
// before s (no tests) and is then exact, state and all.
#include <cstddef>
#include <cstdint>

#include "kernels/fastcdc_simd.h"

namespace as {
namespace {

constexpr size_t kNone = ~size_t{0};
constexpr size_t kWarmPairs = 32;  // 64 bytes: the whole 64-bit state
constexpr size_t kMinStripePairs = 64;

struct Tables {
  const uint64_t* g;
  const uint64_t* gls;
};

// Folds the pairs [lo, hi) into a state that starts at 0, without tests.
inline uint64_t Warm(const Tables& t, const uint8_t* src, size_t lo, size_t hi) {
  uint64_t h = 0;
  for (size_t j = lo; j < hi; ++j) h = (h << 2) + t.gls[src[2 * j]] + t.g[src[2 * j + 1]];
  return h;
}

// One pair at a time, like the reference: first cut (byte position) in pairs
// [i, end) continuing from state h, or kNone; h is the state at return.
inline size_t Seq(const Tables& t, const uint8_t* src, size_t i, size_t end, uint64_t m,
                  uint64_t mls, uint64_t& h) {
  for (; i < end; ++i) {
    h = (h << 2) + t.gls[src[2 * i]];
    if ((h & mls) == 0) return 2 * i;
    h += t.g[src[2 * i + 1]];
    if ((h & m) == 0) return 2 * i + 1;
  }
  return kNone;
}


// The hot loop for four stripes at p, p + st, p + 2 st, p + 3 st (st in bytes),
// `pairs` pairs each, written so that the compiler keeps everything in
// registers: four states, two running pointers (p and p + st, so every stripe is
// one base + index*scale address), the stride, two tables, two masks.
// Returns 0 when no byte passed its test, else 1 + 2 k + (odd byte), with
// *done = the pair index of the hit; h[] holds the states at return.
inline int Block4(const Tables& t, const uint8_t* p, size_t st, size_t pairs, uint64_t m,
                  uint64_t mls, uint64_t* h, size_t* done) {
  const uint64_t* const g = t.g;
  const uint64_t* const gls = t.gls;
  uint64_t h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3];
  const uint8_t* const start = p;
  const uint8_t* const end = p + 2 * pairs;
  const uint8_t* p1 = p + st;
  int code = 0;
#define AS_EVEN(H, ADDR, C)                                   \
  H = (H << 2) + gls[ADDR];                                   \
  if (__builtin_expect((H & mls) == 0, 0)) {                  \
    code = C;                                                 \
    goto out;                                                 \
  }
#define AS_ODD(H, ADDR, C)                                    \
  H += g[ADDR];                                               \
  if (__builtin_expect((H & m) == 0, 0)) {                    \
    code = C;                                                 \
    goto out;                                                 \
  }
  for (; p != end; p += 2, p1 += 2) {
    AS_EVEN(h0, p[0], 1)
    AS_ODD(h0, p[1], 2)
    AS_EVEN(h1, p1[0], 3)
    AS_ODD(h1, p1[1], 4)
    AS_EVEN(h2, p[2 * st], 5)
    AS_ODD(h2, p[2 * st + 1], 6)
    AS_EVEN(h3, p1[2 * st], 7)
    AS_ODD(h3, p1[2 * st + 1], 8)
  }
#undef AS_EVEN
#undef AS_ODD
out:
  h[0] = h0, h[1] = h1, h[2] = h2, h[3] = h3;
  *done = static_cast<size_t>(p - start) / 2;
  return code;
}

inline size_t WarmStart(size_t i0, size_t s) { return s >= i0 + kWarmPairs ? s - kWarmPairs : i0; }

// First cut (byte position) among pairs [j, end) with masks (m, mls), the state
// being zero at pair i0 <= j. *h receives the gear state at the cut.
template <int K>
size_t ScanRange(const Tables& t, const uint8_t* src, size_t i0, size_t j, size_t end,
                 uint64_t m, uint64_t mls, size_t stripe_pairs, uint64_t* hash) {
  while (end - j >= K * kMinStripePairs) {
    size_t s = (end - j) / K;
    if (s > stripe_pairs) s = stripe_pairs;
    uint64_t h[K];
    const uint8_t* q[K];
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k) {
      size_t st = j + k * s;
      h[k] = Warm(t, src, WarmStart(i0, st), st);
      q[k] = src + 2 * st;
    }
    int hit_k = -1;
    size_t hit_t = 0;
    bool odd = false;
    if constexpr (K == 4) {
      int code = Block4(t, q[0], 2 * s, s, m, mls, h, &hit_t);
      if (code == 0) {
        j += K * s;
        continue;
      }
      hit_k = (code - 1) / 2;
      odd = (code - 1) % 2 == 1;
      goto hit;
    }
    for (size_t u = 0; u < s; ++u) {
#pragma GCC unroll 8
      for (int k = 0; k < K; ++k) {
        h[k] = (h[k] << 2) + t.gls[q[k][2 * u]];
        if (__builtin_expect((h[k] & mls) == 0, 0)) {
          hit_k = k, hit_t = u, odd = false;
          goto hit;
        }
        h[k] += t.g[q[k][2 * u + 1]];
        if (__builtin_expect((h[k] & m) == 0, 0)) {
          hit_k = k, hit_t = u, odd = true;
          goto hit;
        }
      }
    }
    j += K * s;
    continue;
  hit:
    // Stripes before hit_k finished pair hit_t without a cut; a cut in the rest
    // of one of them comes first.
    for (int k = 0; k < hit_k; ++k) {
      size_t st = j + k * s;
      uint64_t hk = h[k];
      size_t c = Seq(t, src, st + hit_t + 1, st + s, m, mls, hk);
      if (c != kNone) {
        *hash = hk;
        return c;
      }
    }
    *hash = h[hit_k];
    return 2 * (j + hit_k * s + hit_t) + (odd ? 1 : 0);
  }
  uint64_t h = Warm(t, src, WarmStart(i0, j), j);
  size_t c = Seq(t, src, j, end, m, mls, h);
  *hash = h;
  return c;
}

}  // namespace

template <int K>
size_t FastcdcCutStripedK(const FastcdcScanParams& p, const uint8_t* src, size_t n,
                          uint64_t* hash_out, size_t stripe_pairs) {
  size_t remaining = n < p.max ? n : p.max;
  uint64_t h = 0;
  if (remaining > p.min) {
    Tables t{p.gear, p.gear_ls};
    size_t center = p.avg < remaining ? p.avg : remaining;
    size_t i0 = p.min / 2;
    size_t e1 = center / 2;
    size_t e2 = remaining / 2;
    size_t cut = kNone;
    if (i0 < e1) cut = ScanRange<K>(t, src, i0, i0, e1, p.mask_s, p.mask_s_ls, stripe_pairs, &h);
    if (cut == kNone) {
      size_t j = i0 > e1 ? i0 : e1;
      if (j < e2) cut = ScanRange<K>(t, src, i0, j, e2, p.mask_l, p.mask_l_ls, stripe_pairs, &h);
    }
    if (cut != kNone) {
      remaining = cut;
    } else {
      h = e2 > i0 ? Warm(t, src, WarmStart(i0, e2), e2) : 0;  // state after the last pair
    }
  }
  if (hash_out) *hash_out = h;
  return remaining;
}

template size_t FastcdcCutStripedK<2>(const FastcdcScanParams&, const uint8_t*, size_t,
                                      uint64_t*, size_t);
template size_t FastcdcCutStripedK<3>(const FastcdcScanParams&, const uint8_t*, size_t,
                                      uint64_t*, size_t);
template size_t FastcdcCutStripedK<4>(const FastcdcScanParams&, const uint8_t*, size_t,
                                      uint64_t*, size_t);
template size_t FastcdcCutStripedK<6>(const FastcdcScanParams&, const uint8_t*, size_t,
                                      uint64_t*, size_t);
template size_t FastcdcCutStripedK<8>(const FastcdcScanParams&, const uint8_t*, size_t,
                                      uint64_t*, size_t);

size_t FastcdcCutStriped(const FastcdcScanParams& p, const uint8_t* src, size_t n,
                         uint64_t* hash_out) {
  return FastcdcCutStripedK<4>(p, src, n, hash_out, 512);
}

}  // namespace as
