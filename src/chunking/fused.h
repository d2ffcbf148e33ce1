// Fused scan + hash (docs/asm/fused-scan-hash.md): one pass over an in-memory
// buffer that cuts FastCDC chunks and, right after each cut while the chunk is
// still in L2, computes its BLAKE3-256 and feeds it to the whole-stream hasher,
// instead of cutting a whole buffer first and hashing it again later.
//
//   Blake3Hasher whole;
//   AS_ASSIGN_OR_RETURN(size_t used, CutAndHash(chunker, buf, n, at_end, offset, &whole,
//       [&](const HashedChunk& c) -> Status { ...; return Status::OK(); }));
//
// Cut points are those of Chunker::Cut / ChunkStream (same kernel, same rule);
// digests are those of Blake3(data, size); *whole ends up as if it had been
// updated with buf[0..used).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "base/digest.h"
#include "base/status.h"
#include "chunking/fastcdc.h"
#include "hash/blake3.h"

namespace as {

struct HashedChunk {
  const uint8_t* data = nullptr;  // inside the caller's buffer
  size_t size = 0;
  uint64_t offset = 0;     // stream offset of data[0]
  uint64_t gear_hash = 0;  // gear state at the cut (diagnostic)
  Digest digest;           // BLAKE3-256 of data[0..size)
};

// Called once per chunk, in stream order; an error stops the pass and is returned.
using HashedChunkSink = std::function<Status(const HashedChunk&)>;

// Cuts and hashes buf[0..n), whose first byte is at stream offset `offset`.
// If !at_end, stops at the first chunk that cannot be decided yet (fewer than
// max_size bytes left), so the caller keeps buf[used..n) and appends more;
// if at_end, consumes all n bytes. `whole` may be null (no stream hash).
// Returns the bytes consumed (always a chunk boundary), or the sink's error.
Result<size_t> CutAndHash(const Chunker& chunker, const uint8_t* buf, size_t n, bool at_end,
                          uint64_t offset, Blake3Hasher* whole, const HashedChunkSink& sink);

}  // namespace as
