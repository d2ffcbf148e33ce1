// Content-defined chunking: FastCDC 2020, bit-exact with the fastcdc-rs v2020
// reference (DESIGN contract 3; docs/format/chunker.md).
//
//   KernelTable k = MakeKernelTable(DetectCpu());
//   AS_ASSIGN_OR_RETURN(Chunker chunker, Chunker::Create(ChunkerParams{}, k));
//   ChunkStream stream(chunker, reader);
//   ChunkView c;
//   while (true) {
//     AS_ASSIGN_OR_RETURN(bool more, stream.Next(&c));
//     if (!more) break;
//     ... c.data[0..c.size) is the chunk at stream offset c.offset ...
//   }
//
// The identity to record in a manifest is kChunkerName, the three sizes, the
// normalization level and kGearTableId (chunking/gear.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "base/status.h"
#include "chunking/gear.h"
#include "kernels/kernels.h"

namespace as {

inline constexpr const char* kChunkerName = "fastcdc2020";

struct ChunkerParams {
  uint32_t min_size = 16384;
  uint32_t avg_size = 65536;
  uint32_t max_size = 262144;
  int normalization = 1;  // NC: 0..3
};

inline constexpr uint32_t kChunkerMinSizeFloor = 64;
inline constexpr uint32_t kChunkerMaxSizeCeiling = 16u << 20;  // 16 MiB

// OK, or InvalidArgument naming the bad field: min >= 64, min <= avg <= max,
// max <= 16 MiB, normalization in 0..3, and with bits = round(log2(avg)),
// bits - nc >= 5 and bits + nc <= 25 (the mask table's range).
Status ValidateChunkerParams(const ChunkerParams& p);

// The kernel parameters for `p` (masks chosen, gear tables attached).
// Precondition: ValidateChunkerParams(p).ok().
FastcdcScanParams MakeScanParams(const ChunkerParams& p);

// The mask for `bits` in 5..25 (0 outside that range).
uint64_t FastcdcMask(int bits);

// Cuts one chunk at a time. Cheap to copy; no state between calls.
class Chunker {
 public:
  // Params checked; InvalidArgument if they are not valid.
  static Result<Chunker> Create(const ChunkerParams& params, const KernelTable& kernels);
  // Precondition: ValidateChunkerParams(params).ok() (aborts with a message
  // otherwise; use Create() to get a Status instead).
  Chunker(const ChunkerParams& params, const KernelTable& kernels);

  // Length of the chunk that starts at src, given n bytes there. If !at_end the
  // caller must supply n >= max_size; otherwise (not enough bytes to decide)
  // this returns 0. Also returns 0 when n == 0. *hash (if not null) receives the
  // gear state at the cut (see kernels/fastcdc_scan.h).
  size_t Cut(const uint8_t* src, size_t n, bool at_end, uint64_t* hash) const {
    if (!at_end && n < scan_.max) return 0;
    return cut_(scan_, src, n, hash);
  }

  const ChunkerParams& params() const { return params_; }
  const FastcdcScanParams& scan_params() const { return scan_; }
  const char* kernel_name() const { return kernel_name_; }

 private:
  ChunkerParams params_;
  FastcdcScanParams scan_;
  size_t (*cut_)(const FastcdcScanParams&, const uint8_t*, size_t, uint64_t*);
  const char* kernel_name_;
};

struct ChunkView {
  const uint8_t* data = nullptr;
  size_t size = 0;
  uint64_t offset = 0;     // of the first byte, in the stream
  uint64_t gear_hash = 0;  // gear state at the cut (diagnostic, not a digest)
};

// Chunks a byte stream pulled from a reader, in bounded memory: one buffer of
// max(buffer_size, 2 * max_size) bytes (buffer_size at most 1 MiB while
// another stream of the process is open), taken once from a process-wide
// pool of idle ones (at most 16 MiB of them) and given back by Close() or
// the destructor. A cut is computed only when at least max_size bytes are
// buffered or the reader has reported EOF, so the chunks are the same
// whatever sizes the reader returns, and whatever the buffer's size.
class ChunkStream {
 public:
  // Fills buf[0..cap) with up to cap bytes (cap >= 1); returns how many, 0 at
  // EOF. Returning more than cap is an error (Internal).
  using Reader = std::function<Result<size_t>(uint8_t* buf, size_t cap)>;

  static constexpr size_t kDefaultBuffer = 8 << 20;
  ChunkStream(const Chunker& chunker, Reader reader, size_t buffer_size = kDefaultBuffer);
  ~ChunkStream();
  ChunkStream(const ChunkStream&) = delete;
  ChunkStream& operator=(const ChunkStream&) = delete;

  // The buffer size for a stream expected to hold `size` bytes (0: unknown):
  // below 8 MiB, the power of two that holds it (at least 2 * max_size), so
  // small objects do not each take 8 MiB.
  static size_t BufferFor(const ChunkerParams& p, uint64_t size);

  // Gives the buffer back early (e.g. before a put waits for its commit).
  // Next() must not be called after it; bytes_read() still answers.
  void Close();

  // Next chunk: *out is valid (its data pointer too) until the next call.
  // Returns false at the end of the stream. A reader error is returned, with
  // the stream offset as context, from this and every later call.
  Result<bool> Next(ChunkView* out);

  // Bytes obtained from the reader so far (>= the end of the last chunk).
  uint64_t bytes_read() const { return bytes_read_; }
  // The buffer's size (see the class comment).
  size_t buffer_size() const { return cap_; }

  // Sees every byte the stream reads, once and in stream order, as ranges of
  // its buffer: Read() after each refill with the bytes it added, and
  // BeforeReuse() before the stream writes over any byte it has shown (so a
  // tap may keep using a range until then, e.g. from another thread).
  struct Tap {
    virtual ~Tap() = default;
    virtual void Read(const uint8_t* data, size_t n) = 0;
    virtual void BeforeReuse() = 0;
  };
  void SetTap(Tap* tap) { tap_ = tap; }  // before the first Next()

 private:
  Status Fill();

  Chunker chunker_;
  Reader reader_;
  Tap* tap_ = nullptr;
  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_;
  size_t pos_ = 0;  // first unconsumed byte in buf_
  size_t end_ = 0;  // one past the last buffered byte
  uint64_t offset_ = 0;  // stream offset of buf_[pos_]
  uint64_t bytes_read_ = 0;
  bool eof_ = false;
  bool counted_ = false;  // in g_open_streams (chunk_stream.cc) until Close()
  Status error_;
};

}  // namespace as
