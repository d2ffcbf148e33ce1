#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace as::cli {

std::string HumanBytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    u++;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

ProgressBar::ProgressBar(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), enabled_(::isatty(2) == 1),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

ProgressBar::~ProgressBar() {
  if (enabled_) std::fprintf(stderr, "\r\033[K");
}

void ProgressBar::Update(uint64_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0 ? done / secs : 0;
  if (total_ > 0) {
    int width = 30;
    int fill = static_cast<int>(width * (double(done) / double(total_)));
    if (fill > width) fill = width;
    std::fprintf(stderr, "\r\033[K%s [%.*s%*s] %5.1f%% %s/s", label_.c_str(), fill,
                 "##############################", width - fill, "",
                 100.0 * double(done) / double(total_), HumanBytes(uint64_t(rate)).c_str());
  } else {
    std::fprintf(stderr, "\r\033[K%s %s %s/s", label_.c_str(), HumanBytes(done).c_str(),
                 HumanBytes(uint64_t(rate)).c_str());
  }
  std::fflush(stderr);
}

}  // namespace as::cli
