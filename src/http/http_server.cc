// Listening, accepting, the worker pool and graceful shutdown. What happens
// on a connection is in http_connection.cc.
#include "http/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "http/http_connection.h"
#include "http/metrics.h"
#include "http/tls.h"

namespace as {

// How connections reach workers (leader/followers): every worker waits in
// epoll_wait on one shared epoll set holding the listening socket and every
// idle connection, each armed EPOLLONESHOT so exactly one worker gets each
// event. The worker that gets a connection serves what it has to say, then
// re-arms it and goes back to epoll_wait. Under load the next ready
// connection is already there, so a worker moves from request to request
// without sleeping or handing anything to another thread; idle keep-alive
// connections cost a table entry, never a thread.
struct HttpServer::Impl {
  http_internal::ServerShared shared;
  // A listening socket; its address is what the epoll set gives for it.
  struct Listener {
    int fd = -1;  // guarded by accept_mu once workers run
    std::shared_ptr<TlsContext> tls;
    std::string url;
    int port = 0;
  };
  std::vector<std::unique_ptr<Listener>> listeners;
  int epoll_fd = -1;
  int stop_fd = -1;  // eventfd, level-triggered in the epoll set: signalled = stop
  // What TLS handshakes came to (for /metrics; shared: a scrape may outlive
  // the server).
  struct TlsCounts {
    std::atomic<uint64_t> kernel{0}, user{0}, failed{0}, plain_http{0};
  };
  std::shared_ptr<TlsCounts> tls_counts = std::make_shared<TlsCounts>();

  // A client connection. While armed in the epoll set (idle) it belongs to
  // no worker; the worker whose epoll_wait returns it owns it until it
  // re-arms it or closes it. Only the owner closes and deletes a Link, after
  // taking it out of `links`; others (the idle sweep, Shutdown) only shut
  // its socket down under links_mu, which wakes it as an EOF.
  struct Link {
    int fd = -1;
    std::string remote;
    std::atomic<bool> idle{true};
    std::atomic<int64_t> idle_since{0};  // steady_clock ticks; set before it is in `links`
    bool swept = false;                  // guarded by links_mu
    // TLS: the listener's context, and the session once one is begun.
    std::shared_ptr<TlsContext> tls;
    ssl_st* ssl = nullptr;
    bool kernel_send = false;
    std::atomic<bool> handshaking{false};
    int64_t handshake_deadline = 0;  // steady_clock ticks
  };
  std::mutex links_mu;
  std::unordered_set<Link*> links;
  std::mutex accept_mu;

  std::vector<std::unique_ptr<http_internal::Conn>> conns;  // one per worker
  std::vector<std::thread> workers;
  std::thread sweeper;  // closes connections idle past the timeout
  std::mutex sweep_mu;
  std::condition_variable sweep_cv;
  std::once_flag shutdown_once;

  ~Impl() {
    for (auto& li : listeners) {
      if (li->fd >= 0) ::close(li->fd);
    }
    if (epoll_fd >= 0) ::close(epoll_fd);
    if (stop_fd >= 0) ::close(stop_fd);
    for (Link* l : links) {
      TlsEnd(l->ssl);
      ::close(l->fd);
      delete l;
    }
  }

  static int64_t Now() { return std::chrono::steady_clock::now().time_since_epoch().count(); }
  // `seconds` in the ticks of Now().
  static int64_t Ticks(int seconds) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
               std::chrono::seconds(seconds))
        .count();
  }
  bool AnyTls() const {
    return std::any_of(listeners.begin(), listeners.end(),
                       [](const auto& li) { return li->tls != nullptr; });
  }
  // Hands an idle connection back to the epoll set; false if that failed.
  bool Arm(Link* l, int op, uint32_t events = EPOLLIN) {
    l->idle_since.store(Now());
    l->idle.store(true);
    epoll_event ev{};
    ev.events = events | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = l;
    return ::epoll_ctl(epoll_fd, op, l->fd, &ev) == 0;
  }
  void Drop(Link* l) {
    {
      std::lock_guard lock(links_mu);
      links.erase(l);
    }
    TlsEnd(l->ssl);
    ::close(l->fd);
    delete l;
  }
  Listener* FindListener(void* p) {
    for (auto& li : listeners) {
      if (li.get() == p) return li.get();
    }
    return nullptr;
  }
  void AcceptSome(Listener* li);
  // Takes a TLS link's handshake a step on; true once it is done and a
  // request may be read. Otherwise the link is re-armed or dropped.
  bool Handshake(Link* l);
  void WorkerLoop(http_internal::Conn* conn);
  void SweepLoop();
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
    std::string name = "[";
    name += host;
    name += "]:";
    name += std::to_string(port);
    return name;
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

