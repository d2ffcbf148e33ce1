// The HTTP server against a raw socket client written here, so every byte on
// the wire is the test's choice: keep-alive, chunked and Content-Length
// uploads, 100-continue, streamed and truncated responses, limits, shutdown.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <thread>

#include "hash/blake3.h"
#include "server/metrics.h"

namespace as {
namespace {

using namespace std::chrono_literals;

// Deterministic bytes: the same (seed, offset) always gives the same byte.
void Pattern(uint64_t seed, uint64_t offset, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint64_t x = (offset + i) * 0x9E3779B97F4A7C15ull ^ seed;
    out[i] = uint8_t(x >> 56);
  }
}

std::string PatternString(uint64_t seed, size_t n) {
  std::string s(n, '\0');
  Pattern(seed, 0, reinterpret_cast<uint8_t*>(s.data()), n);
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

long RssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  uint64_t body_bytes = 0;
  bool complete = false;  // the framing said the body ended (not a cut)
  std::string Header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? "" : it->second;
  }
};

// A blocking client with its own read buffer.
class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{20, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  void Close() {
    ::close(fd_);
    fd_ = -1;
  }

  bool Send(std::string_view s) {
    while (!s.empty()) {
      ssize_t r = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (r <= 0) return false;
      s.remove_prefix(size_t(r));
    }
    return true;
  }

  // Reads until the buffer holds n bytes; false at end of stream.
  bool Fill(size_t n) {
    while (buf_.size() < n) {
      char tmp[65536];
      ssize_t r = ::recv(fd_, tmp, sizeof(tmp), 0);
      if (r <= 0) return false;
      buf_.append(tmp, size_t(r));
    }
    return true;
  }
  bool ReadLine(std::string* line) {
    for (;;) {
      size_t p = buf_.find("\r\n");
      if (p != std::string::npos) {
        *line = buf_.substr(0, p);
        buf_.erase(0, p + 2);
        return true;
      }
      if (!Fill(buf_.size() + 1)) return false;
    }
  }
  // Hands body bytes to `sink` (or keeps them in body when null).
  bool ReadBody(uint64_t n, Response* r, const std::function<void(const char*, size_t)>& sink) {
    while (n > 0) {
      if (buf_.empty() && !Fill(1)) return false;
      size_t k = size_t(std::min<uint64_t>(n, buf_.size()));
      if (sink) {
        sink(buf_.data(), k);
      } else {
        r->body.append(buf_, 0, k);
      }
      r->body_bytes += k;
      buf_.erase(0, k);
      n -= k;
    }
    return true;
  }

