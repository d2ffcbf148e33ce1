// The store's own S3 client: the few object operations a pack store needs,
// signed with our SigV4 (s3/sigv4.h, tested against AWS's vectors) and sent
// with libcurl (connection reuse, TLS, Debian's libcurl4-openssl-dev).
//
// Why not CURLOPT_AWS_SIGV4 or libs3: we choose exactly which headers are
// signed (Content-MD5 always, with UNSIGNED-PAYLOAD: the MD5 already guards
// the body and hashing every part twice costs a core), and the signer is
// the one the server side already tests.
//
// Errors: a server that cannot be reached, or answers 500/502/503/504 after
// a few quick retries (RGW answers 503 while it starts), is Unavailable,
// naming the endpoint; 404 is NotFound naming the object; 403 is
// FailedPrecondition (wrong credentials or rights); BadDigest and other
// 4xx are Corruption or InvalidArgument with S3's code and message. Every
// error names bucket/key. Thread-safe: each call takes an idle connection.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "s3/sigv4.h"

namespace as {

using Md5Bytes = std::array<uint8_t, 16>;

struct S3Endpoint {
  std::string url;  // "http://127.0.0.1:8000" or "https://s3.example.net"
  s3::SigV4Credentials creds;
};

// The store's S3 credentials: from `file` when the store names one (AWS's
// INI form, its [default] section; it must not be readable by
// group or others), else AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. A file
// the store was configured with wins over the environment, which may hold
// keys meant for something else.
// AWS_REGION / AWS_DEFAULT_REGION set the region (us-east-1 otherwise).
Result<s3::SigV4Credentials> LoadS3Credentials(const std::string& file);

struct S3ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t mtime = 0;  // unix seconds
  std::string etag;   // quotes removed
};

struct S3Upload {
  std::string key, upload_id;
  int64_t initiated = 0;
};

class S3Client {
 public:
  static Result<std::unique_ptr<S3Client>> Create(S3Endpoint endpoint);
  ~S3Client();

  const std::string& url() const { return ep_.url; }

  Status HeadBucket(const std::string& bucket);
  Status CreateBucket(const std::string& bucket);
  // One PUT with Content-MD5 (`md5`: of the n bytes); returns the ETag
  // (quotes removed).
  Result<std::string> PutObject(const std::string& bucket, const std::string& key,
                                const void* data, size_t n, const Md5Bytes& md5);
  // The whole object; NotFound when it is not there.
  Result<std::string> GetObject(const std::string& bucket, const std::string& key);
  // Exactly n bytes at offset into out; fewer is Corruption naming the object.
  Status GetRange(const std::string& bucket, const std::string& key, uint64_t offset, size_t n,
                  void* out);
  // Size and ETag (key and mtime left empty).
  Result<S3ObjectInfo> HeadObject(const std::string& bucket, const std::string& key);
  // A missing object is not an error (S3 says 204 either way).
  Status DeleteObject(const std::string& bucket, const std::string& key);
  Status ListObjects(const std::string& bucket, const std::string& prefix,
                     const std::function<void(const S3ObjectInfo&)>& each);

  Result<std::string> CreateMultipartUpload(const std::string& bucket, const std::string& key);
  // Part `number` (1..10000) with Content-MD5; returns its ETag.
  Result<std::string> UploadPart(const std::string& bucket, const std::string& key,
                                 const std::string& upload_id, int number, const void* data,
                                 size_t n, const Md5Bytes& md5);
  // Parts 1..md5s.size() in order, each named by its ETag (the hex of its
  // MD5, as S3 gives a part); returns the completed object's ETag as the
  // response says it (RGW 16 leaves it empty: HeadObject then).
  Result<std::string> CompleteMultipartUpload(const std::string& bucket, const std::string& key,
                                              const std::string& upload_id,
                                              const std::vector<Md5Bytes>& md5s);
  Status AbortMultipartUpload(const std::string& bucket, const std::string& key,
                              const std::string& upload_id);
  Status ListMultipartUploads(const std::string& bucket, const std::string& prefix,
                              const std::function<void(const S3Upload&)>& each);

  struct Response {
    long status = 0;
    std::string body;      // unless the request said `into`
    size_t received = 0;   // bytes placed in the request's `into`
    std::vector<std::pair<std::string, std::string>> headers;  // names lowercase
    std::string Header(std::string_view name) const;
  };
  struct Request {
    std::string method{}, bucket{}, key{};
    std::string query{};  // already encoded, "a=b&c=d"
    std::vector<s3::HttpHeader> headers{};
    const void* body = nullptr;
    size_t body_len = 0;
    void* into = nullptr;  // GET: the body goes here (at most into_len bytes)
    size_t into_len = 0;
  };
  // Signs and sends one request (with the retries above); a 2xx (or 404 when
  // `not_found_ok`) is returned, anything else is the error it maps to.
  Result<Response> Call(const Request& r, bool not_found_ok = false);

 private:
  explicit S3Client(S3Endpoint ep, std::string host) : ep_(std::move(ep)), host_(std::move(host)) {}
  Result<Response> CallOnce(const Request& r, void* curl, bool* retry);
  void* TakeHandle();
  void GiveBack(void* h);

  S3Endpoint ep_;
  std::string host_;  // host[:port] as the Host header says it
  std::mutex mu_;
  std::vector<void*> idle_;  // CURL*
};


}  // namespace as
