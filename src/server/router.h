// The server's one HTTP handler: each request goes to its API by path.
//   GET /healthz, GET /metrics   answered here, without credentials (they
//                                hold no tenant data: load balancers and
//                                Prometheus ask)
//   /v2, /v2/...                 the OCI Distribution API (oci_api.h)
//   everything else              S3 and the content-addressed /v1 API
//                                (s3_api.h), virtual-hosted-style requests
//                                included whatever their path
// No S3 path-style request can start with /v2/: a bucket name has at least
// three characters.
#pragma once

#include "artifact_store/store.h"
#include "http/http_server.h"
#include "http/metrics.h"
#include "server/oci_api.h"
#include "server/s3_api.h"

namespace as {

class Router {
 public:
  // Each may be null except s3 (no metrics: /metrics goes to S3 like any
  // path; no OCI API: /v2 too).
  Router(Store* store, Metrics* metrics, S3Api* s3, OciApi* oci)
      : store_(store), metrics_(metrics), s3_(s3), oci_(oci) {}
  void Handle(const HttpRequest& req, RequestBody& body, ResponseWriter& w);

 private:
  Store* store_;
  Metrics* metrics_;
  S3Api* s3_;
  OciApi* oci_;
};

}  // namespace as
