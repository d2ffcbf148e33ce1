// AWS Signature Version 4 for S3: checking a request's signature (server side)
// and making one (client side, used by tests and tools).
//
// A server checks a request in two steps, so that it can look up the secret in
// between:
//
//   auto auth = ParseSigV4(req, now);            // the form, the clock, the scope
//   if (!auth.ok()) return auth.error();
//   secret = lookup(auth->access_key_id);        // unknown: err::InvalidAccessKeyId()
//   if (auto e = VerifySigV4(*auth, req, secret)) return *e;
//
// Then the body: for PayloadMode::kSha256 the caller hashes it and calls
// CheckPayloadSha256 before acting on it; for the STREAMING-* modes it wraps
// the body in an AwsChunkedDecoder (aws_chunked.h).
//
// Rules kept here, as S3 has them:
//  * Both forms: the Authorization header, or a presigned URL (X-Amz-* query
//    parameters, payload always UNSIGNED-PAYLOAD). Both at once is an error; a
//    request with neither is AccessDenied (no anonymous access). SigV2 is
//    refused as unsupported.
//  * The credential scope is <key>/<yyyymmdd>/<any region>/s3/aws4_request; its
//    date must be the date of x-amz-date (or of Date, RFC 1123, when there is
//    no x-amz-date). Header-signed requests more than 15 minutes from `now` are
//    RequestTimeTooSkewed; a presigned URL lives X-Amz-Expires seconds
//    (1..604800) from X-Amz-Date and may not start more than 15 minutes ahead.
//  * `host` must be signed, and so must every x-amz-* header present (an
//    unsigned one could change what the request does, e.g. x-amz-copy-source).
//    SignedHeaders must be lowercase and sorted, as every signer writes them.
//  * Canonical URI: the path is split on '/', each segment percent-decoded and
//    re-encoded (so %2F inside a segment stays %2F); '.', '..' and empty
//    segments are kept as they are: S3 does not normalize paths.
//  * Canonical query: pairs decoded, re-encoded (with '/' encoded), sorted by
//    key then value; '+' is a literal '+' (see uri.h); a presigned URL's
//    X-Amz-Signature is left out.
//  * Canonical headers: values trimmed, runs of spaces collapsed to one,
//    repeated headers joined with ',' in the order received.
//  * Signatures are compared in constant time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "s3/s3_error.h"
#include "s3/uri.h"

