// S3 object tagging. Tags live in the object's attrs (docs/format/
// s3-attrs.md, key 13): Get/Put/DeleteObjectTagging change only them, never
// what the name binds nor its Last-Modified, and x-amz-tagging sets them on
// the requests that create objects.
#include <set>

#include "s3/uri.h"
#include "s3/xml.h"
#include "server/s3_request.h"

namespace as {

namespace {

s3::S3Error InvalidTag(const std::string& message) {
  return s3::MakeS3Error(400, "InvalidTag", message);
}

size_t Utf8Chars(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<uint8_t>(c) & 0xc0) != 0x80;
  return n;
}

// S3's limits: at most 10 tags, keys of 1 to 128 characters not starting
// with "aws:", values of at most 256, no key twice.
s3::S3Expected<std::map<std::string, std::string>> CheckTags(const s3::Tags& tags) {
  if (tags.size() > 10) return InvalidTag("Object tags cannot be greater than 10");
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : tags) {
    if (k.empty() || Utf8Chars(k) > 128)
      return InvalidTag("The TagKey you have provided is invalid");
    if (Utf8Chars(v) > 256) return InvalidTag("The TagValue you have provided is invalid");
    if (k.rfind("aws:", 0) == 0) return InvalidTag("Your TagKey cannot be prefixed with aws:");
    if (!out.emplace(k, v).second) {
      return InvalidTag("Cannot provide multiple Tags with the same key");
    }
  }
  return out;
}

}  // namespace

s3::S3Expected<std::map<std::string, std::string>> TagsFromHeader(const HttpRequest& req) {
  const std::string* h = req.Header("x-amz-tagging");
  if (!h) return std::map<std::string, std::string>{};
  auto query = s3::ParseQuery(*h, true);  // form-encoded: '+' is a space
  if (!query.ok()) return InvalidTag("x-amz-tagging is not a URL-encoded query string");
  return CheckTags(*query);
}

void ObjectTagging(S3Request& r) {
  const std::string& m = r.req.method;
  r.w.SetOperation(m == "GET"   ? "GetObjectTagging"
                   : m == "PUT" ? "PutObjectTagging"
                                : "DeleteObjectTagging");
  std::map<std::string, std::string> tags;
  if (m == "PUT") {
    auto body = ReadBody(r, 1 << 20);
    if (!body.ok()) return r.Error(s3::err::IncompleteBody(body.status().message()));
    auto parsed = s3::ParseTagging(*body);
    if (!parsed.ok()) return r.Error(s3::err::MalformedXML(parsed.status().message()));
    auto checked = CheckTags(*parsed);
    if (!checked.ok()) return r.Error(checked.error());
    tags = std::move(*checked);
  }
  // The attrs are read, changed and written back only if the name still
  // binds the same manifest (else read again), so a PUT of the object in
  // between is never given the old object's ETag or metadata.
  RetryWhileChanging(r, "The object kept changing. Please try again.", [&] {
    auto info = r.store->Lookup(r.Name());
    if (!info.ok()) {
      if (info.status().code() != Code::kNotFound || r.RequireBucket()) {
        r.Error(info.status(), NoSuchKey(r.key));
      }
      return false;
    }
    auto attrs = ObjectAttrs::Decode(info->attrs);
    if (!attrs.ok()) {
      r.Error(ServerError(attrs.status()));
    } else if (m == "GET") {
      r.Xml(200, s3::TaggingXml(s3::Tags(attrs->tags.begin(), attrs->tags.end())));
    } else {
      attrs->tags = tags;
      Status s = r.store->SetAttrs(r.Name(), attrs->Encode(), info->manifest);
      if (s.code() == Code::kFailedPrecondition) return true;
      if (!s.ok()) {
        r.Error(s, NoSuchKey(r.key));
      } else {
        r.w.Send(m == "PUT" ? 200 : 204, "", "").IgnoreError();
      }
    }
    return false;
  });
}

}  // namespace as
