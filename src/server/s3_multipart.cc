// Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort,
// ListParts, ListMultipartUploads. Parts are stored and deduplicated as they arrive;
// Complete binds the name to one manifest of all the parts' chunks.
#include <map>

#include "base/bytes.h"
#include "hash/sha.h"
#include "s3/http_util.h"
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
    else
      r.Error(ServerError(u.status()));
    return std::nullopt;
  }
  return *u;
}

// x-amz-checksum-algorithm and x-amz-checksum-type of CreateMultipartUpload:
// every part will compute that checksum, and Complete will combine them.
std::optional<s3::S3Error> UploadChecksum(S3Request& r, ObjectAttrs* attrs) {
  const std::string* algo = r.Header("x-amz-checksum-algorithm");
  const std::string* type = r.Header("x-amz-checksum-type");
  if (!algo) {
    if (!type) return std::nullopt;
    return s3::err::InvalidRequest("x-amz-checksum-type requires x-amz-checksum-algorithm.");
  }
  auto a = s3::ParseChecksumAlgo(*algo);
  if (!a) return UnsupportedChecksumAlgorithm();
  s3::ChecksumType t = s3::DefaultChecksumType(*a);
  if (type) {
    auto parsed = s3::ParseChecksumType(*type);
    if (!parsed) return s3::err::InvalidRequest("Value for x-amz-checksum-type header is invalid.");
    if (!s3::ChecksumTypeAllowed(*a, *parsed)) {
      return s3::err::InvalidRequest(std::string("The ") + s3::ChecksumTypeName(*parsed) +
                                     " checksum type cannot be used with the " + s3::Spec(*a).name +
                                     " checksum algorithm.");
    }
    t = *parsed;
  }
  attrs->checksum_algorithm = a;
  attrs->checksum_composite = t == s3::ChecksumType::kComposite;
  return std::nullopt;
}

// The algorithm an upload was created with, if any.
std::optional<s3::ChecksumAlgo> UploadAlgorithm(const UploadInfo& u) {
  auto a = ObjectAttrs::Decode(u.attrs);
  return a.ok() ? a->checksum_algorithm : std::nullopt;
}

// A multipart object's checksum from its parts' (base64) checksums, in order:
// COMPOSITE, the algorithm over their binary values, or FULL_OBJECT, the
// CRC of all the bytes combined from each part's CRC and length.
class ObjectChecksum {
 public:
  ObjectChecksum(std::optional<s3::ChecksumAlgo> a, bool composite, const KernelTable& k)
      : algo_(a), composite_(composite), kernels_(k) {}
  // False when the part has no valid checksum of the algorithm.
  bool Add(const std::string& part_checksum, uint64_t part_size) {
    auto raw = s3::DecodeChecksum(*algo_, part_checksum);
    if (!raw) return false;
    if (composite_) {
      joined_ += *raw;
    } else {
      whole_ = parts_ == 0 ? *raw : s3::CrcCombine(*algo_, whole_, *raw, part_size);
    }
    parts_++;
    return true;
  }
  std::string Finish() const {
    if (composite_) return s3::CompositeChecksum(*algo_, joined_, parts_, kernels_);
    return s3::Base64Encode(whole_);
  }

 private:
  std::optional<s3::ChecksumAlgo> algo_;
  bool composite_;
  const KernelTable& kernels_;
  std::string joined_, whole_;
  size_t parts_ = 0;
};

}  // namespace

void CreateMultipart(S3Request& r) {
  r.w.SetOperation("CreateMultipartUpload");
  if (auto e = r.CheckSse()) return r.Error(*e);
  auto attrs = AttrsFromHeaders(r.req);
  if (!attrs.ok()) return r.Error(attrs.error());
  if (auto e = UploadChecksum(r, &*attrs)) return r.Error(*e);
  auto u = r.store->CreateUpload(r.Name(), attrs->Encode());
  if (!u.ok()) return r.Error(u.status(), NoSuchBucket(r.bucket));
  if (attrs->checksum_algorithm) {
    r.w.SetHeader("x-amz-checksum-algorithm", s3::Spec(*attrs->checksum_algorithm).name);
    r.w.SetHeader("x-amz-checksum-type", attrs->ChecksumTypeName());
  }
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
  // The upload's algorithm, or the default one.
  auto checksum = std::make_unique<s3::Checksummer>(
      UploadAlgorithm(*upload).value_or(kDefaultChecksum), r.store->kernels());
  uint64_t got = 0;
  ByteSource from = [&](uint8_t* buf, size_t cap) -> Result<size_t> {
    auto n = pipe.Read(buf, cap);
    if (!n.ok()) {
      read_error = n.status();
      return n;
    }
    md5.Update(buf, *n);
    if (checksum) checksum->Update(buf, *n);
    got += *n;
    return n;
  };
  ObjectAttrs attrs;
  PutOptions po;
  po.size_hint = length;
  po.finish = [&]() -> Result<std::string> {
    if (got != length) {
      return Status::Corruption("copy source gave " + std::to_string(got) + " of " +
                                std::to_string(length) + " bytes");
    }
    uint8_t d[16];
    md5.Finish(d);
    attrs.etag = ToHex(d, 16);
    attrs.checksum(checksum->algo()) = s3::Base64Encode(checksum->Finish());
    return attrs.Encode();
  };
  auto part = r.store->PutPart(r.tenant, upload->id, number, from, po);
  if (!part.ok()) {
    if (!read_error.ok()) return r.Error(read_error, NoSuchKey(src->name->key));
    return r.Error(part.status(), NoSuchUpload(upload->id));
  }
  const s3::ChecksumXml checksum_xml{s3::Spec(checksum->algo()).element,
                                     attrs.checksum(checksum->algo()), ""};
  r.Xml(200,
        s3::CopyPartResultXml(s3::CopyResultDoc{part->created * 1000, attrs.etag, checksum_xml}));
}

}  // namespace

