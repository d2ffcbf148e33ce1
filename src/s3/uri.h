// URI pieces of the S3 protocol: SigV4 percent-encoding, strict decoding, and
// splitting a request target ("path?query" as it came off the wire).
//
// '+' in a query: decoded as a literal '+', never as a space. SigV4 signs the
// bytes the client meant, and every AWS SDK writes a space as %20 and '+' as
// %2B, so this reading makes their signatures check. A client that writes a
// space as '+' (HTML-form style) gets a different key or value than it meant,
// and its signature fails if it signed the space. ParseQuery can read '+' as a
// space for callers that want form semantics; the SigV4 code never asks for it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "s3/s3_error.h"

namespace as::s3 {

// Keeps A-Z a-z 0-9 - _ . ~ (and '/' when keep_slash); every other byte becomes
// %XX with uppercase hex. Works on bytes: UTF-8 is encoded byte by byte.
std::string UriEncode(std::string_view s, bool keep_slash);
// The same, appended to *out (no string of its own).
void AppendUriEncoded(std::string_view s, bool keep_slash, std::string* out);

// Replaces each %XX (either case of hex) by its byte. A '%' not followed by two
// hex digits is an InvalidURI error naming its offset. '+' stays '+'.
S3Expected<std::string> UriDecode(std::string_view s);
// The same, appended to *out; on error *out is left as it was.
std::optional<S3Error> AppendUriDecoded(std::string_view s, std::string* out);

struct RequestTarget {
  std::string_view path;   // up to the first '?' (the whole target when there is none)
  std::string_view query;  // after the first '?', raw; empty when there is none
  bool has_query = false;  // a '?' was present, even with nothing after it
};

// Splits at the first '?'. No decoding; views point into `target`.
RequestTarget SplitRequestTarget(std::string_view target);

using QueryParam = std::pair<std::string, std::string>;

// Splits a raw query on '&' and each piece at its first '=', decoding both
// sides strictly (UriDecode). Order is kept; empty pieces ("a&&b", a trailing
// '&') are skipped; a piece without '=' has an empty value. With plus_is_space,
// '+' decodes to ' ' (form encoding); otherwise it stays '+'.
S3Expected<std::vector<QueryParam>> ParseQuery(std::string_view raw, bool plus_is_space = false);

}  // namespace as::s3
