// On-disk constants of frames and packs. The layouts are specified in
// docs/format/frame.md and docs/format/pack.md; change both together, and
// only with a version bump.
#pragma once

#include <cstddef>
#include <cstdint>

namespace as::format {

// Frame.
inline constexpr uint8_t kFrameMagic[4] = {'A', 'S', 'F', 'R'};
inline constexpr uint8_t kFrameVersion = 1;
inline constexpr size_t kFrameHeaderSize = 64;
inline constexpr size_t kFrameTrailerSize = 4;  // CRC-32C
inline constexpr size_t kFrameOverhead = kFrameHeaderSize + kFrameTrailerSize;
inline constexpr size_t kFrameOffType = 5, kFrameOffCodec = 6, kFrameOffCipher = 7,
                        kFrameOffKeyId = 8, kFrameOffRawLen = 12, kFrameOffStoredLen = 16,
                        kFrameOffDigestAlgo = 20, kFrameOffDigest = 21, kFrameOffReserved = 53;

enum class RecordType : uint8_t { kChunk = 1, kManifest = 2 };
enum class CipherId : uint8_t { kNone = 0, kAes256Gcm = 1 };

// Pack.
inline constexpr uint8_t kPackMagic[4] = {'A', 'S', 'P', 'K'};
inline constexpr uint8_t kPackTrailerMagic[4] = {'A', 'S', 'P', 'T'};
inline constexpr uint32_t kPackVersion = 1;
inline constexpr size_t kPackHeaderSize = 40;
inline constexpr size_t kPackIdSize = 16;
inline constexpr size_t kFooterEntrySize = 52;
inline constexpr size_t kPackTrailerSize = 32;
inline constexpr uint64_t kDefaultPackTargetSize = 64ull << 20;

}  // namespace as::format
