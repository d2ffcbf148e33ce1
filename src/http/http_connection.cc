// One connection: parse a request header with Beast, hand the handler a
// pull-style body and a push-style writer over the blocking socket, keep the
// connection framed whatever the handler did, repeat while keep-alive.
//
// Reads go through FdStream (recv with SO_RCVTIMEO) rather than an Asio
// socket: Asio's blocking reads poll without a timeout when the socket
// reports EAGAIN, which would defeat the idle timeout. Writes are sendmsg
// with MSG_NOSIGNAL, so a vanished client is an error, not SIGPIPE.
#include "http/http_connection.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <limits>

#include "http/http_response.h"
#include "http/metrics.h"

namespace as::http_internal {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using beast::error_code;

namespace {

// A handler that leaves at most this much request body unread keeps the
// connection: the rest is read and dropped. More costs less to close.
constexpr uint64_t kDrainLimit = 1 << 20;
// Upper bound on how long a closing connection keeps reading what the
// client is still sending, so our response is not lost to a TCP reset.
constexpr int kLingerMillis = 2000;

// SyncReadStream over a blocking socket (plain or TLS); EAGAIN means
// SO_RCVTIMEO expired.
// Each read first tries without waiting; only when nothing has arrived does
// it call `before_wait` (the worker gives its poller token back) and block.
class FdStream {
 public:
  const Wire* wire = nullptr;
  std::function<void()> before_wait;

  size_t Recv(void* p, size_t n, error_code& ec) {
    bool dontwait = true;
    for (;;) {
      ssize_t r = http_internal::Recv(*wire, p, n, dontwait);
      if (r > 0) return size_t(r);
      if (r == 0) {
        ec = boost::asio::error::eof;
        return 0;
      }
      if (errno == EINTR) continue;
      if ((errno == EAGAIN || errno == EWOULDBLOCK) && dontwait) {
        if (before_wait) before_wait();
        dontwait = false;
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        ec = make_error_code(boost::system::errc::timed_out);
      } else {
        ec = error_code(errno, boost::system::system_category());
      }
      return 0;
    }
  }
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, error_code& ec) {
    ec = {};
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::mutable_buffer b = *it;
      if (b.size() > 0) return Recv(b.data(), b.size(), ec);
    }
    return 0;
  }
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
};

// Fills an HttpRequest in place (reusing its strings between requests) and
// copies chunked body bytes into the window the handler's Read() offers.
class RequestParser : public http::basic_parser<true> {
 public:
  explicit RequestParser(HttpRequest* req) : req_(req) {}

  uint8_t* window = nullptr;
  size_t window_left = 0;
  size_t produced = 0;

 private:
  void on_request_impl(http::verb, beast::string_view method, beast::string_view target,
                       int version, error_code&) override {
    req_->method.assign(method.data(), method.size());
    req_->target.assign(target.data(), target.size());
    req_->version = version;
  }
  void on_response_impl(int, beast::string_view, int, error_code&) override {}
  void on_field_impl(http::field, beast::string_view name, beast::string_view value,
                     error_code&) override {
    auto& h = req_->headers;
    if (fields_ < h.size()) {
      h[fields_].first.assign(name.data(), name.size());
      h[fields_].second.assign(value.data(), value.size());
    } else {
      h.emplace_back(std::string(name), std::string(value));
    }
    fields_++;
  }
  void on_header_impl(error_code&) override { req_->headers.resize(fields_); }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  size_t on_body_impl(beast::string_view body, error_code& ec) override {
    return Take(body, ec);
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code& ec) override {
    return Take(body, ec);
  }
  void on_finish_impl(error_code&) override {}

  size_t Take(beast::string_view body, error_code& ec) {
    if (window_left == 0) {
      ec = http::error::need_buffer;
      return 0;
    }
    size_t n = std::min(window_left, body.size());
    std::memcpy(window, body.data(), n);
    window += n;
    window_left -= n;
    produced += n;
    return n;
  }

  HttpRequest* req_;
  size_t fields_ = 0;
};

bool IsHttpError(const error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::need_more).category();
}

class ConnImpl final : public Conn, private Response::Host {
 public:
  explicit ConnImpl(ServerShared* shared)
      : Conn(shared),
        response_(this, shared->options.server_name.empty() ? "artifact-store"
                                                             : shared->options.server_name) {
    stream_.wire = &wire_;
    stream_.before_wait = [this] { Yield(); };
  }

