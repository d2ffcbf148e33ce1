// Listening, accepting, the worker pool and graceful shutdown. What happens
// on a connection is in http_connection.cc.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "server/http_connection.h"

namespace as {

struct HttpServer::Impl {
  http_internal::ServerShared shared;
  int listen_fd = -1;
  int wake_fd = -1;  // eventfd: tells the acceptor to stop
  std::string url_host;
  int port = 0;

  struct Pending {
    int fd;
    std::string remote;
  };
  // Accepted connections no worker has taken yet; guarded by shared.mu.
  std::deque<Pending> queue;
  size_t queue_cap = 0;
  std::condition_variable work_cv;   // a connection was queued, or stopping
  std::condition_variable space_cv;  // the queue has room, or stopping

  std::vector<std::unique_ptr<http_internal::Conn>> conns;  // one per worker
  std::thread acceptor;
  std::vector<std::thread> workers;
  std::once_flag shutdown_once;

  ~Impl() {
    if (listen_fd >= 0) ::close(listen_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void AcceptLoop();
  void WorkerLoop(http_internal::Conn* conn);
};

namespace {

std::string PeerName(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (a.ss_family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
    port = ntohs(s->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (a.ss_family == AF_INET6) {
    auto* s = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
    port = ntohs(s->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "?";
}

// Splits "host:port" / "[v6]:port"; an empty host means every address.
Result<std::pair<std::string, std::string>> SplitListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return Status::InvalidArgument("listen address '" + listen + "': expected host:port");
  }
  std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host, port);
}

Result<int> Listen(const std::string& host, const std::string& port, int* bound_port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    return Status::InvalidArgument("listen address '" + host + ":" + port +
                                   "': " + ::gai_strerror(rc));
  }
  Status last = Status::IOError("listen " + host + ":" + port + ": no address");
  int fd = -1;
  for (addrinfo* ai = res; ai && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = Status::FromErrno("socket", errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      last = Status::FromErrno("listen " + host + ":" + port, errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) return last;
  sockaddr_storage a{};
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *bound_port = a.ss_family == AF_INET6
                    ? ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port)
                    : ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  return fd;
}

void TuneSocket(int fd, int timeout_seconds) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (timeout_seconds > 0) {
    timeval tv{timeout_seconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }
}

}  // namespace

void HttpServer::Impl::AcceptLoop() {
  for (;;) {
    {
      // A full queue leaves further clients in the kernel's backlog.
      std::unique_lock lock(shared.mu);
      space_cv.wait(lock, [&] { return shared.stopping.load() || queue.size() < queue_cap; });
      if (shared.stopping.load()) return;
    }
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;  // EINTR
    if (fds[1].revents) return;
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors: back off instead of spinning on poll.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      continue;
    }
    TuneSocket(fd, shared.options.idle_timeout_seconds);
    std::lock_guard lock(shared.mu);
    queue.push_back({fd, PeerName(peer)});
    work_cv.notify_one();
  }
}

void HttpServer::Impl::WorkerLoop(http_internal::Conn* conn) {
  for (;;) {
    Pending p;
    {
      std::unique_lock lock(shared.mu);
      work_cv.wait(lock, [&] { return shared.stopping.load() || !queue.empty(); });
      if (shared.stopping.load()) {
        // Never served, so nothing is lost by closing.
        for (auto& q : queue) ::close(q.fd);
        queue.clear();
        return;
      }
      p = std::move(queue.front());
      queue.pop_front();
      conn->fd = p.fd;
      conn->state = http_internal::Conn::State::kBusy;
      conn->kicked = false;
      space_cv.notify_one();
    }
    conn->Serve(p.fd, p.remote);
    {
      std::lock_guard lock(shared.mu);
      conn->state = http_internal::Conn::State::kNone;
      conn->fd = -1;
    }
    ::close(p.fd);
  }
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options, Handler handler,
                                                      Metrics* metrics) {
  if (options.threads < 1) return Status::InvalidArgument("http server: threads must be >= 1");
  if (!handler) return Status::InvalidArgument("http server: no handler");
  auto impl = std::make_unique<Impl>();
  AS_ASSIGN_OR_RETURN(auto hp, SplitListen(options.listen));
  AS_ASSIGN_OR_RETURN(impl->listen_fd, Listen(hp.first, hp.second, &impl->port));
  impl->wake_fd = ::eventfd(0, EFD_CLOEXEC);
  if (impl->wake_fd < 0) return Status::FromErrno("eventfd", errno);
  if (hp.first.empty() || hp.first == "0.0.0.0") {
    impl->url_host = "127.0.0.1";
  } else if (hp.first == "::") {
    impl->url_host = "[::1]";
  } else if (hp.first.find(':') != std::string::npos) {
    impl->url_host = "[" + hp.first + "]";
  } else {
    impl->url_host = hp.first;
  }
  impl->queue_cap = size_t(options.threads);
  impl->shared.options = std::move(options);
  impl->shared.handler = std::move(handler);
  impl->shared.metrics = metrics;

  Impl* p = impl.get();
  int n = p->shared.options.threads;
  p->conns.reserve(size_t(n));
  for (int i = 0; i < n; i++) p->conns.push_back(http_internal::Conn::New(&p->shared));
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(impl)));
  for (int i = 0; i < n; i++) {
    http_internal::Conn* c = p->conns[size_t(i)].get();
    p->workers.emplace_back([p, c] { p->WorkerLoop(c); });
  }
  p->acceptor = std::thread([p] { p->AcceptLoop(); });
  return server;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(); }

std::string HttpServer::url() const {
  return "http://" + impl_->url_host + ":" + std::to_string(impl_->port);
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::Shutdown() {
  Impl* p = impl_.get();
  std::call_once(p->shutdown_once, [p] {
    {
      std::lock_guard lock(p->shared.mu);
      p->shared.stopping.store(true);
      // Idle workers are blocked in recv for a request that may never come;
      // shutting the read side wakes them with end-of-stream. Busy ones see
      // `stopping` when their request ends.
      for (auto& c : p->conns) {
        if (c->state == http_internal::Conn::State::kIdle) {
          ::shutdown(c->fd, SHUT_RD);
          c->kicked = true;
        }
      }
      p->work_cv.notify_all();
      p->space_cv.notify_all();
    }
    uint64_t one = 1;
    if (::write(p->wake_fd, &one, sizeof(one)) < 0) {
      // Cannot happen with a fresh eventfd; the acceptor would still stop
      // at its next wake-up because `stopping` is set.
    }
    if (p->acceptor.joinable()) p->acceptor.join();
    // Refuse new connections at once rather than leave them in the backlog.
    ::close(p->listen_fd);
    p->listen_fd = -1;
    for (auto& t : p->workers) {
      if (t.joinable()) t.join();
    }
    for (auto& q : p->queue) ::close(q.fd);
    p->queue.clear();
  });
}

}  // namespace as
