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

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "server/http_connection.h"

namespace as {

struct HttpServer::Impl {
  http_internal::ServerShared shared;
  int listen_fd = -1;
  int wake_fd = -1;  // eventfd (non-blocking): wakes the acceptor's poll
  std::string url_host;
  int port = 0;

  struct Pending {
    int fd;
    std::string remote;
  };
  // Guarded by shared.mu:
  std::deque<Pending> queue;       // connections ready for a worker
  size_t queue_cap = 0;            // past this, new clients wait in the backlog
  size_t free_workers = 0;         // workers waiting for the queue
  std::vector<Pending> to_park;    // handed over by workers, for the acceptor
  std::condition_variable work_cv; // a connection was queued, or stopping

  // The acceptor's own: parked connections and when each times out.
  struct Parked {
    Pending p;
    std::chrono::steady_clock::time_point deadline;
  };
  std::vector<Parked> parked;

  std::vector<std::unique_ptr<http_internal::Conn>> conns;  // one per worker
  std::thread acceptor;
  std::vector<std::thread> workers;
  std::once_flag shutdown_once;

  ~Impl() {
    if (listen_fd >= 0) ::close(listen_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void WakeAcceptor() {
    uint64_t one = 1;
    if (::write(wake_fd, &one, sizeof(one)) < 0) {
      // EAGAIN only: the counter is already non-zero, the acceptor will wake.
    }
  }
  void AcceptLoop();
  // Queues connections for workers (under shared.mu); when no worker is
  // free, asks idle keep-alive ones to park theirs.
  void EnqueueLocked(std::vector<Pending>* ready);
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

void HttpServer::Impl::EnqueueLocked(std::vector<Pending>* ready) {
  for (auto& p : *ready) {
    queue.push_back(std::move(p));
    work_cv.notify_one();
  }
  ready->clear();
  size_t asked = 0;
  for (auto& c : conns) {
    if (c->state == http_internal::Conn::State::kIdle && c->asked) asked++;
  }
  // Each queued connection needs a free worker or an idle one that will
  // become free by parking its connection.
  for (auto& c : conns) {
    if (queue.size() <= free_workers + asked) break;
    if (c->state == http_internal::Conn::State::kIdle && !c->asked) {
      c->Wake();
      asked++;
    }
  }
}

void HttpServer::Impl::AcceptLoop() {
  std::vector<pollfd> fds;
  std::vector<Pending> ready;
  const auto idle = std::chrono::seconds(shared.options.idle_timeout_seconds > 0
                                             ? shared.options.idle_timeout_seconds
                                             : 1 << 30);
  for (;;) {
    bool can_accept, queued;
    {
      std::lock_guard lock(shared.mu);
      if (shared.stopping.load()) break;
      auto now = std::chrono::steady_clock::now();
      for (auto& p : to_park) parked.push_back({std::move(p), now + idle});
      to_park.clear();
      can_accept = queue.size() < queue_cap;
      queued = !queue.empty();
    }
    fds.clear();
    fds.push_back({wake_fd, POLLIN, 0});
    // A full queue leaves new clients in the kernel's backlog.
    fds.push_back({can_accept ? listen_fd : -1, POLLIN, 0});
    auto now = std::chrono::steady_clock::now();
    auto next_deadline = now + idle;
    for (const auto& p : parked) {
      fds.push_back({p.p.fd, POLLIN, 0});
      next_deadline = std::min(next_deadline, p.deadline);
    }
    // While clients are queued, look again soon: a worker asked to yield
    // may have started a request instead, and another must be asked.
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline - now);
    int timeout_ms = int(std::clamp<int64_t>(wait.count() + 1, 0, queued ? 20 : 60000));
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (fds[0].revents) {
      uint64_t v;
      while (::read(wake_fd, &v, sizeof(v)) > 0) {
      }
    }
    now = std::chrono::steady_clock::now();
    // Parked connections with a request (or a hang-up) arriving go back to
    // the workers; quiet ones past their deadline are closed.
    size_t keep = 0;
    for (size_t i = 0; i < parked.size(); i++) {
      if (fds[2 + i].revents) {
        ready.push_back(std::move(parked[i].p));
      } else if (parked[i].deadline <= now) {
        ::close(parked[i].p.fd);
      } else {
        parked[keep++] = std::move(parked[i]);
      }
    }
    parked.resize(keep);
    if (fds[1].revents) {
      sockaddr_storage peer{};
      socklen_t len = sizeof(peer);
      int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
      if (fd >= 0) {
        TuneSocket(fd, shared.options.idle_timeout_seconds);
        ready.push_back({fd, PeerName(peer)});
      } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: back off instead of spinning on poll.
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    std::lock_guard lock(shared.mu);
    EnqueueLocked(&ready);
  }
  for (auto& p : parked) ::close(p.p.fd);
  parked.clear();
}

void HttpServer::Impl::WorkerLoop(http_internal::Conn* conn) {
  for (;;) {
    Pending p;
    {
      std::unique_lock lock(shared.mu);
      free_workers++;
      work_cv.wait(lock, [&] { return shared.stopping.load() || !queue.empty(); });
      free_workers--;
      if (shared.stopping.load()) {
        // Never served (or parked between requests): nothing is lost.
        for (auto& q : queue) ::close(q.fd);
        queue.clear();
        return;
      }
      if (queue.size() == queue_cap) WakeAcceptor();  // it may accept again
      p = std::move(queue.front());
      queue.pop_front();
      conn->fd = p.fd;
      conn->state = http_internal::Conn::State::kBusy;
      conn->kicked = false;
      conn->asked = false;
    }
    if (conn->Serve(p.fd, p.remote)) continue;  // parked: no longer ours
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
  impl->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
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
  Impl* raw = impl.get();
  impl->shared.park = [raw](int fd, std::string remote) {
    {
      std::lock_guard lock(raw->shared.mu);
      if (raw->shared.stopping.load()) {
        ::close(fd);
        return;
      }
      raw->to_park.push_back({fd, std::move(remote)});
    }
    raw->WakeAcceptor();
  };

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
      // Workers waiting between requests wake and close; one reading a
      // header has its read side shut (its request is dropped, as if it
      // had come a moment later). Busy ones see `stopping` when their
      // request ends and answer with Connection: close.
      for (auto& c : p->conns) {
        if (c->state == http_internal::Conn::State::kIdle) {
          c->Wake();
        } else if (c->state == http_internal::Conn::State::kHeader) {
          ::shutdown(c->fd, SHUT_RD);
          c->kicked = true;
        }
      }
      p->work_cv.notify_all();
    }
    p->WakeAcceptor();
    if (p->acceptor.joinable()) p->acceptor.join();
    // Refuse new connections at once rather than leave them in the backlog.
    ::close(p->listen_fd);
    p->listen_fd = -1;
    for (auto& t : p->workers) {
      if (t.joinable()) t.join();
    }
    for (auto& q : p->queue) ::close(q.fd);
    p->queue.clear();
    for (auto& q : p->to_park) ::close(q.fd);
    p->to_park.clear();
  });
}

}  // namespace as
