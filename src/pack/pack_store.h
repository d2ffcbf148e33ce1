// Where packs live: a directory on a local disk, or a bucket of an
// S3-compatible object store (s3client/s3_pack_store.h). PackWriter and
// PackReader (pack.h) write and read through this interface and know nothing
// of either.
//
// Contract, for every implementation:
//  * A pack is named by 32 hex digits (its random id); names never repeat,
//    so two writers never write the same object and no conditional write is
//    needed.
//  * PackSink::Seal returns OK only when the whole pack is durable under its
//    final name and the store has checked that what is stored is what was
//    written (read back locally; MD5s and the multipart ETag on S3). Only
//    then may rows that point into it be committed.
//  * A sink destroyed or abandoned before Seal leaves a leftover at most
//    (a .tmp file, an unfinished multipart upload), which List reports as
//    not sealed and RemoveLeftover removes: gc's orphan sweep.
//  * Open of a missing pack is NotFound naming it. Errors of a server that
//    does not answer are Unavailable (retry); the store passes them on.
//  * Thread-safe: sinks and files are used by one thread at a time each,
//    the store by any number.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/env.h"

namespace as {

class PackSink {
 public:
  virtual ~PackSink() = default;
  virtual Status Append(const void* data, size_t n) = 0;
  // Every byte of the pack has been appended; `tail` is its last bytes
  // (footer and trailer) as they were written, for the check.
  virtual Status Seal(std::span<const uint8_t> tail, uint64_t size) = 0;
  // Drops what was written, best effort (gc removes what this misses).
  virtual void Abandon() = 0;
};

struct PackObject {
  std::string name;  // the pack's 32 hex digits
  uint64_t size = 0;
  int64_t mtime = 0;    // unix seconds: written, or (a leftover) started
  bool sealed = true;   // false: a write that never sealed
  std::string handle;   // for RemoveLeftover: a file name, an upload id
};

class PackStore {
 public:
  virtual ~PackStore() = default;
  // "/data/packs", "s3://bucket/prefix (http://host:port)": for messages.
  virtual std::string Describe() const = 0;
  // Where one pack is, in the same terms.
  virtual std::string Where(const std::string& name) const = 0;
  // `small`: the pack stays a few MiB at most (written in one piece).
  virtual Result<std::unique_ptr<PackSink>> NewSink(const std::string& name, bool small) = 0;
  // `size`: the pack's size when the caller knows it (its row), which saves
  // a request on S3; nullopt asks the store.
  virtual Result<std::unique_ptr<RandomAccessFile>> Open(const std::string& name,
                                                         std::optional<uint64_t> size) = 0;
  virtual Status Remove(const std::string& name) = 0;
  // Every pack and leftover under the store, in no particular order.
  virtual Status List(std::vector<PackObject>* out) = 0;
  virtual Status RemoveLeftover(const PackObject& o) = 0;
  // Whether the store answers (for a server's health check): OK, or the
  // error that names what did not.
  virtual Status Ping() = 0;
};

// packs/<hh>/<name>.pack under packs_dir; the sink writes <name>.pack.tmp,
// fsyncs it, reads its tail back, renames it and fsyncs the directory.
std::unique_ptr<PackStore> NewLocalPackStore(Env* env, std::string packs_dir);

}  // namespace as
