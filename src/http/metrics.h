// Metrics: request counters and latency histograms for a Prometheus scrape.
//
// Contract: every method may be called from any thread. Record() is on the
// hot path of every request: after the first request of an operation it
// takes a shared lock and bumps atomics, nothing else. Render() produces the
// text exposition format 0.0.4 (serve it with kContentType):
//
//   as_http_requests_total{op,code}          counter
//   as_http_request_duration_seconds{op}     histogram, 0.5 ms .. 30 s
//   as_http_bytes_received_total             counter (request body bytes)
//   as_http_bytes_sent_total                 counter (response body bytes)
//   as_http_requests_in_flight               gauge
//
// followed by whatever the gauge sources append, in the order added.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace as {

class Metrics {
 public:
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";
  // Upper bounds of the duration histogram, in seconds (+Inf is implied).
  static constexpr double kBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,   0.5,   1,      2.5,   5,     10,   30};
  static constexpr size_t kNumBuckets = sizeof(kBuckets) / sizeof(kBuckets[0]);

  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One finished request. `code` outside 100..599 is counted as 0.
  void Record(std::string_view op, int code, double seconds, uint64_t bytes_received,
              uint64_t bytes_sent);
  void RequestStarted() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
  void RequestEnded() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

  // A source appends complete exposition lines (HELP, TYPE, samples) to *out
  // at every scrape; AppendGauge writes one unlabeled gauge that way. Sources
  // run under no lock of ours, so they may be slow (e.g. ask the store).
  void AddGaugeSource(std::function<void(std::string* out)> source);
  static void AppendGauge(std::string* out, std::string_view name, std::string_view help,
                          double value);
  // The same for a counter (a total that only grows while the process runs).
  static void AppendCounter(std::string* out, std::string_view name, std::string_view help,
                            double value);

  std::string Render() const;

 private:
  struct Op;  // per-operation counters

  static void AppendSample(std::string* out, std::string_view name, std::string_view help,
                           std::string_view type, double value);
  // Finds or creates the counters of `op`; the pointer stays valid.
  Op* GetOp(std::string_view op);

  mutable std::shared_mutex mu_;                   // guards ops_ (the map, not the counters)
  std::map<std::string, std::unique_ptr<Op>, std::less<>> ops_;
  std::atomic<uint64_t> bytes_received_{0}, bytes_sent_{0};
  std::atomic<int64_t> in_flight_{0};
  mutable std::mutex sources_mu_;
  std::vector<std::shared_ptr<std::function<void(std::string*)>>> sources_;
};

}  // namespace as
