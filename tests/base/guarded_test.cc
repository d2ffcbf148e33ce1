// RunGuarded: a read of a mapped file that was cut under the mapping is an
// answer (false), not the end of the process; outside a guard it still is.
#include "base/guarded.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "test_util.h"

namespace as {
namespace {

constexpr size_t kSize = 1 << 20;

// A file of kSize bytes of 0x5a, mapped, then cut to its first page.
class CutMapping : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = as::testing::TempDir("guarded");
    path_ = dir_ + "/f";
    int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    std::string bytes(kSize, '\x5a');
    ASSERT_EQ(::write(fd, bytes.data(), kSize), ssize_t(kSize));
    void* p = ::mmap(nullptr, kSize, PROT_READ, MAP_SHARED, fd, 0);
    ASSERT_NE(p, MAP_FAILED);
    map_ = static_cast<const volatile uint8_t*>(p);
    ASSERT_EQ(::ftruncate(fd, 4096), 0);
    ::close(fd);
  }
  void TearDown() override {
    if (map_) ::munmap(const_cast<uint8_t*>(map_), kSize);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  // Sums n bytes of the mapping from `from`.
  unsigned Sum(size_t from, size_t n) const {
    unsigned s = 0;
    for (size_t i = from; i < from + n; i++) s += map_[i];
    return s;
  }
  std::string dir_, path_;
  const volatile uint8_t* map_ = nullptr;
};

TEST_F(CutMapping, AGuardedReadOfLostPagesReturnsFalse) {
  unsigned sum = 0;
  EXPECT_TRUE(RunGuarded([&] { sum = Sum(0, 4096); }));  // the page that is left
  EXPECT_EQ(sum, 4096u * 0x5a);
  EXPECT_FALSE(RunGuarded([&] { sum = Sum(0, kSize); }));
  // Again, and on other threads at once: each has its own recovery point.
  std::atomic<int> failed{0}, fine{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; i++) {
        unsigned s = 0;
        (RunGuarded([&] { s = Sum(8192, 100); }) ? fine : failed)++;
        (RunGuarded([&] { s = Sum(100, 100); }) ? fine : failed)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 200);
  EXPECT_EQ(fine.load(), 200);
}

TEST_F(CutMapping, AnUnguardedReadOfLostPagesStillKills) {
  // Installs the handler first: it must pass faults it does not own on.
  EXPECT_TRUE(RunGuarded([] {}));
  EXPECT_DEATH(Sum(0, kSize), "");
}

}  // namespace
}  // namespace as
