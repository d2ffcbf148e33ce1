#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <string>

#include "base/idle_pool.h"
#include "chunking/fastcdc.h"

namespace as {

namespace {
// A fresh buffer costs a page fault for every 4 KiB the reader fills, and
// freeing a large one is a munmap: at 1 MiB PUTs that was 10% of the
// server's CPU.
using Buffer = std::unique_ptr<uint8_t[]>;
IdlePool<Buffer>& Buffers() {
  static auto* pool = new IdlePool<Buffer>(size_t{16} << 20);  // used until exit
  return *pool;
}

// Streams open now, in this process. A stream alone (a CLI put) reads in
// large blocks; beside others (a server's concurrent uploads) each takes at
// most kSharedBuffer: ten 8 MiB buffers were 80 MiB of a server's RSS, and
// a stream's throughput hardly depends on its buffer beyond a few chunks.
std::atomic<int> g_open_streams{0};
constexpr size_t kSharedBuffer = 1 << 20;
}  // namespace

ChunkStream::ChunkStream(const Chunker& chunker, Reader reader, size_t buffer_size)
    : chunker_(chunker), reader_(std::move(reader)) {
  counted_ = true;
  if (g_open_streams.fetch_add(1, std::memory_order_relaxed) > 0) {
    buffer_size = std::min(buffer_size, kSharedBuffer);
  }
  size_t floor = 2 * size_t{chunker_.params().max_size};
  cap_ = buffer_size > floor ? buffer_size : floor;
  buf_ = Buffers().Take(cap_);
  if (!buf_) buf_.reset(new uint8_t[cap_]);  // default-initialized: no memset of 8 MiB
}

ChunkStream::~ChunkStream() {
  Close();
}

void ChunkStream::Close() {
  if (buf_) Buffers().Give(cap_, cap_, std::move(buf_));
  if (counted_) g_open_streams.fetch_sub(1, std::memory_order_relaxed);
  counted_ = false;
  pos_ = end_ = 0;
  eof_ = true;
}

size_t ChunkStream::BufferFor(const ChunkerParams& p, uint64_t size) {
  if (size == 0 || size >= kDefaultBuffer) return kDefaultBuffer;
  size_t b = std::bit_ceil(size_t{size});  // few sizes, so idle buffers fit the next stream
  return std::max(b, 2 * size_t{p.max_size});
}

Status ChunkStream::Fill() {
  // Move the undecided tail (< max_size bytes) to the front, then top up.
  size_t avail = end_ - pos_;
  if (tap_) tap_->BeforeReuse();
  if (pos_ != 0) {
    if (avail != 0) std::memmove(buf_.get(), buf_.get() + pos_, avail);
    pos_ = 0;
    end_ = avail;
  }
  while (end_ < cap_ && !eof_) {
    size_t room = cap_ - end_;
    Result<size_t> r = reader_(buf_.get() + end_, room);
    if (!r.ok()) {
      return r.status().WithContext("chunk stream: read at offset " +
                                    std::to_string(bytes_read_));
    }
    size_t got = *r;
    if (got > room) {
      return Status::Internal("chunk stream: reader returned " + std::to_string(got) +
                              " bytes for a " + std::to_string(room) +
                              "-byte buffer at offset " + std::to_string(bytes_read_));
    }
    if (got == 0) eof_ = true;
    end_ += got;
    bytes_read_ += got;
  }
  if (tap_ && end_ > avail) tap_->Read(buf_.get() + avail, end_ - avail);
  return Status::OK();
}

Result<bool> ChunkStream::Next(ChunkView* out) {
  if (!error_.ok()) return error_;
  if (!eof_ && end_ - pos_ < chunker_.params().max_size) {
    Status st = Fill();
    if (!st.ok()) {
      error_ = st;
      return st;
    }
  }
  size_t avail = end_ - pos_;
  if (avail == 0) return false;  // Fill() only leaves nothing at EOF
  uint64_t hash = 0;
  size_t len = chunker_.Cut(buf_.get() + pos_, avail, eof_, &hash);
  out->data = buf_.get() + pos_;
  out->size = len;
  out->offset = offset_;
  out->gear_hash = hash;
  pos_ += len;
  offset_ += len;
  return true;
}

}  // namespace as
