// Delta chunks (codec zstd-ref): choosing a new chunk's bases on put, and
// fetching them to decode it on read. See docs/architecture.md, "Delta
// chunks".
#include <algorithm>

#include "store/store_impl.h"

namespace as {

namespace {
// Bases per chunk: the two stored chunks that followed the last chunk the
// put found already stored. An edit rarely reaches past them, and more
// would make each read of the chunk read more.
constexpr size_t kBasesPerChunk = 2;
// Smaller chunks (a file's tail) gain too little to be worth a base read.
constexpr size_t kMinDeltaChunk = 4 << 10;
}  // namespace

Result<std::shared_ptr<const DeltaBase>> StoreImpl::FindDeltaBase(uint32_t domain, const Digest& d,
                                                                  size_t n, DeltaCursor* cursor) {
  std::optional<Location> at = cursor->next;
  cursor->next.reset();
  if (!at || n < kMinDeltaChunk) return std::shared_ptr<const DeltaBase>();
  auto base = std::make_shared<DeltaBase>();
  std::optional<Location> next;
  ReadAhead::Slot slot;
  slot.base_depth = kMaxBaseDepth;  // a delta chunk is refused, not decoded
  // The frames that follow `at` in its pack: the chunks stored after it
  // when that pack was written, i.e. what came next in the older version.
  for (size_t frames = 0; frames < kBasesPerChunk && base->digests.size() < kBasesPerChunk;
       frames++) {
    auto reader = Reader(at->pack);
    if (!reader.ok()) break;
    uint8_t head[format::kFrameHeaderSize + 1 + kMaxFrameBases * (1 + Digest::kMaxSize)];
    size_t got = 0;
    auto info = (*reader)->PeekFrame(at->offset, head, sizeof(head), &got);
    if (!info.ok() || info->type != format::RecordType::kChunk) break;
    std::vector<Digest> candidates{info->digest};
    if (info->codec == CodecId::kZstdRef) {
      // A sealed delta chunk's bases are not in the clear: stop here (the
      // put compresses this chunk on its own).
      if (info->cipher != format::CipherId::kNone) break;
      // A delta chunk is never a base; its own bases stand in for it.
      // (Its base list lies in the peeked bytes unless it is damaged.)
      FrameInfo clipped = *info;
      clipped.stored_len =
          static_cast<uint32_t>(std::min<size_t>(info->stored_len, got - format::kFrameHeaderSize));
      auto bases = FrameBases(clipped, head + format::kFrameHeaderSize);
      if (!bases.ok()) break;
      candidates = *bases;
    }
    for (const Digest& c : candidates) {
      if (base->digests.size() >= kBasesPerChunk) break;
      // d itself: another put may have stored it since this one looked.
      if (c == d ||
          std::find(base->digests.begin(), base->digests.end(), c) != base->digests.end()) {
        continue;
      }
      // Looked up live, as a deduplicated chunk is: the commit keeps it
      // (PutCommit::refs), and from then on the chunk's base row does.
      if (!filter_.MayBeStored(domain, c)) continue;
      auto live = meta_->FindLiveChunk(domain, c);
      if (!live.ok() || !*live) continue;
      // A guess: a bad one is only skipped.
      if (!ReadChunk(domain, c, &slot, &**live).ok()) continue;
      base->digests.push_back(c);
      base->bytes.insert(base->bytes.end(), slot.data, slot.data + slot.n);
    }
    at = Location{at->pack, at->offset + info->frame_len(), 0, 0};
    // The next new chunk, if any, most likely stands for the frame after
    // the first one (an edit replaces one old chunk with one new one).
    if (frames == 0) next = at;
  }
  if (base->digests.empty()) return std::shared_ptr<const DeltaBase>();
  cursor->next = next;
  return std::shared_ptr<const DeltaBase>(std::move(base));
}

Status StoreImpl::DecodeChunk(uint32_t domain, const FrameInfo& sealed, const uint8_t* stored,
                              uint8_t* dst, int depth) {
  FrameInfo info = sealed;
  if (info.cipher != format::CipherId::kNone && info.codec == CodecId::kNone) {
    // A raw chunk opens straight into its destination (raw_len bytes: the
    // lengths are checked first, dst holds no more).
    if (info.stored_len != uint64_t{info.raw_len} + crypto::kSealOverhead) {
      return Status::Corruption("sealed raw frame of " + std::to_string(info.stored_len) +
                                " bytes for " + std::to_string(info.raw_len) + " raw bytes");
    }
    AS_ASSIGN_OR_RETURN(crypto::Key key, keyring_->DataKey(domain, info.key_id));
    return OpenFramePayload(key, info, stored, dst).status();
  }
  std::vector<uint8_t> opened;
  AS_ASSIGN_OR_RETURN(const uint8_t* payload, OpenPayload(domain, &info, stored, &opened));
  if (info.codec != CodecId::kZstdRef) return DecodeFramePayload(info, payload, dst);
  AS_ASSIGN_OR_RETURN(std::vector<Digest> bases, FrameBases(info, payload));
  std::vector<uint8_t> ref;
  ReadAhead::Slot slot;
  slot.base_depth = depth + 1;
  for (const Digest& b : bases) {
    AS_RETURN_IF_ERROR(
        ReadChunk(domain, b, &slot).WithContext("base " + b.ToString() + " of a zstd-ref chunk"));
    ref.insert(ref.end(), slot.data, slot.data + slot.n);
  }
  return DecodeFramePayload(info, payload, dst, ref.data(), ref.size());
}

}  // namespace as
