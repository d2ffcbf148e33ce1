// Strict UTF-8 validation (Unicode 15, table 3-7 "well-formed byte sequences").
#include "cbor/utf8.h"

#include "cbor/cbor.h"

namespace as::cbor {
namespace internal {

size_t Utf8ErrorOffset(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    // Number of continuation bytes and the allowed range of the first one.
    size_t extra;
    uint8_t lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      extra = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      extra = 2;
      if (b == 0xe0) lo = 0xa0;       // no overlongs
      if (b == 0xed) hi = 0x9f;       // no surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      extra = 3;
      if (b == 0xf0) lo = 0x90;       // no overlongs
      if (b == 0xf4) hi = 0x8f;       // nothing above U+10FFFF
    } else {
      return i;  // 0x80..0xc1 (stray continuation / overlong lead), 0xf5..0xff
    }
    if (n - i <= extra) return i;  // sequence cut short by the end
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k <= extra; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return i;
    }
    i += extra + 1;
  }
  return n;
}

}  // namespace internal

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  return internal::Utf8ErrorOffset(p, s.size()) == s.size();
}

}  // namespace as::cbor
