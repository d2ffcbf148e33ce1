#include "server/object_attrs.h"

#include "cbor/cbor.h"

namespace as {

namespace {

enum Key : uint64_t {
  kEtag = 0,
  kContentType = 1,
  kHeaders = 2,
  kUser = 3,
  kCrc32c = 4,
  kSha256 = 5,
  kParts = 6,
};

cbor::Value Str(const std::string& s) {
  return cbor::Value::Bytes(std::vector<uint8_t>(s.begin(), s.end()));
}

cbor::Value StrMap(const std::map<std::string, std::string>& m) {
  std::vector<cbor::Value::Entry> e;
  for (const auto& [k, v] : m) e.emplace_back(Str(k), Str(v));
  return cbor::Value::Map(std::move(e));
}

Result<std::string> AsStr(const cbor::Value& v) {
  if (!v.is_bytes()) return Status::Corruption("object attrs: expected a byte string");
  return std::string(v.as_bytes().begin(), v.as_bytes().end());
}

Status AsStrMap(const cbor::Value& v, std::map<std::string, std::string>* out) {
  if (!v.is_map()) return Status::Corruption("object attrs: expected a map");
  for (const auto& [k, val] : v.as_map()) {
    AS_ASSIGN_OR_RETURN(std::string ks, AsStr(k));
    AS_ASSIGN_OR_RETURN(std::string vs, AsStr(val));
    (*out)[ks] = vs;
  }
  return Status::OK();
}

}  // namespace

std::string ObjectAttrs::Encode() const {
  std::vector<cbor::Value::Entry> e;
  e.emplace_back(cbor::Value::Uint(kEtag), Str(etag));
  if (!content_type.empty()) e.emplace_back(cbor::Value::Uint(kContentType), Str(content_type));
  if (!headers.empty()) e.emplace_back(cbor::Value::Uint(kHeaders), StrMap(headers));
  if (!user.empty()) e.emplace_back(cbor::Value::Uint(kUser), StrMap(user));
  if (!checksum_crc32c.empty()) e.emplace_back(cbor::Value::Uint(kCrc32c), Str(checksum_crc32c));
  if (!checksum_sha256.empty()) e.emplace_back(cbor::Value::Uint(kSha256), Str(checksum_sha256));
  if (parts) e.emplace_back(cbor::Value::Uint(kParts), cbor::Value::Uint(parts));
  std::vector<uint8_t> b = cbor::Encode(cbor::Value::Map(std::move(e)));
  return std::string(b.begin(), b.end());
}

Result<ObjectAttrs> ObjectAttrs::Decode(const std::string& bytes) {
  ObjectAttrs a;
  if (bytes.empty()) return a;
  AS_ASSIGN_OR_RETURN(cbor::Value v, cbor::Decode(std::string_view(bytes)));
  if (!v.is_map()) return Status::Corruption("object attrs: not a map");
  for (const auto& [k, val] : v.as_map()) {
    if (!k.is_uint()) continue;
    switch (k.as_uint()) {
      case kEtag: {
        AS_ASSIGN_OR_RETURN(a.etag, AsStr(val));
        break;
      }
      case kContentType: {
        AS_ASSIGN_OR_RETURN(a.content_type, AsStr(val));
        break;
      }
      case kHeaders: {
        AS_RETURN_IF_ERROR(AsStrMap(val, &a.headers));
        break;
      }
      case kUser: {
        AS_RETURN_IF_ERROR(AsStrMap(val, &a.user));
        break;
      }
      case kCrc32c: {
        AS_ASSIGN_OR_RETURN(a.checksum_crc32c, AsStr(val));
        break;
      }
      case kSha256: {
        AS_ASSIGN_OR_RETURN(a.checksum_sha256, AsStr(val));
        break;
      }
      case kParts:
        if (!val.is_uint()) return Status::Corruption("object attrs: parts is not a number");
        a.parts = static_cast<uint32_t>(val.as_uint());
        break;
      default: break;  // a newer writer's field
    }
  }
  return a;
}

}  // namespace as
