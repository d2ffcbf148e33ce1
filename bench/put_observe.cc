// A store put with the S3 layer's MD5 as PutOptions::observe, the MD5 run
// inline (--workers 0: one thread does everything) or beside the put's own
// cutting and hashing (--workers 1: the whole-stream passes on their own
// threads). Isolates that mechanism from the network and the client.
//
//   put_observe FILE WORKERS REPS   (fresh store per rep in /tmp; prints
//   wall seconds per rep and the MD5)
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "artifact_store/store.h"
#include "base/bytes.h"
#include "hash/sha.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: put_observe FILE WORKERS REPS\n");
    return 2;
  }
  const std::string file = argv[1];
  const int workers = std::atoi(argv[2]), reps = std::atoi(argv[3]);
  for (int rep = 0; rep < reps; rep++) {
    const std::string dir = "/tmp/put_observe." + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    as::StoreOptions o;
    o.create_if_missing = true;
    o.compress_workers = workers;
    auto st = as::Store::Open(dir, o);
    if (!st.ok()) return std::fprintf(stderr, "%s\n", st.status().ToString().c_str()), 1;
    int fd = open(file.c_str(), O_RDONLY);
    if (fd < 0) return std::perror(file.c_str()), 1;
    as::StreamingDigest md5(as::StreamingDigest::Kind::kMd5);
    as::PutOptions po;
    po.observe = [&](const uint8_t* p, size_t n) { md5.Update(p, n); };
    const auto t0 = std::chrono::steady_clock::now();
    auto r = (*st)->Put({as::kDefaultTenant, "b", "k"},
                        [&](uint8_t* buf, size_t cap) -> as::Result<size_t> {
                          ssize_t n = read(fd, buf, cap);
                          if (n < 0) return as::Status::FromErrno("read " + file, errno);
                          return static_cast<size_t>(n);
                        },
                        po);
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    close(fd);
    if (!r.ok()) return std::fprintf(stderr, "%s\n", r.status().ToString().c_str()), 1;
    uint8_t d[16];
    md5.Finish(d);
    std::printf("workers %d wall %.3f s md5 %s\n", workers, s, as::ToHex(d, 16).c_str());
    st->reset();
    std::filesystem::remove_all(dir);
  }
  return 0;
}