// Workers allowed to poll at once: one per CPU this process may run on, plus
// one so that a worker stuck on a disk read does not idle a CPU.
std::ptrdiff_t Pollers(const HttpServerOptions& o) {
  if (o.pollers > 0) return std::min(o.pollers, o.threads);
  cpu_set_t set;
  int cpus = ::sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 2;
  return std::min(std::max(cpus, 1) + 1, o.threads);
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

void HttpServer::Impl::AcceptSome(Listener* li) {
  std::lock_guard lock(accept_mu);
  const int listen_fd = li->fd;
  if (listen_fd < 0) return;  // shut down
  // A bounded batch, so one worker does not spend a burst of connects
  // accepting while requests wait.
  for (int i = 0; i < 64; i++) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: back off instead of spinning on epoll.
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      break;  // EAGAIN: none left (or a transient error)
    }
    TuneSocket(fd, shared.options.idle_timeout_seconds);
    auto* l = new Link;
    l->fd = fd;
    l->remote = PeerName(peer);
    l->tls = li->tls;
    if (l->tls) {
      // The handshake's clock starts now: a client that connects and says
      // nothing is cut as one that stops halfway.
      l->handshake_deadline = Now() + Ticks(shared.options.tls_handshake_timeout_seconds);
      l->handshaking.store(true);
    }
    // Before the sweeper can see it: a link that looked idle since tick 0
    // would be shut before its first request was read (the client got no
    // reply at all; the server fuzzer hit it once in 77,611 connections).
    l->idle_since.store(Now());
    {
      std::lock_guard lk(links_mu);
      links.insert(l);
    }
    if (!Arm(l, EPOLL_CTL_ADD)) Drop(l);
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.ptr = li;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, listen_fd, &ev);
}

