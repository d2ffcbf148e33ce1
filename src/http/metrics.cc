#include "http/metrics.h"

#include <charconv>
#include <cmath>

namespace as {

namespace {

constexpr int kMaxCode = 600;  // status codes 100..599; slot 0 for anything else

// Shortest text that reads back as the same double, in %g style (0.0005,
// not 5e-04, as other exporters write bucket bounds); Prometheus spells
// infinities and NaN its own way.
void AppendDouble(std::string* out, double v) {
  if (std::isnan(v)) {
    *out += "NaN";
  } else if (std::isinf(v)) {
    *out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general);
    out->append(buf, r.ptr);
  }
}

void AppendUint(std::string* out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

// Label values escape backslash, double quote and newline (format 0.0.4).
void AppendLabelValue(std::string* out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '"') {
      *out += "\\\"";
    } else if (c == '\n') {
      *out += "\\n";
    } else {
      *out += c;
    }
  }
}

}  // namespace

struct Metrics::Op {
  std::atomic<uint64_t> codes[kMaxCode] = {};
  std::atomic<uint64_t> buckets[kNumBuckets + 1] = {};  // per bucket, not cumulative; last = +Inf
  std::atomic<uint64_t> sum_ns{0};
  std::atomic<uint64_t> count{0};
};

Metrics::Metrics() = default;
Metrics::~Metrics() = default;

Metrics::Op* Metrics::GetOp(std::string_view op) {
  {
    std::shared_lock lock(mu_);
    auto it = ops_.find(op);
    if (it != ops_.end()) return it->second.get();
  }
  std::unique_lock lock(mu_);
  auto it = ops_.find(op);
  if (it == ops_.end()) it = ops_.emplace(std::string(op), std::make_unique<Op>()).first;
  return it->second.get();
}

void Metrics::Record(std::string_view op, int code, double seconds, uint64_t bytes_received,
                     uint64_t bytes_sent) {
  Op* o = GetOp(op);
  if (code < 100 || code >= kMaxCode) code = 0;
  o->codes[code].fetch_add(1, std::memory_order_relaxed);
  size_t b = 0;
  while (b < kNumBuckets && seconds > kBuckets[b]) b++;
  o->buckets[b].fetch_add(1, std::memory_order_relaxed);
  if (seconds > 0) {
    o->sum_ns.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
  o->count.fetch_add(1, std::memory_order_relaxed);
  if (bytes_received) bytes_received_.fetch_add(bytes_received, std::memory_order_relaxed);
  if (bytes_sent) bytes_sent_.fetch_add(bytes_sent, std::memory_order_relaxed);
}

void Metrics::AddGaugeSource(std::function<void(std::string* out)> source) {
  std::lock_guard lock(sources_mu_);
  sources_.push_back(std::make_shared<std::function<void(std::string*)>>(std::move(source)));
}

void Metrics::AppendGauge(std::string* out, std::string_view name, std::string_view help,
                          double value) {
  AppendSample(out, name, help, "gauge", value);
}

void Metrics::AppendCounter(std::string* out, std::string_view name, std::string_view help,
                            double value) {
  AppendSample(out, name, help, "counter", value);
}

void Metrics::AppendSample(std::string* out, std::string_view name, std::string_view help,
                           std::string_view type, double value) {
  *out += "# HELP ";
  *out += name;
  *out += ' ';
  *out += help;
  *out += "\n# TYPE ";
  *out += name;
  *out += ' ';
  *out += type;
  *out += '\n';
  *out += name;
  *out += ' ';
  AppendDouble(out, value);
  *out += '\n';
}

std::string Metrics::Render() const {
  std::string out;
  out.reserve(4096);
  // Copy the op pointers so the lock is not held while formatting; Ops are
  // never removed, so the pointers stay valid.
  std::vector<std::pair<std::string, const Op*>> ops;
  {
    std::shared_lock lock(mu_);
    ops.reserve(ops_.size());
    for (const auto& [name, op] : ops_) ops.emplace_back(name, op.get());
  }

  out += "# HELP as_http_requests_total HTTP requests by operation and status code.\n";
  out += "# TYPE as_http_requests_total counter\n";
  for (const auto& [name, op] : ops) {
    for (int c = 0; c < kMaxCode; c++) {
      uint64_t n = op->codes[c].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "as_http_requests_total{op=\"";
      AppendLabelValue(&out, name);
      out += "\",code=\"";
      AppendUint(&out, static_cast<uint64_t>(c));
      out += "\"} ";
      AppendUint(&out, n);
      out += '\n';
    }
  }

  out += "# HELP as_http_request_duration_seconds Time from request header to response end.\n";
  out += "# TYPE as_http_request_duration_seconds histogram\n";
  for (const auto& [name, op] : ops) {
    // Buckets are read one by one while requests land, so make the count the
    // cumulative total: the +Inf bucket and _count must agree in a scrape.
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kNumBuckets; b++) {
      cumulative += op->buckets[b].load(std::memory_order_relaxed);
      out += "as_http_request_duration_seconds_bucket{op=\"";
      AppendLabelValue(&out, name);
      out += "\",le=\"";
      AppendDouble(&out, b < kNumBuckets ? kBuckets[b] : INFINITY);
      out += "\"} ";
      AppendUint(&out, cumulative);
      out += '\n';
    }
    out += "as_http_request_duration_seconds_sum{op=\"";
    AppendLabelValue(&out, name);
    out += "\"} ";
    AppendDouble(&out, double(op->sum_ns.load(std::memory_order_relaxed)) / 1e9);
    out += "\nas_http_request_duration_seconds_count{op=\"";
    AppendLabelValue(&out, name);
    out += "\"} ";
    AppendUint(&out, cumulative);
    out += '\n';
  }

  out += "# HELP as_http_bytes_received_total Request body bytes received.\n";
  out += "# TYPE as_http_bytes_received_total counter\nas_http_bytes_received_total ";
  AppendUint(&out, bytes_received_.load(std::memory_order_relaxed));
  out += "\n# HELP as_http_bytes_sent_total Response body bytes sent.\n";
  out += "# TYPE as_http_bytes_sent_total counter\nas_http_bytes_sent_total ";
  AppendUint(&out, bytes_sent_.load(std::memory_order_relaxed));
  out += '\n';
  AppendGauge(&out, "as_http_requests_in_flight", "Requests being served now.",
              double(in_flight_.load(std::memory_order_relaxed)));

  std::vector<std::shared_ptr<std::function<void(std::string*)>>> sources;
  {
    std::lock_guard lock(sources_mu_);
    sources = sources_;
  }
  for (const auto& s : sources) (*s)(&out);
  return out;
}

}  // namespace as
