#include "hash/blake3.h"

#include <blake3.h>

namespace as {

struct Blake3Hasher::State {
  blake3_hasher h;
  uint8_t key[32];
  bool keyed = false;
};

Blake3Hasher::Blake3Hasher() : s_(new State), algo_(DigestAlgo::kBlake3) {
  blake3_hasher_init(&s_->h);
}

Blake3Hasher::Blake3Hasher(const uint8_t key[32]) : s_(new State), algo_(DigestAlgo::kBlake3Keyed) {
  std::memcpy(s_->key, key, 32);
  s_->keyed = true;
  blake3_hasher_init_keyed(&s_->h, key);
}

Blake3Hasher::~Blake3Hasher() = default;

void Blake3Hasher::Update(const void* data, size_t n) { blake3_hasher_update(&s_->h, data, n); }

Digest Blake3Hasher::Finalize() const {
  Digest d;
  d.algo = algo_;
  blake3_hasher_finalize(&s_->h, d.bytes.data(), 32);
  return d;
}

void Blake3Hasher::FinalizeXof(uint8_t* out, size_t n) const {
  blake3_hasher_finalize(&s_->h, out, n);
}

void Blake3Hasher::Reset() {
  if (s_->keyed) {
    blake3_hasher_init_keyed(&s_->h, s_->key);
  } else {
    blake3_hasher_init(&s_->h);
  }
}

Digest Blake3(const void* data, size_t n) {
  blake3_hasher h;
  blake3_hasher_init(&h);
  blake3_hasher_update(&h, data, n);
  Digest d;
  d.algo = DigestAlgo::kBlake3;
  blake3_hasher_finalize(&h, d.bytes.data(), 32);
  return d;
}

Digest Blake3Keyed(const uint8_t key[32], const void* data, size_t n) {
  blake3_hasher h;
  blake3_hasher_init_keyed(&h, key);
  blake3_hasher_update(&h, data, n);
  Digest d;
  d.algo = DigestAlgo::kBlake3Keyed;
  blake3_hasher_finalize(&h, d.bytes.data(), 32);
  return d;
}

void Blake3DeriveKey(const char* context, const void* material, size_t n, uint8_t out[32]) {
  blake3_hasher h;
  blake3_hasher_init_derive_key(&h, context);
  blake3_hasher_update(&h, material, n);
  blake3_hasher_finalize(&h, out, 32);
}

}  // namespace as
