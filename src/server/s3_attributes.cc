// GetObjectAttributes (GET ?attributes): what x-amz-object-attributes asks
// for of ETag, Checksum, ObjectParts, StorageClass and ObjectSize, from the
// object's attrs, without reading its bytes.
#include <algorithm>
#include <set>

#include "base/bytes.h"
#include "s3/xml.h"
#include "server/s3_request.h"

namespace as {

void GetObjectAttributes(S3Request& r) {
  r.w.SetOperation("GetObjectAttributes");
  const std::string* wanted = r.Header("x-amz-object-attributes");
  if (!wanted || wanted->empty()) {
    return r.Error(s3::err::InvalidArgument("x-amz-object-attributes must name attributes"));
  }
  std::set<std::string, std::less<>> names;
  std::string_view list = *wanted;
  while (!list.empty()) {
    size_t comma = list.find(',');
    const std::string_view item = TrimOws(list.substr(0, comma));
    if (item != "ETag" && item != "Checksum" && item != "ObjectParts" && item != "StorageClass" &&
        item != "ObjectSize") {
      return r.Error(
          s3::err::InvalidArgument("Invalid attribute name specified: " + std::string(item)));
    }
    names.emplace(item);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  const std::string* max_header = r.Header("x-amz-max-parts");
  const std::string* marker_header = r.Header("x-amz-part-number-marker");
  const auto max_parts = max_header ? ParseSmallNumber(max_header) : 1000;
  const auto marker = marker_header ? ParseSmallNumber(marker_header) : 0;
  if (!max_parts || !marker) {
    return r.Error(
        s3::err::InvalidArgument("x-amz-max-parts and x-amz-part-number-marker are "
                                 "numbers"));
  }
  auto found = FindObject(r);
  if (!found) return;
  const ArtifactInfo* info = &found->info;
  const ObjectAttrs* attrs = &found->attrs;

  s3::ObjectAttributesDoc doc;
  if (names.count("ETag")) doc.etag = attrs->etag;
  if (auto a = attrs->FirstChecksum(); a && names.count("Checksum")) {
    doc.checksum =
        s3::ChecksumXml{s3::Spec(*a).element, attrs->checksum(*a), attrs->ChecksumTypeName()};
  }
  if (names.count("ObjectParts") && attrs->parts) {
    s3::ObjectAttributesDoc::Parts p;
    p.total = attrs->parts;
    p.marker = *marker;
    p.max_parts = std::min<uint32_t>(*max_parts, 1000);
    for (uint32_t n = p.marker + 1; n <= attrs->part_sizes.size(); n++) {
      if (p.parts.size() == p.max_parts) {
        p.truncated = true;
        break;
      }
      p.parts.emplace_back(n, attrs->part_sizes[n - 1]);
      p.next_marker = n;
    }
    doc.parts = std::move(p);
  }
  doc.storage_class = names.count("StorageClass") > 0;
  if (names.count("ObjectSize")) doc.size = info->size;
  r.w.SetHeader("Last-Modified", s3::FormatHttpDate(info->created));
  r.Xml(200, s3::ObjectAttributesXml(doc));
}

}  // namespace as
