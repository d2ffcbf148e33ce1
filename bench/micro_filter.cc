// The dedup filter's probe (src/store/key_table.h): lookups that hit and
// miss, in a table that fits in cache and in one that does not (10 million
// keys, 103 MiB). The question it answers (docs/asm/filter-probe.md): would
// an AVX-512 compare of a bucket's 8 keys pay, or is the probe bound by its
// two cache-line reads?
//   build/bin/micro_filter
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "store/key_table.h"

namespace as {
namespace {

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x ? x : 1;
}

const KeyTable& Table(size_t n) {
  static std::vector<std::pair<size_t, KeyTable*>> made;
  for (auto& [size, t] : made) {
    if (size == n) return *t;
  }
  auto* t = new KeyTable(n);
  for (uint64_t i = 0; i < n; i++) t->Insert(Mix(i));
  made.emplace_back(n, t);
  return *t;
}

// state.range(0): keys in the table; range(1): 1 = probe keys that are
// there (a dedup hit), 0 = keys that are not (a new chunk).
void BM_Probe(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const bool hit = state.range(1) != 0;
  const KeyTable& t = Table(n);
  uint64_t i = 0, found = 0;
  for (auto _ : state) {
    // A pseudo-random walk over the keys: every probe goes to a new bucket,
    // as a put's chunks do.
    const uint64_t k = hit ? Mix((i * 0x9e3779b97f4a7c15ULL) % n) : Mix(n + i);
    found += t.Contains(k) ? 1 : 0;
    i++;
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["bytes_per_key"] = double(t.bytes()) / double(t.size());
}
BENCHMARK(BM_Probe)
    ->Args({100000, 1})
    ->Args({100000, 0})
    ->Args({10000000, 1})
    ->Args({10000000, 0});

void BM_Insert(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    KeyTable t;
    for (uint64_t i = 0; i < n; i++) t.Insert(Mix(i));
    benchmark::DoNotOptimize(t.size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_Insert)->Arg(1000000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace as

BENCHMARK_MAIN();
