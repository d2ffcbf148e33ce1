#include "test_util.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cstring>

namespace as::testing {

std::optional<std::string> VectorsDir() {
  const char* env = std::getenv("AS_VECTORS_DIR");
  std::string dir = env ? env : AS_VECTORS_DIR;
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  return dir;
}

std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed) {
  std::vector<uint8_t> out(n);
  uint64_t x = seed;
  size_t i = 0;
  while (i < n) {
    x += 0x9e3779b97f4a7c15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    size_t k = n - i < 8 ? n - i : 8;
    std::memcpy(out.data() + i, &z, k);
    i += k;
  }
  return out;
}

std::string TempDir(const std::string& tag) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/as-test-" + tag + "-XXXXXX";
  char* p = ::mkdtemp(tmpl.data());
  return p ? std::string(p) : std::string();
}

}  // namespace as::testing
