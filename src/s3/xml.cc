// Response documents (xml.h). Request parsers are in xml_parse.cc.
#include <pugixml.hpp>

#include "s3/http_util.h"
#include "s3/xml.h"

namespace as::s3 {
namespace {

// encoding-type=url: percent-encode every byte but the RFC 3986 unreserved
// characters and '/', with %20 for a space (never '+': clients decode with
// form rules, where '+' would come back as a space).
std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.' || c == '~' || c == '/';
    if (keep) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Text is escaped here and written with format_no_escapes: pugixml 1.13
// writes '\r' raw (a reader turns it into '\n') and other control characters
// as wrong references. '\r' and the other C0 controls but tab and newline
// become decimal character references (the latter are not XML 1.0 characters
// at all, which is what encoding-type=url is for).
std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default:
        if (c < 0x20 && ch != '\t' && ch != '\n') {
          out += "&#" + std::to_string(c) + ";";
        } else {
          out += ch;
        }
    }
  }
  return out;
}

class Doc {
 public:
  // S3 puts no namespace on <Error>; every other root has one.
  explicit Doc(const char* root, bool with_namespace = true) {
    pugi::xml_node decl = doc_.append_child(pugi::node_declaration);
    decl.append_attribute("version") = "1.0";
    decl.append_attribute("encoding") = "UTF-8";
    root_ = doc_.append_child(root);
    if (with_namespace) root_.append_attribute("xmlns") = kS3Namespace;
  }
  pugi::xml_node root() { return root_; }

  std::string Finish() {
    struct Writer : pugi::xml_writer {
      std::string out;
      void write(const void* data, size_t size) override {
        out.append(static_cast<const char*>(data), size);
      }
    } w;
    doc_.save(w, "", pugi::format_raw | pugi::format_no_escapes, pugi::encoding_utf8);
    return std::move(w.out);
  }

 private:
  pugi::xml_document doc_;
  pugi::xml_node root_;
};

pugi::xml_node Add(pugi::xml_node parent, const char* name, std::string_view text) {
  pugi::xml_node n = parent.append_child(name);
  std::string escaped = Escape(text);
  n.text().set(escaped.c_str(), escaped.size());
  return n;
}
pugi::xml_node Add(pugi::xml_node parent, const char* name, uint64_t v) {
  return Add(parent, name, std::to_string(v));
}
pugi::xml_node AddBool(pugi::xml_node parent, const char* name, bool v) {
  return Add(parent, name, v ? "true" : "false");
}
void AddOwner(pugi::xml_node parent, const char* name, const Owner& o) {
  pugi::xml_node n = parent.append_child(name);
  Add(n, "ID", o.id);
  Add(n, "DisplayName", o.display_name);
}
void AddChecksum(pugi::xml_node n, const ChecksumXml& c) {
  if (c.element.empty()) return;
  Add(n, c.element.c_str(), c.value);
  if (!c.type.empty()) Add(n, "ChecksumType", c.type);
}

std::string CopyResult(const char* root, const CopyResultDoc& c) {
  Doc d(root);
  Add(d.root(), "LastModified", FormatIso8601(c.last_modified));
  Add(d.root(), "ETag", Quoted(c.etag));
  AddChecksum(d.root(), c.checksum);
  return d.Finish();
}

}  // namespace

std::string Quoted(std::string_view etag) {
  std::string q;
  q.reserve(etag.size() + 2);
  q.push_back('"');
  q += etag;
  q.push_back('"');
  return q;
}


std::string ErrorXml(const ErrorDoc& e) {
  Doc d("Error", false);
  pugi::xml_node r = d.root();
  Add(r, "Code", e.code);
  Add(r, "Message", e.message);
  for (const auto& [name, value] : e.extra) Add(r, name.c_str(), value);
  if (!e.resource.empty()) Add(r, "Resource", e.resource);
  Add(r, "RequestId", e.request_id);
  return d.Finish();
}

std::string ListAllMyBucketsXml(const Owner& owner, const std::vector<BucketSummary>& buckets) {
  Doc d("ListAllMyBucketsResult");
  AddOwner(d.root(), "Owner", owner);
  pugi::xml_node list = d.root().append_child("Buckets");
  for (const BucketSummary& b : buckets) {
    pugi::xml_node n = list.append_child("Bucket");
    Add(n, "Name", b.name);
    Add(n, "CreationDate", FormatIso8601(b.created));
  }
  return d.Finish();
}

