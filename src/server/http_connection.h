// Internal to the HTTP server: one worker's connection, shared between the
// worker that serves it and HttpServer::Shutdown(), which must be able to
// wake a worker blocked waiting for a request that will never come.
//
// The Beast parser lives only in http_connection.cc, so nothing else pays
// for compiling it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/status.h"
#include "server/http_server.h"

namespace as::http_internal {

// What every connection of one server shares.
struct ServerShared {
  HttpServerOptions options;
  Handler handler;
  Metrics* metrics = nullptr;
  std::mutex mu;  // guards every Conn's fd/state/asked/kicked
  std::atomic<bool> stopping{false};
  // Takes a connection that is between requests (nothing buffered) from a
  // worker asked to yield; the server watches it and queues it again when
  // its next request arrives, or closes it after the idle timeout.
  std::function<void(int fd, std::string remote)> park;
};

// A worker's connection slot, reused for each connection the worker serves.
//
// Between requests a worker waits in poll() on the socket and on its own
// eventfd. The server writes that eventfd to make the worker let go of an
// idle keep-alive connection: to park it when other connections are queued
// for a worker, or to close it when shutting down. This is what keeps
// `threads` idle keep-alive clients from starving everyone else.
class Conn {
 public:
  enum class State {
    kNone,    // no connection
    kIdle,    // waiting for the first byte of a request (wakeable)
    kHeader,  // reading a request header
    kBusy,    // in the handler, or finishing the response
  };

  static std::unique_ptr<Conn> New(ServerShared* shared);
  virtual ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Serves requests on `fd` until the connection should end (returns false;
  // the caller closes fd, after setting state kNone under shared->mu) or
  // has been parked (returns true; fd is no longer the caller's).
  virtual bool Serve(int fd, const std::string& remote) = 0;

  // Wakes the worker if it waits in kIdle (call under shared->mu).
  void Wake();

  // Guarded by ServerShared::mu.
  int fd = -1;
  State state = State::kNone;
  bool asked = false;   // Wake() was called for this idle period
  bool kicked = false;  // read side shut during kHeader: drop the request

 protected:
  friend class as::RequestBody;
  friend class as::ResponseWriter;

  // RequestBody and ResponseWriter can only be made here (their
  // constructors are private to Conn).
  void CallHandler(const HttpRequest& req) {
    RequestBody body(this);
    ResponseWriter writer(this);
    shared_->handler(req, body, writer);
  }
  explicit Conn(ServerShared* shared);
  ServerShared* const shared_;
  const int wake_fd_;  // eventfd (non-blocking), written by Wake()

  virtual Result<size_t> BodyRead(uint8_t* buf, size_t cap) = 0;
  virtual uint64_t BodyBytesRead() const = 0;
  virtual bool BodyFinished() const = 0;

  virtual void SetStatus(int status) = 0;
  virtual void SetHeader(std::string name, std::string value) = 0;
  virtual void SetOperation(std::string op) = 0;
  virtual void CloseAfter() = 0;
  virtual Status Send(int status, std::string body, std::string content_type) = 0;
  virtual Status WriteHead(std::optional<uint64_t> content_length) = 0;
  virtual Status Write(const uint8_t* data, size_t n) = 0;
  virtual Status Finish() = 0;
  virtual bool HeadSent() const = 0;
};

}  // namespace as::http_internal
