// FastCDC scan variants (kernels/fastcdc_simd.h) against the portable scalar
// loop, chunking a 256 MiB random buffer end to end (docs/asm/fastcdc.md).
//   build-fc/bin/micro_fastcdc --benchmark_filter=Scan --benchmark_repetitions=5
// Arg 0 = default params 16/64/256 KiB nc 1; 1 = 4/16/64 KiB nc 1; 2 = 64/256/1024 nc 1.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "chunking/fastcdc.h"
#include "chunking/fused.h"
#include "hash/blake3.h"
#include "kernels/kernels.h"
#include "kernels/fastcdc_scan.h"
#include "kernels/fastcdc_simd.h"

namespace as {
namespace {

std::vector<uint8_t> RandomBuffer(size_t n) {
  std::vector<uint8_t> d(n);
  std::mt19937_64 rng(42);
  for (size_t i = 0; i < d.size(); i += 8) {
    uint64_t x = rng();
    std::memcpy(d.data() + i, &x, 8);
  }
  return d;
}

const std::vector<uint8_t>& Data() {
  static const std::vector<uint8_t> v = [] {
    std::vector<uint8_t> d(size_t{256} << 20);
    std::mt19937_64 rng(42);
    for (size_t i = 0; i < d.size(); i += 8) {
      uint64_t x = rng();
      std::memcpy(d.data() + i, &x, 8);
    }
    return d;
  }();
  return v;
}

ChunkerParams Shape(int64_t arg) {
  switch (arg) {
    case 1: return ChunkerParams{4096, 16384, 65536, 1};
    case 2: return ChunkerParams{64, 256, 1024, 1};
    default: return ChunkerParams{};
  }
}

using Fn = size_t (*)(const FastcdcScanParams&, const uint8_t*, size_t, uint64_t*);

template <Fn F>
void BM_Scan(benchmark::State& state) {
  const std::vector<uint8_t>& data = Data();
  FastcdcScanParams p = MakeScanParams(Shape(state.range(0)));
  size_t chunks = 0;
  for (auto _ : state) {
    size_t pos = 0;
    uint64_t hs = 0;
    while (pos < data.size()) {
      uint64_t h;
      pos += F(p, data.data() + pos, data.size() - pos, &h);
      hs ^= h;
      ++chunks;
    }
    benchmark::DoNotOptimize(hs);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
  state.counters["avg_chunk"] = double(state.iterations()) * double(data.size()) / double(chunks);
}

template <int K, size_t S>
size_t Striped(const FastcdcScanParams& p, const uint8_t* src, size_t n, uint64_t* h) {
  return FastcdcCutStripedK<K>(p, src, n, h, S);
}

#define SHAPES ->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)
BENCHMARK_TEMPLATE(BM_Scan, FastcdcCutPortable) SHAPES;
BENCHMARK_TEMPLATE(BM_Scan, FastcdcCutStriped) SHAPES;
BENCHMARK_TEMPLATE(BM_Scan, (Striped<2, 512>)) SHAPES;
BENCHMARK_TEMPLATE(BM_Scan, (Striped<3, 512>)) SHAPES;
BENCHMARK_TEMPLATE(BM_Scan, (Striped<4, 256>)) SHAPES;
BENCHMARK_TEMPLATE(BM_Scan, (Striped<4, 1024>)) SHAPES;
BENCHMARK_TEMPLATE(BM_Scan, (Striped<6, 512>)) SHAPES;
BENCHMARK_TEMPLATE(BM_Scan, (Striped<8, 256>)) SHAPES;

// ---- Fused scan + hash on a 1 GiB in-memory buffer, one core (default params).
const std::vector<uint8_t>& GiB() {
  static const std::vector<uint8_t> v = RandomBuffer(size_t{1} << 30);
  return v;
}

Chunker DefaultChunker() { return Chunker(ChunkerParams{}, MakeKernelTable(DetectCpu())); }

// Three passes: cut everything, then hash every chunk, then the whole stream.
void BM_SeparatePasses(benchmark::State& state) {
  const std::vector<uint8_t>& d = GiB();
  Chunker c = DefaultChunker();
  for (auto _ : state) {
    std::vector<size_t> sizes;
    for (size_t pos = 0; pos < d.size();) {
      size_t len = c.Cut(d.data() + pos, d.size() - pos, true, nullptr);
      sizes.push_back(len);
      pos += len;
    }
    size_t pos = 0;
    uint8_t x = 0;
    for (size_t len : sizes) {
      x ^= Blake3(d.data() + pos, len).bytes[0];
      pos += len;
    }
    Blake3Hasher whole;
    whole.Update(d.data(), d.size());
    x ^= whole.Finalize().bytes[0];
    benchmark::DoNotOptimize(x);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(d.size()));
}
BENCHMARK(BM_SeparatePasses)->Unit(benchmark::kMillisecond);

// What store/put.cc does per chunk today (ChunkStream memcpy aside): cut one
// chunk, then Blake3() it, then whole.Update() it (two whole-chunk reads from L2).
void BM_CutThenHashPerChunk(benchmark::State& state) {
  const std::vector<uint8_t>& d = GiB();
  Chunker c = DefaultChunker();
  for (auto _ : state) {
    Blake3Hasher whole;
    uint8_t x = 0;
    for (size_t pos = 0; pos < d.size();) {
      size_t len = c.Cut(d.data() + pos, d.size() - pos, true, nullptr);
      x ^= Blake3(d.data() + pos, len).bytes[0];
      whole.Update(d.data() + pos, len);
      pos += len;
    }
    x ^= whole.Finalize().bytes[0];
    benchmark::DoNotOptimize(x);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(d.size()));
}
BENCHMARK(BM_CutThenHashPerChunk)->Unit(benchmark::kMillisecond);

void BM_FusedCutAndHash(benchmark::State& state) {
  const std::vector<uint8_t>& d = GiB();
  Chunker c = DefaultChunker();
  for (auto _ : state) {
    Blake3Hasher whole;
    uint8_t x = 0;
    Result<size_t> r = CutAndHash(c, d.data(), d.size(), true, 0, &whole,
                                  [&](const HashedChunk& h) -> Status {
                                    x ^= h.digest.bytes[0];
                                    return Status::OK();
                                  });
    if (!r.ok()) state.SkipWithError("CutAndHash failed");
    x ^= whole.Finalize().bytes[0];
    benchmark::DoNotOptimize(x);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(d.size()));
}
BENCHMARK(BM_FusedCutAndHash)->Unit(benchmark::kMillisecond);

// The parts alone, for scale: the cut pass, and the two BLAKE3 passes.
void BM_CutOnly(benchmark::State& state) {
  const std::vector<uint8_t>& d = GiB();
  Chunker c = DefaultChunker();
  for (auto _ : state) {
    size_t pos = 0;
    while (pos < d.size()) pos += c.Cut(d.data() + pos, d.size() - pos, true, nullptr);
    benchmark::DoNotOptimize(pos);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(d.size()));
}
BENCHMARK(BM_CutOnly)->Unit(benchmark::kMillisecond);

void BM_Blake3Whole(benchmark::State& state) {
  const std::vector<uint8_t>& d = GiB();
  for (auto _ : state) {
    Blake3Hasher whole;
    whole.Update(d.data(), d.size());
    benchmark::DoNotOptimize(whole.Finalize().bytes[0]);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(d.size()));
}
BENCHMARK(BM_Blake3Whole)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace as

BENCHMARK_MAIN();
