#include <sys/random.h>

#include <cstring>
#include <ctime>

#include "base/bytes.h"
#include "pack/pack.h"

namespace as {

using namespace format;

std::string PackPath(const std::string& packs_dir, const std::string& name) {
  return packs_dir + "/" + name.substr(0, 2) + "/" + name + ".pack";
}

void EncodeFooterEntry(const FooterEntry& e, uint8_t* out) {
  std::memset(out, 0, kFooterEntrySize);
  PutU64(out, e.offset);
  PutU32(out + 8, e.frame_len);
  PutU32(out + 12, e.raw_len);
  out[16] = static_cast<uint8_t>(e.type);
  out[17] = static_cast<uint8_t>(e.codec);
  out[18] = static_cast<uint8_t>(e.digest.algo);
  std::memcpy(out + 20, e.digest.bytes.data(), e.digest.size());
}

Result<FooterEntry> DecodeFooterEntry(const uint8_t* p) {
  FooterEntry e;
  e.offset = GetU64(p);
  e.frame_len = GetU32(p + 8);
  e.raw_len = GetU32(p + 12);
  if (p[16] != 1 && p[16] != 2) return Status::Corruption("footer entry: bad record type");
  if (p[17] > kMaxCodecId) return Status::Corruption("footer entry: bad codec id");
  e.type = static_cast<RecordType>(p[16]);
  e.codec = static_cast<CodecId>(p[17]);
  e.digest.algo = static_cast<DigestAlgo>(p[18]);
  if (e.digest.size() == 0) return Status::Corruption("footer entry: bad digest algorithm");
  std::memcpy(e.digest.bytes.data(), p + 20, e.digest.size());
  return e;
}

PackWriter::PackWriter(const KernelTable* k, std::string name, uint32_t domain,
                       std::unique_ptr<PackSink> sink)
    : k_(k), name_(std::move(name)), domain_(domain), sink_(std::move(sink)) {}

PackWriter::~PackWriter() {
  if (!done_) Abandon();
}

Result<std::unique_ptr<PackWriter>> PackWriter::Create(PackStore* store, const KernelTable* k,
                                                       uint32_t domain, bool small) {
  uint8_t id[kPackIdSize];
  if (getrandom(id, sizeof(id), 0) != static_cast<ssize_t>(sizeof(id))) {
    return Status::IOError("getrandom failed for a pack id");
  }
  std::string name = ToHex(id, sizeof(id));
  AS_ASSIGN_OR_RETURN(auto sink, store->NewSink(name, small));
  std::unique_ptr<PackWriter> w(new PackWriter(k, name, domain, std::move(sink)));
  uint8_t hdr[kPackHeaderSize] = {0};
  std::memcpy(hdr, kPackMagic, 4);
  PutU32(hdr + 4, kPackVersion);
  std::memcpy(hdr + 8, id, kPackIdSize);
  PutU64(hdr + 24, static_cast<uint64_t>(std::time(nullptr)));
  PutU32(hdr + 32, domain);
  AS_RETURN_IF_ERROR(w->Write(hdr, sizeof(hdr)));
  return w;
}

Status PackWriter::Write(const void* p, size_t n) {
  if (!status_.ok()) return status_;
  status_ = sink_->Append(p, n);
  if (status_.ok()) size_ += n;
  return status_;
}

Result<uint64_t> PackWriter::Add(const FrameInfo& info, const uint8_t* payload) {
  if (!status_.ok()) return status_;
  if (done_) return Status::Internal("PackWriter::Add after Seal");
  uint8_t hdr[kFrameHeaderSize];
  EncodeFrameHeader(info, hdr);
  const uint32_t crc = info.crc ? *info.crc
                                : k_->crc32c(k_->crc32c(0, hdr, sizeof(hdr)), payload,
                                             info.stored_len);
  uint8_t crc_le[4];
  PutU32(crc_le, crc);
  uint64_t offset = size_;
  AS_RETURN_IF_ERROR(Write(hdr, sizeof(hdr)));
  AS_RETURN_IF_ERROR(Write(payload, info.stored_len));
  AS_RETURN_IF_ERROR(Write(crc_le, sizeof(crc_le)));
  FooterEntry e;
  e.offset = offset;
  e.frame_len = info.frame_len();
  e.raw_len = info.raw_len;
  e.type = info.type;
  e.codec = info.codec;
  e.digest = info.digest;
  entries_.push_back(e);
  return offset;
}

Result<SealedPack> PackWriter::Seal() {
  if (!status_.ok()) return status_;
  std::vector<uint8_t> footer(entries_.size() * kFooterEntrySize);
  for (size_t i = 0; i < entries_.size(); i++) {
    EncodeFooterEntry(entries_[i], footer.data() + i * kFooterEntrySize);
  }
  uint64_t footer_off = size_;
  uint8_t trailer[kPackTrailerSize];
  PutU64(trailer, footer_off);
  PutU32(trailer + 8, static_cast<uint32_t>(entries_.size()));
  PutU32(trailer + 12, k_->crc32c(0, footer.data(), footer.size()));
  PutU64(trailer + 16, footer_off + footer.size() + kPackTrailerSize);
  PutU32(trailer + 24, kPackVersion);
  std::memcpy(trailer + 28, kPackTrailerMagic, 4);
  // The footer and trailer go in one piece, which is also what the sink
  // checks the stored pack's tail against.
  footer.insert(footer.end(), trailer, trailer + sizeof(trailer));
  AS_RETURN_IF_ERROR(Write(footer.data(), footer.size()));
  if (Status s = sink_->Seal(footer, size_); !s.ok()) {
    status_ = s.WithContext("sealing pack " + name_);
    return status_;
  }
  done_ = true;
  SealedPack out;
  out.name = name_;
  out.domain = domain_;
  out.size = size_;
  out.entries = std::move(entries_);
  return out;
}

void PackWriter::Abandon() {
  if (done_) return;
  done_ = true;
  if (sink_) sink_->Abandon();
}

}  // namespace as