  bool Serve(const Wire& wire, const std::string& remote) override;

 private:
  enum class BodyKind { kNone, kLength, kChunked };

  // Moves to `next` unless Shutdown says this connection must end.
  bool Enter(State next);
  // Serves one parsed request; false when the connection must close.
  bool HandleRequest();
  void RejectRequest(const error_code& ec);
  void DrainBody();
  void Linger();
  bool MustClose() const override;

  Result<size_t> BodyRead(uint8_t* buf, size_t cap) override;
  uint64_t BodyBytesRead() const override { return body_read_; }
  bool BodyFinished() const override { return body_done_; }
  void SetStatus(int status) override { response_.SetStatus(status); }
  void SetHeader(std::string name, std::string value) override {
    response_.SetHeader(std::move(name), std::move(value));
  }
  void SetOperation(std::string op) override { response_.SetOperation(std::move(op)); }
  void CloseAfter() override { response_.CloseAfter(); }
  // A response larger than this may wait on the client's window: yield the
  // poller token before sending it.
  static constexpr uint64_t kYieldBytes = 64 << 10;
  Status Send(int status, std::string body, std::string content_type) override {
    if (body.size() > kYieldBytes) Yield();
    return response_.Send(status, std::move(body), std::move(content_type));
  }
  Status WriteHead(std::optional<uint64_t> content_length) override {
    if (!content_length || *content_length > kYieldBytes) Yield();
    return response_.WriteHead(content_length);
  }
  Status Write(const uint8_t* data, size_t n) override {
    if (n > kYieldBytes) Yield();
    return response_.Write(data, n);
  }
  Status WriteFile(const uint8_t* data, size_t n, int file_fd, uint64_t offset) override {
    if (n > kYieldBytes) Yield();
    return response_.WriteFile(data, n, file_fd, offset);
  }
  Status Finish() override { return response_.Finish(); }
  bool HeadSent() const override { return response_.head_committed(); }

  Wire wire_;
  FdStream stream_;
  beast::flat_buffer buf_;  // bytes read past the current parse point
  std::optional<RequestParser> parser_;
  HttpRequest req_;
  Response response_;
  bool keep_alive_ = false;  // what the request allows
  bool close_ = false;       // the request side says close (body error, drain)

  // Request body.
  BodyKind body_kind_ = BodyKind::kNone;
  uint64_t body_remaining_ = 0;  // kLength
  uint64_t body_read_ = 0;
  bool body_done_ = true;
  Status body_error_;
  bool continue_pending_ = false;  // Expect: 100-continue not yet answered
};

bool ConnImpl::Serve(const Wire& wire, const std::string& remote) {
  wire_ = wire;
  req_.remote = remote;
  buf_.clear();
  // The first request is arriving (the socket polled readable); later ones
  // are served here only when already buffered (pipelined). Otherwise the
  // connection goes back to the server to wait without a thread.
  do {
    if (!Enter(State::kHeader)) return false;
    parser_.emplace(&req_);
    parser_->header_limit(uint32_t(std::min<size_t>(shared_->options.max_header_bytes, 1u << 30)));
    // No limit: bodies are streamed. (Not boost::none: Beast 1.74 then
    // rejects every Content-Length, boostorg/beast#2070.)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    error_code ec;
    http::read_header(stream_, buf_, *parser_, ec);
    if (!Enter(State::kBusy)) return false;
    if (ec) {
      RejectRequest(ec);
      return false;
    }
    if (!HandleRequest()) return false;
    // TLS may hold a pipelined request already read from the socket, which
    // epoll would never report.
  } while (buf_.size() > 0 || Pending(wire_));
  return !shared_->stopping.load();
}

bool ConnImpl::Enter(State next) {
  std::lock_guard lock(shared_->mu);
  // Shutdown closes connections that are between requests; one whose read
  // side it shut while a header was arriving cannot be served.
  if (kicked || (next == State::kHeader && shared_->stopping.load())) return false;
  state = next;
  return true;
}

