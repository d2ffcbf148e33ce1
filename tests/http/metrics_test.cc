// The metrics registry renders valid Prometheus text (format 0.0.4) and
// counts correctly when many threads record at once.
#include "http/metrics.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>
#include <vector>

namespace as {
namespace {

bool Contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(Metrics, RendersCountersHistogramsAndGauges) {
  Metrics m;
  m.Record("GetObject", 200, 0.0002, 0, 100);    // first bucket
  m.Record("GetObject", 200, 0.003, 0, 50);      // le=0.005
  m.Record("GetObject", 404, 100.0, 0, 0);       // +Inf only
  m.Record("PutObject", 200, 0.0005, 1000, 0);   // on a bound: counted in it
  m.AddGaugeSource([](std::string* out) {
    Metrics::AppendGauge(out, "as_store_dedup_ratio", "Logical over unique bytes.", 2.5);
    Metrics::AppendCounter(out, "as_gc_runs_total", "Background gc runs.", 3);
  });
  std::string t = m.Render();

  EXPECT_TRUE(Contains(t, "# TYPE as_http_requests_total counter\n"));
  EXPECT_TRUE(Contains(t, "# TYPE as_gc_runs_total counter\nas_gc_runs_total 3\n"));
  EXPECT_TRUE(Contains(t, "as_http_requests_total{op=\"GetObject\",code=\"200\"} 2\n"));
  EXPECT_TRUE(Contains(t, "as_http_requests_total{op=\"GetObject\",code=\"404\"} 1\n"));
  EXPECT_TRUE(Contains(t, "as_http_requests_total{op=\"PutObject\",code=\"200\"} 1\n"));
  EXPECT_TRUE(Contains(t, "# TYPE as_http_request_duration_seconds histogram\n"));
  EXPECT_TRUE(Contains(t, "as_http_request_duration_seconds_bucket{op=\"GetObject\",le=\"0.0005\"} 1\n"));
  EXPECT_TRUE(Contains(t, "as_http_request_duration_seconds_bucket{op=\"GetObject\",le=\"0.0025\"} 1\n"));
  EXPECT_TRUE(Contains(t, "as_http_request_duration_seconds_bucket{op=\"GetObject\",le=\"0.005\"} 2\n"));
  EXPECT_TRUE(Contains(t, "as_http_request_duration_seconds_bucket{op=\"GetObject\",le=\"30\"} 2\n"));
  EXPECT_TRUE(Contains(t, "as_http_request_duration_seconds_bucket{op=\"GetObject\",le=\"+Inf\"} 3\n"));
  EXPECT_TRUE(Contains(t, "as_http_request_duration_seconds_count{op=\"GetObject\"} 3\n"));
  EXPECT_TRUE(Contains(t, "as_http_request_duration_seconds_bucket{op=\"PutObject\",le=\"0.0005\"} 1\n"));
  EXPECT_TRUE(Contains(t, "as_http_bytes_received_total 1000\n"));
  EXPECT_TRUE(Contains(t, "as_http_bytes_sent_total 150\n"));
  EXPECT_TRUE(Contains(t, "as_http_requests_in_flight 0\n"));
  EXPECT_TRUE(Contains(t, "# TYPE as_store_dedup_ratio gauge\nas_store_dedup_ratio 2.5\n"));

  // Every line is a comment or "name{labels} value"; every sample's metric
  // family was announced by a TYPE line before it.
  std::istringstream in(t);
  std::string line, last_type;
  while (std::getline(in, line)) {
    ASSERT_FALSE(line.empty());
    if (line.rfind("# TYPE ", 0) == 0) {
      last_type = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line[0] == '#') continue;
    EXPECT_EQ(line.rfind(last_type, 0), 0u) << line;
    size_t sp = line.rfind(' ');
    ASSERT_NE(sp, std::string::npos) << line;
    std::string value = line.substr(sp + 1);
    EXPECT_FALSE(value.empty()) << line;
  }
  EXPECT_EQ(t.back(), '\n');
}

TEST(Metrics, EscapesLabelValuesAndClampsCodes) {
  Metrics m;
  m.Record("a\"b\\c\nd", 200, 0.01, 0, 0);
  m.Record("x", 999, 0.01, 0, 0);
  std::string t = m.Render();
  EXPECT_TRUE(Contains(t, "{op=\"a\\\"b\\\\c\\nd\",code=\"200\"} 1\n")) << t;
  EXPECT_TRUE(Contains(t, "{op=\"x\",code=\"0\"} 1\n"));
}

TEST(Metrics, CountsFromManyThreads) {
  Metrics m;
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; t++) {
    ts.emplace_back([&m, t] {
      for (int i = 0; i < 10000; i++) {
        m.Record(t % 2 ? "GetObject" : "PutObject", 200, 0.001, 1, 2);
      }
    });
  }
  // Scrapes while recording must not crash or block forever.
  for (int i = 0; i < 20; i++) m.Render();
  for (auto& t : ts) t.join();
  std::string t = m.Render();
  EXPECT_TRUE(Contains(t, "as_http_requests_total{op=\"GetObject\",code=\"200\"} 40000\n"));
  EXPECT_TRUE(Contains(t, "as_http_requests_total{op=\"PutObject\",code=\"200\"} 40000\n"));
  EXPECT_TRUE(Contains(t, "as_http_bytes_received_total 80000\n"));
  EXPECT_TRUE(Contains(t, "as_http_bytes_sent_total 160000\n"));
  EXPECT_TRUE(Contains(t, "as_http_request_duration_seconds_count{op=\"GetObject\"} 40000\n"));
}

}  // namespace
}  // namespace as
