// The S3 API in process over a real socket, with requests signed by our own
// SigV4 signer: the fixture the S3 API tests share.
#pragma once

#include <gtest/gtest.h>

#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "artifact_store/store.h"
#include "hash/sha.h"
#include "http_test_client.h"
#include "s3/sigv4.h"
#include "http/http_server.h"
#include "http/metrics.h"
#include "server/s3_api.h"
#include "test_util.h"
#include "store_fixture.h"

namespace as {

using as::testing::Client;
using as::testing::Response;

class S3ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = as::testing::TempDir("s3api");
    StoreOptions o;
    o.create_if_missing = true;
    o.chunker = ChunkerParams{1024, 4096, 16384, 1};
    auto s = as::testing::OpenStore(dir_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    auto a = store_->AddAccessKey("alice");
    auto b = store_->AddAccessKey("bob");
    ASSERT_TRUE(a.ok() && b.ok());
    alice_ = {a->id, a->secret, "us-east-1"};
    bob_ = {b->id, b->secret, "us-east-1"};
    S3ApiOptions api_options;
    api_options.domains = {"s3.test"};  // virtual-hosted style, when a test sends that Host
    api_ = std::make_unique<S3Api>(store_.get(), api_options);
    HttpServerOptions ho;
    ho.listen = "127.0.0.1:0";
    ho.threads = 4;
    auto srv = HttpServer::Start(
        ho,
        [this](const HttpRequest& q, RequestBody& b, ResponseWriter& w) { api_->Handle(q, b, w); },
        &metrics_);
    ASSERT_TRUE(srv.ok()) << srv.status().ToString();
    server_ = std::move(srv).value();
  }
  void TearDown() override { server_.reset(); }

  // Sends one signed request and reads the response. `payload_hash` empty =
  // the SHA-256 of body.
  Response Do(const std::string& method, const std::string& target, std::string body = "",
              std::vector<s3::HttpHeader> extra = {}, const s3::SigV4Credentials* who = nullptr,
              std::string payload_hash = "") {
    const s3::SigV4Credentials& c = who ? *who : alice_;
    const int64_t now = std::time(nullptr);
    if (payload_hash.empty()) payload_hash = s3::Sha256Hex(body);
    std::vector<s3::HttpHeader> h = {{"host", host_.empty() ? HostPort() : host_},
                                     {"x-amz-date", s3::FormatAmzDate(now)},
                                     {"x-amz-content-sha256", payload_hash}};
    for (auto& e : extra) h.push_back(e);
    s3::HttpRequestView view{method, target, h};
    last_auth_ = s3::SignSigV4(view, payload_hash, c, now);
    last_date_ = s3::FormatAmzDate(now);
    if (body_for_auth_) body = body_for_auth_(last_auth_);
    h.emplace_back("Authorization", last_auth_);
    return Send(method, target, h, body);
  }

  Response Send(const std::string& method, const std::string& target,
                const std::vector<s3::HttpHeader>& h, const std::string& body) {
    std::string req = method + " " + target + " HTTP/1.1\r\n";
    for (const auto& [k, v] : h) req += k + ": " + v + "\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    Client cl(server_->port());
    EXPECT_TRUE(cl.Send(req));
    return cl.Read(method == "HEAD");
  }

  std::string HostPort() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  // The Host header Do sends; empty = HostPort().
  std::string host_;
  // Set to build the body from the Authorization value (aws-chunked seeds
  // its chunk signatures with the request's signature).
  std::function<std::string(const std::string& auth)> body_for_auth_;
  std::string last_auth_, last_date_;

  std::string dir_;
  std::unique_ptr<Store> store_;
  Metrics metrics_;
  std::unique_ptr<S3Api> api_;
  std::unique_ptr<HttpServer> server_;
  s3::SigV4Credentials alice_, bob_;
};

inline std::string RandomString(size_t n, uint64_t seed) {
  auto b = as::testing::RandomBytes(n, seed);
  return std::string(b.begin(), b.end());
}

inline std::string Md5Hex(const std::string& s) {
  auto d = Md5(s.data(), s.size());
  static const char* k = "0123456789abcdef";
  std::string out;
  for (uint8_t b : d) {
    out += k[b >> 4];
    out += k[b & 15];
  }
  return out;
}

}  // namespace as
