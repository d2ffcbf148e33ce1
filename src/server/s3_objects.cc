// Object operations: GetObject, HeadObject, PutObject, CopyObject,
// DeleteObject (and the dispatch to multipart ones).
#include <ctime>

#include "s3/http_util.h"
#include "s3/uri.h"
#include "s3/xml.h"
#include "server/put_body.h"
#include "server/s3_request.h"

namespace as {

namespace {

std::optional<std::string> Opt(const std::string* p) {
  return p ? std::optional<std::string>(*p) : std::nullopt;
}

s3::S3Error PreconditionFailed() {
  return s3::MakeS3Error(412, "PreconditionFailed",
                         "At least one of the pre-conditions you specified did not hold");
}

// GET/HEAD ?partNumber=N: the bytes of part N of a multipart object (a
// single-put object is one part); S3's errors for a bad number, a part that
// does not exist, or a Range as well. An object completed before part sizes
// were recorded cannot say where its parts are: 501, so a client falls back
// to ranges instead of reading whole objects as parts.
s3::S3Expected<s3::RangeResult> PartRange(S3Request& r, const std::string& text, uint64_t size,
                                          const ObjectAttrs& a) {
  const std::optional<uint32_t> number = ParseSmallNumber(&text);
  const uint32_t n = number.value_or(0);
  if (n < 1 || n > 10000) {
    return s3::err::InvalidArgument(
        "Part number must be an integer between 1 and 10000, inclusive");
  }
  if (r.Header("range")) {
    return s3::err::InvalidRequest(
        "Cannot specify both Range header and partNumber query parameter");
  }
  const uint32_t parts = a.parts ? a.parts : 1;
  if (a.parts && a.part_sizes.size() != a.parts) {
    return s3::MakeS3Error(501, "NotImplemented",
                           "The part sizes of this object were not recorded (it was completed by "
                           "an older version); read it by Range instead");
  }
  if (n > parts)
    return s3::MakeS3Error(416, "InvalidPartNumber", "The requested partnumber is not satisfiable");
  s3::RangeResult range;
  range.kind = s3::RangeResult::Kind::kPartial;
  uint64_t length = size;
  if (a.parts) {
    for (uint32_t i = 0; i + 1 < n; i++) range.first += a.part_sizes[i];
    length = a.part_sizes[n - 1];
  }
  if (length == 0) range.kind = s3::RangeResult::Kind::kWhole;  // an empty part (or object)
  range.last = range.first + length - 1;
  return range;
}

void GetOrHead(S3Request& r, bool head) {
  r.w.SetOperation(head ? "HeadObject" : "GetObject");
  auto found = FindObject(r);
  if (!found) return;
  const ArtifactInfo* info = &found->info;
  const ObjectAttrs* attrs = &found->attrs;
  s3::ConditionHeaders ch{Opt(r.Header("if-match")), Opt(r.Header("if-none-match")),
                          Opt(r.Header("if-modified-since")),
                          Opt(r.Header("if-unmodified-since"))};
  // Without any of the four there is nothing to evaluate (and no ETag to copy).
  const bool conditional =
      ch.if_match || ch.if_none_match || ch.if_modified_since || ch.if_unmodified_since;
  auto cond = conditional
                  ? s3::EvaluateConditions(ch, s3::ObjectState{attrs->etag, info->created}, true)
                  : s3::ConditionResult::kProceed;
  if (cond == s3::ConditionResult::kNotModified) {
    if (!attrs->etag.empty()) r.w.SetHeader("ETag", Quoted(attrs->etag));
    r.w.SetHeader("Last-Modified", s3::FormatHttpDate(info->created));
    return r.w.Send(304, "", "").IgnoreError();
  }
  if (cond == s3::ConditionResult::kPreconditionFailed) return r.Error(PreconditionFailed());
  std::optional<s3::RangeResult> part;
  if (const std::string* n = r.Query("partNumber")) {
    auto p = PartRange(r, *n, info->size, *attrs);
    if (!p.ok()) return r.Error(p.error());
    part = *p;
  }
  r.SetObjectHeaders(*info, *attrs);
  // S3 says how many parts there are only to a request for one.
  if (part && attrs->parts) r.w.SetHeader("x-amz-mp-parts-count", std::to_string(attrs->parts));
  // response-* query parameters override headers (presigned download links).
  static const std::pair<const char*, const char*> kOverrides[] = {
      {"response-content-type", "Content-Type"},
      {"response-content-language", "Content-Language"},
      {"response-expires", "Expires"},
      {"response-cache-control", "Cache-Control"},
      {"response-content-disposition", "Content-Disposition"},
      {"response-content-encoding", "Content-Encoding"}};
  for (const auto& [param, header] : kOverrides) {
    if (const std::string* v = r.Query(param)) r.w.SetHeader(header, *v);
  }
  if (part && part->kind == s3::RangeResult::Kind::kWhole && info->size > 0) {
    // An empty part of a non-empty object: no bytes, not the whole object.
    r.w.WriteHead(0).IgnoreError();
    return r.w.Finish().IgnoreError();
  }
  SendArtifact(r, *info, head, NoSuchKey(r.key), part);
}

void PutObject(S3Request& r) {
  r.w.SetOperation("PutObject");
  if (r.req.content_length && *r.req.content_length > r.max_put_bytes) {
    return r.Error(s3::err::EntityTooLarge());
  }
  if (!r.RequireBucket()) return;
  if (auto e = r.CheckSse()) return r.Error(*e);
  auto attrs = AttrsFromHeaders(r.req);
  if (!attrs.ok()) return r.Error(attrs.error());
  auto body = PutBody::Create(r.req, r.body, r.auth, r.secret, r.store->kernels(), std::nullopt,
                              kDefaultChecksum);
  if (!body.ok()) return r.Error(body.error());
  std::optional<s3::S3Error> finish_error;
  PutOptions po;
  po.observe = (*body)->observer();
  po.size_hint = (*body)->expected_length();
  po.require_bucket = true;
  po.finish = [&]() -> Result<std::string> {
    if ((*body)->bytes() > r.max_put_bytes) finish_error = s3::err::EntityTooLarge();
    if (!finish_error) finish_error = (*body)->Finish(&attrs.value());
    if (finish_error) return s3::ToStatus(*finish_error);
    return attrs->Encode();
  };
  auto put = r.store->Put(r.Name(), (*body)->source(), po);
  if (!put.ok()) {
    if (finish_error) return r.Error(*finish_error);
    if (auto e = (*body)->error()) return r.Error(*e);
    return r.Error(put.status(), NoSuchBucket(r.bucket));
  }
  r.w.SetHeader("ETag", Quoted(attrs->etag));
  r.w.SetHeader("x-amz-meta-as-content", put->content.ToString());
  r.SetChecksumHeaders(*attrs);
  r.w.Send(200, "", "").IgnoreError();
}

}  // namespace

std::optional<ArtifactInfo> FindCopySource(S3Request& r, const std::string& source) {
  // "/bucket/key" or "bucket/key", URL-encoded, maybe "?versionId=...".
  std::string_view src = source;
  if (auto q = src.find('?'); q != std::string_view::npos) src = src.substr(0, q);
  auto decoded = s3::UriDecode(src);
  if (!decoded.ok()) {
    r.Error(decoded.error());
    return std::nullopt;
  }
  std::string text = *decoded;
  if (!text.empty() && text[0] == '/') text.erase(0, 1);
  auto from = ObjectName::Parse(text, r.tenant);
  if (!from.ok()) {
    r.Error(s3::err::InvalidArgument("x-amz-copy-source: " + from.status().message()));
    return std::nullopt;
  }
  if (!r.RequireBucket()) return std::nullopt;
  auto info = r.store->Lookup(*from);
  if (!info.ok()) {
    r.Error(info.status(), NoSuchKey(from->key));
    return std::nullopt;
  }
  info->name = *from;
  // x-amz-copy-source-if-*: the copy happens only if the source is the
  // version the client means; otherwise 412 (never 304, as S3).
  s3::ConditionHeaders ch{Opt(r.Header("x-amz-copy-source-if-match")),
                          Opt(r.Header("x-amz-copy-source-if-none-match")),
                          Opt(r.Header("x-amz-copy-source-if-modified-since")),
                          Opt(r.Header("x-amz-copy-source-if-unmodified-since"))};
  if (ch.if_match || ch.if_none_match || ch.if_modified_since || ch.if_unmodified_since) {
    auto attrs = ObjectAttrs::DecodeFor(info->attrs, info->content);
    if (!attrs.ok()) {
      r.Error(ServerError(attrs.status()));
      return std::nullopt;
    }
    if (s3::EvaluateConditions(ch, s3::ObjectState{attrs->etag, info->created}, true) !=
        s3::ConditionResult::kProceed) {
      r.Error(PreconditionFailed());
      return std::nullopt;
    }
  }
  return *info;
}

namespace {

// x-amz-checksum-algorithm on a copy: the copy has that checksum, the
// source's when it has a FULL_OBJECT one, else computed from the source's
// bytes (read and checked like any get; the only case a copy reads them).
std::optional<s3::S3Error> CopyChecksum(S3Request& r, const ArtifactInfo& src, ObjectAttrs* attrs) {
  const std::string* h = r.Header("x-amz-checksum-algorithm");
  if (!h) return std::nullopt;
  auto a = s3::ParseChecksumAlgo(*h);
  if (!a) return UnsupportedChecksumAlgorithm();
  if (!attrs->checksum(*a).empty() && !attrs->checksum_composite) return std::nullopt;
  s3::Checksummer c(*a, r.store->kernels());
  Status s = r.store->GetFound(
      r.tenant, src,
      [&](const uint8_t* p, size_t n) {
        c.Update(p, n);
        return Status::OK();
      },
      std::nullopt);
  if (!s.ok()) return s.code() == Code::kNotFound ? NoSuchKey(src.name->key) : ServerError(s);
  attrs->checksums = {};
  attrs->checksum(*a) = s3::Base64Encode(c.Finish());
  attrs->checksum_composite = false;
  return std::nullopt;
}

s3::ChecksumXml ChecksumElement(const ObjectAttrs& a) {
  auto algo = a.FirstChecksum();
  if (!algo) return {};
  return {s3::Spec(*algo).element, a.checksum(*algo), ""};
}

// One try of CopyObject; true when the source changed before the copy bound
// (try again), false once the request is answered.
bool CopyObjectOnce(S3Request& r, const std::string& source) {
  if (auto e = r.CheckSse()) {
    r.Error(*e);
    return false;
  }
  auto src_info = FindCopySource(r, source);
  if (!src_info) return false;
  const ObjectName& from = *src_info->name;
  auto fail = [&](const s3::S3Error& e) {
    r.Error(e);
    return false;
  };
  auto src_attrs = ObjectAttrs::DecodeFor(src_info->attrs, src_info->content);
  if (!src_attrs.ok()) return fail(ServerError(src_attrs.status()));
  const std::string* directive = r.Header("x-amz-metadata-directive");
  ObjectAttrs attrs = *src_attrs;
  if (directive && *directive == "REPLACE") {
    auto fresh = AttrsFromHeaders(r.req);
    if (!fresh.ok()) return fail(fresh.error());
    fresh->etag = src_attrs->etag;
    fresh->parts = src_attrs->parts;
    fresh->checksums = src_attrs->checksums;
    fresh->checksum_composite = src_attrs->checksum_composite;
    attrs = *fresh;
  } else if (from.bucket == r.bucket && from.key == r.key) {
    return fail(s3::err::InvalidRequest(
        "This copy request is illegal because it is trying to copy an object to itself "
        "without changing the object's metadata."));
  }
  // Tags: the source's, unless x-amz-tagging-directive: REPLACE takes
  // x-amz-tagging's (independent of the metadata directive, as S3).
  const std::string* tagging = r.Header("x-amz-tagging-directive");
  if (tagging && *tagging == "REPLACE") {
    auto tags = TagsFromHeader(r.req);
    if (!tags.ok()) return fail(tags.error());
    attrs.tags = std::move(*tags);
  } else {
    attrs.tags = src_attrs->tags;
  }
  if (auto e = CopyChecksum(r, *src_info, &attrs)) return fail(*e);
  auto copied = r.store->Copy(from, r.Name(), attrs.Encode(), true, src_info->manifest);
  if (!copied.ok() && copied.status().code() == Code::kFailedPrecondition) return true;
  if (!copied.ok()) {
    r.Error(copied.status(), NoSuchKey(from.key));
    return false;
  }
  s3::CopyResultDoc doc{copied->created * 1000, attrs.etag, ChecksumElement(attrs)};
  r.Xml(200, s3::CopyObjectResultXml(doc));
  return false;
}

void CopyObject(S3Request& r, const std::string& source) {
  r.w.SetOperation("CopyObject");
  // The copy's attrs (ETag, checksums) are the source's as looked up: the
  // copy binds only if the source still names that manifest, else it is
  // looked up again, so they never describe other bytes.
  RetryWhileChanging(r, "The copy source kept changing during the copy. Please try again.",
                     [&] { return CopyObjectOnce(r, source); });
}

void DeleteObject(S3Request& r) {
  r.w.SetOperation("DeleteObject");
  if (!r.RequireBucket()) return;
  Status s = r.store->Remove(r.Name());
  // S3 answers 204 whether or not the key existed.
  if (!s.ok() && s.code() != Code::kNotFound) return r.Error(ServerError(s));
  r.w.Send(204, "", "").IgnoreError();
}

}  // namespace

void SendArtifact(S3Request& r, const ArtifactInfo& info, bool head, const s3::S3Error& gone,
                  const std::optional<s3::RangeResult>& part) {
  std::optional<std::string_view> rh;
  if (const std::string* h = r.Header("range")) rh = *h;
  auto range = part ? *part : s3::ResolveRange(rh, info.size);
  if (range.kind == s3::RangeResult::Kind::kUnsatisfiable) {
    r.w.SetHeader("Content-Range", s3::ContentRange(range, info.size));
    return r.Error(s3::MakeS3Error(416, "InvalidRange", "The requested range is not satisfiable"));
  }
  uint64_t length = info.size;
  std::optional<ByteRange> br;
  if (range.kind == s3::RangeResult::Kind::kPartial) {
    r.w.SetStatus(206);
    r.w.SetHeader("Content-Range", s3::ContentRange(range, info.size));
    length = range.length();
    br = ByteRange{range.first, range.last};
  }
  if (!head && length > 0) {
    // By the manifest the lookup found, so the bytes are the ones the
    // headers describe even if the name is rebound meanwhile. The head goes out with the
    // first verified byte: a failure before it is an ordinary error
    // response; after it the connection closes short of Content-Length.
    auto sink = [&](const uint8_t* p, size_t n, const FileSpan* file) -> Status {
      if (!r.w.head_sent()) AS_RETURN_IF_ERROR(r.w.WriteHead(length));
      // A raw chunk goes out from its pack (sendfile): the bytes checked a
      // moment ago, without a second copy through this process.
      return file ? r.w.WriteFile(p, n, file->fd, file->offset) : r.w.Write(p, n);
    };
    Status s = r.store->GetFoundSpans(r.tenant, info, sink, br);
    if (!s.ok()) {
      // NotFound: removed between the lookup and the read.
      return r.Error(s.code() == Code::kNotFound ? gone : ServerError(s));
    }
  }
  if (!r.w.head_sent()) r.w.WriteHead(length).IgnoreError();
  r.w.Finish().IgnoreError();
}

void ObjectOp(S3Request& r) {
  const std::string& m = r.req.method;
  const bool upload = r.HasQuery("uploadId");
  if (m == "GET" && upload) return ListParts(r);
  if (m == "GET" || m == "HEAD") return GetOrHead(r, m == "HEAD");
  if (m == "PUT" && upload && r.HasQuery("partNumber")) return UploadPart(r);
  if (m == "PUT") {
    if (const std::string* src = r.Header("x-amz-copy-source")) return CopyObject(r, *src);
    return PutObject(r);
  }
  if (m == "DELETE" && upload) return AbortMultipart(r);
  if (m == "DELETE") return DeleteObject(r);
  if (m == "POST" && r.HasQuery("uploads")) return CreateMultipart(r);
  if (m == "POST" && upload) return CompleteMultipart(r);
  r.w.SetOperation("Unsupported");
  r.Error(s3::MakeS3Error(405, "MethodNotAllowed",
                          "The specified method is not allowed against this resource."));
}

}  // namespace as
