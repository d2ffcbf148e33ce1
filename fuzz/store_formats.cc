// Harnesses for what is read back from packs and the metadata database: a
// damaged or hostile pack must give an error, never a crash or a wrong value.
#include <cstring>
#include <vector>

#include "base/bytes.h"
#include "cbor/cbor.h"
#include "fuzz/fuzz.h"
#include "kernels/cpu.h"
#include "kernels/kernels.h"
#include "pack/format.h"
#include "pack/frame.h"
#include "server/object_attrs.h"
#include "store/manifest.h"

namespace as::fuzz {

void FuzzCbor(const uint8_t* data, size_t size) {
  Result<cbor::Value> v = cbor::Decode(data, size);
  if (!v.ok()) return;
  (void)cbor::ToDiagnostic(*v);
  // Strict means canonical: the one encoding of the value is the input.
  std::vector<uint8_t> again = cbor::Encode(*v);
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0) {
    FuzzFail("Decode accepted a non-canonical encoding: " + cbor::ToDiagnostic(*v));
  }
}

void FuzzManifest(const uint8_t* data, size_t size) {
  Result<Manifest> m = DecodeManifest(data, size);
  if (!m.ok()) return;
  std::vector<uint8_t> again = EncodeManifest(*m);
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0) {
    FuzzFail("DecodeManifest accepted bytes EncodeManifest would not write");
  }
  uint64_t sum = 0;
  for (const ChunkRef& c : m->chunks) sum += c.length;
  if (sum != m->size) FuzzFail("chunk lengths do not add up to the size");
}

namespace {

const KernelTable& Kernels() {
  static const KernelTable k = MakeKernelTable(DetectCpu());
  return k;
}

// Decodes a frame the way a read does once its CRC holds; raw_len is capped
// so the harness, not the decoder, bounds the allocation.
void DecodeChecked(const FrameInfo& info, const uint8_t* payload, std::string_view ref) {
  if (info.raw_len > (4u << 20)) return;
  Result<std::vector<Digest>> bases = FrameBases(info, payload);
  if (!bases.ok()) return;
  std::vector<uint8_t> out(info.raw_len);
  Status st = DecodeFramePayload(info, payload, out.data(),
                                 reinterpret_cast<const uint8_t*>(ref.data()), ref.size());
  if (st.ok() && info.codec == CodecId::kNone && info.raw_len != 0 &&
      std::memcmp(out.data(), payload, info.raw_len) != 0) {
    FuzzFail("a raw frame decoded to other bytes than its payload");
  }
}

}  // namespace

// Input: one byte of flags, bytes for a zstd-ref's bases, then the frame. The
// CRC trailer is recomputed when the header parses, so mutations get past it
// to the payload decoders (a pack written by a buggy or hostile writer has
// right CRCs over wrong contents).
void FuzzFrame(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t flags = in.Byte();
  std::string_view ref = in.Bytes(in.Byte() * 64);
  std::string_view rest = in.Rest();
  std::vector<uint8_t> frame(rest.begin(), rest.end());
  const KernelTable& k = Kernels();
  if (frame.size() >= format::kFrameOverhead && (flags & 1) == 0) {
    Result<FrameInfo> hdr = ParseFrameHeader(frame.data());
    if (hdr.ok() && hdr->frame_len() == frame.size()) {
      PutU32(frame.data() + frame.size() - format::kFrameTrailerSize,
             FrameCrc(k, *hdr, frame.data() + format::kFrameHeaderSize));
    }
  }
  Result<FrameInfo> info = ParseFrame(k, frame.data(), frame.size());
  if (!info.ok()) return;
  DecodeChecked(*info, frame.data() + format::kFrameHeaderSize, ref);
}

void FuzzAttrs(const uint8_t* data, size_t size) {
  Result<ObjectAttrs> a =
      ObjectAttrs::Decode(std::string(reinterpret_cast<const char*>(data), size));
  if (!a.ok()) return;
  Result<ObjectAttrs> b = ObjectAttrs::Decode(a->Encode());
  if (!b.ok())
    FuzzFail("attrs re-encoded from a decoded value do not decode: " + b.status().ToString());
  if (*a != *b) FuzzFail("attrs changed across Encode/Decode");
}

}  // namespace as::fuzz
