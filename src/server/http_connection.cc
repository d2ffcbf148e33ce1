// One connection: parse a request header with Beast, hand the handler a
// pull-style body and a push-style writer over the blocking socket, keep the
// connection framed whatever the handler did, repeat while keep-alive.
//
// Reads go through FdStream (recv with SO_RCVTIMEO) rather than an Asio
// socket: Asio's blocking reads poll without a timeout when the socket
// reports EAGAIN, which would defeat the idle timeout. Writes are sendmsg
// with MSG_NOSIGNAL, so a vanished client is an error, not SIGPIPE.
#include "server/http_connection.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <limits>
#include <random>

#include "server/metrics.h"

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

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

void AppendUint(std::string* out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

// "Sun, 06 Nov 1994 08:49:37 GMT", formatted at most once a second per thread.
std::string_view HttpDate() {
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local time_t cached = -1;
  thread_local char buf[40];
  thread_local size_t len = 0;
  time_t now = ::time(nullptr);
  if (now != cached) {
    struct tm tm;
    ::gmtime_r(&now, &tm);
    int n = std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                          kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12],
                          tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    len = n > 0 ? size_t(n) : 0;
    cached = now;
  }
  return {buf, len};
}

// Unique per process: a counter from a random start, through a bijective
// mixer (splitmix64's finalizer) so ids do not look sequential.
void NewRequestId(std::string* out) {
  static std::atomic<uint64_t> counter{std::random_device{}() * 0x9E3779B97F4A7C15ull};
  uint64_t z = counter.fetch_add(1, std::memory_order_relaxed);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  static const char kHex[] = "0123456789ABCDEF";
  out->resize(16);
  for (int i = 15; i >= 0; i--, z >>= 4) (*out)[i] = kHex[z & 15];
}

// Writes every byte of iov[0..count) or fails; iov is consumed.
Status SendAll(int fd, iovec* iov, int count) {
  while (count > 0 && iov->iov_len == 0) iov++, count--;
  while (count > 0) {
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = size_t(count);
    ssize_t r = ::sendmsg(fd, &m, MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return Status::IOError("send: client accepted no data before the timeout");
      }
      return Status::FromErrno("send", errno);
    }
    size_t left = size_t(r);
    while (count > 0 && left >= iov->iov_len) left -= iov->iov_len, iov++, count--;
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return Status::OK();
}

// SyncReadStream over a blocking socket; EAGAIN means SO_RCVTIMEO expired.
class FdStream {
 public:
  int fd = -1;

