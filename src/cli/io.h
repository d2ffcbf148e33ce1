// File and stdio adapters between the CLI and the store's ByteSource/ByteSink.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "artifact_store/store.h"
#include "base/env.h"

namespace as::cli {

// An open input: a file (size known) or stdin.
class Input {
 public:
  static Result<std::unique_ptr<Input>> Open(const std::string& path);  // "-" = stdin
  ~Input();
  ByteSource Source();
  uint64_t size() const { return size_; }  // 0 when unknown
  const std::string& name() const { return name_; }

 private:
  int fd_ = -1;
  bool own_ = false;
  uint64_t size_ = 0;
  std::string name_;
};

// An output: stdout, or a file written as FILE.part and renamed into place
// only when everything was written and fsynced (Commit). Destroying an
// uncommitted Output removes the partial file.
class Output {
 public:
  // From this size on, a regular file is written with O_DIRECT (where its
  // file system allows it), from aligned buffers a helper thread writes while
  // the get goes on: through the page cache, allocating and writing back every
  // page cost more CPU than reading and checking the bytes, and much more on a
  // VM whose host has taken freed pages back. Smaller files stay in the page
  // cache, ready to be read.
  static constexpr uint64_t kDirectMin = 8 << 20;

  // "" or "-": stdout. A regular file is written as PATH.part, fsynced and
  // renamed on Commit (left alone if the get fails); an existing device,
  // FIFO or socket (/dev/null) is written in place. expected_size: what the
  // get will write, when known (0: unknown).
  static Result<std::unique_ptr<Output>> Open(const std::string& path, uint64_t expected_size = 0);
  // Whether Open(path) would write a regular file (so a size is worth finding).
  static bool IsRegularFile(const std::string& path);
  ~Output();
  ByteSink Sink();
  Status Commit();

 private:
  int fd_ = 1;
  std::unique_ptr<WritableFile> file_;  // a regular file's PATH.part (fd_ is for the others)
  std::string path_, tmp_;
  bool committed_ = false;
  bool in_place_ = false;  // path is not a regular file: written in place
};

}  // namespace as::cli