// A listing page's objects (as <Contents>, or as <Version>: each the one,
// latest version "null") and common prefixes.
static void AddEntries(pugi::xml_node r, const char* element, const ListObjectsParams& p,
                       const ListPage& page) {
  auto enc = [&](std::string_view s) { return p.encoding_url ? UrlEncode(s) : std::string(s); };
  const bool version = std::string_view(element) == "Version";
  for (const ObjectSummary& o : page.contents) {
    pugi::xml_node c = r.append_child(element);
    Add(c, "Key", enc(o.key));
    if (version) {
      Add(c, "VersionId", "null");
      AddBool(c, "IsLatest", true);
    }
    Add(c, "LastModified", FormatIso8601(o.last_modified));
    Add(c, "ETag", Quoted(o.etag));
    Add(c, "Size", o.size);
    if (p.owner) AddOwner(c, "Owner", *p.owner);
    Add(c, "StorageClass", "STANDARD");
  }
  for (const std::string& cp : page.common_prefixes) {
    Add(r.append_child("CommonPrefixes"), "Prefix", enc(cp));
  }
}

std::string ListBucketResultXml(const ListObjectsParams& p, const ListPage& page) {
  auto enc = [&](std::string_view s) { return p.encoding_url ? UrlEncode(s) : std::string(s); };
  const bool v2 = p.version == 2;
  const bool truncated = page.is_truncated;
  Doc d("ListBucketResult");
  pugi::xml_node r = d.root();
  Add(r, "Name", p.bucket);
  Add(r, "Prefix", enc(p.prefix));
  if (v2) {
    if (p.continuation_token) Add(r, "ContinuationToken", *p.continuation_token);
    if (truncated) Add(r, "NextContinuationToken", EncodeContinuationToken(page.next));
    if (p.start_after) Add(r, "StartAfter", enc(*p.start_after));
    Add(r, "KeyCount", page.key_count());
  } else {
    Add(r, "Marker", enc(p.marker));
    if (truncated && !p.delimiter.empty()) Add(r, "NextMarker", enc(page.next));
  }
  Add(r, "MaxKeys", p.max_keys);
  if (!p.delimiter.empty()) Add(r, "Delimiter", enc(p.delimiter));
  if (p.encoding_url) Add(r, "EncodingType", "url");
  AddBool(r, "IsTruncated", truncated);
  AddEntries(r, "Contents", p, page);
  return d.Finish();
}

std::string ListVersionsResultXml(const ListObjectsParams& p, std::string_view version_id_marker,
                                  const ListPage& page) {
  auto enc = [&](std::string_view s) { return p.encoding_url ? UrlEncode(s) : std::string(s); };
  Doc d("ListVersionsResult");
  pugi::xml_node r = d.root();
  Add(r, "Name", p.bucket);
  Add(r, "Prefix", enc(p.prefix));
  Add(r, "KeyMarker", enc(p.marker));
  Add(r, "VersionIdMarker", version_id_marker);
  if (page.is_truncated) {
    Add(r, "NextKeyMarker", enc(page.next));
    Add(r, "NextVersionIdMarker", "null");
  }
  Add(r, "MaxKeys", p.max_keys);
  if (!p.delimiter.empty()) Add(r, "Delimiter", enc(p.delimiter));
  if (p.encoding_url) Add(r, "EncodingType", "url");
  AddBool(r, "IsTruncated", page.is_truncated);
  AddEntries(r, "Version", p, page);
  return d.Finish();
}

std::string ObjectAttributesXml(const ObjectAttributesDoc& a) {
  Doc d("GetObjectAttributesResponse");
  pugi::xml_node r = d.root();
  if (a.etag) Add(r, "ETag", *a.etag);
  if (a.checksum && !a.checksum->element.empty()) {
    AddChecksum(r.append_child("Checksum"), *a.checksum);
  }
  if (a.parts) {
    pugi::xml_node p = r.append_child("ObjectParts");
    Add(p, "TotalPartsCount", a.parts->total);
    Add(p, "PartNumberMarker", a.parts->marker);
    Add(p, "NextPartNumberMarker", a.parts->next_marker);
    Add(p, "MaxParts", a.parts->max_parts);
    AddBool(p, "IsTruncated", a.parts->truncated);
    for (const auto& [number, size] : a.parts->parts) {
      pugi::xml_node part = p.append_child("Part");
      Add(part, "PartNumber", number);
      Add(part, "Size", size);
    }
  }
  if (a.storage_class) Add(r, "StorageClass", "STANDARD");
  if (a.size) Add(r, "ObjectSize", *a.size);
  return d.Finish();
}

std::string TaggingXml(const Tags& tags) {
  Doc d("Tagging");
  pugi::xml_node set = d.root().append_child("TagSet");
  for (const auto& [k, v] : tags) {
    pugi::xml_node t = set.append_child("Tag");
    Add(t, "Key", k);
    Add(t, "Value", v);
  }
  return d.Finish();
}

