// A small synchronous HTTP/1.1 server for the store's blocking API.
//
// Why synchronous: the store pulls request bodies through a ByteSource and
// pushes response bodies through a ByteSink, blocking, and must move 5 GiB
// bodies in bounded memory. A worker thread that owns a connection while it
// serves a request can hand the socket straight to those callbacks; nothing
// is buffered beyond what the caller asks for.
//
// Contract:
//  - Start() ignores SIGPIPE for the process (if it was at its default):
//    sendfile(2) has no MSG_NOSIGNAL, and a vanished client must be an error.
//  - `threads` workers, no other thread on the request path. Connections are
//    accepted at once and wait in an epoll set while idle; a worker takes
//    one when a request arrives, serves it (and any pipelined behind it),
//    and puts it back. So `threads` bounds requests in progress, not
//    connections, and idle keep-alive clients hold no thread. A connection
//    idle for `idle_timeout_seconds` is closed.
//  - The handler is called once per request, on a worker thread, with the
//    header parsed and the body unread. It reads the body through RequestBody
//    and answers through ResponseWriter, either whole (Send) or streamed
//    (WriteHead, Write..., Finish).
//  - Whatever the handler does, the connection stays well framed: a body it
//    did not read is drained when small and otherwise the connection closes;
//    a response it left unanswered becomes 500; a streamed response that ends
//    short of its Content-Length closes the connection (never padded), so
//    the client sees a truncated body rather than wrong bytes.
//  - Every response carries Date, Server, x-amz-request-id and either
//    Content-Length or chunked framing (HTTP/1.0 clients: close-delimited).
//  - Each request is recorded in Metrics (when given): op, status, duration,
//    body bytes in and out; with TLS listeners, handshakes too (how many
//    connections send through kernel TLS, how many in user space, how many
//    handshakes failed).
//  - A TLS listener: the handshake is done step by step as the client's
//    bytes arrive (no worker waits for it) and cut after
//    tls_handshake_timeout_seconds; a plain HTTP request on a TLS port gets
//    400 in plain HTTP, saying so. After the handshake everything above
//    holds as on a plain socket; file bytes go out by sendfile when kernel
//    TLS encrypts them, otherwise through the process.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace as {

class Metrics;

namespace http_internal {
class Conn;  // one connection's state; lives in http_server.cc
}

struct HttpRequest {
  std::string method;  // as received, e.g. "GET"
  std::string target;  // raw request-target, as on the wire (not decoded)
  int version = 11;    // 10 or 11
  // Header fields in the order received, names as spelled by the client.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string remote;                     // "ip:port" of the peer
  std::string request_id;                 // 16 hex digits, unique in this process
  std::optional<uint64_t> content_length;  // set when the body has a known length
  bool chunked = false;                    // Transfer-Encoding: chunked

  // Value of the first field called `name` (ASCII case-insensitive), or null.
  const std::string* Header(std::string_view name) const;
};

// The request body, pulled by the handler. Shaped like a ByteSource: pass
// `[&](uint8_t* b, size_t n) { return body.Read(b, n); }` to Store::Put.
class RequestBody {
 public:
  RequestBody(const RequestBody&) = delete;
  RequestBody& operator=(const RequestBody&) = delete;

  // Fills buf[0..cap) with the next body bytes and returns how many (at least
  // one unless the body is finished); 0 at the end of the body. Errors: the
  // client went away or stalled past the idle timeout, the body ended before
  // its Content-Length (the message names the byte offset), or the chunked
  // encoding is malformed. After an error the connection will be closed.
  // The first call answers `Expect: 100-continue`, so a handler that rejects
  // a request without reading never invites the body.
  Result<size_t> Read(uint8_t* buf, size_t cap);
  uint64_t bytes_read() const;  // body bytes handed out so far
  bool finished() const;        // true once Read has returned 0

 private:
  friend class http_internal::Conn;
  explicit RequestBody(http_internal::Conn* c) : c_(c) {}
  http_internal::Conn* c_;
};

