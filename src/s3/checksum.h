// S3's additional checksums ("flexible checksums"): CRC32, CRC32C,
// CRC64NVME, SHA1 and SHA256 of an object's bytes, which a client declares in
// an x-amz-checksum-<algorithm> header (or an aws-chunked trailer of that
// name) and the server checks before it stores anything. Current AWS SDKs
// send a CRC32 with every upload unless told not to.
//
// Values travel as base64 of the big-endian checksum. A multipart object's
// checksum is either COMPOSITE, the same algorithm over the concatenated
// binary checksums of its parts, written "<base64>-<parts>", or (CRCs only)
// FULL_OBJECT, the CRC of all its bytes, which CrcCombine derives from the
// parts' CRCs and lengths without reading the bytes again.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hash/sha.h"
#include "kernels/kernels.h"

namespace as::s3 {

enum class ChecksumAlgo : uint8_t {
  kCrc32 = 0,
  kCrc32c = 1,
  kCrc64Nvme = 2,
  kSha1 = 3,
  kSha256 = 4
};
inline constexpr size_t kChecksumAlgos = 5;
inline constexpr std::array<ChecksumAlgo, kChecksumAlgos> kAllChecksumAlgos = {
    ChecksumAlgo::kCrc32, ChecksumAlgo::kCrc32c, ChecksumAlgo::kCrc64Nvme, ChecksumAlgo::kSha1,
    ChecksumAlgo::kSha256};

struct ChecksumSpec {
  const char* name;     // "CRC32": x-amz-checksum-algorithm, x-amz-sdk-checksum-algorithm
  const char* header;   // "x-amz-checksum-crc32": the value's header and trailer name
  const char* element;  // "ChecksumCRC32": the XML element of the value
  size_t size;          // bytes of the binary checksum
  bool crc;             // CRCs can be FULL_OBJECT for a multipart object
};
const ChecksumSpec& Spec(ChecksumAlgo a);
inline size_t Index(ChecksumAlgo a) {
  return static_cast<size_t>(a);
}

// "CRC32", "crc32", ...; nullopt for anything else.
std::optional<ChecksumAlgo> ParseChecksumAlgo(std::string_view name);
// "x-amz-checksum-crc32", ... (any case); nullopt for anything else,
// including x-amz-checksum-mode, -algorithm and -type.
std::optional<ChecksumAlgo> ChecksumAlgoOfHeader(std::string_view header);

enum class ChecksumType { kFullObject, kComposite };
const char* ChecksumTypeName(ChecksumType t);  // "FULL_OBJECT", "COMPOSITE"
std::optional<ChecksumType> ParseChecksumType(std::string_view name);
// S3's rule: SHA1 and SHA256 are COMPOSITE only, CRC64NVME FULL_OBJECT only,
// CRC32 and CRC32C either (COMPOSITE unless asked).
bool ChecksumTypeAllowed(ChecksumAlgo a, ChecksumType t);
ChecksumType DefaultChecksumType(ChecksumAlgo a);

// Decodes a declared value: base64 of exactly Spec(a).size bytes.
std::optional<std::string> DecodeChecksum(ChecksumAlgo a, std::string_view base64);

// One running checksum. The CRC-32C and CRC-64/NVME kernels come from the
// kernel table (the CPU's fastest, or what --cpu allows); CRC32 is ISA-L's,
// SHA from OpenSSL.
class Checksummer {
 public:
  Checksummer(ChecksumAlgo a, const KernelTable& k);
  ~Checksummer();
  Checksummer(const Checksummer&) = delete;
  Checksummer& operator=(const Checksummer&) = delete;
  ChecksumAlgo algo() const { return algo_; }
  void Update(const uint8_t* p, size_t n);
  // The binary checksum, big-endian (Spec(algo).size bytes); spent afterwards.
  std::string Finish();

 private:
  ChecksumAlgo algo_;
  Crc32cFn crc32c_;
  Crc64Fn crc64nvme_;
  uint64_t crc_ = 0;
  std::unique_ptr<StreamingDigest> sha_;
};

// For a CRC algorithm: the CRC of A||B from the binary CRCs of A and B and
// B's length.
std::string CrcCombine(ChecksumAlgo a, std::string_view crc_a, std::string_view crc_b,
                       uint64_t len_b);

// A multipart object's COMPOSITE value: the algorithm over the concatenated
// binary part checksums, base64, then "-<parts>".
std::string CompositeChecksum(ChecksumAlgo a, std::string_view concatenated, size_t parts,
                              const KernelTable& k);

}  // namespace as::s3
