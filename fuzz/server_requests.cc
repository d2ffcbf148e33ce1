// The whole request path: bytes a client sends, through the HTTP server, the
// S3 and content APIs and the store. A signature is something a fuzzer cannot
// forge, so the harness signs each request as a client holding a key would:
// what is fuzzed is everything an authenticated client controls.
//
// Property: every request gets one well-formed HTTP response, and never a 5xx
// other than 501 NotImplemented (a client's bytes are never the server's
// fault), within 30 seconds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "artifact_store/store.h"
#include "fuzz/fuzz.h"
#include "s3/sigv4.h"
#include "http/http_server.h"
#include "http/metrics.h"
#include "server/s3_api.h"

namespace as::fuzz {
namespace {

// One request over a new connection ("Connection: close"); the whole reply.
std::string RoundTrip(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) FuzzFail("socket: " + std::string(strerror(errno)));
  timeval tv{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    // libFuzzer's SIGALRM (its -timeout clock) interrupts blocking calls: an
    // interrupted connect goes on by itself; wait for it to finish.
    int err = errno;
    if (err == EINTR) {
      pollfd p{fd, POLLOUT, 0};
      while (poll(&p, 1, 30000) < 0 && errno == EINTR) {
      }
      socklen_t len = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
    if (err != 0) {
      close(fd);
      FuzzFail("connect: " + std::string(strerror(err)));
    }
  }
  // The server may answer (and close) before taking the whole body: a send
  // error after that is the client's problem, not the server's.
  for (size_t off = 0; off < request.size();) {
    ssize_t n = send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string reply;
  char buf[16384];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      close(fd);
      FuzzFail("no complete reply within 30 s; got " + std::to_string(reply.size()) + " bytes");
    }
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return reply;
}

struct Fixture {
  std::string dir;
  std::unique_ptr<Store> store;
  Metrics metrics;
  std::unique_ptr<S3Api> api;
  std::unique_ptr<HttpServer> server;
  s3::SigV4Credentials alice, bob;
  std::string upload_id;  // of /bkt/up, put in targets for "@U"

