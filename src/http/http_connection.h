// Internal to the HTTP server: one worker's connection state, shared between
// the worker that serves it and HttpServer::Shutdown(), which must be able to
// cut short a worker blocked reading a header that may never complete.
//
// The Beast parser lives only in http_connection.cc, so nothing else pays
// for compiling it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <condition_variable>
#include <optional>
#include <string>

#include "base/status.h"
#include "http/http_response.h"
#include "http/http_server.h"

namespace as::http_internal {

// What every connection of one server shares.
struct ServerShared {
  HttpServerOptions options;
  Handler handler;
  Metrics* metrics = nullptr;
  std::mutex mu;  // guards every Conn's fd/state/kicked
  std::atomic<bool> stopping{false};
  // Poller tokens. A worker holds one to wait in epoll_wait and keeps it
  // while it serves requests that do not block; it gives it back (Yield)
  // before anything that may wait on a client or move a large body, so
  // another worker takes over polling. Only about one thread per CPU is ever
  // runnable for small requests, which is what keeps them free of context
  // switches (with a token per worker, every event woke another thread).
  // Not std::counting_semaphore: libstdc++ 12 wakes every waiter on each
  // release, and each woken worker spins through a dozen sched_yield()s
  // before sleeping again: with 64 workers parked, each handed-back token
  // cost hundreds of syscalls (strace of 4 KiB PUTs: ~250 per request).
  class Tokens {
   public:
    void acquire() {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return n_ > 0; });
      n_--;
    }
    void release(std::ptrdiff_t n = 1) {
      {
        std::lock_guard<std::mutex> l(mu_);
        n_ += n;
      }
      if (n == 1) {
        cv_.notify_one();
      } else {
        cv_.notify_all();
      }
    }

   private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::ptrdiff_t n_ = 0;
  };
  Tokens pollers;
};

// A worker's connection slot, reused for each connection the worker picks
// up. A worker holds a connection only while requests are arriving on it;
// between requests the connection goes back to the server's epoll set, so
// idle keep-alive clients never hold a worker.
class Conn {
 public:
  enum class State {
    kNone,    // no connection
    kHeader,  // reading a request header
    kBusy,    // in the handler, or finishing the response
  };

  static std::unique_ptr<Conn> New(ServerShared* shared);
  virtual ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Serves the requests that `wire` has ready (the caller knows the socket
  // is readable, or TLS holds bytes read) until none is buffered. Returns true when the connection is
  // between requests with nothing buffered and may be kept for the next
  // one; false when it should end (the caller closes fd, after setting
  // state kNone under shared->mu).
  virtual bool Serve(const Wire& wire, const std::string& remote) = 0;

  // Gives the poller token back if this worker holds it (see
  // ServerShared::pollers). The worker takes one again before it polls.
  void Yield() {
    if (holds_token) {
      holds_token = false;
      shared_->pollers.release();
    }
  }
  bool holds_token = false;  // only the worker touches it

  // Guarded by ServerShared::mu.
  int fd = -1;
  State state = State::kNone;
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
  virtual Status WriteFile(const uint8_t* data, size_t n, int file_fd, uint64_t offset) = 0;
  virtual Status Finish() = 0;
  virtual bool HeadSent() const = 0;
};

}  // namespace as::http_internal
