// The S3 API of the server (path-style: /bucket/key, and virtual-hosted)
// and the content-addressed API (/v1/blobs/<digest>, /v1/manifests/<digest>);
// router.h gives it every request that is not /healthz, /metrics or OCI's
// /v2. Every request is authenticated with AWS Signature V4 against the
// tenants' access keys; the key's tenant scopes everything it can see.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "artifact_store/store.h"
#include "server/access_keys.h"
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
  explicit S3Api(Store* store, S3ApiOptions options = {});
  // The handler of every request the router (router.h) gives it.
  void Handle(const HttpRequest& req, RequestBody& body, ResponseWriter& w);
  // The request names its bucket in its Host (a --domain): S3's whatever
  // its path.
  bool VirtualHosted(const HttpRequest& req) const;
  // Adds the store's figures (dedup and compression ratios, bytes) to metrics.
  static void AddStoreGauges(Store* store, Metrics* metrics);

 private:
  Store* store_;
  S3ApiOptions options_;
  AccessKeys keys_;
  std::mutex signing_mu_;
  // Signing keys by "<key id>/<scope>": deriving one is four HMACs, and a
  // client signs with the same one all day. Cleared when it grows large.
  std::unordered_map<std::string, std::array<uint8_t, 32>> signing_keys_;
};

}  // namespace as
