// A progress bar on stderr, drawn only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace as::cli {

class ProgressBar {
 public:
  // total 0 = unknown (shows bytes and rate only).
  ProgressBar(std::string label, uint64_t total);
  ~ProgressBar();  // clears the line
  void Update(uint64_t done);
  bool enabled() const { return enabled_; }

 private:
  std::string label_;
  uint64_t total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_;
};

std::string HumanBytes(uint64_t n);

}  // namespace as::cli
