// Compression of new chunks, on worker threads when the process may use more
// than one CPU. Frames come out in the order chunks went in, whatever the
// number of workers. (Which codec a chunk gets can depend on the history of
// the compressor that saw it, see Compressor; the bytes read back cannot.)
//
// With 0 workers every Add() compresses inline and emits at once (no copy).
// With N workers chunks are copied into batches of ~4 MiB, compressed in
// parallel, and emitted by Add()/Finish() on the caller's thread; the
// workers start with the first full batch, so an input smaller than one
// batch is compressed inline at Finish() and starts no thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/digest.h"
#include "codec/codec.h"
#include "pack/frame.h"
#include "store/keyring.h"

namespace as {

// The bases a new chunk may be compressed against (codec zstd-ref): their
// digests and their raw bytes back to back.
struct DeltaBase {
  std::vector<Digest> digests;
  std::vector<uint8_t> bytes;
};

class CompressPipeline {
 public:
  // Receives each finished frame: its header fields, its payload and, for a
  // zstd-ref frame, its bases (a sealed payload does not show them).
  using Emit = std::function<Status(const FrameInfo& info, const uint8_t* payload,
                                    const std::vector<Digest>& bases)>;

  // With `kernels`, workers also compute each frame's CRC-32C (FrameInfo::crc),
  // so the caller's thread does not. With `seal` (an encrypted tenant's
  // keys), every frame is sealed under its newest data key after
  // compression, on the same threads.
  CompressPipeline(CodecId codec, int level, int workers, Emit emit,
                   const KernelTable* kernels = nullptr,
                   std::shared_ptr<const TenantKeys> seal = nullptr);
  ~CompressPipeline();
  CompressPipeline(const CompressPipeline&) = delete;
  CompressPipeline& operator=(const CompressPipeline&) = delete;

  // A new chunk with its digest; bytes are copied if they are needed later.
  // With a base, the chunk is stored as zstd-ref when that saves at least an
  // eighth of plain compression's bytes.
  Status Add(const Digest& d, const uint8_t* data, size_t n,
             std::shared_ptr<const DeltaBase> base = nullptr);
  // Emits everything still in flight.
  Status Finish();

  // Workers worth starting for this process: CPUs it may run on, minus one
  // for the caller's own chunking and hashing; 0 on a single CPU.
  static int DefaultWorkers();

 private:
  struct Batch;
  void Work();
  Status Submit();
  Status Drain(bool all);
  Status EmitBatch(const Batch& b);  // its frames, in order
  void Recycle(std::shared_ptr<Batch> b);
  void CompressBatch(Batch* b, Compressor* c);
  // Takes the oldest queued batch and compresses it with the lock `l` (on
  // mu_) released; marks it done.
  void CompressNext(std::unique_lock<std::mutex>& l, Compressor* c);
  // One chunk's frame fields and payload (*out, valid until the next call
  // with the same compressor and scratches), sealed when seal_ is set.
  Result<FrameInfo> Encode(Compressor* c, const Digest& d, const uint8_t* src, size_t n,
                           const DeltaBase* base, std::vector<uint8_t>* scratch,
                           std::vector<uint8_t>* sealed, std::vector<Digest>* bases,
                           const uint8_t** out) const;
  std::vector<Digest> inline_bases_;
  std::vector<uint8_t> inline_scratch_, inline_sealed_;
  std::shared_ptr<const TenantKeys> seal_;

  CodecId codec_;
  int level_;
  Emit emit_;
  const KernelTable* kernels_;
  Compressor inline_;
  int workers_;  // wanted; started on the first Submit()

  std::shared_ptr<Batch> cur_;
  // Emitted batches kept for reuse: a fresh 4 MiB buffer per batch costs a
  // page fault and a zeroed page per 4 KiB, more CPU than the copy into it.
  std::vector<std::shared_ptr<Batch>> spare_;
  std::deque<std::shared_ptr<Batch>> inflight_;  // submission order
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Batch>> todo_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace as