// The response. Either Send() once, or WriteHead() then Write()... Finish().
// Header values must not contain CR or LF; they are replaced by spaces.
// Content-Length, Transfer-Encoding, Connection and Date belong to the
// writer and are ignored in SetHeader.
class ResponseWriter {
 public:
  ResponseWriter(const ResponseWriter&) = delete;
  ResponseWriter& operator=(const ResponseWriter&) = delete;

  void SetStatus(int status);  // for WriteHead; default 200
  // Sets a header (replacing one of the same name, case-insensitively).
  void SetHeader(std::string name, std::string value);
  void SetOperation(std::string op);  // metrics label; default "other"
  void CloseAfter();                  // close the connection after this response

  // The whole response. For a HEAD request the body is not sent but its
  // length is the Content-Length. An empty content_type sends none.
  Status Send(int status, std::string body, std::string content_type);
  // Commits status and headers. With a length, exactly that many body bytes
  // must follow; nullopt streams with chunked transfer encoding. For HEAD
  // no body follows whatever the length says (and Write is an error).
  Status WriteHead(std::optional<uint64_t> content_length);
  // Body bytes after WriteHead. Writing past the Content-Length is an error.
  Status Write(const uint8_t* data, size_t n);
  // Write(data, n), for bytes that also lie verbatim at `offset` in the open
  // file `file_fd`: large pieces of a Content-Length body are then sent from
  // the file with sendfile(2), without copying through user space. The file
  // must hold those bytes for the duration of the call. data may be null: the
  // bytes are then only in the file (sent from it, or read from it where
  // sendfile cannot serve: a chunked body).
  Status WriteFile(const uint8_t* data, size_t n, int file_fd, uint64_t offset);
  // Ends the body: the last chunk when chunked; with a Content-Length an
  // error if bytes are missing (the connection then closes). A handler that
  // returns without Finish() gets it called for it, but a chunked body
  // not finished explicitly is treated as cut short.
  Status Finish();
  bool head_sent() const;  // true after Send or WriteHead

 private:
  friend class http_internal::Conn;
  explicit ResponseWriter(http_internal::Conn* c) : c_(c) {}
  http_internal::Conn* c_;
};

using Handler = std::function<void(const HttpRequest&, RequestBody&, ResponseWriter&)>;

class TlsContext;

// An address the server accepts connections on.
struct HttpListener {
  std::string address;              // host:port ("[::1]:9000"); port 0 picks one
  std::shared_ptr<TlsContext> tls;  // null: plain HTTP; else TLS with its certificate
};

struct HttpServerOptions {
  // Where to listen: `listeners`, or when it is empty `listen`, plain.
  std::vector<HttpListener> listeners;
  std::string listen = "127.0.0.1:9000";  // host:port ("[::1]:9000"); port 0 picks one
  // A TLS handshake not done this long after the connection came is cut.
  // The handshake waits for the client in the epoll set, not on a worker:
  // a client that stops halfway holds no thread meanwhile.
  int tls_handshake_timeout_seconds = 10;
  int threads = 64;                       // workers = requests served at once
  // Workers that poll for requests at once (0: CPUs available + 1). Small
  // requests are served by these alone; the other workers take over while
  // one waits on a client or a large body.
  int pollers = 0;
  size_t max_header_bytes = 16384;        // larger request headers get 431
  int idle_timeout_seconds = 60;          // per socket read/write, and keep-alive idle
  std::string server_name;                // Server header; empty = "artifact-store"
};

class HttpServer {
 public:
  // Binds, listens and starts the threads. `metrics` may be null and must
  // outlive the server.
  static Result<std::unique_ptr<HttpServer>> Start(HttpServerOptions options, Handler handler,
                                                   Metrics* metrics);
  ~HttpServer();  // Shutdown()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // "http://HOST:PORT" (https:// for TLS) with the bound port of the first
  // listener; a wildcard host reads 127.0.0.1. urls(): every listener's.
  std::string url() const;
  std::vector<std::string> urls() const;
  int port() const;

  // Graceful: stops accepting, closes connections waiting for a request
  // (idle keep-alive and queued ones), lets requests in progress finish
  // (their responses say Connection: close when not yet sent), then joins
  // every thread. Idempotent.
  void Shutdown();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace as
