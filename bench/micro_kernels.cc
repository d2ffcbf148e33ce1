// Kernel microbenchmarks: every CRC-32C variant (and ISA-L's crc32_iscsi as the
// anchor) on hot buffers of several sizes, and the FastCDC scan variants
// chunking a random buffer end to end.
//   build/bin/micro_kernels --benchmark_filter=Crc32c
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "chunking/fastcdc.h"
#include "kernels/kernels.h"

#ifdef AS_HAVE_ISAL
#include <isa-l/crc.h>
#endif

namespace as {
namespace {

std::vector<uint8_t> Random(size_t n) {
  std::vector<uint8_t> v(n);
  std::mt19937_64 rng(42);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t x = rng();
    std::memcpy(v.data() + i, &x, std::min<size_t>(8, n - i));
  }
  return v;
}

template <uint32_t (*F)(uint32_t, const uint8_t*, size_t)>
void BM_Crc32c(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> buf = Random(n);
  uint32_t c = 0;
  for (auto _ : state) {
    c = F(c, buf.data(), n);
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n));
}

#define CRC_SIZES ->Arg(64)->Arg(1024)->Arg(4096)->Arg(16384)->Arg(1 << 20)
BENCHMARK_TEMPLATE(BM_Crc32c, Crc32cReference)->Arg(16384);
BENCHMARK_TEMPLATE(BM_Crc32c, Crc32cPortable) CRC_SIZES;
#if defined(AS_ENABLE_ASM) && defined(__x86_64__)
BENCHMARK_TEMPLATE(BM_Crc32c, Crc32cSse42) CRC_SIZES;
#endif

#ifdef AS_HAVE_ISAL
void BM_Crc32cIsal(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> buf = Random(n);
  unsigned c = 0;
  for (auto _ : state) {
    c = crc32_iscsi(buf.data(), static_cast<int>(n), c);
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n));
}
BENCHMARK(BM_Crc32cIsal) CRC_SIZES;
#endif

// Chunks a 16 MiB random buffer completely with the given scan kernel.
template <size_t (*F)(const FastcdcScanParams&, const uint8_t*, size_t, uint64_t*)>
void BM_Fastcdc(benchmark::State& state) {
  static const std::vector<uint8_t> data = Random(16 << 20);
  ChunkerParams cp;  // default 16/64/256 KiB, nc 1
  if (state.range(0) == 1) cp = ChunkerParams{4096, 16384, 65536, 1};
  FastcdcScanParams p = MakeScanParams(cp);
  size_t chunks = 0;
  for (auto _ : state) {
    size_t pos = 0;
    while (pos < data.size()) {
      uint64_t h;
      pos += F(p, data.data() + pos, data.size() - pos, &h);
      ++chunks;
    }
    benchmark::DoNotOptimize(pos);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
  state.counters["avg_chunk"] =
      double(state.iterations()) * double(data.size()) / double(chunks);
}
BENCHMARK_TEMPLATE(BM_Fastcdc, FastcdcCutReference)->Arg(0)->Arg(1);
BENCHMARK_TEMPLATE(BM_Fastcdc, FastcdcCutPortable)->Arg(0)->Arg(1);

// The streaming wrapper over an in-memory reader (memcpy included).
void BM_ChunkStream(benchmark::State& state) {
  static const std::vector<uint8_t> data = Random(64 << 20);
  Chunker chunker(ChunkerParams{}, MakeKernelTable(DetectCpu()));
  for (auto _ : state) {
    size_t pos = 0;
    ChunkStream s(chunker, [&](uint8_t* buf, size_t cap) -> Result<size_t> {
      size_t n = std::min(cap, data.size() - pos);
      std::memcpy(buf, data.data() + pos, n);
      pos += n;
      return n;
    });
    ChunkView v;
    size_t total = 0;
    while (true) {
      Result<bool> r = s.Next(&v);
      if (!r.ok() || !*r) break;
      total += v.size;
    }
    benchmark::DoNotOptimize(total);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
}
BENCHMARK(BM_ChunkStream);

}  // namespace
}  // namespace as

BENCHMARK_MAIN();
