#include "codec/codec.h"

#include <lz4.h>
#include <zstd.h>

#include <cstring>
#include <string>

#include "base/idle_pool.h"

namespace as {

const char* CodecName(CodecId c) {
  switch (c) {
    case CodecId::kNone: return "none";
    case CodecId::kZstd: return "zstd";
    case CodecId::kLz4: return "lz4";
    case CodecId::kZstdRef: return "zstd-ref";
  }
  return "unknown";
}

Result<CodecId> ParseCodec(std::string_view name) {
  if (name == "zstd") return CodecId::kZstd;
  if (name == "lz4") return CodecId::kLz4;
  if (name == "none") return CodecId::kNone;
  return Status::InvalidArgument("unknown codec '" + std::string(name) +
                                 "' (expected zstd, lz4 or none)");
}

struct Compressor::State {
  CodecId codec;
  int level;
  ZSTD_CCtx* zctx = nullptr;
  ZSTD_CCtx* ref_ctx = nullptr;  // CompressWithRef's, made on first use
  bool ref_configured = false;   // ref_ctx set up for this compressor's level
  std::unique_ptr<uint8_t[]> buf;  // not zero-filled: only written by the codec
  size_t cap = 0;
  bool last_failed = false;
  ~State() {
    ZSTD_freeCCtx(zctx);
    ZSTD_freeCCtx(ref_ctx);
  }

  uint8_t* Reserve(size_t n) {
    if (n > cap) {
      buf.reset(new uint8_t[n]);
      cap = n;
    }
    return buf.get();
  }
  // Compressed size, or 0 when the output would not fit in `budget`.
  size_t Run(const uint8_t* src, size_t n, uint8_t* dst, size_t budget) {
    if (codec == CodecId::kZstd) {
      // A destination capped at the budget makes zstd give up early on
      // incompressible input instead of producing a useless result.
      size_t r = ZSTD_compress2(zctx, dst, budget, src, n);
      return ZSTD_isError(r) ? 0 : r;
    }
    int r = LZ4_compress_default(reinterpret_cast<const char*>(src), reinterpret_cast<char*>(dst),
                                 static_cast<int>(n), static_cast<int>(budget));
    return r <= 0 ? 0 : static_cast<size_t>(r);
  }
};

namespace {
// What a context compresses: chunks on their own, or a chunk against its
// bases as prefix (CompressWithRef).
enum class Use { kPlain, kWithRef };

// For inputs of 16-256 KiB, zstd's level 1 uses a 2^13-entry hash table:
// 32 KiB, a whole L1 data cache on the CPUs measured here, so the table and
// the chunk being compressed evict each other. Half of it compresses 8% faster
// on real_v1 in 64 KiB blocks for 1.0% more bytes (5-14% faster, 0-1.3% more
// on headers, Python sources and man pages): docs/benchmarks.md. Only for
// plain chunks at level 1: a delta keeps zstd's table, which also holds
// its bases.
constexpr int kLevel1HashLog = 12;

void SetZstdParameters(ZSTD_CCtx* c, int level, Use use) {
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
  if (level == 1 && use == Use::kPlain) ZSTD_CCtx_setParameter(c, ZSTD_c_hashLog, kLevel1HashLog);
  // The raw length lives in our frame header; skip zstd's own copies.
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);
  ZSTD_CCtx_setParameter(c, ZSTD_c_dictIDFlag, 0);
}

// Finished compressors' states, for the next one. ZSTD_createCCtx runs CPUID,
// which traps to the hypervisor on a VM (about 10 us each, two per put:
// 6% of the server's CPU for 4 KiB PUTs), and a fresh context and output
// buffer are page faults again. At most 16 idle (about 1 MiB each).
IdlePool<std::unique_ptr<Compressor::State>>& States() {
  static auto* pool = new IdlePool<std::unique_ptr<Compressor::State>>(16);  // used until exit
  return *pool;
}

constexpr size_t kMaxIdleBuffer = 1 << 20;

ZSTD_CCtx* ConfigureZstd(ZSTD_CCtx* c, int level, Use use) {
  if (!c) c = ZSTD_createCCtx();
  ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
  SetZstdParameters(c, level, use);
  return c;
}
}  // namespace

Compressor::Compressor(CodecId codec, int zstd_level) : s_(States().Take(0)) {
  if (!s_) s_ = std::make_unique<State>();
  s_->codec = codec;
  s_->level = zstd_level;
  s_->last_failed = false;
  s_->ref_configured = false;
  if (codec == CodecId::kZstd) s_->zctx = ConfigureZstd(s_->zctx, zstd_level, Use::kPlain);
}

Compressor::~Compressor() {
  // A chunk's output needs at most 256 KiB; a buffer grown for a large
  // manifest (tens of MB for a file of many GiB) is not kept idle.
  if (s_->cap > kMaxIdleBuffer) {
    s_->buf.reset();
    s_->cap = 0;
  }
  States().Give(0, 1, std::move(s_));
}

