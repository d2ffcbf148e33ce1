// Frames: the self-verifying unit every record is stored in (docs/format/frame.md).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/digest.h"
#include "base/status.h"
#include "codec/codec.h"
#include "crypto/aead.h"
#include "kernels/kernels.h"
#include "pack/format.h"

namespace as {

struct FrameInfo {
  format::RecordType type = format::RecordType::kChunk;
  CodecId codec = CodecId::kNone;
  format::CipherId cipher = format::CipherId::kNone;
  uint32_t key_id = 0;
  uint32_t raw_len = 0;
  uint32_t stored_len = 0;
  Digest digest;
  // The frame's CRC-32C (header and payload) when its producer has computed
  // it already (a compression worker, off the writer's thread); PackWriter
  // computes it when absent. Not a header field.
  std::optional<uint32_t> crc;

  uint32_t frame_len() const {
    return static_cast<uint32_t>(format::kFrameOverhead + stored_len);
  }
};

// Writes the 64-byte header for `info` into hdr.
void EncodeFrameHeader(const FrameInfo& info, uint8_t* hdr);
// The CRC-32C a frame of `info` and this payload ends with (ignores info.crc).
uint32_t FrameCrc(const KernelTable& k, const FrameInfo& info, const uint8_t* payload);

// Parses and checks a whole frame held in buf[0..n): magic, version, reserved
// bytes, lengths (n must be exactly the frame length) and CRC-32C. The payload
// starts at buf + kFrameHeaderSize. Errors are Corruption without location;
// callers add the pack and offset.
Result<FrameInfo> ParseFrame(const KernelTable& k, const uint8_t* buf, size_t n);

// The two checks ParseFrame makes after the header, for callers that read a
// frame in pieces: the header's length against the index's (n), and the
// stored CRC-32C against the one computed over the frame's first n - 4 bytes.
Status CheckFrameLength(const FrameInfo& info, size_t n);
Status CheckFrameCrc(uint32_t stored, uint32_t computed, size_t n);

// Parses only the header (no CRC check): for scanning.
Result<FrameInfo> ParseFrameHeader(const uint8_t* hdr);

// Decodes a verified frame's payload into exactly info.raw_len bytes at dst.
// A zstd-ref frame needs its bases' raw bytes, back to back in the order
// FrameBases gives them, as `ref`; other codecs ignore it.
Status DecodeFramePayload(const FrameInfo& info, const uint8_t* payload, uint8_t* dst,
                          const uint8_t* ref = nullptr, size_t ref_n = 0);

// Encrypted frames (cipher kAes256Gcm; docs/format/frame.md): the payload is
// the codec's output sealed with AES-256-GCM (crypto::Seal: nonce ||
// ciphertext || tag) under the data key `key_id` names, with the frame's
// 64-byte header as the additional authenticated data. An edited header or
// payload fails to open; so does a frame opened with another tenant's key.
//
// SealFramePayload: info describes the codec output (codec, raw_len,
// digest, type); it gains cipher, key_id and the sealed stored_len, and
// *out receives the sealed payload.
Status SealFramePayload(const crypto::Key& key, uint32_t key_id, FrameInfo* info,
                        const uint8_t* plain, size_t n, std::vector<uint8_t>* out);
// Opens a sealed frame's payload (the frame checked by ParseFrame or its
// pieces): *plain receives the codec output and the result describes it as
// an unencrypted frame would (cipher none, stored_len its length), ready for
// FrameBases and DecodeFramePayload. Corruption when it does not
// authenticate.
Result<FrameInfo> OpenFramePayload(const crypto::Key& key, const FrameInfo& info,
                                   const uint8_t* payload, std::vector<uint8_t>* plain);
// The same into out, which has room for info.stored_len - crypto::kSealOverhead
// bytes (a raw chunk's own destination: no copy after).
Result<FrameInfo> OpenFramePayload(const crypto::Key& key, const FrameInfo& info,
                                   const uint8_t* payload, uint8_t* out);

// A zstd-ref payload begins with the digests of its bases: a count byte
// (1..kMaxFrameBases), then per base an algorithm id byte and the digest.
inline constexpr size_t kMaxFrameBases = 4;
Result<std::vector<Digest>> FrameBases(const FrameInfo& info, const uint8_t* payload);
void AppendFrameBases(const std::vector<Digest>& bases, std::vector<uint8_t>* out);

}  // namespace as
