// GetPipe: a pushing get feeding a pulling put through a bounded buffer.
#include "server/get_pipe.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace as {
namespace {

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) s[i] = static_cast<char>(i * 31 + i / 7);
  return s;
}

TEST(GetPipeTest, BytesArriveInOrderThroughATinyBuffer) {
  const std::string want = Pattern(100000);
  GetPipe pipe(
      [&](const ByteSink& sink) {
        for (size_t at = 0; at < want.size();) {
          size_t n = std::min<size_t>(1 + at % 13, want.size() - at);
          AS_RETURN_IF_ERROR(sink(reinterpret_cast<const uint8_t*>(want.data()) + at, n));
          at += n;
        }
        return Status::OK();
      },
      7);
  std::string got;
  uint8_t buf[11];
  for (size_t turn = 0;; turn++) {
    auto n = pipe.Read(buf, 1 + turn % sizeof buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    got.append(reinterpret_cast<char*>(buf), *n);
  }
  EXPECT_EQ(got, want);
  auto end = pipe.Read(buf, sizeof buf);  // the end stays the end
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, 0u);
}

TEST(GetPipeTest, TheGetsErrorComesAfterItsBytes) {
  GetPipe pipe([](const ByteSink& sink) {
    const uint8_t b[3] = {1, 2, 3};
    AS_RETURN_IF_ERROR(sink(b, 3));
    return Status::Corruption("chunk blake3:ab: frame CRC-32C mismatch");
  });
  uint8_t buf[16];
  size_t total = 0;
  Result<size_t> n = size_t{0};
  while ((n = pipe.Read(buf, sizeof buf)).ok() && *n > 0) total += *n;
  EXPECT_EQ(total, 3u);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Code::kCorruption);
  EXPECT_NE(n.status().message().find("CRC-32C"), std::string::npos);
}

// A put that gives up leaves the get blocked on a full buffer: the pipe's
// end must stop it (its sink fails) rather than hang.
TEST(GetPipeTest, AnAbandonedPipeStopsItsGet) {
  std::atomic<bool> sink_failed{false};
  {
    GetPipe pipe(
        [&](const ByteSink& sink) {
          const std::string data = Pattern(1000);
          for (;;) {
            Status s = sink(reinterpret_cast<const uint8_t*>(data.data()), data.size());
            if (!s.ok()) {
              sink_failed = true;
              return s;
            }
          }
        },
        64);
    uint8_t buf[10];
    ASSERT_TRUE(pipe.Read(buf, sizeof buf).ok());
  }
  EXPECT_TRUE(sink_failed);
}

}  // namespace
}  // namespace as
