// SigV4's hashing: HMAC-SHA256, SHA-256 and the constant-time comparison.
//
// OpenSSL 3 looks an algorithm up by name, under locks, on every one-shot
// HMAC() and on every EVP_DigestInit of EVP_sha256(); that cost more than the
// hashing itself, and every request runs a few. So the algorithms are fetched
// once per process and each thread keeps one context of each kind, re-keyed
// per use (re-keying an HMAC context fetches nothing).
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdlib>
#include <cstring>

#include "s3/sigv4.h"

namespace as::s3 {
namespace {

// Failure here means OpenSSL itself is broken; there is nothing sane to return.
template <typename T>
T* OrAbort(T* p) {
  if (!p) std::abort();
  return p;
}

EVP_MD* FetchedSha256() {
  static EVP_MD* const md = OrAbort(EVP_MD_fetch(nullptr, "SHA2-256", nullptr));
  return md;
}

EVP_MAC* FetchedHmac() {
  static EVP_MAC* const mac = OrAbort(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  return mac;
}

struct ThreadContexts {
  EVP_MAC_CTX* hmac = nullptr;
  EVP_MD_CTX* sha256 = nullptr;
  // The key hmac was last keyed with. A server verifies request after
  // request with the same signing key, and an HMAC context re-initialised
  // without a key starts again from the padded key hashed the last time: two
  // SHA-256 blocks fewer per signature.
  uint8_t key[64];
  size_t key_len = 0;  // 0: not keyed yet
  ~ThreadContexts() {
    EVP_MAC_CTX_free(hmac);
    EVP_MD_CTX_free(sha256);
    OPENSSL_cleanse(key, sizeof key);
  }
};
thread_local ThreadContexts tls_contexts;

// An HMAC context whose digest is already SHA-256: EVP_MAC_init then only
// takes the key.
EVP_MAC_CTX* ThreadHmac() {
  if (!tls_contexts.hmac) {
    tls_contexts.hmac = OrAbort(EVP_MAC_CTX_new(FetchedHmac()));
    char digest[] = "SHA2-256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(tls_contexts.hmac, params) != 1) std::abort();
  }
  return tls_contexts.hmac;
}

EVP_MD_CTX* ThreadSha256() {
  if (!tls_contexts.sha256) tls_contexts.sha256 = OrAbort(EVP_MD_CTX_new());
  return tls_contexts.sha256;
}

void AppendLowerHex(const uint8_t* p, size_t n, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  size_t base = out->size();
  out->resize(base + 2 * n);
  char* w = out->data() + base;
  for (size_t i = 0; i < n; i++) {
    *w++ = kDigits[p[i] >> 4];
    *w++ = kDigits[p[i] & 15];
  }
}

}  // namespace

std::array<uint8_t, 32> HmacSha256(const uint8_t* key, size_t key_len, std::string_view data) {
  EVP_MAC_CTX* ctx = ThreadHmac();
  ThreadContexts& t = tls_contexts;
  const bool same_key =
      key_len > 0 && key_len == t.key_len && CRYPTO_memcmp(key, t.key, key_len) == 0;
  int inited;
  if (same_key) {
    inited = EVP_MAC_init(ctx, nullptr, 0, nullptr);
  } else {
    t.key_len = 0;
    inited = EVP_MAC_init(ctx, key, key_len, nullptr);
    if (key_len <= sizeof t.key) {
      std::memcpy(t.key, key, key_len);
      t.key_len = key_len;
    }
  }
  std::array<uint8_t, 32> out{};
  size_t len = 0;
  if (inited != 1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1 || len != out.size()) {
    std::abort();
  }
  return out;
}

SigV4Key SigV4SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                         std::string_view service) {
  std::string k0 = "AWS4" + std::string(secret);
  auto k = HmacSha256(reinterpret_cast<const uint8_t*>(k0.data()), k0.size(), date);
  k = HmacSha256(k.data(), k.size(), region);
  k = HmacSha256(k.data(), k.size(), service);
  return HmacSha256(k.data(), k.size(), "aws4_request");
}

std::string HmacSha256Hex(const SigV4Key& key, std::string_view data) {
  auto mac = HmacSha256(key.data(), key.size(), data);
  std::string out;
  AppendLowerHex(mac.data(), mac.size(), &out);
  return out;
}

void AppendSha256Hex(std::string_view data, std::string* out) {
  EVP_MD_CTX* ctx = ThreadSha256();
  uint8_t d[32];
  unsigned int len = 0;
  if (EVP_DigestInit_ex2(ctx, FetchedSha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, d, &len) != 1 || len != sizeof d) {
    std::abort();
  }
  AppendLowerHex(d, sizeof d, out);
}

std::string Sha256Hex(std::string_view data) {
  std::string out;
  AppendSha256Hex(data, &out);
  return out;
}

bool SignaturesEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace as::s3
