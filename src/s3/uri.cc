#include "s3/uri.h"

#include <array>
#include <cstring>

namespace as::s3 {
namespace {

// kKept[keep_slash][c]: byte c is written as itself. A table, because SigV4
// encodes every byte of every request's path and query.
constexpr auto kKept = [] {
  std::array<std::array<bool, 256>, 2> t{};
  for (int c = 0; c < 256; c++) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    t[0][c] = unreserved;
    t[1][c] = unreserved || c == '/';
  }
  return t;
}();

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends the decoded bytes of s to *out (left as it was on error). Every
// request decodes its path and query, so runs without an escape are copied
// whole rather than byte by byte.
std::optional<S3Error> DecodeTo(std::string_view s, bool plus_is_space, std::string* out) {
  if (!plus_is_space && s.find('%') == std::string_view::npos) {
    out->append(s);  // the usual case: nothing to decode
    return std::nullopt;
  }
  const size_t base = out->size();
  out->resize(base + s.size());  // decoding never grows the text
  char* w = out->data() + base;
  size_t i = 0;
  while (i < s.size()) {
    size_t run;
    if (plus_is_space) {
      run = s.find_first_of("%+", i);
    } else {
      run = s.find('%', i);
    }
    if (run == std::string_view::npos) run = s.size();
    std::memcpy(w, s.data() + i, run - i);
    w += run - i;
    i = run;
    if (i == s.size()) break;
    if (s[i] == '+') {
      *w++ = ' ';
      i++;
      continue;
    }
    int hi = i + 2 < s.size() ? HexValue(s[i + 1]) : -1;
    int lo = hi >= 0 ? HexValue(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      out->resize(base);
      return err::InvalidURI("bad percent-escape at offset " + std::to_string(i));
    }
    *w++ = static_cast<char>(hi * 16 + lo);
    i += 3;
  }
  out->resize(static_cast<size_t>(w - out->data()));
  return std::nullopt;
}

S3Expected<std::string> Decode(std::string_view s, bool plus_is_space) {
  std::string out;
  if (auto e = DecodeTo(s, plus_is_space, &out)) return *e;
  return out;
}

}  // namespace

void AppendUriEncoded(std::string_view s, bool keep_slash, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const size_t base = out->size();
  out->resize(base + 3 * s.size());  // the most it can take; trimmed below
  char* w = out->data() + base;
  const std::array<bool, 256>& kept = kKept[keep_slash ? 1 : 0];
  for (unsigned char c : s) {
    if (kept[c]) {
      *w++ = static_cast<char>(c);
    } else {
      *w++ = '%';
      *w++ = kHex[c >> 4];
      *w++ = kHex[c & 15];
    }
  }
  out->resize(static_cast<size_t>(w - out->data()));
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  AppendUriEncoded(s, keep_slash, &out);
  return out;
}

S3Expected<std::string> UriDecode(std::string_view s) { return Decode(s, false); }

std::optional<S3Error> AppendUriDecoded(std::string_view s, std::string* out) {
  return DecodeTo(s, false, out);
}

RequestTarget SplitRequestTarget(std::string_view target) {
  RequestTarget t;
  size_t q = target.find('?');
  if (q == std::string_view::npos) {
    t.path = target;
    return t;
  }
  t.path = target.substr(0, q);
  t.query = target.substr(q + 1);
  t.has_query = true;
  return t;
}

S3Expected<std::vector<QueryParam>> ParseQuery(std::string_view raw, bool plus_is_space) {
  std::vector<QueryParam> out;
  // At most one pair per '&'-separated piece: one allocation, not a growth
  // sequence (a presigned URL has six).
  size_t pieces = 1;
  for (size_t amp = raw.find('&'); amp != std::string_view::npos; amp = raw.find('&', amp + 1)) {
    pieces++;
  }
  out.reserve(pieces);
  size_t start = 0;
  while (start <= raw.size()) {
    size_t amp = raw.find('&', start);
    if (amp == std::string_view::npos) amp = raw.size();
    std::string_view piece = raw.substr(start, amp - start);
    start = amp + 1;
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    std::string_view k = piece.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    QueryParam& p = out.emplace_back();
    if (auto e = DecodeTo(k, plus_is_space, &p.first)) return *e;
    if (auto e = DecodeTo(v, plus_is_space, &p.second)) return *e;
  }
  return out;
}

}  // namespace as::s3
