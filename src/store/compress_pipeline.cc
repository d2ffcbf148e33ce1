#include "store/compress_pipeline.h"

#include <sched.h>

#include <cstring>

namespace as {

namespace {
constexpr size_t kBatchBytes = 4 << 20;
}

struct CompressPipeline::Batch {
  struct Item {
    Digest digest;
    size_t raw_off = 0, raw_len = 0;
    FrameInfo info;
    size_t out_off = 0;
    std::shared_ptr<const DeltaBase> base;
    std::vector<Digest> bases;  // of a zstd-ref frame
  };
  std::vector<uint8_t> raw;  // chunk bytes back to back
  std::vector<Item> items;
  std::vector<uint8_t> out;  // payloads back to back
  Status error;              // a frame that could not be sealed
  bool done = false;
};

int CompressPipeline::DefaultWorkers() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  int n = CPU_COUNT(&set);
  return n > 1 ? n - 1 : 0;
}

CompressPipeline::CompressPipeline(CodecId codec, int level, int workers, Emit emit,
                                   const KernelTable* kernels,
                                   std::shared_ptr<const TenantKeys> seal)
    : seal_(std::move(seal)),
      codec_(codec),
      level_(level),
      emit_(std::move(emit)),
      kernels_(kernels),
      inline_(codec, level),
      // Neither compressing nor sealing: no work for other threads.
      workers_(codec == CodecId::kNone && !seal_ ? 0 : workers) {}

CompressPipeline::~CompressPipeline() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

Result<FrameInfo> CompressPipeline::Encode(Compressor* c, const Digest& d, const uint8_t* src,
                                           size_t n, const DeltaBase* base,
                                           std::vector<uint8_t>* scratch,
                                           std::vector<uint8_t>* sealed,
                                           std::vector<Digest>* bases,
                                           const uint8_t** out) const {
  bases->clear();
  FrameInfo info;
  info.type = format::RecordType::kChunk;
  info.raw_len = static_cast<uint32_t>(n);
  info.digest = d;
  if (base) {
    // The zstd-ref candidate goes to scratch first (the compressor's buffer
    // is reused by the plain attempt), bases' digests ahead of it.
    scratch->clear();
    AppendFrameBases(base->digests, scratch);
    const size_t head = scratch->size();
    const uint8_t* z = nullptr;
    size_t zn = n > head ? c->CompressWithRef(src, n, base->bytes.data(), base->bytes.size(),
                                              n - head, &z)
                         : 0;
    if (zn > 0) scratch->insert(scratch->end(), z, z + zn);
    else scratch->clear();
  }
  *out = src;
  size_t k = n;
  // A delta under 1/16 of the chunk beats plain zstd by far more than an
  // eighth on any data this store sees (3-4x on real files): skip trying.
  const bool clear_win = base && !scratch->empty() && scratch->size() <= n / 16;
  info.codec = clear_win ? CodecId::kNone : c->Compress(src, n, out, &k);
  if (base && !scratch->empty() && scratch->size() < k - k / 8) {
    info.codec = CodecId::kZstdRef;
    *bases = base->digests;
    *out = scratch->data();
    k = scratch->size();
  }
  info.stored_len = static_cast<uint32_t>(k);
  if (seal_) {
    AS_RETURN_IF_ERROR(seal_->SealFrame(&info, *out, k, sealed));
    *out = sealed->data();
  }
  return info;
}

Status CompressPipeline::Add(const Digest& d, const uint8_t* data, size_t n,
                             std::shared_ptr<const DeltaBase> base) {
  if (workers_ == 0) {
    const uint8_t* out = nullptr;
    AS_ASSIGN_OR_RETURN(FrameInfo info, Encode(&inline_, d, data, n, base.get(), &inline_scratch_,
                                               &inline_sealed_, &inline_bases_, &out));
    return emit_(info, out, inline_bases_);
  }
  if (!cur_) {
    if (!spare_.empty()) {
      cur_ = std::move(spare_.back());
      spare_.pop_back();
    } else {
      cur_ = std::make_shared<Batch>();
      cur_->raw.reserve(kBatchBytes + (256 << 10));
    }
  }
  Batch::Item it;
  it.digest = d;
  it.raw_off = cur_->raw.size();
  it.raw_len = n;
  it.base = std::move(base);
  cur_->raw.insert(cur_->raw.end(), data, data + n);
  cur_->items.push_back(it);
  if (cur_->raw.size() >= kBatchBytes) return Submit();
  return Status::OK();
}

