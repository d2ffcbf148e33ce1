#include "hash/sha.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace as {

struct StreamingDigest::State {
  EVP_MD_CTX* ctx = nullptr;
  ~State() { EVP_MD_CTX_free(ctx); }
};

StreamingDigest::StreamingDigest(Kind kind) : s_(new State) {
  s_->ctx = EVP_MD_CTX_new();
  const EVP_MD* md = kind == Kind::kSha256 ? EVP_sha256()
                     : kind == Kind::kSha1 ? EVP_sha1()
                                           : EVP_md5();
  // Failure here means OpenSSL itself is broken; there is nothing sane to return.
  if (!s_->ctx || EVP_DigestInit_ex(s_->ctx, md, nullptr) != 1) std::abort();
}

StreamingDigest::~StreamingDigest() = default;

void StreamingDigest::Update(const void* data, size_t n) { EVP_DigestUpdate(s_->ctx, data, n); }

size_t StreamingDigest::Finish(uint8_t* out) {
  unsigned int len = 0;
  EVP_DigestFinal_ex(s_->ctx, out, &len);
  return len;
}

Digest Sha256(const void* data, size_t n) {
  StreamingDigest h(StreamingDigest::Kind::kSha256);
  h.Update(data, n);
  Digest d;
  d.algo = DigestAlgo::kSha256;
  h.Finish(d.bytes.data());
  return d;
}

std::array<uint8_t, 16> Md5(const void* data, size_t n) {
  StreamingDigest h(StreamingDigest::Kind::kMd5);
  h.Update(data, n);
  std::array<uint8_t, 16> out{};
  h.Finish(out.data());
  return out;
}

}  // namespace as
