// File and stdio adapters between the CLI and the store's ByteSource/ByteSink.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "artifact_store/store.h"

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
  // "" or "-": stdout. A regular file is written as PATH.part, fsynced and
  // renamed on Commit (left alone if the get fails); an existing device,
  // FIFO or socket (/dev/null) is written in place.
  static Result<std::unique_ptr<Output>> Open(const std::string& path);
  ~Output();
  ByteSink Sink();
  Status Commit();

 private:
  int fd_ = 1;
  std::string path_, tmp_;
  bool committed_ = false;
  bool direct_ = false;  // path is not a regular file: written in place
};

}  // namespace as::cli