void UploadPart(S3Request& r) {
  r.w.SetOperation("UploadPart");
  auto number = ParseSmallNumber(r.Query("partNumber"));
  if (!number || *number < 1 || *number > kMaxParts) {
    return r.Error(s3::err::InvalidArgument("Part number must be an integer between 1 and 10000"));
  }
  if (auto e = r.CheckSse()) return r.Error(*e);  // SSE-C headers on a part
  if (const std::string* src = r.Header("x-amz-copy-source")) {
    return UploadPartCopy(r, *number, *src);
  }
  if (r.req.content_length && *r.req.content_length > r.max_put_bytes) {
    return r.Error(s3::err::EntityTooLarge());
  }
  auto upload = FindUpload(r);
  if (!upload) return;
  auto body = PutBody::Create(r.req, r.body, r.auth, r.secret, r.store->kernels(),
                              UploadAlgorithm(*upload), kDefaultChecksum);
  if (!body.ok()) return r.Error(body.error());
  ObjectAttrs attrs;
  std::optional<s3::S3Error> finish_error;
  PutOptions po;
  po.observe = (*body)->observer();
  po.size_hint = (*body)->expected_length();
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
  r.SetChecksumHeaders(attrs);
  r.w.Send(200, "", "").IgnoreError();
}

void CompleteMultipart(S3Request& r) {
  r.w.SetOperation("CompleteMultipartUpload");
  auto upload = FindUpload(r);
  if (!upload) return;
  if (r.TenantEncrypted()) r.w.SetHeader("x-amz-server-side-encryption", "AES256");
  auto xml = ReadBody(r, 4 << 20);
  if (!xml.ok()) {
    if (xml.status().code() == Code::kInvalidArgument) {
      return r.Error(s3::err::MalformedXML(xml.status().message()));
    }
    return r.Error(s3::err::IncompleteBody(xml.status().message()));
  }
  auto wanted = s3::ParseCompleteMultipartUpload(*xml);
  if (!wanted.ok()) return r.Error(s3::err::MalformedXML(wanted.status().message()));
  auto parts = r.store->ListParts(r.tenant, upload->id);
  if (!parts.ok()) return r.Error(parts.status(), NoSuchUpload(upload->id));
  std::map<uint32_t, const PartInfo*> have;
  for (const PartInfo& p : *parts) have[p.number] = &p;
  auto attrs = ObjectAttrs::Decode(upload->attrs);
  if (!attrs.ok()) return r.Error(ServerError(attrs.status()));
  const std::optional<s3::ChecksumAlgo> algo = attrs->checksum_algorithm;
  // The multipart ETag: MD5 of the parts' binary MD5s, then "-N".
  StreamingDigest md5(StreamingDigest::Kind::kMd5);
  ObjectChecksum checksum(algo, attrs->checksum_composite, r.store->kernels());
  // Without an algorithm: the parts' default checksums (kDefaultChecksum, a
  // CRC) combine into the object's FULL_OBJECT one, if every part has one.
  ObjectChecksum fallback(kDefaultChecksum, false, r.store->kernels());
  bool fallback_ok = !algo;
  std::vector<uint32_t> numbers;
  uint32_t last = 0;
  for (const s3::CompletePart& want : *wanted) {
    if (want.part_number <= last) {
      return r.Error(s3::MakeS3Error(400, "InvalidPartOrder",
                                     "The list of parts was not in ascending order."));
    }
    last = want.part_number;
    auto it = have.find(want.part_number);
    auto part = it == have.end() ? Result<ObjectAttrs>(ObjectAttrs{})
                                 : ObjectAttrs::Decode(it->second->attrs);
    auto invalid = [&](const std::string& what) {
      r.Error(s3::MakeS3Error(400, "InvalidPart",
                              "One or more of the specified parts could not be found or its " +
                                  what + " did not match: part " +
                                  std::to_string(want.part_number)));
    };
    if (it == have.end() || !part.ok() || part->etag != want.etag) return invalid("entity tag");
    for (const auto& [a, value] : want.checksums) {
      if (part->checksum(a) != value) return invalid(std::string(s3::Spec(a).name) + " checksum");
    }
    if (algo && !checksum.Add(part->checksum(*algo), it->second->size)) {
      return invalid(std::string(s3::Spec(*algo).name) + " checksum");
    }
    if (fallback_ok) {
      fallback_ok = fallback.Add(part->checksum(kDefaultChecksum), it->second->size);
    }
    auto raw = FromHex(part->etag);
    if (raw) md5.Update(raw->data(), raw->size());
    numbers.push_back(want.part_number);
    attrs->part_sizes.push_back(it->second->size);
  }
  uint8_t d[16];
  md5.Finish(d);
  attrs->etag = ToHex(d, 16) + "-" + std::to_string(numbers.size());
  attrs->parts = static_cast<uint32_t>(numbers.size());
  s3::ChecksumXml checksum_xml;
  if (algo) {
    const s3::ChecksumSpec& spec = s3::Spec(*algo);
    attrs->checksum(*algo) = checksum.Finish();
    attrs->checksum_algorithm.reset();
    // A whole-object value the client computed itself must agree.
    const std::string* declared = r.Header(spec.header);
    if (declared && !attrs->checksum_composite && *declared != attrs->checksum(*algo)) {
      return r.Error(s3::MakeS3Error(400, "BadDigest",
                                     std::string("The ") + spec.name +
                                         " you specified did not match the "
                                         "calculated checksum."));
    }
    checksum_xml = s3::ChecksumXml{spec.element, attrs->checksum(*algo), attrs->ChecksumTypeName()};
  } else if (fallback_ok && !numbers.empty()) {
    attrs->checksum(kDefaultChecksum) = fallback.Finish();
    attrs->checksum_composite = false;
    checksum_xml = s3::ChecksumXml{s3::Spec(kDefaultChecksum).element,
                                   attrs->checksum(kDefaultChecksum), attrs->ChecksumTypeName()};
  }
  auto done = r.store->CompleteUpload(r.tenant, upload->id, numbers, attrs->Encode());
  if (!done.ok()) return r.Error(done.status(), NoSuchUpload(upload->id));
  r.w.SetHeader("x-amz-meta-as-content", done->content.ToString());
  r.Xml(200, s3::CompleteMultipartUploadXml(
                 {"/" + r.bucket + "/" + r.key, r.bucket, r.key, attrs->etag, checksum_xml}));
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
  auto marker = ParseSmallNumber(r.Query("part-number-marker"));
  auto max = ParseSmallNumber(r.Query("max-parts"));
  doc.part_number_marker = marker.value_or(0);
  doc.max_parts = std::min<uint32_t>(max.value_or(1000), 1000);
  const std::optional<s3::ChecksumAlgo> algo = UploadAlgorithm(*upload);
  if (algo) {
    doc.checksum_algorithm = s3::Spec(*algo).name;
    auto upload_attrs = ObjectAttrs::Decode(upload->attrs);
    if (upload_attrs.ok()) doc.checksum_type = upload_attrs->ChecksumTypeName();
  }
  for (const PartInfo& p : *parts) {
    if (p.number <= doc.part_number_marker) continue;
    if (doc.parts.size() == doc.max_parts) {
      doc.is_truncated = true;
      break;
    }
    auto attrs = ObjectAttrs::Decode(p.attrs);
    s3::PartSummary part{p.number, p.created * 1000, attrs.ok() ? attrs->etag : std::string(),
                         p.size};
    // The part's checksum: the upload's algorithm, or the one it keeps (sent
    // with it, or the default CRC64NVME).
    if (attrs.ok()) {
      auto a = algo ? algo : attrs->FirstChecksum();
      if (a && !attrs->checksum(*a).empty()) {
        part.checksum = s3::ChecksumXml{s3::Spec(*a).element, attrs->checksum(*a), ""};
      }
    }
    doc.parts.push_back(std::move(part));
    doc.next_part_number_marker = p.number;
  }
  r.Xml(200, s3::ListPartsXml(doc));
}

void ListMultipartUploads(S3Request& r) {
  r.w.SetOperation("ListMultipartUploads");
  if (!r.RequireBucket()) return;
  auto uploads = r.store->ListUploads(r.tenant, r.bucket);
  if (!uploads.ok()) return r.Error(ServerError(uploads.status()));
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
