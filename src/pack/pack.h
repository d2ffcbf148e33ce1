// Packs: immutable files of frames sealed by a footer (docs/format/pack.md).
//
// PackWriter is sticky: after the first failure every call returns that
// failure, and what was written is dropped by Abandon() or the destructor.
// Seal() returns only after the pack store holds the pack durably under its
// final name and has checked it (pack_store.h): the caller may then commit
// index rows that point into it. One writer per thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "pack/frame.h"
#include "pack/pack_store.h"

namespace as {

struct FooterEntry {
  uint64_t offset = 0;
  uint32_t frame_len = 0;
  uint32_t raw_len = 0;
  format::RecordType type = format::RecordType::kChunk;
  CodecId codec = CodecId::kNone;
  Digest digest;
};

struct SealedPack {
  std::string name;  // 32 hex digits
  uint32_t domain = 0;  // dedup domain of every frame in the pack
  uint64_t size = 0;
  std::vector<FooterEntry> entries;
};

// packs/<hh>/<name>.pack under a local store's packs directory.
std::string PackPath(const std::string& packs_dir, const std::string& name);

class PackWriter {
 public:
  // Starts a pack with a new random name in `store`. `small`: the pack is
  // known to stay a few MiB at most (a local one then goes through the page
  // cache, an S3 one is one PutObject).
  static Result<std::unique_ptr<PackWriter>> Create(PackStore* store, const KernelTable* k,
                                                    uint32_t domain, bool small = false);
  ~PackWriter();

  // Appends one frame whose payload is already encoded (compressed or raw).
  // Returns the frame's offset in the pack.
  Result<uint64_t> Add(const FrameInfo& info, const uint8_t* payload);

  const std::string& name() const { return name_; }
  // Bytes written so far (header + frames).
  uint64_t size() const { return size_; }
  size_t frames() const { return entries_.size(); }

  Result<SealedPack> Seal();
  void Abandon();

 private:
  PackWriter(const KernelTable* k, std::string name, uint32_t domain,
             std::unique_ptr<PackSink> sink);
  Status Write(const void* p, size_t n);

  const KernelTable* k_;
  std::string name_;
  uint32_t domain_;
  std::unique_ptr<PackSink> sink_;
  uint64_t size_ = 0;
  std::vector<FooterEntry> entries_;
  Status status_;
  bool done_ = false;
};

class PackReader {
 public:
  // `size`: as PackStore::Open. Errors name store->Where(name).
  static Result<std::unique_ptr<PackReader>> Open(PackStore* store, const KernelTable* k,
                                                  const std::string& name,
                                                  std::optional<uint64_t> size = std::nullopt);
  // A pack file by its path, outside any store (tests, forensics).
  static Result<std::unique_ptr<PackReader>> OpenFile(Env* env, const KernelTable* k,
                                                      const std::string& path);
  // Reads and verifies the frame at [offset, offset+frame_len): the first
  // frame_len bytes of *buf hold it afterwards (*buf only grows, so a buffer
  // reused from frame to frame is not zero-filled each time). Errors name the
  // pack and the offset.
  // sealed_unchecked: a sealed frame's CRC-32C is not computed, for a
  // reader that opens it at once (its GCM tag authenticates every byte the
  // CRC covers, header included; a damaged frame then fails to open, named
  // as damage the same way). verify and gc's copies check every CRC.
  Result<FrameInfo> ReadFrame(uint64_t offset, uint32_t frame_len, std::vector<uint8_t>* buf,
                              bool sealed_unchecked = false) const;
  // For a frame that is to be sent from the file (sendfile) rather than
  // copied: verifies it where it lies, reading the mapped pack in the page
  // cache once for its CRC (under RunGuarded, so a truncated pack or a disk
  // error is an error naming the pack, not a SIGBUS). Returns nullopt, having
  // read only the header, when the frame must be decoded (compressed or
  // encrypted: ReadFrame it) or the pack cannot be mapped. Errors are
  // ReadFrame's.
  Result<std::optional<FrameInfo>> CheckRawFrameInPlace(uint64_t offset,
                                                        uint32_t frame_len) const;
  // Reads up to n bytes at offset (fewer at the end of the pack) into out
  // and parses the frame header they start with, with no CRC check: for
  // guesses that are checked later (a put's choice of delta bases). *got is
  // the bytes read; at least a header's.
  Result<FrameInfo> PeekFrame(uint64_t offset, uint8_t* out, size_t n, size_t* got) const;
  // The pages CheckRawFrameInPlace read stay mapped into the process, where
  // they count toward its RSS; this unmaps them (they stay in the page cache).
  void ReleaseMapped() const;
  // Reads and verifies trailer and footer (not the frames).
  Result<SealedPack> ReadFooter() const;
  uint64_t size() const { return file_->Size(); }
  const std::string& path() const { return path_; }
  void AdviseSequential() const { file_->AdviseSequential(); }
  int fd() const { return file_->fd(); }  // -1 in test environments

 private:
  PackReader(const KernelTable* k, std::string path, std::unique_ptr<RandomAccessFile> f)
      : k_(k), path_(std::move(path)), file_(std::move(f)) {}
  Status CheckExtent(uint64_t offset, uint32_t frame_len) const;
  std::string Where(uint64_t offset) const;
  const KernelTable* k_;
  std::string path_;
  std::unique_ptr<RandomAccessFile> file_;
};

// Encodes footer entries (docs/format/pack.md) and parses them back.
void EncodeFooterEntry(const FooterEntry& e, uint8_t* out);
Result<FooterEntry> DecodeFooterEntry(const uint8_t* p);

}  // namespace as
