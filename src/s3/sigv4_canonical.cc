// SigV4 building blocks: HMAC, dates, the canonical request and the string to
// sign. Both the verifier (sigv4.cc) and the signer (sigv4_sign.cc) use these.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "base/bytes.h"
#include "hash/sha.h"
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

S3Expected<std::string> CanonicalUri(std::string_view path) {
  if (path.empty()) return std::string("/");
  std::string out;
  out.reserve(path.size() + 8);
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view seg =
        path.substr(start, slash == std::string_view::npos ? std::string_view::npos
                                                            : slash - start);
    auto decoded = UriDecode(seg);
    if (!decoded.ok()) return decoded.error();
    out += UriEncode(decoded.value(), /*keep_slash=*/false);
    if (slash == std::string_view::npos) break;
    out.push_back('/');
    start = slash + 1;
  }
  return out;
}

S3Expected<std::string> CanonicalQuery(std::string_view raw, bool presigned) {
  auto params = ParseQuery(raw);
  if (!params.ok()) return params.error();
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(params->size());
  for (const auto& [k, v] : params.value()) {
    if (presigned && k == "X-Amz-Signature") continue;
    enc.emplace_back(UriEncode(k, false), UriEncode(v, false));
  }
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

}  // namespace

std::array<uint8_t, 32> HmacSha256(const uint8_t* key, size_t key_len, std::string_view data) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  // Failure means OpenSSL itself is broken; there is nothing sane to return.
  if (!HMAC(EVP_sha256(), key, static_cast<int>(key_len),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len) ||
      len != out.size()) {
    std::abort();
  }
  return out;
}

SigV4Key SigV4SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                         std::string_view service) {
  std::string k0 = "AWS4" + std::string(secret);
  auto k = HmacSha256(reinterpret_cast<const uint8_t*>(k0.data()), k0.size(), date);
  k = HmacSha256(k.data(), k.size(), region);
  k = HmacSha256(k.data(), k.size(), service);
  return HmacSha256(k.data(), k.size(), "aws4_request");
}

std::string HmacSha256Hex(const SigV4Key& key, std::string_view data) {
  auto mac = HmacSha256(key.data(), key.size(), data);
  return ToHex(mac.data(), mac.size());
}

std::string Sha256Hex(std::string_view data) {
  Digest d = Sha256(data.data(), data.size());
  return ToHex(d.bytes.data(), 32);
}

bool SignaturesEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

S3Expected<std::string> SigV4CanonicalRequest(std::string_view method, std::string_view target,
                                              std::span<const HttpHeader> headers,
                                              const std::vector<std::string>& signed_headers,
                                              std::string_view payload_hash, bool presigned) {
  RequestTarget t = SplitRequestTarget(target);
  auto uri = CanonicalUri(t.path);
  if (!uri.ok()) return uri.error();
  auto query = CanonicalQuery(t.query, presigned);
  if (!query.ok()) return query.error();

  std::string cr;
  cr.reserve(256 + target.size());
  cr.append(method).push_back('\n');
  cr.append(uri.value()).push_back('\n');
  cr.append(query.value()).push_back('\n');
  std::string names;
  for (const std::string& name : signed_headers) {
    cr.append(name).push_back(':');
    bool found = false;
    for (const auto& [hn, hv] : headers) {
      if (!AsciiIEquals(hn, name)) continue;
      if (found) cr.push_back(',');
      AppendCanonicalValue(hv, &cr);
      found = true;
    }
    if (!found) {
      return err::SignatureDoesNotMatch("signed header '" + name +
                                          "' is not in the request");
    }
    cr.push_back('\n');
    if (!names.empty()) names.push_back(';');
    names += name;
  }
  cr.push_back('\n');
  cr.append(names).push_back('\n');
  cr.append(payload_hash);
  return cr;
}

std::string SigV4StringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view canonical_request) {
  std::string s = "AWS4-HMAC-SHA256\n";
  s.append(amz_date).push_back('\n');
  s.append(scope).push_back('\n');
  s += Sha256Hex(canonical_request);
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
// range (timegm would quietly normalize 31 April to 1 May; we refuse it).
std::optional<int64_t> FromFields(int y, int mo, int d, int h, int mi, int s) {
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s == 60 ? 59 : s;  // a leap second counts as the second before it
  time_t t = timegm(&tm);
  if (tm.tm_mday != d || tm.tm_mon != mo - 1) return std::nullopt;
  return static_cast<int64_t>(t);
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
