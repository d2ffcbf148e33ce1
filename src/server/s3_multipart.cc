// Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort,
// ListParts, ListMultipartUploads. Parts are stored and deduplicated as they arrive;
// Complete binds the name to one manifest of all the parts' chunks.
#include <map>

#include "base/bytes.h"
#include "hash/sha.h"
#include "s3/xml.h"
#include "server/get_pipe.h"
#include "server/object_attrs.h"
#include "server/put_body.h"
#include "server/s3_request.h"

namespace as {

namespace {

constexpr uint32_t kMaxParts = 10000;

// The upload named by ?uploadId, which must belong to this bucket and key.
std::optional<UploadInfo> FindUpload(S3Request& r) {
  auto u = r.store->GetUpload(r.tenant, *r.Query("uploadId"));
  if (!u.ok() || u->name.bucket != r.bucket || u->name.key != r.key) {
    if (u.ok() || u.status().code() == Code::kNotFound) r.Error(NoSuchUpload(*r.Query("uploadId")));
    else r.Error(InternalError(u.status()));
    return std::nullopt;
  }
  return *u;
}

std::optional<uint32_t> ParseNumber(const std::string* s) {
  if (!s || s->empty() || s->size() > 5) return std::nullopt;
  uint32_t n = 0;
  for (char c : *s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n;
}

}  // namespace

void CreateMultipart(S3Request& r) {
  r.w.SetOperation("CreateMultipartUpload");
  auto attrs = AttrsFromHeaders(r.req);
  if (!attrs.ok()) return r.Error(attrs.error());
  auto u = r.store->CreateUpload(r.Name(), attrs->Encode());
  if (!u.ok()) return r.Error(u.status(), NoSuchBucket(r.bucket));
  r.Xml(200, s3::InitiateMultipartUploadXml({r.bucket, r.key, u->id}));
}

namespace {

// x-amz-copy-source-range "bytes=FIRST-LAST" (both given, inclusive) within
// an object of `size` bytes; absent = the whole object.
std::optional<s3::S3Error> ParseCopyRange(const std::string* h, uint64_t size,
                                          std::optional<ByteRange>* out) {
  if (!h) return std::nullopt;
  auto bad = [&] {
    return s3::err::InvalidArgument("Range specified is not valid for source object of size: " +
                                    std::to_string(size));
  };
  std::string_view v = *h;
  if (v.substr(0, 6) != "bytes=") return bad();
  v.remove_prefix(6);
  const size_t dash = v.find('-');
  auto num = [](std::string_view t) -> std::optional<uint64_t> {
    if (t.empty() || t.size() > 19) return std::nullopt;
    uint64_t n = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    return n;
  };
  if (dash == std::string_view::npos) return bad();
  auto first = num(v.substr(0, dash)), last = num(v.substr(dash + 1));
  if (!first || !last || *first > *last || *last >= size) return bad();
  *out = ByteRange{*first, *last};
  return std::nullopt;
}

// UploadPartCopy: the part is (a range of) another object's bytes. They are
// read, checked as every get checks them, and put again as the part, so
// dedup stores nothing new; the part's MD5 (its ETag) is taken as they pass.
void UploadPartCopy(S3Request& r, uint32_t number, const std::string& source) {
  r.w.SetOperation("UploadPartCopy");
  auto upload = FindUpload(r);
  if (!upload) return;
  auto src = FindCopySource(r, source);
  if (!src) return;
  std::optional<ByteRange> range;
  if (auto e = ParseCopyRange(r.Header("x-amz-copy-source-range"), src->size, &range)) {
    return r.Error(*e);
  }
  const uint64_t length = range ? *range->last - range->first + 1 : src->size;
  if (length > r.max_put_bytes) return r.Error(s3::err::EntityTooLarge());
  Status read_error;
  GetPipe pipe(
      [&](const ByteSink& sink) { return r.store->GetFound(r.tenant, *src, sink, range); });
  StreamingDigest md5(StreamingDigest::Kind::kMd5);
  uint64_t got = 0;
  ByteSource from = [&](uint8_t* buf, size_t cap) -> Result<size_t> {
    auto n = pipe.Read(buf, cap);
    if (!n.ok()) {
      read_error = n.status();
      return n;
    }
    md5.Update(buf, *n);
    got += *n;
    return n;
  };
  ObjectAttrs attrs;
  PutOptions po;
  po.finish = [&]() -> Result<std::string> {
    if (got != length) {
      return Status::Corruption("copy source gave " + std::to_string(got) + " of " +
                                std::to_string(length) + " bytes");
    }
    uint8_t d[16];
    md5.Finish(d);
    attrs.etag = ToHex(d, 16);
    return attrs.Encode();
  };
  auto part = r.store->PutPart(r.tenant, upload->id, number, from, po);
  if (!part.ok()) {
    if (!read_error.ok()) return r.Error(read_error, NoSuchKey(src->name->key));
    return r.Error(part.status(), NoSuchUpload(upload->id));
  }
  r.Xml(200, s3::CopyPartResultXml(s3::CopyResultDoc{part->created * 1000, attrs.etag}));
}

}  // namespace

void UploadPart(S3Request& r) {
  r.w.SetOperation("UploadPart");
  auto number = ParseNumber(r.Query("partNumber"));
  if (!number || *number < 1 || *number > kMaxParts) {
    return r.Error(s3::err::InvalidArgument("Part number must be an integer between 1 and 10000"));
  }
  if (const std::string* src = r.Header("x-amz-copy-source")) {
    return UploadPartCopy(r, *number, *src);
  }
  if (r.req.content_length && *r.req.content_length > r.max_put_bytes) {
    return r.Error(s3::err::EntityTooLarge());
  }
  auto upload = FindUpload(r);
  if (!upload) return;
  auto body = PutBody::Create(r.req, r.body, r.auth, r.secret, r.store->kernels());
  if (!body.ok()) return r.Error(body.error());
  ObjectAttrs attrs;
  std::optional<s3::S3Error> finish_error;
  PutOptions po;
  po.observe = (*body)->observer();
  po.finish = [&]() -> Result<std::string> {
    if ((*body)->bytes() > r.max_put_bytes) finish_error = s3::err::EntityTooLarge();
    if (!finish_error) finish_error = (*body)->Finish(&attrs);
    if (finish_error) return s3::ToStatus(*finish_error);
    return attrs.Encode();
  };
  auto part = r.store->PutPart(r.tenant, upload->id, *number, (*body)->source(), po);
  if (!part.ok()) {
    if (finish_error) return r.Error(*finish_error);
    if (auto e = (*body)->error()) return r.Error(*e);
    return r.Error(part.status(), NoSuchUpload(upload->id));
  }
  r.w.SetHeader("ETag", Quoted(attrs.etag));
  if (!attrs.checksum_crc32c.empty()) r.w.SetHeader("x-amz-checksum-crc32c", attrs.checksum_crc32c);
  if (!attrs.checksum_sha256.empty()) r.w.SetHeader("x-amz-checksum-sha256", attrs.checksum_sha256);
  r.w.Send(200, "", "").IgnoreError();
}

void CompleteMultipart(S3Request& r) {
  r.w.SetOperation("CompleteMultipartUpload");
  auto upload = FindUpload(r);
  if (!upload) return;
  std::string xml;
  uint8_t buf[65536];
  while (true) {
    auto n = r.body.Read(buf, sizeof(buf));
    if (!n.ok()) return r.Error(s3::err::IncompleteBody(n.status().message()));
    if (*n == 0) break;
    xml.append(reinterpret_cast<char*>(buf), *n);
    if (xml.size() > (4u << 20)) return r.Error(s3::err::MalformedXML("body over 4 MiB"));
  }
  auto wanted = s3::ParseCompleteMultipartUpload(xml);
  if (!wanted.ok()) return r.Error(s3::err::MalformedXML(wanted.status().message()));
  auto parts = r.store->ListParts(r.tenant, upload->id);
  if (!parts.ok()) return r.Error(parts.status(), NoSuchUpload(upload->id));
  std::map<uint32_t, const PartInfo*> have;
  for (const PartInfo& p : *parts) have[p.number] = &p;
  // The multipart ETag: MD5 of the parts' binary MD5s, then "-N".
  StreamingDigest md5(StreamingDigest::Kind::kMd5);
  std::vector<uint32_t> numbers;
  uint32_t last = 0;
  for (const s3::CompletePart& want : *wanted) {
    if (want.part_number <= last) {
      return r.Error(s3::MakeS3Error(400, "InvalidPartOrder",
                                     "The list of parts was not in ascending order."));
    }
    last = want.part_number;
    auto it = have.find(want.part_number);
    auto attrs = it == have.end() ? Result<ObjectAttrs>(ObjectAttrs{})
                                  : ObjectAttrs::Decode(it->second->attrs);
    if (it == have.end() || !attrs.ok() || attrs->etag != want.etag) {
      return r.Error(s3::MakeS3Error(
          400, "InvalidPart",
          "One or more of the specified parts could not be found or its entity tag did not "
          "match: part " + std::to_string(want.part_number)));
    }
    auto raw = FromHex(attrs->etag);
    if (raw) md5.Update(raw->data(), raw->size());
    numbers.push_back(want.part_number);
  }
  uint8_t d[16];
  md5.Finish(d);
  auto attrs = ObjectAttrs::Decode(upload->attrs);
  if (!attrs.ok()) return r.Error(InternalError(attrs.status()));
  attrs->etag = ToHex(d, 16) + "-" + std::to_string(numbers.size());
  attrs->parts = static_cast<uint32_t>(numbers.size());
  auto done = r.store->CompleteUpload(r.tenant, upload->id, numbers, attrs->Encode());
  if (!done.ok()) return r.Error(done.status(), NoSuchUpload(upload->id));
  r.w.SetHeader("x-amz-meta-as-content", done->content.ToString());
  r.Xml(200, s3::CompleteMultipartUploadXml({"/" + r.bucket + "/" + r.key, r.bucket, r.key,
                                             attrs->etag}));
}

void AbortMultipart(S3Request& r) {
  r.w.SetOperation("AbortMultipartUpload");
  auto upload = FindUpload(r);
  if (!upload) return;
  Status s = r.store->AbortUpload(r.tenant, upload->id);
  if (!s.ok()) return r.Error(s, NoSuchUpload(upload->id));
  r.w.Send(204, "", "").IgnoreError();
}

void ListParts(S3Request& r) {
  r.w.SetOperation("ListParts");
  auto upload = FindUpload(r);
  if (!upload) return;
  auto parts = r.store->ListParts(r.tenant, upload->id);
  if (!parts.ok()) return r.Error(parts.status(), NoSuchUpload(upload->id));
  s3::ListPartsDoc doc;
  doc.bucket = r.bucket;
  doc.key = r.key;
  doc.upload_id = upload->id;
  doc.owner = s3::Owner{r.tenant, r.tenant};
  auto marker = ParseNumber(r.Query("part-number-marker"));
  auto max = ParseNumber(r.Query("max-parts"));
  doc.part_number_marker = marker.value_or(0);
  doc.max_parts = std::min<uint32_t>(max.value_or(1000), 1000);
  for (const PartInfo& p : *parts) {
    if (p.number <= doc.part_number_marker) continue;
    if (doc.parts.size() == doc.max_parts) {
      doc.is_truncated = true;
      break;
    }
    auto attrs = ObjectAttrs::Decode(p.attrs);
    doc.parts.push_back(s3::PartSummary{p.number, p.created * 1000,
                                        attrs.ok() ? attrs->etag : std::string(), p.size});
    doc.next_part_number_marker = p.number;
  }
  r.Xml(200, s3::ListPartsXml(doc));
}

void ListMultipartUploads(S3Request& r) {
  r.w.SetOperation("ListMultipartUploads");
  if (!r.RequireBucket()) return;
  auto uploads = r.store->ListUploads(r.tenant, r.bucket);
  if (!uploads.ok()) return r.Error(InternalError(uploads.status()));
  s3::ListMultipartUploadsDoc doc;
  doc.bucket = r.bucket;
  if (const std::string* p = r.Query("prefix")) doc.prefix = *p;
  doc.encoding_url = r.Query("encoding-type") && *r.Query("encoding-type") == "url";
  for (const UploadInfo& u : *uploads) {
    if (u.name.key.rfind(doc.prefix, 0) != 0) continue;
    if (doc.uploads.size() == doc.max_uploads) {
      doc.is_truncated = true;
      break;
    }
    doc.uploads.push_back(s3::UploadSummary{u.name.key, u.id, u.created * 1000});
    doc.next_key_marker = u.name.key;
    doc.next_upload_id_marker = u.id;
  }
  r.Xml(200, s3::ListMultipartUploadsXml(doc));
}

}  // namespace as
