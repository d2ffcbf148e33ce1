#include "store/manifest.h"

#include "cbor/cbor.h"

namespace as {

namespace {

void WriteDigest(cbor::Writer& w, const Digest& d) {
  uint8_t b[1 + Digest::kMaxSize];
  d.EncodeTo(b);
  w.Bytes(b, d.EncodedSize());
}

Result<Digest> ReadDigest(const cbor::Value* v, const char* what) {
  if (!v || !v->is_bytes()) return Status::Corruption(std::string("manifest: ") + what + " is not a byte string");
  const auto& b = v->as_bytes();
  auto d = Digest::Decode(b.data(), b.size());
  if (!d.ok()) return d.status().WithContext(std::string("manifest: ") + what);
  return d;
}

Result<uint64_t> ReadUint(const cbor::Value* v, const char* what) {
  if (!v || !v->is_uint()) return Status::Corruption(std::string("manifest: ") + what + " is not an unsigned integer");
  return v->as_uint();
}

}  // namespace

std::vector<uint8_t> EncodeManifest(const Manifest& m) {
  cbor::Writer w;
  w.buffer().reserve(64 + m.chunks.size() * 40);
  w.MapHeader(m.name_hint.empty() ? 6 : 7);
  // Keys 0..6 encode as single bytes 0x00..0x06: ascending order is canonical.
  w.Uint(0);
  w.Uint(kManifestVersion);
  w.Uint(1);
  WriteDigest(w, m.content);
  w.Uint(2);
  w.Uint(m.size);
  w.Uint(3);
  w.MapHeader(6);
  w.Uint(0);
  w.Text(kChunkerName);
  w.Uint(1);
  w.Uint(m.chunker.min_size);
  w.Uint(2);
  w.Uint(m.chunker.avg_size);
  w.Uint(3);
  w.Uint(m.chunker.max_size);
  w.Uint(4);
  w.Uint(static_cast<uint64_t>(m.chunker.normalization));
  w.Uint(5);
  w.Text(kGearTableId);
  w.Uint(4);
  w.ArrayHeader(m.chunks.size());
  for (const ChunkRef& c : m.chunks) {
    w.ArrayHeader(2);
    WriteDigest(w, c.digest);
    w.Uint(c.length);
  }
  w.Uint(5);
  w.Uint(static_cast<uint64_t>(m.created < 0 ? 0 : m.created));
  if (!m.name_hint.empty()) {
    w.Uint(6);
    w.Text(m.name_hint);
  }
  return w.Release();
}

Result<Manifest> DecodeManifest(const uint8_t* p, size_t n) {
  auto parsed = cbor::Decode(p, n);
  if (!parsed.ok()) return parsed.status().WithContext("manifest");
  const cbor::Value& v = parsed.value();
  if (!v.is_map()) return Status::Corruption("manifest: not a CBOR map");
  for (const auto& [k, _] : v.as_map()) {
    if (!k.is_uint() || k.as_uint() > 6) return Status::Corruption("manifest: unknown field");
  }
  AS_ASSIGN_OR_RETURN(uint64_t version, ReadUint(v.Find(uint64_t{0}), "version"));
  if (version > kManifestVersion) {
    return Status::Unsupported("manifest schema version " + std::to_string(version) +
                               " is newer than this build (" + std::to_string(kManifestVersion) +
                               "): upgrade artifact-store");
  }
  if (version != kManifestVersion) return Status::Corruption("manifest: version 0");
  Manifest m;
  AS_ASSIGN_OR_RETURN(m.content, ReadDigest(v.Find(1), "content digest"));
  AS_ASSIGN_OR_RETURN(m.size, ReadUint(v.Find(2), "size"));
  const cbor::Value* ch = v.Find(3);
  if (!ch || !ch->is_map() || ch->as_map().size() != 6) {
    return Status::Corruption("manifest: chunker is not a 6-field map");
  }
  const cbor::Value* cname = ch->Find(uint64_t{0});
  const cbor::Value* gear = ch->Find(5);
  if (!cname || !cname->is_text() || cname->as_text() != kChunkerName) {
    return Status::Unsupported("manifest: unknown chunker (expected fastcdc2020)");
  }
  if (!gear || !gear->is_text() || gear->as_text() != kGearTableId) {
    return Status::Unsupported("manifest: unknown gear table (expected md5-v1)");
  }
  AS_ASSIGN_OR_RETURN(uint64_t mn, ReadUint(ch->Find(1), "chunker min"));
  AS_ASSIGN_OR_RETURN(uint64_t avg, ReadUint(ch->Find(2), "chunker avg"));
  AS_ASSIGN_OR_RETURN(uint64_t mx, ReadUint(ch->Find(3), "chunker max"));
  AS_ASSIGN_OR_RETURN(uint64_t nc, ReadUint(ch->Find(4), "chunker normalization"));
  if (mn > UINT32_MAX || avg > UINT32_MAX || mx > UINT32_MAX || nc > 3) {
    return Status::Corruption("manifest: chunker parameters out of range");
  }
  m.chunker = ChunkerParams{static_cast<uint32_t>(mn), static_cast<uint32_t>(avg),
                            static_cast<uint32_t>(mx), static_cast<int>(nc)};
  AS_RETURN_IF_ERROR(ValidateChunkerParams(m.chunker).WithContext("manifest"));
  const cbor::Value* list = v.Find(4);
  if (!list || !list->is_array()) return Status::Corruption("manifest: chunks is not an array");
  m.chunks.reserve(list->as_array().size());
  uint64_t total = 0;
  for (const cbor::Value& e : list->as_array()) {
    if (!e.is_array() || e.as_array().size() != 2) {
      return Status::Corruption("manifest: chunk entry " + std::to_string(m.chunks.size()) +
                                " is not [digest, length]");
    }
    ChunkRef c;
    AS_ASSIGN_OR_RETURN(c.digest, ReadDigest(&e.as_array()[0], "chunk digest"));
    AS_ASSIGN_OR_RETURN(uint64_t len, ReadUint(&e.as_array()[1], "chunk length"));
    if (len == 0 || len > m.chunker.max_size) {
      return Status::Corruption("manifest: chunk " + std::to_string(m.chunks.size()) +
                                " has length " + std::to_string(len));
    }
    c.length = static_cast<uint32_t>(len);
    total += len;
    m.chunks.push_back(c);
  }
  if (total != m.size) {
    return Status::Corruption("manifest: chunk lengths add up to " + std::to_string(total) +
                              ", size says " + std::to_string(m.size));
  }
  AS_ASSIGN_OR_RETURN(uint64_t created, ReadUint(v.Find(5), "created"));
  m.created = static_cast<int64_t>(created);
  if (const cbor::Value* nm = v.Find(6)) {
    if (!nm->is_text() || nm->as_text().empty()) {
      return Status::Corruption("manifest: name hint is not a non-empty text");
    }
    m.name_hint = nm->as_text();
  }
  return m;
}

}  // namespace as