  // One response; `head` for a response to HEAD (no body whatever it says).
  Response Read(bool head = false,
                const std::function<void(const char*, size_t)>& sink = nullptr) {
    Response r;
    std::string line;
    if (!ReadLine(&line)) return r;
    if (line.size() < 12 || line.rfind("HTTP/1.", 0) != 0) return r;
    r.status = std::stoi(line.substr(9, 3));
    while (ReadLine(&line) && !line.empty()) {
      size_t c = line.find(':');
      std::string v = line.substr(c + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      r.headers[Lower(line.substr(0, c))] = v;
    }
    if (head || r.status == 100 || r.status == 204 || r.status == 304) {
      r.complete = true;
      return r;
    }
    if (Lower(r.Header("transfer-encoding")) == "chunked") {
      for (;;) {
        if (!ReadLine(&line)) return r;
        uint64_t n = std::stoull(line, nullptr, 16);
        if (n == 0) {
          while (ReadLine(&line) && !line.empty()) {
          }
          r.complete = true;
          return r;
        }
        if (!ReadBody(n, &r, sink) || !ReadLine(&line)) return r;
      }
    }
    if (!r.Header("content-length").empty()) {
      r.complete = ReadBody(std::stoull(r.Header("content-length")), &r, sink);
      return r;
    }
    while (Fill(buf_.size() + 1)) {
    }
    ReadBody(buf_.size(), &r, sink);
    r.complete = true;
    return r;
  }

  // True when the server closed: the next read sees end of stream.
  bool AtEof() {
    if (!buf_.empty()) return false;
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

std::string Hex(const Digest& d) { return d.ToString(); }

// A handler with a few routes the tests use.
//   /echo          reads the body in odd-sized pieces, answers "<bytes> <blake3>"
//   /reject        403 without reading the body
//   /stream?n=N    N generated bytes with a Content-Length, in 1 MiB writes
//   /chunked?n=N   N generated bytes, chunked
//   /short         promises 1000 bytes, writes 10
//   /slow          sleeps 500 ms, then answers
//   /silent        sends nothing
//   /id            answers its request id
//   /head          WriteHead(12345) (for HEAD)
struct TestServer {
  Metrics metrics;
  std::unique_ptr<HttpServer> server;
  std::atomic<int> reads_failed{0};
  std::string last_error;
  std::mutex mu;
  std::atomic<bool> slow_started{false};

  explicit TestServer(HttpServerOptions o = {}) {
    o.listen = "127.0.0.1:0";
    if (o.threads == 64) o.threads = 4;
    auto s = HttpServer::Start(
        o, [this](const HttpRequest& q, RequestBody& b, ResponseWriter& w) { Handle(q, b, w); },
        &metrics);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    server = std::move(*s);
  }
  int port() const { return server->port(); }

  static uint64_t Arg(const std::string& target) {
    size_t p = target.find("n=");
    return p == std::string::npos ? 0 : std::stoull(target.substr(p + 2));
  }

  void Handle(const HttpRequest& q, RequestBody& b, ResponseWriter& w) {
    const std::string& t = q.target;
    if (t == "/echo") {
      w.SetOperation("Echo");
      Blake3Hasher h;
      std::vector<uint8_t> buf(7919);
      size_t sizes[] = {1, 13, 4096, 7919, 3};
      for (int i = 0;; i++) {
        auto r = b.Read(buf.data(), sizes[i % 5]);
        if (!r.ok()) {
          reads_failed++;
          std::lock_guard l(mu);
          last_error = r.status().ToString();
          return;  // the server answers 500
        }
        if (*r == 0) break;
        h.Update(buf.data(), *r);
      }
      w.Send(200, std::to_string(b.bytes_read()) + " " + Hex(h.Finalize()), "text/plain")
          .IgnoreError();
    } else if (t == "/reject") {
      w.Send(403, "no", "text/plain").IgnoreError();
    } else if (t.rfind("/stream", 0) == 0 || t.rfind("/chunked", 0) == 0) {
      uint64_t n = Arg(t);
      bool chunked = t.rfind("/chunked", 0) == 0;
      if (!w.WriteHead(chunked ? std::nullopt : std::optional<uint64_t>(n)).ok()) return;
      std::vector<uint8_t> buf(1 << 20);
      for (uint64_t off = 0; off < n;) {
        size_t k = size_t(std::min<uint64_t>(buf.size(), n - off));
        Pattern(7, off, buf.data(), k);
        if (!w.Write(buf.data(), k).ok()) return;
        off += k;
      }
      w.Finish().IgnoreError();
    } else if (t == "/short") {
      w.WriteHead(1000).IgnoreError();
      w.Write(reinterpret_cast<const uint8_t*>("0123456789"), 10).IgnoreError();
    } else if (t == "/slow") {
      slow_started = true;
      std::this_thread::sleep_for(500ms);
      w.Send(200, "slow done", "text/plain").IgnoreError();
    } else if (t == "/silent") {
    } else if (t == "/id") {
      w.Send(200, q.request_id, "text/plain").IgnoreError();
    } else if (t == "/head") {
      w.SetHeader("ETag", "\"abc\"");
      w.WriteHead(12345).IgnoreError();
    } else {
      w.Send(404, "not found: " + q.method + " " + t, "text/plain").IgnoreError();
    }
  }
};

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  TestServer ts;
  Client c(ts.port());
  std::string ids;
  for (int i = 0; i < 5; i++) {
    ASSERT_TRUE(c.Send("GET /id HTTP/1.1\r\nHost: x\r\n\r\n"));
    Response r = c.Read();
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(r.body.size(), 16u);
    EXPECT_EQ(r.Header("x-amz-request-id"), r.body);
    EXPECT_EQ(ids.find(r.body), std::string::npos);  // a new id each time
    ids += r.body;
    EXPECT_FALSE(r.Header("date").empty());
    EXPECT_EQ(r.Header("server"), "artifact-store");
    EXPECT_EQ(r.Header("connection"), "");
  }
  // Pipelined: two requests in one packet, two responses in order.
  ASSERT_TRUE(c.Send("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(c.Read().body, "not found: GET /a");
  EXPECT_EQ(c.Read().body, "not found: GET /b");
}

TEST(HttpServer, Http10ClosesAndKeepAliveHeaderKeeps) {
  TestServer ts;
  {
    Client c(ts.port());
    ASSERT_TRUE(c.Send("GET /x HTTP/1.0\r\n\r\n"));
    Response r = c.Read();
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(Lower(r.Header("connection")), "close");
    EXPECT_TRUE(c.AtEof());
  }
  {
    Client c(ts.port());
    ASSERT_TRUE(c.Send("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    EXPECT_EQ(Lower(c.Read().Header("connection")), "keep-alive");
    ASSERT_TRUE(c.Send("GET /chunked?n=5000 HTTP/1.0\r\n\r\n"));
    Response r = c.Read();  // HTTP/1.0 cannot take chunks: close-delimited
    EXPECT_EQ(r.body_bytes, 5000u);
    EXPECT_EQ(r.body, PatternString(7, 5000));
  }
  {
    Client c(ts.port());
    ASSERT_TRUE(c.Send("GET /x HTTP/1.1\r\nConnection: close\r\n\r\n"));
    EXPECT_EQ(Lower(c.Read().Header("connection")), "close");
    EXPECT_TRUE(c.AtEof());
  }
}

TEST(HttpServer, ContentLengthBodyReadInOddSizes) {
  TestServer ts;
  Client c(ts.port());
  for (size_t n : {size_t(0), size_t(1), size_t(100000), size_t(3 << 20)}) {
    std::string body = PatternString(n, n);
    ASSERT_TRUE(c.Send("PUT /echo HTTP/1.1\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n"));
    ASSERT_TRUE(c.Send(body));
    Response r = c.Read();
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, std::to_string(n) + " " + Hex(Blake3(body.data(), body.size())));
  }
}

TEST(HttpServer, ChunkedUploadIsStreamedToTheHandler) {
  TestServer ts;
  Client c(ts.port());
  std::string body = PatternString(3, 1 << 20);
  std::string wire;
  size_t sizes[] = {1, 100, 65536, 17, 300000};
  for (size_t off = 0, i = 0; off < body.size(); i++) {
    size_t k = std::min(sizes[i % 5], body.size() - off);
    char line[32];
    std::snprintf(line, sizeof(line), "%zx;ext=1\r\n", k);
    wire += line;
    wire.append(body, off, k);
    wire += "\r\n";
    off += k;
  }
  wire += "0\r\nX-Trailer: t\r\n\r\n";
  ASSERT_TRUE(c.Send("PUT /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"));
  ASSERT_TRUE(c.Send(wire));
  Response r = c.Read();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, std::to_string(body.size()) + " " + Hex(Blake3(body.data(), body.size())));
  // The connection is still usable.
  ASSERT_TRUE(c.Send("GET /x HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(c.Read().status, 404);
}

TEST(HttpServer, MalformedChunkedBodyFailsTheRead) {
  TestServer ts;
  Client c(ts.port());
  ASSERT_TRUE(c.Send("PUT /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n"));
  Response r = c.Read();
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(ts.reads_failed.load(), 1);
  std::lock_guard l(ts.mu);
  EXPECT_NE(ts.last_error.find("chunked"), std::string::npos) << ts.last_error;
  EXPECT_NE(ts.last_error.find("at byte 5"), std::string::npos) << ts.last_error;
}

TEST(HttpServer, LargeStreamedResponseArrivesIntactInBoundedMemory) {
  TestServer ts;
  constexpr uint64_t kSize = 256ull << 20;
  for (const char* route : {"/stream", "/chunked"}) {
    long before = RssKiB();
    Client c(ts.port());
    ASSERT_TRUE(c.Send(std::string("GET ") + route + "?n=" + std::to_string(kSize) +
                       " HTTP/1.1\r\n\r\n"));
    Blake3Hasher got;
    Response r = c.Read(false, [&](const char* p, size_t n) { got.Update(p, n); });
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(r.body_bytes, kSize);
    Blake3Hasher want;
    std::vector<uint8_t> buf(1 << 20);
    for (uint64_t off = 0; off < kSize; off += buf.size()) {
      Pattern(7, off, buf.data(), buf.size());
      want.Update(buf.data(), buf.size());
    }
    EXPECT_EQ(got.Finalize(), want.Finalize()) << route;
    long after = RssKiB();
    EXPECT_LT(after - before, 64 * 1024) << route << ": RSS grew from " << before << " KiB to "
                                         << after << " KiB";
  }
}

TEST(HttpServer, ExpectContinueIsAnsweredOnTheFirstRead) {
  TestServer ts;
  Client c(ts.port());
  std::string body = PatternString(9, 200000);
  ASSERT_TRUE(c.Send("PUT /echo HTTP/1.1\r\nContent-Length: 200000\r\nExpect: 100-continue\r\n\r\n"));
  Response cont = c.Read();
  ASSERT_EQ(cont.status, 100);
  ASSERT_TRUE(c.Send(body));
  Response r = c.Read();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "200000 " + Hex(Blake3(body.data(), body.size())));
}

TEST(HttpServer, EarlyRejectionDoesNotInviteTheBody) {
  TestServer ts;
  {
    // With Expect: the final response comes instead of 100, and the body is
    // never sent; the server closes since the body's fate is unknown.
    Client c(ts.port());
    ASSERT_TRUE(c.Send("PUT /reject HTTP/1.1\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n"));
    Response r = c.Read();
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.body, "no");
    EXPECT_EQ(Lower(r.Header("connection")), "close");
    EXPECT_TRUE(c.AtEof());
  }
  {
    // Without Expect, the client is already sending 10 MiB: it still gets
    // the 403 (the server closes gracefully rather than resetting).
    Client c(ts.port());
    ASSERT_TRUE(c.Send("PUT /reject HTTP/1.1\r\nContent-Length: 10485760\r\n\r\n"));
    std::thread sender([&] { c.Send(PatternString(1, 10 << 20)); });
    Response r = c.Read();
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(Lower(r.Header("connection")), "close");
    ::shutdown(c.fd(), SHUT_RDWR);
    sender.join();
  }
  {
    // A small unread body is drained and the connection kept.
    Client c(ts.port());
    ASSERT_TRUE(c.Send("PUT /reject HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" +
                       std::string(1000, 'x')));
    EXPECT_EQ(c.Read().status, 403);
    ASSERT_TRUE(c.Send("GET /x HTTP/1.1\r\n\r\n"));
    EXPECT_EQ(c.Read().status, 404);
  }
}

TEST(HttpServer, OversizedHeaderIs431AndMalformedIs400) {
  HttpServerOptions o;
  o.max_header_bytes = 4096;
  TestServer ts(o);
  {
    Client c(ts.port());
    ASSERT_TRUE(c.Send("GET /x HTTP/1.1\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n"));
    Response r = c.Read();
    EXPECT_EQ(r.status, 431);
    EXPECT_EQ(Lower(r.Header("connection")), "close");
    EXPECT_FALSE(r.Header("x-amz-request-id").empty());
    EXPECT_TRUE(c.AtEof());
  }
  for (const char* bad : {"GARBAGE\r\n\r\n", "GET /x HTTP/9.9\r\n\r\n",
                          "GET /x HTTP/1.1\r\nContent-Length: 12x\r\n\r\n",
                          "GET /x HTTP/1.1\r\nBad Name: v\r\n\r\n"}) {
    Client c(ts.port());
    ASSERT_TRUE(c.Send(bad));
    Response r = c.Read();
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_TRUE(c.AtEof()) << bad;
  }
}

TEST(HttpServer, TruncatedBodyFailsTheHandlersRead) {
  TestServer ts;
  Client c(ts.port());
  ASSERT_TRUE(c.Send("PUT /echo HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + std::string(5000, 'x')));
  std::this_thread::sleep_for(100ms);
  c.Close();
  for (int i = 0; i < 200 && ts.reads_failed.load() == 0; i++) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(ts.reads_failed.load(), 1);
  std::lock_guard l(ts.mu);
  EXPECT_NE(ts.last_error.find("at byte 5000 of 100000"), std::string::npos) << ts.last_error;
  EXPECT_NE(ts.last_error.find("truncated"), std::string::npos) << ts.last_error;
}

TEST(HttpServer, ShortResponseClosesTheConnection) {
  TestServer ts;
  Client c(ts.port());
  ASSERT_TRUE(c.Send("GET /short HTTP/1.1\r\n\r\n"));
  Response r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-length"), "1000");
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.body, "0123456789");  // what was written, never padded
}

TEST(HttpServer, SilentHandlerGets500) {
  TestServer ts;
  Client c(ts.port());
  ASSERT_TRUE(c.Send("GET /silent HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(c.Read().status, 500);
  ASSERT_TRUE(c.Send("GET /x HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(c.Read().status, 404);
}

TEST(HttpServer, HeadSendsHeadersWithoutBody) {
  TestServer ts;
  Client c(ts.port());
  ASSERT_TRUE(c.Send("HEAD /head HTTP/1.1\r\n\r\n"));
  Response r = c.Read(/*head=*/true);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-length"), "12345");
  EXPECT_EQ(r.Header("etag"), "\"abc\"");
  // Send() on HEAD keeps the length and drops the body.
  ASSERT_TRUE(c.Send("HEAD /missing HTTP/1.1\r\n\r\n"));
  r = c.Read(true);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.Header("content-length"), std::to_string(std::string("not found: HEAD /missing").size()));
  // Nothing else is on the wire: the next response follows directly.
  ASSERT_TRUE(c.Send("GET /id HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(c.Read().status, 200);
}

TEST(HttpServer, ShutdownLetsInFlightRequestsFinishAndClosesIdleOnes) {
  TestServer ts;
  Client idle(ts.port());
  ASSERT_TRUE(idle.Send("GET /x HTTP/1.1\r\n\r\n"));
  ASSERT_EQ(idle.Read().status, 404);  // now idle, kept alive

  Client busy(ts.port());
  ASSERT_TRUE(busy.Send("GET /slow HTTP/1.1\r\n\r\n"));
  while (!ts.slow_started.load()) std::this_thread::sleep_for(1ms);
  auto t0 = std::chrono::steady_clock::now();
  auto done = std::async(std::launch::async, [&] { ts.server->Shutdown(); });
  EXPECT_TRUE(idle.AtEof());  // closed while the slow request still runs
  Response r = busy.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "slow done");
  EXPECT_EQ(Lower(r.Header("connection")), "close");
  EXPECT_TRUE(busy.AtEof());
  done.get();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  // Nobody listens any more.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(ts.port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_NE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ::close(fd);
}

TEST(HttpServer, IdleConnectionsDoNotStarveNewOnes) {
  HttpServerOptions o;
  o.threads = 2;
  o.idle_timeout_seconds = 2;
  TestServer ts(o);
  // Two keep-alive clients hold both workers, then go quiet; one more says
  // nothing at all.
  Client a(ts.port()), b(ts.port());
  for (Client* c : {&a, &b}) {
    ASSERT_TRUE(c->Send("GET /x HTTP/1.1\r\n\r\n"));
    ASSERT_EQ(c->Read().status, 404);
  }
  Client hog(ts.port());
  // Newcomers are served at once: idle connections are parked.
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; i++) {
    Client next(ts.port());
    ASSERT_TRUE(next.Send("GET /id HTTP/1.1\r\n\r\n"));
    EXPECT_EQ(next.Read().status, 200);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  // The parked ones are served when they speak again.
  for (Client* c : {&a, &b}) {
    ASSERT_TRUE(c->Send("GET /id HTTP/1.1\r\n\r\n"));
    EXPECT_EQ(c->Read().status, 200);
  }
  // A connection that stays quiet is closed after the idle timeout.
  EXPECT_TRUE(hog.AtEof());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1500ms);
}

TEST(HttpServer, RecordsMetricsPerOperation) {
  TestServer ts;
  Client c(ts.port());
  ASSERT_TRUE(c.Send("PUT /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"));
  ASSERT_EQ(c.Read().status, 200);
  ASSERT_TRUE(c.Send("GET /nope HTTP/1.1\r\n\r\n"));
  ASSERT_EQ(c.Read().status, 404);
  // The server records a request just after its response leaves.
  std::string t;
  for (int i = 0; i < 200; i++) {
    t = ts.metrics.Render();
    if (t.find("code=\"404\"") != std::string::npos) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_NE(t.find("as_http_requests_total{op=\"Echo\",code=\"200\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("as_http_requests_total{op=\"other\",code=\"404\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("as_http_bytes_received_total 3\n"), std::string::npos) << t;
}

TEST(HttpServer, StartRejectsBadListenAddress) {
  HttpServerOptions o;
  o.listen = "nonsense";
  auto s = HttpServer::Start(o, [](const HttpRequest&, RequestBody&, ResponseWriter&) {}, nullptr);
  EXPECT_FALSE(s.ok());
  o.listen = "127.0.0.1:0";
  s = HttpServer::Start(o, [](const HttpRequest&, RequestBody&, ResponseWriter&) {}, nullptr);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->url(), "http://127.0.0.1:" + std::to_string((*s)->port()));
  EXPECT_GT((*s)->port(), 0);
}

}  // namespace
}  // namespace as

namespace as {
namespace {

// Not a test: serves /small (100 bytes) and /stream?n=N for a load tool,
// e.g. `AS_HTTP_BENCH_SECONDS=30 server_tests --gtest_also_run_disabled_tests
// --gtest_filter=*ServeForLoadTool` and `wrk -c64 -t2 http://127.0.0.1:PORT/small`.
TEST(HttpServer, DISABLED_ServeForLoadTool) {
  const char* secs = std::getenv("AS_HTTP_BENCH_SECONDS");
  const char* port = std::getenv("AS_HTTP_BENCH_PORT");
  HttpServerOptions o;
  o.listen = std::string("127.0.0.1:") + (port ? port : "0");
  std::string small(100, 'x');
  std::vector<uint8_t> big(1 << 20, 'y');
  Metrics metrics;
  auto s = HttpServer::Start(
      o,
      [&](const HttpRequest& q, RequestBody&, ResponseWriter& w) {
        if (q.target == "/small") {
          w.SetOperation("Small");
          w.Send(200, small, "application/octet-stream").IgnoreError();
          return;
        }
        w.SetOperation("Stream");
        uint64_t n = TestServer::Arg(q.target);
        if (!w.WriteHead(n).ok()) return;
        for (uint64_t off = 0; off < n; off += big.size()) {
          if (!w.Write(big.data(), size_t(std::min<uint64_t>(big.size(), n - off))).ok()) return;
        }
        w.Finish().IgnoreError();
      },
      &metrics);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::printf("serving on %s\n", (*s)->url().c_str());
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(secs ? std::atoi(secs) : 10));
}

}  // namespace
}  // namespace as
