// HTTP pieces an S3 GET/HEAD needs, with no sockets: one Range header
// resolved against an object's size, HTTP and ISO 8601 dates, conditional
// request evaluation (RFC 9110 section 13.2.2) and strict base64.
//
// Everything here is a pure function of its arguments (ParseHttpDate reads the
// clock only to place a two-digit RFC 850 year), so the server can call it
// from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace as::s3 {

// ---- Range -----------------------------------------------------------------

struct RangeResult {
  enum class Kind {
    kWhole,          // no usable Range header: 200 with the whole object
    kPartial,        // 206 with bytes [first, last] and Content-Range
    kUnsatisfiable,  // 416 InvalidRange with Content-Range "bytes */size"
  };
  Kind kind = Kind::kWhole;
  uint64_t first = 0, last = 0;  // inclusive; meaningful for kPartial only
  uint64_t length() const { return kind == Kind::kPartial ? last - first + 1 : 0; }
};

// Resolves the value of a Range header (nullopt when absent) for an object of
// `size` bytes. S3 serves one range per request, so:
//  - "bytes=a-b", "bytes=a-" and "bytes=-n" (the last n bytes) are honoured;
//    b past the end is clamped to size-1; the unit is case-insensitive.
//  - a first byte at or past the end, or "bytes=-0", is kUnsatisfiable; on an
//    empty object every a-b / a- form is (nothing overlaps byte 0).
//  - "bytes=-n" (n > 0) on an empty object selects nothing, yet RFC 9110
//    14.1.1 calls it satisfiable: it is served whole (200, no body).
//  - anything else (bad syntax, b < a, another unit, several ranges) is
//    ignored, which RFC 9110 14.2 allows and S3 does: kWhole.
RangeResult ResolveRange(std::optional<std::string_view> header, uint64_t size);

// "bytes 0-99/1234" for kPartial, "bytes */1234" for kUnsatisfiable, "" for kWhole.
std::string ContentRange(const RangeResult& r, uint64_t size);

// ---- Dates -----------------------------------------------------------------

// IMF-fixdate (RFC 9110 5.6.7), the form of Last-Modified and Date:
// "Tue, 24 Nov 2026 01:35:27 GMT".
std::string FormatHttpDate(int64_t unix_seconds);

// ISO 8601 UTC with milliseconds, the form of S3 XML timestamps:
// "2026-11-24T01:35:27.000Z".
std::string FormatIso8601(int64_t unix_millis);

// Any of the three HTTP-date forms a recipient must accept: IMF-fixdate,
// RFC 850 ("Tuesday, 24-Nov-26 01:35:27 GMT"; a two-digit year more than 50
// years ahead of now is taken as the past century) and asctime ("Tue Nov 24
// 01:35:27 2026"). nullopt on anything else, including an impossible date:
// callers then ignore the condition that carried it (RFC 9110 13.1.3).
std::optional<int64_t> ParseHttpDate(std::string_view text);

// "YYYY-MM-DDTHH:MM:SS[.fff]Z" (1 to 9 fraction digits, truncated to ms),
// as FormatIso8601 writes it. nullopt otherwise.
std::optional<int64_t> ParseIso8601(std::string_view text);

// ---- Conditional requests --------------------------------------------------

// Raw header values; nullopt = header absent.
struct ConditionHeaders {
  std::optional<std::string> if_match = {}, if_none_match = {};
  std::optional<std::string> if_modified_since = {}, if_unmodified_since = {};
};

// The object the request targets, when it exists.
struct ObjectState {
  std::string etag = {};  // without quotes, e.g. "9b2cf535f27731c974343645a3985328"
  int64_t last_modified = 0;  // unix seconds
};

enum class ConditionResult {
  kProceed,
  kNotModified,         // 304 (only for GET and HEAD)
  kPreconditionFailed,  // 412 PreconditionFailed
};

// Evaluates the four preconditions in the order of RFC 9110 13.2.2, which is
// also the precedence S3 documents: If-Match, else If-Unmodified-Since; then
// If-None-Match, else (GET/HEAD only) If-Modified-Since. A header that fails
// to parse is ignored. Entity tags may be quoted or bare (S3 accepts both);
// If-Match compares strongly (a W/ tag never matches), If-None-Match weakly.
// Dates compare at one-second resolution, the resolution of HTTP dates.
// `current` is nullopt when the object does not exist (If-Match fails,
// If-None-Match: * passes); `get_or_head` selects 304 over 412 for a
// matching If-None-Match and enables If-Modified-Since.
ConditionResult EvaluateConditions(const ConditionHeaders& h,
                                   const std::optional<ObjectState>& current, bool get_or_head);

// ---- base64 (RFC 4648) -----------------------------------------------------

std::string Base64Encode(std::string_view bytes);
// Strict: padded, length a multiple of 4, no whitespace, zero unused bits,
// so each byte string has exactly one accepted text (checksums compare as text).
std::optional<std::string> Base64Decode(std::string_view text);

// URL-safe alphabet ('-', '_') without padding: for opaque tokens in URLs.
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace as::s3
