// SigV4 client side: the Authorization header and presigned URLs. Tests and
// tools use it to talk to the server; it shares the canonical request with the
// verifier, so AWS's published examples pin both (tests/s3/sigv4_test.cc).
#include <algorithm>

#include "s3/sigv4.h"
#include "s3/uri.h"

namespace as::s3 {
namespace {

std::vector<std::string> SignedNames(std::span<const HttpHeader> headers) {
  std::vector<std::string> names;
  for (const auto& [n, v] : headers) {
    std::string lower(n);
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (lower != "authorization") names.push_back(std::move(lower));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out.push_back(';');
    out += n;
  }
  return out;
}

// The signature over `target`, or "" when the target has a bad percent-escape.
std::string Sign(std::string_view method, std::string_view target,
                 std::span<const HttpHeader> headers, const std::vector<std::string>& names,
                 std::string_view payload_hash, bool presigned, const SigV4Credentials& creds,
                 const std::string& amz_date, const std::string& scope) {
  auto cr = SigV4CanonicalRequest(method, target, headers, names, payload_hash, presigned);
  if (!cr.ok()) return "";
  SigV4Key key = SigV4SigningKey(creds.secret, amz_date.substr(0, 8), creds.region, "s3");
  return HmacSha256Hex(key, SigV4StringToSign(amz_date, scope, cr.value()));
}

}  // namespace

std::string SignSigV4(const HttpRequestView& req, std::string_view payload_hash,
                      const SigV4Credentials& creds, int64_t now) {
  std::string amz_date = FormatAmzDate(now);
  std::string scope = amz_date.substr(0, 8) + "/" + creds.region + "/s3/aws4_request";
  std::vector<std::string> names = SignedNames(req.headers);
  std::string sig = Sign(req.method, req.target, req.headers, names, payload_hash, false, creds,
                         amz_date, scope);
  return "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" + scope +
         ", SignedHeaders=" + Join(names) + ", Signature=" + sig;
}

std::string PresignSigV4(const HttpRequestView& req, const SigV4Credentials& creds, int64_t now,
                         int64_t expires_seconds) {
  std::string amz_date = FormatAmzDate(now);
  std::string scope = amz_date.substr(0, 8) + "/" + creds.region + "/s3/aws4_request";
  std::vector<std::string> names = SignedNames(req.headers);
  std::string target(req.target);
  RequestTarget t = SplitRequestTarget(req.target);
  if (!t.has_query) {
    target.push_back('?');
  } else if (!t.query.empty() && t.query.back() != '&') {
    target.push_back('&');
  }
  target += "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" +
            UriEncode(creds.access_key_id + "/" + scope, false) + "&X-Amz-Date=" + amz_date +
            "&X-Amz-Expires=" + std::to_string(expires_seconds) +
            "&X-Amz-SignedHeaders=" + UriEncode(Join(names), false);
  std::string sig = Sign(req.method, target, req.headers, names, "UNSIGNED-PAYLOAD", true, creds,
                         amz_date, scope);
  return target + "&X-Amz-Signature=" + sig;
}

}  // namespace as::s3
