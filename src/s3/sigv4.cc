// SigV4 verification: parsing the Authorization header or the presign query,
// the checks that need no secret, then the signature itself.
#include "s3/sigv4.h"

#include <array>
#include <cstring>

#include "base/bytes.h"
#include "s3/uri.h"

namespace as::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

// All values of header `name`, in the order received.
std::vector<std::string_view> HeaderValues(std::span<const HttpHeader> headers,
                                           std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& [n, v] : headers) {
    if (AsciiIEquals(n, name)) out.push_back(v);
  }
  return out;
}

bool IsLowerHex(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Errors about the form of the authentication read differently for the two
// forms, as in S3.
S3Error Malformed(bool presigned, const std::string& what) {
  if (presigned) return err::AuthorizationQueryParametersError(what);
  return err::AuthorizationHeaderMalformed("The authorization header is malformed; " + what);
}

std::optional<S3Error> ParseCredential(std::string_view cred, bool presigned, SigV4Auth* a) {
  std::string_view parts[5];
  size_t count = 0, start = 0;
  while (true) {
    size_t slash = cred.find('/', start);
    if (count < 5) {
      parts[count] = cred.substr(start, slash == std::string_view::npos ? slash : slash - start);
    }
    count++;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (count != 5) {
    return Malformed(presigned, "the Credential is mal-formed; expecting "
                                "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
  }
  for (std::string_view p : parts) {
    if (p.empty()) return Malformed(presigned, "the Credential has an empty part.");
  }
  int digits = 0;
  for (char c : parts[1]) digits += c >= '0' && c <= '9';
  if (parts[1].size() != 8 || digits != 8) {
    return Malformed(presigned, "invalid credential date \"" + std::string(parts[1]) + "\".");
  }
  if (parts[3] != "s3") {
    return Malformed(presigned, "incorrect service \"" + std::string(parts[3]) +
                                    "\". This endpoint belongs to \"s3\".");
  }
  if (parts[4] != "aws4_request") {
    return Malformed(presigned, "incorrect terminal \"" + std::string(parts[4]) +
                                    "\". This endpoint uses \"aws4_request\".");
  }
  a->access_key_id = parts[0];
  a->date = parts[1];
  a->region = parts[2];
  // A fresh string, not assign(): GCC 12 -Wrestrict false positive at -O3 (GCC bug 105329).
  a->service = std::string(parts[3]);
  std::string_view scope = cred.substr(parts[0].size() + 1);  // date/region/service/terminal
  a->scope = scope;
  return std::nullopt;
}

std::optional<S3Error> ParseSignedHeaders(std::string_view list, bool presigned, SigV4Auth* a) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t semi = list.find(';', start);
    if (semi == std::string_view::npos) semi = list.size();
    std::string_view name = list.substr(start, semi - start);
    start = semi + 1;
    bool ok = !name.empty();
    for (char c : name) ok = ok && c > ' ' && c < 0x7f && !(c >= 'A' && c <= 'Z');
    if (!ok || (!a->signed_headers.empty() && !(a->signed_headers.back() < name))) {
      return Malformed(presigned, "SignedHeaders must be lowercase header names, sorted, "
                                  "separated by ';'.");
    }
    a->signed_headers.emplace_back(name);
  }
  bool has_host = false;
  for (const auto& n : a->signed_headers) has_host = has_host || n == "host";
  if (!has_host) return Malformed(presigned, "SignedHeaders must include 'host'.");
  return std::nullopt;
}

std::optional<S3Error> ParseSignature(std::string_view sig, bool presigned, SigV4Auth* a) {
  // Hex digits in either case, kept lowercase; by table, since every
  // request has one and a branch per byte costs more than the rest here.
  static constexpr auto kLowerHex = [] {
    std::array<char, 256> t{};  // 0: not a hex digit
    for (int c = 0; c < 256; c++) {
      if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) t[c] = static_cast<char>(c);
      if (c >= 'A' && c <= 'F') t[c] = static_cast<char>(c - 'A' + 'a');
    }
    return t;
  }();
  char lower[64];
  if (sig.size() != sizeof lower) {
    return Malformed(presigned, "the Signature must be 64 hexadecimal digits.");
  }
  bool bad = false;
  for (size_t i = 0; i < sizeof lower; i++) {
    lower[i] = kLowerHex[static_cast<unsigned char>(sig[i])];
    bad |= lower[i] == 0;
  }
  if (bad) return Malformed(presigned, "the Signature must be 64 hexadecimal digits.");
  a->signature.assign(lower, sizeof lower);
  return std::nullopt;
}

