#include "crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>

namespace as::crypto {
namespace {

// Fetched once: a lookup by name takes locks on every EVP_aes_256_gcm() use.
EVP_CIPHER* Gcm() {
  static EVP_CIPHER* const c = [] {
    EVP_CIPHER* f = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (!f) std::abort();  // libcrypto without AES: nothing sane to do
    return f;
  }();
  return c;
}

// One context per thread and direction, keyed once for as long as the
// thread keeps using the same key (a frame after frame of one tenant): the
// key schedule is then not expanded again per frame.
struct Ctx {
  EVP_CIPHER_CTX* ctx = nullptr;
  Key key;
  bool keyed = false;
  Ctx() : ctx(EVP_CIPHER_CTX_new()) {
    if (!ctx) std::abort();
  }
  ~Ctx() { EVP_CIPHER_CTX_free(ctx); }
};

Status Fail(const char* what) { return Status::Internal(std::string("AES-256-GCM: ") + what); }

}  // namespace

Key::Key(const uint8_t* p) { std::memcpy(b_.data(), p, kKeySize); }
Key::~Key() { OPENSSL_cleanse(b_.data(), b_.size()); }
bool Key::operator==(const Key& o) const { return CRYPTO_memcmp(b_.data(), o.b_.data(), kKeySize) == 0; }

Status RandomBytes(uint8_t* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) return Status::Internal("the CSPRNG failed");
  return Status::OK();
}

Result<Key> RandomKey() {
  Key k;
  AS_RETURN_IF_ERROR(RandomBytes(k.data(), kKeySize));
  return k;
}

namespace {
// Starts one seal or open on this thread's context for that direction: the
// cipher and key only when the key differs from the context's last one.
// Then the aad.
Status Begin(Ctx& c, bool encrypt, const Key& key, const uint8_t* nonce, std::string_view aad) {
  const bool rekey = !c.keyed || !(c.key == key);
  auto init = encrypt ? EVP_EncryptInit_ex2 : EVP_DecryptInit_ex2;
  if (init(c.ctx, rekey ? Gcm() : nullptr, rekey ? key.data() : nullptr, nonce, nullptr) != 1) {
    c.keyed = false;
    return Fail("init");
  }
  c.key = key;
  c.keyed = true;
  int len = 0;
  auto update = encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate;
  if (!aad.empty() && update(c.ctx, nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                             static_cast<int>(aad.size())) != 1) {
    return Fail("aad");
  }
  return Status::OK();
}
}  // namespace

Status Seal(const Key& key, std::string_view aad, const uint8_t* in, size_t n, uint8_t* out) {
  thread_local Ctx c;
  uint8_t* nonce = out;
  AS_RETURN_IF_ERROR(RandomBytes(nonce, kNonceSize));
  AS_RETURN_IF_ERROR(Begin(c, true, key, nonce, aad));
  int len = 0;
  uint8_t* ct = out + kNonceSize;
  if (n > 0 && EVP_EncryptUpdate(c.ctx, ct, &len, in, static_cast<int>(n)) != 1) {
    return Fail("encrypt");
  }
  if (EVP_EncryptFinal_ex(c.ctx, ct + n, &len) != 1) return Fail("final");
  if (EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, ct + n) != 1) {
    return Fail("tag");
  }
  return Status::OK();
}

Status Open(const Key& key, std::string_view aad, const uint8_t* in, size_t n, uint8_t* out) {
  thread_local Ctx c;
  if (n < kSealOverhead) return Status::Corruption("sealed payload shorter than nonce and tag");
  const size_t m = n - kSealOverhead;
  AS_RETURN_IF_ERROR(Begin(c, false, key, in, aad));
  int len = 0;
  if (m > 0 && EVP_DecryptUpdate(c.ctx, out, &len, in + kNonceSize, static_cast<int>(m)) != 1) {
    return Fail("decrypt");
  }
  if (EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, kTagSize,
                          const_cast<uint8_t*>(in + kNonceSize + m)) != 1) {
    return Fail("tag");
  }
  if (EVP_DecryptFinal_ex(c.ctx, out + m, &len) != 1) {
    OPENSSL_cleanse(out, m);  // never hand out what failed to authenticate
    return Status::Corruption("authentication failed (AES-256-GCM tag)");
  }
  return Status::OK();
}

}  // namespace as::crypto
