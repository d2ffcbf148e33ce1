// What the S3 layer keeps with each name (Store attrs, opaque to the store):
// the ETag, the content headers, user metadata and declared checksums.
// Encoded as deterministic CBOR, a map with small unsigned keys (docs/format/
// s3-attrs.md); strings are CBOR byte strings because HTTP header values
// need not be UTF-8. Decoding tolerates unknown keys (newer writers).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "base/status.h"

namespace as {

struct ObjectAttrs {
  std::string etag;  // without quotes: hex MD5, or "<hex>-N" for multipart
  std::string content_type;
  // Content-Encoding, Content-Disposition, Cache-Control, Content-Language,
  // Expires: name (lowercase) -> value, returned as stored.
  std::map<std::string, std::string> headers;
  std::map<std::string, std::string> user;  // x-amz-meta-<name> (lowercase) -> value
  std::string checksum_crc32c, checksum_sha256;  // base64, as S3 returns them
  uint32_t parts = 0;  // multipart: number of parts (0 = single put)

  std::string Encode() const;
  // An empty string (a name put by the CLI) decodes to empty attrs.
  static Result<ObjectAttrs> Decode(const std::string& bytes);
};

}  // namespace as
