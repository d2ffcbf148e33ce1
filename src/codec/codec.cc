#include "codec/codec.h"

#include <lz4.h>
#include <zstd.h>

#include <cstring>
#include <string>

namespace as {

const char* CodecName(CodecId c) {
  switch (c) {
    case CodecId::kNone: return "none";
    case CodecId::kZstd: return "zstd";
    case CodecId::kLz4: return "lz4";
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
  ~State() { ZSTD_freeCCtx(zctx); }
};

Compressor::Compressor(CodecId codec, int zstd_level) : s_(new State) {
  s_->codec = codec;
  s_->level = zstd_level;
  if (codec == CodecId::kZstd) {
    s_->zctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(s_->zctx, ZSTD_c_compressionLevel, zstd_level);
    // The raw length lives in our frame header; skip zstd's own copies.
    ZSTD_CCtx_setParameter(s_->zctx, ZSTD_c_contentSizeFlag, 0);
    ZSTD_CCtx_setParameter(s_->zctx, ZSTD_c_checksumFlag, 0);
    ZSTD_CCtx_setParameter(s_->zctx, ZSTD_c_dictIDFlag, 0);
  }
}

Compressor::~Compressor() = default;

CodecId Compressor::Compress(const uint8_t* src, size_t n, std::vector<uint8_t>* out) {
  // Worth it only if it saves at least 1/32 of the bytes.
  const size_t budget = n - n / 32;
  size_t got = 0;
  switch (s_->codec) {
    case CodecId::kNone:
      out->clear();
      return CodecId::kNone;
    case CodecId::kZstd: {
      out->resize(ZSTD_compressBound(n));
      // A destination capped at the budget makes zstd give up early on
      // incompressible input instead of producing a useless result.
      size_t r = ZSTD_compress2(s_->zctx, out->data(), budget, src, n);
      if (ZSTD_isError(r)) {
        out->clear();
        return CodecId::kNone;
      }
      got = r;
      break;
    }
    case CodecId::kLz4: {
      out->resize(static_cast<size_t>(LZ4_compressBound(static_cast<int>(n))));
      int r = LZ4_compress_default(reinterpret_cast<const char*>(src),
                                   reinterpret_cast<char*>(out->data()), static_cast<int>(n),
                                   static_cast<int>(budget));
      if (r <= 0) {
        out->clear();
        return CodecId::kNone;
      }
      got = static_cast<size_t>(r);
      break;
    }
  }
  if (got >= budget) {
    out->clear();
    return CodecId::kNone;
  }
  out->resize(got);
  return s_->codec;
}

Status Decompress(CodecId codec, const uint8_t* src, size_t n, uint8_t* dst, size_t raw_len) {
  switch (codec) {
    case CodecId::kNone:
      if (n != raw_len) {
        return Status::Corruption("raw payload of " + std::to_string(n) + " bytes, expected " +
                                  std::to_string(raw_len));
      }
      std::memcpy(dst, src, n);
      return Status::OK();
    case CodecId::kZstd: {
      // One context per thread: ZSTD_decompress() would build (and zero) a
      // fresh one for every chunk, which cost more than the decoding itself.
      struct DCtx {
        ZSTD_DCtx* p = ZSTD_createDCtx();
        ~DCtx() { ZSTD_freeDCtx(p); }
      };
      thread_local DCtx dctx;
      size_t r = ZSTD_decompressDCtx(dctx.p, dst, raw_len, src, n);
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
