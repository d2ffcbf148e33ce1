// The XML documents of the S3 REST API (2006-03-01): plain structs, builders
// for the responses and strict parsers for the request bodies.
//
// Builders return a complete UTF-8 document starting with
// <?xml version="1.0" encoding="UTF-8"?>; every root but <Error> carries
// xmlns="http://s3.amazonaws.com/doc/2006-03-01/" (S3's own errors carry none).
// Text is escaped ('&', '<', '>'; '\r' and the other C0 controls but tab and
// newline as character references), so any UTF-8 key reads back unchanged.
// Controls other than tab, newline and '\r' are not XML 1.0 characters even
// as references; clients that fear them ask for encoding-type=url, and then
// Key, Prefix, Delimiter, Marker, NextMarker and StartAfter are
// percent-encoded (all but unreserved characters and '/', space as %20).
// Timestamps are unix milliseconds, written as ISO 8601 ("...T01:35:27.000Z").
//
// Parsers reject what is not well-formed, a wrong root element, and missing or
// repeated required children, with Code::kInvalidArgument and a message that
// says what was wrong; the server answers MalformedXML. Unknown children are
// ignored (newer clients add checksum elements). Namespace prefixes on element
// names are ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "s3/checksum.h"
#include "s3/listing.h"

namespace as::s3 {

// An ETag as S3 writes it, in double quotes.
std::string Quoted(std::string_view etag);

inline constexpr const char* kS3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";

// ---- Responses -------------------------------------------------------------

struct ErrorDoc {
  std::string code = {};      // "NoSuchKey"
  std::string message = {};
  std::string resource = {};  // "/bucket/key"; element omitted when empty
  std::string request_id = {};
  // Extra elements after Message, in order (e.g. BucketName, Key, StringToSign).
  std::vector<std::pair<std::string, std::string>> extra = {};
};
std::string ErrorXml(const ErrorDoc& e);

struct Owner {
  std::string id = {}, display_name = {};
};

struct BucketSummary {
  std::string name = {};
  int64_t created = 0;  // unix ms
};
std::string ListAllMyBucketsXml(const Owner& owner, const std::vector<BucketSummary>& buckets);

// The request side of a ListObjects / ListObjectsV2 response; the listed
// entries, IsTruncated and the next position come from the ListPage.
struct ListObjectsParams {
  int version = 2;  // 1 = ListObjects, 2 = ListObjectsV2
  std::string bucket = {};
  std::string prefix = {};
  std::string delimiter = {};       // "" = none (element omitted)
  size_t max_keys = kMaxListKeys;
  bool encoding_url = false;        // encoding-type=url was asked for
  std::optional<Owner> owner = {};  // set = each Contents names it (V1 always; V2 fetch-owner)
  // V1
  std::string marker = {};  // echoed (always present in V1, possibly empty)
  // V2, echoed when given
  std::optional<std::string> continuation_token = {}, start_after = {};
};
// V1: NextMarker only when truncated and a delimiter was given (S3's rule;
// without one the client resumes from the last Key). V2: KeyCount (contents
// plus common prefixes) and, when truncated, NextContinuationToken.
std::string ListBucketResultXml(const ListObjectsParams& p, const ListPage& page);
// ListObjectVersions of a bucket that never had versioning: every object is
// its one, latest version, with VersionId "null" (as S3 lists objects put
// while versioning was off). p.marker is the KeyMarker; when truncated,
// NextKeyMarker is page.next and NextVersionIdMarker "null".
std::string ListVersionsResultXml(const ListObjectsParams& p, std::string_view version_id_marker,
                                  const ListPage& page);

struct InitiateMultipartUploadDoc {
  std::string bucket = {}, key = {}, upload_id = {};
};
std::string InitiateMultipartUploadXml(const InitiateMultipartUploadDoc& d);

// An S3 additional checksum as a document carries it: <ChecksumCRC32>
// (Spec(algo).element) holding the base64 value, and <ChecksumType>.
struct ChecksumXml {
  std::string element = {};  // "" = no checksum
  std::string value = {}, type = {};
};

struct CompleteMultipartUploadDoc {
  std::string location = {}, bucket = {}, key = {};
  std::string etag = {};  // without quotes, e.g. "<hex>-3"
  ChecksumXml checksum = {};
};
std::string CompleteMultipartUploadXml(const CompleteMultipartUploadDoc& d);

struct CopyResultDoc {
  int64_t last_modified = 0;  // unix ms
  std::string etag = {};      // without quotes
  ChecksumXml checksum = {};  // type unused
};
std::string CopyObjectResultXml(const CopyResultDoc& d);
std::string CopyPartResultXml(const CopyResultDoc& d);  // UploadPartCopy

struct PartSummary {
  uint32_t part_number = 0;
  int64_t last_modified = 0;  // unix ms
  std::string etag = {};      // without quotes
  uint64_t size = 0;
  ChecksumXml checksum = {};  // type unused
};
struct ListPartsDoc {
  std::string bucket = {}, key = {}, upload_id = {};
  uint32_t part_number_marker = 0;
  uint32_t next_part_number_marker = 0;
  uint32_t max_parts = 1000;
  bool is_truncated = false;
  std::optional<Owner> owner = {};  // set = Initiator and Owner
  std::string checksum_algorithm = {}, checksum_type = {};  // "" = none
  std::vector<PartSummary> parts = {};
};
std::string ListPartsXml(const ListPartsDoc& d);

struct UploadSummary {
  std::string key = {}, upload_id = {};
  int64_t initiated = 0;  // unix ms
};
struct ListMultipartUploadsDoc {
  std::string bucket = {};
  std::string key_marker = {}, upload_id_marker = {};
  std::string next_key_marker = {}, next_upload_id_marker = {};
  std::string prefix = {}, delimiter = {};  // delimiter "" = omitted
  uint32_t max_uploads = 1000;
  bool is_truncated = false;
  bool encoding_url = false;  // Key, Prefix, Delimiter, *KeyMarker percent-encoded
  std::vector<UploadSummary> uploads = {};
  std::vector<std::string> common_prefixes = {};
};
std::string ListMultipartUploadsXml(const ListMultipartUploadsDoc& d);

struct DeleteError {
  std::string key = {}, code = {}, message = {};
};
struct DeleteResultDoc {
  std::vector<std::string> deleted = {};  // keys
  std::vector<DeleteError> errors = {};
};
// Quiet mode lists only the errors (S3: "only keys that encountered an error").
std::string DeleteResultXml(const DeleteResultDoc& d, bool quiet);

// GetObjectAttributes: only what was asked for (unset = not asked).
struct ObjectAttributesDoc {
  std::optional<std::string> etag = {};  // without quotes, as S3 writes it here
  std::optional<ChecksumXml> checksum = {};
  struct Parts {
    uint32_t total = 0, marker = 0, next_marker = 0, max_parts = 1000;
    bool truncated = false;
    std::vector<std::pair<uint32_t, uint64_t>> parts = {};  // number, size
  };
  std::optional<Parts> parts = {};
  bool storage_class = false;
  std::optional<uint64_t> size = {};
};
std::string ObjectAttributesXml(const ObjectAttributesDoc& d);

// GetObjectTagging: <Tagging><TagSet><Tag><Key/><Value/></Tag>...
using Tags = std::vector<std::pair<std::string, std::string>>;
std::string TaggingXml(const Tags& tags);

// GetBucketLocation. S3 writes an empty element for us-east-1; pass "" for it.
std::string LocationConstraintXml(std::string_view region);

// ---- Requests --------------------------------------------------------------

struct CompletePart {
  uint32_t part_number = 0;  // 1..10000
  std::string etag;          // one pair of surrounding quotes removed
  // <ChecksumCRC32>... of the part, as given (base64, not checked here).
  std::vector<std::pair<ChecksumAlgo, std::string>> checksums;
};
// <CompleteMultipartUpload><Part><PartNumber/><ETag/><ChecksumCRC32/>?...</Part>...: parts in
// document order (the server checks ascending order: InvalidPartOrder). At
// least one part.
Result<std::vector<CompletePart>> ParseCompleteMultipartUpload(std::string_view body);

// PutObjectTagging's <Tagging><TagSet><Tag><Key/><Value/></Tag>...: the tags
// in document order (an empty Value may be an empty element); limits and
// repeated keys are the caller's to check.
Result<Tags> ParseTagging(std::string_view body);

inline constexpr size_t kMaxDeleteKeys = 1000;
struct DeleteRequest {
  bool quiet = false;
  std::vector<std::string> keys;  // document order; VersionId ignored
};
// <Delete><Quiet/>?<Object><Key/></Object>...: 1 to 1000 objects.
Result<DeleteRequest> ParseDelete(std::string_view body);

// <CreateBucketConfiguration><LocationConstraint/>?: the constraint, or
// nullopt for an empty body (or only whitespace) or no LocationConstraint.
Result<std::optional<std::string>> ParseCreateBucketConfiguration(std::string_view body);

}  // namespace as::s3
