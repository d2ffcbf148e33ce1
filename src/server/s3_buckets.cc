// Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
// GetBucketLocation, ListObjects (V1 and V2), DeleteObjects.
#include <cctype>

#include "s3/listing.h"
#include "s3/xml.h"
#include "server/s3_request.h"

namespace as {

namespace {

// S3's rules: 3-63 characters of lowercase letters, digits, '.' and '-',
// starting and ending with a letter or digit.
bool ValidBucketName(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) &&
        c != '.' && c != '-') {
      return false;
    }
  }
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  return alnum(b.front()) && alnum(b.back()) && b.find("..") == std::string::npos;
}

s3::Owner OwnerOf(const S3Request& r) { return s3::Owner{r.tenant, r.tenant}; }

void CreateBucket(S3Request& r) {
  r.w.SetOperation("CreateBucket");
  if (!ValidBucketName(r.bucket)) {
    return r.Error(s3::MakeS3Error(400, "InvalidBucketName",
                                   "The specified bucket is not valid: " + r.bucket));
  }
  auto body = ReadBody(r, 1 << 20);
  if (!body.ok()) return r.Error(s3::err::IncompleteBody(body.status().message()));
  auto cfg = s3::ParseCreateBucketConfiguration(*body);
  if (!cfg.ok()) return r.Error(s3::err::MalformedXML(cfg.status().message()));
  Status s = r.store->CreateBucket(r.tenant, r.bucket);
  if (!s.ok()) return r.Error(s, NoSuchBucket(r.bucket));
  r.w.SetHeader("Location", "/" + r.bucket);
  r.w.Send(200, "", "").IgnoreError();
}

void DeleteObjects(S3Request& r) {
  r.w.SetOperation("DeleteObjects");
  if (!r.RequireBucket()) return;
  auto body = ReadBody(r, 1 << 20);
  if (!body.ok()) return r.Error(s3::err::MalformedXML(body.status().message()));
  auto req = s3::ParseDelete(*body);
  if (!req.ok()) return r.Error(s3::err::MalformedXML(req.status().message()));
  s3::DeleteResultDoc doc;
  for (const std::string& key : req->keys) {
    Status s = r.store->Remove(ObjectName{r.tenant, r.bucket, key});
    if (s.ok() || s.code() == Code::kNotFound) {
      doc.deleted.push_back(key);
    } else {
      doc.errors.push_back(s3::DeleteError{key, "InternalError", s.ToString()});
    }
  }
  r.Xml(200, s3::DeleteResultXml(doc, req->quiet));
}

// ListObjects V1 and V2, and ListObjectVersions (?versions: buckets are never
// versioned, so each object is its one version, "null").
void ListObjects(S3Request& r) {
  const bool versions = r.HasQuery("versions");
  const bool v2 = !versions && r.Query("list-type") && *r.Query("list-type") == "2";
  r.w.SetOperation(versions ? "ListObjectVersions" : v2 ? "ListObjectsV2" : "ListObjects");
  if (!r.RequireBucket()) return;
  auto q = [&](const char* name) { return r.Query(name) ? *r.Query(name) : std::string(); };
  std::optional<std::string_view> mk;
  if (r.Query("max-keys")) mk = *r.Query("max-keys");
  auto max_keys = s3::ParseMaxKeys(mk);
  if (!max_keys.ok()) return r.Error(s3::err::InvalidArgument(max_keys.status().message()));
  s3::ListObjectsParams p;
  p.version = v2 ? 2 : 1;
  p.bucket = r.bucket;
  p.prefix = q("prefix");
  p.delimiter = q("delimiter");
  p.max_keys = *max_keys;
  p.encoding_url = q("encoding-type") == "url";
  s3::ListRequest lr{p.prefix, p.delimiter, "", *max_keys};
  if (v2) {
    if (r.Query("fetch-owner") && q("fetch-owner") == "true") p.owner = OwnerOf(r);
    if (r.Query("start-after")) {
      p.start_after = q("start-after");
      lr.start = *p.start_after;
    }
    if (r.Query("continuation-token")) {
      p.continuation_token = q("continuation-token");
      auto pos = s3::DecodeContinuationToken(*p.continuation_token);
      if (!pos.ok()) return r.Error(s3::err::InvalidArgument("The continuation token provided is incorrect"));
      lr.start = *pos;
    }
  } else {
    p.owner = OwnerOf(r);
    p.marker = q(versions ? "key-marker" : "marker");
    lr.start = p.marker;
  }
  Status attrs_error;
  s3::ListSource source = [&](const std::string& prefix, const std::string& after,
                              size_t limit) -> Result<std::vector<s3::ObjectSummary>> {
    AS_ASSIGN_OR_RETURN(auto rows, r.store->ListBucket(r.tenant, r.bucket, prefix, after, limit));
    std::vector<s3::ObjectSummary> out;
    out.reserve(rows.size());
    for (const ArtifactInfo& a : rows) {
      AS_ASSIGN_OR_RETURN(ObjectAttrs attrs, ObjectAttrs::DecodeFor(a.attrs, a.content));
      out.push_back(s3::ObjectSummary{a.name->key, a.size, attrs.etag, a.created * 1000});
    }
    return out;
  };
  auto page = s3::ListObjectsPage(lr, source);
  if (!page.ok()) return r.Error(ServerError(page.status()));
  if (versions) return r.Xml(200, s3::ListVersionsResultXml(p, q("version-id-marker"), *page));
  r.Xml(200, s3::ListBucketResultXml(p, *page));
}

}  // namespace

