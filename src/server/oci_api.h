// The OCI Distribution API (distribution-spec v1.1, with Docker's registry
// v2 headers) under /v2, on the same port as S3 (docs/oci.md).
//
// Built so far: the version check (GET/HEAD /v2/: 200 with
// Docker-Distribution-API-Version: registry/2.0, what clients probe first)
// and HTTP Basic authentication with a tenant's access key id and secret
// (what `docker login`, `podman login` and `skopeo --creds` send): without
// credentials, or with wrong ones, 401 with `WWW-Authenticate: Basic` and
// the spec's JSON error UNAUTHORIZED. Every other /v2 endpoint answers 405
// UNSUPPORTED, saying it is not built yet; nothing is stored.
#pragma once

#include <string>

#include "artifact_store/store.h"
#include "http/http_server.h"
#include "server/access_keys.h"

namespace as {

class OciApi {
 public:
  explicit OciApi(Store* store) : keys_(store) {}
  // The HttpServer handler for /v2 and below.
  void Handle(const HttpRequest& req, RequestBody& body, ResponseWriter& w);

  // {"errors":[{"code":CODE,"message":MESSAGE}]}, the spec's error body.
  static std::string ErrorJson(const std::string& code, const std::string& message);

 private:
  AccessKeys keys_;
};

}  // namespace as
