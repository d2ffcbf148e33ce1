#include "chunking/gear.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace as {
namespace {

struct GearTables {
  uint64_t gear[256];
  uint64_t gear_ls[256];
};

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "artifact-store: cannot build the FastCDC gear table: %s\n", what);
  std::abort();
}

GearTables Build() {
  GearTables t;
  EVP_MD* md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  if (md5 == nullptr) Die("OpenSSL has no MD5 implementation available");
  for (int i = 0; i < 256; ++i) {
    uint8_t in[64];
    std::memset(in, i, sizeof in);
    uint8_t out[EVP_MAX_MD_SIZE];
    unsigned int out_len = 0;
    if (EVP_Digest(in, sizeof in, out, &out_len, md5, nullptr) != 1 || out_len != 16) {
      EVP_MD_free(md5);
      Die("EVP_Digest(MD5) failed");
    }
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v = (v << 8) | out[k];
    t.gear[i] = v;
    t.gear_ls[i] = v << 1;
  }
  EVP_MD_free(md5);
  // Pin the generator to the published values (shared/vectors/fastcdc-v2020.md).
  if (t.gear[0] != 0x3b5d3c7d207e37dcULL || t.gear[1] != 0x784d68ba91123086ULL ||
      t.gear[255] != 0xaabd2b2a451504e1ULL) {
    Die("MD5 output does not match the md5-v1 check values");
  }
  return t;
}

const GearTables& Tables() {
  static const GearTables tables = Build();  // thread-safe one-time init
  return tables;
}

}  // namespace

const uint64_t* GearTable() { return Tables().gear; }
const uint64_t* GearTableShifted() { return Tables().gear_ls; }

}  // namespace as