namespace as::s3 {

using HttpHeader = std::pair<std::string, std::string>;  // name (any case), value

// A request as it arrived; the views must outlive the calls that take it.
struct HttpRequestView {
  std::string_view method;              // "GET", "PUT", ...
  std::string_view target;              // raw "path?query" exactly as on the wire
  std::span<const HttpHeader> headers;  // as received: any case, repeats allowed
  // The target's query as ParseQuery(SplitRequestTarget(target).query) gives
  // it, when the caller has parsed it already (a server does, for its own
  // use); null: parsed from `target` where needed.
  const std::vector<QueryParam>* query = nullptr;
};

// What x-amz-content-sha256 says the body is.
enum class PayloadMode {
  kSha256,                    // hex SHA-256 of the whole body (payload_hash)
  kUnsigned,                  // UNSIGNED-PAYLOAD (always, for presigned URLs)
  kStreamingSigned,           // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
  kStreamingSignedTrailer,    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
  kStreamingUnsignedTrailer,  // STREAMING-UNSIGNED-PAYLOAD-TRAILER
};

inline constexpr int64_t kSigV4MaxSkewSeconds = 15 * 60;
inline constexpr int64_t kSigV4MaxExpiresSeconds = 7 * 24 * 3600;  // 604800

// The parsed, not yet verified, authentication of a request.
struct SigV4Auth {
  bool presigned = false;
  std::string access_key_id;
  std::string date;     // yyyymmdd, from the credential scope
  std::string region;   // from the credential scope, e.g. "us-east-1"
  std::string service;  // "s3"
  std::string scope;    // "<date>/<region>/<service>/aws4_request"
  std::string amz_date;          // "yyyymmddThhmmssZ", the time that was signed
  int64_t request_time = 0;      // amz_date as unix seconds
  int64_t expires_seconds = 0;   // presigned only: X-Amz-Expires
  std::vector<std::string> signed_headers;  // lowercase, ascending, includes "host"
  std::string signature;         // 64 lowercase hex digits (the seed for aws-chunked)
  PayloadMode payload_mode = PayloadMode::kUnsigned;
  std::string payload_hash;      // the canonical request's last line, verbatim
};

// Parses and checks everything that does not need the secret. `now` is unix
// seconds.
S3Expected<SigV4Auth> ParseSigV4(const HttpRequestView& req, int64_t now);

// nullopt when the signature is right; SignatureDoesNotMatch otherwise (or an
// error about the request's form found only now, e.g. a bad escape in the path).
std::optional<S3Error> VerifySigV4(const SigV4Auth& auth, const HttpRequestView& req,
                                   std::string_view secret);

// For PayloadMode::kSha256: XAmzContentSHA256Mismatch unless `sha256` (32
// bytes, computed over the body received) is what the client declared. nullopt
// for the other modes.
// The same with the signing key already derived (SigV4SigningKey of the
// secret, auth.date, auth.region, auth.service): a server may cache it per
// key and day instead of running four HMACs per request.
std::optional<S3Error> VerifySigV4WithKey(const SigV4Auth& auth, const HttpRequestView& req,
                                          const std::array<uint8_t, 32>& key);

std::optional<S3Error> CheckPayloadSha256(const SigV4Auth& auth, const uint8_t* sha256);

// ---- Building blocks, shared with aws_chunked and the tests ----

using SigV4Key = std::array<uint8_t, 32>;

// HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request".
SigV4Key SigV4SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                         std::string_view service);
std::array<uint8_t, 32> HmacSha256(const uint8_t* key, size_t key_len, std::string_view data);
// Lowercase hex of HMAC-SHA256(key, data).
std::string HmacSha256Hex(const SigV4Key& key, std::string_view data);
std::string Sha256Hex(std::string_view data);
void AppendSha256Hex(std::string_view data, std::string* out);
// Constant-time comparison of two signatures (false when lengths differ).
bool SignaturesEqual(std::string_view a, std::string_view b);

// The canonical request. `signed_headers` lowercase and ascending; a signed
// header missing from the request is SignatureDoesNotMatch. With `presigned`,
// X-Amz-Signature is left out of the canonical query.
S3Expected<std::string> SigV4CanonicalRequest(std::string_view method, std::string_view target,
                                              std::span<const HttpHeader> headers,
                                              const std::vector<std::string>& signed_headers,
                                              std::string_view payload_hash, bool presigned);
// The same, appended to *cr, reading req.query when it is set.
std::optional<S3Error> AppendSigV4CanonicalRequest(const HttpRequestView& req,
                                                   const std::vector<std::string>& signed_headers,
                                                   std::string_view payload_hash, bool presigned,
                                                   std::string* cr);
// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical request>".
std::string SigV4StringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view canonical_request);
void AppendSigV4StringToSign(std::string_view amz_date, std::string_view scope,
                             std::string_view canonical_request, std::string* out);

// "yyyymmddThhmmssZ" <-> unix seconds (UTC). Parsing is strict.
std::string FormatAmzDate(int64_t unix_seconds);
std::optional<int64_t> ParseAmzDate(std::string_view s);
// RFC 1123 only: "Fri, 24 May 2013 00:00:00 GMT".
std::optional<int64_t> ParseRfc1123Date(std::string_view s);

// ---- Client side ----

struct SigV4Credentials {
  std::string access_key_id;
  std::string secret;
  std::string region = "us-east-1";
};

// The Authorization header value for `req`. Every header in req.headers is
// signed, so it must already hold all of them as they will be sent, including
// host, x-amz-date (= FormatAmzDate(now)) and x-amz-content-sha256
// (= payload_hash). `req.target` is the wire form (already percent-encoded).
std::string SignSigV4(const HttpRequestView& req, std::string_view payload_hash,
                      const SigV4Credentials& creds, int64_t now);

// `req.target` with the X-Amz-* presign parameters (signature last) appended.
// The headers in req.headers (normally just host) are the signed ones.
std::string PresignSigV4(const HttpRequestView& req, const SigV4Credentials& creds, int64_t now,
                         int64_t expires_seconds);

}  // namespace as::s3
