#include "base/test_pause.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace as {

void TestPause(const char* point) {
  static const char* dir = std::getenv("AS_TEST_PAUSE_DIR");
  if (dir == nullptr || *dir == '\0') return;
  const std::string path = std::string(dir) + "/" + point;
  if (::access(path.c_str(), F_OK) != 0) return;
  const std::string line = std::to_string(::getpid()) + "\n";
  int fd = ::open((path + ".reached").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    (void)!::write(fd, line.data(), line.size());
    ::close(fd);
  }
  while (::access(path.c_str(), F_OK) == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace as
