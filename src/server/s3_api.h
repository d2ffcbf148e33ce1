// The HTTP API of the server: S3 (path-style: /bucket/key) and the
// content-addressed API (/v1/blobs/<digest>, /v1/manifests/<digest>), plus
// /healthz and /metrics. Every S3 and /v1 request is authenticated with
// AWS Signature V4 against the tenants' access keys; the key's tenant scopes
// everything the request can see. /healthz and /metrics carry no tenant data
// and answer without credentials (so load balancers and Prometheus can ask).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "artifact_store/store.h"
#include "http/http_server.h"
#include "http/metrics.h"

namespace as {

struct S3ApiOptions {
  std::string region = "us-east-1";  // what GetBucketLocation says
  uint64_t max_put_bytes = 5ull << 30;  // PutObject / UploadPart limit (S3's 5 GiB)
  // Virtual-hosted style: a request whose Host is "<bucket>.<domain>" (any
  // case, any port) for one of these names the bucket there and the key in
  // its path. Other requests are path-style ("/bucket/key").
  std::vector<std::string> domains;
};

class S3Api {
 public:
  S3Api(Store* store, Metrics* metrics, S3ApiOptions options = {});
  // The HttpServer handler.
  void Handle(const HttpRequest& req, RequestBody& body, ResponseWriter& w);
  // Adds the store's figures (dedup and compression ratios, bytes) to metrics.
  static void AddStoreGauges(Store* store, Metrics* metrics);

 private:
  // Null when there is no such key. Shared, not copied: every request asks.
  Result<std::shared_ptr<const AccessKey>> FindKey(const std::string& id);

  Store* store_;
  Metrics* metrics_;
  S3ApiOptions options_;
  std::mutex keys_mu_;
  // Found keys (immutable once made).
  std::unordered_map<std::string, std::shared_ptr<const AccessKey>> keys_;
  // Signing keys by "<key id>/<scope>": deriving one is four HMACs, and a
  // client signs with the same one all day. Cleared when it grows large.
  std::unordered_map<std::string, std::array<uint8_t, 32>> signing_keys_;
};

}  // namespace as
