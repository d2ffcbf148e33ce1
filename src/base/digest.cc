#include "base/digest.h"

#include "base/bytes.h"

namespace as {

const char* DigestAlgoName(DigestAlgo a) {
  switch (a) {
    case DigestAlgo::kBlake3: return "blake3";
    case DigestAlgo::kSha256: return "sha256";
    case DigestAlgo::kBlake3Keyed: return "blake3k";
    default: return nullptr;
  }
}

size_t DigestAlgoSize(DigestAlgo a) {
  switch (a) {
    case DigestAlgo::kBlake3:
    case DigestAlgo::kSha256:
    case DigestAlgo::kBlake3Keyed: return 32;
    default: return 0;
  }
}

std::string Digest::ToString() const {
  const char* name = DigestAlgoName(algo);
  if (!name) return "none:";
  return std::string(name) + ":" + ToHex(bytes.data(), size());
}

Result<Digest> Digest::Parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Status::InvalidArgument("digest '" + std::string(text) +
                                   "' has no algorithm prefix (expected e.g. blake3:<hex>)");
  }
  std::string_view name = text.substr(0, colon), hex = text.substr(colon + 1);
  Digest d;
  for (DigestAlgo a : {DigestAlgo::kBlake3, DigestAlgo::kSha256, DigestAlgo::kBlake3Keyed}) {
    if (name == DigestAlgoName(a)) d.algo = a;
  }
  if (d.empty()) {
    return Status::InvalidArgument("digest '" + std::string(text) + "': unknown algorithm '" +
                                   std::string(name) + "'");
  }
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return Status::InvalidArgument("digest '" + std::string(text) +
                                     "': expected lowercase hex after the colon");
    }
  }
  auto bytes = FromHex(hex);
  if (!bytes || bytes->size() != d.size()) {
    return Status::InvalidArgument("digest '" + std::string(text) + "': expected " +
                                   std::to_string(d.size() * 2) + " hex digits");
  }
  std::memcpy(d.bytes.data(), bytes->data(), d.size());
  return d;
}

void Digest::EncodeTo(uint8_t* out) const {
  out[0] = static_cast<uint8_t>(algo);
  std::memcpy(out + 1, bytes.data(), size());
}

Result<Digest> Digest::Decode(const uint8_t* p, size_t n) {
  if (n < 1) return Status::Corruption("empty binary digest");
  Digest d;
  d.algo = static_cast<DigestAlgo>(p[0]);
  size_t sz = DigestAlgoSize(d.algo);
  if (sz == 0) return Status::Corruption("unknown digest algorithm id " + std::to_string(p[0]));
  if (n != 1 + sz) {
    return Status::Corruption("binary digest of " + std::to_string(n) + " bytes, expected " +
                              std::to_string(1 + sz));
  }
  std::memcpy(d.bytes.data(), p + 1, sz);
  return d;
}

}  // namespace as