bool HttpServer::Impl::Handshake(Link* l) {
  if (!l->ssl) {
    // Non-blocking until the handshake is done: each step takes what the
    // client has sent and gives the worker back.
    l->ssl = l->tls->NewSession(l->fd);
    if (!l->ssl) {
      tls_counts->failed++;
      Drop(l);
      return false;
    }
    ::fcntl(l->fd, F_SETFL, ::fcntl(l->fd, F_GETFL) | O_NONBLOCK);
  }
  std::string error;
  bool plain_http = false;
  switch (TlsAcceptStep(l->ssl, &error, &plain_http)) {
    case TlsStep::kWantRead:
      if (!Arm(l, EPOLL_CTL_MOD)) Drop(l);
      return false;
    case TlsStep::kWantWrite:
      if (!Arm(l, EPOLL_CTL_MOD, EPOLLOUT)) Drop(l);
      return false;
    case TlsStep::kFailed:
      tls_counts->failed++;
      if (plain_http) {
        // What nginx does too: say it in the client's own protocol.
        tls_counts->plain_http++;
        static const std::string kMsg = [] {
          const std::string body =
              "This port speaks HTTPS (TLS); the request came in plain HTTP. Use https://.\n";
          return "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                 "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        }();
        if (::send(l->fd, kMsg.data(), kMsg.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
          // The client is gone: nothing to tell.
        }
      }
      Drop(l);
      return false;
    case TlsStep::kDone:
      break;
  }
  l->handshaking.store(false);
  ::fcntl(l->fd, F_SETFL, ::fcntl(l->fd, F_GETFL) & ~O_NONBLOCK);
  l->kernel_send = TlsKernelSend(l->ssl);
  (l->kernel_send ? tls_counts->kernel : tls_counts->user)++;
  // The request may not have come with the handshake's last flight: then it
  // is waited for in the epoll set, as on a plain connection.
  pollfd pf{l->fd, POLLIN, 0};
  if (TlsPending(l->ssl) || ::poll(&pf, 1, 0) > 0) return true;
  if (!Arm(l, EPOLL_CTL_MOD)) Drop(l);
  return false;
}

void HttpServer::Impl::WorkerLoop(http_internal::Conn* conn) {
  for (;;) {
    if (!conn->holds_token) {
      shared.pollers.acquire();
      conn->holds_token = true;
    }
    epoll_event ev{};
    int n = ::epoll_wait(epoll_fd, &ev, 1, -1);
    if (n < 0) {
      if (errno != EINTR) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (n == 0) continue;
    if (ev.data.ptr == &stop_fd) {  // stays signalled: every worker sees it
      conn->Yield();
      return;
    }
    if (Listener* li = FindListener(ev.data.ptr)) {
      AcceptSome(li);
      continue;
    }
    auto* l = static_cast<Link*>(ev.data.ptr);
    l->idle.store(false);
    if (l->handshaking.load()) {
      if (shared.stopping.load()) {
        Drop(l);
        continue;
      }
      if (!Handshake(l)) continue;
    }
    {
      std::lock_guard lock(shared.mu);
      if (shared.stopping.load()) {
        // A request arriving as we stop is dropped, as if it came a
        // moment later (nothing of it was read).
        conn->fd = -1;
      } else {
        conn->fd = l->fd;
        conn->state = http_internal::Conn::State::kBusy;
        conn->kicked = false;
      }
    }
    http_internal::Wire wire{l->fd, l->ssl, l->kernel_send};
    bool keep = conn->fd >= 0 && conn->Serve(wire, l->remote);
    {
      std::lock_guard lock(shared.mu);
      conn->state = http_internal::Conn::State::kNone;
      conn->fd = -1;
    }
    if (!keep || !Arm(l, EPOLL_CTL_MOD)) Drop(l);
  }
}

void HttpServer::Impl::SweepLoop() {
  const int64_t idle = Ticks(shared.options.idle_timeout_seconds);
  const bool any_tls = AnyTls();
  auto period = std::chrono::milliseconds(
      std::clamp(shared.options.idle_timeout_seconds * 1000 / 4, 50, 1000));
  std::unique_lock lock(sweep_mu);
  if (any_tls) {
    period = std::min(period, std::chrono::milliseconds(std::clamp(
                                  shared.options.tls_handshake_timeout_seconds * 1000 / 4, 50, 1000)));
  }
  while (!sweep_cv.wait_for(lock, period, [&] { return shared.stopping.load(); })) {
    const bool idle_sweep = shared.options.idle_timeout_seconds > 0;
    if (!idle_sweep && !any_tls) continue;
    int64_t now = Now();
    std::lock_guard lk(links_mu);
    for (Link* l : links) {
      // Shutting the socket down makes it readable (EOF): a worker picks
      // it up, reads nothing and closes it. A request racing the timeout
      // loses, as with any server's keep-alive timeout. A TLS handshake
      // waiting on its client past its deadline ends the same way.
      if (l->swept || !l->idle.load()) continue;
      const bool late_handshake = l->handshaking.load() && now >= l->handshake_deadline;
      if (late_handshake || (idle_sweep && now - l->idle_since.load() >= idle)) {
        ::shutdown(l->fd, SHUT_RDWR);
        l->swept = true;
      }
    }
  }
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options, Handler handler,
                                                      Metrics* metrics) {
  if (options.threads < 1) return Status::InvalidArgument("http server: threads must be >= 1");
  if (!handler) return Status::InvalidArgument("http server: no handler");
  // sendfile(2) cannot be told MSG_NOSIGNAL: a client gone mid-body must be
  // an EPIPE error, not the end of the process.
  struct sigaction sa {};
  if (::sigaction(SIGPIPE, nullptr, &sa) == 0 && sa.sa_handler == SIG_DFL) {
    ::signal(SIGPIPE, SIG_IGN);
  }
  auto impl = std::make_unique<Impl>();
  if (options.listeners.empty()) options.listeners.push_back({options.listen, nullptr});
  impl->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (impl->epoll_fd < 0) return Status::FromErrno("epoll_create1", errno);
  impl->stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->stop_fd < 0) return Status::FromErrno("eventfd", errno);
  epoll_event ev{};
  for (const HttpListener& want : options.listeners) {
    auto li = std::make_unique<Impl::Listener>();
    li->tls = want.tls;
    AS_ASSIGN_OR_RETURN(auto hp, SplitListen(want.address));
    AS_ASSIGN_OR_RETURN(li->fd, Listen(hp.first, hp.second, &li->port));
    // Non-blocking: a worker accepts until EAGAIN.
    ::fcntl(li->fd, F_SETFL, ::fcntl(li->fd, F_GETFL) | O_NONBLOCK);
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.ptr = li.get();
    if (::epoll_ctl(impl->epoll_fd, EPOLL_CTL_ADD, li->fd, &ev) != 0) {
      return Status::FromErrno("epoll_ctl(listen)", errno);
    }
    std::string host;
    if (hp.first.empty() || hp.first == "0.0.0.0") {
      host = "127.0.0.1";
    } else if (hp.first == "::") {
      host = "[::1]";
    } else if (hp.first.find(':') != std::string::npos) {
      host = "[" + hp.first + "]";
    } else {
      host = hp.first;
    }
    li->url = (li->tls ? "https://" : "http://") + host + ":" + std::to_string(li->port);
    impl->listeners.push_back(std::move(li));
  }
  ev.events = EPOLLIN;  // level-triggered and never read: wakes every worker
  ev.data.ptr = &impl->stop_fd;
  if (::epoll_ctl(impl->epoll_fd, EPOLL_CTL_ADD, impl->stop_fd, &ev) != 0) {
    return Status::FromErrno("epoll_ctl(eventfd)", errno);
  }
  if (metrics && impl->AnyTls()) {
    metrics->AddGaugeSource([c = impl->tls_counts](std::string* out) {
      Metrics::AppendCounter(out, "as_tls_connections_kernel_total",
                             "TLS connections whose responses the kernel encrypts (kTLS: "
                             "file bytes go out by sendfile).",
                             double(c->kernel.load()));
      Metrics::AppendCounter(out, "as_tls_connections_userspace_total",
                             "TLS connections encrypted in the process (no kernel TLS).",
                             double(c->user.load()));
      Metrics::AppendCounter(out, "as_tls_handshake_failures_total",
                             "TLS handshakes that failed or timed out.", double(c->failed.load()));
      Metrics::AppendCounter(out, "as_tls_plain_http_refused_total",
                             "Plain HTTP requests sent to a TLS port (answered 400).",
                             double(c->plain_http.load()));
    });
  }
  impl->shared.options = std::move(options);
  impl->shared.handler = std::move(handler);
  impl->shared.metrics = metrics;

  Impl* p = impl.get();
  int n = p->shared.options.threads;
  p->shared.pollers.release(Pollers(p->shared.options));
  p->conns.reserve(size_t(n));
  for (int i = 0; i < n; i++) p->conns.push_back(http_internal::Conn::New(&p->shared));
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(impl)));
  for (int i = 0; i < n; i++) {
    http_internal::Conn* c = p->conns[size_t(i)].get();
    p->workers.emplace_back([p, c] { p->WorkerLoop(c); });
  }
  p->sweeper = std::thread([p] { p->SweepLoop(); });
  return server;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(); }

