// One S3 request being served (internal to the server): what was parsed
// from it, who sent it, and the helpers every operation uses to answer.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "artifact_store/store.h"
#include "s3/http_util.h"
#include "s3/s3_error.h"
#include "s3/sigv4.h"
#include "s3/uri.h"
#include "s3/xml.h"
#include "http/http_server.h"
#include "server/object_attrs.h"

namespace as {

struct S3Request {
  Store* store = nullptr;
  const HttpRequest& req;
  RequestBody& body;
  ResponseWriter& w;
  std::string region;
  uint64_t max_put_bytes = 0;

  std::string path;  // decoded
  std::vector<s3::QueryParam> query;
  std::string bucket, key;  // decoded; empty when absent
  s3::SigV4Auth auth;
  std::string tenant, secret;

  S3Request(const HttpRequest& r, RequestBody& b, ResponseWriter& wr) : req(r), body(b), w(wr) {}

  const std::string* Query(std::string_view name) const;
  bool HasQuery(std::string_view name) const { return Query(name) != nullptr; }
  const std::string* Header(std::string_view name) const { return req.Header(name); }
  ObjectName Name() const { return ObjectName{tenant, bucket, key}; }
  std::string Resource() const;  // "/bucket/key"

  void Error(const s3::S3Error& e);
  // Maps a store Status: NotFound becomes not_found (NoSuchKey, ...).
  void Error(const Status& s, const s3::S3Error& not_found);
  void Xml(int status, const std::string& xml);
  // NoSuchBucket unless the tenant has the bucket; true when it does.
  bool RequireBucket();
  // Object headers of a stored object: ETag, Last-Modified, Content-Type,
  // the kept content headers and x-amz-meta-*.
  // With x-amz-checksum-mode: ENABLED, also the stored checksum, unless the
  // answer is a part of the object (a Range), which it does not describe.
  void SetObjectHeaders(const ArtifactInfo& info, const ObjectAttrs& attrs);
  // x-amz-checksum-<algorithm> of each checksum the object has, and
  // x-amz-checksum-type.
  void SetChecksumHeaders(const ObjectAttrs& attrs);

  // Encryption at rest is the tenant's (docs/format/encryption.md): S3's
  // SSE-S3 (AES256) describes it. Whether the tenant is encrypted (asked
  // once per request).
  bool TenantEncrypted();
  // A write's x-amz-server-side-encryption* headers, checked before any byte
  // is read: AES256 is accepted in an encrypted tenant (and sets the
  // response header), refused in another (InvalidArgument: nothing would
  // encrypt it); SSE-KMS and SSE-C are NotImplemented; anything else
  // InvalidArgument. Nothing is stored on a refusal.
  std::optional<s3::S3Error> CheckSse();

 private:
  std::optional<bool> encrypted_;
};

// Attributes a request declares for the object it creates: Content-Type, the
// content headers and x-amz-meta-* (2 KiB of user metadata at most, as S3).
s3::S3Expected<ObjectAttrs> AttrsFromHeaders(const HttpRequest& req);
using s3::Quoted;  // s3/xml.h
s3::S3Error NoSuchKey(const std::string& key);
s3::S3Error NoSuchBucket(const std::string& bucket);
s3::S3Error NoSuchUpload(const std::string& id);
// The error for a failure of the store itself: 507 InsufficientStorage when
// its file system is full (the operator's to fix; SDKs do not retry a 507
// as they do a 500), 503 ServiceUnavailable when its metadata server did not
// answer (SDKs retry it), else 500 InternalError.
s3::S3Error ServerError(const Status& s);
// An x-amz-checksum-algorithm that names none of S3's five.
s3::S3Error UnsupportedChecksumAlgorithm();
// A request body read whole; InvalidArgument past `max` bytes (the XML
// documents of the API are small).
Result<std::string> ReadBody(S3Request& r, size_t max);
// x-amz-tagging ("k=v&k2=v2", URL-encoded) checked against S3's limits
// (InvalidTag); none = no tags.
s3::S3Expected<std::map<std::string, std::string>> TagsFromHeader(const HttpRequest& req);
// GET, PUT and DELETE of an object's ?tagging.
void ObjectTagging(S3Request& r);
// GET of an object's ?attributes.
void GetObjectAttributes(S3Request& r);
// A part number or count as S3 writes them: 1 to 5 decimal digits.
std::optional<uint32_t> ParseSmallNumber(const std::string* s);
// The object the request names and its attrs (ObjectAttrs::DecodeFor);
// nullopt after answering NoSuchBucket, NoSuchKey or the error.
struct FoundObject {
  ArtifactInfo info;
  ObjectAttrs attrs;
};
std::optional<FoundObject> FindObject(S3Request& r);
// For a read-modify-write of an object under a manifest guard (Store::Copy,
// Store::SetAttrs): calls `once` again while it returns true, meaning the
// object changed between its read and its write (FailedPrecondition), up to
// 5 calls; then answers 409 OperationAborted with `message`. `once` returns
// false once it has answered the request.
void RetryWhileChanging(S3Request& r, const char* message, const std::function<bool()>& once);

// Answers a GET or HEAD of an artifact whose other headers are set: the
// Range header (416, or 206 with Content-Range), then the bytes, each chunk
// checked before it is sent. `gone` answers an artifact removed meanwhile.
// `part` (GET ?partNumber): that range instead of the Range header's.
void SendArtifact(S3Request& r, const ArtifactInfo& info, bool head, const s3::S3Error& gone,
                  const std::optional<s3::RangeResult>& part = std::nullopt);

// Sub-resources this server does not keep (?tagging, ?policy, ...): true
// after answering 501 NotImplemented, so the request is not mistaken for a
// plain object or bucket operation. Reads are answered where an answer is
// true: GET ?acl (a canned owner-only policy: there are no ACLs here), as
// clients such as s3cmd ask; GET and DELETE of an object's ?tagging (there
// are no tags); GET of a bucket configuration that is never set (?cors,
// ?policy, ?lifecycle, ...) with S3's 404 for an unset one.
bool AnsweredSubresource(S3Request& r);

// The object an x-amz-copy-source header names (URL-encoded "/bucket/key",
// in the caller's tenant), with its name set; nullopt after answering the
// error (bad name, no such bucket or key, 412 when an
// x-amz-copy-source-if-match / -if-none-match / -if-modified-since /
// -if-unmodified-since does not hold for it).
std::optional<ArtifactInfo> FindCopySource(S3Request& r, const std::string& source);

// Operations, by area (s3_buckets.cc, s3_objects.cc, s3_multipart.cc,
// content_api.cc).
void ListBuckets(S3Request& r);
void BucketOp(S3Request& r);
void ObjectOp(S3Request& r);
void CreateMultipart(S3Request& r);
void UploadPart(S3Request& r);
void CompleteMultipart(S3Request& r);
void AbortMultipart(S3Request& r);
void ListParts(S3Request& r);
void ListMultipartUploads(S3Request& r);
void ContentOp(S3Request& r);

}  // namespace as
