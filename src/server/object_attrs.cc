#include "server/object_attrs.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>

#include "base/bytes.h"
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
  kCrc32 = 7,
  kCrc64Nvme = 8,
  kSha1 = 9,
  kChecksumType = 10,       // 1 = COMPOSITE
  kChecksumAlgorithm = 11,  // an upload's: s3::ChecksumAlgo as a number
  kPartSizes = 12,          // bytes: one unsigned LEB128 per part
  kTags = 13,
};

std::string EncodePartSizes(const std::vector<uint64_t>& sizes) {
  std::string out;
  for (uint64_t v : sizes) {
    do {
      uint8_t b = v & 0x7f;
      v >>= 7;
      out.push_back(static_cast<char>(v ? b | 0x80 : b));
    } while (v);
  }
  return out;
}

bool DecodePartSizes(std::string_view in, std::vector<uint64_t>* out) {
  out->clear();
  uint64_t v = 0;
  int shift = 0;
  for (char c : in) {
    const uint8_t b = static_cast<uint8_t>(c);
    if (shift > 63 || (shift == 63 && (b & 0x7e))) return false;  // over 64 bits
    if (b == 0 && shift > 0) return false;  // a needless zero group: one spelling each
    v |= uint64_t(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) {
      out->push_back(v);
      v = 0;
      shift = 0;
    }
  }
  return shift == 0;  // no unfinished number
}

// The attrs key of each checksum, in s3::ChecksumAlgo order.
constexpr uint64_t kChecksumKey[s3::kChecksumAlgos] = {kCrc32, kCrc32c, kCrc64Nvme, kSha1, kSha256};

std::string* ChecksumField(ObjectAttrs& a, uint64_t key) {
  for (s3::ChecksumAlgo algo : s3::kAllChecksumAlgos) {
    if (kChecksumKey[s3::Index(algo)] == key) return &a.checksum(algo);
  }
  return nullptr;
}

bool SetChecksumAlgorithm(ObjectAttrs& a, uint64_t v) {
  if (v >= s3::kChecksumAlgos) return false;
  a.checksum_algorithm = static_cast<s3::ChecksumAlgo>(v);
  return true;
}

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

// Every GET and HEAD decodes the attrs of its object; cbor::Decode builds a
// tree of values first, which costs more than the rest of this file. This
// reads the shapes Encode writes straight into ObjectAttrs, checking the same
// canonical form cbor::Decode does, and gives up (nullopt) on anything else,
// which the full decoder then answers: the result is the same either way.
class FastReader {
 public:
  explicit FastReader(std::string_view b)
      : p_(reinterpret_cast<const uint8_t*>(b.data())), n_(b.size()) {}

  std::optional<ObjectAttrs> Attrs() {
    ObjectAttrs a;
    uint64_t count = 0;
    if (!Head(5, &count)) return std::nullopt;
    uint64_t prev_key = 0;
    for (uint64_t i = 0; i < count; i++) {
      uint64_t key = 0;
      // Canonical unsigned keys sort bytewise as they sort by value.
      if (!Head(0, &key) || (i > 0 && key <= prev_key)) return std::nullopt;
      prev_key = key;
      bool ok = false;
      switch (key) {
        case kEtag:
          ok = Bytes(&a.etag);
          break;
        case kContentType:
          ok = Bytes(&a.content_type);
          break;
        case kHeaders:
          ok = StrMap(&a.headers);
          break;
        case kUser:
          ok = StrMap(&a.user);
          break;
        case kTags:
          ok = StrMap(&a.tags);
          break;
        case kParts:
        case kChecksumType:
        case kChecksumAlgorithm: {
          uint64_t v = 0;
          ok = Head(0, &v);
          if (key == kParts) a.parts = static_cast<uint32_t>(v);
          if (key == kChecksumType) a.checksum_composite = v == 1;
          if (key == kChecksumAlgorithm) ok = ok && SetChecksumAlgorithm(a, v);
          break;
        }
        default:
          // A newer writer's field stays !ok: the full decoder skips it.
          if (std::string* field = ChecksumField(a, key)) ok = Bytes(field);
          if (key == kPartSizes) {
            std::string raw;
            ok = Bytes(&raw) && DecodePartSizes(raw, &a.part_sizes);
          }
          break;
      }
      if (!ok) return std::nullopt;
    }
    if (pos_ != n_) return std::nullopt;
    return a;
  }

 private:
  // An item of major type `major` (0, 2 or 5) in shortest form; its argument.
  bool Head(int major, uint64_t* arg) {
    if (pos_ >= n_ || p_[pos_] >> 5 != major) return false;
    const int ai = p_[pos_++] & 0x1f;
    if (ai < 24) {
      *arg = static_cast<uint64_t>(ai);
      return true;
    }
    if (ai > 27) return false;
    const size_t len = size_t{1} << (ai - 24);
    if (n_ - pos_ < len) return false;
    uint64_t v = 0;
    for (size_t k = 0; k < len; k++) v = (v << 8) | p_[pos_ + k];
    pos_ += len;
    static constexpr uint64_t kMin[4] = {24, 0x100, 0x10000, 0x100000000ull};
    *arg = v;
    return v >= kMin[ai - 24];
  }

