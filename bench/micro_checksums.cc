// The S3 additional checksums a PUT may ask for, per byte, next to the MD5
// every PUT pays for its ETag: what a declared checksum adds to an upload.
//   build/bin/micro_checksums --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <vector>

#include "hash/sha.h"
#include "kernels/cpu.h"
#include "kernels/kernels.h"
#include "s3/checksum.h"

namespace {

std::vector<uint8_t> Buffer() {
  std::vector<uint8_t> b(1 << 20);
  uint64_t x = 42;
  for (auto& c : b) c = static_cast<uint8_t>((x = x * 6364136223846793005ull + 1) >> 56);
  return b;
}

void BM_Checksum(benchmark::State& state) {
  const auto algo = static_cast<as::s3::ChecksumAlgo>(state.range(0));
  const as::KernelTable k = as::MakeKernelTable(as::DetectCpu());
  const std::vector<uint8_t> buf = Buffer();
  for (auto _ : state) {
    as::s3::Checksummer c(algo, k);
    c.Update(buf.data(), buf.size());
    benchmark::DoNotOptimize(c.Finish());
  }
  state.SetLabel(as::s3::Spec(algo).name);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(buf.size()));
}
BENCHMARK(BM_Checksum)->DenseRange(0, as::s3::kChecksumAlgos - 1);

void BM_Md5(benchmark::State& state) {
  const std::vector<uint8_t> buf = Buffer();
  for (auto _ : state) benchmark::DoNotOptimize(as::Md5(buf.data(), buf.size()));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(buf.size()));
}
BENCHMARK(BM_Md5);

}  // namespace

BENCHMARK_MAIN();