void ListBuckets(S3Request& r) {
  r.w.SetOperation("ListBuckets");
  auto buckets = r.store->ListBuckets(r.tenant);
  if (!buckets.ok()) return r.Error(ServerError(buckets.status()));
  std::vector<s3::BucketSummary> out;
  for (const BucketInfo& b : *buckets) out.push_back(s3::BucketSummary{b.name, b.created * 1000});
  r.Xml(200, s3::ListAllMyBucketsXml(OwnerOf(r), out));
}

void BucketOp(S3Request& r) {
  const std::string& m = r.req.method;
  if (m == "PUT" && r.query.empty()) return CreateBucket(r);
  if (m == "HEAD") {
    r.w.SetOperation("HeadBucket");
    if (!r.RequireBucket()) return;
    r.w.SetHeader("x-amz-bucket-region", r.region);
    return r.w.Send(200, "", "").IgnoreError();
  }
  if (m == "DELETE" && r.query.empty()) {
    r.w.SetOperation("DeleteBucket");
    Status s = r.store->DeleteBucket(r.tenant, r.bucket);
    if (!s.ok()) return r.Error(s, NoSuchBucket(r.bucket));
    return r.w.Send(204, "", "").IgnoreError();
  }
  if (m == "POST" && r.HasQuery("delete")) return DeleteObjects(r);
  if (m == "GET" && r.HasQuery("location")) {
    r.w.SetOperation("GetBucketLocation");
    if (!r.RequireBucket()) return;
    return r.Xml(200, s3::LocationConstraintXml(r.region == "us-east-1" ? "" : r.region));
  }
  if (m == "GET" && r.HasQuery("uploads")) return ListMultipartUploads(r);
  if (m == "GET" && r.HasQuery("versioning")) {
    r.w.SetOperation("GetBucketVersioning");
    if (!r.RequireBucket()) return;
    return r.Xml(200,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VersioningConfiguration "
                 "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>");
  }
  if (m == "GET") {
    // Sub-resources we do not keep (acl, policy, tagging, ...) are refused
    // rather than answered with a listing.
    for (const auto& [k, v] : r.query) {
      static const char* kList[] = {"list-type",   "prefix",        "delimiter",
                                    "max-keys",    "marker",        "continuation-token",
                                    "start-after", "encoding-type", "fetch-owner",
                                    "versions",    "key-marker",    "version-id-marker"};
      bool known = k.rfind("X-Amz-", 0) == 0 || k.rfind("x-amz-", 0) == 0;  // presigned
      for (const char* n : kList) known = known || k == n;
      if (!known) {
        r.w.SetOperation("Unsupported");
        return r.Error(s3::MakeS3Error(501, "NotImplemented",
                                       "This server does not implement ?" + k));
      }
    }
    return ListObjects(r);
  }
  r.w.SetOperation("Unsupported");
  r.Error(s3::MakeS3Error(501, "NotImplemented", "This server does not implement " + m +
                                                     " on a bucket with these parameters"));
}

}  // namespace as
