// SigV4 building blocks: dates, the canonical request and the string to sign
// (the hashing is in sigv4_crypto.cc). Both the verifier (sigv4.cc) and the
// signer (sigv4_sign.cc) use these.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "base/bytes.h"
#include "s3/sigv4.h"
#include "s3/uri.h"

namespace as::s3 {
namespace {

// Trims spaces and tabs at both ends and turns each run of spaces inside into one.
void AppendCanonicalValue(std::string_view v, std::string* out) {
  size_t b = 0, e = v.size();
  while (b < e && (v[b] == ' ' || v[b] == '\t')) b++;
  while (e > b && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
  bool prev_space = false;
  for (size_t i = b; i < e; i++) {
    if (v[i] == ' ') {
      if (!prev_space) out->push_back(' ');
      prev_space = true;
    } else {
      out->push_back(v[i]);
      prev_space = false;
    }
  }
}

// The path split on '/', each segment decoded and re-encoded, appended to *out.
std::optional<S3Error> AppendCanonicalUri(std::string_view path, std::string* out) {
  if (path.empty()) {
    out->push_back('/');
    return std::nullopt;
  }
  thread_local std::string decoded;  // reused: a request decodes every segment
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view seg =
        path.substr(start, slash == std::string_view::npos ? std::string_view::npos
                                                            : slash - start);
    if (seg.find('%') == std::string_view::npos) {
      AppendUriEncoded(seg, /*keep_slash=*/false, out);  // decoding would change nothing
    } else {
      decoded.clear();
      if (auto e = AppendUriDecoded(seg, &decoded)) return e;
      AppendUriEncoded(decoded, /*keep_slash=*/false, out);
    }
    if (slash == std::string_view::npos) break;
    out->push_back('/');
    start = slash + 1;
  }
  return std::nullopt;
}

// The decoded pairs re-encoded, sorted by key then value, appended to *out.
void AppendCanonicalQuery(const std::vector<QueryParam>& params, bool presigned,
                          std::string* out) {
  // Every pair encoded into one buffer, then sorted as offsets into it: a
  // request's query is a handful of pairs, not worth a string each.
  struct Pair {
    size_t key, key_len, value, value_len;
  };
  thread_local std::string enc;
  thread_local std::vector<Pair> pairs;
  enc.clear();
  pairs.clear();
  for (const auto& [k, v] : params) {
    if (presigned && k == "X-Amz-Signature") continue;
    Pair p;
    p.key = enc.size();
    AppendUriEncoded(k, false, &enc);
    p.key_len = enc.size() - p.key;
    p.value = enc.size();
    AppendUriEncoded(v, false, &enc);
    p.value_len = enc.size() - p.value;
    pairs.push_back(p);
  }
  const std::string_view all = enc;
  std::sort(pairs.begin(), pairs.end(), [all](const Pair& a, const Pair& b) {
    int c = all.substr(a.key, a.key_len).compare(all.substr(b.key, b.key_len));
    if (c != 0) return c < 0;
    return all.substr(a.value, a.value_len) < all.substr(b.value, b.value_len);
  });
  for (size_t i = 0; i < pairs.size(); i++) {
    if (i) out->push_back('&');
    out->append(all.substr(pairs[i].key, pairs[i].key_len));
    out->push_back('=');
    out->append(all.substr(pairs[i].value, pairs[i].value_len));
  }
}

}  // namespace

std::optional<S3Error> AppendSigV4CanonicalRequest(const HttpRequestView& req,
                                                   const std::vector<std::string>& signed_headers,
                                                   std::string_view payload_hash, bool presigned,
                                                   std::string* cr) {
  RequestTarget t = SplitRequestTarget(req.target);
  cr->append(req.method).push_back('\n');
  if (auto e = AppendCanonicalUri(t.path, cr)) return e;
  cr->push_back('\n');
  if (req.query) {
    AppendCanonicalQuery(*req.query, presigned, cr);
  } else {
    auto params = ParseQuery(t.query);
    if (!params.ok()) return params.error();
    AppendCanonicalQuery(params.value(), presigned, cr);
  }
  cr->push_back('\n');
  for (const std::string& name : signed_headers) {
    cr->append(name).push_back(':');
    bool found = false;
    for (const auto& [hn, hv] : req.headers) {
      if (!AsciiIEquals(hn, name)) continue;
      if (found) cr->push_back(',');
      AppendCanonicalValue(hv, cr);
      found = true;
    }
    if (!found) {
      return err::SignatureDoesNotMatch("signed header '" + name + "' is not in the request");
    }
    cr->push_back('\n');
  }
  cr->push_back('\n');
  for (size_t i = 0; i < signed_headers.size(); i++) {
    if (i) cr->push_back(';');
    cr->append(signed_headers[i]);
  }
  cr->push_back('\n');
  cr->append(payload_hash);
  return std::nullopt;
}

S3Expected<std::string> SigV4CanonicalRequest(std::string_view method, std::string_view target,
                                              std::span<const HttpHeader> headers,
                                              const std::vector<std::string>& signed_headers,
                                              std::string_view payload_hash, bool presigned) {
  std::string cr;
  HttpRequestView req{method, target, headers};
  if (auto e = AppendSigV4CanonicalRequest(req, signed_headers, payload_hash, presigned, &cr)) {
    return *e;
  }
  return cr;
}

void AppendSigV4StringToSign(std::string_view amz_date, std::string_view scope,
                             std::string_view canonical_request, std::string* out) {
  out->append("AWS4-HMAC-SHA256\n");
  out->append(amz_date).push_back('\n');
  out->append(scope).push_back('\n');
  AppendSha256Hex(canonical_request, out);
}

std::string SigV4StringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view canonical_request) {
  std::string s;
  AppendSigV4StringToSign(amz_date, scope, canonical_request, &s);
  return s;
}

std::string FormatAmzDate(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[96];  // room for any int fields, so the compiler sees no truncation
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Unix seconds for a broken-down UTC time, or nullopt when a field is out of
// range (31 April is refused, not read as 1 May). On std::chrono's calendar:
// every request parses a date, and timegm costs more than the rest of it.
std::optional<int64_t> FromFields(int y, int mo, int d, int h, int mi, int s) {
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  const int64_t days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  if (s == 60) s = 59;  // a leap second counts as the second before it
  return days * 86400 + h * 3600 + mi * 60 + s;
}

}  // namespace

std::optional<int64_t> ParseAmzDate(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z' || !Digits(s, 0, 4, &y) ||
      !Digits(s, 4, 2, &mo) || !Digits(s, 6, 2, &d) || !Digits(s, 9, 2, &h) ||
      !Digits(s, 11, 2, &mi) || !Digits(s, 13, 2, &sec)) {
    return std::nullopt;
  }
  return FromFields(y, mo, d, h, mi, sec);
}

std::optional<int64_t> ParseRfc1123Date(std::string_view s) {
  // "Fri, 24 May 2013 00:00:00 GMT": fixed positions.
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  int d, y, h, mi, sec;
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT" || !Digits(s, 5, 2, &d) ||
      !Digits(s, 12, 4, &y) || !Digits(s, 17, 2, &h) || !Digits(s, 20, 2, &mi) ||
      !Digits(s, 23, 2, &sec)) {
    return std::nullopt;
  }
  size_t m = kMonths.find(s.substr(8, 3));
  if (m == std::string_view::npos || m % 3 != 0) return std::nullopt;
  return FromFields(y, static_cast<int>(m / 3) + 1, d, h, mi, sec);
}

}  // namespace as::s3