  size_t Recv(void* p, size_t n, error_code& ec) {
    for (;;) {
      ssize_t r = ::recv(fd, p, n, 0);
      if (r > 0) return size_t(r);
      if (r == 0) {
        ec = boost::asio::error::eof;
        return 0;
      }
      if (errno == EINTR) continue;
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

class ConnImpl final : public Conn {
 public:
  explicit ConnImpl(ServerShared* shared) : Conn(shared) {
    server_name_ = shared->options.server_name.empty() ? "artifact-store"
                                                       : shared->options.server_name;
  }

  bool Serve(int fd, const std::string& remote) override;

 private:
  enum class BodyKind { kNone, kLength, kChunked };
  enum class Wait { kReady, kClose, kPark };

  // Waits for the first byte of the next request, or to be told to let go.
  Wait WaitForRequest();
  // Moves to `next` unless Shutdown says this connection must end.
  bool Enter(State next);
  // Serves one parsed request; false when the connection must close.
  bool HandleRequest();
  void RejectRequest(const error_code& ec);
  void BeginResponse();
  void CompleteResponse();
  void DrainBody();
  void Linger();
  void AppendHead(uint64_t length, bool chunked, bool close_delimited);
  Status Flush(const uint8_t* data, size_t n, bool chunk, bool last_chunk);
  Status Broken(Status s) {
    write_error_ = s;
    close_ = true;
    return s;
  }

  Result<size_t> BodyRead(uint8_t* buf, size_t cap) override;
  uint64_t BodyBytesRead() const override { return body_read_; }
  bool BodyFinished() const override { return body_done_; }
  void SetStatus(int status) override { status_ = status; }
  void SetHeader(std::string name, std::string value) override;
  void SetOperation(std::string op) override { op_ = std::move(op); }
  void CloseAfter() override { close_ = true; }
  Status Send(int status, std::string body, std::string content_type) override;
  Status WriteHead(std::optional<uint64_t> content_length) override;
  Status Write(const uint8_t* data, size_t n) override;
  Status Finish() override;
  bool HeadSent() const override { return head_committed_; }

  std::string server_name_;
  FdStream stream_;
  beast::flat_buffer buf_;  // bytes read past the current parse point
  std::optional<RequestParser> parser_;
  HttpRequest req_;

  // Request body.
  BodyKind body_kind_ = BodyKind::kNone;
  uint64_t body_remaining_ = 0;  // kLength
  uint64_t body_read_ = 0;
  bool body_done_ = true;
  Status body_error_;
  bool continue_pending_ = false;  // Expect: 100-continue not yet answered

  // Response.
  int status_ = 200;
  std::vector<std::pair<std::string, std::string>> headers_;
  size_t header_count_ = 0;  // headers_[0..count) are live; the rest keep capacity
  std::string op_;
  std::string head_;            // serialized header, until flushed
  bool head_committed_ = false;  // Send or WriteHead called
  bool head_flushed_ = false;    // head_ written to the socket
  bool finished_ = false;
  bool is_head_request_ = false;
  bool keep_alive_ = false;  // what the request allows
  bool close_ = false;       // the connection ends after this response
  bool chunked_ = false;
  bool close_delimited_ = false;  // HTTP/1.0 client, length unknown
  uint64_t promised_ = 0;         // Content-Length, when not chunked
  uint64_t written_ = 0;          // body bytes sent
  Status write_error_;
};

bool ConnImpl::Serve(int fd, const std::string& remote) {
  stream_.fd = fd;
  req_.remote = remote;
  buf_.clear();
  for (;;) {
    // A pipelined request already buffered needs no waiting (and cannot be
    // parked: the buffer stays with this worker).
    if (buf_.size() == 0) {
      Wait w = WaitForRequest();
      if (w == Wait::kClose) return false;
      if (w == Wait::kPark) {
        shared_->park(fd, remote);
        return true;
      }
    }
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
  }
}

ConnImpl::Wait ConnImpl::WaitForRequest() {
  {
    std::lock_guard lock(shared_->mu);
    if (shared_->stopping.load()) return Wait::kClose;
    state = State::kIdle;
    asked = false;
  }
  int timeout_ms = shared_->options.idle_timeout_seconds > 0
                       ? shared_->options.idle_timeout_seconds * 1000
                       : -1;
  for (;;) {
    pollfd fds[2] = {{stream_.fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int r = ::poll(fds, 2, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Wait::kClose;  // idle timeout (or poll failed)
    if (fds[1].revents) {
      // Told to let go. Even if a request is arriving, parking is right:
      // the server queues the connection again behind the ones waiting.
      uint64_t v;
      while (::read(wake_fd_, &v, sizeof(v)) > 0) {
      }
      std::lock_guard lock(shared_->mu);
      if (shared_->stopping.load()) return Wait::kClose;
      state = State::kNone;
      this->fd = -1;
      asked = false;
      return Wait::kPark;
    }
    return Wait::kReady;
  }
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
  req_.method.clear();
  req_.version = 11;
  BeginResponse();
  keep_alive_ = false;
  close_ = true;
  op_ = "invalid";
  auto start = std::chrono::steady_clock::now();
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    std::string msg = "request header larger than ";
    AppendUint(&msg, shared_->options.max_header_bytes);
    msg += " bytes\n";
    Send(431, std::move(msg), "text/plain").IgnoreError();
  } else {
    Send(400, "malformed request: " + ec.message() + "\n", "text/plain").IgnoreError();
  }
  if (shared_->metrics) {
    std::chrono::duration<double> d = std::chrono::steady_clock::now() - start;
    shared_->metrics->Record(op_, status_, d.count(), 0, written_);
  }
  Linger();
}

void ConnImpl::BeginResponse() {
  NewRequestId(&req_.request_id);
  status_ = 200;
  header_count_ = 0;
  op_ = "other";
  head_.clear();
  head_committed_ = head_flushed_ = finished_ = false;
  close_ = chunked_ = close_delimited_ = false;
  promised_ = written_ = 0;
  write_error_ = Status::OK();
  is_head_request_ = req_.method == "HEAD";
}

bool ConnImpl::HandleRequest() {
  auto start = std::chrono::steady_clock::now();
  BeginResponse();
  keep_alive_ = parser_->keep_alive();
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

  if (shared_->metrics) shared_->metrics->RequestStarted();
  try {
    CallHandler(req_);
  } catch (const std::exception& e) {
    // Exceptions are not our error channel, but one must not take the
    // worker (and the process) down with it.
    if (!head_committed_) {
      Send(500, std::string("internal error: ") + e.what() + "\n", "text/plain").IgnoreError();
    }
    close_ = true;
  }
  CompleteResponse();
  if (!close_ && !body_done_) DrainBody();
  if (shared_->metrics) {
    std::chrono::duration<double> d = std::chrono::steady_clock::now() - start;
    shared_->metrics->Record(op_, status_, d.count(), body_read_, written_);
    shared_->metrics->RequestEnded();
  }
  bool keep = !close_ && keep_alive_ && !shared_->stopping.load();
  if (!keep && !body_done_ && body_error_.ok() && write_error_.ok()) Linger();
  return keep;
}

void ConnImpl::CompleteResponse() {
  if (!head_committed_) {
    Send(500, "internal error: the handler sent no response\n", "text/plain").IgnoreError();
    return;
  }
  if (finished_ || !write_error_.ok()) return;
  if (chunked_) {
    // A chunked body without its last chunk tells the client it was cut.
    if (!head_flushed_) Flush(nullptr, 0, false, false).IgnoreError();
    close_ = true;
    return;
  }
  Finish().IgnoreError();
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
  if (::shutdown(stream_.fd, SHUT_WR) != 0) return;
  timeval tv{0, 200 * 1000};
  ::setsockopt(stream_.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kLingerMillis);
  uint8_t scratch[16384];
  while (std::chrono::steady_clock::now() < deadline) {
    ssize_t r = ::recv(stream_.fd, scratch, sizeof(scratch), 0);
    if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) break;
  }
}

Result<size_t> ConnImpl::BodyRead(uint8_t* buf, size_t cap) {
  if (!body_error_.ok()) return body_error_;
  if (body_done_) return size_t{0};
  if (cap == 0) return Status::InvalidArgument("request body: Read with an empty buffer");
  if (continue_pending_) {
    continue_pending_ = false;
    if (!head_flushed_) {
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      iovec iov{const_cast<char*>(kContinue), sizeof(kContinue) - 1};
      Status s = SendAll(stream_.fd, &iov, 1);
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

void ConnImpl::SetHeader(std::string name, std::string value) {
  if (IEquals(name, "content-length") || IEquals(name, "transfer-encoding") ||
      IEquals(name, "connection") || IEquals(name, "date")) {
    return;
  }
  // A CR or LF would let a value (e.g. user metadata) inject header lines.
  for (char& c : name) {
    if (c == '\r' || c == '\n' || c == '\0' || c == ':') c = ' ';
  }
  for (char& c : value) {
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
  for (size_t i = 0; i < header_count_; i++) {
    if (IEquals(headers_[i].first, name)) {
      headers_[i].second = std::move(value);
      return;
    }
  }
  if (header_count_ < headers_.size()) {
    headers_[header_count_].first = std::move(name);
    headers_[header_count_].second = std::move(value);
  } else {
    headers_.emplace_back(std::move(name), std::move(value));
  }
  header_count_++;
}

void ConnImpl::AppendHead(uint64_t length, bool chunked, bool close_delimited) {
  // Say Connection: close whenever we already know we will close.
  if (!keep_alive_ || shared_->stopping.load() || close_delimited ||
      (!body_done_ && (continue_pending_ || body_kind_ == BodyKind::kChunked ||
                       body_remaining_ > kDrainLimit))) {
    close_ = true;
  }
  head_.clear();
  head_ += "HTTP/1.1 ";
  AppendUint(&head_, uint64_t(status_));
  head_ += ' ';
  auto reason = http::obsolete_reason(http::int_to_status(unsigned(status_)));
  head_.append(reason.data(), reason.size());
  head_ += "\r\nServer: ";
  head_ += server_name_;
  head_ += "\r\nDate: ";
  head_ += HttpDate();
  head_ += "\r\nx-amz-request-id: ";
  head_ += req_.request_id;
  head_ += "\r\n";
  for (size_t i = 0; i < header_count_; i++) {
    head_ += headers_[i].first;
    head_ += ": ";
    head_ += headers_[i].second;
    head_ += "\r\n";
  }
  if (chunked) {
    head_ += "Transfer-Encoding: chunked\r\n";
  } else if (!close_delimited) {
    head_ += "Content-Length: ";
    AppendUint(&head_, length);
    head_ += "\r\n";
  }
  if (close_) {
    head_ += "Connection: close\r\n";
  } else if (req_.version < 11) {
    head_ += "Connection: keep-alive\r\n";
  }
  head_ += "\r\n";
  head_committed_ = true;
}

// Sends the head if not yet sent, then data as raw bytes or as one chunk
// (and the last chunk), in one syscall.
Status ConnImpl::Flush(const uint8_t* data, size_t n, bool chunk, bool last_chunk) {
  iovec iov[5];
  int count = 0;
  if (!head_flushed_) iov[count++] = {head_.data(), head_.size()};
  char size_line[24];
  if (chunk && n > 0) {
    auto r = std::to_chars(size_line, size_line + 16, n, 16);
    *r.ptr++ = '\r';
    *r.ptr++ = '\n';
    iov[count++] = {size_line, size_t(r.ptr - size_line)};
  }
  if (n > 0) iov[count++] = {const_cast<uint8_t*>(data), n};
  static const char kCrlf[] = "\r\n";
  static const char kLast[] = "0\r\n\r\n";
  if (chunk && n > 0) iov[count++] = {const_cast<char*>(kCrlf), 2};
  if (last_chunk) iov[count++] = {const_cast<char*>(kLast), 5};
  head_flushed_ = true;
  Status s = SendAll(stream_.fd, iov, count);
  if (!s.ok()) return Broken(s);
  return s;
}

Status ConnImpl::Send(int status, std::string body, std::string content_type) {
  if (head_committed_) return Status::FailedPrecondition("response: head already sent");
  status_ = status;
  if (!content_type.empty()) SetHeader("Content-Type", std::move(content_type));
  AppendHead(body.size(), false, false);
  finished_ = true;
  if (is_head_request_) return Flush(nullptr, 0, false, false);
  written_ = body.size();
  return Flush(reinterpret_cast<const uint8_t*>(body.data()), body.size(), false, false);
}

Status ConnImpl::WriteHead(std::optional<uint64_t> content_length) {
  if (head_committed_) return Status::FailedPrecondition("response: head already sent");
  if (content_length) {
    promised_ = *content_length;
  } else if (req_.version >= 11) {
    chunked_ = true;
  } else {
    close_delimited_ = true;
  }
  AppendHead(promised_, chunked_, close_delimited_);
  if (is_head_request_) {
    finished_ = true;
    return Flush(nullptr, 0, false, false);
  }
  // The head waits for the first body bytes so both leave in one packet.
  return Status::OK();
}

Status ConnImpl::Write(const uint8_t* data, size_t n) {
  if (!head_committed_) return Status::FailedPrecondition("response: Write before WriteHead");
  if (!write_error_.ok()) return write_error_;
  if (finished_) {
    if (is_head_request_ && n == 0) return Status::OK();
    return Status::FailedPrecondition("response: Write after the body ended");
  }
  if (!chunked_ && !close_delimited_ && n > promised_ - written_) {
    std::string m = "response: writing ";
    AppendUint(&m, n);
    m += " bytes at byte ";
    AppendUint(&m, written_);
    m += " passes the Content-Length ";
    AppendUint(&m, promised_);
    close_ = true;
    return Status::InvalidArgument(std::move(m));
  }
  if (n == 0) return Status::OK();  // an empty chunk would end the body
  AS_RETURN_IF_ERROR(Flush(data, n, chunked_, false));
  written_ += n;
  return Status::OK();
}

Status ConnImpl::Finish() {
  if (!head_committed_) return Status::FailedPrecondition("response: Finish before WriteHead");
  if (!write_error_.ok()) return write_error_;
  if (finished_) return Status::OK();
  finished_ = true;
  if (chunked_) return Flush(nullptr, 0, false, true);
  if (close_delimited_) {
    close_ = true;
    return head_flushed_ ? Status::OK() : Flush(nullptr, 0, false, false);
  }
  if (written_ < promised_) {
    // Never pad: the client must see a body that is short, not wrong.
    close_ = true;
    if (!head_flushed_) Flush(nullptr, 0, false, false).IgnoreError();
    std::string m = "response: body ended at byte ";
    AppendUint(&m, written_);
    m += " of ";
    AppendUint(&m, promised_);
    return Status::IOError(std::move(m));
  }
  return head_flushed_ ? Status::OK() : Flush(nullptr, 0, false, false);
}

}  // namespace

std::unique_ptr<Conn> Conn::New(ServerShared* shared) {
  return std::make_unique<ConnImpl>(shared);
}

Conn::Conn(ServerShared* shared)
    : shared_(shared), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Conn::~Conn() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Conn::Wake() {
  uint64_t one = 1;
  asked = true;
  if (::write(wake_fd_, &one, sizeof(one)) < 0) {
    // Only fails if the counter would overflow: it is already signalled.
  }
}

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
Status ResponseWriter::Finish() { return c_->Finish(); }
bool ResponseWriter::head_sent() const { return c_->HeadSent(); }

}  // namespace as
