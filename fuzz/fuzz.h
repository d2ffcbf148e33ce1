// libFuzzer harnesses for the parsers that read bytes nobody vouches for:
// what comes off the network (S3 requests, aws-chunked bodies, XML, query
// strings, headers) and what comes off the disk (frames, CBOR, manifests,
// stored object attributes). One executable (`as_fuzz`); the environment
// variable AS_FUZZ_TARGET picks the harness (`as_fuzz -help=1` lists them).
//
// Contract of a harness: it must not crash, leak or trip a sanitizer on any
// input, and where the parser promises a property (a strict decoder accepts
// only what its encoder writes, a listing returns every key once) it checks
// it and calls FuzzFail, which aborts so libFuzzer keeps the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace as::fuzz {

using FuzzFn = void (*)(const uint8_t* data, size_t size);

struct FuzzTarget {
  const char* name;
  const char* what;
  FuzzFn fn;
};

// Store formats (fuzz/store_formats.cc).
void FuzzCbor(const uint8_t* data, size_t size);
void FuzzManifest(const uint8_t* data, size_t size);
void FuzzFrame(const uint8_t* data, size_t size);
void FuzzAttrs(const uint8_t* data, size_t size);
// S3 protocol (fuzz/s3_protocol.cc).
void FuzzXml(const uint8_t* data, size_t size);
void FuzzUri(const uint8_t* data, size_t size);
void FuzzHttpUtil(const uint8_t* data, size_t size);
void FuzzSigV4(const uint8_t* data, size_t size);
void FuzzAwsChunked(const uint8_t* data, size_t size);
void FuzzListing(const uint8_t* data, size_t size);
// The HTTP server, S3 API and store together (fuzz/server_requests.cc).
void FuzzServer(const uint8_t* data, size_t size);
// A damaged store: gets never give a wrong byte, verify is truthful
// (fuzz/store_damage.cc).
void FuzzStoreDamage(const uint8_t* data, size_t size);

// Every harness, by name.
std::span<const FuzzTarget> AllTargets();

// Reports a broken property; never returns (defined by the driver).
[[noreturn]] void FuzzFail(const std::string& what);
struct FuzzFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A header name the harnesses pass on: what an HTTP parser would accept as
// one, narrowed to letters, digits, '-' and '_'.
inline bool IsHeaderName(std::string_view s) {
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return false;
    }
  }
  return !s.empty();
}

// Takes an input apart: fixed-size integers from the front, then pieces.
// Reading past the end yields zeros and empty pieces, never an error, so a
// harness need not check lengths.
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : p_(data), n_(size) {}

  uint8_t Byte() { return n_ == 0 ? 0 : (--n_, *p_++); }
  uint64_t Int(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v = (v << 8) | Byte();
    return v;
  }
  // Up to n bytes.
  std::string_view Bytes(size_t n) {
    if (n > n_) n = n_;
    std::string_view s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    n_ -= n;
    return s;
  }
  // Up to the next `sep` (consumed, not returned), or the rest.
  std::string_view Until(char sep) {
    std::string_view rest(reinterpret_cast<const char*>(p_), n_);
    size_t at = rest.find(sep);
    std::string_view s = rest.substr(0, at);
    Bytes(at == std::string_view::npos ? n_ : at + 1);
    return s;
  }
  std::string_view Rest() { return Bytes(n_); }
  bool empty() const { return n_ == 0; }

 private:
  const uint8_t* p_;
  size_t n_;
};

}  // namespace as::fuzz