// Both forms: every x-amz-* header present must be signed.
std::optional<S3Error> CheckAmzHeadersSigned(const HttpRequestView& req, const SigV4Auth& a) {
  for (const auto& [n, v] : req.headers) {
    if (!AsciiIStartsWith(n, "x-amz-")) continue;
    bool is_signed = false;
    for (const auto& s : a.signed_headers) is_signed = is_signed || AsciiIEquals(n, s);
    if (!is_signed) {
      return err::AccessDenied(
          "There were headers present in the request which were not signed: " + n);
    }
  }
  return std::nullopt;
}

S3Expected<SigV4Auth> ParseHeaderAuth(const HttpRequestView& req, std::string_view value,
                                      int64_t now) {
  SigV4Auth a;
  if (!value.starts_with(kAlgorithm) || value.size() == kAlgorithm.size() ||
      value[kAlgorithm.size()] != ' ') {
    return err::InvalidRequest("The authorization mechanism you have provided is not "
                                 "supported. Please use AWS4-HMAC-SHA256.");
  }
  std::string_view cred, signed_headers, signature;
  bool have_cred = false, have_sh = false, have_sig = false;
  std::string_view rest = value.substr(kAlgorithm.size() + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = rest.find(',', start);
    if (comma == std::string_view::npos) comma = rest.size();
    std::string_view part = TrimOws(rest.substr(start, comma - start));
    start = comma + 1;
    size_t eq = part.find('=');
    std::string_view key = eq == std::string_view::npos ? part : part.substr(0, eq);
    std::string_view val = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    bool* seen = nullptr;
    std::string_view* slot = nullptr;
    if (key == "Credential") seen = &have_cred, slot = &cred;
    if (key == "SignedHeaders") seen = &have_sh, slot = &signed_headers;
    if (key == "Signature") seen = &have_sig, slot = &signature;
    if (eq == std::string_view::npos || !seen || *seen) {
      return Malformed(false, "unexpected or repeated component \"" + std::string(key) + "\".");
    }
    *seen = true;
    *slot = val;
  }
  if (!have_cred || !have_sh || !have_sig) {
    return Malformed(false, "it needs Credential, SignedHeaders and Signature.");
  }
  if (auto e = ParseCredential(cred, false, &a)) return *e;
  if (auto e = ParseSignedHeaders(signed_headers, false, &a)) return *e;
  if (auto e = ParseSignature(signature, false, &a)) return *e;

  // The signed time: x-amz-date, else Date.
  auto amz = HeaderValues(req.headers, "x-amz-date");
  std::optional<int64_t> t;
  if (amz.size() == 1) {
    t = ParseAmzDate(TrimOws(amz[0]));
    a.amz_date = TrimOws(amz[0]);  // signed as sent
  } else if (amz.empty()) {
    auto date = HeaderValues(req.headers, "date");
    if (date.size() == 1) t = ParseRfc1123Date(TrimOws(date[0]));
    if (t) a.amz_date = FormatAmzDate(*t);  // the string to sign takes the ISO 8601 form
  }
  if (!t) {
    return err::AccessDenied("AWS authentication requires a valid Date or x-amz-date header");
  }
  a.request_time = *t;
  if (a.amz_date.compare(0, 8, a.date) != 0) {
    return Malformed(false, "Invalid credential date. Date is not the same as X-Amz-Date.");
  }
  if (a.request_time > now + kSigV4MaxSkewSeconds || a.request_time < now - kSigV4MaxSkewSeconds) {
    return err::RequestTimeTooSkewed("The difference between the request time (" + a.amz_date +
                                       ") and the current time (" + FormatAmzDate(now) +
                                       ") is too large.");
  }

  auto sha = HeaderValues(req.headers, "x-amz-content-sha256");
  if (sha.empty()) {
    return err::InvalidRequest("Missing required header for this request: x-amz-content-sha256");
  }
  std::string_view p = sha.size() == 1 ? TrimOws(sha[0]) : std::string_view();
  if (p == "UNSIGNED-PAYLOAD") {
    a.payload_mode = PayloadMode::kUnsigned;
  } else if (p == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
    a.payload_mode = PayloadMode::kStreamingSigned;
  } else if (p == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") {
    a.payload_mode = PayloadMode::kStreamingSignedTrailer;
  } else if (p == "STREAMING-UNSIGNED-PAYLOAD-TRAILER") {
    a.payload_mode = PayloadMode::kStreamingUnsignedTrailer;
  } else if (IsLowerHex(p, 64)) {
    a.payload_mode = PayloadMode::kSha256;
  } else {
    return err::InvalidArgument("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* "
                                  "value, or a lowercase hex SHA-256");
  }
  a.payload_hash = p;
  if (auto e = CheckAmzHeadersSigned(req, a)) return *e;
  return a;
}

