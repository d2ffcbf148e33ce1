#include "chunking/fused.h"

namespace as {
namespace {

// The chunk is hashed twice (its own tree, and the stream's): done in pieces
// of this size so the second read of each piece is from L2 (16 KiB pieces,
// second read from L1, measured slower: docs/asm/fused-scan-hash.md).
constexpr size_t kPiece = 64 << 10;

}  // namespace

Result<size_t> CutAndHash(const Chunker& chunker, const uint8_t* buf, size_t n, bool at_end,
                          uint64_t offset, Blake3Hasher* whole, const HashedChunkSink& sink) {
  Blake3Hasher chunk_hasher;
  size_t pos = 0;
  while (pos < n) {
    uint64_t gear = 0;
    size_t len = chunker.Cut(buf + pos, n - pos, at_end, &gear);
    if (len == 0) break;  // !at_end and fewer than max bytes left: undecided
    HashedChunk c;
    c.data = buf + pos;
    c.size = len;
    c.offset = offset + pos;
    c.gear_hash = gear;
    chunk_hasher.Reset();
    for (size_t i = 0; i < len; i += kPiece) {
      size_t k = len - i < kPiece ? len - i : kPiece;
      chunk_hasher.Update(c.data + i, k);
      if (whole) whole->Update(c.data + i, k);
    }
    c.digest = chunk_hasher.Finalize();
    AS_RETURN_IF_ERROR(sink(c));
    pos += len;
  }
  return pos;
}

}  // namespace as