std::string InitiateMultipartUploadXml(const InitiateMultipartUploadDoc& m) {
  Doc d("InitiateMultipartUploadResult");
  Add(d.root(), "Bucket", m.bucket);
  Add(d.root(), "Key", m.key);
  Add(d.root(), "UploadId", m.upload_id);
  return d.Finish();
}

std::string CompleteMultipartUploadXml(const CompleteMultipartUploadDoc& m) {
  Doc d("CompleteMultipartUploadResult");
  Add(d.root(), "Location", m.location);
  Add(d.root(), "Bucket", m.bucket);
  Add(d.root(), "Key", m.key);
  Add(d.root(), "ETag", Quoted(m.etag));
  AddChecksum(d.root(), m.checksum);
  return d.Finish();
}

std::string CopyObjectResultXml(const CopyResultDoc& c) { return CopyResult("CopyObjectResult", c); }
std::string CopyPartResultXml(const CopyResultDoc& c) { return CopyResult("CopyPartResult", c); }

std::string ListPartsXml(const ListPartsDoc& l) {
  Doc d("ListPartsResult");
  pugi::xml_node r = d.root();
  Add(r, "Bucket", l.bucket);
  Add(r, "Key", l.key);
  Add(r, "UploadId", l.upload_id);
  if (l.owner) {
    AddOwner(r, "Initiator", *l.owner);
    AddOwner(r, "Owner", *l.owner);
  }
  Add(r, "StorageClass", "STANDARD");
  if (!l.checksum_algorithm.empty()) Add(r, "ChecksumAlgorithm", l.checksum_algorithm);
  if (!l.checksum_type.empty()) Add(r, "ChecksumType", l.checksum_type);
  Add(r, "PartNumberMarker", l.part_number_marker);
  if (l.is_truncated) Add(r, "NextPartNumberMarker", l.next_part_number_marker);
  Add(r, "MaxParts", l.max_parts);
  AddBool(r, "IsTruncated", l.is_truncated);
  for (const PartSummary& p : l.parts) {
    pugi::xml_node n = r.append_child("Part");
    Add(n, "PartNumber", p.part_number);
    Add(n, "LastModified", FormatIso8601(p.last_modified));
    Add(n, "ETag", Quoted(p.etag));
    Add(n, "Size", p.size);
    AddChecksum(n, p.checksum);
  }
  return d.Finish();
}

std::string ListMultipartUploadsXml(const ListMultipartUploadsDoc& l) {
  auto enc = [&](std::string_view s) { return l.encoding_url ? UrlEncode(s) : std::string(s); };
  Doc d("ListMultipartUploadsResult");
  pugi::xml_node r = d.root();
  Add(r, "Bucket", l.bucket);
  Add(r, "KeyMarker", enc(l.key_marker));
  Add(r, "UploadIdMarker", l.upload_id_marker);
  if (l.is_truncated) {
    Add(r, "NextKeyMarker", enc(l.next_key_marker));
    Add(r, "NextUploadIdMarker", l.next_upload_id_marker);
  }
  Add(r, "Prefix", enc(l.prefix));
  if (!l.delimiter.empty()) Add(r, "Delimiter", enc(l.delimiter));
  Add(r, "MaxUploads", l.max_uploads);
  if (l.encoding_url) Add(r, "EncodingType", "url");
  AddBool(r, "IsTruncated", l.is_truncated);
  for (const UploadSummary& u : l.uploads) {
    pugi::xml_node n = r.append_child("Upload");
    Add(n, "Key", enc(u.key));
    Add(n, "UploadId", u.upload_id);
    Add(n, "StorageClass", "STANDARD");
    Add(n, "Initiated", FormatIso8601(u.initiated));
  }
  for (const std::string& cp : l.common_prefixes) {
    Add(r.append_child("CommonPrefixes"), "Prefix", enc(cp));
  }
  return d.Finish();
}

std::string DeleteResultXml(const DeleteResultDoc& del, bool quiet) {
  Doc d("DeleteResult");
  if (!quiet) {
    for (const std::string& k : del.deleted) Add(d.root().append_child("Deleted"), "Key", k);
  }
  for (const DeleteError& e : del.errors) {
    pugi::xml_node n = d.root().append_child("Error");
    Add(n, "Key", e.key);
    Add(n, "Code", e.code);
    Add(n, "Message", e.message);
  }
  return d.Finish();
}

std::string LocationConstraintXml(std::string_view region) {
  Doc d("LocationConstraint");
  if (!region.empty()) {
    std::string escaped = Escape(region);
    d.root().text().set(escaped.c_str(), escaped.size());
  }
  return d.Finish();
}

}  // namespace as::s3