S3Expected<SigV4Auth> ParsePresigned(const HttpRequestView& req,
                                     const std::vector<QueryParam>& params, int64_t now) {
  SigV4Auth a;
  a.presigned = true;
  static constexpr std::string_view kNames[] = {"X-Amz-Algorithm", "X-Amz-Credential",
                                                "X-Amz-Date",      "X-Amz-Expires",
                                                "X-Amz-SignedHeaders", "X-Amz-Signature"};
  std::optional<std::string_view> v[6];
  for (const auto& [k, val] : params) {
    for (size_t i = 0; i < 6; i++) {
      if (k != kNames[i]) continue;
      if (v[i]) return Malformed(true, "X-Amz-* parameter " + k + " is repeated.");
      v[i] = val;
    }
  }
  for (const auto& x : v) {
    if (!x) {
      return Malformed(true, "Query-string authentication version 4 requires the "
                             "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
                             "X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
    }
  }
  if (*v[0] != kAlgorithm) {
    return Malformed(true, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  if (auto e = ParseCredential(*v[1], true, &a)) return *e;
  auto t = ParseAmzDate(*v[2]);
  if (!t) {
    return Malformed(true, "X-Amz-Date must be in the ISO8601 Long Format "
                           "\"yyyyMMdd'T'HHmmss'Z'\"");
  }
  a.request_time = *t;
  a.amz_date = std::string(*v[2]);
  if (a.amz_date.compare(0, 8, a.date) != 0) {
    return Malformed(true, "Invalid credential date. Date is not the same as X-Amz-Date.");
  }
  std::string_view exp = *v[3];
  int64_t seconds = 0;
  bool digits = !exp.empty() && exp.size() <= 7;
  for (char c : exp) {
    digits = digits && c >= '0' && c <= '9';
    if (digits) seconds = seconds * 10 + (c - '0');
  }
  if (!digits || seconds < 1) {
    return Malformed(true, "X-Amz-Expires must be a whole number of seconds from 1 to 604800");
  }
  if (seconds > kSigV4MaxExpiresSeconds) {
    return Malformed(true, "X-Amz-Expires must be less than a week (in seconds) that is; 604800");
  }
  a.expires_seconds = seconds;
  if (auto e = ParseSignedHeaders(*v[4], true, &a)) return *e;
  if (auto e = ParseSignature(*v[5], true, &a)) return *e;
  if (now > a.request_time + a.expires_seconds) return err::AccessDenied("Request has expired");
  if (a.request_time > now + kSigV4MaxSkewSeconds) {
    return err::AccessDenied("Request is not valid yet");
  }
  a.payload_mode = PayloadMode::kUnsigned;
  a.payload_hash = "UNSIGNED-PAYLOAD";
  if (auto e = CheckAmzHeadersSigned(req, a)) return *e;
  return a;
}

}  // namespace

S3Expected<SigV4Auth> ParseSigV4(const HttpRequestView& req, int64_t now) {
  auto auth_headers = HeaderValues(req.headers, "authorization");
  S3Expected<std::vector<QueryParam>> parsed = std::vector<QueryParam>();
  if (!req.query) {
    parsed = ParseQuery(SplitRequestTarget(req.target).query);
    if (!parsed.ok()) return parsed.error();
  }
  const std::vector<QueryParam>& params = req.query ? *req.query : parsed.value();
  bool query_v4 = false, query_v2 = false;
  for (const auto& [k, v] : params) {
    query_v4 = query_v4 || k == "X-Amz-Algorithm";
    query_v2 = query_v2 || k == "AWSAccessKeyId";
  }
  if (auth_headers.size() > 1) {
    return Malformed(false, "more than one Authorization header.");
  }
  if (!auth_headers.empty() && query_v4) {
    return err::InvalidArgument("Only one auth mechanism allowed; only the X-Amz-Algorithm "
                                  "query parameter or the Authorization header should be "
                                  "specified");
  }
  if (!auth_headers.empty()) return ParseHeaderAuth(req, TrimOws(auth_headers[0]), now);
  if (query_v4) return ParsePresigned(req, params, now);
  if (query_v2) {
    return err::InvalidRequest("The authorization mechanism you have provided is not "
                                 "supported. Please use AWS4-HMAC-SHA256.");
  }
  return err::AccessDenied("Access Denied: anonymous requests are not accepted; sign the "
                             "request with AWS Signature Version 4");
}

std::optional<S3Error> VerifySigV4(const SigV4Auth& auth, const HttpRequestView& req,
                                   std::string_view secret) {
  return VerifySigV4WithKey(auth, req,
                            SigV4SigningKey(secret, auth.date, auth.region, auth.service));
}

std::optional<S3Error> VerifySigV4WithKey(const SigV4Auth& auth, const HttpRequestView& req,
                                          const SigV4Key& key) {
  // Reused per thread: every request builds both, and they are a few hundred
  // bytes each.
  thread_local std::string cr, sts;
  cr.clear();
  sts.clear();
  if (auto e = AppendSigV4CanonicalRequest(req, auth.signed_headers, auth.payload_hash,
                                           auth.presigned, &cr)) {
    return e;
  }
  AppendSigV4StringToSign(auth.amz_date, auth.scope, cr, &sts);
  auto mac = HmacSha256(key.data(), key.size(), sts);
  static constexpr char kDigits[] = "0123456789abcdef";
  char expected[64];
  for (size_t i = 0; i < mac.size(); i++) {
    expected[2 * i] = kDigits[mac[i] >> 4];
    expected[2 * i + 1] = kDigits[mac[i] & 15];
  }
  if (!SignaturesEqual(std::string_view(expected, sizeof expected), auth.signature)) {
    return err::SignatureDoesNotMatch();
  }
  return std::nullopt;
}

std::optional<S3Error> CheckPayloadSha256(const SigV4Auth& auth, const uint8_t* sha256) {
  if (auth.payload_mode != PayloadMode::kSha256) return std::nullopt;
  std::string got = ToHex(sha256, 32);
  if (!SignaturesEqual(got, auth.payload_hash)) return err::XAmzContentSHA256Mismatch();
  return std::nullopt;
}

}  // namespace as::s3