CodecId Compressor::Compress(const uint8_t* src, size_t n, const uint8_t** out, size_t* out_n) {
  if (s_->codec == CodecId::kNone || n == 0) return CodecId::kNone;
  constexpr size_t kSample = 8 << 10;
  // Worth it only if it saves at least 1/32 of the bytes.
  if (s_->last_failed && n >= 4 * kSample) {
    const size_t sb = kSample - kSample / 32;
    if (s_->Run(src + n / 2 - kSample / 2, kSample, s_->Reserve(sb), sb) == 0) {
      return CodecId::kNone;  // the sample did not compress: store raw
    }
  }
  const size_t budget = n - n / 32;
  size_t got = s_->Run(src, n, s_->Reserve(budget), budget);
  s_->last_failed = got == 0;
  if (got == 0) return CodecId::kNone;
  *out = s_->buf.get();
  *out_n = got;
  return s_->codec;
}

CodecId Compressor::Compress(const uint8_t* src, size_t n, std::vector<uint8_t>* out) {
  const uint8_t* p = nullptr;
  size_t k = 0;
  CodecId c = Compress(src, n, &p, &k);
  if (c == CodecId::kNone) {
    out->clear();
  } else {
    out->assign(p, p + k);
  }
  return c;
}

size_t Compressor::CompressWithRef(const uint8_t* src, size_t n, const uint8_t* ref,
                                   size_t ref_n, size_t budget, const uint8_t** out) {
  if (!s_->ref_configured) {
    const int level = s_->codec == CodecId::kZstd ? s_->level : kDefaultZstdLevel;
    s_->ref_ctx = ConfigureZstd(s_->ref_ctx, level, Use::kWithRef);
    s_->ref_configured = true;
  }
  // A prefix is used by the next frame only: set it for every call, on a
  // context reset first (one left mid-frame by a failed call, e.g. over
  // budget, would refuse it).
  ZSTD_CCtx_reset(s_->ref_ctx, ZSTD_reset_session_only);
  if (ZSTD_isError(ZSTD_CCtx_refPrefix(s_->ref_ctx, ref, ref_n))) return 0;
  uint8_t* dst = s_->Reserve(budget);
  size_t r = ZSTD_compress2(s_->ref_ctx, dst, budget, src, n);
  if (ZSTD_isError(r)) return 0;
  *out = dst;
  return r;
}

namespace {
// One context per thread: ZSTD_decompress() would build (and zero) a fresh
// one for every chunk, which cost more than the decoding itself.
ZSTD_DCtx* ThreadDCtx() {
  struct DCtx {
    ZSTD_DCtx* p = ZSTD_createDCtx();
    ~DCtx() { ZSTD_freeDCtx(p); }
  };
  thread_local DCtx dctx;
  return dctx.p;
}

Status CheckZstdResult(size_t r, size_t raw_len) {
  if (ZSTD_isError(r)) {
    return Status::Corruption(std::string("zstd payload does not decode: ") +
                              ZSTD_getErrorName(r));
  }
  if (r != raw_len) {
    return Status::Corruption("zstd payload decodes to " + std::to_string(r) +
                              " bytes, expected " + std::to_string(raw_len));
  }
  return Status::OK();
}
}  // namespace

Status DecompressWithRef(const uint8_t* src, size_t n, const uint8_t* ref, size_t ref_n,
                         uint8_t* dst, size_t raw_len) {
  ZSTD_DCtx* d = ThreadDCtx();
  ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
  size_t p = ZSTD_DCtx_refPrefix(d, ref, ref_n);
  if (ZSTD_isError(p)) return CheckZstdResult(p, raw_len);
  return CheckZstdResult(ZSTD_decompressDCtx(d, dst, raw_len, src, n), raw_len);
}

Status Decompress(CodecId codec, const uint8_t* src, size_t n, uint8_t* dst, size_t raw_len) {
  switch (codec) {
    case CodecId::kNone:
      if (n != raw_len) {
        return Status::Corruption("none (raw) payload of " + std::to_string(n) + " bytes, expected " +
                                  std::to_string(raw_len));
      }
      if (n) std::memcpy(dst, src, n);
      return Status::OK();
    case CodecId::kZstd:
      return CheckZstdResult(ZSTD_decompressDCtx(ThreadDCtx(), dst, raw_len, src, n), raw_len);
    case CodecId::kZstdRef:
      return Status::Corruption("a zstd-ref payload needs its base chunks to decode");
    case CodecId::kLz4: {
      int r = LZ4_decompress_safe(reinterpret_cast<const char*>(src), reinterpret_cast<char*>(dst),
                                  static_cast<int>(n), static_cast<int>(raw_len));
      if (r < 0 || static_cast<size_t>(r) != raw_len) {
        return Status::Corruption("lz4 payload does not decode to " + std::to_string(raw_len) +
                                  " bytes");
      }
      return Status::OK();
    }
  }
  return Status::Unsupported("unknown codec id " + std::to_string(static_cast<int>(codec)));
}

}  // namespace as