void ConnImpl::RejectRequest(const error_code& ec) {
  // A client that closed or went quiet between requests is not an error.
  if (!IsHttpError(ec) || ec == http::error::end_of_stream ||
      ec == http::error::partial_message) {
    return;
  }
  auto start = std::chrono::steady_clock::now();
  req_.method.clear();
  req_.version = 11;
  NewRequestId(&req_.request_id);
  keep_alive_ = false;
  body_kind_ = BodyKind::kNone;
  body_done_ = true;
  continue_pending_ = false;
  response_.Begin(&wire_, &req_);
  response_.SetOperation("invalid");
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    std::string msg = "request header larger than ";
    AppendUint(&msg, shared_->options.max_header_bytes);
    msg += " bytes\n";
    response_.Send(431, std::move(msg), "text/plain").IgnoreError();
  } else {
    response_.Send(400, "malformed request: " + ec.message() + "\n", "text/plain").IgnoreError();
  }
  if (shared_->metrics) {
    std::chrono::duration<double> d = std::chrono::steady_clock::now() - start;
    shared_->metrics->Record(response_.op(), response_.status(), d.count(), 0,
                             response_.body_bytes_sent());
  }
  Linger();
}

bool ConnImpl::MustClose() const {
  return close_ || !keep_alive_ || shared_->stopping.load() ||
         (!body_done_ && (continue_pending_ || body_kind_ == BodyKind::kChunked ||
                          body_remaining_ > kDrainLimit));
}

bool ConnImpl::HandleRequest() {
  auto start = std::chrono::steady_clock::now();
  NewRequestId(&req_.request_id);
  keep_alive_ = parser_->keep_alive();
  close_ = false;
  auto length = parser_->content_length();
  req_.chunked = parser_->chunked();
  req_.content_length.reset();
  if (length) req_.content_length = *length;
  body_read_ = 0;
  body_error_ = Status::OK();
  if (req_.chunked) {
    body_kind_ = BodyKind::kChunked;
    body_done_ = false;
    parser_->eager(true);
  } else if (length && *length > 0) {
    body_kind_ = BodyKind::kLength;
    body_remaining_ = *length;
    body_done_ = false;
  } else {
    body_kind_ = BodyKind::kNone;
    body_done_ = true;
  }
  const std::string* expect = req_.Header("expect");
  continue_pending_ = !body_done_ && req_.version >= 11 && expect &&
                      IEquals(*expect, "100-continue");
  response_.Begin(&wire_, &req_);

  if (shared_->metrics) shared_->metrics->RequestStarted();
  try {
    CallHandler(req_);
  } catch (const std::exception& e) {
    // Exceptions are not our error channel, but one must not take the
    // worker (and the process) down with it.
    close_ = true;
    if (!response_.head_committed()) {
      response_.Send(500, std::string("internal error: ") + e.what() + "\n", "text/plain")
          .IgnoreError();
    }
  }
  response_.Complete();
  if (response_.close()) close_ = true;
  if (!close_ && !body_done_) DrainBody();
  if (shared_->metrics) {
    std::chrono::duration<double> d = std::chrono::steady_clock::now() - start;
    shared_->metrics->Record(response_.op(), response_.status(), d.count(), body_read_,
                             response_.body_bytes_sent());
    shared_->metrics->RequestEnded();
  }
  bool keep = !close_ && keep_alive_ && !shared_->stopping.load();
  if (!keep && !body_done_ && body_error_.ok() && !response_.broken()) Linger();
  return keep;
}

void ConnImpl::DrainBody() {
  if (continue_pending_ || (body_kind_ == BodyKind::kLength && body_remaining_ > kDrainLimit)) {
    // The client is waiting for 100 Continue, or the rest is large: close.
    close_ = true;
    return;
  }
  uint8_t scratch[16384];
  uint64_t drained = 0;
  while (!body_done_ && drained <= kDrainLimit) {
    auto r = BodyRead(scratch, sizeof(scratch));
    if (!r.ok()) return;  // BodyRead set close_
    drained += *r;
  }
  if (!body_done_) close_ = true;
}

// After a response that leaves request bytes unread, closing at once would
// make the kernel answer them with a reset, which can destroy the response
// before the client reads it. Say we are done, then read and drop what
// still arrives for a short while.
void ConnImpl::Linger() {
  Yield();
  if (::shutdown(wire_.fd, SHUT_WR) != 0) return;
  timeval tv{0, 200 * 1000};
  ::setsockopt(wire_.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kLingerMillis);
  uint8_t scratch[16384];
  while (std::chrono::steady_clock::now() < deadline) {
    // Raw, under TLS too: what comes is dropped unread.
    ssize_t r = ::recv(wire_.fd, scratch, sizeof(scratch), 0);
    if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) break;
  }
}

