#include "pack/frame.h"

#include <cstring>
#include <string>

#include "base/bytes.h"

namespace as {

using namespace format;

void EncodeFrameHeader(const FrameInfo& info, uint8_t* hdr) {
  std::memset(hdr, 0, kFrameHeaderSize);
  std::memcpy(hdr, kFrameMagic, 4);
  hdr[4] = kFrameVersion;
  hdr[kFrameOffType] = static_cast<uint8_t>(info.type);
  hdr[kFrameOffCodec] = static_cast<uint8_t>(info.codec);
  hdr[kFrameOffCipher] = static_cast<uint8_t>(info.cipher);
  PutU32(hdr + kFrameOffKeyId, info.key_id);
  PutU32(hdr + kFrameOffRawLen, info.raw_len);
  PutU32(hdr + kFrameOffStoredLen, info.stored_len);
  hdr[kFrameOffDigestAlgo] = static_cast<uint8_t>(info.digest.algo);
  std::memcpy(hdr + kFrameOffDigest, info.digest.bytes.data(), info.digest.size());
}

uint32_t FrameCrc(const KernelTable& k, const FrameInfo& info, const uint8_t* payload) {
  uint8_t hdr[kFrameHeaderSize];
  EncodeFrameHeader(info, hdr);
  return k.crc32c(k.crc32c(0, hdr, sizeof(hdr)), payload, info.stored_len);
}

Result<FrameInfo> ParseFrameHeader(const uint8_t* hdr) {
  if (std::memcmp(hdr, kFrameMagic, 4) != 0) return Status::Corruption("bad frame magic");
  if (hdr[4] > kFrameVersion) {
    return Status::Unsupported("frame format version " + std::to_string(hdr[4]) +
                               " is newer than this build understands (" +
                               std::to_string(kFrameVersion) + "); upgrade artifact-store");
  }
  if (hdr[4] == 0) return Status::Corruption("frame format version 0");
  for (size_t i = kFrameOffReserved; i < kFrameHeaderSize; i++) {
    if (hdr[i] != 0) return Status::Corruption("non-zero reserved byte in frame header");
  }
  FrameInfo info;
  uint8_t type = hdr[kFrameOffType], codec = hdr[kFrameOffCodec], cipher = hdr[kFrameOffCipher];
  if (type != 1 && type != 2) {
    return Status::Corruption("unknown record type " + std::to_string(type));
  }
  if (codec > kMaxCodecId) return Status::Corruption("unknown codec id " + std::to_string(codec));
  if (cipher > 1) return Status::Corruption("unknown cipher id " + std::to_string(cipher));
  info.type = static_cast<RecordType>(type);
  info.codec = static_cast<CodecId>(codec);
  info.cipher = static_cast<CipherId>(cipher);
  info.key_id = GetU32(hdr + kFrameOffKeyId);
  info.raw_len = GetU32(hdr + kFrameOffRawLen);
  info.stored_len = GetU32(hdr + kFrameOffStoredLen);
  info.digest.algo = static_cast<DigestAlgo>(hdr[kFrameOffDigestAlgo]);
  size_t dsz = info.digest.size();
  if (dsz == 0) {
    return Status::Corruption("unknown digest algorithm id " +
                              std::to_string(hdr[kFrameOffDigestAlgo]));
  }
  std::memcpy(info.digest.bytes.data(), hdr + kFrameOffDigest, dsz);
  for (size_t i = dsz; i < Digest::kMaxSize; i++) {
    if (hdr[kFrameOffDigest + i] != 0) return Status::Corruption("non-zero digest padding");
  }
  if (info.codec == CodecId::kNone && info.cipher == CipherId::kNone &&
      info.stored_len != info.raw_len) {
    return Status::Corruption("uncompressed frame with stored length " +
                              std::to_string(info.stored_len) + " != raw length " +
                              std::to_string(info.raw_len));
  }
  return info;
}

Status SealFramePayload(const crypto::Key& key, uint32_t key_id, FrameInfo* info,
                        const uint8_t* plain, size_t n, std::vector<uint8_t>* out) {
  info->cipher = CipherId::kAes256Gcm;
  info->key_id = key_id;
  info->stored_len = static_cast<uint32_t>(n + crypto::kSealOverhead);
  info->crc.reset();
  uint8_t hdr[kFrameHeaderSize];
  EncodeFrameHeader(*info, hdr);
  out->resize(info->stored_len);
  return crypto::Seal(key, std::string_view(reinterpret_cast<const char*>(hdr), sizeof hdr),
                      plain, n, out->data());
}

Result<FrameInfo> OpenFramePayload(const crypto::Key& key, const FrameInfo& info,
                                   const uint8_t* payload, std::vector<uint8_t>* plain) {
  if (info.cipher == CipherId::kAes256Gcm && info.stored_len >= crypto::kSealOverhead &&
      plain->size() < info.stored_len - crypto::kSealOverhead) {
    plain->resize(info.stored_len - crypto::kSealOverhead);
  }
  return OpenFramePayload(key, info, payload, plain->data());
}

Result<FrameInfo> OpenFramePayload(const crypto::Key& key, const FrameInfo& info,
                                   const uint8_t* payload, uint8_t* dst) {
  if (info.cipher != CipherId::kAes256Gcm) return Status::Internal("opening an unsealed frame");
  if (info.stored_len < crypto::kSealOverhead) {
    return Status::Corruption("sealed frame of " + std::to_string(info.stored_len) +
                              " bytes, shorter than its nonce and tag");
  }
  uint8_t hdr[kFrameHeaderSize];
  EncodeFrameHeader(info, hdr);
  const size_t n = info.stored_len - crypto::kSealOverhead;
  Status s = crypto::Open(key, std::string_view(reinterpret_cast<const char*>(hdr), sizeof hdr),
                          payload, info.stored_len, dst);
  if (!s.ok()) {
    return Status::Corruption("frame under key " + std::to_string(info.key_id) +
                              " does not open: " + s.message());
  }
  FrameInfo out = info;
  out.cipher = CipherId::kNone;
  out.key_id = 0;
  out.stored_len = static_cast<uint32_t>(n);
  out.crc.reset();
  return out;
}

Result<FrameInfo> ParseFrame(const KernelTable& k, const uint8_t* buf, size_t n) {
  if (n < kFrameOverhead) {
    return Status::Corruption("frame of " + std::to_string(n) + " bytes is shorter than " +
                              std::to_string(kFrameOverhead));
  }
  AS_ASSIGN_OR_RETURN(FrameInfo info, ParseFrameHeader(buf));
  AS_RETURN_IF_ERROR(CheckFrameLength(info, n));
  AS_RETURN_IF_ERROR(CheckFrameCrc(GetU32(buf + n - kFrameTrailerSize),
                                   k.crc32c(0, buf, n - kFrameTrailerSize), n));
  return info;
}

Status CheckFrameLength(const FrameInfo& info, size_t n) {
  if (info.frame_len() == n) return Status::OK();
  return Status::Corruption("frame header says " + std::to_string(info.frame_len()) +
                            " bytes, the index says " + std::to_string(n));
}

Status CheckFrameCrc(uint32_t stored, uint32_t computed, size_t n) {
  if (stored == computed) return Status::OK();
  uint8_t le[4];
  PutU32(le, stored);
  return Status::Corruption("frame CRC-32C mismatch (stored " + ToHex(le, 4) + ", computed over " +
                            std::to_string(n - kFrameTrailerSize) + " bytes differs)");
}

namespace {
// Bytes the bases take at the start of a zstd-ref payload.
Result<size_t> BasesSize(const FrameInfo& info, const uint8_t* payload) {
  size_t n = info.stored_len;
  if (n < 1 || payload[0] == 0 || payload[0] > kMaxFrameBases) {
    return Status::Corruption("zstd-ref payload: bad base count");
  }
  size_t at = 1;
  for (int i = 0; i < payload[0]; i++) {
    if (at >= n) return Status::Corruption("zstd-ref payload: truncated base list");
    Digest d;
    d.algo = static_cast<DigestAlgo>(payload[at]);
    if (d.size() == 0 || at + 1 + d.size() > n) {
      return Status::Corruption("zstd-ref payload: bad base digest");
    }
    at += 1 + d.size();
  }
  return at;
}
}  // namespace

Result<std::vector<Digest>> FrameBases(const FrameInfo& info, const uint8_t* payload) {
  if (info.codec != CodecId::kZstdRef) return std::vector<Digest>();
  AS_RETURN_IF_ERROR(BasesSize(info, payload).status());
  std::vector<Digest> out(payload[0]);
  const uint8_t* p = payload + 1;
  for (Digest& d : out) {
    d.algo = static_cast<DigestAlgo>(*p++);
    std::memcpy(d.bytes.data(), p, d.size());
    p += d.size();
  }
  return out;
}

void AppendFrameBases(const std::vector<Digest>& bases, std::vector<uint8_t>* out) {
  out->push_back(static_cast<uint8_t>(bases.size()));
  for (const Digest& d : bases) {
    out->push_back(static_cast<uint8_t>(d.algo));
    out->insert(out->end(), d.bytes.data(), d.bytes.data() + d.size());
  }
}

Status DecodeFramePayload(const FrameInfo& info, const uint8_t* payload, uint8_t* dst,
                          const uint8_t* ref, size_t ref_n) {
  if (info.cipher != CipherId::kNone) {
    return Status::Internal("a sealed frame decoded before it was opened (OpenFramePayload)");
  }
  if (info.codec == CodecId::kZstdRef) {
    AS_ASSIGN_OR_RETURN(size_t skip, BasesSize(info, payload));
    return DecompressWithRef(payload + skip, info.stored_len - skip, ref, ref_n, dst,
                             info.raw_len);
  }
  return Decompress(info.codec, payload, info.stored_len, dst, info.raw_len);
}

}  // namespace as