std::string HttpServer::url() const { return impl_->listeners.front()->url; }

std::vector<std::string> HttpServer::urls() const {
  std::vector<std::string> out;
  for (const auto& li : impl_->listeners) out.push_back(li->url);
  return out;
}

int HttpServer::port() const { return impl_->listeners.front()->port; }

void HttpServer::Shutdown() {
  Impl* p = impl_.get();
  std::call_once(p->shutdown_once, [p] {
    {
      std::lock_guard lock(p->shared.mu);
      p->shared.stopping.store(true);
      // A worker reading a header has its read side shut (its request is
      // dropped, as if it had come a moment later). Busy ones see
      // `stopping` when their request ends and answer Connection: close.
      for (auto& c : p->conns) {
        if (c->state == http_internal::Conn::State::kHeader) {
          ::shutdown(c->fd, SHUT_RD);
          c->kicked = true;
        }
      }
    }
    uint64_t one = 1;
    if (::write(p->stop_fd, &one, sizeof(one)) < 0) {
      // Cannot fail for an eventfd counter this small.
    }
    // Tokens for every worker, so those waiting for one reach epoll_wait
    // and see the stop.
    p->shared.pollers.release(std::ptrdiff_t(p->workers.size()));
    {
      // Refuse new connections at once rather than leave them in the backlog.
      std::lock_guard lock(p->accept_mu);
      for (auto& li : p->listeners) {
        ::close(li->fd);
        li->fd = -1;
      }
    }
    {
      // Idle connections see their end now, not after the slowest request.
      std::lock_guard lock(p->links_mu);
      for (auto* l : p->links) {
        if (l->idle.load()) ::shutdown(l->fd, SHUT_RDWR);
      }
    }
    {
      std::lock_guard lock(p->sweep_mu);
      p->sweep_cv.notify_all();
    }
    if (p->sweeper.joinable()) p->sweeper.join();
    for (auto& t : p->workers) {
      if (t.joinable()) t.join();
    }
    // No worker is left: every link still known is idle; ~Impl closes them.
  });
}

}  // namespace as