Status CompressPipeline::Submit() {
  // Workers start with the first full batch: a put smaller than one batch
  // never pays for starting threads (Finish compresses it inline).
  for (int i = static_cast<int>(threads_.size()); i < workers_; i++) {
    threads_.emplace_back([this] { Work(); });
  }
  std::shared_ptr<Batch> b = std::move(cur_);
  {
    std::lock_guard<std::mutex> l(mu_);
    todo_.push_back(b);
    inflight_.push_back(b);
  }
  cv_.notify_all();
  // Bounded memory: at most two batches per worker in flight.
  if (inflight_.size() > 2 * threads_.size()) return Drain(false);
  return Status::OK();
}

Status CompressPipeline::Finish() {
  if (cur_ && !cur_->items.empty()) {
    if (threads_.empty()) {
      CompressBatch(cur_.get(), &inline_);
      std::shared_ptr<Batch> b = std::move(cur_);
      return EmitBatch(*b);
    }
    AS_RETURN_IF_ERROR(Submit());
  }
  return Drain(true);
}

// Emits finished batches in order; waits for the oldest when `all`, or when
// too many are in flight.
Status CompressPipeline::Drain(bool all) {
  while (!inflight_.empty()) {
    std::shared_ptr<Batch> b = inflight_.front();
    {
      std::unique_lock<std::mutex> l(mu_);
      bool must_wait = all || inflight_.size() > 2 * threads_.size();
      if (!b->done && !must_wait) return Status::OK();
      // Rather than wait, compress a batch no worker has taken yet: when
      // compression is the slower side, the caller's CPU helps with it.
      while (!b->done && !todo_.empty()) CompressNext(l, &inline_);
      cv_.wait(l, [&] { return b->done; });
    }
    inflight_.pop_front();
    AS_RETURN_IF_ERROR(EmitBatch(*b));
    Recycle(std::move(b));
  }
  return Status::OK();
}

void CompressPipeline::Recycle(std::shared_ptr<Batch> b) {
  b->raw.clear();
  b->items.clear();  // (their base lists with them)
  b->error = Status::OK();
  b->out.clear();
  b->done = false;
  spare_.push_back(std::move(b));
}

Status CompressPipeline::EmitBatch(const Batch& b) {
  AS_RETURN_IF_ERROR(b.error);
  for (const auto& it : b.items) AS_RETURN_IF_ERROR(emit_(it.info, b.out.data() + it.out_off, it.bases));
  return Status::OK();
}

void CompressPipeline::CompressBatch(Batch* b, Compressor* c) {
  b->out.reserve(b->raw.size() + 64);
  std::vector<uint8_t> scratch, sealed;
  for (auto& it : b->items) {
    const uint8_t* p = nullptr;
    auto info = Encode(c, it.digest, b->raw.data() + it.raw_off, it.raw_len, it.base.get(),
                       &scratch, &sealed, &it.bases, &p);
    if (!info.ok()) {
      b->error = info.status();
      return;
    }
    it.info = *info;
    it.out_off = b->out.size();
    b->out.insert(b->out.end(), p, p + it.info.stored_len);
    if (kernels_) it.info.crc = FrameCrc(*kernels_, it.info, b->out.data() + it.out_off);
    it.base.reset();
  }
}

void CompressPipeline::Work() {
  Compressor c(codec_, level_);
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    cv_.wait(l, [&] { return stop_ || !todo_.empty(); });
    if (todo_.empty()) return;
    CompressNext(l, &c);
  }
}

void CompressPipeline::CompressNext(std::unique_lock<std::mutex>& l, Compressor* c) {
  std::shared_ptr<Batch> b = todo_.front();
  todo_.pop_front();
  l.unlock();
  CompressBatch(b.get(), c);
  l.lock();
  b->done = true;
  b.reset();  // the caller reuses it once emitted
  cv_.notify_all();
}

}  // namespace as