  bool Bytes(std::string* out) {
    uint64_t len = 0;
    if (!Head(2, &len) || len > n_ - pos_) return false;
    out->assign(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return true;
  }

  // A map of byte strings to byte strings, keys in canonical order.
  bool StrMap(std::map<std::string, std::string>* out) {
    uint64_t count = 0;
    if (!Head(5, &count)) return false;
    size_t prev_start = 0, prev_end = 0;
    for (uint64_t i = 0; i < count; i++) {
      const size_t key_start = pos_;
      std::string k, v;
      if (!Bytes(&k)) return false;
      if (i > 0) {  // as cbor::Decode: the encodings compare bytewise, shorter first
        const size_t la = prev_end - prev_start, lb = pos_ - key_start;
        int c = std::memcmp(p_ + prev_start, p_ + key_start, std::min(la, lb));
        if (c > 0 || (c == 0 && la >= lb)) return false;
      }
      prev_start = key_start;
      prev_end = pos_;
      if (!Bytes(&v)) return false;
      out->emplace_hint(out->end(), std::move(k), std::move(v));
    }
    return true;
  }

  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

}  // namespace

std::string ObjectAttrs::Encode() const {
  std::vector<cbor::Value::Entry> e;
  e.emplace_back(cbor::Value::Uint(kEtag), Str(etag));
  if (!content_type.empty()) e.emplace_back(cbor::Value::Uint(kContentType), Str(content_type));
  if (!headers.empty()) e.emplace_back(cbor::Value::Uint(kHeaders), StrMap(headers));
  if (!user.empty()) e.emplace_back(cbor::Value::Uint(kUser), StrMap(user));
  if (parts) e.emplace_back(cbor::Value::Uint(kParts), cbor::Value::Uint(parts));
  for (s3::ChecksumAlgo a : s3::kAllChecksumAlgos) {
    if (!checksum(a).empty()) {
      e.emplace_back(cbor::Value::Uint(kChecksumKey[s3::Index(a)]), Str(checksum(a)));
    }
  }
  if (checksum_composite) e.emplace_back(cbor::Value::Uint(kChecksumType), cbor::Value::Uint(1));
  if (checksum_algorithm) {
    e.emplace_back(cbor::Value::Uint(kChecksumAlgorithm),
                   cbor::Value::Uint(static_cast<uint64_t>(*checksum_algorithm)));
  }
  if (!tags.empty()) e.emplace_back(cbor::Value::Uint(kTags), StrMap(tags));
  if (!part_sizes.empty()) {
    e.emplace_back(cbor::Value::Uint(kPartSizes), Str(EncodePartSizes(part_sizes)));
  }
  std::vector<uint8_t> b = cbor::Encode(cbor::Value::Map(std::move(e)));
  return std::string(b.begin(), b.end());
}

std::string ContentEtag(const Digest& content) {
  return ToHex(content.bytes.data(), std::min<size_t>(content.size(), 16)) + "-1";
}

Result<ObjectAttrs> ObjectAttrs::DecodeFor(const std::string& bytes, const Digest& content) {
  AS_ASSIGN_OR_RETURN(ObjectAttrs a, Decode(bytes));
  if (a.etag.empty()) a.etag = ContentEtag(content);
  return a;
}

Result<ObjectAttrs> ObjectAttrs::Decode(const std::string& bytes) {
  if (bytes.empty()) return ObjectAttrs{};
  if (auto fast = FastReader(bytes).Attrs()) return std::move(*fast);
  ObjectAttrs a;
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
      case kTags: {
        AS_RETURN_IF_ERROR(AsStrMap(val, &a.tags));
        break;
      }
      case kParts:
        if (!val.is_uint()) return Status::Corruption("object attrs: parts is not a number");
        a.parts = static_cast<uint32_t>(val.as_uint());
        break;
      case kChecksumType:
        if (!val.is_uint())
          return Status::Corruption("object attrs: checksum type is not a number");
        a.checksum_composite = val.as_uint() == 1;
        break;
      case kChecksumAlgorithm:
        if (!val.is_uint() || !SetChecksumAlgorithm(a, val.as_uint())) {
          return Status::Corruption("object attrs: unknown checksum algorithm");
        }
        break;
      case kPartSizes: {
        AS_ASSIGN_OR_RETURN(std::string raw, AsStr(val));
        if (!DecodePartSizes(raw, &a.part_sizes)) {
          return Status::Corruption("object attrs: part sizes are not LEB128 numbers");
        }
        break;
      }
      default:
        if (std::string* field = ChecksumField(a, k.as_uint())) {
          AS_ASSIGN_OR_RETURN(*field, AsStr(val));
        }
        break;  // else a newer writer's field
    }
  }
  return a;
}

std::optional<s3::ChecksumAlgo> ObjectAttrs::FirstChecksum() const {
  for (s3::ChecksumAlgo a : s3::kAllChecksumAlgos) {
    if (!checksum(a).empty()) return a;
  }
  return std::nullopt;
}

}  // namespace as
