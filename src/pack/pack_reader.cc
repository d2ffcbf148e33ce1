#include <algorithm>
#include <cstring>

#include "base/bytes.h"
#include "base/guarded.h"
#include "pack/pack.h"

namespace as {

using namespace format;

Result<std::unique_ptr<PackReader>> PackReader::Open(PackStore* store, const KernelTable* k,
                                                     const std::string& name,
                                                     std::optional<uint64_t> size) {
  AS_ASSIGN_OR_RETURN(auto f, store->Open(name, size));
  return std::unique_ptr<PackReader>(new PackReader(k, store->Where(name), std::move(f)));
}

Result<std::unique_ptr<PackReader>> PackReader::OpenFile(Env* env, const KernelTable* k,
                                                         const std::string& path) {
  AS_ASSIGN_OR_RETURN(auto f, env->NewRandomAccessFile(path));
  return std::unique_ptr<PackReader>(new PackReader(k, path, std::move(f)));
}

Status PackReader::CheckExtent(uint64_t offset, uint32_t frame_len) const {
  if (offset + frame_len <= file_->Size()) return Status::OK();
  return Status::Corruption(Where(offset) + ": frame of " + std::to_string(frame_len) +
                            " bytes runs past the end of the pack (" +
                            std::to_string(file_->Size()) + " bytes; truncated?)");
}

std::string PackReader::Where(uint64_t offset) const {
  return "pack " + path_ + " offset " + std::to_string(offset);
}

Result<FrameInfo> PackReader::ReadFrame(uint64_t offset, uint32_t frame_len,
                                        std::vector<uint8_t>* buf, bool sealed_unchecked) const {
  AS_RETURN_IF_ERROR(CheckExtent(offset, frame_len));
  if (buf->size() < frame_len) buf->resize(frame_len);
  AS_RETURN_IF_ERROR(file_->ReadAt(offset, frame_len, buf->data()));
  if (sealed_unchecked && frame_len >= kFrameOverhead &&
      buf->data()[kFrameOffCipher] != static_cast<uint8_t>(CipherId::kNone)) {
    auto info = ParseFrameHeader(buf->data());
    if (info.ok()) {
      Status len = CheckFrameLength(*info, frame_len);
      if (!len.ok()) return len.WithContext(Where(offset));
      return info;
    }
  }
  auto info = ParseFrame(*k_, buf->data(), frame_len);
  if (!info.ok()) return info.status().WithContext(Where(offset));
  return info;
}

Result<std::optional<FrameInfo>> PackReader::CheckRawFrameInPlace(uint64_t offset,
                                                                  uint32_t frame_len) const {
  const uint8_t* map = file_->Mapped();
  if (!map || frame_len < kFrameOverhead) return std::optional<FrameInfo>();  // ReadFrame says what is wrong
  AS_RETURN_IF_ERROR(CheckExtent(offset, frame_len));
  const uint8_t* f = map + offset;
  auto unreadable = [&] {
    return Status::IOError(Where(offset) + ": the pack could not be read in place " +
                           "(truncated under the reader, or a disk error)");
  };
  // The header is copied out, so the bytes parsed are the bytes checked.
  uint8_t hdr[kFrameHeaderSize];
  if (!RunGuarded([&] { std::memcpy(hdr, f, sizeof(hdr)); })) return unreadable();
  auto info = ParseFrameHeader(hdr);
  if (!info.ok()) return info.status().WithContext(Where(offset));
  AS_RETURN_IF_ERROR(CheckFrameLength(*info, frame_len).WithContext(Where(offset)));
  if (info->codec != CodecId::kNone || info->cipher != CipherId::kNone) {
    return std::optional<FrameInfo>();
  }
  uint32_t stored = 0, computed = 0;
  const KernelTable* k = k_;
  if (!RunGuarded([&] {
        computed = k->crc32c(k->crc32c(0, hdr, sizeof(hdr)), f + sizeof(hdr),
                             frame_len - sizeof(hdr) - kFrameTrailerSize);
        stored = GetU32(f + frame_len - kFrameTrailerSize);
      })) {
    return unreadable();
  }
  AS_RETURN_IF_ERROR(CheckFrameCrc(stored, computed, frame_len).WithContext(Where(offset)));
  return std::optional<FrameInfo>(*info);
}

Result<FrameInfo> PackReader::PeekFrame(uint64_t offset, uint8_t* out, size_t n,
                                        size_t* got) const {
  const uint64_t size = file_->Size();
  if (offset >= size || size - offset < kFrameHeaderSize || n < kFrameHeaderSize) {
    return Status::Corruption(Where(offset) + ": no frame header here");
  }
  *got = static_cast<size_t>(std::min<uint64_t>(n, size - offset));
  AS_RETURN_IF_ERROR(file_->ReadAt(offset, *got, out));
  auto info = ParseFrameHeader(out);
  if (!info.ok()) return info.status().WithContext(Where(offset));
  return info;
}

void PackReader::ReleaseMapped() const { file_->ReleaseMapped(); }

Result<SealedPack> PackReader::ReadFooter() const {
  const uint64_t size = file_->Size();
  if (size < kPackHeaderSize + kPackTrailerSize) {
    return Status::Corruption("pack " + path_ + ": " + std::to_string(size) +
                              " bytes is too short to be a sealed pack");
  }
  uint8_t hdr[kPackHeaderSize];
  AS_RETURN_IF_ERROR(file_->ReadAt(0, sizeof(hdr), hdr));
  if (std::memcmp(hdr, kPackMagic, 4) != 0) {
    return Status::Corruption("pack " + path_ + ": bad header magic (not a pack)");
  }
  if (GetU32(hdr + 4) > kPackVersion) {
    return Status::Unsupported("pack " + path_ + ": format version " +
                               std::to_string(GetU32(hdr + 4)) + " is newer than this build");
  }
  uint8_t tr[kPackTrailerSize];
  AS_RETURN_IF_ERROR(file_->ReadAt(size - kPackTrailerSize, sizeof(tr), tr));
  if (std::memcmp(tr + 28, kPackTrailerMagic, 4) != 0) {
    return Status::Corruption("pack " + path_ +
                              ": no trailer (not sealed, or truncated from " +
                              std::to_string(size) + " bytes)");
  }
  uint64_t footer_off = GetU64(tr);
  uint32_t count = GetU32(tr + 8);
  uint64_t total = GetU64(tr + 16);
  if (total != size) {
    return Status::Corruption("pack " + path_ + ": trailer says " + std::to_string(total) +
                              " bytes, file has " + std::to_string(size));
  }
  if (footer_off < kPackHeaderSize ||
      footer_off + uint64_t{count} * kFooterEntrySize + kPackTrailerSize != size) {
    return Status::Corruption("pack " + path_ + ": footer extent does not fit the file");
  }
  std::vector<uint8_t> footer(size_t{count} * kFooterEntrySize);
  AS_RETURN_IF_ERROR(file_->ReadAt(footer_off, footer.size(), footer.data()));
  if (k_->crc32c(0, footer.data(), footer.size()) != GetU32(tr + 12)) {
    return Status::Corruption("pack " + path_ + " offset " + std::to_string(footer_off) +
                              ": footer CRC-32C mismatch");
  }
  SealedPack out;
  out.size = size;
  out.domain = GetU32(hdr + 32);
  out.entries.reserve(count);
  uint64_t expect = kPackHeaderSize;
  for (uint32_t i = 0; i < count; i++) {
    auto e = DecodeFooterEntry(footer.data() + size_t{i} * kFooterEntrySize);
    if (!e.ok()) return e.status().WithContext("pack " + path_ + " footer entry " + std::to_string(i));
    if (e->offset != expect || e->frame_len < kFrameOverhead) {
      return Status::Corruption("pack " + path_ + " footer entry " + std::to_string(i) +
                                ": frame extent inconsistent");
    }
    expect += e->frame_len;
    out.entries.push_back(*e);
  }
  if (expect != footer_off) {
    return Status::Corruption("pack " + path_ + ": frames do not end where the footer starts");
  }
  return out;
}

}  // namespace as
