#include "server/router.h"

#include <string_view>

namespace as {

void Router::Handle(const HttpRequest& req, RequestBody& body, ResponseWriter& w) {
  std::string_view path(req.target);
  path = path.substr(0, path.find('?'));
  if (req.method == "GET" && path == "/healthz") {
    // What a load balancer asks: can this server serve? Its metadata and
    // its packs must answer (one query, one HEAD).
    w.SetOperation("Health");
    Status h = store_ ? store_->CheckHealth() : Status::OK();
    if (!h.ok()) return w.Send(503, "unavailable: " + h.ToString() + "\n", "text/plain").IgnoreError();
    return w.Send(200, "ok\n", "text/plain").IgnoreError();
  }
  if (req.method == "GET" && path == "/metrics" && metrics_) {
    w.SetOperation("Metrics");
    return w.Send(200, metrics_->Render(), Metrics::kContentType).IgnoreError();
  }
  if (oci_ && (path == "/v2" || path.substr(0, 4) == "/v2/") && !s3_->VirtualHosted(req)) {
    return oci_->Handle(req, body, w);
  }
  s3_->Handle(req, body, w);
}

}  // namespace as