Result<size_t> ConnImpl::BodyRead(uint8_t* buf, size_t cap) {
  if (!body_error_.ok()) return body_error_;
  if (body_done_) return size_t{0};
  if (cap == 0) return Status::InvalidArgument("request body: Read with an empty buffer");
  // A request with a body is an upload: it may wait on the client and on
  // the disk (fsync), so this worker stops holding up polling.
  Yield();
  if (continue_pending_) {
    continue_pending_ = false;
    if (!response_.head_flushed()) {
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      iovec iov{const_cast<char*>(kContinue), sizeof(kContinue) - 1};
      Status s = SendAll(wire_, &iov, 1);
      if (!s.ok()) {
        body_error_ = s.WithContext("request body: sending 100 Continue");
        close_ = true;
        return body_error_;
      }
    }
  }
  error_code ec;
  size_t n = 0;
  if (body_kind_ == BodyKind::kLength) {
    size_t want = size_t(std::min<uint64_t>(cap, body_remaining_));
    if (buf_.size() > 0) {
      n = std::min(want, buf_.size());
      std::memcpy(buf, buf_.data().data(), n);
      buf_.consume(n);
    } else {
      n = stream_.Recv(buf, want, ec);
    }
    body_remaining_ -= n;
    if (body_remaining_ == 0) body_done_ = true;
  } else {
    parser_->window = buf;
    parser_->window_left = cap;
    parser_->produced = 0;
    while (parser_->produced == 0 && !parser_->is_done()) {
      http::read_some(stream_, buf_, *parser_, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) break;
    }
    n = parser_->produced;
    parser_->window = nullptr;
    parser_->window_left = 0;
    if (!ec && parser_->is_done()) body_done_ = true;
  }
  body_read_ += n;
  if (ec) {
    std::string where = "request body at byte ";
    AppendUint(&where, body_read_);
    if (body_kind_ == BodyKind::kLength) {
      where += " of ";
      AppendUint(&where, *req_.content_length);
    }
    if (ec == boost::asio::error::eof || ec == http::error::partial_message ||
        ec == http::error::end_of_stream) {
      body_error_ = Status::IOError(where + ": truncated, the client closed the connection");
    } else if (ec == boost::system::errc::timed_out) {
      body_error_ = Status::IOError(where + ": the client sent nothing for " +
                                    std::to_string(shared_->options.idle_timeout_seconds) + " s");
    } else if (IsHttpError(ec)) {
      body_error_ = Status::InvalidArgument(where + ": malformed chunked encoding: " + ec.message());
    } else {
      body_error_ = Status::IOError(where + ": " + ec.message());
    }
    close_ = true;
    return body_error_;
  }
  return n;
}

}  // namespace

std::unique_ptr<Conn> Conn::New(ServerShared* shared) {
  return std::make_unique<ConnImpl>(shared);
}

Conn::Conn(ServerShared* shared) : shared_(shared) {}

Conn::~Conn() = default;

}  // namespace as::http_internal

namespace as {

const std::string* HttpRequest::Header(std::string_view name) const {
  for (const auto& h : headers) {
    if (http_internal::IEquals(h.first, name)) return &h.second;
  }
  return nullptr;
}

Result<size_t> RequestBody::Read(uint8_t* buf, size_t cap) { return c_->BodyRead(buf, cap); }
uint64_t RequestBody::bytes_read() const { return c_->BodyBytesRead(); }
bool RequestBody::finished() const { return c_->BodyFinished(); }

void ResponseWriter::SetStatus(int status) { c_->SetStatus(status); }
void ResponseWriter::SetHeader(std::string name, std::string value) {
  c_->SetHeader(std::move(name), std::move(value));
}
void ResponseWriter::SetOperation(std::string op) { c_->SetOperation(std::move(op)); }
void ResponseWriter::CloseAfter() { c_->CloseAfter(); }
Status ResponseWriter::Send(int status, std::string body, std::string content_type) {
  return c_->Send(status, std::move(body), std::move(content_type));
}
Status ResponseWriter::WriteHead(std::optional<uint64_t> content_length) {
  return c_->WriteHead(content_length);
}
Status ResponseWriter::Write(const uint8_t* data, size_t n) { return c_->Write(data, n); }
Status ResponseWriter::WriteFile(const uint8_t* data, size_t n, int file_fd, uint64_t offset) {
  return c_->WriteFile(data, n, file_fd, offset);
}
Status ResponseWriter::Finish() { return c_->Finish(); }
bool ResponseWriter::head_sent() const { return c_->HeadSent(); }

}  // namespace as