  std::string Request(const std::string& method, const std::string& target,
                      std::vector<s3::HttpHeader> headers, const std::string& body,
                      const s3::SigV4Credentials& who, bool unsigned_payload) const {
    const int64_t now = std::time(nullptr);
    const std::string payload_hash = unsigned_payload ? "UNSIGNED-PAYLOAD" : s3::Sha256Hex(body);
    headers.insert(headers.begin(), {{"host", "127.0.0.1:" + std::to_string(server->port())},
                                     {"x-amz-date", s3::FormatAmzDate(now)},
                                     {"x-amz-content-sha256", payload_hash}});
    std::string auth = s3::SignSigV4({method, target, headers}, payload_hash, who, now);
    std::string req = method + " " + target + " HTTP/1.1\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    req += "Authorization: " + auth +
           "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           body;
    return req;
  }
};

Fixture* Setup() {
  auto* f = new Fixture;
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/as-fuzz-server-XXXXXX";
  if (!mkdtemp(tmpl.data())) FuzzFail("mkdtemp " + tmpl + ": " + strerror(errno));
  f->dir = tmpl;
  StoreOptions o;
  o.create_if_missing = true;
  o.chunker = ChunkerParams{64, 256, 1024, 1};  // small chunks: fuzz inputs are small
  auto s = Store::Open(f->dir, o);
  if (!s.ok()) FuzzFail("store: " + s.status().ToString());
  f->store = std::move(s).value();
  auto a = f->store->AddAccessKey("alice");
  auto b = f->store->AddAccessKey("bob");
  if (!a.ok() || !b.ok()) FuzzFail("keys");
  f->alice = {a->id, a->secret, "us-east-1"};
  f->bob = {b->id, b->secret, "us-east-1"};
  f->api = std::make_unique<S3Api>(f->store.get());
  HttpServerOptions ho;
  ho.listen = "127.0.0.1:0";
  ho.threads = 4;
  ho.idle_timeout_seconds = 5;
  auto srv = HttpServer::Start(
      ho, [f](const HttpRequest& q, RequestBody& b, ResponseWriter& w) { f->api->Handle(q, b, w); },
      &f->metrics);
  if (!srv.ok()) FuzzFail("server: " + srv.status().ToString());
  f->server = std::move(srv).value();
  // Something to read, copy, range over and list: a bucket each, a few
  // objects (one of several chunks), an upload in progress.
  const int port = f->server->port();
  std::string big;
  for (int i = 0; i < 300; i++) big += "line " + std::to_string(i * 7919 % 1000) + "\n";
  for (const auto& [m, t, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{{"PUT", "/bkt", ""},
                                                                      {"PUT", "/bkt/k", "hello"},
                                                                      {"PUT", "/bkt/dir/x", "x"},
                                                                      {"PUT", "/bkt/big", big}}) {
    (void)RoundTrip(port, f->Request(m, t, {}, body, f->alice, false));
  }
  // Upload ids are random: the fuzzer names this one "@U".
  std::string init =
      RoundTrip(port, f->Request("POST", "/bkt/up?uploads", {}, "", f->alice, false));
  size_t id_at = init.find("<UploadId>"), id_end = init.find("</UploadId>");
  if (id_at == std::string::npos || id_end == std::string::npos) FuzzFail("no upload: " + init);
  f->upload_id = init.substr(id_at + 10, id_end - id_at - 10);
  (void)RoundTrip(port, f->Request("PUT", "/bobs", {}, "", f->bob, false));
  return f;
}

const char* const kMethods[] = {"GET", "PUT", "HEAD", "POST", "DELETE"};

bool IsValue(std::string_view v) {
  return std::all_of(v.begin(), v.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u >= 0x20 || u == '\t') && u != 0x7f;
  });
}
// Headers the harness writes itself (framing, auth) are not the fuzzer's.
bool Framing(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  return name == "host" || name == "authorization" || name == "x-amz-date" ||
         name == "x-amz-content-sha256" || name == "content-length" ||
         name == "transfer-encoding" || name == "connection" || name == "expect";
}

}  // namespace

// Input: flags, target line ("@U" stands for the id of an upload in
// progress on /bkt/up), "name: value" lines up to an empty line, body.
void FuzzServer(const uint8_t* data, size_t size) {
  static Fixture* f = Setup();
  FuzzInput in(data, size);
  const uint8_t flags = in.Byte();
  std::string target(in.Until('\n'));
  if (target.empty() || target[0] != '/') target.insert(target.begin(), '/');
  for (char& c : target) {
    if (c <= 0x20 || c >= 0x7f) c = '_';
  }
  for (size_t at; (at = target.find("@U")) != std::string::npos;) {
    target.replace(at, 2, f->upload_id);
  }
  std::vector<s3::HttpHeader> headers;
  while (!in.empty()) {
    std::string_view line = in.Until('\n');
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (IsHeaderName(name) && IsValue(value) && !Framing(name)) headers.emplace_back(name, value);
  }
  const std::string body(in.Rest());
  const std::string method = kMethods[flags % 5];
  const std::string req =
      f->Request(method, target, headers, body, (flags & 8) ? f->bob : f->alice, flags & 16);
  const std::string reply = RoundTrip(f->server->port(), req);
  if (reply.rfind("HTTP/1.1 ", 0) != 0 || reply.size() < 12) {
    FuzzFail("not an HTTP reply to " + method + " " + target + ": " + reply.substr(0, 200));
  }
  const int status = std::atoi(reply.substr(9, 3).c_str());
  if (std::getenv("AS_FUZZ_VERBOSE")) {
    std::fprintf(stderr, "%s %s -> %s\n", method.c_str(), target.c_str(),
                 reply.substr(0, reply.find('\r')).c_str());
  }
  // 501 NotImplemented is S3's answer for what is not offered (ACLs, tagging).
  if (status < 100 || status > 599 || (status >= 500 && status != 501)) {
    FuzzFail("status " + std::to_string(status) + " for " + method + " " + target + ": " +
             reply.substr(0, 600));
  }
}

}  // namespace as::fuzz
