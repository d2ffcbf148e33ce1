// What the S3 layer keeps with each name (Store attrs, opaque to the store):
// the ETag, the content headers, user metadata and declared checksums.
// Encoded as deterministic CBOR, a map with small unsigned keys (docs/format/
// s3-attrs.md); strings are CBOR byte strings because HTTP header values
// need not be UTF-8. Decoding tolerates unknown keys (newer writers).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/status.h"
#include "s3/checksum.h"

namespace as {

struct ObjectAttrs {
  std::string etag;  // without quotes: hex MD5, or "<hex>-N" for multipart
  std::string content_type;
  // Content-Encoding, Content-Disposition, Cache-Control, Content-Language,
  // Expires: name (lowercase) -> value, returned as stored.
  std::map<std::string, std::string> headers;
  std::map<std::string, std::string> user;  // x-amz-meta-<name> (lowercase) -> value
  std::map<std::string, std::string> tags;  // S3 object tags: key -> value
  // S3 additional checksums, indexed by s3::Index(algo): base64 as S3
  // returns them ("<base64>-N" for a COMPOSITE one); empty = none. A new
  // object has at most one; older ones may have both CRC32C and SHA256.
  std::array<std::string, s3::kChecksumAlgos> checksums;
  bool checksum_composite = false;  // checksums[...] is COMPOSITE, not FULL_OBJECT
  // Of a multipart upload: the algorithm named at Create, which every part
  // computes and Complete combines.
  std::optional<s3::ChecksumAlgo> checksum_algorithm;
  uint32_t parts = 0;  // multipart: number of parts (0 = single put)
  // Multipart: each part's size, in order (GET ?partNumber=N). Empty for one
  // completed before they were recorded.
  std::vector<uint64_t> part_sizes;

  std::string& checksum(s3::ChecksumAlgo a) { return checksums[s3::Index(a)]; }
  const std::string& checksum(s3::ChecksumAlgo a) const { return checksums[s3::Index(a)]; }
  // The checksum S3 shows where it shows one (CopyObjectResult,
  // GetObjectAttributes, ListParts): the first algorithm of
  // s3::kAllChecksumAlgos that has a value; nullopt when none has.
  std::optional<s3::ChecksumAlgo> FirstChecksum() const;
  // "COMPOSITE" or "FULL_OBJECT", as x-amz-checksum-type and the XML say it.
  const char* ChecksumTypeName() const {
    return s3::ChecksumTypeName(checksum_composite ? s3::ChecksumType::kComposite
                                                   : s3::ChecksumType::kFullObject);
  }

  bool operator==(const ObjectAttrs&) const = default;
  std::string Encode() const;
  // An empty string (a name put by the CLI) decodes to empty attrs.
  static Result<ObjectAttrs> Decode(const std::string& bytes);
  // Decode, for what S3 shows of an object whose content digest is
  // `content`: one put without the S3 API (by the CLI, or a name restored by
  // `repair --reindex`) has no MD5, and its ETag is ContentEtag(content).
  static Result<ObjectAttrs> DecodeFor(const std::string& bytes, const Digest& content);
};

// The ETag of an object without an MD5: the first 16 bytes of its content
// digest in hex, then "-1". It is stable and changes with the bytes, so
// conditional requests and sync tools work; the part-count suffix is what
// S3 clients (s3cmd, rclone, mc) take as "not an MD5 of the bytes", so they
// do not compare it with one they computed (with no ETag at all, s3cmd
// warns of an MD5 mismatch and downloads the object again on every sync).
std::string ContentEtag(const Digest& content);

}  // namespace as
